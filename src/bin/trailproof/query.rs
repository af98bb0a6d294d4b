//! `trailproof verify-query-results`: checks a CloudTrail Lake query export
//! and writes its reports.

use crate::args::QueryArgs;
use crate::failure::CannotRun;
use trailproof::query::{QueryError, QueryReport};
use trailproof::report::ReportFormat;
use trailproof::text::escape_control;

/// Checks the export, writes every report asked for, and returns the exit
/// status the report's gate decides.
pub(crate) fn run(args: &QueryArgs) -> Result<u8, Vec<CannotRun>> {
    let started = jiff::Timestamp::now();
    let wanted = args.reports.wanted();
    if let Some((format, _)) = wanted.iter().find(|(f, _)| *f == ReportFormat::Html) {
        return Err(vec![CannotRun {
            message: format!(
                "verify-query-results does not write the {} report",
                format.name()
            ),
            help: "verify-query-results writes human, json, sarif, markdown, junit and manifest reports",
        }]);
    }
    let inputs =
        trailproof::output::Inputs::new(std::slice::from_ref(&args.export), &args.public_keys);
    let targets = crate::failure::report_targets(&wanted, &inputs)?;
    let fail_on = args.reports.fail_on();
    let (checked, keys) = trailproof::query::verify_export(&args.export, &args.public_keys)
        .map_err(|e| {
            vec![CannotRun {
                message: escape_control(&e.to_string()).into_owned(),
                help: help(&e),
            }]
        })?;
    let report = QueryReport::new(checked, keys, fail_on, started);
    let render = |format: ReportFormat, out: &mut dyn std::io::Write| report.write(format, out);
    crate::failure::write_reports(&wanted, targets, &render)?;
    Ok(report.exit_status())
}

fn help(error: &QueryError) -> &'static str {
    match error {
        QueryError::KeyNotSupplied { .. } => {
            "pass the key list of the export's region and time: aws cloudtrail list-public-keys --region REGION --start-time QUERY_COMPLETE_TIME > lake-keys.json (on a machine with network), then --public-keys lake-keys.json"
        }
        QueryError::Keys(_) => {
            "give the JSON `aws cloudtrail list-public-keys` prints for the export's region"
        }
        QueryError::Unreadable { .. } | QueryError::NotAnExport { .. } => {
            "give the folder that holds result_sign.json and the result files (a copy of the query's S3 export location)"
        }
    }
}
