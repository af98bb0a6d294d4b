//! The human report: one miette diagnostic per finding (what, where,
//! expected vs actual, what to do), then a summary per chain.

use super::{DigestCounts, LogCounts, Report};
use crate::finding::{Finding, Severity};
use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme};
use std::fmt::{self, Write as _};

/// How to draw the report.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// ANSI colours.
    pub color: bool,
    /// Line width for wrapping.
    pub width: usize,
}

impl Default for Style {
    fn default() -> Self {
        Style {
            color: false,
            width: 100,
        }
    }
}

/// A finding seen as a miette diagnostic (with its excerpt of the evidence,
/// when it has one, as labelled source).
struct FindingDiagnostic<'a>(&'a Finding, Option<miette::NamedSource<String>>);

impl<'a> FindingDiagnostic<'a> {
    fn new(finding: &'a Finding) -> Self {
        let source = finding
            .excerpt
            .as_deref()
            .map(|e| miette::NamedSource::new(&e.name, e.text.clone()));
        FindingDiagnostic(finding, source)
    }
}

impl fmt::Debug for FindingDiagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for FindingDiagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let finding = self.0;
        write!(f, "{}", safe(&finding.message))?;
        write!(f, "\n  object:   {}", safe(&finding.object))?;
        match &finding.path {
            Some(path) => write!(f, "\n  file:     {}", safe_path(path))?,
            None => write!(f, "\n  file:     (not in any mirror root)")?,
        }
        if let Some(expected) = finding.expected_shown() {
            write!(f, "\n  expected: {}", safe(&expected))?;
        }
        if let Some(actual) = finding.actual_shown() {
            write!(f, "\n  found:    {}", safe(&actual))?;
        }
        Ok(())
    }
}

impl std::error::Error for FindingDiagnostic<'_> {}

impl Diagnostic for FindingDiagnostic<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.0.code.as_str()))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.0.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(safe(&self.0.help)))
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.1.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        let excerpt = self.0.excerpt.as_deref()?;
        Some(Box::new(excerpt.marks.iter().map(|m| {
            miette::LabeledSpan::new(Some(m.label.clone()), m.span.start, m.span.len())
        })))
    }
}

/// The digest and log lines of one chain (or of what is outside every chain).
fn write_counts(out: &mut String, d: &DigestCounts, l: &LogCounts) {
    let _ = writeln!(
        out,
        "  digests  {}/{} valid, {} invalid, {} unverified, {} missing",
        d.valid, d.total, d.invalid, d.unverified, d.missing
    );
    let _ = writeln!(
        out,
        "  logs     {}/{} valid, {} invalid, {} unverified, {} unreadable; {} unreferenced, {} in no digest's time",
        l.valid, l.listed, l.invalid, l.unverified, l.unreadable, l.unreferenced, l.not_covered
    );
}

/// Evidence text (names chosen by whoever wrote the files) with every
/// terminal control character spelt out: a name can never clear the
/// screen, move the cursor or print a forged verdict line.
fn safe(text: &str) -> std::borrow::Cow<'_, str> {
    crate::text::escape_control(text)
}

/// A path as text: bytes that are not UTF-8 as `\xNN`, control characters escaped.
fn safe_path(path: &std::path::Path) -> String {
    crate::text::escape_control(&crate::mirror::escape_path(path)).into_owned()
}

/// Renders the whole human report.
#[must_use]
pub fn render(report: &Report, style: Style) -> String {
    let theme = if style.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    // S3 URLs and paths must survive copy and paste: never wrap inside them.
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(style.width)
        .with_wrap_lines(false)
        .with_links(false)
        .with_urls(false);
    let mut out = String::new();
    for finding in &report.findings {
        // Rendering into a String cannot fail.
        let _ = handler.render_report(&mut out, &FindingDiagnostic::new(finding));
        out.push('\n');
    }
    render_summary(report, &mut out);
    out
}

/// One chain's lines of the summary.
fn write_chain(out: &mut String, chain: &super::ChainReport) {
    let time = |t: Option<jiff::Timestamp>| t.map_or_else(|| "?".to_owned(), |t| t.to_string());
    let _ = writeln!(out, "chain {}", safe(&chain.id));
    let _ = writeln!(
        out,
        "  covers   {} to {}{}",
        time(chain.start_time),
        time(chain.end_time),
        if chain.gaps > 0 {
            format!(" ({} gap(s) no digest covers)", chain.gaps)
        } else {
            String::new()
        }
    );
    write_counts(out, &chain.digests, &chain.logs);
    if let Some(part) = &chain.trusted {
        let _ = writeln!(
            out,
            "  trusted  up to {} ({}): verified on {} by the run whose JSON report has SHA-256 {}; {} log file(s) not hashed again (--incremental, checkpoint SHA-256 {})",
            part.until,
            safe(&part.head),
            part.verified_on,
            part.report_sha256.as_deref().unwrap_or("(none written)"),
            chain.logs.trusted,
            part.checkpoint_sha256
        );
    }
}

fn render_summary(report: &Report, out: &mut String) {
    let s = &report.summary;
    let _ = writeln!(
        out,
        "trailproof {} — {}",
        report.tool.version,
        report.headline()
    );
    for mirror in &report.inputs.mirrors {
        let _ = writeln!(
            out,
            "mirror   {} = s3://{}/{}",
            safe(&mirror.path),
            safe(mirror.bucket.as_deref().unwrap_or("?")),
            safe(&mirror.prefix)
        );
    }
    if let Some(selection) = &report.inputs.selection {
        let _ = writeln!(out, "selected {}", safe(&selection.to_string()));
    }
    for checkpoint in &report.inputs.checkpoints {
        let _ = writeln!(
            out,
            "checkpoint {} (written {}, {} chain(s)) SHA-256 {}",
            safe(&checkpoint.path),
            checkpoint.created_at,
            checkpoint.chains,
            checkpoint.sha256
        );
    }
    let _ = writeln!(out);
    for chain in &report.chains {
        write_chain(out, chain);
    }
    let outside = &s.outside_chains;
    if outside.digests != DigestCounts::default() || outside.logs != LogCounts::default() {
        let _ = writeln!(out, "outside every chain");
        write_counts(out, &outside.digests, &outside.logs);
    }
    let d = &s.digests;
    let l = &s.logs;
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "total    {} chain(s); digests {}/{} valid; logs {}/{} valid ({} MB uncompressed); {} unreferenced, {} in no digest's time",
        report.chains.len(),
        d.valid,
        d.total,
        l.valid,
        l.listed,
        l.uncompressed_bytes / 1_000_000,
        l.unreferenced,
        l.not_covered
    );
    let _ = writeln!(
        out,
        "findings {} error(s), {} warning(s)",
        s.findings.errors, s.findings.warnings
    );
}
