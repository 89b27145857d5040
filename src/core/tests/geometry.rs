//! Tests of `geometry`: request ranges against models, size parsing edge cases.

use ghostswap_core::geometry::{
    covered_pages, disk_pages, page_range, parse_size, IoError, ParseError, PAGE_SHIFT, PAGE_SIZE,
    SECTORS_PER_PAGE, SECTOR_SHIFT,
};
use proptest::prelude::*;
use std::ops::Range;

const PAGE: u128 = 4096;
const SECTOR: u128 = 512;

/// Model of `page_range`, computed on byte offsets in `u128` so nothing can overflow.
fn model_page_range(start_sector: u64, bytes: u64, cap: u64) -> Result<Range<u64>, IoError> {
    if bytes == 0 {
        return Err(IoError::Empty);
    }
    let start = u128::from(start_sector) * SECTOR;
    let end = start + u128::from(bytes);
    if start % PAGE != 0 || end % PAGE != 0 {
        return Err(IoError::Misaligned);
    }
    if end > u128::from(cap) * PAGE || end / PAGE > u128::from(u64::MAX) {
        return Err(IoError::OutOfRange);
    }
    Ok(u64::try_from(start / PAGE).unwrap()..u64::try_from(end / PAGE).unwrap())
}

/// Model of `covered_pages`, also in `u128` bytes; an empty result is `first..first`.
fn model_covered_pages(start_sector: u64, bytes: u64, cap: u64) -> Result<Range<u64>, IoError> {
    if bytes == 0 {
        return Err(IoError::Empty);
    }
    let start = u128::from(start_sector) * SECTOR;
    let end = start + u128::from(bytes);
    if end > u128::from(u64::MAX) || end > u128::from(cap) * PAGE {
        return Err(IoError::OutOfRange);
    }
    let first = start.div_ceil(PAGE);
    let last = (end / PAGE).max(first);
    Ok(u64::try_from(first).unwrap()..u64::try_from(last).unwrap())
}

