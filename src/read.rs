// SPDX-License-Identifier: GPL-2.0

//! Loading one page of a read bio.
//!
//! A resident page is decompressed (or copied, or filled) under the store
//! lock, straight into the page given. A migrated page is on the backing
//! device: in `submit_bio` the bio is deferred to the work queue; there, the
//! page's extent is pinned under the lock and read with the lock dropped
//! (`backing_io::load_migrated`).

use kernel::prelude::*;

use crate::backend::Backend;
use crate::backing_io::{self, IoBuffer};
use crate::gscore::{classify::fill_word, geometry::PAGE_SIZE, migrate::State, store::Found};
use crate::streams::Codec;
use crate::walk::{Defer, Handled, PageData, PageVisitor};
use crate::writeback::now_secs;

/// A read bio being filled, page by page.
pub(crate) struct ReadBio<'a> {
    backend: &'a Backend,
    codec: &'a mut Codec,
    /// On the work queue, where reading the backing device is allowed.
    worker: bool,
    /// The clock the frames used are stamped with (see `write::WriteBio`).
    now: Option<u64>,
    /// The buffer migrated pages are read into, taken on first use.
    buffer: Option<IoBuffer<'a>>,
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
        }
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
    let pinned = {
        let mut store = backend.store.lock();
        if let Some(now) = bio.now {
            store.set_clock(now);
            // Found without a load, which the worker counts when it makes it.
            if !bio.worker && matches!(store.state(index), Some(State::Migrated(_))) {
                return Ok(Handled::Defer(Defer::ReadMigrated));
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
            // Never after the check above (same lock); handled alike anyway.
            Found::Backing(dest) if !bio.worker => {
                store.unpin(dest);
                return Ok(Handled::Defer(Defer::ReadMigrated));
            }
            Found::Backing(dest) => Some(dest),
        };
        // The checksums its blocks must match, taken with the pin.
        migrated.map(|dest| (dest, store.read_sums(dest)))
    };
    // A migrated page, pinned: read with the lock dropped, then unpinned.
    if let Some((dest, sums)) = pinned {
        let result = sums.ok_or(EIO).and_then(|sums| {
            backing_io::load_migrated(backend, &mut bio.buffer, codec, index, page, (dest, sums))
        });
        backend.store.lock().unpin(dest);
        result?;
    }
    Ok(Handled::Done)
}
