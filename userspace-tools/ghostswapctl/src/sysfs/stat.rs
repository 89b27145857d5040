//! The formats of the device's read-only files (see
//! `Documentation/ABI/testing/sysfs-block-ghostswap`): lines of right-aligned decimal
//! numbers in a fixed order (`mm_stat`, `io_stat`, `bd_stat`, `frontswap_stat`,
//! `writeback_stat`), `key: value` lines (`debug_stat`) and the algorithm list of
//! `comp_algorithm`.
//!
//! A file with more numbers than listed parses (a later driver may add fields at the
//! end, as zram has done); one with fewer, or with anything but numbers, does not.

use std::collections::BTreeMap;

use serde::Serialize;
use thiserror::Error;

/// Why a file's text could not be read as its format.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum StatError {
    /// Fewer numbers than the format has.
    #[error("{file}: expected {want} numbers, found {got} in {text:?}")]
    Short {
        /// The file.
        file: &'static str,
        /// How many the format has.
        want: usize,
        /// How many there were.
        got: usize,
        /// The text read.
        text: String,
    },
    /// A field that is not a decimal number.
    #[error("{file}: {field} is {value:?}, not a number")]
    NotNumber {
        /// The file.
        file: &'static str,
        /// The field's name.
        field: &'static str,
        /// What stood there.
        value: String,
    },
    /// A file of one number that holds something else.
    #[error("{file} is {text:?}, not a number")]
    NotOneNumber {
        /// The file.
        file: String,
        /// What it held.
        text: String,
    },
    /// A `debug_stat` line that is not `key: value`.
    #[error("{file}: line {line:?} is not `key: value`")]
    BadLine {
        /// The file.
        file: &'static str,
        /// The line.
        line: String,
    },
    /// A `comp_algorithm` text without exactly one algorithm in brackets.
    #[error("comp_algorithm: no selected algorithm (in brackets) in {0:?}")]
    NoSelection(String),
}

/// Reads the numbers of a one-line stat file whose fields are named `names`.
fn numbers<const N: usize>(
    file: &'static str,
    names: [&'static str; N],
    text: &str,
) -> Result<[u64; N], StatError> {
    let words: Vec<&str> = text.split_ascii_whitespace().collect();
    if words.len() < N {
        return Err(StatError::Short {
            file,
            want: N,
            got: words.len(),
            text: text.trim_end().to_owned(),
        });
    }
    let mut out = [0; N];
    for ((slot, word), field) in out.iter_mut().zip(&words).zip(names) {
        *slot = word.parse().map_err(|_| StatError::NotNumber {
            file,
            field,
            value: (*word).to_owned(),
        })?;
    }
    Ok(out)
}

/// `mm_stat`: the device's memory use, in zram's field order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MmStat {
    /// Bytes of data stored (4096 per page).
    pub orig_data_size: u64,
    /// Compressed bytes stored.
    pub compr_data_size: u64,
    /// Bytes of memory the pool holds.
    pub mem_used_total: u64,
    /// The memory limit in bytes; 0 for none.
    pub mem_limit: u64,
    /// High-water mark of `mem_used_total`.
    pub mem_used_max: u64,
    /// Pages stored as one repeated word.
    pub same_pages: u64,
    /// Frames (zram: pages) freed by compaction.
    pub pages_compacted: u64,
    /// Pages stored uncompressed.
    pub huge_pages: u64,
    /// Huge pages stored since initialization.
    pub huge_pages_since: u64,
}

impl MmStat {
    /// Parses the text of `mm_stat`.
    pub fn parse(text: &str) -> Result<Self, StatError> {
        let [orig_data_size, compr_data_size, mem_used_total, mem_limit, mem_used_max, same_pages, pages_compacted, huge_pages, huge_pages_since] =
            numbers(
                "mm_stat",
                [
                    "orig_data_size",
                    "compr_data_size",
                    "mem_used_total",
                    "mem_limit",
                    "mem_used_max",
                    "same_pages",
                    "pages_compacted",
                    "huge_pages",
                    "huge_pages_since",
                ],
                text,
            )?;
        Ok(Self {
            orig_data_size,
            compr_data_size,
            mem_used_total,
            mem_limit,
            mem_used_max,
            same_pages,
            pages_compacted,
            huge_pages,
            huge_pages_since,
        })
    }
}

