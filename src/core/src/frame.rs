//! The record layout of a packed frame.
//!
//! A packed frame is 1 to 8 contiguous pages (4 to 32 KiB, [`MAX_FRAME_SIZE`]) holding
//! compressed objects as records packed from offset 0 upwards, each a 6-byte header and the
//! object's bytes:
//!
//! ```text
//! offset 0                                              tail               frame length
//! | owner: u32 LE | len: u16 LE | data: len bytes | ... |     free space     |
//! ```
//!
//! The functions here take the frame as a byte slice and use its length as the end of the
//! frame; offsets are `u16`, so a slice longer than [`MAX_FRAME_SIZE`] is refused (no record
//! is read from or written to it). An object is at most [`MAX_OBJECT`] bytes, so that a
//! record never needs more than one page, whatever the size of its frame.
//!
//! `owner` is the slot the object belongs to, the reverse map that compaction and whole-frame
//! eviction need. A freed record gets [`FREE_OWNER`] as owner: it is a *hole*, and its
//! `len` counts the bytes after its header that are free. A hole may cover several freed
//! records ([`write_hole`]), so it can be longer than [`MAX_OBJECT`]; the headers of the
//! records it swallowed stay inside it, marked [`FREE_OWNER`]. Walking the records from
//! offset 0 to the frame's tail ([`records`]) visits every object and every hole exactly
//! once; the records tile `[0, tail)`.
//!
//! A hole of `H` bytes (header included) takes a record of `r` bytes if `r == H`, or if
//! `r + HEADER_LEN <= H` so that the rest is a smaller hole with a header of its own
//! ([`hole_fits`]). An object cannot be padded: its length must be exact for decompression.
//!
//! The functions here only read and write bytes. Which frame has which tail, and which
//! records may be written, is decided by [`super::pool`].
//!
//! # Examples
//!
//! ```
//! use ghostswap_core::frame::{records, set_owner, write_record, Record, FREE_OWNER};
//!
//! let mut page = [0u8; 4096];
//! let a = write_record(&mut page, 0, 7, b"abc").unwrap();
//! let b = write_record(&mut page, a.end(), 9, b"de").unwrap();
//! assert_eq!(b, Record { offset: 9, owner: 9, len: 2 });
//! assert!(set_owner(&mut page, a.offset, FREE_OWNER));
//! let walked: Vec<Record> = records(&page, b.end()).collect();
//! assert_eq!(walked, [Record { owner: FREE_OWNER, ..a }, b]);
//! assert_eq!(&page[15..17], b"de");
//! ```

use core::ops::Range;

use super::geometry::PAGE_SIZE;

/// The largest frame in bytes: 8 pages (an order-3 allocation). Every offset into it fits
/// in a `u16`.
pub const MAX_FRAME_SIZE: usize = 8 * PAGE_SIZE;

/// The bytes of one page, what a huge (uncompressed) page and its frame hold.
pub type Page = [u8; PAGE_SIZE];

/// Size of a record header in bytes: the owner (4 bytes) and the data length (2 bytes).
pub const HEADER_LEN: usize = 6;

/// The owner of a freed record (a hole). No object may have this owner.
pub const FREE_OWNER: u32 = u32::MAX;

/// The longest object a record can hold: a page minus one header, so that the largest
/// record is exactly one page. Compressed pages that do not fit are stored whole.
pub const MAX_OBJECT: usize = PAGE_SIZE - HEADER_LEN;

/// [`HEADER_LEN`] as a frame offset.
// CAST: 6 fits in a `u16`.
const HEADER: u16 = HEADER_LEN as u16;

// Offsets and lengths in a frame are `u16`.
// CAST: `u16` to `usize` widens.
const _: () = assert!(MAX_FRAME_SIZE <= u16::MAX as usize);

/// Returns the length of `frame` as an offset, or `None` if it is longer than
/// [`MAX_FRAME_SIZE`].
pub fn frame_end(frame: &[u8]) -> Option<u16> {
    if frame.len() > MAX_FRAME_SIZE {
        return None;
    }
    u16::try_from(frame.len()).ok()
}

/// One record of a frame, as found by [`read_record`] or written by [`write_record`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    /// Offset of the record's header in the frame.
    pub offset: u16,
    /// The slot the object belongs to, or [`FREE_OWNER`] for a hole.
    pub owner: u32,
    /// Length of the data, without the header.
    pub len: u16,
}

impl Record {
    /// Returns `true` if the record is a hole.
    pub fn is_free(&self) -> bool {
        self.owner == FREE_OWNER
    }

