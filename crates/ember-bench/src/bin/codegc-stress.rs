//! `codegc-stress`: the code GC under a stream of distinct contracts (issue 7's stress check).
//!
//! N distinct contracts (one loop, a different constant in each) are each called until they
//! are hot, then until a call runs their compiled code, then a few times more, by T threads
//! taking the contracts in order, on one runtime in `auto` with a small code-cache budget. So
//! compiles keep coming, the budget keeps evicting, and the store keeps dropping profiles.
//! Every result is compared with the interpreter's; the driver thread samples the resident
//! set (`/proc/self/status`) and the code cache while the workers run. One JSON object goes to
//! stdout; the exit status is 1 if any result differed, 2 on bad options.
//!
//! The summary: `contracts`, `threads`, `budgetBytes` and the other settings; `compiles`
//! (versions published), `compileAttempts` (the compiler ran), `compileFailures`, `evictions`
//! (to keep within the budget), `idleEvictions`, `invalidations` (recompile exits), `discards`
//! and `discardedVersions`, `storeEvictions` (profiles dropped from the bounded store, with
//! their code); `calls`, `callsCompiled`, `ranCompiled` (contracts with a call that ran
//! compiled code) and `waitTimeouts`; `mismatches`; `peakRssBytes` (the largest of VmHWM at
//! the end, `vmHwmBytes`, and every sampled VmRSS), `rssSamples: [{seconds, contractsDone,
//! rssBytes, publishedBytes, residentBytes, compiles, evictions}]` (the first at the start, the last at the end),
//! `rssAfterWarmupBytes: {min, max}` over the samples after the first 10% of contracts,
//! `maxPublishedBytes` and `maxResidentBytes` over the samples; `seconds` (wall time) and the
//! compiler's `compileSecondsTotal`, `compileMsMean` and `compileMsMax`.
//!
//! Run: `cargo run --release -p ember-bench --bin codegc-stress -- --help`.

use ember_evm::{
    keccak256, Address, CodeAnalysis, ExecResult, Host, Interpreter, Message, Revision, Vm, B256,
};
use ember_jit::{JitConfig, OptLevel, SideExit, Speculation};
use ember_runtime::{Backend, CompileFailure, JitBackend, Runtime, RuntimeConfig, SystemClock};
use ember_testkit::{address, RecordingHost};
use serde_json::{json, Value};
use std::cell::Cell;
use std::collections::HashSet;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const USAGE: &str = "\
usage: codegc-stress --contracts N --budget BYTES [options]

  --contracts N        distinct contracts to run, 1 to 4294967296 (required)
  --budget BYTES       the code cache budget, jit.code-cache-bytes (required; 65536 or more)
  --threads T          threads executing, taking the contracts in order (default 2)
  --calls K            calls of each contract: jit.hot-calls (2) make it hot, the rest start
                       with the first call that runs compiled code; calls made while waiting
                       for the compile come on top (default 5, at least jit.hot-calls + 1)
  --seed S             the contracts' constant and the calldata (default 1)
  --sample-ms MS       how often the driver samples RSS and the code cache (default 1000)
  --discard-every N    call discard_compiled() after every N contracts (default: never)
  --wait-ms MS         longest wait for one contract's compiled code (default 30000)
  --set NAME=VALUE     another runtime setting (repeatable), e.g. jit.workers=2 or
                       jit.idle-evict-ms=50; the tier stays auto
  --progress           progress on stderr (the default when stderr is a terminal)
  -h, --help           this help

The runtime: tier auto, jit.hot-calls 2, jit.hot-gas 0, jit.max-profiles 4096, everything
else the default (the default compile pool). A compiled contract costs the cache about 12.6
KiB, so an 8 MiB budget holds about 670 of them: well below the store's 4096 entries, so the
budget, not the store, decides which code goes; and with N > 4096 the store evicts profiles
(and the code of those still compiled) as well.";

