//! Writeback of slots to a backing device: each slot's state from resident to migrated.
//!
//! When the pool fills, the writeback engine moves a cold frame to the backing device:
//! it allocates an extent of the frame's pages ([`super::backing`]), writes the frame's
//! records there as they sit, and each record's slot becomes a *migration entry* naming
//! its destination. The slot keeps its index; only where its page is read from changes.
//! A huge page is written alone to one block.
//!
//! Each slot is in one [`State`]:
//!
//! - [`State::Empty`]: nothing stored.
//! - [`State::Resident`]: in memory, as a handle `R` (the store's `Content`).
//! - [`State::Migrating`]: in memory and being written to its destination; still read
//!   from memory.
//! - [`State::Migrated`]: only at its destination, a [`Dest`], read from there.
//!
//! # Who releases what
//!
//! The table never frees memory: every resident handle that leaves a slot is returned
//! to the caller, to free after dropping its lock. It does release destinations, in the
//! [`Backing`](super::backing::Backing) passed to each call, so that this rule lives in
//! one place:
//!
//! - Each destination object is one hold on its extent, taken by [`Slots::begin`].
//! - That hold is dropped exactly once, always after the write has ended: by
//!   [`Slots::fail`]; by [`Slots::complete`] of a *stale* ticket (the slot was
//!   overwritten, freed or written back again meanwhile); or, after [`Slots::complete`]
//!   moved it to the slot, by the overwrite or free that ends [`State::Migrated`].
//! - An overwrite or free of a [`State::Migrating`] slot releases nothing at the
//!   destination: it returns the resident handle and leaves the hold to the completion,
//!   which will find its ticket stale.
//! - A *direct* write, of a page the pool refused, goes to a block of its own: its hold
//!   is taken by [`Slots::begin_direct`] with the slot left as it is, and either passes
//!   to the slot by [`Slots::store_migrated`] (which ends whatever the slot held as an
//!   overwrite does) or is dropped by [`Slots::abort_direct`]. No other hold is ever
//!   taken on that block while the write is in flight.
//!
//! So an extent is never freed, and its blocks never reused, while a write to it is in
//! flight; hence two tickets in flight for one slot name different extents (a frame has
//! one record per slot), and the destination serves as the ticket: [`State::Migrating`]
//! records the extent of its own write, which a completion must match. Reads from the
//! backing device are
//! pinned the same way ([`Slots::load`], [`Slots::unpin`]), so a read in flight keeps
//! its extent even if the slot is freed meanwhile, and never sees another page's data.
//!
//! # Size
//!
//! [`State::Migrating`] keeps only what the resident handle needs for a write back
//! ([`Resident::Kept`]) and the destination's extent. For the store's
//! `Content` (16 bytes) that is an `ObjectRef` (8 bytes): `State<Content>` is 16 bytes,
//! as `Content` itself.
//!
//! # Examples
//!
//! ```
//! use ghostswap_core::backing::{Backing, Extents};
//! use ghostswap_core::migrate::{Dest, Found, Slots, State};
//! use ghostswap_core::pool::ObjectRef;
//! use ghostswap_core::store::Content;
//!
//! let mut dev = Backing::new(vec![0u64; 1], vec![0u16; 64]).ok_or(())?;
//! let mut slots = Slots::new(vec![State::<Content>::Empty; 4]);
//! let object = ObjectRef { frame: 3, offset: 40, len: 900 };
//! assert_eq!(slots.store(1, Content::Packed(object), &mut dev), Ok(None));
//!
//! // Write the frame back: one extent, one ticket per record.
//! let block = dev.alloc(2).map_err(drop)?;
//! let ticket = slots.begin(1, Dest { block, offset: 40, len: 900 }, &mut dev).map_err(drop)?;
//! assert_eq!(slots.load(1, &mut dev), Ok(Found::Ram(Content::Packed(object))));
//! // The write ended: the resident object is the caller's to free.
//! assert_eq!(slots.complete(ticket, &mut dev), Some(Content::Packed(object)));
//! assert_eq!(slots.load(1, &mut dev), Ok(Found::Backing(ticket.dest)));
//! slots.unpin(ticket.dest, &mut dev); // The read from the device is done.
//!
//! // An overwrite releases the destination: the extent's last object.
//! assert_eq!(slots.store(1, Content::SameFilled(0), &mut dev), Ok(None));
//! assert_eq!(dev.stats().used_blocks, 0);
//! # Ok::<(), ()>(())
//! ```

