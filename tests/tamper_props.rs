//! Randomized tampering: build a clean mirror, apply a random sequence of
//! tampering operations, and check that trailproof's error findings are
//! exactly the ground truth the operations imply: nothing missed, nothing
//! invented, nothing reported twice. Operations target non-neighbouring
//! digests and logs of untouched digests, so their ground truths compose.
//!
//! Three properties share the operations and the ground truth:
//! - [`error_findings_are_exactly_the_ground_truth`]: the whole mirror;
//! - [`time_range_reports_exactly_the_ground_truth_inside_it`]: a random
//!   `--start-time`/`--end-time`, each expected finding kept or dropped by
//!   the time of what it is about ([`Subject`]);
//! - [`backfill_findings_are_exactly_the_ground_truth`]: trails with
//!   backfill digests, with or without their metadata.
//!
//! The classes of issue 10: forged digests (signed or not) forking from or
//! slipped between authentic ones ([`Forge`]), names with control
//! characters ([`Stray`], [`Misdated`], [`LogOp::InjectNamed`]), names that
//! are not UTF-8 ([`BadName`]), backfill ([`BackfillOp`]), time ranges
//! ([`Range`]).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{Case, f};
use jiff::SignedDuration;
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use trailproof_testgen::{KeyId, SignatureStore, TestKey, Timestamp, TrailSpec};

const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];
const HOURS: usize = 8;

// ---- Operations ------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum DigestOp {
    Delete,
    Modify,
    Truncate(usize),
    AppendGarbage,
    Move,
    ForgeWithUnknownKey,
    StripMetadata,
    CorruptMetadataSignature,
    /// Rewritten and re-signed with its own key (a key holder): only the
    /// next digest's `previousDigestHashValue` exposes it.
    ResignWithOwnKey,
}

#[derive(Debug, Clone, Copy)]
enum LogOp {
    Delete,
    Modify,
    Truncate(usize),
    AppendMember,
    Inject,
    /// Inject a log file whose name carries [`CONTROLS`]`[i]`, dated right.
    InjectNamed(usize),
}

/// Where a forged digest goes, relative to the authentic digests A (the
/// hour of the operation) and B (the next one).
#[derive(Debug, Clone, Copy)]
enum ForgeKind {
    /// Links to A, ends between A and B: a fork the authentic B wins.
    ForkBetween,
    /// Links to A, ends after B (before B's successor, if any).
    ForkAfter,
    /// Null previous links, ends between A and B, which link to each other.
    SlippedBetween,
}

/// A forged digest (`Mirror::forge_digest`) `minutes` after the digest it
/// is placed after; `signed` with the attacker's key, else without any
/// metadata; listing nothing, or a log file injected into time an authentic
/// digest covers (which does not vouch for it).
#[derive(Debug, Clone, Copy)]
struct Forge {
    kind: ForgeKind,
    minutes: i64,
    signed: bool,
    lists_injected: bool,
}

/// Which CloudTrail folder of the operation's region a file goes into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Area {
    Logs,
    Digests,
}

/// A file whose name is no CloudTrail object's, with [`CONTROLS`]`[control]`
/// in it ([`stray_name`]`(pattern, ..)`): a `mirror.stray_file` warning.
#[derive(Debug, Clone, Copy)]
struct Stray {
    area: Area,
    pattern: usize,
    control: usize,
}

/// A CloudTrail log file name with [`CONTROLS`]`[control]` in its last
/// field, dated `days` away from the day folder it lies in:
/// `log.unreferenced`, whatever the time range.
#[derive(Debug, Clone, Copy)]
struct Misdated {
    days: i64,
    minute: i64,
    control: usize,
}

/// Where a name that is not UTF-8 ([`BAD_BYTES`]`[bytes]`) goes.
#[derive(Debug, Clone, Copy)]
enum BadPlace {
    /// A log-like file in the day folder of the region's logs.
    LogFile,
    /// A digest-like file in the day folder of the region's digests.
    DigestFile,
    /// A day folder beside the region's log day folder (holding a copy of a
    /// log and a file whose name is not UTF-8 either).
    LogDayFolder,
    /// A day folder beside the region's digest day folder (holding a copy of
    /// a digest and its metadata).
    DigestDayFolder,
    /// A folder in the account's folder, holding a copy of a digest.
    AccountFolder,
    /// A file right under `AWSLogs/`.
    AwsLogsFile,
}

#[derive(Debug, Clone, Copy)]
struct BadName {
    place: BadPlace,
    bytes: usize,
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Digest(DigestOp),
    Log(LogOp),
    Forge(Forge),
    Stray(Stray),
    Misdated(Misdated),
    BadName(BadName),
    /// A copy of the hour's digest (no metadata) in its folder, named with
    /// [`CONTROLS`]`[i]` before `.json.gz`: read as a digest, `digest.moved`.
    NamedDigestCopy(usize),
}

/// Control characters (and a bidi override) put into file names. No name may
/// hold `/` or NUL.
const CONTROLS: [&str; 11] = [
    "\u{1b}[2J",
    "\u{7}",
    "\r",
    "\u{1b}]0;owned\u{7}",
    "\t",
    "\u{9b}31m",
    "\u{7f}",
    "\n",
    "\u{8}\u{8}\u{8}ok",
    "\u{1b}[1A\u{1b}[2K",
    "\u{202e}zg.json",
];

