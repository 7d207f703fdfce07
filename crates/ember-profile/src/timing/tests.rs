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

#[test]
fn a_frame_from_an_earlier_reading_starts_there_but_not_before_the_last_transition() {
    let clock = ManualClock::install(1_000);
    let (a, b) = (UnitCounters::new(), UnitCounters::new());
    // The caller read the clock, then did 40 ns of its own work: the frame starts at the
    // reading, so the work is the frame's.
    let read = now_ns();
    clock.advance(40);
    frame_from(read, &a, UnitId(1), Tier::Jit, None, || {
        clock.advance(100);
        frame(&b, UnitId(2), Tier::Interp, None, || {
            clock.advance(10);
            // A reading from before B started counts as B's start, the thread's last
            // transition: the 10 ns since go to the nested frame, and no time twice.
            frame_from(read, &a, UnitId(1), Tier::Interp, None, || {
                clock.advance(5);
                ((), 1)
            });
            ((), 2)
        });
        ((), 3)
    });
    let (a, b) = (snap(&a), snap(&b));
    assert_eq!((a.jit.inclusive_ns, a.jit.exclusive_ns), (155, 140));
    assert_eq!((a.interp.inclusive_ns, a.interp.exclusive_ns), (15, 15));
    assert_eq!((b.interp.inclusive_ns, b.interp.exclusive_ns), (15, 0));
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
    // The first thread to run a frame owns the unit and adds without locked instructions;
    // the other adds atomically into its own half, so nothing is lost while both run.
    const FRAMES: u64 = 100_000;
    let shared = UnitCounters::new();
    let start = std::sync::Barrier::new(2);
    std::thread::scope(|scope| {
        for t in 0..2u64 {
            let (shared, start) = (&shared, &start);
            scope.spawn(move || {
                let clock = ManualClock::install(t * 1_000_000);
                start.wait();
                for _ in 0..FRAMES {
                    frame(shared, UnitId(1), Tier::Jit, None, || {
                        clock.advance(3);
                        ((), 2)
                    });
                }
            });
        }
    });
    let s = snap(&shared);
    assert_eq!(s.jit.calls, 2 * FRAMES);
    assert_eq!(s.jit.exclusive_ns, 6 * FRAMES);
    assert_eq!(s.jit.inclusive_ns, 6 * FRAMES);
    assert_eq!(s.jit.gas, 4 * FRAMES);
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
