//! What a run is asked to do: the mirrors, keys and settings, and the time
//! range it reports on.

use crate::selection::Selection;
use jiff::{SignedDuration, Timestamp};
use std::path::PathBuf;

/// What to verify and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// Mirror roots (one per bucket, or sub-trees containing `AWSLogs/`).
    pub mirrors: Vec<PathBuf>,
    /// Public-key files.
    pub public_keys: Vec<PathBuf>,
    /// Only digests whose time is at or after this.
    pub start_time: Option<Timestamp>,
    /// Only digests whose time is at or before this (plus one hour, as `validate-logs`).
    pub end_time: Option<Timestamp>,
    /// Bucket every root mirrors, instead of working it out from the digests.
    pub bucket: Option<String>,
    /// Key prefix of every root, instead of working it out from the digests.
    pub prefix: Option<String>,
    /// Worker threads; `None` = one per core.
    pub jobs: Option<usize>,
    /// Bound on a digest's inflated size.
    pub max_digest_bytes: u64,
    /// Hash every log file's stored (compressed) bytes too, in the same
    /// pass, for the evidence manifest (digests, sidecars and key files are
    /// always hashed: they are small).
    pub manifest_hashes: bool,
    /// The command line that started the run, for the report's case header
    /// (empty when the library is called directly).
    pub invocation: Vec<String>,
    /// Which findings fail the run (the report's verdict line and exit status).
    pub fail_on: FailOn,
    /// Bytes the digests' listings may take (`crate::budget`).
    pub memory_budget: u64,
    /// Checkpoints of earlier audits to check the mirror against (`--checkpoint`).
    pub checkpoints: Vec<PathBuf>,
    /// Take what the checkpoints vouch for from them: the log files only
    /// digests up to each chain's checkpointed head list are not hashed again.
    pub incremental: bool,
    /// When the mirror was taken (`--collected-at`): chains must reach to
    /// within `max_lag` of it, or their trail's logs must say why not.
    pub collected_at: Option<Timestamp>,
    /// How long before `collected_at` a chain's newest digest may end (`--max-lag`).
    pub max_lag: SignedDuration,
    /// Which chains are examined (`--account-id`, `--region`, `--trail-arn`, `--trail`).
    pub selection: Selection,
}

impl Options {
    /// Options for `mirrors` and `public_keys` with every other setting at its default.
    #[must_use]
    pub fn new(mirrors: Vec<PathBuf>, public_keys: Vec<PathBuf>) -> Self {
        Options {
            mirrors,
            public_keys,
            start_time: None,
            end_time: None,
            bucket: None,
            prefix: None,
            jobs: None,
            max_digest_bytes: crate::digest::DEFAULT_MAX_DIGEST_BYTES,
            manifest_hashes: true,
            invocation: Vec::new(),
            fail_on: FailOn::Error,
            memory_budget: crate::budget::DEFAULT_MEMORY_BUDGET,
            checkpoints: Vec::new(),
            incremental: false,
            collected_at: None,
            max_lag: SignedDuration::from_hours(2),
            selection: Selection::default(),
        }
    }
}

/// The time window a run examines.
#[derive(Debug, Clone, Copy, Default)]
pub struct TimeRange {
    /// Inclusive start.
    pub start: Option<Timestamp>,
    /// Inclusive end.
    pub end: Option<Timestamp>,
}

impl TimeRange {
    /// Whether a digest with this (end) time is examined: in `[start, end + 1 h]`,
    /// as the AWS CLI lists them.
    #[must_use]
    pub fn admits_digest(&self, time: Timestamp) -> bool {
        let late_end = self
            .end
            .map(|e| e.checked_add(SignedDuration::from_hours(1)).unwrap_or(e));
        self.start.is_none_or(|s| time >= s) && late_end.is_none_or(|e| time <= e)
    }

    /// Whether a log delivered at this time is examined.
    #[must_use]
    pub fn admits_log(&self, time: Timestamp) -> bool {
        self.start.is_none_or(|s| time >= s) && self.end.is_none_or(|e| time <= e)
    }
}

/// Which findings make a run fail (`--fail-on`).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum FailOn {
    /// Error findings (the verdict `fail`).
    #[default]
    Error,
    /// Error or warning findings.
    Warning,
    /// Nothing: exit 0 whatever was found (an incomplete run still exits 2).
    Never,
}
