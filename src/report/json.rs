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
