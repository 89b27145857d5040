//! Strategies and checks shared by the pool and store model tests.
//!
//! The checks are written from the pool's documentation, not from its code: the class of a
//! capacity, which hole a record takes, and what the records, boundary tags and hole list
//! of a packed frame must look like.

use ghostswap_core::frame::{
    hole_before, hole_links, records, HoleLinks, Record, HEADER_LEN, MIN_RECORD,
};
use ghostswap_core::pool::{FrameEntry, FrameId, FrameState, Pool, Usage, CLASSES};
use ghostswap_core::table::{Chunked, Directory, Table};
use proptest::prelude::*;
use std::collections::BTreeSet;

#[allow(dead_code)] // Only the model tests use these.
pub mod frames;
#[allow(dead_code)] // Only the pool tests use these.
pub mod pool;
#[allow(dead_code)] // Only the store tests use these.
pub mod store;
#[allow(dead_code)] // Only the writeback tests use these.
pub mod writeback;

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
/// `(offset, size)` in any order: the smallest hole of exactly its size or leaving room for
/// a hole of at least `MIN_RECORD` (12) bytes after it, of equals the one at the lowest
/// offset.
pub fn best_hole(holes: impl IntoIterator<Item = (u16, u16)>, size: u16) -> Option<(u16, u16)> {
    holes
        .into_iter()
        .filter(|h| h.1 == size || usize::from(h.1) >= usize::from(size) + MIN_RECORD)
        .min_by_key(|&(offset, hole)| (hole, offset))
}

/// The bytes a record of `len` bytes of data takes, as the frame documentation says: header
/// and data, padded to `MIN_RECORD`.
pub fn padded_size(len: u16) -> u16 {
    (len + HEADER_LEN as u16).max(MIN_RECORD as u16)
}

/// Checks the packed frame `page` against its usage `u` and its hole list `listed` (in list
/// order, as `Pool::holes` walks it) and returns its records.
///
/// The records tile `[0, tail)`, each of its padded size; the last one is live; no two holes
/// are adjacent; the counts, the padding and the largest hole are what the records say.
/// The boundary tags are right: every hole ends in a footer with its size, and exactly the
/// records after a hole say so. The hole list holds exactly the holes, linked both ways.
pub fn check_frame(page: &[u8], u: &Usage, listed: &[Record]) -> Result<Vec<Record>, String> {
    if page.len() != usize::from(u.len) || u.tail > u.len {
        return Err(format!("{} bytes with usage {u:?}", page.len()));
    }
    let walked: Vec<Record> = records(page, u.tail).collect();
    check_tiling(&walked, u.tail)?;
    check_usage(&walked, u)?;
    check_tags(page, &walked)?;
    check_hole_list(page, &walked, listed)?;
    Ok(walked)
}

/// The records tile `[0, tail)`, each of its padded size, the last one is live and no two
/// holes are adjacent.
fn check_tiling(walked: &[Record], tail: u16) -> Result<(), String> {
    let mut pos = 0;
    for r in walked {
        if r.offset != pos || r.size() != padded_size(r.len) {
            return Err(format!("records do not tile: {r:?} at {pos}"));
        }
        pos = r.end();
    }
    if pos != tail {
        return Err(format!("records stop at {pos}, tail {tail}"));
    }
    if walked.last().is_none_or(|r| r.is_free()) {
        return Err("the frame ends in a hole or is empty".into());
    }
    if let Some(pair) = walked.windows(2).find(|w| w[0].is_free() && w[1].is_free()) {
        return Err(format!("adjacent holes {:?} and {:?}", pair[0], pair[1]));
    }
    Ok(())
}

