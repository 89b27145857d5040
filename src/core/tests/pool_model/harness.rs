//! The model of the pool, and how each operation runs on the pool and on the model.

use crate::common::frames::{valid_len, SharedRegistry, TestFrame, TestPool};
use crate::common::pool::{content, table};
use crate::common::{best_hole, class, padded_size};
use crate::ops::Op;
use crate::steps::{IdleModel, WalkModel};
use ghostswap_core::frame::{
    records, Page, Record, FREE_OWNER, HEADER_LEN, MAX_FRAME_SIZE, MIN_RECORD,
};
use ghostswap_core::pool::{
    CompactCursor, Compaction, FrameId, FrameState, ObjectRef, Pool, PoolError, PoolStats, Usage,
    NEAR_FIT_TRIES,
};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Packed(ObjectRef),
    Huge(FrameId),
}

/// A live record as a sortable key: owner, frame, offset, length.
pub type Key = (u32, u32, u16, u16);

pub fn key(owner: u32, r: ObjectRef) -> Key {
    (owner, r.frame, r.offset, r.len)
}

pub struct Harness {
    pub pool: TestPool,
    pub capacity: u32,
    pub registry: SharedRegistry,
    /// Owner to content.
    pub model: BTreeMap<u32, Vec<u8>>,
    /// Owner to where the slot says the object is.
    pub slots: BTreeMap<u32, Slot>,
    /// Packed and huge frames, coldest first.
    pub lru: Vec<FrameId>,
    /// The page limit.
    pub limit: Option<u64>,
    /// Recent references that were freed or moved away from, with their owners.
    stale: Vec<(u32, ObjectRef)>,
    /// How often each path of the frame layout was taken.
    pub paths: Paths,
    /// The compaction done in steps, if one is unfinished, and the moves and bytes its
    /// steps reported.
    pub compaction: Option<(CompactCursor, u64, u64)>,
    /// A compaction was abandoned since the last one finished: its marks may remain.
    pub abandoned: bool,
    /// The clock set on the pool, in seconds.
    pub clock: u64,
    /// The minute of the clock at the last use of each frame.
    pub used_at: BTreeMap<FrameId, u64>,
    /// The idle marking done in steps, if one is unfinished.
    pub idle_walk: Option<IdleModel>,
    /// The writeback walk, if one was begun.
    pub wb_walk: Option<WalkModel>,
}

/// How often the paths of the boundary tags and hole lists were taken, to show that the
/// tests reach them.
#[derive(Debug, Default, Clone, Copy)]
pub struct Paths {
    /// Frees of a record with a hole just before it only, just after it only, or both.
    free_after_hole: u32,
    free_before_hole: u32,
    free_between_holes: u32,
    /// Frees of the last record with a hole before it: the tail drops past both.
    free_last_after_hole: u32,
    /// Stores into a hole of exactly their size, or into a larger one.
    exact_fill: u32,
    partial_fill: u32,
    /// Stores of objects padded to `MIN_RECORD`.
    padded: u32,
}

impl Paths {
    pub fn add(&mut self, other: Paths) {
        self.free_after_hole += other.free_after_hole;
        self.free_before_hole += other.free_before_hole;
        self.free_between_holes += other.free_between_holes;
        self.free_last_after_hole += other.free_last_after_hole;
        self.exact_fill += other.exact_fill;
        self.partial_fill += other.partial_fill;
        self.padded += other.padded;
    }

    pub fn min(&self) -> u32 {
        [
            self.free_after_hole,
            self.free_before_hole,
            self.free_between_holes,
            self.free_last_after_hole,
            self.exact_fill,
            self.partial_fill,
            self.padded,
        ]
        .into_iter()
        .min()
        .unwrap()
    }
}

/// The class a record of `size` bytes (header included) needs.
pub fn class_for(size: u16) -> u16 {
    size.div_ceil(64)
}

/// Whether a record of `size` bytes (header included) fits after the tail of a frame of
/// usage `u`, or in its largest hole: of exactly its size, or leaving room for a hole
/// (`MIN_RECORD`, 12 bytes).
fn has_room(u: &Usage, size: u16) -> bool {
    let hole = u.largest_hole;
    u.free_bytes() >= size || hole == size || hole >= size + MIN_RECORD as u16
}

