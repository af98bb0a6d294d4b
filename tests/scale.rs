//! Cost must grow linearly with the mirror: 20,000 tiny log files verify in
//! well under a minute, and ten times the files take far less than a
//! hundred times as long (a quadratic slip fails this).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::Case;
use std::time::{Duration, Instant};
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

fn time_verify(case: &Case) -> (Duration, serde_json::Value) {
    let start = Instant::now();
    let out = case.verify(&[]);
    let elapsed = start.elapsed();
    assert_eq!(out.code, 0, "{:?}", out.findings());
    (elapsed, out.report)
}

#[test]
fn twenty_thousand_tiny_logs_verify_in_linear_time() {
    let small = Case::new(tiny(2_000));
    let large = Case::new(tiny(20_000));
    // Warm the binary and the page cache once.
    let _ = time_verify(&small);
    let (t_small, _) = time_verify(&small);
    let (t_large, report) = time_verify(&large);
    assert_eq!(report["summary"]["logs"]["valid"], 20_000);
    eprintln!("2,000 logs: {t_small:?}; 20,000 logs: {t_large:?}");
    assert!(
        t_large < Duration::from_secs(60),
        "20,000 tiny logs took {t_large:?}"
    );
    // Linear would be 10x; allow noise, fail long before quadratic (100x).
    assert!(
        t_large < t_small * 30 + Duration::from_secs(2),
        "10x the files took {:.1}x the time ({t_small:?} -> {t_large:?})",
        t_large.as_secs_f64() / t_small.as_secs_f64()
    );
}