/// Non-UTF-8 name fragments, and how trailproof must show them: every byte
/// that is not part of valid UTF-8 as `\xNN` (lower-case), the rest as is.
const BAD_BYTES: [(&[u8], &str); 9] = [
    (b"\xff\xfe", "\\xff\\xfe"),
    (b"0\xe9", "0\\xe9"),
    (b"\xc3(", "\\xc3("),
    (b"\xed\xa0\x80", "\\xed\\xa0\\x80"),
    (b"\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"),
    (b"caf\xc3\xa9\xff", "caf\u{e9}\\xff"),
    (b"\xc0\xaf", "\\xc0\\xaf"),
    (b"ab\xe2\x82", "ab\\xe2\\x82"),
    (b"\x1b[2J\xff", "\u{1b}[2J\\xff"),
];

/// Name patterns of stray files: never a CloudTrail log file's or digest's
/// name, and never ending `.json.gz` in a digest folder (read as a digest)
/// nor `.metadata.json` (see
/// [`stray_files_named_like_metadata_are_reported`]).
const STRAY_PATTERNS: usize = 5;

fn stray_name(area: Area, pattern: usize, control: &str, sibling: &str) -> String {
    match (area, pattern) {
        (_, 0) => format!("{control}notes.txt"),
        (_, 1) => format!(".~lock.{control}#"),
        (_, 2) => control.to_owned(),
        // A download's temporary file beside the object.
        (_, 3) => format!("{sibling}.{control}aB3dE5fG"),
        (Area::Logs, _) => format!("copy{control}.json.gz"),
        (Area::Digests, _) => format!("Thumbs{control}.db"),
    }
}

fn op() -> impl Strategy<Value = Op> {
    let control = 0..CONTROLS.len();
    prop_oneof![
        1 => Just(Op::Digest(DigestOp::Delete)),
        1 => Just(Op::Digest(DigestOp::Modify)),
        1 => (1usize..64).prop_map(|n| Op::Digest(DigestOp::Truncate(n))),
        1 => Just(Op::Digest(DigestOp::AppendGarbage)),
        1 => Just(Op::Digest(DigestOp::Move)),
        1 => Just(Op::Digest(DigestOp::ForgeWithUnknownKey)),
        1 => Just(Op::Digest(DigestOp::StripMetadata)),
        1 => Just(Op::Digest(DigestOp::CorruptMetadataSignature)),
        1 => Just(Op::Digest(DigestOp::ResignWithOwnKey)),
        1 => Just(Op::Log(LogOp::Delete)),
        1 => Just(Op::Log(LogOp::Modify)),
        1 => (1usize..48).prop_map(|n| Op::Log(LogOp::Truncate(n))),
        1 => Just(Op::Log(LogOp::AppendMember)),
        1 => Just(Op::Log(LogOp::Inject)),
        1 => control.clone().prop_map(|c| Op::Log(LogOp::InjectNamed(c))),
        3 => (
            prop_oneof![
                Just(ForgeKind::ForkBetween),
                Just(ForgeKind::ForkAfter),
                Just(ForgeKind::SlippedBetween)
            ],
            1i64..60,
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(|(kind, minutes, signed, lists_injected)| Op::Forge(Forge {
                kind,
                minutes,
                signed,
                lists_injected
            })),
        2 => (
            prop_oneof![Just(Area::Logs), Just(Area::Digests)],
            0..STRAY_PATTERNS,
            control.clone()
        )
            .prop_map(|(area, pattern, control)| Op::Stray(Stray {
                area,
                pattern,
                control
            })),
        1 => (
            prop_oneof![Just(-31i64), Just(-1), Just(1), Just(2), Just(365)],
            0i64..1440,
            control
        )
            .prop_map(|(days, minute, control)| Op::Misdated(Misdated {
                days,
                minute,
                control
            })),
        2 => (
            prop_oneof![
                Just(BadPlace::LogFile),
                Just(BadPlace::DigestFile),
                Just(BadPlace::LogDayFolder),
                Just(BadPlace::DigestDayFolder),
                Just(BadPlace::AccountFolder),
                Just(BadPlace::AwsLogsFile)
            ],
            0..BAD_BYTES.len()
        )
            .prop_map(|(place, bytes)| Op::BadName(BadName { place, bytes })),
        1 => (0..CONTROLS.len()).prop_map(Op::NamedDigestCopy),
    ]
}

/// An operation on (region, hour); log operations pick a log of that hour.
fn plan() -> impl Strategy<Value = Vec<(Op, usize, usize)>> {
    prop::collection::vec((op(), 0..REGIONS.len(), 0..HOURS), 1..5)
}

// ---- Ground truth ----------------------------------------------------------------------------

/// What an expected finding is about, which decides whether a time range
/// reports it.
#[derive(Debug, Clone, Copy)]
enum Subject {
    /// A digest with this time (its name's timestamp = `digestEndTime`).
    Digest(Timestamp),
    /// A log file listed by a digest with this time.
    ListedBy(Timestamp),
    /// A log file no digest lists, delivered at this time (its name's minute).
    Delivered(Timestamp),
    /// A log file no digest lists, delivered at `delivered`, whose minute
    /// ends after the window of the digest of its hour: only the next digest
    /// (`next`, if there is one) covers all of it, else it is not covered.
    Edge {
        delivered: Timestamp,
        next: Option<Timestamp>,
    },
    /// Reported whatever the range: names that are not UTF-8, log files in a
    /// folder of another day, stray files.
    Always,
}

/// `--start-time` / `--end-time`.
#[derive(Debug, Clone, Copy, Default)]
struct Range {
    start: Option<Timestamp>,
    end: Option<Timestamp>,
}

impl Range {
    /// Digests are examined when their time is in `[start, end + 1 h]`.
    fn admits_digest(&self, t: Timestamp) -> bool {
        self.start.is_none_or(|s| t >= s)
            && self
                .end
                .is_none_or(|e| t <= e + SignedDuration::from_hours(1))
    }

    /// Unlisted log files are reported when delivered in `[start, end]`.
    fn admits_log(&self, t: Timestamp) -> bool {
        self.start.is_none_or(|s| t >= s) && self.end.is_none_or(|e| t <= e)
    }

    fn reports(&self, subject: Subject) -> bool {
        match subject {
            Subject::Digest(t) | Subject::ListedBy(t) => self.admits_digest(t),
            Subject::Delivered(t) => self.admits_log(t),
            Subject::Edge { delivered, next } => {
                self.admits_log(delivered) && next.is_some_and(|n| self.admits_digest(n))
            }
            Subject::Always => true,
        }
    }
}

/// The findings the operations imply.
#[derive(Debug, Default)]
struct Truth {
    /// Exactly the error findings (each once).
    errors: Vec<(Subject, (String, String))>,
    /// Warnings that must be among the findings.
    warnings: Vec<(Subject, (String, String))>,
}

/// Applies operations to a mirror, skipping those that would touch a
/// neighbour of an earlier one, and records their ground truth.
struct Tamper<'a> {
    case: &'a Case,
    truth: Truth,
    digest_hours: Vec<(usize, usize)>,
    log_hours: Vec<(usize, usize)>,
    used_logs: BTreeSet<String>,
    /// Standard digests no operation may touch: those of the hours of
    /// backfill digests (the `backfill_window_…` tests cover them), and
    /// those whose window alone covers an unlisted late log file.
    reserved: Vec<(usize, usize)>,
}

