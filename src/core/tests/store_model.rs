//! Random operation sequences on a `Store` (slot table, pool and class counters), checked
//! against a model: a `BTreeMap` from slot to the page it holds.
//!
//! Stores follow the kernel module's protocol exactly: on `NeedFrame` nothing may have
//! changed; the test hands in a new frame and retries, and if the store gives the frame
//! back (page limit or full frame table) it refuses the store, which must empty the slot
//! (frontswap's rule: stale data is never returned). The frames handed in are 4, 8, 16 or
//! 32 KiB (or any number of pages up to 8) at random; a huge page that got a larger frame
//! asks again and gets a page.
//!
//! After every operation every slot must load back exactly the model's page (the loads
//! are counted in the model), the counters, the class gauges and `mm_stat` must match the
//! model, and frames must be conserved: each frame the store accepted is either still in
//! the pool or was released (dropped) by it, as a registry of the test's frames counts
//! (`common/frames.rs`). Memory is counted in pages: `mem_used_total` must
//! be the bytes of the frames held, never above the page limit, and huge pages must sit in
//! frames of one page.
//!
//! Automatic compaction is checked against a shadow of the packed frames' layouts taken
//! before each operation: replaying the operation's store (into the best-fitting gap
//! between records, else after the tail) and frees on it says exactly which frames reach
//! the compaction threshold and how many bytes their compaction moves, and after every
//! operation no packed frame may have holes of `len / AUTO_COMPACT_DIVISOR` or more. The
//! records of every packed frame must tile it with merged holes, its largest hole and its
//! free-space class must be right.

mod common;
use common::frames::{SharedRegistry, TestFrame};
use common::store::{
    add_frame, bytes, grow_slots, new_store, page_of, TestStore, ToTheEnd, FRAME_CHUNK,
};
use common::{best_hole, check_classes, check_frame, frame_len, padded_size};
use ghostswap_core::frame::{Page, MAX_OBJECT};
use ghostswap_core::pool::{FrameId, FrameState, PoolStats, RESERVE_CAP};
use ghostswap_core::stats::{MmStat, SlotCounts};
use ghostswap_core::store::{ClassCounts, Found, Incoming, StoreError, AUTO_COMPACT_DIVISOR};
use proptest::prelude::*;
use proptest::test_runner::{RngAlgorithm, TestCaseError};
use std::collections::BTreeMap;

/// The `mem_limit` passed to `mm_stat`; it is only echoed.
const MEM_LIMIT: u64 = 12345 * 4096;

// Frames handed in and out.

#[derive(Default)]
struct Frames {
    /// The frames the test made: those the store holds are live, those it dropped are
    /// released, those `add_frame` gave back were taken back.
    registry: SharedRegistry,
    /// Frames offered to `add_frame`.
    handed_in: u64,
    /// Frames `add_frame` gave back.
    refused: u64,
}

impl Frames {
    /// Frames live: made and neither released nor taken back.
    fn live(&self) -> u64 {
        self.registry.borrow().live.len() as u64
    }

    /// Frames the store released.
    fn released(&self) -> u64 {
        self.registry.borrow().released.len() as u64
    }
}

// The model.

#[derive(Debug, Clone, PartialEq, Eq)]
enum ModelPage {
    SameFilled(u64),
    Packed(Vec<u8>),
    Huge(Box<Page>),
}

#[derive(Default)]
struct Model {
    pages: BTreeMap<u64, ModelPage>,
    /// What `counters()` must return; `stored_pages` follows `pages.len()`.
    counters: SlotCounts,
    huge_pages_since: u64,
    pages_compacted: u64,
    /// Frames compacted automatically, as the shadow predicts.
    auto_compactions: u64,
    /// Bytes those compactions moved, as the shadow predicts.
    auto_compact_bytes: u64,
    /// High-water mark of the pool's pages since the last `reset_max`.
    max_pages: u64,
    /// The page limit.
    limit: Option<u64>,
}

impl Model {
    fn put(&mut self, index: u64, page: ModelPage) {
        self.pages.insert(index, page);
        self.sync_stored();
    }

    /// Empties slot `index`; returns whether it held data.
    fn remove(&mut self, index: u64) -> bool {
        let held = self.pages.remove(&index).is_some();
        self.sync_stored();
        held
    }

    fn sync_stored(&mut self) {
        let c = &mut self.counters;
        c.stored_pages = self.pages.len() as u64;
        c.max_stored_pages = c.max_stored_pages.max(c.stored_pages);
    }

