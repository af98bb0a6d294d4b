//! The `trailproof` command: parses arguments, runs the library, renders the
//! report and maps the verdict to the exit status (0 pass, 1 fail, 2 cannot run).

use clap::builder::TypedValueParser as _;
use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand, ValueEnum};
use miette::Diagnostic;
use std::borrow::Cow;
use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use trailproof::output;
use trailproof::report::{ReportFormat, human};
use trailproof::text::escape_control;
use trailproof::{Options, Report};

/// Prove, offline, whether a local mirror of an AWS CloudTrail log archive is intact.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Verify digests, chains, signatures and log files of one or more mirrors.
    #[command(override_usage = VERIFY_USAGE)]
    Verify(VerifyArgs),
}

/// `verify`'s usage line: the mirrors may come before or after the keys.
const VERIFY_USAGE: &str = "trailproof verify [OPTIONS] <MIRROR>... --public-keys <FILE>...\n       trailproof verify [OPTIONS] --public-keys <FILE>... <MIRROR>...";

#[derive(clap::Args)]
struct VerifyArgs {
    /// Mirror directories: what `aws s3 sync s3://BUCKET DIR` wrote, or sub-trees containing
    /// AWSLogs/ (before or after --public-keys).
    #[arg(value_name = "MIRROR")]
    mirrors: Vec<PathBuf>,
    /// Public keys: `aws cloudtrail list-public-keys` JSON, PEM keys or X.509 certificates.
    /// A directory among the values is a MIRROR (a key file is never a directory).
    #[arg(long = "public-keys", required = true, num_args = 1.., value_name = "FILE")]
    public_keys: Vec<PathBuf>,
    /// Report format on stdout (or --output): human (diagnostics, then a summary per chain),
    /// json, html, sarif, junit, markdown or manifest (sha256sum -c format).
    #[arg(long, value_name = "FORMAT", default_value = "human", value_parser = format_parser())]
    format: ReportFormat,
    /// Write the report to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Also write the report as FORMAT to PATH (repeatable): html, sarif, junit, markdown,
    /// json, manifest (sha256sum -c format) or human, e.g. --report html=case.html.
    #[arg(long = "report", value_name = "FORMAT=PATH", value_parser = parse_report)]
    reports: Vec<(ReportFormat, PathBuf)>,
    /// Which findings make the exit status 1: error (default), warning (errors or
    /// warnings) or never (exit 0 whatever was found; 2 still means the run failed).
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    fail_on: FailOn,
    /// Do not hash log files' stored (compressed) bytes for the evidence manifest
    /// (saves a few percent of the run time; the manifest then lists them without hashes).
    #[arg(long)]
    no_manifest: bool,
    /// Examine only digests from this time on: 2026-03-01, 2026-03-01T10:00:00Z,
    /// 2026-03-01T10:00:00+02:00, 2026-03-01 10:00, 20260301T100000Z (no zone = UTC).
    #[arg(long, value_name = "T", value_parser = trailproof::timearg::parse_time)]
    start_time: Option<jiff::Timestamp>,
    /// Examine only digests up to this time (plus one hour, like validate-logs); same forms.
    #[arg(long, value_name = "T", value_parser = trailproof::timearg::parse_time)]
    end_time: Option<jiff::Timestamp>,
    /// Bucket the mirrors hold (default: worked out from the digests).
    #[arg(long)]
    bucket: Option<String>,
    /// Key prefix of the mirror roots inside the bucket (default: worked out from the digests).
    #[arg(long)]
    prefix: Option<String>,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// No progress bar (it is drawn only when stderr is a terminal anyway).
    #[arg(long, short)]
    quiet: bool,
    /// Largest inflated digest accepted, in MiB (1 to 65536); larger ones are digest.malformed.
    #[arg(long, value_name = "MIB", default_value_t = 64,
          value_parser = clap::value_parser!(u64).range(1..=65536))]
    max_digest_mib: u64,
    /// Check the mirror against the checkpoint an earlier audit saved with --save-checkpoint
    /// (repeatable): each chain's newest digest then must still be there, unchanged, and the
    /// chain must go on through it (findings checkpoint.*).
    #[arg(long = "checkpoint", value_name = "FILE")]
    checkpoints: Vec<PathBuf>,
    /// With --checkpoint: take each chain's part up to its checkpointed head from that audit
    /// (its log files are not hashed again; the head must still be there, unchanged, with the
    /// chain going on through it). Digests after it, and the logs they list, are verified in
    /// full; every report says what was taken from which checkpoint.
    #[arg(long, requires = "checkpoints")]
    incremental: bool,
    /// After the run, save a checkpoint to FILE: each chain's newest digest (hashes and
    /// signature), the verdict, and the SHA-256 of the key files and of the JSON report.
    /// Keep it with the case file, outside the bucket, for the next audit's --checkpoint.
    #[arg(long, value_name = "FILE")]
    save_checkpoint: Option<PathBuf>,
    /// When the mirror was taken (same forms as --start-time): every chain must then reach to
    /// within --max-lag of it, since CloudTrail delivers a digest every hour while a trail
    /// logs; a chain that ends earlier is chain.ends_early, unless its trail's logs record
    /// logging stopped (chain.stopped, a warning naming when, who and from where).
    #[arg(long, value_name = "T", value_parser = trailproof::timearg::parse_time)]
    collected_at: Option<jiff::Timestamp>,
    /// How long before --collected-at a chain's newest digest may end: 90m, 2h, 1h30m (default 2h).
    #[arg(long, value_name = "DURATION", default_value = "2h", value_parser = parse_lag)]
    max_lag: jiff::SignedDuration,
    /// Memory for the digests' listings of log files, in MiB (16 to 1048576). Digests whose
    /// listing does not fit are still checked, but the log files they list are not
    /// (digest.not_examined, exit 2). Peak memory is about this plus 200 MiB.
    #[arg(long, value_name = "MIB", default_value_t = 2048,
          value_parser = clap::value_parser!(u64).range(16..=1_048_576))]
    memory_budget_mib: u64,
}

