//! CloudTrail's public keys, loaded from files saved offline.
//!
//! Accepted files (SPEC §4, §11):
//! - the JSON `aws cloudtrail list-public-keys` prints: `{"PublicKeyList":
//!   [{"Value", "ValidityStartTime", "ValidityEndTime", "Fingerprint"}]}` with
//!   `Value` base64 DER (PKCS#1, or SubjectPublicKeyInfo as in one AWS
//!   sample), validity times as CLI v1 epoch numbers or CLI v2 ISO 8601
//!   strings with an offset. Each `Fingerprint` must be the MD5 of its DER
//!   bytes, or the file is rejected ([`FingerprintRule::Md5`], for digests);
//!   CloudTrail Lake's keys carry a fingerprint the service assigns, which
//!   is no hash of the key, so for sign files the stated `Fingerprint` is
//!   taken as the key's name, as the AWS CLI takes it
//!   ([`FingerprintRule::Stated`]);
//! - PEM files with `RSA PUBLIC KEY`, `PUBLIC KEY` or `CERTIFICATE` blocks
//!   (any number), and the same three as raw DER. Such keys carry no
//!   fingerprint, so they are filed under the MD5 of both their PKCS#1 and
//!   their SubjectPublicKeyInfo encodings; certificates bring their validity.

use crate::error::Error;
use base64::Engine as _;
use jiff::{SignedDuration, Timestamp};
use md5::{Digest as _, Md5};
use rsa::PublicKey;
use rsa::pkcs1::{DecodeRsaPublicKey as _, EncodeRsaPublicKey as _};
use rsa::pkcs8::{DecodePublicKey as _, EncodePublicKey as _};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How far outside a key's published validity window a digest's time may
/// lie: a digest is signed shortly after its `digestEndTime`, and the AWS
/// CLI itself asks for keys up to two hours past the range it checks.
pub const VALIDITY_SLACK: SignedDuration = SignedDuration::from_hours(1);

/// Largest key file read (key lists are a few kilobytes).
const MAX_KEY_FILE: u64 = 16 << 20;

/// A validity window, as published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    /// `ValidityStartTime`.
    pub start: Timestamp,
    /// `ValidityEndTime`.
    pub end: Timestamp,
}

impl Validity {
    /// Whether `at` lies in the window widened by [`VALIDITY_SLACK`] on both sides.
    #[must_use]
    pub fn admits(&self, at: Timestamp) -> bool {
        let lo = self.start.checked_sub(VALIDITY_SLACK).unwrap_or(self.start);
        let hi = self.end.checked_add(VALIDITY_SLACK).unwrap_or(self.end);
        lo <= at && at <= hi
    }
}

/// When a digest was signed, as far as its signed content tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningTime {
    /// Signed right after this time (a standard digest's `digestEndTime`).
    At(Timestamp),
    /// Signed at some time after this one (a backfill digest: generated
    /// later than its `digestEndTime`, at a time nothing signs).
    AtOrAfter(Timestamp),
}

impl std::fmt::Display for SigningTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SigningTime::At(t) => write!(f, "{t}"),
            SigningTime::AtOrAfter(t) => write!(f, "any time from {t} on"),
        }
    }
}

impl Validity {
    /// Whether a key with this window can have signed at `when` (with
    /// [`VALIDITY_SLACK`]).
    #[must_use]
    pub fn admits_signing(&self, when: SigningTime) -> bool {
        match when {
            SigningTime::At(at) => self.admits(at),
            SigningTime::AtOrAfter(earliest) => {
                let hi = self.end.checked_add(VALIDITY_SLACK).unwrap_or(self.end);
                earliest <= hi
            }
        }
    }
}

/// One public key with where it came from.
#[derive(Debug, Clone)]
pub struct PublicKeyEntry {
    /// The RSA key.
    pub key: PublicKey,
    /// Validity window, when the source states one.
    pub validity: Option<Validity>,
    /// The file it was loaded from.
    pub source: PathBuf,
}

