//! The report: plain data built once from a run, rendered by [`human`] and
//! [`json`]. Its JSON form (schema version 1) is the contract other tools
//! read; README documents it.

pub mod failure;
pub mod html;
pub mod human;
pub mod json;
pub mod junit;
pub mod manifest;
pub mod markdown;
pub mod sarif;
pub mod stream;
pub mod tally;
pub mod timeline;

use crate::chain::Chain;
use crate::finding::{Finding, Severity};
use crate::keys::{KeyFileSummary, KeyRing};
use crate::mirror::Inventory;
use crate::options::Options;
use crate::record::DigestRecord;
use jiff::Timestamp;
pub use json::json_schema;
use manifest::{EvidenceKind, Manifest};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
pub use tally::LogTally;
use timeline::{CoverageStatus, Segment};

/// Version of the JSON report's schema; bumped only with a documented reason.
pub const SCHEMA_VERSION: u32 = 1;

/// A format a report can be written in, each rendered from the same
/// [`Report`] (the data of the JSON report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReportFormat {
    /// Diagnostics with help text, then a summary per chain (no colour).
    Human,
    /// The JSON report (schema version [`SCHEMA_VERSION`]).
    Json,
    /// A self-contained HTML case report.
    Html,
    /// SARIF 2.1.0.
    Sarif,
    /// JUnit XML.
    Junit,
    /// A Markdown summary.
    Markdown,
    /// The evidence manifest in `sha256sum -c` format.
    Manifest,
}

impl ReportFormat {
    /// Every format, with its name on the command line.
    pub const ALL: [(ReportFormat, &'static str); 7] = [
        (ReportFormat::Human, "human"),
        (ReportFormat::Json, "json"),
        (ReportFormat::Html, "html"),
        (ReportFormat::Sarif, "sarif"),
        (ReportFormat::Junit, "junit"),
        (ReportFormat::Markdown, "markdown"),
        (ReportFormat::Manifest, "manifest"),
    ];

    /// The format named `name` (as in `--report NAME=PATH`).
    #[must_use]
    pub fn from_name(name: &str) -> Option<ReportFormat> {
        Self::ALL.iter().find(|(_, n)| *n == name).map(|(f, _)| *f)
    }

    /// The name on the command line.
    #[must_use]
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(f, _)| *f == self)
            .map_or("?", |(_, n)| n)
    }
}

impl Report {
    /// Writes the report in `format` to `out`: the formats rendered from
    /// the end state alone (human, SARIF, Markdown). The JSON report, the
    /// manifest, JUnit and HTML hold what was read file by file and are
    /// written while the run goes ([`stream::ReportStream`]).
    ///
    /// # Errors
    /// When writing to `out` fails, or (`Unsupported`) for a streamed format.
    pub fn write(&self, format: ReportFormat, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        match format {
            ReportFormat::Human => {
                out.write_all(human::render(self, human::Style::default()).as_bytes())
            }
            ReportFormat::Sarif => sarif::write(self, out),
            ReportFormat::Markdown => markdown::write(self, out),
            ReportFormat::Json
            | ReportFormat::Html
            | ReportFormat::Junit
            | ReportFormat::Manifest => Err(std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                format!("the {} report is written while the run goes", format.name()),
            )),
        }
    }
}

/// What the evidence shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// No error-severity finding, and every part of the mirror was examined.
    Pass,
    /// At least one error-severity finding: the evidence is not intact.
    Fail,
    /// No error-severity finding, but part of the mirror could not be
    /// examined (e.g. `mirror.unreadable`): nothing can be concluded about it.
    Incomplete,
}

impl Verdict {
    /// The verdict the findings give: `fail` on any error-severity finding,
    /// else `incomplete` when part of the mirror was not examined, else
    /// `pass` (warnings allowed).
    #[must_use]
    pub fn of(findings: &[Finding]) -> Verdict {
        if findings.iter().any(|f| f.severity == Severity::Error) {
            Verdict::Fail
        } else if findings.iter().any(|f| f.code.leaves_run_incomplete()) {
            Verdict::Incomplete
        } else {
            Verdict::Pass
        }
    }
}

pub use crate::options::FailOn;

/// What the run's caller gets: the verdict under `--fail-on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Gate {
    /// The `--fail-on` setting.
    pub fail_on: FailOn,
    /// The exit status: 0 pass, 1 fail, 2 incomplete.
    pub exit_status: u8,
}

