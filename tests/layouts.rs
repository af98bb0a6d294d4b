//! Clean mirrors in every layout trailproof must understand pass with no
//! error: organization trails, key prefixes, sub-tree roots, several trails
//! in one bucket, a bucket change across two mirrors, xattr and missing
//! metadata, backfill digests, empty hours, and every key file format.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use base64::Engine as _;
use common::{Case, f, small, sorted, verify_json};
use trailproof_testgen::{KeyId, SignatureStore, TestKey};

fn org_spec(seed: u64) -> trailproof_testgen::TrailSpec {
    let mut spec = small(seed);
    spec.prefix = Some("audit/prod".to_owned());
    spec.organization_id = Some("o-a1b2c3d4e5".to_owned());
    spec.accounts = vec!["111122223333".to_owned(), "444455556666".to_owned()];
    spec.trail_name = "org_trail.v2-main".to_owned();
    spec.home_region = "eu-west-1".to_owned();
    spec
}

#[test]
fn organization_trail_with_prefix_and_underscored_name_passes() {
    let case = Case::new(org_spec(31));
    let out = case.verify(&[]);
    assert_eq!(out.findings(), vec![]);
    assert_eq!(out.code, 0);
    let chains = out.report["chains"].as_array().unwrap();
    assert_eq!(chains.len(), 4, "2 accounts x 2 regions");
    assert!(chains.iter().all(|c| c["organization"] == "o-a1b2c3d4e5"));
    assert!(chains.iter().all(|c| c["trail"] == "org_trail.v2-main"));
    assert!(chains.iter().all(|c| c["home_region"] == "eu-west-1"));
    assert_eq!(out.report["inputs"]["mirrors"][0]["prefix"], "");
}

#[test]
fn sub_tree_root_works_out_its_prefix() {
    let case = Case::new(org_spec(32));
    let sub_tree = case.mirror.root.join("audit").join("prod");
    let out = verify_json(&[sub_tree], &case.mirror.public_keys, &[]);
    assert_eq!(out.findings(), vec![]);
    assert_eq!(out.report["inputs"]["mirrors"][0]["prefix"], "audit/prod/");
    assert_eq!(
        out.report["summary"]["logs"]["valid"],
        case.mirror.logs.len()
    );
}

#[test]
fn explicit_bucket_and_prefix_override() {
    let case = Case::new(org_spec(33));
    let sub_tree = case.mirror.root.join("audit").join("prod");
    let roots = [sub_tree];
    let keys = &case.mirror.public_keys;
    let out = verify_json(
        &roots,
        keys,
        &["--bucket", "acme-cloudtrail-logs", "--prefix", "audit/prod"],
    );
    assert_eq!(out.findings(), vec![]);
    // A wrong prefix (or bucket) would make every digest sit somewhere it does not claim:
    // a mistake in running the tool, not tampering.
    for (bucket, prefix) in [
        ("acme-cloudtrail-logs", "elsewhere"),
        ("another-bucket", "audit/prod"),
    ] {
        let output = assert_cmd::Command::cargo_bin("trailproof")
            .unwrap()
            .arg("verify")
            .args(&roots)
            .arg("--public-keys")
            .arg(keys)
            .args(["--bucket", bucket, "--prefix", prefix])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(output.stdout.is_empty());
        assert!(stderr.contains("audit/prod/"), "{stderr}");
        assert!(stderr.contains("acme-cloudtrail-logs"), "{stderr}");
    }
}

#[test]
fn several_trails_in_one_bucket_pass() {
    let mut second = small(34);
    second.trail_name = "data-events".to_owned();
    second.seed = 35;
    let case = Case::with_trails(vec![small(36), second]);
    let out = case.verify(&[]);
    assert_eq!(out.findings(), vec![]);
    assert_eq!(out.report["chains"].as_array().unwrap().len(), 4);
}

#[test]
fn bucket_change_across_two_mirrors_passes() {
    let mut spec = small(37);
    spec.bucket_change_at_hour = Some((3, "acme-cloudtrail-logs-v2".to_owned()));
    let case = Case::new(spec);
    assert_eq!(case.roots().len(), 2);
    let out = case.verify(&[]);
    assert_eq!(out.findings(), vec![]);
    let buckets = &out.report["chains"][0]["buckets"];
    assert_eq!(buckets.as_array().unwrap().len(), 2, "{buckets}");
    // With only the new bucket, the link into the old one is a missing digest.
    let out = verify_json(&case.mirror.extra_roots[..1], &case.mirror.public_keys, &[]);
    assert_eq!(out.code, 1);
    assert!(
        out.findings()
            .iter()
            .all(|(code, _)| code == "digest.missing"),
        "{:?}",
        out.findings()
    );
}

