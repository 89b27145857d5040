//! The slot table: what each page of a device holds.
//!
//! A device of `n` pages has `n` slots. Each slot is in one state of [`Slot`]; a stored slot
//! owns a handle `H` to the memory that holds the page (the module decides what a handle
//! is; the table never looks inside it).
//!
//! The table only moves handles in and out. It never allocates or frees memory: every
//! handle that leaves a slot is returned to the caller, who frees it after dropping the
//! lock that protects the table. All operations are O(1) per slot touched.
//!
//! # Examples
//!
//! ```
//! use ghostswap_core::slots::{Slot, SlotTable};
//!
//! let mut table = SlotTable::new(vec![Slot::<u64>::Empty; 4]);
//! assert_eq!(table.store(1, 100), Ok(None));
//! assert_eq!(table.store(1, 101), Ok(Some(100))); // The caller frees 100.
//! assert_eq!(table.load(1), Ok(Some(&101)));
//! assert_eq!(table.load(2), Ok(None)); // Never written: the caller returns zeros.
//! assert_eq!(table.free(1), Ok(Some(101)));
//! assert_eq!(table.counters().invalidates, 1);
//! ```

use core::mem;
use core::ops::Range;

use super::stats::Counters;

/// The state of one page of the device.
///
/// More states (same-filled, compressed, written back) come later; code that looks at a
/// slot goes through [`Slot::holds_data`] and [`Slot::into_handle`] where it can.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Slot<H> {
    /// Nothing stored: a read returns zeros.
    #[default]
    Empty,
    /// The page is stored in the memory that `H` refers to.
    Stored(H),
}

impl<H> Slot<H> {
    /// Returns `true` if a read of this slot returns stored data rather than zeros.
    pub fn holds_data(&self) -> bool {
        match self {
            Slot::Empty => false,
            Slot::Stored(_) => true,
        }
    }

    /// Returns a reference to the handle of the slot, if it has one.
    pub fn handle(&self) -> Option<&H> {
        match self {
            Slot::Empty => None,
            Slot::Stored(handle) => Some(handle),
        }
    }

    /// Returns the handle of the slot, if it has one, consuming the slot.
    pub fn into_handle(self) -> Option<H> {
        match self {
            Slot::Empty => None,
            Slot::Stored(handle) => Some(handle),
        }
    }
}

/// Why a slot operation was refused. A refused operation changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotError {
    /// The index or range reaches past the end of the table.
    OutOfRange,
}

/// The slots of one device and their statistics.
///
/// `S` is the storage, any owner of a `[Slot<H>]`: the module passes a kernel vector
/// wrapper, tests pass a `Vec<Slot<H>>`. Its `as_ref` and `as_mut` must return the same
/// slice every time. The handle type `H` is a parameter of each method rather than of the
/// type; it is inferred from `S`.
///
/// Dropping the table drops the storage and so every handle still in it: call
/// [`SlotTable::drain`] first if handles must be freed explicitly.
///
/// # Invariants
///
/// - `len` is the length of the storage's slice.
/// - `counters.stored_pages` is the number of slots whose [`Slot::holds_data`] is true, and
///   `counters.max_stored_pages >= counters.stored_pages`.
pub struct SlotTable<S> {
    slots: S,
    len: u64,
    counters: Counters,
}

/// Returns the slot at `index` of `slots`.
fn slot_at<H>(slots: &[Slot<H>], index: u64) -> Result<&Slot<H>, SlotError> {
    usize::try_from(index)
        .ok()
        .and_then(|i| slots.get(i))
        .ok_or(SlotError::OutOfRange)
}

/// Returns the slot at `index` of `slots`, mutably.
fn slot_at_mut<H>(slots: &mut [Slot<H>], index: u64) -> Result<&mut Slot<H>, SlotError> {
    usize::try_from(index)
        .ok()
        .and_then(|i| slots.get_mut(i))
        .ok_or(SlotError::OutOfRange)
}

