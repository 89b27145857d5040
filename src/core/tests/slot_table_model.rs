//! Random operation sequences on a `SlotTable`, checked against a `BTreeMap` model.
//!
//! Handles are `Handle`s: not `Copy`, not `Clone`, and tracked in a registry. A handle is
//! live from its creation until the test takes it back from the table (`Handle::release`);
//! one the table drops instead is recorded as dropped. After every operation the live
//! handles must be exactly the model's contents: nothing leaked, nothing lost.

use ghostswap_core::slots::{Slot, SlotError, SlotTable};
use ghostswap_core::stats::Counters;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

#[derive(Default)]
struct Registry {
    /// Handles created and not yet taken back from the table.
    live: BTreeSet<u64>,
    /// Handles that were dropped without being taken back.
    dropped: Vec<u64>,
}

type SharedRegistry = Rc<RefCell<Registry>>;

/// A handle with a content id; reports to the registry when taken back or dropped.
struct Handle {
    id: u64,
    released: bool,
    registry: SharedRegistry,
}

impl Handle {
    fn new(id: u64, registry: &SharedRegistry) -> Self {
        assert!(registry.borrow_mut().live.insert(id), "id {id} reused");
        Handle {
            id,
            released: false,
            registry: Rc::clone(registry),
        }
    }

