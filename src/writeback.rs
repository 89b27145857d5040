// SPDX-License-Identifier: GPL-2.0

//! Writeback: moving whole pool frames to the backing device.
//!
//! A run picks frames under the store lock, a bounded walk at a time, copies
//! each into one of the run's copy buffers as it begins it
//! (`Store::next_writeback`), and submits up to
//! [`BATCH`] frames as one batch of asynchronous writes with no lock held.
//! When the batch has ended it ends each frame's write under the lock
//! (`Store::end_writeback`), which frees the objects of the pages now
//! migrated. Runs are serialized by [`Writeback::running`], which also keeps
//! the copy buffers (the first preallocated) and the back-off from a failing
//! device; manual runs come from a `writeback` write (in that task, `EAGAIN`
//! while another runs), automatic ones from the device's work queue when a
//! store finds the pool at `pool_high_wmark`.
//!
//! Which frame goes next, the budget and when a run stops are the core's
//! (`Store::next_writeback`); this file keeps the buffers and does the I/O.

use core::sync::atomic::{AtomicBool, Ordering};
use kernel::{
    block::bdev::{with_plug, WriteBatch},
    new_mutex,
    page::MappedPages,
    prelude::*,
    sync::{Arc, Mutex},
    task,
    time::Ktime,
    workqueue::Queue,
};

use crate::backend::Backend;
use crate::backing_io::{block_sum, buffer_gfp};
use crate::counters::Counters;
use crate::gscore::{
    backoff::Backoff,
    store::{FrameWrite, RunEnd, RunStep, WritebackMode, WritebackPick, WritebackRun},
};
use crate::tables::{self, PACKING_ORDER};

/// Frames written per batch: the bios a run has in flight at once.
const BATCH: usize = 16;

/// Order of a frame's copy buffer: the largest frame.
const COPY_ORDER: u32 = PACKING_ORDER;

/// The copy buffers of writeback runs, kept from one run to the next.
///
/// The first is allocated with the backend, so a run always has one and
/// makes progress whatever the allocator says; up to [`BATCH`] are added as
/// the allocator has them at hand ([`buffer_gfp`]).
struct CopyBuffers([Option<MappedPages>; BATCH]);

impl CopyBuffers {
    /// Takes a spare buffer, or allocates one (`None`: neither).
    fn take(&mut self, counters: &Counters) -> Option<MappedPages> {
        if let Some(buffer) = self.0.iter_mut().find_map(Option::take) {
            return Some(buffer);
        }
        MappedPages::alloc(buffer_gfp(), COPY_ORDER)
            .inspect_err(|_| counters.buffer_fallbacks.inc())
            .ok()
    }

    /// Puts `buffer` back (there is always room: a run has at most
    /// [`BATCH`] buffers).
    fn give_back(&mut self, buffer: MappedPages) {
        if let Some(free) = self.0.iter_mut().find(|entry| entry.is_none()) {
            *free = Some(buffer);
        }
    }
}

/// What `Writeback::running` guards: runs, one at a time, with what they
/// keep from one run to the next.
struct RunState {
    buffers: CopyBuffers,
    /// Automatic runs wait after runs whose every write failed: 100 ms,
    /// doubling up to 10 s, until a write succeeds (`backoff` in the core),
    /// so a failing backing device does not get every frame on every kick.
    backoff: Backoff,
}

impl RunState {
    /// Feeds the outcome of a run to the back-off.
    fn record(&mut self, ran: &RunReport) {
        if ran.blocks > 0 {
            self.backoff.on_success();
        } else if ran.failed > 0 {
            self.backoff.on_failure(now_ms());
        }
    }
}

/// Writeback state of one initialized device.
#[pin_data]
pub(crate) struct Writeback {
    /// Held for the length of a run, one at a time.
    #[pin]
    running: Mutex<RunState>,
    /// An automatic run is queued or running.
    auto_queued: AtomicBool,
    /// The device is being reset: automatic runs stop early.
    stopping: AtomicBool,
}

impl Writeback {
    /// The writeback state of a new backend; with a backing device, its
    /// first copy buffer is allocated here (may sleep).
    pub(crate) fn new(backing: bool) -> Result<impl PinInit<Self>> {
        let mut copies = CopyBuffers([const { None }; BATCH]);
        if backing {
            copies.0[0] = Some(MappedPages::alloc(GFP_KERNEL, COPY_ORDER)?);
        }
        Ok(pin_init!(Self {
            running <- new_mutex!(
                RunState {
                    buffers: copies,
                    backoff: Backoff::new(),
                },
                "ghostswap:writeback"
            ),
            auto_queued: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
        }))
    }

