//! Random interleavings of stores, frees, loads, reads in flight from the backing device,
//! frame writebacks begun and ended (written or failed), direct stores to the backing
//! device begun and ended (written or failed), and compaction on a `Store` with a backing
//! device, checked against a model: a map from slot to the page it holds.
//!
//! Several frame writes and direct stores are in flight at a time. The backing device is
//! simulated as bytes: a write lands when it ends, whatever happened to its frame and slots
//! meanwhile (it is the copy `begin_writeback` made, or the block the direct store built),
//! and a failed write leaves garbage. A direct store takes effect when its write ends: the
//! slot then holds its page, whatever was stored there meanwhile; a failed one leaves the
//! slot as it is. A load of a
//! migrated slot is answered from those bytes: the record at the destination must hold
//! the slot's latest page. A read kept in flight must find, when it ends, the bytes it
//! found when it began: its extent was not reused meanwhile.
//!
//! After every operation:
//! - every slot loads back exactly its latest page, from memory or from the device;
//! - the pool holds exactly one object per slot resident or migrating in a packed frame
//!   and one huge frame per huge one (a completion freed the right object, also after
//!   compaction moved it), and the class gauges and `stored_pages` agree;
//! - the extents' holds are the migrated slots, the writes (frame and direct) in flight and
//!   the reads in flight, the blocks in use are exactly the extents they name, and no
//!   release was refused (`bad_releases == 0`);
//! - the stores, direct stores and pages written counted are those made.
//!
//! The whole-pool work done in bounded steps runs interleaved with all of that: a
//! compaction (sometimes abandoned midway), idle marking, and writeback's walk picking
//! frames to begin (each must be taken by its mode and have a slot to write). The backing
//! device's search looks at one to three map words a call in some cases, on a device that
//! starts fragmented (held by blocks of its own but for short runs): an allocation that
//! reaches that limit changes nothing, called again it must end within a sweep of calls
//! over the map, and it may fail with `NoSpace` only if no run is free.
//!
//! At the end every write ends, every read ends and every slot is freed: then no block is
//! in use, no hold is left, and every frame handed to the store has been released.

#[allow(dead_code)] // Only the frames and store helpers of `common` are used here.
mod common;
use common::frames::{SharedRegistry, TestFrame};
use common::store::ToTheEnd;
use common::writeback::block_sum;
use ghostswap_core::backing::{Backing, BlockEntry, Extents, SEARCH_WORDS};
use ghostswap_core::frame::{records, Page, FREE_OWNER, HEADER_LEN, MAX_FRAME_SIZE, MAX_OBJECT};
use ghostswap_core::migrate::{Dest, State};
use ghostswap_core::pool::{
    CompactCursor, Compaction, FrameEntry, FrameId, FrameState, IdleMarking, RESERVE_CAP,
};
use ghostswap_core::store::{
    Content, DirectWrite, Found, FrameWrite, Incoming, NextWriteback, Store, StoreError,
    WritebackError, WritebackMode,
};
use proptest::prelude::*;
use proptest::test_runner::{RngAlgorithm, TestCaseError};
use std::collections::{BTreeMap, BTreeSet};

type Frame = TestFrame;
type TestStore =
    Store<Vec<State<Content>>, Frame, Vec<FrameEntry<Frame>>, Vec<u64>, Vec<BlockEntry>>;

const PAGE: usize = 4096;
/// What a failed write leaves on the device.
const GARBAGE: u8 = 0xee;

/// Deterministic pseudo-random bytes for a seed: the top bytes of a linear congruential
/// sequence.
fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 56) as u8
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum ModelPage {
    SameFilled(u64),
    Packed(Vec<u8>),
    Huge(Box<Page>),
}

