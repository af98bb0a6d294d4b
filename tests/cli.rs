//! The command line: exit statuses, output formats and files, time ranges,
//! determinism, and that the evidence is never changed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use assert_cmd::Command;
use common::{Case, f, small, snapshot};
use predicates::prelude::*;
use std::path::Path;

fn trailproof() -> Command {
    Command::cargo_bin("trailproof").unwrap()
}

fn repo(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

#[test]
fn readme_demo_command_passes() {
    trailproof()
        .args([
            "verify",
            "testdata/demo/mirror",
            "--public-keys",
            "testdata/demo/public-keys.json",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .assert()
        .code(0)
        .stdout(predicate::str::contains("PASS: no error found"))
        .stdout(predicate::str::contains(
            "chain 111122223333/us-east-1/management-events@us-east-1",
        ));
}

#[test]
fn committed_demo_is_what_the_generator_builds() {
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new(env!("CARGO"))
        .args(["run", "--quiet", "-p", "trailproof-testgen", "--", "demo"])
        .arg(dir.path())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .unwrap();
    assert!(status.success());
    let committed = repo("testdata/demo");
    let strip = |snap: Vec<(std::path::PathBuf, String, u32, i128, Vec<u8>)>| {
        snap.into_iter()
            .map(|(p, k, _, _, c)| (p, k, c))
            .collect::<Vec<_>>()
    };
    let mut ours = strip(snapshot(&committed));
    ours.retain(|(p, _, _)| !p.starts_with("README.md"));
    assert!(
        ours == strip(snapshot(dir.path())),
        "testdata/demo differs from the generator's output: regenerate it (see testdata/README.md)"
    );
}

#[test]
fn tampered_mirror_in_human_format_says_what_and_what_to_do() {
    let case = Case::new(small(51));
    let log = &case.mirror.logs[0];
    case.mirror.modify_log(&log.key);
    trailproof()
        .arg("verify")
        .arg(&case.mirror.root)
        .arg("--public-keys")
        .arg(&case.mirror.public_keys)
        .env("NO_COLOR", "1")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("log.modified"))
        .stdout(predicate::str::contains(format!(
            "s3://{}/{}",
            log.bucket, log.key
        )))
        .stdout(predicate::str::contains(log.path.display().to_string()))
        .stdout(predicate::str::contains(format!(
            "expected: {}",
            log.sha256_hex
        )))
        .stdout(predicate::str::contains("help:"))
        .stdout(predicate::str::contains("FAIL"));
}

#[test]
fn output_file_gets_the_report_and_stdout_stays_empty() {
    let case = Case::new(small(52));
    let report = case.dir.path().join("report.json");
    trailproof()
        .arg("verify")
        .arg(&case.mirror.root)
        .arg("--public-keys")
        .arg(&case.mirror.public_keys)
        .args(["--format", "json", "--output"])
        .arg(&report)
        .assert()
        .code(0)
        .stdout("");
    let json = common::report_json(std::fs::read(&report).unwrap());
    assert_eq!(json["verdict"], "pass");
    assert_eq!(json["tool"]["name"], "trailproof");
}

#[test]
fn json_is_deterministic_apart_from_the_run() {
    let case = Case::new(small(53));
    case.mirror.delete(&case.mirror.logs[2].key);
    // The run's times differ, and so does the command line (--jobs 1).
    let strip = |mut v: serde_json::Value| {
        let top = v.as_object_mut().unwrap();
        top.remove("generated_at").unwrap();
        let run = top["run"].as_object_mut().unwrap();
        for field in ["started_at", "finished_at", "command_line"] {
            run.remove(field).unwrap();
        }
        serde_json::to_string_pretty(&v).unwrap()
    };
    let first = strip(case.verify(&[]).report);
    let second = strip(case.verify(&["--jobs", "1"]).report);
    assert_eq!(first, second);
}

#[test]
fn evidence_is_never_changed() {
    use std::os::unix::fs::PermissionsExt as _;
    let case = Case::new(small(54));
    case.mirror.truncate(&case.mirror.logs[0].key, 3);
    // Make the whole mirror read-only.
    let mut dirs = vec![case.mirror.root.clone()];
    let mut all = Vec::new();
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p.clone());
            }
            all.push(p);
        }
    }
    for p in all.iter().chain(std::iter::once(&case.mirror.root)) {
        let mode = if p.is_dir() { 0o555 } else { 0o444 };
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let before = snapshot(&case.mirror.root);
    let out = case.verify(&[]);
    assert_eq!(
        out.findings(),
        vec![f(
            "log.malformed",
            &case.mirror.logs[0].bucket,
            &case.mirror.logs[0].key
        )]
    );
    assert_eq!(snapshot(&case.mirror.root), before, "the mirror changed");
    for p in all.iter().chain(std::iter::once(&case.mirror.root)) {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

#[test]
fn time_range_limits_the_digests_examined() {
    let case = Case::new(small(55));
    let chain = case.chain("us-east-1");
    // Delete the first two hours' digests; a range starting at hour 3 does not see them.
    case.mirror.delete(&chain[0].key);
    case.mirror.delete(&chain[1].key);
    let start = chain[2].json["digestEndTime"].as_str().unwrap().to_owned();
    let out = case.verify(&["--start-time", &start]);
    assert_eq!(out.findings(), vec![]);
    assert_eq!(out.code, 0);
    // Without the range, the link from hour 3 to hour 2 names a missing digest.
    let out = case.verify(&[]);
    let mut expected = vec![f("digest.missing", &chain[1].bucket, &chain[1].key)];
    expected.extend(case.not_covered(&[&chain[0].key, &chain[1].key]));
    assert_eq!(out.findings(), common::sorted(expected));
    // An end time keeps later digests out.
    let end = chain[3].json["digestEndTime"].as_str().unwrap().to_owned();
    let out = case.verify(&["--start-time", &start, "--end-time", &end]);
    assert_eq!(out.code, 0);
    assert!(
        out.report["summary"]["digests"]["total"].as_u64().unwrap()
            < case.mirror.digests.len() as u64 - 2
    );
}

#[test]
fn no_digest_at_all_is_exit_2_with_help() {
    let empty = tempfile::tempdir().unwrap();
    let case = Case::new(small(56));
    trailproof()
        .arg("verify")
        .arg(empty.path())
        .arg("--public-keys")
        .arg(&case.mirror.public_keys)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no CloudTrail digest file found"))
        .stderr(predicate::str::contains("CloudTrail-Digest"));
}

#[test]
fn key_file_with_a_wrong_fingerprint_is_exit_2_naming_the_file() {
    let case = Case::new(small(57));
    let text = std::fs::read_to_string(&case.mirror.public_keys).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["PublicKeyList"][0]["Fingerprint"] = "0123456789abcdef0123456789abcdef".into();
    let bad = case.dir.path().join("bad-keys.json");
    std::fs::write(&bad, json.to_string()).unwrap();
    trailproof()
        .arg("verify")
        .arg(&case.mirror.root)
        .arg("--public-keys")
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad-keys.json"))
        .stderr(predicate::str::contains("MD5"));
}

#[test]
fn unusable_arguments_are_exit_2() {
    let case = Case::new(small(58));
    let root = case.mirror.root.display().to_string();
    let keys = case.mirror.public_keys.display().to_string();
    let missing = case.dir.path().join("nope.json").display().to_string();
    for args in [
        vec!["verify", &root, "--public-keys", &missing],
        vec!["verify", &root],
        vec![
            "verify",
            &root,
            "--public-keys",
            &keys,
            "--start-time",
            "yesterday",
        ],
        vec![
            "verify",
            &root,
            "--public-keys",
            &keys,
            "--start-time",
            "2026-03-02T00:00:00Z",
            "--end-time",
            "2026-03-01T00:00:00Z",
        ],
        vec!["verify", &missing, "--public-keys", &keys],
        vec!["verify", &root, "--public-keys", &keys, "--jobs", "0"],
    ] {
        trailproof().args(&args).assert().code(2);
    }
}

#[test]
fn readme_documents_every_finding_code_with_its_severity() {
    let readme = std::fs::read_to_string(repo("README.md")).unwrap();
    for code in trailproof::FindingCode::ALL {
        let row = format!("| `{}` | {} |", code.as_str(), code.severity());
        assert!(readme.contains(&row), "README's findings table lacks {row}");
    }
}

#[test]
fn report_is_never_written_inside_a_mirror() {
    let case = Case::new(small(59));
    let target = case.chain("us-east-1")[0].path.clone();
    let before = std::fs::read(&target).unwrap();
    trailproof()
        .arg("verify")
        .arg(&case.mirror.root)
        .arg("--public-keys")
        .arg(&case.mirror.public_keys)
        .arg("--output")
        .arg(&target)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("inside the mirror"));
    assert_eq!(std::fs::read(&target).unwrap(), before);
}

#[test]
fn overlapping_or_repeated_roots_are_exit_2() {
    let case = Case::new(small(60));
    let root = case.mirror.root.display().to_string();
    let inner = case.mirror.root.join("AWSLogs").display().to_string();
    let keys = case.mirror.public_keys.display().to_string();
    for args in [
        vec!["verify", &root, &root, "--public-keys", &keys],
        vec!["verify", &root, &inner, "--public-keys", &keys],
    ] {
        trailproof()
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("overlap"));
    }
    // A copy of the same bucket elsewhere is the same objects twice.
    let copy = case.dir.path().join("copy");
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(&case.mirror.root)
        .arg(&copy)
        .status()
        .unwrap();
    assert!(status.success());
    trailproof()
        .args([
            "verify",
            &root,
            copy.to_str().unwrap(),
            "--public-keys",
            &keys,
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("overlap"));
}

#[test]
fn root_that_is_not_a_bucket_mirror_is_exit_2() {
    let case = Case::new(small(61));
    // One level above the bucket directory: keys would all be off by one folder.
    trailproof()
        .arg("verify")
        .arg(case.mirror.root.parent().unwrap())
        .arg("--public-keys")
        .arg(&case.mirror.public_keys)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot work out which bucket"));
}