fn near(list: &[(usize, usize)], region: usize, hour: usize, span: usize) -> bool {
    list.iter()
        .any(|&(r, h)| r == region && h.abs_diff(hour) <= span)
}

/// The minute a log file named for `t` is named for.
fn minute_of(t: Timestamp) -> Timestamp {
    Timestamp::from_second(t.as_second().div_euclid(60) * 60).unwrap()
}

fn folder_of(key: &str) -> &str {
    key.rsplit_once('/').unwrap().0
}

fn name_of(key: &str) -> &str {
    key.rsplit_once('/').unwrap().1
}

impl<'a> Tamper<'a> {
    fn new(case: &'a Case) -> Self {
        Tamper {
            case,
            truth: Truth::default(),
            digest_hours: Vec::new(),
            log_hours: Vec::new(),
            used_logs: BTreeSet::new(),
            reserved: Vec::new(),
        }
    }

    fn error(&mut self, subject: Subject, finding: (String, String)) {
        self.truth.errors.push((subject, finding));
    }

    fn warning(&mut self, subject: Subject, finding: (String, String)) {
        self.truth.warnings.push((subject, finding));
    }

    fn bucket(&self) -> String {
        self.case.mirror.digests[0].bucket.clone()
    }

    fn apply(&mut self, plan: &[(Op, usize, usize)]) {
        for &(op, region, hour) in plan {
            match op {
                Op::Digest(op) => self.digest_op(op, region, hour),
                Op::Log(op) => self.log_op(op, region, hour),
                Op::Forge(forge) => self.forge(forge, region, hour),
                Op::Stray(stray) => self.stray(stray, region, hour),
                Op::Misdated(misdated) => self.misdated(misdated, region, hour),
                Op::BadName(bad) => self.bad_name(bad, region, hour),
                Op::NamedDigestCopy(control) => self.named_digest_copy(control, region, hour),
            }
        }
    }

    /// Whether the standard digest of (region, hour) may be tampered with.
    fn digest_free(&self, region: usize, hour: usize) -> bool {
        !near(&self.digest_hours, region, hour, 1)
            && !near(&self.log_hours, region, hour, 0)
            && !near(&self.reserved, region, hour, 0)
    }

    fn digest_op(&mut self, op: DigestOp, region: usize, hour: usize) {
        if !self.digest_free(region, hour) {
            return;
        }
        self.digest_hours.push((region, hour));
        let case = self.case;
        let chain = case.chain(REGIONS[region]);
        let digest = chain[hour];
        let newest = hour + 1 == chain.len();
        let at = Subject::Digest(digest.end_time);
        let here = |code: &str| f(code, &digest.bucket, &digest.key);
        match op {
            DigestOp::Delete => {
                case.mirror.delete(&digest.key);
                if !newest {
                    self.error(at, here("digest.missing"));
                }
            }
            DigestOp::Modify => {
                let mut json = case.mirror.read_digest_json(&digest.key);
                json["awsAccountId"] = "000000000000".into();
                case.mirror.write_digest(&digest.key, &json, None);
                self.error(at, here("digest.signature_invalid"));
                if !newest {
                    self.error(at, here("digest.modified"));
                }
            }
            DigestOp::Truncate(n) => {
                let len = std::fs::metadata(&digest.path).unwrap().len() as usize;
                case.mirror.truncate(&digest.key, n.min(len));
                self.error(at, here("digest.malformed"));
            }
            DigestOp::AppendGarbage => {
                case.mirror.append_bytes(&digest.key, b"\x1f\x8bjunk");
                self.error(at, here("digest.malformed"));
            }
            DigestOp::Move => {
                let elsewhere = digest.key.replace("/2026/03/01/", "/2026/03/05/");
                case.mirror.move_file(&digest.key, &elsewhere);
                self.error(at, f("digest.moved", &digest.bucket, &elsewhere));
                if !newest {
                    self.error(at, here("digest.missing"));
                }
            }
            DigestOp::ForgeWithUnknownKey => {
                let mut json = case.mirror.read_digest_json(&digest.key);
                json["digestPublicKeyFingerprint"] =
                    TestKey::get(KeyId::Attacker).fingerprint().into();
                case.mirror
                    .write_digest(&digest.key, &json, Some(KeyId::Attacker));
                self.error(at, here("digest.key_unknown"));
                if !newest {
                    self.error(at, here("digest.modified"));
                }
            }
            DigestOp::StripMetadata => case.mirror.strip_metadata(&digest.key),
            DigestOp::CorruptMetadataSignature => {
                let other = chain[(hour + 3) % chain.len()];
                case.mirror
                    .set_metadata_signature(&digest.key, &other.signature_hex);
                self.error(at, here("digest.signature_invalid"));
            }
            DigestOp::ResignWithOwnKey => {
                let mut json = case.mirror.read_digest_json(&digest.key);
                json["awsAccountId"] = "999999999999".into();
                case.mirror
                    .write_digest(&digest.key, &json, Some(digest.signed_by));
                if !newest {
                    self.error(at, here("digest.modified"));
                }
            }
        }
    }

