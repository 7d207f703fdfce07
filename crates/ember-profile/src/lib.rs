//! ember-profile: where the time goes, per contract and per tier.
//!
//! The runtime embeds one [`UnitCounters`] per *unit* (one contract: code hash and revision,
//! labelled with the first address it ran at) and runs every frame inside
//! [`timing::frame`]. Entering a frame, a side exit from compiled code to the interpreter
//! ([`timing::side_exit`]) and leaving a frame are *transitions*: each reads the clock once
//! and charges the time since the previous transition on this thread to the unit and tier
//! that was running, so time in nested calls goes to the callee (exclusive time) and the
//! exclusive times of all frames add up to the inclusive time of the outermost one. The
//! counters are always on: a transition costs a clock read, a thread-local access and a few
//! relaxed atomic adds.
//!
//! Optionally a [`Timeline`] records the same transitions as spans (aggregated, so a loop
//! that switches units or tiers every few microseconds yields a handful of spans with counts,
//! not millions), tier events (hot, queued, compiled, side exits, ...) and compile jobs, in
//! bounded rings. [`report::Report`] joins the counters and the timeline and renders them as
//! a text table, JSON, a Chrome trace-event file (Perfetto, chrome://tracing) or an SVG
//! picture; [`perfmap`] announces compiled code to Linux `perf`.
//!
//! ```
//! use ember_profile::{timing, report::{Report, UnitLabel}, Tier, UnitCounters, UnitId};
//! use ember_evm::{Address, Revision, B256};
//!
//! let counters = UnitCounters::new();
//! let output = timing::frame(&counters, UnitId(1), Tier::Jit, None, || {
//!     timing::side_exit(42); // compiled code hands over to the interpreter
//!     ("done", 21_000)        // the frame's result and the gas it used
//! });
//! assert_eq!(output, "done");
//! let label = UnitLabel { code_hash: B256([7; 32]), address: Address([1; 20]), revision: Revision::Cancun };
//! let report = Report::build([(UnitId(1), label, &counters)], None);
//! assert_eq!(report.units[0].jit.calls, 1);
//! assert_eq!(report.units[0].side_exits, 1);
//! println!("{}", report.to_text(20));
//! ```

mod clock;
pub mod perfmap;
pub mod report;
pub mod timeline;
pub mod timing;

pub use timeline::{CompileJob, Event, EventKind, Span, Timeline, TimelineConfig};
pub use timing::ManualClock;

use std::sync::atomic::{AtomicU64, Ordering};

/// Where a frame runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    /// The interpreter.
    Interp,
    /// Compiled code.
    Jit,
}

impl Tier {
    /// Both tiers, interpreter first.
    pub const ALL: [Tier; 2] = [Tier::Interp, Tier::Jit];

    /// `interp` or `jit`.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Interp => "interp",
            Tier::Jit => "jit",
        }
    }

    fn index(self) -> usize {
        match self {
            Tier::Interp => 0,
            Tier::Jit => 1,
        }
    }
}

/// The runtime's number for a unit, used to tie timeline records to units. The runtime
/// chooses it (unique among the units it reports).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnitId(pub u64);

/// One tier's counters of a unit.
#[derive(Debug, Default)]
pub struct TierCounters {
    /// Frames that started in this tier.
    pub calls: AtomicU64,
    /// Time spent running this unit in this tier, nested frames excluded.
    pub exclusive_ns: AtomicU64,
    /// Time from start to end of the frames that started in this tier, nested frames
    /// included (a recursive unit counts the inner frames' time again, as profilers do).
    pub inclusive_ns: AtomicU64,
    /// Gas used by the frames that started in this tier (saturating).
    pub gas: AtomicU64,
}

/// A unit's counters, always on. Updated with relaxed atomic adds from any thread; aligned
/// to a cache line so that two units' counters never share one.
#[repr(align(64))]
#[derive(Debug, Default)]
pub struct UnitCounters {
    tiers: [TierCounters; 2],
    /// Frames that left compiled code for the interpreter midway.
    pub side_exits: AtomicU64,
    /// Time spent compiling this unit, in the background or not.
    pub compile_ns: AtomicU64,
    /// Compiled versions published.
    pub versions: AtomicU64,
}

impl UnitCounters {
    /// All zero.
    pub fn new() -> Self {
        UnitCounters::default()
    }

    /// The counters of `tier`.
    #[inline]
    pub fn tier(&self, tier: Tier) -> &TierCounters {
        &self.tiers[tier.index()]
    }

    /// Adds the wall time of one compile of this unit.
    pub fn add_compile_ns(&self, ns: u64) {
        self.compile_ns.fetch_add(ns, Ordering::Relaxed);
    }

