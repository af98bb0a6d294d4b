//! `trailproof verify`: runs the library on the arguments, writes the
//! reports and maps the verdict to the exit status.

use crate::args::{FailOn, ProgressWhen, VerifyArgs};
use crate::failure::CannotRun;
use std::io::{IsTerminal as _, Write as _};
use trailproof::output;
use trailproof::report::{ReportFormat, human};
use trailproof::{Options, Report};

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
    options.selection = trailproof::Selection {
        accounts: args.accounts.clone(),
        regions: args.regions.clone(),
        trails: args
            .trail_arns
            .iter()
            .chain(&args.trail_names)
            .cloned()
            .collect(),
        scope: None,
    };
    options
}

/// The scope of the shard of `plan` to run (`--shard`, or the engine's index variable).
fn shard_scope(
    plan: &std::path::Path,
    shard: Option<usize>,
) -> Result<trailproof::shard::ShardScope, CannotRun> {
    let failed = |e: trailproof::shard::PlanError| CannotRun {
        message: trailproof::text::escape_control(&e.to_string()).into_owned(),
        help: "make the plan with `trailproof plan MIRROR --shards N --output PLAN`, and run shards 0 to N-1 of it",
    };
    trailproof::shard::scope_of_run(plan, shard).map_err(failed)
}

/// How progress is shown: `--progress`, `--quiet` and `--verbose`.
fn progress_choice(args: &VerifyArgs) -> crate::progress::Choice {
    let when = if args.quiet {
        ProgressWhen::Never
    } else {
        args.progress
    };
    let terminal = std::io::stderr().is_terminal();
    let human_on_stdout = args.output.is_none() && args.format == ReportFormat::Human;
    crate::progress::Choice {
        bar: when != ProgressWhen::Never && terminal,
        plain: when == ProgressWhen::Always && !terminal,
        verbose: args.verbose.then_some(if human_on_stdout {
            crate::progress::Stream::Stdout
        } else {
            crate::progress::Stream::Stderr
        }),
    }
}

/// Runs the command; `Ok(status)` with the exit status the report's gate
/// decided (0 pass, 1 fail, 2 incomplete). Every report target is checked
/// before any evidence is read; a report that cannot be written does not
/// stop the others.
pub(crate) fn run(args: &VerifyArgs) -> Result<u8, Failed> {
    let mut options = options(args);
    if let Some(plan) = &args.plan {
        options.selection.scope =
            Some(shard_scope(plan, args.shard).map_err(|e| Failed::before_report(vec![e]))?);
    }
    let (mut opened, checkpoint_target) =
        open_targets(args, &options).map_err(Failed::before_report)?;
    let mut stdout = std::io::stdout();
    let to_stdout_too = args.output.is_none() && args.format != ReportFormat::Human;
    let mut outputs: Vec<(ReportFormat, &mut (dyn std::io::Write + Send))> = opened
        .iter_mut()
        .map(|(format, open)| (*format, open as &mut (dyn std::io::Write + Send)))
        .collect();
    if to_stdout_too {
        outputs.push((args.format, &mut stdout));
    }
    let display = crate::progress::Feedback::new(&progress_choice(args));
    let result = trailproof::verify_into(&options, &display, outputs);
    display.finish();
    let (report, errors) =
        result.map_err(|error| Failed::before_report(vec![CannotRun::from(error)]))?;
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
        return Err(Failed {
            failures,
            report_written: true,
        });
    }
    Ok(report.exit_status())
}

/// Why a run failed (exit 2), and whether its report had already gone out.
pub(crate) struct Failed {
    /// What went wrong.
    pub(crate) failures: Vec<CannotRun>,
    /// Whether the report was already written to stdout (then no JSON
    /// failure document may follow it there).
    pub(crate) report_written: bool,
}

impl Failed {
    fn before_report(failures: Vec<CannotRun>) -> Failed {
        Failed {
            failures,
            report_written: false,
        }
    }
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
    let inputs = output::Inputs::new(&options.mirrors, &options.public_keys).with_checkpoints(
        &options
            .checkpoints
            .iter()
            .chain(&args.plan)
            .cloned()
            .collect::<Vec<_>>(),
    );
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

/// NO_COLOR (any value) and TERM=dumb turn colour off.
fn color_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
}
