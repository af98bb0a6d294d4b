//! What to generate: one CloudTrail trail's delivery history.

use jiff::{SignedDuration, Timestamp};

use crate::KeyId;

/// Where a generated mirror keeps each digest's S3 user metadata (`signature`,
/// `signature-algorithm`, and for backfill digests `backfill-generation-timestamp`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignatureStore {
    /// A `<digest file>.metadata.json` sidecar holding exactly what `aws s3api head-object`
    /// prints for the digest object (`Metadata` carries the signature).
    Sidecar,
    /// Extended attributes `user.signature`, `user.signature-algorithm` (and
    /// `user.backfill-generation-timestamp`) on the digest file, as `rclone --metadata` writes them.
    Xattr,
    /// No metadata at all (plain `aws s3 sync`): a digest's signature survives only as the next
    /// digest's `previousDigestSignature`.
    None,
}

/// One trail's delivery history: which accounts/regions deliver, for how many hours, with which
/// oddities (empty hours, validation gaps, backfill digests, key rotation, bucket change).
///
/// Hour `k` (0-based) is the delivery window `[start + k h, start + (k+1) h]`; its digest's
/// `digestEndTime` and key-name timestamp are `start + (k+1) h`.
#[derive(Clone, Debug)]
pub struct TrailSpec {
    /// Bucket the trail delivers to (for hours before `bucket_change_at_hour`).
    pub bucket: String,
    /// Optional S3 key prefix without slashes at the ends: `"audit/prod"` gives keys
    /// `audit/prod/AWSLogs/...`.
    pub prefix: Option<String>,
    /// Organization trail id: `Some("o-a1b2c3d4e5")` gives keys `AWSLogs/o-a1b2c3d4e5/<account>/...`.
    pub organization_id: Option<String>,
    /// Accounts that deliver (member accounts for an organization trail).
    pub accounts: Vec<String>,
    /// Delivering regions; one digest chain per account x region.
    pub regions: Vec<String>,
    /// The trail's home region (appears in digest key names).
    pub home_region: String,
    /// Trail name (may contain `_`, `-`, `.`).
    pub trail_name: String,
    /// `digestStartTime` of each chain's first digest.
    pub start: Timestamp,
    /// Number of hourly windows per chain.
    pub hours: u32,
    /// Inclusive range of regular log files delivered per chain per hour.
    pub logs_per_hour: (u32, u32),
    /// Inclusive range of records per log file.
    pub records_per_log: (u32, u32),
    /// Hours that deliver no log file: their digest has `"logFiles": []` and null event times.
    pub empty_hours: Vec<u32>,
    /// `(first hour, count)`: log file validation is off for these hours. No digest is written,
    /// log files are still delivered, and the next digest starts a new chain (all five
    /// `previousDigest*` fields null).
    pub gaps: Vec<(u32, u32)>,
    /// Signing keys in rotation order: key `i` signs hours `[i*r, (i+1)*r)`, the last key signs the
    /// rest (`r = rotate_every_hours`; `0` means the first key signs everything).
    pub keys: Vec<KeyId>,
    /// Rotation period in hours.
    pub rotate_every_hours: u32,
    /// Where digest signatures are kept in the mirror.
    pub signature_store: SignatureStore,
    /// For each listed hour: one extra late log file delivered in that hour that the regular digest
    /// does not list, plus a `_backfill` digest (same window and key timestamp, all
    /// `previousDigest*` null) that lists it.
    pub backfill_hours: Vec<u32>,
    /// `(hour, event)`: the trail's own lifecycle API calls (`StopLogging`, …), recorded as the
    /// last record of the last log file of that hour in the home region (of every account).
    pub trail_events: Vec<(u32, TrailEvent)>,
    /// `Some((h, new_bucket))`: from hour `h` on, the trail delivers to `new_bucket` (written under
    /// `<dir>/<new_bucket>`); the first digest there links to the last one in the old bucket.
    pub bucket_change_at_hour: Option<(u32, String)>,
    /// Per mille of log files that are "heavy": 10..40 x `records_per_log.1` records (benchmarks).
    pub heavy_logs_per_mille: u32,
    /// Publish the keys as X.509 SubjectPublicKeyInfo DER (as one AWS sample does), with
    /// fingerprints = MD5 of those bytes, which the digests then name.
    pub spki_keys: bool,
    /// Seed of every random choice; same spec + seed => byte-identical files.
    pub seed: u64,
}

impl TrailSpec {
    /// A small, clean default: bucket `acme-cloudtrail-logs`, no prefix, account `111122223333`,
    /// regions `us-east-1` and `eu-west-1` (home `us-east-1`), trail `management-events`, start
    /// `2026-03-01T00:17:28Z`, 6 hours, 1..3 logs/hour, 3..20 records/log, keys `[One, Two]`
    /// rotating every 4 hours, sidecar metadata.
    pub fn small(seed: u64) -> TrailSpec {
        TrailSpec {
            bucket: "acme-cloudtrail-logs".to_owned(),
            prefix: None,
            organization_id: None,
            accounts: vec!["111122223333".to_owned()],
            regions: vec!["us-east-1".to_owned(), "eu-west-1".to_owned()],
            home_region: "us-east-1".to_owned(),
            trail_name: "management-events".to_owned(),
            start: "2026-03-01T00:17:28Z".parse().expect("valid timestamp"),
            hours: 6,
            logs_per_hour: (1, 3),
            records_per_log: (3, 20),
            empty_hours: Vec::new(),
            gaps: Vec::new(),
            keys: vec![KeyId::One, KeyId::Two],
            rotate_every_hours: 4,
            signature_store: SignatureStore::Sidecar,
            backfill_hours: Vec::new(),
            trail_events: Vec::new(),
            bucket_change_at_hour: None,
            heavy_logs_per_mille: 0,
            spki_keys: false,
            seed,
        }
    }

