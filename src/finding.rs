//! Findings: what the verifier concludes about one object of the mirror.
//!
//! A [`Finding`] is plain data. Every check pushes findings; renderers in
//! [`crate::report`] turn them into human diagnostics or JSON. The
//! [`FindingCode`] strings are a public contract: codes may be added, never
//! renamed (a unit test pins the list).

use serde::Serialize;
use std::fmt;
use std::path::PathBuf;

/// How bad a finding is. Error-severity findings make the verdict `fail`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The evidence is intact but incomplete or not fully provable.
    Warning,
    /// The evidence is missing, altered, misplaced or cannot be authenticated.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// What a digest's `previousDigestHashValue` and a log file's `hashValue`
/// hash: the uncompressed content (never the stored gzip bytes).
pub const UNCOMPRESSED_SHA256: &str = "SHA-256 of the uncompressed content";

/// What a file's stored bytes hash: the file as it lies (compressed).
pub const STORED_SHA256: &str = "SHA-256 of the stored (compressed) bytes";

macro_rules! finding_codes {
    ($( $(#[$doc:meta])* $variant:ident => $code:literal, $severity:ident, $summary:literal; )*) => {
        /// Stable identifier of a kind of finding (`area.snake_case`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum FindingCode {
            $( $(#[$doc])* $variant, )*
        }

        impl FindingCode {
            /// Every code, in documentation order.
            pub const ALL: &'static [FindingCode] = &[ $( FindingCode::$variant, )* ];

            /// The stable string form, e.g. `digest.missing`.
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self { $( FindingCode::$variant => $code, )* }
            }

            /// The severity every finding of this code has.
            #[must_use]
            pub fn severity(self) -> Severity {
                match self { $( FindingCode::$variant => Severity::$severity, )* }
            }

            /// One line saying what the code means (README's table).
            #[must_use]
            pub fn summary(self) -> &'static str {
                match self { $( FindingCode::$variant => $summary, )* }
            }
        }

        /// In the JSON report's schema: one of the code strings (a new code
        /// changes the schema).
        impl schemars::JsonSchema for FindingCode {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                "FindingCode".into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "description": "Stable identifier of a kind of finding (`area.snake_case`): codes may be added, never renamed.",
                    "type": "string",
                    "enum": [ $( $code ),* ]
                })
            }
        }
    };
}

