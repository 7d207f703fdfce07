//! The transition clock: the system's monotonic clock in nanoseconds.
//!
//! On Linux it is `clock_gettime(CLOCK_MONOTONIC)`, read from the vDSO: a little cheaper than
//! `Instant::now()` plus the subtraction from an origin that turns it into a number
//! (`examples/transition_cost.rs` measures both; the crate README has the figures). The coarse
//! clock the runtime's hotness window uses is too coarse here (1 to 4 ms steps, while frames
//! take microseconds); the raw TSC would be cheaper still but needs calibrating and is not
//! guaranteed to agree across cores. Elsewhere, [`Instant`] against a process-wide origin.

/// Nanoseconds on the monotonic clock (an arbitrary origin, fixed while the system runs).
#[cfg(target_os = "linux")]
#[inline]
pub(crate) fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a live, writable `timespec` and `clock_gettime` writes only into it.
    // CLOCK_MONOTONIC exists on every Linux this builds for, so the call cannot fail; were it
    // to, `ts` stays zero and time stands still rather than anything unsound happening.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

/// Nanoseconds since the first read in this process.
#[cfg(not(target_os = "linux"))]
#[inline]
pub(crate) fn monotonic_ns() -> u64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    let origin = *ORIGIN.get_or_init(Instant::now);
    u64::try_from(origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn monotonic_and_in_nanoseconds() {
        let start = Instant::now();
        let a = monotonic_ns();
        let mut last = a;
        for _ in 0..1000 {
            let t = monotonic_ns();
            assert!(t >= last);
            last = t;
        }
        std::thread::sleep(Duration::from_millis(20));
        let b = monotonic_ns();
        let elapsed = start.elapsed().as_nanos() as u64;
        assert!(b - a >= 20_000_000, "{} ns", b - a);
        assert!(b - a <= elapsed, "{} ns, Instant says {elapsed}", b - a);
    }
}