    /// Returns the size of the record in the frame: header and data.
    pub fn size(&self) -> u16 {
        // A record read or written here lies within a frame of at most `MAX_FRAME_SIZE`
        // bytes, so this never saturates.
        HEADER.saturating_add(self.len)
    }

    /// Returns the offset just past the record's data, where the next record starts.
    pub fn end(&self) -> u16 {
        self.offset.saturating_add(self.size())
    }

    /// Returns the byte range of the record's data in the frame.
    pub fn data_range(&self) -> Range<usize> {
        usize::from(self.offset.saturating_add(HEADER))..usize::from(self.end())
    }
}

/// Reads the record whose header starts at `offset`.
///
/// Returns `None` if the header or the data would reach past `tail` or past the end of the
/// frame, or if the frame is longer than [`MAX_FRAME_SIZE`]. Any other bytes are a record,
/// so callers that need to know that `offset` starts a record walk to it from offset 0 (see
/// [`records`]).
pub fn read_record(frame: &[u8], offset: u16, tail: u16) -> Option<Record> {
    let limit = frame_end(frame)?;
    let start = usize::from(offset);
    let header: &[u8; HEADER_LEN] = frame
        .get(start..start.checked_add(HEADER_LEN)?)?
        .try_into()
        .ok()?;
    let [o0, o1, o2, o3, l0, l1] = *header;
    let record = Record {
        offset,
        owner: u32::from_le_bytes([o0, o1, o2, o3]),
        len: u16::from_le_bytes([l0, l1]),
    };
    let end = offset.checked_add(HEADER)?.checked_add(record.len)?;
    if end > tail.min(limit) {
        return None;
    }
    Some(record)
}

/// Writes a record for `owner` holding `data` at `offset` and returns it.
///
/// Returns `None`, writing nothing, if `data` is longer than [`MAX_OBJECT`], the record
/// would reach past the end of the frame, or the frame is longer than [`MAX_FRAME_SIZE`].
/// Whatever was at `offset` is overwritten; keeping records from overlapping is the
/// caller's business.
pub fn write_record(frame: &mut [u8], offset: u16, owner: u32, data: &[u8]) -> Option<Record> {
    if data.len() > MAX_OBJECT {
        return None;
    }
    let limit = frame_end(frame)?;
    let len = u16::try_from(data.len()).ok()?;
    let data_start = offset.checked_add(HEADER)?;
    let end = data_start.checked_add(len)?;
    if end > limit {
        return None;
    }
    let [o0, o1, o2, o3] = owner.to_le_bytes();
    let [l0, l1] = len.to_le_bytes();
    let (header, body) = frame
        .get_mut(usize::from(offset)..usize::from(end))?
        .split_first_chunk_mut::<HEADER_LEN>()?;
    *header = [o0, o1, o2, o3, l0, l1];
    // `body` is `end - data_start == len == data.len()` bytes long, so this cannot panic.
    body.copy_from_slice(data);
    Some(Record { offset, owner, len })
}

/// Sets the owner of the record at `offset`, for example to [`FREE_OWNER`] to free it.
///
/// Returns `false`, writing nothing, if the header would reach past the end of the frame or
/// the frame is longer than [`MAX_FRAME_SIZE`].
pub fn set_owner(frame: &mut [u8], offset: u16, owner: u32) -> bool {
    if frame_end(frame).is_none() {
        return false;
    }
    let field = frame
        .get_mut(usize::from(offset)..)
        .and_then(|rest| rest.first_chunk_mut::<4>());
    match field {
        Some(field) => {
            *field = owner.to_le_bytes();
            true
        }
        None => false,
    }
}

/// Writes the header of a hole of `size` bytes (header included) at `offset` and returns it.
///
/// Only the header is written: the bytes after it keep whatever they held. Returns `None`,
/// writing nothing, if `size` is less than [`HEADER_LEN`], the hole would reach past the
/// end of the frame, or the frame is longer than [`MAX_FRAME_SIZE`]. Unlike an object, a
/// hole may be longer than [`MAX_OBJECT`].
pub fn write_hole(frame: &mut [u8], offset: u16, size: u16) -> Option<Record> {
    let limit = frame_end(frame)?;
    let len = size.checked_sub(HEADER)?;
    if offset.checked_add(size)? > limit {
        return None;
    }
    let [o0, o1, o2, o3] = FREE_OWNER.to_le_bytes();
    let [l0, l1] = len.to_le_bytes();
    let header = frame
        .get_mut(usize::from(offset)..)?
        .first_chunk_mut::<HEADER_LEN>()?;
    *header = [o0, o1, o2, o3, l0, l1];
    Some(Record {
        offset,
        owner: FREE_OWNER,
        len,
    })
}

