//! Counting pages as they are read: each page classified as the drivers classify it
//! and fed to both models, with bitmaps of the pages that were same-filled and that
//! were sampled.

use anyhow::Result;
use bitvec::prelude::*;
use ghostswap_core::classify::same_filled;
use ghostswap_core::frame::Page;
use serde::Serialize;

use super::codec::Codec;
use super::ghost_model::{GhostFigures, GhostModel};
use super::zram_model::{ZramFigures, ZramModel};

/// How the pages scanned were classified.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Pages {
    /// Resident anonymous pages found.
    pub resident: u64,
    /// Pages that could not be read (gone meanwhile, or unreadable mappings).
    pub unreadable: u64,
    /// Pages already in swap (not estimated).
    pub swapped: u64,
    /// Zero pages: they never reach a swap device.
    pub zero: u64,
    /// Pages of one repeated non-zero word.
    pub same_filled: u64,
    /// Other pages.
    pub other: u64,
    /// Of those, the pages compressed (one in `sample`).
    pub compressed: u64,
}

/// Whether the page at `ordinal` is one of the one in `sample` compressed.
///
/// The choice is a hash of the position, not every `sample`-th page: memory is often
/// periodic (arrays of structures, a workload's classes in turn), and a stride that
/// matches its period would see only one kind of page.
fn picked(ordinal: usize, sample: u32) -> bool {
    // splitmix64's finalizer.
    // CAST: usize fits u64.
    let mut x = (ordinal as u64).wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= x >> 31;
    x.is_multiple_of(u64::from(sample))
}

/// The pages seen so far and what the two drivers would make of them.
pub struct Tally {
    codec: Codec,
    sample: u32,
    ghost: GhostModel,
    zram: ZramModel,
    /// Per page scanned: one repeated word (zero included).
    same: BitVec<u64, Lsb0>,
    /// Per page scanned: compressed (one in `sample` of the others).
    sampled: BitVec<u64, Lsb0>,
    pages: Pages,
}

impl Tally {
    /// A tally that compresses one page in `sample` (at least 1) with `codec`.
    pub fn new(codec: Codec, sample: u32) -> Result<Self> {
        Ok(Self {
            codec,
            sample: sample.max(1),
            ghost: GhostModel::new()?,
            zram: ZramModel::new(),
            same: BitVec::new(),
            sampled: BitVec::new(),
            pages: Pages::default(),
        })
    }

    /// The position of the next page.
    fn ordinal(&self) -> usize {
        self.same.len()
    }

    /// Counts `page`.
    pub fn page(&mut self, page: &Page) -> Result<()> {
        let ordinal = self.ordinal();
        let word = same_filled(page);
        self.same.push(word.is_some());
        let sampled = word.is_none() && picked(ordinal, self.sample);
        self.sampled.push(sampled);
        match word {
            Some(0) => self.pages.zero += 1,
            Some(word) => {
                self.pages.same_filled += 1;
                self.ghost.same_filled(word, 1)?;
                self.zram.same_filled(1);
            }
            None => {
                self.pages.other += 1;
                if sampled {
                    let weight = u64::from(self.sample);
                    let packed = self.codec.compress(page);
                    self.zram.compressed(packed.map(<[u8]>::len), weight);
                    self.ghost.compressed(page, packed, weight)?;
                }
            }
        }
        Ok(())
    }

    /// Counts `n` pages that could not be read.
    pub fn unreadable(&mut self, n: u64) {
        self.pages.unreadable += n;
    }

    /// The pages counted and the two drivers' figures.
    pub fn finish(mut self) -> (Pages, GhostFigures, ZramFigures) {
        // CAST: counts of bits fit u64.
        self.pages.compressed = self.sampled.count_ones() as u64;
        debug_assert_eq!(
            self.same.count_ones() as u64,
            self.pages.zero + self.pages.same_filled
        );
        (self.pages, self.ghost.figures(), self.zram.figures())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::EstimateAlgorithm;

    fn page(mut fill: impl FnMut(usize) -> u8) -> Page {
        let mut p = [0u8; 4096];
        for (i, b) in p.iter_mut().enumerate() {
            *b = fill(i);
        }
        p
    }

    fn noise(seed: u64) -> Page {
        let mut x = seed | 1;
        page(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // CAST: the low byte.
            x as u8
        })
    }

    #[test]
    fn pages_are_classified_as_the_drivers_do() {
        let codec = Codec::new(EstimateAlgorithm::Lz4, None).expect("codec");
        let mut t = Tally::new(codec, 1).expect("tally");
        t.page(&[0; 4096]).expect("zero");
        t.page(&page(|i| [1, 0, 0, 0, 0, 0, 0, 0][i % 8]))
            .expect("same");
        t.page(&page(|i| b"ghost swap "[i % 11])).expect("text");
        t.page(&noise(5)).expect("noise");
        t.unreadable(2);
        let (pages, ghost, zram) = t.finish();
        assert_eq!(
            pages,
            Pages {
                zero: 1,
                same_filled: 1,
                other: 2,
                compressed: 2,
                unreadable: 2,
                ..Pages::default()
            }
        );
        // The zero page reaches neither driver; the noise is huge in both.
        assert_eq!(ghost.orig_data_size, 3 * 4096);
        assert_eq!(zram.orig_data_size, 3 * 4096);
        assert_eq!((ghost.same_pages, ghost.huge_pages), (1, 1));
        assert_eq!((zram.same_pages, zram.huge_pages), (1, 1));
    }

    /// Pages of four kinds in turn: zero, text, noise, half noise.
    fn periodic(sample: u32) -> (Pages, GhostFigures, ZramFigures) {
        let codec = Codec::new(EstimateAlgorithm::Lz4, None).expect("codec");
        let mut t = Tally::new(codec, sample).expect("tally");
        for i in 0..4000u64 {
            let p = match i % 4 {
                0 => [0; 4096],
                1 => page(|j| b"ghost swap estimate "[(j + i as usize) % 20]),
                2 => noise(i + 1),
                _ => {
                    let n = noise(i + 7);
                    page(|j| if j < 2048 { n[j] } else { 0x55 })
                }
            };
            t.page(&p).expect("page");
        }
        t.finish()
    }

    #[test]
    fn a_sample_stands_for_every_kind_of_page() {
        let (all, ghost, zram) = periodic(1);
        assert_eq!((all.zero, all.other, all.compressed), (1000, 3000, 3000));
        for sample in [2, 4, 8] {
            let (pages, g, z) = periodic(sample);
            let share = |n: u64| n * u64::from(sample);
            // One in `sample` of the others, whatever their period (a stride of 4
            // would have landed on the zero pages only, and compressed nothing).
            assert!(
                share(pages.compressed).abs_diff(3000) * 4 < 3000,
                "one in {sample}: {} compressed",
                pages.compressed
            );
            // Each kind is seen about as often as it occurs: the noise, which is
            // huge, stands for its thousand pages.
            assert!(
                g.huge_pages.abs_diff(1000) * 3 < 1000,
                "one in {sample}: {g:?}"
            );
            for (what, full, part) in [
                ("ghostswap", ghost.mem_used_total, g.mem_used_total),
                ("zram", zram.mem_used_total, z.mem_used_total),
            ] {
                assert!(
                    full.abs_diff(part) * 4 < full,
                    "one in {sample}: {what} {part} against {full}"
                );
            }
        }
    }
}
