//! Random operation sequences on the backing device's block allocator, checked against a
//! model: which extent (if any) each block belongs to, and each extent's holds.
//!
//! After every operation: an allocation must succeed exactly when the model has a run of
//! free blocks long enough, and take only free blocks; a hold, release or abort must be
//! refused exactly when the model says the block is no extent head (or the extent holds
//! nothing to release); an extent must be freed exactly with its last hold; every
//! extent and the statistics must match the model.
//!
//! With a search limit of a few map words, a single call may also stop with
//! `SearchLimitReached`, but `NoSpace` still only when the model has no run; an
//! allocation called again until it stops must end within `ceil(words / limit)` calls,
//! in success exactly when the model has a run, whatever other allocations and frees
//! came between the calls of earlier searches.
//!
//! The tables are chunked as the module's are. A device may start with tables that
//! cover nothing and grow them a chunk at a time when an allocation asks
//! (`NeedTables`): it may ask only when no run is free in the blocks covered, and the
//! answers above stay the same, counted from the last growth.

use ghostswap_core::backing::{
    Backing, BackingError, BackingStats, BlockEntry, ExtentInfo, Extents, MAX_EXTENT, MAX_HOLDS,
    SEARCH_WORDS,
};
// Each test file uses a part of the shared helpers.
#[allow(dead_code)]
mod common;
use common::{Chunks, Grown};
use proptest::prelude::*;
use std::collections::BTreeMap;

type Dev = Backing<Grown<u64>, Grown<BlockEntry>>;

/// Tables for `blocks` blocks in chunks of `words` map words, holding `chunks` chunks of
/// dirty entries: `new` and `grow` must clear them.
fn tables(blocks: usize, words: usize, chunks: usize) -> (Grown<u64>, Grown<BlockEntry>) {
    let mut map = Grown::new(Chunks(Vec::new()), words, blocks.div_ceil(64)).unwrap();
    let mut counts = Grown::new(Chunks(Vec::new()), words * 64, blocks).unwrap();
    for _ in 0..chunks {
        let _ = map.push_chunk(vec![!0u64; words]);
        let _ = counts.push_chunk(vec![BlockEntry::with_count(7); words * 64]);
    }
    (map, counts)
}

/// A device of `blocks` blocks whose tables cover it all.
fn device(blocks: usize) -> Dev {
    let (map, counts) = tables(blocks, 1, blocks.div_ceil(64));
    Backing::new(map, counts).expect("a device")
}

/// A device of `blocks` blocks whose tables cover nothing yet and grow by `words` map words.
fn growing(blocks: usize, words: usize) -> Dev {
    let (map, counts) = tables(blocks, words, 0);
    Backing::new(map, counts).expect("a device")
}

