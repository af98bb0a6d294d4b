//! Evidence reports and CI gates: every `--report` format from one run of a
//! tampered mirror, checked with real parsers (the official SARIF schema, a
//! JUnit parser, a CommonMark parser, `sha256sum -c`), deterministic apart
//! from the run's times, and `--fail-on`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{Case, small, url};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use trailproof_testgen::TrailSpec;

/// Every report format of one run, read back.
struct Reports {
    code: i32,
    json: Value,
    json_bytes: Vec<u8>,
    html: String,
    sarif: Value,
    junit: Vec<u8>,
    markdown: String,
    manifest: String,
}

fn run_reports(case: &Case, dir: &Path, extra: &[&str]) -> Reports {
    let path = |name: &str| dir.join(name);
    let mut args: Vec<String> = vec!["verify".into()];
    args.extend(case.roots().iter().map(|r| r.display().to_string()));
    args.push("--public-keys".into());
    args.push(case.mirror.public_keys.display().to_string());
    for (format, file) in [
        ("json", "r.json"),
        ("html", "r.html"),
        ("sarif", "r.sarif"),
        ("junit", "r.xml"),
        ("markdown", "r.md"),
        ("manifest", "r.sha256"),
    ] {
        args.push("--report".into());
        args.push(format!("{format}={}", path(file).display()));
    }
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args.push("--quiet".into());
    let output = assert_cmd::Command::cargo_bin("trailproof")
        .unwrap()
        .args(&args)
        .output()
        .unwrap();
    let read = |name: &str| std::fs::read(path(name)).unwrap();
    let text = |name: &str| String::from_utf8(read(name)).unwrap();
    let json_bytes = read("r.json");
    Reports {
        code: output.status.code().unwrap(),
        json: common::report_json(&json_bytes),
        json_bytes,
        html: text("r.html"),
        sarif: serde_json::from_slice(&read("r.sarif")).unwrap(),
        junit: read("r.xml"),
        markdown: text("r.md"),
        manifest: text("r.sha256"),
    }
}

/// A mirror with one modified log (hour 1 of us-east-1), one deleted digest
/// (hour 3 of eu-west-1) and a validation gap (hours 5-6 of both chains).
struct Tampered {
    case: Case,
    modified_log: String,
    modified_hour_digest: String,
    deleted_digest: String,
}

fn tampered(seed: u64) -> Tampered {
    let case = Case::new(TrailSpec {
        hours: 9,
        gaps: vec![(5, 2)],
        ..small(seed)
    });
    let us = case.chain("us-east-1");
    let listing = us.iter().find(|d| !d.log_keys.is_empty()).unwrap();
    let modified_log = listing.log_keys[0].clone();
    let modified_hour_digest = listing.key.clone();
    case.mirror.modify_log(&modified_log);
    let eu = case.chain("eu-west-1");
    let deleted_digest = eu[2].key.clone();
    case.mirror.delete(&deleted_digest);
    Tampered {
        modified_log,
        modified_hour_digest,
        deleted_digest,
        case,
    }
}

/// Whether a digest that is still in the mirror lists the log file.
fn listed_by_present(t: &Tampered, log: &trailproof_testgen::LogEntry) -> bool {
    log.listed_by.iter().any(|d| *d != t.deleted_digest)
}

fn bucket(case: &Case) -> String {
    case.mirror.digests[0].bucket.clone()
}

