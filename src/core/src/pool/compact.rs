//! Compaction of the pool: [`Pool::compact_frame`], and [`Pool::compact_step`] (with
//! [`Pool::compact`], its steps in one go).
//!
//! This is a child module of [`super`]: it adds these methods to [`Pool`] and sees its
//! fields.
//!
//! Compaction has two steps. In place, a frame's live records slide down over its holes
//! (`copy_within`), which costs one pass over the frame. Across frames, the sparsest frame
//! is emptied into the others when all its records fit there, each record placed as a
//! store places it when it finds no near fit (best sure-fit frame, then best-fit hole or
//! the tail): before anything moves, a simulation on the free-space classes of the other
//! frames checks that the placement succeeds for every record, so a frame is emptied
//! entirely or not touched. Compaction takes no near fit: the simulation knows only
//! classes, not which frames of the class below a record's have room, and a near fit
//! could leave a frame with less room than the simulation counts on. Frames that fail the
//! check are marked (and kept last in their bucket, so the next sparsest unmarked frame is
//! found in O(classes)); each round empties or marks one frame, so the rounds are bounded
//! by the number of packed frames.
//!
//! # In steps
//!
//! The caller holds a spinlock, so a compaction is done a bounded amount of work at a
//! time ([`Pool::compact_step`]), the lock dropped in between, and a [`CompactCursor`]
//! says where it stands. It goes through three phases, each unit of work one frame:
//!
//! 1. in place: the table entries in order, each packed frame compacted in place (and
//!    any compaction mark it still has cleared, see below);
//! 2. emptying: rounds as above, at most as many as there were packed frames when the
//!    phase began;
//! 3. unmarking: the table entries in order, each frame's mark cleared.
//!
//! Between steps anything may happen to the frames, and each phase stays right: the first
//! and last walk table entries, which do not move (a frame freed is simply not found, a
//! frame added behind the walk is left for the next compaction); the second picks the
//! sparsest unmarked frame anew each round, and a mark lives in its frame (a frame freed
//! takes its mark with it). A frame emptied by the second phase is retired before the
//! step returns. Marks are what a compaction abandoned midway leaves behind: a marked
//! frame sits last in its bucket, so stores prefer the other frames of its class (no
//! invariant depends on it), until the first phase of the next compaction clears the
//! mark.

use super::classes::{class_bit, class_floor, class_for, class_of_free, lowest_at_least};
use super::frame::{self, HoleList, Record, FREE_OWNER};
use super::{
    entry_mut, packed, packed_mut, packed_pair_mut, CompactStats, EntryState, FrameEntry, FrameId,
    List, ObjectRef, Pool, PoolError, Table, Usage, CLASSES, CLASS_WIDTH, PAGE_SIZE,
};

/// Slides the live records of frame `id` below `tail` down over the holes, reporting each
/// record that moves, and returns the new tail.
///
/// Records below the first hole stay where they are: only their headers are read. No
/// record has a hole before it afterwards: the flags that said so are cleared.
fn slide_down(
    page: &mut [u8],
    id: FrameId,
    tail: u16,
    relocated: &mut impl FnMut(u32, ObjectRef, ObjectRef),
) -> u16 {
    let tail = tail.min(u16::try_from(page.len()).unwrap_or(u16::MAX));
    let mut pos: u16 = 0;
    let mut dst: u16 = 0;
    while pos < tail {
        let Some(record) = frame::read_record(page, pos, tail) else {
            // Unreachable: the records of a packed frame tile `[0, tail)`. Keep the rest
            // of the frame as it is. `dst <= pos < tail <= page.len()`: cannot panic.
            page.copy_within(usize::from(pos)..usize::from(tail), usize::from(dst));
            return dst.saturating_add(tail.saturating_sub(pos));
        };
        pos = record.end();
        if record.is_free() {
            continue;
        }
        if record.prev_free {
            // Before the copy below, which takes the header along: no hole stays before it.
            frame::set_prev_free(page, record.offset, false);
        }
        if dst != record.offset {
            // `dst < record.offset < record.end() <= tail <= page.len()`: cannot panic.
            page.copy_within(
                usize::from(record.offset)..usize::from(record.end()),
                usize::from(dst),
            );
            let old = ObjectRef {
                frame: id,
                offset: record.offset,
                len: record.len,
            };
            relocated(record.owner, old, ObjectRef { offset: dst, ..old });
        }
        dst = dst.saturating_add(record.size());
    }
    dst
}

