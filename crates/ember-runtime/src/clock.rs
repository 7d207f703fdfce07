//! Where the runtime's time comes from: the profiler's clock, or a clock that tests move by
//! hand.

use ember_profile::timing;
use std::sync::atomic::{AtomicU64, Ordering};

/// A monotonic clock in milliseconds.
pub trait Clock: Send + Sync {
    /// Milliseconds since an arbitrary, fixed origin; never decreases.
    fn now_ms(&self) -> u64;

    /// The time in milliseconds when this thread's profiling clock
    /// ([`ember_profile::timing::now_ns`]) read `profiler_ns`, a reading the caller has just
    /// taken: the system clock converts it and reads nothing, a clock of its own reads itself.
    #[inline]
    fn ms_at(&self, profiler_ns: u64) -> u64 {
        let _ = profiler_ns;
        self.now_ms()
    }
}

/// The profiler's clock ([`ember_profile::timing::now_ns`]: the system's monotonic clock,
/// read from the time-stamp counter where the kernel keeps time with it) in whole
/// milliseconds.
///
/// A call reads the clock once: the reading starts the profiler's frame and, converted
/// here, dates the call for the runtime's window, idle eviction and tier-up.
#[derive(Debug, Default)]
pub struct SystemClock;

impl SystemClock {
    /// The system clock.
    pub fn new() -> Self {
        SystemClock
    }
}

impl Clock for SystemClock {
    #[inline]
    fn now_ms(&self) -> u64 {
        self.ms_at(timing::now_ns())
    }

    #[inline]
    fn ms_at(&self, profiler_ns: u64) -> u64 {
        profiler_ns / 1_000_000
    }
}

/// A clock that only moves when told to, for deterministic tests.
#[derive(Debug, Default)]
pub struct ManualClock {
    ms: AtomicU64,
}

impl ManualClock {
    /// A clock standing at `ms`.
    pub fn new(ms: u64) -> Self {
        ManualClock {
            ms: AtomicU64::new(ms),
        }
    }

    /// Moves the clock forward by `ms`.
    pub fn advance(&self, ms: u64) {
        self.ms.fetch_add(ms, Ordering::Relaxed);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.ms.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(5);
        assert_eq!(c.now_ms(), 5);
        c.advance(10);
        assert_eq!(c.now_ms(), 15);
    }

    #[test]
    fn system_clock_is_the_profilers_in_milliseconds() {
        let c = SystemClock::new();
        let start = std::time::Instant::now();
        let a = c.now_ms();
        let mut last = a;
        for _ in 0..1000 {
            let t = c.now_ms();
            assert!(t >= last);
            last = t;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        let b = c.now_ms();
        let elapsed = start.elapsed().as_millis() as u64;
        // Both readings and `elapsed` are truncated to the millisecond.
        assert!(
            b >= a + 49 && b <= a + elapsed + 2,
            "{a} -> {b} in {elapsed} ms"
        );
        assert_eq!(c.ms_at(7_999_999), 7);
        // A reading converts without reading anything: a manual profiling clock on this
        // thread moves it.
        let manual = ember_profile::ManualClock::install(3_000_000_000);
        assert_eq!(c.now_ms(), 3_000);
        manual.advance(2_500_000);
        assert_eq!(c.now_ms(), 3_002);
    }

    #[test]
    fn a_clock_of_its_own_ignores_the_profilers_reading() {
        let c = ManualClock::new(40);
        assert_eq!(c.ms_at(123_000_000), 40);
    }
}
