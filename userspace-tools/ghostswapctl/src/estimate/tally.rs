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
        // CAST: u32 fits usize.
        let sampled = word.is_none() && ordinal.is_multiple_of(self.sample as usize);
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
        t.page(&page(|i| [1, 0, 0, 0, 0, 0, 0, 0][i % 8])).expect("same");
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

    #[test]
    fn a_sample_counts_for_its_share() {
        let codec = Codec::new(EstimateAlgorithm::Zstd, None).expect("codec");
        let mut t = Tally::new(codec, 4).expect("tally");
        for i in 0..8 {
            t.page(&noise(i + 1)).expect("noise");
        }
        let (pages, ghost, _) = t.finish();
        assert_eq!((pages.other, pages.compressed), (8, 2));
        assert_eq!(ghost.huge_pages, 8, "each of the 2 samples counts for 4");
    }
}
