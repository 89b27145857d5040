//! Tests of `attrs`: every parser against a reference parser on arbitrary bytes, zram-style
//! inputs, and random `DeviceConfig` operation sequences against a model.

use attrs_support::{trimmed, ws};
use ghostswap_core::attrs::{
    check_level, parse_algorithm, parse_algorithm_params, parse_compact, parse_disksize,
    parse_mem_limit, parse_reset, reset_allowed, write_algorithms, Algorithm, AlgorithmParams,
    AttrError, DeviceConfig, MAX_DISKSIZE, ZSTD_DEFAULT_LEVEL,
};
use proptest::prelude::*;
use std::collections::BTreeSet;

mod attrs_support;

const INVALID: AttrError = AttrError::Invalid;
const BUSY: AttrError = AttrError::Busy;

// Reference parsers, written with `std` string tools and `u128` arithmetic.

/// A size: digits with an optional K/M/G/T suffix (either case), as a `u128`.
fn model_size(input: &[u8]) -> Option<u128> {
    let text = trimmed(input)?;
    let shift = match text.chars().last()?.to_ascii_uppercase() {
        'K' => 10,
        'M' => 20,
        'G' => 30,
        'T' => 40,
        _ => 0,
    };
    let digits = if shift == 0 {
        text
    } else {
        &text[..text.len() - 1]
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value = digits.parse::<u128>().ok()?.checked_mul(1 << shift)?;
    // `parse_size` works in u64: anything bigger is refused.
    (value <= u128::from(u64::MAX)).then_some(value)
}

fn model_disksize(input: &[u8]) -> Result<u64, AttrError> {
    match model_size(input) {
        Some(v) if v > 0 && v % 4096 == 0 && v <= 1 << 40 => Ok(v as u64),
        _ => Err(INVALID),
    }
}

fn model_mem_limit(input: &[u8]) -> Result<u64, AttrError> {
    let value = model_size(input).ok_or(INVALID)?;
    u64::try_from(value.div_ceil(4096) * 4096).map_err(|_| INVALID)
}

fn model_algorithm_name(name: &str) -> Option<Algorithm> {
    match name {
        "lz4" => Some(Algorithm::Lz4),
        "zstd" => Some(Algorithm::Zstd),
        _ => None,
    }
}

fn model_algorithm(input: &[u8]) -> Result<Algorithm, AttrError> {
    trimmed(input).and_then(model_algorithm_name).ok_or(INVALID)
}

fn model_level_ok(algo: Algorithm, level: Option<i32>) -> bool {
    match (algo, level) {
        (_, None) => true,
        (Algorithm::Zstd, Some(l)) => (1..=22).contains(&l),
        (Algorithm::Lz4, Some(_)) => false,
    }
}

fn model_params(input: &[u8]) -> Result<AlgorithmParams, AttrError> {
    let text = std::str::from_utf8(input).map_err(|_| INVALID)?;
    let mut seen = BTreeSet::new();
    let mut params = AlgorithmParams::default();
    for pair in text.split_ascii_whitespace() {
        let (key, value) = pair.split_once('=').ok_or(INVALID)?;
        if value.is_empty() || !seen.insert(key) {
            return Err(INVALID);
        }
        match key {
            "algo" => params.algo = Some(model_algorithm_name(value).ok_or(INVALID)?),
            "level" => {
                if !value.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(INVALID);
                }
                // Digits only: overflow is the only parse error, and it is out of range.
                let level = value.parse::<i32>().map_err(|_| INVALID)?;
                params.level = Some(level);
            }
            _ => return Err(INVALID),
        }
    }
    let some_algo_takes_it = Algorithm::ALL
        .into_iter()
        .filter(|&a| params.algo.is_none_or(|given| given == a))
        .any(|a| model_level_ok(a, params.level));
    if some_algo_takes_it {
        Ok(params)
    } else {
        Err(INVALID)
    }
}

fn model_reset(input: &[u8]) -> Result<bool, AttrError> {
    let text = trimmed(input).ok_or(INVALID)?;
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(INVALID);
    }
    text.parse::<u64>().map(|v| v != 0).map_err(|_| INVALID)
}

fn model_compact(input: &[u8]) -> Result<(), AttrError> {
    if trimmed(input) == Some("1") {
        Ok(())
    } else {
        Err(INVALID)
    }
}