/// Values that exercise alignment and overflow edges: around 0 and around the points where
/// sector, byte or page arithmetic reaches `u64::MAX`, with various alignments.
fn edge_u64() -> impl Strategy<Value = u64> {
    let bases = prop::sample::select(vec![
        0,
        u64::MAX / 4096,
        u64::MAX / 512,
        u64::MAX / 8,
        u64::MAX,
    ]);
    let aligns = prop::sample::select(vec![1u64, 8, 512, 4096]);
    prop_oneof![
        (bases, -70i64..70, aligns)
            .prop_map(|(base, delta, align)| { base.wrapping_add_signed(delta) & !(align - 1) }),
        any::<u64>(),
        (0u64..1 << 20),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn page_range_matches_model(start in edge_u64(), bytes in edge_u64(), cap in edge_u64()) {
        prop_assert_eq!(page_range(start, bytes, cap), model_page_range(start, bytes, cap));
    }

    #[test]
    fn covered_pages_matches_model(start in edge_u64(), bytes in edge_u64(), cap in edge_u64()) {
        prop_assert_eq!(covered_pages(start, bytes, cap), model_covered_pages(start, bytes, cap));
    }

    /// Brute force on a small device: a page is in `page_range` iff the request touches it,
    /// and in `covered_pages` iff the request contains all of its bytes.
    #[test]
    fn small_requests_brute_force(start in 0u64..160, bytes in 0u64..50_000, cap in 0u64..20) {
        let first_byte = start * 512;
        let end_byte = first_byte + bytes;
        let fits = end_byte <= cap * 4096;
        let touched: Vec<u64> = (0..cap + 12)
            .filter(|p| p * 4096 < end_byte && (p + 1) * 4096 > first_byte)
            .collect();
        let covered: Vec<u64> = (0..cap + 12)
            .filter(|p| p * 4096 >= first_byte && (p + 1) * 4096 <= end_byte)
            .collect();

        match covered_pages(start, bytes, cap) {
            Ok(range) => {
                prop_assert!(fits && bytes > 0);
                prop_assert_eq!(range.clone().collect::<Vec<_>>(), covered.clone());
                prop_assert!(range.start <= range.end && range.end <= cap);
            }
            Err(IoError::Empty) => prop_assert_eq!(bytes, 0),
            Err(IoError::OutOfRange) => prop_assert!(!fits && bytes > 0),
            Err(IoError::Misaligned) => prop_assert!(false, "discard reported misaligned"),
        }

        let aligned = first_byte % 4096 == 0 && end_byte % 4096 == 0;
        match page_range(start, bytes, cap) {
            Ok(range) => {
                prop_assert!(fits && aligned && bytes > 0);
                prop_assert_eq!(range.clone().collect::<Vec<_>>(), touched.clone());
                // For an aligned request, touched and covered pages are the same.
                prop_assert_eq!(touched, covered);
            }
            Err(IoError::Empty) => prop_assert_eq!(bytes, 0),
            Err(IoError::Misaligned) => prop_assert!(!aligned && bytes > 0),
            Err(IoError::OutOfRange) => prop_assert!(aligned && !fits && bytes > 0),
        }
    }
}

#[test]
fn constants_agree() {
    assert_eq!(PAGE_SIZE, 1 << PAGE_SHIFT);
    assert_eq!(SECTORS_PER_PAGE, 1 << (PAGE_SHIFT - SECTOR_SHIFT));
}

#[test]
fn page_range_edges() {
    assert_eq!(page_range(0, 4096, 1), Ok(0..1));
    assert_eq!(page_range(8, 4096, 1), Err(IoError::OutOfRange));
    assert_eq!(page_range(0, 0, 1), Err(IoError::Empty));
    assert_eq!(page_range(1, 0, 1), Err(IoError::Empty));
    assert_eq!(page_range(0, 512, 1), Err(IoError::Misaligned));
    assert_eq!(page_range(4, 4096, 1), Err(IoError::Misaligned));
    assert_eq!(page_range(0, 4096, 0), Err(IoError::OutOfRange));
    // The highest and longest request: the page arithmetic still fits in a u64.
    let last_aligned = u64::MAX - 7;
    let longest = u64::MAX - 4095;
    assert_eq!(
        page_range(last_aligned, longest, u64::MAX),
        Ok(u64::MAX / 8..u64::MAX / 8 + u64::MAX / 4096)
    );
    assert_eq!(
        page_range(last_aligned, 4096, u64::MAX / 8),
        Err(IoError::OutOfRange)
    );
    assert_eq!(
        page_range(last_aligned, 4096, u64::MAX / 8 + 1),
        Ok(u64::MAX / 8..u64::MAX / 8 + 1)
    );
}

#[test]
fn covered_pages_edges() {
    assert_eq!(covered_pages(0, 4096, 1), Ok(0..1));
    assert_eq!(covered_pages(0, 4095, 1), Ok(0..0));
    assert_eq!(covered_pages(1, 3584, 1), Ok(1..1));
    assert_eq!(covered_pages(1, 4096, 1), Err(IoError::OutOfRange));
    assert_eq!(covered_pages(7, 512 + 4096 + 100, 3), Ok(1..2));
    assert_eq!(covered_pages(0, 0, 1), Err(IoError::Empty));
    // Start sector whose byte offset overflows u64.
    assert_eq!(
        covered_pages(u64::MAX / 512 + 1, 1, u64::MAX),
        Err(IoError::OutOfRange)
    );
    // A capacity too big to express in bytes contains every byte offset.
    assert_eq!(covered_pages(0, u64::MAX, u64::MAX), Ok(0..u64::MAX / 4096));
    assert_eq!(
        covered_pages(8, u64::MAX - 4095, u64::MAX),
        Err(IoError::OutOfRange)
    );
}

#[test]
fn parse_size_accepts() {
    assert_eq!(parse_size(b"4096"), Ok(4096));
    assert_eq!(parse_size(b"1K\n"), Ok(1024));
    assert_eq!(parse_size(b" 2m "), Ok(2 << 20));
    assert_eq!(parse_size(b"1G"), Ok(1 << 30));
    assert_eq!(parse_size(b"1t"), Ok(1 << 40));
    assert_eq!(parse_size(b"\t256M\n"), Ok(256 << 20));
    assert_eq!(parse_size(b"0"), Ok(0));
    assert_eq!(parse_size(b"007k"), Ok(7 << 10));
    assert_eq!(parse_size(b"18446744073709551615"), Ok(u64::MAX));
    assert_eq!(parse_size(b"16777215T"), Ok(16_777_215 << 40));
}

#[test]
fn parse_size_rejects() {
    let cases: &[(&[u8], ParseError)] = &[
        (b"", ParseError::Empty),
        (b"\n", ParseError::Empty),
        (b"  \t \n", ParseError::Empty),
        (b"-1", ParseError::Invalid),
        (b"+1", ParseError::Invalid),
        (b"1 K", ParseError::Invalid),
        (b"1KK", ParseError::Invalid),
        (b"K", ParseError::Invalid),
        (b"k\n", ParseError::Invalid),
        (b"1 2", ParseError::Invalid),
        (b"1.5M", ParseError::Invalid),
        (b"0x1000", ParseError::Invalid),
        (b"16E", ParseError::Invalid),
        (b"1B", ParseError::Invalid),
        (b"1KB", ParseError::Invalid),
        (b"1\n\0", ParseError::Invalid),
        (b"\xff", ParseError::Invalid),
        (b"12\xc3", ParseError::Invalid),
        (b"\xc3\xa91", ParseError::Invalid),
        ("１".as_bytes(), ParseError::Invalid), // Fullwidth digit one: not ASCII.
        (b"18446744073709551616", ParseError::Overflow),
        (b"99999999999999999999999999999", ParseError::Overflow),
        (b"16777216T", ParseError::Overflow),
        (b"17179869184G", ParseError::Overflow),
    ];
    for &(input, expected) in cases {
        assert_eq!(parse_size(input), Err(expected), "input {input:?}");
    }
}

/// Reference parser written with `std` string tools.
fn model_parse(input: &[u8]) -> Result<u64, ParseError> {
    let text = std::str::from_utf8(input).map_err(|_| ParseError::Invalid)?;
    let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
    if text.is_empty() {
        return Err(ParseError::Empty);
    }
    let (digits, multiplier): (&str, u128) = match text.chars().last() {
        Some('k' | 'K') => (&text[..text.len() - 1], 1 << 10),
        Some('m' | 'M') => (&text[..text.len() - 1], 1 << 20),
        Some('g' | 'G') => (&text[..text.len() - 1], 1 << 30),
        Some('t' | 'T') => (&text[..text.len() - 1], 1 << 40),
        _ => (text, 1),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::Invalid);
    }
    let value = digits
        .parse::<u128>()
        .ok()
        .and_then(|v| v.checked_mul(multiplier))
        .ok_or(ParseError::Overflow)?;
    u64::try_from(value).map_err(|_| ParseError::Overflow)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn parse_size_matches_model(
        input in prop::collection::vec(
            prop::sample::select(b"0123456789kKmMgGtTEeB +-\n\t\r\x0b\xff\xc3\xa9.x".to_vec()),
            0..12,
        )
    ) {
        prop_assert_eq!(parse_size(&input), model_parse(&input));
    }

    #[test]
    fn parse_size_round_trips(
        value in prop_oneof![any::<u64>(), 0u64..100_000],
        suffix in prop::sample::select(vec!["", "k", "K", "m", "M", "g", "G", "t", "T"]),
        lead in prop::sample::select(vec!["", " ", "\t", "\n "]),
        trail in prop::sample::select(vec!["", "\n", " \n", "  "]),
    ) {
        let input = format!("{lead}{value}{suffix}{trail}");
        let shift = match suffix.to_ascii_uppercase().as_str() {
            "K" => 10,
            "M" => 20,
            "G" => 30,
            "T" => 40,
            _ => 0,
        };
        let expected = u64::try_from(u128::from(value) << shift).map_err(|_| ParseError::Overflow);
        prop_assert_eq!(parse_size(input.as_bytes()), expected);
    }
}

#[test]
fn disk_pages_validates() {
    assert_eq!(disk_pages(0), Err(ParseError::Zero));
    assert_eq!(disk_pages(1), Err(ParseError::Unaligned));
    assert_eq!(disk_pages(4095), Err(ParseError::Unaligned));
    assert_eq!(disk_pages(4097), Err(ParseError::Unaligned));
    assert_eq!(disk_pages(4096), Ok(1));
    assert_eq!(disk_pages(256 << 20), Ok(65536));
    assert_eq!(disk_pages(u64::MAX - 4095), Ok(u64::MAX / 4096));
    assert_eq!(disk_pages(u64::MAX), Err(ParseError::Unaligned));
    let pages = disk_pages(u64::MAX - 4095).unwrap();
    assert!(pages.checked_mul(SECTORS_PER_PAGE).is_some());
}

proptest! {
    #[test]
    fn disk_pages_matches_model(bytes in edge_u64()) {
        let expected = if bytes == 0 {
            Err(ParseError::Zero)
        } else if bytes % 4096 != 0 {
            Err(ParseError::Unaligned)
        } else {
            Ok(bytes / 4096)
        };
        prop_assert_eq!(disk_pages(bytes), expected);
    }
}
