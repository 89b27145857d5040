// SPDX-License-Identifier: GPL-2.0

//! The device's files under `/sys/block/ghostswapN/`: zram's names, modes and
//! syntax where the meaning is the same.
//!
//! Documented in `Documentation/ABI/testing/sysfs-block-ghostswap`. Parsing
//! and the rules of what may change when live in `gscore::attrs`; every
//! rejected write leaves the device unchanged.

use core::{fmt::Write, sync::atomic::Ordering};
use kernel::{
    block::mq::attribute::{Attribute, AttributeBuffer, DiskRef},
    c_str,
    prelude::*,
};

use crate::device::{Frame, GhostDevice};
use crate::gscore::{
    attrs::{self, AttrError},
    pool::FrameEntry,
    slots::Slot,
    stats::{write_frontswap_stat, write_mm_stat, Counters, MmStat},
    store::{ClassCounts, Content},
};

/// The attributes; `ATTRIBUTES[i]` is served by the arms for `Attr::ALL[i]`.
#[derive(Clone, Copy)]
enum Attr {
    Disksize,
    Initstate,
    Reset,
    CompAlgorithm,
    AlgorithmParams,
    MemLimit,
    MemUsedMax,
    Compact,
    MmStat,
    IoStat,
    DebugStat,
    FrontswapStat,
}

impl Attr {
    const ALL: [Attr; 12] = [
        Attr::Disksize,
        Attr::Initstate,
        Attr::Reset,
        Attr::CompAlgorithm,
        Attr::AlgorithmParams,
        Attr::MemLimit,
        Attr::MemUsedMax,
        Attr::Compact,
        Attr::MmStat,
        Attr::IoStat,
        Attr::DebugStat,
        Attr::FrontswapStat,
    ];
}

/// In the order of [`Attr::ALL`].
pub(crate) const ATTRIBUTES: &[Attribute] = &[
    Attribute::read_write(c_str!("disksize")),
    Attribute::read_only(c_str!("initstate")),
    Attribute::write_only(c_str!("reset")),
    Attribute::read_write(c_str!("comp_algorithm")),
    Attribute::write_only(c_str!("algorithm_params")),
    Attribute::write_only(c_str!("mem_limit")),
    Attribute::write_only(c_str!("mem_used_max")),
    Attribute::write_only(c_str!("compact")),
    Attribute::read_only(c_str!("mm_stat")),
    Attribute::read_only(c_str!("io_stat")),
    Attribute::read_only(c_str!("debug_stat")),
    Attribute::read_only(c_str!("frontswap_stat")),
];

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
            let io = &device.io;
            let get = |c: &core::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
            writeln!(
                out,
                "{:>8} {:>8} {:>8} {:>8}",
                get(&io.failed_reads),
                get(&io.failed_writes),
                get(&io.invalid_io),
                get(&io.notify_free)
            )
        }
        Attr::DebugStat => {
            let (pool, classes) = device
                .backend()
                .map(|backend| {
                    let store = backend.store.lock();
                    (store.pool().pool_stats(), store.classes())
                })
                .unwrap_or_default();
            writeln!(
                out,
                "version: 2\nslot_metadata_bytes: {}\nframe_entry_bytes: {}\n\
                 packed_frames: {}\npacked_pages: {}\nhuge_frames: {}\n\
                 reserve_frames: {}\nreserve_pages: {}\nobjects: {}\n\
                 object_bytes: {}\nhole_bytes: {}\nfragmentation_permille: {}\n\
                 auto_compactions: {}",
                core::mem::size_of::<Slot<Content>>(),
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
            )
        }
        Attr::FrontswapStat => {
            let (counters, classes) = device
                .backend()
                .map(|backend| {
                    let store = backend.store.lock();
                    (store.counters(), store.classes())
                })
                .unwrap_or((Counters::default(), ClassCounts::default()));
            write_frontswap_stat(&counters, classes.same_pages, classes.huge_pages, out)
        }
        // Write-only: sysfs does not offer a read.
        Attr::Reset | Attr::AlgorithmParams | Attr::MemLimit | Attr::MemUsedMax | Attr::Compact => {
            return Err(EINVAL)
        }
    };
    // Every line fits a page many times over.
    written.map_err(|_| EINVAL)
}

pub(crate) fn store(device: &GhostDevice, disk: &DiskRef, index: usize, input: &[u8]) -> Result {
    match attr(index)? {
        Attr::Disksize => {
            let mut config = device.config.lock();
            let sectors = device.initialize(&mut config, input)?;
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
            // Freed frames go back to the page allocator on the spot, which
            // does not sleep.
            backend.store.lock().compact(drop);
            Ok(())
        }
        Attr::Initstate | Attr::MmStat | Attr::IoStat | Attr::DebugStat | Attr::FrontswapStat => {
            Err(EINVAL)
        }
    }
}

// zram's figure: at most 16 bytes of metadata per slot.
const _: () = assert!(core::mem::size_of::<Slot<Content>>() <= 16);
