//! Frames coming into and going out of the pool: the frame table's entries, the page
//! limit, and the reserve of empty frames kept for the next store.
//!
//! This is a child module of [`super`]: it adds these methods to [`Pool`] and sees its fields.

use core::mem;

use super::packed::Usage;
use super::stats::Totals;
use super::walk::IdleWalk;
use super::{entry, entry_mut, EntryState, FrameEntry, FrameId, Links, List, Pool, Table};
use super::{CLASSES, MAX_FRAME_SIZE, PAGE_SIZE};

/// Number of emptied frames the pool keeps for reuse instead of releasing them.
pub const RESERVE_CAP: u32 = 2;

/// [`PAGE_SIZE`] as a frame offset.
// CAST: 4096 fits in a `u16`.
pub(super) const PAGE_END: u16 = PAGE_SIZE as u16;

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
pub(super) fn pages_len(pages: u8) -> u16 {
    PAGE_END.saturating_mul(u16::from(pages))
}

/// Which reserve frame a store takes.
#[derive(Clone, Copy)]
pub(super) enum Want {
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
    /// [`PoolStats::total_pages`](super::PoolStats::total_pages) without building the whole
    /// [`PoolStats`](super::PoolStats).
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
    pub(super) fn put_reserve(&mut self, id: FrameId, frame: F, pages: u8) {
        let entries = &mut self.table;
        let Some(slot) = entry_mut(entries, id) else {
            // Unreachable: `id` is an entry of the table. Dropping the frame is the
            // least harm.
            return;
        };
        // INVARIANT: a vacant entry, off every list, becomes a reserve frame on the reserve
        // and in its page count.
        slot.state = EntryState::Reserve { frame, pages };
        self.reserve.push_front(entries, id);
        self.reserve_pages = self.reserve_pages.saturating_add(u64::from(pages));
    }

    /// Returns the reserve frame a store wanting `want` takes, if the reserve has one.
    ///
    /// This walks the reserve, which is short (see the [module documentation](super)).
    pub(super) fn find_reserve(&self, want: Want) -> Option<FrameId> {
        let entries = &self.table;
        let mut best: Option<(FrameId, u8)> = None;
        for id in self.reserve.iter(entries) {
            let Some(EntryState::Reserve { pages, .. }) =
                entry(entries, id).map(|slot| &slot.state)
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
    pub(super) fn take_reserve(&mut self, id: FrameId) -> Option<(F, u8)> {
        let entries = &mut self.table;
        if !matches!(entry(entries, id)?.state, EntryState::Reserve { .. }) {
            return None;
        }
        if !self.reserve.remove(entries, id) {
            return None;
        }
        let slot = entry_mut(entries, id)?;
        match mem::take(&mut slot.state) {
            EntryState::Reserve { frame, pages } => {
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
    /// reserve or drops it.
    fn reserve_or_drop(&mut self, id: FrameId, frame: F, pages: u8) {
        let worth_keeping = self.reserve.len() < RESERVE_CAP && self.within_limit(u64::from(pages));
        if worth_keeping {
            self.put_reserve(id, frame, pages);
            return;
        }
        let entries = &mut self.table;
        if let Some(slot) = entry_mut(entries, id) {
            slot.state = EntryState::Vacant;
            self.vacant.push_front(entries, id);
        }
        drop(frame);
    }

    /// Drops every reserve frame and returns how many there were.
    pub fn release_reserve(&mut self) -> u32 {
        let mut count: u32 = 0;
        while let Some(id) = self.reserve.front() {
            let Some((frame, _)) = self.take_reserve(id) else {
                // Unreachable: only reserve frames are on the reserve.
                break;
            };
            self.vacant.push_front(&mut self.table, id);
            drop(frame);
            count = count.saturating_add(1);
        }
        count
    }

    /// Takes the packed or huge frame `id` off its lists and out of the counts, and puts
    /// the frame in the reserve or drops it.
    pub(super) fn retire(&mut self, id: FrameId) {
        let is_packed = match entry(&self.table, id).map(|slot| &slot.state) {
            Some(EntryState::Packed(_)) => true,
            Some(EntryState::Huge { .. }) => false,
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
            EntryState::Packed(packed) => {
                self.totals.replace(packed.usage(), Usage::default());
                self.packed_frames = self.packed_frames.saturating_sub(1);
                let pages = packed.pages();
                self.packed_pages = self.packed_pages.saturating_sub(u64::from(pages));
                (packed.frame, pages)
            }
            EntryState::Huge { frame, .. } => {
                self.huge_frames = self.huge_frames.saturating_sub(1);
                (frame, 1)
            }
            other => {
                // Unreachable: checked above.
                slot.state = other;
                return;
            }
        };
        self.reserve_or_drop(id, frame, pages);
    }

    /// Drops every frame the pool holds (packed, huge and reserve) and returns how many
    /// there were, for device reset or teardown.
    ///
    /// Every reference into the pool is invalid afterwards. The page limit is kept.
    pub fn drain(&mut self) -> u32 {
        let mut count: u32 = 0;
        let used = usize::try_from(self.fresh).unwrap_or(usize::MAX);
        for index in 0..used.min(self.table.len()) {
            let Some(slot) = self.table.get_mut(index) else {
                break;
            };
            slot.lru = Links::UNLINKED;
            let frame = match mem::take(&mut slot.state) {
                EntryState::Vacant => continue,
                EntryState::Reserve { frame, .. } | EntryState::Huge { frame, .. } => frame,
                EntryState::Packed(packed) => packed.frame,
            };
            drop(frame);
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
