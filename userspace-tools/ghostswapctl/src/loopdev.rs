//! Loop devices over regular files, for a file as backing store: created with direct
//! I/O (so written-back pages do not come back into RAM as page cache) and removed at
//! reset.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::paths::Roots;
use crate::run;

/// A loop device set up by [`attach`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loop {
    /// `/dev/loopN`.
    pub node: PathBuf,
    /// Whether the kernel took direct I/O for it.
    pub direct_io: bool,
}

/// Sets up a loop device over `file` with direct I/O (`losetup --find --show
/// --direct-io=on FILE`).
///
/// A file system that cannot do direct I/O (tmpfs) still gets its loop device, with
/// `direct_io` false: the caller warns.
pub fn attach(roots: &Roots, file: &Path) -> Result<Loop> {
    let out = run::output(
        "losetup",
        [
            "--find".as_ref(),
            "--show".as_ref(),
            "--direct-io=on".as_ref(),
            file.as_os_str(),
        ],
    )
    .with_context(|| format!("setting up a loop device over {}", file.display()))?;
    let node = PathBuf::from(out.trim());
    if !node.is_absolute() {
        bail!(
            "losetup printed `{}`, not a loop device, for {}",
            out.trim(),
            file.display()
        );
    }
    let direct_io = attr(roots, &node, "dio").is_some_and(|v| v == "1");
    Ok(Loop { node, direct_io })
}

/// Removes the loop device `node` (`losetup --detach`).
pub fn detach(node: &Path) -> Result<()> {
    run::output("losetup", ["--detach".as_ref(), node.as_os_str()])
        .with_context(|| format!("removing the loop device {}", node.display()))
        .map(drop)
}

/// The file behind the loop device `node`, if it is one that is set up.
pub fn backing_file(roots: &Roots, node: &Path) -> Option<PathBuf> {
    attr(roots, node, "backing_file").map(PathBuf::from)
}

/// Whether the loop device `node` is set up over `file`.
pub fn is_over(roots: &Roots, node: &Path, file: &Path) -> bool {
    let Some(current) = backing_file(roots, node) else {
        return false;
    };
    match (fs::canonicalize(current), fs::canonicalize(file)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// `/sys/block/loopN/loop/NAME`, trimmed.
fn attr(roots: &Roots, node: &Path, name: &str) -> Option<String> {
    let dev = node.file_name()?.to_str()?;
    if !dev.starts_with("loop") {
        return None;
    }
    let path = roots.block().join(dev).join("loop").join(name);
    fs::read_to_string(path).ok().map(|s| s.trim().to_owned())
}
