//! Random operation sequences on a `Store` (slot table, pool and class counters), checked
//! against a model: a `BTreeMap` from slot to the page it holds.
//!
//! Stores follow the kernel module's protocol exactly: on `NeedFrame` nothing may have
//! changed; the test hands in a new frame and retries, and if the store gives the frame
//! back (frame limit or full frame table) it refuses the store, which must empty the slot
//! (frontswap's rule: stale data is never returned).
//!
//! After every operation every slot must load back exactly the model's page (the loads
//! are counted in the model), the counters, the class gauges and `mm_stat` must match the
//! model, and frames must be conserved: each frame the store accepted is either still in
//! the pool or was handed back once through a `released` callback. Frames are tracked by
//! heap address; frames handed back are kept until the end of the case so that an address
//! is never reused, except by a frame the store dropped instead of handing it back, which
//! shows up as an address accepted twice.

use ghostswap_core::frame::{Page, MAX_OBJECT};
use ghostswap_core::pool::{FrameEntry, PoolStats, RESERVE_CAP};
use ghostswap_core::slots::Slot;
use ghostswap_core::stats::{Counters, MmStat};
use ghostswap_core::store::{ClassCounts, Content, Found, Incoming, Store, StoreError};
use proptest::prelude::*;
use proptest::test_runner::{RngAlgorithm, TestCaseError};
use std::collections::{BTreeMap, HashSet};

type Frame = Box<Page>;
type TestStore = Store<Vec<Slot<Content>>, Frame, Vec<FrameEntry<Frame>>>;

/// The `mem_limit` passed to `mm_stat`; it is only echoed.
const MEM_LIMIT: u64 = 12345 * 4096;

fn new_store(slots: u64, capacity: usize) -> TestStore {
    let slots = vec![Slot::Empty; slots as usize];
    let table = (0..capacity).map(|_| FrameEntry::default()).collect();
    Store::new(slots, table).expect("a small store")
}

fn new_frame() -> Frame {
    Box::new([0u8; 4096])
}

/// The heap address of a frame: its identity while it is alive.
fn addr(frame: &Frame) -> usize {
    let page: &Page = frame;
    page as *const Page as usize
}

/// Deterministic pseudo-random bytes for a seed (xorshift, eight bytes a step).
fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn page_of(seed: u64) -> Box<Page> {
    Box::new(bytes(seed, 4096).try_into().unwrap())
}

// Frames handed in and out.

#[derive(Default)]
struct Frames {
    /// Addresses of the frames the store accepted and has not handed back.
    live: HashSet<usize>,
    /// Frames offered to `add_frame`.
    handed_in: u64,
    /// Frames `add_frame` gave back.
    refused: u64,
    /// Frames handed back through `released` callbacks.
    released: u64,
    /// Every frame the test got back, kept so that no address is reused.
    graveyard: Vec<Frame>,
    /// Frames handed back that the store had not accepted (or handed back before).
    unknown: Vec<usize>,
}

