//! Checksums of the blocks written to the backing device.
//!
//! Each block writeback writes (a frame's extent, or a page stored straight to the
//! device) gets a checksum of the bytes written, which the caller computes (the module
//! uses the kernel's `crc32c`) and hands in with the write's end
//! ([`Store::end_writeback`], [`Store::end_direct`]); the backing allocator keeps it with
//! the block ([`Backing::set_sums`]). A read of a migrated page takes the checksums of
//! the blocks it reads with its pin ([`Store::read_sums`]) and checks what it read
//! against them before using a byte of it: a block that does not match fails the read,
//! so a corrupted or misdirected block gives an I/O error, never wrong data.
//!
//! Checksums are computed outside the store lock; this module only cuts the data into
//! blocks and compares.
//!
//! [`Store::end_writeback`]: crate::store::Store::end_writeback
//! [`Store::end_direct`]: crate::store::Store::end_direct
//! [`Store::read_sums`]: crate::store::Store::read_sums
//! [`Backing::set_sums`]: crate::backing::Backing::set_sums

use core::ops::Range;

use super::backing::MAX_EXTENT;
use super::geometry::PAGE_SIZE;

/// The most blocks a read of one migrated page reads: an object of a packed frame may
/// straddle two.
pub const MAX_READ_BLOCKS: usize = 2;

// CAST: 8 fits a `usize`.
const EXTENT_BLOCKS: usize = MAX_EXTENT as usize;

/// The checksums of the blocks of one write, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteSums {
    sums: [u32; EXTENT_BLOCKS],
    len: usize,
}

impl WriteSums {
    /// Computes `sum` of each [`PAGE_SIZE`] block of `data`, the bytes of a write.
    ///
    /// Returns `None` unless `data` is 1 to [`MAX_EXTENT`] whole blocks.
    ///
    /// ```
    /// use ghostswap_core::checksum::WriteSums;
    ///
    /// let data = [[1u8; 4096], [2u8; 4096]].concat();
    /// let sums = WriteSums::of(&data, |block| u32::from(block[0])).unwrap();
    /// assert_eq!(sums.as_slice(), &[1, 2]);
    /// assert_eq!(WriteSums::of(&data[..100], |_| 0), None);
    /// ```
    pub fn of(data: &[u8], sum: impl Fn(&[u8]) -> u32) -> Option<Self> {
        let len = data.len() / PAGE_SIZE;
        if data.len() % PAGE_SIZE != 0 || !(1..=EXTENT_BLOCKS).contains(&len) {
            return None;
        }
        let mut sums = [0; EXTENT_BLOCKS];
        for (slot, block) in sums.iter_mut().zip(data.chunks_exact(PAGE_SIZE)) {
            *slot = sum(block);
        }
        Some(Self { sums, len })
    }

    /// The checksums `sums`, one per block, as recorded; `None` unless there are 1 to
    /// [`MAX_EXTENT`].
    pub fn from_sums(sums: &[u32]) -> Option<Self> {
        let len = sums.len();
        let mut kept = [0; EXTENT_BLOCKS];
        if len == 0 {
            return None;
        }
        kept.get_mut(..len)?.copy_from_slice(sums);
        Some(Self { sums: kept, len })
    }

    /// The checksums, one per block.
    pub fn as_slice(&self) -> &[u32] {
        self.sums.get(..self.len).unwrap_or(&[])
    }
}

/// The checksums a read of a migrated page must find: of the blocks `blocks` of the
/// device, which the read reads into one buffer, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadSums {
    /// The device blocks read.
    pub blocks: Range<u32>,
    sums: [u32; MAX_READ_BLOCKS],
}

impl ReadSums {
    /// The checksums `sums` of `blocks`; `None` unless there is one per block, at most
    /// [`MAX_READ_BLOCKS`].
    pub fn new(blocks: Range<u32>, sums: &[u32]) -> Option<Self> {
        let len = usize::try_from(blocks.end.checked_sub(blocks.start)?).ok()?;
        if len == 0 || len > MAX_READ_BLOCKS || sums.len() != len {
            return None;
        }
        let mut kept = [0; MAX_READ_BLOCKS];
        kept.get_mut(..len)?.copy_from_slice(sums);
        Some(Self { blocks, sums: kept })
    }

    /// Returns `true` if `data`, the bytes read, is the blocks read, each matching its
    /// checksum by `sum`.
    ///
    /// ```
    /// use ghostswap_core::checksum::ReadSums;
    ///
    /// let first = |block: &[u8]| u32::from(block[0]);
    /// let expect = ReadSums::new(7..9, &[1, 2]).unwrap();
    /// let data = [[1u8; 4096], [2u8; 4096]].concat();
    /// assert!(expect.matches(&data, first));
    /// assert!(!expect.matches(&[[1u8; 4096], [3u8; 4096]].concat(), first));
    /// assert!(!expect.matches(&data[..4096], first));
    /// ```
    pub fn matches(&self, data: &[u8], sum: impl Fn(&[u8]) -> u32) -> bool {
        let len = self.sums_len();
        data.len() == len * PAGE_SIZE
            && data
                .chunks_exact(PAGE_SIZE)
                .zip(&self.sums)
                .all(|(block, &expected)| sum(block) == expected)
    }

    fn sums_len(&self) -> usize {
        usize::try_from(self.blocks.end.saturating_sub(self.blocks.start)).unwrap_or(0)
    }
}
