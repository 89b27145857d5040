//! Exact text of the sysfs statistics files.

use ghostswap_core::stats::{write_frontswap_stat, write_mm_stat, MmStat, SlotCounts};

fn mm_stat(c: &SlotCounts) -> String {
    let mut s = String::new();
    write_mm_stat(&MmStat::uncompressed(c, 0), &mut s).unwrap();
    s
}

fn frontswap_stat(c: &SlotCounts) -> String {
    let mut s = String::new();
    write_frontswap_stat(c, 0, 0, &mut s).unwrap();
    s
}

#[test]
fn zero_counters() {
    let c = SlotCounts::default();
    assert_eq!(
        mm_stat(&c),
        "       0        0        0        0        0        0        0        0        0\n"
    );
    assert_eq!(
        frontswap_stat(&c),
        "       0        0        0        0        0        0\n"
    );
}

#[test]
fn fields_in_order() {
    let c = SlotCounts {
        stores: 1,
        failed_stores: 22,
        loads: 333,
        zero_reads: 9999,
        invalidates: 4444,
        stored_pages: 3,
        max_stored_pages: 25_000,
    };
    assert_eq!(
        mm_stat(&c),
        "   12288    12288    12288        0 102400000        0        0        0        0\n"
    );
    assert_eq!(
        frontswap_stat(&c),
        "       1       22      333     4444        0        0\n"
    );
}

#[test]
fn wide_values_are_not_truncated_and_bytes_saturate() {
    let c = SlotCounts {
        stores: u64::MAX,
        stored_pages: u64::MAX,
        max_stored_pages: 1 << 40,
        ..SlotCounts::default()
    };
    let mm = mm_stat(&c);
    let fields: Vec<&str> = mm.split_whitespace().collect();
    assert_eq!(fields.len(), 9);
    assert_eq!(fields[0], u64::MAX.to_string());
    assert_eq!(fields[4], (1u64 << 52).to_string());
    assert!(mm.ends_with('\n') && !mm.ends_with("\n\n"));
    assert!(frontswap_stat(&c).starts_with("18446744073709551615        0 "));
}

#[test]
fn write_errors_propagate() {
    struct Full;
    impl std::fmt::Write for Full {
        fn write_str(&mut self, _: &str) -> std::fmt::Result {
            Err(std::fmt::Error)
        }
    }
    assert!(write_mm_stat(&MmStat::default(), &mut Full).is_err());
    assert!(write_frontswap_stat(&SlotCounts::default(), 0, 0, &mut Full).is_err());
}

#[test]
fn mm_stat_reports_the_memory_limit_in_field_four() {
    let mut s = String::new();
    write_mm_stat(
        &MmStat::uncompressed(&SlotCounts::default(), 1 << 20),
        &mut s,
    )
    .unwrap();
    let fields: Vec<&str> = s.split_whitespace().collect();
    assert_eq!(fields[3], "1048576");
    assert_eq!(fields.len(), 9);
}
