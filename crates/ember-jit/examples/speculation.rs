//! Speculative against non-speculative compiled code: compile time, execution time and what
//! the speculation did, per case.
//!
//! ```text
//! cargo run --release -p ember-jit --example speculation -- [--ms N] [PATH ...]
//! ```
//!
//! PATHs are state-test style JSON files or directories of them (the evm-benchmarks format is
//! one). Without any, the evm-benchmarks main set and a few solc-compiled contracts with many
//! internal calls from the state tests are used, from `../shared` next to the repository.
//!
//! Per case: the interpreter runs the case's frame with `ember_evm::execute_observed`,
//! recording where every jump went; the code is compiled once without and once against that
//! profile; both must agree with the interpreter (result and host effects); then each is
//! timed (thread CPU time, median of batches of runs, each run on a fresh host made outside
//! the timed region).

use ember_evm::{execute_observed, CodeAnalysis, ExecResult};
use ember_jit::{compile_speculative, CompiledContract, JitConfig, JumpRecorder, Speculation};
use ember_testkit::{Effect, RecordingHost};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// State tests whose contracts are solc output with internal calls (dynamic return jumps):
/// a small test contract and the 4 KiB multi-owner wallet.
const SOLIDITY_TESTS: &[&str] = &[
    "stSolidityTest/TestStructuresAndVariabless.json",
    "stWalletTest/walletConfirm.json",
    "stWalletTest/walletExecuteUnderDailyLimit.json",
];

mod common;

use common::{load, Case};

/// CPU time consumed by this thread.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a live, writable `timespec`; `clock_gettime` writes only into it.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "CLOCK_THREAD_CPUTIME_ID is not available");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Batches of at least this much work make one sample.
const SAMPLE: Duration = Duration::from_micros(200);

/// The median time of one `run`, each on a fresh host for `case` made outside the timed
/// region, sampling for about `budget` of CPU time.
fn time(budget: Duration, case: &Case, run: impl Fn(&mut RecordingHost<'_>)) -> Duration {
    let one = {
        let mut h = case.host();
        let t = thread_cpu();
        run(&mut h);
        thread_cpu() - t
    };
    let batch = (SAMPLE.as_nanos() / one.as_nanos().max(1)).clamp(1, 10_000) as usize;
    let mut samples = Vec::new();
    let start = thread_cpu();
    while samples.len() < 5 || (thread_cpu() - start < budget && samples.len() < 2_000) {
        let mut hosts: Vec<RecordingHost<'_>> = (0..batch).map(|_| case.host()).collect();
        let t = thread_cpu();
        for h in &mut hosts {
            run(h);
        }
        samples.push((thread_cpu() - t) / batch as u32);
    }
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

fn fmt_time(d: Duration) -> String {
    let ns = d.as_nanos() as f64;
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.2} µs", ns / 1e3)
    }
}

fn compile_ms(c: &CompiledContract) -> f64 {
    let s = c.stats();
    ms(s.ir_ns + s.opt_ns + s.emit_ns)
}

fn run_compiled(
    c: &CompiledContract,
    case: &Case,
    host: &mut RecordingHost<'_>,
    exits: &mut u64,
) -> ExecResult {
    c.execute_observed(host, &case.message(), &mut |_| *exits += 1)
}

