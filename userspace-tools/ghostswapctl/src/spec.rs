//! What a device should be: the settings `setup` takes on its command line and `apply`
//! from its file, checked with the driver's own rules (`ghostswap_core::attrs`) before
//! anything is written.

use std::path::PathBuf;

use anyhow::{bail, Result};
use ghostswap_core::attrs::{
    self, Algorithm, BACKING_PATH_CAPACITY, MAX_DISKSIZE, ZSTD_MAX_LEVEL, ZSTD_MIN_LEVEL,
};
use ghostswap_core::geometry::PAGE_SIZE;

use crate::size::human;

/// The highest swap priority `swapon -p` can give (the kernel keeps 15 bits).
pub const SWAP_PRIO_MAX: i32 = 32767;

/// The settings of one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// `disksize` in bytes.
    pub size: u64,
    /// `comp_algorithm`; `None` leaves the driver's default (lz4).
    pub algorithm: Option<Algorithm>,
    /// `algorithm_params` `level=` (zstd only).
    pub level: Option<i32>,
    /// `mem_limit` in bytes; `None` sets none.
    pub mem_limit: Option<u64>,
    /// A block device, or a regular file to put a loop device over.
    pub backing: Option<PathBuf>,
    /// Swap on it after setup, with this priority if given.
    pub swap: Option<Swap>,
}

/// Swapping on a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Swap {
    /// `swapon -p`; `None` lets the kernel choose.
    pub priority: Option<i32>,
}

/// Reads an algorithm name as the driver spells it.
pub fn parse_algorithm(name: &str) -> Result<Algorithm> {
    match Algorithm::from_name(name.as_bytes()) {
        Some(algo) => Ok(algo),
        None => bail!(
            "unknown algorithm `{name}`: ghostswap offers {}",
            Algorithm::ALL.map(Algorithm::name).join(" and ")
        ),
    }
}

impl Spec {
    /// The algorithm the device will use.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm.unwrap_or_default()
    }

    /// Refuses settings the driver would refuse, saying why.
    pub fn check(&self) -> Result<()> {
        if self.size == 0 {
            bail!("the size must not be 0");
        }
        // CAST: PAGE_SIZE is 4096.
        if !self.size.is_multiple_of(PAGE_SIZE as u64) {
            bail!(
                "the size ({} bytes) must be a multiple of 4096 bytes (the driver refuses \
                 others instead of rounding)",
                self.size
            );
        }
        if self.size > MAX_DISKSIZE {
            bail!(
                "the size ({}) is more than the driver's largest device, {}",
                human(self.size),
                human(MAX_DISKSIZE)
            );
        }
        let algo = self.algorithm();
        if attrs::check_level(algo, self.level).is_err() {
            match algo {
                Algorithm::Lz4 => bail!(
                    "lz4 takes no level (the kernel would read it as an acceleration that \
                     trades ratio away); choose --algorithm zstd for a level"
                ),
                Algorithm::Zstd => bail!(
                    "zstd's level must be {ZSTD_MIN_LEVEL} to {ZSTD_MAX_LEVEL}, not {}",
                    self.level.unwrap_or_default()
                ),
            }
        }
        if let Some(p) = self.swap.and_then(|s| s.priority) {
            if !(0..=SWAP_PRIO_MAX).contains(&p) {
                bail!("a swap priority is 0 to {SWAP_PRIO_MAX}, not {p} (leave it out to let the kernel choose)");
            }
        }
        if self.mem_limit == Some(0) {
            bail!("a mem-limit of 0 means no limit: leave it out instead");
        }
        if let Some(path) = &self.backing {
            if !path.is_absolute() {
                bail!(
                    "the backing path `{}` must be absolute (the driver opens it by path)",
                    path.display()
                );
            }
            if path.as_os_str().len() > BACKING_PATH_CAPACITY {
                bail!("the backing path is longer than the driver's {BACKING_PATH_CAPACITY} bytes");
            }
        }
        Ok(())
    }
}