    fn classes(&self) -> ClassCounts {
        let count = |f: fn(&ModelPage) -> bool| self.pages.values().filter(|p| f(p)).count();
        ClassCounts {
            same_pages: count(|p| matches!(p, ModelPage::SameFilled(_))) as u64,
            huge_pages: count(|p| matches!(p, ModelPage::Huge(_))) as u64,
            huge_pages_since: self.huge_pages_since,
            pages_compacted: self.pages_compacted,
            auto_compactions: self.auto_compactions,
            auto_compact_bytes: self.auto_compact_bytes,
        }
    }

    fn packed_bytes(&self) -> u64 {
        self.pages
            .values()
            .map(|p| match p {
                ModelPage::Packed(data) => data.len() as u64,
                _ => 0,
            })
            .sum()
    }

    fn packed_objects(&self) -> u64 {
        let packed = |p: &&ModelPage| matches!(p, ModelPage::Packed(_));
        self.pages.values().filter(packed).count() as u64
    }
}

// Operations.

#[derive(Debug, Clone)]
enum PageSpec {
    SameFilled(u64),
    /// Compressed bytes: `len` pseudo-random bytes from `seed` (0 and over
    /// `MAX_OBJECT` are refused).
    Packed {
        len: usize,
        seed: u64,
    },
    Huge(u64),
}

#[derive(Debug, Clone)]
enum Op {
    /// A store; the length of the frame to add if one is needed.
    Store(u64, PageSpec, usize),
    Refuse(u64),
    Load(u64),
    Free(u64),
    FreeRange(u64, u64),
    Compact,
    SetLimit(Option<u64>),
    ResetMax,
}

/// Slot indexes for a store of `n` slots: mostly in range, some just past the end, a few
/// far out.
fn index(n: u64) -> impl Strategy<Value = u64> {
    prop_oneof![
        24 => 0..n,
        2 => n..n + 3,
        1 => Just(u64::from(u32::MAX)),
        1 => Just(1u64 << 32),
        1 => Just(u64::MAX),
    ]
}

/// Range bounds: around the slots, sometimes far out.
fn bound(n: u64) -> impl Strategy<Value = u64> {
    prop_oneof![
        12 => 0..=n + 2,
        1 => Just(u64::MAX),
        1 => Just(1u64 << 32),
    ]
}

fn page_spec() -> impl Strategy<Value = PageSpec> {
    let len = prop_oneof![
        6 => 1usize..3000,
        4 => 1usize..200,
        1 => Just(MAX_OBJECT),
        1 => prop_oneof![Just(0usize), Just(MAX_OBJECT + 1), Just(4096)],
    ];
    prop_oneof![
        3 => prop_oneof![Just(0u64), Just(u64::MAX), any::<u64>()].prop_map(PageSpec::SameFilled),
        6 => (len, any::<u64>()).prop_map(|(len, seed)| PageSpec::Packed { len, seed }),
        2 => any::<u64>().prop_map(PageSpec::Huge),
    ]
}

fn op(n: u64) -> impl Strategy<Value = Op> {
    prop_oneof![
        16 => (index(n), page_spec(), frame_len()).prop_map(|(i, p, f)| Op::Store(i, p, f)),
        2 => index(n).prop_map(Op::Refuse),
        2 => index(n).prop_map(Op::Load),
        5 => index(n).prop_map(Op::Free),
        2 => (bound(n), bound(n)).prop_map(|(a, b)| Op::FreeRange(a, b)),
        2 => Just(Op::Compact),
        2 => prop_oneof![Just(None), (0u64..48).prop_map(Some)].prop_map(Op::SetLimit),
        1 => Just(Op::ResetMax),
    ]
}

/// A case: the number of slots, the frame table's capacity and the operations.
fn case() -> impl Strategy<Value = (u64, usize, Vec<Op>)> {
    (1u64..48).prop_flat_map(|n| {
        let ample = n as usize + RESERVE_CAP as usize + 2;
        let capacity = prop_oneof![3 => Just(ample), 1 => 0..n as usize + 4];
        (Just(n), capacity, prop::collection::vec(op(n), 1..200))
    })
}

/// Everything an operation that fails must leave as it was (slot contents are checked by
/// loading them afterwards).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Snapshot {
    counters: SlotCounts,
    classes: ClassCounts,
    mm_stat: MmStat,
    pool: PoolStats,
    live_frames: u64,
    released: u64,
}

