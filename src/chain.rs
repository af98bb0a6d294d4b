//! Digest chains: one per account × delivering region × trail (× standard
//! or backfill), organization trails included.
//!
//! [`build`] groups the digests that lie where they claim to be by the
//! identity their key carries and orders each group by time.
//! [`check_links`] then follows every `previousDigest*` link, independent of
//! listing order, and reports missing and modified predecessors, restarts
//! and contradictions between link order and time order.

use crate::finding::{Finding, FindingCode, Locus};
use crate::mirror::{self, Inventory};
use crate::record::DigestRecord;
use jiff::Timestamp;
use std::collections::{BTreeMap, BTreeSet, HashMap};

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
    /// Digests of this chain (by the key their content names) that lie
    /// elsewhere (`digest.moved`): counted and drawn with the chain, but not
    /// links in it.
    pub moved: Vec<usize>,
}

impl ChainKey {
    /// The chain a digest key belongs to, from the key alone.
    #[must_use]
    pub fn of_key(key: &str) -> Option<ChainKey> {
        let layout = mirror::parse_layout(key, "CloudTrail-Digest")?;
        let name = mirror::parse_digest_name(&layout)?;
        Some(ChainKey {
            organization: layout.organization,
            account: layout.account,
            region: layout.region,
            trail: name.trail,
            home_region: name.home_region,
            backfill: name.backfill,
        })
    }
}

