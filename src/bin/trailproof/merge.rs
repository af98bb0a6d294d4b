//! `trailproof merge`: joins the shards' partial reports and writes the
//! reports a single run gives.

use crate::args::{FailOn, MergeArgs};
use crate::failure::CannotRun;
use std::io::Write as _;
use trailproof::report::ReportFormat;
use trailproof::text::escape_control;

/// Merges, writes every report asked for, and returns the exit status the
/// merged report's gate decides.
pub(crate) fn run(args: &MergeArgs) -> Result<u8, Vec<CannotRun>> {
    let mut wanted: Vec<(ReportFormat, Option<&std::path::Path>)> =
        vec![(args.format, args.output.as_deref())];
    wanted.extend(args.reports.iter().map(|(f, p)| (*f, Some(p.as_path()))));
    if let Some((format, _)) = wanted.iter().find(|(f, _)| {
        !matches!(
            f,
            ReportFormat::Json | ReportFormat::Human | ReportFormat::Sarif | ReportFormat::Markdown
        )
    }) {
        return Err(vec![CannotRun {
            message: format!("merge does not write the {} report", format.name()),
            help: "merge writes json, human, sarif and markdown; the manifest, JUnit and HTML reports hold what each shard read: write them per shard (--report FORMAT=PATH on each verify)",
        }]);
    }
    let inputs = trailproof::output::Inputs::new(&[], &args.parts);
    let named: Vec<(&'static str, &std::path::Path)> = wanted
        .iter()
        .filter_map(|(f, p)| Some((f.name(), (*p)?)))
        .collect();
    let targets = trailproof::output::check_all(&named, &inputs)
        .map_err(|errors| errors.into_iter().map(CannotRun::from).collect::<Vec<_>>())?;
    let fail_on = match args.fail_on {
        FailOn::Error => trailproof::report::FailOn::Error,
        FailOn::Warning => trailproof::report::FailOn::Warning,
        FailOn::Never => trailproof::report::FailOn::Never,
    };
    let run = trailproof::report::Run::this(jiff::Timestamp::now());
    let merged = trailproof::merge::merge(&args.parts, fail_on, run).map_err(|e| {
        vec![CannotRun {
            message: escape_control(&e.to_string()).into_owned(),
            help: "give the JSON report of every shard of one plan, each once, from the same command but for --shard",
        }]
    })?;
    // The parts' manifests are read through once before any report is
    // written: a part that disagrees leaves no report behind.
    if let Err(e) = merged.write_json(&mut std::io::sink()) {
        return Err(vec![CannotRun {
            message: escape_control(&e.to_string()).into_owned(),
            help: "give the JSON report of every shard of one plan, each once, from the same command but for --shard, collected up to the same --until",
        }]);
    }
    let render = |format: ReportFormat, out: &mut dyn std::io::Write| match format {
        ReportFormat::Json => merged.write_json(out),
        other => merged.report.write(other, out),
    };
    let mut failures = Vec::new();
    let mut targets = targets.into_iter();
    for (format, path) in &wanted {
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
        Ok(merged.report.gate.exit_status)
    } else {
        Err(failures)
    }
}