#[derive(Debug, Clone)]
enum Op {
    /// Slot, page (0 same-filled, 1 huge, else packed of that many bytes), seed, frame
    /// pages.
    Store(u64, usize, u64, usize),
    Free(u64),
    FreeRange(u64, u64),
    /// Loads and keeps the pin of a migrated slot.
    StartRead(u64),
    FinishRead(usize),
    /// Begins the writeback of the n-th frame from the cold end of the LRU.
    Begin(usize),
    /// Begins the writeback of the frame `next_writeback_after` picks in a mode.
    BeginNext(WritebackMode),
    /// Marks every frame idle, advancing the clock by a minute.
    MarkIdle,
    /// Ends the n-th write in flight: written or failed.
    End(usize, bool),
    /// Begins a direct store: slot, page (1 huge, else packed of that many bytes), seed.
    BeginDirect(u64, usize, u64),
    /// Ends the n-th direct store in flight: written or failed.
    EndDirect(usize, bool),
    Compact,
    /// A step of the compaction in progress (or of a new one), of this many frames.
    CompactStep(u32),
    /// Drops the compaction in progress, unfinished.
    CompactAbandon,
    /// Begins idle marking (all frames, or those a minute old), advancing the clock.
    IdleStart(bool),
    IdleStep(u32),
    /// Starts writeback's walk again at the coldest frame.
    WalkRewind,
    /// Begins the writeback of the frame writeback's walk picks in a mode, looking at this
    /// many frames.
    WalkNext(WritebackMode, u32),
}

fn op(n: u64) -> impl Strategy<Value = Op> {
    let page = prop_oneof![
        2 => Just(0usize),
        2 => Just(1usize),
        6 => 2usize..3000,
        2 => 2usize..200,
    ];
    prop_oneof![
        12 => (0..n, page, any::<u64>(), prop_oneof![Just(1usize), Just(2), Just(8)])
            .prop_map(|(i, p, s, f)| Op::Store(i, p, s, f)),
        4 => (0..n).prop_map(Op::Free),
        1 => (0..=n, 0..=n).prop_map(|(a, b)| Op::FreeRange(a.min(b), a.max(b))),
        2 => (0..n).prop_map(Op::StartRead),
        2 => any::<usize>().prop_map(Op::FinishRead),
        5 => any::<usize>().prop_map(Op::Begin),
        3 => prop_oneof![
            Just(WritebackMode::All),
            Just(WritebackMode::Huge),
            Just(WritebackMode::Idle),
            Just(WritebackMode::HugeIdle),
            (0..n).prop_map(WritebackMode::Page),
        ]
        .prop_map(Op::BeginNext),
        1 => Just(Op::MarkIdle),
        5 => (any::<usize>(), prop_oneof![4 => Just(true), 1 => Just(false)])
            .prop_map(|(k, ok)| Op::End(k, ok)),
        3 => (
            0..n,
            prop_oneof![Just(1usize), 2usize..3000, 3000usize..=MAX_OBJECT],
            any::<u64>()
        )
            .prop_map(|(i, p, s)| Op::BeginDirect(i, p, s)),
        3 => (any::<usize>(), prop_oneof![4 => Just(true), 1 => Just(false)])
            .prop_map(|(k, ok)| Op::EndDirect(k, ok)),
        2 => Just(Op::Compact),
        3 => (1u32..4).prop_map(Op::CompactStep),
        1 => Just(Op::CompactAbandon),
        1 => any::<bool>().prop_map(Op::IdleStart),
        2 => (1u32..4).prop_map(Op::IdleStep),
        1 => Just(Op::WalkRewind),
        3 => (
            prop_oneof![
                Just(WritebackMode::All),
                Just(WritebackMode::Huge),
                Just(WritebackMode::Idle),
                Just(WritebackMode::HugeIdle),
                (0..n).prop_map(WritebackMode::Page),
            ],
            1u32..4,
        )
            .prop_map(|(mode, limit)| Op::WalkNext(mode, limit)),
    ]
}

/// A case: slots, blocks of the backing device, the map words its search looks at per
/// call, and the operations.
fn case() -> impl Strategy<Value = (u64, usize, u32, Vec<Op>)> {
    (1u64..32).prop_flat_map(|n| {
        let blocks = prop_oneof![Just(16usize), Just(64), 1usize..130, 130usize..300];
        let limit = prop_oneof![Just(SEARCH_WORDS), 1u32..4];
        (Just(n), blocks, limit, prop::collection::vec(op(n), 1..160))
    })
}

/// Takes every block of `dev` but the last word's and runs of 3 here and there, each taken
/// block an extent held once, and returns them.
fn fragment(dev: &mut Backing<Vec<u64>, Vec<BlockEntry>>) -> Vec<u32> {
    let blocks = dev.stats().blocks;
    let mut taken = Vec::new();
    while let Ok(block) = dev.alloc(1) {
        taken.push(block);
    }
    let last_word = blocks.saturating_sub(1) / 64 * 64;
    taken.retain(|&block| {
        let free = block >= last_word || block % 40 < 3;
        if free {
            assert_eq!(dev.abort(block), Ok(1));
        } else {
            assert_eq!(dev.hold(block), Ok(1));
        }
        !free
    });
    taken
}

