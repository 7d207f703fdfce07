//! The runtime's policies, tested deterministically: a manual clock and a fake compiler that
//! counts its compiles, can fail or panic, and can block until released.

use ember_evm::{
    execute_analyzed, keccak256, CodeAnalysis, ExecResult, Host, Interpreter, Message, Revision,
    StatusCode, Vm,
};
use ember_runtime::{
    Backend, CompileFailure, ContractState, ContractStats, ExitKind, ExitSite, ManualClock,
    OptLevel, Runtime, RuntimeConfig, SideExit, Speculation, Stats, Tier,
};
use ember_testkit::{address, RecordingHost};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

const REV: Revision = Revision::Cancun;
/// Long enough for anything that should happen promptly, on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(20);

/// "Compiled" code: the analysis, run by the interpreter, but counted. Speculative code takes
/// a recompile exit (at pc 0, before running anything) on inputs starting with [`SURPRISE`].
struct FakeCode {
    analysis: Arc<CodeAnalysis>,
    speculative: bool,
}

/// The first input byte that speculative fake code did not expect.
const SURPRISE: u8 = 0xee;

/// What each fake version costs the code cache.
const FAKE_CODE_BYTES: usize = 20_000;

/// A compiler that counts, fails on request, and can hold compiles until released.
#[derive(Default)]
struct Fake {
    /// Compiles begun.
    started: AtomicUsize,
    /// Frames run by "compiled" code.
    runs: AtomicUsize,
    /// Code it refuses, with this reason.
    refuse: Option<(Vec<u8>, &'static str)>,
    /// Code it panics on.
    panic_on: Option<Vec<u8>>,
    /// Code whose compiled form is larger than any code cache.
    oversized: Option<Vec<u8>>,
    /// The code of each compile, in the order they ran.
    order: Mutex<Vec<Vec<u8>>>,
    /// Whether each compile was given a speculation, in the order they ran.
    speculated: Mutex<Vec<bool>>,
    /// The level of each compile, in the order they ran.
    levels: Mutex<Vec<OptLevel>>,
    /// How long each compiled frame takes (at least), to make compiled time.
    frame_time: Option<Duration>,
    /// How long each compile takes (at least).
    compile_time: Option<Duration>,
    /// While true, compiles wait.
    closed: Mutex<bool>,
    opened: Condvar,
}

impl Fake {
    fn blocking() -> Self {
        Fake {
            closed: Mutex::new(true),
            ..Fake::default()
        }
    }

    fn open(&self) {
        *self.closed.lock().unwrap() = false;
        self.opened.notify_all();
    }

    fn close(&self) {
        *self.closed.lock().unwrap() = true;
    }

    /// A compiler whose compiled frames take `t` each.
    fn with_frames_of(t: Duration) -> Self {
        Fake {
            frame_time: Some(t),
            ..Fake::default()
        }
    }

    fn levels(&self) -> Vec<OptLevel> {
        self.levels.lock().unwrap().clone()
    }

    fn started(&self) -> usize {
        self.started.load(Ordering::SeqCst)
    }

    fn runs(&self) -> usize {
        self.runs.load(Ordering::SeqCst)
    }
}

impl Backend for Fake {
    type Code = FakeCode;

    fn compile(
        &self,
        code: &Arc<CodeAnalysis>,
        _rev: Revision,
        level: OptLevel,
        spec: Option<&Speculation>,
    ) -> Result<FakeCode, CompileFailure> {
        self.started.fetch_add(1, Ordering::SeqCst);
        let mut closed = self.closed.lock().unwrap();
        while *closed {
            closed = self.opened.wait(closed).unwrap();
        }
        drop(closed);
        if let Some(t) = self.compile_time {
            std::thread::sleep(t);
        }
        self.order.lock().unwrap().push(code.code().to_vec());
        self.speculated.lock().unwrap().push(spec.is_some());
        self.levels.lock().unwrap().push(level);
        if self.panic_on.as_deref() == Some(code.code()) {
            panic!("fake compiler bug");
        }
        match &self.refuse {
            Some((c, reason)) if c == code.code() => {
                Err(CompileFailure::Rejected(reason.to_string()))
            }
            _ => Ok(FakeCode {
                analysis: Arc::clone(code),
                speculative: spec.is_some(),
            }),
        }
    }

    fn execute(
        &self,
        code: &FakeCode,
        host: &mut dyn Host,
        msg: &Message<'_>,
        on_exit: &mut dyn FnMut(SideExit),
    ) -> ExecResult {
        self.runs.fetch_add(1, Ordering::SeqCst);
        if let Some(t) = self.frame_time {
            std::thread::sleep(t);
        }
        if code.speculative && msg.input.first() == Some(&SURPRISE) {
            on_exit(SideExit {
                pc: 0,
                kind: ExitKind::Recompile,
            });
        }
        execute_analyzed(host, REV, msg, &code.analysis)
    }

    fn resident_bytes(&self, code: &FakeCode) -> usize {
        if self.oversized.as_deref() == Some(code.analysis.code()) {
            2 << 30
        } else {
            FAKE_CODE_BYTES
        }
    }

