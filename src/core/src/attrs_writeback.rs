//! The writable attributes of writeback to a backing device.
//!
//! Names and syntax are zram's (`Documentation/admin-guide/blockdev/zram.rst`, 6.12) where
//! the meaning is the same; where ghostswap adds to them or is stricter, the item says so.
//! The parsers follow the rules of [`super`]: they take the raw bytes of a write, ignore
//! ASCII whitespace around the value, refuse anything else that is not exactly an accepted
//! form (empty, not UTF-8, signs, overflow, trailing garbage) with [`AttrError::Invalid`],
//! run in time linear in the input and never panic. Integers are decimal digits only;
//! unlike zram (`kstrtoull`), a leading `+` and, for `idle`, hexadecimal are refused.
//!
//! [`DeviceConfig`] keeps the settings in a [`WritebackConfig`] and gains one method per
//! attribute here; [`DeviceConfig::writeback`] reads them.
//!
//! # Frames, not pages
//!
//! The unit of eviction is a whole pool frame (1 to 8 pages of compressed objects, or one
//! huge page), written as it sits to as many contiguous 4 KiB blocks. So idle marks and
//! writeback work on frames: `page_index=N` writes back the frame that holds page `N`,
//! with every other page in it. The writeback limit counts 4 KiB blocks written, as zram's
//! does (where one page is one block).
//!
//! # Examples
//!
//! ```
//! use ghostswap_core::attrs::{AttrError, DeviceConfig, IdleRequest, WritebackRequest};
//!
//! let mut config = DeviceConfig::new();
//! assert_eq!(config.writeback_request(b"idle\n"), Err(AttrError::Invalid)); // Not yet.
//! config.set_backing_dev(b"/dev/vdb\n")?;
//! config.set_disksize(b"1G\n")?;
//! assert_eq!(config.set_backing_dev(b"none"), Err(AttrError::Busy));
//! assert_eq!(config.writeback().backing_dev().map(|p| p.as_str()), Some("/dev/vdb"));
//! assert_eq!(config.idle_request(b"86400\n"), Ok(IdleRequest::Age { secs: 86400 }));
//! assert_eq!(
//!     config.writeback_request(b"page_indexes=0-99\n"),
//!     Ok(WritebackRequest::Pages { first: 0, last: 99 })
//! );
//! assert_eq!(config.writeback_request(b"page_index=262144"), Err(AttrError::Invalid));
//!
//! config.set_writeback_limit(b"100\n")?;
//! config.set_writeback_limit_enable(b"1\n")?;
//! config.charge_writeback(8); // A 32 KiB frame was written.
//! assert_eq!(config.writeback().writeback_budget(), Some(92));
//! # Ok::<(), AttrError>(())
//! ```

use core::fmt::{self, Write};

use super::{parse_decimal, AttrError, DeviceConfig, PAGE_BYTES};

/// The longest path `backing_dev` parses, in bytes: `PATH_MAX - 1`, as zram.
pub const BACKING_DEV_PATH_MAX: usize = 4095;

/// The longest path a [`DeviceConfig`] keeps, in bytes.
///
/// The path is kept in a fixed buffer inside the configuration (no allocation under its
/// lock). 255 bytes hold any `/dev` name, including the long `/dev/disk/by-id/` ones.
pub const BACKING_PATH_CAPACITY: usize = 255;

/// The default `pool_high_wmark`, in percent of `mem_limit`.
///
/// Automatic writeback starts there, leaving a tenth of the limit for the stores that
/// arrive while its first writes are in flight, before stores fail with `ENOMEM`. It is
/// also zswap's default `accept_threshold_percent`.
pub const DEFAULT_POOL_HIGH_WMARK: u8 = 90;

/// The default `pool_low_wmark`, in percent of `mem_limit`.
///
/// Automatic writeback stops there: each run frees a tenth of the limit, enough to batch
/// its writes, instead of starting again after every frame.
pub const DEFAULT_POOL_LOW_WMARK: u8 = 80;

/// A write to `backing_dev`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackingDevRequest<'a> {
    /// Use the block device at this absolute path.
    Attach(&'a str),
    /// `none`: use no backing device.
    Detach,
}

