//! Reports written while the run goes, so that no report holds the whole
//! archive in memory.
//!
//! The evidence manifest (every file read) and the JUnit cases (one per
//! file) grow with the archive; they are written partition by partition as the
//! files are checked. The JSON report therefore begins with what is known
//! before any log file is read (schema, tool, inputs), then the manifest,
//! then what is known at the end (run, verdict, gate, summary, chains,
//! findings). The HTML report gets the manifest's first rows and the
//! SHA-256 of the manifest file and of the JSON report, computed as they
//! are written. The other formats are rendered at the end from the
//! [`Report`], which holds no per-file data.

use super::manifest::{Manifest, ManifestEntry};
use super::{Report, ReportFormat};
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use std::io::{self, Write};

/// The start of the JSON report's object.
const OPEN_OBJECT: &[u8] = b"\x7b\n";

/// How many manifest entries are rendered at a time.
const RENDER_PIECE: usize = 4096;

/// How many manifest rows the HTML report shows.
pub const HTML_MANIFEST_ROWS: usize = 5000;

/// One output and the error that stopped it, if any.
struct Output<'w> {
    format: ReportFormat,
    out: &'w mut (dyn Write + Send),
    error: Option<io::Error>,
}

/// What the HTML report needs of the streamed parts.
#[derive(Debug, Default)]
pub struct Streamed {
    /// The manifest's first entries.
    pub manifest_rows: Vec<ManifestEntry>,
    /// How many entries the manifest has.
    pub manifest_total: usize,
    /// SHA-256 (hex) of the manifest in `sha256sum` format.
    pub manifest_sha256: String,
    /// SHA-256 (hex) of the JSON report.
    pub json_sha256: String,
}

/// The reports of a run, being written.
pub struct ReportStream<'w> {
    outputs: Vec<Output<'w>>,
    json: Sha256,
    sums: Sha256,
    rows: Vec<ManifestEntry>,
    total: usize,
    junit: super::junit::Stream,
}

/// What the JSON report begins with: everything known before log files
/// are read.
#[derive(Serialize)]
pub struct Head<'a> {
    /// [`super::SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The tool.
    pub tool: &'a super::Tool,
    /// When the run started.
    pub generated_at: jiff::Timestamp,
    /// What was verified.
    pub inputs: &'a super::Inputs,
}

