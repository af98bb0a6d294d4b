//! The report: plain data built once from a run, rendered by [`human`] and
//! [`json`]. Its JSON form (schema version 1) is the contract other tools
//! read; README documents it.

pub mod human;
pub mod json;

use crate::chain::Chain;
use crate::finding::{Finding, Severity};
use crate::keys::{KeyFileSummary, KeyRing};
use crate::loghash::{LogResults, LogStatus};
use crate::mirror::Inventory;
use crate::verify::{DigestRecord, Options};
use jiff::Timestamp;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Version of the JSON report's schema; bumped only with a documented reason.
pub const SCHEMA_VERSION: u32 = 1;

/// Overall outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// No error-severity finding.
    Pass,
    /// At least one error-severity finding.
    Fail,
}

/// The tool that wrote the report.
#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    /// `trailproof`.
    pub name: &'static str,
    /// Crate version.
    pub version: &'static str,
}

/// A mirror root and the location it was found to stand for.
#[derive(Debug, Clone, Serialize)]
pub struct MirrorInput {
    /// The directory as given.
    pub path: String,
    /// The bucket it mirrors (`null` when unknown).
    pub bucket: Option<String>,
    /// Its key prefix inside the bucket.
    pub prefix: String,
}

/// What the run was asked to do.
#[derive(Debug, Clone, Serialize)]
pub struct Inputs {
    /// Mirror roots.
    pub mirrors: Vec<MirrorInput>,
    /// Key files and how many keys each held.
    pub public_keys: Vec<KeyFileSummary>,
    /// `--start-time`.
    pub start_time: Option<Timestamp>,
    /// `--end-time`.
    pub end_time: Option<Timestamp>,
}

/// Digest counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DigestCounts {
    /// Digest files examined.
    pub total: usize,
    /// Authentic, with no error finding.
    pub valid: usize,
    /// With at least one error finding.
    pub invalid: usize,
    /// No error finding, but no signature verified (`digest.unsigned`).
    pub unverified: usize,
    /// Digests named by a link but absent.
    pub missing: usize,
}

/// Log file counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LogCounts {
    /// Distinct log files listed by the digests.
    pub listed: usize,
    /// Present and matching their hash.
    pub valid: usize,
    /// Missing, modified, malformed or at an unsafe path.
    pub invalid: usize,
    /// Listed only by unverified digests, so not checked.
    pub unverified: usize,
    /// In the mirror, inside covered time, listed by no digest.
    pub unreferenced: usize,
    /// In the mirror, outside every chain's covered time and listed by no digest.
    pub not_covered: usize,
    /// Uncompressed bytes hashed.
    pub uncompressed_bytes: u64,
}

/// Finding counts by severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FindingCounts {
    /// Error-severity findings.
    pub errors: usize,
    /// Warning-severity findings.
    pub warnings: usize,
}

/// Totals of the run.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Summary {
    /// Digest counts.
    pub digests: DigestCounts,
    /// Log counts.
    pub logs: LogCounts,
    /// Finding counts.
    pub findings: FindingCounts,
}

/// One chain's part of the report.
#[derive(Debug, Clone, Serialize)]
pub struct ChainReport {
    /// Stable identifier `[org/]account/region/trail@home[/backfill]`.
    pub id: String,
    /// Organization id, for organization trails.
    pub organization: Option<String>,
    /// Account.
    pub account: String,
    /// Delivering region.
    pub region: String,
    /// Trail name.
    pub trail: String,
    /// Home region.
    pub home_region: String,
    /// `standard` or `backfill`.
    pub kind: &'static str,
    /// Buckets its digests lie in.
    pub buckets: Vec<String>,
    /// Oldest digest.
    pub first_digest: Option<String>,
    /// Newest digest.
    pub last_digest: Option<String>,
    /// `digestStartTime` of the oldest parsed digest.
    pub start_time: Option<Timestamp>,
    /// `digestEndTime` of the newest parsed digest.
    pub end_time: Option<Timestamp>,
    /// Restarts (chain.gap findings).
    pub gaps: usize,
    /// Digest counts.
    pub digests: DigestCounts,
    /// Counts of the logs its digests list (and unreferenced logs in its time).
    pub logs: LogCounts,
}

/// Everything a run concluded.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The tool.
    pub tool: Tool,
    /// When the run started (the only field that differs between runs on the same mirror).
    pub generated_at: Timestamp,
    /// `pass` or `fail`.
    pub verdict: Verdict,
    /// What was verified.
    pub inputs: Inputs,
    /// Totals.
    pub summary: Summary,
    /// Per chain.
    pub chains: Vec<ChainReport>,
    /// Every finding, sorted by object, code and message.
    pub findings: Vec<Finding>,
}

