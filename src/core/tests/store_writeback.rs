//! Edge cases of the store's writeback: errors of `begin_writeback`, loads of migrated
//! slots, the frames `next_writeback` picks in each mode, idle marking by age, and the
//! watermark.

use ghostswap_core::backing::Backing;
use ghostswap_core::frame::Page;
use ghostswap_core::migrate::{Dest, State};
use ghostswap_core::pool::{FrameEntry, FrameId, FrameState};
use ghostswap_core::store::{
    Content, Found, Incoming, Store, StoreError, WritebackEnd, WritebackError, WritebackMode,
};

type Frame = Box<[u8]>;
type TestStore = Store<Vec<State<Content>>, Frame, Vec<FrameEntry<Frame>>, Vec<u64>, Vec<u16>>;

const DAY: u64 = 86_400;

fn new_store(slots: usize, blocks: usize) -> TestStore {
    let frames = (0..slots + 8).map(|_| FrameEntry::default()).collect();
    let mut store = TestStore::new(vec![State::Empty; slots], frames).expect("a small store");
    let dev = Backing::new(vec![0; blocks.div_ceil(64)], vec![0; blocks]).expect("a device");
    assert!(store.attach_backing(dev).is_ok());
    store
}

/// Stores `page` in slot `index`, adding frames of `pages` pages (one for a huge page).
fn put(store: &mut TestStore, index: u64, page: Incoming<'_>, pages: usize) {
    for _ in 0..3 {
        match store.store(index, page, |_| ()) {
            Ok(()) => return,
            Err(StoreError::NeedFrame) => {
                let len = if matches!(page, Incoming::Huge(_)) {
                    1
                } else {
                    pages
                };
                store
                    .add_frame(vec![0u8; len * 4096].into_boxed_slice())
                    .expect("a frame");
            }
            Err(e) => panic!("store failed: {e:?}"),
        }
    }
    panic!("store still needs a frame");
}

/// The frame holding slot `index`.
fn frame_of(store: &TestStore, index: u64) -> FrameId {
    match store.state(index) {
        Some(State::Resident(Content::Packed(object))) => object.frame,
        Some(State::Resident(Content::Huge(id))) => id,
        other => panic!("slot {index} is {other:?}"),
    }
}

/// Every frame `next_writeback` gives in `mode`, as the module loops.
fn picks(store: &TestStore, mode: WritebackMode) -> Vec<FrameId> {
    let mut out = Vec::new();
    let mut after = None;
    while let Some(id) = store.next_writeback(mode, after) {
        assert!(out.len() < 64, "next_writeback loops");
        out.push(id);
        after = Some(id);
    }
    out
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

    let mut released = Vec::new();
    let end = store.end_writeback(&write, &copy, true, |f| released.push(f));
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
    let end = store.end_writeback(&write, &copy, false, |_| ());
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

    assert_eq!(picks(&store, WritebackMode::All), frames);
    let huge = vec![frames[1], frames[3]];
    assert_eq!(picks(&store, WritebackMode::Huge), huge);
    assert_eq!(picks(&store, WritebackMode::Incompressible), huge);
    assert_eq!(picks(&store, WritebackMode::Page(2)), [frames[2]]);
    assert_eq!(picks(&store, WritebackMode::Page(4)), []);
    assert_eq!(picks(&store, WritebackMode::Page(7)), []);
    assert_eq!(picks(&store, WritebackMode::Page(99)), []);
    // Nothing is idle yet.
    assert_eq!(picks(&store, WritebackMode::Idle), []);
    assert_eq!(picks(&store, WritebackMode::HugeIdle), []);

    // A load makes its frame the hottest.
    assert!(store.load(0).is_ok());
    let order = vec![frames[1], frames[2], frames[3], frames[0]];
    assert_eq!(picks(&store, WritebackMode::All), order);

    // A frame being written back has no resident slot: skipped, also by `Page`.
    let mut copy = vec![0u8; 4096];
    let write = store.begin_writeback(frames[2], &mut copy).unwrap();
    assert_eq!(
        picks(&store, WritebackMode::All),
        [frames[1], frames[3], frames[0]]
    );
    assert_eq!(picks(&store, WritebackMode::Page(2)), []);
    // Once migrated, its frame is gone from the LRU list.
    store.end_writeback(&write, &copy, true, |_| ());
    assert_eq!(
        picks(&store, WritebackMode::All),
        [frames[1], frames[3], frames[0]]
    );
    // A frame `after` that is gone restarts the walk from the coldest frame.
    assert_eq!(
        store.next_writeback(WritebackMode::All, Some(frames[2])),
        Some(frames[1])
    );
}

#[test]
fn mark_idle_marks_frames_by_age_and_a_use_clears_the_mark() {
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
    assert_eq!(store.mark_idle(2300, Some(1261)), 0);
    assert_eq!(store.mark_idle(2300, Some(1260)), 1);
    assert_eq!(picks(&store, WritebackMode::Idle), [frames[0]]);
    assert_eq!(store.mark_idle(2300, Some(661)), 1);
    assert_eq!(store.mark_idle(2300, Some(660)), 2);
    assert_eq!(picks(&store, WritebackMode::Idle), &frames[..2]);
    assert_eq!(picks(&store, WritebackMode::HugeIdle), [frames[1]]);
    // A clock going back is ignored: frame 2 does not get older or younger.
    store.set_clock(0);
    assert_eq!(store.mark_idle(2300, Some(660)), 2);

    // A load clears the mark.
    assert!(store.load(1).is_ok());
    assert!(!store.pool().is_idle(frames[1]));
    assert_eq!(picks(&store, WritebackMode::Idle), [frames[0]]);
    assert_eq!(picks(&store, WritebackMode::HugeIdle), []);
    // All frames, whatever their age; `Some(0)` too.
    assert_eq!(store.mark_idle(2300, None), 3);
    assert_eq!(
        picks(&store, WritebackMode::Idle),
        [frames[0], frames[2], frames[1]]
    );
    assert_eq!(store.mark_idle(2300, Some(0)), 3);
    // A store into a frame clears its mark too.
    put(&mut store, 3, Incoming::Packed(&[3; 500]), 1);
    assert_eq!(frame_of(&store, 3), frames[2]);
    assert_eq!(picks(&store, WritebackMode::Idle), [frames[0], frames[1]]);
}

#[test]
fn ages_add_up_over_more_than_the_period_of_the_stamps() {
    let mut store = new_store(8, 64);
    // Uses 20 days apart: each gap is within the 22 days of the stamps, the total is not.
    for (i, day) in [0u64, 20, 40].into_iter().enumerate() {
        store.set_clock(day * DAY);
        put(&mut store, i as u64, Incoming::Packed(&[i as u8; 3000]), 1);
    }
    let frames: Vec<FrameId> = (0..3).map(|i| frame_of(&store, i)).collect();
    let now = 40 * DAY + 60;
    assert_eq!(store.mark_idle(now, Some(39 * DAY)), 1);
    assert_eq!(picks(&store, WritebackMode::Idle), [frames[0]]);
    assert_eq!(store.mark_idle(now, Some(19 * DAY)), 2);
    // Nothing used for 30 days: the last use anchors the ages.
    let later = 70 * DAY;
    assert_eq!(store.mark_idle(later, Some(29 * DAY)), 3);
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
