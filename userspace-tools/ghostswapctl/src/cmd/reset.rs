//! `ghostswapctl reset`.

use anyhow::Result;

use crate::cli::ResetArgs;
use crate::paths::Roots;
use crate::sysfs::Device;
use crate::teardown;

/// Runs `reset`; returns what was done.
pub fn run(roots: &Roots, args: &ResetArgs) -> Result<Vec<String>> {
    let device = Device::find(roots, &args.device)?;
    teardown::reset(roots, &device, args.swapoff)
}
