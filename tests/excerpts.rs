//! The human report shows the evidence a finding compares: the digest's
//! `logFiles` entry with its recorded hash, the next digest's
//! `previousDigestHashValue`, the key file's validity window.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{Case, small};
use trailproof_testgen::{KeyId, TestKey};

const REGION: &str = "us-east-1";

/// The human report of a run (stdout).
fn human(case: &Case, keys: Option<&std::path::Path>) -> String {
    let mut cmd = assert_cmd::Command::cargo_bin("trailproof").unwrap();
    cmd.arg("verify")
        .arg(&case.mirror.root)
        .arg("--public-keys")
        .arg(keys.unwrap_or(&case.mirror.public_keys));
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The lines from the one holding `from` to the end of the excerpt box.
fn excerpt_after<'a>(report: &'a str, from: &str) -> Vec<&'a str> {
    report
        .lines()
        .skip_while(|l| !l.contains(from))
        .take_while(|l| !l.trim_start().starts_with('╰'))
        .collect()
}

#[test]
fn modified_log_shows_the_digest_entry_and_its_recorded_hash() {
    let case = Case::new(small(401));
    let log = &case.mirror.logs[2];
    case.mirror.modify_log(&log.key);
    let lister = case
        .mirror
        .digests
        .iter()
        .find(|d| d.log_keys.contains(&log.key))
        .unwrap();
    let report = human(&case, None);
    let title = format!(
        "logFiles entry (one member a line) in the inflated digest of {}",
        lister.path.display()
    );
    let excerpt = excerpt_after(&report, &title);
    assert!(!excerpt.is_empty(), "no excerpt titled {title}:\n{report}");
    let text = excerpt.join("\n");
    assert!(
        text.contains(&format!("\"s3Object\":\"{}\"", log.key)),
        "{text}"
    );
    assert!(
        text.contains(&format!("\"hashValue\":\"{}\"", log.sha256_hex)),
        "{text}"
    );
    assert!(text.contains("the log file this entry lists"), "{text}");
    assert!(
        text.contains("recorded SHA-256 of the uncompressed content"),
        "{text}"
    );
}

#[test]
fn modified_digest_shows_the_next_digests_link() {
    let case = Case::new(small(402));
    let chain = case.chain(REGION);
    let (victim, next) = (chain[2], chain[3]);
    let mut json = case.mirror.read_digest_json(&victim.key);
    json["awsAccountId"] = "999999999999".into();
    case.mirror
        .write_digest(&victim.key, &json, Some(victim.signed_by));
    let recorded = case.mirror.read_digest_json(&next.key)["previousDigestHashValue"]
        .as_str()
        .unwrap()
        .to_owned();
    let report = human(&case, None);
    let title = format!(
        "link to the previous digest (one member a line) in the inflated digest of {}",
        next.path.display()
    );
    let text = excerpt_after(&report, &title).join("\n");
    assert!(
        text.contains(&format!("\"previousDigestS3Object\":\"{}\"", victim.key)),
        "{report}"
    );
    assert!(
        text.contains(&format!("\"previousDigestHashValue\":\"{recorded}\"")),
        "{text}"
    );
    let found = trailproof_testgen::sha256_hex(&trailproof_testgen::gunzip(
        &std::fs::read(&victim.path).unwrap(),
    ));
    assert!(
        text.contains(&format!(
            "recorded hash of the previous digest; its file's is {found}"
        )),
        "{text}"
    );
}

#[test]
fn key_outside_its_window_shows_the_key_file_entry() {
    let case = Case::new(small(403));
    let key = TestKey::get(KeyId::One);
    use base64::Engine as _;
    let value = base64::engine::general_purpose::STANDARD.encode(key.public_pkcs1_der());
    // Pretty-printed as the AWS CLI writes it; the window lies years later.
    let keys = serde_json::to_string_pretty(&serde_json::json!({"PublicKeyList": [
        {"Value": value, "ValidityStartTime": 1_900_000_000.0, "ValidityEndTime": 1_902_592_000.0, "Fingerprint": key.fingerprint()},
    ]}))
    .unwrap();
    let keys_path = case.dir.path().join("keys-late.json");
    std::fs::write(&keys_path, keys).unwrap();
    let report = human(&case, Some(&keys_path));
    let title = format!(
        "public key entry in the key file of {}",
        keys_path.display()
    );
    let text = excerpt_after(&report, &title).join("\n");
    assert!(
        text.contains("\"ValidityStartTime\": 1900000000.0"),
        "{report}"
    );
    assert!(text.contains("valid from 2030-03-17T17:46:40Z"), "{text}");
    assert!(
        text.contains("valid until 2030-04-16T17:46:40Z; the digest needs a key valid at 2026-"),
        "{text}"
    );
    assert!(
        text.contains(&format!("\"Fingerprint\": \"{}\"", key.fingerprint())),
        "{text}"
    );
}

#[test]
fn each_modified_log_gets_its_own_excerpt() {
    let case = Case::new(small(404));
    let (a, b) = (&case.mirror.logs[1], &case.mirror.logs[5]);
    case.mirror.modify_log(&a.key);
    case.mirror.modify_log(&b.key);
    let report = human(&case, None);
    assert_eq!(
        report.matches("logFiles entry (one member a line)").count(),
        2,
        "{report}"
    );
    for log in [a, b] {
        assert_eq!(
            report
                .matches(&format!("\"hashValue\":\"{}\"", log.sha256_hex))
                .count(),
            1,
            "{report}"
        );
    }
}
