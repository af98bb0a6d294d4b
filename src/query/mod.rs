//! CloudTrail Lake query results: an export folder whose sign file
//! (`result_sign.json`) lists each result file with the SHA-256 of its
//! stored bytes, and signs that list with a CloudTrail key.
//!
//! What is checked, and how, is what the AWS CLI v2's
//! `aws cloudtrail verify-query-results` checks (docs/lake.md has the facts
//! and references): the signed data is the listed `fileHashValue` strings,
//! in list order, joined by one space; the signature is hex SHA256withRSA
//! (PKCS#1 v1.5); the key is the one whose stated `Fingerprint` equals the
//! sign file's `publicKeyFingerprint` (Lake fingerprints are assigned by the
//! service, no hash of the key: see `FingerprintRule::Stated` in `src/keys.rs`).
//! Unlike the CLI, every listed file is judged (not only up to the first
//! failure), files the sign file does not list are reported, names that
//! leave the folder are not opened, and the key's validity is checked.

mod report;

pub use report::{QueryReport, QuerySummary, json_schema};

use crate::finding::{Finding, FindingCode, STORED_SHA256};
use crate::keys::{KeyRing, PublicKeyEntry};
use jiff::{SignedDuration, Timestamp};
use rsa::sha2::Sha256;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The sign file's name in an export.
pub const SIGN_FILE: &str = "result_sign.json";

/// Largest sign file read (it lists file names and hashes).
const MAX_SIGN_FILE: u64 = 64 << 20;

/// Most entries of an export folder walked (files and folders).
const MAX_ENTRIES: usize = 1_000_000;

/// How long after `queryCompleteTime` the AWS CLI looks for the key.
pub const KEY_SEARCH: SignedDuration = SignedDuration::from_hours(20 * 24);

/// Why an export could not be checked at all (exit 2): a mistake in
/// running the tool, never a finding about the evidence.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The export folder cannot be read.
    #[error("cannot read the export folder {}: {source}", crate::text::escape_control(&path.to_string_lossy()))]
    Unreadable {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The folder holds neither a sign file nor a result file.
    #[error("{} is not a CloudTrail Lake query export: it holds no result_sign.json and no result file", crate::text::escape_control(&path.to_string_lossy()))]
    NotAnExport {
        /// The folder.
        path: PathBuf,
    },
    /// The key files cannot be read or hold no key.
    #[error(transparent)]
    Keys(#[from] crate::Error),
    /// No key supplied has the fingerprint the sign file names.
    #[error(
        "no public key supplied has the fingerprint {fingerprint} that result_sign.json names (the query completed at {completed})"
    )]
    KeyNotSupplied {
        /// The fingerprint, as the sign file writes it.
        fingerprint: String,
        /// `queryCompleteTime`.
        completed: String,
    },
}

/// The sign file as CloudTrail Lake writes it (fields the check reads;
/// others, such as `region`, `hashAlgorithm`, `version`, are ignored as the
/// AWS CLI ignores them).
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignFileJson {
    files: Vec<SignedFileJson>,
    hash_signature: String,
    public_key_fingerprint: String,
    query_complete_time: String,
    region: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignedFileJson {
    file_name: String,
    file_hash_value: String,
}

/// What the sign file says, once read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct SignFile {
    /// Its local path.
    pub path: String,
    /// SHA-256 of its bytes (hex).
    pub sha256: String,
    /// `queryCompleteTime`.
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub query_complete_time: Timestamp,
    /// `publicKeyFingerprint`, as written.
    pub public_key_fingerprint: String,
    /// `region`, when written.
    pub region: Option<String>,
    /// The listed files, in list order.
    pub files: Vec<Listed>,
    /// `hashSignature`, decoded from hex.
    #[serde(skip)]
    #[schemars(skip)]
    signature: Vec<u8>,
}

/// One listed result file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Listed {
    /// `fileName`, as written.
    pub name: String,
    /// `fileHashValue`, as written.
    pub sha256: String,
}

impl SignFile {
    /// The end of the time the AWS CLI asks for the key: 20 days after the
    /// query completed.
    #[must_use]
    pub fn key_search_end(&self) -> Timestamp {
        self.query_complete_time
            .checked_add(KEY_SEARCH)
            .unwrap_or(self.query_complete_time)
    }

