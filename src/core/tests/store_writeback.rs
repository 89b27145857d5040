//! Edge cases of the store's writeback: errors of `begin_writeback`, loads of migrated
//! slots, the frames `next_writeback_after` picks in each mode (and its walk in bounded steps,
//! checked to pick the same frames everywhere), idle marking by age (at once and in
//! steps), the watermark, direct stores over slots in each state, failed or with a bad
//! destination, compaction in steps, and a backing device searched in steps.

#[allow(dead_code)] // Only the store helpers of `common` are used here.
mod common;
use common::store::ToTheEnd;
use common::writeback::{block_sum, frame_of, new_store, put, TestStore};
use ghostswap_core::backing::{Backing, BlockEntry, Extents};
use ghostswap_core::frame::{Page, MAX_OBJECT};
use ghostswap_core::migrate::{Dest, State};
use ghostswap_core::pool::{CompactCursor, Compaction, FrameEntry, FrameId, FrameState};
use ghostswap_core::store::{
    DirectWrite, Found, Incoming, NextWriteback, StoreError, WritebackEnd, WritebackError,
    WritebackMode,
};

const DAY: u64 = 86_400;

/// Every frame `next_writeback_after` gives in `mode`, as the module loops; the walk in steps
/// of one and of two frames must give the same.
fn picks(store: &mut TestStore, mode: WritebackMode) -> Vec<FrameId> {
    let mut out = Vec::new();
    let mut after = None;
    while let Some(id) = store.next_writeback_after(mode, after) {
        assert!(out.len() < 64, "next_writeback loops");
        out.push(id);
        after = Some(id);
    }
    for limit in [1, 2] {
        assert_eq!(picks_within(store, mode, limit), out, "in steps of {limit}");
    }
    out
}

/// Every frame the walk in steps of `limit` frames gives in `mode`.
fn picks_within(store: &mut TestStore, mode: WritebackMode, limit: u32) -> Vec<FrameId> {
    let frames = store.pool().lru_iter().count() as u32;
    store.rewind_writeback();
    let mut out = Vec::new();
    let mut calls = 0;
    loop {
        calls += 1;
        match store.next_writeback_within(mode, limit) {
            // `Page` is asked once.
            NextWriteback::Frame(id) if matches!(mode, WritebackMode::Page(_)) => return vec![id],
            NextWriteback::Frame(id) => out.push(id),
            NextWriteback::NoneLeft => return out,
            NextWriteback::LimitReached => {}
        }
        // Each frame is looked at once: a call picks one, or looks at `limit`.
        assert!(calls <= frames + 1, "the walk loops");
    }
}

#[test]
fn a_huge_page_written_back_is_read_from_its_block_until_overwritten() {
    let mut store = new_store(4, 8);
    let page: Page = [7; 4096];
    put(&mut store, 1, Incoming::Huge(&page), 1);
    let id = frame_of(&store, 1);
    let mut copy = vec![0u8; 4096];
    let write = store.begin_writeback(id, &mut copy).expect("begun");
    assert!(write.huge);
    assert_eq!((write.pages, write.objects, write.bytes), (1, 1, 4096));
    assert_eq!(write.sector(), u64::from(write.block) * 8);
    assert_eq!(copy, page);
    // Still read from memory while the write is in flight.
    assert_eq!(store.load(1), Ok(Found::Huge(&page)));
    // A second writeback of the frame has nothing to write, and changes nothing.
    let before = (store.wb_counts(), store.backing_stats());
    assert_eq!(
        store.begin_writeback(id, &mut copy),
        Err(WritebackError::NothingToWrite)
    );
    assert_eq!((store.wb_counts(), store.backing_stats()), before);

    let end = store.end_writeback(&write, &copy, write.sums(&copy, block_sum).as_ref());
    let expected = WritebackEnd {
        migrated: 1,
        ..WritebackEnd::default()
    };
    assert_eq!(end, expected);
    // The huge frame went back with the reserve's room: kept, not released.
    assert_eq!(store.pool().pool_stats().huge_frames, 0);
    assert_eq!(store.classes().huge_pages, 0);
    assert_eq!(store.counters().stored_pages, 1);
    let dest = Dest::page(write.block);
    assert_eq!(store.load(1), Ok(Found::Backing(dest)));
    assert_eq!(store.backing_stats().unwrap().holds, 2);
    store.unpin(dest);
    let bd = store.bd_counts();
    assert_eq!((bd.reads, bd.writes), (1, 1));
    // An overwrite releases the block.
    put(&mut store, 1, Incoming::SameFilled(3), 1);
    let dev = store.backing_stats().unwrap();
    assert_eq!((dev.used_blocks, dev.holds), (0, 0));
    assert_eq!(store.wb_counts().bad_releases, 0);
}

