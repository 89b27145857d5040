//! The writable sysfs attributes: what a write means and when it is allowed.
//!
//! Each `parse_*` function takes the raw bytes a user wrote to one attribute and returns
//! its value or [`AttrError::Invalid`]. The bytes may be anything: empty, not UTF-8, very
//! long; every parser runs in time linear in the input and never panics. ASCII whitespace
//! (as [`u8::is_ascii_whitespace`] defines it) around the value is ignored, so the newline
//! that `echo` writes is fine.
//!
//! The names and syntax are zram's wherever the meaning is the same:
//!
//! | attribute          | accepted input                               | after init |
//! |--------------------|----------------------------------------------|------------|
//! | `disksize`         | a size, see [`parse_disksize`]               | `Busy`     |
//! | `comp_algorithm`   | `lz4` or `zstd`                              | `Busy`     |
//! | `algorithm_params` | `algo=<name> level=<n>`, both optional       | `Busy`     |
//! | `mem_limit`        | a size, `0` for no limit                     | allowed    |
//! | `reset`            | an unsigned integer, non-zero resets         | allowed    |
//! | `compact`          | `1`                                          | allowed    |
//!
//! The attributes of writeback to a backing device are parsed in [`writeback`], whose
//! items are re-exported here:
//!
//! | attribute                | accepted input                               | when        |
//! |--------------------------|----------------------------------------------|-------------|
//! | `backing_dev`            | an absolute path, or `none`                  | before init |
//! | `writeback`              | a mode, `page_index=N`, `page_indexes=LO-HI` | after init  |
//! | `idle`                   | `all`, or an age in seconds                  | after init  |
//! | `writeback_limit`        | a number of 4 KiB blocks                     | any time    |
//! | `writeback_limit_enable` | `0` or `1`                                   | any time    |
//! | `pool_high_wmark`        | a percentage of `mem_limit`, `1` to `100`    | any time    |
//! | `pool_low_wmark`         | a percentage of `mem_limit`, `1` to `100`    | any time    |
//! | `promote_on_read`        | `0` or `1`                                   | any time    |
//!
//! [`DeviceConfig`] ties them together: it holds what the attributes configured, applies a
//! write only if it is valid and allowed in the current state, and leaves itself unchanged
//! otherwise. The module keeps it inside the lock that also protects the device, and holds
//! that lock from the check to the change.
//!
//! # Examples
//!
//! ```
//! use ghostswap_core::attrs::{Algorithm, AttrError, DeviceConfig};
//!
//! let mut config = DeviceConfig::new();
//! assert_eq!(config.set_algorithm(b"zstd\n"), Ok(Algorithm::Zstd));
//! assert_eq!(config.set_params(b"algo=zstd level=9\n"), Ok(()));
//! assert_eq!(config.set_disksize(b"1G\n"), Ok(1 << 30));
//! assert!(config.is_initialized());
//! assert_eq!(config.set_algorithm(b"lz4\n"), Err(AttrError::Busy));
//! assert_eq!(config.reset(b"1\n", false), Ok(true));
//! assert_eq!(config, DeviceConfig::new());
//! ```

use core::fmt::{self, Write};

use super::geometry::{disk_pages, parse_size, ParseError, PAGE_SIZE};

// A child module, not a sibling: the kernel module includes the core's files one by one
// (`src/gscore.rs`), and a path relative to this file works in both builds.
#[path = "attrs_writeback.rs"]
pub mod writeback;

pub use writeback::{
    parse_backing_dev, parse_enable, parse_idle, parse_pool_wmark, parse_writeback,
    parse_writeback_limit, write_backing_dev, BackingDevRequest, BackingPath, IdleRequest,
    WritebackConfig, WritebackRequest, BACKING_DEV_PATH_MAX, BACKING_PATH_CAPACITY,
    DEFAULT_POOL_HIGH_WMARK, DEFAULT_POOL_LOW_WMARK,
};