use core::fmt::Debug;
use core::mem;
use core::ops::Range;

use super::backing::{BackingError, Extents};
use super::frame::HEADER_LEN;
use super::geometry::PAGE_SIZE;
use super::pool::ObjectRef;
use super::stats::Counters;
use super::store::Content;
use super::table::Table;

/// The length of a whole page, as a [`Dest`] or an `ObjectRef` records it.
// CAST: 4096 fits a `u16`.
pub const PAGE_LEN: u16 = PAGE_SIZE as u16;

/// A resident handle whose page can be written back.
pub trait Resident: Copy {
    /// What a slot keeps of the handle while its page is written: as small as possible,
    /// since it shares the slot with the destination.
    type Kept: Copy + PartialEq + Eq + Debug;

    /// Returns what to keep while the page is written, or `None` if it is never written
    /// back (a same-filled page has nothing to write).
    fn keep(self) -> Option<Self::Kept>;

    /// Returns the handle that [`Resident::keep`] kept `kept` of.
    fn restore(kept: Self::Kept) -> Self;
}

impl Resident for Content {
    /// The object; a huge page as an object of a whole page at offset 0 of its frame,
    /// which no packed object can be (see [`super::frame::MAX_OBJECT`]).
    type Kept = ObjectRef;

    fn keep(self) -> Option<ObjectRef> {
        match self {
            Content::SameFilled(_) => None,
            Content::Packed(object) => Some(object),
            Content::Huge(frame) => Some(ObjectRef {
                frame,
                offset: 0,
                len: PAGE_LEN,
            }),
        }
    }

    fn restore(kept: ObjectRef) -> Self {
        if kept.len == PAGE_LEN {
            Content::Huge(kept.frame)
        } else {
            Content::Packed(kept)
        }
    }
}

/// Where a page written back lives: `len` bytes at byte `offset` of the extent that
/// starts at `block`, or a whole uncompressed page ([`Dest::page`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Dest {
    /// The first block of the extent, which holds this object once.
    pub block: u32,
    /// Byte offset in the extent: where the record sat in its frame.
    pub offset: u16,
    /// Bytes; [`PAGE_LEN`] for an uncompressed page.
    pub len: u16,
}

impl Dest {
    /// The destination of a huge page, alone in `block`.
    pub const fn page(block: u32) -> Self {
        Dest {
            block,
            offset: 0,
            len: PAGE_LEN,
        }
    }

    /// Returns `true` for an uncompressed page.
    pub const fn is_page(&self) -> bool {
        self.len == PAGE_LEN
    }

    /// The bytes of the extent that hold the page: the whole first block for an
    /// uncompressed page, else the record's data, after its header.
    ///
    /// ```
    /// use ghostswap_core::migrate::Dest;
    ///
    /// assert_eq!(Dest::page(9).data_range(), 0..4096);
    /// assert_eq!(Dest { block: 9, offset: 4090, len: 100 }.data_range(), 4096..4196);
    /// ```
    pub fn data_range(&self) -> Range<usize> {
        if self.is_page() {
            return 0..PAGE_SIZE;
        }
        let start = usize::from(self.offset) + HEADER_LEN;
        start..start + usize::from(self.len)
    }
}

/// The writeback state of one slot (see the module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum State<R: Resident> {
    /// Nothing stored: reads as zeroes.
    #[default]
    Empty,
    /// In memory.
    Resident(R),
    /// In memory, kept as `kept`, and being written to the extent at `block`: the
    /// ticket a completion must match. (The offset is the ticket's: a slot has one
    /// object in a frame, so the extent tells its writes apart, and keeping no offset
    /// here fits the state in 16 bytes.)
    Migrating {
        /// The resident handle, as [`Resident::keep`] kept it.
        kept: R::Kept,
        /// The first block of the destination extent.
        block: u32,
    },
    /// Only at the destination; the slot holds the destination object.
    Migrated(Dest),
}