/// Summary of one key file, for the report.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct KeyFileSummary {
    /// The file as given.
    pub path: String,
    /// Number of keys it contributed.
    pub keys: usize,
    /// Size of the file in bytes.
    pub size: u64,
    /// SHA-256 of the file (hex in the report), so the report pins the
    /// exact keys used.
    #[serde(with = "hex::serde")]
    #[schemars(with = "String", extend("pattern" = "^[0-9a-f]{64}$"))]
    pub sha256: [u8; 32],
}

/// Result of looking a fingerprint up at a time.
#[derive(Debug)]
pub enum KeyLookup<'a> {
    /// A key with that fingerprint, valid at that time.
    Found(&'a PublicKeyEntry),
    /// No key has that fingerprint.
    Unknown,
    /// Keys have that fingerprint, but none is valid at that time.
    OutsideValidity(Vec<Validity>),
}

/// All keys of a run, by lower-hex fingerprint.
#[derive(Debug, Default)]
pub struct KeyRing {
    by_fingerprint: BTreeMap<String, Vec<PublicKeyEntry>>,
    files: Vec<KeyFileSummary>,
}

/// How a key list's `Fingerprint` is checked and filed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FingerprintRule {
    /// It must be the MD5 of the key's DER bytes, as for every CloudTrail
    /// digest key (a list whose fingerprints do not match was altered or
    /// mixed up); lookups ignore case.
    Md5,
    /// It is an identifier the service assigned (CloudTrail Lake's sign
    /// keys), filed as written and matched exactly, as the AWS CLI does.
    Stated,
}

impl KeyRing {
    /// Loads every file; keys from all regions may be mixed.
    ///
    /// # Errors
    /// [`Error::KeyFileUnreadable`], [`Error::KeyFileInvalid`] naming the
    /// file, or [`Error::NoPublicKeys`] when the files hold no key at all.
    pub fn load(paths: &[PathBuf]) -> Result<KeyRing, Error> {
        KeyRing::load_as(paths, FingerprintRule::Md5)
    }

    /// Loads every file, checking key lists' fingerprints by `rule`.
    ///
    /// # Errors
    /// As [`KeyRing::load`].
    pub fn load_as(paths: &[PathBuf], rule: FingerprintRule) -> Result<KeyRing, Error> {
        let mut ring = KeyRing::default();
        for path in &key_files(paths)? {
            let bytes = read_limited(path).map_err(|source| Error::KeyFileUnreadable {
                path: path.clone(),
                source,
            })?;
            let keys =
                parse_key_file_as(path, &bytes, rule).map_err(|reason| Error::KeyFileInvalid {
                    path: path.clone(),
                    reason,
                })?;
            let stored = crate::gzip::StoredHash::of(&bytes);
            ring.files.push(KeyFileSummary {
                path: path.to_string_lossy().into_owned(),
                keys: keys.len(),
                size: stored.len,
                sha256: stored.sha256,
            });
            for (fingerprints, entry) in keys {
                for fingerprint in fingerprints {
                    ring.by_fingerprint
                        .entry(fingerprint)
                        .or_default()
                        .push(entry.clone());
                }
            }
        }
        if ring.by_fingerprint.is_empty() {
            return Err(Error::NoPublicKeys);
        }
        Ok(ring)
    }

