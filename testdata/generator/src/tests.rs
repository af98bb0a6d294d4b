//! Self-checks of the generator (the format facts come from SPEC.md; the AWS CLI's validator was
//! run over generated mirrors separately, see testdata/README.md).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use rsa::pkcs1::DecodeRsaPublicKey;
use serde_json::{Value, json};
use sha2::Digest as _;

use crate::*;

/// Fingerprints computed with `openssl rsa -in K -RSAPublicKey_out -outform DER | md5sum`.
const OPENSSL_FINGERPRINTS: [(KeyId, &str); 4] = [
    (KeyId::One, "0cdd29e00ee0b6904f24754983db3cc0"),
    (KeyId::Two, "1d8fb739639d46b0b587e472c8d17a2e"),
    (KeyId::Three, "c1304e97597dcb0308137ace6bed7d3a"),
    (KeyId::Attacker, "0fd2ad665e88951c05f8296098006c8e"),
];

fn verify(id_der: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    let key = rsa::PublicKey::from_pkcs1_der(id_der).expect("PKCS#1 DER");
    let hash = sha2::Sha256::digest(msg);
    key.verify(rsa::Pkcs1v15Sign::new::<rsa::sha2::Sha256>(), &hash, sig)
        .is_ok()
}

/// A spec exercising everything: empty hours, a gap, backfill, rotation over 3 keys, bucket change.
fn busy_spec(seed: u64) -> TrailSpec {
    TrailSpec {
        hours: 10,
        empty_hours: vec![2],
        gaps: vec![(5, 2)],
        backfill_hours: vec![1, 8],
        keys: vec![KeyId::One, KeyId::Two, KeyId::Three],
        rotate_every_hours: 3,
        bucket_change_at_hour: Some((8, "acme-trail-logs-v2".to_owned())),
        trail_name: "prod_audit-trail.v1".to_owned(),
        ..TrailSpec::small(seed)
    }
}

fn second_trail(seed: u64) -> TrailSpec {
    TrailSpec {
        prefix: Some("audit/prod".to_owned()),
        organization_id: Some("o-a1b2c3d4e5".to_owned()),
        accounts: vec!["444455556666".to_owned(), "777788889999".to_owned()],
        regions: vec!["us-east-1".to_owned()],
        trail_name: "org-trail".to_owned(),
        hours: 4,
        signature_store: SignatureStore::Xattr,
        backfill_hours: vec![0],
        ..TrailSpec::small(seed)
    }
}

fn build_busy(dir: &Path) -> Mirror {
    MirrorBuilder::new(dir)
        .trail(busy_spec(42))
        .trail(second_trail(43))
        .build()
}

/// A file's bytes and its sorted extended attributes.
type FileState = (Vec<u8>, Vec<(String, Vec<u8>)>);

/// Every file under `dir` with its bytes and xattrs.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, FileState> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let mut attrs: Vec<(String, Vec<u8>)> = xattr::list(&p)
                    .unwrap()
                    .map(|n| {
                        let v = xattr::get(&p, &n).unwrap().unwrap();
                        (n.to_string_lossy().into_owned(), v)
                    })
                    .collect();
                attrs.sort();
                out.insert(
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    (fs::read(&p).unwrap(), attrs),
                );
            }
        }
    }
    out
}

#[test]
fn signing_string_matches_spec_vector() {
    let doc = json!({"digestEndTime": "a", "digestS3Bucket": "b", "digestS3Object": "c", "previousDigestSignature": null});
    assert_eq!(
        signing_string(&doc, b"abc"),
        b"a\nb/c\nba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\nnull".to_vec()
    );
    let doc = json!({"digestEndTime": "a", "digestS3Bucket": "b", "digestS3Object": "c", "previousDigestSignature": "00ff"});
    assert!(signing_string(&doc, b"abc").ends_with(b"\n00ff"));
}