struct Flight {
    write: FrameWrite,
    copy: Vec<u8>,
}

/// A direct store in flight: the block it writes and the page the slot holds once it is
/// written.
struct Direct {
    write: DirectWrite,
    dest: Dest,
    block: Vec<u8>,
    page: ModelPage,
}

struct Read {
    dest: Dest,
    /// What the device held at the destination when the read began.
    found: Vec<u8>,
}

struct Harness {
    store: TestStore,
    n: u64,
    model: BTreeMap<u64, ModelPage>,
    device: Vec<u8>,
    flights: Vec<Flight>,
    directs: Vec<Direct>,
    reads: Vec<Read>,
    /// Stores made, direct ones among them, and pages written to the device.
    stores: u64,
    direct_stores: u64,
    pages_written: u64,
    handed_in: u64,
    refused: u64,
    /// The frames made, and those the store released (dropped).
    registry: SharedRegistry,
    /// The clock of `mark_idle`, in seconds.
    clock: u64,
    /// The compaction in progress, if any.
    compaction: Option<CompactCursor>,
    /// Blocks taken before the store began, held once each.
    filler: Vec<u32>,
    /// The frames there when the last idle marking began.
    idle_frames: u32,
    /// The most calls an allocation of the backing device may take: a sweep of the map.
    most_calls: u32,
}

fn fail(msg: String) -> TestCaseError {
    TestCaseError::fail(msg)
}

impl Harness {
    fn new(n: u64, blocks: usize, search_limit: u32) -> Self {
        let capacity = n as usize + RESERVE_CAP as usize + 4;
        let mut store = TestStore::new(
            vec![State::Empty; n as usize],
            (0..capacity).map(|_| FrameEntry::default()).collect(),
        )
        .expect("a small store");
        let mut backing = Backing::new(
            vec![0; blocks.div_ceil(64)],
            vec![BlockEntry::default(); blocks],
        )
        .expect("dev");
        let filler = if search_limit < SEARCH_WORDS {
            fragment(&mut backing)
        } else {
            Vec::new()
        };
        backing.set_search_limit(search_limit);
        assert!(store.attach_backing(backing).is_ok());
        Harness {
            store,
            n,
            model: BTreeMap::new(),
            device: vec![0; blocks * PAGE],
            flights: Vec::new(),
            directs: Vec::new(),
            reads: Vec::new(),
            stores: 0,
            direct_stores: 0,
            pages_written: 0,
            handed_in: 0,
            refused: 0,
            registry: SharedRegistry::default(),
            clock: 0,
            compaction: None,
            filler,
            idle_frames: 0,
            most_calls: (blocks.div_ceil(64) as u32).div_ceil(search_limit).max(1),
        }
    }

    /// The bytes a read of `dest` finds on the device: the page, or the data of the
    /// record at its offset (checked to be the slot's).
    fn read_device(&self, dest: Dest) -> Vec<u8> {
        let start = dest.block as usize * PAGE + usize::from(dest.offset);
        if dest.is_page() {
            return self.device[start..start + PAGE].to_vec();
        }
        let data = start + HEADER_LEN;
        self.device[data..data + usize::from(dest.len)].to_vec()
    }

    fn store(
        &mut self,
        index: u64,
        page: usize,
        seed: u64,
        frame: usize,
    ) -> Result<(), TestCaseError> {
        let model = match page {
            0 => ModelPage::SameFilled(seed),
            1 => ModelPage::Huge(Box::new(bytes(seed, PAGE).try_into().unwrap())),
            len => ModelPage::Packed(bytes(seed, len)),
        };
        let mut frame_len = frame * PAGE;
        for _ in 0..4 {
            let incoming = match &model {
                ModelPage::SameFilled(w) => Incoming::SameFilled(*w),
                ModelPage::Packed(d) => Incoming::Packed(d),
                ModelPage::Huge(p) => Incoming::Huge(p),
            };
            match self.store.store(index, incoming) {
                Ok(()) => {
                    self.model.insert(index, model);
                    self.stores += 1;
                    return Ok(());
                }
                Err(StoreError::NeedFrame) => {
                    if matches!(model, ModelPage::Huge(_)) {
                        frame_len = PAGE;
                    }
                    self.handed_in += 1;
                    let frame = TestFrame::new(&self.registry, frame_len);
                    if let Err(frame) = self.store.add_frame(frame) {
                        frame.give_back();
                        self.refused += 1;
                    }
                    frame_len = PAGE;
                }
                Err(e) => return Err(fail(format!("store to {index}: {e:?}"))),
            }
        }
        Err(fail(format!("store to {index} still needs a frame")))
    }

