// SPDX-License-Identifier: GPL-2.0

//! The data path: bios and swap's slot-free notification.
//!
//! The disk is bio-based: each bio is handled, start to end, in the
//! submitter's context, with no request allocated for it. A write classifies
//! and compresses each 4 KiB page with the current CPU's stream (straight
//! from the bio's page when a segment is a whole page,
//! else gathered into the stream first), and only then takes the store lock
//! to put the result in its slot. A read decompresses LZ4 straight from the
//! pool under the lock; other algorithms' objects are copied into the stream
//! under the lock and decompressed after.

use kernel::{
    block::mq::{self, Bio, Command, Operations},
    prelude::*,
    sync::{Arc, ArcBorrow},
};

use crate::device::{store_gfp, Backend, Frame, GhostDevice, IoCounters};
use crate::gscore::{
    classify::{fill_word, same_filled, store_kind, StoreKind},
    frame::Page,
    geometry::{covered_pages, page_range, IoError, PAGE_SIZE},
    store::{Found, Incoming, StoreError},
};
use crate::streams::Codec;

#[vtable]
impl Operations for GhostDevice {
    const OWNER: &'static ThisModule = &crate::THIS_MODULE;
    type QueueData = Arc<GhostDevice>;

    const ATTRIBUTES: &'static [mq::attribute::Attribute] = crate::sysfs::ATTRIBUTES;

