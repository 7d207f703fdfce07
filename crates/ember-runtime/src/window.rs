//! A contract's recent activity: its calls and gas within the last W milliseconds, as the
//! difference of the profiler's running totals between now and a mark taken at the start of
//! the window.
//!
//! Every frame already adds its call and its gas to the contract's profiler counters
//! (`ember_profile::UnitCounters`), which only ever grow. The window therefore counts nothing
//! itself. Time is cut into ticks of one bucket's span, and the first call seen in a tick
//! writes a *mark*: the tick and the running totals just before that call. A ring of `n` marks
//! covers the last `n` ticks. The activity at time `now` is the totals now minus the oldest
//! mark still inside the window; with no mark inside it, nothing ran in the window. A call
//! that is not the first of its tick pays one load and one comparison, where a window that
//! counted for itself paid two atomic read-modify-writes on every call.
//!
//! One thread writes each mark: the one that moves `latest` forward to its tick (a
//! compare-and-swap). A mark is written like a sequence lock (tick cleared, totals, tick set
//! last) and read with the matching fences, so a reader never takes totals from one round
//! with the tick of another. Two writers meet on one mark only if a thread stalls between
//! winning its tick and writing its mark for a whole window; the mark may then hold totals
//! from the later of the two. The window decides only when to compile, never what a contract
//! computes.

use std::sync::atomic::{fence, AtomicU64, Ordering};

/// A contract's running totals: its calls and its gas in every tier, since it was first seen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub calls: u64,
    pub gas: u64,
}

/// Calls and gas within the window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Activity {
    pub calls: u64,
    pub gas: u64,
}

/// The totals at the first call of one tick. `tick` holds the tick plus one; zero is no mark
/// (and, while the mark is being written, a mark not to be read).
#[derive(Debug, Default)]
struct Mark {
    tick: AtomicU64,
    calls: AtomicU64,
    gas: AtomicU64,
}

impl Mark {
    /// Writes the mark of `tick` (the caller is its only writer; see the module).
    fn write(&self, tick: u64, totals: Totals) {
        self.tick.store(0, Ordering::Relaxed);
        fence(Ordering::Release);
        self.calls.store(totals.calls, Ordering::Relaxed);
        self.gas.store(totals.gas, Ordering::Relaxed);
        self.tick.store(tick + 1, Ordering::Release);
    }

    /// The mark's tick and totals, if it holds a whole mark.
    fn read(&self) -> Option<(u64, Totals)> {
        let before = self.tick.load(Ordering::Acquire);
        let totals = Totals {
            calls: self.calls.load(Ordering::Relaxed),
            gas: self.gas.load(Ordering::Relaxed),
        };
        fence(Ordering::Acquire);
        let after = self.tick.load(Ordering::Relaxed);
        (before != 0 && before == after).then(|| (before - 1, totals))
    }
}

/// The sliding window of one contract.
#[derive(Debug)]
pub struct Window {
    marks: Box<[Mark]>,
    bucket_ms: u64,
    /// One past the last millisecond of the newest tick marked (zero before the first mark):
    /// a call before it has nothing to mark.
    marked_until_ms: AtomicU64,
}

impl Window {
    /// A window of `buckets` ticks (1 ..= 2^31) of `bucket_ms` milliseconds (at least one).
    pub fn new(buckets: usize, bucket_ms: u64) -> Self {
        Window {
            marks: (0..buckets.clamp(1, 1 << 31))
                .map(|_| Mark::default())
                .collect(),
            bucket_ms: bucket_ms.max(1),
            marked_until_ms: AtomicU64::new(0),
        }
    }

    /// The tick of `now_ms` (kept below `u64::MAX`, so that a mark can store it plus one).
    fn tick(&self, now_ms: u64) -> u64 {
        (now_ms / self.bucket_ms).min(u64::MAX - 1)
    }

    fn mark(&self, tick: u64) -> &Mark {
        &self.marks[(tick % self.marks.len() as u64) as usize]
    }

    /// Sees a call start at `now_ms`, before it adds to the totals: the first call of a tick
    /// marks the window with `totals()`, the totals so far. Any other call only compares.
    #[inline]
    pub fn observe(&self, now_ms: u64, totals: impl FnOnce() -> Totals) {
        let until = self.marked_until_ms.load(Ordering::Relaxed);
        if now_ms < until {
            return;
        }
        self.observe_new_tick(now_ms, until, totals());
    }

