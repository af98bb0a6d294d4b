//! Hostile mirrors: bombs, deep nesting, huge fields, FIFOs. Each run is
//! capped (virtual memory limit, wall-clock timeout) so exhaustion or a hang
//! fails the test; each must end with the right finding and leave the
//! mirror unchanged.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{Case, f, findings_of as findings, small, snapshot, sorted};
use std::io::Write as _;
use std::time::Duration;
use trailproof_testgen::{gunzip, sha256_hex};

const REGION: &str = "us-east-1";
/// Address-space cap for the verifier: far below what a bomb would need.
const MEMORY_LIMIT_KIB: u64 = 768 * 1024;

/// Runs the verifier under `ulimit -v` and a timeout; returns (exit code, JSON).
fn verify_capped(case: &Case) -> (i32, serde_json::Value) {
    let binary = assert_cmd::cargo::cargo_bin("trailproof");
    let script = format!(
        "ulimit -v {MEMORY_LIMIT_KIB}; exec timeout 120 '{}' verify '{}' --public-keys '{}' --format json --jobs 2",
        binary.display(),
        case.mirror.root.display(),
        case.mirror.public_keys.display()
    );
    let before = snapshot(&case.mirror.root);
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    assert_eq!(snapshot(&case.mirror.root), before, "the mirror changed");
    let code = output.status.code().unwrap_or(-1);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "exit {code}, no JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (code, common::checked(report))
}

fn gzip_zeros(bytes: u64) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let block = vec![0u8; 1 << 20];
    for _ in 0..bytes / block.len() as u64 {
        enc.write_all(&block).unwrap();
    }
    enc.finish().unwrap()
}

#[test]
fn log_bomb_is_hashed_streaming_in_bounded_memory() {
    let case = Case::new(small(71));
    let newest = case.newest(REGION);
    let log_key = newest.log_keys[0].clone();
    // 1 GiB of zeros as a validly listed log file.
    let bomb = gzip_zeros(1 << 30);
    std::fs::write(case.mirror.path_of(&log_key), &bomb).unwrap();
    let mut json = case.mirror.read_digest_json(&newest.key);
    let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
    let block = vec![0u8; 1 << 20];
    for _ in 0..1024 {
        sha2::Digest::update(&mut hasher, &block);
    }
    json["logFiles"][0]["hashValue"] = hex::encode(sha2::Digest::finalize(hasher)).into();
    case.mirror
        .write_digest(&newest.key, &json, Some(newest.signed_by));
    let (code, report) = verify_capped(&case);
    assert_eq!(findings(&report), vec![], "{report:#}");
    assert_eq!(code, 0);
    assert!(
        report["summary"]["logs"]["uncompressed_bytes"]
            .as_u64()
            .unwrap()
            >= 1 << 30
    );
}

#[test]
fn digest_bomb_is_malformed_in_bounded_memory() {
    let case = Case::new(small(72));
    let newest = case.newest(REGION);
    std::fs::write(&newest.path, gzip_zeros(1 << 30)).unwrap();
    let (code, report) = verify_capped(&case);
    let mut expected = vec![f("digest.malformed", &newest.bucket, &newest.key)];
    expected.extend(case.not_covered(&[&newest.key]));
    assert_eq!(findings(&report), sorted(expected));
    assert_eq!(code, 1);
}

#[test]
fn deeply_nested_and_oversized_digests_end_with_the_right_findings() {
    let case = Case::new(small(73));
    let chain = case.chain(REGION);
    let (nested, huge_key) = (chain[5], chain[4]);
    // 100,000 levels of nesting in an unknown field.
    let inflated = gunzip(&std::fs::read(&nested.path).unwrap());
    let text = String::from_utf8(inflated).unwrap();
    let deep = format!(
        "{{\"x\":{}{}, {}",
        "[".repeat(100_000),
        "]".repeat(100_000),
        &text[1..]
    );
    std::fs::write(&nested.path, trailproof_testgen::gzip(deep.as_bytes())).unwrap();
    // A log key longer than any S3 key.
    let mut json = case.mirror.read_digest_json(&huge_key.key);
    json["logFiles"][0]["s3Object"] = "A".repeat(4096).into();
    case.mirror
        .write_digest(&huge_key.key, &json, Some(huge_key.signed_by));
    let (code, report) = verify_capped(&case);
    // Deep nesting in an unknown field parses (it is skipped without
    // recursion), so that digest only fails its signature.
    let mut expected = vec![
        f("digest.signature_invalid", &nested.bucket, &nested.key),
        f("digest.malformed", &huge_key.bucket, &huge_key.key),
    ];
    expected.extend(
        nested
            .log_keys
            .iter()
            .map(|k| f("log.unverified", &nested.bucket, k)),
    );
    // The malformed digest's hour is covered by no other digest.
    expected.extend(case.not_covered(&[&huge_key.key]));
    assert_eq!(findings(&report), sorted(expected));
    assert_eq!(code, 1);
}

