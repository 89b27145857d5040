//! Exponential back-off for writes to a failing backing device.
//!
//! Automatic writeback is kicked by every store that finds the pool over its high
//! watermark. While the backing device fails every write, each kick would otherwise write
//! (and fail) frame after frame: an I/O storm on a device already in trouble. A
//! [`Backoff`] holds runs back after a failure: the first failure allows the next attempt
//! [`INITIAL_DELAY_MS`] later, each further failure doubles the delay up to
//! [`MAX_DELAY_MS`], and a success ends the back-off. While holding back it counts the
//! attempts it refused ([`Backoff::deferred`]).
//!
//! It reads no clock: the caller passes its own, in milliseconds, that never goes
//! backwards (the module passes the monotonic boot time). So over any stretch of `T` ms
//! in which every attempt fails, at most `T / MAX_DELAY_MS + DOUBLINGS + 1` attempts run,
//! [`DOUBLINGS`] being the delays shorter than the cap (7 with the defaults).
//!
//! # Examples
//!
//! ```
//! use ghostswap_core::backoff::{Backoff, INITIAL_DELAY_MS};
//!
//! let mut backoff = Backoff::new();
//! assert!(backoff.admit(1000));
//! backoff.on_failure(1000);
//! assert!(!backoff.admit(1050)); // Held back, and counted.
//! assert_eq!(backoff.deferred(), 1);
//! assert!(backoff.admit(1000 + INITIAL_DELAY_MS));
//! backoff.on_failure(1100);
//! assert_eq!(backoff.delay_ms(), 2 * INITIAL_DELAY_MS); // Doubled.
//! backoff.on_success();
//! assert_eq!(backoff.delay_ms(), 0);
//! assert!(backoff.admit(1101));
//! ```

/// The delay after the first failure, in milliseconds: long enough that a burst of
/// kicks from stores does not turn into a burst of failed writes, short enough that a
/// transient error (a path failover) costs little.
pub const INITIAL_DELAY_MS: u64 = 100;

/// The longest delay, in milliseconds: a device that keeps failing is still tried every
/// ten seconds, so writeback resumes soon after it recovers.
pub const MAX_DELAY_MS: u64 = 10_000;

/// The number of delays shorter than [`MAX_DELAY_MS`] that doubling goes through from
/// [`INITIAL_DELAY_MS`]: `ceil(log2(MAX_DELAY_MS / INITIAL_DELAY_MS))`, 7.
pub const DOUBLINGS: u32 = doublings(INITIAL_DELAY_MS, MAX_DELAY_MS);

/// Returns how many times `delay` doubles before it reaches `cap`.
const fn doublings(mut delay: u64, cap: u64) -> u32 {
    let mut count: u32 = 0;
    while delay < cap {
        delay = delay.saturating_mul(2);
        count = count.saturating_add(1);
    }
    count
}

/// The back-off state of one backing device.
///
/// # Invariants
///
/// `delay_ms` is 0 (no failure since the last success) or from [`INITIAL_DELAY_MS`] to
/// [`MAX_DELAY_MS`]; with 0, every attempt is admitted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Backoff {
    /// The delay that the last failure set, or 0.
    delay_ms: u64,
    /// When the next attempt is admitted, on the caller's clock.
    retry_at_ms: u64,
    /// Failures since the last success.
    failures: u64,
    /// Attempts refused.
    deferred: u64,
}

impl Backoff {
    /// Creates a back-off that admits every attempt.
    pub const fn new() -> Self {
        Backoff {
            delay_ms: 0,
            retry_at_ms: 0,
            failures: 0,
            deferred: 0,
        }
    }

    /// Returns `true` if an attempt may run at `now_ms`; otherwise counts it as deferred
    /// and returns `false`.
    pub fn admit(&mut self, now_ms: u64) -> bool {
        if self.delay_ms == 0 || now_ms >= self.retry_at_ms {
            return true;
        }
        self.deferred = self.deferred.saturating_add(1);
        false
    }

    /// Records an attempt that failed at `now_ms`: the next is admitted after the first
    /// delay, or twice the last one, at most [`MAX_DELAY_MS`].
    pub fn on_failure(&mut self, now_ms: u64) {
        // INVARIANT: from the initial delay, doubled, up to the cap.
        self.delay_ms = if self.delay_ms == 0 {
            INITIAL_DELAY_MS
        } else {
            self.delay_ms.saturating_mul(2).min(MAX_DELAY_MS)
        };
        self.retry_at_ms = now_ms.saturating_add(self.delay_ms);
        self.failures = self.failures.saturating_add(1);
    }

    /// Records an attempt that succeeded: the back-off ends, every attempt is admitted.
    pub fn on_success(&mut self) {
        // INVARIANT: no failure since.
        self.delay_ms = 0;
        self.retry_at_ms = 0;
        self.failures = 0;
    }

    /// The current delay in milliseconds, 0 while not backing off.
    pub fn delay_ms(&self) -> u64 {
        self.delay_ms
    }

    /// When the next attempt is admitted, on the caller's clock, if backing off: for
    /// scheduling a retry.
    pub fn retry_at_ms(&self) -> Option<u64> {
        (self.delay_ms != 0).then_some(self.retry_at_ms)
    }

    /// Failures since the last success.
    pub fn failures(&self) -> u64 {
        self.failures
    }

    /// Attempts refused since the back-off was created.
    pub fn deferred(&self) -> u64 {
        self.deferred
    }
}
