//! Log files: every file a digest lists is re-hashed (streaming gunzip +
//! SHA-256, in parallel, largest first), and every log file in the mirror
//! that no digest lists but that lies inside a chain's covered time is
//! reported.

use crate::chain::{self, Chain, Standing};
use crate::digest::{ExpectedHash, LogFileRef};
use crate::finding::{Finding, FindingCode};
use crate::gzip::{GzipError, LogHasher, StoredHash};
use crate::layout::{Location, LogKey, Service, area_of};
use crate::mirror::{self, FileKind, Inventory};
use crate::options::TimeRange;
use crate::progress::Progress;
use crate::record::DigestRecord;
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
    /// It (or the folder it would be in) cannot be read by this user: not examined.
    Unreadable,
    /// Absent at its key, but a file with its exact content lies elsewhere.
    Moved,
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

/// A log file that no authentic digest lists: in covered time
/// (`log.unreferenced`) or in time nothing covers (`log.not_covered`).
#[derive(Debug, Clone)]
pub struct Unreferenced {
    /// `s3://` URL.
    pub url: String,
    /// Index of the chain whose time covers it (or, when none does, the
    /// chain nearest its time).
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
    /// Its size when it was opened.
    pub size: u64,
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
    /// Log files in the mirror neither listed nor inside any chain's covered
    /// time (`log.not_covered`), with the chain nearest their time.
    pub not_covered: Vec<Unreferenced>,
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