    /// Begins the writeback of frame `id`, picked in `mode`: the mode must take it.
    fn begin_picked(&mut self, mode: WritebackMode, id: FrameId) -> Result<(), TestCaseError> {
        let huge = matches!(
            self.store.pool().frame_state(id),
            Some(FrameState::Huge { .. })
        );
        let idle = self.store.pool().is_idle(id);
        let taken = match mode {
            WritebackMode::Huge => huge,
            WritebackMode::Idle => idle,
            WritebackMode::HugeIdle => huge && idle,
            _ => true,
        };
        prop_assert!(taken, "{:?} picked frame {}", mode, id);
        self.begin(id, true)
    }

    /// Returns `true` if the backing device has `len` free blocks in a row, by the extents
    /// it reports.
    fn has_free_run(&self, len: usize) -> bool {
        let dev = self.store.backing().unwrap();
        let blocks = dev.stats().blocks as usize;
        let mut used = vec![false; blocks];
        for block in 0..blocks {
            if let Some(extent) = dev.extent(block as u32) {
                used[block..block + extent.len as usize].fill(true);
            }
        }
        used.windows(len).any(|w| w.iter().all(|u| !u))
    }

    /// Begins the writeback of frame `id`; one that `next_writeback_after` picked (`picked`)
    /// must have something to write.
    fn begin(&mut self, id: FrameId, picked: bool) -> Result<(), TestCaseError> {
        let mut copy = vec![0u8; MAX_FRAME_SIZE];
        let before = self.store.wb_counts();
        let mut calls = 1;
        let mut begun = self.store.begin_writeback(id, &mut copy);
        while begun == Err(WritebackError::SearchLimitReached) {
            // Nothing changed; the module calls again for the same frame.
            prop_assert_eq!(self.store.wb_counts(), before);
            prop_assert!(
                calls < self.most_calls,
                "no room found after {} calls",
                calls
            );
            calls += 1;
            begun = self.store.begin_writeback(id, &mut copy);
        }
        match begun {
            Ok(write) => {
                let after = self.store.wb_counts();
                prop_assert_eq!(after.migrating, before.migrating + u64::from(write.objects));
                prop_assert_eq!(write.len(), self.store.pool().frame_len(id).unwrap());
                // The copy is the frame, but for the owners of records not begun.
                let frame = self.store.pool().frame(id).unwrap();
                let live = if write.huge {
                    prop_assert_eq!(&copy[..PAGE], frame);
                    1
                } else {
                    let tail = write.bytes as u16;
                    let copied: Vec<_> = records(&copy, tail).collect();
                    let held: Vec<_> = records(frame, tail).collect();
                    prop_assert_eq!(copied.len(), held.len());
                    for (c, h) in copied.iter().zip(&held) {
                        prop_assert!(c.owner == h.owner || c.is_free());
                        prop_assert_eq!((c.offset, c.len), (h.offset, h.len));
                        let data = c.data_range();
                        prop_assert_eq!(&copy[data.clone()], &frame[data]);
                    }
                    copied.iter().filter(|r| !r.is_free()).count()
                };
                prop_assert_eq!(live, write.objects as usize);
                self.flights.push(Flight { write, copy });
            }
            Err(WritebackError::NoSpace) => {
                prop_assert_eq!(self.store.wb_counts(), before);
                let pages = self.store.pool().frame_len(id).unwrap() / PAGE;
                prop_assert!(
                    !self.has_free_run(pages),
                    "NoSpace with {} blocks free",
                    pages
                );
            }
            Err(WritebackError::NothingToWrite) if !picked => {
                prop_assert_eq!(self.store.wb_counts(), before);
            }
            Err(e) => return Err(fail(format!("begin_writeback({id}): {e:?}"))),
        }
        Ok(())
    }

