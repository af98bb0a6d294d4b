//! S3: the clients, the listing, and each object streamed to disk, checked
//! and retried.

use super::store::{Placed, Store};
use super::{CollectError, CollectOptions, CollectProgress, KeyFilter, Listed, Take};
use crate::custody::record::{
    COLLECTION_DIR, Caller, Conflict, DeleteMarker, FileEntry, RecordKind, Skipped, VERSIONS_DIR,
};
use aws_sdk_s3::primitives::DateTime;
use jiff::Timestamp;
use md5::Digest as _;
use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;
use tokio::io::AsyncWriteExt as _;

/// How often one object is fetched again after a broken or corrupt transfer
/// (the SDK itself retries throttling and refused connections first).
const ATTEMPTS: u32 = 5;

/// The service clients of one collection.
pub(crate) struct Clients {
    pub s3: aws_sdk_s3::Client,
    pub sts: aws_sdk_sts::Client,
    pub config: aws_config::SdkConfig,
    /// The S3 endpoint, for the record.
    pub endpoint: String,
    /// The bucket's region.
    pub bucket_region: String,
}

/// One object (or object version) to fetch.
#[derive(Debug, Clone)]
pub(crate) struct Listing {
    pub key: String,
    pub size: u64,
    pub etag: String,
    pub last_modified: Option<Timestamp>,
    /// Set for noncurrent versions (and current ones of a versioned bucket).
    pub version_id: Option<String>,
    /// A noncurrent version (saved under the collection folder).
    pub noncurrent: bool,
    /// A digest: its metadata is saved too.
    pub digest: bool,
}

impl Listing {
    /// A current object as a listing names it.
    fn new(
        key: Option<&str>,
        size: Option<i64>,
        etag: Option<&str>,
        last_modified: Option<&DateTime>,
    ) -> Listing {
        Listing {
            key: key.unwrap_or_default().to_owned(),
            size: size.and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
            etag: etag.unwrap_or_default().trim_matches('"').to_owned(),
            last_modified: timestamp(last_modified),
            version_id: None,
            noncurrent: false,
            digest: false,
        }
    }
}

/// What fetching every object came to.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub conflicts: Vec<Conflict>,
    pub failures: Vec<crate::custody::record::Failure>,
    pub fetched: u64,
    pub already_there: u64,
    pub bytes: u64,
}

pub(crate) fn timestamp(t: Option<&DateTime>) -> Option<Timestamp> {
    t.and_then(|t| Timestamp::new(t.secs(), i32::try_from(t.subsec_nanos()).ok()?).ok())
}

/// An SDK error with its chain of causes, control characters spelt out.
pub(crate) fn error_text<E: std::error::Error>(e: &E) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    crate::text::escape_control(&text).into_owned()
}

impl Clients {
    /// Clients from the standard credential chain, in the bucket's region.
    pub(crate) async fn new(options: &CollectOptions) -> Clients {
        let retry = aws_config::retry::RetryConfig::standard()
            .with_max_attempts(8)
            .with_initial_backoff(Duration::from_millis(100));
        let mut loader =
            aws_config::defaults(aws_config::BehaviorVersion::latest()).retry_config(retry);
        if let Some(profile) = &options.profile {
            loader = loader.profile_name(profile);
        }
        let config = loader.load().await;
        let mut clients = Clients::in_region(&config, options, None);
        // The bucket's own region (S3 answers a request in the wrong region with a redirect).
        let location = clients
            .s3
            .get_bucket_location()
            .bucket(&options.bucket)
            .send()
            .await;
        if let Ok(location) = location {
            let region = location
                .location_constraint()
                .map(|c| c.as_str().to_owned())
                .filter(|r| !r.is_empty())
                .unwrap_or_else(|| "us-east-1".to_owned());
            if Some(region.as_str()) != config.region().map(|r| r.as_ref()) {
                clients = Clients::in_region(&config, options, Some(region));
            }
        }
        clients
    }

