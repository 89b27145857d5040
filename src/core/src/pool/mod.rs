//! The compressed-object pool: objects of any size packed into frames of 4 to 32 KiB.
//!
//! The pool stores compressed pages ("objects") of 1 to [`MAX_OBJECT`] bytes in
//! *frames*, runs of 1 to 8 pages that the caller allocates. It never allocates: frames
//! are handed in with [`Pool::add_frame`], and the pool drops those it no longer needs.
//! The frame table, one [`FrameEntry`] per frame the pool can hold, is
//! caller-provided storage too; a [`FrameId`] is an index into it.
//!
//! # Frames
//!
//! A frame is any byte buffer whose length is a multiple of [`PAGE_SIZE`] from one page to
//! [`MAX_FRAME_SIZE`] (8 pages; see [`frame_pages`]). The caller may hand in frames of
//! different sizes, for example 32 KiB ones while memory is plentiful and single pages under
//! pressure: one pool holds a mix, and the pool takes each frame's length from the frame.
//!
//! - A *packed* frame holds records `[owner: u32][len: u16][data]` packed from offset 0
//!   to its tail (layout in [`super::frame`]), each at least [`MIN_RECORD`] (12) bytes:
//!   an object of fewer than 6 bytes is padded. An object is named by an [`ObjectRef`]:
//!   frame, record offset and data length, 8 bytes, all the slot table needs. Freeing an
//!   object turns its record into a hole merged with the holes just before and after it,
//!   so no two holes are ever adjacent; freeing the last record of a frame lowers the
//!   tail past it and the hole before it, so the record that ends at the tail is always
//!   live. The holes of a frame are on a list kept in the holes themselves, and each
//!   record says whether a hole is just before it, whose size is in its last bytes
//!   ([boundary tags](super::frame#boundary-tags-and-the-hole-list)): a free finds its
//!   neighbours in O(1) steps. Later stores fill holes (see [Allocation](#allocation));
//!   compaction reclaims the rest. Larger frames waste less: the space after the last
//!   record that fits is lost once per frame, not once per page.
//! - A *huge* frame holds one uncompressed page of one owner, named by its [`FrameId`]. It
//!   is always exactly one page long.
//! - A *reserve* frame is empty, waiting to become packed or huge.
//!
//! # Allocation
//!
//! A hole of `H` bytes (header included) takes a record of `r` bytes if `r == H`, or if
//! `r + 12 <= H` and the rest becomes a smaller hole ([`frame::hole_fits`]; 12 bytes,
//! [`MIN_RECORD`], is the smallest hole). A record is padded only up to [`MIN_RECORD`],
//! never to fit a hole. So every packed frame surely has room for any record of up to
//! [`Usage::capacity`] bytes: the larger of the free bytes after its tail and its largest
//! hole ([`Usage::largest_hole`], kept exact by every change) minus [`MIN_RECORD`].
//!
//! Packed frames sit in [`CLASSES`] free-space buckets by their capacity: below one page
//! in classes [`CLASS_WIDTH`] (64) bytes wide, so class `c` holds the frames with a
//! capacity of `64 * c ..= 64 * c + 63` bytes; from one page up in classes
//! [`COARSE_CLASS_WIDTH`] (512) bytes wide, so that large frames are still told apart by
//! how full they are. A record of `n` bytes (data and header, at most one page) is sure to
//! fit in every frame of class `k = ceil(n / 64)` or above. A frame of class `k - 1`, with
//! a capacity from `64 * k - 64` to `64 * k - 1` bytes, may have room too, and would be a
//! tighter fit than any of them. So a store first looks for a *near fit*: the first of the
//! first [`NEAR_FIT_TRIES`] frames of class `k - 1` that has `n` free bytes after its tail
//! or a largest hole that takes the record. Failing that it takes the first frame of the
//! smallest non-empty class `c >= k`, the best fit among the frames where the record is
//! sure to fit, found with a bitmap of non-empty classes. Both take O(1) steps. Without
//! near fits, a frame filled with records of about one size would be given up as soon as
//! its free space fell below the records' class, often with room for one more left. In
//! the frame chosen the record goes into the hole that fits it best (the smallest hole
//! that fits, so an exact fit first, and of equals the one at the lowest offset), else
//! after the tail: placing a record never moves another. If no frame fits, the largest
//! reserve frame becomes a new packed frame. A huge page takes a reserve frame of exactly
//! one page. If the reserve has no frame for the store, it fails with
//! [`PoolError::NeedFrame`] and the caller follows this protocol:
//!
//! 1. drop the lock that protects the pool, allocate a frame (this may sleep), of exactly
//!    one page for a huge page and of any valid size otherwise;
//! 2. take the lock again and call [`Pool::add_frame`], which puts the frame in the
//!    reserve, or gives it back if its length is not valid, the table has no free entry or
//!    the frame would take the pool over its page limit ([`Pool::set_page_limit`]); a
//!    frame given back is freed after dropping the lock and the store counts as failed;
//! 3. retry the store, which may need another frame if other stores took this one.
//!
//! A frame that holds nothing any more goes back to the reserve while the reserve has
//! fewer than [`RESERVE_CAP`] frames and the pool stays within its page limit, to absorb
//! churn without a round trip to the allocator; otherwise the pool drops it, under the
//! caller's lock: a frame's `Drop` must not sleep (the module's frees pages, which does
//! not). [`Pool::release_reserve`] empties the reserve, for example under memory
//! pressure.
//!
//! # Memory accounting
//!
//! Memory is counted in pages, whatever the sizes of the frames: a 32 KiB frame counts 8
//! pages. The page limit covers packed, huge and reserve frames, and [`PoolStats`] has the
//! page count of each kind besides the frame counts.
//!
//! # Least recently used order
//!
//! Packed and huge frames are on one list ordered by their last store or load, which
//! writeback walks from the cold end ([`Pool::coldest`], [`Pool::next_warmer`],
//! [`Pool::lru_iter`], or in steps with [`Pool::next_in_writeback_walk`]) and empties a
//! frame with [`Pool::records`] or writes it whole from [`Pool::frame`]. Compaction does
//! not change the order. Each frame also records the minute of its last use by a clock the
//! caller sets ([`Pool::set_clock`]), and an idle mark that [`Pool::mark_idle`] sets (on all
//! frames, or on those unused for a while; in steps with [`Pool::start_mark_idle`] and
//! [`Pool::mark_idle_step`]) and a use clears ([`Pool::is_idle`]).
//!
//! The pool keeps the places where the walks done in steps stand: when the frame a walk
//! would look at next is used or retired, the walk first moves on to its neighbour. So the
//! idle walk (hot to cold) never marks a frame used after it began, and the writeback walk
//! (cold to hot) looks once, in order, at every frame that stays where it was, and at
//! frames used or added meanwhile when it reaches the hot end.
//!
//! # Compaction
//!
//! [`Pool::compact_frame`] slides a frame's live records down over its holes;
//! [`Pool::compact`] does that to every frame and then empties the sparsest frames into the
//! others where all their records fit, each record going to the best sure fit (never a
//! near fit, which the check that a frame can be emptied could not foresee). Every object
//! that moves is reported to `relocated(owner, old, new)` so the caller can point the
//! owner's slot at `new`.
//!
//! [`Pool::compact_step`] does the same a bounded number of frames at a time, with a
//! [`CompactCursor`] saying where it stands, so that a caller under a spinlock can drop
//! the lock between steps. Anything may happen between steps; the compaction walks table
//! entries (which do not move) in place, picks the sparsest frame anew at each round of
//! emptying, and clears the marks it sets on frames it cannot empty in a last pass. A
//! compaction abandoned midway leaves those marks: a marked frame sits last in its bucket,
//! so stores prefer other frames of its class, until the next compaction clears the mark
//! in its first pass.
//!
//! # Cost
//!
//! [`Pool::load`], [`Pool::store_huge`], [`Pool::add_frame`] and the huge-frame and LRU
//! operations take O(1) steps. [`Pool::store`] takes O(1) steps to choose a frame (at most
//! [`NEAR_FIT_TRIES`] frames looked at, then a bitmap), plus a walk over the holes (not
//! the records) of that frame when its largest hole is at least as large as the record,
//! plus, when it takes a reserve frame, a walk over the reserve (at most [`RESERVE_CAP`]
//! frames plus those added for stores in flight). [`Pool::free`] takes O(1) steps: it
//! reads and writes the headers, links and footers of the record and its two neighbours,
//! plus, only when the tail drops below the frame's largest hole, a walk over the holes
//! of that frame. [`Pool::compact_frame`] moves the records of one frame. None of them
//! copies bytes other than the object's own, except [`Pool::compact_frame`].
//! [`Pool::compact`], [`Pool::mark_idle`], [`Pool::release_reserve`] and [`Pool::drain`]
//! take time in proportion to the pool. [`Pool::compact_step`] and
//! [`Pool::mark_idle_step`] do the work of a number of frames the caller chooses, and
//! [`Pool::next_in_writeback_walk`] takes O(1) steps, so that a caller under a spinlock
//! can do the first two in parts and walk the LRU list a bounded number of frames at a
//! time; using or retiring a frame moves those walks on in O(1) steps. Nothing recurses.
//!
//! # Examples
//!
//! ```
//! use ghostswap_core::pool::{FrameEntry, Pool, PoolError};
//!
//! type Frame = Box<[u8]>;
//! let frame = |pages: usize| vec![0u8; pages * 4096].into_boxed_slice();
//! let table: Vec<FrameEntry<Frame>> = (0..4).map(|_| FrameEntry::default()).collect();
//! let mut pool = Pool::new(table);
//!
//! // No frame yet: the caller allocates one outside its lock and retries.
//! assert_eq!(pool.store(7, b"compressed"), Err(PoolError::NeedFrame));
//! assert!(pool.add_frame(frame(8)).is_ok()); // 32 KiB.
//! assert!(pool.add_frame(frame(3)).is_ok()); // Any multiple of a page up to 32 KiB.
//! assert!(pool.add_frame(frame(9)).is_err()); // Too long: given back.
//! let a = pool.store(7, b"compressed")?; // The largest reserve frame is taken.
//! let b = pool.store(8, b"another")?; // Shares the frame.
//! assert_eq!(b.frame, a.frame);
//! assert_eq!(pool.frame_len(a.frame), Some(32768));
//! assert_eq!(pool.load(a, 7)?, b"compressed");
//! assert_eq!(pool.pool_stats().total_pages(), 8 + 3);
//!
//! pool.free(a, 7)?;
//! // A record that fits the hole exactly goes there; nothing moves.
//! let c = pool.store(9, b"abcdefghij")?;
//! assert_eq!(c.offset, a.offset);
//! pool.free(c, 9)?;
//! // `b` slides down over the hole; the caller updates its slot.
//! let mut moves = Vec::new();
//! pool.compact_frame(b.frame, |owner, old, new| moves.push((owner, old, new)))?;
//! let b2 = moves[0].2;
//! assert_eq!(moves, [(8, b, b2)]);
//! assert_eq!(b2.offset, 0);
//! assert_eq!(pool.load(b2, 8)?, b"another");
//! // A reference is checked against the record's header.
//! assert_eq!(pool.load(b2, 7), Err(PoolError::BadRef));
//! assert_eq!(pool.load(b, 8), Err(PoolError::BadRef));
//!
//! // The emptied frame stays in the reserve, nothing is dropped.
//! pool.free(b2, 8)?;
//! assert_eq!(pool.pool_stats().total_pages(), 8 + 3);
//! assert_eq!(pool.pool_stats().reserve_frames, 2);
//! assert_eq!(pool.pool_stats().reserve_pages, 8 + 3);
//!
//! // A huge page needs a frame of exactly one page: the reserve has none.
//! assert_eq!(pool.store_huge(9, &[1; 4096]), Err(PoolError::NeedFrame));
//! assert!(pool.add_frame(frame(1)).is_ok());
//! let h = pool.store_huge(9, &[1; 4096])?;
//! assert_eq!(pool.load_huge(h)?, &[1; 4096]);
//! assert_eq!(pool.drain(), 3);
//! assert_eq!(pool.pool_stats().total_pages(), 0);
//! # Ok::<(), PoolError>(())
//! ```
//!
//! [`MAX_OBJECT`]: frame::MAX_OBJECT
//! [`MIN_RECORD`]: frame::MIN_RECORD