impl Gate {
    /// The one place that decides whether a run fails its caller.
    #[must_use]
    pub fn new(verdict: Verdict, warnings: usize, fail_on: FailOn) -> Gate {
        let exit_status = match (verdict, fail_on) {
            (Verdict::Incomplete, _) => 2,
            (Verdict::Fail, FailOn::Error | FailOn::Warning) => 1,
            (Verdict::Pass, FailOn::Warning) if warnings > 0 => 1,
            _ => 0,
        };
        Gate {
            fail_on,
            exit_status,
        }
    }
}

/// The tool that wrote the report.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Tool {
    /// `trailproof`.
    #[schemars(extend("const" = env!("CARGO_PKG_NAME")))]
    pub name: &'static str,
    /// Crate version.
    pub version: &'static str,
}

/// Whether a chain is a trail's standard chain or a backfill chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChainKind {
    /// Digests delivered hour by hour.
    Standard,
    /// Digests delivered later for a past hour (their own chain).
    Backfill,
}

impl<'de> Deserialize<'de> for Tool {
    /// A report read back (`trailproof merge`) must come from this build's
    /// version: another may judge the same evidence differently.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Tool, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Read {
            name: String,
            version: String,
        }
        let read = Read::deserialize(d)?;
        if read.name != Tool::THIS.name || read.version != Tool::THIS.version {
            return Err(serde::de::Error::custom(format!(
                "written by {} {}, not by {} {}",
                crate::text::escape_control(&read.name),
                crate::text::escape_control(&read.version),
                Tool::THIS.name,
                Tool::THIS.version
            )));
        }
        Ok(Tool::THIS)
    }
}

impl Tool {
    /// This build of trailproof.
    pub const THIS: Tool = Tool {
        name: env!("CARGO_PKG_NAME"),
        version: env!("CARGO_PKG_VERSION"),
    };
}

impl Inputs {
    /// What a run was asked to verify, with the roots as located.
    #[must_use]
    pub fn new(options: &Options, inventory: &Inventory, keys: &KeyRing) -> Inputs {
        Inputs {
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
            checkpoints: Vec::new(),
            selection: Some(options.selection.chosen()).filter(|s| !s.is_all()),
            shard: options
                .selection
                .scope
                .as_ref()
                .map(crate::shard::ShardScope::used),
            shards: Vec::new(),
            collected_at: options.collected_at,
            collections: Vec::new(),
        }
    }
}

/// Who ran what, where and when: the case header of an evidence report.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Run {
    /// The command line, one argument per element (empty when the library
    /// was called directly).
    pub command_line: Vec<String>,
    /// Host name of the machine (`null` when it cannot be read).
    pub host: Option<String>,
    /// User name the run had (`null` when it cannot be read).
    pub user: Option<String>,
    /// When the run started.
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub started_at: Timestamp,
    /// When the run finished (the report was assembled).
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub finished_at: Timestamp,
}

impl Run {
    /// This process: its command line, host and user, started at `started`
    /// and finished now.
    #[must_use]
    pub fn this(started: Timestamp) -> Run {
        Run {
            command_line: std::env::args_os()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
            host: whoami::hostname().ok(),
            user: whoami::username().ok(),
            started_at: started,
            finished_at: Timestamp::now(),
        }
    }
}

/// A mirror root and the location it was found to stand for.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct MirrorInput {
    /// The directory as given.
    pub path: String,
    /// The bucket it mirrors (`null` when unknown).
    pub bucket: Option<String>,
    /// Its key prefix inside the bucket.
    pub prefix: String,
}

/// What the run was asked to do.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Inputs {
    /// Mirror roots.
    pub mirrors: Vec<MirrorInput>,
    /// Key files and how many keys each held.
    pub public_keys: Vec<KeyFileSummary>,
    /// `--start-time`.
    #[schemars(with = "Option<String>", extend("format" = "date-time"))]
    pub start_time: Option<Timestamp>,
    /// `--end-time`.
    #[schemars(with = "Option<String>", extend("format" = "date-time"))]
    pub end_time: Option<Timestamp>,
    /// Checkpoints of earlier audits the mirror was checked against (`--checkpoint`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(min = 1))]
    pub checkpoints: Vec<crate::checkpoint::CheckpointUsed>,
    /// The chains examined (`--account-id`, `--region`, `--trail-arn`,
    /// `--trail`); absent when every chain was.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "crate::selection::Selection")]
    pub selection: Option<crate::selection::Selection>,
    /// When the mirror was taken: `--collected-at`, or the end of the
    /// earliest collection record (`trailproof collect`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub collected_at: Option<Timestamp>,
    /// The collection records found in the roots, each checked against its root.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(min = 1))]
    pub collections: Vec<crate::custody::CollectionUsed>,
    /// The shard of a plan this report covers (`verify --plan --shard`): a
    /// partial report, for `trailproof merge`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "crate::shard::ShardUsed")]
    pub shard: Option<crate::shard::ShardUsed>,
    /// The shards whose partial reports `trailproof merge` joined into this one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(min = 1))]
    pub shards: Vec<crate::shard::ShardUsed>,
}

