//! The compressed-object pool: objects of any size packed into frames of 4 to 32 KiB.
//!
//! The pool stores compressed pages ("objects") of 1 to [`MAX_OBJECT`] bytes in
//! *frames*, runs of 1 to 8 pages that the caller allocates and frees. It never allocates:
//! frames are handed in with [`Pool::add_frame`] and handed back through `released`
//! callbacks. The frame table, one [`FrameEntry`] per frame the pool can hold, is
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
//! churn without a round trip to the allocator; otherwise it is handed to `released`.
//! `released` runs under the caller's lock, so it should only collect the frame, to be
//! freed after the lock is dropped. [`Pool::release_reserve`] empties the reserve, for
//! example under memory pressure.
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
//! let mut released = Vec::new();
//! pool.free(a, 7, |frame| released.push(frame))?;
//! // A record that fits the hole exactly goes there; nothing moves.
//! let c = pool.store(9, b"abcdefghij")?;
//! assert_eq!(c.offset, a.offset);
//! pool.free(c, 9, |frame| released.push(frame))?;
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
//! // The emptied frame stays in the reserve, nothing is released.
//! pool.free(b2, 8, |frame| released.push(frame))?;
//! assert!(released.is_empty());
//! assert_eq!(pool.pool_stats().reserve_frames, 2);
//! assert_eq!(pool.pool_stats().reserve_pages, 8 + 3);
//!
//! // A huge page needs a frame of exactly one page: the reserve has none.
//! assert_eq!(pool.store_huge(9, &[1; 4096]), Err(PoolError::NeedFrame));
//! assert!(pool.add_frame(frame(1)).is_ok());
//! let h = pool.store_huge(9, &[1; 4096])?;
//! assert_eq!(pool.load_huge(h)?, &[1; 4096]);
//! assert_eq!(pool.drain(|frame| released.push(frame)), 3);
//! assert_eq!(released.len(), 3);
//! # Ok::<(), PoolError>(())
//! ```

use core::marker::PhantomData;
use core::mem;

use super::frame::{
    self, HoleList, Page, Record, FREE_OWNER, HEADER_LEN, MAX_FRAME_SIZE, MAX_OBJECT, MIN_RECORD,
};
use super::geometry::PAGE_SIZE;
use super::list::{Chain, Links, List};
use super::table::Table;
use walk::IdleWalk;

// The paths are relative to this file, in the host crate and in the kernel module alike.
#[path = "pool_compact.rs"]
mod compact;
#[path = "pool_walk.rs"]
mod walk;

pub use compact::{CompactCursor, Compaction};
pub use walk::IdleMarking;

/// The index of a frame in the pool's frame table.
pub type FrameId = u32;

/// Width in bytes of a free-space class below one page of free space.
pub const CLASS_WIDTH: u16 = 64;

/// Width in bytes of a free-space class from one page of free space up.
pub const COARSE_CLASS_WIDTH: u16 = 512;

/// Number of free-space classes narrower than a page: [`CLASS_WIDTH`]-wide classes cover
/// free space from 0 to one page.
// CAST: `u16` to `usize` widens.
const FINE_CLASSES: usize = PAGE_SIZE / CLASS_WIDTH as usize;

/// Number of free-space classes: [`CLASS_WIDTH`]-wide classes below one page of free
/// space, [`COARSE_CLASS_WIDTH`]-wide ones up to [`MAX_FRAME_SIZE`], and one for a whole
/// empty frame of that size.
// CAST: `u16` to `usize` widens.
pub const CLASSES: usize =
    FINE_CLASSES + (MAX_FRAME_SIZE - PAGE_SIZE) / COARSE_CLASS_WIDTH as usize + 1;

// The bitmap of non-empty classes is a `u128`, and a class fits a `u8`.
const _: () = assert!(CLASSES <= 128);

/// Number of frames at the front of the class just below a record's class that a store
/// checks for a near fit (see [Allocation](self#allocation)), keeping the choice O(1).
pub const NEAR_FIT_TRIES: usize = 4;

/// Number of emptied frames the pool keeps for reuse instead of releasing them.
pub const RESERVE_CAP: u32 = 2;

/// [`PAGE_SIZE`] as a frame offset.
// CAST: 4096 fits in a `u16`.
const PAGE_END: u16 = PAGE_SIZE as u16;

/// [`HEADER_LEN`] as a byte count of a frame.
// CAST: 6 fits in a `u16`.
const HEADER: u16 = HEADER_LEN as u16;

/// [`MIN_RECORD`] as a byte count of a frame.
// CAST: 12 fits in a `u16`.
const MIN_SIZE: u16 = MIN_RECORD as u16;

/// Returns the number of pages of a frame of `len` bytes, or `None` if the pool does not
/// take frames of that length (it is not a multiple of [`PAGE_SIZE`] from one page to
/// [`MAX_FRAME_SIZE`]).
pub fn frame_pages(len: usize) -> Option<u8> {
    if len == 0 || len > MAX_FRAME_SIZE || len % PAGE_SIZE != 0 {
        return None;
    }
    u8::try_from(len / PAGE_SIZE).ok()
}

/// Returns the length in bytes of a frame of `pages` pages, saturating at `u16::MAX` (a
/// frame held by the pool has at most 8 pages, 32768 bytes).
#[inline]
fn pages_len(pages: u8) -> u16 {
    PAGE_END.saturating_mul(u16::from(pages))
}

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
    /// The object is empty or longer than [`MAX_OBJECT`].
    BadLength,
    /// The reference or frame id does not name a live object of the right kind.
    BadRef,
}

/// How much of a packed frame is in use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// End of the last record: where the next record goes.
    pub tail: u16,
    /// Bytes of the live records, headers and padding included.
    pub record_bytes: u16,
    /// Number of live records.
    pub objects: u16,
    /// Length of the frame in bytes: a multiple of [`PAGE_SIZE`] up to [`MAX_FRAME_SIZE`].
    pub len: u16,
    /// Size of the largest hole below the tail, header included, or 0 if there is none.
    pub largest_hole: u16,
    /// Bytes of padding of the live records: objects of fewer than 6 bytes take records of
    /// [`MIN_RECORD`] bytes.
    pub padding: u16,
}

impl Usage {
    /// Returns the bytes of holes below the tail.
    #[inline]
    pub fn hole_bytes(&self) -> u16 {
        self.tail.saturating_sub(self.record_bytes)
    }

    /// Returns the free bytes after the tail.
    #[inline]
    pub fn free_bytes(&self) -> u16 {
        self.len.saturating_sub(self.tail)
    }

    /// Returns the bytes of object data, headers and padding excluded.
    pub fn live_bytes(&self) -> u16 {
        self.record_bytes
            .saturating_sub(self.objects.saturating_mul(HEADER))
            .saturating_sub(self.padding)
    }

