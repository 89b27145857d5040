//! Reads of migrated pages through the extent cache (`Store::extent_read`): the first
//! read of an extent fills an entry, its neighbours are served from it, and a cached
//! extent is forgotten when its blocks are freed, so it never serves another extent's
//! data and never keeps blocks in use.

#[allow(dead_code)] // Only the writeback helpers of `common` are used here.
mod common;
use common::writeback::{block_sum, frame_of, new_store, put};
use ghostswap_core::backing::DEFAULT_CACHED_EXTENTS;
use ghostswap_core::checksum::WriteSums;
use ghostswap_core::store::{ExtentFill, ExtentRead, Found, Incoming};

/// Writes back the frame of slot `index`, of `pages` pages; returns the bytes written
/// and the first block.
fn write_back(
    store: &mut common::writeback::TestStore,
    index: u64,
    pages: usize,
) -> (Vec<u8>, u32) {
    let id = frame_of(store, index);
    let mut copy = vec![0u8; pages * 4096];
    let write = store.begin_writeback(id, &mut copy).expect("begun");
    let sums = write.sums(&copy, block_sum).expect("its blocks");
    store.end_writeback(&write, &copy, Some(&sums));
    (copy, write.block)
}

/// A store whose slots 0 and 1 are migrated to one extent of two blocks; returns it
/// with the bytes written there.
fn two_migrated() -> (common::writeback::TestStore, Vec<u8>, u32) {
    let mut store = new_store(4, 8);
    put(&mut store, 0, Incoming::Packed(&[1u8; 3000]), 2);
    put(&mut store, 1, Incoming::Packed(&[2u8; 3000]), 2);
    let (copy, block) = write_back(&mut store, 0, 2);
    (store, copy, block)
}

#[test]
fn the_first_read_fills_and_its_neighbour_is_served_from_memory() {
    let (mut store, copy, block) = two_migrated();
    let Ok(Found::Backing(one)) = store.load(0) else {
        panic!("slot 0 not migrated");
    };
    // Nothing kept yet: without leave to read, the page reads its own blocks.
    assert_eq!(store.extent_read(one, false), ExtentRead::Alone);
    let ExtentRead::Fill(ExtentFill {
        entry,
        blocks,
        sums,
    }) = store.extent_read(one, true)
    else {
        panic!("no fill");
    };
    assert_eq!(blocks, block..block + 2, "the whole extent");
    assert_eq!(Some(sums), WriteSums::of(&copy, block_sum), "as written");
    let Ok(Found::Backing(two)) = store.load(1) else {
        panic!("slot 1 not migrated");
    };
    // Being read by the first: the second reads alone rather than wait.
    assert_eq!(store.extent_read(two, true), ExtentRead::Alone);
    store.extent_filled(entry, true);
    assert!(store.extent_ready(two));
    assert_eq!(store.extent_read(two, false), ExtentRead::Cached { entry });
    store.extent_done(entry);
    store.unpin(one);
    store.unpin(two);
    let cache = store.extent_cache().expect("a backing device");
    let counts = cache.counts();
    assert_eq!(
        (counts.claims, counts.fills, counts.hits, counts.filling),
        (1, 1, 1, 1)
    );
    assert_eq!(cache.held(), 1);
}

#[test]
fn a_failed_fill_keeps_nothing() {
    let (mut store, _, _) = two_migrated();
    let Ok(Found::Backing(one)) = store.load(0) else {
        panic!("slot 0 not migrated");
    };
    let ExtentRead::Fill(fill) = store.extent_read(one, true) else {
        panic!("no fill");
    };
    store.extent_filled(fill.entry, false);
    assert!(!store.extent_ready(one));
    assert!(
        matches!(store.extent_read(one, true), ExtentRead::Fill(_)),
        "claimed again"
    );
    store.unpin(one);
}

#[test]
fn a_freed_extent_is_forgotten_and_its_blocks_released() {
    let (mut store, _, block) = two_migrated();
    let Ok(Found::Backing(one)) = store.load(0) else {
        panic!("slot 0 not migrated");
    };
    let ExtentRead::Fill(fill) = store.extent_read(one, true) else {
        panic!("no fill");
    };
    store.extent_filled(fill.entry, true);
    store.unpin(one);
    // Both pages dropped: the extent is freed at once, the cache holding no block.
    store.free(0).unwrap();
    store.free(1).unwrap();
    assert_eq!(store.backing_stats().map(|s| s.used_blocks), Some(0));
    assert!(!store.extent_ready(one));
    assert_eq!(store.extent_cache().map(|cache| cache.held()), Some(0));

    // New pages written back to the same blocks are read from the device.
    put(&mut store, 2, Incoming::Packed(&[7u8; 3000]), 2);
    put(&mut store, 3, Incoming::Packed(&[8u8; 3000]), 2);
    let (_, reused) = write_back(&mut store, 2, 2);
    assert_eq!(reused, block, "the same blocks, reused");
    let Ok(Found::Backing(three)) = store.load(3) else {
        panic!("slot 3 not migrated");
    };
    // From the device: a fill, or alone, as the freed extent was dropped unused.
    let from = store.extent_read(three, true);
    assert!(
        matches!(from, ExtentRead::Fill(_) | ExtentRead::Alone),
        "{from:?}"
    );
    store.unpin(three);
}

#[test]
fn zero_entries_keep_nothing() {
    let (mut store, _, _) = two_migrated();
    assert_eq!(
        store.extent_cache().map(|cache| cache.limit()),
        Some(DEFAULT_CACHED_EXTENTS)
    );
    store.set_cached_extents(0);
    assert_eq!(store.extent_cache().map(|cache| cache.limit()), Some(0));
    let Ok(Found::Backing(one)) = store.load(0) else {
        panic!("slot 0 not migrated");
    };
    assert_eq!(store.extent_read(one, true), ExtentRead::Alone);
    store.unpin(one);
}

/// An uncompressed page has its block to itself: it is read alone, takes no entry and
/// tells the fill policy nothing.
#[test]
fn an_uncompressed_page_is_read_alone() {
    let mut store = new_store(4, 8);
    put(&mut store, 0, Incoming::Huge(&[9u8; 4096]), 1);
    write_back(&mut store, 0, 1);
    let Ok(Found::Backing(dest)) = store.load(0) else {
        panic!("slot 0 not migrated");
    };
    assert!(dest.is_page());
    assert_eq!(store.extent_read(dest, true), ExtentRead::Alone);
    store.unpin(dest);
    let cache = store.extent_cache().expect("a backing device");
    assert_eq!((cache.counts().claims, cache.counts().alone), (0, 0));
    assert_eq!(cache.policy().score(), 0);
}
