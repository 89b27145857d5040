//! A device's stored pages: the slot table, the pool of frames and the class
//! counters, changed together so they always agree.
//!
//! The module classifies and compresses a page outside any lock (its stream
//! does that), then calls [`Store::store`] under the device's spinlock. The
//! store never allocates: when the pool needs a frame, [`Store::store`] fails
//! with [`StoreError::NeedFrame`] having changed nothing, and the caller
//! drops the lock, allocates, hands the frame in with [`Store::add_frame`]
//! and retries. Frames the pool no longer needs it drops on the spot, under
//! the lock: a frame's `Drop` must not sleep (freeing pages does not).
//!
//! Frames are 1 to 8 pages long (see [`super::pool`]); a store of an
//! [`Incoming::Huge`] page needs a frame of exactly one page, any other store
//! takes a frame of any valid length.
//!
//! Freeing an object leaves a hole in its frame, merged with the holes next
//! to it, and later stores fill holes before they take fresh space (see
//! [`super::pool`]): an overwrite mostly reuses a hole, moving no data. As a
//! backstop, when the holes of a frame still reach `1 / AUTO_COMPACT_DIVISOR`
//! of its length, the store compacts that frame at once, so memory does not
//! grow under overwrites between explicit compactions
//! ([`Store::compact_step`]).
//!
//! Every packed object is checked against its slot on the way: the pool is
//! given the slot's index as the object's owner, on load (in O(1) steps) and
//! on free.
//!
//! # Writeback
//!
//! Each slot is in a writeback state ([`super::migrate::State`]): resident,
//! migrating (being written to the backing device, still read from memory) or
//! migrated (read from the device). With a backing device attached
//! ([`Store::attach_backing`]) the module writes whole frames back, one at a
//! time, under its lock but with the I/O outside it:
//!
//! 1. [`Store::next_writeback`], within a [`WritebackRun`] (which frames,
//!    what budget, when to stop), picks a frame and begins it with
//!    [`Store::begin_writeback`]: allocates its extent, makes its slots
//!    migrating and copies the frame into the caller's buffer (if the search
//!    for free blocks reaches its limit, the run asks to be called again for
//!    the same frame; see [`super::backing`]);
//! 2. the caller drops the lock and writes the copy to the extent;
//! 3. [`Store::end_writeback`] rebuilds the tickets from the copy's records
//!    and completes or fails them: completed slots are migrated and their
//!    objects freed.
//!
//! Meanwhile the frame may change: an overwrite or free of a migrating slot
//! frees its object at once (its completion then finds the ticket stale), and
//! compaction may move a migrating slot's object (the slot follows it) or
//! empty the frame. The write is of the copy, so none of that matters to it.
//! A load of a migrated slot returns [`Found::Backing`], pinning its extent
//! until [`Store::unpin`]. See `Documentation/design-writeback.rst`.
//!
//! # Direct stores
//!
//! When the pool is at its limit and writeback cannot make room in time, a
//! page is stored straight to the backing device instead of being refused
//! (frontswap's refused put falling through to real swap, done inside the
//! driver), from a context that may sleep:
//!
//! 1. [`Store::begin_direct`] allocates a block and holds it for the write,
//!    leaving the slot as it is;
//! 2. the caller drops the lock, builds the block (a compressed page as one
//!    record at offset 0, [`DirectWrite::write_record`], or the page whole)
//!    and writes it;
//! 3. [`Store::end_direct`] makes the slot migrated to that block, releasing
//!    what it held as an overwrite does, or, if the write failed, frees the
//!    block and leaves the slot alone (the caller then refuses the store).
//!
//! The store takes effect when it ends: until then the slot reads, and may be
//! stored into or freed, as before.
//!
//! # Work in bounded steps
//!
//! The module holds the store under a spinlock that swap's slot-free
//! notification takes too, so nothing may hold it long. Work over the whole
//! pool has a form that does a bounded amount per call and says whether it is
//! finished; the module calls it under the lock, drops the lock, and calls
//! again until it is:
//!
//! ```text
//! let mut cursor = CompactCursor::new();
//! while store.lock().compact_step(&mut cursor, COMPACT_FRAMES_PER_STEP)
//!     == Compaction::LimitReached
//! {
//!     // The lock is dropped here; stores, frees and writeback go on meanwhile.
//! }
//! ```
//!
//! - compaction: [`Store::compact_step`] with a
//!   [`CompactCursor`](super::pool::CompactCursor), the work of `limit` frames
//!   a step ([`COMPACT_FRAMES_PER_STEP`] suggested);
//! - idle marking: [`Store::start_mark_idle`], then [`Store::mark_idle_step`],
//!   `limit` frames a step, O(1) each ([`IDLE_FRAMES_PER_STEP`]);
//! - writeback's walk: [`Store::start_writeback`] when a run begins, then
//!   [`Store::next_writeback`], [`WRITEBACK_FRAMES_PER_STEP`] frames (or
//!   [`PAGES_PER_STEP`] pages) a step, instead of
//!   [`Store::next_writeback_after`];
//! - space on the backing device: [`Store::begin_writeback`] and
//!   [`Store::begin_direct`] look at
//!   [`SEARCH_WORDS`](super::backing::SEARCH_WORDS) map words at most, and fail
//!   with [`WritebackError::SearchLimitReached`] if they found no room yet:
//!   call again for the same frame or page.
//!
//! Anything may happen between steps: stores, loads, frees, writebacks begun
//! and ended, frames added and released. Each form stays correct through it
//! (see [`super::pool`]'s compaction and walks), and run to its end with
//! nothing in between it does what the same work done in one go would
//! ([`Store::next_writeback`] is writeback's walk in one go: the module uses
//! it to find the frame of one page).

