//! Report files (`--output FILE`, `--report FORMAT=PATH`): where a report
//! may go, checked before any evidence is read, and how it is written.
//!
//! Rules, for an auditor:
//! - a regular file is *replaced*: the report goes to a new file in the
//!   same folder, renamed over the target once complete, so a hard link at
//!   the path is never written through and a failed run leaves the old file;
//!   the new file keeps the old file's read, write and execute bits (not
//!   set-id or sticky bits; its owner is the user running the tool);
//! - a new file is created the same way, with mode `0666` less the umask,
//!   like any Unix tool;
//! - a character device (`/dev/null`, a terminal) or a FIFO (also a pipe
//!   reached through `/dev/stdout`) is written *in place*: it is opened for
//!   writing, never created, truncated or replaced; a FIFO's open waits for
//!   its reader;
//! - a symbolic link is resolved: a link to a regular file replaces that
//!   file (the link stays), a link to a device or FIFO writes to it; a
//!   dangling link, a directory, a block device and a socket are refused;
//! - a target inside a mirror root is refused, judged by what the file
//!   system says (device and inode of the target's folder and each of its
//!   ancestors against each root's), so a bind mount or any other alias of
//!   a mirror is caught; so is a target that *is* a `--public-keys` file,
//!   and the same file named by two reports.
//!
//! [`check_all`] does all checks before the run; [`ReportTarget::write`]
//! writes after it and names only the path the user gave in its errors.

use crate::error::Error;
use std::ffi::OsString;
use std::fs::{File, Metadata};
use std::io::Write as _;
use std::os::unix::fs::{
    FileTypeExt as _, MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _,
};
use std::path::{Path, PathBuf};

/// A file's identity: device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    fn of(meta: &Metadata) -> FileId {
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

/// What a run reads, which no report may overwrite: the mirror roots and
/// the public-key files, each by identity.
#[derive(Debug, Default)]
pub struct Inputs {
    mirrors: Vec<(PathBuf, FileId)>,
    keys: Vec<(PathBuf, FileId)>,
    checkpoints: Vec<(PathBuf, FileId)>,
}

impl Inputs {
    /// The identities of `mirrors` (a root that is a link is followed, as
    /// the run follows it) and of `keys`. Paths that cannot be examined are
    /// left out: the run itself refuses them.
    #[must_use]
    pub fn new(mirrors: &[PathBuf], keys: &[PathBuf]) -> Inputs {
        let identify = |paths: &[PathBuf]| {
            paths
                .iter()
                .filter_map(|p| Some((p.clone(), FileId::of(&std::fs::metadata(p).ok()?))))
                .collect()
        };
        Inputs {
            mirrors: identify(mirrors),
            keys: identify(keys),
            checkpoints: Vec::new(),
        }
    }

    /// Adds the checkpoints the run reads (`--checkpoint`), which no report
    /// (nor the new checkpoint) may overwrite.
    #[must_use]
    pub fn with_checkpoints(mut self, checkpoints: &[PathBuf]) -> Inputs {
        self.checkpoints = checkpoints
            .iter()
            .filter_map(|p| Some((p.clone(), FileId::of(&std::fs::metadata(p).ok()?))))
            .collect();
        self
    }

    /// The mirror root (as given) that `folder` or one of its ancestors is.
    fn mirror_containing(&self, folder: &Path) -> std::io::Result<Option<&Path>> {
        let folder = std::fs::canonicalize(folder)?;
        for ancestor in folder.ancestors() {
            let id = FileId::of(&std::fs::metadata(ancestor)?);
            if let Some((root, _)) = self.mirrors.iter().find(|(_, root)| *root == id) {
                return Ok(Some(root));
            }
        }
        Ok(None)
    }
}

/// How a checked target is written.
#[derive(Debug)]
enum How {
    /// Opened for writing as it is (device, FIFO, pipe).
    InPlace,
    /// A new file renamed over `path` (the target, or the regular file a
    /// link at the target resolves to); `mode` keeps the old permission bits.
    Replace { path: PathBuf, mode: Option<u32> },
}

/// What two targets are compared by.
#[derive(Debug, PartialEq, Eq)]
enum Identity {
    /// An existing file (links resolved).
    Existing(FileId),
    /// A file to be created: its folder's canonical path and its name.
    New { folder: PathBuf, name: OsString },
}

