// SPDX-License-Identifier: GPL-2.0

//! Writeback: moving whole pool frames to the backing device.
//!
//! A run picks frames under the store lock, a bounded walk at a time
//! (`Store::next_writeback_within`), copies each into one of the run's copy
//! buffers as it begins it (`Store::begin_writeback`), and submits up to
//! [`BATCH`] frames as one batch of asynchronous writes with no lock held.
//! When the batch has ended it ends each frame's write under the lock
//! (`Store::end_writeback`), which frees the objects of the pages now
//! migrated. Runs are serialized by [`Writeback::running`], which also keeps
//! the copy buffers (the first preallocated) and the back-off from a failing
//! device; manual runs come from a `writeback` write (in that task, `EAGAIN`
//! while another runs), automatic ones from the device's work queue when a
//! store finds the pool at `pool_high_wmark`.
//!
//! Reading a migrated page is here too ([`read_migrated`]): it needs the
//! backing device and may only run where waiting for a bio is allowed.

use core::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use kernel::{
    alloc::{flags, Flags},
    block::bdev::{with_plug, WriteBatch},
    block::BlockDevice,
    new_mutex,
    page::MappedPages,
    prelude::*,
    sync::{lock::mutex::MutexBackend, lock::Guard, Arc, Mutex},
    task,
    time::Ktime,
    workqueue::Queue,
};

use crate::device::Backend;
use crate::gscore::{
    attrs::{WritebackConfig, WritebackRequest},
    backoff::Backoff,
    geometry::{PAGE_SIZE, SECTORS_PER_PAGE},
    migrate::Dest,
    pool::FrameId,
    store::{FrameWrite, NextWriteback, WritebackError, WritebackMode, WRITEBACK_FRAMES_PER_STEP},
};
use crate::tables::{self, DeviceStore};

/// Frames written per batch: the bios a run has in flight at once.
const BATCH: usize = 16;

/// Order of a frame's copy buffer: the largest frame, 8 pages.
const COPY_ORDER: u32 = 3;

/// Order of the buffer a migrated page is read into: an object may straddle
/// two blocks of its extent.
const READ_ORDER: u32 = 1;

/// Allocation flags of the buffers backing-device I/O uses beyond its
/// reserve: no I/O (reclaim may be waiting for this device), no retries (a
/// failure has a fallback, the reserve, so waiting for memory is never
/// worth it: orders up to 3 would otherwise retry forever) and no warning.
fn buffer_gfp() -> Flags {
    flags::GFP_NOIO | flags::__GFP_NORETRY | flags::__GFP_NOWARN
}

/// Indexes a `page_indexes=` run looks at per hold of the store lock.
const PAGES_PER_LOCK: u64 = 1024;

/// Event counts for `writeback_stat` and `bd_stat`; the slot gauges and
/// page counts live in the store.
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) frames_written: AtomicU64,
    pub(crate) bytes_written: AtomicU64,
    pub(crate) failed_frames: AtomicU64,
    pub(crate) auto_runs: AtomicU64,
    pub(crate) manual_runs: AtomicU64,
    pub(crate) blocks_read: AtomicU64,
    /// Reads of the backing device that failed.
    pub(crate) read_errors: AtomicU64,
    /// Automatic runs held back while the backing device fails (see
    /// [`RunState::backoff`]).
    pub(crate) backoff_deferrals: AtomicU64,
    /// Buffers the allocator did not have at hand: a run wrote with fewer
    /// copy buffers, or a read or direct store waited for the reserve.
    pub(crate) buffer_fallbacks: AtomicU64,
    /// Deferred bios that failed (added to `io_stat`).
    pub(crate) failed_reads: AtomicU64,
    pub(crate) failed_writes: AtomicU64,
    pub(crate) promotions: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

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
            .inspect_err(|_| Counters::add(&counters.buffer_fallbacks, 1))
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
    fn record(&mut self, ran: &Ran) {
        if ran.blocks > 0 {
            self.backoff.on_success();
        } else if ran.failed > 0 {
            self.backoff.on_failure(now_ms());
        }
    }
}

