//! Tests of the writeback attributes' parsers (`attrs::writeback`): every parser against
//! a reference parser on arbitrary bytes, and zram-style inputs. `DeviceConfig` with these
//! attributes is tested in `tests/attrs_writeback_config.rs`.

use attrs_support::writeback::{
    long_path, model_backing_dev, model_enable, model_idle, model_limit, model_wmark,
    model_writeback, request_as_option, INVALID, PIECES,
};
use attrs_support::ws;
use ghostswap_core::attrs::{
    parse_backing_dev, parse_enable, parse_idle, parse_pool_wmark, parse_writeback,
    parse_writeback_limit, AttrError, IdleRequest, WritebackRequest, BACKING_DEV_PATH_MAX,
};
use proptest::prelude::*;

#[allow(dead_code)] // Only some of the shared helpers are used here.
mod attrs_support;

/// Checks every parser against its model on `input`.
fn check_all(input: &[u8]) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        parse_backing_dev(input).map(request_as_option),
        model_backing_dev(input)
    );
    for nr_pages in [None, Some(0), Some(1), Some(8), Some(300)] {
        prop_assert_eq!(
            parse_writeback(input, nr_pages),
            model_writeback(input, nr_pages)
        );
    }
    prop_assert_eq!(parse_idle(input), model_idle(input));
    prop_assert_eq!(parse_enable(input), model_enable(input));
    prop_assert_eq!(parse_pool_wmark(input), model_wmark(input));
    prop_assert_eq!(parse_writeback_limit(input), model_limit(input));
    Ok(())
}

// Input strategies.

attrs_support::parser_properties!(check_all, PIECES);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn parsers_match_models_on_long_paths(input in long_path()) {
        check_all(&input)?;
    }
}

// Round trips: values written the way users write them parse back to themselves.

proptest! {
    #[test]
    fn page_ranges_round_trip(
        first in prop_oneof![0u64..10, any::<u64>()],
        last in prop_oneof![0u64..10, any::<u64>()],
        nr_pages in prop::option::of(prop_oneof![0u64..12, any::<u64>()]),
        lead in ws(),
        trail in ws(),
    ) {
        let fits = |page: u64| nr_pages.is_none_or(|n| page < n);
        let range = format!("{lead}page_indexes={first}-{last}{trail}");
        let expected = if first <= last && fits(last) {
            Ok(WritebackRequest::Pages { first, last })
        } else {
            Err(INVALID)
        };
        prop_assert_eq!(parse_writeback(range.as_bytes(), nr_pages), expected);
        let single = format!("{lead}page_index={first}{trail}");
        let expected = if fits(first) {
            Ok(WritebackRequest::Pages { first, last: first })
        } else {
            Err(INVALID)
        };
        prop_assert_eq!(parse_writeback(single.as_bytes(), nr_pages), expected);
    }

    #[test]
    fn numbers_round_trip(value in any::<u64>(), zeros in 0usize..3, lead in ws(), trail in ws()) {
        let input = format!("{lead}{}{value}{trail}", "0".repeat(zeros));
        prop_assert_eq!(parse_writeback_limit(input.as_bytes()), Ok(value));
        prop_assert_eq!(parse_idle(input.as_bytes()), Ok(IdleRequest::Age { secs: value }));
        let wmark = u8::try_from(value).ok().filter(|p| (1..=100).contains(p)).ok_or(INVALID);
        prop_assert_eq!(parse_pool_wmark(input.as_bytes()), wmark);
    }
}

// zram-style inputs.

/// What a `backing_dev` write parses to: `Ok(None)` for `none`.
type BackingDevResult = Result<Option<&'static str>, AttrError>;

