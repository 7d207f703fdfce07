//! `runtime-bench`: what ember's runtime costs and what it buys, on ipsilon/evm-benchmarks.
//!
//! 1. Profiler overhead: the interpreter alone (`execute_analyzed`, analysis cached) against
//!    the runtime in `auto` with thresholds no contract reaches (so every call is looked up,
//!    interpreted with the entry's cached analysis, counted in its window and accounted in
//!    the profiler's per-contract counters), against the same with the profiler's timeline
//!    on, against the same runtime given no code hash (it finds the code by its bytes, as it
//!    must for an EVMC client), and against that runtime called as a client calls it: through
//!    `libember.so`'s EVMC ABI (the last column: that call over the runtime finding code by its
//!    bytes, what the ABI itself costs). Per case of the main suite, sampled alternately in
//!    thread CPU time.
//! 2. A mixed workload: the benchmark contracts called many times (hottest first, in a
//!    skewed, Zipf-like mix) among thousands of distinct small contracts called once or
//!    twice, in a shuffled order; total wall time in `interp`, eager `jit` and `auto`, with
//!    every result checked against `interp`.
//!
//! Run: `cargo run --release -p ember-bench --bin runtime-bench -- --help`.

use ember_bench::ember_runner::{BenchHost, REVISION};
use ember_bench::measure::{geometric_mean, measure, Clock, Plan, SAMPLE_TARGET};
use ember_bench::progress::Progress;
use ember_bench::report::format_ns;
use ember_bench::suite::{self, Benchmark, Case, World};
use ember_evm::{
    execute_analyzed, keccak256, CallKind, CodeAnalysis, ExecResult, Message, Vm, B256,
};
use ember_evmc::EvmcVm;
use ember_runtime::{Runtime, RuntimeConfig, Stats};
use std::hint::black_box;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

