//! Digest files: reading one from the mirror into a validated [`Digest`].
//!
//! A digest is gzip of one JSON object (SPEC §1). [`parse`] inflates it with
//! a bound ([`crate::gzip`]), hashes the inflated bytes (they are what the
//! signature and the next digest's `previousDigestHashValue` cover) and
//! checks the fields the AWS CLI requires plus `logFiles`.

use crate::gzip::{self, GzipError, StoredHash};
use jiff::Timestamp;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use std::io::BufReader;

/// Default bound on a digest's inflated size (real digests are kilobytes to a few MB).
pub const DEFAULT_MAX_DIGEST_BYTES: u64 = 64 << 20;

/// Longest S3 key (S3's own limit); longer fields make the digest malformed.
const MAX_KEY_LEN: usize = 1024;

/// Why a file is not a usable digest.
#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    /// The file could not be opened or read.
    #[error("cannot read the file: {0}")]
    Io(#[source] std::io::Error),
    /// Not one complete gzip member.
    #[error(transparent)]
    Gzip(#[from] GzipError),
    /// The inflated content is not the expected JSON object.
    #[error("the content is not a valid digest JSON object: {0}")]
    Json(String),
    /// A required field is absent or null.
    #[error("required field `{0}` is missing or null")]
    MissingField(&'static str),
    /// Reading the file hit an internal error (a bug): the file could not be checked.
    #[error("internal error while reading the digest: {0}")]
    Internal(String),
    /// A field has an impossible value.
    #[error("field `{field}` is invalid: {reason}")]
    InvalidField {
        /// JSON field name.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// The digest JSON as it is on disk; every field optional so that absence
/// is reported precisely instead of as a generic parse error.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDigest<'a> {
    aws_account_id: Option<String>,
    digest_start_time: Option<String>,
    digest_end_time: Option<String>,
    #[serde(rename = "digestS3Bucket")]
    digest_s3_bucket: Option<String>,
    #[serde(rename = "digestS3Object")]
    digest_s3_object: Option<String>,
    digest_public_key_fingerprint: Option<String>,
    digest_signature_algorithm: Option<String>,
    #[serde(rename = "previousDigestS3Bucket")]
    previous_digest_s3_bucket: Option<String>,
    #[serde(rename = "previousDigestS3Object")]
    previous_digest_s3_object: Option<String>,
    previous_digest_hash_value: Option<String>,
    previous_digest_hash_algorithm: Option<String>,
    /// Outer `None`: key absent; inner `None`: JSON null.
    #[serde(default, deserialize_with = "present")]
    previous_digest_signature: Option<Option<String>>,
    #[serde(borrow)]
    log_files: Option<Vec<RawLogFile<'a>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
/// Borrowed from the inflated bytes where the JSON string has no escapes:
/// a digest may list thousands of log files.
struct RawLogFile<'a> {
    #[serde(rename = "s3Bucket", borrow)]
    s3_bucket: std::borrow::Cow<'a, str>,
    #[serde(rename = "s3Object", borrow)]
    s3_object: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    hash_value: std::borrow::Cow<'a, str>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// A signature as text (`previousDigestSignature`, a sidecar's
/// `signature`): hex as CloudTrail writes it is kept as the bytes it
/// encodes (half the memory; a large archive holds one per digest), any
/// other text verbatim. Either way [`SignatureText::text`] gives back the
/// exact text, which the signing string needs.
#[derive(Clone, PartialEq, Eq)]
pub enum SignatureText {
    /// Lower-case hex that round-trips exactly: the bytes it encodes.
    Hex(Box<[u8]>),
    /// Anything else, verbatim.
    Verbatim(Box<str>),
}

impl SignatureText {
    /// Keeps `text` in the compact form when it round-trips exactly.
    #[must_use]
    pub fn new(text: &str) -> Self {
        let lower_hex = text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        match hex::decode(text) {
            Ok(bytes) if lower_hex => SignatureText::Hex(bytes.into_boxed_slice()),
            _ => SignatureText::Verbatim(text.into()),
        }
    }

    /// The text exactly as it was given.
    #[must_use]
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            SignatureText::Hex(bytes) => std::borrow::Cow::Owned(hex::encode(bytes)),
            SignatureText::Verbatim(text) => std::borrow::Cow::Borrowed(text),
        }
    }

    /// The signature's bytes: the hex decoded (surrounding white space
    /// ignored); `None` when the text is not hex.
    #[must_use]
    pub fn bytes(&self) -> Option<std::borrow::Cow<'_, [u8]>> {
        match self {
            SignatureText::Hex(bytes) => Some(std::borrow::Cow::Borrowed(bytes)),
            SignatureText::Verbatim(text) => {
                hex::decode(text.trim()).ok().map(std::borrow::Cow::Owned)
            }
        }
    }
}

impl std::fmt::Debug for SignatureText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.text())
    }
}

