//! Digest signatures: where they are found, what is signed, and verification.
//!
//! A digest's signature (hex, SHA256withRSA) is S3 user metadata of the
//! digest object (SPEC §3). Offline it can come from three places, tried in
//! this order:
//! 1. a sidecar `<digest file>.metadata.json`: the JSON `aws s3api
//!    head-object` prints (`Metadata.signature`, `Metadata.signature-algorithm`)
//!    or a bare `{"signature": …, "signature-algorithm": …}` map;
//! 2. the extended attributes `user.signature` / `user.signature-algorithm`
//!    (what `rclone --metadata` writes on Linux);
//! 3. the next digest's `previousDigestSignature`.
//!
//! A signature is self-authenticating: from whatever source, it is accepted
//! only if it verifies against a supplied public key.

use crate::digest::{Digest, SignatureText};
use crate::gzip::StoredHash;
use crate::keys::{KeyLookup, KeyRing, SigningTime, Validity};
use crate::mirror::{FileKind, Inventory, MirrorFile, SIDECAR_SUFFIX};
use rsa::sha2::Sha256;
use serde_json::Value;
use std::io::Read as _;

/// Largest sidecar read (a `head-object` dump is under a kilobyte).
const MAX_SIDECAR_BYTES: u64 = 1 << 20;

/// Where a signature came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureSource {
    /// `<digest>.metadata.json` beside the digest.
    Sidecar,
    /// `user.signature` extended attribute.
    Xattr,
    /// `previousDigestSignature` of the digest that links to this one.
    NextDigest,
}

impl std::fmt::Display for SignatureSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SignatureSource::Sidecar => "metadata sidecar",
            SignatureSource::Xattr => "extended attribute user.signature",
            SignatureSource::NextDigest => "next digest's previousDigestSignature",
        })
    }
}

/// The S3 metadata saved for a digest (from a sidecar or extended attributes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredMetadata {
    /// Where it was read from; `None` when nothing was saved.
    pub source: Option<SignatureSource>,
    /// `signature` (hex).
    pub signature: Option<SignatureText>,
    /// `signature-algorithm`.
    pub algorithm: Option<String>,
    /// `backfill-generation-timestamp` of backfill digests.
    pub backfill_generation: Option<String>,
    /// Why a sidecar that exists could not be used, if so.
    pub unreadable: Option<String>,
    /// Why a sidecar that exists could not be read at all (permissions, I/O):
    /// then nothing is known of the metadata, which is not held against the digest.
    pub read_error: Option<String>,
    /// SHA-256 and size of the sidecar file as read (evidence manifest).
    pub sidecar_stored: Option<StoredHash>,
}

/// Reads the metadata saved for the digest `file`: its sidecar if the walk
/// found one, else its extended attributes.
#[must_use]
pub fn read_metadata(inventory: &Inventory, file: &MirrorFile) -> StoredMetadata {
    let sidecar_rel = format!("{}{SIDECAR_SUFFIX}", file.rel);
    if let Some(sidecar) = inventory.find(file.root, &sidecar_rel) {
        let path = inventory.path_of(sidecar);
        let (parsed, stored) = if sidecar.kind == FileKind::NotRegular {
            (
                Err(SidecarError::Invalid(
                    "the sidecar is a link or special file and was not opened".to_owned(),
                )),
                None,
            )
        } else {
            read_sidecar(&path)
        };
        let mut meta = match parsed {
            Ok(meta) => meta,
            Err(SidecarError::Unreadable(reason)) => {
                // Nothing is known of the metadata: the digest is judged
                // without it, and the run reports what could not be read.
                let mut meta = read_xattrs(&inventory.path_of(file));
                meta.read_error = Some(reason);
                return meta;
            }
            Err(SidecarError::Invalid(reason)) => StoredMetadata {
                unreadable: Some(reason),
                ..StoredMetadata::default()
            },
        };
        meta.source = Some(SignatureSource::Sidecar);
        meta.sidecar_stored = stored;
        return meta;
    }
    read_xattrs(&inventory.path_of(file))
}

/// Why a sidecar gave no metadata.
enum SidecarError {
    /// It could not be read (permissions, I/O): nothing is known.
    Unreadable(String),
    /// It was read but is not usable metadata: held against the digest.
    Invalid(String),
}