    /// Returns the size of the largest record the frame surely has room for, header
    /// included: the free bytes after the tail or, if more, the largest hole minus the
    /// smallest hole ([`MIN_RECORD`]) that a record placed in it may leave.
    ///
    /// A record of exactly the size of a hole fits too, but does not count here.
    #[inline]
    pub fn capacity(&self) -> u16 {
        self.free_bytes()
            .max(self.largest_hole.saturating_sub(MIN_SIZE))
    }

    /// Returns `true` if a record of `size` bytes, header included, fits in the free bytes
    /// after the tail or in the largest hole ([`frame::hole_fits`]).
    ///
    /// Unlike [`Usage::capacity`] this is exact for the space after the tail and counts a
    /// largest hole of exactly `size` bytes. It misses only a smaller hole of exactly
    /// `size` bytes, which would take a walk over the records to find.
    #[inline]
    fn has_room(&self, size: u16) -> bool {
        self.free_bytes() >= size || frame::hole_fits(self.largest_hole, size)
    }

    /// Returns the free-space class of the frame.
    fn class(&self) -> usize {
        usize::from(self.class_index())
    }

    /// Returns the free-space class of the frame, as [`Packed`] caches it.
    #[inline]
    fn class_index(&self) -> u8 {
        // CAST: `class_of_free` is below `CLASSES`, which fits a `u8`.
        class_of_free(self.capacity()) as u8
    }
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

/// Sizes of the pool, from [`Pool::pool_stats`].
///
/// Frames are counted as table entries and, for memory, in pages of [`PAGE_SIZE`] bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Packed frames.
    pub packed_frames: u32,
    /// Pages of the packed frames.
    pub packed_pages: u64,
    /// Huge frames, each one page.
    pub huge_frames: u32,
    /// Empty frames in the reserve.
    pub reserve_frames: u32,
    /// Pages of the reserve frames.
    pub reserve_pages: u64,
    /// Bytes of object data in packed frames, exactly: headers and padding excluded.
    pub live_bytes: u64,
    /// Bytes of live records in packed frames, headers and padding included.
    pub record_bytes: u64,
    /// Bytes of holes in packed frames.
    pub hole_bytes: u64,
    /// Objects in packed frames.
    pub objects: u64,
}

impl PoolStats {
    /// Returns the number of frames the pool holds (packed, huge and reserve): the entries
    /// of the frame table in use. For memory see [`PoolStats::total_pages`].
    pub fn total_frames(&self) -> u64 {
        u64::from(self.packed_frames)
            .saturating_add(u64::from(self.huge_frames))
            .saturating_add(u64::from(self.reserve_frames))
    }

    /// Returns the number of pages the pool holds: packed, huge and reserve. This is the
    /// memory the pool uses, what its page limit bounds.
    pub fn total_pages(&self) -> u64 {
        self.packed_pages
            .saturating_add(u64::from(self.huge_frames))
            .saturating_add(self.reserve_pages)
    }

    /// Returns how much of the packed frames is not object data, in thousandths.
    ///
    /// This is `1000 * (1 - live_bytes / (packed_pages * 4096))`, rounded down: headers,
    /// holes and free space after the tails all count as waste. It is 0 without packed
    /// frames. Huge and reserve frames are not included.
    pub fn fragmentation_permille(&self) -> u32 {
        // CAST: `PAGE_SIZE` is 4096, which fits a `u64`.
        let capacity = self.packed_pages.saturating_mul(PAGE_SIZE as u64);
        let waste = capacity.saturating_sub(self.live_bytes);
        waste
            .checked_mul(1000)
            .and_then(|w| w.checked_div(capacity))
            .and_then(|permille| u32::try_from(permille).ok())
            .unwrap_or(0)
    }
}

/// What [`Pool::compact`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompactStats {
    /// Frames whose holes were squeezed out in place.
    pub frames_compacted: u32,
    /// Bytes of holes reclaimed in place.
    pub hole_bytes_reclaimed: u64,
    /// Moves reported to `relocated`, in place or to another frame.
    pub objects_moved: u64,
    /// Bytes of the records moved, headers included: what compaction copied.
    pub bytes_moved: u64,
    /// Frames emptied by moving their records to other frames; each went to the reserve
    /// or to `released` like any emptied frame.
    pub frames_emptied: u32,
    /// Pages of the frames emptied.
    pub pages_emptied: u64,
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
    state: State<F>,
}

impl<F> Default for FrameEntry<F> {
    fn default() -> Self {
        FrameEntry {
            lru: Links::UNLINKED,
            state: State::Vacant,
        }
    }
}

/// What an entry of the frame table holds.
#[derive(Default)]
enum State<F> {
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

/// When a packed or huge frame was last used, and whether it is marked idle, in 16 bits:
/// the minute of the pool's clock ([`Pool::set_clock`]) modulo [`USED_PERIOD`], and the
/// idle mark in the top bit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Used(u16);

/// The period of the minutes a frame records its last use in: 2^15 minutes, 22 days.
pub const USED_PERIOD: u64 = 1 << 15;

impl Used {
    /// The idle mark.
    const IDLE: u16 = 1 << 15;

    /// A use at `minute` of the clock, not idle.
    #[inline]
    fn at(minute: u64) -> Self {
        // CAST: the remainder is below 2^15, which fits a `u16`.
        Used((minute % USED_PERIOD) as u16)
    }

    /// The minute of the use, modulo [`USED_PERIOD`].
    fn minute(self) -> u16 {
        self.0 & !Self::IDLE
    }

    fn is_idle(self) -> bool {
        self.0 & Self::IDLE != 0
    }

    fn idle(self) -> Self {
        Used(self.0 | Self::IDLE)
    }
}

/// Returns the last use of the packed or huge frame of `entry`.
#[inline]
fn used_mut<F>(entry: &mut FrameEntry<F>) -> Option<&mut Used> {
    match &mut entry.state {
        State::Packed(packed) => Some(&mut packed.used),
        State::Huge { used, .. } => Some(used),
        State::Vacant | State::Reserve { .. } => None,
    }
}

/// A frame of records and its bookkeeping.
///
/// The fields of its [`Usage`] are kept apart, with the length in pages, so that an entry
/// stays small (see [`FrameEntry`]).
struct Packed<F> {
    frame: F,
    /// [`Usage::tail`].
    tail: u16,
    /// [`Usage::record_bytes`].
    record_bytes: u16,
    /// [`Usage::objects`].
    objects: u16,
    /// [`Usage::largest_hole`].
    largest_hole: u16,
    /// [`Usage::padding`].
    padding: u16,
    /// The holes below the tail.
    holes: HoleList,
    /// The last use and the idle mark. (The length in pages is the frame's: see
    /// [`Packed::pages`].)
    used: Used,
    /// Set by compaction ([`Pool::compact_step`]) on frames it gave up emptying, until it
    /// finishes (or the next one begins, if it was abandoned); clear otherwise.
    marked: bool,
    /// The free-space class of the frame, `usage().class()`, cached so that a change of
    /// usage computes only the new class and finds the bucket the frame is on.
    class: u8,
    /// Links in the free-space bucket of `class`.
    bucket: Links,
}

impl<F: AsRef<[u8]>> Packed<F> {
    /// Returns an empty packed frame of `frame`, used at `used`, on no bucket yet.
    fn new(frame: F, used: Used) -> Self {
        let mut packed = Packed {
            frame,
            tail: 0,
            record_bytes: 0,
            objects: 0,
            largest_hole: 0,
            padding: 0,
            holes: HoleList::EMPTY,
            used,
            marked: false,
            class: 0,
            bucket: Links::UNLINKED,
        };
        // INVARIANT: the cached class is the usage's.
        packed.class = packed.usage().class_index();
        packed
    }

