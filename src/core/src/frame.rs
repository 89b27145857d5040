//! The record layout of a packed frame.
//!
//! A packed frame is 1 to 8 contiguous pages (4 to 32 KiB, [`MAX_FRAME_SIZE`]) holding
//! compressed objects as records packed from offset 0 upwards, each a 6-byte header, the
//! object's bytes and, for an object of fewer than 6 bytes, padding up to [`MIN_RECORD`]
//! bytes ([`record_size`]):
//!
//! ```text
//! offset 0                                                             tail    frame length
//! | owner: u32 LE | len: u16 LE | data: len bytes | padding | ... |  free space  |
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
//! # Boundary tags and the hole list
//!
//! So that freeing a record finds the holes around it in O(1) steps, holes carry more than
//! a header:
//!
//! ```text
//! | FREE_OWNER | len | prev: u16 LE | next: u16 LE |   ...   | size: u16 LE |
//!   header             links (HoleList)                       footer: last 2 bytes
//! ```
//!
//! - Bit 15 of a header's `len` field ([`Record::prev_free`]) says that the record just
//!   before is a hole, whose size is then in the two bytes before the header (the hole's
//!   *footer*, [`hole_before`]). The hole after a record is the record at its end. Objects
//!   are shorter than 4096 bytes and holes than 32768, so the bit is free in both.
//! - The holes of a frame are on a doubly linked list ([`HoleList`]), linked by offset
//!   through the four bytes after their headers, so a store looks at holes only.
//!
//! Every hole so needs [`MIN_RECORD`] (12) bytes, and every record is at least that long so
//! that it can become a hole of its own. Padding is not object data: it is neither read
//! nor written.
//!
//! A hole of `H` bytes (header included) takes a record of `r` bytes if `r == H`, or if
//! `r + MIN_RECORD <= H` so that the rest is a smaller hole ([`hole_fits`]). An object is
//! never cut short or lengthened: its length must be exact for decompression.
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
//! // Three bytes of data, padded to a record of 12 bytes.
//! assert_eq!((a.size(), a.data_range()), (12, 6..9));
//! let b = write_record(&mut page, a.end(), 9, b"de").unwrap();
//! assert_eq!(b, Record { offset: 12, owner: 9, len: 2, prev_free: false });
//! assert!(set_owner(&mut page, a.offset, FREE_OWNER));
//! let walked: Vec<Record> = records(&page, b.end()).collect();
//! assert_eq!(walked, [Record { owner: FREE_OWNER, ..a }, b]);
//! assert_eq!(&page[18..20], b"de");
//! ```

use core::mem;
use core::ops::Range;

use super::geometry::PAGE_SIZE;

/// The most pages a frame has: 8 (an order-3 allocation).
pub const MAX_FRAME_PAGES: usize = 8;

/// The largest frame in bytes. Every offset into it fits in a `u16`.
pub const MAX_FRAME_SIZE: usize = MAX_FRAME_PAGES * PAGE_SIZE;
const _: () = assert!(MAX_FRAME_SIZE <= u16::MAX as usize + 1);

/// The bytes of one page, what a huge (uncompressed) page and its frame hold.
pub type Page = [u8; PAGE_SIZE];

/// Size of a record header in bytes: the owner (4 bytes) and the data length (2 bytes).
pub const HEADER_LEN: usize = 6;

/// The owner of a freed record (a hole). No object may have this owner.
pub const FREE_OWNER: u32 = u32::MAX;

/// The longest object a record can hold: a page minus one header, so that the largest
/// record is exactly one page. Compressed pages that do not fit are stored whole.
pub const MAX_OBJECT: usize = PAGE_SIZE - HEADER_LEN;

/// The fewest bytes a record takes, and the smallest hole: a header, the two links of the
/// hole list and the footer.
pub const MIN_RECORD: usize = HEADER_LEN + 3 * LINK_LEN;

/// Bytes of one hole link or footer: a `u16` offset or size.
const LINK_LEN: usize = 2;