finding_codes! {
    /// A digest named by a later digest's previous link is absent.
    DigestMissing => "digest.missing", Error,
        "a digest named by a later digest's previous link is absent";
    /// The digest's signature does not verify.
    DigestSignatureInvalid => "digest.signature_invalid", Error,
        "the signature does not verify";
    /// The digest's content differs from the next digest's `previousDigestHashValue`.
    DigestModified => "digest.modified", Error,
        "content differs from the next digest's previousDigestHashValue";
    /// The digest lies at a key other than its own `digestS3Object`.
    DigestMoved => "digest.moved", Error,
        "found at a key other than its own digestS3Object";
    /// The digest is not one complete gzip stream of valid JSON with the required fields.
    DigestMalformed => "digest.malformed", Error,
        "not one complete gzip stream, not JSON, or required fields missing";
    /// No supplied public key has the digest's fingerprint inside its validity window.
    DigestKeyUnknown => "digest.key_unknown", Error,
        "no supplied public key has its fingerprint (or it is outside the key's validity)";
    /// No signature is available for the digest from any source.
    DigestUnsigned => "digest.unsigned", Warning,
        "no signature available from any source";
    /// The chain restarts: the previous-digest fields are null.
    ChainGap => "chain.gap", Warning,
        "the chain restarts (previous fields null): logging or validation was off";
    /// Link order and time order disagree, or two digests claim one predecessor.
    ChainOutOfOrder => "chain.out_of_order", Error,
        "link order and time order disagree, or two digests claim one predecessor";
    /// A listed log file is absent.
    LogMissing => "log.missing", Error,
        "a listed log file is absent";
    /// A log file's uncompressed SHA-256 differs from the digest's `hashValue`.
    LogModified => "log.modified", Error,
        "its uncompressed SHA-256 differs from the digest's hashValue";
    /// A listed log file is not one complete, valid gzip stream.
    LogMalformed => "log.malformed", Error,
        "listed, present, but not one complete, valid gzip stream";
    /// A log file inside a chain's covered time that no digest lists.
    LogUnreferenced => "log.unreferenced", Error,
        "a log file in the mirror, inside a chain's covered time, that no digest lists";
    /// A log file listed only by digests that could not be verified.
    LogUnverified => "log.unverified", Warning,
        "listed only by digests that could not be verified";
    /// A key in a digest that is not a safe relative path inside the mirror.
    LogUnsafePath => "log.unsafe_path", Error,
        "a digest names a key that is absolute, has `..`, NUL or backslashes, or leads through a link";
    /// A part of the mirror could not be read, so what it holds was not verified.
    MirrorUnreadable => "mirror.unreadable", Warning,
        "a folder or file inside the mirror cannot be read by this user: what it holds was not verified, and the run is incomplete (exit 2)";
    /// A link or special file where the mirror should hold a CloudTrail object.
    MirrorNotRegular => "mirror.not_regular", Error,
        "a symbolic link or special file (FIFO, socket, device) under AWSLogs/; it is never followed or opened";
    /// A file or folder whose name is not UTF-8: it cannot be an object of the bucket.
    MirrorInvalidName => "mirror.invalid_name", Error,
        "a file or folder whose name is not UTF-8: no S3 key is, so it cannot have come from the bucket (a folder is not entered)";
    /// A file in a CloudTrail log or digest folder that is not a CloudTrail object at all.
    MirrorStrayFile => "mirror.stray_file", Warning,
        "a file in a CloudTrail log or digest folder whose name is not a CloudTrail object's (e.g. .DS_Store, a download's temporary file)";
    /// A listed log file is absent at its key, but its content lies elsewhere in the mirror.
    LogMoved => "log.moved", Error,
        "a listed log file is not at its key, but a file with its exact content lies at another key";
    /// A log file no digest lists, in time no digest of the mirror covers.
    LogNotCovered => "log.not_covered", Warning,
        "a log file that no digest lists, delivered in time no digest present covers (its digest is missing, or validation was off): it cannot be verified";
    /// The digest's listing did not fit the run's memory budget: its log files were not examined.
    DigestNotExamined => "digest.not_examined", Warning,
        "the log files a digest lists were not examined: all digests' listings exceed the memory budget (--memory-budget-mib); the run is incomplete (exit 2)";
    /// A head digest recorded in a checkpoint is gone.
    CheckpointHeadMissing => "checkpoint.head_missing", Error,
        "a chain's newest digest when a checkpoint (--checkpoint) was written is gone: digests were deleted after that audit";
    /// A head digest recorded in a checkpoint is there with other bytes.
    CheckpointHeadModified => "checkpoint.head_modified", Error,
        "a chain's newest digest when a checkpoint was written is there, but its bytes differ from the checkpoint's hashes";
    /// A chain now ends before the head a checkpoint recorded.
    CheckpointRollback => "checkpoint.rollback", Error,
        "a chain now ends before its newest digest when a checkpoint was written: the mirror is older than that audit";
    /// A chain no longer passes through the head a checkpoint recorded.
    CheckpointFork => "checkpoint.fork", Error,
        "a digest after a checkpointed head links past it (or to it with another hash): the chain was rewritten after that audit";
    /// A chain's newest digest ends long before the mirror was collected, unexplained.
    ChainEndsEarly => "chain.ends_early", Error,
        "a chain's newest digest ends more than --max-lag before the mirror was collected (--collected-at), and its trail's logs record no call that stopped logging: its newest digests were removed";
    /// A chain ends early because the trail's own logs record logging stopped.
    ChainStopped => "chain.stopped", Warning,
        "a chain ends more than --max-lag before the mirror was collected because logging was stopped: its trail's logs record StopLogging, DeleteTrail or UpdateTrail turning validation off (when, who, from where)";
    /// A chain starts long after its trail's other chains, unexplained.
    ChainStartsLate => "chain.starts_late", Warning,
        "with --collected-at: a chain starts (its oldest digest links to none) more than --max-lag after its trail's oldest digest in another region, and its trail's logs record no call that started logging: unexplained";
    /// A chain starts late because the trail's own logs record logging started.
    ChainStarted => "chain.started", Warning,
        "with --collected-at: a chain starts that late because logging (or validation) started then: its trail's logs record StartLogging, CreateTrail or UpdateTrail turning validation on (when, who, from where)";
    /// A chain a checkpoint knows has no digest in the mirror.
    CheckpointChainMissing => "checkpoint.chain_missing", Error,
        "a chain a checkpoint records has no digest at all in the mirror now";
    /// A listed log file was deleted in the bucket (a delete marker), and no saved version matches.
    LogDeleted => "log.deleted", Error,
        "a listed log file is absent and the bucket records its deletion (a delete marker, collect --versions); no older version has its hash";
    /// A listed log file was deleted in the bucket, but an older version still has its hash.
    LogDeletedVersionExists => "log.deleted_version_exists", Error,
        "a listed log file was deleted in the bucket (a delete marker, collect --versions), but an older version of it still has the digest's hash: the original exists";
    /// A log file was overwritten in the bucket; an older version still has the digest's hash.
    LogOverwrittenVersionExists => "log.overwritten_version_exists", Error,
        "a log file differs from its digest's hash because it was overwritten in the bucket: an older version (collect --versions) still has the digest's hash";
    /// A collected file changed since `trailproof collect` wrote it.
    CollectionModified => "collection.modified", Error,
        "a file differs from the bytes `trailproof collect` wrote (its collection record's SHA-256): changed after collection, not in the bucket";
    /// A file was put into a collected folder after the collection.
    CollectionAdded => "collection.added", Error,
        "a file in a collected folder that its collection record does not list: added after collection";
    /// A file `trailproof collect` wrote is gone.
    CollectionRemoved => "collection.removed", Error,
        "a file the collection record lists is gone from the collected folder: removed after collection";
    /// At collection, a local file differed from the bucket's object and was kept.
    CollectionConflict => "collection.conflict", Error,
        "when collecting, a file already in the folder differed from the bucket's object; collect kept it (never overwrites), so it is not the bucket's object";
    /// The collection did not finish (interrupted, or objects could not be fetched).
    CollectionIncomplete => "collection.incomplete", Warning,
        "`trailproof collect` did not finish: it was interrupted, or some objects could not be fetched; run it again to complete the folder";
    /// The collection record cannot be read or was changed after collection.
    CollectionRecordInvalid => "collection.record_invalid", Error,
        "the collection record (.trailproof-collection/record.json, objects.jsonl) cannot be read, is malformed, or was changed after collection";
    /// A CloudTrail Lake export holds result files but no sign file.
    QuerySignFileMissing => "query.sign_file_missing", Error,
        "a CloudTrail Lake query export holds result files but no result_sign.json: nothing proves them";
    /// The sign file of a Lake export cannot be read as CloudTrail writes it.
    QuerySignFileMalformed => "query.sign_file_malformed", Error,
        "result_sign.json of a CloudTrail Lake export is not what CloudTrail writes (not JSON, a field missing or of the wrong form, no file listed)";
    /// The sign file's signature does not verify.
    QuerySignatureInvalid => "query.signature_invalid", Error,
        "the RSA signature of result_sign.json does not verify with the CloudTrail key it names: the list of result files and hashes was altered or forged";
    /// The key the sign file names was not valid when the query completed.
    QueryKeyNotValid => "query.key_not_valid", Error,
        "the CloudTrail key that result_sign.json names was not valid when the query completed (nor in the 20 days after, where the AWS CLI looks)";
    /// A result file the sign file lists is absent.
    QueryFileMissing => "query.file_missing", Error,
        "a result file that result_sign.json lists is not in the export folder";
    /// A result file differs from the hash the sign file lists.
    QueryFileModified => "query.file_modified", Error,
        "a result file's stored bytes do not have the SHA-256 that result_sign.json lists: the file was changed";
    /// A listed result file is a link, FIFO, device or folder.
    QueryFileNotRegular => "query.file_not_regular", Error,
        "a result file that result_sign.json lists is a symbolic link, FIFO, socket, device or folder, not a file; it was not followed or opened";
    /// The sign file names a result file outside the export folder.
    QueryUnsafeName => "query.unsafe_name", Error,
        "result_sign.json names a result file by an absolute path, with `..`, or with characters no export file name has: it was not opened";
    /// A file in the export folder that the sign file does not list.
    QueryFileUnlisted => "query.file_unlisted", Warning,
        "a file in the CloudTrail Lake export folder that result_sign.json does not list: the signature says nothing about it";
}

