//! A device's stored pages: the slot table, the pool of frames and the class
//! counters, changed together so they always agree.
//!
//! The module classifies and compresses a page outside any lock (its stream
//! does that), then calls [`Store::store`] under the device's spinlock. The
//! store never allocates: when the pool needs a frame, [`Store::store`] fails
//! with [`StoreError::NeedFrame`] having changed nothing, and the caller
//! drops the lock, allocates, hands the frame in with [`Store::add_frame`]
//! and retries. Frames the store gives back go to a `released` callback that
//! should only collect them, so they are freed after the lock is dropped.
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
//! grow under overwrites between explicit [`Store::compact`] calls.
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
//! 1. [`Store::next_writeback`] picks a frame, [`Store::begin_writeback`]
//!    allocates its extent, makes its slots migrating and copies the frame
//!    into the caller's buffer (if the search for free blocks reaches its
//!    limit, [`WritebackError::SearchLimitReached`]: drop the lock and begin
//!    the same frame again; see [`super::backing`]);
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
//! while store.lock().compact_step(&mut cursor, COMPACT_FRAMES_PER_STEP, drop)
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
//! - writeback's walk: [`Store::rewind_writeback`] when a run begins, then
//!   [`Store::next_writeback_within`], `limit` frames a step
//!   ([`WRITEBACK_FRAMES_PER_STEP`]), instead of [`Store::next_writeback`];
//! - space on the backing device: [`Store::begin_writeback`] and
//!   [`Store::begin_direct`] look at
//!   [`SEARCH_WORDS`](super::backing::SEARCH_WORDS) map words at most, and fail
//!   with [`WritebackError::SearchLimitReached`] if they found no room yet:
//!   call again for the same frame or page.
//!
//! Anything may happen between steps: stores, loads, frees, writebacks begun
//! and ended, frames added and released, a drain. Each form stays correct
//! through it (see [`super::pool`]'s compaction and walks), and run to its end
//! with nothing in between it does what the form in one go
//! ([`Store::compact`], [`Store::mark_idle`], [`Store::next_writeback`]) does;
//! those remain for tests and small pools.

use core::ops::Range;

use super::backing::{Backing, BackingError, BackingStats, Extents};
use super::frame::{self, Page, FREE_OWNER, MAX_OBJECT};
use super::geometry::PAGE_SIZE;
use super::migrate::{self, Dest, Slots, State, Ticket, WbCounts, WbError, PAGE_LEN};
use super::pool::{FrameEntry, FrameId, FrameState, ObjectRef, Pool, PoolError, Usage};
use super::stats::{Counters, MmStat};
use super::table::Table;

// The path is relative to this file, in the host crate and in the kernel module alike.
#[path = "store_steps.rs"]
mod steps;

pub use steps::{
    NextWriteback, COMPACT_FRAMES_PER_STEP, IDLE_FRAMES_PER_STEP, WRITEBACK_FRAMES_PER_STEP,
};

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

/// Why a frame writeback could not begin. Nothing changed, but the bytes of
/// the caller's copy buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WritebackError {
    /// No backing device is attached.
    NoBacking,
    /// The frame is not a packed or huge frame of the pool.
    BadFrame,
    /// The copy buffer is shorter than the frame.
    ShortCopy,
    /// The backing device has no free run of the frame's pages.
    NoSpace,
    /// The backing allocator's tables cover no free run of the frame's pages but can grow:
    /// drop the lock, allocate, hand them in with [`Store::grow_backing`], call again.
    NeedTables,
    /// The search for free blocks on the backing device looked at its limit of map words
    /// ([`super::backing::SEARCH_WORDS`]) without finding a run. Drop the lock and call
    /// again for the same frame (or page): the search goes on where it stopped, and within
    /// a sweep of calls over the device it ends in success or [`WritebackError::NoSpace`]
    /// (see [`super::backing`]).
    SearchLimitReached,
    /// No slot of the frame is resident: nothing to write (its extent was
    /// freed again).
    NothingToWrite,
    /// A direct store into a slot the slot table does not hold yet: grow it
    /// ([`Store::grow_slots`]) and call again.
    NeedSlots,
    /// A direct store to a slot past the end of the device.
    OutOfRange,
}

