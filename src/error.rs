//! Reasons a verification run cannot happen at all (exit status 2).
//!
//! Problems with the evidence are never errors: they are
//! [`Finding`](crate::finding::Finding)s. An [`Error`] means the run itself
//! could not be done: bad arguments, an unreadable key file, a mirror with no
//! digest in it.

use std::path::PathBuf;

/// Why the run could not be done.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A mirror root or a directory inside it cannot be read.
    #[error("cannot read the mirror at {path}: {source}")]
    MirrorUnreadable {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A mirror root is not a directory.
    #[error("the mirror {path} is not a directory")]
    MirrorNotDirectory {
        /// The path given.
        path: PathBuf,
    },
    /// No digest or listed log file tells which bucket and prefix a root mirrors.
    #[error(
        "cannot work out which bucket and key prefix {path} mirrors: no digest file in it lies at the key it names"
    )]
    RootNotLocated {
        /// The root.
        path: PathBuf,
    },
    /// Two roots hold the same objects.
    #[error("the mirror roots {first} and {second} overlap: they hold the same objects")]
    RootsOverlap {
        /// One root.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
    /// The report would be written inside a mirror.
    #[error("refusing to write {path} inside the mirror {mirror}: the evidence is never changed")]
    OutputInsideMirror {
        /// The output path.
        path: PathBuf,
        /// The mirror root that contains it.
        mirror: PathBuf,
    },
    /// No digest file was found in any mirror (or in the time range).
    #[error("no CloudTrail digest file found in {roots}")]
    NoDigests {
        /// The roots searched, joined for display.
        roots: String,
    },
    /// Digest files exist, but none lies in the time range asked for.
    #[error(
        "none of the {found} CloudTrail digest files lies in the time range asked for ({range}): they end between {first} and {last}"
    )]
    NoDigestsInRange {
        /// How many digest files were found.
        found: usize,
        /// The range, as given.
        range: String,
        /// The oldest digest's time.
        first: jiff::Timestamp,
        /// The newest digest's time.
        last: jiff::Timestamp,
    },
    /// Digest files exist in the time range, but none of a selected chain
    /// (`--account-id`, `--region`, `--trail-arn`, `--trail`).
    #[error(
        "no CloudTrail digest file of the chains selected by --account-id, --region, --trail-arn or --trail lies in the mirror (and time range); the mirror holds the chains (account/region/trail@home-region): {chains}"
    )]
    NoDigestsSelected {
        /// The chains the mirror holds, joined for display.
        chains: String,
    },
    /// No digest could be read because the folders holding them cannot be read.
    #[error(
        "no CloudTrail digest file could be read: these folders cannot be read by this user: {folders}"
    )]
    DigestsUnreadable {
        /// The unreadable folders, joined for display.
        folders: String,
    },
    /// No supplied key has any fingerprint the digests of some regions name:
    /// keys for those regions (or that account) were not supplied.
    #[error("no supplied public key matches any digest of {regions}: {needed}")]
    KeysMatchNoDigest {
        /// The regions (and accounts) concerned, for display.
        regions: String,
        /// What is needed: per region, the fingerprints and time span, and the command to save them.
        needed: String,
    },
    /// `--bucket`/`--prefix` place a root where none of its digests lies.
    #[error(
        "with --bucket {bucket} and --prefix {prefix:?}, no digest in {path} lies at the key it names; its digests name {found}"
    )]
    LocationOverrideMatchesNothing {
        /// The root.
        path: PathBuf,
        /// The bucket given (or worked out).
        bucket: String,
        /// The prefix given (or worked out).
        prefix: String,
        /// What the digests themselves say, for display.
        found: String,
    },
    /// A public-key file cannot be read.
    #[error("cannot read the public-key file {path}: {source}")]
    KeyFileUnreadable {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A public-key file has content that is not a usable key.
    #[error("invalid public-key file {path}: {reason}")]
    KeyFileInvalid {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// No public key at all was supplied.
    #[error("no public key was loaded from the given --public-keys files")]
    NoPublicKeys,
    /// The time range is empty.
    #[error("invalid time range: --start-time {start} is after --end-time {end}")]
    InvalidTimeRange {
        /// The start given.
        start: jiff::Timestamp,
        /// The end given.
        end: jiff::Timestamp,
    },
    /// A report cannot be written where asked (checked before the run).
    #[error("cannot write the {format} report to {path}: {reason}")]
    ReportTargetUnusable {
        /// The report format's name.
        format: &'static str,
        /// The path as given.
        path: PathBuf,
        /// Why not.
        reason: String,
    },
    /// A report would overwrite a public-key file of the run.
    #[error(
        "refusing to write the {format} report to {path}: it is the {what} {input}, which this run reads"
    )]
    ReportIsInput {
        /// The report format's name.
        format: &'static str,
        /// The path as given.
        path: PathBuf,
        /// What the input is: `public-key file` or `checkpoint`.
        what: &'static str,
        /// The input, as given.
        input: PathBuf,
    },
    /// Two reports name the same file.
    #[error(
        "the {first_format} report ({first}) and the {second_format} report ({second}) would be written to the same file"
    )]
    ReportTwice {
        /// The first report's path as given.
        first: PathBuf,
        /// Its format's name.
        first_format: &'static str,
        /// The second report's path as given.
        second: PathBuf,
        /// Its format's name.
        second_format: &'static str,
    },
    /// Writing a report failed (after the run).
    #[error("cannot write the {format} report to {path}: {source}")]
    ReportWrite {
        /// The report format's name.
        format: &'static str,
        /// The path as given.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A checkpoint (`--checkpoint`) cannot be read.
    #[error("cannot read the checkpoint {path}: {source}")]
    CheckpointUnreadable {
        /// The file as given.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A checkpoint is not one this trailproof can read.
    #[error("invalid checkpoint {path}: {reason}")]
    CheckpointInvalid {
        /// The file as given.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A head recorded in a checkpoint does not verify: the file was edited
    /// (or the keys given are not those of the audit that wrote it).
    #[error("the checkpoint {path} cannot be trusted: for chain {chain}, {reason}")]
    CheckpointNotAuthentic {
        /// The file as given.
        path: PathBuf,
        /// The chain whose head failed.
        chain: String,
        /// Why.
        reason: String,
    },
    /// A checkpoint knows none of the mirror's buckets and accounts.
    #[error(
        "checkpoint.foreign: the checkpoint {path} is for other buckets or accounts than the mirror: it records {theirs}; the mirror holds {ours}"
    )]
    CheckpointForeign {
        /// The file as given.
        path: PathBuf,
        /// What the checkpoint records, for display.
        theirs: String,
        /// What the mirror holds, for display.
        ours: String,
    },
    /// `--collected-at` is earlier than a digest the mirror holds: the mirror
    /// cannot have been taken then.
    #[error(
        "--collected-at {collected} is before the end of a digest the mirror holds ({newest}, {object}): the mirror cannot have been taken then"
    )]
    CollectedTooEarly {
        /// `--collected-at`.
        collected: jiff::Timestamp,
        /// The newest digest's time.
        newest: jiff::Timestamp,
        /// Its `s3://` URL.
        object: String,
    },
    /// The worker pool could not be started.
    #[error("cannot start {jobs} worker threads: {reason}")]
    ThreadPool {
        /// Requested thread count.
        jobs: usize,
        /// The pool builder's message.
        reason: String,
    },
}

