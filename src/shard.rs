//! Shard plans: one audit split into pieces that a batch engine (Slurm,
//! Kubernetes, AWS Batch) runs in parallel.
//!
//! [`Plan::make`] assigns every place (account × delivering region) to one of
//! N shards, balanced by bytes, and lists per shard the S3 prefixes it needs.
//! A place too large for one shard is cut into windows of whole days (of its
//! log folders), each a place of its own in the plan; the shard holding a
//! place's first window also judges its digests and chains.
//! `verify --plan --shard K` then runs with the [`ShardScope`] of shard K:
//! the digests of every place are still read as evidence (they may link to or
//! list what lies in another place), but only shard K's places' log files
//! are read, and only findings about objects in its places (and, for shard 0,
//! objects in no place) are reported. The scopes of a plan's shards divide
//! the objects of the archive between them: every finding of a single run is
//! a finding of exactly one shard.

use crate::layout::{Location, Service, parse_layout, s3_url};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The `format` of a plan file.
pub const FORMAT: &str = "trailproof-plan/1";

/// Most shards a plan may have (`plan --shards`).
pub const MAX_SHARDS: usize = 100_000;

/// Largest plan file read (a plan lists places, not files).
const MAX_PLAN_BYTES: u64 = 256 << 20;

/// A shard plan: written by `trailproof plan`, read by `verify --plan`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Always [`FORMAT`].
    pub format: String,
    /// The tool that planned (`trailproof 0.1.0`).
    pub tool: String,
    /// When the plan was made.
    pub created_at: Timestamp,
    /// Where the sizes came from (mirror folders or collection listings).
    pub sources: Vec<Source>,
    /// Bytes and files of the whole archive.
    pub total: Load,
    /// The shards, indexed from 0.
    pub shards: Vec<Shard>,
    /// Every digest folder (`s3://…/CloudTrail-Digest/REGION/`): every shard
    /// needs them all, as the digests of one place may list or link to what
    /// lies in another.
    pub digest_prefixes: Vec<String>,
}

/// One input of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// `mirror` (a folder walked) or `listing` (a `collect` listing read).
    pub kind: String,
    /// The path as given.
    pub path: String,
    /// The bucket, when known.
    pub bucket: Option<String>,
    /// The key prefix of the source in its bucket.
    pub prefix: String,
}

/// Bytes and files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Load {
    /// Stored bytes.
    pub bytes: u64,
    /// Files.
    pub files: u64,
}

impl Load {
    fn add(&mut self, bytes: u64) {
        self.bytes = self.bytes.saturating_add(bytes);
        self.files = self.files.saturating_add(1);
    }

    fn add_load(&mut self, other: Load) {
        self.bytes = self.bytes.saturating_add(other.bytes);
        self.files = self.files.saturating_add(other.files);
    }
}

/// One shard of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shard {
    /// Its index (0-based: Slurm `--array=0-(N-1)`, Kubernetes
    /// `JOB_COMPLETION_INDEX`, AWS Batch `AWS_BATCH_JOB_ARRAY_INDEX`).
    pub index: usize,
    /// Bytes and files of its places (and, for shard 0, of what lies in no place).
    pub load: Load,
    /// Whether it also judges what lies in no place (shard 0 only).
    pub outside: bool,
    /// Its places, largest first.
    pub places: Vec<Place>,
    /// What a node running it fetches: its places' log folders, then every
    /// digest folder (`s3://bucket/prefix/`, ending with `/`; a key prefix
    /// alone when the source's bucket is not known).
    pub prefixes: Vec<String>,
}

/// One place: the files of one account folder and delivering region, or
/// a window of its days when the place is cut between shards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Place {
    /// Account id folder (a member account for an organization trail).
    pub account: String,
    /// Delivering region.
    pub region: String,
    /// The window's first day (UTC, of the log folders); none: from the
    /// place's first. The shard holding the window without one also judges
    /// the place's digests and chains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Date>,
    /// The day after the window's last; none: up to the place's last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Date>,
    /// Its bytes and files (logs, and digests for the first window).
    pub load: Load,
}

impl Place {
    /// `account/region`, and its window when it has one
    /// (`111122223333/us-east-1 from 2026-03-02 until 2026-03-05`).
    #[must_use]
    pub fn label(&self) -> String {
        let mut label = format!("{}/{}", self.account, self.region);
        if let Some(from) = self.from {
            label.push_str(&format!(" from {from}"));
        }
        if let Some(until) = self.until {
            label.push_str(&format!(" until {until}"));
        }
        label
    }
}

/// Why a plan could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A source or the plan file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file is not what it should be.
    #[error("{}: {what}", path.display())]
    Invalid {
        /// The path.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// The shard index is outside the plan.
    #[error(
        "shard {index} is not in the plan (it has shards 0 to {}): give --shard, or start the array job at index 0",
        shards.saturating_sub(1)
    )]
    NoSuchShard {
        /// The index asked for.
        index: usize,
        /// How many shards the plan has.
        shards: usize,
    },
    /// No shard index was given and no engine's index variable is set.
    #[error(
        "no shard given: pass --shard K, or run under an engine that sets SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX or AWS_BATCH_JOB_ARRAY_INDEX"
    )]
    NoShardIndex,
}

