//! One digest file of the mirror and everything the stages learn about it:
//! the state the chain, signature and log stages share.

use crate::digest::{Digest, DigestError};
use crate::gzip::StoredHash;
use crate::mirror::{self, DigestName, KeyLayout};
use crate::signature::{Authentication, StoredMetadata};
use jiff::Timestamp;
use std::path::PathBuf;

/// One digest file of the mirror and everything learnt about it.
#[derive(Debug)]
pub struct DigestRecord {
    /// Index of the file in [`crate::mirror::Inventory::files`].
    pub file: usize,
    /// Bucket the file is in (its root's bucket).
    pub bucket: String,
    /// S3 key of the file, from where it lies.
    pub key: String,
    /// Local path.
    pub path: PathBuf,
    /// Layout parsed from where the file lies.
    pub layout: Option<KeyLayout>,
    /// Digest name parsed from where the file lies.
    pub name: Option<DigestName>,
    /// SHA-256 of the inflated bytes, if the file inflated.
    pub inflated_sha256: Option<[u8; 32]>,
    /// The parsed digest, or why the file is not one.
    pub parsed: Result<Digest, DigestError>,
    /// SHA-256 and size of the file as stored, if it was read to its end.
    pub stored: Option<StoredHash>,
    /// S3 metadata saved for it.
    pub metadata: StoredMetadata,
    /// For a digest that lies elsewhere than the key its content names: the
    /// metadata saved at that key (a sidecar stays at its key when the file
    /// alone is moved, so it may be this content's own).
    pub claimed_metadata: Option<Box<StoredMetadata>>,
    /// Whether it lies at a key other than its `digestS3Object`.
    pub moved: bool,
    /// Signature verdict (parsed digests only).
    pub auth: Option<Authentication>,
    /// Whether an authentic later digest recorded a different hash for it
    /// (`digest.modified`): its own signature then proves nothing about
    /// the log files it lists.
    pub contradicted: bool,
    /// Whether its time lies in the run's time range. Digests outside it
    /// are still read and used as evidence (a later digest may contradict
    /// an earlier one in range), but nothing is reported about them and
    /// the log files they list are not examined.
    pub in_range: bool,
    /// Whether its time is in range but its chain is not selected
    /// (`--account-id`, `--region`, `--trail…`): treated as out of range, and
    /// when authentic, the files delivered in its window at its place are
    /// not judged (they may be its trail's, not a selected one's).
    pub deselected: bool,
    /// Whether it is in range and the run reports on it. A shard that
    /// examines some days of a place reads every digest of the place in
    /// range (they judge its log files), but only the shard that owns the
    /// place reports on them.
    pub reported: bool,
    /// Whether an earlier audit's checkpoint vouches for it (`--incremental`):
    /// it lies in its chain at or before the checkpointed head, which is
    /// still there, unchanged, with the chain going on through it. The log
    /// files only such digests list are not hashed again.
    pub trusted: bool,
    /// How many log files its listing named when the listing did not fit
    /// the run's memory budget and was dropped: they were not examined.
    pub dropped_listing: Option<usize>,
    /// Where the log files it lists lie, by (location, day): the partitions
    /// that read its listing again. Listings are not held between partitions.
    pub routes: Vec<Route>,
    /// How many log files it lists.
    pub listed: usize,
    /// Its listing by route, kept from the first read while a small cache
    /// allows: a partition takes its part instead of reading the file again.
    pub cached: std::sync::Mutex<Vec<(Route, Vec<crate::digest::LogFileRef>)>>,
}

/// Where a digest's listed log files lie: the log folder of a location on
/// one day, or (`Misc`) anywhere else (unsafe or misplaced keys).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Route {
    /// `…/CloudTrail/R/YYYY/MM/DD/` of a location.
    Day(crate::layout::Location, jiff::civil::Date),
    /// Keys that are not log file keys at their place.
    Misc,
}

impl Route {
    /// Where a listed key lies.
    #[must_use]
    pub fn of(bucket: &str, key: &str) -> Route {
        crate::layout::log_folder(key)
            .and_then(|(folder, date)| Some(Route::Day(location_of(bucket, folder)?, date)))
            .unwrap_or(Route::Misc)
    }

    /// Whether a listed key lies here; without allocating for a day.
    #[must_use]
    pub fn holds(&self, matcher: &RouteMatcher, bucket: &str, key: &str) -> bool {
        match (self, matcher) {
            (Route::Day(_, date), RouteMatcher::Day { bucket: b, folder }) => {
                bucket == b
                    && crate::layout::log_folder(key)
                        .is_some_and(|(f, d)| f == folder && d == *date)
            }
            _ => Route::of(bucket, key) == *self,
        }
    }

    /// What [`Route::holds`] compares keys with.
    #[must_use]
    pub fn matcher(&self) -> RouteMatcher {
        match self {
            Route::Day(location, date) => RouteMatcher::Day {
                bucket: location.bucket.clone(),
                folder: format!(
                    "{}{}",
                    location.folder(crate::layout::Service::Logs),
                    date.strftime("%Y/%m/%d")
                ),
            },
            Route::Misc => RouteMatcher::Misc,
        }
    }
}

