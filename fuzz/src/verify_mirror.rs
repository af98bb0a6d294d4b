//! Whole-run harness: [`trailproof::verify`] over a small clean mirror in
//! which the fuzz input replaces one file.
//!
//! The mirror (one trail, one region, three hourly digests with metadata
//! sidecars, their logs, the `list-public-keys` file; TEST-ONLY keys) is built
//! once per process by `trailproof-testgen` in a RAM directory
//! (`/dev/shm/trailproof-fuzz-<pid>`). The first input byte chooses the file:
//!
//! | bits | meaning |
//! |---|---|
//! | 0–1 | 0 digest, 1 metadata sidecar, 2 log, 3 public-key file |
//! | 2 | digest or log: gzip the payload first (the fuzzer then mutates content, not deflate bits) |
//! | 3–7 | which file of that kind (modulo their number) |
//!
//! The rest of the input becomes that file's bytes; verify runs with one
//! worker; the original bytes are put back. Checked for every input: verify
//! neither panics nor fails to run (only an invalid key file may stop it),
//! both renderers work, the verdict agrees with the findings, and a `pass`
//! means nothing that matters changed: a digest or log must still be one
//! strict gzip member (checked here independently of `trailproof::gzip`)
//! holding exactly the original content, a sidecar must still hold the
//! original signature bytes.
//!
//! Also compiled into `tests/fuzz_regressions.rs` (by `#[path]`), so found
//! inputs replay under `cargo test`.

// A harness reports a broken invariant, or a fixture it cannot build, by panicking.
#![allow(clippy::panic, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use trailproof::report::{human, json};
use trailproof::{Error, Options, Severity, Verdict};
use trailproof_testgen::{MirrorBuilder, TrailSpec};

/// Which kind of file an input replaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A `.json.gz` digest file.
    Digest,
    /// A digest's `.metadata.json` sidecar.
    Sidecar,
    /// A `.json.gz` log file.
    Log,
    /// The `list-public-keys` JSON.
    Keys,
}

impl Kind {
    /// All kinds, in selector order.
    pub const ALL: [Kind; 4] = [Kind::Digest, Kind::Sidecar, Kind::Log, Kind::Keys];

    fn of(selector: u8) -> Kind {
        match selector & 3 {
            0 => Kind::Digest,
            1 => Kind::Sidecar,
            2 => Kind::Log,
            _ => Kind::Keys,
        }
    }

    fn bits(self) -> u8 {
        match self {
            Kind::Digest => 0,
            Kind::Sidecar => 1,
            Kind::Log => 2,
            Kind::Keys => 3,
        }
    }

    fn gzipped(self) -> bool {
        matches!(self, Kind::Digest | Kind::Log)
    }
}

/// Selector bit: gzip the payload before writing it (digests and logs).
pub const WRAP: u8 = 4;

/// The first byte of an input that replaces file `index` of `kind`.
#[must_use]
pub fn selector(kind: Kind, wrap: bool, index: u8) -> u8 {
    kind.bits() | if wrap { WRAP } else { 0 } | (index << 3)
}

/// One file of the clean mirror.
struct Original {
    kind: Kind,
    path: PathBuf,
    bytes: Vec<u8>,
    /// Inflated content of a digest or log file.
    content: Vec<u8>,
    /// Signature bytes held by a sidecar.
    signature: Vec<u8>,
}

/// The clean mirror and how to verify it.
struct Fixture {
    options: Options,
    files: Vec<Original>,
}

static FIXTURE: OnceLock<Mutex<Fixture>> = OnceLock::new();

