//! A written mirror and the helpers tests use to tamper with it.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde_json::{Value, json};
use sha2::Digest as _;

use crate::build::{fmt, fnv, mix, pretty, set_mtime, write_injected_log};
use crate::records::alnum;
use crate::{KeyId, SignatureStore, TestKey, TrailSpec, gunzip, gzip, signing_string};

/// Extended attribute names used by [`SignatureStore::Xattr`] (rclone `--metadata` style).
pub const XATTR_SIGNATURE: &str = "user.signature";
/// See [`XATTR_SIGNATURE`].
pub const XATTR_SIGNATURE_ALGORITHM: &str = "user.signature-algorithm";
/// See [`XATTR_SIGNATURE`]; only on backfill digests.
pub const XATTR_BACKFILL_GENERATION: &str = "user.backfill-generation-timestamp";
/// Suffix appended to a digest file's path for its [`SignatureStore::Sidecar`] metadata file.
pub const SIDECAR_SUFFIX: &str = ".metadata.json";

/// A generated bucket mirror (TEST-ONLY signatures) plus everything a test needs to know about it.
#[derive(Debug, Clone)]
pub struct Mirror {
    /// Mirror of the first trail's bucket: files at `<root>/<s3 key>`.
    pub root: PathBuf,
    /// Mirrors of the other buckets (`<dir>/<bucket name>`), e.g. after a bucket change.
    pub extra_roots: Vec<PathBuf>,
    /// `list-public-keys` JSON outside the mirror (`<dir>/public-keys.json`).
    pub public_keys: PathBuf,
    /// Every digest written, grouped per chain (standard digests oldest first, then that chain's
    /// backfill digests).
    pub digests: Vec<DigestEntry>,
    /// Every log file written.
    pub logs: Vec<LogEntry>,
    pub(crate) trails: Vec<TrailSpec>,
    pub(crate) bucket_roots: Vec<(String, PathBuf)>,
}

/// One digest file as written by the builder.
#[derive(Debug, Clone)]
pub struct DigestEntry {
    /// Bucket it was delivered to (= `digestS3Bucket`).
    pub bucket: String,
    /// Its S3 key (= `digestS3Object`).
    pub key: String,
    /// Where it is on disk.
    pub path: PathBuf,
    /// `awsAccountId`.
    pub account: String,
    /// Delivering region.
    pub region: String,
    /// Whether it is a `_backfill` digest.
    pub backfill: bool,
    /// `digestEndTime` (= the key-name timestamp).
    pub end_time: Timestamp,
    /// The JSON document (serialized compactly, in this field order, into the file).
    pub json: Value,
    /// Lower-hex signature (what the metadata / next digest's `previousDigestSignature` hold).
    pub signature_hex: String,
    /// The TEST-ONLY key that signed it.
    pub signed_by: KeyId,
    /// Keys of the log files it lists, in `logFiles` order.
    pub log_keys: Vec<String>,
}

/// One log file as written by the builder.
#[derive(Debug, Clone)]
pub struct LogEntry {
    /// Bucket it was delivered to.
    pub bucket: String,
    /// Its S3 key.
    pub key: String,
    /// Where it is on disk.
    pub path: PathBuf,
    /// Account folder it is in.
    pub account: String,
    /// Delivering region.
    pub region: String,
    /// Delivery time (whole minute; the key-name timestamp).
    pub delivered: Timestamp,
    /// Lower-hex SHA-256 of the uncompressed content.
    pub sha256_hex: String,
    /// Keys of the digests that list it (empty for logs delivered while validation was off).
    pub listed_by: Vec<String>,
}

/// S3 metadata of one digest object.
pub(crate) struct Meta {
    pub signature_hex: String,
    pub backfill_generation: Option<String>,
    pub last_modified: i64,
    pub content_length: u64,
    pub etag: String,
}

fn sidecar_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(SIDECAR_SUFFIX);
    PathBuf::from(s)
}

