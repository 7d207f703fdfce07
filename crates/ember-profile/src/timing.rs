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
use crate::{add_saturating, clock, Tier, UnitCounters, UnitId};
use std::cell::Cell;
use std::marker::PhantomData;
use std::ptr;
use std::sync::atomic::Ordering;

/// What the thread is running: the innermost live frame's unit, or nothing (null `unit`).
#[derive(Clone, Copy)]
struct Current {
    unit: *const UnitCounters,
    id: UnitId,
    tier: Tier,
    /// The frame's timeline, or null.
    timeline: *const Timeline,
}

const IDLE: Current = Current {
    unit: ptr::null(),
    id: UnitId(0),
    tier: Tier::Interp,
    timeline: ptr::null(),
};

struct State {
    current: Cell<Current>,
    /// When the current unit and tier started running (the last transition).
    since: Cell<u64>,
    /// The manual clock's reading, when one is installed on this thread.
    manual: Cell<Option<u64>>,
}

thread_local! {
    // Constant-initialised and without a destructor: an access is a plain TLS offset, with no
    // lazy-initialisation check, and it is valid for the whole life of the thread.
    static STATE: State = const {
        State {
            current: Cell::new(IDLE),
            since: Cell::new(0),
            manual: Cell::new(None),
        }
    };
}

impl State {
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
            .exclusive_ns
            .fetch_add(now.saturating_sub(since), Ordering::Relaxed);
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
    let mut guard = FrameGuard::enter(unit, id, tier, timeline);
    let (result, gas) = run();
    guard.gas = gas;
    drop(guard);
    result
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
    unit: &'a UnitCounters,
    tier: Tier,
    start_ns: u64,
    parent: Current,
    gas: u64,
}

impl<'a> FrameGuard<'a> {
    #[inline]
    fn enter(
        unit: &'a UnitCounters,
        id: UnitId,
        tier: Tier,
        timeline: Option<&'a Timeline>,
    ) -> Self {
        STATE.with(|s| {
            let now = s.now();
            s.charge(now);
            unit.tier(tier).calls.fetch_add(1, Ordering::Relaxed);
            let parent = s.current.replace(Current {
                unit,
                id,
                tier,
                timeline: timeline.map_or(ptr::null(), |t| t as *const Timeline),
            });
            s.since.set(now);
            FrameGuard {
                unit,
                tier,
                start_ns: now,
                parent,
                gas: 0,
            }
        })
    }
}

impl Drop for FrameGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        STATE.with(|s| {
            let now = s.now();
            s.charge(now);
            let t = self.unit.tier(self.tier);
            t.inclusive_ns
                .fetch_add(now.saturating_sub(self.start_ns), Ordering::Relaxed);
            add_saturating(&t.gas, self.gas);
            s.current.set(self.parent);
            s.since.set(now);
        })
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
mod tests {
    use super::*;
    use crate::CountersSnapshot;

    fn snap(c: &UnitCounters) -> CountersSnapshot {
        c.snapshot()
    }

    #[test]
    fn a_single_frame_gets_its_time_call_and_gas() {
        let clock = ManualClock::install(1_000);
        let a = UnitCounters::new();
        let out = frame(&a, UnitId(1), Tier::Interp, None, || {
            clock.advance(250);
            (7, 21_000)
        });
        assert_eq!(out, 7);
        let s = snap(&a);
        assert_eq!(s.interp.calls, 1);
        assert_eq!(s.interp.exclusive_ns, 250);
        assert_eq!(s.interp.inclusive_ns, 250);
        assert_eq!(s.interp.gas, 21_000);
        assert_eq!(s.jit, Default::default());
        assert_eq!(s.side_exits, 0);
    }

