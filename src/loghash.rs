//! Log files: every file a digest lists is re-hashed (streaming gunzip +
//! SHA-256, in parallel, largest first), and every log file in the mirror
//! that no digest lists but that lies inside a chain's covered time is
//! reported.

use crate::chain::{self, Chain, Standing};
use crate::digest::{ExpectedHash, LogFileRef};
use crate::finding::{Finding, FindingCode, Locus};
use crate::gzip::{GzipError, LogHasher, StoredHash};
use crate::layout::{Location, LogKey, Service, area_of};
use crate::mirror::{self, FileKind, Inventory, MirrorFile};
use crate::options::TimeRange;
use crate::progress::{Progress, Proved};
use crate::record::DigestRecord;
use jiff::{SignedDuration, Timestamp};
use std::collections::HashMap;
use std::path::PathBuf;

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
    /// Present, and listed only by digests an earlier audit's checkpoint
    /// vouches for (`--incremental`): not hashed again.
    Trusted,
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
    /// The listings of a partition: for each lister record, the entries it
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

/// What a partition's log files are checked against: the digests, their
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
    /// The chains, accounts and regions the run examines.
    pub selection: &'a crate::selection::Selection,
    /// Whether to hash the stored bytes for the manifest.
    pub hash_stored: bool,
}

/// Checks every log file a partition's digests list (`lists`: per record,
/// its entries in the partition) against the partition's files (`inventory`),
/// and looks for files no digest lists.
#[must_use]
pub fn verify_logs(
    context: &LogContext<'_>,
    inventory: &Inventory,
    lists: &[(usize, Vec<LogFileRef>)],
    progress: &dyn Progress,
) -> LogResults {
    let listings = Listings::new(context.records, lists);
    let mut checker = Checker {
        context,
        inventory,
        listings: &listings,
        results: LogResults::default(),
        jobs: Vec::new(),
        missing: Vec::new(),
    };
    for slot in 0..listings.entries.len() {
        let outcome = checker.classify(slot);
        checker.results.outcomes.push(outcome);
    }
    checker.hash(progress);
    if progress.wants_proved() {
        let outcomes = checker.results.outcomes.iter();
        for (((bucket, key), _), outcome) in listings.entries.iter().zip(outcomes) {
            if outcome.status == LogStatus::Valid {
                progress.proved(Proved::Log, &mirror::s3_url(bucket, key));
            }
        }
    }
    let Checker {
        mut results,
        missing,
        ..
    } = checker;
    let unlisted = find_unreferenced(context, inventory, &listings, &mut results);
    match_moved(
        inventory,
        &listings,
        &mut results,
        &missing,
        unlisted,
        context.hash_stored,
    );
    results
}

/// One partition's listed log files being checked.
struct Checker<'c, 'l> {
    context: &'c LogContext<'c>,
    inventory: &'c Inventory,
    listings: &'c Listings<'l>,
    results: LogResults,
    /// `(slot, inventory file)` of each file to hash.
    jobs: Vec<(usize, usize)>,
    /// `(slot, index of its log.missing finding)`.
    missing: Vec<(usize, usize)>,
}

impl Checker<'_, '_> {
    fn chain_id(&self, record: Option<usize>) -> Option<String> {
        record.and_then(|r| self.context.membership.id(r))
    }

    fn lister_url(&self, record: Option<usize>) -> String {
        record
            .and_then(|r| self.context.records.get(r))
            .map(DigestRecord::url)
            .unwrap_or_default()
    }

    /// A finding about the listed file in `slot`.
    fn finding(
        &self,
        slot: usize,
        code: FindingCode,
        message: String,
        path: Option<PathBuf>,
    ) -> Finding {
        let ((bucket, key), listing) = self.entry(slot);
        Finding::new(code, mirror::s3_url(bucket, key), message)
            .at(path)
            .in_chain(self.chain_id(listing.first()))
    }

