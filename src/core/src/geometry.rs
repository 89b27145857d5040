//! Device geometry: pages, sectors, request ranges and size parsing.
//!
//! A ghostswap device is an array of 4 KiB pages. The block layer addresses it in 512-byte
//! sectors; every function here turns such caller-provided values into page indexes with
//! checked arithmetic, so a huge or malformed request yields an error, never an overflow.

use core::ops::Range;

/// Size of one device page (and of one slot) in bytes.
pub const PAGE_SIZE: usize = 4096;

/// `log2(PAGE_SIZE)`.
pub const PAGE_SHIFT: u32 = 12;

/// `log2` of the block layer's sector size (512 bytes).
pub const SECTOR_SHIFT: u32 = 9;

/// Number of 512-byte sectors in one page.
pub const SECTORS_PER_PAGE: u64 = 8;

// CAST: `PAGE_SIZE` is 4096, which fits every integer type used here.
const PAGE_BYTES: u64 = PAGE_SIZE as u64;

/// Why a block request cannot be mapped to pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoError {
    /// The start or length is not a multiple of the page size.
    Misaligned,
    /// The request reaches past the end of the device (or past `u64`).
    OutOfRange,
    /// The request has length zero.
    Empty,
}

/// Returns the pages touched by a read, write or write-zeroes request.
///
/// The request starts at `start_sector` (512-byte units) and is `bytes` long, on a device of
/// `capacity_pages` pages.
///
/// # Errors
///
/// Checked in this order:
/// - [`IoError::Empty`] if `bytes` is zero;
/// - [`IoError::Misaligned`] if `start_sector` is not a multiple of [`SECTORS_PER_PAGE`] or
///   `bytes` is not a multiple of [`PAGE_SIZE`];
/// - [`IoError::OutOfRange`] if the request ends past `capacity_pages` (including ends that
///   would not fit in a `u64`).
///
/// # Examples
///
/// ```
/// use ghostswap_core::geometry::{page_range, IoError};
///
/// assert_eq!(page_range(16, 8192, 10), Ok(2..4));
/// assert_eq!(page_range(4, 4096, 10), Err(IoError::Misaligned));
/// assert_eq!(page_range(72, 8192, 10), Err(IoError::OutOfRange));
/// ```
pub fn page_range(
    start_sector: u64,
    bytes: u64,
    capacity_pages: u64,
) -> Result<Range<u64>, IoError> {
    if bytes == 0 {
        return Err(IoError::Empty);
    }
    if start_sector & (SECTORS_PER_PAGE - 1) != 0 || bytes & (PAGE_BYTES - 1) != 0 {
        return Err(IoError::Misaligned);
    }
    let first = start_sector / SECTORS_PER_PAGE;
    let end = first
        .checked_add(bytes / PAGE_BYTES)
        .ok_or(IoError::OutOfRange)?;
    if end > capacity_pages {
        return Err(IoError::OutOfRange);
    }
    Ok(first..end)
}

/// Returns the pages that a discard request covers entirely.
///
/// The request covers the bytes `start_sector * 512 .. start_sector * 512 + bytes` of a
/// device of `capacity_pages` pages. Pages only partly covered at either edge are left out,
/// so the result may be an empty range (`start == end`); it always lies within
/// `0..=capacity_pages`.
///
/// # Errors
///
/// - [`IoError::Empty`] if `bytes` is zero;
/// - [`IoError::OutOfRange`] if any byte of the request lies past the end of the device
///   (including byte offsets that would not fit in a `u64`).
///
/// Discard does not need alignment, so [`IoError::Misaligned`] is never returned.
///
/// # Examples
///
/// ```
/// use ghostswap_core::geometry::covered_pages;
///
/// // Bytes 512..12800: page 0 and page 3 are partial, pages 1 and 2 are covered.
/// assert_eq!(covered_pages(1, 12288, 4), Ok(1..3));
/// // Inside a single page: nothing is covered.
/// assert!(covered_pages(1, 512, 4).unwrap().is_empty());
/// ```
pub fn covered_pages(
    start_sector: u64,
    bytes: u64,
    capacity_pages: u64,
) -> Result<Range<u64>, IoError> {
    if bytes == 0 {
        return Err(IoError::Empty);
    }
    let start_byte = start_sector
        .checked_mul(1 << SECTOR_SHIFT)
        .ok_or(IoError::OutOfRange)?;
    let end_byte = start_byte.checked_add(bytes).ok_or(IoError::OutOfRange)?;
    // A capacity whose byte size does not fit in a `u64` holds every `u64` byte offset.
    if let Some(capacity_bytes) = capacity_pages.checked_mul(PAGE_BYTES) {
        if end_byte > capacity_bytes {
            return Err(IoError::OutOfRange);
        }
    }
    // Round the start up and the end down to page boundaries. `start_byte / PAGE_BYTES` is
    // far below `u64::MAX`, so adding one cannot overflow.
    let first = start_byte / PAGE_BYTES + u64::from(start_byte & (PAGE_BYTES - 1) != 0);
    let end = end_byte / PAGE_BYTES;
    Ok(first..end.max(first))
}

