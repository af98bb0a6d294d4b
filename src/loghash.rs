//! Log files: every file a digest lists is re-hashed (streaming gunzip +
//! SHA-256, in parallel, largest first), and every log file in the mirror
//! that no digest lists but that lies inside a chain's covered time is
//! reported.

use crate::chain::{self, Chain};
use crate::finding::{Finding, FindingCode};
use crate::gzip::{self, GzipError};
use crate::mirror::{self, FileKind, Inventory};
use crate::verify::{DigestRecord, TimeRange};
use jiff::{SignedDuration, Timestamp};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::io::BufReader;
use std::path::PathBuf;

/// Size of each worker's inflate buffer and of its read buffer.
const BUFFER_BYTES: usize = 256 << 10;

/// Compressed size from which a log file is inflated and hashed on two
/// threads: one such file alone would otherwise run at one core's speed.
const PIPELINE_FROM_BYTES: u64 = 32 << 20;

/// What became of one listed log file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogStatus {
    /// Present, one valid gzip stream, hash as listed.
    Valid,
    /// Absent.
    Missing,
    /// Hash differs.
    Modified,
    /// Not one valid gzip stream, or unreadable.
    Malformed,
    /// The key is unsafe or leads to a link: not opened.
    UnsafePath,
    /// Listed only by digests that could not be verified: not checked.
    Unverified,
}

/// One listed log file's outcome.
#[derive(Debug, Clone)]
pub struct LogOutcome {
    /// `s3://bucket/key`.
    pub url: String,
    /// What became of it.
    pub status: LogStatus,
    /// Records (digests) that list it.
    pub listed_by: Vec<usize>,
    /// Uncompressed bytes hashed (0 when not hashed).
    pub uncompressed_bytes: u64,
}

/// All log results of a run.
#[derive(Debug, Default)]
pub struct LogResults {
    /// One per distinct listed log file, sorted by URL.
    pub outcomes: Vec<LogOutcome>,
    /// Unreferenced log files: (URL, chain index covering it).
    pub unreferenced: Vec<(String, Option<usize>)>,
    /// Log files in the mirror neither listed nor inside any chain's covered time.
    pub not_covered: usize,
    /// Log findings, in outcome order then unreferenced.
    pub findings: Vec<Finding>,
}

#[derive(Default)]
struct Listing {
    /// (record, hashValue) for authentic digests.
    authentic: Vec<(usize, String)>,
    /// All records that list it.
    all: Vec<usize>,
}

