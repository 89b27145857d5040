// SPDX-License-Identifier: GPL-2.0

//! Page-sized I/O to the backing device, outside writeback runs: reading a
//! migrated page (and promoting it back into the pool), and storing a page
//! the pool refused straight to the device. Both wait for their bio, so they
//! run only where that is allowed: on the device's work queue, never in
//! `submit_bio`.
//!
//! Their buffers come from the page allocator when it has one at hand, else
//! from a reserve allocated with the backend, so a read of a stored page
//! always makes progress.

use kernel::{
    alloc::{flags, Flags},
    block::bdev::WriteBatch,
    block::BlockDevice,
    crc32c::crc32c,
    new_mutex,
    page::MappedPages,
    prelude::*,
    sync::{lock::mutex::MutexBackend, lock::Guard, Mutex},
};

use crate::backend::Backend;
use crate::counters::Counters;
use crate::gscore::{
    checksum::ReadSums,
    geometry::{PAGE_SIZE, SECTORS_PER_PAGE},
    migrate::Dest,
    store::{Incoming, Promotion, StoreError, WritebackError},
};
use crate::streams::Codec;
use crate::tables::{self, FrameGiven};

/// Order of the buffer a migrated page is read into: an object may straddle
/// two blocks of its extent.
const READ_ORDER: u32 = 1;

/// The checksum of a block written to or read from the backing device:
/// CRC32C in its usual form (`crate::gscore::checksum` says how it is used).
pub(crate) fn block_sum(block: &[u8]) -> u32 {
    !crc32c(!0, block)
}

/// Allocation flags of the buffers backing-device I/O uses beyond its
/// reserves: no I/O (reclaim may be waiting for this device), no retries (a
/// failure has a fallback, the reserve, so waiting for memory is never
/// worth it: orders up to 3 would otherwise retry forever) and no warning.
pub(crate) fn buffer_gfp() -> Flags {
    flags::GFP_NOIO | flags::__GFP_NORETRY | flags::__GFP_NOWARN
}

/// The reserve buffer of reads of migrated pages and direct stores.
type ReserveGuard<'a> = Guard<'a, Option<MappedPages>, MutexBackend>;

/// A buffer for one backing-device read or direct store.
pub(crate) enum IoBuffer<'a> {
    Own(MappedPages),
    /// The reserve, held: whoever else needs it waits.
    Reserve(ReserveGuard<'a>),
}

impl IoBuffer<'_> {
    /// The pages of the buffer (`None` only if a write kept a reserve's
    /// pages, which [`write_block`] never lets happen).
    fn pages(&mut self) -> Option<&mut MappedPages> {
        match self {
            IoBuffer::Own(pages) => Some(pages),
            IoBuffer::Reserve(guard) => guard.as_mut(),
        }
    }
}

/// The buffer of last resort of one backend; order [`READ_ORDER`].
#[pin_data]
pub(crate) struct IoReserve {
    #[pin]
    reserve: Mutex<Option<MappedPages>>,
}

impl IoReserve {
    /// A reserve, allocated here (may sleep) if there is a backing device.
    pub(crate) fn new(backing: bool) -> Result<impl PinInit<Self>> {
        let reserve = match backing {
            true => Some(MappedPages::alloc(GFP_KERNEL, READ_ORDER)?),
            false => None,
        };
        Ok(pin_init!(Self {
            reserve <- new_mutex!(reserve, "ghostswap:io_reserve"),
        }))
    }

    /// A buffer of [`READ_ORDER`]: a new one if the allocator has one at
    /// hand, else the reserve (waits for it).
    fn buffer(&self, counters: &Counters) -> IoBuffer<'_> {
        match MappedPages::alloc(buffer_gfp(), READ_ORDER) {
            Ok(pages) => IoBuffer::Own(pages),
            Err(_) => {
                counters.buffer_fallbacks.inc();
                IoBuffer::Reserve(self.reserve.lock())
            }
        }
    }
}

/// Reads the migrated page `dest` of slot `index`, whose blocks have the
/// checksums `sums`, into `page` (a buffer taken into `buffer` on first use
/// serves the whole bio); with `promote_on_read`, stores it back in the pool
/// if the slot still holds `dest` and the pool is below its high watermark.
/// The caller pinned `dest` and unpins it after.
pub(crate) fn load_migrated<'a>(
    backend: &'a Backend,
    buffer: &mut Option<IoBuffer<'a>>,
    codec: &mut Codec,
    index: u64,
    page: &mut [u8],
    (dest, sums): (Dest, ReadSums),
) -> Result {
    let bdev = backend.backing.as_ref().ok_or(EIO)?;
    let buffer = buffer.get_or_insert_with(|| backend.io_reserve.buffer(&backend.counters));
    let buffer = buffer.pages().ok_or(EIO)?;
    let (sector, len) = migrated_read(&sums)?;
    bdev.read_sync(sector, buffer, len)?;
    backend.counters.count_blocks_read(len);
    let buffer: &MappedPages = buffer;
    let read = buffer.as_ref().get(..len).ok_or(EIO)?;
    place_migrated(backend, codec, index, page, dest, &sums, read)
}

/// Where the read of a migrated page starts (in sectors) and how many bytes
/// it reads: the blocks `sums.blocks`.
pub(crate) fn migrated_read(sums: &ReadSums) -> Result<(u64, usize)> {
    let blocks = &sums.blocks;
    let count = blocks.end.checked_sub(blocks.start).ok_or(EIO)?;
    // CAST: at most 2 blocks (`MAX_READ_BLOCKS`).
    let len = count as usize * PAGE_SIZE;
    Ok((u64::from(blocks.start) * SECTORS_PER_PAGE, len))
}

