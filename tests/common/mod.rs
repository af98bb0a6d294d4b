//! Shared helpers for the integration tests: build a mirror with the
//! TEST-ONLY generator, run the real `trailproof` binary on it, read its JSON
//! (every JSON report read is validated against the committed schema:
//! [`report_json`]).
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use tempfile::TempDir;
use trailproof_testgen::{DigestEntry, Mirror, MirrorBuilder, TrailSpec};

/// A generated mirror in its own temporary directory.
pub struct Case {
    pub dir: TempDir,
    pub mirror: Mirror,
}

impl Case {
    /// Builds a mirror from one trail spec.
    pub fn new(spec: TrailSpec) -> Case {
        Case::with_trails(vec![spec])
    }

    /// Builds a mirror from several trail specs (sharing buckets where they name the same one).
    pub fn with_trails(specs: Vec<TrailSpec>) -> Case {
        let dir = tempfile::tempdir().unwrap();
        let mut builder = MirrorBuilder::new(dir.path().join("case"));
        for spec in specs {
            builder = builder.trail(spec);
        }
        let mirror = builder.build();
        Case { dir, mirror }
    }

    /// Every mirror root (the first bucket's, then the others).
    pub fn roots(&self) -> Vec<PathBuf> {
        let mut roots = vec![self.mirror.root.clone()];
        roots.extend(self.mirror.extra_roots.iter().cloned());
        roots
    }

    /// Runs `trailproof verify <roots> --public-keys <keys> --format json` plus `extra` arguments.
    pub fn verify(&self, extra: &[&str]) -> Outcome {
        verify_json(&self.roots(), &self.mirror.public_keys, extra)
    }

    /// The standard (non-backfill) digests of the chain of `region`, oldest first.
    pub fn chain(&self, region: &str) -> Vec<&DigestEntry> {
        self.mirror
            .digests
            .iter()
            .filter(|d| d.region == region && !d.backfill)
            .collect()
    }

    /// `(code, url)` for every log file the digest at `digest_key` lists.
    pub fn logs_of(&self, code: &str, digest_key: &str) -> Vec<(String, String)> {
        let digest = self
            .mirror
            .digests
            .iter()
            .find(|d| d.key == digest_key)
            .unwrap();
        digest
            .log_keys
            .iter()
            .map(|k| f(code, &digest.bucket, k))
            .collect()
    }

    /// `log.not_covered` for every log file the (deleted or unreadable)
    /// digests at `digest_keys` list: no other digest covers their time.
    pub fn not_covered(&self, digest_keys: &[&str]) -> Vec<(String, String)> {
        digest_keys
            .iter()
            .flat_map(|k| self.logs_of("log.not_covered", k))
            .collect()
    }

    /// `log.unverified` findings for every log file the digest at `digest_key` lists.
    pub fn unverified_logs(&self, digest_key: &str) -> Vec<(String, String)> {
        let digest = self
            .mirror
            .digests
            .iter()
            .find(|d| d.key == digest_key)
            .unwrap();
        digest
            .log_keys
            .iter()
            .map(|k| f("log.unverified", &digest.bucket, k))
            .collect()
    }

    /// Runs `trailproof verify <first root> --public-keys <keys> <args>`.
    pub fn run<S: AsRef<std::ffi::OsStr>>(
        &self,
        args: impl IntoIterator<Item = S>,
    ) -> std::process::Output {
        Command::cargo_bin("trailproof")
            .unwrap()
            .arg("verify")
            .arg(&self.mirror.root)
            .arg("--public-keys")
            .arg(&self.mirror.public_keys)
            .args(args)
            .output()
            .unwrap()
    }

    /// The newest digest of the chain of `region`.
    pub fn newest(&self, region: &str) -> &DigestEntry {
        self.chain(region).last().copied().unwrap()
    }
}

/// What one run produced.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub report: Value,
    pub stderr: String,
}

impl Outcome {
    /// Every finding as `(code, object)`, sorted.
    pub fn findings(&self) -> Vec<(String, String)> {
        findings_of(&self.report)
    }

