//! JUnit XML for CI systems, written while the run goes: for each partition,
//! one test suite per chain with a test case per log file read and per
//! object a finding names; at the end, one suite per chain with its
//! digests, and one (`mirror`) for findings outside every chain. A chain's
//! cases may thus come in several suites of the same name. Error findings
//! are failures, warnings skip the case (it could not be proven),
//! everything else passes.

use crate::finding::{Finding, Severity};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Suite of findings that belong to no chain (e.g. unreadable folders).
pub const MIRROR_SUITE: &str = "mirror";

/// One file read: its object, kind (`digest`, `log`), chain and local path.
#[derive(Debug, Clone)]
pub struct FileCase {
    /// `s3://` URL.
    pub object: String,
    /// `digest` or `log`.
    pub kind: &'static str,
    /// Chain identifier, when known.
    pub chain: Option<String>,
    /// Local path.
    pub path: String,
}

/// The test cases of one batch: the files read and the findings made.
#[derive(Debug, Default)]
pub struct Cases<'a> {
    /// Files read.
    pub files: Vec<FileCase>,
    /// Findings (each on its object's case; an object not read gets a case).
    pub findings: Vec<&'a Finding>,
}

/// The JUnit document being written.
#[derive(Debug, Default)]
pub struct Stream;

impl Stream {
    /// The XML declaration and the opening `<testsuites>`.
    #[must_use]
    pub fn header(&self, tool: &super::Tool) -> Vec<u8> {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"{}\">\n",
            escape(&format!("{} {} verify", tool.name, tool.version))
        )
        .into_bytes()
    }

    /// One suite per chain for a batch of cases.
    #[must_use]
    pub fn suites(&mut self, cases: &Cases<'_>) -> Vec<u8> {
        // Each object once: in its finding's chain when the file itself has none.
        let mut objects: BTreeMap<&str, (Option<&str>, Case<'_>)> = BTreeMap::new();
        for file in &cases.files {
            objects.insert(
                &file.object,
                (
                    file.chain.as_deref(),
                    Case {
                        kind: file.kind,
                        path: Some(Cow::Borrowed(&file.path)),
                        findings: Vec::new(),
                    },
                ),
            );
        }
        for &finding in &cases.findings {
            let (chain, case) = objects.entry(&finding.object).or_insert_with(|| {
                (
                    None,
                    Case {
                        kind: finding.code.as_str().split('.').next().unwrap_or("mirror"),
                        path: finding
                            .path
                            .as_ref()
                            .map(|p| Cow::Owned(crate::mirror::escape_path(p))),
                        findings: Vec::new(),
                    },
                )
            });
            if chain.is_none() {
                *chain = finding.chain.as_deref();
            }
            case.findings.push(finding);
        }
        let mut suites: BTreeMap<&str, BTreeMap<&str, Case<'_>>> = BTreeMap::new();
        for (object, (chain, case)) in objects {
            let suite = chain.unwrap_or(MIRROR_SUITE);
            suites.entry(suite).or_default().insert(object, case);
        }
        let mut xml = String::with_capacity(cases.files.len() * 512);
        for (name, cases) in &suites {
            write_suite(&mut xml, name, cases);
        }
        xml.into_bytes()
    }

    /// The last suites and the closing `</testsuites>`.
    #[must_use]
    pub fn finish(&mut self, cases: &Cases<'_>) -> Vec<u8> {
        let mut xml = self.suites(cases);
        xml.extend_from_slice(b"</testsuites>\n");
        xml
    }
}

/// One test case in the making.
struct Case<'a> {
    kind: &'static str,
    path: Option<Cow<'a, str>>,
    findings: Vec<&'a Finding>,
}

fn write_suite(xml: &mut String, name: &str, cases: &BTreeMap<&str, Case<'_>>) {
    let failures = cases
        .values()
        .filter(|c| c.findings.iter().any(|f| f.severity == Severity::Error))
        .count();
    let skipped = cases
        .values()
        .filter(|c| {
            !c.findings.is_empty() && c.findings.iter().all(|f| f.severity != Severity::Error)
        })
        .count();
    let _ = writeln!(
        xml,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">",
        escape(name),
        cases.len()
    );
    for (object, case) in cases {
        write_case(xml, name, object, case);
    }
    xml.push_str("  </testsuite>\n");
}

fn write_case(xml: &mut String, suite: &str, object: &str, case: &Case<'_>) {
    xml.push_str("    <testcase name=\"");
    escape_into(xml, object);
    xml.push_str("\" classname=\"");
    escape_into(xml, suite);
    xml.push('.');
    escape_into(xml, case.kind);
    xml.push_str("\">");
    let errors: Vec<&Finding> = case
        .findings
        .iter()
        .copied()
        .filter(|f| f.severity == Severity::Error)
        .collect();
    if let Some(first) = errors.first() {
        let _ = write!(
            xml,
            "<failure type=\"{}\" message=\"{}\">{}</failure>",
            escape(first.code.as_str()),
            escape(&first.message),
            escape(&describe(&errors))
        );
    } else if let Some(first) = case.findings.first() {
        let _ = write!(
            xml,
            "<skipped type=\"{}\" message=\"{}\"/>",
            escape(first.code.as_str()),
            escape(&first.message)
        );
    }
    if let Some(path) = &case.path {
        xml.push_str("<system-out>local path: ");
        escape_into(xml, path);
        xml.push_str("</system-out>");
    }
    xml.push_str("</testcase>\n");
}

/// Every error finding of one object, with expected, found and what to do.
fn describe(findings: &[&Finding]) -> String {
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

/// Text for XML attributes and content: markup characters escaped, and
/// characters XML 1.0 cannot hold (control characters but tab, newline and
/// carriage return) left out.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_into(&mut out, text);
    out
}

/// [`escape`], appended to `out`.
fn escape_into(out: &mut String, text: &str) {
    // Most text (S3 keys, paths) is printable ASCII without markup.
    if text
        .bytes()
        .all(|b| (0x20..0x7f).contains(&b) && !matches!(b, b'&' | b'<' | b'>' | b'"' | b'\''))
    {
        out.push_str(text);
        return;
    }
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() || matches!(c, '\u{fffe}' | '\u{ffff}') => {}
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escape_keeps_plain_text_and_escapes_markup_and_drops_what_xml_cannot_hold() {
        let key = "s3://bucket/AWSLogs/1/CloudTrail/eu-west-1/2026/03/23/x.json.gz";
        assert_eq!(escape(key), key);
        assert_eq!(escape("a&b<c>d\"e'f"), "a&amp;b&lt;c&gt;d&quot;e&apos;f");
        for markup in ["&", "<", ">", "\"", "'"] {
            assert_ne!(escape(markup), markup, "{markup} must be escaped");
        }
        assert_eq!(escape("tab\tnew\nline\rend"), "tab\tnew\nline\rend");
        assert_eq!(
            escape("bell\u{7}del\u{7f}c1\u{85}x\u{fffe}y\u{ffff}"),
            "belldelc1xy"
        );
        assert_eq!(escape("caf\u{e9} \u{1F600}"), "caf\u{e9} \u{1F600}");
        assert_eq!(escape(" ~"), " ~");
    }
}