impl FindingCode {
    /// Whether a finding of this code means part of the evidence could not
    /// be examined (the verdict is then `incomplete`, exit 2, unless an
    /// error was found elsewhere).
    #[must_use]
    pub fn leaves_run_incomplete(self) -> bool {
        matches!(
            self,
            FindingCode::MirrorUnreadable | FindingCode::DigestNotExamined
        )
    }
}

impl fmt::Display for FindingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for FindingCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for FindingCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        FindingCode::ALL
            .iter()
            .find(|c| c.as_str() == text)
            .copied()
            .ok_or_else(|| {
                serde::de::Error::invalid_value(
                    serde::de::Unexpected::Str(&text),
                    &"a finding code of this version of trailproof",
                )
            })
    }
}

/// One conclusion about one object of the mirror.
///
/// `object` is the S3 URL the object has (or should have); `path` is the
/// local file (or where it would be). `expected`/`actual` carry the two
/// values whose difference is the finding, where there are two.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Finding {
    /// Stable code.
    pub code: FindingCode,
    /// Severity of the code.
    pub severity: Severity,
    /// `s3://bucket/key` of the object concerned.
    pub object: String,
    /// Local path of the object, or where it was expected; `None` when no
    /// mirror root holds that bucket.
    #[serde(serialize_with = "lossy_path")]
    #[schemars(with = "Option<String>")]
    pub path: Option<PathBuf>,
    /// What is wrong, in one or two sentences.
    pub message: String,
    /// The value the evidence should have.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub expected: Option<String>,
    /// The value the evidence has.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub actual: Option<String>,
    /// What `expected` and `actual` are, when they are hashes: e.g. "SHA-256
    /// of the uncompressed content" (never left to guess between the hash of
    /// the stored, compressed bytes and that of the uncompressed content).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String", extend("enum" = [UNCOMPRESSED_SHA256, STORED_SHA256]))]
    pub compared: Option<String>,
    /// What to do next.
    pub help: String,
    /// Identifier of the chain the object belongs to, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub chain: Option<String>,
    /// Where in the evidence the compared values are written (for excerpts).
    #[serde(skip)]
    pub locus: Option<Box<Locus>>,
    /// The evidence itself, with the compared values marked (human report).
    #[serde(skip)]
    pub excerpt: Option<Box<Excerpt>>,
}

