//! Walks over the LRU list done in steps: idle marking ([`Pool::mark_idle_step`]) and
//! the walk writeback picks frames from ([`Pool::next_in_writeback_walk`]).
//!
//! This is a child module of [`super`]: it adds these methods to [`Pool`] and sees its
//! fields.
//!
//! The caller holds a spinlock, so a walk over a large pool is done a bounded number of
//! frames at a time, with the lock dropped in between. Meanwhile frames are used (they
//! move to the hot end of the list), freed (they leave it) and added (at the hot end).
//! The place where a walk stands is therefore kept by the pool, not by the caller: when
//! the frame a walk would look at next is used or leaves the list, the pool first moves
//! the walk on to that frame's neighbour in the walk's direction ([`Pool::leave_walks`],
//! O(1) steps on every use and free). A walk so never stands on a frame that moved, and:
//!
//! - the idle walk, from the hottest frame to the coldest, never looks at a frame used
//!   after it began: such a frame went to the hot end, behind it (it is used, so not
//!   idle, and its use cleared any mark the walk had set);
//! - the writeback walk, from the coldest frame to the warmest, looks at every frame that
//!   stays where it was once, in order, and at frames used or added meanwhile when it
//!   reaches the hot end, as a walk in one go would have looked at them had they been
//!   there.

use super::lru::used_mut;
use super::Table;
use super::{entry_mut, FrameEntry, FrameId, Pool, Used};

/// What a step of idle marking ([`Pool::mark_idle_step`]) did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdleMarking {
    /// The walk reached the coldest frame (or none was begun): it marked this many frames
    /// in all.
    Finished {
        /// Frames the walk marked idle.
        marked: u32,
    },
    /// The step looked at its limit of frames: call again, with the lock dropped in
    /// between if wanted, to go on.
    LimitReached,
}

/// Where idle marking stands, kept by the pool (see the [pool
/// documentation](super#least-recently-used-order)).
///
/// # Invariants
///
/// `next` is `None` or a frame on the LRU list. `age` is the age in whole minutes, by the
/// clock when the walk began, of the frame looked at last (before the first, of the last
/// use of any frame), whose stamp is `newer`; `idle` says whether it was old enough.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct IdleWalk {
    /// The frame to look at next; `None` once the walk is over.
    next: Option<FrameId>,
    min_age_secs: Option<u64>,
    age: u64,
    newer: u16,
    idle: bool,
    /// Frames marked so far.
    marked: u32,
    /// Frames the walk may still look at: those on the list when it began, which bounds
    /// it should the list be corrupted.
    left: u32,
}

impl IdleWalk {
    /// Returns `true` if a frame `age` minutes old is surely old enough.
    fn old_enough(&self, age: u64) -> bool {
        self.min_age_secs
            .is_none_or(|min| age.saturating_sub(1).saturating_mul(60) >= min)
    }
}

