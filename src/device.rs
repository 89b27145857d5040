// SPDX-License-Identifier: GPL-2.0

//! One ghostswap device: its configuration, its backend once initialized, and
//! the block operations of its disk.
//!
//! The lock order is written once, in `Documentation/design.rst` ("Lock
//! order"). In short: nothing sleeps or allocates under `Backend::store`
//! (frames are allocated after dropping it: the store's NeedFrame
//! protocol), and backing-device I/O runs with no spinlock held, in sysfs
//! writes or on the device's work queue, never inside `submit_bio`.

use kernel::{
    block::mq::{self, gen_disk::GenDisk, gen_disk::GenDiskBuilder, Bio, Command, Operations},
    block::{bdev::CompletionQueue, BlockDevice},
    c_str, new_mutex, new_spinlock,
    prelude::*,
    sync::{Arc, ArcBorrow, Mutex, SpinLock},
    workqueue::{OwnedQueue, QueueFlags},
};

use crate::backend::Backend;
use crate::counters::Counters;
use crate::gscore::{
    attrs::DeviceConfig,
    geometry::{covered_pages, PAGE_SIZE, SECTORS_PER_PAGE},
};
use crate::io;
use crate::tables::{new_backing, new_store};

/// The state of one `/dev/ghostswapN`.
#[pin_data]
pub(crate) struct GhostDevice {
    /// What sysfs configured; changed only with this lock held.
    #[pin]
    pub(crate) config: Mutex<DeviceConfig>,
    /// The device `backing_dev` opened, until `disksize` hands it to the
    /// backend.
    #[pin]
    pub(crate) pending_backing: Mutex<Option<BlockDevice>>,
    /// Present once the device is initialized.
    #[pin]
    backend: SpinLock<Option<Arc<Backend>>>,
    pub(crate) counters: Arc<Counters>,
    /// Where reads of migrated pages end (their blocks checked and
    /// decompressed) and where read bios wait for the backing device: a task
    /// waits for each of these items, so they run at high priority rather
    /// than behind the other runnable tasks.
    ///
    /// The work items of both queues hold the backend, never the device, so
    /// the queues are dropped (and drained) with the device, after the disk
    /// is gone, outside their workers.
    #[pin]
    pub(crate) read_queue: CompletionQueue,
    /// Where write bios wait for room (writeback) and automatic writeback
    /// runs: background work, at the default priority.
    pub(crate) write_queue: OwnedQueue,
}

impl GhostDevice {
    fn new() -> Result<impl PinInit<Self>> {
        let flags = QueueFlags::UNBOUND | QueueFlags::MEM_RECLAIM;
        let read_queue =
            OwnedQueue::new(c_str!("ghostswap_reads"), flags | QueueFlags::HIGHPRI, 0)?;
        let write_queue = OwnedQueue::new(c_str!("ghostswap"), flags, 0)?;
        let counters = Arc::new(Counters::default(), GFP_KERNEL)?;
        Ok(pin_init!(Self {
            config <- new_mutex!(DeviceConfig::new(), "ghostswap:config"),
            pending_backing <- new_mutex!(None, "ghostswap:pending_backing"),
            backend <- new_spinlock!(None, "ghostswap:backend"),
            counters,
            read_queue <- CompletionQueue::new(read_queue),
            write_queue,
        }))
    }

    /// The backend of the initialized device.
    pub(crate) fn backend(&self) -> Option<Arc<Backend>> {
        self.backend.lock().clone()
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
        let mut store = new_store(pages)?;
        store.set_page_limit(page_limit(config.mem_limit()));
        store.apply_writeback_settings(config.writeback());
        let mut pending = self.pending_backing.lock();
        if let Some(bdev) = pending.as_ref() {
            // Never refused: the store is new.
            store
                .attach_backing(new_backing(bdev)?)
                .map_err(|_| EINVAL)?;
            store.set_cached_extents(crate::cached_extents());
        }
        let init = Backend::new(pages, store, config, &mut pending, self.counters.clone())?;
        drop(pending);
        let backend = Arc::pin_init(init, GFP_KERNEL);
        // On failure the backing device was closed with the initializer:
        // forget its path too, so `backing_dev` does not show a device that
        // is not open (never refused: the device is not initialized).
        let backend = backend.inspect_err(|_| {
            let _ = config.set_backing_dev(b"none");
        })?;
        config
            .set_disksize(input)
            .map_err(crate::sysfs::attr_error)?;
        *self.backend.lock() = Some(backend);
        pages.checked_mul(SECTORS_PER_PAGE).ok_or(EINVAL)
    }

