//! Entry points for fuzzing: each function takes arbitrary bytes and hands
//! them to one parser exactly as [`verify()`](crate::verify()) hands it a file
//! of a mirror, then checks a few properties of what came back.
//!
//! Used by the cargo-fuzz targets in `fuzz/` and replayed by
//! `tests/fuzz_regressions.rs`; not part of the supported API. Every function
//! must return normally for every input: a panic, including a failed
//! assertion below, is a bug in trailproof. The whole-verify harness needs the
//! TEST-ONLY mirror generator and so lives in the fuzz crate
//! (`fuzz/src/verify_mirror.rs`), keeping this module free of test-only
//! dependencies.

use crate::{digest, gzip, keys, mirror, signature};
use sha2::{Digest as _, Sha256};
use std::io::BufReader;
use std::path::Path;

/// Bound on inflated content here (1 MiB): a gzip bomb costs little.
pub const MAX_INFLATED: u64 = 1 << 20;

/// Inflate buffer of [`gzip_log`]: small, so a member spans many reads.
const SMALL_BUFFER: usize = 7;

/// Read-ahead of the small [`BufReader`]s: the member and its trailer then
/// span many refills, as they do in a file larger than the verifier's buffer.
const SMALL_READ_AHEAD: usize = 13;

/// A digest file: bounded inflate then `digest::parse`, as `digest::read`
/// does; the raw bytes are also parsed as digest JSON.
pub fn digest_file(data: &[u8]) {
    let inflated = gzip::inflate_bounded(data, MAX_INFLATED);
    let refilled = gzip::inflate_bounded(
        BufReader::with_capacity(SMALL_READ_AHEAD, data),
        MAX_INFLATED,
    );
    assert!(
        inflated.is_ok() == refilled.is_ok(),
        "inflate_bounded accepts with one read-ahead what it rejects with another"
    );
    if let (Ok(a), Ok(b)) = (&inflated, &refilled) {
        assert!(a == b, "inflated content depends on read-ahead");
    }
    if let Ok(json) = inflated {
        assert!(
            u64::try_from(json.len()).is_ok_and(|n| n <= MAX_INFLATED),
            "inflate_bounded returned more than its bound"
        );
        digest_json(&json);
    }
    digest_json(data);
}

/// A log file: every [`gzip::LogHasher`] path (whole-buffer libdeflate,
/// streaming, pipelined) compared with streaming inflate + SHA-256 with a
/// small buffer and with a bounded inflate.
pub fn gzip_log(data: &[u8]) {
    let mut buffer = [0u8; SMALL_BUFFER];
    let streamed = gzip::inflate_sha256(data, &mut buffer);
    let mut large = vec![0u8; 64 << 10];
    let refilled =
        gzip::inflate_sha256(BufReader::with_capacity(SMALL_READ_AHEAD, data), &mut large);
    // 64 MiB: more than any input of the fuzzer's length can inflate to.
    let whole = gzip::inflate_bounded(data, 64 << 20);
    if matches!(whole, Err(gzip::GzipError::TooLarge { .. })) {
        return;
    }
    assert!(
        streamed.is_ok() == refilled.is_ok() && refilled.is_ok() == whole.is_ok(),
        "one gzip reader accepts what another rejects: inflate_sha256 {}, \
         inflate_sha256 with small read-ahead {}, inflate_bounded {}",
        streamed.is_ok(),
        refilled.is_ok(),
        whole.is_ok()
    );
    let mut hasher = gzip::LogHasher::new(true);
    let size = data.len() as u64;
    for listed in [
        size,
        gzip::WHOLE_BUFFER_MAX_INPUT as u64 + 1,
        gzip::PIPELINE_FROM_BYTES,
    ] {
        let hashed = hasher.hash_file(data, listed);
        assert!(
            hashed.content.is_ok() == streamed.is_ok(),
            "LogHasher (listed size {listed}) accepts what inflate_sha256 rejects or the reverse"
        );
        if let (Ok(a), Ok(b)) = (&hashed.content, &streamed) {
            assert!(a == b, "LogHasher's hash differs from inflate_sha256's");
        }
        assert!(
            hashed
                .stored
                .is_some_and(|s| s.sha256 == <[u8; 32]>::from(Sha256::digest(data))),
            "the stored hash is not the SHA-256 of the file"
        );
    }
    if let (Ok(s), Ok(r), Ok(w)) = (&streamed, &refilled, &whole) {
        assert!(s == r, "the streamed hash depends on buffer sizes");
        assert!(
            s.sha256 == <[u8; 32]>::from(Sha256::digest(w))
                && u64::try_from(w.len()).is_ok_and(|n| n == s.uncompressed_len),
            "the streamed hash differs from the hash of the inflated content"
        );
    }
}