impl<F, S> Pool<F, S>
where
    F: AsRef<[u8]> + AsMut<[u8]>,
    S: Table<FrameEntry<F>>,
{
    /// Marks idle the packed and huge frames not used for at least `min_age_secs` seconds
    /// by the clock, or all of them for `None`, and returns how many frames it marked. A
    /// store into or load from a frame clears its mark; nothing else does.
    ///
    /// This is [`Pool::start_mark_idle`] and [`Pool::mark_idle_step`] until the walk is
    /// finished, in one go: it takes time in proportion to the frames of the pool. Under a
    /// lock that must be held briefly, use the steps.
    pub fn mark_idle(&mut self, min_age_secs: Option<u64>) -> u32 {
        self.start_mark_idle(min_age_secs);
        loop {
            if let IdleMarking::Finished { marked } = self.mark_idle_step(u32::MAX) {
                return marked;
            }
        }
    }

    /// Begins marking idle the packed and huge frames not used for at least
    /// `min_age_secs` seconds by the clock, or all of them for `None`; a walk in progress
    /// is dropped. [`Pool::mark_idle_step`] does the marking.
    ///
    /// Frames are used in LRU order, so their ages grow from the hottest to the coldest
    /// frame: the walk goes that way, adding up the differences between the minutes of
    /// neighbours (modulo [`super::USED_PERIOD`]) from the last use of any frame, and
    /// marks every frame from the first that is old enough. Ages are so exact to the
    /// minute while no two frames next to each other in the LRU order were last used
    /// [`super::USED_PERIOD`] minutes (22 days) or more apart; if some were, the colder one
    /// may look younger than it is, never older. A frame counts as old enough only if it
    /// surely is: its age in whole minutes, less one, is at least `min_age_secs`. `Some(0)`
    /// marks every frame. Ages are taken by the clock as it is now: a walk done in steps
    /// over minutes sees frames as younger than they are by then, never older.
    pub fn start_mark_idle(&mut self, min_age_secs: Option<u64>) {
        let mut walk = IdleWalk {
            next: self.lru.back(),
            min_age_secs,
            age: (self.clock / 60).saturating_sub(self.last_use / 60),
            newer: Used::at(self.last_use / 60).minute(),
            idle: false,
            marked: 0,
            left: self.lru.len(),
        };
        walk.idle = walk.old_enough(walk.age);
        // INVARIANT: the hottest frame, and the age of the last use.
        self.idle_walk = walk;
    }

    /// Goes on with the idle marking [`Pool::start_mark_idle`] began, looking at `limit`
    /// frames at most (at least one), and returns whether it is finished.
    ///
    /// Frames used between steps are not marked (see the [pool
    /// documentation](super#least-recently-used-order)). Each frame looked at takes O(1)
    /// steps.
    pub fn mark_idle_step(&mut self, limit: u32) -> IdleMarking {
        let entries = &mut self.table;
        let walk = &mut self.idle_walk;
        for _ in 0..limit.max(1) {
            let (Some(id), Some(left)) = (walk.next, walk.left.checked_sub(1)) else {
                break;
            };
            walk.left = left;
            // INVARIANT: the next frame is on the list, or there is none.
            walk.next = self.lru.prev(entries, id);
            let Some(used) = entry_mut(entries, id).and_then(used_mut) else {
                continue;
            };
            if !walk.idle {
                // The age grows by the minutes between this frame's use and the newer one's.
                let gap = walk.newer.wrapping_sub(used.minute()) & !Used::IDLE;
                walk.age = walk.age.saturating_add(u64::from(gap));
                walk.newer = used.minute();
                walk.idle = walk.old_enough(walk.age);
            }
            if walk.idle {
                *used = used.idle();
                walk.marked = walk.marked.saturating_add(1);
            }
        }
        if walk.next.is_some() && walk.left > 0 {
            return IdleMarking::LimitReached;
        }
        walk.next = None;
        IdleMarking::Finished {
            marked: walk.marked,
        }
    }

    /// Starts the writeback walk again at the coldest frame (see
    /// [`Pool::next_in_writeback_walk`]).
    pub fn rewind_writeback_walk(&mut self) {
        // INVARIANT: a frame on the list, or none.
        self.writeback_walk = self.lru.front();
    }

    /// Returns the frame the writeback walk stands on and moves the walk on to the next
    /// warmer frame, or returns `None` once the walk has passed the warmest frame.
    ///
    /// The walk goes from the coldest frame ([`Pool::rewind_writeback_walk`]) to the
    /// warmest, one frame a call in O(1) steps, and stays valid between calls whatever
    /// happens to the frames (see the [pool
    /// documentation](super#least-recently-used-order)). One walk is kept: the caller runs
    /// one writeback at a time.
    pub fn next_in_writeback_walk(&mut self) -> Option<FrameId> {
        let id = self.writeback_walk?;
        // INVARIANT: the next frame is on the list, or there is none.
        self.writeback_walk = self.lru.next(&self.table, id);
        Some(id)
    }

    /// Moves the walks off the frame `id` before it is used (`moves`: it goes to the hot
    /// end of the list unless it is there already) or leaves the list (`moves` too): each
    /// walk that would look at it next goes on to its neighbour in the walk's direction.
    ///
    /// The idle walk also skips a used frame that does not move (the hottest): it is no
    /// longer idle. The writeback walk looks at it as it would have.
    pub(super) fn leave_walks(&mut self, id: FrameId, moves: bool) {
        let entries = &self.table;
        if self.idle_walk.next == Some(id) {
            // INVARIANT: the colder neighbour is on the list, or there is none.
            self.idle_walk.next = self.lru.prev(entries, id);
        }
        if moves && self.writeback_walk == Some(id) {
            // INVARIANT: the warmer neighbour is on the list, or there is none.
            self.writeback_walk = self.lru.next(entries, id);
        }
    }
}