    /// Waits until no run is in progress (device reset, after [`stop`]).
    ///
    /// [`stop`]: Writeback::stop
    pub(crate) fn wait_idle(&self) {
        drop(self.running.lock());
    }

    /// Makes automatic runs stop at their next frame (device reset).
    pub(crate) fn stop(&self) {
        self.stopping.store(true, Ordering::Relaxed);
    }
}

/// The monotonic clock in seconds, for the pool's idle marks.
pub(crate) fn now_secs() -> u64 {
    now_ms() / 1000
}

/// The monotonic clock in milliseconds, for the back-off.
fn now_ms() -> u64 {
    // CAST: a monotonic time is never negative.
    (Ktime::ktime_get().to_ns() / 1_000_000) as u64
}

/// What a run did.
#[derive(Default)]
pub(crate) struct RunReport {
    /// Blocks written by writes that succeeded: what `writeback_limit` is
    /// charged.
    pub(crate) blocks: u64,
    /// Pages migrated.
    pub(crate) pages: u64,
    /// Frame writes that failed (their pages stay in memory).
    pub(crate) failed: u64,
    /// The budget stopped the run.
    pub(crate) over_budget: bool,
    /// The backing device had no room for a frame.
    pub(crate) no_space: bool,
}

/// Writes back the frames `pick` gives, within `budget` blocks if any: a
/// manual run (a `writeback` write). Sleeps; call with no lock held but
/// `config` (see the lock order in Documentation/design.rst).
///
/// # Errors
///
/// `EAGAIN` while another run is in progress, `ENODEV` without a backing
/// device; a run that wrote frames and then met an error reports what it
/// did instead.
pub(crate) fn try_run(
    backend: &Backend,
    pick: WritebackPick,
    budget: Option<u64>,
) -> Result<RunReport> {
    let mut state = backend.writeback.running.try_lock().ok_or(EAGAIN)?;
    let ran = run_with(backend, &mut state.buffers, pick, budget, false)?;
    state.record(&ran);
    Ok(ran)
}

/// What [`begin_next`] did.
enum Next {
    /// A frame begun, its copy in the buffer.
    Begun(FrameWrite, MappedPages),
    /// Nothing begun in this hold of the store lock: call again.
    Yield(MappedPages),
    Stop(MappedPages, RunEnd),
}

/// Writes back frames with `running` held: `spare` are its copy buffers.
/// An automatic run (`until_below_low`) stops below the low watermark, or
/// when the device is being reset.
///
/// A batch whose every write failed ends the run: the device is failing,
/// and the next frames would fail as well.
fn run_with(
    backend: &Backend,
    spare: &mut CopyBuffers,
    pick: WritebackPick,
    budget: Option<u64>,
    until_below_low: bool,
) -> Result<RunReport> {
    let bdev = backend.backing.as_ref().ok_or(ENODEV)?;
    let counters = &backend.counters;
    // The writes of the batch by tag.
    let mut writes: [Option<FrameWrite>; BATCH] = [None; BATCH];
    let mut ran = RunReport::default();
    let mut run = backend
        .store
        .lock()
        .start_writeback(pick, budget, until_below_low);
    let stopping = || until_below_low && backend.writeback.stopping.load(Ordering::Relaxed);
    let mut finished = false;
    while !finished {
        let mut batch = match WriteBatch::new(bdev) {
            Ok(batch) => batch,
            // What earlier batches wrote is reported (and charged).
            Err(_) if ran.blocks > 0 || ran.failed > 0 => break,
            Err(e) => return Err(e),
        };
        let mut count = 0;
        with_plug(|| {
            while count < BATCH {
                // With none at hand, the batch goes with what it has; the
                // first buffer of a batch is always there (`CopyBuffers`).
                let Some(buffer) = spare.take(counters) else {
                    finished = count == 0;
                    return;
                };
                let (write, buffer) = match begin_next(backend, &mut run, buffer, stopping()) {
                    Next::Begun(write, buffer) => (write, buffer),
                    Next::Yield(buffer) => {
                        spare.give_back(buffer);
                        // The store lock is dropped: let others run.
                        task::cond_resched();
                        continue;
                    }
                    Next::Stop(buffer, why) => {
                        ran.over_budget |= why == RunEnd::Budget;
                        ran.no_space |= why == RunEnd::NoSpace;
                        spare.give_back(buffer);
                        finished = true;
                        return;
                    }
                };
                let tag = count;
                if let Err(refused) = batch.submit(write.sector(), buffer, write.len(), tag) {
                    // Never submitted: the pages stay in memory.
                    end_frame(backend, &write, refused.buffer.as_ref(), false, &mut ran);
                    spare.give_back(refused.buffer);
                    finished = true;
                    return;
                }
                if let Some(entry) = writes.get_mut(tag) {
                    *entry = Some(write);
                }
                count += 1;
            }
        });
        let failed_before = ran.failed;
        for done in batch.wait() {
            if let Some(write) = writes.get_mut(done.tag).and_then(Option::take) {
                end_frame(
                    backend,
                    &write,
                    done.buffer.as_ref(),
                    done.result.is_ok(),
                    &mut ran,
                );
            }
            spare.give_back(done.buffer);
        }
        // CAST: at most BATCH.
        if count == 0 || ran.failed - failed_before == count as u64 {
            finished = true;
        }
    }
    Ok(ran)
}