    /// Returns the length of the frame in pages, 1 to 8.
    ///
    /// It is the frame's, checked by [`Pool::add_frame`]: `as_ref` returns the same slice
    /// every time, and its length is in the frame's handle (a fat pointer's length, an
    /// allocation order), so this costs no access to the frame's memory.
    #[inline]
    fn pages(&self) -> u8 {
        frame_pages(self.frame.as_ref().len()).unwrap_or(1)
    }

    /// Returns the usage of the frame.
    #[inline]
    fn usage(&self) -> Usage {
        Usage {
            tail: self.tail,
            record_bytes: self.record_bytes,
            objects: self.objects,
            len: pages_len(self.pages()),
            largest_hole: self.largest_hole,
            padding: self.padding,
        }
    }

    /// Sets the usage of the frame; its length cannot change.
    ///
    /// The cached class is not updated: see [`Packed::apply_usage`].
    #[inline]
    fn set_usage(&mut self, usage: Usage) {
        self.tail = usage.tail;
        self.record_bytes = usage.record_bytes;
        self.objects = usage.objects;
        self.largest_hole = usage.largest_hole;
        self.padding = usage.padding;
    }

    /// Sets the usage of the frame to `new` (its length cannot change), moves its usage in
    /// `totals` from the old one to the new one, and returns the move between buckets that
    /// the pool must make if its class changed.
    #[inline]
    fn apply_usage(&mut self, new: Usage, totals: &mut Totals) -> Option<Rebucket> {
        let old = self.usage();
        self.set_usage(new);
        let new = Usage {
            len: old.len,
            ..new
        };
        // INVARIANT: the totals follow the frame's usage.
        totals.replace(old, new);
        let class = new.class_index();
        if class == self.class {
            return None;
        }
        let from = self.class;
        // INVARIANT: the class is the usage's; the caller moves the frame to its bucket.
        self.class = class;
        Some(Rebucket {
            from,
            to: class,
            marked: self.marked,
        })
    }
}

/// A packed frame's move from the bucket of one class to that of another, returned by
/// [`Packed::apply_usage`] for [`Pool::rebucket`].
#[derive(Clone, Copy)]
struct Rebucket {
    /// The class whose bucket the frame is on.
    from: u8,
    /// The class whose bucket it goes to.
    to: u8,
    /// Whether the frame is marked by compaction: it then goes last in its bucket.
    marked: bool,
}

impl<F: AsRef<[u8]> + AsMut<[u8]>> Packed<F> {
    /// Returns the live record of `owner` that `object` names, checked against the header
    /// at `object.offset` in O(1) steps (see [`Pool::load`]).
    fn live_record(&self, object: ObjectRef, owner: u32) -> Result<Record, PoolError> {
        let record = frame::read_record(self.frame.as_ref(), object.offset, self.tail)
            .ok_or(PoolError::BadRef)?;
        if record.is_free() || record.owner != owner || record.len != object.len {
            return Err(PoolError::BadRef);
        }
        Ok(record)
    }

    /// Writes a record for `owner` holding `data`, of `size` bytes with its header, into
    /// the hole that fits it best, else after the tail, and returns the record with the
    /// frame's usage afterwards.
    ///
    /// No other record moves. Only the frame's bytes and hole list change: the caller
    /// stores the usage with [`Pool::set_usage`]. Returns `None` if the frame has no room
    /// for the record, writing nothing.
    fn place(&mut self, owner: u32, data: &[u8], size: u16) -> Option<(Record, Usage)> {
        let old = self.usage();
        let padding = size
            .saturating_sub(HEADER)
            .saturating_sub(u16::try_from(data.len()).ok()?);
        let filled = Usage {
            record_bytes: old.record_bytes.saturating_add(size),
            objects: old.objects.saturating_add(1),
            padding: old.padding.saturating_add(padding),
            ..old
        };
        // No hole smaller than the record can take it.
        if old.largest_hole >= size {
            if let Some((record, largest_hole)) = self.place_in_hole(owner, data, size) {
                let usage = Usage {
                    largest_hole,
                    ..filled
                };
                return Some((record, usage));
            }
        }
        let record = frame::write_record(self.frame.as_mut(), old.tail, owner, data)?;
        // INVARIANT: the new record ends at the tail, is live, and has a live record (or
        // the frame's start) before it.
        let usage = Usage {
            tail: record.end(),
            ..filled
        };
        Some((record, usage))
    }

    /// Writes a record for `owner` holding `data`, of `size` bytes, into the hole that fits
    /// it best and returns it with the frame's largest hole afterwards, or `None` if no
    /// hole fits.
    fn place_in_hole(&mut self, owner: u32, data: &[u8], size: u16) -> Option<(Record, u16)> {
        let scan = self.holes.best_fit(self.frame.as_ref(), self.tail, size);
        let hole = scan.best?;
        let bytes = self.frame.as_mut();
        // Off the list before the record overwrites the hole's links. The writes below
        // cannot fail: they lie within the hole, within the frame.
        self.holes.remove(bytes, hole.offset);
        let record = frame::write_record(bytes, hole.offset, owner, data)?;
        // `hole_fits`: nothing is left, or room for a hole at least.
        let rest = hole.size().saturating_sub(size);
        if rest > 0 {
            // INVARIANT: the rest is a hole on the list, between the new record and the
            // live record that already says it follows a hole.
            frame::write_hole(bytes, record.end(), rest)?;
            self.holes.push(bytes, record.end());
        } else {
            // INVARIANT: the live record after the hole (holes end below the tail) now
            // follows the new record.
            frame::set_prev_free(bytes, hole.end(), false);
        }
        // INVARIANT: the largest hole is the rest or another one.
        Some((record, scan.largest_other.max(rest)))
    }