/// [`HEADER_LEN`] as a frame offset.
// CAST: 6 fits in a `u16`.
const HEADER: u16 = HEADER_LEN as u16;

/// [`MIN_RECORD`] as a frame offset.
// CAST: 12 fits in a `u16`.
const MIN_SIZE: u16 = MIN_RECORD as u16;

/// [`LINK_LEN`] as a frame offset.
// CAST: 2 fits in a `u16`.
const LINK: u16 = LINK_LEN as u16;

/// The bit of a header's `len` field that says the record before it is a hole.
const PREV_FREE: u16 = 1 << 15;

/// The link of the first or last hole of a list: no frame offset is this large.
const NO_HOLE: u16 = u16::MAX;

// Offsets and lengths in a frame are `u16`, and `NO_HOLE` is none of them.
// CAST: `u16` to `usize` widens.
const _: () = assert!(MAX_FRAME_SIZE < NO_HOLE as usize);
// Neither an object's length nor a hole's has bit 15 set.
const _: () = assert!(MAX_OBJECT < PREV_FREE as usize);
const _: () = assert!(MAX_FRAME_SIZE - HEADER_LEN < PREV_FREE as usize);

/// Returns the length of `frame` as an offset, or `None` if it is longer than
/// [`MAX_FRAME_SIZE`].
#[inline]
pub fn frame_end(frame: &[u8]) -> Option<u16> {
    if frame.len() > MAX_FRAME_SIZE {
        return None;
    }
    u16::try_from(frame.len()).ok()
}

/// Returns the bytes a record of `len` bytes of data takes in a frame: its header and data,
/// padded to at least [`MIN_RECORD`].
#[inline]
pub fn record_size(len: u16) -> u16 {
    HEADER.saturating_add(len).max(MIN_SIZE)
}

/// One record of a frame, as found by [`read_record`] or written by [`write_record`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    /// Offset of the record's header in the frame.
    pub offset: u16,
    /// The slot the object belongs to, or [`FREE_OWNER`] for a hole.
    pub owner: u32,
    /// Length of the data, without the header or padding.
    pub len: u16,
    /// Whether the header says that the record just before this one is a hole.
    pub prev_free: bool,
}

impl Record {
    /// Returns `true` if the record is a hole.
    #[inline]
    pub fn is_free(&self) -> bool {
        self.owner == FREE_OWNER
    }

    /// Returns the size of the record in the frame: header, data and padding
    /// ([`record_size`]).
    #[inline]
    pub fn size(&self) -> u16 {
        record_size(self.len)
    }

    /// Returns the bytes of padding after the record's data.
    #[inline]
    pub fn padding(&self) -> u16 {
        self.size().saturating_sub(HEADER).saturating_sub(self.len)
    }

    /// Returns the offset just past the record, where the next record starts.
    #[inline]
    pub fn end(&self) -> u16 {
        // A record read or written here lies within a frame of at most `MAX_FRAME_SIZE`
        // bytes, so this never saturates.
        self.offset.saturating_add(self.size())
    }

    /// Returns the byte range of the record's data in the frame.
    #[inline]
    pub fn data_range(&self) -> Range<usize> {
        let start = self.offset.saturating_add(HEADER);
        usize::from(start)..usize::from(start.saturating_add(self.len))
    }
}

/// Reads the `u16` at `at`, if it lies within the frame.
#[inline]
fn read_u16(frame: &[u8], at: u16) -> Option<u16> {
    frame_end(frame)?;
    let bytes = frame.get(usize::from(at)..)?.first_chunk::<LINK_LEN>()?;
    Some(u16::from_le_bytes(*bytes))
}

/// Writes `value` at `at`. Returns `None`, writing nothing, unless it lies within the frame.
#[inline]
fn write_u16(frame: &mut [u8], at: u16, value: u16) -> Option<()> {
    frame_end(frame)?;
    let bytes = frame
        .get_mut(usize::from(at)..)?
        .first_chunk_mut::<LINK_LEN>()?;
    *bytes = value.to_le_bytes();
    Some(())
}