/// Digest counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct LogCounts {
    /// Distinct log files listed by the digests.
    pub listed: usize,
    /// Present and matching their hash.
    pub valid: usize,
    /// Missing, modified, malformed or at an unsafe path.
    pub invalid: usize,
    /// Listed only by unverified digests, so not checked.
    pub unverified: usize,
    /// Listed, but unreadable by this user (or in a folder that is): not examined.
    pub unreadable: usize,
    /// In the mirror, inside covered time, listed by no digest.
    pub unreferenced: usize,
    /// In the mirror, listed by no digest, in time no digest present covers
    /// (validation was off, or the digest that listed it is missing).
    pub not_covered: usize,
    /// Listed only by digests an earlier audit's checkpoint vouches for
    /// (`--incremental`): present, but taken from that audit, not hashed again.
    pub trusted: usize,
    /// Uncompressed bytes hashed.
    pub uncompressed_bytes: u64,
}

impl DigestCounts {
    /// Adds `other`'s counts to these.
    pub(crate) fn add(&mut self, other: &DigestCounts) {
        self.total += other.total;
        self.valid += other.valid;
        self.invalid += other.invalid;
        self.unverified += other.unverified;
        self.missing += other.missing;
    }
}

impl LogCounts {
    /// Adds `other`'s counts to these.
    pub(crate) fn add(&mut self, other: &LogCounts) {
        self.listed += other.listed;
        self.valid += other.valid;
        self.invalid += other.invalid;
        self.unverified += other.unverified;
        self.unreadable += other.unreadable;
        self.unreferenced += other.unreferenced;
        self.not_covered += other.not_covered;
        self.trusted += other.trusted;
        self.uncompressed_bytes += other.uncompressed_bytes;
    }
}

/// Finding counts by severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct FindingCounts {
    /// Error-severity findings.
    pub errors: usize,
    /// Warning-severity findings.
    pub warnings: usize,
}

/// Totals of the run: always the sum of the chains' counts and of
/// [`Summary::outside_chains`].
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Summary {
    /// Digest counts.
    pub digests: DigestCounts,
    /// Log counts.
    pub logs: LogCounts,
    /// Finding counts.
    pub findings: FindingCounts,
    /// What belongs to no chain (a digest whose name and content name no
    /// chain, a log file in no chain's location).
    pub outside_chains: OutsideChains,
}

/// Counts of what belongs to no chain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct OutsideChains {
    /// Digest counts.
    pub digests: DigestCounts,
    /// Log counts.
    pub logs: LogCounts,
}

/// One chain's part of the report.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
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
    #[schemars(with = "String", extend("enum" = ["standard", "backfill"]))]
    pub kind: ChainKind,
    /// Buckets its digests lie in.
    pub buckets: Vec<String>,
    /// Oldest digest.
    pub first_digest: Option<String>,
    /// Newest digest.
    pub last_digest: Option<String>,
    /// `digestStartTime` of the oldest parsed digest.
    #[schemars(with = "Option<String>", extend("format" = "date-time"))]
    pub start_time: Option<Timestamp>,
    /// `digestEndTime` of the newest parsed digest.
    #[schemars(with = "Option<String>", extend("format" = "date-time"))]
    pub end_time: Option<Timestamp>,
    /// Stretches of its timeline that no digest covers (restarts after
    /// logging or validation was off, `chain.gap`).
    pub gaps: usize,
    /// Digest counts.
    pub digests: DigestCounts,
    /// Counts of the logs its digests list (and unreferenced logs in its time).
    pub logs: LogCounts,
    /// Its coverage timeline: consecutive stretches from its first digest's
    /// start to its last digest's end, each with a status.
    pub timeline: Vec<Segment>,
    /// The part an earlier audit verified and `--incremental` took from its
    /// checkpoint: log files only its digests list were not hashed again.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "crate::checkpoint::TrustedPart")]
    pub trusted: Option<crate::checkpoint::TrustedPart>,
}

