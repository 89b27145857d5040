// SPDX-License-Identifier: GPL-2.0

//! Reads of migrated pages that nobody waits for.
//!
//! With the `async_reads` module parameter (on by default; off, the work
//! queue reads migrated pages, see `io`), a read bio's walk in `submit_bio`
//! fills its resident pages and leaves each migrated one pinned, for later
//! (`read::MigratedPage`). Here those
//! pages' blocks are read from the backing device in one [`ReadGroup`],
//! submitted from `submit_bio` itself: no worker hop, no wait. When the last
//! read ends, the group comes back on the device's completion queue, in
//! process context, where the blocks are checked, decompressed into the
//! bio's pages (only those: its resident pages are not touched again),
//! offered back to the pool, unpinned, and the bio ends. A page whose read
//! fills an extent cache entry reads its whole extent, which is kept
//! (`extent_reads::keep_extent`) before the page is taken from it.
//!
//! Decompression waits for the completion queue rather than running in the
//! read's end callback: that runs in interrupt context, where neither the
//! store's lock nor a compression stream (a mutex) may be taken.
//!
//! Setting up the reads allocates (a buffer per page, the group); when that
//! fails, the bio goes to the work queue instead (`io::defer`), which reads
//! from the reserve and always makes progress.

use kernel::{
    block::bdev::{CompletionQueue, EndedReads, ReadGroup, ReadsDone},
    block::mq::{DeferredBio, SegmentsMut},
    page::MappedPages,
    prelude::*,
    sync::Arc,
};

use crate::backend::Backend;
use crate::backing_io::{self, buffer_gfp};
use crate::extent_reads::{extent_io, keep_extent, page_blocks};
use crate::gscore::geometry::{page_range, PAGE_SIZE};
use crate::read::{unpin_all, MigratedPage};
use crate::streams::Codec;
use crate::walk::{walk_pages, Handled, PageData, PageVisitor};

/// The reads of one bio's migrated pages, and the bio they answer.
pub(crate) struct MigratedReads {
    backend: Arc<Backend>,
    bio: DeferredBio,
    /// In bio order; read `n` of the group is page `n`'s.
    pages: KVec<MigratedPage>,
}

/// Reads of `pages` set up, not yet submitted.
pub(crate) struct PreparedReads {
    group: ReadGroup<MigratedReads>,
    pages: KVec<MigratedPage>,
}

/// Sets up one read per page of `pages`; gives them back, still pinned, if
/// an allocation fails (the caller falls back to the work queue).
pub(crate) fn prepare(
    backend: &Backend,
    pages: KVec<MigratedPage>,
) -> Result<PreparedReads, KVec<MigratedPage>> {
    let Some(bdev) = backend.backing.as_ref() else {
        return Err(pages);
    };
    let Ok(mut group) = ReadGroup::new(bdev, buffer_gfp()) else {
        return Err(pages);
    };
    for page in pages.as_slice() {
        // A page that fills a cache entry reads its whole extent.
        let read = match &page.fill {
            Some(fill) => Ok(extent_io(fill)),
            None => backing_io::migrated_read(&page.sums),
        };
        let Ok((sector, len)) = read else {
            return Err(pages);
        };
        let order = len.div_ceil(PAGE_SIZE).next_power_of_two().ilog2();
        let Ok(buffer) = MappedPages::alloc(buffer_gfp(), order) else {
            backend.counters.buffer_fallbacks.inc();
            return Err(pages);
        };
        if group.add(sector, buffer, len).is_err() {
            return Err(pages);
        }
    }
    Ok(PreparedReads { group, pages })
}

impl PreparedReads {
    /// Drops the reads, never submitted, and unpins their pages.
    pub(crate) fn cancel(self, backend: &Backend) {
        unpin_all(backend, self.pages.as_slice());
    }

    /// Submits the reads; `bio` ends once they have and its pages are
    /// filled. Does not wait.
    pub(crate) fn submit(self, queue: &CompletionQueue, backend: Arc<Backend>, bio: DeferredBio) {
        let owner = MigratedReads {
            backend,
            bio,
            pages: self.pages,
        };
        self.group.submit(queue, owner);
    }
}

impl ReadsDone for MigratedReads {
    fn reads_done(mut reads: EndedReads<Self>) {
        let Some(MigratedReads {
            backend,
            mut bio,
            pages,
        }) = reads.take_owner()
        else {
            return;
        };
        let mut pages = pages;
        let result = fill(&backend, &reads, &mut pages, &mut bio);
        unpin_all(&backend, pages.as_slice());
        if result.is_err() {
            backend.counters.failed_reads.inc();
        }
        bio.end(result);
    }
}

/// Fills the migrated pages of `bio` from the reads that ended.
fn fill(
    backend: &Backend,
    reads: &EndedReads<MigratedReads>,
    pages: &mut [MigratedPage],
    bio: &mut DeferredBio,
) -> Result {
    let range = page_range(bio.sector(), u64::from(bio.bytes()), backend.pages).map_err(|_| EIO)?;
    let count = pages.len();
    let mut stream = backend.streams.current();
    let stream = &mut *stream;
    let mut filler = Filler {
        backend,
        codec: &mut stream.codec,
        reads,
        pages,
        next: 0,
    };
    let segments: SegmentsMut<'_> = bio.segments();
    walk_pages(segments, range, &mut stream.page, &mut filler)?;
    // Every page left for later was filled.
    match filler.next == count {
        true => Ok(()),
        false => Err(EIO),
    }
}

/// Hands each migrated page of a bio its read; the other pages are left as
/// the first walk filled them.
struct Filler<'a> {
    backend: &'a Backend,
    codec: &'a mut Codec,
    reads: &'a EndedReads<MigratedReads>,
    pages: &'a mut [MigratedPage],
    /// The next migrated page (and read) in bio order.
    next: usize,
}

impl PageVisitor for Filler<'_> {
    const WRITES: bool = false;

    fn visit(&mut self, index: u64, data: PageData<'_>) -> Result<Handled> {
        let PageData::ToLoad(page) = data else {
            return Err(EIO);
        };
        let Some(migrated) = self.pages.get_mut(self.next).filter(|m| m.index == index) else {
            return Ok(Handled::Skip);
        };
        let number = self.next;
        self.next += 1;
        let read = self.reads.result(number).ok_or(EIO)?;
        let read = match (read, migrated.fill.take()) {
            (Ok(extent), Some(fill)) => {
                // The whole extent: kept for the page's neighbours.
                self.backend.counters.count_blocks_read(extent.len());
                keep_extent(self.backend, extent, &fill);
                page_blocks(extent, migrated.dest, &migrated.sums)?
            }
            (Ok(blocks), None) => {
                self.backend.counters.count_blocks_read(blocks.len());
                blocks
            }
            (Err(e), Some(fill)) => {
                self.backend.store.lock().extent_filled(fill.entry, false);
                return Err(e);
            }
            (Err(e), None) => return Err(e),
        };
        backing_io::place_migrated(
            self.backend,
            self.codec,
            index,
            page,
            migrated.dest,
            &migrated.sums,
            read,
        )?;
        Ok(Handled::Done)
    }
}