impl From<&str> for SignatureText {
    fn from(text: &str) -> Self {
        SignatureText::new(text)
    }
}

/// Where the previous digest is and what it should hash to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousLink {
    /// `previousDigestS3Bucket`.
    pub bucket: String,
    /// `previousDigestS3Object`.
    pub object: String,
    /// `previousDigestHashValue` (hex SHA-256 of the previous digest's inflated bytes).
    pub hash_value: Option<String>,
}

/// One entry of `logFiles`, kept compact: a digest store may list millions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFileRef {
    /// `s3Bucket` (shared with the other entries naming the same bucket).
    pub bucket: std::sync::Arc<str>,
    /// `s3Object`.
    pub object: Box<str>,
    /// `hashValue`: SHA-256 of the uncompressed log file.
    pub hash: ExpectedHash,
}

impl DigestError {
    /// Whether the file could not be read at all (permissions, I/O): says
    /// nothing about its content.
    #[must_use]
    pub fn is_unreadable(&self) -> bool {
        matches!(
            self,
            DigestError::Io(_) | DigestError::Gzip(GzipError::Io(_))
        )
    }
}

/// A `hashValue` as the digest gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpectedHash {
    /// 64 lower-case hex digits, as CloudTrail writes them.
    Sha256([u8; 32]),
    /// Anything else (kept verbatim; it can never match, as in the AWS CLI's
    /// case-sensitive string comparison).
    Text(Box<str>),
}

impl ExpectedHash {
    /// Parses a `hashValue`.
    #[must_use]
    pub fn new(text: &str) -> Self {
        let lower_hex = text.len() == 64
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        let mut bytes = [0u8; 32];
        match hex::decode_to_slice(text, &mut bytes) {
            Ok(()) if lower_hex => ExpectedHash::Sha256(bytes),
            _ => ExpectedHash::Text(text.into()),
        }
    }

    /// Whether a computed SHA-256 is the expected one.
    #[must_use]
    pub fn matches(&self, actual: &[u8; 32]) -> bool {
        matches!(self, ExpectedHash::Sha256(expected) if expected == actual)
    }
}

impl std::fmt::Display for ExpectedHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExpectedHash::Sha256(bytes) => f.write_str(&hex::encode(bytes)),
            ExpectedHash::Text(text) => f.write_str(text),
        }
    }
}

/// A digest file that parsed, with the values the checks need.
#[derive(Debug, Clone)]
pub struct Digest {
    /// `awsAccountId`.
    pub account_id: Option<String>,
    /// `digestStartTime`.
    pub start_time: Timestamp,
    /// `digestEndTime`.
    pub end_time: Timestamp,
    /// `digestEndTime` verbatim, as it enters the signing string.
    pub end_time_text: String,
    /// `digestS3Bucket`.
    pub bucket: String,
    /// `digestS3Object`.
    pub object: String,
    /// `digestPublicKeyFingerprint`.
    pub fingerprint: String,
    /// `digestSignatureAlgorithm`, if present.
    pub signature_algorithm: Option<String>,
    /// The previous digest, `None` for a chain's starting digest (bucket or object null).
    pub previous: Option<PreviousLink>,
    /// `previousDigestSignature` (`None` when JSON null).
    pub previous_signature: Option<SignatureText>,
    /// `logFiles`.
    pub log_files: Vec<LogFileRef>,
    /// SHA-256 of the inflated file: what the signature and the next digest cover.
    pub content_sha256: [u8; 32],
}