#[test]
fn fingerprints_are_md5_of_pkcs1_der() {
    for (id, expected) in OPENSSL_FINGERPRINTS {
        let k = TestKey::get(id);
        let der = k.public_pkcs1_der();
        assert_eq!(
            der.len(),
            270,
            "RSA-2048 PKCS#1 public key DER is 270 bytes"
        );
        assert_eq!(&der[..4], &[0x30, 0x82, 0x01, 0x0a]);
        assert_eq!(hex::encode(md5::Md5::digest(&der)), expected);
        assert_eq!(k.fingerprint(), expected);
        assert!(
            base64::engine::general_purpose::STANDARD
                .encode(&der)
                .starts_with("MIIBCgKCAQEA")
        );
        assert!(
            k.public_pkcs1_pem()
                .starts_with("-----BEGIN RSA PUBLIC KEY-----\n")
        );
        assert!(
            k.public_spki_pem()
                .starts_with("-----BEGIN PUBLIC KEY-----\n")
        );
        let sig = k.sign(b"hello");
        assert_eq!(sig.len(), 256);
        assert_eq!(
            sig,
            k.sign(b"hello"),
            "PKCS#1 v1.5 signing is deterministic"
        );
        assert!(verify(&der, b"hello", &sig));
        assert!(!verify(&der, b"hellO", &sig));
    }
}

#[test]
fn key_layouts() {
    let s = TrailSpec {
        prefix: Some("audit/prod".to_owned()),
        organization_id: Some("o-a1b2c3d4e5".to_owned()),
        trail_name: "My_Trail-1.x".to_owned(),
        ..TrailSpec::small(1)
    };
    let t: Timestamp = "2026-03-01T23:59:07Z".parse().unwrap();
    assert_eq!(
        s.digest_key("111122223333", "eu-west-1", t, false),
        "audit/prod/AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail-Digest/eu-west-1/2026/03/01/111122223333_CloudTrail-Digest_eu-west-1_My_Trail-1.x_us-east-1_20260301T235907Z.json.gz"
    );
    assert_eq!(
        s.digest_key("111122223333", "eu-west-1", t, true),
        "audit/prod/AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail-Digest/eu-west-1/2026/03/01/111122223333_CloudTrail-Digest_eu-west-1_My_Trail-1.x_us-east-1_20260301T235907Z_backfill.json.gz"
    );
    assert_eq!(
        s.log_key("111122223333", "eu-west-1", t, "AbCdEfGh12345678"),
        "audit/prod/AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail/eu-west-1/2026/03/01/111122223333_CloudTrail_eu-west-1_20260301T2359Z_AbCdEfGh12345678.json.gz"
    );
    let plain = TrailSpec::small(1);
    assert!(
        plain
            .digest_key("111122223333", "us-east-1", t, false)
            .starts_with("AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/03/01/")
    );
    assert_eq!(plain.key_for_hour(3), KeyId::One);
    assert_eq!(plain.key_for_hour(4), KeyId::Two);
    assert_eq!(plain.key_for_hour(400), KeyId::Two);
}

#[test]
fn builds_are_byte_identical() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    build_busy(a.path());
    build_busy(b.path());
    let (sa, sb) = (snapshot(a.path()), snapshot(b.path()));
    assert!(sa.len() > 50);
    assert_eq!(sa.keys().collect::<Vec<_>>(), sb.keys().collect::<Vec<_>>());
    for (k, v) in &sa {
        assert!(sb[k] == *v, "{} differs between builds", k.display());
    }
    // A different seed gives different content.
    let c = tempfile::tempdir().unwrap();
    MirrorBuilder::new(c.path())
        .trail(busy_spec(41))
        .trail(second_trail(43))
        .build();
    assert_ne!(snapshot(c.path()).keys().count(), 0);
    assert_ne!(
        snapshot(c.path())
            .keys()
            .filter(|k| k.to_string_lossy().contains("/CloudTrail/"))
            .collect::<Vec<_>>(),
        sa.keys()
            .filter(|k| k.to_string_lossy().contains("/CloudTrail/"))
            .collect::<Vec<_>>()
    );
}

fn stored_signature(m: &Mirror, d: &DigestEntry) -> Option<(String, Value)> {
    let side = PathBuf::from(format!("{}{SIDECAR_SUFFIX}", d.path.display()));
    if let Ok(raw) = fs::read(&side) {
        let v: Value = serde_json::from_slice(&raw).unwrap();
        let sig = v["Metadata"]["signature"].as_str().unwrap().to_owned();
        return Some((sig, v["Metadata"].clone()));
    }
    let sig = xattr::get(&d.path, XATTR_SIGNATURE).unwrap()?;
    let mut md = json!({
        "signature": String::from_utf8(sig.clone()).unwrap(),
        "signature-algorithm": String::from_utf8(xattr::get(&d.path, XATTR_SIGNATURE_ALGORITHM).unwrap().unwrap()).unwrap(),
    });
    if let Some(g) = xattr::get(&d.path, XATTR_BACKFILL_GENERATION).unwrap() {
        md["backfill-generation-timestamp"] = json!(String::from_utf8(g).unwrap());
    }
    assert!(m.metadata_signature(&d.key).is_some());
    Some((String::from_utf8(sig).unwrap(), md))
}

