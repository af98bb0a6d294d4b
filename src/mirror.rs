//! The local mirror of a CloudTrail bucket: what files it holds, which S3
//! key each one has, and how to open them without changing anything.
//!
//! A mirror root is a directory that holds bucket objects at their keys, as
//! `aws s3 sync s3://BUCKET DIR` writes them, or any sub-tree of it that still
//! contains `AWSLogs/...`. [`scan`] walks it once (links are never followed,
//! nothing is written) and classifies every regular file by its place in the
//! CloudTrail key layout (SPEC §5). Which bucket and key prefix a root stands
//! for is worked out later from the digests themselves
//! ([`Inventory::locate_roots`]).

use crate::error::Error;
use crate::evidence::{EntryKind, FolderEntry, read_folder};
use crate::layout::classify;
pub use crate::layout::{
    DigestName, FileKind, KeyLayout, SIDECAR_SUFFIX, digest_file_time, is_safe_key,
    parse_digest_name, parse_layout, parse_log_time, s3_url,
};
use std::path::{Path, PathBuf};

/// One entry of the mirror.
#[derive(Debug, Clone)]
pub struct MirrorFile {
    /// Index of the mirror root in [`Inventory::roots`].
    pub root: usize,
    /// Path relative to the root, with `/` separators: the S3 key without the root's prefix.
    pub rel: Box<str>,
    /// Size in bytes as listed by the walk.
    pub size: u64,
    /// Classification by key layout.
    pub kind: FileKind,
}

/// One mirror root and the S3 location it stands for.
#[derive(Debug, Clone)]
pub struct MirrorRoot {
    /// The directory as given on the command line.
    pub path: PathBuf,
    /// The bucket this root mirrors, once known.
    pub bucket: Option<String>,
    /// The key prefix of the root inside its bucket (empty, or ending with `/`).
    pub prefix: String,
}

/// Every file found under the mirror roots, sorted by (root, relative path).
#[derive(Debug, Default)]
pub struct Inventory {
    /// The roots, in command-line order.
    pub roots: Vec<MirrorRoot>,
    /// All entries, sorted by `(root, rel)` for binary search.
    pub files: Vec<MirrorFile>,
    /// Places inside the roots that could not be read.
    pub unreadable: Vec<Unreadable>,
    /// Files and folders whose name is not UTF-8: no S3 key can be, so they
    /// cannot be objects of the bucket (folders are not entered).
    pub invalid_names: Vec<InvalidName>,
    /// The day folders of log files (`…/CloudTrail/R/YYYY/MM/DD`), sorted by
    /// (root, path): not listed by the scan, but one partition at a time, so
    /// that memory does not grow with the number of log files.
    pub day_folders: Vec<DayFolder>,
    /// Folders a partition keeps open, sorted by (root, path): their files
    /// are opened relative to them (no path lookup per file).
    pub(crate) open_folders: Vec<(usize, Box<str>, crate::evidence::OpenFolder)>,
}

/// A folder of one day's log files of one account and region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayFolder {
    /// Index of the root.
    pub root: usize,
    /// Path relative to the root, `/`-separated, without a final `/`.
    pub rel: Box<str>,
    /// The date its name gives.
    pub date: jiff::civil::Date,
}

/// The date of a log day folder `…/CloudTrail/R/YYYY/MM/DD` (its key
/// relative to a root, anchored at the end).
#[must_use]
pub fn day_folder_date(rel: &str) -> Option<jiff::civil::Date> {
    let mut parts = rel.rsplit('/');
    let (day, month, year, _region, service) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let number = |s: &str, len: usize| {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<i16>().ok())
            .flatten()
    };
    if service != "CloudTrail" {
        return None;
    }
    let (y, m, d) = (number(year, 4)?, number(month, 2)?, number(day, 2)?);
    jiff::civil::Date::new(y, i8::try_from(m).ok()?, i8::try_from(d).ok()?).ok()
}