/// Reads and parses a sidecar, with the hash of its bytes when it was read
/// whole.
fn read_sidecar(
    path: &std::path::Path,
) -> (Result<StoredMetadata, SidecarError>, Option<StoredHash>) {
    let mut bytes = Vec::new();
    if let Err(e) = crate::evidence::open_evidence(path)
        .and_then(|f| f.take(MAX_SIDECAR_BYTES + 1).read_to_end(&mut bytes))
    {
        return (Err(SidecarError::Unreadable(e.to_string())), None);
    }
    if bytes.len() as u64 > MAX_SIDECAR_BYTES {
        return (
            Err(SidecarError::Invalid(format!(
                "the sidecar is larger than {MAX_SIDECAR_BYTES} bytes"
            ))),
            None,
        );
    }
    (
        parse_sidecar(&bytes).map_err(SidecarError::Invalid),
        Some(StoredHash::of(&bytes)),
    )
}

/// Parses sidecar JSON: a `head-object` dump (`{"Metadata": {…}}`) or a bare
/// metadata map. Keys match case-insensitively, with or without `x-amz-meta-`.
///
/// # Errors
/// A sentence when the bytes are not such JSON.
pub fn parse_sidecar(bytes: &[u8]) -> Result<StoredMetadata, String> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("the sidecar is not JSON: {e}"))?;
    let Value::Object(top) = value else {
        return Err("the sidecar is not a JSON object".to_owned());
    };
    let map = top
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Metadata"))
        .and_then(|(_, v)| v.as_object())
        .unwrap_or(&top);
    // Keys match whatever the JSON map's order: two spellings of one entry
    // with different values make the sidecar ambiguous, so it is refused.
    let field = |name: &str| -> Result<Option<String>, String> {
        let mut values = map.iter().filter(|(k, _)| {
            let k = k.to_ascii_lowercase();
            k == name || k.strip_prefix("x-amz-meta-") == Some(name)
        });
        let first = values
            .next()
            .and_then(|(_, v)| v.as_str())
            .map(str::to_owned);
        if values.any(|(_, v)| v.as_str() != first.as_deref()) {
            return Err(format!("the sidecar has conflicting `{name}` entries"));
        }
        Ok(first)
    };
    Ok(StoredMetadata {
        source: None,
        signature: field("signature")?.map(|text| SignatureText::new(&text)),
        algorithm: field("signature-algorithm")?,
        backfill_generation: field("backfill-generation-timestamp")?,
        unreadable: None,
        read_error: None,
        sidecar_stored: None,
    })
}

fn read_xattrs(path: &std::path::Path) -> StoredMetadata {
    // xattr::get uses lgetxattr: a link is never followed.
    let get = |name: &str| -> Option<String> {
        xattr::get(path, name)
            .ok()
            .flatten()
            .filter(|v| v.len() <= 64 << 10)
            .map(|v| String::from_utf8_lossy(&v).into_owned())
    };
    let signature = get("user.signature");
    let algorithm = get("user.signature-algorithm");
    let backfill_generation = get("user.backfill-generation-timestamp");
    StoredMetadata {
        source: (signature.is_some() || algorithm.is_some()).then_some(SignatureSource::Xattr),
        signature: signature.map(|text| SignatureText::new(&text)),
        algorithm,
        backfill_generation,
        unreadable: None,
        read_error: None,
        sidecar_stored: None,
    }
}

/// The exact bytes CloudTrail signs (SPEC §2):
/// `digestEndTime \n digestS3Bucket/digestS3Object \n hex(sha256(inflated digest)) \n previousDigestSignature-or-null`.
#[must_use]
pub fn signing_string(digest: &Digest) -> Vec<u8> {
    SignedFields {
        end_time: &digest.end_time_text,
        bucket: &digest.bucket,
        object: &digest.object,
        content_sha256_hex: &digest.content_sha256_hex(),
        previous_signature: digest
            .previous_signature
            .as_ref()
            .map(SignatureText::text)
            .as_deref(),
    }
    .signing_string()
}