/// Groups digests that are where they claim to be into chains by identity,
/// each ordered by time. Moved and unnamed digests belong to no chain (they
/// are reported on their own).
#[must_use]
pub fn build(records: &[DigestRecord]) -> Vec<Chain> {
    let mut groups: BTreeMap<ChainKey, Vec<usize>> = BTreeMap::new();
    let mut moved: BTreeMap<ChainKey, Vec<usize>> = BTreeMap::new();
    for (index, record) in records.iter().enumerate() {
        if record.moved {
            if let Some(key) = record
                .parsed
                .as_ref()
                .ok()
                .and_then(|d| ChainKey::of_key(&d.object))
            {
                moved.entry(key).or_default().push(index);
            }
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
    for key in moved.keys() {
        groups.entry(key.clone()).or_default();
    }
    groups
        .into_iter()
        .map(|(key, mut members)| {
            members.sort_by(|&a, &b| {
                let order = |i: usize| records.get(i).map(|r| (r.time(), r.key.as_str()));
                order(a).cmp(&order(b))
            });
            let moved = moved.remove(&key).unwrap_or_default();
            Chain {
                key,
                members,
                moved,
            }
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
            for &m in chain.members.iter().chain(&chain.moved) {
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

/// How far a digest's content can be trusted when two digests' claims
/// conflict: authentic evidence outranks unauthenticated evidence in every
/// chain decision, and the lower-ranked digest gets the finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Standing {
    /// Not a digest, or its signature does not verify (or no valid key).
    Refuted,
    /// No signature available from any source: nothing for or against it.
    Unproven,
    /// A signature verified.
    Authentic,
}

impl Standing {
    /// The standing of one digest record (after signatures were checked).
    #[must_use]
    pub fn of(record: &DigestRecord) -> Standing {
        match (&record.parsed, &record.auth) {
            (Ok(_), Some(auth)) if auth.verified_by.is_some() && !record.contradicted => {
                Standing::Authentic
            }
            (Ok(_), Some(auth))
                if auth.problem == Some(crate::signature::SignatureProblem::Unsigned) =>
            {
                Standing::Unproven
            }
            _ => Standing::Refuted,
        }
    }
}

/// What following every link concluded, as data for the later stages.
#[derive(Debug, Default)]
pub struct LinkOutcome {
    /// `digest.missing`, `digest.modified`, `chain.out_of_order`.
    pub findings: Vec<Finding>,
    /// Where a chain restarts (`chain.gap` once explained, or not, by the
    /// trail's own records).
    pub restarts: Vec<Restart>,
    /// Records whose content an authentic later digest contradicts
    /// (`digest.modified`): their own signature proves nothing.
    pub contradicted: BTreeSet<usize>,
}

/// Keeps, of every chain, only the digests inside the run's time range
/// (chains with none are dropped): what is reported and whose log files
/// are examined.
#[must_use]
pub fn in_range(chains: &[Chain], records: &[DigestRecord]) -> Vec<Chain> {
    chains
        .iter()
        .filter_map(|chain| {
            let in_range = |list: &[usize]| -> Vec<usize> {
                list.iter()
                    .copied()
                    .filter(|&m| records.get(m).is_some_and(|r| r.in_range))
                    .collect()
            };
            let members = in_range(&chain.members);
            let moved = in_range(&chain.moved);
            (!members.is_empty() || !moved.is_empty()).then(|| Chain {
                key: chain.key.clone(),
                members,
                moved,
            })
        })
        .collect()
}

/// Follows every link and reports `digest.missing`, `digest.modified`,
/// `chain.gap` and `chain.out_of_order`. Where two digests' claims
/// conflict, the one with the lower [`Standing`] is blamed.
#[must_use]
pub fn check_links(
    chains: &[Chain],
    records: &[DigestRecord],
    inventory: &Inventory,
) -> LinkOutcome {
    let links = Links::new(records);
    let membership = Membership::new(chains, records.len());
    let standing: Vec<Standing> = records.iter().map(Standing::of).collect();
    let ResolvedLinks {
        targets,
        claims,
        mut findings,
    } = resolve_links(chains, records, &links, inventory);
    let order = check_order_all(chains, records, &targets, &membership, &standing);
    let mut out_of_order = order.blamed;
    findings.extend(order.findings);
    findings.extend(check_forks(
        records,
        &claims,
        &mut out_of_order,
        &standing,
        &membership,
    ));
    let restarts = restarts(chains, records, &out_of_order);
    let (hash_findings, contradicted) =
        check_hashes(chains, records, &links, &out_of_order, &membership);
    findings.extend(hash_findings);
    // Digests deleted where no surviving link names them.
    let mut reported: BTreeSet<String> = findings
        .iter()
        .filter(|f| f.code == FindingCode::DigestMissing)
        .map(|f| f.object.clone())
        .collect();
    for chain in chains.iter().filter(|c| !c.key.backfill) {
        for finding in infer_missing_successors(chain, records, &links, &claims, inventory) {
            if reported.insert(finding.object.clone()) {
                findings.push(finding);
            }
        }
    }
    LinkOutcome {
        findings,
        restarts,
        contradicted,
    }
}

/// Where every link leads and who claims what.
struct ResolvedLinks {
    /// `targets[record]`: the digest the record's link names.
    targets: Vec<Option<usize>>,
    /// `claims[target]`: the records whose link names it.
    claims: BTreeMap<usize, Vec<usize>>,
    /// `digest.missing` for links to absent digests.
    findings: Vec<Finding>,
}

/// Where every link leads (`targets[record]`), who claims each target
/// (`claims[target]`), and `digest.missing` for links to absent digests.
fn resolve_links(
    chains: &[Chain],
    records: &[DigestRecord],
    links: &Links<'_>,
    inventory: &Inventory,
) -> ResolvedLinks {
    let mut findings = Vec::new();
    let mut reported_missing: BTreeSet<String> = BTreeSet::new();
    let mut targets: Vec<Option<usize>> = vec![None; records.len()];
    let mut claims: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for chain in chains {
        for &index in &chain.members {
            let Some(record) = records.get(index) else {
                continue;
            };
            let Some(link) = record
                .parsed
                .as_ref()
                .ok()
                .and_then(|d| d.previous.as_ref())
            else {
                continue;
            };
            let target_url = mirror::s3_url(&link.bucket, &link.object);
            let resolved = links.resolve(&link.bucket, &link.object);
            if let Some(target) = resolved.target {
                claims.entry(target).or_default().push(index);
                if let Some(slot) = targets.get_mut(index) {
                    *slot = Some(target);
                }
            }
            if resolved.occupied {
                continue;
            }
            let found_elsewhere = resolved
                .target
                .and_then(|t| records.get(t))
                .map(DigestRecord::url);
            if let Some(f) = missing_predecessor(
                record,
                &target_url,
                link,
                inventory,
                &chain.key.id(),
                found_elsewhere,
            ) && reported_missing.insert(target_url)
            {
                findings.push(f);
            }
        }
    }
    ResolvedLinks {
        targets,
        claims,
        findings,
    }
}

/// Order findings and the records they blame.
struct OrderOutcome {
    findings: Vec<Finding>,
    blamed: BTreeSet<usize>,
}

/// Link order against time order, and links into other chains.
fn check_order_all(
    chains: &[Chain],
    records: &[DigestRecord],
    targets: &[Option<usize>],
    membership: &Membership<'_>,
    standing: &[Standing],
) -> OrderOutcome {
    let mut out = OrderOutcome {
        findings: Vec::new(),
        blamed: BTreeSet::new(),
    };
    let rank = |i: usize| standing.get(i).copied().unwrap_or(Standing::Refuted);
    for chain in chains {
        let mut previous_in_time: Option<usize> = None;
        for &index in &chain.members {
            let (Some(record), Some(target)) =
                (records.get(index), targets.get(index).copied().flatten())
            else {
                if !out.blamed.contains(&index) {
                    previous_in_time = Some(index);
                }
                continue;
            };
            let Some(t) = records.get(target) else {
                continue;
            };
            // A digest between the two that names the same predecessor is a
            // fork sibling: the fork check says which one is wrong. So is one
            // that names the same predecessor as the target.
            let between_index = previous_in_time.filter(|&p| {
                let p_target = targets.get(p).copied().flatten();
                let sibling =
                    p_target.is_some() && p_target == targets.get(target).copied().flatten();
                p_target != Some(target) && !sibling
            });
            let other_chain = membership
                .chain(target)
                .filter(|c| c.key.backfill == chain.key.backfill && c.key != chain.key);
            let blame = match other_chain {
                Some(other) => Some((index, link_into_other_chain(record, t, chain, other))),
                None => order_blame(
                    (index, record),
                    (target, t),
                    between_index.and_then(|p| records.get(p).map(|r| (p, r))),
                    &rank,
                    &chain.key.id(),
                ),
            };
            match blame {
                Some((blamed, finding)) => {
                    out.blamed.insert(blamed);
                    out.findings.push(finding);
                    if blamed != index {
                        // The intruder between them is out; the digest itself stays in line.
                        previous_in_time = Some(index);
                    }
                }
                None => previous_in_time = Some(index),
            }
        }
    }
    out
}

fn link_into_other_chain(
    record: &DigestRecord,
    t: &DigestRecord,
    chain: &Chain,
    other: &Chain,
) -> Finding {
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
    .values(
        format!("a previous digest of chain {}", chain.key.id()),
        other.key.id(),
    )
    .in_chain(Some(chain.key.id()))
}

/// Forks: the claimant with the highest standing, then the one that
/// continues the chain (someone links to it), then the oldest, is the real
/// successor; the others are not.
fn check_forks(
    records: &[DigestRecord],
    claims: &BTreeMap<usize, Vec<usize>>,
    out_of_order: &mut BTreeSet<usize>,
    standing: &[Standing],
    membership: &Membership<'_>,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (target, claimants) in claims {
        // Claimants already out of order (e.g. linking into another chain)
        // are not contenders.
        let mut ordered: Vec<usize> = claimants
            .iter()
            .copied()
            .filter(|c| !out_of_order.contains(c))
            .collect();
        if ordered.len() < 2 {
            continue;
        }
        let Some(t) = records.get(*target) else {
            continue;
        };
        ordered.sort_by_key(|&c| {
            (
                std::cmp::Reverse(standing.get(c).copied().unwrap_or(Standing::Refuted)),
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
            if !out_of_order.insert(c) {
                continue;
            }
            findings.push(
                Finding::new(
                    FindingCode::ChainOutOfOrder,
                    r.url(),
                    format!(
                        "This digest and {main} both name {} as their previous digest: a chain cannot fork, and {main} is the one the chain continues from{}.",
                        t.url(),
                        fork_reason(standing.get(c).copied(), ordered.first().and_then(|&m| standing.get(m)).copied())
                    ),
                )
                .at(Some(r.path.clone()))
                .values("one successor per digest", format!("{} successors", ordered.len()))
                .in_chain(membership.id(c)),
            );
        }
    }
    findings
}

/// Why the fork check kept the other claimant, when standing decided it.
fn fork_reason(loser: Option<Standing>, winner: Option<Standing>) -> &'static str {
    match (loser, winner) {
        (Some(l), Some(Standing::Authentic)) if l < Standing::Authentic => {
            " (its signature verifies; this digest's does not)"
        }
        (Some(Standing::Refuted), Some(Standing::Unproven)) => {
            " (this digest's signature does not verify)"
        }
        _ => "",
    }
}

/// A digest with null links after an earlier digest of its standard chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Restart {
    /// Index of the chain in the chains checked.
    pub chain: usize,
    /// The restarting digest's record.
    pub record: usize,
    /// The chain's digest before it in time.
    pub previous: usize,
}

/// Every digest with null links after an earlier digest of its standard
/// chain (digests already blamed for the order are skipped, and are not
/// counted as the digest before). Backfill digests are delivered only now
/// and then; whether they link to each other is not documented, so a null
/// link there is no restart (SPEC §6, §10).
fn restarts(chains: &[Chain], records: &[DigestRecord], blamed: &BTreeSet<usize>) -> Vec<Restart> {
    let mut found = Vec::new();
    for (chain_index, chain) in chains.iter().enumerate().filter(|(_, c)| !c.key.backfill) {
        let mut previous_in_time: Option<usize> = None;
        for &index in &chain.members {
            if blamed.contains(&index) {
                continue;
            }
            let Some(record) = records.get(index) else {
                continue;
            };
            if let Ok(digest) = &record.parsed
                && digest.previous.is_none()
                && let Some(previous) = previous_in_time
            {
                found.push(Restart {
                    chain: chain_index,
                    record: index,
                    previous,
                });
            }
            previous_in_time = Some(index);
        }
    }
    found
}

/// `chain.gap` for a restart, with what the trail's own records say of it
/// (`explanation`, one or two sentences).
#[must_use]
pub fn restart_finding(
    chain: &Chain,
    record: &DigestRecord,
    previous: &DigestRecord,
    explanation: &str,
) -> Finding {
    let since = previous
        .time()
        .map_or_else(|| "?".to_owned(), |t| t.to_string());
    let until = record
        .parsed
        .as_ref()
        .map_or_else(|_| "?".to_owned(), |d| d.start_time.to_string());
    Finding::new(
        FindingCode::ChainGap,
        record.url(),
        format!(
            "The chain restarts here: this digest has no previous digest, so nothing proves the log files delivered between {since} ({}) and {until} are complete. {explanation}",
            previous.url(),
        ),
    )
    .at(Some(record.path.clone()))
    .values(format!("a link to {}", previous.url()), "previousDigestS3Object: null")
    .in_chain(Some(chain.key.id()))
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
            let Some(key) =
                crate::layout::DigestKey::parse(&o.key).map(|k| k.at(successor_end).format())
            else {
                break;
            };
            if key == link.object || successor_end >= n_digest.start_time {
                break; // reached the missing digest the link names
            }
            let Err(path) = inventory.resolve(&o.bucket, &key) else {
                continue;
            };
            if path
                .as_deref()
                .is_some_and(|p| inventory.unreadable_ancestor(p).is_some())
            {
                continue; // its folder could not be listed
            }
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

/// A link whose target does not exist in the mirror.
fn missing_predecessor(
    record: &DigestRecord,
    target_url: &str,
    link: &crate::digest::PreviousLink,
    inventory: &Inventory,
    chain_id: &str,
    found_elsewhere: Option<String>,
) -> Option<Finding> {
    let path = if mirror::is_safe_key(&link.object) {
        match inventory.resolve(&link.bucket, &link.object) {
            // Present but not a digest we read (filtered by time, or not a regular file).
            Ok(file) if file.kind != mirror::FileKind::NotRegular => return None,
            Ok(file) => Some(inventory.path_of(file)),
            // Its folder could not be listed (reported as mirror.unreadable).
            Err(Some(path)) if inventory.unreadable_ancestor(&path).is_some() => return None,
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
            .hashes(
                crate::finding::UNCOMPRESSED_SHA256,
                link.hash_value.as_deref().unwrap_or("(not recorded)"),
                "no file",
            )
            .in_chain(Some(chain_id.to_owned())),
    )
}

/// Checks every link's `previousDigestHashValue` against the content of the
/// digest it names, newest first: only an authentic digest that no later
/// digest contradicts may accuse its predecessor of `digest.modified`.
/// Returns the findings and the contradicted records.
fn check_hashes(
    chains: &[Chain],
    records: &[DigestRecord],
    links: &Links<'_>,
    out_of_order: &BTreeSet<usize>,
    membership: &Membership<'_>,
) -> (Vec<Finding>, BTreeSet<usize>) {
    let mut order: Vec<usize> = chains
        .iter()
        .flat_map(|c| c.members.iter().copied())
        .collect();
    order.sort_by_key(|&i| std::cmp::Reverse(records.get(i).and_then(DigestRecord::time)));
    let mut contradicted = BTreeSet::new();
    let mut findings = Vec::new();
    for index in order {
        let Some(record) = records.get(index) else {
            continue;
        };
        let Ok(digest) = &record.parsed else { continue };
        if !record.is_authentic() || contradicted.contains(&index) || out_of_order.contains(&index)
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
        contradicted.insert(target);
        findings.push(
            Finding::new(
                FindingCode::DigestModified,
                t.url(),
                format!(
                    "The SHA-256 of this digest's uncompressed content differs from what the next digest {} recorded in previousDigestHashValue.",
                    record.url()
                ),
            )
            .at(Some(t.path.clone()))
            .hashes(crate::finding::UNCOMPRESSED_SHA256, expected, actual)
            .locus(Locus::PreviousHash {
                digest: record.path.clone(),
            })
            .in_chain(membership.id(target)),
        );
    }
    (findings, contradicted)
}

/// Who is wrong when a link and time order disagree: the digest and its
/// target must be in time order, and no digest of the chain may lie
/// between them. When the digest that lies between has a lower
/// [`Standing`] than the digest whose link skips it, that intruder is
/// blamed instead. Returns the blamed record and its finding.
fn order_blame(
    (index, record): (usize, &DigestRecord),
    (target_index, target): (usize, &DigestRecord),
    between: Option<(usize, &DigestRecord)>,
    rank: &dyn Fn(usize) -> Standing,
    chain_id: &str,
) -> Option<(usize, Finding)> {
    let (Some(time), Some(target_time)) = (record.time(), target.time()) else {
        return None;
    };
    let finding = |on: &DigestRecord, message: String, expected: String, actual: String| {
        Finding::new(FindingCode::ChainOutOfOrder, on.url(), message)
            .at(Some(on.path.clone()))
            .values(expected, actual)
            .in_chain(Some(chain_id.to_owned()))
    };
    if target_time >= time {
        // A target the digest outranks is not what the digest linked to:
        // the hash and signature checks report it.
        if rank(target_index) < rank(index) {
            return None;
        }
        return Some((
            index,
            finding(
                record,
                format!(
                    "This digest ({time}) names {} ({target_time}) as its previous digest, which is not older.",
                    target.url()
                ),
                format!("a previous digest older than {time}"),
                format!("{target_time}"),
            ),
        ));
    }
    let (between_index, between) = between.filter(|(_, p)| p.file != target.file)?;
    let between_time: Timestamp = between.time()?;
    if !(between_time > target_time && between_time < time) {
        return None;
    }
    if rank(between_index) < rank(index) {
        return Some((
            between_index,
            finding(
                between,
                format!(
                    "This digest lies between {} and {} in time, but {} links directly to {}: this digest is not part of the chain, and it has less proof than the digest that skips it.",
                    target.url(),
                    record.url(),
                    record.url(),
                    target.url()
                ),
                format!("no digest between {} and {}", target.url(), record.url()),
                between.url(),
            ),
        ));
    }
    Some((
        index,
        finding(
            record,
            format!(
                "This digest links to {}, skipping {} which lies between them in time.",
                target.url(),
                between.url()
            ),
            between.url(),
            target.url(),
        ),
    ))
}

/// The chain stage on its own: records and an inventory built in memory
/// (no files), each case asserting the exact findings.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::{Digest, PreviousLink};
    use crate::mirror::{FileKind, MirrorFile, MirrorRoot};
    use crate::signature::{Authentication, SignatureProblem, SignatureSource, StoredMetadata};
    use jiff::Timestamp;

    const BUCKET: &str = "b";

    /// Hours are minutes from 00:17 on 2026-03-01, so a digest can lie between two others.
    fn time(minutes: i64) -> Timestamp {
        "2026-03-01T00:17:28Z".parse::<Timestamp>().unwrap()
            + jiff::SignedDuration::from_mins(minutes)
    }

    fn key(minutes: i64) -> String {
        let t = time(minutes).strftime("%Y%m%dT%H%M%SZ");
        format!(
            "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/03/01/111122223333_CloudTrail-Digest_us-east-1_trail_us-east-1_{t}.json.gz"
        )
    }

    /// How a digest's signature came out.
    #[derive(Clone, Copy)]
    enum Signed {
        Yes,
        Unsigned,
    }

    /// One digest at `minutes`, linking to the digest at `previous` (with
    /// that digest's content hash, or `wrong_hash`).
    struct Spec {
        minutes: i64,
        previous: Option<i64>,
        wrong_hash: bool,
        signed: Signed,
    }

    fn spec(minutes: i64, previous: Option<i64>) -> Spec {
        Spec {
            minutes,
            previous,
            wrong_hash: false,
            signed: Signed::Yes,
        }
    }

    fn content(minutes: i64) -> [u8; 32] {
        let mut hash = [0u8; 32];
        hash[..8].copy_from_slice(&minutes.to_be_bytes());
        hash
    }

    fn record(s: &Spec) -> DigestRecord {
        let key = key(s.minutes);
        let layout = mirror::parse_layout(&key, "CloudTrail-Digest").unwrap();
        let name = mirror::parse_digest_name(&layout).unwrap();
        let previous = s.previous.map(|p| PreviousLink {
            bucket: BUCKET.to_owned(),
            object: self::key(p),
            hash_value: Some(hex::encode(if s.wrong_hash {
                [0xee; 32]
            } else {
                content(p)
            })),
        });
        let digest = Digest {
            account_id: Some("111122223333".to_owned()),
            start_time: time(s.minutes - 60),
            end_time: time(s.minutes),
            end_time_text: time(s.minutes).to_string(),
            bucket: BUCKET.to_owned(),
            object: key.clone(),
            fingerprint: "00".repeat(16),
            signature_algorithm: Some("SHA256withRSA".to_owned()),
            previous,
            previous_signature: None,
            log_files: Vec::new(),
            content_sha256: content(s.minutes),
        };
        let auth = match s.signed {
            Signed::Yes => Authentication {
                verified_by: Some(SignatureSource::Sidecar),
                problem: None,
            },
            Signed::Unsigned => Authentication {
                verified_by: None,
                problem: Some(SignatureProblem::Unsigned),
            },
        };
        DigestRecord {
            file: 0,
            bucket: BUCKET.to_owned(),
            path: format!("/m/{key}").into(),
            key,
            layout: Some(layout),
            name: Some(name),
            inflated_sha256: Some(content(s.minutes)),
            parsed: Ok(digest),
            stored: None,
            metadata: StoredMetadata::default(),
            claimed_metadata: None,
            moved: false,
            auth: Some(auth),
            contradicted: false,
            trusted: false,
            in_range: true,
            deselected: false,
            reported: true,
            dropped_listing: None,
            routes: Vec::new(),
            listed: 0,
            cached: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// The chain stage's findings (code, key) and contradicted keys.
    fn check(specs: &[Spec]) -> (Vec<(&'static str, String)>, Vec<String>) {
        let mut records: Vec<DigestRecord> = specs.iter().map(record).collect();
        let mut files: Vec<MirrorFile> = records
            .iter()
            .map(|r| MirrorFile {
                root: 0,
                rel: r.key.clone().into(),
                size: 1,
                kind: FileKind::Digest,
            })
            .collect();
        files.sort_by(|a, b| a.rel.cmp(&b.rel));
        for r in &mut records {
            r.file = files.iter().position(|f| *f.rel == r.key).unwrap();
        }
        let inventory = Inventory {
            roots: vec![MirrorRoot {
                path: "/m".into(),
                bucket: Some(BUCKET.to_owned()),
                prefix: String::new(),
            }],
            files,
            ..Inventory::default()
        };
        let chains = build(&records);
        let outcome = check_links(&chains, &records, &inventory);
        let key_of = |url: &str| url.strip_prefix("s3://b/").unwrap_or(url).to_owned();
        let mut findings: Vec<(&'static str, String)> = outcome
            .findings
            .iter()
            .map(|f| (f.code.as_str(), key_of(&f.object)))
            .chain(
                outcome
                    .restarts
                    .iter()
                    .map(|r| ("chain.gap", records[r.record].key.clone())),
            )
            .collect();
        findings.sort();
        let contradicted = outcome
            .contradicted
            .iter()
            .map(|&i| records[i].key.clone())
            .collect();
        (findings, contradicted)
    }

    #[test]
    fn an_intact_chain_has_no_finding() {
        let (findings, contradicted) = check(&[
            spec(0, None),
            spec(60, Some(0)),
            spec(120, Some(60)),
            spec(180, Some(120)),
        ]);
        assert_eq!(findings, vec![]);
        assert!(contradicted.is_empty());
    }

    #[test]
    fn a_deleted_digest_is_missing_at_the_key_its_successor_names() {
        let (findings, _) = check(&[spec(0, None), spec(60, Some(0)), spec(180, Some(120))]);
        assert_eq!(findings, vec![("digest.missing", key(120))]);
    }

    #[test]
    fn an_authentic_link_with_another_hash_contradicts_its_target() {
        let (findings, contradicted) = check(&[
            spec(0, None),
            spec(60, Some(0)),
            Spec {
                wrong_hash: true,
                ..spec(120, Some(60))
            },
        ]);
        assert_eq!(findings, vec![("digest.modified", key(60))]);
        assert_eq!(contradicted, vec![key(60)]);
    }

    #[test]
    fn an_unsigned_link_with_another_hash_contradicts_nothing() {
        let (findings, contradicted) = check(&[
            spec(0, None),
            spec(60, Some(0)),
            Spec {
                wrong_hash: true,
                signed: Signed::Unsigned,
                ..spec(120, Some(60))
            },
        ]);
        assert_eq!(findings, vec![]);
        assert!(contradicted.is_empty());
    }

    #[test]
    fn an_unsigned_fork_is_blamed_not_the_authentic_successor() {
        let (findings, _) = check(&[
            spec(0, None),
            spec(60, Some(0)),
            Spec {
                signed: Signed::Unsigned,
                ..spec(90, Some(60))
            },
            spec(120, Some(60)),
        ]);
        assert_eq!(findings, vec![("chain.out_of_order", key(90))]);
    }

    #[test]
    fn an_unsigned_digest_slipped_between_two_real_ones_is_blamed() {
        let (findings, _) = check(&[
            spec(0, None),
            spec(60, Some(0)),
            Spec {
                signed: Signed::Unsigned,
                ..spec(90, None)
            },
            spec(120, Some(60)),
        ]);
        assert_eq!(findings, vec![("chain.out_of_order", key(90))]);
    }

    #[test]
    fn a_chain_that_starts_again_is_a_gap() {
        let (findings, _) = check(&[spec(0, None), spec(60, Some(0)), spec(300, None)]);
        assert_eq!(findings, vec![("chain.gap", key(300))]);
    }
}
