//! Where the tool finds the kernel's files and keeps its own.
//!
//! Each root can be moved with an environment variable, so that the host tests run the
//! tool against fixture trees; on a real system they are left alone.

use std::env;
use std::path::{Path, PathBuf};

/// The directories the tool reads and writes.
#[derive(Debug, Clone)]
pub struct Roots {
    /// sysfs (`/sys`; `GHOSTSWAPCTL_SYSFS`).
    pub sys: PathBuf,
    /// procfs (`/proc`; `GHOSTSWAPCTL_PROCFS`).
    pub proc: PathBuf,
    /// Device nodes (`/dev`; `GHOSTSWAPCTL_DEV`).
    pub dev: PathBuf,
    /// What setup remembers until reset (`/run/ghostswapctl`; `GHOSTSWAPCTL_STATE_DIR`).
    pub state: PathBuf,
}

impl Roots {
    /// The system's directories, each overridden by its environment variable if set.
    pub fn from_env() -> Self {
        let get = |var: &str, default: &str| {
            env::var_os(var)
                .filter(|v| !v.is_empty())
                .map_or_else(|| PathBuf::from(default), PathBuf::from)
        };
        Self {
            sys: get("GHOSTSWAPCTL_SYSFS", "/sys"),
            proc: get("GHOSTSWAPCTL_PROCFS", "/proc"),
            dev: get("GHOSTSWAPCTL_DEV", "/dev"),
            state: get("GHOSTSWAPCTL_STATE_DIR", "/run/ghostswapctl"),
        }
    }

    /// Roots for a tree whose `sys`, `proc`, `dev` and `run` folders stand under `base`.
    pub fn under(base: &Path) -> Self {
        Self {
            sys: base.join("sys"),
            proc: base.join("proc"),
            dev: base.join("dev"),
            state: base.join("run"),
        }
    }

    /// `/sys/block`.
    pub fn block(&self) -> PathBuf {
        self.sys.join("block")
    }

    /// `/sys/module/ghostswap`, present while the module is loaded.
    pub fn module_dir(&self) -> PathBuf {
        self.sys.join("module").join("ghostswap")
    }
}
