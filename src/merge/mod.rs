//! `trailproof merge`: the partial JSON reports of a plan's shards
//! (`verify --plan --shard`) joined into the report a single run gives.
//!
//! The shards' scopes divide the archive's objects (see [`crate::shard`]), so
//! each finding, each log file read and each partition comes from exactly
//! one part; every part read all digests, so the digests' counts, the chains
//! and the digests' manifest entries are the same in each, and a chain's
//! timeline is taken from the part whose shard holds its place.

use crate::finding::{Finding, Severity};
use crate::layout::{Location, Service};
use crate::partition::PartitionReport;
use crate::report::{FailOn, Gate, Inputs, Report, Verdict};
use crate::shard::ShardUsed;
use std::path::{Path, PathBuf};

mod manifest;

/// Why parts could not be merged (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A part could not be read.
    #[error("cannot read part {}: {source}", path.display())]
    Read {
        /// The part.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A part is not a partial report of this version.
    #[error("{} is not a partial JSON report of this trailproof version (`verify --plan --shard --format json`): {what}", path.display())]
    NotPart {
        /// The part.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// The parts are not exactly one plan's shards, or disagree.
    #[error("{0}")]
    Mismatch(String),
}

/// A partial report as read: the report (its manifest is streamed when
/// the JSON report is written, never held).
struct Part {
    path: PathBuf,
    report: Report,
    shard: ShardUsed,
}

/// The merged report; the JSON report is written from it and the parts'
/// manifests, streamed ([`Merged::write_json`]).
pub struct Merged {
    /// The report, as a single run would have made it (without excerpts).
    pub report: Report,
    /// The parts, by shard.
    parts: Vec<PathBuf>,
}

impl Merged {
    /// Writes the JSON report as a single run writes it, reading the parts'
    /// manifests again entry by entry (memory does not grow with them).
    ///
    /// # Errors
    /// When writing fails, or a part changed or disagrees since it was read.
    pub fn write_json(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        manifest::write_json(&self.report, &self.parts, out)
    }
}

/// Reads the parts and merges them.
///
/// # Errors
/// [`MergeError`] naming the part that is unreadable, not a part, foreign
/// to the others' plan, given twice, or the shards that are missing.
pub fn merge(
    paths: &[PathBuf],
    fail_on: FailOn,
    run: crate::report::Run,
) -> Result<Merged, MergeError> {
    let parts = paths
        .iter()
        .map(|p| read_part(p))
        .collect::<Result<Vec<_>, _>>()?;
    let mut parts = check_parts(parts)?;
    parts.sort_by_key(|p| p.shard.shard);
    let Some(first) = parts.first() else {
        return Err(MergeError::Mismatch("no part given".to_owned()));
    };
    let report = merged_report(first, &parts, fail_on, run);
    Ok(Merged {
        report,
        parts: parts.into_iter().map(|p| p.path).collect(),
    })
}

fn read_part(path: &Path) -> Result<Part, MergeError> {
    let file = crate::evidence::open_regular(path).map_err(|source| MergeError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let not_part = |what: String| MergeError::NotPart {
        path: path.to_path_buf(),
        what: crate::text::escape_control(&what).into_owned(),
    };
    // The manifest is skipped here (never held), and read again as it is written.
    let report: Report = serde_json::from_reader(std::io::BufReader::new(file))
        .map_err(|e| not_part(e.to_string()))?;
    let shard = report
        .inputs
        .shard
        .clone()
        .ok_or_else(|| not_part("it has no inputs.shard: a whole run's report".to_owned()))?;
    let mut report = report;
    // A part's word on severity is not taken: each code has one.
    for finding in &mut report.findings {
        finding.severity = finding.code.severity();
    }
    Ok(Part {
        path: path.to_path_buf(),
        report,
        shard,
    })
}

/// The parts, once they are shown to be exactly one plan's shards, of the
/// same run (mirrors, keys, times, checkpoints).
fn check_parts(parts: Vec<Part>) -> Result<Vec<Part>, MergeError> {
    let Some(first) = parts.first() else {
        return Err(MergeError::Mismatch("no part given".to_owned()));
    };
    let (plan, shards) = (first.shard.plan_sha256.clone(), first.shard.shards);
    let same_run = |p: &Part| -> serde_json::Value {
        let mut inputs = p.report.inputs.clone();
        inputs.shard = None;
        // Nodes that each collected their shard (`collect --plan --shard`)
        // have records of their own.
        inputs.collections.clear();
        inputs.collected_at = None;
        serde_json::to_value(&inputs).unwrap_or_default()
    };
    let expected = same_run(first);
    if !(1..=crate::shard::MAX_SHARDS).contains(&shards) {
        return Err(MergeError::Mismatch(format!(
            "{} claims a plan of {shards} shards (a plan has 1 to {})",
            first.path.display(),
            crate::shard::MAX_SHARDS
        )));
    }
    let mut seen = vec![None::<&Path>; shards];
    for part in &parts {
        let name = part.path.display();
        if part.shard.plan_sha256 != plan || part.shard.shards != shards {
            return Err(MergeError::Mismatch(format!(
                "{name} is shard {} of plan {} ({} shards), not of plan {plan} ({shards} shards) like {}",
                part.shard.shard,
                part.shard.plan_sha256,
                part.shard.shards,
                first.path.display()
            )));
        }
        match seen.get_mut(part.shard.shard) {
            Some(Some(other)) => {
                return Err(MergeError::Mismatch(format!(
                    "{name} and {} are both shard {}",
                    other.display(),
                    part.shard.shard
                )));
            }
            Some(slot) => *slot = Some(&part.path),
            None => {
                return Err(MergeError::Mismatch(format!(
                    "{name} is shard {} of a plan of {shards} shards",
                    part.shard.shard
                )));
            }
        }
        if same_run(part) != expected {
            return Err(MergeError::Mismatch(format!(
                "{name} verified other inputs than {} (mirrors, key files, time range or checkpoints differ): every shard must run the same command but for its index",
                first.path.display()
            )));
        }
    }
    let missing: Vec<String> = seen
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_none())
        .map(|(i, _)| i.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(MergeError::Mismatch(format!(
            "shards {} of plan {plan} are missing: give every part, 0 to {}",
            missing.join(", "),
            shards - 1
        )));
    }
    Ok(parts)
}

/// The report a single run would have made, from the parts (sorted by shard).
fn merged_report(first: &Part, parts: &[Part], fail_on: FailOn, run: crate::report::Run) -> Report {
    let base = &first.report;
    let mut findings: Vec<Finding> = parts
        .iter()
        .flat_map(|p| p.report.findings.iter().cloned())
        .collect();
    findings.sort_by(|a, b| (&a.object, a.code, &a.message).cmp(&(&b.object, b.code, &b.message)));
    findings.dedup();
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = findings.len() - errors;
    let verdict = Verdict::of(&findings);
    let mut summary = crate::report::Summary::default();
    for part in parts {
        add_summary(&mut summary, &part.report.summary);
    }
    summary.findings.errors = errors;
    summary.findings.warnings = warnings;
    let chains = merged_chains(parts);
    let mut inputs: Inputs = base.inputs.clone();
    inputs.shard = None;
    for part in parts {
        for used in &part.report.inputs.collections {
            if !inputs.collections.contains(used) {
                inputs.collections.push(used.clone());
            }
        }
    }
    inputs.collected_at = parts
        .iter()
        .filter_map(|p| p.report.inputs.collected_at)
        .min();
    inputs.shards = parts.iter().map(|p| p.shard.clone()).collect();
    Report {
        schema_version: base.schema_version,
        tool: base.tool.clone(),
        generated_at: parts
            .iter()
            .map(|p| p.report.generated_at)
            .min()
            .unwrap_or(base.generated_at),
        run,
        verdict,
        gate: Gate::new(verdict, warnings, fail_on),
        inputs,
        summary,
        chains,
        partitions: merged_partitions(parts),
        findings,
        heads: Vec::new(),
        json_sha256: None,
    }
}

/// Every part's chains in a single run's order. A chain is in the part of
/// each shard that reads one of its digests (a digest moved into another
/// shard's place is that shard's; a shard holding days of a place reads
/// all its digests): its fields are taken from the shard owning its place,
/// its counts added up over the parts, its timelines laid over each other.
fn merged_chains(parts: &[Part]) -> Vec<crate::report::ChainReport> {
    let mut all: Vec<(&crate::report::ChainReport, bool)> = parts
        .iter()
        .flat_map(|p| {
            p.report
                .chains
                .iter()
                .map(move |c| (c, p.shard.owns_place(&c.account, &c.region)))
        })
        .collect();
    // By key, the owner's first.
    all.sort_by(|a, b| chain_order(a.0).cmp(&chain_order(b.0)).then(b.1.cmp(&a.1)));
    let mut chains: Vec<crate::report::ChainReport> = Vec::new();
    for (chain, _) in all {
        match chains.last_mut() {
            Some(last) if last.id == chain.id => {
                last.digests.add(&chain.digests);
                last.logs.add(&chain.logs);
                // Each part marks what it found (a log file tampered in
                // its days, a digest it judges); where they overlap the
                // worst status wins, as in a single run's timeline.
                let mut marks = std::mem::take(&mut last.timeline);
                marks.extend_from_slice(&chain.timeline);
                last.timeline = crate::report::timeline::build(&marks);
                last.gaps = last
                    .timeline
                    .iter()
                    .filter(|s| s.status == crate::report::timeline::CoverageStatus::NotCovered)
                    .count();
            }
            _ => chains.push(chain.clone()),
        }
    }
    chains
}

/// The order of a single run's chains (by their key).
fn chain_order(
    c: &crate::report::ChainReport,
) -> (Option<String>, String, String, String, String, bool) {
    (
        c.organization.clone(),
        c.account.clone(),
        c.region.clone(),
        c.trail.clone(),
        c.home_region.clone(),
        c.kind == crate::report::ChainKind::Backfill,
    )
}

fn add_summary(to: &mut crate::report::Summary, from: &crate::report::Summary) {
    to.digests.add(&from.digests);
    to.logs.add(&from.logs);
    to.outside_chains.digests.add(&from.outside_chains.digests);
    to.outside_chains.logs.add(&from.outside_chains.logs);
}

/// What orders a partition as a single run checks them: its place, then its
/// day; the misplaced-keys partition last.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Order {
    Day(Location, Option<jiff::civil::Date>),
    Misc,
}

