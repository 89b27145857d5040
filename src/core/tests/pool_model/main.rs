//! Model tests of the compressed-object pool (`pool`).
//!
//! The property tests run random operation sequences on a `Pool` and on a model: the
//! content of each owner, where the owner's slot says its object is (updated by the
//! relocation callbacks exactly as the module does), and the LRU order. Frames are
//! `TestFrame`s of 1 to 8 pages (mostly 4, 8, 16 and 32 KiB, mixed at random, plus invalid
//! lengths that must be refused) tracked in a registry, so every frame the pool drops
//! (releases) is counted. After every operation every object must load back byte for
//! byte through its slot, the records of every frame must tile `[0, tail)` within the
//! frame's own length, the statistics (frames and pages) must match the model, huge frames
//! must be one page, the page limit must hold, and the frames must be conserved. Unit
//! tests pin down the rest: the record layout (`tests/frame.rs`), the intrusive lists
//! (`tests/list.rs`), the bucket choice (sure and near fits), the frame protocol, the LRU
//! order and the packing of large frames (`tests/pool.rs`), and compaction
//! (`tests/pool_compact.rs`).
//!
//! The work done in steps under a lock that is dropped between them is checked in the same
//! runs, with stores, loads and frees between the steps: compaction (every object still
//! loads through its slot, frames marked only while a compaction is unfinished and always
//! last in their buckets, and a compaction run in steps with nothing between them does what
//! one in one go does), idle marking (the frames marked are exactly those old enough when
//! it began and not used since, by a model of each frame's last use) and the writeback walk
//! (every frame not used since it began is walked once, in LRU order, and it ends).
//!
//! The model is in parts: the frames and their registry (`common/frames.rs`), the operations and
//! their strategies (`ops.rs`), the model and how each operation runs on it
//! (`harness.rs`), the models of the work done in steps (`steps.rs`) and the checks after
//! every operation (`checks.rs`).

// A directory test: `common` is the shared helpers' directory next to this one.
mod checks;
#[path = "../common/mod.rs"]
mod common;
mod harness;
mod ops;
mod steps;

use common::frame_len;
use common::frames::{SharedRegistry, TestFrame, TestPool};
use common::pool::table;
use ghostswap_core::pool::Pool;
use harness::{Harness, Paths};
use ops::{hole_ops, op, step_op, Op};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

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

/// The model test must notice every frame the pool drops, or the conservation checks prove
/// nothing.
#[test]
fn registry_detects_dropped_frames() {
    let registry = SharedRegistry::default();
    let mut pool: TestPool = Pool::new(table(2));
    assert!(pool.add_frame(TestFrame::new(&registry, 4096)).is_ok());
    assert_eq!(registry.borrow().live.len(), 1);
    drop(pool);
    assert_eq!(registry.borrow().released, vec![0]);
}
