//! `ghostswapctl apply`: make the devices what the configuration file says, changing
//! only what differs; a second run changes nothing.

use std::path::Path;

use anyhow::{bail, Result};

use crate::cli::ApplyArgs;
use crate::config;
use crate::configure;
use crate::drift::{self, Drift};
use crate::explain::refusal;
use crate::module;
use crate::paths::Roots;
use crate::spec::Spec;
use crate::state;
use crate::swaps;
use crate::sysfs::{Device, Snapshot};
use crate::teardown;

/// Runs `apply`; returns one line per device and step.
pub fn run(roots: &Roots, module_file: Option<&Path>, args: &ApplyArgs) -> Result<Vec<String>> {
    let config = config::load(roots, &args.file)?;
    let needed = config
        .devices
        .iter()
        .map(|(i, _)| i.saturating_add(1))
        .max()
        .unwrap_or(1);
    let mut lines = Vec::new();
    if args.dry_run {
        if !roots.module_dir().is_dir() {
            lines.push(format!("would load the module (num_devices={needed})"));
            for (index, _) in &config.devices {
                lines.push(format!("ghostswap{index}: would set up"));
            }
            return Ok(lines);
        }
    } else if module::ensure_loaded(roots, module_file, needed)? {
        lines.push(format!(
            "loaded the ghostswap module (num_devices={needed})"
        ));
    }
    let mut failed = 0;
    for (index, spec) in &config.devices {
        let device = Device::new(roots, *index);
        match one(roots, &device, spec, args) {
            Ok(done) => lines.extend(done.into_iter().map(|l| format!("{}: {l}", device.name))),
            Err(e) => {
                failed += 1;
                lines.push(format!("{}: {e:#}", device.name));
            }
        }
    }
    if failed > 0 {
        for line in &lines {
            println!("{line}");
        }
        bail!(
            "{failed} of {} devices could not be applied",
            config.devices.len()
        );
    }
    Ok(lines)
}

/// Applies `spec` to one device.
fn one(roots: &Roots, device: &Device, spec: &Spec, args: &ApplyArgs) -> Result<Vec<String>> {
    if !device.sys.is_dir() {
        bail!(
            "no such device: the module was loaded with fewer devices; unload it and apply again"
        );
    }
    let snap = Snapshot::read(device)?;
    if !snap.is_set_up() {
        if args.dry_run {
            return Ok(vec!["would set up".to_owned()]);
        }
        return configure::set_up(roots, device, spec);
    }
    let swap = swaps::find(roots, &device.dev_name())?;
    let remembered = state::load(roots, &device.name)?;
    let drift = drift::compare(roots, spec, &snap, swap.as_ref(), remembered.as_ref());
    if drift.is_empty() {
        return Ok(vec!["unchanged".to_owned()]);
    }
    if !drift.fixed.is_empty() {
        if !args.reconfigure {
            bail!(
                "set up differently: {}; pass --reconfigure to reset it (swapping it off first) \
                 and set it up again",
                drift.fixed.join("; ")
            );
        }
        let mut done: Vec<String> = drift
            .fixed
            .iter()
            .map(|d| format!("differs: {d}"))
            .collect();
        if args.dry_run {
            done.push("would reset and set up again".to_owned());
            return Ok(done);
        }
        done.extend(teardown::reset(roots, device, true)?);
        done.extend(configure::set_up(roots, device, spec)?);
        return Ok(done);
    }
    live(device, &snap, &drift, spec, args.dry_run)
}

/// Applies the changes that need no reset.
fn live(
    device: &Device,
    snap: &Snapshot,
    drift: &Drift,
    spec: &Spec,
    dry_run: bool,
) -> Result<Vec<String>> {
    let mut done = Vec::new();
    let verb = if dry_run { "would set" } else { "set" };
    if let Some(limit) = drift.mem_limit {
        if !dry_run {
            device
                .write("mem_limit", &limit.to_string())
                .map_err(|e| refusal(&device.name, e, &[]))?;
        }
        done.push(format!("{verb} mem_limit {}", crate::size::human(limit)));
    }
    if drift.swapon {
        let priority = spec.swap.and_then(|s| s.priority);
        if !dry_run {
            // A device that holds nothing gets a swap header; one that holds data is
            // only swapped on, never overwritten.
            if snap.mm.orig_data_size == 0 {
                swaps::mkswap(&device.node)?;
            }
            swaps::swapon(&device.node, priority)?;
        }
        done.push(format!(
            "{} swapon{}",
            if dry_run { "would" } else { "did" },
            priority
                .map(|p| format!(" priority {p}"))
                .unwrap_or_default()
        ));
    }
    Ok(done)
}
