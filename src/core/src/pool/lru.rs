//! The least-recently-used order of packed and huge frames, and the clock that stamps
//! each frame's last use and idle mark (see [the pool
//! documentation](super#least-recently-used-order)).
//!
//! This is a child module of [`super`]: it adds these methods to [`Pool`] and sees its fields.
//! The walks over this order done in steps are in `walk.rs`.

use super::{entry, entry_mut, EntryState, FrameEntry, FrameId, Pool, Table};

/// When a packed or huge frame was last used, and whether it is marked idle, in 16 bits:
/// the minute of the pool's clock ([`Pool::set_clock`]) modulo [`USED_PERIOD`], and the
/// idle mark in the top bit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Used(u16);

/// The period of the minutes a frame records its last use in: 2^15 minutes, 22 days.
pub const USED_PERIOD: u64 = 1 << 15;

impl Used {
    /// The idle mark.
    pub(super) const IDLE: u16 = 1 << 15;

    /// A use at `minute` of the clock, not idle.
    #[inline]
    pub(super) fn at(minute: u64) -> Self {
        // CAST: the remainder is below 2^15, which fits a `u16`.
        Used((minute % USED_PERIOD) as u16)
    }

    /// The minute of the use, modulo [`USED_PERIOD`].
    pub(super) fn minute(self) -> u16 {
        self.0 & !Self::IDLE
    }

    fn is_idle(self) -> bool {
        self.0 & Self::IDLE != 0
    }

    pub(super) fn idle(self) -> Self {
        Used(self.0 | Self::IDLE)
    }
}

/// Returns the last use of the packed or huge frame of `entry`.
#[inline]
pub(super) fn used_mut<F>(entry: &mut FrameEntry<F>) -> Option<&mut Used> {
    match &mut entry.state {
        EntryState::Packed(packed) => Some(&mut packed.used),
        EntryState::Huge { used, .. } => Some(used),
        EntryState::Vacant | EntryState::Reserve { .. } => None,
    }
}

impl<F, S> Pool<F, S>
where
    F: AsRef<[u8]> + AsMut<[u8]>,
    S: Table<FrameEntry<F>>,
{
    /// Makes frame `id` the most recently used, used now and not idle.
    #[inline]
    pub(super) fn touch(&mut self, id: FrameId) {
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
    pub(super) fn used_now(&self) -> Used {
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
            Some(EntryState::Packed(packed)) => packed.used.is_idle(),
            Some(EntryState::Huge { used, .. }) => used.is_idle(),
            _ => false,
        }
    }

    /// Returns the least recently used packed or huge frame, if any.
    pub fn coldest(&self) -> Option<FrameId> {
        self.lru.front()
    }

    /// Returns the frame used next after the packed or huge frame `id`, if any.
    pub fn next_warmer(&self, id: FrameId) -> Option<FrameId> {
        let entries = &self.table;
        match entry(entries, id)?.state {
            EntryState::Packed(_) | EntryState::Huge { .. } => self.lru.next(entries, id),
            EntryState::Vacant | EntryState::Reserve { .. } => None,
        }
    }

    /// Returns an iterator over the packed and huge frames from the least to the most
    /// recently used.
    pub fn lru_iter(&self) -> impl Iterator<Item = FrameId> + '_ {
        self.lru.iter(&self.table)
    }
}
