//! Regression tests for the fuzz targets (`fuzz/`, run by `scripts/fuzz.sh`).
//!
//! Every input a fuzzer found to crash is replayed here, named after what it
//! showed, together with a set of hostile inputs (empty, one byte, truncated
//! gzip of a real digest, gzip bombs and broken gzip headers, deeply nested
//! JSON, odd keys), so that plain `cargo test` on stable exercises every
//! fuzz entry point: the parsers through `trailproof::fuzzing` and the whole
//! verify through the fuzz crate's harness, compiled in from
//! `fuzz/src/verify_mirror.rs`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "../fuzz/src/verify_mirror.rs"]
mod verify_mirror;

use std::io::Write as _;
use trailproof::fuzzing;
use verify_mirror::{Kind, selector, strict_gunzip};

/// A digest and a log file of the committed demo mirror.
const DEMO_DIGEST: &str = "testdata/demo/mirror/AWSLogs/111122223333/CloudTrail-Digest/eu-west-1/2026/03/01/111122223333_CloudTrail-Digest_eu-west-1_management-events_us-east-1_20260301T011728Z.json.gz";
const DEMO_LOG: &str = "testdata/demo/mirror/AWSLogs/111122223333/CloudTrail/eu-west-1/2026/03/01/111122223333_CloudTrail_eu-west-1_20260301T0019Z_Hfng3E4Ezy5S89sB.json.gz";

