//! Sizes as people write and read them: `512M`, `1G` in, `1.5G` out.

use anyhow::{anyhow, Result};
use ghostswap_core::geometry::{self, ParseError};

/// Parses a size the way the driver's files take it: digits with an optional `K`, `M`,
/// `G` or `T` suffix (powers of 1024), e.g. `4096`, `512M`, `1G`.
pub fn parse(text: &str) -> Result<u64> {
    geometry::parse_size(text.as_bytes()).map_err(|e| {
        let why = match e {
            ParseError::Empty => "it is empty",
            ParseError::Overflow => "it is too large",
            _ => "write digits with an optional K, M, G or T suffix, e.g. 512M or 4G",
        };
        anyhow!("`{text}` is not a size: {why}")
    })
}

/// Shows `bytes` as zramctl does: `0B`, `4K`, `1.5G`, with one decimal where it is not
/// a whole number of the unit.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "K", "M", "G", "T", "P"];
    let mut unit = 0;
    let mut whole = bytes;
    while whole >= 1024 && unit + 1 < UNITS.len() {
        whole /= 1024;
        unit += 1;
    }
    if unit == 0 {
        return format!("{bytes}B");
    }
    // CAST: display only; f64 holds every size to well within a tenth of its unit.
    let value = bytes as f64 / (1u64 << (10 * unit)) as f64;
    let tenths = (value * 10.0).round() / 10.0;
    if tenths.fract() == 0.0 {
        format!("{tenths:.0}{}", UNITS[unit])
    } else {
        format!("{tenths:.1}{}", UNITS[unit])
    }
}

/// Shows `bytes` with a binary unit name, for sentences: `48.2 MiB`.
pub fn human_long(bytes: u64) -> String {
    let short = human(bytes);
    match short.strip_suffix('B') {
        Some(n) if !n.ends_with(|c: char| c.is_ascii_alphabetic()) => format!("{n} bytes"),
        _ => {
            let (n, unit) = short.split_at(short.len() - 1);
            format!("{n} {unit}iB")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes() {
        assert_eq!(human(0), "0B");
        assert_eq!(human(1023), "1023B");
        assert_eq!(human(4096), "4K");
        assert_eq!(human(3 << 29), "1.5G");
        assert_eq!(human((1 << 30) + 1), "1G");
        assert_eq!(human_long(512 << 20), "512 MiB");
        assert_eq!(human_long(100), "100 bytes");
    }

    #[test]
    fn parse_sizes() {
        assert_eq!(parse("512M").ok(), Some(512 << 20));
        let e = parse("1.5G").err().map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("`1.5G` is not a size: write digits with an optional K, M, G or T suffix, e.g. 512M or 4G")
        );
    }
}