/// Runs one input (see the module docs).
pub fn verify_mirror(data: &[u8]) {
    let Some((&selector, payload)) = data.split_first() else {
        return;
    };
    let fixture = fixture();
    let kind = Kind::of(selector);
    let wrap = selector & WRAP != 0 && kind.gzipped();
    let candidates: Vec<&Original> = fixture.files.iter().filter(|f| f.kind == kind).collect();
    let Some(target) = candidates
        .get(usize::from(selector >> 3) % candidates.len().max(1))
        .copied()
    else {
        panic!("the fixture has no {kind:?} file");
    };
    let written = if wrap {
        trailproof_testgen::gzip(payload)
    } else {
        payload.to_vec()
    };
    let restore = Restore(target);
    if let Err(e) = fs::write(&target.path, &written) {
        panic!("cannot write {}: {e}", target.path.display());
    }
    let outcome = trailproof::verify(&fixture.options);
    drop(restore);

    let report = match outcome {
        Ok(report) => report,
        Err(
            Error::KeyFileInvalid { .. } | Error::KeyFileUnreadable { .. } | Error::NoPublicKeys,
        ) if kind == Kind::Keys => return,
        Err(e) => panic!("verify could not run after replacing a {kind:?} file: {e}"),
    };
    let errors = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    assert_eq!(
        report.verdict == Verdict::Fail,
        errors > 0,
        "the verdict disagrees with the findings"
    );
    assert_eq!(
        report.summary.findings.errors, errors,
        "the summary miscounts errors"
    );
    json::write(&report, &mut std::io::sink()).expect("the JSON report renders");
    let _ = human::render(&report, human::Style::default());
    if report.verdict == Verdict::Fail {
        return;
    }
    match kind {
        Kind::Digest | Kind::Log => {
            let content = if wrap {
                Some(payload.to_vec())
            } else {
                strict_gunzip(&written)
            };
            assert!(
                content.as_deref() == Some(&target.content[..]),
                "verify passes although the {kind:?} file {} no longer holds its original content \
                 as one valid gzip member",
                target.path.display()
            );
        }
        Kind::Sidecar => {
            let signature = trailproof::signature::parse_sidecar(&written)
                .ok()
                .and_then(|m| m.signature)
                .and_then(|s| s.bytes().map(std::borrow::Cow::into_owned));
            assert!(
                signature.as_deref() == Some(&target.signature[..]),
                "verify passes although the sidecar {} no longer holds the original signature",
                target.path.display()
            );
        }
        // Any key file that still holds the signing keys may pass.
        Kind::Keys => {}
    }
}

/// One seed per file of the clean mirror and per way to write it: each
/// passes verification.
#[must_use]
pub fn seeds() -> Vec<Vec<u8>> {
    let fixture = fixture();
    let mut seeds = Vec::new();
    for kind in Kind::ALL {
        let files = fixture.files.iter().filter(|f| f.kind == kind);
        for (index, file) in files.enumerate() {
            let index = u8::try_from(index).expect("at most 31 files of a kind");
            let mut seed = vec![selector(kind, false, index)];
            seed.extend_from_slice(&file.bytes);
            seeds.push(seed);
            if kind.gzipped() {
                let mut seed = vec![selector(kind, true, index)];
                seed.extend_from_slice(&file.content);
                seeds.push(seed);
            }
        }
    }
    seeds
}

/// Puts a file's original bytes back, even when the check panics (in tests).
struct Restore<'a>(&'a Original);

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        if let Err(e) = fs::write(&self.0.path, &self.0.bytes) {
            eprintln!("cannot restore {}: {e}", self.0.path.display());
            std::process::abort();
        }
    }
}

fn fixture() -> MutexGuard<'static, Fixture> {
    FIXTURE
        .get_or_init(|| Mutex::new(Fixture::build()))
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

impl Fixture {
    fn build() -> Fixture {
        let dir = work_dir();
        let spec = {
            let mut s = TrailSpec::small(1);
            s.regions = vec!["us-east-1".into()];
            s.hours = 3;
            // Small logs: every execution re-hashes all of them.
            s.records_per_log = (1, 4);
            s
        };
        let mirror = MirrorBuilder::new(&dir).trail(spec).build();
        let mut files = Vec::new();
        for digest in &mirror.digests {
            let bytes = read(&digest.path);
            let content = strict_gunzip(&bytes).expect("generated digests are valid gzip");
            let mut sidecar = digest.path.clone().into_os_string();
            sidecar.push(trailproof::mirror::SIDECAR_SUFFIX);
            let sidecar = PathBuf::from(sidecar);
            files.push(Original {
                kind: Kind::Digest,
                path: digest.path.clone(),
                bytes,
                content,
                signature: Vec::new(),
            });
            files.push(Original {
                kind: Kind::Sidecar,
                bytes: read(&sidecar),
                path: sidecar,
                content: Vec::new(),
                signature: hex::decode(&digest.signature_hex).expect("hex signature"),
            });
        }
        for log in &mirror.logs {
            let bytes = read(&log.path);
            let content = strict_gunzip(&bytes).expect("generated logs are valid gzip");
            files.push(Original {
                kind: Kind::Log,
                path: log.path.clone(),
                bytes,
                content,
                signature: Vec::new(),
            });
        }
        files.push(Original {
            kind: Kind::Keys,
            path: mirror.public_keys.clone(),
            bytes: read(&mirror.public_keys),
            content: Vec::new(),
            signature: Vec::new(),
        });
        let options = Options {
            jobs: Some(1),
            ..Options::new(vec![mirror.root.clone()], vec![mirror.public_keys.clone()])
        };
        let report = trailproof::verify(&options).expect("the clean mirror verifies");
        assert!(
            report.verdict == Verdict::Pass && report.findings.is_empty(),
            "the clean fixture mirror has findings: {:?}",
            report.findings
        );
        Fixture { options, files }
    }
}

