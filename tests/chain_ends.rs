//! Chain ends that must be explained (`--collected-at`, `--max-lag`): a chain
//! that ends long before the mirror was taken was cut short, unless the
//! trail's own (authentic) logs record that logging was stopped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{Case, f, small, sorted};
use serde_json::{Value, json};
use trailproof_testgen::{TrailEvent, TrailSpec, gunzip, gzip};

/// The generator's default trail (home us-east-1, regions us-east-1 and
/// eu-west-1, 6 hours) with the trail's own calls in hour 5.
fn trail(seed: u64, events: &[TrailEvent]) -> TrailSpec {
    let mut spec = small(seed);
    spec.trail_events = events.iter().map(|e| (5, *e)).collect();
    spec
}

/// A day after both chains end (2026-03-01T06:17:28Z).
const A_DAY_LATER: &str = "2026-03-02T06:17:28Z";

fn newest_findings(case: &Case, code: &str) -> Vec<(String, String)> {
    sorted(
        ["us-east-1", "eu-west-1"]
            .iter()
            .map(|r| {
                let newest = case.newest(r);
                f(code, &newest.bucket, &newest.key)
            })
            .collect(),
    )
}

#[test]
fn a_chain_cut_short_is_an_error_once_the_collection_time_is_known() {
    let case = Case::new(trail(201, &[]));
    let blind = case.verify(&[]);
    assert_eq!(blind.code, 0, "without --collected-at nothing can be said");
    let out = case.verify(&["--collected-at", A_DAY_LATER]);
    assert_eq!(out.code, 1);
    assert_eq!(out.findings(), newest_findings(&case, "chain.ends_early"));
    let newest = case.newest("eu-west-1");
    let message = out.message("chain.ends_early", &newest.bucket, &newest.key);
    assert!(
        message.starts_with("The chain's newest digest ends at 2026-03-01T06:17:28Z, 24h before the mirror was collected (2026-03-02T06:17:28Z), more than --max-lag 2h."),
        "{message}"
    );
}

#[test]
fn a_chain_within_the_lag_is_fine_and_the_lag_is_configurable() {
    let case = Case::new(trail(202, &[]));
    let soon = "2026-03-01T07:47:28Z"; // 1h30m after the end
    assert_eq!(case.verify(&["--collected-at", soon]).code, 0);
    let out = case.verify(&["--collected-at", soon, "--max-lag", "1h"]);
    assert_eq!(out.code, 1);
    assert_eq!(out.findings(), newest_findings(&case, "chain.ends_early"));
    let exactly = "2026-03-01T08:17:28Z"; // exactly the default lag: still fine
    assert_eq!(case.verify(&["--collected-at", exactly]).code, 0);
}

#[test]
fn a_chain_stopped_by_stop_logging_is_a_warning_naming_when_who_and_where() {
    let case = Case::new(trail(203, &[TrailEvent::StopLogging]));
    let out = case.verify(&["--collected-at", A_DAY_LATER]);
    assert_eq!(out.code, 0, "{:#?}", out.report["findings"]);
    assert_eq!(out.findings(), newest_findings(&case, "chain.stopped"));
    let newest = case.newest("eu-west-1");
    let message = out.message("chain.stopped", &newest.bucket, &newest.key);
    assert!(
        message.contains("because logging was stopped: StopLogging at 2026-03-01T0")
            && message.contains(" by arn:aws:iam::111122223333:user/alice.martin from 198.51.100.23 (recorded in s3://acme-cloudtrail-logs/AWSLogs/111122223333/CloudTrail/us-east-1/"),
        "{message}"
    );
}

#[test]
fn delete_trail_validation_off_and_single_region_explain_an_end_too() {
    for event in [
        TrailEvent::DeleteTrail,
        TrailEvent::ValidationOff,
        TrailEvent::SingleRegion,
    ] {
        let case = Case::new(trail(204, &[event]));
        let out = case.verify(&["--collected-at", A_DAY_LATER]);
        assert_eq!(out.code, 0, "{event:?}: {:#?}", out.report["findings"]);
        assert_eq!(out.findings(), newest_findings(&case, "chain.stopped"));
    }
}

