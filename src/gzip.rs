//! Strict gzip: exactly one complete member, nothing after it.
//!
//! CloudTrail writes every digest and log file as a single gzip member. The
//! AWS CLI ignores bytes after the first member of a digest and, for logs,
//! never checks the CRC/ISIZE trailer. trailproof is stricter: a file is
//! accepted only if it is one gzip member whose trailer is present and
//! correct and which ends exactly at the end of the file.

use flate2::bufread::GzDecoder;
use sha2::{Digest as _, Sha256};
use std::io::{self, BufRead, BufReader, Read};

/// Why a file is not one complete, valid gzip member.
#[derive(Debug, thiserror::Error)]
pub enum GzipError {
    /// The file has no bytes at all.
    #[error("the file is empty")]
    Empty,
    /// The input ended before the gzip member did (header, data or trailer cut off).
    #[error("the gzip stream is truncated (it ends before its CRC/length trailer)")]
    Truncated,
    /// The header, deflate data or CRC/length trailer is invalid.
    #[error("the gzip stream is corrupt: {0}")]
    Corrupt(String),
    /// Bytes follow the end of the gzip member.
    #[error("{bytes} byte(s) of data follow the end of the gzip stream")]
    TrailingData {
        /// How many bytes follow the member.
        bytes: u64,
    },
    /// The uncompressed content is larger than the allowed bound.
    #[error("the content inflates past the limit of {limit} bytes")]
    TooLarge {
        /// The bound that was exceeded, in bytes.
        limit: u64,
    },
    /// Reading the file failed.
    #[error("reading failed: {0}")]
    Io(#[source] io::Error),
    /// An internal error (a bug) stopped the check of this file.
    #[error("internal error while checking the file: {0}")]
    Internal(String),
}

/// What inflating a whole log file produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InflatedHash {
    /// SHA-256 of the uncompressed bytes.
    pub sha256: [u8; 32],
    /// Number of uncompressed bytes.
    pub uncompressed_len: u64,
}

/// Inflates one gzip member from `input` into memory, refusing to grow past
/// `limit` uncompressed bytes.
///
/// # Errors
/// Any [`GzipError`]: the content must be one complete member ending at the
/// end of the input.
pub fn inflate_bounded<R: BufRead>(input: R, limit: u64) -> Result<Vec<u8>, GzipError> {
    let mut out = Vec::new();
    decode_member(input, |decoder| {
        let mut bounded = decoder.take(limit.saturating_add(1));
        bounded.read_to_end(&mut out).map_err(classify)?;
        if u64::try_from(out.len()).unwrap_or(u64::MAX) > limit {
            return Err(GzipError::TooLarge { limit });
        }
        Ok(())
    })?;
    Ok(out)
}

/// Streams one gzip member from `input` through SHA-256 using `buffer` as the
/// inflate window, so memory stays constant whatever the file's size.
///
/// # Errors
/// Any [`GzipError`] except `TooLarge`.
pub fn inflate_sha256<R: BufRead>(input: R, buffer: &mut [u8]) -> Result<InflatedHash, GzipError> {
    let mut hasher = Sha256::new();
    let mut total: u64 = 0;
    decode_member(input, |decoder| {
        loop {
            let n = match decoder.read(buffer) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(classify(e)),
            };
            hasher.update(buffer.get(..n).unwrap_or_default());
            total = total.saturating_add(n as u64);
        }
    })?;
    Ok(InflatedHash {
        sha256: hasher.finalize().into(),
        uncompressed_len: total,
    })
}

