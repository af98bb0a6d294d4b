//! Which listed objects a collection takes, by key alone (nothing is
//! fetched to decide).

use crate::layout::{ObjectKey, Service, parse_layout};
use jiff::{SignedDuration, Timestamp};

/// What `collect` was asked to take.
#[derive(Debug, Clone, Default)]
pub struct KeyFilter {
    /// Digests ending at or after this; logs delivered up to an hour before.
    pub since: Option<Timestamp>,
    /// Digests ending up to an hour after this (as `verify --end-time`);
    /// logs delivered up to then.
    pub until: Option<Timestamp>,
    /// Account ids (empty: all).
    pub accounts: Vec<String>,
    /// Delivering regions (empty: all).
    pub regions: Vec<String>,
    /// Only the log files of this shard's places (`collect --plan
    /// --shard`); digests of every place are still taken, as the shard's
    /// run reads them all.
    pub shard: Option<crate::shard::ShardScope>,
}

/// What to do with one listed key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Take {
    /// A digest: fetch it and save its metadata; the region and end time
    /// say which public keys are needed.
    Digest {
        /// Delivering region.
        region: String,
        /// `digestEndTime` by its name.
        end: Timestamp,
    },
    /// A log file or other object of CloudTrail's folders: fetch it.
    Object,
    /// Outside the accounts, regions or time asked for.
    OutsideFilters,
    /// Not under `AWSLogs/`: not written by CloudTrail.
    NotCloudTrail,
    /// No file can be written at this key (`..`, empty segments…).
    Unsafe,
}

const HOUR: SignedDuration = SignedDuration::from_hours(1);

impl KeyFilter {
    /// Decides for `key`.
    #[must_use]
    pub fn take(&self, key: &str) -> Take {
        if !crate::layout::is_safe_key(key) || key.starts_with(crate::custody::COLLECTION_DIR) {
            return Take::Unsafe;
        }
        if !(key.starts_with("AWSLogs/") || key.contains("/AWSLogs/")) {
            return Take::NotCloudTrail;
        }
        match ObjectKey::parse(key) {
            ObjectKey::Digest(digest) => {
                let end = digest.name.time;
                if self.place(&digest.layout.account, &digest.layout.region)
                    && self.within(end, SignedDuration::ZERO, HOUR)
                {
                    Take::Digest {
                        region: digest.layout.region,
                        end,
                    }
                } else {
                    Take::OutsideFilters
                }
            }
            ObjectKey::Log(log) => {
                if self.place(&log.layout.account, &log.layout.region)
                    && self.log_place(key, &log.layout.account, &log.layout.region)
                    && self.within(log.delivered, HOUR, HOUR)
                {
                    Take::Object
                } else {
                    Take::OutsideFilters
                }
            }
            // Sidecars are written from the digest's own GET, never taken from the bucket.
            ObjectKey::Sidecar(_) => Take::OutsideFilters,
            ObjectKey::Other => self.other(key),
        }
    }

    /// Another object under `AWSLogs/`: taken when its account and region
    /// (if its key names them) are asked for.
    fn other(&self, key: &str) -> Take {
        let layout = [Service::Logs.folder(), Service::Digests.folder()]
            .into_iter()
            .find_map(|service| parse_layout(key, service));
        match layout {
            Some(l) if !self.place(&l.account, &l.region) => Take::OutsideFilters,
            _ => Take::Object,
        }
    }

    fn place(&self, account: &str, region: &str) -> bool {
        (self.accounts.is_empty() || self.accounts.iter().any(|a| a == account))
            && (self.regions.is_empty() || self.regions.iter().any(|r| r == region))
    }

    /// Whether the shard (if any) holds the log folder of `key`.
    fn log_place(&self, key: &str, account: &str, region: &str) -> bool {
        self.shard.as_ref().is_none_or(|shard| {
            crate::layout::folder_date(key).map_or_else(
                || shard.owns_place(account, region),
                |day| shard.has_day(account, region, day),
            )
        })
    }