    /// Counts one published compiled version and returns the count, which numbers it (1 for
    /// the first).
    pub fn add_version(&self) -> u64 {
        self.versions.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// The current values (each read on its own: a snapshot taken while frames run may mix
    /// values from slightly different moments).
    pub fn snapshot(&self) -> CountersSnapshot {
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let tier = |t: Tier| {
            let c = self.tier(t);
            TierTotals {
                calls: n(&c.calls),
                exclusive_ns: n(&c.exclusive_ns),
                inclusive_ns: n(&c.inclusive_ns),
                gas: n(&c.gas),
            }
        };
        CountersSnapshot {
            interp: tier(Tier::Interp),
            jit: tier(Tier::Jit),
            side_exits: n(&self.side_exits),
            compile_ns: n(&self.compile_ns),
            versions: n(&self.versions),
        }
    }
}

/// One tier's counters, read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TierTotals {
    /// Frames that started in this tier.
    pub calls: u64,
    /// Time running in this tier, nested frames excluded.
    pub exclusive_ns: u64,
    /// Time of the frames that started in this tier, nested frames included.
    pub inclusive_ns: u64,
    /// Gas used by the frames that started in this tier.
    pub gas: u64,
}

/// A unit's counters, read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CountersSnapshot {
    /// The interpreter's counters.
    pub interp: TierTotals,
    /// Compiled code's counters.
    pub jit: TierTotals,
    /// Side exits from compiled code to the interpreter.
    pub side_exits: u64,
    /// Compile time.
    pub compile_ns: u64,
    /// Compiled versions published.
    pub versions: u64,
}

impl CountersSnapshot {
    /// The counters of `tier`.
    pub fn tier(&self, tier: Tier) -> &TierTotals {
        match tier {
            Tier::Interp => &self.interp,
            Tier::Jit => &self.jit,
        }
    }
}

/// Adds `n` to a total that saturates at `u64::MAX` (gas: state-test frames carry up to 2^63
/// gas, so a few of them overflow a plain sum). One comparison on the common path; an add
/// racing with the saturating store may be lost, which only a total already near 2^64 sees.
#[inline]
pub(crate) fn add_saturating(total: &AtomicU64, n: u64) {
    let before = total.fetch_add(n, Ordering::Relaxed);
    if before.checked_add(n).is_none() {
        total.store(u64::MAX, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_cache_line_aligned() {
        assert_eq!(std::mem::align_of::<UnitCounters>(), 64);
        assert_eq!(std::mem::size_of::<UnitCounters>() % 64, 0);
    }

    #[test]
    fn snapshot_reads_every_counter() {
        let c = UnitCounters::new();
        c.tier(Tier::Interp).calls.store(1, Ordering::Relaxed);
        c.tier(Tier::Interp)
            .exclusive_ns
            .store(2, Ordering::Relaxed);
        c.tier(Tier::Interp)
            .inclusive_ns
            .store(3, Ordering::Relaxed);
        c.tier(Tier::Interp).gas.store(4, Ordering::Relaxed);
        c.tier(Tier::Jit).calls.store(5, Ordering::Relaxed);
        c.tier(Tier::Jit).exclusive_ns.store(6, Ordering::Relaxed);
        c.tier(Tier::Jit).inclusive_ns.store(7, Ordering::Relaxed);
        c.tier(Tier::Jit).gas.store(8, Ordering::Relaxed);
        c.side_exits.store(9, Ordering::Relaxed);
        c.add_compile_ns(10);
        c.add_compile_ns(1);
        c.add_version();
        let s = c.snapshot();
        assert_eq!(
            s.interp,
            TierTotals {
                calls: 1,
                exclusive_ns: 2,
                inclusive_ns: 3,
                gas: 4
            }
        );
        assert_eq!(
            *s.tier(Tier::Jit),
            TierTotals {
                calls: 5,
                exclusive_ns: 6,
                inclusive_ns: 7,
                gas: 8
            }
        );
        assert_eq!((s.side_exits, s.compile_ns, s.versions), (9, 11, 1));
    }

    #[test]
    fn gas_saturates() {
        let t = AtomicU64::new(u64::MAX - 10);
        add_saturating(&t, 4);
        assert_eq!(t.load(Ordering::Relaxed), u64::MAX - 6);
        add_saturating(&t, 1 << 62);
        assert_eq!(t.load(Ordering::Relaxed), u64::MAX);
        add_saturating(&t, 0);
        assert_eq!(t.load(Ordering::Relaxed), u64::MAX);
    }

    #[test]
    fn tiers_have_names() {
        assert_eq!(Tier::Interp.name(), "interp");
        assert_eq!(Tier::Jit.name(), "jit");
        assert_eq!(Tier::ALL, [Tier::Interp, Tier::Jit]);
    }
}
