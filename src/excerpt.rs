//! Excerpts: the bytes of the evidence a finding compares, shown in the
//! human report with the compared values marked (a digest's `logFiles`
//! entry and its `hashValue`, a `previousDigestHashValue`, a key file's
//! validity window).
//!
//! This stage runs after the verdict and changes nothing in it: it reads
//! the named files again (read-only, bounded) and attaches an excerpt only
//! when the bytes still say what the finding says they say, so a file that
//! changed since it was checked is never shown as the evidence.

use crate::finding::{Excerpt, Finding, Locus, Mark};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Findings given an excerpt (the first ones, in report order): excerpts
/// are for reading, and a report with thousands of findings is read from
/// its JSON.
pub(crate) const MAX_EXCERPTS: usize = 50;

/// Inflated digest bytes read for excerpts (a digest with a longer listing
/// is shown without one).
const MAX_DIGEST_TEXT: u64 = 16 << 20;

/// Longest excerpt shown, in bytes of evidence.
const MAX_EXCERPT: usize = 4096;

/// Attaches excerpts to the first [`MAX_EXCERPTS`] findings that have a
/// [`Locus`], reading each digest or key file at most once.
pub(crate) fn attach(findings: &mut [Finding], key_files: &[PathBuf]) {
    let mut texts: HashMap<PathBuf, Option<String>> = HashMap::new();
    let mut read = |path: &Path, digest: bool| -> Option<String> {
        texts
            .entry(path.to_path_buf())
            .or_insert_with(|| {
                if digest {
                    read_digest_text(path)
                } else {
                    read_key_text(path)
                }
            })
            .clone()
    };
    for finding in findings
        .iter_mut()
        .filter(|f| f.locus.is_some())
        .take(MAX_EXCERPTS)
    {
        let Some(locus) = finding.locus.as_deref() else {
            continue;
        };
        let excerpt = match locus {
            Locus::LogEntry { digest, key } => read(digest, true)
                .and_then(|text| log_entry(&text, digest, key, finding.expected.as_deref()?)),
            Locus::PreviousHash { digest } => read(digest, true).and_then(|text| {
                previous_hash(
                    &text,
                    digest,
                    finding.expected.as_deref()?,
                    finding.actual.as_deref()?,
                )
            }),
            Locus::KeyEntry {
                fingerprint,
                signed,
            } => key_files.iter().find_map(|file| {
                read(file, false).and_then(|text| key_entry(&text, file, fingerprint, signed))
            }),
        };
        finding.excerpt = excerpt.map(Box::new);
    }
}

fn read_digest_text(path: &Path) -> Option<String> {
    let bytes = crate::digest::read_inflated(path, MAX_DIGEST_TEXT).ok()?;
    String::from_utf8(bytes).ok()
}

fn read_key_text(path: &Path) -> Option<String> {
    let bytes = crate::keys::read_limited(path).ok()?;
    String::from_utf8(bytes).ok()
}