    /// The bytes CloudTrail signs: the listed hashes as written, in list
    /// order, joined by one space.
    #[must_use]
    pub fn signed_data(&self) -> Vec<u8> {
        self.files
            .iter()
            .map(|f| f.sha256.as_str())
            .collect::<Vec<_>>()
            .join(" ")
            .into_bytes()
    }
}

/// Parses a sign file's bytes.
///
/// # Errors
/// What is wrong with it, in one sentence.
pub fn parse_sign_file(path: &Path, bytes: &[u8]) -> Result<SignFile, String> {
    let json: SignFileJson = serde_json::from_slice(bytes).map_err(|e| {
        format!(
            "not the JSON CloudTrail Lake writes: {}",
            crate::text::escape_control(&e.to_string())
        )
    })?;
    if json.files.is_empty() {
        return Err("it lists no result file".to_owned());
    }
    let query_complete_time = parse_time(&json.query_complete_time).ok_or_else(|| {
        format!(
            "queryCompleteTime {:?} is not a time",
            crate::text::escape_control(&json.query_complete_time)
        )
    })?;
    let signature = hex::decode(json.hash_signature.trim())
        .map_err(|e| format!("hashSignature is not hexadecimal ({e})"))?;
    Ok(SignFile {
        path: path.to_string_lossy().into_owned(),
        sha256: hex::encode(crate::gzip::StoredHash::of(bytes).sha256),
        query_complete_time,
        public_key_fingerprint: json.public_key_fingerprint,
        region: json.region,
        files: json
            .files
            .into_iter()
            .map(|f| Listed {
                name: f.file_name,
                sha256: f.file_hash_value,
            })
            .collect(),
        signature,
    })
}

/// `queryCompleteTime`: ISO 8601 with an offset (`2022-05-10T22:06:30Z`),
/// or without one (taken as UTC, as the AWS CLI takes it).
fn parse_time(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    text.parse::<Timestamp>().ok().or_else(|| {
        text.parse::<jiff::civil::DateTime>()
            .ok()
            .and_then(|t| jiff::tz::TimeZone::UTC.to_timestamp(t).ok())
    })
}

/// What became of one listed result file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    /// Its stored bytes have the listed SHA-256.
    Valid,
    /// Its stored bytes have another SHA-256.
    Modified,
    /// It is not in the folder.
    Missing,
    /// A link, FIFO, device or folder stands in its place.
    NotRegular,
    /// Its name leaves the folder; not opened.
    UnsafeName,
    /// It could not be read (permissions, I/O).
    Unreadable,
}

/// One listed result file, judged.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ResultFile {
    /// `fileName`, as listed (control characters escaped).
    pub name: String,
    /// Its local path, when it lies in the folder.
    pub path: Option<String>,
    /// The listed SHA-256 of its stored bytes.
    pub expected_sha256: String,
    /// The SHA-256 of its stored bytes, when read.
    pub sha256: Option<String>,
    /// Bytes read.
    pub size: Option<u64>,
    /// What became of it.
    pub status: FileStatus,
}

/// The signature's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SignatureStatus {
    /// It verifies with the named key, valid when the query completed.
    Valid,
    /// It verifies, but the key was not valid when the query completed.
    KeyNotValid,
    /// It does not verify.
    Invalid,
    /// There was no sign file to check.
    NotChecked,
}

/// What checking an export came to.
#[derive(Debug, Clone, serde::Serialize)]
pub struct QueryCheck {
    /// The export folder.
    pub export: PathBuf,
    /// The sign file, when it could be read.
    pub sign_file: Option<SignFile>,
    /// The signature's verdict.
    pub signature: SignatureStatus,
    /// The key file that held the key the signature was checked with.
    pub key_source: Option<String>,
    /// Every listed file, in list order.
    pub files: Vec<ResultFile>,
    /// Files in the folder the sign file does not list (escaped names).
    pub unlisted: Vec<String>,
    /// Every finding.
    pub findings: Vec<Finding>,
}

/// One entry found in the export folder.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Found {
    File,
    Other,
    Folder,
}