/// Largest accepted `disksize`, in bytes: 1 TiB.
///
/// The slot table of a device is allocated in full when `disksize` is written, before any
/// page is stored: 8 bytes per page today, so 2 GiB of table for 1 TiB of device. The cap
/// keeps that allocation within what a machine can be expected to have, so a typo such as
/// `1000T` fails with `EINVAL` instead of an allocation that cannot succeed or, worse,
/// does.
pub const MAX_DISKSIZE: u64 = 1 << 40;

/// The `zstd` compression level used when none is configured.
///
/// It is zstd's own default (`zstd_default_clevel()`).
pub const ZSTD_DEFAULT_LEVEL: i32 = 3;

/// The lowest `zstd` level accepted by `algorithm_params`.
pub const ZSTD_MIN_LEVEL: i32 = 1;

/// The highest `zstd` level accepted by `algorithm_params`.
pub const ZSTD_MAX_LEVEL: i32 = 22;

// CAST: `PAGE_SIZE` is 4096, which fits in a `u64`.
const PAGE_BYTES: u64 = PAGE_SIZE as u64;

/// Why a write to an attribute is refused. A refused write changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrError {
    /// The input is malformed or out of range (the module returns `EINVAL`).
    Invalid,
    /// The input may be fine, but the attribute cannot be changed in the device's current
    /// state (the module returns `EBUSY`).
    Busy,
}

impl From<ParseError> for AttrError {
    fn from(_: ParseError) -> Self {
        AttrError::Invalid
    }
}

/// A compression algorithm the device can use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Algorithm {
    /// LZ4: fast, the default. Takes no level.
    #[default]
    Lz4,
    /// Zstandard: slower, compresses better. Takes a level.
    Zstd,
}

impl Algorithm {
    /// Every algorithm, in the order `comp_algorithm` lists them.
    pub const ALL: [Algorithm; 2] = [Algorithm::Lz4, Algorithm::Zstd];

    /// Returns the name used in `comp_algorithm` and `algorithm_params`.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Lz4 => "lz4",
            Algorithm::Zstd => "zstd",
        }
    }

    /// Returns the algorithm called exactly `name` (case-sensitive, no whitespace).
    pub fn from_name(name: &[u8]) -> Option<Self> {
        Algorithm::ALL
            .into_iter()
            .find(|algo| algo.name().as_bytes() == name)
    }
}

/// Parses a write to `disksize` and returns the size in bytes.
///
/// The input is a size as [`parse_size`] reads it (digits with an optional `K`, `M`, `G`
/// or `T` suffix). Unlike zram, which rounds the size up to whole pages, a size that is not
/// a multiple of [`PAGE_SIZE`] is refused, so the device is never bigger than asked for.
///
/// # Errors
///
/// [`AttrError::Invalid`] if the input is not a size, or the size is zero, not a multiple
/// of [`PAGE_SIZE`], or larger than [`MAX_DISKSIZE`].
///
/// # Examples
///
/// ```
/// use ghostswap_core::attrs::{parse_disksize, AttrError};
///
/// assert_eq!(parse_disksize(b"512M\n"), Ok(512 << 20));
/// assert_eq!(parse_disksize(b"1.5G"), Err(AttrError::Invalid));
/// assert_eq!(parse_disksize(b"4097"), Err(AttrError::Invalid));
/// ```
pub fn parse_disksize(input: &[u8]) -> Result<u64, AttrError> {
    let bytes = parse_size(input)?;
    disk_pages(bytes)?;
    if bytes > MAX_DISKSIZE {
        return Err(AttrError::Invalid);
    }
    Ok(bytes)
}

/// Parses a write to `comp_algorithm`.
///
/// The input is an algorithm name, exactly as [`Algorithm::name`] spells it (`LZ4` is not
/// `lz4`, as in zram), optionally surrounded by ASCII whitespace.
///
/// # Errors
///
/// [`AttrError::Invalid`] if the input is not the name of an [`Algorithm`].
///
/// # Examples
///
/// ```
/// use ghostswap_core::attrs::{parse_algorithm, Algorithm, AttrError};
///
/// assert_eq!(parse_algorithm(b"zstd\n"), Ok(Algorithm::Zstd));
/// assert_eq!(parse_algorithm(b"LZ4"), Err(AttrError::Invalid));
/// ```
pub fn parse_algorithm(input: &[u8]) -> Result<Algorithm, AttrError> {
    Algorithm::from_name(input.trim_ascii()).ok_or(AttrError::Invalid)
}

