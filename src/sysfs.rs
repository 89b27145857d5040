// SPDX-License-Identifier: GPL-2.0

//! The device's files under `/sys/block/ghostswapN/`: zram's names, modes and
//! syntax where the meaning is the same.
//!
//! Documented in `Documentation/ABI/testing/sysfs-block-ghostswap`. Parsing
//! and the rules of what may change when live in `gscore::attrs`; every
//! rejected write leaves the device unchanged.

use core::fmt::Write;
use kernel::{
    block::mq::attribute::{Attribute, AttributeBuffer, DiskRef},
    block::BlockDevice,
    c_str, fmt,
    prelude::*,
    str::CString,
    task,
};

use crate::device::GhostDevice;
use crate::gscore::{
    attrs::{self, AttrError, BackingDevRequest, IdleRequest},
    migrate::State,
    pool::{CompactCursor, Compaction, FrameEntry, IdleMarking},
    stats::{write_frontswap_stat, write_mm_stat, MmStat, SlotCounts},
    store::{ClassCounts, Content, COMPACT_FRAMES_PER_STEP, IDLE_FRAMES_PER_STEP},
};
use crate::tables::{self, Frame};
use crate::writeback;

/// Declares the attributes once: their `Attr` names, in the order of
/// `ATTRIBUTES` (which `Attr::ALL` follows), with their files' names and
/// modes.
macro_rules! attributes {
    ($($attr:ident: $mode:ident $name:literal,)*) => {
        #[derive(Clone, Copy)]
        enum Attr {
            $($attr,)*
        }

        impl Attr {
            /// `ALL[i]` is the attribute of `ATTRIBUTES[i]`.
            const ALL: &'static [Attr] = &[$(Attr::$attr,)*];
        }

        pub(crate) const ATTRIBUTES: &[Attribute] = &[$(Attribute::$mode(c_str!($name)),)*];
    };
}

attributes! {
    Disksize: read_write "disksize",
    Initstate: read_only "initstate",
    Reset: write_only "reset",
    CompAlgorithm: read_write "comp_algorithm",
    AlgorithmParams: write_only "algorithm_params",
    MemLimit: write_only "mem_limit",
    MemUsedMax: write_only "mem_used_max",
    Compact: write_only "compact",
    MmStat: read_only "mm_stat",
    IoStat: read_only "io_stat",
    DebugStat: read_only "debug_stat",
    FrontswapStat: read_only "frontswap_stat",
    BackingDev: read_write "backing_dev",
    Writeback: write_only "writeback",
    Idle: write_only "idle",
    WritebackLimit: read_write "writeback_limit",
    WritebackLimitEnable: read_write "writeback_limit_enable",
    PoolHighWmark: read_write "pool_high_wmark",
    PoolLowWmark: read_write "pool_low_wmark",
    PromoteOnRead: read_write "promote_on_read",
    BdStat: read_only "bd_stat",
    WritebackStat: read_only "writeback_stat",
}

/// Maps a rejected attribute write to its errno.
pub(crate) fn attr_error(error: AttrError) -> Error {
    match error {
        AttrError::Invalid => EINVAL,
        AttrError::Busy => EBUSY,
    }
}

fn attr(index: usize) -> Result<Attr> {
    Attr::ALL.get(index).copied().ok_or(EINVAL)
}

