//! The writeback settings a store decides with: its watermarks, and whether a page read
//! from the backing device goes back into the pool (`promote_on_read`).
//!
//! They live in the store, set under its lock, because the decisions that use them are
//! taken there: whether a store starts automatic writeback, when an automatic run stops,
//! and whether a promotion may take pool memory.
//!
//! This is a child module of [`super`]: it adds these methods to [`Store`].

use super::super::attrs::{WritebackConfig, DEFAULT_POOL_HIGH_WMARK, DEFAULT_POOL_LOW_WMARK};
use super::super::backing::BlockEntry;
use super::{Content, Dest, FrameEntry, Incoming, State, Store, StoreError, Table};

/// The settings of [`WritebackConfig`] the store decides with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Policy {
    /// `pool_high_wmark` and `pool_low_wmark`, percent of the page limit.
    high_wmark: u8,
    low_wmark: u8,
    promote_on_read: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            high_wmark: DEFAULT_POOL_HIGH_WMARK,
            low_wmark: DEFAULT_POOL_LOW_WMARK,
            promote_on_read: false,
        }
    }
}

/// What [`Store::promote`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Promotion {
    /// The page is in the pool again; the slot no longer names the backing device.
    Done,
    /// Nothing changed: `promote_on_read` is off, the slot no longer holds the page
    /// read, or the pool is at its high watermark.
    NotWanted,
}

impl<S, F, T, M, C> Store<S, F, T, M, C>
where
    S: Table<State<Content>>,
    F: AsRef<[u8]> + AsMut<[u8]>,
    T: Table<FrameEntry<F>>,
    M: Table<u64>,
    C: Table<BlockEntry>,
{
    /// Takes the watermarks and `promote_on_read` from `settings` (at initialization and
    /// after each sysfs write of them).
    pub fn apply_writeback_settings(&mut self, settings: &WritebackConfig) {
        self.policy = Policy {
            high_wmark: settings.pool_high_wmark(),
            low_wmark: settings.pool_low_wmark(),
            promote_on_read: settings.promote_on_read(),
        };
    }

    /// Returns `true` if the pool has reached `pool_high_wmark`: automatic writeback
    /// should start. Never without a page limit.
    pub fn over_high_wmark(&self) -> bool {
        self.over_watermark(u64::from(self.policy.high_wmark))
    }

    /// Returns `true` while the pool is at or over `pool_low_wmark`: an automatic run
    /// goes on.
    pub fn over_low_wmark(&self) -> bool {
        self.over_watermark(u64::from(self.policy.low_wmark))
    }

    /// Returns `true` if pages read from the backing device should go back to the pool.
    pub fn promotes_on_read(&self) -> bool {
        self.policy.promote_on_read
    }

    /// Stores `page`, just read from `dest`, back into slot `index` if
    /// `promote_on_read` is on, the slot still holds `dest` and the pool is below its
    /// high watermark.
    ///
    /// Only the slot's current content may go back: a newer write, or a free, since the
    /// read must never be undone by this older page.
    ///
    /// # Errors
    ///
    /// As [`Store::store`]: [`StoreError::NeedFrame`] asks for a frame (then call
    /// again; the conditions are checked anew); nothing changed on any error.
    pub fn promote(
        &mut self,
        index: u64,
        dest: Dest,
        page: Incoming<'_>,
    ) -> Result<Promotion, StoreError> {
        if !self.policy.promote_on_read
            || self.state(index) != Some(State::Migrated(dest))
            || self.over_high_wmark()
        {
            return Ok(Promotion::NotWanted);
        }
        self.store(index, page)?;
        Ok(Promotion::Done)
    }
}
