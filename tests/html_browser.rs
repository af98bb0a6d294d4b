//! The HTML case report in a real browser: headless Debian Chromium (driven
//! by playwright-core, `tests/browser/check_report.mjs`) opens the report of
//! a tampered mirror. No console errors, no network requests, and the SVG
//! timeline shows the tampered hours. The screenshot is kept as a CI artifact
//! in `target/artifacts/` (or `$TRAILPROOF_ARTIFACTS`).
//!
//! `scripts/install-browser.sh` installs the browser; `.ci/run` runs it, and
//! under `CI` a missing browser fails the test. Elsewhere the test is skipped
//! with a message saying what to install.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{Case, small};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use trailproof_testgen::TrailSpec;

/// Why the browser check cannot run here, if it cannot.
fn missing_browser() -> Option<String> {
    let chromium = std::env::var_os("CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    if !chromium.exists() {
        return Some(format!("{} is missing", chromium.display()));
    }
    if Command::new("node").arg("--version").output().is_err() {
        return Some("node is missing".to_owned());
    }
    if !Path::new("tests/browser/node_modules/playwright-core").exists() {
        return Some("tests/browser/node_modules has no playwright-core".to_owned());
    }
    None
}

fn artifacts() -> PathBuf {
    let dir = std::env::var_os("TRAILPROOF_ARTIFACTS")
        .map_or_else(|| PathBuf::from("target/artifacts"), PathBuf::from);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn html_report_of_a_tampered_mirror_in_headless_chromium() {
    if !common::tool_present(
        "the HTML report's browser check",
        missing_browser(),
        "run scripts/install-browser.sh",
    ) {
        return;
    }
    let case = Case::new(TrailSpec {
        hours: 8,
        gaps: vec![(5, 1)],
        ..small(95)
    });
    let us = case.chain("us-east-1");
    let tampered = us.iter().find(|d| !d.log_keys.is_empty()).unwrap();
    case.mirror.modify_log(&tampered.log_keys[0]);
    let window = (
        tampered.json["digestStartTime"]
            .as_str()
            .unwrap()
            .to_owned(),
        tampered.json["digestEndTime"].as_str().unwrap().to_owned(),
    );
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("case.html");
    let status = case
        .run([
            format!("--report=html={}", html.display()),
            "--quiet".into(),
        ])
        .status;
    assert_eq!(status.code(), Some(1));

    let screenshot = artifacts().join("html-report-tampered.png");
    let output = Command::new("node")
        .arg("tests/browser/check_report.mjs")
        .arg(&html)
        .arg(&screenshot)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "browser check failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let page: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(page["console"], Value::Array(vec![]), "console messages");
    assert_eq!(page["page_errors"], Value::Array(vec![]), "page errors");
    assert_eq!(page["requests"], Value::Array(vec![]), "network requests");
    assert!(page["title"].as_str().unwrap().contains("FAIL"));

    // The tampered digest's hours are tampered cells of its chain's timeline.
    let rects = page["rects"].as_array().unwrap();
    let chain_of = |r: &Value| r["chain"].as_str().unwrap().to_owned();
    let tampered_cells: Vec<&Value> = rects.iter().filter(|r| r["status"] == "tampered").collect();
    assert!(!tampered_cells.is_empty(), "no tampered cell: {rects:#?}");
    assert!(
        tampered_cells
            .iter()
            .all(|r| chain_of(r).contains("us-east-1"))
    );
    // Exactly the digest's window, to the second.
    assert!(
        tampered_cells
            .iter()
            .any(|c| c["start"] == window.0.as_str() && c["end"] == window.1.as_str()),
        "the tampered digest's window {window:?} is not a tampered cell: {tampered_cells:#?}"
    );
    assert!(rects.iter().any(|r| r["status"] == "verified"));
    assert!(
        rects.iter().any(|r| r["status"] == "not_covered"),
        "the validation gap"
    );

    let png = std::fs::read(&screenshot).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000);
    eprintln!("screenshot: {}", screenshot.display());
}
