use super::*;
use crate::timing::{frame, side_exit, ManualClock};
use crate::UnitCounters;

fn timeline(capacity: usize, merge_gap_ns: u64) -> Timeline {
    Timeline::new(TimelineConfig {
        capacity,
        merge_gap_ns,
    })
}

/// A (interp) calls B 10,000 times; B starts compiled and side-exits at pc 7 every time.
/// Every piece is 1 µs, far below the 50 µs gap: 30,001 pieces become three spans.
#[test]
fn ten_thousand_alternations_make_a_handful_of_spans() {
    let clock = ManualClock::install(0);
    let tl = timeline(1024, 50_000);
    let (a, b) = (UnitCounters::new(), UnitCounters::new());
    frame(&a, UnitId(1), Tier::Interp, Some(&tl), || {
        for _ in 0..10_000 {
            clock.advance(1_000);
            frame(&b, UnitId(2), Tier::Jit, Some(&tl), || {
                clock.advance(1_000);
                side_exit(7);
                clock.advance(1_000);
                ((), 0)
            });
        }
        clock.advance(1_000);
        ((), 0)
    });
    let snap = tl.snapshot();
    let spans: Vec<(u64, Tier, u64, u64, u64)> = snap
        .spans
        .iter()
        .map(|s| (s.unit.0, s.tier, s.start_ns, s.end_ns, s.count))
        .collect();
    assert_eq!(
        spans,
        vec![
            (1, Tier::Interp, 0, 30_001_000, 10_001),
            (2, Tier::Jit, 1_000, 29_999_000, 10_000),
            (2, Tier::Interp, 2_000, 30_000_000, 10_000),
        ]
    );
    assert_eq!(snap.events.len(), 1);
    let e = snap.events[0];
    assert_eq!(e.kind, EventKind::SideExit { pc: 7 });
    assert_eq!((e.unit, e.count), (UnitId(2), 10_000));
    assert_eq!((e.first_ns, e.last_ns), (2_000, 29_999_000));
    assert_eq!(snap.dropped, Dropped::default());
    assert_eq!(snap.threads.len(), 1);
    assert!(snap.spans.iter().all(|s| s.thread == snap.threads[0].id));
}

#[test]
fn pieces_farther_apart_than_the_gap_stay_apart() {
    let clock = ManualClock::install(0);
    let tl = timeline(1024, 50_000);
    let a = UnitCounters::new();
    for pause in [10_000, 60_000, 49_999, 50_000] {
        frame(&a, UnitId(1), Tier::Jit, Some(&tl), || {
            clock.advance(100);
            ((), 0)
        });
        clock.advance(pause);
    }
    frame(&a, UnitId(1), Tier::Jit, Some(&tl), || {
        clock.advance(100);
        ((), 0)
    });
    let spans: Vec<(u64, u64, u64)> = tl
        .snapshot()
        .spans
        .iter()
        .map(|s| (s.start_ns, s.end_ns, s.count))
        .collect();
    // 0-100, (10 µs) 10_100-10_200, (60 µs) 70_200-70_300, (49.999 µs) 120_299-120_399,
    // (50 µs) 170_399-170_499.
    assert_eq!(
        spans,
        vec![(0, 10_200, 2), (70_200, 120_399, 2), (170_399, 170_499, 1)]
    );
}

/// Whatever merges or not, the counts add up to the pieces recorded: here twelve units
/// in turn, more than the open table holds.
#[test]
fn counts_add_up_to_the_pieces_even_when_the_table_overflows() {
    let clock = ManualClock::install(0);
    let tl = timeline(1 << 16, 50_000);
    let units: Vec<UnitCounters> = (0..12).map(|_| UnitCounters::new()).collect();
    for round in 0..100 {
        for (i, u) in units.iter().enumerate() {
            let tier = if (round + i) % 2 == 0 {
                Tier::Interp
            } else {
                Tier::Jit
            };
            frame(u, UnitId(i as u64), tier, Some(&tl), || {
                clock.advance(10);
                ((), 0)
            });
        }
    }
    let snap = tl.snapshot();
    assert_eq!(snap.spans.iter().map(|s| s.count).sum::<u64>(), 1200);
    for (i, u) in units.iter().enumerate() {
        let ns: u64 = snap
            .spans
            .iter()
            .filter(|s| s.unit == UnitId(i as u64))
            .map(|s| s.end_ns - s.start_ns)
            .sum();
        let c = u.snapshot();
        assert!(ns >= c.interp.exclusive_ns + c.jit.exclusive_ns);
    }
    // Spans of one (thread, unit, tier) never overlap.
    let mut sorted = snap.spans.clone();
    sorted.sort_by_key(|s| (s.unit, s.tier, s.start_ns));
    for w in sorted.windows(2) {
        if w[0].unit == w[1].unit && w[0].tier == w[1].tier {
            assert!(w[0].end_ns <= w[1].start_ns, "{:?}", w);
        }
    }
}