/// The files of an archive, by place, as a plan needs them.
#[derive(Debug, Default)]
pub struct Sizes {
    sources: Vec<Source>,
    places: BTreeMap<(String, String), PlaceSizes>,
    outside: Load,
    digest_prefixes: BTreeSet<String>,
}

#[derive(Debug, Default)]
struct PlaceSizes {
    /// Every file of the place.
    load: Load,
    /// Its log files by day folder.
    days: BTreeMap<Date, Load>,
    /// Its log folders (`…/CloudTrail/REGION/`).
    log_prefixes: BTreeSet<String>,
}

impl Sizes {
    /// Counts one object of `bucket` (`None`: a folder whose bucket is unknown).
    pub fn add(&mut self, bucket: Option<&str>, key: &str, bytes: u64) {
        for service in [Service::Logs, Service::Digests] {
            if let Some(layout) = parse_layout(key, service.folder()) {
                let location = Location::of(bucket.unwrap_or_default(), &layout);
                let place = self
                    .places
                    .entry((location.account.clone(), location.region.clone()))
                    .or_default();
                place.load.add(bytes);
                // Without a bucket name (a folder not named after its
                // bucket), the prefix is the key's, relative to the bucket.
                let folder = match bucket {
                    Some(bucket) => s3_url(bucket, &location.folder(service)),
                    None => location.folder(service),
                };
                match service {
                    Service::Logs => {
                        if let Some(day) = crate::layout::folder_date(key) {
                            place.days.entry(day).or_default().add(bytes);
                        }
                        place.log_prefixes.insert(folder)
                    }
                    Service::Digests => self.digest_prefixes.insert(folder),
                };
                return;
            }
        }
        self.outside.add(bytes);
    }

    /// Walks a mirror folder as `verify` does (links are not followed,
    /// folders are read without changing their access times, the collection
    /// folder is not evidence), counting every regular file.
    ///
    /// # Errors
    /// When the folder is not a mirror root that can be read.
    pub fn add_mirror(&mut self, path: &Path) -> Result<(), PlanError> {
        use crate::evidence::{EntryKind, read_folder};
        let inventory =
            crate::mirror::scan(&[path.to_path_buf()]).map_err(|e| PlanError::Invalid {
                path: path.to_path_buf(),
                what: e.to_string(),
            })?;
        let root = inventory.roots.into_iter().next();
        let (bucket, prefix) = root.map(|r| (r.bucket, r.prefix)).unwrap_or_default();
        let mut pending = vec![String::new()];
        while let Some(rel) = pending.pop() {
            let Ok(entries) = read_folder(&path.join(&rel), rel.is_empty()) else {
                continue; // `verify` reports what it cannot read
            };
            for entry in entries {
                let Some(name) = entry.name.to_str() else {
                    continue; // no S3 key: `verify` reports the name
                };
                if rel.is_empty() && name == crate::layout::COLLECTION_DIR {
                    continue;
                }
                let child = if rel.is_empty() {
                    name.to_owned()
                } else {
                    format!("{rel}/{name}")
                };
                match entry.kind {
                    EntryKind::Folder => pending.push(child),
                    EntryKind::File(bytes) => {
                        self.add(bucket.as_deref(), &format!("{prefix}{child}"), bytes);
                    }
                    EntryKind::Other | EntryKind::Unknown(_) => {}
                }
            }
        }
        self.sources.push(Source {
            kind: "mirror".to_owned(),
            path: path.to_string_lossy().into_owned(),
            bucket,
            prefix,
        });
        Ok(())
    }

    /// Reads a `trailproof collect` listing (`objects.jsonl` of a collection
    /// folder; its `record.json` beside it names the bucket).
    ///
    /// # Errors
    /// When the listing or its record cannot be read or parsed.
    pub fn add_listing(&mut self, path: &Path) -> Result<(), PlanError> {
        let folder = path.parent().unwrap_or_else(|| Path::new("."));
        let record_path = folder.join(crate::custody::RECORD_FILE);
        let record: crate::custody::CollectionRecord =
            serde_json::from_slice(&read_bounded(&record_path)?).map_err(|e| {
                PlanError::Invalid {
                    path: record_path.clone(),
                    what: format!("not a collection record: {e}"),
                }
            })?;
        let text = read_bounded(path)?;
        for (number, line) in text.split(|&b| b == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let entry: crate::custody::FileEntry =
                serde_json::from_slice(line).map_err(|e| PlanError::Invalid {
                    path: path.to_path_buf(),
                    what: format!("line {}: not a listing entry: {e}", number + 1),
                })?;
            if entry.kind == crate::custody::RecordKind::Object {
                let key = entry
                    .key
                    .unwrap_or_else(|| format!("{}{}", record.prefix, entry.path));
                self.add(Some(&record.bucket), &key, entry.size);
            }
        }
        self.sources.push(Source {
            kind: "listing".to_owned(),
            path: path.to_string_lossy().into_owned(),
            bucket: Some(record.bucket),
            prefix: record.prefix,
        });
        Ok(())
    }
}

