//! What `setup` remembers about a device until `reset`: the loop device it created for
//! a backing file (to remove it), and the settings sysfs cannot show back (the level).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::paths::Roots;

/// One device's remembered setup, in `<state dir>/<device>.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remembered {
    /// The backing path as given (a block device or a regular file).
    pub backing: Option<PathBuf>,
    /// The loop device set up over a backing file, removed at reset.
    pub loop_device: Option<PathBuf>,
    /// The zstd level asked for (`algorithm_params` cannot be read back).
    pub level: Option<i32>,
}

fn path(roots: &Roots, device: &str) -> PathBuf {
    roots.state.join(format!("{device}.json"))
}

/// What setup remembered for `device`, if anything.
pub fn load(roots: &Roots, device: &str) -> Result<Option<Remembered>> {
    let path = path(roots, device);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not ghostswapctl's state; remove it", path.display()))
        .map(Some)
}

/// Remembers `state` for `device`.
pub fn save(roots: &Roots, device: &str, state: &Remembered) -> Result<()> {
    fs::create_dir_all(&roots.state)
        .with_context(|| format!("creating {}", roots.state.display()))?;
    let path = path(roots, device);
    let text = serde_json::to_string_pretty(state).context("encoding the state")?;
    write_atomic(&path, &text).with_context(|| format!("writing {}", path.display()))
}

/// Forgets `device`.
pub fn forget(roots: &Roots, device: &str) -> Result<()> {
    let path = path(roots, device);
    match fs::remove_file(&path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", path.display()))
        }
        _ => Ok(()),
    }
}

fn write_atomic(path: &Path, text: &str) -> io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    fs::write(&tmp, text)?;
    fs::rename(&tmp, path)
}
