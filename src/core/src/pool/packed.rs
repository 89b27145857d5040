//! A packed frame: its usage, and how a record is placed in it and freed from it (holes,
//! boundary tags, the tail), one frame at a time.
//!
//! This is a child module of [`super`]: it also adds [`Pool::records`] and
//! [`Pool::holes`], which read a packed frame. The byte layout of records and holes is in
//! [`frame`].

use super::classes::class_of_free;
use super::frame::{self, HoleList, Record, FREE_OWNER, HEADER_LEN, MAX_OBJECT, MIN_RECORD};
use super::lru::Used;
use super::reserve::{frame_pages, pages_len};
use super::stats::Totals;
use super::{packed, FrameEntry, FrameId, Links, ObjectRef, Pool, PoolError, Table};

/// [`HEADER_LEN`] as a byte count of a frame.
// CAST: 6 fits in a `u16`.
pub(super) const HEADER: u16 = HEADER_LEN as u16;

/// [`MIN_RECORD`] as a byte count of a frame.
// CAST: 12 fits in a `u16`.
const MIN_SIZE: u16 = MIN_RECORD as u16;

/// How much of a packed frame is in use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// End of the last record: where the next record goes.
    pub tail: u16,
    /// Bytes of the live records, headers and padding included.
    pub record_bytes: u16,
    /// Number of live records.
    pub objects: u16,
    /// Length of the frame in bytes: a multiple of [`PAGE_SIZE`](super::PAGE_SIZE) up to
    /// [`MAX_FRAME_SIZE`](frame::MAX_FRAME_SIZE).
    pub len: u16,
    /// Size of the largest hole below the tail, header included, or 0 if there is none.
    pub largest_hole: u16,
    /// Bytes of padding of the live records: objects of fewer than 6 bytes take records of
    /// [`MIN_RECORD`] bytes.
    pub padding: u16,
}

impl Usage {
    /// Returns the bytes of holes below the tail.
    #[inline]
    pub fn hole_bytes(&self) -> u16 {
        self.tail.saturating_sub(self.record_bytes)
    }

    /// Returns the free bytes after the tail.
    #[inline]
    pub fn free_bytes(&self) -> u16 {
        self.len.saturating_sub(self.tail)
    }

    /// Returns the bytes of object data, headers and padding excluded.
    pub fn live_bytes(&self) -> u16 {
        self.record_bytes
            .saturating_sub(self.objects.saturating_mul(HEADER))
            .saturating_sub(self.padding)
    }

    /// Returns the size of the largest record the frame surely has room for, header
    /// included: the free bytes after the tail or, if more, the largest hole minus the
    /// smallest hole ([`MIN_RECORD`]) that a record placed in it may leave.
    ///
    /// A record of exactly the size of a hole fits too, but does not count here.
    #[inline]
    pub fn capacity(&self) -> u16 {
        self.free_bytes()
            .max(self.largest_hole.saturating_sub(MIN_SIZE))
    }

    /// Returns `true` if a record of `size` bytes, header included, fits in the free bytes
    /// after the tail or in the largest hole ([`frame::hole_fits`]).
    ///
    /// Unlike [`Usage::capacity`] this is exact for the space after the tail and counts a
    /// largest hole of exactly `size` bytes. It misses only a smaller hole of exactly
    /// `size` bytes, which would take a walk over the records to find.
    #[inline]
    pub(super) fn has_room(&self, size: u16) -> bool {
        self.free_bytes() >= size || frame::hole_fits(self.largest_hole, size)
    }

    /// Returns the free-space class of the frame.
    pub(super) fn class(&self) -> usize {
        usize::from(self.class_index())
    }

    /// Returns the free-space class of the frame, as [`Packed`] caches it.
    #[inline]
    fn class_index(&self) -> u8 {
        // CAST: `class_of_free` is below `CLASSES`, which fits a `u8`.
        class_of_free(self.capacity()) as u8
    }
}

