//! Randomized tampering: build a clean mirror, apply a random sequence of
//! tampering operations, and check that trailproof's error findings are
//! exactly the ground truth the operations imply: nothing missed, nothing
//! invented. Operations target non-neighbouring digests and logs of
//! untouched digests, so their ground truths compose.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{Case, f};
use proptest::prelude::*;
use std::collections::BTreeSet;
use trailproof_testgen::{KeyId, TestKey, TrailSpec};

const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];
const HOURS: usize = 8;

#[derive(Debug, Clone, Copy)]
enum DigestOp {
    Delete,
    Modify,
    Truncate(usize),
    AppendGarbage,
    Move,
    ForgeWithUnknownKey,
    StripMetadata,
    CorruptMetadataSignature,
}

#[derive(Debug, Clone, Copy)]
enum LogOp {
    Delete,
    Modify,
    Truncate(usize),
    AppendMember,
    Inject,
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Digest(DigestOp),
    Log(LogOp),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::Digest(DigestOp::Delete)),
        Just(Op::Digest(DigestOp::Modify)),
        (1usize..64).prop_map(|n| Op::Digest(DigestOp::Truncate(n))),
        Just(Op::Digest(DigestOp::AppendGarbage)),
        Just(Op::Digest(DigestOp::Move)),
        Just(Op::Digest(DigestOp::ForgeWithUnknownKey)),
        Just(Op::Digest(DigestOp::StripMetadata)),
        Just(Op::Digest(DigestOp::CorruptMetadataSignature)),
        Just(Op::Log(LogOp::Delete)),
        Just(Op::Log(LogOp::Modify)),
        (1usize..48).prop_map(|n| Op::Log(LogOp::Truncate(n))),
        Just(Op::Log(LogOp::AppendMember)),
        Just(Op::Log(LogOp::Inject)),
    ]
}

/// An operation on (region, hour); log operations pick a log of that hour.
fn plan() -> impl Strategy<Value = Vec<(Op, usize, usize)>> {
    prop::collection::vec((op(), 0..REGIONS.len(), 0..HOURS), 1..5)
}

/// Applies the plan (skipping operations that would touch a neighbour of an
/// earlier one) and returns the error findings it must produce.
fn apply(case: &Case, plan: &[(Op, usize, usize)]) -> BTreeSet<(String, String)> {
    let mut expected = BTreeSet::new();
    let mut digest_hours: Vec<(usize, usize)> = Vec::new();
    let mut log_hours: Vec<(usize, usize)> = Vec::new();
    let mut used_logs: BTreeSet<String> = BTreeSet::new();
    for &(op, region, hour) in plan {
        let chain = case.chain(REGIONS[region]);
        let digest = chain[hour];
        let newest = hour + 1 == chain.len();
        let near = |list: &[(usize, usize)], span: usize| {
            list.iter()
                .any(|&(r, h)| r == region && h.abs_diff(hour) <= span)
        };
        match op {
            Op::Digest(op) => {
                if near(&digest_hours, 1) || near(&log_hours, 0) {
                    continue;
                }
                digest_hours.push((region, hour));
                let here = |code: &str| f(code, &digest.bucket, &digest.key);
                match op {
                    DigestOp::Delete => {
                        case.mirror.delete(&digest.key);
                        if !newest {
                            expected.insert(here("digest.missing"));
                        }
                    }
                    DigestOp::Modify => {
                        let mut json = case.mirror.read_digest_json(&digest.key);
                        json["awsAccountId"] = "000000000000".into();
                        case.mirror.write_digest(&digest.key, &json, None);
                        expected.insert(here("digest.signature_invalid"));
                        if !newest {
                            expected.insert(here("digest.modified"));
                        }
                    }
                    DigestOp::Truncate(n) => {
                        let len = std::fs::metadata(&digest.path).unwrap().len() as usize;
                        case.mirror.truncate(&digest.key, n.min(len));
                        expected.insert(here("digest.malformed"));
                    }
                    DigestOp::AppendGarbage => {
                        case.mirror.append_bytes(&digest.key, b"\x1f\x8bjunk");
                        expected.insert(here("digest.malformed"));
                    }
                    DigestOp::Move => {
                        let elsewhere = digest.key.replace("/2026/03/01/", "/2026/03/05/");
                        case.mirror.move_file(&digest.key, &elsewhere);
                        expected.insert(f("digest.moved", &digest.bucket, &elsewhere));
                        if !newest {
                            expected.insert(here("digest.missing"));
                        }
                    }
                    DigestOp::ForgeWithUnknownKey => {
                        let mut json = case.mirror.read_digest_json(&digest.key);
                        json["digestPublicKeyFingerprint"] =
                            TestKey::get(KeyId::Attacker).fingerprint().into();
                        case.mirror
                            .write_digest(&digest.key, &json, Some(KeyId::Attacker));
                        expected.insert(here("digest.key_unknown"));
                        if !newest {
                            expected.insert(here("digest.modified"));
                        }
                    }
                    DigestOp::StripMetadata => case.mirror.strip_metadata(&digest.key),
                    DigestOp::CorruptMetadataSignature => {
                        let other = chain[(hour + 3) % chain.len()];
                        case.mirror
                            .set_metadata_signature(&digest.key, &other.signature_hex);
                        expected.insert(here("digest.signature_invalid"));
                    }
                }
            }
            Op::Log(op) => {
                if near(&digest_hours, 0) {
                    continue;
                }
                if let LogOp::Inject = op {
                    log_hours.push((region, hour));
                    let delivered = digest.end_time - jiff::SignedDuration::from_mins(25);
                    let key = case
                        .mirror
                        .inject_log(&digest.account, REGIONS[region], delivered);
                    expected.insert(f("log.unreferenced", &digest.bucket, &key));
                    continue;
                }
                let Some(log_key) = digest.log_keys.iter().find(|k| !used_logs.contains(*k)) else {
                    continue;
                };
                log_hours.push((region, hour));
                used_logs.insert(log_key.clone());
                let here = |code: &str| f(code, &digest.bucket, log_key);
                match op {
                    LogOp::Delete => {
                        case.mirror.delete(log_key);
                        expected.insert(here("log.missing"));
                    }
                    LogOp::Modify => {
                        case.mirror.modify_log(log_key);
                        expected.insert(here("log.modified"));
                    }
                    LogOp::Truncate(n) => {
                        case.mirror.truncate(log_key, n);
                        expected.insert(here("log.malformed"));
                    }
                    LogOp::AppendMember => {
                        case.mirror
                            .append_bytes(log_key, &trailproof_testgen::gzip(b"{}"));
                        expected.insert(here("log.malformed"));
                    }
                    LogOp::Inject => unreachable!(),
                }
            }
        }
    }
    expected
}

fn error_findings(case: &Case) -> BTreeSet<(String, String)> {
    let mut options = trailproof::Options::new(case.roots(), vec![case.mirror.public_keys.clone()]);
    options.jobs = Some(2);
    let report = trailproof::verify(&options).unwrap();
    report
        .findings
        .iter()
        .filter(|f| f.severity == trailproof::Severity::Error)
        .map(|f| (f.code.as_str().to_owned(), f.object.clone()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("regressions"),
        )),
        ..ProptestConfig::default()
    })]

    #[test]
    fn error_findings_are_exactly_the_ground_truth(plan in plan(), seed in 0u64..1_000_000) {
        let mut spec = TrailSpec::small(seed);
        spec.hours = HOURS as u32;
        let case = Case::new(spec);
        let expected = apply(&case, &plan);
        let found = error_findings(&case);
        prop_assert_eq!(found, expected);
    }
}
