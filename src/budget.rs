//! The memory budget for digest listings: what bounds a run's memory
//! whatever the mirror holds.
//!
//! The listings of the digests (every log file they name, with its hash)
//! are what a run holds in memory until the log files are checked. A mirror
//! can hold any number of digests, each up to `--max-digest-mib` of
//! listings, fakes included, so the listings kept are bounded by a budget:
//! a digest whose listing does not fit is still read, authenticated and
//! linked, but the log files it lists are not examined
//! (`digest.not_examined`, which leaves the run incomplete).

use std::sync::atomic::{AtomicU64, Ordering};

/// Default budget for digest listings: 2 GiB.
pub const DEFAULT_MEMORY_BUDGET: u64 = 2 << 30;

/// Bytes a run holds per listed log file beyond its key, measured: the
/// listing entry, its place in the index of listings, its outcome, its
/// manifest entry and, for a digest that cannot be verified, its
/// `log.unverified` finding.
pub(crate) const PER_LOG_FILE: u64 = 600;

/// A shared allowance for listings, taken from by parallel readers.
#[derive(Debug)]
pub struct ListingBudget {
    limit: u64,
    used: AtomicU64,
}

impl ListingBudget {
    /// A budget of `limit` bytes.
    #[must_use]
    pub fn new(limit: u64) -> Self {
        ListingBudget {
            limit,
            used: AtomicU64::new(0),
        }
    }

    /// Takes `cost` from the budget if it fits; whether it did.
    pub fn admit(&self, cost: u64) -> bool {
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                let total = used.checked_add(cost)?;
                (total <= self.limit).then_some(total)
            })
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_until_full_and_never_past() {
        let budget = ListingBudget::new(100);
        assert!(budget.admit(60));
        assert!(!budget.admit(41));
        assert!(budget.admit(40));
        assert!(!budget.admit(1));
        assert!(budget.admit(0));
        assert!(!ListingBudget::new(10).admit(u64::MAX));
    }
}
