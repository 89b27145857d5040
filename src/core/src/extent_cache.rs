//! The extents of the backing device kept in memory after a read.
//!
//! Writeback writes a whole frame to one extent, so the pages swapped out together sit
//! in the same blocks, and they tend to be swapped in together too (swap readahead asks
//! for a fault's neighbours at once). The first read of a migrated page reads its whole
//! extent; the extent is kept in one of a few entries, and its neighbours are served
//! from there without reading the device again.
//!
//! This table only decides: which extent each entry holds and in which state, which
//! entry a new extent takes, and when an entry must be forgotten. The data lives with the
//! caller, one buffer per entry.
//!
//! Each entry is in one of three states:
//!
//! - free;
//! - *filling*: one reader ([`ExtentCache::claim`]) reads the extent into the entry's
//!   buffer and then calls [`ExtentCache::filled`], which makes the entry ready if the
//!   read succeeded and free otherwise. Nobody else uses the buffer meanwhile: a lookup
//!   of the extent answers [`Lookup::Filling`], and the entry is never taken for
//!   another extent;
//! - *ready*: the buffer holds the extent. Each reader that found it
//!   ([`Lookup::Ready`]) is one user until [`ExtentCache::done`]; an entry is taken for
//!   another extent only when it has no user, the one used longest ago first.
//!
//! A miss asks [`ExtentCache::should_fill`] first: the cache's [`FillPolicy`] learns
//! from the entries it drops unused whether whole-extent reads pay, and sends reads
//! alone while they do not.
//!
//! # Validity
//!
//! An entry names its extent by its first block. The blocks of an extent are written once,
//! when it is allocated, and reused only after it is freed, so the data of an entry is
//! right exactly until its extent is freed: the allocator then calls
//! [`ExtentCache::forget`]. Every reader of a migrated page holds the page's extent while
//! it reads ([`crate::migrate::Slots::load`]), the filler included, so an extent is never
//! freed while its entry is filling or in use, and a forgotten entry is idle. If one were
//! in use all the same, it is kept from every lookup and freed by its last
//! [`ExtentCache::done`].
//!
//! # Examples
//!
//! ```
//! use ghostswap_core::extent_cache::{ExtentCache, Lookup};
//!
//! let mut cache = ExtentCache::new(2);
//! assert_eq!(cache.lookup(40), Lookup::Miss);
//! let entry = cache.claim(40).unwrap();
//! assert_eq!(cache.lookup(40), Lookup::Filling);
//! cache.filled(entry, true); // the read succeeded
//! assert_eq!(cache.lookup(40), Lookup::Ready(entry));
//! cache.done(entry);
//! cache.forget(40); // the extent was freed
//! assert_eq!(cache.lookup(40), Lookup::Miss);
//! ```

use super::fill_policy::FillPolicy;

/// The most entries a cache has.
pub const MAX_ENTRIES: usize = 16;

/// What [`ExtentCache::lookup`] found for an extent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Entry `n` holds the extent: read it, then [`ExtentCache::done`].
    Ready(usize),
    /// Another reader is reading the extent into an entry.
    Filling,
    /// No entry holds the extent.
    Miss,
}

/// What the cache has done since it was made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheCounts {
    /// Lookups that found their extent ready.
    pub hits: u64,
    /// Lookups that found their extent being read.
    pub filling: u64,
    /// Extents claimed for a read.
    pub claims: u64,
    /// Claims whose read succeeded.
    pub fills: u64,
    /// Misses the fill policy sent to read their page alone.
    pub alone: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Free,
    Filling,
    Ready,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    head: u32,
    state: State,
    users: u32,
    /// Found by a lookup since it was claimed.
    hit: bool,
    /// Kept from lookups: forgotten while in use (never, see the module documentation).
    stale: bool,
    /// When it was last claimed or found, in lookups: the lowest is used longest ago.
    used: u64,
}

const FREE: Entry = Entry {
    head: 0,
    state: State::Free,
    users: 0,
    hit: false,
    stale: false,
    used: 0,
};

/// A table of up to [`MAX_ENTRIES`] extents kept in memory.
///
/// # Invariants
///
/// - At most one entry that is not stale names a given head while filling or ready.
/// - A free entry has no users; a filling entry has exactly one, its filler.
/// - Entries at or past `limit` are free or in use (and freed when no longer).
#[derive(Clone, Debug)]
pub struct ExtentCache {
    entries: [Entry; MAX_ENTRIES],
    limit: usize,
    clock: u64,
    counts: CacheCounts,
    policy: FillPolicy,
}

impl ExtentCache {
    /// An empty cache of `entries` entries (at most [`MAX_ENTRIES`]; 0 keeps nothing).
    pub fn new(entries: usize) -> Self {
        Self {
            entries: [FREE; MAX_ENTRIES],
            limit: entries.min(MAX_ENTRIES),
            clock: 0,
            counts: CacheCounts::default(),
            policy: FillPolicy::new(),
        }
    }

