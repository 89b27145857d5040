//! Telling faults from RAM hits in the hot/cold mode, and summarizing how long faults took.
//!
//! Each access's first read of its page is timed; a read slower than the threshold
//! (default 2 µs, far above a cache or TLB miss, below a swap-in) counts as faulted, and
//! only those durations are kept, as `u32` nanoseconds: 4 bytes per faulted access, so
//! percentiles stay exact. The process's major-fault count from `getrusage` is reported
//! beside them as the kernel's own view.

use std::time::Duration;

/// One thread's timings of its accesses.
pub struct Samples {
    threshold_ns: u32,
    accesses: u64,
    faulted_ns: Vec<u32>,
}

impl Samples {
    /// Empty samples; accesses longer than `threshold_ns` count as faulted.
    pub fn new(threshold_ns: u32) -> Self {
        Samples {
            threshold_ns,
            accesses: 0,
            faulted_ns: Vec::new(),
        }
    }

    /// Records one access that took `took`; returns whether it counts as faulted.
    pub fn record(&mut self, took: Duration) -> bool {
        self.accesses += 1;
        let ns = u32::try_from(took.as_nanos()).unwrap_or(u32::MAX);
        let faulted = ns > self.threshold_ns;
        if faulted {
            self.faulted_ns.push(ns);
        }
        faulted
    }

    /// Number of accesses recorded as faulted.
    pub fn faulted(&self) -> u64 {
        // CAST: a Vec's length fits in u64.
        self.faulted_ns.len() as u64
    }
}

/// The whole run's access timings and major faults.
#[derive(Default)]
pub struct FaultStats {
    accesses: u64,
    faulted_ns: Vec<u32>,
    majflt: u64,
}

impl FaultStats {
    /// Adds one thread's samples.
    pub fn add(&mut self, samples: Samples) {
        self.accesses += samples.accesses;
        self.faulted_ns.extend_from_slice(&samples.faulted_ns);
    }

    /// Adds major faults counted over an access phase.
    pub fn add_major_faults(&mut self, majflt: u64) {
        self.majflt += majflt;
    }

    /// The run's summary line; percentiles are 0.0 when no access faulted.
    pub fn summary_line(&mut self, hot_pages: u64) -> String {
        self.faulted_ns.sort_unstable();
        let us = |p| percentile(&self.faulted_ns, p).map_or(0.0, |ns| f64::from(ns) / 1000.0);
        format!(
            "swapcheck: accesses={} faulted={} fault_p50_us={:.1} fault_p99_us={:.1} hot_pages={hot_pages} majflt={}",
            self.accesses,
            self.faulted_ns.len(),
            us(50.0),
            us(99.0),
            self.majflt
        )
    }
}

/// The nearest-rank `p`th percentile (0 < p ≤ 100) of ascending `sorted`; `None` if empty.
///
/// The smallest value with at least `p`% of the values at or below it.
pub fn percentile(sorted: &[u32], p: f64) -> Option<u32> {
    debug_assert!(sorted.windows(2).all(|w| w[0] <= w[1]));
    // CAST: lengths are far below 2^52, exact in f64; the rank is in 1..=len after clamping.
    let rank = ((p / 100.0 * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len().max(1));
    sorted.get(rank - 1).copied()
}

/// The process's major-fault count so far (all threads), from `getrusage(RUSAGE_SELF)`.
pub fn major_faults() -> u64 {
    // SAFETY: `rusage` is plain old data, for which all zeros is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable `rusage`; RUSAGE_SELF needs nothing else.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    if rc != 0 {
        // Cannot fail with these arguments; report no faults rather than stop the run.
        return 0;
    }
    u64::try_from(usage.ru_majflt).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_known_inputs() {
        let hundred: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&hundred, 50.0), Some(50));
        assert_eq!(percentile(&hundred, 99.0), Some(99));
        assert_eq!(percentile(&hundred, 100.0), Some(100));
        assert_eq!(percentile(&hundred, 0.5), Some(1));
        let four = [10, 20, 30, 40];
        assert_eq!(percentile(&four, 50.0), Some(20));
        assert_eq!(percentile(&four, 51.0), Some(30));
        assert_eq!(percentile(&four, 99.0), Some(40));
        assert_eq!(percentile(&[7], 50.0), Some(7));
        assert_eq!(percentile(&[7], 99.0), Some(7));
        assert_eq!(percentile(&[], 50.0), None);
        // A long tail only moves p99.
        let mut tail = vec![3000; 990];
        tail.extend([900_000; 10]);
        assert_eq!(percentile(&tail, 50.0), Some(3000));
        assert_eq!(percentile(&tail, 99.0), Some(3000));
        tail.push(900_000);
        assert_eq!(percentile(&tail, 99.0), Some(900_000));
    }

    #[test]
    fn samples_keep_only_faulted_durations() {
        let mut s = Samples::new(2000);
        assert!(!s.record(Duration::from_nanos(150)));
        assert!(!s.record(Duration::from_nanos(2000)));
        assert!(s.record(Duration::from_nanos(2001)));
        assert!(s.record(Duration::from_secs(10)));
        assert_eq!(s.faulted(), 2);
        assert_eq!(s.faulted_ns, [2001, u32::MAX]);
    }

    #[test]
    fn summary_line_merges_threads() {
        let mut stats = FaultStats::default();
        let mut a = Samples::new(2000);
        for ns in [100, 5000, 25_000] {
            a.record(Duration::from_nanos(ns));
        }
        let mut b = Samples::new(2000);
        for ns in [300, 12_340, 7000, 400] {
            b.record(Duration::from_nanos(ns));
        }
        stats.add(a);
        stats.add(b);
        stats.add_major_faults(3);
        stats.add_major_faults(1);
        assert_eq!(
            stats.summary_line(42),
            "swapcheck: accesses=7 faulted=4 fault_p50_us=7.0 fault_p99_us=25.0 hot_pages=42 majflt=4"
        );
        assert_eq!(
            FaultStats::default().summary_line(1),
            "swapcheck: accesses=0 faulted=0 fault_p50_us=0.0 fault_p99_us=0.0 hot_pages=1 majflt=0"
        );
    }

    #[test]
    fn major_faults_do_not_go_backwards() {
        let before = major_faults();
        assert!(major_faults() >= before);
    }
}