    /// `arn:aws:cloudtrail:<home>:<first account>:trail/<name>` (what `validate-logs --trail-arn` takes).
    pub fn trail_arn(&self) -> String {
        format!(
            "arn:aws:cloudtrail:{}:{}:trail/{}",
            self.home_region,
            self.accounts
                .first()
                .map(String::as_str)
                .unwrap_or("111122223333"),
            self.trail_name
        )
    }

    /// Start of hour `hour`'s window (= `digestStartTime` of its digest).
    pub fn window_start(&self, hour: u32) -> Timestamp {
        self.start + SignedDuration::from_hours(i64::from(hour))
    }

    /// End of hour `hour`'s window (= `digestEndTime` and key timestamp of its digest).
    pub fn digest_end(&self, hour: u32) -> Timestamp {
        self.window_start(hour + 1)
    }

    /// The key that signs hour `hour` (see `keys` / `rotate_every_hours`).
    pub fn key_for_hour(&self, hour: u32) -> KeyId {
        let last = self
            .keys
            .len()
            .checked_sub(1)
            .expect("TrailSpec.keys is empty");
        let i = hour
            .checked_div(self.rotate_every_hours)
            .map_or(0, |n| (n as usize).min(last));
        self.keys[i]
    }

    /// The bucket hour `hour` is delivered to.
    pub fn bucket_for_hour(&self, hour: u32) -> &str {
        match &self.bucket_change_at_hour {
            Some((h, b)) if hour >= *h => b,
            _ => &self.bucket,
        }
    }

    /// Whether hour `hour` lies in one of `gaps` (no digest).
    pub fn in_gap(&self, hour: u32) -> bool {
        self.gaps
            .iter()
            .any(|&(first, count)| hour >= first && hour < first.saturating_add(count))
    }

    /// `P/AWSLogs/[O/]A/` for `account`.
    fn base(&self, account: &str) -> String {
        let mut s = String::new();
        if let Some(p) = &self.prefix {
            s.push_str(p);
            s.push('/');
        }
        s.push_str("AWSLogs/");
        if let Some(o) = &self.organization_id {
            s.push_str(o);
            s.push('/');
        }
        s.push_str(account);
        s.push('/');
        s
    }

    /// Log file key (SPEC §5):
    /// `P/AWSLogs/[O/]A/CloudTrail/R/YYYY/MM/DD/A_CloudTrail_R_YYYYMMDDTHHmmZ_<unique>.json.gz`.
    pub fn log_key(
        &self,
        account: &str,
        region: &str,
        delivered: Timestamp,
        unique16: &str,
    ) -> String {
        format!(
            "{}CloudTrail/{region}/{}/{account}_CloudTrail_{region}_{}_{unique16}.json.gz",
            self.base(account),
            delivered.strftime("%Y/%m/%d"),
            delivered.strftime("%Y%m%dT%H%MZ"),
        )
    }

    /// Digest key (SPEC §5):
    /// `P/AWSLogs/[O/]A/CloudTrail-Digest/R/YYYY/MM/DD/A_CloudTrail-Digest_R_<trail>_<home>_YYYYMMDDTHHMMSSZ[_backfill].json.gz`
    /// with date folders = `end`'s date.
    pub fn digest_key(
        &self,
        account: &str,
        region: &str,
        end: Timestamp,
        backfill: bool,
    ) -> String {
        format!(
            "{}CloudTrail-Digest/{region}/{}/{account}_CloudTrail-Digest_{region}_{}_{}_{}{}.json.gz",
            self.base(account),
            end.strftime("%Y/%m/%d"),
            self.trail_name,
            self.home_region,
            end.strftime("%Y%m%dT%H%M%SZ"),
            if backfill { "_backfill" } else { "" },
        )
    }

    /// Whether `key` is a digest key of this trail (any account/region/bucket).
    pub(crate) fn owns_digest_key(&self, key: &str) -> bool {
        let infix = format!("_{}_{}_", self.trail_name, self.home_region);
        self.accounts.iter().any(|a| key.starts_with(&self.base(a)))
            && key.contains("/CloudTrail-Digest/")
            && key.contains(&infix)
    }
}

/// A CloudTrail API call on the trail itself, as CloudTrail records it in the trail's logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrailEvent {
    /// `StopLogging`: no log files, no digests after it.
    StopLogging,
    /// `StopLogging` refused (`errorCode: AccessDenied`): logging goes on.
    StopLoggingDenied,
    /// `StartLogging`.
    StartLogging,
    /// `DeleteTrail`.
    DeleteTrail,
    /// `CreateTrail`.
    CreateTrail,
    /// `UpdateTrail` with `enableLogFileValidation: false`.
    ValidationOff,
    /// `UpdateTrail` with `enableLogFileValidation: true`.
    ValidationOn,
    /// `UpdateTrail` with `isMultiRegionTrail: false`: the other regions' chains end.
    SingleRegion,
}
