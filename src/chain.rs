//! Digest chains: one per account × delivering region × trail (× standard
//! or backfill), organization trails included.
//!
//! [`build`] groups the digests that lie where they claim to be by the
//! identity their key carries and orders each group by time.
//! [`check_links`] then follows every `previousDigest*` link, independent of
//! listing order, and reports missing and modified predecessors, restarts
//! and contradictions between link order and time order.

use crate::finding::{Finding, FindingCode};
use crate::mirror::{self, Inventory};
use crate::verify::{DigestRecord, TimeRange};
use jiff::Timestamp;
use std::collections::{BTreeMap, HashMap};

/// What identifies a chain (SPEC §9.6, without bucket and prefix, which may
/// change during a chain's life).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChainKey {
    /// Organization id of an organization trail.
    pub organization: Option<String>,
    /// Account the digests are delivered for.
    pub account: String,
    /// Delivering region.
    pub region: String,
    /// Trail name.
    pub trail: String,
    /// The trail's home region.
    pub home_region: String,
    /// Whether this is the `_backfill` chain.
    pub backfill: bool,
}

impl ChainKey {
    /// Stable identifier: `[org/]account/region/trail@home[/backfill]`.
    #[must_use]
    pub fn id(&self) -> String {
        let org = self
            .organization
            .as_ref()
            .map(|o| format!("{o}/"))
            .unwrap_or_default();
        let kind = if self.backfill { "/backfill" } else { "" };
        format!(
            "{org}{}/{}/{}@{}{kind}",
            self.account, self.region, self.trail, self.home_region
        )
    }
}

/// The digests of one chain, oldest first.
#[derive(Debug, Clone)]
pub struct Chain {
    /// Identity.
    pub key: ChainKey,
    /// Indexes into the records, ordered by (time, key).
    pub members: Vec<usize>,
}

/// Groups digests that are where they claim to be into chains by identity,
/// each ordered by time. Moved and unnamed digests belong to no chain (they
/// are reported on their own).
#[must_use]
pub fn build(records: &[DigestRecord]) -> Vec<Chain> {
    let mut groups: BTreeMap<ChainKey, Vec<usize>> = BTreeMap::new();
    for (index, record) in records.iter().enumerate() {
        if record.moved {
            continue;
        }
        let (Some(layout), Some(name)) = (&record.layout, &record.name) else {
            continue;
        };
        let key = ChainKey {
            organization: layout.organization.clone(),
            account: layout.account.clone(),
            region: layout.region.clone(),
            trail: name.trail.clone(),
            home_region: name.home_region.clone(),
            backfill: name.backfill,
        };
        groups.entry(key).or_default().push(index);
    }
    groups
        .into_iter()
        .map(|(key, mut members)| {
            members.sort_by(|&a, &b| {
                let order = |i: usize| records.get(i).map(|r| (r.time(), r.key.as_str()));
                order(a).cmp(&order(b))
            });
            Chain { key, members }
        })
        .collect()
}

/// Which chain each digest record belongs to.
#[derive(Debug)]
pub struct Membership<'a> {
    chains: &'a [Chain],
    of: Vec<Option<usize>>,
}

impl<'a> Membership<'a> {
    /// Maps every record index to its chain (moved and unnamed digests have none).
    #[must_use]
    pub fn new(chains: &'a [Chain], records: usize) -> Self {
        let mut of = vec![None; records];
        for (c, chain) in chains.iter().enumerate() {
            for &m in &chain.members {
                if let Some(slot) = of.get_mut(m) {
                    *slot = Some(c);
                }
            }
        }
        Membership { chains, of }
    }

    /// Index of the record's chain.
    #[must_use]
    pub fn index(&self, record: usize) -> Option<usize> {
        self.of.get(record).copied().flatten()
    }

    /// The record's chain.
    #[must_use]
    pub fn chain(&self, record: usize) -> Option<&'a Chain> {
        self.index(record).and_then(|c| self.chains.get(c))
    }

    /// Identifier of the record's chain.
    #[must_use]
    pub fn id(&self, record: usize) -> Option<String> {
        self.chain(record).map(|c| c.key.id())
    }
}

/// Parsed digests by where they claim to be (`digestS3Bucket`, `digestS3Object`).
#[must_use]
pub fn claimed_locations(records: &[DigestRecord]) -> HashMap<(&str, &str), Vec<usize>> {
    let mut by_claimed: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
    for (i, r) in records.iter().enumerate() {
        if let Ok(d) = &r.parsed {
            by_claimed
                .entry((d.bucket.as_str(), d.object.as_str()))
                .or_default()
                .push(i);
        }
    }
    by_claimed
}

