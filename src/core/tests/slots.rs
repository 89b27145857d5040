//! Unit tests of `SlotTable` corner cases.

use ghostswap_core::slots::{Slot, SlotError, SlotTable};
use ghostswap_core::stats::Counters;

fn table(len: usize) -> SlotTable<Vec<Slot<u64>>> {
    SlotTable::new(vec![Slot::Empty; len])
}

#[test]
fn empty_table_refuses_everything() {
    let mut t = table(0);
    assert!(t.is_empty());
    assert_eq!(t.len(), 0);
    assert_eq!(t.store(0, 1), Err(SlotError::OutOfRange));
    assert_eq!(t.refuse_store(0), Err(SlotError::OutOfRange));
    assert_eq!(t.load(0), Err(SlotError::OutOfRange));
    assert_eq!(t.free(0), Err(SlotError::OutOfRange));
    assert_eq!(
        t.free_range(0..1, |_| panic!("nothing to release")),
        Err(SlotError::OutOfRange)
    );
    assert_eq!(t.free_range(0..0, |_| panic!("nothing to release")), Ok(0));
    assert_eq!(t.drain(|_| panic!("nothing to release")), 0);
    assert_eq!(t.counters(), Counters::default());
}

#[test]
fn overwrite_is_a_store_not_an_invalidate() {
    let mut t = table(2);
    assert_eq!(t.store(1, 10), Ok(None));
    assert_eq!(t.store(1, 11), Ok(Some(10)));
    let c = t.counters();
    assert_eq!(
        (c.stores, c.invalidates, c.stored_pages, c.max_stored_pages),
        (2, 0, 1, 1)
    );
    assert_eq!(t.load(1), Ok(Some(&11)));
}

#[test]
fn refused_store_invalidates_stale_data() {
    let mut t = table(2);
    t.store(0, 10).unwrap();
    assert_eq!(t.refuse_store(0), Ok(Some(10)));
    assert_eq!(t.load(0), Ok(None));
    // Refusing a store to an empty slot invalidates nothing.
    assert_eq!(t.refuse_store(1), Ok(None));
    assert_eq!(
        t.counters(),
        Counters {
            stores: 1,
            failed_stores: 2,
            loads: 0,
            zero_reads: 1,
            invalidates: 1,
            stored_pages: 0,
            max_stored_pages: 1,
        }
    );
}

#[test]
fn free_range_checks_the_whole_range_first() {
    let mut t = table(4);
    for i in 0..4 {
        t.store(i, 100 + i).unwrap();
    }
    let before = t.counters();
    assert_eq!(
        t.free_range(2..5, |_| panic!("partial effect")),
        Err(SlotError::OutOfRange)
    );
    #[expect(clippy::reversed_empty_ranges, reason = "testing a reversed range")]
    let reversed = 3..1;
    assert_eq!(
        t.free_range(reversed, |_| panic!("partial effect")),
        Err(SlotError::OutOfRange)
    );
    assert_eq!(
        t.free_range(u64::MAX..u64::MAX, |_| panic!("partial effect")),
        Err(SlotError::OutOfRange)
    );
    assert_eq!(t.counters(), before);
    let mut released = Vec::new();
    assert_eq!(t.free_range(1..3, |h| released.push(h)), Ok(2));
    assert_eq!(released, [101, 102]);
    assert_eq!(t.counters().invalidates, 2);
    assert_eq!(t.stored_pages(), 2);
}

#[test]
fn drain_counts_no_invalidates() {
    let mut t = table(3);
    t.store(0, 1).unwrap();
    t.store(2, 3).unwrap();
    let mut released = Vec::new();
    assert_eq!(t.drain(|h| released.push(h)), 2);
    assert_eq!(released, [1, 3]);
    let c = t.counters();
    assert_eq!(
        (c.invalidates, c.stored_pages, c.max_stored_pages, c.stores),
        (0, 0, 2, 2)
    );
    assert_eq!(t.load(0), Ok(None));
}

#[test]
fn new_takes_over_stored_slots() {
    let t = SlotTable::new(vec![Slot::Stored(5u64), Slot::Empty, Slot::Stored(6)]);
    let c = t.counters();
    assert_eq!((c.stored_pages, c.max_stored_pages, c.stores), (2, 2, 0));
    assert_eq!(t.slot(0), Ok(&Slot::Stored(5)));
    assert_eq!(t.slot::<u64>(3), Err(SlotError::OutOfRange));
}

#[test]
fn huge_indexes_are_out_of_range() {
    let mut t = table(1);
    for index in [1, 1 << 32, u64::MAX] {
        assert_eq!(t.store(index, 1), Err(SlotError::OutOfRange));
        assert_eq!(t.load(index), Err(SlotError::OutOfRange));
        assert_eq!(t.free(index), Err(SlotError::OutOfRange));
    }
    assert_eq!(t.counters(), Counters::default());
}

#[test]
fn slot_helpers() {
    assert_eq!(Slot::<u8>::default(), Slot::Empty);
    assert!(!Slot::<u8>::Empty.holds_data());
    assert!(Slot::Stored(1u8).holds_data());
    assert_eq!(Slot::Stored(1u8).handle(), Some(&1));
    assert_eq!(Slot::Stored(1u8).into_handle(), Some(1));
    assert_eq!(Slot::<u8>::Empty.into_handle(), None);
}

#[test]
fn reset_max_restarts_the_high_water_mark_from_the_current_level() {
    let mut table = SlotTable::new(vec![Slot::<u32>::Empty; 4]);
    for i in 0..3 {
        assert_eq!(table.store(i, i as u32), Ok(None));
    }
    assert_eq!(table.free(0), Ok(Some(0)));
    assert_eq!(table.free(1), Ok(Some(1)));
    assert_eq!(table.counters().max_stored_pages, 3);
    table.reset_max();
    assert_eq!(table.counters().max_stored_pages, 1);
    assert_eq!(table.counters().stored_pages, 1);
    assert_eq!(table.store(3, 3), Ok(None));
    assert_eq!(table.counters().max_stored_pages, 2);
}

#[test]
fn store_exceeds_counts_only_stores_that_grow_the_table() {
    let mut table = SlotTable::new(vec![Slot::<u32>::Empty; 4]);
    assert!(!table.store_exceeds(0, None));
    assert!(table.store_exceeds(0, Some(0)));
    assert_eq!(table.store(0, 0), Ok(None));
    assert_eq!(table.store(1, 1), Ok(None));
    // At the limit: a new slot would grow past it, an overwrite would not.
    assert!(table.store_exceeds(2, Some(2)));
    assert!(!table.store_exceeds(1, Some(2)));
    assert!(!table.store_exceeds(2, Some(3)));
    // Out-of-range indexes are refused by `store` itself; here they count as growth.
    assert!(table.store_exceeds(99, Some(2)));
}
