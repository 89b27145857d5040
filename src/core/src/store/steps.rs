//! Work over the whole pool, in bounded steps: compaction, idle marking and the walk
//! writeback picks frames from.
//!
//! This is a child module of [`super`]: it adds these methods to [`Store`] and sees its
//! fields.
//!
//! See the [store documentation](super#work-in-bounded-steps) for how the module uses
//! them.

use super::super::backing::BlockEntry;
use super::super::pool::{CompactCursor, Compaction, IdleMarking};
use super::{
    relocate, Content, FrameEntry, FrameId, FrameState, State, Store, Table, WritebackMode,
};

/// Frames a step of compaction does, for [`Store::compact_step`]: each may copy a frame
/// (up to 32 KiB) and update the slots of its objects, so 8 keep a step within some tens
/// of microseconds.
pub const COMPACT_FRAMES_PER_STEP: u32 = 8;

/// Frames a step of idle marking looks at, for [`Store::mark_idle_step`]: O(1) each, a
/// few nanoseconds.
pub const IDLE_FRAMES_PER_STEP: u32 = 1024;

/// Frames a step of writeback's walk looks at, for [`Store::next_writeback_within`]: a
/// frame the mode does not take costs O(1), one it takes a look at the slots of its
/// records until one is resident.
pub const WRITEBACK_FRAMES_PER_STEP: u32 = 256;

/// What a step of writeback's walk ([`Store::next_writeback_within`]) found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextWriteback {
    /// Write this frame back next: it is taken by the mode and has a resident slot.
    Frame(FrameId),
    /// The walk has passed the warmest frame: no frame is left to write in this mode.
    NoneLeft,
    /// The step looked at its limit of frames and none was taken: call again, with the
    /// lock dropped in between if wanted, to go on.
    LimitReached,
}

