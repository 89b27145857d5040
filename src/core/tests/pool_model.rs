//! Tests of the compressed-object pool (`pool`, `frame`, `list`).
//!
//! The property tests run random operation sequences on a `Pool` and on a model: the
//! content of each owner, where the owner's slot says its object is (updated by the
//! relocation callbacks exactly as the module does), and the LRU order. Frames are
//! `TestFrame`s of 1 to 8 pages (mostly 4, 8, 16 and 32 KiB, mixed at random, plus invalid
//! lengths that must be refused) tracked in a registry, so a frame the pool drops instead
//! of handing back is noticed. After every operation every object must load back byte for
//! byte through its slot, the records of every frame must tile `[0, tail)` within the
//! frame's own length, the statistics (frames and pages) must match the model, huge frames
//! must be one page, the page limit must hold, and the frames must be conserved. The unit
//! tests below them pin down the record layout, the bucket choice (sure and near fits), the
//! frame protocol, the LRU order, compaction and the packing of large frames.
//!
//! The work done in steps under a lock that is dropped between them is checked in the same
//! runs, with stores, loads and frees between the steps: compaction (every object still
//! loads through its slot, frames marked only while a compaction is unfinished and always
//! last in their buckets, and a compaction run in steps with nothing between them does what
//! one in one go does), idle marking (the frames marked are exactly those old enough when
//! it began and not used since, by a model of each frame's last use) and the writeback walk
//! (every frame not used since it began is walked once, in LRU order, and it ends).

mod common;
use common::{best_hole, check_classes, check_frame, class, frame_len, padded_size};
use ghostswap_core::frame::{
    hole_before, hole_links, read_record, record_size, records, set_owner, set_prev_free,
    write_hole, write_record, HoleLinks, HoleList, Page, Record, FREE_OWNER, HEADER_LEN,
    MAX_FRAME_SIZE, MAX_OBJECT, MIN_RECORD,
};
use ghostswap_core::list::{Chain, Links, List};
use ghostswap_core::pool::{
    frame_pages, CompactCursor, CompactStats, Compaction, FrameEntry, FrameId, FrameState,
    IdleMarking, ObjectRef, Pool, PoolError, PoolStats, Usage, NEAR_FIT_TRIES, RESERVE_CAP,
};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

// Frames with a registry.

#[derive(Default)]
struct Registry {
    /// Frames created and not yet handed back by the pool, with their lengths.
    live: BTreeMap<u64, usize>,
    /// Frames dropped without being handed back.
    dropped: Vec<u64>,
    /// Frames created so far.
    created: u64,
}

type SharedRegistry = Rc<RefCell<Registry>>;

/// A frame that reports to the registry when handed back or dropped.
struct TestFrame {
    id: u64,
    bytes: Vec<u8>,
    returned: bool,
    registry: SharedRegistry,
}

impl TestFrame {
    fn new(registry: &SharedRegistry, len: usize) -> Self {
        let mut reg = registry.borrow_mut();
        let id = reg.created;
        reg.created += 1;
        reg.live.insert(id, len);
        // Garbage, so that reading bytes the pool never wrote shows.
        let fill = (id as u8).wrapping_mul(37) | 0x80;
        TestFrame {
            id,
            bytes: vec![fill; len],
            returned: false,
            registry: Rc::clone(registry),
        }
    }

    /// Takes the frame back from the pool (the module would free it here).
    fn give_back(mut self) -> u64 {
        let removed = self.registry.borrow_mut().live.remove(&self.id);
        assert_eq!(
            removed,
            Some(self.bytes.len()),
            "frame {} handed back twice or resized",
            self.id
        );
        self.returned = true;
        self.id
    }
}

impl Drop for TestFrame {
    fn drop(&mut self) {
        if !self.returned {
            let mut reg = self.registry.borrow_mut();
            reg.live.remove(&self.id);
            reg.dropped.push(self.id);
        }
    }
}

impl AsRef<[u8]> for TestFrame {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl AsMut<[u8]> for TestFrame {
    fn as_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }
}

type TestPool = Pool<TestFrame, Vec<FrameEntry<TestFrame>>>;

fn table<F>(len: usize) -> Vec<FrameEntry<F>> {
    (0..len).map(|_| FrameEntry::default()).collect()
}

/// Deterministic bytes for a seed.
fn content(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn page_of(seed: u64) -> Box<Page> {
    Box::new(content(seed, 4096).try_into().unwrap())
}

/// The least free space of a frame in class `c`.
fn class_floor(c: u16) -> u16 {
    if c < 64 {
        c * 64
    } else {
        4096 + (c - 64) * 512
    }
}

/// The class a record of `size` bytes (header included) needs.
fn class_for(size: u16) -> u16 {
    size.div_ceil(64)
}

/// Whether a record of `size` bytes (header included) fits after the tail of a frame of
/// usage `u`, or in its largest hole: of exactly its size, or leaving room for a hole
/// (`MIN_RECORD`, 12 bytes).
fn has_room(u: &Usage, size: u16) -> bool {
    let hole = u.largest_hole;
    u.free_bytes() >= size || hole == size || hole >= size + MIN_RECORD as u16
}

/// Whether the pool takes a frame of `len` bytes.
fn valid_len(len: usize) -> bool {
    len % 4096 == 0 && (4096..=MAX_FRAME_SIZE).contains(&len)
}

// The model.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Packed(ObjectRef),
    Huge(FrameId),
}

/// A live record as a sortable key: owner, frame, offset, length.
type Key = (u32, u32, u16, u16);

fn key(owner: u32, r: ObjectRef) -> Key {
    (owner, r.frame, r.offset, r.len)
}

struct Harness {
    pool: TestPool,
    capacity: u32,
    registry: SharedRegistry,
    /// Owner to content.
    model: BTreeMap<u32, Vec<u8>>,
    /// Owner to where the slot says the object is.
    slots: BTreeMap<u32, Slot>,
    /// Packed and huge frames, coldest first.
    lru: Vec<FrameId>,
    /// The page limit.
    limit: Option<u64>,
    /// Recent references that were freed or moved away from, with their owners.
    stale: Vec<(u32, ObjectRef)>,
    /// How often each path of the frame layout was taken.
    paths: Paths,
    /// The compaction done in steps, if one is unfinished, and the moves and bytes its
    /// steps reported.
    compaction: Option<(CompactCursor, u64, u64)>,
    /// A compaction was abandoned since the last one finished: its marks may remain.
    abandoned: bool,
    /// The clock set on the pool, in seconds.
    clock: u64,
    /// The minute of the clock at the last use of each frame.
    used_at: BTreeMap<FrameId, u64>,
    /// The idle marking done in steps, if one is unfinished.
    idle_walk: Option<IdleModel>,
    /// The writeback walk, if one was begun.
    wb_walk: Option<WalkModel>,
}

/// What an idle marking done in steps must do.
struct IdleModel {
    /// The frames it must mark: old enough when it began (those used since drop out).
    old_enough: BTreeSet<FrameId>,
    /// The frames marked idle when it began (those used since drop out).
    idle_before: BTreeSet<FrameId>,
    /// Frames on the LRU list when it began: the most it looks at.
    frames: u32,
    /// Frames the steps taken so far may have looked at: the sum of their limits.
    looked: u64,
}

/// What the writeback walk must do.
struct WalkModel {
    /// The frames on the LRU list when it began, coldest first, not used nor walked past
    /// since: it must return each of them, in that order.
    due: Vec<FrameId>,
    /// Frames it may still return: those on the list when it began, plus one per use
    /// since.
    left: usize,
}

/// How often the paths of the boundary tags and hole lists were taken, to show that the
/// tests reach them.
#[derive(Debug, Default, Clone, Copy)]
struct Paths {
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
    fn add(&mut self, other: Paths) {
        self.free_after_hole += other.free_after_hole;
        self.free_before_hole += other.free_before_hole;
        self.free_between_holes += other.free_between_holes;
        self.free_last_after_hole += other.free_last_after_hole;
        self.exact_fill += other.exact_fill;
        self.partial_fill += other.partial_fill;
        self.padded += other.padded;
    }

    fn min(&self) -> u32 {
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

#[derive(Debug, Clone)]
enum Op {
    /// A packed store; `frame` is the length of the frame to add if one is needed.
    Store {
        owner: u32,
        len: usize,
        seed: u64,
        frame: usize,
    },
    /// A huge store; `frame` is the length of the first frame to add if one is needed (a
    /// page is added after it if it was larger).
    StoreHuge {
        owner: u32,
        seed: u64,
        frame: usize,
    },
    Load {
        pick: usize,
    },
    Free {
        pick: usize,
    },
    /// Frees the last object of the frame of a picked object.
    FreeLast {
        pick: usize,
    },
    CompactFrame {
        pick: u32,
    },
    Compact,
    /// A whole compaction in steps of `limit` frames, nothing between them.
    CompactInSteps {
        limit: u32,
    },
    /// One step of a compaction that other operations interleave with.
    CompactStep {
        limit: u32,
    },
    /// Drops the compaction that other operations interleave with, unfinished.
    CompactAbandon,
    /// Advances the clock.
    Tick {
        secs: u64,
    },
    /// A whole idle marking in steps of `limit` frames, nothing between them.
    MarkIdleInSteps {
        min_age: Option<u64>,
        limit: u32,
    },
    /// Begins an idle marking that other operations interleave with.
    IdleStart {
        min_age: Option<u64>,
    },
    IdleStep {
        limit: u32,
    },
    /// Begins the writeback walk again at the coldest frame.
    WalkRewind,
    /// The next frame of the writeback walk.
    WalkNext,
    AddFrame {
        len: usize,
    },
    SetLimit(Option<u64>),
    ReleaseReserve,
    BadRef {
        pick: usize,
        how: u8,
    },
}

fn len() -> impl Strategy<Value = usize> {
    prop_oneof![
        6 => 1usize..3000,
        4 => 1usize..200,
        1 => Just(1usize),
        1 => 3000usize..=MAX_OBJECT,
    ]
}

/// Frame lengths handed to `add_frame` directly: valid ones and some it must refuse.
fn any_frame_len() -> impl Strategy<Value = usize> {
    prop_oneof![
        8 => frame_len(),
        1 => prop_oneof![
            Just(0usize),
            Just(4095),
            Just(4097),
            Just(6000),
            Just(MAX_FRAME_SIZE + 4096),
            Just(65536),
        ],
    ]
}

/// Lengths for the hole tests: tiny objects (padded), a few sizes that fill each other's
/// holes exactly or leave the smallest hole (24 = 12 + 12, 36 = 24 + 12, 100 = 88 + 12),
/// and large ones.
fn hole_len() -> impl Strategy<Value = usize> {
    prop_oneof![
        3 => 1usize..=12,
        3 => prop::sample::select(vec![6usize, 18, 30, 82, 94, 200, 1450]),
        2 => 1400usize..1600,
        1 => 13usize..400,
    ]
}

/// Operations for the hole tests: frames of one or two pages, so that records are freed
/// next to holes and at the tail, and stores fill the holes.
fn hole_op(owners: u32) -> impl Strategy<Value = Op> {
    let frame = prop_oneof![2 => Just(4096usize), 1 => Just(8192usize)];
    prop_oneof![
        8 => (0..owners, hole_len(), any::<u64>(), frame)
            .prop_map(|(owner, len, seed, frame)| Op::Store { owner, len, seed, frame }),
        4 => any::<usize>().prop_map(|pick| Op::Free { pick }),
        2 => any::<usize>().prop_map(|pick| Op::FreeLast { pick }),
        1 => any::<usize>().prop_map(|pick| Op::Load { pick }),
        1 => any::<u32>().prop_map(|pick| Op::CompactFrame { pick }),
        1 => (any::<usize>(), 0u8..10).prop_map(|(pick, how)| Op::BadRef { pick, how }),
    ]
}

/// A sequence of [`hole_op`]s, compaction of the whole pool sometimes among them and
/// always at the end, so that frames compacted with tiny records are used again.
fn hole_ops() -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![30 => hole_op(48), 1 => Just(Op::Compact)];
    prop::collection::vec(op, 1..300).prop_map(|mut ops| {
        ops.push(Op::Compact);
        ops.extend((0..20).map(|owner| Op::Store {
            owner,
            len: 1 + owner as usize * 7,
            seed: 1,
            frame: 4096,
        }));
        ops
    })
}

fn op(owners: u32) -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => (0..owners, len(), any::<u64>(), frame_len())
            .prop_map(|(owner, len, seed, frame)| Op::Store { owner, len, seed, frame }),
        2 => (0..owners, any::<u64>(), frame_len())
            .prop_map(|(owner, seed, frame)| Op::StoreHuge { owner, seed, frame }),
        5 => any::<usize>().prop_map(|pick| Op::Load { pick }),
        6 => any::<usize>().prop_map(|pick| Op::Free { pick }),
        1 => any::<usize>().prop_map(|pick| Op::FreeLast { pick }),
        2 => any::<u32>().prop_map(|pick| Op::CompactFrame { pick }),
        1 => Just(Op::Compact),
        1 => any_frame_len().prop_map(|len| Op::AddFrame { len }),
        1 => prop_oneof![Just(None), (0u64..64).prop_map(Some)].prop_map(Op::SetLimit),
        1 => Just(Op::ReleaseReserve),
        2 => (any::<usize>(), 0u8..10).prop_map(|(pick, how)| Op::BadRef { pick, how }),
    ]
}