/// The revision every call runs at.
const REVISION: Revision = Revision::Osaka;
/// Gas of every call (a call uses about 2,000).
const GAS: i64 = 1_000_000;
/// Rounds of the contract's loop.
const ROUNDS: u8 = 32;
/// Where the contract's index sits in its code: the immediate of the first PUSH4.
const INDEX_AT: usize = 1;
/// The profile store's bound (see the usage text).
const MAX_PROFILES: &str = "4096";

struct Options {
    contracts: u64,
    threads: usize,
    calls: u64,
    seed: u64,
    sample: Duration,
    discard_every: u64,
    wait: Duration,
    progress: bool,
    config: RuntimeConfig,
}

fn parse(args: Vec<String>) -> Result<Option<Options>, String> {
    let mut config = RuntimeConfig::default();
    for (name, value) in [
        ("tier", "auto"),
        ("jit.hot-calls", "2"),
        ("jit.hot-gas", "0"),
        ("jit.max-profiles", MAX_PROFILES),
    ] {
        config.set(name, value).map_err(|e| e.to_string())?;
    }
    let mut o = Options {
        contracts: 0,
        threads: 2,
        calls: 5,
        seed: 1,
        sample: Duration::from_millis(1000),
        discard_every: 0,
        wait: Duration::from_millis(30_000),
        progress: std::io::stderr().is_terminal(),
        config,
    };
    let mut budget = false;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        if a == "-h" || a == "--help" {
            return Ok(None);
        }
        let mut v = || it.next().ok_or_else(|| format!("{a} needs a value"));
        let number = |s: String, min: u64, max: u64| match s.parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(format!(
                "{a}: expected a whole number from {min} to {max}, got {s:?}"
            )),
        };
        match a.as_str() {
            "--contracts" => o.contracts = number(v()?, 1, 1 << 32)?,
            "--budget" => {
                o.config
                    .set("jit.code-cache-bytes", &v()?)
                    .map_err(|e| format!("--budget: {e}"))?;
                budget = true;
            }
            "--threads" => o.threads = number(v()?, 1, 256)? as usize,
            "--calls" => o.calls = number(v()?, 1, 1_000_000)?,
            "--seed" => o.seed = number(v()?, 0, u64::MAX)?,
            "--sample-ms" => o.sample = Duration::from_millis(number(v()?, 1, 3_600_000)?),
            "--discard-every" => o.discard_every = number(v()?, 1, u64::MAX)?,
            "--wait-ms" => o.wait = Duration::from_millis(number(v()?, 1, 3_600_000)?),
            "--set" => {
                let s = v()?;
                let (name, value) = s
                    .split_once('=')
                    .ok_or_else(|| format!("--set: expected NAME=VALUE, got {s:?}"))?;
                if name == "tier" {
                    return Err("--set: the tier is auto in this test".into());
                }
                o.config
                    .set(name, value)
                    .map_err(|e| format!("--set: {e}"))?;
            }
            "--progress" => o.progress = true,
            _ => return Err(format!("unknown option {a}")),
        }
    }
    if o.contracts == 0 {
        return Err("--contracts is required".into());
    }
    if !budget {
        return Err("--budget is required".into());
    }
    let least = o.config.hot_calls() + 1;
    if o.calls < least {
        return Err(format!(
            "--calls: {} is too few; a contract needs {} call(s) to get hot and one more to run \
             compiled ({least} at least)",
            o.calls,
            o.config.hot_calls()
        ));
    }
    Ok(Some(o))
}