fn demo(path: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

/// Every byte-level entry point.
fn parsers(data: &[u8]) {
    fuzzing::digest_file(data);
    fuzzing::gzip_log(data);
    fuzzing::sidecar(data);
    fuzzing::lake_sign_file(data);
    fuzzing::key_file(data);
    fuzzing::key_names(data);
}

/// Every byte-level entry point, then a whole verify with `data` replacing
/// the first and the third file of each kind (the third digest is the newest), as is and (digests, logs)
/// gzipped.
fn everywhere(data: &[u8]) {
    parsers(data);
    for kind in Kind::ALL {
        for wrap in [false, true] {
            if wrap && matches!(kind, Kind::Sidecar | Kind::Keys) {
                continue;
            }
            for index in [0, 2] {
                let mut input = vec![selector(kind, wrap, index)];
                input.extend_from_slice(data);
                verify_mirror::verify_mirror(&input);
            }
        }
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn every_seed_of_the_fixture_passes_the_harness() {
    let seeds = verify_mirror::seeds();
    // 3 digests and at least 3 logs (twice: as is and inflated), 3 sidecars, the key file.
    assert!(seeds.len() >= 16, "{} seeds", seeds.len());
    for seed in &seeds {
        verify_mirror::verify_mirror(seed);
    }
}

#[test]
fn empty_input() {
    everywhere(b"");
    // A selector byte and nothing else: every kind of file emptied.
    for first in 0..=u8::MAX {
        verify_mirror::verify_mirror(&[first]);
    }
}

#[test]
fn one_byte_files() {
    for byte in [0x00, 0x1f, 0x8b, b'{', b'[', b'"', b'-', b'0', b'/', 0xff] {
        everywhere(&[byte]);
    }
}

#[test]
fn truncated_gzip_of_a_real_digest() {
    let digest = demo(DEMO_DIGEST);
    for len in 0..digest.len() {
        parsers(&digest[..len]);
    }
    // Header only, inside the deflate data, the trailer cut by 1 and by 8 bytes.
    for len in [10, digest.len() / 2, digest.len() - 8, digest.len() - 1] {
        everywhere(&digest[..len]);
    }
    everywhere(&digest);
    let log = demo(DEMO_LOG);
    everywhere(&log[..log.len() - 4]);
}

#[test]
fn real_digest_with_trailing_data_or_second_member() {
    let digest = demo(DEMO_DIGEST);
    let mut trailing = digest.clone();
    trailing.push(0);
    everywhere(&trailing);
    let mut two_members = digest.clone();
    two_members.extend_from_slice(&gzip(b""));
    everywhere(&two_members);
    assert!(strict_gunzip(&two_members).is_none());
}

#[test]
fn gzip_bomb() {
    // 8 MiB of zeros deflate to about 8 KiB: past the 1 MiB bound of
    // digest_file, under the 64 MiB of gzip_log's comparison.
    let bomb = gzip(&vec![0u8; 8 << 20]);
    assert!(bomb.len() < 16 << 10);
    parsers(&bomb);
    // The header and the start of the bomb only (what a fuzzer input can hold).
    everywhere(&bomb[..4096]);
    // A 1 MiB + 1 byte bomb: one byte past digest_file's bound.
    parsers(&gzip(&vec![b' '; (1 << 20) + 1]));
}

#[test]
fn broken_gzip_headers() {
    let member = gzip(b"{}");
    let body = &member[10..];
    let header = |flags: u8, extra: &[u8]| {
        let mut h = vec![0x1f, 0x8b, 8, flags, 0, 0, 0, 0, 0, 0xff];
        h.extend_from_slice(extra);
        h
    };
    let cases = [
        // FEXTRA announcing 65535 bytes that are not there.
        header(4, &[0xff, 0xff]),
        [header(4, &[0xff, 0xff]), body.to_vec()].concat(),
        // FNAME / FCOMMENT without their terminating NUL.
        header(8, b"name-without-end"),
        header(16, b"comment-without-end"),
        // FHCRC with a wrong header CRC, then a valid member.
        [header(2, &[0, 0]), body.to_vec()].concat(),
        // Reserved flag bits set.
        [header(0xe0, &[]), body.to_vec()].concat(),
        // Compression method other than deflate.
        vec![0x1f, 0x8b, 7, 0, 0, 0, 0, 0, 0, 0xff],
        // Stored block claiming more bytes than follow.
        [header(0, &[]), vec![0x01, 0xff, 0xff, 0x00, 0x00, b'{']].concat(),
    ];
    for case in &cases {
        everywhere(case);
    }
}

#[test]
fn deeply_nested_json() {
    let arrays = "[".repeat(100_000);
    let objects = "{\"a\":".repeat(50_000);
    let in_digest = format!(
        "{{\"digestStartTime\":\"2026-03-01T00:17:28Z\",\"logFiles\":{}",
        "[{\"s3Object\":".repeat(20_000)
    );
    let in_sidecar = format!("{{\"Metadata\":{}", "{\"signature\":".repeat(20_000));
    let in_keys = format!("{{\"PublicKeyList\":{}", "[".repeat(50_000));
    for json in [arrays, objects, in_digest, in_sidecar, in_keys] {
        everywhere(json.as_bytes());
        parsers(&gzip(json.as_bytes()));
    }
}

#[test]
fn odd_keys_and_key_files() {
    let cases: [&[u8]; 12] = [
        b"AWSLogs/111122223333/CloudTrail/us-east-1/2026/03/01/../../../../../../etc/passwd",
        b"AWSLogs/o-/111122223333/CloudTrail-Digest/us-east-1/2026/03/01/111122223333_CloudTrail-Digest_us-east-1___20260301T011728Z.json.gz",
        b"AWSLogs/1/CloudTrail-Digest/r/2026/03/01/1_CloudTrail-Digest_r_t_h_20261301T011728Z_backfill.json.gz",
        b"AWSLogs/1/CloudTrail/r/2026/03/01/1_CloudTrail_r_20260301T0160Z_x.json.gz",
        b"AWSLogs/1/CloudTrail/r/2026/03/01/1_CloudTrail_r_2026\xc3\xa90301T01Z_x.json.gz",
        b"\xff\xfeAWSLogs",
        b"a\\b\0c",
        b"-----BEGIN",
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        b"-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n",
        br#"{"PublicKeyList":[{"Value":"","Fingerprint":"d41d8cd98f00b204e9800998ecf8427e","ValidityStartTime":1e308,"ValidityEndTime":-1e308}]}"#,
        br#"{"signature":"00","Signature":"11","x-amz-meta-signature":"22","signature-algorithm":null}"#,
    ];
    for case in cases {
        everywhere(case);
    }
}

/// Found by `key_names` (minimized below): for a key starting with
/// `/AWSLogs/`, `mirror::parse_layout` returned the prefix "" instead of "/"
/// (the part before `AWSLogs/`), so `prefix + "AWSLogs/…"` no longer gave the
/// key back. Fixed in 6d6a948 (parse_layout: a key starting with /AWSLogs/ has
/// the prefix '/').
const LEADING_SLASH_MINIMIZED: &[u8] = b"/AWSLogs//CloudTrail/1/2026/03/01/";
const LEADING_SLASH_KEY: &str = "/AWSLogs/111122223333/CloudTrail/us-east-1/2026/03/01/111122223333_CloudTrail_us-east-1_20260301T0019Z_Hfng3E4Ezy5S89sB.json.gz";

#[test]
fn layout_prefix_of_key_with_leading_slash_replays() {
    everywhere(LEADING_SLASH_MINIMIZED);
    everywhere(LEADING_SLASH_KEY.as_bytes());
}

#[test]
fn layout_prefix_of_key_with_leading_slash() {
    for key in [
        std::str::from_utf8(LEADING_SLASH_MINIMIZED).unwrap(),
        LEADING_SLASH_KEY,
    ] {
        let layout = trailproof::mirror::parse_layout(key, "CloudTrail").unwrap();
        assert_eq!(layout.prefix, "/", "{key}");
    }
}