impl Digest {
    /// Hex of [`Digest::content_sha256`].
    #[must_use]
    pub fn content_sha256_hex(&self) -> String {
        hex::encode(self.content_sha256)
    }
}

/// A digest file as read: the hash of its inflated bytes when it inflated,
/// and the parsed digest or why it is not one.
#[derive(Debug)]
pub struct DigestFile {
    /// SHA-256 of the inflated bytes, when the gzip stream was valid (even
    /// if the JSON is not): lets a link's `previousDigestHashValue` be checked.
    pub inflated_sha256: Option<[u8; 32]>,
    /// The parsed digest, or why the file is not one.
    pub parsed: Result<Digest, DigestError>,
    /// SHA-256 and size of the file's stored (compressed) bytes, for the
    /// evidence manifest; `None` when it could not be read to its end.
    pub stored: Option<StoredHash>,
}

/// Digests up to this inflated size are read in parallel; a larger one
/// (up to the run's bound) is read again under [`LARGE_DIGEST`], one at a
/// time, so peak memory is `workers × 4 MiB + bound`, not `workers × bound`.
const PARALLEL_INFLATE_BYTES: u64 = 4 << 20;

/// Serializes the inflation of large digests.
static LARGE_DIGEST: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Reads and validates the digest file at `path`, inflating at most
/// `max_inflated` bytes.
#[must_use]
pub fn read(path: &std::path::Path, max_inflated: u64) -> DigestFile {
    let small = PARALLEL_INFLATE_BYTES.min(max_inflated);
    match inflate_file(path, small) {
        (Err(DigestError::Gzip(GzipError::TooLarge { .. })), _) if max_inflated > small => {
            let _one_at_a_time = LARGE_DIGEST
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            finish_read(inflate_file(path, max_inflated))
        }
        first => finish_read(first),
    }
}

/// The inflated bytes of the digest file at `path` (at most `limit`), for
/// showing it again after the checks.
pub(crate) fn read_inflated(path: &std::path::Path, limit: u64) -> Result<Vec<u8>, DigestError> {
    inflate_file(path, limit).0
}

fn inflate_file(
    path: &std::path::Path,
    limit: u64,
) -> (Result<Vec<u8>, DigestError>, Option<StoredHash>) {
    match crate::evidence::open_evidence(path) {
        Ok(file) => {
            let (inflated, stored) =
                gzip::inflate_bounded_stored(BufReader::with_capacity(64 << 10, file), limit);
            (inflated.map_err(DigestError::from), stored)
        }
        Err(e) => (Err(DigestError::Io(e)), None),
    }
}

fn finish_read(
    (inflated, stored): (Result<Vec<u8>, DigestError>, Option<StoredHash>),
) -> DigestFile {
    match inflated {
        Ok(bytes) => {
            let sha256 = Sha256::digest(&bytes).into();
            DigestFile {
                inflated_sha256: Some(sha256),
                parsed: parse_hashed(&bytes, sha256),
                stored,
            }
        }
        Err(e) => DigestFile {
            inflated_sha256: None,
            parsed: Err(e),
            stored,
        },
    }
}

/// Validates inflated digest JSON.
///
/// # Errors
/// A [`DigestError`] for invalid JSON, missing or invalid fields.
pub fn parse(inflated: &[u8]) -> Result<Digest, DigestError> {
    parse_hashed(inflated, Sha256::digest(inflated).into())
}

