//! One test per finding code: each builds a clean mirror with the TEST-ONLY
//! generator, tampers with it, runs the real binary, and asserts the exact
//! set of findings, the exit status and the JSON details.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{Case, f, small, sorted, url};
use trailproof_testgen::{KeyId, TestKey, gunzip, sha256_hex};

const REGION: &str = "us-east-1";

#[test]
fn clean_mirror_passes_with_no_finding() {
    let case = Case::new(small(1));
    let out = case.verify(&[]);
    assert_eq!(out.findings(), vec![], "{:#}", out.report);
    assert_eq!(out.code, 0);
    assert_eq!(out.report["verdict"], "pass");
    assert_eq!(out.report["schema_version"], 1);
    let digests = &out.report["summary"]["digests"];
    assert_eq!(digests["total"], case.mirror.digests.len());
    assert_eq!(digests["valid"], case.mirror.digests.len());
    let logs = &out.report["summary"]["logs"];
    assert_eq!(logs["listed"], case.mirror.logs.len());
    assert_eq!(logs["valid"], case.mirror.logs.len());
    assert_eq!(out.report["chains"].as_array().unwrap().len(), 2);
    assert_eq!(
        out.report["inputs"]["mirrors"][0]["bucket"],
        "acme-cloudtrail-logs"
    );
}

#[test]
fn digest_missing_is_reported_at_its_key() {
    let case = Case::new(small(2));
    let victim = case.chain(REGION)[2];
    case.mirror.delete(&victim.key);
    let out = case.verify(&[]);
    // The log files of its hour are named: nothing else covers their time.
    let mut expected = vec![f("digest.missing", &victim.bucket, &victim.key)];
    expected.extend(case.not_covered(&[&victim.key]));
    assert_eq!(out.findings(), sorted(expected));
    assert_eq!(out.code, 1);
    assert_eq!(
        out.report["summary"]["logs"]["not_covered"],
        victim.log_keys.len()
    );
    let finding = out.finding("digest.missing", &url(&victim.bucket, &victim.key));
    assert_eq!(finding["severity"], "error");
    assert_eq!(finding["path"], victim.path.display().to_string());
    let next = case.mirror.read_digest_json(&case.chain(REGION)[3].key);
    let recorded_hash = next["previousDigestHashValue"].as_str().unwrap();
    assert!(
        finding["expected"]
            .as_str()
            .unwrap()
            .contains(recorded_hash)
    );
    assert!(!finding["help"].as_str().unwrap().is_empty());
}

#[test]
fn tampered_metadata_signature_of_newest_digest_is_invalid() {
    let case = Case::new(small(3));
    let newest = case.newest(REGION);
    let other = case.chain(REGION)[0];
    case.mirror
        .set_metadata_signature(&newest.key, &other.signature_hex);
    let out = case.verify(&[]);
    let mut expected = vec![f("digest.signature_invalid", &newest.bucket, &newest.key)];
    expected.extend(case.unverified_logs(&newest.key));
    assert_eq!(out.findings(), sorted(expected));
    assert_eq!(out.code, 1);
}

#[test]
fn tampered_metadata_signature_of_middle_digest_is_invalid_but_content_proven() {
    let case = Case::new(small(4));
    let victim = case.chain(REGION)[2];
    case.mirror
        .set_metadata_signature(&victim.key, &"ab".repeat(256));
    let out = case.verify(&[]);
    assert_eq!(
        out.findings(),
        vec![f("digest.signature_invalid", &victim.bucket, &victim.key)]
    );
    let finding = out.finding(
        "digest.signature_invalid",
        &url(&victim.bucket, &victim.key),
    );
    assert!(
        finding["message"].as_str().unwrap().contains("does verify"),
        "{finding}"
    );
    assert_eq!(out.code, 1);
}