    /// Begins a direct store of `page` to slot `index` and builds its block.
    fn begin_direct(&mut self, index: u64, page: usize, seed: u64) -> Result<(), TestCaseError> {
        let before = (self.store.wb_counts(), self.store.backing_stats());
        let mut calls = 1;
        let mut begun = self.store.begin_direct(index);
        while begun == Err(WritebackError::SearchLimitReached) {
            prop_assert_eq!((self.store.wb_counts(), self.store.backing_stats()), before);
            prop_assert!(
                calls < self.most_calls,
                "no block found after {} calls",
                calls
            );
            calls += 1;
            begun = self.store.begin_direct(index);
        }
        let write = match begun {
            Ok(write) => write,
            Err(WritebackError::NoSpace) => {
                prop_assert_eq!((self.store.wb_counts(), self.store.backing_stats()), before);
                prop_assert!(!self.has_free_run(1), "NoSpace with a block free");
                return Ok(());
            }
            Err(e) => return Err(fail(format!("begin_direct({index}): {e:?}"))),
        };
        prop_assert_eq!(write.index(), index);
        prop_assert_eq!(write.sector(), u64::from(write.block()) * 8);
        // Whatever the buffer held before: only the record counts.
        let mut block = bytes(!seed, PAGE);
        let (dest, page) = if page == 1 {
            let data = bytes(seed, PAGE);
            block.copy_from_slice(&data);
            (
                write.page(),
                ModelPage::Huge(Box::new(data.try_into().unwrap())),
            )
        } else {
            let data = bytes(seed, page);
            let dest = write.write_record(&mut block, &data);
            prop_assert!(dest.is_some(), "no record of {} bytes", page);
            (dest.unwrap(), ModelPage::Packed(data))
        };
        self.directs.push(Direct {
            write,
            dest,
            block,
            page,
        });
        Ok(())
    }

    /// Ends the direct store `direct`: the device receives its block, or garbage.
    fn end_direct(&mut self, direct: Direct, ok: bool) -> Result<(), TestCaseError> {
        let Direct {
            write,
            dest,
            block,
            page,
        } = direct;
        let index = write.index();
        let start = write.block() as usize * PAGE;
        let target = &mut self.device[start..start + PAGE];
        if ok {
            target.copy_from_slice(&block);
        } else {
            target.fill(GARBAGE);
        }
        let stored = self
            .store
            .end_direct(write, dest, ok.then(|| block_sum(&block)));
        prop_assert_eq!(stored, Ok(ok));
        if ok {
            self.model.insert(index, page);
            self.stores += 1;
            self.direct_stores += 1;
            self.pages_written += 1;
        }
        Ok(())
    }