/// Whether a file at `rel` can be a CloudTrail object (it lies below a
/// `CloudTrail` or `CloudTrail-Digest` folder); others are not kept.
fn in_cloudtrail_folder(rel: &str) -> bool {
    rel.split('/')
        .rev()
        .skip(1)
        .any(|part| part == "CloudTrail" || part == "CloudTrail-Digest")
}

/// A place inside a mirror root that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// Index of the root.
    pub root: usize,
    /// The folder or file.
    pub path: PathBuf,
    /// Why, from the operating system.
    pub reason: String,
}

/// A file or folder whose name is not UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidName {
    /// Index of the root.
    pub root: usize,
    /// The file or folder.
    pub path: PathBuf,
    /// Whether it is a folder (its content was not examined).
    pub folder: bool,
}

/// Walks every root once and classifies what it finds. Links are reported
/// as [`FileKind::NotRegular`] and never followed (a root that is itself a
/// link is followed). Folders are opened with `O_NOATIME` where the kernel
/// permits it, so reading them does not change their access time.
///
/// Folders inside a root that cannot be read are listed in
/// [`Inventory::unreadable`] and the walk goes on; names that are not
/// UTF-8 are listed in [`Inventory::invalid_names`].
///
/// # Errors
/// [`Error::MirrorUnreadable`] when a root cannot be read.
pub fn scan(roots: &[PathBuf]) -> Result<Inventory, Error> {
    check_roots_disjoint(roots)?;
    let mut inventory = Inventory::default();
    for (index, root) in roots.iter().enumerate() {
        let meta = std::fs::metadata(root).map_err(|source| Error::MirrorUnreadable {
            path: root.clone(),
            source,
        })?;
        if !meta.is_dir() {
            return Err(Error::MirrorNotDirectory { path: root.clone() });
        }
        inventory.roots.push(MirrorRoot {
            path: root.clone(),
            bucket: None,
            prefix: String::new(),
        });
        walk_root(&mut inventory, index, root)?;
    }
    inventory
        .files
        .sort_unstable_by(|a, b| (a.root, &*a.rel).cmp(&(b.root, &*b.rel)));
    inventory
        .unreadable
        .sort_by(|a, b| (a.root, &a.path).cmp(&(b.root, &b.path)));
    inventory
        .invalid_names
        .sort_by(|a, b| (a.root, &a.path).cmp(&(b.root, &b.path)));
    inventory
        .day_folders
        .sort_by(|a, b| (a.root, &a.rel).cmp(&(b.root, &b.rel)));
    Ok(inventory)
}

/// Depth-first walk of one root. Each folder's entries are read whole and
/// the folder closed before its sub-folders are entered, so deep nesting
/// costs no file descriptors.
fn walk_root(inventory: &mut Inventory, index: usize, root: &Path) -> Result<(), Error> {
    let entries = read_folder(root, true).map_err(|source| Error::MirrorUnreadable {
        path: root.to_path_buf(),
        source,
    })?;
    // (folder path, its key relative to the root, its entries)
    let mut pending: Vec<(PathBuf, String, Vec<FolderEntry>)> =
        vec![(root.to_path_buf(), String::new(), entries)];
    while let Some((folder, rel, entries)) = pending.pop() {
        for entry in entries {
            let path = folder.join(&entry.name);
            let Some(name) = entry.name.to_str() else {
                inventory.invalid_names.push(InvalidName {
                    root: index,
                    path,
                    folder: entry.kind == EntryKind::Folder,
                });
                continue;
            };
            let key = if rel.is_empty() {
                name.to_owned()
            } else {
                format!("{rel}/{name}")
            };
            match entry.kind {
                // What `trailproof collect` keeps beside the objects (record,
                // keys, old versions) is checked by the custody stage.
                EntryKind::Folder if key == crate::layout::COLLECTION_DIR => {}
                EntryKind::Folder if day_folder_date(&key).is_some() => {
                    if let Some(date) = day_folder_date(&key) {
                        inventory.day_folders.push(DayFolder {
                            root: index,
                            rel: key.into_boxed_str(),
                            date,
                        });
                    }
                }
                EntryKind::Folder => match read_folder(&path, false) {
                    Ok(children) => pending.push((path, key, children)),
                    Err(e) => inventory.unreadable.push(Unreadable {
                        root: index,
                        path,
                        reason: e.to_string(),
                    }),
                },
                EntryKind::File(_) if !in_cloudtrail_folder(&key) => {}
                EntryKind::File(size) => inventory.files.push(MirrorFile {
                    root: index,
                    kind: classify(&key),
                    rel: key.into_boxed_str(),
                    size,
                }),
                EntryKind::Other => inventory.files.push(MirrorFile {
                    root: index,
                    rel: key.into_boxed_str(),
                    size: 0,
                    kind: FileKind::NotRegular,
                }),
                EntryKind::Unknown(reason) => inventory.unreadable.push(Unreadable {
                    root: index,
                    path,
                    reason,
                }),
            }
        }
    }
    Ok(())
}

