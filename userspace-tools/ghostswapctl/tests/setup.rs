//! `setup` on a fixture tree whose device files are plain files: which files it
//! writes, in which order (its report lists them as it goes), what it remembers, and
//! how it undoes a setup that fails part-way.

mod common;

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use common::Tree;

fn stderr_lines(out: &std::process::Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn settings_are_written_in_the_drivers_order() {
    let tree = Tree::new("unconfigured");
    tree.add_write_only();
    let out = tree.run(&[
        "setup",
        "ghostswap0",
        "--size",
        "64M",
        "--algorithm",
        "zstd",
        "--level",
        "7",
        "--mem-limit",
        "8M",
    ]);
    assert!(out.status.success(), "{:?}", stderr_lines(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "/dev/ghostswap0\n");
    assert_eq!(
        stderr_lines(&out),
        [
            "ghostswapctl: comp_algorithm zstd",
            "ghostswapctl: algorithm_params level=7",
            "ghostswapctl: disksize 64M",
            "ghostswapctl: mem_limit 8M",
        ]
    );
    assert_eq!(tree.attr("comp_algorithm"), "zstd");
    assert_eq!(tree.attr("algorithm_params"), "level=7");
    assert_eq!(tree.attr("disksize"), "67108864");
    assert_eq!(tree.attr("mem_limit"), "8388608");
    assert_eq!(
        tree.attr("backing_dev"),
        "none\n",
        "no backing device asked for"
    );
    assert_eq!(tree.attr("reset"), "");
    let state = fs::read_to_string(tree.path().join("run/ghostswap0.json")).expect("remembered");
    let state: serde_json::Value = serde_json::from_str(&state).expect("JSON");
    assert_eq!(state["level"], 7);
    assert_eq!(state["loop_device"], serde_json::Value::Null);
}

#[test]
fn a_failure_after_the_size_resets_the_device() {
    let tree = Tree::new("unconfigured");
    tree.add_write_only();
    fs::remove_file(tree.path().join("sys/block/ghostswap0/mem_limit")).expect("rm");
    let err = tree.refused(&["setup", "ghostswap0", "--size", "64M", "--mem-limit", "8M"]);
    assert!(err.contains("ghostswap0: writing \"8388608\" to "), "{err}");
    assert_eq!(tree.attr("disksize"), "67108864");
    assert_eq!(tree.attr("reset"), "1", "the undo resets the device");
    assert!(!tree.path().join("run/ghostswap0.json").exists());
}

/// Makes a block device node at `path` (never opened); `false` if this user may not.
fn block_node(path: &Path) -> bool {
    let mut bytes = path.as_os_str().as_bytes().to_vec();
    bytes.push(0);
    // SAFETY: `bytes` is a NUL-terminated path; mknod only reads it.
    let rc = unsafe {
        libc::mknod(
            bytes.as_ptr().cast(),
            libc::S_IFBLK | 0o600,
            libc::makedev(7, 250),
        )
    };
    rc == 0
}

#[test]
fn a_failure_before_the_size_detaches_the_backing_device() {
    let tree = Tree::new("unconfigured");
    tree.add_write_only();
    let node = tree.path().join("dev/backing-disk");
    if !block_node(&node) {
        eprintln!("skipped: mknod needs root");
        return;
    }
    let backing = node.to_string_lossy().into_owned();
    fs::remove_file(tree.path().join("sys/block/ghostswap0/algorithm_params")).expect("rm");
    let err = tree.refused(&[
        "setup",
        "ghostswap0",
        "--size",
        "64M",
        "--backing",
        &backing,
        "--algorithm",
        "zstd",
        "--level",
        "5",
    ]);
    assert!(err.contains("writing \"level=5\""), "{err}");
    assert_eq!(
        tree.attr("comp_algorithm"),
        "zstd",
        "written before the level"
    );
    assert_eq!(
        tree.attr("backing_dev"),
        "none",
        "the undo detaches the backing device"
    );
    assert_eq!(tree.attr("disksize"), "0\n", "the size was never written");
    assert_eq!(tree.attr("reset"), "", "nothing to reset before the size");
}

#[test]
fn backing_paths_that_cannot_back_a_device() {
    let tree = Tree::new("unconfigured");
    tree.add_write_only();
    let before = tree.device_files();
    let missing = tree.path().join("nowhere.img");
    let missing = missing.to_string_lossy();
    let cases = [
        (
            "/dev/null",
            "the backing path /dev/null is neither a block device nor a regular file".to_owned(),
        ),
        (
            missing.as_ref(),
            format!("the backing path {missing} does not exist; create a file first, e.g. `fallocate -l 4G {missing}`"),
        ),
    ];
    for (path, want) in cases {
        let err = tree.refused(&["setup", "ghostswap0", "--size", "64M", "--backing", path]);
        assert!(err.contains(&want), "{err}");
    }
    let empty = tree.path().join("empty.img");
    fs::write(&empty, "").expect("an empty file");
    let err = tree.refused(&[
        "setup",
        "ghostswap0",
        "--size",
        "64M",
        "--backing",
        &empty.to_string_lossy(),
    ]);
    assert!(err.contains("is 0 bytes long; give it room first"), "{err}");
    let err = tree.refused(&[
        "setup",
        "ghostswap0",
        "--size",
        "64M",
        "--swapon",
        "--priority",
        "40000",
    ]);
    assert!(
        err.contains("a swap priority is 0 to 32767, not 40000"),
        "{err}"
    );
    assert_eq!(tree.device_files(), before, "a refusal wrote to the device");
}
