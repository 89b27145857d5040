//! Strategies and checks shared by the pool and store model tests.
//!
//! The checks are written from the pool's documentation, not from its code: the class of a
//! capacity, which hole a record takes, and what the records of a packed frame must look
//! like.

use ghostswap_core::frame::{records, Record, HEADER_LEN};
use ghostswap_core::pool::{FrameEntry, FrameId, FrameState, Pool, Usage, CLASSES};
use proptest::prelude::*;
use std::collections::BTreeSet;

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

/// The free-space class of a frame with a capacity of `capacity` bytes: 64-byte classes
/// below a page, 512-byte classes above, as the pool's documentation says.
pub fn class(capacity: u16) -> u16 {
    if capacity < 4096 {
        capacity / 64
    } else {
        (64 + (capacity - 4096) / 512).min(CLASSES as u16 - 1)
    }
}

/// Where a record of `size` bytes (header included) goes among `holes`, given as
/// `(offset, size)` in frame order: the first hole of exactly its size, else the first of
/// the smallest holes that leave room for a hole header (6 bytes) after it.
pub fn best_hole(holes: impl IntoIterator<Item = (u16, u16)>, size: u16) -> Option<(u16, u16)> {
    let holes: Vec<(u16, u16)> = holes.into_iter().collect();
    let exact = holes.iter().find(|h| h.1 == size);
    let split = holes
        .iter()
        .filter(|h| usize::from(h.1) >= usize::from(size) + HEADER_LEN)
        .min_by_key(|h| h.1);
    exact.or(split).copied()
}

/// Checks the records of the packed frame `page` against its usage `u` and returns them:
/// they tile `[0, tail)`, the last one is live, no two holes are adjacent, and the counts
/// and the largest hole are what the records say.
pub fn check_frame(page: &[u8], u: &Usage) -> Result<Vec<Record>, String> {
    if page.len() != usize::from(u.len) || u.tail > u.len {
        return Err(format!("{} bytes with usage {u:?}", page.len()));
    }
    let walked: Vec<Record> = records(page, u.tail).collect();
    let mut pos = 0;
    for r in &walked {
        if r.offset != pos {
            return Err(format!("records do not tile: {:?} at {pos}", r));
        }
        pos = r.end();
    }
    if pos != u.tail {
        return Err(format!("records stop at {pos}, tail {}", u.tail));
    }
    if walked.last().is_none_or(|r| r.is_free()) {
        return Err("the frame ends in a hole or is empty".into());
    }
    if let Some(pair) = walked.windows(2).find(|w| w[0].is_free() && w[1].is_free()) {
        return Err(format!("adjacent holes {:?} and {:?}", pair[0], pair[1]));
    }
    let live = walked.iter().filter(|r| !r.is_free());
    let holes = walked.iter().filter(|r| r.is_free());
    let expected = Usage {
        tail: u.tail,
        record_bytes: live.clone().map(|r| r.size()).sum(),
        objects: live.count() as u16,
        len: u.len,
        largest_hole: holes.map(|r| r.size()).max().unwrap_or(0),
    };
    if expected != *u {
        return Err(format!("usage {u:?}, records say {expected:?}"));
    }
    Ok(walked)
}

/// Checks that every packed frame of `pool` with an id below `ids` is listed once, in the
/// class of its capacity, and that no class lists anything else.
pub fn check_classes<F, S>(pool: &Pool<F, S>, ids: FrameId) -> Result<(), String>
where
    F: AsRef<[u8]> + AsMut<[u8]>,
    S: AsRef<[FrameEntry<F>]> + AsMut<[FrameEntry<F>]>,
{
    let mut listed = BTreeSet::new();
    for c in 0..=CLASSES {
        for id in pool.class_frames(c) {
            let Some(FrameState::Packed(u)) = pool.frame_state(id) else {
                return Err(format!("class {c} lists frame {id}, not packed"));
            };
            // Room for any record up to the free space after the tail, or the largest
            // hole less the header of the hole that may be left.
            let capacity = (u.len - u.tail).max(u.largest_hole.saturating_sub(HEADER_LEN as u16));
            if u.capacity() != capacity || usize::from(class(capacity)) != c {
                return Err(format!("frame {id} of {u:?} is in class {c}"));
            }
            if !listed.insert(id) {
                return Err(format!("frame {id} listed twice"));
            }
        }
    }
    let packed: BTreeSet<FrameId> = (0..ids)
        .filter(|&id| matches!(pool.frame_state(id), Some(FrameState::Packed(_))))
        .collect();
    if listed != packed {
        return Err(format!("classes list {listed:?}, packed are {packed:?}"));
    }
    Ok(())
}
