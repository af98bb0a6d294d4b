//! Chain ends explained from CloudTrail's own records.
//!
//! CloudTrail delivers a digest every hour for every trail and region while
//! the trail logs, even with no activity. So once the time the mirror was
//! collected is known (`--collected-at`), a chain whose newest digest ends
//! more than `--max-lag` before it was cut short (`chain.ends_early`) —
//! unless the trail's own logs record that logging stopped: a successful
//! `StopLogging`, `DeleteTrail`, or `UpdateTrail` turning log file
//! validation off (`chain.stopped`, a warning naming when, who and from
//! where). Only the log files the last digests of the trail list are read,
//! and only those whose content is what an authentic digest recorded count.

use crate::chain::{Chain, ChainKey};
use crate::digest::LogFileRef;
use crate::finding::{Finding, FindingCode};
use crate::mirror::Inventory;
use crate::record::DigestRecord;
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::io::Read;
use std::rc::Rc;

/// When the mirror was taken, and how late a chain's newest digest may be.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Collected {
    /// `--collected-at`.
    pub at: Timestamp,
    /// `--max-lag`.
    pub max_lag: SignedDuration,
}

impl Collected {
    /// Checks that no authentic digest of the mirror ends after the
    /// collection time (an unproven one proves nothing about it).
    ///
    /// # Errors
    /// [`crate::Error::CollectedTooEarly`] naming the newest digest.
    pub fn check(&self, records: &[DigestRecord]) -> Result<(), crate::Error> {
        let newest = records
            .iter()
            .filter(|r| r.is_authentic())
            .filter_map(|r| Some((r.time()?, r)))
            .max_by_key(|(t, _)| *t);
        match newest {
            Some((newest, record)) if newest > self.at => Err(crate::Error::CollectedTooEarly {
                collected: self.at,
                newest,
                object: record.url(),
            }),
            _ => Ok(()),
        }
    }
}

/// How far around a chain's end the trail's digests are searched.
const AROUND_END: SignedDuration = SignedDuration::from_hours(2);

/// At most this many digests per chain end are searched (bounded work).
const MAX_DIGESTS_SEARCHED: usize = 12;

/// At most this many listed log files per digest are read.
const MAX_LOGS_PER_DIGEST: usize = 256;

/// Largest uncompressed log file read for an explanation.
const MAX_LOG_BYTES: u64 = 256 << 20;

/// Whether a call stops or (re)starts a trail's digests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallKind {
    /// `StopLogging`, `DeleteTrail`, `UpdateTrail` turning validation off.
    Stop,
    /// `StartLogging`, `CreateTrail`, `UpdateTrail` turning validation on.
    Start,
}

/// A successful API call on the trail itself that stops or starts its digests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Call {
    /// Stop or start.
    pub kind: CallKind,
    /// `eventName` (`UpdateTrail` spelt out as turning validation off or on).
    pub what: String,
    /// `eventTime`.
    pub at: String,
    /// `userIdentity.arn`.
    pub by: String,
    /// `sourceIPAddress`.
    pub from: String,
    /// `s3://` URL of the log file recording it.
    pub log: String,
    /// `s3://` URL of the authentic digest listing that log file.
    pub digest: String,
}

/// The findings about every chain that ends more than the allowed lag
/// before the mirror was collected.
pub(crate) fn explain_ends(search: &Search<'_>, collected: Collected) -> Vec<Finding> {
    let Search {
        records, chains, ..
    } = search;
    let mut findings = Vec::new();
    for chain in chains.iter().filter(|c| !c.key.backfill) {
        let Some((newest, end)) = chain
            .members
            .iter()
            .rev()
            .filter_map(|&i| records.get(i))
            .find_map(|r| Some((r, r.time()?)))
        else {
            continue;
        };
        let lag = collected.at.duration_since(end);
        if lag <= collected.max_lag {
            continue;
        }
        let (stop, searched) = search.call(&chain.key, end, CallKind::Stop);
        findings.push(match stop {
            Some(stop) => stopped(chain, newest, end, lag, collected, &stop),
            None => ends_early(chain, newest, end, lag, collected, searched),
        });
    }
    findings
}

