//! Timing several engines on one case: warm-up, batch sizing, interleaved samples, medians.
//!
//! The engines' samples are taken in turn, so that noise from other processes on a shared
//! machine falls on all of them alike. By default samples are timed with the thread's CPU-time
//! clock, which does not count time the thread spends descheduled; wall time is an option.

use std::time::{Duration, Instant};

/// How long one timed sample should take; runs faster than this are batched.
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

/// How many runs make one sample of about [`SAMPLE_TARGET`], given one run's estimated time.
pub fn batch_size(per_run: Duration) -> u64 {
    let per_run = per_run.as_nanos().max(1);
    (SAMPLE_TARGET.as_nanos() / per_run).clamp(1, 1 << 20) as u64
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
        batch: batch_size(t / n),
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
mod tests {
    use super::*;
    use std::cell::RefCell;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [5.0]), Some(5.0));
        assert_eq!(median(&mut [9.0, 1.0, 5.0]), Some(5.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn geometric_mean_of_ratios() {
        assert_eq!(geometric_mean(&[]), None);
        // (2 * 8)^(1/2) = 4; (0.5 * 2)^(1/2) = 1.
        assert!((geometric_mean(&[2.0, 8.0]).unwrap() - 4.0).abs() < 1e-12);
        assert!((geometric_mean(&[0.5, 2.0]).unwrap() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn batches_aim_at_the_sample_target() {
        assert_eq!(batch_size(Duration::from_millis(50)), 1);
        assert_eq!(batch_size(SAMPLE_TARGET), 1);
        assert_eq!(batch_size(Duration::from_micros(2)), 100);
        assert_eq!(batch_size(Duration::ZERO), SAMPLE_TARGET.as_nanos() as u64);
    }

    /// The engines' runs in order, with consecutive runs of one engine (a batch, or samples
    /// of the last engine still sampling) merged into one entry.
    fn runs(log: &RefCell<Vec<usize>>) -> Vec<usize> {
        let mut out = log.borrow().clone();
        out.dedup();
        out
    }

    #[test]
    fn sample_count_cap_is_respected_and_every_engine_runs() {
        let (mut na, mut nb, mut nc) = (0u64, 0u64, 0u64);
        let plan = Plan {
            clock: Clock::Wall,
            min_time: Duration::from_secs(3600),
            max_samples: 3,
        };
        let [ta, tb, tc] = measure(
            &plan,
            Duration::ZERO,
            [
                &mut || {
                    na += 1;
                    std::thread::sleep(Duration::from_micros(300));
                },
                &mut || nb += 1,
                &mut || nc += 1,
            ],
        );
        assert_eq!((ta.samples, tb.samples, tc.samples), (3, 3, 3));
        // The sleeping engine is not batched; one warm-up run plus 3 samples of 1 run.
        assert_eq!(ta.batch, 1);
        assert_eq!(na, 4);
        assert_eq!(nb, 1 + 3 * tb.batch);
        assert_eq!(nc, 1 + 3 * tc.batch);
        assert!(ta.median_ns >= 300_000.0);
    }

    #[test]
    fn samples_of_the_engines_alternate() {
        let log = RefCell::new(Vec::new());
        let plan = Plan {
            clock: Clock::Wall,
            min_time: Duration::from_secs(3600),
            max_samples: 3,
        };
        let [ta, tb, tc] = measure(
            &plan,
            Duration::ZERO,
            [
                &mut || log.borrow_mut().push(0),
                &mut || log.borrow_mut().push(1),
                &mut || log.borrow_mut().push(2),
            ],
        );
        assert_eq!((ta.samples, tb.samples, tc.samples), (3, 3, 3));
        // One warm-up round, then three rounds of samples.
        assert_eq!(runs(&log), [0, 1, 2].repeat(4));
    }

    #[cfg(unix)]
    #[test]
    fn an_engine_that_is_done_stops_while_the_others_go_on() {
        let log = RefCell::new(Vec::new());
        let plan = Plan {
            clock: Clock::ThreadCpu,
            min_time: Duration::from_millis(1),
            max_samples: 4,
        };
        // The first engine spends 2 ms of CPU per run, so its first sample meets `min_time`;
        // the second does nothing and stops at `max_samples`, far below 1 ms of samples.
        let [slow, fast] = measure(
            &plan,
            Duration::ZERO,
            [
                &mut || {
                    log.borrow_mut().push(0);
                    let start = thread_cpu_time().unwrap();
                    while thread_cpu_time().unwrap() - start < Duration::from_millis(2) {}
                },
                &mut || log.borrow_mut().push(1),
            ],
        );
        assert_eq!((slow.samples, fast.samples), (1, 4));
        assert_eq!(slow.batch, 1);
        assert!(slow.median_ns >= 2e6);
        // Warm-up round, first sample round, then the fast engine alone.
        assert_eq!(runs(&log), [0, 1, 0, 1]);
        assert_eq!(log.borrow().iter().filter(|&&e| e == 0).count(), 2);
    }

    #[test]
    fn zero_time_budget_still_takes_one_sample_each() {
        for clock in [Clock::Wall, Clock::ThreadCpu] {
            let plan = Plan {
                clock,
                min_time: Duration::ZERO,
                max_samples: 1000,
            };
            let [ta, tb] = measure(&plan, Duration::ZERO, [&mut || {}, &mut || {}]);
            assert_eq!((ta.samples, tb.samples), (1, 1));
            let [t] = measure(&plan, Duration::ZERO, [&mut || {}]);
            assert_eq!(t.samples, 1);
        }
    }

    #[cfg(unix)]
    #[test]
    fn thread_cpu_time_counts_work_but_not_sleep() {
        assert!(Clock::ThreadCpu.is_available());
        let start = thread_cpu_time().unwrap();
        // Spin until 5 ms of CPU time have been used (bounded by 10 s of wall time).
        let wall = Instant::now();
        let mut x = 0u64;
        while thread_cpu_time().unwrap() - start < Duration::from_millis(5) {
            x = std::hint::black_box(x.wrapping_add(1));
            assert!(
                wall.elapsed() < Duration::from_secs(10),
                "the CPU clock does not advance"
            );
        }
        let before = thread_cpu_time().unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let slept = thread_cpu_time().unwrap() - before;
        assert!(
            slept < Duration::from_millis(25),
            "sleeping used {slept:?} of CPU"
        );
    }
}