/// Reads a small file whole (a regular file, never blocking on a FIFO),
/// refusing one over [`MAX_PLAN_BYTES`].
fn read_bounded(path: &Path) -> Result<Vec<u8>, PlanError> {
    crate::evidence::read_regular(path, MAX_PLAN_BYTES).map_err(|source| PlanError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// A place as `pieces` windows of whole days with about as many bytes of
/// logs each (fewer when it has fewer days), with the S3 prefixes of each:
/// the first window holds the place's digests and what lies in no day.
fn cut_place(
    account: &str,
    region: &str,
    place: &PlaceSizes,
    pieces: usize,
) -> Vec<(Place, BTreeSet<String>)> {
    let whole = |load| Place {
        account: account.to_owned(),
        region: region.to_owned(),
        from: None,
        until: None,
        load,
    };
    if pieces <= 1 || place.days.len() <= 1 {
        return vec![(whole(place.load), place.log_prefixes.clone())];
    }
    let logs: u64 = place.days.values().map(|l| l.bytes).sum();
    // The first day of each window after the first.
    let mut starts: Vec<Date> = Vec::new();
    let mut so_far = 0u64;
    let mut days = place.days.iter().peekable();
    while let Some((_, load)) = days.next() {
        so_far = so_far.saturating_add(load.bytes);
        let next_cut = (starts.len() as u64 + 1).saturating_mul(logs) / pieces as u64;
        if let Some(&(&next, _)) = days.peek()
            && so_far >= next_cut
            && starts.len() + 1 < pieces
        {
            starts.push(next);
        }
    }
    let mut bounds: Vec<Option<Date>> = vec![None];
    bounds.extend(starts.iter().copied().map(Some));
    bounds.push(None);
    let mut out = Vec::new();
    for pair in bounds.windows(2) {
        let (from, until) = (
            pair.first().copied().flatten(),
            pair.get(1).copied().flatten(),
        );
        let inside = |day: &Date| from.is_none_or(|f| *day >= f) && until.is_none_or(|u| *day < u);
        let mut load = Load::default();
        for (_, day) in place.days.iter().filter(|(d, _)| inside(d)) {
            load.add_load(*day);
        }
        if from.is_none() {
            let days: Load = place.days.values().fold(Load::default(), |mut a, l| {
                a.add_load(*l);
                a
            });
            load.add_load(Load {
                bytes: place.load.bytes.saturating_sub(days.bytes),
                files: place.load.files.saturating_sub(days.files),
            });
        }
        let prefixes = window_prefixes(place, inside);
        out.push((
            Place {
                from,
                until,
                ..whole(load)
            },
            prefixes,
        ));
    }
    out
}

/// The log prefixes of the days of `place` that `inside` takes: a month's
/// folder when every day of it the place has is inside, else day folders.
fn window_prefixes(place: &PlaceSizes, inside: impl Fn(&Date) -> bool) -> BTreeSet<String> {
    let mut months: BTreeMap<(i16, i8), Vec<(Date, bool)>> = BTreeMap::new();
    for day in place.days.keys() {
        months
            .entry((day.year(), day.month()))
            .or_default()
            .push((*day, inside(day)));
    }
    let mut out = BTreeSet::new();
    for folder in &place.log_prefixes {
        for ((year, month), days) in &months {
            if days.iter().all(|(_, inside)| *inside) {
                out.insert(format!("{folder}{year:04}/{month:02}/"));
            } else {
                for (day, _) in days.iter().filter(|(_, inside)| *inside) {
                    out.insert(format!("{folder}{year:04}/{month:02}/{:02}/", day.day()));
                }
            }
        }
    }
    out
}

impl Plan {
    /// Splits the archive `sizes` describe into `shards` shards (at least
    /// one). A place of more than half a shard's share of bytes is cut into
    /// windows of whole days of about that size; then places and windows
    /// go, largest first, to the shard with the fewest bytes so far (ties:
    /// the lower index); what lies in no place goes to shard 0.
    #[must_use]
    pub fn make(sizes: Sizes, shards: usize) -> Plan {
        let count = shards.max(1);
        let mut out: Vec<Shard> = (0..count)
            .map(|index| Shard {
                index,
                load: Load::default(),
                outside: index == 0,
                places: Vec::new(),
                prefixes: Vec::new(),
            })
            .collect();
        let mut total = sizes.outside;
        for place in sizes.places.values() {
            total.add_load(place.load);
        }
        if let Some(first) = out.first_mut() {
            first.load = sizes.outside;
        }
        let piece = total.bytes.div_ceil(2 * count as u64).max(1);
        let mut pieces: Vec<(Place, BTreeSet<String>)> = Vec::new();
        for ((account, region), place) in sizes.places {
            let cut = if count > 1 && place.load.bytes > piece {
                place.load.bytes.div_ceil(piece) as usize
            } else {
                1
            };
            pieces.extend(cut_place(&account, &region, &place, cut));
        }
        // Largest first; equal sizes in place order, so a plan is a function of its input.
        pieces.sort_by(|(a, _), (b, _)| {
            b.load
                .bytes
                .cmp(&a.load.bytes)
                .then_with(|| (&a.account, &a.region, a.from).cmp(&(&b.account, &b.region, b.from)))
        });
        let mut log_prefixes: Vec<BTreeSet<String>> = vec![BTreeSet::new(); count];
        for (place, prefixes) in pieces {
            let Some(shard) = out.iter_mut().min_by_key(|s| (s.load.bytes, s.index)) else {
                continue;
            };
            shard.load.add_load(place.load);
            if let Some(set) = log_prefixes.get_mut(shard.index) {
                set.extend(prefixes);
            }
            shard.places.push(place);
        }
        let digest_prefixes: Vec<String> = sizes.digest_prefixes.into_iter().collect();
        for (shard, logs) in out.iter_mut().zip(log_prefixes) {
            shard.prefixes = logs.into_iter().chain(digest_prefixes.clone()).collect();
        }
        Plan {
            format: FORMAT.to_owned(),
            tool: format!("{} {}", env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION")),
            created_at: Timestamp::now(),
            sources: sizes.sources,
            total,
            shards: out,
            digest_prefixes,
        }
    }

    /// Reads a plan file, with the SHA-256 of its bytes.
    ///
    /// # Errors
    /// When it cannot be read or is not a plan.
    pub fn load(path: &Path) -> Result<(Plan, String), PlanError> {
        let bytes = read_bounded(path)?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let plan: Plan = serde_json::from_slice(&bytes).map_err(|e| PlanError::Invalid {
            path: path.to_path_buf(),
            what: format!("not a trailproof plan: {e}"),
        })?;
        if plan.format != FORMAT {
            return Err(PlanError::Invalid {
                path: path.to_path_buf(),
                what: format!("plan format {:?}, this build reads {FORMAT:?}", plan.format),
            });
        }
        let indexes_ok = plan.shards.iter().enumerate().all(|(i, s)| s.index == i);
        let mut windows: BTreeMap<(&str, &str), Vec<Window>> = BTreeMap::new();
        for p in plan.shards.iter().flat_map(|s| &s.places) {
            windows
                .entry((p.account.as_str(), p.region.as_str()))
                .or_default()
                .push((p.from, p.until));
        }
        let unique = windows.values_mut().all(|w| windows_divide_time(w));
        let one_outside = plan.shards.iter().filter(|s| s.outside).count() == 1;
        if plan.shards.is_empty()
            || plan.shards.len() > MAX_SHARDS
            || !indexes_ok
            || !unique
            || !one_outside
        {
            return Err(PlanError::Invalid {
                path: path.to_path_buf(),
                what: "its shards are not numbered 0 to N-1, or a place is in two shards (or its windows overlap or leave days out), or not exactly one shard judges what lies in no place".to_owned(),
            });
        }
        Ok((plan, sha256))
    }

    /// The scope of shard `index` of this plan (whose file has SHA-256 `sha256`).
    ///
    /// # Errors
    /// [`PlanError::NoSuchShard`].
    pub fn scope(&self, index: usize, sha256: &str) -> Result<ShardScope, PlanError> {
        let shard = self.shards.get(index).ok_or(PlanError::NoSuchShard {
            index,
            shards: self.shards.len(),
        })?;
        let mut holdings = Holdings::default();
        for other in &self.shards {
            for p in &other.places {
                holdings
                    .entry(p.account.clone())
                    .or_default()
                    .entry(p.region.clone())
                    .or_default()
                    .push(Holding {
                        from: p.from,
                        until: p.until,
                        mine: other.index == index,
                    });
            }
        }
        for list in holdings.values_mut().flat_map(BTreeMap::values_mut) {
            list.sort_by_key(|h| h.from);
        }
        Ok(ShardScope {
            plan_sha256: sha256.to_owned(),
            index,
            shards: self.shards.len(),
            labels: shard.places.iter().map(Place::label).collect(),
            holdings,
            outside: shard.outside,
        })
    }
}

/// A window of days: first day, day after the last (none: unbounded).
type Window = (Option<Date>, Option<Date>);

/// Whether the windows of one place divide all time between them: one
/// without bounds, or windows that follow each other from no first day to
/// no last (sorted here).
fn windows_divide_time(windows: &mut [Window]) -> bool {
    windows.sort();
    let (Some(first), Some(last)) = (windows.first(), windows.last()) else {
        return false;
    };
    first.0.is_none()
        && last.1.is_none()
        && windows.windows(2).all(|pair| match pair {
            [(_, Some(until)), (Some(from), _)] => until == from,
            _ => false,
        })
        && windows
            .iter()
            .all(|(from, until)| from.zip(*until).is_none_or(|(f, u)| f < u))
}

/// The scope of the shard a run is asked for: the plan at `path`, and
/// [`shard_index`] from `given` and the process's environment.
///
/// # Errors
/// When the plan cannot be read, no index is given, or it is not in the plan.
pub fn scope_of_run(path: &Path, given: Option<usize>) -> Result<ShardScope, PlanError> {
    let (plan, sha256) = Plan::load(path)?;
    let index = shard_index(given, |name| std::env::var(name).ok())?;
    plan.scope(index, &sha256)
}

/// The shard index: `--shard`, else the first of the engines' index
/// variables that is set (`SLURM_ARRAY_TASK_ID`, `JOB_COMPLETION_INDEX`,
/// `AWS_BATCH_JOB_ARRAY_INDEX`), read through `var`.
///
/// # Errors
/// [`PlanError::NoShardIndex`] when none is given, or a variable is not a number.
pub fn shard_index(
    given: Option<usize>,
    var: impl Fn(&str) -> Option<String>,
) -> Result<usize, PlanError> {
    if let Some(index) = given {
        return Ok(index);
    }
    for name in INDEX_VARIABLES {
        if let Some(value) = var(name) {
            return value.trim().parse().map_err(|_| PlanError::Invalid {
                path: PathBuf::from(format!("${name}")),
                what: format!(
                    "\"{}\" is not a shard index",
                    crate::text::escape_control(&value)
                ),
            });
        }
    }
    Err(PlanError::NoShardIndex)
}

/// The engines' array index variables, in the order they are consulted.
pub const INDEX_VARIABLES: [&str; 3] = [
    "SLURM_ARRAY_TASK_ID",
    "JOB_COMPLETION_INDEX",
    "AWS_BATCH_JOB_ARRAY_INDEX",
];

/// One shard's window of a place (no bounds: the whole place).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Holding {
    from: Option<Date>,
    until: Option<Date>,
    /// Whether it is the scope's shard's.
    mine: bool,
}

impl Holding {
    fn holds(&self, day: Date) -> bool {
        self.from.is_none_or(|f| day >= f) && self.until.is_none_or(|u| day < u)
    }
}

/// Every shard's windows, by account, then region, then first day.
type Holdings = BTreeMap<String, BTreeMap<String, Vec<Holding>>>;

/// What one shard examines: its places (or windows of days of them); and
/// shard 0 what lies in no place and in places the plan gave to no shard
/// (a mirror that grew since it was planned), so that every object is some
/// shard's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardScope {
    /// SHA-256 of the plan file.
    pub plan_sha256: String,
    /// The shard's index.
    pub index: usize,
    /// How many shards the plan has.
    pub shards: usize,
    /// Its places, as [`Place::label`] names them.
    labels: Vec<String>,
    /// Every shard's places.
    holdings: Holdings,
    /// Whether it judges objects in no place (and in places of no shard).
    pub outside: bool,
}

impl ShardScope {
    fn holdings(&self, account: &str, region: &str) -> Option<&[Holding]> {
        self.holdings
            .get(account)
            .and_then(|r| r.get(region))
            .map(Vec::as_slice)
            .filter(|h| !h.is_empty())
    }

    /// Whether the place `(account, region)`'s digests and chains are this
    /// shard's to judge: it holds the place, or its first window, or
    /// (shard 0) the plan gave it to no shard.
    #[must_use]
    pub fn owns_place(&self, account: &str, region: &str) -> bool {
        self.holdings(account, region)
            .map_or(self.outside, |h| h.first().is_some_and(|w| w.mine))
    }

    /// Whether the shard reads the place's digests to judge some of its
    /// days: it owns the place, or holds a window of it.
    #[must_use]
    pub fn reads_place(&self, account: &str, region: &str) -> bool {
        self.holdings(account, region)
            .map_or(self.outside, |h| h.iter().any(|w| w.mine))
    }

    /// Whether the log folder of `day` at the place is this shard's.
    #[must_use]
    pub fn has_day(&self, account: &str, region: &str, day: Date) -> bool {
        match self.holdings(account, region) {
            None => self.outside,
            Some(h) => h
                .iter()
                .find(|w| w.holds(day))
                .map_or_else(|| self.owns_place(account, region), |w| w.mine),
        }
    }

    /// What the report says of it.
    #[must_use]
    pub fn used(&self) -> ShardUsed {
        ShardUsed {
            plan_sha256: self.plan_sha256.clone(),
            shard: self.index,
            shards: self.shards,
            places: self.labels.clone(),
            outside: self.outside,
        }
    }
}

/// The shard a partial report covers (`verify --plan --shard`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ShardUsed {
    /// SHA-256 of the plan file (lower-case hex).
    pub plan_sha256: String,
    /// The shard's index.
    pub shard: usize,
    /// How many shards the plan has.
    pub shards: usize,
    /// Its places, `account/region`, with their windows of days when cut
    /// between shards (`account/region from DAY until DAY`).
    pub places: Vec<String>,
    /// Whether it judged what lies in no place.
    pub outside: bool,
}