/// Refuses roots that are the same directory or inside one another (the
/// same objects would be counted twice).
fn check_roots_disjoint(roots: &[PathBuf]) -> Result<(), Error> {
    let canonical: Vec<(PathBuf, &PathBuf)> = roots
        .iter()
        .map(|r| {
            std::fs::canonicalize(r)
                .map(|c| (c, r))
                .map_err(|source| Error::MirrorUnreadable {
                    path: r.clone(),
                    source,
                })
        })
        .collect::<Result<_, _>>()?;
    for (i, (a, a_given)) in canonical.iter().enumerate() {
        for (b, b_given) in canonical.iter().skip(i + 1) {
            if a.starts_with(b) || b.starts_with(a) {
                return Err(Error::RootsOverlap {
                    first: (*a_given).clone(),
                    second: (*b_given).clone(),
                });
            }
        }
    }
    Ok(())
}

/// A path as text, with every byte that is not part of valid UTF-8 written
/// `\xNN`, so that it can be shown and compared.
#[must_use]
pub fn escape_path(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt as _;
    let mut out = String::new();
    for chunk in path.as_os_str().as_bytes().utf8_chunks() {
        out.push_str(chunk.valid());
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out
}

impl Inventory {
    /// Entries of one kind, in (root, path) order.
    pub fn of_kind(&self, kind: FileKind) -> impl Iterator<Item = (usize, &MirrorFile)> {
        self.files
            .iter()
            .enumerate()
            .filter(move |(_, f)| f.kind == kind)
    }

    /// Index in [`Inventory::files`] of an entry of this inventory.
    #[must_use]
    pub fn index_of(&self, file: &MirrorFile) -> usize {
        self.files
            .binary_search_by(|f| (f.root, &*f.rel).cmp(&(file.root, &*file.rel)))
            .unwrap_or(0)
    }

    /// The entry at `rel` under `root`, if the walk found one.
    #[must_use]
    pub fn find(&self, root: usize, rel: &str) -> Option<&MirrorFile> {
        self.files
            .binary_search_by(|f| (f.root, &*f.rel).cmp(&(root, rel)))
            .ok()
            .and_then(|i| self.files.get(i))
    }

    /// Opens an entry for reading (relative to its folder when the partition
    /// keeps that open) and says its size.
    ///
    /// # Errors
    /// As `crate::evidence::open_evidence`.
    pub fn open_file(&self, file: &MirrorFile) -> std::io::Result<(std::fs::File, u64)> {
        let opened = match file.rel.rsplit_once('/') {
            Some((folder, name)) => self
                .open_folders
                .binary_search_by(|(r, f, _)| (*r, &**f).cmp(&(file.root, folder)))
                .ok()
                .and_then(|i| self.open_folders.get(i))
                .map(|(_, _, open)| open.open_file(std::ffi::OsStr::new(name))),
            None => None,
        };
        match opened {
            Some(opened) => opened,
            None => crate::evidence::open_evidence_sized(&self.path_of(file)),
        }
    }

    /// Local path of an entry.
    #[must_use]
    pub fn path_of(&self, file: &MirrorFile) -> PathBuf {
        self.local_path(file.root, &file.rel)
    }

    /// The first ancestor folder of `rel` under `root` that the walk found to
    /// be a link (or other non-directory), if any: keys through it lead
    /// outside what the walk examined.
    #[must_use]
    pub fn linked_ancestor(&self, root: usize, rel: &str) -> Option<&MirrorFile> {
        let mut end = 0;
        while let Some(offset) = rel.get(end..).and_then(|rest| rest.find('/')) {
            end += offset;
            let ancestor = rel.get(..end)?;
            if let Some(file) = self.find(root, ancestor) {
                return Some(file);
            }
            end += 1;
        }
        None
    }

    /// [`Inventory::linked_ancestor`] for an S3 object, across the roots that mirror its bucket.
    #[must_use]
    pub fn linked_ancestor_of(&self, bucket: &str, key: &str) -> Option<&MirrorFile> {
        self.roots.iter().enumerate().find_map(|(index, root)| {
            if root.bucket.as_deref() != Some(bucket) {
                return None;
            }
            let rel = key.strip_prefix(root.prefix.as_str())?;
            self.linked_ancestor(index, rel)
        })
    }

    /// `root/rel` with the platform's separators.
    #[must_use]
    pub fn local_path(&self, root: usize, rel: &str) -> PathBuf {
        let mut path = self
            .roots
            .get(root)
            .map(|r| r.path.clone())
            .unwrap_or_default();
        path.extend(rel.split('/'));
        path
    }

    /// The S3 key of an entry (root prefix + relative path).
    #[must_use]
    pub fn key_of(&self, file: &MirrorFile) -> String {
        let prefix = self.roots.get(file.root).map_or("", |r| r.prefix.as_str());
        format!("{prefix}{}", file.rel)
    }

    /// The bucket of an entry's root, or `?` when it could not be worked out.
    #[must_use]
    pub fn bucket_of(&self, file: &MirrorFile) -> &str {
        self.roots
            .get(file.root)
            .and_then(|r| r.bucket.as_deref())
            .unwrap_or("?")
    }

    /// `s3://bucket/key` of a path under a root (the bucket as worked out,
    /// `?` when unknown; bytes of a name that are not UTF-8 as `\xNN`);
    /// `file://path` when the path is not under the root.
    #[must_use]
    pub fn url_of_path(&self, root: usize, path: &Path) -> String {
        let Some(r) = self.roots.get(root) else {
            return format!("file://{}", escape_path(path));
        };
        match path.strip_prefix(&r.path) {
            Ok(rel) => s3_url(
                r.bucket.as_deref().unwrap_or("?"),
                &format!("{}{}", r.prefix, escape_path(rel)),
            ),
            Err(_) => format!("file://{}", escape_path(path)),
        }
    }

    /// `s3://bucket/key` of an entry.
    #[must_use]
    pub fn url_of(&self, file: &MirrorFile) -> String {
        s3_url(self.bucket_of(file), &self.key_of(file))
    }

    /// Where the object `bucket`/`key` is in the mirror: `Ok(entry)` when a
    /// root mirrors that bucket and holds the key, `Err(Some(path))` with the
    /// path where it would be when a root mirrors the bucket but lacks the
    /// key, `Err(None)` when no root mirrors that bucket (or prefix).
    ///
    /// The key must already be known to be safe ([`is_safe_key`]).
    pub fn resolve(&self, bucket: &str, key: &str) -> Result<&MirrorFile, Option<PathBuf>> {
        let mut expected = None;
        for (index, root) in self.roots.iter().enumerate() {
            if root.bucket.as_deref() != Some(bucket) {
                continue;
            }
            let Some(rel) = key.strip_prefix(root.prefix.as_str()) else {
                continue;
            };
            if let Some(file) = self.find(index, rel) {
                return Ok(file);
            }
            expected.get_or_insert_with(|| self.local_path(index, rel));
        }
        Err(expected)
    }

    /// The unreadable folder that `path` (a path under a root) lies in, if
    /// any: what is there could not be listed, so its absence proves nothing.
    #[must_use]
    pub fn unreadable_ancestor(&self, path: &Path) -> Option<&Unreadable> {
        self.unreadable.iter().find(|u| path.starts_with(&u.path))
    }

    /// Works out which bucket and key prefix each root mirrors from
    /// `claims`: `(root, relative path, bucket, full key)` of objects whose
    /// true key is known (a digest's own `digestS3Object`, or a log file a
    /// digest lists). Each claim whose key ends with its relative path votes
    /// for `(bucket, rest of the key)`; the most common vote wins (ties: the
    /// smallest). `--bucket`/`--prefix` override the vote.
    ///
    /// # Errors
    /// [`Error::RootNotLocated`] for a root no claim votes for (and no
    /// override covers), [`Error::RootsOverlap`] when two roots hold the
    /// same keys of one bucket.
    pub fn locate_roots<'a>(
        &mut self,
        claims: impl Iterator<Item = (usize, &'a str, &'a str, &'a str)>,
        bucket_override: Option<&str>,
        prefix_override: Option<&str>,
    ) -> Result<(), Error> {
        use std::collections::BTreeMap;
        let mut votes: Vec<BTreeMap<(String, String), usize>> =
            vec![BTreeMap::new(); self.roots.len()];
        for (root, rel, claimed_bucket, claimed_key) in claims {
            let Some(prefix) = claimed_key.strip_suffix(rel) else {
                continue;
            };
            if !(prefix.is_empty() || prefix.ends_with('/')) {
                continue;
            }
            if let Some(count) = votes.get_mut(root).map(|v| {
                v.entry((claimed_bucket.to_owned(), prefix.to_owned()))
                    .or_default()
            }) {
                *count += 1;
            }
        }
        for (index, root) in self.roots.iter_mut().enumerate() {
            let best = votes
                .get(index)
                .and_then(|v| most_common(v.iter()))
                .cloned();
            let prefix = prefix_override.map(|p| {
                if p.is_empty() || p.ends_with('/') {
                    p.to_owned()
                } else {
                    format!("{p}/")
                }
            });
            let (bucket, prefix) = match (bucket_override, prefix, best) {
                (Some(b), Some(p), _) => (b.to_owned(), p),
                (b, p, Some((voted_bucket, voted_prefix))) => (
                    b.map_or(voted_bucket, str::to_owned),
                    p.unwrap_or(voted_prefix),
                ),
                (Some(b), None, None) => (b.to_owned(), String::new()),
                (None, _, None) => {
                    return Err(Error::RootNotLocated {
                        path: root.path.clone(),
                    });
                }
            };
            root.bucket = Some(bucket);
            root.prefix = prefix;
        }
        self.add_day_folders_below_prefixes();
        for (i, a) in self.roots.iter().enumerate() {
            for (j, b) in self.roots.iter().enumerate().skip(i + 1) {
                if a.bucket == b.bucket && self.share_a_key(i, j) {
                    return Err(Error::RootsOverlap {
                        first: a.path.clone(),
                        second: b.path.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Adds the day folders of roots located inside a log folder (e.g. at
    /// `…/CloudTrail/REGION/`): the scan recognises day folders by their path
    /// below the root, which does not show them there, and lists no file
    /// outside a `CloudTrail` folder.
    fn add_day_folders_below_prefixes(&mut self) {
        let mut found = Vec::new();
        for (index, root) in self.roots.iter().enumerate() {
            if !root.prefix.split('/').any(|part| part == "CloudTrail") {
                continue;
            }
            if let Some(date) = day_folder_date(root.prefix.trim_end_matches('/')) {
                // The root is itself a day folder.
                found.push(DayFolder {
                    root: index,
                    rel: "".into(),
                    date,
                });
                continue;
            }
            // (folder, its key relative to the root, how many parts that has)
            let mut pending = vec![(root.path.clone(), String::new(), 0usize)];
            while let Some((folder, rel, depth)) = pending.pop() {
                // An unreadable folder was reported by the scan.
                let Ok(entries) = read_folder(&folder, rel.is_empty()) else {
                    continue;
                };
                for entry in entries {
                    let Some(name) = entry.name.to_str() else {
                        continue;
                    };
                    if !matches!(entry.kind, EntryKind::Folder) {
                        continue;
                    }
                    let key = if rel.is_empty() {
                        name.to_owned()
                    } else {
                        format!("{rel}/{name}")
                    };
                    if let Some(date) = day_folder_date(&format!("{}{key}", root.prefix)) {
                        found.push(DayFolder {
                            root: index,
                            rel: key.into_boxed_str(),
                            date,
                        });
                    } else if depth < 4 {
                        // At most REGION/YYYY/MM/DD below a `CloudTrail/` prefix.
                        pending.push((folder.join(&entry.name), key, depth + 1));
                    }
                }
            }
        }
        self.day_folders.extend(found);
        self.day_folders
            .sort_by(|a, b| (a.root, &a.rel).cmp(&(b.root, &b.rel)));
        self.day_folders
            .dedup_by(|a, b| a.root == b.root && a.rel == b.rel);
    }

    /// Whether two roots of one bucket hold a file at the same key (two
    /// roots that split a bucket, e.g. one region each, hold none).
    fn share_a_key(&self, a: usize, b: usize) -> bool {
        let (Some(ra), Some(rb)) = (self.roots.get(a), self.roots.get(b)) else {
            return false;
        };
        // Let `outer` be the root with the shorter prefix.
        let (outer, inner, rest) = if let Some(rest) = rb.prefix.strip_prefix(ra.prefix.as_str()) {
            (a, b, rest)
        } else if let Some(rest) = ra.prefix.strip_prefix(rb.prefix.as_str()) {
            (b, a, rest)
        } else {
            return false; // disjoint prefixes
        };
        let outer_has_day = |rel: &str| {
            self.day_folders
                .binary_search_by(|d| (d.root, &*d.rel).cmp(&(outer, rel)))
                .is_ok()
        };
        self.files
            .iter()
            .filter(|f| f.root == inner)
            .any(|f| self.find(outer, &format!("{rest}{}", f.rel)).is_some())
            || self
                .day_folders
                .iter()
                .filter(|d| d.root == inner)
                .any(|d| outer_has_day(&format!("{rest}{}", d.rel)))
    }

    /// Roots that no digest located: for each, the claims its log files
    /// make, found by looking for the keys digests list (a sample of them)
    /// under it.
    #[must_use]
    pub fn log_claims<'a>(
        &self,
        unlocated: &[usize],
        listed: impl Iterator<Item = (&'a str, &'a str)>,
    ) -> Vec<(usize, String, String, String)> {
        let mut claims = Vec::new();
        for (bucket, key) in listed {
            if !is_safe_key(key) {
                continue;
            }
            for &root in unlocated {
                // Try every suffix of the key at a '/' boundary.
                let mut rest = key;
                loop {
                    let present = self
                        .find(root, rest)
                        .is_some_and(|f| f.kind != FileKind::NotRegular)
                        || std::fs::symlink_metadata(self.local_path(root, rest))
                            .is_ok_and(|m| m.is_file());
                    if present {
                        claims.push((root, rest.to_owned(), bucket.to_owned(), key.to_owned()));
                        break;
                    }
                    match rest.split_once('/') {
                        Some((_, tail)) => rest = tail,
                        None => break,
                    }
                }
            }
        }
        claims
    }
}

fn most_common<'a, K: 'a>(counts: impl Iterator<Item = (&'a K, &'a usize)>) -> Option<&'a K> {
    // BTreeMap iteration is ordered, so `max_by_key` keeping the first maximum
    // would keep the last; reverse the comparison on ties to keep the smallest.
    let mut best: Option<(&K, usize)> = None;
    for (key, &count) in counts {
        if best.is_none_or(|(_, c)| count > c) {
            best = Some((key, count));
        }
    }
    best.map(|(k, _)| k)
}
