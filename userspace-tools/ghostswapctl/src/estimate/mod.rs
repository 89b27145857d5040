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
pub mod tally;
pub mod zram_model;

use std::collections::HashSet;
use std::io::IsTerminal;

use anyhow::{bail, Result};
use ghostswap_core::frame::Page;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::cli::{EstimateAlgorithm, EstimateArgs};
use crate::paths::Roots;
use codec::Codec;
use ghost_model::GhostFigures;
use scan::{Memory, Process, Run, PAGE};
use tally::{Pages, Tally};
use zram_model::ZramFigures;

/// Pages read from a process at a time.
const PAGES_PER_READ: u64 = 64;

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
    let codec = Codec::new(args.algorithm, args.level)?;
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
    let mut tally = Tally::new(codec, args.sample)?;
    // CAST: PAGES_PER_READ pages of 4 KiB.
    let mut buf = vec![0u8; (PAGES_PER_READ * PAGE) as usize];
    for process in &processes {
        if let Some(bar) = &bar {
            bar.set_message(format!("{} ({})", process.comm, process.pid));
        }
        let memory = match Memory::open(&roots.proc, process.pid) {
            Ok(m) => m,
            Err(e) if args.all => {
                drop(e);
                tally.unreadable(process.pages());
                continue;
            }
            Err(e) => return Err(e),
        };
        for run in &process.runs {
            read_run(&memory, run, &mut buf, &mut tally, bar.as_ref())?;
        }
    }
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let (mut pages, ghostswap, zram) = tally.finish();
    pages.resident = total;
    pages.swapped = processes.iter().map(|p| p.swapped).sum();
    Ok(Estimate {
        processes: processes.iter().map(|p| (p.pid, p.comm.clone())).collect(),
        algorithm: match args.algorithm {
            EstimateAlgorithm::Lz4 => "lz4".to_owned(),
            EstimateAlgorithm::Zstd => "zstd".to_owned(),
        },
        level: match args.algorithm {
            EstimateAlgorithm::Zstd => Some(
                args.level
                    .unwrap_or(ghostswap_core::attrs::ZSTD_DEFAULT_LEVEL),
            ),
            EstimateAlgorithm::Lz4 => None,
        },
        sample: args.sample,
        pages,
        ghostswap,
        zram,
    })
}

/// Reads the pages of `run` into the tally, `PAGES_PER_READ` at a time.
fn read_run(
    memory: &Memory,
    run: &Run,
    buf: &mut [u8],
    tally: &mut Tally,
    bar: Option<&ProgressBar>,
) -> Result<()> {
    let end = run.addr + run.pages * PAGE;
    let mut addr = run.addr;
    while addr < end {
        let n = ((end - addr) / PAGE).min(PAGES_PER_READ);
        // CAST: at most PAGES_PER_READ pages.
        let chunk = &mut buf[..(n * PAGE) as usize];
        if memory.read(addr, chunk) {
            for page in chunk.chunks_exact(PAGE as usize) {
                if let Ok(page) = <&Page>::try_from(page) {
                    tally.page(page)?;
                }
            }
        } else {
            tally.unreadable(n);
        }
        if let Some(bar) = bar {
            bar.inc(n);
        }
        addr += n * PAGE;
    }
    Ok(())
}