impl Harness {
    pub fn new(capacity: usize) -> Self {
        Harness {
            pool: Pool::new(table(capacity)),
            capacity: capacity as u32,
            registry: SharedRegistry::default(),
            model: BTreeMap::new(),
            slots: BTreeMap::new(),
            lru: Vec::new(),
            limit: None,
            stale: Vec::new(),
            paths: Paths::default(),
            compaction: None,
            abandoned: false,
            clock: 0,
            used_at: BTreeMap::new(),
            idle_walk: None,
            wb_walk: None,
        }
    }

    fn touch(&mut self, id: FrameId) {
        self.lru.retain(|&x| x != id);
        self.lru.push(id);
        self.used_at.insert(id, self.clock / 60);
        if let Some(walk) = &mut self.idle_walk {
            walk.old_enough.remove(&id);
            walk.idle_before.remove(&id);
        }
        if let Some(walk) = &mut self.wb_walk {
            walk.due.retain(|&x| x != id);
            walk.left += 1;
        }
    }

    /// The packed and huge frames, coldest first.
    pub fn held_frames(&self) -> Vec<FrameId> {
        self.pool.lru_iter().collect()
    }

    fn pick_owner(&self, pick: usize) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        self.slots.keys().nth(pick % self.slots.len()).copied()
    }

    pub fn stats(&self) -> PoolStats {
        self.pool.pool_stats()
    }

    /// The frames the pool has released (dropped) so far.
    pub fn released(&self) -> usize {
        self.registry.borrow().released.len()
    }

    /// Whether `add_frame` must accept a frame of `len` bytes now.
    fn may_add(&self, len: usize) -> bool {
        let stats = self.stats();
        let pages = (len / 4096) as u64;
        valid_len(len)
            && stats.total_frames() < u64::from(self.capacity)
            && self.limit.is_none_or(|l| stats.total_pages() + pages <= l)
    }

    fn add_frame(&mut self, len: usize) -> Result<bool, TestCaseError> {
        let expected = self.may_add(len);
        let frame = TestFrame::new(&self.registry, len);
        let before = self.stats();
        match self.pool.add_frame(frame) {
            Ok(()) => {
                prop_assert!(expected, "add_frame accepted a frame of {} bytes", len);
                let after = self.stats();
                prop_assert_eq!(after.reserve_frames, before.reserve_frames + 1);
                prop_assert_eq!(
                    after.reserve_pages,
                    before.reserve_pages + (len / 4096) as u64
                );
                Ok(true)
            }
            Err(frame) => {
                prop_assert!(!expected, "add_frame refused a frame it had room for");
                prop_assert_eq!(frame.bytes.len(), len);
                frame.give_back();
                prop_assert_eq!(self.stats(), before);
                Ok(false)
            }
        }
    }

    fn forget(&mut self, owner: u32, r: ObjectRef) {
        if self.stale.len() >= 16 {
            self.stale.remove(0);
        }
        self.stale.push((owner, r));
    }

    /// Frees whatever the slot of `owner` pointed to, as the module does on overwrite or
    /// free.
    pub fn free_slot(&mut self, owner: u32, slot: Slot) -> Result<(), TestCaseError> {
        if let Slot::Packed(r) = slot {
            self.forget(owner, r);
            self.count_free(r);
        }
        match slot {
            Slot::Packed(r) => prop_assert_eq!(self.pool.free(r, owner), Ok(())),
            Slot::Huge(id) => prop_assert_eq!(self.pool.free_huge(id), Ok(())),
        }
        Ok(())
    }

    /// Counts which neighbours the record of `r` has, before it is freed.
    fn count_free(&mut self, r: ObjectRef) {
        let Some(FrameState::Packed(u)) = self.pool.frame_state(r.frame) else {
            return;
        };
        let walked: Vec<Record> = records(self.pool.frame(r.frame).unwrap(), u.tail).collect();
        let Some(i) = walked.iter().position(|w| w.offset == r.offset) else {
            return;
        };
        let before = i > 0 && walked[i - 1].is_free();
        let after = walked.get(i + 1).map(|w| w.is_free());
        let paths = &mut self.paths;
        match (before, after) {
            (true, None) => paths.free_last_after_hole += 1,
            (true, Some(true)) => paths.free_between_holes += 1,
            (true, Some(false)) => paths.free_after_hole += 1,
            (false, Some(true)) => paths.free_before_hole += 1,
            _ => {}
        }
    }

    /// The last object of the frame of the object of a picked owner.
    fn pick_last(&self, pick: usize) -> Option<u32> {
        let owner = self.pick_owner(pick)?;
        let Slot::Packed(r) = self.slots[&owner] else {
            return None;
        };
        self.pool.records(r.frame).last().map(|(owner, _)| owner)
    }

    /// Frees the object of `owner`, as the module does on a discard.
    fn free_owner(&mut self, owner: u32) -> Result<(), TestCaseError> {
        let slot = self.slots.remove(&owner).unwrap();
        self.model.remove(&owner);
        self.free_slot(owner, slot)
    }

    /// The reserve frames and their lengths.
    fn reserve(&self) -> BTreeMap<FrameId, usize> {
        (0..self.capacity)
            .filter(|&id| self.pool.frame_state(id) == Some(FrameState::Reserve))
            .map(|id| (id, self.pool.frame_len(id).unwrap()))
            .collect()
    }

    /// A store with the module's protocol: on `NeedFrame`, add a frame and retry.
    fn store(
        &mut self,
        owner: u32,
        data: Vec<u8>,
        huge: bool,
        frame: usize,
    ) -> Result<(), TestCaseError> {
        let size = padded_size(data.len() as u16);
        let need_class = class_for(size);
        let mut next_frame = frame;
        let mut added = 0;
        let stored = loop {
            // The oracle: a near fit, the first of the first `NEAR_FIT_TRIES` frames of the
            // class below the record's (in the order stores try them) with room after its
            // tail or in its largest hole; else the best fit among packed frames by the
            // class of their capacity; in the frame the best hole else the tail; else the
            // largest reserve frame, else NeedFrame; a one-page reserve frame for a huge
            // page, else NeedFrame.
            let near = self
                .pool
                .class_frames(usize::from(need_class) - 1)
                .take(NEAR_FIT_TRIES)
                .find(|&id| match self.pool.frame_state(id) {
                    Some(FrameState::Packed(u)) => has_room(&u, size),
                    _ => false,
                });
            let mut fits: BTreeMap<FrameId, u16> = BTreeMap::new();
            // Where the record would go in each frame, and the size of the hole it takes.
            let mut places: BTreeMap<FrameId, (u16, Option<u16>)> = BTreeMap::new();
            for id in 0..self.capacity {
                if let Some(FrameState::Packed(u)) = self.pool.frame_state(id) {
                    let capacity = u.free_bytes().max(u.largest_hole.saturating_sub(12));
                    if class(capacity) >= need_class {
                        fits.insert(id, class(capacity));
                    }
                    let holes = records(self.pool.frame(id).unwrap(), u.tail)
                        .filter(|r| r.is_free())
                        .map(|r| (r.offset, r.size()));
                    let place = match best_hole(holes, size) {
                        Some((offset, hole)) => (offset, Some(hole)),
                        None => (u.tail, None),
                    };
                    places.insert(id, place);
                }
            }
            let reserve = self.reserve();
            let best = fits.values().min().copied();
            let largest = reserve.values().max().copied();
            let got = if huge {
                let page: Box<Page> = Box::new(data.clone().try_into().unwrap());
                self.pool.store_huge(owner, &page).map(Slot::Huge)
            } else {
                self.pool.store(owner, &data).map(Slot::Packed)
            };
            match got {
                Ok(slot) => {
                    match slot {
                        Slot::Packed(r) => {
                            prop_assert_eq!(r.len as usize, data.len());
                            let (place, hole) = places.get(&r.frame).copied().unwrap_or((0, None));
                            prop_assert_eq!(r.offset, place, "not the best place in the frame");
                            let paths = &mut self.paths;
                            match hole {
                                Some(hole) if hole == size => paths.exact_fill += 1,
                                Some(_) => paths.partial_fill += 1,
                                None => {}
                            }
                            if usize::from(size) > data.len() + HEADER_LEN {
                                paths.padded += 1;
                            }
                            match (near, best) {
                                (Some(near), _) => {
                                    prop_assert_eq!(r.frame, near, "not the near fit")
                                }
                                (None, Some(best)) => prop_assert_eq!(
                                    fits.get(&r.frame).copied(),
                                    Some(best),
                                    "not the best fit: {:?}",
                                    fits
                                ),
                                (None, None) => prop_assert_eq!(
                                    reserve.get(&r.frame).copied(),
                                    largest,
                                    "not the largest reserve frame: {:?}",
                                    reserve
                                ),
                            }
                        }
                        Slot::Huge(id) => {
                            prop_assert_eq!(reserve.get(&id), Some(&4096), "huge in {:?}", reserve);
                            prop_assert_eq!(self.pool.frame_len(id), Some(4096));
                        }
                    }
                    break Some(slot);
                }
                Err(PoolError::NeedFrame) => {
                    if huge {
                        prop_assert!(
                            !reserve.values().any(|&len| len == 4096),
                            "NeedFrame with a one-page reserve frame"
                        );
                    } else {
                        prop_assert!(reserve.is_empty(), "NeedFrame with a reserve");
                        prop_assert!(fits.is_empty(), "NeedFrame with a frame that fits");
                        prop_assert_eq!(near, None, "NeedFrame with a near fit");
                    }
                    // A packed store takes any frame, a huge one a page: two at most.
                    prop_assert!(added < 2, "NeedFrame after a frame that fits was added");
                    if !self.add_frame(next_frame)? {
                        break None;
                    }
                    added += 1;
                    next_frame = 4096;
                }
                Err(e) => return Err(TestCaseError::fail(format!("store: {e:?}"))),
            }
        };
        match stored {
            Some(slot) => {
                let id = match slot {
                    Slot::Packed(r) => r.frame,
                    Slot::Huge(id) => id,
                };
                self.touch(id);
                if let Some(old) = self.slots.insert(owner, slot) {
                    self.free_slot(owner, old)?;
                }
                self.model.insert(owner, data);
            }
            None => {
                // A failed store empties the slot.
                if let Some(old) = self.slots.remove(&owner) {
                    self.free_slot(owner, old)?;
                }
                self.model.remove(&owner);
            }
        }
        Ok(())
    }

    /// Applies a relocation reported by the pool to the owner's slot, as the module does.
    pub fn relocate(
        &mut self,
        owner: u32,
        old: ObjectRef,
        new: ObjectRef,
    ) -> Result<(), TestCaseError> {
        self.forget(owner, old);
        let slot = self.slots.get_mut(&owner);
        prop_assert_eq!(
            slot.as_deref(),
            Some(&Slot::Packed(old)),
            "stale relocation"
        );
        prop_assert_eq!(old.len, new.len);
        prop_assert_ne!((old.frame, old.offset), (new.frame, new.offset));
        if let Some(slot) = slot {
            *slot = Slot::Packed(new);
        }
        Ok(())
    }

    pub fn live_keys(&self) -> BTreeSet<Key> {
        self.slots
            .iter()
            .filter_map(|(&owner, slot)| match slot {
                Slot::Packed(r) => Some(key(owner, *r)),
                Slot::Huge(_) => None,
            })
            .collect()
    }

    pub fn run(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match *op {
            Op::Store {
                owner,
                len,
                seed,
                frame,
            } => self.store(owner, content(seed, len), false, frame)?,
            Op::StoreHuge { owner, seed, frame } => {
                self.store(owner, content(seed, 4096), true, frame)?
            }
            Op::Load { pick } => {
                let Some(owner) = self.pick_owner(pick) else {
                    return Ok(());
                };
                let expected = self.model[&owner].clone();
                match self.slots[&owner] {
                    Slot::Packed(r) => {
                        prop_assert_eq!(self.pool.load(r, owner), Ok(&expected[..]));
                        self.touch(r.frame);
                    }
                    Slot::Huge(id) => {
                        let got = self.pool.load_huge(id).map(|p| p.to_vec());
                        prop_assert_eq!(got, Ok(expected));
                        self.touch(id);
                    }
                }
            }
            Op::Free { pick } => {
                if let Some(owner) = self.pick_owner(pick) {
                    self.free_owner(owner)?;
                }
            }
            Op::FreeLast { pick } => {
                if let Some(owner) = self.pick_last(pick) {
                    self.free_owner(owner)?;
                }
            }
            Op::CompactFrame { pick } => {
                // Mostly frames that hold objects, sometimes any id.
                let id = match self.pick_owner(pick as usize) {
                    Some(owner) if pick % 4 != 0 => match self.slots[&owner] {
                        Slot::Packed(r) => r.frame,
                        Slot::Huge(id) => id,
                    },
                    _ => pick % (self.capacity + 2),
                };
                let state = self.pool.frame_state(id);
                let mut moves = Vec::new();
                let got = self
                    .pool
                    .compact_frame(id, |owner, old, new| moves.push((owner, old, new)));
                match state {
                    Some(FrameState::Packed(u)) => {
                        prop_assert_eq!(got, Ok(u.hole_bytes()));
                        match self.pool.frame_state(id) {
                            Some(FrameState::Packed(after)) => {
                                prop_assert_eq!(after.hole_bytes(), 0);
                                prop_assert_eq!(after.tail, u.record_bytes);
                                prop_assert_eq!(after.objects, u.objects);
                                prop_assert_eq!(after.len, u.len);
                            }
                            other => prop_assert!(false, "frame became {:?}", other),
                        }
                    }
                    Some(FrameState::Huge { .. }) => prop_assert_eq!(got, Ok(0)),
                    _ => prop_assert_eq!(got, Err(PoolError::BadRef)),
                }
                let owners: BTreeSet<u32> = moves.iter().map(|m| m.0).collect();
                prop_assert_eq!(owners.len(), moves.len(), "an object moved twice");
                for (owner, old, new) in moves {
                    prop_assert_eq!(new.frame, id);
                    prop_assert!(new.offset < old.offset);
                    self.relocate(owner, old, new)?;
                }
            }
            Op::Compact => {
                let before = self.stats();
                let mut moves = Vec::new();
                let released = self.released();
                let stats = self
                    .pool
                    .compact(|owner, old, new| moves.push((owner, old, new)));
                let released = self.released() - released;
                for &(owner, old, new) in &moves {
                    self.relocate(owner, old, new)?;
                }
                self.abandoned = false;
                self.check_compaction(&before, &stats, &moves, released)?;
            }
            Op::CompactInSteps { limit } => {
                // A compaction of its own, nothing between its steps: what one in one go
                // does. (The one interleaved with other operations stays where it is.)
                let before = self.stats();
                let mut cursor = CompactCursor::new();
                let mut moves = Vec::new();
                let released = self.released();
                let mut steps = 0u64;
                while self
                    .pool
                    .compact_step(&mut cursor, limit, |owner, old, new| {
                        moves.push((owner, old, new))
                    })
                    == Compaction::LimitReached
                {
                    steps += 1;
                    // Entries twice (in place, unmarking), rounds at most the frames.
                    let work = 3 * u64::from(self.capacity) + 3;
                    prop_assert!(steps * u64::from(limit) <= work, "compaction does not end");
                }
                for &(owner, old, new) in &moves {
                    self.relocate(owner, old, new)?;
                }
                self.abandoned = false;
                let released = self.released() - released;
                self.check_compaction(&before, &cursor.stats(), &moves, released)?;
            }
            Op::CompactStep { limit } => {
                self.compact_step(limit)?;
            }
            Op::CompactAbandon => {
                if self.compaction.take().is_some() {
                    self.abandoned = true;
                }
            }
            Op::Tick { secs } => {
                self.clock += secs;
                self.pool.set_clock(self.clock);
            }
            Op::MarkIdleInSteps { min_age, limit } => {
                self.start_idle(min_age);
                while !self.idle_step(limit)? {}
            }
            Op::IdleStart { min_age } => self.start_idle(min_age),
            Op::IdleStep { limit } => {
                self.idle_step(limit)?;
            }
            Op::WalkRewind => {
                self.pool.rewind_writeback_walk();
                let due = self.held_frames();
                self.wb_walk = Some(WalkModel {
                    left: due.len(),
                    due,
                });
            }
            Op::WalkNext => self.walk_next()?,
            Op::AddFrame { len } => {
                self.add_frame(len)?;
            }
            Op::SetLimit(limit) => {
                self.limit = limit;
                self.pool.set_page_limit(limit);
                prop_assert_eq!(self.pool.page_limit(), limit);
            }
            Op::ReleaseReserve => {
                let reserve = self.stats().reserve_frames;
                let released = self.released();
                let count = self.pool.release_reserve();
                prop_assert_eq!(count, reserve);
                prop_assert_eq!(self.released() - released, reserve as usize);
                prop_assert_eq!(self.stats().reserve_frames, 0);
                prop_assert_eq!(self.stats().reserve_pages, 0);
            }
            Op::BadRef { pick, how } => self.bad_ref(pick, how)?,
        }
        Ok(())
    }

    /// Uses a damaged reference or a wrong owner: unless they happen to name a live object
    /// of that owner, load and free must refuse them and change nothing.
    fn bad_ref(&mut self, pick: usize, how: u8) -> Result<(), TestCaseError> {
        let picked = self.pick_owner(pick);
        let owner = picked.unwrap_or(0);
        let base = match picked.map(|owner| self.slots[&owner]) {
            Some(Slot::Packed(r)) => r,
            Some(Slot::Huge(id)) => ObjectRef {
                frame: id,
                offset: 0,
                len: 4090,
            },
            None => ObjectRef {
                frame: 0,
                offset: 0,
                len: 1,
            },
        };
        let (owner, bad) = match how {
            0 => (
                owner,
                ObjectRef {
                    offset: base.offset.wrapping_add(1),
                    ..base
                },
            ),
            1 => (
                owner,
                ObjectRef {
                    len: base.len.wrapping_add(1),
                    ..base
                },
            ),
            2 => (
                owner,
                ObjectRef {
                    len: base.len.wrapping_sub(1),
                    ..base
                },
            ),
            3 => (
                owner,
                ObjectRef {
                    frame: base.frame.wrapping_add(1),
                    ..base
                },
            ),
            4 => (
                owner,
                ObjectRef {
                    offset: (pick % MAX_FRAME_SIZE) as u16,
                    ..base
                },
            ),
            5 => (
                owner,
                ObjectRef {
                    frame: self.capacity + (pick % 3) as u32,
                    ..base
                },
            ),
            6 => (
                owner,
                ObjectRef {
                    frame: u32::MAX,
                    ..base
                },
            ),
            // The right reference for another owner, or for no owner at all.
            7 => (owner.wrapping_add(1 + (pick % 3) as u32), base),
            8 => (FREE_OWNER, base),
            _ if !self.stale.is_empty() => self.stale[pick % self.stale.len()],
            _ => (owner, base),
        };
        if self.live_keys().contains(&key(owner, bad)) {
            return Ok(());
        }
        let before = self.stats();
        let released = self.released();
        let lru_before: Vec<FrameId> = self.pool.lru_iter().collect();
        prop_assert_eq!(self.pool.load(bad, owner), Err(PoolError::BadRef));
        prop_assert_eq!(self.pool.free(bad, owner), Err(PoolError::BadRef));
        // Huge operations on anything but a huge frame.
        if !matches!(
            self.pool.frame_state(bad.frame),
            Some(FrameState::Huge { .. })
        ) {
            prop_assert_eq!(
                self.pool.load_huge(bad.frame).map(|_| ()),
                Err(PoolError::BadRef)
            );
            prop_assert_eq!(self.pool.free_huge(bad.frame), Err(PoolError::BadRef));
        }
        prop_assert_eq!(self.released(), released, "released on a bad free");
        prop_assert_eq!(self.stats(), before);
        let lru_after: Vec<FrameId> = self.pool.lru_iter().collect();
        prop_assert_eq!(lru_after, lru_before);
        Ok(())
    }
}