/// A route's bucket and day folder key, to test keys against quickly.
#[derive(Debug, Clone)]
pub enum RouteMatcher {
    /// `bucket` and `…/CloudTrail/R/YYYY/MM/DD`.
    Day {
        /// The bucket.
        bucket: String,
        /// The day folder's key (no final `/`).
        folder: String,
    },
    /// Anything that is no day.
    Misc,
}

/// The location of a log day folder key (`…/CloudTrail/R/YYYY/MM/DD`).
fn location_of(bucket: &str, folder: &str) -> Option<crate::layout::Location> {
    let layout = crate::layout::parse_layout(
        &format!("{folder}/x"),
        crate::layout::Service::Logs.folder(),
    )?;
    Some(crate::layout::Location::of(bucket, &layout))
}

/// A listing split by route (routes in order); a location is computed only
/// when the day folder changes.
#[must_use]
pub fn split_by_route(
    files: Vec<crate::digest::LogFileRef>,
) -> Vec<(Route, Vec<crate::digest::LogFileRef>)> {
    let mut parts: Vec<(Route, Vec<crate::digest::LogFileRef>)> = Vec::new();
    let mut last: Option<(String, String, jiff::civil::Date)> = None;
    for file in files {
        let route = match crate::layout::log_folder(&file.object) {
            Some((folder, date)) => {
                let same = last
                    .as_ref()
                    .is_some_and(|(b, f, d)| **b == *file.bucket && f == folder && *d == date);
                if same
                    && let Some((route, list)) = parts.last_mut()
                    && matches!(route, Route::Day(..))
                {
                    list.push(file);
                    continue;
                }
                last = Some((file.bucket.to_string(), folder.to_owned(), date));
                location_of(&file.bucket, folder).map_or(Route::Misc, |l| Route::Day(l, date))
            }
            None => Route::Misc,
        };
        match parts.iter_mut().find(|(r, _)| *r == route) {
            Some((_, list)) => list.push(file),
            None => parts.push((route, vec![file])),
        }
    }
    parts.sort_by(|a, b| a.0.cmp(&b.0));
    parts
}

/// The routes of a listing, in order and without repeats, computing a
/// location only when the day folder changes.
#[must_use]
pub fn routes_of(files: &[crate::digest::LogFileRef]) -> Vec<Route> {
    let mut routes: Vec<Route> = Vec::new();
    let mut last: Option<(&str, &str, jiff::civil::Date)> = None;
    for file in files {
        match crate::layout::log_folder(&file.object) {
            Some((folder, date)) => {
                if last == Some((&*file.bucket, folder, date)) {
                    continue;
                }
                last = Some((&*file.bucket, folder, date));
                routes.push(
                    location_of(&file.bucket, folder)
                        .map_or(Route::Misc, |location| Route::Day(location, date)),
                );
            }
            None => routes.push(Route::Misc),
        }
    }
    routes.sort_unstable();
    routes.dedup();
    // Held to the end of the run, one list per digest: no spare room.
    routes.shrink_to_fit();
    routes
}

impl DigestRecord {
    /// Frees what only the signature and link checks needed (signatures,
    /// links, the metadata found at a moved digest's claimed key): a large
    /// archive has one record per digest, held to the end of the run.
    pub fn keep_only_what_reports_need(&mut self) {
        self.metadata.signature = None;
        self.metadata.algorithm = None;
        self.claimed_metadata = None;
        if let Ok(digest) = &mut self.parsed {
            digest.previous_signature = None;
            digest.previous = None;
            digest.object = String::new();
            digest.end_time_text = String::new();
        }
    }

    /// `s3://bucket/key` of where the file lies.
    #[must_use]
    pub fn url(&self) -> String {
        mirror::s3_url(&self.bucket, &self.key)
    }

    /// The digest's time: `digestEndTime`, or the time in its name.
    #[must_use]
    pub fn time(&self) -> Option<Timestamp> {
        self.parsed
            .as_ref()
            .ok()
            .map(|d| d.end_time)
            .or_else(|| self.name.as_ref().map(|n| n.time))
    }

    /// Whether a signature verified and no later digest contradicts it, so
    /// that its content can be trusted.
    #[must_use]
    pub fn is_authentic(&self) -> bool {
        !self.contradicted && self.auth.as_ref().is_some_and(|a| a.verified_by.is_some())
    }

    /// SHA-256 and size of its metadata sidecar, when one was read.
    #[must_use]
    pub fn sidecar_stored(&self) -> Option<StoredHash> {
        self.metadata.sidecar_stored
    }

    /// Whether this is a `_backfill` digest.
    #[must_use]
    pub fn is_backfill(&self) -> bool {
        self.name.as_ref().is_some_and(|n| n.backfill)
    }
}