/// The findings about every chain that starts (its oldest digest links to
/// none) more than `max_lag` after the earliest chain of its trail (another
/// region): `chain.started` when the trail's records show logging or
/// validation started then, else `chain.starts_late` (unexplained; both
/// warnings, as the start itself is authentic).
pub(crate) fn explain_starts(search: &Search<'_>, max_lag: SignedDuration) -> Vec<Finding> {
    let Search {
        records, chains, ..
    } = search;
    let first = |chain: &Chain| {
        chain
            .members
            .iter()
            .filter_map(|&i| records.get(i))
            .find_map(|r| Some((r, r.time()?)))
    };
    let standard: Vec<&Chain> = chains.iter().filter(|c| !c.key.backfill).collect();
    let mut findings = Vec::new();
    for chain in &standard {
        let Some((oldest, start)) = first(chain) else {
            continue;
        };
        // An oldest digest that links to a predecessor is no start: the
        // missing predecessor is `digest.missing`.
        if oldest
            .parsed
            .as_ref()
            .map_or(true, |d| d.previous.is_some())
        {
            continue;
        }
        let Some(trail_start) = standard
            .iter()
            .filter(|c| same_trail(&c.key, &chain.key))
            .filter_map(|c| first(c).map(|(_, t)| t))
            .min()
        else {
            continue;
        };
        let late = start.duration_since(trail_start);
        if late <= max_lag {
            continue;
        }
        let (call, _) = search.call(&chain.key, start, CallKind::Start);
        let span = (trail_start, start, max_lag);
        findings.push(late_start(chain, oldest, span, call.as_ref()));
    }
    findings
}

/// `chain.started` naming the call that started logging, or
/// `chain.starts_late`; `span` is (the trail's oldest digest's time, the
/// chain's, the lag allowed).
fn late_start(
    chain: &Chain,
    oldest: &DigestRecord,
    span: (Timestamp, Timestamp, SignedDuration),
    call: Option<&Call>,
) -> Finding {
    let (trail_start, start, max_lag) = span;
    let late = start.duration_since(trail_start);
    let head = format!(
        "The chain's oldest digest ends at {start}, {late:#} after the oldest digest of its trail in another region ({trail_start}), more than --max-lag {max_lag:#}."
    );
    let finding = match call {
        Some(call) => Finding::new(
            FindingCode::ChainStarted,
            oldest.url(),
            format!(
                "{head} Logging started then: {} at {} by {} from {} (recorded in {}, listed by the authentic digest {}).",
                crate::text::escape_control(&call.what),
                crate::text::escape_control(&call.at),
                crate::text::escape_control(&call.by),
                crate::text::escape_control(&call.from),
                call.log,
                call.digest
            ),
        ),
        None => Finding::new(
            FindingCode::ChainStartsLate,
            oldest.url(),
            format!(
                "{head} Unexplained: the log files of the trail's authentic digests around its start record no StartLogging, CreateTrail or UpdateTrail turning log file validation on."
            ),
        ),
    };
    finding
        .at(Some(oldest.path.clone()))
        .values(
            format!(
                "a digest ending by {}",
                trail_start.checked_add(max_lag).unwrap_or(trail_start)
            ),
            format!("the oldest digest ends at {start}"),
        )
        .in_chain(Some(chain.key.id()))
}

/// Whether two chains are the same trail's (in any region; for an
/// organization trail, in any member account: the calls on it are made in
/// the management account).
fn same_trail(a: &ChainKey, b: &ChainKey) -> bool {
    a.organization == b.organization
        && (a.organization.is_some() || a.account == b.account)
        && a.trail == b.trail
        && a.home_region == b.home_region
}

