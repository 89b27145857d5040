//! `ghostswapctl writeback`: one run of writeback in one of zram's modes, with a
//! spinner counting the pages as they move and a summary of what moved.

use std::io::IsTerminal;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use ghostswap_core::attrs::{parse_idle, parse_writeback};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::WritebackArgs;
use crate::explain::refusal;
use crate::paths::Roots;
use crate::size::{human, human_long};
use crate::sysfs::stat::WritebackStat;
use crate::sysfs::{Device, Snapshot, WriteError};

/// Runs `writeback`; returns the summary lines.
pub fn run(roots: &Roots, args: &WritebackArgs) -> Result<Vec<String>> {
    let device = Device::find(roots, &args.device)?;
    let name = device.name.as_str();
    let before = Snapshot::read(&device)?;
    if !before.is_set_up() {
        bail!("{name} is not set up; nothing to write back");
    }
    let Some(backing) = before.backing_dev.clone() else {
        bail!(
            "{name} has no backing device; set it up with one (`ghostswapctl setup ... --backing PATH`)"
        );
    };
    let pages = before.disksize / 4096;
    parse_writeback(args.mode.as_bytes(), Some(pages)).map_err(|_| {
        anyhow!(
            "`{}` is not a writeback mode: idle, huge, huge_idle, incompressible, all, \
             page_index=N or page_indexes=LO-HI, with pages below {pages}",
            args.mode
        )
    })?;
    let mut lines = Vec::new();
    if let Some(idle) = &args.mark_idle {
        parse_idle(idle.as_bytes())
            .map_err(|_| anyhow!("--mark-idle takes `all` or an age in seconds, not `{idle}`"))?;
        device
            .write("idle", idle)
            .map_err(|e| refusal(name, e, &[]))?;
        lines.push(format!("marked idle: {idle}"));
    }

    let start = Instant::now();
    let writer = {
        let device = device.clone();
        let mode = args.mode.clone();
        thread::spawn(move || write_waiting(&device, &mode))
    };
    let spinner = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} writeback {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar
    });
    let first = before.writeback.map_or(0, |w| w.pages_written);
    while !writer.is_finished() {
        if let Some(bar) = &spinner {
            let now = read_writeback(&device).map_or(0, |w| w.pages_written);
            bar.set_message(format!("{} pages written", now.saturating_sub(first)));
            bar.tick();
        }
        thread::sleep(Duration::from_millis(100));
    }
    if let Some(bar) = &spinner {
        bar.finish_and_clear();
    }
    let result = writer
        .join()
        .map_err(|_| anyhow!("the writeback thread panicked"))?;
    let elapsed = start.elapsed();
    result.map_err(|e| {
        refusal(
            name,
            e,
            &[
                (libc::ENODEV, "no backing device is attached"),
                (
                    libc::EAGAIN,
                    "an automatic writeback has been running for 30 s; try again later",
                ),
                (
                    libc::EIO,
                    "nothing was written: writeback_limit stopped it, or the backing device \
                     failed every write (see failed writebacks in `ghostswapctl status`)",
                ),
                (libc::ENOSPC, "the backing device is full"),
            ],
        )
    })?;

    let after = Snapshot::read(&device)?;
    let (b, a) = (
        before.writeback.unwrap_or_default(),
        after.writeback.unwrap_or_default(),
    );
    let moved = a.pages_written.saturating_sub(b.pages_written);
    let frames = a.frames_written.saturating_sub(b.frames_written);
    let bytes = a.bytes_written.saturating_sub(b.bytes_written);
    let failed = a.failed_writebacks.saturating_sub(b.failed_writebacks);
    if moved == 0 && failed == 0 {
        let hint = if args.mode.contains("idle") && args.mark_idle.is_none() {
            " (no frame is marked idle: add --mark-idle all, or an age in seconds)"
        } else {
            ""
        };
        lines.push(format!(
            "{name}: nothing to write back for `{}`{hint}",
            args.mode
        ));
        return Ok(lines);
    }
    lines.push(format!(
        "{name}: wrote {moved} pages in {frames} frames ({}) to {backing} in {:.1} s",
        human_long(bytes),
        elapsed.as_secs_f64()
    ));
    lines.push(format!(
        "memory used {} -> {}; the backing device holds {} now",
        human(before.mm.mem_used_total),
        human(after.mm.mem_used_total),
        human_long(after.bd.bd_count.saturating_mul(4096))
    ));
    if failed > 0 {
        lines.push(format!(
            "{failed} frame writes failed; their pages stay in memory"
        ));
    }
    Ok(lines)
}

/// How long a request waits for an automatic writeback that is running.
const BUSY_WAIT: Duration = Duration::from_secs(30);

/// Writes `mode` to `writeback`, waiting while an automatic writeback runs (`EAGAIN`).
fn write_waiting(device: &Device, mode: &str) -> Result<(), WriteError> {
    let deadline = Instant::now() + BUSY_WAIT;
    loop {
        match device.write("writeback", mode) {
            Err(e) if e.errno() == Some(libc::EAGAIN) && Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(100));
            }
            other => return other,
        }
    }
}

fn read_writeback(device: &Device) -> Result<WritebackStat> {
    let text = device.read("writeback_stat")?;
    WritebackStat::parse(&text).context("writeback_stat")
}