/// Checks every listed log file and looks for unreferenced ones.
#[must_use]
pub fn verify_logs(
    records: &[DigestRecord],
    chains: &[Chain],
    inventory: &Inventory,
    range: &TimeRange,
) -> LogResults {
    let chain_of = chain::chain_of(chains, records.len());
    let chain_id = |record: usize| -> Option<String> {
        chain_of
            .get(record)
            .copied()
            .flatten()
            .and_then(|c| chains.get(c))
            .map(|c| c.key.id())
    };
    let mut listings: BTreeMap<(String, String), Listing> = BTreeMap::new();
    for (index, record) in records.iter().enumerate() {
        let Ok(digest) = &record.parsed else { continue };
        let authentic = record.is_authentic();
        for log in &digest.log_files {
            let listing = listings
                .entry((log.bucket.clone(), log.object.clone()))
                .or_default();
            if !listing.all.contains(&index) {
                listing.all.push(index);
            }
            if authentic {
                listing.authentic.push((index, log.hash_value.clone()));
            }
        }
    }

    let mut results = LogResults::default();
    let mut jobs: Vec<(usize, PathBuf, u64)> = Vec::new();
    for (slot, ((bucket, key), listing)) in listings.iter().enumerate() {
        let url = mirror::s3_url(bucket, key);
        let first_lister = listing.all.first().copied().unwrap_or(0);
        let lister_url = records
            .get(first_lister)
            .map(DigestRecord::url)
            .unwrap_or_default();
        let chain = chain_id(first_lister);
        let mut outcome = LogOutcome {
            url: url.clone(),
            status: LogStatus::Valid,
            listed_by: listing.all.clone(),
            uncompressed_bytes: 0,
        };
        let finding = |code, message: String, path: Option<PathBuf>| {
            Finding::new(code, &url, message)
                .at(path)
                .in_chain(chain.clone())
        };
        if !mirror::is_safe_key(key) {
            outcome.status = LogStatus::UnsafePath;
            results.findings.push(finding(
                FindingCode::LogUnsafePath,
                format!("The digest {lister_url} lists a log file whose key {key:?} is not a safe relative path (absolute, `..`, `.`, empty segment, NUL or backslash); it was not opened."),
                None,
            ));
        } else {
            match inventory.resolve(bucket, key) {
                Err(path) if listing.authentic.is_empty() => {
                    outcome.status = LogStatus::Unverified;
                    results
                        .findings
                        .push(unverified(&url, path, &lister_url, chain.clone()));
                }
                Ok(file) if listing.authentic.is_empty() => {
                    outcome.status = LogStatus::Unverified;
                    results.findings.push(unverified(
                        &url,
                        Some(inventory.path_of(file)),
                        &lister_url,
                        chain.clone(),
                    ));
                }
                Err(_) if inventory.linked_ancestor_of(bucket, key).is_some() => {
                    let link = inventory
                        .linked_ancestor_of(bucket, key)
                        .map(|f| inventory.path_of(f));
                    outcome.status = LogStatus::UnsafePath;
                    results.findings.push(finding(
                        FindingCode::LogUnsafePath,
                        format!(
                            "The listed log file lies under {}, a symbolic link or special file; links are never followed, so it was not opened.",
                            link.as_deref().map(|p| p.display().to_string()).unwrap_or_default()
                        ),
                        link,
                    ));
                }
                Err(path) => {
                    outcome.status = LogStatus::Missing;
                    let mut message = format!(
                        "The digest {lister_url} lists this log file, but the mirror does not have it"
                    );
                    if path.is_none() {
                        message.push_str(" (no mirror root holds that bucket and prefix)");
                    }
                    message.push('.');
                    let expected = listing
                        .authentic
                        .first()
                        .map(|(_, h)| h.clone())
                        .unwrap_or_default();
                    results.findings.push(
                        finding(FindingCode::LogMissing, message, path)
                            .values(format!("a log file whose SHA-256 is {expected}"), "no file"),
                    );
                }
                Ok(file) if file.kind == FileKind::NotRegular => {
                    outcome.status = LogStatus::UnsafePath;
                    results.findings.push(finding(
                        FindingCode::LogUnsafePath,
                        "The listed log file is a symbolic link or special file; links are never followed, so it was not opened.".to_owned(),
                        Some(inventory.path_of(file)),
                    ));
                }
                Ok(file) => jobs.push((slot, inventory.path_of(file), file.size)),
            }
        }
        results.outcomes.push(outcome);
    }

    // Largest first, so one huge file does not leave a core idle at the end.
    jobs.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    let hashed: Vec<(usize, PathBuf, Result<gzip::InflatedHash, GzipError>)> = jobs
        .into_par_iter()
        .map_init(
            || vec![0u8; BUFFER_BYTES],
            |buffer, (slot, path, size)| {
                let result = crate::error::contain_panic(|| {
                    mirror::open_evidence(&path)
                        .map_err(GzipError::Io)
                        .and_then(|f| {
                            let reader = BufReader::with_capacity(BUFFER_BYTES, f);
                            if size >= PIPELINE_FROM_BYTES {
                                gzip::inflate_sha256_pipelined(reader, BUFFER_BYTES)
                            } else {
                                gzip::inflate_sha256(reader, buffer)
                            }
                        })
                })
                .unwrap_or_else(|panic| Err(GzipError::Internal(panic)));
                (slot, path, result)
            },
        )
        .collect();

    let listing_values: Vec<&Listing> = listings.values().collect();
    let mut hashed = hashed;
    hashed.sort_by_key(|(slot, _, _)| *slot);
    for (slot, path, result) in hashed {
        let (Some(outcome), Some(listing)) =
            (results.outcomes.get_mut(slot), listing_values.get(slot))
        else {
            continue;
        };
        let chain = listing.authentic.first().and_then(|(r, _)| chain_id(*r));
        match result {
            Err(error) => {
                outcome.status = LogStatus::Malformed;
                results.findings.push(
                    Finding::new(
                        FindingCode::LogMalformed,
                        &outcome.url,
                        format!("The log file is not one complete, valid gzip stream: {error}."),
                    )
                    .at(Some(path))
                    .values(
                        "one complete gzip stream ending at the end of the file",
                        error.to_string(),
                    )
                    .in_chain(chain),
                );
            }
            Ok(hash) => {
                outcome.uncompressed_bytes = hash.uncompressed_len;
                let actual = hex::encode(hash.sha256);
                if let Some((record, expected)) =
                    listing.authentic.iter().find(|(_, h)| *h != actual)
                {
                    outcome.status = LogStatus::Modified;
                    let lister = records
                        .get(*record)
                        .map(DigestRecord::url)
                        .unwrap_or_default();
                    results.findings.push(
                        Finding::new(
                            FindingCode::LogModified,
                            &outcome.url,
                            format!("The SHA-256 of the uncompressed log file differs from the hashValue in digest {lister}."),
                        )
                        .at(Some(path))
                        .values(expected.clone(), actual)
                        .in_chain(chain),
                    );
                }
            }
        }
    }

    find_unreferenced(records, chains, inventory, range, &listings, &mut results);
    results
}

