//! Code GC with ember's real JIT: versions are unpublished while frames run them, nested
//! frames included, and freed only after the last one returns; threads executing while
//! another thread evicts and discards in a loop see the interpreter's results.

use ember_evm::{ExecResult, Host, Interpreter, Message, Revision, Vm, B256};
use ember_runtime::{Runtime, RuntimeConfig};
use ember_testkit::{assemble, random_program, run, Case, Outcome, XorShift};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const PATIENCE: Duration = Duration::from_secs(120);

fn runtime(settings: &[(&str, &str)]) -> Runtime {
    let mut c = RuntimeConfig::default();
    for (name, value) in settings {
        c.set(name, value).unwrap();
    }
    Runtime::new(c)
}

/// Runs nested frames (depth > 0) on the runtime after discarding every compiled version,
/// and notes what the code cache held at that moment.
struct DiscardOnNestedCall<'r> {
    rt: &'r Runtime,
    discarded: AtomicUsize,
    /// (published, resident) bytes just after the discard.
    after_discard: (AtomicU64, AtomicU64),
}

impl Vm for DiscardOnNestedCall<'_> {
    fn execute(
        &self,
        host: &mut dyn Host,
        rev: Revision,
        msg: &Message<'_>,
        code: &[u8],
        code_hash: Option<&B256>,
    ) -> ExecResult {
        if msg.depth > 0 {
            self.discarded
                .fetch_add(self.rt.discard_compiled(), Ordering::SeqCst);
            let cache = self.rt.stats().cache;
            self.after_discard
                .0
                .store(cache.published_bytes, Ordering::SeqCst);
            self.after_discard
                .1
                .store(cache.resident_bytes, Ordering::SeqCst);
        }
        self.rt.execute(host, rev, msg, code, code_hash)
    }
}

/// With no calldata: a loop, a call to itself with one byte of calldata, another loop, and
/// the sum returned. With calldata: a short loop and its result returned. The outer frame
/// runs compiled code before and after the nested frame returns into it.
fn self_calling_contract() -> Vec<u8> {
    assemble(
        "PUSH1 0 PUSH1 50
         :outer1 PUSH1 1 SWAP1 SUB SWAP1 PUSH1 3 ADD SWAP1 DUP1 &outer1 JUMPI POP
         CALLDATASIZE &inner JUMPI
         PUSH1 0x20 PUSH1 0 PUSH1 1 PUSH1 0 PUSH1 0 ADDRESS GAS CALL POP
         PUSH1 0 MLOAD ADD PUSH1 50
         :outer2 PUSH1 1 SWAP1 SUB SWAP1 PUSH1 5 ADD SWAP1 DUP1 &outer2 JUMPI POP
         PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN
         :inner PUSH1 7 PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN",
    )
    .unwrap()
}

#[test]
fn a_version_discarded_while_a_nested_call_is_inside_it_finishes_correctly() {
    let code = self_calling_contract();
    let case = Case::new(&code);
    let want = run(&Interpreter, &case);
    assert_eq!(want.result.status, ember_evm::StatusCode::Success);
    let rt = runtime(&[("tier", "jit")]);
    // A first run compiles the contract.
    assert_eq!(run(&rt, &case), want);
    let before = rt.stats();
    assert_eq!(before.cache.published_bytes, before.cache.resident_bytes);
    let version_bytes = before.cache.published_bytes;
    assert!(version_bytes > 0);

    let vm = DiscardOnNestedCall {
        rt: &rt,
        discarded: AtomicUsize::new(0),
        after_discard: (AtomicU64::new(0), AtomicU64::new(0)),
    };
    // The outer frame runs the published version; the nested one discards it, compiles the
    // contract again (the jit tier compiles before running) and runs the new version; the
    // outer frame then returns into the discarded one.
    assert_eq!(run(&vm, &case), want);
    assert_eq!(vm.discarded.load(Ordering::SeqCst), 1);
    let (published, resident) = (
        vm.after_discard.0.load(Ordering::SeqCst),
        vm.after_discard.1.load(Ordering::SeqCst),
    );
    assert_eq!(published, 0, "unpublished at once");
    assert_eq!(
        resident, version_bytes,
        "but not freed while the outer frame is inside"
    );
    // Once the outer frame has returned, only the new version is held.
    let after = rt.stats();
    assert_eq!(after.cache.resident_bytes, after.cache.published_bytes);
    assert_eq!(after.cache.discarded, 1);
    assert_eq!(after.contracts[0].profile.versions, 2);
}

