//! The collection record's format: `record.json` and `objects.jsonl`.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

pub use crate::layout::COLLECTION_DIR;
/// The record: who collected what, from where, when (in [`COLLECTION_DIR`]).
pub const RECORD_FILE: &str = "record.json";
/// One [`FileEntry`] per line, sorted by [`path_order`] (in [`COLLECTION_DIR`]).
pub const OBJECTS_FILE: &str = "objects.jsonl";
/// What a running or interrupted collection has finished (in [`COLLECTION_DIR`]).
pub const JOURNAL_FILE: &str = "journal.jsonl";
/// Where downloads are written before they are renamed into place.
pub const PARTIAL_DIR: &str = "partial";
/// Where the public keys are saved (one file per region).
pub const KEYS_DIR: &str = "public-keys";
/// Where noncurrent object versions are saved (`--versions`).
pub const VERSIONS_DIR: &str = "versions";
/// The record's `format` value.
pub const FORMAT: &str = "trailproof-collection/1";

/// `record.json`: one collection of one bucket prefix.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CollectionRecord {
    /// Always [`FORMAT`].
    pub format: String,
    /// The tool that collected (`trailproof 0.1.0 (commit …)`).
    pub tool: String,
    /// When the collection started.
    pub started_at: Timestamp,
    /// When it ended: what `verify` takes as the collection time.
    pub finished_at: Timestamp,
    /// Whether every object was fetched and checked (no failure, no conflict).
    pub complete: bool,
    /// Who collected: `sts:GetCallerIdentity`.
    pub caller: Caller,
    /// The S3 endpoint used (the SDK's default for the region, or `--endpoint-url`).
    pub endpoint: String,
    /// The bucket.
    pub bucket: String,
    /// The bucket's region.
    pub bucket_region: String,
    /// The key prefix listed (may be empty).
    pub prefix: String,
    /// What was asked for.
    pub filters: Filters,
    /// SHA-256 of [`OBJECTS_FILE`] as written (lower-case hex).
    pub objects_sha256: String,
    /// Lines in [`OBJECTS_FILE`].
    pub objects: u64,
    /// Objects listed but left out, by reason.
    pub skipped: Skipped,
    /// The public keys saved, per region.
    pub public_keys: Vec<KeysFetched>,
    /// Delete markers of CloudTrail objects (`--versions`).
    pub delete_markers: Vec<DeleteMarker>,
    /// Local files that differed from the bucket's object and were kept.
    pub conflicts: Vec<Conflict>,
    /// Objects that could not be fetched.
    pub failures: Vec<Failure>,
}

impl CollectionRecord {
    /// When the evidence was taken, for judging where chains end: the
    /// collection's end, or the end of the time it was asked for
    /// (`--until`, plus the hour its last digests may end after it).
    #[must_use]
    pub fn collected_at(&self) -> Timestamp {
        self.filters.until.map_or(self.finished_at, |until| {
            self.finished_at
                .min(until + jiff::SignedDuration::from_hours(1))
        })
    }
}

/// The identity the collection ran as (`sts:GetCallerIdentity`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Caller {
    /// Account id.
    pub account: Option<String>,
    /// ARN of the user or role.
    pub arn: Option<String>,
    /// Unique id of the user or role session.
    pub user_id: Option<String>,
    /// Why the identity is unknown (`GetCallerIdentity` failed, e.g. on an
    /// S3-compatible store without STS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What `collect` was asked to take.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Filters {
    /// `--since`.
    pub since: Option<Timestamp>,
    /// `--until`.
    pub until: Option<Timestamp>,
    /// `--account` (empty: all).
    pub accounts: Vec<String>,
    /// `--region` (empty: all).
    pub regions: Vec<String>,
    /// `--versions`.
    pub versions: bool,
    /// `--plan --shard`: only these places' log files (`account/region`;
    /// for shard 0 also those of places the plan gave to no shard) were
    /// taken; digests of every place were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_places: Option<Vec<String>>,
}

/// Objects listed but not fetched.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Skipped {
    /// Outside the time range, accounts or regions asked for.
    pub outside_filters: u64,
    /// Not under `AWSLogs/` (not written by CloudTrail).
    pub not_cloudtrail: u64,
    /// Keys no file can be written at (`..`, empty segments, backslashes).
    pub unsafe_keys: Vec<String>,
}

/// Public keys saved for one region.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeysFetched {
    /// The region asked.
    pub region: String,
    /// The file, relative to the mirror root.
    pub path: String,
    /// The time range asked for.
    pub start: Timestamp,
    /// See `start`.
    pub end: Timestamp,
    /// How many keys CloudTrail returned.
    pub keys: u64,
}

/// A delete marker (`--versions`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeleteMarker {
    /// The key deleted.
    pub key: String,
    /// The marker's version id.
    pub version_id: String,
    /// When the object was deleted.
    pub last_modified: Timestamp,
    /// Whether the marker is the key's current version.
    pub latest: bool,
}

/// A local file that differed from the object and was kept, not overwritten.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Conflict {
    /// The object's key.
    pub key: String,
    /// The local file, relative to the root.
    pub path: String,
    /// SHA-256 of the local file's bytes.
    pub local_sha256: String,
    /// SHA-256 of the object's bytes (when it was downloaded to compare).
    pub object_sha256: Option<String>,
    /// The object's ETag.
    pub etag: String,
}

/// An object that could not be fetched.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Failure {
    /// The object's key.
    pub key: String,
    /// Why.
    pub error: String,
}

/// What a file written by `collect` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecordKind {
    /// A log file (or any object under `AWSLogs/`).
    Object,
    /// A digest's S3 metadata, from the same GET as the digest.
    Metadata,
    /// A noncurrent version of an object (`--versions`).
    Version,
    /// CloudTrail's public keys for one region.
    PublicKeys,
}

/// One line of [`OBJECTS_FILE`]: a file `collect` wrote.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileEntry {
    /// The file, relative to the root, `/`-separated.
    pub path: String,
    /// What it is.
    pub kind: RecordKind,
    /// The S3 key it came from (for metadata: the digest's key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The object's version id, when the bucket is versioned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// The object's ETag (without quotes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// When S3 says the object was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<Timestamp>,
    /// How the download was checked: `content-md5` (the ETag of a
    /// single-part object), `sha256` (S3's checksum header), or `size`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked: Option<String>,
    /// Bytes written.
    pub size: u64,
    /// SHA-256 of the bytes written (lower-case hex).
    pub sha256: String,
}

/// Orders paths as a sorted walk of the folders meets them: segment by
/// segment (so `a/x` comes before `a-b/x`, unlike a plain string order).
#[must_use]
pub fn path_order(a: &str, b: &str) -> Ordering {
    a.split('/').cmp(b.split('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_sort_as_a_folder_walk_meets_them() {
        let mut paths = vec!["a-b/x", "a/y", "a/x/z", "a.b", "a/x"];
        paths.sort_by(|a, b| path_order(a, b));
        assert_eq!(paths, ["a/x", "a/x/z", "a/y", "a-b/x", "a.b"]);
    }
}