    fn is_speculative(&self, code: &FakeCode) -> bool {
        code.speculative
    }
}

fn config(settings: &[(&str, &str)]) -> RuntimeConfig {
    let mut c = RuntimeConfig::default();
    // One worker, one call makes hot unless a test says otherwise, gas never matters, no
    // tier-up (and none at once for small code).
    for (name, value) in [
        ("tier", "auto"),
        ("jit.tier-up-level", "off"),
        ("jit.tier-up-bytes", "0"),
        ("jit.workers", "1"),
        ("jit.hot-calls", "1"),
        ("jit.hot-gas", "0"),
        ("jit.window-ms", "1000"),
        ("jit.buckets", "10"),
    ]
    .iter()
    .chain(settings)
    {
        c.set(name, value).unwrap();
    }
    c
}

fn runtime(settings: &[(&str, &str)], fake: Fake) -> (Runtime<Fake>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(0));
    let rt = Runtime::with_backend(config(settings), fake, Arc::clone(&clock) as _);
    (rt, clock)
}

/// `PUSH1 n PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN`: returns `n` as a word, uses 18 gas.
fn contract(n: u8) -> Vec<u8> {
    vec![0x60, n, 0x60, 0, 0x52, 0x60, 32, 0x60, 0, 0xf3]
}
const CONTRACT_GAS: u64 = 3 + 3 + 3 + 3 + 3 + 3;

/// Runs `code` as a call with its keccak hash (as ember-state gives it).
fn run(vm: &dyn Vm, code: &[u8]) -> ExecResult {
    run_with_input(vm, code, &[])
}

/// The same, with call data.
fn run_with_input(vm: &dyn Vm, code: &[u8], input: &[u8]) -> ExecResult {
    let mut host = RecordingHost::new(&Interpreter, REV);
    let msg = Message::call(address(0xa0), address(0x10), input, 100_000);
    let hash = keccak256(code);
    vm.execute(&mut host, REV, &msg, code, Some(&hash))
}

/// Runs one of the [`contract`]s and checks its result.
fn call(vm: &dyn Vm, code: &[u8]) -> ExecResult {
    let r = run(vm, code);
    assert_eq!(r.status, StatusCode::Success);
    assert_eq!(r.output[31], code[1], "the contract's own result");
    r
}

fn stats_of(stats: &Stats, code: &[u8]) -> ContractStats {
    let h = keccak256(code);
    stats
        .contracts
        .iter()
        .find(|c| c.code_hash() == h)
        .cloned()
        .unwrap_or_else(|| panic!("no stats for {h}"))
}

/// What the published version of `code` costs the code cache: the fake's bytes plus the
/// runtime's metadata.
fn version_bytes(rt: &Runtime<Fake>, code: &[u8]) -> u64 {
    let v = stats_of(&rt.stats(), code)
        .code_bytes
        .expect("a published version");
    assert!(
        (FAKE_CODE_BYTES as u64..FAKE_CODE_BYTES as u64 + 512).contains(&v),
        "{v}"
    );
    v
}

fn state_of<B: Backend>(rt: &Runtime<B>, code: &[u8]) -> ContractState {
    stats_of(&rt.stats(), code).state
}

