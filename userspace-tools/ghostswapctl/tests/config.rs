//! The configuration file of `apply`: good files give the devices they describe, bad
//! ones are refused with a message naming the table and what is wrong.

use ghostswap_core::attrs::Algorithm;
use ghostswapctl::config::parse;
use ghostswapctl::size_expr::{eval, ExprError};
use ghostswapctl::spec::Swap;
use std::path::PathBuf;

const GIB: u64 = 1 << 30;

fn error(text: &str, ram: u64) -> String {
    match parse(text, ram) {
        Ok(c) => panic!("accepted {text:?} as {c:?}"),
        Err(e) => format!("{e:#}"),
    }
}

#[test]
fn two_devices_with_every_key() {
    let text = r#"
        [ghostswap1]
        size = "2G"
        algorithm = "zstd"
        level = 9
        swap = false

        [ghostswap0]
        size = "ram / 2"
        mem-limit = "min(ram / 8, 1G)"
        backing = "/var/lib/ghostswap/backing.img"
        swap-priority = 100
    "#;
    let config = parse(text, 16 * GIB).expect("a good file");
    assert_eq!(config.devices.len(), 2);
    let (i0, d0) = &config.devices[0];
    let (i1, d1) = &config.devices[1];
    assert_eq!((*i0, *i1), (0, 1), "devices come by index");
    assert_eq!(d0.size, 8 * GIB);
    assert_eq!(d0.mem_limit, Some(GIB));
    assert_eq!(d0.algorithm, None);
    assert_eq!(
        d0.backing,
        Some(PathBuf::from("/var/lib/ghostswap/backing.img"))
    );
    assert_eq!(
        d0.swap,
        Some(Swap {
            priority: Some(100)
        })
    );
    assert_eq!(d1.size, 2 * GIB);
    assert_eq!(d1.algorithm, Some(Algorithm::Zstd));
    assert_eq!(d1.level, Some(9));
    assert_eq!(d1.swap, None);
}

#[test]
fn a_size_in_bytes_and_swap_by_default() {
    let config = parse("[ghostswap0]\nsize = 1073741824\n", GIB).expect("a good file");
    assert_eq!(config.devices[0].1.size, GIB);
    assert_eq!(config.devices[0].1.swap, Some(Swap { priority: None }));
}

#[test]
fn sizes_relative_to_ram_round_down_to_pages() {
    let ram = 2_000_000_000;
    assert_eq!(eval("ram / 3", ram), Ok(666_664_960));
    assert_eq!(eval("ram", ram), Ok(ram / 4096 * 4096));
    assert_eq!(eval("max(ram / 4, 1G) - 512M", ram), Ok(GIB - (512 << 20)));
    assert_eq!(eval("(ram + 1G) * 0.5", 3 * GIB), Ok(2 * GIB));
    assert_eq!(eval("1.5g", 0), Ok(3 << 29));
}

#[test]
fn expressions_that_are_not_sizes() {
    let syntax = |text: &str| match eval(text, GIB) {
        Err(ExprError::Syntax { column, what, .. }) => (column, what),
        other => panic!("{text:?} gave {other:?}"),
    };
    assert_eq!(syntax("ram /").0, 6);
    assert_eq!(syntax("ram // 2").0, 6);
    assert_eq!(syntax("2 G").0, 3);
    assert_eq!(
        syntax("mem / 2").1,
        "unknown word `mem` (only `ram`, `min` and `max`)"
    );
    assert_eq!(
        syntax("min(ram 1G)").1,
        "expected `,` between the two sizes"
    );
    assert!(matches!(
        eval("ram / 0", GIB),
        Err(ExprError::NotFinite { .. })
    ));
    assert_eq!(
        eval("ram - ram", GIB).map_err(|e| e.to_string()),
        Err("`ram - ram` is 0 bytes: a size must be at least one page (4096 bytes)".to_owned())
    );
}

#[test]
fn bad_files_say_where_and_why() {
    assert_eq!(
        error("[zram0]\nsize = \"1G\"\n", GIB),
        "[zram0]: tables are named after devices: [ghostswap0], [ghostswap1], ..."
    );
    assert_eq!(
        error("[ghostswap0]\nsize = \"ram / x\"\n", GIB),
        "[ghostswap0]: size: `ram / x`: unknown word `x` (only `ram`, `min` and `max`) at column 7"
    );
    assert_eq!(
        error("[ghostswap0]\nsize = \"1G\"\nlevel = 3\n", GIB),
        "[ghostswap0]: lz4 takes no level (the kernel would read it as an acceleration that trades ratio away); choose --algorithm zstd for a level"
    );
    assert_eq!(
        error("[ghostswap0]\nsize = \"1G\"\nalgorithm = \"lzo\"\n", GIB),
        "[ghostswap0]: algorithm: unknown algorithm `lzo`: ghostswap offers lz4 and zstd"
    );
    assert_eq!(
        error("[ghostswap0]\nsize = 5000\n", GIB),
        "[ghostswap0]: the size (5000 bytes) must be a multiple of 4096 bytes (the driver refuses others instead of rounding)"
    );
    assert_eq!(
        error(
            "[ghostswap0]\nsize = \"1G\"\nswap = false\nswap-priority = 5\n",
            GIB
        ),
        "[ghostswap0]: swap-priority is set but swap = false"
    );
    assert_eq!(
        error("[ghostswap0]\nsize = \"1G\"\nbacking = \"disk.img\"\n", GIB),
        "[ghostswap0]: the backing path `disk.img` must be absolute (the driver opens it by path)"
    );
    assert_eq!(
        error("", GIB),
        "no device: add a table such as [ghostswap0] with size = \"ram / 2\""
    );
    // Unknown keys and bad TOML are toml's messages, with the line.
    let unknown = error("[ghostswap0]\nsize = \"1G\"\ncompression = \"zstd\"\n", GIB);
    assert!(unknown.contains("unknown field `compression`"), "{unknown}");
    let broken = error("[ghostswap0\nsize = 1\n", GIB);
    assert!(broken.contains("line 1"), "{broken}");
}

#[test]
fn the_shipped_example_parses() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/ghostswap.toml.example");
    let text = std::fs::read_to_string(path).expect("the example is shipped");
    let config = parse(&text, 16 * GIB).expect("the example is a good file");
    let (index, spec) = &config.devices[0];
    assert_eq!(*index, 0);
    assert_eq!(spec.size, 8 * GIB);
    assert_eq!(spec.mem_limit, Some(2 * GIB));
    assert_eq!(spec.algorithm, Some(Algorithm::Zstd));
}
