//! The floor for many small files: list a mirror and read every file once,
//! on every core, doing nothing else. `trailproof verify` reads each file
//! once too, so its time over this floor is what verifying costs.
//!
//! `cargo run --release --example read_floor -- MIRROR [RUNS]` prints the
//! median wall time, files and bytes, and files per second.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use rayon::prelude::*;
use std::io::Read as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let root = args.next().expect("usage: read_floor MIRROR [RUNS]");
    let runs: usize = args.next().map_or(3, |r| r.parse().expect("RUNS"));
    let mut times = Vec::new();
    let mut totals = (0usize, 0u64);
    for _ in 0..runs {
        let start = Instant::now();
        // List (no stat: the file type comes with each folder entry).
        let files: Vec<std::path::PathBuf> = walkdir::WalkDir::new(&root)
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .map(walkdir::DirEntry::into_path)
            .collect();
        // Read each file once, every core, one buffer per worker.
        let bytes: u64 = files
            .par_iter()
            .map_init(
                || vec![0u8; 256 << 10],
                |buffer, path| {
                    let mut file = std::fs::OpenOptions::new()
                        .read(true)
                        .custom_flags(libc::O_NOATIME | libc::O_NOFOLLOW)
                        .open(path)
                        .or_else(|_| std::fs::File::open(path))
                        .unwrap();
                    let mut n = 0u64;
                    loop {
                        match file.read(buffer).unwrap() {
                            0 => break n,
                            k => n += k as u64,
                        }
                    }
                },
            )
            .sum();
        times.push(start.elapsed().as_secs_f64());
        totals = (files.len(), bytes);
    }
    let median = support::median(&times);
    println!(
        "{{\"files\": {}, \"bytes\": {}, \"median_s\": {median:.3}, \"files_per_s\": {:.0}, \"runs\": {times:?}}}",
        totals.0,
        totals.1,
        totals.0 as f64 / median
    );
}