/// Writes what a read of `comp_algorithm` shows: every algorithm, the current one in
/// brackets.
///
/// The text is zram's, byte for byte: each name followed by one space, then a newline,
/// for example `"lz4 [zstd] \n"`.
///
/// # Errors
///
/// Returns the error of `w`, if any.
///
/// # Examples
///
/// ```
/// use ghostswap_core::attrs::{write_algorithms, Algorithm};
///
/// let mut text = String::new();
/// write_algorithms(Algorithm::Lz4, &mut text).unwrap();
/// assert_eq!(text, "[lz4] zstd \n");
/// ```
pub fn write_algorithms(current: Algorithm, w: &mut impl Write) -> fmt::Result {
    for algo in Algorithm::ALL {
        if algo == current {
            write!(w, "[{}] ", algo.name())?;
        } else {
            write!(w, "{} ", algo.name())?;
        }
    }
    w.write_char('\n')
}

/// The parameters written to `algorithm_params`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlgorithmParams {
    /// The algorithm the parameters are for (`algo=`); `None` means the configured one.
    pub algo: Option<Algorithm>,
    /// The compression level (`level=`); `None` means the algorithm's default.
    pub level: Option<i32>,
}

/// Checks that `algo` accepts the compression level `level`.
///
/// `None` (the default level) is accepted by every algorithm. `zstd` accepts the levels
/// [`ZSTD_MIN_LEVEL`]`..=`[`ZSTD_MAX_LEVEL`]; zstd's negative "fast" levels and level 0
/// (which zstd reads as "default") are refused, so each accepted level means one thing.
/// `lz4` accepts no level: the kernel's LZ4 backend reads it as an acceleration factor,
/// which trades away the compression ratio this device exists for.
///
/// # Errors
///
/// [`AttrError::Invalid`] if `algo` does not accept `level`.
pub fn check_level(algo: Algorithm, level: Option<i32>) -> Result<(), AttrError> {
    match (algo, level) {
        (_, None) => Ok(()),
        (Algorithm::Zstd, Some(level)) if (ZSTD_MIN_LEVEL..=ZSTD_MAX_LEVEL).contains(&level) => {
            Ok(())
        }
        _ => Err(AttrError::Invalid),
    }
}

/// Parses an unsigned decimal integer: one or more ASCII digits (leading zeros allowed,
/// no sign, no whitespace) whose value fits in a `u64`.
///
/// Every integer attribute uses it, so they all accept and refuse the same forms.
/// Unlike the kernel's `kstrtoull`, a leading `+` is refused.
///
/// # Errors
///
/// [`AttrError::Invalid`] if `digits` is empty, holds a byte that is not an ASCII digit,
/// or the value does not fit in a `u64`.
fn parse_decimal(digits: &[u8]) -> Result<u64, AttrError> {
    if digits.is_empty() {
        return Err(AttrError::Invalid);
    }
    let mut value: u64 = 0;
    for &byte in digits {
        if !byte.is_ascii_digit() {
            return Err(AttrError::Invalid);
        }
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(byte - b'0')))
            .ok_or(AttrError::Invalid)?;
    }
    Ok(value)
}

/// Parses a compression level: decimal digits only, at most [`ZSTD_MAX_LEVEL`].
fn parse_level(value: &[u8]) -> Result<i32, AttrError> {
    let level = i32::try_from(parse_decimal(value)?).map_err(|_| AttrError::Invalid)?;
    if level > ZSTD_MAX_LEVEL {
        return Err(AttrError::Invalid);
    }
    Ok(level)
}

