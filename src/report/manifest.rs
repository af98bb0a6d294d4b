//! The evidence manifest: every file the run read, with its size and the
//! SHA-256 of its bytes as stored, so an examiner can later prove which exact
//! evidence the verdict was about.
//!
//! Entries are kept compact (a mirror root index and the relative path moved
//! out of the inventory) because a large mirror has millions of log files;
//! paths and `s3://` URLs are spelt out only when the manifest is rendered.

use crate::gzip::StoredHash;
use crate::mirror::{self, MirrorRoot};
use serde::Serialize;
use std::io::Write as _;

/// What a manifest entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    /// A digest file.
    Digest,
    /// A log file.
    Log,
    /// A digest's S3-metadata sidecar (`.metadata.json`).
    Metadata,
    /// A public-key file given with `--public-keys`.
    PublicKey,
}

/// Where an entry lies.
#[derive(Debug, Clone)]
enum Place {
    /// Under a mirror root.
    Mirror { root: u32, rel: Box<str> },
    /// Outside every mirror (key files), as given.
    External(Box<str>),
}

/// One file the run read (compact form).
#[derive(Debug, Clone)]
struct Entry {
    kind: EvidenceKind,
    place: Place,
    chain: Option<u32>,
    stored: StoredHash,
    hashed: bool,
}

/// One manifest entry, spelt out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManifestEntry {
    /// What the file is.
    pub kind: EvidenceKind,
    /// Local path, as the run opened it.
    pub path: String,
    /// `s3://bucket/key` the file stands for: the digest itself for its
    /// metadata sidecar, `null` for key files.
    pub object: Option<String>,
    /// Chain the file belongs to, when known.
    pub chain: Option<String>,
    /// Bytes read.
    pub size: u64,
    /// SHA-256 of the bytes as stored (compressed for `.gz` files), hex;
    /// `null` when the run was asked not to hash log files' stored bytes.
    pub sha256: Option<String>,
}

/// Every file the run read, sorted by mirror root and relative path.
#[derive(Debug, Clone, Default)]
pub struct Manifest {
    roots: std::sync::Arc<[MirrorRoot]>,
    /// Each root made absolute (against the folder the run started in),
    /// for the `sha256sum` lines.
    absolute: std::sync::Arc<[std::path::PathBuf]>,
    chains: std::sync::Arc<[String]>,
    entries: Vec<Entry>,
}

impl Manifest {
    /// An empty manifest for files under `roots`, in chains named `chains`.
    #[must_use]
    pub fn new(roots: Vec<MirrorRoot>, chains: Vec<String>) -> Self {
        let absolute = roots
            .iter()
            .map(|r| std::path::absolute(&r.path).unwrap_or_else(|_| r.path.clone()))
            .collect();
        Manifest {
            roots: roots.into(),
            absolute,
            chains: chains.into(),
            entries: Vec::new(),
        }
    }

    /// An empty manifest naming files as this one does (the roots and
    /// chains are shared, not copied).
    #[must_use]
    pub fn empty_like(&self) -> Self {
        Manifest {
            roots: self.roots.clone(),
            absolute: self.absolute.clone(),
            chains: self.chains.clone(),
            entries: Vec::new(),
        }
    }

    /// Takes every entry out, rendered for the streamed reports: JSON
    /// array elements (each preceded by `,` and a new line), `sha256sum`
    /// lines, the first `rows` entries spelt out, and JUnit cases when
    /// `junit` is asked for.
    pub fn render(&mut self, rows: usize, junit: bool) -> Rendered {
        let mut out = Rendered {
            json: Vec::with_capacity(self.entries.len() * 256),
            sums: Vec::with_capacity(self.entries.len() * 160),
            ..Rendered::default()
        };
        for entry in self.drain() {
            out.json.extend_from_slice(b",\n    ");
            // A ManifestEntry always serializes.
            let _ = serde_json::to_writer(&mut out.json, &entry.spelt);
            if let Some(line) = &entry.sha256sum_line {
                out.sums.extend_from_slice(line);
            }
            out.count += 1;
            if junit
                && entry.spelt.kind == EvidenceKind::Log
                && let Some(object) = &entry.spelt.object
            {
                out.junit.push(super::junit::FileCase {
                    object: object.clone(),
                    kind: "log",
                    chain: entry.spelt.chain.clone(),
                    path: entry.spelt.path.clone(),
                });
            }
            if out.rows.len() < rows {
                out.rows.push(entry.spelt);
            }
        }
        out
    }

