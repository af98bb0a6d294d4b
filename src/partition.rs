//! Partitions: the unit of work for log files, so that memory depends on the
//! largest partition, not on the archive.
//!
//! A partition is one day's log folder of one location (bucket, prefix,
//! organization, account, region: a partition of the archive), with every
//! digest that lists a file in it. The scan does not list log folders; a
//! partition lists its folders and reads its digests' listings again (keeping
//! only the entries that lie in it) when its turn comes, and frees both
//! when done. Listed keys that lie in no day folder of their location
//! (unsafe or misplaced keys) form one last partition, checked against what
//! the scan found.

use crate::budget::ListingBudget;
use crate::digest::LogFileRef;
use crate::evidence::{Kind, OpenFolder};
use crate::layout::{Location, Service};
use crate::mirror::{DayFolder, FileKind, InvalidName, Inventory, MirrorFile, Unreadable};
use crate::record::{DigestRecord, Route};
use std::collections::BTreeMap;

/// One partition: its place, its day folders and the digests that list files in it.
#[derive(Debug, Clone)]
pub(crate) struct Partition {
    /// The location and day (or [`Route::Misc`] for the last partition).
    pub route: Route,
    /// Indexes into [`Inventory::day_folders`].
    pub folders: Vec<usize>,
    /// Indexes of the (in-range) digest records that list a file in it.
    pub listers: Vec<usize>,
}

/// The partitions of a run, in the order of their places (the misc partition last).
pub(crate) fn plan(
    inventory: &Inventory,
    records: &[DigestRecord],
    selection: &crate::selection::Selection,
) -> Vec<Partition> {
    let mut partitions: BTreeMap<Route, Partition> = BTreeMap::new();
    let partition = |route: Route| Partition {
        route,
        folders: Vec::new(),
        listers: Vec::new(),
    };
    for (index, folder) in inventory.day_folders.iter().enumerate() {
        // Day folders of accounts and regions outside the selection are not listed.
        if let Some(route) = route_of_folder(inventory, folder).filter(|route| match route {
            Route::Day(location, day) => {
                selection.admits_day(&location.account, &location.region, *day)
            }
            Route::Misc => true,
        }) {
            partitions
                .entry(route.clone())
                .or_insert_with(|| partition(route))
                .folders
                .push(index);
        }
    }
    for (index, record) in records.iter().enumerate().filter(|(_, r)| r.in_range) {
        // A digest moved into a shard's place may list another shard's
        // folder, and a shard holding some days of a place reads all its
        // digests: a day is the shard's that holds it; what lies in no day,
        // the shard's that reports on the digest.
        let admitted = |route: &&Route| match route {
            Route::Day(location, day) => {
                selection.scope.is_none()
                    || selection.admits_day(&location.account, &location.region, *day)
            }
            Route::Misc => record.reported,
        };
        for route in record.routes.iter().filter(admitted) {
            partitions
                .entry(route.clone())
                .or_insert_with(|| partition(route.clone()))
                .listers
                .push(index);
        }
    }
    // The misc partition always runs: it judges the files the scan found
    // outside day folders.
    partitions
        .entry(Route::Misc)
        .or_insert_with(|| partition(Route::Misc));
    partitions.into_values().collect()
}

/// The place of a day folder, once its root is located.
fn route_of_folder(inventory: &Inventory, folder: &DayFolder) -> Option<Route> {
    let root = inventory.roots.get(folder.root)?;
    let bucket = root.bucket.as_deref()?;
    let key = if folder.rel.is_empty() {
        format!("{}x", root.prefix)
    } else {
        format!("{}{}/x", root.prefix, folder.rel)
    };
    let layout = crate::layout::parse_layout(&key, Service::Logs.folder())?;
    Some(Route::Day(Location::of(bucket, &layout), folder.date))
}

/// The entries each lister lists in the partition, read again from its file.
/// Listings past `budget` are not kept: their digests are returned with
/// the number of entries not examined.
pub(crate) struct Listings {
    /// `(record, entries)`, in lister order.
    pub lists: Vec<(usize, Vec<LogFileRef>)>,
    /// `(record, entries not examined)`.
    pub not_examined: Vec<(usize, usize)>,
}