#[test]
fn digest_modified_and_resigned_by_key_holder_contradicts_the_chain() {
    let case = Case::new(small(5));
    let victim = case.chain(REGION)[2];
    let mut json = case.mirror.read_digest_json(&victim.key);
    json["awsAccountId"] = "999999999999".into();
    case.mirror
        .write_digest(&victim.key, &json, Some(victim.signed_by));
    let out = case.verify(&[]);
    let mut expected = vec![f("digest.modified", &victim.bucket, &victim.key)];
    expected.extend(case.unverified_logs(&victim.key));
    assert_eq!(out.findings(), sorted(expected));
    let finding = out.finding("digest.modified", &url(&victim.bucket, &victim.key));
    let next = case.mirror.read_digest_json(&case.chain(REGION)[3].key);
    assert_eq!(finding["expected"], next["previousDigestHashValue"]);
    assert_eq!(
        finding["actual"].as_str().unwrap(),
        sha256_hex(&gunzip(&std::fs::read(&victim.path).unwrap()))
    );
    assert_eq!(out.code, 1);
}

#[test]
fn digest_modified_without_resigning_fails_signature_too() {
    let case = Case::new(small(6));
    let victim = case.chain(REGION)[1];
    let mut json = case.mirror.read_digest_json(&victim.key);
    json["logFiles"] = serde_json::json!([]);
    case.mirror.write_digest(&victim.key, &json, None);
    let out = case.verify(&[]);
    // The removed entries are now listed by no digest, inside covered time.
    let mut expected = vec![
        f("digest.modified", &victim.bucket, &victim.key),
        f("digest.signature_invalid", &victim.bucket, &victim.key),
    ];
    expected.extend(
        victim
            .log_keys
            .iter()
            .map(|k| f("log.unreferenced", &victim.bucket, k)),
    );
    assert_eq!(out.findings(), sorted(expected));
    assert_eq!(out.code, 1);
}

#[test]
fn digest_copied_elsewhere_is_moved() {
    let case = Case::new(small(7));
    let victim = case.chain(REGION)[1];
    let elsewhere = victim.key.replace("/2026/03/01/", "/2026/03/02/");
    assert_ne!(elsewhere, victim.key);
    case.mirror.copy_file(&victim.key, &elsewhere);
    let out = case.verify(&[]);
    assert_eq!(
        out.findings(),
        vec![f("digest.moved", &victim.bucket, &elsewhere)]
    );
    let finding = out.finding("digest.moved", &url(&victim.bucket, &elsewhere));
    assert_eq!(finding["expected"], url(&victim.bucket, &victim.key));
    assert_eq!(finding["actual"], url(&victim.bucket, &elsewhere));
    assert_eq!(out.code, 1);
}

#[test]
fn digest_moved_away_is_moved_and_missing() {
    let case = Case::new(small(8));
    let victim = case.chain(REGION)[2];
    let elsewhere = victim
        .key
        .replace("CloudTrail-Digest/us-east-1", "CloudTrail-Digest/us-west-2");
    case.mirror.move_file(&victim.key, &elsewhere);
    let out = case.verify(&[]);
    assert_eq!(
        out.findings(),
        sorted(vec![
            f("digest.missing", &victim.bucket, &victim.key),
            f("digest.moved", &victim.bucket, &elsewhere),
        ])
    );
}

