//! The formats of the device's files, parsed from files taken from a real device in
//! the VM (`fixtures/`): each field against the text read independently, and the
//! fields that two files both show against each other.

mod common;

use common::{field, text, STATES};
use ghostswapctl::paths::Roots;
use ghostswapctl::swaps;
use ghostswapctl::sysfs::stat::{
    parse_backing_dev, BdStat, CompAlgorithm, DebugStat, FrontswapStat, IoStat, MmStat, StatError,
    WritebackStat,
};
use ghostswapctl::sysfs::{Device, Snapshot};

#[test]
fn mm_stat_fields_in_zrams_order() {
    for state in STATES {
        let mm = MmStat::parse(&text(state, "mm_stat")).expect("mm_stat parses");
        let got = [
            mm.orig_data_size,
            mm.compr_data_size,
            mm.mem_used_total,
            mm.mem_limit,
            mm.mem_used_max,
            mm.same_pages,
            mm.pages_compacted,
            mm.huge_pages,
            mm.huge_pages_since,
        ];
        for (i, value) in got.into_iter().enumerate() {
            assert_eq!(
                value,
                field(state, "mm_stat", i),
                "{state} mm_stat field {i}"
            );
        }
    }
}

#[test]
fn the_other_stat_files() {
    for state in STATES {
        let io = IoStat::parse(&text(state, "io_stat")).expect("io_stat");
        assert_eq!(
            [
                io.failed_reads,
                io.failed_writes,
                io.invalid_io,
                io.notify_free
            ],
            [0, 1, 2, 3].map(|i| field(state, "io_stat", i))
        );
        let bd = BdStat::parse(&text(state, "bd_stat")).expect("bd_stat");
        assert_eq!(
            [bd.bd_count, bd.bd_reads, bd.bd_writes],
            [0, 1, 2].map(|i| field(state, "bd_stat", i))
        );
        let fs = FrontswapStat::parse(&text(state, "frontswap_stat")).expect("frontswap_stat");
        assert_eq!(
            [
                fs.stores,
                fs.failed_stores,
                fs.loads,
                fs.invalidates,
                fs.same_filled,
                fs.huge
            ],
            [0, 1, 2, 3, 4, 5].map(|i| field(state, "frontswap_stat", i))
        );
        let wb = WritebackStat::parse(&text(state, "writeback_stat")).expect("writeback_stat");
        assert_eq!(
            [
                wb.pages_written,
                wb.frames_written,
                wb.bytes_written,
                wb.failed_writebacks,
                wb.promotions,
                wb.backing_blocks_used,
                wb.backing_blocks_free,
                wb.fallthrough_stores,
                wb.auto_runs,
                wb.manual_runs,
                wb.buffer_fallbacks,
                wb.backoff_deferrals
            ],
            core::array::from_fn(|i| field(state, "writeback_stat", i))
        );
    }
}

#[test]
fn files_that_show_the_same_thing_agree() {
    for state in STATES {
        let roots = Roots::under(&common::fixture(state));
        let snap = Snapshot::read(&Device::new(&roots, 0)).expect("the device reads");
        let wb = snap.writeback.expect("writeback_stat");
        assert_eq!(snap.mm.same_pages, snap.frontswap.same_filled, "{state}");
        assert_eq!(snap.mm.huge_pages, snap.frontswap.huge, "{state}");
        assert_eq!(snap.bd.bd_count, wb.backing_blocks_used, "{state}");
        assert_eq!(snap.bd.bd_writes * 4096, wb.bytes_written, "{state}");
        assert_eq!(snap.mm.orig_data_size % 4096, 0, "{state}");
        let debug = snap.debug.expect("debug_stat");
        assert_eq!(debug.get("version"), Some(3), "{state}");
        let huge = debug.get("huge_frames").expect("huge_frames");
        assert_eq!(huge, snap.mm.huge_pages, "{state}");
        assert_eq!(
            debug.get("object_bytes").map(|b| b + huge * 4096),
            Some(snap.mm.compr_data_size),
            "{state}: compressed bytes are the objects' and the huge pages'"
        );
        assert_eq!(
            snap.disksize,
            text(state, "disksize").trim().parse::<u64>().expect("n")
        );
    }
}