#[test]
fn begin_writeback_refuses_and_changes_nothing() {
    let mut store = new_store(4, 1);
    put(&mut store, 0, Incoming::Packed(&[1; 3000]), 2);
    put(&mut store, 1, Incoming::SameFilled(9), 1);
    let id = frame_of(&store, 0);
    let state = store.state(0);

    let mut short = vec![0u8; 4096];
    assert_eq!(
        store.begin_writeback(id, &mut short),
        Err(WritebackError::ShortCopy)
    );
    let mut copy = vec![0u8; 8192];
    // A frame of two pages needs two blocks; the device has one.
    assert_eq!(
        store.begin_writeback(id, &mut copy),
        Err(WritebackError::NoSpace)
    );
    assert_eq!(
        store.begin_writeback(99, &mut copy),
        Err(WritebackError::BadFrame)
    );
    // A reserve frame is not written.
    store.add_frame(vec![0u8; 4096].into_boxed_slice()).unwrap();
    let reserve = (0..12)
        .find(|&f| store.pool().frame_state(f) == Some(FrameState::Reserve))
        .unwrap();
    assert_eq!(
        store.begin_writeback(reserve, &mut copy),
        Err(WritebackError::BadFrame)
    );
    assert_eq!(store.state(0), state);
    assert_eq!(store.backing_stats().unwrap().used_blocks, 0);

    let mut plain = TestStore::new(
        vec![State::Empty; 2],
        (0..4).map(|_| FrameEntry::default()).collect(),
    )
    .unwrap();
    put(&mut plain, 0, Incoming::Packed(&[1; 100]), 1);
    let id = frame_of(&plain, 0);
    assert_eq!(
        plain.begin_writeback(id, &mut copy),
        Err(WritebackError::NoBacking)
    );
    assert_eq!(plain.backing_stats(), None);
}

#[test]
fn a_failed_write_leaves_the_slots_resident_and_the_device_empty() {
    let mut store = new_store(4, 8);
    put(&mut store, 0, Incoming::Packed(&[1; 100]), 2);
    put(&mut store, 1, Incoming::Packed(&[2; 200]), 2);
    put(&mut store, 2, Incoming::Packed(&[3; 300]), 2);
    let id = frame_of(&store, 0);
    let mut copy = vec![0u8; 8192];
    let write = store.begin_writeback(id, &mut copy).unwrap();
    assert_eq!(write.objects, 3);
    // Slot 2 is overwritten meanwhile: its object goes at once, its ticket is stale.
    put(&mut store, 2, Incoming::SameFilled(0), 1);
    assert_eq!(store.pool().pool_stats().objects, 2);
    let end = store.end_writeback(&write, &copy, None);
    let expected = WritebackEnd {
        failed: 2,
        stale: 1,
        ..WritebackEnd::default()
    };
    assert_eq!(end, expected);
    assert_eq!(store.load(0), Ok(Found::Packed(&[1; 100])));
    assert_eq!(store.load(1), Ok(Found::Packed(&[2; 200])));
    let dev = store.backing_stats().unwrap();
    assert_eq!((dev.used_blocks, dev.holds), (0, 0));
    assert_eq!(store.bd_counts().writes, 0);
}

