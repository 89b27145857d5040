// SPDX-License-Identifier: GPL-2.0

//! Read and write bios: handled in `submit_bio`, or deferred to a work queue.
//!
//! The disk is bio-based: each bio is handled in the submitter's context,
//! with no request allocated for it. Its pages are walked once (`walk`): a
//! write stores each page (`write::store_page`), a read loads each
//! (`read::load_page`), with the current CPU's compression stream.
//!
//! Two cases need the backing device, whose bios a `submit_bio` may not wait
//! for (they are only issued after it returns). A write the pool refused at
//! its limit while a backing device could make room is deferred to the
//! device's write queue, which handles it again from its first page in a
//! context that may wait, after writing frames back (`writeback::make_room`).
//! So is a read that meets migrated pages with `async_reads` off, or when
//! memory for the default way is short: the read queue reads them. By
//! default such a read starts their reads and returns, and the bio ends when
//! they do (`migrated_read`).

use kernel::{
    block::mq::{Bio, Command, SegmentsMut},
    prelude::*,
    sync::Arc,
};

use crate::backend::Backend;
use crate::counters::Counters;
use crate::device::GhostDevice;
use crate::gscore::{
    geometry::{page_range, IoError},
    refusal::WriteContext,
};
use crate::migrated_read;
use crate::read::{unpin_all, ReadBio};
use crate::streams::Stream;
use crate::walk::{walk_pages, Defer, Handled};
use crate::write::{refuse, WriteBio};
use crate::writeback::{self, Room};

/// Handles a read or write bio in `submit_bio`, or defers it.
pub(crate) fn submit(device: &GhostDevice, bio: &mut Bio<'_>, command: Command) -> Result {
    let write = command == Command::Write;
    let result =
        data_pages(device, bio.sector(), bio.bytes()).and_then(|(backend, pages)| match write {
            true => submit_write(device, backend, bio, pages),
            false => submit_read(device, backend, bio, pages),
        });
    if result.is_err() {
        count_failed(&device.counters, write);
    }
    result
}

/// Stores a write bio's pages, or defers the bio to make room first.
fn submit_write(
    device: &GhostDevice,
    backend: Arc<Backend>,
    bio: &mut Bio<'_>,
    pages: core::ops::Range<u64>,
) -> Result {
    let (handled, over_high) = {
        let mut stream = backend.streams.current();
        let context = WriteContext::Submitter;
        write_bio(&backend, &mut stream, pages, bio.segments(), context)
    };
    if over_high {
        writeback::kick(&device.write_queue, &backend);
    }
    match handled? {
        Handled::Done | Handled::Skip => Ok(()),
        Handled::Defer(why) => defer(device, backend, bio, why),
    }
}

/// Fills a read bio's resident pages; with `async_reads` (the default),
/// starts the reads of its migrated ones (`migrated_read`) and the bio ends
/// when they do. Defers the bio to the read queue otherwise, or if those
/// reads cannot be set up.
fn submit_read(
    device: &GhostDevice,
    backend: Arc<Backend>,
    bio: &mut Bio<'_>,
    pages: core::ops::Range<u64>,
) -> Result {
    let (handled, migrated) = {
        let mut stream = backend.streams.current();
        let Stream { codec, page } = &mut *stream;
        let mut read = ReadBio::new(&backend, codec, false);
        let handled = walk_pages(bio.segments(), pages, page, &mut read);
        (handled, read.take_migrated())
    };
    // Only a bio that met migrated pages has a list of them: a resident read
    // neither allocates nor frees one.
    let reads = match (handled, migrated) {
        (Ok(Handled::Done | Handled::Skip), None) => return Ok(()),
        (Ok(Handled::Done | Handled::Skip), Some(migrated)) => {
            migrated_read::prepare(&backend, migrated).map_err(Some)
        }
        (Ok(Handled::Defer(_)), migrated) => Err(migrated),
        (Err(e), migrated) => {
            unpin_all(&backend, migrated.as_deref().unwrap_or_default());
            return Err(e);
        }
    };
    let reads = match reads {
        Ok(reads) => reads,
        Err(migrated) => {
            // The work queue reads the whole bio again, from the reserve.
            unpin_all(&backend, migrated.as_deref().unwrap_or_default());
            backend.counters.worker_read_bios.inc();
            return defer(device, backend, bio, Defer::ReadMigrated);
        }
    };
    match bio.defer() {
        Ok(deferred) => {
            backend.counters.async_read_bios.inc();
            reads.submit(&device.read_queue, backend, deferred);
            Ok(())
        }
        Err(e) => {
            reads.cancel(&backend);
            Err(e)
        }
    }
}