/// Which frames [`Store::next_writeback`] picks (zram's `writeback` modes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WritebackMode {
    /// Every packed and huge frame.
    All,
    /// Huge frames.
    Huge,
    /// Idle frames (see [`Store::mark_idle`]).
    Idle,
    /// Huge frames that are idle.
    HugeIdle,
    /// Pages that did not compress: the store keeps those as huge pages, so
    /// this is [`WritebackMode::Huge`].
    Incompressible,
    /// The frame holding this slot's page, once.
    Page(u64),
}

/// A frame write begun by [`Store::begin_writeback`]: what the module needs to
/// submit it, and hands back to [`Store::end_writeback`] with the copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameWrite {
    /// The first block of the extent: write the copy at sector `block * 8`.
    pub block: u32,
    /// Blocks of the extent, the frame's pages: write `pages * 4096` bytes of
    /// the copy.
    pub pages: u32,
    /// Slots whose pages the write migrates (tickets begun).
    pub objects: u32,
    /// Bytes of the copy the records take (the frame's tail), a page for a
    /// huge frame.
    pub bytes: usize,
    /// Whether the frame is a huge page.
    pub huge: bool,
    /// The slot of a huge page: its copy has no record header to tell.
    owner: u32,
}

impl FrameWrite {
    /// The first 512-byte sector of the extent.
    pub fn sector(&self) -> u64 {
        sector(self.block)
    }

    /// The bytes to write: the extent's length.
    pub fn len(&self) -> usize {
        // CAST: at most 8 pages, which fits a `usize`.
        (self.pages as usize).saturating_mul(PAGE_SIZE)
    }

    /// Returns `true` if the write has no bytes (never for a write begun).
    pub fn is_empty(&self) -> bool {
        self.pages == 0
    }
}

/// A direct store begun by [`Store::begin_direct`]: one block of the backing
/// device, held for a page of slot [`DirectWrite::index`], to hand back to
/// [`Store::end_direct`].
///
/// It is neither `Clone` nor `Copy`, and only the store makes one, so the
/// hold it stands for is ended exactly once.
#[derive(Debug, PartialEq, Eq)]
#[must_use = "the block stays allocated until the write is handed to `Store::end_direct`"]
pub struct DirectWrite {
    /// The slot, as the owner its record names.
    owner: u32,
    /// The block held for the write.
    block: u32,
}

impl DirectWrite {
    /// The slot the page is stored to.
    pub fn index(&self) -> u64 {
        u64::from(self.owner)
    }

    /// The block to write.
    pub fn block(&self) -> u32 {
        self.block
    }

    /// The block's first 512-byte sector.
    pub fn sector(&self) -> u64 {
        sector(self.block)
    }

    /// Writes `data`, the compressed bytes of the page, into `block` (the
    /// bytes to write, a page) as its one record: at offset 0, owned by the
    /// slot. Returns the destination to hand to [`Store::end_direct`].
    ///
    /// Returns `None`, writing nothing, if `block` is shorter than a page or
    /// `data` is empty or longer than [`MAX_OBJECT`]: write the page whole,
    /// with destination [`DirectWrite::page`], instead.
    pub fn write_record(&self, block: &mut [u8], data: &[u8]) -> Option<Dest> {
        if data.is_empty() {
            return None;
        }
        let page = block.get_mut(..PAGE_SIZE)?;
        let record = frame::write_record(page, 0, self.owner, data)?;
        Some(Dest {
            block: self.block,
            offset: record.offset,
            len: record.len,
        })
    }

    /// The destination of the page written whole, uncompressed, to the block.
    pub fn page(&self) -> Dest {
        Dest::page(self.block)
    }

    /// Returns `true` if `dest` is a destination this write can store: the
    /// whole page, or a record at offset 0 of the block.
    fn takes(&self, dest: Dest) -> bool {
        let fits = dest.is_page() || (1..=MAX_OBJECT).contains(&usize::from(dest.len));
        dest.block == self.block && dest.offset == 0 && fits
    }
}

/// How the slots of a frame write ended, from [`Store::end_writeback`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WritebackEnd {
    /// Slots (pages) now migrated: their objects were freed from the pool.
    pub migrated: u32,
    /// Slots resident again after a failed write.
    pub failed: u32,
    /// Slots overwritten or freed while their write was in flight.
    pub stale: u32,
}