#[test]
fn a_full_ring_drops_the_oldest_and_counts_them() {
    let clock = ManualClock::install(0);
    // No merging: each frame is a span of its own.
    let tl = timeline(10, 0);
    let a = UnitCounters::new();
    for _ in 0..25 {
        frame(&a, UnitId(1), Tier::Interp, Some(&tl), || {
            clock.advance(5);
            ((), 0)
        });
        clock.advance(5);
    }
    for i in 0..15 {
        tl.compile_job(0, UnitId(1), i, i + 1, true);
    }
    let snap = tl.snapshot();
    // 24 closed (10 kept, 14 dropped) and the last one still open.
    assert_eq!(snap.dropped.spans, 14);
    assert_eq!(snap.dropped.compile_jobs, 5);
    assert_eq!(snap.dropped.total(), 19);
    let starts: Vec<u64> = snap.spans.iter().map(|s| s.start_ns).collect();
    assert_eq!(starts, (14..25).map(|i| i * 10).collect::<Vec<_>>());
    assert_eq!(snap.compile_jobs.len(), 10);
    assert_eq!(snap.compile_jobs[0].start_ns, 5);
}

#[test]
fn a_timeline_with_no_capacity_counts_everything_as_dropped() {
    let _clock = ManualClock::install(0);
    let tl = timeline(0, 0);
    tl.compile_job(1, UnitId(1), 0, 1, false);
    tl.event(UnitId(1), EventKind::Hot);
    tl.event(UnitId(1), EventKind::Hot);
    let snap = tl.snapshot();
    assert_eq!(snap.dropped.compile_jobs, 1);
    assert_eq!(
        snap.dropped.events, 1,
        "the second closed the first; the last is open"
    );
    assert_eq!(snap.events.len(), 1);
    assert!(snap.compile_jobs.is_empty());
}

#[test]
fn events_merge_by_unit_and_kind() {
    let clock = ManualClock::install(1_000_000);
    let tl = timeline(64, 50_000);
    for _ in 0..3 {
        tl.event(UnitId(4), EventKind::Hot);
        clock.advance(10_000);
    }
    tl.event(UnitId(4), EventKind::Queued);
    tl.event(UnitId(5), EventKind::Hot);
    tl.event(UnitId(4), EventKind::SideExit { pc: 1 });
    tl.event(UnitId(4), EventKind::SideExit { pc: 2 });
    clock.advance(100_000);
    tl.event(UnitId(4), EventKind::Hot);
    let snap = tl.snapshot();
    let got: Vec<(u64, &str, u64, u64, u64)> = snap
        .events
        .iter()
        .map(|e| (e.unit.0, e.kind.name(), e.first_ns, e.last_ns, e.count))
        .collect();
    assert_eq!(
        got,
        vec![
            (4, "hot", 0, 20_000, 3),
            (4, "queued", 30_000, 30_000, 1),
            (4, "sideExit", 30_000, 30_000, 1),
            (4, "sideExit", 30_000, 30_000, 1),
            (5, "hot", 30_000, 30_000, 1),
            (4, "hot", 130_000, 130_000, 1),
        ]
    );
}

