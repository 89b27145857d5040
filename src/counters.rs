// SPDX-License-Identifier: GPL-2.0

//! The event counts of one device, for `io_stat`, `bd_stat` and `writeback_stat`.
//!
//! One struct per device, shared by the device and its backend (the work queue's
//! items hold only the backend), cleared at reset. The gauges (pages stored, blocks
//! used) live in the store, which counts them under its lock.

use crate::gscore::geometry::PAGE_SIZE;
use core::sync::atomic::{AtomicU64, Ordering};

/// A count that only goes up (until reset), updated without a lock.
#[derive(Default)]
pub(crate) struct Count(AtomicU64);

impl Count {
    pub(crate) fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn inc(&self) {
        self.add(1);
    }

    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    fn clear(&self) {
        self.0.store(0, Ordering::Relaxed);
    }
}

/// Every event count of a device.
#[derive(Default)]
pub(crate) struct Counters {
    // io_stat (zram's four fields).
    /// Read and write bios that failed, in `submit_bio` or on the work queue.
    pub(crate) failed_reads: Count,
    pub(crate) failed_writes: Count,
    pub(crate) invalid_io: Count,
    pub(crate) notify_free: Count,
    // bd_stat's reads (its count and writes are the store's).
    pub(crate) blocks_read: Count,
    /// Reads of the backing device whose blocks did not match their checksums.
    pub(crate) checksum_errors: Count,
    // writeback_stat.
    pub(crate) frames_written: Count,
    pub(crate) bytes_written: Count,
    pub(crate) failed_frames: Count,
    pub(crate) promotions: Count,
    pub(crate) auto_runs: Count,
    pub(crate) manual_runs: Count,
    /// Buffers the allocator did not have at hand: a run wrote with fewer copy
    /// buffers, or a read or direct store waited for the reserve.
    pub(crate) buffer_fallbacks: Count,
    /// Automatic runs held back while the backing device fails.
    pub(crate) backoff_deferrals: Count,
    // debug_stat.
    /// Read bios whose migrated pages were read without waiting
    /// (`migrated_read`, with `async_reads`, the default).
    pub(crate) async_read_bios: Count,
    /// Read bios whose migrated pages the work queue read: always without
    /// `async_reads`, with it for want of memory to set those reads up.
    pub(crate) worker_read_bios: Count,
}

impl Counters {
    /// Counts `bytes` read from the backing device, in whole blocks.
    pub(crate) fn count_blocks_read(&self, bytes: usize) {
        // CAST: a `usize` fits a `u64`.
        self.blocks_read.add((bytes / PAGE_SIZE) as u64);
    }

    /// Zeroes every count (device reset).
    pub(crate) fn clear(&self) {
        for count in [
            &self.failed_reads,
            &self.failed_writes,
            &self.invalid_io,
            &self.notify_free,
            &self.blocks_read,
            &self.checksum_errors,
            &self.frames_written,
            &self.bytes_written,
            &self.failed_frames,
            &self.promotions,
            &self.auto_runs,
            &self.manual_runs,
            &self.buffer_fallbacks,
            &self.backoff_deferrals,
            &self.async_read_bios,
            &self.worker_read_bios,
        ] {
            count.clear();
        }
    }
}
