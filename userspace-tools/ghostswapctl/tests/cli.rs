//! ghostswapctl run on fixture trees: what it shows, and how it refuses.

mod common;

use common::{field, Tree};
use serde_json::Value;

#[test]
fn list_shows_only_devices_that_are_set_up() {
    assert_eq!(Tree::new("unconfigured").ok(&[]), "");
    let out = Tree::new("swapping").ok(&["list"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAME",
            "DISKSIZE",
            "DATA",
            "COMPR",
            "TOTAL",
            "ALGORITHM",
            "MEM-LIMIT",
            "BACKING",
            "WB-DATA",
            "SWAP-PRIO"
        ]
    );
    let row: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(row[0], "/dev/ghostswap0");
    assert_eq!(row[1], "256M");
    assert_eq!(row[5], "zstd");
    assert_eq!(row[6], "8M");
    assert_eq!(row[7], "/dev/loop0");
    assert_eq!(row[9], "100");
    // Numbers are right-aligned under their header.
    let end = |s: &str, word: &str| s.find(word).map(|i| i + word.len());
    assert_eq!(end(lines[0], "DISKSIZE"), end(lines[1], "256M"));
}

#[test]
fn list_json_is_sysfs_in_bytes() {
    let tree = Tree::new("swapping");
    let json: Value = serde_json::from_str(&tree.ok(&["list", "--json"])).expect("JSON");
    let dev = &json["devices"][0];
    let s = "swapping";
    assert_eq!(dev["name"], "/dev/ghostswap0");
    assert_eq!(dev["disksize"], 268_435_456);
    assert_eq!(dev["data"], field(s, "mm_stat", 0));
    assert_eq!(dev["compr"], field(s, "mm_stat", 1));
    assert_eq!(dev["total"], field(s, "mm_stat", 2));
    assert_eq!(dev["mem-limit"], field(s, "mm_stat", 3));
    assert_eq!(dev["wb-data"], field(s, "bd_stat", 0) * 4096);
    assert_eq!(dev["algorithm"], "zstd");
    assert_eq!(dev["backing"], "/dev/loop0");
    assert_eq!(dev["swap-prio"], 100);
    assert_eq!(json["devices"].as_array().map(Vec::len), Some(1));
}

#[test]
fn list_raw_bytes_and_chosen_columns() {
    let tree = Tree::new("swapping");
    let out = tree.ok(&[
        "list",
        "--raw",
        "--bytes",
        "-o",
        "name,data,total,same-pages",
        "-n",
    ]);
    let s = "swapping";
    assert_eq!(
        out,
        format!(
            "/dev/ghostswap0 {} {} {}\n",
            field(s, "mm_stat", 0),
            field(s, "mm_stat", 2),
            field(s, "mm_stat", 5)
        )
    );
    let err = tree.refused(&["list", "-o", "name,ratio"]);
    assert!(
        err.contains("unknown column `ratio`; the columns are NAME, DISKSIZE"),
        "{err}"
    );
}

#[test]
fn status_in_words() {
    let tree = Tree::new("swapping");
    let out = tree.ok(&["status", "ghostswap0"]);
    let s = "swapping";
    let stored = field(s, "mm_stat", 0) / 4096;
    assert!(
        out.starts_with("/dev/ghostswap0: 256M device, zstd, swap priority 100"),
        "{out}"
    );
    assert!(
        out.contains(&format!("  stored          {stored} pages")),
        "{out}"
    );
    let on_backing = field(s, "writeback_stat", 0);
    assert!(
        out.contains(&format!("({on_backing} pages are on the backing device)")),
        "{out}"
    );
    assert!(out.contains("of a 8 MiB limit"), "{out}");
    assert!(out.contains("backing device  /dev/loop0 (over /"), "{out}");
    assert!(
        out.contains(&format!(
            "{} blocks read back from it",
            field(s, "bd_stat", 1)
        )),
        "{out}"
    );
    assert!(
        !out.contains("checksums"),
        "no checksum counter in this driver: {out}"
    );

    let json: Value = serde_json::from_str(&tree.ok(&["status", "0", "--json"])).expect("JSON");
    assert_eq!(
        json["sysfs"]["mm"]["orig_data_size"],
        field(s, "mm_stat", 0)
    );
    assert_eq!(json["swap"]["priority"], 100);

    let unset = Tree::new("unconfigured").ok(&["status", "/dev/ghostswap0"]);
    assert_eq!(
        unset,
        "/dev/ghostswap0: not set up (`ghostswapctl setup ghostswap0` sets it up)\n"
    );
}