impl<F, S> Pool<F, S>
where
    F: AsRef<[u8]> + AsMut<[u8]>,
    S: Table<FrameEntry<F>>,
{
    /// Slides the live records of frame `id` down over its holes and returns the bytes
    /// reclaimed.
    ///
    /// Each object that moves is reported once to `relocated(owner, old, new)`, in frame
    /// order; `old` is no longer valid afterwards. The frame's place in the LRU order does
    /// not change. A frame without holes, or a huge frame, is left alone and 0 returned.
    ///
    /// # Errors
    ///
    /// [`PoolError::BadRef`] unless `id` is a packed or huge frame.
    pub fn compact_frame(
        &mut self,
        id: FrameId,
        mut relocated: impl FnMut(u32, ObjectRef, ObjectRef),
    ) -> Result<u16, PoolError> {
        let slot = entry_mut(&mut self.table, id).ok_or(PoolError::BadRef)?;
        let packed = match &mut slot.state {
            EntryState::Packed(packed) => packed,
            EntryState::Huge { .. } => return Ok(0),
            _ => return Err(PoolError::BadRef),
        };
        let usage = packed.usage();
        if usage.hole_bytes() == 0 {
            return Ok(0);
        }
        let tail = slide_down(packed.frame.as_mut(), id, usage.tail, &mut relocated);
        // INVARIANT: the live records now tile `[0, tail)`, without holes or flags saying
        // that a hole is before them.
        packed.holes = HoleList::EMPTY;
        self.set_usage(
            id,
            Usage {
                tail,
                largest_hole: 0,
                ..usage
            },
        );
        Ok(usage.tail.saturating_sub(tail))
    }

    /// Compacts the pool and returns what was done: [`Pool::compact_step`] until the
    /// compaction is finished, in one go.
    ///
    /// This takes time in proportion to the records of the pool, under the caller's lock:
    /// under a lock that must be held briefly, use the steps.
    pub fn compact(
        &mut self,
        mut relocated: impl FnMut(u32, ObjectRef, ObjectRef),
    ) -> CompactStats {
        let mut cursor = CompactCursor::new();
        while self.compact_step(&mut cursor, u32::MAX, &mut relocated) == Compaction::LimitReached {
        }
        cursor.stats()
    }

    /// Goes on with the compaction `cursor` stands in, doing the work of `limit` frames at
    /// most (at least one), and returns whether it is finished.
    ///
    /// First every frame is compacted in place ([`Pool::compact_frame`]). Then, sparsest
    /// first, each packed frame whose records all fit in other packed frames (checked
    /// before anything moves) is emptied into them, each record going to the best sure fit
    /// (never a near fit; see the [pool documentation](super#allocation)); the emptied
    /// frame goes to the reserve or is dropped. No frame is taken from the reserve and
    /// none is added. Every move is reported to `relocated(owner, old, new)` as it happens;
    /// an object may move more than once, each move reported once. The LRU order does not
    /// change. Anything may happen between steps (see the [pool
    /// documentation](super#compaction) and `pool/compact.rs`).
    ///
    /// A unit of work is a table entry looked at, with the in-place compaction of its
    /// frame (copying at most the frame, [`MAX_FRAME_SIZE`](super::MAX_FRAME_SIZE) bytes),
    /// or a round of emptying (copying at most the records of one frame). A compaction
    /// run to its end without interference does what a compaction in one go does, and
    /// [`CompactCursor::stats`] adds up what its steps did.
    pub fn compact_step(
        &mut self,
        cursor: &mut CompactCursor,
        limit: u32,
        mut relocated: impl FnMut(u32, ObjectRef, ObjectRef),
    ) -> Compaction {
        let mut left = limit.max(1);
        let stats = &mut cursor.stats;
        let mut report = |owner, old, new: ObjectRef| {
            stats.objects_moved = stats.objects_moved.saturating_add(1);
            let size = frame::record_size(new.len);
            stats.bytes_moved = stats.bytes_moved.saturating_add(u64::from(size));
            relocated(owner, old, new);
        };
        loop {
            // Moving to the next phase is no work; only what a phase does counts.
            let ended = match cursor.phase {
                Phase::InPlace { next } if next >= self.fresh => Some(Phase::Emptying {
                    rounds: self.packed_frames,
                }),
                Phase::Emptying { rounds } if rounds == 0 || self.sparsest_unmarked().is_none() => {
                    Some(Phase::Unmarking { next: 0 })
                }
                Phase::Unmarking { next } if next >= self.fresh => Some(Phase::Finished),
                Phase::Finished => return Compaction::Finished,
                _ => None,
            };
            if let Some(phase) = ended {
                cursor.phase = phase;
                continue;
            }
            let Some(rest) = left.checked_sub(1) else {
                return Compaction::LimitReached;
            };
            left = rest;
            cursor.phase = match cursor.phase {
                Phase::InPlace { next } => {
                    self.unmark(next);
                    if let Ok(reclaimed @ 1..) = self.compact_frame(next, &mut report) {
                        stats.frames_compacted = stats.frames_compacted.saturating_add(1);
                        stats.hole_bytes_reclaimed = stats
                            .hole_bytes_reclaimed
                            .saturating_add(u64::from(reclaimed));
                    }
                    Phase::InPlace {
                        next: next.saturating_add(1),
                    }
                }
                Phase::Emptying { rounds } => {
                    if let Some(pages) = self.empty_round(&mut report) {
                        stats.frames_emptied = stats.frames_emptied.saturating_add(1);
                        stats.pages_emptied = stats.pages_emptied.saturating_add(pages);
                    }
                    Phase::Emptying {
                        rounds: rounds.saturating_sub(1),
                    }
                }
                Phase::Unmarking { next } => {
                    self.unmark(next);
                    Phase::Unmarking {
                        next: next.saturating_add(1),
                    }
                }
                // Unreachable: returned above.
                Phase::Finished => Phase::Finished,
            };
        }
    }

    /// Does a round of emptying: the sparsest unmarked packed frame is emptied into the
    /// others if all its records fit there, and marked otherwise. Returns the pages of the
    /// frame emptied, if one was.
    fn empty_round(&mut self, report: &mut impl FnMut(u32, ObjectRef, ObjectRef)) -> Option<u64> {
        let source = self.sparsest_unmarked()?;
        if !self.can_empty(source) {
            self.mark(source);
            return None;
        }
        if !self.empty_into_others(source, report) {
            // Unreachable (see `can_empty`). Keep what is left, without holes.
            let _ = self.compact_frame(source, report);
            self.mark(source);
            return None;
        }
        let pages = self.frame_pages_of(source);
        self.retire(source);
        Some(pages)
    }

    /// Returns the length in pages of the packed frame `id`, or 0.
    fn frame_pages_of(&self, id: FrameId) -> u64 {
        packed(&self.table, id).map_or(0, |packed| u64::from(packed.pages()))
    }

    /// Returns the unmarked packed frame with the most free space.
    fn sparsest_unmarked(&self) -> Option<FrameId> {
        let entries = &self.table;
        let mut mask = self.nonempty;
        while mask != 0 {
            // CAST: the highest bit of a non-zero `u128` is below 128.
            let class = (u128::BITS - 1 - mask.leading_zeros()) as usize;
            mask &= !class_bit(class);
            let front = self.buckets.get(class).and_then(List::front);
            if let Some(id) = front {
                // Marked frames come last in a bucket: an unmarked one would be first.
                if packed(entries, id).is_some_and(|packed| !packed.marked) {
                    return Some(id);
                }
            }
        }
        None
    }

    /// Returns `true` if every live record of the packed frame `source` would find room in
    /// the other packed frames, placed one by one in the best sure fit.
    ///
    /// This simulates the placement on the classes of the other frames: a frame of class
    /// `c` has a capacity of at least `class_floor(c)` bytes, and after taking a record
    /// that needs class `k` (at most `64 * k` bytes) it is at least in the class of
    /// `class_floor(c) - 64 * k` bytes. The real placement keeps each frame at or above its
    /// simulated class, so it succeeds whenever the simulation does: a record of `r` bytes
    /// lowers a frame's capacity by `r` at most, whether it goes after the tail (only when
    /// no hole fits it, so the capacity was the free space after the tail) or into a hole
    /// (which leaves `H - r` of it, and every other hole as it was). Each frame's own length
    /// counts: large frames sit in classes up to their capacity.
    fn can_empty(&self, source: FrameId) -> bool {
        let Some(packed) = packed(&self.table, source) else {
            return false;
        };
        let usage = packed.usage();
        // Quick refusal: not enough bytes outside live records (free space after the tails
        // and holes) in all other frames together.
        // CAST: `PAGE_SIZE` is 4096, which fits a `u64`.
        let others_free = self
            .packed_pages
            .saturating_mul(PAGE_SIZE as u64)
            .saturating_sub(self.totals.record_bytes)
            .saturating_sub(u64::from(usage.len.saturating_sub(usage.record_bytes)));
        if u64::from(usage.record_bytes) > others_free {
            return false;
        }
        let mut counts = [0u32; CLASSES];
        for (count, bucket) in counts.iter_mut().zip(&self.buckets) {
            *count = bucket.len();
        }
        let mut mask = self.nonempty;
        take_class(&mut counts, &mut mask, usage.class());
        let tail = usage.tail;
        for record in frame::records(packed.frame.as_ref(), tail).filter(|r| !r.is_free()) {
            let need = class_for(record.size());
            let Some(class) = lowest_at_least(mask, need) else {
                return false;
            };
            take_class(&mut counts, &mut mask, class);
            let need_bytes = u16::try_from(need)
                .ok()
                .and_then(|need| need.checked_mul(CLASS_WIDTH))
                .unwrap_or(u16::MAX);
            let left = class_floor(class).saturating_sub(need_bytes);
            put_class(&mut counts, &mut mask, class_of_free(left));
        }
        true
    }

    /// Moves every live record of the packed frame `source` to the best sure fit among the
    /// other packed frames, reporting each move. Returns `true` if the frame is empty now.
    fn empty_into_others(
        &mut self,
        source: FrameId,
        relocated: &mut impl FnMut(u32, ObjectRef, ObjectRef),
    ) -> bool {
        let Some(tail) = self.usage(source).map(|usage| usage.tail) else {
            return false;
        };
        let mut pos = 0;
        while pos < tail {
            let record = packed(&self.table, source)
                .and_then(|packed| frame::read_record(packed.frame.as_ref(), pos, tail));
            let Some(record) = record else {
                return false;
            };
            pos = record.end();
            if record.is_free() {
                continue;
            }
            let Some(target) = self.find_sure_fit(record.size(), Some(source)) else {
                return false;
            };
            let Some(new) = self.move_record(source, record, target) else {
                return false;
            };
            let old = ObjectRef {
                frame: source,
                offset: record.offset,
                len: record.len,
            };
            relocated(record.owner, old, new);
        }
        self.usage(source).is_some_and(|usage| usage.objects == 0)
    }

    /// Moves the live `record` of the packed frame `source` to the packed frame `target`,
    /// which must have room, placed like a store places it, and returns its new place.
    ///
    /// The old record becomes a hole, not merged with its neighbours, and the source's tail
    /// and recorded largest hole stay as they were, so its class and bucket do not change:
    /// the source is being emptied, and is retired once empty (or compacted in place if
    /// that ever fails, see [`Pool::compact`]), before the pool's invariants are relied on
    /// again.
    fn move_record(
        &mut self,
        source: FrameId,
        record: Record,
        target: FrameId,
    ) -> Option<ObjectRef> {
        let (from, to) = packed_pair_mut(&mut self.table, source, target)?;
        let from_old = from.usage();
        let data = from.frame.as_ref().get(record.data_range())?;
        let (written, to_usage) = to.place(record.owner, data, record.size())?;
        frame::set_owner(from.frame.as_mut(), record.offset, FREE_OWNER);
        let from_usage = Usage {
            record_bytes: from_old.record_bytes.saturating_sub(record.size()),
            objects: from_old.objects.saturating_sub(1),
            padding: from_old.padding.saturating_sub(record.padding()),
            ..from_old
        };
        self.set_usage(target, to_usage);
        self.set_usage(source, from_usage);
        Some(ObjectRef {
            frame: target,
            offset: written.offset,
            len: written.len,
        })
    }

    /// Marks the packed frame `id` as given up by compaction, moving it to the end of its
    /// bucket.
    fn mark(&mut self, id: FrameId) {
        self.bucket_remove(id);
        if let Some(packed) = packed_mut(&mut self.table, id) {
            packed.marked = true;
        }
        self.bucket_insert(id);
    }

    /// Clears the compaction mark of the packed frame `id`, if it has one, moving it to
    /// the front of its bucket, among the frames without.
    fn unmark(&mut self, id: FrameId) {
        if !packed(&self.table, id).is_some_and(|packed| packed.marked) {
            return;
        }
        self.bucket_remove(id);
        if let Some(packed) = packed_mut(&mut self.table, id) {
            // INVARIANT: unmarked, the frame goes first in its bucket.
            packed.marked = false;
        }
        self.bucket_insert(id);
    }

    /// Returns `true` if the packed frame `id` has a compaction mark: compaction gave up
    /// emptying it and has not finished (see the [pool documentation](super#compaction)).
    /// This is for checks.
    pub fn is_marked(&self, id: FrameId) -> bool {
        packed(&self.table, id).is_some_and(|packed| packed.marked)
    }
}