/// Returns `true` if a hole of `hole` bytes can take a record of `size` bytes (both
/// headers included): exactly, or with room left for the header of a smaller hole.
pub fn hole_fits(hole: u16, size: u16) -> bool {
    hole == size
        || size
            .checked_add(HEADER)
            .is_some_and(|needed| needed <= hole)
}

/// What [`scan_holes`] found in a frame for a record of a given size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HoleScan {
    /// The hole that fits the record best, if any: the first exact fit, else the first of
    /// the smallest holes that fit (see [`hole_fits`]).
    pub best: Option<Record>,
    /// Size of the largest hole other than `best` (headers included), or 0.
    pub largest_other: u16,
}

/// Walks the records of `frame` up to `tail` and returns the hole that best fits a record
/// of `size` bytes, header included, with the size of the largest other hole.
///
/// Only headers are read. After the record is put in `best`, the frame's largest hole is
/// the larger of `largest_other` and what is left of `best`.
pub fn scan_holes(frame: &[u8], tail: u16, size: u16) -> HoleScan {
    let mut scan = HoleScan::default();
    for hole in records(frame, tail).filter(Record::is_free) {
        // An exact fit is smaller than any other hole that fits, so the smallest fit wins,
        // and the first of equals.
        let better =
            hole_fits(hole.size(), size) && scan.best.is_none_or(|best| hole.size() < best.size());
        let other = if better {
            scan.best.replace(hole)
        } else {
            Some(hole)
        };
        if let Some(other) = other {
            scan.largest_other = scan.largest_other.max(other.size());
        }
    }
    scan
}

/// Returns the size of the largest hole of `frame` below `tail`, header included, or 0 if
/// it has none. Only headers are read.
pub fn largest_hole(frame: &[u8], tail: u16) -> u16 {
    records(frame, tail)
        .filter(Record::is_free)
        .map(|hole| hole.size())
        .max()
        .unwrap_or(0)
}

/// Returns an iterator over the records of `frame` from offset 0 to `tail`, holes included.
///
/// The walk stops early, without an error, at a record that would reach past `tail`; in a
/// frame kept by the pool that never happens, since its records tile `[0, tail)` exactly.
/// A frame longer than [`MAX_FRAME_SIZE`] has no records.
pub fn records(frame: &[u8], tail: u16) -> Records<'_> {
    Records {
        frame,
        pos: 0,
        tail,
    }
}

/// Iterator over the records of a frame, returned by [`records`].
#[derive(Debug, Clone)]
pub struct Records<'a> {
    frame: &'a [u8],
    pos: u16,
    tail: u16,
}

impl Iterator for Records<'_> {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        if self.pos >= self.tail {
            return None;
        }
        match read_record(self.frame, self.pos, self.tail) {
            Some(record) => {
                self.pos = record.end();
                Some(record)
            }
            None => {
                self.pos = self.tail;
                None
            }
        }
    }
}

/// A record found by [`find_record`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    /// The record starting at the offset looked for.
    pub record: Record,
    /// The record just before it, hole or object, if any.
    pub prev: Option<Record>,
    /// End of the last live record before it, or 0 if there is none: the frame's new tail
    /// if this record is the last one and is freed.
    pub live_end: u16,
    /// Size of the largest hole below `live_end`, header included, or 0: the frame's
    /// largest hole if this record is the last one and is freed.
    pub largest_below: u16,
}

/// Walks the records of `frame` up to `tail` and returns the one that starts at `offset`.
///
/// Returns `None` if no record starts there (the offset is inside a record, or at or past
/// the tail). This takes O(records before `offset`) steps and reads only headers; it is
/// what makes a stale or forged [`super::pool::ObjectRef`] detectable for certain.
pub fn find_record(frame: &[u8], tail: u16, offset: u16) -> Option<Found> {
    let mut prev = None;
    let mut live_end = 0;
    let mut largest_below = 0;
    // The largest hole since the last live record.
    let mut pending: u16 = 0;
    for record in records(frame, tail) {
        if record.offset == offset {
            return Some(Found {
                record,
                prev,
                live_end,
                largest_below,
            });
        }
        if record.offset > offset {
            return None;
        }
        if record.is_free() {
            pending = pending.max(record.size());
        } else {
            live_end = record.end();
            largest_below = largest_below.max(pending);
            pending = 0;
        }
        prev = Some(record);
    }
    None
}