/// A write in flight of one slot's page: what [`Slots::begin`] returns and
/// [`Slots::complete`] or [`Slots::fail`] take back, exactly once.
///
/// It holds one hold on `dest`'s extent. Its fields are public so that the completion of
/// a frame's write can rebuild the tickets from the records it wrote (owner, offset,
/// length) instead of storing them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ticket {
    /// The slot.
    pub slot: u64,
    /// Where its page is written.
    pub dest: Dest,
}

/// What a load finds in a slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found<R> {
    /// Nothing: zeroes.
    Empty,
    /// In memory (resident or migrating).
    Ram(R),
    /// At `Dest`, pinned: call [`Slots::unpin`] once the read is done.
    Backing(Dest),
}

/// Why an operation was refused. A refused operation changes nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WbError {
    /// The slot index is past the end of the table.
    OutOfRange,
    /// A writeback of a slot that is not resident (empty, migrating or migrated).
    NotResident,
    /// A writeback of a page that is never written back (see [`Resident::keep`]).
    NotWritable,
    /// A frame writeback with no record to write; its extent was freed again.
    NothingToWrite,
    /// The backing device refused: no space, or not an extent.
    Backing(BackingError),
    /// A store into a slot the table does not hold yet: grow it
    /// ([`Slots::grow_table`]) and call again. Nothing changed.
    NeedSlots,
}

/// Gauges of the slot states and counts of writeback events.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WbCounts {
    /// Slots resident.
    pub resident: u64,
    /// Slots migrating.
    pub migrating: u64,
    /// Slots migrated.
    pub migrated: u64,
    /// Writes completed that migrated their slot.
    pub written: u64,
    /// Completions of writes whose slot had changed meanwhile.
    pub stale: u64,
    /// Writes that failed, their slot resident again.
    pub failed: u64,
    /// Stores written straight to the backing device ([`Slots::store_migrated`]): pages
    /// the pool refused, which the module shows as `fallthrough_stores`.
    pub direct: u64,
    /// Destination releases the allocator refused, and direct writes handed back with a
    /// destination that was not theirs ([`Slots::note_bad_release`]): bugs, counted rather
    /// than letting a slot keep data it no longer should.
    pub bad_releases: u64,
}

/// The writeback states of a device's slots, and their frontswap counters.
///
/// `S` is the storage of the states, any owner of a `[State<R>]`, all [`State::Empty`]
/// to start with; its `as_ref` and `as_mut` must return the same slice every time.
///
/// Besides the writeback gauges and events ([`WbCounts`]) the table keeps the frontswap
/// counters of [`Counters`]: stores, failed stores
/// ([`Slots::refuse`]), loads and zero reads, invalidates, and the slots that hold data
/// (resident, migrating or migrated) with their high-water mark.
///
/// # Invariants
///
/// - `len` is the length of the storage's slice.
/// - The gauges of `counts` count the slots in each state, and `counters.stored_pages`
///   the slots that are not [`State::Empty`]; `counters.max_stored_pages` is at least
///   that.
/// - Every [`State::Migrated`] slot, every ticket not yet completed or failed and every
///   direct write not yet ended holds its destination's extent once (see the module
///   docs).
pub struct Slots<S> {
    slots: S,
    len: u64,
    counts: WbCounts,
    counters: Counters,
}

