//! A contract's recent activity: calls and gas counted in a ring of time buckets that covers
//! the last W milliseconds, updated with atomics only.
//!
//! Time is cut into ticks of one bucket's span; tick `t` is counted in bucket `t % n`. Each
//! bucket has two words, one for calls and one for gas, and each word carries the tick it
//! counts in its upper 32 bits and the count in its lower 32 bits. A call updates a word with
//! one compare-and-swap: if the word's tick is the call's tick the count grows (saturating at
//! `u32::MAX`), if it is older the word restarts at this call. Because the tick and the count
//! change together, a bucket left over from an older round of the ring resets itself without
//! a separate reset step that could lose concurrent updates, and no thread ever sweeps old
//! buckets. The window's totals are the sums of the words whose tick lies within the last `n`
//! ticks (the gas of a bucket only when its gas word has reached the same tick as its calls
//! word).
//!
//! A tick is kept modulo 2^32 (49 days at one tick per millisecond); a bucket idle for exactly
//! a multiple of 2^32 ticks would be mistaken for a current one, once. The window decides only
//! when to compile, never what a contract computes.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// The most gas one bucket counts (a word keeps 32 bits of count).
pub const MAX_BUCKET_GAS: u64 = u32::MAX as u64;

/// One bucket: `tick << 32 | count` for calls and for gas; zero is an empty word.
#[derive(Debug, Default)]
struct Bucket {
    calls: AtomicU64,
    gas: AtomicU64,
}

/// Calls and gas within the window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Activity {
    pub calls: u64,
    pub gas: u64,
}

fn tick_of(word: u64) -> u32 {
    (word >> 32) as u32
}

fn count_of(word: u64) -> u64 {
    word & 0xffff_ffff
}

/// Adds `n` to `word` counting tick `tick`: restarts the count if the word counts an older
/// tick (or is empty); a word already on a newer tick (set by a thread that read the clock
/// later) keeps its tick and takes the count.
fn add(word: &AtomicU64, tick: u32, n: u64) {
    let n = n.min(MAX_BUCKET_GAS);
    let _ = word.fetch_update(Relaxed, Relaxed, |w| {
        let t = tick_of(w);
        let newer = tick.wrapping_sub(t) as i32 > 0;
        Some(if w == 0 || newer {
            (u64::from(tick) << 32) | n
        } else {
            (u64::from(t) << 32) | (count_of(w) + n).min(MAX_BUCKET_GAS)
        })
    });
}

/// The sliding window of one contract.
#[derive(Debug)]
pub struct Window {
    buckets: Box<[Bucket]>,
    bucket_ms: u64,
}

impl Window {
    /// A window of `buckets` buckets (1 ..= 2^31) of `bucket_ms` milliseconds (at least one).
    pub fn new(buckets: usize, bucket_ms: u64) -> Self {
        Window {
            buckets: (0..buckets.clamp(1, 1 << 31))
                .map(|_| Bucket::default())
                .collect(),
            bucket_ms: bucket_ms.max(1),
        }
    }

    fn tick(&self, now_ms: u64) -> u64 {
        now_ms / self.bucket_ms
    }

    /// Counts one call that used `gas` at time `now_ms`.
    pub fn record(&self, now_ms: u64, gas: u64) {
        let tick = self.tick(now_ms);
        let bucket = &self.buckets[(tick % self.buckets.len() as u64) as usize];
        add(&bucket.calls, tick as u32, 1);
        add(&bucket.gas, tick as u32, gas);
    }

    /// The window's totals at time `now_ms`.
    pub fn activity(&self, now_ms: u64) -> Activity {
        let now = self.tick(now_ms) as u32;
        let n = self.buckets.len() as u32;
        let mut total = Activity::default();
        for b in self.buckets.iter() {
            let calls = b.calls.load(Relaxed);
            let t = tick_of(calls);
            let age = now.wrapping_sub(t);
            // Within the last n ticks, or newer than `now` (a later clock read).
            if calls != 0 && (age < n || (age as i32) < 0) {
                total.calls += count_of(calls);
                let gas = b.gas.load(Relaxed);
                if tick_of(gas) == t {
                    total.gas += count_of(gas);
                }
            }
        }
        total
    }

