//! Chain of custody between `trailproof collect` and `verify`.
//!
//! `collect` writes a [`record::CollectionRecord`] into the folder it fills
//! ([`COLLECTION_DIR`]`/`[`RECORD_FILE`]), with one line per file it wrote
//! ([`OBJECTS_FILE`]: path, S3 key, version, ETag, size and the SHA-256 of
//! the bytes written). `verify` finds it in a mirror root, takes its end time
//! as the collection time, and checks every file against it (module `check`): a
//! file changed, added or removed since the collection is a `collection.*`
//! finding, told apart from tampering in the bucket. With `collect
//! --versions`, the record's noncurrent versions and delete markers
//! (module `history`) turn a missing or modified log into "deleted at
//! T" or "overwritten at T", with the original when it still exists.

pub(crate) mod check;
pub(crate) mod history;
pub mod record;

pub use record::{
    COLLECTION_DIR, CollectionRecord, FileEntry, OBJECTS_FILE, RECORD_FILE, RecordKind,
};

/// A collection record a run checked its root against (the JSON report's
/// `inputs.collections`).
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[schemars(deny_unknown_fields)]
pub struct CollectionUsed {
    /// The mirror root.
    pub root: String,
    /// The bucket collected.
    pub bucket: String,
    /// The key prefix listed.
    pub prefix: String,
    /// Who collected (the caller's ARN).
    pub caller: Option<String>,
    /// When the collection started.
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub started_at: jiff::Timestamp,
    /// When it ended.
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub finished_at: jiff::Timestamp,
    /// Whether the collection fetched every object.
    pub complete: bool,
    /// Files checked against the record.
    pub files_checked: u64,
}

/// The custody of every collected root of a run.
#[derive(Debug, Default)]
pub(crate) struct Custodies {
    /// What each collected root's record said.
    pub used: Vec<CollectionUsed>,
    /// Their `collection.*` findings.
    pub findings: Vec<crate::Finding>,
    /// Their object histories.
    pub histories: Vec<history::History>,
    /// The end of the earliest collection.
    pub collected_at: Option<jiff::Timestamp>,
}

impl Custodies {
    /// Checks every root that `trailproof collect` filled.
    pub(crate) fn check(roots: &[crate::mirror::MirrorRoot]) -> Custodies {
        let mut all = Custodies::default();
        for root in roots {
            let Some(custody) = check::check(&root.path) else {
                continue;
            };
            all.findings.extend(custody.findings);
            if !custody.history.is_empty() {
                all.histories.push(custody.history);
            }
            if let Some(record) = custody.record {
                let at = record.collected_at();
                all.collected_at = Some(all.collected_at.map_or(at, |t| t.min(at)));
                all.used.push(CollectionUsed {
                    root: root.path.to_string_lossy().into_owned(),
                    bucket: record.bucket,
                    prefix: record.prefix,
                    caller: record.caller.arn,
                    started_at: record.started_at,
                    finished_at: record.finished_at,
                    complete: record.complete,
                    files_checked: custody.files_checked,
                });
            }
        }
        all
    }

    /// Explains missing and modified logs from the buckets' histories.
    pub(crate) fn explain(&self, findings: &mut [crate::Finding]) {
        for history in &self.histories {
            history.explain(findings);
        }
    }
}