/// `io_stat`: failed and refused requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct IoStat {
    /// Reads that failed.
    pub failed_reads: u64,
    /// Writes that failed, stores refused included.
    pub failed_writes: u64,
    /// Requests refused as misaligned or out of range.
    pub invalid_io: u64,
    /// Swap slot-free notifications received.
    pub notify_free: u64,
}

impl IoStat {
    /// Parses the text of `io_stat`.
    pub fn parse(text: &str) -> Result<Self, StatError> {
        let [failed_reads, failed_writes, invalid_io, notify_free] = numbers(
            "io_stat",
            ["failed_reads", "failed_writes", "invalid_io", "notify_free"],
            text,
        )?;
        Ok(Self {
            failed_reads,
            failed_writes,
            invalid_io,
            notify_free,
        })
    }
}

/// `bd_stat`: the backing device's use, in 4 KiB blocks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BdStat {
    /// Blocks holding frames now.
    pub bd_count: u64,
    /// Blocks read.
    pub bd_reads: u64,
    /// Blocks written.
    pub bd_writes: u64,
    /// Reads whose blocks failed their checksum (ghostswap's fourth field; 0
    /// where it is missing, as in zram's).
    pub checksum_errors: u64,
}

impl BdStat {
    /// Parses the text of `bd_stat`.
    pub fn parse(text: &str) -> Result<Self, StatError> {
        let [bd_count, bd_reads, bd_writes] =
            numbers("bd_stat", ["bd_count", "bd_reads", "bd_writes"], text)?;
        let checksum_errors = match text.split_ascii_whitespace().nth(3) {
            Some(word) => word.parse().map_err(|_| StatError::NotNumber {
                file: "bd_stat",
                field: "checksum_errors",
                value: word.to_owned(),
            })?,
            None => 0,
        };
        Ok(Self {
            bd_count,
            bd_reads,
            bd_writes,
            checksum_errors,
        })
    }
}

/// `frontswap_stat`: page operations since initialization.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FrontswapStat {
    /// Pages stored.
    pub stores: u64,
    /// Stores refused (no memory, or `mem_limit`).
    pub failed_stores: u64,
    /// Pages read back.
    pub loads: u64,
    /// Stored pages dropped.
    pub invalidates: u64,
    /// Pages stored as a repeated word, now.
    pub same_filled: u64,
    /// Pages stored uncompressed, now.
    pub huge: u64,
}

impl FrontswapStat {
    /// Parses the text of `frontswap_stat`.
    pub fn parse(text: &str) -> Result<Self, StatError> {
        let [stores, failed_stores, loads, invalidates, same_filled, huge] = numbers(
            "frontswap_stat",
            [
                "stores",
                "failed_stores",
                "loads",
                "invalidates",
                "same_filled",
                "huge",
            ],
            text,
        )?;
        Ok(Self {
            stores,
            failed_stores,
            loads,
            invalidates,
            same_filled,
            huge,
        })
    }
}

/// `writeback_stat`: writeback since initialization.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct WritebackStat {
    /// Device pages moved to the backing device.
    pub pages_written: u64,
    /// Pool frames written.
    pub frames_written: u64,
    /// Bytes written to the backing device.
    pub bytes_written: u64,
    /// Frame writes that failed.
    pub failed_writebacks: u64,
    /// Pages read back and stored in the pool again.
    pub promotions: u64,
    /// Blocks of the backing device in use now.
    pub backing_blocks_used: u64,
    /// Blocks of the backing device free now.
    pub backing_blocks_free: u64,
    /// Pages stored straight to the backing device at `mem_limit`.
    pub fallthrough_stores: u64,
    /// Runs started by `pool_high_wmark`.
    pub auto_runs: u64,
    /// Runs started by a write to `writeback`.
    pub manual_runs: u64,
    /// Times backing-device I/O found no buffer at hand.
    pub buffer_fallbacks: u64,
    /// Automatic runs not started after failing ones.
    pub backoff_deferrals: u64,
}