/// Like [`inflate_sha256`], but inflates on the calling thread while a
/// second thread hashes, so one huge file is not limited to one core's
/// speed. Memory: `chunk_bytes` × ([`PIPELINE_DEPTH`] + 2).
///
/// # Errors
/// Any [`GzipError`] except `TooLarge`.
pub fn inflate_sha256_pipelined<R: BufRead>(
    input: R,
    chunk_bytes: usize,
) -> Result<InflatedHash, GzipError> {
    use std::sync::mpsc;
    let chunk_bytes = chunk_bytes.max(1);
    let (full_tx, full_rx) = mpsc::sync_channel::<(Vec<u8>, usize)>(PIPELINE_DEPTH);
    let (empty_tx, empty_rx) = mpsc::channel::<Vec<u8>>();
    std::thread::scope(|scope| {
        let hasher = scope.spawn(move || {
            let mut hasher = Sha256::new();
            let mut total: u64 = 0;
            for (buffer, n) in full_rx {
                hasher.update(buffer.get(..n).unwrap_or_default());
                total = total.saturating_add(n as u64);
                // The inflating side may have finished: a closed channel is fine.
                let _ = empty_tx.send(buffer);
            }
            InflatedHash {
                sha256: hasher.finalize().into(),
                uncompressed_len: total,
            }
        });
        let inflated = decode_member(input, |decoder| {
            loop {
                let mut buffer = empty_rx.try_recv().unwrap_or_else(|_| vec![0; chunk_bytes]);
                let n = loop {
                    match decoder.read(&mut buffer) {
                        Ok(n) => break n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(classify(e)),
                    }
                };
                if n == 0 {
                    return Ok(());
                }
                if full_tx.send((buffer, n)).is_err() {
                    return Err(GzipError::Internal("the hashing thread stopped".to_owned()));
                }
            }
        });
        drop(full_tx);
        let hashed = hasher
            .join()
            .map_err(|_| GzipError::Internal("the hashing thread panicked".to_owned()));
        inflated.and(hashed)
    })
}

/// Read and inflate buffer size of the streaming paths.
pub const STREAM_BUFFER_BYTES: usize = 256 << 10;

/// Compressed size up to which a log file is read whole and decoded with
/// libdeflate in one call (faster than streaming by about a tenth).
pub const WHOLE_BUFFER_MAX_INPUT: usize = 4 << 20;

/// Uncompressed size (from the gzip trailer) up to which the whole-buffer
/// path is used; larger content streams, so a worker holds at most
/// `WHOLE_BUFFER_MAX_INPUT + WHOLE_BUFFER_MAX_OUTPUT` bytes.
pub const WHOLE_BUFFER_MAX_OUTPUT: usize = 32 << 20;

/// Compressed size from which a log file is inflated and hashed on two
/// threads: one such file alone would otherwise run at one core's speed.
pub const PIPELINE_FROM_BYTES: u64 = 32 << 20;

/// The gzip header flag of an optional header CRC-16.
const FLAG_HEADER_CRC: u8 = 0x02;

/// SHA-256 and length of a file's bytes as stored (still compressed), for
/// the evidence manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredHash {
    /// SHA-256 of the bytes as stored.
    pub sha256: [u8; 32],
    /// Number of bytes read.
    pub len: u64,
}

impl StoredHash {
    /// The hash of everything `input` yields, read in 64 KiB pieces.
    ///
    /// # Errors
    /// The read error.
    pub fn of_reader(mut input: impl Read) -> io::Result<Self> {
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; 64 << 10];
        let mut len: u64 = 0;
        loop {
            let n = match input.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            hasher.update(buffer.get(..n).unwrap_or_default());
            len = len.saturating_add(n as u64);
        }
        Ok(StoredHash {
            sha256: hasher.finalize().into(),
            len,
        })
    }

    /// The hash of `bytes`, read whole.
    #[must_use]
    pub fn of(bytes: &[u8]) -> Self {
        StoredHash {
            sha256: Sha256::digest(bytes).into(),
            len: bytes.len() as u64,
        }
    }
}

/// What hashing one log file found.
#[derive(Debug)]
pub struct HashedLog {
    /// The hash of the gzip content, or why the file is not one valid member.
    pub content: Result<InflatedHash, GzipError>,
    /// The hash of the stored bytes: `None` when not asked for or when
    /// reading the file failed.
    pub stored: Option<StoredHash>,
}

/// One worker's reusable state for hashing log files: buffers that grow to
/// the bounds above and a libdeflate decompressor.
///
/// Every path accepts exactly the same files: the whole-buffer path only
/// takes the fast route when libdeflate decodes one member that ends at the
/// end of the file, and leaves every other case to the streaming decoder,
/// which then names the precise fault.
pub struct LogHasher {
    decompressor: gzip_exact::Decompressor,
    input: Vec<u8>,
    output: Vec<u8>,
    stream: Vec<u8>,
    hash_stored: bool,
}

impl LogHasher {
    /// A hasher; with `hash_stored` it also hashes the compressed bytes in
    /// the same pass.
    #[must_use]
    pub fn new(hash_stored: bool) -> Self {
        Self {
            decompressor: gzip_exact::Decompressor::new(),
            input: Vec::new(),
            output: Vec::new(),
            stream: vec![0; STREAM_BUFFER_BYTES],
            hash_stored,
        }
    }

    /// Whether it also hashes the stored bytes.
    #[must_use]
    pub fn hashes_stored(&self) -> bool {
        self.hash_stored
    }

