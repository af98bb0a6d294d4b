//! The verification pipeline: mirror → digests → signatures → chains → logs → report.

use crate::budget::{ListingBudget, listing_cost};
use crate::chain;
use crate::digest::{self, DigestError};
use crate::error::Error;
use crate::finding::{Finding, FindingCode};
use crate::keys::KeyRing;
use crate::loghash;
use crate::mirror::{self, FileKind, Inventory};
use crate::options::{Options, TimeRange};
use crate::progress::{Phase, Progress};
use crate::record::DigestRecord;
use crate::report::Report;
use crate::signature::{self, SignatureProblem};
use jiff::Timestamp;
use rayon::prelude::*;

/// Runs the whole verification.
///
/// # Errors
/// [`Error`] when the run cannot be done (keys unreadable, mirror
/// unreadable, no digest found); evidence problems are findings in the report.
pub fn verify(options: &Options) -> Result<Report, Error> {
    verify_with_progress(options, &crate::progress::Silent)
}

/// [`verify`], telling `progress` how far it got.
///
/// # Errors
/// As [`verify`].
pub fn verify_with_progress(options: &Options, progress: &dyn Progress) -> Result<Report, Error> {
    let started = Timestamp::now();
    let range = TimeRange {
        start: options.start_time,
        end: options.end_time,
    };
    if let (Some(start), Some(end)) = (range.start, range.end)
        && start > end
    {
        return Err(Error::InvalidTimeRange { start, end });
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.jobs.unwrap_or(0))
        .build()
        .map_err(|e| Error::ThreadPool {
            jobs: options.jobs.unwrap_or(0),
            reason: e.to_string(),
        })?;
    let keys = KeyRing::load(&options.public_keys)?;
    progress.start(Phase::Scanning, 0, 0);
    let mut inventory = mirror::scan(&options.mirrors)?;
    pool.install(|| {
        let mut records = read_digests(&mut inventory, &range, options, progress)?;
        check_digests_found(&records, &inventory, options, &range)?;
        let mut findings = unreadable_findings(&inventory);
        let chains = chain::build(&records);
        authenticate_all(&mut records, &keys);
        check_keys_match(&records, &keys)?;
        let membership = chain::Membership::new(&chains, records.len());
        for (index, record) in records.iter().enumerate().filter(|(_, r)| r.in_range) {
            let chain = membership.id(index);
            findings.extend(
                digest_findings(record)
                    .into_iter()
                    .map(|f| f.in_chain(chain.clone())),
            );
        }
        let links = chain::check_links(&chains, &records, &inventory);
        for &index in &links.contradicted {
            if let Some(record) = records.get_mut(index) {
                record.contradicted = true;
            }
        }
        findings.extend(links.findings);
        // The range limits what is reported, not which evidence was used.
        findings.retain(|f| reportable(f, &range));
        let chains = chain::in_range(&chains, &records);
        let mut logs = loghash::verify_logs(
            &records,
            &chains,
            &inventory,
            &range,
            options.manifest_hashes,
            progress,
        );
        findings.append(&mut logs.findings);
        findings.extend(leftovers(&inventory, &range, &findings));
        drop_moot_warnings(&mut findings);
        // The listings were what held most memory (about 0.7 KB per listed
        // log); the report needs none of them.
        for record in &mut records {
            if let Ok(digest) = &mut record.parsed {
                digest.log_files = Vec::new();
            }
        }
        Ok(Report::new(
            options, started, inventory, &keys, &records, &chains, &logs, findings,
        ))
    })
}

/// One event, one primary finding: a digest that is shown to be wrong (an
/// error finding on it) is not also reported as merely unproven.
fn drop_moot_warnings(findings: &mut Vec<Finding>) {
    let wrong: std::collections::HashSet<String> = findings
        .iter()
        .filter(|f| f.severity == crate::finding::Severity::Error)
        .map(|f| f.object.clone())
        .collect();
    findings.retain(|f| !(f.code == FindingCode::DigestUnsigned && wrong.contains(&f.object)));
}

/// Whether a finding is about something inside the time range: findings
/// about digests outside it (read only as evidence for those inside) are
/// not reported.
fn reportable(finding: &Finding, range: &TimeRange) -> bool {
    let about_digest =
        finding.code.as_str().starts_with("digest.") || finding.code.as_str().starts_with("chain.");
    let time = finding
        .object
        .rsplit('/')
        .next()
        .and_then(mirror::digest_file_time);
    !about_digest || time.is_none_or(|(t, _)| range.admits_digest(t))
}