use core::marker::PhantomData;

use super::frame::{self, Page, FREE_OWNER, MAX_FRAME_SIZE};
use super::geometry::PAGE_SIZE;
use super::list::{Chain, Links, List};
use super::table::Table;
use classes::BySpace;
use lru::Used;
use packed::{record_size, Packed};
use reserve::{pages_len, Want};
use stats::Totals;
use walk::IdleWalk;

// This file holds the pool, its entries and the store, load and free of packed objects;
// each concern around them has a file of its own, which adds its methods to `Pool`. The
// paths of `mod` are relative to this directory in the host crate and in the kernel
// module alike (a file included with `#[path]` is read as a `mod.rs`).
mod classes; // Free-space classes and buckets: which frame a store takes.
mod compact; // Compaction, in place and across frames, in one go or in steps.
mod huge; // Huge frames: one uncompressed page each.
mod lru; // The LRU order, the clock and the idle marks.
mod packed; // A packed frame: its usage, placing and freeing records.
mod reserve; // Frames in and out: table entries, the page limit, the reserve.
mod stats; // Statistics and the running sums behind them.
mod walk; // Walks over the LRU order done in steps: idle marking, writeback.

pub use classes::{CLASSES, CLASS_WIDTH, COARSE_CLASS_WIDTH, NEAR_FIT_TRIES};
pub use compact::{CompactCursor, Compaction};
pub use lru::USED_PERIOD;
pub use packed::Usage;
pub use reserve::{frame_pages, RESERVE_CAP};
pub use stats::{CompactStats, PoolStats};
pub use walk::IdleMarking;