/// Parses a write to `algorithm_params`.
///
/// The input is zram's: `key=value` pairs separated by ASCII whitespace, in any order.
/// The keys are `algo`, whose value is an algorithm name as in [`parse_algorithm`], and
/// `level`, whose value is decimal digits. Both are optional; an input with no pair at all
/// is accepted and means "default parameters", as in zram. zram's `priority` and `dict`
/// keys are not supported.
///
/// If `algo` is given, the level is checked against it with [`check_level`]; otherwise
/// only levels that no algorithm accepts are refused here, and
/// [`DeviceConfig::set_params`] checks the rest against the configured algorithm.
///
/// # Errors
///
/// [`AttrError::Invalid`] for an unknown or repeated key, a pair without `=` or with an
/// empty value, an unknown algorithm, a level that is not digits, or a level the algorithm
/// does not accept.
///
/// # Examples
///
/// ```
/// use ghostswap_core::attrs::{parse_algorithm_params, Algorithm, AlgorithmParams, AttrError};
///
/// assert_eq!(
///     parse_algorithm_params(b"algo=zstd level=9\n"),
///     Ok(AlgorithmParams { algo: Some(Algorithm::Zstd), level: Some(9) })
/// );
/// assert_eq!(parse_algorithm_params(b"level="), Err(AttrError::Invalid));
/// assert_eq!(parse_algorithm_params(b"algo=lz4 level=1"), Err(AttrError::Invalid));
/// ```
pub fn parse_algorithm_params(input: &[u8]) -> Result<AlgorithmParams, AttrError> {
    let mut params = AlgorithmParams::default();
    let pairs = input
        .split(u8::is_ascii_whitespace)
        .filter(|pair| !pair.is_empty());
    for pair in pairs {
        let mut parts = pair.splitn(2, |&byte| byte == b'=');
        let key = parts.next().ok_or(AttrError::Invalid)?;
        let value = parts.next().ok_or(AttrError::Invalid)?;
        if value.is_empty() {
            return Err(AttrError::Invalid);
        }
        let first = match key {
            b"algo" => {
                let algo = Algorithm::from_name(value).ok_or(AttrError::Invalid)?;
                params.algo.replace(algo).is_none()
            }
            b"level" => params.level.replace(parse_level(value)?).is_none(),
            _ => return Err(AttrError::Invalid),
        };
        if !first {
            return Err(AttrError::Invalid);
        }
    }
    match params.algo {
        Some(algo) => check_level(algo, params.level)?,
        // No algorithm accepts level 0; higher levels were refused by `parse_level`.
        None if params.level == Some(0) => return Err(AttrError::Invalid),
        None => {}
    }
    Ok(params)
}

/// Parses a write to `mem_limit` and returns the limit in bytes, `0` meaning no limit.
///
/// The input is a size as [`parse_size`] reads it. As in zram, a limit that is not a
/// multiple of [`PAGE_SIZE`] is rounded up to one.
///
/// # Errors
///
/// [`AttrError::Invalid`] if the input is not a size, or rounding it up does not fit in a
/// `u64`.
///
/// # Examples
///
/// ```
/// use ghostswap_core::attrs::parse_mem_limit;
///
/// assert_eq!(parse_mem_limit(b"1G\n"), Ok(1 << 30));
/// assert_eq!(parse_mem_limit(b"1"), Ok(4096));
/// assert_eq!(parse_mem_limit(b"0"), Ok(0));
/// ```
pub fn parse_mem_limit(input: &[u8]) -> Result<u64, AttrError> {
    parse_size(input)?
        .checked_next_multiple_of(PAGE_BYTES)
        .ok_or(AttrError::Invalid)
}

/// Parses a write to `reset` and returns whether the device is to be reset.
///
/// The input is an unsigned decimal integer (digits only, no sign) that fits in a `u64`;
/// any non-zero value asks for a reset, `0` is accepted and does nothing. (zram 6.12
/// refuses `0` with `EINVAL`; a module that wants that maps `Ok(false)` to it.) Whether a
/// reset may happen now is decided by [`reset_allowed`].
///
/// # Errors
///
/// [`AttrError::Invalid`] if the input is not such an integer.
///
/// # Examples
///
/// ```
/// use ghostswap_core::attrs::{parse_reset, AttrError};
///
/// assert_eq!(parse_reset(b"1\n"), Ok(true));
/// assert_eq!(parse_reset(b"0"), Ok(false));
/// assert_eq!(parse_reset(b"-1"), Err(AttrError::Invalid));
/// ```
pub fn parse_reset(input: &[u8]) -> Result<bool, AttrError> {
    Ok(parse_decimal(input.trim_ascii())? != 0)
}

