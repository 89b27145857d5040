//! The hot/cold access mode's choices: which pages are hot, and which page each access hits.
//!
//! The hot set must be scattered over the region (a contiguous hot range would let the
//! driver keep it in a few extents), exactly `fraction * pages` pages large (±1), and
//! cheap to draw from without a list of its members. A seeded pseudo-random permutation
//! `perm` of the page indices gives all three: the hot pages are `perm(0..hot)` and the
//! cold pages `perm(hot..pages)`.

use crate::content::{mix64, SplitMix};

const SALT_PERMUTATION: u64 = 0x9b05_688c_2b3e_6c1f;
const SALT_ACCESS: u64 = 0x1f83_d9ab_fb41_bd6b;
/// Feistel rounds; four make a good-looking permutation of a small domain.
const ROUNDS: usize = 4;

/// A pseudo-random bijection of `0..n`, keyed by a seed.
///
/// A balanced Feistel network is a bijection of `0..4^h` for any round function (here a
/// seeded hash of the half word); values that land at or above `n` are fed through again
/// ("cycle walking"), which stays a bijection of `0..n` because `4^h < 4n`, so a walk ends
/// after fewer than four steps on average.
#[derive(Clone, Debug)]
struct Permutation {
    n: u64,
    half_bits: u32,
    keys: [u64; ROUNDS],
}

impl Permutation {
    fn new(seed: u64, n: u64) -> Self {
        let mut half_bits = 1;
        while half_bits < 32 && (1u64 << (2 * half_bits)) < n {
            half_bits += 1;
        }
        let mut keys = [0; ROUNDS];
        for (round, key) in (0u64..).zip(keys.iter_mut()) {
            *key = mix64(seed ^ SALT_PERMUTATION ^ round);
        }
        Permutation { n, half_bits, keys }
    }

    /// The image of `x`, for `x < n`.
    fn apply(&self, mut x: u64) -> u64 {
        debug_assert!(x < self.n);
        loop {
            x = self.feistel(x);
            if x < self.n {
                return x;
            }
        }
    }

    fn feistel(&self, x: u64) -> u64 {
        let mask = (1u64 << self.half_bits) - 1;
        let (mut left, mut right) = (x >> self.half_bits, x & mask);
        for key in self.keys {
            (left, right) = (right, left ^ (mix64(right ^ key) & mask));
        }
        left << self.half_bits | right
    }
}

/// Draws uniformly from `0..n` (`n > 0`) with one 64-bit random word, by multiply-shift.
fn below(word: u64, n: u64) -> u64 {
    // CAST: the product's high half is below `n`, so it fits in u64.
    ((u128::from(word) * u128::from(n)) >> 64) as u64
}

/// Maps a probability in `[0, 1]` to a threshold on uniform 64-bit words.
fn threshold(p: f64) -> u64 {
    // CAST: `p * 2^64` is at most 2^64, and float-to-int casts saturate.
    (p * 18_446_744_073_709_551_616.0) as u64
}

/// The run's hot pages: a fixed, scattered set chosen by the seed.
#[derive(Clone, Debug)]
pub struct HotSet {
    permutation: Permutation,
    hot: u64,
}

impl HotSet {
    /// Picks `fraction * pages` hot pages (rounded; at least one, and at least one cold page
    /// when there are two pages or more).
    pub fn new(seed: u64, pages: u64, fraction: f64) -> Self {
        debug_assert!(pages > 0);
        // CAST: page counts are below 2^40, exact in f64; the product rounds into range.
        let hot =
            ((fraction * pages as f64).round() as u64).clamp(1, pages.saturating_sub(1).max(1));
        HotSet {
            permutation: Permutation::new(seed, pages),
            hot,
        }
    }

    /// Number of hot pages.
    pub fn hot_pages(&self) -> u64 {
        self.hot
    }

    /// Number of cold pages.
    pub fn cold_pages(&self) -> u64 {
        self.permutation.n - self.hot
    }

    /// The `rank`th hot page, for `rank < hot_pages()`.
    pub fn hot_page(&self, rank: u64) -> u64 {
        self.permutation.apply(rank)
    }

    /// The `rank`th cold page, for `rank < cold_pages()`.
    pub fn cold_page(&self, rank: u64) -> u64 {
        self.permutation.apply(self.hot + rank)
    }
}

/// One access: which page, and whether it was drawn from the hot set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    pub page: u64,
    pub hot: bool,
}

/// An endless stream of accesses: hot with probability `share`, uniform within each set.
pub struct AccessStream<'a> {
    set: &'a HotSet,
    rng: SplitMix,
    hot_below: u64,
}

impl<'a> AccessStream<'a> {
    /// The stream of thread `thread` in pass `pass`; the same arguments give the same stream.
    pub fn new(set: &'a HotSet, seed: u64, share: f64, pass: u32, thread: usize) -> Self {
        // CAST: thread numbers are at most `MAX_THREADS`, exact in u64.
        let stream = u64::from(pass) << 32 | thread as u64;
        AccessStream {
            set,
            rng: SplitMix(mix64(seed ^ SALT_ACCESS) ^ mix64(stream.wrapping_add(1))),
            hot_below: threshold(share),
        }
    }
}