use core::ops::Range;

use super::backing::{Backing, BackingError, BackingStats, BlockEntry, Extents};
use super::checksum::{ReadSums, MAX_READ_BLOCKS};
use super::frame::{self, Page, FREE_OWNER, MAX_OBJECT};
use super::geometry::PAGE_SIZE;
use super::migrate::{self, Dest, Slots, State, Ticket, WbCounts, WbError, PAGE_LEN};
use super::pool::{FrameEntry, FrameId, FrameState, ObjectRef, Pool, PoolError, Usage};
use super::stats::{MmStat, SlotCounts};
use super::table::Table;

// This file holds the store, its slot store, load and free, and what they keep counted;
// each kind of work around them has a file of its own, which adds its methods to `Store`.
// The paths of `mod` are relative to this directory in the host crate and in the kernel
// module alike (a file included with `#[path]` is read as a `mod.rs`).
mod direct; // Direct stores: a refused page written straight to the backing device.
mod extent_reads; // Reads of migrated pages through the extents kept in memory.
mod policy; // The watermarks and promote_on_read, and what they decide.
mod run; // A writeback run's choices: the next frame, its budget, when to stop.
mod steps; // Work over the whole pool in bounded steps, and writeback's walk.
mod writeback; // Frame writeback: the backing device, tickets begun and ended.

pub use direct::DirectWrite;
pub use extent_reads::{ExtentFill, ExtentRead};
pub use policy::Promotion;
pub use run::{RunEnd, RunStep, WritebackPick, WritebackRun, PAGES_PER_STEP};
pub use steps::{
    NextWriteback, COMPACT_FRAMES_PER_STEP, IDLE_FRAMES_PER_STEP, WRITEBACK_FRAMES_PER_STEP,
};
pub use writeback::{BdCounts, FrameWrite, WritebackEnd, WritebackError, WritebackMode};

/// A packed frame is compacted as soon as freeing an object leaves holes of at
/// least its length divided by this.
///
/// Holes are reused by later stores, so this is a backstop against holes too
/// small or too scattered to take the objects that come: it is rarely reached.
/// A quarter keeps the copying low. On 20 000 random overwrites of 2000
/// objects of 1350 to 1550 bytes in 32 KiB frames it compacted 42 times,
/// copying 3 % of the bytes stored, with a peak 6.6 % above the pages after
/// the first fill. A sixth, an eighth and a sixteenth lowered the peak to
/// 4.4 %, 2.2 % and 1.1 % above, but copied 18 %, 48 % and 175 % of the bytes
/// stored (1.1 %, 2.9 % and 10.5 % of the overwrites compacted a frame).
pub const AUTO_COMPACT_DIVISOR: u16 = 4;

