//! Per-thread transition tracking: which unit and tier the thread is running, and since when.
//!
//! Every frame runs inside [`frame`]. A thread's state is the *current* frame's unit (its
//! counters), unit id, tier and timeline, and the time of the last transition. Each transition
//! — a frame starts, compiled code side-exits to the interpreter ([`side_exit`]), a frame ends —
//! reads the clock once and charges the time since the last transition to the exclusive time
//! of the unit and tier that was running (and, with a timeline, records it as a span). A frame
//! that ends also adds its inclusive time (end − start) and its gas to the tier it *started*
//! in, and makes its parent current again: leaving a callee and resuming the caller is one
//! transition. So the exclusive times of all frames on a thread sum exactly to the inclusive
//! time of the outermost frame, and time between outermost frames is charged to nobody.
//!
//! The clock is the system's monotonic clock in nanoseconds ([`now_ns`]); tests install a
//! [`ManualClock`] on their thread to drive it by hand.

use crate::timeline::{EventKind, Timeline};
use crate::{clock, Tier, UnitCounters, UnitId, Writer};
use std::cell::Cell;
use std::marker::PhantomData;
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};

/// What the thread is running: the innermost live frame's unit, or nothing (null `unit`).
#[derive(Clone, Copy)]
struct Current {
    unit: *const UnitCounters,
    id: UnitId,
    tier: Tier,
    /// How this thread adds to the unit's counters.
    writer: Writer,
    /// The frame's timeline, or null.
    timeline: *const Timeline,
}

const IDLE: Current = Current {
    unit: ptr::null(),
    id: UnitId(0),
    tier: Tier::Interp,
    writer: Writer::Other,
    timeline: ptr::null(),
};

/// The last thread number handed out; numbers start at 1 and are never reused.
static THREADS: AtomicU64 = AtomicU64::new(0);

struct State {
    current: Cell<Current>,
    /// When the current unit and tier started running (the last transition).
    since: Cell<u64>,
    /// The manual clock's reading, when one is installed on this thread.
    manual: Cell<Option<u64>>,
    /// This thread's number, which units record as their owner; 0 until the first frame.
    thread: Cell<u64>,
}

thread_local! {
    // Constant-initialised and without a destructor: an access is a plain TLS offset, with no
    // lazy-initialisation check, and it is valid for the whole life of the thread.
    static STATE: State = const {
        State {
            current: Cell::new(IDLE),
            since: Cell::new(0),
            manual: Cell::new(None),
            thread: Cell::new(0),
        }
    };
}

impl State {
    /// This thread's number, taken on first use.
    #[inline]
    fn thread(&self) -> u64 {
        match self.thread.get() {
            0 => {
                let n = THREADS.fetch_add(1, Ordering::Relaxed) + 1;
                self.thread.set(n);
                n
            }
            n => n,
        }
    }

    #[inline]
    fn now(&self) -> u64 {
        match self.manual.get() {
            Some(ns) => ns,
            None => clock::monotonic_ns(),
        }
    }

    /// Charges the time from the last transition to `now` to the running unit and tier.
    #[inline]
    fn charge(&self, now: u64) {
        let cur = self.current.get();
        if cur.unit.is_null() {
            return;
        }
        let since = self.since.get();
        // SAFETY: a non-null `current` was stored by the innermost live `FrameGuard` from
        // references it borrows for its whole life, and is replaced by its parent's values
        // when that guard drops (see `FrameGuard`): the counters and the timeline are alive.
        let unit = unsafe { &*cur.unit };
        unit.tier(cur.tier)
            .add_exclusive_ns(now.saturating_sub(since), cur.writer);
        // SAFETY: as above, for the timeline.
        if let Some(timeline) = unsafe { cur.timeline.as_ref() } {
            timeline.span(cur.id, cur.tier, since, now);
        }
    }
}

/// The current time on this thread's profiling clock: the monotonic clock in nanoseconds, or
/// the [`ManualClock`] installed on this thread. Compile jobs given to
/// [`Timeline::compile_job`] are timed with it.
pub fn now_ns() -> u64 {
    STATE.with(State::now)
}

/// Runs one frame of the unit whose counters are `unit` in `tier`: `run` returns the frame's
/// result and the gas it used, and `frame` returns the result.
///
/// Counts the call for `tier`, charges exclusive time as described in the module
/// documentation, and adds the frame's inclusive time and gas to `tier` (the tier it started
/// in, even if it side-exited). With `timeline`, the time this frame's unit runs is recorded
/// there as spans. Nested frames are nested `frame` calls inside `run`, on the same thread. If
/// `run` panics the thread's state is restored all the same (the frame counts with no gas).
#[inline]
pub fn frame<R>(
    unit: &UnitCounters,
    id: UnitId,
    tier: Tier,
    timeline: Option<&Timeline>,
    run: impl FnOnce() -> (R, u64),
) -> R {
    frame_from(now_ns(), unit, id, tier, timeline, run)
}