/// Contract `index`: `acc = ((acc + index) * x) ^ k` for [`ROUNDS`] rounds from `acc = 0`,
/// where `x` is the first calldata word, and `acc` returned (77 bytes, above the analyzer's
/// 64-byte minimum; every index gives distinct code).
fn contract(index: u32, k: &[u8; 32]) -> Vec<u8> {
    let mut c = vec![0x63]; // PUSH4 index                            [C]
    c.extend(index.to_be_bytes());
    c.extend([0x60, 0, 0x35]); // PUSH1 0 CALLDATALOAD                [C x]
    c.extend([0x60, 0, 0x60, ROUNDS]); // PUSH1 0 PUSH1 ROUNDS         [C x acc i]
    let top = c.len();
    c.extend([0x5b, 0x80, 0x15, 0x61, 0, 0, 0x57]); // JUMPDEST DUP1 ISZERO PUSH2 end JUMPI
    let end_at = c.len() - 3;
    c.extend([0x90, 0x83, 0x01, 0x82, 0x02]); // SWAP1 DUP4 ADD DUP3 MUL [C x i (acc+C)*x]
    c.push(0x7f); // PUSH32 k
    c.extend(k);
    c.extend([0x18, 0x90, 0x60, 1, 0x90, 0x03]); // XOR SWAP1 PUSH1 1 SWAP1 SUB [C x acc i-1]
    c.extend([0x61, 0, top as u8, 0x56]); // PUSH2 top JUMP
    let end = c.len() as u16;
    c[end_at..end_at + 2].copy_from_slice(&end.to_be_bytes());
    // JUMPDEST POP PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN
    c.extend([0x5b, 0x50, 0x60, 0, 0x52, 0x60, 32, 0x60, 0, 0xf3]);
    c
}

/// The index of a contract made by [`contract`], from its code.
fn contract_index(code: &[u8]) -> Option<u32> {
    let bytes = code.get(INDEX_AT..INDEX_AT + 4)?;
    Some(u32::from_be_bytes(bytes.try_into().ok()?))
}

/// splitmix64: a well-mixed 64-bit value of `x`.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// 32 bytes determined by `seed`, `a` and `b` alone (not by thread timing).
fn word(seed: u64, a: u64, b: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    let mut state = mix(seed ^ mix(a ^ mix(b)));
    for chunk in w.chunks_mut(8) {
        state = mix(state);
        chunk.copy_from_slice(&state.to_be_bytes());
    }
    w
}

thread_local! {
    /// Set when this thread's frame ran compiled code (the backend runs on the caller's
    /// thread).
    static RAN_COMPILED: Cell<bool> = const { Cell::new(false) };
}

/// ember's JIT as the runtime would use it in `auto`, with what the runtime's statistics
/// cannot give after profiles are evicted: total compile time, rejected contracts, and
/// whether this thread's last frame ran compiled code.
struct ObservedJit {
    jit: JitBackend,
    compile_ns: AtomicU64,
    max_compile_ns: AtomicU64,
    attempts: AtomicU64,
    /// Indexes of contracts the compiler rejected (for good: their waits end at once).
    rejected: Mutex<HashSet<u32>>,
    rejections: AtomicU64,
}

impl ObservedJit {
    fn is_rejected(&self, index: u32) -> bool {
        self.rejections.load(Ordering::Acquire) > 0
            && self
                .rejected
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains(&index)
    }
}

impl Backend for ObservedJit {
    type Code = <JitBackend as Backend>::Code;

    fn compile(
        &self,
        code: &Arc<CodeAnalysis>,
        rev: Revision,
        level: OptLevel,
        spec: Option<&Speculation>,
    ) -> Result<Self::Code, CompileFailure> {
        let start = Instant::now();
        let result = self.jit.compile(code, rev, level, spec);
        let ns = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.compile_ns.fetch_add(ns, Ordering::Relaxed);
        self.max_compile_ns.fetch_max(ns, Ordering::Relaxed);
        self.attempts.fetch_add(1, Ordering::Relaxed);
        if let (Err(CompileFailure::Rejected(_)), Some(index)) =
            (&result, contract_index(code.code()))
        {
            self.rejected
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(index);
            self.rejections.fetch_add(1, Ordering::Release);
        }
        result
    }

    fn execute(
        &self,
        code: &Self::Code,
        host: &mut dyn Host,
        msg: &Message<'_>,
        on_exit: &mut dyn FnMut(SideExit),
    ) -> ExecResult {
        RAN_COMPILED.with(|c| c.set(true));
        self.jit.execute(code, host, msg, on_exit)
    }

