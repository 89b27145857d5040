//! A writeback run's choices (`Store::next_writeback`): the frames each pick gives, the
//! budget, the stop below the low watermark, a backing device out of room or needing
//! its tables grown; and the policy the store decides with: watermarks and promotion.

#[allow(dead_code)] // Only the writeback helpers of `common` are used here.
mod common;
use common::writeback::{block_sum, new_store, TestStore};
use ghostswap_core::attrs::DeviceConfig;
use ghostswap_core::frame::Page;
use ghostswap_core::migrate::State;
use ghostswap_core::pool::FrameId;
use ghostswap_core::store::{
    Content, Found, Incoming, Promotion, RunEnd, RunStep, StoreError, WritebackMode, WritebackPick,
};

/// A page of bytes `seed, seed + 1, ...`: stored huge, in a frame of its own.
fn page(seed: u8) -> Page {
    let mut page = [0u8; 4096];
    for (i, byte) in page.iter_mut().enumerate() {
        // CAST: wraps on purpose.
        *byte = seed.wrapping_add(i as u8);
    }
    page
}

/// Stores huge pages in slots `0..n`, one frame each, coldest first; returns the frames.
fn fill_huge(store: &mut TestStore, pages: &[Page]) -> Vec<FrameId> {
    let mut frames = Vec::new();
    for (index, page) in pages.iter().enumerate() {
        let index = index as u64;
        if store.store(index, Incoming::Huge(page)) == Err(StoreError::NeedFrame) {
            store
                .add_frame(vec![0u8; 4096].into_boxed_slice())
                .expect("a frame");
            store.store(index, Incoming::Huge(page)).expect("stored");
        }
        match store.state(index) {
            Some(State::Resident(Content::Huge(id))) => frames.push(id),
            other => panic!("slot {index} is {other:?}"),
        }
    }
    frames
}

/// Runs `run` to its end as the module does, completing every write; returns the frames
/// written (by their first slot) and why the run stopped.
fn run_to_end(
    store: &mut TestStore,
    pick: WritebackPick,
    budget: Option<u64>,
    until_below_low: bool,
) -> (Vec<u64>, RunEnd) {
    let mut run = store.start_writeback(pick, budget, until_below_low);
    let mut copy = vec![0u8; 8 * 4096];
    let mut written = Vec::new();
    for _ in 0..10_000 {
        match store.next_writeback(&mut run, &mut copy) {
            RunStep::Begun(write) => {
                written.push(write.sector() / 8);
                store.end_writeback(&write, &copy, write.sums(&copy, block_sum).as_ref());
            }
            RunStep::Yield => {}
            RunStep::GrowTables => panic!("the test device's tables are whole"),
            RunStep::Stop(why) => return (written, why),
        }
    }
    panic!("the run never stopped");
}

#[test]
fn a_mode_run_writes_every_frame_it_takes() {
    let mut store = new_store(8, 64);
    let pages: Vec<Page> = (0..4).map(page).collect();
    fill_huge(&mut store, &pages);
    let (written, why) = run_to_end(
        &mut store,
        WritebackPick::Mode(WritebackMode::All),
        None,
        false,
    );
    assert_eq!(written.len(), 4);
    assert_eq!(why, RunEnd::Done);
    for index in 0..4 {
        assert!(matches!(store.state(index), Some(State::Migrated(_))));
    }
}

#[test]
fn the_budget_stops_a_run_before_a_frame_that_does_not_fit() {
    let mut store = new_store(8, 64);
    let pages: Vec<Page> = (0..5).map(page).collect();
    fill_huge(&mut store, &pages);
    let mut run = store.start_writeback(WritebackPick::Mode(WritebackMode::All), Some(3), false);
    let mut copy = vec![0u8; 8 * 4096];
    let mut begun = 0;
    loop {
        match store.next_writeback(&mut run, &mut copy) {
            RunStep::Begun(write) => {
                begun += 1;
                assert_eq!(run.budget_left(), Some(3 - begun));
                store.end_writeback(&write, &copy, write.sums(&copy, block_sum).as_ref());
            }
            RunStep::Yield => {}
            RunStep::GrowTables => panic!("tables are whole"),
            RunStep::Stop(why) => {
                assert_eq!(why, RunEnd::Budget);
                break;
            }
        }
    }
    assert_eq!(begun, 3);
    // Two frames left resident.
    let resident = (0..5)
        .filter(|&i| matches!(store.state(i), Some(State::Resident(_))))
        .count();
    assert_eq!(resident, 2);
}

