//! Huge frames: one uncompressed page of one owner in a frame of exactly one page.
//!
//! This is a child module of [`super`]: it adds these methods to [`Pool`] and sees its fields.

use super::reserve::Want;
use super::FREE_OWNER;
use super::{entry, entry_mut, EntryState, FrameEntry, FrameId, Page, Pool, PoolError, Table};

impl<F, S> Pool<F, S>
where
    F: AsRef<[u8]> + AsMut<[u8]>,
    S: Table<FrameEntry<F>>,
{
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
        slot.state = EntryState::Huge { frame, owner, used };
        // INVARIANT: the new huge frame, one page, goes on the LRU list, hottest, and in
        // the count.
        self.lru.push_back(entries, id);
        self.huge_frames = self.huge_frames.saturating_add(1);
        Ok(id)
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
            Some(EntryState::Huge { frame, .. }) => {
                <&Page>::try_from(frame.as_ref()).map_err(|_| PoolError::BadRef)
            }
            _ => Err(PoolError::BadRef),
        }
    }

    /// Returns the owner of the huge frame `id`.
    fn huge_owner(&self, id: FrameId) -> Result<u32, PoolError> {
        match entry(&self.table, id).map(|slot| &slot.state) {
            Some(EntryState::Huge { owner, .. }) => Ok(*owner),
            _ => Err(PoolError::BadRef),
        }
    }

    /// Frees the huge frame `id`: it goes to the reserve or is dropped like an emptied
    /// packed frame (see [`Pool::free`]).
    ///
    /// # Errors
    ///
    /// [`PoolError::BadRef`], changing nothing, unless `id` is a huge frame.
    pub fn free_huge(&mut self, id: FrameId) -> Result<(), PoolError> {
        self.huge_owner(id)?;
        self.retire(id);
        Ok(())
    }
}