/// Decides whether a device may be reset now.
///
/// A reset frees every stored page, so it is refused while the block device is open (for
/// example, in use as swap), as zram does.
///
/// # Errors
///
/// [`AttrError::Busy`] if `is_open`.
pub fn reset_allowed(is_open: bool) -> Result<(), AttrError> {
    if is_open {
        Err(AttrError::Busy)
    } else {
        Ok(())
    }
}

/// Parses a write to `compact`.
///
/// zram compacts on any write; here only `1` is accepted, so that a write meant for
/// another attribute does not silently start a compaction, and other values stay free to
/// mean something later.
///
/// # Errors
///
/// [`AttrError::Invalid`] unless the input is `1`, optionally surrounded by ASCII
/// whitespace.
pub fn parse_compact(input: &[u8]) -> Result<(), AttrError> {
    if input.trim_ascii() == b"1" {
        Ok(())
    } else {
        Err(AttrError::Invalid)
    }
}

/// What the writable attributes configured for one device.
///
/// A device is *initialized* once `disksize` has been written, as in zram: from then on its
/// size, algorithm and algorithm parameters are fixed until a reset. Every `set_*` method
/// takes the raw bytes written to its attribute.
///
/// # Invariants
///
/// - A method that returns an error leaves the configuration unchanged.
/// - `disksize`, if set, is a value [`parse_disksize`] accepts.
/// - `check_level(algorithm, level)` holds: in particular `lz4` never has a level.
/// - `mem_limit` is a multiple of [`PAGE_SIZE`].
/// - `writeback` keeps the invariants of [`WritebackConfig`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceConfig {
    disksize: Option<u64>,
    algorithm: Algorithm,
    level: Option<i32>,
    mem_limit: u64,
    writeback: WritebackConfig,
}

impl DeviceConfig {
    /// Returns the configuration of a new or reset device: not initialized, `lz4`, the
    /// default level, no memory limit, and [`WritebackConfig::default`].
    pub fn new() -> Self {
        // INVARIANT: no disksize, `lz4` with the default level passes `check_level`, and
        // `WritebackConfig::default` keeps its own invariants.
        Self::default()
    }

    /// Returns `true` once `disksize` has been written (and until a reset).
    pub fn is_initialized(&self) -> bool {
        self.disksize.is_some()
    }

    /// Returns the size of the device in bytes, if it is initialized.
    pub fn disksize(&self) -> Option<u64> {
        self.disksize
    }

    /// Returns the configured compression algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Returns the configured compression level; `None` means the algorithm's default.
    pub fn level(&self) -> Option<i32> {
        self.level
    }

    /// Returns the level to pass to the compressor: the configured one, or
    /// [`ZSTD_DEFAULT_LEVEL`] for `zstd` if none is configured, or `None` for `lz4`.
    pub fn effective_level(&self) -> Option<i32> {
        match self.algorithm {
            Algorithm::Lz4 => None,
            Algorithm::Zstd => Some(self.level.unwrap_or(ZSTD_DEFAULT_LEVEL)),
        }
    }

    /// Returns the memory limit in bytes; `0` means no limit.
    pub fn mem_limit(&self) -> u64 {
        self.mem_limit
    }

    /// Returns the size a write of `input` to `disksize` would set, changing nothing.
    ///
    /// The module calls this, allocates the device for that size, then calls
    /// [`DeviceConfig::set_disksize`] with the same input under the same lock (which then
    /// cannot fail), so a failed allocation leaves the device uninitialized.
    ///
    /// # Errors
    ///
    /// [`AttrError::Busy`] if the device is initialized (whatever the input); otherwise
    /// the errors of [`parse_disksize`].
    pub fn check_disksize(&self, input: &[u8]) -> Result<u64, AttrError> {
        if self.is_initialized() {
            return Err(AttrError::Busy);
        }
        parse_disksize(input)
    }