fn xattrs_supported(dir: &std::path::Path) -> bool {
    let probe = dir.join("xattr-probe");
    std::fs::write(&probe, b"").unwrap();
    let ok = xattr::set(&probe, "user.probe", b"1").is_ok();
    std::fs::remove_file(&probe).unwrap();
    ok
}

#[test]
fn signatures_in_extended_attributes_pass() {
    let probe_dir = tempfile::tempdir().unwrap();
    if !xattrs_supported(probe_dir.path()) {
        eprintln!("SKIPPED: this file system does not support user extended attributes");
        return;
    }
    let mut spec = small(38);
    spec.signature_store = SignatureStore::Xattr;
    let case = Case::new(spec);
    let out = case.verify(&[]);
    assert_eq!(out.findings(), vec![]);
    assert_eq!(out.code, 0);
}

#[test]
fn plain_sync_without_metadata_leaves_only_newest_digests_unsigned() {
    let mut spec = small(39);
    spec.signature_store = SignatureStore::None;
    let case = Case::new(spec);
    let out = case.verify(&[]);
    let mut expected = Vec::new();
    for region in ["us-east-1", "eu-west-1"] {
        let newest = case.newest(region);
        expected.push(f("digest.unsigned", &newest.bucket, &newest.key));
        expected.extend(
            newest
                .log_keys
                .iter()
                .map(|k| f("log.unverified", &newest.bucket, k)),
        );
    }
    assert_eq!(out.findings(), sorted(expected));
    assert_eq!(out.code, 0);
    assert_eq!(out.report["summary"]["digests"]["unverified"], 2);
}

#[test]
fn backfill_digests_and_empty_hours_pass() {
    let mut spec = small(40);
    spec.backfill_hours = vec![1, 4];
    spec.empty_hours = vec![2];
    let case = Case::new(spec);
    let out = case.verify(&[]);
    assert_eq!(out.findings(), vec![]);
    let kinds: Vec<&str> = out.report["chains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "backfill").count(),
        2,
        "{kinds:?}"
    );
    // The late log files are listed only by backfill digests: deleting one is caught.
    let late = case
        .mirror
        .logs
        .iter()
        .find(|l| l.listed_by.iter().all(|d| d.ends_with("_backfill.json.gz")))
        .unwrap();
    case.mirror.delete(&late.key);
    let out = case.verify(&[]);
    assert_eq!(
        out.findings(),
        vec![f("log.missing", &late.bucket, &late.key)]
    );
}

/// Writes the TEST-ONLY public keys as PEM (PKCS#1 for one, SPKI for the
/// other) and as a CLI v2 list with ISO 8601 validity times.
#[test]
fn pem_and_cli_v2_key_files_are_accepted() {
    let case = Case::new(small(41));
    let dir = case.dir.path();
    let one = TestKey::get(KeyId::One);
    let two = TestKey::get(KeyId::Two);
    let pem_path = dir.join("keys.pem");
    std::fs::write(
        &pem_path,
        format!("{}{}", one.public_pkcs1_pem(), two.public_spki_pem()),
    )
    .unwrap();
    let v2_path = dir.join("keys-v2.json");
    let b64 = |der: Vec<u8>| base64::engine::general_purpose::STANDARD.encode(der);
    let v2 = serde_json::json!({"PublicKeyList": [
        {"Value": b64(one.public_pkcs1_der()), "ValidityStartTime": "2026-02-28T01:00:00+01:00", "ValidityEndTime": "2026-03-30T01:00:00.500000+01:00", "Fingerprint": one.fingerprint()},
        {"Value": b64(two.public_pkcs1_der()), "ValidityStartTime": "2026-02-28T00:00:00-05:00", "ValidityEndTime": "2026-03-30T00:00:00-05:00", "Fingerprint": two.fingerprint()},
    ]});
    std::fs::write(&v2_path, v2.to_string()).unwrap();
    for keys in [&pem_path, &v2_path] {
        let out = verify_json(std::slice::from_ref(&case.mirror.root), keys, &[]);
        assert_eq!(out.findings(), vec![], "{}", keys.display());
        assert_eq!(out.report["inputs"]["public_keys"][0]["keys"], 2);
    }
}