impl<S, F, T, M, C> Store<S, F, T, M, C>
where
    S: Table<State<Content>>,
    F: AsRef<[u8]> + AsMut<[u8]>,
    T: Table<FrameEntry<F>>,
    M: Table<u64>,
    C: Table<BlockEntry>,
{
    /// Goes on with the compaction `cursor` stands in (a new cursor begins one), doing
    /// the work of `limit` frames at most (at least one; see [`Pool::compact_step`]), and
    /// returns whether it is finished. Objects that move have their slots updated
    /// (migrating ones too: their completions free the objects where they are then);
    /// frames emptied go to the reserve or are dropped.
    ///
    /// The pages of the frames each step empties count in
    /// [`ClassCounts::pages_compacted`](super::ClassCounts::pages_compacted) at once, and
    /// [`CompactCursor::stats`] adds up what the steps did. A compaction abandoned midway
    /// leaves marks on some frames, harmless, until the next compaction clears them.
    ///
    /// [`Pool::compact_step`]: super::super::pool::Pool::compact_step
    pub fn compact_step(&mut self, cursor: &mut CompactCursor, limit: u32) -> Compaction {
        let slots = &mut self.slots;
        let before = cursor.stats().pages_emptied;
        let done = self.pool.compact_step(cursor, limit, |owner, old, new| {
            relocate(slots, owner, old, new)
        });
        let emptied = cursor.stats().pages_emptied.saturating_sub(before);
        self.classes.pages_compacted = self.classes.pages_compacted.saturating_add(emptied);
        done
    }

    /// Sets the clock to `now_secs` and begins marking idle every packed and huge frame,
    /// or with `min_age_secs` only those not used for at least that long (zram's `idle`
    /// attribute, by frame rather than by slot: the frame is what is written back); a
    /// store into or load from a frame clears its mark. [`Store::mark_idle_step`] does
    /// the marking. A marking in progress is dropped (one is kept, by the pool). See
    /// [`Pool::start_mark_idle`](super::super::pool::Pool::start_mark_idle) for how ages
    /// are kept.
    pub fn start_mark_idle(&mut self, now_secs: u64, min_age_secs: Option<u64>) {
        self.pool.set_clock(now_secs);
        self.pool.start_mark_idle(min_age_secs);
    }

    /// Goes on with the idle marking [`Store::start_mark_idle`] began, looking at `limit`
    /// frames at most (at least one), O(1) steps each, and returns whether it is finished
    /// and how many frames it marked.
    ///
    /// Frames used (stored into or loaded from) between steps are not marked: they are
    /// not idle. Run to its end with nothing in between, it marks what a marking in one
    /// go would ([`Pool::mark_idle`](super::super::pool::Pool::mark_idle)). Two markings run at the same time share the pool's
    /// walk: the one begun last is the one done, and both see it finish.
    pub fn mark_idle_step(&mut self, limit: u32) -> IdleMarking {
        self.pool.mark_idle_step(limit)
    }

    /// Returns the next frame to write back in `mode`: walking the LRU list from the
    /// coldest frame, or from the frame after `after` if it is still held (else from the
    /// coldest again), the first packed or huge frame that `mode` takes and that has a
    /// resident slot to write. Reserve frames are never written. [`WritebackMode::Page`]
    /// gives the frame of its slot if the slot is resident, and only when `after` is
    /// `None`.
    ///
    /// The module loops: under its lock, pick a frame and begin its writeback; submit the
    /// write; call again with `after` the frame just begun. A frame begun has no resident
    /// slot left, so it is not picked again unless stored into meanwhile. Each call walks
    /// the LRU list up to the frame it picks, all of it if none: under a lock that must be
    /// held briefly, use [`Store::next_writeback_within`].
    pub fn next_writeback_after(
        &self,
        mode: WritebackMode,
        after: Option<FrameId>,
    ) -> Option<FrameId> {
        if let WritebackMode::Page(index) = mode {
            if after.is_some() {
                return None;
            }
            return self.resident_frame(index);
        }
        let mut next = match after {
            Some(id) if self.pool.frame(id).is_some() => self.pool.next_warmer(id),
            _ => self.pool.coldest(),
        };
        // Bounded by the frames the pool can hold, should the list be corrupted.
        let mut steps = self.pool.capacity();
        while let (Some(id), Some(left)) = (next, steps.checked_sub(1)) {
            steps = left;
            if self.takes(mode, id) && self.has_resident(id) {
                return Some(id);
            }
            next = self.pool.next_warmer(id);
        }
        None
    }

    /// Starts writeback's walk again at the coldest frame: call it when a writeback run
    /// begins, then [`Store::next_writeback_within`].
    pub fn rewind_writeback(&mut self) {
        self.pool.rewind_writeback_walk();
    }

    /// Goes on with writeback's walk, looking at `limit` frames at most (at least one),
    /// and returns the next frame to write back in `mode`: from the coldest frame to the
    /// warmest, the first packed or huge frame that `mode` takes and that has a resident
    /// slot to write. [`WritebackMode::Page`] gives the frame of its slot if the slot is
    /// resident, at each call, without walking: ask once per page.
    ///
    /// The module loops: under its lock, [`Store::rewind_writeback`] when the run begins;
    /// then pick a frame with this and begin its writeback, or on
    /// [`NextWriteback::LimitReached`] just drop the lock; submit the writes; call again.
    /// The walk is the pool's and moves on by itself: a frame picked is walked past (and
    /// has no resident slot left once begun), and the frames used or freed between calls
    /// never leave it stranded (see
    /// [`Pool::next_in_writeback_walk`](super::super::pool::Pool::next_in_writeback_walk)).
    /// With nothing in between, the calls pick the frames [`Store::next_writeback`] picks
    /// when given the frame picked last.
    pub fn next_writeback_within(&mut self, mode: WritebackMode, limit: u32) -> NextWriteback {
        if let WritebackMode::Page(index) = mode {
            return self
                .resident_frame(index)
                .map_or(NextWriteback::NoneLeft, NextWriteback::Frame);
        }
        for _ in 0..limit.max(1) {
            let Some(id) = self.pool.next_in_writeback_walk() else {
                return NextWriteback::NoneLeft;
            };
            if self.takes(mode, id) && self.has_resident(id) {
                return NextWriteback::Frame(id);
            }
        }
        NextWriteback::LimitReached
    }

    /// Returns the frame of slot `index` if the slot holds it resident.
    fn resident_frame(&self, index: u64) -> Option<FrameId> {
        match self.slots.state(index).ok()? {
            State::Resident(Content::Packed(object)) => Some(object.frame),
            State::Resident(Content::Huge(id)) => Some(id),
            _ => None,
        }
    }

    /// Returns `true` if writeback in `mode` takes the packed or huge frame `id`.
    fn takes(&self, mode: WritebackMode, id: FrameId) -> bool {
        let huge = || matches!(self.pool.frame_state(id), Some(FrameState::Huge { .. }));
        match mode {
            WritebackMode::All => true,
            WritebackMode::Huge | WritebackMode::Incompressible => huge(),
            WritebackMode::Idle => self.pool.is_idle(id),
            WritebackMode::HugeIdle => huge() && self.pool.is_idle(id),
            WritebackMode::Page(_) => false,
        }
    }

    /// Returns `true` if a slot holds an object of frame `id` resident: what
    /// [`Store::begin_writeback`] would begin.
    fn has_resident(&self, id: FrameId) -> bool {
        let holds = |owner: u32, content: Content| matches!(self.slots.state(u64::from(owner)), Ok(State::Resident(c)) if c == content);
        match self.pool.frame_state(id) {
            Some(FrameState::Huge { owner }) => holds(owner, Content::Huge(id)),
            Some(FrameState::Packed(_)) => self
                .pool
                .records(id)
                .any(|(owner, object)| holds(owner, Content::Packed(object))),
            _ => false,
        }
    }
}