/// A short description of a load's result, for failure messages.
fn describe(found: &Result<Found<'_>, StoreError>) -> String {
    match found {
        Ok(Found::Empty) => "Empty".into(),
        Ok(Found::SameFilled(w)) => format!("SameFilled({w:#x})"),
        Ok(Found::Packed(d)) => format!("Packed({} bytes)", d.len()),
        Ok(Found::Huge(p)) => format!("Huge({:02x?}...)", &p[..8]),
        Ok(Found::Backing(dest)) => format!("Backing({dest:?})"),
        Err(e) => format!("{e:?}"),
    }
}

/// A packed frame's layout, for predicting automatic compaction.
#[derive(Debug, Clone)]
struct ShadowFrame {
    len: u16,
    tail: u16,
    /// Live records in frame order: offset, size (header included), owner.
    records: Vec<(u16, u16, u32)>,
}

/// The packed frames' layouts before an operation.
#[derive(Debug, Clone, Default)]
struct Shadow {
    frames: BTreeMap<FrameId, ShadowFrame>,
}

/// An owner no slot has, for the new object of an overwrite in the shadow.
const NEW_OWNER: u32 = u32::MAX - 1;

impl Shadow {
    fn of(store: &TestStore, capacity: u64) -> Self {
        let pool = store.pool();
        let mut frames = BTreeMap::new();
        for id in 0..capacity as FrameId {
            if let Some(FrameState::Packed(u)) = pool.frame_state(id) {
                let records = pool
                    .records(id)
                    .map(|(owner, r)| (r.offset, padded_size(r.len), owner))
                    .collect();
                frames.insert(
                    id,
                    ShadowFrame {
                        len: u.len,
                        tail: u.tail,
                        records,
                    },
                );
            }
        }
        Shadow { frames }
    }

    /// The frame holding the object of `owner`.
    fn frame_of(&self, owner: u32) -> Option<FrameId> {
        self.frames
            .iter()
            .find(|(_, f)| f.records.iter().any(|r| r.2 == owner))
            .map(|(&id, _)| id)
    }

    /// Places a record of `size` bytes in frame `id` as a store does: in the best-fitting
    /// gap between records (the pool's holes), else after the tail.
    fn place(&mut self, id: FrameId, size: u16, owner: u32) {
        let frame = self.frames.get_mut(&id).unwrap();
        let mut gaps = Vec::new();
        let mut end = 0;
        for &(offset, size, _) in &frame.records {
            if offset > end {
                gaps.push((end, offset - end));
            }
            end = offset + size;
        }
        let offset = best_hole(gaps, size).map_or(frame.tail, |gap| gap.0);
        frame.records.push((offset, size, owner));
        frame.records.sort();
        frame.tail = frame.tail.max(offset + size);
    }

    /// Frees the object of `owner`, if it is packed, and returns the bytes its frame's
    /// automatic compaction then moves, if it is compacted.
    fn free(&mut self, owner: u32) -> Option<u64> {
        let id = self.frame_of(owner)?;
        let frame = self.frames.get_mut(&id).unwrap();
        frame.records.retain(|r| r.2 != owner);
        if frame.records.is_empty() {
            self.frames.remove(&id);
            return None;
        }
        // The tail drops to the end of the last live record.
        let last = frame.records.last().unwrap();
        frame.tail = last.0 + last.1;
        let record_bytes: u16 = frame.records.iter().map(|r| r.1).sum();
        let holes = frame.tail - record_bytes;
        if holes == 0 || holes < frame.len / AUTO_COMPACT_DIVISOR {
            return None;
        }
        let mut offset = 0;
        let mut moved = 0;
        for record in &mut frame.records {
            if record.0 != offset {
                moved += u64::from(record.1);
            }
            record.0 = offset;
            offset += record.1;
        }
        frame.tail = offset;
        Some(moved)
    }

    /// Frees the objects of `owners` one after the other and counts the compactions that
    /// follow and the bytes they move into `model`.
    fn free_all(&mut self, owners: impl IntoIterator<Item = u32>, model: &mut Model) {
        for owner in owners {
            if let Some(moved) = self.free(owner) {
                model.auto_compactions += 1;
                model.auto_compact_bytes += moved;
            }
        }
    }
}