impl Report {
    /// Assembles the report of a run.
    #[must_use]
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        options: &Options,
        started: Timestamp,
        inventory: &Inventory,
        keys: &KeyRing,
        records: &[DigestRecord],
        chains: &[Chain],
        logs: &LogResults,
        mut findings: Vec<Finding>,
    ) -> Report {
        findings
            .sort_by(|a, b| (&a.object, a.code, &a.message).cmp(&(&b.object, b.code, &b.message)));
        findings.dedup();
        let errors_by_object: BTreeSet<&str> = findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| f.object.as_str())
            .collect();
        let missing_by_chain: BTreeMap<Option<&str>, usize> = findings
            .iter()
            .filter(|f| f.code == crate::finding::FindingCode::DigestMissing)
            .fold(BTreeMap::new(), |mut m, f| {
                *m.entry(f.chain.as_deref()).or_default() += 1;
                m
            });

        let gaps_by_chain: BTreeMap<&str, usize> = findings
            .iter()
            .filter(|f| f.code == crate::finding::FindingCode::ChainGap)
            .filter_map(|f| f.chain.as_deref())
            .fold(BTreeMap::new(), |mut m, c| {
                *m.entry(c).or_default() += 1;
                m
            });
        let digest_counts = |members: &mut dyn Iterator<Item = &DigestRecord>| {
            let mut counts = DigestCounts::default();
            for r in members {
                counts.total += 1;
                if errors_by_object.contains(r.url().as_str()) {
                    counts.invalid += 1;
                } else if r.is_authentic() {
                    counts.valid += 1;
                } else {
                    counts.unverified += 1;
                }
            }
            counts
        };
        let membership = crate::chain::Membership::new(chains, records.len());
        let mut chain_logs: Vec<LogCounts> = vec![LogCounts::default(); chains.len()];
        let mut total_logs = LogCounts::default();
        for outcome in &logs.outcomes {
            let mut chains_of_log: Vec<usize> = outcome
                .listed_by
                .iter()
                .filter_map(|&r| membership.index(r as usize))
                .collect();
            chains_of_log.sort_unstable();
            chains_of_log.dedup();
            count_log(&mut total_logs, outcome);
            for c in chains_of_log {
                if let Some(counts) = chain_logs.get_mut(c) {
                    count_log(counts, outcome);
                }
            }
        }
        total_logs.unreferenced = logs.unreferenced.len();
        total_logs.not_covered = logs.not_covered;
        for (_, chain) in &logs.unreferenced {
            if let Some(counts) = chain.and_then(|c| chain_logs.get_mut(c)) {
                counts.unreferenced += 1;
            }
        }

        let chain_reports = chains
            .iter()
            .zip(chain_logs)
            .map(|(chain, logs)| {
                let members: Vec<&DigestRecord> = chain
                    .members
                    .iter()
                    .filter_map(|&m| records.get(m))
                    .collect();
                let id = chain.key.id();
                let mut digests = digest_counts(&mut members.iter().copied());
                digests.missing = missing_by_chain
                    .get(&Some(id.as_str()))
                    .copied()
                    .unwrap_or(0);
                let parsed = members.iter().filter_map(|r| r.parsed.as_ref().ok());
                let buckets: BTreeSet<String> = members.iter().map(|r| r.bucket.clone()).collect();
                ChainReport {
                    gaps: gaps_by_chain.get(id.as_str()).copied().unwrap_or(0),
                    organization: chain.key.organization.clone(),
                    account: chain.key.account.clone(),
                    region: chain.key.region.clone(),
                    trail: chain.key.trail.clone(),
                    home_region: chain.key.home_region.clone(),
                    kind: if chain.key.backfill {
                        "backfill"
                    } else {
                        "standard"
                    },
                    buckets: buckets.into_iter().collect(),
                    first_digest: members.first().map(|r| r.url()),
                    last_digest: members.last().map(|r| r.url()),
                    start_time: parsed.clone().map(|d| d.start_time).min(),
                    end_time: parsed.map(|d| d.end_time).max(),
                    digests,
                    logs,
                    id,
                }
            })
            .collect();

        let mut digests = digest_counts(&mut records.iter());
        digests.missing = missing_by_chain.values().sum();
        let finding_counts = FindingCounts {
            errors: findings
                .iter()
                .filter(|f| f.severity == Severity::Error)
                .count(),
            warnings: findings
                .iter()
                .filter(|f| f.severity == Severity::Warning)
                .count(),
        };
        Report {
            schema_version: SCHEMA_VERSION,
            tool: Tool {
                name: env!("CARGO_PKG_NAME"),
                version: env!("CARGO_PKG_VERSION"),
            },
            generated_at: started,
            verdict: if finding_counts.errors > 0 {
                Verdict::Fail
            } else {
                Verdict::Pass
            },
            inputs: Inputs {
                mirrors: inventory
                    .roots
                    .iter()
                    .map(|r| MirrorInput {
                        path: r.path.to_string_lossy().into_owned(),
                        bucket: r.bucket.clone(),
                        prefix: r.prefix.clone(),
                    })
                    .collect(),
                public_keys: keys.files().to_vec(),
                start_time: options.start_time,
                end_time: options.end_time,
            },
            summary: Summary {
                digests,
                logs: total_logs,
                findings: finding_counts,
            },
            chains: chain_reports,
            findings,
        }
    }

    /// The verdict (also the exit status: 0 pass, 1 fail).
    #[must_use]
    pub fn verdict(&self) -> Verdict {
        self.verdict
    }
}

/// Adds one listed log's outcome to `counts`.
fn count_log(counts: &mut LogCounts, outcome: &crate::loghash::LogOutcome) {
    counts.listed += 1;
    counts.uncompressed_bytes += outcome.uncompressed_bytes;
    match outcome.status {
        LogStatus::Valid => counts.valid += 1,
        LogStatus::Unverified => counts.unverified += 1,
        LogStatus::Unreferenced => {}
        LogStatus::Missing | LogStatus::Modified | LogStatus::Malformed | LogStatus::UnsafePath => {
            counts.invalid += 1;
        }
    }
}
