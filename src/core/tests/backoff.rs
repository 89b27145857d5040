//! Tests of the back-off from a failing backing device: the delays double from the first
//! to the cap and end with a success, refused attempts are counted, and over any run of
//! failures the attempts admitted in a window of `T` ms are at most
//! `T / MAX_DELAY_MS + DOUBLINGS + 1`.

use ghostswap_core::backoff::{Backoff, DOUBLINGS, INITIAL_DELAY_MS, MAX_DELAY_MS};
use proptest::prelude::*;

#[test]
fn delays_double_up_to_the_cap() {
    let mut backoff = Backoff::new();
    let mut now = 5000;
    let mut delays = Vec::new();
    for _ in 0..10 {
        assert!(backoff.admit(now));
        backoff.on_failure(now);
        delays.push(backoff.delay_ms());
        assert_eq!(backoff.retry_at_ms(), Some(now + backoff.delay_ms()));
        // Held back until the delay has passed, not a millisecond less.
        assert!(!backoff.admit(now + backoff.delay_ms() - 1));
        now += backoff.delay_ms();
    }
    assert_eq!(
        delays,
        [100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000, 10_000]
    );
    assert_eq!(DOUBLINGS, 7);
    assert_eq!(backoff.failures(), 10);
    assert_eq!(backoff.deferred(), 10);
}

#[test]
fn a_success_ends_the_back_off() {
    let mut backoff = Backoff::new();
    assert_eq!(backoff.retry_at_ms(), None);
    backoff.on_failure(0);
    backoff.on_failure(100);
    assert_eq!(backoff.delay_ms(), 2 * INITIAL_DELAY_MS);
    backoff.on_success();
    assert_eq!((backoff.delay_ms(), backoff.failures()), (0, 0));
    assert_eq!(backoff.retry_at_ms(), None);
    assert!(backoff.admit(101));
    // The next failure starts again from the first delay.
    backoff.on_failure(200);
    assert_eq!(backoff.delay_ms(), INITIAL_DELAY_MS);
    assert_eq!(backoff.deferred(), 0);
}

#[test]
fn the_clock_may_reach_its_end() {
    let mut backoff = Backoff::new();
    backoff.on_failure(u64::MAX - 10);
    assert_eq!(backoff.retry_at_ms(), Some(u64::MAX));
    assert!(!backoff.admit(u64::MAX - 1));
    assert!(backoff.admit(u64::MAX));
}

/// Runs attempts at `times` (sorted), each admitted one failing, and returns the times of
/// those admitted.
fn admitted(times: &[u64]) -> (Vec<u64>, Backoff) {
    let mut backoff = Backoff::new();
    let mut runs = Vec::new();
    for &now in times {
        if backoff.admit(now) {
            backoff.on_failure(now);
            runs.push(now);
        }
    }
    (runs, backoff)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Over any run of failures, the attempts in any window of `window` ms are bounded, and
    /// every attempt asked for is admitted or counted as deferred.
    #[test]
    fn attempts_in_a_window_are_bounded(
        gaps in prop::collection::vec(prop_oneof![8 => 0u64..60, 1 => 0u64..30_000], 1..800),
        start in 0u64..1_000_000,
        window in 1u64..120_000,
        offset in 0u64..200_000,
    ) {
        let times: Vec<u64> = gaps
            .iter()
            .scan(start, |now, gap| {
                *now += gap;
                Some(*now)
            })
            .collect();
        let (runs, backoff) = admitted(&times);
        prop_assert_eq!(runs.len() as u64 + backoff.deferred(), times.len() as u64);
        let from = start + offset;
        let inside = runs.iter().filter(|&&t| t >= from && t < from + window).count() as u64;
        let bound = window / MAX_DELAY_MS + u64::from(DOUBLINGS) + 1;
        prop_assert!(
            inside <= bound,
            "{} attempts in {} ms from {}, bound {}",
            inside,
            window,
            from,
            bound
        );
        // Consecutive attempts are at least the delay apart, which doubles to the cap.
        let mut delay = INITIAL_DELAY_MS;
        for pair in runs.windows(2) {
            prop_assert!(pair[1] - pair[0] >= delay);
            delay = (delay * 2).min(MAX_DELAY_MS);
        }
    }
}

/// The bound is tight enough to mean something: without the back-off, the attempts asked
/// for every 10 ms would break it many times over, and with it a long run of failures
/// settles at one attempt per `MAX_DELAY_MS`.
#[test]
fn a_storm_of_kicks_is_held_to_the_bound() {
    let times: Vec<u64> = (0..60_000).step_by(10).collect();
    let (runs, backoff) = admitted(&times);
    // 100, 200, ... 6400 (12 700 ms), then every 10 s: at 0, 100, 300, ..., 12 700,
    // 22 700, 32 700, 42 700, 52 700.
    assert_eq!(runs.len(), 8 + 4);
    assert!(runs.len() as u64 <= 60_000 / MAX_DELAY_MS + u64::from(DOUBLINGS) + 1);
    assert_eq!(backoff.deferred(), times.len() as u64 - runs.len() as u64);
    assert_eq!(backoff.delay_ms(), MAX_DELAY_MS);
}
