//! Log files: every file a digest lists is re-hashed (streaming gunzip +
//! SHA-256, in parallel, largest first), and every log file in the mirror
//! that no digest lists but that lies inside a chain's covered time is
//! reported.

use crate::chain::{self, Chain, Standing};
use crate::digest::ExpectedHash;
use crate::finding::{Finding, FindingCode};
use crate::gzip::{GzipError, LogHasher, StoredHash};
use crate::mirror::{self, FileKind, Inventory};
use crate::progress::{Phase, Progress};
use crate::verify::{DigestRecord, TimeRange};
use jiff::{SignedDuration, Timestamp};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What became of one listed log file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogStatus {
    /// Present, one valid gzip stream, hash as listed.
    Valid,
    /// Absent.
    Missing,
    /// Hash differs.
    Modified,
    /// Not one valid gzip stream, or unreadable.
    Malformed,
    /// The key is unsafe or leads to a link: not opened.
    UnsafePath,
    /// Listed only by digests that could not be verified: not checked.
    Unverified,
    /// Listed only by digests that could not be verified, inside time that
    /// authentic digests cover without listing it (`log.unreferenced`).
    Unreferenced,
}

/// One listed log file's outcome.
#[derive(Debug, Clone)]
pub struct LogOutcome {
    /// What became of it.
    pub status: LogStatus,
    /// Records (digests) that list it.
    pub listed_by: Box<[u32]>,
    /// Uncompressed bytes hashed (0 when not hashed).
    pub uncompressed_bytes: u64,
}

/// A log file in covered time that no authentic digest lists.
#[derive(Debug, Clone)]
pub struct Unreferenced {
    /// `s3://` URL.
    pub url: String,
    /// Index of the chain whose time covers it.
    pub chain: Option<usize>,
    /// Delivery time from its name, when the name is a log file name.
    pub time: Option<Timestamp>,
}

/// A log file the run opened and hashed.
#[derive(Debug, Clone, Copy)]
pub struct ReadLog {
    /// Index in [`Inventory::files`].
    pub file: u32,
    /// The first authentic digest (record index) that lists it.
    pub listed_by: Option<u32>,
    /// SHA-256 and size of its stored bytes, when asked for and read whole.
    pub stored: Option<StoredHash>,
}

/// All log results of a run.
#[derive(Debug, Default)]
pub struct LogResults {
    /// One per distinct listed log file, sorted by URL.
    pub outcomes: Vec<LogOutcome>,
    /// Unreferenced log files (`log.unreferenced`).
    pub unreferenced: Vec<Unreferenced>,
    /// Every log file that was opened and hashed.
    pub read: Vec<ReadLog>,
    /// Log files in the mirror neither listed nor inside any chain's covered time.
    pub not_covered: usize,
    /// Log findings, in outcome order then unreferenced (taken by the caller).
    pub findings: Vec<Finding>,
}

/// Who lists one log file: every digest record, with the `hashValue` it
/// gives when the digest is authentic. Borrows from the records, so a
/// million listed files cost no copies of their keys.
#[derive(Default)]
struct Listing<'a> {
    listers: Vec<(usize, Option<&'a ExpectedHash>)>,
    /// Whether an unsigned backfill digest lists it. Backfill digests list
    /// late log files inside time that standard digests cover, and no
    /// digest ever links to them, so without saved metadata nothing proves
    /// or disproves them: their log files are unverified, not unreferenced.
    by_unsigned_backfill: bool,
}