/// A report path that passed every check, ready to be written.
#[derive(Debug)]
pub struct ReportTarget {
    given: PathBuf,
    format: &'static str,
    how: How,
    identity: Identity,
}

/// Checks every report target of a run, before the run reads anything.
///
/// `requests` are `(format name, path as given)`. Each target must be
/// usable (see the [module](self) rules), outside every mirror root, not a
/// key file, and no two may be the same file.
///
/// # Errors
/// Every problem found, each naming the path as given:
/// [`Error::ReportTargetUnusable`], [`Error::OutputInsideMirror`],
/// [`Error::ReportIsInput`], [`Error::ReportTwice`].
pub fn check_all(
    requests: &[(&'static str, &Path)],
    inputs: &Inputs,
) -> Result<Vec<ReportTarget>, Vec<Error>> {
    let mut targets: Vec<ReportTarget> = Vec::with_capacity(requests.len());
    let mut errors = Vec::new();
    for &(format, path) in requests {
        match ReportTarget::check(format, path, inputs) {
            Ok(target) => {
                if let Some(first) = targets.iter().find(|t| t.identity == target.identity) {
                    errors.push(Error::ReportTwice {
                        first: first.given.clone(),
                        first_format: first.format,
                        second: target.given,
                        second_format: format,
                    });
                } else {
                    targets.push(target);
                }
            }
            Err(error) => errors.push(error),
        }
    }
    if errors.is_empty() {
        Ok(targets)
    } else {
        Err(errors)
    }
}

impl ReportTarget {
    /// Checks one target: see the [module](self) rules. Nothing is created
    /// or changed.
    ///
    /// # Errors
    /// [`Error::ReportTargetUnusable`] saying why, [`Error::OutputInsideMirror`]
    /// or [`Error::ReportIsInput`].
    pub fn check(
        format: &'static str,
        path: &Path,
        inputs: &Inputs,
    ) -> Result<ReportTarget, Error> {
        let unusable = |reason: String| Error::ReportTargetUnusable {
            format,
            path: path.to_path_buf(),
            reason,
        };
        let (how, identity, folder) = classify(path).map_err(unusable)?;
        // The folder of the path as given (a link's own folder) and the
        // folder of what is written (a link's target) must both lie outside.
        let given_folder = folder_of(path);
        for folder in [Some(given_folder), folder.as_deref()]
            .into_iter()
            .flatten()
        {
            let inside = inputs
                .mirror_containing(folder)
                .map_err(|e| unusable(format!("cannot examine {}: {e}", folder.display())))?;
            if let Some(mirror) = inside {
                return Err(Error::OutputInsideMirror {
                    path: path.to_path_buf(),
                    mirror: mirror.to_path_buf(),
                });
            }
        }
        if let Identity::Existing(id) = &identity {
            let keys = inputs.keys.iter().map(|k| ("public-key file", k));
            let checkpoints = inputs.checkpoints.iter().map(|c| ("checkpoint", c));
            if let Some((what, (input, _))) =
                keys.chain(checkpoints).find(|(_, (_, input))| input == id)
            {
                return Err(Error::ReportIsInput {
                    format,
                    path: path.to_path_buf(),
                    what,
                    input: input.clone(),
                });
            }
        }
        Ok(ReportTarget {
            given: path.to_path_buf(),
            format,
            how,
            identity,
        })
    }

    /// The path as the user gave it.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.given
    }

    /// Writes the report `fill` produces: in place for a device or FIFO,
    /// else into a new file renamed over the target once complete (and
    /// flushed to disk), so a failed write leaves the old file as it was.
    ///
    /// # Errors
    /// [`Error::ReportWrite`] with the I/O error, naming the path as given
    /// (never the temporary file).
    pub fn write(
        &self,
        fill: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
    ) -> Result<(), Error> {
        let mut open = self.open()?;
        fill(&mut open).map_err(|source| self.failed(source))?;
        open.commit()
    }

    /// Opens the target for a report written while the run goes: a device
    /// or FIFO itself, or a new file beside the target that
    /// [`OpenReport::commit`] renames over it (dropped uncommitted, it is
    /// removed and the target left as it was).
    ///
    /// # Errors
    /// [`Error::ReportWrite`] naming the path as given.
    pub fn open(&self) -> Result<OpenReport, Error> {
        let opened = match &self.how {
            How::InPlace => open_in_place(&self.given, &self.identity).map(|file| Sink::InPlace {
                out: std::io::BufWriter::with_capacity(64 << 10, file),
            }),
            How::Replace { path, mode } => Temporary::create(folder_of(path)).and_then(|t| {
                let file = t.file.try_clone()?;
                Ok(Sink::Replace {
                    out: std::io::BufWriter::with_capacity(64 << 10, file),
                    temporary: t,
                    path: path.clone(),
                    mode: *mode,
                })
            }),
        };
        let sink = opened.map_err(|source| self.failed(source))?;
        Ok(OpenReport {
            given: self.given.clone(),
            format: self.format,
            sink,
        })
    }

    fn failed(&self, source: std::io::Error) -> Error {
        Error::ReportWrite {
            format: self.format,
            path: self.given.clone(),
            source,
        }
    }
}

/// A report being written (see [`ReportTarget::open`]).
#[derive(Debug)]
pub struct OpenReport {
    given: PathBuf,
    format: &'static str,
    sink: Sink,
}

#[derive(Debug)]
enum Sink {
    InPlace {
        out: std::io::BufWriter<File>,
    },
    Replace {
        out: std::io::BufWriter<File>,
        temporary: Temporary,
        path: PathBuf,
        mode: Option<u32>,
    },
}

impl std::io::Write for OpenReport {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.sink {
            Sink::InPlace { out } | Sink::Replace { out, .. } => out.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match &mut self.sink {
            Sink::InPlace { out } | Sink::Replace { out, .. } => out.write_all(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.sink {
            Sink::InPlace { out } | Sink::Replace { out, .. } => out.flush(),
        }
    }
}

impl OpenReport {
    /// The error of writing this report, naming the path as given.
    #[must_use]
    pub fn failed(&self, source: std::io::Error) -> Error {
        Error::ReportWrite {
            format: self.format,
            path: self.given.clone(),
            source,
        }
    }

    /// Finishes the report: flushed, and a new file (flushed to disk)
    /// renamed over the target.
    ///
    /// # Errors
    /// [`Error::ReportWrite`] naming the path as given.
    pub fn commit(self) -> Result<(), Error> {
        let OpenReport {
            given,
            format,
            sink,
        } = self;
        let result = match sink {
            Sink::InPlace { mut out } => out.flush(),
            Sink::Replace {
                out,
                mut temporary,
                path,
                mode,
            } => finish_replacing(out, &mut temporary, &path, mode),
        };
        result.map_err(|source| Error::ReportWrite {
            format,
            path: given,
            source,
        })
    }
}

/// Flushes a new report file, gives it its mode, syncs it and renames it
/// over `path`.
fn finish_replacing(
    out: std::io::BufWriter<File>,
    temporary: &mut Temporary,
    path: &Path,
    mode: Option<u32>,
) -> std::io::Result<()> {
    let file = out
        .into_inner()
        .map_err(std::io::IntoInnerError::into_error)?;
    if let Some(mode) = mode {
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
    }
    file.sync_all()?;
    std::fs::rename(&temporary.path, path)?;
    temporary.keep = true;
    Ok(())
}

/// The folder a path names its file in (`.` for a bare name).
fn folder_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// How to write `path`, its identity and the folder the report lands in
/// (none for a pipe reached through `/proc/self/fd`), or why it cannot be.
fn classify(path: &Path) -> Result<(How, Identity, Option<PathBuf>), String> {
    let link = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return new_file(path),
        Err(e) => return Err(e.to_string()),
    };
    let meta = if link.file_type().is_symlink() {
        match std::fs::metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err("it is a symbolic link to nothing".to_owned());
            }
            Err(e) => return Err(format!("cannot follow the symbolic link: {e}")),
        }
    } else {
        link.clone()
    };
    let kind = meta.file_type();
    let identity = Identity::Existing(FileId::of(&meta));
    if kind.is_file() {
        let resolved = if link.file_type().is_symlink() {
            std::fs::canonicalize(path)
                .map_err(|e| format!("cannot follow the symbolic link: {e}"))?
        } else {
            path.to_path_buf()
        };
        let folder = folder_of(&resolved).to_path_buf();
        writable(&folder).map_err(|e| format!("its folder is not writable: {e}"))?;
        let mode = Some(meta.permissions().mode() & 0o777);
        return Ok((
            How::Replace {
                path: resolved,
                mode,
            },
            identity,
            Some(folder),
        ));
    }
    let what = if kind.is_dir() {
        "a directory"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() || kind.is_fifo() {
        writable(path).map_err(|e| format!("it is not writable: {e}"))?;
        // `/dev/stdout` resolves to `pipe:[…]`, which has no folder.
        let folder = std::fs::canonicalize(path)
            .ok()
            .map(|p| folder_of(&p).to_path_buf());
        return Ok((How::InPlace, identity, folder));
    } else {
        "not a file"
    };
    let through = if link.file_type().is_symlink() {
        "a symbolic link to "
    } else {
        ""
    };
    Err(format!("it is {through}{what}"))
}

/// A target that does not exist yet: its folder must be a writable directory.
fn new_file(path: &Path) -> Result<(How, Identity, Option<PathBuf>), String> {
    let name = path
        .file_name()
        .filter(|_| !path.as_os_str().to_string_lossy().ends_with('/'))
        .ok_or_else(|| "it names no file".to_owned())?;
    let folder = folder_of(path);
    match std::fs::metadata(folder) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => return Err(format!("{} is not a folder", folder.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!("the folder {} does not exist", folder.display()));
        }
        Err(e) => {
            return Err(format!(
                "cannot examine the folder {}: {e}",
                folder.display()
            ));
        }
    }
    writable(folder)
        .map_err(|e| format!("the folder {} is not writable: {e}", folder.display()))?;
    let canonical = std::fs::canonicalize(folder)
        .map_err(|e| format!("cannot examine the folder {}: {e}", folder.display()))?;
    let identity = Identity::New {
        folder: canonical.clone(),
        name: name.to_os_string(),
    };
    let how = How::Replace {
        path: path.to_path_buf(),
        mode: None,
    };
    Ok((how, identity, Some(canonical)))
}