    /// Takes the handle back from the table (the module would free its memory here).
    fn release(mut self) -> u64 {
        let removed = self.registry.borrow_mut().live.remove(&self.id);
        assert!(removed, "handle {} returned twice", self.id);
        self.released = true;
        self.id
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        if !self.released {
            let mut registry = self.registry.borrow_mut();
            registry.live.remove(&self.id);
            registry.dropped.push(self.id);
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Store(u64),
    RefuseStore(u64),
    Load(u64),
    Free(u64),
    FreeRange(u64, u64),
    Drain,
}

/// Indexes: mostly around the table sizes used, sometimes far out of range.
fn index() -> impl Strategy<Value = u64> {
    prop_oneof![
        20 => 0u64..72,
        1 => (u64::MAX - 2)..=u64::MAX,
        1 => Just(1u64 << 32),
        1 => any::<u64>(),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => index().prop_map(Op::Store),
        2 => index().prop_map(Op::RefuseStore),
        6 => index().prop_map(Op::Load),
        3 => index().prop_map(Op::Free),
        2 => (index(), 0u64..20).prop_map(|(start, n)| Op::FreeRange(start, start.saturating_add(n))),
        1 => (index(), index()).prop_map(|(start, end)| Op::FreeRange(start, end)),
        1 => Just(Op::Drain),
    ]
}

/// The model: slot index to content id, plus the counters it implies.
#[derive(Default)]
struct Model {
    len: u64,
    contents: BTreeMap<u64, u64>,
    counters: Counters,
}

impl Model {
    /// Records the gauge after a change of `contents`.
    fn settle(&mut self) {
        self.counters.stored_pages = self.contents.len() as u64;
        self.counters.max_stored_pages = self
            .counters
            .max_stored_pages
            .max(self.counters.stored_pages);
    }

    fn in_range(&self, index: u64) -> Result<(), SlotError> {
        if index < self.len {
            Ok(())
        } else {
            Err(SlotError::OutOfRange)
        }
    }
}

/// Runs `ops` on a table of `len` slots and on the model, comparing after every step.
fn check_sequence(len: usize, ops: &[Op]) -> Result<(), TestCaseError> {
    let registry = SharedRegistry::default();
    let storage: Vec<Slot<Handle>> = (0..len).map(|_| Slot::Empty).collect();
    let mut table = SlotTable::new(storage);
    let mut model = Model {
        len: len as u64,
        ..Model::default()
    };
    let mut next_id = 0u64;
    prop_assert_eq!(table.len(), model.len);
    prop_assert_eq!(table.is_empty(), len == 0);
    prop_assert_eq!(table.counters(), Counters::default());

    for op in ops {
        let previous = table.counters();
        match *op {
            Op::Store(index) => {
                let id = next_id;
                next_id += 1;
                let got = table
                    .store(index, Handle::new(id, &registry))
                    .map(|old| old.map(Handle::release));
                let expected = model.in_range(index).map(|()| {
                    model.counters.stores += 1;
                    model.contents.insert(index, id)
                });
                prop_assert_eq!(got, expected);
                if expected.is_err() {
                    // Documented: a refused store drops the new handle.
                    let dropped = std::mem::take(&mut registry.borrow_mut().dropped);
                    prop_assert_eq!(dropped, vec![id]);
                }
            }
            Op::RefuseStore(index) => {
                let got = table
                    .refuse_store(index)
                    .map(|old| old.map(Handle::release));
                let expected = model.in_range(index).map(|()| {
                    model.counters.failed_stores += 1;
                    let old = model.contents.remove(&index);
                    if old.is_some() {
                        model.counters.invalidates += 1;
                    }
                    old
                });
                prop_assert_eq!(got, expected);
            }
            Op::Load(index) => {
                let got = table.load(index).map(|h| h.map(|h| h.id));
                let expected = model.in_range(index).map(|()| {
                    let content = model.contents.get(&index).copied();
                    if content.is_some() {
                        model.counters.loads += 1;
                    } else {
                        model.counters.zero_reads += 1;
                    }
                    content
                });
                prop_assert_eq!(got, expected);
            }
            Op::Free(index) => {
                let got = table.free(index).map(|old| old.map(Handle::release));
                let expected = model.in_range(index).map(|()| {
                    let old = model.contents.remove(&index);
                    if old.is_some() {
                        model.counters.invalidates += 1;
                    }
                    old
                });
                prop_assert_eq!(got, expected);
            }
            Op::FreeRange(start, end) => {
                let mut released = Vec::new();
                let got = table.free_range(start..end, |h: Handle| released.push(h.release()));
                released.sort_unstable();
                if start <= end && end <= model.len {
                    let freed: Vec<u64> = model
                        .contents
                        .range(start..end)
                        .map(|(&index, _)| index)
                        .collect();
                    let mut expected_ids: Vec<u64> = freed
                        .iter()
                        .filter_map(|index| model.contents.remove(index))
                        .collect();
                    expected_ids.sort_unstable();
                    model.counters.invalidates += freed.len() as u64;
                    prop_assert_eq!(got, Ok(freed.len() as u64));
                    prop_assert_eq!(released, expected_ids);
                } else {
                    prop_assert_eq!(got, Err(SlotError::OutOfRange));
                    prop_assert!(released.is_empty(), "partial effect on error");
                }
            }
            Op::Drain => {
                let mut released = Vec::new();
                let got = table.drain(|h: Handle| released.push(h.release()));
                released.sort_unstable();
                let mut expected_ids: Vec<u64> = model.contents.values().copied().collect();
                expected_ids.sort_unstable();
                prop_assert_eq!(got, expected_ids.len() as u64);
                prop_assert_eq!(released, expected_ids);
                model.contents.clear();
            }
        }
        model.settle();

        let now = table.counters();
        prop_assert_eq!(now, model.counters, "after {:?}", op);
        prop_assert_eq!(table.stored_pages(), model.contents.len() as u64);
        prop_assert!(now.max_stored_pages >= previous.max_stored_pages);
        prop_assert!(now.max_stored_pages >= now.stored_pages);
        // No counter but the gauge ever goes down.
        prop_assert!(now.stores >= previous.stores);
        prop_assert!(now.failed_stores >= previous.failed_stores);
        prop_assert!(now.loads >= previous.loads);
        prop_assert!(now.zero_reads >= previous.zero_reads);
        prop_assert!(now.invalidates >= previous.invalidates);

        {
            let registry = registry.borrow();
            prop_assert!(
                registry.dropped.is_empty(),
                "table dropped {:?}",
                registry.dropped
            );
            let expected_live: BTreeSet<u64> = model.contents.values().copied().collect();
            prop_assert_eq!(&registry.live, &expected_live);
        }
        for index in 0..model.len {
            let held = table.slot(index).map(|slot| slot.handle().map(|h| h.id));
            prop_assert_eq!(held, Ok(model.contents.get(&index).copied()));
        }
        prop_assert_eq!(
            table.slot::<Handle>(model.len).map(|_| ()),
            Err(SlotError::OutOfRange)
        );
    }

    // Teardown hands back exactly what is left.
    let mut released = Vec::new();
    table.drain(|h: Handle| released.push(h.release()));
    released.sort_unstable();
    let mut expected_ids: Vec<u64> = model.contents.values().copied().collect();
    expected_ids.sort_unstable();
    prop_assert_eq!(released, expected_ids);
    drop(table);
    let registry = registry.borrow();
    prop_assert!(registry.live.is_empty(), "leaked {:?}", registry.live);
    prop_assert!(
        registry.dropped.is_empty(),
        "dropped {:?}",
        registry.dropped
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn slot_table_matches_model(
        len in 1usize..64,
        ops in prop::collection::vec(op(), 0..200),
    ) {
        check_sequence(len, &ops)?;
    }

    #[test]
    fn tiny_tables_match_model(
        len in 0usize..4,
        ops in prop::collection::vec(op(), 0..60),
    ) {
        check_sequence(len, &ops)?;
    }
}

/// The registry must notice a handle that is dropped instead of handed back, or the
/// properties above prove nothing about leaks.
#[test]
fn registry_detects_dropped_handles() {
    let registry = SharedRegistry::default();
    let storage: Vec<Slot<Handle>> = (0..2).map(|_| Slot::Empty).collect();
    let mut table = SlotTable::new(storage);
    assert!(table.store(1, Handle::new(7, &registry)).unwrap().is_none());
    assert_eq!(registry.borrow().live, BTreeSet::from([7]));
    // Dropping the table without draining it drops the handle instead of returning it.
    drop(table);
    assert_eq!(registry.borrow().dropped, vec![7]);
    assert!(registry.borrow().live.is_empty());
}