impl<'a> Listing<'a> {
    fn authentic(&self) -> impl Iterator<Item = (usize, &'a ExpectedHash)> + '_ {
        self.listers.iter().filter_map(|&(r, h)| Some((r, h?)))
    }

    fn is_vouched(&self) -> bool {
        self.listers.iter().any(|(_, h)| h.is_some())
    }

    fn first(&self) -> usize {
        self.listers.first().map_or(0, |(r, _)| *r)
    }
}

/// What a worker found wrong with one log file (boxed: rare, and keeps the
/// per-file result small).
type Problem = Box<(LogStatus, Finding)>;

/// What a worker found for one job: its slot, the uncompressed bytes, a
/// problem if any, and the file it read.
type Checked = (usize, u64, Option<Problem>, Option<ReadLog>);

/// Every listed log file with its listers, sorted by (bucket, key).
struct Listings<'a> {
    entries: Vec<((&'a str, &'a str), Listing<'a>)>,
}

impl<'a> Listings<'a> {
    fn new(records: &'a [DigestRecord]) -> Self {
        let mut flat: Vec<((&str, &str), usize, Option<&ExpectedHash>)> = Vec::new();
        let unsigned_backfill: Vec<bool> = records
            .iter()
            .map(|r| r.is_backfill() && Standing::of(r) == Standing::Unproven)
            .collect();
        for (index, record) in records.iter().enumerate() {
            let Ok(digest) = &record.parsed else { continue };
            let authentic = record.is_authentic();
            for log in &digest.log_files {
                flat.push((
                    (&*log.bucket, &*log.object),
                    index,
                    authentic.then_some(&log.hash),
                ));
            }
        }
        flat.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        let mut entries: Vec<((&str, &str), Listing<'_>)> = Vec::new();
        for (key, index, hash) in flat {
            let backfill = unsigned_backfill.get(index).copied().unwrap_or(false);
            match entries.last_mut() {
                Some((last, listing)) if *last == key => {
                    if !listing.listers.iter().any(|(r, _)| *r == index) {
                        listing.listers.push((index, hash));
                        listing.by_unsigned_backfill |= backfill;
                    }
                }
                _ => entries.push((
                    key,
                    Listing {
                        listers: vec![(index, hash)],
                        by_unsigned_backfill: backfill,
                    },
                )),
            }
        }
        entries.shrink_to_fit();
        Listings { entries }
    }

    fn get(&self, bucket: &str, key: &str) -> Option<&Listing<'a>> {
        self.entries
            .binary_search_by(|(k, _)| k.cmp(&(bucket, key)))
            .ok()
            .and_then(|i| self.entries.get(i))
            .map(|(_, l)| l)
    }
}

/// Checks every listed log file and looks for unreferenced ones.
#[must_use]
pub fn verify_logs(
    records: &[DigestRecord],
    chains: &[Chain],
    inventory: &Inventory,
    range: &TimeRange,
    hash_stored: bool,
    progress: &dyn Progress,
) -> LogResults {
    let membership = chain::Membership::new(chains, records.len());
    let chain_id = |record: usize| membership.id(record);
    let lister_url = |record: usize| {
        records
            .get(record)
            .map(DigestRecord::url)
            .unwrap_or_default()
    };
    let listings = Listings::new(records);

    let coverage = Coverage::new(records, chains);
    let mut results = LogResults::default();
    // (slot, inventory file, compressed size)
    let mut jobs: Vec<(usize, usize, u64)> = Vec::new();
    for (slot, &((bucket, key), ref listing)) in listings.entries.iter().enumerate() {
        let listed_by: Box<[u32]> = listing
            .listers
            .iter()
            .map(|(r, _)| u32::try_from(*r).unwrap_or(u32::MAX))
            .collect();
        let mut outcome = LogOutcome {
            status: LogStatus::Valid,
            listed_by,
            uncompressed_bytes: 0,
        };
        let first = listing.first();
        let finding = |code, message: String, path: Option<PathBuf>| {
            Finding::new(code, mirror::s3_url(bucket, key), message)
                .at(path)
                .in_chain(chain_id(first))
        };
        if !mirror::is_safe_key(key) {
            outcome.status = LogStatus::UnsafePath;
            results.findings.push(finding(
                FindingCode::LogUnsafePath,
                format!("The digest {} lists a log file whose key {key:?} is not a safe relative path (absolute, `..`, `.`, empty segment, NUL or backslash); it was not opened.", lister_url(first)),
                None,
            ));
            results.outcomes.push(outcome);
            continue;
        }
        match inventory.resolve(bucket, key) {
            Err(path) if !listing.is_vouched() => {
                outcome.status = LogStatus::Unverified;
                results.findings.push(unverified(
                    bucket,
                    key,
                    path,
                    &lister_url(first),
                    chain_id(first),
                ));
            }
            // Present, listed only by unverified digests, inside the time
            // authentic digests cover: they do not list it, so it is
            // unreferenced (reported with the other unreferenced files).
            Ok(file)
                if !listing.is_vouched()
                    && !listing.by_unsigned_backfill
                    && file.kind != FileKind::NotRegular
                    && log_location(bucket, key)
                        .is_some_and(|(loc, t)| coverage.covering(&loc, t, true).is_some()) =>
            {
                outcome.status = LogStatus::Unreferenced;
            }
            Ok(file) if !listing.is_vouched() => {
                outcome.status = LogStatus::Unverified;
                results.findings.push(unverified(
                    bucket,
                    key,
                    Some(inventory.path_of(file)),
                    &lister_url(first),
                    chain_id(first),
                ));
            }
            Err(_) if inventory.linked_ancestor_of(bucket, key).is_some() => {
                let link = inventory
                    .linked_ancestor_of(bucket, key)
                    .map(|f| inventory.path_of(f));
                outcome.status = LogStatus::UnsafePath;
                results.findings.push(finding(
                    FindingCode::LogUnsafePath,
                    format!(
                        "The listed log file lies under {}, a symbolic link or special file; links are never followed, so it was not opened.",
                        link.as_deref().map(|p| p.display().to_string()).unwrap_or_default()
                    ),
                    link,
                ));
            }
            Err(path) => {
                outcome.status = LogStatus::Missing;
                let mut message = format!(
                    "The digest {} lists this log file, but the mirror does not have it",
                    lister_url(first)
                );
                if path.is_none() {
                    message.push_str(" (no mirror root holds that bucket and prefix)");
                }
                message.push('.');
                let expected = listing
                    .authentic()
                    .next()
                    .map(|(_, h)| h.to_string())
                    .unwrap_or_default();
                results
                    .findings
                    .push(finding(FindingCode::LogMissing, message, path).hashes(
                        crate::finding::UNCOMPRESSED_SHA256,
                        expected,
                        "no file",
                    ));
            }
            Ok(file) if file.kind == FileKind::NotRegular => {
                outcome.status = LogStatus::UnsafePath;
                results.findings.push(finding(
                    FindingCode::LogUnsafePath,
                    "The listed log file is a symbolic link or special file; links are never followed, so it was not opened.".to_owned(),
                    Some(inventory.path_of(file)),
                ));
            }
            Ok(file) => {
                let index = inventory.index_of(file);
                jobs.push((slot, index, file.size));
            }
        }
        results.outcomes.push(outcome);
    }

    // Largest first, so one huge file does not leave a core idle at the end.
    jobs.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    progress.start(
        Phase::Logs,
        jobs.len() as u64,
        jobs.iter().map(|j| j.2).sum(),
    );
    // Each worker compares the hash itself and returns only what is needed:
    // the byte count, and a finding when something is wrong.
    let check = |hasher: &mut LogHasher, (slot, index, size): (usize, usize, u64)| {
        let path = inventory
            .files
            .get(index)
            .map(|f| inventory.path_of(f))
            .unwrap_or_default();
        let (result, stored) = crate::error::contain_panic(|| match mirror::open_evidence(&path) {
            Ok(f) => {
                let hashed = hasher.hash_file(f, size);
                (hashed.content, hashed.stored)
            }
            Err(e) => (Err(GzipError::Io(e)), None),
        })
        .unwrap_or_else(|panic| (Err(GzipError::Internal(panic)), None));
        progress.advance(size);
        let Some(&((bucket, key), ref listing)) = listings.entries.get(slot) else {
            return (slot, 0, None, None);
        };
        let read = ReadLog {
            file: u32::try_from(index).unwrap_or(u32::MAX),
            listed_by: listing
                .authentic()
                .next()
                .and_then(|(r, _)| u32::try_from(r).ok()),
            stored,
        };
        let chain = || listing.authentic().next().and_then(|(r, _)| chain_id(r));
        match result {
            Err(error) => {
                let finding = Finding::new(
                    FindingCode::LogMalformed,
                    mirror::s3_url(bucket, key),
                    format!("The log file is not one complete, valid gzip stream: {error}."),
                )
                .at(Some(path))
                .values(
                    "one complete gzip stream ending at the end of the file",
                    error.to_string(),
                )
                .in_chain(chain());
                (
                    slot,
                    0,
                    Some(Box::new((LogStatus::Malformed, finding))),
                    Some(read),
                )
            }
            Ok(hash) => {
                let problem = listing.authentic().find(|(_, h)| !h.matches(&hash.sha256)).map(|(record, expected)| {
                    let finding = Finding::new(
                        FindingCode::LogModified,
                        mirror::s3_url(bucket, key),
                        format!(
                            "The SHA-256 of the uncompressed log file differs from the hashValue in digest {}.",
                            lister_url(record)
                        ),
                    )
                    .at(Some(path))
                    .hashes(crate::finding::UNCOMPRESSED_SHA256, expected.to_string(), hex::encode(hash.sha256))
                    .in_chain(chain());
                    Box::new((LogStatus::Modified, finding))
                });
                (slot, hash.uncompressed_len, problem, Some(read))
            }
        }
    };
    // Every worker takes the next largest file from one shared queue, so the
    // last files to finish are the smallest and no core idles at the end.
    let next = AtomicUsize::new(0);
    let per_worker: Vec<Vec<Checked>> = rayon::broadcast(|_| {
        let mut hasher = LogHasher::new(hash_stored);
        let mut done = Vec::new();
        while let Some(&job) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) {
            done.push(check(&mut hasher, job));
        }
        done
    });
    drop(jobs);
    // Each worker's results are consumed (and freed) in turn: never two
    // copies of a million entries at once.
    results.read.reserve(per_worker.iter().map(Vec::len).sum());
    for (slot, bytes, problem, read) in per_worker.into_iter().flatten() {
        results.read.extend(read);
        let Some(outcome) = results.outcomes.get_mut(slot) else {
            continue;
        };
        outcome.uncompressed_bytes = bytes;
        if let Some(problem) = problem {
            let (status, finding) = *problem;
            outcome.status = status;
            results.findings.push(finding);
        }
    }

