//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Set up, watch and size ghostswap devices (compressed RAM swap with writeback).
///
/// Without a command, lists the devices that are set up, like zramctl.
#[derive(Debug, Parser)]
#[command(name = "ghostswapctl", version, about, long_about)]
pub struct Cli {
    /// The module file to insmod when the module is not loaded (default: modprobe
    /// ghostswap).
    #[arg(long, global = true, env = "GHOSTSWAPCTL_MODULE", value_name = "PATH")]
    pub module: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// One line per device that is set up (the default command).
    List(ListArgs),
    /// Set a device up: backing device, algorithm, size, memory limit, swap.
    Setup(SetupArgs),
    /// Reset a device: free its memory, detach its backing device, remove the loop
    /// device setup made.
    Reset(ResetArgs),
    /// Write pool frames to the backing device now, and say what moved.
    Writeback(WritebackArgs),
    /// A device's counters in plain words.
    Status(StatusArgs),
    /// Set devices up as a configuration file says (idempotent).
    Apply(ApplyArgs),
    /// Predict the memory processes' anonymous pages would take in ghostswap and in zram.
    Estimate(EstimateArgs),
}

/// `list`.
#[derive(Debug, Default, Args)]
pub struct ListArgs {
    /// Columns to show, comma-separated (NAME,DISKSIZE,DATA,COMPR,TOTAL,ALGORITHM,
    /// MEM-LIMIT,BACKING,WB-DATA,SWAP-PRIO, and MEM-USED-MAX, SAME-PAGES, HUGE-PAGES,
    /// STORES, FAILED-STORES).
    #[arg(short, long, value_delimiter = ',', value_name = "LIST")]
    pub output: Vec<String>,
    /// Sizes in bytes instead of human units.
    #[arg(short, long)]
    pub bytes: bool,
    /// No table: fields separated by one space, no alignment.
    #[arg(short, long, conflicts_with = "json")]
    pub raw: bool,
    /// JSON: sizes in bytes, whatever --bytes says.
    #[arg(short = 'J', long)]
    pub json: bool,
    /// No header line.
    #[arg(short = 'n', long)]
    pub noheadings: bool,
}

/// `setup`.
#[derive(Debug, Args)]
pub struct SetupArgs {
    /// The device (ghostswapN, /dev/ghostswapN or N).
    #[arg(required_unless_present = "find", conflicts_with = "find")]
    pub device: Option<String>,
    /// Use the first device that is not set up, and print its name.
    #[arg(short, long)]
    pub find: bool,
    /// The size of the device (the most data it can take): 4096, 512M, 4G...
    #[arg(short, long, value_name = "SIZE")]
    pub size: String,
    /// Compression algorithm: lz4 (default) or zstd.
    #[arg(short, long, value_name = "ALGORITHM")]
    pub algorithm: Option<String>,
    /// zstd's compression level, 1 to 22 (default 3).
    #[arg(short, long, value_name = "N")]
    pub level: Option<i32>,
    /// The most memory the device may use; with a backing device, writeback starts at
    /// 90% of it.
    #[arg(short, long, value_name = "SIZE")]
    pub mem_limit: Option<String>,
    /// A block device, or a regular file (a loop device with direct I/O is set up over
    /// it, and removed at reset), for writeback.
    #[arg(short, long, value_name = "PATH")]
    pub backing: Option<PathBuf>,
    /// Swap priority (with --swapon).
    #[arg(
        short,
        long,
        value_name = "PRIO",
        requires = "swapon",
        allow_hyphen_values = true
    )]
    pub priority: Option<i32>,
    /// mkswap and swapon the device.
    #[arg(long)]
    pub swapon: bool,
}

/// `reset`.
#[derive(Debug, Args)]
pub struct ResetArgs {
    /// The device.
    pub device: String,
    /// Swap the device off first if it is swapped on.
    #[arg(long)]
    pub swapoff: bool,
}

/// `writeback`.
#[derive(Debug, Args)]
pub struct WritebackArgs {
    /// The device.
    pub device: String,
    /// What to write: idle, huge, huge_idle, incompressible, all, page_index=N or
    /// page_indexes=LO-HI.
    pub mode: String,
    /// Mark frames idle first: `all`, or an age in seconds.
    #[arg(long, value_name = "all|SECONDS")]
    pub mark_idle: Option<String>,
}

/// `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The device.
    pub device: String,
    /// Show it again every SECS seconds, with rates, until interrupted.
    #[arg(short, long, value_name = "SECS")]
    pub watch: Option<f64>,
    /// The parsed counters as JSON.
    #[arg(short = 'J', long, conflicts_with = "watch")]
    pub json: bool,
}

/// `apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The configuration file.
    #[arg(default_value = "/etc/ghostswap.toml")]
    pub file: PathBuf,
    /// Only say what would change.
    #[arg(long)]
    pub dry_run: bool,
    /// Reset (and swap off) devices whose setup differs in what cannot change live.
    #[arg(long)]
    pub reconfigure: bool,
}

/// An algorithm to estimate with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EstimateAlgorithm {
    /// LZ4 (lz4_flex).
    Lz4,
    /// Zstandard (zstd-safe, the kernel's zstd version).
    Zstd,
}

/// `estimate`.
#[derive(Debug, Args)]
pub struct EstimateArgs {
    /// Processes to estimate.
    #[arg(short, long = "pid", value_name = "PID", num_args = 1.., required_unless_present = "all", conflicts_with = "all")]
    pub pids: Vec<u32>,
    /// Every process (but this one and kernel threads); pages shared by several
    /// processes count once.
    #[arg(short, long)]
    pub all: bool,
    /// Compression algorithm.
    #[arg(long, value_enum, default_value = "lz4")]
    pub algorithm: EstimateAlgorithm,
    /// zstd level (default 3).
    #[arg(short, long, value_name = "N")]
    pub level: Option<i32>,
    /// Compress one page in N and count it for N (faster, less exact).
    #[arg(short, long, value_name = "N", default_value_t = 1)]
    pub sample: u32,
    /// The result as JSON.
    #[arg(short = 'J', long)]
    pub json: bool,
    /// No progress bar.
    #[arg(long)]
    pub no_progress: bool,
}
