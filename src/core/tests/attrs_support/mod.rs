//! Input strategies and parser properties shared by the tests of `attrs`
//! (`tests/attrs.rs`) and of its writeback attributes (`tests/attrs_writeback.rs`,
//! `tests/attrs_writeback_config.rs`).
//!
//! A directory module, so that Cargo does not build it as a test of its own.

#[allow(dead_code)] // Each writeback test file uses a part of it.
pub mod writeback;

use proptest::prelude::*;

/// The input as text without surrounding ASCII whitespace; `None` if it is not UTF-8.
pub fn trimmed(input: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(input).ok()?;
    Some(text.trim_matches(|c: char| c.is_ascii_whitespace()))
}

/// Byte strings built from `pieces` and the occasional raw (often non-UTF-8) byte.
pub fn grammar_input(pieces: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        8 => prop::sample::select(pieces).prop_map(|p| p.as_bytes().to_vec()),
        1 => any::<u8>().prop_map(|b| vec![b]),
    ];
    prop::collection::vec(piece, 0..8).prop_map(|pieces| pieces.concat())
}

/// Whitespace of any length, up to 64 KiB.
fn padding() -> impl Strategy<Value = Vec<u8>> {
    let ws = prop::sample::select(b" \t\n\r\x0c".to_vec());
    prop_oneof![
        prop::collection::vec(ws.clone(), 0..4),
        (ws, 0usize..65536).prop_map(|(b, n)| vec![b; n]),
    ]
}

/// A grammar input surrounded by padding, or a huge run of one piece.
pub fn huge_input(pieces: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (padding(), grammar_input(pieces), padding()).prop_map(|(a, b, c)| [a, b, c].concat()),
        (prop::sample::select(pieces), 1usize..20000)
            .prop_map(|(piece, n)| piece.as_bytes().repeat(n)),
    ]
}

/// Whitespace around a value, as `echo` and users write it.
pub fn ws() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["", " ", "\n", " \n", "\t", "  \t "])
}

/// Inputs for one attribute: mostly one of `valid`, some built from `pieces`, some garbage.
pub fn attr_input(
    valid: &'static [&'static str],
    pieces: &'static [&'static str],
) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => (prop::sample::select(valid), ws()).prop_map(|(v, w)| format!("{v}{w}").into_bytes()),
        2 => grammar_input(pieces),
        1 => prop::collection::vec(any::<u8>(), 0..12),
    ]
}

/// Defines the properties of a set of parsers: `$check`, a function
/// `fn(&[u8]) -> Result<(), TestCaseError>` that compares every parser with its model,
/// holds on arbitrary bytes, on inputs built from `$pieces`, and on huge inputs.
macro_rules! parser_properties {
    ($check:ident, $pieces:expr) => {
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2048))]

            #[test]
            fn parsers_match_models_on_arbitrary_bytes(
                input in prop::collection::vec(any::<u8>(), 0..48)
            ) {
                $check(&input)?;
            }

            #[test]
            fn parsers_match_models_on_grammar_pieces(
                input in $crate::attrs_support::grammar_input($pieces)
            ) {
                $check(&input)?;
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(128))]

            #[test]
            fn parsers_match_models_on_huge_inputs(
                input in $crate::attrs_support::huge_input($pieces)
            ) {
                $check(&input)?;
            }
        }
    };
}

pub(crate) use parser_properties;
