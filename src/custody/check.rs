//! `verify`'s custody stage: every file of a collected root checked against
//! the collection record, in one sorted walk merged with the record's sorted
//! object list (memory does not grow with the archive).

use super::history::History;
use super::record::{
    COLLECTION_DIR, CollectionRecord, FORMAT, FileEntry, OBJECTS_FILE, RECORD_FILE, RecordKind,
    path_order,
};
use crate::evidence::{EntryKind, open_evidence, read_folder};
use crate::finding::{Finding, FindingCode, STORED_SHA256};
use rayon::prelude::*;
use sha2::{Digest as _, Sha256};
use std::cmp::Ordering;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// Largest `record.json` read (it holds no per-object list).
const MAX_RECORD_BYTES: u64 = 64 << 20;
/// Longest line of `objects.jsonl` read.
const MAX_LINE_BYTES: u64 = 1 << 20;
/// Files hashed together on every core.
const BATCH: usize = 512;

/// What the custody stage found in one mirror root.
#[derive(Debug, Default)]
pub(crate) struct Custody {
    /// The record, when it could be read.
    pub record: Option<CollectionRecord>,
    /// `collection.*` findings.
    pub findings: Vec<Finding>,
    /// Noncurrent versions and delete markers the record holds.
    pub history: History,
    /// Files checked against the record.
    pub files_checked: u64,
}

/// Checks the root `root` against its collection record; `None` when the
/// root was not filled by `collect`.
pub(crate) fn check(root: &Path) -> Option<Custody> {
    let folder = root.join(COLLECTION_DIR);
    let record_path = folder.join(RECORD_FILE);
    if std::fs::symlink_metadata(&folder).is_ok_and(|m| !m.is_dir()) {
        return Some(Custody {
            findings: vec![invalid(
                &folder,
                "it is not a folder (a link or a file), never followed",
            )],
            ..Custody::default()
        });
    }
    let record = match read_record(&record_path) {
        Ok(Some(record)) => record,
        Ok(None) => {
            let interrupted = std::fs::symlink_metadata(&folder).is_ok();
            return interrupted.then(|| Custody {
                findings: vec![no_record(&folder)],
                ..Custody::default()
            });
        }
        Err(problem) => {
            return Some(Custody {
                findings: vec![invalid(&record_path, &problem)],
                ..Custody::default()
            });
        }
    };
    let mut custody = Custody {
        history: History::new(root, &record),
        ..Custody::default()
    };
    custody.findings.extend(record_findings(root, &record));
    let objects_path = folder.join(OBJECTS_FILE);
    match Merge::new(root, &record).run(&objects_path, &mut custody) {
        Ok(()) => {}
        Err(problem) => custody.findings.push(invalid(&objects_path, &problem)),
    }
    custody.record = Some(record);
    Some(custody)
}