#[test]
fn truncated_newest_digest_is_malformed() {
    let case = Case::new(small(9));
    let newest = case.newest(REGION);
    case.mirror.truncate(&newest.key, 10);
    let out = case.verify(&[]);
    let mut expected = vec![f("digest.malformed", &newest.bucket, &newest.key)];
    expected.extend(case.not_covered(&[&newest.key]));
    assert_eq!(out.findings(), sorted(expected));
    let message = out.finding("digest.malformed", &url(&newest.bucket, &newest.key))["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("truncated"), "{message}");
    assert_eq!(out.code, 1);
}

#[test]
fn digest_with_data_after_its_gzip_stream_is_malformed() {
    let case = Case::new(small(10));
    let victim = case.chain(REGION)[2];
    case.mirror.append_bytes(&victim.key, b"appended");
    let out = case.verify(&[]);
    let mut expected = vec![f("digest.malformed", &victim.bucket, &victim.key)];
    expected.extend(case.not_covered(&[&victim.key]));
    assert_eq!(out.findings(), sorted(expected));
    let message = out.finding("digest.malformed", &url(&victim.bucket, &victim.key))["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("8 byte(s) of data follow"), "{message}");
}

#[test]
fn digest_without_required_field_is_malformed() {
    let case = Case::new(small(11));
    let newest = case.newest(REGION);
    let mut json = case.mirror.read_digest_json(&newest.key);
    json.as_object_mut().unwrap().remove("digestS3Object");
    case.mirror.write_digest(&newest.key, &json, None);
    let out = case.verify(&[]);
    let mut expected = vec![f("digest.malformed", &newest.bucket, &newest.key)];
    expected.extend(case.not_covered(&[&newest.key]));
    assert_eq!(out.findings(), sorted(expected));
    let message = out.message("digest.malformed", &newest.bucket, &newest.key);
    assert!(message.contains("digestS3Object"), "{message}");
}

#[test]
fn digest_signed_with_an_unknown_key_is_key_unknown() {
    let case = Case::new(small(12));
    let newest = case.newest(REGION);
    let mut json = case.mirror.read_digest_json(&newest.key);
    json["digestPublicKeyFingerprint"] = TestKey::get(KeyId::Attacker).fingerprint().into();
    case.mirror
        .write_digest(&newest.key, &json, Some(KeyId::Attacker));
    let out = case.verify(&[]);
    let mut expected = vec![f("digest.key_unknown", &newest.bucket, &newest.key)];
    expected.extend(case.unverified_logs(&newest.key));
    assert_eq!(out.findings(), sorted(expected));
    assert_eq!(out.code, 1);
}

#[test]
fn key_used_outside_its_validity_is_key_unknown() {
    let case = Case::new(small(13));
    // Publish key One with a window years after the digests it signed.
    let key = TestKey::get(KeyId::One);
    let key_two = TestKey::get(KeyId::Two);
    use base64::Engine as _;
    let b64 = |der: Vec<u8>| base64::engine::general_purpose::STANDARD.encode(der);
    let keys = serde_json::json!({"PublicKeyList": [
        {"Value": b64(key.public_pkcs1_der()), "ValidityStartTime": 1_900_000_000.0, "ValidityEndTime": 1_902_592_000.0, "Fingerprint": key.fingerprint()},
        {"Value": b64(key_two.public_pkcs1_der()), "ValidityStartTime": 1_700_000_000.0, "ValidityEndTime": 1_900_000_000.0, "Fingerprint": key_two.fingerprint()},
    ]});
    let keys_path = case.dir.path().join("keys-late.json");
    std::fs::write(&keys_path, keys.to_string()).unwrap();
    let out = common::verify_json(std::slice::from_ref(&case.mirror.root), &keys_path, &[]);
    let signed_by_one: Vec<(String, String)> = case
        .mirror
        .digests
        .iter()
        .filter(|d| d.signed_by == KeyId::One)
        .map(|d| f("digest.key_unknown", &d.bucket, &d.key))
        .collect();
    let key_unknown: Vec<(String, String)> = out
        .findings()
        .into_iter()
        .filter(|(code, _)| code == "digest.key_unknown")
        .collect();
    assert_eq!(key_unknown, sorted(signed_by_one));
    let errors: Vec<_> = out.report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error" && f["code"] != "digest.key_unknown")
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let any = &out.report["findings"][0];
    assert!(
        any["message"].as_str().unwrap().contains("not valid at"),
        "{any}"
    );
}

#[test]
fn newest_digest_without_metadata_is_unsigned_warning() {
    let case = Case::new(small(14));
    let newest = case.newest(REGION);
    case.mirror.strip_metadata(&newest.key);
    let out = case.verify(&[]);
    let mut expected = vec![f("digest.unsigned", &newest.bucket, &newest.key)];
    expected.extend(case.unverified_logs(&newest.key));
    assert_eq!(out.findings(), sorted(expected));
    assert_eq!(out.code, 0, "warnings only");
    let finding = out.finding("digest.unsigned", &url(&newest.bucket, &newest.key));
    assert_eq!(finding["severity"], "warning");
    let help = finding["help"].as_str().unwrap();
    assert!(
        help.contains(&format!(
            "aws s3api head-object --bucket {} --key {}",
            newest.bucket, newest.key
        )),
        "{help}"
    );
}

#[test]
fn validation_gap_restarts_the_chain_with_a_warning() {
    let mut spec = small(15);
    spec.hours = 7;
    spec.gaps = vec![(3, 1)];
    let case = Case::new(spec);
    let out = case.verify(&[]);
    // The first digest after the gap starts a new chain in each region.
    let restarts: Vec<(String, String)> = ["us-east-1", "eu-west-1"]
        .iter()
        .map(|region| {
            let chain = case.chain(region);
            let restart = chain
                .iter()
                .skip(1)
                .find(|d| d.json["previousDigestS3Object"].is_null())
                .unwrap();
            f("chain.gap", &restart.bucket, &restart.key)
        })
        .collect();
    // The log files delivered while validation was off are named.
    let mut expected = restarts;
    for log in case.mirror.logs.iter().filter(|l| l.listed_by.is_empty()) {
        expected.push(f("log.not_covered", &log.bucket, &log.key));
    }
    assert_eq!(out.findings(), sorted(expected));
    assert_eq!(out.code, 0);
    assert_eq!(out.report["chains"][0]["gaps"], 1);
}

#[test]
fn link_that_skips_a_digest_is_out_of_order() {
    let case = Case::new(small(16));
    let chain = case.chain(REGION);
    let (target, newest) = (chain[3], chain[5]);
    let mut json = case.mirror.read_digest_json(&newest.key);
    json["previousDigestS3Object"] = target.key.clone().into();
    json["previousDigestHashValue"] =
        sha256_hex(&gunzip(&std::fs::read(&target.path).unwrap())).into();
    json["previousDigestSignature"] = target.signature_hex.clone().into();
    case.mirror
        .write_digest(&newest.key, &json, Some(newest.signed_by));
    let out = case.verify(&[]);
    let message = out.only_finding("chain.out_of_order", &newest.bucket, &newest.key);
    assert!(message.contains(&chain[4].key), "{message}");
    assert_eq!(out.code, 1);
}

#[test]
fn link_to_a_newer_digest_is_out_of_order() {
    let case = Case::new(small(17));
    let chain = case.chain(REGION);
    let (first, newest) = (chain[0], chain[5]);
    // The oldest digest is re-signed to name the newest as its predecessor.
    let mut json = case.mirror.read_digest_json(&first.key);
    json["previousDigestS3Bucket"] = newest.bucket.clone().into();
    json["previousDigestS3Object"] = newest.key.clone().into();
    json["previousDigestHashValue"] =
        sha256_hex(&gunzip(&std::fs::read(&newest.path).unwrap())).into();
    json["previousDigestHashAlgorithm"] = "SHA-256".into();
    json["previousDigestSignature"] = newest.signature_hex.clone().into();
    case.mirror
        .write_digest(&first.key, &json, Some(first.signed_by));
    let out = case.verify(&[]);
    let findings = out.findings();
    assert!(
        findings.contains(&f("chain.out_of_order", &first.bucket, &first.key)),
        "{findings:?}"
    );
    // chain[1] still names the original first digest, whose content changed.
    assert!(
        findings.contains(&f("digest.modified", &first.bucket, &first.key)),
        "{findings:?}"
    );
    assert_eq!(out.code, 1);
}

#[test]
fn deleted_log_is_missing() {
    let case = Case::new(small(18));
    let log = &case.mirror.logs[0];
    case.mirror.delete(&log.key);
    let out = case.verify(&[]);
    assert_eq!(
        out.findings(),
        vec![f("log.missing", &log.bucket, &log.key)]
    );
    let finding = out.finding("log.missing", &url(&log.bucket, &log.key));
    assert_eq!(finding["path"], log.path.display().to_string());
    assert!(
        finding["expected"]
            .as_str()
            .unwrap()
            .contains(&log.sha256_hex)
    );
    assert_eq!(out.code, 1);
}

#[test]
fn modified_log_is_modified_with_both_hashes() {
    let case = Case::new(small(19));
    let log = &case.mirror.logs[3];
    case.mirror.modify_log(&log.key);
    let out = case.verify(&[]);
    assert_eq!(
        out.findings(),
        vec![f("log.modified", &log.bucket, &log.key)]
    );
    let finding = out.finding("log.modified", &url(&log.bucket, &log.key));
    assert_eq!(finding["expected"], log.sha256_hex);
    assert_eq!(
        finding["actual"].as_str().unwrap(),
        sha256_hex(&gunzip(&std::fs::read(&log.path).unwrap()))
    );
    assert_eq!(out.code, 1);
}

#[test]
fn truncated_corrupt_or_appended_logs_are_malformed() {
    let case = Case::new(small(20));
    let logs = &case.mirror.logs;
    case.mirror.truncate(&logs[0].key, 4); // CRC/ISIZE trailer cut: the CLI calls this valid
    case.mirror.append_bytes(&logs[1].key, b"\x1f\x8b junk");
    case.mirror.flip_byte(&logs[2].key, 6); // inside the CRC
    let out = case.verify(&[]);
    assert_eq!(
        out.findings(),
        sorted(
            logs[..3]
                .iter()
                .map(|l| f("log.malformed", &l.bucket, &l.key))
                .collect()
        )
    );
    assert_eq!(out.code, 1);
}

#[test]
fn injected_log_is_unreferenced() {
    let case = Case::new(small(21));
    let digest = case.chain(REGION)[2];
    let delivered = digest.end_time - jiff::SignedDuration::from_mins(30);
    let key = case.mirror.inject_log(&digest.account, REGION, delivered);
    let out = case.verify(&[]);
    assert_eq!(
        out.findings(),
        vec![f("log.unreferenced", &digest.bucket, &key)]
    );
    assert_eq!(out.code, 1);
}

#[test]
fn digest_naming_a_path_outside_the_mirror_is_unsafe() {
    let case = Case::new(small(22));
    let newest = case.newest(REGION);
    let mut json = case.mirror.read_digest_json(&newest.key);
    let hostile = "AWSLogs/../../../../etc/passwd";
    let replaced = json["logFiles"][0]["s3Object"].as_str().unwrap().to_owned();
    json["logFiles"][0]["s3Object"] = hostile.into();
    case.mirror
        .write_digest(&newest.key, &json, Some(newest.signed_by));
    let out = case.verify(&[]);
    assert_eq!(
        out.findings(),
        sorted(vec![
            f("log.unsafe_path", &newest.bucket, hostile),
            f("log.unreferenced", &newest.bucket, &replaced),
        ])
    );
    assert_eq!(out.code, 1);
}

#[test]
fn log_replaced_by_a_symlink_is_not_followed() {
    let case = Case::new(small(23));
    let log = &case.mirror.logs[1];
    let outside = case.dir.path().join("outside.json.gz");
    std::fs::copy(&log.path, &outside).unwrap();
    std::fs::remove_file(&log.path).unwrap();
    std::os::unix::fs::symlink(&outside, &log.path).unwrap();
    let out = case.verify(&[]);
    assert_eq!(
        out.findings(),
        vec![f("log.unsafe_path", &log.bucket, &log.key)]
    );
}

#[test]
fn consecutive_deleted_digests_are_all_missing() {
    // The AWS CLI reports only the digest the surviving link names (SPEC §7.3).
    let mut spec = small(24);
    spec.hours = 8;
    let case = Case::new(spec);
    let chain = case.chain(REGION);
    for victim in &chain[2..5] {
        case.mirror.delete(&victim.key);
    }
    let out = case.verify(&[]);
    let mut expected: Vec<_> = chain[2..5]
        .iter()
        .map(|d| f("digest.missing", &d.bucket, &d.key))
        .collect();
    for victim in &chain[2..5] {
        expected.extend(case.not_covered(&[&victim.key]));
    }
    assert_eq!(out.findings(), sorted(expected));
    assert_eq!(out.code, 1);
}

#[test]
fn swapped_digests_are_both_moved_and_nothing_else() {
    let case = Case::new(small(25));
    let chain = case.chain(REGION);
    let (a, b) = (chain[1], chain[4]);
    let tmp = case.dir.path().join("swap");
    std::fs::rename(&a.path, &tmp).unwrap();
    std::fs::rename(&b.path, &a.path).unwrap();
    std::fs::rename(&tmp, &b.path).unwrap();
    let sidecar =
        |p: &std::path::Path| std::path::PathBuf::from(format!("{}.metadata.json", p.display()));
    std::fs::rename(sidecar(&a.path), &tmp).unwrap();
    std::fs::rename(sidecar(&b.path), sidecar(&a.path)).unwrap();
    std::fs::rename(&tmp, sidecar(&b.path)).unwrap();
    let out = case.verify(&[]);
    assert_eq!(
        out.findings(),
        sorted(vec![
            f("digest.moved", &a.bucket, &a.key),
            f("digest.moved", &b.bucket, &b.key)
        ])
    );
    assert_eq!(out.code, 1);
}

#[test]
fn log_under_a_symlinked_directory_is_not_followed() {
    let case = Case::new(small(26));
    let log = &case.mirror.logs[0];
    let folder = log.path.parent().unwrap();
    let outside = case.dir.path().join("outside-folder");
    std::fs::rename(folder, &outside).unwrap();
    std::os::unix::fs::symlink(&outside, folder).unwrap();
    let out = case.verify(&[]);
    let region_logs: Vec<_> = case
        .mirror
        .logs
        .iter()
        .filter(|l| l.path.parent() == Some(folder))
        .collect();
    let mut expected: Vec<(String, String)> = region_logs
        .iter()
        .map(|l| f("log.unsafe_path", &l.bucket, &l.key))
        .collect();
    expected.sort();
    let unsafe_found: Vec<_> = out
        .findings()
        .into_iter()
        .filter(|(c, _)| c == "log.unsafe_path")
        .collect();
    assert_eq!(unsafe_found, expected);
    assert_eq!(out.code, 1);
}

#[test]
fn unreadable_directory_is_a_finding_not_a_lost_run() {
    if std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(true)
    {
        eprintln!("SKIPPED: running as root, permissions cannot make a directory unreadable");
        return;
    }
    use std::os::unix::fs::PermissionsExt as _;
    let case = Case::new(small(27));
    let folder = case.mirror.logs[0].path.parent().unwrap().to_path_buf();
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o000)).unwrap();
    let out = case.verify(&[]);
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(
        out.findings().iter().any(|(c, _)| c == "mirror.unreadable"),
        "{:?}",
        out.findings()
    );
    assert_eq!(out.code, 1);
}