impl<S> SlotTable<S> {
    /// Creates a table over `slots`.
    ///
    /// The storage is meant to be all [`Slot::Empty`]. Slots that already hold data are
    /// taken over as they are: they count in `stored_pages` (and its high-water mark) but
    /// not as stores. This scans the storage once.
    pub fn new<H>(slots: S) -> Self
    where
        S: AsRef<[Slot<H>]>,
    {
        let view = slots.as_ref();
        // CAST: a slice length always fits in a `u64` on the targets Linux supports.
        let len = view.len() as u64;
        let stored = view.iter().filter(|slot| slot.holds_data()).count() as u64;
        SlotTable {
            slots,
            len,
            // INVARIANT: `stored` counts the slots that hold data.
            counters: Counters {
                stored_pages: stored,
                max_stored_pages: stored,
                ..Counters::default()
            },
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

    /// Returns a copy of the statistics.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Returns the number of slots that hold data.
    pub fn stored_pages(&self) -> u64 {
        self.counters.stored_pages
    }

    /// Returns `true` if storing into slot `index` would take the table past
    /// `max_pages` stored pages. An overwrite never does; `None` is no limit.
    ///
    /// This is how `mem_limit` refuses stores while pages are kept whole.
    pub fn store_exceeds<H>(&self, index: u64, max_pages: Option<u64>) -> bool
    where
        S: AsRef<[Slot<H>]>,
    {
        let Some(max) = max_pages else {
            return false;
        };
        let grows = !matches!(self.slot(index), Ok(slot) if slot.holds_data());
        grows && self.counters.stored_pages >= max
    }

    /// Restarts the high-water mark of stored pages from the current level.
    ///
    /// What a write of `0` to zram's `mem_used_max` does.
    pub fn reset_max(&mut self) {
        // INVARIANT: `max_stored_pages >= stored_pages` still holds.
        self.counters.reset_max();
    }

    /// Returns the slot at `index` without counting anything.
    ///
    /// # Errors
    ///
    /// [`SlotError::OutOfRange`] if `index >= self.len()`.
    pub fn slot<H>(&self, index: u64) -> Result<&Slot<H>, SlotError>
    where
        S: AsRef<[Slot<H>]>,
    {
        slot_at(self.slots.as_ref(), index)
    }

    /// Returns the handle in slot `index` for an in-place update that keeps the
    /// slot holding data (e.g. an object moved by compaction). Counts nothing.
    pub fn handle_mut<H>(&mut self, index: u64) -> Option<&mut H>
    where
        S: AsMut<[Slot<H>]>,
    {
        match slot_at_mut(self.slots.as_mut(), index) {
            Ok(Slot::Stored(handle)) => Some(handle),
            _ => None,
        }
    }

    /// Replaces the slot at `index` with `new` and returns the old slot. Counts nothing.
    fn replace<H>(&mut self, index: u64, new: Slot<H>) -> Result<Slot<H>, SlotError>
    where
        S: AsMut<[Slot<H>]>,
    {
        let slot = slot_at_mut(self.slots.as_mut(), index)?;
        Ok(mem::replace(slot, new))
    }

    /// Stores `handle` in the slot at `index` and returns the handle it replaces, if any.
    ///
    /// The caller frees the returned handle after releasing the table's lock. The store is
    /// counted; overwriting a stored slot is a store, not an invalidate.
    ///
    /// # Errors
    ///
    /// [`SlotError::OutOfRange`] if `index >= self.len()`. Nothing is counted and `handle`
    /// is dropped, so callers check the index (for example with
    /// [`super::geometry::page_range`]) before allocating what `handle` refers to.
    pub fn store<H>(&mut self, index: u64, handle: H) -> Result<Option<H>, SlotError>
    where
        S: AsMut<[Slot<H>]>,
    {
        let old = self.replace(index, Slot::Stored(handle))?;
        // INVARIANT: the one slot that changed is accounted for.
        self.counters.record_store(old.holds_data());
        Ok(old.into_handle())
    }

    /// Records a store to `index` that could not be done, for example for lack of memory.
    ///
    /// Counts a failed store and empties the slot, since its old content is stale now and
    /// must never be returned by a later read. Returns the old handle, if any, for the
    /// caller to free; emptying a slot that held data counts an invalidate.
    ///
    /// # Errors
    ///
    /// [`SlotError::OutOfRange`] if `index >= self.len()`; nothing is counted.
    pub fn refuse_store<H>(&mut self, index: u64) -> Result<Option<H>, SlotError>
    where
        S: AsMut<[Slot<H>]>,
    {
        let old = self.replace(index, Slot::Empty)?;
        // INVARIANT: the one slot that changed is accounted for.
        self.counters.record_refuse(old.holds_data());
        Ok(old.into_handle())
    }

    /// Looks up the slot at `index` for a read.
    ///
    /// Returns the handle of a stored slot and counts a load. Returns `None` for a slot
    /// that holds nothing, which the caller answers with zeros; that counts a zero read,
    /// not a load.
    ///
    /// # Errors
    ///
    /// [`SlotError::OutOfRange`] if `index >= self.len()`; nothing is counted.
    pub fn load<H>(&mut self, index: u64) -> Result<Option<&H>, SlotError>
    where
        S: AsRef<[Slot<H>]>,
    {
        let slot = slot_at(self.slots.as_ref(), index)?;
        self.counters.record_load(slot.holds_data());
        Ok(slot.handle())
    }

    /// Empties the slot at `index` and returns its handle, if any, for the caller to free.
    ///
    /// Emptying a slot that held data counts an invalidate; freeing an empty slot counts
    /// nothing.
    ///
    /// # Errors
    ///
    /// [`SlotError::OutOfRange`] if `index >= self.len()`; nothing is counted.
    pub fn free<H>(&mut self, index: u64) -> Result<Option<H>, SlotError>
    where
        S: AsMut<[Slot<H>]>,
    {
        let old = self.replace(index, Slot::Empty)?;
        // INVARIANT: the one slot that changed is accounted for.
        self.counters.record_free(old.holds_data());
        Ok(old.into_handle())
    }

    /// Empties every slot of `range`, handing each handle to `release`.
    ///
    /// Returns the number of slots that held data; each counts an invalidate. Used for
    /// discard and write-zeroes. `release` runs while the caller still holds the table's
    /// lock, so it should only collect handles (or free them if that is cheap and allowed
    /// under the lock).
    ///
    /// # Errors
    ///
    /// [`SlotError::OutOfRange`] unless `range.start <= range.end <= self.len()`. The whole
    /// range is checked first: on error no slot is touched and nothing is counted.
    pub fn free_range<H>(
        &mut self,
        range: Range<u64>,
        release: impl FnMut(H),
    ) -> Result<u64, SlotError>
    where
        S: AsMut<[Slot<H>]>,
    {
        let start = usize::try_from(range.start).map_err(|_| SlotError::OutOfRange)?;
        let end = usize::try_from(range.end).map_err(|_| SlotError::OutOfRange)?;
        let slots = self
            .slots
            .as_mut()
            .get_mut(start..end)
            .ok_or(SlotError::OutOfRange)?;
        let freed = empty_all(slots, release);
        // INVARIANT: `freed` slots stopped holding data.
        self.counters.stored_pages = self.counters.stored_pages.saturating_sub(freed);
        self.counters.invalidates = self.counters.invalidates.saturating_add(freed);
        Ok(freed)
    }

    /// Empties every slot, handing each handle to `release`, for device reset or teardown.
    ///
    /// Returns the number of slots that held data. Unlike [`SlotTable::free_range`] this
    /// counts no invalidates: tearing down a device is not the swap layer dropping pages.
    /// Afterwards `stored_pages` is 0; every other counter, `max_stored_pages` included,
    /// keeps its value (a device reset that wants fresh statistics builds a new table).
    pub fn drain<H>(&mut self, release: impl FnMut(H)) -> u64
    where
        S: AsMut<[Slot<H>]>,
    {
        let freed = empty_all(self.slots.as_mut(), release);
        // INVARIANT: every slot is empty now.
        self.counters.stored_pages = 0;
        freed
    }
}

/// Empties every slot of `slots`, handing each handle to `release`, and returns the number
/// of slots that held data.
fn empty_all<H>(slots: &mut [Slot<H>], mut release: impl FnMut(H)) -> u64 {
    let mut freed: u64 = 0;
    for slot in slots {
        let old = mem::take(slot);
        if old.holds_data() {
            freed = freed.saturating_add(1);
        }
        if let Some(handle) = old.into_handle() {
            release(handle);
        }
    }
    freed
}