/// Removes this process's mirror directory (the next process to build a
/// fixture removes those of processes that are gone anyway).
#[allow(dead_code)] // Used by examples/seed.rs, not by tests/fuzz_regressions.rs.
pub fn clean_up() {
    let _ = fs::remove_dir_all(work_dir_path());
}

fn work_dir_path() -> PathBuf {
    let base = Path::new("/dev/shm");
    let base = if base.is_dir() {
        base.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    base.join(format!("trailproof-fuzz-{}", std::process::id()))
}

/// A fresh directory in RAM for this process; directories of processes that
/// are gone are removed.
fn work_dir() -> PathBuf {
    let dir = work_dir_path();
    if let Some(base) = dir.parent()
        && let Ok(entries) = fs::read_dir(base)
    {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let pid = name
                .to_str()
                .and_then(|n| n.strip_prefix("trailproof-fuzz-"))
                .and_then(|p| p.parse::<u32>().ok());
            if let Some(pid) = pid
                && pid != std::process::id()
                && !Path::new(&format!("/proc/{pid}")).exists()
            {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }
    let dir = work_dir_path();
    let _ = fs::remove_dir_all(&dir);
    dir
}

fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Strict RFC 1952 reading, written independently of `trailproof::gzip`:
/// exactly one member, reserved flags clear, header CRC when flagged,
/// CRC-32 and ISIZE correct, nothing after the trailer. `None` otherwise.
#[must_use]
pub fn strict_gunzip(bytes: &[u8]) -> Option<Vec<u8>> {
    const FHCRC: u8 = 2;
    const FEXTRA: u8 = 4;
    const FNAME: u8 = 8;
    const FCOMMENT: u8 = 16;
    let (fixed, mut rest) = bytes.split_first_chunk::<10>()?;
    let [id1, id2, method, flags, ..] = *fixed;
    if id1 != 0x1f || id2 != 0x8b || method != 8 || flags & 0xe0 != 0 {
        return None;
    }
    if flags & FEXTRA != 0 {
        let (len, tail) = rest.split_first_chunk::<2>()?;
        rest = tail.get(usize::from(u16::from_le_bytes(*len))..)?;
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let end = rest.iter().position(|&b| b == 0)?;
            rest = rest.get(end + 1..)?;
        }
    }
    if flags & FHCRC != 0 {
        let header_len = bytes.len() - rest.len();
        let (stored, tail) = rest.split_first_chunk::<2>()?;
        let mut crc = flate2::Crc::new();
        crc.update(bytes.get(..header_len)?);
        if u16::from_le_bytes(*stored) != (crc.sum() & 0xffff) as u16 {
            return None;
        }
        rest = tail;
    }
    let mut inflater = flate2::Decompress::new(false);
    let mut content = Vec::new();
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        let before_in = inflater.total_in();
        let before_out = inflater.total_out();
        let input = rest.get(usize::try_from(before_in).ok()?..)?;
        let status = inflater
            .decompress(input, &mut chunk, flate2::FlushDecompress::None)
            .ok()?;
        let produced = usize::try_from(inflater.total_out() - before_out).ok()?;
        content.extend_from_slice(chunk.get(..produced)?);
        match status {
            flate2::Status::StreamEnd => break,
            _ if inflater.total_in() == before_in && produced == 0 => return None,
            _ => {}
        }
    }
    let trailer = rest.get(usize::try_from(inflater.total_in()).ok()?..)?;
    let (crc32, isize) = trailer.split_first_chunk::<4>()?;
    let isize: [u8; 4] = isize.try_into().ok()?;
    let mut crc = flate2::Crc::new();
    crc.update(&content);
    (u32::from_le_bytes(*crc32) == crc.sum()
        && u32::from_le_bytes(isize) == (content.len() & 0xffff_ffff) as u32)
        .then_some(content)
}