/// Loads `key_files` (a key list's fingerprints taken as stated, see
/// `FingerprintRule::Stated` in `src/keys.rs`) and checks the export in `dir`.
///
/// # Errors
/// As [`check`], and when a key file cannot be read or holds no key.
pub fn verify_export(
    dir: &Path,
    key_files: &[PathBuf],
) -> Result<(QueryCheck, Vec<crate::keys::KeyFileSummary>), QueryError> {
    let keys = KeyRing::load_as(key_files, crate::keys::FingerprintRule::Stated)?;
    let checked = check(dir, &keys)?;
    Ok((checked, keys.files().to_vec()))
}

/// Checks the export in `dir` with `keys` (loaded by the stated fingerprint).
///
/// # Errors
/// [`QueryError`] when the folder cannot be read, is no export, or no key
/// supplied has the sign file's fingerprint.
pub fn check(dir: &Path, keys: &KeyRing) -> Result<QueryCheck, QueryError> {
    let found = walk(dir)?;
    let mut out = QueryCheck {
        export: dir.to_path_buf(),
        sign_file: None,
        signature: SignatureStatus::NotChecked,
        key_source: None,
        files: Vec::new(),
        unlisted: Vec::new(),
        findings: Vec::new(),
    };
    let sign_path = dir.join(SIGN_FILE);
    let sign = match found.get(SIGN_FILE) {
        None => {
            if found.values().all(|f| *f == Found::Folder) {
                return Err(QueryError::NotAnExport {
                    path: dir.to_path_buf(),
                });
            }
            out.findings.push(
                Finding::new(
                    FindingCode::QuerySignFileMissing,
                    SIGN_FILE,
                    format!(
                        "{} holds files but no {SIGN_FILE}: nothing proves the query results",
                        escaped(dir)
                    ),
                )
                .at(Some(sign_path)),
            );
            None
        }
        Some(_) => read_sign_file(&sign_path, &mut out.findings),
    };
    let Some(sign) = sign else {
        // Its finding already says that nothing vouches for any file: the
        // files are listed as unlisted, without a warning each.
        out.unlisted = unlisted(&found, &[], &mut Vec::new(), dir);
        return Ok(out);
    };
    let key = find_key(&sign, keys)?;
    out.key_source = Some(key.source.to_string_lossy().into_owned());
    out.signature = judge_signature(&sign, key, &mut out.findings);
    // Files are hashed in parallel; results and findings keep list order.
    let judged: Vec<(ResultFile, Vec<Finding>)> = {
        use rayon::prelude::*;
        sign.files
            .par_iter()
            .map(|listed| {
                let mut findings = Vec::new();
                let file = judge_file(dir, listed, &found, &mut findings);
                (file, findings)
            })
            .collect()
    };
    for (file, mut findings) in judged {
        out.files.push(file);
        out.findings.append(&mut findings);
    }
    out.unlisted = unlisted(&found, &sign.files, &mut out.findings, dir);
    out.sign_file = Some(sign);
    Ok(out)
}

fn escaped(path: &Path) -> String {
    crate::text::escape_control(&path.to_string_lossy()).into_owned()
}

/// Every entry under `dir` (links not followed, access times untouched),
/// by relative path with `/`; names that are not UTF-8 are kept lossy.
fn walk(dir: &Path) -> Result<BTreeMap<String, Found>, QueryError> {
    use crate::evidence::{EntryKind, read_folder};
    let mut found = BTreeMap::new();
    let mut pending = vec![String::new()];
    while let Some(rel) = pending.pop() {
        let entries = read_folder(&dir.join(&rel), rel.is_empty()).map_err(|source| {
            QueryError::Unreadable {
                path: dir.join(&rel),
                source,
            }
        })?;
        for entry in entries {
            if found.len() >= MAX_ENTRIES {
                return Err(QueryError::Unreadable {
                    path: dir.to_path_buf(),
                    source: std::io::Error::other(format!(
                        "it holds more than {MAX_ENTRIES} entries: not an export"
                    )),
                });
            }
            let name = entry.name.to_string_lossy();
            let child = if rel.is_empty() {
                name.into_owned()
            } else {
                format!("{rel}/{name}")
            };
            let kind = match entry.kind {
                EntryKind::Folder => {
                    pending.push(child.clone());
                    Found::Folder
                }
                EntryKind::File(_) => Found::File,
                EntryKind::Other | EntryKind::Unknown(_) => Found::Other,
            };
            found.insert(child, kind);
        }
    }
    Ok(found)
}

