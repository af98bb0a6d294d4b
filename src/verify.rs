//! The verification pipeline: mirror → digests → signatures → chains → logs → report.

use crate::chain;
use crate::chain::Chain;
use crate::checkpoint::{self, LoadedCheckpoint};
use crate::custody::Custodies;
use crate::digest::{self, DigestError};
use crate::error::Error;
use crate::finding::{Finding, FindingCode, Locus};
use crate::gzip::StoredHash;
use crate::keys::KeyRing;
use crate::loghash;
use crate::loghash::LogResults;
use crate::mirror::{self, FileKind, Inventory};
use crate::options::{Options, TimeRange};
use crate::partition;
use crate::progress::{Phase, Progress};
use crate::record::{DigestRecord, Route};
use crate::report::LogTally;
use crate::report::manifest::{EvidenceKind, Manifest};
use crate::report::stream::{Head, ReportStream};
use crate::report::{Inputs, Report, ReportFormat, Tool};
use crate::selection::Selection;
use crate::signature::{self, SignatureProblem};
use jiff::Timestamp;
use rayon::prelude::*;

/// Runs the whole verification.
///
/// # Errors
/// [`Error`] when the run cannot be done (keys unreadable, mirror
/// unreadable, no digest found); evidence problems are findings in the report.
pub fn verify(options: &Options) -> Result<Report, Error> {
    verify_with_progress(options, &crate::progress::Silent)
}

/// [`verify`], telling `progress` how far it got.
///
/// # Errors
/// As [`verify`].
pub fn verify_with_progress(options: &Options, progress: &dyn Progress) -> Result<Report, Error> {
    verify_into(options, progress, Vec::new()).map(|(report, _)| report)
}

/// [`verify`], writing every report in `outputs` (format, where to) while
/// the run goes; the reports that grow with the archive (JSON, manifest,
/// JUnit) are written file by file, never held whole. Returns the report
/// and the outputs that failed (their index in `outputs` and the error):
/// one failing output does not stop the others.
///
/// # Errors
/// As [`verify`]; nothing is written to `outputs` then.
pub fn verify_into(
    options: &Options,
    progress: &dyn Progress,
    outputs: Vec<(ReportFormat, &mut (dyn std::io::Write + Send))>,
) -> Result<(Report, Vec<(usize, std::io::Error)>), Error> {
    let started = Timestamp::now();
    let (range, pool) = prepare(options)?;
    let keys = KeyRing::load(&options.public_keys)?;
    let checkpoints = options
        .checkpoints
        .iter()
        .map(|path| LoadedCheckpoint::load(path, &keys))
        .collect::<Result<Vec<_>, _>>()?;
    progress.start(Phase::Scanning, 0, 0);
    let mut inventory = mirror::scan(&options.mirrors)?;
    pool.install(|| {
        let custodies = Custodies::check(&inventory.roots);
        let CheckedDigests {
            records,
            chains,
            findings,
            heads,
            trusted,
        } = check_digests(
            &mut inventory,
            &keys,
            &checkpoints,
            options,
            &range,
            progress,
            &custodies,
        )?;
        let mut inputs = Inputs::new(options, &inventory, &keys);
        inputs.checkpoints = checkpoints.iter().map(LoadedCheckpoint::used).collect();
        inputs.collected_at = options.collected_at.or(custodies.collected_at);
        inputs.collections.clone_from(&custodies.used);
        let mut stream = ReportStream::new(outputs);
        stream.begin(&Head {
            schema_version: crate::report::SCHEMA_VERSION,
            tool: &Tool::THIS,
            generated_at: started,
            inputs: &inputs,
        });
        let run = Run {
            inventory: &inventory,
            records: &records,
            chains: &chains,
            options,
            range: &range,
            custodies: &custodies,
        };
        let checked = run.check_logs(findings, &keys, progress, &mut stream);
        let emitted = checked.emitted;
        let mut report = Report::new(
            options,
            started,
            &inventory,
            &keys,
            &records,
            &chains,
            &checked.tally,
            checked.findings,
        );
        report.partitions = checked.partitions;
        report.inputs = inputs;
        report.heads = heads;
        report.trust(trusted);
        crate::excerpt::attach(&mut report.findings, &options.public_keys);
        let last_cases = run.last_junit_cases(&report, &emitted);
        let finished = stream.finish(&report, &last_cases);
        report.json_sha256 = finished.json_sha256;
        Ok((report, finished.errors))
    })
}

/// The run's time range (checked) and its worker pool.
fn prepare(options: &Options) -> Result<(TimeRange, rayon::ThreadPool), Error> {
    let range = TimeRange {
        start: options.start_time,
        end: options.end_time,
    };
    if let (Some(start), Some(end)) = (range.start, range.end)
        && start > end
    {
        return Err(Error::InvalidTimeRange { start, end });
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.jobs.unwrap_or(0))
        .build()
        .map_err(|e| Error::ThreadPool {
            jobs: options.jobs.unwrap_or(0),
            reason: e.to_string(),
        })?;
    Ok((range, pool))
}

/// Every digest read and checked.
struct CheckedDigests {
    records: Vec<DigestRecord>,
    /// The chains, with their in-range members.
    chains: Vec<Chain>,
    /// The findings so far.
    findings: Vec<Finding>,
    /// Every chain's newest digest (for a new checkpoint).
    heads: Vec<checkpoint::ChainHead>,
    /// What `--incremental` took from the checkpoints.
    trusted: Vec<checkpoint::TrustedPart>,
}

/// Marks the digests each trusted part vouches for (its chain's members up
/// to its head), and returns the parts.
fn trust(
    records: &mut [DigestRecord],
    chains: &[Chain],
    parts: Vec<checkpoint::TrustedPart>,
) -> Vec<checkpoint::TrustedPart> {
    for part in &parts {
        let Some(chain) = chains.iter().find(|c| c.key.id() == part.chain) else {
            continue;
        };
        for &member in &chain.members {
            if let Some(record) = records.get_mut(member)
                && record.time().is_some_and(|t| t <= part.until)
            {
                record.trusted = true;
            }
        }
    }
    parts
}

