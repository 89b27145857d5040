// SPDX-License-Identifier: GPL-2.0

//! One ghostswap device: its slot table and the pages it stores.
//!
//! Lock order: `GhostDevice::table` is the only lock on the data path. It is a
//! spinlock because swap's slot-free notification arrives under swap's own
//! spinlock; nothing sleeps or allocates while holding it. Pages are
//! allocated before it is taken, and pages it returns are freed after it is
//! released, except on the notification path where freeing cannot sleep.

use kernel::{
    alloc::{flags, Flags},
    block::mq::{gen_disk::GenDisk, gen_disk::GenDiskBuilder, TagSet},
    new_spinlock,
    page::Page,
    prelude::*,
    sync::{Arc, SpinLock},
};

use crate::gscore::{
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

/// The state of one `/dev/ghostswapN`.
#[pin_data]
pub(crate) struct GhostDevice {
    /// Number of 4 KiB pages the device holds.
    pub(crate) pages: u64,
    #[pin]
    pub(crate) table: SpinLock<SlotTable<PageSlots>>,
}

impl GhostDevice {
    fn new(pages: u64) -> Result<impl PinInit<Self, Error>> {
        let count = usize::try_from(pages).map_err(|_| EINVAL)?;
        let mut slots = KVVec::with_capacity(count, GFP_KERNEL)?;
        for _ in 0..count {
            slots.push(Slot::Empty, GFP_KERNEL)?;
        }
        let table = SlotTable::new(PageSlots(slots));
        Ok(try_pin_init!(Self {
            pages,
            table <- new_spinlock!(table, "ghostswap:table"),
        }? Error))
    }

    /// A snapshot of the device's counters.
    pub(crate) fn counters(&self) -> Counters {
        self.table.lock().counters()
    }

    /// Releases the page stored in slot `index`, if any.
    ///
    /// Called from swap's slot-free notification, under swap's spinlock: the
    /// page is freed under our spinlock too, which does not sleep.
    pub(crate) fn free_slot(&self, index: u64) {
        let freed = self.table.lock().free(index);
        drop(freed);
    }

    /// Releases the pages stored in `range`, a chunk at a time so the lock is
    /// never held for long on a large discard.
    pub(crate) fn free_range(&self, range: core::ops::Range<u64>) -> Result {
        const CHUNK: u64 = 256;
        let mut start = range.start;
        while start < range.end {
            let end = range.end.min(start.saturating_add(CHUNK));
            self.table
                .lock()
                .free_range(start..end, drop)
                .map_err(|_| EIO)?;
            start = end;
        }
        Ok(())
    }
}

/// Creates and adds `/dev/ghostswap<index>` with `pages` 4 KiB pages.
pub(crate) fn create_disk(index: u32, pages: u64) -> Result<GenDisk<GhostDevice>> {
    let sectors = pages.checked_mul(SECTORS_PER_PAGE).ok_or(EINVAL)?;
    let device = Arc::pin_init(GhostDevice::new(pages)?, GFP_KERNEL)?;
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