    fn log_op(&mut self, op: LogOp, region: usize, hour: usize) {
        if near(&self.digest_hours, region, hour, 0) {
            return;
        }
        let case = self.case;
        let digest = case.chain(REGIONS[region])[hour];
        let delivered = digest.end_time - SignedDuration::from_mins(25);
        match op {
            LogOp::Inject => {
                self.log_hours.push((region, hour));
                let key = case
                    .mirror
                    .inject_log(&digest.account, REGIONS[region], delivered);
                self.error(
                    Subject::Delivered(minute_of(delivered)),
                    f("log.unreferenced", &digest.bucket, &key),
                );
                return;
            }
            LogOp::InjectNamed(control) => {
                let minute = minute_of(delivered);
                let name = format!(
                    "{}_CloudTrail_{}_{}_{}{hour}x.json.gz",
                    digest.account,
                    REGIONS[region],
                    minute.strftime("%Y%m%dT%H%MZ"),
                    CONTROLS[control],
                );
                let key = format!("{}/{name}", folder_of(&digest.log_keys[0]));
                if self.write_new(&key, &trailproof_testgen::gzip(b"{\"Records\":[]}")) {
                    self.log_hours.push((region, hour));
                    self.error(
                        Subject::Delivered(minute),
                        f("log.unreferenced", &digest.bucket, &key),
                    );
                }
                return;
            }
            _ => {}
        }
        let Some(log_key) = digest
            .log_keys
            .iter()
            .find(|k| !self.used_logs.contains(*k))
        else {
            return;
        };
        self.log_hours.push((region, hour));
        self.used_logs.insert(log_key.clone());
        let at = Subject::ListedBy(digest.end_time);
        let here = |code: &str| f(code, &digest.bucket, log_key);
        match op {
            LogOp::Delete => {
                case.mirror.delete(log_key);
                self.error(at, here("log.missing"));
            }
            LogOp::Modify => {
                case.mirror.modify_log(log_key);
                self.error(at, here("log.modified"));
            }
            LogOp::Truncate(n) => {
                case.mirror.truncate(log_key, n);
                self.error(at, here("log.malformed"));
            }
            LogOp::AppendMember => {
                case.mirror
                    .append_bytes(log_key, &trailproof_testgen::gzip(b"{}"));
                self.error(at, here("log.malformed"));
            }
            LogOp::Inject | LogOp::InjectNamed(_) => unreachable!(),
        }
    }

    /// A forged digest near A = the digest of `hour` and its authentic
    /// successor B: only the forgery is out of order.
    fn forge(&mut self, forge: Forge, region: usize, hour: usize) {
        let case = self.case;
        let chain = case.chain(REGIONS[region]);
        let Some(&b) = chain.get(hour + 1) else {
            return;
        };
        if !self.digest_free(region, hour) || !self.digest_free(region, hour + 1) {
            return;
        }
        self.digest_hours.push((region, hour));
        self.digest_hours.push((region, hour + 1));
        let a = chain[hour];
        let after = SignedDuration::from_mins(forge.minutes);
        let (end, previous) = match forge.kind {
            ForgeKind::ForkBetween => (a.end_time + after, Some(a.key.as_str())),
            ForgeKind::ForkAfter => (b.end_time + after, Some(a.key.as_str())),
            ForgeKind::SlippedBetween => (a.end_time + after, None),
        };
        let mut listed = Vec::new();
        if forge.lists_injected {
            // Inside the window of the authentic digest the forgery follows.
            let covered_by = match forge.kind {
                ForgeKind::ForkAfter => b,
                ForgeKind::ForkBetween | ForgeKind::SlippedBetween => a,
            };
            let delivered = covered_by.end_time - SignedDuration::from_mins(5);
            let key = case
                .mirror
                .inject_log(&a.account, REGIONS[region], delivered);
            let at = Subject::Delivered(minute_of(delivered));
            self.error(at, f("log.unreferenced", &a.bucket, &key));
            listed.push(key);
        }
        let signer = forge.signed.then_some(KeyId::Attacker);
        let forged = case
            .mirror
            .forge_digest(&b.key, end, previous, &listed, signer);
        let at = Subject::Digest(end);
        self.error(at, f("chain.out_of_order", &b.bucket, &forged));
        if forge.signed {
            self.error(at, f("digest.signature_invalid", &b.bucket, &forged));
        }
    }

    fn stray(&mut self, stray: Stray, region: usize, hour: usize) {
        let digest = self.case.chain(REGIONS[region])[hour];
        let sibling = match stray.area {
            Area::Logs => &digest.log_keys[0],
            Area::Digests => &digest.key,
        };
        let name = stray_name(
            stray.area,
            stray.pattern,
            CONTROLS[stray.control],
            name_of(sibling),
        );
        let key = format!("{}/{name}", folder_of(sibling));
        if self.write_new(&key, b"\x00\x01junk") {
            let bucket = self.bucket();
            self.warning(Subject::Always, f("mirror.stray_file", &bucket, &key));
        }
    }