/// Everything a run concluded.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    #[schemars(extend("const" = SCHEMA_VERSION))]
    pub schema_version: u32,
    /// The tool.
    pub tool: Tool,
    /// When the run started (with `run.started_at` and `run.finished_at`, the
    /// only fields that differ between runs on the same mirror and machine).
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub generated_at: Timestamp,
    /// Command line, host, user, start and end.
    pub run: Run,
    /// `pass`, `fail` or `incomplete`.
    pub verdict: Verdict,
    /// The verdict under `--fail-on`, and the exit status.
    pub gate: Gate,
    /// What was verified.
    pub inputs: Inputs,
    /// Totals.
    pub summary: Summary,
    /// Per chain.
    pub chains: Vec<ChainReport>,
    /// Per partition (one day's log folder of one place), in the order
    /// checked.
    pub partitions: Vec<crate::partition::PartitionReport>,
    /// Every finding, sorted by object, code and message.
    pub findings: Vec<Finding>,
    /// Every chain's newest digest, for `--save-checkpoint` (not in the JSON report).
    #[serde(skip)]
    pub heads: Vec<crate::checkpoint::ChainHead>,
    /// SHA-256 (hex) of the JSON report the run wrote, if it wrote one.
    #[serde(skip)]
    pub json_sha256: Option<String>,
}

impl Report {
    /// Records what `--incremental` took from the checkpoints, per chain.
    pub fn trust(&mut self, parts: Vec<crate::checkpoint::TrustedPart>) {
        for part in parts {
            if let Some(chain) = self.chains.iter_mut().find(|c| c.id == part.chain) {
                chain.trusted = Some(part);
            }
        }
    }

    /// The checkpoint of this run (`--save-checkpoint`): its heads, partitions, verdict, key
    /// files, and the SHA-256 of the JSON report it wrote.
    #[must_use]
    pub fn checkpoint(&self) -> crate::checkpoint::Checkpoint {
        let report = self;
        let verdict = serde_json::to_value(report.verdict)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        crate::checkpoint::Checkpoint {
            schema: crate::checkpoint::SCHEMA.to_owned(),
            schema_version: crate::checkpoint::SCHEMA_VERSION,
            tool: crate::checkpoint::ToolVersion {
                name: report.tool.name.to_owned(),
                version: report.tool.version.to_owned(),
            },
            created_at: report.generated_at,
            verdict,
            report_sha256: report.json_sha256.clone(),
            public_keys: report
                .inputs
                .public_keys
                .iter()
                .map(|k| crate::checkpoint::KeyFileHash {
                    path: k.path.clone(),
                    sha256: hex::encode(k.sha256),
                })
                .collect(),
            chains: report.heads.clone(),
            partitions: report
                .partitions
                .iter()
                .map(|p| crate::checkpoint::PartitionHead {
                    id: p.id.clone(),
                    newest_digest: p.newest_digest.clone(),
                    digests: p.digests,
                    log_files_listed: p.log_files_listed,
                    log_files_valid: p.log_files_valid,
                })
                .collect(),
        }
    }

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
        logs: &LogTally,
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
        let tally = tally::tally(records, chains, logs, &findings);
        let evidence = TimelineEvidence::new(records, logs, &findings, &errors_by_object);
        let chain_reports: Vec<ChainReport> = chains
            .iter()
            .zip(&tally.chains)
            .enumerate()
            .map(|(index, (chain, counts))| chain_report(index, chain, counts, records, &evidence))
            .collect();
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
        let verdict = Verdict::of(&findings);
        Report {
            schema_version: SCHEMA_VERSION,
            tool: Tool::THIS,
            generated_at: started,
            run: Run {
                command_line: options.invocation.clone(),
                ..Run::this(started)
            },
            verdict,
            gate: Gate::new(verdict, finding_counts.warnings, options.fail_on),
            inputs: Inputs::new(options, inventory, keys),
            summary: Summary {
                digests: tally.total.digests,
                logs: tally.total.logs,
                findings: finding_counts,
                outside_chains: OutsideChains {
                    digests: tally.outside.digests,
                    logs: tally.outside.logs,
                },
            },
            chains: chain_reports,
            partitions: Vec::new(),
            findings,
            heads: Vec::new(),
            json_sha256: None,
        }
    }

    /// The verdict about the evidence.
    #[must_use]
    pub fn verdict(&self) -> Verdict {
        self.verdict
    }

    /// The exit status the run should end with (0 pass, 1 fail, 2
    /// incomplete), under its `--fail-on` setting.
    #[must_use]
    pub fn exit_status(&self) -> u8 {
        self.gate.exit_status
    }

    /// The verdict line every renderer shows: what the evidence shows and,
    /// where `--fail-on` changes the outcome, what the gate made of it.
    #[must_use]
    pub fn headline(&self) -> String {
        let trusted = self.chains.iter().filter(|c| c.trusted.is_some()).count();
        if trusted == 0 {
            return self.verdict_line();
        }
        format!(
            "{}; INCREMENTAL: {} log file(s) of {trusted} chain(s) were taken from earlier audits' checkpoints, not hashed again",
            self.verdict_line(),
            self.summary.logs.trusted
        )
    }

    /// The verdict in one line.
    fn verdict_line(&self) -> String {
        let counts = self.summary.findings;
        let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
        match (self.verdict, self.gate.exit_status) {
            (Verdict::Pass, 0) if counts.warnings == 0 => "PASS: no error found".to_owned(),
            (Verdict::Pass, 0) => format!(
                "PASS: no error found ({} about what could not be proven)",
                plural(counts.warnings, "warning")
            ),
            (Verdict::Pass, _) => format!(
                "FAIL under --fail-on warning: no error, but {}",
                plural(counts.warnings, "warning")
            ),
            (Verdict::Fail, 0) => format!(
                "FAIL: the archive is not intact ({}; exit status 0 under --fail-on never)",
                plural(counts.errors, "error")
            ),
            (Verdict::Fail, _) => format!(
                "FAIL: the archive is not intact ({})",
                plural(counts.errors, "error")
            ),
            (Verdict::Incomplete, _) => "INCOMPLETE: part of the mirror could not be examined (see mirror.unreadable); no error was found in the rest".to_owned(),
        }
    }
}