#[test]
fn next_writeback_walks_from_the_coldest_frame_by_mode() {
    let mut store = new_store(8, 64);
    let page: Page = [5; 4096];
    // Objects of 3000 bytes in frames of one page: one frame each.
    put(&mut store, 0, Incoming::Packed(&[1; 3000]), 1);
    put(&mut store, 1, Incoming::Huge(&page), 1);
    put(&mut store, 2, Incoming::Packed(&[2; 3000]), 1);
    put(&mut store, 3, Incoming::Huge(&page), 1);
    put(&mut store, 4, Incoming::SameFilled(1), 1);
    let frames: Vec<FrameId> = (0..4).map(|i| frame_of(&store, i)).collect();
    // A frame in the reserve is never picked.
    store.add_frame(vec![0u8; 4096].into_boxed_slice()).unwrap();

    assert_eq!(picks(&mut store, WritebackMode::All), frames);
    let huge = vec![frames[1], frames[3]];
    assert_eq!(picks(&mut store, WritebackMode::Huge), huge);
    assert_eq!(picks(&mut store, WritebackMode::Incompressible), huge);
    assert_eq!(picks(&mut store, WritebackMode::Page(2)), [frames[2]]);
    assert_eq!(picks(&mut store, WritebackMode::Page(4)), []);
    assert_eq!(picks(&mut store, WritebackMode::Page(7)), []);
    assert_eq!(picks(&mut store, WritebackMode::Page(99)), []);
    // Nothing is idle yet.
    assert_eq!(picks(&mut store, WritebackMode::Idle), []);
    assert_eq!(picks(&mut store, WritebackMode::HugeIdle), []);

    // A load makes its frame the hottest.
    assert!(store.load(0).is_ok());
    let order = vec![frames[1], frames[2], frames[3], frames[0]];
    assert_eq!(picks(&mut store, WritebackMode::All), order);

    // A frame being written back has no resident slot: skipped, also by `Page`.
    let mut copy = vec![0u8; 4096];
    let write = store.begin_writeback(frames[2], &mut copy).unwrap();
    assert_eq!(
        picks(&mut store, WritebackMode::All),
        [frames[1], frames[3], frames[0]]
    );
    assert_eq!(picks(&mut store, WritebackMode::Page(2)), []);
    // Once migrated, its frame is gone from the LRU list.
    store.end_writeback(&write, &copy, write.sums(&copy, block_sum).as_ref());
    assert_eq!(
        picks(&mut store, WritebackMode::All),
        [frames[1], frames[3], frames[0]]
    );
    // A frame `after` that is gone restarts the walk from the coldest frame.
    assert_eq!(
        store.next_writeback_after(WritebackMode::All, Some(frames[2])),
        Some(frames[1])
    );
}

/// How a test marks frames idle: at once, or in steps of one frame.
type Mark = fn(&mut TestStore, u64, Option<u64>) -> u32;

const MARKINGS: [Mark; 3] = [
    |store, now, min_age| store.mark_idle_in_steps(now, min_age, u32::MAX),
    |store, now, min_age| store.mark_idle_in_steps(now, min_age, 1),
    |store, now, min_age| store.mark_idle_in_steps(now, min_age, 2),
];

#[test]
fn mark_idle_marks_frames_by_age_and_a_use_clears_the_mark() {
    for mark in MARKINGS {
        marks_frames_by_age(mark);
    }
}

fn marks_frames_by_age(mark_idle: Mark) {
    let mut store = new_store(8, 64);
    let page: Page = [5; 4096];
    store.set_clock(1000);
    put(&mut store, 0, Incoming::Packed(&[1; 3000]), 1);
    store.set_clock(1000 + 600);
    put(&mut store, 1, Incoming::Huge(&page), 1);
    store.set_clock(1000 + 1200);
    put(&mut store, 2, Incoming::Packed(&[2; 3000]), 1);
    let frames: Vec<FrameId> = (0..3).map(|i| frame_of(&store, i)).collect();

    // At 2300 s, minute 38: the frames were used in minutes 16, 26 and 36, so they are
    // 22, 12 and 2 minutes old by their stamps, surely 21, 11 and 1.
    assert_eq!(mark_idle(&mut store, 2300, Some(1261)), 0);
    assert_eq!(mark_idle(&mut store, 2300, Some(1260)), 1);
    assert_eq!(picks(&mut store, WritebackMode::Idle), [frames[0]]);
    assert_eq!(mark_idle(&mut store, 2300, Some(661)), 1);
    assert_eq!(mark_idle(&mut store, 2300, Some(660)), 2);
    assert_eq!(picks(&mut store, WritebackMode::Idle), &frames[..2]);
    assert_eq!(picks(&mut store, WritebackMode::HugeIdle), [frames[1]]);
    // A clock going back is ignored: frame 2 does not get older or younger.
    store.set_clock(0);
    assert_eq!(mark_idle(&mut store, 2300, Some(660)), 2);

    // A load clears the mark.
    assert!(store.load(1).is_ok());
    assert!(!store.pool().is_idle(frames[1]));
    assert_eq!(picks(&mut store, WritebackMode::Idle), [frames[0]]);
    assert_eq!(picks(&mut store, WritebackMode::HugeIdle), []);
    // All frames, whatever their age; `Some(0)` too.
    assert_eq!(mark_idle(&mut store, 2300, None), 3);
    assert_eq!(
        picks(&mut store, WritebackMode::Idle),
        [frames[0], frames[2], frames[1]]
    );
    assert_eq!(mark_idle(&mut store, 2300, Some(0)), 3);
    // A store into a frame clears its mark too.
    put(&mut store, 3, Incoming::Packed(&[3; 500]), 1);
    assert_eq!(frame_of(&store, 3), frames[2]);
    assert_eq!(
        picks(&mut store, WritebackMode::Idle),
        [frames[0], frames[1]]
    );
}