/// Where in the evidence a finding's compared values are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Locus {
    /// The `logFiles` entry naming `key` in the digest file `digest`: its
    /// `hashValue` is the finding's expected value.
    LogEntry {
        /// The digest file that lists the log.
        digest: PathBuf,
        /// The log's S3 key.
        key: String,
    },
    /// The `previousDigestHashValue` of the digest file `digest` (the
    /// finding's expected value).
    PreviousHash {
        /// The digest file that links to the finding's digest.
        digest: PathBuf,
    },
    /// The key-file entries with `fingerprint`, whose validity windows do
    /// not admit the time `signed`.
    KeyEntry {
        /// The digest's key fingerprint.
        fingerprint: String,
        /// When the digest was signed, as shown to people.
        signed: String,
    },
}

/// Bytes of the evidence (control characters escaped) with marked spans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Excerpt {
    /// The file (and part of it) the text comes from.
    pub name: String,
    /// The text shown.
    pub text: String,
    /// Marked byte ranges of `text`, each with what it is.
    pub marks: Vec<Mark>,
}

/// One marked span of an [`Excerpt`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    /// Byte range in the excerpt's text.
    pub span: std::ops::Range<usize>,
    /// What the span holds.
    pub label: String,
}

impl Finding {
    /// A finding of `code` about `object` with a message; help text is the
    /// code's default (see `default_help`) until replaced.
    #[must_use]
    pub fn new(code: FindingCode, object: impl Into<String>, message: impl Into<String>) -> Self {
        Finding {
            code,
            severity: code.severity(),
            object: object.into(),
            path: None,
            message: message.into(),
            expected: None,
            actual: None,
            compared: None,
            help: default_help(code).to_owned(),
            chain: None,
            locus: None,
            excerpt: None,
        }
    }

    /// Sets the local path.
    #[must_use]
    pub fn at(mut self, path: Option<PathBuf>) -> Self {
        self.path = path;
        self
    }

    /// Sets the expected and actual values.
    #[must_use]
    pub fn values(mut self, expected: impl Into<String>, actual: impl Into<String>) -> Self {
        self.expected = Some(expected.into());
        self.actual = Some(actual.into());
        self
    }

    /// Sets the expected and actual values and says what they are (see
    /// [`Finding::compared`]).
    #[must_use]
    pub fn hashes(
        mut self,
        compared: impl Into<String>,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) -> Self {
        self.compared = Some(compared.into());
        self.values(expected, actual)
    }