/// Checks every parser against its model on `input`.
fn check_all(input: &[u8]) -> Result<(), TestCaseError> {
    prop_assert_eq!(parse_disksize(input), model_disksize(input));
    prop_assert_eq!(parse_mem_limit(input), model_mem_limit(input));
    prop_assert_eq!(parse_algorithm(input), model_algorithm(input));
    prop_assert_eq!(parse_algorithm_params(input), model_params(input));
    prop_assert_eq!(parse_reset(input), model_reset(input));
    prop_assert_eq!(parse_compact(input), model_compact(input));
    Ok(())
}

// Input strategies.

/// Pieces that make up valid and nearly valid attribute writes.
const PIECES: &[&str] = &[
    "0",
    "1",
    "3",
    "9",
    "22",
    "23",
    "00",
    "4096",
    "4097",
    "512",
    "1024",
    "18446744073709551615",
    "99999999999",
    "K",
    "m",
    "G",
    "t",
    "T",
    "E",
    "k",
    ".",
    "5",
    "-",
    "+",
    "x",
    " ",
    " ",
    "\n",
    "\t",
    "\r",
    "\x0b",
    "\x0c",
    "=",
    "==",
    "lz4",
    "zstd",
    "LZ4",
    "Zstd",
    "zstd\0",
    "algo",
    "level",
    "priority",
    "dict",
    "algo=",
    "level=",
    "algo=zstd",
    "algo=lz4",
    "algo=zlib",
    "level=3",
    "level=22",
    "level=0",
    "level=-1",
    "level=+5",
    "\u{e9}",
    "\u{ff11}",
];

attrs_support::parser_properties!(check_all, PIECES);

// Round trips: values written the way users write them parse back to themselves.

fn suffix_and_shift() -> impl Strategy<Value = (&'static str, u32)> {
    prop::sample::select(vec![
        ("", 0),
        ("k", 10),
        ("K", 10),
        ("m", 20),
        ("M", 20),
        ("g", 30),
        ("G", 30),
        ("t", 40),
        ("T", 40),
    ])
}

proptest! {
    #[test]
    fn sizes_round_trip(
        value in prop_oneof![0u64..5000, 0u64..1 << 30, any::<u64>()],
        (suffix, shift) in suffix_and_shift(),
        lead in ws(),
        trail in ws(),
    ) {
        let input = format!("{lead}{value}{suffix}{trail}");
        let bytes = u128::from(value) << shift;
        let disksize = if bytes > 0 && bytes % 4096 == 0 && bytes <= u128::from(MAX_DISKSIZE) {
            Ok(bytes as u64)
        } else {
            Err(INVALID)
        };
        prop_assert_eq!(parse_disksize(input.as_bytes()), disksize);
        let limit = u64::try_from(bytes.div_ceil(4096) * 4096).map_err(|_| INVALID);
        prop_assert_eq!(parse_mem_limit(input.as_bytes()), limit);
    }

    #[test]
    fn params_round_trip(
        algo in prop::option::of(prop::sample::select(Algorithm::ALL.to_vec())),
        level in prop::option::of(1i32..=22),
        algo_first in any::<bool>(),
        lead in ws(),
        sep in prop::sample::select(vec![" ", "\t", "  ", "\n"]),
        trail in ws(),
    ) {
        let mut pairs = Vec::new();
        if let Some(a) = algo {
            pairs.push(format!("algo={}", a.name()));
        }
        if let Some(l) = level {
            pairs.push(format!("level={l}"));
        }
        if !algo_first {
            pairs.reverse();
        }
        let input = format!("{lead}{}{trail}", pairs.join(sep));
        let expected = if algo == Some(Algorithm::Lz4) && level.is_some() {
            Err(INVALID)
        } else {
            Ok(AlgorithmParams { algo, level })
        };
        prop_assert_eq!(parse_algorithm_params(input.as_bytes()), expected);
    }

    #[test]
    fn reset_round_trips(value in any::<u64>(), zeros in 0usize..3, lead in ws(), trail in ws()) {
        let input = format!("{lead}{}{value}{trail}", "0".repeat(zeros));
        prop_assert_eq!(parse_reset(input.as_bytes()), Ok(value != 0));
    }
}

#[test]
fn algorithm_listing_round_trips() {
    for current in Algorithm::ALL {
        let mut text = String::new();
        write_algorithms(current, &mut text).unwrap();
        assert!(text.ends_with(" \n"), "{text:?}");
        let mut bracketed = Vec::new();
        for (word, algo) in text.split_ascii_whitespace().zip(Algorithm::ALL) {
            match word.strip_prefix('[').and_then(|w| w.strip_suffix(']')) {
                Some(name) => {
                    bracketed.push(name);
                    assert_eq!(parse_algorithm(name.as_bytes()), Ok(algo));
                }
                None => assert_eq!(parse_algorithm(word.as_bytes()), Ok(algo)),
            }
        }
        assert_eq!(bracketed, [current.name()]);
    }
    let mut text = String::new();
    write_algorithms(Algorithm::Zstd, &mut text).unwrap();
    assert_eq!(text, "lz4 [zstd] \n");
}