fn unverified(url: &str, path: Option<PathBuf>, lister: &str, chain: Option<String>) -> Finding {
    Finding::new(
        FindingCode::LogUnverified,
        url,
        format!("Listed only by digests that could not be verified (such as {lister}), so this log file was not checked."),
    )
    .at(path)
    .in_chain(chain)
}

/// Where logs of a chain land: bucket, key prefix, organization, account, region.
type Location = (String, String, Option<String>, String, String);

fn find_unreferenced(
    records: &[DigestRecord],
    chains: &[Chain],
    inventory: &Inventory,
    range: &TimeRange,
    listings: &BTreeMap<(String, String), Listing>,
    results: &mut LogResults,
) {
    // Covered time per location: the union of the windows of the digests
    // that lie there, with the chain each window belongs to.
    let mut windows: HashMap<Location, Vec<(Timestamp, Timestamp, usize)>> = HashMap::new();
    for (c, chain) in chains.iter().enumerate() {
        for &m in &chain.members {
            let Some(record) = records.get(m) else {
                continue;
            };
            let (Ok(digest), Some(layout)) = (&record.parsed, &record.layout) else {
                continue;
            };
            let location = (
                record.bucket.clone(),
                layout.prefix.clone(),
                layout.organization.clone(),
                layout.account.clone(),
                layout.region.clone(),
            );
            windows
                .entry(location)
                .or_default()
                .push((digest.start_time, digest.end_time, c));
        }
    }
    for list in windows.values_mut() {
        *list = merge_windows(std::mem::take(list));
    }
    let minute = SignedDuration::from_secs(60);
    for (_, file) in inventory.of_kind(FileKind::Log) {
        let bucket = inventory.bucket_of(file).to_owned();
        let key = inventory.key_of(file);
        if listings.contains_key(&(bucket.clone(), key.clone())) {
            continue;
        }
        let Some(layout) = mirror::parse_layout(&key, "CloudTrail") else {
            continue;
        };
        let Some(time) = mirror::parse_log_time(&layout.file_name) else {
            continue;
        };
        if !range.admits_log(time) {
            continue;
        }
        let location = (
            bucket,
            layout.prefix.clone(),
            layout.organization,
            layout.account,
            layout.region,
        );
        let minute_end = time.checked_add(minute).unwrap_or(time);
        // A log named HH:mm was delivered some time in that minute: it is
        // inside covered time only if the whole minute is, so a log at the
        // edge of a restart or of a missing digest's hour is not accused.
        let covering = windows.get(&location).and_then(|list| {
            let after = list.partition_point(|(start, _, _)| *start <= time);
            let (start, end, chain) = list.get(after.checked_sub(1)?)?;
            (*start <= time && minute_end <= *end).then_some(*chain)
        });
        let url = mirror::s3_url(&location.0, &key);
        match covering {
            None => results.not_covered += 1,
            Some(c) => {
                let chain = chains.get(c);
                results.findings.push(
                    Finding::new(
                        FindingCode::LogUnreferenced,
                        &url,
                        format!(
                            "No digest lists this log file, although it was delivered at {time}, inside the time chain {} covers.",
                            chain.map(|c| c.key.id()).unwrap_or_default()
                        ),
                    )
                    .at(Some(inventory.path_of(file)))
                    .values("listed by the digest covering its delivery time", "listed by no digest")
                    .in_chain(chain.map(|c| c.key.id())),
                );
                results.unreferenced.push((url, Some(c)));
            }
        }
    }
}

/// Sorts windows and merges overlapping or touching ones into disjoint
/// intervals (each keeps the chain of its first window).
fn merge_windows(
    mut list: Vec<(Timestamp, Timestamp, usize)>,
) -> Vec<(Timestamp, Timestamp, usize)> {
    list.sort();
    let mut merged: Vec<(Timestamp, Timestamp, usize)> = Vec::with_capacity(list.len());
    for (start, end, chain) in list {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end, chain)),
        }
    }
    merged
}
