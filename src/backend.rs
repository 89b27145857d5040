// SPDX-License-Identifier: GPL-2.0

//! What an initialized device stores pages with: its store, compression
//! streams, backing device and writeback state.

use kernel::{block::BlockDevice, new_spinlock, prelude::*, sync::Arc, sync::SpinLock};

use crate::backing_io::IoReserve;
use crate::counters::Counters;
use crate::extent_reads::ExtentBuffers;
use crate::gscore::{attrs::DeviceConfig, classify::DEFAULT_HUGE_THRESHOLD};
use crate::streams::Streams;
use crate::tables::DeviceStore;
use crate::writeback::Writeback;

/// What an initialized device stores pages with.
#[pin_data]
pub(crate) struct Backend {
    /// Number of 4 KiB pages; fixed while the device is initialized.
    pub(crate) pages: u64,
    #[pin]
    pub(crate) store: SpinLock<KBox<DeviceStore>>,
    pub(crate) streams: Streams,
    /// Pages stored whole from this compressed size up.
    pub(crate) huge_threshold: usize,
    /// The backing device, opened exclusively when `backing_dev` was written.
    pub(crate) backing: Option<BlockDevice>,
    #[pin]
    pub(crate) writeback: Writeback,
    #[pin]
    pub(crate) io_reserve: IoReserve,
    /// The buffers of the extents the store keeps in memory after a read.
    #[pin]
    pub(crate) extent_buffers: ExtentBuffers,
    /// The device's, shared: the work queue's items hold only the backend.
    pub(crate) counters: Arc<Counters>,
}

impl Backend {
    /// A backend of `pages` pages over `store`, configured by `config`; it
    /// takes the backing device out of `pending` once nothing else can fail
    /// but its own allocation (may sleep).
    pub(crate) fn new(
        pages: u64,
        store: KBox<DeviceStore>,
        config: &DeviceConfig,
        pending: &mut Option<BlockDevice>,
        counters: Arc<Counters>,
    ) -> Result<impl PinInit<Self>> {
        let streams = Streams::new(config.algorithm(), config.effective_level())?;
        let writeback = Writeback::new(pending.is_some())?;
        let io_reserve = IoReserve::new(pending.is_some())?;
        let backing = pending.take();
        Ok(pin_init!(Self {
            pages,
            store <- new_spinlock!(store, "ghostswap:store"),
            streams,
            huge_threshold: DEFAULT_HUGE_THRESHOLD,
            backing,
            writeback <- writeback,
            io_reserve <- io_reserve,
            extent_buffers <- ExtentBuffers::new(),
            counters,
        }))
    }

    /// Returns `true` if the device writes back to a backing device.
    pub(crate) fn has_backing(&self) -> bool {
        self.backing.is_some()
    }

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