#[test]
fn generated_mirror_is_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let m = build_busy(dir.path());
    let spec = busy_spec(42);
    assert_eq!(m.root, dir.path().join("mirror"));
    assert_eq!(m.extra_roots, vec![dir.path().join("acme-trail-logs-v2")]);

    let keys: Value = serde_json::from_slice(&fs::read(&m.public_keys).unwrap()).unwrap();
    let published: BTreeMap<String, (Vec<u8>, f64, f64)> = keys["PublicKeyList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            let der = base64::engine::general_purpose::STANDARD
                .decode(k["Value"].as_str().unwrap())
                .unwrap();
            assert_eq!(
                hex::encode(md5::Md5::digest(&der)),
                k["Fingerprint"].as_str().unwrap()
            );
            (
                k["Fingerprint"].as_str().unwrap().to_owned(),
                (
                    der,
                    k["ValidityStartTime"].as_f64().unwrap(),
                    k["ValidityEndTime"].as_f64().unwrap(),
                ),
            )
        })
        .collect();
    assert_eq!(published.len(), 3, "keys One, Two, Three signed something");
    assert!(!published.contains_key(&TestKey::get(KeyId::Attacker).fingerprint()));

    let by_key: BTreeMap<&str, &DigestEntry> =
        m.digests.iter().map(|d| (d.key.as_str(), d)).collect();
    for d in &m.digests {
        let gz = fs::read(&d.path).unwrap();
        assert_eq!(&gz[..10], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0]);
        let inflated = gunzip(&gz);
        assert_eq!(inflated, serde_json::to_vec(&d.json).unwrap());
        let j: Value = serde_json::from_slice(&inflated).unwrap();
        let fields: Vec<&str> = j.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            fields,
            [
                "awsAccountId",
                "digestStartTime",
                "digestEndTime",
                "digestS3Bucket",
                "digestS3Object",
                "digestPublicKeyFingerprint",
                "digestSignatureAlgorithm",
                "newestEventTime",
                "oldestEventTime",
                "previousDigestS3Bucket",
                "previousDigestS3Object",
                "previousDigestHashValue",
                "previousDigestHashAlgorithm",
                "previousDigestSignature",
                "logFiles"
            ]
        );
        assert_eq!(j["digestS3Object"], d.key.as_str());
        assert_eq!(j["digestS3Bucket"], d.bucket.as_str());
        assert_eq!(j["digestEndTime"], format_time(d.end_time).as_str());
        assert!(
            d.key
                .contains(&d.end_time.strftime("/%Y/%m/%d/").to_string())
        );
        assert!(
            d.key
                .contains(&d.end_time.strftime("_%Y%m%dT%H%M%SZ").to_string())
        );
        assert_eq!(d.backfill, d.key.ends_with("_backfill.json.gz"));
        // Signature: stored metadata (sidecar or xattr) and verifiable with the published key.
        let (sig, md) = stored_signature(&m, d).expect("every digest has metadata here");
        assert_eq!(sig, d.signature_hex);
        assert_eq!(md["signature-algorithm"], "SHA256withRSA");
        assert_eq!(
            md.get("backfill-generation-timestamp").is_some(),
            d.backfill
        );
        let fp = j["digestPublicKeyFingerprint"].as_str().unwrap();
        assert_eq!(fp, TestKey::get(d.signed_by).fingerprint());
        let (der, vs, ve) = &published[fp];
        let end = d.end_time.as_second() as f64;
        assert!(*vs <= end - 3600.0 && end <= *ve);
        assert!(verify(
            der,
            &signing_string(&j, &inflated),
            &hex::decode(&sig).unwrap()
        ));
        // Chain link.
        if j["previousDigestS3Object"].is_null() {
            for f in [
                "previousDigestS3Bucket",
                "previousDigestHashValue",
                "previousDigestHashAlgorithm",
                "previousDigestSignature",
            ] {
                assert!(j[f].is_null());
            }
        } else {
            assert!(!d.backfill);
            let p = by_key[j["previousDigestS3Object"].as_str().unwrap()];
            assert_eq!(j["previousDigestS3Bucket"], p.bucket.as_str());
            assert_eq!(
                j["previousDigestHashValue"],
                sha256_hex(&gunzip(&fs::read(&p.path).unwrap())).as_str()
            );
            assert_eq!(j["previousDigestHashAlgorithm"], "SHA-256");
            assert_eq!(j["previousDigestSignature"], p.signature_hex.as_str());
            assert_eq!(j["digestStartTime"], p.json["digestEndTime"]);
        }
        // Listed logs.
        let logs = j["logFiles"].as_array().unwrap();
        if logs.is_empty() {
            assert!(j["newestEventTime"].is_null() && j["oldestEventTime"].is_null());
        }
        for lf in logs {
            let l = m
                .logs
                .iter()
                .find(|l| l.key == lf["s3Object"].as_str().unwrap())
                .unwrap();
            assert_eq!(lf["s3Bucket"], l.bucket.as_str());
            assert_eq!(lf["hashValue"], l.sha256_hex.as_str());
            assert_eq!(lf["hashAlgorithm"], "SHA-256");
            let body = gunzip(&fs::read(&l.path).unwrap());
            assert_eq!(sha256_hex(&body), l.sha256_hex);
            assert!(l.listed_by.contains(&d.key));
            let start: Timestamp = j["digestStartTime"].as_str().unwrap().parse().unwrap();
            assert!(l.delivered >= start && l.delivered <= d.end_time);
            let recs: Value = serde_json::from_slice(&body).unwrap();
            let times: Vec<&str> = recs["Records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["eventTime"].as_str().unwrap())
                .collect();
            assert_eq!(lf["newestEventTime"], *times.iter().max().unwrap());
            assert_eq!(lf["oldestEventTime"], *times.iter().min().unwrap());
            assert!(
                j["newestEventTime"].as_str().unwrap() >= lf["newestEventTime"].as_str().unwrap()
            );
            assert!(
                j["oldestEventTime"].as_str().unwrap() <= lf["oldestEventTime"].as_str().unwrap()
            );
        }
    }

    // Shape of the busy trail: per chain 10 hours - 2 gap hours = 8 digests, 2 backfill digests.
    let chain: Vec<&DigestEntry> = m
        .digests
        .iter()
        .filter(|d| d.key.contains("prod_audit-trail.v1") && d.region == "eu-west-1")
        .collect();
    assert_eq!(chain.iter().filter(|d| !d.backfill).count(), 8);
    assert_eq!(chain.iter().filter(|d| d.backfill).count(), 2);
    let std_chain: Vec<&&DigestEntry> = chain.iter().filter(|d| !d.backfill).collect();
    assert!(std_chain.windows(2).all(|w| w[0].end_time < w[1].end_time));
    // Hour 2 is empty, hour 7 restarts after the gap, hour 8 moved to the new bucket and links back.
    assert_eq!(std_chain[2].json["logFiles"], json!([]));
    assert_eq!(std_chain[5].end_time, spec.digest_end(7));
    assert!(std_chain[5].json["previousDigestS3Object"].is_null());
    assert_eq!(std_chain[6].bucket, "acme-trail-logs-v2");
    assert_eq!(
        std_chain[6].json["previousDigestS3Bucket"],
        "acme-cloudtrail-logs"
    );
    assert!(std_chain[6].path.starts_with(&m.extra_roots[0]));
    // Backfill logs are listed only by their backfill digest; gap logs by nobody.
    for d in chain.iter().filter(|d| d.backfill) {
        assert_eq!(d.log_keys.len(), 1);
        let l = m.logs.iter().find(|l| l.key == d.log_keys[0]).unwrap();
        assert_eq!(l.listed_by, vec![d.key.clone()]);
    }
    let unlisted = m.logs.iter().filter(|l| l.listed_by.is_empty()).count();
    assert!(
        unlisted >= 4,
        "gap hours deliver unlisted logs ({unlisted})"
    );
    // Signers: rotation every 3 hours over One, Two, Three.
    assert_eq!(std_chain[0].signed_by, KeyId::One);
    assert_eq!(std_chain[3].signed_by, KeyId::Two);
    assert_eq!(std_chain[7].signed_by, KeyId::Three);
    // Org trail with prefix: xattr store, no sidecars.
    let org: Vec<&DigestEntry> = m
        .digests
        .iter()
        .filter(|d| d.key.starts_with("audit/prod/AWSLogs/o-a1b2c3d4e5/"))
        .collect();
    assert_eq!(org.len(), 2 * (4 + 1));
    assert!(
        org.iter()
            .all(|d| { !PathBuf::from(format!("{}{SIDECAR_SUFFIX}", d.path.display())).exists() })
    );
}