    /// The key with `fingerprint` (lower-case hex, as CloudTrail writes it and
    /// as the AWS CLI matches it) that is valid at `when`.
    #[must_use]
    pub fn lookup(&self, fingerprint: &str, when: SigningTime) -> KeyLookup<'_> {
        let Some(entries) = self.by_fingerprint.get(fingerprint) else {
            return KeyLookup::Unknown;
        };
        if let Some(entry) = entries
            .iter()
            .find(|e| e.validity.is_none_or(|v| v.admits_signing(when)))
        {
            return KeyLookup::Found(entry);
        }
        KeyLookup::OutsideValidity(entries.iter().filter_map(|e| e.validity).collect())
    }

    /// The keys filed under `fingerprint` (matched exactly).
    #[must_use]
    pub fn entries(&self, fingerprint: &str) -> &[PublicKeyEntry] {
        self.by_fingerprint
            .get(fingerprint)
            .map_or(&[], Vec::as_slice)
    }

    /// Whether any supplied key has this fingerprint (at any time).
    #[must_use]
    pub fn knows(&self, fingerprint: &str) -> bool {
        self.by_fingerprint.contains_key(fingerprint)
    }

    /// The files loaded, in order.
    #[must_use]
    pub fn files(&self) -> &[KeyFileSummary] {
        &self.files
    }
}

/// The `aws cloudtrail list-public-keys` command that saves the keys of
/// `region` needed for digests from `first` to `last` (with an hour before
/// and two after, as the AWS CLI asks for).
#[must_use]
pub fn list_command(region: &str, first: Option<Timestamp>, last: Option<Timestamp>) -> String {
    let show = |t: Option<Timestamp>, shift: i64| {
        t.and_then(|t| t.checked_add(SignedDuration::from_hours(shift)).ok())
            .map_or_else(
                || "<T>".to_owned(),
                |t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            )
    };
    format!(
        "aws cloudtrail list-public-keys --region {region} --start-time {} --end-time {} > keys-{region}.json",
        show(first, -1),
        show(last, 2)
    )
}

/// The key files `paths` name: a folder (such as the one `trailproof
/// collect` fills) stands for the regular files directly in it, by name.
fn key_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    let mut files = Vec::new();
    for path in paths {
        if !std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
            files.push(path.clone());
            continue;
        }
        let unreadable = |source| Error::KeyFileUnreadable {
            path: path.clone(),
            source,
        };
        let mut inside: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(unreadable)?
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.path())
            .collect();
        if inside.is_empty() {
            return Err(unreadable(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "the folder holds no key file",
            )));
        }
        inside.sort();
        files.extend(inside);
    }
    Ok(files)
}

pub(crate) fn read_limited(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_KEY_FILE)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// What a key file must be, for messages about one that is not.
const EXPECTED: &str = "expected the JSON `aws cloudtrail list-public-keys` prints ({\"PublicKeyList\": [...]}), PEM blocks (RSA PUBLIC KEY, PUBLIC KEY, CERTIFICATE) or one DER key or certificate";

/// A parsed key with the fingerprints it is filed under.
type FiledKey = (Vec<String>, PublicKeyEntry);

/// What a JSON key list starts with (an object, or an array by mistake).
const JSON_STARTS: [char; 2] = ['\u{7b}', '['];

/// Parses one key file's bytes (any accepted format).
///
/// # Errors
/// A sentence saying what is wrong, for [`Error::KeyFileInvalid`].
pub fn parse_key_file(path: &Path, bytes: &[u8]) -> Result<Vec<FiledKey>, String> {
    parse_key_file_as(path, bytes, FingerprintRule::Md5)
}

