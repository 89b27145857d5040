//! Reference parsers of the writeback attributes, written with `std` string tools, and
//! the inputs to try them on: shared by the tests of the parsers
//! (`tests/attrs_writeback.rs`) and of `DeviceConfig` (`tests/attrs_writeback_config.rs`).

use super::{trimmed, ws};
use ghostswap_core::attrs::{
    AttrError, BackingDevRequest, IdleRequest, WritebackRequest, BACKING_DEV_PATH_MAX,
    BACKING_PATH_CAPACITY,
};
use proptest::prelude::*;

pub const INVALID: AttrError = AttrError::Invalid;

/// The input as text without surrounding ASCII whitespace, or `Invalid` if not UTF-8.
pub fn text(input: &[u8]) -> Result<&str, AttrError> {
    trimmed(input).ok_or(INVALID)
}

/// Decimal digits only, fitting a `u64`.
pub fn model_number(digits: &str) -> Result<u64, AttrError> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(INVALID);
    }
    digits.parse().map_err(|_| INVALID)
}

/// `Ok(None)` for `none`, `Ok(Some(path))` to attach.
pub fn model_backing_dev(input: &[u8]) -> Result<Option<&str>, AttrError> {
    match text(input)? {
        "none" => Ok(None),
        path if path.starts_with('/')
            && path.len() <= 4095
            && !path.chars().any(|c| c.is_ascii_control()) =>
        {
            Ok(Some(path))
        }
        _ => Err(INVALID),
    }
}

pub fn request_as_option(request: BackingDevRequest<'_>) -> Option<&str> {
    match request {
        BackingDevRequest::Attach(path) => Some(path),
        BackingDevRequest::Detach => None,
    }
}

pub fn model_mode(name: &str) -> Result<WritebackRequest, AttrError> {
    Ok(match name {
        "idle" => WritebackRequest::Idle,
        "huge" => WritebackRequest::Huge,
        "huge_idle" => WritebackRequest::HugeIdle,
        "incompressible" => WritebackRequest::Incompressible,
        "all" => WritebackRequest::All,
        _ => return Err(INVALID),
    })
}

pub fn model_writeback(input: &[u8], nr_pages: Option<u64>) -> Result<WritebackRequest, AttrError> {
    let text = text(input)?;
    let (first, last) = match text.split_once('=') {
        None => return model_mode(text),
        Some(("type", mode)) => return model_mode(mode),
        Some(("page_index", page)) => (model_number(page)?, model_number(page)?),
        Some(("page_indexes", range)) => {
            let (lo, hi) = range.split_once('-').ok_or(INVALID)?;
            (model_number(lo)?, model_number(hi)?)
        }
        Some(_) => return Err(INVALID),
    };
    let in_range = nr_pages.is_none_or(|n| last < n);
    if first <= last && in_range {
        Ok(WritebackRequest::Pages { first, last })
    } else {
        Err(INVALID)
    }
}

pub fn model_idle(input: &[u8]) -> Result<IdleRequest, AttrError> {
    match text(input)? {
        "all" => Ok(IdleRequest::All),
        age => model_number(age).map(|secs| IdleRequest::Age { secs }),
    }
}

pub fn model_enable(input: &[u8]) -> Result<bool, AttrError> {
    match text(input)? {
        "0" => Ok(false),
        "1" => Ok(true),
        _ => Err(INVALID),
    }
}

pub fn model_wmark(input: &[u8]) -> Result<u8, AttrError> {
    match model_number(text(input)?)? {
        percent @ 1..=100 => Ok(percent as u8),
        _ => Err(INVALID),
    }
}

pub fn model_limit(input: &[u8]) -> Result<u64, AttrError> {
    model_number(text(input)?)
}

/// Pieces that make up valid and nearly valid writes to the writeback attributes.
pub const PIECES: &[&str] = &[
    "0",
    "1",
    "2",
    "7",
    "8",
    "00",
    "01",
    "80",
    "90",
    "99",
    "100",
    "101",
    "255",
    "256",
    "299",
    "300",
    "86400",
    "18446744073709551615",
    "18446744073709551616",
    "-",
    "--",
    "+",
    ".",
    "x",
    "=",
    " ",
    "\n",
    "\t",
    "\r",
    "\x0b",
    "\x0c",
    "\0",
    "/",
    "/dev/vdb",
    "/dev/",
    "dev",
    "none",
    "None",
    "idle",
    "huge",
    "huge_idle",
    "incompressible",
    "all",
    "ALL",
    "type",
    "type=",
    "page_index",
    "page_index=",
    "page_indexes=",
    "page_indexes",
    "0x10",
    "\u{7f}",
    "\u{e9}",
    "\u{ff11}",
];

/// Absolute paths around both length limits, with optional whitespace around them.
pub fn long_path() -> impl Strategy<Value = Vec<u8>> {
    let lens = [
        BACKING_PATH_CAPACITY - 1,
        BACKING_PATH_CAPACITY,
        BACKING_PATH_CAPACITY + 1,
        BACKING_DEV_PATH_MAX - 1,
        BACKING_DEV_PATH_MAX,
        BACKING_DEV_PATH_MAX + 1,
    ];
    let len = prop_oneof![prop::sample::select(lens.to_vec()), 1usize..5000];
    (len, ws(), ws()).prop_map(|(len, lead, trail)| {
        format!("{lead}/{}{trail}", "d".repeat(len - 1)).into_bytes()
    })
}
