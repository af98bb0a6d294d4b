//! The report of `trailproof verify-query-results`: JSON (stable, for
//! machines) and human text (for a case file).

use super::{FileStatus, QueryCheck, ResultFile, SignFile, SignatureStatus};
use crate::finding::{Finding, Severity};
use crate::keys::KeyFileSummary;
use crate::report::{FailOn, Gate, Run, Tool, Verdict};
use std::io::{self, Write};

/// The `format` of the JSON report.
pub const FORMAT: &str = "trailproof-query-report/1";

/// The `$id` of the JSON report's schema (`schemas/trailproof-query-report.schema.json`).
pub const SCHEMA_ID: &str = "urn:trailproof:query-report:format-1";

/// The JSON Schema (draft 2020-12) of the JSON report of `verify-query-results`.
#[must_use]
pub fn json_schema() -> serde_json::Value {
    crate::report::json::root_schema::<QueryReport>(
        SCHEMA_ID,
        "trailproof verify-query-results JSON report",
        "What `trailproof verify-query-results --format json` (or `--report json=FILE`) writes: format trailproof-query-report/1.",
    )
}

/// Counts of an export's files and findings.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct QuerySummary {
    /// Result files the sign file lists.
    pub listed: usize,
    /// Listed files with the listed hash.
    pub valid: usize,
    /// Listed files with another hash.
    pub modified: usize,
    /// Listed files absent.
    pub missing: usize,
    /// Listed files that are links, FIFOs, devices or folders.
    pub not_regular: usize,
    /// Listed names that leave the export folder.
    pub unsafe_names: usize,
    /// Listed files this user cannot read.
    pub unreadable: usize,
    /// Files in the folder the sign file does not list.
    pub unlisted: usize,
    /// Error-severity findings.
    pub errors: usize,
    /// Warning-severity findings.
    pub warnings: usize,
}

/// The report of one export.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct QueryReport {
    /// Always `trailproof-query-report/1`.
    #[schemars(extend("const" = FORMAT))]
    pub format: &'static str,
    /// The tool.
    pub tool: Tool,
    /// The run.
    pub run: Run,
    /// What the evidence shows.
    pub verdict: Verdict,
    /// The verdict under `--fail-on`.
    pub gate: Gate,
    /// The export folder.
    pub export: String,
    /// The key files, with their SHA-256.
    pub public_keys: Vec<KeyFileSummary>,
    /// What the sign file says (absent when it could not be read).
    pub sign_file: Option<SignFile>,
    /// The signature's verdict.
    pub signature: SignatureStatus,
    /// The key file that held the key the signature was checked with.
    pub key_source: Option<String>,
    /// Counts.
    pub summary: QuerySummary,
    /// Every listed result file, in the sign file's order.
    pub files: Vec<ResultFile>,
    /// Files in the folder the sign file does not list.
    pub unlisted: Vec<String>,
    /// Every finding.
    pub findings: Vec<Finding>,
}

impl QueryReport {
    /// The report of `checked`, under `fail_on`.
    #[must_use]
    pub fn new(
        checked: QueryCheck,
        public_keys: Vec<KeyFileSummary>,
        fail_on: FailOn,
        started: jiff::Timestamp,
    ) -> QueryReport {
        let count =
            |status: FileStatus| checked.files.iter().filter(|f| f.status == status).count();
        let errors = checked
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count();
        let summary = QuerySummary {
            listed: checked.files.len(),
            valid: count(FileStatus::Valid),
            modified: count(FileStatus::Modified),
            missing: count(FileStatus::Missing),
            not_regular: count(FileStatus::NotRegular),
            unsafe_names: count(FileStatus::UnsafeName),
            unreadable: count(FileStatus::Unreadable),
            unlisted: checked.unlisted.len(),
            errors,
            warnings: checked.findings.len() - errors,
        };
        let verdict = Verdict::of(&checked.findings);
        QueryReport {
            format: FORMAT,
            tool: Tool::THIS,
            run: Run::this(started),
            verdict,
            gate: Gate::new(verdict, summary.warnings, fail_on),
            export: checked.export.to_string_lossy().into_owned(),
            public_keys,
            sign_file: checked.sign_file,
            signature: checked.signature,
            key_source: checked.key_source,
            summary,
            files: checked.files,
            unlisted: checked.unlisted,
            findings: checked.findings,
        }
    }

    /// The exit status: 0 pass, 1 not intact, 2 incomplete (under `--fail-on`).
    #[must_use]
    pub fn exit_status(&self) -> u8 {
        self.gate.exit_status
    }

