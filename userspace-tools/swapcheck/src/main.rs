//! `swapcheck`: a verifying anonymous-memory workload for swap devices.
//!
//! It maps an anonymous region, fills every 4 KiB page with content that can be recomputed
//! from `(seed, page index, generation)` (see [`content`]), and then, for each pass,
//! verifies every page (which faults swapped-out pages back in), rewrites a fraction of
//! the pages with their next generation, and finally verifies everything once more.
//! Run it with less memory than `--size` (a cgroup v2 `memory.max`, or
//! `--madvise-pageout`) so that pages actually travel through swap.
//!
//! Exit status: 0 if every check matched, 1 on mismatches, 2 on usage or setup errors.

mod content;
mod region;

use content::{Class, Mismatch, Mix, Pattern, MAX_GENERATION, MAX_PAGES, PAGE_SIZE};
use region::Region;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// How many mismatches are described individually.
const MAX_REPORTED: u64 = 10;

const USAGE: &str = "\
usage: swapcheck --size SIZE [options]

Fills SIZE of anonymous memory with verifiable pages, then for each pass verifies
every page, rewrites a fraction of them, and finally verifies everything again.

options:
  --size SIZE              region size; bytes or with K/M/G/T suffix (required)
  --passes N               verify+rewrite passes before the final verify (default 3)
  --seed N                 content seed, decimal or 0x-hex (default: from the clock)
  --mix plain|mixed        plain: random pages; mixed: text, same-filled, random and
                           half-random pages, 25% each (default plain)
  --rewrite-fraction F     fraction of pages rewritten per pass, 0..1 (default 0.25)
  --madvise-pageout        MADV_PAGEOUT the region after filling and after each rewrite
  --pause-file PATH        after filling, wait until PATH exists, then go on
  -h, --help               this text

The last line is `swapcheck: pages=N verified=V mismatches=M passes=P`, where V counts
page checks over all verify rounds (N * (P + 1) when nothing is skipped) and M the
checks that failed. Exit status: 0 no mismatch, 1 mismatches, 2 usage/setup error.";

/// Parsed command line.
#[derive(Debug, Clone, PartialEq)]
struct Options {
    size: u64,
    passes: u32,
    seed: u64,
    mix: Mix,
    rewrite_fraction: f64,
    pageout: bool,
    pause_file: Option<PathBuf>,
}

/// Parses `123`, `4096`, `64K`, `192M`, `1G`, `1T` (binary multiples, `k`/`KiB`/`KB` too).
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits_end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, suffix) = t.split_at(digits_end);
    let num: u64 = num.parse().map_err(|_| format!("invalid size `{s}`"))?;
    let shift = match suffix.to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        "T" | "TB" | "TIB" => 40,
        _ => return Err(format!("invalid size suffix in `{s}`")),
    };
    num.checked_mul(1 << shift)
        .ok_or_else(|| format!("size `{s}` overflows"))
}

fn parse_u64(s: &str) -> Result<u64, String> {
    let r = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => s.parse(),
    };
    r.map_err(|_| format!("invalid number `{s}`"))
}

fn default_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    // CAST: only the low bits matter for a seed.
    content::mix64(nanos as u64 ^ u64::from(std::process::id()))
}

/// Parses the arguments after the program name; `Ok(None)` means `--help`.
fn parse_args(args: &[String]) -> Result<Option<Options>, String> {
    let mut size = None;
    let mut opts = Options {
        size: 0,
        passes: 3,
        seed: 0,
        mix: Mix::Plain,
        rewrite_fraction: 0.25,
        pageout: false,
        pause_file: None,
    };
    let mut seed = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = || -> Result<String, String> {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match name {
            "-h" | "--help" => return Ok(None),
            "--size" => size = Some(parse_size(&value()?)?),
            "--passes" => {
                let v = value()?;
                opts.passes = v
                    .parse()
                    .ok()
                    .filter(|&p| p < MAX_GENERATION - 1)
                    .ok_or_else(|| format!("invalid --passes `{v}`"))?;
            }
            "--seed" => seed = Some(parse_u64(&value()?)?),
            "--mix" => {
                opts.mix = match value()?.as_str() {
                    "plain" => Mix::Plain,
                    "mixed" => Mix::Mixed,
                    other => return Err(format!("invalid --mix `{other}` (plain or mixed)")),
                }
            }
            "--rewrite-fraction" => {
                let v = value()?;
                opts.rewrite_fraction = v
                    .parse()
                    .ok()
                    .filter(|f: &f64| (0.0..=1.0).contains(f))
                    .ok_or_else(|| format!("invalid --rewrite-fraction `{v}` (0..1)"))?;
            }
            "--madvise-pageout" if inline.is_none() => opts.pageout = true,
            "--pause-file" => opts.pause_file = Some(PathBuf::from(value()?)),
            _ => return Err(format!("unknown argument `{arg}`")),
        }
    }
    let size = size.ok_or("--size is required")?;
    if size < PAGE_SIZE as u64 {
        return Err(format!("--size must be at least {PAGE_SIZE} bytes"));
    }
    opts.size = size;
    opts.seed = seed.unwrap_or_else(default_seed);
    Ok(Some(opts))
}

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

/// The workload state: the region, each page's generation, and the counters.
struct Workload {
    region: Region,
    pattern: Pattern,
    generations: Vec<u32>,
    verified: u64,
    mismatches: u64,
}