impl Frames {
    fn release(&mut self, frame: Frame) {
        if !self.live.remove(&addr(&frame)) {
            self.unknown.push(addr(&frame));
        }
        self.released += 1;
        self.graveyard.push(frame);
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
    counters: Counters,
    huge_pages_since: u64,
    pages_compacted: u64,
    /// High-water mark of the pool's frames since the last `reset_max`.
    max_frames: u64,
    limit: Option<u32>,
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
    Store(u64, PageSpec),
    Refuse(u64),
    Load(u64),
    Free(u64),
    FreeRange(u64, u64),
    Compact,
    SetLimit(Option<u32>),
    Drain,
    ResetMax,
    ReleaseReserve,
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
        16 => (index(n), page_spec()).prop_map(|(i, p)| Op::Store(i, p)),
        2 => index(n).prop_map(Op::Refuse),
        2 => index(n).prop_map(Op::Load),
        5 => index(n).prop_map(Op::Free),
        2 => (bound(n), bound(n)).prop_map(|(a, b)| Op::FreeRange(a, b)),
        2 => Just(Op::Compact),
        2 => prop_oneof![Just(None), (0u32..12).prop_map(Some)].prop_map(Op::SetLimit),
        1 => Just(Op::Drain),
        1 => Just(Op::ResetMax),
        1 => Just(Op::ReleaseReserve),
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
    counters: Counters,
    classes: ClassCounts,
    mm_stat: MmStat,
    pool: PoolStats,
    live_frames: usize,
    released: u64,
}

/// A short description of a load's result, for failure messages.
fn describe(found: &Result<Found<'_>, StoreError>) -> String {
    match found {
        Ok(Found::Empty) => "Empty".into(),
        Ok(Found::SameFilled(w)) => format!("SameFilled({w:#x})"),
        Ok(Found::Packed(d)) => format!("Packed({} bytes)", d.len()),
        Ok(Found::Huge(p)) => format!("Huge({:02x?}...)", &p[..8]),
        Err(e) => format!("{e:?}"),
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
}

impl Harness {
    fn new(n: u64, capacity: usize) -> Self {
        Harness {
            store: new_store(n, capacity),
            n,
            capacity: capacity as u64,
            frames: Frames::default(),
            model: Model::default(),
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
            live_frames: self.frames.live.len(),
            released: self.frames.released,
        }
    }

    /// Hands a new frame in, as the module does after `NeedFrame`; returns whether the
    /// store kept it.
    fn add_frame(&mut self) -> Result<bool, TestCaseError> {
        let total = self.pool_stats().total_frames();
        let at_limit = self.model.limit.is_some_and(|l| total >= u64::from(l));
        let full = at_limit || total >= self.capacity;
        let frame = new_frame();
        let a = addr(&frame);
        self.frames.handed_in += 1;
        match self.store.add_frame(frame) {
            Ok(()) => {
                prop_assert!(!full, "a frame was taken beyond the limit or the table");
                prop_assert!(
                    self.frames.live.insert(a),
                    "frame address {:#x} accepted twice: a frame was dropped, not handed back",
                    a
                );
                self.model.max_frames = self.model.max_frames.max(total + 1);
                let mm = self.store.mm_stat(MEM_LIMIT);
                prop_assert_eq!(mm.mem_used_total, 4096 * (total + 1));
                prop_assert_eq!(mm.mem_used_max, 4096 * self.model.max_frames);
                Ok(true)
            }
            Err(back) => {
                prop_assert!(
                    full,
                    "a frame was refused below the limit and the table size"
                );
                prop_assert_eq!(addr(&back), a, "add_frame gave back another frame");
                self.frames.refused += 1;
                self.frames.graveyard.push(back);
                Ok(false)
            }
        }
    }

    /// Refuses a store to `index` and updates the model.
    fn refuse(&mut self, index: u64) -> Result<(), TestCaseError> {
        let before = self.snapshot();
        let frames = &mut self.frames;
        let result = self.store.refuse(index, |f| frames.release(f));
        if index < self.n {
            prop_assert_eq!(result, Ok(()));
            self.model.counters.failed_stores += 1;
            if self.model.remove(index) {
                self.model.counters.invalidates += 1;
            }
        } else {
            prop_assert_eq!(result, Err(StoreError::OutOfRange));
            prop_assert_eq!(self.snapshot(), before);
        }
        Ok(())
    }

    fn store(&mut self, index: u64, spec: &PageSpec) -> Result<(), TestCaseError> {
        let (page, valid) = match *spec {
            PageSpec::SameFilled(word) => (ModelPage::SameFilled(word), true),
            PageSpec::Packed { len, seed } => (
                ModelPage::Packed(bytes(seed, len)),
                (1..=MAX_OBJECT).contains(&len),
            ),
            PageSpec::Huge(seed) => (ModelPage::Huge(page_of(seed)), true),
        };
        let expected_error = if index >= self.n {
            Some(StoreError::OutOfRange)
        } else if !valid {
            Some(StoreError::BadObject)
        } else {
            None
        };
        let mut frame_added = false;
        loop {
            let before = self.snapshot();
            let incoming = match &page {
                ModelPage::SameFilled(word) => Incoming::SameFilled(*word),
                ModelPage::Packed(data) => Incoming::Packed(data),
                ModelPage::Huge(p) => Incoming::Huge(p),
            };
            let frames = &mut self.frames;
            let result = self.store.store(index, incoming, |f| frames.release(f));
            match (result, expected_error) {
                (Ok(()), None) => {
                    self.model.counters.stores += 1;
                    if matches!(page, ModelPage::Huge(_)) {
                        self.model.huge_pages_since += 1;
                    }
                    self.model.put(index, page);
                    return Ok(());
                }
                (Err(StoreError::NeedFrame), None) => {
                    prop_assert!(!matches!(page, ModelPage::SameFilled(_)));
                    prop_assert_eq!(self.snapshot(), before, "NeedFrame changed something");
                    prop_assert_eq!(before.pool.reserve_frames, 0, "NeedFrame with a reserve");
                    prop_assert!(!frame_added, "NeedFrame again right after add_frame");
                    self.check_loads()?;
                    if self.add_frame()? {
                        frame_added = true;
                    } else {
                        // No memory: the store fails and the slot's old page is stale.
                        return self.refuse(index);
                    }
                }
                (Err(error), Some(expected)) if error == expected => {
                    prop_assert_eq!(self.snapshot(), before, "{:?} changed something", error);
                    return Ok(());
                }
                (result, expected) => {
                    return Err(TestCaseError::fail(format!(
                        "store to {index} gave {result:?}, expected {expected:?}"
                    )));
                }
            }
        }
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
        match *op {
            Op::Store(index, ref spec) => self.store(index, spec)?,
            Op::Refuse(index) => self.refuse(index)?,
            Op::Load(index) => self.load(index)?,
            Op::Free(index) => {
                let before = self.snapshot();
                let frames = &mut self.frames;
                let result = self.store.free(index, |f| frames.release(f));
                if index < self.n {
                    let held = self.model.remove(index);
                    prop_assert_eq!(result, Ok(held));
                    if held {
                        self.model.counters.invalidates += 1;
                    }
                } else {
                    prop_assert_eq!(result, Err(StoreError::OutOfRange));
                    prop_assert_eq!(self.snapshot(), before);
                }
            }
            Op::FreeRange(start, end) => {
                let before = self.snapshot();
                let frames = &mut self.frames;
                let result = self.store.free_range(start..end, |f| frames.release(f));
                if start <= end && end <= self.n {
                    let mut held = 0;
                    for index in start..end {
                        if self.model.remove(index) {
                            held += 1;
                        }
                    }
                    prop_assert_eq!(result, Ok(held));
                    self.model.counters.invalidates += held;
                } else {
                    prop_assert_eq!(result, Err(StoreError::OutOfRange));
                    prop_assert_eq!(self.snapshot(), before);
                }
            }
            Op::Compact => {
                let before = self.pool_stats();
                let released = self.frames.released;
                let frames = &mut self.frames;
                let stats = self.store.compact(|f| frames.release(f));
                self.model.pages_compacted += u64::from(stats.frames_emptied);
                let after = self.pool_stats();
                prop_assert_eq!(after.hole_bytes, 0, "holes left after compaction");
                prop_assert!(self.frames.released - released <= u64::from(stats.frames_emptied));
                prop_assert_eq!(
                    u64::from(after.frames),
                    u64::from(before.frames) - u64::from(stats.frames_emptied)
                );
            }
            Op::SetLimit(limit) => {
                self.store.set_frame_limit(limit);
                self.model.limit = limit;
            }
            Op::Drain => {
                let total = self.pool_stats().total_frames();
                let released = self.frames.released;
                let frames = &mut self.frames;
                self.store.drain(|f| frames.release(f));
                prop_assert_eq!(self.frames.released - released, total);
                // Teardown: no invalidates, `max_stored_pages` kept.
                self.model.pages.clear();
                self.model.sync_stored();
            }
            Op::ResetMax => {
                self.store.reset_max();
                self.model.counters.max_stored_pages = self.model.pages.len() as u64;
                self.model.max_frames = self.pool_stats().total_frames();
                self.last_max = 0;
            }
            Op::ReleaseReserve => {
                let reserve = self.pool_stats().reserve_frames;
                let released = self.frames.released;
                let frames = &mut self.frames;
                let count = self.store.release_reserve(|f| frames.release(f));
                prop_assert_eq!(count, reserve);
                prop_assert_eq!(self.frames.released - released, u64::from(reserve));
                prop_assert_eq!(self.pool_stats().reserve_frames, 0);
            }
        }
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

        let mm = self.store.mm_stat(MEM_LIMIT);
        let expected = MmStat {
            orig_data_size: 4096 * self.model.pages.len() as u64,
            compr_data_size: self.model.packed_bytes() + 4096 * classes.huge_pages,
            mem_used_total: 4096 * pool.total_frames(),
            mem_limit: MEM_LIMIT,
            mem_used_max: 4096 * self.model.max_frames,
            same_pages: classes.same_pages,
            pages_compacted: classes.pages_compacted,
            huge_pages: classes.huge_pages,
            huge_pages_since: classes.huge_pages_since,
        };
        prop_assert_eq!(mm, expected);
        prop_assert!(mm.mem_used_max >= mm.mem_used_total);
        prop_assert!(mm.mem_used_max >= self.last_max, "mem_used_max dropped");
        self.last_max = mm.mem_used_max;

        // Frames are conserved: each frame handed in is in the pool, was handed back once
        // through `released`, or was given back by `add_frame`.
        let f = &self.frames;
        prop_assert!(
            f.unknown.is_empty(),
            "frames handed back twice or never taken: {:x?}",
            f.unknown
        );
        prop_assert_eq!(f.live.len() as u64, pool.total_frames());
        prop_assert_eq!(f.handed_in, pool.total_frames() + f.released + f.refused);
        prop_assert_eq!(f.graveyard.len() as u64, f.released + f.refused);
        Ok(())
    }

    /// Drains the store: every frame comes back and every slot reads as empty.
    fn teardown(mut self) -> Result<(), TestCaseError> {
        let frames = &mut self.frames;
        self.store.drain(|f| frames.release(f));
        self.model.pages.clear();
        self.model.sync_stored();
        self.check()?;
        prop_assert_eq!(self.pool_stats(), PoolStats::default());
        prop_assert!(self.frames.live.is_empty());
        prop_assert_eq!(
            self.frames.handed_in,
            self.frames.released + self.frames.refused
        );
        Ok(())
    }
}

fn check_sequence(n: u64, capacity: usize, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut h = Harness::new(n, capacity);
    h.check()?;
    for (step, op) in ops.iter().enumerate() {
        h.run(op)
            .and_then(|()| h.check())
            .map_err(|e| TestCaseError::fail(format!("step {step}, {op:?}: {e}")))?;
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

// Unit tests.

/// Stores `page` in slot `index`, adding frames as asked; panics if a frame is refused.
fn put(store: &mut TestStore, index: u64, page: Incoming<'_>) {
    for _ in 0..2 {
        match store.store(index, page, |_| panic!("nothing to release")) {
            Ok(()) => return,
            Err(StoreError::NeedFrame) => store.add_frame(new_frame()).expect("a frame"),
            Err(e) => panic!("store failed: {e:?}"),
        }
    }
    panic!("store still needs a frame");
}

#[test]
fn overwriting_a_packed_slot_with_a_same_filled_page_frees_the_object() {
    let mut store = new_store(4, 8);
    put(&mut store, 2, Incoming::Packed(b"compressed"));
    let stats = store.pool().pool_stats();
    assert_eq!((stats.objects, stats.live_bytes, stats.frames), (1, 10, 1));

    let mut released = Vec::new();
    store
        .store(2, Incoming::SameFilled(0x5a5a), |f| released.push(f))
        .unwrap();
    let stats = store.pool().pool_stats();
    assert_eq!((stats.objects, stats.live_bytes, stats.frames), (0, 0, 0));
    // The emptied frame is kept for the next store.
    assert_eq!(stats.reserve_frames, 1);
    assert!(released.is_empty());
    assert_eq!(store.load(2), Ok(Found::SameFilled(0x5a5a)));
    assert_eq!(store.classes().same_pages, 1);
    let c = store.counters();
    assert_eq!((c.stores, c.invalidates, c.stored_pages), (2, 0, 1));
    assert_eq!(store.mm_stat(0).compr_data_size, 0);
    store.drain(|f| released.push(f));
    assert_eq!(released.len(), 1);
}

#[test]
fn freeing_a_huge_slot_gives_its_frame_back_with_the_reserve() {
    let page = page_of(7);
    let mut store = new_store(4, 8);
    put(&mut store, 1, Incoming::Huge(&page));
    assert_eq!(store.classes().huge_pages, 1);
    assert_eq!(store.mm_stat(0).compr_data_size, 4096);

    // A free (swap's notification, discard) hands the frame back at once...
    let mut released = Vec::new();
    assert_eq!(store.free(1, |f| released.push(f)), Ok(true));
    assert_eq!(released.len(), 1);
    assert_eq!(released.pop().unwrap(), page);
    let stats = store.pool().pool_stats();
    assert_eq!((stats.huge_frames, stats.reserve_frames), (0, 0));
    assert_eq!(store.classes().huge_pages, 0);
    assert_eq!(store.load(1), Ok(Found::Empty));

    // ... and the frames waiting in the reserve with it.
    put(&mut store, 3, Incoming::Huge(&page));
    for _ in 0..RESERVE_CAP {
        store.add_frame(new_frame()).unwrap();
    }
    let frames = 4096 * u64::from(1 + RESERVE_CAP);
    let mm = store.mm_stat(0);
    assert_eq!((mm.mem_used_total, mm.mem_used_max), (frames, frames));
    assert_eq!(store.free(3, |f| released.push(f)), Ok(true));
    assert_eq!(released.len(), 1 + RESERVE_CAP as usize);
    assert!(released.contains(&page));
    let stats = store.pool().pool_stats();
    assert_eq!((stats.huge_frames, stats.reserve_frames), (0, 0));
    assert_eq!(store.mm_stat(0).mem_used_total, 0);
    assert_eq!(store.counters().invalidates, 2);
    assert_eq!(store.classes().huge_pages_since, 2);
    released.clear();
    store.drain(|f| released.push(f));
    assert!(released.is_empty());
}

#[test]
fn a_store_refused_for_lack_of_frames_drops_the_stale_page() {
    let mut store = new_store(4, 8);
    put(&mut store, 0, Incoming::Packed(&[1; 3000]));
    store.set_frame_limit(Some(1));
    // The new object would need a second frame: it exists before the old one is freed.
    let before = (store.counters(), store.pool().pool_stats());
    assert_eq!(
        store.store(0, Incoming::Packed(&[2; 3000]), |_| panic!()),
        Err(StoreError::NeedFrame)
    );
    assert_eq!((store.counters(), store.pool().pool_stats()), before);
    assert_eq!(store.load(0), Ok(Found::Packed(&[1; 3000])));
    let frame = store.add_frame(new_frame()).unwrap_err();
    drop(frame);

    let mut released = Vec::new();
    store.refuse(0, |f| released.push(f)).unwrap();
    assert_eq!(store.load(0), Ok(Found::Empty));
    let c = store.counters();
    assert_eq!(
        (c.stores, c.failed_stores, c.invalidates, c.stored_pages),
        (1, 1, 1, 0)
    );
    assert_eq!(store.pool().pool_stats().objects, 0);
    // Refusing an empty slot counts no invalidate.
    store.refuse(0, |f| released.push(f)).unwrap();
    assert_eq!(store.counters().invalidates, 1);
    assert_eq!(store.counters().failed_stores, 2);
    store.drain(|f| released.push(f));
    assert_eq!(released.len(), 1);
}

#[test]
fn a_store_without_slots_refuses_every_index() {
    let mut store = new_store(0, 0);
    assert!(store.is_empty());
    assert_eq!(store.len(), 0);
    let noop = |_: Frame| panic!("no frames");
    assert_eq!(
        store.store(0, Incoming::SameFilled(0), noop),
        Err(StoreError::OutOfRange)
    );
    assert_eq!(store.refuse(0, noop), Err(StoreError::OutOfRange));
    assert_eq!(store.load(0), Err(StoreError::OutOfRange));
    assert_eq!(store.free(0, noop), Err(StoreError::OutOfRange));
    assert_eq!(store.free_range(0..0, noop), Ok(0));
    assert_eq!(store.free_range(0..1, noop), Err(StoreError::OutOfRange));
    assert_eq!(store.counters(), Counters::default());
}

// `Store::new` returning `None` for `u32::MAX` slots is not tested: the slot storage must
// be a real `[Slot<Content>]` of that length (64 GiB), and `SlotTable::new` scans it.