/// Reads and parses the sign file; a finding when it is not one.
fn read_sign_file(path: &Path, findings: &mut Vec<Finding>) -> Option<SignFile> {
    let malformed = |what: String| {
        Finding::new(
            FindingCode::QuerySignFileMalformed,
            SIGN_FILE,
            format!("{SIGN_FILE} {what}"),
        )
        .at(Some(path.to_path_buf()))
    };
    let bytes = match read_evidence(path, MAX_SIGN_FILE) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            findings.push(unreadable(SIGN_FILE, path, &e));
            return None;
        }
        Err(e) => {
            findings.push(malformed(format!("cannot be read: {e}")));
            return None;
        }
    };
    match parse_sign_file(path, &bytes) {
        Ok(sign) => Some(sign),
        Err(what) => {
            findings.push(malformed(format!("is not a sign file: {what}")));
            None
        }
    }
}

/// Reads an evidence file (no link followed, no access time changed) of at
/// most `limit` bytes.
fn read_evidence(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let file = crate::evidence::open_evidence(path)?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::other(format!(
            "larger than {} MiB",
            limit >> 20
        )));
    }
    Ok(bytes)
}

/// The supplied key the sign file names (exact fingerprint, as the CLI).
fn find_key<'k>(sign: &SignFile, keys: &'k KeyRing) -> Result<&'k PublicKeyEntry, QueryError> {
    let entries = keys.entries(&sign.public_key_fingerprint);
    let in_window = |e: &&PublicKeyEntry| {
        e.validity.is_none_or(|v| {
            let end = sign.key_search_end();
            v.start <= end && sign.query_complete_time <= v.end
        })
    };
    entries
        .iter()
        .find(in_window)
        .or_else(|| entries.first())
        .ok_or_else(|| QueryError::KeyNotSupplied {
            fingerprint: crate::text::escape_control(&sign.public_key_fingerprint).into_owned(),
            completed: sign.query_complete_time.to_string(),
        })
}

/// Verifies the signature; findings when it does not verify, or the key
/// was not valid between the query's completion and 20 days after.
fn judge_signature(
    sign: &SignFile,
    key: &PublicKeyEntry,
    findings: &mut Vec<Finding>,
) -> SignatureStatus {
    let at = Some(PathBuf::from(&sign.path));
    if key
        .key
        .pkcs1v15_verify::<Sha256>(&sign.signed_data(), &sign.signature)
        .is_err()
    {
        findings.push(
            Finding::new(
                FindingCode::QuerySignatureInvalid,
                SIGN_FILE,
                format!(
                    "the hashSignature of {SIGN_FILE} does not verify (SHA256withRSA over the {} listed hashes joined by spaces) with the key of fingerprint {} from {}",
                    sign.files.len(),
                    crate::text::escape_control(&sign.public_key_fingerprint),
                    escaped(&key.source)
                ),
            )
            .at(at),
        );
        return SignatureStatus::Invalid;
    }
    let end = sign.key_search_end();
    match key.validity {
        Some(v) if v.start > end || v.end < sign.query_complete_time => {
            findings.push(
                Finding::new(
                    FindingCode::QueryKeyNotValid,
                    SIGN_FILE,
                    format!(
                        "the key of fingerprint {} is valid from {} to {}, but the query completed at {} (the AWS CLI looks for keys valid up to 20 days after)",
                        crate::text::escape_control(&sign.public_key_fingerprint),
                        v.start,
                        v.end,
                        sign.query_complete_time
                    ),
                )
                .values(
                    format!("a key valid between {} and {end}", sign.query_complete_time),
                    format!("valid from {} to {}", v.start, v.end),
                )
                .at(at),
            );
            SignatureStatus::KeyNotValid
        }
        _ => SignatureStatus::Valid,
    }
}

/// Whether a listed name stays in the export folder: relative, made of
/// normal components, no control characters.
fn is_safe_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('/')
        && !name.chars().any(char::is_control)
        && name
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
}

