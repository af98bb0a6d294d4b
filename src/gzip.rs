//! Strict gzip: exactly one complete member, nothing after it.
//!
//! CloudTrail writes every digest and log file as a single gzip member. The
//! AWS CLI ignores bytes after the first member of a digest and, for logs,
//! never checks the CRC/ISIZE trailer. trailproof is stricter: a file is
//! accepted only if it is one gzip member whose trailer is present and
//! correct and which ends exactly at the end of the file.

use flate2::bufread::GzDecoder;
use sha2::{Digest as _, Sha256};
use std::io::{self, BufRead, Read};

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

    #[test]
    fn bomb_is_bounded() {
        let gz = gzip(&vec![0u8; 10 << 20]);
        assert!(matches!(
            inflate_bounded(&gz[..], 1 << 20),
            Err(GzipError::TooLarge { limit }) if limit == 1 << 20
        ));
    }
}