#[test]
fn refusals_explain_themselves_and_write_nothing() {
    let tree = Tree::new("swapping");
    let before = tree.device_files();
    let cases: &[(&[&str], &str)] = &[
        (
            &["setup", "ghostswap0", "--size", "1G"],
            "ghostswap0 is already set up (256M, zstd); run `ghostswapctl reset ghostswap0` first (the backing device and algorithm must be set before the size)",
        ),
        (
            &["reset", "ghostswap0"],
            "ghostswap0 is in use as swap (33536 KiB used); pass --swapoff, or run `swapoff /dev/ghostswap0` first",
        ),
        (
            &["writeback", "ghostswap0", "cold"],
            "`cold` is not a writeback mode: idle, huge, huge_idle, incompressible, all, page_index=N or page_indexes=LO-HI, with pages below 65536",
        ),
        (
            &["writeback", "ghostswap0", "page_index=65536"],
            "is not a writeback mode",
        ),
        (
            &["writeback", "ghostswap0", "idle", "--mark-idle", "yesterday"],
            "--mark-idle takes `all` or an age in seconds, not `yesterday`",
        ),
        (
            &["setup", "ghostswap0", "--size", "5000"],
            "the size (5000 bytes) must be a multiple of 4096 bytes",
        ),
        (
            &["setup", "--find", "--size", "1G", "--level", "3"],
            "lz4 takes no level",
        ),
        (
            &["setup", "--find", "--size", "1G", "--algorithm", "zstd", "--level", "30"],
            "zstd's level must be 1 to 22, not 30",
        ),
        (
            &["setup", "--find", "--size", "1.5G"],
            "`1.5G` is not a size: write digits with an optional K, M, G or T suffix",
        ),
        (
            &["setup", "--find", "--size", "2T"],
            "the size (2T) is more than the driver's largest device, 1T",
        ),
        (
            &["setup", "--find", "--size", "1G", "--backing", "disk.img"],
            "the backing path `disk.img` must be absolute",
        ),
        (
            &["setup", "--find", "--size", "1G"],
            "all 1 ghostswap device(s) are set up; reset one",
        ),
        (&["status", "ghostswap3"], "ghostswap3: no such device; the module has 1 (ghostswap0..ghostswap0)"),
        (&["status", "zram0"], "`zram0` is not a ghostswap device"),
        (&["estimate", "--pid", "1", "--level", "3"], "lz4 takes no level"),
        (&["estimate", "--pid", "1", "--sample", "0"], "--sample takes a number of pages of at least 1"),
        (&["apply", "/nonexistent/ghostswap.toml"], "reading /nonexistent/ghostswap.toml (write one;"),
    ];
    for (args, want) in cases {
        let err = tree.refused(args);
        assert!(
            err.contains(want),
            "ghostswapctl {args:?}:\n{err}\nwanted: {want}"
        );
        assert!(err.starts_with("ghostswapctl: "), "{err}");
    }
    assert_eq!(tree.device_files(), before, "a refusal wrote to the device");
}

