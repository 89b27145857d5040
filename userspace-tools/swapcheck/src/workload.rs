//! The workload state and its whole-region steps: fill, verify sweeps and rewrites.

use crate::content::{Class, Mismatch, Pattern, PAGE_SIZE};
use crate::region::Region;
use crate::sweep::{on_threads, thread_pages};
use std::sync::atomic::{AtomicU64, Ordering};

/// How many mismatches are described individually, over the whole run and all threads.
const MAX_REPORTED: u64 = 10;

/// The region, each page's generation, and the counters.
pub struct Workload {
    pub region: Region,
    pattern: Pattern,
    generations: Vec<u32>,
    /// Page checks over all rounds.
    pub verified: u64,
    /// Page checks that failed.
    pub mismatches: u64,
    /// Mismatches described so far; shared by the checking threads, so that
    /// `MAX_REPORTED` holds for the run and not per thread.
    described: AtomicU64,
}

/// Page checks done by one thread in one round.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tally {
    pub checked: u64,
    pub mismatched: u64,
}

/// Checks pages for one thread in one round, describing the first mismatches of the run.
pub struct Checker<'a> {
    workload: &'a Workload,
    round: &'a str,
    scratch: Box<[u8; PAGE_SIZE]>,
    pub tally: Tally,
}

impl Checker<'_> {
    /// Checks page `index` against its current generation; returns whether it matched.
    pub fn check(&mut self, index: usize) -> bool {
        let w = self.workload;
        let generation = w.generations[index];
        // CAST: the page count was checked against MAX_PAGES, so usize -> u64 is exact.
        let page_number = index as u64;
        self.tally.checked += 1;
        let Err(m) = w.pattern.check(
            page_number,
            generation,
            w.region.page(index),
            &mut self.scratch,
        ) else {
            return true;
        };
        self.tally.mismatched += 1;
        if w.take_description() {
            report(
                self.round,
                page_number,
                generation,
                w.pattern.class(page_number, generation),
                &m,
            );
        }
        false
    }
}

impl Workload {
    /// A workload over `region` whose pages are all at generation 0 (not yet filled).
    pub fn new(region: Region, pattern: Pattern) -> Self {
        Workload {
            generations: vec![0; region.pages()],
            region,
            pattern,
            verified: 0,
            mismatches: 0,
            described: AtomicU64::new(0),
        }
    }

    /// A checker for one thread of round `round` (named in mismatch reports).
    pub fn checker<'a>(&'a self, round: &'a str) -> Checker<'a> {
        Checker {
            workload: self,
            round,
            scratch: Box::new([0; PAGE_SIZE]),
            tally: Tally::default(),
        }
    }

    /// Whether the next mismatch is still described, counting it if so.
    fn take_description(&self) -> bool {
        self.described
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < MAX_REPORTED).then_some(n + 1)
            })
            .is_ok()
    }

    /// Adds the threads' tallies of one round to the run's counters; returns the round's
    /// mismatches.
    pub fn count(&mut self, tallies: impl IntoIterator<Item = Tally>) -> u64 {
        let mut found = 0;
        for t in tallies {
            self.verified += t.checked;
            found += t.mismatched;
        }
        self.mismatches += found;
        found
    }

    /// Writes generation 0 of every page.
    pub fn fill(&mut self) {
        for index in 0..self.region.pages() {
            // CAST: the page count was checked against MAX_PAGES, so usize -> u64 is exact.
            self.pattern.fill(
                index as u64,
                self.generations[index],
                self.region.page_mut(index),
            );
        }
    }

    /// Verifies every page with `threads` threads (see [`thread_pages`]); returns the number
    /// of mismatches in this round.
    pub fn verify_all(&mut self, round: &str, threads: usize) -> u64 {
        let this = &*self;
        let pages = this.region.pages();
        let tallies = on_threads(threads, |thread| {
            let mut checker = this.checker(round);
            for index in thread_pages(pages, threads, thread) {
                checker.check(index);
            }
            checker.tally
        });
        self.count(tallies)
    }

    /// Moves the pages selected for `pass` to their next generation; returns how many.
    pub fn rewrite(&mut self, pass: u32, fraction: f64) -> u64 {
        self.rewrite_where(pass, fraction, |_| true)
    }

    /// Like [`Workload::rewrite`], but only among the pages for which `candidate` holds.
    pub fn rewrite_where(
        &mut self,
        pass: u32,
        fraction: f64,
        candidate: impl Fn(usize) -> bool,
    ) -> u64 {
        let mut rewritten = 0;
        for index in 0..self.region.pages() {
            if candidate(index) && self.pattern.rewrite_selected(index as u64, pass, fraction) {
                self.generations[index] += 1;
                self.pattern.fill(
                    index as u64,
                    self.generations[index],
                    self.region.page_mut(index),
                );
                rewritten += 1;
            }
        }
        rewritten
    }
}

fn report(round: &str, index: u64, generation: u32, class: Class, m: &Mismatch) {
    let what = if m.all_zero {
        " (page is all zeros)".to_string()
    } else {
        match m.header {
            Some((i, g)) if (i, g) != (index, generation) => {
                format!(" (page holds the header of page {i} gen {g})")
            }
            _ => String::new(),
        }
    };
    println!(
        "swapcheck: MISMATCH {round}: page={index} gen={generation} class={} offset={} expected=0x{:02x} actual=0x{:02x}{what}",
        class.name(),
        m.offset,
        m.expected,
        m.actual
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::Mix;

    fn workload(pages: usize) -> Workload {
        let mut w = Workload::new(Region::new(pages).unwrap(), Pattern::new(99, Mix::Mixed));
        w.fill();
        w
    }

    #[test]
    fn workload_round_trip_and_detects_corruption() {
        let pages = 64;
        let mut w = workload(pages);
        assert_eq!(w.verify_all("t", 1), 0);
        let n = w.rewrite(1, 0.5);
        assert!(n > 0 && n < pages as u64);
        assert_eq!(w.verify_all("t", 1), 0);
        w.region.page_mut(17)[1234] ^= 1;
        assert_eq!(w.verify_all("t", 1), 1);
        assert_eq!(w.verified, 3 * pages as u64);
        assert_eq!(w.mismatches, 1);
    }

    #[test]
    fn threaded_sweeps_count_exactly() {
        let pages = 301;
        let mut w = workload(pages);
        let bad = [0, 1, 2, 150, 151, 299, 300];
        for &i in &bad {
            w.region.page_mut(i)[7] ^= 0x80;
        }
        let mut rounds = 0;
        for threads in 1..=7 {
            assert_eq!(w.verify_all("t", threads), bad.len() as u64, "{threads}");
            rounds += 1;
        }
        assert_eq!(w.verified, rounds * pages as u64);
        assert_eq!(w.mismatches, rounds * bad.len() as u64);
        // Only the first MAX_REPORTED mismatches of the run were described.
        assert_eq!(w.described.load(Ordering::Relaxed), MAX_REPORTED);
    }

    #[test]
    fn rewrite_where_only_touches_candidates() {
        let pages = 200;
        let mut w = workload(pages);
        let n = w.rewrite_where(1, 1.0, |i| i % 3 == 0);
        assert_eq!(n, 67);
        for (i, &g) in w.generations.iter().enumerate() {
            assert_eq!(g, u32::from(i % 3 == 0));
        }
        assert_eq!(w.verify_all("t", 3), 0);
    }
}
