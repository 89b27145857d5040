// SPDX-License-Identifier: GPL-2.0

//! One ghostswap device: its configuration, its slot table and the pages it stores.
//!
//! Lock order (see Documentation/design.rst):
//!
//! ```text
//! disk open_mutex (DiskRef::with_open_lock, reset only)
//!   -> GhostDevice::config (Mutex; sysfs stores only)
//!     -> GhostDevice::store (SpinLock; data path, slot-free notification)
//! ```
//!
//! Nothing sleeps or allocates under `store`: pages and slot tables are
//! allocated before it is taken and freed after it is released, except on
//! the slot-free notification path, which already runs in atomic context and
//! where freeing a page does not sleep.

use core::sync::atomic::{AtomicU64, Ordering};
use kernel::{
    alloc::{flags, Flags},
    block::mq::{gen_disk::GenDisk, gen_disk::GenDiskBuilder, TagSet},
    new_mutex, new_spinlock,
    page::Page,
    prelude::*,
    sync::{Arc, Mutex, SpinLock},
};

use crate::gscore::{
    attrs::DeviceConfig,
    geometry::{PAGE_SIZE, SECTORS_PER_PAGE},
    slots::{Slot, SlotTable},
    stats::Counters,
};

/// Requests in flight per device; swap issues at most a cluster at a time.
const QUEUE_DEPTH: u32 = 64;

/// Allocation flags on the write path: reclaim may run but must not issue
/// I/O (it could be waiting for this very device), and a failure is an
/// ordinary refused store, not worth a warning.
pub(crate) fn store_gfp() -> Flags {
    flags::GFP_NOIO | flags::__GFP_NOWARN | flags::__GFP_HIGHMEM
}

/// The slot storage of a device, one [`Slot`] per 4 KiB page.
pub(crate) struct PageSlots(KVVec<Slot<Page>>);

impl AsRef<[Slot<Page>]> for PageSlots {
    fn as_ref(&self) -> &[Slot<Page>] {
        &self.0
    }
}

impl AsMut<[Slot<Page>]> for PageSlots {
    fn as_mut(&mut self) -> &mut [Slot<Page>] {
        &mut self.0
    }
}

/// The slot table of an initialized device.
pub(crate) type Table = SlotTable<PageSlots>;

/// Allocates an all-empty slot table of `pages` slots (may sleep).
fn new_table(pages: u64) -> Result<Table> {
    let count = usize::try_from(pages).map_err(|_| EINVAL)?;
    let mut slots = KVVec::with_capacity(count, GFP_KERNEL)?;
    for _ in 0..count {
        slots.push(Slot::Empty, GFP_KERNEL)?;
    }
    Ok(SlotTable::new(PageSlots(slots)))
}

/// I/O outcomes that zram reports in `io_stat`.
#[derive(Default)]
pub(crate) struct IoCounters {
    pub(crate) failed_reads: AtomicU64,
    pub(crate) failed_writes: AtomicU64,
    pub(crate) invalid_io: AtomicU64,
    pub(crate) notify_free: AtomicU64,
}

