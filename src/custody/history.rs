//! What a versioned bucket remembers (`collect --versions`): noncurrent
//! versions and delete markers, used to explain a missing or modified log.

use super::record::{CollectionRecord, DeleteMarker, FileEntry, RecordKind};
use crate::finding::{Finding, FindingCode};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Noncurrent versions and delete markers of one collected root, by key.
#[derive(Debug, Default)]
pub(crate) struct History {
    bucket: String,
    root: PathBuf,
    by_key: HashMap<String, KeyHistory>,
}

#[derive(Debug, Default)]
struct KeyHistory {
    markers: Vec<DeleteMarker>,
    versions: Vec<FileEntry>,
}

impl History {
    /// The delete markers of `record`; versions are added with [`History::add`].
    pub(crate) fn new(root: &Path, record: &CollectionRecord) -> Self {
        let mut history = History {
            bucket: record.bucket.clone(),
            root: root.to_path_buf(),
            by_key: HashMap::new(),
        };
        for marker in &record.delete_markers {
            history
                .by_key
                .entry(marker.key.clone())
                .or_default()
                .markers
                .push(marker.clone());
        }
        history
    }

    /// Remembers a saved noncurrent version.
    pub(crate) fn add(&mut self, entry: &FileEntry) {
        if let (RecordKind::Version, Some(key)) = (entry.kind, &entry.key) {
            self.by_key
                .entry(key.clone())
                .or_default()
                .versions
                .push(entry.clone());
        }
    }

    /// Whether the record holds any version or delete marker.
    pub(crate) fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Turns `log.missing` into `log.deleted` / `log.deleted_version_exists`
    /// and `log.modified` into `log.overwritten_version_exists`, where the
    /// bucket's history says what happened.
    pub(crate) fn explain(&self, findings: &mut [Finding]) {
        for finding in findings.iter_mut() {
            let Some(key) = finding
                .object
                .strip_prefix("s3://")
                .and_then(|rest| rest.strip_prefix(self.bucket.as_str()))
                .and_then(|rest| rest.strip_prefix('/'))
            else {
                continue;
            };
            let Some(history) = self.by_key.get(key) else {
                continue;
            };
            let Some(expected) = finding.expected.clone() else {
                continue;
            };
            let original = history.matching(&self.root, &expected);
            match finding.code {
                FindingCode::LogMissing => {
                    if let Some(marker) = history.newest_marker() {
                        *finding = deleted(finding, marker, original, &self.root);
                    }
                }
                FindingCode::LogModified => {
                    if let Some(version) = original {
                        *finding = overwritten(finding, version, &self.root);
                    }
                }
                _ => {}
            }
        }
    }
}

impl KeyHistory {
    fn newest_marker(&self) -> Option<&DeleteMarker> {
        self.markers.iter().max_by_key(|m| m.last_modified)
    }

    /// The newest saved version whose uncompressed SHA-256 is `expected`.
    fn matching(&self, root: &Path, expected: &str) -> Option<&FileEntry> {
        let mut versions: Vec<&FileEntry> = self.versions.iter().collect();
        versions.sort_by_key(|v| std::cmp::Reverse(v.last_modified));
        versions
            .into_iter()
            .find(|v| uncompressed_sha256(&root.join(&v.path)).is_some_and(|h| h == expected))
    }
}

fn uncompressed_sha256(path: &Path) -> Option<String> {
    let file = crate::evidence::open_evidence(path).ok()?;
    let mut buffer = vec![0u8; crate::gzip::STREAM_BUFFER_BYTES];
    crate::gzip::inflate_sha256(std::io::BufReader::new(file), &mut buffer)
        .ok()
        .map(|h| hex::encode(h.sha256))
}

fn version_text(version: &FileEntry) -> String {
    format!(
        "version {} (written {})",
        version.version_id.as_deref().unwrap_or("null"),
        version
            .last_modified
            .map_or_else(|| "at an unknown time".to_owned(), |t| format!("at {t}"))
    )
}

fn deleted(
    finding: &Finding,
    marker: &DeleteMarker,
    original: Option<&FileEntry>,
    root: &Path,
) -> Finding {
    let (code, rest, help) = match original {
        Some(version) => (
            FindingCode::LogDeletedVersionExists,
            format!(
                " An older {} still has the digest's hash: the original is kept in the bucket and was saved by collect at {}.",
                version_text(version),
                root.join(&version.path).display()
            ),
            "The log was deleted after delivery but the bucket kept the original version: preserve it (copy the version out of the collection folder), find out who deleted the object at the marker's time (CloudTrail data events or S3 server access logs), and restore it.",
        ),
        None => (
            FindingCode::LogDeleted,
            " No saved version of it has the digest's hash.".to_owned(),
            "The log was deleted after delivery and no version with the listed content is left: find out who deleted it at the marker's time (CloudTrail data events, S3 server access logs) and treat its events as lost.",
        ),
    };
    let message = format!(
        "{} The bucket records its deletion: a delete marker (version {}) at {}.{rest}",
        finding.message,
        crate::text::escape_control(&marker.version_id),
        marker.last_modified
    );
    let mut new = finding.clone();
    new.code = code;
    new.severity = code.severity();
    new.message = message;
    new.actual = Some(format!("deleted at {}", marker.last_modified));
    new.help = help.to_owned();
    new
}

fn overwritten(finding: &Finding, version: &FileEntry, root: &Path) -> Finding {
    let mut new = finding.clone();
    new.code = FindingCode::LogOverwrittenVersionExists;
    new.severity = new.code.severity();
    new.message = format!(
        "{} The bucket kept the original: its {} has the digest's hash, so the object was overwritten after delivery; collect saved it at {}.",
        finding.message,
        version_text(version),
        root.join(&version.path).display()
    );
    new.help = "Preserve the original version (saved in the collection folder), find out who overwrote the object (CloudTrail data events, S3 server access logs), and compare both to see what was changed.".to_owned();
    new
}
