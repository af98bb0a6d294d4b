//! The report of `trailproof verify-query-results`: JSON (stable, for
//! machines) and human text (for a case file).

use super::{FileStatus, QueryCheck, ResultFile, SignFile, SignatureStatus};
use crate::finding::{Finding, Severity};
use crate::keys::KeyFileSummary;
use crate::report::{FailOn, Gate, Run, Tool, Verdict};
use std::io::{self, Write};

/// The `format` of the JSON report.
pub const FORMAT: &str = "trailproof-query-report/1";

/// Counts of an export's files and findings.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
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
#[derive(Debug, Clone, serde::Serialize)]
pub struct QueryReport {
    /// Always [`FORMAT`].
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
                    esc(&sign.path.to_string_lossy()),
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
        let signature = match self.signature {
            SignatureStatus::Valid => "valid",
            SignatureStatus::KeyNotValid => "verifies, but the key was not valid at the time",
            SignatureStatus::Invalid => "INVALID",
            SignatureStatus::NotChecked => "not checked",
        };
        writeln!(out, "Signature: {signature}")?;
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