/// Where a stored page lives: the 16 bytes of per-slot metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Content {
    /// Every 8-byte word of the page is this one; nothing else is stored.
    SameFilled(u64),
    /// Compressed, as an object in a packed frame.
    Packed(ObjectRef),
    /// Uncompressed, alone in a frame.
    Huge(FrameId),
}

/// A classified page to store.
#[derive(Clone, Copy, Debug)]
pub enum Incoming<'a> {
    /// A page that is one repeated word.
    SameFilled(u64),
    /// The compressed bytes of a page.
    Packed(&'a [u8]),
    /// A page that did not compress well enough, as it is.
    Huge(&'a Page),
}

/// What a load finds in a slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found<'a> {
    /// Never written or freed: reads as zeroes.
    Empty,
    /// A page that is this word repeated.
    SameFilled(u64),
    /// Compressed bytes to decompress.
    Packed(&'a [u8]),
    /// The page itself.
    Huge(&'a Page),
    /// On the backing device, pinned: read the bytes [`Dest::data_range`] of
    /// the extent at `block` (a whole page if [`Dest::is_page`], else the
    /// compressed bytes of the record at `offset`) with the lock dropped, then
    /// [`Store::unpin`] the destination.
    Backing(Dest),
}

/// Why a store or load failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreError {
    /// The pool needs a frame; nothing changed (see the module docs).
    NeedFrame,
    /// The slot table does not hold the slot yet: grow it
    /// ([`Store::grow_slots`]) and retry; nothing changed.
    NeedSlots,
    /// The slot index is past the end of the device.
    OutOfRange,
    /// The object is empty or too large for a frame; nothing changed.
    BadObject,
    /// The slot points at something the pool does not hold: a bug, reported
    /// instead of returning wrong data.
    Corrupt,
    /// A migrated slot's extent cannot take another pin (65534 reads in
    /// flight): retry once reads have ended.
    Busy,
    /// A direct store ended with a destination that is not the record at
    /// offset 0, or the whole page, of the block its write holds, or with a
    /// write this store did not begin: a bug, counted in
    /// [`WbCounts::bad_releases`]. The slot is unchanged.
    BadDest,
}

/// Gauges of how pages are stored, for `mm_stat` and `frontswap_stat`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClassCounts {
    /// Slots holding a same-filled page.
    pub same_pages: u64,
    /// Slots holding a huge page.
    pub huge_pages: u64,
    /// Huge pages stored since the store was created.
    pub huge_pages_since: u64,
    /// Pages freed by compaction ([`Store::compact_step`])
    /// since the store was created: the pages of the frames it emptied, counted
    /// by the step that emptied them.
    pub pages_compacted: u64,
    /// Frames compacted automatically since the store was created, because
    /// freeing an object left holes of at least `1 / AUTO_COMPACT_DIVISOR` of
    /// the frame.
    pub auto_compactions: u64,
    /// Bytes of records (headers included) that automatic compaction moved
    /// since the store was created: what it copied.
    pub auto_compact_bytes: u64,
}

/// Slot states, pool, backing device and counters of one initialized device.
///
/// `S` stores the slots' states (16 bytes each), `F` is a frame and `T` the
/// frame table (see [`Pool`]); `M` and `C` are the storage of the backing
/// device's allocator ([`Backing`]), unused until one is attached.
///
/// # Invariants
///
/// - Every resident `Packed`/`Huge` slot, and every migrating one through the
///   object it keeps, names a live object/frame of the pool whose owner is the
///   slot's index, and `classes` counts the resident and migrating slots of
///   each kind.
/// - Every migrated slot, write in flight and read pinned holds its extent of
///   `backing` once (see [`super::migrate`]); without a backing device no slot
///   is migrating or migrated.
/// - Between calls, every packed frame's holes are less than its length
///   divided by [`AUTO_COMPACT_DIVISOR`].
/// - `max_pages` is at least the pages the pool holds.
pub struct Store<S, F, T, M = [u64; 0], C = [BlockEntry; 0]> {
    slots: Slots<S>,
    pool: Pool<F, T>,
    backing: Option<Backing<M, C>>,
    classes: ClassCounts,
    bd: BdCounts,
    max_pages: u64,
    policy: policy::Policy,
}