#[test]
fn no_metadata_store_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let m = MirrorBuilder::new(dir.path())
        .trail(TrailSpec {
            signature_store: SignatureStore::None,
            hours: 2,
            ..TrailSpec::small(5)
        })
        .build();
    for d in &m.digests {
        assert!(m.metadata_signature(&d.key).is_none());
        assert!(xattr::list(&d.path).unwrap().next().is_none());
    }
}

#[test]
fn tamper_helpers() {
    let dir = tempfile::tempdir().unwrap();
    let m = build_busy(dir.path());
    let d = m.digests.iter().find(|d| !d.log_keys.is_empty()).unwrap();
    let log_key = d.log_keys[0].clone();
    let log = m.logs.iter().find(|l| l.key == log_key).unwrap();

    // modify_log: still valid gzip + JSON, hash differs.
    m.modify_log(&log_key);
    let body = gunzip(&fs::read(m.path_of(&log_key)).unwrap());
    serde_json::from_slice::<Value>(&body).unwrap();
    assert_ne!(sha256_hex(&body), log.sha256_hex);

    // resign with the attacker: the JSON is unchanged, the stored signature is not.
    let sig = m.resign(&d.key, KeyId::Attacker);
    assert_ne!(sig, d.signature_hex);
    assert_eq!(m.metadata_signature(&d.key).unwrap(), sig);
    assert_eq!(m.read_digest_json(&d.key), d.json);
    assert_eq!(m.resign(&d.key, d.signed_by), d.signature_hex);

    // write_digest with and without signing.
    let mut j = d.json.clone();
    j["logFiles"] = json!([]);
    assert_eq!(m.write_digest(&d.key, &j, None), None);
    assert_eq!(m.metadata_signature(&d.key).unwrap(), d.signature_hex);
    assert_eq!(m.read_digest_json(&d.key), j);
    let s2 = m.write_digest(&d.key, &j, Some(KeyId::One)).unwrap();
    assert_eq!(m.metadata_signature(&d.key).unwrap(), s2);

    m.set_metadata_signature(&d.key, "00ff");
    assert_eq!(m.metadata_signature(&d.key).unwrap(), "00ff");
    m.strip_metadata(&d.key);
    assert_eq!(m.metadata_signature(&d.key), None);

    // Xattr-store digest (org trail).
    let x = m
        .digests
        .iter()
        .find(|d| d.key.starts_with("audit/"))
        .unwrap();
    m.set_metadata_signature(&x.key, "abcd");
    assert_eq!(
        xattr::get(&x.path, XATTR_SIGNATURE).unwrap().unwrap(),
        b"abcd"
    );
    m.resign(&x.key, KeyId::One);
    assert_eq!(m.metadata_signature(&x.key).unwrap(), x.signature_hex);

    // move/copy carry the metadata; delete removes it.
    let d2 = m
        .digests
        .iter()
        .find(|e| !e.backfill && e.key != d.key && e.path.starts_with(&m.root))
        .unwrap();
    let moved = d2.key.replace("/2026/03/01/", "/2026/03/02/");
    m.move_file(&d2.key, &moved);
    assert!(!d2.path.exists());
    assert_eq!(m.metadata_signature(&moved).unwrap(), d2.signature_hex);
    let copied = format!("{moved}.copy.json.gz");
    m.copy_file(&moved, &copied);
    assert_eq!(m.metadata_signature(&copied).unwrap(), d2.signature_hex);
    m.copy_file(&x.key, &format!("{}.copy", x.key));
    assert_eq!(
        m.metadata_signature(&format!("{}.copy", x.key)).unwrap(),
        x.signature_hex
    );
    m.delete(&copied);
    assert!(!m.path_of(&copied).exists());
    assert!(!PathBuf::from(format!("{}{SIDECAR_SUFFIX}", m.path_of(&copied).display())).exists());

    // Byte-level damage.
    let l2 = &m.logs[1];
    let len = fs::metadata(&l2.path).unwrap().len();
    m.truncate(&l2.key, 8);
    assert_eq!(fs::metadata(&l2.path).unwrap().len(), len - 8);
    m.append_bytes(&l2.key, b"junk");
    assert_eq!(fs::metadata(&l2.path).unwrap().len(), len - 4);
    let before = fs::read(&l2.path).unwrap();
    m.flip_byte(&l2.key, 0);
    let after = fs::read(&l2.path).unwrap();
    assert_eq!(after[after.len() - 1], !before[before.len() - 1]);

    // inject_log: well-formed, unlisted, in the right folder (and bucket after the change).
    let at: Timestamp = "2026-03-01T02:31:45Z".parse().unwrap();
    let k = m.inject_log("111122223333", "eu-west-1", at);
    assert!(k.starts_with(
        "AWSLogs/111122223333/CloudTrail/eu-west-1/2026/03/01/111122223333_CloudTrail_eu-west-1_20260301T0231Z_"
    ));
    assert_eq!(k.len(), k.find("T0231Z_").unwrap() + 7 + 16 + 8);
    let p = m.path_of(&k);
    assert!(p.starts_with(&m.root));
    let v: Value = serde_json::from_slice(&gunzip(&fs::read(&p).unwrap())).unwrap();
    assert!(!v["Records"].as_array().unwrap().is_empty());
    assert!(m.digests.iter().all(|d| !d.log_keys.contains(&k)));
    let late: Timestamp = "2026-03-01T09:40:00Z".parse().unwrap();
    let k2 = m.inject_log("111122223333", "us-east-1", late);
    assert!(m.path_of(&k2).starts_with(&m.extra_roots[0]));
    assert_ne!(m.inject_log("111122223333", "eu-west-1", at), k);
}