#[test]
fn sarif_validates_against_the_official_schema_with_one_result_per_finding() {
    let t = tampered(81);
    let dir = tempfile::tempdir().unwrap();
    let r = run_reports(&t.case, dir.path(), &[]);
    assert_eq!(r.code, 1);

    let schema_bytes = std::fs::read("tests/schemas/sarif-schema-2.1.0.json").unwrap();
    assert_eq!(
        hex::encode(Sha256::digest(&schema_bytes)),
        "af47e7b67f24efe74076621fd3a5fbe7398add9e84fe820c971219a385895cea",
        "the vendored schema must stay the published file (tests/schemas/README.md)"
    );
    // Validated by the Python `jsonschema` package (the Rust validators
    // reject the official schema's own `language` pattern as a regex).
    let has_jsonschema = Command::new("python3")
        .args(["-c", "import jsonschema"])
        .status()
        .is_ok_and(|s| s.success());
    if !common::tool_present(
        "the SARIF schema check",
        (!has_jsonschema).then(|| "Python has no jsonschema package".to_owned()),
        "python3 -m pip install jsonschema",
    ) {
        return;
    }
    let validate = |doc: &Value| {
        let file = dir.path().join("doc.sarif");
        std::fs::write(&file, serde_json::to_vec(doc).unwrap()).unwrap();
        Command::new("python3")
            .arg("tests/schemas/validate.py")
            .arg("tests/schemas/sarif-schema-2.1.0.json")
            .arg(&file)
            .output()
            .expect("python3 runs (CI installs the jsonschema package)")
    };
    let valid = validate(&r.sarif);
    assert!(
        valid.status.success(),
        "SARIF schema errors:\n{}{}",
        String::from_utf8_lossy(&valid.stdout),
        String::from_utf8_lossy(&valid.stderr)
    );
    // The validator is not vacuous: a result without a message is rejected.
    let mut broken = r.sarif.clone();
    broken["runs"][0]["results"][0]
        .as_object_mut()
        .unwrap()
        .remove("message");
    let invalid = validate(&broken);
    assert_eq!(invalid.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&invalid.stdout).contains("'message' is a required property"));

    let run = &r.sarif["runs"][0];
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|rule| rule["id"].as_str().unwrap())
        .collect();
    let codes: Vec<&str> = trailproof::FindingCode::ALL
        .iter()
        .map(|c| c.as_str())
        .collect();
    assert_eq!(rules, codes, "one rule per finding code");
    for rule in run["tool"]["driver"]["rules"].as_array().unwrap() {
        assert!(!rule["help"]["text"].as_str().unwrap().is_empty());
    }
    let results = run["results"].as_array().unwrap();
    let findings = r.json["findings"].as_array().unwrap();
    assert_eq!(results.len(), findings.len());
    let b = bucket(&t.case);
    let modified = results
        .iter()
        .find(|res| res["ruleId"] == "log.modified")
        .unwrap();
    assert_eq!(modified["level"], "error");
    assert_eq!(
        modified["properties"]["object"],
        url(&b, &t.modified_log).as_str()
    );
    let uri = modified["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        .as_str()
        .unwrap();
    let local = t.case.mirror.path_of(&t.modified_log);
    assert_eq!(
        url_to_path(uri),
        std::path::absolute(&local).unwrap(),
        "the result points at the local file"
    );
    let missing = results
        .iter()
        .find(|res| res["ruleId"] == "digest.missing")
        .unwrap();
    assert_eq!(
        missing["properties"]["object"],
        url(&b, &t.deleted_digest).as_str()
    );
    assert_eq!(
        results
            .iter()
            .filter(|res| res["level"] == "warning")
            .count(),
        findings
            .iter()
            .filter(|f| f["severity"] == "warning")
            .count()
    );
}

fn url_to_path(uri: &str) -> PathBuf {
    let path = uri.strip_prefix("file://").unwrap();
    let mut bytes = Vec::new();
    let mut chars = path.bytes();
    while let Some(c) = chars.next() {
        if c == b'%' {
            let hi = chars.next().unwrap();
            let lo = chars.next().unwrap();
            bytes.push(u8::from_str_radix(&format!("{}{}", hi as char, lo as char), 16).unwrap());
        } else {
            bytes.push(c);
        }
    }
    PathBuf::from(String::from_utf8(bytes).unwrap())
}

