//! The command line: the usage text, the parsed options, and their validation.

use crate::content::{self, Mix, MAX_GENERATION, PAGE_SIZE};
use std::path::PathBuf;

/// Upper bound of `--threads`: far more than a verify sweep can use, low enough to spawn.
pub const MAX_THREADS: usize = 1024;
/// Upper bound of `--fault-threshold-ns` (1 s); access durations are kept in `u32` ns.
const MAX_FAULT_THRESHOLD_NS: u32 = 1_000_000_000;

pub const USAGE: &str = "\
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
  --threads N              verify (and access) with N threads, 1..1024 (default 1):
                           thread t checks pages t, t+N, t+2N, ...; the upper half of
                           the threads starts at the middle of the region, so that
                           neighbouring and far-apart pages are swapped in at once
  -h, --help               this text

hot/cold mode (instead of each pass's full verify; the final verify stays full):
  --hot-fraction F         a fixed, scattered hot set of F*pages pages, 0<F<1
  --hot-share S            share of accesses that go to the hot set, 0<S<1 (default 0.8)
  --accesses K             page accesses per pass, split over the threads (default: pages)
  --fault-threshold-ns T   an access slower than T ns counts as faulted (default 2000)
Each access times a read of the page's first byte and then verifies the page; the pass's
rewrite takes the rewrite fraction of the pages accessed in that pass. At the end:
`swapcheck: accesses=A faulted=F fault_p50_us=X fault_p99_us=Y hot_pages=H majflt=M`
(percentiles of the faulted accesses' durations, 0.0 if none; majflt from getrusage
over the access phases).

Before the last line, `swapcheck: runtime_s=T` gives the run's wall time.
The last line is `swapcheck: pages=N verified=V mismatches=M passes=P`, where V counts
page checks over all verify rounds (N * (P + 1) when nothing is skipped; K * P + N in
hot/cold mode) and M the checks that failed. Exit status: 0 no mismatch, 1 mismatches,
2 usage/setup error.";

/// Parsed command line.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub size: u64,
    pub passes: u32,
    pub seed: u64,
    pub mix: Mix,
    pub rewrite_fraction: f64,
    pub pageout: bool,
    pub pause_file: Option<PathBuf>,
    pub threads: usize,
    /// Set by `--hot-fraction`: passes make hot/cold accesses instead of full sweeps.
    pub hot_cold: Option<HotCold>,
}

/// The hot/cold access mode's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct HotCold {
    /// Share of the pages in the hot set, strictly between 0 and 1.
    pub fraction: f64,
    /// Share of the accesses that go to the hot set, strictly between 0 and 1.
    pub share: f64,
    /// Accesses per pass; `None` means one per page.
    pub accesses: Option<u64>,
    /// Accesses slower than this count as faulted.
    pub fault_threshold_ns: u32,
}

/// Parses `123`, `4096`, `64K`, `192M`, `1G`, `1T` (binary multiples, `k`/`KiB`/`KB` too).
pub fn parse_size(s: &str) -> Result<u64, String> {
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

/// Parses a share strictly between 0 and 1 (NaN and infinities are refused too).
fn parse_open_unit(option: &str, s: &str) -> Result<f64, String> {
    s.parse()
        .ok()
        .filter(|f: &f64| *f > 0.0 && *f < 1.0)
        .ok_or_else(|| format!("invalid {option} `{s}` (between 0 and 1, exclusive)"))
}

fn default_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    // CAST: only the low bits matter for a seed.
    content::mix64(nanos as u64 ^ u64::from(std::process::id()))
}

/// The hot/cold options as given, checked together once all arguments are read.
#[derive(Default)]
struct HotColdArgs {
    fraction: Option<f64>,
    share: Option<f64>,
    accesses: Option<u64>,
    fault_threshold_ns: Option<u32>,
}

impl HotColdArgs {
    /// The mode's settings, `None` without `--hot-fraction`.
    ///
    /// # Errors
    ///
    /// If another hot/cold option is given without `--hot-fraction`: it would do nothing.
    fn finish(self) -> Result<Option<HotCold>, String> {
        let Some(fraction) = self.fraction else {
            let stray = [
                ("--hot-share", self.share.is_some()),
                ("--accesses", self.accesses.is_some()),
                ("--fault-threshold-ns", self.fault_threshold_ns.is_some()),
            ];
            return match stray.iter().find(|(_, given)| *given) {
                Some((name, _)) => Err(format!("{name} needs --hot-fraction")),
                None => Ok(None),
            };
        };
        Ok(Some(HotCold {
            fraction,
            share: self.share.unwrap_or(0.8),
            accesses: self.accesses,
            fault_threshold_ns: self.fault_threshold_ns.unwrap_or(2000),
        }))
    }
}

