//! `status`'s words: a device's counters as sentences.

use std::fmt::Write;

use crate::size::{human, human_long};
use crate::swaps::SwapArea;
use crate::sysfs::{Device, Snapshot};

/// What else is known about the device besides its files.
pub struct Context<'a> {
    /// Its swap area, if swapped on.
    pub swap: Option<&'a SwapArea>,
    /// The file behind the loop device that backs it, if any.
    pub backing_file: Option<String>,
    /// The zstd level setup asked for, if known.
    pub level: Option<i32>,
}

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "0%".to_owned();
    }
    // CAST: display only.
    let p = part as f64 * 100.0 / whole as f64;
    if p >= 10.0 || p == 0.0 {
        format!("{p:.0}%")
    } else {
        format!("{p:.1}%")
    }
}

fn ratio(data: u64, memory: u64) -> String {
    if memory == 0 {
        return "-".to_owned();
    }
    // CAST: display only.
    format!("{:.2}", data as f64 / memory as f64)
}

/// The pages held in memory: same-filled ones, packed objects and huge frames
/// (`debug_stat`); `None` if the driver does not show them. The rest of the pages
/// stored are on the backing device.
fn resident_pages(snap: &Snapshot) -> Option<u64> {
    let debug = snap.debug.as_ref()?;
    Some(snap.mm.same_pages + debug.get("objects")? + debug.get("huge_frames")?)
}

/// The status of `device`, several lines.
pub fn describe(device: &Device, snap: &Snapshot, ctx: &Context<'_>) -> String {
    let mut out = String::new();
    let name = device.dev_name();
    if !snap.is_set_up() {
        let _ = writeln!(
            out,
            "{name}: not set up (`ghostswapctl setup {}` sets it up)",
            device.name
        );
        return out;
    }
    let mm = &snap.mm;
    let fs = &snap.frontswap;
    let algo = match (snap.algorithm.selected.as_str(), ctx.level) {
        ("zstd", Some(level)) => format!("zstd level {level}"),
        (algo, _) => algo.to_owned(),
    };
    let swap = match ctx.swap {
        Some(a) => format!(
            "swap priority {}, {} used",
            a.priority,
            human(a.used_kib.saturating_mul(1024))
        ),
        None => "not swapped on".to_owned(),
    };
    let _ = writeln!(
        out,
        "{name}: {} device, {algo}, {swap}",
        human(snap.disksize)
    );

    let pages = mm.orig_data_size / 4096;
    let _ = writeln!(
        out,
        "  stored          {pages} pages ({}): {} same-filled (no memory), {} huge (stored uncompressed)",
        human_long(mm.orig_data_size),
        percent(mm.same_pages, pages),
        percent(mm.huge_pages, pages),
    );
    let resident = resident_pages(snap).unwrap_or(pages);
    let on_backing = pages.saturating_sub(resident);
    let in_memory = if on_backing > 0 {
        format!(" ({on_backing} pages are on the backing device)")
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "  compression     {} of data in {} of memory{in_memory}: ratio {} with the allocator's overhead, {} on the compressed bytes alone",
        human_long(resident * 4096),
        human_long(mm.mem_used_total),
        ratio(resident * 4096, mm.mem_used_total),
        ratio(resident * 4096, mm.compr_data_size),
    );
    let limit = if mm.mem_limit == 0 {
        "no limit".to_owned()
    } else {
        format!(
            "of a {} limit ({})",
            human_long(mm.mem_limit),
            percent(mm.mem_used_total, mm.mem_limit)
        )
    };
    let _ = writeln!(
        out,
        "  memory          {} used, {limit}; peak {}",
        human_long(mm.mem_used_total),
        human_long(mm.mem_used_max)
    );

    match &snap.backing_dev {
        Some(dev) => {
            let file = ctx
                .backing_file
                .as_ref()
                .map(|f| format!(" (over {f})"))
                .unwrap_or_default();
            let bd = &snap.bd;
            let _ = writeln!(
                out,
                "  backing device  {dev}{file}: {} blocks ({}) hold written-back frames now; {} blocks read back from it, {} written in all",
                bd.bd_count,
                human_long(bd.bd_count.saturating_mul(4096)),
                bd.bd_reads,
                bd.bd_writes,
            );
            if bd.checksum_errors > 0 {
                let _ = writeln!(
                    out,
                    "  checksum errors {}: reads of written-back pages whose blocks changed on the device (each failed with EIO)",
                    bd.checksum_errors
                );
            }
            if let Some(t) = &snap.tuning {
                let auto = if mm.mem_limit == 0 {
                    "only on request (no mem_limit to take a share of)".to_owned()
                } else {
                    format!(
                        "from {}% of the limit down to {}%, and on request",
                        t.pool_high_wmark, t.pool_low_wmark
                    )
                };
                let budget = if t.writeback_limit_enable {
                    format!("writeback_limit {} blocks left", t.writeback_limit)
                } else {
                    "no writeback_limit".to_owned()
                };
                let promote = if t.promote_on_read { "on" } else { "off" };
                let _ = writeln!(
                    out,
                    "  writes back     {auto}; {budget}; promote_on_read {promote}"
                );
            }
            if let Some(wb) = &snap.writeback {
                let _ = writeln!(
                    out,
                    "  writeback       {} pages in {} frames; {} runs ({} automatic, {} requested); {} failed frame writes; {} pages stored straight to the device at the limit",
                    wb.pages_written,
                    wb.frames_written,
                    wb.auto_runs.saturating_add(wb.manual_runs),
                    wb.auto_runs,
                    wb.manual_runs,
                    wb.failed_writebacks,
                    wb.fallthrough_stores,
                );
            }
        }
        None => {
            let _ = writeln!(out, "  backing device  none");
        }
    }
    let _ = writeln!(
        out,
        "  failures        {} stores refused (no memory or at the limit); {} failed reads, {} failed writes",
        fs.failed_stores, snap.io.failed_reads, snap.io.failed_writes
    );
    if let Some(n) = snap.debug.as_ref().and_then(|d| d.checksum_failures()) {
        let _ = writeln!(out, "  checksums       {n} failures");
    }
    out
}

/// Rates between two snapshots `secs` seconds apart, one line.
pub fn rates(before: &Snapshot, after: &Snapshot, secs: f64) -> String {
    let per_sec = |a: u64, b: u64| {
        // CAST: display only.
        let d = b.saturating_sub(a) as f64;
        if secs > 0.0 {
            d / secs
        } else {
            0.0
        }
    };
    let wb = |s: &Snapshot| s.writeback.map_or(0, |w| w.pages_written);
    format!(
        "  rates           {:.0} stores/s, {:.0} loads/s, {:.0} pages written back/s, {:.0} backing reads/s",
        per_sec(before.frontswap.stores, after.frontswap.stores),
        per_sec(before.frontswap.loads, after.frontswap.loads),
        per_sec(wb(before), wb(after)),
        per_sec(before.bd.bd_reads, after.bd.bd_reads),
    )
}