#[test]
fn a_pages_run_takes_the_frames_of_its_pages_in_page_order_once() {
    let mut store = new_store(4096, 64);
    let pages: Vec<Page> = (0..6).map(page).collect();
    fill_huge(&mut store, &pages);
    // Slot 1 freed: nothing to write for it.
    assert_eq!(store.free(1), Ok(true));
    let (written, why) = run_to_end(
        &mut store,
        WritebackPick::Pages { next: 1, last: 4 },
        None,
        false,
    );
    assert_eq!(why, RunEnd::Done);
    assert_eq!(written.len(), 3);
    for index in [2, 3, 4] {
        assert!(matches!(store.state(index), Some(State::Migrated(_))));
    }
    for index in [0, 5] {
        assert!(matches!(store.state(index), Some(State::Resident(_))));
    }
}

#[test]
fn a_pages_run_over_a_long_empty_range_holds_the_lock_in_steps() {
    let mut store = new_store(4096, 64);
    let pages = [page(7)];
    fill_huge(&mut store, &pages);
    // Slot 0 is the only one: a run over 1..=4095 finds nothing, a bounded step at a time.
    let mut run = store.start_writeback(
        WritebackPick::Pages {
            next: 1,
            last: 4095,
        },
        None,
        false,
    );
    let mut copy = vec![0u8; 8 * 4096];
    let mut steps = 0;
    while let RunStep::Yield = store.next_writeback(&mut run, &mut copy) {
        steps += 1;
    }
    assert_eq!(steps, 3, "4095 pages looked at 1024 a step");
    // A range ending at the last index a u64 can name stops without wrapping.
    let mut run = store.start_writeback(
        WritebackPick::Pages {
            next: u64::MAX,
            last: u64::MAX,
        },
        None,
        false,
    );
    assert!(matches!(
        store.next_writeback(&mut run, &mut copy),
        RunStep::Stop(RunEnd::Done)
    ));
}

#[test]
fn an_automatic_run_stops_below_the_low_watermark() {
    let mut store = new_store(16, 64);
    let pages: Vec<Page> = (0..10).map(page).collect();
    fill_huge(&mut store, &pages);
    let mut settings = DeviceConfig::new();
    settings
        .set_pool_low_wmark(b"50")
        .expect("a valid watermark");
    settings
        .set_pool_high_wmark(b"90")
        .expect("a valid watermark");
    store.apply_writeback_settings(settings.writeback());
    // The reserve counts toward the pages held: measure it.
    store.set_page_limit(Some(20));
    assert!(store.over_high_wmark() == store.over_watermark(90));
    assert!(store.over_low_wmark());
    let (written, why) = run_to_end(
        &mut store,
        WritebackPick::Mode(WritebackMode::All),
        None,
        true,
    );
    assert_eq!(why, RunEnd::Done);
    assert!(!store.over_low_wmark(), "stopped below the low watermark");
    assert!(!written.is_empty());
    // It stopped there, with frames left to write.
    assert!(written.len() < 10);
}

#[test]
fn a_full_backing_device_stops_the_run() {
    let mut store = new_store(8, 2);
    let pages: Vec<Page> = (0..4).map(page).collect();
    fill_huge(&mut store, &pages);
    let (written, why) = run_to_end(
        &mut store,
        WritebackPick::Mode(WritebackMode::All),
        None,
        false,
    );
    assert_eq!(written.len(), 2);
    assert_eq!(why, RunEnd::NoSpace);
}

#[test]
fn the_watermarks_follow_the_settings() {
    let mut store = new_store(16, 16);
    store.set_page_limit(Some(10));
    for _ in 0..7 {
        store
            .add_frame(vec![0u8; 4096].into_boxed_slice())
            .expect("a frame");
    }
    let held_percent = (1..=100)
        .rev()
        .find(|&p| store.over_watermark(p))
        .expect("some pages held");
    let mut settings = DeviceConfig::new();
    let high = held_percent.to_string();
    let low = (held_percent - 1).to_string();
    // Low first: it must stay below the high mark at every step.
    settings.set_pool_low_wmark(low.as_bytes()).expect("valid");
    settings
        .set_pool_high_wmark(high.as_bytes())
        .expect("valid");
    store.apply_writeback_settings(settings.writeback());
    assert!(store.over_high_wmark() && store.over_low_wmark());
    let high = (held_percent + 1).to_string();
    settings
        .set_pool_high_wmark(high.as_bytes())
        .expect("valid");
    store.apply_writeback_settings(settings.writeback());
    assert!(!store.over_high_wmark() && store.over_low_wmark());
    // No limit: never over.
    store.set_page_limit(None);
    assert!(!store.over_high_wmark() && !store.over_low_wmark());
}