    /// `expected` as shown to people: with what it is when it is a hash.
    #[must_use]
    pub fn expected_shown(&self) -> Option<String> {
        self.expected.as_deref().map(|v| self.label(v))
    }

    /// `actual` as shown to people: with what it is when it is a hash.
    #[must_use]
    pub fn actual_shown(&self) -> Option<String> {
        self.actual.as_deref().map(|v| self.label(v))
    }

    fn label(&self, value: &str) -> String {
        match &self.compared {
            Some(what) if value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()) => {
                format!("{value} ({what})")
            }
            _ => value.to_owned(),
        }
    }

    /// Replaces the help text.
    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = help.into();
        self
    }

    /// Says where in the evidence the compared values are written.
    #[must_use]
    pub fn locus(mut self, locus: Locus) -> Self {
        self.locus = Some(Box::new(locus));
        self
    }

    /// Sets the chain identifier.
    #[must_use]
    pub fn in_chain(mut self, chain: Option<String>) -> Self {
        self.chain = chain;
        self
    }
}

fn lossy_path<S: serde::Serializer>(path: &Option<PathBuf>, s: S) -> Result<S::Ok, S::Error> {
    match path {
        Some(p) => s.serialize_str(&p.to_string_lossy()),
        None => s.serialize_none(),
    }
}

/// The help text a finding of `code` gets unless a check gives a more precise one.
#[must_use]
pub fn default_help(code: FindingCode) -> &'static str {
    if code.as_str().starts_with("query.") {
        return query_help(code);
    }
    if code.as_str().starts_with("mirror.") {
        return mirror_help(code);
    }
    match code {
        FindingCode::CheckpointHeadMissing
        | FindingCode::CheckpointHeadModified
        | FindingCode::CheckpointRollback
        | FindingCode::CheckpointFork
        | FindingCode::CheckpointChainMissing
        | FindingCode::ChainEndsEarly
        | FindingCode::ChainStopped
        | FindingCode::ChainStartsLate
        | FindingCode::ChainStarted => audit_help(code),
        FindingCode::DigestMissing => {
            "Restore the digest from the bucket (or its versions/backups) and re-run; if the mirror deliberately starts later, limit the run with --start-time."
        }
        FindingCode::DigestSignatureInvalid => {
            "Treat the digest as altered: compare it with the copy in S3 (`aws s3api head-object` for its metadata) and secure the original."
        }
        FindingCode::DigestModified => {
            "The file is not the digest CloudTrail delivered: fetch the original from S3 or its object versions and preserve this copy as evidence of tampering."
        }
        FindingCode::DigestMoved => {
            "A digest must sit at the key it names; move the copy back or find out who placed it here. The log files it lists were still checked."
        }
        FindingCode::DigestMalformed => {
            "The file cannot be read as a digest: re-download it from S3 and compare; a truncated or appended file points to tampering or a broken transfer."
        }
        FindingCode::DigestKeyUnknown => {
            "Save the region's public keys covering this time with `aws cloudtrail list-public-keys --region <region> --start-time <T> --end-time <T>` and pass the file with --public-keys."
        }
        FindingCode::DigestNotExamined => {
            "Raise --memory-budget-mib if the machine has the memory, or verify the mirror in parts (--start-time/--end-time, or one root per region); a mirror whose digests list far more log files than CloudTrail delivers may hold forged digests."
        }
        FindingCode::DigestUnsigned => {
            "Save the digest's S3 metadata beside it: `aws s3api head-object --bucket <bucket> --key <key> > <file>.metadata.json`."
        }
        FindingCode::ChainGap => {
            "Check CloudTrail's history (StopLogging/UpdateTrail events) for why logging or log file validation was off during the gap."
        }
        FindingCode::ChainOutOfOrder => {
            "The links between digests contradict their times: preserve the files and compare them with the bucket's object versions."
        }
        FindingCode::LogMissing => {
            "Restore the log file from S3 (or its object versions) into the mirror and re-run."
        }
        FindingCode::LogModified => {
            "The log file is not what CloudTrail delivered: fetch the original from S3 or its object versions and preserve this copy."
        }
        FindingCode::LogMalformed => {
            "The file is truncated, corrupt or has data appended: re-download it and compare; keep this copy as evidence."
        }
        FindingCode::LogUnreferenced => {
            "No digest vouches for this file: it may have been injected. Find out where it came from before relying on it."
        }
        FindingCode::LogUnverified => {
            "Fix the findings on the digest(s) listing this file (signature, key, metadata) to prove the file."
        }
        FindingCode::LogMoved => {
            "The log file's content is intact but it lies at another key: move it back (or find out who moved it); the evidence at its key was changed."
        }
        FindingCode::LogNotCovered => {
            "Restore the missing digest of its hour (see digest.missing or chain.gap), or treat this file as unverified evidence."
        }
        FindingCode::LogUnsafePath => {
            "The digest names a key that cannot be a plain file in the mirror; the file was not opened. Inspect the digest."
        }
        // Every other code: a collected folder's, or its bucket's history.
        _ => custody_help(code),
    }
}