#[test]
fn fifo_named_like_a_listed_log_does_not_hang() {
    let case = Case::new(small(74));
    let log = &case.mirror.logs[2];
    std::fs::remove_file(&log.path).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(&log.path)
        .status()
        .unwrap();
    assert!(status.success());
    let started = std::time::Instant::now();
    let (code, report) = verify_capped(&case);
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_eq!(
        findings(&report),
        vec![f("log.unsafe_path", &log.bucket, &log.key)]
    );
    assert_eq!(code, 1);
}

#[test]
fn listed_log_that_is_not_what_the_digest_hashed_is_reported_once() {
    // Sanity for the cap itself: a normal tampered mirror works under it.
    let case = Case::new(small(75));
    let log = &case.mirror.logs[0];
    case.mirror.modify_log(&log.key);
    let (code, report) = verify_capped(&case);
    assert_eq!(
        findings(&report),
        vec![f("log.modified", &log.bucket, &log.key)]
    );
    assert_eq!(code, 1);
    let _ = sha256_hex(b"");
}

/// Forged digests that list hundreds of thousands of log files each: the listings kept stay
/// within the memory budget, the others' log files are not examined (`digest.not_examined`, the
/// run incomplete), the report is still written, and which digests are kept does not depend on
/// thread timing.
#[test]
fn digests_listing_more_than_the_memory_budget_end_incomplete_with_a_report() {
    let case = Case::new(small(74));
    let template = case.chain(REGION)[0];
    let folder = template.path.parent().unwrap();
    let entries = 60_000;
    for n in 0..4 {
        let end = format!("2026-03-01T0{n}:47:28Z");
        let key = format!(
            "{}/111122223333_CloudTrail-Digest_us-east-1_fake-trail_us-east-1_20260301T0{n}4728Z.json.gz",
            template.key.rsplit_once('/').unwrap().0
        );
        let mut json = format!(
            r#"{{"awsAccountId":"111122223333","digestStartTime":"2026-03-01T00:00:00Z","digestEndTime":"{end}","digestS3Bucket":"{}","digestS3Object":"{key}","digestPublicKeyFingerprint":"{}","digestSignatureAlgorithm":"SHA256withRSA","previousDigestS3Bucket":null,"previousDigestS3Object":null,"previousDigestHashValue":null,"previousDigestHashAlgorithm":null,"previousDigestSignature":null,"logFiles":["#,
            template.bucket,
            template.json["digestPublicKeyFingerprint"]
                .as_str()
                .unwrap()
        );
        for i in 0..entries {
            if i > 0 {
                json.push(',');
            }
            json.push_str(&format!(
                r#"{{"s3Bucket":"{}","s3Object":"AWSLogs/111122223333/CloudTrail/us-east-1/2026/03/01/111122223333_CloudTrail_us-east-1_20260301T0{n}20Z_fake{i:011}.json.gz","hashValue":"{}","hashAlgorithm":"SHA-256"}}"#,
                template.bucket,
                "0".repeat(64)
            ));
        }
        json.push_str("]}");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(json.as_bytes()).unwrap();
        let name = key.rsplit_once('/').unwrap().1;
        std::fs::write(folder.join(name), enc.finish().unwrap()).unwrap();
    }
    let run = || {
        let binary = assert_cmd::cargo::cargo_bin("trailproof");
        let script = format!(
            "ulimit -v {MEMORY_LIMIT_KIB}; exec timeout 300 '{}' verify '{}' --public-keys '{}' --format json --jobs 2 --memory-budget-mib 64",
            binary.display(),
            case.mirror.root.display(),
            case.mirror.public_keys.display()
        );
        let output = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .output()
            .unwrap();
        let report: serde_json::Value =
            serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
                panic!(
                    "exit {:?}, no JSON ({e}); stderr: {}",
                    output.status.code(),
                    String::from_utf8_lossy(&output.stderr)
                )
            });
        (output.status.code(), common::checked(report))
    };
    let (code, report) = run();
    assert_eq!(code, Some(2), "{:#}", report["summary"]);
    assert_eq!(report["verdict"], "incomplete");
    let not_examined: Vec<(String, String)> = findings(&report)
        .into_iter()
        .filter(|(code, _)| code == "digest.not_examined")
        .collect();
    // 60,000 listed files cost about 50 MB: one forged listing fits the 64 MiB budget.
    assert_eq!(not_examined.len(), 3, "{not_examined:#?}");
    let (_, again) = run();
    assert_eq!(findings(&again), findings(&report));
}