impl Iterator for AccessStream<'_> {
    type Item = Access;

    fn next(&mut self) -> Option<Access> {
        let cold = self.set.cold_pages();
        let hot = cold == 0 || self.rng.next() < self.hot_below;
        let word = self.rng.next();
        Some(if hot {
            Access {
                page: self.set.hot_page(below(word, self.set.hot_pages())),
                hot: true,
            }
        } else {
            Access {
                page: self.set.cold_page(below(word, cold)),
                hot: false,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn hot_pages(set: &HotSet) -> HashSet<u64> {
        (0..set.hot_pages()).map(|r| set.hot_page(r)).collect()
    }

    #[test]
    fn permutation_is_a_bijection() {
        for n in [1u64, 2, 3, 4, 5, 15, 16, 17, 1000, 4097] {
            let p = Permutation::new(3, n);
            let mut image: Vec<u64> = (0..n).map(|x| p.apply(x)).collect();
            image.sort_unstable();
            assert!(image.iter().copied().eq(0..n), "n={n}");
        }
    }

    #[test]
    fn hot_set_size_is_fraction_of_pages() {
        for pages in [2u64, 3, 10, 99, 1000, 12_345] {
            for fraction in [0.01, 0.2, 0.5, 0.8, 0.99] {
                let set = HotSet::new(1, pages, fraction);
                let want = fraction * pages as f64;
                let got = set.hot_pages();
                assert!(
                    (got as f64 - want).abs() <= 1.0,
                    "{pages} {fraction}: {got}"
                );
                assert!(got >= 1 && set.cold_pages() >= 1);
                assert_eq!(hot_pages(&set).len() as u64, got, "hot pages are distinct");
                let cold: HashSet<u64> = (0..set.cold_pages()).map(|r| set.cold_page(r)).collect();
                assert!(cold.is_disjoint(&hot_pages(&set)));
                assert_eq!(cold.len() as u64 + got, pages);
            }
        }
        let single = HotSet::new(1, 1, 0.2);
        assert_eq!((single.hot_pages(), single.cold_pages()), (1, 0));
    }

    #[test]
    fn hot_set_is_deterministic_per_seed() {
        let a = hot_pages(&HotSet::new(42, 10_000, 0.2));
        assert_eq!(a, hot_pages(&HotSet::new(42, 10_000, 0.2)));
        let b = hot_pages(&HotSet::new(43, 10_000, 0.2));
        assert_ne!(a, b);
        // Unrelated sets overlap about as much as chance says (0.2 * 2000 = 400).
        let common = a.intersection(&b).count();
        assert!((300..500).contains(&common), "{common}");
    }

    #[test]
    fn hot_set_is_spread_across_the_region() {
        let pages = 80_000;
        let set = HotSet::new(7, pages, 0.2);
        let mut per_tenth = [0u64; 10];
        for page in hot_pages(&set) {
            per_tenth[(page * 10 / pages) as usize] += 1;
        }
        // 1600 expected per tenth, standard deviation about 36.
        for n in per_tenth {
            assert!((1450..1750).contains(&n), "{per_tenth:?}");
        }
        // Not a contiguous range either: few hot pages have a hot successor (about 20%).
        let hot = hot_pages(&set);
        let runs = hot.iter().filter(|&&p| hot.contains(&(p + 1))).count();
        assert!(runs < hot.len() / 4, "{runs}");
    }

    #[test]
    fn share_of_hot_accesses_is_close_to_share() {
        let set = HotSet::new(5, 50_000, 0.1);
        let hot = hot_pages(&set);
        for share in [0.5, 0.8, 0.95] {
            let draws = 200_000;
            let mut hits = 0;
            for a in AccessStream::new(&set, 5, share, 1, 0).take(draws) {
                assert_eq!(a.hot, hot.contains(&a.page), "page {}", a.page);
                hits += usize::from(a.hot);
            }
            let got = hits as f64 / draws as f64;
            assert!((got - share).abs() < 0.01, "{share}: {got}");
        }
    }

    #[test]
    fn accesses_cover_both_sets_uniformly() {
        let set = HotSet::new(9, 100, 0.2);
        let mut counts = [0u32; 100];
        for a in AccessStream::new(&set, 9, 0.8, 1, 0).take(100_000) {
            counts[a.page as usize] += 1;
        }
        // Hot pages: 80_000 / 20 = 4000 each; cold: 20_000 / 80 = 250 each.
        for r in 0..set.hot_pages() {
            let n = counts[set.hot_page(r) as usize];
            assert!((3600..4400).contains(&n), "hot {n}");
        }
        for r in 0..set.cold_pages() {
            let n = counts[set.cold_page(r) as usize];
            assert!((170..330).contains(&n), "cold {n}");
        }
    }

    #[test]
    fn streams_are_deterministic_and_distinct_per_thread_and_pass() {
        let set = HotSet::new(1, 10_000, 0.2);
        let take = |pass, thread| -> Vec<Access> {
            AccessStream::new(&set, 1, 0.8, pass, thread)
                .take(100)
                .collect()
        };
        assert_eq!(take(1, 0), take(1, 0));
        assert_ne!(take(1, 0), take(1, 1));
        assert_ne!(take(1, 0), take(2, 0));
    }

    #[test]
    fn below_and_threshold() {
        assert_eq!(below(0, 10), 0);
        assert_eq!(below(u64::MAX, 10), 9);
        assert_eq!(below(1 << 63, 10), 5);
        assert_eq!(threshold(0.0), 0);
        assert_eq!(threshold(1.0), u64::MAX);
        assert_eq!(threshold(0.5), 1 << 63);
    }
}