/// Judges one listed file.
fn judge_file(
    dir: &Path,
    listed: &Listed,
    found: &BTreeMap<String, Found>,
    findings: &mut Vec<Finding>,
) -> ResultFile {
    let name = crate::text::escape_control(&listed.name).into_owned();
    let mut file = ResultFile {
        name: name.clone(),
        path: None,
        expected_sha256: crate::text::escape_control(&listed.sha256).into_owned(),
        sha256: None,
        size: None,
        status: FileStatus::UnsafeName,
    };
    if !is_safe_name(&listed.name) {
        findings.push(Finding::new(
            FindingCode::QueryUnsafeName,
            name.clone(),
            format!(
                "{SIGN_FILE} lists {name:?}, a name outside the export folder: it was not opened"
            ),
        ));
        return file;
    }
    let path = dir.join(&listed.name);
    file.path = Some(path.to_string_lossy().into_owned());
    let finding =
        |code, message: String| Finding::new(code, name.clone(), message).at(Some(path.clone()));
    match found.get(&listed.name) {
        None => {
            file.status = FileStatus::Missing;
            findings.push(finding(
                FindingCode::QueryFileMissing,
                format!("{name} is listed in {SIGN_FILE} but not in the export folder"),
            ));
        }
        Some(Found::Other | Found::Folder) => {
            file.status = FileStatus::NotRegular;
            findings.push(finding(
                FindingCode::QueryFileNotRegular,
                format!("{name} is listed in {SIGN_FILE}, but a link, FIFO, device or folder stands in its place"),
            ));
        }
        Some(Found::File) => hash_listed(&path, listed, &mut file, findings, finding),
    }
    file
}

/// Hashes a listed regular file and compares it.
fn hash_listed(
    path: &Path,
    listed: &Listed,
    file: &mut ResultFile,
    findings: &mut Vec<Finding>,
    finding: impl Fn(FindingCode, String) -> Finding,
) {
    let hashed = crate::evidence::open_evidence(path)
        .and_then(|f| crate::gzip::StoredHash::of_reader(std::io::BufReader::new(f)));
    match hashed {
        Err(e) => {
            file.status = FileStatus::Unreadable;
            findings.push(unreadable(&file.name, path, &e));
        }
        Ok(stored) => {
            let actual = hex::encode(stored.sha256);
            file.size = Some(stored.len);
            file.sha256 = Some(actual.clone());
            // Compared as the CLI compares: the listed text, exactly.
            if actual == listed.sha256 {
                file.status = FileStatus::Valid;
            } else {
                file.status = FileStatus::Modified;
                findings.push(
                    finding(
                        FindingCode::QueryFileModified,
                        format!(
                            "{}: the SHA-256 of its stored bytes is not the one {SIGN_FILE} lists",
                            file.name
                        ),
                    )
                    .hashes(
                        STORED_SHA256,
                        file.expected_sha256.clone(),
                        actual,
                    ),
                );
            }
        }
    }
}

/// A file this user cannot read: the check is incomplete (exit 2), and
/// nothing is said about the file.
fn unreadable(name: &str, path: &Path, error: &std::io::Error) -> Finding {
    Finding::new(
        FindingCode::MirrorUnreadable,
        name,
        format!("{name} cannot be read: {error}"),
    )
    .at(Some(path.to_path_buf()))
    .help("Run as a user who can read the whole export folder (or fix its permissions) and run again.")
}

/// Files in the folder that the sign file does not list, each a warning.
fn unlisted(
    found: &BTreeMap<String, Found>,
    listed: &[Listed],
    findings: &mut Vec<Finding>,
    dir: &Path,
) -> Vec<String> {
    let names: std::collections::BTreeSet<&str> = listed.iter().map(|l| l.name.as_str()).collect();
    let mut out = Vec::new();
    for (rel, kind) in found {
        if *kind == Found::Folder || rel == SIGN_FILE || names.contains(rel.as_str()) {
            continue;
        }
        let name = crate::text::escape_control(rel).into_owned();
        findings.push(
            Finding::new(
                FindingCode::QueryFileUnlisted,
                name.clone(),
                format!("{name} is in the export folder but {SIGN_FILE} does not list it"),
            )
            .at(Some(dir.join(rel))),
        );
        out.push(name);
    }
    out
}
