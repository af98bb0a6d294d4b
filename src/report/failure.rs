//! The JSON document a run that could not be done writes where its JSON
//! report would have gone (`--format json`, exit status 2), so that a CI job
//! parsing stdout never gets plain text. Same family as the report: the
//! same `schema_version` and `tool`, told apart by `kind: "error"`.

use super::{SCHEMA_VERSION, Tool};
use jiff::Timestamp;
use schemars::JsonSchema;
use serde::Serialize;

/// Why a run could not be done (exit status 2), as JSON.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct FailureReport {
    /// The report schema version ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// Always `error`: no report follows, nothing was concluded about the evidence.
    #[schemars(extend("const" = "error"))]
    pub kind: &'static str,
    /// The tool that wrote it.
    pub tool: Tool,
    /// When it was written.
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub generated_at: Timestamp,
    /// Always 2: the run could not be done or completed; not a verdict on the evidence.
    #[schemars(extend("const" = 2))]
    pub exit_status: u8,
    /// The command line, one argument per element.
    pub command_line: Vec<String>,
    /// What stopped the run, each with what to do.
    #[schemars(length(min = 1))]
    pub errors: Vec<FailureEntry>,
}

/// One reason a run could not be done.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct FailureEntry {
    /// What went wrong (control characters escaped).
    pub message: String,
    /// What to do about it.
    pub help: String,
}

/// `$id` of the failure document's schema.
pub const SCHEMA_ID: &str = "urn:trailproof:error:schema-version-1";

/// The JSON Schema (draft 2020-12) of the failure document, generated from
/// its type; `schemas/trailproof-error.schema.json` is this value, pretty-printed.
#[must_use]
pub fn json_schema() -> serde_json::Value {
    super::json::root_schema::<FailureReport>(
        SCHEMA_ID,
        "trailproof failure document",
        "What `trailproof verify --format json` prints on stdout instead of a report when the run cannot be done (exit status 2): kind \"error\".",
    )
}

impl FailureReport {
    /// A failure document for `errors`, now.
    #[must_use]
    pub fn new(command_line: Vec<String>, errors: Vec<FailureEntry>) -> Self {
        FailureReport {
            schema_version: SCHEMA_VERSION,
            kind: "error",
            tool: Tool::THIS,
            generated_at: Timestamp::now(),
            exit_status: 2,
            command_line,
            errors,
        }
    }

    /// The document as pretty JSON with a final newline.
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }
}
