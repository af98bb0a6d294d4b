//! `trailproof merge`: joins the shards' partial reports and writes the
//! reports a single run gives.

use crate::args::MergeArgs;
use crate::failure::CannotRun;
use trailproof::report::ReportFormat;
use trailproof::text::escape_control;

/// Merges, writes every report asked for, and returns the exit status the
/// merged report's gate decides.
pub(crate) fn run(args: &MergeArgs) -> Result<u8, Vec<CannotRun>> {
    let wanted = args.reports.wanted();
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
    let targets = crate::failure::report_targets(&wanted, &inputs)?;
    let fail_on = args.reports.fail_on();
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
    crate::failure::write_reports(&wanted, targets, &render)?;
    Ok(merged.report.gate.exit_status)
}
