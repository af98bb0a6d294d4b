//! The command line: commands, options, their help, and the parsing that
//! clap's derive cannot express (mirrors and key files in either order).

use clap::builder::TypedValueParser as _;
use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use trailproof::report::ReportFormat;
use trailproof::text::escape_control;

/// The exit statuses, for `--help` and the man pages.
macro_rules! exit_status {
    () => {
        "\
Exit status:
  0  the evidence examined is intact (verdict pass; warnings fail only with --fail-on warning)
  1  the evidence is not intact: a finding at or above --fail-on (missing, modified, injected,
     misplaced or out-of-order files, bad signatures); `trailproof explain CODE` says what each means
  2  the run could not be done or completed: a mistake in the command (wrong key file, bad path,
     no permission, a report that would overwrite an input) or part of the mirror could not be
     examined (verdict incomplete); never an accusation, nothing was found to be tampered with"
    };
}

/// Examples of `verify`, for its `--help` and man page.
macro_rules! verify_examples {
    () => {
        "\
Examples:
  # the bundled demo mirror
  trailproof verify testdata/demo/mirror --public-keys testdata/demo/public-keys.json
  # a bucket copied with aws s3 sync, and the region's keys saved beside it
  aws cloudtrail list-public-keys --region eu-west-1 > keys.json
  trailproof verify ./mirror --public-keys keys.json --report html=case.html --report json=case.json
  # like validate-logs: one trail, one account, one day, every valid file listed
  trailproof verify ./mirror --public-keys keys.json \\
      --trail-arn arn:aws:cloudtrail:eu-west-1:111122223333:trail/main --account-id 111122223333 \\
      --start-time 2026-03-01 --end-time 2026-03-02 --verbose
  # a CI gate: JSON on stdout (errors too), SARIF for code scanning, warnings fail too
  trailproof verify ./mirror --public-keys keys.json --format json --report sarif=out.sarif --fail-on warning
  # the next audit, against this one's checkpoint
  trailproof verify ./mirror --public-keys keys.json --save-checkpoint audit-2026-03.json
  trailproof verify ./mirror --public-keys keys.json --checkpoint audit-2026-03.json --incremental
"
    };
}