    fn in_region(
        config: &aws_config::SdkConfig,
        options: &CollectOptions,
        region: Option<String>,
    ) -> Clients {
        let region = region
            .or_else(|| config.region().map(ToString::to_string))
            .unwrap_or_else(|| "us-east-1".to_owned());
        let mut s3 = aws_sdk_s3::config::Builder::from(config)
            .region(aws_sdk_s3::config::Region::new(region.clone()));
        let mut sts = aws_sdk_sts::config::Builder::from(config);
        if let Some(url) = &options.endpoint_url {
            s3 = s3.endpoint_url(url).force_path_style(true);
            sts = sts.endpoint_url(url);
        }
        let endpoint = options
            .endpoint_url
            .clone()
            .unwrap_or_else(|| format!("https://s3.{region}.amazonaws.com"));
        Clients {
            s3: aws_sdk_s3::Client::from_conf(s3.build()),
            sts: aws_sdk_sts::Client::from_conf(sts.build()),
            config: config.clone(),
            endpoint,
            bucket_region: region,
        }
    }

    /// Who the collection runs as.
    pub(crate) async fn caller(&self) -> Result<Caller, String> {
        let identity = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| error_text(&e))?;
        Ok(Caller {
            account: identity.account().map(str::to_owned),
            arn: identity.arn().map(str::to_owned),
            user_id: identity.user_id().map(str::to_owned),
            error: None,
        })
    }

    /// Lists what to take (current objects, or every version with `--versions`).
    pub(crate) async fn list(
        &self,
        options: &CollectOptions,
        progress: &dyn CollectProgress,
    ) -> Result<Listed, CollectError> {
        let mut listed = Listed {
            objects: Vec::new(),
            bytes: 0,
            digest_times: BTreeMap::new(),
            delete_markers: Vec::new(),
            skipped: Skipped::default(),
        };
        let list_error = |e: String| CollectError::List {
            bucket: options.bucket.clone(),
            prefix: options.prefix.clone(),
            reason: e,
        };
        if options.versions {
            self.list_versions(options, &mut listed, progress)
                .await
                .map_err(list_error)?;
        } else {
            let mut token = None;
            loop {
                let page = self
                    .s3
                    .list_objects_v2()
                    .bucket(&options.bucket)
                    .prefix(&options.prefix)
                    .set_continuation_token(token)
                    .send()
                    .await
                    .map_err(|e| list_error(error_text(&e)))?;
                for object in page.contents() {
                    let listing = Listing::new(
                        object.key(),
                        object.size(),
                        object.e_tag(),
                        object.last_modified(),
                    );
                    admit(&options.filter, &mut listed, listing);
                }
                progress.listed(listed.objects.len() as u64, listed.bytes);
                token = page.next_continuation_token().map(str::to_owned);
                if token.is_none() {
                    break;
                }
            }
        }
        Ok(listed)
    }

    async fn list_versions(
        &self,
        options: &CollectOptions,
        listed: &mut Listed,
        progress: &dyn CollectProgress,
    ) -> Result<(), String> {
        let (mut key_marker, mut version_marker) = (None, None);
        loop {
            let page = self
                .s3
                .list_object_versions()
                .bucket(&options.bucket)
                .prefix(&options.prefix)
                .set_key_marker(key_marker)
                .set_version_id_marker(version_marker)
                .send()
                .await
                .map_err(|e| error_text(&e))?;
            for version in page.versions() {
                let mut listing = Listing::new(
                    version.key(),
                    version.size(),
                    version.e_tag(),
                    version.last_modified(),
                );
                listing.version_id = version.version_id().map(str::to_owned);
                listing.noncurrent = !version.is_latest().unwrap_or(true);
                admit(&options.filter, listed, listing);
            }
            for marker in page.delete_markers() {
                let key = marker.key().unwrap_or_default();
                if matches!(options.filter.take(key), Take::Digest { .. } | Take::Object) {
                    listed.delete_markers.push(DeleteMarker {
                        key: key.to_owned(),
                        version_id: marker.version_id().unwrap_or("null").to_owned(),
                        last_modified: timestamp(marker.last_modified())
                            .unwrap_or(Timestamp::UNIX_EPOCH),
                        latest: marker.is_latest().unwrap_or(false),
                    });
                }
            }
            progress.listed(listed.objects.len() as u64, listed.bytes);
            if !page.is_truncated().unwrap_or(false) {
                return Ok(());
            }
            key_marker = page.next_key_marker().map(str::to_owned);
            version_marker = page.next_version_id_marker().map(str::to_owned);
        }
    }
}