impl IoCounters {
    pub(crate) fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn clear(&self) {
        for counter in [
            &self.failed_reads,
            &self.failed_writes,
            &self.invalid_io,
            &self.notify_free,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
    }
}

/// The state of one `/dev/ghostswapN`.
#[pin_data]
pub(crate) struct GhostDevice {
    /// What sysfs configured; changed only with this lock held.
    #[pin]
    pub(crate) config: Mutex<DeviceConfig>,
    /// The slot table, present once the device is initialized.
    #[pin]
    pub(crate) store: SpinLock<Option<Table>>,
    pub(crate) io: IoCounters,
    /// `config`'s mem_limit in bytes (0 = none), readable on the data path.
    pub(crate) mem_limit: AtomicU64,
}

impl GhostDevice {
    fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            config <- new_mutex!(DeviceConfig::new(), "ghostswap:config"),
            store <- new_spinlock!(None, "ghostswap:store"),
            io: IoCounters::default(),
            mem_limit: AtomicU64::new(0),
        })
    }

    /// Initializes the device with `input` as its disksize (zram's `disksize`
    /// write); returns the new capacity in sectors.
    ///
    /// The caller holds `config`, so the size check, the allocation and the
    /// switch to "initialized" cannot interleave with another writer.
    pub(crate) fn initialize(&self, config: &mut DeviceConfig, input: &[u8]) -> Result<u64> {
        let bytes = config
            .check_disksize(input)
            .map_err(crate::sysfs::attr_error)?;
        let pages = bytes / PAGE_SIZE as u64;
        let table = new_table(pages)?;
        config
            .set_disksize(input)
            .map_err(crate::sysfs::attr_error)?;
        *self.store.lock() = Some(table);
        pages.checked_mul(SECTORS_PER_PAGE).ok_or(EINVAL)
    }

    /// Frees every page and the slot table (zram's `reset`); the caller holds
    /// the disk's open mutex, has checked that nobody has it open, and has
    /// reset the configuration.
    pub(crate) fn release(&self) {
        let table = self.store.lock().take();
        drop(table);
        self.io.clear();
        self.mem_limit.store(0, Ordering::Relaxed);
    }

    /// A snapshot of the device's counters (all zero before initialization).
    pub(crate) fn counters(&self) -> Counters {
        self.store
            .lock()
            .as_ref()
            .map(|table| table.counters())
            .unwrap_or_default()
    }

    /// Runs `f` on the slot table, or fails with `EIO` if the device is not
    /// initialized (the block layer sends no I/O to a disk of capacity 0).
    pub(crate) fn with_table<R>(&self, f: impl FnOnce(&mut Table) -> Result<R>) -> Result<R> {
        match self.store.lock().as_mut() {
            Some(table) => f(table),
            None => Err(EIO),
        }
    }

    /// `mem_limit` as a number of whole pages, if one is set.
    pub(crate) fn mem_limit_pages(&self) -> Option<u64> {
        let limit = self.mem_limit.load(Ordering::Relaxed);
        (limit != 0).then_some(limit / PAGE_SIZE as u64)
    }

    /// The number of 4 KiB pages of the initialized device, or 0.
    pub(crate) fn pages(&self) -> u64 {
        self.store.lock().as_ref().map_or(0, |table| table.len())
    }

    /// Releases the page stored in slot `index`, if any.
    ///
    /// Called from swap's slot-free notification, under swap's spinlock: the
    /// page is freed under our spinlock too, which does not sleep.
    pub(crate) fn free_slot(&self, index: u64) {
        IoCounters::count(&self.io.notify_free);
        let freed = self.with_table(|table| table.free(index).map_err(|_| EIO));
        drop(freed);
    }

    /// Releases the pages stored in `range`, a chunk at a time so the lock is
    /// never held for long on a large discard.
    pub(crate) fn free_range(&self, range: core::ops::Range<u64>) -> Result {
        const CHUNK: u64 = 256;
        let mut start = range.start;
        while start < range.end {
            let end = range.end.min(start.saturating_add(CHUNK));
            self.with_table(|table| table.free_range(start..end, drop).map_err(|_| EIO))?;
            start = end;
        }
        Ok(())
    }
}

/// Creates and adds `/dev/ghostswap<index>`, initialized with `disksize`
/// (bytes, as the module parameter was written) unless it is empty.
pub(crate) fn create_disk(index: u32, disksize: &[u8]) -> Result<GenDisk<GhostDevice>> {
    let device = Arc::pin_init(GhostDevice::new(), GFP_KERNEL)?;
    let mut sectors = 0;
    if !disksize.is_empty() {
        let mut config = device.config.lock();
        sectors = device.initialize(&mut config, disksize)?;
    }
    let tagset = Arc::pin_init(TagSet::new_blocking(1, QUEUE_DEPTH, 1), GFP_KERNEL)?;
    // CAST: PAGE_SIZE is 4096.
    let block = PAGE_SIZE as u32;
    GenDiskBuilder::new()
        .capacity_sectors(sectors)
        .logical_block_size(block)?
        .physical_block_size(block)?
        .rotational(false)
        .synchronous(true)
        .max_discard_sectors(u32::MAX >> 9)
        .discard_granularity(block)
        .max_write_zeroes_sectors(u32::MAX >> 9)
        .build(format_args!("ghostswap{index}"), tagset, device)
}