#[test]
fn unsigned_digest_cannot_vouch_for_an_injected_log() {
    let case = Case::new(small(28));
    let chain = case.chain(REGION);
    let newest = chain[5];
    // Inject a log into hour 2 and have the (unsigned) newest digest list it.
    let delivered = chain[2].end_time - jiff::SignedDuration::from_mins(30);
    let injected = case.mirror.inject_log(&newest.account, REGION, delivered);
    let mut json = case.mirror.read_digest_json(&newest.key);
    let entry = serde_json::json!({
        "s3Bucket": newest.bucket, "s3Object": injected, "hashAlgorithm": "SHA-256",
        "hashValue": sha256_hex(&gunzip(&std::fs::read(case.mirror.path_of(&injected)).unwrap())),
    });
    json["logFiles"].as_array_mut().unwrap().push(entry);
    case.mirror.write_digest(&newest.key, &json, None);
    case.mirror.strip_metadata(&newest.key);
    let out = case.verify(&[]);
    let mut expected = vec![
        f("digest.unsigned", &newest.bucket, &newest.key),
        f("log.unreferenced", &newest.bucket, &injected),
    ];
    expected.extend(case.unverified_logs(&newest.key));
    assert_eq!(out.findings(), sorted(expected));
    assert_eq!(out.code, 1);
}