#[test]
fn backing_dev_table() {
    let attach = |path| Ok(Some(path));
    let cases: &[(&[u8], BackingDevResult)] = &[
        (b"/dev/vdb\n", attach("/dev/vdb")),
        (b"/dev/sda5", attach("/dev/sda5")),
        (
            b"  /dev/disk/by-id/virtio-wb\t\n",
            attach("/dev/disk/by-id/virtio-wb"),
        ),
        (b"/dev/my disk", attach("/dev/my disk")), // Inner spaces are part of the path.
        (b"/dev/\xc3\xa9", attach("/dev/\u{e9}")),
        (b"/", attach("/")), // Not a block device: the module's open refuses it.
        (b"none\n", Ok(None)),
        (b" none ", Ok(None)),
        (b"None", Err(INVALID)),
        (b"nonE", Err(INVALID)),
        (b"none none", Err(INVALID)),
        (b"dev/vdb", Err(INVALID)),
        (b"./vdb", Err(INVALID)),
        (b"~/vdb", Err(INVALID)),
        (b"/dev/vdb\0", Err(INVALID)),
        (b"/dev/\0vdb", Err(INVALID)),
        (b"/dev/vdb\n/dev/vdc", Err(INVALID)),
        (b"/dev/vd\tb", Err(INVALID)),
        (b"/dev/vdb\x7f", Err(INVALID)),
        (b"/dev/\xff", Err(INVALID)),
        (b"", Err(INVALID)),
        (b"\n", Err(INVALID)),
    ];
    for &(input, expected) in cases {
        assert_eq!(
            parse_backing_dev(input).map(request_as_option),
            expected,
            "{input:?}"
        );
    }
    let longest = format!("/{}", "d".repeat(BACKING_DEV_PATH_MAX - 1));
    assert!(parse_backing_dev(longest.as_bytes()).is_ok());
    let too_long = format!("{longest}d");
    assert_eq!(parse_backing_dev(too_long.as_bytes()), Err(INVALID));
    assert!(parse_backing_dev(format!("{longest}\n\n\n").as_bytes()).is_ok());
}

#[test]
fn writeback_table() {
    use WritebackRequest::*;
    let pages = |first, last| Ok(Pages { first, last });
    // A device of 256 pages (1 MiB).
    let cases: &[(&[u8], Result<WritebackRequest, AttrError>)] = &[
        (b"idle\n", Ok(Idle)),
        (b"huge", Ok(Huge)),
        (b" huge_idle ", Ok(HugeIdle)),
        (b"incompressible\n", Ok(Incompressible)),
        (b"all", Ok(All)),
        (b"type=idle", Ok(Idle)),
        (b"type=all\n", Ok(All)),
        (b"page_index=0", pages(0, 0)),
        (b"page_index=255\n", pages(255, 255)),
        (b"page_index=0255", pages(255, 255)),
        (b"page_indexes=0-255", pages(0, 255)),
        (b"page_indexes=7-7", pages(7, 7)),
        (b"page_indexes=1-100\n", pages(1, 100)),
        (b"page_index=256", Err(INVALID)),
        (b"page_indexes=0-256", Err(INVALID)),
        (b"page_indexes=300-400", Err(INVALID)),
        (b"page_indexes=8-7", Err(INVALID)),
        (b"page_indexes=7", Err(INVALID)),
        (b"page_indexes=7-", Err(INVALID)),
        (b"page_indexes=-7", Err(INVALID)),
        (b"page_indexes=1-2-3", Err(INVALID)),
        (b"page_indexes=1 - 2", Err(INVALID)),
        (b"page_index=-1", Err(INVALID)),
        (b"page_index=+1", Err(INVALID)),
        (b"page_index=", Err(INVALID)),
        (b"page_index=0x10", Err(INVALID)),
        (b"page_index=1 page_index=2", Err(INVALID)), // zram 6.16 lists: one request here.
        (b"page_index=1 page_indexes=2-3", Err(INVALID)),
        (b"page_index = 1", Err(INVALID)),
        (b"page_index=18446744073709551616", Err(INVALID)),
        (b"page_index=1\0", Err(INVALID)),
        (b"type=", Err(INVALID)),
        (b"type=page_index=1", Err(INVALID)),
        (b"type", Err(INVALID)),
        (b"mode=idle", Err(INVALID)),
        (b"IDLE", Err(INVALID)),
        (b"idle huge", Err(INVALID)),
        (b"idle\0", Err(INVALID)),
        (b"=idle", Err(INVALID)),
        (b"huge_idle_", Err(INVALID)),
        (b"\xffidle", Err(INVALID)),
        (b"", Err(INVALID)),
        (b" \n", Err(INVALID)),
    ];
    for &(input, expected) in cases {
        assert_eq!(parse_writeback(input, Some(256)), expected, "{input:?}");
    }
    // Without a page count, only the syntax is checked.
    assert_eq!(
        parse_writeback(b"page_indexes=0-18446744073709551615", None),
        pages(0, u64::MAX)
    );
    assert_eq!(parse_writeback(b"page_index=0", Some(0)), Err(INVALID));
}