/// Reads and checks every digest: signatures, keys, links and chains.
fn check_digests(
    inventory: &mut Inventory,
    keys: &KeyRing,
    checkpoints: &[LoadedCheckpoint],
    options: &Options,
    range: &TimeRange,
    progress: &dyn Progress,
    custodies: &Custodies,
) -> Result<CheckedDigests, Error> {
    let mut records = read_digests(inventory, range, options, progress)?;
    check_digests_found(&records, inventory, options, range)?;
    let mut findings = unreadable_findings(inventory);
    let chains = chain::build(&records);
    authenticate_all(&mut records, keys);
    check_keys_match(&records, keys)?;
    let membership = chain::Membership::new(&chains, records.len());
    for (index, record) in records.iter().enumerate().filter(|(_, r)| r.in_range) {
        let chain = membership.id(index);
        findings.extend(
            digest_findings(record)
                .into_iter()
                .map(|f| f.in_chain(chain.clone())),
        );
    }
    let links = chain::check_links(&chains, &records, inventory);
    for &index in &links.contradicted {
        if let Some(record) = records.get_mut(index) {
            record.contradicted = true;
        }
    }
    findings.extend(links.findings);
    let search =
        crate::lifecycle::Search::new(&records, &chains, inventory, options.max_digest_bytes);
    findings.extend(crate::lifecycle::explain_restarts(&search, &links.restarts));
    // The range limits what is reported, not which evidence was used.
    findings.retain(|f| reportable(f, range));
    // The collected folder against its collection record.
    findings.extend(custodies.findings.iter().cloned());
    // Chain ends and starts are judged against when the mirror was taken
    // (`--collected-at`, or when `trailproof collect` finished).
    if let Some(at) = options.collected_at.or(custodies.collected_at) {
        let collected = crate::lifecycle::Collected {
            at,
            max_lag: options.max_lag,
        };
        match collected.check(&records) {
            // A digest newer than the record's end is a `collection.added`.
            Err(e) if options.collected_at.is_some() => return Err(e),
            _ => {}
        }
        findings.extend(crate::lifecycle::explain_ends(&search, collected));
        findings.extend(crate::lifecycle::explain_starts(&search, options.max_lag));
    }
    // A checkpoint is about the whole archive, whatever the range.
    let judged = checkpoint::check(checkpoints, &records, &chains, inventory)?;
    findings.extend(judged.findings);
    let trusted = if options.incremental {
        trust(&mut records, &chains, judged.trusted)
    } else {
        Vec::new()
    };
    // Nothing is said about chains, accounts or regions outside the selection.
    findings.retain(|f| options.selection.admits_url(&f.object));
    if progress.wants_proved() {
        prove_digests(&records, &findings, progress);
    }
    let mut heads = checkpoint::heads(&records, &chains);
    heads.retain(|h| options.selection.admits_url(&h.head.object));
    let chains = chain::in_range(&chains, &records);
    for record in &mut records {
        record.keep_only_what_reports_need();
    }
    Ok(CheckedDigests {
        records,
        chains,
        findings,
        heads,
        trusted,
    })
}

/// Names every digest in range that is authentic, uncontradicted and the
/// object of no error finding (`--verbose`).
fn prove_digests(records: &[DigestRecord], findings: &[Finding], progress: &dyn Progress) {
    let wrong: std::collections::HashSet<&str> = findings
        .iter()
        .filter(|f| f.severity == crate::finding::Severity::Error)
        .map(|f| f.object.as_str())
        .collect();
    for record in records.iter().filter(|r| r.reported) {
        let url = record.url();
        if record.is_authentic() && !record.contradicted && !wrong.contains(url.as_str()) {
            let kind = if record.is_backfill() {
                crate::progress::Proved::BackfillDigest
            } else {
                crate::progress::Proved::Digest
            };
            progress.proved(kind, &url);
        }
    }
}

/// What the log stage of a run reads from.
struct Run<'a> {
    inventory: &'a Inventory,
    records: &'a [DigestRecord],
    chains: &'a [Chain],
    options: &'a Options,
    range: &'a TimeRange,
    /// What the collection records say (for the logs: the buckets' histories).
    custodies: &'a Custodies,
}

impl Run<'_> {
    /// The manifest of the files of one batch, named by the run's roots and chains.
    fn manifest(&self) -> Manifest {
        Manifest::new(
            self.inventory.roots.clone(),
            self.chains.iter().map(|c| c.key.id()).collect(),
        )
    }

    /// Streams the digests' manifest entries, checks the log files partition
    /// by partition (streaming what each read), then the key files; returns
    /// the log tally, every finding, and the objects whose findings JUnit
    /// already has.
    fn check_logs(
        &self,
        mut findings: Vec<Finding>,
        keys: &KeyRing,
        progress: &dyn Progress,
        stream: &mut ReportStream<'_>,
    ) -> LogsChecked {
        let membership = chain::Membership::new(self.chains, self.records.len());
        let mut manifest = self.manifest();
        crate::report::digest_entries(&mut manifest, self.inventory, self.records, &membership);
        stream.manifest(&mut manifest);
        let mut checked = check_logs(self, progress, stream, &manifest);
        crate::report::key_entries(&mut manifest, keys);
        stream.manifest(&mut manifest);
        findings.append(&mut checked.findings);
        findings.extend(
            leftovers(self.inventory, self.range, &findings)
                .into_iter()
                .filter(|f| self.options.selection.admits_url(&f.object)),
        );
        drop_moot_warnings(&mut findings);
        checked.findings = findings;
        checked
    }

    /// The JUnit cases left for the end: every digest read, and the
    /// findings no partition gave JUnit.
    fn last_junit_cases<'r>(
        &self,
        report: &'r Report,
        emitted: &std::collections::HashSet<String>,
    ) -> crate::report::junit::Cases<'r> {
        let membership = chain::Membership::new(self.chains, self.records.len());
        let files = self
            .records
            .iter()
            .enumerate()
            .filter(|(_, r)| r.stored.is_some())
            .map(|(index, r)| crate::report::junit::FileCase {
                object: r.url(),
                kind: "digest",
                chain: membership.id(index),
                path: crate::mirror::escape_path(&r.path),
            })
            .collect();
        crate::report::junit::Cases {
            files,
            findings: report
                .findings
                .iter()
                .filter(|f| !emitted.contains(&f.object))
                .collect(),
        }
    }
}