    fn entry(&self, slot: usize) -> ((&str, &str), &Listing<'_>) {
        static NONE: Listing<'static> = Listing {
            listers: Vec::new(),
            by_unsigned_backfill: false,
        };
        self.listings
            .entries
            .get(slot)
            .map_or((("", ""), &NONE), |(k, l)| (*k, l))
    }

    /// What one listed file is, short of hashing it (queued then).
    fn classify(&mut self, slot: usize) -> LogOutcome {
        let ((bucket, key), listing) = self.entry(slot);
        let listed_by: Box<[u32]> = listing
            .listers
            .iter()
            .map(|(r, _)| u32::try_from(*r).unwrap_or(u32::MAX))
            .collect();
        let status = if mirror::is_safe_key(key) {
            match self.inventory.resolve(bucket, key) {
                Ok(file) => self.present(slot, file),
                Err(path) => self.absent(slot, path),
            }
        } else {
            let message = format!(
                "The digest {} lists a log file whose key {key:?} is not a safe relative path (absolute, `..`, `.`, empty segment, NUL or backslash); it was not opened.",
                self.lister_url(listing.first())
            );
            let finding = self.finding(slot, FindingCode::LogUnsafePath, message, None);
            self.results.findings.push(finding);
            LogStatus::UnsafePath
        };
        LogOutcome {
            status,
            listed_by,
            uncompressed_bytes: 0,
        }
    }

    /// A listed file the partition holds.
    fn present(&mut self, slot: usize, file: &MirrorFile) -> LogStatus {
        let ((bucket, key), listing) = self.entry(slot);
        let path = || Some(self.inventory.path_of(file));
        if !listing.is_vouched() {
            // Listed only by unverified digests, inside the time authentic
            // digests cover: they do not list it, so it is unreferenced
            // (reported with the other unreferenced files).
            let covered = log_location(bucket, key)
                .is_some_and(|(loc, t)| self.context.coverage.covering(&loc, t, true).is_some());
            if !listing.by_unsigned_backfill && file.kind != FileKind::NotRegular && covered {
                return LogStatus::Unreferenced;
            }
            let finding = self.unverified(slot, path());
            self.results.findings.push(finding);
            return LogStatus::Unverified;
        }
        if file.kind == FileKind::NotRegular {
            let message = "The listed log file is a symbolic link or special file; links are never followed, so it was not opened.".to_owned();
            let finding = self.finding(slot, FindingCode::LogUnsafePath, message, path());
            self.results.findings.push(finding);
            return LogStatus::UnsafePath;
        }
        let records = self.context.records;
        if listing
            .authentic()
            .all(|(r, _)| records.get(r).is_some_and(|d| d.trusted))
        {
            return LogStatus::Trusted;
        }
        self.jobs.push((slot, self.inventory.index_of(file)));
        LogStatus::Valid
    }

    /// A listed file the partition does not hold (`path`: where it would be).
    fn absent(&mut self, slot: usize, path: Option<PathBuf>) -> LogStatus {
        let ((bucket, key), listing) = self.entry(slot);
        if !listing.is_vouched() {
            let finding = self.unverified(slot, path);
            self.results.findings.push(finding);
            return LogStatus::Unverified;
        }
        if let Some(link) = self.inventory.linked_ancestor_of(bucket, key) {
            let link = self.inventory.path_of(link);
            let message = format!(
                "The listed log file lies under {}, a symbolic link or special file; links are never followed, so it was not opened.",
                link.display()
            );
            let finding = self.finding(slot, FindingCode::LogUnsafePath, message, Some(link));
            self.results.findings.push(finding);
            return LogStatus::UnsafePath;
        }
        if path
            .as_deref()
            .is_some_and(|p| self.inventory.unreadable_ancestor(p).is_some())
        {
            // Its folder could not be listed (reported as mirror.unreadable).
            return LogStatus::Unreadable;
        }
        let mut message = format!(
            "The digest {} lists this log file, but the mirror does not have it",
            self.lister_url(listing.first())
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
        let finding = self
            .finding(slot, FindingCode::LogMissing, message, path)
            .hashes(crate::finding::UNCOMPRESSED_SHA256, expected, "no file");
        self.missing.push((slot, self.results.findings.len()));
        self.results.findings.push(finding);
        LogStatus::Missing
    }

    fn unverified(&self, slot: usize, path: Option<PathBuf>) -> Finding {
        let ((bucket, key), listing) = self.entry(slot);
        unverified(
            bucket,
            key,
            path,
            &self.lister_url(listing.first()),
            self.chain_id(listing.first()),
        )
    }

    /// Hashes every queued file on every core; each worker compares the
    /// hash itself and returns only the byte count and any finding.
    fn hash(&mut self, progress: &dyn Progress) {
        use rayon::prelude::*;
        let checked: Vec<Checked> = self
            .jobs
            .par_iter()
            .map(|&(slot, index)| {
                with_hasher(self.context.hash_stored, |hasher| {
                    self.check(hasher, slot, index, progress)
                })
            })
            .collect();
        self.results.read.reserve(checked.len());
        for (slot, bytes, problem, read) in checked {
            self.results.read.extend(read);
            let Some(outcome) = self.results.outcomes.get_mut(slot) else {
                continue;
            };
            outcome.uncompressed_bytes = bytes;
            if let Some(problem) = problem {
                let (status, finding) = *problem;
                outcome.status = status;
                self.results.findings.push(finding);
            }
        }
    }

    /// Reads and hashes one listed file.
    fn check(
        &self,
        hasher: &mut LogHasher,
        slot: usize,
        index: usize,
        progress: &dyn Progress,
    ) -> Checked {
        let file = self.inventory.files.get(index);
        let (result, stored, size) =
            crate::error::contain_panic(|| match file.map(|f| self.inventory.open_file(f)) {
                Some(Ok((f, size))) => {
                    let hashed = hasher.hash_file(f, size);
                    (hashed.content, hashed.stored, size)
                }
                Some(Err(e)) => (Err(GzipError::Io(e)), None, 0),
                None => (Err(GzipError::Internal("no such file".to_owned())), None, 0),
            })
            .unwrap_or_else(|panic| (Err(GzipError::Internal(panic)), None, 0));
        progress.advance(size);
        let (_, listing) = self.entry(slot);
        let first_authentic = listing.authentic().next().map(|(r, _)| r);
        let read = ReadLog {
            file: u32::try_from(index).unwrap_or(u32::MAX),
            listed_by: first_authentic.and_then(|r| u32::try_from(r).ok()),
            stored,
            size,
        };
        let path = || file.map(|f| self.inventory.path_of(f));
        let problem = |status, finding: Finding| {
            Some(Box::new((
                status,
                finding.in_chain(self.chain_id(first_authentic)),
            )))
        };
        match result {
            Err(GzipError::Io(error)) => {
                let message = format!(
                    "The log file cannot be read by this user ({error}); it was not examined."
                );
                let finding = self.finding(slot, FindingCode::MirrorUnreadable, message, path());
                (slot, 0, problem(LogStatus::Unreadable, finding), None)
            }
            Err(error) => {
                let message =
                    format!("The log file is not one complete, valid gzip stream: {error}.");
                let finding = self
                    .finding(slot, FindingCode::LogMalformed, message, path())
                    .values(
                        "one complete gzip stream ending at the end of the file",
                        error.to_string(),
                    );
                (slot, 0, problem(LogStatus::Malformed, finding), Some(read))
            }
            Ok(hash) => {
                let mismatch = listing.authentic().find(|(_, h)| !h.matches(&hash.sha256));
                let found = mismatch.and_then(|(record, expected)| {
                    let message = format!(
                        "The SHA-256 of the uncompressed log file differs from the hashValue in digest {}.",
                        self.lister_url(Some(record))
                    );
                    let mut finding = self
                        .finding(slot, FindingCode::LogModified, message, path())
                        .hashes(crate::finding::UNCOMPRESSED_SHA256, expected.to_string(), hex::encode(hash.sha256));
                    if let Some(lister) = self.context.records.get(record) {
                        let ((_, key), _) = self.entry(slot);
                        finding = finding.locus(Locus::LogEntry {
                            digest: lister.path.clone(),
                            key: key.to_owned(),
                        });
                    }
                    problem(LogStatus::Modified, finding)
                });
                (slot, hash.uncompressed_len, found, Some(read))
            }
        }
    }
}

