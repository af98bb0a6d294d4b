//! The machine's own limit for trailproof's hot path: gunzip + SHA-256 of
//! every log file of a mirror, from memory, on every core, with no
//! verification logic around it (no file I/O, no trailer or trailing-data
//! checks beyond what the decoders do, no digests, no report).
//!
//! ```text
//! cargo run --release --example ceiling -- MIRROR_DIR_OR_FILE \
//!     [--jobs N] [--backend zlib-rs|libdeflate|both] [--repeat 3] [--json FILE]
//! ```
//!
//! Every `*.json.gz` whose path contains `/CloudTrail/` (the log files; digests
//! live under `CloudTrail-Digest/`) is read into memory once, largest first.
//! Then, after one untimed warm-up pass per backend, each repetition runs a
//! rayon `par_iter` over the buffers with each backend:
//!
//! * `zlib-rs`: streaming `flate2` (zlib-rs backend, as trailproof uses) into a
//!   reusable 256 KiB buffer that feeds SHA-256;
//! * `libdeflate`: whole-buffer `libdeflate` gzip decompression into a per-thread
//!   buffer sized from the gzip ISIZE trailer (bounded), then SHA-256 of it.
//!
//! It prints uncompressed MB/s (10^6 bytes per second) per repetition, the
//! median per backend and the best backend, and checks that every backend and
//! every repetition produced the same per-file hashes and lengths.

// This is a benchmark program, not evidence-handling code: it may panic on bad input.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;
use clap::{Parser, ValueEnum};
use rayon::prelude::*;
use sha2::{Digest as _, Sha256};
use std::io::Read as _;
use std::path::PathBuf;
use std::time::Instant;
use support::median;

/// Size of each worker's streaming inflate buffer (as in trailproof).
const STREAM_BUFFER: usize = 256 << 10;

/// Largest uncompressed size the whole-buffer decoder accepts for one file.
const WHOLE_BUFFER_LIMIT: usize = 2 << 30;

#[derive(Parser)]
#[command(about = "gunzip + SHA-256 of a mirror's log files from memory: the machine's ceiling")]
struct Args {
    /// Mirror directory (log files are the *.json.gz under */CloudTrail/*) or one .gz file.
    path: PathBuf,
    /// Worker threads (default: every core).
    #[arg(long)]
    jobs: Option<usize>,
    /// Which decoder(s) to measure.
    #[arg(long, value_enum, default_value = "both")]
    backend: BackendChoice,
    /// Timed repetitions per backend, after one untimed warm-up.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Also SHA-256 every file's compressed bytes (what trailproof's evidence
    /// manifest adds), so the ceiling does the same work as `trailproof verify`.
    #[arg(long)]
    stored_hash: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum BackendChoice {
    #[value(name = "zlib-rs")]
    ZlibRs,
    Libdeflate,
    Both,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Backend {
    ZlibRs,
    Libdeflate,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::ZlibRs => "zlib-rs (flate2, streaming 256 KiB)",
            Backend::Libdeflate => "libdeflate (whole buffer)",
        }
    }
    fn key(self) -> &'static str {
        match self {
            Backend::ZlibRs => "zlib-rs",
            Backend::Libdeflate => "libdeflate",
        }
    }
}

/// Per-worker scratch space, reused across files.
struct Scratch {
    stream: Vec<u8>,
    whole: Vec<u8>,
    decompressor: libdeflater::Decompressor,
}

impl Scratch {
    fn new() -> Self {
        Scratch {
            stream: vec![0; STREAM_BUFFER],
            whole: Vec::new(),
            decompressor: libdeflater::Decompressor::new(),
        }
    }
}

type FileHash = ([u8; 32], u64);

fn hash_streaming(gz: &[u8], scratch: &mut Scratch) -> FileHash {
    let mut decoder = flate2::bufread::GzDecoder::new(gz);
    let mut hasher = Sha256::new();
    let mut total = 0u64;
    loop {
        let n = decoder
            .read(&mut scratch.stream)
            .expect("zlib-rs: corrupt gzip");
        if n == 0 {
            break;
        }
        hasher.update(&scratch.stream[..n]);
        total += n as u64;
    }
    (hasher.finalize().into(), total)
}

fn hash_whole(gz: &[u8], scratch: &mut Scratch) -> FileHash {
    assert!(gz.len() >= 18, "libdeflate: file too short to be gzip");
    // ISIZE: uncompressed length modulo 2^32, little-endian, in the last 4 bytes.
    let isize = u32::from_le_bytes(gz[gz.len() - 4..].try_into().unwrap()) as usize;
    assert!(
        isize <= WHOLE_BUFFER_LIMIT,
        "libdeflate: ISIZE {isize} over the limit"
    );
    if scratch.whole.len() < isize {
        scratch.whole.resize(isize, 0);
    }
    let n = scratch
        .decompressor
        .gzip_decompress(gz, &mut scratch.whole[..isize])
        .expect("libdeflate: corrupt gzip or ISIZE does not match");
    (Sha256::digest(&scratch.whole[..n]).into(), n as u64)
}