const USAGE: &str = "\
usage: runtime-bench [options]

  --dir PATH         the evm-benchmarks suite (default ../shared/evm-benchmarks/benchmarks/main)
  --part PART        overhead, mixed or all (default all)
  --filter TEXT      only benchmark cases whose name contains TEXT
  --evmc PATH        overhead: the libember.so to time (default: libember.so next to this
                     program, built by `cargo build --release -p ember-evmc`)
  --min-time-ms N    overhead: time spent sampling each engine per case (default 1000)
  --sample-us N      overhead: length of one sample (default 200); the engines alternate
                     sample by sample, so in short samples each finds the branch predictors
                     and caches trained by the others (libember.so brings its own copy of
                     ember's code, the other engines share the benchmark's)
  --alone ENGINE     overhead: time only ENGINE (interpreter, runtime, timeline, bytes or
                     library)
                     per case, as it runs alone in a process; run it once per engine, in
                     turns, to compare the engines without their sharing caches and branch
                     predictors (the library brings its own copy of ember's code)
  --hot N            mixed: calls of the hottest contract; the k-th hottest gets N/k (default 640)
  --cold N           mixed: distinct small contracts, each called once or twice (default 2000)
  --set NAME=VALUE   mixed: a runtime setting for the auto run (repeatable), e.g. jit.workers=1
  --stats            mixed: print each tier's runtime statistics (the 12 contracts with most gas)
  --profile-dir DIR  mixed: record the auto run's profiler timeline and write its report to
                     DIR as profile.txt, profile.json, profile-trace.json and profile.svg
  -h, --help         this help";

struct Options {
    dir: PathBuf,
    overhead: bool,
    mixed: bool,
    filter: Option<String>,
    evmc: PathBuf,
    min_time: Duration,
    sample: Duration,
    alone: Option<usize>,
    hot: usize,
    cold: usize,
    auto: RuntimeConfig,
    stats: bool,
    profile_dir: Option<PathBuf>,
}

fn parse(args: Vec<String>) -> Result<Option<Options>, String> {
    let mut o = Options {
        dir: PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/evm-benchmarks/benchmarks/main"),
        overhead: true,
        mixed: true,
        filter: None,
        evmc: std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.join("libember.so")))
            .unwrap_or_else(|| PathBuf::from("libember.so")),
        min_time: Duration::from_millis(1000),
        sample: SAMPLE_TARGET,
        alone: None,
        hot: 640,
        cold: 2000,
        auto: RuntimeConfig::default(),
        stats: false,
        profile_dir: None,
    };
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        if a == "-h" || a == "--help" {
            return Ok(None);
        }
        let mut v = || it.next().ok_or_else(|| format!("{a} needs a value"));
        let number = |s: String| {
            s.parse::<u64>()
                .map_err(|_| format!("{a}: invalid number {s:?}"))
        };
        match a.as_str() {
            "--dir" => o.dir = PathBuf::from(v()?),
            "--part" => match v()?.as_str() {
                "overhead" => o.mixed = false,
                "mixed" => o.overhead = false,
                "all" => {}
                p => return Err(format!("--part: unknown part {p:?}")),
            },
            "--filter" => o.filter = Some(v()?),
            "--evmc" => o.evmc = PathBuf::from(v()?),
            "--stats" => o.stats = true,
            "--alone" => {
                let e = v()?;
                let k = ENGINES.iter().position(|n| *n == e).ok_or_else(|| {
                    format!(
                        "--alone: unknown engine {e:?} (expected {})",
                        ENGINES.join(", ")
                    )
                })?;
                o.alone = Some(k);
            }
            "--profile-dir" => o.profile_dir = Some(PathBuf::from(v()?)),
            "--min-time-ms" => o.min_time = Duration::from_millis(number(v()?)?),
            "--sample-us" => match number(v()?)? {
                us @ 1..=10_000_000 => o.sample = Duration::from_micros(us),
                us => return Err(format!("--sample-us: {us} is not within 1..=10000000")),
            },
            "--hot" => o.hot = number(v()?)?.clamp(1, 100_000) as usize,
            "--cold" => o.cold = number(v()?)?.min(1_000_000) as usize,
            "--set" => {
                let s = v()?;
                let (name, value) = s
                    .split_once('=')
                    .ok_or_else(|| format!("--set: expected NAME=VALUE, got {s:?}"))?;
                o.auto.set(name, value).map_err(|e| format!("--set: {e}"))?;
            }
            _ => return Err(format!("unknown option {a}")),
        }
    }
    Ok(Some(o))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opts = match parse(args) {
        Ok(Some(o)) => o,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("runtime-bench: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let benches = match suite::load_dir(&opts.dir) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("runtime-bench: {e} (the suite comes from the shared checkout; or --dir)");
            return ExitCode::from(2);
        }
    };
    let cases = suite::cases(&benches, opts.filter.as_deref());
    if cases.is_empty() {
        eprintln!("runtime-bench: no case matches");
        return ExitCode::from(2);
    }
    let mut parts = Vec::new();
    if opts.overhead {
        match overhead(&cases, &opts) {
            Some(summary) => parts.push(summary),
            None => return ExitCode::FAILURE,
        }
    }
    let mut agreed = true;
    if opts.mixed {
        match mixed(&cases, &opts) {
            Some((ok, summary)) => {
                agreed = ok;
                parts.push(summary);
            }
            None => return ExitCode::FAILURE,
        }
    }
    println!("runtime-bench: {}.", parts.join("; "));
    if agreed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The engines of the overhead part, in the order they are timed.
const ENGINES: [&str; 5] = ["interpreter", "runtime", "timeline", "bytes", "library"];

/// A `jit.hot-calls` no contract reaches: the overhead part times the runtime without compiles.
const NEVER_HOT: &str = "4294967296";

fn message<'a>(world: &World, bench: &Benchmark, input: &'a [u8]) -> Message<'a> {
    Message {
        kind: CallKind::Call,
        flags: 0,
        depth: 0,
        gas: bench.gas,
        recipient: world.to,
        sender: world.sender,
        input,
        value: bench.value,
        create2_salt: B256::ZERO,
        code_address: world.to,
    }
}

/// The overhead table's header.
fn print_overhead_header() {
    println!(
        "{:<34} {:>12} {:>12} {:>9} {:>12} {:>9} {:>12} {:>9} {:>12} {:>9} {:>9}",
        "case",
        "interpreter",
        "runtime",
        "overhead",
        "+timeline",
        "overhead",
        "by bytes",
        "overhead",
        "libember.so",
        "overhead",
        "ABI"
    );
}