/// The fields of a digest its signature covers, as written in it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SignedFields<'a> {
    /// `digestEndTime`, verbatim.
    pub end_time: &'a str,
    /// `digestS3Bucket`.
    pub bucket: &'a str,
    /// `digestS3Object`.
    pub object: &'a str,
    /// Lower-case hex SHA-256 of the inflated digest.
    pub content_sha256_hex: &'a str,
    /// `previousDigestSignature`, `None` for JSON null.
    pub previous_signature: Option<&'a str>,
}

impl SignedFields<'_> {
    /// The signing string of these fields (see [`signing_string`]).
    #[must_use]
    pub fn signing_string(&self) -> Vec<u8> {
        format!(
            "{}\n{}/{}\n{}\n{}",
            self.end_time,
            self.bucket,
            self.object,
            self.content_sha256_hex,
            self.previous_signature.unwrap_or("null")
        )
        .into_bytes()
    }

    /// Verifies a hex signature over these fields with `key` (as [`verify`]).
    ///
    /// # Errors
    /// [`SignatureError`].
    pub fn verify(
        &self,
        key: &rsa::PublicKey,
        signature: &SignatureText,
    ) -> Result<(), SignatureError> {
        let signature = signature.bytes().ok_or(SignatureError::NotHex)?;
        key.pkcs1v15_verify::<Sha256>(&self.signing_string(), &signature)
            .map_err(|_| SignatureError::Mismatch)
    }
}

/// Why one signature did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The text is not hexadecimal bytes.
    #[error("the signature is not hexadecimal")]
    NotHex,
    /// The RSA check failed.
    #[error("the signature does not match the digest's content and key")]
    Mismatch,
}

/// Verifies a hex signature (either case, as the CLI's `unhexlify`) over the
/// digest's signing string with SHA256withRSA (PKCS#1 v1.5, SHA-256 only).
///
/// # Errors
/// [`SignatureError`].
pub fn verify(
    key: &rsa::PublicKey,
    digest: &Digest,
    signature: &SignatureText,
) -> Result<(), SignatureError> {
    let signature = signature.bytes().ok_or(SignatureError::NotHex)?;
    key.pkcs1v15_verify::<Sha256>(&signing_string(digest), &signature)
        .map_err(|_| SignatureError::Mismatch)
}

/// What signature checking concluded about one digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authentication {
    /// The source whose signature verified, if any: the content is then authentic.
    pub verified_by: Option<SignatureSource>,
    /// The problem to report, if any.
    pub problem: Option<SignatureProblem>,
}

/// A signature problem that becomes a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureProblem {
    /// No key has the digest's fingerprint.
    KeyUnknown,
    /// Keys with the fingerprint exist but none is valid at the digest's time.
    KeyOutsideValidity {
        /// The time the key was needed for.
        at: SigningTime,
        /// Their validity windows.
        windows: Vec<Validity>,
    },
    /// The stored signature (or, without one, the chain's) does not verify.
    Invalid {
        /// Which source failed.
        source: SignatureSource,
        /// Why.
        reason: String,
        /// Another source whose signature did verify (content still authentic).
        rescued_by: Option<SignatureSource>,
    },
    /// No signature from any source.
    Unsigned,
}