    /// Turns the live `record` into a hole merged with the holes just before and after it,
    /// or drops the tail below it if it is the last record, and returns the frame's usage
    /// afterwards.
    ///
    /// This takes O(1) steps, except that dropping the tail below the largest hole walks
    /// the hole list. Returns `None`, changing nothing, if the record's neighbours are not
    /// what the frame's invariants say (a forged reference).
    fn free_record(&mut self, record: Record) -> Option<Usage> {
        let old = self.usage();
        let bytes = self.frame.as_mut();
        // Both neighbours are read before anything is written.
        let before = if record.prev_free {
            Some(frame::hole_before(bytes, record.offset)?)
        } else {
            None
        };
        let after = if record.end() < old.tail {
            Some(frame::read_record(bytes, record.end(), old.tail)?)
        } else {
            None
        };
        // The header stays marked free even where a merged hole swallows it, so that a
        // stale reference to it is refused.
        frame::set_owner(bytes, record.offset, FREE_OWNER);
        let usage = Usage {
            record_bytes: old.record_bytes.saturating_sub(record.size()),
            objects: old.objects.saturating_sub(1),
            padding: old.padding.saturating_sub(record.padding()),
            ..old
        };
        Some(match after {
            Some(next) => self.merge_hole(record, before, next, usage),
            None => self.drop_tail(record, before, usage),
        })
    }

    /// Makes a hole of the freed `record` and the holes around it (`before`, and `next` if
    /// it is one), and returns `usage` with the frame's largest hole afterwards.
    fn merge_hole(
        &mut self,
        record: Record,
        before: Option<Record>,
        next: Record,
        usage: Usage,
    ) -> Usage {
        let bytes = self.frame.as_mut();
        let end = if next.is_free() {
            // Its footer becomes the merged hole's, and the live record after it already
            // says it follows a hole.
            self.holes.remove(bytes, next.offset);
            next.end()
        } else {
            frame::set_prev_free(bytes, next.offset, true);
            record.end()
        };
        let start = before.map_or(record.offset, |hole| hole.offset);
        let size = end.saturating_sub(start);
        // Never `None`: the hole lies within the tail, within the frame.
        frame::write_hole(bytes, start, size);
        if before.is_none() {
            self.holes.push(bytes, start);
        }
        // INVARIANT: the merged hole is on the list, has a live record (or the frame's
        // start) before it and a live record flagged after it; the holes it swallowed were
        // no larger than the largest.
        Usage {
            largest_hole: usage.largest_hole.max(size),
            ..usage
        }
    }

    /// Drops the tail below the freed last `record` and the hole `before` it, if any, and
    /// returns `usage` with the new tail and largest hole.
    fn drop_tail(&mut self, record: Record, before: Option<Record>, usage: Usage) -> Usage {
        let Some(hole) = before else {
            // INVARIANT: the record before, if any, is live.
            return Usage {
                tail: record.offset,
                ..usage
            };
        };
        let bytes = self.frame.as_mut();
        self.holes.remove(bytes, hole.offset);
        // INVARIANT: the record before the hole, if any, is live; if the hole was the
        // largest, the largest is found among those left.
        let largest_hole = if hole.size() < usage.largest_hole {
            usage.largest_hole
        } else {
            self.holes.largest(bytes, hole.offset)
        };
        Usage {
            tail: hole.offset,
            largest_hole,
            ..usage
        }
    }
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

/// The chain of the free-space buckets; only packed frames are on it.
struct BySpace;

impl<F> Chain<FrameEntry<F>> for BySpace {
    fn links(entry: &FrameEntry<F>) -> Option<&Links> {
        match &entry.state {
            State::Packed(packed) => Some(&packed.bucket),
            _ => None,
        }
    }

