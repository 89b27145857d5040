//! Direct stores (see [Direct stores](super#direct-stores)): a page the pool refused,
//! written straight to one block of the backing device.
//!
//! This is a child module of [`super`]: it adds these methods to [`Store`] and sees its
//! fields.

use super::super::backing::BlockEntry;
use super::writeback::{sector, space_error, WritebackError};
use super::{frame, Content, Dest, FrameEntry, State, Store, StoreError, Table, WbError};
use super::{MAX_OBJECT, PAGE_SIZE};

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

impl<S, F, T, M, C> Store<S, F, T, M, C>
where
    S: Table<State<Content>>,
    F: AsRef<[u8]> + AsMut<[u8]>,
    T: Table<FrameEntry<F>>,
    M: Table<u64>,
    C: Table<BlockEntry>,
{
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
    /// `sum` (the block's checksum, see [`crate::checksum`]) is given; returns
    /// whether the page is stored.
    ///
    /// If it succeeded, the slot becomes migrated to `dest`
    /// ([`DirectWrite::write_record`]'s destination, or
    /// [`DirectWrite::page`]), and the write's hold on the block passes to it.
    /// What the slot held goes as in [`Store::store`]: a resident object is
    /// freed from the pool (frames emptied go to the reserve or are dropped),
    /// a migrated slot's destination is released, and a write back of a
    /// migrating slot is superseded (its completion finds its ticket stale).
    /// It counts as a store, a direct store ([`WbCounts::direct`]) and a page
    /// written ([`BdCounts::writes`]).
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
    ///
    /// [`BdCounts::writes`]: super::BdCounts::writes
    /// [`WbCounts::bad_releases`]: super::WbCounts::bad_releases
    /// [`WbCounts::direct`]: super::WbCounts::direct
    pub fn end_direct(
        &mut self,
        write: DirectWrite,
        dest: Dest,
        sum: Option<u32>,
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
        let Some(sum) = sum else {
            self.slots.abort_direct(write.block, &mut self.backing);
            return Ok(false);
        };
        if !write.takes(dest) {
            self.slots.abort_direct(write.block, &mut self.backing);
            self.slots.note_bad_release();
            return Err(StoreError::BadDest);
        }
        if let Some(backing) = self.backing.as_mut() {
            // One block, held by this write (checked above): cannot fail.
            let _ = backing.set_sums(write.block, &[sum]);
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
        self.release(write.owner, old);
        Ok(true)
    }
}