/// The backend of the initialized device and the pages a read or write bio
/// of `bytes` at `sector` covers.
pub(crate) fn data_pages(
    device: &GhostDevice,
    sector: u64,
    bytes: u32,
) -> Result<(Arc<Backend>, core::ops::Range<u64>)> {
    // The block layer sends no I/O to a disk of capacity 0.
    let backend = device.backend().ok_or(EIO)?;
    let pages =
        page_range(sector, u64::from(bytes), backend.pages).map_err(|e| invalid_io(device, e))?;
    Ok((backend, pages))
}

/// Counts a bio the geometry check refused and turns it into an errno.
pub(crate) fn invalid_io(device: &GhostDevice, error: IoError) -> Error {
    device.counters.invalid_io.inc();
    match error {
        IoError::Misaligned => EINVAL,
        IoError::OutOfRange | IoError::Empty => EIO,
    }
}

fn count_failed(counters: &Counters, write: bool) {
    match write {
        true => counters.failed_writes.inc(),
        false => counters.failed_reads.inc(),
    }
}

/// Stores every page of a write bio; says whether the pool reached its high
/// watermark.
fn write_bio(
    backend: &Backend,
    stream: &mut Stream,
    pages: core::ops::Range<u64>,
    segments: SegmentsMut<'_>,
    context: WriteContext,
) -> (Result<Handled>, bool) {
    let Stream { codec, page } = stream;
    let mut bio = WriteBio::new(backend, codec, context, pages.end);
    let handled = walk_pages(segments, pages, page, &mut bio);
    (handled, bio.over_high)
}

/// Fills a read bio on the work queue, reading its migrated pages there.
fn read_bio_worker(
    backend: &Backend,
    stream: &mut Stream,
    pages: core::ops::Range<u64>,
    segments: SegmentsMut<'_>,
) -> Result<Handled> {
    let Stream { codec, page } = stream;
    walk_pages(
        segments,
        pages,
        page,
        &mut ReadBio::new(backend, codec, true),
    )
}

/// Hands `bio` to a work queue of the device (reads to the read queue,
/// writes to the write queue), which handles it again from its
/// first page where it may wait for the backing device.
///
/// A write that cannot be deferred fails, and none of its pages may keep
/// older data: every page of it is refused (the pages before the one that
/// needed room were stored already).
fn defer(device: &GhostDevice, backend: Arc<Backend>, bio: &mut Bio<'_>, why: Defer) -> Result {
    let pages = page_range(bio.sector(), u64::from(bio.bytes()), backend.pages);
    let refuse_all = |backend: &Backend| {
        if let (Defer::MakeRoom, Ok(pages)) = (why, pages.clone()) {
            refuse(backend, pages);
        }
    };
    let mut deferred = bio.defer().inspect_err(|_| refuse_all(&backend))?;
    let handle = backend.clone();
    // A read of a stored page must not fail (swap turns that into SIGBUS):
    // its work item is small and allocated without fail. A write may fail
    // (the store is refused): if its work item cannot be allocated, dropping
    // it ends the bio with an error.
    let flags = match why {
        Defer::ReadMigrated => GFP_NOIO | kernel::alloc::flags::__GFP_NOFAIL,
        Defer::MakeRoom => GFP_NOIO,
    };
    let queue = match why {
        Defer::ReadMigrated => &*device.read_queue,
        Defer::MakeRoom => &device.write_queue,
    };
    queue
        .try_spawn(flags, move || {
            let pages = page_range(
                deferred.sector(),
                u64::from(deferred.bytes()),
                backend.pages,
            );
            let result = pages
                .map_err(|_| EIO)
                .and_then(|pages| handle_deferred(&backend, pages, deferred.segments(), why));
            if result.is_err() {
                count_failed(&backend.counters, why == Defer::MakeRoom);
            }
            deferred.end(result);
        })
        .map_err(|_| {
            refuse_all(&handle);
            ENOMEM
        })
}

/// Handles a deferred bio on the work queue, with the work queue's stream
/// for reads or for writes: a read never waits for a write making room.
fn handle_deferred(
    backend: &Backend,
    pages: core::ops::Range<u64>,
    segments: SegmentsMut<'_>,
    why: Defer,
) -> Result {
    let handled = match why {
        Defer::ReadMigrated => {
            let mut stream = backend.streams.deferred_read();
            read_bio_worker(backend, &mut stream, pages, segments)
        }
        Defer::MakeRoom => {
            let context = match writeback::make_room(backend) {
                Room::BackingOff => WriteContext::WorkerBackingOff,
                Room::Made | Room::NotMade => WriteContext::Worker,
            };
            // No automatic writeback started from here: make_room has just
            // run, on the queue an automatic run would take.
            let mut stream = backend.streams.deferred_write();
            write_bio(backend, &mut stream, pages, segments, context).0
        }
    };
    match handled? {
        Handled::Done | Handled::Skip => Ok(()),
        // Never: the worker context does not defer.
        Handled::Defer(_) => Err(EIO),
    }
}