/// Adds a listed object if the filter takes it.
fn admit(filter: &KeyFilter, listed: &mut Listed, mut listing: Listing) {
    match filter.take(&listing.key) {
        Take::Digest { region, end } => {
            if !listing.noncurrent {
                let range = listed.digest_times.entry(region).or_insert((end, end));
                range.0 = range.0.min(end);
                range.1 = range.1.max(end);
            }
            listing.digest = true;
            listed.bytes += listing.size;
            listed.objects.push(listing);
        }
        Take::Object => {
            listed.bytes += listing.size;
            listed.objects.push(listing);
        }
        Take::OutsideFilters => listed.skipped.outside_filters += 1,
        Take::NotCloudTrail => listed.skipped.not_cloudtrail += 1,
        Take::Unsafe => listed.skipped.unsafe_keys.push(listing.key),
    }
}

/// Where a listing is saved, relative to the root.
fn local_path(listing: &Listing) -> String {
    match (&listing.version_id, listing.noncurrent) {
        (Some(version), true) => format!(
            "{COLLECTION_DIR}/{VERSIONS_DIR}/{}/{}",
            hex::encode(version.as_bytes()),
            listing.key
        ),
        _ => listing.key.clone(),
    }
}

/// Fetches every listed object with `options.jobs` workers, each taking the
/// next object when it is done (so only `jobs` downloads are ever in flight
/// or in memory, however many objects there are).
pub(crate) async fn fetch_all(
    clients: &Clients,
    store: &Store,
    options: &CollectOptions,
    listed: &Listed,
    progress: &dyn CollectProgress,
) -> Outcome {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let outcome = std::sync::Mutex::new(Outcome::default());
    let worker = || async {
        while let Some(listing) = listed.objects.get(next.fetch_add(1, Ordering::Relaxed)) {
            let result = fetch_one(clients, store, &options.bucket, listing).await;
            progress.done(listing.size);
            let Ok(mut outcome) = outcome.lock() else {
                continue;
            };
            match result {
                Ok(Fetched::New) => {
                    outcome.fetched += 1;
                    outcome.bytes += listing.size;
                }
                Ok(Fetched::AlreadyThere) => outcome.already_there += 1,
                Ok(Fetched::Conflict(conflict)) => outcome.conflicts.push(conflict),
                Err(error) => outcome.failures.push(crate::custody::record::Failure {
                    key: listing.key.clone(),
                    error,
                }),
            }
        }
    };
    let workers = options.jobs.clamp(1, listed.objects.len().max(1));
    join_all((0..workers).map(|_| worker())).await;
    let mut outcome = outcome.into_inner().unwrap_or_default();
    outcome.conflicts.sort_by(|a, b| a.key.cmp(&b.key));
    outcome.failures.sort_by(|a, b| a.key.cmp(&b.key));
    outcome
}

/// Polls the workers to completion on this task.
async fn join_all<F: std::future::Future<Output = ()>>(tasks: impl Iterator<Item = F>) {
    let mut pending: Vec<std::pin::Pin<Box<F>>> = tasks.map(Box::pin).collect();
    std::future::poll_fn(|cx| {
        pending.retain_mut(|task| task.as_mut().poll(cx).is_pending());
        if pending.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
}

enum Fetched {
    New,
    AlreadyThere,
    Conflict(Conflict),
}

/// Fetches one object unless an earlier run did, and saves a digest's metadata.
async fn fetch_one(
    clients: &Clients,
    store: &Store,
    bucket: &str,
    listing: &Listing,
) -> Result<Fetched, String> {
    let rel = local_path(listing);
    if let Some(finished) = store.finished(&rel) {
        let same_object = |e: &FileEntry| {
            e.etag.as_deref() == Some(listing.etag.as_str()) && e.version_id == listing.version_id
        };
        match finished {
            Ok(entry) if same_object(&entry) => {
                let sidecar = format!("{rel}{}", crate::layout::SIDECAR_SUFFIX);
                if !listing.digest || matches!(store.finished(&sidecar), Some(Ok(_))) {
                    return Ok(Fetched::AlreadyThere);
                }
            }
            Ok(_) => {}
            Err(local_sha256) => {
                return Ok(Fetched::Conflict(Conflict {
                    key: listing.key.clone(),
                    path: rel,
                    local_sha256,
                    object_sha256: None,
                    etag: listing.etag.clone(),
                }));
            }
        }
    }
    let mut last_error = String::new();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(200 << attempt.min(5))).await;
        }
        match download(clients, store, bucket, listing).await {
            Ok(download) => return save(store, listing, &rel, download),
            Err(Attempt::Retry(e)) => last_error = e,
            Err(Attempt::Fatal(e)) => return Err(e),
        }
    }
    Err(format!("failed after {ATTEMPTS} attempts: {last_error}"))
}

