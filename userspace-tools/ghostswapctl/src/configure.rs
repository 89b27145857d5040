//! Setting a device up from a [`Spec`], in the order the driver requires: the backing
//! device and the algorithm before the size (both are refused once the device has
//! one), the level after the algorithm (choosing an algorithm drops the level), the
//! memory limit after the size. A failure part-way undoes what was done.

use std::fs;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::explain::refusal;
use crate::loopdev;
use crate::paths::Roots;
use crate::size::human;
use crate::spec::Spec;
use crate::state::{self, Remembered};
use crate::swaps;
use crate::sysfs::{Device, Snapshot};

/// What the backing path is.
enum Backing {
    Block(PathBuf),
    File(PathBuf),
}

fn classify_backing(path: &Path) -> Result<Backing> {
    let meta = match fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "the backing path {} does not exist; create a file first, e.g. `fallocate -l 4G {}`",
            path.display(),
            path.display()
        ),
        Err(e) => return Err(e).with_context(|| format!("looking at {}", path.display())),
    };
    let kind = meta.file_type();
    if kind.is_block_device() {
        Ok(Backing::Block(path.to_owned()))
    } else if kind.is_file() {
        if meta.len() < 4096 {
            bail!(
                "the backing file {} is {} bytes long; give it room first, e.g. `fallocate -l 4G {}`",
                path.display(),
                meta.len(),
                path.display()
            );
        }
        Ok(Backing::File(path.to_owned()))
    } else {
        bail!(
            "the backing path {} is neither a block device nor a regular file",
            path.display()
        )
    }
}

/// Undoes a setup that failed part-way, when dropped armed.
struct Undo<'a> {
    device: &'a Device,
    loop_node: Option<PathBuf>,
    backing_set: bool,
    sized: bool,
    armed: bool,
}

impl Drop for Undo<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let warn = |what: &str, e: &dyn std::fmt::Display| {
            eprintln!(
                "ghostswapctl: while undoing the setup of {}: {what}: {e}",
                self.device.name
            );
        };
        if self.sized {
            if let Err(e) = self.device.write("reset", "1") {
                warn("reset", &e);
            }
        } else if self.backing_set {
            if let Err(e) = self.device.write("backing_dev", "none") {
                warn("backing_dev none", &e);
            }
        }
        if let Some(node) = &self.loop_node {
            if let Err(e) = loopdev::detach(node) {
                warn("loop device", &e);
            }
        }
    }
}

/// Sets `device` up as `spec` says; returns one line per step, for the user.
pub fn set_up(roots: &Roots, device: &Device, spec: &Spec) -> Result<Vec<String>> {
    spec.check()?;
    let name = device.name.as_str();
    let now = Snapshot::read(device)?;
    if now.is_set_up() {
        bail!(
            "{name} is already set up ({}, {}); run `ghostswapctl reset {name}` first \
             (the backing device and algorithm must be set before the size)",
            human(now.disksize),
            now.algorithm.selected
        );
    }
    let mut done = Vec::new();
    let mut undo = Undo {
        device,
        loop_node: None,
        backing_set: false,
        sized: false,
        armed: true,
    };
    let mut remembered = Remembered {
        backing: spec.backing.clone(),
        level: spec.level,
        ..Remembered::default()
    };

    if let Some(path) = &spec.backing {
        let node = match classify_backing(path)? {
            Backing::Block(node) => node,
            Backing::File(file) => {
                let lo = loopdev::attach(roots, &file)?;
                undo.loop_node = Some(lo.node.clone());
                remembered.loop_device = Some(lo.node.clone());
                if lo.direct_io {
                    done.push(format!(
                        "loop device {} over {} (direct I/O)",
                        lo.node.display(),
                        file.display()
                    ));
                } else {
                    eprintln!(
                        "ghostswapctl: warning: the file system of {} takes no direct I/O: \
                         pages written back also stay in the page cache until reclaimed",
                        file.display()
                    );
                    done.push(format!(
                        "loop device {} over {} (buffered: no direct I/O)",
                        lo.node.display(),
                        file.display()
                    ));
                }
                lo.node
            }
        };
        let text = node.to_string_lossy();
        device.write("backing_dev", &text).map_err(|e| {
            refusal(
                name,
                e,
                &[
                    (
                        libc::EBUSY,
                        &format!(
                            "{text} is in use (mounted, swapped on, or the backing device of \
                             another ghostswap or zram device)"
                        ),
                    ),
                    (libc::ENOTBLK, &format!("{text} is not a block device")),
                    (
                        libc::EINVAL,
                        &format!(
                            "the driver refused {text} as backing device: a ghostswap disk \
                             cannot back a ghostswap device"
                        ),
                    ),
                    (libc::ENOENT, &format!("{text} does not exist")),
                ],
            )
        })?;
        undo.backing_set = true;
        done.push(format!("backing_dev {text}"));
    }

    if let Some(algo) = spec.algorithm {
        device.write("comp_algorithm", algo.name()).map_err(|e| {
            refusal(
                name,
                e,
                &[(
                    libc::EINVAL,
                    &format!("the driver does not offer {}", algo.name()),
                )],
            )
        })?;
        done.push(format!("comp_algorithm {}", algo.name()));
    }
    if let Some(level) = spec.level {
        device
            .write("algorithm_params", &format!("level={level}"))
            .map_err(|e| {
                refusal(
                    name,
                    e,
                    &[(
                        libc::EINVAL,
                        &format!(
                            "the driver refused level {level} for {}",
                            spec.algorithm().name()
                        ),
                    )],
                )
            })?;
        done.push(format!("algorithm_params level={level}"));
    }

    device
        .write("disksize", &spec.size.to_string())
        .map_err(|e| {
            refusal(
                name,
                e,
                &[
                    (
                        libc::EINVAL,
                        "the driver refused the size: a non-zero multiple of 4096 up to 1 TiB",
                    ),
                    (libc::ENOMEM, "no memory for the device's tables"),
                    (
                        libc::EBUSY,
                        "the device was set up meanwhile by someone else",
                    ),
                ],
            )
        })?;
    undo.sized = true;
    done.push(format!("disksize {}", human(spec.size)));

    if let Some(limit) = spec.mem_limit {
        device
            .write("mem_limit", &limit.to_string())
            .map_err(|e| refusal(name, e, &[(libc::EINVAL, "the driver refused mem_limit")]))?;
        done.push(format!("mem_limit {}", human(limit)));
    }

    state::save(roots, name, &remembered)?;
    if let Some(swap) = spec.swap {
        let swapped =
            swaps::mkswap(&device.node).and_then(|()| swaps::swapon(&device.node, swap.priority));
        if let Err(e) = swapped {
            // The undo resets the device: forget it too.
            state::forget(roots, name).ok();
            return Err(e);
        }
        done.push(match swap.priority {
            Some(p) => format!("swapon {} priority {p}", device.dev_name()),
            None => format!("swapon {}", device.dev_name()),
        });
    }
    undo.armed = false;
    Ok(done)
}
