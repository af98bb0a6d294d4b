//! Many windows and digests: 20,000 tiny log files over 200 hours and two
//! key rotations all verify, and every count adds up. How fast (files/s
//! against the floor of reading every file) is measured by the benchmark
//! `bench/tiny.sh`, not by a timed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::Case;
use trailproof_testgen::{KeyId, TrailSpec};

fn tiny(logs: u32) -> TrailSpec {
    let hours = logs.div_ceil(2 * 50);
    TrailSpec {
        hours,
        logs_per_hour: (50, 50),
        records_per_log: (1, 1),
        keys: vec![KeyId::One, KeyId::Two],
        rotate_every_hours: hours.div_ceil(2),
        ..TrailSpec::small(7)
    }
}

#[test]
fn twenty_thousand_tiny_logs_all_verify() {
    let case = Case::new(tiny(20_000));
    let out = case.verify(&[]);
    assert_eq!(out.code, 0, "{:?}", out.findings());
    let summary = &out.report["summary"];
    assert_eq!(summary["logs"]["listed"], 20_000);
    assert_eq!(summary["logs"]["valid"], 20_000);
    assert_eq!(summary["digests"]["valid"], summary["digests"]["total"]);
    assert_eq!(summary["digests"]["total"], 400);
    let manifest = out.report["manifest"].as_array().unwrap();
    assert_eq!(
        manifest.len(),
        case.mirror.logs.len() + 2 * case.mirror.digests.len() + 1
    );
}