fn read_record(path: &Path) -> Result<Option<CollectionRecord>, String> {
    let file = match open_evidence(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let mut text = Vec::new();
    file.take(MAX_RECORD_BYTES + 1)
        .read_to_end(&mut text)
        .map_err(|e| e.to_string())?;
    if text.len() as u64 > MAX_RECORD_BYTES {
        return Err(format!("larger than {MAX_RECORD_BYTES} bytes"));
    }
    let record: CollectionRecord = serde_json::from_slice(&text).map_err(|e| e.to_string())?;
    if record.format != FORMAT {
        return Err(format!(
            "format {:?}, expected {FORMAT:?}",
            crate::text::escape_control(&record.format)
        ));
    }
    Ok(Some(record))
}

fn no_record(folder: &Path) -> Finding {
    Finding::new(
        FindingCode::CollectionIncomplete,
        folder.display().to_string(),
        format!(
            "{} exists but holds no {RECORD_FILE}: `trailproof collect` was interrupted before it finished, so nothing vouches for when and how these files were taken.",
            folder.display()
        ),
    )
    .at(Some(folder.to_path_buf()))
}

fn invalid(path: &Path, problem: &str) -> Finding {
    Finding::new(
        FindingCode::CollectionRecordInvalid,
        path.display().to_string(),
        format!(
            "The collection record cannot be trusted: {}. No file of this root can be checked against it.",
            crate::text::escape_control(problem)
        ),
    )
    .at(Some(path.to_path_buf()))
}

/// What the record itself says went wrong during the collection.
fn record_findings(root: &Path, record: &CollectionRecord) -> Vec<Finding> {
    let mut findings = Vec::new();
    for conflict in &record.conflicts {
        let url = crate::layout::s3_url(&record.bucket, &conflict.key);
        let object = conflict
            .object_sha256
            .as_deref()
            .unwrap_or("not downloaded");
        findings.push(
            Finding::new(
                FindingCode::CollectionConflict,
                url,
                format!(
                    "At collection ({}), the local file differed from the bucket's object (ETag {}); collect kept the local file and did not overwrite it, so this file is not the bucket's object.",
                    record.finished_at,
                    crate::text::escape_control(&conflict.etag)
                ),
            )
            .at(Some(root.join(&conflict.path)))
            .hashes(STORED_SHA256, object, conflict.local_sha256.as_str()),
        );
    }
    if !record.complete {
        let failed: Vec<String> = record
            .failures
            .iter()
            .take(5)
            .map(|f| crate::text::escape_control(&f.key).into_owned())
            .collect();
        findings.push(
            Finding::new(
                FindingCode::CollectionIncomplete,
                format!("s3://{}/{}", record.bucket, record.prefix),
                format!(
                    "The collection of {} at {} did not fetch every object: {} failed (first: {}) and {} conflicted.",
                    record.bucket,
                    record.finished_at,
                    record.failures.len(),
                    failed.join(", "),
                    record.conflicts.len()
                ),
            )
            .at(Some(root.join(COLLECTION_DIR).join(RECORD_FILE))),
        );
    }
    findings
}

/// The record's object list merged with a sorted walk of the root.
struct Merge<'a> {
    root: &'a Path,
    record: &'a CollectionRecord,
}

impl<'a> Merge<'a> {
    fn new(root: &'a Path, record: &'a CollectionRecord) -> Self {
        Merge { root, record }
    }