/// The reserve buffer of reads of migrated pages and direct stores, for
/// when the allocator has none at hand: whoever needs it waits for it.
type ReserveGuard<'a> = Guard<'a, Option<MappedPages>, MutexBackend>;

/// A buffer for one backing-device read or direct store.
pub(crate) enum IoBuffer<'a> {
    Own(MappedPages),
    Reserve(ReserveGuard<'a>),
}

impl IoBuffer<'_> {
    /// The pages of the buffer (`None` only if a write kept a reserve's
    /// pages, which [`write_block`] never lets happen).
    pub(crate) fn pages(&mut self) -> Option<&mut MappedPages> {
        match self {
            IoBuffer::Own(pages) => Some(pages),
            IoBuffer::Reserve(guard) => guard.as_mut(),
        }
    }
}

/// Writeback state of one initialized device.
#[pin_data]
pub(crate) struct Writeback {
    /// Held for the length of a run, one at a time.
    #[pin]
    running: Mutex<RunState>,
    /// See [`IoBuffer`]; order [`READ_ORDER`].
    #[pin]
    reserve: Mutex<Option<MappedPages>>,
    /// `pool_high_wmark` and `pool_low_wmark`, in percent of `mem_limit`,
    /// copied from the configuration for the data path and the worker.
    pub(crate) high_wmark: AtomicU8,
    pub(crate) low_wmark: AtomicU8,
    pub(crate) promote_on_read: AtomicBool,
    /// An automatic run is queued or running.
    auto_queued: AtomicBool,
    /// The device is being reset: automatic runs stop early.
    stopping: AtomicBool,
    pub(crate) counters: Counters,
}

impl Writeback {
    /// The writeback state of a new backend; with a backing device, its
    /// first copy buffer and its I/O reserve are allocated here (may sleep).
    pub(crate) fn new(settings: &WritebackConfig, backing: bool) -> Result<impl PinInit<Self>> {
        let (high, low) = (settings.pool_high_wmark(), settings.pool_low_wmark());
        let promote = settings.promote_on_read();
        let mut copies = CopyBuffers([const { None }; BATCH]);
        let mut reserve = None;
        if backing {
            copies.0[0] = Some(MappedPages::alloc(GFP_KERNEL, COPY_ORDER)?);
            reserve = Some(MappedPages::alloc(GFP_KERNEL, READ_ORDER)?);
        }
        Ok(pin_init!(Self {
            running <- new_mutex!(
                RunState {
                    buffers: copies,
                    backoff: Backoff::new(),
                },
                "ghostswap:writeback"
            ),
            reserve <- new_mutex!(reserve, "ghostswap:io_reserve"),
            high_wmark: AtomicU8::new(high),
            low_wmark: AtomicU8::new(low),
            promote_on_read: AtomicBool::new(promote),
            auto_queued: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            counters: Counters::default(),
        }))
    }

    /// Waits until no run is in progress (device reset, after [`stop`]).
    ///
    /// [`stop`]: Writeback::stop
    pub(crate) fn wait_idle(&self) {
        drop(self.running.lock());
    }