#[test]
fn algorithm_names() {
    assert_eq!(Algorithm::default(), Algorithm::Lz4);
    for algo in Algorithm::ALL {
        assert_eq!(Algorithm::from_name(algo.name().as_bytes()), Some(algo));
    }
    assert_eq!(Algorithm::from_name(b"lz4\n"), None);
    assert_eq!(Algorithm::from_name(b""), None);
}

// zram-style inputs.

#[test]
fn disksize_table() {
    let cases: &[(&[u8], Result<u64, AttrError>)] = &[
        (b"1G\n", Ok(1 << 30)),
        (b" 512M ", Ok(512 << 20)),
        (b"4096", Ok(4096)),
        (b"4k", Ok(4096)),
        (b"1T", Ok(1 << 40)),
        (b"1024G\n", Ok(1 << 40)),
        (b"1099511631872", Err(INVALID)), // 1 TiB + 4 KiB: over the cap.
        (b"2T", Err(INVALID)),
        (b"0", Err(INVALID)),
        (b"0G", Err(INVALID)),
        (b"1", Err(INVALID)),
        (b"4097", Err(INVALID)),
        (b"1K", Err(INVALID)),
        (b"-1", Err(INVALID)),
        (b"1.5G", Err(INVALID)),
        (b"", Err(INVALID)),
        (b"\n", Err(INVALID)),
        (b"1 G", Err(INVALID)),
        (b"0x1000", Err(INVALID)),
        (b"1G\xff", Err(INVALID)),
        (b"99999999999999999999G", Err(INVALID)),
    ];
    for &(input, expected) in cases {
        assert_eq!(parse_disksize(input), expected, "input {input:?}");
    }
}

#[test]
fn algorithm_table() {
    let cases: &[(&[u8], Result<Algorithm, AttrError>)] = &[
        (b"lz4\n", Ok(Algorithm::Lz4)),
        (b"lz4", Ok(Algorithm::Lz4)),
        (b"zstd", Ok(Algorithm::Zstd)),
        (b" zstd \n", Ok(Algorithm::Zstd)),
        (b"LZ4", Err(INVALID)),
        (b"Zstd\n", Err(INVALID)),
        (b"lz4 zstd", Err(INVALID)),
        (b"lz4\nzstd", Err(INVALID)),
        (b"lz4hc", Err(INVALID)),
        (b"lz", Err(INVALID)),
        (b"lzo", Err(INVALID)),
        (b"zstd\0", Err(INVALID)),
        (b"[zstd]", Err(INVALID)),
        (b"", Err(INVALID)),
        (b"\xffzstd", Err(INVALID)),
    ];
    for &(input, expected) in cases {
        assert_eq!(parse_algorithm(input), expected, "input {input:?}");
    }
}

#[test]
fn params_table() {
    let zstd = Some(Algorithm::Zstd);
    let params = |algo, level| Ok(AlgorithmParams { algo, level });
    let cases: &[(&[u8], Result<AlgorithmParams, AttrError>)] = &[
        (b"level=5", params(None, Some(5))),
        (b"level=5\n", params(None, Some(5))),
        (b"algo=zstd level=9", params(zstd, Some(9))),
        (b"level=9 algo=zstd\n", params(zstd, Some(9))),
        (b"  algo=zstd\t\tlevel=22  ", params(zstd, Some(22))),
        (b"algo=zstd level=01", params(zstd, Some(1))),
        (b"algo=zstd", params(zstd, None)),
        (b"algo=lz4", params(Some(Algorithm::Lz4), None)),
        (b"", params(None, None)),
        (b" \n", params(None, None)),
        (b"level=", Err(INVALID)),
        (b"level=99", Err(INVALID)),
        (b"level=23", Err(INVALID)),
        (b"level=0", Err(INVALID)),
        (b"level=00", Err(INVALID)),
        (b"algo=zstd level=0", Err(INVALID)),
        (b"level=-1", Err(INVALID)),
        (b"level=+5", Err(INVALID)),
        (b"level=3 level=4", Err(INVALID)),
        (b"level=3 level=3", Err(INVALID)),
        (b"algo=zstd algo=zstd", Err(INVALID)),
        (b"algo=lz4 level=1", Err(INVALID)),
        (b"level=1 algo=lz4", Err(INVALID)),
        (b"algo=", Err(INVALID)),
        (b"algo=LZ4", Err(INVALID)),
        (b"algo=zlib level=3", Err(INVALID)),
        (b"algo = zstd", Err(INVALID)),
        (b"level 5", Err(INVALID)),
        (b"zstd", Err(INVALID)),
        (b"=5", Err(INVALID)),
        (b"Level=5", Err(INVALID)),
        (b"priority=1", Err(INVALID)),
        (b"dict=/etc/dict", Err(INVALID)),
        (b"level=5=5", Err(INVALID)),
        (b"level=2147483648", Err(INVALID)),
        (b"level=99999999999999999999", Err(INVALID)),
        (b"level=5\xff", Err(INVALID)),
    ];
    for &(input, expected) in cases {
        assert_eq!(parse_algorithm_params(input), expected, "input {input:?}");
    }
}

