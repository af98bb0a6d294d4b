//! A short Markdown summary for tickets and pull requests: the verdict, a
//! table per chain, and the first findings with a count of the rest.

use super::{Report, Verdict};
use std::fmt::Write as _;
use std::io;

/// Findings listed in the summary; the rest are counted.
pub const FIRST_FINDINGS: usize = 20;

/// Writes the Markdown summary.
///
/// # Errors
/// Only when writing to `out` fails.
pub fn write(report: &Report, out: &mut dyn io::Write) -> io::Result<()> {
    out.write_all(render(report).as_bytes())
}

/// The Markdown summary as text.
#[must_use]
pub fn render(report: &Report) -> String {
    let mut md = String::new();
    let s = &report.summary;
    let verdict = match report.verdict {
        Verdict::Pass => "PASS",
        Verdict::Fail => "FAIL",
        Verdict::Incomplete => "INCOMPLETE",
    };
    let _ = writeln!(md, "## trailproof: {}\n", report.headline());
    let _ = writeln!(
        md,
        "**{verdict}**: {} error(s), {} warning(s). {} digest(s) ({} valid, {} invalid, {} unverified, {} missing); {} log file(s) listed ({} valid, {} invalid, {} unverified), {} unreferenced.\n",
        s.findings.errors,
        s.findings.warnings,
        s.digests.total,
        s.digests.valid,
        s.digests.invalid,
        s.digests.unverified,
        s.digests.missing,
        s.logs.listed,
        s.logs.valid,
        s.logs.invalid,
        s.logs.unverified,
        s.logs.unreferenced,
    );
    let _ = writeln!(
        md,
        "{} {}; run {} to {}{}.\n",
        report.tool.name,
        report.tool.version,
        report.run.started_at,
        report.run.finished_at,
        report
            .run
            .host
            .as_deref()
            .map(|h| format!(" on {}", code(h)))
            .unwrap_or_default()
    );
    chain_table(report, &mut md);
    findings_table(report, &mut md);
    md
}

/// One table row per chain.
fn chain_table(report: &Report, md: &mut String) {
    md.push_str("| Chain | From | To | Digests valid | Invalid | Unverified | Missing | Logs valid | Invalid | Unreferenced | Gaps |\n");
    md.push_str("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for c in &report.chains {
        let time = |t: Option<jiff::Timestamp>| t.map(|t| t.to_string()).unwrap_or_default();
        let _ = writeln!(
            md,
            "| {} | {} | {} | {}/{} | {} | {} | {} | {}/{} | {} | {} | {} |",
            code(&c.id),
            time(c.start_time),
            time(c.end_time),
            c.digests.valid,
            c.digests.total,
            c.digests.invalid,
            c.digests.unverified,
            c.digests.missing,
            c.logs.valid,
            c.logs.listed,
            c.logs.invalid,
            c.logs.unreferenced,
            c.gaps
        );
    }
}

/// The first findings, errors first, and a count of the rest.
fn findings_table(report: &Report, md: &mut String) {
    if report.findings.is_empty() {
        md.push_str("\nNo findings.\n");
        return;
    }
    let shown = report.findings.len().min(FIRST_FINDINGS);
    let _ = writeln!(
        md,
        "\n### Findings ({shown} of {}, errors first)\n",
        report.findings.len()
    );
    md.push_str("| Severity | Code | Object | Expected | Found |\n");
    md.push_str("|---|---|---|---|---|\n");
    // Errors first (a hundred warnings must not hide the one error), then
    // the report's order.
    let mut first: Vec<&crate::finding::Finding> = report.findings.iter().collect();
    first.sort_by_key(|f| std::cmp::Reverse(f.severity));
    for f in first.into_iter().take(shown) {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            f.severity,
            code(f.code.as_str()),
            code(&f.object),
            code(&f.expected_shown().unwrap_or_default()),
            code(&f.actual_shown().unwrap_or_default())
        );
    }
    let rest = report.findings.len() - shown;
    if rest > 0 {
        let _ = writeln!(
            md,
            "\n…and {rest} more finding(s): see the JSON or HTML report."
        );
    }
}

/// Text from the evidence as an inline code span, safe inside a table cell:
/// nothing in it can become a link, mention, emphasis, math or HTML. Control
/// characters become U+FFFD, pipes are escaped (GFM splits cells before it
/// parses code spans), and the fence is longer than any backtick run inside.
fn code(text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    // Control and bidi characters spelt out, as in the human report.
    let clean: String = crate::text::escape_control(text).replace('|', "\\|");
    let longest_run = clean.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run + 1);
    // A space inside the fence keeps a leading or trailing backtick apart.
    let pad = if clean.starts_with('`') || clean.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{clean}{pad}{fence}")
}