/// Polls `cond` until it holds; fails the test after [`PATIENCE`].
fn eventually(what: &str, cond: impl Fn() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < PATIENCE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn calls_inside_the_window_compile_and_the_next_call_runs_compiled() {
    let (rt, clock) = runtime(&[("jit.hot-calls", "4")], Fake::default());
    let code = contract(1);
    for _ in 0..3 {
        call(&rt, &code);
        clock.advance(100);
    }
    assert_eq!(rt.backend().started(), 0);
    assert_eq!(state_of(&rt, &code), ContractState::Cold);
    // The fourth call within 1000 ms makes it hot.
    call(&rt, &code);
    assert!(rt.wait_for_compiles(PATIENCE));
    assert_eq!(rt.backend().started(), 1);
    let s = stats_of(&rt.stats(), &code);
    assert_eq!(s.state, ContractState::Compiled);
    assert_eq!((s.profile.interp.calls, s.profile.jit.calls), (4, 0));
    assert_eq!(s.profile.interp.gas, 4 * CONTRACT_GAS);
    call(&rt, &code);
    assert_eq!(rt.backend().runs(), 1);
    let s = stats_of(&rt.stats(), &code);
    assert_eq!((s.profile.interp.calls, s.profile.jit.calls), (4, 1));
    assert_eq!(s.profile.jit.gas, CONTRACT_GAS);
    let pool = rt.stats().pool;
    assert_eq!((pool.queued, pool.completed, pool.failed), (1, 1, 0));
}

#[test]
fn the_same_calls_spread_beyond_the_window_never_compile() {
    let (rt, clock) = runtime(&[("jit.hot-calls", "4")], Fake::default());
    let code = contract(2);
    // One call every 400 ms: never more than three within 1000 ms.
    for _ in 0..20 {
        call(&rt, &code);
        clock.advance(400);
    }
    assert!(rt.wait_for_compiles(PATIENCE));
    assert_eq!(rt.backend().started(), 0);
    let s = stats_of(&rt.stats(), &code);
    assert_eq!((s.state, s.profile.interp.calls), (ContractState::Cold, 20));
    // Four quick calls now make it hot.
    for _ in 0..4 {
        call(&rt, &code);
    }
    assert!(rt.wait_for_compiles(PATIENCE));
    assert_eq!(state_of(&rt, &code), ContractState::Compiled);
}

#[test]
fn both_thresholds_must_be_reached() {
    // 18 gas a call: 100 gas takes six calls, though two calls are enough.
    let (rt, _clock) = runtime(
        &[("jit.hot-calls", "2"), ("jit.hot-gas", "100")],
        Fake::default(),
    );
    let code = contract(3);
    for _ in 0..5 {
        call(&rt, &code);
    }
    assert!(rt.wait_for_compiles(PATIENCE));
    assert_eq!(state_of(&rt, &code), ContractState::Cold);
    call(&rt, &code);
    assert!(rt.wait_for_compiles(PATIENCE));
    assert_eq!(state_of(&rt, &code), ContractState::Compiled);
}

#[test]
fn a_full_queue_drops_the_request_and_the_contract_asks_again_later() {
    let (rt, _clock) = runtime(
        &[("jit.queue", "1"), ("jit.hot-calls", "2")],
        Fake::blocking(),
    );
    let (a, b, c) = (contract(10), contract(11), contract(12));
    call(&rt, &a);
    call(&rt, &a);
    // The one worker holds A.
    eventually("the worker to start A", || rt.backend().started() == 1);
    call(&rt, &b);
    call(&rt, &b);
    assert_eq!(state_of(&rt, &b), ContractState::Queued);
    // The queue (one job) is full: C's request is dropped.
    call(&rt, &c);
    call(&rt, &c);
    let stats = rt.stats();
    assert_eq!(stats_of(&stats, &c).state, ContractState::Cold);
    assert_eq!(
        (stats.pool.queued, stats.pool.pending, stats.pool.dropped),
        (2, 1, 1)
    );
    // Dropping cleared C's window: one more call is not enough to ask again...
    call(&rt, &c);
    assert_eq!(rt.stats().pool.dropped, 1);
    assert_eq!(state_of(&rt, &c), ContractState::Cold);
    rt.backend().open();
    assert!(rt.wait_for_compiles(PATIENCE));
    // ... two are: now there is room.
    call(&rt, &c);
    call(&rt, &c);
    assert!(rt.wait_for_compiles(PATIENCE));
    for code in [&a, &b, &c] {
        assert_eq!(state_of(&rt, code), ContractState::Compiled);
    }
    let pool = rt.stats().pool;
    assert_eq!((pool.queued, pool.dropped, pool.completed), (3, 1, 3));
    assert_eq!(rt.backend().started(), 3);
}

#[test]
fn duplicate_requests_make_one_job() {
    let (rt, _clock) = runtime(&[], Fake::blocking());
    let (a, b) = (contract(20), contract(21));
    call(&rt, &a);
    eventually("the worker to start A", || rt.backend().started() == 1);
    // B is hot on every call while it waits in the queue; A while it compiles.
    for _ in 0..10 {
        call(&rt, &b);
        call(&rt, &a);
    }
    let pool = rt.stats().pool;
    assert_eq!((pool.queued, pool.pending, pool.dropped), (2, 1, 0));
    rt.backend().open();
    assert!(rt.wait_for_compiles(PATIENCE));
    assert_eq!(rt.backend().started(), 2);
}

#[test]
fn many_threads_finding_one_contract_hot_at_once_make_one_job() {
    let (rt, _clock) = runtime(&[], Fake::default());
    let code = contract(22);
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..50 {
                    call(&rt, &code);
                }
            });
        }
    });
    assert!(rt.wait_for_compiles(PATIENCE));
    assert_eq!(rt.backend().started(), 1);
    let s = stats_of(&rt.stats(), &code);
    assert_eq!(s.calls(), 400);
    assert_eq!(s.profile.interp.gas + s.profile.jit.gas, 400 * CONTRACT_GAS);
    assert_eq!(s.profile.jit.calls as usize, rt.backend().runs());
}

#[test]
fn the_hottest_request_is_compiled_first() {
    let (rt, _clock) = runtime(&[("jit.hot-calls", "3")], Fake::blocking());
    let (first, cool) = (contract(30), contract(31));
    // PUSH1 50, then JUMPDEST PUSH1 1 SWAP1 SUB DUP1 PUSH1 2 JUMPI STOP: counts down from
    // 50, far more gas a call than `cool`'s 18.
    let hot = vec![
        0x60, 50, 0x5b, 0x60, 1, 0x90, 0x03, 0x80, 0x60, 2, 0x57, 0x00,
    ];
    for _ in 0..3 {
        call(&rt, &first);
    }
    eventually("the worker to start", || rt.backend().started() == 1);
    // `cool` asks first, `hot` second, with more gas in its window.
    for _ in 0..3 {
        call(&rt, &cool);
    }
    for _ in 0..3 {
        assert_eq!(run(&rt, &hot).status, StatusCode::Success);
    }
    assert_eq!(rt.stats().pool.pending, 2);
    rt.backend().open();
    assert!(rt.wait_for_compiles(PATIENCE));
    assert_eq!(*rt.backend().order.lock().unwrap(), [first, hot, cool]);
}

#[test]
fn shutdown_with_queued_and_running_jobs_returns_promptly() {
    let (rt, _clock) = runtime(&[("jit.shutdown-ms", "100")], Fake::blocking());
    let (a, b, c) = (contract(40), contract(41), contract(42));
    call(&rt, &a);
    eventually("the worker to start A", || rt.backend().started() == 1);
    call(&rt, &b);
    call(&rt, &c);
    let start = Instant::now();
    let report = rt.shutdown();
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(100), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert_eq!((report.cancelled, report.detached), (2, 1));
    // The cancelled contracts are cold again and keep running in the interpreter; nothing
    // new is queued.
    assert_eq!(state_of(&rt, &b), ContractState::Cold);
    call(&rt, &b);
    let pool = rt.stats().pool;
    assert_eq!((pool.cancelled, pool.pending), (2, 0));
    assert_eq!(state_of(&rt, &a), ContractState::Compiling);
    // The detached worker finishes once the compiler lets it, and publishes.
    rt.backend().open();
    eventually("the detached compile to finish", || {
        state_of(&rt, &a) == ContractState::Compiled
    });
    call(&rt, &a);
    assert_eq!(rt.backend().runs(), 1);
    // A second shutdown has nothing left to do.
    assert_eq!(
        rt.shutdown(),
        ember_runtime::ShutdownReport {
            cancelled: 0,
            detached: 0
        }
    );
}

