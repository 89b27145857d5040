//! Hot/cold passes: timed page accesses spread over the threads, instead of a full sweep.
//!
//! Each pass makes `accesses` accesses, split over the threads; thread `t` draws its pages
//! from its own [`AccessStream`] (seeded by the seed, the pass and `t`). An access times a
//! read of the page's first byte, which faults the page in if it is out, and then verifies
//! the whole page. The pass's rewrite then picks from the pages that were accessed.

use crate::faults::{major_faults, FaultStats, Samples};
use crate::hotcold::{AccessStream, HotSet};
use crate::options::HotCold;
use crate::sweep::{on_threads, thread_share};
use crate::workload::Workload;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// A set of page indices that threads can add to at once: one bit per page.
pub struct PageSet(Vec<AtomicU64>);

impl PageSet {
    pub fn new(pages: usize) -> Self {
        PageSet((0..pages.div_ceil(64)).map(|_| AtomicU64::new(0)).collect())
    }

    pub fn insert(&self, index: usize) {
        // Relaxed: readers only look after the writers' threads are joined.
        self.0[index / 64].fetch_or(1 << (index % 64), Ordering::Relaxed);
    }

    pub fn contains(&self, index: usize) -> bool {
        self.0[index / 64].load(Ordering::Relaxed) & (1 << (index % 64)) != 0
    }
}

/// The hot/cold mode for one run: its settings, the hot set, and the timings so far.
pub struct HotColdRun {
    set: HotSet,
    seed: u64,
    share: f64,
    accesses: u64,
    threshold_ns: u32,
    stats: FaultStats,
}

/// What one hot/cold pass did.
pub struct AccessPass {
    pub accesses: u64,
    pub hot: u64,
    pub mismatches: u64,
    pub faulted: u64,
    /// The pages accessed at least once.
    pub accessed: PageSet,
}

impl HotColdRun {
    pub fn new(options: &HotCold, seed: u64, pages: u64) -> Self {
        HotColdRun {
            set: HotSet::new(seed, pages, options.fraction),
            seed,
            share: options.share,
            accesses: options.accesses.unwrap_or(pages),
            threshold_ns: options.fault_threshold_ns,
            stats: FaultStats::default(),
        }
    }

    /// The settings line printed before the run starts.
    pub fn settings_line(&self) -> String {
        format!(
            "swapcheck: hot-cold: hot_pages={} hot-share={} accesses={} fault-threshold-ns={}",
            self.set.hot_pages(),
            self.share,
            self.accesses,
            self.threshold_ns
        )
    }

    /// The end-of-run line: accesses, faulted ones and their percentiles, major faults.
    pub fn summary_line(&mut self) -> String {
        self.stats.summary_line(self.set.hot_pages())
    }

    /// Makes pass `pass`'s accesses to `w` with `threads` threads, checking every page it
    /// touches; mismatches are counted in `w` as in a sweep, under the name `round`.
    pub fn pass(&mut self, w: &mut Workload, round: &str, pass: u32, threads: usize) -> AccessPass {
        let accessed = PageSet::new(w.region.pages());
        let majflt_before = major_faults();
        let this = &*self;
        let workload = &*w;
        let results = on_threads(threads, |thread| {
            let mut checker = workload.checker(round);
            let mut samples = Samples::new(this.threshold_ns);
            let mut hot = 0;
            let stream = AccessStream::new(&this.set, this.seed, this.share, pass, thread);
            let count = thread_share(this.accesses, threads, thread);
            for access in stream.take(usize::try_from(count).unwrap_or(usize::MAX)) {
                // CAST: drawn pages are below the region's page count, a usize.
                let index = access.page as usize;
                let start = Instant::now();
                workload.region.touch(index);
                samples.record(start.elapsed());
                checker.check(index);
                accessed.insert(index);
                hot += u64::from(access.hot);
            }
            (checker.tally, samples, hot)
        });
        self.stats
            .add_major_faults(major_faults().saturating_sub(majflt_before));
        let mut done = AccessPass {
            accesses: 0,
            hot: 0,
            mismatches: 0,
            faulted: 0,
            accessed,
        };
        let mut tallies = Vec::with_capacity(results.len());
        for (tally, samples, hot) in results {
            done.accesses += tally.checked;
            done.hot += hot;
            done.faulted += samples.faulted();
            self.stats.add(samples);
            tallies.push(tally);
        }
        done.mismatches = w.count(tallies);
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::{Mix, Pattern};
    use crate::region::Region;

    fn setup(pages: usize, accesses: u64) -> (Workload, HotColdRun) {
        let mut w = Workload::new(Region::new(pages).unwrap(), Pattern::new(4, Mix::Plain));
        w.fill();
        let options = HotCold {
            fraction: 0.2,
            share: 0.8,
            accesses: Some(accesses),
            fault_threshold_ns: 2000,
        };
        (w, HotColdRun::new(&options, 4, pages as u64))
    }

    #[test]
    fn page_set() {
        let set = PageSet::new(130);
        for i in [0, 63, 64, 129] {
            set.insert(i);
        }
        let members: Vec<usize> = (0..130).filter(|&i| set.contains(i)).collect();
        assert_eq!(members, [0, 63, 64, 129]);
    }

    #[test]
    fn passes_make_exactly_the_accesses_on_any_thread_count() {
        for threads in [1, 2, 3, 7] {
            let (mut w, mut run) = setup(500, 1001);
            let done = run.pass(&mut w, "t", 1, threads);
            assert_eq!(done.accesses, 1001);
            assert_eq!(done.mismatches, 0);
            assert_eq!(w.verified, 1001);
            // About 80% hot: 801 expected, standard deviation about 13.
            assert!((740..860).contains(&done.hot), "{}", done.hot);
            let accessed = (0..500).filter(|&i| done.accessed.contains(i)).count();
            assert!(accessed > 100 && accessed < 500, "{accessed}");
            assert!(run
                .summary_line()
                .starts_with("swapcheck: accesses=1001 faulted="));
        }
    }

    #[test]
    fn accesses_detect_a_corrupt_hot_page_every_time() {
        let (mut w, mut run) = setup(500, 5000);
        let hot_page = run.set.hot_page(0) as usize;
        w.region.page_mut(hot_page)[100] ^= 4;
        let done = run.pass(&mut w, "t", 1, 4);
        // 4000 hot accesses over 100 hot pages: this one is hit about 40 times.
        assert!(done.mismatches > 10, "{}", done.mismatches);
        assert_eq!(w.mismatches, done.mismatches);
        assert!(done.accessed.contains(hot_page));
    }

    #[test]
    fn rewrite_after_a_pass_only_takes_accessed_pages() {
        let (mut w, mut run) = setup(2000, 300);
        let done = run.pass(&mut w, "t", 1, 2);
        let before: Vec<bool> = (0..2000).map(|i| done.accessed.contains(i)).collect();
        let n = w.rewrite_where(1, 1.0, |i| done.accessed.contains(i));
        assert_eq!(n, before.iter().filter(|&&a| a).count() as u64);
        assert_eq!(w.verify_all("t", 3), 0);
    }
}
