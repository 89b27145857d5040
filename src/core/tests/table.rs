//! `Chunked` tables against a plain vector: every index reaches the entry the vector
//! holds there, whatever chunks were pushed and refused.

// Each test file uses a part of the shared helpers.
#[allow(dead_code)]
mod common;
use common::{Chunks, Grown};
use ghostswap_core::table::{Sparse, Table};
use proptest::prelude::*;

type TestTable = Grown<u32>;

#[derive(Debug, Clone)]
enum Op {
    /// Pushes a chunk of `len` entries (the right length or not).
    Push {
        len: usize,
    },
    Set {
        index: usize,
        value: u32,
    },
    Swap {
        a: usize,
        b: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0usize..6).prop_map(|len| Op::Push { len }),
        (0usize..48, any::<u32>()).prop_map(|(index, value)| Op::Set { index, value }),
        (0usize..48, 0usize..48).prop_map(|(a, b)| Op::Swap { a, b }),
    ]
}

proptest! {
    #[test]
    fn chunked_matches_vector(
        chunk_len in 1usize..5,
        capacity in 0usize..40,
        ops in prop::collection::vec(op(), 0..60),
    ) {
        let mut table = TestTable::new(Chunks(Vec::new()), chunk_len, capacity).unwrap();
        let mut model: Vec<u32> = Vec::new();
        let mut next = 0u32;
        prop_assert_eq!(table.capacity(), capacity);
        for op in ops {
            match op {
                Op::Push { len } => {
                    let chunk: Vec<u32> = (0..len as u32).map(|i| next + i).collect();
                    let fits = len == chunk_len && model.len() < capacity;
                    match table.push_chunk(chunk.clone()) {
                        Ok(()) => {
                            prop_assert!(fits, "a chunk of {} taken at {}", len, model.len());
                            model.extend(chunk);
                            model.truncate(capacity);
                            next += len as u32;
                        }
                        Err(back) => {
                            prop_assert!(!fits, "a fitting chunk refused");
                            prop_assert_eq!(back, chunk);
                        }
                    }
                }
                Op::Set { index, value } => {
                    match (Table::get_mut(&mut table, index), model.get_mut(index)) {
                        (Some(got), Some(want)) => {
                            prop_assert_eq!(*got, *want);
                            *got = value;
                            *want = value;
                        }
                        (None, None) => {}
                        (got, want) => prop_assert!(false, "{:?} vs {:?} at {}", got, want, index),
                    }
                }
                Op::Swap { a, b } => {
                    let got = table.pair_mut(a, b).map(|(x, y)| {
                        core::mem::swap(x, y);
                    });
                    let valid = a != b && a < model.len() && b < model.len();
                    prop_assert_eq!(got.is_some(), valid, "pair {} {} of {}", a, b, model.len());
                    if valid {
                        model.swap(a, b);
                    }
                }
            }
            prop_assert_eq!(table.len(), model.len());
            prop_assert_eq!(table.chunks(), model.len().div_ceil(chunk_len));
            for (i, want) in model.iter().enumerate() {
                prop_assert_eq!(table.get(i), Some(want));
            }
            prop_assert_eq!(table.get(model.len()), None);
        }
    }
}

#[test]
fn refuses_a_zero_chunk_or_a_used_directory() {
    assert!(TestTable::new(Chunks(Vec::new()), 0, 8).is_none());
    assert!(TestTable::new(Chunks(vec![vec![0; 2]]), 2, 8).is_none());
}

type Holes = Sparse<Vec<Option<Vec<u32>>>, Vec<u32>, u32>;

#[derive(Debug, Clone)]
enum SparseOp {
    /// Inserts a chunk of `len` entries where entry `index` is.
    Insert {
        index: usize,
        len: usize,
    },
    Set {
        index: usize,
        value: u32,
    },
    Swap {
        a: usize,
        b: usize,
    },
}

fn sparse_op() -> impl Strategy<Value = SparseOp> {
    prop_oneof![
        (0usize..48, 0usize..6).prop_map(|(index, len)| SparseOp::Insert { index, len }),
        (0usize..48, any::<u32>()).prop_map(|(index, value)| SparseOp::Set { index, value }),
        (0usize..48, 0usize..48).prop_map(|(a, b)| SparseOp::Swap { a, b }),
    ]
}

proptest! {
    #[test]
    fn sparse_matches_model(
        chunk_len in 1usize..5,
        capacity in 0usize..40,
        ops in prop::collection::vec(sparse_op(), 0..60),
    ) {
        let places = capacity.div_ceil(chunk_len);
        let mut table = Holes::new(vec![None; places], chunk_len, capacity).unwrap();
        // The model: what each entry the table holds is.
        let mut model: Vec<Option<u32>> = vec![None; capacity];
        let mut next = 0u32;
        for op in ops {
            match op {
                SparseOp::Insert { index, len } => {
                    let first = index / chunk_len * chunk_len;
                    let fits = len == chunk_len && index < capacity && model[first].is_none();
                    let chunk: Vec<u32> = (0..len as u32).map(|i| next + i).collect();
                    match table.insert_chunk(index, chunk.clone()) {
                        Ok(()) => {
                            prop_assert!(fits, "chunk of {} taken at {}", len, index);
                            for (i, v) in chunk.iter().enumerate() {
                                if let Some(m) = model.get_mut(first + i) {
                                    *m = Some(*v);
                                }
                            }
                            next += len as u32;
                        }
                        Err(back) => {
                            prop_assert!(!fits, "a fitting chunk refused at {}", index);
                            prop_assert_eq!(back, chunk);
                        }
                    }
                }
                SparseOp::Set { index, value } => {
                    let want = model.get_mut(index).and_then(Option::as_mut);
                    match (Table::get_mut(&mut table, index), want) {
                        (Some(got), Some(want)) => {
                            prop_assert_eq!(*got, *want);
                            *got = value;
                            *want = value;
                        }
                        (None, None) => {}
                        (got, want) => prop_assert!(false, "{:?} vs {:?} at {}", got, want, index),
                    }
                }
                SparseOp::Swap { a, b } => {
                    let held = |i: usize| model.get(i).is_some_and(Option::is_some);
                    let valid = a != b && held(a) && held(b);
                    let got = table.pair_mut(a, b).map(|(x, y)| core::mem::swap(x, y));
                    prop_assert_eq!(got.is_some(), valid, "pair {} {}", a, b);
                    if valid {
                        model.swap(a, b);
                    }
                }
            }
            prop_assert_eq!(table.capacity(), capacity);
            let held: Vec<usize> = (0..capacity).filter(|&i| model[i].is_some()).collect();
            let places: std::collections::BTreeSet<usize> =
                held.iter().map(|i| i / chunk_len).collect();
            prop_assert_eq!(table.chunks(), places.len());
            let top = held.last().map_or(0, |&i| (i / chunk_len + 1) * chunk_len).min(capacity);
            prop_assert_eq!(table.len(), top);
            for (i, want) in model.iter().enumerate() {
                prop_assert_eq!(table.get(i), want.as_ref(), "entry {}", i);
                prop_assert_eq!(table.holds(i), want.is_some());
            }
        }
    }
}
