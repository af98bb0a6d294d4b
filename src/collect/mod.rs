//! `trailproof collect`: takes the evidence from S3 in one command, with
//! each digest's signature metadata (from the digest's own GET), CloudTrail's
//! public keys, and a collection record that `verify` checks the folder
//! against later (see [`crate::custody`]).
//!
//! Network code lives only here, behind the `collect` cargo feature.

pub(crate) mod fetch;
pub mod filter;
pub(crate) mod keys;
pub(crate) mod store;

pub use filter::{KeyFilter, Take};

use crate::custody::record::{
    COLLECTION_DIR, Caller, CollectionRecord, FORMAT, Filters, RECORD_FILE, Skipped,
};
use jiff::Timestamp;
use std::path::PathBuf;

/// What to collect and how.
#[derive(Debug, Clone)]
pub struct CollectOptions {
    /// The bucket.
    pub bucket: String,
    /// The key prefix to list (may be empty).
    pub prefix: String,
    /// The folder to fill (`DIR/<key>`).
    pub dir: PathBuf,
    /// Which keys to take.
    pub filter: KeyFilter,
    /// Also take noncurrent versions and delete markers.
    pub versions: bool,
    /// Downloads at once.
    pub jobs: usize,
    /// AWS profile (`--profile`).
    pub profile: Option<String>,
    /// S3 (and STS) endpoint (`--endpoint-url`): S3-compatible stores, tests.
    pub endpoint_url: Option<String>,
    /// How this build names itself in the record.
    pub tool: String,
}

/// How far a collection got (for a progress bar).
pub trait CollectProgress: Sync {
    /// The listing found `objects` to take, `bytes` in all (called as pages arrive).
    fn listed(&self, objects: u64, bytes: u64);
    /// One object is done (fetched, or found already there).
    fn done(&self, bytes: u64);
}

/// No progress reporting.
pub struct Quiet;

impl CollectProgress for Quiet {
    fn listed(&self, _: u64, _: u64) {}
    fn done(&self, _: u64) {}
}

/// Why a collection could not run (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// The folder cannot be written.
    #[error("cannot write the collection folder {path}: {source}")]
    Folder {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// S3 refused or failed the listing (credentials, permission, bucket name).
    #[error("cannot list s3://{bucket}/{prefix}: {reason}")]
    List {
        /// Bucket.
        bucket: String,
        /// Prefix.
        prefix: String,
        /// The service's or the SDK's error.
        reason: String,
    },
    /// The async runtime could not start.
    #[error("cannot start the network runtime: {0}")]
    Runtime(std::io::Error),
}

/// What a collection came to.
#[derive(Debug)]
pub struct Collected {
    /// The record written.
    pub record: CollectionRecord,
    /// Where it was written.
    pub record_path: PathBuf,
    /// SHA-256 of `record.json`: write it in the case notes.
    pub record_sha256: String,
    /// Objects fetched in this run.
    pub fetched: u64,
    /// Objects an earlier run had already fetched.
    pub already_there: u64,
    /// Bytes fetched in this run.
    pub bytes: u64,
}

/// Runs a collection.
///
/// # Errors
/// [`CollectError`] when it cannot run at all; objects that fail are in the
/// record's `failures` (and the record's `complete` is false).
pub fn collect(
    options: &CollectOptions,
    progress: &dyn CollectProgress,
) -> Result<Collected, CollectError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CollectError::Runtime)?;
    runtime.block_on(run(options, progress))
}

async fn run(
    options: &CollectOptions,
    progress: &dyn CollectProgress,
) -> Result<Collected, CollectError> {
    let started_at = Timestamp::now();
    let folder_error = |source| CollectError::Folder {
        path: options.dir.clone(),
        source,
    };
    let clients = fetch::Clients::new(options).await;
    let caller = clients.caller().await;
    let listed = clients.list(options, progress).await?;
    // Nothing is written before the bucket could be listed.
    let store = store::Store::open(&options.dir).map_err(folder_error)?;
    let outcome = fetch::fetch_all(&clients, &store, options, &listed, progress).await;
    let public_keys = keys::fetch(&clients, &store, &listed.digest_times).await;
    let (objects_sha256, objects) = store.seal().map_err(folder_error)?;
    let fetch::Outcome {
        conflicts,
        mut failures,
        fetched,
        already_there,
        bytes,
    } = outcome;
    let public_keys = match public_keys {
        Ok(keys) => keys,
        Err(failure) => {
            failures.push(failure);
            Vec::new()
        }
    };
    let record = CollectionRecord {
        format: FORMAT.to_owned(),
        tool: options.tool.clone(),
        started_at,
        finished_at: Timestamp::now(),
        complete: conflicts.is_empty() && failures.is_empty(),
        caller: caller.unwrap_or_else(|error| Caller {
            error: Some(error),
            ..Caller::default()
        }),
        endpoint: clients.endpoint.clone(),
        bucket: options.bucket.clone(),
        bucket_region: clients.bucket_region.clone(),
        prefix: options.prefix.clone(),
        filters: filters(options),
        objects_sha256,
        objects,
        skipped: listed.skipped,
        public_keys,
        delete_markers: listed.delete_markers,
        conflicts,
        failures,
    };
    let record_path = options.dir.join(COLLECTION_DIR).join(RECORD_FILE);
    let mut text = serde_json::to_vec_pretty(&record).map_err(|e| folder_error(e.into()))?;
    text.push(b'\n');
    store::write_replacing(&record_path, &text).map_err(folder_error)?;
    let record_sha256 = {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(&text))
    };
    Ok(Collected {
        record,
        record_path,
        record_sha256,
        fetched,
        already_there,
        bytes,
    })
}

/// What the listing found to take.
pub(crate) struct Listed {
    /// Current objects and (with `--versions`) noncurrent versions.
    pub objects: Vec<fetch::Listing>,
    /// Their bytes in all.
    pub bytes: u64,
    /// Digest end times by region (which public keys are needed).
    pub digest_times: std::collections::BTreeMap<String, (Timestamp, Timestamp)>,
    /// Delete markers (`--versions`).
    pub delete_markers: Vec<crate::custody::record::DeleteMarker>,
    /// What was left out.
    pub skipped: Skipped,
}

/// What the record says was asked for.
fn filters(options: &CollectOptions) -> Filters {
    Filters {
        since: options.filter.since,
        until: options.filter.until,
        accounts: options.filter.accounts.clone(),
        regions: options.filter.regions.clone(),
        versions: options.versions,
        log_places: options.filter.shard.as_ref().map(|s| s.used().places),
    }
}