/// Checks a parsed digest's signatures.
///
/// The metadata signature (sidecar or xattr) is what S3 stores for the
/// object: if it exists and does not verify, that is reported even when the
/// next digest's copy verifies. Without metadata, the next digests' copies
/// are tried; the first that verifies authenticates the content.
#[must_use]
pub fn authenticate(
    digest: &Digest,
    metadata: &StoredMetadata,
    chain_signatures: &[&SignatureText],
    keys: &KeyRing,
    backfill: bool,
) -> Authentication {
    let at = if backfill {
        SigningTime::AtOrAfter(digest.end_time)
    } else {
        SigningTime::At(digest.end_time)
    };
    let key = match keys.lookup(&digest.fingerprint, at) {
        KeyLookup::Found(entry) => &entry.key,
        KeyLookup::Unknown => return failed(SignatureProblem::KeyUnknown),
        KeyLookup::OutsideValidity(windows) => {
            return failed(SignatureProblem::KeyOutsideValidity { at, windows });
        }
    };
    let chain_verified = || {
        chain_signatures
            .iter()
            .any(|s| verify(key, digest, s).is_ok())
            .then_some(SignatureSource::NextDigest)
    };
    if let Some(source) = metadata.source {
        // Like the AWS CLI, saved metadata without both entries is a failed check.
        let outcome = match (
            &metadata.unreadable,
            &metadata.signature,
            &metadata.algorithm,
        ) {
            (Some(reason), _, _) => Err(reason.clone()),
            (None, None, _) => Err("the saved metadata has no `signature` entry".to_owned()),
            (None, Some(_), None) => {
                Err("the saved metadata has no `signature-algorithm` entry".to_owned())
            }
            (None, Some(sig), Some(_)) => verify(key, digest, sig).map_err(|e| e.to_string()),
        };
        return match outcome {
            Ok(()) => Authentication {
                verified_by: Some(source),
                problem: None,
            },
            Err(reason) => {
                let rescued_by = chain_verified();
                Authentication {
                    verified_by: rescued_by,
                    problem: Some(SignatureProblem::Invalid {
                        source,
                        reason,
                        rescued_by,
                    }),
                }
            }
        };
    }
    if chain_signatures.is_empty() {
        return failed(SignatureProblem::Unsigned);
    }
    match chain_verified() {
        Some(source) => Authentication {
            verified_by: Some(source),
            problem: None,
        },
        None => failed(SignatureProblem::Invalid {
            source: SignatureSource::NextDigest,
            reason: SignatureError::Mismatch.to_string(),
            rescued_by: None,
        }),
    }
}

fn failed(problem: SignatureProblem) -> Authentication {
    Authentication {
        verified_by: None,
        problem: Some(problem),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;

    /// The AWS CLI's unit-test vector (SPEC §2).
    #[test]
    fn signing_string_matches_cli_vector() {
        let mut d = crate::digest::parse(
            br#"{"digestStartTime":"2015-08-17T14:01:31Z","digestEndTime":"a","digestS3Bucket":"b","digestS3Object":"c","digestPublicKeyFingerprint":"f","previousDigestSignature":null,"logFiles":[]}"#,
        )
        .unwrap_err();
        // "a" is not a timestamp, so build the digest by hand around the vector.
        let _ = &mut d;
        let digest = Digest {
            account_id: None,
            start_time: Timestamp::UNIX_EPOCH,
            end_time: Timestamp::UNIX_EPOCH,
            end_time_text: "a".into(),
            bucket: "b".into(),
            object: "c".into(),
            fingerprint: String::new(),
            signature_algorithm: None,
            previous: None,
            previous_signature: None,
            log_files: vec![],
            content_sha256: <[u8; 32]>::try_from(
                hex::decode("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
                    .unwrap(),
            )
            .unwrap(),
        };
        assert_eq!(
            signing_string(&digest),
            b"a\nb/c\nba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\nnull"
        );
    }

    #[test]
    fn sidecar_forms() {
        let head = br#"{"AcceptRanges":"bytes","ContentLength":1,"Metadata":{"signature":"ab","signature-algorithm":"SHA256withRSA"}}"#;
        let m = parse_sidecar(head).unwrap();
        assert_eq!(m.signature, Some(SignatureText::new("ab")));
        assert_eq!(m.algorithm.as_deref(), Some("SHA256withRSA"));
        let bare = br#"{"x-amz-meta-signature":"cd","backfill-generation-timestamp":"2025-09-01T00:00:00Z"}"#;
        let m = parse_sidecar(bare).unwrap();
        assert_eq!(m.signature, Some(SignatureText::new("cd")));
        assert_eq!(
            m.backfill_generation.as_deref(),
            Some("2025-09-01T00:00:00Z")
        );
        assert!(parse_sidecar(b"[1]").is_err());
        // Two spellings with different values: ambiguous whatever the map order.
        assert!(parse_sidecar(br#"{"signature":"aa","Signature":"bb"}"#).is_err());
        assert!(parse_sidecar(br#"{"signature":"aa","x-amz-meta-signature":"aa"}"#).is_ok());
        assert!(parse_sidecar(b"{").is_err());
    }
}
