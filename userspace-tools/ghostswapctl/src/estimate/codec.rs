//! The compressors of the estimate: zstd through `zstd-safe`, pinned to the kernel's
//! zstd (1.5.2) and called as the kernel calls it (parameters for 4 KiB inputs, a
//! content-size header, no checksum), and lz4 through the pure-Rust `lz4_flex`, whose
//! block format is the kernel's but whose match finder differs slightly from
//! `LZ4_compress_default`.

use anyhow::{anyhow, bail, Result};
use ghostswap_core::attrs::{ZSTD_DEFAULT_LEVEL, ZSTD_MAX_LEVEL, ZSTD_MIN_LEVEL};

use crate::cli::EstimateAlgorithm;

/// The output buffer: two pages, as the driver's and zram's.
const OUT_LEN: usize = 8192;

enum Engine {
    Lz4,
    Zstd(zstd_safe::CCtx<'static>, i32),
}

/// A compressor with its output buffer.
pub struct Codec {
    engine: Engine,
    out: Vec<u8>,
}

impl Codec {
    /// A compressor for `algorithm` at `level` (zstd only; default 3).
    pub fn new(algorithm: EstimateAlgorithm, level: Option<i32>) -> Result<Self> {
        let engine = match (algorithm, level) {
            (EstimateAlgorithm::Lz4, Some(_)) => {
                bail!("lz4 takes no level (ghostswap refuses one); choose --algorithm zstd for a level")
            }
            (EstimateAlgorithm::Lz4, None) => Engine::Lz4,
            (EstimateAlgorithm::Zstd, level) => {
                let level = level.unwrap_or(ZSTD_DEFAULT_LEVEL);
                if !(ZSTD_MIN_LEVEL..=ZSTD_MAX_LEVEL).contains(&level) {
                    bail!("zstd's level must be {ZSTD_MIN_LEVEL} to {ZSTD_MAX_LEVEL}, not {level}");
                }
                let cctx = zstd_safe::CCtx::try_create()
                    .ok_or_else(|| anyhow!("zstd could not create a compression context"))?;
                Engine::Zstd(cctx, level)
            }
        };
        Ok(Self {
            engine,
            out: vec![0; OUT_LEN],
        })
    }

    /// Compresses `page`; returns the compressed bytes, or `None` if they do not fit
    /// the buffer (the page is then stored whole).
    pub fn compress(&mut self, page: &[u8]) -> Option<&[u8]> {
        let len = match &mut self.engine {
            Engine::Lz4 => lz4_flex::block::compress_into(page, &mut self.out).ok()?,
            Engine::Zstd(cctx, level) => cctx.compress(&mut self.out[..], page, *level).ok()?,
        };
        self.out.get(..len).filter(|b| !b.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_compresses_and_noise_does_not() {
        let text: Vec<u8> = b"ghost swap ".iter().copied().cycle().take(4096).collect();
        let mut noise = vec![0u8; 4096];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for b in &mut noise {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        for algo in [EstimateAlgorithm::Lz4, EstimateAlgorithm::Zstd] {
            let mut codec = Codec::new(algo, None).expect("codec");
            let small = codec.compress(&text).map(<[u8]>::len);
            assert!(small.is_some_and(|n| n < 200), "{algo:?}: {small:?}");
            let big = codec.compress(&noise).map(<[u8]>::len);
            assert!(big.is_some_and(|n| n >= 4096), "{algo:?}: {big:?}");
        }
    }

    #[test]
    fn levels() {
        assert!(Codec::new(EstimateAlgorithm::Lz4, Some(1)).is_err());
        assert!(Codec::new(EstimateAlgorithm::Zstd, Some(23)).is_err());
        assert!(Codec::new(EstimateAlgorithm::Zstd, Some(19)).is_ok());
    }
}