#[test]
fn ages_add_up_over_more_than_the_period_of_the_stamps() {
    for mark in MARKINGS {
        ages_add_up(mark);
    }
}

fn ages_add_up(mark_idle: Mark) {
    let mut store = new_store(8, 64);
    // Uses 20 days apart: each gap is within the 22 days of the stamps, the total is not.
    for (i, day) in [0u64, 20, 40].into_iter().enumerate() {
        store.set_clock(day * DAY);
        put(&mut store, i as u64, Incoming::Packed(&[i as u8; 3000]), 1);
    }
    let frames: Vec<FrameId> = (0..3).map(|i| frame_of(&store, i)).collect();
    let now = 40 * DAY + 60;
    assert_eq!(mark_idle(&mut store, now, Some(39 * DAY)), 1);
    assert_eq!(picks(&mut store, WritebackMode::Idle), [frames[0]]);
    assert_eq!(mark_idle(&mut store, now, Some(19 * DAY)), 2);
    // Nothing used for 30 days: the last use anchors the ages.
    let later = 70 * DAY;
    assert_eq!(mark_idle(&mut store, later, Some(29 * DAY)), 3);
}

#[test]
fn the_watermark_compares_the_pages_held_with_the_limit() {
    let mut store = new_store(8, 8);
    assert!(!store.over_watermark(0));
    store.set_page_limit(Some(10));
    for _ in 0..8 {
        store.add_frame(vec![0u8; 4096].into_boxed_slice()).unwrap();
    }
    // The reserve counts: 8 pages of 10.
    assert!(store.over_watermark(80));
    assert!(!store.over_watermark(81));
    assert!(store.over_watermark(0));
    store.set_page_limit(None);
    assert!(!store.over_watermark(0));
}

/// Stores `data` in slot `index` directly: begins, builds the block, ends with `ok`.
/// Returns the destination and what `end_direct` said.
fn direct(
    store: &mut TestStore,
    index: u64,
    data: &[u8],
    ok: bool,
) -> (Dest, Result<bool, StoreError>) {
    let write = store.begin_direct(index).expect("a block");
    let mut block = vec![0u8; 4096];
    let dest = write.write_record(&mut block, data).expect("fits a block");
    (dest, store.end_direct(write, dest, ok.then_some(1)))
}

/// Holds and blocks in use on the backing device.
fn device(store: &TestStore) -> (u64, u32) {
    let dev = store.backing_stats().expect("a device");
    (dev.holds, dev.used_blocks)
}