/// Part 1: times the profiler's and the EVMC ABI's overhead per case and prints the table;
/// returns the result in a few words, or `None` (said on stderr) when a result differs, the
/// library cannot be loaded or the clock is missing.
fn overhead(cases: &[Case<'_>], opts: &Options) -> Option<String> {
    let never_hot = |timeline: bool| {
        let mut c = RuntimeConfig::default();
        c.set("jit.hot-calls", NEVER_HOT).expect("a valid setting");
        if timeline {
            c.set("profile.timeline", "1").expect("a valid setting");
        }
        Runtime::new(c)
    };
    let (rt, rt_timeline, rt_bytes) = (never_hot(false), never_hot(true), never_hot(false));
    let library = match EvmcVm::load(&opts.evmc, &[("jit.hot-calls", NEVER_HOT)]) {
        Ok(vm) => vm,
        Err(e) => {
            eprintln!(
                "runtime-bench: {e} (build it with `cargo build --release -p ember-evmc`, or \
                 pass --evmc PATH)"
            );
            return None;
        }
    };
    let plan = Plan {
        clock: Clock::ThreadCpu,
        min_time: opts.min_time,
        max_samples: 10_000,
        sample: opts.sample,
    };
    if !plan.clock.is_available() {
        eprintln!("runtime-bench: the thread CPU clock cannot be read here");
        return None;
    }
    println!(
        "per-call overhead: the bare interpreter (analysis cached) vs the runtime in auto with \
         nothing hot (store lookup by keccak hash, window, per-contract profiler counters), the \
         same with the profiler's timeline on, the same given no hash (the code found by its \
         bytes, as EVMC gives no hash), and that through libember.so's EVMC ABI ({}: message \
         and result converted, host calls through C)",
        opts.evmc.display()
    );
    if let Some(k) = opts.alone {
        println!(
            "(thread CPU time, median of samples of the {} alone, {} ms per case)\n",
            ENGINES[k],
            opts.min_time.as_millis()
        );
        println!("{:<34} {:>12}", "case", ENGINES[k]);
    } else {
        println!(
            "(thread CPU time, median of interleaved samples of {} µs, {} ms per engine and \
             case)\n",
            opts.sample.as_micros(),
            opts.min_time.as_millis()
        );
        println!(
            "(overhead: over the bare interpreter; ABI: libember.so over the runtime called \
             directly without a hash, what the EVMC ABI itself costs)\n"
        );
        print_overhead_header();
    }
    let mut ratios = [Vec::new(), Vec::new(), Vec::new(), Vec::new()];
    let mut abi = Vec::new();
    let mut alone = Vec::new();
    let mut progress = Progress::stderr();
    for (i, case) in cases.iter().enumerate() {
        progress.show(format_args!(
            "[{}/{}] {}: timing the per-call overhead",
            i + 1,
            cases.len(),
            case.name()
        ));
        let world = &case.bench.world;
        let code = world.contract_code();
        let hash = keccak256(code);
        let analysis = CodeAnalysis::new(code);
        let msg = message(world, case.bench, &case.input.data);
        let [mut h0, mut h1, mut h2, mut h3, mut h4] = [(); 5].map(|_| BenchHost::new(world));
        let want = execute_analyzed(&mut h0, REVISION, &msg, &analysis);
        let got = [
            rt.execute(&mut h1, REVISION, &msg, code, Some(&hash)),
            rt_timeline.execute(&mut h2, REVISION, &msg, code, Some(&hash)),
            rt_bytes.execute(&mut h3, REVISION, &msg, code, None),
            library.execute(&mut h4, REVISION, &msg, code, None),
        ];
        if got.iter().any(|r| *r != want) {
            eprintln!(
                "{}: a runtime's result differs from the interpreter's",
                case.name()
            );
            return None;
        }
        let engines: [&mut dyn FnMut(); 5] = [
            &mut || {
                h0.reset();
                black_box(execute_analyzed(&mut h0, REVISION, &msg, &analysis));
            },
            &mut || {
                h1.reset();
                black_box(rt.execute(&mut h1, REVISION, &msg, code, Some(&hash)));
            },
            &mut || {
                h2.reset();
                black_box(rt_timeline.execute(&mut h2, REVISION, &msg, code, Some(&hash)));
            },
            &mut || {
                h3.reset();
                black_box(rt_bytes.execute(&mut h3, REVISION, &msg, code, None));
            },
            &mut || {
                h4.reset();
                black_box(library.execute(&mut h4, REVISION, &msg, code, None));
            },
        ];
        let warmup = Duration::from_millis(200);
        if let Some(k) = opts.alone {
            let [t] = measure(&plan, warmup, [&mut *engines[k]]);
            progress.clear();
            println!("{:<34} {:>12}", case.name(), format_ns(t.median_ns));
            alone.push(t.median_ns);
            continue;
        }
        let timings = measure(&plan, warmup, engines);
        progress.clear();
        let bare = timings[0].median_ns;
        let mut line = format!("{:<34} {:>12}", case.name(), format_ns(bare));
        for (t, ratios) in timings[1..].iter().zip(&mut ratios) {
            let ratio = t.median_ns / bare;
            ratios.push(ratio);
            line += &format!(
                " {:>12} {:>+8.2}%",
                format_ns(t.median_ns),
                (ratio - 1.0) * 100.0
            );
        }
        let through_abi = timings[4].median_ns / timings[3].median_ns;
        abi.push(through_abi);
        line += &format!(" {:>+8.2}%", (through_abi - 1.0) * 100.0);
        println!("{line}");
    }
    if let Some(k) = opts.alone {
        return Some(format!(
            "timed the {} alone over {} case(s) (geometric mean {})",
            ENGINES[k],
            alone.len(),
            geometric_mean(&alone).map_or("-".into(), format_ns)
        ));
    }
    for rt in [&rt, &rt_timeline, &rt_bytes] {
        assert!(
            rt.stats().pool.queued == 0,
            "nothing may get hot in this measurement"
        );
    }
    let means = ratios.each_ref().map(|r| geometric_mean(r));
    let ([Some(g), Some(t), Some(b), Some(l)], Some(a)) = (means, geometric_mean(&abi)) else {
        return Some("no overhead case was timed".into());
    };
    let mut line = format!("{:<34} {:>12}", "geometric mean", "");
    for m in [g, t, b, l] {
        line += &format!(" {:>12} {:>+8.2}%", "", (m - 1.0) * 100.0);
    }
    line += &format!(" {:>+8.2}%", (a - 1.0) * 100.0);
    println!("{line}\n");
    Some(format!(
        "the runtime costs {:+.2}% over the bare interpreter ({:+.2}% with the timeline, \
         {:+.2}% finding the code by its bytes), a call through libember.so {:+.2}% over the \
         bare interpreter and {:+.2}% over the runtime finding the code by its bytes, over {} \
         case(s) (geometric mean)",
        (g - 1.0) * 100.0,
        (t - 1.0) * 100.0,
        (b - 1.0) * 100.0,
        (l - 1.0) * 100.0,
        (a - 1.0) * 100.0,
        ratios[0].len()
    ))
}

/// A deterministic xorshift generator for the workload's order.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// A small contract: `acc = (acc + C) * K mod 2^256` for 40 rounds, returned. Every `n`
/// gives a different constant C, so every contract is distinct code (100 bytes).
fn cold_contract(n: u64) -> Vec<u8> {
    let mut c = vec![0x7f]; // PUSH32 C
    let mut word = [0u8; 32];
    word[24..].copy_from_slice(&n.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_be_bytes());
    word[0] = 0x5a;
    c.extend(word);
    c.extend([0x60, 0x00, 0x60, 40]); // acc = 0, i = 40          [C acc i]
    let looped = c.len();
    c.extend([0x5b, 0x80, 0x15, 0x61, 0, 0]); // JUMPDEST DUP1 ISZERO PUSH2 end
    let end_at = c.len() - 2;
    c.extend([0x57, 0x90, 0x82, 0x01, 0x7f]); // JUMPI SWAP1 DUP3 ADD PUSH32 K
    c.extend([0xb7; 32]);
    c.extend([0x02, 0x90, 0x60, 1, 0x90, 0x03]); // MUL SWAP1 PUSH1 1 SWAP1 SUB
    c.extend([0x61, 0, looped as u8, 0x56]); // PUSH2 loop JUMP
    let end = c.len();
    c[end_at..end_at + 2].copy_from_slice(&(end as u16).to_be_bytes());
    c.extend([0x5b, 0x50, 0x60, 0, 0x52, 0x60, 32, 0x60, 0, 0xf3]); // POP; return acc
    c
}

/// One call of the workload.
struct Call<'a> {
    /// Index into the benchmark cases (its world, gas and value).
    case: usize,
    code: &'a [u8],
    hash: B256,
    input: &'a [u8],
}