/// What `aws s3api head-object` prints for a CloudTrail digest object.
fn sidecar_json(meta: &Meta) -> Value {
    let mut md = serde_json::Map::new();
    md.insert("signature".into(), json!(meta.signature_hex));
    md.insert("signature-algorithm".into(), json!("SHA256withRSA"));
    if let Some(g) = &meta.backfill_generation {
        md.insert("backfill-generation-timestamp".into(), json!(g));
    }
    let lm = Timestamp::from_second(meta.last_modified)
        .expect("time")
        .strftime("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string();
    json!({
        "AcceptRanges": "bytes",
        "LastModified": lm,
        "ContentLength": meta.content_length,
        "ETag": format!("\"{}\"", meta.etag),
        "ContentType": "application/json",
        "ContentEncoding": "gzip",
        "ServerSideEncryption": "AES256",
        "Metadata": md,
    })
}

/// Stores `meta` for the digest at `path` according to `store`.
pub(crate) fn write_metadata(path: &Path, store: SignatureStore, meta: &Meta) {
    match store {
        SignatureStore::Sidecar => {
            fs::write(sidecar_path(path), pretty(&sidecar_json(meta))).expect("write sidecar")
        }
        SignatureStore::Xattr => {
            xattr::set(path, XATTR_SIGNATURE, meta.signature_hex.as_bytes()).expect("set xattr");
            xattr::set(path, XATTR_SIGNATURE_ALGORITHM, b"SHA256withRSA").expect("set xattr");
            if let Some(g) = &meta.backfill_generation {
                xattr::set(path, XATTR_BACKFILL_GENERATION, g.as_bytes()).expect("set xattr");
            }
        }
        SignatureStore::None => {}
    }
}

impl Mirror {
    /// The file for S3 key `key`: the generated file's path if the builder wrote that key, else the
    /// first bucket root where the file exists, else `<root>/<key>`.
    pub fn path_of(&self, key: &str) -> PathBuf {
        if let Some(d) = self.digests.iter().find(|d| d.key == key) {
            return d.path.clone();
        }
        if let Some(l) = self.logs.iter().find(|l| l.key == key) {
            return l.path.clone();
        }
        self.bucket_roots
            .iter()
            .map(|(_, r)| r.join(key))
            .find(|p| p.exists())
            .unwrap_or_else(|| self.root.join(key))
    }

    /// The file for `key` in bucket `bucket` (`<dir>/<bucket>/<key>` for a bucket the builder did not write).
    pub fn path_in(&self, bucket: &str, key: &str) -> PathBuf {
        self.bucket_roots
            .iter()
            .find(|(b, _)| b == bucket)
            .map(|(_, r)| r.join(key))
            .unwrap_or_else(|| {
                self.root
                    .parent()
                    .unwrap_or(Path::new("."))
                    .join(bucket)
                    .join(key)
            })
    }

    /// The signature store of the trail that owns digest key `key` (first trail's if none matches).
    pub fn store_for(&self, key: &str) -> SignatureStore {
        self.trails
            .iter()
            .find(|t| t.owns_digest_key(key))
            .or(self.trails.first())
            .map_or(SignatureStore::Sidecar, |t| t.signature_store)
    }

    /// Deletes the object `key` (and its sidecar metadata, like an S3 DeleteObject).
    pub fn delete(&self, key: &str) {
        let p = self.path_of(key);
        fs::remove_file(&p).unwrap_or_else(|e| panic!("delete {}: {e}", p.display()));
        let _ = fs::remove_file(sidecar_path(&p));
    }

    /// Gunzips and parses the digest file `key` as it is on disk now.
    pub fn read_digest_json(&self, key: &str) -> Value {
        let p = self.path_of(key);
        let raw = fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
        serde_json::from_slice(&gunzip(&raw)).expect("digest is JSON")
    }

    /// The signature currently stored in `key`'s metadata (sidecar or xattr), if any.
    pub fn metadata_signature(&self, key: &str) -> Option<String> {
        let p = self.path_of(key);
        if let Ok(raw) = fs::read(sidecar_path(&p)) {
            let v: Value = serde_json::from_slice(&raw).ok()?;
            return v["Metadata"]["signature"].as_str().map(str::to_owned);
        }
        xattr::get(&p, XATTR_SIGNATURE)
            .ok()
            .flatten()
            .and_then(|b| String::from_utf8(b).ok())
    }

    /// Writes `json` (compact) gzip-compressed as digest `key`. With `Some(k)`: signs it per SPEC §2
    /// with TEST-ONLY key `k`, stores the signature where the owning trail's [`SignatureStore`]
    /// says (nowhere for `None`) and returns the signature hex. With `None`: existing metadata is
    /// left untouched (it no longer matches the content).
    pub fn write_digest(
        &self,
        key: &str,
        json: &Value,
        sign_with: Option<KeyId>,
    ) -> Option<String> {
        let p = self.path_of(key);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).expect("create digest folder");
        }
        let inflated = serde_json::to_vec(json).expect("serialize digest");
        let gz = gzip(&inflated);
        fs::write(&p, &gz).expect("write digest");
        sign_with.map(|k| self.sign_and_store(key, &p, json, &inflated, &gz, k))
    }

    /// Recomputes the signature of digest `key` over its current content with TEST-ONLY key `with`
    /// (the JSON, including `digestPublicKeyFingerprint`, is not changed) and rewrites its metadata.
    /// Returns the new signature hex.
    pub fn resign(&self, key: &str, with: KeyId) -> String {
        let p = self.path_of(key);
        let gz = fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
        let inflated = gunzip(&gz);
        let json: Value = serde_json::from_slice(&inflated).expect("digest is JSON");
        self.sign_and_store(key, &p, &json, &inflated, &gz, with)
    }

    fn sign_and_store(
        &self,
        key: &str,
        path: &Path,
        json: &Value,
        inflated: &[u8],
        gz: &[u8],
        with: KeyId,
    ) -> String {
        let sig = hex::encode(TestKey::get(with).sign(&signing_string(json, inflated)));
        let end: Option<i64> = json["digestEndTime"]
            .as_str()
            .and_then(|s| s.parse::<Timestamp>().ok())
            .map(Timestamp::as_second);
        let old = self.read_sidecar(path);
        let backfill_generation = key.ends_with("_backfill.json.gz").then(|| {
            old.as_ref()
                .and_then(|v| v["Metadata"]["backfill-generation-timestamp"].as_str())
                .map(str::to_owned)
                .or_else(|| {
                    xattr::get(path, XATTR_BACKFILL_GENERATION)
                        .ok()
                        .flatten()
                        .and_then(|b| String::from_utf8(b).ok())
                })
                .unwrap_or_else(|| fmt(end.unwrap_or(0) + 5400))
        });
        let last_modified = old
            .as_ref()
            .and_then(|v| v["LastModified"].as_str())
            .and_then(|s| s.parse::<Timestamp>().ok())
            .map(Timestamp::as_second)
            .unwrap_or_else(|| end.unwrap_or(0) + 10 + (fnv(key) % 40) as i64);
        let meta = Meta {
            signature_hex: sig.clone(),
            backfill_generation,
            last_modified,
            content_length: gz.len() as u64,
            etag: hex::encode(md5::Md5::digest(gz)),
        };
        write_metadata(path, self.store_for(key), &meta);
        set_mtime(path, last_modified);
        sig
    }

    fn read_sidecar(&self, path: &Path) -> Option<Value> {
        let raw = fs::read(sidecar_path(path)).ok()?;
        serde_json::from_slice(&raw).ok()
    }

    /// Overwrites the signature stored in `key`'s metadata with `hex` (xattr for
    /// [`SignatureStore::Xattr`] trails; otherwise the sidecar, created if missing).
    pub fn set_metadata_signature(&self, key: &str, hex: &str) {
        let p = self.path_of(key);
        match self.store_for(key) {
            SignatureStore::Xattr => {
                xattr::set(&p, XATTR_SIGNATURE, hex.as_bytes()).expect("set xattr");
                if xattr::get(&p, XATTR_SIGNATURE_ALGORITHM)
                    .ok()
                    .flatten()
                    .is_none()
                {
                    xattr::set(&p, XATTR_SIGNATURE_ALGORITHM, b"SHA256withRSA").expect("set xattr");
                }
            }
            SignatureStore::Sidecar | SignatureStore::None => {
                let mut v = self.read_sidecar(&p).unwrap_or_else(|| {
                    let gz = fs::read(&p).unwrap_or_default();
                    let end = serde_json::from_slice::<Value>(&gunzip_or_empty(&gz))
                        .ok()
                        .and_then(|j| j["digestEndTime"].as_str()?.parse::<Timestamp>().ok())
                        .map_or(0, Timestamp::as_second);
                    sidecar_json(&Meta {
                        signature_hex: String::new(),
                        backfill_generation: key
                            .ends_with("_backfill.json.gz")
                            .then(|| fmt(end + 5400)),
                        last_modified: end + 10 + (fnv(key) % 40) as i64,
                        content_length: gz.len() as u64,
                        etag: hex::encode(md5::Md5::digest(&gz)),
                    })
                });
                v["Metadata"]["signature"] = json!(hex);
                fs::write(sidecar_path(&p), pretty(&v)).expect("write sidecar");
            }
        }
    }

    /// Removes every trace of metadata for `key`: the sidecar and the `user.*` signature xattrs.
    pub fn strip_metadata(&self, key: &str) {
        let p = self.path_of(key);
        let _ = fs::remove_file(sidecar_path(&p));
        for name in [
            XATTR_SIGNATURE,
            XATTR_SIGNATURE_ALGORITHM,
            XATTR_BACKFILL_GENERATION,
        ] {
            let _ = xattr::remove(&p, name);
        }
    }

    /// Changes one record of log file `key` (its first record's `sourceIPAddress`) and re-gzips it
    /// as valid gzip: the file stays well-formed but its hash no longer matches.
    pub fn modify_log(&self, key: &str) {
        let p = self.path_of(key);
        let raw = fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
        let mut v: Value = serde_json::from_slice(&gunzip(&raw)).expect("log is JSON");
        match v
            .get_mut("Records")
            .and_then(Value::as_array_mut)
            .and_then(|r| r.first_mut())
        {
            Some(rec) => {
                let new_ip = if rec["sourceIPAddress"] == "198.51.100.77" {
                    "198.51.100.78"
                } else {
                    "198.51.100.77"
                };
                rec["sourceIPAddress"] = json!(new_ip);
            }
            None => v["Records"] = json!([{"eventVersion": "1.11", "eventName": "Tampered"}]),
        }
        fs::write(&p, gzip(&serde_json::to_vec(&v).expect("serialize log"))).expect("write log");
    }

    /// Removes the last `remove_bytes` bytes of the file `key`.
    pub fn truncate(&self, key: &str, remove_bytes: usize) {
        let p = self.path_of(key);
        let f = fs::File::options().write(true).open(&p).expect("open");
        let len = f.metadata().expect("metadata").len();
        f.set_len(len.saturating_sub(remove_bytes as u64))
            .expect("truncate");
    }

    /// Appends `bytes` to the file `key`.
    pub fn append_bytes(&self, key: &str, bytes: &[u8]) {
        let p = self.path_of(key);
        let mut f = fs::File::options().append(true).open(&p).expect("open");
        f.write_all(bytes).expect("append");
    }

    /// Inverts every bit of the byte `offset_from_end` bytes before the end of file `key`
    /// (`0` = last byte).
    pub fn flip_byte(&self, key: &str, offset_from_end: usize) {
        let p = self.path_of(key);
        let mut b = fs::read(&p).expect("read");
        let i = b
            .len()
            .checked_sub(offset_from_end + 1)
            .expect("offset inside the file");
        b[i] ^= 0xFF;
        fs::write(&p, b).expect("write");
    }

    /// Moves object `from_key` to `to_key` in the same bucket, metadata included (sidecar renamed,
    /// xattrs travel with the file), like `aws s3 mv`.
    pub fn move_file(&self, from_key: &str, to_key: &str) {
        let from = self.path_of(from_key);
        let to = self.sibling_path(&from, from_key, to_key);
        fs::create_dir_all(to.parent().expect("parent")).expect("create folder");
        fs::rename(&from, &to).expect("move");
        if sidecar_path(&from).exists() {
            fs::rename(sidecar_path(&from), sidecar_path(&to)).expect("move sidecar");
        }
    }

    /// Copies object `from_key` to `to_key` in the same bucket, metadata included (sidecar and
    /// `user.*` xattrs copied), like `aws s3 cp`.
    pub fn copy_file(&self, from_key: &str, to_key: &str) {
        let from = self.path_of(from_key);
        let to = self.sibling_path(&from, from_key, to_key);
        fs::create_dir_all(to.parent().expect("parent")).expect("create folder");
        fs::copy(&from, &to).expect("copy");
        if sidecar_path(&from).exists() {
            fs::copy(sidecar_path(&from), sidecar_path(&to)).expect("copy sidecar");
        }
        if let Ok(names) = xattr::list(&from) {
            for name in names {
                if let Ok(Some(v)) = xattr::get(&from, &name) {
                    xattr::set(&to, &name, &v).expect("copy xattr");
                }
            }
        }
    }

    /// `to_key`'s path in the same bucket root as `from` (which is `from_key`'s path).
    fn sibling_path(&self, from: &Path, from_key: &str, to_key: &str) -> PathBuf {
        let s = from.to_string_lossy();
        let root = s.strip_suffix(from_key).expect("path ends with its key");
        PathBuf::from(format!("{root}{to_key}"))
    }

    /// Writes a valid, well-named log file (fresh records, TEST-ONLY content) that no digest lists,
    /// in the folder of `account`/`region` for delivery time `delivered` (to the minute), in the
    /// bucket the owning trail delivered to at that time. Returns its key. Deterministic.
    pub fn inject_log(&self, account: &str, region: &str, delivered: Timestamp) -> String {
        let trail = self
            .trails
            .iter()
            .find(|t| {
                t.accounts.iter().any(|a| a == account) && t.regions.iter().any(|r| r == region)
            })
            .or_else(|| {
                self.trails
                    .iter()
                    .find(|t| t.accounts.iter().any(|a| a == account))
            })
            .or(self.trails.first())
            .expect("mirror has a trail");
        let minute = delivered.as_second().div_euclid(60) * 60;
        let hour = (minute - trail.start.as_second()).div_euclid(3600).max(0);
        let bucket = trail.bucket_for_hour(u32::try_from(hour).unwrap_or(u32::MAX));
        let mut rng = fastrand::Rng::with_seed(mix(&[
            trail.seed,
            fnv(account),
            fnv(region),
            minute as u64,
            0x1A7E,
        ]));
        loop {
            let key = trail.log_key(
                account,
                region,
                Timestamp::from_second(minute).expect("time"),
                &alnum(&mut rng, 16),
            );
            let path = self.path_in(bucket, &key);
            if !path.exists() {
                write_injected_log(&path, account, region, minute, rng.u64(..));
                return key;
            }
        }
    }
}

