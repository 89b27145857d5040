// SPDX-License-Identifier: GPL-2.0

//! Storing one page of a write bio.
//!
//! The page is classified and compressed with the bio's stream outside any
//! lock; then the store lock is taken to put the result in its slot. What
//! the store lacks (a chunk of the slot table, a frame) is allocated with the
//! lock dropped, and the store tried again. A frame the pool refuses at
//! `mem_limit` means what `refusal::on_frame_refused` says: a single page
//! instead, a deferral to the work queue, a direct store to the backing
//! device, or a refused store.

use kernel::prelude::*;

use crate::backend::Backend;
use crate::backing_io;
use crate::gscore::{
    classify::{same_filled, store_kind, StoreKind},
    frame::Page,
    refusal::{on_frame_refused, OnRefusal, WriteContext},
    store::{Incoming, StoreError},
};
use crate::streams::Codec;
use crate::tables::{self, FrameGiven};
use crate::walk::{Defer, Handled, PageData, PageVisitor};
use crate::writeback::now_secs;

/// A write bio being stored, page by page.
pub(crate) struct WriteBio<'a> {
    backend: &'a Backend,
    codec: &'a mut Codec,
    context: WriteContext,
    /// The clock the frames used are stamped with, read once per bio; only
    /// with a backing device, the only user of idle marks.
    now: Option<u64>,
    /// The end of the bio's pages: a failure refuses those after it.
    end: u64,
    /// A store brought the pool to its high watermark: start writeback.
    pub(crate) over_high: bool,
}

impl<'a> WriteBio<'a> {
    /// A write of the pages up to `end` (excluded), compressed with `codec`.
    pub(crate) fn new(
        backend: &'a Backend,
        codec: &'a mut Codec,
        context: WriteContext,
        end: u64,
    ) -> Self {
        Self {
            backend,
            codec,
            context,
            now: backend.has_backing().then(now_secs),
            end,
            over_high: false,
        }
    }
}

impl PageVisitor for WriteBio<'_> {
    const WRITES: bool = true;

    /// Stores a page; a failure refuses the pages after it too: none of
    /// them may keep returning older data.
    fn visit(&mut self, index: u64, data: PageData<'_>) -> Result<Handled> {
        let PageData::ToStore(page) = data else {
            return Err(EIO);
        };
        store_page(self, page, index).inspect_err(|_| refuse(self.backend, index + 1..self.end))
    }
}

/// Classifies `page`, compresses it and stores it into slot `index`.
///
/// # Errors
///
/// A store that fails is refused (the slot's old content dropped), and the
/// error returned: `ENOMEM` when no memory or room was found, `EIO` for
/// anything else.
fn store_page(bio: &mut WriteBio<'_>, page: &Page, index: u64) -> Result<Handled> {
    let backend = bio.backend;
    let codec = &mut *bio.codec;
    let incoming = match same_filled(page) {
        Some(word) => Incoming::SameFilled(word),
        None => match store_kind(codec.compress(page), backend.huge_threshold) {
            StoreKind::Compressed(len) => Incoming::Packed(codec.packed(len).ok_or(EIO)?),
            StoreKind::Huge => Incoming::Huge(page),
        },
    };
    let mut single_page = matches!(incoming, Incoming::Huge(_));
    loop {
        let mut store = backend.store.lock();
        if let Some(now) = bio.now {
            store.set_clock(now);
        }
        let stored = store.store(index, incoming);
        if stored.is_ok() && backend.has_backing() && store.over_high_wmark() {
            bio.over_high = true;
        }
        drop(store);
        let error = match stored {
            Ok(()) => return Ok(Handled::Done),
            Err(StoreError::NeedSlots) if tables::grow_slots(&backend.store, index) => continue,
            Err(StoreError::NeedSlots) => ENOMEM,
            Err(StoreError::NeedFrame) => match tables::give_frame(&backend.store, single_page) {
                FrameGiven::Added => continue,
                FrameGiven::NoMemory => ENOMEM,
                FrameGiven::Refused {
                    single_page: single,
                } => match on_frame_refused(single, backend.has_backing(), bio.context) {
                    OnRefusal::TrySinglePage => {
                        single_page = true;
                        continue;
                    }
                    OnRefusal::Defer => return Ok(Handled::Defer(Defer::MakeRoom)),
                    OnRefusal::StoreDirect => {
                        match backing_io::store_direct(backend, index, &incoming) {
                            Ok(()) => return Ok(Handled::Done),
                            Err(e) => e,
                        }
                    }
                    OnRefusal::Refuse => ENOMEM,
                },
            },
            Err(_) => EIO,
        };
        refuse(backend, index..index + 1);
        return Err(error);
    }
}

/// Records refused stores for `pages` (frontswap's rule: their old content is
/// dropped, so stale data is never returned).
pub(crate) fn refuse(backend: &Backend, pages: core::ops::Range<u64>) {
    for index in pages {
        let _ = backend.store.lock().refuse(index);
    }
}
