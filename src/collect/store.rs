//! The local side of a collection: files appear under their final name only
//! when complete (written in `partial/`, then renamed without replacing),
//! nothing is ever overwritten, and a journal says what is done so that a
//! re-run fetches only what is missing.

use crate::custody::record::{
    COLLECTION_DIR, FileEntry, JOURNAL_FILE, OBJECTS_FILE, PARTIAL_DIR, path_order,
};
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// The folder being filled.
pub(crate) struct Store {
    root: PathBuf,
    /// What earlier runs (and this one) finished, by path.
    done: HashMap<String, FileEntry>,
    journal: Mutex<std::fs::File>,
    next_partial: AtomicU64,
}

/// Where a finished download went.
pub(crate) enum Placed {
    /// Renamed into place.
    Written,
    /// A file was already there with the same bytes.
    AlreadyThere,
    /// A file was already there with other bytes: kept; the download was discarded.
    Differs {
        /// SHA-256 of the local file.
        local_sha256: String,
    },
}

impl Store {
    /// Opens (or creates) the folder and reads what earlier runs finished.
    pub(crate) fn open(root: &Path) -> std::io::Result<Store> {
        let folder = root.join(COLLECTION_DIR);
        std::fs::create_dir_all(folder.join(PARTIAL_DIR))?;
        remove_stale_partials(&folder.join(PARTIAL_DIR))?;
        let mut done = HashMap::new();
        for name in [OBJECTS_FILE, JOURNAL_FILE] {
            read_entries(&folder.join(name), &mut done)?;
        }
        let journal = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(folder.join(JOURNAL_FILE))?;
        Ok(Store {
            root: root.to_path_buf(),
            done,
            journal: Mutex::new(journal),
            next_partial: AtomicU64::new(0),
        })
    }

    /// The collected folder.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// What an earlier run finished at `path`, if the file is still there with those bytes.
    pub(crate) fn finished(&self, path: &str) -> Option<Result<FileEntry, String>> {
        let entry = self.done.get(path)?;
        Some(
            match crate::custody::check::stored_sha256(&self.root.join(path)) {
                Ok((size, sha)) if size == entry.size && sha == entry.sha256 => Ok(entry.clone()),
                Ok((_, sha)) => Err(sha),
                Err(e) => Err(format!("unreadable: {e}")),
            },
        )
    }

    /// A new file in `partial/` for a download.
    pub(crate) fn partial(&self) -> std::io::Result<(PathBuf, std::fs::File)> {
        let n = self.next_partial.fetch_add(1, Ordering::Relaxed);
        let path = self
            .root
            .join(COLLECTION_DIR)
            .join(PARTIAL_DIR)
            .join(format!("{}-{n}", std::process::id()));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        Ok((path, file))
    }

    /// Moves a complete download to `rel` unless a file is there already
    /// (then compares, keeps the local file, and removes the download).
    pub(crate) fn place(&self, partial: &Path, rel: &str, sha256: &str) -> std::io::Result<Placed> {
        let target = self.root.join(rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let renamed = rustix::fs::renameat_with(
            rustix::fs::CWD,
            partial,
            rustix::fs::CWD,
            &target,
            rustix::fs::RenameFlags::NOREPLACE,
        );
        match renamed {
            Ok(()) => Ok(Placed::Written),
            Err(rustix::io::Errno::EXIST) => {
                std::fs::remove_file(partial)?;
                let local = crate::custody::check::stored_sha256(&target)
                    .map_or_else(|e| format!("unreadable: {e}"), |(_, sha)| sha);
                if local == sha256 {
                    Ok(Placed::AlreadyThere)
                } else {
                    Ok(Placed::Differs {
                        local_sha256: local,
                    })
                }
            }
            Err(e) => {
                let _ = std::fs::remove_file(partial);
                Err(e.into())
            }
        }
    }

    /// Notes a finished file in the journal (flushed at once).
    pub(crate) fn finish(&self, entry: &FileEntry) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
        line.push(b'\n');
        let mut journal = self
            .journal
            .lock()
            .map_err(|_| std::io::Error::other("journal lock poisoned"))?;
        journal.write_all(&line)?;
        journal.flush()
    }

    /// Writes `objects.jsonl` from every finished entry (sorted as a walk
    /// meets them) and returns its SHA-256 and line count; the journal and
    /// `partial/` are removed once it is in place.
    pub(crate) fn seal(self) -> std::io::Result<(String, u64)> {
        use sha2::Digest as _;
        let folder = self.root.join(COLLECTION_DIR);
        let mut done: HashMap<String, FileEntry> = HashMap::new();
        for name in [OBJECTS_FILE, JOURNAL_FILE] {
            read_entries(&folder.join(name), &mut done)?;
        }
        let mut entries: Vec<FileEntry> = done.into_values().collect();
        entries.sort_by(|a, b| path_order(&a.path, &b.path));
        let mut text = Vec::new();
        for entry in &entries {
            serde_json::to_writer(&mut text, entry).map_err(std::io::Error::other)?;
            text.push(b'\n');
        }
        let sha = hex::encode(sha2::Sha256::digest(&text));
        write_replacing(&folder.join(OBJECTS_FILE), &text)?;
        drop(self.journal);
        std::fs::remove_file(folder.join(JOURNAL_FILE))?;
        let _ = std::fs::remove_dir(folder.join(PARTIAL_DIR));
        Ok((sha, entries.len() as u64))
    }
}