/// The trail's own calls are CloudTrail records (the schema trailproof and
/// any reader expect), appended to the last log of their hour in the home
/// region only, inside that log's hashed content.
#[test]
fn trail_events_are_records_of_the_home_regions_last_log_of_their_hour() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = TrailSpec::small(77);
    spec.trail_events = vec![
        (4, TrailEvent::StopLoggingDenied),
        (4, TrailEvent::ValidationOff),
    ];
    let m = MirrorBuilder::new(dir.path()).trail(spec.clone()).build();
    let mut found = Vec::new();
    for log in &m.logs {
        let body = crate::gunzip(&std::fs::read(&log.path).unwrap());
        assert_eq!(crate::sha256_hex(&body), log.sha256_hex);
        let v: Value = serde_json::from_slice(&body).unwrap();
        for r in v["Records"].as_array().unwrap() {
            if r["eventSource"] == "cloudtrail.amazonaws.com" {
                found.push((log.clone(), r.clone()));
            }
        }
    }
    assert_eq!(found.len(), 2, "one record per event");
    let arn = "arn:aws:cloudtrail:us-east-1:111122223333:trail/management-events";
    for (log, r) in &found {
        assert_eq!(log.region, "us-east-1");
        let hour_end = spec.digest_end(4);
        let t: Timestamp = r["eventTime"].as_str().unwrap().parse().unwrap();
        assert!(t <= hour_end && t >= spec.window_start(4), "{t}");
        assert_eq!(r["requestParameters"]["name"], arn);
        assert!(
            r["userIdentity"]["arn"]
                .as_str()
                .unwrap()
                .starts_with("arn:aws:iam::111122223333:user/")
        );
        assert_eq!(r["sourceIPAddress"], "198.51.100.23");
        assert_eq!(r["eventType"], "AwsApiCall");
    }
    let denied = &found
        .iter()
        .find(|(_, r)| r["eventName"] == "StopLogging")
        .unwrap()
        .1;
    assert_eq!(denied["errorCode"], "AccessDenied");
    let update = &found
        .iter()
        .find(|(_, r)| r["eventName"] == "UpdateTrail")
        .unwrap()
        .1;
    assert_eq!(
        update["requestParameters"]["enableLogFileValidation"],
        false
    );
    assert!(update.get("errorCode").is_none());
}