/// Writes a header at `offset`. Returns `None`, writing nothing, unless it lies within the
/// frame.
#[inline]
fn write_header(frame: &mut [u8], offset: u16, owner: u32, len_field: u16) -> Option<()> {
    frame_end(frame)?;
    let [o0, o1, o2, o3] = owner.to_le_bytes();
    let [l0, l1] = len_field.to_le_bytes();
    let header = frame
        .get_mut(usize::from(offset)..)?
        .first_chunk_mut::<HEADER_LEN>()?;
    *header = [o0, o1, o2, o3, l0, l1];
    Some(())
}

/// Reads the record whose header starts at `offset`.
///
/// Returns `None` if the header or the record (padding included) would reach past `tail` or
/// past the end of the frame, or if the frame is longer than [`MAX_FRAME_SIZE`]. Any other
/// bytes are a record: only the pool's invariants tell that `offset` starts one (see
/// [`super::pool::Pool::load`]), or a walk from offset 0 ([`records`]).
#[inline]
pub fn read_record(frame: &[u8], offset: u16, tail: u16) -> Option<Record> {
    let limit = frame_end(frame)?;
    let start = usize::from(offset);
    let header: &[u8; HEADER_LEN] = frame
        .get(start..start.checked_add(HEADER_LEN)?)?
        .try_into()
        .ok()?;
    let [o0, o1, o2, o3, l0, l1] = *header;
    let len_field = u16::from_le_bytes([l0, l1]);
    let record = Record {
        offset,
        owner: u32::from_le_bytes([o0, o1, o2, o3]),
        len: len_field & !PREV_FREE,
        prev_free: len_field & PREV_FREE != 0,
    };
    let end = offset.checked_add(record.size())?;
    if end > tail.min(limit) {
        return None;
    }
    Some(record)
}

/// Writes a record for `owner` holding `data` at `offset` and returns it.
///
/// The header says that the record before is no hole (see [`set_prev_free`]); padding is
/// not written. Returns `None`, writing nothing, if `data` is longer than [`MAX_OBJECT`],
/// the record (padding included) would reach past the end of the frame, or the frame is
/// longer than [`MAX_FRAME_SIZE`]. Whatever was at `offset` is overwritten; keeping records
/// from overlapping is the caller's business.
#[inline]
pub fn write_record(frame: &mut [u8], offset: u16, owner: u32, data: &[u8]) -> Option<Record> {
    if data.len() > MAX_OBJECT {
        return None;
    }
    let limit = frame_end(frame)?;
    let len = u16::try_from(data.len()).ok()?;
    let record = Record {
        offset,
        owner,
        len,
        prev_free: false,
    };
    if offset.checked_add(record.size())? > limit {
        return None;
    }
    let body = frame.get_mut(record.data_range())?;
    // `body` is `len == data.len()` bytes long, so this cannot panic.
    body.copy_from_slice(data);
    write_header(frame, offset, owner, len)?;
    Some(record)
}

/// Sets the owner of the record at `offset`, for example to [`FREE_OWNER`] to free it.
///
/// Returns `false`, writing nothing, if the header would reach past the end of the frame or
/// the frame is longer than [`MAX_FRAME_SIZE`].
#[inline]
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

/// Sets whether the header at `offset` says that the record before it is a hole.
///
/// Returns `false`, writing nothing, if the header would reach past the end of the frame or
/// the frame is longer than [`MAX_FRAME_SIZE`].
#[inline]
pub fn set_prev_free(frame: &mut [u8], offset: u16, prev_free: bool) -> bool {
    let Some(at) = offset.checked_add(HEADER - LINK) else {
        return false;
    };
    let Some(field) = read_u16(frame, at) else {
        return false;
    };
    let field = if prev_free {
        field | PREV_FREE
    } else {
        field & !PREV_FREE
    };
    write_u16(frame, at, field).is_some()
}

