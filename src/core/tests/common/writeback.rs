//! Helpers of the store's writeback tests: a store with a backing device, storing a page
//! with the frames it asks for, the frame of a slot, and a checksum of a block.

use ghostswap_core::backing::{Backing, BlockEntry};
use ghostswap_core::migrate::State;
use ghostswap_core::pool::{FrameEntry, FrameId};
use ghostswap_core::store::{Content, Incoming, Store, StoreError};

pub type Frame = Box<[u8]>;
/// A store with a backing device, in plain vectors.
pub type TestStore =
    Store<Vec<State<Content>>, Frame, Vec<FrameEntry<Frame>>, Vec<u64>, Vec<BlockEntry>>;

/// A store of `slots` slots with a backing device of `blocks` blocks.
pub fn new_store(slots: usize, blocks: usize) -> TestStore {
    let frames = (0..slots + 8).map(|_| FrameEntry::default()).collect();
    let mut store = TestStore::new(vec![State::Empty; slots], frames).expect("a small store");
    let dev = Backing::new(
        vec![0; blocks.div_ceil(64)],
        vec![BlockEntry::default(); blocks],
    )
    .expect("a device");
    assert!(store.attach_backing(dev).is_ok());
    store
}

/// Stores `page` in slot `index`, adding frames of `pages` pages (one for a huge page).
pub fn put(store: &mut TestStore, index: u64, page: Incoming<'_>, pages: usize) {
    for _ in 0..3 {
        match store.store(index, page) {
            Ok(()) => return,
            Err(StoreError::NeedFrame) => {
                let len = if matches!(page, Incoming::Huge(_)) {
                    1
                } else {
                    pages
                };
                store
                    .add_frame(vec![0u8; len * 4096].into_boxed_slice())
                    .expect("a frame");
            }
            Err(e) => panic!("store failed: {e:?}"),
        }
    }
    panic!("store still needs a frame");
}

/// The frame holding slot `index`.
pub fn frame_of(store: &TestStore, index: u64) -> FrameId {
    match store.state(index) {
        Some(State::Resident(Content::Packed(object))) => object.frame,
        Some(State::Resident(Content::Huge(id))) => id,
        other => panic!("slot {index} is {other:?}"),
    }
}

/// The tests' checksum of a block: its bytes summed, enough to tell blocks apart.
pub fn block_sum(block: &[u8]) -> u32 {
    block
        .iter()
        .fold(0u32, |sum, &byte| sum.rotate_left(5) ^ u32::from(byte))
}