#[test]
fn refusals_of_a_device_not_set_up() {
    let tree = Tree::new("unconfigured");
    let err = tree.refused(&["writeback", "ghostswap0", "all"]);
    assert!(
        err.contains("ghostswap0 is not set up; nothing to write back"),
        "{err}"
    );
    let out = tree.ok(&["reset", "ghostswap0"]);
    assert_eq!(out, "ghostswap0 is not set up: nothing to reset\n");
    // --priority only means something with --swapon (clap says so).
    let err = tree.refused(&["setup", "--find", "--size", "1G", "--priority", "5"]);
    assert!(err.contains("--swapon"), "{err}");
    tree.unload();
    let err = tree.refused(&["status", "ghostswap0"]);
    assert!(
        err.contains(
            "ghostswap0: the ghostswap module is not loaded; `ghostswapctl setup` loads it"
        ),
        "{err}"
    );
}

#[test]
fn a_process_that_does_not_exist() {
    let tree = Tree::new("unconfigured");
    let err = tree.refused(&["estimate", "--pid", "4194305"]);
    assert!(
        err.contains("reading /proc/4194305/maps (does process 4194305 exist?)"),
        "{err}"
    );
}

#[test]
fn status_watch_repeats_with_rates() {
    use std::process::{Command, Stdio};
    use std::time::Duration;
    let tree = Tree::new("swapping");
    let roots = tree.roots();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ghostswapctl"))
        .args(["status", "ghostswap0", "--watch", "0.2"])
        .env("GHOSTSWAPCTL_SYSFS", &roots.sys)
        .env("GHOSTSWAPCTL_PROCFS", &roots.proc)
        .env("GHOSTSWAPCTL_DEV", &roots.dev)
        .env("GHOSTSWAPCTL_STATE_DIR", &roots.state)
        .stdout(Stdio::piped())
        .spawn()
        .expect("runs");
    std::thread::sleep(Duration::from_millis(900));
    child.kill().expect("kill");
    let out = child.wait_with_output().expect("output");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.matches("/dev/ghostswap0: 256M device").count() >= 2,
        "{text}"
    );
    assert!(
        text.contains(
            "  rates           0 stores/s, 0 loads/s, 0 pages written back/s, 0 backing reads/s"
        ),
        "{text}"
    );
    assert!(!text.contains('\x1b'), "no screen clearing into a pipe");
    assert!(tree
        .refused(&["status", "0", "--watch", "0"])
        .contains("at least 0.1"));
}

#[test]
fn status_shows_checksum_failures_when_the_driver_counts_them() {
    let tree = Tree::new("swapping");
    let path = tree.path().join("sys/block/ghostswap0/debug_stat");
    let mut text = std::fs::read_to_string(&path).expect("debug_stat");
    text.push_str("checksum_failures: 3\n");
    std::fs::write(&path, text).expect("write");
    let out = tree.ok(&["status", "ghostswap0"]);
    assert!(out.contains("\n  checksums       3 failures\n"), "{out}");
}

#[test]
fn status_shows_the_writeback_settings() {
    let tree = Tree::new("swapping");
    let out = tree.ok(&["status", "ghostswap0"]);
    assert!(
        out.contains("  writes back     from 90% of the limit down to 80%, and on request; no writeback_limit; promote_on_read off"),
        "{out}"
    );
    let dir = tree.path().join("sys/block/ghostswap0");
    std::fs::write(dir.join("writeback_limit_enable"), "1\n").expect("write");
    std::fs::write(dir.join("writeback_limit"), "25\n").expect("write");
    std::fs::write(dir.join("pool_high_wmark"), "x\n").expect("write");
    let err = tree.refused(&["status", "ghostswap0"]);
    assert!(
        err.contains("pool_high_wmark is \"x\", not a number"),
        "{err}"
    );
    std::fs::write(dir.join("pool_high_wmark"), "95\n").expect("write");
    let out = tree.ok(&["status", "ghostswap0"]);
    assert!(out.contains("from 95% of the limit down to 80%"), "{out}");
    assert!(out.contains("writeback_limit 25 blocks left"), "{out}");
}