/// Writes the header and the footer of a hole of `size` bytes (header included) at `offset`
/// and returns it.
///
/// The bytes between them, the hole's links among them, keep whatever they held. Returns
/// `None`, writing nothing, if `size` is less than [`MIN_RECORD`], the hole would reach
/// past the end of the frame, or the frame is longer than [`MAX_FRAME_SIZE`]. Unlike an
/// object, a hole may be longer than [`MAX_OBJECT`].
#[inline]
pub fn write_hole(frame: &mut [u8], offset: u16, size: u16) -> Option<Record> {
    let limit = frame_end(frame)?;
    let end = offset.checked_add(size)?;
    if size < MIN_SIZE || end > limit {
        return None;
    }
    let len = size.checked_sub(HEADER)?;
    write_header(frame, offset, FREE_OWNER, len)?;
    write_u16(frame, end.checked_sub(LINK)?, size)?;
    Some(Record {
        offset,
        owner: FREE_OWNER,
        len,
        prev_free: false,
    })
}

/// Returns the hole that ends at `offset`, found through its footer.
///
/// Returns `None` unless the footer before `offset` gives the size of a hole whose header
/// says so: what the record at `offset` has before it when its
/// [`prev_free`](Record::prev_free) flag is set.
#[inline]
pub fn hole_before(frame: &[u8], offset: u16) -> Option<Record> {
    let size = read_u16(frame, offset.checked_sub(LINK)?)?;
    let hole = read_record(frame, offset.checked_sub(size)?, offset)?;
    (hole.is_free() && hole.end() == offset).then_some(hole)
}

/// Returns `true` if a hole of `hole` bytes can take a record of `size` bytes (both
/// headers included): exactly, or with room left for a smaller hole ([`MIN_RECORD`]).
#[inline]
pub fn hole_fits(hole: u16, size: u16) -> bool {
    hole == size
        || size
            .checked_add(MIN_SIZE)
            .is_some_and(|needed| needed <= hole)
}

/// The links of a hole on its frame's [`HoleList`], as [`hole_links`] reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoleLinks {
    /// Offset of the hole before it on the list, if any.
    pub prev: Option<u16>,
    /// Offset of the hole after it on the list, if any.
    pub next: Option<u16>,
}

/// Returns the offset stored in a link, if it links to a hole.
#[inline]
fn some_hole(link: u16) -> Option<u16> {
    (link != NO_HOLE).then_some(link)
}

/// Returns where the previous-hole link of the hole at `offset` is kept; the next-hole link
/// follows it.
#[inline]
fn links_at(offset: u16) -> Option<u16> {
    offset.checked_add(HEADER)
}

/// Reads the links of the hole at `offset`, or `None` if they would reach past the frame.
///
/// Only bytes are read: whether a hole starts at `offset` is the caller's business.
#[inline]
pub fn hole_links(frame: &[u8], offset: u16) -> Option<HoleLinks> {
    let at = links_at(offset)?;
    Some(HoleLinks {
        prev: some_hole(read_u16(frame, at)?),
        next: some_hole(read_u16(frame, at.checked_add(LINK)?)?),
    })
}

/// Sets the previous-hole link of the hole at `offset`.
#[inline]
fn set_prev_link(frame: &mut [u8], offset: u16, prev: Option<u16>) -> Option<()> {
    write_u16(frame, links_at(offset)?, prev.unwrap_or(NO_HOLE))
}

/// Sets the next-hole link of the hole at `offset`.
#[inline]
fn set_next_link(frame: &mut [u8], offset: u16, next: Option<u16>) -> Option<()> {
    write_u16(
        frame,
        links_at(offset)?.checked_add(LINK)?,
        next.unwrap_or(NO_HOLE),
    )
}

