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

use core::ops::Range;

use super::frame::{Page, FRAME_SIZE};
use super::geometry::PAGE_SIZE;
use super::pool::{CompactStats, FrameEntry, FrameId, ObjectRef, Pool, PoolError};
use super::slots::{Slot, SlotTable};
use super::stats::{Counters, MmStat};

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
    /// Frames freed by compaction since the store was created.
    pub pages_compacted: u64,
}

/// Slot table, pool and counters of one initialized device.
///
/// # Invariants
///
/// Every `Packed`/`Huge` slot names a live object/frame of the pool whose owner
/// is the slot's index, and `classes` counts the slots of each kind.
pub struct Store<S, F, T> {
    slots: SlotTable<S>,
    pool: Pool<F, T>,
    classes: ClassCounts,
    max_frames: u64,
}

impl<S, F, T> Store<S, F, T>
where
    S: AsRef<[Slot<Content>]> + AsMut<[Slot<Content>]>,
    F: AsRef<Page> + AsMut<Page>,
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
            max_frames: 0,
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
    /// (then retry); the others are final.
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
        self.note_frames();
        let old = self
            .slots
            .store(index, content)
            .map_err(|_| StoreError::OutOfRange)?;
        self.count(&content, true);
        if matches!(content, Content::Huge(_)) {
            self.classes.huge_pages_since = self.classes.huge_pages_since.saturating_add(1);
        }
        self.release(old, released);
        Ok(())
    }

    /// Records a store that could not be done: the slot's old content is freed,
    /// never to be returned again, and a failed store is counted.
    pub fn refuse(&mut self, index: u64, released: impl FnMut(F)) -> Result<(), StoreError> {
        let old = self
            .slots
            .refuse_store(index)
            .map_err(|_| StoreError::OutOfRange)?;
        self.release(old, released);
        Ok(())
    }

    /// Finds what slot `index` holds, counting a load (or a zero read).
    pub fn load(&mut self, index: u64) -> Result<Found<'_>, StoreError> {
        let content = match self.slots.load(index).map_err(|_| StoreError::OutOfRange)? {
            None => return Ok(Found::Empty),
            Some(content) => *content,
        };
        Ok(match content {
            Content::SameFilled(word) => Found::SameFilled(word),
            Content::Packed(object) => {
                Found::Packed(self.pool.load(object).map_err(|_| StoreError::Corrupt)?)
            }
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
        let old = self.slots.free(index).map_err(|_| StoreError::OutOfRange)?;
        let held = old.is_some();
        self.release(old, &mut released);
        self.pool.release_reserve(released);
        Ok(held)
    }

    /// Frees the slots in `range`; returns how many held data. Like
    /// [`Store::free`], hands the pool's reserve back too.
    pub fn free_range(
        &mut self,
        range: Range<u64>,
        mut released: impl FnMut(F),
    ) -> Result<u64, StoreError> {
        let pool = &mut self.pool;
        let classes = &mut self.classes;
        let freed = self
            .slots
            .free_range(range, |content| {
                uncount(classes, &content);
                free_content(pool, content, &mut released);
            })
            .map_err(|_| StoreError::OutOfRange)?;
        self.pool.release_reserve(released);
        Ok(freed)
    }

    /// Hands a frame to the pool; gives it back if the pool cannot take it
    /// (frame table full or frame limit reached).
    pub fn add_frame(&mut self, frame: F) -> Result<(), F> {
        let result = self.pool.add_frame(frame);
        self.note_frames();
        result
    }

    /// Limits the frames the pool may hold (`mem_limit`); `None` for no limit.
    pub fn set_frame_limit(&mut self, limit: Option<u32>) {
        self.pool.set_frame_limit(limit);
    }

    /// Compacts the pool, moving objects and updating their slots.
    pub fn compact(&mut self, released: impl FnMut(F)) -> CompactStats {
        let slots = &mut self.slots;
        let stats = self.pool.compact(
            |owner, old, new| {
                if let Some(content) = slots.handle_mut(u64::from(owner)) {
                    if *content == Content::Packed(old) {
                        *content = Content::Packed(new);
                    }
                }
            },
            released,
        );
        self.classes.pages_compacted = self
            .classes
            .pages_compacted
            .saturating_add(u64::from(stats.frames_emptied));
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
        self.max_frames = self.pool.pool_stats().total_frames();
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
    pub fn mm_stat(&self, mem_limit: u64) -> MmStat {
        let pool = self.pool.pool_stats();
        let frame_bytes = |frames: u64| frames.saturating_mul(FRAME_SIZE as u64);
        MmStat {
            orig_data_size: self.slots.stored_pages().saturating_mul(PAGE_SIZE as u64),
            compr_data_size: pool
                .live_bytes
                .saturating_add(frame_bytes(u64::from(pool.huge_frames))),
            mem_used_total: frame_bytes(pool.total_frames()),
            mem_limit,
            mem_used_max: frame_bytes(self.max_frames),
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

    fn note_frames(&mut self) {
        self.max_frames = self.max_frames.max(self.pool.pool_stats().total_frames());
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

    fn release(&mut self, old: Option<Content>, mut released: impl FnMut(F)) {
        if let Some(content) = old {
            self.count(&content, false);
            free_content(&mut self.pool, content, &mut released);
        }
    }
}

fn uncount(classes: &mut ClassCounts, content: &Content) {
    match content {
        Content::SameFilled(_) => classes.same_pages = classes.same_pages.saturating_sub(1),
        Content::Huge(_) => classes.huge_pages = classes.huge_pages.saturating_sub(1),
        Content::Packed(_) => {}
    }
}

/// Gives the pool memory of `content` back. By the type invariant of
/// [`Store`] it is live, so the pool cannot refuse; if it ever did, the
/// memory stays in the pool rather than being freed twice.
fn free_content<F, T>(pool: &mut Pool<F, T>, content: Content, released: &mut impl FnMut(F))
where
    F: AsRef<Page> + AsMut<Page>,
    T: AsRef<[FrameEntry<F>]> + AsMut<[FrameEntry<F>]>,
{
    let _ = match content {
        Content::SameFilled(_) => Ok(()),
        Content::Packed(object) => pool.free(object, &mut *released),
        Content::Huge(id) => pool.free_huge(id, &mut *released),
    };
}

fn pool_error(error: PoolError) -> StoreError {
    match error {
        PoolError::NeedFrame => StoreError::NeedFrame,
        PoolError::BadLength | PoolError::BadOwner => StoreError::BadObject,
        PoolError::BadRef => StoreError::Corrupt,
    }
}
