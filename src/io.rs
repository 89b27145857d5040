// SPDX-License-Identifier: GPL-2.0

//! The data path: bios and swap's slot-free notification.
//!
//! The disk is bio-based: each bio is handled in the submitter's context,
//! with no request allocated for it. A write classifies and compresses each
//! 4 KiB page with the current CPU's stream (straight from the bio's page
//! when a segment is a whole page that nobody else can touch meanwhile, as
//! swap's and the page cache's; else copied into the stream first: a direct
//! I/O buffer may change under the write), and only then takes the store
//! lock to put the result in its slot. A read decompresses from the pool
//! under the lock, straight into the bio's page in the same case.
//!
//! Two cases need the backing device, whose bios a `submit_bio` may not wait
//! for (they are only issued after it returns): a read that meets a migrated
//! page, and a write the pool refused at its limit while a backing device
//! could make room. Such a bio is deferred to the device's work queue, which
//! handles it again from its first page in a context that may wait: a read
//! reads migrated pages from the backing device, a write first writes frames
//! back (`writeback::make_room`).

use kernel::{
    block::mq::{self, Bio, Command, Operations, SegmentsMut},
    prelude::*,
    sync::{Arc, ArcBorrow},
};

use crate::device::{store_gfp, Backend, Frame as PoolFrame, GhostDevice, IoCounters};
use crate::gscore::{
    classify::{fill_word, same_filled, store_kind, StoreKind},
    frame::Page,
    geometry::{covered_pages, page_range, IoError, PAGE_SIZE},
    migrate::State,
    store::{Found, Incoming, StoreError, WritebackError},
};
use crate::streams::Codec;
use crate::tables;
use crate::writeback::{self, Counters, IoBuffer, Room};

/// Where a bio is being handled.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    /// In `submit_bio`: must not wait for the backing device.
    Submitter,
    /// On the work queue, after a deferral: may.
    Worker,
    /// On the work queue while writeback backs off from a failing backing
    /// device: a page the pool refuses is refused, not stored directly.
    WorkerBackingOff,
}

/// Why a bio could not be finished in `submit_bio`.
#[derive(Clone, Copy)]
enum Defer {
    /// It reads a migrated page.
    Read,
    /// The pool refused one of its pages at the limit: make room first.
    Write,
}

/// How handling a bio ended.
enum Handled {
    Done(Result),
    Deferred(Defer),
}

#[vtable]
impl Operations for GhostDevice {
    const OWNER: &'static ThisModule = &crate::THIS_MODULE;
    type QueueData = Arc<GhostDevice>;

    const ATTRIBUTES: &'static [mq::attribute::Attribute] = crate::sysfs::ATTRIBUTES;

