//! Writes of slots to the backing device: tickets begun, completed and failed, whole
//! frames begun at once, and direct writes of pages the pool refused.

use core::mem;

use super::super::backing::Extents;
use super::super::table::Table;
use super::{state_mut, Dest, Resident, Slots, State, Ticket, WbError};

impl<S> Slots<S> {
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
        let kept = resident.migrating_handle().ok_or(WbError::NotWritable)?;
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
        let Some(kept) = self.end_migrating(ticket, |_| State::Migrated(ticket.dest)) else {
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
        let restored = self.end_migrating(ticket, |kept| State::Resident(R::restore(kept)));
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
    /// [`WbCounts::bad_releases`](super::WbCounts::bad_releases)): for a caller that
    /// refused one itself.
    pub fn note_bad_release(&mut self) {
        self.counts.bad_releases = self.counts.bad_releases.saturating_add(1);
    }

    /// Moves slot `ticket.slot` to `new(kept)` if it is migrating under `ticket`, and
    /// returns what it kept; otherwise changes nothing.
    fn end_migrating<R: Resident>(
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
}