#[test]
fn a_direct_store_to_an_empty_slot_is_read_from_its_block() {
    let mut store = new_store(4, 4);
    let write = store.begin_direct(2).expect("a block");
    assert_eq!(
        (write.index(), write.sector()),
        (2, u64::from(write.block()) * 8)
    );
    // Held for the write; the slot is untouched until the write ends.
    assert_eq!(device(&store), (1, 1));
    assert_eq!(store.state(2), Some(State::Empty));
    assert_eq!(store.load(2), Ok(Found::Empty));
    // The record: a 6-byte header naming the slot, then the data.
    let mut block = vec![0xaau8; 4096];
    let dest = write.write_record(&mut block, &[9; 700]).expect("fits");
    let expected = Dest {
        block: write.block(),
        offset: 0,
        len: 700,
    };
    assert_eq!(dest, expected);
    assert_eq!(&block[..4], &2u32.to_le_bytes());
    assert_eq!(&block[dest.data_range()], &[9; 700]);
    assert_eq!(store.end_direct(write, dest, Some(1)), Ok(true));

    assert_eq!(store.state(2), Some(State::Migrated(dest)));
    assert_eq!(store.load(2), Ok(Found::Backing(dest)));
    store.unpin(dest);
    assert_eq!(device(&store), (1, 1));
    let (counters, wb, bd) = (store.counters(), store.wb_counts(), store.bd_counts());
    assert_eq!((counters.stores, counters.stored_pages), (1, 1));
    assert_eq!((wb.direct, wb.migrated, wb.bad_releases), (1, 1, 0));
    assert_eq!((bd.writes, bd.reads), (1, 1));
    // A free releases the block.
    assert_eq!(store.free(2), Ok(true));
    assert_eq!(device(&store), (0, 0));
}

#[test]
fn a_direct_store_frees_a_resident_page_as_an_overwrite_does() {
    let mut store = new_store(4, 4);
    put(&mut store, 0, Incoming::Packed(&[1; 1000]), 1);
    put(&mut store, 1, Incoming::Packed(&[2; 1000]), 1);
    let page: Page = [3; 4096];
    put(&mut store, 2, Incoming::Huge(&page), 1);
    put(&mut store, 3, Incoming::SameFilled(7), 1);

    assert_eq!(direct(&mut store, 0, &[4; 50], true).1, Ok(true));
    assert_eq!(store.pool().pool_stats().objects, 1);
    // A huge page's frame goes back to the pool, and the class gauge follows.
    let write = store.begin_direct(2).expect("a block");
    let whole = write.page();
    assert_eq!(whole, Dest::page(write.block()));
    assert_eq!(store.end_direct(write, whole, Some(1)), Ok(true));
    assert_eq!(store.pool().pool_stats().huge_frames, 0);
    assert_eq!(store.classes().huge_pages, 0);
    assert_eq!(store.load(2), Ok(Found::Backing(whole)));
    store.unpin(whole);
    assert_eq!(direct(&mut store, 3, &[5; 60], true).1, Ok(true));
    assert_eq!(store.classes().same_pages, 0);

    assert_eq!(store.load(1), Ok(Found::Packed(&[2; 1000])));
    assert_eq!(store.counters().stored_pages, 4);
    assert_eq!(store.wb_counts().migrated, 3);
    assert_eq!(store.wb_counts().resident, 1);
    assert_eq!(device(&store), (3, 3));
}

#[test]
fn a_direct_store_supersedes_a_writeback_in_flight() {
    let mut store = new_store(4, 4);
    put(&mut store, 0, Incoming::Packed(&[1; 1000]), 1);
    let id = frame_of(&store, 0);
    let mut copy = vec![0u8; 4096];
    let write = store.begin_writeback(id, &mut copy).expect("begun");
    assert_eq!(store.wb_counts().migrating, 1);

    let (dest, stored) = direct(&mut store, 0, &[2; 80], true);
    assert_eq!(stored, Ok(true));
    // The object is freed at once; the frame write keeps its extent till it ends.
    assert_eq!(store.pool().pool_stats().objects, 0);
    assert_eq!(store.wb_counts().migrating, 0);
    assert_eq!(device(&store), (2, 2));
    let end = store.end_writeback(&write, &copy, write.sums(&copy, block_sum).as_ref());
    let stale = WritebackEnd {
        stale: 1,
        ..WritebackEnd::default()
    };
    assert_eq!(end, stale);
    assert_eq!(store.state(0), Some(State::Migrated(dest)));
    assert_eq!(device(&store), (1, 1));
    assert_eq!(store.wb_counts().bad_releases, 0);
}