    fn submit_bio(device: ArcBorrow<'_, GhostDevice>, bio: &mut Bio<'_>) -> Result {
        match bio.command() {
            command @ (Command::Read | Command::Write) => {
                let (backend, pages) = data_pages(&device, bio.sector(), bio.bytes())
                    .inspect_err(|_| count_failed(&device, command))?;
                let handled = match command {
                    Command::Read => read(&backend, pages, bio.segments(), Context::Submitter),
                    _ => write(&device, &backend, pages, bio.segments(), Context::Submitter),
                };
                match handled {
                    Handled::Done(result) => result,
                    Handled::Deferred(why) => defer(&device, backend, bio, why),
                }
                .inspect_err(|_| count_failed(&device, command))
            }
            Command::Discard => discard(&device, bio),
            Command::WriteZeroes => write_zeroes(&device, bio),
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

/// Counts a bio the geometry check refused and turns it into an errno.
fn invalid_io(device: &GhostDevice, error: IoError) -> Error {
    IoCounters::count(&device.io.invalid_io);
    match error {
        IoError::Misaligned => EINVAL,
        IoError::OutOfRange | IoError::Empty => EIO,
    }
}

fn count_failed(device: &GhostDevice, command: Command) {
    let counter = match command {
        Command::Read => &device.io.failed_reads,
        _ => &device.io.failed_writes,
    };
    IoCounters::count(counter);
}

/// The backend of the initialized device and the pages a read or write bio
/// of `bytes` at `sector` covers.
fn data_pages(
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

/// Hands `bio` to the device's work queue, which handles it again from its
/// first page where it may wait for the backing device.
///
/// A write that cannot be deferred fails, and none of its pages may keep
/// older data: every page of it is refused (the pages before the one that
/// needed room were stored already).
fn defer(device: &GhostDevice, backend: Arc<Backend>, bio: &mut Bio<'_>, why: Defer) -> Result {
    let pages = page_range(bio.sector(), u64::from(bio.bytes()), backend.pages);
    let refuse_all = |backend: &Backend| {
        if let (Defer::Write, Ok(pages)) = (why, pages.clone()) {
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
        Defer::Read => GFP_NOIO | kernel::alloc::flags::__GFP_NOFAIL,
        Defer::Write => GFP_NOIO,
    };
    device
        .queue
        .try_spawn(flags, move || {
            let pages = page_range(
                deferred.sector(),
                u64::from(deferred.bytes()),
                backend.pages,
            );
            let result = pages.map_err(|_| EIO).and_then(|pages| {
                let handled = match why {
                    Defer::Read => read(&backend, pages, deferred.segments(), Context::Worker),
                    Defer::Write => {
                        let context = match writeback::make_room(&backend) {
                            Room::BackingOff => Context::WorkerBackingOff,
                            Room::Made | Room::NotMade => Context::Worker,
                        };
                        write_pages(&backend, pages, deferred.segments(), context, |_| ())
                    }
                };
                match handled {
                    Handled::Done(result) => result,
                    // Never: the worker context does not defer.
                    Handled::Deferred(_) => Err(EIO),
                }
            });
            if result.is_err() {
                let counters = &backend.writeback.counters;
                Counters::add(
                    match why {
                        Defer::Read => &counters.failed_reads,
                        Defer::Write => &counters.failed_writes,
                    },
                    1,
                );
            }
            deferred.end(result);
        })
        .map_err(|_| {
            refuse_all(&handle);
            ENOMEM
        })
}

/// Stores every page of a write bio, and starts automatic writeback when the
/// pool reaches its high watermark.
fn write(
    device: &GhostDevice,
    backend: &Arc<Backend>,
    pages: core::ops::Range<u64>,
    segments: SegmentsMut<'_>,
    context: Context,
) -> Handled {
    write_pages(backend, pages, segments, context, |backend| {
        writeback::kick(&device.queue, backend)
    })
}

/// Stores every page of a write bio; calls `full` if the pool reached its
/// high watermark.
///
/// A segment that is a whole page is compressed where it is; anything else
/// is gathered into the stream's page first.
fn write_pages(
    backend: &Arc<Backend>,
    mut pages: core::ops::Range<u64>,
    mut segments: SegmentsMut<'_>,
    context: Context,
    full: impl FnOnce(&Arc<Backend>),
) -> Handled {
    let mut over_high = false;
    let worker = context != Context::Submitter;
    let now = clock(backend);
    let handled = backend
        .streams
        .with_for(worker, |stream| -> Result<Option<Defer>> {
            let mut filled = 0;
            let mut put = |page: &Page, index: u64, codec: &mut Codec| {
                store_page(backend, codec, page, index, context, now, &mut over_high)
            };
            while let Some(segment) = segments.next_segment() {
                // In place when the page is the bio's alone (no process maps
                // it); a user buffer that may change meanwhile is copied.
                let index = pages.start;
                let in_place = (filled == 0 && !pages.is_empty())
                    .then(|| segment.with_page_bytes(|page| put(page, index, &mut stream.codec)))
                    .flatten();
                if let Some(stored) = in_place {
                    pages.next();
                    match stored {
                        Ok(Stored::Yes) => continue,
                        Ok(Stored::NeedsRoom) => return Ok(Some(Defer::Write)),
                        Err(e) => {
                            refuse(backend, pages.clone());
                            return Err(e);
                        }
                    }
                }
                let mut rest = segment.into_segment();
                while !rest.is_empty() {
                    let (piece, tail) = rest.split_at(PAGE_SIZE - filled);
                    let end = filled + piece.len();
                    piece.copy_to_slice(stream.page.get_mut(filled..end).ok_or(EIO)?)?;
                    filled = end;
                    rest = tail;
                    if filled == PAGE_SIZE {
                        let index = pages.next().ok_or(EIO)?;
                        let page = stream.page.as_slice().try_into().map_err(|_| EIO)?;
                        match put(page, index, &mut stream.codec) {
                            Ok(Stored::Yes) => {}
                            Ok(Stored::NeedsRoom) => return Ok(Some(Defer::Write)),
                            Err(e) => {
                                // The rest of the bio will not be stored either:
                                // none of it may keep returning older data.
                                refuse(backend, pages.clone());
                                return Err(e);
                            }
                        }
                        filled = 0;
                    }
                }
            }
            // The segments must have covered the bio exactly.
            if filled != 0 || pages.next().is_some() {
                return Err(EIO);
            }
            Ok(None)
        });
    if over_high {
        full(backend);
    }
    match handled {
        Ok(None) => Handled::Done(Ok(())),
        Ok(Some(why)) => Handled::Deferred(why),
        Err(e) => Handled::Done(Err(e)),
    }
}

/// How a page store ended, when it did not fail.
enum Stored {
    Yes,
    /// Refused at the pool's limit, nothing changed: a backing device could
    /// make room (only in [`Context::Submitter`]).
    NeedsRoom,
}

/// Classifies `page`, compresses it with `codec` and stores it into slot
/// `index`, stamping its frame with `now` (see [`clock`]). Sets `over_high`
/// if the pool reached its high watermark.
fn store_page(
    backend: &Backend,
    codec: &mut Codec,
    page: &Page,
    index: u64,
    context: Context,
    now: Option<u64>,
    over_high: &mut bool,
) -> Result<Stored> {
    let incoming = match same_filled(page) {
        Some(word) => Incoming::SameFilled(word),
        None => match store_kind(codec.compress(page), backend.huge_threshold) {
            StoreKind::Compressed(len) => Incoming::Packed(codec.packed(len).ok_or(EIO)?),
            StoreKind::Huge => Incoming::Huge(page),
        },
    };
    loop {
        let mut store = backend.store.lock();
        if let Some(now) = now {
            store.set_clock(now);
        }
        let stored = store.store(index, incoming);
        if stored.is_ok() && now.is_some() && backend.writeback.over_high(&store) {
            *over_high = true;
        }
        drop(store);
        match stored {
            Ok(()) => return Ok(Stored::Yes),
            Err(StoreError::NeedSlots) => {
                if !tables::grow_slots(&backend.store, index) {
                    refuse(backend, index..index + 1);
                    return Err(ENOMEM);
                }
            }
            Err(StoreError::NeedFrame) => match add_frame(backend, index, &incoming)? {
                Frame::Added => {}
                Frame::AtLimit => match context {
                    Context::Submitter => return Ok(Stored::NeedsRoom),
                    // The page goes straight to the backing device.
                    Context::Worker => {
                        return store_direct(backend, index, &incoming)
                            .map(|()| Stored::Yes)
                            .inspect_err(|_| refuse(backend, index..index + 1));
                    }
                    Context::WorkerBackingOff => {
                        refuse(backend, index..index + 1);
                        return Err(ENOMEM);
                    }
                },
            },
            Err(_) => {
                refuse(backend, index..index + 1);
                return Err(EIO);
            }
        }
    }
}

/// The time the frames a bio uses are stamped with, read once per bio: only
/// with a backing device, the only user of idle marks.
fn clock(backend: &Backend) -> Option<u64> {
    backend.backing.as_ref().map(|_| writeback::now_secs())
}

/// Allocates a frame for `incoming` (may sleep; no lock held): a single page
/// for a huge page, else a multi-page frame when the allocator has one at
/// hand.
fn frame_for(incoming: &Incoming<'_>) -> Result<PoolFrame> {
    match incoming {
        Incoming::Huge(_) => PoolFrame::single(store_gfp()),
        _ => PoolFrame::packing(store_gfp()),
    }
}

/// What [`add_frame`] did.
enum Frame {
    Added,
    /// The pool refused the frame at its `mem_limit` and a backing device is
    /// attached; nothing changed.
    AtLimit,
}

/// Gives the pool a frame for a store that needs one ([`frame_for`]),
/// allocated with the store lock dropped.
///
/// A multi-page frame refused at `mem_limit` is tried again as a single
/// page, which may still fit under it. Without a backing device, a store
/// that gets no frame (no memory, or the limit reached) is refused: the
/// slot's old content is dropped and the write fails with `ENOMEM`. With
/// one, a frame refused at the limit is [`Frame::AtLimit`]: writeback, or a
/// direct store, can take the page.
fn add_frame(backend: &Backend, index: u64, incoming: &Incoming<'_>) -> Result<Frame> {
    let mut frame = frame_for(incoming);
    loop {
        let refused = match frame {
            Ok(frame) => tables::add_frame(&backend.store, frame).err(),
            Err(_) => {
                refuse(backend, index..index + 1);
                return Err(ENOMEM);
            }
        };
        let Some(refused) = refused else {
            return Ok(Frame::Added);
        };
        if refused.is_single() {
            break;
        }
        drop(refused);
        frame = PoolFrame::single(store_gfp());
    }
    if backend.backing.is_some() {
        return Ok(Frame::AtLimit);
    }
    refuse(backend, index..index + 1);
    Err(ENOMEM)
}

/// Stores a page the pool refused straight to the backing device, in a block
/// of its own, and waits for the write (work queue only). On failure nothing
/// changed; the caller refuses the store.
fn store_direct(backend: &Backend, index: u64, incoming: &Incoming<'_>) -> Result {
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
    let mut buffer = backend.writeback.io_buffer();
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
            let written = match dest {
                Some(_) => writeback::write_block(bdev, write.sector(), buffer),
                None => Err(EINVAL),
            };
            (dest.unwrap_or(write.page()), written)
        }
        None => (write.page(), Err(EIO)),
    };
    let stored = backend
        .store
        .lock()
        .end_direct(write, dest, written.is_ok());
    match (stored, written) {
        (Ok(true), _) => Ok(()),
        (_, Err(e)) => Err(e),
        _ => Err(EIO),
    }
}

/// Records refused stores for `pages` (frontswap's rule: their old content is
/// dropped, so stale data is never returned).
fn refuse(backend: &Backend, pages: core::ops::Range<u64>) {
    for index in pages {
        let _ = backend.store.lock().refuse(index);
    }
}

/// Fills a read bio from the store.
///
/// A segment that is a whole page is filled where it is; anything else is
/// loaded into the stream's page and copied from there.
fn read(
    backend: &Backend,
    mut pages: core::ops::Range<u64>,
    mut segments: SegmentsMut<'_>,
    context: Context,
) -> Handled {
    // The buffer migrated pages are read into, in the worker only.
    let mut buffer = None;
    let worker = context != Context::Submitter;
    let now = clock(backend);
    let result = backend
        .streams
        .with_for(worker, |stream| -> Result<Loaded> {
            let mut offset = PAGE_SIZE;
            let mut load = |index: u64, page: &mut [u8], codec: &mut Codec| {
                load_page(backend, codec, index, page, context, now, &mut buffer)
            };
            while let Some(mut segment) = segments.next_segment() {
                // In place when the page is the bio's alone (no process maps
                // it), else loaded into the stream's page and copied out.
                let index = pages.start;
                let in_place = (offset == PAGE_SIZE && !pages.is_empty())
                    .then(|| {
                        segment.with_page_bytes_mut(|page| load(index, page, &mut stream.codec))
                    })
                    .flatten();
                if let Some(loaded) = in_place {
                    pages.next();
                    if loaded? == Loaded::Migrated {
                        return Ok(Loaded::Migrated);
                    }
                    continue;
                }
                let mut rest = segment.into_segment();
                while !rest.is_empty() {
                    if offset == PAGE_SIZE {
                        let index = pages.next().ok_or(EIO)?;
                        if load(index, &mut stream.page, &mut stream.codec)? == Loaded::Migrated {
                            return Ok(Loaded::Migrated);
                        }
                        offset = 0;
                    }
                    let (mut piece, tail) = rest.split_at(PAGE_SIZE - offset);
                    let end = offset + piece.len();
                    piece.copy_from_slice(stream.page.get(offset..end).ok_or(EIO)?)?;
                    offset = end;
                    rest = tail;
                }
            }
            Ok(Loaded::Yes)
        });
    match result {
        Ok(Loaded::Migrated) => Handled::Deferred(Defer::Read),
        Ok(Loaded::Yes) => Handled::Done(Ok(())),
        Err(e) => Handled::Done(Err(e)),
    }
}

/// How a page load ended, when it did not fail.
#[derive(PartialEq, Eq)]
enum Loaded {
    Yes,
    /// The page is on the backing device (only in [`Context::Submitter`]).
    Migrated,
}

/// Loads slot `index` into `page`, decompressing with `codec` under the
/// store lock and stamping its frame with `now` (see [`clock`]); in the
/// worker, reads a migrated page from the backing device into `buffer`
/// (taken on first use) with the lock dropped.
fn load_page<'a>(
    backend: &'a Backend,
    codec: &mut Codec,
    index: u64,
    page: &mut [u8],
    context: Context,
    now: Option<u64>,
    buffer: &mut Option<IoBuffer<'a>>,
) -> Result<Loaded> {
    let pinned = {
        let mut store = backend.store.lock();
        if let Some(now) = now {
            store.set_clock(now);
            // Found without a load, which the worker counts when it makes it.
            if context == Context::Submitter
                && matches!(store.state(index), Some(State::Migrated(_)))
            {
                return Ok(Loaded::Migrated);
            }
        }
        match store.load(index).map_err(|_| EIO)? {
            Found::Empty => {
                page.fill(0);
                None
            }
            Found::SameFilled(word) => {
                fill_word(word, page);
                None
            }
            Found::Huge(stored) => {
                page.get_mut(..PAGE_SIZE)
                    .ok_or(EIO)?
                    .copy_from_slice(stored);
                None
            }
            Found::Packed(data) => {
                codec.decompress(data, page)?;
                None
            }
            // Never after the check above (same lock); handled alike anyway.
            Found::Backing(dest) if context == Context::Submitter => {
                store.unpin(dest);
                return Ok(Loaded::Migrated);
            }
            Found::Backing(dest) => Some(dest),
        }
    };
    // A migrated page, pinned: read with the lock dropped, then unpinned.
    if let Some(dest) = pinned {
        let result = load_migrated(backend, codec, index, page, dest, buffer);
        backend.store.lock().unpin(dest);
        result?;
    }
    Ok(Loaded::Yes)
}

/// Reads the migrated page `dest` of slot `index` into `page`; with
/// `promote_on_read`, stores it back in the pool if the slot still holds
/// `dest` and the pool is below its high watermark.
fn load_migrated<'a>(
    backend: &'a Backend,
    codec: &mut Codec,
    index: u64,
    page: &mut [u8],
    dest: crate::gscore::migrate::Dest,
    buffer: &mut Option<IoBuffer<'a>>,
) -> Result {
    let bdev = backend.backing.as_ref().ok_or(EIO)?;
    let wb = &backend.writeback;
    let buffer = buffer.get_or_insert_with(|| wb.io_buffer());
    let buffer = buffer.pages().ok_or(EIO)?;
    let data = writeback::read_migrated(bdev, &wb.counters, dest, buffer)?;
    let incoming = if dest.is_page() {
        page.get_mut(..PAGE_SIZE).ok_or(EIO)?.copy_from_slice(data);
        Incoming::Huge(data.try_into().map_err(|_| EIO)?)
    } else {
        codec.decompress(data, page)?;
        Incoming::Packed(data)
    };
    if wb
        .promote_on_read
        .load(core::sync::atomic::Ordering::Relaxed)
    {
        promote(backend, index, dest, incoming);
    }
    Ok(())
}

/// Stores `incoming`, just read from `dest`, back in slot `index` if the slot
/// still holds `dest` and the pool is below its high watermark; a promotion
/// that does not happen changes nothing (the page stays on the device).
fn promote(
    backend: &Backend,
    index: u64,
    dest: crate::gscore::migrate::Dest,
    incoming: Incoming<'_>,
) {
    let wb = &backend.writeback;
    // One frame at most: a promotion is an optimization, never worth a wait.
    for _ in 0..2 {
        let mut store = backend.store.lock();
        // Only the slot's current content may go back: a newer write must
        // never be replaced by this older page.
        if store.state(index) != Some(State::Migrated(dest)) || wb.over_high(&store) {
            return;
        }
        match store.store(index, incoming) {
            Ok(()) => {
                Counters::add(&wb.counters.promotions, 1);
                return;
            }
            Err(StoreError::NeedFrame) => {}
            Err(_) => return,
        }
        drop(store);
        match frame_for(&incoming) {
            // A frame refused (the limit) is freed on the spot: no sleep.
            Ok(frame) => drop(tables::add_frame(&backend.store, frame)),
            Err(_) => return,
        }
    }
}

/// Drops the pages a discard fully covers; partial pages keep their data.
fn discard(device: &GhostDevice, bio: &mut Bio<'_>) -> Result {
    let backend = device.backend().ok_or(EIO)?;
    let pages = covered_pages(bio.sector(), u64::from(bio.bytes()), backend.pages)
        .map_err(|e| invalid_io(device, e))?;
    backend.free_range(pages)
}

/// Makes a range read back as zeroes, which is what an empty slot returns.
fn write_zeroes(device: &GhostDevice, bio: &mut Bio<'_>) -> Result {
    let (backend, pages) = data_pages(device, bio.sector(), bio.bytes())?;
    backend.free_range(pages)
}