/// Writes slot 0's frame back; returns where it went.
fn migrate_slot_0(store: &mut TestStore) -> ghostswap_core::migrate::Dest {
    run_to_end(
        store,
        WritebackPick::Pages { next: 0, last: 0 },
        None,
        false,
    );
    match store.state(0) {
        Some(State::Migrated(dest)) => dest,
        other => panic!("slot 0 is {other:?}"),
    }
}

#[test]
fn promotion_happens_only_when_wanted_and_the_slot_still_holds_the_page_read() {
    let mut store = new_store(8, 16);
    // Slot 1 stays in the pool: it holds a page whatever happens to slot 0.
    let pages = [page(1), page(9)];
    fill_huge(&mut store, &pages);
    let dest = migrate_slot_0(&mut store);
    let mut settings = DeviceConfig::new();

    // promote_on_read off: never.
    assert_eq!(
        store.promote(0, dest, Incoming::Huge(&pages[0])),
        Ok(Promotion::NotWanted)
    );
    settings.set_promote_on_read(b"1").expect("valid");
    store.apply_writeback_settings(settings.writeback());
    assert!(store.promotes_on_read());

    // The pool at its high watermark: not worth its memory.
    store.set_page_limit(Some(1));
    assert!(store.over_high_wmark());
    assert_eq!(
        store.promote(0, dest, Incoming::Huge(&pages[0])),
        Ok(Promotion::NotWanted)
    );
    store.set_page_limit(None);

    // Below it: the page goes back, and reads from RAM.
    assert_eq!(
        store.promote(0, dest, Incoming::Huge(&pages[0])),
        Ok(Promotion::Done)
    );
    assert!(matches!(store.state(0), Some(State::Resident(_))));
    assert_eq!(store.load(0), Ok(Found::Huge(&pages[0])));
}

#[test]
fn a_page_written_or_freed_since_the_read_is_never_promoted() {
    let mut store = new_store(8, 16);
    let pages = [page(1), page(2)];
    fill_huge(&mut store, &pages[..1]);
    let dest = migrate_slot_0(&mut store);
    let mut settings = DeviceConfig::new();
    settings.set_promote_on_read(b"1").expect("valid");
    store.apply_writeback_settings(settings.writeback());

    // Overwritten meanwhile: the newer page stays.
    let newer = page(2);
    if store.store(0, Incoming::Huge(&newer)) == Err(StoreError::NeedFrame) {
        store
            .add_frame(vec![0u8; 4096].into_boxed_slice())
            .expect("a frame");
        store.store(0, Incoming::Huge(&newer)).expect("stored");
    }
    assert_eq!(
        store.promote(0, dest, Incoming::Huge(&pages[0])),
        Ok(Promotion::NotWanted)
    );
    assert_eq!(store.load(0), Ok(Found::Huge(&newer)));

    // Freed meanwhile: stays empty.
    assert_eq!(store.free(0), Ok(true));
    assert_eq!(
        store.promote(0, dest, Incoming::Huge(&pages[0])),
        Ok(Promotion::NotWanted)
    );
    assert_eq!(store.load(0), Ok(Found::Empty));
}

#[test]
fn a_promotion_that_needs_a_frame_says_so_and_changes_nothing() {
    let mut store = new_store(8, 16);
    let pages = [page(3)];
    fill_huge(&mut store, &pages);
    let dest = migrate_slot_0(&mut store);
    // Other pages take whatever frames the pool kept spare: the promotion
    // must ask for one.
    let others = [page(4), page(5)];
    for (index, other) in (1..).zip(&others) {
        while store.store(index, Incoming::Huge(other)) == Err(StoreError::NeedFrame) {
            store
                .add_frame(vec![0u8; 4096].into_boxed_slice())
                .expect("a frame");
        }
    }
    let mut settings = DeviceConfig::new();
    settings.set_promote_on_read(b"1").expect("valid");
    store.apply_writeback_settings(settings.writeback());
    assert_eq!(
        store.promote(0, dest, Incoming::Huge(&pages[0])),
        Err(StoreError::NeedFrame)
    );
    assert_eq!(store.state(0), Some(State::Migrated(dest)));
    store
        .add_frame(vec![0u8; 4096].into_boxed_slice())
        .expect("a frame");
    assert_eq!(
        store.promote(0, dest, Incoming::Huge(&pages[0])),
        Ok(Promotion::Done)
    );
}
