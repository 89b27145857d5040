//! Strategies shared by the pool and store model tests.

use proptest::prelude::*;

/// Valid frame lengths: mostly 4, 8, 16 and 32 KiB, sometimes any number of pages.
pub fn frame_len() -> impl Strategy<Value = usize> {
    prop_oneof![
        3 => Just(4096usize),
        2 => Just(8192usize),
        2 => Just(16384usize),
        3 => Just(32768usize),
        1 => (1usize..=8).prop_map(|pages| pages * 4096),
    ]
}