    fn run(&self, objects: &Path, custody: &mut Custody) -> Result<(), String> {
        let mut list = ObjectList::open(objects)?;
        let mut walk = SortedWalk::new(self.root);
        let mut next_entry = list.next_entry()?;
        let mut next_file = walk.next();
        let mut batch: Vec<(FileEntry, PathBuf)> = Vec::with_capacity(BATCH);
        loop {
            let order = match (&next_entry, &next_file) {
                (None, None) => break,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some(e), Some(f)) => path_order(&e.path, &f.rel),
            };
            match order {
                Ordering::Less => {
                    if let Some(entry) = next_entry.take() {
                        custody.history.add(&entry);
                        // A file this user cannot see is not a removed file
                        // (the mirror scan reports the unreadable folder).
                        if !walk.hides(&entry.path) {
                            custody.findings.push(self.removed(&entry));
                        }
                    }
                    next_entry = list.next_entry()?;
                }
                Ordering::Greater => {
                    if let Some(file) = next_file.take() {
                        custody.findings.push(self.added(&file));
                    }
                    next_file = walk.next();
                }
                Ordering::Equal => {
                    if let (Some(entry), Some(file)) = (next_entry.take(), next_file.take()) {
                        custody.history.add(&entry);
                        if let EntryKind::File(_) = file.kind {
                            batch.push((entry, self.root.join(&file.rel)));
                        } else {
                            custody.findings.push(self.replaced(&entry));
                        }
                    }
                    if batch.len() == BATCH {
                        self.hash_batch(&mut batch, custody);
                    }
                    next_entry = list.next_entry()?;
                    next_file = walk.next();
                }
            }
        }
        self.hash_batch(&mut batch, custody);
        list.finish(&self.record.objects_sha256, self.record.objects)
    }

    fn hash_batch(&self, batch: &mut Vec<(FileEntry, PathBuf)>, custody: &mut Custody) {
        let found: Vec<Option<Finding>> = batch
            .par_iter()
            .map(|(entry, path)| self.compare(entry, path))
            .collect();
        custody.files_checked += batch.len() as u64;
        custody.findings.extend(found.into_iter().flatten());
        batch.clear();
    }

    fn compare(&self, entry: &FileEntry, path: &Path) -> Option<Finding> {
        let actual = match stored_sha256(path) {
            Ok((size, hash)) if size == entry.size && hash == entry.sha256 => return None,
            Ok((size, hash)) => format!("{hash} ({size} bytes)"),
            // Not readable by this user: not examined, never called changed.
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => return None,
            Err(e) => format!("unreadable: {e}"),
        };
        Some(
            Finding::new(
                FindingCode::CollectionModified,
                self.object(entry),
                format!(
                    "The {} differs from what `trailproof collect` wrote at {}: it was changed after the collection, on this side of the chain of custody (not in the bucket).",
                    what(entry),
                    self.record.finished_at
                ),
            )
            .at(Some(path.to_path_buf()))
            .hashes(
                STORED_SHA256,
                format!("{} ({} bytes)", entry.sha256, entry.size),
                actual,
            ),
        )
    }

    fn removed(&self, entry: &FileEntry) -> Finding {
        Finding::new(
            FindingCode::CollectionRemoved,
            self.object(entry),
            format!(
                "The {} that `trailproof collect` wrote at {} is gone from the collected folder: it was removed after the collection.",
                what(entry),
                self.record.finished_at
            ),
        )
        .at(Some(self.root.join(&entry.path)))
        .hashes(STORED_SHA256, entry.sha256.as_str(), "no file")
    }

    fn replaced(&self, entry: &FileEntry) -> Finding {
        Finding::new(
            FindingCode::CollectionModified,
            self.object(entry),
            format!(
                "The {} that `trailproof collect` wrote is now a link or special file: it was replaced after the collection (links are never followed).",
                what(entry)
            ),
        )
        .at(Some(self.root.join(&entry.path)))
        .hashes(STORED_SHA256, entry.sha256.as_str(), "not a regular file")
    }

    fn added(&self, file: &Walked) -> Finding {
        let object = if file.rel.starts_with(COLLECTION_DIR) {
            file.rel.clone()
        } else {
            crate::layout::s3_url(&self.record.bucket, &file.rel)
        };
        Finding::new(
            FindingCode::CollectionAdded,
            crate::text::escape_control(&object).into_owned(),
            format!(
                "This file is not in the collection record of {}: it was put into the collected folder after the collection.",
                self.record.finished_at
            ),
        )
        .at(Some(self.root.join(&file.rel)))
    }

    fn object(&self, entry: &FileEntry) -> String {
        let url = |key: &str| crate::layout::s3_url(&self.record.bucket, key);
        let object = match (&entry.kind, &entry.key, &entry.version_id) {
            (RecordKind::Version, Some(key), Some(version)) => {
                format!("{}?versionId={version}", url(key))
            }
            (RecordKind::PublicKeys, _, _) | (_, None, _) => entry.path.clone(),
            (_, Some(key), _) => url(key),
        };
        crate::text::escape_control(&object).into_owned()
    }
}

fn what(entry: &FileEntry) -> &'static str {
    match entry.kind {
        RecordKind::Object => "file",
        RecordKind::Metadata => "digest's metadata sidecar",
        RecordKind::Version => "saved object version",
        RecordKind::PublicKeys => "public-key file",
    }
}

