//! The `trailproof` command: parses arguments, runs the library, renders the
//! report and maps the verdict to the exit status (0 pass, 1 fail, 2 cannot run).

mod args;
#[cfg(feature = "collect")]
mod collect;
mod docs;
mod explain;
mod failure;
mod merge;
mod plan;
mod progress;
mod query;
mod run;
mod version;

use args::Command;
use std::io::Write as _;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Paths and S3 URLs in errors must survive copy and paste: never wrap them.
    let _ = miette::set_hook(Box::new(|_| {
        Box::new(miette::MietteHandlerOpts::new().wrap_lines(false).build())
    }));
    let command = match args::parse() {
        Ok(command) => command,
        Err(error) => return failure::usage_failure(&error),
    };
    match command {
        Command::Verify(args) => match run::run(&args) {
            Ok(status) => ExitCode::from(status),
            Err(failed) => failure::cannot_run(
                failed.failures,
                !failed.report_written && args::wants_json_on_stdout(),
            ),
        },
        #[cfg(feature = "collect")]
        Command::Collect(args) => match collect::run(&args) {
            Ok(status) => ExitCode::from(status),
            Err(failure) => failure::cannot_run(vec![failure], false),
        },
        Command::Plan(args) => match plan::run(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(failure) => failure::cannot_run(vec![failure], false),
        },
        Command::Merge(args) => match merge::run(&args) {
            Ok(status) => ExitCode::from(status),
            Err(failures) => failure::cannot_run(failures, false),
        },
        Command::VerifyQueryResults(args) => match query::run(&args) {
            Ok(status) => ExitCode::from(status),
            Err(failures) => failure::cannot_run(failures, false),
        },
        Command::Explain(args) => {
            let text = match (args.list, args.code) {
                (true, _) => Ok(explain::list()),
                (false, Some(code)) => explain::lookup(&code),
                (false, None) => Ok(explain::list()),
            };
            match text {
                Ok(text) => print(text.as_bytes()),
                Err(failure) => failure::cannot_run(vec![failure], false),
            }
        }
        Command::Completions { shell } => print(&docs::completions(shell)),
        Command::Man { command } => match docs::man(command.as_deref()) {
            Ok(page) => print(&page),
            Err(failure) => failure::cannot_run(vec![failure], false),
        },
    }
}

/// Writes to stdout; a closed pipe (`| head`) is not a failure.
fn print(bytes: &[u8]) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            eprintln!("trailproof: cannot write to stdout: {e}");
            ExitCode::from(2)
        }
        _ => ExitCode::SUCCESS,
    }
}
