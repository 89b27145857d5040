//! `Chunked` tables against a plain vector: every index reaches the entry the vector
//! holds there, whatever chunks were pushed and refused.

// Each test file uses a part of the shared helpers.
#[allow(dead_code)]
mod common;
use common::{Chunks, Grown};
use ghostswap_core::table::Table;
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
