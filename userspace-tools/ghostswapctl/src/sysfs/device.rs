//! One ghostswap device: its name, its node and its files under `/sys/block`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use thiserror::Error;

use crate::paths::Roots;

/// The prefix of every device's name.
pub const PREFIX: &str = "ghostswap";

/// A device `ghostswapN`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// `ghostswapN`.
    pub name: String,
    /// `N`.
    pub index: u32,
    /// `/sys/block/ghostswapN`.
    pub sys: PathBuf,
    /// `/dev/ghostswapN`.
    pub node: PathBuf,
}

/// A write to a device file that the kernel refused, with the errno it gave.
#[derive(Debug, Error)]
#[error("writing {value:?} to {path}: {source}")]
pub struct WriteError {
    /// The file.
    pub path: PathBuf,
    /// What was written.
    pub value: String,
    /// The kernel's answer.
    #[source]
    pub source: io::Error,
}

impl WriteError {
    /// The errno of the refusal, if it was one.
    pub fn errno(&self) -> Option<i32> {
        self.source.raw_os_error()
    }
}

/// Reads `ghostswapN`, `/dev/ghostswapN` or `N` as a device index.
fn parse_index(arg: &str) -> Option<u32> {
    let name = arg.strip_prefix("/dev/").unwrap_or(arg);
    let digits = name.strip_prefix(PREFIX).unwrap_or(name);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

impl Device {
    /// The device with index `index`, whether or not it exists.
    pub fn new(roots: &Roots, index: u32) -> Self {
        let name = format!("{PREFIX}{index}");
        Self {
            sys: roots.block().join(&name),
            node: roots.dev.join(&name),
            name,
            index,
        }
    }

    /// The device named by `arg` (`ghostswap0`, `/dev/ghostswap0` or `0`), which must exist.
    pub fn find(roots: &Roots, arg: &str) -> Result<Self> {
        let Some(index) = parse_index(arg) else {
            bail!(
                "`{arg}` is not a ghostswap device: name one as ghostswapN, /dev/ghostswapN or N"
            );
        };
        let device = Self::new(roots, index);
        if device.sys.is_dir() {
            return Ok(device);
        }
        if !roots.module_dir().is_dir() {
            bail!(
                "{}: the ghostswap module is not loaded; `ghostswapctl setup` loads it, or run `modprobe ghostswap`",
                device.name
            );
        }
        let count = Self::all(roots)?.len();
        bail!(
            "{}: no such device; the module has {count} (ghostswap0..ghostswap{}); load it with num_devices= for more",
            device.name,
            count.saturating_sub(1)
        )
    }

    /// Every device, by index.
    pub fn all(roots: &Roots) -> Result<Vec<Self>> {
        let block = roots.block();
        let entries = match fs::read_dir(&block) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("listing {}", block.display())),
        };
        let mut devices = Vec::new();
        for entry in entries {
            let entry = entry.with_context(|| format!("listing {}", block.display()))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if !name.starts_with(PREFIX) {
                continue;
            }
            if let Some(index) = parse_index(name) {
                devices.push(Self::new(roots, index));
            }
        }
        devices.sort_by_key(|d| d.index);
        Ok(devices)
    }

    /// `/dev/ghostswapN`, as the user and `/proc/swaps` name it (the node the tool
    /// uses may stand under another root in tests).
    pub fn dev_name(&self) -> String {
        format!("/dev/{}", self.name)
    }

    /// The path of the device's file `attr`.
    pub fn attr_path(&self, attr: &str) -> PathBuf {
        self.sys.join(attr)
    }

    /// Whether the device has the file `attr` (older drivers lack some).
    pub fn has(&self, attr: &str) -> bool {
        self.attr_path(attr).exists()
    }

    /// The text of the file `attr`.
    pub fn read(&self, attr: &str) -> Result<String> {
        let path = self.attr_path(attr);
        fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
    }

    /// The text of the file `attr`, or `None` if the device has no such file.
    pub fn read_optional(&self, attr: &str) -> Result<Option<String>> {
        let path = self.attr_path(attr);
        match fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Writes `value` to the file `attr`, as `echo` would (one write).
    pub fn write(&self, attr: &str, value: &str) -> Result<(), WriteError> {
        let path = self.attr_path(attr);
        write_once(&path, value).map_err(|source| WriteError {
            path,
            value: value.to_owned(),
            source,
        })
    }
}

/// Writes `value` to an existing file in one `write` call (sysfs takes one write per value).
fn write_once(path: &Path, value: &str) -> io::Result<()> {
    use std::io::Write;
    // As `echo VALUE > FILE`: sysfs ignores the truncation, a plain file (tests) needs it.
    let mut file = fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)?;
    let written = file.write(value.as_bytes())?;
    if written != value.len() {
        return Err(io::Error::new(
            io::ErrorKind::WriteZero,
            format!("the kernel took {written} of {} bytes", value.len()),
        ));
    }
    Ok(())
}