    fn links_mut(entry: &mut FrameEntry<F>) -> Option<&mut Links> {
        match &mut entry.state {
            State::Packed(packed) => Some(&mut packed.bucket),
            _ => None,
        }
    }
}

/// Sums of the usage of all packed frames.
#[derive(Default, Clone, Copy)]
struct Totals {
    tail_bytes: u64,
    record_bytes: u64,
    objects: u64,
    padding: u64,
}

impl Totals {
    /// Accounts for a packed frame's usage changing from `old` to `new`.
    #[inline]
    fn replace(&mut self, old: Usage, new: Usage) {
        self.tail_bytes = swapped(self.tail_bytes, old.tail, new.tail);
        self.record_bytes = swapped(self.record_bytes, old.record_bytes, new.record_bytes);
        self.objects = swapped(self.objects, old.objects, new.objects);
        self.padding = swapped(self.padding, old.padding, new.padding);
    }
}

/// Returns `sum` with `old` taken out and `new` put in.
#[inline]
fn swapped(sum: u64, old: u16, new: u16) -> u64 {
    sum.saturating_sub(u64::from(old))
        .saturating_add(u64::from(new))
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
        State::Packed(packed) => Some(packed),
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
        State::Packed(packed) => Some(packed),
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
        (State::Packed(pa), State::Packed(pb)) => Some((pa, pb)),
        _ => None,
    }
}

/// Returns the bit of `class` in a bitmap of classes.
#[inline]
fn class_bit(class: usize) -> u128 {
    u32::try_from(class)
        .ok()
        .and_then(|shift| 1u128.checked_shl(shift))
        .unwrap_or(0)
}

/// Returns the lowest class of `mask` that is at least `min`.
#[inline]
fn lowest_at_least(mask: u128, min: usize) -> Option<usize> {
    let above = u32::try_from(min)
        .ok()
        .and_then(|shift| u128::MAX.checked_shl(shift))
        .unwrap_or(0);
    let candidates = mask & above;
    // CAST: `trailing_zeros` of a non-zero `u128` is below 128.
    (candidates != 0).then(|| candidates.trailing_zeros() as usize)
}

/// Returns the free-space class of a frame with `free` bytes after its tail.
#[inline]
fn class_of_free(free: u16) -> usize {
    let class = match free.checked_sub(PAGE_END) {
        None => usize::from(free / CLASS_WIDTH),
        Some(above) => FINE_CLASSES.saturating_add(usize::from(above / COARSE_CLASS_WIDTH)),
    };
    class.min(CLASSES.saturating_sub(1))
}

/// Returns the least free space of a frame in `class`, in bytes.
fn class_floor(class: usize) -> u16 {
    let floor = match class.checked_sub(FINE_CLASSES) {
        None => u16::try_from(class)
            .ok()
            .and_then(|class| class.checked_mul(CLASS_WIDTH)),
        Some(above) => u16::try_from(above)
            .ok()
            .and_then(|above| above.checked_mul(COARSE_CLASS_WIDTH))
            .and_then(|above| above.checked_add(PAGE_END)),
    };
    floor.unwrap_or(u16::MAX)
}

/// Returns the smallest class whose frames surely have room for a record of `size` bytes.
///
/// A record is at most a page, so this is a class of [`CLASS_WIDTH`]-wide ones or the first
/// coarse one, and every frame of that class or above has at least `size` free bytes.
#[inline]
fn class_for(size: u16) -> usize {
    usize::from(size.div_ceil(CLASS_WIDTH))
}

/// Returns the size of the record for an object of `len` bytes, padding included.
#[inline]
fn record_size(len: usize) -> Result<u16, PoolError> {
    if len == 0 || len > MAX_OBJECT {
        return Err(PoolError::BadLength);
    }
    u16::try_from(len)
        .map(frame::record_size)
        .map_err(|_| PoolError::BadLength)
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
///   (see `pool_compact.rs`).
/// - The records of a packed frame tile `[0, tail)` (each [`frame::record_size`] long),
///   the record that ends at `tail` is live, no two holes are adjacent, `record_bytes`,
///   `objects` and `padding` count its live records, `largest_hole` is the size of its
///   largest hole (0 if it has none), and it has at least one live record.
/// - The `holes` list of a packed frame holds exactly its holes, linked both ways; every
///   hole ends in a footer holding its size; exactly the records just after a hole (all
///   live) have their [`prev_free`](Record::prev_free) flag set.
/// - Below the tail of a packed frame, the header of every record freed or moved away from
///   is marked [`FREE_OWNER`] or overwritten: only the headers of live records, and bytes
///   (object data, hole links and footers) that happen to look like one, read as the
///   header of a live record. This is what [`Pool::load`] and [`Pool::free`] rely on.
/// - `packed_frames`, `packed_pages`, `huge_frames`, `reserve_pages` and `totals` count and
///   sum over the frames in those states.
/// - The frames the walks done in steps look at next (`idle_walk.next`, `writeback_walk`)
///   are on the LRU list, if any: a frame used or retired is first walked past (see
///   `pool_walk.rs`).
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

/// Which reserve frame a store takes.
#[derive(Clone, Copy)]
enum Want {
    /// The largest, for a new packed frame.
    Largest,
    /// One of exactly one page, for a huge page.
    OnePage,
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

    /// Returns the page limit, if any.
    pub fn page_limit(&self) -> Option<u64> {
        self.limit
    }

    /// Sets or removes the limit on the pages of the frames the pool holds (packed, huge and
    /// reserve; a frame of 8 pages counts 8).
    ///
    /// [`Pool::add_frame`] refuses frames that would take the pool beyond the limit, so
    /// stores fail once the frames are full. Lowering the limit below what the pool holds
    /// takes no frame away; emptied frames are then released instead of kept, and
    /// [`Pool::release_reserve`] gives back the reserve at once.
    pub fn set_page_limit(&mut self, limit: Option<u64>) {
        self.limit = limit;
    }

    /// Returns the pages of all frames the pool holds (packed, huge and reserve):
    /// [`PoolStats::total_pages`] without building the whole [`PoolStats`].
    #[inline]
    pub fn held_pages(&self) -> u64 {
        self.packed_pages
            .saturating_add(u64::from(self.huge_frames))
            .saturating_add(self.reserve_pages)
    }

    /// Returns `true` if the pool may hold `extra` more pages under its limit.
    fn within_limit(&self, extra: u64) -> bool {
        let Some(limit) = self.limit else {
            return true;
        };
        self.held_pages().saturating_add(extra) <= limit
    }

    /// Adds an empty frame to the reserve, for the next store that needs one.
    ///
    /// # Errors
    ///
    /// Gives `frame` back if its length is not a multiple of [`PAGE_SIZE`] from one page to
    /// [`MAX_FRAME_SIZE`], if its pages would take the pool over its page limit, or if the
    /// frame table has no empty entry. The caller frees it after dropping its lock.
    pub fn add_frame(&mut self, frame: F) -> Result<(), F> {
        let Some(pages) = frame_pages(frame.as_ref().len()) else {
            return Err(frame);
        };
        if !self.within_limit(u64::from(pages)) {
            return Err(frame);
        }
        let Some(id) = self.take_entry() else {
            return Err(frame);
        };
        self.put_reserve(id, frame, pages);
        Ok(())
    }

    /// Takes an empty entry of the table for a new frame.
    fn take_entry(&mut self) -> Option<FrameId> {
        if let Some(id) = self.vacant.pop_front(&mut self.table) {
            return Some(id);
        }
        if self.fresh < self.capacity && self.fresh_in_table() {
            let id = self.fresh;
            self.fresh = id.saturating_add(1);
            return Some(id);
        }
        None
    }

    /// Returns `true` if the table holds the next fresh entry.
    fn fresh_in_table(&self) -> bool {
        usize::try_from(self.fresh).is_ok_and(|fresh| fresh < self.table.len())
    }

    /// Returns `true` if a new frame needs the table to grow first: no entry is vacant
    /// and the table holds fewer entries than the pool may use.
    pub fn needs_entries(&self) -> bool {
        self.vacant.is_empty() && self.fresh < self.capacity && !self.fresh_in_table()
    }

    /// Returns the number of entries the frame table holds now.
    pub fn table_len(&self) -> usize {
        self.table.len()
    }

    /// Lets `grow` append empty entries (as [`FrameEntry::default`] makes them) to the
    /// frame table; the pool uses them as new frames come.
    ///
    /// `grow` runs under the caller's lock: it must not allocate or sleep, only append
    /// entries allocated before. The table must not shrink or change existing entries.
    pub fn grow_table(&mut self, grow: impl FnOnce(&mut S)) {
        grow(&mut self.table);
    }

    /// Puts `frame` of `pages` pages in the reserve at the entry `id`, which is vacant and
    /// on no list.
    fn put_reserve(&mut self, id: FrameId, frame: F, pages: u8) {
        let entries = &mut self.table;
        let Some(slot) = entry_mut(entries, id) else {
            // Unreachable: `id` is an entry of the table. Dropping the frame is the
            // least harm.
            return;
        };
        // INVARIANT: a vacant entry, off every list, becomes a reserve frame on the reserve
        // and in its page count.
        slot.state = State::Reserve { frame, pages };
        self.reserve.push_front(entries, id);
        self.reserve_pages = self.reserve_pages.saturating_add(u64::from(pages));
    }

    /// Returns the reserve frame a store wanting `want` takes, if the reserve has one.
    ///
    /// This walks the reserve, which is short (see the [module documentation](self)).
    fn find_reserve(&self, want: Want) -> Option<FrameId> {
        let entries = &self.table;
        let mut best: Option<(FrameId, u8)> = None;
        for id in self.reserve.iter(entries) {
            let Some(State::Reserve { pages, .. }) = entry(entries, id).map(|slot| &slot.state)
            else {
                continue;
            };
            match want {
                Want::OnePage if *pages == 1 => return Some(id),
                Want::OnePage => {}
                Want::Largest => {
                    let larger = match best {
                        None => true,
                        Some((_, most)) => *pages > most,
                    };
                    if larger {
                        best = Some((id, *pages));
                    }
                }
            }
        }
        best.map(|(id, _)| id)
    }

    /// Takes the frame at `id` out of the reserve, leaving its entry vacant and on no list,
    /// and returns it with its length in pages.
    fn take_reserve(&mut self, id: FrameId) -> Option<(F, u8)> {
        let entries = &mut self.table;
        if !matches!(entry(entries, id)?.state, State::Reserve { .. }) {
            return None;
        }
        if !self.reserve.remove(entries, id) {
            return None;
        }
        let slot = entry_mut(entries, id)?;
        match mem::take(&mut slot.state) {
            State::Reserve { frame, pages } => {
                self.reserve_pages = self.reserve_pages.saturating_sub(u64::from(pages));
                Some((frame, pages))
            }
            other => {
                // Unreachable: checked above.
                slot.state = other;
                None
            }
        }
    }

    /// Puts `frame` of `pages` pages, just emptied and taken out of entry `id`, in the
    /// reserve or hands it to `released`.
    fn shelve(&mut self, id: FrameId, frame: F, pages: u8, released: &mut impl FnMut(F)) {
        let keep = self.reserve.len() < RESERVE_CAP && self.within_limit(u64::from(pages));
        if keep {
            self.put_reserve(id, frame, pages);
            return;
        }
        let entries = &mut self.table;
        if let Some(slot) = entry_mut(entries, id) {
            slot.state = State::Vacant;
            self.vacant.push_front(entries, id);
        }
        released(frame);
    }

    /// Hands every reserve frame to `released` and returns how many there were.
    ///
    /// `released` runs under the caller's lock: it should only collect the frames.
    pub fn release_reserve(&mut self, mut released: impl FnMut(F)) -> u32 {
        let mut count: u32 = 0;
        while let Some(id) = self.reserve.front() {
            let Some((frame, _)) = self.take_reserve(id) else {
                // Unreachable: only reserve frames are on the reserve.
                break;
            };
            self.vacant.push_front(&mut self.table, id);
            released(frame);
            count = count.saturating_add(1);
        }
        count
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
    /// - [`PoolError::BadLength`] if `data` is empty or longer than [`MAX_OBJECT`].
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
        slot.state = State::Packed(Packed::new(frame, used));
        // INVARIANT: the new packed frame goes on the LRU list, its bucket and the counts.
        // It has no record for the moment it takes the caller to append one.
        self.lru.push_back(entries, id);
        self.packed_frames = self.packed_frames.saturating_add(1);
        self.packed_pages = self.packed_pages.saturating_add(u64::from(pages));
        self.bucket_insert(id);
        Ok(id)
    }

    /// Returns the packed frame that best fits a record of `size` bytes: a near fit if one
    /// of the first frames of the class just below the record's has room, else the best
    /// sure fit (see [Allocation](self#allocation)).
    fn find_fit(&self, size: u16) -> Option<FrameId> {
        self.find_near_fit(size)
            .or_else(|| self.find_sure_fit(size, None))
    }

    /// Returns the first of the first [`NEAR_FIT_TRIES`] frames of the class just below
    /// `class_for(size)` that has room for a record of `size` bytes: after its tail, or in
    /// its largest hole.
    ///
    /// Such a frame has less capacity than the record's class promises, so it only has
    /// room if its free space lies high enough in its class; taking it is a tighter fit
    /// than any sure one.
    fn find_near_fit(&self, size: u16) -> Option<FrameId> {
        let bucket = class_for(size)
            .checked_sub(1)
            .and_then(|class| self.buckets.get(class))?;
        let entries = &self.table;
        bucket
            .iter(entries)
            .take(NEAR_FIT_TRIES)
            .find(|&id| packed(entries, id).is_some_and(|held| held.usage().has_room(size)))
    }

    /// Returns the packed frame other than `exclude` that best fits a record of `size`
    /// bytes among those surely having room: the first of the smallest non-empty bucket
    /// of a class of at least `class_for(size)`.
    fn find_sure_fit(&self, size: u16, exclude: Option<FrameId>) -> Option<FrameId> {
        let entries = &self.table;
        let mut mask = self.nonempty;
        while let Some(class) = lowest_at_least(mask, class_for(size)) {
            mask &= !class_bit(class);
            let Some(bucket) = self.buckets.get(class) else {
                continue;
            };
            let mut candidate = bucket.front();
            if candidate.is_some() && candidate == exclude {
                candidate = candidate.and_then(|id| bucket.next(entries, id));
            }
            if candidate.is_some() {
                return candidate;
            }
        }
        None
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

    /// Returns the usage of the packed frame `id`.
    fn usage(&self, id: FrameId) -> Option<Usage> {
        packed(&self.table, id).map(Packed::usage)
    }

    /// Sets the usage of the packed frame `id`, moving it to the bucket of its new class and
    /// keeping the totals right. The frame's length is not changed.
    fn set_usage(&mut self, id: FrameId, new: Usage) {
        let Some(packed) = packed_mut(&mut self.table, id) else {
            return;
        };
        let moved = packed.apply_usage(new, &mut self.totals);
        self.rebucket(id, moved);
    }

    /// Makes the bucket move `moved` of the packed frame `id`, if any: what
    /// [`Packed::apply_usage`] asks for.
    #[inline]
    fn rebucket(&mut self, id: FrameId, moved: Option<Rebucket>) {
        if let Some(moved) = moved {
            // INVARIANT: the frame leaves the bucket of its old class for its new one.
            self.unlink_bucket(id, moved.from);
            self.link_bucket(id, moved.to, moved.marked);
        }
    }

    /// Puts the packed frame `id` on the bucket of its class: first, or last if marked.
    fn bucket_insert(&mut self, id: FrameId) {
        let Some(packed) = packed(&self.table, id) else {
            return;
        };
        let (class, marked) = (packed.class, packed.marked);
        self.link_bucket(id, class, marked);
    }

    /// Takes the packed frame `id` off the bucket of its class.
    fn bucket_remove(&mut self, id: FrameId) {
        let Some(class) = packed(&self.table, id).map(|packed| packed.class) else {
            return;
        };
        self.unlink_bucket(id, class);
    }

    /// Puts the packed frame `id` on the bucket of `class`: first, or last if `marked`.
    fn link_bucket(&mut self, id: FrameId, class: u8, marked: bool) {
        let Some(bucket) = self.buckets.get_mut(usize::from(class)) else {
            return;
        };
        let entries = &mut self.table;
        let linked = if marked {
            bucket.push_back(entries, id)
        } else {
            bucket.push_front(entries, id)
        };
        if linked {
            self.nonempty |= class_bit(usize::from(class));
        }
    }

    /// Takes the packed frame `id` off the bucket of `class`, which it is on.
    fn unlink_bucket(&mut self, id: FrameId, class: u8) {
        let Some(bucket) = self.buckets.get_mut(usize::from(class)) else {
            return;
        };
        bucket.remove(&mut self.table, id);
        if bucket.is_empty() {
            self.nonempty &= !class_bit(usize::from(class));
        }
    }

    /// Makes frame `id` the most recently used, used now and not idle.
    #[inline]
    fn touch(&mut self, id: FrameId) {
        let now = self.used_now();
        self.last_use = self.clock;
        let hottest = self.lru.back() == Some(id);
        self.leave_walks(id, !hottest);
        let entries = &mut self.table;
        if let Some(used) = entry_mut(entries, id).and_then(used_mut) {
            *used = now;
        }
        if hottest {
            return;
        }
        if self.lru.remove(entries, id) {
            self.lru.push_back(entries, id);
        }
    }

    /// A use of a frame now.
    #[inline]
    fn used_now(&self) -> Used {
        Used::at(self.clock / 60)
    }

    /// Sets the clock that stores and loads stamp their frames with, in seconds (any
    /// monotonic time: the module passes the boot time). A clock earlier than the current
    /// one is ignored, so that the LRU order stays the order of the stamps.
    ///
    /// A stamp is the minute of the clock, in 15 bits ([`USED_PERIOD`]), so that it fits an
    /// entry without making it larger; [`Pool::start_mark_idle`] tells how ages are read
    /// back.
    pub fn set_clock(&mut self, now_secs: u64) {
        self.clock = self.clock.max(now_secs);
    }

    /// Returns `true` if the packed or huge frame `id` is marked idle ([`Pool::mark_idle`]).
    pub fn is_idle(&self, id: FrameId) -> bool {
        match entry(&self.table, id).map(|slot| &slot.state) {
            Some(State::Packed(packed)) => packed.used.is_idle(),
            Some(State::Huge { used, .. }) => used.is_idle(),
            _ => false,
        }
    }

    /// Stores the uncompressed `page` for the slot `owner` in a huge frame of its own and
    /// returns the frame's id.
    ///
    /// The frame is a reserve frame of exactly one page; it becomes the most recently used
    /// frame.
    ///
    /// # Errors
    ///
    /// - [`PoolError::BadOwner`] if `owner` is [`FREE_OWNER`].
    /// - [`PoolError::NeedFrame`] if the reserve has no frame of one page, even if it has
    ///   larger ones: the caller adds a frame of one page.
    pub fn store_huge(&mut self, owner: u32, page: &Page) -> Result<FrameId, PoolError> {
        if owner == FREE_OWNER {
            return Err(PoolError::BadOwner);
        }
        let id = self
            .find_reserve(Want::OnePage)
            .ok_or(PoolError::NeedFrame)?;
        let (mut frame, pages) = self.take_reserve(id).ok_or(PoolError::NeedFrame)?;
        let Ok(bytes) = <&mut Page>::try_from(frame.as_mut()) else {
            // Unreachable: a reserve frame of one page is a page long. Put it back.
            self.put_reserve(id, frame, pages);
            return Err(PoolError::NeedFrame);
        };
        *bytes = *page;
        let used = self.used_now();
        self.last_use = self.clock;
        let entries = &mut self.table;
        let Some(slot) = entry_mut(entries, id) else {
            // Unreachable: `id` was just taken out of the table.
            return Err(PoolError::NeedFrame);
        };
        slot.state = State::Huge { frame, owner, used };
        // INVARIANT: the new huge frame, one page, goes on the LRU list, hottest, and in
        // the count.
        self.lru.push_back(entries, id);
        self.huge_frames = self.huge_frames.saturating_add(1);
        Ok(id)
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

    /// Returns the page of the huge frame `id` and makes the frame the most recently used.
    ///
    /// # Errors
    ///
    /// [`PoolError::BadRef`] unless `id` is a huge frame.
    pub fn load_huge(&mut self, id: FrameId) -> Result<&Page, PoolError> {
        self.huge_owner(id)?;
        self.touch(id);
        match entry(&self.table, id).map(|slot| &slot.state) {
            Some(State::Huge { frame, .. }) => {
                <&Page>::try_from(frame.as_ref()).map_err(|_| PoolError::BadRef)
            }
            _ => Err(PoolError::BadRef),
        }
    }

    /// Returns the owner of the huge frame `id`.
    fn huge_owner(&self, id: FrameId) -> Result<u32, PoolError> {
        match entry(&self.table, id).map(|slot| &slot.state) {
            Some(State::Huge { owner, .. }) => Ok(*owner),
            _ => Err(PoolError::BadRef),
        }
    }

    /// Frees the object `object` of the slot `owner`.
    ///
    /// Its record becomes a hole, merged with the holes just before and after it; if it was
    /// the frame's last record, the tail drops to the end of the last live record before it
    /// instead. This takes O(1) steps: the hole before the record is found through the
    /// record's flag and the hole's footer, the record after it at its end (see
    /// [`super::frame`]); only when the tail drops below the frame's largest hole are the
    /// other holes walked to find the largest left. Only headers, hole links and footers
    /// are read and written. A frame left without objects goes to the reserve, or to
    /// `released` if the reserve is full or the pool is over its page limit. `released`
    /// runs under the caller's lock: it should only collect the frame. The frame's
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
    pub fn free(
        &mut self,
        object: ObjectRef,
        owner: u32,
        released: impl FnMut(F),
    ) -> Result<(), PoolError> {
        self.free_packed(object, owner, released).map(|_| ())
    }

    /// Frees the object `object` of the slot `owner` as [`Pool::free`] does, and returns
    /// the usage of its frame afterwards, or `None` if the frame was left without objects
    /// and is no longer packed: what [`Pool::frame_state`] would say, without looking the
    /// frame up again.
    pub(super) fn free_packed(
        &mut self,
        object: ObjectRef,
        owner: u32,
        mut released: impl FnMut(F),
    ) -> Result<Option<Usage>, PoolError> {
        let packed = packed_mut(&mut self.table, object.frame).ok_or(PoolError::BadRef)?;
        let record = packed.live_record(object, owner)?;
        let usage = packed.free_record(record).ok_or(PoolError::BadRef)?;
        let moved = packed.apply_usage(usage, &mut self.totals);
        self.rebucket(object.frame, moved);
        if usage.objects == 0 {
            self.retire(object.frame, &mut released);
            return Ok(None);
        }
        Ok(Some(usage))
    }

    /// Frees the huge frame `id`: it goes to the reserve or to `released` like an emptied
    /// packed frame (see [`Pool::free`]).
    ///
    /// # Errors
    ///
    /// [`PoolError::BadRef`], changing nothing, unless `id` is a huge frame.
    pub fn free_huge(&mut self, id: FrameId, mut released: impl FnMut(F)) -> Result<(), PoolError> {
        self.huge_owner(id)?;
        self.retire(id, &mut released);
        Ok(())
    }

    /// Takes the packed or huge frame `id` off its lists and out of the counts, and puts
    /// the frame in the reserve or hands it to `released`.
    fn retire(&mut self, id: FrameId, released: &mut impl FnMut(F)) {
        let is_packed = match entry(&self.table, id).map(|slot| &slot.state) {
            Some(State::Packed(_)) => true,
            Some(State::Huge { .. }) => false,
            _ => return,
        };
        if is_packed {
            self.bucket_remove(id);
        }
        self.leave_walks(id, true);
        let entries = &mut self.table;
        self.lru.remove(entries, id);
        let Some(slot) = entry_mut(entries, id) else {
            return;
        };
        let (frame, pages) = match mem::take(&mut slot.state) {
            State::Packed(packed) => {
                self.totals.replace(packed.usage(), Usage::default());
                self.packed_frames = self.packed_frames.saturating_sub(1);
                let pages = packed.pages();
                self.packed_pages = self.packed_pages.saturating_sub(u64::from(pages));
                (packed.frame, pages)
            }
            State::Huge { frame, .. } => {
                self.huge_frames = self.huge_frames.saturating_sub(1);
                (frame, 1)
            }
            other => {
                // Unreachable: checked above.
                slot.state = other;
                return;
            }
        };
        self.shelve(id, frame, pages, released);
    }

    /// Returns the sizes of the pool.
    pub fn pool_stats(&self) -> PoolStats {
        let headers = self.totals.objects.saturating_mul(u64::from(HEADER));
        PoolStats {
            packed_frames: self.packed_frames,
            packed_pages: self.packed_pages,
            huge_frames: self.huge_frames,
            reserve_frames: self.reserve.len(),
            reserve_pages: self.reserve_pages,
            live_bytes: self
                .totals
                .record_bytes
                .saturating_sub(headers)
                .saturating_sub(self.totals.padding),
            record_bytes: self.totals.record_bytes,
            hole_bytes: self
                .totals
                .tail_bytes
                .saturating_sub(self.totals.record_bytes),
            objects: self.totals.objects,
        }
    }

    /// Returns what the frame `id` is used for, or `None` if the pool holds no frame there.
    pub fn frame_state(&self, id: FrameId) -> Option<FrameState> {
        match &entry(&self.table, id)?.state {
            State::Vacant => None,
            State::Reserve { .. } => Some(FrameState::Reserve),
            State::Packed(packed) => Some(FrameState::Packed(packed.usage())),
            State::Huge { owner, .. } => Some(FrameState::Huge { owner: *owner }),
        }
    }

    /// Returns the length in bytes of the frame `id` (reserve, packed or huge), or `None`
    /// if the pool holds no frame there.
    ///
    /// It is a multiple of [`PAGE_SIZE`] from one page to [`MAX_FRAME_SIZE`], and one page
    /// for a huge frame.
    pub fn frame_len(&self, id: FrameId) -> Option<usize> {
        let pages = match &entry(&self.table, id)?.state {
            State::Vacant => return None,
            State::Reserve { pages, .. } => *pages,
            State::Packed(packed) => packed.pages(),
            State::Huge { .. } => 1,
        };
        Some(usize::from(pages_len(pages)))
    }

    /// Returns the bytes of the packed or huge frame `id`, all of its length, for writing
    /// it out whole.
    ///
    /// This does not count as a use of the frame.
    pub fn frame(&self, id: FrameId) -> Option<&[u8]> {
        match &entry(&self.table, id)?.state {
            State::Packed(packed) => Some(packed.frame.as_ref()),
            State::Huge { frame, .. } => Some(frame.as_ref()),
            State::Vacant | State::Reserve { .. } => None,
        }
    }

    /// Returns an iterator over the live objects of the packed frame `id`, in frame order,
    /// as `(owner, reference)`.
    ///
    /// It yields nothing for any other frame. This does not count as a use of the frame.
    pub fn records(&self, id: FrameId) -> impl Iterator<Item = (u32, ObjectRef)> + '_ {
        packed(&self.table, id)
            .map(|packed| frame::records(packed.frame.as_ref(), packed.tail))
            .into_iter()
            .flatten()
            .filter(|record| !record.is_free())
            .map(move |record| {
                let object = ObjectRef {
                    frame: id,
                    offset: record.offset,
                    len: record.len,
                };
                (record.owner, object)
            })
    }

    /// Returns an iterator over the holes of the packed frame `id`, in the order of its
    /// hole list (no particular order).
    ///
    /// It yields nothing for any other frame. This is for statistics and checks; it does
    /// not count as a use of the frame.
    pub fn holes(&self, id: FrameId) -> impl Iterator<Item = Record> + '_ {
        packed(&self.table, id)
            .map(|packed| packed.holes.iter(packed.frame.as_ref(), packed.tail))
            .into_iter()
            .flatten()
    }

    /// Returns an iterator over the packed frames of the free-space class `class`, in the
    /// order stores try them.
    ///
    /// Each packed frame is in the class of its [`Usage::capacity`] (see the [module
    /// documentation](self)); a class at or past [`CLASSES`] is empty. This is for
    /// statistics and checks: stores do not walk classes.
    pub fn class_frames(&self, class: usize) -> impl Iterator<Item = FrameId> + '_ {
        self.buckets
            .get(class)
            .into_iter()
            .flat_map(|bucket| bucket.iter(&self.table))
    }

    /// Returns the least recently used packed or huge frame, if any.
    pub fn coldest(&self) -> Option<FrameId> {
        self.lru.front()
    }

    /// Returns the frame used next after the packed or huge frame `id`, if any.
    pub fn next_warmer(&self, id: FrameId) -> Option<FrameId> {
        let entries = &self.table;
        match entry(entries, id)?.state {
            State::Packed(_) | State::Huge { .. } => self.lru.next(entries, id),
            State::Vacant | State::Reserve { .. } => None,
        }
    }

    /// Returns an iterator over the packed and huge frames from the least to the most
    /// recently used.
    pub fn lru_iter(&self) -> impl Iterator<Item = FrameId> + '_ {
        self.lru.iter(&self.table)
    }