pub(crate) fn show(device: &GhostDevice, index: usize, out: &mut AttributeBuffer<'_>) -> Result {
    let written = match attr(index)? {
        Attr::Disksize => writeln!(out, "{}", device.config.lock().disksize().unwrap_or(0)),
        Attr::Initstate => writeln!(out, "{}", u8::from(device.config.lock().is_initialized())),
        Attr::CompAlgorithm => attrs::write_algorithms(device.config.lock().algorithm(), out),
        Attr::MmStat => {
            let limit = device.config.lock().mem_limit();
            let stat = match device.backend() {
                Some(backend) => backend.store.lock().mm_stat(limit),
                None => MmStat {
                    mem_limit: limit,
                    ..MmStat::default()
                },
            };
            write_mm_stat(&stat, out)
        }
        Attr::IoStat => {
            let counters = &device.counters;
            writeln!(
                out,
                "{:>8} {:>8} {:>8} {:>8}",
                counters.failed_reads.get(),
                counters.failed_writes.get(),
                counters.invalid_io.get(),
                counters.notify_free.get()
            )
        }
        Attr::DebugStat => {
            let backend = device.backend();
            let (pool, classes, tables, (limit, held, extents, fill_score)) = backend
                .as_ref()
                .map(|backend| {
                    let store = backend.store.lock();
                    let cache = store
                        .extent_cache()
                        .map(|c| (c.limit(), c.held(), c.counts(), c.policy().score()))
                        .unwrap_or_default();
                    (
                        store.pool().pool_stats(),
                        store.classes(),
                        tables::usage(&store),
                        cache,
                    )
                })
                .unwrap_or_default();
            // Not under the store lock: the buffers' mutex is taken before it.
            let extent_bytes = backend.map_or(0, |backend| backend.extent_buffers.bytes());
            writeln!(
                out,
                "version: 6\nslot_metadata_bytes: {}\nframe_entry_bytes: {}\n\
                 packed_frames: {}\npacked_pages: {}\nhuge_frames: {}\n\
                 reserve_frames: {}\nreserve_pages: {}\nobjects: {}\n\
                 object_bytes: {}\nhole_bytes: {}\nfragmentation_permille: {}\n\
                 auto_compactions: {}\nslot_table_bytes: {}\nframe_table_entries: {}\n\
                 frame_table_bytes: {}\nbacking_table_bytes: {}\n\
                 async_read_bios: {}\nworker_read_bios: {}\n\
                 extent_cache_entries: {}\nextent_cache_held: {}\n\
                 extent_cache_bytes: {}\nextent_cache_hits: {}\n\
                 extent_cache_fills: {}\nextent_cache_claims: {}\n\
                 extent_cache_busy: {}\nextent_cache_alone: {}\n\
                 extent_fill_score: {}",
                core::mem::size_of::<State<Content>>(),
                core::mem::size_of::<FrameEntry<Frame>>(),
                pool.packed_frames,
                pool.packed_pages,
                pool.huge_frames,
                pool.reserve_frames,
                pool.reserve_pages,
                pool.objects,
                pool.live_bytes,
                pool.hole_bytes,
                pool.fragmentation_permille(),
                classes.auto_compactions,
                tables.slot_bytes,
                tables.frame_entries,
                tables.frame_bytes,
                tables.backing_bytes,
                device.counters.async_read_bios.get(),
                device.counters.worker_read_bios.get(),
                limit,
                held,
                extent_bytes,
                extents.hits,
                extents.fills,
                extents.claims,
                extents.filling,
                extents.alone,
                fill_score,
            )
        }
        Attr::FrontswapStat => {
            let (counters, classes) = device
                .backend()
                .map(|backend| {
                    let store = backend.store.lock();
                    (store.counters(), store.classes())
                })
                .unwrap_or((SlotCounts::default(), ClassCounts::default()));
            write_frontswap_stat(&counters, classes.same_pages, classes.huge_pages, out)
        }
        Attr::BackingDev => {
            attrs::write_backing_dev(device.config.lock().writeback().backing_dev(), out)
        }
        Attr::WritebackLimit => {
            writeln!(
                out,
                "{}",
                device.config.lock().writeback().writeback_limit()
            )
        }
        Attr::WritebackLimitEnable => writeln!(
            out,
            "{}",
            u8::from(device.config.lock().writeback().writeback_limit_enabled())
        ),
        Attr::PoolHighWmark => {
            writeln!(
                out,
                "{}",
                device.config.lock().writeback().pool_high_wmark()
            )
        }
        Attr::PoolLowWmark => {
            writeln!(out, "{}", device.config.lock().writeback().pool_low_wmark())
        }
        Attr::PromoteOnRead => writeln!(
            out,
            "{}",
            u8::from(device.config.lock().writeback().promote_on_read())
        ),
        Attr::BdStat => {
            let reads = device.counters.blocks_read.get();
            let corrupt = device.counters.checksum_errors.get();
            let (used, writes) = device
                .backend()
                .map(|backend| {
                    let store = backend.store.lock();
                    let used = store.backing_stats().map_or(0, |stats| stats.used_blocks);
                    (u64::from(used), store.bd_counts().writes)
                })
                .unwrap_or_default();
            writeln!(out, "{used:>8} {reads:>8} {writes:>8} {corrupt:>8}")
        }
        Attr::WritebackStat => write_writeback_stat(device, out),
        // Write-only: sysfs does not offer a read.
        Attr::Reset
        | Attr::AlgorithmParams
        | Attr::MemLimit
        | Attr::MemUsedMax
        | Attr::Compact
        | Attr::Writeback
        | Attr::Idle => return Err(EINVAL),
    };
    // Every line fits a page many times over.
    written.map_err(|_| EINVAL)
}

