//! The only code that touches the file system: folders listed and files
//! opened read-only, never following a link, never blocking on a FIFO, and
//! where the kernel permits it without changing an access time.

use std::fs::File;
use std::path::{Path, PathBuf};

/// The sidecar path of a digest file.
#[must_use]
pub fn sidecar_path(digest: &Path) -> PathBuf {
    let mut name = digest.as_os_str().to_owned();
    name.push(crate::layout::SIDECAR_SUFFIX);
    PathBuf::from(name)
}

/// What a folder entry is, from `lstat` (links are never followed).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum EntryKind {
    Folder,
    /// A regular file and its size.
    File(u64),
    /// A link, FIFO, socket or device.
    Other,
    /// `lstat` failed.
    Unknown(String),
}

pub(crate) struct FolderEntry {
    /// The entry's name.
    pub name: std::ffi::OsString,
    /// What it is.
    pub kind: EntryKind,
}

/// Opens with `flags` plus `O_NOATIME`, or without it where the kernel
/// refuses it (only the owner, or a holder of `CAP_FOWNER`, may use it).
fn without_atime<T>(
    flags: rustix::fs::OFlags,
    open: impl Fn(rustix::fs::OFlags) -> rustix::io::Result<T>,
) -> std::io::Result<T> {
    match open(flags | rustix::fs::OFlags::NOATIME) {
        Err(rustix::io::Errno::PERM) => open(flags),
        other => other,
    }
    .map_err(std::io::Error::from)
}

/// Reads one folder's entries (without `.` and `..`), opening it with
/// `O_DIRECTORY`, `O_NOFOLLOW` (unless it is a root given on the command
/// line, which may be a link) and, where permitted, `O_NOATIME`.
pub(crate) fn read_folder(path: &Path, is_root: bool) -> std::io::Result<Vec<FolderEntry>> {
    use rustix::fs::{AtFlags, FileType, Mode, OFlags};
    use std::os::unix::ffi::OsStrExt as _;
    let mut base = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    if !is_root {
        base |= OFlags::NOFOLLOW;
    }
    let fd = without_atime(base, |flags| rustix::fs::open(path, flags, Mode::empty()))?;
    let mut dir = rustix::fs::Dir::read_from(&fd).map_err(std::io::Error::from)?;
    let mut out = Vec::new();
    while let Some(entry) = dir.read() {
        let entry = entry.map_err(std::io::Error::from)?;
        let name = entry.file_name().to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        let kind = match rustix::fs::statat(&fd, entry.file_name(), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => match FileType::from_raw_mode(stat.st_mode) {
                FileType::Directory => EntryKind::Folder,
                FileType::RegularFile => EntryKind::File(u64::try_from(stat.st_size).unwrap_or(0)),
                _ => EntryKind::Other,
            },
            Err(e) => EntryKind::Unknown(std::io::Error::from(e).to_string()),
        };
        out.push(FolderEntry {
            name: std::ffi::OsStr::from_bytes(name).to_owned(),
            kind,
        });
    }
    Ok(out)
}

/// Opens a mirror file for reading without following a final symbolic link,
/// without blocking on FIFOs and, where the kernel permits, without updating
/// its access time (`O_NOATIME`). Refuses anything but a regular file.
///
/// # Errors
/// The I/O error, or `InvalidInput` when the path is not a regular file.
pub fn open_evidence(path: &Path) -> std::io::Result<File> {
    regular(open_read_only(path)?).map(|(file, _)| file)
}

/// Opens like [`open_evidence`] and says the file's length.
///
/// # Errors
/// As [`open_evidence`].
pub(crate) fn open_evidence_sized(path: &Path) -> std::io::Result<(File, u64)> {
    regular(open_read_only(path)?)
}

/// `file` and its length, when it is a regular file (one `fstat`).
fn regular(file: File) -> std::io::Result<(File, u64)> {
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    Ok((file, meta.len()))
}

#[cfg(target_os = "linux")]
fn open_read_only(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let base = libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC;
    let open = |flags| {
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(flags)
            .open(path)
    };
    match open(base | libc::O_NOATIME) {
        // O_NOATIME is only allowed to the file's owner (or with CAP_FOWNER).
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => open(base),
        other => other,
    }
}

#[cfg(all(unix, not(target_os = "linux")))]
fn open_read_only(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_read_only(path: &Path) -> std::io::Result<File> {
    File::open(path)
}

/// What a folder entry is by the type the folder listing gives (no `stat`
/// per entry; `lstat` only where the file system does not say).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A folder.
    Folder,
    /// A regular file.
    File,
    /// A link, FIFO, socket or device: never opened.
    Other,
}

/// An open folder: its entries by name and kind, and a handle to open
/// them relative to it (no path lookup per file).
#[derive(Debug)]
pub(crate) struct OpenFolder {
    fd: rustix::fd::OwnedFd,
    /// Entries (without `.` and `..`), in the order the file system gave.
    pub entries: Vec<(std::ffi::OsString, Kind)>,
}

impl OpenFolder {
    /// Opens and lists a folder inside a mirror (never through a final link).
    ///
    /// # Errors
    /// The I/O error of opening or reading it.
    pub(crate) fn open(path: &Path) -> std::io::Result<OpenFolder> {
        use rustix::fs::{AtFlags, FileType, Mode, OFlags};
        use std::os::unix::ffi::OsStrExt as _;
        let base = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOFOLLOW;
        let fd = without_atime(base, |flags| rustix::fs::open(path, flags, Mode::empty()))?;
        let mut dir = rustix::fs::Dir::read_from(&fd).map_err(std::io::Error::from)?;
        let mut entries = Vec::new();
        while let Some(entry) = dir.read() {
            let entry = entry.map_err(std::io::Error::from)?;
            let name = entry.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            let file_type = match entry.file_type() {
                FileType::Unknown => {
                    rustix::fs::statat(&fd, entry.file_name(), AtFlags::SYMLINK_NOFOLLOW)
                        .map_or(FileType::Unknown, |s| FileType::from_raw_mode(s.st_mode))
                }
                known => known,
            };
            let kind = match file_type {
                FileType::Directory => Kind::Folder,
                FileType::RegularFile => Kind::File,
                _ => Kind::Other,
            };
            entries.push((std::ffi::OsStr::from_bytes(name).to_owned(), kind));
        }
        Ok(OpenFolder { fd, entries })
    }

    /// Opens the entry `name` for reading like [`open_evidence`], relative
    /// to this folder, and says its length.
    ///
    /// # Errors
    /// The I/O error, or `InvalidInput` when it is not a regular file.
    pub(crate) fn open_file(&self, name: &std::ffi::OsStr) -> std::io::Result<(File, u64)> {
        use rustix::fs::{Mode, OFlags};
        let base = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let fd = without_atime(base, |flags| {
            rustix::fs::openat(&self.fd, name, flags, Mode::empty())
        })?;
        regular(File::from(fd))
    }

    /// Takes the entries out (the folder stays open).
    pub(crate) fn take_entries(&mut self) -> Vec<(std::ffi::OsString, Kind)> {
        std::mem::take(&mut self.entries)
    }
}

/// Opens an input the user names (a plan, a checkpoint, a partial report):
/// links followed, but never blocking on a FIFO, and only a regular file.
pub(crate) fn open_regular(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    Ok(file)
}

/// Reads a regular file of at most `limit` bytes ([`open_regular`]).
pub(crate) fn read_regular(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    open_regular(path)?
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {limit} bytes"),
        ));
    }
    Ok(bytes)
}