impl<S> Slots<S> {
    /// Creates a table over `slots`, counting the states it holds.
    pub fn new<R: Resident>(slots: S) -> Self
    where
        S: Table<State<R>>,
    {
        // CAST: a table length always fits in a `u64` on the targets Linux supports.
        let len = slots.capacity() as u64;
        let mut counts = WbCounts::default();
        for state in (0..slots.len()).filter_map(|i| slots.get(i)) {
            // INVARIANT: each slot counted in its state's gauge.
            bump(&mut counts, state, true);
        }
        let stored = counts
            .resident
            .saturating_add(counts.migrating)
            .saturating_add(counts.migrated);
        let counters = Counters {
            stored_pages: stored,
            max_stored_pages: stored,
            ..Counters::default()
        };
        Slots {
            slots,
            len,
            counts,
            counters,
        }
    }

    /// Returns the number of slots.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Returns `true` if the table has no slots.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Returns the slot table, for its statistics.
    pub fn table(&self) -> &S {
        &self.slots
    }

    /// Returns the gauges and counts.
    pub fn counts(&self) -> WbCounts {
        self.counts
    }

    /// Returns the frontswap counters.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Returns `true` if storing into slot `index` would take the table past
    /// `max_pages` slots holding data. An overwrite never does; `None` is no limit.
    pub fn store_exceeds<R: Resident>(&self, index: u64, max_pages: Option<u64>) -> bool
    where
        S: Table<State<R>>,
    {
        let Some(max) = max_pages else {
            return false;
        };
        let grows = matches!(self.state(index), Ok(State::Empty));
        grows && self.counters.stored_pages >= max
    }

    /// Restarts the high-water mark of slots holding data from the current level.
    pub fn reset_max(&mut self) {
        // INVARIANT: `max_stored_pages >= stored_pages` still holds.
        self.counters.reset_max();
    }

    /// Returns the state of slot `index`, without pinning anything.
    pub fn state<R: Resident>(&self, index: u64) -> Result<State<R>, WbError>
    where
        S: Table<State<R>>,
    {
        if index >= self.len {
            return Err(WbError::OutOfRange);
        }
        // A slot the table does not hold yet is empty.
        Ok(usize::try_from(index)
            .ok()
            .and_then(|i| self.slots.get(i))
            .copied()
            .unwrap_or_default())
    }

    /// Returns `true` if slot `index` is in the device but not yet in the table: storing
    /// into it needs the table to grow first ([`WbError::NeedSlots`]).
    pub fn needs_table<R: Resident>(&self, index: u64) -> bool
    where
        S: Table<State<R>>,
    {
        index < self.len
            && usize::try_from(index)
                .ok()
                .and_then(|i| self.slots.get(i))
                .is_none()
    }

    /// Lets `grow` append empty slots (as [`State::default`] makes them) to the table, for
    /// a store that needs them ([`WbError::NeedSlots`]). `grow` runs under the caller's
    /// lock: it must not allocate or sleep, only append what was allocated before.
    pub fn grow_table(&mut self, grow: impl FnOnce(&mut S)) {
        grow(&mut self.slots);
    }

    /// Finds what slot `index` holds, for a read, counting a load (or a zero read).
    ///
    /// A [`Found::Backing`] destination is pinned, so its blocks stay allocated while the
    /// caller reads them with its lock dropped: [`Slots::unpin`] it after the read.
    ///
    /// # Errors
    ///
    /// [`WbError::OutOfRange`], or [`WbError::Backing`] if the extent cannot take another
    /// hold (then retry later); nothing is pinned or counted.
    pub fn load<R>(&mut self, index: u64, backing: &mut impl Extents) -> Result<Found<R>, WbError>
    where
        R: Resident,
        S: Table<State<R>>,
    {
        let found = match self.state(index)? {
            State::Empty => Found::Empty,
            State::Resident(resident) => Found::Ram(resident),
            State::Migrating { kept, .. } => Found::Ram(R::restore(kept)),
            State::Migrated(dest) => {
                backing.hold(dest.block).map_err(WbError::Backing)?;
                Found::Backing(dest)
            }
        };
        self.counters.record_load(!matches!(found, Found::Empty));
        Ok(found)
    }

    /// Drops the pin of a [`Found::Backing`] read, once.
    pub fn unpin(&mut self, dest: Dest, backing: &mut impl Extents) {
        self.release(dest.block, backing);
    }