    fn misdated(&mut self, misdated: Misdated, region: usize, hour: usize) {
        let digest = self.case.chain(REGIONS[region])[hour];
        let folder = folder_of(&digest.log_keys[0]);
        let day: Vec<&str> = folder.rsplit('/').take(3).collect();
        let midnight: Timestamp = format!("{}-{}-{}T00:00:00Z", day[2], day[1], day[0])
            .parse()
            .unwrap();
        let time = midnight
            + SignedDuration::from_hours(24 * misdated.days)
            + SignedDuration::from_mins(misdated.minute);
        let name = format!(
            "{}_CloudTrail_{}_{}_{}{}.json.gz",
            digest.account,
            REGIONS[region],
            time.strftime("%Y%m%dT%H%MZ"),
            CONTROLS[misdated.control],
            misdated.minute,
        );
        let key = format!("{folder}/{name}");
        if self.write_new(&key, &trailproof_testgen::gzip(b"{\"Records\":[]}")) {
            let bucket = self.bucket();
            self.error(Subject::Always, f("log.unreferenced", &bucket, &key));
        }
    }

    fn bad_name(&mut self, bad: BadName, region: usize, hour: usize) {
        let case = self.case;
        let digest = case.chain(REGIONS[region])[hour];
        let (bytes, shown) = BAD_BYTES[bad.bytes];
        let log = &digest.log_keys[0];
        let account_folder = format!("AWSLogs/{}", digest.account);
        let (folder, name, shown): (&str, Vec<u8>, String) = match bad.place {
            BadPlace::LogFile => {
                let stem = format!(
                    "{}_CloudTrail_{}_20260301T0021Z_",
                    digest.account, REGIONS[region]
                );
                (
                    folder_of(log),
                    [stem.as_bytes(), bytes, b"forged.json.gz"].concat(),
                    format!("{stem}{shown}forged.json.gz"),
                )
            }
            BadPlace::DigestFile => {
                let stem = name_of(&digest.key).strip_suffix(".json.gz").unwrap();
                (
                    folder_of(&digest.key),
                    [stem.as_bytes(), bytes, b".json.gz"].concat(),
                    format!("{stem}{shown}.json.gz"),
                )
            }
            BadPlace::LogDayFolder => (folder_of(folder_of(log)), bytes.to_vec(), shown.to_owned()),
            BadPlace::DigestDayFolder => (
                folder_of(folder_of(&digest.key)),
                bytes.to_vec(),
                shown.to_owned(),
            ),
            BadPlace::AccountFolder => (&account_folder, bytes.to_vec(), shown.to_owned()),
            BadPlace::AwsLogsFile => ("AWSLogs", bytes.to_vec(), shown.to_owned()),
        };
        let path = case.mirror.root.join(folder).join(OsStr::from_bytes(&name));
        if path.exists() {
            return;
        }
        match bad.place {
            BadPlace::LogFile | BadPlace::DigestFile | BadPlace::AwsLogsFile => {
                std::fs::write(&path, b"\x1f\x8b\x08\x00junk").unwrap();
            }
            BadPlace::LogDayFolder => {
                // Not entered: neither the copy nor the bad name inside is seen.
                let inside = path.join(name_of(log));
                std::fs::create_dir(&path).unwrap();
                copy_or_junk(&case.mirror.path_of(log), &inside);
                std::fs::write(path.join(OsStr::from_bytes(b"\xff.json.gz")), b"x").unwrap();
            }
            BadPlace::DigestDayFolder | BadPlace::AccountFolder => {
                // Not entered: a digest read there would be digest.moved.
                std::fs::create_dir(&path).unwrap();
                let source = &digest.path;
                copy_or_junk(source, &path.join(name_of(&digest.key)));
                let sidecar = PathBuf::from(format!("{}.metadata.json", source.display()));
                if sidecar.exists() {
                    let copy = format!("{}.metadata.json", name_of(&digest.key));
                    std::fs::copy(sidecar, path.join(copy)).unwrap();
                }
            }
        }
        let bucket = self.bucket();
        self.error(
            Subject::Always,
            f("mirror.invalid_name", &bucket, &format!("{folder}/{shown}")),
        );
    }

    fn named_digest_copy(&mut self, control: usize, region: usize, hour: usize) {
        if !self.digest_free(region, hour) {
            return;
        }
        self.digest_hours.push((region, hour));
        self.write_digest_copy(control, region, hour);
    }

    /// Copies the (intact) digest of (region, hour) beside itself.
    fn write_digest_copy(&mut self, control: usize, region: usize, hour: usize) {
        let digest = self.case.chain(REGIONS[region])[hour];
        let stem = digest.key.strip_suffix(".json.gz").unwrap();
        let copy = format!("{stem}{}.json.gz", CONTROLS[control]);
        if self.write_new(&copy, &std::fs::read(&digest.path).unwrap()) {
            let at = Subject::Digest(digest.end_time);
            self.error(at, f("digest.moved", &digest.bucket, &copy));
        }
    }

    /// Writes a new file at `key` (false if one is there already).
    fn write_new(&self, key: &str, bytes: &[u8]) -> bool {
        let path = self.case.mirror.root.join(key);
        if path.exists() {
            return false;
        }
        std::fs::write(path, bytes).unwrap();
        true
    }
}

/// Copies `from` (an earlier operation may have deleted it: then junk) to `to`.
fn copy_or_junk(from: &Path, to: &Path) {
    let bytes = std::fs::read(from).unwrap_or_else(|_| b"junk".to_vec());
    std::fs::write(to, bytes).unwrap();
}

// ---- Backfill --------------------------------------------------------------------------------

