//! Checksums of the blocks written back (`ghostswap_core::checksum`): kept per block by the
//! allocator, recorded with a write's end, handed to a read of a migrated page.

#[allow(dead_code)] // Only the writeback helpers of `common` are used here.
mod common;
use common::writeback::{block_sum, frame_of, new_store, put};
use ghostswap_core::backing::{Backing, BackingError, BlockEntry, Extents};
use ghostswap_core::checksum::WriteSums;
use ghostswap_core::frame::Page;
use ghostswap_core::store::{Found, Incoming};

#[test]
fn each_block_of_an_extent_keeps_the_checksum_written_with_it() {
    let mut dev = Backing::new(vec![0u64; 2], vec![BlockEntry::default(); 100]).expect("a device");
    let a = dev.alloc(3).unwrap();
    assert_eq!(dev.sum(a), Some(0));
    assert_eq!(dev.set_sums(a, &[1, 2]), Err(BackingError::BadLength));
    assert_eq!(
        dev.set_sums(a + 1, &[1, 2, 3]),
        Err(BackingError::NotExtent)
    );
    assert_eq!(dev.sum(a + 1), Some(0), "a refused call records nothing");
    dev.set_sums(a, &[10, 0xdead_beef, 12]).unwrap();
    assert_eq!(
        (dev.sum(a), dev.sum(a + 1), dev.sum(a + 2)),
        (Some(10), Some(0xdead_beef), Some(12))
    );
    // Holds are kept apart from the checksums.
    assert_eq!(dev.hold(a), Ok(1));
    assert_eq!(dev.sum(a), Some(10));
    assert_eq!(dev.extent(a).map(|e| (e.len, e.holds)), Some((3, 1)));
    // A block in no extent has none.
    assert_eq!(dev.sum(a + 3), None);
    assert_eq!(dev.sum(1000), None);
    assert_eq!(dev.release_object(a), Ok(Some(3)));
    assert_eq!(dev.sum(a), None);
}

#[test]
fn a_read_of_a_migrated_page_gets_the_checksums_of_the_blocks_it_reads() {
    let mut store = new_store(4, 8);
    // Two records in a frame of two pages: the second straddles its two blocks.
    let first = [1u8; 3000];
    let second = [2u8; 3000];
    put(&mut store, 0, Incoming::Packed(&first), 2);
    put(&mut store, 1, Incoming::Packed(&second), 2);
    let id = frame_of(&store, 0);
    assert_eq!(frame_of(&store, 1), id);
    let mut copy = vec![0u8; 8192];
    let write = store.begin_writeback(id, &mut copy).expect("begun");
    assert_eq!(write.pages, 2);
    let sums = write.sums(&copy, block_sum).expect("two blocks");
    store.end_writeback(&write, &copy, Some(&sums));

    let Ok(Found::Backing(one)) = store.load(0) else {
        panic!("slot 0 not migrated");
    };
    let Ok(Found::Backing(two)) = store.load(1) else {
        panic!("slot 1 not migrated");
    };
    let (one_sums, two_sums) = (store.read_sums(one).unwrap(), store.read_sums(two).unwrap());
    assert_eq!(one_sums.blocks, write.block..write.block + 1);
    assert_eq!(two_sums.blocks, write.block..write.block + 2);
    assert!(one_sums.matches(&copy[..4096], block_sum));
    assert!(two_sums.matches(&copy, block_sum));
    // A block changed on the device no longer matches.
    let mut corrupt = copy.clone();
    corrupt[5000] ^= 1;
    assert!(!two_sums.matches(&corrupt, block_sum));
    assert!(one_sums.matches(&corrupt[..4096], block_sum));
    store.unpin(one);
    store.unpin(two);
}

#[test]
fn checksums_that_do_not_fit_the_write_fail_it() {
    let mut store = new_store(4, 8);
    let page: Page = [9; 4096];
    put(&mut store, 1, Incoming::Huge(&page), 1);
    let id = frame_of(&store, 1);
    let mut copy = vec![0u8; 8192];
    let write = store.begin_writeback(id, &mut copy).expect("begun");
    // Two checksums for a write of one block: a caller's bug, taken as a failed write.
    let wrong = WriteSums::of(&copy, block_sum).expect("two blocks");
    let end = store.end_writeback(&write, &copy, Some(&wrong));
    assert_eq!((end.migrated, end.failed), (0, 1));
    assert_eq!(store.load(1), Ok(Found::Huge(&page)));
    assert_eq!(store.backing_stats().unwrap().used_blocks, 0);
}