/// How many partitions are checked at once: enough to keep every core busy
/// while one partition lists its folders or reads its digests.
const PARTITIONS_AT_ONCE: usize = 8;

/// Checks the log files partition by partition (see [`partition`]), adding what
/// each read to the manifest; memory holds a few partitions at a time.
fn check_logs(
    run: &Run<'_>,
    progress: &dyn Progress,
    stream: &mut ReportStream<'_>,
    manifest: &Manifest,
) -> LogsChecked {
    let Run {
        inventory,
        records,
        chains,
        options,
        range,
        ..
    } = *run;
    let membership = chain::Membership::new(chains, records.len());
    let coverage = loghash::Coverage::new(records, chains);
    let context = loghash::LogContext {
        records,
        chains,
        membership: &membership,
        coverage: &coverage,
        range,
        selection: &options.selection,
        hash_stored: options.manifest_hashes,
    };
    let in_range = records.iter().filter(|r| r.in_range);
    progress.start(Phase::Logs, in_range.map(|r| r.listed as u64).sum(), 0);
    let partitions = partition::plan(inventory, records, &options.selection);
    let mut tally = LogTally::new(chains.len());
    let mut findings = Vec::new();
    let mut emitted = std::collections::HashSet::new();
    let mut reports = Vec::with_capacity(partitions.len());
    let rows_taken = std::sync::atomic::AtomicUsize::new(0);
    let render = Render {
        template: manifest,
        manifest: stream.wants_manifest(),
        junit: stream.wants_junit(),
        rows_taken: &rows_taken,
    };
    for chunk in partitions.chunks(PARTITIONS_AT_ONCE) {
        let done: Vec<PartitionDone> = chunk
            .par_iter()
            .map(|w| run_partition(w, &context, run, progress, &render))
            .collect();
        for mut partition in done {
            reports.extend(partition.report.take());
            let first = findings.len();
            absorb(
                &mut tally,
                &mut findings,
                &mut partition,
                &membership,
                records,
            );
            let mut rendered = std::mem::take(&mut partition.rendered);
            let files = std::mem::take(&mut rendered.junit);
            if render.manifest {
                stream.rendered(rendered);
            }
            rows_taken.store(
                crate::report::stream::HTML_MANIFEST_ROWS - stream.rows_wanted(),
                std::sync::atomic::Ordering::Relaxed,
            );
            let new = findings.get(first..).unwrap_or_default();
            emitted.extend(new.iter().map(|f| f.object.clone()));
            stream.junit(&crate::report::junit::Cases {
                files,
                findings: new.iter().collect(),
            });
        }
    }
    LogsChecked {
        tally,
        findings,
        emitted,
        partitions: reports,
    }
}

/// What checking the log files came to.
struct LogsChecked {
    /// Counts per chain and in total.
    tally: LogTally,
    /// Every finding so far.
    findings: Vec<Finding>,
    /// Objects whose findings JUnit already has.
    emitted: std::collections::HashSet<String>,
    /// Each partition, in the order checked.
    partitions: Vec<partition::PartitionReport>,
}

/// What one partition produced.
struct PartitionDone {
    /// What the JSON report says of it.
    report: Option<partition::PartitionReport>,
    results: LogResults,
    /// The files it read, rendered for the manifest and JUnit.
    rendered: crate::report::manifest::Rendered,
    not_examined: Vec<(usize, usize)>,
    /// Findings about the partition's folders themselves.
    findings: Vec<Finding>,
}

/// What a partition's files are rendered for.
struct Render<'a> {
    /// Names files as the run's manifest does.
    template: &'a Manifest,
    /// Whether the manifest is written at all.
    manifest: bool,
    /// Whether JUnit is written.
    junit: bool,
    /// Manifest rows the HTML report has taken so far.
    rows_taken: &'a std::sync::atomic::AtomicUsize,
}

/// Lists one partition, reads its digests' listings again and checks it.
fn run_partition(
    w: &partition::Partition,
    context: &loghash::LogContext<'_>,
    run: &Run<'_>,
    progress: &dyn Progress,
    render: &Render<'_>,
) -> PartitionDone {
    let (global, options) = (run.inventory, run.options);
    let local;
    let files = if w.route == Route::Misc {
        global
    } else {
        local = partition::inventory(w, global);
        &local
    };
    let listings = partition::listings(
        w,
        context.records,
        options.max_digest_bytes,
        options.memory_budget,
    );
    let mut results = loghash::verify_logs(context, files, &listings.lists, progress);
    run.custodies.explain(&mut results.findings);
    let findings = if w.route == Route::Misc {
        Vec::new()
    } else {
        partition_findings(files, global, &results.findings)
    };
    let rendered = render_read(&results, files, context.membership, render);
    PartitionDone {
        report: w.report(&results, context.records),
        results,
        rendered,
        not_examined: listings.not_examined,
        findings,
    }
}

/// The files a partition read, as manifest entries (and JUnit cases), rendered
/// by the partition itself so that the writing stays light.
fn render_read(
    results: &LogResults,
    files: &Inventory,
    membership: &chain::Membership<'_>,
    render: &Render<'_>,
) -> crate::report::manifest::Rendered {
    if !render.manifest && !render.junit {
        return crate::report::manifest::Rendered::default();
    }
    let mut manifest = render.template.empty_like();
    for entry in &results.read {
        let Some(file) = files.files.get(entry.file as usize) else {
            continue;
        };
        let chain = entry.listed_by.and_then(|r| membership.index(r as usize));
        let (stored, hashed) = match entry.stored {
            Some(stored) => (stored, true),
            None => (
                StoredHash {
                    sha256: [0; 32],
                    len: entry.size,
                },
                false,
            ),
        };
        manifest.add_mirror_file(
            EvidenceKind::Log,
            file.root,
            file.rel.clone(),
            chain,
            stored,
            hashed,
        );
    }
    manifest.sort();
    let taken = render.rows_taken.load(std::sync::atomic::Ordering::Relaxed);
    let rows = crate::report::stream::HTML_MANIFEST_ROWS.saturating_sub(taken);
    let mut rendered = manifest.render(rows, render.junit);
    if !render.manifest {
        rendered.json.clear();
        rendered.sums.clear();
        rendered.rows.clear();
    }
    rendered
}