#[test]
fn a_direct_store_releases_a_migrated_slots_destination() {
    let mut store = new_store(4, 4);
    let (first, _) = direct(&mut store, 1, &[1; 10], true);
    // A read of the old destination is in flight: its block stays until the unpin.
    assert_eq!(store.load(1), Ok(Found::Backing(first)));
    let (second, stored) = direct(&mut store, 1, &[2; 20], true);
    assert_eq!(stored, Ok(true));
    assert_ne!(first.block, second.block);
    assert_eq!(device(&store), (2, 2));
    store.unpin(first);
    assert_eq!(device(&store), (1, 1));
    assert_eq!(store.load(1), Ok(Found::Backing(second)));
    store.unpin(second);
    assert_eq!(store.counters().stored_pages, 1);
    assert_eq!(store.wb_counts().direct, 2);
}

#[test]
fn a_failed_direct_store_frees_its_block_and_leaves_the_slot() {
    let mut store = new_store(4, 4);
    put(&mut store, 0, Incoming::Packed(&[1; 1000]), 1);
    let (_, stored) = direct(&mut store, 0, &[2; 80], false);
    assert_eq!(stored, Ok(false));
    assert_eq!(store.load(0), Ok(Found::Packed(&[1; 1000])));
    assert_eq!(device(&store), (0, 0));
    let (counters, wb) = (store.counters(), store.wb_counts());
    assert_eq!((counters.stores, wb.direct, wb.bad_releases), (1, 0, 0));
    assert_eq!(store.bd_counts().writes, 0);
    // The module then refuses the store.
    assert_eq!(store.refuse(0), Ok(()));
    assert_eq!(store.load(0), Ok(Found::Empty));
    assert_eq!(store.counters().failed_stores, 1);
}

#[test]
fn stores_and_frees_during_a_direct_store_are_overtaken_when_it_ends() {
    let mut store = new_store(4, 4);
    let write = store.begin_direct(0).expect("a block");
    put(&mut store, 0, Incoming::Packed(&[1; 1000]), 1);
    assert_eq!(store.load(0), Ok(Found::Packed(&[1; 1000])));
    let mut block = vec![0u8; 4096];
    let dest = write.write_record(&mut block, &[2; 100]).expect("fits");
    assert_eq!(store.end_direct(write, dest, Some(1)), Ok(true));
    assert_eq!(store.pool().pool_stats().objects, 0);

    let write = store.begin_direct(0).expect("a block");
    assert_eq!(store.free(0), Ok(true));
    assert_eq!(device(&store), (1, 1));
    let dest = write.page();
    assert_eq!(store.end_direct(write, dest, Some(1)), Ok(true));
    assert_eq!(store.state(0), Some(State::Migrated(dest)));
    assert_eq!(store.counters().stored_pages, 1);
    assert_eq!(device(&store), (1, 1));
}

#[test]
fn begin_direct_refuses_and_changes_nothing() {
    let mut store = new_store(4, 1);
    assert_eq!(store.begin_direct(4), Err(WritebackError::OutOfRange));
    let write = store.begin_direct(0).expect("the one block");
    assert_eq!(store.begin_direct(1), Err(WritebackError::NoSpace));
    assert_eq!(device(&store), (1, 1));
    // The direct write holds its block until it ends.
    assert_eq!(store.backing_stats().unwrap().holds, 1);
    assert_eq!(store.end_direct(write, Dest::page(0), None), Ok(false));
    assert_eq!(device(&store), (0, 0));
    // Without a backing device there is nothing to write to.
    let frames = (0..4).map(|_| FrameEntry::default()).collect();
    let mut store = TestStore::new(vec![State::Empty; 4], frames).expect("a small store");
    assert_eq!(store.begin_direct(0), Err(WritebackError::NoBacking));

    // What `write_record` will not write.
    let mut store = new_store(4, 1);
    let write = store.begin_direct(0).expect("a block");
    let mut block = vec![0u8; 4096];
    assert_eq!(write.write_record(&mut block[..4095], &[1; 10]), None);
    assert_eq!(write.write_record(&mut block, &[]), None);
    assert_eq!(
        write.write_record(&mut block, &vec![1; MAX_OBJECT + 1]),
        None
    );
    assert_eq!(block, vec![0u8; 4096]);
    let largest = write.write_record(&mut block, &vec![1; MAX_OBJECT]);
    assert_eq!(largest.map(|d| d.data_range()), Some(6..4096));
    assert_eq!(store.end_direct(write, Dest::page(0), None), Ok(false));
}

