//! Where the profiler's time comes from: the system's monotonic clock, or a clock that tests
//! move by hand.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// A monotonic clock in milliseconds.
pub trait Clock: Send + Sync {
    /// Milliseconds since an arbitrary, fixed origin; never decreases.
    fn now_ms(&self) -> u64;
}

/// The system's monotonic clock, counted from the clock's creation.
///
/// On Linux it reads `CLOCK_MONOTONIC_COARSE`: the time at the last kernel tick (a resolution
/// of 1 to 4 ms), read from the vDSO several times faster than the precise clock behind
/// [`Instant`]. The profiler reads the clock on every interpreted call and counts in buckets
/// of many milliseconds, so the coarse clock is the right trade. Elsewhere, or if the coarse
/// clock cannot be read, [`Instant`].
#[derive(Debug)]
pub struct SystemClock {
    origin: Instant,
    /// The coarse clock's reading at creation, if it can be read.
    coarse_origin: Option<u64>,
}

/// `CLOCK_MONOTONIC_COARSE` in milliseconds.
#[cfg(target_os = "linux")]
fn coarse_ms() -> Option<u64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a live, writable `timespec`, and `clock_gettime` writes only into it;
    // a clock id the kernel does not know makes it return -1 without touching memory.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
    if rc != 0 {
        return None;
    }
    let secs = u64::try_from(ts.tv_sec).ok()?;
    let nanos = u64::try_from(ts.tv_nsec).ok()?;
    Some(secs.saturating_mul(1000).saturating_add(nanos / 1_000_000))
}

#[cfg(not(target_os = "linux"))]
fn coarse_ms() -> Option<u64> {
    None
}

impl SystemClock {
    /// A clock whose origin is now.
    pub fn new() -> Self {
        SystemClock {
            origin: Instant::now(),
            coarse_origin: coarse_ms(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock::new()
    }
}

impl Clock for SystemClock {
    #[inline]
    fn now_ms(&self) -> u64 {
        match self.coarse_origin.zip(coarse_ms()) {
            Some((origin, now)) => now.saturating_sub(origin),
            None => u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX),
        }
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
    fn system_clock_is_monotonic_and_counts_milliseconds() {
        let c = SystemClock::new();
        #[cfg(target_os = "linux")]
        assert!(c.coarse_origin.is_some(), "the coarse clock is readable");
        let start = Instant::now();
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
        // Within a coarse tick (at most 4 ms at HZ=250; 10 ms at HZ=100) of the precise clock.
        assert!(
            b >= a + 50 - 10 && b <= a + elapsed + 10,
            "{a} -> {b} in {elapsed} ms"
        );
    }
}
