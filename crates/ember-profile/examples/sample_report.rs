//! Runs a synthetic workload through the profiler on the real clock and writes every report
//! form, to look at them without a runtime:
//!
//! ```text
//! cargo run --release -p ember-profile --example sample_report -- [DIR]
//! ```
//!
//! writes `DIR/report.txt`, `DIR/report.json`, `DIR/trace.json` (open it in Perfetto or
//! chrome://tracing) and `DIR/timeline.svg` (default DIR: `target/profile-sample`).
//!
//! The workload: two threads run 300 transactions each. A transaction is a router contract
//! (interpreted) calling a token contract three times and a math contract once. A compile
//! worker compiles the token contract after 2 ms (from then on it runs compiled and
//! side-exits at pc 0x1a2 on every seventh call) and fails to compile the math contract.
//! Work is simulated by spinning.

use ember_evm::{keccak256, Address, Revision};
use ember_profile::report::{Report, UnitLabel};
use ember_profile::timing::{frame, now_ns, side_exit};
use ember_profile::{EventKind, Tier, Timeline, TimelineConfig, UnitCounters, UnitId};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn spin(d: Duration) {
    let t = Instant::now();
    while t.elapsed() < d {
        std::hint::spin_loop();
    }
}

fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/profile-sample".into());
    let timeline = Timeline::new(TimelineConfig::default());
    let units: [(UnitId, UnitLabel, UnitCounters); 3] = [1u8, 2, 3].map(|i| {
        let label = UnitLabel {
            code_hash: keccak256(&[i; 8]),
            address: Address([i * 0x11; 20]),
            revision: Revision::Prague,
        };
        (UnitId(i.into()), label, UnitCounters::new())
    });
    let [(router_id, _, router), (token_id, _, token), (math_id, _, math)] = &units;
    let token_compiled = AtomicBool::new(false);

    std::thread::scope(|s| {
        let (tl, token_compiled) = (&timeline, &token_compiled);
        std::thread::Builder::new()
            .name("compile-0".into())
            .spawn_scoped(s, move || {
                spin(us(2_000));
                tl.event(*token_id, EventKind::Hot);
                tl.event(*token_id, EventKind::Queued);
                let start = now_ns();
                spin(us(3_000));
                let end = now_ns();
                tl.compile_job(0, *token_id, start, end, true);
                token.add_compile_ns(end - start);
                token.add_version();
                token_compiled.store(true, Ordering::Release);
                tl.event(*token_id, EventKind::Compiled);

                spin(us(1_000));
                tl.event(*math_id, EventKind::Hot);
                let start = now_ns();
                spin(us(1_500));
                let end = now_ns();
                tl.compile_job(0, *math_id, start, end, false);
                math.add_compile_ns(end - start);
                tl.event(*math_id, EventKind::Rejected);
            })
            .expect("spawn the compile worker");
        for name in ["executor-0", "executor-1"] {
            std::thread::Builder::new()
                .name(name.into())
                .spawn_scoped(s, move || {
                    let mut token_calls = 0u32;
                    for _ in 0..300 {
                        frame(router, *router_id, Tier::Interp, Some(tl), || {
                            spin(us(5));
                            for _ in 0..3 {
                                token_calls += 1;
                                let jit = token_compiled.load(Ordering::Acquire);
                                let tier = if jit { Tier::Jit } else { Tier::Interp };
                                frame(token, *token_id, tier, Some(tl), || {
                                    spin(us(3));
                                    if jit && token_calls.is_multiple_of(7) {
                                        side_exit(0x1a2);
                                        spin(us(2));
                                    }
                                    ((), 30_000)
                                });
                                spin(us(1));
                            }
                            frame(math, *math_id, Tier::Interp, Some(tl), || {
                                spin(us(10));
                                ((), 80_000)
                            });
                            ((), 150_000)
                        });
                        spin(us(20));
                    }
                })
                .expect("spawn an executor");
        }
    });

    let report = Report::build(units.iter().map(|(id, l, c)| (*id, *l, c)), Some(&timeline));
    let text = report.to_text(20);
    println!("{text}");
    let write = |name: &str, contents: String| {
        let path = std::path::Path::new(&dir).join(name);
        if let Err(e) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, contents))
        {
            eprintln!("sample_report: {}: {e}", path.display());
            std::process::exit(1);
        }
        println!("wrote {}", path.display());
    };
    write("report.txt", text + "\n");
    write("report.json", report.to_json().to_string());
    write("trace.json", report.to_chrome_trace().to_string());
    write("timeline.svg", report.to_svg());
}
