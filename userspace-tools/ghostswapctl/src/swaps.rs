//! Swap areas: `/proc/swaps`, and `mkswap`, `swapon`, `swapoff`.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::paths::Roots;
use crate::run;

/// One line of `/proc/swaps`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SwapArea {
    /// The device or file (`/dev/ghostswap0`).
    pub filename: String,
    /// `partition` or `file`.
    pub kind: String,
    /// Size in KiB.
    pub size_kib: u64,
    /// Used in KiB.
    pub used_kib: u64,
    /// Priority.
    pub priority: i32,
}

/// Parses the text of `/proc/swaps` (a header line, then one line per area; names with
/// spaces are shown with `\040`, which is kept as it is).
pub fn parse(text: &str) -> Vec<SwapArea> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let [filename, kind, size, used, priority] = f.get(..5)? else {
                return None;
            };
            Some(SwapArea {
                filename: (*filename).to_owned(),
                kind: (*kind).to_owned(),
                size_kib: size.parse().ok()?,
                used_kib: used.parse().ok()?,
                priority: priority.parse().ok()?,
            })
        })
        .collect()
}

/// The swap areas in use now.
pub fn areas(roots: &Roots) -> Result<Vec<SwapArea>> {
    let path = roots.proc.join("swaps");
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        // A kernel without swap has no /proc/swaps.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    Ok(parse(&text))
}

/// The swap area on the device `/dev/NAME` (as `/proc/swaps` names it), if it is
/// swapped on.
pub fn find(roots: &Roots, dev_name: &str) -> Result<Option<SwapArea>> {
    Ok(areas(roots)?.into_iter().find(|a| a.filename == dev_name))
}

/// `mkswap NODE`.
pub fn mkswap(node: &Path) -> Result<()> {
    run::output("mkswap", [node]).map(drop)
}

/// `swapon [-p PRIORITY] NODE`.
pub fn swapon(node: &Path, priority: Option<i32>) -> Result<()> {
    let mut args = Vec::new();
    if let Some(p) = priority {
        args.push("-p".to_owned());
        args.push(p.to_string());
    }
    args.push(node.to_string_lossy().into_owned());
    run::output("swapon", &args).map(drop)
}

/// `swapoff NODE`.
pub fn swapoff(node: &Path) -> Result<()> {
    run::output("swapoff", [node]).map(drop)
}