    fn first(&self) -> Option<usize> {
        self.listers.first().map(|(r, _)| *r)
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
    /// The listings of a window: for each lister record, the entries it
    /// lists there.
    fn new(records: &[DigestRecord], lists: &'a [(usize, Vec<LogFileRef>)]) -> Self {
        let mut flat: Vec<((&str, &str), usize, Option<&ExpectedHash>)> = Vec::new();
        let unsigned_backfill = |index: usize| {
            records
                .get(index)
                .is_some_and(|r| r.is_backfill() && Standing::of(r) == Standing::Unproven)
        };
        for (index, files) in lists {
            let index = *index;
            let authentic = records.get(index).is_some_and(DigestRecord::is_authentic);
            for log in files {
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
            let backfill = unsigned_backfill(index);
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

/// What a window's log files are checked against: the digests, their
/// chains and the time those cover.
pub struct LogContext<'a> {
    /// Every digest record of the run.
    pub records: &'a [DigestRecord],
    /// The chains (in range).
    pub chains: &'a [Chain],
    /// Which chain each record is in.
    pub membership: &'a chain::Membership<'a>,
    /// The time the chains cover.
    pub coverage: &'a Coverage,
    /// The run's time range.
    pub range: &'a TimeRange,
    /// Whether to hash the stored bytes for the manifest.
    pub hash_stored: bool,
}

/// Checks every log file a window's digests list (`lists`: per record,
/// its entries in the window) against the window's files (`inventory`),
/// and looks for files no digest lists.
#[must_use]
pub fn verify_logs(
    context: &LogContext<'_>,
    inventory: &Inventory,
    lists: &[(usize, Vec<LogFileRef>)],
    progress: &dyn Progress,
) -> LogResults {
    let LogContext {
        records,
        chains,
        membership,
        coverage,
        range,
        hash_stored,
    } = *context;
    let chain_id = |record: Option<usize>| record.and_then(|r| membership.id(r));
    let lister_url = |record: Option<usize>| {
        record
            .and_then(|r| records.get(r))
            .map(DigestRecord::url)
            .unwrap_or_default()
    };
    let listings = Listings::new(records, lists);
    let mut results = LogResults::default();
    // (slot, inventory file, compressed size)
    let mut jobs: Vec<(usize, usize, u64)> = Vec::new();
    // (slot, index of its log.missing finding)
    let mut missing: Vec<(usize, usize)> = Vec::new();
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
            Err(Some(path)) if inventory.unreadable_ancestor(&path).is_some() => {
                // Its folder could not be listed (reported as mirror.unreadable).
                outcome.status = LogStatus::Unreadable;
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
                missing.push((slot, results.findings.len()));
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
    // Each worker compares the hash itself and returns only what is needed:
    // the byte count, and a finding when something is wrong.
    let check = |hasher: &mut LogHasher, (slot, index, _): (usize, usize, u64)| {
        let file = inventory.files.get(index);
        let path = || file.map(|f| inventory.path_of(f)).unwrap_or_default();
        let (result, stored, size) =
            crate::error::contain_panic(|| match file.map(|f| inventory.open_file(f)) {
                Some(Ok((f, size))) => {
                    let hashed = hasher.hash_file(f, size);
                    (hashed.content, hashed.stored, size)
                }
                Some(Err(e)) => (Err(GzipError::Io(e)), None, 0),
                None => (Err(GzipError::Internal("no such file".to_owned())), None, 0),
            })
            .unwrap_or_else(|panic| (Err(GzipError::Internal(panic)), None, 0));
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
            size,
        };
        let chain = || chain_id(listing.authentic().next().map(|(r, _)| r));
        match result {
            Err(GzipError::Io(error)) => {
                let finding = Finding::new(
                    FindingCode::MirrorUnreadable,
                    mirror::s3_url(bucket, key),
                    format!(
                        "The log file cannot be read by this user ({error}); it was not examined."
                    ),
                )
                .at(Some(path()))
                .in_chain(chain());
                (
                    slot,
                    0,
                    Some(Box::new((LogStatus::Unreadable, finding))),
                    None,
                )
            }
            Err(error) => {
                let finding = Finding::new(
                    FindingCode::LogMalformed,
                    mirror::s3_url(bucket, key),
                    format!("The log file is not one complete, valid gzip stream: {error}."),
                )
                .at(Some(path()))
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
                            lister_url(Some(record))
                        ),
                    )
                    .at(Some(path()))
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

    let unlisted = find_unreferenced(
        inventory,
        range,
        coverage,
        chains,
        &listings,
        records,
        &mut results,
    );
    match_moved(
        inventory,
        &listings,
        &mut results,
        &missing,
        unlisted,
        hash_stored,
    );
    results
}

/// One event, one finding: a listed log file that is missing at its key
/// while a file no digest lists has exactly its content (the SHA-256 of
/// the uncompressed content the digest recorded) was moved. The two
/// findings become one `log.moved`, from where to where.
fn match_moved(
    inventory: &Inventory,
    listings: &Listings<'_>,
    results: &mut LogResults,
    missing: &[(usize, usize)],
    unlisted: Vec<Unlisted>,
    hash_stored: bool,
) {
    let hashed = hash_unlisted(inventory, unlisted, hash_stored, !missing.is_empty());
    for (candidate, _, stored) in &hashed {
        // Every file the run reads is in the evidence manifest.
        let size = stored.map_or_else(
            || {
                inventory.files.get(candidate.file).map_or(0, |f| {
                    std::fs::symlink_metadata(inventory.path_of(f)).map_or(f.size, |m| m.len())
                })
            },
            |s| s.len,
        );
        results.read.push(ReadLog {
            file: u32::try_from(candidate.file).unwrap_or(u32::MAX),
            listed_by: None,
            stored: *stored,
            size,
        });
    }
    let mut wanted: HashMap<[u8; 32], Vec<(usize, usize)>> = HashMap::new();
    for &(slot, finding) in missing {
        let Some((_, listing)) = listings.entries.get(slot) else {
            continue;
        };
        if let Some((_, ExpectedHash::Sha256(hash))) = listing.authentic().next() {
            wanted.entry(*hash).or_default().push((slot, finding));
        }
    }
    let mut replaced: HashMap<usize, usize> = HashMap::new();
    for (candidate, content, _) in hashed {
        let Some(found) = content.and_then(|h| wanted.get_mut(&h)).and_then(Vec::pop) else {
            continue;
        };
        let (slot, missing_finding) = found;
        replaced.insert(missing_finding, candidate.finding);
        if let Some(outcome) = results.outcomes.get_mut(slot) {
            outcome.status = LogStatus::Moved;
        }
    }
    if replaced.is_empty() {
        return;
    }
    let moved_away: std::collections::HashSet<usize> = replaced.values().copied().collect();
    let mut found_at: HashMap<usize, (String, Option<PathBuf>)> = HashMap::new();
    for (&missing_finding, &candidate_finding) in &replaced {
        if let Some(f) = results.findings.get(candidate_finding) {
            found_at.insert(missing_finding, (f.object.clone(), f.path.clone()));
        }
    }
    let moved_urls: std::collections::HashSet<String> =
        found_at.values().map(|(url, _)| url.clone()).collect();
    let findings = std::mem::take(&mut results.findings);
    for (index, finding) in findings.into_iter().enumerate() {
        if moved_away.contains(&index) {
            continue;
        }
        match found_at.remove(&index) {
            Some((url, path)) => results.findings.push(moved(finding, &url, path)),
            None => results.findings.push(finding),
        }
    }
    results
        .unreferenced
        .retain(|u| !moved_urls.contains(&u.url));
}

/// Reads every unlisted file once (in parallel) for the manifest (the
/// SHA-256 of its stored bytes, unless `hash_stored` is off) and, when some
/// listed log file is missing (`inflate`), the SHA-256 of its uncompressed
/// content when it is one valid gzip member.
fn hash_unlisted(
    inventory: &Inventory,
    unlisted: Vec<Unlisted>,
    hash_stored: bool,
    inflate: bool,
) -> Vec<(Unlisted, Option<[u8; 32]>, Option<StoredHash>)> {
    use rayon::prelude::*;
    if !hash_stored && !inflate {
        return unlisted.into_iter().map(|u| (u, None, None)).collect();
    }
    unlisted
        .into_par_iter()
        .map_init(
            || LogHasher::new(hash_stored),
            |hasher, candidate| {
                let (content, stored) = inventory
                    .files
                    .get(candidate.file)
                    .and_then(|f| {
                        let (file, size) = inventory.open_file(f).ok()?;
                        if !inflate {
                            return Some((None, StoredHash::of_reader(file).ok()));
                        }
                        let hashed =
                            crate::error::contain_panic(|| hasher.hash_file(file, size)).ok()?;
                        Some((hashed.content.ok().map(|h| h.sha256), hashed.stored))
                    })
                    .unwrap_or((None, None));
                (candidate, content, stored)
            },
        )
        .collect()
}

/// The `log.moved` finding that replaces a `log.missing` one.
fn moved(missing: Finding, found_url: &str, found_path: Option<PathBuf>) -> Finding {
    let hash = missing.expected.clone().unwrap_or_default();
    Finding::new(
        FindingCode::LogMoved,
        &missing.object,
        format!(
            "This log file is not at its key, but a file with exactly its content (the SHA-256 of the uncompressed content its digest recorded, {hash}) lies at {found_url}: it was moved or renamed.",
        ),
    )
    .at(found_path)
    .values(missing.object.clone(), found_url)
    .in_chain(missing.chain)
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

/// One merged stretch of covered time and the chain it came from.
type Window = (Timestamp, Timestamp, usize);

/// The time the chains cover, per location: the union of their digests'
/// windows, and separately of the windows of authentic digests.
pub struct Coverage {
    all: HashMap<Location, Vec<Window>>,
    authentic: HashMap<Location, Vec<Window>>,
    /// Windows of digests whose listing was dropped (memory budget): files
    /// delivered then are not judged, since what the digest lists is unknown.
    blind: HashMap<Location, Vec<Window>>,
}

impl Coverage {
    /// The coverage of `chains`.
    #[must_use]
    pub fn new(records: &[DigestRecord], chains: &[Chain]) -> Self {
        let mut all: HashMap<Location, Vec<Window>> = HashMap::new();
        let mut authentic: HashMap<Location, Vec<Window>> = HashMap::new();
        let mut blind: HashMap<Location, Vec<Window>> = HashMap::new();
        // A backfill digest vouches only for the late files it lists, never
        // that its hour holds no other file: its window covers nothing.
        for (c, chain) in chains.iter().enumerate().filter(|(_, c)| !c.key.backfill) {
            for &m in &chain.members {
                let Some(record) = records.get(m) else {
                    continue;
                };
                let (Ok(digest), Some(layout)) = (&record.parsed, &record.layout) else {
                    continue;
                };
                let location = Location::of(&record.bucket, layout);
                let window = (digest.start_time, digest.end_time, c);
                if record.is_authentic() {
                    authentic.entry(location.clone()).or_default().push(window);
                }
                if record.dropped_listing.is_some() {
                    blind.entry(location.clone()).or_default().push(window);
                }
                all.entry(location).or_default().push(window);
            }
        }
        for list in all
            .values_mut()
            .chain(authentic.values_mut())
            .chain(blind.values_mut())
        {
            *list = merge_windows(std::mem::take(list));
        }
        Coverage {
            all,
            authentic,
            blind,
        }
    }

    /// Whether a file delivered at `time` lies in the time of a digest whose
    /// listing was not kept.
    fn is_blind(&self, location: &Location, time: Timestamp) -> bool {
        self.blind.get(location).is_some_and(|list| {
            let after = list.partition_point(|(start, _, _)| *start <= time);
            after
                .checked_sub(1)
                .and_then(|i| list.get(i))
                .is_some_and(|(start, end, _)| *start <= time && time <= *end)
        })
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

impl Coverage {
    /// The chain of the covered stretch nearest before `time` at a location
    /// (else the first after it): the chain a file delivered in a hole of
    /// its coverage belongs to.
    fn nearest(&self, location: &Location, time: Timestamp) -> Option<usize> {
        let list = self.all.get(location)?;
        let after = list.partition_point(|(start, _, _)| *start <= time);
        after
            .checked_sub(1)
            .and_then(|i| list.get(i))
            .or_else(|| list.get(after))
            .map(|(_, _, chain)| *chain)
    }
}

/// Location and delivery time of a log file from its full key, if the key
/// has the CloudTrail layout and its name's date matches its date folders.
fn log_location(bucket: &str, key: &str) -> Option<(Location, Timestamp)> {
    let log = LogKey::parse(key)?;
    Some((Location::of(bucket, &log.layout), log.delivered))
}

/// A file of the mirror that no trusted digest lists, with the finding
/// made about it (an index into [`LogResults::findings`]): a candidate for
/// the content of a missing listed log file that was moved.
struct Unlisted {
    file: usize,
    finding: usize,
}

/// What a file no trusted digest lists is: `log.unreferenced` inside the
/// time authentic digests (or any digest) cover, `log.not_covered` outside
/// it, `mirror.stray_file` when it is not a CloudTrail object at all.
fn find_unreferenced(
    inventory: &Inventory,
    range: &TimeRange,
    coverage: &Coverage,
    chains: &[Chain],
    listings: &Listings<'_>,
    records: &[DigestRecord],
    results: &mut LogResults,
) -> Vec<Unlisted> {
    let mut unlisted = Vec::new();
    for (index, file) in inventory.files.iter().enumerate() {
        if !matches!(file.kind, FileKind::Log | FileKind::Other) {
            continue;
        }
        let bucket = inventory.bucket_of(file).to_owned();
        let key = inventory.key_of(file);
        let Some(area) = area_of(&key) else { continue };
        if area == Service::Digests && is_digest_sidecar(&key) {
            continue; // read with its digest (or reported as its digest's leftover)
        }
        let listing = listings.get(&bucket, &key);
        if listing.is_some_and(|l| l.is_vouched() || l.by_unsigned_backfill) {
            continue; // vouched for and hashed, or reported as log.unverified
        }
        let url = mirror::s3_url(&bucket, &key);
        let name = key.rsplit('/').next().unwrap_or_default();
        let path = inventory.path_of(file);
        if mirror::parse_log_time(name).is_none() {
            if area == Service::Digests && name.ends_with(".json.gz") {
                continue; // read as a digest
            }
            unlisted.push(Unlisted {
                file: index,
                finding: results.findings.len(),
            });
            results.findings.push(
                Finding::new(
                    FindingCode::MirrorStrayFile,
                    &url,
                    format!(
                        "This file lies in a CloudTrail {} folder, but its name is not the name of a CloudTrail {}; no digest lists it.",
                        if area == Service::Logs { "log" } else { "digest" },
                        if area == Service::Logs { "log file" } else { "digest or its metadata" },
                    ),
                )
                .at(Some(path)),
            );
            continue;
        }
        let Some(judged) = judge_unlisted(&bucket, &key, range, coverage, chains, listing, records)
        else {
            continue;
        };
        unlisted.push(Unlisted {
            file: index,
            finding: results.findings.len(),
        });
        let chain_id = judged.chain.and_then(|c| chains.get(c)).map(|c| c.key.id());
        let entry = Unreferenced {
            url: url.clone(),
            chain: judged.chain,
            time: judged.delivered,
        };
        match judged.code {
            FindingCode::LogNotCovered => results.not_covered.push(entry),
            _ => results.unreferenced.push(entry),
        }
        let mut finding = Finding::new(judged.code, &url, judged.message)
            .at(Some(path))
            .in_chain(chain_id);
        if judged.code == FindingCode::LogUnreferenced {
            finding = finding.values(
                "listed by the authentic digest covering its delivery time",
                "listed by no authentic digest",
            );
        }
        results.findings.push(finding);
    }
    unlisted
}

/// Whether a key is a digest's metadata sidecar: `<digest key>.metadata.json`.
fn is_digest_sidecar(key: &str) -> bool {
    key.strip_suffix(mirror::SIDECAR_SUFFIX)
        .and_then(|digest| digest.rsplit('/').next())
        .and_then(mirror::digest_file_time)
        .is_some()
}

/// The judgement about one unlisted file with a log file's name.
struct Judged {
    code: FindingCode,
    message: String,
    chain: Option<usize>,
    delivered: Option<Timestamp>,
}

fn judge_unlisted(
    bucket: &str,
    key: &str,
    range: &TimeRange,
    coverage: &Coverage,
    chains: &[Chain],
    listing: Option<&Listing<'_>>,
    records: &[DigestRecord],
) -> Option<Judged> {
    let chain_name = |c: usize| chains.get(c).map(|c| c.key.id()).unwrap_or_default();
    let Some((location, time)) = log_location(bucket, key) else {
        return Some(Judged {
            code: FindingCode::LogUnreferenced,
            message: "This file has a CloudTrail log file's name, but it lies in the wrong folder for it (account, region or date), and no digest lists it.".to_owned(),
            chain: None,
            delivered: None,
        });
    };
    if !range.admits_log(time) || coverage.is_blind(&location, time) {
        return None;
    }
    let (code, chain, message) = match (coverage.covering(&location, time, true), listing) {
        (Some(c), Some(l)) => (
            FindingCode::LogUnreferenced,
            Some(c),
            format!(
                "Only the unverified digest {} lists this log file; the authentic digests of chain {} that cover its delivery time ({time}) do not.",
                records
                    .get(l.first()?)
                    .map(DigestRecord::url)
                    .unwrap_or_default(),
                chain_name(c)
            ),
        ),
        (Some(c), None) => (
            FindingCode::LogUnreferenced,
            Some(c),
            format!(
                "No digest lists this log file, although it was delivered at {time}, inside the time chain {} covers.",
                chain_name(c)
            ),
        ),
        // Listed by an unverified digest only: reported as log.unverified.
        (None, Some(_)) => return None,
        (None, None) => match coverage.covering(&location, time, false) {
            Some(c) => (
                FindingCode::LogUnreferenced,
                Some(c),
                format!(
                    "No digest lists this log file, although it was delivered at {time}, inside the time chain {} covers.",
                    chain_name(c)
                ),
            ),
            None => (
                FindingCode::LogNotCovered,
                coverage.nearest(&location, time),
                format!(
                    "No digest lists this log file, and no digest in the mirror covers its delivery time ({time}): the digest of that hour is missing, or log file validation was off. It cannot be verified."
                ),
            ),
        },
    };
    Some(Judged {
        code,
        message,
        chain,
        delivered: Some(time),
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_merge_when_they_touch() {
        let t = |h: i64| Timestamp::from_second(h * 3600).unwrap();
        let merged = merge_windows(vec![(t(2), t(3), 1), (t(0), t(1), 0), (t(1), t(2), 0)]);
        assert_eq!(merged, vec![(t(0), t(3), 0)]);
        let apart = merge_windows(vec![(t(0), t(1), 0), (t(2), t(3), 0)]);
        assert_eq!(apart.len(), 2);
    }
}