/// Parses a write to `backing_dev`.
///
/// The input is `none`, or the absolute path of a block device: it starts with `/`, is
/// UTF-8 without ASCII control characters (so no NUL and no inner newline), and is at most
/// [`BACKING_DEV_PATH_MAX`] bytes long. Whether a block device is there is for the module
/// to find out when it opens the path. zram trims one trailing newline; here ASCII
/// whitespace at both ends is trimmed, as for every attribute, so a path cannot begin or
/// end with a space. zram has no `none`.
///
/// # Errors
///
/// [`AttrError::Invalid`] if the input is neither `none` nor such a path.
///
/// # Examples
///
/// ```
/// use ghostswap_core::attrs::{parse_backing_dev, AttrError, BackingDevRequest};
///
/// assert_eq!(parse_backing_dev(b"/dev/vdb\n"), Ok(BackingDevRequest::Attach("/dev/vdb")));
/// assert_eq!(parse_backing_dev(b"none"), Ok(BackingDevRequest::Detach));
/// assert_eq!(parse_backing_dev(b"vdb"), Err(AttrError::Invalid));
/// assert_eq!(parse_backing_dev(b"/dev/vdb\0"), Err(AttrError::Invalid));
/// ```
pub fn parse_backing_dev(input: &[u8]) -> Result<BackingDevRequest<'_>, AttrError> {
    let text = input.trim_ascii();
    if text == b"none" {
        return Ok(BackingDevRequest::Detach);
    }
    if text.first() != Some(&b'/')
        || text.len() > BACKING_DEV_PATH_MAX
        || text.iter().any(u8::is_ascii_control)
    {
        return Err(AttrError::Invalid);
    }
    core::str::from_utf8(text)
        .map(BackingDevRequest::Attach)
        .map_err(|_| AttrError::Invalid)
}

/// The path of the backing device, as written to `backing_dev`.
///
/// # Invariants
///
/// `bytes[..len]` is a path that [`parse_backing_dev`] accepts, at most
/// [`BACKING_PATH_CAPACITY`] bytes long; every byte after it is 0.
#[derive(Clone, PartialEq, Eq)]
pub struct BackingPath {
    bytes: [u8; BACKING_PATH_CAPACITY + 1],
    len: u8,
}

impl BackingPath {
    /// Returns `path` as a `BackingPath`, or `None` if it is longer than
    /// [`BACKING_PATH_CAPACITY`]. `path` must come from [`parse_backing_dev`].
    fn new(path: &str) -> Option<Self> {
        let len = u8::try_from(path.len()).ok()?;
        let mut bytes = [0; BACKING_PATH_CAPACITY + 1];
        bytes
            .get_mut(..path.len())?
            .copy_from_slice(path.as_bytes());
        // INVARIANT: `path` came from `parse_backing_dev`, fits, and the rest is zeroed.
        Some(Self { bytes, len })
    }

    /// Returns the path.
    pub fn as_str(&self) -> &str {
        // By the invariants these bytes were copied from a `&str`: the fallback is never
        // taken.
        core::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }

    /// Returns the path followed by a NUL byte, for the kernel's C string APIs.
    pub fn as_bytes_with_nul(&self) -> &[u8] {
        // The byte after the path is 0 by the invariants, and within the buffer.
        &self.bytes[..=usize::from(self.len)]
    }
}

impl fmt::Debug for BackingPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BackingPath").field(&self.as_str()).finish()
    }
}

/// Writes what a read of `backing_dev` shows: the path as written, or `none`, and a
/// newline, as zram (which shows the path of the open file instead, symbolic links
/// resolved).
///
/// # Errors
///
/// Returns the error of `w`, if any.
pub fn write_backing_dev(path: Option<&BackingPath>, w: &mut impl Write) -> fmt::Result {
    w.write_str(path.map_or("none", BackingPath::as_str))?;
    w.write_char('\n')
}

/// A write to `writeback`: which frames to write to the backing device.
///
/// Frames already on the backing device and same-filled pages (which have no frame) are
/// never written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WritebackRequest {
    /// `idle`: the frames marked idle (see [`IdleRequest`]).
    Idle,
    /// `huge`: the huge frames, each one page stored uncompressed.
    Huge,
    /// `huge_idle`: the huge frames marked idle.
    HugeIdle,
    /// `incompressible`: in zram, pages that no recompression algorithm could shrink.
    /// ghostswap has no recompression, so these are the pages stored uncompressed because
    /// compression did not shrink them: the same frames as [`WritebackRequest::Huge`].
    Incompressible,
    /// `all` (ghostswap's): every frame, idle or not.
    All,
    /// `page_index=N` (`first == last == N`) or `page_indexes=LO-HI` (`first..=last`):
    /// the frames that hold any of these pages.
    Pages {
        /// The first page of the range.
        first: u64,
        /// The last page of the range, included; at least `first`.
        last: u64,
    },
}