/// Removes the downloads an interrupted run left in `partial/` (only
/// regular files named `<pid>-<n>`, as [`Store::partial`] names them).
fn remove_stale_partials(partial: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(partial)? {
        let entry = entry?;
        let ours = entry.file_name().to_str().is_some_and(|name| {
            name.split_once('-').is_some_and(|(pid, n)| {
                !pid.is_empty()
                    && !n.is_empty()
                    && pid.bytes().chain(n.bytes()).all(|b| b.is_ascii_digit())
            })
        });
        if ours && entry.file_type()?.is_file() {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// Writes our own bookkeeping file through a temporary name and a rename.
pub(crate) fn write_replacing(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut temp = path.as_os_str().to_owned();
    temp.push(".new");
    let temp = PathBuf::from(temp);
    let mut file = std::fs::File::create(&temp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temp, path)
}

/// Adds the entries of a journal or object list (later lines win; a torn
/// last line of an interrupted run is ignored).
fn read_entries(path: &Path, done: &mut HashMap<String, FileEntry>) -> std::io::Result<()> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for line in std::io::BufReader::new(file).lines() {
        if let Ok(entry) = serde_json::from_str::<FileEntry>(&line?) {
            done.insert(entry.path.clone(), entry);
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn download(store: &Store, bytes: &[u8]) -> PathBuf {
        let (path, mut file) = store.partial().unwrap();
        file.write_all(bytes).unwrap();
        path
    }

    fn sha(bytes: &[u8]) -> String {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(bytes))
    }

    #[test]
    fn a_download_never_replaces_a_file_a_link_or_a_fifo() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let partial = download(&store, b"object");
        assert!(matches!(
            store.place(&partial, "a/b", &sha(b"object")).unwrap(),
            Placed::Written
        ));
        assert_eq!(std::fs::read(dir.path().join("a/b")).unwrap(), b"object");
        assert!(!partial.exists());

        let partial = download(&store, b"object");
        assert!(matches!(
            store.place(&partial, "a/b", &sha(b"object")).unwrap(),
            Placed::AlreadyThere
        ));
        let partial = download(&store, b"other");
        match store.place(&partial, "a/b", &sha(b"other")).unwrap() {
            Placed::Differs { local_sha256 } => assert_eq!(local_sha256, sha(b"object")),
            _ => panic!("overwritten"),
        }
        assert_eq!(std::fs::read(dir.path().join("a/b")).unwrap(), b"object");
        assert!(!partial.exists());

        std::os::unix::fs::symlink("/etc/hostname", dir.path().join("link")).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            dir.path().join("fifo"),
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        for name in ["link", "fifo"] {
            let partial = download(&store, b"x");
            assert!(matches!(
                store.place(&partial, name, &sha(b"x")).unwrap(),
                Placed::Differs { .. }
            ));
        }
        assert!(
            std::fs::symlink_metadata(dir.path().join("link"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }

    #[test]
    fn a_resumed_run_knows_what_was_finished_and_drops_stale_downloads() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let partial = download(&store, b"object");
        store.place(&partial, "k", &sha(b"object")).unwrap();
        let entry = FileEntry {
            path: "k".to_owned(),
            kind: crate::custody::RecordKind::Object,
            key: Some("k".to_owned()),
            version_id: None,
            etag: Some("e".to_owned()),
            last_modified: None,
            checked: None,
            size: 6,
            sha256: sha(b"object"),
        };
        store.finish(&entry).unwrap();
        let stale = download(&store, b"half");
        let mine = dir
            .path()
            .join(COLLECTION_DIR)
            .join(PARTIAL_DIR)
            .join("notes");
        std::fs::write(&mine, b"kept").unwrap();
        drop(store);

        let store = Store::open(dir.path()).unwrap();
        assert!(!stale.exists());
        assert!(
            mine.exists(),
            "only the collector's own downloads are removed"
        );
        assert_eq!(store.finished("k").unwrap().unwrap().sha256, sha(b"object"));
        assert!(store.finished("other").is_none());
        std::fs::write(dir.path().join("k"), b"changed").unwrap();
        assert_eq!(store.finished("k").unwrap().unwrap_err(), sha(b"changed"));
        std::fs::remove_file(&mine).unwrap();
        let (objects_sha, lines) = store.seal().unwrap();
        assert_eq!(lines, 1);
        let list = std::fs::read(dir.path().join(COLLECTION_DIR).join(OBJECTS_FILE)).unwrap();
        assert_eq!(objects_sha, sha(&list));
        assert!(!dir.path().join(COLLECTION_DIR).join(JOURNAL_FILE).exists());
        assert!(!dir.path().join(COLLECTION_DIR).join(PARTIAL_DIR).exists());
    }
}