fn case(p: &(Vec<u8>, Vec<u8>)) -> Case<'_> {
    Case {
        input: &p.1,
        gas: 200_000,
        ..Case::new(&p.0)
    }
}

#[test]
fn eight_threads_run_while_another_evicts_and_discards_in_a_loop() {
    let mut rng = XorShift::new(0x9c);
    let programs: Vec<(Vec<u8>, Vec<u8>)> = (0..12)
        .map(|_| {
            let items = 30 + rng.below(30) as usize;
            let code = random_program(&mut rng, items);
            let input = (0..rng.below(40)).map(|_| rng.next_u64() as u8).collect();
            (code, input)
        })
        .collect();
    let expected: Vec<Outcome> = programs
        .iter()
        .map(|p| run(&Interpreter, &case(p)))
        .collect();
    // Hot at two calls; a small cache, so that publishing evicts too.
    let rt = runtime(&[
        ("tier", "auto"),
        ("jit.hot-calls", "2"),
        ("jit.hot-gas", "0"),
        ("jit.workers", "1"),
        ("jit.code-cache-bytes", "65536"),
        ("jit.idle-evict-ms", "50"),
    ]);
    let done = AtomicBool::new(false);
    let discards = AtomicUsize::new(0);
    let start = Instant::now();
    std::thread::scope(|s| {
        s.spawn(|| {
            // Discard whenever compiled code has run since the last discard, so that the
            // runners keep meeting versions that go away under them.
            let compiled_calls = || {
                rt.stats()
                    .contracts
                    .iter()
                    .map(|c| c.profile.jit.calls)
                    .sum::<u64>()
            };
            let mut seen = 0;
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(5));
                let now = compiled_calls();
                if now > seen {
                    seen = now;
                    rt.discard_compiled();
                    discards.fetch_add(1, Ordering::Relaxed);
                }
                rt.evict_idle();
            }
        });
        let runners: Vec<_> = (0..8usize)
            .map(|t| {
                let (rt, programs, expected, discards) = (&rt, &programs, &expected, &discards);
                s.spawn(move || {
                    // Two seconds of calls and a few discards at least, so that versions
                    // come and go many times (a slow debug build takes longer).
                    let mut round = 0;
                    while round < 40
                        || start.elapsed() < Duration::from_secs(2)
                        || (discards.load(Ordering::Relaxed) < 3 && start.elapsed() < PATIENCE)
                    {
                        round += 1;
                        for k in 0..programs.len() {
                            let i = (k * (2 * t + 1) + round) % programs.len();
                            assert_eq!(
                                run(rt, &case(&programs[i])),
                                expected[i],
                                "program {i}, thread {t}, round {round}"
                            );
                        }
                    }
                })
            })
            .collect();
        for r in runners {
            r.join().unwrap();
        }
        done.store(true, Ordering::Relaxed);
    });
    assert!(rt.wait_for_compiles(PATIENCE));
    assert!(start.elapsed() < PATIENCE);
    let stats = rt.stats();
    assert!(discards.load(Ordering::Relaxed) > 0);
    assert!(stats.pool.completed > 0, "{}", stats.to_text(20));
    assert!(
        stats.cache.discarded > 1 && stats.contracts.iter().any(|c| c.profile.jit.calls > 0),
        "{}",
        stats.to_text(20)
    );
    // No frame runs now: every version still held is a published one.
    assert_eq!(stats.cache.resident_bytes, stats.cache.published_bytes);
    assert!(stats.cache.published_bytes <= 65_536);
}