/// A frame of records and its bookkeeping.
///
/// The fields of its [`Usage`] are kept apart, with the length in pages, so that an entry
/// stays small (see [`FrameEntry`]).
pub(super) struct Packed<F> {
    pub(super) frame: F,
    /// [`Usage::tail`].
    tail: u16,
    /// [`Usage::record_bytes`].
    record_bytes: u16,
    /// [`Usage::objects`].
    objects: u16,
    /// [`Usage::largest_hole`].
    largest_hole: u16,
    /// [`Usage::padding`].
    padding: u16,
    /// The holes below the tail.
    pub(super) holes: HoleList,
    /// The last use and the idle mark. (The length in pages is the frame's: see
    /// [`Packed::pages`].)
    pub(super) used: Used,
    /// Set by compaction ([`Pool::compact_step`]) on frames it gave up emptying, until it
    /// finishes (or the next one begins, if it was abandoned); clear otherwise.
    pub(super) marked: bool,
    /// The free-space class of the frame, `usage().class()`, cached so that a change of
    /// usage computes only the new class and finds the bucket the frame is on.
    pub(super) class: u8,
    /// Links in the free-space bucket of `class`.
    pub(super) bucket: Links,
}

impl<F: AsRef<[u8]>> Packed<F> {
    /// Returns an empty packed frame of `frame`, used at `used`, on no bucket yet.
    pub(super) fn new(frame: F, used: Used) -> Self {
        let mut packed = Packed {
            frame,
            tail: 0,
            record_bytes: 0,
            objects: 0,
            largest_hole: 0,
            padding: 0,
            holes: HoleList::EMPTY,
            used,
            marked: false,
            class: 0,
            bucket: Links::UNLINKED,
        };
        // INVARIANT: the cached class is the usage's.
        packed.class = packed.usage().class_index();
        packed
    }

    /// Returns the length of the frame in pages, 1 to 8.
    ///
    /// It is the frame's, checked by [`Pool::add_frame`]: `as_ref` returns the same slice
    /// every time, and its length is in the frame's handle (a fat pointer's length, an
    /// allocation order), so this costs no access to the frame's memory.
    #[inline]
    pub(super) fn pages(&self) -> u8 {
        frame_pages(self.frame.as_ref().len()).unwrap_or(1)
    }

    /// Returns the usage of the frame.
    #[inline]
    pub(super) fn usage(&self) -> Usage {
        Usage {
            tail: self.tail,
            record_bytes: self.record_bytes,
            objects: self.objects,
            len: pages_len(self.pages()),
            largest_hole: self.largest_hole,
            padding: self.padding,
        }
    }

    /// Sets the usage of the frame; its length cannot change.
    ///
    /// The cached class is not updated: see [`Packed::apply_usage`].
    #[inline]
    fn set_usage(&mut self, usage: Usage) {
        self.tail = usage.tail;
        self.record_bytes = usage.record_bytes;
        self.objects = usage.objects;
        self.largest_hole = usage.largest_hole;
        self.padding = usage.padding;
    }

    /// Sets the usage of the frame to `new` (its length cannot change), moves its usage in
    /// `totals` from the old one to the new one, and returns the move between buckets that
    /// the pool must make if its class changed.
    #[inline]
    pub(super) fn apply_usage(&mut self, new: Usage, totals: &mut Totals) -> Option<Rebucket> {
        let old = self.usage();
        self.set_usage(new);
        let new = Usage {
            len: old.len,
            ..new
        };
        // INVARIANT: the totals follow the frame's usage.
        totals.replace(old, new);
        let class = new.class_index();
        if class == self.class {
            return None;
        }
        let from = self.class;
        // INVARIANT: the class is the usage's; the caller moves the frame to its bucket.
        self.class = class;
        Some(Rebucket {
            from,
            to: class,
            marked: self.marked,
        })
    }
}

/// A packed frame's move from the bucket of one class to that of another, returned by
/// [`Packed::apply_usage`] for [`Pool::rebucket`].
#[derive(Clone, Copy)]
pub(super) struct Rebucket {
    /// The class whose bucket the frame is on.
    pub(super) from: u8,
    /// The class whose bucket it goes to.
    pub(super) to: u8,
    /// Whether the frame is marked by compaction: it then goes last in its bucket.
    pub(super) marked: bool,
}