/// Where a borrowed JSON value lies in the text it was parsed from.
fn span_of(text: &str, value: &RawValue) -> Option<Range<usize>> {
    let start = (value.get().as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
    let end = start + value.get().len();
    (end <= text.len()).then_some(start..end)
}

/// The JSON string `value` holds, when it is one.
fn string_of(value: &RawValue) -> Option<String> {
    serde_json::from_str(value.get()).ok()
}

/// An excerpt of `text[range]` with `marks` (ranges of `text`): one-line
/// JSON is shown one member a line (whitespace only), control characters
/// are escaped (line breaks kept), and the marks move to match.
fn excerpt(
    name: String,
    text: &str,
    range: Range<usize>,
    marks: Vec<(Range<usize>, String)>,
) -> Option<Excerpt> {
    if range.len() > MAX_EXCERPT {
        return None;
    }
    let slice = text.get(range.clone())?;
    let (flowed, moved) = if slice.contains('\n') {
        (slice.to_owned(), (0..=slice.len()).collect())
    } else {
        reflow(slice)
    };
    let mut marks = marks;
    marks.sort_by_key(|(r, _)| r.start);
    let mut shown = String::new();
    let mut out = Vec::new();
    let mut at = 0;
    for (span, label) in marks {
        let start = *moved.get(span.start.checked_sub(range.start)?)?;
        let end = *moved.get(span.end.checked_sub(range.start)?)?;
        if start < at || span.end > range.end {
            return None;
        }
        shown.push_str(&escape_keeping_lines(flowed.get(at..start)?));
        let from = shown.len();
        shown.push_str(&escape_keeping_lines(flowed.get(start..end)?));
        out.push(Mark {
            span: from..shown.len(),
            label: crate::text::escape_control(&label).into_owned(),
        });
        at = end;
    }
    shown.push_str(&escape_keeping_lines(flowed.get(at..)?));
    Some(Excerpt {
        name: crate::text::escape_control(&name).into_owned(),
        text: shown,
        marks: out,
    })
}

/// `s` with control characters escaped, line breaks kept.
fn escape_keeping_lines(s: &str) -> String {
    s.split('\n')
        .map(crate::text::escape_control)
        .collect::<Vec<_>>()
        .join("\n")
}

/// One-line JSON (an object or a run of members) one member a line: a line
/// break after `{` and after each `,` outside strings at depth 0 or 1, and
/// before the `}` that closes depth 1, members at depth 1 indented. Returns
/// the text and where each byte offset of `json` (and its end) moved to.
fn reflow(json: &str) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(json.len() + 64);
    let mut moved = Vec::with_capacity(json.len() + 1);
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, c) in json.char_indices() {
        // A span that ends before the closing brace ends before its line break.
        while moved.len() <= i {
            moved.push(out.len());
        }
        if c == '}' && !in_string && depth == 1 {
            out.push('\n');
        }
        out.push(c);
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' | '[' => {
                depth += 1;
                if c == '{' && depth == 1 {
                    out.push_str("\n  ");
                }
            }
            '}' | ']' => depth = depth.saturating_sub(1),
            ',' if depth <= 1 => out.push_str(if depth == 1 { "\n  " } else { "\n" }),
            _ => {}
        }
    }
    while moved.len() <= json.len() {
        moved.push(out.len());
    }
    (out, moved)
}

/// The excerpt's title (miette adds the line and column in the excerpt).
fn name_of(path: &Path, part: &str) -> String {
    format!("{part} of {}", crate::mirror::escape_path(path))
}

#[derive(Deserialize)]
struct LogList<'a> {
    #[serde(rename = "logFiles", borrow, default)]
    log_files: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct LogEntry<'a> {
    #[serde(rename = "s3Object", borrow)]
    object: Option<&'a RawValue>,
    #[serde(rename = "hashValue", borrow)]
    hash: Option<&'a RawValue>,
}

/// The digest's `logFiles` entry for `key`, its `hashValue` marked.
fn log_entry(text: &str, digest: &Path, key: &str, expected: &str) -> Option<Excerpt> {
    let list: LogList<'_> = serde_json::from_str(text).ok()?;
    list.log_files.iter().find_map(|raw| {
        let entry: LogEntry<'_> = serde_json::from_str(raw.get()).ok()?;
        let (object, hash) = (entry.object?, entry.hash?);
        if string_of(object)? != key || !string_of(hash)?.eq_ignore_ascii_case(expected) {
            return None;
        }
        // Offsets into `raw` are offsets into `text`: `raw` borrows from it.
        let hash_span = span_of(text, hash)?;
        let object_span = span_of(text, object)?;
        excerpt(
            name_of(
                digest,
                "logFiles entry (one member a line) in the inflated digest",
            ),
            text,
            span_of(text, raw)?,
            vec![
                (object_span, "the log file this entry lists".to_owned()),
                (
                    hash_span,
                    format!("recorded {}", crate::finding::UNCOMPRESSED_SHA256),
                ),
            ],
        )
    })
}

#[derive(Deserialize)]
struct Previous<'a> {
    #[serde(rename = "previousDigestS3Object", borrow)]
    object: Option<&'a RawValue>,
    #[serde(rename = "previousDigestHashValue", borrow)]
    hash: Option<&'a RawValue>,
}

