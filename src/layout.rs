//! Every S3 key CloudTrail writes (SPEC §5), parsed and formatted in one
//! place: `[P/]AWSLogs/[O/]A/CloudTrail[-Digest]/R/YYYY/MM/DD/<file>`.
//!
//! Keys are parsed from their end, so any key prefix (and organization
//! folder) is allowed; trail names may contain `_`, so digest names are
//! split from the end too.

use jiff::Timestamp;

/// Which kind of CloudTrail object a file is, from its key alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A `*.json.gz` file under a `CloudTrail-Digest/` folder.
    Digest,
    /// A CloudTrail log file (`A_CloudTrail_R_YYYYMMDDTHHmmZ_X.json.gz` under `CloudTrail/`).
    Log,
    /// Anything else: sidecars, Insights files, unrelated objects.
    Other,
    /// Not a regular file (symbolic link, FIFO, socket, device): never opened.
    NotRegular,
}

/// What the S3 key of a file says about it (SPEC §5), parsed from the end of the key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyLayout {
    /// Key part before `AWSLogs/` (empty, or ending with `/`).
    pub prefix: String,
    /// Organization id (`o-…`) of an organization trail.
    pub organization: Option<String>,
    /// Account id folder.
    pub account: String,
    /// Region folder (the delivering region).
    pub region: String,
    /// The file name.
    pub file_name: String,
}

/// The parts of a digest file name
/// `A_CloudTrail-Digest_R_<trail>_<home>_YYYYMMDDTHHMMSSZ[_backfill].json.gz`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DigestName {
    /// Trail name (may contain `_`).
    pub trail: String,
    /// The trail's home region.
    pub home_region: String,
    /// The timestamp in the name (the digest's end time).
    pub time: Timestamp,
    /// Whether this is a `_backfill` digest.
    pub backfill: bool,
}

pub(crate) fn classify(rel: &str) -> FileKind {
    let mut parts = rel.rsplit('/');
    let name = parts.next().unwrap_or_default();
    if !name.ends_with(".json.gz") {
        return FileKind::Other;
    }
    // Folders from the end: DD, MM, YYYY, region, CloudTrail[-Digest].
    let mut fifth_is_cloudtrail = false;
    for (depth, folder) in parts.enumerate() {
        if folder == "CloudTrail-Digest" {
            return FileKind::Digest;
        }
        fifth_is_cloudtrail |= depth == 4 && folder == "CloudTrail";
    }
    if fifth_is_cloudtrail && parse_log_time(name).is_some() {
        return FileKind::Log;
    }
    FileKind::Other
}

/// The day of the folder a key lies in (`…/YYYY/MM/DD/<file>`), when
/// those are the key's last folders and a valid date.
#[must_use]
pub fn folder_date(key: &str) -> Option<jiff::civil::Date> {
    let mut parts = key.rsplit('/').skip(1);
    let (day, month, year) = (parts.next()?, parts.next()?, parts.next()?);
    let digits = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_digit());
    if !(digits(year, 4) && digits(month, 2) && digits(day, 2)) {
        return None;
    }
    jiff::civil::Date::new(year.parse().ok()?, month.parse().ok()?, day.parse().ok()?).ok()
}

/// Parses the CloudTrail layout from a key (or relative path), anchored at
/// its end: `[P/]AWSLogs/[O/]A/<service>/R/YYYY/MM/DD/<file>`, where
/// `service` is `CloudTrail` or `CloudTrail-Digest`.
#[must_use]
pub fn parse_layout(key: &str, service: &str) -> Option<KeyLayout> {
    let parts: Vec<&str> = key.split('/').collect();
    let n = parts.len();
    if n < 8 {
        return None;
    }
    let file_name = *parts.get(n - 1)?;
    let [year, month, day] = [parts.get(n - 4)?, parts.get(n - 3)?, parts.get(n - 2)?];
    let all_digits = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_digit());
    if !(all_digits(year, 4) && all_digits(month, 2) && all_digits(day, 2)) {
        return None;
    }
    let region = *parts.get(n - 5)?;
    if *parts.get(n - 6)? != service || region.is_empty() {
        return None;
    }
    let account = *parts.get(n - 7)?;
    let (organization, aws_logs_at) = match parts.get(n - 8) {
        Some(&"AWSLogs") => (None, n - 8),
        Some(org) if org.starts_with("o-") && n >= 9 && parts.get(n - 9) == Some(&"AWSLogs") => {
            (Some((*org).to_owned()), n - 9)
        }
        _ => return None,
    };
    // Every component before AWSLogs is followed by '/', even an empty one
    // (a key starting with "/AWSLogs/" has the prefix "/").
    let mut prefix = parts.get(..aws_logs_at)?.join("/");
    if aws_logs_at > 0 {
        prefix.push('/');
    }
    Some(KeyLayout {
        prefix,
        organization,
        account: account.to_owned(),
        region: region.to_owned(),
        file_name: file_name.to_owned(),
    })
}