#[test]
fn files_with_foreign_names_in_log_folders_are_stray_or_unreferenced() {
    let case = Case::new(small(29));
    let log = &case.mirror.logs[0];
    let folder = log.key.rsplit_once('/').unwrap().0.to_owned();
    let bytes = std::fs::read(&log.path).unwrap();
    let strays = [
        format!("{folder}/evil.json.gz"),
        format!("{folder}/notes.json"),
        format!(
            "{folder}/x/{}",
            log.key.rsplit_once('/').unwrap().1.replace("T00", "T01")
        ),
        // A well-formed name dated another day than its folder.
        format!(
            "{folder}/{}",
            log.key
                .rsplit_once('/')
                .unwrap()
                .1
                .replace("20260301", "20190301")
        ),
    ];
    for key in &strays {
        let path = case.mirror.path_of(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, &bytes).unwrap();
    }
    let out = case.verify(&[]);
    // Names that are no CloudTrail log file's are stray (a warning); a log file's name in the
    // wrong folder is unreferenced (an error).
    let codes = [
        "mirror.stray_file",
        "mirror.stray_file",
        "log.unreferenced",
        "log.unreferenced",
    ];
    assert_eq!(
        out.findings(),
        sorted(
            strays
                .iter()
                .zip(codes)
                .map(|(k, code)| f(code, &log.bucket, k))
                .collect()
        )
    );
    assert_eq!(out.code, 1);
}