    /// Adds a file under mirror root `root` at `rel`. `hashed` is false when
    /// only the size is known (stored bytes not hashed on request).
    pub fn add_mirror_file(
        &mut self,
        kind: EvidenceKind,
        root: usize,
        rel: Box<str>,
        chain: Option<usize>,
        stored: StoredHash,
        hashed: bool,
    ) {
        self.entries.push(Entry {
            kind,
            place: Place::Mirror {
                root: u32::try_from(root).unwrap_or(u32::MAX),
                rel,
            },
            chain: chain.and_then(|c| u32::try_from(c).ok()),
            stored,
            hashed,
        });
    }

    /// Adds a file outside the mirrors (a key file).
    pub fn add_external(&mut self, kind: EvidenceKind, path: &str, stored: StoredHash) {
        self.entries.push(Entry {
            kind,
            place: Place::External(path.into()),
            chain: None,
            stored,
            hashed: true,
        });
    }

    /// Sorts the entries (by mirror root, then relative path, then kind; key
    /// files last, by path) so output is deterministic. Sorting allocates
    /// nothing per entry: a manifest can hold millions of log files.
    pub fn sort(&mut self) {
        fn key(e: &Entry) -> (u8, u32, &str, EvidenceKind) {
            match &e.place {
                Place::Mirror { root, rel } => (0, *root, rel, e.kind),
                Place::External(path) => (1, 0, path, e.kind),
            }
        }
        self.entries.sort_by(|a, b| key(a).cmp(&key(b)));
    }

    /// Forgets every entry.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Number of entries.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no file was read.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries, spelt out one at a time.
    pub fn iter(&self) -> impl Iterator<Item = ManifestEntry> + '_ {
        self.entries.iter().map(|e| self.spell(e))
    }

    /// Takes every entry out, in order, spelt out and as its `sha256sum`
    /// line (none for an entry without a hash).
    pub fn drain(&mut self) -> impl Iterator<Item = Drained> + '_ {
        let entries = std::mem::take(&mut self.entries);
        entries.into_iter().map(|entry| Drained {
            sha256sum_line: entry.hashed.then(|| self.sha256sum_line(&entry)),
            spelt: self.spell(&entry),
        })
    }

    /// `HASH  PATH\n` for `sha256sum -c`: the path's own bytes (a mirror root
    /// need not be UTF-8), absolute; a path holding a backslash, newline or
    /// carriage return is escaped the way GNU `sha256sum` does (the line
    /// then starts with `\`).
    fn sha256sum_line(&self, entry: &Entry) -> Vec<u8> {
        use std::os::unix::ffi::OsStrExt as _;
        let hash = hex::encode(entry.stored.sha256);
        let mut path: Vec<u8> = Vec::new();
        match &entry.place {
            Place::Mirror { root, rel } => {
                if let Some(base) = self.absolute.get(*root as usize) {
                    path.extend_from_slice(base.as_os_str().as_bytes());
                    if path.last() != Some(&b'/') {
                        path.push(b'/');
                    }
                }
                path.extend_from_slice(rel.as_bytes());
            }
            Place::External(given) => {
                let given = std::path::Path::new(&**given);
                let absolute = std::path::absolute(given).unwrap_or_else(|_| given.to_path_buf());
                path.extend_from_slice(absolute.as_os_str().as_bytes());
            }
        }
        let bytes = &path[..];
        let mut line = Vec::with_capacity(bytes.len() + 70);
        if bytes.iter().any(|b| matches!(b, b'\\' | b'\n' | b'\r')) {
            line.push(b'\\');
            line.extend_from_slice(hash.as_bytes());
            line.extend_from_slice(b"  ");
            for &b in bytes {
                match b {
                    b'\\' => line.extend_from_slice(b"\\\\"),
                    b'\n' => line.extend_from_slice(b"\\n"),
                    b'\r' => line.extend_from_slice(b"\\r"),
                    b => line.push(b),
                }
            }
        } else {
            line.extend_from_slice(hash.as_bytes());
            line.extend_from_slice(b"  ");
            line.extend_from_slice(bytes);
        }
        line.push(b'\n');
        line
    }

    fn spell(&self, entry: &Entry) -> ManifestEntry {
        let object = match &entry.place {
            Place::Mirror { root, rel } => {
                // A sidecar stands for the metadata of the digest beside it.
                let key = match entry.kind {
                    EvidenceKind::Metadata => {
                        rel.strip_suffix(mirror::SIDECAR_SUFFIX).unwrap_or(rel)
                    }
                    _ => rel,
                };
                self.roots.get(*root as usize).map(|r| {
                    mirror::s3_url(
                        r.bucket.as_deref().unwrap_or("?"),
                        &format!("{}{key}", r.prefix),
                    )
                })
            }
            Place::External(_) => None,
        };
        ManifestEntry {
            kind: entry.kind,
            path: self.path_of(&entry.place),
            object,
            chain: entry
                .chain
                .and_then(|c| self.chains.get(c as usize))
                .cloned(),
            size: entry.stored.len,
            sha256: entry.hashed.then(|| hex::encode(entry.stored.sha256)),
        }
    }

    fn path_of(&self, place: &Place) -> String {
        match place {
            Place::Mirror { root, rel } => {
                let base = self
                    .roots
                    .get(*root as usize)
                    .map(|r| r.path.to_string_lossy())
                    .unwrap_or_default();
                let mut path = String::with_capacity(base.len() + rel.len() + 1);
                path.push_str(&base);
                if !base.is_empty() && !base.ends_with('/') {
                    path.push('/');
                }
                path.push_str(rel);
                path
            }
            Place::External(path) => path.to_string(),
        }
    }
}

