//! Times ember's interpreter against compiled code on the evm-benchmarks main set, and
//! reports compile time (IR / optimisation / emission) and machine-code size per contract.
//!
//! ```text
//! cargo run --release -p ember-jit --example bench_jit -- [--opt 0|1|2|3|all] [--ms N] [DIR]
//! ```
//!
//! DIR defaults to `../shared/evm-benchmarks/benchmarks/main` next to the repository. Each
//! case is the contract's frame with the benchmark's calldata (the transaction overhead is
//! the same for both tiers and left out); both tiers must return the same result.

use ember_evm::{execute_analyzed, CodeAnalysis};
use ember_jit::{compile, CompiledContract, JitConfig, OptLevel};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod common;

use common::load;

/// The median time of one run of `f`, repeating it for about `budget`.
fn time(budget: Duration, mut f: impl FnMut()) -> Duration {
    f();
    let mut samples = Vec::new();
    let start = Instant::now();
    while samples.len() < 3 || (start.elapsed() < budget && samples.len() < 10_000) {
        let t = Instant::now();
        f();
        samples.push(t.elapsed());
    }
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

fn main() {
    let mut levels = vec![JitConfig::default().opt_level];
    let mut budget = Duration::from_millis(300);
    let mut dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/evm-benchmarks/benchmarks/main");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--opt" => {
                let v = args.next().unwrap_or_default();
                levels = if v == "all" {
                    vec![OptLevel::O0, OptLevel::O1, OptLevel::O2, OptLevel::O3]
                } else {
                    match OptLevel::from_name(&v) {
                        Some(l) => vec![l],
                        None => {
                            eprintln!("bench_jit: bad --opt {v:?} (0, 1, 2, 3 or all)");
                            std::process::exit(2);
                        }
                    }
                };
            }
            "--ms" => {
                let v = args.next().and_then(|v| v.parse().ok());
                let Some(v) = v else {
                    eprintln!("bench_jit: --ms needs a number of milliseconds");
                    std::process::exit(2);
                };
                budget = Duration::from_millis(v);
            }
            _ => dir = PathBuf::from(a),
        }
    }
    if !dir.is_dir() {
        println!("bench_jit: skipped, no benchmarks at {}", dir.display());
        return;
    }
    let cases = match load(&dir) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("bench_jit: {e}");
            std::process::exit(1);
        }
    };
    for level in levels {
        println!("\n## opt level {level:?}\n");
        println!("| case | interp ms | jit ms | speedup | IR ms | opt ms | emit ms | code KiB |");
        println!("|---|---:|---:|---:|---:|---:|---:|---:|");
        let config = JitConfig {
            opt_level: level,
            ..JitConfig::compile_everything()
        };
        let mut log_sum = 0.0;
        let mut n = 0;
        let mut compile_totals = Vec::new();
        let mut last_code: Option<(Vec<u8>, CompiledContract)> = None;
        for c in &cases {
            if last_code.as_ref().is_none_or(|(code, _)| *code != c.code) {
                match compile(&c.code, c.rev, &config) {
                    Ok(cc) => {
                        let s = cc.stats();
                        compile_totals.push((s.ir_ns, s.opt_ns, s.emit_ns, s.code_bytes));
                        last_code = Some((c.code.clone(), cc));
                    }
                    Err(e) => {
                        println!("| {} | compile failed: {e} |", c.name);
                        last_code = None;
                        continue;
                    }
                }
            }
            let (_, cc) = last_code.as_ref().expect("compiled above");
            let analysis = CodeAnalysis::new(&c.code);
            let msg = c.message();
            let run_interp = || {
                let mut host = c.host();
                execute_analyzed(&mut host, c.rev, &msg, &analysis)
            };
            let run_jit = || {
                let mut host = c.host();
                cc.execute(&mut host, &msg)
            };
            let exits_before = cc.exit_counts().1;
            let (want, got) = (run_interp(), run_jit());
            let side_exit = cc.exit_counts().1 > exits_before;
            if want != got {
                println!(
                    "| {} | RESULTS DIFFER: {:?} vs {:?} |",
                    c.name, want.status, got.status
                );
                continue;
            }
            let ti = time(budget, || {
                std::hint::black_box(run_interp());
            });
            let tj = time(budget, || {
                std::hint::black_box(run_jit());
            });
            let speedup = ti.as_secs_f64() / tj.as_secs_f64();
            log_sum += speedup.ln();
            n += 1;
            let s = cc.stats();
            println!(
                "| {}{} | {:.3} | {:.3} | {:.2}x | {:.1} | {:.1} | {:.1} | {:.1} |",
                c.name,
                if side_exit { " (side exit)" } else { "" },
                ti.as_secs_f64() * 1e3,
                tj.as_secs_f64() * 1e3,
                speedup,
                ms(s.ir_ns),
                ms(s.opt_ns),
                ms(s.emit_ns),
                s.code_bytes as f64 / 1024.0
            );
        }
        if n > 0 {
            println!(
                "\ngeometric mean speedup over {n} cases: {:.2}x",
                (log_sum / n as f64).exp()
            );
        }
        let mut totals: Vec<u64> = compile_totals.iter().map(|t| t.0 + t.1 + t.2).collect();
        totals.sort();
        if let (Some(max), false) = (totals.last(), totals.is_empty()) {
            let med = totals[totals.len() / 2];
            println!(
                "compile time per contract ({} contracts): median {:.1} ms, max {:.1} ms",
                totals.len(),
                ms(med),
                ms(*max)
            );
            for (label, idx) in [("IR", 0), ("opt", 1), ("emit", 2)] {
                let mut v: Vec<u64> = compile_totals
                    .iter()
                    .map(|t| [t.0, t.1, t.2][idx])
                    .collect();
                v.sort();
                println!(
                    "  {label}: median {:.1} ms, max {:.1} ms",
                    ms(v[v.len() / 2]),
                    ms(*v.last().expect("non-empty"))
                );
            }
        }
    }
}