    /// Hands every frame the pool holds (packed, huge and reserve) to `released` and returns
    /// how many there were, for device reset or teardown.
    ///
    /// Every reference into the pool is invalid afterwards. The page limit is kept.
    pub fn drain(&mut self, mut released: impl FnMut(F)) -> u32 {
        let mut count: u32 = 0;
        let used = usize::try_from(self.fresh).unwrap_or(usize::MAX);
        for index in 0..used.min(self.table.len()) {
            let Some(slot) = self.table.get_mut(index) else {
                break;
            };
            slot.lru = Links::UNLINKED;
            let frame = match mem::take(&mut slot.state) {
                State::Vacant => continue,
                State::Reserve { frame, .. } | State::Huge { frame, .. } => frame,
                State::Packed(packed) => packed.frame,
            };
            released(frame);
            count = count.saturating_add(1);
        }
        // INVARIANT: every entry is vacant and on no list, as in a new pool.
        self.fresh = 0;
        self.vacant = List::new();
        self.reserve = List::new();
        self.lru = List::new();
        self.idle_walk = IdleWalk::default();
        self.writeback_walk = None;
        self.buckets = [const { List::new() }; CLASSES];
        self.nonempty = 0;
        self.packed_frames = 0;
        self.packed_pages = 0;
        self.huge_frames = 0;
        self.reserve_pages = 0;
        self.totals = Totals::default();
        count
    }
}
