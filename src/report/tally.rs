//! Counts per chain and in total, from the same data, so that the totals
//! are always the sum of their parts: every digest and every log file is
//! counted once, in one chain or outside every chain.

use super::{DigestCounts, LogCounts};
use crate::chain::{Chain, Membership};
use crate::finding::{Finding, FindingCode, Severity};
use crate::loghash::{LogOutcome, LogResults, LogStatus};
use crate::record::DigestRecord;
use std::collections::{BTreeMap, BTreeSet};

/// Digest and log counts of one chain (or of what belongs to none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub digests: DigestCounts,
    pub logs: LogCounts,
}

impl Counts {
    fn add(&mut self, other: &Counts) {
        self.digests.add(&other.digests);
        self.logs.add(&other.logs);
    }
}

/// Every count of a run.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tally {
    /// One per chain, in the order of the chains.
    pub chains: Vec<Counts>,
    /// Digests and log files that belong to no chain.
    pub outside: Counts,
    /// The sum of all the above.
    pub total: Counts,
}

/// The log files' part of the counts, added partition by partition while the run
/// goes (every listed log file is counted once, in one chain), and what the
/// timelines need to know of them.
#[derive(Debug, Clone, Default)]
pub struct LogTally {
    /// Per chain, in the order of the chains.
    pub chains: Vec<LogCounts>,
    /// Log files that belong to no chain.
    pub outside: LogCounts,
    /// Digest records that list a log file that is missing, moved,
    /// modified, malformed or at an unsafe path.
    pub bad_listers: BTreeSet<usize>,
    /// Unreferenced log files (`log.unreferenced`).
    pub unreferenced: Vec<crate::loghash::Unreferenced>,
    /// Log files in time no digest covers (`log.not_covered`).
    pub not_covered: Vec<crate::loghash::Unreferenced>,
}

impl LogTally {
    /// An empty tally for `chains` chains.
    #[must_use]
    pub fn new(chains: usize) -> Self {
        LogTally {
            chains: vec![LogCounts::default(); chains],
            ..LogTally::default()
        }
    }

    /// Counts one partition's results.
    pub fn add(
        &mut self,
        logs: &mut LogResults,
        records: &[DigestRecord],
        membership: &Membership<'_>,
    ) {
        for outcome in &logs.outcomes {
            let chain = log_chain(outcome, records, membership);
            count_log(self.slot(chain), outcome);
            if matches!(
                outcome.status,
                LogStatus::Missing
                    | LogStatus::Moved
                    | LogStatus::Modified
                    | LogStatus::Malformed
                    | LogStatus::UnsafePath
            ) {
                self.bad_listers
                    .extend(outcome.listed_by.iter().map(|&r| r as usize));
            }
        }
        for unreferenced in &logs.unreferenced {
            self.slot(unreferenced.chain).unreferenced += 1;
        }
        for not_covered in &logs.not_covered {
            self.slot(not_covered.chain).not_covered += 1;
        }
        self.unreferenced.append(&mut logs.unreferenced);
        self.not_covered.append(&mut logs.not_covered);
    }

    fn slot(&mut self, chain: Option<usize>) -> &mut LogCounts {
        match chain.and_then(|c| self.chains.get_mut(c)) {
            Some(counts) => counts,
            None => &mut self.outside,
        }
    }
}