/// Whether this process may write `path` (permissions, read-only mounts).
fn writable(path: &Path) -> std::io::Result<()> {
    rustix::fs::access(path, rustix::fs::Access::WRITE_OK).map_err(std::io::Error::from)
}

/// Opens an existing device or FIFO for writing, after making sure the
/// file opened is still the one checked and still not a regular file.
fn open_in_place(path: &Path, identity: &Identity) -> std::io::Result<File> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open(path)?;
    let meta = file.metadata()?;
    if meta.is_file() || meta.is_dir() || *identity != Identity::Existing(FileId::of(&meta)) {
        return Err(std::io::Error::other(
            "it was replaced by another file after it was checked",
        ));
    }
    Ok(file)
}

/// A new file beside the target, removed unless renamed over it.
#[derive(Debug)]
struct Temporary {
    path: PathBuf,
    file: File,
    keep: bool,
}

impl Temporary {
    /// Creates `.trailproof-report-*` in `folder` with mode `0666` less the
    /// umask (the kernel applies it).
    fn create(folder: &Path) -> std::io::Result<Temporary> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let mut attempt = 0u32;
        loop {
            let path = folder.join(format!(
                ".trailproof-report-{}-{nanos:x}-{attempt}",
                std::process::id()
            ));
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o666)
                .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
                .open(&path)
            {
                Ok(file) => {
                    return Ok(Temporary {
                        path,
                        file,
                        keep: false,
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => {
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for Temporary {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn check(path: &Path, inputs: &Inputs) -> Result<ReportTarget, Error> {
        ReportTarget::check("json", path, inputs)
    }

    fn reason(result: Result<ReportTarget, Error>) -> String {
        match result {
            Err(Error::ReportTargetUnusable { reason, .. }) => reason,
            other => panic!("expected ReportTargetUnusable, got {other:?}"),
        }
    }

    #[test]
    fn new_file_is_created_and_a_regular_file_replaced_keeping_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        let target = check(&path, &Inputs::default()).unwrap();
        assert!(!path.exists(), "checking creates nothing");
        target.write(|w| w.write_all(b"one")).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let target = check(&path, &Inputs::default()).unwrap();
        target.write(|w| w.write_all(b"two")).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o7777, 0o640);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file is left");
    }

    #[test]
    fn failed_fill_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        std::fs::write(&path, b"old").unwrap();
        let target = check(&path, &Inputs::default()).unwrap();
        let err = target
            .write(|w| {
                w.write_all(b"partial")?;
                Err(std::io::Error::other("renderer failed"))
            })
            .unwrap_err();
        assert!(!err.to_string().contains(".trailproof-report-"), "{err}");
        assert!(err.to_string().contains("renderer failed"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn link_to_a_regular_file_replaces_the_file_and_keeps_the_link() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("real.json");
        std::fs::write(&file, b"old").unwrap();
        let link = dir.path().join("link.json");
        symlink(&file, &link).unwrap();
        check(&link, &Inputs::default())
            .unwrap()
            .write(|w| w.write_all(b"new"))
            .unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read(&file).unwrap(), b"new");
    }

    #[test]
    fn devices_are_written_in_place() {
        let target = check(Path::new("/dev/null"), &Inputs::default()).unwrap();
        target.write(|w| w.write_all(b"gone")).unwrap();
        assert!(
            std::fs::metadata("/dev/null")
                .unwrap()
                .file_type()
                .is_char_device()
        );
        let full = check(Path::new("/dev/full"), &Inputs::default()).unwrap();
        let err = full.write(|w| w.write_all(b"x")).unwrap_err().to_string();
        assert!(
            err.starts_with("cannot write the json report to /dev/full: No space left on device"),
            "{err}"
        );
        assert!(
            std::fs::metadata("/dev/full")
                .unwrap()
                .file_type()
                .is_char_device()
        );
    }

    #[test]
    fn unusable_targets_say_why() {
        let dir = tempfile::tempdir().unwrap();
        let none = Inputs::default();
        let missing = dir.path().join("missing").join("r.json");
        assert!(reason(check(&missing, &none)).contains("does not exist"));
        assert!(reason(check(dir.path(), &none)).contains("a directory"));
        let dangling = dir.path().join("dangling");
        symlink(dir.path().join("nothing"), &dangling).unwrap();
        assert!(reason(check(&dangling, &none)).contains("link to nothing"));
        let to_dir = dir.path().join("to-dir");
        symlink(dir.path(), &to_dir).unwrap();
        assert_eq!(
            reason(check(&to_dir, &none)),
            "it is a symbolic link to a directory"
        );
        let file = dir.path().join("file");
        std::fs::write(&file, b"").unwrap();
        assert!(reason(check(&file.join("r.json"), &none)).contains("Not a directory"));
        assert!(reason(check(&dir.path().join("x/"), &none)).contains("names no file"));
        let socket = dir.path().join("socket");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        assert_eq!(reason(check(&socket, &none)), "it is a socket");
        if let Some(block) = std::fs::read_dir("/dev")
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| std::fs::metadata(p).is_ok_and(|m| m.file_type().is_block_device()))
        {
            assert_eq!(reason(check(&block, &none)), "it is a block device");
        }
    }

    #[test]
    fn key_files_mirrors_and_duplicates_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mirror = dir.path().join("mirror");
        std::fs::create_dir_all(mirror.join("AWSLogs")).unwrap();
        let keys = dir.path().join("keys.json");
        std::fs::write(&keys, b"{}").unwrap();
        let hard = dir.path().join("hard.json");
        std::fs::hard_link(&keys, &hard).unwrap();
        let inputs = Inputs::new(std::slice::from_ref(&mirror), std::slice::from_ref(&keys));
        for path in [&keys, &hard] {
            assert!(matches!(
                check(path, &inputs),
                Err(Error::ReportIsInput { .. })
            ));
        }
        let inside = mirror.join("AWSLogs").join("r.json");
        assert!(matches!(
            check(&inside, &inputs),
            Err(Error::OutputInsideMirror { .. })
        ));
        // A link outside the mirror to a file inside it.
        std::fs::write(mirror.join("AWSLogs/evidence"), b"e").unwrap();
        let link = dir.path().join("link");
        symlink(mirror.join("AWSLogs/evidence"), &link).unwrap();
        assert!(matches!(
            check(&link, &inputs),
            Err(Error::OutputInsideMirror { .. })
        ));
        let a = dir.path().join("a.json");
        let also_a = dir.path().join(".").join("a.json");
        let errors = check_all(&[("json", &a), ("html", &also_a)], &inputs).unwrap_err();
        assert!(
            matches!(errors.as_slice(), [Error::ReportTwice { .. }]),
            "{errors:?}"
        );
        let errors = check_all(&[("json", &keys), ("html", &inside)], &inputs).unwrap_err();
        assert_eq!(errors.len(), 2);
        assert_eq!(check_all(&[("json", &a)], &inputs).unwrap().len(), 1);
    }
}
