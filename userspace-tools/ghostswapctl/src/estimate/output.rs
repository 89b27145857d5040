//! The estimate in words.

use std::fmt::Write;

use super::Estimate;
use crate::size::human_long;

fn ratio(data: u64, memory: u64) -> String {
    if memory == 0 {
        return "-".to_owned();
    }
    // CAST: display only.
    format!("{:.2}", data as f64 / memory as f64)
}

/// One driver's line: its memory for the data.
fn memory(driver: &str, used: u64, data: u64, huge: u64) -> String {
    format!(
        "  {driver:<25} {} of memory for {} of data: ratio {} ({huge} huge pages)",
        human_long(used),
        human_long(data),
        ratio(data, used),
    )
}

/// The estimate as a short report.
pub fn text(e: &Estimate) -> String {
    let mut out = String::new();
    let who = match e.processes.as_slice() {
        [(pid, comm)] => format!("process {pid} ({comm})"),
        list => format!("{} processes", list.len()),
    };
    let algo = match e.level {
        Some(level) => format!("{} level {level}", e.algorithm),
        None => e.algorithm.clone(),
    };
    let p = &e.pages;
    let _ = writeln!(out, "estimate for {who}, {algo}:");
    let _ = writeln!(
        out,
        "  resident anonymous pages  {} ({})",
        p.resident,
        human_long(p.resident * 4096)
    );
    if p.swapped > 0 || p.unreadable > 0 {
        let _ = writeln!(
            out,
            "  not counted               {} already in swap, {} unreadable",
            p.swapped, p.unreadable
        );
    }
    let _ = writeln!(
        out,
        "  zero pages                {} (never reach a swap device)",
        p.zero
    );
    let _ = writeln!(
        out,
        "  same-filled pages         {} (kept in the slot: no memory)",
        p.same_filled
    );
    let sample = if e.sample > 1 {
        format!(", {} compressed (one in {})", p.compressed, e.sample)
    } else {
        String::new()
    };
    let _ = writeln!(out, "  other pages               {}{sample}", p.other);
    let g = &e.ghostswap;
    let z = &e.zram;
    let _ = writeln!(
        out,
        "{}; through ghostswap_core's store, 32 KiB frames",
        memory(
            "ghostswap",
            g.mem_used_total,
            g.orig_data_size,
            g.huge_pages
        )
    );
    let _ = writeln!(
        out,
        "{}",
        memory(
            "zram (zsmalloc)",
            z.mem_used_total,
            z.orig_data_size,
            z.huge_pages
        )
    );
    let diff = i128::from(z.mem_used_total) - i128::from(g.mem_used_total);
    if z.mem_used_total > 0 {
        // CAST: display only.
        let pct = diff as f64 * 100.0 / z.mem_used_total as f64;
        let _ = writeln!(
            out,
            "  ghostswap vs zram         {} {} ({pct:+.1}% of zram's)",
            human_long(diff.unsigned_abs() as u64),
            if diff >= 0 { "less" } else { "more" }
        );
    }
    out
}
