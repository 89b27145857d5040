//! Whether a read that misses the extent cache should read its page's whole extent.
//!
//! Reading a whole extent ("a fill") pays when the page's neighbours are read soon after
//! and are served from memory. Under sequential swap-in they are; under random access
//! most fills are dropped unused, each having read and checked up to 8 blocks where
//! the page needed one or two. The policy keeps a score of what fills have earned lately:
//!
//! - each lookup that found its extent in memory earns [`HIT_GAIN`];
//! - each filled extent dropped without one costs [`FILL_COST`].
//!
//! A miss fills while the score is not negative. Reads the policy sends alone keep the
//! score honest too: their extents are remembered as *ghosts*, as many as the cache has
//! entries, oldest dropped first. A later miss of a ghost's extent is a lookup a fill
//! would have served (it earns [`HIT_GAIN`]); a ghost dropped without one is a fill that
//! would have been wasted (it costs [`FILL_COST`]). So the policy keeps learning while it
//! reads alone, and fills again once neighbours come back.
//!
//! The score is bounded by [`SCORE_LIMIT`] either way, so a change of workload turns it
//! within a few dozen reads.
//!
//! # Examples
//!
//! ```
//! use ghostswap_core::fill_policy::{FillPolicy, FILL_COST, SCORE_LIMIT};
//!
//! let mut policy = FillPolicy::new();
//! assert!(policy.miss(7, 4), "fills at first");
//! for _ in 0..(SCORE_LIMIT / FILL_COST + 1) {
//!     policy.wasted();
//! }
//! assert!(!policy.miss(7, 4), "fills were dropped unused: read alone");
//! assert!(policy.ghost(7));
//! ```

use super::extent_cache::MAX_ENTRIES;

/// What a lookup served from memory (or a ghost's second read) earns.
pub const HIT_GAIN: i32 = 1;

/// What a filled extent dropped unused (or a ghost never read again) costs.
pub const FILL_COST: i32 = 1;

/// The score stays within `-SCORE_LIMIT..=SCORE_LIMIT`.
pub const SCORE_LIMIT: i32 = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Ghost {
    head: u32,
    /// Read again since it was remembered.
    hit: bool,
}

/// The score of recent fills and the extents read alone lately (see the module
/// documentation).
///
/// # Invariants
///
/// - `ghosts[..len]` are the ghosts, oldest first, no two with the same head.
/// - `-SCORE_LIMIT <= score <= SCORE_LIMIT`.
#[derive(Clone, Debug)]
pub struct FillPolicy {
    score: i32,
    ghosts: [Ghost; MAX_ENTRIES],
    len: usize,
}

impl Default for FillPolicy {
    fn default() -> Self {
        Self::new()
    }
}

impl FillPolicy {
    /// A policy that fills until fills prove useless.
    pub const fn new() -> Self {
        Self {
            score: 0,
            ghosts: [Ghost {
                head: 0,
                hit: false,
            }; MAX_ENTRIES],
            len: 0,
        }
    }

    /// Returns the score now.
    pub fn score(&self) -> i32 {
        self.score
    }

    /// Returns `true` if the extent that starts at `head` is a ghost.
    pub fn ghost(&self, head: u32) -> bool {
        self.position(head).is_some()
    }

    /// Notes a lookup served from memory.
    pub fn hit(&mut self) {
        self.add(HIT_GAIN);
    }

    /// Notes a filled extent dropped before any lookup found it.
    pub fn wasted(&mut self) {
        self.add(-FILL_COST);
    }

    /// Decides for a miss of the extent that starts at `head`, in a cache of `entries`
    /// entries: `true` to read the whole extent, `false` to read the page alone (the
    /// extent is then remembered as a ghost).
    pub fn miss(&mut self, head: u32, entries: usize) -> bool {
        let entries = entries.min(MAX_ENTRIES);
        if entries == 0 {
            return false;
        }
        let known = self.position(head);
        if let Some(n) = known {
            // A second read of an extent read alone: a fill would have served it.
            self.add(HIT_GAIN);
            if let Some(ghost) = self.ghosts.get_mut(n) {
                ghost.hit = true;
            }
        }
        if self.score >= 0 {
            if let Some(n) = known {
                // The fill's own hits count from now on.
                self.remove(n);
            }
            return true;
        }
        if known.is_none() {
            self.remember(head, entries);
        }
        false
    }

    /// Forgets the ghost of the extent that starts at `head`, whose blocks were freed.
    pub fn forget(&mut self, head: u32) {
        if let Some(n) = self.position(head) {
            self.drop_ghost(n);
        }
    }

    /// Keeps at most `entries` ghosts from now on, dropping the oldest.
    pub fn set_limit(&mut self, entries: usize) {
        while self.len > entries.min(MAX_ENTRIES) {
            self.drop_ghost(0);
        }
    }

    /// Remembers `head` as the newest ghost, dropping the oldest beyond `entries`.
    fn remember(&mut self, head: u32, entries: usize) {
        while self.len >= entries {
            self.drop_ghost(0);
        }
        if let Some(slot) = self.ghosts.get_mut(self.len) {
            *slot = Ghost { head, hit: false };
            self.len += 1;
        }
    }

    /// Drops ghost `n`, at the cost of a wasted fill if it was never read again.
    fn drop_ghost(&mut self, n: usize) {
        if let Some(ghost) = self.remove(n) {
            if !ghost.hit {
                self.wasted();
            }
        }
    }

    /// Takes ghost `n` out, keeping the others in order.
    fn remove(&mut self, n: usize) -> Option<Ghost> {
        let ghost = *self.ghosts.get(..self.len)?.get(n)?;
        self.ghosts.get_mut(n..self.len)?.rotate_left(1);
        self.len -= 1;
        Some(ghost)
    }

    fn position(&self, head: u32) -> Option<usize> {
        self.ghosts
            .get(..self.len)?
            .iter()
            .position(|g| g.head == head)
    }

    fn add(&mut self, delta: i32) {
        self.score = self
            .score
            .saturating_add(delta)
            .clamp(-SCORE_LIMIT, SCORE_LIMIT);
    }
}