/// Traffic to the backing device in pages, for `bd_stat`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BdCounts {
    /// Loads of migrated slots handed to the module to read from the device.
    pub reads: u64,
    /// Pages written by frame writes that succeeded (a frame's pages) and by
    /// direct stores (a page each).
    pub writes: u64,
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
    /// Pages freed by compaction ([`Store::compact`], [`Store::compact_step`])
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
pub struct Store<S, F, T, M = [u64; 0], C = [u16; 0]> {
    slots: Slots<S>,
    pool: Pool<F, T>,
    backing: Option<Backing<M, C>>,
    classes: ClassCounts,
    bd: BdCounts,
    max_pages: u64,
}

impl<S, F, T, M, C> Store<S, F, T, M, C>
where
    S: Table<State<Content>>,
    F: AsRef<[u8]> + AsMut<[u8]>,
    T: Table<FrameEntry<F>>,
    M: Table<u64>,
    C: Table<u16>,
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
        })
    }

    /// Attaches the allocator of a backing device, so that frames can be written
    /// back; gives it back if one is attached already.
    pub fn attach_backing(&mut self, backing: Backing<M, C>) -> Result<(), Backing<M, C>> {
        if self.backing.is_some() {
            return Err(backing);
        }
        self.backing = Some(backing);
        Ok(())
    }

    /// Detaches the backing device and returns it, if one is attached and nothing
    /// holds its blocks any more: no slot migrating or migrated, no write or read
    /// in flight (after [`Store::drain`], once every write has ended).
    pub fn detach_backing(&mut self) -> Option<Backing<M, C>> {
        if self.backing.as_ref()?.stats().holds != 0 {
            return None;
        }
        self.backing.take()
    }

    /// What the backing device's allocator holds, if one is attached.
    pub fn backing_stats(&self) -> Option<BackingStats> {
        self.backing.as_ref().map(Backing::stats)
    }

    /// Lets `grow` append zeroed entries to the backing allocator's tables (see
    /// [`Backing::grow`]), after [`WritebackError::NeedTables`]; does nothing without a
    /// backing device.
    pub fn grow_backing(&mut self, grow: impl FnOnce(&mut M, &mut C)) {
        if let Some(backing) = self.backing.as_mut() {
            backing.grow(grow);
        }
    }

    /// The backing device's allocator, if one is attached, for statistics and
    /// checks.
    pub fn backing(&self) -> Option<&Backing<M, C>> {
        self.backing.as_ref()
    }

    /// The slots in each writeback state and the writeback events: with
    /// `direct`, the stores made straight to the backing device, and
    /// `bad_releases`, which only a bug makes non-zero.
    pub fn wb_counts(&self) -> WbCounts {
        self.slots.counts()
    }

    /// Pages read from and written to the backing device.
    pub fn bd_counts(&self) -> BdCounts {
        self.bd
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
    pub fn store(
        &mut self,
        index: u64,
        page: Incoming<'_>,
        released: impl FnMut(F),
    ) -> Result<(), StoreError> {
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
        self.release(owner, old, released);
        Ok(())
    }

    /// Records a store that could not be done: the slot's old content is freed,
    /// never to be returned again, and a failed store is counted.
    pub fn refuse(&mut self, index: u64, released: impl FnMut(F)) -> Result<(), StoreError> {
        let owner = self.owner(index)?;
        let old = self
            .slots
            .refuse(index, &mut self.backing)
            .map_err(|_| StoreError::OutOfRange)?;
        self.release(owner, old, released);
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
            Ok(migrate::Found::Empty) => return Ok(Found::Empty),
            Ok(migrate::Found::Ram(content)) => content,
            Ok(migrate::Found::Backing(dest)) => {
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

    /// Frees slot `index`; returns whether it held data.
    ///
    /// Memory freed this way (swap dropped the page, or a discard) goes back
    /// to the system at once, the pool's reserve included: the reserve is for
    /// absorbing overwrites, and a device whose data is gone should hold no
    /// more memory than its remaining data needs.
    pub fn free(&mut self, index: u64, mut released: impl FnMut(F)) -> Result<bool, StoreError> {
        let owner = self.owner(index)?;
        let held = self.holds_data(index);
        let old = self
            .slots
            .free(index, &mut self.backing)
            .map_err(|_| StoreError::OutOfRange)?;
        self.release(owner, old, &mut released);
        self.pool.release_reserve(released);
        Ok(held)
    }

    /// Frees the slots in `range`; returns how many held data. Like
    /// [`Store::free`], hands the pool's reserve back too.
    ///
    /// # Errors
    ///
    /// [`StoreError::OutOfRange`] unless `range.start <= range.end <=
    /// self.len()`; then nothing changed.
    pub fn free_range(
        &mut self,
        range: Range<u64>,
        mut released: impl FnMut(F),
    ) -> Result<u64, StoreError> {
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
            self.release(owner, old, &mut released);
        }
        self.pool.release_reserve(released);
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

    /// Returns `true` if a store into slot `index` needs the slot table to
    /// grow first ([`StoreError::NeedSlots`]).
    pub fn needs_slots(&self, index: u64) -> bool {
        self.slots.needs_table(index)
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
    /// use with, for [`Store::mark_idle`]; an earlier clock than the current one
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

    /// Frees every slot and every frame (device reset or teardown), and the
    /// destinations of migrated slots.
    ///
    /// Reads pinned should have been unpinned first. Writes still in flight
    /// keep their extents until [`Store::end_writeback`], which finds their
    /// tickets stale.
    pub fn drain(&mut self, mut released: impl FnMut(F)) {
        self.slots.drain(&mut self.backing, |_| ());
        self.pool.drain(&mut released);
        self.classes.same_pages = 0;
        self.classes.huge_pages = 0;
    }

    /// Frees the empty frames the pool keeps in reserve (memory pressure).
    pub fn release_reserve(&mut self, released: impl FnMut(F)) -> u32 {
        self.pool.release_reserve(released)
    }

    /// Restarts the high-water marks (zram's `mem_used_max` write of 0).
    pub fn reset_max(&mut self) {
        self.slots.reset_max();
        // INVARIANT: the mark restarts at the pages held.
        self.max_pages = self.pool.held_pages();
    }

    /// The frontswap-style counters.
    pub fn counters(&self) -> Counters {
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

    /// Begins writing the packed or huge frame `id` back: allocates an extent of
    /// its pages, makes each of its resident slots migrating (a ticket each) and
    /// copies the frame into `copy[..len]`, `len` the frame's length.
    ///
    /// A record whose slot does not hold it resident (a bug, or a slot being
    /// written back already) is not begun, and is marked a hole in the copy, so
    /// that [`Store::end_writeback`] rebuilds exactly the tickets begun. The
    /// caller writes `copy[..write.len()]` at sector `write.sector()` with its
    /// lock dropped, then hands `write` and the same `copy`, unchanged, to
    /// [`Store::end_writeback`]; meanwhile the frame may change or go (see the
    /// [module documentation](self#writeback)). This does not count as a use of
    /// the frame.
    ///
    /// # Errors
    ///
    /// Nothing changed but the bytes of `copy`: [`WritebackError::NoBacking`],
    /// [`WritebackError::BadFrame`], [`WritebackError::ShortCopy`],
    /// [`WritebackError::NoSpace`], [`WritebackError::SearchLimitReached`] (call
    /// again for the same frame), or [`WritebackError::NothingToWrite`] (no slot
    /// of the frame is resident; its extent was freed again).
    pub fn begin_writeback(
        &mut self,
        id: FrameId,
        copy: &mut [u8],
    ) -> Result<FrameWrite, WritebackError> {
        if self.backing.is_none() {
            return Err(WritebackError::NoBacking);
        }
        let (huge_owner, tail) = match self.pool.frame_state(id) {
            Some(FrameState::Packed(usage)) => (None, usage.tail),
            Some(FrameState::Huge { owner }) => (Some(owner), PAGE_LEN),
            _ => return Err(WritebackError::BadFrame),
        };
        let bytes = self.pool.frame(id).ok_or(WritebackError::BadFrame)?;
        let copy = copy
            .get_mut(..bytes.len())
            .ok_or(WritebackError::ShortCopy)?;
        // CAST: a frame is at most 8 pages.
        let pages = (bytes.len() / PAGE_SIZE) as u32;
        let block = self.backing.alloc(pages).map_err(space_error)?;
        copy.copy_from_slice(bytes);
        let mut objects: u32 = 0;
        let (slots, backing) = (&mut self.slots, &mut self.backing);
        if let Some(owner) = huge_owner {
            let dest = Dest::page(block);
            if slots
                .begin_resident(u64::from(owner), Content::Huge(id), dest, backing)
                .is_ok()
            {
                objects = 1;
            }
        } else {
            for (owner, object) in self.pool.records(id) {
                let dest = Dest {
                    block,
                    offset: object.offset,
                    len: object.len,
                };
                let content = Content::Packed(object);
                if slots
                    .begin_resident(u64::from(owner), content, dest, backing)
                    .is_ok()
                {
                    objects = objects.saturating_add(1);
                } else {
                    // Not written for its slot: no ticket to rebuild from the copy.
                    frame::set_owner(copy, object.offset, FREE_OWNER);
                }
            }
        }
        if objects == 0 {
            // No ticket holds the extent.
            let _ = self.backing.abort(block);
            return Err(WritebackError::NothingToWrite);
        }
        Ok(FrameWrite {
            block,
            pages,
            objects,
            bytes: usize::from(tail),
            huge: huge_owner.is_some(),
            owner: huge_owner.unwrap_or(FREE_OWNER),
        })
    }

    /// Ends the frame write `write`, which succeeded if `ok`: rebuilds its
    /// tickets from the records of `copy` (the buffer [`Store::begin_writeback`]
    /// filled, unchanged) and completes or fails each.
    ///
    /// A slot still migrating under its ticket becomes migrated and its object
    /// is freed from the pool (frames emptied go to `released`, which should
    /// only collect them), or, if the write failed, becomes resident again. A
    /// slot overwritten or freed meanwhile is stale: only the ticket's hold on
    /// the extent is dropped. The extent is freed with its last hold.
    pub fn end_writeback(
        &mut self,
        write: &FrameWrite,
        copy: &[u8],
        ok: bool,
        mut released: impl FnMut(F),
    ) -> WritebackEnd {
        let mut end = WritebackEnd::default();
        if write.huge {
            let ticket = Ticket {
                slot: u64::from(write.owner),
                dest: Dest::page(write.block),
            };
            self.settle(ticket, ok, &mut end, &mut released);
        } else {
            let tail = u16::try_from(write.bytes).unwrap_or(0);
            let records = copy
                .get(..write.len())
                .map(|bytes| frame::records(bytes, tail))
                .into_iter()
                .flatten()
                .filter(|record| !record.is_free());
            for record in records {
                let ticket = Ticket {
                    slot: u64::from(record.owner),
                    dest: Dest {
                        block: write.block,
                        offset: record.offset,
                        len: record.len,
                    },
                };
                self.settle(ticket, ok, &mut end, &mut released);
            }
        }
        if ok {
            self.bd.writes = self.bd.writes.saturating_add(u64::from(write.pages));
        }
        end
    }

    /// Begins a direct store to slot `index`, of a page the pool refused:
    /// allocates one block of the backing device and holds it for the write.
    /// The slot is not changed.
    ///
    /// The caller builds the block (a compressed page with
    /// [`DirectWrite::write_record`], or the page whole), writes it at
    /// `write.sector()` with its lock dropped, then hands `write` to
    /// [`Store::end_direct`], whether the write succeeded or not.
    ///
    /// # Errors
    ///
    /// Nothing changed: [`WritebackError::NoBacking`],
    /// [`WritebackError::OutOfRange`], [`WritebackError::NoSpace`] if the
    /// backing device has no free block, or
    /// [`WritebackError::SearchLimitReached`] if this call's search found none
    /// yet (call again).
    pub fn begin_direct(&mut self, index: u64) -> Result<DirectWrite, WritebackError> {
        if self.backing.is_none() {
            return Err(WritebackError::NoBacking);
        }
        let owner = self.owner(index).map_err(|_| WritebackError::OutOfRange)?;
        if self.slots.needs_table(index) {
            return Err(WritebackError::NeedSlots);
        }
        // The index is in range and in the table: only the device can refuse.
        let block =
            self.slots
                .begin_direct(index, &mut self.backing)
                .map_err(|error| match error {
                    WbError::Backing(error) => space_error(error),
                    _ => WritebackError::NoSpace,
                })?;
        Ok(DirectWrite { owner, block })
    }

    /// Ends the direct store `write`, whose write of the block succeeded if
    /// `ok`; returns whether the page is stored.
    ///
    /// If it succeeded, the slot becomes migrated to `dest`
    /// ([`DirectWrite::write_record`]'s destination, or
    /// [`DirectWrite::page`]), and the write's hold on the block passes to it.
    /// What the slot held goes as in [`Store::store`]: a resident object is
    /// freed from the pool (frames emptied go to `released`), a migrated
    /// slot's destination is released, and a write back of a migrating slot
    /// is superseded (its completion finds its ticket stale). It counts as a
    /// store, a direct store ([`WbCounts::direct`]) and a page written
    /// ([`BdCounts::writes`]).
    ///
    /// If it failed, the block is freed and the slot is unchanged: refuse the
    /// store ([`Store::refuse`]).
    ///
    /// # Errors
    ///
    /// [`StoreError::BadDest`] if `dest` is not the whole page or a record at
    /// offset 0 of `write`'s block, or if this store has no extent of one
    /// block held once at `write`'s block (then `write` is another store's):
    /// a bug, counted in [`WbCounts::bad_releases`]. The slot is unchanged,
    /// and the block is freed only in the first case, as for a failed write;
    /// holds not the write's are never dropped. (Another store's write naming
    /// a block that this store's migrated slot holds alone cannot be told from
    /// this store's own: keep each store's writes with it.)
    pub fn end_direct(
        &mut self,
        write: DirectWrite,
        dest: Dest,
        ok: bool,
        released: impl FnMut(F),
    ) -> Result<bool, StoreError> {
        // A direct write's block is one block that only the write holds: no
        // slot names it and no read pins it before the write ends.
        let held = self
            .backing
            .as_ref()
            .and_then(|backing| backing.extent(write.block))
            .is_some_and(|extent| extent.len == 1 && extent.holds == 1);
        if !held {
            // Not this store's write: its holds are none of ours to drop.
            self.slots.note_bad_release();
            return Err(StoreError::BadDest);
        }
        if !ok {
            self.slots.abort_direct(write.block, &mut self.backing);
            return Ok(false);
        }
        if !write.takes(dest) {
            self.slots.abort_direct(write.block, &mut self.backing);
            self.slots.note_bad_release();
            return Err(StoreError::BadDest);
        }
        let old = match self
            .slots
            .store_migrated(write.index(), dest, &mut self.backing)
        {
            Ok(old) => old,
            // Never: `begin_direct` checked the index, and the table keeps its
            // length.
            Err(_) => {
                self.slots.abort_direct(write.block, &mut self.backing);
                return Err(StoreError::OutOfRange);
            }
        };
        self.bd.writes = self.bd.writes.saturating_add(1);
        self.release(write.owner, old, released);
        Ok(true)
    }

    /// Completes (`ok`) or fails `ticket`, freeing the object of a slot it
    /// migrates, and counts the outcome in `end`.
    fn settle(
        &mut self,
        ticket: Ticket,
        ok: bool,
        end: &mut WritebackEnd,
        released: &mut impl FnMut(F),
    ) {
        if !ok {
            let counter = if self.slots.fail::<Content>(ticket, &mut self.backing) {
                &mut end.failed
            } else {
                &mut end.stale
            };
            *counter = counter.saturating_add(1);
            return;
        }
        match self.slots.complete(ticket, &mut self.backing) {
            Some(content) => {
                end.migrated = end.migrated.saturating_add(1);
                // The slot was migrating, so `ticket.slot` is an owner.
                if let Ok(owner) = u32::try_from(ticket.slot) {
                    self.release(owner, Some(content), released);
                }
            }
            None => end.stale = end.stale.saturating_add(1),
        }
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
    fn release(&mut self, owner: u32, old: Option<Content>, mut released: impl FnMut(F)) {
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
                if let Ok(Some(usage)) = self.pool.free_packed(object, owner, &mut released) {
                    self.auto_compact(object.frame, &usage);
                }
            }
            Content::Huge(id) => {
                let _ = self.pool.free_huge(id, &mut released);
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

/// The writeback error for a backing device that could not allocate: out of space, or
/// not found yet within the search's limit.
fn space_error(error: BackingError) -> WritebackError {
    match error {
        BackingError::SearchLimitReached => WritebackError::SearchLimitReached,
        BackingError::NeedTables => WritebackError::NeedTables,
        _ => WritebackError::NoSpace,
    }
}

/// The first 512-byte sector of `block`.
fn sector(block: u32) -> u64 {
    u64::from(block).saturating_mul(8)
}

fn pool_error(error: PoolError) -> StoreError {
    match error {
        PoolError::NeedFrame => StoreError::NeedFrame,
        PoolError::BadLength | PoolError::BadOwner => StoreError::BadObject,
        PoolError::BadRef => StoreError::Corrupt,
    }
}