    /// Frees every page, frame and stream (zram's `reset`); the caller holds
    /// the disk's open mutex, has checked that nobody has it open, and has
    /// reset the configuration.
    ///
    /// Returns only once nothing of the old backend writes to its backing
    /// device any more: a re-initialized device may allocate the same blocks
    /// at once, and a late write of the old one would overwrite them.
    pub(crate) fn release(&self) {
        let backend = self.backend.lock().take();
        if let Some(backend) = &backend {
            backend.writeback.stop();
            // Deferred bios and automatic runs queued or running end (an
            // automatic run stops at its next frame, after its batch).
            self.read_queue.flush();
            self.write_queue.flush();
            // A manual run cannot be in progress (it holds `config`, which
            // the caller holds), and a run waits for its batch before it
            // lets go of `running`: once it is free, no write is in flight.
            backend.writeback.wait_idle();
        }
        // Usually the last reference: the store, its frames and the backing
        // device are freed here, with no lock held.
        drop(backend);
        *self.pending_backing.lock() = None;
        self.counters.clear();
    }

    /// Applies a new `mem_limit` (bytes, 0 = none) to the pool.
    pub(crate) fn set_mem_limit(&self, limit: u64) {
        if let Some(backend) = self.backend() {
            backend.store.lock().set_page_limit(page_limit(limit));
        }
    }

    /// Releases what slot `index` holds, if anything.
    ///
    /// Called from swap's slot-free notification, under swap's spinlock: the
    /// memory is freed under our spinlock too, which does not sleep.
    pub(crate) fn free_slot(&self, index: u64) {
        self.counters.notify_free.inc();
        if let Some(backend) = self.backend() {
            let _ = backend.store.lock().free(index);
        }
    }
}

#[vtable]
impl Operations for GhostDevice {
    const OWNER: &'static ThisModule = &crate::THIS_MODULE;
    type QueueData = Arc<GhostDevice>;

    const ATTRIBUTES: &'static [mq::attribute::Attribute] = crate::sysfs::ATTRIBUTES;

    fn submit_bio(device: ArcBorrow<'_, GhostDevice>, bio: &mut Bio<'_>) -> Result {
        match bio.command() {
            command @ (Command::Read | Command::Write) => io::submit(&device, bio, command),
            Command::Discard => device.discard(bio),
            Command::WriteZeroes => device.write_zeroes(bio),
            // Everything lives in RAM: there is nothing to make durable.
            Command::Flush => Ok(()),
            // Not advertised in the queue limits, so never sent.
            Command::SecureErase | Command::Other(_) => Err(EIO),
        }
    }

    fn swap_slot_free_notify(device: ArcBorrow<'_, GhostDevice>, offset: u64) {
        device.free_slot(offset);
    }

    fn show_attribute(
        device: ArcBorrow<'_, GhostDevice>,
        index: usize,
        buffer: &mut mq::attribute::AttributeBuffer<'_>,
    ) -> Result {
        crate::sysfs::show(&device, index, buffer)
    }

    fn store_attribute(
        device: ArcBorrow<'_, GhostDevice>,
        disk: &mq::attribute::DiskRef,
        index: usize,
        input: &[u8],
    ) -> Result {
        crate::sysfs::store(&device, disk, index, input)
    }
}

impl GhostDevice {
    /// Drops the pages a discard fully covers; partial pages keep their data.
    fn discard(&self, bio: &mut Bio<'_>) -> Result {
        let backend = self.backend().ok_or(EIO)?;
        let pages = covered_pages(bio.sector(), u64::from(bio.bytes()), backend.pages)
            .map_err(|e| io::invalid_io(self, e))?;
        backend.free_range(pages)
    }

    /// Makes a range read back as zeroes, which is what an empty slot returns.
    fn write_zeroes(&self, bio: &mut Bio<'_>) -> Result {
        let (backend, pages) = io::data_pages(self, bio.sector(), bio.bytes())?;
        backend.free_range(pages)
    }
}

/// `mem_limit` in bytes as a number of pages; `None` for no limit.
fn page_limit(mem_limit: u64) -> Option<u64> {
    // CAST: PAGE_SIZE is 4096.
    (mem_limit != 0).then(|| mem_limit / PAGE_SIZE as u64)
}

/// Creates and adds `/dev/ghostswap<index>`, initialized with `disksize`
/// (bytes, as the module parameter was written) unless it is empty.
pub(crate) fn create_disk(index: u32, disksize: &[u8]) -> Result<GenDisk<GhostDevice>> {
    let device = Arc::pin_init(GhostDevice::new()?, GFP_KERNEL)?;
    let mut sectors = 0;
    if !disksize.is_empty() {
        let mut config = device.config.lock();
        sectors = device.initialize(&mut config, disksize)?;
    }
    // CAST: PAGE_SIZE is 4096.
    let block = PAGE_SIZE as u32;
    GenDiskBuilder::new()
        .capacity_sectors(sectors)
        .logical_block_size(block)?
        .physical_block_size(block)?
        .rotational(false)
        .synchronous(true)
        // Writes are compressed straight from the caller's pages.
        .stable_writes(true)
        .max_discard_sectors(u32::MAX >> 9)
        .discard_granularity(block)
        .max_write_zeroes_sectors(u32::MAX >> 9)
        // Swap's slot-free notifications carry offsets relative to the device
        // swap is on: a swap area on a partition would free the wrong slots.
        .partitions(false)
        .build_bio_based(format_args!("ghostswap{index}"), device)
}
