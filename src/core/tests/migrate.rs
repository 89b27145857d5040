//! Edge cases of the writeback state table: stale tickets in every order, failures,
//! pinned reads across frees, refusals, and the size of a slot's state.

use ghostswap_core::backing::{Backing, BackingError, BlockEntry, ExtentInfo, Extents};
use ghostswap_core::migrate::{Dest, Location, Resident, Slots, State, Ticket, WbError, PAGE_LEN};
use ghostswap_core::pool::ObjectRef;
use ghostswap_core::store::Content;

type Dev = Backing<Vec<u64>, Vec<BlockEntry>>;
type Table = Slots<Vec<State<Content>>>;

fn setup(blocks: usize) -> (Table, Dev) {
    let dev = Backing::new(
        vec![0; blocks.div_ceil(64)],
        vec![BlockEntry::default(); blocks],
    )
    .expect("a device");
    (Slots::new(vec![State::Empty; 8]), dev)
}

fn packed(frame: u32, offset: u16) -> Content {
    Content::Packed(ObjectRef {
        frame,
        offset,
        len: 100,
    })
}

/// Stores `content` in `slot` and begins its writeback into a fresh extent of one block.
fn migrating(table: &mut Table, dev: &mut Dev, slot: u64, content: Content) -> Ticket {
    table.store(slot, content, dev).expect("in range");
    let block = dev.alloc(1).expect("room");
    let dest = Dest {
        block,
        offset: 0,
        len: 100,
    };
    table.begin(slot, dest, dev).expect("resident")
}

fn holds(dev: &Dev, block: u32) -> Option<u16> {
    dev.extent(block).map(|e| e.holds)
}

#[test]
fn state_of_content_is_16_bytes() {
    assert_eq!(size_of::<Content>(), 16);
    assert_eq!(size_of::<State<Content>>(), 16);
}

#[test]
fn content_keeps_and_restores_huge_and_packed() {
    let huge = Content::Huge(9);
    let kept = huge.migrating_handle().expect("writable");
    assert_eq!(kept.len, PAGE_LEN);
    assert_eq!(Content::restore(kept), huge);
    assert_eq!(
        Content::restore(packed(3, 12).migrating_handle().expect("writable")),
        packed(3, 12)
    );
    assert_eq!(Content::SameFilled(7).migrating_handle(), None);
    assert!(Dest::page(4).is_page());
}

#[test]
fn overwrite_during_writeback_makes_the_completion_stale() {
    let (mut table, mut dev) = setup(8);
    let ticket = migrating(&mut table, &mut dev, 1, packed(0, 0));
    // The overwrite hands back the old object but keeps the extent for the write.
    assert_eq!(
        table.store(1, packed(0, 200), &mut dev),
        Ok(Some(packed(0, 0)))
    );
    assert_eq!(holds(&dev, ticket.dest.block), Some(1));
    assert_eq!(table.complete(ticket, &mut dev), None);
    assert_eq!(dev.stats().used_blocks, 0);
    assert_eq!(table.load(1, &mut dev), Ok(Location::Ram(packed(0, 200))));
    assert_eq!(table.counts().stale, 1);
}

#[test]
fn free_during_writeback_then_failure() {
    let (mut table, mut dev) = setup(8);
    let ticket = migrating(&mut table, &mut dev, 2, packed(1, 0));
    assert_eq!(table.free(2, &mut dev), Ok(Some(packed(1, 0))));
    // The failed write restores nothing: the slot was freed.
    assert!(!table.fail(ticket, &mut dev));
    assert_eq!(table.state(2), Ok(State::Empty));
    assert_eq!(dev.stats().used_blocks, 0);
}

#[test]
fn failure_leaves_the_page_resident() {
    let (mut table, mut dev) = setup(8);
    let ticket = migrating(&mut table, &mut dev, 3, Content::Huge(5));
    assert!(table.fail(ticket, &mut dev));
    assert_eq!(table.state(3), Ok(State::Resident(Content::Huge(5))));
    assert_eq!(dev.stats().used_blocks, 0);
    // A second settling of the same ticket is stale, and the allocator refuses it.
    assert_eq!(table.complete(ticket, &mut dev), None);
    assert_eq!(table.counts().bad_releases, 1);
}

#[test]
fn a_new_writeback_supersedes_an_old_one_in_flight() {
    let (mut table, mut dev) = setup(8);
    let old = migrating(&mut table, &mut dev, 4, packed(2, 0));
    table.store(4, packed(2, 300), &mut dev).expect("in range");
    let new = migrating(&mut table, &mut dev, 4, packed(2, 400));
    assert_ne!(old.dest.block, new.dest.block);
    // The old completion, after the new begin, must not migrate the slot.
    assert_eq!(table.complete(old, &mut dev), None);
    assert_eq!(table.complete(new, &mut dev), Some(packed(2, 400)));
    assert_eq!(table.load(4, &mut dev), Ok(Location::Backing(new.dest)));
    table.unpin(new.dest, &mut dev);
    assert_eq!(dev.stats().extents, 1);
}

#[test]
fn a_pinned_read_keeps_its_extent_across_a_free() {
    let (mut table, mut dev) = setup(1);
    let ticket = migrating(&mut table, &mut dev, 5, packed(3, 0));
    assert!(table.complete(ticket, &mut dev).is_some());
    let Ok(Location::Backing(dest)) = table.load(5, &mut dev) else {
        panic!("migrated");
    };
    assert_eq!(table.free(5, &mut dev), Ok(None));
    // The only block is still taken: no new writeback can overwrite it mid-read.
    assert_eq!(dev.alloc(1), Err(BackingError::NoSpace));
    table.unpin(dest, &mut dev);
    assert_eq!(dev.alloc(1), Ok(0));
}

