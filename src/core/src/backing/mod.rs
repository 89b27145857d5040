//! The backing device's block allocator: extents of 1 to 8 blocks that count their objects.
//!
//! Writeback moves a whole pool frame (1 to [`MAX_EXTENT`] pages, see [`super::pool`]) to
//! the backing device as it sits, so the device is cut into *extents*: runs of contiguous
//! 4 KiB blocks, one per frame written. An extent holds the frame's objects, and every
//! object still in use (a slot migrated there, a write in flight, a read in flight) holds
//! the extent once. [`Extents::hold`] takes a hold, [`Extents::release_object`] drops one
//! and frees the extent's blocks with the last; [`Extents::abort`] frees an extent
//! whatever it holds, for a write that failed before anything was handed out.
//!
//! A huge page is an extent of one block holding one object.
//!
//! The allocator never allocates: it works in two caller-provided tables
//! ([`super::table::Table`]) for a device of `n` blocks. They may cover only the first
//! blocks of the device and grow as it fills: when no run is free in the blocks covered,
//! [`Extents::alloc`] fails with [`BackingError::NeedTables`], and the caller allocates
//! more of both tables with its lock dropped and hands them in with [`Backing::grow`].
//!
//! - `map`, `ceil(n / 64)` words, one bit per block: set if the block is in an extent.
//!   Bits past block `n - 1` in the last word are set, so no extent ever reaches past
//!   the end of the device.
//! - `counts`, `n` [`BlockEntry`]s: for the first block of an extent (its *head*) the
//!   number of holds, 0 to [`MAX_HOLDS`]; [`TAIL`] for the other blocks of an extent;
//!   0 for a free block. An extent's length is its head plus the [`TAIL`] blocks after
//!   it, so it needs no field of its own. Each entry also keeps the checksum of its
//!   block as last written ([`Backing::set_sums`]), which a read of the block checks
//!   ([`crate::checksum`]).
//!
//! That is 6 bytes and 1 bit per 4 KiB block covered, 0.15 % of the backing device when
//! all of it is in use.
//!
//! # Allocation
//!
//! Next fit: a search starts at the map word where the last one stopped (after the last
//! extent allocated, or past the last word it looked at) and looks at each word in turn,
//! wrapping around, for `k` clear bits in a row that start in that word (they may run
//! into the next word). Each word costs at most [`MAX_EXTENT`] shifts and ands, which
//! also tell the longest run (up to [`MAX_EXTENT`] blocks) that starts there.
//!
//! The caller holds a spinlock, so one call looks at [`SEARCH_WORDS`] words at most
//! ([`Backing::set_search_limit`] sets another limit). If it finds no run there it fails
//! with [`BackingError::SearchLimitReached`], having changed nothing but where the next
//! search starts: calling again goes on from there, and successive calls cover the whole
//! map. For each length `k` the allocator counts the words just before that place, in a
//! row, in which no run of `k` blocks starts. Every word looked at, by a search of any
//! length, lengthens or ends those rows (it tells the longest run that starts in it);
//! allocating only takes blocks, so a row stays true; a free that makes a run start in a
//! word of a row cuts the row to the words after it (checked at the free, in O(1)
//! steps). When the row of `k` covers the map, no run of `k` blocks exists. Hence:
//!
//! - a call looks at `min(limit, words)` map words at most;
//! - called again with no other search in between, an allocation ends within
//!   `ceil(words / limit)` calls, from wherever earlier calls left the search;
//! - [`BackingError::NoSpace`] is returned exactly when no run of that length exists,
//!   and then at once, without looking at the map, until a free makes one;
//! - a device of at most `limit` words (64 MiB with the default) is searched whole in
//!   one call, as it was before searches had a limit.
//!
//! # Examples
//!
//! ```
//! use ghostswap_core::backing::{Backing, BackingError, BlockEntry, Extents};
//!
//! // A device of 100 blocks.
//! let mut dev = Backing::new(vec![0u64; 2], vec![BlockEntry::default(); 100]).ok_or(BackingError::NoSpace)?;
//! let a = dev.alloc(8)?; // A 32 KiB frame.
//! dev.hold(a)?; // Two objects written there.
//! dev.hold(a)?;
//! assert_eq!(dev.stats().used_blocks, 8);
//! assert_eq!(dev.release_object(a)?, None); // One object still there.
//! assert_eq!(dev.release_object(a)?, Some(8)); // The last: 8 blocks freed.
//! assert_eq!(dev.stats().used_blocks, 0);
//! assert_eq!(dev.release_object(a), Err(BackingError::NotExtent));
//! # Ok::<(), BackingError>(())
//! ```