/// What happens to one backfill digest and its late log file.
#[derive(Debug, Clone, Copy)]
enum BackfillOp {
    Intact,
    DeleteLog,
    ModifyLog,
    TruncateLog(usize),
    AppendMember,
    /// The digest deleted: its late log file is then listed by nothing.
    DeleteDigest,
    /// The digest rewritten without a key.
    ModifyDigest,
}

fn backfill_op() -> impl Strategy<Value = BackfillOp> {
    prop_oneof![
        2 => Just(BackfillOp::Intact),
        1 => Just(BackfillOp::DeleteLog),
        1 => Just(BackfillOp::ModifyLog),
        1 => (1usize..48).prop_map(BackfillOp::TruncateLog),
        1 => Just(BackfillOp::AppendMember),
        1 => Just(BackfillOp::DeleteDigest),
        1 => Just(BackfillOp::ModifyDigest),
    ]
}

/// Applies `ops[i]` (and strips the metadata where `strip[i]`) to the i-th
/// backfill digest, and returns the (region, hour) of the standard digests no
/// other operation may touch: those of every backfill digest's hour, and the
/// next one where it alone covers a late log file no digest lists.
fn apply_backfill(
    tamper: &mut Tamper<'_>,
    ops: &[(BackfillOp, bool)],
    store: SignatureStore,
) -> Vec<(usize, usize)> {
    let case = tamper.case;
    let mut hours = Vec::new();
    let backfills: Vec<_> = case.mirror.digests.iter().filter(|d| d.backfill).collect();
    for (i, bf) in backfills.into_iter().enumerate() {
        let region = REGIONS.iter().position(|r| *r == bf.region).unwrap();
        let chain = case.chain(&bf.region);
        let hour = chain
            .iter()
            .position(|d| d.end_time == bf.end_time)
            .unwrap();
        hours.push((region, hour));
        let (op, strip) = ops[i % ops.len()];
        let authentic = store == SignatureStore::Sidecar && !strip;
        if strip {
            case.mirror.strip_metadata(&bf.key);
        }
        let late = &bf.log_keys[0];
        let delivered = case
            .mirror
            .logs
            .iter()
            .find(|l| l.key == *late)
            .unwrap()
            .delivered;
        let listed = Subject::ListedBy(bf.end_time);
        // Unlisted, the late log file is unreferenced where covered time holds
        // its whole minute (the next digest's window, in its hour's last minute).
        let unlisted = if delivered + SignedDuration::from_mins(1) <= bf.end_time {
            Subject::Delivered(delivered)
        } else {
            hours.push((region, hour + 1));
            Subject::Edge {
                delivered,
                next: chain.get(hour + 1).map(|d| d.end_time),
            }
        };
        let here = |code: &str| f(code, &bf.bucket, late);
        let log_error = match op {
            BackfillOp::Intact | BackfillOp::DeleteDigest | BackfillOp::ModifyDigest => None,
            BackfillOp::DeleteLog => {
                case.mirror.delete(late);
                Some("log.missing")
            }
            BackfillOp::ModifyLog => {
                case.mirror.modify_log(late);
                Some("log.modified")
            }
            BackfillOp::TruncateLog(n) => {
                case.mirror.truncate(late, n);
                Some("log.malformed")
            }
            BackfillOp::AppendMember => {
                case.mirror
                    .append_bytes(late, &trailproof_testgen::gzip(b"{}"));
                Some("log.malformed")
            }
        };
        match op {
            BackfillOp::DeleteDigest => {
                // A late log file no digest lists, in time the standard digest covers.
                case.mirror.delete(&bf.key);
                tamper.error(unlisted, here("log.unreferenced"));
                continue;
            }
            BackfillOp::ModifyDigest => {
                let mut json = case.mirror.read_digest_json(&bf.key);
                json["awsAccountId"] = "000000000000".into();
                case.mirror.write_digest(&bf.key, &json, None);
                if authentic {
                    let at = Subject::Digest(bf.end_time);
                    tamper.error(at, f("digest.signature_invalid", &bf.bucket, &bf.key));
                    tamper.error(unlisted, here("log.unreferenced"));
                    continue;
                }
            }
            _ => {}
        }
        if authentic {
            if let Some(code) = log_error {
                tamper.error(listed, here(code));
            }
        } else {
            // Unsigned: nothing proves or refutes it or what it lists.
            let at = Subject::Digest(bf.end_time);
            tamper.warning(at, f("digest.unsigned", &bf.bucket, &bf.key));
            tamper.warning(listed, here("log.unverified"));
        }
    }
    hours
}

// ---- Checking --------------------------------------------------------------------------------

fn run(case: &Case, range: Range) -> Result<trailproof::Report, trailproof::Error> {
    let mut options = trailproof::Options::new(case.roots(), vec![case.mirror.public_keys.clone()]);
    options.jobs = Some(2);
    options.start_time = range.start;
    options.end_time = range.end;
    // The JSON report too, validated against the schema (`common::report_json`).
    let mut json = Vec::new();
    let outputs: Vec<(_, &mut (dyn std::io::Write + Send))> =
        vec![(trailproof::report::ReportFormat::Json, &mut json)];
    let (report, failed) =
        trailproof::verify_into(&options, &trailproof::progress::Silent, outputs)?;
    assert!(failed.is_empty(), "{failed:?}");
    common::report_json(&json);
    Ok(report)
}

/// The times of the digest files trailproof will read (folders whose name
/// is not UTF-8 are not entered).
fn digest_times(root: &Path) -> Vec<Timestamp> {
    let mut times = Vec::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let entry = entry.unwrap();
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if entry.file_type().unwrap().is_dir() {
                folders.push(entry.path());
            } else if entry
                .path()
                .to_string_lossy()
                .contains("/CloudTrail-Digest/")
                && let Some((time, _)) = trailproof::mirror::digest_file_time(&name)
            {
                times.push(time);
            }
        }
    }
    times
}

