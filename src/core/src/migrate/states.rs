//! The slot table's own operations: creating it, storing into, loading, freeing and
//! draining slots, and the one place every change of a slot's state is counted.

use core::mem;

use super::super::backing::Extents;
use super::super::stats::SlotCounts;
use super::super::table::Table;
use super::{bump, state_mut, Dest, Location, Resident, Slots, State, WbCounts, WbError};

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
        let counters = SlotCounts {
            stored_pages: stored,
            max_stored_pages: stored,
            ..SlotCounts::default()
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
    pub fn counters(&self) -> SlotCounts {
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
    /// A [`Location::Backing`] destination is pinned, so its blocks stay allocated while the
    /// caller reads them with its lock dropped: [`Slots::unpin`] it after the read.
    ///
    /// # Errors
    ///
    /// [`WbError::OutOfRange`], or [`WbError::Backing`] if the extent cannot take another
    /// hold (then retry later); nothing is pinned or counted.
    pub fn load<R>(
        &mut self,
        index: u64,
        backing: &mut impl Extents,
    ) -> Result<Location<R>, WbError>
    where
        R: Resident,
        S: Table<State<R>>,
    {
        let found = match self.state(index)? {
            State::Empty => Location::Empty,
            State::Resident(resident) => Location::Ram(resident),
            State::Migrating { kept, .. } => Location::Ram(R::restore(kept)),
            State::Migrated(dest) => {
                backing.hold(dest.block).map_err(WbError::Backing)?;
                Location::Backing(dest)
            }
        };
        self.counters.record_load(!matches!(found, Location::Empty));
        Ok(found)
    }

    /// Drops the pin of a [`Location::Backing`] read, once.
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
            State::Migrating { kept, .. } => match (old.migrating_handle(), new.migrating_handle())
            {
                (Some(was), Some(now)) if *kept == was => {
                    *kept = now;
                    true
                }
                _ => false,
            },
            _ => false,
        }
    }

    /// Stores `new` in slot `index` as [`Slots::store`] does, counting a store, and
    /// returns the resident handle it replaces.
    pub(super) fn put<R>(
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
    pub(super) fn replace<R>(
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
    pub(super) fn release(&mut self, block: u32, backing: &mut impl Extents) {
        if backing.release_object(block).is_err() {
            self.note_bad_release();
        }
    }

    /// Updates the gauges after one slot went from `old` to `new`.
    pub(super) fn note<R: Resident>(&mut self, old: &State<R>, new: &State<R>) {
        // INVARIANT: the one slot that changed is counted in its new state only.
        bump(&mut self.counts, old, false);
        bump(&mut self.counts, new, true);
    }
}
