//! Loading the ghostswap module when no device exists yet.

use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::paths::Roots;
use crate::run;
use crate::sysfs::Device;

/// Makes sure the module is loaded with at least `devices` devices; returns whether it
/// loaded it now.
///
/// The module is loaded with `disksize=` (empty), so every device starts unconfigured
/// whatever the module's default, with `insmod MODULE` when a module file is given and
/// `modprobe ghostswap` otherwise.
pub fn ensure_loaded(roots: &Roots, module: Option<&Path>, devices: u32) -> Result<bool> {
    if roots.module_dir().is_dir() {
        let have = Device::all(roots)?.len();
        // CAST: at most a few devices.
        if (have as u64) < u64::from(devices) {
            bail!(
                "the ghostswap module is loaded with {have} device(s) but {devices} are needed; \
                 unload it (swapoff its devices, `rmmod ghostswap`) and try again"
            );
        }
        return Ok(false);
    }
    let params = [
        format!("num_devices={}", devices.max(1)),
        "disksize=".to_owned(),
    ];
    match module {
        Some(path) => {
            let mut args = vec![path.to_string_lossy().into_owned()];
            args.extend(params);
            run::output("insmod", &args)
                .with_context(|| format!("loading the module {}", path.display()))?;
        }
        None => {
            let mut args = vec!["ghostswap".to_owned()];
            args.extend(params);
            run::output("modprobe", &args).context(
                "the ghostswap module is not loaded and modprobe could not load it; \
                 pass --module PATH/ghostswap.ko (or set GHOSTSWAPCTL_MODULE)",
            )?;
        }
    }
    wait_for_nodes(roots, devices.max(1))?;
    Ok(true)
}

/// Waits for devtmpfs to create the device nodes.
fn wait_for_nodes(roots: &Roots, devices: u32) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let missing = (0..devices)
            .map(|i| Device::new(roots, i))
            .find(|d| !d.node.exists());
        let Some(missing) = missing else {
            return Ok(());
        };
        if Instant::now() > deadline {
            bail!(
                "the module is loaded but {} did not appear within 10 s",
                missing.node.display()
            );
        }
        sleep(Duration::from_millis(50));
    }
}
