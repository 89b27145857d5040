// SPDX-License-Identifier: GPL-2.0

//! Loading one page of a read bio.
//!
//! A resident page is decompressed (or copied, or filled) under the store
//! lock, straight into the page given. A migrated page is on the backing
//! device: its extent is pinned under the lock and read with the lock
//! dropped. If the store keeps its extent in memory, it is taken from there
//! at once, in `submit_bio` too (`extent_reads`). Otherwise, with
//! `async_reads` (the default), in `submit_bio` the page is only noted,
//! pinned, and left for later: once the walk is over, the bio's migrated
//! pages are read without waiting (`migrated_read`). Without (and when those
//! reads cannot be set up) the bio goes to the read queue, which reads each
//! there and then (`backing_io::load_migrated`). Either may read the page's
//! whole extent for the cache, as the store says.

use kernel::prelude::*;

use crate::backend::Backend;
use crate::backing_io::{self, IoBuffer};
use crate::extent_reads;
use crate::gscore::{
    checksum::ReadSums,
    classify::fill_word,
    geometry::PAGE_SIZE,
    migrate::{Dest, State},
    store::{ExtentFill, ExtentRead, Found},
};
use crate::streams::Codec;
use crate::tables::DeviceStore;
use crate::walk::{Defer, Handled, PageData, PageVisitor};
use crate::writeback::now_secs;

/// A migrated page of a read bio, pinned, whose read is still to come.
pub(crate) struct MigratedPage {
    pub(crate) index: u64,
    pub(crate) dest: Dest,
    /// The checksums of the blocks its read reads, taken with the pin.
    pub(crate) sums: ReadSums,
    /// The extent cache entry its read fills, reading its whole extent;
    /// taken out once the entry is settled.
    pub(crate) fill: Option<ExtentFill>,
}

/// A read bio being filled, page by page.
pub(crate) struct ReadBio<'a> {
    backend: &'a Backend,
    codec: &'a mut Codec,
    /// On the work queue, where reading the backing device is allowed.
    worker: bool,
    /// The clock the frames used are stamped with (see `write::WriteBio`).
    now: Option<u64>,
    /// The buffer migrated pages are read into, taken on first use (worker).
    buffer: Option<IoBuffer<'a>>,
    /// The migrated pages left for later, in bio order (in `submit_bio`);
    /// made on the first one.
    migrated: Option<KVec<MigratedPage>>,
}

impl<'a> ReadBio<'a> {
    /// A read decompressing with `codec`; on the work queue if `worker`.
    pub(crate) fn new(backend: &'a Backend, codec: &'a mut Codec, worker: bool) -> Self {
        Self {
            backend,
            codec,
            worker,
            now: backend.has_backing().then(now_secs),
            buffer: None,
            migrated: None,
        }
    }

    /// Takes the migrated pages left for later out.
    pub(crate) fn take_migrated(&mut self) -> Option<KVec<MigratedPage>> {
        self.migrated.take()
    }
}

/// Unpins `pages`, whose reads ended or will not happen; an extent one of
/// them still claims is not kept (`extent_reads`).
pub(crate) fn unpin_all(backend: &Backend, pages: &[MigratedPage]) {
    if pages.is_empty() {
        return;
    }
    let mut store = backend.store.lock();
    for page in pages {
        if let Some(fill) = &page.fill {
            store.extent_filled(fill.entry, false);
        }
        store.unpin(page.dest);
    }
}

impl PageVisitor for ReadBio<'_> {
    const WRITES: bool = false;

    fn visit(&mut self, index: u64, data: PageData<'_>) -> Result<Handled> {
        let PageData::ToLoad(page) = data else {
            return Err(EIO);
        };
        load_page(self, index, page)
    }
}

/// Loads slot `index` into `page`.
fn load_page(bio: &mut ReadBio<'_>, index: u64, page: &mut [u8]) -> Result<Handled> {
    let backend = bio.backend;
    let codec = &mut *bio.codec;
    // Whether this context may read the backing device (or start reads).
    let reads = bio.worker || crate::async_reads();
    let pinned = {
        let mut store = backend.store.lock();
        if let Some(now) = bio.now {
            store.set_clock(now);
            // Found without a load, which the worker counts when it makes it;
            // unless its extent is in memory, where it is taken from here.
            if !reads {
                if let Some(State::Migrated(dest)) = store.state(index) {
                    if !store.extent_ready(dest) {
                        return Ok(Handled::Defer(Defer::ReadMigrated));
                    }
                }
            }
        }
        let migrated = match store.load(index).map_err(|_| EIO)? {
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
            Found::Backing(dest) => Some(dest),
        };
        // The checksums its blocks must match, taken with the pin, and where
        // its bytes come from.
        migrated.map(|dest| (dest, store.read_sums(dest), store.extent_read(dest, reads)))
    };
    let Some((dest, sums, from)) = pinned else {
        return Ok(Handled::Done);
    };
    // A migrated page, pinned: read with the lock dropped, then unpinned.
    let Some(sums) = sums else {
        let mut store = backend.store.lock();
        settle(&mut store, &from);
        store.unpin(dest);
        return Err(EIO);
    };
    let fill = match from {
        ExtentRead::Cached { entry } => {
            let result =
                extent_reads::place_cached(backend, codec, index, page, (dest, &sums), entry);
            backend.store.lock().unpin(dest);
            return result.map(|()| Handled::Done);
        }
        ExtentRead::Fill(fill) => Some(fill),
        ExtentRead::Alone => None,
    };
    if !bio.worker {
        return Ok(note_migrated(
            bio,
            MigratedPage {
                index,
                dest,
                sums,
                fill,
            },
        ));
    }
    let bdev = backend.backing.as_ref().ok_or(EIO);
    let filled = match (fill, &bdev) {
        (Some(fill), Ok(bdev)) => {
            extent_reads::fill_sync(backend, bdev, codec, index, page, (dest, &sums), fill)
        }
        (Some(fill), Err(_)) => {
            backend.store.lock().extent_filled(fill.entry, false);
            None
        }
        (None, _) => None,
    };
    let result = match filled {
        Some(result) => result,
        None => {
            backing_io::load_migrated(backend, &mut bio.buffer, codec, index, page, (dest, sums))
        }
    };
    backend.store.lock().unpin(dest);
    result.map(|()| Handled::Done)
}

/// Leaves migrated `page` for the reads `submit_bio` starts once the walk is
/// over; unpins it and defers the bio if it cannot be noted.
fn note_migrated(bio: &mut ReadBio<'_>, page: MigratedPage) -> Handled {
    let (dest, fill) = (page.dest, page.fill.clone());
    let pages = bio.migrated.get_or_insert_with(KVec::new);
    match pages.push(page, GFP_NOIO) {
        Ok(()) => Handled::Skip,
        Err(_) => {
            // The work queue reads the whole bio again instead.
            let mut store = bio.backend.store.lock();
            if let Some(fill) = fill {
                store.extent_filled(fill.entry, false);
            }
            store.unpin(dest);
            Handled::Defer(Defer::ReadMigrated)
        }
    }
}

/// Ends an extent claim or use a read will not make.
fn settle(store: &mut DeviceStore, from: &ExtentRead) {
    match from {
        ExtentRead::Cached { entry } => store.extent_done(*entry),
        ExtentRead::Fill(fill) => store.extent_filled(fill.entry, false),
        ExtentRead::Alone => {}
    }
}