#[test]
fn a_refused_stop_logging_or_a_start_explains_nothing() {
    for event in [
        TrailEvent::StopLoggingDenied,
        TrailEvent::StartLogging,
        TrailEvent::ValidationOn,
    ] {
        let case = Case::new(trail(205, &[event]));
        let out = case.verify(&["--collected-at", A_DAY_LATER]);
        assert_eq!(out.code, 1, "{event:?}");
        assert_eq!(out.findings(), newest_findings(&case, "chain.ends_early"));
    }
}

/// An attacker who deletes the newest digests and adds a StopLogging record
/// to a log file changes that file: its hash no longer matches its
/// authentic digest, so it explains nothing.
#[test]
fn a_forged_stop_logging_record_explains_nothing() {
    let case = Case::new(trail(206, &[]));
    let newest = case.newest("us-east-1");
    let log_key = newest.log_keys.last().unwrap().clone();
    let path = case.mirror.path_of(&log_key);
    let mut body: Value = serde_json::from_slice(&gunzip(&std::fs::read(&path).unwrap())).unwrap();
    body["Records"].as_array_mut().unwrap().push(json!({
        "eventVersion": "1.11",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice.martin"},
        "eventTime": "2026-03-01T06:10:00Z",
        "eventSource": "cloudtrail.amazonaws.com",
        "eventName": "StopLogging",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.23",
        "requestParameters": {"name": "arn:aws:cloudtrail:us-east-1:111122223333:trail/management-events"},
        "responseElements": null
    }));
    std::fs::write(&path, gzip(&serde_json::to_vec(&body).unwrap())).unwrap();
    let out = case.verify(&["--collected-at", A_DAY_LATER]);
    assert_eq!(out.code, 1);
    let mut expected = newest_findings(&case, "chain.ends_early");
    expected.push(f("log.modified", &newest.bucket, &log_key));
    assert_eq!(out.findings(), sorted(expected));
}