/// Parses a writeback mode name.
fn parse_writeback_mode(name: &[u8]) -> Result<WritebackRequest, AttrError> {
    match name {
        b"idle" => Ok(WritebackRequest::Idle),
        b"huge" => Ok(WritebackRequest::Huge),
        b"huge_idle" => Ok(WritebackRequest::HugeIdle),
        b"incompressible" => Ok(WritebackRequest::Incompressible),
        b"all" => Ok(WritebackRequest::All),
        _ => Err(AttrError::Invalid),
    }
}

/// Parses a write to `writeback` for a device of `nr_pages` pages, if known.
///
/// The input is one of:
///
/// - a mode: `idle`, `huge`, `huge_idle`, `incompressible` (zram 6.12's) or `all`
///   (ghostswap's), bare or as `type=<mode>` (zram 6.16's form);
/// - `page_index=N` (zram 6.12): the page `N`;
/// - `page_indexes=LO-HI` (zram 6.16): the pages `LO` to `HI`, both included, `LO <= HI`.
///
/// A write holds one request: zram 6.16's lists of several `page_index` and
/// `page_indexes` are refused. Page numbers must be below `nr_pages` when it is given.
///
/// # Errors
///
/// [`AttrError::Invalid`] if the input is none of these, or a page is out of range.
///
/// # Examples
///
/// ```
/// use ghostswap_core::attrs::{parse_writeback, AttrError, WritebackRequest};
///
/// assert_eq!(parse_writeback(b"huge_idle\n", None), Ok(WritebackRequest::HugeIdle));
/// assert_eq!(parse_writeback(b"type=idle", None), Ok(WritebackRequest::Idle));
/// assert_eq!(
///     parse_writeback(b"page_index=7", Some(8)),
///     Ok(WritebackRequest::Pages { first: 7, last: 7 })
/// );
/// assert_eq!(parse_writeback(b"page_index=8", Some(8)), Err(AttrError::Invalid));
/// assert_eq!(parse_writeback(b"page_indexes=5-4", None), Err(AttrError::Invalid));
/// ```
pub fn parse_writeback(input: &[u8], nr_pages: Option<u64>) -> Result<WritebackRequest, AttrError> {
    let text = input.trim_ascii();
    let Some(eq) = text.iter().position(|&byte| byte == b'=') else {
        return parse_writeback_mode(text);
    };
    let (key, value) = (&text[..eq], &text[eq + 1..]);
    let (first, last) = match key {
        b"type" => return parse_writeback_mode(value),
        b"page_index" => {
            let page = parse_decimal(value)?;
            (page, page)
        }
        b"page_indexes" => {
            let dash = value
                .iter()
                .position(|&byte| byte == b'-')
                .ok_or(AttrError::Invalid)?;
            let first = parse_decimal(&value[..dash])?;
            let last = parse_decimal(&value[dash + 1..])?;
            if first > last {
                return Err(AttrError::Invalid);
            }
            (first, last)
        }
        _ => return Err(AttrError::Invalid),
    };
    if nr_pages.is_some_and(|pages| last >= pages) {
        return Err(AttrError::Invalid);
    }
    Ok(WritebackRequest::Pages { first, last })
}

/// A write to `idle`: which frames to mark idle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleRequest {
    /// `all`: mark every frame idle.
    All,
    /// An age in seconds: mark the frames none of whose pages was accessed in the last
    /// `secs` seconds, and clear the mark of the others (as zram does).
    Age {
        /// The age in seconds.
        secs: u64,
    },
}

impl IdleRequest {
    /// Returns whether a frame whose pages were last accessed `idle_secs` seconds ago is
    /// to be marked idle.
    ///
    /// zram marks pages not accessed for *more* than the age; here it is *at least* the
    /// age, so that `0` marks every frame even at a clock of whole seconds.
    pub fn marks(self, idle_secs: u64) -> bool {
        match self {
            IdleRequest::All => true,
            IdleRequest::Age { secs } => idle_secs >= secs,
        }
    }
}

