//! Cost of one overwrite in `Store`, for comparing pool designs on the host.
//!
//! Fills 16384 slots with packed objects of `SIZE` bytes plus up to `JITTER` more, then
//! overwrites random slots `OPS` times and prints the time per overwrite with the pool's
//! statistics. Wall time on the host mixes in cache misses; for a figure that stays the
//! same from run to run, count instructions:
//!
//! ```text
//! cargo build --release --example store_cost -p ghostswap_core
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/examples/store_cost 1504 1000 0        # the fill alone
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/examples/store_cost 1504 1000 200000   # fill + 200000 overwrites
//! ```
//!
//! The difference of the two totals over 200000 is the instructions per overwrite.

use ghostswap_core::migrate::State;
use ghostswap_core::pool::FrameEntry;
use ghostswap_core::store::{Content, Incoming, Store, StoreError};
use std::time::Instant;

const SLOTS: u64 = 16384;
const FRAME_LEN: usize = 32768;

type Frame = Box<[u8]>;
type TestStore = Store<Vec<State<Content>>, Frame, Vec<FrameEntry<Frame>>>;

/// A xorshift generator: the same sequence on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn arg(n: usize, default: u64) -> u64 {
    std::env::args()
        .nth(n)
        .map(|s| s.parse().expect("arguments are numbers: SIZE JITTER OPS"))
        .unwrap_or(default)
}

/// Stores `data` into `slot`, adding frames as the store asks for them; returns the frames
/// added.
fn put(store: &mut TestStore, slot: u64, data: &[u8]) -> u64 {
    let mut added = 0;
    loop {
        match store.store(slot, Incoming::Packed(data)) {
            Ok(()) => return added,
            Err(StoreError::NeedFrame) => {
                added += 1;
                store
                    .add_frame(vec![0u8; FRAME_LEN].into_boxed_slice())
                    .expect("the store asked for a frame");
            }
            Err(e) => panic!("store of slot {slot} failed: {e:?}"),
        }
    }
}

fn main() {
    let size = arg(1, 1504) as usize;
    let jitter = arg(2, 0) as usize;
    let ops = arg(3, 2_000_000);
    let slots = (0..SLOTS).map(|_| State::default()).collect();
    let table = (0..SLOTS).map(|_| FrameEntry::default()).collect();
    let mut store = Store::new(slots, table).expect("a table per slot");
    let data = vec![0x5au8; 4096];
    let mut rng = Rng(12345);
    let len = |r: u64| size + if jitter > 0 { r as usize % jitter } else { 0 };
    for slot in 0..SLOTS {
        let l = len(rng.next());
        put(&mut store, slot, &data[..l]);
    }
    let mut added = 0;
    let start = Instant::now();
    for _ in 0..ops {
        let r = rng.next();
        let l = len(r >> 20);
        added += put(&mut store, r % SLOTS, &data[..l]);
    }
    let elapsed = start.elapsed();
    println!(
        "size {size} jitter {jitter}: {:.1} ns per overwrite, {added} frames added",
        elapsed.as_nanos() as f64 / ops.max(1) as f64
    );
    println!("{:?}", store.mm_stat(0));
    println!("{:?}", store.classes());
}
