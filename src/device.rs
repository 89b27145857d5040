// SPDX-License-Identifier: GPL-2.0

//! One ghostswap device: its configuration and, once initialized, its backend.
//!
//! Lock order (see Documentation/design.rst):
//!
//! ```text
//! disk open_mutex (DiskRef::with_open_lock, reset only)
//!   -> GhostDevice::config (Mutex; sysfs stores only)
//!     -> work queue flush (reset only)
//!     -> Writeback::running (Mutex; writeback runs, manual and automatic)
//!       -> stream mutex (Streams::with; data path)
//!         -> Writeback::reserve (Mutex; I/O buffer of last resort)
//!           -> Backend::store (SpinLock; data path, slot-free notification)
//! GhostDevice::backend (SpinLock) is only held to clone or swap the Arc.
//! GhostDevice::pending_backing (Mutex) is taken under config only.
//! backing_dev opens its target (taking that disk's open_mutex) with no
//! lock held.
//! ```
//!
//! Nothing sleeps or allocates under `Backend::store`: frames are allocated
//! after dropping it (the store's NeedFrame protocol). Frames it gives back
//! are freed on the spot: freeing a page does not sleep. Backing-device I/O
//! (writeback, reads of migrated pages) runs with no spinlock held, in sysfs
//! writes or on the device's work queue, never inside `submit_bio`.

use core::sync::atomic::{AtomicU64, Ordering};
use kernel::{
    alloc::{flags, Flags},
    block::mq::{gen_disk::GenDisk, gen_disk::GenDiskBuilder},
    block::BlockDevice,
    c_str, new_mutex, new_spinlock,
    page::MappedPages,
    prelude::*,
    sync::{Arc, Mutex, SpinLock},
    workqueue::{OwnedQueue, QueueFlags},
};

use crate::gscore::{
    attrs::DeviceConfig,
    geometry::{PAGE_SIZE, SECTORS_PER_PAGE},
};
use crate::streams::Streams;
use crate::tables::{new_backing, new_store, DeviceStore};
use crate::writeback::Writeback;

/// Allocation flags on the write path: reclaim may run but must not issue
/// I/O (it could be waiting for this very device), and a failure is an
/// ordinary refused store, not worth a warning.
pub(crate) fn store_gfp() -> Flags {
    flags::GFP_NOIO | flags::__GFP_NOWARN
}

/// Order of the frames packed objects are stored in: 8 pages, so objects of
/// any size waste little at the end of a frame (zsmalloc chains up to 8
/// pages for the same reason). Tried without retries; order 0 is the
/// fallback.
const PACKING_ORDER: u32 = 3;

/// A pool frame: pages from the page allocator, permanently mapped.
pub(crate) struct Frame(MappedPages);

impl Frame {
    /// A single-page frame, as a huge (incompressible) page needs.
    pub(crate) fn single(flags: Flags) -> Result<Self> {
        Ok(Self(MappedPages::alloc(flags, 0)?))
    }

    /// A frame for packed objects: [`PACKING_ORDER`] if one light attempt
    /// (no retries, no OOM killer) finds such a block, else a single page.
    pub(crate) fn packing(flags: Flags) -> Result<Self> {
        MappedPages::alloc(flags | flags::__GFP_NORETRY, PACKING_ORDER)
            .or_else(|_| MappedPages::alloc(flags, 0))
            .map(Self)
            .map_err(Into::into)
    }
}

impl Frame {
    /// Returns `true` for a frame of one page.
    pub(crate) fn is_single(&self) -> bool {
        self.0.order() == 0
    }
}

impl AsRef<[u8]> for Frame {
    fn as_ref(&self) -> &[u8] {
        self.0.as_ref()
    }
}

impl AsMut<[u8]> for Frame {
    fn as_mut(&mut self) -> &mut [u8] {
        self.0.as_mut()
    }
}

/// What an initialized device stores pages with.
#[pin_data]
pub(crate) struct Backend {
    /// Number of 4 KiB pages; fixed while the device is initialized.
    pub(crate) pages: u64,
    #[pin]
    pub(crate) store: SpinLock<DeviceStore>,
    pub(crate) streams: Streams,
    /// Pages stored whole from this compressed size up.
    pub(crate) huge_threshold: usize,
    /// The backing device, opened exclusively when `backing_dev` was written.
    pub(crate) backing: Option<BlockDevice>,
    #[pin]
    pub(crate) writeback: Writeback,
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
    /// The device `backing_dev` opened, until `disksize` hands it to the
    /// backend.
    #[pin]
    pub(crate) pending_backing: Mutex<Option<BlockDevice>>,
    /// Present once the device is initialized.
    #[pin]
    backend: SpinLock<Option<Arc<Backend>>>,
    pub(crate) io: IoCounters,
    /// Where the device's background work runs: reads of migrated pages,
    /// writes that wait for writeback, automatic writeback. Its work items
    /// hold the backend, never the device, so the queue is dropped (and
    /// drained) with the device, after the disk is gone, outside its workers.
    pub(crate) queue: OwnedQueue,
}

impl GhostDevice {
    fn new() -> Result<impl PinInit<Self>> {
        let queue = OwnedQueue::new(
            c_str!("ghostswap"),
            QueueFlags::UNBOUND | QueueFlags::MEM_RECLAIM,
            0,
        )?;
        Ok(pin_init!(Self {
            config <- new_mutex!(DeviceConfig::new(), "ghostswap:config"),
            pending_backing <- new_mutex!(None, "ghostswap:pending_backing"),
            backend <- new_spinlock!(None, "ghostswap:backend"),
            io: IoCounters::default(),
            queue,
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
        let mut pending = self.pending_backing.lock();
        if let Some(bdev) = pending.as_ref() {
            // Never refused: the store is new.
            store
                .attach_backing(new_backing(bdev)?)
                .map_err(|_| EINVAL)?;
        }
        let streams = Streams::new(config.algorithm(), config.effective_level())?;
        let writeback = Writeback::new(config.writeback(), pending.is_some())?;
        let backing = pending.take();
        drop(pending);
        let backend = Arc::pin_init(
            pin_init!(Backend {
                pages,
                store <- new_spinlock!(store, "ghostswap:store"),
                streams,
                huge_threshold: crate::gscore::classify::DEFAULT_HUGE_THRESHOLD,
                backing,
                writeback <- writeback,
            }),
            GFP_KERNEL,
        );
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
            self.queue.flush();
            // A manual run cannot be in progress (it holds `config`, which
            // the caller holds), and a run waits for its batch before it
            // lets go of `running`: once it is free, no write is in flight.
            backend.writeback.wait_idle();
        }
        // Usually the last reference: the store, its frames and the backing
        // device are freed here, with no lock held.
        drop(backend);
        *self.pending_backing.lock() = None;
        self.io.clear();
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
        IoCounters::count(&self.io.notify_free);
        if let Some(backend) = self.backend() {
            let _ = backend.store.lock().free(index);
        }
    }
}

impl Backend {
    /// Releases what the slots in `range` hold, a chunk at a time so the lock
    /// is never held for long on a large discard.
    pub(crate) fn free_range(&self, range: core::ops::Range<u64>) -> Result {
        const CHUNK: u64 = 256;
        let mut start = range.start;
        while start < range.end {
            let end = range.end.min(start.saturating_add(CHUNK));
            self.store.lock().free_range(start..end).map_err(|_| EIO)?;
            start = end;
        }
        Ok(())
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