/// Where a compaction done in steps ([`Pool::compact_step`]) stands, and what it did so
/// far.
///
/// A new cursor starts a compaction; one that is finished stays finished. Cursors of
/// compactions run at the same time do not disturb each other's correctness, only their
/// thoroughness (one clears marks the other set).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompactCursor {
    phase: Phase,
    stats: CompactStats,
}

impl CompactCursor {
    /// A cursor at the start of a compaction.
    pub const fn new() -> Self {
        CompactCursor {
            phase: Phase::InPlace { next: 0 },
            stats: CompactStats {
                frames_compacted: 0,
                hole_bytes_reclaimed: 0,
                objects_moved: 0,
                bytes_moved: 0,
                frames_emptied: 0,
                pages_emptied: 0,
            },
        }
    }

    /// What the steps so far did, added up.
    pub fn stats(&self) -> CompactStats {
        self.stats
    }

    /// Returns `true` once the compaction is finished.
    pub fn is_finished(&self) -> bool {
        self.phase == Phase::Finished
    }
}

/// A phase of a compaction done in steps (see the [pool documentation](super#compaction)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Compacting frames in place, from the table entry `next` on.
    InPlace {
        next: FrameId,
    },
    /// Emptying the sparsest frames into the others, for `rounds` more rounds at most.
    Emptying {
        rounds: u32,
    },
    /// Clearing marks, from the table entry `next` on.
    Unmarking {
        next: FrameId,
    },
    Finished,
}

impl Default for Phase {
    fn default() -> Self {
        Phase::InPlace { next: 0 }
    }
}

/// What a step of compaction ([`Pool::compact_step`]) left to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compaction {
    /// The compaction is finished: no frame is marked by it, and its cursor's statistics
    /// are the totals.
    Finished,
    /// The step did its limit of work: call again, with the lock dropped in between if
    /// wanted, to go on.
    LimitReached,
}

/// Counts one frame fewer in `class` of a simulated set of buckets.
fn take_class(counts: &mut [u32; CLASSES], mask: &mut u128, class: usize) {
    if let Some(count) = counts.get_mut(class) {
        *count = count.saturating_sub(1);
        if *count == 0 {
            *mask &= !class_bit(class);
        }
    }
}

/// Counts one frame more in `class` of a simulated set of buckets.
fn put_class(counts: &mut [u32; CLASSES], mask: &mut u128, class: usize) {
    if let Some(count) = counts.get_mut(class) {
        *count = count.saturating_add(1);
        *mask |= class_bit(class);
    }
}
