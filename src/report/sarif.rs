//! SARIF 2.1.0 for code-scanning dashboards: one rule per finding code (with
//! its help text), one result per finding, located at the file's path.

use super::Report;
use crate::finding::{self, Finding, FindingCode, Severity};
use serde_sarif::sarif::{
    ArtifactLocation, Invocation, Location, Message, MultiformatMessageString, PhysicalLocation,
    PropertyBag, ReportingConfiguration, ReportingDescriptor, Result as SarifResult, ResultLevel,
    Run, Sarif, Tool, ToolComponent,
};
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::io;

/// The `$schema` every SARIF 2.1.0 log names.
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Writes the report as one SARIF 2.1.0 log with one run.
///
/// # Errors
/// Only when writing to `out` fails.
pub fn write(report: &Report, out: &mut dyn io::Write) -> io::Result<()> {
    let sarif = build(report);
    serde_json::to_writer_pretty(&mut *out, &sarif).map_err(io::Error::other)?;
    out.write_all(b"\n")
}

/// Writes one SARIF 2.1.0 log of `findings` (of a run other than `verify`'s,
/// e.g. `verify-query-results`).
///
/// # Errors
/// Only when writing to `out` fails.
pub fn write_findings(
    tool: &super::Tool,
    run: &super::Run,
    findings: &[Finding],
    out: &mut dyn io::Write,
) -> io::Result<()> {
    let sarif = sarif_of(tool, run, findings, None);
    serde_json::to_writer_pretty(&mut *out, &sarif).map_err(io::Error::other)?;
    out.write_all(b"\n")
}

fn build(report: &Report) -> Sarif {
    let trusted: Vec<_> = report
        .chains
        .iter()
        .filter_map(|c| c.trusted.as_ref())
        .collect();
    // The verdict never hides what was taken from earlier audits.
    let properties = (!trusted.is_empty()).then(|| {
        let value = serde_json::to_value(&trusted).unwrap_or_default();
        PropertyBag::builder()
            .additional_properties(BTreeMap::from([(
                "trailproofTrustedFromCheckpoints".to_owned(),
                value,
            )]))
            .build()
    });
    sarif_of(&report.tool, &report.run, &report.findings, properties)
}

fn sarif_of(
    tool: &super::Tool,
    run_of: &super::Run,
    findings: &[Finding],
    properties: Option<PropertyBag>,
) -> Sarif {
    let rules: Vec<ReportingDescriptor> = FindingCode::ALL.iter().map(|&c| rule(c)).collect();
    let driver = ToolComponent::builder()
        .name(tool.name)
        .version(tool.version)
        .semantic_version(tool.version)
        .full_name(format!("{} {}", tool.name, tool.version))
        .rules(rules)
        .build();
    let results: Vec<SarifResult> = findings.iter().map(result).collect();
    let mut invocation = Invocation::builder()
        .execution_successful(true)
        .start_time_utc(run_of.started_at.to_string())
        .end_time_utc(run_of.finished_at.to_string())
        .arguments(run_of.command_line.clone())
        .build();
    invocation.machine.clone_from(&run_of.host);
    invocation.account.clone_from(&run_of.user);
    let mut run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .invocations(vec![invocation])
        .results(results)
        .build();
    run.properties = properties;
    Sarif::builder()
        .schema(SCHEMA_URI)
        .version(serde_json::Value::String("2.1.0".to_owned()))
        .runs(vec![run])
        .build()
}

fn text(s: impl Into<String>) -> MultiformatMessageString {
    MultiformatMessageString::builder().text(s.into()).build()
}

fn level(severity: Severity) -> ResultLevel {
    match severity {
        Severity::Error => ResultLevel::Error,
        Severity::Warning => ResultLevel::Warning,
    }
}

/// One rule per finding code: its summary and what to do.
fn rule(code: FindingCode) -> ReportingDescriptor {
    let mut tags = BTreeMap::new();
    tags.insert(
        "category".to_owned(),
        serde_json::Value::String(
            code.as_str()
                .split('.')
                .next()
                .unwrap_or_default()
                .to_owned(),
        ),
    );
    ReportingDescriptor::builder()
        .id(code.as_str())
        .name(rule_name(code))
        .short_description(text(code.summary()))
        .full_description(text(format!("{}: {}.", code.as_str(), code.summary())))
        .help(text(finding::default_help(code)))
        .default_configuration(
            ReportingConfiguration::builder()
                .level(serde_json::to_value(level(code.severity())).unwrap_or_default())
                .build(),
        )
        .properties(PropertyBag::builder().additional_properties(tags).build())
        .build()
}

/// `log.unsafe_path` → `LogUnsafePath`.
fn rule_name(code: FindingCode) -> String {
    code.as_str()
        .split(['.', '_'])
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn result(finding: &Finding) -> SarifResult {
    let rule_index = FindingCode::ALL
        .iter()
        .position(|&c| c == finding.code)
        .and_then(|i| i64::try_from(i).ok())
        .unwrap_or(0);
    let mut message = finding.message.clone();
    if let (Some(expected), Some(actual)) = (finding.expected_shown(), finding.actual_shown()) {
        message.push_str(&format!(" Expected: {expected}. Found: {actual}."));
    }
    message.push_str(&format!(" What to do: {}", finding.help));
    let mut properties = BTreeMap::new();
    let mut put = |key: &str, value: Option<&str>| {
        if let Some(value) = value {
            properties.insert(key.to_owned(), serde_json::Value::String(value.to_owned()));
        }
    };
    put("object", Some(&finding.object));
    put("expected", finding.expected.as_deref());
    put("actual", finding.actual.as_deref());
    put("compared", finding.compared.as_deref());
    put("chain", finding.chain.as_deref());
    let fingerprint = hex::encode(Sha256::digest(
        format!("{}\n{}", finding.code, finding.object).as_bytes(),
    ));
    SarifResult::builder()
        .rule_id(finding.code.as_str())
        .rule_index(rule_index)
        .level(level(finding.severity))
        .message(Message::builder().text(message).build())
        .locations(vec![location(finding)])
        .partial_fingerprints(BTreeMap::from([(
            "trailproofObject/v1".to_owned(),
            fingerprint,
        )]))
        .properties(
            PropertyBag::builder()
                .additional_properties(properties)
                .build(),
        )
        .build()
}

/// The local file as a `file://` URI when the finding names one, else the
/// S3 object (`s3://bucket/key`, percent-encoded).
fn location(finding: &Finding) -> Location {
    let uri = finding
        .path
        .as_deref()
        .and_then(|p| std::path::absolute(p).ok())
        .and_then(|p| url::Url::from_file_path(p).ok())
        .map(String::from)
        .or_else(|| url::Url::parse(&finding.object).ok().map(String::from))
        .unwrap_or_else(|| finding.object.clone());
    let artifact = ArtifactLocation::builder()
        .uri(uri)
        .description(Message::builder().text(finding.object.clone()).build())
        .build();
    Location::builder()
        .physical_location(
            PhysicalLocation::builder()
                .artifact_location(artifact)
                .build(),
        )
        .build()
}