    /// Returns how many entries the cache may use.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Returns the entries that hold an extent now (filling or ready).
    pub fn held(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| e.state != State::Free)
            .count()
    }

    /// Returns what the cache has done.
    pub fn counts(&self) -> CacheCounts {
        self.counts
    }

    /// Returns the fill policy, to see its score.
    pub fn policy(&self) -> &FillPolicy {
        &self.policy
    }

    /// Decides for a miss of the extent that starts at `head` (a lookup found it
    /// [`Lookup::Miss`]): `true` if the reader should read the whole extent and
    /// [`ExtentCache::claim`] an entry for it, `false` to read its page alone.
    pub fn should_fill(&mut self, head: u32) -> bool {
        let fill = self.policy.miss(head, self.limit);
        if !fill {
            self.counts.alone = self.counts.alone.saturating_add(1);
        }
        fill
    }

    /// Returns `true` if an entry holds the extent that starts at `head`, ready.
    pub fn is_ready(&self, head: u32) -> bool {
        self.find(head)
            .and_then(|n| self.entries.get(n))
            .is_some_and(|e| e.state == State::Ready)
    }

    /// Looks up the extent that starts at `head`; a [`Lookup::Ready`] entry is used
    /// until [`ExtentCache::done`].
    pub fn lookup(&mut self, head: u32) -> Lookup {
        let Some(n) = self.find(head) else {
            return Lookup::Miss;
        };
        let tick = self.tick();
        let Some(entry) = self.entries.get_mut(n) else {
            return Lookup::Miss;
        };
        match entry.state {
            State::Filling => {
                self.counts.filling = self.counts.filling.saturating_add(1);
                Lookup::Filling
            }
            State::Ready => {
                entry.users = entry.users.saturating_add(1);
                entry.used = tick;
                entry.hit = true;
                self.counts.hits = self.counts.hits.saturating_add(1);
                self.policy.hit();
                Lookup::Ready(n)
            }
            State::Free => Lookup::Miss,
        }
    }

    /// Takes an entry for the extent that starts at `head`, which its caller reads into the
    /// entry's buffer and then reports with [`ExtentCache::filled`]: a free entry, else
    /// the unused ready one used longest ago (whose extent it drops). `None` if every
    /// entry is in use, or if the extent is in the cache already.
    pub fn claim(&mut self, head: u32) -> Option<usize> {
        if self.find(head).is_some() {
            return None;
        }
        let limit = self.limit;
        let n = self
            .entries
            .iter()
            .take(limit)
            .enumerate()
            .filter(|(_, e)| e.state == State::Free || (e.state == State::Ready && e.users == 0))
            .min_by_key(|(_, e)| (e.state != State::Free, e.used))
            .map(|(n, _)| n)?;
        let tick = self.tick();
        let entry = self.entries.get_mut(n)?;
        if entry.state == State::Ready && !entry.hit {
            self.policy.wasted();
        }
        // INVARIANT: the only entry naming `head`, with its filler as its one user.
        *entry = Entry {
            head,
            state: State::Filling,
            users: 1,
            hit: false,
            stale: false,
            used: tick,
        };
        self.counts.claims = self.counts.claims.saturating_add(1);
        Some(n)
    }

    /// Ends the read of claimed entry `n`, and with it its filler's use: ready if `read`
    /// is true, free otherwise. Anything but a filling entry is left alone.
    pub fn filled(&mut self, n: usize, read: bool) {
        let limit = self.limit;
        let Some(entry) = self.entries.get_mut(n) else {
            return;
        };
        if entry.state != State::Filling {
            return;
        }
        if read && !entry.stale && n < limit {
            entry.state = State::Ready;
            entry.users = 0;
            self.counts.fills = self.counts.fills.saturating_add(1);
        } else {
            // INVARIANT: a free entry has no users.
            *entry = FREE;
        }
    }

    /// Ends one use of ready entry `n`, found by [`ExtentCache::lookup`].
    pub fn done(&mut self, n: usize) {
        let limit = self.limit;
        let Some(entry) = self.entries.get_mut(n) else {
            return;
        };
        if entry.state != State::Ready {
            return;
        }
        entry.users = entry.users.saturating_sub(1);
        if entry.users == 0 && (entry.stale || n >= limit) {
            *entry = FREE;
        }
    }

    /// Forgets the extent that starts at `head`, whose blocks were just freed.
    pub fn forget(&mut self, head: u32) {
        self.policy.forget(head);
        let Some(n) = self.find(head) else {
            return;
        };
        if let Some(entry) = self.entries.get_mut(n) {
            if entry.state == State::Ready && !entry.hit {
                self.policy.wasted();
            }
            match entry.users {
                0 => *entry = FREE,
                _ => entry.stale = true,
            }
        }
    }

    /// Lets the cache use `entries` entries from now on (at most [`MAX_ENTRIES`]); the
    /// unused entries past them are freed at once, the others when their last user is done.
    pub fn set_limit(&mut self, entries: usize) {
        self.limit = entries.min(MAX_ENTRIES);
        self.policy.set_limit(self.limit);
        let limit = self.limit;
        for entry in self.entries.iter_mut().skip(limit) {
            if entry.users == 0 {
                *entry = FREE;
            }
        }
    }

    /// The entry that names `head`, filling or ready, and not stale.
    fn find(&self, head: u32) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| e.state != State::Free && !e.stale && e.head == head)
    }

    fn tick(&mut self) -> u64 {
        self.clock = self.clock.wrapping_add(1);
        self.clock
    }
}