/// The index of a frame in the pool's frame table.
pub type FrameId = u32;

/// Where a compressed object is: its frame, the offset of its record and its length.
///
/// This is all a slot needs to find its object again. A reference stays valid until the
/// object is freed or moved by compaction, which reports the new reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ObjectRef {
    /// The frame that holds the object.
    pub frame: FrameId,
    /// Offset of the object's record (its header) in the frame.
    pub offset: u16,
    /// Length of the object's data.
    pub len: u16,
}

/// Why a pool operation was refused. A refused operation changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolError {
    /// No frame has room and the reserve is empty: add a frame with [`Pool::add_frame`]
    /// and retry.
    NeedFrame,
    /// The owner is [`FREE_OWNER`], which marks holes and cannot own an object.
    BadOwner,
    /// The object is empty or longer than [`MAX_OBJECT`](frame::MAX_OBJECT).
    BadLength,
    /// The reference or frame id does not name a live object of the right kind.
    BadRef,
}

/// What a frame held by the pool is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameState {
    /// Empty, kept for the next store.
    Reserve,
    /// Holds records.
    Packed(Usage),
    /// Holds one uncompressed page.
    Huge {
        /// The slot the page belongs to.
        owner: u32,
    },
}

/// One entry of the frame table: a frame held by the pool, or room for one.
///
/// Entries are made empty with [`Default`]; only the pool changes them. With a frame type
/// the size of a pointer (a box) an entry takes 40 bytes on 64-bit machines: the frame
/// pointer, the links of the least-recently-used list and, for packed frames, the
/// free-space bucket links, the tail, the live record bytes, the object count, the size of
/// the largest hole, the bytes small records are padded by, the offset of the first hole,
/// the last use with the idle mark, a compaction mark and the cached free-space class.
/// Hole bytes are derived (tail minus live record bytes), and so is the length in pages
/// (from the frame's length).
pub struct FrameEntry<F> {
    /// Links on the LRU list (packed and huge frames), the reserve or the list of empty
    /// entries, which are exclusive.
    lru: Links,
    state: EntryState<F>,
}