    find_unreferenced(
        inventory,
        range,
        &coverage,
        chains,
        &listings,
        records,
        &mut results,
    );
    results
}

fn unverified(
    bucket: &str,
    key: &str,
    path: Option<PathBuf>,
    lister: &str,
    chain: Option<String>,
) -> Finding {
    Finding::new(
        FindingCode::LogUnverified,
        mirror::s3_url(bucket, key),
        format!("Listed only by digests that could not be verified (such as {lister}), so this log file was not checked."),
    )
    .at(path)
    .in_chain(chain)
}

/// Where logs of a chain land: bucket, key prefix, organization, account, region.
type Location = (String, String, Option<String>, String, String);

/// One merged stretch of covered time and the chain it came from.
type Window = (Timestamp, Timestamp, usize);

/// The time the chains cover, per location: the union of their digests'
/// windows, and separately of the windows of authentic digests.
struct Coverage {
    all: HashMap<Location, Vec<Window>>,
    authentic: HashMap<Location, Vec<Window>>,
}

impl Coverage {
    fn new(records: &[DigestRecord], chains: &[Chain]) -> Self {
        let mut all: HashMap<Location, Vec<Window>> = HashMap::new();
        let mut authentic: HashMap<Location, Vec<Window>> = HashMap::new();
        for (c, chain) in chains.iter().enumerate() {
            for &m in &chain.members {
                let Some(record) = records.get(m) else {
                    continue;
                };
                let (Ok(digest), Some(layout)) = (&record.parsed, &record.layout) else {
                    continue;
                };
                let location = (
                    record.bucket.clone(),
                    layout.prefix.clone(),
                    layout.organization.clone(),
                    layout.account.clone(),
                    layout.region.clone(),
                );
                let window = (digest.start_time, digest.end_time, c);
                if record.is_authentic() {
                    authentic.entry(location.clone()).or_default().push(window);
                }
                all.entry(location).or_default().push(window);
            }
        }
        for list in all.values_mut().chain(authentic.values_mut()) {
            *list = merge_windows(std::mem::take(list));
        }
        Coverage { all, authentic }
    }

