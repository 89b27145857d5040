//! A store over chunked tables that grow as the module's do, deterministic contents, and
//! the work in steps run to its end, shared by the store's tests.

use super::frames::{SharedRegistry, TestFrame};
use super::{Chunks, Grown};
use ghostswap_core::backing::BlockEntry;
use ghostswap_core::frame::Page;
use ghostswap_core::migrate::State;
use ghostswap_core::pool::{CompactCursor, CompactStats, Compaction, FrameEntry, IdleMarking};
use ghostswap_core::store::{Content, Store};
use ghostswap_core::table::{Sparse, Table};

pub type Frame = TestFrame;
pub type TestStore = Store<SlotTable, Frame, FrameTable>;

/// The slot table gets a chunk of this many slots where a store first needs one, as the
/// module's does (a small chunk makes the tests grow it often).
pub const SLOT_CHUNK: usize = 5;

pub type SlotTable = Sparse<Vec<Option<Vec<State<Content>>>>, Vec<State<Content>>, State<Content>>;

/// The frame table grows by chunks of this many entries as the pool asks, as the module's
/// does (its chunks are larger: a small one makes the tests grow it often).
pub const FRAME_CHUNK: usize = 3;

pub type FrameTable = Grown<FrameEntry<Frame>>;

pub fn new_store(slots: u64, capacity: usize) -> TestStore {
    let slots = slots as usize;
    let slots = SlotTable::new(vec![None; slots.div_ceil(SLOT_CHUNK)], SLOT_CHUNK, slots).unwrap();
    let table = FrameTable::new(Chunks(Vec::new()), FRAME_CHUNK, capacity).unwrap();
    Store::new(slots, table).expect("a small store")
}

/// Grows the slot table where slot `index` is, as the module does after `NeedSlots`.
pub fn grow_slots(store: &mut TestStore, index: u64) {
    let chunk = vec![State::Empty; SLOT_CHUNK];
    store.grow_slots(|slots| {
        assert!(
            slots.insert_chunk(index as usize, chunk).is_ok(),
            "a chunk asked for was refused"
        );
    });
    assert!(
        store.slot_table().get(index as usize).is_some(),
        "the slot table lacks the slot after a chunk"
    );
}

/// Hands `frame` to the store as the module does: first the frame table grows by a chunk
/// if the store asks for one.
pub fn add_frame(store: &mut TestStore, frame: Frame) -> Result<(), Frame> {
    if store.needs_frame_entries() {
        let chunk: Vec<_> = (0..FRAME_CHUNK).map(|_| FrameEntry::default()).collect();
        store.grow_frames(|table| {
            assert!(
                table.push_chunk(chunk).is_ok(),
                "a chunk the pool asked for was refused"
            );
        });
        assert!(
            !store.needs_frame_entries(),
            "the pool asks again after a chunk"
        );
    }
    store.add_frame(frame)
}

/// A frame of `len` bytes, tracked by a registry of its own: for the unit tests, which
/// count frames through the store's statistics.
pub fn new_frame(len: usize) -> Frame {
    TestFrame::new(&SharedRegistry::default(), len)
}

/// Deterministic pseudo-random bytes for a seed (xorshift, eight bytes a step).
pub fn bytes(seed: u64, len: usize) -> Vec<u8> {
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

/// A xorshift generator of pseudo-random numbers from `seed` (not 0).
pub fn xorshift(mut x: u64) -> impl FnMut() -> u64 {
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

pub fn page_of(seed: u64) -> Box<Page> {
    Box::new(bytes(seed, 4096).try_into().unwrap())
}

/// Work in steps run to its end, through the store's own steps.
pub trait ToTheEnd {
    /// Compacts the store to the end in one [`Store::compact_step`] after another, as the
    /// module does with the lock dropped in between, and returns what was done.
    fn compact_at_once(&mut self) -> CompactStats;

    /// Marks idle the frames at `now` (older than `min_age`, if given) in steps of
    /// `limit` frames, and returns how many it marked.
    fn mark_idle_in_steps(&mut self, now: u64, min_age: Option<u64>, limit: u32) -> u32;
}

impl<S, F, T, M, C> ToTheEnd for Store<S, F, T, M, C>
where
    S: Table<State<Content>>,
    F: AsRef<[u8]> + AsMut<[u8]>,
    T: Table<FrameEntry<F>>,
    M: Table<u64>,
    C: Table<BlockEntry>,
{
    fn compact_at_once(&mut self) -> CompactStats {
        let mut cursor = CompactCursor::new();
        while self.compact_step(&mut cursor, u32::MAX) == Compaction::LimitReached {}
        cursor.stats()
    }

    fn mark_idle_in_steps(&mut self, now: u64, min_age: Option<u64>, limit: u32) -> u32 {
        self.start_mark_idle(now, min_age);
        let frames = self.pool().lru_iter().count() as u32;
        for _ in 0..=frames {
            if let IdleMarking::Finished { marked } = self.mark_idle_step(limit) {
                return marked;
            }
        }
        panic!("idle marking does not end");
    }
}
