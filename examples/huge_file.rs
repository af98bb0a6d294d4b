//! trailproof's own gunzip + SHA-256 paths on one (huge) gzip file: the
//! single-threaded streaming path (`trailproof::gzip::inflate_sha256`) against
//! the two-thread pipelined path (`trailproof::gzip::inflate_sha256_pipelined`,
//! inflate on one thread, hash on another) that `trailproof verify` uses for
//! log files of 32 MiB compressed or more.
//!
//! ```text
//! cargo run --release --example huge_file -- FILE.json.gz [--repeat 3] [--json OUT]
//! ```
//!
//! The file is read the way `trailproof verify` reads it (a 256 KiB
//! `BufReader` over the file, from the page cache), one untimed warm-up pass
//! per path, then `--repeat` timed passes each; prints uncompressed MB/s
//! (10^6 bytes per second) of the median and checks both paths agree.

// This is a benchmark program, not evidence-handling code: it may panic on bad input.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::Instant;
use support::median;
use trailproof::gzip::{self, InflatedHash};

/// trailproof's read and inflate buffer size (src/loghash.rs `BUFFER_BYTES`).
const BUFFER_BYTES: usize = 256 << 10;

fn reader(path: &Path) -> BufReader<File> {
    BufReader::with_capacity(BUFFER_BYTES, File::open(path).expect("open the file"))
}

fn streaming(path: &Path) -> InflatedHash {
    let mut buffer = vec![0u8; BUFFER_BYTES];
    gzip::inflate_sha256(reader(path), &mut buffer).expect("streaming inflate")
}

fn pipelined(path: &Path) -> InflatedHash {
    gzip::inflate_sha256_pipelined(reader(path), BUFFER_BYTES).expect("pipelined inflate")
}

/// What `trailproof verify` runs on such a file: `LogHasher` (pipelined, as
/// the file is over 32 MiB) with the stored-bytes SHA-256 of the manifest.
fn verify_path(path: &Path) -> InflatedHash {
    let size = std::fs::metadata(path).expect("stat the file").len();
    let file = File::open(path).expect("open the file");
    let hashed = gzip::LogHasher::new(true).hash_file(file, size);
    assert!(hashed.stored.is_some(), "the stored bytes were hashed");
    hashed.content.expect("LogHasher inflate")
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut file: Option<PathBuf> = None;
    let mut repeat = 3usize;
    let mut json_out: Option<PathBuf> = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--repeat" => {
                repeat = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--repeat N")
            }
            "--json" => json_out = Some(args.next().expect("--json FILE").into()),
            _ if file.is_none() => file = Some(a.into()),
            _ => panic!("usage: huge_file FILE.json.gz [--repeat N] [--json OUT]"),
        }
    }
    let file = file.expect("usage: huge_file FILE.json.gz [--repeat N] [--json OUT]");
    let repeat = repeat.max(1);
    let compressed = std::fs::metadata(&file).expect("stat the file").len();

    type PathFn = fn(&Path) -> InflatedHash;
    let paths: [(&str, &str, PathFn); 3] = [
        ("streaming", "gzip::inflate_sha256 (1 thread)", streaming),
        (
            "pipelined",
            "gzip::inflate_sha256_pipelined (inflate + hash threads)",
            pipelined,
        ),
        (
            "verify",
            "LogHasher as verify runs it (pipelined + stored SHA-256)",
            verify_path,
        ),
    ];
    println!(
        "huge file: {} ({compressed} compressed bytes); 1 warm-up + {repeat} timed pass(es) per path",
        file.display()
    );
    let mut reference: Option<InflatedHash> = None;
    let mut times = vec![Vec::new(); paths.len()];
    for rep in 0..=repeat {
        for (i, (_, label, f)) in paths.iter().enumerate() {
            let start = Instant::now();
            let h = f(&file);
            let t = start.elapsed().as_secs_f64();
            match reference {
                None => reference = Some(h),
                Some(r) => assert_eq!(r, h, "the paths disagree"),
            }
            if rep == 0 {
                println!("  {label:<56} warm-up  {t:8.3} s");
            } else {
                println!("  {label:<56} run {rep:<4} {t:8.3} s");
                times[i].push(t);
            }
        }
    }
    let reference = reference.expect("a pass ran");
    let uncompressed = reference.uncompressed_len;
    println!(
        "uncompressed bytes: {uncompressed}; sha256 {} (every path agrees)",
        hex::encode(reference.sha256)
    );
    let mut results = serde_json::Map::new();
    for (i, (key, label, _)) in paths.iter().enumerate() {
        let m = median(&times[i]);
        let mbs = uncompressed as f64 / m / 1e6;
        println!("{label:<58} median {m:.3} s = {mbs:.1} MB/s uncompressed");
        results.insert(
            (*key).to_owned(),
            serde_json::json!({
                "function": label,
                "times_s": times[i],
                "median_s": m,
                "uncompressed_mb_per_s": (mbs * 10.0).round() / 10.0,
            }),
        );
    }
    let speedup = median(&times[0]) / median(&times[1]);
    println!("pipelined / streaming: {speedup:.2}x");
    let json = serde_json::json!({
        "file": file,
        "compressed_bytes": compressed,
        "uncompressed_bytes": uncompressed,
        "warmup_runs": 1,
        "runs": repeat,
        "paths": results,
        "pipelined_over_streaming": (speedup * 100.0).round() / 100.0,
    });
    println!("{json}");
    if let Some(path) = json_out {
        std::fs::write(&path, format!("{json:#}\n")).expect("write the JSON file");
    }
}