#[test]
fn begin_refusals_change_nothing() {
    let (mut table, mut dev) = setup(8);
    let block = dev.alloc(1).expect("room");
    let dest = Dest {
        block,
        offset: 0,
        len: 10,
    };
    assert_eq!(table.begin(0, dest, &mut dev), Err(WbError::NotResident));
    table
        .store(0, Content::SameFilled(1), &mut dev)
        .expect("in range");
    assert_eq!(table.begin(0, dest, &mut dev), Err(WbError::NotWritable));
    assert_eq!(table.begin(99, dest, &mut dev), Err(WbError::OutOfRange));
    table.store(1, packed(0, 0), &mut dev).expect("in range");
    let tail = Dest { block: 5, ..dest };
    assert_eq!(
        table.begin(1, tail, &mut dev),
        Err(WbError::Backing(BackingError::NotExtent))
    );
    let ticket = table.begin(1, dest, &mut dev).expect("resident");
    assert_eq!(table.begin(1, dest, &mut dev), Err(WbError::NotResident));
    assert_eq!(dev.extent(block), Some(ExtentInfo { len: 1, holds: 1 }));
    assert_eq!(table.counts().migrating, 1);
    assert_eq!(table.complete(ticket, &mut dev), Some(packed(0, 0)));
    assert_eq!(table.begin(1, dest, &mut dev), Err(WbError::NotResident));
}

#[test]
fn a_ticket_out_of_range_is_stale() {
    let (mut table, mut dev) = setup(8);
    let block = dev.alloc(1).expect("room");
    dev.hold(block).expect("an extent");
    let ticket = Ticket {
        slot: 1000,
        dest: Dest::page(block),
    };
    assert_eq!(table.complete(ticket, &mut dev), None);
    assert_eq!(dev.stats().used_blocks, 0);
}

#[test]
fn frame_writeback_begins_the_writable_records() {
    let (mut table, mut dev) = setup(10);
    table.store(0, packed(7, 0), &mut dev).expect("in range");
    table
        .store(1, Content::SameFilled(0), &mut dev)
        .expect("in range");
    table.store(2, packed(7, 112), &mut dev).expect("in range");
    let records = [
        (0, 0, 100),
        (1, 100, 12),
        (2, 112, 100),
        (3, 212, 5),
        (0, 300, 1),
    ];
    let mut tickets = Vec::new();
    let (block, count) = table
        .begin_frame(4, records, &mut dev, |t| tickets.push(t))
        .expect("room");
    assert_eq!(count, 2);
    assert_eq!(dev.extent(block), Some(ExtentInfo { len: 4, holds: 2 }));
    assert_eq!(tickets.iter().map(|t| t.slot).collect::<Vec<_>>(), [0, 2]);
    // A frame with nothing to write gives its extent back.
    assert_eq!(
        table.begin_frame(2, [(1, 0, 12)], &mut dev, |_| {}),
        Err(WbError::NothingToWrite)
    );
    assert_eq!(dev.stats().used_blocks, 4);
    // No room for 8 more blocks.
    assert_eq!(
        table.begin_frame(8, [(0, 0, 1)], &mut dev, |_| {}),
        Err(WbError::Backing(BackingError::NoSpace))
    );
    // The write fails as a whole: both slots resident again, the extent freed.
    for t in tickets {
        assert!(table.fail(t, &mut dev));
    }
    assert_eq!(dev.stats().used_blocks, 0);
    assert_eq!(table.counts().resident, 3);
}

#[test]
fn a_direct_write_passes_its_hold_to_the_slot_or_drops_it() {
    let (mut table, mut dev) = setup(2);
    table.store(1, packed(0, 0), &mut dev).expect("in range");
    let block = table.begin_direct(1, &mut dev).expect("room");
    // The slot is untouched while the write is in flight; the write holds its block.
    assert_eq!(table.state(1), Ok(State::Resident(packed(0, 0))));
    assert_eq!(dev.extent(block), Some(ExtentInfo { len: 1, holds: 1 }));
    let dest = Dest {
        block,
        offset: 0,
        len: 100,
    };
    assert_eq!(
        table.store_migrated(1, dest, &mut dev),
        Ok(Some(packed(0, 0)))
    );
    assert_eq!(table.state(1), Ok(State::Migrated(dest)));
    assert_eq!(dev.extent(block), Some(ExtentInfo { len: 1, holds: 1 }));
    let counts = table.counts();
    assert_eq!((counts.resident, counts.migrated, counts.direct), (0, 1, 1));
    assert_eq!(table.counters().stores, 2);
    assert_eq!(table.counters().stored_pages, 1);

    // A second direct write over the migrated slot releases the first block.
    let second = table.begin_direct(1, &mut dev).expect("room");
    assert_eq!(
        table.store_migrated::<Content>(1, Dest::page(second), &mut dev),
        Ok(None)
    );
    assert_eq!(dev.extent(block), None);
    // A failed one drops its hold, which frees the block; the slot stays.
    let third = table.begin_direct(1, &mut dev).expect("room");
    table.abort_direct(third, &mut dev);
    assert_eq!(dev.extent(third), None);
    assert_eq!(table.state(1), Ok(State::Migrated(Dest::page(second))));

    assert_eq!(table.begin_direct(99, &mut dev), Err(WbError::OutOfRange));
    table.begin_direct(2, &mut dev).expect("room");
    assert_eq!(
        table.begin_direct(2, &mut dev),
        Err(WbError::Backing(BackingError::NoSpace))
    );
    assert_eq!(
        table.store_migrated::<Content>(99, Dest::page(0), &mut dev),
        Err(WbError::OutOfRange)
    );
    assert_eq!(table.counts().bad_releases, 0);
}