    fn within(&self, t: Timestamp, before: SignedDuration, after: SignedDuration) -> bool {
        self.since.is_none_or(|s| t >= s - before) && self.until.is_none_or(|u| t <= u + after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "p/AWSLogs/111122223333/CloudTrail-Digest/eu-west-1/2026/03/01/111122223333_CloudTrail-Digest_eu-west-1_t_us-east-1_20260301T100000Z.json.gz";
    const LOG: &str = "AWSLogs/111122223333/CloudTrail/eu-west-1/2026/03/01/111122223333_CloudTrail_eu-west-1_20260301T0955Z_abc.json.gz";

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn digests_are_taken_in_range_plus_an_hour_and_logs_an_hour_either_side() {
        let f = KeyFilter {
            since: Some(at("2026-03-01T10:00:00Z")),
            until: Some(at("2026-03-01T09:00:00Z")),
            ..KeyFilter::default()
        };
        assert_eq!(
            f.take(DIGEST),
            Take::Digest {
                region: "eu-west-1".into(),
                end: at("2026-03-01T10:00:00Z")
            }
        );
        assert_eq!(f.take(LOG), Take::Object);
        let late = KeyFilter {
            since: Some(at("2026-03-01T10:55:01Z")),
            ..KeyFilter::default()
        };
        assert_eq!(late.take(LOG), Take::OutsideFilters);
        assert_eq!(late.take(DIGEST), Take::OutsideFilters);
        let early = KeyFilter {
            until: Some(at("2026-03-01T08:55:00Z")),
            ..KeyFilter::default()
        };
        assert_eq!(early.take(LOG), Take::Object);
        let earlier = KeyFilter {
            until: Some(at("2026-03-01T08:54:59Z")),
            ..KeyFilter::default()
        };
        assert_eq!(earlier.take(LOG), Take::OutsideFilters);
        assert_eq!(earlier.take(DIGEST), Take::OutsideFilters);
    }

    #[test]
    fn accounts_and_regions_filter_every_kind() {
        let f = KeyFilter {
            accounts: vec!["111122223333".into()],
            regions: vec!["us-east-1".into()],
            ..KeyFilter::default()
        };
        assert_eq!(f.take(LOG), Take::OutsideFilters);
        assert_eq!(f.take(DIGEST), Take::OutsideFilters);
        let f = KeyFilter {
            accounts: vec!["999988887777".into()],
            ..KeyFilter::default()
        };
        assert_eq!(f.take(LOG), Take::OutsideFilters);
        assert_eq!(
            f.take("AWSLogs/999988887777/CloudTrail-Insight/x.json.gz"),
            Take::Object
        );
    }

    #[test]
    fn a_shard_takes_its_places_logs_and_every_digest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        let mut sizes = crate::shard::Sizes::default();
        sizes.add(Some("b"), LOG, 10);
        sizes.add(Some("b"), &LOG.replace("eu-west-1", "us-east-1"), 5);
        let plan = crate::shard::Plan::make(sizes, 2);
        std::fs::write(&path, serde_json::to_vec(&plan).unwrap()).unwrap();
        let (plan, sha) = crate::shard::Plan::load(&path).unwrap();
        // Shard 0 holds eu-west-1 (the larger), shard 1 us-east-1.
        let shard = |k| KeyFilter {
            shard: Some(plan.scope(k, &sha).unwrap()),
            ..KeyFilter::default()
        };
        assert_eq!(shard(0).take(LOG), Take::Object);
        assert_eq!(shard(1).take(LOG), Take::OutsideFilters);
        for k in [0, 1] {
            assert!(matches!(shard(k).take(DIGEST), Take::Digest { .. }));
        }
        // One place over two days, two shards: a window of one day each.
        let next_day = LOG
            .replace("/03/01/", "/03/02/")
            .replace("20260301T", "20260302T");
        let mut sizes = crate::shard::Sizes::default();
        sizes.add(Some("b"), LOG, 10);
        sizes.add(Some("b"), &next_day, 10);
        let plan = crate::shard::Plan::make(sizes, 2);
        std::fs::write(&path, serde_json::to_vec(&plan).unwrap()).unwrap();
        let (plan, sha) = crate::shard::Plan::load(&path).unwrap();
        let takes = |key: &str| -> Vec<bool> {
            (0..2)
                .map(|k| {
                    let f = KeyFilter {
                        shard: Some(plan.scope(k, &sha).unwrap()),
                        ..KeyFilter::default()
                    };
                    f.take(key) == Take::Object
                })
                .collect()
        };
        let (first, second) = (takes(LOG), takes(&next_day));
        assert_eq!(first.iter().filter(|t| **t).count(), 1, "{first:?}");
        assert_eq!(second.iter().filter(|t| **t).count(), 1, "{second:?}");
        assert_ne!(first, second);
    }

    #[test]
    fn other_objects_sidecars_and_unsafe_keys() {
        let f = KeyFilter::default();
        assert_eq!(f.take("index.html"), Take::NotCloudTrail);
        assert_eq!(
            f.take(&format!("{DIGEST}.metadata.json")),
            Take::OutsideFilters
        );
        assert_eq!(f.take("AWSLogs/../x"), Take::Unsafe);
        assert_eq!(f.take(".trailproof-collection/record.json"), Take::Unsafe);
        assert_eq!(f.take("AWSLogs/1/CloudTrail/x"), Take::Object);
    }
}
