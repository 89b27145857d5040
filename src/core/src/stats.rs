//! Per-device statistics and their sysfs text.
//!
//! The counters follow frontswap's meaning of stores, loads and invalidates; see
//! [`Counters`]. The writers produce the text of the `mm_stat` and `frontswap_stat`
//! attributes, formatted like zram's `mm_stat`: each number right-aligned in 8 columns,
//! separated by one space, the line ending in a newline.

use core::fmt::{self, Write};

use super::geometry::PAGE_SHIFT;

/// Statistics of one device.
///
/// The cumulative counters only grow (saturating at `u64::MAX`); `stored_pages` is a gauge
/// and `max_stored_pages` its high-water mark.
#[derive(Default, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counters {
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

/// Converts a page count to bytes, saturating instead of overflowing.
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

/// Writes the `mm_stat` line for `c`.
///
/// The fields are zram's: `orig_data_size compr_data_size mem_used_total mem_limit
/// mem_used_max same_pages pages_compacted huge_pages huge_pages_since`. Pages are stored
/// uncompressed for now, so the first three fields are all `stored_pages` in bytes,
/// `mem_used_max` is `max_stored_pages` in bytes and the other fields are zero.
///
/// # Errors
///
/// Returns the error of `w`, if any.
///
/// # Examples
///
/// ```
/// use ghostswap_core::stats::{write_mm_stat, Counters};
///
/// let c = Counters { stored_pages: 2, max_stored_pages: 3, ..Counters::default() };
/// let mut text = String::new();
/// write_mm_stat(&c, 0, &mut text).unwrap();
/// assert_eq!(
///     text,
///     "    8192     8192     8192        0    12288        0        0        0        0\n"
/// );
/// ```
pub fn write_mm_stat(c: &Counters, mem_limit: u64, w: &mut impl Write) -> fmt::Result {
    let stored = pages_to_bytes(c.stored_pages);
    write_line(
        w,
        &[
            stored,
            stored,
            stored,
            mem_limit,
            pages_to_bytes(c.max_stored_pages),
            0,
            0,
            0,
            0,
        ],
    )
}

/// Writes the `frontswap_stat` line for `c`.
///
/// The fields are `stores failed_stores loads invalidates same_filled huge`; the last two
/// are zero until same-filled and huge pages are told apart.
///
/// # Errors
///
/// Returns the error of `w`, if any.
///
/// # Examples
///
/// ```
/// use ghostswap_core::stats::{write_frontswap_stat, Counters};
///
/// let c = Counters { stores: 5, failed_stores: 1, loads: 3, invalidates: 2, ..Counters::default() };
/// let mut text = String::new();
/// write_frontswap_stat(&c, &mut text).unwrap();
/// assert_eq!(text, "       5        1        3        2        0        0\n");
/// ```
pub fn write_frontswap_stat(c: &Counters, w: &mut impl Write) -> fmt::Result {
    write_line(
        w,
        &[c.stores, c.failed_stores, c.loads, c.invalidates, 0, 0],
    )
}