    fn resident_bytes(&self, code: &Self::Code) -> usize {
        self.jit.resident_bytes(code)
    }

    fn is_speculative(&self, code: &Self::Code) -> bool {
        self.jit.is_speculative(code)
    }
}

/// What the worker threads count together.
#[derive(Default)]
struct Totals {
    /// The next contract to take.
    next: AtomicU64,
    /// Contracts finished.
    done: AtomicU64,
    calls: AtomicU64,
    calls_compiled: AtomicU64,
    /// Contracts with at least one call that ran compiled code.
    ran_compiled: AtomicU64,
    /// Contracts whose compiled code did not run within `--wait-ms`.
    wait_timeouts: AtomicU64,
    mismatches: AtomicU64,
    /// The first few differences, described.
    first_mismatches: Mutex<Vec<String>>,
}

/// How many differences are described on stderr.
const SHOWN_MISMATCHES: usize = 10;

struct Worker<'a> {
    rt: &'a Runtime<ObservedJit>,
    totals: &'a Totals,
    opts: &'a Options,
    k: [u8; 32],
}

impl Worker<'_> {
    fn run(&self) {
        loop {
            let index = self.totals.next.fetch_add(1, Ordering::Relaxed);
            if index >= self.opts.contracts {
                return;
            }
            // `--contracts` is at most 2^32, so the index fits a PUSH4.
            self.contract(index as u32);
            let done = self.totals.done.fetch_add(1, Ordering::Relaxed) + 1;
            if self.opts.discard_every > 0 && done.is_multiple_of(self.opts.discard_every) {
                self.rt.discard_compiled();
            }
        }
    }

    /// Runs one contract: `jit.hot-calls` calls make it hot; then it is called until a call
    /// runs its compiled code (or the wait ends); then more calls up to `--calls` in all,
    /// not counting the calls made while waiting.
    fn contract(&self, index: u32) {
        let code = contract(index, &self.k);
        let hash = keccak256(&code);
        let hot = self.opts.config.hot_calls();
        // `n` numbers every call (it picks the calldata); `counted` leaves out the waiting.
        let mut n = 0u64;
        let mut compiled = false;
        while n < hot {
            compiled |= self.call(index, &code, &hash, n);
            n += 1;
        }
        let mut counted = n;
        let deadline = Instant::now() + self.opts.wait;
        let mut pause = Duration::from_micros(50);
        while !compiled {
            compiled = self.call(index, &code, &hash, n);
            n += 1;
            if compiled {
                counted += 1;
                break;
            }
            if self.rt.backend().is_rejected(index) {
                break;
            }
            if Instant::now() >= deadline {
                self.totals.wait_timeouts.fetch_add(1, Ordering::Relaxed);
                break;
            }
            thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(2));
        }
        while counted < self.opts.calls {
            compiled |= self.call(index, &code, &hash, n);
            n += 1;
            counted += 1;
        }
        if compiled {
            self.totals.ran_compiled.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Calls the contract through the runtime and in the interpreter, with the calldata of
    /// call `n`; counts a difference. Returns whether the runtime ran compiled code.
    fn call(&self, index: u32, code: &[u8], hash: &B256, n: u64) -> bool {
        let input = word(self.opts.seed, u64::from(index), n + 1);
        let msg = Message::call(sender(), address(0x10), &input, GAS);
        let mut want_host = RecordingHost::new(&Interpreter, REVISION);
        let want = ember_evm::execute(&mut want_host, REVISION, &msg, code);
        let mut got_host = RecordingHost::new(self.rt, REVISION);
        RAN_COMPILED.with(|c| c.set(false));
        let got = self
            .rt
            .execute(&mut got_host, REVISION, &msg, code, Some(hash));
        let compiled = RAN_COMPILED.with(Cell::get);
        self.totals.calls.fetch_add(1, Ordering::Relaxed);
        if compiled {
            self.totals.calls_compiled.fetch_add(1, Ordering::Relaxed);
        }
        if want != got || want_host.effects != got_host.effects {
            let seen = self.totals.mismatches.fetch_add(1, Ordering::Relaxed);
            if seen < SHOWN_MISMATCHES as u64 {
                let tier = if compiled { "compiled" } else { "interpreted" };
                self.totals
                    .first_mismatches
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(format!(
                        "contract {index}, call {n} ({tier}): interpreter {want:?} {:?}, \
                         runtime {got:?} {:?}",
                        want_host.effects, got_host.effects
                    ));
            }
        }
        compiled
    }
}

