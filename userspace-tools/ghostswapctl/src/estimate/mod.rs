//! `ghostswapctl estimate`: what processes' anonymous memory would take in ghostswap
//! and in zram, before any of it is swapped.
//!
//! Every resident anonymous page is read ([`scan`]) and classified as the drivers
//! classify it: a zero page never reaches a swap device (6.12 keeps a swap zeromap), a
//! page of one repeated word takes no memory in either, any other page is compressed
//! ([`codec`]) and fed to ghostswap's own store ([`ghost_model`]) and to a model of zram
//! on zsmalloc ([`zram_model`]). Bitmaps over the pages scanned record which were
//! same-filled and which were sampled.

pub mod codec;
pub mod ghost_model;
mod output;
pub mod scan;
pub mod zram_model;

use std::collections::HashSet;
use std::io::IsTerminal;

use anyhow::{bail, Result};
use bitvec::prelude::*;
use ghostswap_core::classify::same_filled;
use ghostswap_core::frame::Page;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::cli::EstimateArgs;
use crate::paths::Roots;
use codec::Codec;
use ghost_model::{GhostFigures, GhostModel};
use scan::{Memory, Process, PAGE};
use zram_model::{ZramFigures, ZramModel};

/// Pages read from a process at a time.
const PAGES_PER_READ: u64 = 64;

/// How the pages scanned were classified.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Pages {
    /// Resident anonymous pages found.
    pub resident: u64,
    /// Pages that could not be read (gone meanwhile, or unreadable mappings).
    pub unreadable: u64,
    /// Pages already in swap (not estimated).
    pub swapped: u64,
    /// Zero pages: they never reach a swap device.
    pub zero: u64,
    /// Pages of one repeated non-zero word.
    pub same_filled: u64,
    /// Other pages.
    pub other: u64,
    /// Of those, the pages compressed (one in `sample`).
    pub compressed: u64,
}

/// The result of an estimate.
#[derive(Debug, Clone, Serialize)]
pub struct Estimate {
    /// The processes, as `(pid, command)`.
    pub processes: Vec<(u32, String)>,
    /// `lz4` or `zstd`.
    pub algorithm: String,
    /// The zstd level.
    pub level: Option<i32>,
    /// One page in this many was compressed.
    pub sample: u32,
    /// The pages.
    pub pages: Pages,
    /// ghostswap's predicted `mm_stat`.
    pub ghostswap: GhostFigures,
    /// zram's predicted `mm_stat`.
    pub zram: ZramFigures,
}

/// Runs `estimate`, printing the result.
pub fn run(roots: &Roots, args: &EstimateArgs) -> Result<()> {
    let estimate = estimate(roots, args)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&estimate)?);
    } else {
        print!("{}", output::text(&estimate));
    }
    Ok(())
}

/// Scans the processes `args` names and predicts the two drivers' memory.
pub fn estimate(roots: &Roots, args: &EstimateArgs) -> Result<Estimate> {
    if args.sample == 0 {
        bail!("--sample takes a number of pages of at least 1");
    }
    let mut codec = Codec::new(args.algorithm, args.level)?;
    let pids = if args.all {
        scan::all_pids(&roots.proc, std::process::id())?
    } else {
        args.pids.clone()
    };
    let mut seen = HashSet::new();
    let mut processes = Vec::new();
    for &pid in &pids {
        match scan::find_pages(&roots.proc, pid, &mut seen) {
            Ok(p) => processes.push(p),
            // With --all, processes come and go; a named one must be there.
            Err(e) if args.all => drop(e),
            Err(e) => return Err(e),
        }
    }
    let total: u64 = processes.iter().map(Process::pages).sum();
    let bar = (!args.no_progress && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} pages ({eta} left) {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    });

    // CAST: a page count fits usize on 64-bit hosts.
    let len = total as usize;
    let mut same: BitVec<u64, Lsb0> = BitVec::repeat(false, len);
    let mut sampled: BitVec<u64, Lsb0> = BitVec::repeat(false, len);
    let mut pages = Pages {
        resident: total,
        swapped: processes.iter().map(|p| p.swapped).sum(),
        ..Pages::default()
    };
    let mut ghost = GhostModel::new()?;
    let mut zram = ZramModel::new();
    let weight = u64::from(args.sample);
    let mut ordinal: usize = 0;
    let mut buf = vec![0u8; (PAGES_PER_READ * PAGE) as usize];
    for process in &processes {
        if let Some(bar) = &bar {
            bar.set_message(format!("{} ({})", process.comm, process.pid));
        }
        let memory = match Memory::open(&roots.proc, process.pid) {
            Ok(m) => m,
            Err(e) if args.all => {
                drop(e);
                pages.unreadable += process.pages();
                ordinal += process.pages() as usize;
                continue;
            }
            Err(e) => return Err(e),
        };
        for run in &process.runs {
            let mut addr = run.addr;
            let end = run.addr + run.pages * PAGE;
            while addr < end {
                let n = ((end - addr) / PAGE).min(PAGES_PER_READ);
                // CAST: at most PAGES_PER_READ pages.
                let chunk = &mut buf[..(n * PAGE) as usize];
                if !memory.read(addr, chunk) {
                    pages.unreadable += n;
                    ordinal += n as usize;
                    addr += n * PAGE;
                    continue;
                }
                for page in chunk.chunks_exact(PAGE as usize) {
                    let Ok(page): Result<&Page, _> = page.try_into() else {
                        continue;
                    };
                    match same_filled(page) {
                        Some(0) => {
                            same.set(ordinal, true);
                            pages.zero += 1;
                        }
                        Some(word) => {
                            same.set(ordinal, true);
                            pages.same_filled += 1;
                            ghost.same_filled(word, 1)?;
                            zram.same_filled(1);
                        }
                        None => {
                            pages.other += 1;
                            // CAST: the sample is at most u32::MAX.
                            if ordinal.is_multiple_of(args.sample as usize) {
                                sampled.set(ordinal, true);
                                let packed = codec.compress(page);
                                zram.compressed(packed.map(<[u8]>::len), weight);
                                ghost.compressed(page, packed, weight)?;
                            }
                        }
                    }
                    ordinal += 1;
                }
                if let Some(bar) = &bar {
                    bar.inc(n);
                }
                addr += n * PAGE;
            }
        }
    }
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    pages.compressed = sampled.count_ones() as u64;
    debug_assert_eq!(same.count_ones() as u64, pages.zero + pages.same_filled);
    Ok(Estimate {
        processes: processes.iter().map(|p| (p.pid, p.comm.clone())).collect(),
        algorithm: match args.algorithm {
            crate::cli::EstimateAlgorithm::Lz4 => "lz4".to_owned(),
            crate::cli::EstimateAlgorithm::Zstd => "zstd".to_owned(),
        },
        level: match args.algorithm {
            crate::cli::EstimateAlgorithm::Zstd => {
                Some(args.level.unwrap_or(ghostswap_core::attrs::ZSTD_DEFAULT_LEVEL))
            }
            crate::cli::EstimateAlgorithm::Lz4 => None,
        },
        sample: args.sample,
        pages,
        ghostswap: ghost.figures(),
        zram: zram.figures(),
    })
}