#[test]
fn junit_parses_with_a_suite_per_chain_and_a_case_per_digest_and_log() {
    let t = tampered(82);
    let dir = tempfile::tempdir().unwrap();
    let r = run_reports(&t.case, dir.path(), &[]);
    let suites = junit_parser::from_reader(std::io::Cursor::new(&r.junit)).unwrap();
    let chain_ids: Vec<String> = r.json["chains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    let names: Vec<&str> = suites.suites.iter().map(|s| s.name.as_str()).collect();
    for id in &chain_ids {
        assert!(names.contains(&id.as_str()), "suite {id} in {names:?}");
    }
    let mut cases: BTreeMap<String, (String, &junit_parser::TestStatus)> = BTreeMap::new();
    for suite in &suites.suites {
        for case in &suite.cases {
            cases.insert(
                case.original_name.clone(),
                (suite.name.clone(), &case.status),
            );
        }
    }
    // Every digest and log file the generator wrote is a test case (the
    // deleted digest too, as a failure).
    let b = bucket(&t.case);
    for d in &t.case.mirror.digests {
        assert!(
            cases.contains_key(&url(&b, &d.key)),
            "digest {} not in {:#?}",
            d.key,
            cases.keys().collect::<Vec<_>>()
        );
    }
    // Every listed log file too (those of the validation gap and of the
    // deleted digest are listed by no digest present and lie outside the
    // time authentic digests cover).
    for l in t
        .case
        .mirror
        .logs
        .iter()
        .filter(|l| listed_by_present(&t, l))
    {
        assert!(cases.contains_key(&url(&b, &l.key)), "log {}", l.key);
    }
    let failures: Vec<&String> = cases
        .iter()
        .filter(|(_, (_, s))| s.is_failure())
        .map(|(name, _)| name)
        .collect();
    let mut expected = [url(&b, &t.modified_log), url(&b, &t.deleted_digest)];
    expected.sort();
    assert_eq!(failures, expected.iter().collect::<Vec<_>>());
    let (suite, status) = &cases[&url(&b, &t.modified_log)];
    assert!(suite.contains("us-east-1"));
    let failure = status.failure_as_ref();
    assert_eq!(failure.failure_type, "log.modified");
    assert!(failure.text.contains("expected:"), "{}", failure.text);
    assert!(failure.text.contains("what to do:"), "{}", failure.text);
    let total: u64 = suites.suites.iter().map(|s| s.tests).sum();
    let mut seen = std::collections::BTreeMap::new();
    for suite in &suites.suites {
        for case in &suite.cases {
            *seen.entry(case.original_name.clone()).or_insert(0) += 1;
        }
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert_eq!(total as usize, cases.len(), "{twice:#?}");
}

#[test]
fn markdown_renders_a_table_per_chain_and_the_first_findings() {
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
    let t = tampered(83);
    let dir = tempfile::tempdir().unwrap();
    let r = run_reports(&t.case, dir.path(), &[]);
    let mut tables: Vec<Vec<Vec<String>>> = Vec::new();
    let mut cell: Option<String> = None;
    for event in Parser::new_ext(&r.markdown, Options::ENABLE_TABLES) {
        match event {
            Event::Start(Tag::Table(_)) => tables.push(Vec::new()),
            Event::Start(Tag::TableHead | Tag::TableRow) => {
                tables.last_mut().unwrap().push(Vec::new())
            }
            Event::Start(Tag::TableCell) => cell = Some(String::new()),
            Event::Text(text) | Event::Code(text) => {
                if let Some(c) = cell.as_mut() {
                    c.push_str(&text);
                }
            }
            Event::End(TagEnd::TableCell) => {
                let text = cell.take().unwrap();
                tables.last_mut().unwrap().last_mut().unwrap().push(text);
            }
            _ => {}
        }
    }
    assert_eq!(tables.len(), 2, "{}", r.markdown);
    let chains = &tables[0];
    assert_eq!(chains[0][0], "Chain");
    assert_eq!(chains.len(), 1 + r.json["chains"].as_array().unwrap().len());
    let findings = &tables[1];
    assert_eq!(
        findings[0],
        ["Severity", "Code", "Object", "Expected", "Found"]
    );
    let b = bucket(&t.case);
    // Escaped underscores and slashes come back as the original text.
    assert!(
        findings
            .iter()
            .any(|row| row[1] == "log.modified" && row[2] == url(&b, &t.modified_log)),
        "{findings:?}"
    );
    assert!(r.markdown.starts_with("## trailproof: FAIL"));
}

#[test]
fn markdown_lists_the_first_twenty_findings_and_counts_the_rest() {
    let case = Case::new(TrailSpec {
        hours: 12,
        logs_per_hour: (3, 3),
        ..small(84)
    });
    for log in case.mirror.logs.iter().take(25) {
        case.mirror.modify_log(&log.key);
    }
    let dir = tempfile::tempdir().unwrap();
    let r = run_reports(&case, dir.path(), &[]);
    let total = r.json["findings"].as_array().unwrap().len();
    assert!(total >= 25);
    assert!(
        r.markdown
            .contains(&format!("### Findings (20 of {total}, errors first)"))
    );
    assert!(
        r.markdown
            .contains(&format!("…and {} more finding(s)", total - 20)),
        "{}",
        r.markdown
    );
}

#[test]
fn markdown_shows_errors_before_a_flood_of_warnings() {
    // No saved metadata: every digest's newest link is unsigned and many log
    // files are unverified (warnings), plus one modified log (an error).
    let case = Case::new(TrailSpec {
        signature_store: trailproof_testgen::SignatureStore::None,
        hours: 12,
        logs_per_hour: (3, 3),
        ..small(94)
    });
    let newest = case.newest("us-east-1").key.clone();
    let modified = case
        .mirror
        .logs
        .iter()
        .find(|l| l.region == "us-east-1" && !l.listed_by.contains(&newest))
        .unwrap()
        .key
        .clone();
    case.mirror.modify_log(&modified);
    let dir = tempfile::tempdir().unwrap();
    let r = run_reports(&case, dir.path(), &[]);
    assert_eq!(r.json["summary"]["findings"]["errors"], 1);
    let warnings = r.json["summary"]["findings"]["warnings"].as_u64().unwrap();
    assert!(warnings >= 3, "{warnings}");
    let rows: Vec<&str> = r
        .markdown
        .lines()
        .filter(|l| l.starts_with("| error") || l.starts_with("| warning"))
        .collect();
    assert!(rows[0].starts_with("| error | `log.modified`"), "{rows:#?}");
}

#[test]
fn partitions_account_for_every_listed_log_day_by_day() {
    let t = tampered(86);
    let dir = tempfile::tempdir().unwrap();
    let r = run_reports(&t.case, dir.path(), &[]);
    let partitions = r.json["partitions"].as_array().unwrap();
    // One partition per region and day of the trail (no misplaced keys).
    let mut days: Vec<(String, String)> = t
        .case
        .mirror
        .logs
        .iter()
        .map(|l| {
            let parts: Vec<&str> = l.key.split('/').collect();
            let n = parts.len();
            (parts[n - 5].to_owned(), parts[n - 4..n - 1].join("-"))
        })
        .collect();
    days.sort();
    days.dedup();
    let mut seen: Vec<(String, String)> = partitions
        .iter()
        .map(|p| {
            (
                p["region"].as_str().unwrap().to_owned(),
                p["date"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(seen, days);
    let sum = |field: &str| {
        partitions
            .iter()
            .map(|p| p[field].as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!(sum("log_files_listed"), r.json["summary"]["logs"]["listed"]);
    assert_eq!(sum("log_files_valid"), r.json["summary"]["logs"]["valid"]);
    assert_eq!(sum("log_files_read"), t.case.mirror.logs.len() as u64);
    // The modified log's partition is the one with a listed file not valid.
    let bad: Vec<&Value> = partitions
        .iter()
        .filter(|p| p["log_files_valid"] != p["log_files_listed"])
        .collect();
    assert_eq!(bad.len(), 1);
    let folder = &t.modified_log[..t.modified_log.rfind('/').unwrap() + 1];
    assert_eq!(bad[0]["id"], url(&bucket(&t.case), folder));
    let entry = t
        .case
        .mirror
        .logs
        .iter()
        .find(|l| l.key == t.modified_log)
        .unwrap();
    assert_eq!(bad[0]["account"], entry.account.as_str());
    assert_eq!(bad[0]["region"], entry.region.as_str());
    assert_eq!(
        bad[0]["log_files_listed"].as_u64().unwrap() - bad[0]["log_files_valid"].as_u64().unwrap(),
        1
    );
    assert!(
        partitions
            .iter()
            .all(|p| p["digests"].as_u64().unwrap() > 0)
    );
}

#[test]
fn manifest_lists_every_file_read_with_its_stored_sha256() {
    let t = tampered(85);
    let dir = tempfile::tempdir().unwrap();
    let r = run_reports(&t.case, dir.path(), &[]);
    let manifest = r.json["manifest"].as_array().unwrap();
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for entry in manifest {
        *by_kind.entry(entry["kind"].as_str().unwrap()).or_default() += 1;
        let path = Path::new(entry["path"].as_str().unwrap());
        let bytes = std::fs::read(path).unwrap();
        assert_eq!(entry["size"], bytes.len());
        assert_eq!(
            entry["sha256"].as_str().unwrap(),
            hex::encode(Sha256::digest(&bytes)),
            "{}",
            path.display()
        );
    }
    let digests = t.case.mirror.digests.len() - 1; // one deleted
    // Log files of the validation gap and of the deleted digest are listed
    // by no digest present: they are read for the manifest too (and named
    // as log.not_covered), so every log file of the mirror is in it.
    let unlisted = t
        .case
        .mirror
        .logs
        .iter()
        .filter(|l| !listed_by_present(&t, l))
        .count();
    assert!(unlisted > 0);
    assert_eq!(by_kind["digest"], digests);
    assert_eq!(by_kind["metadata"], digests);
    assert_eq!(by_kind["log"], t.case.mirror.logs.len());
    assert_eq!(r.json["summary"]["logs"]["not_covered"], unlisted);
    assert_eq!(by_kind["public_key"], 1);
    let entries = |text: &str| text.lines().filter(|l| !l.starts_with('#')).count();
    assert_eq!(entries(&r.manifest), manifest.len());
    assert!(r.manifest.starts_with("# trailproof evidence manifest"));
    assert!(r.manifest.contains("Paths are absolute"));

    // `sha256sum -c` accepts it as is, from any folder, and catches a changed file.
    let check = |dir: &Path| {
        Command::new("sha256sum")
            .args(["-c", "--quiet", "--strict"])
            .arg(dir.join("r.sha256"))
            .current_dir("/")
            .output()
            .unwrap()
    };
    let ok = check(dir.path());
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    t.case.mirror.modify_log(&t.case.mirror.logs[0].key);
    let bad = check(dir.path());
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stdout).contains("FAILED"));

    // The HTML names the SHA-256 of the JSON report and of the manifest file.
    assert!(
        r.html.contains(&hex::encode(Sha256::digest(&r.json_bytes))),
        "HTML names the JSON report's hash"
    );
    assert!(
        r.html
            .contains(&hex::encode(Sha256::digest(r.manifest.as_bytes())))
    );
}

#[test]
fn no_manifest_keeps_the_list_without_log_hashes() {
    let case = Case::new(small(86));
    let dir = tempfile::tempdir().unwrap();
    let r = run_reports(&case, dir.path(), &["--no-manifest"]);
    assert_eq!(r.code, 0);
    let manifest = r.json["manifest"].as_array().unwrap();
    let logs: Vec<&Value> = manifest.iter().filter(|e| e["kind"] == "log").collect();
    assert_eq!(logs.len(), case.mirror.logs.len());
    assert!(logs.iter().all(|e| e["sha256"].is_null()));
    assert!(
        manifest
            .iter()
            .filter(|e| e["kind"] != "log")
            .all(|e| e["sha256"].is_string())
    );
    assert_eq!(
        r.manifest.lines().filter(|l| !l.starts_with('#')).count(),
        manifest.len() - logs.len(),
        "sha256sum format lists only hashed files"
    );
}

#[test]
fn timeline_marks_tampered_missing_and_uncovered_hours() {
    let t = tampered(87);
    let dir = tempfile::tempdir().unwrap();
    let r = run_reports(&t.case, dir.path(), &[]);
    let chain = |region: &str| {
        r.json["chains"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["region"] == region)
            .unwrap()
            .clone()
    };
    let statuses = |c: &Value| -> Vec<(String, String, String)> {
        c["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["start"].as_str().unwrap().to_owned(),
                    s["end"].as_str().unwrap().to_owned(),
                    s["status"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let digest = |key: &str| {
        t.case
            .mirror
            .digests
            .iter()
            .find(|d| d.key == key)
            .unwrap()
            .json
            .clone()
    };
    let us = statuses(&chain("us-east-1"));
    let d = digest(&t.modified_hour_digest);
    let window = (
        d["digestStartTime"].as_str().unwrap().to_owned(),
        d["digestEndTime"].as_str().unwrap().to_owned(),
    );
    assert!(
        us.iter()
            .any(|(s, e, status)| status == "tampered" && (s.clone(), e.clone()) == window),
        "{us:?}"
    );
    assert!(us.iter().any(|(_, _, s)| s == "not_covered"), "{us:?}");
    let eu = statuses(&chain("eu-west-1"));
    let deleted_end = t
        .case
        .mirror
        .digests
        .iter()
        .find(|d| d.key == t.deleted_digest)
        .unwrap()
        .end_time
        .to_string();
    assert!(
        eu.iter()
            .any(|(_, e, status)| status == "missing" && *e == deleted_end),
        "{eu:?}"
    );
    // The HTML grid shows the tampered hour as a tampered cell.
    assert!(r.html.contains("data-status=\"tampered\""));
    assert!(r.html.contains("data-status=\"missing\""));
    assert!(r.html.contains("data-status=\"not_covered\""));
}

/// The run's times (and what is derived from them) masked out.
fn mask_run(r: &Reports) -> Vec<String> {
    let times: Vec<String> = ["started_at", "finished_at"]
        .iter()
        .map(|f| r.json["run"][*f].as_str().unwrap().to_owned())
        .collect();
    let json_sha = hex::encode(Sha256::digest(&r.json_bytes));
    let mask = |text: &str| {
        let mut text = text.replace(&json_sha, "<json-sha256>");
        for t in &times {
            text = text.replace(t.as_str(), "<time>");
        }
        text
    };
    vec![
        mask(std::str::from_utf8(&r.json_bytes).unwrap()),
        mask(&r.html),
        mask(&serde_json::to_string_pretty(&r.sarif).unwrap()),
        mask(std::str::from_utf8(&r.junit).unwrap()),
        mask(&r.markdown),
        mask(&r.manifest),
    ]
}

#[test]
fn two_runs_give_identical_reports_apart_from_the_run_times() {
    let t = tampered(88);
    // Same report paths, so the command lines are equal too.
    let dir = tempfile::tempdir().unwrap();
    let first = mask_run(&run_reports(&t.case, dir.path(), &[]));
    let second = mask_run(&run_reports(&t.case, dir.path(), &[]));
    let names = ["json", "html", "sarif", "junit", "markdown", "manifest"];
    for ((name, x), y) in names.iter().zip(&first).zip(&second) {
        if x != y {
            let diff: Vec<(&str, &str)> = x
                .lines()
                .zip(y.lines())
                .filter(|(a, b)| a != b)
                .take(3)
                .collect();
            panic!("{name} report differs between runs: {diff:#?}");
        }
    }
}

#[test]
fn fail_on_sets_the_exit_status() {
    // Warnings only: a digest without any signature source (newest, no sidecar).
    let case = Case::new(TrailSpec {
        signature_store: trailproof_testgen::SignatureStore::None,
        ..small(89)
    });
    let warn = common::verify_json(&case.roots(), &case.mirror.public_keys, &[]);
    assert_eq!(warn.report["summary"]["findings"]["errors"], 0);
    assert!(
        warn.report["summary"]["findings"]["warnings"]
            .as_u64()
            .unwrap()
            > 0
    );
    let code =
        |extra: &[&str]| common::verify_json(&case.roots(), &case.mirror.public_keys, extra).code;
    assert_eq!(code(&[]), 0);
    assert_eq!(code(&["--fail-on", "error"]), 0);
    assert_eq!(code(&["--fail-on", "warning"]), 1);
    assert_eq!(code(&["--fail-on", "never"]), 0);

    let bad = Case::new(small(90));
    bad.mirror.modify_log(&bad.mirror.logs[0].key);
    let code =
        |extra: &[&str]| common::verify_json(&bad.roots(), &bad.mirror.public_keys, extra).code;
    assert_eq!(code(&["--fail-on", "error"]), 1);
    assert_eq!(code(&["--fail-on", "warning"]), 1);
    assert_eq!(code(&["--fail-on", "never"]), 0);
}

#[test]
fn a_report_path_inside_the_mirror_is_refused_and_nothing_is_written() {
    let case = Case::new(small(91));
    let before = common::snapshot(&case.mirror.root);
    let inside = case.mirror.root.join("case.html");
    let output = case.run([format!("--report=html={}", inside.display())]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("inside"));
    assert_eq!(common::snapshot(&case.mirror.root), before);
}

#[test]
fn report_argument_errors_are_usage_errors() {
    for bad in ["pdf=x.pdf", "html", "html="] {
        let output = assert_cmd::Command::cargo_bin("trailproof")
            .unwrap()
            .args(["verify", "m", "--public-keys", "k", "--report", bad])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{bad}");
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("--report"),
            "{bad}"
        );
    }
}

#[test]
fn hostile_names_are_escaped_in_every_format() {
    let case = Case::new(small(92));
    let folder = case
        .mirror
        .path_of(&case.mirror.logs[0].key)
        .parent()
        .unwrap()
        .to_path_buf();
    // A log file's name (dated another day than its folder, so unreferenced: an error).
    let name = "111122223333_CloudTrail_us-east-1_20190301T0020Z_x<img src=x onerror=alert(1)>|y&z*_`[a](b) @all www.example.com $x$\u{1}.json.gz";
    std::fs::write(folder.join(name), b"junk").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let r = run_reports(&case, dir.path(), &[]);
    assert_eq!(r.code, 1);
    let finding = r.json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["object"].as_str().unwrap().ends_with(name))
        .expect("the stray file is a finding");
    assert_eq!(finding["code"], "log.unreferenced");
    assert!(!r.html.contains("<img"), "HTML must escape names");
    assert!(
        r.html
            .contains("x&lt;img src=x onerror=alert(1)&gt;|y&amp;z")
    );
    // JUnit stays well-formed XML and keeps the name (minus the control character).
    let suites = junit_parser::from_reader(std::io::Cursor::new(&r.junit)).unwrap();
    assert!(
        suites
            .suites
            .iter()
            .flat_map(|s| &s.cases)
            .any(|c| c.original_name.contains("<img src=x onerror=alert(1)>|y&z"))
    );
    // The Markdown table keeps its five columns on that row.
    let row = r
        .markdown
        .lines()
        .find(|l| l.contains("log.unreferenced"))
        .unwrap();
    let unescaped_pipes = row
        .char_indices()
        .filter(|&(i, c)| c == '|' && !row[..i].ends_with('\\'))
        .count();
    assert_eq!(unescaped_pipes, 6, "{row}");
    // …and no raw HTML reaches a Markdown renderer.
    let html_events =
        pulldown_cmark::Parser::new_ext(&r.markdown, pulldown_cmark::Options::ENABLE_TABLES)
            .filter(|e| {
                matches!(
                    e,
                    pulldown_cmark::Event::Html(_) | pulldown_cmark::Event::InlineHtml(_)
                )
            })
            .count();
    assert_eq!(html_events, 0, "{row}");
    // The object is one code span: no mention, autolink or math.
    let in_code = pulldown_cmark::Parser::new_ext(&r.markdown, pulldown_cmark::Options::ENABLE_TABLES)
        .any(|e| matches!(e, pulldown_cmark::Event::Code(c) if c.contains("[a](b) @all www.example.com $x$")));
    assert!(in_code, "{row}");
}

#[test]
fn a_link_at_a_report_path_never_leads_a_write_into_the_evidence() {
    let case = Case::new(small(93));
    let before = common::snapshot(&case.mirror.root);
    let evidence = case.mirror.path_of(&case.mirror.logs[0].key);
    let out = tempfile::tempdir().unwrap();
    let soft = out.path().join("case.html");
    let hard = out.path().join("report.json");
    std::os::unix::fs::symlink(&evidence, &soft).unwrap();
    std::fs::hard_link(&evidence, &hard).unwrap();
    // A hard link is replaced by a new file, never written through.
    let output = case.run([
        format!("--output={}", hard.display()),
        "--format=json".to_owned(),
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json = common::report_json(std::fs::read(&hard).unwrap());
    assert_eq!(json["verdict"], "pass");
    // A symbolic link is resolved: into the mirror, it is refused like any
    // path there, and stays a link.
    let output = case.run([format!("--report=html={}", soft.display())]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("inside the mirror"));
    assert!(std::fs::symlink_metadata(&soft).unwrap().is_symlink());
    assert_eq!(
        common::snapshot(&case.mirror.root),
        before,
        "evidence changed"
    );
}

#[test]
fn the_sha256sum_manifest_keeps_a_non_utf8_root_as_bytes() {
    use std::os::unix::ffi::OsStrExt as _;
    let case = Case::new(small(96));
    let odd = case
        .dir
        .path()
        .join(std::ffi::OsStr::from_bytes(b"ev\xffdence"));
    std::fs::rename(&case.mirror.root, &odd).unwrap();
    let out = tempfile::tempdir().unwrap();
    let manifest = out.path().join("evidence.sha256");
    let status = assert_cmd::Command::cargo_bin("trailproof")
        .unwrap()
        .arg("verify")
        .arg(&odd)
        .arg("--public-keys")
        .arg(&case.mirror.public_keys)
        .arg("--report")
        .arg(format!("manifest={}", manifest.display()))
        .arg("--quiet")
        .output()
        .unwrap()
        .status;
    assert_eq!(status.code(), Some(0));
    let text = std::fs::read(&manifest).unwrap();
    assert!(text.windows(8).any(|w| w == b"ev\xffdence"));
    let check = Command::new("sha256sum")
        .args(["-c", "--quiet"])
        .arg(&manifest)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}
