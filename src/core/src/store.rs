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

use core::ops::Range;

use super::frame::{self, Page};
use super::geometry::PAGE_SIZE;
use super::pool::{CompactStats, FrameEntry, FrameId, ObjectRef, Pool, PoolError, Usage};
use super::slots::{Slot, SlotTable};
use super::stats::{Counters, MmStat};

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
}

/// Why a store or load failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreError {
    /// The pool needs a frame; nothing changed (see the module docs).
    NeedFrame,
    /// The slot index is past the end of the device.
    OutOfRange,
    /// The object is empty or too large for a frame; nothing changed.
    BadObject,
    /// The slot points at something the pool does not hold: a bug, reported
    /// instead of returning wrong data.
    Corrupt,
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
    /// Pages freed by [`Store::compact`] since the store was created: the pages
    /// of the frames it emptied.
    pub pages_compacted: u64,
    /// Frames compacted automatically since the store was created, because
    /// freeing an object left holes of at least `1 / AUTO_COMPACT_DIVISOR` of
    /// the frame.
    pub auto_compactions: u64,
    /// Bytes of records (headers included) that automatic compaction moved
    /// since the store was created: what it copied.
    pub auto_compact_bytes: u64,
}

/// Slot table, pool and counters of one initialized device.
///
/// # Invariants
///
/// - Every `Packed`/`Huge` slot names a live object/frame of the pool whose
///   owner is the slot's index, and `classes` counts the slots of each kind.
/// - Between calls, every packed frame's holes are less than its length
///   divided by [`AUTO_COMPACT_DIVISOR`].
/// - `max_pages` is at least the pages the pool holds.
pub struct Store<S, F, T> {
    slots: SlotTable<S>,
    pool: Pool<F, T>,
    classes: ClassCounts,
    max_pages: u64,
}

impl<S, F, T> Store<S, F, T>
where
    S: AsRef<[Slot<Content>]> + AsMut<[Slot<Content>]>,
    F: AsRef<[u8]> + AsMut<[u8]>,
    T: AsRef<[FrameEntry<F>]> + AsMut<[FrameEntry<F>]>,
{
    /// Creates a store over empty slot storage and an empty frame table.
    ///
    /// Returns `None` if there are more slots than owners a frame can name.
    pub fn new(slots: S, frames: T) -> Option<Self> {
        let slots = SlotTable::new(slots);
        if slots.len() >= u64::from(super::frame::FREE_OWNER) {
            return None;
        }
        Some(Self {
            slots,
            pool: Pool::new(frames),
            classes: ClassCounts::default(),
            max_pages: 0,
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
    /// On any error nothing changed: [`StoreError::NeedFrame`] asks for a frame
    /// (then retry), of exactly one page for an [`Incoming::Huge`] page and of
    /// any valid length otherwise; the others are final.
    pub fn store(
        &mut self,
        index: u64,
        page: Incoming<'_>,
        released: impl FnMut(F),
    ) -> Result<(), StoreError> {
        let owner = self.owner(index)?;
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
            .store(index, content)
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
            .refuse_store(index)
            .map_err(|_| StoreError::OutOfRange)?;
        self.release(owner, old, released);
        Ok(())
    }

    /// Finds what slot `index` holds, counting a load (or a zero read).
    ///
    /// A packed object is found in O(1) steps, checked against the header of
    /// its record (owner and length; see [`Pool::load`]).
    pub fn load(&mut self, index: u64) -> Result<Found<'_>, StoreError> {
        let owner = self.owner(index)?;
        let content = match self.slots.load(index).map_err(|_| StoreError::OutOfRange)? {
            None => return Ok(Found::Empty),
            Some(content) => *content,
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

    /// Frees slot `index`; returns whether it held data.
    ///
    /// Memory freed this way (swap dropped the page, or a discard) goes back
    /// to the system at once, the pool's reserve included: the reserve is for
    /// absorbing overwrites, and a device whose data is gone should hold no
    /// more memory than its remaining data needs.
    pub fn free(&mut self, index: u64, mut released: impl FnMut(F)) -> Result<bool, StoreError> {
        let owner = self.owner(index)?;
        let old = self.slots.free(index).map_err(|_| StoreError::OutOfRange)?;
        let held = old.is_some();
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
            let Ok(old) = self.slots.free(index) else {
                continue;
            };
            if old.is_some() {
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

    /// Limits the pages the pool's frames may take (`mem_limit` divided by
    /// the page size); `None` for no limit.
    pub fn set_page_limit(&mut self, limit: Option<u64>) {
        self.pool.set_page_limit(limit);
    }

    /// Compacts the pool, moving objects and updating their slots.
    pub fn compact(&mut self, released: impl FnMut(F)) -> CompactStats {
        let slots = &mut self.slots;
        let stats = self
            .pool
            .compact(|owner, old, new| relocate(slots, owner, old, new), released);
        self.classes.pages_compacted = self
            .classes
            .pages_compacted
            .saturating_add(stats.pages_emptied);
        stats
    }

    /// Frees every slot and every frame (device reset or teardown).
    pub fn drain(&mut self, mut released: impl FnMut(F)) {
        self.slots.drain(|_| ());
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
            orig_data_size: page_bytes(self.slots.stored_pages()),
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

    /// Raises the high-water mark of pages to what the pool holds now. Called
    /// after every change that can add pages.
    fn note_pages(&mut self) {
        // INVARIANT: the mark stays at least the pages held.
        self.max_pages = self.max_pages.max(self.pool.held_pages());
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

/// Points the slot `owner` at `new` if it holds the object `old`: what a move
/// reported by compaction asks for.
fn relocate<S>(slots: &mut SlotTable<S>, owner: u32, old: ObjectRef, new: ObjectRef)
where
    S: AsMut<[Slot<Content>]>,
{
    if let Some(content) = slots.handle_mut(u64::from(owner)) {
        if *content == Content::Packed(old) {
            *content = Content::Packed(new);
        }
    }
}

fn pool_error(error: PoolError) -> StoreError {
    match error {
        PoolError::NeedFrame => StoreError::NeedFrame,
        PoolError::BadLength | PoolError::BadOwner => StoreError::BadObject,
        PoolError::BadRef => StoreError::Corrupt,
    }
}