/// Where links lead: digests by where they lie and by where they claim to be.
struct Links<'a> {
    records: &'a [DigestRecord],
    by_actual: HashMap<(&'a str, &'a str), usize>,
    by_claimed: HashMap<(&'a str, &'a str), Vec<usize>>,
}

/// What a `previousDigest*` link leads to.
struct Resolved {
    /// The digest whose content the link names: the one at that key, or one
    /// claiming that key that was moved elsewhere.
    target: Option<usize>,
    /// Whether some file lies at the key.
    occupied: bool,
}

impl<'a> Links<'a> {
    fn new(records: &'a [DigestRecord]) -> Self {
        let by_claimed = claimed_locations(records);
        Links {
            records,
            by_actual: records
                .iter()
                .enumerate()
                .map(|(i, r)| ((r.bucket.as_str(), r.key.as_str()), i))
                .collect(),
            by_claimed,
        }
    }

    fn resolve(&self, bucket: &str, object: &str) -> Resolved {
        let actual = self.by_actual.get(&(bucket, object)).copied();
        if let Some(a) = actual
            && self.records.get(a).is_some_and(|r| !r.moved)
        {
            return Resolved {
                target: Some(a),
                occupied: true,
            };
        }
        let claimed = self
            .by_claimed
            .get(&(bucket, object))
            .and_then(|v| v.first())
            .copied();
        Resolved {
            target: claimed,
            occupied: actual.is_some(),
        }
    }
}