#[test]
fn dropping_the_runtime_with_a_stuck_compile_returns_promptly() {
    let fake = Fake::blocking();
    let (rt, _clock) = runtime(&[("jit.shutdown-ms", "50")], fake);
    call(&rt, &contract(50));
    eventually("the worker to start", || rt.backend().started() == 1);
    call(&rt, &contract(51));
    let start = Instant::now();
    drop(rt);
    assert!(start.elapsed() < Duration::from_secs(5));
    // The worker is detached and stays blocked; the process exits regardless.
}

#[test]
fn a_failing_compile_leaves_the_contract_in_the_interpreter_for_good() {
    let bad = contract(60);
    let fake = Fake {
        refuse: Some((bad.clone(), "too clever")),
        ..Fake::default()
    };
    let (rt, _clock) = runtime(&[], fake);
    call(&rt, &bad);
    assert!(rt.wait_for_compiles(PATIENCE));
    assert_eq!(
        stats_of(&rt.stats(), &bad).describe_state(),
        "rejected: too clever"
    );
    for _ in 0..10 {
        call(&rt, &bad);
    }
    assert!(rt.wait_for_compiles(PATIENCE));
    // Never asked again, never run "compiled".
    assert_eq!((rt.backend().started(), rt.backend().runs()), (1, 0));
    let s = stats_of(&rt.stats(), &bad);
    assert_eq!((s.profile.interp.calls, s.profile.jit.calls), (11, 0));
    let pool = rt.stats().pool;
    assert_eq!((pool.completed, pool.failed), (0, 1));
}

#[test]
fn a_panicking_compiler_marks_the_contract_interpreter_only() {
    let bad = contract(61);
    let fake = Fake {
        panic_on: Some(bad.clone()),
        ..Fake::default()
    };
    let (rt, _clock) = runtime(&[], fake);
    call(&rt, &bad);
    assert!(rt.wait_for_compiles(PATIENCE));
    assert_eq!(
        stats_of(&rt.stats(), &bad).describe_state(),
        "rejected: compiler panicked: fake compiler bug"
    );
    // The worker survived: another contract still compiles.
    let good = contract(62);
    call(&rt, &good);
    assert!(rt.wait_for_compiles(PATIENCE));
    assert_eq!(state_of(&rt, &good), ContractState::Compiled);
}

#[test]
fn the_profile_store_evicts_the_coldest_and_keeps_the_busier_compiled_and_rejected() {
    let rejected = contract(70);
    let fake = Fake {
        refuse: Some((rejected.clone(), "no")),
        ..Fake::default()
    };
    // Eight entries; hot only at three calls.
    let (rt, clock) = runtime(&[("jit.max-profiles", "8"), ("jit.hot-calls", "3")], fake);
    let compiled = contract(71);
    for code in [&compiled, &rejected] {
        for _ in 0..3 {
            call(&rt, code);
        }
    }
    assert!(rt.wait_for_compiles(PATIENCE));
    // A warm contract with two calls in the window, then a stream of one-call contracts.
    let warm = contract(72);
    call(&rt, &warm);
    call(&rt, &warm);
    for n in 100..140 {
        clock.advance(1);
        call(&rt, &contract(n));
    }
    let stats = rt.stats();
    assert_eq!(stats.contracts.len(), 8);
    assert!(stats.evicted >= 40 - 5, "{}", stats.evicted);
    assert_eq!(stats_of(&stats, &compiled).state, ContractState::Compiled);
    assert_eq!(stats_of(&stats, &rejected).describe_state(), "rejected: no");
    // The warm contract outlived the one-call contracts; the newest of those are there.
    assert_eq!(stats_of(&stats, &warm).calls(), 2);
    stats_of(&stats, &contract(139));
    // The rejection is remembered: no second compile.
    call(&rt, &rejected);
    assert!(rt.wait_for_compiles(PATIENCE));
    assert_eq!(rt.backend().started(), 2);
}

#[test]
fn a_store_full_of_compiled_code_evicts_the_coldest_for_a_new_contract() {
    let (rt, clock) = runtime(&[("jit.max-profiles", "2")], Fake::default());
    for n in 0..2 {
        clock.advance(1);
        call(&rt, &contract(n));
        assert!(rt.wait_for_compiles(PATIENCE));
    }
    let v = version_bytes(&rt, &contract(1));
    assert_eq!(rt.stats().cache.published_bytes, 2 * v);
    call(&rt, &contract(9));
    assert!(rt.wait_for_compiles(PATIENCE));
    let stats = rt.stats();
    assert_eq!(stats.contracts.len(), 2);
    assert_eq!((stats.unprofiled, stats.evicted), (0, 1));
    // Contract 0 was used least recently; its code went with its entry.
    assert!(!stats
        .contracts
        .iter()
        .any(|c| c.code_hash() == keccak256(&contract(0))));
    // Its code was freed; contracts 1 and 9 hold theirs.
    assert_eq!(stats.cache.published_bytes, 2 * v);
    assert_eq!(stats.cache.resident_bytes, 2 * v);
}