mod entry; // One block's entry in `counts`: its holds and its checksum.
mod runs; // Runs of free blocks in a map word.

use runs::run_starts;

pub use entry::BlockEntry;

use super::extent_cache::ExtentCache;
use super::frame::MAX_FRAME_SIZE;
use super::geometry::PAGE_SIZE;
use super::table::Table;

/// The most blocks an extent can have: the pages of the largest frame.
// CAST: 8, the pages of a frame, fits a `u32`.
pub const MAX_EXTENT: u32 = (MAX_FRAME_SIZE / PAGE_SIZE) as u32;

/// The `counts` entry of a block that is in an extent but not its first block.
pub const TAIL: u16 = u16::MAX;

/// The most holds an extent can count; one more than a 32 KiB extent's objects and reads
/// in flight could ever need (at most 2730 records of 12 bytes fit a frame).
pub const MAX_HOLDS: u16 = TAIL - 1;

/// Extents a backing device keeps in memory after a read, unless told otherwise
/// ([`crate::extent_cache`]): 8 of at most 32 KiB each.
pub const DEFAULT_CACHED_EXTENTS: usize = 8;

/// Bits in a map word.
const WORD_BITS: u32 = u64::BITS;

/// Map words one call of [`Extents::alloc`] looks at, at most, unless
/// [`Backing::set_search_limit`] sets another limit.
///
/// 256 words are 16384 blocks, 64 MiB of the device: at most about 2000 shifts and ands,
/// a few microseconds under the caller's lock. A device of up to 64 MiB is searched whole
/// in one call; on a full 1 TiB device an allocation takes 1024 calls to find that no run
/// is left (and then answers at once until a free makes one).
pub const SEARCH_WORDS: u32 = 256;

/// The extent lengths, each with a row of words known to hold no run of it.
// CAST: 8 fits a `usize`.
const LENGTHS: usize = MAX_EXTENT as usize;

/// Why an allocator operation was refused. A refused operation changes nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackingError {
    /// An extent length of 0 or more than [`MAX_EXTENT`] blocks.
    BadLength,
    /// No run of free blocks is long enough.
    NoSpace,
    /// No run of free blocks is long enough in the part of the device the tables cover
    /// now, and they can grow: grow them ([`Backing::grow`]) and call again.
    NeedTables,
    /// The search looked at its limit of map words ([`SEARCH_WORDS`]) without finding a
    /// run: call again, and it goes on from where it stopped (see the [module
    /// documentation](self#allocation)). Nothing was allocated.
    SearchLimitReached,
    /// The block is not the first block of an extent (a bug of the caller: a double
    /// free or a made-up destination).
    NotExtent,
    /// The extent already counts [`MAX_HOLDS`] holds.
    TooManyHolds,
    /// The extent holds nothing to release.
    NotHeld,
}

/// What the allocator holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BackingStats {
    /// Blocks of the device.
    pub blocks: u32,
    /// Blocks the allocator's tables cover now (they grow up to `blocks`).
    pub table_blocks: u32,
    /// Blocks in extents.
    pub used_blocks: u32,
    /// Extents allocated.
    pub extents: u32,
    /// Holds on all extents: live objects plus writes and reads in flight.
    pub holds: u64,
}

impl BackingStats {
    /// Blocks in no extent.
    pub fn free_blocks(&self) -> u32 {
        self.blocks.saturating_sub(self.used_blocks)
    }
}

/// One extent, as [`Backing::extent`] reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtentInfo {
    /// Its blocks, 1 to [`MAX_EXTENT`].
    pub len: u32,
    /// Its holds.
    pub holds: u16,
}