impl<F: AsRef<[u8]> + AsMut<[u8]>> Packed<F> {
    /// Returns the live record of `owner` that `object` names, checked against the header
    /// at `object.offset` in O(1) steps (see [`Pool::load`]).
    pub(super) fn live_record(&self, object: ObjectRef, owner: u32) -> Result<Record, PoolError> {
        let record = frame::read_record(self.frame.as_ref(), object.offset, self.tail)
            .ok_or(PoolError::BadRef)?;
        if record.is_free() || record.owner != owner || record.len != object.len {
            return Err(PoolError::BadRef);
        }
        Ok(record)
    }

    /// Writes a record for `owner` holding `data`, of `size` bytes with its header, into
    /// the hole that fits it best, else after the tail, and returns the record with the
    /// frame's usage afterwards.
    ///
    /// No other record moves. Only the frame's bytes and hole list change: the caller
    /// stores the usage with [`Pool::set_usage`]. Returns `None` if the frame has no room
    /// for the record, writing nothing.
    pub(super) fn place(&mut self, owner: u32, data: &[u8], size: u16) -> Option<(Record, Usage)> {
        let old = self.usage();
        let padding = size
            .saturating_sub(HEADER)
            .saturating_sub(u16::try_from(data.len()).ok()?);
        let filled = Usage {
            record_bytes: old.record_bytes.saturating_add(size),
            objects: old.objects.saturating_add(1),
            padding: old.padding.saturating_add(padding),
            ..old
        };
        // No hole smaller than the record can take it.
        if old.largest_hole >= size {
            if let Some((record, largest_hole)) = self.place_in_hole(owner, data, size) {
                let usage = Usage {
                    largest_hole,
                    ..filled
                };
                return Some((record, usage));
            }
        }
        let record = frame::write_record(self.frame.as_mut(), old.tail, owner, data)?;
        // INVARIANT: the new record ends at the tail, is live, and has a live record (or
        // the frame's start) before it.
        let usage = Usage {
            tail: record.end(),
            ..filled
        };
        Some((record, usage))
    }

    /// Writes a record for `owner` holding `data`, of `size` bytes, into the hole that fits
    /// it best and returns it with the frame's largest hole afterwards, or `None` if no
    /// hole fits.
    fn place_in_hole(&mut self, owner: u32, data: &[u8], size: u16) -> Option<(Record, u16)> {
        let scan = self.holes.best_fit(self.frame.as_ref(), self.tail, size);
        let hole = scan.best?;
        let bytes = self.frame.as_mut();
        // Off the list before the record overwrites the hole's links. The writes below
        // cannot fail: they lie within the hole, within the frame.
        self.holes.remove(bytes, hole.offset);
        let record = frame::write_record(bytes, hole.offset, owner, data)?;
        // `hole_fits`: nothing is left, or room for a hole at least.
        let rest = hole.size().saturating_sub(size);
        if rest > 0 {
            // INVARIANT: the rest is a hole on the list, between the new record and the
            // live record that already says it follows a hole.
            frame::write_hole(bytes, record.end(), rest)?;
            self.holes.push(bytes, record.end());
        } else {
            // INVARIANT: the live record after the hole (holes end below the tail) now
            // follows the new record.
            frame::set_prev_free(bytes, hole.end(), false);
        }
        // INVARIANT: the largest hole is the rest or another one.
        Some((record, scan.largest_other.max(rest)))
    }

    /// Turns the live `record` into a hole merged with the holes just before and after it,
    /// or drops the tail below it if it is the last record, and returns the frame's usage
    /// afterwards.
    ///
    /// This takes O(1) steps, except that dropping the tail below the largest hole walks
    /// the hole list. Returns `None`, changing nothing, if the record's neighbours are not
    /// what the frame's invariants say (a forged reference).
    pub(super) fn free_record(&mut self, record: Record) -> Option<Usage> {
        let old = self.usage();
        let bytes = self.frame.as_mut();
        // Both neighbours are read before anything is written.
        let before = if record.prev_free {
            Some(frame::hole_before(bytes, record.offset)?)
        } else {
            None
        };
        let after = if record.end() < old.tail {
            Some(frame::read_record(bytes, record.end(), old.tail)?)
        } else {
            None
        };
        // The header stays marked free even where a merged hole swallows it, so that a
        // stale reference to it is refused.
        frame::set_owner(bytes, record.offset, FREE_OWNER);
        let usage = Usage {
            record_bytes: old.record_bytes.saturating_sub(record.size()),
            objects: old.objects.saturating_sub(1),
            padding: old.padding.saturating_sub(record.padding()),
            ..old
        };
        Some(match after {
            Some(next) => self.merge_hole(record, before, next, usage),
            None => self.drop_tail(record, before, usage),
        })
    }