/// The holes of one frame, in no particular order: the offset of the first, the rest
/// linked through the holes themselves (see the [module documentation](self)).
///
/// The list is two bytes; the frame it belongs to is passed to each operation. Pushing and
/// removing take O(1) steps, and walks ([`HoleList::iter`]) stop after as many steps as the
/// frame has room for holes, even if the links were corrupted into a cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoleList {
    head: u16,
}

impl Default for HoleList {
    fn default() -> Self {
        HoleList::EMPTY
    }
}

/// What [`HoleList::best_fit`] found in a frame for a record of a given size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HoleScan {
    /// The hole that fits the record best, if any: the smallest one that fits (see
    /// [`hole_fits`]), so an exact fit first, and of equals the one at the lowest offset.
    pub best: Option<Record>,
    /// Size of the largest hole other than `best` (headers included), or 0.
    pub largest_other: u16,
}

impl HoleList {
    /// The list of a frame without holes.
    pub const EMPTY: HoleList = HoleList { head: NO_HOLE };

    /// Returns the offset of the first hole on the list, if any.
    #[inline]
    pub fn first(&self) -> Option<u16> {
        some_hole(self.head)
    }

    /// Puts the hole at `offset` first on the list, writing its links.
    ///
    /// Returns `false`, changing nothing, if its links would reach past the frame.
    #[inline]
    pub fn push(&mut self, frame: &mut [u8], offset: u16) -> bool {
        let old = self.first();
        // The next link lies after the previous one: if it fits, both do.
        if set_next_link(frame, offset, old).is_none() {
            return false;
        }
        set_prev_link(frame, offset, None);
        if let Some(old) = old {
            // Never `None`: `old` is a hole of the frame, and its links lie within it.
            set_prev_link(frame, old, Some(offset));
        }
        self.head = offset;
        true
    }

    /// Takes the hole at `offset` off the list, linking its neighbours to each other.
    ///
    /// Returns `false`, changing nothing, if its links cannot be read, or if it has no
    /// previous hole and is not first on the list.
    #[inline]
    pub fn remove(&mut self, frame: &mut [u8], offset: u16) -> bool {
        let Some(links) = hole_links(frame, offset) else {
            return false;
        };
        match links.prev {
            Some(prev) => {
                if set_next_link(frame, prev, links.next).is_none() {
                    return false;
                }
            }
            None if self.head == offset => self.head = links.next.unwrap_or(NO_HOLE),
            None => return false,
        }
        if let Some(next) = links.next {
            // Never `None`: `next` is a hole of the frame, and its links lie within it.
            set_prev_link(frame, next, links.prev);
        }
        true
    }

    /// Returns an iterator over the holes on the list, read from `frame` below `tail`.
    ///
    /// The walk stops early, without an error, at a link to anything but a hole below
    /// `tail`; for a list kept by the pool that never happens.
    pub fn iter<'a>(&self, frame: &'a [u8], tail: u16) -> Holes<'a> {
        // A frame too long for `u16` offsets has no holes, as `read_record` would say.
        let (next, end) = match frame_end(frame) {
            Some(end) => (self.head, end),
            None => (NO_HOLE, 0),
        };
        Holes {
            frame,
            next,
            // Checked once here rather than per hole: both bounds hold for every hole.
            tail: tail.min(end),
            // Holes are disjoint and at least `MIN_RECORD` bytes long.
            steps: tail / MIN_SIZE,
        }
    }

    /// Walks the holes on the list and returns the one that best fits a record of `size`
    /// bytes, header included, with the size of the largest other hole.
    ///
    /// Only the headers and links of holes are read. After the record is put in `best`,
    /// the frame's largest hole is the larger of `largest_other` and what is left of
    /// `best`.
    pub fn best_fit(&self, frame: &[u8], tail: u16, size: u16) -> HoleScan {
        let holes = self.iter(frame, tail);
        let limit = holes.tail;
        // `fit_key` of the best hole so far; no hole has this key, every hole's is smaller.
        let mut best_key = u32::MAX;
        // Offset and size of the best hole so far; a size of 0 without one.
        let mut best_at = NO_HOLE;
        let mut best_size = 0;
        let mut largest_other = 0;
        for hole in holes {
            let hole_size = hole.size();
            // The hole that is not (or no longer) the best: the new one, or the best it
            // displaces. Most holes do not fit: the key is only made for those that do.
            let mut other = hole_size;
            if hole_fits(hole_size, size) {
                let key = fit_key(hole_size, hole.offset);
                if key < best_key {
                    best_key = key;
                    best_at = hole.offset;
                    other = mem::replace(&mut best_size, hole_size);
                }
            }
            largest_other = largest_other.max(other);
        }
        // Read again rather than carried through the walk, which is cheaper: the bytes
        // are the same, so this is the record the walk found.
        let best = some_hole(best_at)
            .and_then(|offset| read_hole(frame, offset, limit))
            .map(|(hole, _)| hole);
        HoleScan {
            best,
            largest_other,
        }
    }

    /// Returns the size of the largest hole on the list, header included, or 0 if there is
    /// none. Only the headers and links of holes are read.
    pub fn largest(&self, frame: &[u8], tail: u16) -> u16 {
        self.iter(frame, tail)
            .map(|hole| hole.size())
            .max()
            .unwrap_or(0)
    }
}

