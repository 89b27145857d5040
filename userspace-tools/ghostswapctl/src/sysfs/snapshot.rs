//! Everything a device's files say at one moment, parsed.

use anyhow::{Context, Result};
use serde::Serialize;

use super::stat::{
    parse_backing_dev, parse_number, BdStat, CompAlgorithm, DebugStat, FrontswapStat, IoStat,
    MmStat, WritebackStat,
};
use super::Device;

/// The device's files, read one after the other (not atomically: counters may move
/// between two reads).
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    /// `disksize`: 0 while the device is not set up.
    pub disksize: u64,
    /// `comp_algorithm`.
    pub algorithm: CompAlgorithm,
    /// `mm_stat`.
    pub mm: MmStat,
    /// `io_stat`.
    pub io: IoStat,
    /// `frontswap_stat`.
    pub frontswap: FrontswapStat,
    /// `backing_dev`: the path, or `None`.
    pub backing_dev: Option<String>,
    /// `bd_stat`.
    pub bd: BdStat,
    /// `writeback_stat`, if the driver has it.
    pub writeback: Option<WritebackStat>,
    /// `debug_stat`, if the driver has it.
    pub debug: Option<DebugStat>,
    /// The writeback settings, if the driver has them.
    pub tuning: Option<Tuning>,
}

/// The writeback settings that can be read back: one number per file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Tuning {
    /// `pool_high_wmark`: automatic writeback starts at this percent of `mem_limit`.
    pub pool_high_wmark: u64,
    /// `pool_low_wmark`: and stops at this percent.
    pub pool_low_wmark: u64,
    /// `writeback_limit_enable`.
    pub writeback_limit_enable: bool,
    /// `writeback_limit`: 4 KiB blocks writeback may still write.
    pub writeback_limit: u64,
    /// `promote_on_read`.
    pub promote_on_read: bool,
}

impl Tuning {
    /// Reads the files; `None` if the driver has none of them.
    fn read(device: &Device) -> Result<Option<Self>> {
        let number = |attr: &str| -> Result<Option<u64>> {
            Ok(device
                .read_optional(attr)?
                .map(|t| parse_number(attr, &t))
                .transpose()?)
        };
        let (Some(high), Some(low), Some(enable), Some(limit), Some(promote)) = (
            number("pool_high_wmark")?,
            number("pool_low_wmark")?,
            number("writeback_limit_enable")?,
            number("writeback_limit")?,
            number("promote_on_read")?,
        ) else {
            return Ok(None);
        };
        Ok(Some(Self {
            pool_high_wmark: high,
            pool_low_wmark: low,
            writeback_limit_enable: enable != 0,
            writeback_limit: limit,
            promote_on_read: promote != 0,
        }))
    }
}

impl Snapshot {
    /// Reads and parses the device's files.
    pub fn read(device: &Device) -> Result<Self> {
        let parsed = |attr: &str| -> Result<String> { device.read(attr) };
        let context = |attr: &str| format!("{}: reading {attr}", device.name);
        Ok(Self {
            disksize: parse_number("disksize", &parsed("disksize")?)
                .with_context(|| context("disksize"))?,
            algorithm: CompAlgorithm::parse(&parsed("comp_algorithm")?)
                .with_context(|| context("comp_algorithm"))?,
            mm: MmStat::parse(&parsed("mm_stat")?).with_context(|| context("mm_stat"))?,
            io: IoStat::parse(&parsed("io_stat")?).with_context(|| context("io_stat"))?,
            frontswap: FrontswapStat::parse(&parsed("frontswap_stat")?)
                .with_context(|| context("frontswap_stat"))?,
            backing_dev: parse_backing_dev(&parsed("backing_dev")?),
            bd: BdStat::parse(&parsed("bd_stat")?).with_context(|| context("bd_stat"))?,
            writeback: device
                .read_optional("writeback_stat")?
                .map(|t| WritebackStat::parse(&t))
                .transpose()
                .with_context(|| context("writeback_stat"))?,
            debug: device
                .read_optional("debug_stat")?
                .map(|t| DebugStat::parse(&t))
                .transpose()
                .with_context(|| context("debug_stat"))?,
            tuning: Tuning::read(device)?,
        })
    }

    /// Whether the device is set up (has a size).
    pub fn is_set_up(&self) -> bool {
        self.disksize != 0
    }
}