#[test]
fn a_device_set_up_with_a_file_as_backing_store() {
    let roots = Roots::under(&common::fixture("swapping"));
    let snap = Snapshot::read(&Device::new(&roots, 0)).expect("the device reads");
    assert!(snap.is_set_up());
    assert_eq!(snap.algorithm.selected, "zstd");
    assert_eq!(snap.algorithm.available, ["lz4", "zstd"]);
    assert_eq!(snap.backing_dev.as_deref(), Some("/dev/loop0"));
    // Stored pages are same-filled, objects or huge in memory, or on the backing device.
    let debug = snap.debug.expect("debug_stat");
    let in_memory = snap.mm.same_pages
        + debug.get("objects").expect("objects")
        + debug.get("huge_frames").expect("huge_frames");
    let written = snap.writeback.expect("writeback_stat").pages_written;
    assert_eq!(snap.mm.orig_data_size / 4096, in_memory + written);

    let unconfigured = Roots::under(&common::fixture("unconfigured"));
    let snap = Snapshot::read(&Device::new(&unconfigured, 0)).expect("reads");
    assert!(!snap.is_set_up());
    assert_eq!(snap.algorithm.selected, "lz4");
    assert_eq!(snap.backing_dev, None);
}

#[test]
fn proc_swaps() {
    let read = |state: &str| {
        swaps::areas(&Roots::under(&common::fixture(state))).expect("/proc/swaps reads")
    };
    assert!(read("unconfigured").is_empty());
    let areas = read("swapping");
    assert_eq!(areas.len(), 1);
    assert_eq!(areas[0].filename, "/dev/ghostswap0");
    assert_eq!(areas[0].kind, "partition");
    assert_eq!(areas[0].priority, 100);
    assert_eq!(areas[0].size_kib, 262_140);
}

#[test]
fn malformed_files_are_refused_with_the_field() {
    assert_eq!(
        MmStat::parse("1 2 3").map_err(|e| e.to_string()),
        Err("mm_stat: expected 9 numbers, found 3 in \"1 2 3\"".to_owned())
    );
    assert_eq!(
        BdStat::parse("1 x 3\n"),
        Err(StatError::NotNumber {
            file: "bd_stat",
            field: "bd_reads",
            value: "x".to_owned()
        })
    );
    assert!(IoStat::parse("").is_err());
    assert_eq!(
        CompAlgorithm::parse("lz4 zstd \n").map_err(|e| e.to_string()),
        Err("comp_algorithm: no selected algorithm (in brackets) in \"lz4 zstd\"".to_owned())
    );
    assert!(DebugStat::parse("version 3\n").is_err());
    // A later driver may add fields at the end.
    let longer = format!("{} 42\n", text("swapping", "frontswap_stat").trim_end());
    assert_eq!(
        FrontswapStat::parse(&longer).expect("parses").stores,
        field("swapping", "frontswap_stat", 0)
    );
    assert_eq!(parse_backing_dev("none\n"), None);
    assert_eq!(parse_backing_dev("/dev/vdb\n").as_deref(), Some("/dev/vdb"));
}

#[test]
fn bd_stat_has_zrams_three_fields_then_the_checksum_errors() {
    let ours = BdStat::parse("       3        7        9        2\n").expect("four fields");
    assert_eq!(
        (
            ours.bd_count,
            ours.bd_reads,
            ours.bd_writes,
            ours.checksum_errors
        ),
        (3, 7, 9, 2)
    );
    let zrams = BdStat::parse("       3        7        9\n").expect("three fields");
    assert_eq!((zrams.bd_writes, zrams.checksum_errors), (9, 0));
    assert!(BdStat::parse("3 7 9 x").is_err());
}