/// Returns the order in which [`HoleList::best_fit`] prefers holes that fit: smaller first,
/// then lower offsets (the list is in no order, so ties are broken explicitly). An exact fit
/// is smaller than any other hole that fits. The key is below `u32::MAX` for any hole.
#[inline]
fn fit_key(size: u16, offset: u16) -> u32 {
    (u32::from(size) << 16) | u32::from(offset)
}

/// Iterator over the holes of a [`HoleList`], returned by [`HoleList::iter`].
///
/// # Invariants
///
/// - `tail` is at most the frame's length, which is at most [`MAX_FRAME_SIZE`] unless
///   `next` is [`NO_HOLE`].
#[derive(Debug, Clone)]
pub struct Holes<'a> {
    frame: &'a [u8],
    next: u16,
    tail: u16,
    steps: u16,
}

impl Iterator for Holes<'_> {
    type Item = Record;

    #[inline]
    fn next(&mut self) -> Option<Record> {
        let offset = some_hole(self.next)?;
        self.steps = self.steps.checked_sub(1)?;
        let hole = read_hole(self.frame, offset, self.tail);
        self.next = hole.map_or(NO_HOLE, |(_, next)| next);
        hole.map(|(hole, _)| hole)
    }
}

/// The bytes at the start of a hole that a walk of the hole list reads: its header and
/// both links.
const HOLE_HEAD: usize = HEADER_LEN + 2 * LINK_LEN;

/// Reads the hole at `offset` and its link to the next hole (possibly [`NO_HOLE`]), with
/// one bounds check for both, or returns `None` unless a hole (a record marked
/// [`FREE_OWNER`]) starts there and ends at or below `tail`.
///
/// This is [`read_record`] and [`hole_links`] for the hot walk of the hole list: `tail`
/// must already be at most the frame's length, which must be at most [`MAX_FRAME_SIZE`].
#[inline]
fn read_hole(frame: &[u8], offset: u16, tail: u16) -> Option<(Record, u16)> {
    let head = frame
        .get(usize::from(offset)..)?
        .first_chunk::<HOLE_HEAD>()?;
    let [o0, o1, o2, o3, l0, l1, _, _, n0, n1] = *head;
    if u32::from_le_bytes([o0, o1, o2, o3]) != FREE_OWNER {
        return None;
    }
    let len_field = u16::from_le_bytes([l0, l1]);
    let hole = Record {
        offset,
        owner: FREE_OWNER,
        len: len_field & !PREV_FREE,
        prev_free: len_field & PREV_FREE != 0,
    };
    // In `u32`, the sum cannot overflow.
    if u32::from(offset) + u32::from(hole.size()) > u32::from(tail) {
        return None;
    }
    Some((hole, u16::from_le_bytes([n0, n1])))
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