/// Reads the listings of a partition's digests again, keeping what lies in it.
pub(crate) fn listings(
    partition: &Partition,
    records: &[DigestRecord],
    max_digest_bytes: u64,
    memory_budget: u64,
) -> Listings {
    use rayon::prelude::*;
    let read: Vec<(usize, Option<Vec<LogFileRef>>)> = partition
        .listers
        .par_iter()
        .map(|&index| {
            let entries = records.get(index).and_then(|r| {
                take_cached(r, &partition.route)
                    .or_else(|| read_entries(r, &partition.route, max_digest_bytes))
            });
            (index, entries)
        })
        .collect();
    let budget = ListingBudget::new(memory_budget);
    let mut out = Listings {
        lists: Vec::new(),
        not_examined: Vec::new(),
    };
    for (index, entries) in read {
        match entries {
            Some(entries) if budget.admit(entries_cost(&entries)) => {
                out.lists.push((index, entries))
            }
            Some(entries) => out.not_examined.push((index, entries.len())),
            None => {
                let listed = records.get(index).map_or(0, |r| r.listed);
                out.not_examined.push((index, listed));
            }
        }
    }
    out
}

/// A digest's entries that lie in `route`, from the listing kept from its
/// first read, if it was kept.
fn take_cached(record: &DigestRecord, route: &Route) -> Option<Vec<LogFileRef>> {
    let mut cached = record.cached.lock().ok()?;
    let at = cached.iter().position(|(r, _)| r == route)?;
    Some(cached.swap_remove(at).1)
}

/// A digest's entries that lie in `route`, from its file read again;
/// `None` when it no longer reads the same (it changed during the run).
fn read_entries(record: &DigestRecord, route: &Route, max_bytes: u64) -> Option<Vec<LogFileRef>> {
    let again =
        crate::error::contain_panic(|| crate::digest::read(&record.path, max_bytes)).ok()?;
    if again.inflated_sha256 != record.inflated_sha256 {
        return None;
    }
    let digest = again.parsed.ok()?;
    Some(
        digest
            .log_files
            .into_iter()
            .filter(|f| Route::of(&f.bucket, &f.object) == *route)
            .collect(),
    )
}

fn entries_cost(entries: &[LogFileRef]) -> u64 {
    entries
        .iter()
        .map(|f| crate::budget::PER_LOG_FILE + 2 * f.object.len() as u64)
        .sum()
}

/// The files of a partition as an inventory of their own: what its day
/// folders hold (sub-folders too), with the scan's links and unreadable
/// places (keys through them are not followed). Unreadable folders and
/// names that are not UTF-8 found here are returned as well.
pub(crate) fn inventory(partition: &Partition, global: &Inventory) -> Inventory {
    let mut inventory = Inventory {
        roots: global.roots.clone(),
        files: global
            .files
            .iter()
            .filter(|f| f.kind == FileKind::NotRegular)
            .cloned()
            .collect(),
        unreadable: global.unreadable.clone(),
        ..Inventory::default()
    };
    for folder in partition
        .folders
        .iter()
        .filter_map(|&i| global.day_folders.get(i))
    {
        list_tree(&mut inventory, folder.root, &folder.rel);
    }
    inventory
        .open_folders
        .sort_unstable_by(|a, b| (a.0, &*a.1).cmp(&(b.0, &*b.1)));
    inventory
        .files
        .sort_unstable_by(|a, b| (a.root, &*a.rel).cmp(&(b.root, &*b.rel)));
    inventory
}