#[test]
fn threads_are_numbered_named_and_flushed_when_they_exit() {
    // Every thread's manual clock starts where the timeline does.
    let _clock = ManualClock::install(0);
    let tl = timeline(1024, 50_000);
    let a = UnitCounters::new();
    std::thread::scope(|scope| {
        for name in ["left", "right"] {
            let (tl, a) = (&tl, &a);
            std::thread::Builder::new()
                .name(name.into())
                .spawn_scoped(scope, move || {
                    let clock = ManualClock::install(0);
                    frame(a, UnitId(1), Tier::Interp, Some(tl), || {
                        clock.advance(100);
                        ((), 0)
                    });
                    tl.compile_job(3, UnitId(1), 0, 0, true);
                })
                .unwrap();
        }
    });
    let snap = tl.snapshot();
    let mut names: Vec<&str> = snap
        .threads
        .iter()
        .filter_map(|t| t.name.as_deref())
        .collect();
    names.sort();
    assert_eq!(names, ["left", "right"]);
    let mut threads: Vec<u32> = snap.spans.iter().map(|s| s.thread).collect();
    threads.sort();
    assert_eq!(threads, [0, 1]);
    assert!(snap.spans.iter().all(|s| s.end_ns - s.start_ns == 100));
    assert_eq!(snap.compile_jobs.len(), 2);
    // Exited threads unregister (in their thread-local destructors, which may run just
    // after the scope saw the threads finish).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !lock(&tl.inner.threads).live.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "exited threads unregister"
        );
        std::thread::yield_now();
    }
    assert_eq!(tl.snapshot(), snap);
}

#[test]
fn a_snapshot_sees_the_open_records_of_running_threads() {
    let _clock = ManualClock::install(0);
    let tl = timeline(1024, 50_000);
    let a = UnitCounters::new();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    std::thread::scope(|scope| {
        let (tl, a) = (&tl, &a);
        scope.spawn(move || {
            let clock = ManualClock::install(0);
            frame(a, UnitId(9), Tier::Jit, Some(tl), || {
                clock.advance(40);
                ((), 0)
            });
            ready_tx.send(()).unwrap();
            done_rx.recv().unwrap();
        });
        ready_rx.recv().unwrap();
        let snap = tl.snapshot();
        // Let the thread go before checking, so that a failure cannot hang the scope.
        done_tx.send(()).unwrap();
        assert_eq!(snap.spans.len(), 1);
        assert_eq!((snap.spans[0].unit, snap.spans[0].end_ns), (UnitId(9), 40));
    });
    // And after the thread exited, the same span from the ring.
    assert_eq!(tl.snapshot().spans.len(), 1);
}

#[test]
fn a_thread_moving_to_another_timeline_flushes_into_the_first() {
    let clock = ManualClock::install(0);
    let (one, two) = (timeline(64, 50_000), timeline(64, 50_000));
    let a = UnitCounters::new();
    for tl in [&one, &two, &one] {
        frame(&a, UnitId(1), Tier::Interp, Some(tl), || {
            clock.advance(10);
            ((), 0)
        });
    }
    let (s1, s2) = (one.snapshot(), two.snapshot());
    assert_eq!(s1.spans.len(), 2, "{:?}", s1.spans);
    assert_eq!(s1.spans.iter().map(|s| s.count).sum::<u64>(), 2);
    assert_eq!(s2.spans.len(), 1);
    assert_eq!((s2.spans[0].start_ns, s2.spans[0].end_ns), (10, 20));
    assert_eq!(s1.threads.len(), 2, "registered again on its return");
}

#[test]
fn a_dropped_timeline_is_released_by_threads_that_used_it() {
    let _clock = ManualClock::install(0);
    let tl = timeline(64, 50_000);
    let weak = Arc::downgrade(&tl.inner);
    tl.event(UnitId(1), EventKind::Evicted);
    drop(tl);
    assert!(weak.upgrade().is_none());
    // The next timeline on this thread works as if the first never existed.
    let other = timeline(64, 50_000);
    other.event(UnitId(2), EventKind::Compiled);
    assert_eq!(other.snapshot().events.len(), 1);
}

#[test]
fn event_names() {
    let kinds = [
        (EventKind::Hot, "hot"),
        (EventKind::Queued, "queued"),
        (EventKind::Compiled, "compiled"),
        (EventKind::Rejected, "rejected"),
        (EventKind::Evicted, "evicted"),
        (EventKind::SideExit { pc: 0 }, "sideExit"),
        (EventKind::Invalidated, "invalidated"),
        (EventKind::Discarded, "discarded"),
        (EventKind::TieredUp, "tieredUp"),
    ];
    for (k, n) in kinds {
        assert_eq!(k.name(), n);
    }
}