    /// A buffer of [`READ_ORDER`] for a backing-device read or direct store:
    /// a new one if the allocator has one at hand, else the reserve (waits
    /// for it).
    pub(crate) fn io_buffer(&self) -> IoBuffer<'_> {
        match MappedPages::alloc(buffer_gfp(), READ_ORDER) {
            Ok(pages) => IoBuffer::Own(pages),
            Err(_) => {
                Counters::add(&self.counters.buffer_fallbacks, 1);
                IoBuffer::Reserve(self.reserve.lock())
            }
        }
    }

    /// Copies the settings a sysfs write may have changed.
    pub(crate) fn apply(&self, settings: &WritebackConfig) {
        self.high_wmark
            .store(settings.pool_high_wmark(), Ordering::Relaxed);
        self.low_wmark
            .store(settings.pool_low_wmark(), Ordering::Relaxed);
        self.promote_on_read
            .store(settings.promote_on_read(), Ordering::Relaxed);
    }

    /// Makes automatic runs stop at their next frame (device reset).
    pub(crate) fn stop(&self) {
        self.stopping.store(true, Ordering::Relaxed);
    }

    /// Returns `true` if the pool of `store` has reached the high watermark.
    pub(crate) fn over_high(&self, store: &DeviceStore) -> bool {
        store.over_watermark(u64::from(self.high_wmark.load(Ordering::Relaxed)))
    }

    fn over_low(&self, store: &DeviceStore) -> bool {
        store.over_watermark(u64::from(self.low_wmark.load(Ordering::Relaxed)))
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

/// Which frames a run takes.
#[derive(Clone, Copy)]
pub(crate) enum Pick {
    /// Frames writeback's walk gives in this mode (`Store::next_writeback_within`).
    Mode(WritebackMode),
    /// The frames of the pages `next..=last`.
    Pages { next: u64, last: u64 },
}

/// What [`Pick::next`] found.
enum Picked {
    Frame(FrameId),
    NoneLeft,
    /// This hold of the store lock did its share: drop it and call again.
    LockHeldLongEnough,
}

impl Pick {
    pub(crate) fn from_request(request: WritebackRequest) -> Self {
        let mode = match request {
            WritebackRequest::Idle => WritebackMode::Idle,
            WritebackRequest::Huge => WritebackMode::Huge,
            WritebackRequest::HugeIdle => WritebackMode::HugeIdle,
            WritebackRequest::Incompressible => WritebackMode::Incompressible,
            WritebackRequest::All => WritebackMode::All,
            WritebackRequest::Pages { first, last } => return Pick::Pages { next: first, last },
        };
        Pick::Mode(mode)
    }

    /// The next frame to write, looking at a bounded number of frames or
    /// pages per call.
    fn next(&mut self, store: &mut DeviceStore) -> Picked {
        match self {
            Pick::Mode(mode) => match store.next_writeback_within(*mode, WRITEBACK_FRAMES_PER_STEP)
            {
                NextWriteback::Frame(id) => Picked::Frame(id),
                NextWriteback::NoneLeft => Picked::NoneLeft,
                NextWriteback::LimitReached => Picked::LockHeldLongEnough,
            },
            Pick::Pages { next, last } => {
                let stop = next.saturating_add(PAGES_PER_LOCK);
                while *next <= *last {
                    let index = *next;
                    *next = next.saturating_add(1);
                    if let Some(id) = store.next_writeback(WritebackMode::Page(index), None) {
                        return Picked::Frame(id);
                    }
                    if index == u64::MAX {
                        return Picked::NoneLeft;
                    }
                    if *next >= stop {
                        return Picked::LockHeldLongEnough;
                    }
                }
                Picked::NoneLeft
            }
        }
    }
}

/// When a run stops, besides running out of frames.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Until {
    /// Every frame the pick gives (a manual run).
    Done,
    /// The pool below `pool_low_wmark` (an automatic run).
    BelowLow,
}