/// The digest's `previousDigestS3Object` and `previousDigestHashValue`.
fn previous_hash(text: &str, digest: &Path, expected: &str, actual: &str) -> Option<Excerpt> {
    let previous: Previous<'_> = serde_json::from_str(text).ok()?;
    let hash = previous.hash?;
    if !string_of(hash)?.eq_ignore_ascii_case(expected) {
        return None;
    }
    let hash_span = span_of(text, hash)?;
    let mut marks = vec![(
        hash_span.clone(),
        format!("recorded hash of the previous digest; its file's is {actual}"),
    )];
    let mut start = text
        .get(..hash_span.start)?
        .rfind("\"previousDigestHashValue\"")?;
    if let Some(object) = previous.object
        && let Some(span) = span_of(text, object)
        && span.end <= start
        && let Some(key) = text.get(..span.start)?.rfind("\"previousDigestS3Object\"")
    {
        marks.push((span, "the previous digest this one links to".to_owned()));
        start = key;
    }
    excerpt(
        name_of(
            digest,
            "link to the previous digest (one member a line) in the inflated digest",
        ),
        text,
        start..hash_span.end,
        marks,
    )
}

#[derive(Deserialize)]
struct KeyList<'a> {
    #[serde(rename = "PublicKeyList", borrow)]
    keys: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct KeyEntry<'a> {
    #[serde(rename = "Fingerprint", borrow)]
    fingerprint: Option<&'a RawValue>,
    #[serde(rename = "ValidityStartTime", borrow)]
    start: Option<&'a RawValue>,
    #[serde(rename = "ValidityEndTime", borrow)]
    end: Option<&'a RawValue>,
}