impl ShardUsed {
    /// Whether the shard judged the digests and chains of the place: it
    /// held it whole, or its first window.
    #[must_use]
    pub fn owns_place(&self, account: &str, region: &str) -> bool {
        let place = format!("{account}/{region}");
        self.places.iter().any(|p| {
            p.strip_prefix(place.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(" until "))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Option<&str> = Some("bucket");

    fn log(account: &str, region: &str) -> String {
        format!(
            "AWSLogs/{account}/CloudTrail/{region}/2026/03/01/{account}_CloudTrail_{region}_20260301T0000Z_abcdefghijklmnop.json.gz"
        )
    }

    fn digest(account: &str, region: &str) -> String {
        format!(
            "AWSLogs/{account}/CloudTrail-Digest/{region}/2026/03/01/{account}_CloudTrail-Digest_{region}_main_us-east-1_20260301T010000Z.json.gz"
        )
    }

    fn sizes(entries: &[(&str, &str, u64)]) -> Sizes {
        let mut sizes = Sizes::default();
        for (account, region, bytes) in entries {
            sizes.add(B, &log(account, region), *bytes);
            sizes.add(B, &digest(account, region), 1);
        }
        sizes
    }

    fn places(shard: &Shard) -> Vec<String> {
        shard
            .places
            .iter()
            .map(|p| format!("{}/{}", p.account, p.region))
            .collect()
    }

    #[test]
    fn largest_places_go_first_to_the_least_loaded_shard() {
        let mut s = sizes(&[
            ("111111111111", "us-east-1", 100),
            ("111111111111", "eu-west-1", 60),
            ("222222222222", "us-east-1", 50),
            ("222222222222", "eu-west-1", 30),
            ("333333333333", "us-east-1", 20),
        ]);
        s.add(B, "README.txt", 7);
        let plan = Plan::make(s, 2);
        assert_eq!(plan.shards.len(), 2);
        // Shard 0 starts with what lies in no place (7): 101 goes to 1, 61 to 0 (7),
        // 51 to 0 (68), 31 to 1 (101 < 119), 21 to 0 (119 < 132).
        assert_eq!(
            places(&plan.shards[0]),
            [
                "111111111111/eu-west-1",
                "222222222222/us-east-1",
                "333333333333/us-east-1"
            ]
        );
        assert_eq!(
            places(&plan.shards[1]),
            ["111111111111/us-east-1", "222222222222/eu-west-1"]
        );
        assert_eq!(
            plan.shards[0].load,
            Load {
                bytes: 7 + 61 + 51 + 21,
                files: 7
            }
        );
        assert_eq!(
            plan.shards[1].load,
            Load {
                bytes: 101 + 31,
                files: 4
            }
        );
        assert_eq!(
            plan.total,
            Load {
                bytes: 272,
                files: 11
            }
        );
        assert!(plan.shards[0].outside && !plan.shards[1].outside);
        assert_eq!(plan.digest_prefixes.len(), 5);
        assert!(
            plan.shards[1]
                .prefixes
                .contains(&"s3://bucket/AWSLogs/111111111111/CloudTrail/us-east-1/".to_owned())
        );
        assert!(
            !plan.shards[1]
                .prefixes
                .contains(&"s3://bucket/AWSLogs/111111111111/CloudTrail/eu-west-1/".to_owned())
        );
        assert!(
            plan.shards[1].prefixes.contains(
                &"s3://bucket/AWSLogs/111111111111/CloudTrail-Digest/us-east-1/".to_owned()
            )
        );
    }

    #[test]
    fn more_shards_than_places_leaves_some_empty_and_zero_shards_is_one() {
        let plan = Plan::make(sizes(&[("111111111111", "us-east-1", 5)]), 3);
        assert_eq!(
            plan.shards
                .iter()
                .map(|s| s.places.len())
                .collect::<Vec<_>>(),
            [1, 0, 0]
        );
        assert_eq!(Plan::make(sizes(&[]), 0).shards.len(), 1);
    }

    #[test]
    fn a_plan_round_trips_and_its_scopes_divide_the_places() {
        let dir = tempfile::tempdir().unwrap();
        let plan = Plan::make(
            sizes(&[
                ("111111111111", "us-east-1", 5),
                ("111111111111", "eu-west-1", 4),
                ("222222222222", "us-east-1", 3),
            ]),
            2,
        );
        let path = dir.path().join("plan.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&plan).unwrap()).unwrap();
        let (read, sha) = Plan::load(&path).unwrap();
        assert_eq!(read, plan);
        assert_eq!(
            sha,
            hex::encode(Sha256::digest(std::fs::read(&path).unwrap()))
        );
        let a = read.scope(0, &sha).unwrap();
        let b = read.scope(1, &sha).unwrap();
        assert!(
            a.owns_place("111111111111", "us-east-1") && !b.owns_place("111111111111", "us-east-1")
        );
        assert!(
            b.owns_place("111111111111", "eu-west-1") && !a.owns_place("111111111111", "eu-west-1")
        );
        // A place the plan gave to no shard (the mirror grew) is shard 0's.
        assert!(
            a.owns_place("999999999999", "us-east-1") && !b.owns_place("999999999999", "us-east-1")
        );
        assert!(matches!(
            read.scope(2, &sha),
            Err(PlanError::NoSuchShard {
                index: 2,
                shards: 2
            })
        ));
        // A place in two shards is refused.
        let mut twice = plan.clone();
        let dup = twice.shards[0].places[0].clone();
        twice.shards[1].places.push(dup);
        std::fs::write(&path, serde_json::to_vec(&twice).unwrap()).unwrap();
        assert!(matches!(Plan::load(&path), Err(PlanError::Invalid { .. })));
        std::fs::write(&path, b"{\"format\":\"other\"}").unwrap();
        assert!(matches!(Plan::load(&path), Err(PlanError::Invalid { .. })));
    }

    fn day_log(account: &str, region: &str, day: &str) -> String {
        let compact = day.replace('-', "");
        format!(
            "AWSLogs/{account}/CloudTrail/{region}/{}/{account}_CloudTrail_{region}_{compact}T0000Z_abcdefghijklmnop.json.gz",
            day.replace('-', "/")
        )
    }

    fn day(s: &str) -> Date {
        s.parse().unwrap()
    }

    /// One place over six days (two in March, four in April) and a small one.
    fn long_place() -> Sizes {
        let mut s = Sizes::default();
        for d in [
            "2026-03-30",
            "2026-03-31",
            "2026-04-01",
            "2026-04-02",
            "2026-04-03",
            "2026-04-04",
        ] {
            s.add(B, &day_log("111111111111", "us-east-1", d), 100);
        }
        s.add(B, &digest("111111111111", "us-east-1"), 4);
        s.add(B, &log("222222222222", "us-east-1"), 50);
        s
    }

    #[test]
    fn a_place_larger_than_half_a_share_is_cut_into_windows_of_days() {
        let plan = Plan::make(long_place(), 3);
        // 654 bytes, 3 shards: pieces of at most 109 bytes; the long place
        // (604) is cut into 6 windows (one per day), the small one is whole.
        let windows: Vec<&Place> = plan
            .shards
            .iter()
            .flat_map(|s| &s.places)
            .filter(|p| p.account == "111111111111")
            .collect();
        assert_eq!(windows.len(), 6, "{windows:#?}");
        let mut bounds: Vec<(Option<Date>, Option<Date>)> =
            windows.iter().map(|p| (p.from, p.until)).collect();
        bounds.sort();
        assert_eq!(bounds.first().unwrap(), &(None, Some(day("2026-03-31"))));
        assert_eq!(bounds.last().unwrap(), &(Some(day("2026-04-04")), None));
        assert!(windows_divide_time(&mut bounds));
        // The first window also holds the digest's bytes.
        let first = windows.iter().find(|p| p.from.is_none()).unwrap();
        assert_eq!(
            first.load,
            Load {
                bytes: 104,
                files: 2
            }
        );
        assert_eq!(first.label(), "111111111111/us-east-1 until 2026-03-31");
        assert_eq!(
            plan.total,
            Load {
                bytes: 654,
                files: 8
            }
        );
        let loads: Vec<u64> = plan.shards.iter().map(|s| s.load.bytes).collect();
        assert!(loads.iter().all(|&b| b <= 254), "{loads:?}");
        // Day folders where a window cuts a month, the month's folder where it holds it all.
        let all: BTreeSet<&String> = plan.shards.iter().flat_map(|s| &s.prefixes).collect();
        assert!(all.contains(
            &"s3://bucket/AWSLogs/111111111111/CloudTrail/us-east-1/2026/03/30/".to_owned()
        ));
        assert!(
            !all.contains(&"s3://bucket/AWSLogs/111111111111/CloudTrail/us-east-1/".to_owned())
        );
        assert!(all.contains(&"s3://bucket/AWSLogs/222222222222/CloudTrail/us-east-1/".to_owned()));
        // Two shards: pieces of at most 164 bytes, 4 windows.
        let two = Plan::make(long_place(), 2);
        let count = two.shards.iter().flat_map(|s| &s.places).count();
        assert_eq!(count, 5);
        // One shard: nothing is cut.
        let one = Plan::make(long_place(), 1);
        assert!(
            one.shards[0]
                .places
                .iter()
                .all(|p| p.from.is_none() && p.until.is_none())
        );
    }

    #[test]
    fn a_window_holding_a_whole_month_fetches_the_month() {
        let mut place = PlaceSizes::default();
        place
            .log_prefixes
            .insert("s3://b/AWSLogs/1/CloudTrail/r/".to_owned());
        for d in ["2026-03-30", "2026-03-31", "2026-04-01"] {
            place.days.insert(day(d), Load { bytes: 1, files: 1 });
        }
        let april = window_prefixes(&place, |d| *d >= day("2026-03-31"));
        assert_eq!(
            april.into_iter().collect::<Vec<_>>(),
            [
                "s3://b/AWSLogs/1/CloudTrail/r/2026/03/31/",
                "s3://b/AWSLogs/1/CloudTrail/r/2026/04/"
            ]
        );
    }

    #[test]
    fn the_shard_of_the_first_window_owns_the_place_and_each_day_has_one_shard() {
        let dir = tempfile::tempdir().unwrap();
        let plan = Plan::make(long_place(), 3);
        let path = dir.path().join("plan.json");
        std::fs::write(&path, serde_json::to_vec(&plan).unwrap()).unwrap();
        let (plan, sha) = Plan::load(&path).unwrap();
        let scopes: Vec<ShardScope> = (0..3).map(|k| plan.scope(k, &sha).unwrap()).collect();
        let (a, r) = ("111111111111", "us-east-1");
        let owners = scopes.iter().filter(|s| s.owns_place(a, r)).count();
        assert_eq!(owners, 1);
        assert!(scopes.iter().all(|s| s.reads_place(a, r)));
        for d in [
            "2026-03-01",
            "2026-03-30",
            "2026-04-02",
            "2026-04-04",
            "2027-01-01",
        ] {
            let holders: Vec<usize> = scopes
                .iter()
                .filter(|s| s.has_day(a, r, day(d)))
                .map(|s| s.index)
                .collect();
            assert_eq!(holders.len(), 1, "{d}: {holders:?}");
        }
        // Each window's days are the days of the shard that holds it.
        for shard in &plan.shards {
            for p in shard.places.iter().filter(|p| p.account == a) {
                for d in [p.from, p.until.and_then(|u| u.yesterday().ok())]
                    .into_iter()
                    .flatten()
                {
                    assert!(scopes[shard.index].has_day(a, r, d), "{} {d}", p.label());
                }
            }
        }
        // Only the shard of the small place reads its digests.
        let small = ("222222222222", "us-east-1");
        let readers = scopes
            .iter()
            .filter(|s| s.reads_place(small.0, small.1))
            .count();
        assert_eq!(readers, 1);
        // Days before the first window's cut are the owner's.
        let owner = scopes.iter().find(|s| s.owns_place(a, r)).unwrap();
        assert!(owner.has_day(a, r, day("2020-01-01")));
        let used = owner.used();
        assert!(used.owns_place(a, r), "{:?}", used.places);
        let other = scopes.iter().find(|s| !s.owns_place(a, r)).unwrap();
        assert!(!other.used().owns_place(a, r));
        // Windows that overlap, or leave days to no shard, are refused.
        for (from, until) in [(None, None), (Some(day("2026-04-03")), None)] {
            let mut bad = plan.clone();
            let window = bad
                .shards
                .iter_mut()
                .flat_map(|s| &mut s.places)
                .find(|p| p.account == a && p.from.is_some() && p.until.is_some())
                .unwrap();
            window.from = from;
            window.until = until;
            std::fs::write(&path, serde_json::to_vec(&bad).unwrap()).unwrap();
            assert!(
                matches!(Plan::load(&path), Err(PlanError::Invalid { .. })),
                "{from:?} {until:?}"
            );
        }
    }

    #[test]
    fn windows_are_cut_by_bytes_never_more_than_asked_and_never_empty() {
        let mut place = PlaceSizes::default();
        let mut put = |d: &str, bytes: u64| {
            place.days.insert(day(d), Load { bytes, files: 1 });
        };
        for d in [
            "2026-04-01",
            "2026-04-02",
            "2026-04-03",
            "2026-04-04",
            "2026-04-05",
            "2026-04-06",
        ] {
            put(d, 10);
        }
        let starts = |place: &PlaceSizes, pieces: usize| -> Vec<Option<Date>> {
            cut_place("1", "r", place, pieces)
                .into_iter()
                .map(|(p, _)| p.from)
                .collect()
        };
        // 60 bytes in 3: cut where 20 and 40 bytes are reached.
        assert_eq!(
            starts(&place, 3),
            [None, Some(day("2026-04-03")), Some(day("2026-04-05"))]
        );
        // Days of no bytes at the end add no window past the number asked.
        let mut tail = PlaceSizes::default();
        for (d, bytes) in [("2026-04-01", 10), ("2026-04-02", 0), ("2026-04-03", 0)] {
            tail.days.insert(day(d), Load { bytes, files: 1 });
        }
        assert_eq!(starts(&tail, 2), [None, Some(day("2026-04-02"))]);
        // Windows must follow each other and hold at least a day.
        let (a, b) = (Some(day("2026-04-01")), Some(day("2026-04-02")));
        assert!(windows_divide_time(&mut [(None, a), (a, b), (b, None)]));
        assert!(!windows_divide_time(&mut [
            (None, a),
            (a, a),
            (a, b),
            (b, None)
        ]));
        assert!(!windows_divide_time(&mut [(None, a), (b, None)]));
        assert!(!windows_divide_time(&mut []));
    }

    #[test]
    fn a_folder_date_is_the_last_three_folders() {
        use crate::layout::folder_date;
        assert_eq!(
            folder_date(&day_log("1", "r", "2026-04-02")),
            Some(day("2026-04-02"))
        );
        assert_eq!(folder_date("a/2026/02/30/x"), None);
        assert_eq!(folder_date("a/2026/2/03/x"), None);
        assert_eq!(folder_date("2026/02/03"), None);
    }

    #[test]
    fn the_shard_index_comes_from_the_option_then_the_engines_variables() {
        let none = |_: &str| None;
        assert_eq!(shard_index(Some(3), none).unwrap(), 3);
        assert!(matches!(
            shard_index(None, none),
            Err(PlanError::NoShardIndex)
        ));
        for name in INDEX_VARIABLES {
            let var = |n: &str| (n == name).then(|| "2".to_owned());
            assert_eq!(shard_index(None, var).unwrap(), 2, "{name}");
        }
        let slurm_first = |n: &str| match n {
            "SLURM_ARRAY_TASK_ID" => Some("1".to_owned()),
            _ => Some("5".to_owned()),
        };
        assert_eq!(shard_index(None, slurm_first).unwrap(), 1);
        let bad = |_: &str| Some("x\u{1b}[2J".to_owned());
        let err = shard_index(None, bad).unwrap_err().to_string();
        assert!(!err.contains('\u{1b}'), "{err}");
    }
}
