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
    let (code, json) = single(case);
    for shards in [1, 2, 3] {
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
        let named: usize = merged
            .parts
            .iter()
            .map(|p| p["inputs"]["shard"]["places"].as_array().unwrap().len())
            .sum();
        assert_eq!(named, 2 * case.mirror_accounts(), "{shards} shards: places");
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

/// A digest copied into another shard's place: each shard judges what lies
/// in its places; the merged verdict, findings, counts and exit status are
/// the single run's. (Known differences of this case: the chain's coverage
/// timeline is the shard's that holds the chain's place, which does not see
/// the copy's trouble, and the copy is not counted among the digests of the
/// partition it lists, which another shard reads.)
#[test]
fn a_digest_copied_into_another_shards_place_gives_the_single_runs_verdict_and_findings() {
    let case = Case::new(two_accounts(1509));
    let digest = &case.chain("us-east-1")[2];
    let elsewhere = digest
        .key
        .replace("AWSLogs/111122223333/", "AWSLogs/444455556666/")
        .replace("us-east-1/", "eu-west-1/");
    case.mirror.copy_file(&digest.key, &elsewhere);
    let (code, json) = single(&case);
    let single: serde_json::Value = serde_json::from_str(&json).unwrap();
    for shards in [2, 3] {
        let merged = sharded(&case, shards);
        let report: serde_json::Value = serde_json::from_str(&merged.json).unwrap();
        assert_eq!(merged.code, code, "{shards} shards");
        for field in ["verdict", "findings", "summary", "manifest"] {
            assert_eq!(report[field], single[field], "{shards} shards: {field}");
        }
    }
    assert_eq!(single["verdict"], "fail");
}
