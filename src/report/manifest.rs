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
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
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

impl EvidenceKind {
    /// The name the JSON report gives it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceKind::Digest => "digest",
            EvidenceKind::Log => "log",
            EvidenceKind::Metadata => "metadata",
            EvidenceKind::PublicKey => "public_key",
        }
    }
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

/// One manifest entry, spelt out (the JSON report's manifest is written
/// as this serializes, by `Manifest::write_json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
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
    #[schemars(extend("pattern" = "^[0-9a-f]{64}$"))]
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
        self.render_first(usize::MAX, rows, junit)
    }

    /// Like [`Manifest::render`], for the first `limit` entries only (the
    /// rest stay): a long manifest is rendered a bounded piece at a time.
    pub fn render_first(&mut self, limit: usize, rows: usize, junit: bool) -> Rendered {
        let entries: Vec<Entry> = if limit >= self.entries.len() {
            std::mem::take(&mut self.entries)
        } else {
            self.entries.drain(..limit).collect()
        };
        let mut out = Rendered {
            json: Vec::with_capacity(entries.len() * 256),
            sums: Vec::with_capacity(entries.len() * 160),
            ..Rendered::default()
        };
        for entry in &entries {
            out.json.extend_from_slice(b",\n    ");
            self.write_json(entry, &mut out.json);
            if entry.hashed {
                self.write_sha256sum_line(entry, &mut out.sums);
            }
            out.count += 1;
            let wants_case = junit && entry.kind == EvidenceKind::Log;
            if !wants_case && out.rows.len() >= rows {
                continue;
            }
            if wants_case && let Some(object) = self.object_of(entry) {
                out.junit.push(super::junit::FileCase {
                    object,
                    kind: "log",
                    chain: self.chain_of(entry).cloned(),
                    path: self.path_of(&entry.place),
                });
            }
            if out.rows.len() < rows {
                out.rows.push(self.spell(entry));
            }
        }
        out
    }

    /// Writes the entry as [`ManifestEntry`] serializes (same bytes),
    /// without spelling it out first: millions of entries allocate nothing.
    fn write_json(&self, entry: &Entry, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"kind\":\"");
        out.extend_from_slice(entry.kind.as_str().as_bytes());
        out.extend_from_slice(b"\",\"path\":\"");
        match &entry.place {
            Place::Mirror { root, rel } => {
                let root = self.roots.get(*root as usize);
                let base = root.map(|r| r.path.to_string_lossy()).unwrap_or_default();
                json_escape(&base, out);
                if !base.is_empty() && !base.ends_with('/') {
                    out.push(b'/');
                }
                json_escape(rel, out);
                out.extend_from_slice(b"\",\"object\":");
                match root {
                    Some(r) => {
                        let key = match entry.kind {
                            EvidenceKind::Metadata => {
                                rel.strip_suffix(mirror::SIDECAR_SUFFIX).unwrap_or(rel)
                            }
                            _ => rel,
                        };
                        out.extend_from_slice(b"\"s3://");
                        json_escape(r.bucket.as_deref().unwrap_or("?"), out);
                        out.push(b'/');
                        json_escape(&r.prefix, out);
                        json_escape(key, out);
                        out.push(b'"');
                    }
                    None => out.extend_from_slice(b"null"),
                }
            }
            Place::External(path) => {
                json_escape(path, out);
                out.extend_from_slice(b"\",\"object\":null");
            }
        }
        out.extend_from_slice(b",\"chain\":");
        match entry.chain.and_then(|c| self.chains.get(c as usize)) {
            Some(chain) => {
                out.push(b'"');
                json_escape(chain, out);
                out.push(b'"');
            }
            None => out.extend_from_slice(b"null"),
        }
        // Writing to a Vec cannot fail.
        let _ = write!(out, ",\"size\":{},\"sha256\":", entry.stored.len);
        if entry.hashed {
            out.push(b'"');
            let mut hex = [0u8; 64];
            // 32 bytes always fit 64 hex digits.
            let _ = hex::encode_to_slice(entry.stored.sha256, &mut hex);
            out.extend_from_slice(&hex);
            out.push(b'"');
        } else {
            out.extend_from_slice(b"null");
        }
        out.push(b'}');
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

    /// Appends the entry's `HASH  PATH\n` line for `sha256sum -c`: the
    /// path's own bytes (a mirror root need not be UTF-8), absolute; a path
    /// holding a backslash, newline or carriage return is escaped the way GNU
    /// `sha256sum` does (the line then starts with `\`).
    fn write_sha256sum_line(&self, entry: &Entry, line: &mut Vec<u8>) {
        use std::os::unix::ffi::OsStrExt as _;
        let external;
        let (base, rel): (&[u8], &[u8]) = match &entry.place {
            Place::Mirror { root, rel } => (
                self.absolute
                    .get(*root as usize)
                    .map_or(&[][..], |b| b.as_os_str().as_bytes()),
                rel.as_bytes(),
            ),
            Place::External(given) => {
                let given = std::path::Path::new(&**given);
                external = std::path::absolute(given).unwrap_or_else(|_| given.to_path_buf());
                (external.as_os_str().as_bytes(), &[][..])
            }
        };
        let slash: &[u8] = if matches!(entry.place, Place::Mirror { .. })
            && !base.is_empty()
            && base.last() != Some(&b'/')
        {
            b"/"
        } else {
            b""
        };
        let special = |b: &u8| matches!(b, b'\\' | b'\n' | b'\r');
        let escaped = base.iter().chain(rel).any(special);
        if escaped {
            line.push(b'\\');
        }
        let mut hex = [0u8; 64];
        // 32 bytes always fit 64 hex digits.
        let _ = hex::encode_to_slice(entry.stored.sha256, &mut hex);
        line.extend_from_slice(&hex);
        line.extend_from_slice(b"  ");
        for part in [base, slash, rel] {
            if !escaped {
                line.extend_from_slice(part);
                continue;
            }
            for &b in part {
                match b {
                    b'\\' => line.extend_from_slice(b"\\\\"),
                    b'\n' => line.extend_from_slice(b"\\n"),
                    b'\r' => line.extend_from_slice(b"\\r"),
                    b => line.push(b),
                }
            }
        }
        line.push(b'\n');
    }

    fn spell(&self, entry: &Entry) -> ManifestEntry {
        ManifestEntry {
            kind: entry.kind,
            path: self.path_of(&entry.place),
            object: self.object_of(entry),
            chain: self.chain_of(entry).cloned(),
            size: entry.stored.len,
            sha256: entry.hashed.then(|| hex::encode(entry.stored.sha256)),
        }
    }

    /// The `s3://` URL the entry stands for: the digest itself for its
    /// metadata sidecar, `None` for files outside the mirrors.
    fn object_of(&self, entry: &Entry) -> Option<String> {
        let Place::Mirror { root, rel } = &entry.place else {
            return None;
        };
        // A sidecar stands for the metadata of the digest beside it.
        let key = match entry.kind {
            EvidenceKind::Metadata => rel.strip_suffix(mirror::SIDECAR_SUFFIX).unwrap_or(rel),
            _ => rel,
        };
        let root = self.roots.get(*root as usize)?;
        let bucket = root.bucket.as_deref().unwrap_or("?");
        let mut url = String::with_capacity(6 + bucket.len() + root.prefix.len() + key.len());
        url.push_str("s3://");
        url.push_str(bucket);
        url.push('/');
        url.push_str(&root.prefix);
        url.push_str(key);
        Some(url)
    }

    fn chain_of(&self, entry: &Entry) -> Option<&String> {
        entry.chain.and_then(|c| self.chains.get(c as usize))
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

/// `text` as the inside of a JSON string, escaped as serde_json escapes it.
fn json_escape(text: &str, out: &mut Vec<u8>) {
    let bytes = text.as_bytes();
    if !bytes.iter().any(|&b| b == b'"' || b == b'\\' || b < 0x20) {
        out.extend_from_slice(bytes);
        return;
    }
    for &b in bytes {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            // Writing to a Vec cannot fail.
            0..=0x1f => drop(write!(out, "\\u{b:04x}")),
            _ => out.push(b),
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
        let spelt: Vec<ManifestEntry> = manifest.iter().collect();
        let rendered = manifest.render(0, false);
        assert_eq!(
            String::from_utf8(rendered.sums).unwrap(),
            format!("\\{hash}  /m/a/new\\nline\n{hash}  /m/a/plain.gz\n")
        );
        assert_eq!(spelt[1].object.as_deref(), Some("s3://b/a/plain.gz"));
        assert!(manifest.is_empty());
    }

    #[test]
    fn rendered_json_is_what_serde_writes() {
        let roots = vec![
            MirrorRoot {
                path: PathBuf::from("rel/\"root\\"),
                bucket: Some("b\u{1}".into()),
                prefix: "p\t/".into(),
            },
            MirrorRoot {
                path: PathBuf::from("/abs/"),
                bucket: None,
                prefix: String::new(),
            },
        ];
        let mut manifest = Manifest::new(roots, vec!["c\"1".into(), "c2".into()]);
        let stored = StoredHash::of(b"y");
        let names = [
            "plain.json.gz",
            "q\"uote\\back",
            "ctl\u{0}\u{8}\u{c}\n\r\t\u{1f}\u{7f}",
            "ünïcode/日本",
        ];
        for (i, name) in names.iter().enumerate() {
            let kind = [
                EvidenceKind::Log,
                EvidenceKind::Digest,
                EvidenceKind::Metadata,
            ][i % 3];
            let rel = format!(
                "{name}{}",
                if kind == EvidenceKind::Metadata {
                    mirror::SIDECAR_SUFFIX
                } else {
                    ""
                }
            );
            manifest.add_mirror_file(
                kind,
                i % 2,
                rel.into(),
                [None, Some(0), Some(1)][i % 3],
                stored,
                i != 2,
            );
        }
        manifest.add_external(EvidenceKind::PublicKey, "keys/\"k\".json", stored);
        manifest.sort();
        let expected: Vec<u8> = manifest
            .iter()
            .flat_map(|e| {
                let mut line = b",\n    ".to_vec();
                line.extend(serde_json::to_vec(&e).unwrap());
                line
            })
            .collect();
        let rendered = manifest.render(usize::MAX, false);
        assert_eq!(
            String::from_utf8(rendered.json).unwrap(),
            String::from_utf8(expected).unwrap()
        );
        assert_eq!(rendered.count, names.len() + 1);
    }
}