impl<F> Default for FrameEntry<F> {
    fn default() -> Self {
        FrameEntry {
            lru: Links::UNLINKED,
            state: EntryState::Vacant,
        }
    }
}

/// What an entry of the frame table holds.
#[derive(Default)]
enum EntryState<F> {
    /// No frame.
    #[default]
    Vacant,
    /// An empty frame of `pages` pages in the reserve.
    Reserve { frame: F, pages: u8 },
    /// A frame of records.
    Packed(Packed<F>),
    /// A frame of one page holding one uncompressed page.
    Huge { frame: F, owner: u32, used: Used },
}

/// The chain of the LRU list, the reserve and the empty entries.
struct ByUse;

impl<F> Chain<FrameEntry<F>> for ByUse {
    fn links(entry: &FrameEntry<F>) -> Option<&Links> {
        Some(&entry.lru)
    }

    fn links_mut(entry: &mut FrameEntry<F>) -> Option<&mut Links> {
        Some(&mut entry.lru)
    }
}

/// Returns the entry at `id`.
#[inline]
fn entry<'a, F: 'a, S: Table<FrameEntry<F>> + ?Sized>(
    entries: &'a S,
    id: FrameId,
) -> Option<&'a FrameEntry<F>> {
    usize::try_from(id).ok().and_then(|i| entries.get(i))
}