fn run(
    pool: &rayon::ThreadPool,
    files: &[Vec<u8>],
    backend: Backend,
    stored_hash: bool,
) -> (f64, Vec<FileHash>) {
    let start = Instant::now();
    let hashes: Vec<FileHash> = pool.install(|| {
        files
            .par_iter()
            .map_init(Scratch::new, |scratch, gz| {
                if stored_hash {
                    std::hint::black_box(Sha256::digest(gz));
                }
                match backend {
                    Backend::ZlibRs => hash_streaming(gz, scratch),
                    Backend::Libdeflate => hash_whole(gz, scratch),
                }
            })
            .collect()
    });
    (start.elapsed().as_secs_f64(), hashes)
}

fn log_files(root: &std::path::Path) -> Vec<PathBuf> {
    if root.is_file() {
        return vec![root.to_owned()];
    }
    walkdir::WalkDir::new(root)
        .into_iter()
        .map(|e| e.expect("walking the mirror"))
        .filter(|e| e.file_type().is_file())
        .map(walkdir::DirEntry::into_path)
        .filter(|p| {
            let s = p.to_string_lossy();
            s.contains("/CloudTrail/") && s.ends_with(".json.gz")
        })
        .collect()
}

fn main() {
    let args = Args::parse();
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
        .max(1);
    let repeat = args.repeat.max(1);
    let backends: Vec<Backend> = match args.backend {
        BackendChoice::ZlibRs => vec![Backend::ZlibRs],
        BackendChoice::Libdeflate => vec![Backend::Libdeflate],
        BackendChoice::Both => vec![Backend::ZlibRs, Backend::Libdeflate],
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .expect("thread pool");

    let load_start = Instant::now();
    let mut files: Vec<Vec<u8>> = log_files(&args.path)
        .iter()
        .map(|p| std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .collect();
    assert!(
        !files.is_empty(),
        "no log files under {}",
        args.path.display()
    );
    files.sort_by_key(|f| std::cmp::Reverse(f.len())); // largest first
    let compressed: u64 = files.iter().map(|f| f.len() as u64).sum();
    println!(
        "ceiling: {} log file(s), {} compressed bytes, loaded into memory in {:.2} s; {} thread(s); 1 warm-up + {} timed pass(es) per backend",
        files.len(),
        compressed,
        load_start.elapsed().as_secs_f64(),
        jobs,
        repeat
    );

    let mut reference: Option<Vec<FileHash>> = None;
    let mut check = |hashes: Vec<FileHash>| match &reference {
        None => reference = Some(hashes),
        Some(r) => assert!(
            *r == hashes,
            "backends or repetitions disagree on a file's hash"
        ),
    };
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); backends.len()];
    for &backend in &backends {
        let (t, hashes) = run(&pool, &files, backend, args.stored_hash);
        check(hashes);
        println!("  {:<38} warm-up   {t:8.3} s", backend.name());
    }
    for rep in 1..=repeat {
        for (i, &backend) in backends.iter().enumerate() {
            let (t, hashes) = run(&pool, &files, backend, args.stored_hash);
            check(hashes);
            times[i].push(t);
            println!("  {:<38} run {rep:<4}  {t:8.3} s", backend.name());
        }
    }
    let reference = reference.expect("at least one pass ran");
    let uncompressed: u64 = reference.iter().map(|h| h.1).sum();
    let mbs = |t: f64| uncompressed as f64 / t / 1e6;

    println!("uncompressed bytes: {uncompressed}");
    println!(
        "hashes: every backend and repetition agree on all {} file(s)",
        reference.len()
    );
    let mut results = Vec::new();
    let mut best: Option<(Backend, f64)> = None;
    for (i, &backend) in backends.iter().enumerate() {
        let m = median(&times[i]);
        let min = times[i].iter().copied().fold(f64::INFINITY, f64::min);
        let max = times[i].iter().copied().fold(0.0, f64::max);
        println!(
            "{:<38} median {m:.3} s (min {min:.3}, max {max:.3}) = {:.1} MB/s uncompressed",
            backend.name(),
            mbs(m)
        );
        if best.is_none_or(|(_, b)| m < b) {
            best = Some((backend, m));
        }
        results.push(serde_json::json!({
            "backend": backend.key(),
            "description": backend.name(),
            "times_s": times[i],
            "median_s": m,
            "min_s": min,
            "max_s": max,
            "uncompressed_mb_per_s": (mbs(m) * 10.0).round() / 10.0,
        }));
    }
    let (best_backend, best_t) = best.expect("at least one backend");
    println!(
        "best: {} = {:.1} MB/s uncompressed (median of {repeat})",
        best_backend.key(),
        mbs(best_t)
    );
    let json = serde_json::json!({
        "files": reference.len(),
        "compressed_bytes": compressed,
        "uncompressed_bytes": uncompressed,
        "jobs": jobs,
        "stored_hash": args.stored_hash,
        "warmup_runs": 1,
        "runs": repeat,
        "backends": results,
        "best": {
            "backend": best_backend.key(),
            "median_s": best_t,
            "uncompressed_mb_per_s": (mbs(best_t) * 10.0).round() / 10.0,
        },
    });
    println!("{json}");
    if let Some(path) = args.json {
        std::fs::write(&path, format!("{json:#}\n"))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}