impl Error {
    /// What the user should do about the error.
    #[must_use]
    pub fn help(&self) -> &'static str {
        match self {
            Error::MirrorUnreadable { .. } | Error::MirrorNotDirectory { .. } => {
                "Pass the directory that `aws s3 sync s3://BUCKET DIR` wrote (or a sub-tree of it that still contains AWSLogs/), readable by this user."
            }
            Error::NoDigests { .. } => {
                "Digest files live under AWSLogs/<account>/CloudTrail-Digest/<region>/; check that the mirror includes them and that --start-time/--end-time cover them."
            }
            Error::NoDigestsInRange { .. } => {
                "Choose --start-time/--end-time inside the time the digests cover (or leave them out to verify everything)."
            }
            Error::NoDigestsSelected { .. } => {
                "Check the account ID, region and trail name or ARN against the chains listed (an organization trail's chains lie in its member accounts' folders), or leave the filters out to verify everything."
            }
            Error::DigestsUnreadable { .. } => {
                "Run as a user who can read the whole mirror (or give this user read access to a copy; never change the evidence itself)."
            }
            Error::KeysMatchNoDigest { .. } => {
                "Pass the public keys of every region in the mirror, saved with the command shown, one file per region (`--public-keys` is repeatable)."
            }
            Error::LocationOverrideMatchesNothing { .. } => {
                "Leave out --bucket/--prefix (trailproof works them out from the digests), or give the bucket and key prefix the mirror root really stands for."
            }
            Error::KeyFileUnreadable { .. }
            | Error::KeyFileInvalid { .. }
            | Error::NoPublicKeys => {
                "Save the keys with `aws cloudtrail list-public-keys --region <region> --start-time <T0> --end-time <T1> > keys.json` for every region and pass each file with --public-keys (PEM keys and X.509 certificates are accepted too)."
            }
            Error::InvalidTimeRange { .. } => "--start-time must not be after --end-time.",
            Error::RootNotLocated { .. } => {
                "Pass the directory that holds the bucket's objects at their keys (the one `aws s3 sync s3://BUCKET DIR` wrote, or a sub-tree of it), or say where it is with --bucket and --prefix."
            }
            Error::RootsOverlap { .. } => {
                "Give each mirrored bucket (or prefix) once: pass the outer directory only, and a second root only for another bucket."
            }
            Error::OutputInsideMirror { .. } => "Write the report outside every mirror root.",
            Error::ReportTargetUnusable { .. } | Error::ReportWrite { .. } => {
                "Give a path in an existing, writable folder (or a character device or FIFO), outside every mirror root."
            }
            Error::ReportIsInput { .. } => {
                "Write the report to a new file: the key files and checkpoints a run reads are evidence of what it trusted."
            }
            Error::ReportTwice { .. } => "Give each report its own file.",
            Error::CheckpointUnreadable { .. } | Error::CheckpointInvalid { .. } => {
                "Pass a checkpoint that `trailproof verify --save-checkpoint FILE` wrote, readable by this user."
            }
            Error::CheckpointNotAuthentic { .. } => {
                "Use the checkpoint kept with the case file (compare its SHA-256 with the one the earlier audit's report shows), with the public keys that audit used."
            }
            Error::CheckpointForeign { .. } => {
                "Pass the checkpoint written by an audit of this bucket and these accounts (one per earlier audit; --checkpoint is repeatable)."
            }
            Error::ThreadPool { .. } => "Lower --jobs.",
            Error::CollectedTooEarly { .. } => {
                "Give the time the copy of the bucket was finished (e.g. when `aws s3 sync` ended), in UTC or with its offset."
            }
        }
    }
}

/// Runs work on one file so that a bug that panics on strange input costs
/// a finding on that file, not the whole run. Returns the panic message.
pub(crate) fn contain_panic<T>(work: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned())
    })
}