/// Adds one listed log's outcome to `counts`.
/// One chain's part of the report: its members' span, its counts, and its
/// timeline (whose stretches not covered are its gaps).
fn chain_report(
    index: usize,
    chain: &Chain,
    counts: &tally::Counts,
    records: &[DigestRecord],
    evidence: &TimelineEvidence<'_>,
) -> ChainReport {
    let members: Vec<&DigestRecord> = chain
        .members
        .iter()
        .filter_map(|&m| records.get(m))
        .collect();
    let id = chain.key.id();
    let parsed = members.iter().filter_map(|r| r.parsed.as_ref().ok());
    let buckets: BTreeSet<String> = members.iter().map(|r| r.bucket.clone()).collect();
    let timeline = evidence.timeline(index, chain, &id);
    ChainReport {
        gaps: timeline
            .iter()
            .filter(|s| s.status == CoverageStatus::NotCovered)
            .count(),
        organization: chain.key.organization.clone(),
        account: chain.key.account.clone(),
        region: chain.key.region.clone(),
        trail: chain.key.trail.clone(),
        home_region: chain.key.home_region.clone(),
        kind: if chain.key.backfill {
            ChainKind::Backfill
        } else {
            ChainKind::Standard
        },
        buckets: buckets.into_iter().collect(),
        first_digest: members.first().map(|r| r.url()),
        last_digest: members.last().map(|r| r.url()),
        start_time: parsed.clone().map(|d| d.start_time).min(),
        end_time: parsed.map(|d| d.end_time).max(),
        digests: counts.digests,
        logs: counts.logs,
        timeline,
        id,
        trusted: None,
    }
}

/// The digests and their sidecars, for the manifest, in path order.
pub(crate) fn digest_entries(
    manifest: &mut Manifest,
    inventory: &Inventory,
    records: &[DigestRecord],
    membership: &crate::chain::Membership<'_>,
) {
    let sidecar_rel = |rel: &str| format!("{rel}{}", crate::mirror::SIDECAR_SUFFIX);
    for (index, record) in records.iter().enumerate() {
        let chain = membership.index(index);
        let Some(file) = inventory.files.get(record.file) else {
            continue;
        };
        let root = file.root;
        if let Some(stored) = record.sidecar_stored() {
            manifest.add_mirror_file(
                EvidenceKind::Metadata,
                root,
                sidecar_rel(&file.rel).into(),
                chain,
                stored,
                true,
            );
        }
        if let Some(stored) = record.stored {
            let rel = file.rel.clone();
            manifest.add_mirror_file(EvidenceKind::Digest, root, rel, chain, stored, true);
        }
    }
    manifest.sort();
}

