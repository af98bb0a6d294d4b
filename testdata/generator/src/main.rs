//! `trailproof-testgen`: writes TEST-ONLY CloudTrail bucket mirrors (demo, organization demo,
//! benchmark-scale) signed with the TEST-ONLY keys in `testdata/keys/`.
//!
//! ```text
//! trailproof-testgen demo <DIR>                       # the committed demo (testdata/demo)
//! trailproof-testgen org-demo <DIR>                   # organization trail with a key prefix
//! trailproof-testgen scale <DIR> [--logs N] [--seed S]  # ~N log files for benchmarks
//! trailproof-testgen tiny <DIR> [--logs N] [--seed S] [--accounts A]
//!                                        # ~N one-record log files (memory checks)
//! ```
//! Each writes `<DIR>/mirror/` (the bucket mirror) and `<DIR>/public-keys.json`; an existing
//! `<DIR>/mirror` and `<DIR>/public-keys.json` are replaced. With `--accounts A` the tiny mirror is
//! written one account at a time (N/A logs each), so the generator's memory stays that of one
//! account's share (about 4 KB per log).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use trailproof_testgen::{KeyId, Mirror, MirrorBuilder, SignatureStore, TrailSpec};

const USAGE: &str = "usage:
  trailproof-testgen demo <DIR>
  trailproof-testgen org-demo <DIR>
  trailproof-testgen scale <DIR> [--logs N] [--seed S]
  trailproof-testgen tiny <DIR> [--logs N] [--seed S] [--accounts A] [--only-account K]
                                   # ~N one-record log files, 50 per digest, over A accounts
                                   # (--only-account: just account K of them, for parallel runs)

Writes <DIR>/mirror (a CloudTrail bucket mirror signed with TEST-ONLY keys) and
<DIR>/public-keys.json (list-public-keys output for those keys).";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("error: {msg}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let (cmd, rest) = args.split_first().ok_or("missing command")?;
    if cmd == "-h" || cmd == "--help" {
        println!("{USAGE}");
        return Ok(());
    }
    let (dir, opts) = rest.split_first().ok_or("missing <DIR>")?;
    let dir = PathBuf::from(dir);
    let spec = match cmd.as_str() {
        "demo" => {
            no_options(opts)?;
            demo_spec()
        }
        "org-demo" => {
            no_options(opts)?;
            org_demo_spec()
        }
        "scale" | "tiny" => {
            let mut logs: u64 = 2000;
            let mut seed: u64 = 1;
            let mut accounts: u64 = 1;
            let mut only: Option<u64> = None;
            let mut it = opts.iter();
            while let Some(o) = it.next() {
                let v = it.next().ok_or_else(|| format!("{o} needs a value"))?;
                let n: u64 = v.parse().map_err(|_| format!("{o}: not a number: {v}"))?;
                match o.as_str() {
                    "--logs" => logs = n,
                    "--seed" => seed = n,
                    "--accounts" if cmd == "tiny" && (1..=1000).contains(&n) => accounts = n,
                    "--only-account" if cmd == "tiny" => only = Some(n),
                    _ => return Err(format!("unknown option {o} {v}")),
                }
            }
            if cmd == "tiny" {
                clean(&dir)?;
                if only.is_some_and(|k| k >= accounts) {
                    return Err("--only-account must be below --accounts".to_owned());
                }
                return tiny_by_account(&dir, logs, seed, accounts, only);
            }
            scale_spec(logs, seed)
        }
        _ => return Err(format!("unknown command {cmd}")),
    };
    clean(&dir)?;
    let mirror = MirrorBuilder::new(&dir).trail(spec).build();
    report(&mirror);
    Ok(())
}