/// What a run did.
#[derive(Default)]
pub(crate) struct Ran {
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

/// A frame begun, in its copy buffer, not yet submitted.
struct Begun {
    write: FrameWrite,
    buffer: MappedPages,
}

/// Writes back the frames `pick` gives until `until`, within `budget` blocks
/// if any: a manual run (a `writeback` write). Sleeps; call with no lock
/// held but `config` (see the lock order in `device.rs`).
///
/// # Errors
///
/// `EAGAIN` while another run is in progress, `ENODEV` without a backing
/// device; a run that wrote frames and then met an error reports what it
/// did instead.
pub(crate) fn try_run(
    backend: &Backend,
    pick: Pick,
    budget: Option<u64>,
    until: Until,
) -> Result<Ran> {
    let mut state = backend.writeback.running.try_lock().ok_or(EAGAIN)?;
    let ran = run_with(backend, &mut state.buffers, pick, budget, until)?;
    state.record(&ran);
    Ok(ran)
}

/// Writes back frames with `running` held: `spare` are its copy buffers.
///
/// A batch whose every write failed ends the run: the device is failing,
/// and the next frames would fail as well.
fn run_with(
    backend: &Backend,
    spare: &mut CopyBuffers,
    mut pick: Pick,
    budget: Option<u64>,
    until: Until,
) -> Result<Ran> {
    let bdev = backend.backing.as_ref().ok_or(ENODEV)?;
    let counters = &backend.writeback.counters;
    // The writes of the batch by tag.
    let mut writes: [Option<FrameWrite>; BATCH] = [None; BATCH];
    let mut ran = Ran::default();
    // A frame whose extent the backing allocator has not found yet.
    let mut retry = None;
    let mut left = budget;
    let mut finished = false;
    backend.store.lock().rewind_writeback();
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
                let begun =
                    match begin_next(backend, &mut pick, &mut retry, &mut left, until, buffer) {
                        Step::Begun(begun) => begun,
                        Step::CallAgain(buffer) => {
                            spare.give_back(buffer);
                            // The store lock is dropped: let others run.
                            task::cond_resched();
                            continue;
                        }
                        Step::Stop(buffer, why) => {
                            match why {
                                Stop::Budget => ran.over_budget = true,
                                Stop::NoSpace => ran.no_space = true,
                                Stop::Done => {}
                            }
                            spare.give_back(buffer);
                            finished = true;
                            return;
                        }
                    };
                let tag = count;
                let write = begun.write;
                if let Err(refused) = batch.submit(write.sector(), begun.buffer, write.len(), tag) {
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

enum Stop {
    Done,
    Budget,
    NoSpace,
}

enum Step {
    Begun(Begun),
    /// Nothing begun in this hold of the store lock; call again.
    CallAgain(MappedPages),
    Stop(MappedPages, Stop),
}

/// Picks and begins the next frame under the store lock: `retry` first, a
/// frame the backing allocator's bounded search found no room for yet.
fn begin_next(
    backend: &Backend,
    pick: &mut Pick,
    retry: &mut Option<FrameId>,
    left: &mut Option<u64>,
    until: Until,
    mut buffer: MappedPages,
) -> Step {
    let wb = &backend.writeback;
    let mut store = backend.store.lock();
    if until == Until::BelowLow && (wb.stopping.load(Ordering::Relaxed) || !wb.over_low(&store)) {
        return Step::Stop(buffer, Stop::Done);
    }
    let id = match retry.take() {
        Some(id) => id,
        None => match pick.next(&mut store) {
            Picked::Frame(id) => id,
            Picked::NoneLeft => return Step::Stop(buffer, Stop::Done),
            Picked::LockHeldLongEnough => return Step::CallAgain(buffer),
        },
    };
    // CAST: a frame is at most 8 pages.
    let pages = (store.pool().frame_len(id).unwrap_or(PAGE_SIZE) / PAGE_SIZE) as u64;
    if let Some(blocks) = left {
        if *blocks < pages {
            return Step::Stop(buffer, Stop::Budget);
        }
    }
    match store.begin_writeback(id, buffer.as_mut()) {
        Ok(write) => {
            if let Some(blocks) = left {
                *blocks -= pages;
            }
            Step::Begun(Begun { write, buffer })
        }
        Err(WritebackError::NoSpace) => Step::Stop(buffer, Stop::NoSpace),
        Err(WritebackError::SearchLimitReached) => {
            *retry = Some(id);
            Step::CallAgain(buffer)
        }
        Err(WritebackError::NeedTables) => {
            drop(store);
            if !tables::grow_backing(&backend.store) {
                return Step::Stop(buffer, Stop::NoSpace);
            }
            *retry = Some(id);
            Step::CallAgain(buffer)
        }
        // The frame has nothing left to write (its pages freed or written
        // since it was picked): the next one.
        Err(_) => Step::CallAgain(buffer),
    }
}

/// Ends the write of a frame under the store lock and counts it.
fn end_frame(backend: &Backend, write: &FrameWrite, copy: &[u8], ok: bool, ran: &mut Ran) {
    // Frames emptied are freed on the spot, which does not sleep.
    let end = backend.store.lock().end_writeback(write, copy, ok);
    let counters = &backend.writeback.counters;
    if ok {
        ran.blocks = ran.blocks.saturating_add(u64::from(write.pages));
        ran.pages = ran.pages.saturating_add(u64::from(end.migrated));
        Counters::add(&counters.frames_written, 1);
        // CAST: at most 32 KiB.
        Counters::add(&counters.bytes_written, write.len() as u64);
    } else {
        ran.failed = ran.failed.saturating_add(1);
        Counters::add(&counters.failed_frames, 1);
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
    let wb = &backend.writeback;
    Counters::add(&wb.counters.auto_runs, 1);
    let _ = make_room(backend);
    wb.auto_queued.store(false, Ordering::Release);
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
    let wb = &backend.writeback;
    let mut state = wb.running.lock();
    if !state.backoff.admit(now_ms()) {
        Counters::add(&wb.counters.backoff_deferrals, 1);
        return Room::BackingOff;
    }
    backend.store.lock().set_clock(now_secs());
    let pick = Pick::Mode(WritebackMode::All);
    match run_with(backend, &mut state.buffers, pick, None, Until::BelowLow) {
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

/// Reads the migrated page at `dest` from `bdev` into `buffer` and returns
/// its bytes: compressed, or the whole page if [`Dest::is_page`].
pub(crate) fn read_migrated<'a>(
    bdev: &BlockDevice,
    counters: &Counters,
    dest: Dest,
    buffer: &'a mut MappedPages,
) -> Result<&'a [u8]> {
    let data = dest.data_range();
    let first = data.start / PAGE_SIZE;
    let blocks = data.end.div_ceil(PAGE_SIZE) - first;
    // CAST: `first` is below 8.
    let sector = (u64::from(dest.block) + first as u64) * SECTORS_PER_PAGE;
    bdev.read_sync(sector, buffer, blocks * PAGE_SIZE)
        .inspect_err(|_| Counters::add(&counters.read_errors, 1))?;
    // CAST: at most 2.
    Counters::add(&counters.blocks_read, blocks as u64);
    let skip = first * PAGE_SIZE;
    let buffer: &'a MappedPages = buffer;
    buffer
        .as_ref()
        .get(data.start - skip..data.end - skip)
        .ok_or(EIO)
}

/// Writes the first page of `buffer` at `sector` of `bdev` and waits for
/// it. A reserve buffer's pages are lent to the write and put back.
pub(crate) fn write_block(bdev: &BlockDevice, sector: u64, buffer: IoBuffer<'_>) -> Result {
    match buffer {
        IoBuffer::Own(pages) => write_page(bdev, sector, pages).0,
        IoBuffer::Reserve(mut reserve) => {
            let pages = reserve.take().ok_or(EIO)?;
            let (result, pages) = write_page(bdev, sector, pages);
            *reserve = pages;
            result
        }
    }
}

/// Writes the first page of `pages` at `sector` of `bdev`, waits for it and
/// gives the pages back (`None` only if the block layer kept them, never).
fn write_page(
    bdev: &BlockDevice,
    sector: u64,
    pages: MappedPages,
) -> (Result, Option<MappedPages>) {
    let mut batch = match WriteBatch::new(bdev) {
        Ok(batch) => batch,
        Err(e) => return (Err(e), Some(pages)),
    };
    if let Err(refused) = batch.submit(sector, pages, PAGE_SIZE, 0) {
        return (Err(EIO), Some(refused.buffer));
    }
    match batch.wait().next() {
        Some(done) => (done.result, Some(done.buffer)),
        None => (Err(EIO), None),
    }
}
