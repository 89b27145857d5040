//! A fixture tree for running ghostswapctl on the host: a copy of `fixtures/<state>`
//! (files taken from a real device in the VM) with device nodes and the module's
//! directory, and the tool run with its roots moved there.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ghostswapctl::paths::Roots;

/// The fixture states: `unconfigured` (loaded without parameters) and `swapping`
/// (set up with a file as backing store, zstd, mem_limit, swapped on, under a
/// workload, after a writeback).
pub const STATES: [&str; 2] = ["unconfigured", "swapping"];

/// The directory of a fixture state.
pub fn fixture(state: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(state)
}

/// The text of a fixture file.
pub fn text(state: &str, file: &str) -> String {
    let path = fixture(state).join("sys/block/ghostswap0").join(file);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Field `i` (0-based) of a fixture file of numbers, read here independently of the
/// tool's parser.
pub fn field(state: &str, file: &str, i: usize) -> u64 {
    let t = text(state, file);
    let words: Vec<&str> = t.split_whitespace().collect();
    words[i].parse().expect("a number")
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("readdir") {
        let entry = entry.expect("entry");
        let dest = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            fs::copy(entry.path(), dest).expect("copy");
        }
    }
}

/// A temporary copy of a fixture state.
pub struct Tree {
    dir: tempfile::TempDir,
}

impl Tree {
    /// The tree of `state`, with the module loaded.
    pub fn new(state: &str) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        copy_dir(&fixture(state), dir.path());
        let tree = Self { dir };
        fs::create_dir_all(tree.path().join("sys/module/ghostswap")).expect("mkdir");
        fs::create_dir_all(tree.path().join("dev")).expect("mkdir");
        fs::write(tree.path().join("dev/ghostswap0"), "").expect("node");
        tree
    }

    /// Adds the device's write-only files (which read back nothing, so the fixtures
    /// lack them) as empty files, for setup and reset to write to.
    pub fn add_write_only(&self) {
        let dir = self.path().join("sys/block/ghostswap0");
        for f in [
            "reset",
            "algorithm_params",
            "mem_limit",
            "writeback",
            "idle",
        ] {
            fs::write(dir.join(f), "").expect("a write-only file");
        }
    }

    /// The text of the device's file `attr` in the tree.
    pub fn attr(&self, attr: &str) -> String {
        let path = self.path().join("sys/block/ghostswap0").join(attr);
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// Its base directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The roots the tool would use in it.
    pub fn roots(&self) -> Roots {
        Roots::under(self.path())
    }

    /// Removes the module's directory and devices: the module is not loaded.
    pub fn unload(&self) {
        fs::remove_dir_all(self.path().join("sys/module/ghostswap")).expect("rm");
        fs::remove_dir_all(self.path().join("sys/block/ghostswap0")).expect("rm");
    }

    /// Runs ghostswapctl with `args` in the tree.
    pub fn run(&self, args: &[&str]) -> Output {
        let roots = self.roots();
        Command::new(env!("CARGO_BIN_EXE_ghostswapctl"))
            .args(args)
            .env("GHOSTSWAPCTL_SYSFS", &roots.sys)
            .env("GHOSTSWAPCTL_PROCFS", &roots.proc)
            .env("GHOSTSWAPCTL_DEV", &roots.dev)
            .env("GHOSTSWAPCTL_STATE_DIR", &roots.state)
            .env_remove("GHOSTSWAPCTL_MODULE")
            .output()
            .expect("ghostswapctl runs")
    }

    /// Runs ghostswapctl, which must succeed; returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "ghostswapctl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("UTF-8")
    }

    /// Runs ghostswapctl, which must fail; returns its stderr.
    pub fn refused(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "ghostswapctl {args:?} succeeded: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stderr).expect("UTF-8")
    }

    /// The contents of every file of the device, to check nothing was written.
    pub fn device_files(&self) -> Vec<(String, String)> {
        let dir = self.path().join("sys/block/ghostswap0");
        let mut files: Vec<(String, String)> = fs::read_dir(&dir)
            .expect("readdir")
            .map(|e| {
                let e = e.expect("entry");
                (
                    e.file_name().to_string_lossy().into_owned(),
                    fs::read_to_string(e.path()).expect("read"),
                )
            })
            .collect();
        files.sort();
        files
    }
}