    fn run(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match *op {
            Op::Store(index, page, seed, frame) => self.store(index, page, seed, frame)?,
            Op::Free(index) => {
                let held = self.store.free(index);
                prop_assert_eq!(held, Ok(self.model.remove(&index).is_some()));
            }
            Op::FreeRange(start, end) => {
                let freed = self.store.free_range(start..end);
                let held = (start..end)
                    .filter(|i| self.model.remove(i).is_some())
                    .count();
                prop_assert_eq!(freed, Ok(held as u64));
            }
            Op::StartRead(index) => {
                if let Ok(Found::Backing(dest)) = self.store.load(index) {
                    let found = self.read_device(dest);
                    self.reads.push(Read { dest, found });
                }
            }
            Op::FinishRead(k) => {
                if !self.reads.is_empty() {
                    let read = self.reads.remove(k % self.reads.len());
                    prop_assert_eq!(
                        self.read_device(read.dest),
                        read.found,
                        "the blocks of a pinned read changed under it"
                    );
                    self.store.unpin(read.dest);
                }
            }
            Op::MarkIdle => {
                self.clock += 60;
                let frames = self.store.pool().lru_iter().count();
                self.idle_frames = frames as u32;
                let marked = self.store.mark_idle_in_steps(self.clock, None, u32::MAX);
                prop_assert_eq!(marked as usize, frames);
            }
            Op::BeginNext(mode) => {
                if let Some(id) = self.store.next_writeback_after(mode, None) {
                    self.begin_picked(mode, id)?;
                }
            }
            Op::Begin(k) => {
                let frames: Vec<_> = self.store.pool().lru_iter().collect();
                if frames.is_empty() {
                    return Ok(());
                }
                self.begin(frames[k % frames.len()], false)?;
            }
            Op::End(k, ok) => {
                if self.flights.is_empty() {
                    return Ok(());
                }
                let Flight { write, copy } = self.flights.remove(k % self.flights.len());
                let start = write.block as usize * PAGE;
                let target = &mut self.device[start..start + write.len()];
                if ok {
                    target.copy_from_slice(&copy[..write.len()]);
                } else {
                    target.fill(GARBAGE);
                }
                let end = self.store.end_writeback(
                    &write,
                    &copy,
                    write.sums(&copy, block_sum).filter(|_| ok).as_ref(),
                );
                prop_assert_eq!(end.migrated + end.failed + end.stale, write.objects);
                if ok {
                    prop_assert_eq!(end.failed, 0);
                    self.pages_written += u64::from(write.pages);
                } else {
                    prop_assert_eq!(end.migrated, 0);
                }
            }
            Op::BeginDirect(index, page, seed) => self.begin_direct(index, page, seed)?,
            Op::EndDirect(k, ok) => {
                if !self.directs.is_empty() {
                    let direct = self.directs.remove(k % self.directs.len());
                    self.end_direct(direct, ok)?;
                }
            }
            Op::Compact => {
                self.store.compact_at_once();
            }
            Op::CompactStep(limit) => {
                let mut cursor = self.compaction.take().unwrap_or_default();
                let pages = self.store.classes().pages_compacted;
                let emptied = cursor.stats().pages_emptied;
                let done = self.store.compact_step(&mut cursor, limit);
                // Pages emptied count at once.
                prop_assert_eq!(
                    self.store.classes().pages_compacted - pages,
                    cursor.stats().pages_emptied - emptied
                );
                if done == Compaction::LimitReached {
                    self.compaction = Some(cursor);
                }
            }
            Op::CompactAbandon => self.compaction = None,
            Op::IdleStart(all) => {
                self.clock += 60;
                self.idle_frames = self.store.pool().lru_iter().count() as u32;
                self.store
                    .start_mark_idle(self.clock, if all { None } else { Some(60) });
            }
            Op::IdleStep(limit) => {
                if let IdleMarking::Finished { marked } = self.store.mark_idle_step(limit) {
                    // Only frames there when it began are marked.
                    prop_assert!(marked <= self.idle_frames);
                }
            }
            Op::WalkRewind => self.store.rewind_writeback(),
            Op::WalkNext(mode, limit) => {
                if let NextWriteback::Frame(id) = self.store.next_writeback_within(mode, limit) {
                    self.begin_picked(mode, id)?;
                }
            }
        }
        Ok(())
    }