/// Returns `true` if a packed frame of `usage` has holes of at least its
/// length divided by [`AUTO_COMPACT_DIVISOR`].
fn worth_compacting(usage: &Usage) -> bool {
    let holes = usage.hole_bytes();
    holes > 0
        && usage
            .len
            .checked_div(AUTO_COMPACT_DIVISOR)
            .is_some_and(|threshold| holes >= threshold)
}

/// Points the slot `owner` at `new` if it holds the object `old`, resident or
/// migrating: what a move reported by compaction asks for.
fn relocate<S>(slots: &mut Slots<S>, owner: u32, old: ObjectRef, new: ObjectRef)
where
    S: Table<State<Content>>,
{
    slots.relocate(u64::from(owner), Content::Packed(old), Content::Packed(new));
}

fn pool_error(error: PoolError) -> StoreError {
    match error {
        PoolError::NeedFrame => StoreError::NeedFrame,
        PoolError::BadLength | PoolError::BadOwner => StoreError::BadObject,
        PoolError::BadRef => StoreError::Corrupt,
    }
}

impl<S, F, T, M, C> Store<S, F, T, M, C>
where
    S: Table<State<Content>>,
    F: AsRef<[u8]> + AsMut<[u8]>,
    T: Table<FrameEntry<F>>,
    M: Table<u64>,
    C: Table<BlockEntry>,
{
    /// Creates a store over empty slot storage and an empty frame table, without
    /// a backing device.
    ///
    /// Returns `None` if there are more slots than owners a frame can name.
    pub fn new(slots: S, frames: T) -> Option<Self> {
        let slots = Slots::new::<Content>(slots);
        if slots.len() >= u64::from(FREE_OWNER) {
            return None;
        }
        Some(Self {
            slots,
            pool: Pool::new(frames),
            backing: None,
            classes: ClassCounts::default(),
            bd: BdCounts::default(),
            max_pages: 0,
            policy: policy::Policy::default(),
        })
    }

    /// Returns the number of slots.
    pub fn len(&self) -> u64 {
        self.slots.len()
    }

    /// Returns `true` if the store has no slots.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    fn owner(&self, index: u64) -> Result<u32, StoreError> {
        if index >= self.slots.len() {
            return Err(StoreError::OutOfRange);
        }
        u32::try_from(index).map_err(|_| StoreError::OutOfRange)
    }

    /// Stores `page` in slot `index`, replacing and freeing what was there.
    ///
    /// # Errors
    ///
    /// On any error nothing changed: [`StoreError::NeedSlots`] asks for the
    /// slot table to grow and [`StoreError::NeedFrame`] for a frame (then
    /// retry), of exactly one page for an [`Incoming::Huge`] page and of any
    /// valid length otherwise; the others are final.
    pub fn store(&mut self, index: u64, page: Incoming<'_>) -> Result<(), StoreError> {
        let owner = self.owner(index)?;
        if self.slots.needs_table(index) {
            return Err(StoreError::NeedSlots);
        }
        let content = match page {
            Incoming::SameFilled(word) => Content::SameFilled(word),
            Incoming::Packed(data) => {
                Content::Packed(self.pool.store(owner, data).map_err(pool_error)?)
            }
            Incoming::Huge(page) => {
                Content::Huge(self.pool.store_huge(owner, page).map_err(pool_error)?)
            }
        };
        self.note_pages();
        let old = self
            .slots
            .store(index, content, &mut self.backing)
            .map_err(|_| StoreError::OutOfRange)?;
        self.count(&content, true);
        if matches!(content, Content::Huge(_)) {
            self.classes.huge_pages_since = self.classes.huge_pages_since.saturating_add(1);
        }
        self.release(owner, old);
        Ok(())
    }

    /// Records a store that could not be done: the slot's old content is freed,
    /// never to be returned again, and a failed store is counted.
    pub fn refuse(&mut self, index: u64) -> Result<(), StoreError> {
        let owner = self.owner(index)?;
        let old = self
            .slots
            .refuse(index, &mut self.backing)
            .map_err(|_| StoreError::OutOfRange)?;
        self.release(owner, old);
        Ok(())
    }

    /// Finds what slot `index` holds, counting a load (or a zero read).
    ///
    /// A packed object is found in O(1) steps, checked against the header of
    /// its record (owner and length; see [`Pool::load`]); a migrating slot is
    /// read from memory. A migrated slot is [`Found::Backing`], counted as a
    /// read of the backing device: its extent is pinned until [`Store::unpin`].
    ///
    /// # Errors
    ///
    /// [`StoreError::OutOfRange`], [`StoreError::Corrupt`], or
    /// [`StoreError::Busy`] if the extent cannot take another pin; then nothing
    /// is pinned or counted.
    pub fn load(&mut self, index: u64) -> Result<Found<'_>, StoreError> {
        let owner = self.owner(index)?;
        let content = match self.slots.load(index, &mut self.backing) {
            Ok(migrate::Location::Empty) => return Ok(Found::Empty),
            Ok(migrate::Location::Ram(content)) => content,
            Ok(migrate::Location::Backing(dest)) => {
                self.bd.reads = self.bd.reads.saturating_add(1);
                return Ok(Found::Backing(dest));
            }
            Err(WbError::Backing(BackingError::TooManyHolds)) => return Err(StoreError::Busy),
            Err(WbError::OutOfRange) => return Err(StoreError::OutOfRange),
            Err(_) => return Err(StoreError::Corrupt),
        };
        Ok(match content {
            Content::SameFilled(word) => Found::SameFilled(word),
            Content::Packed(object) => Found::Packed(
                self.pool
                    .load(object, owner)
                    .map_err(|_| StoreError::Corrupt)?,
            ),
            Content::Huge(id) => {
                Found::Huge(self.pool.load_huge(id).map_err(|_| StoreError::Corrupt)?)
            }
        })
    }

    /// Drops the pin of a [`Found::Backing`] load once its read has ended
    /// (whether it succeeded or not). Call it exactly once per such load.
    pub fn unpin(&mut self, dest: Dest) {
        self.slots.unpin(dest, &mut self.backing);
    }

    /// Returns the checksums of the blocks a read of `dest` reads (the blocks of
    /// its data: one or two), as recorded when they were written; `None` if a
    /// block is in no extent (a `dest` not pinned by [`Store::load`]).
    pub fn read_sums(&self, dest: Dest) -> Option<ReadSums> {
        let backing = self.backing.as_ref()?;
        let data = dest.data_range();
        let first = u32::try_from(data.start / PAGE_SIZE).ok()?;
        let end = u32::try_from(data.end.div_ceil(PAGE_SIZE)).ok()?;
        let blocks = dest.block.checked_add(first)?..dest.block.checked_add(end)?;
        let mut sums = [0; MAX_READ_BLOCKS];
        let mut len = 0;
        for (slot, block) in sums.iter_mut().zip(blocks.clone()) {
            *slot = backing.sum(block)?;
            len += 1;
        }
        ReadSums::new(blocks, <[u32]>::get(&sums, ..len)?)
    }

    /// Frees slot `index`; returns whether it held data.
    ///
    /// Memory freed this way (swap dropped the page, or a discard) goes back
    /// to the system at once, the pool's reserve included: the reserve is for
    /// absorbing overwrites, and a device whose data is gone should hold no
    /// more memory than its remaining data needs.
    pub fn free(&mut self, index: u64) -> Result<bool, StoreError> {
        let owner = self.owner(index)?;
        let held = self.holds_data(index);
        let old = self
            .slots
            .free(index, &mut self.backing)
            .map_err(|_| StoreError::OutOfRange)?;
        self.release(owner, old);
        self.pool.release_reserve();
        Ok(held)
    }

    /// Frees the slots in `range`; returns how many held data. Like
    /// [`Store::free`], hands the pool's reserve back too.
    ///
    /// # Errors
    ///
    /// [`StoreError::OutOfRange`] unless `range.start <= range.end <=
    /// self.len()`; then nothing changed.
    pub fn free_range(&mut self, range: Range<u64>) -> Result<u64, StoreError> {
        if range.start > range.end || range.end > self.slots.len() {
            return Err(StoreError::OutOfRange);
        }
        // Slot by slot, so that a frame compacted after a free can update the
        // slots of the objects it moves.
        let mut freed: u64 = 0;
        for index in range {
            // Never an error: the range is within the table.
            let Ok(owner) = self.owner(index) else {
                continue;
            };
            let held = self.holds_data(index);
            let Ok(old) = self.slots.free(index, &mut self.backing) else {
                continue;
            };
            if held {
                freed = freed.saturating_add(1);
            }
            self.release(owner, old);
        }
        self.pool.release_reserve();
        Ok(freed)
    }

    /// Hands a frame to the pool; gives it back if the pool cannot take it
    /// (its length is not a multiple of a page from one page to
    /// [`super::frame::MAX_FRAME_SIZE`], the frame table is full or the page
    /// limit would be exceeded).
    pub fn add_frame(&mut self, frame: F) -> Result<(), F> {
        let result = self.pool.add_frame(frame);
        self.note_pages();
        result
    }

    /// Returns the slot table, for its statistics.
    pub fn slot_table(&self) -> &S {
        self.slots.table()
    }

    /// Lets `grow` append empty slots to the slot table (see
    /// [`Slots::grow_table`]): the caller allocated them before taking its
    /// lock.
    pub fn grow_slots(&mut self, grow: impl FnOnce(&mut S)) {
        self.slots.grow_table(grow);
    }

    /// Returns `true` if the frame table must grow before [`Store::add_frame`]
    /// can take another frame (see [`Pool::needs_entries`]).
    pub fn needs_frame_entries(&self) -> bool {
        self.pool.needs_entries()
    }

    /// Lets `grow` append empty entries to the frame table (see
    /// [`Pool::grow_table`]): the caller allocated them before taking its lock.
    pub fn grow_frames(&mut self, grow: impl FnOnce(&mut T)) {
        self.pool.grow_table(grow);
    }

    /// Limits the pages the pool's frames may take (`mem_limit` divided by
    /// the page size); `None` for no limit.
    pub fn set_page_limit(&mut self, limit: Option<u64>) {
        self.pool.set_page_limit(limit);
    }

    /// Returns `true` if the pages the pool holds (packed, huge and reserve
    /// frames) have reached `percent` of the page limit: time to write back.
    /// Without a limit, never.
    pub fn over_watermark(&self, percent: u64) -> bool {
        let Some(limit) = self.pool.page_limit() else {
            return false;
        };
        let held = u128::from(self.pool.held_pages()).saturating_mul(100);
        held >= u128::from(limit).saturating_mul(u128::from(percent))
    }

    /// Sets the clock, in seconds, that stores and loads stamp the frames they
    /// use with, for [`Store::start_mark_idle`]; an earlier clock than the current one
    /// is ignored.
    ///
    /// Setting a clock, rather than passing the time to every store and load,
    /// keeps their signatures and costs the hot path nothing but copying a
    /// stamp: the module sets it as often as the resolution it wants (a stamp
    /// is a minute; see [`Pool::mark_idle`]), for example once per request
    /// from a coarse clock read under the lock it already holds.
    pub fn set_clock(&mut self, now_secs: u64) {
        self.pool.set_clock(now_secs);
    }

    /// Restarts the high-water marks (zram's `mem_used_max` write of 0).
    pub fn reset_max(&mut self) {
        self.slots.reset_max();
        // INVARIANT: the mark restarts at the pages held.
        self.max_pages = self.pool.held_pages();
    }

    /// The frontswap-style counters.
    pub fn counters(&self) -> SlotCounts {
        self.slots.counters()
    }

    /// How pages are stored.
    pub fn classes(&self) -> ClassCounts {
        self.classes
    }

    /// The `mm_stat` figures, with `mem_limit` as configured.
    ///
    /// `mem_used_total` and `mem_used_max` are the pages of the pool's frames
    /// (packed, huge and reserve) in bytes.
    pub fn mm_stat(&self, mem_limit: u64) -> MmStat {
        let pool = self.pool.pool_stats();
        // CAST: `PAGE_SIZE` is 4096, which fits a `u64`.
        let page_bytes = |pages: u64| pages.saturating_mul(PAGE_SIZE as u64);
        MmStat {
            orig_data_size: page_bytes(self.slots.counters().stored_pages),
            compr_data_size: pool
                .live_bytes
                .saturating_add(page_bytes(u64::from(pool.huge_frames))),
            mem_used_total: page_bytes(pool.total_pages()),
            mem_limit,
            mem_used_max: page_bytes(self.max_pages),
            same_pages: self.classes.same_pages,
            pages_compacted: self.classes.pages_compacted,
            huge_pages: self.classes.huge_pages,
            huge_pages_since: self.classes.huge_pages_since,
        }
    }

    /// The pool, for statistics and writeback.
    pub fn pool(&self) -> &Pool<F, T> {
        &self.pool
    }

    /// The writeback state of slot `index`, if it is one.
    pub fn state(&self, index: u64) -> Option<State<Content>> {
        self.slots.state(index).ok()
    }

    /// Raises the high-water mark of pages to what the pool holds now. Called
    /// after every change that can add pages.
    fn note_pages(&mut self) {
        // INVARIANT: the mark stays at least the pages held.
        self.max_pages = self.max_pages.max(self.pool.held_pages());
    }

    /// Returns `true` if slot `index` holds data (resident, migrating or
    /// migrated).
    fn holds_data(&self, index: u64) -> bool {
        !matches!(self.slots.state(index), Ok(State::Empty) | Err(_))
    }

    fn count(&mut self, content: &Content, stored: bool) {
        let gauge = match content {
            Content::SameFilled(_) => &mut self.classes.same_pages,
            Content::Huge(_) => &mut self.classes.huge_pages,
            Content::Packed(_) => return,
        };
        *gauge = if stored {
            gauge.saturating_add(1)
        } else {
            gauge.saturating_sub(1)
        };
    }

    /// Frees `old`, the content the slot `owner` held, and compacts the frame
    /// it leaves holes in if they are now worth it.
    fn release(&mut self, owner: u32, old: Option<Content>) {
        let Some(content) = old else {
            return;
        };
        self.count(&content, false);
        // By the type invariant of `Store` the content is live, so the pool
        // cannot refuse; if it ever did, the memory stays in the pool rather
        // than being freed twice, and the frame, unchanged, is not worth
        // compacting (by the same invariant).
        match content {
            Content::SameFilled(_) => {}
            Content::Packed(object) => {
                if let Ok(Some(usage)) = self.pool.free_packed(object, owner) {
                    self.auto_compact(object.frame, &usage);
                }
            }
            Content::Huge(id) => {
                let _ = self.pool.free_huge(id);
            }
        }
    }

    /// Compacts the packed frame `id`, whose usage is `usage`, if its holes reach
    /// its length divided by [`AUTO_COMPACT_DIVISOR`], updating the slots of the
    /// objects it moves.
    ///
    /// This slides the records above the first hole down in the frame: at most
    /// the frame's length is copied, and nothing is allocated.
    fn auto_compact(&mut self, id: FrameId, usage: &Usage) {
        if !worth_compacting(usage) {
            return;
        }
        let slots = &mut self.slots;
        let mut moved: u64 = 0;
        let compacted = self.pool.compact_frame(id, |owner, old, new| {
            // Padding moves with the record.
            moved = moved.saturating_add(u64::from(frame::record_size(new.len)));
            relocate(slots, owner, old, new);
        });
        // INVARIANT: the frame has no holes left.
        if let Ok(1..) = compacted {
            let classes = &mut self.classes;
            classes.auto_compactions = classes.auto_compactions.saturating_add(1);
            classes.auto_compact_bytes = classes.auto_compact_bytes.saturating_add(moved);
        }
    }
}