pub(crate) fn store(device: &GhostDevice, disk: &DiskRef, index: usize, input: &[u8]) -> Result {
    match attr(index)? {
        Attr::Disksize => {
            let mut config = device.config.lock();
            let sectors = device.initialize(&mut config, input)?;
            // With a backing device a read may wait for it: swap is told the
            // disk is not synchronous, so it reads ahead through its cache
            // and does not wait for writes. Either way is correct; a failure
            // only leaves swap's faster path for the other case.
            let synchronous = device.backend().map_or(true, |b| !b.has_backing());
            if let Err(e) = disk.set_synchronous(synchronous) {
                pr_warn!("cannot set synchronous={synchronous}: {e:?}\n");
            }
            disk.set_capacity_sectors(sectors);
            Ok(())
        }
        // Under the disk's open mutex, so nobody can open it while it resets.
        Attr::Reset => disk.with_open_lock(|openers| {
            let mut config = device.config.lock();
            if config.reset(input, openers > 0).map_err(attr_error)? {
                device.release();
                disk.set_capacity_sectors(0);
            }
            Ok(())
        }),
        Attr::CompAlgorithm => {
            let mut config = device.config.lock();
            config.set_algorithm(input).map(drop).map_err(attr_error)
        }
        Attr::AlgorithmParams => device.config.lock().set_params(input).map_err(attr_error),
        Attr::MemLimit => {
            let mut config = device.config.lock();
            let limit = config.set_mem_limit(input).map_err(attr_error)?;
            device.set_mem_limit(limit);
            Ok(())
        }
        Attr::MemUsedMax => {
            // zram: only "0" is accepted; it restarts the high-water mark.
            match attrs::parse_reset(input).map_err(attr_error)? {
                false => {
                    if let Some(backend) = device.backend() {
                        backend.store.lock().reset_max();
                    }
                    Ok(())
                }
                true => Err(EINVAL),
            }
        }
        Attr::Compact => {
            attrs::parse_compact(input).map_err(attr_error)?;
            let backend = device.backend().ok_or(EINVAL)?;
            // In steps, with the lock dropped between them, so that swap's
            // slot-free notifications never wait long for it. Freed frames go
            // back to the page allocator on the spot, which does not sleep.
            let mut cursor = CompactCursor::new();
            in_steps(|| {
                backend
                    .store
                    .lock()
                    .compact_step(&mut cursor, COMPACT_FRAMES_PER_STEP)
                    == Compaction::Finished
            });
            Ok(())
        }
        Attr::BackingDev => {
            // The path is opened with no lock held: opening takes the target
            // disk's open mutex, which `reset` takes before `config`.
            let request = device
                .config
                .lock()
                .check_backing_dev(input)
                .map_err(attr_error)?;
            let opened = match request {
                BackingDevRequest::Attach(path) => {
                    let path = CString::try_from_fmt(fmt!("{path}"))?;
                    let bdev = BlockDevice::open(&path, device)?;
                    // A ghostswap disk (this one or another) could make a
                    // writeback wait for itself.
                    if bdev.disk_owned_by(&crate::THIS_MODULE) {
                        return Err(EINVAL);
                    }
                    Some(bdev)
                }
                BackingDevRequest::Detach => None,
            };
            // Checked again: the device may have been initialized meanwhile.
            let mut config = device.config.lock();
            config.set_backing_dev(input).map_err(attr_error)?;
            // A device opened before is closed here (the block layer closes
            // it after this write returns, outside every lock).
            *device.pending_backing.lock() = opened;
            Ok(())
        }
        Attr::Writeback => {
            // Held for the run: the budget is charged as it was checked.
            let mut config = device.config.lock();
            let request = config.writeback_request(input).map_err(attr_error)?;
            let backend = device.backend().ok_or(EINVAL)?;
            if backend.backing.is_none() {
                return Err(ENODEV);
            }
            let budget = config.writeback().writeback_budget();
            if budget == Some(0) {
                return Err(EIO);
            }
            backend.store.lock().set_clock(writeback::now_secs());
            device.counters.manual_runs.inc();
            // EAGAIN while an automatic run works, as documented.
            let ran = writeback::try_run(&backend, request.into(), budget)?;
            config.charge_writeback(ran.blocks);
            // Nothing moved: say why.
            match ran {
                ran if ran.pages == 0 && (ran.over_budget || ran.failed > 0) => Err(EIO),
                ran if ran.pages == 0 && ran.no_space => Err(ENOSPC),
                _ => Ok(()),
            }
        }
        Attr::Idle => {
            let request = device
                .config
                .lock()
                .idle_request(input)
                .map_err(attr_error)?;
            let backend = device.backend().ok_or(EINVAL)?;
            let min_age = match request {
                IdleRequest::All => None,
                IdleRequest::Age { secs } => Some(secs),
            };
            // In steps, as compaction.
            backend
                .store
                .lock()
                .start_mark_idle(writeback::now_secs(), min_age);
            in_steps(|| {
                let step = backend.store.lock().mark_idle_step(IDLE_FRAMES_PER_STEP);
                matches!(step, IdleMarking::Finished { .. })
            });
            Ok(())
        }
        Attr::WritebackLimit => device
            .config
            .lock()
            .set_writeback_limit(input)
            .map(drop)
            .map_err(attr_error),
        Attr::WritebackLimitEnable => device
            .config
            .lock()
            .set_writeback_limit_enable(input)
            .map(drop)
            .map_err(attr_error),
        Attr::PoolHighWmark | Attr::PoolLowWmark | Attr::PromoteOnRead => {
            let mut config = device.config.lock();
            match attr(index)? {
                Attr::PoolHighWmark => config.set_pool_high_wmark(input).map(drop),
                Attr::PoolLowWmark => config.set_pool_low_wmark(input).map(drop),
                _ => config.set_promote_on_read(input).map(drop),
            }
            .map_err(attr_error)?;
            if let Some(backend) = device.backend() {
                backend
                    .store
                    .lock()
                    .apply_writeback_settings(config.writeback());
            }
            Ok(())
        }
        Attr::Initstate
        | Attr::MmStat
        | Attr::IoStat
        | Attr::DebugStat
        | Attr::FrontswapStat
        | Attr::BdStat
        | Attr::WritebackStat => Err(EINVAL),
    }
}