/// Parses one key file's bytes, checking a key list's fingerprints by `rule`.
///
/// # Errors
/// A sentence saying what is wrong, for [`Error::KeyFileInvalid`].
pub fn parse_key_file_as(
    path: &Path,
    bytes: &[u8],
    rule: FingerprintRule,
) -> Result<Vec<FiledKey>, String> {
    let text = std::str::from_utf8(bytes).ok().map(str::trim_start);
    match text {
        Some(t) if t.starts_with(JSON_STARTS) => parse_key_list_json(path, t, rule),
        Some(t) if t.starts_with("-----BEGIN") => parse_pem(path, t),
        _ => parse_der(path, bytes, None).map(|k| vec![k]),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeyListJson {
    public_key_list: Vec<KeyJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeyJson {
    value: String,
    validity_start_time: Option<TimeJson>,
    validity_end_time: Option<TimeJson>,
    fingerprint: String,
}

/// CLI v1 prints epoch seconds, CLI v2 ISO 8601 with a local offset.
#[derive(Deserialize)]
#[serde(untagged)]
enum TimeJson {
    Epoch(f64),
    Text(String),
}

impl TimeJson {
    fn to_timestamp(&self) -> Result<Timestamp, String> {
        match self {
            TimeJson::Epoch(seconds) => {
                if !seconds.is_finite() {
                    return Err(format!("validity time {seconds} is not a number"));
                }
                let duration = SignedDuration::try_from_secs_f64(*seconds)
                    .map_err(|e| format!("validity time {seconds}: {e}"))?;
                Timestamp::from_duration(duration)
                    .map_err(|e| format!("validity time {seconds}: {e}"))
            }
            TimeJson::Text(text) => text
                .parse::<Timestamp>()
                .map_err(|e| format!("validity time {text:?}: {e}")),
        }
    }
}

/// A `ValidityStartTime` or `ValidityEndTime` as written in a key file (its JSON text).
pub(crate) fn validity_time(json: &str) -> Option<Timestamp> {
    serde_json::from_str::<TimeJson>(json)
        .ok()?
        .to_timestamp()
        .ok()
}

fn parse_key_list_json(
    path: &Path,
    text: &str,
    rule: FingerprintRule,
) -> Result<Vec<FiledKey>, String> {
    let list: KeyListJson = serde_json::from_str(text).map_err(|e| {
        format!(
            "not the JSON `aws cloudtrail list-public-keys` prints ({{\"PublicKeyList\": [...]}}): {e}"
        )
    })?;
    let mut keys = Vec::with_capacity(list.public_key_list.len());
    for (index, item) in list.public_key_list.iter().enumerate() {
        let der = base64::engine::general_purpose::STANDARD
            .decode(item.value.trim())
            .map_err(|e| format!("PublicKeyList[{index}].Value is not base64: {e}"))?;
        let actual = match rule {
            FingerprintRule::Md5 => md5_hex(&der),
            FingerprintRule::Stated => item.fingerprint.clone(),
        };
        if rule == FingerprintRule::Md5 && !actual.eq_ignore_ascii_case(item.fingerprint.trim()) {
            return Err(format!(
                "PublicKeyList[{index}].Fingerprint is {} but the MD5 of its key is {actual}: the file was altered or mixed up",
                crate::text::escape_control(&item.fingerprint)
            ));
        }
        let key = decode_der_key(&der)
            .ok_or_else(|| format!("PublicKeyList[{index}].Value is not an RSA public key (PKCS#1 or SubjectPublicKeyInfo DER)"))?;
        let validity = match (&item.validity_start_time, &item.validity_end_time) {
            (Some(start), Some(end)) => Some(Validity {
                start: start.to_timestamp()?,
                end: end.to_timestamp()?,
            }),
            _ => None,
        };
        keys.push((
            vec![actual],
            PublicKeyEntry {
                key,
                validity,
                source: path.to_path_buf(),
            },
        ));
    }
    Ok(keys)
}

fn parse_pem(path: &Path, text: &str) -> Result<Vec<FiledKey>, String> {
    let blocks = pem::parse_many(text).map_err(|e| format!("not valid PEM ({e}); {EXPECTED}"))?;
    if blocks.is_empty() {
        return Err("no PEM block found".to_owned());
    }
    blocks
        .iter()
        .map(|block| match block.tag() {
            "RSA PUBLIC KEY" | "PUBLIC KEY" | "CERTIFICATE" => {
                parse_der(path, block.contents(), Some(block.tag()))
            }
            tag if tag.contains("PRIVATE") => Err(format!(
                "holds a {tag}: pass only public keys (never copy private keys onto an evidence machine)"
            )),
            tag => Err(format!("PEM block {tag:?} is not a public key or certificate")),
        })
        .collect()
}

fn parse_der(path: &Path, der: &[u8], tag: Option<&str>) -> Result<FiledKey, String> {
    let (key, validity) =
        if tag == Some("CERTIFICATE") || (tag.is_none() && decode_der_key(der).is_none()) {
            let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|_| match tag {
                Some(tag) => format!("a {tag} block holds no X.509 certificate"),
                None => format!("not a public-key file: {EXPECTED}"),
            })?;
            let spki = cert.public_key().raw;
            let key = PublicKey::from_public_key_der(spki).map_err(|_| {
                "the certificate's key is not an RSA key (CloudTrail signs with RSA)".to_owned()
            })?;
            let validity = cert.validity();
            let to_ts = |t: x509_parser::time::ASN1Time| Timestamp::from_second(t.timestamp()).ok();
            let window = match (to_ts(validity.not_before), to_ts(validity.not_after)) {
                (Some(start), Some(end)) => Some(Validity { start, end }),
                _ => None,
            };
            (key, window)
        } else {
            let key = decode_der_key(der)
                .ok_or("not an RSA public key (PKCS#1 or SubjectPublicKeyInfo DER)")?;
            (key, None)
        };
    let mut fingerprints = vec![md5_hex(der)];
    if let Ok(pkcs1) = key.to_pkcs1_der() {
        fingerprints.push(md5_hex(pkcs1.as_bytes()));
    }
    if let Ok(spki) = key.to_public_key_der() {
        fingerprints.push(md5_hex(spki.as_bytes()));
    }
    fingerprints.sort_unstable();
    fingerprints.dedup();
    Ok((
        fingerprints,
        PublicKeyEntry {
            key,
            validity,
            source: path.to_path_buf(),
        },
    ))
}

fn decode_der_key(der: &[u8]) -> Option<PublicKey> {
    PublicKey::from_pkcs1_der(der)
        .or_else(|_| PublicKey::from_public_key_der(der))
        .ok()
}

/// Lower-hex MD5: how CloudTrail fingerprints a key's DER bytes.
#[must_use]
pub fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real key published by AWS (SPEC §4, `list-public-keys` example), with its fingerprint.
    const AWS_EXAMPLE_KEY: &str = "MIIBCgKCAQEAlSS3cl92HDycr/MTj0moOhas8habjrraXw+KzlWF0axSI2tcF+3iJ9BKQAVSKxGwxwu3m0wG3J+kUl1xboEcEPHYoIYMbgfSw7KGnuDKwkLzsQWhUJ0cIbOHASox1vv/5fNXkrHhGbDCHeVXm804c83nvHUEFYThr1PfyP/8HwrCtR3FX5OANtQCP61C1nJtSSkC8JSQUOrIP4CuwJjc+4WGDk+BGH5m9iuiAKkipEHWmUl8/P7XpfpWQuk4h8g3pXZOrNXr08lbh4d39svj7UqdhvOXoBISp9t/EXYuePGEtBdrKD9Dz+VHwyUPtBQvYr9BnkF88qBnaPNhS44rzwIDAQAB";
    const AWS_EXAMPLE_FINGERPRINT: &str = "7f3f401420072e50a65a141430817ab3";

    fn list_json(value: &str, fingerprint: &str, start: &str, end: &str) -> String {
        format!(
            r#"{{"PublicKeyList":[{{"Value":"{value}","ValidityStartTime":{start},"ValidityEndTime":{end},"Fingerprint":"{fingerprint}"}}]}}"#
        )
    }

    #[test]
    fn fingerprint_of_published_key() {
        let der = base64::engine::general_purpose::STANDARD
            .decode(AWS_EXAMPLE_KEY)
            .unwrap();
        assert_eq!(md5_hex(&der), AWS_EXAMPLE_FINGERPRINT);
    }

    #[test]
    fn cli_v1_and_v2_times() {
        let v1 = list_json(
            AWS_EXAMPLE_KEY,
            AWS_EXAMPLE_FINGERPRINT,
            "1453076702.0",
            "1455668702.0",
        );
        let v2 = list_json(
            AWS_EXAMPLE_KEY,
            AWS_EXAMPLE_FINGERPRINT,
            "\"2016-01-18T01:25:02+01:00\"",
            "\"2016-02-17T01:25:02.000000+01:00\"",
        );
        for text in [v1, v2] {
            let keys = parse_key_file(Path::new("k.json"), text.as_bytes()).unwrap();
            let validity = keys[0].1.validity.unwrap();
            assert_eq!(validity.start.to_string(), "2016-01-18T00:25:02Z");
            assert_eq!(validity.end.to_string(), "2016-02-17T00:25:02Z");
            assert_eq!(keys[0].0, [AWS_EXAMPLE_FINGERPRINT]);
        }
    }

    #[test]
    fn wrong_fingerprint_names_the_problem() {
        let text = list_json(
            AWS_EXAMPLE_KEY,
            "00000000000000000000000000000000",
            "1",
            "2",
        );
        let err = parse_key_file(Path::new("k.json"), text.as_bytes()).unwrap_err();
        assert!(err.contains("MD5"), "{err}");
    }

    #[test]
    fn pem_forms_file_under_both_fingerprints() {
        let der = base64::engine::general_purpose::STANDARD
            .decode(AWS_EXAMPLE_KEY)
            .unwrap();
        let pem_text = pem::encode(&pem::Pem::new("RSA PUBLIC KEY", der));
        let keys = parse_key_file(Path::new("k.pem"), pem_text.as_bytes()).unwrap();
        assert!(keys[0].0.contains(&AWS_EXAMPLE_FINGERPRINT.to_owned()));
        assert_eq!(keys[0].0.len(), 2);
        let spki = keys[0].1.key.to_public_key_der().unwrap();
        let pem_text = pem::encode(&pem::Pem::new("PUBLIC KEY", spki.as_bytes().to_vec()));
        let keys = parse_key_file(Path::new("k.pem"), pem_text.as_bytes()).unwrap();
        assert!(keys[0].0.contains(&AWS_EXAMPLE_FINGERPRINT.to_owned()));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bytes in [
            &b""[..],
            b"{",
            b"-----BEGIN X-----\n",
            b"\x30\x82\x01",
            b"[1,2]",
        ] {
            assert!(parse_key_file(Path::new("k"), bytes).is_err());
        }
    }

    #[test]
    fn unrecognised_files_say_what_a_key_file_is_without_parser_internals() {
        for bytes in [&b""[..], b"hello", b"\x30\x82\x01", b"\x00\xff garbage"] {
            let err = parse_key_file(Path::new("k"), bytes).unwrap_err();
            assert!(
                err.starts_with("not a public-key file: expected the JSON"),
                "{err}"
            );
            assert!(
                err.contains("PublicKeyList") && err.contains("CERTIFICATE"),
                "{err}"
            );
            assert!(!err.contains("Nom") && !err.contains("Eof"), "{err}");
        }
        let pem_text = pem::encode(&pem::Pem::new("CERTIFICATE", b"junk".to_vec()));
        let err = parse_key_file(Path::new("k.pem"), pem_text.as_bytes()).unwrap_err();
        assert_eq!(err, "a CERTIFICATE block holds no X.509 certificate");
        let err = parse_key_file(Path::new("k.json"), b"{\"Keys\": []}").unwrap_err();
        assert!(err.contains("PublicKeyList"), "{err}");
    }

    #[test]
    fn validity_window_with_slack() {
        let v = Validity {
            start: "2016-01-18T00:00:00Z".parse().unwrap(),
            end: "2016-02-17T00:00:00Z".parse().unwrap(),
        };
        assert!(v.admits("2016-01-17T23:30:00Z".parse().unwrap()));
        assert!(v.admits("2016-02-17T00:59:00Z".parse().unwrap()));
        assert!(!v.admits("2016-02-17T01:01:00Z".parse().unwrap()));
    }
}
