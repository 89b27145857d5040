//! Frame writeback (see [Writeback](super#writeback)): the backing device attached to the
//! store, and frame writes begun, with a ticket for each resident slot of the frame, and
//! ended, completing or failing the tickets.
//!
//! This is a child module of [`super`]: it adds these methods to [`Store`] and sees its
//! fields.

use super::super::backing::BlockEntry;
use super::super::checksum::WriteSums;
use super::super::geometry::SECTORS_PER_PAGE;
use super::{frame, Backing, BackingError, BackingStats, Content, Dest, Extents, FrameEntry};
use super::{FrameId, FrameState, State, Store, Table, Ticket, WbCounts};
use super::{FREE_OWNER, PAGE_LEN, PAGE_SIZE};

/// Why a frame writeback could not begin. Nothing changed, but the bytes of
/// the caller's copy buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WritebackError {
    /// No backing device is attached.
    NoBacking,
    /// The frame is not a packed or huge frame of the pool.
    BadFrame,
    /// The copy buffer is shorter than the frame.
    ShortCopy,
    /// The backing device has no free run of the frame's pages.
    NoSpace,
    /// The backing allocator's tables cover no free run of the frame's pages but can grow:
    /// drop the lock, allocate, hand them in with [`Store::grow_backing`], call again.
    NeedTables,
    /// The search for free blocks on the backing device looked at its limit of map words
    /// ([`SEARCH_WORDS`](super::super::backing::SEARCH_WORDS)) without finding a run. Drop
    /// the lock and call again for the same frame (or page): the search goes on where it
    /// stopped, and within a sweep of calls over the device it ends in success or
    /// [`WritebackError::NoSpace`] (see [`backing`](super::super::backing)).
    SearchLimitReached,
    /// No slot of the frame is resident: nothing to write (its extent was
    /// freed again).
    NothingToWrite,
    /// A direct store into a slot the slot table does not hold yet: grow it
    /// ([`Store::grow_slots`]) and call again.
    NeedSlots,
    /// A direct store to a slot past the end of the device.
    OutOfRange,
}

/// Which frames [`Store::next_writeback`] picks (zram's `writeback` modes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WritebackMode {
    /// Every packed and huge frame.
    All,
    /// Huge frames.
    Huge,
    /// Idle frames (see [`Store::start_mark_idle`]).
    Idle,
    /// Huge frames that are idle.
    HugeIdle,
    /// Pages that did not compress: the store keeps those as huge pages, so
    /// this is [`WritebackMode::Huge`].
    Incompressible,
    /// The frame holding this slot's page, once.
    Page(u64),
}

/// A frame write begun by [`Store::begin_writeback`]: what the module needs to
/// submit it, and hands back to [`Store::end_writeback`] with the copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameWrite {
    /// The first block of the extent: write the copy at sector `block * 8`.
    pub block: u32,
    /// Blocks of the extent, the frame's pages: write `pages * 4096` bytes of
    /// the copy.
    pub pages: u32,
    /// Slots whose pages the write migrates (tickets begun).
    pub objects: u32,
    /// Bytes of the copy the records take (the frame's tail), a page for a
    /// huge frame.
    pub bytes: usize,
    /// Whether the frame is a huge page.
    pub huge: bool,
    /// The slot of a huge page: its copy has no record header to tell.
    owner: u32,
}

impl FrameWrite {
    /// The first 512-byte sector of the extent.
    pub fn sector(&self) -> u64 {
        sector(self.block)
    }

    /// The checksums (by `sum`) of the blocks this write writes from `copy`,
    /// the buffer [`Store::begin_writeback`] filled; `None` if `copy` is
    /// shorter than the write.
    pub fn sums(&self, copy: &[u8], sum: impl Fn(&[u8]) -> u32) -> Option<WriteSums> {
        WriteSums::of(copy.get(..self.len())?, sum)
    }

    /// The bytes to write: the extent's length.
    pub fn len(&self) -> usize {
        // CAST: at most 8 pages, which fits a `usize`.
        (self.pages as usize).saturating_mul(PAGE_SIZE)
    }

    /// Returns `true` if the write has no bytes (never for a write begun).
    pub fn is_empty(&self) -> bool {
        self.pages == 0
    }
}

/// How the slots of a frame write ended, from [`Store::end_writeback`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WritebackEnd {
    /// Slots (pages) now migrated: their objects were freed from the pool.
    pub migrated: u32,
    /// Slots resident again after a failed write.
    pub failed: u32,
    /// Slots overwritten or freed while their write was in flight.
    pub stale: u32,
}

