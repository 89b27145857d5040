//! Page contents that can be regenerated from `(seed, page index, generation)` alone.
//!
//! Every page is non-zero (swapped-out zero pages never reach a swap device in 6.12, so a
//! zero page would test nothing) and distinct from every other page and from its own
//! earlier generations, so a device that returns a stale, misplaced or zeroed page is
//! caught. Pages that are not same-filled start with a 16-byte header:
//!
//! - bytes 0..8: `HEADER_MAGIC << 40 | index` (little endian),
//! - bytes 8..16: `class << 56 | seed tag << 32 | generation`,
//!
//! so a wrong page can be identified when it is reported. A same-filled page is one
//! non-zero 8-byte word repeated 512 times; the word is a bijective mix of
//! `(seed, index, generation)`, which keeps it distinct too.

/// Size of the pages the workload fills and checks.
pub const PAGE_SIZE: usize = 4096;

/// `"GSW"`: the top 24 bits of the first header word.
const HEADER_MAGIC: u64 = 0x47_53_57;
/// Page indices must stay below this (they share a word with the magic and generation).
pub const MAX_PAGES: u64 = 1 << 40;
/// Generations must stay below this (they are packed above the 40-bit index).
pub const MAX_GENERATION: u32 = 1 << 23;

const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;
const SALT_SEED: u64 = 0x6a09_e667_f3bc_c908;
const SALT_CLASS: u64 = 0xbb67_ae85_84ca_a73b;
const SALT_BODY: u64 = 0x3c6e_f372_fe94_f82b;
const SALT_TAIL: u64 = 0xa54f_f53a_5f1d_36f1;
const SALT_REWRITE: u64 = 0x510e_527f_ade6_82d1;

/// The splitmix64 finalizer: a bijection on `u64` that maps 0, and only 0, to 0.
#[inline(always)]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// splitmix64: a small, fast generator whose whole state is one word.
pub struct SplitMix(pub u64);

impl SplitMix {
    #[inline(always)]
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        mix64(self.0)
    }
}

/// Which content generator a run uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mix {
    /// Every page is [`Class::Random`].
    Plain,
    /// Each page picks one of the four classes by hash (25% each).
    Mixed,
}

/// What kind of content a page holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    /// Words from a small vocabulary separated by spaces: compresses well.
    Text = 0,
    /// One repeated non-zero 8-byte word: what zram calls a same-filled page.
    Same = 1,
    /// Pseudo-random bytes after the header: incompressible.
    Random = 2,
    /// First half like [`Class::Random`], second half one repeated non-zero word.
    HalfRandom = 3,
}

impl Class {
    /// Short lowercase name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Class::Text => "text",
            Class::Same => "same",
            Class::Random => "random",
            Class::HalfRandom => "half-random",
        }
    }

    fn from_bits(bits: u64) -> Class {
        match bits & 3 {
            0 => Class::Text,
            1 => Class::Same,
            2 => Class::Random,
            _ => Class::HalfRandom,
        }
    }
}

/// Vocabulary of the text class: 32 entries, so one random word picks 12 of them.
const VOCABULARY: [&[u8]; 32] = [
    b"the", b"swap", b"page", b"memory", b"kernel", b"block", b"device", b"slot", b"ghost",
    b"zone", b"cache", b"write", b"read", b"of", b"and", b"to", b"in", b"a", b"data", b"is",
    b"with", b"for", b"lru", b"cold", b"hot", b"anon", b"folio", b"map", b"free", b"store",
    b"load", b"entry",
];

/// Where the first differing byte of a page is, and what the page looks like instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// Byte offset of the first difference inside the page.
    pub offset: usize,
    /// Expected byte at `offset`.
    pub expected: u8,
    /// Byte found at `offset`.
    pub actual: u8,
    /// The whole page is zero.
    pub all_zero: bool,
    /// `(index, generation)` from the page's header, if it has a valid one.
    pub header: Option<(u64, u32)>,
}

/// The generator for one run: the seed and the mix, nothing else.
#[derive(Clone, Copy, Debug)]
pub struct Pattern {
    /// Derived from the seed, with bit 63 set so that `key ^ packed` is never 0.
    key: u64,
    mix: Mix,
}

impl Pattern {
    /// Creates the generator for `seed` and `mix`.
    pub fn new(seed: u64, mix: Mix) -> Self {
        Pattern {
            key: mix64(seed ^ SALT_SEED) | (1 << 63),
            mix,
        }
    }