/// Part 2. Returns false if a tier's results differed from `interp`'s.
/// Runs the mixed workload in each tier and prints a row per tier; returns whether every
/// tier's results equal the interpreter's and the outcome in a few words, or `None` (said on
/// stderr) when the profile cannot be written.
fn mixed(cases: &[Case<'_>], opts: &Options) -> Option<(bool, String)> {
    // One input per benchmark (the first), hottest first in the suite's order.
    let mut hot: Vec<usize> = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        if !hot.iter().any(|&j| std::ptr::eq(cases[j].bench, c.bench)) {
            hot.push(i);
        }
    }
    let colds: Vec<Vec<u8>> = (0..opts.cold as u64).map(cold_contract).collect();
    let cold_hashes: Vec<B256> = colds.iter().map(|c| keccak256(c)).collect();
    let hot_hashes: Vec<B256> = hot
        .iter()
        .map(|&i| keccak256(cases[i].bench.world.contract_code()))
        .collect();
    let mut calls = Vec::new();
    for (k, &i) in hot.iter().enumerate() {
        // Zipf-like: the k-th hottest contract is called hot / (k + 1) times (at least 2).
        for _ in 0..(opts.hot / (k + 1)).max(2) {
            calls.push(Call {
                case: i,
                code: cases[i].bench.world.contract_code(),
                hash: hot_hashes[k],
                input: &cases[i].input.data,
            });
        }
    }
    let hot_calls = calls.len();
    for (n, code) in colds.iter().enumerate() {
        for _ in 0..1 + n % 2 {
            calls.push(Call {
                case: hot[n % hot.len()],
                code,
                hash: cold_hashes[n],
                input: &[],
            });
        }
    }
    // A deterministic shuffle.
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    for i in (1..calls.len()).rev() {
        let j = (rng.next() % (i as u64 + 1)) as usize;
        calls.swap(i, j);
    }
    println!(
        "mixed workload: {} benchmark contracts called {hot_calls} times (the k-th hottest \
         {}/k times), {} small contracts called {} times, shuffled; one thread executes, \
         revision {}",
        hot.len(),
        opts.hot,
        colds.len(),
        calls.len() - hot_calls,
        REVISION.name()
    );
    let mut interp_config = RuntimeConfig::default();
    interp_config.set("tier", "interp").expect("valid");
    let mut jit_config = RuntimeConfig::default();
    jit_config.set("tier", "jit").expect("valid");
    let mut auto = opts.auto.clone();
    auto.set("tier", "auto").expect("valid");
    if opts.profile_dir.is_some() {
        auto.set("profile.timeline", "1").expect("valid");
    }
    println!(
        "auto settings: hot-calls {}, hot-gas {}, window {} ms, {} worker(s), queue {}\n",
        auto.hot_calls(),
        auto.hot_gas(),
        auto.window_ms(),
        auto.workers(),
        auto.queue()
    );
    println!(
        "{:<6} {:>10} {:>12} {:>9} {:>12} {:>11} {:>11}",
        "tier", "wall", "compile", "compiled", "rejected", "calls jit", "results"
    );
    let mut reference: Option<Vec<ExecResult>> = None;
    let mut ok = true;
    let mut walls = Vec::new();
    for config in [interp_config, jit_config, auto] {
        let tier = config.tier();
        let rt = Runtime::new(config);
        let (wall, results) = run_calls(&rt, cases, &calls, tier.name());
        walls.push(format!(
            "{} {}",
            tier.name(),
            format_ns(wall.as_nanos() as f64)
        ));
        let stats = rt.stats();
        if let (Some(dir), ember_runtime::Tier::Auto) = (&opts.profile_dir, tier) {
            if let Err(e) = write_profile(dir, &rt.profile_report()) {
                eprintln!("runtime-bench: --profile-dir {}: {e}", dir.display());
                return None;
            }
        }
        drop(rt);
        let same = match &reference {
            None => "reference",
            Some(r) if *r == results => "identical",
            Some(_) => {
                ok = false;
                "DIFFER"
            }
        };
        print_row(tier.name(), wall, &stats, same);
        if opts.stats {
            println!("{}\n", stats.to_text(12));
        }
        if reference.is_none() {
            reference = Some(results);
        }
    }
    println!(
        "\ncompile: total compile time of the run (for auto, spent on the worker threads, \
         concurrently with execution)"
    );
    let results = if ok {
        "results identical"
    } else {
        "results DIFFER from the interpreter's"
    };
    Some((
        ok,
        format!(
            "the mixed workload of {} calls took {} ({results})",
            calls.len(),
            walls.join(", ")
        ),
    ))
}