    /// Every error finding as `(code, object)`, sorted.
    pub fn errors(&self) -> Vec<(String, String)> {
        let mut list: Vec<(String, String)> = self.report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["severity"] == "error")
            .map(|f| {
                (
                    f["code"].as_str().unwrap().to_owned(),
                    f["object"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        list.sort();
        list
    }

    /// The message of the one finding with this code and object.
    pub fn message(&self, code: &str, bucket: &str, key: &str) -> &str {
        self.finding(code, &url(bucket, key))["message"]
            .as_str()
            .unwrap()
    }

    /// Asserts the run found exactly one finding, `code` on `s3://bucket/key`,
    /// and returns its message.
    pub fn only_finding(&self, code: &str, bucket: &str, key: &str) -> &str {
        assert_eq!(self.findings(), vec![f(code, bucket, key)]);
        self.report["findings"][0]["message"].as_str().unwrap()
    }

    /// The one finding with this code and object.
    pub fn finding(&self, code: &str, object: &str) -> &Value {
        let matches: Vec<&Value> = self.report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"] == code && f["object"] == object)
            .collect();
        assert_eq!(
            matches.len(),
            1,
            "findings {code} {object}: {:#?}",
            self.report["findings"]
        );
        matches[0]
    }
}

/// Every finding of a JSON report as `(code, object)`, sorted.
pub fn findings_of(report: &Value) -> Vec<(String, String)> {
    let mut list: Vec<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_owned(),
                f["object"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    list.sort();
    list
}

/// Runs `trailproof verify <roots> --public-keys <keys> --format json <extra>`.
pub fn verify_json(roots: &[PathBuf], keys: &Path, extra: &[&str]) -> Outcome {
    let mut args: Vec<String> = vec!["verify".into()];
    args.extend(roots.iter().map(|r| r.display().to_string()));
    args.extend([
        "--public-keys".into(),
        keys.display().to_string(),
        "--format".into(),
        "json".into(),
    ]);
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    run_json(&args)
}

/// Runs the binary with `args`, expecting a JSON report on stdout.
pub fn run_json(args: &[String]) -> Outcome {
    let output = Command::cargo_bin("trailproof")
        .unwrap()
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let report: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {stdout}\nstderr: {stderr}"));
    let report = checked(report);
    Outcome {
        code: output.status.code().unwrap(),
        report,
        stderr,
    }
}

/// The committed JSON Schemas of the documents trailproof prints, by the
/// document's `kind` (a report has none): `(kind, file under schemas/)`.
/// The exit-2 error document (`"kind": "error"`) has no schema yet: add its
/// file here when it gets one.
pub const SCHEMAS: &[(&str, &str)] = &[
    ("report", "trailproof-report.schema.json"),
    ("error", "trailproof-error.schema.json"),
    ("query-report", "trailproof-query-report.schema.json"),
];

/// The kind of a JSON document trailproof printed: its top-level `kind`, or
/// `report` (the report has no top-level `kind`).
pub fn document_kind(doc: &Value) -> &str {
    if doc.get("format").and_then(Value::as_str) == Some("trailproof-query-report/1") {
        return "query-report";
    }
    doc.get("kind").and_then(Value::as_str).unwrap_or("report")
}

/// The committed schema file of `kind` (a path under the crate root).
pub fn schema_path(kind: &str) -> PathBuf {
    let (_, file) = SCHEMAS
        .iter()
        .find(|(k, _)| *k == kind)
        .unwrap_or_else(|| panic!("no schema for JSON documents of kind {kind:?}"));
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schemas")
        .join(file)
}

/// The validator of the committed schema of `kind` (compiled once per test
/// binary), `None` for a kind with no schema yet.
pub fn validator(kind: &str) -> Option<&'static jsonschema::Validator> {
    static VALIDATORS: OnceLock<Vec<(&'static str, jsonschema::Validator)>> = OnceLock::new();
    let validators = VALIDATORS.get_or_init(|| {
        SCHEMAS
            .iter()
            .map(|(kind, _)| {
                let path = schema_path(kind);
                let text = std::fs::read(&path)
                    .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
                let schema: Value = serde_json::from_slice(&text).unwrap();
                let validator = jsonschema::options()
                    .should_validate_formats(true)
                    .build(&schema)
                    .unwrap_or_else(|e| panic!("{} is not a valid schema: {e}", path.display()));
                (*kind, validator)
            })
            .collect()
    });
    validators.iter().find(|(k, _)| *k == kind).map(|(_, v)| v)
}

/// Every way `doc` breaks the committed schema of its kind, as `at PATH:
/// message` lines (empty when it is valid, or of a kind with no schema).
pub fn schema_errors(doc: &Value) -> Vec<String> {
    let Some(validator) = validator(document_kind(doc)) else {
        return Vec::new();
    };
    validator
        .iter_errors(doc)
        .map(|e| format!("at {:?}: {e}", e.instance_path().as_str()))
        .collect()
}

/// `doc` (a JSON document trailproof printed) after validating it against
/// the committed schema of its kind; panics listing every error.
pub fn checked(doc: Value) -> Value {
    let errors = schema_errors(&doc);
    assert!(
        errors.is_empty(),
        "the JSON {} does not match {} (the code and the schema drifted: fix the code, or \
         regenerate the schema with `UPDATE_SCHEMA=1 cargo test --test schema`):\n{}",
        document_kind(&doc),
        schema_path(document_kind(&doc)).display(),
        errors.join("\n")
    );
    doc
}

/// A JSON report (or other JSON document trailproof printed) parsed from
/// `bytes` and validated against the committed schema ([`checked`]).
pub fn report_json(bytes: impl AsRef<[u8]>) -> Value {
    let bytes = bytes.as_ref();
    let doc: Value = serde_json::from_slice(bytes).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(2000)])
        )
    });
    checked(doc)
}