fn parse_hashed(inflated: &[u8], content_sha256: [u8; 32]) -> Result<Digest, DigestError> {
    // serde_json does not check strings it skips; the AWS CLI decodes the
    // whole file as UTF-8 first, and so do we.
    if let Err(e) = std::str::from_utf8(inflated) {
        return Err(DigestError::Json(format!(
            "the content is not valid UTF-8: {e}"
        )));
    }
    let raw: RawDigest =
        serde_json::from_slice(inflated).map_err(|e| DigestError::Json(e.to_string()))?;
    let required =
        |value: Option<String>, field: &'static str| value.ok_or(DigestError::MissingField(field));
    let start_text = required(raw.digest_start_time, "digestStartTime")?;
    let end_time_text = required(raw.digest_end_time, "digestEndTime")?;
    let bucket = required(raw.digest_s3_bucket, "digestS3Bucket")?;
    let object = required(raw.digest_s3_object, "digestS3Object")?;
    let fingerprint = required(
        raw.digest_public_key_fingerprint,
        "digestPublicKeyFingerprint",
    )?;
    let previous_signature = raw
        .previous_digest_signature
        .ok_or(DigestError::MissingField("previousDigestSignature"))?
        .map(|text| SignatureText::new(&text));
    let log_files = raw.log_files.ok_or(DigestError::MissingField("logFiles"))?;

    let start_time = parse_time(&start_text, "digestStartTime")?;
    let end_time = parse_time(&end_time_text, "digestEndTime")?;
    check_key(&object, "digestS3Object")?;
    let previous = match (raw.previous_digest_s3_bucket, raw.previous_digest_s3_object) {
        (Some(bucket), Some(object)) => {
            check_key(&object, "previousDigestS3Object")?;
            Some(PreviousLink {
                bucket,
                object,
                hash_value: raw.previous_digest_hash_value,
            })
        }
        _ => None,
    };
    let _ = raw.previous_digest_hash_algorithm;
    let mut buckets: Vec<std::sync::Arc<str>> = Vec::new();
    let log_files = log_files
        .into_iter()
        .map(|f| {
            check_key(&f.s3_object, "logFiles[].s3Object")?;
            let bucket = match buckets.iter().find(|b| ***b == *f.s3_bucket) {
                Some(b) => b.clone(),
                None => {
                    let b: std::sync::Arc<str> = f.s3_bucket.into();
                    buckets.push(b.clone());
                    b
                }
            };
            Ok(LogFileRef {
                bucket,
                object: f.s3_object.into(),
                hash: ExpectedHash::new(&f.hash_value),
            })
        })
        .collect::<Result<Vec<_>, DigestError>>()?;
    Ok(Digest {
        account_id: raw.aws_account_id,
        start_time,
        end_time,
        end_time_text,
        bucket,
        object,
        fingerprint,
        signature_algorithm: raw.digest_signature_algorithm,
        previous,
        previous_signature,
        log_files,
        content_sha256,
    })
}

fn parse_time(text: &str, field: &'static str) -> Result<Timestamp, DigestError> {
    text.parse()
        .map_err(|e: jiff::Error| DigestError::InvalidField {
            field,
            reason: format!("{text:?} is not a timestamp: {e}"),
        })
}