#[test]
fn a_bad_destination_is_refused_counted_and_holds_stay_right() {
    let mut store = new_store(4, 4);
    put(&mut store, 0, Incoming::Packed(&[1; 1000]), 1);
    let (other, _) = direct(&mut store, 1, &[5; 10], true);
    let good = |write: &DirectWrite| Dest {
        block: write.block(),
        offset: 0,
        len: 100,
    };
    let bad: [fn(Dest) -> Dest; 5] = [
        |d| Dest {
            block: d.block + 1,
            ..d
        },
        |d| Dest { offset: 6, ..d },
        |d| Dest { len: 0, ..d },
        |d| Dest {
            len: MAX_OBJECT as u16 + 1,
            ..d
        },
        |d| Dest::page(d.block ^ 1),
    ];
    for (n, make) in bad.iter().enumerate() {
        let write = store.begin_direct(0).expect("a block");
        let dest = make(good(&write));
        assert_eq!(
            store.end_direct(write, dest, Some(1)),
            Err(StoreError::BadDest),
            "{dest:?}"
        );
        // The write's block is freed, the slot and the other slot's block are kept.
        assert_eq!(store.wb_counts().bad_releases, n as u64 + 1);
        assert_eq!(device(&store), (1, 1));
        assert_eq!(store.load(0), Ok(Found::Packed(&[1; 1000])));
    }
    // A write of another store naming a block this store has no direct write on (none
    // there, or one held by more than a write) is refused without touching any hold. (One
    // naming a block held once, alone, cannot be told from this store's own.)
    let mut stranger = new_store(4, 4);
    let foreign = [
        stranger.begin_direct(0).expect("a block"),
        stranger.begin_direct(0).expect("a block"),
    ];
    assert_eq!(foreign.each_ref().map(DirectWrite::block), [0, 1]);
    // Slot 1's block is pinned by a read: two holds.
    assert_eq!(store.load(1), Ok(Found::Backing(other)));
    for write in foreign {
        let dest = write.page();
        assert_eq!(
            store.end_direct(write, dest, Some(1)),
            Err(StoreError::BadDest)
        );
        assert_eq!(device(&store), (2, 1));
    }
    store.unpin(other);
    assert_eq!(store.wb_counts().bad_releases, 7);
    assert_eq!(device(&stranger), (2, 2));
    assert_eq!(store.state(1), Some(State::Migrated(other)));
    assert_eq!(store.counters().stores, 2);
    assert_eq!(store.wb_counts().direct, 1);
}

// Work in bounded steps.

#[test]
fn a_walk_that_takes_no_frame_looks_at_a_bounded_number_per_call() {
    let mut store = new_store(16, 64);
    // Ten packed frames, no huge one.
    for i in 0..10 {
        put(&mut store, i, Incoming::Packed(&[i as u8; 3000]), 1);
    }
    store.rewind_writeback();
    let calls: Vec<_> = (0..5)
        .map(|_| store.next_writeback_within(WritebackMode::Huge, 3))
        .collect();
    use NextWriteback::{LimitReached, NoneLeft};
    assert_eq!(
        calls,
        [LimitReached, LimitReached, LimitReached, NoneLeft, NoneLeft]
    );
    // `Page` does not walk.
    assert_eq!(
        store.next_writeback_within(WritebackMode::Page(4), 1),
        NextWriteback::Frame(frame_of(&store, 4))
    );
}

#[test]
fn the_writeback_walk_goes_on_past_frames_used_or_freed_between_calls() {
    let mut store = new_store(16, 64);
    for i in 0..6 {
        put(&mut store, i, Incoming::Packed(&[i as u8; 3000]), 1);
    }
    let frames: Vec<FrameId> = (0..6).map(|i| frame_of(&store, i)).collect();
    store.rewind_writeback();
    assert_eq!(walk_all(&mut store), Some(frames[0]));
    // The frame the walk stands on is used (it goes to the hot end), the one after it
    // freed (its entry is reused by a new frame, at the hot end too).
    assert!(store.load(1).is_ok());
    assert_eq!(store.free(2), Ok(true));
    put(&mut store, 9, Incoming::Packed(&[9; 3000]), 1);
    let new = frame_of(&store, 9);
    let mut rest = Vec::new();
    while let Some(id) = walk_all(&mut store) {
        rest.push(id);
    }
    assert_eq!(rest, [frames[3], frames[4], frames[5], frames[1], new]);
}