/// Parses a digest file name for its account and region (from the layout)
/// and returns trail, home region, time and backfill flag. Trail names may
/// contain `_`; the home region never does, so the name is split from the end.
#[must_use]
pub fn parse_digest_name(layout: &KeyLayout) -> Option<DigestName> {
    let stem = layout.file_name.strip_suffix(".json.gz")?;
    let (stem, backfill) = match stem.strip_suffix("_backfill") {
        Some(s) => (s, true),
        None => (stem, false),
    };
    let head = format!("{}_CloudTrail-Digest_{}_", layout.account, layout.region);
    let rest = stem.strip_prefix(&head)?;
    let (rest, time) = rest.rsplit_once('_')?;
    let time = parse_compact_time(time, true)?;
    let (trail, home_region) = rest.rsplit_once('_')?;
    if trail.is_empty() || home_region.is_empty() {
        return None;
    }
    Some(DigestName {
        trail: trail.to_owned(),
        home_region: home_region.to_owned(),
        time,
        backfill,
    })
}

/// The time and backfill flag in a digest file name alone
/// (`…_YYYYMMDDTHHMMSSZ[_backfill].json.gz`), for filtering before the
/// mirror's layout is known.
#[must_use]
pub fn digest_file_time(file_name: &str) -> Option<(Timestamp, bool)> {
    let stem = file_name.strip_suffix(".json.gz")?;
    let (stem, backfill) = match stem.strip_suffix("_backfill") {
        Some(s) => (s, true),
        None => (stem, false),
    };
    let (_, time) = stem.rsplit_once('_')?;
    Some((parse_compact_time(time, true)?, backfill))
}

/// The delivery time in a log file name `A_CloudTrail_R_YYYYMMDDTHHmmZ_X.json.gz` (to the minute).
#[must_use]
pub fn parse_log_time(file_name: &str) -> Option<Timestamp> {
    let stem = file_name.strip_suffix(".json.gz")?;
    let mut fields = stem.split('_');
    let (_account, service, _region, time) = (
        fields.next()?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
    );
    if service != "CloudTrail" || fields.next().is_none() {
        return None;
    }
    parse_compact_time(time, false)
}