    /// Packs `(index, generation)` injectively into the low 63 bits.
    #[inline(always)]
    fn packed(index: u64, generation: u32) -> u64 {
        debug_assert!(index < MAX_PAGES && generation < MAX_GENERATION);
        index | (u64::from(generation) << 40)
    }

    /// The class of page `index` at `generation`.
    #[inline]
    pub fn class(&self, index: u64, generation: u32) -> Class {
        match self.mix {
            Mix::Plain => Class::Random,
            Mix::Mixed => Class::from_bits(
                mix64(self.key ^ SALT_CLASS ^ Self::packed(index, generation)) >> 62,
            ),
        }
    }

    /// Whether page `index` is rewritten in `pass`, for a `fraction` between 0 and 1.
    pub fn rewrite_selected(&self, index: u64, pass: u32, fraction: f64) -> bool {
        if fraction >= 1.0 {
            return true;
        }
        let h = mix64(self.key ^ SALT_REWRITE ^ Self::packed(index, pass % MAX_GENERATION));
        // CAST: `fraction` is in [0, 1), so the product is in [0, 2^64) and saturates safely.
        h < (fraction * 18_446_744_073_709_551_616.0) as u64
    }

    /// The word a same-filled page repeats; never zero, distinct per `(index, generation)`.
    #[inline(always)]
    fn same_word(&self, index: u64, generation: u32) -> u64 {
        // `key` has bit 63 set and `packed` does not, so the input is non-zero, and `mix64`
        // is a bijection that maps only 0 to 0.
        mix64(self.key ^ Self::packed(index, generation))
    }

    #[inline(always)]
    fn header(&self, index: u64, generation: u32, class: Class) -> [u64; 2] {
        [
            HEADER_MAGIC << 40 | index,
            (class as u64) << 56 | (self.key & 0xff_ffff) << 32 | u64::from(generation),
        ]
    }

    /// Fills `page` with the content of page `index` at `generation`.
    pub fn fill(&self, index: u64, generation: u32, page: &mut [u8; PAGE_SIZE]) {
        let class = self.class(index, generation);
        let packed = Self::packed(index, generation);
        if class == Class::Same {
            fill_words(page, self.same_word(index, generation));
            return;
        }
        let [h0, h1] = self.header(index, generation, class);
        page[0..8].copy_from_slice(&h0.to_le_bytes());
        page[8..16].copy_from_slice(&h1.to_le_bytes());
        let mut rng = SplitMix(self.key ^ SALT_BODY ^ packed.rotate_left(17) ^ class as u64);
        match class {
            Class::Random => fill_random(&mut page[16..], &mut rng),
            Class::HalfRandom => {
                fill_random(&mut page[16..PAGE_SIZE / 2], &mut rng);
                let tail = mix64(self.key ^ SALT_TAIL ^ packed);
                fill_words(
                    &mut page[PAGE_SIZE / 2..],
                    if tail == 0 { GOLDEN } else { tail },
                );
            }
            Class::Text => fill_text(&mut page[16..], &mut rng),
            Class::Same => unreachable!("handled above"),
        }
    }

    /// Checks `page` against page `index` at `generation`; `scratch` is working space.
    pub fn check(
        &self,
        index: u64,
        generation: u32,
        page: &[u8; PAGE_SIZE],
        scratch: &mut [u8; PAGE_SIZE],
    ) -> Result<(), Mismatch> {
        self.fill(index, generation, scratch);
        if page == scratch {
            return Ok(());
        }
        // Only reached on a mismatch: the slow path may take its time.
        let offset = page
            .iter()
            .zip(scratch.iter())
            .position(|(a, b)| a != b)
            .expect("slices differ, so a differing byte exists");
        Err(Mismatch {
            offset,
            expected: scratch[offset],
            actual: page[offset],
            all_zero: page.iter().all(|&b| b == 0),
            header: decode_header(page),
        })
    }
}

/// Returns `(index, generation)` if `page` starts with a plausible header.
pub fn decode_header(page: &[u8; PAGE_SIZE]) -> Option<(u64, u32)> {
    let h0 = u64::from_le_bytes(page[0..8].try_into().ok()?);
    let h1 = u64::from_le_bytes(page[8..16].try_into().ok()?);
    if h0 >> 40 != HEADER_MAGIC || h1 >> 56 > 3 {
        return None;
    }
    // CAST: the generation is the low 32 bits of the second header word.
    Some((h0 & (MAX_PAGES - 1), h1 as u32))
}

#[inline(always)]
fn fill_words(bytes: &mut [u8], word: u64) {
    for chunk in bytes.chunks_exact_mut(8) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
}

