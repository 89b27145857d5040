//! Per-device statistics and their sysfs text.
//!
//! The counters follow frontswap's meaning of stores, loads and invalidates; see
//! [`SlotCounts`]. The writers produce the text of the `mm_stat` and `frontswap_stat`
//! attributes, formatted like zram's `mm_stat`: each number right-aligned in 8 columns,
//! separated by one space, the line ending in a newline.

use core::fmt::{self, Write};

use super::geometry::PAGE_SHIFT;

/// Statistics of one device.
///
/// The cumulative counters only grow (saturating at `u64::MAX`); `stored_pages` is a gauge
/// and `max_stored_pages` its high-water mark.
#[derive(Default, Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotCounts {
    /// Pages stored successfully, overwrites of stored pages included.
    pub stores: u64,
    /// Stores that could not be done (for example for lack of memory).
    pub failed_stores: u64,
    /// Reads of slots that held data.
    pub loads: u64,
    /// Reads of slots that held no data, answered with zeros; not counted as loads.
    pub zero_reads: u64,
    /// Slots that held data and were freed: by discard, write-zeroes, a slot-free
    /// notification or a failed overwrite. Overwrites and device teardown are not counted.
    pub invalidates: u64,
    /// Slots that hold data now.
    pub stored_pages: u64,
    /// Highest value `stored_pages` has had.
    pub max_stored_pages: u64,
}

impl SlotCounts {
    /// Counts a store into a slot that held data (`old_held`) or not: a store, and the
    /// gauge and its high-water mark if the slot did not hold data.
    pub fn record_store(&mut self, old_held: bool) {
        self.stores = self.stores.saturating_add(1);
        self.note_transition(old_held, true);
    }

    /// Counts a store that could not be done, which empties its slot: a failed store, and
    /// an invalidate if the slot held data.
    pub fn record_refuse(&mut self, old_held: bool) {
        self.failed_stores = self.failed_stores.saturating_add(1);
        self.record_free(old_held);
    }

    /// Counts a read of a slot: a load if it holds data, else a zero read.
    pub fn record_load(&mut self, held: bool) {
        let counter = if held {
            &mut self.loads
        } else {
            &mut self.zero_reads
        };
        *counter = counter.saturating_add(1);
    }

    /// Counts a slot emptied by a free: an invalidate if it held data.
    pub fn record_free(&mut self, old_held: bool) {
        if old_held {
            self.invalidates = self.invalidates.saturating_add(1);
        }
        self.note_transition(old_held, false);
    }

    /// Updates the `stored_pages` gauge and its high-water mark after one slot changed
    /// from a state that held data (`old`) to one that does (`new`), or not.
    pub fn note_transition(&mut self, old: bool, new: bool) {
        match (old, new) {
            (false, true) => {
                self.stored_pages = self.stored_pages.saturating_add(1);
                self.max_stored_pages = self.max_stored_pages.max(self.stored_pages);
            }
            (true, false) => self.stored_pages = self.stored_pages.saturating_sub(1),
            _ => {}
        }
    }

    /// Restarts the high-water mark of stored pages from the current level.
    ///
    /// What a write of `0` to zram's `mem_used_max` does.
    pub fn reset_max(&mut self) {
        self.max_stored_pages = self.stored_pages;
    }
}

/// Converts a page count to bytes, saturating instead of overflowing.
/// The figures of zram's `mm_stat`, in its field order.
#[derive(Default, Clone, Copy, Debug, PartialEq, Eq)]
pub struct MmStat {
    /// Bytes of data stored (4096 per stored page).
    pub orig_data_size: u64,
    /// Bytes of compressed data, huge pages counting 4096 each.
    pub compr_data_size: u64,
    /// Bytes of memory the pool holds, allocator overhead included.
    pub mem_used_total: u64,
    /// The configured limit in bytes, 0 for none.
    pub mem_limit: u64,
    /// High-water mark of `mem_used_total`.
    pub mem_used_max: u64,
    /// Pages stored as a repeated word.
    pub same_pages: u64,
    /// Frames freed by compaction.
    pub pages_compacted: u64,
    /// Pages stored uncompressed.
    pub huge_pages: u64,
    /// Huge pages stored since the device was initialized.
    pub huge_pages_since: u64,
}

impl MmStat {
    /// The figures of a store that keeps every page whole in its own page.
    pub fn uncompressed(c: &SlotCounts, mem_limit: u64) -> Self {
        let stored = pages_to_bytes(c.stored_pages);
        Self {
            orig_data_size: stored,
            compr_data_size: stored,
            mem_used_total: stored,
            mem_limit,
            mem_used_max: pages_to_bytes(c.max_stored_pages),
            ..Self::default()
        }
    }
}

fn pages_to_bytes(pages: u64) -> u64 {
    pages.saturating_mul(1 << PAGE_SHIFT)
}

/// Writes `values` as one zram-style line: width-8 right-aligned fields, single spaces.
fn write_line(w: &mut impl Write, values: &[u64]) -> fmt::Result {
    let mut separator = "";
    for value in values {
        write!(w, "{separator}{value:>8}")?;
        separator = " ";
    }
    w.write_char('\n')
}

/// Writes the `mm_stat` line for `m`.
///
/// The fields are zram's: `orig_data_size compr_data_size mem_used_total mem_limit
/// mem_used_max same_pages pages_compacted huge_pages huge_pages_since`.
///
/// # Errors
///
/// Returns the error of `w`, if any.
///
/// # Examples
///
/// ```
/// use ghostswap_core::stats::{write_mm_stat, SlotCounts, MmStat};
///
/// let c = SlotCounts { stored_pages: 2, max_stored_pages: 3, ..SlotCounts::default() };
/// let mut text = String::new();
/// write_mm_stat(&MmStat::uncompressed(&c, 0), &mut text).unwrap();
/// assert_eq!(
///     text,
///     "    8192     8192     8192        0    12288        0        0        0        0\n"
/// );
/// ```
pub fn write_mm_stat(m: &MmStat, w: &mut impl Write) -> fmt::Result {
    write_line(
        w,
        &[
            m.orig_data_size,
            m.compr_data_size,
            m.mem_used_total,
            m.mem_limit,
            m.mem_used_max,
            m.same_pages,
            m.pages_compacted,
            m.huge_pages,
            m.huge_pages_since,
        ],
    )
}

/// Writes the `frontswap_stat` line for `c`.
///
/// The fields are `stores failed_stores loads invalidates same_filled huge`, the last two
/// being the gauges of same-filled and huge pages stored now.
///
/// # Errors
///
/// Returns the error of `w`, if any.
///
/// # Examples
///
/// ```
/// use ghostswap_core::stats::{write_frontswap_stat, SlotCounts};
///
/// let c = SlotCounts { stores: 5, failed_stores: 1, loads: 3, invalidates: 2, ..SlotCounts::default() };
/// let mut text = String::new();
/// write_frontswap_stat(&c, 7, 1, &mut text).unwrap();
/// assert_eq!(text, "       5        1        3        2        7        1\n");
/// ```
pub fn write_frontswap_stat(
    c: &SlotCounts,
    same_filled: u64,
    huge: u64,
    w: &mut impl Write,
) -> fmt::Result {
    write_line(
        w,
        &[
            c.stores,
            c.failed_stores,
            c.loads,
            c.invalidates,
            same_filled,
            huge,
        ],
    )
}