/// Parses `YYYYMMDDTHHMMSSZ` (with seconds) or `YYYYMMDDTHHmmZ` (without).
fn parse_compact_time(text: &str, with_seconds: bool) -> Option<Timestamp> {
    let expected_len = if with_seconds { 16 } else { 14 };
    if text.len() != expected_len || !text.is_ascii() || !text.ends_with('Z') {
        return None;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<&str> {
        let s = text.get(range)?;
        s.bytes().all(|b| b.is_ascii_digit()).then_some(s)
    };
    if text.get(8..9) != Some("T") {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<i16> { digits(range)?.parse().ok() };
    let small = |range: std::ops::Range<usize>| -> Option<i8> { i8::try_from(number(range)?).ok() };
    // A leap second's `60` reads as `59`, as RFC 3339 parsing does.
    let seconds = if with_seconds {
        small(13..15)?.min(59)
    } else {
        0
    };
    let civil = jiff::civil::DateTime::new(
        number(0..4)?,
        small(4..6)?,
        small(6..8)?,
        small(9..11)?,
        small(11..13)?,
        seconds,
        0,
    )
    .ok()?;
    jiff::tz::TimeZone::UTC.to_timestamp(civil).ok()
}

/// The day folder (`…/CloudTrail/R/YYYY/MM/DD`, the key without its file
/// name) and day of a log file key, without allocating: `None` unless the
/// key is a log file key at its place (what [`LogKey::parse`] accepts).
#[must_use]
pub fn log_folder(key: &str) -> Option<(&str, jiff::civil::Date)> {
    let (folder, name) = key.rsplit_once('/')?;
    let delivered = parse_log_time(name)?;
    let date = jiff::tz::TimeZone::UTC.to_datetime(delivered).date();
    let mut parts = folder.rsplit('/');
    let (day, month, year, region, service, account) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let folder_date = (
        year.parse::<i16>().ok()?,
        month.parse::<i8>().ok()?,
        day.parse::<i8>().ok()?,
    );
    let well_formed = year.len() == 4
        && month.len() == 2
        && day.len() == 2
        && folder_date == (date.year(), date.month(), date.day())
        && service == Service::Logs.folder()
        && !region.is_empty()
        && !account.is_empty();
    let aws_logs = match parts.next()? {
        "AWSLogs" => true,
        org if org.starts_with("o-") => parts.next() == Some("AWSLogs"),
        _ => false,
    };
    (well_formed && aws_logs).then_some((folder, date))
}

/// `s3://bucket/key`.
#[must_use]
pub fn s3_url(bucket: &str, key: &str) -> String {
    format!("s3://{bucket}/{key}")
}

/// Whether a key from a digest can be looked up as a plain relative path:
/// not empty, not absolute, no empty, `.` or `..` segment, no NUL, no backslash.
#[must_use]
pub fn is_safe_key(key: &str) -> bool {
    !key.is_empty()
        && !key.contains('\0')
        && !key.contains('\\')
        && key
            .split('/')
            .all(|segment| !segment.is_empty() && segment != "." && segment != "..")
}

/// Where a partition's objects lie: the folder pair
/// `[P/]AWSLogs/[O/]A/CloudTrail[-Digest]/R/` of one bucket.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// The bucket.
    pub bucket: String,
    /// Key part before `AWSLogs/` (empty, or ending with `/`).
    pub prefix: String,
    /// Organization id (`o-…`) of an organization trail.
    pub organization: Option<String>,
    /// Account id folder.
    pub account: String,
    /// Delivering region.
    pub region: String,
}

impl Location {
    /// The location a layout parsed from a key in `bucket` names.
    #[must_use]
    pub fn of(bucket: &str, layout: &KeyLayout) -> Location {
        Location {
            bucket: bucket.to_owned(),
            prefix: layout.prefix.clone(),
            organization: layout.organization.clone(),
            account: layout.account.clone(),
            region: layout.region.clone(),
        }
    }

    /// `P/AWSLogs/[O/]A/<service>/R/`.
    #[must_use]
    pub fn folder(&self, service: Service) -> String {
        let org = self
            .organization
            .as_ref()
            .map(|o| format!("{o}/"))
            .unwrap_or_default();
        format!(
            "{}AWSLogs/{org}{}/{}/{}/",
            self.prefix,
            self.account,
            service.folder(),
            self.region
        )
    }
}

/// The two kinds of CloudTrail folder trailproof reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    /// `CloudTrail/`: log files.
    Logs,
    /// `CloudTrail-Digest/`: digests and their metadata sidecars.
    Digests,
}

impl Service {
    /// The folder name.
    #[must_use]
    pub fn folder(self) -> &'static str {
        match self {
            Service::Logs => "CloudTrail",
            Service::Digests => "CloudTrail-Digest",
        }
    }
}

/// A digest key: `…/CloudTrail-Digest/R/YYYY/MM/DD/A_CloudTrail-Digest_R_<trail>_<home>_YYYYMMDDTHHMMSSZ[_backfill].json.gz`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestKey {
    /// Where it lies (its bucket is not part of the key: empty here).
    pub layout: KeyLayout,
    /// Trail, home region, end time, backfill flag.
    pub name: DigestName,
}

impl DigestKey {
    /// Parses a digest key (lenient about its date folders, which a moved
    /// digest may not match).
    #[must_use]
    pub fn parse(key: &str) -> Option<DigestKey> {
        let layout = parse_layout(key, Service::Digests.folder())?;
        let name = parse_digest_name(&layout)?;
        Some(DigestKey { layout, name })
    }

    /// The canonical key: date folders from the end time.
    #[must_use]
    pub fn format(&self) -> String {
        let l = &self.layout;
        let n = &self.name;
        let folder = Location {
            bucket: String::new(),
            prefix: l.prefix.clone(),
            organization: l.organization.clone(),
            account: l.account.clone(),
            region: l.region.clone(),
        }
        .folder(Service::Digests);
        format!(
            "{folder}{}/{}",
            n.time.strftime("%Y/%m/%d"),
            self.file_name()
        )
    }

    /// The same chain's key for a digest ending at `end`.
    #[must_use]
    pub fn at(&self, end: Timestamp) -> DigestKey {
        let mut key = self.clone();
        key.name.time = end;
        key.layout.file_name = key.file_name();
        key
    }

    /// `A_CloudTrail-Digest_R_<trail>_<home>_YYYYMMDDTHHMMSSZ[_backfill].json.gz`.
    fn file_name(&self) -> String {
        let (l, n) = (&self.layout, &self.name);
        format!(
            "{}_CloudTrail-Digest_{}_{}_{}_{}{}.json.gz",
            l.account,
            l.region,
            n.trail,
            n.home_region,
            n.time.strftime("%Y%m%dT%H%M%SZ"),
            if n.backfill { "_backfill" } else { "" }
        )
    }
}