fn gunzip_or_empty(gz: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    let _ = flate2::read::GzDecoder::new(gz).read_to_end(&mut out);
    out
}

impl Mirror {
    /// Writes a forged digest into the chain of `template`'s account and region: a copy of the
    /// digest `template` (same trail, key layout and fingerprint field) whose window ends at `end`,
    /// listing `log_keys` (as `template`'s bucket; hash of the file on disk, or zeros when absent),
    /// and whose `previousDigest*` fields name `previous` (its current content's hash and its
    /// generated signature), or are all null for `None`. With `sign_with`, it is signed with that
    /// TEST-ONLY key and its metadata stored (an attacker's key gives a signature that does not
    /// verify); with `None` no metadata is written. Returns the forged digest's key.
    pub fn forge_digest(
        &self,
        template: &str,
        end: Timestamp,
        previous: Option<&str>,
        log_keys: &[String],
        sign_with: Option<KeyId>,
    ) -> String {
        let t = self
            .digests
            .iter()
            .find(|d| d.key == template)
            .expect("template digest was generated");
        let trail = self
            .trails
            .iter()
            .find(|tr| tr.owns_digest_key(template))
            .expect("template digest belongs to a trail");
        let key = trail.digest_key(&t.account, &t.region, end, t.backfill);
        let mut json = t.json.clone();
        let start = Timestamp::from_second(end.as_second() - 3600).expect("time");
        json["digestStartTime"] = json!(fmt(start.as_second()));
        json["digestEndTime"] = json!(fmt(end.as_second()));
        json["digestS3Object"] = json!(key);
        json["newestEventTime"] = Value::Null;
        json["oldestEventTime"] = Value::Null;
        let files: Vec<Value> = log_keys
            .iter()
            .map(|k| {
                let hash = fs::read(self.path_in(&t.bucket, k))
                    .map(|gz| crate::sha256_hex(&gunzip_or_empty(&gz)))
                    .unwrap_or_else(|_| "0".repeat(64));
                json!({"s3Bucket": t.bucket, "s3Object": k, "hashValue": hash, "hashAlgorithm": "SHA-256"})
            })
            .collect();
        json["logFiles"] = Value::Array(files);
        match previous {
            Some(p) => {
                let prev = self
                    .digests
                    .iter()
                    .find(|d| d.key == p)
                    .expect("previous digest was generated");
                let inflated = gunzip(&fs::read(&prev.path).expect("read previous digest"));
                json["previousDigestS3Bucket"] = json!(prev.bucket);
                json["previousDigestS3Object"] = json!(prev.key);
                json["previousDigestHashValue"] = json!(crate::sha256_hex(&inflated));
                json["previousDigestHashAlgorithm"] = json!("SHA-256");
                json["previousDigestSignature"] = json!(prev.signature_hex);
            }
            None => {
                for field in [
                    "previousDigestS3Bucket",
                    "previousDigestS3Object",
                    "previousDigestHashValue",
                    "previousDigestHashAlgorithm",
                    "previousDigestSignature",
                ] {
                    json[field] = Value::Null;
                }
            }
        }
        let path = self.path_in(&t.bucket, &key);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("create digest folder");
        }
        let inflated = serde_json::to_vec(&json).expect("serialize digest");
        let gz = gzip(&inflated);
        fs::write(&path, &gz).expect("write digest");
        if let Some(k) = sign_with {
            self.sign_and_store(&key, &path, &json, &inflated, &gz, k);
        }
        key
    }
}

/// `list-public-keys` JSON (CLI v1 style) holding exactly `keys`, each valid from `start` to `end`:
/// for tests that need a key file other than the one the builder wrote (a wrong region's keys,
/// a key missing, a key expired early).
pub fn key_file_json(keys: &[KeyId], start: Timestamp, end: Timestamp) -> Vec<u8> {
    use base64::Engine as _;
    let list: Vec<Value> = keys
        .iter()
        .map(|&id| {
            let k = TestKey::get(id);
            json!({
                "Value": base64::engine::general_purpose::STANDARD.encode(k.public_pkcs1_der()),
                "ValidityStartTime": start.as_second() as f64,
                "ValidityEndTime": end.as_second() as f64,
                "Fingerprint": k.fingerprint(),
            })
        })
        .collect();
    pretty(&json!({ "PublicKeyList": list }))
}