    /// Hashes one log file of `size` bytes (as listed; the file is read to
    /// its end whatever it holds), choosing the whole-buffer, streaming or
    /// pipelined path by size.
    pub fn hash_file<R: Read>(&mut self, mut file: R, size: u64) -> HashedLog {
        if size >= PIPELINE_FROM_BYTES {
            let mut reader = StoredHasher::new(
                BufReader::with_capacity(STREAM_BUFFER_BYTES, file),
                self.hash_stored,
            );
            let content = inflate_sha256_pipelined(&mut reader, STREAM_BUFFER_BYTES);
            return reader.finish(content);
        }
        if size > WHOLE_BUFFER_MAX_INPUT as u64 {
            return self.stream(BufReader::with_capacity(STREAM_BUFFER_BYTES, file));
        }
        self.input.clear();
        self.input.reserve(usize::try_from(size).unwrap_or(0));
        let limit = WHOLE_BUFFER_MAX_INPUT as u64 + 1;
        if let Err(error) = (&mut file).take(limit).read_to_end(&mut self.input) {
            return HashedLog {
                content: Err(GzipError::Io(error)),
                stored: None,
            };
        }
        if self.input.len() > WHOLE_BUFFER_MAX_INPUT {
            // The file grew past its listed size: stream what was read and the rest.
            let input = std::mem::take(&mut self.input);
            let hashed = self.stream(io::Cursor::new(&input[..]).chain(BufReader::new(file)));
            self.input = input;
            return hashed;
        }
        let stored = self.hash_stored.then(|| StoredHash::of(&self.input));
        let content = match self.decode_whole() {
            Some(hash) => Ok(hash),
            None => inflate_sha256(&self.input[..], &mut self.stream),
        };
        HashedLog { content, stored }
    }

    /// The fast route: `Some` only when libdeflate decodes one member that
    /// uses the whole input and fits the bounded output buffer.
    fn decode_whole(&mut self) -> Option<InflatedHash> {
        let flags = *self.input.get(3)?;
        if flags & FLAG_HEADER_CRC != 0 {
            // libdeflate skips the header CRC that flate2 checks.
            return None;
        }
        let trailer: [u8; 4] = self.input.last_chunk::<4>().copied()?;
        let claimed = usize::try_from(u32::from_le_bytes(trailer)).ok()?;
        if claimed > WHOLE_BUFFER_MAX_OUTPUT {
            return None;
        }
        if self.output.len() < claimed {
            self.output.resize(claimed, 0);
        }
        let output = self.output.get_mut(..claimed)?;
        let decoded = self
            .decompressor
            .gzip_decompress(&self.input, output)
            .ok()?;
        if decoded.input_used != self.input.len() {
            return None;
        }
        let content = output.get(..decoded.output_len)?;
        Some(InflatedHash {
            sha256: Sha256::digest(content).into(),
            uncompressed_len: decoded.output_len as u64,
        })
    }

    fn stream<R: BufRead>(&mut self, input: R) -> HashedLog {
        let mut reader = StoredHasher::new(input, self.hash_stored);
        let content = inflate_sha256(&mut reader, &mut self.stream);
        reader.finish(content)
    }
}

/// A reader that hashes every byte consumed through it.
struct StoredHasher<R> {
    inner: R,
    hasher: Option<Sha256>,
    len: u64,
}

impl<R: BufRead> StoredHasher<R> {
    fn new(inner: R, enabled: bool) -> Self {
        Self {
            inner,
            hasher: enabled.then(Sha256::new),
            len: 0,
        }
    }

    /// Reads what the decoder left (after an error) so the stored hash
    /// covers the whole file, and pairs it with `content`.
    fn finish(self, content: Result<InflatedHash, GzipError>) -> HashedLog {
        let stored = self.stored_hash(&content);
        HashedLog { content, stored }
    }

    /// The hash of every stored byte: `None` when disabled or when the file
    /// could not be read to its end.
    fn stored_hash<T>(mut self, content: &Result<T, GzipError>) -> Option<StoredHash> {
        let drained = match self.hasher {
            Some(_) if content.is_err() => io::copy(&mut self, &mut io::sink()).is_ok(),
            _ => true,
        };
        let read_whole = drained && !matches!(content, Err(GzipError::Io(_)));
        self.hasher.filter(|_| read_whole).map(|h| StoredHash {
            sha256: h.finalize().into(),
            len: self.len,
        })
    }
}