    fn check(&mut self) -> Result<(), TestCaseError> {
        let mut packed = 0u64;
        let mut huge = 0u64;
        let mut same = 0u64;
        let mut migrated_blocks = BTreeSet::new();
        let mut migrated = 0u64;
        for index in 0..self.n {
            let state = self.store.state(index).unwrap();
            match state {
                State::Resident(Content::Packed(_)) => packed += 1,
                State::Resident(Content::Huge(_)) => huge += 1,
                State::Resident(Content::SameFilled(_)) => same += 1,
                State::Migrating { kept, .. } if kept.len == 4096 => huge += 1,
                State::Migrating { .. } => packed += 1,
                State::Migrated(dest) => {
                    migrated += 1;
                    migrated_blocks.insert(dest.block);
                }
                State::Empty => {}
            }
            let expected = self.model.get(&index).cloned();
            let found = match self.store.load(index) {
                Ok(Found::Empty) => None,
                Ok(Found::SameFilled(w)) => Some(ModelPage::SameFilled(w)),
                Ok(Found::Packed(d)) => Some(ModelPage::Packed(d.to_vec())),
                Ok(Found::Huge(p)) => Some(ModelPage::Huge(Box::new(*p))),
                Ok(Found::Backing(dest)) => {
                    // The blocks a read of it reads are as their checksums say.
                    let Some(sums) = self.store.read_sums(dest) else {
                        return Err(fail(format!("no checksums for {dest:?}")));
                    };
                    let blocks = sums.blocks.start as usize * PAGE..sums.blocks.end as usize * PAGE;
                    prop_assert!(
                        sums.matches(&self.device[blocks], block_sum),
                        "slot {}: the blocks of {:?} do not match their checksums",
                        index,
                        dest
                    );
                    let data = self.read_device(dest);
                    if !dest.is_page() {
                        // The record's header names the slot.
                        let at = dest.block as usize * PAGE + usize::from(dest.offset);
                        let owner = u32::from_le_bytes(self.device[at..at + 4].try_into().unwrap());
                        prop_assert_eq!(owner, index as u32);
                        prop_assert_ne!(owner, FREE_OWNER);
                    }
                    self.store.unpin(dest);
                    Some(if dest.is_page() {
                        ModelPage::Huge(Box::new(data.try_into().unwrap()))
                    } else {
                        ModelPage::Packed(data)
                    })
                }
                Err(e) => return Err(fail(format!("load of {index}: {e:?}"))),
            };
            prop_assert_eq!(found, expected, "slot {} loads the wrong page", index);
        }

        let pool = self.store.pool().pool_stats();
        prop_assert_eq!(pool.objects, packed, "objects leaked or freed twice");
        prop_assert_eq!(u64::from(pool.huge_frames), huge);
        let classes = self.store.classes();
        prop_assert_eq!((classes.same_pages, classes.huge_pages), (same, huge));
        prop_assert_eq!(self.store.counters().stored_pages, self.model.len() as u64);

        let wb = self.store.wb_counts();
        prop_assert_eq!(wb.bad_releases, 0);
        prop_assert_eq!(wb.migrated, migrated);
        prop_assert_eq!(wb.direct, self.direct_stores);
        prop_assert_eq!(self.store.counters().stores, self.stores);
        prop_assert_eq!(self.store.bd_counts().writes, self.pages_written);
        let in_flight: u64 = self
            .flights
            .iter()
            .map(|f| u64::from(f.write.objects))
            .sum();
        prop_assert_eq!(wb.migrating <= in_flight, true);
        let dev = self.store.backing().unwrap();
        let stats = dev.stats();
        prop_assert_eq!(
            stats.holds,
            migrated
                + in_flight
                + self.directs.len() as u64
                + self.reads.len() as u64
                + self.filler.len() as u64,
            "holds are not the migrated slots, writes and reads in flight"
        );
        let mut blocks = migrated_blocks;
        blocks.extend(&self.filler);
        blocks.extend(self.flights.iter().map(|f| f.write.block));
        for direct in &self.directs {
            let extent = dev.extent(direct.write.block());
            prop_assert_eq!(extent.map(|e| (e.len, e.holds)), Some((1, 1)));
            prop_assert!(
                blocks.insert(direct.write.block()),
                "a direct block named twice"
            );
        }
        blocks.extend(self.reads.iter().map(|r| r.dest.block));
        let mut used = 0;
        for &block in &blocks {
            let extent = dev.extent(block);
            prop_assert!(extent.is_some_and(|e| e.holds > 0), "extent {} gone", block);
            used += extent.unwrap().len;
        }
        prop_assert_eq!(stats.used_blocks, used, "blocks in use that nothing holds");
        Ok(())
    }

    fn teardown(mut self) -> Result<(), TestCaseError> {
        // The filler goes first, its holds dropped as reads' are: the device then has room
        // for every write.
        for block in std::mem::take(&mut self.filler) {
            self.store.unpin(Dest::page(block));
        }
        while let Some(Flight { write, copy }) = self.flights.pop() {
            self.store
                .end_writeback(&write, &copy, write.sums(&copy, block_sum).as_ref());
            self.pages_written += u64::from(write.pages);
        }
        while let Some(direct) = self.directs.pop() {
            let ok = self.directs.len() % 2 == 0;
            self.end_direct(direct, ok)?;
        }
        while let Some(read) = self.reads.pop() {
            self.store.unpin(read.dest);
        }
        prop_assert_eq!(self.store.free_range(0..self.n).is_ok(), true);
        self.model.clear();
        self.check()?;
        let stats = self.store.backing_stats().unwrap();
        prop_assert_eq!((stats.used_blocks, stats.holds, stats.extents), (0, 0, 0));
        prop_assert_eq!(self.store.pool().pool_stats().total_frames(), 0);
        let released = self.registry.borrow().released.len() as u64;
        prop_assert_eq!(self.handed_in, released + self.refused);
        Ok(())
    }
}

fn check_sequence(n: u64, blocks: usize, limit: u32, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut h = Harness::new(n, blocks, limit);
    for (step, op) in ops.iter().enumerate() {
        h.run(op)
            .and_then(|()| h.check())
            .map_err(|e| fail(format!("step {step}, {op:?}: {e}")))?;
    }
    h.teardown()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        rng_algorithm: RngAlgorithm::XorShift,
        ..ProptestConfig::default()
    })]

    #[test]
    fn writeback_matches_model((n, blocks, limit, ops) in case()) {
        check_sequence(n, blocks, limit, &ops)?;
    }
}
