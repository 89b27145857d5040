// SPDX-License-Identifier: GPL-2.0

//! The data path: blk-mq requests and swap's slot-free notification.

use kernel::{
    block::mq::{self, Command, Operations, Request, Segment},
    page::Page,
    prelude::*,
    sync::{Arc, ArcBorrow},
    types::ARef,
};

use crate::device::{store_gfp, GhostDevice, IoCounters};
use crate::gscore::geometry::{covered_pages, page_range, IoError, PAGE_SIZE};

#[vtable]
impl Operations for GhostDevice {
    const OWNER: &'static ThisModule = &crate::THIS_MODULE;
    type QueueData = Arc<GhostDevice>;

    const ATTRIBUTES: &'static [mq::attribute::Attribute] = crate::sysfs::ATTRIBUTES;

    fn queue_rq(
        device: ArcBorrow<'_, GhostDevice>,
        rq: ARef<Request<Self>>,
        _last: bool,
    ) -> Result {
        let status = match rq.command() {
            Command::Read => read(&device, &rq).inspect_err(|_| {
                IoCounters::count(&device.io.failed_reads);
            }),
            Command::Write => write(&device, &rq).inspect_err(|_| {
                IoCounters::count(&device.io.failed_writes);
            }),
            Command::Discard => discard(&device, &rq),
            Command::WriteZeroes => write_zeroes(&device, &rq),
            // Everything lives in RAM: there is nothing to make durable.
            Command::Flush => Ok(()),
            // Not advertised in the queue limits, so never sent.
            Command::SecureErase | Command::Other(_) => Err(EIO),
        };
        // Nobody else holds a reference to the request, so ending cannot fail.
        Request::end(rq, status).map_err(|_| EIO)
    }

    fn commit_rqs() {}

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

/// Counts a request the geometry check refused and turns it into an errno.
fn invalid_io(device: &GhostDevice, error: IoError) -> Error {
    IoCounters::count(&device.io.invalid_io);
    match error {
        IoError::Misaligned => EINVAL,
        IoError::OutOfRange | IoError::Empty => EIO,
    }
}

/// The pages a read or write request covers.
fn data_pages(device: &GhostDevice, rq: &Request<GhostDevice>) -> Result<core::ops::Range<u64>> {
    page_range(rq.sector(), u64::from(rq.bytes()), device.pages())
        .map_err(|e| invalid_io(device, e))
}

/// Stores every page of a write request.
///
/// Each page is copied into a freshly allocated page first and swapped into
/// its slot afterwards, so a concurrent read sees either the old or the new
/// content, never a mix, and the old page is freed outside the lock.
fn write(device: &GhostDevice, rq: &Request<GhostDevice>) -> Result {
    let mut pages = data_pages(device, rq)?;
    let mut filling: Option<(Page, usize)> = None;
    for segment in rq.segments() {
        let mut rest = segment;
        while !rest.is_empty() {
            let (mut page, filled) = match filling.take() {
                Some(partial) => partial,
                None => match Page::alloc_page(store_gfp()) {
                    Ok(page) => (page, 0),
                    Err(_) => return refuse_stores(device, pages),
                },
            };
            let (piece, tail) = rest.split_at(PAGE_SIZE - filled);
            piece.copy_to_page(&mut page, filled)?;
            let filled = filled + piece.len();
            rest = tail;
            if filled < PAGE_SIZE {
                filling = Some((page, filled));
                continue;
            }
            let index = pages.next().ok_or(EIO)?;
            let max_pages = device.mem_limit_pages();
            let stored = device.with_table(|table| {
                if table.store_exceeds(index, max_pages) {
                    let old = table.refuse_store(index).map_err(|_| EIO)?;
                    return Ok(Err((page, old)));
                }
                Ok(Ok(table.store(index, page).map_err(|_| EIO)?))
            })?;
            // Pages go back to the allocator here, after the lock is released.
            match stored {
                Ok(old) => drop(old),
                Err(refused) => {
                    drop(refused);
                    return refuse_stores(device, pages);
                }
            }
        }
    }
    // The segments must have covered the request exactly.
    if filling.is_some() || pages.next().is_some() {
        return Err(EIO);
    }
    Ok(())
}

/// Stores that could not be done: the old content of these slots must not be
/// returned any more (frontswap's duplicate-store rule), so it is dropped and
/// the write fails.
fn refuse_stores(device: &GhostDevice, pages: core::ops::Range<u64>) -> Result {
    for index in pages {
        let old = device.with_table(|table| table.refuse_store(index).map_err(|_| EIO));
        drop(old);
    }
    Err(ENOMEM)
}

/// Fills a read request from the stored pages, or with zeroes.
fn read(device: &GhostDevice, rq: &Request<GhostDevice>) -> Result {
    let mut pages = data_pages(device, rq)?;
    let mut index = pages.next().ok_or(EIO)?;
    let mut offset = 0;
    for segment in rq.segments() {
        let mut rest = segment;
        while !rest.is_empty() {
            if offset == PAGE_SIZE {
                index = pages.next().ok_or(EIO)?;
                offset = 0;
            }
            let (piece, tail) = rest.split_at(PAGE_SIZE - offset);
            offset += piece.len();
            copy_out(device, index, offset - piece.len(), piece)?;
            rest = tail;
        }
    }
    Ok(())
}

/// Copies stored bytes of slot `index`, from `offset` on, into `piece`.
fn copy_out(device: &GhostDevice, index: u64, offset: usize, mut piece: Segment<'_>) -> Result {
    device.with_table(|table| match table.load(index).map_err(|_| EIO)? {
        Some(page) => piece.copy_from_page(page, offset),
        None => {
            piece.zero();
            Ok(())
        }
    })
}

/// Drops the pages a discard fully covers; partial pages keep their data.
fn discard(device: &GhostDevice, rq: &Request<GhostDevice>) -> Result {
    let pages = covered_pages(rq.sector(), u64::from(rq.bytes()), device.pages())
        .map_err(|e| invalid_io(device, e))?;
    device.free_range(pages)
}

/// Makes a range read back as zeroes, which is what an empty slot returns.
fn write_zeroes(device: &GhostDevice, rq: &Request<GhostDevice>) -> Result {
    let pages = data_pages(device, rq)?;
    device.free_range(pages)
}
