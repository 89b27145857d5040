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
//! use ghostswap_core::backing::{Backing, BlockEntry, Extents};
//! use ghostswap_core::migrate::{Dest, Location, Slots, State};
//! use ghostswap_core::pool::ObjectRef;
//! use ghostswap_core::store::Content;
//!
//! let mut dev = Backing::new(vec![0u64; 1], vec![BlockEntry::default(); 64]).ok_or(())?;
//! let mut slots = Slots::new(vec![State::<Content>::Empty; 4]);
//! let object = ObjectRef { frame: 3, offset: 40, len: 900 };
//! assert_eq!(slots.store(1, Content::Packed(object), &mut dev), Ok(None));
//!
//! // Write the frame back: one extent, one ticket per record.
//! let block = dev.alloc(2).map_err(drop)?;
//! let ticket = slots.begin(1, Dest { block, offset: 40, len: 900 }, &mut dev).map_err(drop)?;
//! assert_eq!(slots.load(1, &mut dev), Ok(Location::Ram(Content::Packed(object))));
//! // The write ended: the resident object is the caller's to free.
//! assert_eq!(slots.complete(ticket, &mut dev), Some(Content::Packed(object)));
//! assert_eq!(slots.load(1, &mut dev), Ok(Location::Backing(ticket.dest)));
//! slots.unpin(ticket.dest, &mut dev); // The read from the device is done.
//!
//! // An overwrite releases the destination: the extent's last object.
//! assert_eq!(slots.store(1, Content::SameFilled(0), &mut dev), Ok(None));
//! assert_eq!(dev.stats().used_blocks, 0);
//! # Ok::<(), ()>(())
//! ```

use core::fmt::Debug;
use core::ops::Range;

use super::backing::BackingError;
use super::frame::HEADER_LEN;
use super::geometry::PAGE_SIZE;
use super::pool::ObjectRef;
use super::stats::SlotCounts;
use super::store::Content;
use super::table::Table;

// This file holds the states and the `Slots` type with its invariants; the methods of
// `Slots` are in two files, one a job. The paths of `mod` are relative to this directory in the host crate and in the kernel
// module alike (a file included with `#[path]` is read as a `mod.rs`).
mod states; // Stores, loads and frees of slots, and the counting every change goes through.
mod writes; // Writes to the backing device: tickets begun and ended, direct writes.

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
    fn migrating_handle(self) -> Option<Self::Kept>;

    /// Returns the handle that [`Resident::migrating_handle`] kept `kept` of.
    fn restore(kept: Self::Kept) -> Self;
}

impl Resident for Content {
    /// The object; a huge page as an object of a whole page at offset 0 of its frame,
    /// which no packed object can be (see [`super::frame::MAX_OBJECT`]).
    type Kept = ObjectRef;

    fn migrating_handle(self) -> Option<ObjectRef> {
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
        /// The resident handle, as [`Resident::migrating_handle`] kept it.
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

/// Where a load finds a slot's page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location<R> {
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
    /// A writeback of a page that is never written back (see [`Resident::migrating_handle`]).
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
/// counters of [`SlotCounts`]: stores, failed stores ([`Slots::refuse`]), loads and zero
/// reads, invalidates, and the slots that hold data (resident, migrating or migrated)
/// with their high-water mark.
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
    counters: SlotCounts,
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