/// A complete, checked download in `partial/`.
struct Download {
    partial: std::path::PathBuf,
    entry: FileEntry,
    /// The digest's S3 metadata, as `aws s3api head-object` prints it.
    sidecar: Option<Vec<u8>>,
}

enum Attempt {
    Retry(String),
    Fatal(String),
}

async fn download(
    clients: &Clients,
    store: &Store,
    bucket: &str,
    listing: &Listing,
) -> Result<Download, Attempt> {
    let mut request = clients
        .s3
        .get_object()
        .bucket(bucket)
        .key(&listing.key)
        .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled);
    request = match &listing.version_id {
        Some(version) => request.version_id(version),
        None => request.if_match(format!("\"{}\"", listing.etag)),
    };
    let mut response = request.send().await.map_err(|e| {
        let text = error_text(&e);
        match e.as_service_error() {
            // The object changed (or vanished) since it was listed, or access is refused.
            Some(_) => Attempt::Fatal(text),
            None => Attempt::Retry(text),
        }
    })?;
    let (partial, file) = store.partial().map_err(|e| Attempt::Fatal(e.to_string()))?;
    // Writes and the fsync run on tokio's blocking pool: a slow disk does
    // not stall the other downloads.
    let mut file = tokio::fs::File::from_std(file);
    let mut sha = sha2::Sha256::new();
    let mut md5 = md5::Md5::new();
    let mut size = 0u64;
    let streamed: Result<(), String> = async {
        while let Some(chunk) = response.body.try_next().await.map_err(|e| error_text(&e))? {
            sha.update(&chunk);
            md5.update(&chunk);
            size += chunk.len() as u64;
            file.write_all(&chunk).await.map_err(|e| e.to_string())?;
        }
        file.sync_all().await.map_err(|e| e.to_string())
    }
    .await;
    let fail = |e: String| {
        let _ = std::fs::remove_file(&partial);
        Attempt::Retry(e)
    };
    streamed.map_err(fail)?;
    let sha256 = hex::encode(sha.finalize());
    let checked = check_transfer(
        &response,
        listing,
        size,
        &sha256,
        &hex::encode(md5.finalize()),
    )
    .map_err(fail)?;
    let etag = response
        .e_tag()
        .unwrap_or(&listing.etag)
        .trim_matches('"')
        .to_owned();
    let sidecar = listing.digest.then(|| sidecar_json(&response, size));
    Ok(Download {
        partial,
        entry: FileEntry {
            path: String::new(),
            kind: if listing.noncurrent {
                RecordKind::Version
            } else {
                RecordKind::Object
            },
            key: Some(listing.key.clone()),
            version_id: response.version_id().map(str::to_owned),
            etag: Some(etag),
            last_modified: timestamp(response.last_modified()).or(listing.last_modified),
            checked: Some(checked),
            size,
            sha256,
        },
        sidecar,
    })
}

/// Checks a transfer against what S3 says of the object: its length, its
/// SHA-256 checksum when S3 has one, else the ETag of a single-part object
/// that is not KMS-encrypted (then the MD5 of its bytes).
fn check_transfer(
    response: &aws_sdk_s3::operation::get_object::GetObjectOutput,
    listing: &Listing,
    size: u64,
    sha256: &str,
    md5: &str,
) -> Result<String, String> {
    let expected_size = response
        .content_length()
        .and_then(|l| u64::try_from(l).ok())
        .unwrap_or(listing.size);
    if size != expected_size {
        return Err(format!("got {size} bytes, S3 said {expected_size}"));
    }
    if let Some(checksum) = response.checksum_sha256().filter(|c| !c.contains('-')) {
        use base64::Engine as _;
        let ours = hex::decode(sha256)
            .map(|b| base64::engine::general_purpose::STANDARD.encode(b))
            .unwrap_or_default();
        if ours != checksum {
            return Err(format!("SHA-256 checksum {ours}, S3 said {checksum}"));
        }
        return Ok("sha256".to_owned());
    }
    let etag = response.e_tag().unwrap_or(&listing.etag).trim_matches('"');
    let kms = response
        .server_side_encryption()
        .is_some_and(|s| s.as_str().starts_with("aws:kms"));
    if !kms && !etag.contains('-') && etag.len() == 32 {
        if etag != md5 {
            return Err(format!("MD5 {md5}, ETag {etag}"));
        }
        return Ok("content-md5".to_owned());
    }
    Ok("size".to_owned())
}

