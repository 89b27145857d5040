//! `ghostswapctl setup`: load the module if needed, pick or check the device, set it
//! up (see [`crate::configure`]).

use std::path::Path;

use anyhow::{bail, Result};

use crate::cli::SetupArgs;
use crate::configure;
use crate::module;
use crate::paths::Roots;
use crate::size;
use crate::spec::{self, Spec, Swap};
use crate::sysfs::{Device, Snapshot};

/// Reads the command line into a [`Spec`].
pub fn spec_of(args: &SetupArgs) -> Result<Spec> {
    Ok(Spec {
        size: size::parse(&args.size)?,
        algorithm: args
            .algorithm
            .as_deref()
            .map(spec::parse_algorithm)
            .transpose()?,
        level: args.level,
        mem_limit: args.mem_limit.as_deref().map(size::parse).transpose()?,
        backing: args.backing.clone(),
        swap: args.swapon.then_some(Swap {
            priority: args.priority,
        }),
    })
}

/// The index `ghostswapN`, `/dev/ghostswapN` or `N` names, for loading enough devices.
fn wanted_index(arg: &str) -> Option<u32> {
    let name = arg.strip_prefix("/dev/").unwrap_or(arg);
    name.strip_prefix("ghostswap").unwrap_or(name).parse().ok()
}

/// Runs `setup`; returns the device set up and what was done.
pub fn run(
    roots: &Roots,
    module_file: Option<&Path>,
    args: &SetupArgs,
) -> Result<(Device, Vec<String>)> {
    let spec = spec_of(args)?;
    spec.check()?;
    let needed = args
        .device
        .as_deref()
        .and_then(wanted_index)
        .map_or(1, |i| i.saturating_add(1));
    let mut done = Vec::new();
    if module::ensure_loaded(roots, module_file, needed)? {
        done.push(match module_file {
            Some(f) => format!("loaded {} (num_devices={needed})", f.display()),
            None => format!("loaded the ghostswap module (num_devices={needed})"),
        });
    }
    let device = match &args.device {
        Some(arg) => Device::find(roots, arg)?,
        None => find_free(roots)?,
    };
    done.extend(configure::set_up(roots, &device, &spec)?);
    Ok((device, done))
}

/// The first device that is not set up.
fn find_free(roots: &Roots) -> Result<Device> {
    let devices = Device::all(roots)?;
    for device in &devices {
        if !Snapshot::read(device)?.is_set_up() {
            return Ok(device.clone());
        }
    }
    bail!(
        "all {} ghostswap device(s) are set up; reset one (`ghostswapctl reset DEV`) or \
         reload the module with more (num_devices=)",
        devices.len()
    )
}