/// [`frame`], starting at `start_ns`: a reading of [`now_ns`] the caller took on this thread
/// for its own use just before, which the frame shares instead of reading the clock again.
/// The time between that reading and this call is charged to this frame rather than to the
/// one running before it, so the caller must not do anything long in between. A reading
/// older than the thread's last transition counts as that transition's time.
#[inline]
pub fn frame_from<R>(
    start_ns: u64,
    unit: &UnitCounters,
    id: UnitId,
    tier: Tier,
    timeline: Option<&Timeline>,
    run: impl FnOnce() -> (R, u64),
) -> R {
    // One TLS access for the whole frame: in a shared library (libember.so) each one is a
    // call to `__tls_get_addr`.
    STATE.with(|state| {
        let start = start_ns.max(state.since.get());
        let mut guard = FrameGuard::enter(state, start, unit, id, tier, timeline);
        let (result, gas) = run();
        guard.gas = gas;
        drop(guard);
        result
    })
}

/// The running frame leaves compiled code at `pc` and continues in the interpreter: the time
/// so far goes to compiled code, the rest of the frame to the interpreter, and the unit's side
/// exits are counted (with a timeline, a `SideExit { pc }` event is recorded). Outside a frame
/// it does nothing.
pub fn side_exit(pc: u32) {
    STATE.with(|s| {
        let cur = s.current.get();
        // SAFETY: see `State::charge`: a non-null current unit belongs to a live frame.
        let Some(unit) = (unsafe { cur.unit.as_ref() }) else {
            return;
        };
        let now = s.now();
        s.charge(now);
        unit.side_exits.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as above, for the timeline.
        if let Some(timeline) = unsafe { cur.timeline.as_ref() } {
            timeline.event_at(cur.id, EventKind::SideExit { pc }, now);
        }
        s.current.set(Current {
            tier: Tier::Interp,
            ..cur
        });
        s.since.set(now);
    })
}

/// A running frame. It makes its unit current on creation and its parent current again on
/// drop, normal return or unwinding alike.
///
/// Soundness of the raw pointers in `STATE`: a guard stores pointers derived from `unit` and
/// `timeline`, which it borrows for `'a`, so they stay valid while the guard lives. Guards are
/// private to `frame`, which creates one on its stack and drops it before returning (or while
/// unwinding): they cannot be leaked or moved elsewhere, and nested `frame` calls drop their
/// guards in the reverse order of creation. So the pointers in `STATE` are always null or the
/// innermost live guard's, and each drop restores exactly what was there before its guard.
struct FrameGuard<'a> {
    /// This thread's state.
    state: &'a State,
    unit: &'a UnitCounters,
    tier: Tier,
    /// How this thread adds to the unit's counters.
    writer: Writer,
    start_ns: u64,
    parent: Current,
    gas: u64,
}

impl<'a> FrameGuard<'a> {
    #[inline]
    fn enter(
        state: &'a State,
        now: u64,
        unit: &'a UnitCounters,
        id: UnitId,
        tier: Tier,
        timeline: Option<&'a Timeline>,
    ) -> Self {
        state.charge(now);
        let writer = unit.writer(state.thread());
        unit.tier(tier).add_call(writer);
        let parent = state.current.replace(Current {
            unit,
            id,
            tier,
            writer,
            timeline: timeline.map_or(ptr::null(), |t| t as *const Timeline),
        });
        state.since.set(now);
        FrameGuard {
            state,
            unit,
            tier,
            writer,
            start_ns: now,
            parent,
            gas: 0,
        }
    }
}

impl Drop for FrameGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        let s = self.state;
        let now = s.now();
        s.charge(now);
        self.unit.tier(self.tier).add_frame(
            now.saturating_sub(self.start_ns),
            self.gas,
            self.writer,
        );
        s.current.set(self.parent);
        s.since.set(now);
    }
}

/// A clock for tests: while installed, this thread's profiling clock ([`now_ns`], and so
/// every transition on this thread) reads the value it is set to instead of the system clock.
/// Install it before the frames it times start and drop it after they end.
pub struct ManualClock {
    /// What was installed before (restored on drop).
    previous: Option<u64>,
    /// It acts on the thread that installed it.
    _not_send: PhantomData<*const ()>,
}

impl ManualClock {
    /// Installs a manual clock standing at `start_ns` on this thread.
    pub fn install(start_ns: u64) -> Self {
        let previous = STATE.with(|s| s.manual.replace(Some(start_ns)));
        ManualClock {
            previous,
            _not_send: PhantomData,
        }
    }

    /// Moves the clock forward by `ns`.
    pub fn advance(&self, ns: u64) {
        STATE.with(|s| {
            let now = s.manual.get().unwrap_or(0);
            s.manual.set(Some(now.saturating_add(ns)));
        })
    }

    /// The clock's reading.
    pub fn now(&self) -> u64 {
        now_ns()
    }
}

impl Drop for ManualClock {
    fn drop(&mut self) {
        STATE.with(|s| s.manual.set(self.previous));
    }
}

#[cfg(test)]
mod tests;
