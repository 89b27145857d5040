// SPDX-License-Identifier: GPL-2.0

//! The one walk over a read or write bio's pages.
//!
//! Each 4 KiB page is handed over whole: in the bio's own page when a segment
//! is exactly one page that nobody else maps (swap's and the page cache's),
//! else gathered into (writes) or scattered from (reads) a page buffer, since
//! a direct-I/O buffer may change under the I/O.

use kernel::{block::mq::SegmentsMut, prelude::*};

use crate::gscore::{frame::Page, geometry::PAGE_SIZE};

/// Why a bio goes to the device's work queue.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Defer {
    /// It reads a migrated page, which only the worker may wait for.
    ReadMigrated,
    /// The pool refused one of its pages at its limit: writeback first.
    MakeRoom,
}

/// How handling a page, or a whole bio, ended when it did not fail.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Handled {
    Done,
    /// A read's page left as it is (filled earlier, or to be filled later
    /// from the backing device): the walk goes on without touching it.
    Skip,
    /// Stopped at this page: the bio is handled again from its first page
    /// on the work queue.
    Defer(Defer),
}

/// A page of the bio, handed over whole.
pub(crate) enum PageData<'a> {
    /// A write: the bytes to store.
    ToStore(&'a Page),
    /// A read: the page to fill.
    ToLoad(&'a mut [u8]),
}

/// What a walk hands each page to: storing pages (`write::WriteBio`) or
/// loading them (`read::ReadBio`).
pub(crate) trait PageVisitor {
    /// The data go from the bio to the visitor (a write), or back (a read).
    const WRITES: bool;

    /// Handles page `index` of the bio.
    fn visit(&mut self, index: u64, data: PageData<'_>) -> Result<Handled>;
}

/// Walks the bio whose pages are `pages` (one index per 4 KiB page) and
/// whose data are `segments`: hands each page's index and data to
/// `visitor`, in order, until it defers or fails. `buffer` (a page) gathers
/// or scatters pages that are not one segment.
///
/// The segments must cover the pages exactly (`EIO` otherwise).
pub(crate) fn walk_pages<V: PageVisitor>(
    mut segments: SegmentsMut<'_>,
    mut pages: core::ops::Range<u64>,
    buffer: &mut [u8],
    visitor: &mut V,
) -> Result<Handled> {
    let write = V::WRITES;
    let buffer = buffer.get_mut(..PAGE_SIZE).ok_or(EIO)?;
    // Bytes of the buffer's page gathered (writes) or scattered (reads) so
    // far: 0 between pages.
    let mut partial = 0;
    // The read's page in the buffer is skipped: its pieces are not scattered.
    let mut skip = false;
    while let Some(mut segment) = segments.next_segment() {
        let index = pages.start;
        let whole = (partial == 0 && !pages.is_empty())
            .then(|| {
                if write {
                    segment.with_page_bytes(|page| visitor.visit(index, PageData::ToStore(page)))
                } else {
                    segment.with_page_bytes_mut(|page| visitor.visit(index, PageData::ToLoad(page)))
                }
            })
            .flatten();
        if let Some(handled) = whole {
            pages.next();
            match handled? {
                Handled::Done | Handled::Skip => continue,
                deferred => return Ok(deferred),
            }
        }
        let mut rest = segment.into_segment();
        while !rest.is_empty() {
            if !write && partial == 0 {
                let index = pages.next().ok_or(EIO)?;
                match visitor.visit(index, PageData::ToLoad(&mut *buffer))? {
                    Handled::Done => skip = false,
                    Handled::Skip => skip = true,
                    deferred @ Handled::Defer(_) => return Ok(deferred),
                }
            }
            let (mut piece, tail) = rest.split_at(PAGE_SIZE - partial);
            let end = partial + piece.len();
            let bytes = buffer.get_mut(partial..end).ok_or(EIO)?;
            if write {
                piece.copy_to_slice(bytes)?;
            } else if !skip {
                piece.copy_from_slice(bytes)?;
            }
            partial = if end == PAGE_SIZE { 0 } else { end };
            rest = tail;
            if write && partial == 0 {
                let index = pages.next().ok_or(EIO)?;
                let page: &Page = (&*buffer).try_into().map_err(|_| EIO)?;
                if let deferred @ Handled::Defer(_) =
                    visitor.visit(index, PageData::ToStore(page))?
                {
                    return Ok(deferred);
                }
            }
        }
    }
    if partial != 0 || pages.next().is_some() {
        return Err(EIO);
    }
    Ok(Handled::Done)
}
