//! Running the system's tools (`losetup`, `mkswap`, `swapon`, `modprobe`, ...) with
//! their complaints kept for the error message.

use std::ffi::OsStr;
use std::process::Command;

use anyhow::{bail, Context, Result};

/// Runs `program` with `args` and returns what it printed on stdout; fails with its
/// stderr if it exits non-zero.
pub fn output<I, S>(program: &str, args: I) -> Result<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let shown = std::iter::once(program.to_owned())
        .chain(args.iter().map(|a| a.to_string_lossy().into_owned()))
        .collect::<Vec<_>>()
        .join(" ");
    let out = Command::new(program)
        .args(&args)
        .output()
        .with_context(|| format!("cannot run `{shown}` (is {program} installed?)"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stderr = stderr.trim();
        bail!(
            "`{shown}` failed ({}){}{stderr}",
            out.status,
            if stderr.is_empty() { "" } else { ": " }
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
