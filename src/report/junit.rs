//! JUnit XML for CI systems: one test suite per chain, one test case per
//! digest and per log file. Error findings are failures, warnings skip the
//! case (it could not be proven), everything else passes.

use super::Report;
use super::manifest::EvidenceKind;
use crate::finding::{Finding, Severity};
use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};
use std::collections::BTreeMap;
use std::io;

/// Suite of findings that belong to no chain (e.g. unreadable folders).
pub const MIRROR_SUITE: &str = "mirror";

/// Writes the report as JUnit XML.
///
/// # Errors
/// Only when writing to `out` fails.
pub fn write(report: &Report, out: &mut dyn io::Write) -> io::Result<()> {
    build(report).serialize(out).map_err(io::Error::other)
}

/// One test case in the making: its suite, kind and findings.
struct Case<'a> {
    suite: String,
    kind: &'static str,
    path: Option<String>,
    findings: Vec<&'a Finding>,
}

fn build(report: &Report) -> quick_junit::Report {
    // Every object examined, by S3 URL: the files read (from the manifest)
    // and the objects only findings name (missing, unverified, injected…).
    let mut cases: BTreeMap<String, Case<'_>> = BTreeMap::new();
    for entry in report.manifest.iter() {
        let kind = match entry.kind {
            EvidenceKind::Digest => "digest",
            EvidenceKind::Log => "log",
            EvidenceKind::Metadata | EvidenceKind::PublicKey => continue,
        };
        let Some(object) = entry.object else { continue };
        cases.insert(
            object,
            Case {
                suite: entry.chain.unwrap_or_else(|| MIRROR_SUITE.to_owned()),
                kind,
                path: Some(entry.path),
                findings: Vec::new(),
            },
        );
    }
    for finding in &report.findings {
        let case = cases.entry(finding.object.clone()).or_insert_with(|| Case {
            suite: finding
                .chain
                .clone()
                .unwrap_or_else(|| MIRROR_SUITE.to_owned()),
            kind: finding.code.as_str().split('.').next().unwrap_or("mirror"),
            path: finding
                .path
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned()),
            findings: Vec::new(),
        });
        case.findings.push(finding);
    }

    let mut suites: BTreeMap<String, Vec<TestCase>> = report
        .chains
        .iter()
        .map(|c| (c.id.clone(), Vec::new()))
        .collect();
    for (object, case) in cases {
        suites
            .entry(case.suite.clone())
            .or_default()
            .push(test_case(object, &case));
    }
    let mut junit = quick_junit::Report::new(format!(
        "{} {} verify",
        report.tool.name, report.tool.version
    ));
    for (name, cases) in suites {
        let mut suite = TestSuite::new(name);
        suite.add_test_cases(cases);
        junit.add_test_suite(suite);
    }
    junit
}

fn test_case(object: String, case: &Case<'_>) -> TestCase {
    let errors: Vec<&&Finding> = case
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .collect();
    let status = if let Some(first) = errors.first() {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        status
            .set_type(first.code.as_str())
            .set_message(first.message.clone())
            .set_description(describe(&errors));
        status
    } else if let Some(first) = case.findings.first() {
        let mut status = TestCaseStatus::skipped();
        status
            .set_type(first.code.as_str())
            .set_message(first.message.clone());
        status
    } else {
        TestCaseStatus::success()
    };
    let mut test = TestCase::new(object, status);
    test.set_classname(format!("{}.{}", case.suite, case.kind));
    if let Some(path) = &case.path {
        test.set_system_out(format!("local path: {path}"));
    }
    test
}

/// Every error finding of one object, with expected, found and what to do.
fn describe(findings: &[&&Finding]) -> String {
    findings
        .iter()
        .map(|f| {
            let mut text = format!("{}: {}", f.code, f.message);
            if let (Some(expected), Some(actual)) = (f.expected_shown(), f.actual_shown()) {
                text.push_str(&format!("\nexpected: {expected}\nfound:    {actual}"));
            }
            text.push_str(&format!("\nwhat to do: {}", f.help));
            text
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}