/// A log file key whose name's date matches its date folders:
/// `…/CloudTrail/R/YYYY/MM/DD/A_CloudTrail_R_YYYYMMDDTHHmmZ_<unique>.json.gz`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogKey {
    /// Where it lies.
    pub layout: KeyLayout,
    /// Delivery time (to the minute).
    pub delivered: Timestamp,
}

impl LogKey {
    /// Parses a log file key; `None` unless its name is a log file name
    /// whose date is that of its folders.
    #[must_use]
    pub fn parse(key: &str) -> Option<LogKey> {
        let layout = parse_layout(key, Service::Logs.folder())?;
        let delivered = parse_log_time(&layout.file_name)?;
        let folders: Vec<&str> = key.rsplit('/').skip(1).take(3).collect();
        let folder_date = format!(
            "{}/{}/{}",
            folders.get(2)?,
            folders.get(1)?,
            folders.first()?
        );
        (folder_date == delivered.strftime("%Y/%m/%d").to_string())
            .then_some(LogKey { layout, delivered })
    }

    /// The key again.
    #[must_use]
    pub fn format(&self) -> String {
        let l = &self.layout;
        let folder = Location {
            bucket: String::new(),
            prefix: l.prefix.clone(),
            organization: l.organization.clone(),
            account: l.account.clone(),
            region: l.region.clone(),
        }
        .folder(Service::Logs);
        format!(
            "{folder}{}/{}",
            self.delivered.strftime("%Y/%m/%d"),
            l.file_name
        )
    }
}

/// What a key is, by its layout alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectKey {
    /// A digest (or a `.json.gz` file where digests lie).
    Digest(DigestKey),
    /// A log file at its place.
    Log(LogKey),
    /// A digest's metadata sidecar (`<digest key>.metadata.json`).
    Sidecar(DigestKey),
    /// Anything else.
    Other,
}

impl ObjectKey {
    /// Classifies a key.
    #[must_use]
    pub fn parse(key: &str) -> ObjectKey {
        if let Some(digest) = key.strip_suffix(SIDECAR_SUFFIX).and_then(DigestKey::parse) {
            return ObjectKey::Sidecar(digest);
        }
        if let Some(digest) = DigestKey::parse(key) {
            return ObjectKey::Digest(digest);
        }
        LogKey::parse(key).map_or(ObjectKey::Other, ObjectKey::Log)
    }
}

/// Folder inside a collected mirror root that holds what `trailproof
/// collect` adds: the record, the public keys, and the object versions (it
/// is not part of the bucket: keys cannot start with it).
pub const COLLECTION_DIR: &str = ".trailproof-collection";

/// Suffix of the sidecar that holds a digest's S3 metadata.
pub const SIDECAR_SUFFIX: &str = ".metadata.json";