/// Returns the entry at `id`, mutably.
#[inline]
fn entry_mut<'a, F: 'a, S: Table<FrameEntry<F>> + ?Sized>(
    entries: &'a mut S,
    id: FrameId,
) -> Option<&'a mut FrameEntry<F>> {
    usize::try_from(id).ok().and_then(|i| entries.get_mut(i))
}

/// Returns the packed frame at `id`.
#[inline]
fn packed<'a, F: 'a, S: Table<FrameEntry<F>> + ?Sized>(
    entries: &'a S,
    id: FrameId,
) -> Option<&'a Packed<F>> {
    match &entry(entries, id)?.state {
        EntryState::Packed(packed) => Some(packed),
        _ => None,
    }
}

/// Returns the packed frame at `id`, mutably.
#[inline]
fn packed_mut<'a, F: 'a, S: Table<FrameEntry<F>> + ?Sized>(
    entries: &'a mut S,
    id: FrameId,
) -> Option<&'a mut Packed<F>> {
    match &mut entry_mut(entries, id)?.state {
        EntryState::Packed(packed) => Some(packed),
        _ => None,
    }
}

/// Returns the packed frames at `a` and `b`, which must differ, mutably.
fn packed_pair_mut<'a, F: 'a, S: Table<FrameEntry<F>> + ?Sized>(
    entries: &'a mut S,
    a: FrameId,
    b: FrameId,
) -> Option<(&'a mut Packed<F>, &'a mut Packed<F>)> {
    let a = usize::try_from(a).ok()?;
    let b = usize::try_from(b).ok()?;
    let (at_a, at_b) = entries.pair_mut(a, b)?;
    match (&mut at_a.state, &mut at_b.state) {
        (EntryState::Packed(pa), EntryState::Packed(pb)) => Some((pa, pb)),
        _ => None,
    }
}