    fn submit_bio(device: ArcBorrow<'_, GhostDevice>, bio: &mut Bio<'_>) -> Result {
        match bio.command() {
            Command::Read => read(&device, bio).inspect_err(|_| {
                IoCounters::count(&device.io.failed_reads);
            }),
            Command::Write => write(&device, bio).inspect_err(|_| {
                IoCounters::count(&device.io.failed_writes);
            }),
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

/// The backend of the initialized device and the pages a read or write
/// bio covers.
fn data_pages(
    device: &GhostDevice,
    bio: &Bio<'_>,
) -> Result<(Arc<Backend>, core::ops::Range<u64>)> {
    // The block layer sends no I/O to a disk of capacity 0.
    let backend = device.backend().ok_or(EIO)?;
    let pages = page_range(bio.sector(), u64::from(bio.bytes()), backend.pages)
        .map_err(|e| invalid_io(device, e))?;
    Ok((backend, pages))
}

/// Stores every page of a write bio.
///
/// A segment that is a whole page is compressed where it is; anything else
/// is gathered into the stream's page first.
fn write(device: &GhostDevice, bio: &mut Bio<'_>) -> Result {
    let (backend, mut pages) = data_pages(device, bio)?;
    backend.streams.with(|stream| {
        let mut filled = 0;
        let mut segments = bio.segments();
        while let Some(segment) = segments.next_segment() {
            if filled == 0 && segment.len() == PAGE_SIZE {
                let index = pages.next().ok_or(EIO)?;
                segment
                    .with_page_bytes(|page| store_page(&backend, &mut stream.codec, page, index))
                    .unwrap_or(Err(EIO))
                    .inspect_err(|_| refuse(&backend, pages.clone()))?;
                continue;
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
                    store_page(&backend, &mut stream.codec, page, index).inspect_err(|_| {
                        // The rest of the bio will not be stored either:
                        // none of it may keep returning older data.
                        refuse(&backend, pages.clone());
                    })?;
                    filled = 0;
                }
            }
        }
        // The segments must have covered the bio exactly.
        if filled != 0 || pages.next().is_some() {
            return Err(EIO);
        }
        Ok(())
    })
}

/// Classifies `page`, compresses it with `codec` and stores it into slot
/// `index`.
fn store_page(backend: &Backend, codec: &mut Codec, page: &Page, index: u64) -> Result {
    let incoming = match same_filled(page) {
        Some(word) => Incoming::SameFilled(word),
        None => match store_kind(codec.compress(page), backend.huge_threshold) {
            StoreKind::Compressed(len) => Incoming::Packed(codec.packed(len).ok_or(EIO)?),
            StoreKind::Huge => Incoming::Huge(page),
        },
    };
    loop {
        let stored = backend.store.lock().store(index, incoming, drop);
        match stored {
            Ok(()) => return Ok(()),
            Err(StoreError::NeedFrame) => add_frame(backend, index, &incoming)?,
            Err(_) => {
                refuse(backend, index..index + 1);
                return Err(EIO);
            }
        }
    }
}

/// Gives the pool a frame for a store that needs one; allocates with the
/// store lock dropped. A huge page needs a single page; packed objects get a
/// multi-page frame when the allocator has one at hand, else a single page.
/// A store that gets no frame (no memory, or `mem_limit` reached) is refused:
/// the slot's old content is dropped and the write fails with `ENOMEM`.
fn add_frame(backend: &Backend, index: u64, incoming: &Incoming<'_>) -> Result {
    let frame = match incoming {
        Incoming::Huge(_) => Frame::single(store_gfp()),
        _ => Frame::packing(store_gfp()),
    };
    let refused = match frame {
        Ok(frame) => backend.store.lock().add_frame(frame).err(),
        Err(_) => {
            refuse(backend, index..index + 1);
            return Err(ENOMEM);
        }
    };
    if let Some(frame) = refused {
        drop(frame);
        refuse(backend, index..index + 1);
        return Err(ENOMEM);
    }
    Ok(())
}

/// Records refused stores for `pages` (frontswap's rule: their old content is
/// dropped, so stale data is never returned).
fn refuse(backend: &Backend, pages: core::ops::Range<u64>) {
    for index in pages {
        let _ = backend.store.lock().refuse(index, drop);
    }
}

/// Fills a read bio from the store.
///
/// A segment that is a whole page is filled where it is; anything else is
/// loaded into the stream's page and copied from there.
fn read(device: &GhostDevice, bio: &mut Bio<'_>) -> Result {
    let (backend, mut pages) = data_pages(device, bio)?;
    backend.streams.with(|stream| {
        let mut offset = PAGE_SIZE;
        let mut segments = bio.segments();
        while let Some(mut segment) = segments.next_segment() {
            if offset == PAGE_SIZE && segment.len() == PAGE_SIZE {
                let index = pages.next().ok_or(EIO)?;
                segment
                    .with_page_bytes_mut(|page| load_page(&backend, &mut stream.codec, index, page))
                    .unwrap_or(Err(EIO))?;
                continue;
            }
            let mut rest = segment.into_segment();
            while !rest.is_empty() {
                if offset == PAGE_SIZE {
                    let index = pages.next().ok_or(EIO)?;
                    load_page(&backend, &mut stream.codec, index, &mut stream.page)?;
                    offset = 0;
                }
                let (mut piece, tail) = rest.split_at(PAGE_SIZE - offset);
                let end = offset + piece.len();
                piece.copy_from_slice(stream.page.get(offset..end).ok_or(EIO)?)?;
                offset = end;
                rest = tail;
            }
        }
        Ok(())
    })
}

/// Loads slot `index` into `page`, with `codec` for compressed content:
/// decompressed under the store lock or, for a slow decompressor, copied out
/// and decompressed after (see [`Codec::decompresses_in_place`]).
fn load_page(backend: &Backend, codec: &mut Codec, index: u64, page: &mut [u8]) -> Result {
    let packed_len = {
        let mut store = backend.store.lock();
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
            Found::Packed(data) if codec.decompresses_in_place() => {
                codec.decompress(data, page)?;
                None
            }
            Found::Packed(data) => {
                let copy = codec.packed_mut(data.len()).ok_or(EIO)?;
                copy.copy_from_slice(data);
                Some(data.len())
            }
        }
    };
    match packed_len {
        // Decompressed with the lock dropped.
        Some(len) => codec.decompress_packed(len, page),
        None => Ok(()),
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
    let (backend, pages) = data_pages(device, bio)?;
    backend.free_range(pages)
}