/// Runs trailproof on the mirror with `range` and checks the ground truth:
/// error findings exactly, expected warnings present.
fn check(case: &Case, truth: &Truth, range: Range) -> Result<(), TestCaseError> {
    let result = run(case, range);
    if !digest_times(&case.mirror.root)
        .into_iter()
        .any(|t| range.admits_digest(t))
    {
        prop_assert!(
            matches!(result, Err(trailproof::Error::NoDigestsInRange { .. })),
            "{result:?}"
        );
        return Ok(());
    }
    let report = result.unwrap();
    let mut errors: Vec<(String, String)> = Vec::new();
    let mut warnings: BTreeSet<(String, String)> = BTreeSet::new();
    for finding in &report.findings {
        let pair = (finding.code.as_str().to_owned(), finding.object.clone());
        match finding.severity {
            trailproof::Severity::Error => errors.push(pair),
            _ => {
                warnings.insert(pair);
            }
        }
    }
    errors.sort();
    let mut expected: Vec<(String, String)> = truth
        .errors
        .iter()
        .filter(|(s, _)| range.reports(*s))
        .map(|(_, e)| e.clone())
        .collect();
    expected.sort();
    prop_assert_eq!(errors, expected);
    for (subject, warning) in &truth.warnings {
        if range.reports(*subject) {
            prop_assert!(
                warnings.contains(warning),
                "warning {warning:?} missing from {warnings:#?}"
            );
        }
    }
    Ok(())
}

fn spec(seed: u64) -> TrailSpec {
    let mut spec = TrailSpec::small(seed);
    spec.hours = HOURS as u32;
    spec
}

/// An instant near the digests' times, as seconds after the trail's start:
/// on an hour boundary, a second either side of one, or anywhere.
fn instant() -> impl Strategy<Value = i64> {
    (
        0..=HOURS as i64 + 1,
        prop_oneof![Just(0i64), Just(-1), Just(1), -3599i64..3600],
    )
        .prop_map(|(hour, delta)| hour * 3600 + delta)
}

/// `(start, end)` offsets from the trail's start, at least one given, in order.
fn range_offsets() -> impl Strategy<Value = (Option<i64>, Option<i64>)> {
    prop_oneof![
        instant().prop_map(|s| (Some(s), None)),
        instant().prop_map(|e| (None, Some(e))),
        (instant(), instant()).prop_map(|(a, b)| (Some(a.min(b)), Some(a.max(b)))),
    ]
}

fn range_at(spec: &TrailSpec, (start, end): (Option<i64>, Option<i64>)) -> Range {
    let at = |s: i64| spec.start + SignedDuration::from_secs(s);
    Range {
        start: start.map(at),
        end: end.map(at),
    }
}

/// `cases` random cases (or `PROPTEST_CASES`, to search longer), failures
/// kept in `tests/tamper_props.regressions` and re-run first.
fn config(cases: u32) -> ProptestConfig {
    let default = ProptestConfig::default();
    ProptestConfig {
        cases: if std::env::var_os("PROPTEST_CASES").is_some() {
            default.cases
        } else {
            cases
        },
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("regressions"),
        )),
        ..default
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// Every operation on the whole mirror (no time range).
    #[test]
    fn error_findings_are_exactly_the_ground_truth(plan in plan(), seed in 0u64..1_000_000) {
        let case = Case::new(spec(seed));
        let mut tamper = Tamper::new(&case);
        tamper.apply(&plan);
        check(&case, &tamper.truth, Range::default())?;
    }
}

proptest! {
    #![proptest_config(config(128))]

    /// The same operations with `--start-time`/`--end-time`: every digest is
    /// still read as evidence, but only what lies in the range is reported.
    #[test]
    fn time_range_reports_exactly_the_ground_truth_inside_it(
        plan in plan(),
        seed in 0u64..1_000_000,
        offsets in range_offsets(),
    ) {
        let spec = spec(seed);
        let range = range_at(&spec, offsets);
        let case = Case::new(spec);
        let mut tamper = Tamper::new(&case);
        tamper.apply(&plan);
        check(&case, &tamper.truth, range)?;
    }

    /// Backfill digests, with the trail's metadata saved (sidecars) or not, a
    /// backfill digest's metadata stripped or not, its late log file tampered
    /// with or not; with sidecars, the other operations too, away from the
    /// backfill hours; sometimes a time range.
    #[test]
    fn backfill_findings_are_exactly_the_ground_truth(
        seed in 0u64..1_000_000,
        backfill_hours in prop::collection::btree_set(0..HOURS as u32, 1..=3),
        store in prop_oneof![Just(SignatureStore::Sidecar), Just(SignatureStore::None)],
        ops in prop::collection::vec((backfill_op(), any::<bool>()), 1..=6),
        plan in plan(),
        offsets in prop::option::weighted(0.25, range_offsets()),
    ) {
        let mut spec = spec(seed);
        spec.backfill_hours = backfill_hours.into_iter().collect();
        spec.signature_store = store;
        let range = offsets.map_or_else(Range::default, |o| range_at(&spec, o));
        let case = Case::new(spec);
        let mut tamper = Tamper::new(&case);
        tamper.reserved = apply_backfill(&mut tamper, &ops, store);
        // Without any metadata the standard digests' ground truths differ
        // (the newest is unsigned, a deleted digest unproves its predecessor).
        if store == SignatureStore::Sidecar {
            tamper.apply(&plan);
        }
        check(&case, &tamper.truth, range)?;
    }
}

// ---- Every name, and the bugs found ----------------------------------------------------------

