//! Random operation sequences on the backing device's block allocator, checked against a
//! model: which extent (if any) each block belongs to, and each extent's holds.
//!
//! After every operation: an allocation must succeed exactly when the model has a run of
//! free blocks long enough, and take only free blocks; a hold, release or abort must be
//! refused exactly when the model says the block is no extent head (or the extent holds
//! nothing to release); an extent must be freed exactly with its last hold; every
//! extent and the statistics must match the model.

use ghostswap_core::backing::{
    Backing, BackingError, BackingStats, ExtentInfo, Extents, MAX_EXTENT, MAX_HOLDS,
};
use proptest::prelude::*;
use std::collections::BTreeMap;

type Dev = Backing<Vec<u64>, Vec<u16>>;

fn device(blocks: usize) -> Dev {
    // Dirty storage: `new` must clear it.
    Backing::new(vec![!0u64; blocks.div_ceil(64)], vec![7u16; blocks]).expect("a device")
}

/// The model: the head of the extent each block is in, and each head's length and holds.
struct Model {
    owner: Vec<Option<u32>>,
    extents: BTreeMap<u32, ExtentInfo>,
}

impl Model {
    fn new(blocks: usize) -> Self {
        Model {
            owner: vec![None; blocks],
            extents: BTreeMap::new(),
        }
    }

    fn has_run(&self, len: u32) -> bool {
        self.owner
            .windows(len as usize)
            .any(|w| w.iter().all(Option::is_none))
    }

    fn free(&mut self, head: u32) {
        let info = self.extents.remove(&head).expect("a head");
        for b in head..head + info.len {
            self.owner[b as usize] = None;
        }
    }

