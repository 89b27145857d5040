//! `swapcheck`: a verifying anonymous-memory workload for swap devices.
//!
//! It maps an anonymous region, fills every 4 KiB page with content that can be recomputed
//! from `(seed, page index, generation)` (see [`content`]), and then, for each pass,
//! verifies every page (which faults swapped-out pages back in), rewrites a fraction of
//! the pages with their next generation, and finally verifies everything once more.
//! Run it with less memory than `--size` (a cgroup v2 `memory.max`, or
//! `--madvise-pageout`) so that pages actually travel through swap.
//!
//! `--threads` makes the verify sweeps concurrent ([`sweep`]); `--hot-fraction` replaces
//! each pass's sweep by timed hot/cold accesses ([`access`], [`hotcold`], [`faults`]).
//!
//! Exit status: 0 if every check matched, 1 on mismatches, 2 on usage or setup errors.

mod access;
mod content;
mod faults;
mod hotcold;
mod options;
mod region;
mod sweep;
mod workload;

use access::HotColdRun;
use content::{Mix, Pattern, MAX_PAGES, PAGE_SIZE};
use options::{parse_args, Options, USAGE};
use region::Region;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use workload::Workload;

/// One line of `/proc/self/status` memory usage, for showing that pages left RAM.
fn memory_status() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.split_whitespace().collect::<Vec<_>>().join(""))
            .unwrap_or_else(|| "?".to_string())
    };
    format!("VmRSS={} VmSwap={}", field("VmRSS:"), field("VmSwap:"))
}

fn rate(pages: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    // CAST: page counts are far below 2^52, exact in f64.
    let mib = pages as f64 * PAGE_SIZE as f64 / (1024.0 * 1024.0);
    format!(
        "{:.2} s, {:.0} MiB/s",
        secs,
        if secs > 0.0 { mib / secs } else { 0.0 }
    )
}

fn wait_for(path: &std::path::Path) {
    let start = Instant::now();
    let mut next_note = Duration::from_secs(60);
    while !path.exists() {
        std::thread::sleep(Duration::from_millis(100));
        if start.elapsed() >= next_note {
            println!(
                "swapcheck: still waiting for {} ({}s)",
                path.display(),
                next_note.as_secs()
            );
            next_note += Duration::from_secs(60);
        }
    }
}

fn run(opts: &Options) -> Result<u64, String> {
    let started = Instant::now();
    let pages = opts.size.div_ceil(PAGE_SIZE as u64);
    if pages >= MAX_PAGES {
        return Err(format!("--size too large: {pages} pages"));
    }
    let pages_usize = usize::try_from(pages).map_err(|_| "--size too large for this machine")?;
    println!(
        "swapcheck: size={} pages={pages} seed={:#x} mix={} passes={} rewrite-fraction={}",
        opts.size,
        opts.seed,
        match opts.mix {
            Mix::Plain => "plain",
            Mix::Mixed => "mixed",
        },
        opts.passes,
        opts.rewrite_fraction
    );
    // Only new settings get a line, so that default runs print what they always did.
    if opts.threads > 1 {
        println!("swapcheck: threads={}", opts.threads);
    }
    let mut hot_cold = opts
        .hot_cold
        .as_ref()
        .map(|h| HotColdRun::new(h, opts.seed, pages));
    if let Some(h) = &hot_cold {
        println!("{}", h.settings_line());
    }
    let region =
        Region::new(pages_usize).map_err(|e| format!("mmap of {} bytes failed: {e}", opts.size))?;
    let mut w = Workload::new(region, Pattern::new(opts.seed, opts.mix));

    let t = Instant::now();
    w.fill();
    println!(
        "swapcheck: fill: {pages} pages in {} ({})",
        rate(pages, t.elapsed()),
        memory_status()
    );
    let page_out = |w: &mut Workload| -> Result<(), String> {
        if opts.pageout {
            let t = Instant::now();
            w.region
                .page_out()
                .map_err(|e| format!("madvise(MADV_PAGEOUT) failed: {e}"))?;
            println!(
                "swapcheck: pageout: {:.2} s ({})",
                t.elapsed().as_secs_f64(),
                memory_status()
            );
        }
        Ok(())
    };
    page_out(&mut w)?;
    if let Some(path) = &opts.pause_file {
        println!(
            "swapcheck: filled; waiting for pause file {} ({})",
            path.display(),
            memory_status()
        );
        wait_for(path);
        println!(
            "swapcheck: pause file found, continuing ({})",
            memory_status()
        );
    }

    for pass in 1..=opts.passes {
        let round = format!("pass {pass}");
        let t = Instant::now();
        // The sweep, or the accesses, which also decide what may be rewritten.
        let accessed = match &mut hot_cold {
            None => {
                let bad = w.verify_all(&round, opts.threads);
                println!(
                    "swapcheck: pass {pass} verify: {pages} pages, {bad} mismatches in {} ({})",
                    rate(pages, t.elapsed()),
                    memory_status()
                );
                None
            }
            Some(h) => {
                let done = h.pass(&mut w, &round, pass, opts.threads);
                println!(
                    "swapcheck: pass {pass} access: {} accesses ({} hot), {} mismatches, {} faulted in {} ({})",
                    done.accesses,
                    done.hot,
                    done.mismatches,
                    done.faulted,
                    rate(done.accesses, t.elapsed()),
                    memory_status()
                );
                Some(done.accessed)
            }
        };
        let t = Instant::now();
        let n = match &accessed {
            None => w.rewrite(pass, opts.rewrite_fraction),
            Some(set) => w.rewrite_where(pass, opts.rewrite_fraction, |i| set.contains(i)),
        };
        println!(
            "swapcheck: pass {pass} rewrite: {n} pages in {}",
            rate(n, t.elapsed())
        );
        page_out(&mut w)?;
    }
    let t = Instant::now();
    let bad = w.verify_all("final", opts.threads);
    println!(
        "swapcheck: final verify: {pages} pages, {bad} mismatches in {} ({})",
        rate(pages, t.elapsed()),
        memory_status()
    );
    if let Some(h) = &mut hot_cold {
        println!("{}", h.summary_line());
    }
    // Before the summary, which stays the last line.
    println!(
        "swapcheck: runtime_s={:.3}",
        started.elapsed().as_secs_f64()
    );
    println!(
        "swapcheck: pages={pages} verified={} mismatches={} passes={}",
        w.verified, w.mismatches, opts.passes
    );
    Ok(w.mismatches)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opts = match parse_args(&args) {
        Ok(Some(opts)) => opts,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("swapcheck: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&opts) {
        Ok(0) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(e) => {
            eprintln!("swapcheck: error: {e}");
            ExitCode::from(2)
        }
    }
}