/// Parses a write to `idle`.
///
/// The input is `all`, or an age in seconds as decimal digits. zram accepts an age only
/// when built with `CONFIG_ZRAM_TRACK_ENTRY_ACTIME`; ghostswap always does.
///
/// # Errors
///
/// [`AttrError::Invalid`] if the input is neither `all` nor such an age.
///
/// # Examples
///
/// ```
/// use ghostswap_core::attrs::{parse_idle, AttrError, IdleRequest};
///
/// assert_eq!(parse_idle(b"all\n"), Ok(IdleRequest::All));
/// assert_eq!(parse_idle(b"86400"), Ok(IdleRequest::Age { secs: 86400 }));
/// assert_eq!(parse_idle(b"0x10"), Err(AttrError::Invalid));
/// ```
pub fn parse_idle(input: &[u8]) -> Result<IdleRequest, AttrError> {
    let text = input.trim_ascii();
    if text == b"all" {
        return Ok(IdleRequest::All);
    }
    parse_decimal(text).map(|secs| IdleRequest::Age { secs })
}

/// Parses a write to `writeback_limit`: a number of 4 KiB blocks, decimal digits that
/// fit in a `u64`.
///
/// # Errors
///
/// [`AttrError::Invalid`] if the input is not such a number.
pub fn parse_writeback_limit(input: &[u8]) -> Result<u64, AttrError> {
    parse_decimal(input.trim_ascii())
}

/// Parses a write to an on/off attribute (`writeback_limit_enable`, `promote_on_read`):
/// `1` is on, `0` off.
///
/// zram's `writeback_limit_enable` takes any number and reads non-zero as on; here other
/// numbers are refused, so that they stay free to mean something later.
///
/// # Errors
///
/// [`AttrError::Invalid`] unless the input is `0` or `1`.
pub fn parse_enable(input: &[u8]) -> Result<bool, AttrError> {
    match input.trim_ascii() {
        b"0" => Ok(false),
        b"1" => Ok(true),
        _ => Err(AttrError::Invalid),
    }
}

/// Parses a write to `pool_high_wmark` or `pool_low_wmark`: a percentage, `1` to `100`.
///
/// # Errors
///
/// [`AttrError::Invalid`] if the input is not decimal digits of a value from 1 to 100.
pub fn parse_pool_wmark(input: &[u8]) -> Result<u8, AttrError> {
    match u8::try_from(parse_decimal(input.trim_ascii())?) {
        Ok(percent @ 1..=100) => Ok(percent),
        _ => Err(AttrError::Invalid),
    }
}

/// The writeback settings of a device, part of its [`DeviceConfig`].
///
/// It changes only through the `DeviceConfig` methods of the attributes, which keep its
/// invariants; [`DeviceConfig::writeback`] reads it.
///
/// # Invariants
///
/// - `1 <= pool_low_wmark < pool_high_wmark <= 100`.
/// - `backing_dev` keeps the invariants of [`BackingPath`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WritebackConfig {
    backing_dev: Option<BackingPath>,
    writeback_limit: u64,
    writeback_limit_enable: bool,
    pool_high_wmark: u8,
    pool_low_wmark: u8,
    promote_on_read: bool,
}

impl Default for WritebackConfig {
    /// Returns the settings of a new or reset device: no backing device, no writeback
    /// limit (disabled, 0 blocks, as zram), the default watermarks, no promotion.
    fn default() -> Self {
        // INVARIANT: 1 <= 80 < 90 <= 100.
        Self {
            backing_dev: None,
            writeback_limit: 0,
            writeback_limit_enable: false,
            pool_high_wmark: DEFAULT_POOL_HIGH_WMARK,
            pool_low_wmark: DEFAULT_POOL_LOW_WMARK,
            promote_on_read: false,
        }
    }
}

impl WritebackConfig {
    /// Returns the path written to `backing_dev`, or `None` for no backing device.
    pub fn backing_dev(&self) -> Option<&BackingPath> {
        self.backing_dev.as_ref()
    }

    /// Returns `writeback_limit`: the 4 KiB blocks writeback may still write while the
    /// limit is enabled.
    pub fn writeback_limit(&self) -> u64 {
        self.writeback_limit
    }

    /// Returns `writeback_limit_enable`.
    pub fn writeback_limit_enabled(&self) -> bool {
        self.writeback_limit_enable
    }

    /// Returns the 4 KiB blocks writeback may still write, or `None` if there is no limit.
    pub fn writeback_budget(&self) -> Option<u64> {
        self.writeback_limit_enable.then_some(self.writeback_limit)
    }