/// Lists a day folder and what lies below it into `inventory`, keeping
/// each folder open (files are opened relative to it). Sizes are not
/// read here: each file's size comes with opening it.
fn list_tree(inventory: &mut Inventory, root: usize, rel: &str) {
    let mut pending = vec![rel.to_owned()];
    while let Some(folder_rel) = pending.pop() {
        let path = inventory.local_path(root, &folder_rel);
        let mut folder = match OpenFolder::open(&path) {
            Ok(folder) => folder,
            Err(e) => {
                inventory.unreadable.push(Unreadable {
                    root,
                    path,
                    reason: e.to_string(),
                });
                continue;
            }
        };
        for (name, kind) in folder.take_entries() {
            let Some(text) = name.to_str() else {
                inventory.invalid_names.push(InvalidName {
                    root,
                    path: path.join(&name),
                    folder: kind == Kind::Folder,
                });
                continue;
            };
            // (A root that is itself a day folder lists at "".)
            let key = if folder_rel.is_empty() {
                text.to_owned()
            } else {
                format!("{folder_rel}/{text}")
            };
            let kind = match kind {
                Kind::Folder => {
                    pending.push(key);
                    continue;
                }
                Kind::File => crate::layout::classify(&key),
                Kind::Other => FileKind::NotRegular,
            };
            inventory.files.push(MirrorFile {
                root,
                rel: key.into_boxed_str(),
                size: 0,
                kind,
            });
        }
        inventory
            .open_folders
            .push((root, folder_rel.into_boxed_str(), folder));
    }
}

/// One partition as the JSON report lists it (`partitions`): where it lies
/// and what its log files came to. Partitions are the unit a run checks
/// one after another, so a report can be read partition by partition.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[schemars(deny_unknown_fields)]
pub struct PartitionReport {
    /// `s3://` URL of its day folder (`…/CloudTrail/REGION/YYYY/MM/DD/`), or
    /// `misplaced` for listed keys that lie in no day folder of their place.
    pub id: String,
    /// Organization id of an organization trail.
    pub organization: Option<String>,
    /// Account id.
    pub account: Option<String>,
    /// Delivering region.
    pub region: Option<String>,
    /// The day (UTC) of the folder.
    #[schemars(with = "Option<String>", extend("format" = "date"))]
    pub date: Option<jiff::civil::Date>,
    /// Digests (in the time range) that list a log file in it.
    pub digests: usize,
    /// Distinct log files its digests list.
    pub log_files_listed: usize,
    /// Listed log files found with the listed hash.
    pub log_files_valid: usize,
    /// Log files opened and hashed in it.
    pub log_files_read: usize,
    /// `s3://` URL of the newest digest (in the time range) that lists a file in it.
    pub newest_digest: Option<String>,
}

impl Partition {
    /// What the JSON report says of this partition, once `results` are in;
    /// nothing for the misplaced-keys partition when no digest lists one.
    pub(crate) fn report(
        &self,
        results: &crate::loghash::LogResults,
        records: &[DigestRecord],
    ) -> Option<PartitionReport> {
        if self.route == Route::Misc && self.listers.is_empty() && results.read.is_empty() {
            return None;
        }
        let valid = results
            .outcomes
            .iter()
            .filter(|o| o.status == crate::loghash::LogStatus::Valid)
            .count();
        let (id, location, date) = match &self.route {
            Route::Day(location, date) => {
                let folder = format!(
                    "{}{:04}/{:02}/{:02}/",
                    location.folder(Service::Logs),
                    date.year(),
                    date.month(),
                    date.day()
                );
                (
                    crate::layout::s3_url(&location.bucket, &folder),
                    Some(location),
                    Some(*date),
                )
            }
            Route::Misc => ("misplaced".to_owned(), None, None),
        };
        Some(PartitionReport {
            id,
            organization: location.and_then(|l| l.organization.clone()),
            account: location.map(|l| l.account.clone()),
            region: location.map(|l| l.region.clone()),
            date,
            digests: self.listers.len(),
            log_files_listed: results.outcomes.len(),
            log_files_valid: valid,
            log_files_read: results.read.len(),
            newest_digest: self
                .listers
                .iter()
                .filter_map(|&i| records.get(i))
                .max_by_key(|r| (r.time(), r.url()))
                .map(DigestRecord::url),
        })
    }
}