#[test]
fn backfill_digest_metadata_without_generation_time_is_malformed() {
    let mut spec = small(30);
    spec.backfill_hours = vec![2];
    let case = Case::new(spec);
    let backfill = case
        .mirror
        .digests
        .iter()
        .find(|d| d.backfill && d.region == REGION)
        .unwrap();
    let sidecar = std::path::PathBuf::from(format!("{}.metadata.json", backfill.path.display()));
    let mut meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&sidecar).unwrap()).unwrap();
    assert!(
        meta["Metadata"]
            .as_object_mut()
            .unwrap()
            .remove("backfill-generation-timestamp")
            .is_some()
    );
    std::fs::write(&sidecar, meta.to_string()).unwrap();
    let out = case.verify(&[]);
    assert_eq!(
        out.findings(),
        vec![f("digest.malformed", &backfill.bucket, &backfill.key)]
    );
}

#[test]
fn deleted_newest_digest_whose_sidecar_remains_is_missing() {
    let case = Case::new(small(31));
    let newest = case.newest(REGION);
    std::fs::remove_file(&newest.path).unwrap();
    let out = case.verify(&[]);
    let mut expected = vec![f("digest.missing", &newest.bucket, &newest.key)];
    expected.extend(case.not_covered(&[&newest.key]));
    assert_eq!(out.findings(), sorted(expected));
}