/// The allocator operations writeback needs, implemented by [`Backing`]: its callers
/// need not name the allocator's storage types.
pub trait Extents {
    /// Allocates an extent of `len` contiguous blocks and returns its first block.
    ///
    /// The extent holds nothing yet: take a hold per object written there
    /// ([`Extents::hold`]), or [`Extents::abort`] it if none is.
    ///
    /// A call looks at a bounded part of the map (see the [module
    /// documentation](self#allocation)).
    ///
    /// # Errors
    ///
    /// [`BackingError::BadLength`] unless `1 <= len <= MAX_EXTENT`;
    /// [`BackingError::NoSpace`] if no run of `len` free blocks is left;
    /// [`BackingError::SearchLimitReached`] if this call looked at its limit of map words
    /// without finding a run: call again (after dropping the lock) to go on.
    fn alloc(&mut self, len: u32) -> Result<u32, BackingError>;

    /// Takes a hold on the extent that starts at `block` and returns how many it has now.
    ///
    /// # Errors
    ///
    /// [`BackingError::NotExtent`] if no extent starts at `block`;
    /// [`BackingError::TooManyHolds`] if it has [`MAX_HOLDS`] already.
    fn hold(&mut self, block: u32) -> Result<u16, BackingError>;

    /// Drops a hold on the extent that starts at `block`; frees the extent with its last
    /// hold and then returns its length.
    ///
    /// # Errors
    ///
    /// [`BackingError::NotExtent`] if no extent starts at `block`;
    /// [`BackingError::NotHeld`] if it has no holds.
    fn release_object(&mut self, block: u32) -> Result<Option<u32>, BackingError>;

    /// Frees the extent that starts at `block` whatever it holds, and returns its length.
    ///
    /// For a write that failed or was never started: the caller must make sure nothing
    /// still refers to the extent.
    ///
    /// # Errors
    ///
    /// [`BackingError::NotExtent`] if no extent starts at `block`.
    fn abort(&mut self, block: u32) -> Result<u32, BackingError>;
}

/// The block allocator of one backing device.
///
/// `M` stores the map and `C` the counts (see the module docs); their `as_ref` and
/// `as_mut` must return the same slices every time.
///
/// # Invariants
///
/// - `blocks <= device_blocks`; `blocks` is at most the length of `counts`, and `words`
///   is `ceil(blocks / 64)`, at most the length of `map`; only the first `blocks` counts
///   and `words` words are used. `blocks` is a multiple of 64 unless it is
///   `device_blocks`.
/// - A map bit is set exactly for the blocks of extents and the bits past `blocks`.
/// - An extent is a head (map bit set, count not [`TAIL`]) followed by 0 to
///   `MAX_EXTENT - 1` [`TAIL`] blocks; every block with its map bit set is in exactly
///   one extent. Free blocks count 0.
/// - `used`, `extents` and `holds` are the blocks in extents, the heads and the sum of
///   the heads' counts.
/// - `cursor < words`, or 0 if `words` is 0: the word the next search starts at.
/// - `clear[k - 1] <= words`, and no run of `k` free blocks starts in any of the
///   `clear[k - 1]` words just before `cursor` (cyclically).
/// - `search_limit >= 1`.
pub struct Backing<M, C> {
    map: M,
    counts: C,
    /// Blocks of the device.
    device_blocks: u32,
    /// Blocks the tables cover now: those the allocator searches and hands out.
    blocks: u32,
    words: usize,
    cursor: usize,
    /// By length: the words before `cursor`, in a row, known to start no run of it. A
    /// `u32` each (a map has at most 2^26 words) keeps the allocator small.
    clear: [u32; LENGTHS],
    search_limit: u32,
    used: u32,
    extents: u32,
    holds: u64,
    /// Extents kept in memory after a read; forgotten when freed.
    cache: ExtentCache,
}

