//! The machine-readable report: one JSON document, schema version 1.

use super::Report;

/// Renders the report as pretty-printed JSON with a final newline. Output is
/// deterministic: the same mirror gives the same bytes apart from `generated_at`.
///
/// # Errors
/// Only if serialization fails (it cannot for this data model).
pub fn render(report: &Report) -> Result<String, serde_json::Error> {
    let mut text = serde_json::to_string_pretty(report)?;
    text.push('\n');
    Ok(text)
}