#[test]
fn a_store_full_of_queued_contracts_runs_new_contracts_unprofiled() {
    let (rt, _clock) = runtime(&[("jit.max-profiles", "2")], Fake::blocking());
    call(&rt, &contract(0));
    eventually("the first compile to start", || rt.backend().started() == 1);
    call(&rt, &contract(1));
    call(&rt, &contract(9));
    let stats = rt.stats();
    assert_eq!(stats.contracts.len(), 2);
    assert_eq!((stats.unprofiled, stats.evicted), (1, 0));
    rt.backend().open();
}

#[test]
fn the_jit_tier_compiles_before_the_first_run() {
    let (rt, _clock) = runtime(&[("tier", "jit")], Fake::default());
    let code = contract(80);
    call(&rt, &code);
    assert_eq!((rt.backend().started(), rt.backend().runs()), (1, 1));
    let s = stats_of(&rt.stats(), &code);
    assert_eq!(
        (s.state, s.profile.interp.calls, s.profile.jit.calls),
        (ContractState::Compiled, 0, 1)
    );
    // No compile thread was needed.
    assert_eq!(rt.stats().pool.queued, 0);
    assert_eq!(rt.stats().pool.completed, 1);
    // compile_now is a no-op for compiled code and compiles new code.
    assert_eq!(rt.compile_now(&code, None, REV), Ok(()));
    assert_eq!(rt.backend().started(), 2, "a different key: no hash given");
    assert_eq!(rt.compile_now(&code, Some(&keccak256(&code)), REV), Ok(()));
    assert_eq!(rt.backend().started(), 2);
}

#[test]
fn the_jit_tiers_compile_before_a_frame_is_not_that_frames_time() {
    let fake = Fake {
        compile_time: Some(Duration::from_millis(200)),
        ..Fake::default()
    };
    let (rt, _clock) = runtime(&[("tier", "jit")], fake);
    let code = contract(82);
    call(&rt, &code);
    let jit = stats_of(&rt.stats(), &code).profile.jit;
    assert_eq!(jit.calls, 1);
    // The frame is a few microseconds of the interpreter; the compile before it took 200 ms.
    assert!(jit.inclusive_ns < 100_000_000, "{} ns", jit.inclusive_ns);
}

#[test]
fn the_jit_tier_waits_for_one_compile_from_many_threads() {
    let (rt, _clock) = runtime(&[("tier", "jit")], Fake::default());
    let code = contract(81);
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| call(&rt, &code));
        }
    });
    assert_eq!((rt.backend().started(), rt.backend().runs()), (1, 8));
}

#[test]
fn the_interp_tier_counts_calls_and_compiles_nothing() {
    let (rt, _clock) = runtime(&[("tier", "interp")], Fake::default());
    for _ in 0..20 {
        call(&rt, &contract(90));
    }
    assert!(rt.wait_for_compiles(PATIENCE));
    let stats = rt.stats();
    assert_eq!(stats.tier, Tier::Interp);
    let s = stats_of(&stats, &contract(90));
    assert_eq!(
        (s.state, s.profile.interp.calls, s.profile.jit.calls),
        (ContractState::Cold, 20, 0)
    );
    assert_eq!(s.profile.interp.gas, 20 * CONTRACT_GAS);
    assert_eq!(rt.backend().started(), 0);
    assert!(rt.compile_now(&contract(90), None, REV).is_err());
}

#[test]
fn code_without_a_hash_gets_its_own_entry_by_content() {
    let (rt, _clock) = runtime(&[("jit.hot-calls", "2")], Fake::default());
    let mut host = RecordingHost::new(&Interpreter, REV);
    let msg = Message::call(address(0xa0), address(0x10), &[], 100_000);
    let (a, b) = (contract(1), contract(2));
    for code in [&a, &b, &a] {
        let r = rt.execute(&mut host, REV, &msg, code, None);
        assert_eq!(r.output[31], code[1]);
    }
    assert!(rt.wait_for_compiles(PATIENCE));
    let stats = rt.stats();
    // The stats name them by keccak even so.
    assert_eq!(stats_of(&stats, &a).state, ContractState::Compiled);
    assert_eq!(stats_of(&stats, &b).state, ContractState::Cold);
    let r = rt.execute(&mut host, REV, &msg, &a, None);
    assert_eq!(r.output[31], 1);
    assert_eq!(rt.backend().runs(), 1);
}

/// Calls `code` until it has been compiled (one worker, hot at one call: one call and a wait).
fn compile(rt: &Runtime<Fake>, code: &[u8]) {
    call(rt, code);
    assert!(rt.wait_for_compiles(PATIENCE));
    assert_eq!(state_of(rt, code), ContractState::Compiled);
}

