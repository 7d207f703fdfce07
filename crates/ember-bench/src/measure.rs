//! Timing several engines on one case: warm-up, batch sizing, interleaved samples, medians.
//!
//! The engines' samples are taken in turn, so that noise from other processes on a shared
//! machine falls on all of them alike. By default samples are timed with the thread's CPU-time
//! clock, which does not count time the thread spends descheduled; wall time is an option.

use std::time::{Duration, Instant};

/// How long one timed sample should take by default; runs faster than this are batched.
pub const SAMPLE_TARGET: Duration = Duration::from_micros(200);

/// The clock samples are timed with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// CPU time of the measuring thread (`CLOCK_THREAD_CPUTIME_ID`).
    ThreadCpu,
    /// Elapsed real time (`Instant`).
    Wall,
}

impl Clock {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Clock::ThreadCpu => "cpu",
            Clock::Wall => "wall",
        }
    }

    /// Whether the clock can be read on this system.
    pub fn is_available(self) -> bool {
        match self {
            Clock::ThreadCpu => thread_cpu_time().is_some(),
            Clock::Wall => true,
        }
    }

    /// How long `batch` runs of `f` take on this clock. For `ThreadCpu` the caller must have
    /// checked [`is_available`](Self::is_available).
    fn time(self, f: &mut impl FnMut(), batch: u64) -> Duration {
        match self {
            Clock::Wall => {
                let start = Instant::now();
                for _ in 0..batch {
                    f();
                }
                start.elapsed()
            }
            Clock::ThreadCpu => {
                const CHECKED: &str = "the thread CPU clock was checked to be readable";
                let start = thread_cpu_time().expect(CHECKED);
                for _ in 0..batch {
                    f();
                }
                thread_cpu_time().expect(CHECKED).saturating_sub(start)
            }
        }
    }
}

/// CPU time consumed by the calling thread, or `None` if the system cannot tell.
#[cfg(unix)]
pub fn thread_cpu_time() -> Option<Duration> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a live, writable `timespec` and `clock_gettime` writes only into it; an
    // unsupported clock id makes it return -1 without touching memory.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return None;
    }
    Some(Duration::new(
        u64::try_from(ts.tv_sec).ok()?,
        u32::try_from(ts.tv_nsec).ok()?,
    ))
}

/// CPU time consumed by the calling thread: not available off Unix.
#[cfg(not(unix))]
pub fn thread_cpu_time() -> Option<Duration> {
    None
}

/// When to stop taking samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The clock that times samples and counts toward `min_time`.
    pub clock: Clock,
    /// Stop once an engine's samples add up to this much time...
    pub min_time: Duration,
    /// ...or once it has this many samples, whichever comes first.
    pub max_samples: usize,
    /// How long one sample should take ([`SAMPLE_TARGET`] unless a tool says otherwise):
    /// engines alternate at this granularity.
    pub sample: Duration,
}

/// One engine's result on one case.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timing {
    /// The median over samples of (sample time / runs in the sample), in nanoseconds.
    pub median_ns: f64,
    /// Number of samples taken.
    pub samples: usize,
    /// Runs per sample.
    pub batch: u64,
}

/// The median of `xs` (the mean of the two middle values for an even count); `None` if empty.
pub fn median(xs: &mut [f64]) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    Some(if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    })
}

/// The geometric mean of positive values; `None` if empty.
pub fn geometric_mean(xs: &[f64]) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    Some((xs.iter().map(|x| x.ln()).sum::<f64>() / xs.len() as f64).exp())
}

/// How many runs make one sample of about `target`, given one run's estimated time.
pub fn batch_size(per_run: Duration, target: Duration) -> u64 {
    let per_run = per_run.as_nanos().max(1);
    (target.as_nanos() / per_run).clamp(1, 1 << 20) as u64
}

/// One engine's state while it is being measured.
struct Series {
    batch: u64,
    total: Duration,
    per_run_ns: Vec<f64>,
}

impl Series {
    fn done(&self, plan: &Plan) -> bool {
        self.per_run_ns.len() >= plan.max_samples || self.total >= plan.min_time
    }

    fn take(&mut self, clock: Clock, f: &mut impl FnMut()) {
        let t = clock.time(f, self.batch);
        self.total += t;
        self.per_run_ns
            .push(t.as_nanos() as f64 / self.batch as f64);
    }

    fn finish(mut self) -> Timing {
        let samples = self.per_run_ns.len();
        Timing {
            median_ns: median(&mut self.per_run_ns).unwrap_or(f64::NAN),
            samples,
            batch: self.batch,
        }
    }
}

/// Warms every engine up for `warmup` of wall time (each at least once), sizes each one's
/// batches from its warm-up runs, then samples the engines in turn (first, second, …, first
/// again) until each meets `plan`. Returns the engines' timings in the order given.
///
/// Each closure runs its engine once; it must hand its result to `std::hint::black_box`.
pub fn measure<const N: usize>(
    plan: &Plan,
    warmup: Duration,
    mut engines: [&mut dyn FnMut(); N],
) -> [Timing; N] {
    const { assert!(N > 0, "measure needs at least one engine") };
    let mut warm = [(Duration::ZERO, 0u32); N];
    let start = Instant::now();
    while warm[0].1 == 0 || start.elapsed() < warmup {
        for (f, w) in engines.iter_mut().zip(&mut warm) {
            let t = plan.clock.time(f, 1);
            *w = (w.0 + t, w.1 + 1);
        }
    }
    let mut series = warm.map(|(t, n)| Series {
        batch: batch_size(t / n, plan.sample),
        total: Duration::ZERO,
        per_run_ns: Vec::new(),
    });
    // Every engine gets at least one sample, even with a zero time budget.
    for (f, s) in engines.iter_mut().zip(&mut series) {
        s.take(plan.clock, f);
    }
    while series.iter().any(|s| !s.done(plan)) {
        for (f, s) in engines.iter_mut().zip(&mut series) {
            if !s.done(plan) {
                s.take(plan.clock, f);
            }
        }
    }
    series.map(Series::finish)
}

#[cfg(test)]
mod tests;