    /// Stores `resident` in slot `index` and returns the resident handle it replaces, for
    /// the caller to free. Counts a store.
    ///
    /// A migrated slot's destination is released; a write in flight of the slot is
    /// superseded: its completion will find its ticket stale.
    pub fn store<R>(
        &mut self,
        index: u64,
        resident: R,
        backing: &mut impl Extents,
    ) -> Result<Option<R>, WbError>
    where
        R: Resident,
        S: Table<State<R>>,
    {
        self.put(index, State::Resident(resident), backing)
    }

    /// Empties slot `index` and returns its resident handle, if it had one, for the
    /// caller to free. Releases as [`Slots::store`] does; counts an invalidate if the
    /// slot held data.
    pub fn free<R>(&mut self, index: u64, backing: &mut impl Extents) -> Result<Option<R>, WbError>
    where
        R: Resident,
        S: Table<State<R>>,
    {
        let (held, old) = self.replace(index, State::Empty, backing)?;
        // INVARIANT: the one slot that changed is counted.
        self.counters.record_free(held);
        Ok(old)
    }

    /// Records a store to slot `index` that could not be done: empties the slot as
    /// [`Slots::free`] does, since its old content must never be read again, and counts
    /// a failed store (and an invalidate if the slot held data).
    pub fn refuse<R>(
        &mut self,
        index: u64,
        backing: &mut impl Extents,
    ) -> Result<Option<R>, WbError>
    where
        R: Resident,
        S: Table<State<R>>,
    {
        let (held, old) = self.replace(index, State::Empty, backing)?;
        // INVARIANT: the one slot that changed is counted.
        self.counters.record_refuse(held);
        Ok(old)
    }

    /// Empties every slot, handing each resident handle to `release` and releasing the
    /// destinations of migrated slots, for device reset or teardown; returns the slots
    /// that held data.
    ///
    /// It counts no invalidates and keeps every counter but `stored_pages`. Writes in
    /// flight keep their holds: their completions find their tickets stale. Call it once
    /// every read pinned has been unpinned.
    pub fn drain<R>(&mut self, backing: &mut impl Extents, mut release: impl FnMut(R)) -> u64
    where
        R: Resident,
        S: Table<State<R>>,
    {
        let mut held: u64 = 0;
        // CAST: as in `new`. Slots past the table's entries are empty.
        for index in 0..self.slots.len() as u64 {
            if let Ok((was, old)) = self.replace(index, State::Empty, backing) {
                // INVARIANT: the slot no longer holds data.
                self.counters.note_transition(was, false);
                if was {
                    held = held.saturating_add(1);
                }
                if let Some(resident) = old {
                    release(resident);
                }
            }
        }
        held
    }

    /// Points slot `index` at `new` if it holds the resident handle `old`, resident or
    /// migrating: what a move of `old` by compaction asks for. Returns whether it did.
    ///
    /// A migrating slot keeps its ticket: only what it keeps of the handle changes, so
    /// that a completion hands the caller the handle where it is now.
    pub fn relocate<R>(&mut self, index: u64, old: R, new: R) -> bool
    where
        R: Resident + PartialEq,
        S: Table<State<R>>,
    {
        let Ok(Some(state)) = state_mut(&mut self.slots, self.len, index) else {
            return false;
        };
        match state {
            State::Resident(resident) if *resident == old => {
                *resident = new;
                true
            }
            State::Migrating { kept, .. } => match (old.keep(), new.keep()) {
                (Some(was), Some(now)) if *kept == was => {
                    *kept = now;
                    true
                }
                _ => false,
            },
            _ => false,
        }
    }