    /// Returns whether writeback may write a frame of `blocks` 4 KiB blocks now.
    ///
    /// With the limit enabled, a frame is written only if it fits in what is left, so the
    /// limit is never exceeded by a frame that starts alone; zram, one block per page,
    /// stops at 0 the same way. Writes in flight together are charged after they end
    /// ([`DeviceConfig::charge_writeback`]), so they may go past it by what they write.
    pub fn allows_writeback(&self, blocks: u64) -> bool {
        self.writeback_budget()
            .is_none_or(|budget| blocks <= budget)
    }

    /// Returns `pool_high_wmark`, in percent of `mem_limit`.
    pub fn pool_high_wmark(&self) -> u8 {
        self.pool_high_wmark
    }

    /// Returns `pool_low_wmark`, in percent of `mem_limit`; always below the high mark.
    pub fn pool_low_wmark(&self) -> u8 {
        self.pool_low_wmark
    }

    /// Returns `promote_on_read`: whether a read of a page on the backing device brings
    /// it back into the pool.
    pub fn promote_on_read(&self) -> bool {
        self.promote_on_read
    }
}

/// Returns `percent` percent of `bytes`, rounded down, for `percent <= 100`.
///
/// With `bytes = 100 * q + r`, that is `q * percent + r * percent / 100` exactly; neither
/// term overflows (`q * percent <= bytes`, `r * percent < 10000`). No `u128`: the kernel
/// has no 128-bit division.
fn percent_of(bytes: u64, percent: u8) -> u64 {
    let percent = u64::from(percent);
    bytes / 100 * percent + bytes % 100 * percent / 100
}

/// The writeback attributes of a device. See the table in [`super`].
impl DeviceConfig {
    /// Returns the writeback settings.
    pub fn writeback(&self) -> &WritebackConfig {
        &self.writeback
    }