/// The key files, for the manifest.
pub(crate) fn key_entries(manifest: &mut Manifest, keys: &KeyRing) {
    for key_file in keys.files() {
        let stored = crate::gzip::StoredHash {
            sha256: key_file.sha256,
            len: key_file.size,
        };
        manifest.add_external(EvidenceKind::PublicKey, &key_file.path, stored);
    }
}

/// What the timelines are drawn from, gathered once for all chains.
struct TimelineEvidence<'a> {
    records: &'a [DigestRecord],
    errors_by_object: &'a BTreeSet<&'a str>,
    /// Records that list a missing, modified, malformed or unsafe log file.
    with_bad_logs: BTreeSet<usize>,
    /// Missing digests' times, by chain id.
    missing: BTreeMap<&'a str, Vec<Timestamp>>,
    /// Unreferenced log files' delivery times, by chain index.
    injected: BTreeMap<usize, Vec<Timestamp>>,
}

impl<'a> TimelineEvidence<'a> {
    fn new(
        records: &'a [DigestRecord],
        logs: &LogTally,
        findings: &'a [Finding],
        errors_by_object: &'a BTreeSet<&'a str>,
    ) -> Self {
        let with_bad_logs = logs.bad_listers.clone();
        let mut missing: BTreeMap<&str, Vec<Timestamp>> = BTreeMap::new();
        for finding in findings {
            if finding.code == crate::finding::FindingCode::DigestMissing
                && let Some(chain) = finding.chain.as_deref()
                && let Some(name) = finding.object.rsplit('/').next()
                && let Some((time, _)) = crate::mirror::digest_file_time(name)
            {
                missing.entry(chain).or_default().push(time);
            }
        }
        let mut injected: BTreeMap<usize, Vec<Timestamp>> = BTreeMap::new();
        for u in &logs.unreferenced {
            if let (Some(chain), Some(time)) = (u.chain, u.time) {
                injected.entry(chain).or_default().push(time);
            }
        }
        TimelineEvidence {
            records,
            errors_by_object,
            with_bad_logs,
            missing,
            injected,
        }
    }

    fn timeline(&self, index: usize, chain: &Chain, id: &str) -> Vec<Segment> {
        let hour = jiff::SignedDuration::from_hours(1);
        let mut marks: Vec<Segment> = Vec::new();
        for &member in chain.members.iter().chain(&chain.moved) {
            let Some(record) = self.records.get(member) else {
                continue;
            };
            let window = match &record.parsed {
                Ok(d) => Some((d.start_time, d.end_time)),
                Err(_) => record.time().map(|t| (t.checked_sub(hour).unwrap_or(t), t)),
            };
            let Some((start, end)) = window else { continue };
            let status = if self.errors_by_object.contains(record.url().as_str())
                || self.with_bad_logs.contains(&member)
            {
                CoverageStatus::Tampered
            } else if record.is_authentic() {
                CoverageStatus::Verified
            } else {
                CoverageStatus::Unsigned
            };
            marks.push(Segment { start, end, status });
        }
        for &time in self.missing.get(id).into_iter().flatten() {
            marks.push(Segment {
                start: time.checked_sub(hour).unwrap_or(time),
                end: time,
                status: CoverageStatus::Missing,
            });
        }
        for &time in self.injected.get(&index).into_iter().flatten() {
            let (start, end) = timeline::hour_of(time);
            marks.push(Segment {
                start,
                end,
                status: CoverageStatus::Tampered,
            });
        }
        timeline::build(&marks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::FindingCode;

    fn found(codes: &[FindingCode]) -> Vec<Finding> {
        codes
            .iter()
            .map(|&code| Finding::new(code, "s3://b/k", "m"))
            .collect()
    }

    #[test]
    fn the_verdict_follows_the_findings() {
        use FindingCode as C;
        assert_eq!(Verdict::of(&[]), Verdict::Pass);
        // Warnings that leave nothing unexamined still pass.
        assert_eq!(
            Verdict::of(&found(&[C::DigestUnsigned, C::ChainGap])),
            Verdict::Pass
        );
        assert_eq!(
            Verdict::of(&found(&[C::MirrorUnreadable])),
            Verdict::Incomplete
        );
        assert_eq!(
            Verdict::of(&found(&[C::DigestNotExamined])),
            Verdict::Incomplete
        );
        // Any error fails, whatever else was found.
        assert_eq!(Verdict::of(&found(&[C::LogModified])), Verdict::Fail);
        assert_eq!(
            Verdict::of(&found(&[
                C::MirrorUnreadable,
                C::DigestUnsigned,
                C::LogMissing
            ])),
            Verdict::Fail
        );
    }
}
