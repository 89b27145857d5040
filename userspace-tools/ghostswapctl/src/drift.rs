//! How a device that is set up differs from a [`Spec`]: what `apply` can change live
//! (`mem_limit`, swapping on) and what needs a reset first.

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use crate::loopdev;
use crate::paths::Roots;
use crate::size::human;
use crate::spec::Spec;
use crate::state::Remembered;
use crate::swaps::SwapArea;
use crate::sysfs::Snapshot;

/// The differences found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Drift {
    /// Differences that need a reset (size, algorithm, level, backing, swap priority).
    pub fixed: Vec<String>,
    /// `mem_limit` to write, in bytes (0: none).
    pub mem_limit: Option<u64>,
    /// The device should be swapped on and is not.
    pub swapon: bool,
}

impl Drift {
    /// Whether nothing differs.
    pub fn is_empty(&self) -> bool {
        self.fixed.is_empty() && self.mem_limit.is_none() && !self.swapon
    }
}

/// Whether the backing device `current` (as `backing_dev` shows it) is `wanted` (a
/// block device, or a file with a loop device over it).
fn same_backing(roots: &Roots, current: &str, wanted: &Path) -> bool {
    let Ok(meta) = fs::metadata(wanted) else {
        return false;
    };
    if meta.file_type().is_block_device() {
        return fs::metadata(current).is_ok_and(|c| c.rdev() == meta.rdev());
    }
    loopdev::is_over(roots, Path::new(current), wanted)
}

/// Compares the device as `snap`, `swap` and `remembered` show it with `spec`.
pub fn compare(
    roots: &Roots,
    spec: &Spec,
    snap: &Snapshot,
    swap: Option<&SwapArea>,
    remembered: Option<&Remembered>,
) -> Drift {
    let mut drift = Drift::default();
    if snap.disksize != spec.size {
        drift.fixed.push(format!(
            "size is {}, the configuration says {}",
            human(snap.disksize),
            human(spec.size)
        ));
    }
    let algo = spec.algorithm().name();
    if snap.algorithm.selected != algo {
        drift.fixed.push(format!(
            "algorithm is {}, the configuration says {algo}",
            snap.algorithm.selected
        ));
    }
    // The level cannot be read back: only what setup remembered can be compared.
    if let Some(r) = remembered {
        if r.level != spec.level {
            let show = |l: Option<i32>| l.map_or("the default".to_owned(), |l| l.to_string());
            drift.fixed.push(format!(
                "level is {}, the configuration says {}",
                show(r.level),
                show(spec.level)
            ));
        }
    }
    match (&snap.backing_dev, &spec.backing) {
        (None, None) => {}
        (Some(now), Some(wanted)) if same_backing(roots, now, wanted) => {}
        (now, wanted) => drift.fixed.push(format!(
            "backing device is {}, the configuration says {}",
            now.as_deref().unwrap_or("none"),
            wanted
                .as_ref()
                .map_or("none".into(), |w| w.display().to_string())
        )),
    }
    // The driver rounds the limit up to whole pages.
    let limit = spec.mem_limit.unwrap_or(0).next_multiple_of(4096);
    if snap.mm.mem_limit != limit {
        drift.mem_limit = Some(limit);
    }
    match (swap, spec.swap) {
        (None, Some(_)) => drift.swapon = true,
        (Some(area), Some(wanted)) => {
            if let Some(p) = wanted.priority.filter(|p| *p != area.priority) {
                drift.fixed.push(format!(
                    "swap priority is {}, the configuration says {p}",
                    area.priority
                ));
            }
        }
        (Some(_), None) => drift
            .fixed
            .push("it is swapped on, the configuration says swap = false".to_owned()),
        (None, None) => {}
    }
    drift
}
