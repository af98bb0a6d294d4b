//! The `trailproof` command: parses arguments, runs the library, renders the
//! report and maps the verdict to the exit status (0 pass, 1 fail, 2 cannot run).

use clap::builder::TypedValueParser as _;
use clap::{Parser, Subcommand, ValueEnum};
use miette::{Diagnostic, IntoDiagnostic as _};
use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use trailproof::report::{ReportFormat, human};
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
    Verify(VerifyArgs),
}

#[derive(clap::Args)]
struct VerifyArgs {
    /// Mirror directories: what `aws s3 sync s3://BUCKET DIR` wrote, or sub-trees containing AWSLogs/.
    #[arg(required = true, value_name = "MIRROR")]
    mirrors: Vec<PathBuf>,
    /// Public keys: `aws cloudtrail list-public-keys` JSON, PEM keys or X.509 certificates.
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
    /// Examine only digests from this time on (RFC 3339, e.g. 2026-03-01T00:00:00Z).
    #[arg(long, value_name = "T")]
    start_time: Option<jiff::Timestamp>,
    /// Examine only digests up to this time (plus one hour, like validate-logs).
    #[arg(long, value_name = "T")]
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
    /// Largest inflated digest accepted, in MiB; larger ones are digest.malformed.
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    max_digest_mib: u64,
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

/// An [`trailproof::Error`] with its help text, for miette.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{error}")]
#[diagnostic(code(trailproof::cannot_run))]
struct CannotRun {
    error: trailproof::Error,
    #[help]
    help: &'static str,
}

fn main() -> ExitCode {
    // Paths and S3 URLs in errors must survive copy and paste: never wrap them.
    let _ = miette::set_hook(Box::new(|_| {
        Box::new(miette::MietteHandlerOpts::new().wrap_lines(false).build())
    }));
    let cli = Cli::parse();
    match run(cli) {
        Ok(status) => ExitCode::from(status),
        Err(report) => {
            eprintln!("{report:?}");
            ExitCode::from(2)
        }
    }
}

/// Runs the command; `Ok(status)` with the exit status the report's gate
/// decided (0 pass, 1 fail, 2 incomplete).
fn run(cli: Cli) -> miette::Result<u8> {
    let Command::Verify(args) = cli.command;
    let mut options = Options::new(args.mirrors, args.public_keys);
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
    options.bucket = args.bucket;
    options.prefix = args.prefix;
    options.jobs = args.jobs.map(usize::from);
    options.max_digest_bytes = args.max_digest_mib.saturating_mul(1 << 20);
    let outputs = args
        .output
        .iter()
        .chain(args.reports.iter().map(|(_, p)| p));
    for output in outputs {
        if let Some(mirror) = trailproof::mirror::root_containing(&options.mirrors, output) {
            let error = trailproof::Error::OutputInsideMirror {
                path: output.clone(),
                mirror,
            };
            return Err(CannotRun {
                help: error.help(),
                error,
            }
            .into());
        }
    }
    let bar = (!args.quiet && std::io::stderr().is_terminal()).then(Bar::new);
    let result = match &bar {
        Some(bar) => trailproof::verify_with_progress(&options, bar),
        None => trailproof::verify(&options),
    };
    if let Some(bar) = &bar {
        bar.bar.finish_and_clear();
    }
    let report = result.map_err(|error| CannotRun {
        help: error.help(),
        error,
    })?;
    for (format, path) in &args.reports {
        write_report(&report, *format, Some(path))?;
    }
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    match args.format {
        ReportFormat::Human => {
            let text = human::render(
                &report,
                human::Style {
                    color: to_terminal && color_allowed(),
                    ..human::Style::default()
                },
            );
            write_output(args.output.as_deref(), &text)?;
        }
        other => write_report(&report, other, args.output.as_deref())?,
    }
    Ok(report.exit_status())
}

/// Writes `report` as `format` to `path` (stdout when `None`).
fn write_report(
    report: &Report,
    format: ReportFormat,
    path: Option<&std::path::Path>,
) -> miette::Result<()> {
    match path {
        Some(path) => write_file(path, format.name(), |out| report.write(format, out)),
        None => {
            let mut stdout = std::io::stdout().lock();
            match report
                .write(format, &mut stdout)
                .and_then(|()| stdout.flush())
            {
                // A closed pipe (`| head`) is not a failure of the verification.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                other => other.into_diagnostic(),
            }
        }
    }
}

/// Writes a report file: into a new temporary file in the target's folder,
/// renamed over `path` once complete. A symbolic or hard link at `path` is
/// replaced, never written through, so no report can overwrite evidence.
fn write_file(
    path: &std::path::Path,
    what: &str,
    fill: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> miette::Result<()> {
    let cannot_write = |e: &dyn std::fmt::Display| {
        miette::miette!(
            help = "Choose a writable path outside the mirror.",
            "cannot write the {what} report to {}: {e}",
            path.display()
        )
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let mut file = tempfile::Builder::new()
        .prefix(".trailproof-report-")
        .tempfile_in(dir)
        .map_err(|e| cannot_write(&e))?;
    {
        let mut out = std::io::BufWriter::new(file.as_file_mut());
        fill(&mut out)
            .and_then(|()| out.flush())
            .map_err(|e| cannot_write(&e))?;
    }
    file.persist(path).map_err(|e| cannot_write(&e.error))?;
    Ok(())
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

fn write_output(path: Option<&std::path::Path>, text: &str) -> miette::Result<()> {
    match path {
        Some(path) => write_file(path, "human", |out| out.write_all(text.as_bytes())),
        None => {
            let mut stdout = std::io::stdout().lock();
            match stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
            {
                // A closed pipe (`| head`) is not a failure of the verification.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                other => other.into_diagnostic(),
            }
        }
    }
}