#[test]
fn collected_at_and_max_lag_are_checked_as_arguments() {
    let case = Case::new(trail(207, &[]));
    let out = case.run(["--collected-at", "yesterday"]);
    assert_eq!(out.status.code(), Some(2));
    let out = case.run(["--collected-at", A_DAY_LATER, "--max-lag", "-1h"]);
    assert_eq!(out.status.code(), Some(2));
    let out = case.run(["--collected-at", "2026-03-01T05:00:00Z"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "the mirror holds digests ending later"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--collected-at 2026-03-01T05:00:00Z is before the end of a digest the mirror holds (2026-03-01T06:17:28Z"), "{stderr}");
    let out = case.run(["--collected-at", A_DAY_LATER, "--max-lag", "soon"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected a duration such as 90m"));
}

/// A restart inside a chain (validation off for hour 2): explained when the
/// trail's records show validation turned off and on again, else it says
/// it is unexplained. Either way it stays a warning.
#[test]
fn a_restart_is_explained_by_the_calls_around_it_or_says_it_is_not() {
    let gap = |events: Vec<(u32, TrailEvent)>| {
        let mut spec = small(208);
        spec.gaps = vec![(2, 1)];
        spec.trail_events = events;
        Case::new(spec)
    };
    let restart_message = |case: &Case| {
        let out = case.verify(&[]);
        assert_eq!(out.code, 0, "{:#?}", out.report["findings"]);
        let restart = case.chain("eu-west-1")[2].clone();
        out.message("chain.gap", &restart.bucket, &restart.key)
            .to_owned()
    };
    let explained = gap(vec![
        (1, TrailEvent::ValidationOff),
        (3, TrailEvent::ValidationOn),
    ]);
    let message = restart_message(&explained);
    assert!(
        message.contains("Explained by the trail's own records: UpdateTrail turning log file validation off at 2026-03-01T0")
            && message.contains(", then UpdateTrail turning log file validation on at 2026-03-01T0")
            && message.contains(" by arn:aws:iam::111122223333:user/alice.martin from 198.51.100.23"),
        "{message}"
    );
    let unexplained = gap(Vec::new());
    let message = restart_message(&unexplained);
    assert!(
        message.ends_with("Unexplained: the log files of the trail's authentic digests around it record no call that stopped and restarted logging or log file validation."),
        "{message}"
    );
    let half = gap(vec![(1, TrailEvent::StopLogging)]);
    let message = restart_message(&half);
    assert!(
        message.contains("Partly explained: the trail's records show StopLogging at "),
        "{message}"
    );
}

/// With the collection time known, a chain that starts (its oldest digest
/// links to none) hours after its trail's other region says whether the
/// trail's records explain it. (Deleting a chain's oldest digests instead
/// leaves a link to a missing digest: `digest.missing`.) Both are warnings:
/// the start itself is authentic.
#[test]
fn a_chain_that_starts_late_says_whether_logging_started_then() {
    // The trail's eu-west-1 chain begins two hours after its us-east-1 one.
    let late = |events: Vec<(u32, TrailEvent)>| {
        let mut east = small(209);
        east.regions = vec!["us-east-1".to_owned()];
        east.trail_events = events;
        let mut west = small(210);
        west.regions = vec!["eu-west-1".to_owned()];
        west.start = east
            .start
            .checked_add(jiff::SignedDuration::from_hours(2))
            .unwrap();
        west.hours = 4;
        Case::with_trails(vec![east, west])
    };
    let collected = "2026-03-01T07:00:00Z";
    let cut = late(Vec::new());
    let oldest = case_oldest(&cut);
    let out = cut.verify(&["--collected-at", collected, "--max-lag", "1h"]);
    assert_eq!(out.code, 0, "{:#?}", out.report["findings"]);
    let message = out.message("chain.starts_late", &oldest.bucket, &oldest.key);
    assert!(
        message.starts_with("The chain's oldest digest ends at 2026-03-01T03:17:28Z, 2h after the oldest digest of its trail in another region (2026-03-01T01:17:28Z), more than --max-lag 1h. Unexplained"),
        "{message}"
    );
    assert!(
        cut.verify(&["--collected-at", collected])
            .findings()
            .iter()
            .all(|(c, _)| c != "chain.starts_late"),
        "2h is within the default lag"
    );
    let started = late(vec![(2, TrailEvent::StartLogging)]);
    let oldest = case_oldest(&started);
    let out = started.verify(&["--collected-at", collected, "--max-lag", "1h"]);
    assert_eq!(out.code, 0, "{:#?}", out.report["findings"]);
    let message = out.message("chain.started", &oldest.bucket, &oldest.key);
    assert!(
        message.contains("Logging started then: StartLogging at 2026-03-01T0"),
        "{message}"
    );
}

fn case_oldest(case: &Case) -> trailproof_testgen::DigestEntry {
    case.chain("eu-west-1")[0].clone()
}

/// A call on one trail explains nothing about another trail of the account.
#[test]
fn another_trails_stop_explains_nothing() {
    let stopped = trail(211, &[TrailEvent::StopLogging]);
    let mut other = small(212);
    other.trail_name = "data-events".to_owned();
    let case = Case::with_trails(vec![stopped, other]);
    let out = case.verify(&["--collected-at", A_DAY_LATER]);
    assert_eq!(out.code, 1);
    let codes: Vec<(String, String)> = out.report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_owned(),
                f["chain"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for region in ["us-east-1", "eu-west-1"] {
        assert!(
            codes.contains(&(
                "chain.stopped".to_owned(),
                format!("111122223333/{region}/management-events@us-east-1")
            )),
            "{codes:?}"
        );
        assert!(
            codes.contains(&(
                "chain.ends_early".to_owned(),
                format!("111122223333/{region}/data-events@us-east-1")
            )),
            "{codes:?}"
        );
    }
    assert_eq!(codes.len(), 4, "{codes:?}");
}
