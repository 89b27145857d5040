//! Resetting a device: swap off (if asked), `reset`, and removing the loop device that
//! setup created for a backing file.

use anyhow::{bail, Result};

use crate::explain::refusal;
use crate::loopdev;
use crate::paths::Roots;
use crate::state;
use crate::swaps;
use crate::sysfs::{Device, Snapshot};

/// Resets `device`; with `swapoff`, swaps it off first. Returns one line per step.
pub fn reset(roots: &Roots, device: &Device, swapoff: bool) -> Result<Vec<String>> {
    let name = device.name.as_str();
    let mut done = Vec::new();
    if let Some(area) = swaps::find(roots, &device.dev_name())? {
        if !swapoff {
            bail!(
                "{name} is in use as swap ({} KiB used); pass --swapoff, or run `swapoff {}` first",
                area.used_kib,
                device.dev_name()
            );
        }
        swaps::swapoff(&device.node)?;
        done.push(format!("swapoff {}", device.dev_name()));
    }
    let remembered = state::load(roots, name)?;
    let set_up = Snapshot::read(device)?.is_set_up();
    if set_up || remembered.is_some() {
        device.write("reset", "1").map_err(|e| {
            refusal(
                name,
                e,
                &[(
                    libc::EBUSY,
                    "the device is open (mounted, swapped on, or held open by a process); \
                     close it first",
                )],
            )
        })?;
        done.push(format!("reset {name}"));
    }
    if let Some(r) = remembered {
        if let (Some(node), Some(file)) = (r.loop_device, r.backing) {
            // Only the loop device setup made: still over the file it was made for.
            if loopdev::is_over(roots, &node, &file) {
                loopdev::detach(&node)?;
                done.push(format!("removed loop device {}", node.display()));
            }
        }
    }
    state::forget(roots, name)?;
    if done.is_empty() {
        done.push(format!("{name} is not set up: nothing to reset"));
    }
    Ok(done)
}
