//! One audit split over shards (`plan`, `verify --plan --shard`, `merge`):
//! on every case, tampered ones included, the merged JSON report is the
//! single run's byte for byte, apart from the run's times and command line
//! and the list of shards; the exit status is the same.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use assert_cmd::Command;
use common::{Case, small};
use std::path::{Path, PathBuf};
use trailproof_testgen::{Timestamp, TrailSpec};

fn trailproof(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::cargo_bin("trailproof")
        .unwrap()
        .args(args)
        .output()
        .unwrap()
}

fn os<S: AsRef<std::ffi::OsStr> + ?Sized>(s: &S) -> &std::ffi::OsStr {
    s.as_ref()
}

/// What a sharded run gave: the merged report's text and exit status.
struct Sharded {
    code: i32,
    json: String,
    parts: Vec<serde_json::Value>,
    /// The SARIF report without its invocation (command line, times).
    sarif: serde_json::Value,
    /// The Markdown report without its line of run times.
    markdown: String,
}

fn sarif_without_invocation(text: &str) -> serde_json::Value {
    let mut sarif: serde_json::Value = serde_json::from_str(text).unwrap();
    sarif["runs"][0]
        .as_object_mut()
        .unwrap()
        .remove("invocations");
    sarif
}

fn markdown_without_run(text: &str) -> String {
    text.lines()
        .filter(|l| !l.contains("; run "))
        .collect::<Vec<_>>()
        .join("\n")
}

fn single_report(case: &Case, format: &str) -> String {
    let roots = case.roots();
    let mut args = verify_args(&roots, &case.mirror.public_keys);
    args.truncate(args.len() - 1);
    args.push(os(format));
    String::from_utf8(trailproof(&args).stdout).unwrap()
}

fn single_sarif(case: &Case) -> serde_json::Value {
    sarif_without_invocation(&single_report(case, "sarif"))
}

fn single_markdown(case: &Case) -> String {
    markdown_without_run(&single_report(case, "markdown"))
}

fn verify_args<'a>(roots: &'a [PathBuf], keys: &'a Path) -> Vec<&'a std::ffi::OsStr> {
    let mut args = vec![os("verify")];
    args.extend(roots.iter().map(|r| r.as_os_str()));
    args.extend([
        os("--public-keys"),
        keys.as_os_str(),
        os("--format"),
        os("json"),
    ]);
    args
}

