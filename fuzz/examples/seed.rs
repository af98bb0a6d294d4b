//! Writes the seed corpora of every fuzz target from mirrors built by the
//! TEST-ONLY generator: `cargo run --release --manifest-path fuzz/Cargo.toml
//! --example seed -- fuzz/corpus` (scripts/fuzz.sh does it).
//!
//! - `digest_file`: every digest file, and its inflated JSON;
//! - `gzip_log`: every log file (and the digests, also gzip);
//! - `sidecar`: every metadata sidecar, and a bare metadata map;
//! - `key_file`: the `list-public-keys` JSON (CLI v1 epochs and CLI v2
//!   ISO 8601), PKCS#1 and SubjectPublicKeyInfo keys as PEM and DER, a
//!   self-signed X.509 certificate as PEM and DER, one PEM with all three;
//! - `key_names`: the relative path of every file in the mirrors;
//! - `verify_mirror`: every file of its fixture mirror, with its selector byte.
//!
//! Files get descriptive names; existing corpus files are kept.

#![allow(clippy::expect_used, clippy::panic)]

use base64::Engine as _;
use std::fs;
use std::path::{Path, PathBuf};
use trailproof_testgen::{KeyId, MirrorBuilder, SignatureStore, TestKey, TrailSpec};

fn main() {
    let corpus = PathBuf::from(
        std::env::args_os()
            .nth(1)
            .expect("usage: seed CORPUS_DIR (e.g. fuzz/corpus)"),
    );
    let scratch = std::env::temp_dir().join(format!("trailproof-seed-{}", std::process::id()));
    let _ = fs::remove_dir_all(&scratch);
    let mirror = MirrorBuilder::new(&scratch)
        .trail(TrailSpec::small(1))
        .trail(TrailSpec {
            bucket: "org-audit-logs".into(),
            prefix: Some("audit/prod".into()),
            organization_id: Some("o-a1b2c3d4e5".into()),
            accounts: vec!["111122223333".into(), "444455556666".into()],
            regions: vec!["eu-west-1".into()],
            home_region: "eu-west-1".into(),
            trail_name: "org_trail.v2".into(),
            hours: 3,
            empty_hours: vec![2],
            backfill_hours: vec![1],
            keys: vec![KeyId::Three],
            signature_store: SignatureStore::Sidecar,
            ..TrailSpec::small(2)
        })
        .build();
    let mut out = Corpus::new(&corpus);

    for (i, digest) in mirror.digests.iter().enumerate() {
        let gz = fs::read(&digest.path).expect("read digest");
        out.put("digest_file", &format!("digest-{i:02}.json.gz"), &gz);
        out.put(
            "digest_file",
            &format!("digest-{i:02}.json"),
            &trailproof_testgen::gunzip(&gz),
        );
        out.put("gzip_log", &format!("digest-{i:02}.json.gz"), &gz);
        let mut sidecar = digest.path.clone().into_os_string();
        sidecar.push(trailproof_testgen::SIDECAR_SUFFIX);
        if let Ok(bytes) = fs::read(&sidecar) {
            out.put("sidecar", &format!("sidecar-{i:02}.metadata.json"), &bytes);
        }
        out.put(
            "sidecar",
            &format!("bare-{i:02}.json"),
            format!(
                r#"{{"x-amz-meta-signature":"{}","x-amz-meta-signature-algorithm":"SHA256withRSA"}}"#,
                digest.signature_hex
            )
            .as_bytes(),
        );
    }
    for (i, log) in mirror.logs.iter().enumerate() {
        let gz = fs::read(&log.path).expect("read log");
        out.put("gzip_log", &format!("log-{i:02}.json.gz"), &gz);
    }
    let mut roots = vec![mirror.root.clone()];
    roots.extend(mirror.extra_roots.iter().cloned());
    let mut names = Vec::new();
    for root in &roots {
        relative_files(root, root, &mut names);
    }
    for (i, name) in names.iter().enumerate() {
        out.put("key_names", &format!("key-{i:03}.txt"), name.as_bytes());
    }

    let keys_json = fs::read(&mirror.public_keys).expect("read public-keys.json");
    out.put("key_file", "public-keys-cli-v1.json", &keys_json);
    out.put("key_file", "public-keys-cli-v2.json", &cli_v2_keys());
    let mut all_pem = String::new();
    for id in [KeyId::One, KeyId::Two, KeyId::Three] {
        let key = TestKey::get(id);
        let n = format!("{id:?}").to_lowercase();
        let pkcs1_pem = key.public_pkcs1_pem();
        let spki_pem = key.public_spki_pem();
        let cert = self_signed_certificate(key);
        let cert_pem = pem("CERTIFICATE", &cert);
        out.put(
            "key_file",
            &format!("key-{n}-pkcs1.pem"),
            pkcs1_pem.as_bytes(),
        );
        out.put(
            "key_file",
            &format!("key-{n}-spki.pem"),
            spki_pem.as_bytes(),
        );
        out.put(
            "key_file",
            &format!("key-{n}-pkcs1.der"),
            &key.public_pkcs1_der(),
        );
        out.put(
            "key_file",
            &format!("key-{n}-spki.der"),
            &pem_body(&spki_pem),
        );
        out.put(
            "key_file",
            &format!("key-{n}-cert.pem"),
            cert_pem.as_bytes(),
        );
        out.put("key_file", &format!("key-{n}-cert.der"), &cert);
        all_pem.push_str(&pkcs1_pem);
        all_pem.push_str(&spki_pem);
        all_pem.push_str(&cert_pem);
    }
    out.put("key_file", "keys-all.pem", all_pem.as_bytes());

    for (i, seed) in trailproof_fuzz::verify_mirror::seeds().iter().enumerate() {
        out.put("verify_mirror", &format!("seed-{i:02}"), seed);
    }
    trailproof_fuzz::verify_mirror::clean_up();
    let _ = fs::remove_dir_all(&scratch);
    for (target, count) in out.counts {
        println!("{target}: {count} seed(s)");
    }
}

