//! trailproof proves, offline, whether a local mirror of an AWS CloudTrail
//! log archive is intact.
//!
//! [`verify()`] runs the pipeline, a one-way graph of stages with typed
//! outcomes:
//! 1. [`mirror::scan`] walks the mirror roots once through `evidence` (the
//!    only code that touches the file system: read-only, no links followed,
//!    no access times changed) and names every file by its S3 key
//!    ([`layout`]).
//! 2. `digest::read` inflates each digest (one bounded gzip member, see
//!    [`gzip`]) and validates its JSON; [`signature::authenticate`] verifies
//!    its SHA256withRSA signature with the key from `keys::KeyRing` its
//!    fingerprint names. Each digest becomes a `record::DigestRecord`.
//! 3. `chain` rebuilds every chain: links, forks, order and gaps as data,
//!    authentic evidence always outranking unauthenticated evidence.
//! 4. The log files are checked `partition` by partition (one day's log
//!    folder of one place, with the digests that list files in it), so
//!    memory depends on the largest partition, not on the archive;
//!    `loghash` re-hashes every listed file on every core.
//! 5. The [`report::Report`] holds the verdict; the JSON report, the
//!    evidence manifest and JUnit are streamed partition by partition, the
//!    other formats rendered from the `Report` at the end.
//!
//! Evidence problems are [`Finding`]s; [`Error`] only means the run could
//! not be done (a mistake by the person running it: exit status 2).
//!
//! ```no_run
//! let options = trailproof::Options::new(
//!     vec!["evidence/bucket".into()],
//!     vec!["public-keys.json".into()],
//! );
//! let report = trailproof::verify(&options)?;
//! if report.verdict != trailproof::Verdict::Pass {
//!     for finding in &report.findings {
//!         eprintln!("{}: {} ({})", finding.code, finding.message, finding.object);
//!     }
//! }
//! # Ok::<(), trailproof::Error>(())
//! ```

pub(crate) mod budget;
pub(crate) mod chain;
pub mod checkpoint;
#[cfg(feature = "collect")]
pub mod collect;
pub mod custody;
pub(crate) mod digest;
pub(crate) mod error;
pub(crate) mod evidence;
mod excerpt;
pub mod explain;
pub(crate) mod finding;
pub mod gzip;
pub(crate) mod keys;
pub mod layout;
pub(crate) mod lifecycle;
pub(crate) mod loghash;
pub mod merge;
pub mod mirror;
pub(crate) mod options;
pub mod output;
pub(crate) mod partition;
pub mod progress;
pub mod query;
pub(crate) mod record;
pub mod report;
pub mod selection;
pub mod shard;
pub mod signature;
pub mod text;
pub mod timearg;
pub mod verify;

#[doc(hidden)]
pub mod fuzzing;

pub use error::Error;
pub use finding::{Finding, FindingCode, Severity, default_help};
pub use options::Options;
pub use report::{Report, Verdict};
pub use selection::{Selection, TrailSelector};
pub use verify::{verify, verify_into, verify_with_progress};