fn single(case: &Case) -> (i32, String) {
    let roots = case.roots();
    let out = trailproof(&verify_args(&roots, &case.mirror.public_keys));
    assert!(matches!(out.status.code(), Some(0..=2)), "{out:?}");
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

fn sharded(case: &Case, shards: usize) -> Sharded {
    sharded_after(case, shards, || {})
}

/// Plans `case` into `shards`, runs `after_planning`, then runs the shards and merges them.
fn sharded_after(case: &Case, shards: usize, after_planning: impl FnOnce()) -> Sharded {
    let dir = tempfile::tempdir().unwrap();
    let roots = case.roots();
    let plan = dir.path().join("plan.json");
    let mut args = vec![os("plan")];
    args.extend(roots.iter().map(|r| r.as_os_str()));
    let n = shards.to_string();
    args.extend([os("--shards"), os(&n), os("--output"), plan.as_os_str()]);
    let out = trailproof(&args);
    assert!(out.status.success(), "{out:?}");
    after_planning();
    let mut parts = Vec::new();
    let mut texts = Vec::new();
    for k in 0..shards {
        let part = dir.path().join(format!("part-{k}.json"));
        let k = k.to_string();
        let mut args = verify_args(&roots, &case.mirror.public_keys);
        args.extend([os("--plan"), plan.as_os_str(), os("--shard"), os(&k)]);
        args.extend([os("--output"), part.as_os_str()]);
        let out = trailproof(&args);
        assert!(matches!(out.status.code(), Some(0..=2)), "{out:?}");
        texts.push(common::report_json(std::fs::read(&part).unwrap()));
        parts.push(part);
    }
    let mut args = vec![os("merge")];
    args.extend(parts.iter().rev().map(|p| p.as_os_str()));
    args.extend([os("--format"), os("json")]);
    let out = trailproof(&args);
    let json = String::from_utf8(out.stdout).unwrap();
    assert!(
        matches!(out.status.code(), Some(0..=1)) || !json.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    common::report_json(&json);
    let other = |format: &str| {
        let mut args = vec![os("merge")];
        args.extend(parts.iter().map(|p| p.as_os_str()));
        args.extend([os("--format"), os(format)]);
        String::from_utf8(trailproof(&args).stdout).unwrap()
    };
    Sharded {
        code: out.status.code().unwrap(),
        json,
        parts: texts,
        sarif: sarif_without_invocation(&other("sarif")),
        markdown: markdown_without_run(&other("markdown")),
    }
}

/// Asserts that splitting `case` into 1, 2 and 3 shards gives the single run's report.
fn assert_same_as_single(case: &Case) -> serde_json::Value {
    assert_same_as_single_in(case, &[1, 2, 3])
}

/// Asserts that splitting `case` into each of `counts` shards gives the single run's report.
fn assert_same_as_single_in(case: &Case, counts: &[usize]) -> serde_json::Value {
    let (code, json) = single(case);
    for &shards in counts {
        let merged = sharded(case, shards);
        let (want, got) = (common::comparable(&json), common::comparable(&merged.json));
        if want != got {
            let diff: Vec<String> = want
                .lines()
                .zip(got.lines())
                .filter(|(a, b)| a != b)
                .take(8)
                .map(|(a, b)| format!("single: {a}\nmerged: {b}"))
                .collect();
            panic!(
                "{shards} shards: merged report differs from the single run's:\n{}",
                diff.join("\n")
            );
        }
        assert_eq!(merged.code, code, "{shards} shards: exit status");
        assert_eq!(merged.sarif, single_sarif(case), "{shards} shards: SARIF");
        assert_eq!(
            merged.markdown,
            single_markdown(case),
            "{shards} shards: Markdown"
        );
        // Every place is named, whole by one shard or in windows of days.
        let mut named: Vec<&str> = merged
            .parts
            .iter()
            .flat_map(|p| p["inputs"]["shard"]["places"].as_array().unwrap())
            .map(|p| p.as_str().unwrap())
            .collect();
        let whole = named.iter().filter(|p| !p.contains(' ')).count();
        named = named.iter().map(|p| p.split(' ').next().unwrap()).collect();
        named.sort_unstable();
        let windowed = named.len() - whole;
        named.dedup();
        assert_eq!(
            named.len(),
            2 * case.mirror_accounts(),
            "{shards} shards: places"
        );
        assert!(
            whole + windowed >= named.len(),
            "{shards} shards: places {named:?}"
        );
    }
    serde_json::from_str(&json).unwrap()
}

trait Accounts {
    fn mirror_accounts(&self) -> usize;
}

impl Accounts for Case {
    fn mirror_accounts(&self) -> usize {
        let mut accounts: Vec<&str> = self
            .mirror
            .logs
            .iter()
            .map(|l| l.account.as_str())
            .collect();
        accounts.sort_unstable();
        accounts.dedup();
        accounts.len()
    }
}

fn two_accounts(seed: u64) -> TrailSpec {
    let mut spec = small(seed);
    spec.accounts = vec!["111122223333".to_owned(), "444455556666".to_owned()];
    spec
}

fn codes(report: &serde_json::Value) -> Vec<String> {
    let mut codes: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_owned())
        .collect();
    codes.sort();
    codes.dedup();
    codes
}

#[test]
fn an_intact_archive_of_four_places_merges_into_the_single_run() {
    let case = Case::new(two_accounts(1501));
    let report = assert_same_as_single(&case);
    assert_eq!(report["verdict"], "pass");
}

#[test]
fn a_digest_deleted_at_a_shard_edge_is_found_once() {
    let case = Case::new(two_accounts(1502));
    let chain = case.chain("eu-west-1");
    let deleted = chain[3].key.clone();
    case.mirror.delete(&deleted);
    let report = assert_same_as_single(&case);
    assert!(
        codes(&report).contains(&"digest.missing".to_owned()),
        "{:#}",
        report["findings"]
    );
}

#[test]
fn a_fork_whose_link_crosses_shards_is_blamed_on_the_forgery() {
    let case = Case::new(two_accounts(1503));
    let here = case.chain("eu-west-1");
    let there = case.chain("us-east-1");
    let end = Timestamp::from_second(there[2].end_time.as_second() + 1800).unwrap();
    case.mirror
        .forge_digest(&here[3].key, end, Some(&there[2].key), &[], None);
    let report = assert_same_as_single(&case);
    assert_eq!(report["verdict"], "fail");
}

#[test]
fn logs_moved_between_partitions_and_places_are_found_as_a_single_run_finds_them() {
    let case = Case::new(two_accounts(1504));
    let logs = &case.mirror.logs;
    let east = logs.iter().find(|l| l.region == "us-east-1").unwrap();
    let west = logs.iter().find(|l| l.region == "eu-west-1").unwrap();
    // To the next day's folder of its own place.
    let next_day = east.key.replace("/2026/03/01/", "/2026/03/02/");
    case.mirror.move_file(&east.key, &next_day);
    // Into another account's folder.
    let elsewhere = west
        .key
        .replace("AWSLogs/111122223333/", "AWSLogs/444455556666/");
    case.mirror.move_file(&west.key, &elsewhere);
    let report = assert_same_as_single(&case);
    assert_eq!(report["verdict"], "fail");
}

#[test]
fn injected_modified_and_stray_files_are_each_reported_by_one_shard() {
    let case = Case::new(two_accounts(1505));
    let logs = &case.mirror.logs;
    let victim = logs.iter().find(|l| l.account == "444455556666").unwrap();
    case.mirror.modify_log(&victim.key);
    case.mirror.inject_log(
        "111122223333",
        "eu-west-1",
        case.chain("eu-west-1")[2].end_time,
    );
    std::fs::write(case.mirror.root.join("README.txt"), b"not evidence").unwrap();
    let report = assert_same_as_single(&case);
    let codes = codes(&report);
    assert!(codes.contains(&"log.modified".to_owned()), "{codes:?}");
}

/// A place that appeared after the plan was made (a new account's folder)
/// is shard 0's: nothing in the mirror is left to no shard.
#[test]
fn a_place_added_after_planning_is_judged_by_shard_0() {
    let case = Case::new(small(1507));
    let mut injected = String::new();
    let merged = sharded_after(&case, 2, || {
        injected = case.mirror.inject_log(
            "999988887777",
            "eu-west-1",
            case.chain("eu-west-1")[2].end_time,
        );
    });
    let (code, json) = single(&case);
    assert_eq!(common::comparable(&merged.json), common::comparable(&json));
    assert_eq!(merged.code, code);
    let report: serde_json::Value = serde_json::from_str(&merged.json).unwrap();
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["object"].as_str().unwrap().ends_with(&injected)),
        "{:#}",
        report["findings"]
    );
    let shard0 = &merged.parts[0]["findings"];
    assert!(
        shard0
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["object"].as_str().unwrap().ends_with(&injected)),
        "{shard0:#}"
    );
}