/// Parses the arguments after the program name; `Ok(None)` means `--help`.
pub fn parse_args(args: &[String]) -> Result<Option<Options>, String> {
    let mut size = None;
    let mut opts = Options {
        size: 0,
        passes: 3,
        seed: 0,
        mix: Mix::Plain,
        rewrite_fraction: 0.25,
        pageout: false,
        pause_file: None,
        threads: 1,
        hot_cold: None,
    };
    let mut seed = None;
    let mut hot = HotColdArgs::default();
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
            "--threads" => {
                let v = value()?;
                opts.threads = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_THREADS).contains(n))
                    .ok_or_else(|| format!("invalid --threads `{v}` (1..{MAX_THREADS})"))?;
            }
            "--hot-fraction" => hot.fraction = Some(parse_open_unit(name, &value()?)?),
            "--hot-share" => hot.share = Some(parse_open_unit(name, &value()?)?),
            "--accesses" => {
                let v = value()?;
                hot.accesses = Some(
                    v.parse()
                        .ok()
                        .filter(|&k| k > 0)
                        .ok_or_else(|| format!("invalid --accesses `{v}` (at least 1)"))?,
                );
            }
            "--fault-threshold-ns" => {
                let v = value()?;
                hot.fault_threshold_ns = Some(
                    v.parse()
                        .ok()
                        .filter(|&t| t <= MAX_FAULT_THRESHOLD_NS)
                        .ok_or_else(|| {
                            format!(
                                "invalid --fault-threshold-ns `{v}` (0..{MAX_FAULT_THRESHOLD_NS})"
                            )
                        })?,
                );
            }
            _ => return Err(format!("unknown argument `{arg}`")),
        }
    }
    let size = size.ok_or("--size is required")?;
    if size < PAGE_SIZE as u64 {
        return Err(format!("--size must be at least {PAGE_SIZE} bytes"));
    }
    opts.size = size;
    opts.seed = seed.unwrap_or_else(default_seed);
    opts.hot_cold = hot.finish()?;
    Ok(Some(opts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    fn parse(s: &str) -> Options {
        parse_args(&args(s)).unwrap().unwrap()
    }

    fn error(s: &str) -> String {
        parse_args(&args(s)).unwrap_err()
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
        let o = parse("--size 192M --passes 2 --seed 0x10 --mix mixed");
        assert_eq!(o.size, 192 << 20);
        assert_eq!(o.passes, 2);
        assert_eq!(o.seed, 16);
        assert_eq!(o.mix, Mix::Mixed);
        assert_eq!(o.rewrite_fraction, 0.25);
        assert_eq!(o.threads, 1);
        assert_eq!(o.hot_cold, None);
        let o = parse("--size=8K --rewrite-fraction=1 --madvise-pageout --pause-file /x");
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
    fn threads() {
        assert_eq!(parse("--size 1M --threads 4").threads, 4);
        assert_eq!(parse("--size 1M --threads=1").threads, 1);
        assert_eq!(parse("--size 1M --threads 1024").threads, 1024);
        for bad in ["0", "-1", "1025", "x", "2.5", "99999999999999999999999"] {
            assert_eq!(
                error(&format!("--size 1M --threads {bad}")),
                format!("invalid --threads `{bad}` (1..1024)")
            );
        }
        assert_eq!(error("--size 1M --threads"), "--threads needs a value");
    }

    #[test]
    fn hot_cold_defaults_and_values() {
        let o = parse("--size 1M --hot-fraction 0.2");
        assert_eq!(
            o.hot_cold,
            Some(HotCold {
                fraction: 0.2,
                share: 0.8,
                accesses: None,
                fault_threshold_ns: 2000,
            })
        );
        let o = parse(
            "--size 1M --hot-fraction=0.05 --hot-share 0.95 --accesses 1000 \
             --fault-threshold-ns 0 --threads 3",
        );
        assert_eq!(
            o.hot_cold,
            Some(HotCold {
                fraction: 0.05,
                share: 0.95,
                accesses: Some(1000),
                fault_threshold_ns: 0,
            })
        );
        assert_eq!(o.threads, 3);
    }

    #[test]
    fn hot_cold_bad_values() {
        for (option, bad) in [
            ("--hot-fraction", "0"),
            ("--hot-fraction", "1"),
            ("--hot-fraction", "1.5"),
            ("--hot-fraction", "-0.1"),
            ("--hot-fraction", "NaN"),
            ("--hot-fraction", "inf"),
            ("--hot-fraction", "x"),
            ("--hot-share", "0"),
            ("--hot-share", "1"),
            ("--hot-share", "nan"),
        ] {
            assert_eq!(
                error(&format!("--size 1M --hot-fraction 0.5 {option} {bad}")),
                format!("invalid {option} `{bad}` (between 0 and 1, exclusive)")
            );
        }
        for bad in ["0", "-5", "1e3", "x"] {
            assert_eq!(
                error(&format!("--size 1M --hot-fraction 0.5 --accesses {bad}")),
                format!("invalid --accesses `{bad}` (at least 1)")
            );
        }
        for bad in ["-1", "1000000001", "2us", ""] {
            assert_eq!(
                error(&format!(
                    "--size 1M --hot-fraction 0.5 --fault-threshold-ns={bad}"
                )),
                format!("invalid --fault-threshold-ns `{bad}` (0..1000000000)")
            );
        }
        assert_eq!(
            error("--size 1M --hot-fraction"),
            "--hot-fraction needs a value"
        );
    }

    #[test]
    fn hot_cold_options_need_hot_fraction() {
        for option in [
            "--hot-share 0.5",
            "--accesses 10",
            "--fault-threshold-ns 100",
        ] {
            let name = option.split(' ').next().unwrap();
            assert_eq!(
                error(&format!("--size 1M {option}")),
                format!("{name} needs --hot-fraction")
            );
        }
    }
}