    /// Forgets all activity (the next call starts a new count).
    pub fn clear(&self) {
        for b in self.buckets.iter() {
            b.calls.store(0, Relaxed);
            b.gas.store(0, Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn act(calls: u64, gas: u64) -> Activity {
        Activity { calls, gas }
    }

    /// Records a call and returns the window's totals just after it.
    fn rec(w: &Window, now_ms: u64, gas: u64) -> Activity {
        w.record(now_ms, gas);
        w.activity(now_ms)
    }

    #[test]
    fn counts_within_the_window_and_forgets_what_is_older() {
        // 4 buckets of 10 ms: a 40 ms window.
        let w = Window::new(4, 10);
        assert_eq!(rec(&w, 0, 5), act(1, 5));
        assert_eq!(rec(&w, 9, 5), act(2, 10));
        assert_eq!(rec(&w, 15, 1), act(3, 11));
        assert_eq!(rec(&w, 39, 1), act(4, 12));
        // At 40 ms tick 0 (two calls, 10 gas) has left the window; its bucket is reused.
        assert_eq!(w.activity(40), act(2, 2));
        assert_eq!(rec(&w, 40, 100), act(3, 102));
        // Long after, nothing is left.
        assert_eq!(w.activity(1000), act(0, 0));
        assert_eq!(rec(&w, 1000, 7), act(1, 7));
    }

    #[test]
    fn calls_spread_wider_than_the_window_never_add_up() {
        let w = Window::new(10, 100);
        // One call every 250 ms: at most four of them in any 1000 ms window.
        let most = (0..40).map(|i| rec(&w, i * 250, 1).calls).max().unwrap();
        assert_eq!(most, 4);
    }

    #[test]
    fn a_late_clock_read_counts_in_the_newer_bucket() {
        let w = Window::new(2, 10);
        // Tick 2, bucket 0.
        rec(&w, 25, 1);
        // A thread whose clock read 5 (tick 0, also bucket 0) comes in late: the bucket is
        // not taken back to tick 0.
        assert_eq!(rec(&w, 5, 1), act(2, 2));
        assert_eq!(w.activity(25), act(2, 2));
    }

    #[test]
    fn gas_saturates_per_bucket() {
        let w = Window::new(2, 10);
        rec(&w, 0, u64::MAX);
        assert_eq!(rec(&w, 1, 5), act(2, MAX_BUCKET_GAS));
        assert_eq!(rec(&w, 10, 5), act(3, MAX_BUCKET_GAS + 5));
    }

    #[test]
    fn ticks_wrap_around_32_bits() {
        let w = Window::new(4, 1);
        let base = (1u64 << 32) - 2;
        rec(&w, base, 1);
        rec(&w, base + 1, 1);
        // Ticks 2^32 and 2^32 + 1 are stored as 0 and 1.
        rec(&w, base + 2, 1);
        assert_eq!(rec(&w, base + 3, 1), act(4, 4));
        assert_eq!(w.activity(base + 5), act(2, 2));
    }

    #[test]
    fn clear_forgets_everything() {
        let w = Window::new(3, 1);
        rec(&w, 0, 1);
        rec(&w, 1, 1);
        w.clear();
        assert_eq!(w.activity(1), act(0, 0));
        assert_eq!(rec(&w, 2, 3), act(1, 3));
    }

    #[test]
    fn concurrent_records_lose_nothing_when_a_bucket_restarts() {
        // One bucket, so tick 1 restarts the bucket tick 0 filled, while other threads add.
        let w = Window::new(1, 10);
        let barrier = std::sync::Barrier::new(4);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..1000 {
                        rec(&w, 5, 2);
                    }
                    barrier.wait();
                    for _ in 0..1000 {
                        rec(&w, 15, 3);
                    }
                });
            }
        });
        assert_eq!(w.activity(15), act(4000, 12000));
    }
}