/// Fills `page` with the migrated page `dest` of slot `index` from `read`,
/// its blocks as read (`migrated_read`) or kept (`extent_reads`), and offers
/// it back to the pool (`promote`). Blocks that do not match their checksums are counted
/// and fail the page (`EIO`): wrong data is never returned.
pub(crate) fn place_migrated(
    backend: &Backend,
    codec: &mut Codec,
    index: u64,
    page: &mut [u8],
    dest: Dest,
    sums: &ReadSums,
    read: &[u8],
) -> Result {
    let blocks = &sums.blocks;
    if !sums.matches(read, block_sum) {
        backend.counters.checksum_errors.inc();
        return Err(EIO);
    }
    // CAST: the first block read is one of `dest`'s extent (8).
    let skip = blocks.start.checked_sub(dest.block).ok_or(EIO)? as usize * PAGE_SIZE;
    let range = dest.data_range();
    let data = read
        .get(range.start.checked_sub(skip).ok_or(EIO)?..range.end.checked_sub(skip).ok_or(EIO)?)
        .ok_or(EIO)?;
    let incoming = if dest.is_page() {
        page.get_mut(..PAGE_SIZE).ok_or(EIO)?.copy_from_slice(data);
        Incoming::Huge(data.try_into().map_err(|_| EIO)?)
    } else {
        codec.decompress(data, page)?;
        Incoming::Packed(data)
    };
    promote(backend, index, dest, incoming);
    Ok(())
}

/// Offers `incoming`, just read from `dest`, back to slot `index`
/// (`Store::promote` decides); a promotion that does not happen changes
/// nothing: the page stays on the device.
fn promote(backend: &Backend, index: u64, dest: Dest, incoming: Incoming<'_>) {
    // One frame at most: a promotion is an optimization, never worth a wait.
    for _ in 0..2 {
        let promoted = backend.store.lock().promote(index, dest, incoming);
        match promoted {
            Ok(Promotion::Done) => {
                backend.counters.promotions.inc();
                return;
            }
            Err(StoreError::NeedFrame) => {}
            Ok(Promotion::NotWanted) | Err(_) => return,
        }
        let single_page = matches!(incoming, Incoming::Huge(_));
        if !matches!(
            tables::give_frame(&backend.store, single_page),
            FrameGiven::Added
        ) {
            return;
        }
    }
}

/// Stores a page the pool refused straight to the backing device, in a block
/// of its own, and waits for the write. On failure nothing changed; the
/// caller refuses the store.
pub(crate) fn store_direct(backend: &Backend, index: u64, incoming: &Incoming<'_>) -> Result {
    let bdev = backend.backing.as_ref().ok_or(ENOMEM)?;
    let write = loop {
        let begun = backend.store.lock().begin_direct(index);
        match begun {
            Ok(write) => break write,
            // The allocator's bounded search goes on from where it stopped.
            Err(WritebackError::SearchLimitReached) => {
                kernel::task::cond_resched();
            }
            Err(WritebackError::NeedTables) if tables::grow_backing(&backend.store) => {}
            Err(WritebackError::NeedSlots) if tables::grow_slots(&backend.store, index) => {}
            Err(_) => return Err(ENOMEM),
        }
    };
    let mut buffer = backend.io_reserve.buffer(&backend.counters);
    let (dest, written) = match buffer.pages() {
        Some(block) => {
            // The buffer may have been used before: the block must hold
            // nothing but this page's bytes.
            block.as_mut().fill(0);
            let dest = match incoming {
                Incoming::Packed(data) => write.write_record(block.as_mut(), data),
                Incoming::Huge(page) => block.as_mut().get_mut(..PAGE_SIZE).map(|bytes| {
                    bytes.copy_from_slice(&page[..]);
                    write.page()
                }),
                // Never refused: a same-filled page takes no frame.
                Incoming::SameFilled(_) => None,
            };
            let sum = block.as_ref().get(..PAGE_SIZE).map(block_sum);
            let written = match (dest, sum) {
                (Some(_), Some(sum)) => write_block(bdev, write.sector(), buffer).map(|()| sum),
                _ => Err(EINVAL),
            };
            (dest.unwrap_or(write.page()), written)
        }
        None => (write.page(), Err(EIO)),
    };
    let stored = backend
        .store
        .lock()
        .end_direct(write, dest, written.as_ref().ok().copied());
    match (stored, written) {
        (Ok(true), _) => Ok(()),
        (_, Err(e)) => Err(e),
        _ => Err(EIO),
    }
}

/// Writes the first page of `buffer` at `sector` of `bdev` and waits for
/// it. A reserve buffer's pages are lent to the write and put back.
fn write_block(bdev: &BlockDevice, sector: u64, buffer: IoBuffer<'_>) -> Result {
    match buffer {
        IoBuffer::Own(pages) => write_page(bdev, sector, pages).0,
        IoBuffer::Reserve(mut reserve) => {
            let pages = reserve.take().ok_or(EIO)?;
            let (result, pages) = write_page(bdev, sector, pages);
            *reserve = pages;
            result
        }
    }
}

/// Writes the first page of `pages` at `sector` of `bdev`, waits for it and
/// gives the pages back (`None` only if the block layer kept them, never).
fn write_page(
    bdev: &BlockDevice,
    sector: u64,
    pages: MappedPages,
) -> (Result, Option<MappedPages>) {
    let mut batch = match WriteBatch::new(bdev) {
        Ok(batch) => batch,
        Err(e) => return (Err(e), Some(pages)),
    };
    if let Err(refused) = batch.submit(sector, pages, PAGE_SIZE, 0) {
        return (Err(EIO), Some(refused.buffer));
    }
    match batch.wait().next() {
        Some(done) => (done.result, Some(done.buffer)),
        None => (Err(EIO), None),
    }
}