    /// The verdict in one line.
    #[must_use]
    pub fn headline(&self) -> String {
        let s = &self.summary;
        match (self.verdict, self.gate.exit_status) {
            (Verdict::Pass, 0) if s.warnings == 0 => {
                "PASS: the query results are intact".to_owned()
            }
            (Verdict::Pass, 0) => format!(
                "PASS: the query results are intact ({} warning(s): files the signature does not cover)",
                s.warnings
            ),
            (Verdict::Pass, _) => format!(
                "FAIL under --fail-on warning: no error, but {} warning(s)",
                s.warnings
            ),
            (Verdict::Fail, 0) => format!(
                "FAIL: the query results are not intact ({} error(s); exit status 0 under --fail-on never)",
                s.errors
            ),
            (Verdict::Fail, _) => format!(
                "FAIL: the query results are not intact ({} error(s))",
                s.errors
            ),
            (Verdict::Incomplete, _) => {
                "INCOMPLETE: part of the export could not be read; nothing is concluded about it"
                    .to_owned()
            }
        }
    }

    /// Writes the JSON report.
    ///
    /// # Errors
    /// When writing fails.
    pub fn write_json(&self, out: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, self).map_err(io::Error::other)?;
        out.write_all(b"\n")
    }

    /// Writes the report as `format`: human, json, sarif, markdown, junit
    /// or manifest (`sha256sum` lines of every file read).
    ///
    /// # Errors
    /// When writing fails, or the format is one this report has not (html).
    pub fn write(
        &self,
        format: crate::report::ReportFormat,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        use crate::report::ReportFormat as F;
        match format {
            F::Json => self.write_json(out),
            F::Human => self.write_human(out),
            F::Sarif => {
                crate::report::sarif::write_findings(&self.tool, &self.run, &self.findings, out)
            }
            F::Markdown => self.write_markdown(out),
            F::Junit => self.write_junit(out),
            F::Manifest => self.write_manifest(out),
            other => Err(io::Error::other(format!(
                "verify-query-results does not write the {} report",
                other.name()
            ))),
        }
    }

    /// Writes a Markdown summary (for a CI job's summary page).
    ///
    /// # Errors
    /// When writing fails.
    pub fn write_markdown(&self, out: &mut dyn Write) -> io::Result<()> {
        let cell = |s: &str| {
            crate::text::escape_control(s)
                .replace('|', "\\|")
                .replace('`', "'")
        };
        writeln!(
            out,
            "## trailproof verify-query-results: {}",
            self.headline()
        )?;
        writeln!(out)?;
        writeln!(
            out,
            "Export `{}`; signature: {}; {} result files listed, {} valid, {} unlisted.",
            cell(&self.export),
            signature_text(self.signature),
            self.summary.listed,
            self.summary.valid,
            self.summary.unlisted
        )?;
        if self.findings.is_empty() {
            return Ok(());
        }
        writeln!(out)?;
        writeln!(out, "| severity | code | object | what | what to do |")?;
        writeln!(out, "|---|---|---|---|---|")?;
        for f in &self.findings {
            writeln!(
                out,
                "| {} | `{}` | `{}` | {} | {} |",
                f.severity,
                f.code,
                cell(&f.object),
                cell(&f.message),
                cell(&f.help)
            )?;
        }
        Ok(())
    }

    /// Writes JUnit XML: one test case for the sign file, one per listed
    /// result file, one per unlisted file; a finding fails its case.
    ///
    /// # Errors
    /// When writing fails.
    pub fn write_junit(&self, out: &mut dyn Write) -> io::Result<()> {
        use crate::report::junit::escape;
        let mut cases: Vec<(String, Vec<&Finding>)> =
            vec![(super::SIGN_FILE.to_owned(), Vec::new())];
        cases.extend(self.files.iter().map(|f| (f.name.clone(), Vec::new())));
        cases.extend(self.unlisted.iter().map(|n| (n.clone(), Vec::new())));
        for f in &self.findings {
            match cases.iter_mut().find(|(name, _)| *name == f.object) {
                Some((_, list)) => list.push(f),
                None => cases.push((f.object.clone(), vec![f])),
            }
        }
        let failures = cases
            .iter()
            .filter(|(_, l)| l.iter().any(|f| f.severity == Severity::Error))
            .count();
        writeln!(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>")?;
        writeln!(
            out,
            "<testsuites name=\"trailproof verify-query-results\" tests=\"{}\" failures=\"{failures}\">",
            cases.len()
        )?;
        writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\">",
            escape(&self.export),
            cases.len()
        )?;
        for (name, findings) in &cases {
            write!(
                out,
                "    <testcase classname=\"query\" name=\"{}\"",
                escape(name)
            )?;
            if findings.is_empty() {
                writeln!(out, "/>")?;
                continue;
            }
            writeln!(out, ">")?;
            for f in findings {
                let tag = if f.severity == Severity::Error {
                    "failure"
                } else {
                    "system-out"
                };
                if tag == "failure" {
                    writeln!(
                        out,
                        "      <failure type=\"{}\" message=\"{}\">{}</failure>",
                        f.code,
                        escape(&f.message),
                        escape(&f.help)
                    )?;
                } else {
                    writeln!(
                        out,
                        "      <system-out>{}: {}</system-out>",
                        f.code,
                        escape(&f.message)
                    )?;
                }
            }
            writeln!(out, "    </testcase>")?;
        }
        writeln!(out, "  </testsuite>")?;
        writeln!(out, "</testsuites>")
    }

    /// Writes `sha256sum` lines for every file read: the sign file, each
    /// listed result file read, and the key files (absolute paths).
    ///
    /// # Errors
    /// When writing fails.
    pub fn write_manifest(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut header = Vec::new();
        crate::report::manifest::write_sha256sum_header(&mut header);
        out.write_all(&header)?;
        let mut line = |sha256: &str, path: &str| -> io::Result<()> {
            let absolute = std::path::absolute(path)
                .map_or_else(|_| path.to_owned(), |p| p.to_string_lossy().into_owned());
            if absolute.contains(['\\', '\n', '\r']) {
                let escaped = absolute
                    .replace('\\', "\\\\")
                    .replace('\n', "\\n")
                    .replace('\r', "\\r");
                writeln!(out, "\\{sha256}  {escaped}")
            } else {
                writeln!(out, "{sha256}  {absolute}")
            }
        };
        if let Some(sign) = &self.sign_file {
            line(&sign.sha256, &sign.path)?;
        }
        for file in &self.files {
            if let (Some(sha256), Some(path)) = (&file.sha256, &file.path) {
                line(sha256, path)?;
            }
        }
        for key in &self.public_keys {
            line(&hex::encode(key.sha256), &key.path)?;
        }
        Ok(())
    }

    /// Writes the human report (control characters of the evidence escaped).
    ///
    /// # Errors
    /// When writing fails.
    pub fn write_human(&self, out: &mut dyn Write) -> io::Result<()> {
        let esc = |s: &str| crate::text::escape_control(s).into_owned();
        writeln!(out, "{}", self.headline())?;
        writeln!(out)?;
        writeln!(out, "CloudTrail Lake export: {}", esc(&self.export))?;
        match &self.sign_file {
            Some(sign) => {
                writeln!(
                    out,
                    "Sign file: {} (SHA-256 {})",
                    esc(&sign.path),
                    sign.sha256
                )?;
                writeln!(out, "Query completed: {}", sign.query_complete_time)?;
                writeln!(
                    out,
                    "Key fingerprint: {}{}",
                    esc(&sign.public_key_fingerprint),
                    self.key_source
                        .as_deref()
                        .map(|k| format!(" (from {})", esc(k)))
                        .unwrap_or_default()
                )?;
            }
            None => writeln!(out, "Sign file: none could be read")?,
        }
        writeln!(out, "Signature: {}", signature_text(self.signature))?;
        let s = &self.summary;
        writeln!(
            out,
            "Result files: {} listed, {} valid, {} modified, {} missing, {} not regular, {} unsafe names, {} unreadable; {} unlisted",
            s.listed,
            s.valid,
            s.modified,
            s.missing,
            s.not_regular,
            s.unsafe_names,
            s.unreadable,
            s.unlisted
        )?;
        for key in &self.public_keys {
            writeln!(
                out,
                "Key file: {} ({} keys, SHA-256 {})",
                esc(&key.path),
                key.keys,
                hex::encode(key.sha256)
            )?;
        }
        if self.findings.is_empty() {
            return Ok(());
        }
        writeln!(out)?;
        writeln!(out, "Findings:")?;
        for f in &self.findings {
            writeln!(out, "  [{}] {} {}", f.severity, f.code, esc(&f.object))?;
            writeln!(out, "      {}", esc(&f.message))?;
            if let Some(path) = &f.path {
                writeln!(out, "      file: {}", esc(&path.to_string_lossy()))?;
            }
            if let (Some(expected), Some(actual)) = (f.expected_shown(), f.actual_shown()) {
                writeln!(out, "      expected: {}", esc(&expected))?;
                writeln!(out, "      found:    {}", esc(&actual))?;
            }
            writeln!(out, "      what to do: {}", f.help)?;
        }
        Ok(())
    }
}

fn signature_text(status: SignatureStatus) -> &'static str {
    match status {
        SignatureStatus::Valid => "valid",
        SignatureStatus::KeyNotValid => "verifies, but the key was not valid at the time",
        SignatureStatus::Invalid => "INVALID",
        SignatureStatus::NotChecked => "not checked",
    }
}
