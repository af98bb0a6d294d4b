//! # trailproof-testgen: TEST-ONLY CloudTrail bucket mirrors
//!
//! Builds realistic local mirrors of AWS CloudTrail S3 buckets (log files, hourly digest files,
//! digest signatures, a `list-public-keys`-style key file) for trailproof's tests, demo and
//! benchmarks, and offers helpers to tamper with them afterwards.
//!
//! **Everything this crate signs is signed with TEST-ONLY keys** (`testdata/keys/TEST-ONLY-*.pem`).
//! The private keys are public on purpose: a digest signed with them proves nothing about AWS.
//! Never load them outside tests.
//!
//! This is an independent implementation of the CloudTrail digest format (it shares no code with
//! trailproof's verifier); the facts it follows are those of `/work/shared/SPEC.md` (digest JSON
//! fields §1, signing string §2, signature metadata §3, keys §4, S3 key layouts §5, chains §6).
//!
//! ```no_run
//! use trailproof_testgen::{MirrorBuilder, TrailSpec, KeyId};
//! let mirror = MirrorBuilder::new("/tmp/case").trail(TrailSpec::small(7)).build();
//! let victim = &mirror.digests[2];
//! mirror.resign(&victim.key, KeyId::Attacker);
//! ```

#![warn(missing_docs)]

mod build;
pub mod lake;
mod mirror;
mod records;
mod spec;

use std::io::{Read, Write};
use std::sync::OnceLock;

use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
use serde_json::Value;
use sha2::Digest as _;

pub use build::MirrorBuilder;
pub use mirror::{
    DigestEntry, LogEntry, Mirror, SIDECAR_SUFFIX, XATTR_BACKFILL_GENERATION, XATTR_SIGNATURE,
    XATTR_SIGNATURE_ALGORITHM, key_file_json,
};
pub use spec::{SignatureStore, TrailEvent, TrailSpec};

/// Re-export of the timestamp type used throughout the API.
pub use jiff::Timestamp;

/// One of the TEST-ONLY RSA-2048 key pairs in `testdata/keys/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyId {
    /// `TEST-ONLY-key-1.pem`: stand-in for a CloudTrail regional signing key.
    One,
    /// `TEST-ONLY-key-2.pem`: stand-in for a CloudTrail regional signing key.
    Two,
    /// `TEST-ONLY-key-3.pem`: stand-in for a CloudTrail regional signing key.
    Three,
    /// `TEST-ONLY-key-attacker.pem`: never published in the generated public-key files (forgeries).
    Attacker,
}

impl KeyId {
    /// All keys, in declaration order.
    pub const ALL: [KeyId; 4] = [KeyId::One, KeyId::Two, KeyId::Three, KeyId::Attacker];

    fn index(self) -> usize {
        match self {
            KeyId::One => 0,
            KeyId::Two => 1,
            KeyId::Three => 2,
            KeyId::Attacker => 3,
        }
    }

    fn pem(self) -> &'static str {
        match self {
            KeyId::One => include_str!("../../keys/TEST-ONLY-key-1.pem"),
            KeyId::Two => include_str!("../../keys/TEST-ONLY-key-2.pem"),
            KeyId::Three => include_str!("../../keys/TEST-ONLY-key-3.pem"),
            KeyId::Attacker => include_str!("../../keys/TEST-ONLY-key-attacker.pem"),
        }
    }
}

/// A parsed TEST-ONLY RSA-2048 key pair (private key embedded in the crate; never use for real).
pub struct TestKey {
    id: KeyId,
    private: rsa::PrivateKey,
    public_der: Vec<u8>,
}

static KEYS: [OnceLock<TestKey>; 4] = [const { OnceLock::new() }; 4];