/// Whether the human report must spell `c` out (as `escape_control` does).
fn must_escape(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Every name the operations can give a file, with every control sequence,
/// on one mirror: the ground truth holds, and the human report (library and
/// binary) shows none of the control characters raw. Fails until the human
/// renderer escapes finding objects (work in progress on main).
#[test]
fn human_report_never_prints_control_characters_from_names() {
    let case = Case::new(spec(7));
    let mut tamper = Tamper::new(&case);
    let mut plan = Vec::new();
    for control in 0..CONTROLS.len() {
        for area in [Area::Logs, Area::Digests] {
            for pattern in 0..STRAY_PATTERNS {
                let stray = Stray {
                    area,
                    pattern,
                    control,
                };
                plan.push((Op::Stray(stray), control % 2, 0));
            }
        }
        let misdated = Misdated {
            days: 1,
            minute: control as i64,
            control,
        };
        plan.push((Op::Misdated(misdated), 0, 0));
        plan.push((Op::Log(LogOp::InjectNamed(control)), 1, control % HOURS));
    }
    for bytes in 0..BAD_BYTES.len() {
        plan.push((
            Op::BadName(BadName {
                place: BadPlace::LogFile,
                bytes,
            }),
            0,
            0,
        ));
    }
    tamper.apply(&plan);
    for control in 0..CONTROLS.len() {
        // Region 0, hour 3 is untouched by the plan.
        tamper.write_digest_copy(control, 0, 3);
    }
    check(&case, &tamper.truth, Range::default()).unwrap();
    // The file names with something to escape (alone, "\n" would match any line end).
    let names: Vec<&str> = tamper
        .truth
        .errors
        .iter()
        .chain(&tamper.truth.warnings)
        .map(|(_, (_, object))| name_of(object))
        .filter(|n| n.chars().any(must_escape) || (n.contains('\n') && n.len() > 1))
        .collect();
    assert!(names.len() > 2 * CONTROLS.len(), "{names:?}");

    let report = run(&case, Range::default()).unwrap();
    let mut text = Vec::new();
    report
        .write(trailproof::report::ReportFormat::Human, &mut text)
        .unwrap();
    let binary = case.run(["--format", "human"]);
    for (what, text) in [
        ("Report::write(Human)", String::from_utf8(text).unwrap()),
        (
            "trailproof --format human (stdout)",
            String::from_utf8(binary.stdout).unwrap(),
        ),
        (
            "trailproof --format human (stderr)",
            String::from_utf8(binary.stderr).unwrap(),
        ),
    ] {
        let raw: BTreeSet<String> = text
            .chars()
            .filter(|c| must_escape(*c))
            .map(|c| format!("U+{:04X}", u32::from(c)))
            .collect();
        assert!(raw.is_empty(), "{what} prints raw {raw:?}:\n{text}");
        for name in &names {
            assert!(
                !text.contains(name),
                "{what} prints the name {name:?} raw (a newline in a name must be escaped too: raw, it forges report lines)"
            );
        }
    }
}

/// A mirror with a backfill digest at hour 3 of us-east-1 (metadata saved).
fn backfill_case(seed: u64) -> Case {
    let mut spec = spec(seed);
    spec.backfill_hours = vec![3];
    Case::new(spec)
}

/// The regular log files of the hour of a deleted standard digest cannot be
/// verified (`log.not_covered`, as without a backfill digest): a backfill
/// digest lists only the late log files of its hour, it does not vouch that
/// no other log file exists.
#[test]
fn backfill_window_does_not_make_the_logs_of_a_deleted_digest_unreferenced() {
    let case = backfill_case(5);
    let victim = case.chain("us-east-1")[3];
    case.mirror.delete(&victim.key);
    let at = Subject::Digest(victim.end_time);
    let mut truth = Truth::default();
    truth
        .errors
        .push((at, f("digest.missing", &victim.bucket, &victim.key)));
    for finding in case.not_covered(&[&victim.key]) {
        truth.warnings.push((at, finding));
    }
    check(&case, &truth, Range::default()).unwrap();
}

/// The same with the standard digest rewritten: its log files are unverified
/// (as without a backfill digest), not unreferenced.
#[test]
fn backfill_window_does_not_make_the_logs_of_a_modified_digest_unreferenced() {
    let case = backfill_case(5);
    let victim = case.chain("us-east-1")[3];
    let mut json = case.mirror.read_digest_json(&victim.key);
    json["awsAccountId"] = "000000000000".into();
    case.mirror.write_digest(&victim.key, &json, None);
    let at = Subject::Digest(victim.end_time);
    let mut truth = Truth::default();
    for code in ["digest.modified", "digest.signature_invalid"] {
        truth
            .errors
            .push((at, f(code, &victim.bucket, &victim.key)));
    }
    for finding in case.unverified_logs(&victim.key) {
        truth.warnings.push((at, finding));
    }
    check(&case, &truth, Range::default()).unwrap();
}

/// A file named `*.metadata.json` whose stem names no CloudTrail object, in
/// a log or a digest folder, is a stray file like any other.
#[test]
fn stray_files_named_like_metadata_are_reported() {
    let case = Case::new(spec(9));
    let digest = case.chain("us-east-1")[2];
    let strays = [
        format!("{}/notes.metadata.json", folder_of(&digest.log_keys[0])),
        format!("{}/Thumbs.metadata.json", folder_of(&digest.key)),
    ];
    let mut truth = Truth::default();
    for key in &strays {
        std::fs::write(case.mirror.root.join(key), b"{}").unwrap();
        truth
            .warnings
            .push((Subject::Always, f("mirror.stray_file", &digest.bucket, key)));
    }
    check(&case, &truth, Range::default()).unwrap();
}