/// Why a size string or a disk size is rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// The input is empty or holds only whitespace.
    Empty,
    /// The input is not digits with an optional `K`/`M`/`G`/`T` suffix.
    Invalid,
    /// The value does not fit in a `u64`.
    Overflow,
    /// A disk size of zero bytes.
    Zero,
    /// A disk size that is not a multiple of [`PAGE_SIZE`].
    Unaligned,
}

/// Parses a size in bytes the way zram's `disksize` and `mem_limit` attributes do.
///
/// The accepted form is decimal digits followed by at most one suffix `K`, `M`, `G` or `T`
/// (either case; powers of 1024), optionally surrounded by ASCII whitespace (so the
/// trailing newline that `echo` writes is fine). Leading zeros are allowed.
///
/// # Errors
///
/// - [`ParseError::Empty`] if nothing but whitespace is given;
/// - [`ParseError::Invalid`] for anything else that is not of the form above: signs, inner
///   spaces, several or unknown suffixes, a suffix without digits, non-ASCII bytes;
/// - [`ParseError::Overflow`] if the value does not fit in a `u64`.
///
/// # Examples
///
/// ```
/// use ghostswap_core::geometry::{parse_size, ParseError};
///
/// assert_eq!(parse_size(b"256M\n"), Ok(256 << 20));
/// assert_eq!(parse_size(b" 4096 "), Ok(4096));
/// assert_eq!(parse_size(b"1 K"), Err(ParseError::Invalid));
/// assert_eq!(parse_size(b"16777216T"), Err(ParseError::Overflow));
/// ```
pub fn parse_size(input: &[u8]) -> Result<u64, ParseError> {
    let text = input.trim_ascii();
    let (&last, rest) = text.split_last().ok_or(ParseError::Empty)?;
    let (digits, shift) = match last.to_ascii_uppercase() {
        b'K' => (rest, 10),
        b'M' => (rest, 20),
        b'G' => (rest, 30),
        b'T' => (rest, 40),
        _ => (text, 0),
    };
    if digits.is_empty() {
        return Err(ParseError::Invalid);
    }
    let mut value: u64 = 0;
    for &byte in digits {
        if !byte.is_ascii_digit() {
            return Err(ParseError::Invalid);
        }
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(byte - b'0')))
            .ok_or(ParseError::Overflow)?;
    }
    value.checked_mul(1 << shift).ok_or(ParseError::Overflow)
}

/// Validates a disk size in bytes and returns its number of pages.
///
/// The returned page count `p` also satisfies `p * SECTORS_PER_PAGE <= u64::MAX`, so the
/// capacity in sectors can be computed without overflow.
///
/// # Errors
///
/// - [`ParseError::Zero`] if `disksize_bytes` is zero;
/// - [`ParseError::Unaligned`] if it is not a multiple of [`PAGE_SIZE`].
///
/// # Examples
///
/// ```
/// use ghostswap_core::geometry::{disk_pages, parse_size, ParseError};
///
/// assert_eq!(parse_size(b"256M").and_then(disk_pages), Ok(65536));
/// assert_eq!(disk_pages(4097), Err(ParseError::Unaligned));
/// ```
pub fn disk_pages(disksize_bytes: u64) -> Result<u64, ParseError> {
    if disksize_bytes == 0 {
        return Err(ParseError::Zero);
    }
    if disksize_bytes & (PAGE_BYTES - 1) != 0 {
        return Err(ParseError::Unaligned);
    }
    Ok(disksize_bytes / PAGE_BYTES)
}