/// Counts every in-range digest (members and moved digests of each chain,
/// and those of no chain) and every missing digest, with the log files'
/// counts the partitions added.
pub(crate) fn tally(
    records: &[DigestRecord],
    chains: &[Chain],
    logs: &LogTally,
    findings: &[Finding],
) -> Tally {
    let membership = Membership::new(chains, records.len());
    let mut tally = Tally {
        chains: logs
            .chains
            .iter()
            .map(|&logs| Counts {
                digests: DigestCounts::default(),
                logs,
            })
            .collect(),
        outside: Counts {
            digests: DigestCounts::default(),
            logs: logs.outside,
        },
        ..Tally::default()
    };
    tally.chains.resize(chains.len(), Counts::default());
    let errors: BTreeSet<&str> = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.object.as_str())
        .collect();
    let chain_index: BTreeMap<String, usize> = chains
        .iter()
        .enumerate()
        .map(|(i, c)| (c.key.id(), i))
        .collect();
    for (index, record) in records.iter().enumerate().filter(|(_, r)| r.reported) {
        let counts = slot(&mut tally, membership.index(index));
        counts.digests.total += 1;
        if errors.contains(record.url().as_str()) {
            counts.digests.invalid += 1;
        } else if record.is_authentic() {
            counts.digests.valid += 1;
        } else {
            counts.digests.unverified += 1;
        }
    }
    for finding in findings
        .iter()
        .filter(|f| f.code == FindingCode::DigestMissing)
    {
        let chain = finding
            .chain
            .as_deref()
            .and_then(|c| chain_index.get(c))
            .copied();
        slot(&mut tally, chain).digests.missing += 1;
    }
    let mut total = tally.outside;
    for counts in &tally.chains {
        total.add(counts);
    }
    tally.total = total;
    tally
}

fn slot(tally: &mut Tally, chain: Option<usize>) -> &mut Counts {
    match chain.and_then(|c| tally.chains.get_mut(c)) {
        Some(counts) => counts,
        None => &mut tally.outside,
    }
}

/// The one chain a listed log file counts in: that of the first authentic
/// digest listing it, else of the first digest listing it.
fn log_chain(
    outcome: &LogOutcome,
    records: &[DigestRecord],
    membership: &Membership<'_>,
) -> Option<usize> {
    let listers = || outcome.listed_by.iter().map(|&r| r as usize);
    listers()
        .find(|&r| records.get(r).is_some_and(DigestRecord::is_authentic))
        .or_else(|| listers().next())
        .and_then(|r| membership.index(r))
}

/// Adds one listed log's outcome to `counts`. `listed` is always `valid +
/// invalid + unverified + unreadable + trusted`: a log listed only by digests that
/// cannot be trusted and lying in time authentic digests cover is counted
/// as `unreferenced` instead.
fn count_log(counts: &mut LogCounts, outcome: &LogOutcome) {
    counts.uncompressed_bytes += outcome.uncompressed_bytes;
    let bucket = match outcome.status {
        LogStatus::Valid => &mut counts.valid,
        LogStatus::Unverified => &mut counts.unverified,
        LogStatus::Unreadable => &mut counts.unreadable,
        LogStatus::Trusted => &mut counts.trusted,
        LogStatus::Unreferenced => return,
        LogStatus::Missing
        | LogStatus::Moved
        | LogStatus::Modified
        | LogStatus::Malformed
        | LogStatus::UnsafePath => &mut counts.invalid,
    };
    *bucket += 1;
    counts.listed += 1;
}

#[cfg(test)]
mod tests {
    use super::super::{FailOn, Gate, Verdict};

    /// The one place that decides the exit status.
    #[test]
    fn gate_decides_the_exit_status() {
        let cases = [
            (Verdict::Pass, 0, FailOn::Error, 0),
            (Verdict::Pass, 3, FailOn::Error, 0),
            (Verdict::Pass, 3, FailOn::Warning, 1),
            (Verdict::Pass, 0, FailOn::Warning, 0),
            (Verdict::Fail, 0, FailOn::Error, 1),
            (Verdict::Fail, 0, FailOn::Warning, 1),
            (Verdict::Fail, 0, FailOn::Never, 0),
            (Verdict::Incomplete, 0, FailOn::Never, 2),
            (Verdict::Incomplete, 1, FailOn::Error, 2),
        ];
        for (verdict, warnings, fail_on, status) in cases {
            assert_eq!(
                Gate::new(verdict, warnings, fail_on).exit_status,
                status,
                "{verdict:?} {warnings} {fail_on:?}"
            );
        }
    }
}