#[test]
fn check_level_table() {
    assert_eq!(check_level(Algorithm::Lz4, None), Ok(()));
    assert_eq!(check_level(Algorithm::Zstd, None), Ok(()));
    for level in [1, 3, 22] {
        assert_eq!(check_level(Algorithm::Zstd, Some(level)), Ok(()));
        assert_eq!(check_level(Algorithm::Lz4, Some(level)), Err(INVALID));
    }
    for level in [i32::MIN, -7, -1, 0, 23, i32::MAX] {
        assert_eq!(check_level(Algorithm::Zstd, Some(level)), Err(INVALID));
    }
}

#[test]
fn mem_limit_table() {
    let cases: &[(&[u8], Result<u64, AttrError>)] = &[
        (b"0", Ok(0)),
        (b"0\n", Ok(0)),
        (b"1", Ok(4096)),
        (b"4095", Ok(4096)),
        (b"4096", Ok(4096)),
        (b"4097", Ok(8192)),
        (b" 512M ", Ok(512 << 20)),
        (b"1G\n", Ok(1 << 30)),
        (b"16T", Ok(16 << 40)),
        (b"18446744073709547520", Ok(u64::MAX - 4095)),
        (b"18446744073709547521", Err(INVALID)), // Rounds up past u64::MAX.
        (b"18446744073709551615", Err(INVALID)),
        (b"-1", Err(INVALID)),
        (b"1.5G", Err(INVALID)),
        (b"", Err(INVALID)),
        (b"none", Err(INVALID)),
    ];
    for &(input, expected) in cases {
        assert_eq!(parse_mem_limit(input), expected, "input {input:?}");
    }
}

#[test]
fn reset_and_compact_table() {
    let resets: &[(&[u8], Result<bool, AttrError>)] = &[
        (b"1", Ok(true)),
        (b"1\n", Ok(true)),
        (b" 2 ", Ok(true)),
        (b"65536", Ok(true)),
        (b"18446744073709551615", Ok(true)),
        (b"0", Ok(false)),
        (b"000\n", Ok(false)),
        (b"18446744073709551616", Err(INVALID)),
        (b"-1", Err(INVALID)),
        (b"+1", Err(INVALID)),
        (b"1.0", Err(INVALID)),
        (b"yes", Err(INVALID)),
        (b"1 1", Err(INVALID)),
        (b"", Err(INVALID)),
        (b"\n", Err(INVALID)),
    ];
    for &(input, expected) in resets {
        assert_eq!(parse_reset(input), expected, "input {input:?}");
    }
    assert_eq!(reset_allowed(false), Ok(()));
    assert_eq!(reset_allowed(true), Err(BUSY));

    for input in [&b"1"[..], b"1\n", b" 1 "] {
        assert_eq!(parse_compact(input), Ok(()), "input {input:?}");
    }
    for input in [&b""[..], b"0", b"2", b"01", b"11", b"1 1", b"yes", b"\xff"] {
        assert_eq!(parse_compact(input), Err(INVALID), "input {input:?}");
    }
}

// `DeviceConfig` against a model.

#[derive(Debug, Clone)]
enum Op {
    Disksize(Vec<u8>),
    Algorithm(Vec<u8>),
    Params(Vec<u8>),
    MemLimit(Vec<u8>),
    Reset(Vec<u8>, bool),
}

