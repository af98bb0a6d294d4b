//! CloudTrail Lake query exports signed with a TEST-ONLY key: result files
//! (`result_N.csv.gz`) and `result_sign.json` as CloudTrail Lake writes them
//! (the facts are in `docs/lake.md`), and the key list
//! `aws cloudtrail list-public-keys` would print for them.

use crate::{KeyId, TestKey, format_time, gzip, sha256_hex};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use std::fs;
use std::path::{Path, PathBuf};

/// The fingerprint the test key list gives a TEST-ONLY key: like CloudTrail
/// Lake's, an identifier the service assigns, not a hash of the key.
pub fn lake_fingerprint(key: KeyId) -> String {
    format!("{:032x}", 0x7e57_0000_u128 + key as u128)
}

/// A generated export.
pub struct LakeExport {
    /// The export folder.
    pub dir: PathBuf,
    /// Result file names, in the sign file's order.
    pub files: Vec<String>,
    /// `queryCompleteTime`.
    pub completed: Timestamp,
    /// The key it is signed with.
    pub key: KeyId,
}

impl LakeExport {
    /// Writes an export of `files` result files into `dir`, signed with `key`.
    pub fn write(dir: &Path, files: usize, key: KeyId) -> LakeExport {
        fs::create_dir_all(dir).expect("create export folder");
        let completed: Timestamp = "2026-03-01T12:34:56Z".parse().expect("time");
        let mut names = Vec::new();
        for n in 1..=files {
            let name = format!("result_{n}.csv.gz");
            let csv = format!(
                "eventid,eventname,eventtime\n{n:08}-0000-4000-8000-000000000000,ConsoleLogin,2026-03-01T12:{n:02}:00Z\n"
            );
            fs::write(dir.join(&name), gzip(csv.as_bytes())).expect("write result");
            names.push(name);
        }
        let export = LakeExport {
            dir: dir.to_path_buf(),
            files: names,
            completed,
            key,
        };
        export.sign();
        export
    }

    /// The sign file's path.
    pub fn sign_path(&self) -> PathBuf {
        self.dir.join("result_sign.json")
    }

    /// The sign file, parsed.
    pub fn sign_json(&self) -> Value {
        serde_json::from_slice(&fs::read(self.sign_path()).expect("read sign file"))
            .expect("sign file is JSON")
    }

    /// Writes `value` as the sign file.
    pub fn write_sign_json(&self, value: &Value) {
        fs::write(
            self.sign_path(),
            serde_json::to_vec_pretty(value).expect("serialize"),
        )
        .expect("write sign file");
    }

    /// (Re)writes the sign file over the result files as they are now,
    /// signed with the export's key.
    pub fn sign(&self) {
        let files: Vec<(String, String)> = self
            .files
            .iter()
            .map(|name| {
                let bytes = fs::read(self.dir.join(name)).unwrap_or_default();
                (name.clone(), sha256_hex(&bytes))
            })
            .collect();
        let value = sign_file(&files, self.key, self.completed);
        self.write_sign_json(&value);
    }

    /// The key list for this export: its key, valid around `completed`.
    pub fn keys_json(&self) -> String {
        keys_json(
            &[self.key],
            self.completed - SignedDuration::from_hours(24 * 30),
            self.completed + SignedDuration::from_hours(24 * 30),
        )
    }
}

/// A sign file listing `files` (`(fileName, fileHashValue)`), signed with `key`.
pub fn sign_file(files: &[(String, String)], key: KeyId, completed: Timestamp) -> Value {
    let signed = files
        .iter()
        .map(|(_, hash)| hash.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let signature = hex::encode(TestKey::get(key).sign(signed.as_bytes()));
    json!({
        "region": "us-east-1",
        "files": files
            .iter()
            .map(|(name, hash)| json!({"fileHashValue": hash, "fileName": name}))
            .collect::<Vec<_>>(),
        "hashAlgorithm": "SHA-256",
        "signatureAlgorithm": "SHA256withRSA",
        "hashSignature": signature,
        "publicKeyFingerprint": lake_fingerprint(key),
        "queryCompleteTime": format_time(completed),
    })
}

/// The JSON `aws cloudtrail list-public-keys` prints (CLI v2 time format)
/// for `keys`, each valid from `start` to `end`, under Lake-style fingerprints.
pub fn keys_json(keys: &[KeyId], start: Timestamp, end: Timestamp) -> String {
    use base64::Engine as _;
    let list: Vec<Value> = keys
        .iter()
        .map(|&k| {
            json!({
                "Value": base64::engine::general_purpose::STANDARD
                    .encode(TestKey::get(k).public_pkcs1_der()),
                "ValidityStartTime": format_time(start),
                "ValidityEndTime": format_time(end),
                "Fingerprint": lake_fingerprint(k),
            })
        })
        .collect();
    serde_json::to_string_pretty(&json!({ "PublicKeyList": list })).expect("serialize")
}