/// Findings about a partition's own folders: unreadable places, names that
/// are not UTF-8, and links or special files (those the scan found are
/// reported once, not per partition; a listed one is `log.unsafe_path`).
fn partition_findings(local: &Inventory, global: &Inventory, found: &[Finding]) -> Vec<Finding> {
    let own = Inventory {
        roots: local.roots.clone(),
        files: Vec::new(),
        unreadable: local
            .unreadable
            .iter()
            .skip(global.unreadable.len())
            .cloned()
            .collect(),
        invalid_names: local.invalid_names.clone(),
        ..Inventory::default()
    };
    let mut findings = unreadable_findings(&own);
    let reported: std::collections::HashSet<&str> = found
        .iter()
        .filter(|f| f.severity == crate::finding::Severity::Error)
        .map(|f| f.object.as_str())
        .collect();
    for file in local
        .files
        .iter()
        .filter(|f| f.kind == FileKind::NotRegular)
    {
        if global.find(file.root, &file.rel).is_some()
            || reported.contains(local.url_of(file).as_str())
        {
            continue;
        }
        findings.push(
            Finding::new(
                FindingCode::MirrorNotRegular,
                local.url_of(file),
                "A symbolic link or special file lies where the bucket mirror should hold a CloudTrail object (or folder); it was not followed, so whatever it points to was not verified.",
            )
            .at(Some(local.path_of(file))),
        );
    }
    findings
}

/// Adds one partition's results to the run's, and what it read to the manifest.
fn absorb(
    tally: &mut LogTally,
    all_findings: &mut Vec<Finding>,
    partition: &mut PartitionDone,
    membership: &chain::Membership<'_>,
    records: &[DigestRecord],
) {
    let PartitionDone {
        results,
        not_examined,
        findings,
        ..
    } = partition;
    let mut results = std::mem::take(results);
    let findings = std::mem::take(findings);
    let not_examined = std::mem::take(not_examined);
    tally.add(&mut results, records, membership);
    all_findings.append(&mut results.findings);
    all_findings.extend(findings);
    for (index, listed) in not_examined {
        if let Some(record) = records.get(index) {
            let chain = membership.id(index);
            all_findings.push(not_examined_finding(record, listed).in_chain(chain));
        }
    }
}

/// `digest.not_examined`: the log files a digest lists in a partition did not
/// fit the memory budget (or the digest no longer reads as it did).
fn not_examined_finding(record: &DigestRecord, listed: usize) -> Finding {
    Finding::new(
        FindingCode::DigestNotExamined,
        record.url(),
        format!(
            "{listed} log file(s) this digest lists were not examined, nor the files in the mirror inside its time: the listings of all digests exceed the run's memory budget (or the digest changed while the run was reading it)."
        ),
    )
    .at(Some(record.path.clone()))
    .values("listings within the memory budget", format!("{listed} more log file(s)"))
}

/// One event, one primary finding: a digest that is shown to be wrong (an
/// error finding on it) is not also reported as merely unproven.
fn drop_moot_warnings(findings: &mut Vec<Finding>) {
    let wrong: std::collections::HashSet<String> = findings
        .iter()
        .filter(|f| f.severity == crate::finding::Severity::Error)
        .map(|f| f.object.clone())
        .collect();
    findings.retain(|f| !(f.code == FindingCode::DigestUnsigned && wrong.contains(&f.object)));
}

/// Whether a finding is about something inside the time range: findings
/// about digests outside it (read only as evidence for those inside) are
/// not reported.
fn reportable(finding: &Finding, range: &TimeRange) -> bool {
    let about_digest =
        finding.code.as_str().starts_with("digest.") || finding.code.as_str().starts_with("chain.");
    let time = finding
        .object
        .rsplit('/')
        .next()
        .and_then(mirror::digest_file_time);
    !about_digest || time.is_none_or(|(t, _)| range.admits_digest(t))
}