/// Prove, offline, whether a local mirror of an AWS CloudTrail log archive is intact.
#[derive(Parser)]
#[command(name = "trailproof", version, long_version = crate::version::long(), about,
          long_about = None, after_help = concat!("\
Examples:
  trailproof verify testdata/demo/mirror --public-keys testdata/demo/public-keys.json
  trailproof explain log.modified
  trailproof completions bash > ~/.local/share/bash-completion/completions/trailproof
  trailproof man verify | man -l -

", exit_status!()))]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// What `trailproof` is asked to do.
#[derive(Subcommand)]
pub(crate) enum Command {
    /// Verify digests, chains, signatures and log files of one or more mirrors.
    #[command(override_usage = VERIFY_USAGE, after_help = concat!(verify_examples!(), "\n", exit_status!()))]
    Verify(Box<VerifyArgs>),
    /// Download a bucket's CloudTrail evidence (logs, digests, signatures, public keys)
    /// into a folder, with a collection record that `verify` checks the folder against.
    #[cfg(feature = "collect")]
    #[command(after_help = "\
Examples:
  trailproof collect s3://my-trail-bucket evidence/my-trail-bucket
  trailproof collect s3://my-trail-bucket/prefix evidence/b --since 2026-01-01 --until 2026-04-01
  trailproof collect s3://org-trail evidence/org --account 111122223333 --region eu-west-1 --versions
  trailproof verify evidence/my-trail-bucket --public-keys evidence/my-trail-bucket/.trailproof-collection/public-keys/*.json

Run it again with the same arguments to finish an interrupted collection: only what is
missing is fetched, and no local file is ever overwritten (a differing one is reported).

Exit status: 0 every object was collected and checked, 1 a local file differed from the
bucket's object (kept, reported in the record), 2 it could not run or some objects could
not be fetched (run it again).")]
    Collect(Box<CollectArgs>),
    /// Split one audit into shards, balanced by bytes, for a batch engine to run in parallel
    /// (`verify --plan PLAN --shard K` runs one; `merge` joins their reports).
    #[command(after_help = "\
Examples:
  trailproof plan evidence/my-trail-bucket --shards 8 --output plan.json
  trailproof plan evidence/b/.trailproof-collection/objects.jsonl --shards 64 --output plan.json
  trailproof verify evidence/my-trail-bucket --public-keys keys.json --plan plan.json --shard 3 \\
      --format json --output part-3.json

A source is a mirror folder (its files are counted) or the objects.jsonl listing of a
`trailproof collect` folder (no file needs to be present). Every place (account folder and
region) goes to one shard; each shard lists the S3 prefixes a node fetches to run it.

Exit status: 0 the plan was written, 2 it could not be made.")]
    Plan(PlanArgs),
    /// Join the partial JSON reports of a plan's shards into the reports a single run gives.
    #[command(after_help = "\
Examples:
  trailproof merge part-*.json --format json --output report.json
  trailproof merge part-*.json --report json=report.json --report sarif=report.sarif

Every part must be a shard of the same plan, of the same command but for --shard, and every
shard must be there once. Formats: json, human, sarif, markdown (the human report has no
evidence excerpts: the merge reads no evidence).

Exit status: 0 pass, 1 the evidence is not intact (as --fail-on says), 2 incomplete, or the
parts could not be merged (a part missing, given twice, of another plan or run).")]
    Merge(MergeArgs),
    /// Verify a CloudTrail Lake query export (result files and their signed
    /// result_sign.json) offline, like `aws cloudtrail verify-query-results`.
    #[command(after_help = "\
Examples:
  trailproof verify-query-results lake-export/ --public-keys lake-keys.json
  trailproof verify-query-results lake-export/ --public-keys lake-keys.json --format json --output report.json

The key file is what `aws cloudtrail list-public-keys --start-time QUERY_COMPLETE_TIME` prints
for the export's region: a Lake key's Fingerprint is assigned by CloudTrail (no hash of the key),
so it is matched as written, as the AWS CLI matches it. Formats: human, json, sarif, markdown,
junit, manifest.

Exit status: 0 the results are intact, 1 they are not (as --fail-on says), 2 the export
could not be checked (no such folder, no key with the sign file's fingerprint, a file this user
cannot read).")]
    VerifyQueryResults(QueryArgs),
    /// Explain a finding code: what it means, its causes, what it proves, what to do.
    #[command(after_help = "\
Examples:
  trailproof explain log.modified
  trailproof explain --list

Exit status: 0 when the code is known, 2 when it is not (the closest codes are suggested).")]
    Explain(ExplainArgs),
    /// Print a shell completion script to stdout.
    #[command(after_help = "\
Examples:
  trailproof completions bash > ~/.local/share/bash-completion/completions/trailproof
  trailproof completions zsh > ~/.zfunc/_trailproof
  trailproof completions fish > ~/.config/fish/completions/trailproof.fish")]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) of trailproof or of one of its commands to stdout.
    #[command(after_help = "\
Examples:
  trailproof man | man -l -
  trailproof man verify > /usr/local/share/man/man1/trailproof-verify.1")]
    Man {
        /// The command whose page to print: verify, collect, explain, completions or man
        /// (default: trailproof itself).
        #[arg(value_name = "COMMAND")]
        command: Option<String>,
    },
}

/// `collect`'s arguments.
#[cfg(feature = "collect")]
#[derive(clap::Args)]
pub(crate) struct CollectArgs {
    /// The bucket and optional key prefix, e.g. s3://my-trail-bucket or s3://bucket/prefix.
    #[arg(value_name = "S3_URL", value_parser = parse_s3_url)]
    pub(crate) source: (String, String),
    /// The folder to fill: objects at DIR/<key>, the record in DIR/.trailproof-collection/.
    #[arg(value_name = "DIR")]
    pub(crate) dir: std::path::PathBuf,
    /// Only digests ending at or after T (and the logs they list).
    #[arg(long, value_name = "T", value_parser = trailproof::timearg::parse_time)]
    pub(crate) since: Option<jiff::Timestamp>,
    /// Only digests ending up to an hour after T (and the logs they list).
    #[arg(long, value_name = "T", value_parser = trailproof::timearg::parse_time)]
    pub(crate) until: Option<jiff::Timestamp>,
    /// Only this account's objects (repeatable).
    #[arg(long = "account", value_name = "ID", value_parser = parse_account)]
    pub(crate) accounts: Vec<String>,
    /// Only this delivering region's objects (repeatable).
    #[arg(long = "region", value_name = "REGION", value_parser = parse_region)]
    pub(crate) regions: Vec<String>,
    /// A shard plan (`trailproof plan`): take only the log files of --shard K's places, and
    /// every digest, what `verify --plan PLAN --shard K` reads.
    #[arg(long, value_name = "PLAN")]
    pub(crate) plan: Option<PathBuf>,
    /// The shard of --plan, from 0 (default: SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX or
    /// AWS_BATCH_JOB_ARRAY_INDEX).
    #[arg(long, value_name = "K", requires = "plan")]
    pub(crate) shard: Option<usize>,
    /// Also take noncurrent versions and delete markers (versioned buckets):
    /// `verify` then says when a missing log was deleted and whether the original survives.
    #[arg(long)]
    pub(crate) versions: bool,
    /// Downloads at once.
    #[arg(long, value_name = "N", default_value_t = 32)]
    pub(crate) jobs: usize,
    /// AWS profile (default: the standard credential chain).
    #[arg(long, value_name = "P")]
    pub(crate) profile: Option<String>,
    /// S3 (and STS) endpoint, for S3-compatible stores and tests; CloudTrail's
    /// follows AWS_ENDPOINT_URL_CLOUDTRAIL.
    #[arg(long, value_name = "URL")]
    pub(crate) endpoint_url: Option<String>,
    /// When progress is shown on stderr.
    #[arg(long, value_enum, value_name = "WHEN", default_value = "auto")]
    pub(crate) progress: ProgressWhen,
}

/// `s3://BUCKET[/PREFIX]`.
#[cfg(feature = "collect")]
fn parse_s3_url(value: &str) -> Result<(String, String), String> {
    let rest = value
        .strip_prefix("s3://")
        .ok_or_else(|| "expected s3://BUCKET or s3://BUCKET/PREFIX".to_owned())?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let valid = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    if !valid {
        return Err(format!(
            "{bucket:?} is not an S3 bucket name (3 to 63 lower-case letters, digits, dots, hyphens)"
        ));
    }
    Ok((bucket.to_owned(), prefix.to_owned()))
}

/// `explain`'s arguments.
#[derive(clap::Args)]
pub(crate) struct ExplainArgs {
    /// The finding code, e.g. log.modified.
    #[arg(
        value_name = "CODE",
        required_unless_present = "list",
        conflicts_with = "list"
    )]
    pub(crate) code: Option<String>,
    /// List every finding code with its severity and meaning.
    #[arg(long)]
    pub(crate) list: bool,
}

/// `verify`'s usage line: the mirrors may come before or after the keys.
const VERIFY_USAGE: &str = "trailproof verify [OPTIONS] <MIRROR>... --public-keys <FILE>...\n       trailproof verify [OPTIONS] --public-keys <FILE>... <MIRROR>...";

/// `verify`'s arguments.
#[derive(clap::Args)]
pub(crate) struct VerifyArgs {
    /// Mirror directories: what `aws s3 sync s3://BUCKET DIR` wrote, or sub-trees containing
    /// AWSLogs/ (before or after --public-keys).
    #[arg(value_name = "MIRROR")]
    pub(crate) mirrors: Vec<PathBuf>,
    /// Public keys: `aws cloudtrail list-public-keys` JSON, PEM keys or X.509 certificates, or
    /// the folder `trailproof collect` saved them in (DIR/.trailproof-collection/public-keys).
    /// Any other directory among the values is a MIRROR.
    #[arg(long = "public-keys", required = true, num_args = 1.., value_name = "FILE")]
    pub(crate) public_keys: Vec<PathBuf>,
    /// Report format on stdout (or --output): human (diagnostics, then a summary per chain),
    /// json, html, sarif, junit, markdown or manifest (sha256sum -c format). With json, an
    /// error that stops the run (exit 2) is a JSON document on stdout too.
    #[arg(long, value_name = "FORMAT", default_value = "human", value_parser = format_parser())]
    pub(crate) format: ReportFormat,
    /// Write the report to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Also write the report as FORMAT to PATH (repeatable): html, sarif, junit, markdown,
    /// json, manifest (sha256sum -c format) or human, e.g. --report html=case.html.
    #[arg(long = "report", value_name = "FORMAT=PATH", value_parser = parse_report)]
    pub(crate) reports: Vec<(ReportFormat, PathBuf)>,
    /// Which findings make the exit status 1: error (default), warning (errors or
    /// warnings) or never (exit 0 whatever was found; 2 still means the run failed).
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub(crate) fail_on: FailOn,
    /// Do not hash log files' stored (compressed) bytes for the evidence manifest
    /// (saves a few percent of the run time; the manifest then lists them without hashes).
    #[arg(long)]
    pub(crate) no_manifest: bool,
    /// Examine only digests from this time on: 2026-03-01, 2026-03-01T10:00:00Z,
    /// 2026-03-01T10:00:00+02:00, 2026-03-01 10:00, 20260301T100000Z (no zone = UTC).
    #[arg(long, value_name = "T", value_parser = trailproof::timearg::parse_time)]
    pub(crate) start_time: Option<jiff::Timestamp>,
    /// Examine only digests up to this time (plus one hour, like validate-logs); same forms.
    #[arg(long, value_name = "T", value_parser = trailproof::timearg::parse_time)]
    pub(crate) end_time: Option<jiff::Timestamp>,
    /// Bucket the mirrors hold (default: worked out from the digests).
    #[arg(long, visible_alias = "s3-bucket", value_name = "BUCKET")]
    pub(crate) bucket: Option<String>,
    /// Key prefix of the mirror roots inside the bucket (default: worked out from the digests).
    #[arg(long, visible_alias = "s3-prefix", value_name = "PREFIX")]
    pub(crate) prefix: Option<String>,
    /// Examine only the chains of this account (repeatable, or comma-separated), like
    /// validate-logs --account-id; other accounts' files are not judged.
    #[arg(long = "account-id", value_name = "ACCOUNT", value_delimiter = ',',
          value_parser = parse_account)]
    pub(crate) accounts: Vec<String>,
    /// Examine only the chains of this region (repeatable, or comma-separated).
    #[arg(long = "region", value_name = "REGION", value_delimiter = ',', value_parser = parse_region)]
    pub(crate) regions: Vec<String>,
    /// Examine only the chains of this trail (repeatable), like validate-logs --trail-arn:
    /// arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME.
    #[arg(long = "trail-arn", value_name = "ARN", value_parser = parse_trail_arn)]
    pub(crate) trail_arns: Vec<trailproof::TrailSelector>,
    /// Examine only the chains of the trail with this name, in any home region (repeatable).
    #[arg(long = "trail", value_name = "NAME", value_parser = parse_trail_name)]
    pub(crate) trail_names: Vec<trailproof::TrailSelector>,
    /// List every valid digest and log file, one line each on stderr, like validate-logs
    /// --verbose (the reports are unchanged).
    #[arg(long, short)]
    pub(crate) verbose: bool,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) jobs: Option<u16>,
    /// Progress on stderr: auto (a bar when stderr is a terminal), always (on a terminal the
    /// bar, otherwise, as in CI, a plain line every few seconds) or never.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ProgressWhen::Auto)]
    pub(crate) progress: ProgressWhen,
    /// No progress on stderr (the same as --progress never).
    #[arg(long, short)]
    pub(crate) quiet: bool,
    /// Largest inflated digest accepted, in MiB (1 to 65536); larger ones are digest.malformed.
    #[arg(long, value_name = "MIB", default_value_t = 64,
          value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub(crate) max_digest_mib: u64,
    /// Check the mirror against the checkpoint an earlier audit saved with --save-checkpoint
    /// (repeatable): each chain's newest digest then must still be there, unchanged, and the
    /// chain must go on through it (findings checkpoint.*).
    #[arg(long = "checkpoint", value_name = "FILE")]
    pub(crate) checkpoints: Vec<PathBuf>,
    /// With --checkpoint: take each chain's part up to its checkpointed head from that audit
    /// (its log files are not hashed again; the head must still be there, unchanged, with the
    /// chain going on through it). Digests after it, and the logs they list, are verified in
    /// full; every report says what was taken from which checkpoint.
    #[arg(long, requires = "checkpoints")]
    pub(crate) incremental: bool,
    /// After the run, save a checkpoint to FILE: each chain's newest digest (hashes and
    /// signature), the verdict, and the SHA-256 of the key files and of the JSON report.
    /// Keep it with the case file, outside the bucket, for the next audit's --checkpoint.
    #[arg(long, value_name = "FILE")]
    pub(crate) save_checkpoint: Option<PathBuf>,
    /// When the mirror was taken (same forms as --start-time): every chain must then reach to
    /// within --max-lag of it, since CloudTrail delivers a digest every hour while a trail
    /// logs; a chain that ends earlier is chain.ends_early, unless its trail's logs record
    /// logging stopped (chain.stopped, a warning naming when, who and from where).
    #[arg(long, value_name = "T", value_parser = trailproof::timearg::parse_time)]
    pub(crate) collected_at: Option<jiff::Timestamp>,
    /// How long before --collected-at a chain's newest digest may end: 90m, 2h, 1h30m (default 2h).
    #[arg(long, value_name = "DURATION", default_value = "2h", value_parser = parse_lag)]
    pub(crate) max_lag: jiff::SignedDuration,
    /// Memory for the digests' listings of log files, in MiB (16 to 1048576). Digests whose
    /// listing does not fit are still checked, but the log files they list are not
    /// (digest.not_examined, exit 2). Peak memory is about this plus 200 MiB.
    #[arg(long, value_name = "MIB", default_value_t = 2048,
          value_parser = clap::value_parser!(u64).range(16..=1_048_576))]
    pub(crate) memory_budget_mib: u64,
    /// A shard plan (`trailproof plan`): verify only one of its shards, and write a partial
    /// report for `trailproof merge`.
    #[arg(long, value_name = "PLAN")]
    pub(crate) plan: Option<PathBuf>,
    /// The shard of --plan to verify, from 0 (default: SLURM_ARRAY_TASK_ID,
    /// JOB_COMPLETION_INDEX or AWS_BATCH_JOB_ARRAY_INDEX).
    #[arg(long, value_name = "K", requires = "plan")]
    pub(crate) shard: Option<usize>,
}

/// `plan`'s arguments.
#[derive(clap::Args)]
pub(crate) struct PlanArgs {
    /// Mirror folders, or `trailproof collect` listings (DIR/.trailproof-collection/objects.jsonl).
    #[arg(value_name = "MIRROR_OR_LISTING", required = true)]
    pub(crate) sources: Vec<PathBuf>,
    /// How many shards (1 to 100000).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub(crate) shards: u32,
    /// Where to write the plan (JSON).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub(crate) output: PathBuf,
}

/// `verify-query-results`' arguments.
#[derive(clap::Args)]
pub(crate) struct QueryArgs {
    /// The export folder: result_sign.json and the result files it lists.
    #[arg(value_name = "EXPORT_DIR")]
    pub(crate) export: PathBuf,
    /// Public key files: `aws cloudtrail list-public-keys` output (repeatable).
    #[arg(long = "public-keys", value_name = "FILE", required = true, num_args = 1..)]
    pub(crate) public_keys: Vec<PathBuf>,
    /// Where the reports go, and the exit status.
    #[command(flatten)]
    pub(crate) reports: ReportArgs,
}

/// `merge`'s arguments.
#[derive(clap::Args)]
pub(crate) struct MergeArgs {
    /// Partial JSON reports: `verify --plan PLAN --shard K --format json` of every shard.
    #[arg(value_name = "PART", required = true)]
    pub(crate) parts: Vec<PathBuf>,
    /// Where the reports go, and the exit status.
    #[command(flatten)]
    pub(crate) reports: ReportArgs,
}

/// The report options `merge` and `verify-query-results` share with `verify`.
#[derive(clap::Args)]
pub(crate) struct ReportArgs {
    /// Report format on stdout (or --output): human (default), json, sarif, markdown, and for
    /// verify-query-results junit or manifest.
    #[arg(long, value_name = "FORMAT", default_value = "human", value_parser = format_parser())]
    pub(crate) format: ReportFormat,
    /// Write the report to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Also write the report as FORMAT to PATH (repeatable), e.g. --report sarif=report.sarif.
    #[arg(long = "report", value_name = "FORMAT=PATH", value_parser = parse_report)]
    pub(crate) reports: Vec<(ReportFormat, PathBuf)>,
    /// Which findings make the exit status 1: error (default), warning or never.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub(crate) fail_on: FailOn,
}

impl ReportArgs {
    /// Every report asked for: `--format` (to `--output` or stdout), then each `--report`.
    pub(crate) fn wanted(&self) -> Vec<(ReportFormat, Option<&std::path::Path>)> {
        let mut wanted = vec![(self.format, self.output.as_deref())];
        wanted.extend(self.reports.iter().map(|(f, p)| (*f, Some(p.as_path()))));
        wanted
    }

    /// `--fail-on` as the library takes it.
    pub(crate) fn fail_on(&self) -> trailproof::report::FailOn {
        match self.fail_on {
            FailOn::Error => trailproof::report::FailOn::Error,
            FailOn::Warning => trailproof::report::FailOn::Warning,
            FailOn::Never => trailproof::report::FailOn::Never,
        }
    }
}

/// Which findings fail the run (exit status 1).
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FailOn {
    /// Any error finding (the verdict is fail).
    Error,
    /// Any error or warning finding.
    Warning,
    /// Nothing: exit 0 whenever the run completes.
    Never,
}

/// When progress is shown on stderr.
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub(crate) enum ProgressWhen {
    /// A bar when stderr is a terminal, nothing otherwise.
    Auto,
    /// A bar on a terminal, a plain line every few seconds otherwise (CI logs).
    Always,
    /// Nothing.
    Never,
}

/// `--format`: one of [`ReportFormat::ALL`] by name.
fn format_parser() -> impl clap::builder::TypedValueParser<Value = ReportFormat> {
    clap::builder::PossibleValuesParser::new(ReportFormat::ALL.map(|(_, name)| name))
        .try_map(|name| ReportFormat::from_name(&name).ok_or("unknown format"))
}

/// `--max-lag`: a positive duration such as `90m`, `2h` or `1h30m`.
fn parse_lag(value: &str) -> Result<jiff::SignedDuration, String> {
    let lag: jiff::SignedDuration = value
        .parse()
        .map_err(|e| format!("expected a duration such as 90m, 2h or 1h30m: {e}"))?;
    if lag.is_negative() {
        return Err("the lag cannot be negative".to_owned());
    }
    Ok(lag)
}

/// `--account-id`: twelve digits.
fn parse_account(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(value.to_owned())
    } else {
        Err("expected an AWS account ID: twelve digits, e.g. 111122223333".to_owned())
    }
}

/// `--region`: a region name such as `eu-west-1`.
fn parse_region(value: &str) -> Result<String, String> {
    let value = value.trim();
    let shaped = value.split('-').count() >= 3
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if shaped {
        Ok(value.to_owned())
    } else {
        Err("expected a region name such as eu-west-1 or us-gov-west-1".to_owned())
    }
}

/// `--trail-arn`.
fn parse_trail_arn(value: &str) -> Result<trailproof::TrailSelector, String> {
    trailproof::TrailSelector::from_arn(value).map_err(|e| e.to_string())
}

/// `--trail`.
fn parse_trail_name(value: &str) -> Result<trailproof::TrailSelector, String> {
    trailproof::TrailSelector::from_name(value).map_err(|e| e.to_string())
}

/// `FORMAT=PATH` of `--report`.
fn parse_report(value: &str) -> Result<(ReportFormat, PathBuf), String> {
    let names = || {
        ReportFormat::ALL
            .iter()
            .map(|(_, n)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (name, path) = value.split_once('=').ok_or_else(|| {
        format!(
            "expected FORMAT=PATH, e.g. html=case.html (formats: {})",
            names()
        )
    })?;
    let format = ReportFormat::from_name(name)
        .ok_or_else(|| format!("unknown report format {name:?} (formats: {})", names()))?;
    if path.is_empty() {
        return Err(format!("no path after {name}="));
    }
    Ok((format, PathBuf::from(path)))
}

/// The clap command, unstyled when the arguments hold control characters
/// (so that [`crate::failure::usage_failure`] can escape what they hold).
pub(crate) fn command() -> clap::Command {
    let command = Cli::command();
    if crate::failure::arguments_hold_controls() {
        command.styles(clap::builder::Styles::plain())
    } else {
        command
    }
}

/// Parses the command line (see [`sort_operands`]).
pub(crate) fn parse() -> Result<Command, clap::Error> {
    let mut command = command();
    let matches = command.try_get_matches_from_mut(std::env::args_os())?;
    let parsed = Cli::from_arg_matches(&matches)?.command;
    let Command::Verify(mut args) = parsed else {
        return Ok(parsed);
    };
    sort_operands(&mut args, matches.subcommand_matches("verify"));
    match missing_operand(&args) {
        Some(message) => {
            let kind = clap::error::ErrorKind::MissingRequiredArgument;
            Err(match command.find_subcommand_mut("verify") {
                Some(verify) => verify.error(kind, message),
                None => command.error(kind, message),
            })
        }
        None => Ok(Command::Verify(args)),
    }
}

/// `--public-keys` takes every value up to the next option, so
/// `--public-keys k.json MIRROR` gives it the mirror too: its values that
/// are directories (a key file never is, a mirror always is) are moved to
/// the mirrors, which keep their command-line order.
fn sort_operands(args: &mut VerifyArgs, matches: Option<&clap::ArgMatches>) {
    let positions = |id: &str, paths: Vec<PathBuf>| {
        let indices: Vec<usize> = matches
            .and_then(|m| m.indices_of(id))
            .map(Iterator::collect)
            .unwrap_or_default();
        paths
            .into_iter()
            .enumerate()
            .map(|(n, path)| (indices.get(n).copied().unwrap_or(usize::MAX), path))
            .collect::<Vec<_>>()
    };
    let mut mirrors = positions("mirrors", std::mem::take(&mut args.mirrors));
    let (dirs, keys): (Vec<_>, Vec<_>) =
        positions("public_keys", std::mem::take(&mut args.public_keys))
            .into_iter()
            .partition(|(_, path)| path.is_dir() && !is_collected_keys(path));
    mirrors.extend(dirs);
    mirrors.sort_by_key(|(index, _)| *index);
    args.mirrors = mirrors.into_iter().map(|(_, path)| path).collect();
    args.public_keys = keys.into_iter().map(|(_, path)| path).collect();
}

/// The public-key folder `trailproof collect` fills
/// (`.trailproof-collection/public-keys`): a folder that is keys, not a mirror.
fn is_collected_keys(path: &std::path::Path) -> bool {
    path.file_name().is_some_and(|n| n == "public-keys")
        && path
            .parent()
            .and_then(|p| p.file_name())
            .is_some_and(|n| n == trailproof::layout::COLLECTION_DIR)
}

/// What is missing once the operands are sorted: a mirror or a key file.
fn missing_operand(args: &VerifyArgs) -> Option<String> {
    let list = |paths: &[PathBuf]| {
        let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        escape_control(&names.join(", ")).into_owned()
    };
    if args.mirrors.is_empty() {
        let verb = if args.public_keys.len() == 1 {
            "is not a directory"
        } else {
            "are not directories"
        };
        Some(format!(
            "no <MIRROR> directory given: {} {verb}, so taken as --public-keys",
            list(&args.public_keys)
        ))
    } else if args.public_keys.is_empty() {
        let verb = if args.mirrors.len() == 1 {
            "is a directory"
        } else {
            "are directories"
        };
        Some(format!(
            "no --public-keys file given: {} {verb}, so taken as <MIRROR>",
            list(&args.mirrors)
        ))
    } else {
        None
    }
}

/// Whether the raw arguments ask for a JSON report on stdout (`--format json`
/// without `--output`), looked at even when they do not parse, so that a CI
/// job reading stdout gets a JSON error document and never plain text.
pub(crate) fn wants_json_on_stdout() -> bool {
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut json = false;
    let mut output = false;
    let mut iter = args.iter().skip(1).peekable();
    while let Some(arg) = iter.next() {
        if arg == "--" {
            break;
        }
        if arg == "--format" {
            json = iter.peek().is_some_and(|v| v.as_str() == "json");
        } else if let Some(value) = arg.strip_prefix("--format=") {
            json = value == "json";
        } else if arg == "--output" || arg.starts_with("--output=") {
            output = true;
        }
    }
    json && !output
}