fn sender() -> Address {
    address(0xa0)
}

/// VmRSS and VmHWM of this process, in bytes.
fn rss() -> Result<(u64, u64), String> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("cannot read /proc/self/status: {e}"))?;
    parse_rss(&status)
}

/// VmRSS and VmHWM from the text of `/proc/PID/status`, in bytes.
fn parse_rss(status: &str) -> Result<(u64, u64), String> {
    let field = |name: &str| -> Result<u64, String> {
        let line = status
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .ok_or_else(|| format!("no {name} in /proc/self/status"))?;
        match line.split_whitespace().collect::<Vec<_>>()[..] {
            [n, "kB"] => n
                .parse::<u64>()
                .ok()
                .and_then(|kb| kb.checked_mul(1024))
                .ok_or_else(|| format!("{name}: bad value {line:?}")),
            _ => Err(format!("{name}: bad value {line:?}")),
        }
    };
    Ok((field("VmRSS")?, field("VmHWM")?))
}

/// One sample of the driver.
struct Sample {
    seconds: f64,
    contracts_done: u64,
    rss_bytes: u64,
    published_bytes: u64,
    resident_bytes: u64,
    compiles: u64,
    evictions: u64,
}

impl Sample {
    fn take(rt: &Runtime<ObservedJit>, totals: &Totals, start: Instant) -> Result<Self, String> {
        // `done` first: the RSS read after it belongs to at least that many contracts.
        let contracts_done = totals.done.load(Ordering::Relaxed);
        let stats = rt.stats();
        let cache = stats.cache;
        Ok(Sample {
            seconds: start.elapsed().as_secs_f64(),
            contracts_done,
            rss_bytes: rss()?.0,
            published_bytes: cache.published_bytes,
            resident_bytes: cache.resident_bytes,
            compiles: stats.pool.completed,
            evictions: cache.evicted,
        })
    }

    fn to_json(&self) -> Value {
        json!({
            "seconds": (self.seconds * 1000.0).round() / 1000.0,
            "contractsDone": self.contracts_done,
            "rssBytes": self.rss_bytes,
            "publishedBytes": self.published_bytes,
            "residentBytes": self.resident_bytes,
            "compiles": self.compiles,
            "evictions": self.evictions,
        })
    }
}

