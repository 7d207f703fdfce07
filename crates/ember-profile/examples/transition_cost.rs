//! Measures what the profiler costs per transition (a frame entered, left, or a side exit),
//! with the counters only and with a timeline, and what the candidate clocks cost a read.
//!
//! ```text
//! cargo run --release -p ember-profile --example transition_cost -- [--iters N]
//! ```
//!
//! Each case runs a caller frame that calls a callee frame N times, so every iteration is two
//! transitions (enter and leave the callee); `side exit` adds a third. Times are the best of
//! five rounds, in wall-clock nanoseconds per transition. `empty loop` is the same loop
//! calling the callee's closure directly, for the cost of the loop itself.

use ember_profile::timing::{frame, side_exit};
use ember_profile::{ManualClock, Tier, Timeline, TimelineConfig, UnitCounters, UnitId};
use std::hint::black_box;
use std::time::Instant;

/// The best of five rounds of `f` over `iters` iterations, in ns per iteration.
fn best(iters: u64, mut f: impl FnMut(u64)) -> f64 {
    (0..5)
        .map(|_| {
            let t = Instant::now();
            f(iters);
            t.elapsed().as_nanos() as f64 / iters as f64
        })
        .fold(f64::INFINITY, f64::min)
}

/// A caller frame of `a` calling `b` `iters` times, each call side-exiting if asked.
fn calls(a: &UnitCounters, b: &UnitCounters, timeline: Option<&Timeline>, iters: u64, exit: bool) {
    frame(a, UnitId(1), Tier::Interp, timeline, || {
        for i in 0..iters {
            frame(b, UnitId(2), Tier::Jit, timeline, || {
                if exit {
                    side_exit(7);
                }
                (black_box(i), 21)
            });
        }
        ((), 0)
    });
}

#[cfg(target_os = "linux")]
fn clock_gettime_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a live, writable `timespec`; `clock_gettime` writes only into it.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64) * 1_000_000_000 + ts.tv_nsec as u64
}

fn main() {
    let mut iters: u64 = 2_000_000;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match (a.as_str(), args.next().map(|v| v.parse::<u64>())) {
            ("--iters", Some(Ok(n))) if n > 0 => iters = n,
            _ => {
                eprintln!("transition_cost: usage: [--iters N]");
                std::process::exit(2);
            }
        }
    }

    println!("clock reads (ns per read):");
    let origin = Instant::now();
    let instant = best(iters, |n| {
        for _ in 0..n {
            black_box(origin.elapsed().as_nanos() as u64);
        }
    });
    println!("  Instant::elapsed                 {instant:6.2}");
    #[cfg(target_os = "linux")]
    {
        let raw = best(iters, |n| {
            for _ in 0..n {
                black_box(clock_gettime_ns());
            }
        });
        println!("  clock_gettime(CLOCK_MONOTONIC)   {raw:6.2}");
    }

    println!("transitions (ns per transition, {iters} calls per round):");
    let (a, b) = (UnitCounters::new(), UnitCounters::new());
    let empty = best(iters, |n| {
        for i in 0..n {
            black_box((black_box(i), 21u64));
        }
    });
    println!("  empty loop (per call)            {empty:6.2}");
    let report = |name: &str, per_call: f64, transitions: f64| {
        println!(
            "  {name:<32} {:6.2}   ({per_call:.2} ns per call)",
            per_call / transitions
        );
    };
    report(
        "counters",
        best(iters, |n| calls(&a, &b, None, n, false)),
        2.0,
    );
    {
        // The same with the clock standing still: what the accounting costs besides the
        // clock read.
        let _clock = ManualClock::install(0);
        report(
            "counters, no clock read",
            best(iters, |n| calls(&a, &b, None, n, false)),
            2.0,
        );
    }
    report(
        "counters, side exit",
        best(iters, |n| calls(&a, &b, None, n, true)),
        3.0,
    );
    let merged = Timeline::new(TimelineConfig::default());
    report(
        "timeline (merged)",
        best(iters, |n| calls(&a, &b, Some(&merged), n, false)),
        2.0,
    );
    report(
        "timeline (merged), side exit",
        best(iters, |n| calls(&a, &b, Some(&merged), n, true)),
        3.0,
    );
    let snap = merged.snapshot();
    println!(
        "    {} span(s), {} event(s) for {} transitions",
        snap.spans.len(),
        snap.events.len(),
        iters * 5 * (2 + 3)
    );
    // Every piece its own span: the worst case, every record goes through the ring (which
    // overflows and drops).
    let unmerged = Timeline::new(TimelineConfig {
        capacity: 1 << 16,
        merge_gap_ns: 0,
    });
    report(
        "timeline (no merging)",
        best(iters, |n| calls(&a, &b, Some(&unmerged), n, false)),
        2.0,
    );
    println!(
        "    {} record(s) dropped by the full ring",
        unmerged.snapshot().dropped.total()
    );

    // Two threads calling the same two units: the counters' cache lines bounce between cores.
    let per_thread = iters / 2;
    let shared = best(per_thread, |n| {
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| calls(&a, &b, None, n, false));
            }
        })
    });
    report("counters, 2 threads, same units", shared, 2.0);
}