#[test]
fn idle_table() {
    let age = |secs| Ok(IdleRequest::Age { secs });
    let cases: &[(&[u8], Result<IdleRequest, AttrError>)] = &[
        (b"all\n", Ok(IdleRequest::All)),
        (b" all ", Ok(IdleRequest::All)),
        (b"86400\n", age(86400)),
        (b"0", age(0)),
        (b"007", age(7)),
        (b"18446744073709551615", age(u64::MAX)),
        (b"18446744073709551616", Err(INVALID)),
        (b"All", Err(INVALID)),
        (b"all all", Err(INVALID)),
        (b"-1", Err(INVALID)),
        (b"+1", Err(INVALID)),
        (b"0x10", Err(INVALID)), // zram reads it as 16 (`kstrtoull` base 0).
        (b"1.5", Err(INVALID)),
        (b"1d", Err(INVALID)),
        (b"1 2", Err(INVALID)),
        (b"", Err(INVALID)),
        (b"\xff", Err(INVALID)),
    ];
    for &(input, expected) in cases {
        assert_eq!(parse_idle(input), expected, "{input:?}");
    }
}

#[test]
fn idle_marks() {
    assert!(IdleRequest::All.marks(0));
    assert!(IdleRequest::Age { secs: 0 }.marks(0));
    assert!(IdleRequest::Age { secs: 60 }.marks(60));
    assert!(IdleRequest::Age { secs: 60 }.marks(61));
    assert!(!IdleRequest::Age { secs: 60 }.marks(59));
    assert!(!IdleRequest::Age { secs: u64::MAX }.marks(u64::MAX - 1));
}

#[test]
fn numbers_table() {
    let limits: &[(&[u8], Result<u64, AttrError>)] = &[
        (b"0", Ok(0)),
        (b"102400\n", Ok(102400)),
        (b"18446744073709551615", Ok(u64::MAX)),
        (b"18446744073709551616", Err(INVALID)),
        (b"-1", Err(INVALID)),
        (b"+1", Err(INVALID)),
        (b"400M", Err(INVALID)), // Blocks, not a size.
        (b"1 2", Err(INVALID)),
        (b"", Err(INVALID)),
    ];
    for &(input, expected) in limits {
        assert_eq!(parse_writeback_limit(input), expected, "{input:?}");
    }

    let flags: &[(&[u8], Result<bool, AttrError>)] = &[
        (b"0", Ok(false)),
        (b"1\n", Ok(true)),
        (b" 0 ", Ok(false)),
        (b"2", Err(INVALID)), // zram reads any non-zero number as on.
        (b"00", Err(INVALID)),
        (b"01", Err(INVALID)),
        (b"-0", Err(INVALID)),
        (b"true", Err(INVALID)),
        (b"on", Err(INVALID)),
        (b"1 1", Err(INVALID)),
        (b"", Err(INVALID)),
    ];
    for &(input, expected) in flags {
        assert_eq!(parse_enable(input), expected, "{input:?}");
    }

    let wmarks: &[(&[u8], Result<u8, AttrError>)] = &[
        (b"1", Ok(1)),
        (b"80\n", Ok(80)),
        (b"100", Ok(100)),
        (b"0100", Ok(100)),
        (b"0", Err(INVALID)),
        (b"101", Err(INVALID)),
        (b"256", Err(INVALID)),
        (b"18446744073709551616", Err(INVALID)),
        (b"-80", Err(INVALID)),
        (b"80%", Err(INVALID)),
        (b"0.8", Err(INVALID)),
        (b"", Err(INVALID)),
    ];
    for &(input, expected) in wmarks {
        assert_eq!(parse_pool_wmark(input), expected, "{input:?}");
    }
}
