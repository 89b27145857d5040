//! How work is split over `--threads` threads, and running it on them.
//!
//! A sweep over the region should make the swap device serve concurrent reads of two kinds:
//! of neighbouring pages, which the driver keeps in one compressed extent, and of far-apart
//! pages. So thread `t` of `n` visits pages `t, t + n, t + 2n, ...`: the threads that start
//! together read adjacent pages at about the same time. The lower half of the threads starts
//! at page 0, the upper half at the middle of the region (wrapping round to the start at the
//! end), so two far-apart parts of the region are read at once. With one thread the sweep is
//! plain `0..pages`.

/// The pages thread `thread` of `threads` visits in one sweep over `pages` pages, in order.
///
/// Over `thread in 0..threads` every page comes exactly once.
pub fn thread_pages(pages: usize, threads: usize, thread: usize) -> impl Iterator<Item = usize> {
    debug_assert!(thread < threads);
    // Positions `k` in this thread's residue class stand for pages `thread + k * threads`.
    let count = pages.saturating_sub(thread).div_ceil(threads);
    let start = if thread < threads.div_ceil(2) {
        0
    } else {
        (pages / 2)
            .saturating_sub(thread)
            .div_ceil(threads)
            .min(count)
    };
    (start..count)
        .chain(0..start)
        .map(move |k| thread + k * threads)
}

/// Thread `thread`'s part of `total` work items split over `threads`; the parts sum to `total`.
pub fn thread_share(total: u64, threads: usize, thread: usize) -> u64 {
    // CAST: thread counts are at most `MAX_THREADS`, exact in u64.
    let (n, t) = (threads as u64, thread as u64);
    total / n + u64::from(t < total % n)
}

/// Runs `work(thread)` for every `thread in 0..threads` at once, returning the results in
/// thread order.
///
/// One thread runs on the caller's thread, so a single-threaded run spawns nothing.
///
/// # Panics
///
/// If a worker panics, with that worker's panic.
pub fn on_threads<R: Send>(threads: usize, work: impl Fn(usize) -> R + Sync) -> Vec<R> {
    if threads <= 1 {
        return vec![work(0)];
    }
    let work = &work;
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads).map(|t| s.spawn(move || work(t))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_exactly_once_per_sweep() {
        for threads in 1..=7 {
            for pages in [1, 2, 3, 6, 7, 8, 13, 64, 97, 100, 1001] {
                let mut seen = vec![0u32; pages];
                for t in 0..threads {
                    for page in thread_pages(pages, threads, t) {
                        assert_eq!(page % threads, t, "page {page} on thread {t}/{threads}");
                        seen[page] += 1;
                    }
                }
                assert!(
                    seen.iter().all(|&c| c == 1),
                    "threads={threads} pages={pages}: {seen:?}"
                );
            }
        }
    }

    #[test]
    fn one_thread_is_the_plain_sweep() {
        assert!(thread_pages(10, 1, 0).eq(0..10));
    }

    #[test]
    fn neighbours_together_and_upper_half_from_the_middle() {
        let first: Vec<usize> = (0..4)
            .map(|t| thread_pages(1000, 4, t).next().unwrap())
            .collect();
        assert_eq!(first, [0, 1, 502, 503]);
        // Ascending from the start, except for the single wrap of a middle starter.
        let order: Vec<usize> = thread_pages(1000, 4, 2).collect();
        assert_eq!(order.len(), 250);
        assert_eq!(&order[..2], [502, 506]);
        assert_eq!(order[124..127], [998, 2, 6]);
        assert_eq!(*order.last().unwrap(), 498);
        // Odd thread counts: the larger half starts at page 0.
        let first: Vec<usize> = (0..3)
            .map(|t| thread_pages(999, 3, t).next().unwrap())
            .collect();
        assert_eq!(first, [0, 1, 500]);
    }

    #[test]
    fn more_threads_than_pages() {
        for t in 0..7 {
            let pages: Vec<usize> = thread_pages(3, 7, t).collect();
            assert_eq!(pages, if t < 3 { vec![t] } else { vec![] });
        }
    }

    #[test]
    fn shares_sum_to_the_total() {
        for threads in 1..=7 {
            for total in [0u64, 1, 5, 6, 7, 100, 1_000_003] {
                let shares: Vec<u64> = (0..threads)
                    .map(|t| thread_share(total, threads, t))
                    .collect();
                assert_eq!(shares.iter().sum::<u64>(), total);
                let (lo, hi) = (shares.iter().min(), shares.iter().max());
                assert!(hi.unwrap() - lo.unwrap() <= 1, "{shares:?}");
            }
        }
    }

    #[test]
    fn runs_on_all_threads_in_order() {
        for threads in [1, 2, 5] {
            let ids = on_threads(threads, |t| (t, std::thread::current().id()));
            let order: Vec<usize> = ids.iter().map(|&(t, _)| t).collect();
            assert_eq!(order, (0..threads).collect::<Vec<_>>());
            let distinct: std::collections::HashSet<_> = ids.iter().map(|&(_, id)| id).collect();
            assert_eq!(distinct.len(), threads);
        }
    }
}