/// The usage is what the records say.
fn check_usage(walked: &[Record], u: &Usage) -> Result<(), String> {
    let live = walked.iter().filter(|r| !r.is_free());
    let holes = walked.iter().filter(|r| r.is_free());
    let expected = Usage {
        tail: u.tail,
        record_bytes: live.clone().map(|r| padded_size(r.len)).sum(),
        objects: live.clone().count() as u16,
        len: u.len,
        largest_hole: holes.map(|r| r.size()).max().unwrap_or(0),
        padding: live
            .map(|r| padded_size(r.len) - r.len - HEADER_LEN as u16)
            .sum(),
    };
    if expected != *u {
        return Err(format!("usage {u:?}, records say {expected:?}"));
    }
    Ok(())
}

/// Every hole ends in a footer holding its size (little-endian), and a record says that a
/// hole is before it exactly when one is.
fn check_tags(page: &[u8], walked: &[Record]) -> Result<(), String> {
    let mut after_hole = false;
    for r in walked {
        if r.prev_free != after_hole {
            return Err(format!("{r:?} has the wrong flag"));
        }
        if r.is_free() {
            let end = usize::from(r.end());
            let footer = u16::from_le_bytes([page[end - 2], page[end - 1]]);
            if footer != r.size() || hole_before(page, r.end()) != Some(*r) {
                return Err(format!("{r:?} has a footer of {footer}"));
            }
        }
        after_hole = r.is_free();
    }
    Ok(())
}

/// The hole list holds exactly the holes, each once, linked both ways.
fn check_hole_list(page: &[u8], walked: &[Record], listed: &[Record]) -> Result<(), String> {
    let holes: BTreeSet<u16> = walked
        .iter()
        .filter(|r| r.is_free())
        .map(|r| r.offset)
        .collect();
    let on_list: BTreeSet<u16> = listed.iter().map(|r| r.offset).collect();
    if on_list != holes || listed.len() != holes.len() {
        return Err(format!("holes {holes:?}, listed {listed:?}"));
    }
    for (i, hole) in listed.iter().enumerate() {
        let expected = HoleLinks {
            prev: i.checked_sub(1).map(|p| listed[p].offset),
            next: listed.get(i + 1).map(|n| n.offset),
        };
        let links = hole_links(page, hole.offset);
        if links != Some(expected) {
            return Err(format!(
                "hole {hole:?} has links {links:?}, not {expected:?}"
            ));
        }
    }
    Ok(())
}

/// Checks that every packed frame of `pool` with an id below `ids` is listed once, in the
/// class of its capacity, and that no class lists anything else.
pub fn check_classes<F, S>(pool: &Pool<F, S>, ids: FrameId) -> Result<(), String>
where
    F: AsRef<[u8]> + AsMut<[u8]>,
    S: Table<FrameEntry<F>>,
{
    let mut listed = BTreeSet::new();
    for c in 0..=CLASSES {
        for id in pool.class_frames(c) {
            let Some(FrameState::Packed(u)) = pool.frame_state(id) else {
                return Err(format!("class {c} lists frame {id}, not packed"));
            };
            // Room for any record up to the free space after the tail, or the largest
            // hole less the header of the hole that may be left.
            let capacity = (u.len - u.tail).max(u.largest_hole.saturating_sub(MIN_RECORD as u16));
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

/// The chunks of a test's [`Chunked`] table.
#[allow(dead_code)] // Not every test file grows a table.
pub struct Chunks<T>(pub Vec<Vec<T>>);

impl<T> Directory<Vec<T>> for Chunks<T> {
    fn chunks(&self) -> &[Vec<T>] {
        &self.0
    }
    fn chunks_mut(&mut self) -> &mut [Vec<T>] {
        &mut self.0
    }
    fn push(&mut self, chunk: Vec<T>) -> Result<(), Vec<T>> {
        self.0.push(chunk);
        Ok(())
    }
}

/// A table in chunks of `Vec`s, as the module keeps its tables in chunks of kernel vectors.
#[allow(dead_code)] // Not every test file grows a table.
pub type Grown<T> = Chunked<Chunks<T>, Vec<T>, T>;