/// Like [`inflate_bounded`], also hashing the file's stored bytes in the
/// same pass (all of them, even when the content is invalid).
///
/// # Errors
/// As [`inflate_bounded`]; the stored hash is then still given when the
/// file could be read to its end.
pub fn inflate_bounded_stored<R: BufRead>(
    input: R,
    limit: u64,
) -> (Result<Vec<u8>, GzipError>, Option<StoredHash>) {
    let mut reader = StoredHasher::new(input, true);
    let content = inflate_bounded(&mut reader, limit);
    let stored = reader.stored_hash(&content);
    (content, stored)
}

impl<R: BufRead> Read for StoredHasher<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        if let (Some(to), Some(from)) = (out.get_mut(..n), available.get(..n)) {
            to.copy_from_slice(from);
        }
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for StoredHasher<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        if let Some(hasher) = self.hasher.as_mut().filter(|_| amount > 0)
            && let Ok(buffer) = self.inner.fill_buf()
        {
            hasher.update(buffer.get(..amount).unwrap_or(buffer));
        }
        self.len = self.len.saturating_add(amount as u64);
        self.inner.consume(amount);
    }
}

/// Chunks in flight between the inflating and the hashing thread.
pub const PIPELINE_DEPTH: usize = 4;

/// Runs `consume` over the decoder of the first member, then checks that the
/// member was complete and that nothing follows it.
fn decode_member<R, F>(mut input: R, consume: F) -> Result<(), GzipError>
where
    R: BufRead,
    F: FnOnce(&mut GzDecoder<R>) -> Result<(), GzipError>,
{
    if input.fill_buf().map_err(GzipError::Io)?.is_empty() {
        return Err(GzipError::Empty);
    }
    let mut decoder = GzDecoder::new(input);
    consume(&mut decoder)?;
    let mut rest = decoder.into_inner();
    let trailing = io::copy(&mut rest, &mut io::sink()).map_err(GzipError::Io)?;
    if trailing > 0 {
        return Err(GzipError::TrailingData { bytes: trailing });
    }
    Ok(())
}