/// The model of a `DeviceConfig`, built on the reference parsers.
#[derive(Debug, Clone, Default, PartialEq)]
struct Model {
    disksize: Option<u64>,
    algorithm: Algorithm,
    level: Option<i32>,
    mem_limit: u64,
}

impl Model {
    /// Applies `op` and returns what the config's method must return, as `Ok(())` or the
    /// error (the values returned on success are checked separately).
    fn apply(&mut self, op: &Op) -> Result<(), AttrError> {
        let busy = if self.disksize.is_some() {
            Err(BUSY)
        } else {
            Ok(())
        };
        match op {
            Op::Disksize(input) => {
                busy?;
                self.disksize = Some(model_disksize(input)?);
            }
            Op::Algorithm(input) => {
                busy?;
                let algorithm = model_algorithm(input)?;
                if algorithm != self.algorithm {
                    self.level = None;
                }
                self.algorithm = algorithm;
            }
            Op::Params(input) => {
                busy?;
                let params = model_params(input)?;
                let algo_ok = params.algo.is_none_or(|a| a == self.algorithm);
                if !algo_ok || !model_level_ok(self.algorithm, params.level) {
                    return Err(INVALID);
                }
                self.level = params.level;
            }
            Op::MemLimit(input) => self.mem_limit = model_mem_limit(input)?,
            Op::Reset(input, is_open) => {
                if model_reset(input)? {
                    if *is_open {
                        return Err(BUSY);
                    }
                    *self = Model::default();
                }
            }
        }
        Ok(())
    }
}

/// Inputs for one attribute: mostly valid ones, some garbage.
fn attr_input(valid: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    attrs_support::attr_input(valid, PIECES)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => attr_input(&["4096", "1G", "512M", "1T", "2T", "4097", "0"]).prop_map(Op::Disksize),
        3 => attr_input(&["lz4", "zstd", "LZ4"]).prop_map(Op::Algorithm),
        4 => attr_input(&[
            "level=5", "algo=zstd level=9", "algo=lz4", "algo=zstd", "", "level=22",
            "level=23", "algo=lz4 level=3",
        ])
        .prop_map(Op::Params),
        2 => attr_input(&["0", "1", "1G", "4097", "18446744073709551615"]).prop_map(Op::MemLimit),
        1 => (attr_input(&["1", "0", "2"]), any::<bool>()).prop_map(|(i, open)| Op::Reset(i, open)),
    ]
}

/// Whether `op` is a reset whose input asks for one.
fn model_reset_requested(op: &Op) -> bool {
    matches!(op, Op::Reset(input, _) if model_reset(input) == Ok(true))
}

fn check_matches(config: &DeviceConfig, model: &Model) -> Result<(), TestCaseError> {
    prop_assert_eq!(config.disksize(), model.disksize);
    prop_assert_eq!(config.is_initialized(), model.disksize.is_some());
    prop_assert_eq!(config.algorithm(), model.algorithm);
    prop_assert_eq!(config.level(), model.level);
    prop_assert_eq!(config.mem_limit(), model.mem_limit);
    let effective = match model.algorithm {
        Algorithm::Lz4 => None,
        Algorithm::Zstd => Some(model.level.unwrap_or(3)),
    };
    prop_assert_eq!(config.effective_level(), effective);
    // The invariants of `DeviceConfig`.
    prop_assert_eq!(check_level(config.algorithm(), config.level()), Ok(()));
    prop_assert_eq!(config.mem_limit() % 4096, 0);
    if let Some(size) = config.disksize() {
        prop_assert_eq!(parse_disksize(size.to_string().as_bytes()), Ok(size));
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
            let before_debug = format!("{config:?}");
            let initialized = config.is_initialized();
            let expected = model.apply(op);
            let result: Result<(), AttrError> = match op {
                Op::Disksize(input) => {
                    let checked = config.check_disksize(input);
                    prop_assert_eq!(&config, &before, "check_disksize changed the config");
                    let set = config.set_disksize(input);
                    prop_assert_eq!(set, checked);
                    set.map(|size| assert_eq!(Some(size), config.disksize()))
                }
                Op::Algorithm(input) => config
                    .set_algorithm(input)
                    .map(|algo| assert_eq!(algo, config.algorithm())),
                Op::Params(input) => config.set_params(input),
                Op::MemLimit(input) => config
                    .set_mem_limit(input)
                    .map(|limit| assert_eq!(limit, config.mem_limit())),
                Op::Reset(input, is_open) => config.reset(input, *is_open).map(|reset| {
                    assert_eq!(reset, model_reset(input) == Ok(true));
                }),
            };
            prop_assert_eq!(result, expected, "op {:?} on {:?}", op, before);
            if result.is_err() {
                prop_assert_eq!(&config, &before, "op {:?} failed but changed the config", op);
                prop_assert_eq!(format!("{config:?}"), before_debug);
            }
            // Busy exactly when initialized, for the attributes fixed by initialization.
            if matches!(op, Op::Disksize(_) | Op::Algorithm(_) | Op::Params(_)) {
                prop_assert_eq!(result == Err(BUSY), initialized, "op {:?}", op);
            }
            if matches!(op, Op::MemLimit(_)) {
                prop_assert_ne!(result, Err(BUSY));
            }
            if let (Op::Reset(_, _), Ok(())) = (op, result) {
                if model_reset_requested(op) {
                    prop_assert_eq!(&config, &DeviceConfig::new(), "reset kept state");
                } else {
                    prop_assert_eq!(&config, &before, "reset with 0 changed the config");
                }
            }
            check_matches(&config, &model)?;
        }
    }
}