    fn stats(&self) -> BackingStats {
        BackingStats {
            blocks: self.owner.len() as u32,
            used_blocks: self.extents.values().map(|e| e.len).sum(),
            extents: self.extents.len() as u32,
            holds: self.extents.values().map(|e| u64::from(e.holds)).sum(),
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Alloc(u32),
    /// On the `n`th extent of the model (modulo), or on any block if there is none.
    Hold(usize),
    Release(usize),
    Abort(usize),
    /// On a block that may be anything: a tail, a free block, past the end.
    Bogus(u32, u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u32..=MAX_EXTENT + 1).prop_map(Op::Alloc),
        4 => any::<usize>().prop_map(Op::Hold),
        4 => any::<usize>().prop_map(Op::Release),
        1 => any::<usize>().prop_map(Op::Abort),
        1 => (0u32..200, 0u8..3).prop_map(|(b, k)| Op::Bogus(b, k)),
    ]
}

/// The head of the `n`th extent of the model, modulo their number.
fn pick(model: &Model, n: usize) -> Option<u32> {
    let count = model.extents.len();
    (count > 0).then(|| *model.extents.keys().nth(n % count).expect("in range"))
}

fn run(blocks: usize, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut dev = device(blocks);
    let mut model = Model::new(blocks);
    for op in ops {
        match op {
            Op::Alloc(len) => {
                let got = dev.alloc(len);
                if len == 0 || len > MAX_EXTENT {
                    prop_assert_eq!(got, Err(BackingError::BadLength));
                } else if !model.has_run(len) {
                    prop_assert_eq!(got, Err(BackingError::NoSpace));
                } else {
                    let head = got.map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                    prop_assert!(head as usize + len as usize <= blocks);
                    for b in head..head + len {
                        prop_assert_eq!(model.owner[b as usize], None, "block {} taken", b);
                        model.owner[b as usize] = Some(head);
                    }
                    model.extents.insert(head, ExtentInfo { len, holds: 0 });
                }
            }
            Op::Hold(n) => {
                let Some(head) = pick(&model, n) else {
                    continue;
                };
                let info = model.extents.get_mut(&head).expect("picked");
                info.holds += 1;
                prop_assert_eq!(dev.hold(head), Ok(info.holds));
            }
            Op::Release(n) => {
                let Some(head) = pick(&model, n) else {
                    continue;
                };
                let info = *model.extents.get(&head).expect("picked");
                let got = dev.release_object(head);
                match info.holds {
                    0 => prop_assert_eq!(got, Err(BackingError::NotHeld)),
                    1 => {
                        prop_assert_eq!(got, Ok(Some(info.len)));
                        model.free(head);
                    }
                    h => {
                        prop_assert_eq!(got, Ok(None));
                        model.extents.insert(
                            head,
                            ExtentInfo {
                                holds: h - 1,
                                ..info
                            },
                        );
                    }
                }
            }
            Op::Abort(n) => {
                let Some(head) = pick(&model, n) else {
                    continue;
                };
                let len = model.extents[&head].len;
                prop_assert_eq!(dev.abort(head), Ok(len));
                model.free(head);
            }
            Op::Bogus(block, kind) => {
                let is_head = model.extents.get(&block).copied();
                let got = match kind {
                    0 => dev.hold(block).map(|_| ()),
                    1 => dev.release_object(block).map(|_| ()),
                    _ => dev.abort(block).map(|_| ()),
                };
                match is_head {
                    Some(info) => match kind {
                        0 => {
                            prop_assert!(got.is_ok());
                            let holds = info.holds + 1;
                            model.extents.insert(block, ExtentInfo { holds, ..info });
                        }
                        1 if info.holds == 0 => {
                            prop_assert_eq!(got, Err(BackingError::NotHeld));
                        }
                        1 if info.holds == 1 => {
                            prop_assert!(got.is_ok());
                            model.free(block);
                        }
                        1 => {
                            prop_assert!(got.is_ok());
                            dev.hold(block).expect("a head");
                        }
                        _ => {
                            prop_assert!(got.is_ok());
                            model.free(block);
                        }
                    },
                    None => prop_assert_eq!(got, Err(BackingError::NotExtent)),
                }
            }
        }
        check(&dev, &model)?;
    }
    // Releasing everything frees every block.
    let heads: Vec<u32> = model.extents.keys().copied().collect();
    for head in heads {
        let holds = model.extents[&head].holds;
        for _ in 1..holds {
            prop_assert_eq!(dev.release_object(head), Ok(None));
        }
        if holds > 0 {
            prop_assert!(dev.release_object(head).expect("held").is_some());
        } else {
            prop_assert!(dev.abort(head).is_ok());
        }
    }
    prop_assert_eq!(dev.stats().used_blocks, 0);
    prop_assert_eq!(dev.stats().extents, 0);
    prop_assert_eq!(dev.stats().holds, 0);
    Ok(())
}

fn check(dev: &Dev, model: &Model) -> Result<(), TestCaseError> {
    prop_assert_eq!(dev.stats(), model.stats());
    prop_assert_eq!(
        dev.stats().free_blocks(),
        model.stats().blocks - model.stats().used_blocks
    );
    for block in 0..model.owner.len() as u32 + 2 {
        prop_assert_eq!(
            dev.extent(block),
            model.extents.get(&block).copied(),
            "block {}",
            block
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn allocator_matches_model(
        blocks in prop_oneof![1usize..20, 60usize..70, 120usize..200],
        ops in prop::collection::vec(op(), 1..300),
    ) {
        run(blocks, ops)?;
    }
}

// Edge cases.

#[test]
fn new_refuses_a_short_map() {
    assert!(Backing::new(vec![0u64; 1], vec![0u16; 65]).is_none());
    assert!(Backing::new(vec![0u64; 2], vec![0u16; 65]).is_some());
    let mut empty = Backing::new(Vec::<u64>::new(), Vec::<u16>::new()).expect("no blocks");
    assert_eq!(empty.alloc(1), Err(BackingError::NoSpace));
}

#[test]
fn fills_to_the_last_block_and_never_past_it() {
    // 67 blocks: the last word has 3.
    let mut dev = device(67);
    let mut heads = Vec::new();
    while let Ok(head) = dev.alloc(8) {
        heads.push(head);
    }
    assert_eq!(heads.len(), 8); // 64 blocks; 3 left, too few for 8.
    assert_eq!(dev.alloc(4), Err(BackingError::NoSpace));
    assert_eq!(dev.alloc(3), Ok(64));
    assert_eq!(dev.stats().free_blocks(), 0);
    assert_eq!(dev.alloc(1), Err(BackingError::NoSpace));
    // Freeing one extent makes exactly its blocks available again.
    assert_eq!(dev.abort(heads[3]), Ok(8));
    assert_eq!(dev.alloc(8), Ok(heads[3]));
}

#[test]
fn extents_span_map_words_and_the_search_wraps() {
    let mut dev = device(128);
    for i in 0..7 {
        assert_eq!(dev.alloc(8), Ok(i * 8));
    }
    assert_eq!(dev.alloc(4), Ok(56));
    // Blocks 60..68: across the boundary of the first two map words.
    assert_eq!(dev.alloc(8), Ok(60));
    for i in 0..7 {
        assert_eq!(dev.alloc(8), Ok(68 + i * 8));
    }
    assert_eq!(dev.abort(8), Ok(8));
    // The search starts in the second word (4 blocks free at its end), then wraps.
    assert_eq!(dev.alloc(8), Ok(8));
    assert_eq!(dev.alloc(5), Err(BackingError::NoSpace));
    assert_eq!(dev.alloc(4), Ok(124));
    assert_eq!(dev.stats().free_blocks(), 0);
    assert_eq!(dev.extent(60), Some(ExtentInfo { len: 8, holds: 0 }));
    assert_eq!(dev.extent(64), None); // A tail.
}

#[test]
fn holds_are_bounded_and_checked() {
    let mut dev = device(10);
    let head = dev.alloc(1).expect("room");
    let next = dev.alloc(1).expect("room");
    assert_eq!(dev.release_object(head), Err(BackingError::NotHeld));
    for _ in 0..MAX_HOLDS {
        dev.hold(head).expect("below the bound");
    }
    assert_eq!(dev.hold(head), Err(BackingError::TooManyHolds));
    // The neighbour's head is not mistaken for a tail of a full extent.
    assert_eq!(
        dev.extent(head),
        Some(ExtentInfo {
            len: 1,
            holds: MAX_HOLDS
        })
    );
    assert_eq!(dev.extent(next), Some(ExtentInfo { len: 1, holds: 0 }));
    assert_eq!(dev.abort(head), Ok(1));
    assert_eq!(dev.stats().holds, 0);
    assert_eq!(dev.release_object(head), Err(BackingError::NotExtent));
    assert_eq!(dev.hold(1000), Err(BackingError::NotExtent));
}

#[test]
fn bad_lengths_are_refused() {
    let mut dev = device(64);
    assert_eq!(dev.alloc(0), Err(BackingError::BadLength));
    assert_eq!(dev.alloc(MAX_EXTENT + 1), Err(BackingError::BadLength));
    assert_eq!(dev.stats().used_blocks, 0);
}