struct Harness {
    store: TestStore,
    n: u64,
    capacity: u64,
    frames: Frames,
    model: Model,
    /// `mem_used_max` at the last check, to check it never drops except by `reset_max`.
    last_max: u64,
    /// The most frames the pool held at once, or was handed.
    most_frames: u64,
}

impl Harness {
    fn new(n: u64, capacity: usize) -> Self {
        Harness {
            store: new_store(n, capacity),
            n,
            capacity: capacity as u64,
            frames: Frames::default(),
            model: Model::default(),
            most_frames: 0,
            last_max: 0,
        }
    }

    fn pool_stats(&self) -> PoolStats {
        self.store.pool().pool_stats()
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            counters: self.store.counters(),
            classes: self.store.classes(),
            mm_stat: self.store.mm_stat(MEM_LIMIT),
            pool: self.pool_stats(),
            live_frames: self.frames.live(),
            released: self.frames.released(),
        }
    }

    /// The pages of the frames the store holds, by the test's own count.
    fn held_pages(&self) -> u64 {
        let registry = self.frames.registry.borrow();
        registry.live.values().map(|&len| len as u64 / 4096).sum()
    }

    /// Hands a new frame of `len` bytes in, as the module does after `NeedFrame`; returns
    /// whether the store kept it.
    fn add_frame(&mut self, len: usize) -> Result<bool, TestCaseError> {
        let pages = self.held_pages();
        let frames = self.frames.live();
        let new_pages = (len / 4096) as u64;
        let at_limit = self.model.limit.is_some_and(|l| pages + new_pages > l);
        let full = at_limit || frames >= self.capacity;
        let frame = TestFrame::new(&self.frames.registry, len);
        let id = frame.id;
        self.frames.handed_in += 1;
        let added = add_frame(&mut self.store, frame);
        // The frame table grows only as frames need entries: to the most frames held at
        // once (the one handed in counted, if it was refused) rounded up to a chunk.
        self.most_frames = self.most_frames.max(self.frames.live());
        let grown = self.store.pool().table_len() as u64;
        prop_assert!(
            grown <= self.most_frames.div_ceil(FRAME_CHUNK as u64) * FRAME_CHUNK as u64,
            "frame table of {} entries for at most {} frames",
            grown,
            self.most_frames
        );
        match added {
            Ok(()) => {
                prop_assert!(!full, "a frame was taken beyond the limit or the table");
                self.model.max_pages = self.model.max_pages.max(pages + new_pages);
                let mm = self.store.mm_stat(MEM_LIMIT);
                prop_assert_eq!(mm.mem_used_total, 4096 * (pages + new_pages));
                prop_assert_eq!(mm.mem_used_max, 4096 * self.model.max_pages);
                Ok(true)
            }
            Err(back) => {
                prop_assert!(
                    full,
                    "a frame was refused below the limit and the table size"
                );
                prop_assert_eq!(back.id, id, "add_frame gave back another frame");
                back.give_back();
                self.frames.refused += 1;
                Ok(false)
            }
        }
    }

    /// Refuses a store to `index` and updates the model; returns whether a slot's content
    /// was freed.
    fn refuse(&mut self, index: u64) -> Result<bool, TestCaseError> {
        let before = self.snapshot();
        let result = self.store.refuse(index);
        if index < self.n {
            prop_assert_eq!(result, Ok(()));
            self.model.counters.failed_stores += 1;
            if self.model.remove(index) {
                self.model.counters.invalidates += 1;
            }
            Ok(true)
        } else {
            prop_assert_eq!(result, Err(StoreError::OutOfRange));
            prop_assert_eq!(self.snapshot(), before);
            Ok(false)
        }
    }

    /// Stores into `index`, adding frames of `frame` bytes (then of a page) as asked;
    /// returns whether the slot's old content was freed (stored over or refused).
    fn store(&mut self, index: u64, spec: &PageSpec, frame: usize) -> Result<bool, TestCaseError> {
        let (page, valid) = match *spec {
            PageSpec::SameFilled(word) => (ModelPage::SameFilled(word), true),
            PageSpec::Packed { len, seed } => (
                ModelPage::Packed(bytes(seed, len)),
                (1..=MAX_OBJECT).contains(&len),
            ),
            PageSpec::Huge(seed) => (ModelPage::Huge(page_of(seed)), true),
        };
        let huge = matches!(page, ModelPage::Huge(_));
        let expected_error = if index >= self.n {
            Some(StoreError::OutOfRange)
        } else if !valid {
            Some(StoreError::BadObject)
        } else {
            None
        };
        let mut next_frame = frame;
        let mut fitting_added = false;
        loop {
            let before = self.snapshot();
            let incoming = match &page {
                ModelPage::SameFilled(word) => Incoming::SameFilled(*word),
                ModelPage::Packed(data) => Incoming::Packed(data),
                ModelPage::Huge(p) => Incoming::Huge(p),
            };
            let result = self.store.store(index, incoming);
            match (result, expected_error) {
                (Ok(()), None) => {
                    self.model.counters.stores += 1;
                    if huge {
                        self.model.huge_pages_since += 1;
                    }
                    self.model.put(index, page);
                    return Ok(true);
                }
                // The slot table grows before the object is looked at: a bad object
                // may ask for it too.
                (Err(StoreError::NeedSlots), None | Some(StoreError::BadObject)) => {
                    prop_assert_eq!(self.snapshot(), before, "NeedSlots changed something");
                    prop_assert!(
                        !self.model.pages.contains_key(&index),
                        "NeedSlots for a slot that holds a page"
                    );
                    grow_slots(&mut self.store, index);
                }
                (Err(StoreError::NeedFrame), None) => {
                    prop_assert!(!matches!(page, ModelPage::SameFilled(_)));
                    prop_assert_eq!(self.snapshot(), before, "NeedFrame changed something");
                    if huge {
                        prop_assert!(
                            !self.has_one_page_reserve_frame(),
                            "NeedFrame for a huge page with a one-page reserve frame"
                        );
                    } else {
                        prop_assert_eq!(before.pool.reserve_frames, 0, "NeedFrame with a reserve");
                    }
                    prop_assert!(!fitting_added, "NeedFrame again right after add_frame");
                    self.check_loads()?;
                    if self.add_frame(next_frame)? {
                        fitting_added = !huge || next_frame == 4096;
                        next_frame = 4096;
                    } else {
                        // No memory: the store fails and the slot's old page is stale.
                        return self.refuse(index);
                    }
                }
                (Err(error), Some(expected)) if error == expected => {
                    prop_assert_eq!(self.snapshot(), before, "{:?} changed something", error);
                    return Ok(false);
                }
                (result, expected) => {
                    return Err(TestCaseError::fail(format!(
                        "store to {index} gave {result:?}, expected {expected:?}"
                    )));
                }
            }
        }
    }

    fn has_one_page_reserve_frame(&self) -> bool {
        let pool = self.store.pool();
        (0..self.capacity as FrameId).any(|id| {
            pool.frame_state(id) == Some(FrameState::Reserve) && pool.frame_len(id) == Some(4096)
        })
    }

    /// The packed frame holding the object of `owner` now.
    fn frame_of(&self, owner: u32) -> Option<FrameId> {
        Shadow::of(&self.store, self.capacity).frame_of(owner)
    }

    /// Loads slot `index` and compares with the model, counting the load in the model.
    fn load(&mut self, index: u64) -> Result<(), TestCaseError> {
        let before = self.store.counters();
        let found = self.store.load(index);
        let expected = self.model.pages.get(&index);
        let matches = match (&found, expected) {
            (Err(StoreError::OutOfRange), None) => index >= self.n,
            (Ok(Found::Empty), None) => index < self.n,
            (Ok(Found::SameFilled(w)), Some(ModelPage::SameFilled(m))) => w == m,
            (Ok(Found::Packed(d)), Some(ModelPage::Packed(m))) => *d == &m[..],
            (Ok(Found::Huge(p)), Some(ModelPage::Huge(m))) => *p == &**m,
            _ => false,
        };
        if !matches {
            let want = match expected {
                None if index >= self.n => "OutOfRange".to_string(),
                None => "Empty".to_string(),
                Some(ModelPage::SameFilled(w)) => format!("SameFilled({w:#x})"),
                Some(ModelPage::Packed(d)) => format!("Packed({} bytes)", d.len()),
                Some(ModelPage::Huge(p)) => format!("Huge({:02x?}...)", &p[..8]),
            };
            let got = describe(&found);
            return Err(TestCaseError::fail(format!(
                "slot {index} loads {got}, model has {want} (or the bytes differ)"
            )));
        }
        let held = expected.is_some();
        if index < self.n {
            if held {
                self.model.counters.loads += 1;
            } else {
                self.model.counters.zero_reads += 1;
            }
        } else {
            prop_assert_eq!(
                self.store.counters(),
                before,
                "an out-of-range load counted"
            );
        }
        Ok(())
    }

    /// Every slot loads back the model's page.
    fn check_loads(&mut self) -> Result<(), TestCaseError> {
        for index in 0..self.n {
            self.load(index)?;
        }
        Ok(())
    }

    fn run(&mut self, op: &Op) -> Result<(), TestCaseError> {
        let mut shadow = Shadow::of(&self.store, self.capacity);
        // The owners whose objects the operation frees, in order.
        let mut freed = Vec::new();
        match *op {
            Op::Store(index, ref spec, frame) => {
                if self.store(index, spec, frame)? {
                    let owner = index as u32;
                    // An overwrite stores the new object before it frees the old one,
                    // maybe in the same frame.
                    if let (Some(old), Some(new)) = (shadow.frame_of(owner), self.frame_of(owner)) {
                        if old == new {
                            let size = match spec {
                                PageSpec::Packed { len, .. } => padded_size(*len as u16),
                                _ => unreachable!("a packed object after a store"),
                            };
                            shadow.place(old, size, NEW_OWNER);
                        }
                    }
                    freed.push(owner);
                }
            }
            Op::Refuse(index) => {
                if self.refuse(index)? {
                    freed.push(index as u32);
                }
            }
            Op::Load(index) => self.load(index)?,
            Op::Free(index) => {
                let before = self.snapshot();
                let result = self.store.free(index);
                if index < self.n {
                    let held = self.model.remove(index);
                    prop_assert_eq!(result, Ok(held));
                    if held {
                        self.model.counters.invalidates += 1;
                    }
                    freed.push(index as u32);
                    prop_assert_eq!(self.pool_stats().reserve_frames, 0, "free kept a reserve");
                } else {
                    prop_assert_eq!(result, Err(StoreError::OutOfRange));
                    prop_assert_eq!(self.snapshot(), before);
                }
            }
            Op::FreeRange(start, end) => {
                let before = self.snapshot();
                let result = self.store.free_range(start..end);
                if start <= end && end <= self.n {
                    let mut held = 0;
                    for index in start..end {
                        if self.model.remove(index) {
                            held += 1;
                        }
                        freed.push(index as u32);
                    }
                    prop_assert_eq!(result, Ok(held));
                    self.model.counters.invalidates += held;
                    prop_assert_eq!(self.pool_stats().reserve_frames, 0);
                } else {
                    prop_assert_eq!(result, Err(StoreError::OutOfRange));
                    prop_assert_eq!(self.snapshot(), before);
                }
            }
            Op::Compact => {
                let before = self.pool_stats();
                let released = self.frames.released();
                let stats = self.store.compact_at_once();
                self.model.pages_compacted += stats.pages_emptied;
                let after = self.pool_stats();
                prop_assert_eq!(after.hole_bytes, 0, "holes left after compaction");
                prop_assert!(self.frames.released() - released <= u64::from(stats.frames_emptied));
                prop_assert_eq!(
                    u64::from(after.packed_frames),
                    u64::from(before.packed_frames) - u64::from(stats.frames_emptied)
                );
                prop_assert_eq!(
                    after.packed_pages,
                    before.packed_pages - stats.pages_emptied
                );
            }
            Op::SetLimit(limit) => {
                self.store.set_page_limit(limit);
                self.model.limit = limit;
            }
            Op::ResetMax => {
                self.store.reset_max();
                self.model.counters.max_stored_pages = self.model.pages.len() as u64;
                self.model.max_pages = self.held_pages();
                self.last_max = 0;
            }
        }
        shadow.free_all(freed, &mut self.model);
        Ok(())
    }

    fn check(&mut self) -> Result<(), TestCaseError> {
        self.check_loads()?;

        prop_assert_eq!(self.store.counters(), self.model.counters);
        let classes = self.model.classes();
        prop_assert_eq!(self.store.classes(), classes);

        let pool = self.pool_stats();
        prop_assert_eq!(u64::from(pool.huge_frames), classes.huge_pages);
        prop_assert_eq!(pool.objects, self.model.packed_objects());
        prop_assert_eq!(pool.live_bytes, self.model.packed_bytes());
        prop_assert!(pool.total_frames() <= self.capacity);

        // Pages, by kind: huge frames are one page, and every frame is counted by its length.
        let view = self.store.pool();
        let (mut packed, mut huge, mut reserve) = (0u64, 0u64, 0u64);
        for id in 0..self.capacity as FrameId {
            let len = view.frame_len(id).map(|len| len as u64);
            match view.frame_state(id) {
                Some(FrameState::Packed(u)) => {
                    prop_assert_eq!(len, Some(u64::from(u.len)));
                    packed += u64::from(u.len) / 4096;
                    // Records tile the frame, holes are merged, the usage is right.
                    let holes: Vec<_> = view.holes(id).collect();
                    check_frame(view.frame(id).unwrap(), &u, &holes)
                        .map_err(|e| TestCaseError::fail(format!("frame {id}: {e}")))?;
                    // Automatic compaction leaves no frame with holes at the threshold.
                    prop_assert!(
                        u.hole_bytes() < u.len / AUTO_COMPACT_DIVISOR,
                        "frame {} has {} bytes of holes in {}",
                        id,
                        u.hole_bytes(),
                        u.len
                    );
                }
                Some(FrameState::Huge { .. }) => {
                    prop_assert_eq!(len, Some(4096), "a huge page in a larger frame");
                    huge += 1;
                }
                Some(FrameState::Reserve) => reserve += len.unwrap() / 4096,
                None => prop_assert_eq!(len, None),
            }
        }
        prop_assert_eq!(
            (
                pool.packed_pages,
                u64::from(pool.huge_frames),
                pool.reserve_pages
            ),
            (packed, huge, reserve)
        );
        check_classes(view, self.capacity as FrameId).map_err(TestCaseError::fail)?;
        let held = self.held_pages();
        prop_assert_eq!(pool.total_pages(), held);

        let mm = self.store.mm_stat(MEM_LIMIT);
        let expected = MmStat {
            orig_data_size: 4096 * self.model.pages.len() as u64,
            compr_data_size: self.model.packed_bytes() + 4096 * classes.huge_pages,
            mem_used_total: 4096 * held,
            mem_limit: MEM_LIMIT,
            mem_used_max: 4096 * self.model.max_pages,
            same_pages: classes.same_pages,
            pages_compacted: classes.pages_compacted,
            huge_pages: classes.huge_pages,
            huge_pages_since: classes.huge_pages_since,
        };
        prop_assert_eq!(mm, expected);
        prop_assert!(mm.mem_used_max >= mm.mem_used_total);
        prop_assert!(mm.mem_used_max >= self.last_max, "mem_used_max dropped");
        self.last_max = mm.mem_used_max;

        // Frames are conserved: each frame handed in is in the pool, was released by the
        // store, or was given back by `add_frame`.
        let f = &self.frames;
        prop_assert_eq!(f.live(), pool.total_frames());
        prop_assert_eq!(f.handed_in, pool.total_frames() + f.released() + f.refused);
        Ok(())
    }

    /// Frees every slot: every frame is released and every slot reads as empty.
    fn teardown(mut self) -> Result<(), TestCaseError> {
        self.run(&Op::FreeRange(0, self.n))?;
        self.check()?;
        prop_assert_eq!(self.pool_stats(), PoolStats::default());
        prop_assert_eq!(self.frames.live(), 0);
        prop_assert_eq!(
            self.frames.handed_in,
            self.frames.released() + self.frames.refused
        );
        Ok(())
    }
}

fn check_sequence(n: u64, capacity: usize, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut h = Harness::new(n, capacity);
    h.check()?;
    for (step, op) in ops.iter().enumerate() {
        let before = h.held_pages();
        h.run(op)
            .and_then(|()| h.check())
            .map_err(|e| TestCaseError::fail(format!("step {step}, {op:?}: {e}")))?;
        // The page limit is never exceeded: lowering it takes no frame away, but no
        // operation may add pages beyond it.
        let after = h.held_pages();
        if let Some(limit) = h.model.limit {
            prop_assert!(
                after <= before.max(limit),
                "step {}: {} pages over a limit of {}",
                step,
                after,
                limit
            );
        }
    }
    h.teardown()
}

proptest! {
    // XorShift: ChaCha, unoptimized in a test build, took most of the time generating.
    #![proptest_config(ProptestConfig {
        cases: 128,
        rng_algorithm: RngAlgorithm::XorShift,
        ..ProptestConfig::default()
    })]

    #[test]
    fn store_matches_model((n, capacity, ops) in case()) {
        check_sequence(n, capacity, &ops)?;
    }
}
