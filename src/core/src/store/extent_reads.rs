//! Reads of migrated pages through the extents kept in memory
//! ([`super::super::extent_cache`]).
//!
//! A read of a migrated page, pinned by [`Store::load`], asks [`Store::extent_read`]
//! where to take its bytes from: a cache entry that holds its extent already, its whole
//! extent to read into an entry for its neighbours, or its own blocks as before. All
//! under the store lock, with the extents' allocator, which forgets an entry when it
//! frees the extent.

use core::ops::Range;

use super::super::backing::{BlockEntry, MAX_EXTENT};
use super::super::checksum::WriteSums;
use super::super::extent_cache::{ExtentCache, Lookup};
use super::{Content, Dest, FrameEntry, State, Store, Table};

/// Where the read of a migrated page takes its bytes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExtentRead {
    /// A cache entry holds the page's extent: take the page from it, then
    /// [`Store::extent_done`].
    Cached {
        /// The entry.
        entry: usize,
    },
    /// Read the page's whole extent into cache entry `entry`, check it against the
    /// checksums, then [`Store::extent_filled`].
    Fill(ExtentFill),
    /// Read the page's own blocks: the extent is being read by another reader, no entry
    /// is free, whole-extent reads did not pay lately ([`super::super::fill_policy`]),
    /// or the caller may not read here.
    Alone,
}

/// A claim to read a whole extent into a cache entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtentFill {
    /// The cache entry to fill.
    pub entry: usize,
    /// The device blocks of the extent.
    pub blocks: Range<u32>,
    /// Their checksums, as written.
    pub sums: WriteSums,
}

impl<S, F, T, M, C> Store<S, F, T, M, C>
where
    S: Table<State<Content>>,
    F: AsRef<[u8]> + AsMut<[u8]>,
    T: Table<FrameEntry<F>>,
    M: Table<u64>,
    C: Table<BlockEntry>,
{
    /// Returns `true` if the extent of `dest` is in memory: a read of it
    /// ([`Store::extent_read`]) would be [`ExtentRead::Cached`].
    pub fn extent_ready(&self, dest: Dest) -> bool {
        self.backing
            .as_ref()
            .is_some_and(|backing| backing.cache().is_ready(dest.block))
    }

    /// Tells where the read of `dest`, pinned by [`Store::load`], takes its bytes from;
    /// with `may_fill` false it never asks the caller to read the whole extent.
    pub fn extent_read(&mut self, dest: Dest, may_fill: bool) -> ExtentRead {
        let Some(backing) = self.backing.as_mut() else {
            return ExtentRead::Alone;
        };
        match backing.cache_mut().lookup(dest.block) {
            Lookup::Ready(entry) => return ExtentRead::Cached { entry },
            Lookup::Filling => return ExtentRead::Alone,
            Lookup::Miss if !may_fill => return ExtentRead::Alone,
            // An uncompressed page has its block to itself: nothing to share.
            Lookup::Miss if dest.is_page() => return ExtentRead::Alone,
            Lookup::Miss => {}
        }
        if !backing.cache_mut().should_fill(dest.block) {
            return ExtentRead::Alone;
        }
        let Some(extent) = backing.extent(dest.block) else {
            return ExtentRead::Alone;
        };
        let Some(end) = dest.block.checked_add(extent.len) else {
            return ExtentRead::Alone;
        };
        // CAST: 8 fits a `usize`.
        let mut sums = [0; MAX_EXTENT as usize];
        for (slot, block) in sums.iter_mut().zip(dest.block..end) {
            match backing.sum(block) {
                Some(sum) => *slot = sum,
                None => return ExtentRead::Alone,
            }
        }
        // CAST: at most `MAX_EXTENT` (8) blocks.
        let Some(sums) = <[u32]>::get(&sums, ..extent.len as usize).and_then(WriteSums::from_sums)
        else {
            return ExtentRead::Alone;
        };
        match backing.cache_mut().claim(dest.block) {
            Some(entry) => ExtentRead::Fill(ExtentFill {
                entry,
                blocks: dest.block..end,
                sums,
            }),
            None => ExtentRead::Alone,
        }
    }

    /// Ends the read of an [`ExtentRead::Fill`]: its entry holds the extent from now on if
    /// `read` (the whole extent read and matching its checksums), else it is free again.
    pub fn extent_filled(&mut self, entry: usize, read: bool) {
        if let Some(backing) = self.backing.as_mut() {
            backing.cache_mut().filled(entry, read);
        }
    }

    /// Ends the use of an [`ExtentRead::Cached`] entry.
    pub fn extent_done(&mut self, entry: usize) {
        if let Some(backing) = self.backing.as_mut() {
            backing.cache_mut().done(entry);
        }
    }

    /// Keeps up to `entries` extents in memory from now on (0: none).
    pub fn set_cached_extents(&mut self, entries: usize) {
        if let Some(backing) = self.backing.as_mut() {
            backing.cache_mut().set_limit(entries);
        }
    }

    /// The extent cache, if a backing device is attached: what it holds and has done.
    pub fn extent_cache(&self) -> Option<&ExtentCache> {
        self.backing.as_ref().map(|backing| backing.cache())
    }
}
