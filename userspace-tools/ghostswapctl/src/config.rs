//! The configuration file of `apply` (default `/etc/ghostswap.toml`): one table per
//! device, like zram-generator's.
//!
//! ```toml
//! [ghostswap0]
//! size = "ram / 2"          # or "8G", or 8589934592; see size_expr
//! algorithm = "zstd"        # lz4 (default) or zstd
//! level = 3                 # zstd only
//! mem-limit = "ram / 8"     # optional
//! backing = "/var/lib/ghostswap/backing.img"   # optional: block device or file
//! swap = true               # mkswap + swapon (default true)
//! swap-priority = 100       # optional
//! ```

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;

use crate::paths::Roots;
use crate::size_expr;
use crate::spec::{self, Spec, Swap};

/// A size: bytes, or an expression in a string.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum SizeValue {
    Bytes(u64),
    Expr(String),
}

impl SizeValue {
    fn eval(&self, ram: u64) -> Result<u64> {
        match self {
            SizeValue::Bytes(b) => Ok(*b),
            SizeValue::Expr(text) => Ok(size_expr::eval(text, ram)?),
        }
    }
}

/// One device's table, as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct DeviceTable {
    size: SizeValue,
    algorithm: Option<String>,
    level: Option<i32>,
    mem_limit: Option<SizeValue>,
    backing: Option<PathBuf>,
    swap: Option<bool>,
    swap_priority: Option<i32>,
}

/// The devices of a configuration, by index, with their settings evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `(index, settings)`, by index.
    pub devices: Vec<(u32, Spec)>,
}

/// Parses configuration `text` for a machine with `ram` bytes of memory.
pub fn parse(text: &str, ram: u64) -> Result<Config> {
    let tables: BTreeMap<String, DeviceTable> = toml::from_str(text).map_err(|e| anyhow!("{e}"))?;
    let mut devices = Vec::new();
    for (name, table) in tables {
        let index = name
            .strip_prefix("ghostswap")
            .and_then(|n| n.parse::<u32>().ok())
            .filter(|_| {
                name.trim_start_matches("ghostswap")
                    .bytes()
                    .all(|b| b.is_ascii_digit())
            })
            .ok_or_else(|| {
                anyhow!("[{name}]: tables are named after devices: [ghostswap0], [ghostswap1], ...")
            })?;
        let spec = device_spec(&table, ram).with_context(|| format!("[{name}]"))?;
        devices.push((index, spec));
    }
    if devices.is_empty() {
        bail!("no device: add a table such as [ghostswap0] with size = \"ram / 2\"");
    }
    devices.sort_by_key(|(i, _)| *i);
    Ok(Config { devices })
}

fn device_spec(table: &DeviceTable, ram: u64) -> Result<Spec> {
    let swap = table.swap.unwrap_or(true);
    if !swap && table.swap_priority.is_some() {
        bail!("swap-priority is set but swap = false");
    }
    let spec = Spec {
        size: table.size.eval(ram).context("size")?,
        algorithm: table
            .algorithm
            .as_deref()
            .map(spec::parse_algorithm)
            .transpose()
            .context("algorithm")?,
        level: table.level,
        mem_limit: table
            .mem_limit
            .as_ref()
            .map(|m| m.eval(ram))
            .transpose()
            .context("mem-limit")?,
        backing: table.backing.clone(),
        swap: swap.then_some(Swap {
            priority: table.swap_priority,
        }),
    };
    spec.check()?;
    Ok(spec)
}

/// Reads `path` for this machine.
pub fn load(roots: &Roots, path: &Path) -> Result<Config> {
    let text = fs::read_to_string(path).with_context(|| {
        format!(
            "reading {} (write one; `ghostswapctl apply --help` and the admin guide show the format)",
            path.display()
        )
    })?;
    let ram = mem_total(roots)?;
    parse(&text, ram).with_context(|| format!("in {}", path.display()))
}

/// MemTotal of `/proc/meminfo`, in bytes.
pub fn mem_total(roots: &Roots) -> Result<u64> {
    let path = roots.proc.join("meminfo");
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .find_map(|line| {
            let rest = line.strip_prefix("MemTotal:")?;
            let kib: u64 = rest.trim().strip_suffix("kB")?.trim().parse().ok()?;
            kib.checked_mul(1024)
        })
        .ok_or_else(|| anyhow!("no MemTotal line in {}", path.display()))
}