#[inline(always)]
fn fill_random(bytes: &mut [u8], rng: &mut SplitMix) {
    for chunk in bytes.chunks_exact_mut(8) {
        chunk.copy_from_slice(&rng.next().to_le_bytes());
    }
}

fn fill_text(bytes: &mut [u8], rng: &mut SplitMix) {
    let mut pos = 0;
    let mut bits = 0u64;
    let mut left = 0;
    while pos < bytes.len() {
        if left == 0 {
            bits = rng.next();
            left = 12;
        }
        // CAST: masked to 5 bits, always a valid index into the 32-entry vocabulary.
        let word = VOCABULARY[(bits & 31) as usize];
        bits >>= 5;
        left -= 1;
        let n = word.len().min(bytes.len() - pos);
        bytes[pos..pos + n].copy_from_slice(&word[..n]);
        pos += n;
        if pos < bytes.len() {
            bytes[pos] = b' ';
            pos += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    fn page_of(p: &Pattern, index: u64, generation: u32) -> Box<[u8; PAGE_SIZE]> {
        let mut page = Box::new([0u8; PAGE_SIZE]);
        p.fill(index, generation, &mut page);
        page
    }

    fn entropy_bits_per_byte(bytes: &[u8]) -> f64 {
        let mut counts = [0usize; 256];
        for &b in bytes {
            counts[b as usize] += 1;
        }
        let n = bytes.len() as f64;
        counts
            .iter()
            .filter(|&&c| c > 0)
            .map(|&c| {
                let p = c as f64 / n;
                -p * p.log2()
            })
            .sum()
    }

    #[test]
    fn mix64_zero_only_for_zero() {
        assert_eq!(mix64(0), 0);
        for x in 1..10_000u64 {
            assert_ne!(mix64(x), 0);
            assert_ne!(mix64(x << 40), 0);
        }
    }

    #[test]
    fn pages_distinct_across_indices_generations_and_never_zero() {
        for mix in [Mix::Plain, Mix::Mixed] {
            let p = Pattern::new(42, mix);
            let mut seen = HashSet::new();
            for generation in 0..4 {
                for index in 0..3000 {
                    let page = page_of(&p, index, generation);
                    assert!(
                        page.iter().any(|&b| b != 0),
                        "{mix:?} page {index} gen {generation} is zero"
                    );
                    assert!(
                        seen.insert(page),
                        "{mix:?} page {index} gen {generation} repeats"
                    );
                }
            }
        }
    }

    #[test]
    fn seeds_give_different_pages() {
        for mix in [Mix::Plain, Mix::Mixed] {
            let a = Pattern::new(1, mix);
            let b = Pattern::new(2, mix);
            for index in 0..500 {
                assert_ne!(page_of(&a, index, 0), page_of(&b, index, 0));
            }
        }
    }

    #[test]
    fn generation_is_reproducible() {
        let p = Pattern::new(7, Mix::Mixed);
        let q = Pattern::new(7, Mix::Mixed);
        for index in 0..500 {
            assert_eq!(page_of(&p, index, 3), page_of(&q, index, 3));
        }
    }

    #[test]
    fn plain_pages_are_random_with_header() {
        let p = Pattern::new(9, Mix::Plain);
        for index in [0u64, 1, 12345, MAX_PAGES - 1] {
            let page = page_of(&p, index, 5);
            assert_eq!(p.class(index, 5), Class::Random);
            assert_eq!(decode_header(&page), Some((index, 5)));
            assert!(entropy_bits_per_byte(&page[16..]) > 7.8);
        }
    }

    #[test]
    fn mixed_uses_every_class_with_its_property() {
        let p = Pattern::new(3, Mix::Mixed);
        let mut counts: HashMap<Class, usize> = HashMap::new();
        let words: HashSet<&[u8]> = VOCABULARY.iter().copied().collect();
        for index in 0..4000 {
            let generation = (index % 3) as u32;
            let class = p.class(index, generation);
            *counts.entry(class).or_default() += 1;
            let page = page_of(&p, index, generation);
            match class {
                Class::Same => {
                    let first = &page[0..8];
                    assert!(first.iter().any(|&b| b != 0));
                    assert!(page.chunks_exact(8).all(|c| c == first));
                    assert_eq!(decode_header(&page), None);
                }
                Class::Text => {
                    assert_eq!(decode_header(&page), Some((index, generation)));
                    let body = &page[16..];
                    assert!(body.iter().all(|&b| b == b' ' || b.is_ascii_lowercase()));
                    // Every complete token is a vocabulary word (the last may be cut).
                    let tokens: Vec<&[u8]> = body.split(|&b| b == b' ').collect();
                    for t in &tokens[..tokens.len() - 1] {
                        assert!(
                            words.contains(t),
                            "unknown token {:?}",
                            String::from_utf8_lossy(t)
                        );
                    }
                    // Far from random: a few letters and a space, low byte entropy.
                    assert!(entropy_bits_per_byte(body) < 4.6);
                }
                Class::Random => {
                    assert_eq!(decode_header(&page), Some((index, generation)));
                    assert!(entropy_bits_per_byte(&page[16..]) > 7.8);
                }
                Class::HalfRandom => {
                    assert_eq!(decode_header(&page), Some((index, generation)));
                    assert!(entropy_bits_per_byte(&page[16..PAGE_SIZE / 2]) > 7.5);
                    let tail = &page[PAGE_SIZE / 2..];
                    let first = &tail[0..8];
                    assert!(first.iter().any(|&b| b != 0));
                    assert!(tail.chunks_exact(8).all(|c| c == first));
                }
            }
        }
        for class in [Class::Text, Class::Same, Class::Random, Class::HalfRandom] {
            let n = counts.get(&class).copied().unwrap_or(0);
            assert!(
                (800..1200).contains(&n),
                "{} pages of class {}",
                n,
                class.name()
            );
        }
    }

    #[test]
    fn same_words_distinct() {
        let p = Pattern::new(11, Mix::Mixed);
        let mut seen = HashSet::new();
        for generation in 0..8 {
            for index in 0..5000 {
                let w = p.same_word(index, generation);
                assert_ne!(w, 0);
                assert!(seen.insert(w));
            }
        }
    }

    #[test]
    fn check_accepts_correct_page() {
        let mut scratch = [0u8; PAGE_SIZE];
        for mix in [Mix::Plain, Mix::Mixed] {
            let p = Pattern::new(5, mix);
            for index in 0..200 {
                let page = page_of(&p, index, 2);
                assert_eq!(p.check(index, 2, &page, &mut scratch), Ok(()));
            }
        }
    }

    #[test]
    fn check_detects_a_flipped_byte_anywhere() {
        let mut scratch = [0u8; PAGE_SIZE];
        let p = Pattern::new(5, Mix::Mixed);
        for index in 0..64u64 {
            for offset in [0usize, 7, 15, 16, 100, 2047, 2048, 4095] {
                let mut page = page_of(&p, index, 1);
                page[offset] ^= 0x20;
                let m = p.check(index, 1, &page, &mut scratch).unwrap_err();
                assert_eq!(m.offset, offset);
                assert_eq!(m.actual, m.expected ^ 0x20);
                assert!(!m.all_zero);
            }
        }
    }

    #[test]
    fn check_detects_stale_misplaced_and_zero_pages() {
        let mut scratch = [0u8; PAGE_SIZE];
        let p = Pattern::new(5, Mix::Plain);
        let stale = page_of(&p, 10, 0);
        let m = p.check(10, 1, &stale, &mut scratch).unwrap_err();
        assert_eq!(m.header, Some((10, 0)));
        let other = page_of(&p, 11, 1);
        let m = p.check(10, 1, &other, &mut scratch).unwrap_err();
        assert_eq!(m.header, Some((11, 1)));
        let zero = [0u8; PAGE_SIZE];
        let m = p.check(10, 1, &zero, &mut scratch).unwrap_err();
        assert!(m.all_zero);
        assert_eq!(m.offset, 0);
    }

    #[test]
    fn rewrite_fraction_is_respected() {
        let p = Pattern::new(1, Mix::Plain);
        let n = 20_000u64;
        let picked = (0..n).filter(|&i| p.rewrite_selected(i, 1, 0.25)).count();
        assert!((4500..5500).contains(&picked), "{picked}");
        assert_eq!((0..n).filter(|&i| p.rewrite_selected(i, 1, 0.0)).count(), 0);
        assert_eq!(
            (0..n).filter(|&i| p.rewrite_selected(i, 1, 1.0)).count(),
            n as usize
        );
        // Different passes pick different pages.
        let a: Vec<bool> = (0..1000).map(|i| p.rewrite_selected(i, 1, 0.5)).collect();
        let b: Vec<bool> = (0..1000).map(|i| p.rewrite_selected(i, 2, 0.5)).collect();
        assert_ne!(a, b);
    }
}