/// Which findings fail the run (exit status 1).
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FailOn {
    /// Any error finding (the verdict is fail).
    Error,
    /// Any error or warning finding.
    Warning,
    /// Nothing: exit 0 whenever the run completes.
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

/// Parses the command line (see [`sort_operands`]).
fn parse_args() -> Result<VerifyArgs, clap::Error> {
    let mut command = Cli::command();
    if arguments_hold_controls() {
        // Unstyled, so that usage_failure can escape what the arguments hold.
        command = command.styles(clap::builder::Styles::plain());
    }
    let matches = command.try_get_matches_from_mut(std::env::args_os())?;
    let Command::Verify(mut args) = Cli::from_arg_matches(&matches)?.command;
    sort_operands(&mut args, matches.subcommand_matches("verify"));
    match missing_operand(&args) {
        Some(message) => {
            let kind = clap::error::ErrorKind::MissingRequiredArgument;
            Err(match command.find_subcommand_mut("verify") {
                Some(verify) => verify.error(kind, message),
                None => command.error(kind, message),
            })
        }
        None => Ok(args),
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
            .partition(|(_, path)| path.is_dir());
    mirrors.extend(dirs);
    mirrors.sort_by_key(|(index, _)| *index);
    args.mirrors = mirrors.into_iter().map(|(_, path)| path).collect();
    args.public_keys = keys.into_iter().map(|(_, path)| path).collect();
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

/// Whether an argument holds a character [`escape_control`] escapes.
fn arguments_hold_controls() -> bool {
    std::env::args_os().any(|a| matches!(escape_control(&a.to_string_lossy()), Cow::Owned(_)))
}

/// Prints a command-line error (or help) the way clap does; when the
/// arguments hold terminal control characters, unstyled and escaped.
fn usage_failure(error: &clap::Error) -> ExitCode {
    let code = u8::try_from(error.exit_code()).unwrap_or(2);
    if arguments_hold_controls() {
        let text = error.render().ansi().to_string();
        for line in text.lines() {
            eprintln!("{}", escape_control(line));
        }
    } else {
        let _ = error.print();
    }
    ExitCode::from(code)
}

/// Why the run could not be done (exit 2), with what to do, for miette.
/// Paths in the message have their control characters escaped.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{message}")]
#[diagnostic(code(trailproof::cannot_run))]
struct CannotRun {
    message: String,
    #[help]
    help: &'static str,
}

impl From<trailproof::Error> for CannotRun {
    fn from(error: trailproof::Error) -> CannotRun {
        CannotRun {
            message: escape_control(&error.to_string()).into_owned(),
            help: error.help(),
        }
    }
}

fn main() -> ExitCode {
    // Paths and S3 URLs in errors must survive copy and paste: never wrap them.
    let _ = miette::set_hook(Box::new(|_| {
        Box::new(miette::MietteHandlerOpts::new().wrap_lines(false).build())
    }));
    let args = match parse_args() {
        Ok(args) => args,
        Err(error) => return usage_failure(&error),
    };
    match run(args) {
        Ok(status) => ExitCode::from(status),
        Err(failures) => {
            for failure in failures {
                eprintln!("{:?}", miette::Report::new(failure));
            }
            ExitCode::from(2)
        }
    }
}

/// The library's options from the arguments.
fn options(args: &VerifyArgs) -> Options {
    let mut options = Options::new(args.mirrors.clone(), args.public_keys.clone());
    options.invocation = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    options.manifest_hashes = !args.no_manifest;
    options.fail_on = match args.fail_on {
        FailOn::Error => trailproof::report::FailOn::Error,
        FailOn::Warning => trailproof::report::FailOn::Warning,
        FailOn::Never => trailproof::report::FailOn::Never,
    };
    options.start_time = args.start_time;
    options.end_time = args.end_time;
    options.bucket.clone_from(&args.bucket);
    options.prefix.clone_from(&args.prefix);
    options.jobs = args.jobs.map(usize::from);
    options.max_digest_bytes = args.max_digest_mib.saturating_mul(1 << 20);
    options.memory_budget = args.memory_budget_mib.saturating_mul(1 << 20);
    options.checkpoints.clone_from(&args.checkpoints);
    options.incremental = args.incremental;
    options.collected_at = args.collected_at;
    options.max_lag = args.max_lag;
    options
}

/// Runs the command; `Ok(status)` with the exit status the report's gate
/// decided (0 pass, 1 fail, 2 incomplete). Every report target is checked
/// before any evidence is read; a report that cannot be written does not
/// stop the others.
fn run(args: VerifyArgs) -> Result<u8, Vec<CannotRun>> {
    let options = options(&args);
    let (mut opened, checkpoint_target) = open_targets(&args, &options)?;
    let mut stdout = std::io::stdout();
    let to_stdout_too = args.output.is_none() && args.format != ReportFormat::Human;
    let mut outputs: Vec<(ReportFormat, &mut (dyn std::io::Write + Send))> = opened
        .iter_mut()
        .map(|(format, open)| (*format, open as &mut (dyn std::io::Write + Send)))
        .collect();
    if to_stdout_too {
        outputs.push((args.format, &mut stdout));
    }
    let bar = (!args.quiet && std::io::stderr().is_terminal()).then(Bar::new);
    let silent = trailproof::progress::Silent;
    let progress: &dyn trailproof::progress::Progress = match &bar {
        Some(bar) => bar,
        None => &silent,
    };
    let result = trailproof::verify_into(&options, progress, outputs);
    if let Some(bar) = &bar {
        bar.bar.finish_and_clear();
    }
    let (report, errors) = result.map_err(|error| vec![CannotRun::from(error)])?;
    let mut failures = Vec::new();
    let mut failed = vec![false; opened.len() + 1];
    for (index, error) in errors {
        if let Some(flag) = failed.get_mut(index) {
            *flag = true;
        }
        match opened.get(index) {
            Some((_, open)) => failures.push(CannotRun::from(open.failed(error))),
            // stdout: a closed pipe (`| head`) is not a failure of the verification.
            None if error.kind() == std::io::ErrorKind::BrokenPipe => {}
            None => failures.push(stdout_failure(&error)),
        }
    }
    for ((_, open), failed) in opened.into_iter().zip(failed) {
        if !failed && let Err(error) = open.commit() {
            failures.push(CannotRun::from(error));
        }
    }
    if args.output.is_none() && args.format == ReportFormat::Human {
        let color = std::io::stdout().is_terminal() && color_allowed();
        if let Err(failure) =
            to_stdout(|out| out.write_all(render_human(&report, color).as_bytes()))
        {
            failures.push(failure);
        }
    }
    if let Some(target) = checkpoint_target {
        let checkpoint = report.checkpoint();
        if let Err(error) = target.write(|out| checkpoint.write(out)) {
            failures.push(CannotRun::from(error));
        }
    }
    if !failures.is_empty() {
        return Err(failures);
    }
    Ok(report.exit_status())
}

/// The report targets, opened, and the checkpoint target (written after the run).
type Targets = (
    Vec<(ReportFormat, output::OpenReport)>,
    Option<output::ReportTarget>,
);

/// Checks every report target before anything is read, and opens them.
fn open_targets(args: &VerifyArgs, options: &Options) -> Result<Targets, Vec<CannotRun>> {
    let requests: Vec<(ReportFormat, &std::path::Path)> = args
        .reports
        .iter()
        .map(|(format, path)| (*format, path.as_path()))
        .chain(args.output.iter().map(|p| (args.format, p.as_path())))
        .collect();
    let named: Vec<(&'static str, &std::path::Path)> = requests
        .iter()
        .map(|(format, path)| (format.name(), *path))
        .chain(
            args.save_checkpoint
                .iter()
                .map(|p| ("checkpoint", p.as_path())),
        )
        .collect();
    let inputs = output::Inputs::new(&options.mirrors, &options.public_keys)
        .with_checkpoints(&options.checkpoints);
    let mut targets = output::check_all(&named, &inputs)
        .map_err(|errors| errors.into_iter().map(CannotRun::from).collect::<Vec<_>>())?;
    let checkpoint = if args.save_checkpoint.is_some() {
        targets.pop()
    } else {
        None
    };
    let mut opened = Vec::with_capacity(targets.len());
    let mut failures = Vec::new();
    for ((format, _), target) in requests.iter().zip(&targets) {
        match target.open() {
            Ok(open) => opened.push((*format, open)),
            Err(error) => failures.push(CannotRun::from(error)),
        }
    }
    if failures.is_empty() {
        Ok((opened, checkpoint))
    } else {
        Err(failures)
    }
}

fn stdout_failure(error: &std::io::Error) -> CannotRun {
    CannotRun {
        message: format!("cannot write the report to stdout: {error}"),
        help: "Check where stdout goes (a full disk, a closed terminal), or use --output FILE.",
    }
}

/// The human report, coloured or not.
fn render_human(report: &Report, color: bool) -> String {
    human::render(
        report,
        human::Style {
            color,
            ..human::Style::default()
        },
    )
}

/// Writes to stdout; a closed pipe (`| head`) is not a failure of the verification.
fn to_stdout(
    fill: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Result<(), CannotRun> {
    let mut stdout = std::io::stdout().lock();
    match fill(&mut stdout).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(stdout_failure(&e)),
        Ok(()) => Ok(()),
    }
}

/// A progress bar on stderr: phase, files, bytes, rate and ETA.
struct Bar {
    bar: indicatif::ProgressBar,
    files_done: std::sync::Arc<std::sync::atomic::AtomicU64>,
    files_total: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Bar {
    fn new() -> Bar {
        use std::sync::atomic::{AtomicU64, Ordering};
        let files_done = std::sync::Arc::new(AtomicU64::new(0));
        let files_total = std::sync::Arc::new(AtomicU64::new(0));
        let (done, total) = (files_done.clone(), files_total.clone());
        let style = indicatif::ProgressStyle::with_template(
            "{msg:>9} [{bar:30}] {files} files  {bytes}/{total_bytes}  {bytes_per_sec}  ETA {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .with_key(
            "files",
            move |_: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(
                    w,
                    "{}/{}",
                    done.load(Ordering::Relaxed),
                    total.load(Ordering::Relaxed)
                );
            },
        )
        .progress_chars("=> ");
        let bar = indicatif::ProgressBar::new(0).with_style(style);
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        Bar {
            bar,
            files_done,
            files_total,
        }
    }
}

impl trailproof::progress::Progress for Bar {
    fn start(&self, phase: trailproof::progress::Phase, files: u64, bytes: u64) {
        use std::sync::atomic::Ordering;
        self.files_done.store(0, Ordering::Relaxed);
        self.files_total.store(files, Ordering::Relaxed);
        self.bar.set_length(bytes);
        self.bar.set_position(0);
        self.bar.reset_eta();
        self.bar.set_message(phase.name());
    }

    fn advance(&self, bytes: u64) {
        self.files_done
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.bar.inc(bytes);
    }
}

/// NO_COLOR (any value) and TERM=dumb turn colour off.
fn color_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
}