/// Runs `work` with this thread's log hasher (its buffers are kept from
/// one file to the next, and from one partition to the next).
fn with_hasher<T>(hash_stored: bool, work: impl FnOnce(&mut LogHasher) -> T) -> T {
    thread_local! {
        static HASHER: std::cell::RefCell<Option<LogHasher>> = const { std::cell::RefCell::new(None) };
    }
    HASHER.with(|cell| match cell.try_borrow_mut() {
        Ok(mut slot) => {
            if slot
                .as_ref()
                .is_none_or(|h| h.hashes_stored() != hash_stored)
            {
                *slot = Some(LogHasher::new(hash_stored));
            }
            match slot.as_mut() {
                Some(hasher) => work(hasher),
                None => work(&mut LogHasher::new(hash_stored)),
            }
        }
        // Re-entered (a nested job on this thread): a hasher of its own.
        Err(_) => work(&mut LogHasher::new(hash_stored)),
    })
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
        // A file delivered in the window of an authentic digest of a chain
        // the run does not examine may be that trail's: it is not judged.
        for record in records.iter().filter(|r| r.deselected && r.is_authentic()) {
            if let (Ok(digest), Some(layout)) = (&record.parsed, &record.layout) {
                let location = Location::of(&record.bucket, layout);
                let window = (digest.start_time, digest.end_time, usize::MAX);
                blind.entry(location).or_default().push(window);
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
    context: &LogContext<'_>,
    inventory: &Inventory,
    listings: &Listings<'_>,
    results: &mut LogResults,
) -> Vec<Unlisted> {
    let LogContext {
        records,
        chains,
        coverage,
        range,
        selection,
        ..
    } = *context;
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
        if !selection.admits_key(&key) {
            continue; // another account's or region's file: outside the selection
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
            results.findings.push(stray_file(&url, area).at(Some(path)));
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

/// `mirror.stray_file`: a file in a CloudTrail folder of `area` whose name
/// is no CloudTrail object's.
fn stray_file(url: &str, area: Service) -> Finding {
    let (folder, object) = if area == Service::Logs {
        ("log", "log file")
    } else {
        ("digest", "digest or its metadata")
    };
    Finding::new(
        FindingCode::MirrorStrayFile,
        url,
        format!(
            "This file lies in a CloudTrail {folder} folder, but its name is not the name of a CloudTrail {object}; no digest lists it."
        ),
    )
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
