//! The transition clock: the system's monotonic clock in nanoseconds, read from the CPU's
//! time-stamp counter where the kernel itself keeps time with it.
//!
//! Every frame reads the clock twice, so its cost is part of every call's. On Linux on x86-64,
//! when the kernel's clocksource is `tsc` (it has checked that the counter runs at a constant
//! rate, does not stop in idle states and agrees across cores), a read is one `rdtsc` scaled
//! to nanoseconds: about half the cost of `clock_gettime(CLOCK_MONOTONIC)` from the vDSO,
//! which reads the same counter and adds the kernel's bookkeeping (`examples/transition_cost.rs`
//! measures both; the crate README has the figures). The scale comes from timing the counter
//! against `CLOCK_MONOTONIC` for 2 ms on first use, and readings start from that
//! moment's `CLOCK_MONOTONIC`, so they are monotonic nanoseconds that drift from the system
//! clock only by the calibration's error (a few parts per million). Elsewhere, or on another
//! clocksource, `clock_gettime(CLOCK_MONOTONIC)`; off Linux, [`std::time::Instant`].

/// Nanoseconds on the monotonic clock (an arbitrary origin, fixed while the process runs).
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[inline]
pub(crate) fn monotonic_ns() -> u64 {
    tsc::now_ns().unwrap_or_else(system_monotonic_ns)
}

/// Nanoseconds on the monotonic clock (an arbitrary origin, fixed while the system runs).
#[cfg(all(target_os = "linux", not(target_arch = "x86_64")))]
#[inline]
pub(crate) fn monotonic_ns() -> u64 {
    system_monotonic_ns()
}

/// `clock_gettime(CLOCK_MONOTONIC)` in nanoseconds.
#[cfg(target_os = "linux")]
#[inline]
fn system_monotonic_ns() -> u64 {
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

/// The time-stamp counter as a nanosecond clock.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod tsc {
    use super::system_monotonic_ns;
    use std::sync::OnceLock;

    /// How long the counter is timed against the system clock to find its rate.
    const CALIBRATION: std::time::Duration = std::time::Duration::from_millis(2);
    /// Tries at reading the counter between two close reads of the system clock.
    const PAIR_TRIES: usize = 32;
    /// The widest such pair of system-clock reads that is used (normally they are tens of
    /// nanoseconds apart): each end of the calibration is then known to within 0.5 µs, which
    /// over 2 ms bounds the scale's error at 0.05%.
    const MAX_PAIR_NS: u64 = 1_000;

    /// The counter's reading in nanoseconds, or `None` where the counter is not to be used.
    #[inline]
    pub(super) fn now_ns() -> Option<u64> {
        TSC.get_or_init(Tsc::calibrate).as_ref().map(Tsc::now_ns)
    }

    /// The time-stamp counter's scale, or `None` where it is not to be used.
    static TSC: OnceLock<Option<Tsc>> = OnceLock::new();

    /// The time-stamp counter as a nanosecond clock: `ns0` at counter `tsc0`, `ns_per_tick`
    /// nanoseconds per tick in 32.32 fixed point.
    #[derive(Debug, Clone, Copy)]
    pub(super) struct Tsc {
        tsc0: u64,
        ns0: u64,
        ns_per_tick: u64,
    }

    impl Tsc {
        /// The counter's scale, measured against `CLOCK_MONOTONIC`, if the kernel keeps time with
        /// the counter.
        #[cold]
        pub(super) fn calibrate() -> Option<Tsc> {
            let source = std::fs::read_to_string(
                "/sys/devices/system/clocksource/clocksource0/current_clocksource",
            )
            .ok()?;
            if source.trim() != "tsc" {
                return None;
            }
            // The counter read between two reads of the system clock, paired with their
            // midpoint: the narrowest of several tries, so that the thread being descheduled
            // between the reads cannot skew the scale (it once made it 1.6 times too large on
            // a loaded machine). `None` when no try is narrow enough.
            let pair = || {
                (0..PAIR_TRIES)
                    .map(|_| {
                        let before = system_monotonic_ns();
                        let tsc = rdtsc();
                        let after = system_monotonic_ns();
                        (after - before, tsc, before + (after - before) / 2)
                    })
                    .min_by_key(|&(width, _, _)| width)
                    .filter(|&(width, _, _)| width <= MAX_PAIR_NS)
                    .map(|(_, tsc, ns)| (tsc, ns))
            };
            let (tsc_a, ns_a) = pair()?;
            while system_monotonic_ns() - ns_a < CALIBRATION.as_nanos() as u64 {
                std::hint::spin_loop();
            }
            let (tsc_b, ns_b) = pair()?;
            let ticks = tsc_b.checked_sub(tsc_a).filter(|&t| t > 0)?;
            let ns_per_tick =
                u64::try_from((u128::from(ns_b - ns_a) << 32) / u128::from(ticks)).ok()?;
            Some(Tsc {
                tsc0: tsc_b,
                ns0: ns_b,
                ns_per_tick,
            })
        }

        #[inline]
        pub(super) fn now_ns(&self) -> u64 {
            // A counter read just behind `tsc0` (another core, the same instant) counts as `tsc0`.
            let ticks = rdtsc().saturating_sub(self.tsc0);
            let ns = (u128::from(ticks) * u128::from(self.ns_per_tick)) >> 32;
            self.ns0.wrapping_add(ns as u64)
        }
    }

    #[inline]
    fn rdtsc() -> u64 {
        // SAFETY: `rdtsc` reads the time-stamp counter into registers and has no other effect;
        // every x86-64 processor has it.
        unsafe { std::arch::x86_64::_rdtsc() }
    }
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
        // The counter's scale is measured, so allow it a 1% error against `Instant`.
        assert!(b - a >= 19_800_000, "{} ns", b - a);
        assert!(
            b - a <= elapsed + elapsed / 100,
            "{} ns, Instant says {elapsed}",
            b - a
        );
    }

    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    #[test]
    fn the_counter_clock_keeps_pace_with_the_system_clock() {
        let Some(tsc) = tsc::Tsc::calibrate() else {
            // The kernel does not keep time with the counter here: nothing to compare.
            return;
        };
        let (c0, s0) = (tsc.now_ns(), system_monotonic_ns());
        std::thread::sleep(Duration::from_millis(50));
        let (c1, s1) = (tsc.now_ns(), system_monotonic_ns());
        let (counter, system) = ((c1 - c0) as i64, (s1 - s0) as i64);
        assert!(
            (counter - system).abs() < system / 1000 + 1000,
            "counter {counter} ns, system {system} ns"
        );
        // It starts from the system clock: the two agree to within the calibration's time.
        assert!(c0.abs_diff(s0) < 1_000_000, "{c0} vs {s0}");
    }
}