impl<M, C> Backing<M, C>
where
    M: Table<u64>,
    C: Table<BlockEntry>,
{
    /// Creates an allocator of an empty device of `counts.capacity()` blocks, of which
    /// the first `counts.len()` are covered by the tables now.
    ///
    /// Both tables are overwritten. Returns `None` if `map` has fewer than
    /// `ceil(counts.len() / 64)` words, can grow to fewer than `ceil(counts.capacity() /
    /// 64)`, or the device has more than `u32::MAX` blocks.
    pub fn new(map: M, counts: C) -> Option<Self> {
        let device_blocks = u32::try_from(counts.capacity()).ok()?;
        // CAST: a `u32` fits a `usize` on the targets Linux supports.
        if map.capacity() < device_blocks.div_ceil(WORD_BITS) as usize {
            return None;
        }
        let mut backing = Self {
            map,
            counts,
            device_blocks,
            blocks: 0,
            words: 0,
            cursor: 0,
            clear: [0; LENGTHS],
            search_limit: SEARCH_WORDS,
            used: 0,
            extents: 0,
            holds: 0,
            cache: ExtentCache::new(DEFAULT_CACHED_EXTENTS),
        };
        let covered = backing.covered_blocks();
        if backing.map.len() < covered.div_ceil(WORD_BITS) as usize {
            return None;
        }
        backing.cover(covered);
        Some(backing)
    }

    /// Returns the blocks the tables as they are can cover: the counts' length, in whole
    /// map words.
    fn covered_blocks(&self) -> u32 {
        let counts = u32::try_from(self.counts.len()).unwrap_or(u32::MAX);
        let words = u32::try_from(self.map.len()).unwrap_or(u32::MAX);
        counts
            .min(words.saturating_mul(WORD_BITS))
            .min(self.device_blocks)
    }

    /// Takes blocks `self.blocks..blocks` into the allocator, free, and starts the next
    /// search at the first of them.
    fn cover(&mut self, blocks: u32) {
        let old = self.blocks;
        if blocks <= old && old != 0 {
            return;
        }
        // The bits past the old last block were set as its end: they are blocks now.
        if old % WORD_BITS != 0 {
            // CAST: a `u32` fits a `usize`.
            if let Some(last) = self.map.get_mut((old / WORD_BITS) as usize) {
                *last &= !(u64::MAX << (old % WORD_BITS));
            }
        }
        for block in old..blocks {
            self.set_count_at(block, 0);
        }
        // CAST: a `u32` fits a `usize`.
        let old_words = old.div_ceil(WORD_BITS) as usize;
        let words = blocks.div_ceil(WORD_BITS) as usize;
        for i in old_words..words {
            if let Some(word) = self.map.get_mut(i) {
                *word = 0;
            }
        }
        if blocks % WORD_BITS != 0 {
            if let Some(last) = self.map.get_mut(words.saturating_sub(1)) {
                // INVARIANT: the bits past the last block are set.
                *last |= u64::MAX << (blocks % WORD_BITS);
            }
        }
        // INVARIANT: the words covered and where the search starts; what the rows knew
        // was about a map of another length, so they start again from nothing.
        self.blocks = blocks;
        self.words = words;
        self.cursor = if old_words < words { old_words } else { 0 };
        self.clear = [0; LENGTHS];
    }

    /// Lets `grow` append zeroed entries to the map and the counts, allocated before the
    /// caller took its lock, and takes the blocks they cover into the allocator.
    ///
    /// `grow` must not allocate or sleep, and must not change existing entries. Blocks are
    /// covered in whole map words: counts for blocks the map does not cover yet wait for
    /// the map to grow.
    pub fn grow(&mut self, grow: impl FnOnce(&mut M, &mut C)) {
        grow(&mut self.map, &mut self.counts);
        let covered = self.covered_blocks();
        if covered > self.blocks {
            self.cover(covered);
        }
    }

    /// Returns `true` if the tables cover fewer blocks than the device has.
    pub fn can_grow(&self) -> bool {
        self.blocks < self.device_blocks
    }

    /// Sets the most map words one call of [`Extents::alloc`] looks at, [`SEARCH_WORDS`]
    /// unless set; 0 counts as 1.
    pub fn set_search_limit(&mut self, words: u32) {
        // INVARIANT: at least 1.
        self.search_limit = words.max(1);
    }

    /// Returns what the allocator holds.
    pub fn stats(&self) -> BackingStats {
        BackingStats {
            blocks: self.device_blocks,
            table_blocks: self.blocks,
            used_blocks: self.used,
            extents: self.extents,
            holds: self.holds,
        }
    }

    /// The extents kept in memory after a read ([`crate::extent_cache`]).
    pub fn cache(&self) -> &ExtentCache {
        &self.cache
    }

    /// The extents kept in memory after a read, to look up, claim or resize.
    pub fn cache_mut(&mut self) -> &mut ExtentCache {
        &mut self.cache
    }

    /// Returns the extent that starts at `block`, if one does.
    pub fn extent(&self, block: u32) -> Option<ExtentInfo> {
        let holds = self.head_count(block).ok()?;
        Some(ExtentInfo {
            len: self.extent_len(block),
            holds,
        })
    }

    /// Records `sums`, one per block, as the checksums of the blocks of the extent that
    /// starts at `head`, as just written.
    ///
    /// # Errors
    ///
    /// [`BackingError::NotExtent`] if no extent starts at `head`;
    /// [`BackingError::BadLength`] unless `sums` has one checksum per block of it.
    /// Nothing is recorded then.
    pub fn set_sums(&mut self, head: u32, sums: &[u32]) -> Result<(), BackingError> {
        self.head_count(head)?;
        let len = self.extent_len(head);
        if u32::try_from(sums.len()) != Ok(len) {
            return Err(BackingError::BadLength);
        }
        for (block, &sum) in (head..).zip(sums) {
            // CAST: a `u32` fits a `usize`.
            if let Some(entry) = self.counts.get_mut(block as usize) {
                entry.set_sum(sum);
            }
        }
        Ok(())
    }

    /// Returns the checksum recorded for `block` ([`Backing::set_sums`]), if it is in an
    /// extent.
    pub fn sum(&self, block: u32) -> Option<u32> {
        if !self.bit(block) || block >= self.blocks {
            return None;
        }
        // CAST: a `u32` fits a `usize`.
        self.counts.get(block as usize).map(BlockEntry::sum)
    }

    /// Returns the holds of the extent that starts at `block`.
    fn head_count(&self, block: u32) -> Result<u16, BackingError> {
        match self.count(block) {
            Some(count) if count != TAIL && self.bit(block) => Ok(count),
            _ => Err(BackingError::NotExtent),
        }
    }

    /// Returns the length of the extent whose head is `block`: the head and its tails.
    fn extent_len(&self, block: u32) -> u32 {
        let mut len: u32 = 1;
        while len < MAX_EXTENT && self.count(block.saturating_add(len)) == Some(TAIL) {
            len = len.saturating_add(1);
        }
        len
    }

    /// Frees the extent whose head is `block` and returns its length.
    fn free_extent(&mut self, block: u32) -> u32 {
        let len = self.extent_len(block);
        self.mark(block, len, false);
        for i in 0..len {
            self.set_count(block.saturating_add(i), 0);
        }
        // INVARIANT: one extent of `len` blocks less.
        self.used = self.used.saturating_sub(len);
        self.extents = self.extents.saturating_sub(1);
        self.note_freed(block, len);
        // The blocks may be written again: a copy kept in memory is stale.
        self.cache.forget(block);
        len
    }

    /// Returns the first block of a run of `len` free blocks (1 to [`MAX_EXTENT`]),
    /// searching from the cursor and looking at `search_limit` map words at most. The
    /// cursor is left at the word the run starts in, or after the last word looked at.
    ///
    /// # Errors
    ///
    /// [`BackingError::NoSpace`] if no run of `len` blocks exists,
    /// [`BackingError::SearchLimitReached`] if none was found yet.
    fn search(&mut self, len: u32) -> Result<u32, BackingError> {
        let known = |clear: &[u32; LENGTHS]| {
            // CAST: at most `MAX_EXTENT`, which fits a `usize`.
            let row = clear.get(len.saturating_sub(1) as usize).copied();
            // CAST: a `u32` fits a `usize`.
            row.map_or(0, |row| row as usize)
        };
        let left = self.words.saturating_sub(known(&self.clear));
        // CAST: a `u32` fits a `usize`.
        for _ in 0..left.min(self.search_limit as usize) {
            let i = self.cursor;
            let (longest, starts) = self.runs_in_word(i, len);
            if starts != 0 {
                // CAST: a word index below `words` times 64 plus a bit is a block below
                // `blocks`, a `u32`, since the bits past `blocks` are set.
                let block = (i as u64)
                    .checked_mul(u64::from(WORD_BITS))
                    .and_then(|first| first.checked_add(u64::from(starts.trailing_zeros())))
                    .and_then(|block| u32::try_from(block).ok());
                // Never `None`: see above.
                return block.ok_or(BackingError::NoSpace);
            }
            self.pass(longest);
        }
        if known(&self.clear) >= self.words {
            Err(BackingError::NoSpace)
        } else {
            Err(BackingError::SearchLimitReached)
        }
    }

    /// Moves the cursor past its word, in which the longest run of free blocks (up to
    /// [`MAX_EXTENT`]) is `longest` blocks long.
    fn pass(&mut self, longest: u32) {
        // CAST: a map has at most 2^26 words, which fits a `u32`.
        let words = self.words as u32;
        for (k, row) in (1..=MAX_EXTENT).zip(self.clear.iter_mut()) {
            // INVARIANT: the word joins the rows of the lengths it starts no run of, and
            // ends those of the others.
            *row = if k > longest {
                row.saturating_add(1).min(words)
            } else {
                0
            };
        }
        let after = self.cursor.saturating_add(1);
        self.cursor = if after < self.words { after } else { 0 };
    }

    /// Returns the longest run of free blocks (up to [`MAX_EXTENT`]) that starts in map
    /// word `i`, and the bits of the word at which runs of `len` blocks start. A run may
    /// go on into the next word, never past the last.
    fn runs_in_word(&self, i: usize, len: u32) -> (u32, u64) {
        let map = &self.map;
        let word = |i: usize| map.get(i).copied().unwrap_or(u64::MAX);
        // The word after the last is all used: a run never wraps to block 0.
        let next = if i.saturating_add(1) < self.words {
            word(i.saturating_add(1))
        } else {
            u64::MAX
        };
        run_starts(word(i), next, len)
    }

    /// Cuts the rows of words known to start no run of some length where freeing blocks
    /// `block..block + len` made such a run start: each row keeps only the words after
    /// the last word that now starts one.
    ///
    /// A new run takes a freed block, so it starts at most `MAX_EXTENT - 1` blocks before
    /// `block`: at most two words are looked at.
    fn note_freed(&mut self, block: u32, len: u32) {
        // CAST: a `u32` fits a `usize`.
        let first = (block.saturating_sub(MAX_EXTENT - 1) / WORD_BITS) as usize;
        let last = (block.saturating_add(len).saturating_sub(1) / WORD_BITS) as usize;
        for i in first..=last.min(self.words.saturating_sub(1)) {
            let (longest, _) = self.runs_in_word(i, MAX_EXTENT);
            // The words after `i` up to the cursor, cyclically: `i < words`, no underflow.
            let after = self
                .cursor
                .saturating_add(self.words)
                .saturating_sub(1)
                .saturating_sub(i)
                .checked_rem(self.words)
                .and_then(|after| u32::try_from(after).ok())
                .unwrap_or(0);
            for (k, row) in (1..=MAX_EXTENT).zip(self.clear.iter_mut()) {
                if k <= longest && *row > after {
                    // INVARIANT: word `i` starts a run of `k` now; the words after it
                    // still start none.
                    *row = after;
                }
            }
        }
    }

    /// Returns the map bit of `block`.
    fn bit(&self, block: u32) -> bool {
        // CAST: a `u32` fits a `usize`.
        let i = (block / WORD_BITS) as usize;
        self.map
            .get(i)
            .is_some_and(|w| w & (1 << (block % WORD_BITS)) != 0)
    }

    /// Sets (`used`) or clears the map bits of `len` blocks from `block`.
    fn mark(&mut self, block: u32, len: u32, used: bool) {
        let map = &mut self.map;
        for b in block..block.saturating_add(len) {
            // CAST: a `u32` fits a `usize`.
            if let Some(w) = map.get_mut((b / WORD_BITS) as usize) {
                let bit = 1u64 << (b % WORD_BITS);
                *w = if used { *w | bit } else { *w & !bit };
            }
        }
    }

    fn count(&self, block: u32) -> Option<u16> {
        // CAST: a `u32` fits a `usize`.
        self.counts.get(block as usize).map(|entry| entry.count)
    }

    fn set_count_at(&mut self, block: u32, value: u16) {
        // CAST: a `u32` fits a `usize`.
        if let Some(entry) = self.counts.get_mut(block as usize) {
            entry.count = value;
        }
    }

    fn set_count(&mut self, block: u32, value: u16) {
        // CAST: a `u32` fits a `usize`.
        self.set_count_at(block, value);
    }
}