/// The authentic digests of the chain's trail (every region) whose time
/// lies within [`AROUND_END`] of `end`, newest first, at most
/// [`MAX_DIGESTS_SEARCHED`]: the home region's logs record the trail's own calls.
fn trail_digests_near<'r>(
    records: &'r [DigestRecord],
    chains: &[Chain],
    key: &ChainKey,
    end: Timestamp,
) -> Vec<&'r DigestRecord> {
    let mut near: Vec<(&DigestRecord, Timestamp)> = chains
        .iter()
        .filter(|c| same_trail(&c.key, key))
        .flat_map(|c| c.members.iter().filter_map(|&i| records.get(i)))
        .filter(|r| r.is_authentic())
        .filter_map(|r| Some((r, r.time()?)))
        .filter(|(_, t)| t.duration_since(end).abs() <= AROUND_END)
        .collect();
    // The trail's own calls are recorded where they were made, mostly its
    // home region: those digests are searched first.
    near.sort_by_key(|(r, t)| {
        let home = r
            .layout
            .as_ref()
            .is_some_and(|l| l.region == key.home_region);
        (!home, std::cmp::Reverse(*t))
    });
    near.into_iter()
        .take(MAX_DIGESTS_SEARCHED)
        .map(|(r, _)| r)
        .collect()
}

/// Where the trail's own calls are looked for: the run's digests and mirror.
/// The calls each digest's log files record are read once per run (the
/// chains of one trail share those digests).
pub(crate) struct Search<'a> {
    records: &'a [DigestRecord],
    chains: &'a [Chain],
    inventory: &'a Inventory,
    max_digest_bytes: u64,
    /// Per digest file (its index in the inventory), the calls read.
    read: std::cell::RefCell<HashMap<usize, Rc<[Call]>>>,
}

impl<'a> Search<'a> {
    /// A search over every digest read (`records`), every chain (whatever
    /// the time range) and the mirror; digests are read up to `max_digest_bytes`.
    pub fn new(
        records: &'a [DigestRecord],
        chains: &'a [Chain],
        inventory: &'a Inventory,
        max_digest_bytes: u64,
    ) -> Self {
        Search {
            records,
            chains,
            inventory,
            max_digest_bytes,
            read: std::cell::RefCell::new(HashMap::new()),
        }
    }

    /// The latest call of `kind` on the trail of `key` recorded in the log
    /// files of its authentic digests around `at`, and how many digests
    /// were searched.
    fn call(&self, key: &ChainKey, at: Timestamp, kind: CallKind) -> (Option<Call>, usize) {
        let searched = trail_digests_near(self.records, self.chains, key, at);
        let budget = std::cell::Cell::new(MAX_BYTES_PER_SEARCH);
        let call = searched
            .iter()
            .flat_map(|r| self.calls_in(r, key, &budget).to_vec())
            .filter(|c| c.kind == kind)
            .max_by(|a, b| a.at.cmp(&b.at));
        (call, searched.len())
    }

    /// The calls recorded in the log files `record` lists, read once (a
    /// reading the budget cut short is not kept).
    fn calls_in(
        &self,
        record: &DigestRecord,
        key: &ChainKey,
        budget: &std::cell::Cell<u64>,
    ) -> Rc<[Call]> {
        if let Some(calls) = self.read.borrow().get(&record.file) {
            return Rc::clone(calls);
        }
        let calls: Rc<[Call]> =
            calls_in(record, self.inventory, key, self.max_digest_bytes, budget).into();
        if budget.get() > 0 {
            self.read
                .borrow_mut()
                .insert(record.file, Rc::clone(&calls));
        }
        calls
    }
}

/// At most this many uncompressed bytes of log files are read per search
/// (a hostile mirror may hold gzip bombs where logs should be).
const MAX_BYTES_PER_SEARCH: u64 = 1 << 30;