    /// Starts writing slot `index`'s page to `dest`, taking a hold on its extent.
    ///
    /// The caller writes the page's bytes as they are now, then hands the ticket to
    /// [`Slots::complete`] or [`Slots::fail`]. Every `dest` in flight must be a distinct
    /// object, and a slot may have one ticket in flight per extent: the records of one
    /// frame, at their offsets, in a fresh extent ([`Slots::begin_frame`]) are.
    ///
    /// # Errors
    ///
    /// [`WbError::OutOfRange`], [`WbError::NotResident`], [`WbError::NotWritable`], or
    /// [`WbError::Backing`] if `dest.block` is no extent or cannot take another hold.
    pub fn begin<R>(
        &mut self,
        index: u64,
        dest: Dest,
        backing: &mut impl Extents,
    ) -> Result<Ticket, WbError>
    where
        R: Resident,
        S: Table<State<R>>,
    {
        self.begin_checked(index, |_| true, dest, backing)
    }

    /// Starts writing slot `index`'s page to `dest` as [`Slots::begin`] does, if the slot
    /// holds `expected`: a frame written back begins only the records its slots still
    /// point at.
    ///
    /// # Errors
    ///
    /// As [`Slots::begin`]; [`WbError::NotResident`] if the slot holds anything else.
    pub fn begin_resident<R>(
        &mut self,
        index: u64,
        expected: R,
        dest: Dest,
        backing: &mut impl Extents,
    ) -> Result<Ticket, WbError>
    where
        R: Resident + PartialEq,
        S: Table<State<R>>,
    {
        self.begin_checked(index, |resident| *resident == expected, dest, backing)
    }

    /// [`Slots::begin`], refusing a resident handle that `accept` does not.
    fn begin_checked<R>(
        &mut self,
        index: u64,
        accept: impl FnOnce(&R) -> bool,
        dest: Dest,
        backing: &mut impl Extents,
    ) -> Result<Ticket, WbError>
    where
        R: Resident,
        S: Table<State<R>>,
    {
        let Some(state) = state_mut(&mut self.slots, self.len, index)? else {
            return Err(WbError::NotResident);
        };
        let State::Resident(resident) = *state else {
            return Err(WbError::NotResident);
        };
        if !accept(&resident) {
            return Err(WbError::NotResident);
        }
        let kept = resident.keep().ok_or(WbError::NotWritable)?;
        backing.hold(dest.block).map_err(WbError::Backing)?;
        let new = State::Migrating {
            kept,
            block: dest.block,
        };
        let old = mem::replace(state, new);
        // INVARIANT: the ticket returned holds the extent once.
        self.note(&old, &new);
        Ok(Ticket { slot: index, dest })
    }

    /// Ends a write that succeeded.
    ///
    /// If the slot is still migrating under this ticket it becomes migrated, keeping the
    /// ticket's hold, and its resident handle is returned for the caller to free. Otherwise
    /// the ticket is stale (the slot changed meanwhile, or `ticket.slot` is out of range):
    /// its hold is released and `None` returned.
    pub fn complete<R>(&mut self, ticket: Ticket, backing: &mut impl Extents) -> Option<R>
    where
        R: Resident,
        S: Table<State<R>>,
    {
        let Some(kept) = self.settle(ticket, |_| State::Migrated(ticket.dest)) else {
            self.counts.stale = self.counts.stale.saturating_add(1);
            self.release(ticket.dest.block, backing);
            return None;
        };
        self.counts.written = self.counts.written.saturating_add(1);
        Some(R::restore(kept))
    }

    /// Ends a write that failed: releases the ticket's hold and, if the slot is still
    /// migrating under this ticket, makes it resident again. Returns `true` in that case.
    ///
    /// A frame's write fails as a whole: fail every ticket of it.
    pub fn fail<R>(&mut self, ticket: Ticket, backing: &mut impl Extents) -> bool
    where
        R: Resident,
        S: Table<State<R>>,
    {
        let restored = self.settle(ticket, |kept| State::Resident(R::restore(kept)));
        if restored.is_some() {
            self.counts.failed = self.counts.failed.saturating_add(1);
        } else {
            self.counts.stale = self.counts.stale.saturating_add(1);
        }
        self.release(ticket.dest.block, backing);
        restored.is_some()
    }

