//! Coverage timeline of a chain: which stretches of time its digests prove,
//! and which are tampered, missing, unsigned or not covered at all.
//!
//! Each piece of evidence marks an interval with a status; where intervals
//! overlap the worst status wins, and time between covered intervals inside
//! the chain's span is "not covered" (a gap in logging or validation).

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// What is known about a stretch of a chain's time. Ordered from best to
/// worst: where evidence overlaps, the worst status is shown.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum CoverageStatus {
    /// Covered by an authentic digest whose log files all verified.
    Verified,
    /// No digest covers it (the chain restarted after a gap).
    NotCovered,
    /// Covered only by digests whose signature could not be checked.
    Unsigned,
    /// A digest for this time is missing.
    Missing,
    /// A digest or log file for this time is altered, misplaced or injected.
    Tampered,
}

impl CoverageStatus {
    /// Every status, best first.
    pub const ALL: [CoverageStatus; 5] = [
        CoverageStatus::Verified,
        CoverageStatus::NotCovered,
        CoverageStatus::Unsigned,
        CoverageStatus::Missing,
        CoverageStatus::Tampered,
    ];

    /// The JSON spelling, e.g. `not_covered`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            CoverageStatus::Verified => "verified",
            CoverageStatus::NotCovered => "not_covered",
            CoverageStatus::Unsigned => "unsigned",
            CoverageStatus::Missing => "missing",
            CoverageStatus::Tampered => "tampered",
        }
    }

    /// A short label for legends.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            CoverageStatus::Verified => "verified",
            CoverageStatus::NotCovered => "not covered (gap)",
            CoverageStatus::Unsigned => "unsigned",
            CoverageStatus::Missing => "digest missing",
            CoverageStatus::Tampered => "tampered",
        }
    }
}

/// A stretch of time with one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Segment {
    /// Inclusive start.
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub start: Timestamp,
    /// Exclusive end.
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub end: Timestamp,
    /// What is known about it.
    pub status: CoverageStatus,
}

/// Builds a chain's timeline from marked intervals (`start < end`); the
/// result is sorted, gap-free from the first start to the last end, and
/// merges neighbours of equal status.
#[must_use]
pub fn build(marks: &[Segment]) -> Vec<Segment> {
    // Sweep over interval boundaries, counting open intervals per status.
    let mut events: Vec<(Timestamp, i32, CoverageStatus)> = marks
        .iter()
        .filter(|m| m.start < m.end)
        .flat_map(|m| [(m.start, 1, m.status), (m.end, -1, m.status)])
        .collect();
    events.sort_by_key(|e| e.0);
    let mut open = [0i32; CoverageStatus::ALL.len()];
    let mut timeline: Vec<Segment> = Vec::new();
    let mut index = 0;
    while let Some(&(at, _, _)) = events.get(index) {
        while let Some(&(t, delta, status)) = events.get(index)
            && t == at
        {
            if let Some(count) = open.get_mut(status as usize) {
                *count += delta;
            }
            index += 1;
        }
        let Some(&(next, _, _)) = events.get(index) else {
            break;
        };
        let status = CoverageStatus::ALL
            .iter()
            .rev()
            .find(|s| open.get(**s as usize).is_some_and(|n| *n > 0))
            .copied()
            .unwrap_or(CoverageStatus::NotCovered);
        match timeline.last_mut() {
            Some(last) if last.status == status && last.end == at => last.end = next,
            _ => timeline.push(Segment {
                start: at,
                end: next,
                status,
            }),
        }
    }
    timeline
}

/// The hour-long interval starting at the hour `at` falls in.
#[must_use]
pub fn hour_of(at: Timestamp) -> (Timestamp, Timestamp) {
    let seconds = at.as_second();
    let start = Timestamp::from_second(seconds - seconds.rem_euclid(3600)).unwrap_or(at);
    let end = start
        .checked_add(SignedDuration::from_hours(1))
        .unwrap_or(start);
    (start, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: i64) -> Timestamp {
        Timestamp::from_second(1_772_323_200 + h * 3600).unwrap()
    }

    fn seg(a: i64, b: i64, status: CoverageStatus) -> Segment {
        Segment {
            start: t(a),
            end: t(b),
            status,
        }
    }

    #[test]
    fn worst_status_wins_gaps_are_not_covered_and_neighbours_merge() {
        use CoverageStatus::*;
        let marks = [
            seg(0, 1, Verified),
            seg(1, 2, Verified),
            seg(2, 3, Verified),
            seg(2, 3, Tampered),
            seg(3, 4, Unsigned),
            seg(6, 7, Verified),
            seg(7, 8, Missing),
        ];
        assert_eq!(
            build(&marks),
            vec![
                seg(0, 2, Verified),
                seg(2, 3, Tampered),
                seg(3, 4, Unsigned),
                seg(4, 6, NotCovered),
                seg(6, 7, Verified),
                seg(7, 8, Missing),
            ]
        );
        assert!(build(&[]).is_empty());
    }

    #[test]
    fn hours() {
        let at = t(5).checked_add(SignedDuration::from_mins(17)).unwrap();
        assert_eq!(hour_of(at), (t(5), t(6)));
    }
}
