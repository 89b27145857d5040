//! The pool's statistics: [`PoolStats`], [`CompactStats`], and the running sums of the
//! packed frames' usage they are built from.
//!
//! This is a child module of [`super`]: it adds [`Pool::pool_stats`] and sees the pool's fields.

use super::packed::{Usage, HEADER};
use super::{FrameEntry, Pool, Table, PAGE_SIZE};

/// Sizes of the pool, from [`Pool::pool_stats`].
///
/// Frames are counted as table entries and, for memory, in pages of [`PAGE_SIZE`] bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Packed frames.
    pub packed_frames: u32,
    /// Pages of the packed frames.
    pub packed_pages: u64,
    /// Huge frames, each one page.
    pub huge_frames: u32,
    /// Empty frames in the reserve.
    pub reserve_frames: u32,
    /// Pages of the reserve frames.
    pub reserve_pages: u64,
    /// Bytes of object data in packed frames, exactly: headers and padding excluded.
    pub live_bytes: u64,
    /// Bytes of live records in packed frames, headers and padding included.
    pub record_bytes: u64,
    /// Bytes of holes in packed frames.
    pub hole_bytes: u64,
    /// Objects in packed frames.
    pub objects: u64,
}

impl PoolStats {
    /// Returns the number of frames the pool holds (packed, huge and reserve): the entries
    /// of the frame table in use. For memory see [`PoolStats::total_pages`].
    pub fn total_frames(&self) -> u64 {
        u64::from(self.packed_frames)
            .saturating_add(u64::from(self.huge_frames))
            .saturating_add(u64::from(self.reserve_frames))
    }

    /// Returns the number of pages the pool holds: packed, huge and reserve. This is the
    /// memory the pool uses, what its page limit bounds.
    pub fn total_pages(&self) -> u64 {
        self.packed_pages
            .saturating_add(u64::from(self.huge_frames))
            .saturating_add(self.reserve_pages)
    }

    /// Returns how much of the packed frames is not object data, in thousandths.
    ///
    /// This is `1000 * (1 - live_bytes / (packed_pages * 4096))`, rounded down: headers,
    /// holes and free space after the tails all count as waste. It is 0 without packed
    /// frames. Huge and reserve frames are not included.
    pub fn fragmentation_permille(&self) -> u32 {
        // CAST: `PAGE_SIZE` is 4096, which fits a `u64`.
        let capacity = self.packed_pages.saturating_mul(PAGE_SIZE as u64);
        let waste = capacity.saturating_sub(self.live_bytes);
        waste
            .checked_mul(1000)
            .and_then(|w| w.checked_div(capacity))
            .and_then(|permille| u32::try_from(permille).ok())
            .unwrap_or(0)
    }
}

/// What [`Pool::compact`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompactStats {
    /// Frames whose holes were squeezed out in place.
    pub frames_compacted: u32,
    /// Bytes of holes reclaimed in place.
    pub hole_bytes_reclaimed: u64,
    /// Moves reported to `relocated`, in place or to another frame.
    pub objects_moved: u64,
    /// Bytes of the records moved, headers included: what compaction copied.
    pub bytes_moved: u64,
    /// Frames emptied by moving their records to other frames; each went to the reserve
    /// or was dropped like any emptied frame.
    pub frames_emptied: u32,
    /// Pages of the frames emptied.
    pub pages_emptied: u64,
}

/// Sums of the usage of all packed frames.
#[derive(Default, Clone, Copy)]
pub(super) struct Totals {
    tail_bytes: u64,
    pub(super) record_bytes: u64,
    objects: u64,
    padding: u64,
}

impl Totals {
    /// Accounts for a packed frame's usage changing from `old` to `new`.
    #[inline]
    pub(super) fn replace(&mut self, old: Usage, new: Usage) {
        self.tail_bytes = swapped(self.tail_bytes, old.tail, new.tail);
        self.record_bytes = swapped(self.record_bytes, old.record_bytes, new.record_bytes);
        self.objects = swapped(self.objects, old.objects, new.objects);
        self.padding = swapped(self.padding, old.padding, new.padding);
    }
}

/// Returns `sum` with `old` taken out and `new` put in.
#[inline]
fn swapped(sum: u64, old: u16, new: u16) -> u64 {
    sum.saturating_sub(u64::from(old))
        .saturating_add(u64::from(new))
}

impl<F, S> Pool<F, S>
where
    F: AsRef<[u8]> + AsMut<[u8]>,
    S: Table<FrameEntry<F>>,
{
    /// Returns the sizes of the pool.
    pub fn pool_stats(&self) -> PoolStats {
        let headers = self.totals.objects.saturating_mul(u64::from(HEADER));
        PoolStats {
            packed_frames: self.packed_frames,
            packed_pages: self.packed_pages,
            huge_frames: self.huge_frames,
            reserve_frames: self.reserve.len(),
            reserve_pages: self.reserve_pages,
            live_bytes: self
                .totals
                .record_bytes
                .saturating_sub(headers)
                .saturating_sub(self.totals.padding),
            record_bytes: self.totals.record_bytes,
            hole_bytes: self
                .totals
                .tail_bytes
                .saturating_sub(self.totals.record_bytes),
            objects: self.totals.objects,
        }
    }
}
