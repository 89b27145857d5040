//! Tests of `classify`: same-filled pages, their rebuild, and the huge-page boundary.

use ghostswap_core::classify::{
    fill_word, same_filled, store_kind, StoreKind, DEFAULT_HUGE_THRESHOLD,
};
use ghostswap_core::geometry::PAGE_SIZE;
use proptest::prelude::*;

/// A page of `word` repeated, built without `fill_word`.
fn page_of(word: u64) -> Vec<u8> {
    word.to_le_bytes().repeat(PAGE_SIZE / 8)
}

/// Words that are likely in swap pages, and any other.
fn word() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(u64::MAX),
        Just(0x0101_0101_0101_0101),
        (0u64..256),
        any::<u64>(),
    ]
}

/// Reference: a page is same-filled iff every 8-byte chunk equals the first.
fn model_same_filled(page: &[u8]) -> Option<u64> {
    if page.len() != PAGE_SIZE {
        return None;
    }
    let first: [u8; 8] = page[..8].try_into().unwrap();
    page.chunks(8)
        .all(|chunk| chunk == first)
        .then(|| u64::from_le_bytes(first))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn repeated_words_are_same_filled(word in word()) {
        prop_assert_eq!(same_filled(&page_of(word)), Some(word));
    }

    #[test]
    fn one_flipped_byte_is_not_same_filled(
        word in word(),
        position in prop_oneof![0usize..16, (PAGE_SIZE - 16)..PAGE_SIZE, 0..PAGE_SIZE],
        mask in 1u8..=255,
    ) {
        let mut page = page_of(word);
        page[position] ^= mask;
        prop_assert_eq!(same_filled(&page), None);
    }

    #[test]
    fn wrong_lengths_are_never_same_filled(
        word in word(),
        len in prop_oneof![0usize..64, (PAGE_SIZE - 16)..(PAGE_SIZE + 16), 0usize..3 * PAGE_SIZE],
    ) {
        prop_assume!(len != PAGE_SIZE);
        let page: Vec<u8> = word.to_le_bytes().into_iter().cycle().take(len).collect();
        prop_assert_eq!(same_filled(&page), None);
    }

    /// Pages made of a few distinct words, at random places: compared with the model.
    #[test]
    fn same_filled_matches_model(
        base in word(),
        others in prop::collection::vec((0usize..PAGE_SIZE / 8, any::<u64>()), 0..3),
    ) {
        let mut page = page_of(base);
        for (index, other) in others {
            page[index * 8..index * 8 + 8].copy_from_slice(&other.to_le_bytes());
        }
        prop_assert_eq!(same_filled(&page), model_same_filled(&page));
    }

    #[test]
    fn fill_word_round_trips(word in word(), garbage in any::<u8>()) {
        let mut page = vec![garbage; PAGE_SIZE];
        fill_word(word, &mut page);
        prop_assert_eq!(&page, &page_of(word));
        prop_assert_eq!(same_filled(&page), Some(word));
    }

    #[test]
    fn fill_word_any_length(word in word(), len in 0usize..40, garbage in any::<u8>()) {
        let mut buffer = vec![garbage; len];
        fill_word(word, &mut buffer);
        let bytes = word.to_le_bytes();
        for (i, byte) in buffer.iter().enumerate() {
            prop_assert_eq!(*byte, bytes[i % 8], "byte {}", i);
        }
    }

    #[test]
    fn store_kind_matches_model(
        len in prop::option::of(prop_oneof![0usize..5000, any::<usize>()]),
        threshold in prop_oneof![Just(DEFAULT_HUGE_THRESHOLD), 0usize..5000, any::<usize>()],
    ) {
        let huge = match len {
            None => true,
            Some(len) => len == 0 || len >= threshold || len >= PAGE_SIZE,
        };
        let expected = if huge { StoreKind::Huge } else { StoreKind::Compressed(len.unwrap()) };
        prop_assert_eq!(store_kind(len, threshold), expected);
    }
}

#[test]
fn same_filled_examples() {
    assert_eq!(same_filled(&[0; PAGE_SIZE]), Some(0));
    assert_eq!(same_filled(&[0xab; PAGE_SIZE]), Some(0xabab_abab_abab_abab));
    // Little-endian: the first byte is the low byte of the word.
    assert_eq!(same_filled(&[1, 0, 0, 0, 0, 0, 0, 0].repeat(512)), Some(1));
    // A 4-byte pattern is an 8-byte pattern too.
    assert_eq!(
        same_filled(&[1, 2, 3, 4].repeat(1024)),
        Some(0x0403_0201_0403_0201)
    );
    // A 16-byte period is not.
    let mut period16 = page_of(7);
    for chunk in period16.chunks_mut(16) {
        chunk[8] = 9;
    }
    assert_eq!(same_filled(&period16), None);
    assert_eq!(same_filled(&[]), None);
    assert_eq!(same_filled(&[0; 8]), None);
    assert_eq!(same_filled(&[0; PAGE_SIZE - 8]), None);
    assert_eq!(same_filled(&[0; PAGE_SIZE + 8]), None);
    assert_eq!(same_filled(&[0; 2 * PAGE_SIZE]), None);
}

#[test]
fn store_kind_boundaries() {
    let t = DEFAULT_HUGE_THRESHOLD;
    assert_eq!(t, PAGE_SIZE / 4 * 3);
    assert_eq!(store_kind(None, t), StoreKind::Huge);
    assert_eq!(store_kind(Some(0), t), StoreKind::Huge);
    assert_eq!(store_kind(Some(1), t), StoreKind::Compressed(1));
    assert_eq!(store_kind(Some(t - 1), t), StoreKind::Compressed(t - 1));
    assert_eq!(store_kind(Some(t), t), StoreKind::Huge);
    assert_eq!(store_kind(Some(t + 1), t), StoreKind::Huge);
    assert_eq!(store_kind(Some(PAGE_SIZE), t), StoreKind::Huge);
    assert_eq!(store_kind(Some(usize::MAX), t), StoreKind::Huge);
    // A threshold above the page size is capped at it.
    let no_cap = usize::MAX;
    assert_eq!(
        store_kind(Some(PAGE_SIZE - 1), no_cap),
        StoreKind::Compressed(PAGE_SIZE - 1)
    );
    assert_eq!(store_kind(Some(PAGE_SIZE), no_cap), StoreKind::Huge);
    assert_eq!(store_kind(Some(PAGE_SIZE + 100), no_cap), StoreKind::Huge);
    // Thresholds 0 and 1 make every page huge.
    assert_eq!(store_kind(Some(1), 1), StoreKind::Huge);
    assert_eq!(store_kind(Some(1), 0), StoreKind::Huge);
    assert_eq!(store_kind(Some(1), 2), StoreKind::Compressed(1));
}