/// Traffic to the backing device in pages, for `bd_stat`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BdCounts {
    /// Loads of migrated slots handed to the module to read from the device.
    pub reads: u64,
    /// Pages written by frame writes that succeeded (a frame's pages) and by
    /// direct stores (a page each).
    pub writes: u64,
}

/// The writeback error for a backing device that could not allocate: out of space, or
/// not found yet within the search's limit.
pub(super) fn space_error(error: BackingError) -> WritebackError {
    match error {
        BackingError::SearchLimitReached => WritebackError::SearchLimitReached,
        BackingError::NeedTables => WritebackError::NeedTables,
        _ => WritebackError::NoSpace,
    }
}

/// The first 512-byte sector of `block`.
pub(super) fn sector(block: u32) -> u64 {
    u64::from(block).saturating_mul(SECTORS_PER_PAGE)
}

impl<S, F, T, M, C> Store<S, F, T, M, C>
where
    S: Table<State<Content>>,
    F: AsRef<[u8]> + AsMut<[u8]>,
    T: Table<FrameEntry<F>>,
    M: Table<u64>,
    C: Table<BlockEntry>,
{
    /// Attaches the allocator of a backing device, so that frames can be written
    /// back; gives it back if one is attached already.
    pub fn attach_backing(&mut self, backing: Backing<M, C>) -> Result<(), Backing<M, C>> {
        if self.backing.is_some() {
            return Err(backing);
        }
        self.backing = Some(backing);
        Ok(())
    }

    /// What the backing device's allocator holds, if one is attached.
    pub fn backing_stats(&self) -> Option<BackingStats> {
        self.backing.as_ref().map(Backing::stats)
    }

    /// Lets `grow` append zeroed entries to the backing allocator's tables (see
    /// [`Backing::grow`]), after [`WritebackError::NeedTables`]; does nothing without a
    /// backing device.
    pub fn grow_backing(&mut self, grow: impl FnOnce(&mut M, &mut C)) {
        if let Some(backing) = self.backing.as_mut() {
            backing.grow(grow);
        }
    }

    /// The backing device's allocator, if one is attached, for statistics and
    /// checks.
    pub fn backing(&self) -> Option<&Backing<M, C>> {
        self.backing.as_ref()
    }

    /// The slots in each writeback state and the writeback events: with
    /// `direct`, the stores made straight to the backing device, and
    /// `bad_releases`, which only a bug makes non-zero.
    pub fn wb_counts(&self) -> WbCounts {
        self.slots.counts()
    }

    /// Pages read from and written to the backing device.
    pub fn bd_counts(&self) -> BdCounts {
        self.bd
    }

    /// Begins writing the packed or huge frame `id` back: allocates an extent of
    /// its pages, makes each of its resident slots migrating (a ticket each) and
    /// copies the frame into `copy[..len]`, `len` the frame's length.
    ///
    /// A record whose slot does not hold it resident (a bug, or a slot being
    /// written back already) is not begun, and is marked a hole in the copy, so
    /// that [`Store::end_writeback`] rebuilds exactly the tickets begun. The
    /// caller writes `copy[..write.len()]` at sector `write.sector()` with its
    /// lock dropped, then hands `write` and the same `copy`, unchanged, to
    /// [`Store::end_writeback`]; meanwhile the frame may change or go (see the
    /// [module documentation](super#writeback)). This does not count as a use of
    /// the frame.
    ///
    /// # Errors
    ///
    /// Nothing changed but the bytes of `copy`: [`WritebackError::NoBacking`],
    /// [`WritebackError::BadFrame`], [`WritebackError::ShortCopy`],
    /// [`WritebackError::NoSpace`], [`WritebackError::SearchLimitReached`] (call
    /// again for the same frame), or [`WritebackError::NothingToWrite`] (no slot
    /// of the frame is resident; its extent was freed again).
    pub fn begin_writeback(
        &mut self,
        id: FrameId,
        copy: &mut [u8],
    ) -> Result<FrameWrite, WritebackError> {
        if self.backing.is_none() {
            return Err(WritebackError::NoBacking);
        }
        let (huge_owner, tail) = match self.pool.frame_state(id) {
            Some(FrameState::Packed(usage)) => (None, usage.tail),
            Some(FrameState::Huge { owner }) => (Some(owner), PAGE_LEN),
            _ => return Err(WritebackError::BadFrame),
        };
        let bytes = self.pool.frame(id).ok_or(WritebackError::BadFrame)?;
        let copy = copy
            .get_mut(..bytes.len())
            .ok_or(WritebackError::ShortCopy)?;
        // CAST: a frame is at most 8 pages.
        let pages = (bytes.len() / PAGE_SIZE) as u32;
        let block = self.backing.alloc(pages).map_err(space_error)?;
        copy.copy_from_slice(bytes);
        let mut objects: u32 = 0;
        let (slots, backing) = (&mut self.slots, &mut self.backing);
        if let Some(owner) = huge_owner {
            let dest = Dest::page(block);
            if slots
                .begin_resident(u64::from(owner), Content::Huge(id), dest, backing)
                .is_ok()
            {
                objects = 1;
            }
        } else {
            for (owner, object) in self.pool.records(id) {
                let dest = Dest {
                    block,
                    offset: object.offset,
                    len: object.len,
                };
                let content = Content::Packed(object);
                if slots
                    .begin_resident(u64::from(owner), content, dest, backing)
                    .is_ok()
                {
                    objects = objects.saturating_add(1);
                } else {
                    // Not written for its slot: no ticket to rebuild from the copy.
                    frame::set_owner(copy, object.offset, FREE_OWNER);
                }
            }
        }
        if objects == 0 {
            // No ticket holds the extent.
            let _ = self.backing.abort(block);
            return Err(WritebackError::NothingToWrite);
        }
        Ok(FrameWrite {
            block,
            pages,
            objects,
            bytes: usize::from(tail),
            huge: huge_owner.is_some(),
            owner: huge_owner.unwrap_or(FREE_OWNER),
        })
    }

    /// Ends the frame write `write`, which succeeded if `sums` are given (the
    /// checksums of the blocks written, one per block, see
    /// [`crate::checksum`]): rebuilds its tickets from the records of `copy`
    /// (the buffer [`Store::begin_writeback`] filled, unchanged) and completes
    /// or fails each. Checksums that are not one per block of the extent fail
    /// the write (a caller's bug; the pages stay in memory).
    ///
    /// A slot still migrating under its ticket becomes migrated and its object
    /// is freed from the pool (frames emptied go to the reserve or are
    /// dropped), or, if the write failed, becomes resident again. A
    /// slot overwritten or freed meanwhile is stale: only the ticket's hold on
    /// the extent is dropped. The extent is freed with its last hold.
    pub fn end_writeback(
        &mut self,
        write: &FrameWrite,
        copy: &[u8],
        sums: Option<&WriteSums>,
    ) -> WritebackEnd {
        let mut end = WritebackEnd::default();
        let ok = sums.is_some_and(|sums| {
            self.backing
                .as_mut()
                .is_some_and(|backing| backing.set_sums(write.block, sums.as_slice()).is_ok())
        });
        if write.huge {
            let ticket = Ticket {
                slot: u64::from(write.owner),
                dest: Dest::page(write.block),
            };
            self.end_ticket(ticket, ok, &mut end);
        } else {
            let tail = u16::try_from(write.bytes).unwrap_or(0);
            let records = copy
                .get(..write.len())
                .map(|bytes| frame::records(bytes, tail))
                .into_iter()
                .flatten()
                .filter(|record| !record.is_free());
            for record in records {
                let ticket = Ticket {
                    slot: u64::from(record.owner),
                    dest: Dest {
                        block: write.block,
                        offset: record.offset,
                        len: record.len,
                    },
                };
                self.end_ticket(ticket, ok, &mut end);
            }
        }
        if ok {
            self.bd.writes = self.bd.writes.saturating_add(u64::from(write.pages));
        }
        end
    }

    /// Completes (`ok`) or fails `ticket`, freeing the object of a slot it
    /// migrates, and counts the outcome in `end`.
    fn end_ticket(&mut self, ticket: Ticket, ok: bool, end: &mut WritebackEnd) {
        if !ok {
            let counter = if self.slots.fail::<Content>(ticket, &mut self.backing) {
                &mut end.failed
            } else {
                &mut end.stale
            };
            *counter = counter.saturating_add(1);
            return;
        }
        match self.slots.complete(ticket, &mut self.backing) {
            Some(content) => {
                end.migrated = end.migrated.saturating_add(1);
                // The slot was migrating, so `ticket.slot` is an owner.
                if let Ok(owner) = u32::try_from(ticket.slot) {
                    self.release(owner, Some(content));
                }
            }
            None => end.stale = end.stale.saturating_add(1),
        }
    }
}