/// Calls `step`, which does one bounded step of work under the store lock,
/// until it returns `true` (finished), letting other tasks run between steps
/// (the kernel does not preempt a task that runs in it).
fn in_steps(mut step: impl FnMut() -> bool) {
    while !step() {
        task::cond_resched();
    }
}

/// `writeback_stat`: see Documentation/ABI/testing/sysfs-block-ghostswap.
fn write_writeback_stat(device: &GhostDevice, out: &mut AttributeBuffer<'_>) -> core::fmt::Result {
    let fields = device.backend().map_or([0; 12], |backend| {
        let store = backend.store.lock();
        let (written, direct) = (store.wb_counts().written, store.wb_counts().direct);
        let blocks = store.backing_stats();
        drop(store);
        let (used, free) = blocks.map_or((0, 0), |b| (b.used_blocks, b.free_blocks()));
        let counters = &device.counters;
        [
            written,
            counters.frames_written.get(),
            counters.bytes_written.get(),
            counters.failed_frames.get(),
            counters.promotions.get(),
            u64::from(used),
            u64::from(free),
            direct,
            counters.auto_runs.get(),
            counters.manual_runs.get(),
            counters.buffer_fallbacks.get(),
            counters.backoff_deferrals.get(),
        ]
    });
    // Right-aligned in 8 columns, separated by one space, as zram's stats.
    for (i, field) in fields.iter().enumerate() {
        let gap = if i == 0 { "" } else { " " };
        write!(out, "{gap}{field:>8}")?;
    }
    writeln!(out)
}

// zram's figure: at most 16 bytes of metadata per slot.
const _: () = assert!(core::mem::size_of::<State<Content>>() <= 16);
