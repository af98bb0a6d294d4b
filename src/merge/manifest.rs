//! The merged JSON report's manifest, streamed from the parts: each part's
//! `manifest` array is read entry by entry (a reader thread per part, a
//! bounded queue each) and the entries are written in a single run's order,
//! so that memory does not grow with the archive.
//!
//! Every part lists every digest read, in the same order (the part whose
//! shard examines a digest's chain names the chain); then its log files,
//! partition by partition in a single run's order; then the key files. The
//! log files are merged by partition order (the misplaced-keys partition's,
//! from every part, by path).

use super::Order;
use crate::report::Report;
use crate::report::manifest::EvidenceKind;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::collections::BinaryHeap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// Entries a reader may run ahead of the writer.
const QUEUE: usize = 1024;

/// One manifest entry: its text as written, and what orders it.
struct Entry {
    raw: Box<RawValue>,
    kind: EvidenceKind,
    path: String,
    object: Option<String>,
    /// Whether it names its chain (a digest's entry does in the shard
    /// that examines the chain).
    chained: bool,
}

#[derive(serde::Deserialize)]
struct EntryView {
    kind: EvidenceKind,
    path: String,
    object: Option<String>,
    chain: Option<String>,
}

/// One part's manifest, as its reader thread hands it over.
struct Stream {
    path: PathBuf,
    rx: Receiver<Result<Entry, String>>,
    head: Option<Entry>,
}

impl Stream {
    fn open(path: &Path) -> std::io::Result<Stream> {
        let file = crate::evidence::open_regular(path)?;
        let (tx, rx) = sync_channel(QUEUE);
        std::thread::spawn(move || {
            let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::new(file));
            if let Err(e) = (Document { tx: &tx }).deserialize(&mut de) {
                let _ = tx.send(Err(e.to_string()));
            }
        });
        let mut stream = Stream {
            path: path.to_path_buf(),
            rx,
            head: None,
        };
        stream.advance()?;
        Ok(stream)
    }

    /// Takes the next entry into `head` (`None` at the end).
    fn advance(&mut self) -> std::io::Result<Option<Entry>> {
        let next = match self.rx.recv() {
            Ok(Ok(entry)) => Some(entry),
            Ok(Err(e)) => {
                return Err(std::io::Error::other(format!(
                    "{}: {}",
                    crate::text::escape_control(&self.path.to_string_lossy()),
                    crate::text::escape_control(&e)
                )));
            }
            Err(_) => None,
        };
        Ok(std::mem::replace(&mut self.head, next))
    }

    fn head_kind(&self) -> Option<EvidenceKind> {
        self.head.as_ref().map(|e| e.kind)
    }
}

/// The report document, of which only `manifest` is read (entry by entry).
struct Document<'a> {
    tx: &'a SyncSender<Result<Entry, String>>,
}

impl<'de> DeserializeSeed<'de> for Document<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Document<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON report")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "manifest" {
                map.next_value_seed(Entries { tx: self.tx })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// The `manifest` array, each entry sent as it is read.
struct Entries<'a> {
    tx: &'a SyncSender<Result<Entry, String>>,
}

impl<'de> DeserializeSeed<'de> for Entries<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Entries<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the manifest's entries")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(raw) = seq.next_element::<Box<RawValue>>()? {
            let view: EntryView =
                serde_json::from_str(raw.get()).map_err(serde::de::Error::custom)?;
            let entry = Entry {
                raw,
                kind: view.kind,
                path: view.path,
                object: view.object,
                chained: view.chain.is_some(),
            };
            if self.tx.send(Ok(entry)).is_err() {
                return Ok(()); // the writer stopped
            }
        }
        Ok(())
    }
}