fn main() {
    let mut budget = Duration::from_millis(300);
    let mut paths = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--ms" => {
                let Some(v) = args.next().and_then(|v| v.parse().ok()) else {
                    eprintln!("speculation: --ms needs a number of milliseconds");
                    std::process::exit(2);
                };
                budget = Duration::from_millis(v);
            }
            _ => paths.push(PathBuf::from(a)),
        }
    }
    if paths.is_empty() {
        let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
        let main = shared.join("evm-benchmarks/benchmarks/main");
        if !main.is_dir() {
            println!("speculation: skipped, no benchmarks at {}", main.display());
            return;
        }
        paths.push(main);
        let states = shared.join("ethereum-tests/GeneralStateTests");
        paths.extend(
            SOLIDITY_TESTS
                .iter()
                .map(|t| states.join(t))
                .filter(|p| p.is_file()),
        );
    }
    let mut cases = Vec::new();
    for p in &paths {
        match load(p) {
            Ok(c) => cases.extend(c),
            Err(e) => {
                eprintln!("speculation: {e}");
                std::process::exit(1);
            }
        }
    }
    let config = JitConfig::compile_everything();
    println!(
        "| case | status | dynamic sites (guarded / unprofiled / megamorphic) | recompile \
         exits emitted | blocks compiled (plain / spec) | compile ms (plain / spec) | exec \
         plain | exec spec | plain/spec |"
    );
    println!("|---|---|---|---:|---:|---:|---:|---:|---:|");
    let (mut log_exec, mut log_compile, mut n) = (0.0, 0.0, 0);
    for case in &cases {
        let analysis = Arc::new(CodeAnalysis::new(&case.code));
        let msg = case.message();
        // The profile: the interpreter on the case's own input.
        let recorder = JumpRecorder::new();
        let mut want_host = case.host();
        let want = execute_observed(&mut want_host, case.rev, &msg, &analysis, &recorder);
        let spec: Speculation = recorder.into_speculation();
        let compiled = [None, Some(&spec)].map(|s| {
            compile_speculative(Arc::clone(&analysis), case.rev, &config, s)
                .map_err(|e| e.to_string())
        });
        let (plain, spec_code) = match compiled {
            [Ok(p), Ok(s)] => (p, s),
            [Err(e), _] | [_, Err(e)] => {
                println!("| {} | compile failed: {e} |", case.name);
                continue;
            }
        };
        // Both must agree with the interpreter, effects included.
        let mut agree = true;
        for c in [&plain, &spec_code] {
            let mut host = case.host();
            let mut exits = 0;
            let got = run_compiled(c, case, &mut host, &mut exits);
            let effects: &[Effect] = &host.effects;
            agree &= got == want && effects == want_host.effects.as_slice();
        }
        if !agree {
            println!("| {} | RESULTS DIFFER from the interpreter |", case.name);
            continue;
        }
        let mut exits = [0u64; 2];
        let t_plain = time(budget, case, |h| {
            std::hint::black_box(run_compiled(&plain, case, h, &mut 0));
        });
        let t_spec = time(budget, case, |h| {
            std::hint::black_box(run_compiled(&spec_code, case, h, &mut 0));
        });
        for (i, c) in [&plain, &spec_code].into_iter().enumerate() {
            let mut h = case.host();
            run_compiled(c, case, &mut h, &mut exits[i]);
        }
        let ratio = t_plain.as_secs_f64() / t_spec.as_secs_f64();
        let compile_ratio = compile_ms(&spec_code) / compile_ms(&plain);
        log_exec += ratio.ln();
        log_compile += compile_ratio.ln();
        n += 1;
        let s = spec_code.speculation_stats();
        println!(
            "| {}{} | {:?} | {} / {} / {} | {} | {} / {} | {:.1} / {:.1} | {} | {} | {:.3} |",
            case.name,
            if exits.iter().any(|&e| e > 0) {
                format!(" (side exits: {} / {})", exits[0], exits[1])
            } else {
                String::new()
            },
            want.status,
            s.guarded_sites,
            s.unprofiled_sites,
            s.table_sites,
            s.recompile_exits,
            plain.speculation_stats().compiled_blocks,
            s.compiled_blocks,
            compile_ms(&plain),
            compile_ms(&spec_code),
            fmt_time(t_plain),
            fmt_time(t_spec),
            ratio,
        );
    }
    if n > 0 {
        println!(
            "\ngeometric mean over {n} cases: execution plain/spec {:.3}, compile time \
             spec/plain {:.3}",
            (log_exec / n as f64).exp(),
            (log_compile / n as f64).exp()
        );
    }
}