#[test]
fn a_full_code_cache_evicts_the_coldest_versions_first_and_they_can_come_back() {
    // 65536 bytes hold three fake versions of about 20 KB.
    let (rt, clock) = runtime(&[("jit.code-cache-bytes", "65536")], Fake::default());
    let (a, b, c, d) = (contract(1), contract(2), contract(3), contract(4));
    for code in [&a, &b, &c] {
        compile(&rt, code);
    }
    // Within the window, a has 5 calls, b 2 and c 3; b is the coldest.
    for (code, calls) in [(&a, 4), (&b, 1), (&c, 2)] {
        for _ in 0..calls {
            call(&rt, code);
        }
    }
    clock.advance(1);
    compile(&rt, &d);
    let stats = rt.stats();
    assert_eq!(stats.cache.evicted, 1);
    assert_eq!(stats_of(&stats, &b).state, ContractState::Cold);
    for code in [&a, &c, &d] {
        assert_eq!(stats_of(&stats, code).state, ContractState::Compiled);
    }
    assert!(stats.cache.published_bytes <= 65536);
    assert_eq!(stats.cache.published_bytes, stats.cache.resident_bytes);
    // b runs in the interpreter now, and compiles again when hot again: a second version.
    let runs = rt.backend().runs();
    call(&rt, &b);
    assert!(rt.wait_for_compiles(PATIENCE));
    assert_eq!(rt.backend().runs(), runs, "interpreted");
    let sb = stats_of(&rt.stats(), &b);
    assert_eq!(
        (sb.state, sb.profile.versions),
        (ContractState::Compiled, 2)
    );
    assert!(rt.stats().cache.evicted >= 2);
}

#[test]
fn versions_idle_for_longer_than_the_idle_time_are_evicted() {
    let (rt, clock) = runtime(&[("jit.idle-evict-ms", "100")], Fake::default());
    let (idle, busy) = (contract(1), contract(2));
    compile(&rt, &idle);
    compile(&rt, &busy);
    for _ in 0..3 {
        clock.advance(40);
        call(&rt, &busy);
    }
    // 120 ms since `idle` last ran; the calls sweep every 25 ms.
    let stats = rt.stats();
    assert_eq!(stats.cache.idle_evicted, 1);
    assert_eq!(stats_of(&stats, &idle).state, ContractState::Cold);
    assert_eq!(stats_of(&stats, &busy).state, ContractState::Compiled);
    // Nothing else is idle now.
    assert_eq!(rt.evict_idle(), 0);
    clock.advance(100);
    assert_eq!(rt.evict_idle(), 1);
    assert_eq!(rt.stats().cache.published_bytes, 0);
}

#[test]
fn discarding_everything_unpublishes_every_version_and_compiles_in_flight() {
    let (rt, _clock) = runtime(&[], Fake::default());
    for n in 1..=3 {
        compile(&rt, &contract(n));
    }
    assert_eq!(rt.discard_compiled(), 3);
    let stats = rt.stats();
    assert_eq!((stats.cache.discarded, stats.cache.discards), (3, 1));
    assert_eq!(stats.cache.published_bytes, 0);
    assert!(stats
        .contracts
        .iter()
        .all(|c| c.state == ContractState::Cold));
    // They run interpreted, then compile again.
    let runs = rt.backend().runs();
    call(&rt, &contract(1));
    assert!(rt.wait_for_compiles(PATIENCE));
    assert_eq!(rt.backend().runs(), runs);
    assert_eq!(state_of(&rt, &contract(1)), ContractState::Compiled);
}

#[test]
fn a_compile_running_during_a_discard_is_not_published() {
    let (rt, _clock) = runtime(&[], Fake::blocking());
    let code = contract(5);
    call(&rt, &code);
    eventually("the compile to start", || rt.backend().started() == 1);
    assert_eq!(rt.discard_compiled(), 0);
    rt.backend().open();
    assert!(rt.wait_for_compiles(PATIENCE));
    let s = stats_of(&rt.stats(), &code);
    assert_eq!((s.state, s.profile.versions), (ContractState::Cold, 1));
    assert_eq!(rt.stats().cache.discarded, 1);
    assert_eq!(rt.stats().cache.resident_bytes, 0, "and it was freed");
}

#[test]
fn a_version_larger_than_the_whole_cache_leaves_the_contract_interpreted() {
    let big = contract(9);
    let fake = Fake {
        oversized: Some(big.clone()),
        ..Fake::default()
    };
    let (rt, _clock) = runtime(&[("jit.code-cache-bytes", "65536")], fake);
    compile(&rt, &contract(1));
    call(&rt, &big);
    assert!(rt.wait_for_compiles(PATIENCE));
    let stats = rt.stats();
    let reason = stats_of(&stats, &big).describe_state();
    assert!(
        reason.starts_with("rejected: ") && reason.contains("exceeds the code cache"),
        "{reason}"
    );
    assert_eq!((stats.cache.too_large, stats.cache.evicted), (1, 0));
    assert_eq!(
        state_of(&rt, &contract(1)),
        ContractState::Compiled,
        "nothing evicted for it"
    );
    assert_eq!(stats.cache.resident_bytes, stats.cache.published_bytes);
}