/// The compressed-object pool of one device.
///
/// `F` is a frame, any owner of a byte buffer whose `as_ref` and `as_mut` return the same
/// slice every time, of a length [`frame_pages`] accepts: the module passes a wrapper of
/// pages from the page allocator, tests a `Box<[u8]>` or a `Vec<u8>`. `S` is the frame
/// table: any owner of a `[FrameEntry<F>]` whose `as_ref` and `as_mut` return the same
/// slice every time, made of entries as [`FrameEntry::default`] makes them. The pool holds
/// at most one frame per entry, reserve frames included, and at most `u32::MAX - 1`
/// entries are used. One object per frame is the worst case, so a device of `n` pages
/// needs `n` entries, plus [`RESERVE_CAP`], plus two for each store that can be in flight
/// (its new object exists before the old one is freed, and it may have added a frame
/// another store took); without them a store can fail for want of an entry rather than of
/// memory.
///
/// Dropping the pool drops the table and with it every frame it holds: call
/// [`Pool::drain`] first if frames must be freed explicitly.
///
/// See the [module documentation](self) for how objects are placed, the protocol around
/// [`PoolError::NeedFrame`], and an example.
///
/// # Invariants
///
/// - Every entry below `fresh` is on exactly one of: the vacant list (state `Vacant`), the
///   reserve (state `Reserve`) or the LRU list (state `Packed` or `Huge`). Entries from
///   `fresh` to `capacity` are `Vacant` and on no list.
/// - The frame of a `Reserve` or `Packed` entry is `pages` pages long, 1 to 8; the frame of
///   a `Huge` entry is one page long.
/// - Every packed frame is on the bucket of its free-space class (the class of its
///   [`Usage::capacity`]), which its `class` field caches, and `nonempty` has the bit of
///   exactly the classes whose bucket is not empty. Within a bucket, frames with `marked`
///   set come after those without. Only compaction marks frames: one run to its end leaves
///   none marked, one abandoned leaves its marks until the next compaction clears them
///   (see `pool/compact.rs`).
/// - The records of a packed frame tile `[0, tail)` (each [`frame::record_size`] long),
///   the record that ends at `tail` is live, no two holes are adjacent, `record_bytes`,
///   `objects` and `padding` count its live records, `largest_hole` is the size of its
///   largest hole (0 if it has none), and it has at least one live record.
/// - The `holes` list of a packed frame holds exactly its holes, linked both ways; every
///   hole ends in a footer holding its size; exactly the records just after a hole (all
///   live) have their [`prev_free`](frame::Record::prev_free) flag set.
/// - Below the tail of a packed frame, the header of every record freed or moved away from
///   is marked [`FREE_OWNER`] or overwritten: only the headers of live records, and bytes
///   (object data, hole links and footers) that happen to look like one, read as the
///   header of a live record. This is what [`Pool::load`] and [`Pool::free`] rely on.
/// - `packed_frames`, `packed_pages`, `huge_frames`, `reserve_pages` and `totals` count and
///   sum over the frames in those states.
/// - The frames the walks done in steps look at next (`idle_walk.next`, `writeback_walk`)
///   are on the LRU list, if any: a frame used or retired is first walked past (see
///   `pool/walk.rs`).
pub struct Pool<F, S> {
    table: S,
    capacity: u32,
    fresh: u32,
    vacant: List<ByUse>,
    reserve: List<ByUse>,
    /// Packed and huge frames, the coldest first.
    lru: List<ByUse>,
    /// Where idle marking done in steps stands.
    idle_walk: IdleWalk,
    /// The frame the writeback walk looks at next.
    writeback_walk: Option<FrameId>,
    buckets: [List<BySpace>; CLASSES],
    nonempty: u128,
    /// Limit on the pages of all frames held, if any.
    limit: Option<u64>,
    /// The time in seconds, as [`Pool::set_clock`] last set it.
    clock: u64,
    /// `clock` at the last use of any frame.
    last_use: u64,
    packed_frames: u32,
    packed_pages: u64,
    huge_frames: u32,
    reserve_pages: u64,
    totals: Totals,
    frames: PhantomData<F>,
}