#[test]
fn links_where_digests_belong_are_reported_not_followed() {
    let case = Case::new(small(32));
    let newest = case.newest(REGION);
    let outside = case.dir.path().join("outside-digest.json.gz");
    std::fs::rename(&newest.path, &outside).unwrap();
    std::os::unix::fs::symlink(&outside, &newest.path).unwrap();
    // And a whole region's digest folder replaced by a link.
    let other = case.newest("eu-west-1");
    let region_folder = other
        .path
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap();
    let moved_folder = case.dir.path().join("outside-region");
    std::fs::rename(region_folder, &moved_folder).unwrap();
    std::os::unix::fs::symlink(&moved_folder, region_folder).unwrap();
    let out = case.verify(&[]);
    let folder_key = other.key.rsplitn(5, '/').last().unwrap();
    // Nothing covers the time of the linked digests' log files any more: they are named.
    let mut expected = vec![
        f("mirror.not_regular", &newest.bucket, &newest.key),
        f("mirror.not_regular", &other.bucket, folder_key),
    ];
    expected.extend(case.not_covered(&[&newest.key]));
    for log in case.mirror.logs.iter().filter(|l| l.region == "eu-west-1") {
        expected.push(f("log.not_covered", &log.bucket, &log.key));
    }
    assert_eq!(out.findings(), sorted(expected));
    assert_eq!(out.code, 1);
}