#[test]
fn a_recompile_exit_invalidates_reprofiles_and_the_last_version_never_speculates() {
    let (rt, clock) = runtime(&[("jit.hot-calls", "3")], Fake::default());
    let code = contract(7);
    let surprise = [SURPRISE];
    let hot = |rt: &Runtime<Fake>| {
        for _ in 0..3 {
            call(rt, &code);
        }
        assert!(rt.wait_for_compiles(PATIENCE));
    };
    // Version 1 speculates (the first calls recorded a jump profile: the fake takes any).
    hot(&rt);
    let s = stats_of(&rt.stats(), &code);
    assert_eq!((s.profile.versions, s.speculative), (1, Some(true)));
    for version in 1..=2u32 {
        // A surprising input exits, and the frame still gives the contract's result.
        let r = run_with_input(&rt, &code, &surprise);
        assert_eq!(r.output[31], code[1]);
        let s = stats_of(&rt.stats(), &code);
        assert_eq!(s.state, ContractState::Cold, "invalidated");
        assert_eq!(
            (s.invalidations, s.exit_sites_by_pc()),
            (
                version,
                vec![ExitSite {
                    pc: 0,
                    count: u64::from(version)
                }]
            )
        );
        // Profiling restarted with an empty window: two calls are not hot, three are.
        clock.advance(1);
        call(&rt, &code);
        call(&rt, &code);
        assert!(rt.wait_for_compiles(PATIENCE));
        assert_eq!(state_of(&rt, &code), ContractState::Cold);
        call(&rt, &code);
        assert!(rt.wait_for_compiles(PATIENCE));
        let s = stats_of(&rt.stats(), &code);
        assert_eq!(
            (s.state, s.profile.versions),
            (ContractState::Compiled, u64::from(version) + 1)
        );
    }
    // Version 3 is the last (jit.max-versions 3): compiled without speculation.
    let s = stats_of(&rt.stats(), &code);
    assert_eq!(s.speculative, Some(false));
    assert_eq!(
        *rt.backend().speculated.lock().unwrap(),
        [true, true, false]
    );
    // Surprises change nothing now: no exit, no profiling, no compile.
    let started = rt.backend().started();
    for _ in 0..10 {
        run_with_input(&rt, &code, &surprise);
    }
    assert!(rt.wait_for_compiles(PATIENCE));
    let s = stats_of(&rt.stats(), &code);
    assert_eq!(
        (s.state, s.profile.versions, s.invalidations),
        (ContractState::Compiled, 3, 2)
    );
    assert_eq!(s.exit_sites_by_pc(), [ExitSite { pc: 0, count: 2 }]);
    assert_eq!(rt.backend().started(), started);
}

#[test]
fn one_version_per_contract_never_speculates() {
    let (rt, _clock) = runtime(&[("jit.max-versions", "1")], Fake::default());
    compile(&rt, &contract(3));
    assert_eq!(*rt.backend().speculated.lock().unwrap(), [false]);
}

/// Calls `code` once per millisecond of the manual clock until `done` holds (each call may
/// ask for a tier-up: the check runs on a contract's first call of a millisecond).
fn call_until(rt: &Runtime<Fake>, clock: &ManualClock, code: &[u8], done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < PATIENCE, "timed out calling");
        clock.advance(1);
        call(rt, code);
    }
}

#[test]
fn compiled_code_busy_for_its_compile_time_tiers_up_once_and_spends_no_version() {
    let settings = [("jit.tier-up-level", "1"), ("jit.tier-up-ratio", "4")];
    let (rt, clock) = runtime(&settings, Fake::with_frames_of(Duration::from_millis(2)));
    let code = contract(9);
    call(&rt, &code);
    assert!(rt.wait_for_compiles(PATIENCE));
    let first = stats_of(&rt.stats(), &code);
    assert_eq!(
        (first.level, first.speculative),
        (Some(OptLevel::O0), Some(true))
    );
    // Each compiled frame takes 2 ms: after a few the window holds 4 compile times of it.
    call_until(&rt, &clock, &code, || rt.backend().started() == 2);
    assert!(rt.wait_for_compiles(PATIENCE));
    let s = stats_of(&rt.stats(), &code);
    assert_eq!(rt.backend().levels(), [OptLevel::O0, OptLevel::O1]);
    assert_eq!(
        (s.state, s.level, s.profile.versions, s.invalidations),
        (ContractState::Compiled, Some(OptLevel::O1), 2, 0)
    );
    // Speculative like the version it replaced; no speculation version used up.
    assert_eq!(*rt.backend().speculated.lock().unwrap(), [true, true]);
    assert_eq!(s.speculative, Some(true));
    let stats = rt.stats();
    assert_eq!((stats.cache.tiered_up, stats.cache.tier_ups_lost), (1, 0));
    assert_eq!(stats.cache.published_bytes, version_bytes(&rt, &code));
    assert_eq!(stats.pool.completed, 2);
    // At the top level it never asks again, however busy.
    let runs = rt.backend().runs();
    call_until(&rt, &clock, &code, || rt.backend().runs() >= runs + 20);
    assert!(rt.wait_for_compiles(PATIENCE));
    assert_eq!(rt.backend().started(), 2);
    assert_eq!(call(&rt, &code).output[31], code[1]);
}

#[test]
fn code_within_the_tier_up_bytes_starts_at_the_tier_up_level_and_stays() {
    let settings = [
        ("jit.tier-up-level", "2"),
        ("jit.tier-up-ratio", "1"),
        ("jit.tier-up-bytes", "10"),
    ];
    let (rt, clock) = runtime(&settings, Fake::with_frames_of(Duration::from_millis(1)));
    let (small, large) = (contract(14), [contract(15), vec![0x5b]].concat());
    assert_eq!((small.len(), large.len()), (10, 11));
    for code in [&small, &large] {
        call(&rt, code);
        assert!(rt.wait_for_compiles(PATIENCE));
    }
    assert_eq!(rt.backend().levels(), [OptLevel::O2, OptLevel::O0]);
    // Both busy for far more than their compile: only the large one tiers up.
    call_until(&rt, &clock, &large, || rt.backend().started() == 3);
    let runs = rt.backend().runs();
    call_until(&rt, &clock, &small, || rt.backend().runs() >= runs + 20);
    assert!(rt.wait_for_compiles(PATIENCE));
    assert_eq!(
        rt.backend().levels(),
        [OptLevel::O2, OptLevel::O0, OptLevel::O2]
    );
    let stats = rt.stats();
    assert_eq!(stats.cache.tiered_up, 1);
    for (code, versions) in [(&small, 1), (&large, 2)] {
        let s = stats_of(&stats, code);
        assert_eq!(
            (s.state, s.level, s.profile.versions),
            (ContractState::Compiled, Some(OptLevel::O2), versions)
        );
        assert_eq!(call(&rt, code).output[31], code[1]);
    }
}