/// `s3://bucket/key`.
pub fn url(bucket: &str, key: &str) -> String {
    format!("s3://{bucket}/{key}")
}

/// `(code, s3://bucket/key)` for expected-finding lists.
pub fn f(code: &str, bucket: &str, key: &str) -> (String, String) {
    (code.to_owned(), url(bucket, key))
}

/// Sorted copy, to compare with [`Outcome::findings`].
pub fn sorted(mut list: Vec<(String, String)>) -> Vec<(String, String)> {
    list.sort();
    list
}

/// A small clean spec with the given seed.
pub fn small(seed: u64) -> TrailSpec {
    TrailSpec::small(seed)
}

/// Snapshot of a directory tree: every entry's relative path, kind, mode,
/// mtime and (for files) content.
pub fn snapshot(root: &Path) -> Vec<(PathBuf, String, u32, i128, Vec<u8>)> {
    use std::os::unix::fs::PermissionsExt as _;
    let mut out = Vec::new();
    for entry in walkdir_sorted(root) {
        let meta = std::fs::symlink_metadata(&entry).unwrap();
        let mtime = meta
            .modified()
            .unwrap()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as i128;
        let kind = format!("{:?}", meta.file_type());
        let content = if meta.is_file() {
            std::fs::read(&entry).unwrap()
        } else {
            Vec::new()
        };
        out.push((
            entry.strip_prefix(root).unwrap().to_path_buf(),
            kind,
            meta.permissions().mode(),
            mtime,
            content,
        ));
    }
    out
}

fn walkdir_sorted(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path.clone());
            }
            out.push(path);
        }
    }
    out.sort();
    out
}

/// Whether a test that needs a tool outside Rust can run; `missing` says
/// what is absent. Under `CI` a missing tool fails the test; elsewhere the
/// test prints `SKIPPED` with how to `install` it, and should return.
pub fn tool_present(test: &str, missing: Option<String>, install: &str) -> bool {
    let Some(reason) = missing else { return true };
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run {test}, but {reason}: {install}"
    );
    eprintln!("SKIPPED {test}: {reason} ({install})");
    false
}

/// The report text without what differs between runs (generated_at, run)
/// and without the merged report's shard list.
pub fn comparable(text: &str) -> String {
    let mut out = Vec::new();
    let mut skip_until: Option<&str> = None;
    for line in text.lines() {
        if let Some(end) = skip_until {
            if line == end {
                skip_until = None;
            }
            continue;
        }
        if line.starts_with("  \"generated_at\": ") {
            continue;
        }
        if line == "  \"run\": {" {
            skip_until = Some("  },");
            continue;
        }
        if line == "    \"shards\": [" {
            skip_until = Some("    ]");
            continue;
        }
        out.push(line);
    }
    out.join("\n").replace(",\n  },", "\n  },")
}