/// The help of the codes that judge the mirror against earlier audits and
/// the time it was collected.
fn audit_help(code: FindingCode) -> &'static str {
    match code {
        FindingCode::ChainEndsEarly => {
            "Compare with `aws cloudtrail get-trail-status --name TRAIL` (IsLogging, LatestDigestDeliveryTime) and restore the missing digests and log files from the bucket or its object versions; if the mirror was taken earlier than --collected-at says, correct --collected-at."
        }
        FindingCode::ChainStopped => {
            "Logging was stopped by the call named: confirm it was authorised (change ticket, the caller's role). Nothing was delivered, so nothing can be verified, while the trail did not log."
        }
        FindingCode::ChainStartsLate => {
            "Find out why this region's digests begin later than the trail's others (a region enabled later, or the mirror missing its oldest digests: compare with the bucket); nothing before its first digest can be verified."
        }
        FindingCode::ChainStarted => {
            "Logging started by the call named: confirm it was authorised. Nothing was delivered in this region before it."
        }
        FindingCode::CheckpointHeadMissing
        | FindingCode::CheckpointRollback
        | FindingCode::CheckpointChainMissing => {
            "Restore the digests (and the log files they list) from the bucket's object versions or backups; if they are gone there too, the trail's newest records were destroyed after the last audit: secure what is left and escalate."
        }
        FindingCode::CheckpointHeadModified => {
            "Compare the file with the bucket's copy and its object versions; the checkpoint's hashes are what the last audit saw. Preserve this copy as evidence."
        }
        FindingCode::CheckpointFork => {
            "The chain after the last audit does not continue from what that audit saw: compare these digests with the bucket's object versions and preserve them as evidence."
        }
        _ => "",
    }
}

/// What to do about the findings of a collected folder and of its bucket's history.
fn custody_help(code: FindingCode) -> &'static str {
    match code {
        FindingCode::LogDeleted => {
            "Find out who deleted the object at the delete marker's time (CloudTrail data events, S3 server access logs); its events are lost unless a copy exists elsewhere."
        }
        FindingCode::LogDeletedVersionExists => {
            "Preserve the original version saved in the collection folder, find out who deleted the object, and restore it."
        }
        FindingCode::LogOverwrittenVersionExists => {
            "Preserve the original version saved in the collection folder, find out who overwrote the object, and compare both."
        }
        FindingCode::CollectionModified
        | FindingCode::CollectionAdded
        | FindingCode::CollectionRemoved => {
            "The collected folder was changed after `trailproof collect` took it: find out who had access to it since; run `trailproof collect` again into a new folder to get the bucket's objects."
        }
        FindingCode::CollectionConflict => {
            "Move the local file aside (keep it as evidence) and run `trailproof collect` again to fetch the bucket's object; compare the two."
        }
        FindingCode::CollectionIncomplete => {
            "Run the same `trailproof collect` command again: it fetches only what is missing and finishes the record."
        }
        FindingCode::CollectionRecordInvalid => {
            "Do not rely on this folder's chain of custody: collect again into a new folder, and keep this one as evidence of the change."
        }
        _ => "",
    }
}

/// What to do about what the mirror itself holds (links, names, permissions).
fn mirror_help(code: FindingCode) -> &'static str {
    match code {
        FindingCode::MirrorNotRegular => {
            "A bucket mirror holds only regular files: replace the link with the object itself (re-download it) and find out who placed the link."
        }
        FindingCode::MirrorUnreadable => {
            "Run as a user who can read the whole mirror (or give this user read access to a copy, never by changing the evidence itself) and re-run; nothing here was found to be tampered with."
        }
        FindingCode::MirrorInvalidName => {
            "No S3 key has such a name, so this file was placed in the mirror from elsewhere (or a copy tool broke its name): find out where it came from; it was not examined."
        }
        FindingCode::MirrorStrayFile => {
            "Not a CloudTrail object (a desktop's metadata file or an interrupted download, for example): remove it from a copy of the mirror, or find out where it came from."
        }
        _ => "",
    }
}

