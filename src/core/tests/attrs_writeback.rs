//! Tests of the writeback attributes (`attrs::writeback`): every parser against a
//! reference parser on arbitrary bytes, zram-style inputs, and random `DeviceConfig`
//! operation sequences against a model.

use attrs_support::{grammar_input, trimmed, ws};
use ghostswap_core::attrs::{
    parse_backing_dev, parse_disksize, parse_enable, parse_idle, parse_mem_limit, parse_pool_wmark,
    parse_reset, parse_writeback, parse_writeback_limit, write_backing_dev, AttrError,
    BackingDevRequest, DeviceConfig, IdleRequest, WritebackRequest, BACKING_DEV_PATH_MAX,
    BACKING_PATH_CAPACITY, DEFAULT_POOL_HIGH_WMARK, DEFAULT_POOL_LOW_WMARK,
};
use proptest::prelude::*;

mod attrs_support;

const INVALID: AttrError = AttrError::Invalid;
const BUSY: AttrError = AttrError::Busy;

// Reference parsers, written with `std` string tools.

/// The input as text without surrounding ASCII whitespace, or `Invalid` if not UTF-8.
fn text(input: &[u8]) -> Result<&str, AttrError> {
    trimmed(input).ok_or(INVALID)
}

/// Decimal digits only, fitting a `u64`.
fn model_number(digits: &str) -> Result<u64, AttrError> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(INVALID);
    }
    digits.parse().map_err(|_| INVALID)
}

