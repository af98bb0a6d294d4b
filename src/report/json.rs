//! The machine-readable report: one JSON document, schema version 1.

use super::Report;
use std::io;

/// Writes the report as pretty-printed JSON with a final newline, streaming
/// (a large manifest is never held as one string). Output is deterministic:
/// the same mirror gives the same bytes apart from the run's times.
///
/// # Errors
/// Only when writing to `out` fails.
pub fn write(report: &Report, out: &mut dyn io::Write) -> io::Result<()> {
    let mut buffered = io::BufWriter::with_capacity(64 << 10, out);
    serde_json::to_writer_pretty(&mut buffered, report).map_err(io::Error::other)?;
    io::Write::write_all(&mut buffered, b"\n")?;
    io::Write::flush(&mut buffered)
}

/// The `$id` of the JSON report's schema.
pub const SCHEMA_ID: &str = "urn:trailproof:report:schema-version-1";

/// The JSON report as [`super::stream::ReportStream`] writes it: the
/// [`Report`]'s fields, and after `inputs` the evidence manifest (streamed,
/// never held by the [`Report`]). Only its schema is used.
#[derive(schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
#[expect(dead_code, reason = "describes the streamed document; never built")]
struct Document {
    #[serde(flatten)]
    report: Report,
    /// Every file the run read, with its size and the SHA-256 of its stored
    /// bytes, sorted by mirror root and relative path within each partition,
    /// key files last.
    manifest: Vec<super::manifest::ManifestEntry>,
}

/// The JSON Schema (draft 2020-12) of the JSON report this build writes
/// (schema version [`super::SCHEMA_VERSION`]), generated from the report's
/// types; `schemas/trailproof-report.schema.json` in the repository is this
/// value, pretty-printed. It describes exactly what this build writes:
/// unknown fields are rejected (a reader of version 1 should still ignore
/// fields it does not know, as later builds may add some).
#[must_use]
pub fn json_schema() -> serde_json::Value {
    root_schema::<Document>(
        SCHEMA_ID,
        "trailproof JSON report",
        &format!(
            "What `trailproof verify --format json` (or `--report json=FILE`) writes: schema_version {}.",
            super::SCHEMA_VERSION
        ),
    )
}

/// The JSON Schema (draft 2020-12) of what `T` serializes to, with `$id`,
/// `title` and `description`: for the JSON documents trailproof writes.
pub(crate) fn root_schema<T: schemars::JsonSchema>(
    id: &str,
    title: &str,
    description: &str,
) -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator();
    let mut schema = generator.into_root_schema_for::<T>();
    schema.insert("$id".to_owned(), id.into());
    schema.insert("title".to_owned(), title.into());
    schema.insert("description".to_owned(), description.into());
    tidy(schema.to_value())
}

/// `value` with every object's keys sorted (the same text whether or not
/// serde_json preserves insertion order) and rustdoc links in descriptions
/// made plain code spans.
fn tidy(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            let entries = entries.into_iter().map(|(key, value)| match value {
                Value::String(text) if key == "description" => {
                    (key, text.replace("[`", "`").replace("`]", "`").into())
                }
                value => (key, tidy(value)),
            });
            Value::Object(entries.collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(tidy).collect()),
        other => other,
    }
}