/// What to do about the findings of a CloudTrail Lake query export.
fn query_help(code: FindingCode) -> &'static str {
    match code {
        FindingCode::QuerySignFileMissing => {
            "Get the export again from its S3 location with result_sign.json (the query must have been run with signing on); without it the results prove nothing."
        }
        FindingCode::QuerySignFileMalformed => {
            "Compare result_sign.json with the copy in S3; if that one is the same, the export was not written by CloudTrail Lake: preserve it and ask who produced it."
        }
        FindingCode::QuerySignatureInvalid => {
            "Treat the export as altered: get it again from S3 (or CloudTrail Lake, by the query id), compare, and preserve this copy as evidence."
        }
        FindingCode::QueryKeyNotValid => {
            "Check that the key file is CloudTrail's list for the export's region and time (`aws cloudtrail list-public-keys --start-time QUERY_COMPLETE_TIME`); if it is, the sign file's time or key was forged."
        }
        FindingCode::QueryFileMissing => {
            "Get the file again from the export's S3 location; if it is gone there too, the results are incomplete: preserve what is left."
        }
        FindingCode::QueryFileModified => {
            "Get the file again from the export's S3 location and compare; preserve this copy as evidence of the change."
        }
        FindingCode::QueryFileNotRegular => {
            "Replace the link or special file by the file itself (copy the export with a tool that copies files, not links) and run again."
        }
        FindingCode::QueryUnsafeName => {
            "Preserve the export as evidence: CloudTrail Lake names result files result_N.csv.gz inside the export; a sign file that points elsewhere was not written by it."
        }
        FindingCode::QueryFileUnlisted => {
            "Keep the file apart from the results: nothing proves where it came from. An export copied together with other files (keys, notes) shows them here too."
        }
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Renaming a code breaks every consumer of the JSON report: this list
    /// may only grow.
    #[test]
    fn codes_are_stable_and_unique() {
        let codes: Vec<&str> = FindingCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(
            codes,
            [
                "digest.missing",
                "digest.signature_invalid",
                "digest.modified",
                "digest.moved",
                "digest.malformed",
                "digest.key_unknown",
                "digest.unsigned",
                "chain.gap",
                "chain.out_of_order",
                "log.missing",
                "log.modified",
                "log.malformed",
                "log.unreferenced",
                "log.unverified",
                "log.unsafe_path",
                "mirror.unreadable",
                "mirror.not_regular",
                "mirror.invalid_name",
                "mirror.stray_file",
                "log.moved",
                "log.not_covered",
                "digest.not_examined",
                "checkpoint.head_missing",
                "checkpoint.head_modified",
                "checkpoint.rollback",
                "checkpoint.fork",
                "chain.ends_early",
                "chain.stopped",
                "chain.starts_late",
                "chain.started",
                "checkpoint.chain_missing",
                "log.deleted",
                "log.deleted_version_exists",
                "log.overwritten_version_exists",
                "collection.modified",
                "collection.added",
                "collection.removed",
                "collection.conflict",
                "collection.incomplete",
                "collection.record_invalid",
                "query.sign_file_missing",
                "query.sign_file_malformed",
                "query.signature_invalid",
                "query.key_not_valid",
                "query.file_missing",
                "query.file_modified",
                "query.file_not_regular",
                "query.unsafe_name",
                "query.file_unlisted",
            ]
        );
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), codes.len());
    }

    #[test]
    fn warnings_are_the_documented_ones() {
        let warnings: Vec<&str> = FindingCode::ALL
            .iter()
            .filter(|c| c.severity() == Severity::Warning)
            .map(|c| c.as_str())
            .collect();
        assert_eq!(
            warnings,
            [
                "digest.unsigned",
                "chain.gap",
                "log.unverified",
                "mirror.unreadable",
                "mirror.stray_file",
                "log.not_covered",
                "digest.not_examined",
                "chain.stopped",
                "chain.starts_late",
                "chain.started",
                "collection.incomplete",
                "query.file_unlisted"
            ]
        );
    }
}