    /// Handles a write to `disksize`: sets the size, which initializes the device, and
    /// returns it in bytes.
    ///
    /// # Errors
    ///
    /// As [`DeviceConfig::check_disksize`]; nothing changes.
    pub fn set_disksize(&mut self, input: &[u8]) -> Result<u64, AttrError> {
        let bytes = self.check_disksize(input)?;
        // INVARIANT: `parse_disksize` accepted `bytes`.
        self.disksize = Some(bytes);
        Ok(bytes)
    }

    /// Handles a write to `comp_algorithm` and returns the algorithm now configured.
    ///
    /// Choosing a different algorithm drops the configured level, which belonged to the
    /// old one; writing the current algorithm again keeps it. (zram keeps parameters across
    /// algorithm changes; here they would not be valid for the new algorithm.)
    ///
    /// # Errors
    ///
    /// [`AttrError::Busy`] if the device is initialized (whatever the input); otherwise
    /// the errors of [`parse_algorithm`]. Nothing changes.
    pub fn set_algorithm(&mut self, input: &[u8]) -> Result<Algorithm, AttrError> {
        if self.is_initialized() {
            return Err(AttrError::Busy);
        }
        let algorithm = parse_algorithm(input)?;
        if algorithm != self.algorithm {
            // INVARIANT: the default level is valid for every algorithm.
            self.level = None;
            self.algorithm = algorithm;
        }
        Ok(algorithm)
    }

    /// Handles a write to `algorithm_params`.
    ///
    /// The parameters replace the configured ones as a whole, as in zram: a write without
    /// `level=` sets the default level. If `algo=` is given, it must name the configured
    /// algorithm (as in zram, it selects which configured algorithm the parameters are for;
    /// it does not change the algorithm).
    ///
    /// # Errors
    ///
    /// [`AttrError::Busy`] if the device is initialized (whatever the input); otherwise
    /// [`AttrError::Invalid`] for the errors of [`parse_algorithm_params`], for an `algo=`
    /// that is not the configured algorithm, or for a level that the configured algorithm
    /// does not accept (see [`check_level`]). Nothing changes.
    pub fn set_params(&mut self, input: &[u8]) -> Result<(), AttrError> {
        if self.is_initialized() {
            return Err(AttrError::Busy);
        }
        let params = parse_algorithm_params(input)?;
        if params.algo.is_some_and(|algo| algo != self.algorithm) {
            return Err(AttrError::Invalid);
        }
        check_level(self.algorithm, params.level)?;
        // INVARIANT: `check_level` accepted the level for the configured algorithm.
        self.level = params.level;
        Ok(())
    }

    /// Handles a write to `mem_limit` and returns the new limit in bytes. Allowed at any
    /// time.
    ///
    /// # Errors
    ///
    /// The errors of [`parse_mem_limit`]; nothing changes.
    pub fn set_mem_limit(&mut self, input: &[u8]) -> Result<u64, AttrError> {
        let limit = parse_mem_limit(input)?;
        // INVARIANT: `parse_mem_limit` returns multiples of the page size.
        self.mem_limit = limit;
        Ok(limit)
    }

    /// Handles a write to `reset` on a device that is open (`is_open`) or not.
    ///
    /// If the input asks for a reset (see [`parse_reset`]) and [`reset_allowed`] allows it,
    /// the configuration returns to [`DeviceConfig::new`] and `Ok(true)` is returned; the
    /// module then frees the device's pages and closes the backing device, if any, as zram
    /// does (every writeback setting returns to its default). A write of `0` returns
    /// `Ok(false)` and changes nothing, whether the device is open or not.
    ///
    /// # Errors
    ///
    /// [`AttrError::Invalid`] for the errors of [`parse_reset`], then [`AttrError::Busy`]
    /// if the device is open. Nothing changes.
    pub fn reset(&mut self, input: &[u8], is_open: bool) -> Result<bool, AttrError> {
        if !parse_reset(input)? {
            return Ok(false);
        }
        reset_allowed(is_open)?;
        *self = Self::new();
        Ok(true)
    }
}
