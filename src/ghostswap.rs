// SPDX-License-Identifier: GPL-2.0

//! ghostswap: a RAM-backed "ghost" swap device.
//!
//! Supported:
//! - `/dev/ghostswap0..N-1` (module parameter `num_devices`), unconfigured
//!   until sysfs `disksize` is written as with zram (or each `disksize` bytes
//!   from the module parameter), with 4 KiB logical and physical blocks;
//! - synchronous I/O, so swap-in takes the no-swap-cache fast path, unless a
//!   backing device is set: swap then reads ahead through its cache;
//! - read, write, flush, discard and write-zeroes; reads of never-written
//!   blocks return zeroes;
//! - swap slot-free notification, which releases a page as soon as swap drops it;
//! - pages compressed with LZ4 or Zstandard into a pool of multi-page frames,
//!   same-filled pages kept in their slot, incompressible ones whole;
//! - writeback of whole pool frames to a backing device (`backing_dev`), on
//!   request (`writeback`) and automatically at `pool_high_wmark`; reads of
//!   migrated pages from the backing device;
//! - zram's sysfs attributes in `/sys/block/ghostswapN/` where the meaning is
//!   the same, plus `frontswap_stat` and `writeback_stat`.
//!
//! The decisions (geometry checks, slot states, allocator, writeback choices,
//! parsing) live in `src/core`.

use kernel::{block::mq::gen_disk::GenDisk, new_mutex, prelude::*, sync::Mutex};

mod backend;
mod backing_io;
mod counters;
mod device;
mod extent_reads;
pub mod gscore;
mod io;
mod migrated_read;
mod read;
mod streams;
mod sysfs;
mod tables;
mod walk;
mod write;
mod writeback;

use device::GhostDevice;
use gscore::extent_cache::MAX_ENTRIES;

module! {
    type: GhostswapModule,
    name: "ghostswap",
    author: "ghostswap developers",
    description: "Compressed RAM swap device with writeback (ghost swap)",
    license: "GPL v2",
}

kernel::module_param! {
    static NUM_DEVICES: u32 = 1;
    name: "num_devices",
    module: "ghostswap",
    description: "Number of /dev/ghostswapN devices to create (1-16, default 1)",
}

kernel::module_param! {
    static DISKSIZE: str = kernel::c_str!("");
    name: "disksize",
    module: "ghostswap",
    description: "Size of each device: bytes with optional K/M/G/T suffix; empty (the default): unconfigured, set up through sysfs as with zram",
}

kernel::module_param! {
    static ASYNC_READS: bool = true;
    name: "async_reads",
    module: "ghostswap",
    description: "Read migrated pages from submit_bio without waiting (default on; off: the work queue reads them, one bio at a time)",
}

kernel::module_param! {
    static CACHED_EXTENTS: u32 = 8;
    name: "cached_extents",
    module: "ghostswap",
    description: "Extents of the backing device each device keeps in memory after a read, for the neighbours of the page read (0-16, default 8; 0: none)",
}

/// Extents of the backing device a device keeps in memory after a read
/// (`extent_reads`).
pub(crate) fn cached_extents() -> usize {
    // CAST: a `u32` fits a `usize`; checked at load against `MAX_ENTRIES`.
    CACHED_EXTENTS.get() as usize
}

/// Whether a read bio's migrated pages are read from `submit_bio` without
/// waiting (`migrated_read`) rather than by the work queue. On by default:
/// swap reads ahead on a disk with a backing device, and the reads of a
/// fault and its neighbours then run at once (see the admin guide).
pub(crate) fn async_reads() -> bool {
    ASYNC_READS.get()
}

/// Most devices one module instance creates; enough for tests and NUMA setups.
const MAX_DEVICES: u32 = 16;

struct GhostswapModule {
    _disks: Pin<KBox<Mutex<KVec<GenDisk<GhostDevice>>>>>,
}

impl kernel::Module for GhostswapModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let count = NUM_DEVICES.get();
        if !(1..=MAX_DEVICES).contains(&count) {
            pr_err!("num_devices={count} is not in 1..={MAX_DEVICES}\n");
            return Err(EINVAL);
        }
        let cached = CACHED_EXTENTS.get();
        // CAST: 16 fits a `u32`.
        if cached > MAX_ENTRIES as u32 {
            pr_err!("cached_extents={cached} is not in 0..={MAX_ENTRIES}\n");
            return Err(EINVAL);
        }
        let disksize = DISKSIZE.get();
        let mut disks = KVec::with_capacity(count as usize, GFP_KERNEL)?;
        for index in 0..count {
            let disk = device::create_disk(index, disksize.as_bytes()).inspect_err(|e| {
                if *e == EINVAL {
                    pr_err!("disksize={disksize} is not a size in whole 4 KiB pages\n");
                }
            })?;
            disks.push(disk, GFP_KERNEL)?;
        }
        pr_info!("{count} device(s), disksize={disksize}\n");
        Ok(Self {
            _disks: KBox::pin_init(new_mutex!(disks, "ghostswap:disks"), GFP_KERNEL)?,
        })
    }
}