impl TestKey {
    /// The key `id`, parsed from its embedded PKCS#8 PEM on first use and cached for the process.
    pub fn get(id: KeyId) -> &'static TestKey {
        KEYS[id.index()].get_or_init(|| {
            let private = rsa::PrivateKey::from_pkcs8_pem(id.pem())
                .expect("embedded TEST-ONLY key is a valid PKCS#8 RSA key");
            let public_der = rsa::pkcs1::EncodeRsaPublicKey::to_pkcs1_der(&private.to_public_key())
                .expect("PKCS#1 encoding of an RSA public key")
                .as_bytes()
                .to_vec();
            TestKey {
                id,
                private,
                public_der,
            }
        })
    }

    /// Which key this is.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// CloudTrail-style fingerprint: lower-hex MD5 of the PKCS#1 DER public key (SPEC §4).
    pub fn fingerprint(&self) -> String {
        hex::encode(md5::Md5::digest(&self.public_der))
    }

    /// Lower-hex MD5 of the SubjectPublicKeyInfo DER (the fingerprint of a key published in that form).
    pub fn spki_fingerprint(&self) -> String {
        hex::encode(md5::Md5::digest(self.public_spki_der()))
    }

    /// The public key as X.509 SubjectPublicKeyInfo DER.
    pub fn public_spki_der(&self) -> Vec<u8> {
        self.private
            .to_public_key()
            .to_public_key_der()
            .expect("SPKI DER encoding")
            .as_bytes()
            .to_vec()
    }

    /// The public key as PKCS#1 `RSAPublicKey` DER (what ListPublicKeys' `Value` holds; 270 bytes).
    pub fn public_pkcs1_der(&self) -> Vec<u8> {
        self.public_der.clone()
    }

    /// The public key as a PKCS#1 PEM (`-----BEGIN RSA PUBLIC KEY-----`).
    pub fn public_pkcs1_pem(&self) -> String {
        rsa::pkcs1::EncodeRsaPublicKey::to_pkcs1_pem(&self.private.to_public_key(), LineEnding::LF)
            .expect("PKCS#1 PEM encoding")
    }

    /// The public key as an X.509 SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`).
    pub fn public_spki_pem(&self) -> String {
        self.private
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("SPKI PEM encoding")
    }

    /// SHA256withRSA (RSASSA-PKCS1-v1_5 over SHA-256) signature of `msg`; deterministic.
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        self.private
            .pkcs1v15_sign::<rsa::sha2::Sha256>(msg)
            .expect("RSA signing")
    }
}

/// Formats a timestamp the way CloudTrail writes them in digests and records:
/// `YYYY-MM-DDTHH:MM:SSZ` (UTC, second precision).
pub fn format_time(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Lower-hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

/// gzip `bytes` the way the generator writes every object: level 6, deterministic header
/// (mtime 0, no name, OS byte 0 like Java's `GZIPOutputStream`), a single member.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = gz_encoder(Vec::with_capacity(bytes.len() / 4 + 64));
    enc.write_all(bytes).expect("gzip into memory");
    enc.finish().expect("gzip into memory")
}

pub(crate) fn gz_encoder<W: Write>(w: W) -> flate2::write::GzEncoder<W> {
    flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(0)
        .write(w, flate2::Compression::new(6))
}

/// Inflates the first gzip member of `bytes` (panics if it is not valid gzip).
pub fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}

/// The exact bytes CloudTrail signs for a digest (SPEC §2):
/// `digestEndTime "\n" digestS3Bucket "/" digestS3Object "\n" hex(sha256(inflated)) "\n" previousDigestSignature`,
/// where a JSON `null` (or absent) `previousDigestSignature` becomes the four characters `null`.
///
/// `digest` supplies the field values (used verbatim); `inflated` must be the exact uncompressed
/// bytes of the digest file. Non-string values are rendered as JSON text; absent fields as `""`.
pub fn signing_string(digest: &Value, inflated: &[u8]) -> Vec<u8> {
    fn field(v: &Value, name: &str) -> String {
        match v.get(name) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) => "null".to_owned(),
            Some(other) => other.to_string(),
            None => String::new(),
        }
    }
    let prev = match digest.get("previousDigestSignature") {
        None | Some(Value::Null) => "null".to_owned(),
        Some(_) => field(digest, "previousDigestSignature"),
    };
    format!(
        "{}\n{}/{}\n{}\n{}",
        field(digest, "digestEndTime"),
        field(digest, "digestS3Bucket"),
        field(digest, "digestS3Object"),
        sha256_hex(inflated),
        prev
    )
    .into_bytes()
}

#[cfg(test)]
mod tests;
