//! trailproof proves, offline, whether a local mirror of an AWS CloudTrail
//! log archive is intact.
//!
//! The pipeline ([`verify()`]):
//! 1. [`mirror::scan`] walks the mirror roots once, never following links
//!    and never writing, and classifies every file by its S3 key layout.
//! 2. [`digest::read`] inflates each digest (one bounded gzip member, see
//!    [`gzip`]) and validates its JSON; the roots' bucket and prefix are
//!    worked out from the digests' own `digestS3Object`.
//! 3. [`signature::authenticate`] verifies each digest's SHA256withRSA
//!    signature, taken from a metadata sidecar, extended attributes or the
//!    next digest, with the key from [`keys::KeyRing`] its fingerprint names.
//! 4. [`chain::build`] and [`chain::check_links`] rebuild every chain and
//!    report missing, modified and out-of-order digests and restarts.
//! 5. [`loghash::verify_logs`] re-hashes every listed log file in parallel
//!    and reports unreferenced ones.
//! 6. [`report::Report`] holds the result; [`report::human`] and
//!    [`report::json`] render it.
//!
//! Evidence problems are [`finding::Finding`]s; [`error::Error`] only means
//! the run could not be done.

pub mod budget;
pub mod chain;
pub mod digest;
pub mod error;
pub mod evidence;
mod excerpt;
pub mod finding;
pub mod gzip;
pub mod keys;
pub mod layout;
pub mod loghash;
pub mod mirror;
pub mod options;
pub mod output;
pub mod progress;
pub mod record;
pub mod report;
pub mod signature;
pub mod text;
pub mod timearg;
pub mod verify;
mod window;

#[doc(hidden)]
pub mod fuzzing;

pub use error::Error;
pub use finding::{Finding, FindingCode, Severity};
pub use options::Options;
pub use report::{Report, Verdict};
pub use verify::{verify, verify_into, verify_with_progress};