impl<F, S> Pool<F, S>
where
    F: AsRef<[u8]> + AsMut<[u8]>,
    S: Table<FrameEntry<F>>,
{
    /// Creates an empty pool over the frame table `table`, without a page limit.
    ///
    /// Every entry of `table` must be empty, as [`FrameEntry::default`] makes it; the
    /// table is not scanned, and what a non-empty entry holds is dropped when the pool
    /// first uses the entry.
    pub fn new(table: S) -> Self {
        let len = table.capacity();
        // Entry `u32::MAX` would be the lists' end marker.
        let capacity = u32::try_from(len).unwrap_or(u32::MAX).min(u32::MAX - 1);
        Pool {
            table,
            capacity,
            fresh: 0,
            vacant: List::new(),
            reserve: List::new(),
            lru: List::new(),
            idle_walk: IdleWalk::default(),
            writeback_walk: None,
            buckets: [const { List::new() }; CLASSES],
            nonempty: 0,
            limit: None,
            clock: 0,
            last_use: 0,
            packed_frames: 0,
            packed_pages: 0,
            huge_frames: 0,
            reserve_pages: 0,
            totals: Totals::default(),
            frames: PhantomData,
        }
    }

    /// Returns the number of entries of the frame table the pool uses.
    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// Stores `data` for the slot `owner` in a packed frame and returns where it is.
    ///
    /// The frame chosen is the best fit (see the [module documentation](self)), else the
    /// largest reserve frame; in it, the object takes the hole that fits it best, else the
    /// space after the tail. No other object moves. The frame becomes the most recently
    /// used.
    ///
    /// # Errors
    ///
    /// - [`PoolError::BadOwner`] if `owner` is [`FREE_OWNER`].
    /// - [`PoolError::BadLength`] if `data` is empty or longer than
    ///   [`MAX_OBJECT`](frame::MAX_OBJECT).
    /// - [`PoolError::NeedFrame`] if no frame has room and the reserve is empty.
    pub fn store(&mut self, owner: u32, data: &[u8]) -> Result<ObjectRef, PoolError> {
        if owner == FREE_OWNER {
            return Err(PoolError::BadOwner);
        }
        let size = record_size(data.len())?;
        let id = match self.find_fit(size) {
            Some(id) => id,
            None => self.open_packed()?,
        };
        let object = self.place(id, owner, data, size)?;
        self.touch(id);
        Ok(object)
    }

    /// Turns the largest reserve frame into an empty packed frame and returns its id.
    fn open_packed(&mut self) -> Result<FrameId, PoolError> {
        let id = self
            .find_reserve(Want::Largest)
            .ok_or(PoolError::NeedFrame)?;
        let (frame, pages) = self.take_reserve(id).ok_or(PoolError::NeedFrame)?;
        let used = self.used_now();
        let entries = &mut self.table;
        let Some(slot) = entry_mut(entries, id) else {
            // Unreachable: `id` was just taken out of the table.
            return Err(PoolError::NeedFrame);
        };
        slot.state = EntryState::Packed(Packed::new(frame, used));
        // INVARIANT: the new packed frame goes on the LRU list, its bucket and the counts.
        // It has no record for the moment it takes the caller to append one.
        self.lru.push_back(entries, id);
        self.packed_frames = self.packed_frames.saturating_add(1);
        self.packed_pages = self.packed_pages.saturating_add(u64::from(pages));
        self.bucket_insert(id);
        Ok(id)
    }

    /// Places a record for `owner` holding `data`, of `size` bytes with its header, in the
    /// packed frame `id`, which must have room, and returns where it is.
    fn place(
        &mut self,
        id: FrameId,
        owner: u32,
        data: &[u8],
        size: u16,
    ) -> Result<ObjectRef, PoolError> {
        let packed = packed_mut(&mut self.table, id).ok_or(PoolError::NeedFrame)?;
        // Never `None`: the frame was chosen because it has room.
        let (record, usage) = packed
            .place(owner, data, size)
            .ok_or(PoolError::NeedFrame)?;
        let moved = packed.apply_usage(usage, &mut self.totals);
        self.rebucket(id, moved);
        Ok(ObjectRef {
            frame: id,
            offset: record.offset,
            len: record.len,
        })
    }

    /// Returns the data of the object `object` of the slot `owner` and makes its frame the
    /// most recently used.
    ///
    /// This reads only the header at `object.offset`, in O(1) steps, and accepts it if it is
    /// the header of a live record of `owner` and `object.len` bytes that ends at or below
    /// the frame's tail. That refuses a reference to anything but a packed frame, past the
    /// tail, to a hole (a freed object, also inside a larger hole), to an object moved away
    /// by compaction, to another owner's object, or with another length. It does not prove
    /// that `object.offset` starts a record: an offset inside another object's data (or a
    /// hole's links or footer) whose six bytes happen to read as such a header would be
    /// accepted, which only a forged reference can hit. [`Pool::free`] checks references
    /// the same way.
    ///
    /// # Errors
    ///
    /// [`PoolError::BadRef`], changing nothing, unless the header at `object.offset` in the
    /// packed frame `object.frame` is that of a live record of `owner` and `object.len`
    /// bytes ending at or below the tail.
    pub fn load(&mut self, object: ObjectRef, owner: u32) -> Result<&[u8], PoolError> {
        let record = packed(&self.table, object.frame)
            .ok_or(PoolError::BadRef)?
            .live_record(object, owner)?;
        self.touch(object.frame);
        packed(&self.table, object.frame)
            .and_then(|held| held.frame.as_ref().get(record.data_range()))
            .ok_or(PoolError::BadRef)
    }

    /// Frees the object `object` of the slot `owner`.
    ///
    /// Its record becomes a hole, merged with the holes just before and after it; if it was
    /// the frame's last record, the tail drops to the end of the last live record before it
    /// instead. This takes O(1) steps: the hole before the record is found through the
    /// record's flag and the hole's footer, the record after it at its end (see
    /// [`super::frame`]); only when the tail drops below the frame's largest hole are the
    /// other holes walked to find the largest left. Only headers, hole links and footers
    /// are read and written. A frame left without objects goes to the reserve, or is
    /// dropped if the reserve is full or the pool is over its page limit. The frame's
    /// [`Usage`] afterwards ([`Pool::frame_state`]) tells whether it is worth compacting.
    ///
    /// The reference is checked as [`Pool::load`] checks it, in O(1) steps and with the
    /// same limit: a forged reference whose header bytes happen to read right passes, and
    /// freeing it may corrupt its frame (no walk proves that a record starts there).
    ///
    /// # Errors
    ///
    /// [`PoolError::BadRef`], changing nothing, unless the header at `object.offset` in the
    /// packed frame `object.frame` is that of a live record of `owner` and `object.len`
    /// bytes ending at or below the tail, and its neighbours are what the record says.
    pub fn free(&mut self, object: ObjectRef, owner: u32) -> Result<(), PoolError> {
        self.free_packed(object, owner).map(|_| ())
    }

    /// Frees the object `object` of the slot `owner` as [`Pool::free`] does, and returns
    /// the usage of its frame afterwards, or `None` if the frame was left without objects
    /// and is no longer packed: what [`Pool::frame_state`] would say, without looking the
    /// frame up again.
    pub(super) fn free_packed(
        &mut self,
        object: ObjectRef,
        owner: u32,
    ) -> Result<Option<Usage>, PoolError> {
        let packed = packed_mut(&mut self.table, object.frame).ok_or(PoolError::BadRef)?;
        let record = packed.live_record(object, owner)?;
        let usage = packed.free_record(record).ok_or(PoolError::BadRef)?;
        let moved = packed.apply_usage(usage, &mut self.totals);
        self.rebucket(object.frame, moved);
        if usage.objects == 0 {
            self.retire(object.frame);
            return Ok(None);
        }
        Ok(Some(usage))
    }

    /// Returns what the frame `id` is used for, or `None` if the pool holds no frame there.
    pub fn frame_state(&self, id: FrameId) -> Option<FrameState> {
        match &entry(&self.table, id)?.state {
            EntryState::Vacant => None,
            EntryState::Reserve { .. } => Some(FrameState::Reserve),
            EntryState::Packed(packed) => Some(FrameState::Packed(packed.usage())),
            EntryState::Huge { owner, .. } => Some(FrameState::Huge { owner: *owner }),
        }
    }

    /// Returns the length in bytes of the frame `id` (reserve, packed or huge), or `None`
    /// if the pool holds no frame there.
    ///
    /// It is a multiple of [`PAGE_SIZE`] from one page to [`MAX_FRAME_SIZE`], and one page
    /// for a huge frame.
    pub fn frame_len(&self, id: FrameId) -> Option<usize> {
        let pages = match &entry(&self.table, id)?.state {
            EntryState::Vacant => return None,
            EntryState::Reserve { pages, .. } => *pages,
            EntryState::Packed(packed) => packed.pages(),
            EntryState::Huge { .. } => 1,
        };
        Some(usize::from(pages_len(pages)))
    }

    /// Returns the bytes of the packed or huge frame `id`, all of its length, for writing
    /// it out whole.
    ///
    /// This does not count as a use of the frame.
    pub fn frame(&self, id: FrameId) -> Option<&[u8]> {
        match &entry(&self.table, id)?.state {
            EntryState::Packed(packed) => Some(packed.frame.as_ref()),
            EntryState::Huge { frame, .. } => Some(frame.as_ref()),
            EntryState::Vacant | EntryState::Reserve { .. } => None,
        }
    }
}