/// The next frame of writeback's walk in mode `All`, where every frame is taken.
fn walk_all(store: &mut TestStore) -> Option<FrameId> {
    match store.next_writeback_within(WritebackMode::All, 1) {
        NextWriteback::Frame(id) => Some(id),
        NextWriteback::NoneLeft => None,
        NextWriteback::LimitReached => panic!("every frame is taken"),
    }
}

/// A store whose frames compaction can empty: twelve objects of 1000 bytes in frames of a
/// page, every other one freed.
fn sparse_store() -> TestStore {
    let mut store = new_store(16, 64);
    for i in 0..12 {
        put(&mut store, i, Incoming::Packed(&[i as u8; 1000]), 1);
    }
    for i in (0..12).step_by(2) {
        assert_eq!(store.free(i), Ok(true));
    }
    store
}

#[test]
fn compaction_in_steps_does_what_compaction_at_once_does() {
    let mut once = sparse_store();
    let at_once = once.compact_at_once();
    assert!(at_once.pages_emptied > 0);
    for limit in [1, 2, 5] {
        let mut store = sparse_store();
        let mut cursor = CompactCursor::new();
        let mut calls = 0;
        loop {
            calls += 1;
            let before = store.classes().pages_compacted;
            let emptied = cursor.stats().pages_emptied;
            let done = store.compact_step(&mut cursor, limit);
            // Pages emptied count as soon as they are.
            assert_eq!(
                store.classes().pages_compacted - before,
                cursor.stats().pages_emptied - emptied
            );
            if done == Compaction::Finished {
                break;
            }
        }
        assert!(calls > 1);
        assert_eq!(cursor.stats(), at_once);
        assert_eq!(store.mm_stat(0), once.mm_stat(0));
        for i in (1..12).step_by(2) {
            assert_eq!(store.load(i), Ok(Found::Packed(&[i as u8; 1000])));
        }
    }
}

#[test]
fn space_on_the_backing_device_is_searched_in_steps() {
    // Ten map words, every block taken but the last, searched two words a call.
    let mut dev = Backing::new(vec![0; 10], vec![BlockEntry::default(); 640]).expect("a device");
    while dev.alloc(1).is_ok() {}
    assert_eq!(dev.abort(639), Ok(1));
    dev.set_search_limit(2);
    let frames = (0..16).map(|_| FrameEntry::default()).collect();
    let mut store = TestStore::new(vec![State::Empty; 8], frames).expect("a small store");
    assert!(store.attach_backing(dev).is_ok());
    put(&mut store, 0, Incoming::Packed(&[1; 3000]), 1);
    put(&mut store, 1, Incoming::Packed(&[2; 3000]), 8);
    let mut copy = vec![0u8; 8 * 4096];
    let before = (store.wb_counts(), store.backing_stats());
    let small = frame_of(&store, 0);
    for _ in 0..4 {
        assert_eq!(
            store.begin_writeback(small, &mut copy),
            Err(WritebackError::SearchLimitReached)
        );
        assert_eq!((store.wb_counts(), store.backing_stats()), before);
    }
    let write = store
        .begin_writeback(small, &mut copy)
        .expect("the last block");
    assert_eq!(write.block, 639);
    // The search looked at every word: no block is left, known at once.
    assert_eq!(store.begin_direct(3).err(), Some(WritebackError::NoSpace));
    let large = frame_of(&store, 1);
    assert_eq!(
        store.begin_writeback(large, &mut copy).err(),
        Some(WritebackError::NoSpace)
    );
    store.end_writeback(&write, &copy, write.sums(&copy, block_sum).as_ref());
    assert!(matches!(store.state(0), Some(State::Migrated(dest)) if dest.block == 639));
}