/// Writes the JSON report: `report`'s fields, and the manifests of `parts`
/// (by shard) merged in a single run's order.
pub(super) fn write_json(
    report: &Report,
    parts: &[PathBuf],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let mut streams = parts
        .iter()
        .map(|p| Stream::open(p))
        .collect::<std::io::Result<Vec<_>>>()?;
    let mut out = std::io::BufWriter::with_capacity(64 << 10, out);
    out.write_all(&crate::report::stream::json_head(
        &crate::report::stream::Head {
            schema_version: report.schema_version,
            tool: &report.tool,
            generated_at: report.generated_at,
            inputs: &report.inputs,
        },
    ))?;
    let mut written = 0usize;
    let mut put = |entry: &Entry, out: &mut dyn Write| {
        out.write_all(if written == 0 { b"\n    " } else { b",\n    " })?;
        written += 1;
        out.write_all(entry.raw.get().as_bytes())
    };
    write_digests(&mut streams, &mut |e| put(e, &mut out))?;
    write_logs(report, &mut streams, &mut |e| put(e, &mut out))?;
    // The key files, the same in every part: the first part's.
    for (index, stream) in streams.iter_mut().enumerate() {
        while let Some(entry) = stream.advance()? {
            if entry.kind != EvidenceKind::PublicKey {
                return Err(disagree(
                    &stream.path,
                    "a digest or log entry after the key files",
                ));
            }
            if index == 0 {
                put(&entry, &mut out)?;
            }
        }
    }
    out.write_all(&crate::report::stream::json_tail(report, written))?;
    out.flush()
}

fn disagree(path: &Path, what: &str) -> std::io::Error {
    std::io::Error::other(format!(
        "{}: its manifest does not agree with the other parts' ({what}): was it written by another run?",
        crate::text::escape_control(&path.to_string_lossy())
    ))
}

/// The digests' entries: every part lists each; the one naming its chain is written.
fn write_digests(
    streams: &mut [Stream],
    put: &mut dyn FnMut(&Entry) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let is_digest =
        |k: Option<EvidenceKind>| matches!(k, Some(EvidenceKind::Digest | EvidenceKind::Metadata));
    while streams.first().is_some_and(|s| is_digest(s.head_kind())) {
        let mut chosen: Option<Entry> = None;
        for stream in streams.iter_mut() {
            if !is_digest(stream.head_kind()) {
                return Err(disagree(&stream.path, "fewer digests than the first part"));
            }
            if let Some(entry) = stream.advance()?
                && (chosen.is_none()
                    || (entry.chained && !chosen.as_ref().is_some_and(|c| c.chained)))
            {
                chosen = Some(entry);
            }
        }
        if let Some(entry) = chosen {
            put(&entry)?;
        }
    }
    if let Some(stream) = streams.iter().find(|s| is_digest(s.head_kind())) {
        return Err(disagree(&stream.path, "more digests than the first part"));
    }
    Ok(())
}

/// The log files of every part, merged in the order of the partitions
/// (within one part's partition, in its own order; the misplaced-keys
/// partition's by path).
fn write_logs(
    report: &Report,
    streams: &mut [Stream],
    put: &mut dyn FnMut(&Entry) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut ids: Vec<(Order, &str)> = report
        .partitions
        .iter()
        .map(|p| (super::order_of(p), p.id.as_str()))
        .collect();
    ids.sort_by(|a, b| a.1.cmp(b.1));
    let partition_of = |entry: &Entry| -> (Order, String) {
        let order = entry.object.as_deref().and_then(|object| {
            let at = ids.partition_point(|(_, id)| *id <= object);
            at.checked_sub(1)
                .and_then(|i| ids.get(i))
                .filter(|(_, id)| object.starts_with(id))
                .map(|(order, _)| order.clone())
        });
        match order {
            Some(order) => (order, String::new()),
            None => (Order::Misc, entry.path.clone()),
        }
    };
    // A min-heap of each part's next log entry: (order, path, part).
    let mut heap = BinaryHeap::new();
    let key = |stream: &Stream, index: usize| {
        stream
            .head
            .as_ref()
            .filter(|e| e.kind == EvidenceKind::Log)
            .map(|e| std::cmp::Reverse((partition_of(e), index)))
    };
    for (index, stream) in streams.iter().enumerate() {
        heap.extend(key(stream, index));
    }
    while let Some(std::cmp::Reverse((_, index))) = heap.pop() {
        let Some(stream) = streams.get_mut(index) else {
            continue;
        };
        if let Some(entry) = stream.advance()? {
            put(&entry)?;
        }
        heap.extend(key(stream, index));
    }
    Ok(())
}