/// Begins the run's next frame into `buffer` under the store lock
/// (`Store::next_writeback`), growing the backing allocator's tables with
/// the lock dropped when it asks.
fn begin_next(
    backend: &Backend,
    run: &mut WritebackRun,
    mut buffer: MappedPages,
    stopping: bool,
) -> Next {
    if stopping {
        return Next::Stop(buffer, RunEnd::Done);
    }
    let step = backend.store.lock().next_writeback(run, buffer.as_mut());
    match step {
        RunStep::Begun(write) => Next::Begun(write, buffer),
        RunStep::Yield => Next::Yield(buffer),
        RunStep::GrowTables if tables::grow_backing(&backend.store) => Next::Yield(buffer),
        RunStep::GrowTables => Next::Stop(buffer, RunEnd::NoSpace),
        RunStep::Stop(why) => Next::Stop(buffer, why),
    }
}

/// Ends the write of a frame under the store lock and counts it.
fn end_frame(backend: &Backend, write: &FrameWrite, copy: &[u8], ok: bool, ran: &mut RunReport) {
    // Checksummed before the lock is taken; a write without them fails.
    let sums = ok.then(|| write.sums(copy, block_sum)).flatten();
    let ok = sums.is_some();
    // Frames emptied are freed on the spot, which does not sleep.
    let end = backend
        .store
        .lock()
        .end_writeback(write, copy, sums.as_ref());
    let counters = &backend.counters;
    if ok {
        ran.blocks = ran.blocks.saturating_add(u64::from(write.pages));
        ran.pages = ran.pages.saturating_add(u64::from(end.migrated));
        counters.frames_written.inc();
        // CAST: at most 32 KiB.
        counters.bytes_written.add(write.len() as u64);
    } else {
        ran.failed = ran.failed.saturating_add(1);
        counters.failed_frames.inc();
    }
}

/// Queues an automatic run on `queue` unless one is queued already.
pub(crate) fn kick(queue: &Queue, backend: &Arc<Backend>) {
    let wb = &backend.writeback;
    if wb.auto_queued.swap(true, Ordering::AcqRel) {
        return;
    }
    let backend = backend.clone();
    let spawned = queue.try_spawn(GFP_NOIO, move || auto_run(&backend));
    if spawned.is_err() {
        // The next store over the watermark tries again.
        wb.auto_queued.store(false, Ordering::Release);
    }
}

/// An automatic run: the coldest frames first, down to the low watermark.
fn auto_run(backend: &Backend) {
    backend.counters.auto_runs.inc();
    let _ = make_room(backend);
    backend
        .writeback
        .auto_queued
        .store(false, Ordering::Release);
}

/// What [`make_room`] did.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Room {
    /// Pages moved to the backing device.
    Made,
    /// Nothing moved (nothing to write, or every write failed).
    NotMade,
    /// Nothing tried: the backing device failed every write of the runs
    /// before, and the back-off has not run out.
    BackingOff,
}

/// Writes back the coldest frames until the pool is below the low
/// watermark, after waiting for a run in progress; what a write the pool
/// refused waits for, and an automatic run does. Does nothing while backing
/// off from a failing backing device.
pub(crate) fn make_room(backend: &Backend) -> Room {
    let mut state = backend.writeback.running.lock();
    if !state.backoff.admit(now_ms()) {
        backend.counters.backoff_deferrals.inc();
        return Room::BackingOff;
    }
    backend.store.lock().set_clock(now_secs());
    let pick = WritebackPick::Mode(WritebackMode::All);
    match run_with(backend, &mut state.buffers, pick, None, true) {
        Ok(ran) => {
            state.record(&ran);
            if ran.pages > 0 {
                Room::Made
            } else {
                Room::NotMade
            }
        }
        Err(_) => Room::NotMade,
    }
}
