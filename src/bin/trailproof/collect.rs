//! `trailproof collect`: runs a collection with a progress bar and says
//! what it came to (exit 0 complete, 1 a local file differed, 2 otherwise).

use crate::args::{CollectArgs, ProgressWhen};
use crate::failure::CannotRun;
use std::io::IsTerminal as _;
use std::sync::atomic::{AtomicU64, Ordering};
use trailproof::collect::{CollectOptions, CollectProgress, KeyFilter};

/// A bar on a terminal (or plain lines every 5 s with `--progress always`).
struct Shown {
    bar: Option<indicatif::ProgressBar>,
    plain: bool,
    objects: AtomicU64,
    done: AtomicU64,
    last_line: std::sync::Mutex<std::time::Instant>,
}

impl CollectProgress for Shown {
    fn listed(&self, objects: u64, bytes: u64) {
        self.objects.store(objects, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.set_length(bytes);
        }
    }

    fn done(&self, bytes: u64) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
            bar.set_message(format!(
                "{done}/{} objects",
                self.objects.load(Ordering::Relaxed)
            ));
        } else if self.plain
            && let Ok(mut last) = self.last_line.lock()
            && last.elapsed() >= std::time::Duration::from_secs(5)
        {
            *last = std::time::Instant::now();
            eprintln!(
                "trailproof: collected {done}/{} objects",
                self.objects.load(Ordering::Relaxed)
            );
        }
    }
}

fn shown(when: ProgressWhen) -> Shown {
    let terminal = std::io::stderr().is_terminal();
    let bar = (when != ProgressWhen::Never && terminal).then(|| {
        let bar = indicatif::ProgressBar::new(0);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{bar:30} {bytes}/{total_bytes} {bytes_per_sec} {msg} ({eta})",
        ) {
            bar.set_style(style);
        }
        bar
    });
    Shown {
        bar,
        plain: when == ProgressWhen::Always && !terminal,
        objects: AtomicU64::new(0),
        done: AtomicU64::new(0),
        last_line: std::sync::Mutex::new(std::time::Instant::now()),
    }
}

/// The places whose log files a shard needs (`--plan`, `--shard` or the
/// engine's index variable).
fn shard_scope(args: &CollectArgs) -> Result<Option<trailproof::shard::ShardScope>, CannotRun> {
    let Some(plan) = &args.plan else {
        return Ok(None);
    };
    let failed = |e: trailproof::shard::PlanError| CannotRun {
        message: trailproof::text::escape_control(&e.to_string()).into_owned(),
        help: "give the plan the shards are run from, and the shard's index (--shard K, or the engine's index variable)",
    };
    trailproof::shard::scope_of_run(plan, args.shard)
        .map(Some)
        .map_err(failed)
}

/// Runs `collect` and prints its summary.
pub(crate) fn run(args: &CollectArgs) -> Result<u8, CannotRun> {
    let (bucket, prefix) = args.source.clone();
    let options = CollectOptions {
        bucket,
        prefix,
        dir: args.dir.clone(),
        filter: KeyFilter {
            since: args.since,
            until: args.until,
            accounts: args.accounts.clone(),
            regions: args.regions.clone(),
            shard: shard_scope(args)?,
        },
        versions: args.versions,
        jobs: args.jobs,
        profile: args.profile.clone(),
        endpoint_url: args.endpoint_url.clone(),
        tool: crate::version::short(),
    };
    let progress = shown(args.progress);
    let result = trailproof::collect::collect(&options, &progress);
    if let Some(bar) = &progress.bar {
        bar.finish_and_clear();
    }
    let collected = result.map_err(|e| CannotRun {
        message: trailproof::text::escape_control(&e.to_string()).into_owned(),
        help: "Check the bucket name, the credentials (AWS_PROFILE, --profile) and that they may list and read the bucket; for a local folder problem, check DIR's permissions.",
    })?;
    print_summary(&collected, args);
    let record = &collected.record;
    Ok(if !record.failures.is_empty() {
        eprintln!("trailproof: the collection is incomplete: run the same command again");
        2
    } else if !record.conflicts.is_empty() {
        1
    } else {
        0
    })
}

/// What was collected (stdout), and what went wrong (stderr).
fn print_summary(collected: &trailproof::collect::Collected, args: &CollectArgs) {
    let record = &collected.record;
    let esc = |s: &str| trailproof::text::escape_control(s).into_owned();
    println!(
        "Collected s3://{}/{} into {}",
        esc(&record.bucket),
        esc(&record.prefix),
        args.dir.display()
    );
    println!(
        "  {} objects fetched ({} bytes), {} already there, {} files in the record; {} skipped outside the filters, {} not CloudTrail's",
        collected.fetched,
        collected.bytes,
        collected.already_there,
        record.objects,
        record.skipped.outside_filters,
        record.skipped.not_cloudtrail
    );
    for keys in &record.public_keys {
        println!("  public keys: {} ({} keys)", keys.path, keys.keys);
    }
    println!(
        "  as {} from {}, {} to {}",
        record
            .caller
            .arn
            .as_deref()
            .map_or_else(|| "an unknown caller".to_owned(), esc),
        esc(&record.endpoint),
        record.started_at,
        record.finished_at
    );
    println!(
        "  record: {} (SHA-256 {}: write it in your case notes)",
        collected.record_path.display(),
        collected.record_sha256
    );
    for conflict in &record.conflicts {
        eprintln!(
            "trailproof: {} differs from s3://{}/{} (local SHA-256 {}); kept, not overwritten",
            esc(&conflict.path),
            esc(&record.bucket),
            esc(&conflict.key),
            conflict.local_sha256
        );
    }
    if let Some(error) = &record.caller.error {
        eprintln!(
            "trailproof: warning: sts:GetCallerIdentity failed, so the record names no caller: {}",
            esc(error)
        );
    }
    for failure in &record.failures {
        eprintln!(
            "trailproof: could not fetch {}: {}",
            esc(&failure.key),
            esc(&failure.error)
        );
    }
}