    /// A (jit) calls B (interp), which calls C (jit), which side-exits and then calls A
    /// (interp) recursively: four frames, three units, 3 deep below the top, with a side exit
    /// in the middle. Every interval is charged to exactly the unit and tier that ran.
    #[test]
    fn exclusive_times_sum_to_the_top_frames_inclusive_time() {
        let clock = ManualClock::install(5_000);
        let (a, b, c) = (
            UnitCounters::new(),
            UnitCounters::new(),
            UnitCounters::new(),
        );
        frame(&a, UnitId(1), Tier::Jit, None, || {
            clock.advance(10); // A jit
            frame(&b, UnitId(2), Tier::Interp, None, || {
                clock.advance(20); // B interp
                frame(&c, UnitId(3), Tier::Jit, None, || {
                    clock.advance(30); // C jit
                    side_exit(17);
                    clock.advance(40); // C interp
                    frame(&a, UnitId(1), Tier::Interp, None, || {
                        clock.advance(50); // A interp (nested)
                        ((), 5)
                    });
                    clock.advance(60); // C interp
                    ((), 300)
                });
                clock.advance(70); // B interp
                ((), 2_000)
            });
            clock.advance(80); // A jit
            ((), 10_000)
        });
        let (a, b, c) = (snap(&a), snap(&b), snap(&c));
        // Calls count the starting tier.
        assert_eq!((a.jit.calls, a.interp.calls), (1, 1));
        assert_eq!((b.jit.calls, b.interp.calls), (0, 1));
        assert_eq!((c.jit.calls, c.interp.calls), (1, 0));
        // Exclusive time per unit and tier.
        assert_eq!((a.jit.exclusive_ns, a.interp.exclusive_ns), (90, 50));
        assert_eq!((b.jit.exclusive_ns, b.interp.exclusive_ns), (0, 90));
        assert_eq!((c.jit.exclusive_ns, c.interp.exclusive_ns), (30, 100));
        // Inclusive time goes to the starting tier; C's includes the nested A after its exit.
        assert_eq!(a.jit.inclusive_ns, 360);
        assert_eq!(a.interp.inclusive_ns, 50);
        assert_eq!(b.interp.inclusive_ns, 270);
        assert_eq!(c.jit.inclusive_ns, 180);
        assert_eq!(c.interp.inclusive_ns, 0);
        // Gas goes to the starting tier too.
        assert_eq!(
            (a.jit.gas, a.interp.gas, b.interp.gas, c.jit.gas),
            (10_000, 5, 2_000, 300)
        );
        assert_eq!((a.side_exits, b.side_exits, c.side_exits), (0, 0, 1));
        let exclusive: u64 = [a, b, c]
            .iter()
            .map(|s| s.interp.exclusive_ns + s.jit.exclusive_ns)
            .sum();
        assert_eq!(exclusive, a.jit.inclusive_ns);
        assert_eq!(now_ns(), 5_360);
    }

    #[test]
    fn time_between_outermost_frames_is_charged_to_nobody() {
        let clock = ManualClock::install(0);
        let a = UnitCounters::new();
        for _ in 0..3 {
            frame(&a, UnitId(1), Tier::Interp, None, || {
                clock.advance(5);
                ((), 1)
            });
            clock.advance(1_000);
        }
        let s = snap(&a);
        assert_eq!(s.interp.calls, 3);
        assert_eq!(s.interp.exclusive_ns, 15);
        assert_eq!(s.interp.inclusive_ns, 15);
        assert_eq!(s.interp.gas, 3);
    }

    #[test]
    fn a_side_exit_outside_any_frame_does_nothing() {
        let clock = ManualClock::install(0);
        let a = UnitCounters::new();
        side_exit(3);
        clock.advance(10);
        frame(&a, UnitId(1), Tier::Jit, None, || {
            clock.advance(1);
            ((), 0)
        });
        side_exit(3);
        let s = snap(&a);
        assert_eq!(s.side_exits, 0);
        assert_eq!((s.jit.exclusive_ns, s.interp.exclusive_ns), (1, 0));
    }

    #[test]
    fn a_panicking_frame_restores_its_parent() {
        let clock = ManualClock::install(0);
        let (ca, cb) = (UnitCounters::new(), UnitCounters::new());
        frame(&ca, UnitId(1), Tier::Interp, None, || {
            clock.advance(10);
            let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                frame(&cb, UnitId(2), Tier::Jit, None, || -> ((), u64) {
                    clock.advance(20);
                    panic!("frame failed");
                })
            }));
            assert!(caught.is_err());
            // A is current again: this time is A's.
            clock.advance(30);
            ((), 9)
        });
        let (a, b) = (snap(&ca), snap(&cb));
        assert_eq!((a.interp.exclusive_ns, a.interp.inclusive_ns), (40, 60));
        assert_eq!(
            (b.jit.calls, b.jit.exclusive_ns, b.jit.inclusive_ns),
            (1, 20, 20)
        );
        assert_eq!(b.jit.gas, 0, "an unwound frame reports no gas");
        assert_eq!(a.interp.gas, 9);
        // Nothing is current afterwards: a side exit and the time passing charge nobody.
        clock.advance(1_000);
        side_exit(1);
        assert_eq!((snap(&ca), snap(&cb)), (a, b));
    }

    #[test]
    fn threads_account_independently() {
        let shared = UnitCounters::new();
        std::thread::scope(|scope| {
            for t in 0..2u64 {
                let shared = &shared;
                scope.spawn(move || {
                    let clock = ManualClock::install(t * 1_000_000);
                    for _ in 0..1000 {
                        frame(shared, UnitId(1), Tier::Jit, None, || {
                            clock.advance(3);
                            ((), 2)
                        });
                    }
                });
            }
        });
        let s = snap(&shared);
        assert_eq!(s.jit.calls, 2000);
        assert_eq!(s.jit.exclusive_ns, 6000);
        assert_eq!(s.jit.inclusive_ns, 6000);
        assert_eq!(s.jit.gas, 4000);
    }

    #[test]
    fn manual_clocks_nest_and_uninstall() {
        let real = now_ns();
        {
            let outer = ManualClock::install(100);
            {
                let inner = ManualClock::install(7);
                inner.advance(3);
                assert_eq!(inner.now(), 10);
            }
            assert_eq!(outer.now(), 100);
        }
        assert!(now_ns() >= real, "the system clock again");
        assert!(now_ns() > 1_000, "not a manual reading");
    }
}