#[test]
fn fork_is_blamed_on_the_branch_the_chain_does_not_continue_from() {
    let case = Case::new(small(33));
    let chain = case.chain(REGION);
    let (base, successor) = (chain[2], chain[3]);
    // A key holder inserts a digest half an hour after `base` that also names it.
    let fork_key = insert_copy_ending_at(
        &case,
        successor,
        base.end_time + jiff::SignedDuration::from_mins(30),
    );
    let out = case.verify(&[]);
    assert_eq!(
        out.findings(),
        vec![f("chain.out_of_order", &base.bucket, &fork_key)]
    );
}

#[test]
fn link_into_another_regions_chain_is_out_of_order() {
    let case = Case::new(small(34));
    let newest = case.newest(REGION);
    let foreign = case.chain("eu-west-1")[4];
    let mut json = case.mirror.read_digest_json(&newest.key);
    json["previousDigestS3Object"] = foreign.key.clone().into();
    json["previousDigestHashValue"] =
        sha256_hex(&gunzip(&std::fs::read(&foreign.path).unwrap())).into();
    json["previousDigestSignature"] = foreign.signature_hex.clone().into();
    case.mirror
        .write_digest(&newest.key, &json, Some(newest.signed_by));
    let out = case.verify(&[]);
    let message = out.only_finding("chain.out_of_order", &newest.bucket, &newest.key);
    assert!(message.contains("another chain"), "{message}");
}

#[test]
fn digest_inflating_past_the_bound_is_malformed() {
    let case = Case::new(small(35));
    let newest = case.newest(REGION);
    let mut json = case.mirror.read_digest_json(&newest.key);
    json["padding"] = "0".repeat(3 << 20).into();
    case.mirror.write_digest(&newest.key, &json, None);
    let out = case.verify(&["--max-digest-mib", "2"]);
    let mut expected = vec![f("digest.malformed", &newest.bucket, &newest.key)];
    expected.extend(case.not_covered(&[&newest.key]));
    assert_eq!(out.findings(), sorted(expected));
    let message = out.message("digest.malformed", &newest.bucket, &newest.key);
    assert!(
        message.contains("inflates past the limit of 2097152 bytes"),
        "{message}"
    );
}

#[test]
fn fork_between_a_digest_and_its_successor_blames_only_the_fork() {
    let case = Case::new(small(36));
    let chain = case.chain(REGION);
    let (sibling, next) = (chain[3], chain[4]);
    // Half a minute after chain[3], a digest that also names chain[2]; chain[4] links to chain[3].
    let fork_key = insert_copy_ending_at(
        &case,
        sibling,
        sibling.end_time + jiff::SignedDuration::from_secs(30),
    );
    let out = case.verify(&[]);
    assert_eq!(
        out.findings(),
        vec![f("chain.out_of_order", &next.bucket, &fork_key)]
    );
}

/// Writes, as a key holder would, a copy of `template` (same previous link,
/// no log files) ending at `end` at the matching key; returns that key.
fn insert_copy_ending_at(
    case: &Case,
    template: &trailproof_testgen::DigestEntry,
    end: jiff::Timestamp,
) -> String {
    let stamp = |t: jiff::Timestamp| t.strftime("%Y%m%dT%H%M%SZ").to_string();
    let key = template.key.replace(&stamp(template.end_time), &stamp(end));
    let mut json = case.mirror.read_digest_json(&template.key);
    json["digestEndTime"] = trailproof_testgen::format_time(end).into();
    json["digestS3Object"] = key.clone().into();
    json["logFiles"] = serde_json::json!([]);
    case.mirror
        .write_digest(&key, &json, Some(template.signed_by));
    key
}