    /// Starts writing back a frame of `pages` pages: allocates an extent and begins each
    /// of `records`, `(slot, offset, len)`, handing each ticket to `started`. Records
    /// whose slot refuses ([`Slots::begin`]) are skipped. Returns the extent's first
    /// block and the tickets started.
    ///
    /// # Errors
    ///
    /// [`WbError::Backing`] if no extent could be allocated; [`WbError::NothingToWrite`]
    /// if no record began, after freeing the extent again.
    pub fn begin_frame<R>(
        &mut self,
        pages: u32,
        records: impl IntoIterator<Item = (u64, u16, u16)>,
        backing: &mut impl Extents,
        mut started: impl FnMut(Ticket),
    ) -> Result<(u32, u32), WbError>
    where
        R: Resident,
        S: Table<State<R>>,
    {
        let block = backing.alloc(pages).map_err(WbError::Backing)?;
        let mut count: u32 = 0;
        for (slot, offset, len) in records {
            let dest = Dest { block, offset, len };
            if let Ok(ticket) = self.begin(slot, dest, backing) {
                count = count.saturating_add(1);
                started(ticket);
            }
        }
        if count == 0 {
            // Nothing holds the extent: no ticket was handed out.
            let _ = backing.abort(block);
            return Err(WbError::NothingToWrite);
        }
        Ok((block, count))
    }

    /// Starts a direct write of a page for slot `index`, one the pool could not take:
    /// allocates an extent of one block and takes one hold on it for the write, leaving
    /// the slot as it is. Returns the block.
    ///
    /// The caller writes the page there, then ends the write exactly once: if it
    /// succeeded, [`Slots::store_migrated`] hands the hold to the slot; if not,
    /// [`Slots::abort_direct`] drops it. Meanwhile the slot reads, and may be stored
    /// into or freed, as if the write had not begun.
    ///
    /// # Errors
    ///
    /// [`WbError::OutOfRange`], or [`WbError::Backing`] if no block is free; nothing
    /// changed.
    pub fn begin_direct(&mut self, index: u64, backing: &mut impl Extents) -> Result<u32, WbError> {
        if index >= self.len {
            return Err(WbError::OutOfRange);
        }
        let block = backing.alloc(1).map_err(WbError::Backing)?;
        if let Err(error) = backing.hold(block) {
            // Never for a fresh extent; nothing refers to it yet, so it can go.
            let _ = backing.abort(block);
            return Err(WbError::Backing(error));
        }
        // INVARIANT: the write in flight holds the extent once.
        Ok(block)
    }

    /// Stores in slot `index` the page a direct write put at `dest`, making the slot
    /// [`State::Migrated`]: the write's hold on `dest.block` ([`Slots::begin_direct`])
    /// passes to the slot. Counts a store and a direct store.
    ///
    /// What the slot held goes as in [`Slots::store`]: its resident handle is returned
    /// for the caller to free, a migrated slot's destination is released, and a write in
    /// flight of a migrating slot is superseded (its completion will find its ticket
    /// stale).
    ///
    /// The caller checks that `dest` lies in the block it holds; the table cannot tell.
    ///
    /// # Errors
    ///
    /// [`WbError::OutOfRange`]; then nothing changed, and the caller still has the hold.
    pub fn store_migrated<R>(
        &mut self,
        index: u64,
        dest: Dest,
        backing: &mut impl Extents,
    ) -> Result<Option<R>, WbError>
    where
        R: Resident,
        S: Table<State<R>>,
    {
        // INVARIANT: the write's hold is now the slot's.
        let old = self.put(index, State::Migrated(dest), backing)?;
        self.counts.direct = self.counts.direct.saturating_add(1);
        Ok(old)
    }

    /// Ends a direct write that failed or will not be stored: drops its hold on the
    /// extent at `block`, which frees the block. The slot is not touched.
    pub fn abort_direct(&mut self, block: u32, backing: &mut impl Extents) {
        self.release(block, backing);
    }

    /// Counts a destination that could not be released or taken over (see
    /// [`WbCounts::bad_releases`]): for a caller that refused one itself.
    pub fn note_bad_release(&mut self) {
        self.counts.bad_releases = self.counts.bad_releases.saturating_add(1);
    }