#[test]
fn roots_below_awslogs_still_build_chains_and_catch_tampering() {
    let case = Case::new(small(42));
    let victim = case.chain("us-east-1")[2];
    case.mirror.delete(&victim.key);
    for sub in ["AWSLogs", "AWSLogs/111122223333"] {
        let out = verify_json(&[case.mirror.root.join(sub)], &case.mirror.public_keys, &[]);
        let mut expected = vec![f("digest.missing", &victim.bucket, &victim.key)];
        expected.extend(case.not_covered(&[&victim.key]));
        assert_eq!(out.findings(), sorted(expected), "root {sub}");
        assert_eq!(
            out.report["chains"].as_array().unwrap().len(),
            2,
            "root {sub}"
        );
        assert_eq!(
            out.report["inputs"]["mirrors"][0]["prefix"],
            format!("{sub}/")
        );
    }
}

/// One region's log folder mirrored on its own root (no digest in it),
/// beside a root holding everything else.
fn split_off_one_region_of_logs(seed: u64) -> (Case, [std::path::PathBuf; 2]) {
    let case = Case::new(small(seed));
    let logs_only = case.dir.path().join("logs-only");
    std::fs::rename(case.mirror.root.join(REGION_LOGS), &logs_only).unwrap();
    let roots = [case.mirror.root.clone(), logs_only];
    (case, roots)
}

const REGION_LOGS: &str = "AWSLogs/111122223333/CloudTrail/eu-west-1";

#[test]
fn a_root_holding_only_log_files_is_located_by_the_keys_digests_list() {
    // Only the keys the digests list can say which bucket and prefix a
    // root without digests stands for.
    let (case, roots) = split_off_one_region_of_logs(77);
    let out = verify_json(&roots, &case.mirror.public_keys, &[]);
    assert_ne!(out.code, 2, "{}", out.stderr);
    let mirrors = out.report["inputs"]["mirrors"].as_array().unwrap();
    let second = mirrors
        .iter()
        .find(|m| m["path"].as_str().unwrap().ends_with("logs-only"))
        .unwrap();
    assert_eq!(second["prefix"], format!("{REGION_LOGS}/"));
    assert_eq!(second["bucket"], mirrors[0]["bucket"]);
}

/// A root holding the folder `folder` of the mirror (moved out to `root`)
/// beside the rest: every log file is valid, and one deleted there is
/// exactly one `log.missing`.
fn split_off_folder_passes_and_catches_a_deletion(
    case: &Case,
    folder: &str,
    root: &std::path::Path,
) {
    let roots = [case.mirror.root.clone(), root.to_path_buf()];
    let out = verify_json(&roots, &case.mirror.public_keys, &[]);
    assert_eq!(out.findings(), vec![], "{}", out.stderr);
    assert_eq!(out.code, 0);
    let valid = out.report["summary"]["logs"]["valid"].as_u64().unwrap();
    assert_eq!(valid, case.mirror.logs.len() as u64);
    let victim = case
        .mirror
        .logs
        .iter()
        .find(|l| l.key.starts_with(&format!("{folder}/")))
        .unwrap();
    let rel = victim.key.strip_prefix(&format!("{folder}/")).unwrap();
    std::fs::remove_file(root.join(rel)).unwrap();
    let out = verify_json(&roots, &case.mirror.public_keys, &[]);
    assert_eq!(
        out.findings(),
        vec![f("log.missing", &victim.bucket, &victim.key)]
    );
    assert_eq!(out.code, 1);
}

#[test]
fn the_log_files_of_a_root_located_below_the_region_folder_are_checked() {
    // Its day folders lie below the prefix it is located at: they are found
    // once the prefix is known (the scan cannot see them by their path).
    let (case, roots) = split_off_one_region_of_logs(77);
    split_off_folder_passes_and_catches_a_deletion(&case, REGION_LOGS, &roots[1]);
}

#[test]
fn a_root_that_is_one_day_folder_of_logs_is_checked() {
    let case = Case::new(small(78));
    let day = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/03/01";
    let day_root = case.dir.path().join("one-day");
    std::fs::rename(case.mirror.root.join(day), &day_root).unwrap();
    split_off_folder_passes_and_catches_a_deletion(&case, day, &day_root);
}