impl Workload {
    fn fill(&mut self) {
        for index in 0..self.region.pages() {
            // CAST: the page count was checked against MAX_PAGES, so usize -> u64 is exact.
            self.pattern.fill(
                index as u64,
                self.generations[index],
                self.region.page_mut(index),
            );
        }
    }

    /// Verifies every page; returns the number of mismatches in this round.
    fn verify_all(&mut self, round: &str) -> u64 {
        let mut scratch = Box::new([0u8; PAGE_SIZE]);
        let mut found = 0;
        for index in 0..self.region.pages() {
            let generation = self.generations[index];
            let page = self.region.page(index);
            self.verified += 1;
            if let Err(m) = self
                .pattern
                .check(index as u64, generation, page, &mut scratch)
            {
                if self.mismatches < MAX_REPORTED {
                    report(
                        round,
                        index as u64,
                        generation,
                        self.pattern.class(index as u64, generation),
                        &m,
                    );
                }
                self.mismatches += 1;
                found += 1;
            }
        }
        found
    }

    /// Moves the selected pages to their next generation; returns how many.
    fn rewrite(&mut self, pass: u32, fraction: f64) -> u64 {
        let mut rewritten = 0;
        for index in 0..self.region.pages() {
            if self.pattern.rewrite_selected(index as u64, pass, fraction) {
                self.generations[index] += 1;
                self.pattern.fill(
                    index as u64,
                    self.generations[index],
                    self.region.page_mut(index),
                );
                rewritten += 1;
            }
        }
        rewritten
    }
}

fn report(round: &str, index: u64, generation: u32, class: Class, m: &Mismatch) {
    let what = if m.all_zero {
        " (page is all zeros)".to_string()
    } else {
        match m.header {
            Some((i, g)) if (i, g) != (index, generation) => {
                format!(" (page holds the header of page {i} gen {g})")
            }
            _ => String::new(),
        }
    };
    println!(
        "swapcheck: MISMATCH {round}: page={index} gen={generation} class={} offset={} expected=0x{:02x} actual=0x{:02x}{what}",
        class.name(),
        m.offset,
        m.expected,
        m.actual
    );
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
    let region =
        Region::new(pages_usize).map_err(|e| format!("mmap of {} bytes failed: {e}", opts.size))?;
    let mut w = Workload {
        region,
        pattern: Pattern::new(opts.seed, opts.mix),
        generations: vec![0; pages_usize],
        verified: 0,
        mismatches: 0,
    };

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
        let t = Instant::now();
        let bad = w.verify_all(&format!("pass {pass}"));
        println!(
            "swapcheck: pass {pass} verify: {pages} pages, {bad} mismatches in {} ({})",
            rate(pages, t.elapsed()),
            memory_status()
        );
        let t = Instant::now();
        let n = w.rewrite(pass, opts.rewrite_fraction);
        println!(
            "swapcheck: pass {pass} rewrite: {n} pages in {}",
            rate(n, t.elapsed())
        );
        page_out(&mut w)?;
    }
    let t = Instant::now();
    let bad = w.verify_all("final");
    println!(
        "swapcheck: final verify: {pages} pages, {bad} mismatches in {} ({})",
        rate(pages, t.elapsed()),
        memory_status()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("64k"), Ok(64 << 10));
        assert_eq!(parse_size("192M"), Ok(192 << 20));
        assert_eq!(parse_size("192MiB"), Ok(192 << 20));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("1T"), Ok(1 << 40));
        for bad in [
            "",
            "M",
            "12Q",
            "-1",
            "1.5G",
            "99999999999999999999T",
            "16777216T",
        ] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn arguments() {
        let o = parse_args(&args("--size 192M --passes 2 --seed 0x10 --mix mixed"))
            .unwrap()
            .unwrap();
        assert_eq!(o.size, 192 << 20);
        assert_eq!(o.passes, 2);
        assert_eq!(o.seed, 16);
        assert_eq!(o.mix, Mix::Mixed);
        assert_eq!(o.rewrite_fraction, 0.25);
        let o = parse_args(&args(
            "--size=8K --rewrite-fraction=1 --madvise-pageout --pause-file /x",
        ))
        .unwrap()
        .unwrap();
        assert_eq!(o.size, 8192);
        assert_eq!(o.rewrite_fraction, 1.0);
        assert!(o.pageout);
        assert_eq!(o.pause_file, Some(PathBuf::from("/x")));
        assert_eq!(parse_args(&args("--help")), Ok(None));
        for bad in [
            "",
            "--passes 2",
            "--size",
            "--size 100",
            "--size 1M --mix zip",
            "--size 1M --rewrite-fraction 2",
            "--size 1M --bogus",
            "--size 1M --passes x",
        ] {
            assert!(parse_args(&args(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn workload_round_trip_and_detects_corruption() {
        let pages = 64;
        let mut w = Workload {
            region: Region::new(pages).unwrap(),
            pattern: Pattern::new(99, Mix::Mixed),
            generations: vec![0; pages],
            verified: 0,
            mismatches: 0,
        };
        w.fill();
        assert_eq!(w.verify_all("t"), 0);
        let n = w.rewrite(1, 0.5);
        assert!(n > 0 && n < pages as u64);
        assert_eq!(w.verify_all("t"), 0);
        w.region.page_mut(17)[1234] ^= 1;
        assert_eq!(w.verify_all("t"), 1);
        assert_eq!(w.verified, 3 * pages as u64);
        assert_eq!(w.mismatches, 1);
    }
}