/// Operations for the work done in steps: stores, loads and frees between the steps, and
/// the clock moving on by minutes.
fn step_op(owners: u32) -> impl Strategy<Value = Op> {
    let limit = prop_oneof![3 => 1u32..4, 1 => 4u32..40];
    let min_age = prop_oneof![
        1 => Just(None),
        1 => Just(Some(0u64)),
        3 => (1u64..900).prop_map(Some),
    ];
    prop_oneof![
        10 => (0..owners, len(), any::<u64>(), frame_len())
            .prop_map(|(owner, len, seed, frame)| Op::Store { owner, len, seed, frame }),
        1 => (0..owners, any::<u64>(), frame_len())
            .prop_map(|(owner, seed, frame)| Op::StoreHuge { owner, seed, frame }),
        4 => any::<usize>().prop_map(|pick| Op::Load { pick }),
        6 => any::<usize>().prop_map(|pick| Op::Free { pick }),
        1 => any::<usize>().prop_map(|pick| Op::FreeLast { pick }),
        1 => Just(Op::Compact),
        1 => limit.clone().prop_map(|limit| Op::CompactInSteps { limit }),
        6 => limit.clone().prop_map(|limit| Op::CompactStep { limit }),
        1 => Just(Op::CompactAbandon),
        3 => prop_oneof![Just(0u64), 1u64..100, 100u64..400].prop_map(|secs| Op::Tick { secs }),
        1 => (min_age.clone(), limit.clone())
            .prop_map(|(min_age, limit)| Op::MarkIdleInSteps { min_age, limit }),
        1 => min_age.prop_map(|min_age| Op::IdleStart { min_age }),
        4 => limit.clone().prop_map(|limit| Op::IdleStep { limit }),
        1 => Just(Op::WalkRewind),
        4 => Just(Op::WalkNext),
        1 => Just(Op::ReleaseReserve),
    ]
}

impl Harness {
    fn new(capacity: usize) -> Self {
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
    fn held_frames(&self) -> Vec<FrameId> {
        self.pool.lru_iter().collect()
    }

    /// Whether a frame last used at minute `used` is surely `min_age` seconds old by the
    /// clock now.
    fn old_enough(&self, used: u64, min_age: Option<u64>) -> bool {
        let age = (self.clock / 60).saturating_sub(used);
        min_age.is_none_or(|min| age.saturating_sub(1) * 60 >= min)
    }

    /// Begins modelling an idle marking that starts now.
    fn start_idle(&mut self, min_age: Option<u64>) {
        let frames = self.held_frames();
        let old_enough = frames
            .iter()
            .copied()
            .filter(|id| self.old_enough(self.used_at[id], min_age))
            .collect();
        let idle_before = frames
            .iter()
            .copied()
            .filter(|&id| self.pool.is_idle(id))
            .collect();
        self.pool.start_mark_idle(min_age);
        self.idle_walk = Some(IdleModel {
            old_enough,
            idle_before,
            frames: frames.len() as u32,
            looked: 0,
        });
    }

    /// Takes a step of the idle marking; once it is finished, checks what it marked.
    fn idle_step(&mut self, limit: u32) -> Result<bool, TestCaseError> {
        let got = self.pool.mark_idle_step(limit);
        let Some(walk) = &mut self.idle_walk else {
            // None begun, or a drain ended it: nothing is walked.
            let finished = matches!(got, IdleMarking::Finished { .. });
            prop_assert!(finished, "a marking never begun");
            return Ok(true);
        };
        walk.looked += u64::from(limit.max(1));
        let IdleMarking::Finished { marked } = got else {
            // A step looks at `limit` frames, and only at frames there when it began (the
            // steps' limits may differ: their sum counts).
            prop_assert!(walk.looked < u64::from(walk.frames));
            return Ok(false);
        };
        let walk = self.idle_walk.take().unwrap();
        let held = self.held_frames();
        for &id in &held {
            let expected = walk.old_enough.contains(&id) || walk.idle_before.contains(&id);
            prop_assert_eq!(self.pool.is_idle(id), expected, "frame {} idle", id);
        }
        // Frames marked and then freed or used count too.
        let still_old = held
            .iter()
            .filter(|id| walk.old_enough.contains(id))
            .count();
        prop_assert!(marked as usize >= still_old);
        prop_assert!(marked <= walk.frames);
        Ok(true)
    }

    /// Takes the next frame of the writeback walk and checks it against the model.
    fn walk_next(&mut self) -> Result<(), TestCaseError> {
        let got = self.pool.next_in_writeback_walk();
        let lru = self.held_frames();
        let Some(walk) = &mut self.wb_walk else {
            prop_assert_eq!(got, None, "a walk never begun");
            return Ok(());
        };
        match got {
            Some(id) => {
                prop_assert!(lru.contains(&id), "the walk gave frame {} off the list", id);
                prop_assert!(walk.left > 0, "the walk does not end");
                walk.left -= 1;
                // Frames due come in order: none colder than `id` is still due.
                let at = lru.iter().position(|&x| x == id).unwrap();
                let skipped: Vec<FrameId> = walk
                    .due
                    .iter()
                    .copied()
                    .filter(|x| lru[..at].contains(x))
                    .collect();
                prop_assert!(skipped.is_empty(), "walked past {:?}", skipped);
                walk.due.retain(|&x| x != id);
            }
            None => {
                let missed: Vec<FrameId> = walk
                    .due
                    .iter()
                    .copied()
                    .filter(|x| lru.contains(x))
                    .collect();
                prop_assert!(missed.is_empty(), "the walk ended before {:?}", missed);
            }
        }
        Ok(())
    }

    /// Checks what a finished compaction did: `stats` against the moves reported and the
    /// pool before and after it.
    fn check_compaction(
        &self,
        before: &PoolStats,
        stats: &CompactStats,
        moves: &[(u32, ObjectRef, ObjectRef)],
        released: usize,
    ) -> Result<(), TestCaseError> {
        prop_assert_eq!(stats.objects_moved, moves.len() as u64);
        let bytes: u64 = moves.iter().map(|m| u64::from(padded_size(m.2.len))).sum();
        prop_assert_eq!(stats.bytes_moved, bytes);
        // A frame is emptied into others entirely or not at all.
        for (_, old, new) in moves {
            if old.frame != new.frame {
                prop_assert!(
                    !matches!(
                        self.pool.frame_state(old.frame),
                        Some(FrameState::Packed(_))
                    ),
                    "frame {} was emptied only partly",
                    old.frame
                );
            }
        }
        let after = self.stats();
        prop_assert_eq!(after.hole_bytes, 0);
        prop_assert_eq!(before.hole_bytes, stats.hole_bytes_reclaimed);
        prop_assert_eq!(
            after.packed_frames + stats.frames_emptied,
            before.packed_frames
        );
        prop_assert_eq!(
            after.packed_pages + stats.pages_emptied,
            before.packed_pages
        );
        prop_assert_eq!(
            after.reserve_frames as usize + released,
            (before.reserve_frames + stats.frames_emptied) as usize
        );
        prop_assert_eq!(after.total_pages() <= before.total_pages(), true);
        prop_assert_eq!(after.live_bytes, before.live_bytes);
        self.check_compacted()
    }

    /// Takes a step of the compaction in progress, or of a new one, applying its moves.
    fn compact_step(&mut self, limit: u32) -> Result<Compaction, TestCaseError> {
        let (mut cursor, mut moved, mut bytes) =
            self.compaction
                .take()
                .unwrap_or((CompactCursor::new(), 0, 0));
        let mut moves = Vec::new();
        let registry = Rc::clone(&self.registry);
        let done = self.pool.compact_step(
            &mut cursor,
            limit,
            |owner, old, new| moves.push((owner, old, new)),
            |f| {
                assert!(registry.borrow().live.contains_key(&f.id));
                f.give_back();
            },
        );
        moved += moves.len() as u64;
        bytes += moves
            .iter()
            .map(|m| u64::from(padded_size(m.2.len)))
            .sum::<u64>();
        for (owner, old, new) in moves {
            self.relocate(owner, old, new)?;
        }
        // The statistics add up the steps.
        prop_assert_eq!(cursor.stats().objects_moved, moved);
        prop_assert_eq!(cursor.stats().bytes_moved, bytes);
        prop_assert_eq!(cursor.is_finished(), done == Compaction::Finished);
        match done {
            Compaction::LimitReached => self.compaction = Some((cursor, moved, bytes)),
            Compaction::Finished => self.abandoned = false,
        }
        Ok(done)
    }

    fn pick_owner(&self, pick: usize) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        self.slots.keys().nth(pick % self.slots.len()).copied()
    }