fn classify(error: io::Error) -> GzipError {
    match error.kind() {
        io::ErrorKind::UnexpectedEof => GzipError::Truncated,
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => {
            GzipError::Corrupt(error.to_string())
        }
        _ => GzipError::Io(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::Write as _;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn round_trip() {
        let body = br#"{"Records":[]}"#.repeat(100);
        let gz = gzip(&body);
        assert_eq!(inflate_bounded(&gz[..], 1 << 20).unwrap(), body);
        let mut buf = vec![0; 7];
        let h = inflate_sha256(&gz[..], &mut buf).unwrap();
        assert_eq!(h.sha256, <[u8; 32]>::from(Sha256::digest(&body)));
        assert_eq!(h.uncompressed_len, body.len() as u64);
    }

    #[test]
    fn every_truncation_is_rejected() {
        let gz = gzip(b"{\"a\": \"some digest content that is long enough\"}");
        for len in 0..gz.len() {
            let cut = &gz[..len];
            let err = inflate_bounded(cut, 1 << 20).unwrap_err();
            assert!(
                matches!(
                    err,
                    GzipError::Empty | GzipError::Truncated | GzipError::Corrupt(_)
                ),
                "prefix of {len} bytes gave {err:?}"
            );
            let err = inflate_sha256(cut, &mut [0; 64]).unwrap_err();
            assert!(!matches!(
                err,
                GzipError::TrailingData { .. } | GzipError::Io(_)
            ));
        }
    }

    #[test]
    fn trailing_data_and_second_member_are_rejected() {
        let mut gz = gzip(b"{}");
        gz.extend_from_slice(b"junk");
        assert!(matches!(
            inflate_bounded(&gz[..], 100),
            Err(GzipError::TrailingData { bytes: 4 })
        ));
        let mut two = gzip(b"{}");
        two.extend(gzip(b"{}"));
        assert!(matches!(
            inflate_sha256(&two[..], &mut [0; 64]),
            Err(GzipError::TrailingData { .. })
        ));
    }

    #[test]
    fn bad_crc_is_rejected() {
        let mut gz = gzip(b"hello world");
        let n = gz.len();
        gz[n - 8] ^= 1;
        assert!(matches!(
            inflate_sha256(&gz[..], &mut [0; 64]),
            Err(GzipError::Corrupt(_))
        ));
    }

    #[test]
    fn pipelined_hash_equals_streaming_hash_and_rejects_the_same() {
        let body: Vec<u8> = (0..3_000_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let gz = gzip(&body);
        let streamed = inflate_sha256(&gz[..], &mut [0; 4096]).unwrap();
        let piped = inflate_sha256_pipelined(&gz[..], 64 << 10).unwrap();
        assert_eq!(streamed, piped);
        assert_eq!(piped.uncompressed_len, body.len() as u64);
        let mut appended = gz.clone();
        appended.push(0);
        assert!(matches!(
            inflate_sha256_pipelined(&appended[..], 1 << 16),
            Err(GzipError::TrailingData { bytes: 1 })
        ));
        assert!(matches!(
            inflate_sha256_pipelined(&gz[..gz.len() - 3], 1 << 16),
            Err(GzipError::Truncated)
        ));
    }

    /// Every path of [`LogHasher`] over `file`, with the streaming decoder's answer.
    fn every_path(file: &[u8]) -> (Vec<HashedLog>, Result<InflatedHash, GzipError>) {
        let mut hasher = LogHasher::new(true);
        let size = file.len() as u64;
        let paths = vec![
            hasher.hash_file(file, size),
            // Listed as larger: streaming; listed as huge: pipelined.
            hasher.hash_file(file, WHOLE_BUFFER_MAX_INPUT as u64 + 1),
            hasher.hash_file(file, PIPELINE_FROM_BYTES),
        ];
        (paths, inflate_sha256(file, &mut [0; 4096]))
    }

    fn assert_paths_agree(file: &[u8]) {
        let (paths, streamed) = every_path(file);
        let stored = StoredHash {
            sha256: Sha256::digest(file).into(),
            len: file.len() as u64,
        };
        for hashed in paths {
            assert_eq!(hashed.stored, Some(stored));
            match (&hashed.content, &streamed) {
                (Ok(a), Ok(b)) => assert_eq!(a, b),
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
                (a, b) => panic!("{a:?} but streaming gave {b:?}"),
            }
        }
    }

    #[test]
    fn whole_buffer_streaming_and_pipelined_paths_agree() {
        let body: Vec<u8> = (0..200_000u32)
            .flat_map(|i| (i % 97).to_le_bytes())
            .collect();
        let gz = gzip(&body);
        let (paths, _) = every_path(&gz);
        for hashed in &paths {
            let hash = hashed.content.as_ref().unwrap();
            assert_eq!(hash.sha256, <[u8; 32]>::from(Sha256::digest(&body)));
        }
        assert_paths_agree(&gz);
        let mut fast = LogHasher::new(false);
        fast.input = gz.clone();
        assert!(
            fast.decode_whole().is_some(),
            "a plain member takes the fast route"
        );

        let mut twice = gz.clone();
        twice.extend_from_slice(&gz);
        assert!(matches!(
            every_path(&twice).0[0].content,
            Err(GzipError::TrailingData { .. })
        ));
        assert_paths_agree(&twice);

        let mut junk = gz.clone();
        junk.extend_from_slice(b"junk");
        assert_paths_agree(&junk);

        for cut in [0, 1, 10, gz.len() / 2, gz.len() - 4, gz.len() - 1] {
            assert_paths_agree(&gz[..cut]);
        }

        // A trailer that understates or overstates the length.
        for delta in [-1i64, 1, 1 << 30] {
            let mut lying = gz.clone();
            let n = lying.len();
            let real = u32::from_le_bytes(lying[n - 4..].try_into().unwrap());
            let claimed = (i64::from(real) + delta) as u32;
            lying[n - 4..].copy_from_slice(&claimed.to_le_bytes());
            assert!(every_path(&lying).0[0].content.is_err());
            assert_paths_agree(&lying);
        }
    }

    #[test]
    fn header_crc_is_checked_on_every_path() {
        // FHCRC set, with a wrong header CRC-16: libdeflate alone would accept it.
        let gz = gzip(b"{\"Records\":[]}");
        let mut flagged = gz[..10].to_vec();
        flagged[3] |= FLAG_HEADER_CRC;
        flagged.extend_from_slice(&[0xAB, 0xCD]);
        flagged.extend_from_slice(&gz[10..]);
        assert!(every_path(&flagged).0[0].content.is_err());
        assert_paths_agree(&flagged);
    }

    #[test]
    fn bomb_is_bounded() {
        let gz = gzip(&vec![0u8; 10 << 20]);
        assert!(matches!(
            inflate_bounded(&gz[..], 1 << 20),
            Err(GzipError::TooLarge { limit }) if limit == 1 << 20
        ));
    }
}