/// Follows every link and reports `digest.missing`, `digest.modified`,
/// `chain.gap` and `chain.out_of_order`.
#[must_use]
pub fn check_links(
    chains: &[Chain],
    records: &[DigestRecord],
    inventory: &Inventory,
    range: &TimeRange,
) -> Vec<Finding> {
    let links = Links::new(records);
    let membership = Membership::new(chains, records.len());
    let id_of = |i: usize| membership.id(i);
    let mut findings = Vec::new();
    let mut reported_missing: BTreeMap<String, ()> = BTreeMap::new();
    // Pass 1: where every link leads; restarts; links to absent digests.
    let mut targets: Vec<Option<usize>> = vec![None; records.len()];
    let mut claims: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for chain in chains {
        let mut previous_in_time: Option<usize> = None;
        for &index in &chain.members {
            let Some(record) = records.get(index) else {
                continue;
            };
            let Ok(digest) = &record.parsed else {
                previous_in_time = Some(index);
                continue;
            };
            match &digest.previous {
                None => findings.extend(restart(
                    chain,
                    record,
                    digest,
                    previous_in_time.and_then(|p| records.get(p)),
                )),
                Some(link) => {
                    let target_url = mirror::s3_url(&link.bucket, &link.object);
                    let resolved = links.resolve(&link.bucket, &link.object);
                    if let Some(target) = resolved.target {
                        claims.entry(target).or_default().push(index);
                        if let Some(slot) = targets.get_mut(index) {
                            *slot = Some(target);
                        }
                    }
                    if !resolved.occupied {
                        let found_elsewhere = resolved
                            .target
                            .and_then(|t| records.get(t))
                            .map(DigestRecord::url);
                        if let Some(f) = missing_predecessor(
                            record,
                            &target_url,
                            link,
                            inventory,
                            range,
                            &chain.key.id(),
                            found_elsewhere,
                        ) && reported_missing.insert(target_url.clone(), ()).is_none()
                        {
                            findings.push(f);
                        }
                    }
                }
            }
            previous_in_time = Some(index);
        }
    }

    // Pass 2: link order against time order, and links into other chains.
    let mut out_of_order: BTreeMap<usize, ()> = BTreeMap::new();
    for chain in chains {
        let mut previous_in_time: Option<usize> = None;
        for &index in &chain.members {
            let (Some(record), Some(target)) =
                (records.get(index), targets.get(index).copied().flatten())
            else {
                previous_in_time = Some(index);
                continue;
            };
            let Some(t) = records.get(target) else {
                continue;
            };
            // A digest between the two that names the same predecessor is a
            // fork sibling: the fork check below says which one is wrong.
            // So is one that names the same predecessor as the target.
            let between = previous_in_time
                .filter(|&p| {
                    let p_target = targets.get(p).copied().flatten();
                    let sibling =
                        p_target.is_some() && p_target == targets.get(target).copied().flatten();
                    p_target != Some(target) && !sibling
                })
                .and_then(|p| records.get(p));
            let other_chain = membership
                .chain(target)
                .filter(|c| c.key.backfill == chain.key.backfill && c.key != chain.key);
            let finding = match other_chain {
                Some(other) => Some(
                    Finding::new(
                        FindingCode::ChainOutOfOrder,
                        record.url(),
                        format!(
                            "This digest names {} as its previous digest, which belongs to another chain ({}).",
                            t.url(),
                            other.key.id()
                        ),
                    )
                    .at(Some(record.path.clone()))
                    .values(format!("a previous digest of chain {}", chain.key.id()), other.key.id())
                    .in_chain(Some(chain.key.id())),
                ),
                None => check_order(record, t, between, &chain.key.id()),
            };
            if let Some(f) = finding {
                out_of_order.insert(index, ());
                findings.push(f);
            }
            previous_in_time = Some(index);
        }
    }

    // Pass 3: forks. The claimant that continues the chain (someone links
    // to it), else the oldest, is the real successor; the others are not.
    for (target, claimants) in &claims {
        // Claimants already out of order (e.g. linking into another chain)
        // are not contenders.
        let contenders: Vec<usize> = claimants
            .iter()
            .copied()
            .filter(|c| !out_of_order.contains_key(c))
            .collect();
        if contenders.len() < 2 {
            continue;
        }
        let Some(t) = records.get(*target) else {
            continue;
        };
        let mut ordered = contenders;
        ordered.sort_by_key(|&c| {
            (
                !claims.contains_key(&c),
                records.get(c).and_then(DigestRecord::time),
            )
        });
        let main = ordered
            .first()
            .and_then(|&m| records.get(m))
            .map(DigestRecord::url)
            .unwrap_or_default();
        for &c in ordered.iter().skip(1) {
            let Some(r) = records.get(c) else { continue };
            if out_of_order.insert(c, ()).is_some() {
                continue;
            }
            findings.push(
                Finding::new(
                    FindingCode::ChainOutOfOrder,
                    r.url(),
                    format!(
                        "This digest and {main} both name {} as their previous digest: a chain cannot fork, and {main} is the one the chain continues from.",
                        t.url()
                    ),
                )
                .at(Some(r.path.clone()))
                .values("one successor per digest", format!("{} successors", ordered.len()))
                .in_chain(id_of(c)),
            );
        }
    }

    // Pass 4: hashes, from digests whose own place in the chain is sound.
    findings.extend(check_hashes(chains, records, &links, &out_of_order, &id_of));

    // Pass 5: digests deleted where no surviving link names them.
    for chain in chains.iter().filter(|c| !c.key.backfill) {
        for finding in infer_missing_successors(chain, records, &links, &claims, inventory) {
            if reported_missing
                .insert(finding.object.clone(), ())
                .is_none()
            {
                findings.push(finding);
            }
        }
    }
    findings
}

/// A digest with null links after an earlier digest of a standard chain.
fn restart(
    chain: &Chain,
    record: &DigestRecord,
    digest: &crate::digest::Digest,
    previous: Option<&DigestRecord>,
) -> Option<Finding> {
    // Backfill digests are delivered only now and then; whether they link to
    // each other is not documented, so a null link there is no restart
    // (SPEC §6, §10).
    if chain.key.backfill {
        return None;
    }
    let prev = previous?;
    let since = prev
        .time()
        .map_or_else(|| "?".to_owned(), |t| t.to_string());
    Some(
        Finding::new(
            FindingCode::ChainGap,
            record.url(),
            format!(
                "The chain restarts here: this digest has no previous digest, so nothing proves the log files delivered between {since} ({}) and {} are complete.",
                prev.url(),
                digest.start_time
            ),
        )
        .at(Some(record.path.clone()))
        .values(format!("a link to {}", prev.url()), "previousDigestS3Object: null")
        .in_chain(Some(chain.key.id())),
    )
}