/// A digest's metadata as `aws s3api head-object` prints it (what `verify` reads).
fn sidecar_json(
    response: &aws_sdk_s3::operation::get_object::GetObjectOutput,
    size: u64,
) -> Vec<u8> {
    let mut doc = serde_json::Map::new();
    let mut put = |name: &str, value: Option<serde_json::Value>| {
        if let Some(value) = value {
            doc.insert(name.to_owned(), value);
        }
    };
    put(
        "LastModified",
        timestamp(response.last_modified()).map(|t| t.to_string().into()),
    );
    put("ContentLength", Some(size.into()));
    put("ETag", response.e_tag().map(Into::into));
    put("VersionId", response.version_id().map(Into::into));
    put("ContentType", response.content_type().map(Into::into));
    put(
        "ContentEncoding",
        response.content_encoding().map(Into::into),
    );
    put(
        "ServerSideEncryption",
        response.server_side_encryption().map(|s| s.as_str().into()),
    );
    let metadata: serde_json::Map<String, serde_json::Value> = response
        .metadata()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.clone().into()))
                .collect()
        })
        .unwrap_or_default();
    put("Metadata", Some(metadata.into()));
    let mut text = serde_json::to_vec_pretty(&doc).unwrap_or_default();
    text.push(b'\n');
    text
}

/// Moves a download into place and saves a digest's sidecar.
fn save(
    store: &Store,
    listing: &Listing,
    rel: &str,
    download: Download,
) -> Result<Fetched, String> {
    let Download {
        partial,
        mut entry,
        sidecar,
    } = download;
    entry.path = rel.to_owned();
    let placed = store
        .place(&partial, rel, &entry.sha256)
        .map_err(|e| format!("cannot write {rel}: {e}"))?;
    let fetched = match placed {
        Placed::Written => Fetched::New,
        Placed::AlreadyThere => Fetched::AlreadyThere,
        Placed::Differs { local_sha256 } => {
            return Ok(Fetched::Conflict(Conflict {
                key: listing.key.clone(),
                path: rel.to_owned(),
                local_sha256,
                object_sha256: Some(entry.sha256),
                etag: listing.etag.clone(),
            }));
        }
    };
    store.finish(&entry).map_err(|e| e.to_string())?;
    if let Some(sidecar) = sidecar {
        save_sidecar(store, rel, &sidecar, &entry)?;
    }
    Ok(fetched)
}

/// Saves a digest's metadata as `<key>.metadata.json` (never over another file).
fn save_sidecar(
    store: &Store,
    rel: &str,
    sidecar: &[u8],
    object: &FileEntry,
) -> Result<(), String> {
    use sha2::Digest as _;
    let path = format!("{rel}{}", crate::layout::SIDECAR_SUFFIX);
    let sha256 = hex::encode(sha2::Sha256::digest(sidecar));
    let (partial, mut file) = store.partial().map_err(|e| e.to_string())?;
    file.write_all(sidecar)
        .and_then(|()| file.sync_all())
        .map_err(|e| e.to_string())?;
    match store
        .place(&partial, &path, &sha256)
        .map_err(|e| e.to_string())?
    {
        Placed::Written | Placed::AlreadyThere => {}
        Placed::Differs { local_sha256 } => {
            return Err(format!(
                "{path} exists with other content (SHA-256 {local_sha256}); move it aside and run collect again"
            ));
        }
    }
    store
        .finish(&FileEntry {
            path,
            kind: RecordKind::Metadata,
            key: object.key.clone(),
            version_id: object.version_id.clone(),
            etag: None,
            last_modified: object.last_modified,
            checked: None,
            size: sidecar.len() as u64,
            sha256,
        })
        .map_err(|e| e.to_string())
}