/// `Ok(None)` for `none`, `Ok(Some(path))` to attach.
fn model_backing_dev(input: &[u8]) -> Result<Option<&str>, AttrError> {
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

fn request_as_option(request: BackingDevRequest<'_>) -> Option<&str> {
    match request {
        BackingDevRequest::Attach(path) => Some(path),
        BackingDevRequest::Detach => None,
    }
}

fn model_mode(name: &str) -> Result<WritebackRequest, AttrError> {
    Ok(match name {
        "idle" => WritebackRequest::Idle,
        "huge" => WritebackRequest::Huge,
        "huge_idle" => WritebackRequest::HugeIdle,
        "incompressible" => WritebackRequest::Incompressible,
        "all" => WritebackRequest::All,
        _ => return Err(INVALID),
    })
}

fn model_writeback(input: &[u8], nr_pages: Option<u64>) -> Result<WritebackRequest, AttrError> {
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

fn model_idle(input: &[u8]) -> Result<IdleRequest, AttrError> {
    match text(input)? {
        "all" => Ok(IdleRequest::All),
        age => model_number(age).map(|secs| IdleRequest::Age { secs }),
    }
}

fn model_enable(input: &[u8]) -> Result<bool, AttrError> {
    match text(input)? {
        "0" => Ok(false),
        "1" => Ok(true),
        _ => Err(INVALID),
    }
}

fn model_wmark(input: &[u8]) -> Result<u8, AttrError> {
    match model_number(text(input)?)? {
        percent @ 1..=100 => Ok(percent as u8),
        _ => Err(INVALID),
    }
}

fn model_limit(input: &[u8]) -> Result<u64, AttrError> {
    model_number(text(input)?)
}

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

/// Pieces that make up valid and nearly valid writes to the writeback attributes.
const PIECES: &[&str] = &[
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
fn long_path() -> impl Strategy<Value = Vec<u8>> {
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

// `DeviceConfig` against a model.

#[derive(Debug, Clone)]
enum Op {
    Disksize(Vec<u8>),
    MemLimit(Vec<u8>),
    Reset(Vec<u8>, bool),
    BackingDev(Vec<u8>),
    Writeback(Vec<u8>),
    Idle(Vec<u8>),
    Limit(Vec<u8>),
    LimitEnable(Vec<u8>),
    Charge(u64),
    HighWmark(Vec<u8>),
    LowWmark(Vec<u8>),
    PromoteOnRead(Vec<u8>),
}

/// The model of a `DeviceConfig`'s size, memory limit and writeback settings. Sizes,
/// memory limits and resets go through the library's parsers, tested in `tests/attrs.rs`.
#[derive(Debug, Clone, PartialEq)]
struct Model {
    disksize: Option<u64>,
    mem_limit: u64,
    backing_dev: Option<String>,
    limit: u64,
    limit_enable: bool,
    high: u8,
    low: u8,
    promote: bool,
}

impl Default for Model {
    fn default() -> Self {
        Model {
            disksize: None,
            mem_limit: 0,
            backing_dev: None,
            limit: 0,
            limit_enable: false,
            high: 90,
            low: 80,
            promote: false,
        }
    }
}

impl Model {
    /// Applies `op` and returns what the config's method must return, as `Ok(())` or the
    /// error (the values returned on success are checked separately).
    fn apply(&mut self, op: &Op) -> Result<(), AttrError> {
        let initialized = self.disksize.is_some();
        let nr_pages = self.disksize.map(|bytes| bytes / 4096);
        match op {
            Op::Disksize(_) if initialized => return Err(BUSY),
            Op::Disksize(input) => self.disksize = Some(parse_disksize(input)?),
            Op::MemLimit(input) => self.mem_limit = parse_mem_limit(input)?,
            Op::Reset(input, is_open) => {
                if parse_reset(input)? {
                    if *is_open {
                        return Err(BUSY);
                    }
                    *self = Model::default();
                }
            }
            Op::BackingDev(_) if initialized => return Err(BUSY),
            Op::BackingDev(input) => match model_backing_dev(input)? {
                Some(path) if path.len() > 255 => return Err(INVALID),
                path => self.backing_dev = path.map(str::to_owned),
            },
            Op::Writeback(input) => {
                nr_pages.ok_or(INVALID)?;
                model_writeback(input, nr_pages)?;
            }
            Op::Idle(input) => {
                nr_pages.ok_or(INVALID)?;
                model_idle(input)?;
            }
            Op::Limit(input) => self.limit = model_limit(input)?,
            Op::LimitEnable(input) => self.limit_enable = model_enable(input)?,
            Op::Charge(blocks) => {
                if self.limit_enable {
                    self.limit = self.limit.saturating_sub(*blocks);
                }
            }
            Op::HighWmark(input) => match model_wmark(input)? {
                high if high > self.low => self.high = high,
                _ => return Err(INVALID),
            },
            Op::LowWmark(input) => match model_wmark(input)? {
                low if low < self.high => self.low = low,
                _ => return Err(INVALID),
            },
            Op::PromoteOnRead(input) => self.promote = model_enable(input)?,
        }
        Ok(())
    }
}

/// Applies `op` to `config` and returns its result as `Ok(())` or the error, checking
/// the value returned on success against the config and the model's parsers.
fn apply(config: &mut DeviceConfig, op: &Op) -> Result<(), AttrError> {
    let nr_pages = config.disksize().map(|bytes| bytes / 4096);
    match op {
        Op::Disksize(input) => config.set_disksize(input).map(drop),
        Op::MemLimit(input) => config.set_mem_limit(input).map(drop),
        Op::Reset(input, is_open) => config.reset(input, *is_open).map(drop),
        Op::BackingDev(input) => {
            let checked = config.check_backing_dev(input);
            let set = config.set_backing_dev(input);
            assert_eq!(set, checked);
            set.map(|request| {
                let path = config.writeback().backing_dev().map(|p| p.as_str());
                assert_eq!(path, request_as_option(request));
            })
        }
        Op::Writeback(input) => config.writeback_request(input).map(|request| {
            assert_eq!(Ok(request), model_writeback(input, nr_pages));
        }),
        Op::Idle(input) => config.idle_request(input).map(|request| {
            assert_eq!(Ok(request), model_idle(input));
        }),
        Op::Limit(input) => config.set_writeback_limit(input).map(|limit| {
            assert_eq!(limit, config.writeback().writeback_limit());
        }),
        Op::LimitEnable(input) => config.set_writeback_limit_enable(input).map(|enable| {
            assert_eq!(enable, config.writeback().writeback_limit_enabled());
        }),
        Op::Charge(blocks) => {
            config.charge_writeback(*blocks);
            Ok(())
        }
        Op::HighWmark(input) => config.set_pool_high_wmark(input).map(|high| {
            assert_eq!(high, config.writeback().pool_high_wmark());
        }),
        Op::LowWmark(input) => config.set_pool_low_wmark(input).map(|low| {
            assert_eq!(low, config.writeback().pool_low_wmark());
        }),
        Op::PromoteOnRead(input) => config.set_promote_on_read(input).map(|promote| {
            assert_eq!(promote, config.writeback().promote_on_read());
        }),
    }
}

/// Inputs for one attribute: mostly valid ones, some garbage.
fn attr_input(valid: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    attrs_support::attr_input(valid, PIECES)
}

fn op() -> impl Strategy<Value = Op> {
    let wmarks = &[
        "1", "2", "50", "79", "80", "81", "89", "90", "91", "99", "100", "101", "0",
    ];
    prop_oneof![
        1 => attr_input(&["32K", "1M", "4096", "4097"]).prop_map(Op::Disksize),
        1 => attr_input(&["0", "100", "1G", "18446744073709547520"]).prop_map(Op::MemLimit),
        1 => (attr_input(&["1", "0"]), any::<bool>()).prop_map(|(i, open)| Op::Reset(i, open)),
        2 => prop_oneof![
            attr_input(&["/dev/vdb", "none", "/dev/disk/by-id/x", "vdb"]),
            long_path(),
        ]
        .prop_map(Op::BackingDev),
        2 => attr_input(&[
            "idle", "huge", "huge_idle", "incompressible", "all", "type=huge", "page_index=7",
            "page_index=8", "page_index=255", "page_index=256", "page_indexes=0-7",
            "page_indexes=3-255", "page_indexes=9-8",
        ])
        .prop_map(Op::Writeback),
        1 => attr_input(&["all", "0", "86400", "-1"]).prop_map(Op::Idle),
        2 => attr_input(&["0", "8", "100", "18446744073709551615"]).prop_map(Op::Limit),
        1 => attr_input(&["0", "1", "2"]).prop_map(Op::LimitEnable),
        2 => prop_oneof![0u64..10, any::<u64>()].prop_map(Op::Charge),
        3 => attr_input(wmarks).prop_map(Op::HighWmark),
        3 => attr_input(wmarks).prop_map(Op::LowWmark),
        1 => attr_input(&["0", "1", "2"]).prop_map(Op::PromoteOnRead),
    ]
}

fn check_matches(config: &DeviceConfig, model: &Model) -> Result<(), TestCaseError> {
    let wb = config.writeback();
    prop_assert_eq!(config.disksize(), model.disksize);
    prop_assert_eq!(config.mem_limit(), model.mem_limit);
    prop_assert_eq!(
        wb.backing_dev().map(|p| p.as_str()),
        model.backing_dev.as_deref()
    );
    prop_assert_eq!(wb.writeback_limit(), model.limit);
    prop_assert_eq!(wb.writeback_limit_enabled(), model.limit_enable);
    prop_assert_eq!(
        wb.writeback_budget(),
        model.limit_enable.then_some(model.limit)
    );
    prop_assert_eq!(wb.pool_high_wmark(), model.high);
    prop_assert_eq!(wb.pool_low_wmark(), model.low);
    prop_assert_eq!(wb.promote_on_read(), model.promote);
    // The invariants of `WritebackConfig`.
    prop_assert!(1 <= wb.pool_low_wmark() && wb.pool_low_wmark() < wb.pool_high_wmark());
    prop_assert!(wb.pool_high_wmark() <= 100);
    let bytes = |percent: u8| {
        (model.mem_limit != 0)
            .then(|| (u128::from(model.mem_limit) * u128::from(percent) / 100) as u64)
    };
    prop_assert_eq!(config.pool_high_wmark_bytes(), bytes(model.high));
    prop_assert_eq!(config.pool_low_wmark_bytes(), bytes(model.low));
    if let Some(path) = wb.backing_dev() {
        let with_nul = path.as_bytes_with_nul();
        prop_assert_eq!(with_nul.split_last(), Some((&0, path.as_str().as_bytes())));
        prop_assert!(path.as_str().len() <= BACKING_PATH_CAPACITY);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn device_config_matches_model(ops in prop::collection::vec(op(), 1..40)) {
        let mut config = DeviceConfig::new();
        let mut model = Model::default();
        for op in &ops {
            let before = config.clone();
            let initialized = config.is_initialized();
            let expected = model.apply(op);
            let result = apply(&mut config, op);
            prop_assert_eq!(result, expected, "op {:?} on {:?}", op, before);
            if result.is_err() {
                prop_assert_eq!(&config, &before, "op {:?} failed but changed the config", op);
            }
            if matches!(op, Op::Writeback(_) | Op::Idle(_)) {
                prop_assert_eq!(&config, &before, "a request changed the config");
                prop_assert_ne!(result, Err(BUSY));
                if !initialized {
                    prop_assert_eq!(result, Err(INVALID));
                }
            }
            if let Op::BackingDev(_) = op {
                prop_assert_eq!(result == Err(BUSY), initialized, "op {:?}", op);
            }
            check_matches(&config, &model)?;
        }
    }

    /// Arbitrary bytes to every writable attribute, on a device in a random state: no
    /// panic, and a refused write leaves the whole configuration as it was.
    #[test]
    fn refused_writes_change_nothing(
        ops in prop::collection::vec(op(), 0..12),
        input in prop_oneof![prop::collection::vec(any::<u8>(), 0..64), grammar_input(PIECES)],
    ) {
        let mut config = DeviceConfig::new();
        for op in &ops {
            let _ = apply(&mut config, op);
        }
        let before = config.clone();
        let writes = [
            Op::Disksize(input.clone()),
            Op::MemLimit(input.clone()),
            Op::Reset(input.clone(), true),
            Op::BackingDev(input.clone()),
            Op::Writeback(input.clone()),
            Op::Idle(input.clone()),
            Op::Limit(input.clone()),
            Op::LimitEnable(input.clone()),
            Op::HighWmark(input.clone()),
            Op::LowWmark(input.clone()),
            Op::PromoteOnRead(input.clone()),
        ];
        for op in &writes {
            let mut after = before.clone();
            if apply(&mut after, op).is_err() {
                prop_assert_eq!(&after, &before, "refused {:?} changed the config", op);
            }
        }
    }
}

// Sessions.

#[test]
fn defaults() {
    let config = DeviceConfig::new();
    let wb = config.writeback();
    assert_eq!(wb.backing_dev(), None);
    assert_eq!(wb.writeback_limit(), 0);
    assert!(!wb.writeback_limit_enabled());
    assert_eq!(wb.writeback_budget(), None);
    assert!(wb.allows_writeback(u64::MAX));
    assert_eq!(wb.pool_high_wmark(), DEFAULT_POOL_HIGH_WMARK);
    assert_eq!(wb.pool_low_wmark(), DEFAULT_POOL_LOW_WMARK);
    assert_eq!((DEFAULT_POOL_HIGH_WMARK, DEFAULT_POOL_LOW_WMARK), (90, 80));
    assert!(!wb.promote_on_read());
    assert_eq!(config.pool_high_wmark_bytes(), None);
    assert_eq!(config.pool_low_wmark_bytes(), None);
}

#[test]
fn zram_style_session() {
    let mut config = DeviceConfig::new();
    // Before init: writeback and idle are refused as zram refuses them.
    assert_eq!(config.writeback_request(b"huge\n"), Err(INVALID));
    assert_eq!(config.idle_request(b"all\n"), Err(INVALID));
    assert_eq!(
        config.set_backing_dev(b"/dev/vdb\n"),
        Ok(BackingDevRequest::Attach("/dev/vdb"))
    );
    assert_eq!(
        config.set_backing_dev(b"/dev/vdc\n"),
        Ok(BackingDevRequest::Attach("/dev/vdc"))
    );
    assert_eq!(config.set_backing_dev(b"vdc"), Err(INVALID));
    assert_eq!(config.set_disksize(b"1G\n"), Ok(1 << 30));

    let live = config.clone();
    assert_eq!(config.set_backing_dev(b"/dev/vdb"), Err(BUSY));
    assert_eq!(config.set_backing_dev(b"none"), Err(BUSY));
    assert_eq!(config.set_backing_dev(b"garbage"), Err(BUSY));
    assert_eq!(config.check_backing_dev(b"/dev/vdb"), Err(BUSY));
    assert_eq!(config, live);
    assert_eq!(
        config.writeback().backing_dev().map(|p| p.as_str()),
        Some("/dev/vdc")
    );

    assert_eq!(config.idle_request(b"all\n"), Ok(IdleRequest::All));
    assert_eq!(
        config.idle_request(b"86400\n"),
        Ok(IdleRequest::Age { secs: 86400 })
    );
    assert_eq!(
        config.writeback_request(b"idle\n"),
        Ok(WritebackRequest::Idle)
    );
    assert_eq!(
        config.writeback_request(b"page_index=262143\n"),
        Ok(WritebackRequest::Pages {
            first: 262143,
            last: 262143
        })
    );
    assert_eq!(
        config.writeback_request(b"page_index=262144\n"),
        Err(INVALID)
    );
    assert_eq!(config, live);

    // zram's example: 400 MiB a day, in 4 KiB blocks.
    let blocks = (400u64 << 20) >> 12;
    assert_eq!(
        config.set_writeback_limit(format!("{blocks}\n").as_bytes()),
        Ok(blocks)
    );
    config.charge_writeback(8); // Not enabled yet: not counted.
    assert_eq!(config.writeback().writeback_limit(), blocks);
    assert_eq!(config.set_writeback_limit_enable(b"1\n"), Ok(true));
    config.charge_writeback(8);
    assert_eq!(config.writeback().writeback_budget(), Some(blocks - 8));
    config.charge_writeback(u64::MAX);
    assert_eq!(config.writeback().writeback_budget(), Some(0));
    assert!(!config.writeback().allows_writeback(1));
    assert!(config.writeback().allows_writeback(0));
    assert_eq!(config.set_writeback_limit(b"4\n"), Ok(4));
    assert!(config.writeback().allows_writeback(4));
    assert!(!config.writeback().allows_writeback(8)); // A 32 KiB frame does not fit.
    assert_eq!(config.set_writeback_limit_enable(b"0\n"), Ok(false));
    assert!(config.writeback().allows_writeback(8));

    assert_eq!(config.set_promote_on_read(b"1\n"), Ok(true));
    assert_eq!(config.set_promote_on_read(b"2\n"), Err(INVALID));
    assert!(config.writeback().promote_on_read());

    // Reset returns every writeback setting to its default.
    assert_eq!(config.reset(b"1\n", true), Err(BUSY));
    assert_eq!(config.reset(b"1\n", false), Ok(true));
    assert_eq!(config, DeviceConfig::new());
    assert_eq!(config.writeback().backing_dev(), None);
}

#[test]
fn watermarks_stay_ordered() {
    let mut config = DeviceConfig::new();
    // 90/80 to 50/40: the low mark first, since the high one must stay above it.
    assert_eq!(config.set_pool_high_wmark(b"50"), Err(INVALID));
    assert_eq!(config.set_pool_low_wmark(b"40\n"), Ok(40));
    assert_eq!(config.set_pool_high_wmark(b"50\n"), Ok(50));
    // To 100/95: the high mark first.
    assert_eq!(config.set_pool_low_wmark(b"95"), Err(INVALID));
    assert_eq!(config.set_pool_high_wmark(b"100"), Ok(100));
    assert_eq!(config.set_pool_low_wmark(b"99"), Ok(99));
    assert_eq!(config.set_pool_low_wmark(b"100"), Err(INVALID));
    assert_eq!(config.set_pool_high_wmark(b"99"), Err(INVALID)); // Equal to low.
    assert_eq!(config.set_pool_high_wmark(b"101"), Err(INVALID));
    assert_eq!(config.set_pool_low_wmark(b"0"), Err(INVALID));
    assert_eq!(
        (
            config.writeback().pool_high_wmark(),
            config.writeback().pool_low_wmark()
        ),
        (100, 99)
    );

    // Percentages of mem_limit, rounded down, without overflow at the largest limit.
    assert_eq!(config.set_mem_limit(b"1000"), Ok(4096));
    assert_eq!(config.pool_high_wmark_bytes(), Some(4096));
    assert_eq!(config.pool_low_wmark_bytes(), Some(4055)); // 4096 * 99 / 100 = 4055.04.
    let max = u64::MAX - 4095;
    assert_eq!(config.set_mem_limit(max.to_string().as_bytes()), Ok(max));
    let low = (u128::from(max) * 99 / 100) as u64;
    assert_eq!(config.pool_low_wmark_bytes(), Some(low));
    assert_eq!(config.set_mem_limit(b"0"), Ok(0));
    assert_eq!(config.pool_high_wmark_bytes(), None);
}

#[test]
fn backing_path_storage() {
    let mut config = DeviceConfig::new();
    let longest = format!("/{}", "d".repeat(BACKING_PATH_CAPACITY - 1));
    assert!(config.set_backing_dev(longest.as_bytes()).is_ok());
    let path = config.writeback().backing_dev().unwrap();
    assert_eq!(path.as_str(), longest);
    assert_eq!(path.as_bytes_with_nul().len(), BACKING_PATH_CAPACITY + 1);
    assert_eq!(format!("{path:?}"), format!("BackingPath({longest:?})"));

    // Longer than the buffer: the parser takes it, the config refuses it.
    let longer = format!("{longest}d");
    assert!(parse_backing_dev(longer.as_bytes()).is_ok());
    let before = config.clone();
    assert_eq!(config.check_backing_dev(longer.as_bytes()), Err(INVALID));
    assert_eq!(config.set_backing_dev(longer.as_bytes()), Err(INVALID));
    assert_eq!(config, before);

    // A shorter path after a longer one leaves no bytes of the old one behind.
    assert!(config.set_backing_dev(b"/dev/vdb").is_ok());
    let mut fresh = DeviceConfig::new();
    fresh.set_backing_dev(b" /dev/vdb\n").unwrap();
    assert_eq!(config, fresh);
    assert_eq!(
        config
            .writeback()
            .backing_dev()
            .unwrap()
            .as_bytes_with_nul(),
        b"/dev/vdb\0"
    );

    let mut text = String::new();
    write_backing_dev(config.writeback().backing_dev(), &mut text).unwrap();
    assert_eq!(text, "/dev/vdb\n");
    assert_eq!(
        config.set_backing_dev(b"none\n"),
        Ok(BackingDevRequest::Detach)
    );
    assert_eq!(
        config.set_backing_dev(b"none\n"),
        Ok(BackingDevRequest::Detach)
    );
    let mut text = String::new();
    write_backing_dev(config.writeback().backing_dev(), &mut text).unwrap();
    assert_eq!(text, "none\n");
    assert_eq!(config, DeviceConfig::new());
}