#[test]
fn merge_refuses_missing_doubled_and_foreign_parts() {
    let case = Case::new(small(1506));
    let dir = tempfile::tempdir().unwrap();
    let roots = case.roots();
    let plan = |name: &str, n: &str| {
        let path = dir.path().join(name);
        let mut args = vec![os("plan")];
        args.extend(roots.iter().map(|r| r.as_os_str()));
        args.extend([os("--shards"), os(n), os("--output"), path.as_os_str()]);
        assert!(trailproof(&args).status.success());
        path
    };
    let (a, b) = (plan("a.json", "2"), plan("b.json", "2"));
    let part = |plan: &Path, k: &str| {
        let path = dir.path().join(format!(
            "{}-{k}.json",
            plan.file_stem().unwrap().to_str().unwrap()
        ));
        let mut args = verify_args(&roots, &case.mirror.public_keys);
        args.extend([
            os("--plan"),
            plan.as_os_str(),
            os("--output"),
            path.as_os_str(),
        ]);
        let out = Command::cargo_bin("trailproof")
            .unwrap()
            .args(&args)
            .env("SLURM_ARRAY_TASK_ID", k)
            .output()
            .unwrap();
        assert!(out.status.code() == Some(0), "{out:?}");
        path
    };
    let (a0, a1, b1) = (part(&a, "0"), part(&a, "1"), part(&b, "1"));
    let merge = |parts: &[&Path]| {
        let mut args = vec![os("merge")];
        args.extend(parts.iter().map(|p| p.as_os_str()));
        args.extend([os("--format"), os("json")]);
        let out = trailproof(&args);
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = merge(&[&a0]);
    assert_eq!(code, 2);
    assert!(
        err.contains("shards 1 of plan") && err.contains("missing"),
        "{err}"
    );
    let (code, err) = merge(&[&a0, &a1, &a1]);
    assert_eq!(code, 2);
    assert!(err.contains("are both shard 1"), "{err}");
    let (code, err) = merge(&[&a0, &b1]);
    assert_eq!(code, 2);
    assert!(err.contains("not of plan"), "{err}");
    // A whole run's report is not a part.
    let whole = dir.path().join("whole.json");
    std::fs::write(&whole, single(&case).1).unwrap();
    let (code, err) = merge(&[&a0, &whole]);
    assert_eq!(code, 2);
    assert!(err.contains("no inputs.shard"), "{err}");
    // A FIFO given as a part is refused at once, not waited on.
    let fifo = dir.path().join("fifo.json");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    assert_eq!(merge(&[&a0, &fifo]).0, 2);
    assert_eq!(merge(&[&a1, &a0]).0, 0);
    // A shard index outside the plan is exit 2, not a verdict.
    let mut args = verify_args(&roots, &case.mirror.public_keys);
    args.extend([os("--plan"), a.as_os_str(), os("--shard"), os("2")]);
    let out = trailproof(&args);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("shard 2 is not in the plan"));
}