/// Writes the tiny mirror one account at a time; every account shares the
/// bucket, the hours and the keys, so `public-keys.json` is the same each time.
/// With `only`, just that account (so several processes can share the work
/// and their `mirror/AWSLogs/` folders be moved together).
fn tiny_by_account(
    dir: &Path,
    logs: u64,
    seed: u64,
    accounts: u64,
    only: Option<u64>,
) -> Result<(), String> {
    let (mut digests, mut log_files) = (0, 0);
    for a in 0..accounts {
        if only.is_some_and(|k| k != a) {
            continue;
        }
        let mut spec = tiny_spec(logs.div_ceil(accounts), seed);
        if accounts > 1 {
            spec.accounts = vec![format!("{:012}", 111_122_223_333 + a)];
        }
        let m = MirrorBuilder::new(dir).trail(spec).build();
        digests += m.digests.len();
        log_files += m.logs.len();
        if a + 1 == accounts || only == Some(a) {
            println!(
                "wrote {digests} digest files and {log_files} log files under {} ({accounts} account(s))",
                m.root.display()
            );
            println!("public keys: {}", m.public_keys.display());
        }
    }
    Ok(())
}

fn no_options(opts: &[String]) -> Result<(), String> {
    match opts.first() {
        Some(o) => Err(format!("unexpected argument {o}")),
        None => Ok(()),
    }
}

/// Removes what a previous run wrote (only the two known outputs).
fn clean(dir: &Path) -> Result<(), String> {
    let mirror = dir.join("mirror");
    if mirror.exists() {
        std::fs::remove_dir_all(&mirror).map_err(|e| format!("{}: {e}", mirror.display()))?;
    }
    let keys = dir.join("public-keys.json");
    if keys.exists() {
        std::fs::remove_file(&keys).map_err(|e| format!("{}: {e}", keys.display()))?;
    }
    Ok(())
}

/// The committed demo: one account, two regions, 6 hours, key rotation at hour 3, sidecars.
fn demo_spec() -> TrailSpec {
    TrailSpec {
        rotate_every_hours: 3,
        ..TrailSpec::small(20260301)
    }
}

/// Organization trail under a key prefix, two member accounts.
fn org_demo_spec() -> TrailSpec {
    TrailSpec {
        prefix: Some("audit/prod".to_owned()),
        organization_id: Some("o-a1b2c3d4e5".to_owned()),
        accounts: vec!["111122223333".to_owned(), "444455556666".to_owned()],
        trail_name: "org_trail.main".to_owned(),
        rotate_every_hours: 3,
        ..TrailSpec::small(20260302)
    }
}

/// ~`logs` tiny log files (one record each), 50 per digest, two regions:
/// many files and many digests, few bytes (memory and per-file overhead).
pub fn tiny_spec(logs: u64, seed: u64) -> TrailSpec {
    let hours = logs.div_ceil(2 * 50).max(1);
    let hours = u32::try_from(hours).unwrap_or(u32::MAX);
    TrailSpec {
        hours,
        logs_per_hour: (50, 50),
        records_per_log: (1, 1),
        heavy_logs_per_mille: 0,
        keys: vec![KeyId::One, KeyId::Two, KeyId::Three],
        rotate_every_hours: hours.div_ceil(3).max(1),
        signature_store: SignatureStore::Sidecar,
        ..TrailSpec::small(seed)
    }
}

/// ~`logs` log files, mostly 10 KB..1 MB uncompressed, a few much larger, two regions.
fn scale_spec(logs: u64, seed: u64) -> TrailSpec {
    let per_hour = (10, 14);
    let hours = logs.div_ceil(2 * 12).max(1);
    let hours = u32::try_from(hours).unwrap_or(u32::MAX);
    TrailSpec {
        hours,
        logs_per_hour: per_hour,
        records_per_log: (6, 600),
        heavy_logs_per_mille: 5,
        keys: vec![KeyId::One, KeyId::Two, KeyId::Three],
        rotate_every_hours: hours.div_ceil(3).max(1),
        signature_store: SignatureStore::Sidecar,
        ..TrailSpec::small(seed)
    }
}

fn report(m: &Mirror) {
    let bytes: u64 = m
        .logs
        .iter()
        .map(|l| &l.path)
        .chain(m.digests.iter().map(|d| &d.path))
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|md| md.len())
        .sum();
    println!(
        "wrote {} digest files and {} log files ({} bytes compressed) under {}",
        m.digests.len(),
        m.logs.len(),
        bytes,
        m.root.display()
    );
    println!("public keys: {}", m.public_keys.display());
}