#[test]
fn defaults() {
    let config = DeviceConfig::new();
    assert_eq!(config, DeviceConfig::default());
    assert!(!config.is_initialized());
    assert_eq!(config.disksize(), None);
    assert_eq!(config.algorithm(), Algorithm::Lz4);
    assert_eq!(config.level(), None);
    assert_eq!(config.effective_level(), None);
    assert_eq!(config.mem_limit(), 0);
}

#[test]
fn zram_style_session() {
    let mut config = DeviceConfig::new();
    assert_eq!(config.set_params(b"level=5\n"), Err(INVALID)); // lz4 takes no level.
    assert_eq!(config.set_params(b"algo=zstd\n"), Err(INVALID)); // Not the configured one.
    assert_eq!(config.set_algorithm(b"zstd\n"), Ok(Algorithm::Zstd));
    assert_eq!(config.effective_level(), Some(ZSTD_DEFAULT_LEVEL));
    assert_eq!(config.set_params(b"algo=zstd level=9\n"), Ok(()));
    assert_eq!(config.effective_level(), Some(9));
    assert_eq!(config.set_algorithm(b"zstd\n"), Ok(Algorithm::Zstd));
    assert_eq!(config.level(), Some(9)); // Same algorithm: the level stays.
    assert_eq!(config.set_params(b"\n"), Ok(())); // Parameters replace: default level.
    assert_eq!(config.level(), None);
    assert_eq!(config.set_params(b"level=19"), Ok(()));
    assert_eq!(config.set_mem_limit(b"100M\n"), Ok(100 << 20));
    assert_eq!(config.check_disksize(b"1G\n"), Ok(1 << 30));
    assert!(!config.is_initialized());
    assert_eq!(config.set_disksize(b"1G\n"), Ok(1 << 30));
    assert!(config.is_initialized());

    let live = config.clone();
    assert_eq!(config.set_disksize(b"2G"), Err(BUSY));
    assert_eq!(config.set_disksize(b"garbage"), Err(BUSY));
    assert_eq!(config.check_disksize(b"2G"), Err(BUSY));
    assert_eq!(config.set_algorithm(b"lz4"), Err(BUSY));
    assert_eq!(config.set_params(b"level=3"), Err(BUSY));
    assert_eq!(config.reset(b"1", true), Err(BUSY));
    assert_eq!(config.reset(b"x", false), Err(INVALID));
    assert_eq!(config.reset(b"0", false), Ok(false));
    assert_eq!(config, live);
    assert_eq!(config.set_mem_limit(b"0"), Ok(0)); // Allowed after init.
    assert_eq!(config.set_mem_limit(b"-1"), Err(INVALID));
    assert_eq!(config.mem_limit(), 0);

    assert_eq!(config.reset(b"1\n", false), Ok(true));
    assert_eq!(config, DeviceConfig::new());
}

#[test]
fn switching_algorithm_drops_the_level() {
    let mut config = DeviceConfig::new();
    config.set_algorithm(b"zstd").unwrap();
    config.set_params(b"level=12").unwrap();
    assert_eq!(config.set_algorithm(b"lz4"), Ok(Algorithm::Lz4));
    assert_eq!(config.level(), None);
    assert_eq!(check_level(config.algorithm(), config.level()), Ok(()));
    assert_eq!(config.set_algorithm(b"zstd"), Ok(Algorithm::Zstd));
    assert_eq!(config.effective_level(), Some(ZSTD_DEFAULT_LEVEL));
}