impl<M, C> Extents for Backing<M, C>
where
    M: Table<u64>,
    C: Table<BlockEntry>,
{
    fn alloc(&mut self, len: u32) -> Result<u32, BackingError> {
        if len == 0 || len > MAX_EXTENT {
            return Err(BackingError::BadLength);
        }
        let block = match self.search(len) {
            Err(BackingError::NoSpace) if self.can_grow() => return Err(BackingError::NeedTables),
            other => other?,
        };
        self.mark(block, len, true);
        // INVARIANT: a head counting no holds, then `len - 1` tails.
        self.set_count(block, 0);
        for tail in 1..len {
            self.set_count(block.saturating_add(tail), TAIL);
        }
        self.used = self.used.saturating_add(len);
        self.extents = self.extents.saturating_add(1);
        // CAST: a `u32` fits a `usize`.
        let end_word = (block.saturating_add(len) / WORD_BITS) as usize;
        if end_word != self.cursor {
            // The extent runs to the end of the cursor's word: the next search starts
            // after it, and the word is passed with what is left free in it.
            let (longest, _) = self.runs_in_word(self.cursor, MAX_EXTENT);
            self.pass(longest);
        }
        Ok(block)
    }

    fn hold(&mut self, block: u32) -> Result<u16, BackingError> {
        let count = self.head_count(block)?;
        if count >= MAX_HOLDS {
            return Err(BackingError::TooManyHolds);
        }
        let count = count.saturating_add(1);
        self.set_count(block, count);
        self.holds = self.holds.saturating_add(1);
        Ok(count)
    }

    fn release_object(&mut self, block: u32) -> Result<Option<u32>, BackingError> {
        let count = self.head_count(block)?;
        let count = count.checked_sub(1).ok_or(BackingError::NotHeld)?;
        self.set_count(block, count);
        self.holds = self.holds.saturating_sub(1);
        if count > 0 {
            return Ok(None);
        }
        Ok(Some(self.free_extent(block)))
    }

    fn abort(&mut self, block: u32) -> Result<u32, BackingError> {
        let count = self.head_count(block)?;
        self.holds = self.holds.saturating_sub(u64::from(count));
        Ok(self.free_extent(block))
    }
}

/// No backing device, or the one attached: without one, nothing can be allocated or held.
impl<E: Extents> Extents for Option<E> {
    fn alloc(&mut self, len: u32) -> Result<u32, BackingError> {
        self.as_mut().ok_or(BackingError::NoSpace)?.alloc(len)
    }

    fn hold(&mut self, block: u32) -> Result<u16, BackingError> {
        self.as_mut().ok_or(BackingError::NotExtent)?.hold(block)
    }

    fn release_object(&mut self, block: u32) -> Result<Option<u32>, BackingError> {
        self.as_mut()
            .ok_or(BackingError::NotExtent)?
            .release_object(block)
    }

    fn abort(&mut self, block: u32) -> Result<u32, BackingError> {
        self.as_mut().ok_or(BackingError::NotExtent)?.abort(block)
    }
}