/// The run cannot conclude anything without a digest: none found, none in
/// the time range, or the folders holding them unreadable.
fn check_digests_found(
    records: &[DigestRecord],
    inventory: &Inventory,
    options: &Options,
    range: &TimeRange,
) -> Result<(), Error> {
    if records.is_empty() {
        if !inventory.unreadable.is_empty() {
            return Err(Error::DigestsUnreadable {
                folders: inventory
                    .unreadable
                    .iter()
                    .map(|u| u.path.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        return Err(Error::NoDigests {
            roots: options
                .mirrors
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    if records.iter().any(|r| r.in_range) {
        return Ok(());
    }
    let times: Vec<Timestamp> = records.iter().filter_map(DigestRecord::time).collect();
    let (Some(first), Some(last)) = (times.iter().min(), times.iter().max()) else {
        return Ok(());
    };
    let show = |t: Option<Timestamp>| t.map_or_else(|| "…".to_owned(), |t| t.to_string());
    Err(Error::NoDigestsInRange {
        found: records.len(),
        range: format!(
            "--start-time {} --end-time {}",
            show(range.start),
            show(range.end)
        ),
        first: *first,
        last: *last,
    })
}

/// Keys are per region: when no digest of a region names a fingerprint any
/// supplied key has, the keys of that region were not supplied (or belong
/// to another account's copy of the files). That is a mistake in running
/// the tool, not evidence of tampering.
fn check_keys_match(records: &[DigestRecord], keys: &KeyRing) -> Result<(), Error> {
    use std::collections::BTreeMap;
    struct Need {
        matched: bool,
        fingerprints: std::collections::BTreeSet<String>,
        first: Option<Timestamp>,
        last: Option<Timestamp>,
    }
    let mut regions: BTreeMap<&str, Need> = BTreeMap::new();
    for record in records {
        let (Ok(digest), Some(layout)) = (&record.parsed, &record.layout) else {
            continue;
        };
        let need = regions.entry(layout.region.as_str()).or_insert(Need {
            matched: false,
            fingerprints: std::collections::BTreeSet::new(),
            first: None,
            last: None,
        });
        if keys.knows(&digest.fingerprint) {
            need.matched = true;
        }
        need.fingerprints.insert(digest.fingerprint.clone());
        need.first = Some(
            need.first
                .map_or(digest.start_time, |t| t.min(digest.start_time)),
        );
        need.last = Some(
            need.last
                .map_or(digest.end_time, |t| t.max(digest.end_time)),
        );
    }
    let unmatched: Vec<(&str, &Need)> = regions
        .iter()
        .filter(|(_, need)| !need.matched)
        .map(|(region, need)| (*region, need))
        .collect();
    if unmatched.is_empty() {
        return Ok(());
    }
    let needed = unmatched
        .iter()
        .map(|(region, need)| {
            let show = |t: Option<Timestamp>| t.map_or_else(String::new, |t| t.to_string());
            format!(
                "region {region} needs the key(s) with fingerprint {} for {} to {}: `{}`",
                need.fingerprints
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
                show(need.first),
                show(need.last),
                crate::keys::list_command(region, need.first, need.last)
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    Err(Error::KeysMatchNoDigest {
        regions: unmatched
            .iter()
            .map(|(r, _)| format!("region {r}"))
            .collect::<Vec<_>>()
            .join(", "),
        needed,
    })
}

/// `mirror.unreadable` for every part of the mirror the walk could not read.
fn unreadable_findings(inventory: &Inventory) -> Vec<Finding> {
    let unreadable = inventory.unreadable.iter().map(|u| {
        Finding::new(
            FindingCode::MirrorUnreadable,
            inventory.url_of_path(u.root, &u.path),
            format!(
                "This part of the mirror cannot be read by this user ({}); the digests and log files in it were not examined.",
                u.reason
            ),
        )
        .at(Some(u.path.clone()))
    });
    let invalid = inventory.invalid_names.iter().map(|n| {
        let what = if n.folder { "folder" } else { "file" };
        Finding::new(
            FindingCode::MirrorInvalidName,
            inventory.url_of_path(n.root, &n.path),
            format!(
                "This {what}'s name is not UTF-8 (shown with \\xNN escapes): no S3 key is, so it cannot be an object CloudTrail delivered{}.",
                if n.folder { "; what it holds was not examined" } else { "" }
            ),
        )
        .at(Some(n.path.clone()))
    });
    unreadable.chain(invalid).collect()
}

/// Reads every digest file (in parallel, whatever the time range), then works out each
/// root's bucket and prefix from them, parses each digest's key layout from
/// its full key, and marks moved digests.
fn read_digests(
    inventory: &mut Inventory,
    range: &TimeRange,
    options: &Options,
    progress: &dyn Progress,
) -> Result<Vec<DigestRecord>, Error> {
    // Every digest is read, whatever the time range: the range limits what
    // is reported, never which evidence is used.
    let candidates: Vec<usize> = inventory
        .of_kind(FileKind::Digest)
        .map(|(index, _)| index)
        .collect();
    let candidate_bytes = candidates
        .iter()
        .filter_map(|&i| inventory.files.get(i))
        .map(|f| f.size)
        .sum();
    progress.start(Phase::Digests, candidates.len() as u64, candidate_bytes);
    let budget = ListingBudget::new(options.memory_budget);
    let mut read: Vec<_> = candidates
        .into_par_iter()
        .map(|index| {
            let file = inventory.files.get(index);
            let path = file.map(|f| inventory.path_of(f)).unwrap_or_default();
            let mut contents = read_digest_file(&path, options.max_digest_bytes);
            if let Ok(digest) = &mut contents.parsed
                && !range.admits_digest(digest.end_time)
            {
                // Outside the range: read as evidence, its log files not examined.
                digest.log_files = Vec::new();
            }
            let cost = contents.parsed.as_ref().map_or(0, listing_cost);
            let dropped = (!budget.admit(cost)).then(|| drop_listing(&mut contents));
            let metadata = file
                .map(|f| signature::read_metadata(inventory, f))
                .unwrap_or_default();
            progress.advance(file.map_or(0, |f| f.size));
            (index, path, contents, metadata, (cost, dropped))
        })
        .collect();
    if read.is_empty() {
        return Ok(Vec::new());
    }
    if read.iter().any(|r| r.4.1.is_some()) {
        // Which listings are kept must not depend on which reader finished
        // first: choose again, in the mirror's order, and re-read the
        // digests chosen whose listing was dropped.
        let costs: Vec<u64> = read.iter().map(|r| r.4.0).collect();
        let keep = crate::budget::choose(&costs, budget.limit());
        for ((_, path, contents, _, (_, dropped)), keep) in read.iter_mut().zip(keep) {
            match (keep, dropped.is_some()) {
                (true, true) => {
                    let again = read_digest_file(path, options.max_digest_bytes);
                    if again.inflated_sha256 == contents.inflated_sha256 {
                        *contents = again;
                        *dropped = None;
                    }
                }
                (false, false) => *dropped = Some(drop_listing(contents)),
                _ => {}
            }
        }
    }

    let digest_claims = read.iter().filter_map(|(index, _, contents, _, _)| {
        let file = inventory.files.get(*index)?;
        let d = contents.parsed.as_ref().ok()?;
        Some((
            file.root,
            file.rel.to_string(),
            d.bucket.clone(),
            d.object.clone(),
        ))
    });
    let mut claims: Vec<(usize, String, String, String)> = digest_claims.collect();
    // Roots no digest of their own locates (only moved ones, or none in
    // range): the log files the digests list may.
    let unlocated: Vec<usize> = (0..inventory.roots.len())
        .filter(|root| {
            !claims.iter().any(|(r, rel, _, key)| {
                r == root
                    && key
                        .strip_suffix(rel.as_str())
                        .is_some_and(|p| p.is_empty() || p.ends_with('/'))
            })
        })
        .collect();
    if !unlocated.is_empty() {
        let listed = read
            .iter()
            .filter_map(|(_, _, contents, _, _)| contents.parsed.as_ref().ok())
            .flat_map(|d| d.log_files.iter().map(|l| (&*l.bucket, &*l.object)));
        claims.extend(inventory.log_claims(&unlocated, listed));
    }
    inventory.locate_roots(
        claims
            .iter()
            .map(|(r, rel, b, o)| (*r, rel.as_str(), b.as_str(), o.as_str())),
        options.bucket.as_deref(),
        options.prefix.as_deref(),
    )?;
    if options.bucket.is_some() || options.prefix.is_some() {
        check_overrides(inventory, &claims)?;
    }

    Ok(read
        .into_iter()
        .filter_map(|(index, path, contents, metadata, (_, dropped))| {
            let file = inventory.files.get(index)?;
            let bucket = inventory.bucket_of(file).to_owned();
            let key = inventory.key_of(file);
            let layout = mirror::parse_layout(&key, "CloudTrail-Digest");
            let name = layout.as_ref().and_then(mirror::parse_digest_name);
            let moved = contents
                .parsed
                .as_ref()
                .is_ok_and(|d| d.bucket != bucket || d.object != key);
            let mut parsed = contents.parsed;
            let time = parsed
                .as_ref()
                .ok()
                .map(|d| d.end_time)
                .or_else(|| name.as_ref().map(|n| n.time));
            let in_range = time.is_none_or(|t| range.admits_digest(t));
            let claimed_metadata = parsed
                .as_ref()
                .ok()
                .filter(|_| moved)
                .and_then(|d| inventory.resolve(&d.bucket, &d.object).ok())
                .filter(|f| f.kind == FileKind::Digest)
                .map(|f| signature::read_metadata(inventory, f));
            if !in_range && let Ok(digest) = &mut parsed {
                // Its log files are not examined: do not hold their listing.
                digest.log_files = Vec::new();
            }
            Some(DigestRecord {
                file: index,
                bucket,
                key,
                path,
                layout,
                name,
                inflated_sha256: contents.inflated_sha256,
                parsed,
                stored: contents.stored,
                metadata,
                claimed_metadata,
                moved,
                auth: None,
                contradicted: false,
                in_range,
                dropped_listing: dropped,
            })
        })
        .collect())
}

/// Reads one digest file; a panic while reading it (a bug) is an error on it.
fn read_digest_file(path: &std::path::Path, max_inflated: u64) -> digest::DigestFile {
    crate::error::contain_panic(|| digest::read(path, max_inflated)).unwrap_or_else(|panic| {
        digest::DigestFile {
            inflated_sha256: None,
            parsed: Err(DigestError::Internal(panic)),
            stored: None,
        }
    })
}

/// Frees a digest's listing; how many log files it named.
fn drop_listing(contents: &mut digest::DigestFile) -> usize {
    match &mut contents.parsed {
        Ok(digest) => std::mem::take(&mut digest.log_files).len(),
        Err(_) => 0,
    }
}

/// `--bucket`/`--prefix` that place a root where not one of the objects
/// whose key is known (its digests, or the log files they list) lies: the
/// override is wrong, not every digest moved. Exit 2, saying what the
/// digests themselves name.
fn check_overrides(
    inventory: &Inventory,
    claims: &[(usize, String, String, String)],
) -> Result<(), Error> {
    for (index, root) in inventory.roots.iter().enumerate() {
        let mine: Vec<&(usize, String, String, String)> =
            claims.iter().filter(|(r, ..)| *r == index).collect();
        if mine.is_empty() {
            continue;
        }
        let bucket = root.bucket.clone().unwrap_or_default();
        let placed = mine
            .iter()
            .any(|(_, rel, b, key)| *b == bucket && *key == format!("{}{rel}", root.prefix));
        if placed {
            continue;
        }
        let mut votes: std::collections::BTreeMap<(String, String), usize> =
            std::collections::BTreeMap::new();
        for (_, rel, b, key) in &mine {
            if let Some(prefix) = key.strip_suffix(rel.as_str())
                && (prefix.is_empty() || prefix.ends_with('/'))
            {
                *votes.entry((b.clone(), prefix.to_owned())).or_default() += 1;
            }
        }
        let found = votes.iter().max_by_key(|(_, n)| **n).map_or_else(
            || "locations that do not end with their path in the mirror".to_owned(),
            |((b, p), _)| format!("bucket {b} and prefix {p:?}"),
        );
        return Err(Error::LocationOverrideMatchesNothing {
            path: root.path.clone(),
            bucket,
            prefix: root.prefix.clone(),
            found,
        });
    }
    Ok(())
}

/// Verifies every parsed digest's signature with its metadata and the
/// `previousDigestSignature` of every digest that links to it.
fn authenticate_all(records: &mut [DigestRecord], keys: &KeyRing) {
    // Keyed by where each digest claims to be: the next digest's
    // previousDigestSignature belongs to that content wherever it lies now.
    let by_claimed_location = chain::claimed_locations(records);
    let mut chain_signatures: Vec<Vec<String>> = vec![Vec::new(); records.len()];
    for record in records.iter() {
        let Ok(d) = &record.parsed else { continue };
        let (Some(link), Some(sig)) = (&d.previous, &d.previous_signature) else {
            continue;
        };
        let targets = by_claimed_location
            .get(&(link.bucket.as_str(), link.object.as_str()))
            .map_or(&[][..], Vec::as_slice);
        for &target in targets {
            if let Some(list) = chain_signatures.get_mut(target)
                && !list.contains(sig)
            {
                list.push(sig.clone());
            }
        }
    }
    drop(by_claimed_location);
    records
        .par_iter_mut()
        .zip(chain_signatures.par_iter())
        .for_each(|(record, sigs)| {
            if let Ok(d) = &record.parsed {
                let sigs: Vec<&str> = sigs.iter().map(String::as_str).collect();
                let backfill = record.is_backfill();
                let mut auth = signature::authenticate(d, &record.metadata, &sigs, keys, backfill);
                // A digest moved without its sidecar: the metadata at the key
                // its content names may be its own.
                if auth.problem.is_some()
                    && let Some(claimed) = &record.claimed_metadata
                {
                    let at_claim = signature::authenticate(d, claimed, &sigs, keys, backfill);
                    if at_claim.problem.is_none() {
                        auth = at_claim;
                    }
                }
                record.auth = Some(auth);
            }
        });
}

/// Findings about one digest on its own: malformed, moved, signature and key problems.
fn digest_findings(record: &DigestRecord) -> Vec<Finding> {
    let url = record.url();
    let at = || Some(record.path.clone());
    let mut out = Vec::new();
    if let Some(reason) = &record.metadata.read_error {
        out.push(
            Finding::new(
                FindingCode::MirrorUnreadable,
                &url,
                format!("The digest's metadata sidecar cannot be read by this user ({reason}); the signature it holds was not checked."),
            )
            .at(Some(crate::mirror::sidecar_path(&record.path))),
        );
    }
    if let Some(listed) = record.dropped_listing {
        out.push(
            Finding::new(
                FindingCode::DigestNotExamined,
                &url,
                format!(
                    "The {listed} log file(s) this digest lists were not examined, nor the files in the mirror inside its time: the listings of all digests exceed the run's memory budget."
                ),
            )
            .at(at())
            .values("listings within the memory budget", format!("{listed} more log file(s)")),
        );
    }
    let d = match &record.parsed {
        Err(e) if e.is_unreadable() => {
            out.push(
                Finding::new(
                    FindingCode::MirrorUnreadable,
                    &url,
                    format!(
                        "The digest file cannot be read by this user ({e}); it was not examined."
                    ),
                )
                .at(at()),
            );
            return out;
        }
        Err(e) => {
            out.push(
                Finding::new(
                    FindingCode::DigestMalformed,
                    &url,
                    format!("Digest file cannot be read as a digest: {e}."),
                )
                .at(at()),
            );
            return out;
        }
        Ok(d) => d,
    };
    if record.moved {
        out.push(
            Finding::new(
                FindingCode::DigestMoved,
                &url,
                format!(
                    "Digest file lies at {url} but names itself s3://{}/{}.",
                    d.bucket, d.object
                ),
            )
            .at(at())
            .values(mirror::s3_url(&d.bucket, &d.object), &url),
        );
    }
    if record.is_backfill()
        && record.metadata.source.is_some()
        && record.metadata.unreadable.is_none()
        && record.metadata.backfill_generation.is_none()
    {
        out.push(
            Finding::new(
                FindingCode::DigestMalformed,
                &url,
                "The saved metadata of this backfill digest has no backfill-generation-timestamp, which CloudTrail sets on every backfill digest (the AWS CLI calls it invalid format).",
            )
            .at(at())
            .values("metadata with backfill-generation-timestamp", "no such entry"),
        );
    }
    let Some(problem) = record.auth.as_ref().and_then(|a| a.problem.as_ref()) else {
        return out;
    };
    let region = record
        .layout
        .as_ref()
        .map_or("<region>", |l| l.region.as_str());
    let save_keys = crate::keys::list_command(region, Some(d.start_time), Some(d.end_time));
    let finding = match problem {
        SignatureProblem::KeyUnknown => Finding::new(
            FindingCode::DigestKeyUnknown,
            &url,
            format!(
                "No supplied public key has fingerprint {}, so the digest's signature cannot be checked (other digests of region {region} name keys that were supplied).",
                d.fingerprint
            ),
        )
        .values(format!("a public key with fingerprint {}", d.fingerprint), "none supplied")
        .help(format!("If the key file for region {region} is incomplete, save the keys covering this digest with `{save_keys}` and pass the file with --public-keys; if that key set does not have fingerprint {} either, the digest was not signed by CloudTrail.", d.fingerprint)),
        SignatureProblem::KeyOutsideValidity { at, windows } => Finding::new(
            FindingCode::DigestKeyUnknown,
            &url,
            format!(
                "The public key with fingerprint {} is not valid at {at}, when this digest was signed (as its signed digestEndTime bounds it): it was published for {}.",
                d.fingerprint,
                windows
                    .iter()
                    .map(|w| format!("{} to {}", w.start, w.end))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .values(format!("a key valid at {at}"), "keys valid only outside that time")
        .help(format!("A digest signed with a key outside its validity window is suspect (an expired key may have leaked); if the key file is incomplete, save keys covering this time with `{save_keys}` and pass them with --public-keys.")),
        SignatureProblem::Invalid {
            source,
            reason,
            rescued_by,
        } => {
            let mut message = format!("The signature from the {source} does not verify: {reason}.");
            if let Some(other) = rescued_by {
                message.push_str(&format!(
                    " The signature from the {other} does verify, so the digest's content is authentic but its saved metadata is not."
                ));
            }
            Finding::new(FindingCode::DigestSignatureInvalid, &url, message)
                .values(
                    format!("a SHA256withRSA signature by key {} over the digest's signing string", d.fingerprint),
                    "a signature that does not match",
                )
        }
        SignatureProblem::Unsigned => Finding::new(
            FindingCode::DigestUnsigned,
            &url,
            if record.is_backfill() {
                "No signature is available: a backfill digest's signature exists only in its S3 metadata (no later digest ever links to a backfill digest), and none was saved. Its content and the log files only it lists cannot be authenticated."
            } else {
                "No signature is available: no metadata sidecar, no user.signature attribute, and no later digest links to this one. Its content and the log files only it lists cannot be authenticated."
            },
        )
        .help(format!(
            "Save the digest's S3 metadata beside it, then re-run: `aws s3api head-object --bucket {} --key {} > '{}{}'`.",
            record.bucket,
            record.key,
            record.path.display(),
            mirror::SIDECAR_SUFFIX
        )),
    };
    out.push(finding.at(at()));
    out
}

/// What the mirror holds besides digests and logs that still tells of
/// tampering: links and special files where objects belong, and metadata
/// sidecars whose digest is gone (the newest digest's deletion is otherwise
/// invisible). Objects that already have an error finding are skipped.
fn leftovers(inventory: &Inventory, range: &TimeRange, findings: &[Finding]) -> Vec<Finding> {
    let reported: std::collections::HashSet<&str> = findings
        .iter()
        .filter(|f| f.severity == crate::finding::Severity::Error)
        .map(|f| f.object.as_str())
        .collect();
    let mut out = Vec::new();
    for file in &inventory.files {
        let key = inventory.key_of(file);
        if !key.split('/').any(|part| part == "AWSLogs") {
            continue;
        }
        if file.kind == FileKind::NotRegular {
            let url = inventory.url_of(file);
            if !reported.contains(url.as_str()) {
                out.push(
                    Finding::new(
                        FindingCode::MirrorNotRegular,
                        &url,
                        "A symbolic link or special file lies where the bucket mirror should hold a CloudTrail object (or folder); it was not followed, so whatever it points to was not verified.",
                    )
                    .at(Some(inventory.path_of(file))),
                );
            }
            continue;
        }
        let Some(digest_rel) = file.rel.strip_suffix(mirror::SIDECAR_SUFFIX) else {
            continue;
        };
        let in_digest_area = key.split('/').any(|part| part == "CloudTrail-Digest");
        let name = digest_rel.rsplit('/').next().unwrap_or_default();
        let Some((time, _)) = mirror::digest_file_time(name) else {
            continue;
        };
        if !in_digest_area
            || !range.admits_digest(time)
            || inventory.find(file.root, digest_rel).is_some()
        {
            continue;
        }
        let digest_key = key.strip_suffix(mirror::SIDECAR_SUFFIX).unwrap_or(&key);
        let url = mirror::s3_url(inventory.bucket_of(file), digest_key);
        if reported.contains(url.as_str()) {
            continue;
        }
        out.push(
            Finding::new(
                FindingCode::DigestMissing,
                &url,
                format!(
                    "The metadata sidecar {} of this digest remains, but the digest itself is gone (a deleted newest digest leaves no other trace).",
                    inventory.path_of(file).display()
                ),
            )
            .at(Some(inventory.local_path(file.root, digest_rel)))
            .values("the digest file beside its metadata", "no file"),
        );
    }
    out
}