/// More shards than places: a shard with nothing of its own writes an empty
/// part (not an error), and the merge is the single run.
#[test]
fn a_shard_with_no_place_of_its_own_is_an_empty_part() {
    let case = Case::new(small(1508));
    let (code, json) = single(&case);
    let merged = sharded(&case, 4);
    assert_eq!(common::comparable(&merged.json), common::comparable(&json));
    assert_eq!(merged.code, code);
    let empty = &merged.parts[3];
    assert_eq!(empty["inputs"]["shard"]["places"], serde_json::json!([]));
    assert_eq!(empty["findings"], serde_json::json!([]));
}

/// A digest copied into another shard's place: the shard of the place it
/// was copied to judges it; the shard whose days it lists reads it too, to
/// judge those files as a single run does. Reports, verdict and exit status
/// are the single run's.
#[test]
fn a_digest_copied_into_another_shards_place_merges_into_the_single_run() {
    let case = Case::new(two_accounts(1509));
    let digest = &case.chain("us-east-1")[2];
    let elsewhere = digest
        .key
        .replace("AWSLogs/111122223333/", "AWSLogs/444455556666/")
        .replace("us-east-1/", "eu-west-1/");
    case.mirror.copy_file(&digest.key, &elsewhere);
    let single = assert_same_as_single_in(&case, &[2, 3]);
    assert_eq!(single["verdict"], "fail");
}

/// A spec whose two places span four days (from 20:17 on 1 March for 60
/// hours), so that a plan of 3 shards cuts each into windows of days.
fn four_days(seed: u64) -> TrailSpec {
    let mut spec = small(seed);
    spec.start = "2026-03-01T20:17:28Z".parse().unwrap();
    spec.hours = 60;
    spec
}

/// The first days of the windows the plan of `shards` shards cuts `region`'s place into.
fn window_starts(case: &Case, shards: usize, region: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    let roots = case.roots();
    let mut args = vec![os("plan")];
    args.extend(roots.iter().map(|r| r.as_os_str()));
    let n = shards.to_string();
    args.extend([os("--shards"), os(&n), os("--output"), plan.as_os_str()]);
    assert!(trailproof(&args).status.success());
    let plan: serde_json::Value = serde_json::from_slice(&std::fs::read(plan).unwrap()).unwrap();
    let mut starts: Vec<String> = plan["shards"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["places"].as_array().unwrap())
        .filter(|p| p["region"] == region)
        .filter_map(|p| p["from"].as_str().map(str::to_owned))
        .collect();
    starts.sort();
    starts
}