/// The run cannot conclude anything without a digest: none found, none in
/// the time range, or the folders holding them unreadable.
fn check_digests_found(
    records: &[DigestRecord],
    inventory: &Inventory,
    options: &Options,
    range: &TimeRange,
) -> Result<(), Error> {
    if records.is_empty() {
        if !inventory.unreadable.is_empty() {
            return Err(Error::DigestsUnreadable {
                folders: inventory
                    .unreadable
                    .iter()
                    .map(|u| u.path.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        return Err(Error::NoDigests {
            roots: options
                .mirrors
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    // A shard of a plan may hold no digest of its own (fewer places than
    // shards, or none in the time range): its part is empty, not an error.
    if records.iter().any(|r| r.in_range) || options.selection.scope.is_some() {
        return Ok(());
    }
    if records.iter().any(|r| r.deselected) {
        let mut chains: Vec<String> = records
            .iter()
            .filter(|r| r.deselected)
            .filter_map(|r| crate::chain::ChainKey::of_key(&r.key))
            .map(|k| k.id())
            .collect();
        chains.sort();
        chains.dedup();
        return Err(Error::NoDigestsSelected {
            chains: chains.join(", "),
        });
    }
    let times: Vec<Timestamp> = records.iter().filter_map(DigestRecord::time).collect();
    let (Some(first), Some(last)) = (times.iter().min(), times.iter().max()) else {
        return Ok(());
    };
    let show = |t: Option<Timestamp>| t.map_or_else(|| "…".to_owned(), |t| t.to_string());
    Err(Error::NoDigestsInRange {
        found: records.len(),
        range: format!(
            "--start-time {} --end-time {}",
            show(range.start),
            show(range.end)
        ),
        first: *first,
        last: *last,
    })
}

/// Keys are per region: when no digest of a region names a fingerprint any
/// supplied key has, the keys of that region were not supplied (or belong
/// to another account's copy of the files). That is a mistake in running
/// the tool, not evidence of tampering.
fn check_keys_match(records: &[DigestRecord], keys: &KeyRing) -> Result<(), Error> {
    use std::collections::BTreeMap;
    struct Need {
        matched: bool,
        fingerprints: std::collections::BTreeSet<String>,
        first: Option<Timestamp>,
        last: Option<Timestamp>,
    }
    let mut regions: BTreeMap<&str, Need> = BTreeMap::new();
    // Regions outside the selection (`--region`) need no key.
    for record in records.iter().filter(|r| !r.deselected) {
        let (Ok(digest), Some(layout)) = (&record.parsed, &record.layout) else {
            continue;
        };
        let need = regions.entry(layout.region.as_str()).or_insert(Need {
            matched: false,
            fingerprints: std::collections::BTreeSet::new(),
            first: None,
            last: None,
        });
        if keys.knows(&digest.fingerprint) {
            need.matched = true;
        }
        need.fingerprints.insert(digest.fingerprint.clone());
        need.first = Some(
            need.first
                .map_or(digest.start_time, |t| t.min(digest.start_time)),
        );
        need.last = Some(
            need.last
                .map_or(digest.end_time, |t| t.max(digest.end_time)),
        );
    }
    let unmatched: Vec<(&str, &Need)> = regions
        .iter()
        .filter(|(_, need)| !need.matched)
        .map(|(region, need)| (*region, need))
        .collect();
    if unmatched.is_empty() {
        return Ok(());
    }
    let needed = unmatched
        .iter()
        .map(|(region, need)| {
            let show = |t: Option<Timestamp>| t.map_or_else(String::new, |t| t.to_string());
            format!(
                "region {region} needs the key(s) with fingerprint {} for {} to {}: `{}`",
                need.fingerprints
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
                show(need.first),
                show(need.last),
                crate::keys::list_command(region, need.first, need.last)
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    Err(Error::KeysMatchNoDigest {
        regions: unmatched
            .iter()
            .map(|(r, _)| format!("region {r}"))
            .collect::<Vec<_>>()
            .join(", "),
        needed,
    })
}

/// `mirror.unreadable` for every part of the mirror the walk could not read.
fn unreadable_findings(inventory: &Inventory) -> Vec<Finding> {
    let unreadable = inventory.unreadable.iter().map(|u| {
        Finding::new(
            FindingCode::MirrorUnreadable,
            inventory.url_of_path(u.root, &u.path),
            format!(
                "This part of the mirror cannot be read by this user ({}); the digests and log files in it were not examined.",
                u.reason
            ),
        )
        .at(Some(u.path.clone()))
    });
    let invalid = inventory.invalid_names.iter().map(|n| {
        let what = if n.folder { "folder" } else { "file" };
        Finding::new(
            FindingCode::MirrorInvalidName,
            inventory.url_of_path(n.root, &n.path),
            format!(
                "This {what}'s name is not UTF-8 (shown with \\xNN escapes): no S3 key is, so it cannot be an object CloudTrail delivered{}.",
                if n.folder { "; what it holds was not examined" } else { "" }
            ),
        )
        .at(Some(n.path.clone()))
    });
    unreadable.chain(invalid).collect()
}

/// A few listed keys (bucket, key) per place log files lie, from every
/// digest: what locates a mirror root no digest lies in. Kept per place,
/// not per digest, so that they do not grow with the number of digests.
#[derive(Default)]
struct ListedSamples(std::sync::Mutex<std::collections::HashMap<Route, Vec<(String, String)>>>);

impl ListedSamples {
    /// Keeps up to [`SAMPLE_KEYS`] keys per place of `files` (more for
    /// keys outside every log folder, which may lie anywhere).
    fn offer(&self, files: &[digest::LogFileRef]) {
        let Ok(mut samples) = self.0.lock() else {
            return;
        };
        for file in files.iter().take(SAMPLE_KEYS) {
            let route = Route::of(&file.bucket, &file.object);
            let cap = if route == Route::Misc {
                SAMPLE_KEYS * 16
            } else {
                SAMPLE_KEYS
            };
            let kept = samples.entry(route).or_default();
            if kept.len() < cap {
                kept.push((file.bucket.to_string(), file.object.to_string()));
            }
        }
    }

    /// The keys kept, in a stable order.
    fn into_keys(self) -> Vec<(String, String)> {
        let samples = self.0.into_inner().unwrap_or_else(|e| e.into_inner());
        let mut keys: Vec<(String, String)> = samples.into_values().flatten().collect();
        keys.sort_unstable();
        keys
    }
}

/// Bytes of listings kept from the first read of the digests (beyond it,
/// partitions read their digests again).
const LISTING_CACHE: u64 = 32 << 20;

/// Listed keys kept per digest to locate a root no digest lies in.
const SAMPLE_KEYS: usize = 4;

/// Reads every digest file (in parallel, whatever the time range: the range
/// limits what is reported, never which evidence is used), then works out
/// each root's bucket and prefix from them, and builds their records.
fn read_digests(
    inventory: &mut Inventory,
    range: &TimeRange,
    options: &Options,
    progress: &dyn Progress,
) -> Result<Vec<DigestRecord>, Error> {
    let (mut records, samples) = read_all(inventory, options, progress);
    if records.is_empty() {
        return Ok(Vec::new());
    }
    locate(inventory, &records, &samples, options)?;
    drop(samples);
    // Completed in place: a record is about 1 KB, and a second vector of
    // them would double the peak.
    for record in &mut records {
        complete_record(inventory, range, &options.selection, record);
    }
    Ok(records)
}

/// Reads and parses every digest file in parallel.
fn read_all(
    inventory: &Inventory,
    options: &Options,
    progress: &dyn Progress,
) -> (Vec<DigestRecord>, Vec<(String, String)>) {
    let candidates: Vec<usize> = inventory
        .of_kind(FileKind::Digest)
        .map(|(index, _)| index)
        .collect();
    let candidate_bytes = candidates
        .iter()
        .filter_map(|&i| inventory.files.get(i))
        .map(|f| f.size)
        .sum();
    progress.start(Phase::Digests, candidates.len() as u64, candidate_bytes);
    let cache = crate::budget::ListingBudget::new(LISTING_CACHE);
    let samples = ListedSamples::default();
    let read = candidates
        .into_par_iter()
        .map(|index| {
            let file = inventory.files.get(index);
            let path = file.map(|f| inventory.path_of(f)).unwrap_or_default();
            let mut contents = read_digest_file(&path, options.max_digest_bytes);
            let (routes, listed, cached) = summarize_listing(&mut contents, &cache, &samples);
            let metadata = file
                .map(|f| signature::read_metadata(inventory, f))
                .unwrap_or_default();
            progress.advance(file.map_or(0, |f| f.size));
            DigestRecord {
                file: index,
                // Filled in by `complete_record` once the roots are located.
                bucket: String::new(),
                key: String::new(),
                path,
                layout: None,
                name: None,
                inflated_sha256: contents.inflated_sha256,
                parsed: contents.parsed,
                stored: contents.stored,
                metadata,
                claimed_metadata: None,
                moved: false,
                auth: None,
                contradicted: false,
                trusted: false,
                in_range: true,
                deselected: false,
                reported: true,
                dropped_listing: None,
                routes,
                listed,
                cached: std::sync::Mutex::new(cached),
            }
        })
        .collect();
    (read, samples.into_keys())
}

/// A listing summed up: where it lies, how many files, and the listing
/// itself by route when the cache still has room.
type Summary = (Vec<Route>, usize, Vec<(Route, Vec<digest::LogFileRef>)>);

/// Where a digest's listed log files lie and how many it lists (a few of
/// their keys go to `samples`); the listing itself is kept (by route) only
/// while the cache has room, else freed (partitions read it again).
fn summarize_listing(
    contents: &mut digest::DigestFile,
    cache: &crate::budget::ListingBudget,
    samples: &ListedSamples,
) -> Summary {
    let Ok(digest) = &mut contents.parsed else {
        return (Vec::new(), 0, Vec::new());
    };
    let files = std::mem::take(&mut digest.log_files);
    samples.offer(&files);
    let listed = files.len();
    let size: u64 = files.iter().map(|f| 64 + f.object.len() as u64).sum();
    if cache.admit(size) {
        let cached = crate::record::split_by_route(files);
        let routes = cached.iter().map(|(r, _)| r.clone()).collect();
        (routes, listed, cached)
    } else {
        (crate::record::routes_of(&files), listed, Vec::new())
    }
}

/// Works out each root's bucket and prefix from the digests (and, for a
/// root no digest lies in, from the log files they list).
fn locate(
    inventory: &mut Inventory,
    read: &[DigestRecord],
    samples: &[(String, String)],
    options: &Options,
) -> Result<(), Error> {
    let mut claims: Vec<(usize, String, String, String)> = read
        .iter()
        .filter_map(|r| {
            let file = inventory.files.get(r.file)?;
            let d = r.parsed.as_ref().ok()?;
            Some((
                file.root,
                file.rel.to_string(),
                d.bucket.clone(),
                d.object.clone(),
            ))
        })
        .collect();
    // Roots no digest of their own locates (only moved ones, or none in
    // range): the log files the digests list may.
    let unlocated: Vec<usize> = (0..inventory.roots.len())
        .filter(|root| {
            !claims.iter().any(|(r, rel, _, key)| {
                r == root
                    && key
                        .strip_suffix(rel.as_str())
                        .is_some_and(|p| p.is_empty() || p.ends_with('/'))
            })
        })
        .collect();
    if !unlocated.is_empty() {
        let listed = samples.iter().map(|(b, k)| (b.as_str(), k.as_str()));
        claims.extend(inventory.log_claims(&unlocated, listed));
    }
    inventory.locate_roots(
        claims
            .iter()
            .map(|(r, rel, b, o)| (*r, rel.as_str(), b.as_str(), o.as_str())),
        options.bucket.as_deref(),
        options.prefix.as_deref(),
    )?;
    if options.bucket.is_some() || options.prefix.is_some() {
        check_overrides(inventory, &claims)?;
    }
    Ok(())
}

/// Completes the record of one digest read, now that its root is located:
/// its bucket and key, what its place says, and whether it is in range.
fn complete_record(
    inventory: &Inventory,
    range: &TimeRange,
    selection: &Selection,
    record: &mut DigestRecord,
) {
    let Some(file) = inventory.files.get(record.file) else {
        return;
    };
    let bucket = inventory.bucket_of(file).to_owned();
    let key = inventory.key_of(file);
    let layout = mirror::parse_layout(&key, "CloudTrail-Digest");
    let name = layout.as_ref().and_then(mirror::parse_digest_name);
    let parsed = record.parsed.as_ref().ok();
    let moved = parsed.is_some_and(|d| d.bucket != bucket || d.object != key);
    let time = parsed
        .map(|d| d.end_time)
        .or_else(|| name.as_ref().map(|n| n.time));
    let in_time = time.is_none_or(|t| range.admits_digest(t));
    let reported = selection.admits_key(&key);
    // A shard also reads a digest that lists a file in one of its days
    // (a digest copied into another shard's place): it judges those files.
    let lists_here = || {
        selection.scope.is_some()
            && record.routes.iter().any(|route| match route {
                crate::record::Route::Day(at, day) => {
                    selection.admits_day(&at.account, &at.region, *day)
                }
                crate::record::Route::Misc => false,
            })
    };
    let read = crate::chain::ChainKey::of_key(&key).map_or(reported, |c| selection.reads_chain(&c))
        || lists_here();
    let in_range = in_time && read;
    record.deselected = in_time && !read;
    record.reported = in_range && reported;
    record.claimed_metadata = parsed
        .filter(|_| moved)
        .and_then(|d| inventory.resolve(&d.bucket, &d.object).ok())
        .filter(|f| f.kind == FileKind::Digest)
        .map(|f| Box::new(signature::read_metadata(inventory, f)));
    record.bucket = bucket;
    record.key = key;
    record.layout = layout;
    record.name = name;
    record.moved = moved;
    record.in_range = in_range;
    if !in_range {
        // A digest outside the range is read as evidence; its log files are not examined.
        record.routes = Vec::new();
        record.cached = std::sync::Mutex::new(Vec::new());
    }
}

/// Reads one digest file; a panic while reading it (a bug) is an error on it.
fn read_digest_file(path: &std::path::Path, max_inflated: u64) -> digest::DigestFile {
    crate::error::contain_panic(|| digest::read(path, max_inflated)).unwrap_or_else(|panic| {
        digest::DigestFile {
            inflated_sha256: None,
            parsed: Err(DigestError::Internal(panic)),
            stored: None,
        }
    })
}

/// `--bucket`/`--prefix` that place a root where not one of the objects
/// whose key is known (its digests, or the log files they list) lies: the
/// override is wrong, not every digest moved. Exit 2, saying what the
/// digests themselves name.
fn check_overrides(
    inventory: &Inventory,
    claims: &[(usize, String, String, String)],
) -> Result<(), Error> {
    for (index, root) in inventory.roots.iter().enumerate() {
        let mine: Vec<&(usize, String, String, String)> =
            claims.iter().filter(|(r, ..)| *r == index).collect();
        if mine.is_empty() {
            continue;
        }
        let bucket = root.bucket.clone().unwrap_or_default();
        let placed = mine
            .iter()
            .any(|(_, rel, b, key)| *b == bucket && *key == format!("{}{rel}", root.prefix));
        if placed {
            continue;
        }
        let mut votes: std::collections::BTreeMap<(String, String), usize> =
            std::collections::BTreeMap::new();
        for (_, rel, b, key) in &mine {
            if let Some(prefix) = key.strip_suffix(rel.as_str())
                && (prefix.is_empty() || prefix.ends_with('/'))
            {
                *votes.entry((b.clone(), prefix.to_owned())).or_default() += 1;
            }
        }
        let found = votes.iter().max_by_key(|(_, n)| **n).map_or_else(
            || "locations that do not end with their path in the mirror".to_owned(),
            |((b, p), _)| format!("bucket {b} and prefix {p:?}"),
        );
        return Err(Error::LocationOverrideMatchesNothing {
            path: root.path.clone(),
            bucket,
            prefix: root.prefix.clone(),
            found,
        });
    }
    Ok(())
}

/// Verifies every parsed digest's signature with its metadata and the
/// `previousDigestSignature` of every digest that links to it.
fn authenticate_all(records: &mut [DigestRecord], keys: &KeyRing) {
    // Keyed by where each digest claims to be: the next digest's
    // previousDigestSignature belongs to that content wherever it lies now.
    // Each digest gets the indices of the digests vouching for it (not
    // copies of their signatures: a signature is 512 hex digits).
    let by_claimed_location = chain::claimed_locations(records);
    let mut vouchers: Vec<Vec<u32>> = vec![Vec::new(); records.len()];
    for (index, record) in records.iter().enumerate() {
        let Ok(d) = &record.parsed else { continue };
        let (Some(link), Some(_)) = (&d.previous, &d.previous_signature) else {
            continue;
        };
        let targets = by_claimed_location
            .get(&(link.bucket.as_str(), link.object.as_str()))
            .map_or(&[][..], Vec::as_slice);
        for &target in targets {
            if let (Some(list), Ok(index)) = (vouchers.get_mut(target), u32::try_from(index)) {
                list.push(index);
            }
        }
    }
    drop(by_claimed_location);
    let records_read: &[DigestRecord] = records;
    let signature_of = |index: &u32| {
        records_read
            .get(*index as usize)
            .and_then(|r| r.parsed.as_ref().ok())
            .and_then(|d| d.previous_signature.as_ref())
    };
    let auths: Vec<Option<signature::Authentication>> = records_read
        .par_iter()
        .zip(vouchers.par_iter())
        .map(|(record, vouchers)| {
            let d = record.parsed.as_ref().ok()?;
            let mut sigs: Vec<&digest::SignatureText> = Vec::with_capacity(vouchers.len());
            for sig in vouchers.iter().filter_map(signature_of) {
                if !sigs.contains(&sig) {
                    sigs.push(sig);
                }
            }
            let backfill = record.is_backfill();
            let auth = signature::authenticate(d, &record.metadata, &sigs, keys, backfill);
            // A digest moved without its sidecar: the metadata at the key
            // its content names may be its own.
            if auth.problem.is_some()
                && let Some(claimed) = &record.claimed_metadata
            {
                let at_claim = signature::authenticate(d, claimed, &sigs, keys, backfill);
                if at_claim.problem.is_none() {
                    return Some(at_claim);
                }
            }
            Some(auth)
        })
        .collect();
    drop(vouchers);
    for (record, auth) in records.iter_mut().zip(auths) {
        if auth.is_some() {
            record.auth = auth;
        }
    }
}

/// Findings about one digest on its own: malformed, moved, signature and key problems.
fn digest_findings(record: &DigestRecord) -> Vec<Finding> {
    let url = record.url();
    let at = || Some(record.path.clone());
    let mut out = Vec::new();
    if let Some(reason) = &record.metadata.read_error {
        out.push(
            Finding::new(
                FindingCode::MirrorUnreadable,
                &url,
                format!("The digest's metadata sidecar cannot be read by this user ({reason}); the signature it holds was not checked."),
            )
            .at(Some(crate::evidence::sidecar_path(&record.path))),
        );
    }
    let d = match &record.parsed {
        Err(e) if e.is_unreadable() => {
            out.push(
                Finding::new(
                    FindingCode::MirrorUnreadable,
                    &url,
                    format!(
                        "The digest file cannot be read by this user ({e}); it was not examined."
                    ),
                )
                .at(at()),
            );
            return out;
        }
        Err(e) => {
            out.push(
                Finding::new(
                    FindingCode::DigestMalformed,
                    &url,
                    format!("Digest file cannot be read as a digest: {e}."),
                )
                .at(at()),
            );
            return out;
        }
        Ok(d) => d,
    };
    if record.moved {
        out.push(
            Finding::new(
                FindingCode::DigestMoved,
                &url,
                format!(
                    "Digest file lies at {url} but names itself s3://{}/{}.",
                    d.bucket, d.object
                ),
            )
            .at(at())
            .values(mirror::s3_url(&d.bucket, &d.object), &url),
        );
    }
    if record.is_backfill()
        && record.metadata.source.is_some()
        && record.metadata.unreadable.is_none()
        && record.metadata.backfill_generation.is_none()
    {
        out.push(
            Finding::new(
                FindingCode::DigestMalformed,
                &url,
                "The saved metadata of this backfill digest has no backfill-generation-timestamp, which CloudTrail sets on every backfill digest (the AWS CLI calls it invalid format).",
            )
            .at(at())
            .values("metadata with backfill-generation-timestamp", "no such entry"),
        );
    }
    let Some(problem) = record.auth.as_ref().and_then(|a| a.problem.as_ref()) else {
        return out;
    };
    out.push(signature_finding(record, d, problem).at(at()));
    out
}

/// The finding for a digest whose signature could not be checked or does not verify.
fn signature_finding(
    record: &DigestRecord,
    d: &digest::Digest,
    problem: &SignatureProblem,
) -> Finding {
    let url = record.url();
    let region = record
        .layout
        .as_ref()
        .map_or("<region>", |l| l.region.as_str());
    let save_keys = crate::keys::list_command(region, Some(d.start_time), Some(d.end_time));
    match problem {
        SignatureProblem::KeyUnknown => Finding::new(
            FindingCode::DigestKeyUnknown,
            &url,
            format!(
                "No supplied public key has fingerprint {}, so the digest's signature cannot be checked (other digests of region {region} name keys that were supplied).",
                d.fingerprint
            ),
        )
        .values(format!("a public key with fingerprint {}", d.fingerprint), "none supplied")
        .help(format!("If the key file for region {region} is incomplete, save the keys covering this digest with `{save_keys}` and pass the file with --public-keys; if that key set does not have fingerprint {} either, the digest was not signed by CloudTrail.", d.fingerprint)),
        SignatureProblem::KeyOutsideValidity { at, windows } => Finding::new(
            FindingCode::DigestKeyUnknown,
            &url,
            format!(
                "The public key with fingerprint {} is not valid at {at}, when this digest was signed (as its signed digestEndTime bounds it): it was published for {}.",
                d.fingerprint,
                windows
                    .iter()
                    .map(|w| format!("{} to {}", w.start, w.end))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .values(format!("a key valid at {at}"), "keys valid only outside that time")
        .locus(Locus::KeyEntry { fingerprint: d.fingerprint.clone(), signed: at.to_string() })
        .help(format!("A digest signed with a key outside its validity window is suspect (an expired key may have leaked); if the key file is incomplete, save keys covering this time with `{save_keys}` and pass them with --public-keys.")),
        SignatureProblem::Invalid {
            source,
            reason,
            rescued_by,
        } => {
            let mut message = format!("The signature from the {source} does not verify: {reason}.");
            if let Some(other) = rescued_by {
                message.push_str(&format!(
                    " The signature from the {other} does verify, so the digest's content is authentic but its saved metadata is not."
                ));
            }
            Finding::new(FindingCode::DigestSignatureInvalid, &url, message)
                .values(
                    format!("a SHA256withRSA signature by key {} over the digest's signing string", d.fingerprint),
                    "a signature that does not match",
                )
        }
        SignatureProblem::Unsigned => Finding::new(
            FindingCode::DigestUnsigned,
            &url,
            if record.is_backfill() {
                "No signature is available: a backfill digest's signature exists only in its S3 metadata (no later digest ever links to a backfill digest), and none was saved. Its content and the log files only it lists cannot be authenticated."
            } else {
                "No signature is available: no metadata sidecar, no user.signature attribute, and no later digest links to this one. Its content and the log files only it lists cannot be authenticated."
            },
        )
        .help(format!(
            "Save the digest's S3 metadata beside it, then re-run: `aws s3api head-object --bucket {} --key {} > '{}{}'`.",
            record.bucket,
            record.key,
            record.path.display(),
            mirror::SIDECAR_SUFFIX
        )),
    }
}

/// What the mirror holds besides digests and logs that still tells of
/// tampering: links and special files where objects belong, and metadata
/// sidecars whose digest is gone (the newest digest's deletion is otherwise
/// invisible). Objects that already have an error finding are skipped.
fn leftovers(inventory: &Inventory, range: &TimeRange, findings: &[Finding]) -> Vec<Finding> {
    let reported: std::collections::HashSet<&str> = findings
        .iter()
        .filter(|f| f.severity == crate::finding::Severity::Error)
        .map(|f| f.object.as_str())
        .collect();
    let mut out = Vec::new();
    for file in &inventory.files {
        let key = inventory.key_of(file);
        if !key.split('/').any(|part| part == "AWSLogs") {
            continue;
        }
        if file.kind == FileKind::NotRegular {
            let url = inventory.url_of(file);
            if !reported.contains(url.as_str()) {
                out.push(
                    Finding::new(
                        FindingCode::MirrorNotRegular,
                        &url,
                        "A symbolic link or special file lies where the bucket mirror should hold a CloudTrail object (or folder); it was not followed, so whatever it points to was not verified.",
                    )
                    .at(Some(inventory.path_of(file))),
                );
            }
            continue;
        }
        let Some(digest_rel) = file.rel.strip_suffix(mirror::SIDECAR_SUFFIX) else {
            continue;
        };
        let in_digest_area = key.split('/').any(|part| part == "CloudTrail-Digest");
        let name = digest_rel.rsplit('/').next().unwrap_or_default();
        let Some((time, _)) = mirror::digest_file_time(name) else {
            continue;
        };
        if !in_digest_area
            || !range.admits_digest(time)
            || inventory.find(file.root, digest_rel).is_some()
        {
            continue;
        }
        let digest_key = key.strip_suffix(mirror::SIDECAR_SUFFIX).unwrap_or(&key);
        let url = mirror::s3_url(inventory.bucket_of(file), digest_key);
        if reported.contains(url.as_str()) {
            continue;
        }
        out.push(
            Finding::new(
                FindingCode::DigestMissing,
                &url,
                format!(
                    "The metadata sidecar {} of this digest remains, but the digest itself is gone (a deleted newest digest leaves no other trace).",
                    inventory.path_of(file).display()
                ),
            )
            .at(Some(inventory.local_path(file.root, digest_rel)))
            .values("the digest file beside its metadata", "no file"),
        );
    }
    out
}