fn check_key(key: &str, field: &'static str) -> Result<(), DigestError> {
    if key.len() > MAX_KEY_LEN {
        return Err(DigestError::InvalidField {
            field,
            reason: format!(
                "{} bytes long, more than an S3 key can be ({MAX_KEY_LEN})",
                key.len()
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_text_gives_back_exactly_what_it_was_given() {
        for text in [
            "", "00ff", "deadbeef", "DEADBEEF", "DeadBeef", " 00ff", "00ff\n", "0", "0g", "null",
        ] {
            assert_eq!(SignatureText::new(text).text(), text, "{text:?}");
        }
        assert!(matches!(SignatureText::new("00ff"), SignatureText::Hex(b) if *b == [0, 255]));
        assert!(matches!(
            SignatureText::new("00FF"),
            SignatureText::Verbatim(_)
        ));
        assert!(matches!(
            SignatureText::new("abc"),
            SignatureText::Verbatim(_)
        ));
        assert!(matches!(
            SignatureText::new("00ff "),
            SignatureText::Verbatim(_)
        ));
    }

    #[test]
    fn signature_text_bytes_decode_any_hex_and_refuse_the_rest() {
        let bytes = |t: &str| SignatureText::new(t).bytes().map(|b| b.into_owned());
        assert_eq!(bytes("00ff"), Some(vec![0, 255]));
        assert_eq!(bytes("00FF"), Some(vec![0, 255]));
        assert_eq!(bytes(" 00ff\n"), Some(vec![0, 255]));
        assert_eq!(bytes(""), Some(vec![]));
        assert_eq!(bytes("0"), None);
        assert_eq!(bytes("zz"), None);
        assert_eq!(SignatureText::new("00ff"), SignatureText::from("00ff"));
        assert_ne!(SignatureText::new("00ff"), SignatureText::new("00FF"));
        assert_eq!(format!("{:?}", SignatureText::new("00ff")), "\"00ff\"");
    }

    const SAMPLE: &str = r#"{"awsAccountId":"111122223333","digestStartTime":"2015-08-17T14:01:31Z","digestEndTime":"2015-08-17T15:01:31Z","digestS3Bucket":"b","digestS3Object":"AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_t_us-east-2_20150817T150131Z.json.gz","digestPublicKeyFingerprint":"31e8b5433410dfb61a9dc45cc65b22ff","digestSignatureAlgorithm":"SHA256withRSA","newestEventTime":null,"oldestEventTime":null,"previousDigestS3Bucket":null,"previousDigestS3Object":null,"previousDigestHashValue":null,"previousDigestHashAlgorithm":null,"previousDigestSignature":null,"logFiles":[]}"#;

    #[test]
    fn sample_parses() {
        let d = parse(SAMPLE.as_bytes()).unwrap();
        assert_eq!(d.end_time_text, "2015-08-17T15:01:31Z");
        assert!(d.previous.is_none());
        assert!(d.previous_signature.is_none());
        assert!(d.log_files.is_empty());
    }

    #[test]
    fn expected_hashes_match_only_lower_case_sha256() {
        let sha = [0xabu8; 32];
        assert!(ExpectedHash::new(&hex::encode(sha)).matches(&sha));
        assert!(!ExpectedHash::new(&hex::encode(sha).to_uppercase()).matches(&sha));
        assert!(!ExpectedHash::new("abc").matches(&sha));
        assert_eq!(ExpectedHash::new("XYZ").to_string(), "XYZ");
        assert_eq!(
            ExpectedHash::new(&hex::encode(sha)).to_string(),
            hex::encode(sha)
        );
    }

    #[test]
    fn missing_required_fields_are_named() {
        for field in [
            "digestStartTime",
            "digestEndTime",
            "digestS3Bucket",
            "digestS3Object",
            "digestPublicKeyFingerprint",
            "previousDigestSignature",
            "logFiles",
        ] {
            let mut v: serde_json::Value = serde_json::from_str(SAMPLE).unwrap();
            v.as_object_mut().unwrap().remove(field);
            let err = parse(v.to_string().as_bytes()).unwrap_err();
            assert!(
                matches!(err, DigestError::MissingField(f) if f == field),
                "{field}: {err:?}"
            );
        }
    }

    #[test]
    fn every_prefix_is_rejected() {
        for len in 0..SAMPLE.len() {
            assert!(parse(&SAMPLE.as_bytes()[..len]).is_err(), "prefix {len}");
        }
    }

    #[test]
    fn wrong_types_and_duplicates_are_rejected() {
        let bad = [
            SAMPLE.replace("\"logFiles\":[]", "\"logFiles\":{}"),
            SAMPLE.replace("\"digestS3Bucket\":\"b\"", "\"digestS3Bucket\":7"),
            SAMPLE.replace(
                "\"digestS3Bucket\":\"b\"",
                "\"digestS3Bucket\":\"b\",\"digestS3Bucket\":\"c\"",
            ),
            SAMPLE.replace("2015-08-17T15:01:31Z\"", "yesterday\""),
            "[]".to_owned(),
            "{\"x\": \"\u{0}\"}".to_owned(),
            "{} {}".to_owned(),
        ];
        for text in bad {
            assert!(parse(text.as_bytes()).is_err(), "{text}");
        }
        let mut invalid_utf8 = SAMPLE
            .replace(
                "\"awsAccountId\"",
                "\"unknownField\":\"\u{1}\",\"awsAccountId\"",
            )
            .into_bytes();
        let at = invalid_utf8.iter().position(|&b| b == 1).unwrap();
        invalid_utf8[at] = 0xff;
        assert!(matches!(parse(&invalid_utf8), Err(DigestError::Json(m)) if m.contains("UTF-8")));
    }
}