/// The corpus directories being written.
struct Corpus {
    dir: PathBuf,
    counts: std::collections::BTreeMap<&'static str, usize>,
}

impl Corpus {
    fn new(dir: &Path) -> Corpus {
        Corpus {
            dir: dir.to_path_buf(),
            counts: Default::default(),
        }
    }

    fn put(&mut self, target: &'static str, name: &str, bytes: &[u8]) {
        let dir = self.dir.join(target);
        fs::create_dir_all(&dir).expect("create corpus directory");
        fs::write(dir.join(name), bytes).expect("write seed");
        *self.counts.entry(target).or_default() += 1;
    }
}

fn relative_files(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .expect("read mirror directory")
        .flatten()
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            relative_files(root, &path, out);
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.push(rel.to_string_lossy().into_owned());
        }
    }
}

/// `list-public-keys` as AWS CLI v2 prints it: ISO 8601 times with an offset.
fn cli_v2_keys() -> Vec<u8> {
    let keys: Vec<String> = [KeyId::One, KeyId::Two]
        .iter()
        .map(|&id| {
            let key = TestKey::get(id);
            format!(
                r#"{{"Value":"{}","ValidityStartTime":"2026-02-28T23:00:00+00:00","ValidityEndTime":"2026-03-01T08:17:28-05:00","Fingerprint":"{}"}}"#,
                base64::engine::general_purpose::STANDARD.encode(key.public_pkcs1_der()),
                key.fingerprint()
            )
        })
        .collect();
    format!("{{\n  \"PublicKeyList\": [{}]\n}}\n", keys.join(",")).into_bytes()
}

fn pem_body(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("PEM body is base64")
}

fn pem(tag: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {tag}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {tag}-----\n"));
    out
}

/// A minimal self-signed X.509 v3 certificate (DER) for a TEST-ONLY key,
/// signed SHA256withRSA with that key, valid 2026-01-01 to 2027-01-01.
fn self_signed_certificate(key: &TestKey) -> Vec<u8> {
    const SHA256_WITH_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
    const COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
    let algorithm = der(0x30, &[der(0x06, SHA256_WITH_RSA), der(0x05, &[])].concat());
    let name = der(
        0x30,
        &der(
            0x31,
            &der(
                0x30,
                &[
                    der(0x06, COMMON_NAME),
                    der(0x0c, format!("TEST-ONLY key {:?}", key.id()).as_bytes()),
                ]
                .concat(),
            ),
        ),
    );
    let validity = der(
        0x30,
        &[der(0x17, b"260101000000Z"), der(0x17, b"270101000000Z")].concat(),
    );
    let tbs = der(
        0x30,
        &[
            der(0xa0, &der(0x02, &[2])),
            der(0x02, &[0x01, 0x23, 0x45]),
            algorithm.clone(),
            name.clone(),
            validity,
            name,
            pem_body(&key.public_spki_pem()),
        ]
        .concat(),
    );
    let mut signature = vec![0];
    signature.extend(key.sign(&tbs));
    der(0x30, &[tbs, algorithm, der(0x03, &signature)].concat())
}

/// One DER TLV with a definite length.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|&b| b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}
