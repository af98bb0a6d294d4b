//! What the command prints when it cannot run (exit 2): miette diagnostics
//! on stderr, and with `--format json` a JSON failure document on stdout.

use miette::Diagnostic;
use std::borrow::Cow;
use std::process::ExitCode;
use trailproof::report::ReportFormat;
use trailproof::report::failure::{FailureEntry, FailureReport};
use trailproof::text::escape_control;

/// Why the run could not be done (exit 2), with what to do, for miette.
/// Paths in the message have their control characters escaped.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{message}")]
#[diagnostic(code(trailproof::cannot_run))]
pub(crate) struct CannotRun {
    pub(crate) message: String,
    #[help]
    pub(crate) help: &'static str,
}

impl From<trailproof::Error> for CannotRun {
    fn from(error: trailproof::Error) -> CannotRun {
        CannotRun {
            message: escape_control(&error.to_string()).into_owned(),
            help: error.help(),
        }
    }
}

/// Whether an argument holds a character [`escape_control`] escapes.
pub(crate) fn arguments_hold_controls() -> bool {
    std::env::args_os().any(|a| matches!(escape_control(&a.to_string_lossy()), Cow::Owned(_)))
}

/// The command line, escaped, for the failure document.
fn command_line() -> Vec<String> {
    std::env::args_os()
        .map(|a| escape_control(&a.to_string_lossy()).into_owned())
        .collect()
}

/// Prints the JSON failure document on stdout (a closed pipe is ignored).
fn print_json(errors: Vec<FailureEntry>) {
    use std::io::Write as _;
    let document = FailureReport::new(command_line(), errors).to_json();
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(document.as_bytes())
        .and_then(|()| stdout.flush());
}

/// Reports the failures of a run that could not be done; exit status 2.
pub(crate) fn cannot_run(failures: Vec<CannotRun>, json: bool) -> ExitCode {
    if json {
        print_json(
            failures
                .iter()
                .map(|f| FailureEntry {
                    message: f.message.clone(),
                    help: f.help.to_owned(),
                })
                .collect(),
        );
    }
    for failure in failures {
        eprintln!("{:?}", miette::Report::new(failure));
    }
    ExitCode::from(2)
}

/// Prints a command-line error (or help) the way clap does; when the
/// arguments hold terminal control characters, unstyled and escaped. A
/// usage error (exit 2) of a run asking for JSON on stdout is a JSON
/// failure document there too.
pub(crate) fn usage_failure(error: &clap::Error) -> ExitCode {
    let code = u8::try_from(error.exit_code()).unwrap_or(2);
    let text = error.render().to_string();
    if code == 2 && crate::args::wants_json_on_stdout() {
        let message = text
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("invalid command line")
            .trim_start_matches("error: ");
        print_json(vec![FailureEntry {
            message: escape_control(message).into_owned(),
            help: "Correct the command line; `trailproof verify --help` lists the options."
                .to_owned(),
        }]);
    }
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

/// Writes each wanted report with `render`: to its checked target (in the
/// order of `wanted`'s paths), or to stdout; every failure is returned.
pub(crate) fn write_reports(
    wanted: &[(ReportFormat, Option<&std::path::Path>)],
    targets: Vec<trailproof::output::ReportTarget>,
    render: &dyn Fn(ReportFormat, &mut dyn std::io::Write) -> std::io::Result<()>,
) -> Result<(), Vec<CannotRun>> {
    use std::io::Write as _;
    let mut failures = Vec::new();
    let mut targets = targets.into_iter();
    for (format, path) in wanted {
        let result = match path {
            Some(_) => match targets.next() {
                Some(target) => target
                    .write(|out| render(*format, out))
                    .map_err(CannotRun::from),
                None => Ok(()),
            },
            None => {
                let mut stdout = std::io::stdout().lock();
                render(*format, &mut stdout)
                    .and_then(|()| stdout.flush())
                    .map_err(|e| CannotRun {
                        message: format!("cannot write to stdout: {e}"),
                        help: "check where stdout goes",
                    })
            }
        };
        if let Err(failure) = result {
            failures.push(failure);
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures)
    }
}

/// Checks where the wanted reports go (never over an input, a link or a
/// device), in the order of `wanted`'s paths.
pub(crate) fn report_targets(
    wanted: &[(ReportFormat, Option<&std::path::Path>)],
    inputs: &trailproof::output::Inputs,
) -> Result<Vec<trailproof::output::ReportTarget>, Vec<CannotRun>> {
    let named: Vec<(&'static str, &std::path::Path)> = wanted
        .iter()
        .filter_map(|(f, p)| Some((f.name(), (*p)?)))
        .collect();
    trailproof::output::check_all(&named, inputs)
        .map_err(|errors| errors.into_iter().map(CannotRun::from).collect())
}