    /// Returns what a write of `input` to `backing_dev` would do, changing nothing.
    ///
    /// The module calls this, opens the path (refusing what is not a block device, as
    /// zram), then calls [`DeviceConfig::set_backing_dev`] with the same input under the
    /// same lock (which then cannot fail), and closes the device it replaced, if any.
    ///
    /// # Errors
    ///
    /// [`AttrError::Busy`] if the device is initialized (whatever the input, as zram);
    /// otherwise the errors of [`parse_backing_dev`], and [`AttrError::Invalid`] for a
    /// path longer than [`BACKING_PATH_CAPACITY`].
    pub fn check_backing_dev<'a>(
        &self,
        input: &'a [u8],
    ) -> Result<BackingDevRequest<'a>, AttrError> {
        if self.is_initialized() {
            return Err(AttrError::Busy);
        }
        let request = parse_backing_dev(input)?;
        if let BackingDevRequest::Attach(path) = request {
            if path.len() > BACKING_PATH_CAPACITY {
                return Err(AttrError::Invalid);
            }
        }
        Ok(request)
    }

    /// Handles a write to `backing_dev`: keeps the path, or forgets it for `none`.
    ///
    /// # Errors
    ///
    /// As [`DeviceConfig::check_backing_dev`]; nothing changes.
    pub fn set_backing_dev<'a>(
        &mut self,
        input: &'a [u8],
    ) -> Result<BackingDevRequest<'a>, AttrError> {
        let request = self.check_backing_dev(input)?;
        self.writeback.backing_dev = match request {
            BackingDevRequest::Attach(path) => {
                Some(BackingPath::new(path).ok_or(AttrError::Invalid)?)
            }
            BackingDevRequest::Detach => None,
        };
        Ok(request)
    }

    /// Returns the device's number of pages, if it is initialized.
    fn nr_pages(&self) -> Option<u64> {
        self.disksize.map(|bytes| bytes / PAGE_BYTES)
    }

    /// Handles a write to `writeback` and returns what to write back; the configuration
    /// does not change.
    ///
    /// The module then returns `ENODEV` if no backing device is attached and `EAGAIN` if a
    /// writeback is already running, as zram does.
    ///
    /// # Errors
    ///
    /// [`AttrError::Invalid`] if the device is not initialized (as zram, and as `compact`
    /// here), or for the errors of [`parse_writeback`] with the device's page count.
    pub fn writeback_request(&self, input: &[u8]) -> Result<WritebackRequest, AttrError> {
        let nr_pages = self.nr_pages().ok_or(AttrError::Invalid)?;
        parse_writeback(input, Some(nr_pages))
    }

    /// Handles a write to `idle` and returns which frames to mark; the configuration does
    /// not change.
    ///
    /// # Errors
    ///
    /// [`AttrError::Invalid`] if the device is not initialized (as zram), or for the
    /// errors of [`parse_idle`].
    pub fn idle_request(&self, input: &[u8]) -> Result<IdleRequest, AttrError> {
        if !self.is_initialized() {
            return Err(AttrError::Invalid);
        }
        parse_idle(input)
    }

    /// Handles a write to `writeback_limit` and returns the new limit in 4 KiB blocks.
    /// Allowed at any time, as zram; it replaces what is left of the old limit.
    ///
    /// # Errors
    ///
    /// The errors of [`parse_writeback_limit`]; nothing changes.
    pub fn set_writeback_limit(&mut self, input: &[u8]) -> Result<u64, AttrError> {
        let limit = parse_writeback_limit(input)?;
        self.writeback.writeback_limit = limit;
        Ok(limit)
    }

    /// Handles a write to `writeback_limit_enable` and returns the new setting. Allowed
    /// at any time. Enabling it with a limit of 0 stops writeback until a limit is
    /// written, as zram.
    ///
    /// # Errors
    ///
    /// The errors of [`parse_enable`]; nothing changes.
    pub fn set_writeback_limit_enable(&mut self, input: &[u8]) -> Result<bool, AttrError> {
        let enable = parse_enable(input)?;
        self.writeback.writeback_limit_enable = enable;
        Ok(enable)
    }

    /// Counts `blocks` 4 KiB blocks written by writeback against the limit, if it is
    /// enabled (down to 0, never below); with the limit disabled, nothing changes, as
    /// zram.
    pub fn charge_writeback(&mut self, blocks: u64) {
        let wb = &mut self.writeback;
        if wb.writeback_limit_enable {
            wb.writeback_limit = wb.writeback_limit.saturating_sub(blocks);
        }
    }

    /// Handles a write to `pool_high_wmark` and returns the new mark. Allowed at any time.
    ///
    /// # Errors
    ///
    /// The errors of [`parse_pool_wmark`], and [`AttrError::Invalid`] if the mark is not
    /// above `pool_low_wmark`. Nothing changes.
    pub fn set_pool_high_wmark(&mut self, input: &[u8]) -> Result<u8, AttrError> {
        let high = parse_pool_wmark(input)?;
        if high <= self.writeback.pool_low_wmark {
            return Err(AttrError::Invalid);
        }
        // INVARIANT: `low < high <= 100`, checked above and by `parse_pool_wmark`.
        self.writeback.pool_high_wmark = high;
        Ok(high)
    }

    /// Handles a write to `pool_low_wmark` and returns the new mark. Allowed at any time.
    ///
    /// # Errors
    ///
    /// The errors of [`parse_pool_wmark`], and [`AttrError::Invalid`] if the mark is not
    /// below `pool_high_wmark`. Nothing changes.
    pub fn set_pool_low_wmark(&mut self, input: &[u8]) -> Result<u8, AttrError> {
        let low = parse_pool_wmark(input)?;
        if low >= self.writeback.pool_high_wmark {
            return Err(AttrError::Invalid);
        }
        // INVARIANT: `1 <= low < high`, checked above and by `parse_pool_wmark`.
        self.writeback.pool_low_wmark = low;
        Ok(low)
    }

    /// Returns `pool_high_wmark` percent of `mem_limit` in bytes (rounded down), or `None`
    /// if there is no memory limit: automatic writeback starts when the pool's memory use
    /// reaches it.
    pub fn pool_high_wmark_bytes(&self) -> Option<u64> {
        let limit = self.mem_limit;
        (limit != 0).then(|| percent_of(limit, self.writeback.pool_high_wmark))
    }

    /// Returns `pool_low_wmark` percent of `mem_limit` in bytes (rounded down), or `None`
    /// if there is no memory limit: automatic writeback stops when the pool's memory use
    /// falls to it.
    pub fn pool_low_wmark_bytes(&self) -> Option<u64> {
        let limit = self.mem_limit;
        (limit != 0).then(|| percent_of(limit, self.writeback.pool_low_wmark))
    }

    /// Handles a write to `promote_on_read` and returns the new setting. Allowed at any
    /// time.
    ///
    /// # Errors
    ///
    /// The errors of [`parse_enable`]; nothing changes.
    pub fn set_promote_on_read(&mut self, input: &[u8]) -> Result<bool, AttrError> {
        let promote = parse_enable(input)?;
        self.writeback.promote_on_read = promote;
        Ok(promote)
    }
}
