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
//! relaxed adds (plain stores on the thread that owns the unit; see [`UnitCounters`]).
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

/// One writer's sums of a tier's counters, on a cache line of their own: the owner thread's
/// plain stores then never wait for a line other threads are adding to.
#[repr(align(64))]
#[derive(Debug, Default)]
struct Sums {
    calls: AtomicU64,
    exclusive_ns: AtomicU64,
    inclusive_ns: AtomicU64,
    gas: AtomicU64,
}

/// Who adds to a unit's counters: the thread that owns the unit, with plain stores, or
/// another thread, with atomic adds (see [`UnitCounters`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Writer {
    Owner,
    Other,
}

/// One tier's counters of a unit: two sets of sums, the owner thread's and the other
/// threads', read as one (each counter is the sum of its two halves).
#[derive(Debug, Default)]
pub struct TierCounters {
    owner: Sums,
    others: Sums,
}

impl TierCounters {
    #[inline]
    fn sums(&self, writer: Writer) -> &Sums {
        match writer {
            Writer::Owner => &self.owner,
            Writer::Other => &self.others,
        }
    }

    #[inline]
    pub(crate) fn add_call(&self, writer: Writer) {
        add(&self.sums(writer).calls, 1, writer);
    }

    #[inline]
    pub(crate) fn add_exclusive_ns(&self, ns: u64, writer: Writer) {
        add(&self.sums(writer).exclusive_ns, ns, writer);
    }

    /// Adds one finished frame's inclusive time and gas.
    #[inline]
    pub(crate) fn add_frame(&self, inclusive_ns: u64, gas: u64, writer: Writer) {
        let sums = self.sums(writer);
        add(&sums.inclusive_ns, inclusive_ns, writer);
        add(&sums.gas, gas, writer);
    }

    /// A counter, chosen by `field`: the sum of the owner's half and the other threads'.
    #[inline]
    fn sum(&self, field: impl Fn(&Sums) -> &AtomicU64) -> u64 {
        let half = |sums| field(sums).load(Ordering::Relaxed);
        half(&self.owner).saturating_add(half(&self.others))
    }

    /// Frames that started in this tier.
    #[inline]
    pub fn calls(&self) -> u64 {
        self.sum(|s| &s.calls)
    }

    /// Gas used by the frames that started in this tier (saturating).
    #[inline]
    pub fn gas(&self) -> u64 {
        self.sum(|s| &s.gas)
    }

    /// Time spent running this unit in this tier, nested frames excluded.
    #[inline]
    pub fn exclusive_ns(&self) -> u64 {
        self.sum(|s| &s.exclusive_ns)
    }

    /// Time from start to end of the frames that started in this tier, nested frames
    /// included (a recursive unit counts the inner frames' time again, as profilers do).
    #[inline]
    pub fn inclusive_ns(&self) -> u64 {
        self.sum(|s| &s.inclusive_ns)
    }

    /// All four counters (each read on its own).
    pub fn totals(&self) -> TierTotals {
        TierTotals {
            calls: self.calls(),
            exclusive_ns: self.exclusive_ns(),
            inclusive_ns: self.inclusive_ns(),
            gas: self.gas(),
        }
    }
}

/// Adds `n` to one half of a counter, saturating at `u64::MAX`. The owner thread is that
/// half's only writer, so a plain load and store lose nothing and spare a locked add on
/// every frame; other threads share their half and add atomically.
#[inline]
fn add(half: &AtomicU64, n: u64, writer: Writer) {
    match writer {
        Writer::Owner => half.store(
            half.load(Ordering::Relaxed).saturating_add(n),
            Ordering::Relaxed,
        ),
        Writer::Other => add_saturating(half, n),
    }
}

/// A unit's counters, always on; aligned to a cache line so that two units' counters never
/// share one.
///
/// The first thread to run a frame of the unit becomes its *owner* and adds to the per-frame
/// counters (calls, times, gas) with plain relaxed stores into its own half of each; other
/// threads add atomically into the other half. A client runs most contracts on one thread,
/// so most frames pay no locked instruction for their accounting. An owner that exits keeps
/// the unit (thread numbers are never reused); the others go on adding atomically.
#[repr(align(64))]
#[derive(Debug, Default)]
pub struct UnitCounters {
    tiers: [TierCounters; 2],
    /// The owner thread's number (`timing`'s per-thread number), 0 while there is none.
    owner: AtomicU64,
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

    /// How the thread numbered `thread` (never 0) adds to these counters: as their owner if
    /// it is or becomes the owner now, as another thread otherwise.
    #[inline]
    pub(crate) fn writer(&self, thread: u64) -> Writer {
        let owner = self.owner.load(Ordering::Relaxed);
        let owns = owner == thread
            || (owner == 0
                && self
                    .owner
                    .compare_exchange(0, thread, Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok());
        if owns {
            Writer::Owner
        } else {
            Writer::Other
        }
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
        CountersSnapshot {
            interp: self.tier(Tier::Interp).totals(),
            jit: self.tier(Tier::Jit).totals(),
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
        // Each counter is the sum of the owner's half and the other threads' half.
        let (i, j) = (c.tier(Tier::Interp), c.tier(Tier::Jit));
        i.add_call(Writer::Owner);
        i.add_exclusive_ns(2, Writer::Other);
        i.add_frame(1, 4, Writer::Owner);
        i.add_frame(2, 0, Writer::Other);
        for w in [
            Writer::Owner,
            Writer::Other,
            Writer::Other,
            Writer::Owner,
            Writer::Other,
        ] {
            j.add_call(w);
        }
        j.add_exclusive_ns(1, Writer::Owner);
        j.add_exclusive_ns(5, Writer::Other);
        j.add_frame(7, 3, Writer::Other);
        j.add_frame(0, 5, Writer::Owner);
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
    fn the_first_thread_to_ask_owns_the_unit() {
        let c = UnitCounters::new();
        assert_eq!(c.writer(7), Writer::Owner);
        assert_eq!(c.writer(8), Writer::Other);
        assert_eq!(c.writer(7), Writer::Owner, "ownership stays");
    }

    #[test]
    fn both_halves_saturate() {
        let t = TierCounters::default();
        t.add_frame(0, u64::MAX - 1, Writer::Owner);
        t.add_frame(0, 5, Writer::Owner);
        assert_eq!(t.gas(), u64::MAX);
        t.add_frame(0, 5, Writer::Other);
        assert_eq!(t.gas(), u64::MAX, "the sum saturates too");
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
