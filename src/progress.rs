//! Progress of a run, reported to whoever drives the library.
//!
//! The library owns no progress bar: [`crate::verify::verify_with_progress`]
//! calls a [`Progress`] implementation (the binary's draws an indicatif bar
//! on a terminal). Calls come from worker threads, so implementations must
//! be cheap and thread-safe.

/// The stages of a run, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Walking the mirror roots.
    Scanning,
    /// Reading and checking digest files.
    Digests,
    /// Inflating and hashing log files.
    Logs,
}

impl Phase {
    /// A short name for display.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Phase::Scanning => "scanning",
            Phase::Digests => "digests",
            Phase::Logs => "log files",
        }
    }
}

/// Receives progress. Every method has a default that does nothing.
pub trait Progress: Sync {
    /// A phase starts with this many files and (compressed) bytes to do.
    fn start(&self, phase: Phase, files: u64, bytes: u64) {
        let _ = (phase, files, bytes);
    }

    /// One more file of the current phase is done.
    fn advance(&self, bytes: u64) {
        let _ = bytes;
    }

    /// Whether [`Progress::proved`] is wanted (naming every file costs time).
    fn wants_proved(&self) -> bool {
        false
    }

    /// A digest or log file was proved valid: authentic, intact and in its
    /// place (`--verbose` lists them, like `validate-logs --verbose`).
    fn proved(&self, evidence: Proved, url: &str) {
        let _ = (evidence, url);
    }
}

/// What kind of file [`Progress::proved`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proved {
    /// A digest file: its signature verifies, and it links into its chain.
    Digest,
    /// A backfill digest file, likewise.
    BackfillDigest,
    /// A log file: its uncompressed SHA-256 is the one an authentic digest lists.
    Log,
}

impl Proved {
    /// The label `validate-logs --verbose` uses.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Proved::Digest => "Digest file",
            Proved::BackfillDigest => "(backfill) Digest file",
            Proved::Log => "Log file",
        }
    }
}

/// Progress that goes nowhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {}