/// The calls stopping or starting the trail recorded in the log files `record` lists.
fn calls_in(
    record: &DigestRecord,
    inventory: &Inventory,
    key: &ChainKey,
    max_digest_bytes: u64,
    budget: &std::cell::Cell<u64>,
) -> Vec<Call> {
    let Ok(digest) = crate::digest::read(&record.path, max_digest_bytes).parsed else {
        return Vec::new();
    };
    digest
        .log_files
        .iter()
        .take(MAX_LOGS_PER_DIGEST)
        .filter_map(|log| Some((log, trail_calls(inventory, log, budget)?)))
        .flat_map(|(log, calls)| {
            calls.into_iter().filter_map(move |c| {
                let (kind, at, what, by, from) = c.classify(&key.trail)?;
                Some(Call {
                    kind,
                    what,
                    at,
                    by,
                    from,
                    log: crate::layout::s3_url(&log.bucket, &log.object),
                    digest: record.url(),
                })
            })
        })
        .collect()
}

/// The trail API calls a listed log file records, if it is present, reads
/// as one bounded gzip stream of CloudTrail records, and its uncompressed
/// content has the SHA-256 the (authentic) digest lists.
fn trail_calls(
    inventory: &Inventory,
    log: &LogFileRef,
    budget: &std::cell::Cell<u64>,
) -> Option<Vec<TrailCall>> {
    let allowed = budget.get().min(MAX_LOG_BYTES);
    if allowed == 0 || !crate::mirror::is_safe_key(&log.object) {
        return None;
    }
    // The scan does not list log folders: the file is opened where its
    // key puts it (read-only, never a FIFO, device or final link). Its
    // content counts only if it is what the authentic digest recorded.
    let path = match inventory.resolve(&log.bucket, &log.object) {
        Ok(file) => inventory.path_of(file),
        Err(path) => path?,
    };
    let file = crate::evidence::open_evidence(&path).ok()?;
    let mut reader = Hashing {
        inner: flate2::read::GzDecoder::new(std::io::BufReader::new(file)).take(allowed),
        sha: Sha256::new(),
        read: 0,
    };
    let mut buffered = std::io::BufReader::with_capacity(64 << 10, &mut reader);
    let body: Result<LogBody, _> = serde_json::from_reader(&mut buffered);
    // Whatever follows the JSON (white space) is hashed too.
    let rest = std::io::copy(&mut buffered, &mut std::io::sink());
    drop(buffered);
    budget.set(budget.get().saturating_sub(reader.read));
    let (body, _) = (body.ok()?, rest.ok()?);
    let sha: [u8; 32] = reader.sha.finalize().into();
    log.hash.matches(&sha).then_some(body.records)
}

/// A reader that hashes what passes through it.
struct Hashing<R> {
    inner: R,
    sha: Sha256,
    /// Bytes read so far.
    read: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sha.update(buf.get(..n).unwrap_or_default());
        self.read += n as u64;
        Ok(n)
    }
}

/// A log file's body: only the trail's own calls are kept.
#[derive(Deserialize)]
struct LogBody {
    #[serde(rename = "Records", deserialize_with = "only_trail_calls")]
    records: Vec<TrailCall>,
}

/// One record of a call to CloudTrail itself (other records are skipped as
/// they stream by).
#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
struct TrailCall {
    event_source: Option<String>,
    event_name: Option<String>,
    event_time: Option<String>,
    error_code: Option<String>,
    #[serde(rename = "sourceIPAddress")]
    source_ip_address: Option<String>,
    /// Kept raw: its shape differs between services, and only a call to
    /// CloudTrail's is read.
    user_identity: Option<Box<serde_json::value::RawValue>>,
    /// As `user_identity`.
    request_parameters: Option<Box<serde_json::value::RawValue>>,
}