/// A digest's metadata sidecar, as [`signature::read_metadata`] parses it.
pub fn sidecar(data: &[u8]) {
    let Ok(meta) = signature::parse_sidecar(data) else {
        return;
    };
    // What was found must be found again in a bare map holding only it.
    let mut bare = serde_json::Map::new();
    for (name, value) in [
        (
            "signature",
            &meta.signature.as_ref().map(|s| s.text().into_owned()),
        ),
        ("signature-algorithm", &meta.algorithm),
        ("backfill-generation-timestamp", &meta.backfill_generation),
    ] {
        if let Some(value) = value {
            bare.insert(name.to_owned(), serde_json::Value::String(value.clone()));
        }
    }
    let again = serde_json::to_vec(&bare)
        .map_err(|e| e.to_string())
        .and_then(|bytes| signature::parse_sidecar(&bytes));
    assert!(
        again.as_ref() == Ok(&meta),
        "a sidecar's fields are not found again in a bare map"
    );
}

/// A CloudTrail Lake sign file (`result_sign.json`), as
/// `verify-query-results` parses it: what parses signs exactly the listed
/// hashes joined by spaces, and parses again from the same bytes.
pub fn lake_sign_file(data: &[u8]) {
    let path = std::path::Path::new("result_sign.json");
    let Ok(sign) = crate::query::parse_sign_file(path, data) else {
        return;
    };
    assert!(!sign.files.is_empty(), "a sign file listing nothing parsed");
    let signed = sign.signed_data();
    let spaces = signed.iter().filter(|&&b| b == b' ').count();
    let in_hashes: usize = sign
        .files
        .iter()
        .map(|f| f.sha256.bytes().filter(|&b| b == b' ').count())
        .sum();
    assert_eq!(
        spaces,
        sign.files.len() - 1 + in_hashes,
        "the signed data is not the listed hashes joined by one space"
    );
    assert!(
        crate::query::parse_sign_file(path, data).as_ref() == Ok(&sign),
        "a sign file parses differently twice"
    );
}

/// A public-key file (list-public-keys JSON, PEM, DER, X.509), as
/// `keys::KeyRing::load` parses it.
pub fn key_file(data: &[u8]) {
    let Ok(filed) = keys::parse_key_file(Path::new("fuzz-input"), data) else {
        return;
    };
    for (fingerprints, entry) in &filed {
        assert!(
            !fingerprints.is_empty(),
            "a key is filed under no fingerprint"
        );
        assert!(
            fingerprints
                .iter()
                .all(|f| f.len() == 32 && f.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))),
            "a fingerprint is not lower-case hex MD5"
        );
        assert!(
            entry.source == Path::new("fuzz-input"),
            "a key does not name the file it came from"
        );
    }
}

/// An S3 key (or relative path) as the mirror walk and a digest's
/// `logFiles` present it: layout, digest name, log time, safety.
pub fn key_names(data: &[u8]) {
    let Ok(key) = std::str::from_utf8(data) else {
        return;
    };
    let _ = mirror::is_safe_key(key);
    let _ = mirror::parse_log_time(key);
    for service in ["CloudTrail-Digest", "CloudTrail"] {
        let Some(layout) = mirror::parse_layout(key, service) else {
            continue;
        };
        let organization = layout
            .organization
            .as_deref()
            .map(|o| format!("{o}/"))
            .unwrap_or_default();
        let head = format!(
            "{}AWSLogs/{organization}{}/{service}/{}/",
            layout.prefix, layout.account, layout.region
        );
        assert!(
            key.starts_with(&head) && key.ends_with(&format!("/{}", layout.file_name)),
            "the parsed layout does not describe the key"
        );
        let _ = mirror::parse_log_time(&layout.file_name);
        if let Some(name) = mirror::parse_digest_name(&layout) {
            assert!(
                !name.trail.is_empty()
                    && !name.home_region.is_empty()
                    && !name.home_region.contains('_'),
                "a digest name parsed into an empty trail or a bad home region"
            );
        }
    }
}

/// Parses digest JSON and checks the parts later stages rely on.
fn digest_json(json: &[u8]) {
    let Ok(parsed) = digest::parse(json) else {
        return;
    };
    assert!(
        parsed.content_sha256 == <[u8; 32]>::from(Sha256::digest(json)),
        "the digest's content hash is not the hash of its bytes"
    );
    let signed = signature::signing_string(&parsed);
    assert!(
        signed.starts_with(parsed.end_time_text.as_bytes()),
        "the signing string does not start with digestEndTime"
    );
    for log in &parsed.log_files {
        if mirror::is_safe_key(&log.object) {
            let _ = mirror::parse_layout(&log.object, "CloudTrail");
        }
    }
    if let Some(previous) = &parsed.previous {
        let _ = mirror::parse_layout(&previous.object, "CloudTrail-Digest")
            .as_ref()
            .and_then(mirror::parse_digest_name);
    }
}