    /// Makes a hole of the freed `record` and the holes around it (`before`, and `next` if
    /// it is one), and returns `usage` with the frame's largest hole afterwards.
    fn merge_hole(
        &mut self,
        record: Record,
        before: Option<Record>,
        next: Record,
        usage: Usage,
    ) -> Usage {
        let bytes = self.frame.as_mut();
        let end = if next.is_free() {
            // Its footer becomes the merged hole's, and the live record after it already
            // says it follows a hole.
            self.holes.remove(bytes, next.offset);
            next.end()
        } else {
            frame::set_prev_free(bytes, next.offset, true);
            record.end()
        };
        let start = before.map_or(record.offset, |hole| hole.offset);
        let size = end.saturating_sub(start);
        // Never `None`: the hole lies within the tail, within the frame.
        frame::write_hole(bytes, start, size);
        if before.is_none() {
            self.holes.push(bytes, start);
        }
        // INVARIANT: the merged hole is on the list, has a live record (or the frame's
        // start) before it and a live record flagged after it; the holes it swallowed were
        // no larger than the largest.
        Usage {
            largest_hole: usage.largest_hole.max(size),
            ..usage
        }
    }

    /// Drops the tail below the freed last `record` and the hole `before` it, if any, and
    /// returns `usage` with the new tail and largest hole.
    fn drop_tail(&mut self, record: Record, before: Option<Record>, usage: Usage) -> Usage {
        let Some(hole) = before else {
            // INVARIANT: the record before, if any, is live.
            return Usage {
                tail: record.offset,
                ..usage
            };
        };
        let bytes = self.frame.as_mut();
        self.holes.remove(bytes, hole.offset);
        // INVARIANT: the record before the hole, if any, is live; if the hole was the
        // largest, the largest is found among those left.
        let largest_hole = if hole.size() < usage.largest_hole {
            usage.largest_hole
        } else {
            self.holes.largest(bytes, hole.offset)
        };
        Usage {
            tail: hole.offset,
            largest_hole,
            ..usage
        }
    }
}

/// Returns the size of the record for an object of `len` bytes, padding included.
#[inline]
pub(super) fn record_size(len: usize) -> Result<u16, PoolError> {
    if len == 0 || len > MAX_OBJECT {
        return Err(PoolError::BadLength);
    }
    u16::try_from(len)
        .map(frame::record_size)
        .map_err(|_| PoolError::BadLength)
}

impl<F, S> Pool<F, S>
where
    F: AsRef<[u8]> + AsMut<[u8]>,
    S: Table<FrameEntry<F>>,
{
    /// Returns an iterator over the live objects of the packed frame `id`, in frame order,
    /// as `(owner, reference)`.
    ///
    /// It yields nothing for any other frame. This does not count as a use of the frame.
    pub fn records(&self, id: FrameId) -> impl Iterator<Item = (u32, ObjectRef)> + '_ {
        packed(&self.table, id)
            .map(|packed| frame::records(packed.frame.as_ref(), packed.tail))
            .into_iter()
            .flatten()
            .filter(|record| !record.is_free())
            .map(move |record| {
                let object = ObjectRef {
                    frame: id,
                    offset: record.offset,
                    len: record.len,
                };
                (record.owner, object)
            })
    }

    /// Returns an iterator over the holes of the packed frame `id`, in the order of its
    /// hole list (no particular order).
    ///
    /// It yields nothing for any other frame. This is for statistics and checks; it does
    /// not count as a use of the frame.
    pub fn holes(&self, id: FrameId) -> impl Iterator<Item = Record> + '_ {
        packed(&self.table, id)
            .map(|packed| packed.holes.iter(packed.frame.as_ref(), packed.tail))
            .into_iter()
            .flatten()
    }
}