#[derive(Deserialize, Debug)]
struct Identity {
    arn: Option<String>,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
struct TrailParameters {
    name: Option<String>,
    enable_log_file_validation: Option<bool>,
    is_multi_region_trail: Option<bool>,
}

/// Most trail calls kept from one log file.
const MAX_CALLS_PER_LOG: usize = 64;

fn only_trail_calls<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<TrailCall>, D::Error> {
    struct Calls;
    impl<'de> serde::de::Visitor<'de> for Calls {
        type Value = Vec<TrailCall>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an array of CloudTrail records")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let mut kept = Vec::new();
            while let Some(record) = seq.next_element::<Record>()? {
                if let Record::Trail(call) = record
                    && kept.len() < MAX_CALLS_PER_LOG
                {
                    kept.push(call);
                }
            }
            Ok(kept)
        }
    }
    d.deserialize_seq(Calls)
}

/// A record: a call to CloudTrail, or anything else (not kept).
enum Record {
    Trail(TrailCall),
    Other,
}

impl<'de> Deserialize<'de> for Record {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Each record is read as a `TrailCall` (its other fields skipped)
        // and kept only if it is a call to CloudTrail.
        let call = TrailCall::deserialize(d)?;
        Ok(
            if call.event_source.as_deref() == Some("cloudtrail.amazonaws.com") {
                Record::Trail(call)
            } else {
                Record::Other
            },
        )
    }
}

impl TrailCall {
    /// `(kind, eventTime, what, who, from where)` if this is a successful
    /// call that stops or starts the digests of `trail`.
    fn classify(self, trail: &str) -> Option<(CallKind, String, String, String, String)> {
        if self.error_code.is_some() {
            return None; // refused: logging went on
        }
        let parameters: TrailParameters =
            serde_json::from_str(self.request_parameters?.get()).ok()?;
        let name = parameters.name.as_deref()?;
        let names_trail = name == trail || name.ends_with(&format!(":trail/{trail}"));
        if !names_trail {
            return None;
        }
        let (kind, what) = match self.event_name.as_deref()? {
            "StopLogging" => (CallKind::Stop, "StopLogging"),
            "DeleteTrail" => (CallKind::Stop, "DeleteTrail"),
            "StartLogging" => (CallKind::Start, "StartLogging"),
            "CreateTrail" => (CallKind::Start, "CreateTrail"),
            "UpdateTrail" => update_trail(&parameters)?,
            _ => return None,
        };
        Some((
            kind,
            self.event_time?,
            what.to_owned(),
            self.user_identity
                .and_then(|i| serde_json::from_str::<Identity>(i.get()).ok())
                .and_then(|i| i.arn)
                .unwrap_or_else(|| "an unknown caller".to_owned()),
            self.source_ip_address
                .unwrap_or_else(|| "an unknown address".to_owned()),
        ))
    }
}

/// What an `UpdateTrail` call does to a trail's digests, if anything.
fn update_trail(parameters: &TrailParameters) -> Option<(CallKind, &'static str)> {
    match (
        parameters.enable_log_file_validation,
        parameters.is_multi_region_trail,
    ) {
        (Some(false), _) => Some((
            CallKind::Stop,
            "UpdateTrail turning log file validation off",
        )),
        // The other regions' chains end when a trail becomes single-region.
        (_, Some(false)) => Some((CallKind::Stop, "UpdateTrail making the trail single-region")),
        (Some(true), _) => Some((
            CallKind::Start,
            "UpdateTrail turning log file validation on",
        )),
        (_, Some(true)) => Some((CallKind::Start, "UpdateTrail making the trail multi-region")),
        (None, None) => None,
    }
}

fn stopped(
    chain: &Chain,
    newest: &DigestRecord,
    end: Timestamp,
    lag: SignedDuration,
    collected: Collected,
    stop: &Call,
) -> Finding {
    Finding::new(
        FindingCode::ChainStopped,
        newest.url(),
        format!(
            "The chain's newest digest ends at {end}, {lag:#} before the mirror was collected ({}), because logging was stopped: {} at {} by {} from {} (recorded in {}, listed by the authentic digest {}). No digest is delivered while a trail does not log.",
            collected.at,
            crate::text::escape_control(&stop.what),
            crate::text::escape_control(&stop.at),
            crate::text::escape_control(&stop.by),
            crate::text::escape_control(&stop.from),
            stop.log,
            stop.digest
        ),
    )
    .at(Some(newest.path.clone()))
    .values(
        format!("a digest ending after {}", late_limit(collected)),
        format!("the newest digest ends at {end}; {} at {}", stop.what, stop.at),
    )
    .in_chain(Some(chain.key.id()))
}