/// Manifest entries rendered for the streamed reports ([`Manifest::render`]).
#[derive(Debug, Default)]
pub struct Rendered {
    /// JSON array elements, each preceded by `,` and a new line.
    pub json: Vec<u8>,
    /// `sha256sum` lines.
    pub sums: Vec<u8>,
    /// The first entries, spelt out.
    pub rows: Vec<ManifestEntry>,
    /// How many entries.
    pub count: usize,
    /// JUnit cases for the log files.
    pub junit: Vec<super::junit::FileCase>,
}

/// One entry taken out of a [`Manifest`].
#[derive(Debug)]
pub struct Drained {
    /// The entry, spelt out.
    pub spelt: ManifestEntry,
    /// Its `sha256sum` line, when it has a hash.
    pub sha256sum_line: Option<Vec<u8>>,
}

/// The comment lines a `sha256sum` manifest begins with (GNU `sha256sum -c`
/// skips lines that start with `#`).
pub fn write_sha256sum_header(out: &mut Vec<u8>) {
    let base = std::env::current_dir()
        .map(|d| crate::mirror::escape_path(&d))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "# trailproof evidence manifest: the SHA-256 of the stored bytes of every file the run read."
    );
    let _ = writeln!(
        out,
        "# Paths are absolute (relative ones were resolved against {}), so `sha256sum -c` works from any folder.",
        crate::text::escape_control(&base)
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn sha256sum_format_escapes_like_gnu() {
        let root = MirrorRoot {
            path: PathBuf::from("/m"),
            bucket: Some("b".into()),
            prefix: String::new(),
        };
        let mut manifest = Manifest::new(vec![root], vec![]);
        let stored = StoredHash::of(b"x");
        manifest.add_mirror_file(
            EvidenceKind::Log,
            0,
            "a/plain.gz".into(),
            None,
            stored,
            true,
        );
        manifest.add_mirror_file(
            EvidenceKind::Log,
            0,
            "a/new\nline".into(),
            None,
            stored,
            true,
        );
        manifest.add_mirror_file(
            EvidenceKind::Log,
            0,
            "a/unhashed".into(),
            None,
            stored,
            false,
        );
        manifest.sort();
        let hash = hex::encode(stored.sha256);
        let drained: Vec<Drained> = manifest.drain().collect();
        let text: Vec<u8> = drained
            .iter()
            .filter_map(|d| d.sha256sum_line.clone())
            .flatten()
            .collect();
        assert_eq!(
            String::from_utf8(text).unwrap(),
            format!("\\{hash}  /m/a/new\\nline\n{hash}  /m/a/plain.gz\n")
        );
        assert_eq!(
            drained[1].spelt.object.as_deref(),
            Some("s3://b/a/plain.gz")
        );
        assert!(manifest.is_empty());
    }
}
