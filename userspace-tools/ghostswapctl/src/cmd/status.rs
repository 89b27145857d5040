//! `ghostswapctl status`: one device's counters in plain words, once or every few
//! seconds.

use std::io::{IsTerminal, Write};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use serde_json::json;

use crate::cli::StatusArgs;
use crate::loopdev;
use crate::paths::Roots;
use crate::report::{self, Context};
use crate::state;
use crate::swaps;
use crate::sysfs::{Device, Snapshot};

fn once(roots: &Roots, device: &Device) -> Result<(Snapshot, String)> {
    let snap = Snapshot::read(device)?;
    let swap = swaps::find(roots, &device.dev_name())?;
    let remembered = state::load(roots, &device.name)?.unwrap_or_default();
    let backing_file = snap.backing_dev.as_ref().and_then(|dev| {
        loopdev::backing_file(roots, std::path::Path::new(dev))
            .map(|f| f.to_string_lossy().into_owned())
    });
    let text = report::describe(
        device,
        &snap,
        &Context {
            swap: swap.as_ref(),
            backing_file,
            level: remembered.level,
        },
    );
    Ok((snap, text))
}

/// Runs `status`, printing to stdout.
pub fn run(roots: &Roots, args: &StatusArgs) -> Result<()> {
    let device = Device::find(roots, &args.device)?;
    if args.json {
        let snap = Snapshot::read(&device)?;
        let swap = swaps::find(roots, &device.dev_name())?;
        let value = json!({ "device": device.dev_name(), "sysfs": snap, "swap": swap });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    let Some(secs) = args.watch else {
        print!("{}", once(roots, &device)?.1);
        return Ok(());
    };
    if !(secs.is_finite() && secs >= 0.1) {
        bail!("--watch takes a number of seconds of at least 0.1, not {secs}");
    }
    let clear = std::io::stdout().is_terminal();
    let mut last: Option<(Instant, Snapshot)> = None;
    loop {
        let (snap, text) = once(roots, &device)?;
        let now = Instant::now();
        let mut stdout = std::io::stdout().lock();
        if clear {
            write!(stdout, "\x1b[H\x1b[2J")?;
        }
        write!(stdout, "{text}")?;
        if let Some((then, before)) = &last {
            writeln!(
                stdout,
                "{}",
                report::rates(before, &snap, now.duration_since(*then).as_secs_f64())
            )?;
        }
        if !clear {
            writeln!(stdout)?;
        }
        stdout.flush()?;
        drop(stdout);
        last = Some((now, snap));
        thread::sleep(Duration::from_secs_f64(secs));
    }
}
