//! Turning the kernel's refusals (an errno from a sysfs write) into sentences that say
//! what to do.

use anyhow::anyhow;

use crate::sysfs::WriteError;

/// The error for a refused write: the first of `hints` whose errno matches, else the
/// usual meaning of permission errors, else the bare refusal. The write itself stays
/// as the cause.
pub fn refusal(device: &str, error: WriteError, hints: &[(i32, &str)]) -> anyhow::Error {
    let errno = error.errno();
    if let Some((_, hint)) = hints.iter().find(|(e, _)| Some(*e) == errno) {
        return anyhow::Error::new(error).context(format!("{device}: {hint}"));
    }
    match errno {
        Some(libc::EACCES | libc::EPERM) => anyhow::Error::new(error).context(format!(
            "{device}: permission denied: ghostswapctl must run as root"
        )),
        _ => anyhow!("{device}: {error}"),
    }
}