fn main() -> ExitCode {
    let opts = match parse(std::env::args().skip(1).collect()) {
        Ok(Some(o)) => o,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("codegc-stress: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&opts) {
        Ok((summary, mismatches)) => {
            println!("{summary}");
            // stdout holds the JSON object alone; the sentence goes to stderr.
            eprintln!("{}", summary_line(&summary));
            if mismatches > 0 {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("codegc-stress: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The run in one sentence, from its JSON summary.
fn summary_line(summary: &Value) -> String {
    let n = |key: &str| summary[key].as_u64().unwrap_or(0);
    format!(
        "codegc-stress: {} contracts on {} thread(s) in {:.1} s: {} ran compiled code, {} \
         compiles, {} evictions, {} mismatches, peak RSS {:.1} MiB.",
        n("contracts"),
        n("threads"),
        summary["seconds"].as_f64().unwrap_or(0.0),
        n("ranCompiled"),
        n("compiles"),
        n("evictions"),
        n("mismatches"),
        n("peakRssBytes") as f64 / (1 << 20) as f64
    )
}

/// Runs the stress test; returns the JSON summary and the number of mismatches.
fn run(opts: &Options) -> Result<(Value, u64), String> {
    // Fail before starting if the RSS cannot be read.
    rss()?;
    // What `Runtime::new` compiles with in `auto` (the runtime gives each compile its level).
    let backend = ObservedJit {
        jit: JitBackend::new(JitConfig::default()),
        compile_ns: AtomicU64::new(0),
        max_compile_ns: AtomicU64::new(0),
        attempts: AtomicU64::new(0),
        rejected: Mutex::new(HashSet::new()),
        rejections: AtomicU64::new(0),
    };
    let rt = Runtime::with_backend(opts.config.clone(), backend, Arc::new(SystemClock::new()));
    let totals = Totals::default();
    let k = word(opts.seed, u64::MAX, 0);
    let warmup = opts.contracts.div_ceil(10);
    let start = Instant::now();
    let mut samples = vec![Sample::take(&rt, &totals, start)?];
    let workers_result = thread::scope(|s| -> Result<(), String> {
        let handles: Vec<_> = (0..opts.threads)
            .map(|_| {
                let w = Worker {
                    rt: &rt,
                    totals: &totals,
                    opts,
                    k,
                };
                s.spawn(move || w.run())
            })
            .collect();
        let mut next = start + opts.sample;
        while !handles.iter().all(|h| h.is_finished()) {
            let now = Instant::now();
            if now >= next {
                let sample = Sample::take(&rt, &totals, start)?;
                if opts.progress {
                    progress(&sample, opts);
                }
                samples.push(sample);
                next += opts.sample;
                continue;
            }
            // Short naps, so that the end of the run is seen soon after it happens.
            thread::sleep((next - now).min(Duration::from_millis(20)));
        }
        let panicked = handles
            .into_iter()
            .map(|h| h.join())
            .filter(Result::is_err)
            .count();
        if panicked > 0 {
            return Err(format!("{panicked} worker thread(s) panicked"));
        }
        Ok(())
    });
    let seconds = start.elapsed().as_secs_f64();
    workers_result?;
    let last = Sample::take(&rt, &totals, start)?;
    if opts.progress {
        progress(&last, opts);
        if std::io::stderr().is_terminal() {
            eprintln!();
        }
    }
    samples.push(last);
    // VmHWM is the kernel's high-water mark, but both it and VmRSS are read from per-CPU
    // counters that may lag, so a sample taken earlier can read a little above it.
    let hwm = rss()?.1;
    let peak = samples.iter().map(|s| s.rss_bytes).fold(hwm, u64::max);
    let stats = rt.stats();
    let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let after_warmup: Vec<u64> = samples
        .iter()
        .filter(|s| s.contracts_done >= warmup)
        .map(|s| s.rss_bytes)
        .collect();
    let mismatches = n(&totals.mismatches);
    for m in totals
        .first_mismatches
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
    {
        eprintln!("codegc-stress: mismatch: {m}");
    }
    let b = rt.backend();
    let attempts = n(&b.attempts);
    let compile_ns = n(&b.compile_ns);
    let cache = &stats.cache;
    let summary = json!({
        "contracts": opts.contracts,
        "threads": opts.threads,
        "callsPerContract": opts.calls,
        "seed": opts.seed,
        "budgetBytes": cache.budget_bytes,
        "hotCalls": opts.config.hot_calls(),
        "maxProfiles": opts.config.max_profiles(),
        "compileWorkers": stats.pool.workers,
        "compiles": stats.pool.completed,
        "compileAttempts": attempts,
        "compileFailures": stats.pool.failed,
        "compileRequestsDropped": stats.pool.dropped,
        "evictions": cache.evicted,
        "idleEvictions": cache.idle_evicted,
        "invalidations": cache.invalidated,
        "discards": cache.discards,
        "discardedVersions": cache.discarded,
        "tooLarge": cache.too_large,
        "heapFull": cache.heap_full,
        "tieredUp": cache.tiered_up,
        "storeEvictions": stats.evicted,
        "unprofiledCalls": stats.unprofiled,
        "calls": n(&totals.calls),
        "callsCompiled": n(&totals.calls_compiled),
        "ranCompiled": n(&totals.ran_compiled),
        "waitTimeouts": n(&totals.wait_timeouts),
        "mismatches": mismatches,
        "peakRssBytes": peak,
        "vmHwmBytes": hwm,
        "rssAfterWarmupBytes": {
            "min": after_warmup.iter().min(),
            "max": after_warmup.iter().max(),
        },
        "maxPublishedBytes": samples.iter().map(|s| s.published_bytes).max(),
        "maxResidentBytes": samples.iter().map(|s| s.resident_bytes).max(),
        "rssSamples": samples.iter().map(Sample::to_json).collect::<Vec<_>>(),
        "seconds": (seconds * 1000.0).round() / 1000.0,
        "compileSecondsTotal": (compile_ns as f64 / 1e6).round() / 1e3,
        "compileMsMean": if attempts == 0 { 0.0 } else {
            (compile_ns as f64 / attempts as f64 / 1e3).round() / 1e3
        },
        "compileMsMax": (n(&b.max_compile_ns) as f64 / 1e3).round() / 1e3,
    });
    Ok((summary, mismatches))
}

/// One progress line on stderr: rewritten in place on a terminal, a line per sample otherwise.
fn progress(s: &Sample, opts: &Options) {
    let err = std::io::stderr();
    let (start, end) = if err.is_terminal() {
        ("\r", "")
    } else {
        ("", "\n")
    };
    let mut err = err.lock();
    let _ = write!(
        err,
        "{start}{:>8.1} s  {}/{} contracts  {} compiles  {} evictions  {} of {} bytes published  \
         RSS {:.1} MiB {end}",
        s.seconds,
        s.contracts_done,
        opts.contracts,
        s.compiles,
        s.evictions,
        s.published_bytes,
        opts.config.code_cache_bytes(),
        s.rss_bytes as f64 / (1 << 20) as f64
    );
    let _ = err.flush();
}

#[cfg(test)]
mod tests {
    use super::*;
    use ember_evm::{StatusCode, U256};

    #[test]
    fn contracts_are_distinct_and_compute_their_loop() {
        let k = word(7, u64::MAX, 0);
        let (a, b) = (contract(1, &k), contract(2, &k));
        assert_ne!(a, b);
        assert_eq!(a.len(), 77);
        assert!(a.len() >= ember_jit::analyzer::AnalyzerLimits::default().min_code_size);
        for index in [0u32, 1, 0xdead_beef] {
            let code = contract(index, &k);
            assert_eq!(contract_index(&code), Some(index));
            let input = word(7, u64::from(index), 1);
            let msg = Message::call(sender(), address(0x10), &input, GAS);
            let mut host = RecordingHost::new(&Interpreter, REVISION);
            let r = ember_evm::execute(&mut host, REVISION, &msg, &code);
            assert_eq!(r.status, StatusCode::Success);
            // The same recurrence, computed independently.
            let (c, x, kk) = (
                U256::from(index),
                U256::from_be_bytes(input),
                U256::from_be_bytes(k),
            );
            let mut acc = U256::ZERO;
            for _ in 0..ROUNDS {
                acc = (acc.wrapping_add(c)).wrapping_mul(x) ^ kk;
            }
            assert_eq!(r.output, acc.to_be_bytes::<32>());
        }
    }

    #[test]
    fn the_summary_line_reads_the_json_summary() {
        let summary = json!({
            "contracts": 1000, "threads": 2, "seconds": 12.345, "ranCompiled": 990,
            "compiles": 1003, "evictions": 400, "mismatches": 0, "peakRssBytes": 3 << 20,
        });
        assert_eq!(
            summary_line(&summary),
            "codegc-stress: 1000 contracts on 2 thread(s) in 12.3 s: 990 ran compiled code, \
             1003 compiles, 400 evictions, 0 mismatches, peak RSS 3.0 MiB."
        );
    }

    #[test]
    fn the_analyzer_accepts_the_contract() {
        let code = contract(3, &word(1, 2, 3));
        let limits = ember_jit::analyzer::AnalyzerLimits::default();
        assert!(ember_jit::analyzer::analyze(&code, REVISION, &limits).is_ok());
    }

    #[test]
    fn words_depend_on_every_input() {
        let w = word(1, 2, 3);
        assert_eq!(w, word(1, 2, 3));
        assert_ne!(w, word(0, 2, 3));
        assert_ne!(w, word(1, 0, 3));
        assert_ne!(w, word(1, 2, 0));
        assert_ne!(w[..8], w[8..16]);
    }

    #[test]
    fn rss_is_read_from_proc_status() {
        let status = "Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\nThreads:\t3\n";
        assert_eq!(parse_rss(status), Ok((1024 * 1024, 2048 * 1024)));
        assert!(parse_rss("VmRSS:\t1 kB\n").unwrap_err().contains("VmHWM"));
        assert!(parse_rss("VmRSS:\tx kB\nVmHWM:\t1 kB\n").is_err());
        assert!(parse_rss("VmRSS:\t1 MB\nVmHWM:\t1 kB\n").is_err());
        if cfg!(target_os = "linux") {
            let (now, peak) = rss().unwrap();
            assert!(now > 0 && peak >= now);
        }
    }

    fn args(a: &[&str]) -> Result<Option<Options>, String> {
        parse(a.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn options_are_checked() {
        let o = args(&["--contracts", "10", "--budget", "65536"])
            .unwrap()
            .unwrap();
        assert_eq!((o.contracts, o.threads, o.calls), (10, 2, 5));
        assert_eq!(o.config.code_cache_bytes(), 65536);
        assert_eq!((o.config.hot_calls(), o.config.hot_gas()), (2, 0));
        assert_eq!(o.config.tier(), ember_runtime::Tier::Auto);
        for (bad, says) in [
            (&["--budget", "65536"][..], "--contracts is required"),
            (&["--contracts", "1"], "--budget is required"),
            (&["--contracts", "0", "--budget", "65536"], "--contracts"),
            (&["--contracts", "1", "--budget", "1000"], "--budget"),
            (&["--contracts", "1", "--budget", "x"], "--budget"),
            (
                &["--contracts", "1", "--budget", "65536", "--calls", "2"],
                "too few",
            ),
            (
                &["--contracts", "1", "--budget", "65536", "--threads", "0"],
                "--threads",
            ),
            (
                &["--contracts", "1", "--budget", "65536", "--set", "tier=jit"],
                "auto",
            ),
            (
                &[
                    "--contracts",
                    "1",
                    "--budget",
                    "65536",
                    "--set",
                    "jit.nope=1",
                ],
                "unknown",
            ),
            (
                &["--contracts", "1", "--budget", "65536", "--set", "x"],
                "NAME=VALUE",
            ),
            (&["--contracts", "1", "--budget"], "needs a value"),
            (&["--contracts", "1", "--frobnicate"], "unknown option"),
        ] {
            let err = args(bad)
                .err()
                .unwrap_or_else(|| panic!("{bad:?} accepted"));
            assert!(err.contains(says), "{bad:?}: {err}");
        }
        // --calls is checked against the hot threshold, whatever order the options come in.
        let o = args(&[
            "--calls",
            "4",
            "--contracts",
            "1",
            "--budget",
            "65536",
            "--set",
            "jit.hot-calls=3",
        ])
        .unwrap()
        .unwrap();
        assert_eq!((o.calls, o.config.hot_calls()), (4, 3));
        assert!(args(&[
            "--calls",
            "3",
            "--contracts",
            "1",
            "--budget",
            "65536",
            "--set",
            "jit.hot-calls=3",
        ])
        .is_err());
    }
}