    /// The chain whose covered time holds the whole minute a log named
    /// `time` was delivered in (so a log at the edge of a restart or of a
    /// missing digest's hour is not accused).
    fn covering(
        &self,
        location: &Location,
        time: Timestamp,
        authentic_only: bool,
    ) -> Option<usize> {
        let map = if authentic_only {
            &self.authentic
        } else {
            &self.all
        };
        let minute_end = time
            .checked_add(SignedDuration::from_secs(60))
            .unwrap_or(time);
        let list = map.get(location)?;
        let after = list.partition_point(|(start, _, _)| *start <= time);
        let (start, end, chain) = list.get(after.checked_sub(1)?)?;
        (*start <= time && minute_end <= *end).then_some(*chain)
    }
}

/// Location and delivery time of a log file from its full key, if the key
/// has the CloudTrail layout and its name's date matches its date folders.
fn log_location(bucket: &str, key: &str) -> Option<(Location, Timestamp)> {
    let layout = mirror::parse_layout(key, "CloudTrail")?;
    let time = mirror::parse_log_time(&layout.file_name)?;
    let folders: Vec<&str> = key.rsplit('/').skip(1).take(3).collect();
    let date = time.strftime("%Y/%m/%d").to_string();
    let folder_date = format!(
        "{}/{}/{}",
        folders.get(2)?,
        folders.get(1)?,
        folders.first()?
    );
    if folder_date != date {
        return None;
    }
    let location = (
        bucket.to_owned(),
        layout.prefix,
        layout.organization,
        layout.account,
        layout.region,
    );
    Some((location, time))
}