/// Grows `dev`'s tables by a chunk of `words` map words, as the module does after
/// `NeedTables`.
fn grow(dev: &mut Dev, words: usize) {
    dev.grow(|map, counts| {
        let _ = map.push_chunk(vec![!0u64; words]);
        let _ = counts.push_chunk(vec![BlockEntry::with_count(7); words * 64]);
    });
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
        self.has_run_below(len, self.owner.len())
    }

    /// Returns `true` if a run of `len` free blocks lies within the first `blocks`.
    fn has_run_below(&self, len: u32, blocks: usize) -> bool {
        self.owner[..blocks.min(self.owner.len())]
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
            table_blocks: 0,
            used_blocks: self.extents.values().map(|e| e.len).sum(),
            extents: self.extents.len() as u32,
            holds: self.extents.values().map(|e| u64::from(e.holds)).sum(),
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// Allocates, calling again while the search reaches its limit.
    Alloc(u32),
    /// One call of an allocation: the search may stop at its limit.
    AllocOnce(u32),
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
        2 => (1u32..=MAX_EXTENT).prop_map(Op::AllocOnce),
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

/// Takes the extent of `len` blocks at `head` in the model, checking that its blocks were
/// free and on the device.
fn take(model: &mut Model, head: u32, len: u32) -> Result<(), TestCaseError> {
    prop_assert!(head as usize + len as usize <= model.owner.len());
    for b in head..head + len {
        prop_assert_eq!(model.owner[b as usize], None, "block {} taken", b);
        model.owner[b as usize] = Some(head);
    }
    model.extents.insert(head, ExtentInfo { len, holds: 0 });
    Ok(())
}

/// Runs `ops` on a device of `blocks` blocks whose searches look at `limit` map words per
/// call; with `grow_words`, its tables start empty and grow by that many map words.
fn run(
    blocks: usize,
    limit: u32,
    grow_words: Option<usize>,
    ops: Vec<Op>,
) -> Result<(), TestCaseError> {
    let mut dev = match grow_words {
        Some(words) => growing(blocks, words),
        None => device(blocks),
    };
    dev.set_search_limit(limit);
    let mut model = Model::new(blocks);
    let words = blocks.div_ceil(64) as u32;
    for op in ops {
        match op {
            Op::Alloc(len) => {
                // A search ends within a sweep of calls over the map, from wherever
                // earlier calls left it.
                let most = words.div_ceil(limit).max(1);
                let mut calls = 1;
                let mut got = dev.alloc(len);
                loop {
                    match got {
                        Err(BackingError::SearchLimitReached) => {
                            prop_assert!(calls < most, "no answer after {} calls", calls);
                            calls += 1;
                        }
                        Err(BackingError::NeedTables) => {
                            let covered = dev.stats().table_blocks as usize;
                            prop_assert!(covered < blocks, "NeedTables with all covered");
                            prop_assert!(
                                !model.has_run_below(len, covered),
                                "NeedTables with a run of {} free in {} blocks covered",
                                len,
                                covered
                            );
                            grow(&mut dev, grow_words.unwrap_or(1));
                            prop_assert!(dev.stats().table_blocks as usize > covered);
                            calls = 1;
                        }
                        _ => break,
                    }
                    got = dev.alloc(len);
                }
                if len == 0 || len > MAX_EXTENT {
                    prop_assert_eq!(got, Err(BackingError::BadLength));
                } else if !model.has_run(len) {
                    prop_assert_eq!(got, Err(BackingError::NoSpace));
                } else {
                    let head = got.map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                    take(&mut model, head, len)?;
                }
            }
            Op::AllocOnce(len) => match dev.alloc(len) {
                Ok(head) => take(&mut model, head, len)?,
                Err(BackingError::NoSpace) => {
                    prop_assert!(!model.has_run(len), "NoSpace with a run of {} free", len);
                }
                Err(BackingError::SearchLimitReached) => {
                    prop_assert!(limit < words, "a search of the whole map stopped short");
                }
                Err(BackingError::NeedTables) => {
                    let covered = dev.stats().table_blocks as usize;
                    prop_assert!(covered < blocks && !model.has_run_below(len, covered));
                }
                Err(e) => prop_assert!(false, "alloc({}): {:?}", len, e),
            },
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
    let stats = BackingStats {
        table_blocks: 0,
        ..dev.stats()
    };
    prop_assert_eq!(stats, model.stats());
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
        run(blocks, SEARCH_WORDS, None, ops)?;
    }

    #[test]
    fn growing_tables_match_model(
        blocks in prop_oneof![1usize..20, 60usize..70, 120usize..200, 250usize..700],
        limit in prop_oneof![Just(SEARCH_WORDS), 1u32..4],
        grow_words in 1usize..4,
        ops in prop::collection::vec(op(), 1..300),
    ) {
        run(blocks, limit, Some(grow_words), ops)?;
    }

    #[test]
    fn searches_in_steps_match_model(
        blocks in prop_oneof![60usize..70, 120usize..200, 250usize..700],
        limit in 1u32..4,
        ops in prop::collection::vec(op(), 1..300),
    ) {
        run(blocks, limit, None, ops)?;
    }
}

// Edge cases.

#[test]
fn new_refuses_a_short_map() {
    assert!(Backing::new(vec![0u64; 1], vec![BlockEntry::default(); 65]).is_none());
    assert!(Backing::new(vec![0u64; 2], vec![BlockEntry::default(); 65]).is_some());
    let mut empty = Backing::new(Vec::<u64>::new(), Vec::<BlockEntry>::new()).expect("no blocks");
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

// Searches in steps.

/// A device of `words` map words whose blocks are all taken but for blocks `free`.
fn full_but(words: usize, free: std::ops::Range<u32>) -> Dev {
    let mut dev = device(words * 64);
    while dev.alloc(1).is_ok() {}
    for block in free {
        assert_eq!(dev.abort(block), Ok(1));
    }
    dev
}

/// `count` answers that the search reached its limit, then `last`.
fn limits_then(count: usize, last: Result<u32, BackingError>) -> Vec<Result<u32, BackingError>> {
    let mut answers = vec![Err(BackingError::SearchLimitReached); count];
    answers.push(last);
    answers
}

#[test]
fn a_search_goes_on_where_it_stopped() {
    // Ten words, a run of 8 free blocks only in the last one.
    let mut dev = full_but(10, 600..608);
    dev.set_search_limit(3);
    let calls: Vec<_> = (0..4).map(|_| dev.alloc(8)).collect();
    assert_eq!(calls, limits_then(3, Ok(600)));
    // Every other word was looked at and starts no run: the last one, now full, is all
    // that is left to look at.
    assert_eq!(dev.alloc(8), Err(BackingError::NoSpace));
    // Looking for runs of 8 told the longest run of each word: none of 1 either.
    assert_eq!(dev.alloc(1), Err(BackingError::NoSpace));
}

#[test]
fn other_lengths_do_not_restart_a_search() {
    // Single free blocks every 64 blocks, and a run of 8 in the last word.
    let mut dev = full_but(10, 0..0);
    for word in 0..10u32 {
        assert_eq!(dev.abort(word * 64 + 5), Ok(1));
    }
    for block in 600..608 {
        assert_eq!(dev.abort(block), Ok(1));
    }
    dev.set_search_limit(2);
    let mut calls = 0;
    let got = loop {
        calls += 1;
        match dev.alloc(8) {
            Err(BackingError::SearchLimitReached) => {
                // Another writer takes a single block in between.
                assert!(dev.alloc(1).is_ok());
            }
            got => break got,
        }
    };
    assert_eq!(got, Ok(600));
    assert_eq!(calls, 5, "ten words at two a call");
}

#[test]
fn only_words_not_known_to_be_full_are_looked_at() {
    let mut dev = full_but(10, 600..603);
    dev.set_search_limit(2);
    // Filling the device looked at every word: no run of 4 anywhere, known at once.
    assert_eq!(dev.alloc(4), Err(BackingError::NoSpace));
    // A run of 4 in word 1, just after the place the search starts at (word 0): only
    // words 0 and 1 need a look.
    for block in 64..68 {
        assert_eq!(dev.abort(block), Ok(1));
    }
    // A free that makes no run of 4 changes nothing for runs of 4.
    assert_eq!(dev.abort(130), Ok(1));
    assert_eq!(dev.alloc(4), Ok(64));
    assert_eq!(dev.alloc(4), Err(BackingError::NoSpace));
    // That search went on to word 2, where a block is free.
    assert_eq!(dev.alloc(1), Ok(130));
    // The next free block is in the last word: words 2 to 9 are looked at, two a call.
    let calls: Vec<_> = (0..4).map(|_| dev.alloc(1)).collect();
    assert_eq!(calls, limits_then(3, Ok(600)));
}

#[test]
fn a_run_freed_behind_the_search_is_found_within_a_sweep() {
    let mut dev = full_but(4, 0..0);
    dev.set_search_limit(1);
    for _ in 0..3 {
        assert_eq!(dev.alloc(2), Err(BackingError::NoSpace));
    }
    assert_eq!(dev.alloc(8), Err(BackingError::NoSpace));
    // A single free block makes no run of 2.
    assert_eq!(dev.abort(200), Ok(1));
    assert_eq!(dev.alloc(2), Err(BackingError::NoSpace));
    // Now one: the words looked at since the last full one are those left to look at.
    assert_eq!(dev.abort(201), Ok(1));
    let mut calls = 1;
    let mut got = dev.alloc(2);
    while got == Err(BackingError::SearchLimitReached) {
        calls += 1;
        got = dev.alloc(2);
    }
    assert_eq!(got, Ok(200));
    assert!(calls <= 4, "{calls} calls for 4 words");
}