#[test]
fn compiled_time_short_of_the_ratio_never_tiers_up() {
    // A million compile times: far more than 200 quick frames run.
    let settings = [("jit.tier-up-level", "1"), ("jit.tier-up-ratio", "1000000")];
    let (rt, clock) = runtime(&settings, Fake::default());
    let code = contract(10);
    call(&rt, &code);
    assert!(rt.wait_for_compiles(PATIENCE));
    call_until(&rt, &clock, &code, || rt.backend().runs() >= 200);
    assert!(rt.wait_for_compiles(PATIENCE));
    assert_eq!(rt.backend().levels(), [OptLevel::O0]);
    assert_eq!(rt.stats().cache.tiered_up, 0);
}

#[test]
fn a_tier_up_finishing_after_its_version_was_invalidated_is_not_published() {
    let settings = [("jit.tier-up-level", "2"), ("jit.tier-up-ratio", "1")];
    let (rt, clock) = runtime(&settings, Fake::with_frames_of(Duration::from_millis(1)));
    let code = contract(11);
    call(&rt, &code);
    assert!(rt.wait_for_compiles(PATIENCE));
    // The tier-up compile starts and waits.
    rt.backend().close();
    call_until(&rt, &clock, &code, || rt.backend().started() == 2);
    // Meanwhile the version it is to replace takes a recompile exit.
    let r = run_with_input(&rt, &code, &[SURPRISE]);
    assert_eq!(r.output[31], code[1]);
    assert_eq!(state_of(&rt, &code), ContractState::Cold);
    rt.backend().open();
    assert!(rt.wait_for_compiles(PATIENCE));
    let stats = rt.stats();
    assert_eq!((stats.cache.tiered_up, stats.cache.tier_ups_lost), (0, 1));
    assert_eq!(
        (stats.cache.invalidated, stats.cache.published_bytes),
        (1, 0)
    );
    let s = stats_of(&stats, &code);
    assert_eq!(
        (s.state, s.level, s.invalidations),
        (ContractState::Cold, None, 1)
    );
    assert_eq!(rt.backend().levels(), [OptLevel::O0, OptLevel::O2]);
}

#[test]
fn shutdown_cancels_a_queued_tier_up_and_the_contract_stays_compiled() {
    let settings = [
        ("jit.tier-up-level", "1"),
        ("jit.tier-up-ratio", "1"),
        ("jit.hot-calls", "2"),
        ("jit.shutdown-ms", "50"),
    ];
    let (rt, clock) = runtime(&settings, Fake::with_frames_of(Duration::from_millis(1)));
    let (a, b) = (contract(12), contract(13));
    for code in [&a, &b] {
        call(&rt, code);
        call(&rt, code);
        assert!(rt.wait_for_compiles(PATIENCE));
    }
    // A's tier-up holds the one worker; B's waits in the queue.
    rt.backend().close();
    call_until(&rt, &clock, &a, || rt.backend().started() == 3);
    let queued = rt.stats().pool.queued;
    call_until(&rt, &clock, &b, || rt.stats().pool.queued == queued + 1);
    // Shut down while A's compile still waits: B's job is cancelled, A's worker detached.
    let report = rt.shutdown();
    assert_eq!((report.cancelled, report.detached), (1, 1));
    rt.backend().open();
    let s = stats_of(&rt.stats(), &b);
    assert_eq!(
        (s.state, s.level),
        (ContractState::Compiled, Some(OptLevel::O0))
    );
    assert_eq!(call(&rt, &b).output[31], b[1]);
}

#[test]
fn a_first_compile_goes_before_a_tier_up_that_asked_earlier() {
    let settings = [
        ("jit.tier-up-level", "1"),
        ("jit.tier-up-ratio", "1"),
        ("jit.hot-calls", "2"),
    ];
    let (rt, clock) = runtime(&settings, Fake::with_frames_of(Duration::from_millis(1)));
    let (a, busy, b) = (contract(14), contract(15), contract(16));
    call(&rt, &a);
    call(&rt, &a);
    assert!(rt.wait_for_compiles(PATIENCE));
    // `busy`'s first compile holds the one worker; then A asks for its tier-up, then B for
    // its first compile.
    rt.backend().close();
    call(&rt, &busy);
    call(&rt, &busy);
    eventually("the worker to start", || rt.backend().started() == 2);
    let queued = rt.stats().pool.queued;
    call_until(&rt, &clock, &a, || rt.stats().pool.queued == queued + 1);
    call(&rt, &b);
    call(&rt, &b);
    assert_eq!(rt.stats().pool.pending, 2);
    rt.backend().open();
    assert!(rt.wait_for_compiles(PATIENCE));
    assert_eq!(*rt.backend().order.lock().unwrap(), [a.clone(), busy, b, a]);
    assert_eq!(
        rt.backend().levels(),
        [OptLevel::O0, OptLevel::O0, OptLevel::O0, OptLevel::O1]
    );
}