fn ends_early(
    chain: &Chain,
    newest: &DigestRecord,
    end: Timestamp,
    lag: SignedDuration,
    collected: Collected,
    searched: usize,
) -> Finding {
    Finding::new(
        FindingCode::ChainEndsEarly,
        newest.url(),
        format!(
            "The chain's newest digest ends at {end}, {lag:#} before the mirror was collected ({}), more than --max-lag {:#}. CloudTrail delivers a digest every hour while a trail logs, and the log files of the trail's last {searched} authentic digest(s) record no StopLogging, DeleteTrail or UpdateTrail turning log file validation off: the chain's newest digests (and the log files they list) are missing.",
            collected.at, collected.max_lag
        ),
    )
    .at(Some(newest.path.clone()))
    .values(
        format!("a digest ending after {}", late_limit(collected)),
        format!("the newest digest ends at {end}"),
    )
    .in_chain(Some(chain.key.id()))
}

/// The earliest time the newest digest may end.
fn late_limit(collected: Collected) -> Timestamp {
    collected
        .at
        .checked_sub(collected.max_lag)
        .unwrap_or(collected.at)
}

/// At most this many restarts are explained from the logs (bounded work);
/// later ones say they were not examined.
const MAX_RESTARTS_EXPLAINED: usize = 64;

/// `chain.gap` for every restart, saying what the trail's own records tell
/// of it: a call that stopped logging (or validation) before it and one
/// that started it again, or that nothing explains it.
pub(crate) fn explain_restarts(
    search: &Search<'_>,
    restarts: &[crate::chain::Restart],
) -> Vec<Finding> {
    let Search {
        records, chains, ..
    } = search;
    restarts
        .iter()
        .enumerate()
        .filter_map(|(n, restart)| {
            let chain = chains.get(restart.chain)?;
            let record = records.get(restart.record)?;
            let previous = records.get(restart.previous)?;
            let explanation = if n < MAX_RESTARTS_EXPLAINED {
                explain_restart(search, chain, record, previous)
            } else {
                format!("It was not examined for an explanation: only the first {MAX_RESTARTS_EXPLAINED} restarts of a run are.")
            };
            Some(crate::chain::restart_finding(chain, record, previous, &explanation))
        })
        .collect()
}

/// What the trail's logs around a restart record of it.
fn explain_restart(
    search: &Search<'_>,
    chain: &Chain,
    record: &DigestRecord,
    previous: &DigestRecord,
) -> String {
    let (Some(before), Some(after)) = (previous.time(), record.time()) else {
        return "Unexplained: the times around it are unknown.".to_owned();
    };
    let (stop, _) = search.call(&chain.key, before, CallKind::Stop);
    let (start, _) = search.call(&chain.key, after, CallKind::Start);
    let said = |c: &Call| {
        format!(
            "{} at {} by {} from {} (in {})",
            crate::text::escape_control(&c.what),
            crate::text::escape_control(&c.at),
            crate::text::escape_control(&c.by),
            crate::text::escape_control(&c.from),
            c.log
        )
    };
    match (stop, start) {
        (Some(stop), Some(start)) => format!(
            "Explained by the trail's own records: {}, then {}.",
            said(&stop),
            said(&start)
        ),
        (Some(stop), None) => format!(
            "Partly explained: the trail's records show {}, but no call that started logging or validation again.",
            said(&stop)
        ),
        (None, Some(start)) => format!(
            "Unexplained: the trail's records show {}, but no call that stopped logging or validation before it.",
            said(&start)
        ),
        (None, None) => "Unexplained: the log files of the trail's authentic digests around it record no call that stopped and restarted logging or log file validation.".to_owned(),
    }
}
