//! Everything a device's files say at one moment, parsed.

use anyhow::{Context, Result};
use serde::Serialize;

use super::stat::{
    parse_backing_dev, BdStat, CompAlgorithm, DebugStat, FrontswapStat, IoStat, MmStat,
    WritebackStat,
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
}

impl Snapshot {
    /// Reads and parses the device's files.
    pub fn read(device: &Device) -> Result<Self> {
        let parsed = |attr: &str| -> Result<String> { device.read(attr) };
        let context = |attr: &str| format!("{}: reading {attr}", device.name);
        Ok(Self {
            disksize: parsed("disksize")?
                .trim()
                .parse()
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
        })
    }

    /// Whether the device is set up (has a size).
    pub fn is_set_up(&self) -> bool {
        self.disksize != 0
    }
}
