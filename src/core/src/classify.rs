//! Page classes: how a page written to the device is to be stored.
//!
//! A page that is one 8-byte word repeated (zeros, most often) is stored as that word alone
//! ([`same_filled`], rebuilt by [`fill_word`]). Any other page is compressed; if the
//! compressed form saves too little, the page is stored as it is ([`store_kind`]).
//!
//! # Examples
//!
//! ```
//! use ghostswap_core::classify::{fill_word, same_filled};
//!
//! let mut page = [0u8; 4096];
//! fill_word(0xdead_beef, &mut page);
//! assert_eq!(same_filled(&page), Some(0xdead_beef));
//! page[100] ^= 1;
//! assert_eq!(same_filled(&page), None);
//! ```

use super::geometry::PAGE_SIZE;

/// Size of the repeated word of a same-filled page, in bytes.
const WORD: usize = 8;

/// Returns the word a page is filled with, if it is one 8-byte word repeated.
///
/// The word is read little-endian, so [`fill_word`] rebuilds the page from it on any CPU.
/// Any word counts, not only zero. `page` must be exactly [`PAGE_SIZE`] bytes; for any
/// other length this returns `None`. The scan stops at the first word that differs from
/// the first one, so a page that is not same-filled is usually rejected within its first
/// few bytes.
pub fn same_filled(page: &[u8]) -> Option<u64> {
    if page.len() != PAGE_SIZE {
        return None;
    }
    let mut words = page
        .chunks_exact(WORD)
        .map(|chunk| <[u8; WORD]>::try_from(chunk).ok().map(u64::from_le_bytes));
    // `chunks_exact` yields 8-byte chunks only, so every item is `Some`.
    let first = words.next()??;
    if words.all(|word| word == Some(first)) {
        Some(first)
    } else {
        None
    }
}

/// Fills `page` with `word` repeated, in little-endian byte order.
///
/// This is the inverse of [`same_filled`]: for a [`PAGE_SIZE`] buffer,
/// `same_filled(page) == Some(word)` afterwards. A buffer whose length is not a multiple of
/// 8 ends with the first bytes of the word.
pub fn fill_word(word: u64, page: &mut [u8]) {
    let bytes = word.to_le_bytes();
    let mut chunks = page.chunks_exact_mut(WORD);
    for chunk in &mut chunks {
        chunk.copy_from_slice(&bytes);
    }
    for (dst, src) in chunks.into_remainder().iter_mut().zip(bytes) {
        *dst = src;
    }
}

/// The default [`store_kind`] threshold: a page whose compressed form takes 3072 bytes
/// (three quarters of a page) or more is stored uncompressed.
///
/// Below this, compression saves at least a quarter of the page; above it, the saving is
/// not worth decompressing the page on every read.
pub const DEFAULT_HUGE_THRESHOLD: usize = 3072;

/// How to store a page that is not same-filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// Store the compressed form, which is this many bytes long (at least 1, less than a
    /// page).
    Compressed(usize),
    /// Store the page uncompressed, in a whole page of its own.
    Huge,
}

/// Decides whether a page is stored compressed or as it is.
///
/// `compressed_len` is the length of the page's compressed form, or `None` if the
/// compressor failed or its output did not fit its buffer. The page is [`StoreKind::Huge`]
/// if there is no compressed form, or it is `threshold` bytes or longer: a length exactly
/// at the threshold is huge, as zram treats `huge_class_size`. Whatever the threshold, a
/// compressed form of [`PAGE_SIZE`] bytes or more saves nothing and is huge, and one of 0
/// bytes cannot hold a page (the compressor misreported) and is huge too, so a
/// [`StoreKind::Compressed`] length is always in `1..PAGE_SIZE`.
///
/// # Examples
///
/// ```
/// use ghostswap_core::classify::{store_kind, StoreKind, DEFAULT_HUGE_THRESHOLD};
///
/// assert_eq!(store_kind(Some(3071), DEFAULT_HUGE_THRESHOLD), StoreKind::Compressed(3071));
/// assert_eq!(store_kind(Some(3072), DEFAULT_HUGE_THRESHOLD), StoreKind::Huge);
/// assert_eq!(store_kind(None, DEFAULT_HUGE_THRESHOLD), StoreKind::Huge);
/// ```
pub fn store_kind(compressed_len: Option<usize>, threshold: usize) -> StoreKind {
    match compressed_len {
        Some(len) if len > 0 && len < threshold.min(PAGE_SIZE) => StoreKind::Compressed(len),
        _ => StoreKind::Huge,
    }
}