    #[cold]
    fn observe_new_tick(&self, now_ms: u64, until: u64, totals: Totals) {
        let tick = self.tick(now_ms);
        let end = (tick + 1).saturating_mul(self.bucket_ms);
        // The thread that moves the boundary past this tick writes its mark.
        if self
            .marked_until_ms
            .compare_exchange(until, end, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        {
            self.mark(tick).write(tick, totals);
        }
    }

    /// The calls and gas within the window at `now_ms`, given the totals now.
    pub fn activity(&self, now_ms: u64, now: Totals) -> Activity {
        let tick = self.tick(now_ms);
        let n = self.marks.len() as u64;
        let first = (tick + 1).saturating_sub(n);
        // The oldest mark inside the window; a mark newer than `now_ms` (from a thread whose
        // clock read later) counts as inside.
        let base = self
            .marks
            .iter()
            .filter_map(Mark::read)
            .filter(|&(t, _)| t >= first)
            .min_by_key(|&(t, _)| t);
        match base {
            Some((_, at)) => Activity {
                calls: now.calls.saturating_sub(at.calls),
                gas: now.gas.saturating_sub(at.gas),
            },
            None => Activity::default(),
        }
    }

    /// Forgets all activity: the next call starts a new count.
    pub fn clear(&self) {
        for m in self.marks.iter() {
            m.tick.store(0, Ordering::Relaxed);
        }
        self.marked_until_ms.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn act(calls: u64, gas: u64) -> Activity {
        Activity { calls, gas }
    }

    /// A window with the running totals it reads, as a contract's counters would keep them.
    struct Counted {
        w: Window,
        totals: Cell<Totals>,
    }

    impl Counted {
        fn new(buckets: usize, bucket_ms: u64) -> Self {
            Counted {
                w: Window::new(buckets, bucket_ms),
                totals: Cell::new(Totals::default()),
            }
        }

        /// A call at `now_ms` that uses `gas`; the window's activity just after it.
        fn call(&self, now_ms: u64, gas: u64) -> Activity {
            self.w.observe(now_ms, || self.totals.get());
            let t = self.totals.get();
            self.totals.set(Totals {
                calls: t.calls + 1,
                gas: t.gas.saturating_add(gas),
            });
            self.activity(now_ms)
        }

        fn activity(&self, now_ms: u64) -> Activity {
            self.w.activity(now_ms, self.totals.get())
        }
    }

    #[test]
    fn counts_within_the_window_and_forgets_what_is_older() {
        // 4 buckets of 10 ms: a 40 ms window.
        let w = Counted::new(4, 10);
        assert_eq!(w.call(0, 5), act(1, 5));
        assert_eq!(w.call(9, 5), act(2, 10));
        assert_eq!(w.call(15, 1), act(3, 11));
        assert_eq!(w.call(39, 1), act(4, 12));
        // At 40 ms tick 0 (two calls, 10 gas) has left the window.
        assert_eq!(w.activity(40), act(2, 2));
        assert_eq!(w.call(40, 100), act(3, 102));
        // Long after, nothing is left.
        assert_eq!(w.activity(1000), act(0, 0));
        assert_eq!(w.call(1000, 7), act(1, 7));
    }

    #[test]
    fn calls_spread_wider_than_the_window_never_add_up() {
        let w = Counted::new(10, 100);
        // One call every 250 ms: at most four of them in any 1000 ms window.
        let most = (0..40).map(|i| w.call(i * 250, 1).calls).max().unwrap();
        assert_eq!(most, 4);
    }

    #[test]
    fn a_late_clock_read_counts_in_the_newer_tick() {
        let w = Counted::new(2, 10);
        w.call(25, 1);
        // A thread whose clock read 5 comes in late: nothing is marked for its tick, and its
        // call counts from the mark of tick 2.
        assert_eq!(w.call(5, 1), act(2, 2));
        assert_eq!(w.activity(25), act(2, 2));
    }

    #[test]
    fn gas_saturates_with_the_totals() {
        let w = Counted::new(2, 10);
        w.call(0, u64::MAX);
        assert_eq!(w.call(1, 5), act(2, u64::MAX));
        // Tick 0 leaves the window at 20 ms; the totals stand still at the top.
        assert_eq!(w.call(20, 5), act(1, 0));
    }

    #[test]
    fn a_window_far_into_time_still_counts() {
        let w = Counted::new(4, 1);
        let base = u64::MAX / 2;
        for i in 0..4 {
            w.call(base + i, 1);
        }
        assert_eq!(w.activity(base + 3), act(4, 4));
        assert_eq!(w.activity(base + 5), act(2, 2));
    }

    #[test]
    fn clear_forgets_everything() {
        let w = Counted::new(3, 1);
        w.call(0, 1);
        w.call(1, 1);
        w.w.clear();
        assert_eq!(w.activity(1), act(0, 0));
        assert_eq!(w.call(1, 3), act(1, 3));
        assert_eq!(w.call(2, 3), act(2, 6));
    }

    #[test]
    fn concurrent_calls_lose_nothing_when_a_tick_turns() {
        use std::sync::atomic::AtomicU64;
        // One bucket: tick 1 replaces the mark of tick 0 while other threads call.
        let w = Window::new(1, 10);
        let (calls, gas) = (AtomicU64::new(0), AtomicU64::new(0));
        let totals = || Totals {
            calls: calls.load(Ordering::Relaxed),
            gas: gas.load(Ordering::Relaxed),
        };
        let call = |now_ms: u64, g: u64| {
            w.observe(now_ms, totals);
            calls.fetch_add(1, Ordering::Relaxed);
            gas.fetch_add(g, Ordering::Relaxed);
        };
        let barrier = std::sync::Barrier::new(4);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..1000 {
                        call(5, 2);
                    }
                    barrier.wait();
                    for _ in 0..1000 {
                        call(15, 3);
                    }
                });
            }
        });
        // The mark of tick 1 was taken once every thread had finished tick 0.
        assert_eq!(w.activity(15, totals()), act(4000, 12000));
    }
}
