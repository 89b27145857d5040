// SPDX-License-Identifier: GPL-2.0

//! Reads of migrated pages through the extents kept in memory.
//!
//! The first read of a migrated page may read its whole extent, which the
//! store's extent cache then keeps (`gscore::extent_cache` decides which, and
//! forgets an extent when its blocks are freed); the page's neighbours are
//! taken from there, in `submit_bio` itself, without reading the device.
//! Here are the entries' buffers and what a read does with them: take a page
//! from an entry ([`place_cached`]), read a whole extent into one on the work
//! queue ([`fill_sync`]), or keep what a read without waiting brought
//! ([`keep_extent`]).
//!
//! The buffers are behind one mutex, held only to take a page out of a buffer
//! or to swap a buffer in or out, never across I/O. An entry being filled is
//! its filler's alone (the cache answers "filling" to everyone else), and an
//! entry in use is never given to another extent, so a buffer taken out by
//! its filler is never missed. A buffer stays with its entry once allocated,
//! until the device is reset: at most `MAX_ENTRIES` of 32 KiB, counted in
//! `debug_stat`'s `extent_cache_bytes`.

use kernel::{block::BlockDevice, new_mutex, page::MappedPages, prelude::*, sync::Mutex};

use crate::backend::Backend;
use crate::backing_io::{block_sum, buffer_gfp, place_migrated};
use crate::gscore::{
    checksum::{ReadSums, WriteSums},
    extent_cache::MAX_ENTRIES,
    geometry::{PAGE_SIZE, SECTORS_PER_PAGE},
    migrate::Dest,
    store::ExtentFill,
};
use crate::streams::Codec;

/// Order of an entry's buffer: the largest extent, 8 blocks.
const EXTENT_ORDER: u32 = 3;

/// The buffers of the extent cache's entries, by entry.
#[pin_data]
pub(crate) struct ExtentBuffers {
    #[pin]
    buffers: Mutex<[Option<MappedPages>; MAX_ENTRIES]>,
}

impl ExtentBuffers {
    /// No buffers yet: each is allocated by the first read that fills its
    /// entry.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            buffers <- new_mutex!([const { None }; MAX_ENTRIES], "ghostswap:extent_buffers"),
        })
    }

    /// Bytes of the buffers allocated now.
    pub(crate) fn bytes(&self) -> u64 {
        let buffers = self.buffers.lock();
        buffers
            .iter()
            .flatten()
            // CAST: a `usize` fits a `u64`.
            .map(|pages| pages.size() as u64)
            .sum()
    }

    /// The buffer of `entry`, which its filler takes out: a new one if it
    /// has none yet (`None` if none can be allocated).
    fn take(&self, entry: usize) -> Option<MappedPages> {
        let kept = self.buffers.lock().get_mut(entry).and_then(Option::take);
        kept.or_else(|| MappedPages::alloc(buffer_gfp(), EXTENT_ORDER).ok())
    }

    /// Gives `entry` its buffer back.
    fn put(&self, entry: usize, pages: MappedPages) {
        if let Some(slot) = self.buffers.lock().get_mut(entry) {
            *slot = Some(pages);
        }
    }
}

/// The bytes a read of `dest` needs (the blocks `sums.blocks`) within `extent`,
/// the bytes of `dest`'s whole extent.
pub(crate) fn page_blocks<'a>(extent: &'a [u8], dest: Dest, sums: &ReadSums) -> Result<&'a [u8]> {
    let first = sums.blocks.start.checked_sub(dest.block).ok_or(EIO)?;
    let end = sums.blocks.end.checked_sub(dest.block).ok_or(EIO)?;
    // CAST: block offsets within an extent, at most 8.
    extent
        .get(first as usize * PAGE_SIZE..end as usize * PAGE_SIZE)
        .ok_or(EIO)
}

/// First sector and bytes of the extent `fill` reads.
pub(crate) fn extent_io(fill: &ExtentFill) -> (u64, usize) {
    let blocks = fill.blocks.end.saturating_sub(fill.blocks.start);
    // CAST: at most 8 blocks.
    (
        u64::from(fill.blocks.start) * SECTORS_PER_PAGE,
        blocks as usize * PAGE_SIZE,
    )
}

/// Returns `true` if `extent` is the blocks `fill` claimed, each matching its
/// checksum.
fn extent_matches(extent: &[u8], fill: &ExtentFill) -> bool {
    WriteSums::of(extent, block_sum).is_some_and(|sums| sums == fill.sums)
}

/// Fills `page` with migrated `dest` of slot `index` (its blocks' checksums
/// `sums`) from cache `entry`, found ready, and ends that use of it.
pub(crate) fn place_cached(
    backend: &Backend,
    codec: &mut Codec,
    index: u64,
    page: &mut [u8],
    (dest, sums): (Dest, &ReadSums),
    entry: usize,
) -> Result {
    let result = {
        let buffers = backend.extent_buffers.buffers.lock();
        let extent = buffers.get(entry).and_then(Option::as_ref).ok_or(EIO)?;
        page_blocks(extent.as_ref(), dest, sums)
            .and_then(|read| place_migrated(backend, codec, index, page, dest, sums, read))
    };
    backend.store.lock().extent_done(entry);
    result
}

/// Reads the whole extent `fill` claimed into its entry, waiting for the read
/// (on the work queue), and fills `page` with migrated `dest` of slot `index`
/// from it. `None` if the extent could not be read whole and right (no buffer,
/// an I/O error, a block not matching its checksum): the entry is free again
/// and the caller reads the page's own blocks, whose checks then tell.
pub(crate) fn fill_sync(
    backend: &Backend,
    bdev: &BlockDevice,
    codec: &mut Codec,
    index: u64,
    page: &mut [u8],
    (dest, sums): (Dest, &ReadSums),
    fill: ExtentFill,
) -> Option<Result> {
    let Some(mut buffer) = backend.extent_buffers.take(fill.entry) else {
        backend.counters.buffer_fallbacks.inc();
        backend.store.lock().extent_filled(fill.entry, false);
        return None;
    };
    let (sector, len) = extent_io(&fill);
    let read = bdev.read_sync(sector, &mut buffer, len).is_ok();
    let extent = buffer.as_ref().get(..len).filter(|_| read);
    if extent.is_some() {
        backend.counters.count_blocks_read(len);
    }
    let extent = extent.filter(|extent| extent_matches(extent, &fill));
    let result = extent.map(|extent| {
        page_blocks(extent, dest, sums)
            .and_then(|read| place_migrated(backend, codec, index, page, dest, sums, read))
    });
    // Back before the entry is ready: nobody looks for it meanwhile.
    backend.extent_buffers.put(fill.entry, buffer);
    backend
        .store
        .lock()
        .extent_filled(fill.entry, result.is_some());
    result
}

/// Keeps `extent`, the whole extent `fill` claimed as a read without waiting
/// brought it, in its entry (a copy: the read's buffer is the read group's);
/// the entry is free again if the extent is not right or no buffer is at hand.
pub(crate) fn keep_extent(backend: &Backend, extent: &[u8], fill: &ExtentFill) {
    let kept = match extent_matches(extent, fill) {
        true => backend.extent_buffers.take(fill.entry),
        false => None,
    };
    let kept = kept.and_then(|mut buffer| {
        let copied = buffer
            .as_mut()
            .get_mut(..extent.len())
            .map(|bytes| bytes.copy_from_slice(extent))
            .is_some();
        backend.extent_buffers.put(fill.entry, buffer);
        copied.then_some(())
    });
    backend
        .store
        .lock()
        .extent_filled(fill.entry, kept.is_some());
}