/// Which CloudTrail folder a key lies in (below `AWSLogs/`), where only
/// CloudTrail's own objects belong.
#[must_use]
pub fn area_of(key: &str) -> Option<Service> {
    let mut after_aws_logs = false;
    let mut parts = key.split('/').peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            break; // the file name itself
        }
        after_aws_logs |= part == "AWSLogs";
        match part {
            "CloudTrail" if after_aws_logs => return Some(Service::Logs),
            "CloudTrail-Digest" if after_aws_logs => return Some(Service::Digests),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        let key = "team/audit/AWSLogs/o-abc123defg/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_my_trail.v2_us-west-2_20150817T150131Z_backfill.json.gz";
        let layout = parse_layout(key, "CloudTrail-Digest").unwrap();
        assert_eq!(layout.prefix, "team/audit/");
        assert_eq!(layout.organization.as_deref(), Some("o-abc123defg"));
        assert_eq!(layout.account, "111122223333");
        assert_eq!(layout.region, "us-east-2");
        let name = parse_digest_name(&layout).unwrap();
        assert_eq!(name.trail, "my_trail.v2");
        assert_eq!(name.home_region, "us-west-2");
        assert!(name.backfill);
        assert_eq!(name.time.to_string(), "2015-08-17T15:01:31Z");

        let plain = "AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/17/111122223333_CloudTrail_us-east-2_20150817T1445Z_9nYN7gp2eWAJHIfT.json.gz";
        let layout = parse_layout(plain, "CloudTrail").unwrap();
        assert_eq!(layout.prefix, "");
        assert_eq!(layout.organization, None);
        assert_eq!(
            parse_log_time(&layout.file_name).unwrap().to_string(),
            "2015-08-17T14:45:00Z"
        );
        assert_eq!(classify(plain), FileKind::Log);
        assert_eq!(classify(key), FileKind::Digest);
        assert_eq!(
            classify("AWSLogs/1/CloudTrail-Digest/x.json"),
            FileKind::Other
        );
    }

    #[test]
    fn unsafe_keys() {
        for key in ["", "/abs", "a/../b", "a/./b", "a//b", "a\\b", "a\0b", ".."] {
            assert!(!is_safe_key(key), "{key:?}");
        }
        assert!(is_safe_key("AWSLogs/1/CloudTrail/x.json.gz"));
    }

    #[test]
    fn bad_names_are_rejected() {
        assert!(parse_log_time("1_CloudTrail_r_20150817T14Z_x.json.gz").is_none());
        assert!(parse_log_time("1_CloudTrail_r_2015081XT1445Z_x.json.gz").is_none());
        assert!(parse_compact_time("20151317T150131Z", true).is_none());
    }

    #[test]
    fn log_folders_agree_with_log_keys() {
        for key in [
            "AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/17/111122223333_CloudTrail_us-east-2_20150817T1445Z_9nYN7gp2eWAJHIfT.json.gz",
            "p/q/AWSLogs/o-abc/111122223333/CloudTrail/r/2015/08/17/111122223333_CloudTrail_r_20150817T0000Z_x.json.gz",
            "AWSLogs/1/CloudTrail/r/2015/08/18/1_CloudTrail_r_20150817T1445Z_x.json.gz",
            "AWSLogs/1/CloudTrail-Digest/r/2015/08/17/1_CloudTrail_r_20150817T1445Z_x.json.gz",
            "x/1/CloudTrail/r/2015/08/17/1_CloudTrail_r_20150817T1445Z_x.json.gz",
            "AWSLogs/1/CloudTrail/r/2015/8/17/1_CloudTrail_r_20150817T1445Z_x.json.gz",
            "1_CloudTrail_r_20150817T1445Z_x.json.gz",
        ] {
            let slow = LogKey::parse(key).map(|k| {
                let folder = k.format();
                let folder = folder.rsplit_once('/').unwrap().0.to_owned();
                (
                    folder,
                    jiff::tz::TimeZone::UTC.to_datetime(k.delivered).date(),
                )
            });
            let fast = log_folder(key).map(|(f, d)| (f.to_owned(), d));
            assert_eq!(fast, slow, "{key}");
        }
    }

    #[test]
    fn keys_round_trip() {
        let digest = "team/AWSLogs/o-abc123defg/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_my_trail.v2_us-west-2_20150817T150131Z_backfill.json.gz";
        let parsed = DigestKey::parse(digest).unwrap();
        assert_eq!(parsed.format(), digest);
        assert_eq!(ObjectKey::parse(digest), ObjectKey::Digest(parsed.clone()));
        assert_eq!(
            ObjectKey::parse(&format!("{digest}{SIDECAR_SUFFIX}")),
            ObjectKey::Sidecar(parsed.clone())
        );
        let later = parsed.at("2015-08-18T01:01:31Z".parse().unwrap());
        assert!(later.format().contains("/2015/08/18/"));
        assert_eq!(DigestKey::parse(&later.format()), Some(later));
        let log = "AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/17/111122223333_CloudTrail_us-east-2_20150817T1445Z_9nYN7gp2eWAJHIfT.json.gz";
        let parsed = LogKey::parse(log).unwrap();
        assert_eq!(parsed.format(), log);
        assert_eq!(ObjectKey::parse(log), ObjectKey::Log(parsed));
        // A log file name in another day's folder is not a log key at its place.
        assert!(LogKey::parse(&log.replace("/17/", "/18/")).is_none());
        assert_eq!(
            ObjectKey::parse("AWSLogs/1/elasticloadbalancing/x"),
            ObjectKey::Other
        );
    }

    #[test]
    fn areas_are_cloudtrail_folders_below_awslogs() {
        let log = "p/AWSLogs/1/CloudTrail/r/2026/03/01/x.json.gz";
        assert_eq!(area_of(log), Some(Service::Logs));
        assert_eq!(
            area_of("AWSLogs/o-1/1/CloudTrail-Digest/r/2026/03/01/.DS_Store"),
            Some(Service::Digests)
        );
        // Other services share AWSLogs/; a folder named CloudTrail above it is not the area.
        assert_eq!(area_of("AWSLogs/1/elasticloadbalancing/r/x"), None);
        assert_eq!(area_of("CloudTrail/AWSLogs/1/x"), None);
        assert_eq!(area_of("AWSLogs/1/CloudTrail"), None);
    }
}