/// Finds digests deleted where no surviving link names them: a digest that
/// no digest links to, although a later digest of the chain names a missing
/// predecessor, was followed by a digest that is gone too. Its key is
/// inferred from the chain's cadence (CloudTrail delivers a digest per hour
/// at a fixed minute and second, and its key carries its end time).
fn infer_missing_successors(
    chain: &Chain,
    records: &[DigestRecord],
    links: &Links<'_>,
    claims: &BTreeMap<usize, Vec<usize>>,
    inventory: &Inventory,
) -> Vec<Finding> {
    let cadence = chain_cadence(chain, records);
    let mut findings = Vec::new();
    for pair in chain.members.windows(2) {
        let (&[orphan, next], Some(cadence)) = (pair, cadence) else {
            continue;
        };
        let (Some(o), Some(n)) = (records.get(orphan), records.get(next)) else {
            continue;
        };
        let (Ok(o_digest), Ok(n_digest)) = (&o.parsed, &n.parsed) else {
            continue;
        };
        if claims.contains_key(&orphan) {
            continue;
        }
        let Some(link) = &n_digest.previous else {
            continue;
        };
        let resolved = links.resolve(&link.bucket, &link.object);
        if resolved.target.is_some() || resolved.occupied {
            continue; // the next digest links to something present: other checks cover it
        }
        // Each hour from the orphan on until the missing digest the link names.
        let mut end = o_digest.end_time;
        for _ in 0..MAX_INFERRED_DIGESTS {
            let Ok(successor_end) = end.checked_add(cadence) else {
                break;
            };
            end = successor_end;
            let Some(key) = digest_key_at(&o.key, successor_end) else {
                break;
            };
            if key == link.object || successor_end >= n_digest.start_time {
                break; // reached the missing digest the link names
            }
            let Err(path) = inventory.resolve(&o.bucket, &key) else {
                continue;
            };
            findings.push(
                Finding::new(
                    FindingCode::DigestMissing,
                    mirror::s3_url(&o.bucket, &key),
                    format!(
                        "No digest links to {}, and the next digest {} names a missing predecessor {}: the digests between them are gone too. By the chain's cadence of {cadence:#}, one of them ends at {successor_end}.",
                        o.url(),
                        n.url(),
                        mirror::s3_url(&link.bucket, &link.object)
                    ),
                )
                .at(path)
                .values(format!("a digest ending at {successor_end}"), "no file")
                .in_chain(Some(chain.key.id())),
            );
        }
    }
    findings
}

/// Most digests inferred missing between two surviving ones (a week of hours).
const MAX_INFERRED_DIGESTS: usize = 168;

/// The usual length of a digest's window in a chain (the median), if it has parsed digests.
fn chain_cadence(chain: &Chain, records: &[DigestRecord]) -> Option<jiff::SignedDuration> {
    let mut lengths: Vec<jiff::SignedDuration> = chain
        .members
        .iter()
        .filter_map(|&m| records.get(m)?.parsed.as_ref().ok())
        .map(|d| d.end_time.duration_since(d.start_time))
        .filter(|l| l.is_positive())
        .collect();
    lengths.sort_unstable();
    lengths.get(lengths.len() / 2).copied()
}

/// A standard digest's key with its date folders and timestamp set to `end`.
fn digest_key_at(key: &str, end: Timestamp) -> Option<String> {
    let (folders, name) = key.rsplit_once('/')?;
    let stem = name.strip_suffix(".json.gz")?;
    let (head, _old_time) = stem.rsplit_once('_')?;
    let mut parts: Vec<&str> = folders.split('/').collect();
    let keep = parts.len().checked_sub(3)?;
    parts.truncate(keep);
    let date = end.strftime("%Y/%m/%d").to_string();
    let time = end.strftime("%Y%m%dT%H%M%SZ").to_string();
    Some(format!("{}/{date}/{head}_{time}.json.gz", parts.join("/")))
}