/// Whether a key lies in the log area of a CloudTrail layout (a `CloudTrail`
/// folder below `AWSLogs`), where only log files belong.
fn in_log_area(key: &str) -> bool {
    let mut after_aws_logs = false;
    let mut parts = key.split('/').peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            break; // the file name itself
        }
        after_aws_logs |= part == "AWSLogs";
        if after_aws_logs && part == "CloudTrail" {
            return true;
        }
    }
    false
}

fn find_unreferenced(
    inventory: &Inventory,
    range: &TimeRange,
    coverage: &Coverage,
    chains: &[Chain],
    listings: &Listings<'_>,
    records: &[DigestRecord],
    results: &mut LogResults,
) {
    for file in &inventory.files {
        if !matches!(file.kind, FileKind::Log | FileKind::Other)
            || file.rel.ends_with(mirror::SIDECAR_SUFFIX)
        {
            continue;
        }
        let bucket = inventory.bucket_of(file).to_owned();
        let key = inventory.key_of(file);
        if file.kind == FileKind::Other && !in_log_area(&key) {
            continue;
        }
        let listing = listings.get(&bucket, &key);
        if listing.is_some_and(|l| l.is_vouched() || l.by_unsigned_backfill) {
            continue; // vouched for and hashed, or reported as log.unverified
        }
        let url = mirror::s3_url(&bucket, &key);
        let location = log_location(&bucket, &key);
        let delivered = location.as_ref().map(|(_, time)| *time);
        let (covering, message) = match location {
            None => (
                None,
                "This file lies where only CloudTrail log files belong, but its name is not a CloudTrail log file name for its folder (account, region and date), and no digest lists it.".to_owned(),
            ),
            Some((location, time)) => {
                if !range.admits_log(time) {
                    continue;
                }
                let by_authentic = coverage.covering(&location, time, true);
                let chain_name = |c: usize| chains.get(c).map(|c| c.key.id()).unwrap_or_default();
                match (by_authentic, listing) {
                    (Some(c), Some(l)) => (
                        Some(c),
                        format!(
                            "Only the unverified digest {} lists this log file; the authentic digests of chain {} that cover its delivery time ({time}) do not.",
                            records.get(l.first()).map(DigestRecord::url).unwrap_or_default(),
                            chain_name(c)
                        ),
                    ),
                    (Some(c), None) => (
                        Some(c),
                        format!("No digest lists this log file, although it was delivered at {time}, inside the time chain {} covers.", chain_name(c)),
                    ),
                    // Listed by an unverified digest only: reported as log.unverified.
                    (None, Some(_)) => continue,
                    (None, None) => match coverage.covering(&location, time, false) {
                        Some(c) => (
                            Some(c),
                            format!("No digest lists this log file, although it was delivered at {time}, inside the time chain {} covers.", chain_name(c)),
                        ),
                        None => {
                            results.not_covered += 1;
                            continue;
                        }
                    },
                }
            }
        };
        let chain_id = covering.and_then(|c| chains.get(c)).map(|c| c.key.id());
        results.findings.push(
            Finding::new(FindingCode::LogUnreferenced, &url, message)
                .at(Some(inventory.path_of(file)))
                .values(
                    "listed by the authentic digest covering its delivery time",
                    "listed by no authentic digest",
                )
                .in_chain(chain_id),
        );
        results.unreferenced.push(Unreferenced {
            url,
            chain: covering,
            time: delivered,
        });
    }
}

/// Sorts windows and merges overlapping or touching ones into disjoint
/// intervals (each keeps the chain of its first window).
fn merge_windows(
    mut list: Vec<(Timestamp, Timestamp, usize)>,
) -> Vec<(Timestamp, Timestamp, usize)> {
    list.sort();
    let mut merged: Vec<(Timestamp, Timestamp, usize)> = Vec::with_capacity(list.len());
    for (start, end, chain) in list {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end, chain)),
        }
    }
    merged
}