/// The day folder (`YYYY/MM/DD`) of a `YYYY-MM-DD` day.
fn folder(day: &str) -> String {
    day.replace('-', "/")
}

#[test]
fn a_large_place_is_cut_into_windows_of_days_that_merge_into_the_single_run() {
    let case = Case::new(four_days(1510));
    let starts = window_starts(&case, 3, "eu-west-1");
    assert!(starts.len() >= 2, "windows: {starts:?}");
    let report = assert_same_as_single_in(&case, &[2, 3, 5]);
    assert_eq!(report["verdict"], "pass");
    let merged = sharded(&case, 3);
    let windows: Vec<&str> = merged
        .parts
        .iter()
        .flat_map(|p| p["inputs"]["shard"]["places"].as_array().unwrap())
        .filter_map(|p| p.as_str().filter(|p| p.contains(" from ")))
        .collect();
    assert!(!windows.is_empty(), "{:#}", merged.parts[0]["inputs"]);
}

/// The first digest of a window's first day lists the log files of the
/// window before it (delivered before midnight): deleted, it is missing
/// once, and those files are unlisted once, as in a single run.
#[test]
fn a_digest_deleted_at_a_window_edge_is_found_once() {
    let case = Case::new(four_days(1511));
    let starts = window_starts(&case, 3, "eu-west-1");
    let edge = folder(starts.first().unwrap());
    let chain = case.chain("eu-west-1");
    let first = chain.iter().find(|d| d.key.contains(&edge)).unwrap();
    case.mirror.delete(&first.key);
    let report = assert_same_as_single_in(&case, &[3]);
    assert!(
        codes(&report).contains(&"digest.missing".to_owned()),
        "{:#}",
        report["findings"]
    );
}

/// Tampering on both sides of window edges: a log modified on a window's
/// last day, one injected on the next window's first, one moved across
/// the edge, and a fork whose forged link reaches into another window.
#[test]
fn logs_tampered_and_a_fork_across_window_edges_are_found_as_a_single_run_finds_them() {
    let case = Case::new(four_days(1512));
    let starts = window_starts(&case, 3, "us-east-1");
    let edge = starts.first().unwrap().clone();
    let edge_folder = format!("/{}/", folder(&edge));
    let logs = &case.mirror.logs;
    let east: Vec<_> = logs.iter().filter(|l| l.region == "us-east-1").collect();
    let first_after = east
        .iter()
        .position(|l| l.key.contains(&edge_folder))
        .unwrap();
    let before = east[first_after - 1];
    case.mirror.modify_log(&before.key);
    let moved = east[first_after - 2];
    let moved_to = {
        let parts: Vec<&str> = moved.key.split('/').collect();
        let n = parts.len();
        let mut parts: Vec<String> = parts.iter().map(|s| (*s).to_owned()).collect();
        let ymd: Vec<&str> = edge.split('-').collect();
        parts[n - 4] = ymd[0].to_owned();
        parts[n - 3] = ymd[1].to_owned();
        parts[n - 2] = ymd[2].to_owned();
        parts.join("/")
    };
    case.mirror.move_file(&moved.key, &moved_to);
    let chain = case.chain("us-east-1");
    let after = chain.iter().find(|d| d.key.contains(&edge_folder)).unwrap();
    case.mirror
        .inject_log("111122223333", "us-east-1", after.end_time);
    let here = case.chain("eu-west-1");
    let last = here.len() - 2;
    let end = Timestamp::from_second(here[last].end_time.as_second() + 1800).unwrap();
    case.mirror
        .forge_digest(&here[last].key, end, Some(&here[1].key), &[], None);
    let report = assert_same_as_single_in(&case, &[3]);
    assert_eq!(report["verdict"], "fail");
    let codes = codes(&report);
    assert!(codes.contains(&"log.modified".to_owned()), "{codes:?}");
}
