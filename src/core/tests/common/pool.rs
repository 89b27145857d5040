//! Pools of boxed frames and deterministic contents, shared by the pool tests.

use ghostswap_core::frame::{records, Page};
use ghostswap_core::pool::{FrameEntry, FrameId, FrameState, ObjectRef, Pool, PoolError, Usage};

/// An empty frame table of `len` entries.
pub fn table<F>(len: usize) -> Vec<FrameEntry<F>> {
    (0..len).map(|_| FrameEntry::default()).collect()
}

/// Deterministic bytes for a seed.
pub fn content(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A page of deterministic bytes for a seed.
pub fn page_of(seed: u64) -> Box<Page> {
    Box::new(content(seed, 4096).try_into().unwrap())
}

/// A frame of the unit tests.
pub type Frame = Box<[u8]>;

/// A pool of such frames.
pub type BoxedPool = Pool<Frame, Vec<FrameEntry<Frame>>>;

/// An empty pool with a frame table of `capacity` entries.
pub fn boxed_pool(capacity: usize) -> BoxedPool {
    Pool::new(table(capacity))
}

/// A frame of `pages` pages.
pub fn frame_of(pages: usize) -> Frame {
    vec![0; pages * 4096].into_boxed_slice()
}

/// A frame of one page.
pub fn new_frame() -> Frame {
    frame_of(1)
}

/// Stores `data` with the protocol, adding frames as needed.
pub fn put(pool: &mut BoxedPool, owner: u32, len: usize) -> ObjectRef {
    let data = content(u64::from(owner) + 1, len);
    loop {
        match pool.store(owner, &data) {
            Ok(r) => return r,
            Err(PoolError::NeedFrame) => assert!(pool.add_frame(new_frame()).is_ok()),
            Err(e) => panic!("{e:?}"),
        }
    }
}

/// The free bytes after the tail of the packed frame `id`.
pub fn free_bytes(pool: &BoxedPool, id: FrameId) -> u16 {
    match pool.frame_state(id) {
        Some(FrameState::Packed(u)) => u.free_bytes(),
        other => panic!("{other:?}"),
    }
}

/// The records of frame `id` as `(offset, size, free)`.
pub fn layout(pool: &BoxedPool, id: FrameId) -> Vec<(u16, u16, bool)> {
    let Some(FrameState::Packed(u)) = pool.frame_state(id) else {
        panic!("frame {id} is not packed");
    };
    records(pool.frame(id).unwrap(), u.tail)
        .map(|r| (r.offset, r.size(), r.is_free()))
        .collect()
}

/// The usage of the packed frame `id`.
pub fn usage_of(pool: &BoxedPool, id: FrameId) -> Usage {
    match pool.frame_state(id) {
        Some(FrameState::Packed(u)) => u,
        other => panic!("{other:?}"),
    }
}