/// A link whose target does not exist in the mirror.
fn missing_predecessor(
    record: &DigestRecord,
    target_url: &str,
    link: &crate::digest::PreviousLink,
    inventory: &Inventory,
    range: &TimeRange,
    chain_id: &str,
    found_elsewhere: Option<String>,
) -> Option<Finding> {
    let target_time = mirror::parse_layout(&link.object, "CloudTrail-Digest")
        .as_ref()
        .and_then(mirror::parse_digest_name)
        .map(|n| n.time);
    // A predecessor before --start-time is outside the run, not missing.
    if let (Some(start), Some(t)) = (range.start, target_time)
        && t < start
    {
        return None;
    }
    let path = if mirror::is_safe_key(&link.object) {
        match inventory.resolve(&link.bucket, &link.object) {
            // Present but not a digest we read (filtered by time, or not a regular file).
            Ok(file) if file.kind != mirror::FileKind::NotRegular => return None,
            Ok(file) => Some(inventory.path_of(file)),
            Err(path) => path,
        }
    } else {
        None
    };
    let mut message = format!(
        "The digest {} names {target_url} as its previous digest, but the mirror does not have it",
        record.url()
    );
    match &found_elsewhere {
        Some(url) => message.push_str(&format!(" at that key: it lies at {url} instead")),
        None if path.is_none() => {
            message.push_str(" (no mirror root holds that bucket and prefix)")
        }
        None => {}
    }
    message.push_str(if found_elsewhere.is_some() {
        "."
    } else {
        ". The log files delivered in its hour cannot be verified."
    });
    Some(
        Finding::new(FindingCode::DigestMissing, target_url, message)
            .at(path)
            .values(
                format!(
                    "a digest whose SHA-256 is {}",
                    link.hash_value.as_deref().unwrap_or("?")
                ),
                "no file",
            )
            .in_chain(Some(chain_id.to_owned())),
    )
}

/// Checks every link's `previousDigestHashValue` against the content of the
/// digest it names, newest first: only an authentic digest that no later
/// digest contradicts may accuse its predecessor of `digest.modified`.
fn check_hashes(
    chains: &[Chain],
    records: &[DigestRecord],
    links: &Links<'_>,
    out_of_order: &BTreeMap<usize, ()>,
    id_of: &dyn Fn(usize) -> Option<String>,
) -> Vec<Finding> {
    let mut order: Vec<usize> = chains
        .iter()
        .flat_map(|c| c.members.iter().copied())
        .collect();
    order.sort_by_key(|&i| std::cmp::Reverse(records.get(i).and_then(DigestRecord::time)));
    let mut contradicted = vec![false; records.len()];
    let mut findings = Vec::new();
    for index in order {
        let Some(record) = records.get(index) else {
            continue;
        };
        let Ok(digest) = &record.parsed else { continue };
        if !record.is_authentic()
            || contradicted.get(index).copied().unwrap_or(true)
            || out_of_order.contains_key(&index)
        {
            continue;
        }
        let Some(link) = &digest.previous else {
            continue;
        };
        let Some(expected) = link.hash_value.as_deref() else {
            continue;
        };
        let Some(target) = links.resolve(&link.bucket, &link.object).target else {
            continue;
        };
        let Some(t) = records.get(target) else {
            continue;
        };
        let Some(actual) = t.inflated_sha256.map(hex::encode) else {
            continue;
        };
        if expected == actual {
            continue;
        }
        if let Some(flag) = contradicted.get_mut(target) {
            *flag = true;
        }
        findings.push(
            Finding::new(
                FindingCode::DigestModified,
                t.url(),
                format!(
                    "The content of this digest differs from what the next digest {} recorded in previousDigestHashValue.",
                    record.url()
                ),
            )
            .at(Some(t.path.clone()))
            .values(expected, actual)
            .in_chain(id_of(target)),
        );
    }
    findings
}

/// Time order against link order: the predecessor must be older than the
/// digest, and no digest of the chain may lie between them in time.
fn check_order(
    record: &DigestRecord,
    target: &DigestRecord,
    between: Option<&DigestRecord>,
    chain_id: &str,
) -> Option<Finding> {
    let (Some(time), Some(target_time)) = (record.time(), target.time()) else {
        return None;
    };
    let finding = |message: String, expected: String, actual: String| {
        Finding::new(FindingCode::ChainOutOfOrder, record.url(), message)
            .at(Some(record.path.clone()))
            .values(expected, actual)
            .in_chain(Some(chain_id.to_owned()))
    };
    if target_time >= time {
        return Some(finding(
            format!(
                "This digest ({time}) names {} ({target_time}) as its previous digest, which is not older.",
                target.url()
            ),
            format!("a previous digest older than {time}"),
            format!("{target_time}"),
        ));
    }
    let between = between.filter(|p| p.file != target.file)?;
    let between_time: Timestamp = between.time()?;
    if between_time > target_time && between_time < time {
        return Some(finding(
            format!(
                "This digest links to {}, skipping {} which lies between them in time.",
                target.url(),
                between.url()
            ),
            between.url(),
            target.url(),
        ));
    }
    None
}