impl<'w> ReportStream<'w> {
    /// Reports in `outputs` (format, where to); none is written yet.
    #[must_use]
    pub fn new(outputs: Vec<(ReportFormat, &'w mut (dyn Write + Send))>) -> Self {
        ReportStream {
            outputs: outputs
                .into_iter()
                .map(|(format, out)| Output {
                    format,
                    out,
                    error: None,
                })
                .collect(),
            json: Sha256::new(),
            sums: Sha256::new(),
            rows: Vec::new(),
            total: 0,
            junit: super::junit::Stream,
        }
    }

    /// Writes `bytes` to every output of `format` (and to `hash`).
    fn emit(&mut self, format: ReportFormat, bytes: &[u8]) {
        for output in self
            .outputs
            .iter_mut()
            .filter(|o| o.format == format && o.error.is_none())
        {
            if let Err(e) = output.out.write_all(bytes) {
                output.error = Some(e);
            }
        }
    }

    fn emit_json(&mut self, bytes: &[u8]) {
        self.json.update(bytes);
        self.emit(ReportFormat::Json, bytes);
    }

    fn emit_sums(&mut self, bytes: &[u8]) {
        self.sums.update(bytes);
        self.emit(ReportFormat::Manifest, bytes);
    }

    /// Starts every streamed report.
    pub fn begin(&mut self, head: &Head<'_>) {
        let json = json_head(head);
        self.emit_json(&json);
        let mut sums = Vec::new();
        super::manifest::write_sha256sum_header(&mut sums);
        self.emit_sums(&sums);
        let header = self.junit.header(head.tool);
        self.emit(ReportFormat::Junit, &header);
    }

    /// Whether some output holds the manifest (JSON, `sha256sum`, HTML).
    #[must_use]
    pub fn wants_manifest(&self) -> bool {
        self.outputs.iter().any(|o| {
            matches!(
                o.format,
                ReportFormat::Json | ReportFormat::Manifest | ReportFormat::Html
            )
        })
    }

    /// Whether some output is JUnit.
    #[must_use]
    pub fn wants_junit(&self) -> bool {
        self.outputs.iter().any(|o| o.format == ReportFormat::Junit)
    }

    /// Adds files read to the manifest (in `manifest`'s order) and empties it.
    pub fn manifest(&mut self, manifest: &mut Manifest) {
        if !self.wants_manifest() {
            manifest.clear();
            return;
        }
        // In pieces, so that the digests' entries (one per digest and
        // sidecar) never sit rendered all at once.
        while !manifest.is_empty() {
            let rendered = manifest.render_first(RENDER_PIECE, self.rows_wanted(), false);
            self.rendered(rendered);
        }
    }

    /// How many more spelt-out rows the HTML report can take.
    #[must_use]
    pub fn rows_wanted(&self) -> usize {
        HTML_MANIFEST_ROWS.saturating_sub(self.rows.len())
    }

    /// Adds manifest entries rendered elsewhere (in parallel, by a partition).
    pub fn rendered(&mut self, rendered: super::manifest::Rendered) {
        let mut json = rendered.json;
        if self.total == 0 && json.first() == Some(&b',') {
            json.remove(0);
        }
        self.emit_json(&json);
        self.emit_sums(&rendered.sums);
        let room = self.rows_wanted();
        self.rows.extend(rendered.rows.into_iter().take(room));
        self.total += rendered.count;
    }

    /// Adds JUnit test cases for the objects of one partition.
    pub fn junit(&mut self, cases: &super::junit::Cases<'_>) {
        if !self.wants_junit() {
            return;
        }
        let xml = self.junit.suites(cases);
        self.emit(ReportFormat::Junit, &xml);
    }

    /// Finishes every report from the run's end state; the errors of the
    /// outputs that failed, by index in the order given to [`Self::new`].
    pub fn finish(mut self, report: &Report, last_cases: &super::junit::Cases<'_>) -> Finished {
        let json = json_tail(report, self.total);
        self.emit_json(&json);
        let xml = self.junit.finish(last_cases);
        self.emit(ReportFormat::Junit, &xml);
        let streamed = Streamed {
            manifest_rows: std::mem::take(&mut self.rows),
            manifest_total: self.total,
            manifest_sha256: hex::encode(std::mem::take(&mut self.sums).finalize()),
            json_sha256: hex::encode(std::mem::take(&mut self.json).finalize()),
        };
        for output in self.outputs.iter_mut().filter(|o| o.error.is_none()) {
            let result = match output.format {
                ReportFormat::Json | ReportFormat::Manifest | ReportFormat::Junit => Ok(()),
                ReportFormat::Html => super::html::write(report, &streamed, output.out),
                other => report.write(other, output.out),
            };
            if let Err(e) = result.and_then(|()| output.out.flush()) {
                output.error = Some(e);
            }
        }
        let json_written = self
            .outputs
            .iter()
            .any(|o| o.format == ReportFormat::Json && o.error.is_none());
        Finished {
            json_sha256: json_written.then_some(streamed.json_sha256),
            errors: self
                .outputs
                .into_iter()
                .enumerate()
                .filter_map(|(i, o)| o.error.map(|e| (i, e)))
                .collect(),
        }
    }
}

/// What finishing the reports came to.
#[derive(Debug)]
pub struct Finished {
    /// The outputs that failed: their index and the error.
    pub errors: Vec<(usize, io::Error)>,
    /// SHA-256 (hex) of the JSON report, when one was written in full.
    pub json_sha256: Option<String>,
}

/// The JSON report up to its manifest's first entry.
pub(crate) fn json_head(head: &Head<'_>) -> Vec<u8> {
    let mut json = OPEN_OBJECT.to_vec();
    field(&mut json, "schema_version", &head.schema_version);
    field(&mut json, "tool", head.tool);
    field(&mut json, "generated_at", &head.generated_at);
    field(&mut json, "inputs", head.inputs);
    json.extend_from_slice(b"  \"manifest\": [");
    json
}

/// The JSON report from the end of its manifest (of `entries` entries).
pub(crate) fn json_tail(report: &Report, entries: usize) -> Vec<u8> {
    let mut json = if entries == 0 {
        b"]".to_vec()
    } else {
        b"\n  ]".to_vec()
    };
    json.extend_from_slice(b",\n");
    field(&mut json, "run", &report.run);
    field(&mut json, "verdict", &report.verdict);
    field(&mut json, "gate", &report.gate);
    field(&mut json, "summary", &report.summary);
    field(&mut json, "chains", &report.chains);
    field(&mut json, "partitions", &report.partitions);
    last_field(&mut json, "findings", &report.findings);
    json.extend_from_slice(b"}\n");
    json
}

/// `  "name": <pretty JSON, indented one level>,\n`.
fn field(out: &mut Vec<u8>, name: &str, value: &impl Serialize) {
    write_field(out, name, value);
    out.extend_from_slice(b",\n");
}

fn last_field(out: &mut Vec<u8>, name: &str, value: &impl Serialize) {
    write_field(out, name, value);
    out.push(b'\n');
}

fn write_field(out: &mut Vec<u8>, name: &str, value: &impl Serialize) {
    let mut text = Vec::new();
    // Serializing the report's own types cannot fail.
    let _ = serde_json::to_writer_pretty(&mut text, value);
    let _ = write!(out, "  \"{name}\": ");
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        if i > 0 {
            out.extend_from_slice(b"\n  ");
        }
        out.extend_from_slice(line);
    }
}
