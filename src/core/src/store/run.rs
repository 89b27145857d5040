//! A writeback run's choices: which frame goes next, whether it fits the run's budget of
//! blocks, and when the run stops. The module keeps the copy buffers and does the I/O:
//!
//! ```text
//! let mut run = store.lock().start_writeback(pick, budget, until_below_low);
//! loop {
//!     match store.lock().next_writeback(&mut run, buffer) {
//!         RunStep::Begun(write) => /* submit the copy in `buffer` */,
//!         RunStep::Yield => /* the lock was held long enough: drop it, call again */,
//!         RunStep::GrowTables => /* grow the backing allocator's tables, call again */,
//!         RunStep::Stop(why) => break,
//!     }
//! }
//! ```
//!
//! This is a child module of [`super`]: it adds these methods to [`Store`].

use super::super::attrs::WritebackRequest;
use super::super::backing::BlockEntry;
use super::super::geometry::PAGE_SIZE;
use super::super::pool::FrameId;
use super::{
    Content, FrameEntry, FrameWrite, NextWriteback, State, Store, Table, WritebackError,
    WritebackMode, WRITEBACK_FRAMES_PER_STEP,
};

/// Page indexes a [`WritebackPick::Pages`] run looks at per call of
/// [`Store::next_writeback`].
pub const PAGES_PER_STEP: u64 = 1024;

/// Which frames a run takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WritebackPick {
    /// The frames writeback's walk gives in this mode, coldest first.
    Mode(WritebackMode),
    /// The frames of the pages `next..=last`, in page order.
    Pages {
        /// The next page to look at.
        next: u64,
        /// The last page, included.
        last: u64,
    },
}

impl From<WritebackRequest> for WritebackPick {
    /// The frames a write to `writeback` asks for.
    fn from(request: WritebackRequest) -> Self {
        let mode = match request {
            WritebackRequest::Idle => WritebackMode::Idle,
            WritebackRequest::Huge => WritebackMode::Huge,
            WritebackRequest::HugeIdle => WritebackMode::HugeIdle,
            WritebackRequest::Incompressible => WritebackMode::Incompressible,
            WritebackRequest::All => WritebackMode::All,
            WritebackRequest::Pages { first, last } => {
                return WritebackPick::Pages { next: first, last }
            }
        };
        WritebackPick::Mode(mode)
    }
}

/// Why a run stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunEnd {
    /// No frame left to take, or (an automatic run) the pool is below `pool_low_wmark`.
    Done,
    /// The next frame does not fit in what is left of the budget.
    Budget,
    /// The backing device has no room for the next frame.
    NoSpace,
}

/// What [`Store::next_writeback`] did.
#[derive(Debug)]
pub enum RunStep {
    /// A frame begun, its copy in the caller's buffer: write it, then
    /// [`Store::end_writeback`].
    Begun(FrameWrite),
    /// Nothing begun in this call, which looked at its share: drop the lock and call
    /// again.
    Yield,
    /// The backing allocator needs its tables grown ([`Store::grow_backing`], with the
    /// lock dropped); then call again (or stop with [`RunEnd::NoSpace`] if they
    /// cannot grow).
    GrowTables,
    /// The run is over.
    Stop(RunEnd),
}

/// A writeback run in progress: what it picks, what it may still write, and the frame
/// it is waiting to find room for.
#[derive(Debug)]
pub struct WritebackRun {
    pick: WritebackPick,
    /// Blocks the run may still write; `None`: no budget.
    budget: Option<u64>,
    /// An automatic run: stops once the pool is below `pool_low_wmark`.
    until_below_low: bool,
    /// A frame the backing allocator's bounded search has not found room for yet.
    retry: Option<FrameId>,
}

impl WritebackRun {
    /// Blocks the run may still write; `None`: no budget.
    pub fn budget_left(&self) -> Option<u64> {
        self.budget
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
    /// Starts a run over the frames `pick` gives, within `budget` blocks if any; an
    /// automatic run (`until_below_low`) stops when the pool is below `pool_low_wmark`.
    pub fn start_writeback(
        &mut self,
        pick: WritebackPick,
        budget: Option<u64>,
        until_below_low: bool,
    ) -> WritebackRun {
        self.rewind_writeback();
        WritebackRun {
            pick,
            budget,
            until_below_low,
            retry: None,
        }
    }

    /// Picks the run's next frame and begins its writeback, copying it into `copy`
    /// (at least the largest frame's length); looks at a bounded number of frames or
    /// pages per call.
    pub fn next_writeback(&mut self, run: &mut WritebackRun, copy: &mut [u8]) -> RunStep {
        if run.until_below_low && !self.over_low_wmark() {
            return RunStep::Stop(RunEnd::Done);
        }
        let id = match run.retry.take() {
            Some(id) => id,
            None => match self.pick(&mut run.pick) {
                NextWriteback::Frame(id) => id,
                NextWriteback::NoneLeft => return RunStep::Stop(RunEnd::Done),
                NextWriteback::LimitReached => return RunStep::Yield,
            },
        };
        // CAST: a frame is at most 8 pages.
        let blocks = (self.pool.frame_len(id).unwrap_or(PAGE_SIZE) / PAGE_SIZE) as u64;
        if run.budget.is_some_and(|left| left < blocks) {
            return RunStep::Stop(RunEnd::Budget);
        }
        match self.begin_writeback(id, copy) {
            Ok(write) => {
                if let Some(left) = &mut run.budget {
                    *left -= blocks;
                }
                RunStep::Begun(write)
            }
            Err(WritebackError::NoSpace) => RunStep::Stop(RunEnd::NoSpace),
            Err(WritebackError::SearchLimitReached) => {
                run.retry = Some(id);
                RunStep::Yield
            }
            Err(WritebackError::NeedTables) => {
                run.retry = Some(id);
                RunStep::GrowTables
            }
            // Nothing left to write in the frame (its pages freed or written since it
            // was picked): the next one.
            Err(_) => RunStep::Yield,
        }
    }

    /// The next frame `pick` gives, looking at a bounded number of frames or pages.
    fn pick(&mut self, pick: &mut WritebackPick) -> NextWriteback {
        match pick {
            WritebackPick::Mode(mode) => {
                self.next_writeback_within(*mode, WRITEBACK_FRAMES_PER_STEP)
            }
            WritebackPick::Pages { next, last } => {
                let stop = next.saturating_add(PAGES_PER_STEP);
                while *next <= *last {
                    let index = *next;
                    *next = next.saturating_add(1);
                    if let Some(id) = self.next_writeback_after(WritebackMode::Page(index), None) {
                        return NextWriteback::Frame(id);
                    }
                    if index == u64::MAX {
                        break;
                    }
                    if *next >= stop {
                        return NextWriteback::LimitReached;
                    }
                }
                NextWriteback::NoneLeft
            }
        }
    }
}
