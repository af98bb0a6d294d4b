//! Whole-buffer gzip decoding with libdeflate, reporting how many input
//! bytes the first gzip member used.
//!
//! The safe `libdeflater` crate wraps `libdeflate_gzip_decompress`, which
//! decodes the first member and ignores whatever follows it. A verifier must
//! reject trailing data, so this crate wraps `libdeflate_gzip_decompress_ex`
//! instead. It is the only `unsafe` code in trailproof, kept to one call.

use libdeflate_sys::{
    libdeflate_alloc_decompressor, libdeflate_decompressor, libdeflate_free_decompressor,
    libdeflate_gzip_decompress_ex, libdeflate_result_LIBDEFLATE_INSUFFICIENT_SPACE,
    libdeflate_result_LIBDEFLATE_SUCCESS,
};
use std::ptr::NonNull;

/// Why a buffer did not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// The header, deflate data or CRC/length trailer is invalid or cut off.
    BadData,
    /// The uncompressed content does not fit in the output buffer.
    InsufficientSpace,
}

/// What one successful call decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded {
    /// Input bytes used by the first gzip member, trailer included.
    pub input_used: usize,
    /// Uncompressed bytes written to the start of the output buffer.
    pub output_len: usize,
}

/// A libdeflate decompressor (about 10 KB of tables); reuse one per thread.
pub struct Decompressor {
    raw: NonNull<libdeflate_decompressor>,
}

// SAFETY: libdeflate decompressors hold no thread-local state; one may move
// between threads as long as it is used by one thread at a time (`&mut self`).
unsafe impl Send for Decompressor {}

impl Decompressor {
    /// Allocates a decompressor.
    ///
    /// # Panics
    /// Only when the allocation fails, like any Rust allocation.
    #[must_use]
    pub fn new() -> Self {
        // SAFETY: no arguments; a null result means the allocation failed.
        let raw = unsafe { libdeflate_alloc_decompressor() };
        match NonNull::new(raw) {
            Some(raw) => Self { raw },
            None => std::alloc::handle_alloc_error(std::alloc::Layout::new::<[u8; 32 << 10]>()),
        }
    }

    /// Decodes the first gzip member of `input` into `output`, checking its
    /// CRC-32 and length trailer. The caller compares
    /// [`Decoded::input_used`] with `input.len()` to reject trailing data.
    ///
    /// # Errors
    /// [`DecodeError`] when the member is invalid or does not fit.
    pub fn gzip_decompress(
        &mut self,
        input: &[u8],
        output: &mut [u8],
    ) -> Result<Decoded, DecodeError> {
        let mut input_used = 0usize;
        let mut output_len = 0usize;
        // SAFETY: the pointers and lengths come from live slices that outlive
        // the call; libdeflate reads at most `input.len()` bytes, writes at
        // most `output.len()` bytes, and writes the two counters.
        let result = unsafe {
            libdeflate_gzip_decompress_ex(
                self.raw.as_ptr(),
                input.as_ptr().cast(),
                input.len(),
                output.as_mut_ptr().cast(),
                output.len(),
                &mut input_used,
                &mut output_len,
            )
        };
        #[allow(non_upper_case_globals)]
        match result {
            libdeflate_result_LIBDEFLATE_SUCCESS
                if input_used <= input.len() && output_len <= output.len() =>
            {
                Ok(Decoded {
                    input_used,
                    output_len,
                })
            }
            libdeflate_result_LIBDEFLATE_INSUFFICIENT_SPACE => Err(DecodeError::InsufficientSpace),
            // BAD_DATA; SHORT_OUTPUT cannot occur with an output counter, and
            // any other result is treated as bad data rather than trusted.
            _ => Err(DecodeError::BadData),
        }
    }
}

impl Default for Decompressor {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Decompressor {
    fn drop(&mut self) {
        // SAFETY: `raw` came from libdeflate_alloc_decompressor and is freed once.
        unsafe { libdeflate_free_decompressor(self.raw.as_ptr()) }
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
    fn reports_input_used_so_trailing_data_shows() {
        let body = b"{\"Records\":[]}".repeat(50);
        let gz = gzip(&body);
        let mut out = vec![0; body.len()];
        let mut d = Decompressor::new();
        let ok = d.gzip_decompress(&gz, &mut out).unwrap();
        assert_eq!(
            ok,
            Decoded {
                input_used: gz.len(),
                output_len: body.len()
            }
        );
        assert_eq!(out, body);

        let mut twice = gz.clone();
        twice.extend_from_slice(&gz);
        let ok = d.gzip_decompress(&twice, &mut out).unwrap();
        assert_eq!(ok.input_used, gz.len());
    }

    #[test]
    fn errors() {
        let body = vec![7u8; 10_000];
        let gz = gzip(&body);
        let mut d = Decompressor::new();
        assert_eq!(
            d.gzip_decompress(&gz, &mut [0; 100]),
            Err(DecodeError::InsufficientSpace)
        );
        for cut in 0..gz.len() {
            assert_eq!(
                d.gzip_decompress(&gz[..cut], &mut vec![0; 20_000]),
                Err(DecodeError::BadData),
                "prefix {cut}"
            );
        }
        let mut bad_crc = gz.clone();
        let n = bad_crc.len();
        bad_crc[n - 6] ^= 1;
        assert_eq!(
            d.gzip_decompress(&bad_crc, &mut vec![0; 20_000]),
            Err(DecodeError::BadData)
        );
    }
}