    fn stats(&self) -> PoolStats {
        self.pool.pool_stats()
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
    fn free_slot(&mut self, owner: u32, slot: Slot) -> Result<(), TestCaseError> {
        if let Slot::Packed(r) = slot {
            self.forget(owner, r);
            self.count_free(r);
        }
        let registry = Rc::clone(&self.registry);
        let release = |f: TestFrame| {
            assert!(registry.borrow().live.contains_key(&f.id));
            f.give_back();
        };
        match slot {
            Slot::Packed(r) => prop_assert_eq!(self.pool.free(r, owner, release), Ok(())),
            Slot::Huge(id) => prop_assert_eq!(self.pool.free_huge(id, release), Ok(())),
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
    fn relocate(
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

    fn live_keys(&self) -> BTreeSet<Key> {
        self.slots
            .iter()
            .filter_map(|(&owner, slot)| match slot {
                Slot::Packed(r) => Some(key(owner, *r)),
                Slot::Huge(_) => None,
            })
            .collect()
    }

    fn run(&mut self, op: &Op) -> Result<(), TestCaseError> {
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
                let mut released = Vec::new();
                let stats = self.pool.compact(
                    |owner, old, new| moves.push((owner, old, new)),
                    |f| released.push(f.give_back()),
                );
                for &(owner, old, new) in &moves {
                    self.relocate(owner, old, new)?;
                }
                self.abandoned = false;
                self.check_compaction(&before, &stats, &moves, released.len())?;
            }
            Op::CompactInSteps { limit } => {
                // A compaction of its own, nothing between its steps: what one in one go
                // does. (The one interleaved with other operations stays where it is.)
                let before = self.stats();
                let mut cursor = CompactCursor::new();
                let mut moves = Vec::new();
                let mut released = Vec::new();
                let mut steps = 0u64;
                while self.pool.compact_step(
                    &mut cursor,
                    limit,
                    |owner, old, new| moves.push((owner, old, new)),
                    |f| released.push(f.give_back()),
                ) == Compaction::LimitReached
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
                self.check_compaction(&before, &cursor.stats(), &moves, released.len())?;
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
                let count = self.pool.release_reserve(|f| {
                    f.give_back();
                });
                prop_assert_eq!(count, reserve);
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
        let lru_before: Vec<FrameId> = self.pool.lru_iter().collect();
        prop_assert_eq!(self.pool.load(bad, owner), Err(PoolError::BadRef));
        prop_assert_eq!(
            self.pool
                .free(bad, owner, |_| panic!("released on a bad free")),
            Err(PoolError::BadRef)
        );
        // Huge operations on anything but a huge frame.
        if !matches!(
            self.pool.frame_state(bad.frame),
            Some(FrameState::Huge { .. })
        ) {
            prop_assert_eq!(
                self.pool.load_huge(bad.frame).map(|_| ()),
                Err(PoolError::BadRef)
            );
            prop_assert_eq!(
                self.pool
                    .free_huge(bad.frame, |_| panic!("released on a bad free")),
                Err(PoolError::BadRef)
            );
        }
        prop_assert_eq!(self.stats(), before);
        let lru_after: Vec<FrameId> = self.pool.lru_iter().collect();
        prop_assert_eq!(lru_after, lru_before);
        Ok(())
    }

    /// After `compact`: no packed frame's records would all fit, placed one by one on the
    /// whole-class free space of one other frame, in that frame (compaction tries every
    /// frame, and such a frame always passes its check, whatever the frame sizes).
    fn check_compacted(&self) -> Result<(), TestCaseError> {
        let mut frames = Vec::new();
        for id in 0..self.capacity {
            if let Some(FrameState::Packed(u)) = self.pool.frame_state(id) {
                let needs: Vec<u16> = self
                    .pool
                    .records(id)
                    .map(|(_, r)| class_for(padded_size(r.len)))
                    .collect();
                frames.push((id, needs, u.free_bytes()));
            }
        }
        for (source, needs, _) in &frames {
            for (target, _, free) in &frames {
                if source == target {
                    continue;
                }
                let mut cap = class_floor(class(*free));
                let fits = needs.iter().all(|&k| {
                    if class(cap) < k {
                        return false;
                    }
                    cap = class_floor(class(cap - 64 * k));
                    true
                });
                prop_assert!(
                    !fits,
                    "frame {} could have been emptied into frame {}",
                    source,
                    target
                );
            }
        }
        Ok(())
    }

    fn check(&mut self) -> Result<(), TestCaseError> {
        let pool = &self.pool;
        let mut expected = PoolStats::default();
        let mut live = BTreeSet::new();
        for id in 0..self.capacity + 2 {
            let state = pool.frame_state(id);
            let len = pool.frame_len(id);
            if id >= self.capacity {
                prop_assert_eq!(state, None);
            }
            match state {
                None => {
                    prop_assert_eq!(len, None);
                    prop_assert!(pool.frame(id).is_none());
                    prop_assert_eq!(pool.records(id).count(), 0);
                }
                Some(FrameState::Reserve) => {
                    let len = len.unwrap();
                    prop_assert!(valid_len(len));
                    expected.reserve_frames += 1;
                    expected.reserve_pages += (len / 4096) as u64;
                    prop_assert!(pool.frame(id).is_none());
                    prop_assert_eq!(pool.records(id).count(), 0);
                }
                Some(FrameState::Huge { owner }) => {
                    expected.huge_frames += 1;
                    prop_assert_eq!(len, Some(4096), "a huge page in a larger frame");
                    prop_assert_eq!(pool.frame(id).unwrap().len(), 4096);
                    prop_assert_eq!(self.slots.get(&owner), Some(&Slot::Huge(id)));
                    prop_assert_eq!(pool.frame(id).unwrap(), &self.model[&owner][..]);
                    prop_assert_eq!(pool.records(id).count(), 0);
                }
                Some(FrameState::Packed(u)) => {
                    let len = len.unwrap();
                    prop_assert!(valid_len(len));
                    prop_assert_eq!(usize::from(u.len), len);
                    expected.packed_frames += 1;
                    expected.packed_pages += (len / 4096) as u64;
                    let page = pool.frame(id).unwrap();
                    prop_assert_eq!(page.len(), len);
                    // The records tile [0, tail), the last one is live, holes are merged,
                    // and the usage (largest hole included) is what they say.
                    let holes: Vec<Record> = pool.holes(id).collect();
                    let records = check_frame(page, &u, &holes)
                        .map_err(|e| TestCaseError::fail(format!("frame {id}: {e}")))?;
                    let walked: BTreeSet<Key> = records
                        .iter()
                        .filter(|record| !record.is_free())
                        .map(|record| {
                            let r = ObjectRef {
                                frame: id,
                                offset: record.offset,
                                len: record.len,
                            };
                            key(record.owner, r)
                        })
                        .collect();
                    let listed: BTreeSet<Key> =
                        pool.records(id).map(|(owner, r)| key(owner, r)).collect();
                    prop_assert_eq!(&listed, &walked);
                    expected.record_bytes += u64::from(u.record_bytes);
                    expected.live_bytes += u64::from(u.live_bytes());
                    expected.hole_bytes += u64::from(u.hole_bytes());
                    expected.objects += u64::from(u.objects);
                    live.extend(walked);
                }
            }
        }
        prop_assert_eq!(pool.pool_stats(), expected);
        // Every packed frame is in the bucket of its capacity's class.
        check_classes(pool, self.capacity + 2).map_err(TestCaseError::fail)?;
        // Frames are marked only while a compaction is unfinished, and come last in their
        // buckets.
        for c in 0..=ghostswap_core::pool::CLASSES {
            let marks: Vec<bool> = pool.class_frames(c).map(|id| pool.is_marked(id)).collect();
            prop_assert!(
                marks.windows(2).all(|w| w[0] <= w[1]),
                "class {}: marked frames before unmarked ones: {:?}",
                c,
                marks
            );
            prop_assert!(
                self.compaction.is_some() || self.abandoned || !marks.contains(&true),
                "a frame marked outside a compaction"
            );
        }

        // Exactly the model's objects are live, each where its slot says, intact.
        prop_assert_eq!(&live, &self.live_keys());
        let packed_objects = self
            .slots
            .values()
            .filter(|s| matches!(s, Slot::Packed(_)))
            .count();
        prop_assert_eq!(expected.objects, packed_objects as u64);
        let data: u64 = self
            .slots
            .iter()
            .filter(|(_, s)| matches!(s, Slot::Packed(_)))
            .map(|(owner, _)| self.model[owner].len() as u64)
            .sum();
        prop_assert_eq!(expected.live_bytes, data);
        prop_assert_eq!(self.model.len(), self.slots.len());
        for (owner, slot) in &self.slots {
            if let Slot::Packed(r) = slot {
                let page = pool.frame(r.frame).unwrap();
                let start = usize::from(r.offset) + HEADER_LEN;
                let bytes = &page[start..start + usize::from(r.len)];
                prop_assert_eq!(bytes, &self.model[owner][..], "object of {} differs", owner);
            }
        }

        // LRU order: the model's, restricted to frames still in use.
        self.lru.retain(|&id| {
            matches!(
                pool.frame_state(id),
                Some(FrameState::Packed(_) | FrameState::Huge { .. })
            )
        });
        let order: Vec<FrameId> = pool.lru_iter().collect();
        prop_assert_eq!(&order, &self.lru);
        prop_assert_eq!(pool.coldest(), self.lru.first().copied());
        for pair in self.lru.windows(2) {
            prop_assert_eq!(pool.next_warmer(pair[0]), Some(pair[1]));
        }
        if let Some(&hottest) = self.lru.last() {
            prop_assert_eq!(pool.next_warmer(hottest), None);
        }

        // Frames are conserved: every frame created is in the pool or was handed back, and
        // the pages the pool counts are the pages of the frames it holds.
        let registry = self.registry.borrow();
        prop_assert!(
            registry.dropped.is_empty(),
            "frames dropped: {:?}",
            registry.dropped
        );
        prop_assert_eq!(registry.live.len() as u64, expected.total_frames());
        let held: usize = registry.live.values().sum();
        prop_assert_eq!(held as u64, expected.total_pages() * 4096);
        prop_assert!(expected.total_frames() <= u64::from(self.capacity));
        Ok(())
    }

    /// Frees everything: only the reserve may keep frames, and drain returns them.
    fn teardown(mut self) -> Result<Paths, TestCaseError> {
        self.pool.release_reserve(|f| {
            f.give_back();
        });
        let owners: Vec<u32> = self.slots.keys().copied().collect();
        for owner in owners {
            let slot = self.slots.remove(&owner).unwrap();
            self.model.remove(&owner);
            self.free_slot(owner, slot)?;
            self.check()?;
        }
        let stats = self.stats();
        prop_assert_eq!(
            stats,
            PoolStats {
                reserve_frames: stats.reserve_frames,
                reserve_pages: stats.reserve_pages,
                ..PoolStats::default()
            }
        );
        prop_assert!(stats.reserve_frames <= RESERVE_CAP);
        prop_assert_eq!(self.pool.coldest(), None);
        let drained = self.pool.drain(|f| {
            f.give_back();
        });
        prop_assert_eq!(drained, stats.reserve_frames);
        prop_assert_eq!(self.stats(), PoolStats::default());
        drop(self.pool);
        let registry = self.registry.borrow();
        prop_assert!(registry.live.is_empty(), "leaked {:?}", registry.live);
        prop_assert!(registry.dropped.is_empty());
        Ok(self.paths)
    }
}

/// Runs `ops` on a pool with `capacity` entries and the page limit `limit`, checking the
/// pool against the model after each, and returns the paths taken.
fn check_sequence(capacity: usize, limit: Option<u64>, ops: &[Op]) -> Result<Paths, TestCaseError> {
    let mut h = Harness::new(capacity);
    h.limit = limit;
    h.pool.set_page_limit(limit);
    h.check()?;
    for op in ops {
        let before = h.stats().total_pages();
        h.run(op)?;
        h.check()
            .map_err(|e| TestCaseError::fail(format!("after {op:?}: {e}")))?;
        // The page limit is never exceeded: lowering it takes no frame away, but no
        // operation may add pages beyond it.
        let after = h.stats().total_pages();
        if let Some(limit) = h.limit {
            prop_assert!(
                after <= before.max(limit),
                "{} pages held over a limit of {} after {:?}",
                after,
                limit,
                op
            );
        }
    }
    h.teardown()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn work_in_steps_matches_model(
        capacity in 4usize..32,
        ops in prop::collection::vec(step_op(40), 1..300),
    ) {
        check_sequence(capacity, None, &ops)?;
    }

    #[test]
    fn pool_matches_model(
        capacity in 4usize..48,
        ops in prop::collection::vec(op(40), 1..300),
    ) {
        check_sequence(capacity, None, &ops)?;
    }

    #[test]
    fn small_objects_match_model(
        capacity in 2usize..24,
        ops in prop::collection::vec(
            prop_oneof![
                5 => (0u32..300, 1usize..400, any::<u64>(), frame_len())
                    .prop_map(|(owner, len, seed, frame)| Op::Store { owner, len, seed, frame }),
                2 => any::<usize>().prop_map(|pick| Op::Free { pick }),
                1 => any::<usize>().prop_map(|pick| Op::Load { pick }),
                1 => any::<u32>().prop_map(|pick| Op::CompactFrame { pick }),
                1 => Just(Op::Compact),
            ],
            1..400,
        ),
    ) {
        check_sequence(capacity, None, &ops)?;
    }

    #[test]
    fn holes_and_tiny_objects_match_model(capacity in 1usize..6, ops in hole_ops()) {
        check_sequence(capacity, None, &ops)?;
    }

    #[test]
    fn tight_limits_match_model(
        capacity in 1usize..8,
        limit in 0u64..24,
        ops in prop::collection::vec(op(12), 1..150),
    ) {
        check_sequence(capacity, Some(limit), &ops)?;
    }
}

/// The hole tests reach every path of the boundary tags and hole lists: frees next to
/// holes on either side or both, frees of the last record after a hole, exact and partial
/// fills, padded records.
#[test]
fn hole_tests_reach_every_path() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut paths = Paths::default();
    for _ in 0..16 {
        let ops = hole_ops().new_tree(&mut runner).unwrap().current();
        paths.add(check_sequence(3, None, &ops).unwrap());
    }
    assert!(paths.min() >= 20, "{paths:?}");
}

// The record layout.

#[test]
fn record_header_is_owner_then_length_little_endian() {
    let mut page = [0u8; 4096];
    let r = write_record(&mut page, 10, 0x0102_0304, b"xyz").unwrap();
    assert_eq!(
        r,
        Record {
            offset: 10,
            owner: 0x0102_0304,
            len: 3,
            prev_free: false,
        }
    );
    assert_eq!(&page[10..19], &[4, 3, 2, 1, 3, 0, b'x', b'y', b'z']);
    // Padded to 12 bytes; the padding is not data.
    assert_eq!((r.size(), r.end(), r.data_range()), (12, 22, 16..19));
    assert_eq!((r.padding(), record_size(3), record_size(6)), (3, 12, 12));
    assert_eq!(record_size(7), 13);
    assert_eq!(read_record(&page, 10, 22), Some(r));
    // The record, padding included, must end at or before the tail.
    assert_eq!(read_record(&page, 10, 21), None);
    // Bit 15 of the length says that a hole is before the record.
    assert!(set_prev_free(&mut page, 10, true));
    assert_eq!(&page[14..16], &[3, 0x80]);
    assert_eq!(
        read_record(&page, 10, 22),
        Some(Record {
            prev_free: true,
            ..r
        })
    );
    assert!(set_prev_free(&mut page, 10, false));
    assert_eq!(read_record(&page, 10, 22), Some(r));
    assert!(set_owner(&mut page, 10, FREE_OWNER));
    assert!(read_record(&page, 10, 22).unwrap().is_free());
    assert_eq!(&page[10..14], &[0xff; 4]);
}

#[test]
fn holes_carry_a_footer_and_links() {
    let mut page = [0u8; 4096];
    // Too small for a header, links and footer, or past the frame.
    assert_eq!(write_hole(&mut page, 0, MIN_RECORD as u16 - 1), None);
    assert_eq!(write_hole(&mut page, 4090, 12), None);
    let hole = write_hole(&mut page, 100, 40).unwrap();
    assert_eq!((hole.offset, hole.len, hole.is_free()), (100, 34, true));
    assert_eq!(&page[100..106], &[0xff, 0xff, 0xff, 0xff, 34, 0]);
    assert_eq!(&page[138..140], &[40, 0], "the footer is the hole's size");
    assert_eq!(hole_before(&page, 140), Some(hole));
    // Not at the end of a hole.
    assert_eq!(hole_before(&page, 139), None);
    assert_eq!(hole_before(&page, 1), None);
    // A list of three holes, the last pushed first.
    let second = write_hole(&mut page, 200, 12).unwrap();
    let third = write_hole(&mut page, 300, 60).unwrap();
    let mut list = HoleList::EMPTY;
    for h in [hole, second, third] {
        assert!(list.push(&mut page, h.offset));
    }
    let offsets = |list: HoleList, page: &[u8]| -> Vec<u16> {
        list.iter(page, 4096).map(|h| h.offset).collect()
    };
    assert_eq!(offsets(list, &page), [300, 200, 100]);
    assert_eq!(list.first(), Some(300));
    let links = |page: &[u8], at| hole_links(page, at).unwrap();
    assert_eq!(
        links(&page, 200),
        HoleLinks {
            prev: Some(300),
            next: Some(100)
        }
    );
    assert_eq!(&page[206..210], &[0x2c, 1, 100, 0], "little-endian offsets");
    assert_eq!(list.largest(&page, 4096), 60);
    // The smallest hole that fits, exactly or leaving a hole of 12 bytes.
    let scan = list.best_fit(&page, 4096, 28);
    assert_eq!((scan.best, scan.largest_other), (Some(hole), 60));
    assert_eq!(list.best_fit(&page, 4096, 12).best, Some(second));
    assert_eq!(list.best_fit(&page, 4096, 29).best, Some(third));
    assert_eq!(list.best_fit(&page, 4096, 49).best, None);
    assert!(list.remove(&mut page, 200));
    assert_eq!(offsets(list, &page), [300, 100]);
    assert_eq!(links(&page, 300).next, Some(100));
    assert_eq!(links(&page, 100).prev, Some(300));
    assert!(list.remove(&mut page, 300));
    assert_eq!((list.first(), links(&page, 100).prev), (Some(100), None));
    // A hole that is not first and has no previous one is not on the list.
    assert!(!list.remove(&mut page, 300));
    assert!(list.remove(&mut page, 100));
    assert_eq!(list, HoleList::EMPTY);
    assert_eq!(list.largest(&page, 4096), 0);
    // A walk over corrupted links stops: holes below the tail only, and no cycles.
    let mut list = HoleList::EMPTY;
    assert!(list.push(&mut page, 100));
    assert!(list.push(&mut page, 300));
    assert_eq!(offsets(list, &page[..]), [300, 100]);
    assert_eq!(list.iter(&page, 200).count(), 0);
    page[108..110].copy_from_slice(&300u16.to_le_bytes());
    assert_eq!(list.iter(&page, 4096).count(), 4096 / 12);
}

#[test]
fn records_must_fit_in_the_frame() {
    let mut page = [0u8; 4096];
    assert!(write_record(&mut page, 0, 1, &[7; MAX_OBJECT]).is_some());
    assert_eq!(read_record(&page, 0, 4096).map(|r| r.end()), Some(4096));
    assert!(write_record(&mut page, 0, 1, &[7; MAX_OBJECT + 1]).is_none());
    assert!(write_record(&mut page, 4090, 1, &[1]).is_none());
    // One byte of data takes a record of 12 bytes.
    assert!(write_record(&mut page, 4085, 1, &[1]).is_none());
    assert!(write_record(&mut page, 4084, 1, &[1]).is_some());
    assert!(write_record(&mut page, 4095, 1, &[]).is_none());
    assert!(!set_owner(&mut page, 4093, 1));
    assert!(set_owner(&mut page, 4092, 1));
    // A header claiming more than the frame holds is no record.
    page[0..6].copy_from_slice(&[1, 0, 0, 0, 0xff, 0xff]);
    assert_eq!(read_record(&page, 0, u16::MAX), None);
    assert_eq!(records(&page, 4096).count(), 0);
}

#[test]
fn walking_records_visits_objects_and_holes() {
    let mut page = [0u8; 4096];
    let a = write_record(&mut page, 0, 1, &[1; 10]).unwrap();
    let b = write_record(&mut page, a.end(), 2, &[2; 20]).unwrap();
    let c = write_record(&mut page, b.end(), 3, &[3; 30]).unwrap();
    set_owner(&mut page, b.offset, FREE_OWNER);
    let walked: Vec<(u16, u32)> = records(&page, c.end())
        .map(|r| (r.offset, r.owner))
        .collect();
    assert_eq!(walked, [(0, 1), (16, FREE_OWNER), (42, 3)]);
    // A walk to a tail inside a record stops before it.
    assert_eq!(records(&page, c.end() - 1).count(), 2);
    // Tiny records are walked by their padded size.
    let d = write_record(&mut page, c.end(), 4, &[4]).unwrap();
    let e = write_record(&mut page, d.end(), 5, &[5; 6]).unwrap();
    let walked: Vec<u16> = records(&page, e.end()).map(|r| r.offset).collect();
    assert_eq!(walked, [0, 16, 42, 78, 90]);
}

#[test]
fn handles_and_entries_are_small() {
    assert_eq!(size_of::<ObjectRef>(), 8);
    // The pointer, two sets of links, 12 bytes of usage and the first hole, the last use
    // and idle mark, the compaction mark and the cached class: no padding left.
    #[cfg(target_pointer_width = "64")]
    assert_eq!(size_of::<FrameEntry<Box<Page>>>(), 40);
    // A fat pointer as frame: still no more than the padding needs.
    #[cfg(target_pointer_width = "64")]
    assert_eq!(size_of::<FrameEntry<Box<[u8]>>>(), 48);
}

// The protocol and allocation.

type Frame = Box<[u8]>;
type BoxedPool = Pool<Frame, Vec<FrameEntry<Frame>>>;

fn boxed_pool(capacity: usize) -> BoxedPool {
    Pool::new(table(capacity))
}

/// A frame of `pages` pages.
fn frame_of(pages: usize) -> Frame {
    vec![0; pages * 4096].into_boxed_slice()
}

fn new_frame() -> Frame {
    frame_of(1)
}

/// Stores `data` with the protocol, adding frames as needed.
fn put(pool: &mut BoxedPool, owner: u32, len: usize) -> ObjectRef {
    let data = content(u64::from(owner) + 1, len);
    loop {
        match pool.store(owner, &data) {
            Ok(r) => return r,
            Err(PoolError::NeedFrame) => assert!(pool.add_frame(new_frame()).is_ok()),
            Err(e) => panic!("{e:?}"),
        }
    }
}

fn free_bytes(pool: &BoxedPool, id: FrameId) -> u16 {
    match pool.frame_state(id) {
        Some(FrameState::Packed(u)) => u.free_bytes(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn invalid_stores_are_refused_before_asking_for_frames() {
    let mut pool = boxed_pool(2);
    assert_eq!(pool.store(FREE_OWNER, b"x"), Err(PoolError::BadOwner));
    assert_eq!(pool.store(1, b""), Err(PoolError::BadLength));
    assert_eq!(
        pool.store(1, &vec![0; MAX_OBJECT + 1]),
        Err(PoolError::BadLength)
    );
    assert_eq!(
        pool.store_huge(FREE_OWNER, &[0; 4096]),
        Err(PoolError::BadOwner)
    );
    assert_eq!(pool.store(1, b"x"), Err(PoolError::NeedFrame));
    assert_eq!(pool.store_huge(1, &[0; 4096]), Err(PoolError::NeedFrame));
    assert_eq!(pool.pool_stats(), PoolStats::default());
}

#[test]
fn the_largest_object_fills_a_frame() {
    let mut pool = boxed_pool(4);
    let a = put(&mut pool, 1, MAX_OBJECT);
    assert_eq!(free_bytes(&pool, a.frame), 0);
    let b = put(&mut pool, 2, 1);
    assert_ne!(a.frame, b.frame);
    assert_eq!(pool.load(a, 1).unwrap(), &content(2, MAX_OBJECT)[..]);
}

#[test]
fn stores_take_the_best_fit() {
    let mut pool = boxed_pool(8);
    // Three frames with 2000, 1000 and 300 free bytes: none of the objects fits in
    // another's frame.
    let c = put(&mut pool, 1, 4096 - 6 - 2000);
    let a = put(&mut pool, 2, 4096 - 6 - 1000);
    let b = put(&mut pool, 3, 4096 - 6 - 300);
    assert_eq!(
        [c.frame, a.frame, b.frame]
            .iter()
            .collect::<BTreeSet<_>>()
            .len(),
        3
    );
    assert_eq!(
        [c, a, b].map(|r| free_bytes(&pool, r.frame)),
        [2000, 1000, 300]
    );
    // 256 bytes need class 4: the frame with 300 free (class 4) is the best fit.
    assert_eq!(pool.store(10, &[1; 250]).unwrap().frame, b.frame);
    // 306 bytes need class 5: the 1000-byte frame (class 15) beats 2000 (class 31).
    assert_eq!(pool.store(11, &[1; 300]).unwrap().frame, a.frame);
    // 1500 bytes fit only the 2000-byte frame.
    assert_eq!(pool.store(12, &[1; 1494]).unwrap().frame, c.frame);
    // Nothing left for 1000 bytes, and no reserve.
    assert_eq!(pool.store(13, &[1; 994]), Err(PoolError::NeedFrame));
}

#[test]
fn a_near_fit_is_taken_only_with_room() {
    let mut pool = boxed_pool(4);
    // 127 free bytes: class 1. Records of 65 to 128 bytes need class 2, which the frame is
    // not in, but it is in the class just below: it takes those that fit.
    let a = put(&mut pool, 1, 4096 - 6 - 127);
    assert_eq!(free_bytes(&pool, a.frame), 127);
    assert_eq!(pool.store(2, &[0; 122]), Err(PoolError::NeedFrame));
    let b = pool.store(3, &[0; 94]).unwrap();
    assert_eq!((b.frame, free_bytes(&pool, a.frame)), (a.frame, 27));
    // 27 free bytes: class 0. A 64-byte record needs class 1: no room.
    assert_eq!(pool.store(4, &[0; 58]), Err(PoolError::NeedFrame));
    // A record of exactly the free space fits.
    let c = pool.store(5, &[0; 21]).unwrap();
    assert_eq!((c.frame, free_bytes(&pool, a.frame)), (a.frame, 0));
}

#[test]
fn a_near_fit_is_looked_for_in_the_first_frames_of_the_class_below() {
    let mut pool = boxed_pool(16);
    // One-page frames with 1472 to 1535 free bytes are in class 23; a record of 1500 bytes
    // needs class 24. Each new frame goes first in its class: the frames are tried in
    // the opposite order of their making.
    let make = |pool: &mut BoxedPool, owner: u32, free: usize| {
        let r = put(pool, owner, 4096 - 6 - free);
        assert_eq!(usize::from(free_bytes(pool, r.frame)), free);
        r.frame
    };
    let fourth = make(&mut pool, 1, 1510);
    for (owner, free) in [(2, 1480), (3, 1490), (4, 1499)] {
        make(&mut pool, owner, free);
    }
    assert_eq!(pool.store(10, &[1; 1494]).unwrap().frame, fourth);
    // A fifth frame is not looked at, even with room.
    let fifth = make(&mut pool, 5, 1520);
    for (owner, free) in [(6, 1481), (7, 1482), (8, 1483), (9, 1484)] {
        make(&mut pool, owner, free);
    }
    assert_eq!(pool.class_frames(23).nth(4), Some(fifth));
    assert_eq!(pool.store(11, &[1; 1494]), Err(PoolError::NeedFrame));
    // A record that needs class 23 surely fits in any frame of it: the first is taken.
    let first = pool.class_frames(23).next();
    assert_eq!(pool.store(12, &[1; 1460]).unwrap().frame, first.unwrap());
}

/// Records of about 1.5 KiB (1443 to 1523 bytes of data, 22 of the mean size to 32 KiB)
/// stored one after the other, no frees: a 32 KiB frame takes records until the next one
/// does not fit, even where its free space has fallen below that record's class, before
/// another frame is opened.
#[test]
fn sequential_stores_fill_a_frame_to_within_one_record() {
    let mut pool = boxed_pool(200);
    let mut next = 0x9e37_79b9_7f4a_7c15u64;
    // The frame opened last, and the frames opened.
    let mut current = None;
    let mut frames = BTreeSet::new();
    let mut near = 0;
    for owner in 0..2000 {
        next ^= next << 13;
        next ^= next >> 7;
        next ^= next << 17;
        let len = 1443 + (next % 81) as usize;
        let size = (len + HEADER_LEN) as u16;
        let r = loop {
            match pool.store(owner, &content(u64::from(owner), len)) {
                Ok(r) => break r,
                Err(PoolError::NeedFrame) => assert!(pool.add_frame(frame_of(8)).is_ok()),
                Err(e) => panic!("{e:?}"),
            }
        };
        if frames.insert(r.frame) {
            // A new frame: the one opened before has no room for the record.
            if let Some(id) = current {
                let free = free_bytes(&pool, id);
                assert!(free < size, "frame {id} left with {free} bytes for {size}");
            }
            current = Some(r.frame);
        } else if free_bytes(&pool, r.frame) + size < size.div_ceil(64) * 64 {
            // Without holes the record went after the tail, to a frame whose class did
            // not promise room.
            near += 1;
        }
    }
    assert_eq!(pool.pool_stats().packed_frames as usize, frames.len());
    // Measured: 24 near fits for 93 frames; without them, as many frames would have been
    // opened too early.
    assert!(
        near * 5 >= frames.len(),
        "{near} near fits in {} frames",
        frames.len()
    );
}

#[test]
fn add_frame_respects_the_table_and_the_limit() {
    let mut pool = boxed_pool(3);
    assert!(pool.add_frame(new_frame()).is_ok());
    pool.set_page_limit(Some(1));
    assert_eq!(pool.page_limit(), Some(1));
    assert!(pool.add_frame(new_frame()).is_err());
    // The one frame is used, and a second object that does not fit cannot get one.
    put(&mut pool, 1, 3000);
    assert_eq!(pool.store(2, &[0; 3000]), Err(PoolError::NeedFrame));
    assert!(pool.add_frame(new_frame()).is_err());
    // Without a limit, the table's 3 entries are the limit.
    pool.set_page_limit(None);
    assert!(pool.add_frame(new_frame()).is_ok());
    assert!(pool.add_frame(new_frame()).is_ok());
    assert!(pool.add_frame(new_frame()).is_err());
    assert_eq!(pool.pool_stats().total_frames(), 3);
    // Huge pages take reserve frames too.
    assert!(pool.store_huge(5, &[5; 4096]).is_ok());
    assert!(pool.store_huge(6, &[6; 4096]).is_ok());
    assert_eq!(pool.store_huge(7, &[7; 4096]), Err(PoolError::NeedFrame));
}

#[test]
fn emptied_frames_fill_the_reserve_up_to_its_cap() {
    let mut pool = boxed_pool(8);
    let ids: Vec<FrameId> = (0..4)
        .map(|owner| {
            assert!(pool.add_frame(new_frame()).is_ok());
            pool.store_huge(owner, &[owner as u8; 4096]).unwrap()
        })
        .collect();
    let mut released = 0;
    for id in ids {
        pool.free_huge(id, |_| released += 1).unwrap();
    }
    assert_eq!(pool.pool_stats().reserve_frames, RESERVE_CAP);
    assert_eq!(released, 4 - RESERVE_CAP);
    // Over the frame limit, emptied frames are released instead.
    let a = pool.store_huge(1, &[1; 4096]).unwrap();
    pool.set_page_limit(Some(1));
    pool.free_huge(a, |_| released += 1).unwrap();
    assert_eq!(released, 4 - RESERVE_CAP + 1);
    assert_eq!(pool.release_reserve(|_| released += 1), 1);
    assert_eq!(released, 4);
    assert_eq!(pool.pool_stats(), PoolStats::default());
}

#[test]
fn freeing_the_last_record_drops_the_tail_past_holes() {
    let mut pool = boxed_pool(2);
    let a = put(&mut pool, 1, 10);
    let b = put(&mut pool, 2, 20);
    let c = put(&mut pool, 3, 30);
    let usage = |pool: &Pool<_, _>| match pool.frame_state(a.frame) {
        Some(FrameState::Packed(u)) => u,
        other => panic!("{other:?}"),
    };
    pool.free(b, 2, |_| panic!()).unwrap();
    assert_eq!(
        usage(&pool),
        Usage {
            tail: 78,
            record_bytes: 52,
            objects: 2,
            len: 4096,
            largest_hole: 26,
            padding: 0,
        }
    );
    assert_eq!(pool.pool_stats().hole_bytes, 26);
    pool.free(c, 3, |_| panic!()).unwrap();
    assert_eq!(
        usage(&pool),
        Usage {
            tail: 16,
            record_bytes: 16,
            objects: 1,
            len: 4096,
            largest_hole: 0,
            padding: 0,
        }
    );
    assert_eq!(pool.pool_stats().hole_bytes, 0);
    // A stale reference is refused, even where a record used to be.
    assert_eq!(pool.free(c, 3, |_| panic!()), Err(PoolError::BadRef));
    assert_eq!(pool.load(b, 2), Err(PoolError::BadRef));
    // The next store reuses the reclaimed space.
    assert_eq!(put(&mut pool, 4, 5).offset, 16);
}

/// The records of frame `id` as `(offset, size, free)`.
fn layout(pool: &BoxedPool, id: FrameId) -> Vec<(u16, u16, bool)> {
    let Some(FrameState::Packed(u)) = pool.frame_state(id) else {
        panic!("frame {id} is not packed");
    };
    records(pool.frame(id).unwrap(), u.tail)
        .map(|r| (r.offset, r.size(), r.is_free()))
        .collect()
}

fn usage_of(pool: &BoxedPool, id: FrameId) -> Usage {
    match pool.frame_state(id) {
        Some(FrameState::Packed(u)) => u,
        other => panic!("{other:?}"),
    }
}

#[test]
fn freed_records_merge_with_the_holes_around_them() {
    let mut pool = boxed_pool(2);
    // Records of 106, 206, 306, 406 and 506 bytes.
    let r: Vec<ObjectRef> = (0..5)
        .map(|i| put(&mut pool, i, 100 * (i as usize + 1)))
        .collect();
    let id = r[0].frame;
    pool.free(r[1], 1, |_| panic!()).unwrap();
    pool.free(r[3], 3, |_| panic!()).unwrap();
    assert_eq!(
        layout(&pool, id),
        [
            (0, 106, false),
            (106, 206, true),
            (312, 306, false),
            (618, 406, true),
            (1024, 506, false)
        ]
    );
    assert_eq!(usage_of(&pool, id).largest_hole, 406);
    // Freeing the record between two holes leaves one hole over all three.
    pool.free(r[2], 2, |_| panic!()).unwrap();
    assert_eq!(
        layout(&pool, id),
        [(0, 106, false), (106, 918, true), (1024, 506, false)]
    );
    assert_eq!(usage_of(&pool, id).largest_hole, 918);
    assert_eq!(pool.pool_stats().hole_bytes, 918);
    // Merging with the hole before only, then after only.
    let s = put(&mut pool, 5, 100);
    assert_eq!(
        s.offset, 106,
        "the hole takes the record, the rest stays a hole"
    );
    assert_eq!(
        layout(&pool, id),
        [
            (0, 106, false),
            (106, 106, false),
            (212, 812, true),
            (1024, 506, false)
        ]
    );
    pool.free(s, 5, |_| panic!()).unwrap();
    assert_eq!(
        layout(&pool, id),
        [(0, 106, false), (106, 918, true), (1024, 506, false)]
    );
    // The last record goes, and the tail drops past the hole before it.
    pool.free(r[4], 4, |_| panic!()).unwrap();
    assert_eq!(layout(&pool, id), [(0, 106, false)]);
    let u = usage_of(&pool, id);
    assert_eq!((u.tail, u.largest_hole), (106, 0));
    assert_eq!(pool.pool_stats().hole_bytes, 0);
}

#[test]
fn stores_take_the_hole_that_fits_best() {
    let mut pool = boxed_pool(2);
    // Holes of 406, 306 and 206 bytes between live records of 16 bytes.
    let mut owner = 0;
    let mut holes = Vec::new();
    for len in [400, 300, 200] {
        put(&mut pool, owner, 10);
        holes.push((owner + 1, put(&mut pool, owner + 1, len)));
        owner += 2;
    }
    let last = put(&mut pool, owner, 10);
    let id = last.frame;
    for (owner, r) in holes {
        pool.free(r, owner, |_| panic!()).unwrap();
    }
    let tail = usage_of(&pool, id).tail;
    assert_eq!(usage_of(&pool, id).largest_hole, 406);
    // An exact fit beats a smaller hole that would leave a rest.
    let exact = pool.store(20, &[1; 300]).unwrap();
    assert_eq!((exact.frame, exact.offset), (id, 438));
    // 197 bytes (203 with the header) would leave 3 bytes of the 206-byte hole, too few
    // for a hole: the 406-byte hole takes it.
    let big = pool.store(21, &[2; 197]).unwrap();
    assert_eq!(big.offset, 16);
    assert_eq!(usage_of(&pool, id).largest_hole, 206);
    // 188 bytes leave the smallest hole, 12 bytes, in the 206-byte hole.
    let tight = pool.store(22, &[3; 188]).unwrap();
    assert_eq!(tight.offset, 760);
    let u = usage_of(&pool, id);
    assert_eq!((u.largest_hole, u.tail), (203, tail));
    assert!(layout(&pool, id).contains(&(954, 12, true)));
    // 190 bytes fit no hole: 196 would leave 7 bytes of the 203-byte one, too few for a
    // hole.
    let after = pool.store(23, &[4; 190]).unwrap();
    assert_eq!(after.offset, tail);
    for (owner, r, len) in [(20, exact, 300), (21, big, 197), (22, tight, 188)] {
        let byte = owner as u8 - 19;
        assert_eq!(pool.load(r, owner).unwrap(), &vec![byte; len][..]);
    }
    assert_eq!(pool.pool_stats().hole_bytes, 203 + 12);
}

#[test]
fn a_frame_without_room_after_its_tail_takes_records_in_its_holes() {
    let mut pool = boxed_pool(4);
    // One page: a record of 2006 bytes to free, one of 2048, 42 bytes after the tail.
    let [a, b] = [(1, 2000), (2, 2042)].map(|(owner, len)| put(&mut pool, owner, len));
    assert_eq!((b.frame, free_bytes(&pool, a.frame)), (a.frame, 42));
    pool.free(a, 1, |_| panic!()).unwrap();
    let u = usage_of(&pool, a.frame);
    assert_eq!((u.largest_hole, u.capacity()), (2006, 1994));
    // The class of 1994 bytes (31) has room for any record of up to 1984 bytes.
    let c = pool.store(3, &[3; 1978]).unwrap();
    assert_eq!((c.frame, c.offset), (a.frame, 0));
    pool.free(c, 3, |_| panic!()).unwrap();
    // Records of 1985 to 2048 bytes need class 32, which does not promise them room, but
    // the hole takes them as a near fit if they fit it: exactly, or leaving room for a
    // hole (12 bytes). A record of 2003 bytes would leave 3: it takes a new frame.
    assert!(pool.add_frame(new_frame()).is_ok());
    let n = pool.store(4, &[4; 1997]).unwrap();
    assert_ne!(n.frame, a.frame);
    // The new frame, with 2093 free bytes, is a sure fit for the next records; the near
    // fit is tighter.
    let d = pool.store(5, &[5; 1988]).unwrap();
    assert_eq!((d.frame, d.offset), (a.frame, 0));
    assert_eq!(usage_of(&pool, a.frame).largest_hole, 12);
    pool.free(d, 5, |_| panic!()).unwrap();
    let e = pool.store(6, &[6; 2000]).unwrap();
    assert_eq!((e.frame, e.offset), (a.frame, 0));
    assert_eq!(usage_of(&pool, a.frame).largest_hole, 0);
    assert_eq!(pool.load(b, 2).unwrap(), &content(3, 2042)[..]);
}

#[test]
fn loads_check_the_owner_the_offset_and_the_length() {
    let mut pool = boxed_pool(4);
    let [a, b, c, d] =
        [(1, 100), (2, 100), (3, 300), (4, 50)].map(|(owner, len)| put(&mut pool, owner, len));
    assert_eq!(pool.load(c, 3).unwrap(), &content(4, 300)[..]);
    // Wrong owner, wrong length, no such frame.
    assert_eq!(pool.load(c, 2), Err(PoolError::BadRef));
    assert_eq!(pool.load(c, FREE_OWNER), Err(PoolError::BadRef));
    assert_eq!(
        pool.load(ObjectRef { len: 299, ..c }, 3),
        Err(PoolError::BadRef)
    );
    assert_eq!(
        pool.load(ObjectRef { len: 301, ..c }, 3),
        Err(PoolError::BadRef)
    );
    assert_eq!(
        pool.load(ObjectRef { frame: 3, ..c }, 3),
        Err(PoolError::BadRef)
    );
    assert_eq!(
        pool.load(
            ObjectRef {
                offset: c.offset + 6,
                ..c
            },
            3
        ),
        Err(PoolError::BadRef)
    );
    // A freed record, and one swallowed by the hole before it.
    pool.free(a, 1, |_| panic!()).unwrap();
    pool.free(b, 2, |_| panic!()).unwrap();
    assert_eq!(layout(&pool, a.frame)[0], (0, 212, true));
    assert_eq!(pool.load(a, 1), Err(PoolError::BadRef));
    assert_eq!(pool.load(b, 2), Err(PoolError::BadRef));
    assert_eq!(pool.free(b, 2, |_| panic!()), Err(PoolError::BadRef));
    // The hole is reused by another owner at the same place and length.
    let e = pool.store(5, &content(2, 100)).unwrap();
    assert_eq!((e.offset, e.len), (a.offset, a.len));
    assert_eq!(pool.load(a, 1), Err(PoolError::BadRef));
    assert_eq!(pool.load(e, 5).unwrap(), &content(2, 100)[..]);
    // A record past the tail.
    pool.free(d, 4, |_| panic!()).unwrap();
    assert_eq!(pool.load(d, 4), Err(PoolError::BadRef));
    // Records moved by compaction: c's old place is inside its new data, b's old place is
    // c's header now.
    pool.free(e, 5, |_| panic!()).unwrap();
    let mut moves = Vec::new();
    pool.compact_frame(c.frame, |owner, old, new| moves.push((owner, old, new)))
        .unwrap();
    let c2 = moves[0].2;
    assert_eq!((moves.len(), c2.offset), (1, 0));
    assert_eq!(pool.load(c, 3), Err(PoolError::BadRef));
    assert_eq!(
        pool.load(ObjectRef { offset: 0, ..b }, 2),
        Err(PoolError::BadRef)
    );
    assert_eq!(pool.load(c2, 3).unwrap(), &content(4, 300)[..]);
}

#[test]
fn loads_and_stores_order_the_lru() {
    let mut pool = boxed_pool(8);
    let a = put(&mut pool, 1, 3000);
    let b = put(&mut pool, 2, 3000);
    assert!(pool.add_frame(new_frame()).is_ok());
    let h = pool.store_huge(3, &[3; 4096]).unwrap();
    assert_eq!(pool.lru_iter().collect::<Vec<_>>(), [a.frame, b.frame, h]);
    assert_eq!(pool.coldest(), Some(a.frame));
    pool.load(a, 1).unwrap();
    assert_eq!(pool.lru_iter().collect::<Vec<_>>(), [b.frame, h, a.frame]);
    pool.load_huge(h).unwrap();
    assert_eq!(pool.lru_iter().collect::<Vec<_>>(), [b.frame, a.frame, h]);
    // A store makes its frame the hottest.
    let r = put(&mut pool, 4, 10);
    let (other, owner) = if r.frame == a.frame { (b, 2) } else { (a, 1) };
    assert_eq!(
        pool.lru_iter().collect::<Vec<_>>(),
        [other.frame, h, r.frame]
    );
    assert_eq!(pool.next_warmer(other.frame), Some(h));
    assert_eq!(pool.next_warmer(r.frame), None);
    // Failed loads and records() do not count as uses.
    assert_eq!(
        pool.load(ObjectRef { len: 1, ..other }, owner),
        Err(PoolError::BadRef)
    );
    assert_eq!(pool.records(other.frame).count(), 1);
    assert_eq!(pool.coldest(), Some(other.frame));
    // Writeback walks the coldest frame's objects.
    let cold: Vec<(u32, ObjectRef)> = pool.records(other.frame).collect();
    assert_eq!(cold, [(owner, other)]);
    // Reserve frames are not on the LRU.
    pool.free_huge(h, |_| panic!()).unwrap();
    assert_eq!(pool.frame_state(h), Some(FrameState::Reserve));
    assert_eq!(pool.next_warmer(h), None);
    assert!(!pool.lru_iter().any(|id| id == h));
}

#[test]
fn compact_frame_reports_each_move_once() {
    let mut pool = boxed_pool(2);
    let refs: Vec<ObjectRef> = (0..5).map(|owner| put(&mut pool, owner, 100)).collect();
    pool.free(refs[0], 0, |_| panic!()).unwrap();
    pool.free(refs[2], 2, |_| panic!()).unwrap();
    // A hole is no object, though its record is still there.
    assert_eq!(pool.load(refs[2], 2), Err(PoolError::BadRef));
    assert_eq!(pool.free(refs[2], 2, |_| panic!()), Err(PoolError::BadRef));
    let mut moves = Vec::new();
    let reclaimed = pool
        .compact_frame(refs[1].frame, |owner, old, new| {
            moves.push((owner, old, new))
        })
        .unwrap();
    assert_eq!(reclaimed, 212);
    let at = |offset| ObjectRef { offset, ..refs[0] };
    assert_eq!(
        moves,
        [
            (1, refs[1], at(0)),
            (3, refs[3], at(106)),
            (4, refs[4], at(212))
        ]
    );
    assert_eq!(pool.load(at(106), 3).unwrap(), &content(4, 100)[..]);
    assert_eq!(pool.load(refs[3], 3), Err(PoolError::BadRef));
    // Nothing left to do.
    assert_eq!(pool.compact_frame(refs[1].frame, |_, _, _| panic!()), Ok(0));
    assert_eq!(
        pool.compact_frame(7, |_, _, _| panic!()),
        Err(PoolError::BadRef)
    );
}

#[test]
fn compact_empties_sparse_frames_into_others() {
    let mut pool = boxed_pool(8);
    // Three frames, each a 3500-byte object and a small one after it. The large objects
    // are freed only once all three frames are made: the hole one leaves would take the
    // next exactly.
    let mut small = Vec::new();
    let mut bigs = Vec::new();
    for i in 0..3 {
        let big = put(&mut pool, 10 + i, 3500);
        let s = put(&mut pool, 20 + i, 500);
        assert_eq!(s.frame, big.frame);
        bigs.push(big);
        small.push(s);
    }
    for (i, big) in (0..).zip(bigs) {
        pool.free(big, 10 + i, |_| panic!()).unwrap();
    }
    assert_eq!(pool.pool_stats().packed_frames, 3);
    let mut slots: BTreeMap<u32, ObjectRef> = (20..23).zip(small).collect();
    let mut released = 0;
    let mut moved = Vec::new();
    let stats = pool.compact(
        |owner, old, new| {
            assert_eq!(slots.insert(owner, new), Some(old));
            moved.push(owner);
        },
        |_| released += 1,
    );
    assert_eq!(
        stats,
        CompactStats {
            frames_compacted: 3,
            hole_bytes_reclaimed: 3 * 3506,
            objects_moved: 3 + 2,
            bytes_moved: 5 * 506,
            frames_emptied: 2,
            pages_emptied: 2,
        }
    );
    assert_eq!(released, 0); // Both went to the reserve.
    let after = pool.pool_stats();
    assert_eq!((after.packed_frames, after.reserve_frames), (1, 2));
    assert_eq!((after.packed_pages, after.reserve_pages), (1, 2));
    assert_eq!(after.fragmentation_permille(), (4096 - 1500) * 1000 / 4096);
    let frames: BTreeSet<FrameId> = slots.values().map(|r| r.frame).collect();
    assert_eq!(frames.len(), 1);
    for (owner, r) in slots {
        assert_eq!(
            pool.load(r, owner).unwrap(),
            &content(u64::from(owner) + 1, 500)[..]
        );
    }
    // Compacting again changes nothing.
    assert_eq!(
        pool.compact(|_, _, _| panic!(), |_| panic!()),
        CompactStats::default()
    );
}

#[test]
fn compact_leaves_frames_that_cannot_be_emptied() {
    let mut pool = boxed_pool(8);
    // Two frames of 2100 bytes each: neither fits in the other.
    let a = put(&mut pool, 1, 2100);
    let b = put(&mut pool, 2, 2100);
    assert_ne!(a.frame, b.frame);
    let stats = pool.compact(|_, _, _| panic!("nothing can move"), |_| panic!());
    assert_eq!(stats, CompactStats::default());
    assert_eq!(pool.pool_stats().packed_frames, 2);
    // Later stores still find both frames (no frame is left out of its bucket).
    let c = pool.store(3, &[0; 1900]).unwrap();
    let d = pool.store(4, &[0; 1900]).unwrap();
    assert_eq!(
        BTreeSet::from([c.frame, d.frame]),
        BTreeSet::from([a.frame, b.frame])
    );
}

/// The compaction marks of the frames of each class, in the order stores try them.
fn marks_by_class(pool: &BoxedPool) -> Vec<Vec<bool>> {
    (0..=ghostswap_core::pool::CLASSES)
        .map(|c| pool.class_frames(c).map(|id| pool.is_marked(id)).collect())
        .collect()
}

#[test]
fn compaction_in_steps_keeps_marked_frames_last_until_it_clears_them() {
    let mut pool = boxed_pool(8);
    // Three frames of a page, nearly full, in one class: none can be emptied.
    let frames: Vec<FrameId> = (1..=3)
        .map(|owner| put(&mut pool, owner, 4000).frame)
        .collect();
    assert_eq!(frames.iter().collect::<BTreeSet<_>>().len(), 3);
    let mut cursor = CompactCursor::new();
    let mut most_marked = 0;
    let mut calls = 1;
    while pool.compact_step(
        &mut cursor,
        1,
        |_, _, _| panic!("nothing can move"),
        |_| panic!(),
    ) == Compaction::LimitReached
    {
        calls += 1;
        for marks in marks_by_class(&pool) {
            assert!(marks.windows(2).all(|w| w[0] <= w[1]), "{marks:?}");
        }
        most_marked = most_marked.max(frames.iter().filter(|&&id| pool.is_marked(id)).count());
    }
    assert_eq!(
        most_marked, 3,
        "every frame was given up, then unmarked in steps"
    );
    // A frame a call: the 3 entries used compacted in place, 3 rounds, 3 entries unmarked.
    assert_eq!(calls, 9);
    assert!(cursor.is_finished());
    assert_eq!(cursor.stats(), CompactStats::default());
    assert!(frames.iter().all(|&id| !pool.is_marked(id)));
}

#[test]
fn an_abandoned_compaction_leaves_marks_that_the_next_one_clears() {
    let mut pool = boxed_pool(8);
    // Frame a holds 2100 and 100 bytes, frame b 2100: neither can be emptied.
    let a1 = put(&mut pool, 1, 2100);
    let a2 = put(&mut pool, 3, 100);
    let b = put(&mut pool, 2, 2100);
    assert_eq!(a1.frame, a2.frame);
    assert_ne!(a1.frame, b.frame);
    let mut cursor = CompactCursor::new();
    while !(pool.is_marked(a1.frame) && pool.is_marked(b.frame)) {
        assert_eq!(
            pool.compact_step(&mut cursor, 1, |_, _, _| panic!(), |_| panic!()),
            Compaction::LimitReached
        );
    }
    // The cursor is abandoned here, both frames marked. Freeing the large object of frame
    // a makes it the sparsest frame, and its last object fits in frame b.
    pool.free(a1, 1, |_| panic!()).unwrap();
    assert!(pool.is_marked(a1.frame), "a mark stays with its frame");
    let mut moves = Vec::new();
    let stats = pool.compact(|owner, old, new| moves.push((owner, old, new)), |_| {});
    // The marks were cleared first: frame a, the sparsest, was emptied into b.
    assert_eq!(stats.frames_emptied, 1);
    assert_eq!(moves.last().map(|m| (m.0, m.2.frame)), Some((3, b.frame)));
    assert!(!matches!(
        pool.frame_state(a1.frame),
        Some(FrameState::Packed(_))
    ));
    assert!(!pool.is_marked(b.frame));
}

#[test]
fn compaction_in_steps_goes_on_after_frames_change() {
    let mut pool = boxed_pool(16);
    let objects: Vec<ObjectRef> = (0..24).map(|owner| put(&mut pool, owner, 700)).collect();
    let mut slots: BTreeMap<u32, ObjectRef> = (0..24).zip(objects).collect();
    let mut cursor = CompactCursor::new();
    let mut owner = 0;
    loop {
        let mut moves = Vec::new();
        let done = pool.compact_step(
            &mut cursor,
            2,
            |owner, old, new| moves.push((owner, old, new)),
            |_| {},
        );
        for (owner, old, new) in moves {
            assert_eq!(slots.insert(owner, new), Some(old));
        }
        if done == Compaction::Finished {
            break;
        }
        // Between steps: every other object freed, a new one stored.
        if let Some(old) = slots.remove(&owner) {
            pool.free(old, owner, |_| {}).unwrap();
        }
        slots.insert(100 + owner, put(&mut pool, 100 + owner, 300));
        owner += 2;
    }
    for (&owner, &r) in &slots {
        let expected = content(u64::from(owner) + 1, usize::from(r.len));
        assert_eq!(pool.load(r, owner).unwrap(), &expected[..]);
    }
    for id in 0..16 {
        assert!(!pool.is_marked(id));
    }
}

#[test]
fn compact_empties_a_frame_entirely_or_not_at_all() {
    let mut pool = boxed_pool(4);
    let y1 = put(&mut pool, 1, 3000);
    let y2 = put(&mut pool, 2, 1000);
    let x1 = put(&mut pool, 3, 500);
    let x2 = put(&mut pool, 4, 2000);
    assert_eq!((y1.frame, x1.frame), (y2.frame, x2.frame));
    pool.free(y2, 2, |_| panic!()).unwrap();
    // Frame x, the sparsest, has a 506-byte record that would fit in frame y's 1090 free
    // bytes, and a 2006-byte one that would not: nothing moves.
    assert_eq!(free_bytes(&pool, y1.frame), 1090);
    assert_eq!(free_bytes(&pool, x1.frame), 1584);
    let stats = pool.compact(|_, _, _| panic!("nothing can move"), |_| panic!());
    assert_eq!(stats, CompactStats::default());
}

#[test]
fn stats_and_fragmentation() {
    let mut pool = boxed_pool(4);
    assert_eq!(pool.pool_stats().fragmentation_permille(), 0);
    let a = put(&mut pool, 1, 2042);
    put(&mut pool, 2, 100);
    pool.free(a, 1, |_| panic!()).unwrap();
    let s = pool.pool_stats();
    assert_eq!(
        s,
        PoolStats {
            packed_frames: 1,
            packed_pages: 1,
            huge_frames: 0,
            reserve_frames: 0,
            reserve_pages: 0,
            live_bytes: 100,
            record_bytes: 106,
            hole_bytes: 2048,
            objects: 1,
        }
    );
    assert_eq!(s.fragmentation_permille(), (4096 - 100) * 1000 / 4096);
    assert_eq!(s.total_frames(), 1);
    assert_eq!(s.total_pages(), 1);
}

#[test]
fn drain_hands_back_every_frame() {
    let mut pool = boxed_pool(6);
    put(&mut pool, 1, 3000);
    put(&mut pool, 2, 3000);
    assert!(pool.add_frame(new_frame()).is_ok());
    pool.store_huge(3, &[0; 4096]).unwrap();
    assert!(pool.add_frame(new_frame()).is_ok());
    let mut count = 0;
    assert_eq!(pool.drain(|_| count += 1), 4);
    assert_eq!(count, 4);
    assert_eq!(pool.pool_stats(), PoolStats::default());
    assert_eq!(pool.lru_iter().count(), 0);
    // The pool is as new: all 6 entries can take frames again.
    for _ in 0..6 {
        assert!(pool.add_frame(new_frame()).is_ok());
    }
    assert!(pool.add_frame(new_frame()).is_err());
}

#[test]
fn huge_pages_round_trip() {
    let mut pool = boxed_pool(2);
    assert!(pool.add_frame(new_frame()).is_ok());
    let page = page_of(9);
    let id = pool.store_huge(4, &page).unwrap();
    assert_eq!(pool.frame_state(id), Some(FrameState::Huge { owner: 4 }));
    assert_eq!(pool.load_huge(id).unwrap(), &*page);
    assert_eq!(pool.pool_stats().huge_frames, 1);
    // A huge frame is no packed object, and the other way round.
    let as_ref = ObjectRef {
        frame: id,
        offset: 0,
        len: 4090,
    };
    assert_eq!(pool.load(as_ref, 4), Err(PoolError::BadRef));
    assert_eq!(pool.compact_frame(id, |_, _, _| panic!()), Ok(0));
    let r = put(&mut pool, 5, 10);
    assert_eq!(pool.load_huge(r.frame), Err(PoolError::BadRef));
    assert_eq!(
        pool.free_huge(r.frame, |_| panic!()),
        Err(PoolError::BadRef)
    );
    pool.free_huge(id, |_| panic!()).unwrap();
    assert_eq!(pool.free_huge(id, |_| panic!()), Err(PoolError::BadRef));
}

// The intrusive list.

struct Plain;

impl Chain<Links> for Plain {
    fn links(entry: &Links) -> Option<&Links> {
        Some(entry)
    }
    fn links_mut(entry: &mut Links) -> Option<&mut Links> {
        Some(entry)
    }
}

/// Entries that are `None` cannot be linked.
struct Maybe;

impl Chain<Option<Links>> for Maybe {
    fn links(entry: &Option<Links>) -> Option<&Links> {
        entry.as_ref()
    }
    fn links_mut(entry: &mut Option<Links>) -> Option<&mut Links> {
        entry.as_mut()
    }
}

#[test]
fn list_operations() {
    let mut entries = [Links::default(); 6];
    let mut list = List::<Plain>::new();
    assert!(list.is_empty());
    assert_eq!(list.pop_front(&mut entries), None);
    for id in [3, 1, 4] {
        assert!(list.push_back(&mut entries, id));
    }
    assert!(list.push_front(&mut entries, 0));
    assert_eq!(list.iter(&entries).collect::<Vec<_>>(), [0, 3, 1, 4]);
    assert_eq!(
        (list.front(), list.back(), list.len()),
        (Some(0), Some(4), 4)
    );
    assert_eq!(list.next(&entries, 3), Some(1));
    assert_eq!(list.next(&entries, 4), None);
    assert!(!list.remove(&mut entries, 5), "not on the list");
    assert!(!list.push_back(&mut entries, 6), "out of the table");
    assert!(!list.remove(&mut entries, u32::MAX));
    assert!(list.remove(&mut entries, 1));
    assert!(list.remove(&mut entries, 4));
    assert_eq!(list.iter(&entries).collect::<Vec<_>>(), [0, 3]);
    assert_eq!(list.back(), Some(3));
    assert_eq!(list.pop_front(&mut entries), Some(0));
    assert_eq!(list.pop_front(&mut entries), Some(3));
    assert!(list.is_empty());
    assert_eq!((list.front(), list.back()), (None, None));
    assert_eq!(entries, [Links::UNLINKED; 6]);
}

#[test]
fn list_refuses_entries_without_links() {
    let mut entries = [Some(Links::default()), None, Some(Links::default())];
    let mut list = List::<Maybe>::new();
    assert!(list.push_back(&mut entries, 0));
    assert!(!list.push_back(&mut entries, 1));
    assert!(!list.push_front(&mut entries, 1));
    assert!(!list.remove(&mut entries, 1));
    assert!(list.push_front(&mut entries, 2));
    assert_eq!(list.iter(&entries).collect::<Vec<_>>(), [2, 0]);
    assert_eq!(list.next(&entries, 1), None);
}

#[test]
fn list_walks_stop_on_corrupted_links() {
    let mut entries = [Links::default(); 2];
    let mut b = List::<Plain>::new();
    let mut c = List::<Plain>::new();
    // Break the rule that an entry is on one list of a kind at a time: entry 1 ends up
    // with 0 on both sides, and removing it links 0 to itself.
    assert!(c.push_back(&mut entries, 1));
    assert!(b.push_back(&mut entries, 0));
    assert!(b.push_back(&mut entries, 1));
    assert!(c.push_back(&mut entries, 0));
    assert!(b.remove(&mut entries, 1));
    assert_eq!(b.next(&entries, 0), Some(0));
    // The walk is bounded by the length instead of going round forever.
    assert_eq!(b.iter(&entries).count(), 1);
}

/// The model test must notice a frame the pool drops instead of handing back, or the
/// conservation checks prove nothing.
#[test]
fn registry_detects_dropped_frames() {
    let registry = SharedRegistry::default();
    let mut pool: TestPool = Pool::new(table(2));
    assert!(pool.add_frame(TestFrame::new(&registry, 4096)).is_ok());
    assert_eq!(registry.borrow().live.len(), 1);
    drop(pool);
    assert_eq!(registry.borrow().dropped, vec![0]);
}

// Frames of several pages.

#[test]
fn frame_lengths_are_multiples_of_a_page_up_to_32_kib() {
    for pages in 1..=8 {
        assert_eq!(frame_pages(pages * 4096), Some(pages as u8));
    }
    for len in [
        0,
        1,
        4095,
        4097,
        6000,
        8191,
        32767,
        32769,
        36864,
        65536,
        usize::MAX,
    ] {
        assert_eq!(frame_pages(len), None, "{len}");
    }
    let mut pool = boxed_pool(16);
    for len in [0, 4095, 4097, 12000, 36864, 65536] {
        let frame = vec![7u8; len].into_boxed_slice();
        let back = pool.add_frame(frame).unwrap_err();
        assert_eq!(back.len(), len, "the same frame comes back");
    }
    assert_eq!(pool.pool_stats(), PoolStats::default());
    for pages in 1..=8 {
        assert!(pool.add_frame(frame_of(pages)).is_ok());
    }
    let stats = pool.pool_stats();
    assert_eq!((stats.reserve_frames, stats.reserve_pages), (8, 36));
    assert_eq!((stats.total_frames(), stats.total_pages()), (8, 36));
}

#[test]
fn the_page_limit_counts_pages_not_frames() {
    let mut pool = boxed_pool(16);
    pool.set_page_limit(Some(10));
    assert!(pool.add_frame(frame_of(8)).is_ok());
    assert!(pool.add_frame(frame_of(4)).is_err(), "12 pages > 10");
    assert!(pool.add_frame(frame_of(2)).is_ok());
    assert!(pool.add_frame(frame_of(1)).is_err(), "11 pages > 10");
    assert_eq!(pool.pool_stats().total_pages(), 10);
    // An emptied frame goes back to the reserve only within the limit.
    let a = pool.store(1, &[1; 4000]).unwrap();
    assert_eq!(pool.frame_len(a.frame), Some(8 * 4096));
    pool.set_page_limit(Some(9));
    let mut released = Vec::new();
    pool.free(a, 1, |f| released.push(f)).unwrap();
    assert_eq!(released.len(), 1);
    assert_eq!(released[0].len(), 8 * 4096);
    assert_eq!(pool.pool_stats().total_pages(), 2);
    // 2 + 8 > 9: refused; 2 + 4 fits.
    assert!(pool.add_frame(frame_of(8)).is_err());
    assert!(pool.add_frame(frame_of(4)).is_ok());
    assert_eq!(pool.pool_stats().reserve_pages, 6);
}

#[test]
fn huge_pages_take_only_one_page_frames() {
    let mut pool = boxed_pool(8);
    assert!(pool.add_frame(frame_of(8)).is_ok());
    assert!(pool.add_frame(frame_of(2)).is_ok());
    // The reserve has 10 pages but no frame of one page.
    assert_eq!(pool.store_huge(1, &page_of(1)), Err(PoolError::NeedFrame));
    assert!(pool.add_frame(frame_of(1)).is_ok());
    let page = page_of(2);
    let id = pool.store_huge(1, &page).unwrap();
    assert_eq!(pool.frame_len(id), Some(4096));
    assert_eq!(pool.frame(id).unwrap(), &page[..]);
    assert_eq!(pool.load_huge(id).unwrap(), &*page);
    let stats = pool.pool_stats();
    assert_eq!(
        (stats.huge_frames, stats.reserve_frames, stats.reserve_pages),
        (1, 2, 10)
    );
    assert_eq!(stats.total_pages(), 11);
    // The reserve is at its cap: the freed frame is released.
    let mut released = Vec::new();
    pool.free_huge(id, |f| released.push(f)).unwrap();
    assert_eq!(released.len(), 1);
    assert_eq!(&released[0][..], &page[..]);
    assert_eq!(pool.store_huge(2, &page), Err(PoolError::NeedFrame));
    // With room in the reserve, a freed huge frame is kept and serves the next one.
    pool.release_reserve(|_| ());
    assert!(pool.add_frame(frame_of(1)).is_ok());
    let id = pool.store_huge(2, &page).unwrap();
    pool.free_huge(id, |_| panic!("kept")).unwrap();
    assert_eq!(pool.pool_stats().reserve_pages, 1);
    assert_eq!(pool.store_huge(3, &page), Ok(id));
}

#[test]
fn new_packed_frames_take_the_largest_reserve_frame() {
    let mut pool = boxed_pool(8);
    for pages in [2, 8, 1, 4] {
        assert!(pool.add_frame(frame_of(pages)).is_ok());
    }
    let mut owner = 0;
    for pages in [8, 4, 2, 1] {
        // Records of a page: each frame takes one per page, then the next is opened.
        let r = pool.store(owner, &[0; 4090]).unwrap();
        assert_eq!(pool.frame_len(r.frame), Some(pages * 4096));
        for _ in 1..pages {
            owner += 1;
            assert_eq!(pool.store(owner, &[0; 4090]).unwrap().frame, r.frame);
        }
        owner += 1;
        assert_eq!(free_bytes(&pool, r.frame), 0);
    }
    assert_eq!(pool.store(owner, &[0; 1]), Err(PoolError::NeedFrame));
}

#[test]
fn large_frames_are_told_apart_by_their_free_space() {
    let mut pool = boxed_pool(8);
    assert!(pool.add_frame(frame_of(8)).is_ok());
    // Frame a: eight records of a page, full.
    let a: Vec<ObjectRef> = (0..8).map(|owner| put(&mut pool, owner, 4090)).collect();
    assert_eq!(free_bytes(&pool, a[0].frame), 0);
    assert!(pool.add_frame(frame_of(8)).is_ok());
    // Frame b: three, 20480 bytes free.
    let b: Vec<ObjectRef> = (10..13).map(|owner| put(&mut pool, owner, 4090)).collect();
    assert_ne!(a[0].frame, b[0].frame);
    // Frame a gets 8192 bytes free: a small object goes there, the fuller frame.
    pool.free(a[7], 7, |_| panic!()).unwrap();
    pool.free(a[6], 6, |_| panic!()).unwrap();
    assert_eq!(free_bytes(&pool, a[0].frame), 8192);
    assert_eq!(pool.store(20, &[1; 100]).unwrap().frame, a[0].frame);
    // Now frame a has more free space than b: b is the better fit.
    for (owner, r) in a.iter().enumerate().take(6).skip(2) {
        pool.free(*r, owner as u32, |_| panic!()).unwrap();
    }
    pool.compact_frame(a[0].frame, |_, _, _| ()).unwrap();
    assert!(free_bytes(&pool, a[0].frame) > free_bytes(&pool, b[0].frame));
    assert_eq!(pool.store(21, &[1; 100]).unwrap().frame, b[0].frame);
}

#[test]
fn compact_merges_sparse_large_frames() {
    let mut pool = boxed_pool(8);
    assert!(pool.add_frame(frame_of(8)).is_ok());
    assert!(pool.add_frame(frame_of(8)).is_ok());
    // 22 records of 1456 bytes fill a 32 KiB frame; keep 5 of each frame's.
    let refs: Vec<ObjectRef> = (0..44).map(|owner| put(&mut pool, owner, 1450)).collect();
    assert!(refs[..22].iter().all(|r| r.frame == refs[0].frame));
    assert!(refs[22..].iter().all(|r| r.frame == refs[22].frame));
    let mut kept = BTreeMap::new();
    for (owner, r) in refs.into_iter().enumerate() {
        if owner % 22 % 4 == 0 && owner % 22 < 20 {
            kept.insert(owner as u32, r);
        } else {
            pool.free(r, owner as u32, |_| panic!()).unwrap();
        }
    }
    let before = pool.pool_stats();
    assert_eq!(
        (before.packed_frames, before.packed_pages, before.objects),
        (2, 16, 10)
    );
    // Each frame has 5 * 1456 = 7280 bytes of records: both fit in one 32 KiB frame, which
    // only finer classes above one page of free space can tell.
    let stats = pool.compact(
        |owner, old, new| assert_eq!(kept.insert(owner, new), Some(old)),
        |_| panic!("the emptied frame goes to the reserve"),
    );
    assert_eq!((stats.frames_emptied, stats.pages_emptied), (1, 8));
    let after = pool.pool_stats();
    assert_eq!((after.packed_frames, after.packed_pages), (1, 8));
    assert_eq!((after.reserve_frames, after.reserve_pages), (1, 8));
    for (owner, r) in kept {
        assert_eq!(
            pool.load(r, owner).unwrap(),
            &content(u64::from(owner) + 1, 1450)[..]
        );
    }
}

/// 10 000 objects of 1450 bytes: single-page frames hold two each, 32 KiB frames come
/// within 3 % of the records' bytes.
#[test]
fn large_frames_pack_objects_tightly() {
    const OBJECTS: u32 = 10_000;
    let record = 1450 + HEADER_LEN;
    for pages in [1usize, 8] {
        let mut pool = boxed_pool(OBJECTS as usize + 4);
        for owner in 0..OBJECTS {
            loop {
                match pool.store(owner, &[owner as u8; 1450]) {
                    Ok(_) => break,
                    Err(PoolError::NeedFrame) => assert!(pool.add_frame(frame_of(pages)).is_ok()),
                    Err(e) => panic!("{e:?}"),
                }
            }
        }
        let stats = pool.pool_stats();
        assert_eq!(stats.objects, u64::from(OBJECTS));
        assert_eq!(stats.total_pages(), stats.packed_pages);
        let used = stats.packed_pages * 4096;
        if pages == 1 {
            assert_eq!(stats.packed_frames, OBJECTS / 2, "two per page");
        } else {
            let frame = (pages * 4096) as u64;
            let bound = (OBJECTS as u64 * record as u64 * 103 / 100).div_ceil(frame) * frame;
            assert!(used <= bound, "{used} bytes > {bound}");
            assert!(stats.fragmentation_permille() < 40);
        }
    }
}

#[test]
fn records_in_large_frames() {
    let mut frame = vec![0u8; MAX_FRAME_SIZE];
    // The last bytes of a 32 KiB frame are reachable with u16 offsets.
    let r = write_record(&mut frame, 32768 - 4096, 5, &[9; MAX_OBJECT]).unwrap();
    assert_eq!(r.end() as usize, MAX_FRAME_SIZE);
    assert_eq!(read_record(&frame, r.offset, 32768), Some(r));
    assert!(write_record(&mut frame, 32768 - 6, 5, &[1]).is_none());
    // No object longer than a page minus its header, whatever the room.
    assert!(write_record(&mut frame, 0, 5, &[1; MAX_OBJECT + 1]).is_none());
    // Records are read only up to the slice's own end.
    assert_eq!(read_record(&frame[..8192], r.offset, 32768), None);
    // A slice longer than the largest frame has no records and takes none.
    let mut long = vec![0u8; MAX_FRAME_SIZE + 1];
    assert!(write_record(&mut long, 0, 1, b"x").is_none());
    assert!(!set_owner(&mut long, 0, 1));
    assert_eq!(read_record(&long, 0, 100), None);
    assert_eq!(records(&long, 100).count(), 0);
}
