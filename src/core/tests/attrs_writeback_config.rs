//! Tests of `DeviceConfig` with the writeback attributes: random operation sequences
//! against a model, and sessions as zram's users write them. The parsers are tested in
//! `tests/attrs_writeback.rs`.

use attrs_support::grammar_input;
use attrs_support::writeback::{
    long_path, model_backing_dev, model_enable, model_idle, model_limit, model_wmark,
    model_writeback, request_as_option, INVALID, PIECES,
};
use ghostswap_core::attrs::{
    parse_backing_dev, parse_disksize, parse_mem_limit, parse_reset, write_backing_dev, AttrError,
    BackingDevRequest, DeviceConfig, IdleRequest, WritebackRequest, BACKING_PATH_CAPACITY,
    DEFAULT_POOL_HIGH_WMARK, DEFAULT_POOL_LOW_WMARK,
};
use proptest::prelude::*;

#[allow(dead_code, unused_imports, unused_macros)] // Only some shared helpers are used here.
mod attrs_support;

const BUSY: AttrError = AttrError::Busy;

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