impl WritebackStat {
    /// Parses the text of `writeback_stat`.
    pub fn parse(text: &str) -> Result<Self, StatError> {
        let [pages_written, frames_written, bytes_written, failed_writebacks, promotions, backing_blocks_used, backing_blocks_free, fallthrough_stores, auto_runs, manual_runs, buffer_fallbacks, backoff_deferrals] =
            numbers(
                "writeback_stat",
                [
                    "pages_written",
                    "frames_written",
                    "bytes_written",
                    "failed_writebacks",
                    "promotions",
                    "backing_blocks_used",
                    "backing_blocks_free",
                    "fallthrough_stores",
                    "auto_runs",
                    "manual_runs",
                    "buffer_fallbacks",
                    "backoff_deferrals",
                ],
                text,
            )?;
        Ok(Self {
            pages_written,
            frames_written,
            bytes_written,
            failed_writebacks,
            promotions,
            backing_blocks_used,
            backing_blocks_free,
            fallthrough_stores,
            auto_runs,
            manual_runs,
            buffer_fallbacks,
            backoff_deferrals,
        })
    }
}

/// `debug_stat`: `key: value` lines after a `version: N` line. Its keys change between
/// versions, so it is kept as a map; [`DebugStat::get`] reads a number.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DebugStat {
    /// Every key with its value as written.
    pub values: BTreeMap<String, String>,
}

impl DebugStat {
    /// Parses the text of `debug_stat`.
    pub fn parse(text: &str) -> Result<Self, StatError> {
        let mut values = BTreeMap::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let (key, value) = line.split_once(':').ok_or_else(|| StatError::BadLine {
                file: "debug_stat",
                line: line.to_owned(),
            })?;
            values.insert(key.trim().to_owned(), value.trim().to_owned());
        }
        Ok(Self { values })
    }

    /// The number under `key`, if there is one.
    pub fn get(&self, key: &str) -> Option<u64> {
        self.values.get(key)?.parse().ok()
    }

    /// The keys that count checksum failures, with their values, if the driver has any.
    pub fn checksum_failures(&self) -> Option<u64> {
        let counts: Vec<u64> = self
            .values
            .iter()
            .filter(|(k, _)| k.contains("checksum"))
            .filter_map(|(_, v)| v.parse().ok())
            .collect();
        (!counts.is_empty()).then(|| counts.iter().sum())
    }
}

/// `comp_algorithm`: the algorithms, the selected one in brackets (`"[lz4] zstd \n"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CompAlgorithm {
    /// Every algorithm offered, in order.
    pub available: Vec<String>,
    /// The selected one.
    pub selected: String,
}

impl CompAlgorithm {
    /// Parses the text of `comp_algorithm`.
    pub fn parse(text: &str) -> Result<Self, StatError> {
        let mut available = Vec::new();
        let mut selected = Vec::new();
        for word in text.split_ascii_whitespace() {
            match word.strip_prefix('[').and_then(|w| w.strip_suffix(']')) {
                Some(name) => {
                    selected.push(name.to_owned());
                    available.push(name.to_owned());
                }
                None => available.push(word.to_owned()),
            }
        }
        match <[String; 1]>::try_from(selected) {
            Ok([selected]) => Ok(Self {
                available,
                selected,
            }),
            Err(_) => Err(StatError::NoSelection(text.trim_end().to_owned())),
        }
    }
}

/// A file of one decimal number (`disksize`, `pool_high_wmark`, ...).
pub fn parse_number(file: &str, text: &str) -> Result<u64, StatError> {
    text.trim().parse().map_err(|_| StatError::NotOneNumber {
        file: file.to_owned(),
        text: text.trim_end().to_owned(),
    })
}

/// `backing_dev`: the path written to it, or `None` for `none`.
pub fn parse_backing_dev(text: &str) -> Option<String> {
    let path = text.trim();
    (!path.is_empty() && path != "none").then(|| path.to_owned())
}