/// The key-file entry with `fingerprint`, its validity window marked.
fn key_entry(text: &str, file: &Path, fingerprint: &str, signed: &str) -> Option<Excerpt> {
    let list: KeyList<'_> = serde_json::from_str(text).ok()?;
    list.keys.iter().find_map(|raw| {
        let entry: KeyEntry<'_> = serde_json::from_str(raw.get()).ok()?;
        if !string_of(entry.fingerprint?)?.eq_ignore_ascii_case(fingerprint) {
            return None;
        }
        let (start, end) = (entry.start?, entry.end?);
        let time = |v: &RawValue| crate::keys::validity_time(v.get()).map(|t| t.to_string());
        excerpt(
            name_of(file, "public key entry in the key file"),
            text,
            span_of(text, raw)?,
            vec![
                (
                    span_of(text, start)?,
                    format!("valid from {}", time(start)?),
                ),
                (
                    span_of(text, end)?,
                    format!(
                        "valid until {}; the digest needs a key valid at {signed}",
                        time(end)?
                    ),
                ),
            ],
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = r#"{"digestS3Object":"d","previousDigestS3Bucket":"b","previousDigestS3Object":"AWSLogs/1/CloudTrail-Digest/p.json.gz","previousDigestHashValue":"aa11","logFiles":[{"s3Bucket":"b","s3Object":"AWSLogs/x.json.gz","hashValue":"BB22","hashAlgorithm":"SHA-256"},{"s3Bucket":"b","s3Object":"AWSLogs/y\u001b.json.gz","hashValue":"cc33"}]}"#;

    fn marked(e: &Excerpt) -> Vec<&str> {
        e.marks.iter().map(|m| &e.text[m.span.clone()]).collect()
    }

    #[test]
    fn log_entry_marks_the_listed_key_and_its_hash() {
        let e = log_entry(
            DIGEST,
            Path::new("/m/d.json.gz"),
            "AWSLogs/x.json.gz",
            "bb22",
        )
        .unwrap();
        assert_eq!(
            e.text,
            "{\n  \"s3Bucket\":\"b\",\n  \"s3Object\":\"AWSLogs/x.json.gz\",\n  \"hashValue\":\"BB22\",\n  \"hashAlgorithm\":\"SHA-256\"\n}"
        );
        assert_eq!(marked(&e), [r#""AWSLogs/x.json.gz""#, r#""BB22""#]);
        assert!(e.marks[1].label.contains("uncompressed"));
        assert_eq!(
            e.name,
            "logFiles entry (one member a line) in the inflated digest of /m/d.json.gz"
        );
    }

    #[test]
    fn log_entry_is_not_shown_when_the_bytes_say_otherwise() {
        // The recorded hash must be the one the finding compared.
        assert!(log_entry(DIGEST, Path::new("d"), "AWSLogs/x.json.gz", "bb23").is_none());
        assert!(log_entry(DIGEST, Path::new("d"), "AWSLogs/z.json.gz", "bb22").is_none());
        assert!(log_entry("not json", Path::new("d"), "AWSLogs/x.json.gz", "bb22").is_none());
    }

    #[test]
    fn escaped_names_keep_the_marks_in_place() {
        let e = log_entry(DIGEST, Path::new("d"), "AWSLogs/y\u{1b}.json.gz", "cc33").unwrap();
        // JSON writes the escape as \u001b: the raw text holds no control byte.
        assert_eq!(marked(&e), [r#""AWSLogs/y\u001b.json.gz""#, r#""cc33""#]);
        let marks = excerpt(
            "n\u{1b}".into(),
            "a\u{1b}bc",
            0..4,
            vec![(2..3, "b".into()), (3..4, "c\u{7}".into())],
        )
        .unwrap();
        assert_eq!(marks.text, "a\\u{1b}bc");
        assert_eq!(marked(&marks), ["b", "c"]);
        assert_eq!(marks.marks[1].label, "c\\u{7}");
        assert_eq!(marks.name, "n\\u{1b}");
    }

    #[test]
    fn previous_hash_shows_the_link() {
        let e = previous_hash(DIGEST, Path::new("d"), "AA11", "ff").unwrap();
        assert_eq!(
            e.text,
            "\"previousDigestS3Object\":\"AWSLogs/1/CloudTrail-Digest/p.json.gz\",\n\"previousDigestHashValue\":\"aa11\""
        );
        assert_eq!(
            marked(&e),
            [r#""AWSLogs/1/CloudTrail-Digest/p.json.gz""#, r#""aa11""#]
        );
        assert!(e.marks[1].label.ends_with("its file's is ff"));
        assert!(previous_hash(DIGEST, Path::new("d"), "aa12", "ff").is_none());
    }

    #[test]
    fn key_entry_marks_the_window() {
        let keys = "{\n    \"PublicKeyList\": [\n        {\n            \"Value\": \"AA==\",\n            \"ValidityStartTime\": 1767225600.0,\n            \"ValidityEndTime\": 1767229200,\n            \"Fingerprint\": \"ABCD\"\n        }\n    ]\n}\n";
        let e = key_entry(keys, Path::new("k.json"), "abcd", "2026-03-01T00:00:00Z").unwrap();
        assert!(e.text.starts_with('{') && e.text.ends_with('}'));
        assert_eq!(marked(&e), ["1767225600.0", "1767229200"]);
        assert_eq!(e.marks[0].label, "valid from 2026-01-01T00:00:00Z");
        assert_eq!(
            e.marks[1].label,
            "valid until 2026-01-01T01:00:00Z; the digest needs a key valid at 2026-03-01T00:00:00Z"
        );
        assert!(key_entry(keys, Path::new("k.json"), "abce", "t").is_none());
    }

    #[test]
    fn reflow_breaks_only_between_members() {
        let (text, moved) = reflow(r#"{"a":"x,}{\"","b":[1,{"c":2}],"d":{}}"#);
        assert_eq!(
            text,
            "{\n  \"a\":\"x,}{\\\"\",\n  \"b\":[1,{\"c\":2}],\n  \"d\":{}\n}"
        );
        assert_eq!(moved.len(), 38);
        assert_eq!(&text[moved[1]..moved[4]], "\"a\"");
        assert_eq!(moved[37], text.len());
    }

    #[test]
    fn overlong_or_crossing_marks_give_no_excerpt() {
        assert!(excerpt("n".into(), "abc", 1..3, vec![(0..1, "x".into())]).is_none());
        let long = "x".repeat(MAX_EXCERPT + 1);
        assert!(excerpt("n".into(), &long, 0..long.len(), vec![]).is_none());
    }
}
