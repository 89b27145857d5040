//! The columns of `list`: what each shows for a device.

use anyhow::{bail, Result};
use serde_json::Value;

use crate::size::human;
use crate::swaps::SwapArea;
use crate::sysfs::{Device, Snapshot};

/// A device as `list` shows it.
pub struct Row<'a> {
    /// The device.
    pub device: &'a Device,
    /// Its files.
    pub snap: &'a Snapshot,
    /// Its swap area, if swapped on.
    pub swap: Option<&'a SwapArea>,
}

/// A value of a cell, before formatting.
enum Cell {
    Text(String),
    Bytes(u64),
    Count(u64),
    Number(i64),
    Missing,
}

/// The columns, in zramctl's spirit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Name,
    Disksize,
    Data,
    Compr,
    Total,
    Algorithm,
    MemLimit,
    Backing,
    WbData,
    SwapPrio,
    MemUsedMax,
    SamePages,
    HugePages,
    Stores,
    FailedStores,
}

impl Column {
    /// Every column, default ones first.
    pub const ALL: [Column; 15] = [
        Column::Name,
        Column::Disksize,
        Column::Data,
        Column::Compr,
        Column::Total,
        Column::Algorithm,
        Column::MemLimit,
        Column::Backing,
        Column::WbData,
        Column::SwapPrio,
        Column::MemUsedMax,
        Column::SamePages,
        Column::HugePages,
        Column::Stores,
        Column::FailedStores,
    ];

    /// The columns shown without --output: the first ten, zramctl's and ours.
    pub fn defaults() -> &'static [Column] {
        &Self::ALL[..10]
    }

    /// The header.
    pub fn header(self) -> &'static str {
        match self {
            Column::Name => "NAME",
            Column::Disksize => "DISKSIZE",
            Column::Data => "DATA",
            Column::Compr => "COMPR",
            Column::Total => "TOTAL",
            Column::Algorithm => "ALGORITHM",
            Column::MemLimit => "MEM-LIMIT",
            Column::Backing => "BACKING",
            Column::WbData => "WB-DATA",
            Column::SwapPrio => "SWAP-PRIO",
            Column::MemUsedMax => "MEM-USED-MAX",
            Column::SamePages => "SAME-PAGES",
            Column::HugePages => "HUGE-PAGES",
            Column::Stores => "STORES",
            Column::FailedStores => "FAILED-STORES",
        }
    }

    /// The key in `--json` output.
    pub fn key(self) -> String {
        self.header().to_ascii_lowercase()
    }

    /// Whether the column is right-aligned (numbers).
    pub fn numeric(self) -> bool {
        !matches!(self, Column::Name | Column::Algorithm | Column::Backing)
    }

    /// Reads a comma-separated list of headers (any case).
    pub fn parse_list(names: &[String]) -> Result<Vec<Column>> {
        if names.is_empty() {
            return Ok(Column::defaults().to_vec());
        }
        names
            .iter()
            .map(|name| {
                let wanted = name.trim().to_ascii_uppercase();
                match Column::ALL.into_iter().find(|c| c.header() == wanted) {
                    Some(c) => Ok(c),
                    None => bail!(
                        "unknown column `{name}`; the columns are {}",
                        Column::ALL.map(Column::header).join(", ")
                    ),
                }
            })
            .collect()
    }

    fn cell(self, row: &Row<'_>) -> Cell {
        let mm = &row.snap.mm;
        match self {
            Column::Name => Cell::Text(row.device.dev_name()),
            Column::Disksize => Cell::Bytes(row.snap.disksize),
            Column::Data => Cell::Bytes(mm.orig_data_size),
            Column::Compr => Cell::Bytes(mm.compr_data_size),
            Column::Total => Cell::Bytes(mm.mem_used_total),
            Column::Algorithm => Cell::Text(row.snap.algorithm.selected.clone()),
            Column::MemLimit => Cell::Bytes(mm.mem_limit),
            Column::Backing => row
                .snap
                .backing_dev
                .clone()
                .map_or(Cell::Missing, Cell::Text),
            Column::WbData => Cell::Bytes(row.snap.bd.bd_count.saturating_mul(4096)),
            Column::SwapPrio => row
                .swap
                .map_or(Cell::Missing, |a| Cell::Number(i64::from(a.priority))),
            Column::MemUsedMax => Cell::Bytes(mm.mem_used_max),
            Column::SamePages => Cell::Count(mm.same_pages),
            Column::HugePages => Cell::Count(mm.huge_pages),
            Column::Stores => Cell::Count(row.snap.frontswap.stores),
            Column::FailedStores => Cell::Count(row.snap.frontswap.failed_stores),
        }
    }

    /// The cell as text: sizes in human units unless `bytes`.
    pub fn text(self, row: &Row<'_>, bytes: bool) -> String {
        match self.cell(row) {
            Cell::Text(t) => t,
            Cell::Bytes(b) if bytes => b.to_string(),
            Cell::Bytes(b) => human(b),
            Cell::Count(n) => n.to_string(),
            Cell::Number(n) => n.to_string(),
            Cell::Missing => "-".to_owned(),
        }
    }

    /// The cell as JSON: sizes in bytes, a missing value as null.
    pub fn json(self, row: &Row<'_>) -> Value {
        match self.cell(row) {
            Cell::Text(t) => Value::from(t),
            Cell::Bytes(n) | Cell::Count(n) => Value::from(n),
            Cell::Number(n) => Value::from(n),
            Cell::Missing => Value::Null,
        }
    }
}
