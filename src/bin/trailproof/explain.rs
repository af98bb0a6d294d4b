//! `trailproof explain CODE` and `trailproof explain --list`.

use crate::failure::CannotRun;
use trailproof::FindingCode;
use trailproof::explain::{Explanation, code_named, codes_like, explain};
use trailproof::text::escape_control;

/// The text `explain` prints for `code`.
pub(crate) fn render(e: &Explanation) -> String {
    format!(
        "{code} ({severity})\n\n\
         Meaning:\n  {meaning}\n\n\
         Common causes:\n  {causes}\n\n\
         What it proves:\n  {proves}\n\n\
         What it does not prove:\n  {not}\n\n\
         What to do:\n  {action}\n\n\
         Exit status of a run with it: {exit}\n",
        code = e.code,
        severity = e.severity,
        meaning = e.meaning,
        causes = e.causes,
        proves = e.proves,
        not = e.does_not_prove,
        action = e.action,
        exit = e.exit_status(),
    )
}

/// Every code, its severity and meaning, one per line.
pub(crate) fn list() -> String {
    let width = FindingCode::ALL
        .iter()
        .map(|c| c.as_str().len())
        .max()
        .unwrap_or(0);
    FindingCode::ALL
        .iter()
        .map(|c| {
            format!(
                "{:width$}  {:7}  {}\n",
                c.as_str(),
                c.severity().to_string(),
                c.summary()
            )
        })
        .collect()
}

/// The explanation of the code named `name`, or why there is none.
pub(crate) fn lookup(name: &str) -> Result<String, CannotRun> {
    if let Some(code) = code_named(name) {
        return Ok(render(&explain(code)));
    }
    let like: Vec<&str> = codes_like(name).iter().map(|c| c.as_str()).collect();
    let message = if like.is_empty() {
        format!("no finding code is named {:?}", escape_control(name))
    } else {
        format!(
            "no finding code is named {:?}; did you mean {}?",
            escape_control(name),
            like.join(" or ")
        )
    };
    Err(CannotRun {
        message,
        help: "`trailproof explain --list` lists every finding code.",
    })
}