pub(crate) fn order_of(p: &PartitionReport) -> Order {
    let (Some(account), Some(region)) = (&p.account, &p.region) else {
        return Order::Misc;
    };
    let Some((bucket, key)) = p.id.strip_prefix("s3://").and_then(|r| r.split_once('/')) else {
        return Order::Misc;
    };
    let mut location = Location {
        bucket: bucket.to_owned(),
        prefix: String::new(),
        organization: p.organization.clone(),
        account: account.clone(),
        region: region.clone(),
    };
    let tail = location.folder(Service::Logs);
    let day = p
        .date
        .map(|d| format!("{:04}/{:02}/{:02}/", d.year(), d.month(), d.day()));
    let suffix = format!("{tail}{}", day.unwrap_or_default());
    location.prefix = key.strip_suffix(&suffix).unwrap_or_default().to_owned();
    Order::Day(location, p.date)
}

/// Every part's partitions in a single run's order; the misplaced-keys
/// partition, run by every shard for the keys in its scope, added up.
fn merged_partitions(parts: &[Part]) -> Vec<PartitionReport> {
    let mut days: Vec<(Order, PartitionReport)> = Vec::new();
    let mut misc: Option<PartitionReport> = None;
    for p in parts.iter().flat_map(|p| &p.report.partitions) {
        match order_of(p) {
            Order::Misc => match &mut misc {
                Some(m) => {
                    m.log_files_listed += p.log_files_listed;
                    m.log_files_valid += p.log_files_valid;
                    m.log_files_read += p.log_files_read;
                }
                None => misc = Some(p.clone()),
            },
            order => days.push((order, p.clone())),
        }
    }
    days.sort_by(|a, b| a.0.cmp(&b.0));
    days.into_iter().map(|(_, p)| p).chain(misc).collect()
}