/// Writes the profiler's report in its four forms into `dir`.
fn write_profile(
    dir: &std::path::Path,
    report: &ember_runtime::ProfileReport,
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("profile.txt"), report.to_text(20))?;
    std::fs::write(dir.join("profile.json"), report.to_json().to_string())?;
    std::fs::write(
        dir.join("profile-trace.json"),
        report.to_chrome_trace().to_string(),
    )?;
    std::fs::write(dir.join("profile.svg"), report.to_svg())
}

/// Makes the calls in order through `rt`; returns the wall time and the results. Progress
/// (tier `tier`) is drawn every [`PROGRESS_EVERY`] calls on a terminal.
fn run_calls(
    rt: &Runtime,
    cases: &[Case<'_>],
    calls: &[Call<'_>],
    tier: &str,
) -> (Duration, Vec<ExecResult>) {
    let mut hosts: Vec<BenchHost<'_>> = cases
        .iter()
        .map(|c| BenchHost::new(&c.bench.world))
        .collect();
    let mut results = Vec::with_capacity(calls.len());
    let mut progress = Progress::stderr();
    let start = Instant::now();
    for (i, call) in calls.iter().enumerate() {
        if i % PROGRESS_EVERY == 0 {
            progress.show(format_args!(
                "mixed workload, tier {tier}: call {i} of {}",
                calls.len()
            ));
        }
        let case = &cases[call.case];
        let host = &mut hosts[call.case];
        host.reset();
        let msg = message(&case.bench.world, case.bench, call.input);
        results.push(rt.execute(host, REVISION, &msg, call.code, Some(&call.hash)));
    }
    let wall = start.elapsed();
    progress.clear();
    (wall, results)
}

/// How many calls of the mixed workload pass between progress updates: rare enough to cost
/// nothing measurable next to calls of microseconds to milliseconds.
const PROGRESS_EVERY: usize = 256;

fn print_row(tier: &str, wall: Duration, stats: &Stats, same: &str) {
    let compile: u64 = stats.contracts.iter().map(|c| c.profile.compile_ns).sum();
    let compiled = stats
        .contracts
        .iter()
        .filter(|c| c.profile.compile_ns > 0 && c.state == ember_runtime::ContractState::Compiled)
        .count();
    let rejected = stats.pool.failed;
    let calls_jit: u64 = stats.contracts.iter().map(|c| c.profile.jit.calls).sum();
    println!(
        "{:<6} {:>10} {:>12} {:>9} {:>12} {:>11} {:>11}",
        tier,
        format_ns(wall.as_nanos() as f64),
        format_ns(compile as f64),
        compiled,
        rejected,
        calls_jit,
        same
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use ember_evm::{Interpreter, StatusCode, U256};

    #[test]
    fn alone_names_one_engine_of_the_overhead_part() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let o = parse(args(&["--alone", "library"])).unwrap().unwrap();
        assert_eq!(o.alone.map(|k| ENGINES[k]), Some("library"));
        assert_eq!(parse(args(&[])).unwrap().unwrap().alone, None);
        let e = parse(args(&["--alone", "revm"])).err().unwrap();
        assert!(e.contains("unknown engine \"revm\""), "{e}");
        assert!(parse(args(&["--alone"])).is_err(), "a missing value");
    }

    #[test]
    fn the_sample_length_is_checked() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let o = parse(args(&["--sample-us", "20000"])).unwrap().unwrap();
        assert_eq!(o.sample, Duration::from_millis(20));
        assert_eq!(parse(args(&[])).unwrap().unwrap().sample, SAMPLE_TARGET);
        for bad in ["0", "10000001", "-5", "x"] {
            assert!(parse(args(&["--sample-us", bad])).is_err(), "{bad}");
        }
    }

    #[test]
    fn cold_contracts_are_distinct_and_compute_their_loop() {
        let (a, b) = (cold_contract(1), cold_contract(2));
        assert_ne!(a, b);
        assert_eq!(a.len(), b.len());
        for n in [1u64, 2] {
            let code = cold_contract(n);
            let mut host = ember_testkit::RecordingHost::new(&Interpreter, REVISION);
            let msg = Message::call(
                ember_testkit::address(2),
                ember_testkit::address(1),
                &[],
                1_000_000,
            );
            let r = ember_evm::execute(&mut host, REVISION, &msg, &code);
            assert_eq!(r.status, StatusCode::Success);
            // The same recurrence, computed independently.
            let mut cw = [0u8; 32];
            cw[0] = 0x5a;
            cw[24..].copy_from_slice(&n.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_be_bytes());
            let (c, k) = (U256::from_be_bytes(cw), U256::from_be_bytes([0xb7; 32]));
            let mut acc = U256::ZERO;
            for _ in 0..40 {
                acc = acc.wrapping_add(c).wrapping_mul(k);
            }
            assert_eq!(r.output, acc.to_be_bytes::<32>());
        }
    }
}