/// Size and SHA-256 of a file's bytes.
pub(crate) fn stored_sha256(path: &Path) -> std::io::Result<(u64, String)> {
    let mut file = open_evidence(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 256 << 10];
    let mut size = 0u64;
    loop {
        let n = match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(buffer.get(..n).unwrap_or_default());
        size += n as u64;
    }
    Ok((size, hex::encode(hasher.finalize())))
}

/// `objects.jsonl` read line by line, hashed as it is read.
struct ObjectList {
    reader: BufReader<std::fs::File>,
    hasher: Sha256,
    lines: u64,
    last: Option<String>,
}

impl ObjectList {
    fn open(path: &Path) -> Result<Self, String> {
        let file = open_evidence(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(ObjectList {
            reader: BufReader::new(file),
            hasher: Sha256::new(),
            lines: 0,
            last: None,
        })
    }

    fn next_entry(&mut self) -> Result<Option<FileEntry>, String> {
        let mut line = Vec::new();
        (&mut self.reader)
            .take(MAX_LINE_BYTES)
            .read_until(b'\n', &mut line)
            .map_err(|e| e.to_string())?;
        if line.is_empty() {
            return Ok(None);
        }
        if line.last() != Some(&b'\n') {
            return Err(format!(
                "line {} is unterminated or too long",
                self.lines + 1
            ));
        }
        self.hasher.update(&line);
        self.lines += 1;
        let entry: FileEntry = serde_json::from_slice(&line)
            .map_err(|e| format!("line {} of {OBJECTS_FILE}: {e}", self.lines))?;
        if !crate::layout::is_safe_key(&entry.path) {
            return Err(format!("line {} names an unsafe path", self.lines));
        }
        if let Some(last) = &self.last
            && path_order(last, &entry.path) != Ordering::Less
        {
            return Err(format!("line {} is out of order", self.lines));
        }
        self.last = Some(entry.path.clone());
        Ok(Some(entry))
    }

    fn finish(self, expected: &str, lines: u64) -> Result<(), String> {
        let actual = hex::encode(self.hasher.finalize());
        if actual != expected || lines != self.lines {
            return Err(format!(
                "{OBJECTS_FILE} was changed after the collection (SHA-256 {actual}, {} lines; the record says {expected}, {lines} lines)",
                self.lines
            ));
        }
        Ok(())
    }
}

/// One file (or link, FIFO…) met by the walk.
#[derive(Debug)]
struct Walked {
    rel: String,
    kind: EntryKind,
}

/// The root's files in [`path_order`], folders entered as met; the record
/// and object list themselves are left out, as are names that are not
/// UTF-8 (the mirror scan reports them).
struct SortedWalk {
    root: PathBuf,
    /// Folders being walked: their remaining entries, last first.
    stack: Vec<(String, Vec<(String, EntryKind)>)>,
    /// Folders that could not be listed.
    unreadable: Vec<String>,
}

impl SortedWalk {
    fn new(root: &Path) -> Self {
        let mut walk = SortedWalk {
            root: root.to_path_buf(),
            stack: Vec::new(),
            unreadable: Vec::new(),
        };
        walk.enter(String::new(), true);
        walk
    }

    fn enter(&mut self, rel: String, is_root: bool) {
        let path = if rel.is_empty() {
            self.root.clone()
        } else {
            self.root.join(&rel)
        };
        let Ok(entries) = read_folder(&path, is_root) else {
            self.unreadable.push(rel);
            return;
        };
        let mut named: Vec<(String, EntryKind)> = entries
            .into_iter()
            .filter_map(|e| e.name.into_string().ok().map(|n| (n, e.kind)))
            .collect();
        named.sort_by(|a, b| b.0.cmp(&a.0));
        self.stack.push((rel, named));
    }
}

impl SortedWalk {
    /// Whether `path` lies in a folder that could not be listed.
    fn hides(&self, path: &str) -> bool {
        self.unreadable.iter().any(|folder| {
            folder.is_empty()
                || path
                    .strip_prefix(folder.as_str())
                    .is_some_and(|rest| rest.starts_with('/'))
        })
    }
}

impl Iterator for SortedWalk {
    type Item = Walked;