    /// Moves slot `ticket.slot` to `new(kept)` if it is migrating under `ticket`, and
    /// returns what it kept; otherwise changes nothing.
    fn settle<R: Resident>(
        &mut self,
        ticket: Ticket,
        new: impl FnOnce(R::Kept) -> State<R>,
    ) -> Option<R::Kept>
    where
        S: Table<State<R>>,
    {
        let state = state_mut(&mut self.slots, self.len, ticket.slot).ok()??;
        let kept = match *state {
            State::Migrating { kept, block } if block == ticket.dest.block => kept,
            _ => return None,
        };
        let new = new(kept);
        let old = mem::replace(state, new);
        self.note(&old, &new);
        Some(kept)
    }

    /// Stores `new` in slot `index` as [`Slots::store`] does, counting a store, and
    /// returns the resident handle it replaces.
    fn put<R>(
        &mut self,
        index: u64,
        new: State<R>,
        backing: &mut impl Extents,
    ) -> Result<Option<R>, WbError>
    where
        R: Resident,
        S: Table<State<R>>,
    {
        let (held, old) = self.replace(index, new, backing)?;
        // INVARIANT: the one slot that changed is counted.
        self.counters.record_store(held);
        Ok(old)
    }

    /// Puts `new` in slot `index`; releases the old state's destination if it was
    /// migrated, and returns whether the old state held data and its resident handle if
    /// it had one. Keeps the gauges of `counts` right; the caller counts the change in
    /// `counters`.
    fn replace<R>(
        &mut self,
        index: u64,
        new: State<R>,
        backing: &mut impl Extents,
    ) -> Result<(bool, Option<R>), WbError>
    where
        R: Resident,
        S: Table<State<R>>,
    {
        let Some(state) = state_mut(&mut self.slots, self.len, index)? else {
            // A slot the table does not hold yet is empty: emptying it changes nothing.
            return match new {
                State::Empty => Ok((false, None)),
                _ => Err(WbError::NeedSlots),
            };
        };
        let old = mem::replace(state, new);
        self.note(&old, &new);
        let held = !matches!(old, State::Empty);
        Ok((
            held,
            match old {
                State::Empty => None,
                State::Resident(resident) => Some(resident),
                // The write in flight keeps its hold; its completion releases it.
                State::Migrating { kept, .. } => Some(R::restore(kept)),
                State::Migrated(dest) => {
                    self.release(dest.block, backing);
                    None
                }
            },
        ))
    }

    /// Drops one hold on the extent at `block`, counting a refusal (see
    /// [`WbCounts::bad_releases`]).
    fn release(&mut self, block: u32, backing: &mut impl Extents) {
        if backing.release_object(block).is_err() {
            self.note_bad_release();
        }
    }

    /// Updates the gauges after one slot went from `old` to `new`.
    fn note<R: Resident>(&mut self, old: &State<R>, new: &State<R>) {
        // INVARIANT: the one slot that changed is counted in its new state only.
        bump(&mut self.counts, old, false);
        bump(&mut self.counts, new, true);
    }
}

/// Returns slot `index` of the `len` slots in `slots`, mutably, or `None` if the table
/// does not hold it yet (it is empty).
fn state_mut<R: Resident, S: Table<State<R>>>(
    slots: &mut S,
    len: u64,
    index: u64,
) -> Result<Option<&mut State<R>>, WbError> {
    if index >= len {
        return Err(WbError::OutOfRange);
    }
    Ok(usize::try_from(index).ok().and_then(|i| slots.get_mut(i)))
}

/// Adds one to (`up`) or takes one from the gauge of `state`'s kind.
fn bump<R: Resident>(counts: &mut WbCounts, state: &State<R>, up: bool) {
    let gauge = match state {
        State::Empty => return,
        State::Resident(_) => &mut counts.resident,
        State::Migrating { .. } => &mut counts.migrating,
        State::Migrated(_) => &mut counts.migrated,
    };
    *gauge = if up {
        gauge.saturating_add(1)
    } else {
        gauge.saturating_sub(1)
    };
}