    fn next(&mut self) -> Option<Walked> {
        loop {
            let (folder, entries) = self.stack.last_mut()?;
            let Some((name, kind)) = entries.pop() else {
                self.stack.pop();
                continue;
            };
            let rel = if folder.is_empty() {
                name
            } else {
                format!("{folder}/{name}")
            };
            match kind {
                EntryKind::Folder => self.enter(rel, false),
                _ if is_bookkeeping(&rel) => {}
                kind => return Some(Walked { rel, kind }),
            }
        }
    }
}

/// The record and its object list are not part of what they describe.
fn is_bookkeeping(rel: &str) -> bool {
    rel.strip_prefix(COLLECTION_DIR)
        .and_then(|r| r.strip_prefix('/'))
        .is_some_and(|name| name == RECORD_FILE || name == OBJECTS_FILE)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::custody::record::{Filters, Skipped};

    fn entry(path: &str, bytes: &[u8]) -> FileEntry {
        FileEntry {
            path: path.to_owned(),
            kind: RecordKind::Object,
            key: Some(path.to_owned()),
            version_id: None,
            etag: None,
            last_modified: None,
            checked: None,
            size: bytes.len() as u64,
            sha256: hex::encode(Sha256::digest(bytes)),
        }
    }

    /// Writes `files`, and a record listing `listed` (in that order, as given).
    fn collected(files: &[(&str, &[u8])], listed: &[FileEntry]) -> (tempfile::TempDir, Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        for (path, bytes) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
        }
        let mut list = Vec::new();
        for e in listed {
            serde_json::to_writer(&mut list, e).unwrap();
            list.push(b'\n');
        }
        let record = CollectionRecord {
            format: FORMAT.to_owned(),
            tool: "test".to_owned(),
            started_at: "2026-11-30T10:00:00Z".parse().unwrap(),
            finished_at: "2026-11-30T10:05:00Z".parse().unwrap(),
            complete: true,
            caller: crate::custody::record::Caller::default(),
            endpoint: "http://127.0.0.1".to_owned(),
            bucket: "b".to_owned(),
            bucket_region: "us-east-1".to_owned(),
            prefix: String::new(),
            filters: Filters::default(),
            objects_sha256: hex::encode(Sha256::digest(&list)),
            objects: listed.len() as u64,
            skipped: Skipped::default(),
            public_keys: Vec::new(),
            delete_markers: Vec::new(),
            conflicts: Vec::new(),
            failures: Vec::new(),
        };
        let folder = dir.path().join(COLLECTION_DIR);
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join(OBJECTS_FILE), &list).unwrap();
        let record = serde_json::to_vec(&record).unwrap();
        std::fs::write(folder.join(RECORD_FILE), &record).unwrap();
        (dir, list)
    }

    fn codes(custody: &Custody) -> Vec<(String, String)> {
        let mut codes: Vec<(String, String)> = custody
            .findings
            .iter()
            .map(|f| (f.code.to_string(), f.object.clone()))
            .collect();
        codes.sort();
        codes
    }

    #[test]
    fn each_file_is_matched_changed_added_or_removed() {
        let listed = [
            entry("a/x", b"one"),
            entry("a/y", b"two"),
            entry("a-b", b"three"),
        ];
        let (dir, _) = collected(
            &[("a/x", b"one"), ("a/y", b"TWO"), ("a.c", b"new")],
            &listed,
        );
        let custody = check(dir.path()).unwrap();
        assert_eq!(
            codes(&custody),
            [
                ("collection.added".to_owned(), "s3://b/a.c".to_owned()),
                ("collection.modified".to_owned(), "s3://b/a/y".to_owned()),
                ("collection.removed".to_owned(), "s3://b/a-b".to_owned()),
            ]
        );
        assert_eq!(custody.files_checked, 2);
        assert_eq!(custody.record.unwrap().bucket, "b");
        let modified = &custody
            .findings
            .iter()
            .find(|f| f.object == "s3://b/a/y")
            .unwrap();
        assert_eq!(
            modified.expected.as_deref(),
            Some(format!("{} (3 bytes)", listed[1].sha256).as_str())
        );
    }

    #[test]
    fn a_clean_folder_has_no_finding() {
        let (dir, _) = collected(&[("a/x", b"one")], &[entry("a/x", b"one")]);
        let custody = check(dir.path()).unwrap();
        assert!(custody.findings.is_empty());
        assert_eq!(custody.files_checked, 1);
    }

    #[test]
    fn an_edited_unsorted_or_unsafe_object_list_is_refused() {
        let (dir, list) = collected(&[("a", b"1")], &[entry("a", b"1")]);
        let objects = dir.path().join(COLLECTION_DIR).join(OBJECTS_FILE);
        let mut edited = list.clone();
        edited.extend_from_slice(&list);
        std::fs::write(&objects, &edited).unwrap();
        let custody = check(dir.path()).unwrap();
        assert!(
            custody
                .findings
                .iter()
                .any(|f| f.code == FindingCode::CollectionRecordInvalid
                    && f.message.contains("out of order"))
        );

        let (dir, _) = collected(
            &[("b", b"1"), ("a", b"2")],
            &[entry("b", b"1"), entry("a", b"2")],
        );
        let custody = check(dir.path()).unwrap();
        assert!(
            custody
                .findings
                .iter()
                .any(|f| f.code == FindingCode::CollectionRecordInvalid),
            "{:?}",
            codes(&custody)
        );

        let (dir, _) = collected(&[], &[entry("../x", b"1")]);
        let custody = check(dir.path()).unwrap();
        assert!(
            custody
                .findings
                .iter()
                .any(|f| f.message.contains("unsafe path"))
        );

        let (dir, list) = collected(&[("a", b"1")], &[entry("a", b"1")]);
        let mut other = entry("a", b"2");
        other.size = 1;
        let mut forged = serde_json::to_vec(&other).unwrap();
        forged.push(b'\n');
        assert_ne!(forged, list);
        std::fs::write(dir.path().join(COLLECTION_DIR).join(OBJECTS_FILE), forged).unwrap();
        std::fs::write(dir.path().join("a"), b"2").unwrap();
        let custody = check(dir.path()).unwrap();
        assert_eq!(codes(&custody).len(), 1, "{:?}", codes(&custody));
        assert!(
            custody.findings[0]
                .message
                .contains("changed after the collection")
        );
    }

    #[test]
    fn no_record_a_linked_folder_and_a_bad_record() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check(dir.path()).is_none());
        std::fs::create_dir(dir.path().join(COLLECTION_DIR)).unwrap();
        let custody = check(dir.path()).unwrap();
        assert_eq!(custody.findings[0].code, FindingCode::CollectionIncomplete);
        std::fs::write(dir.path().join(COLLECTION_DIR).join(RECORD_FILE), b"{").unwrap();
        let custody = check(dir.path()).unwrap();
        assert_eq!(
            custody.findings[0].code,
            FindingCode::CollectionRecordInvalid
        );

        let (elsewhere, _) = collected(&[], &[]);
        let linked = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(
            elsewhere.path().join(COLLECTION_DIR),
            linked.path().join(COLLECTION_DIR),
        )
        .unwrap();
        let custody = check(linked.path()).unwrap();
        assert_eq!(
            custody.findings[0].code,
            FindingCode::CollectionRecordInvalid
        );
        assert!(custody.findings[0].message.contains("not a folder"));
    }
}
