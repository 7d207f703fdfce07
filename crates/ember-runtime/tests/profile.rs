//! The JIT-aware profiler through the runtime, on a scenario whose ground truth is known: a
//! contract that gets compiled calls one the analyzer keeps in the interpreter, and one of its
//! compiled runs side-exits.

use ember_evm::{CodeAnalysis, Interpreter};
use ember_profile::Tier;
use ember_runtime::{ContractState, Runtime, RuntimeConfig, OTHER_UNIT};
use ember_testkit::{address, assemble, run, Case, CALLEE, CALLEE_CODE, CONTRACT};
use std::time::{Duration, Instant};

const PATIENCE: Duration = Duration::from_secs(120);

/// Jumps to the pc in the first calldata byte (one of two JUMPDESTs that push a tag), loops,
/// calls [`CALLEE`] (43 bytes: too small for the analyzer, so it stays interpreted), loops
/// again and returns the tag. Returns the code and the two targets.
fn caller() -> (Vec<u8>, [u8; 2]) {
    let code = assemble(
        "PUSH1 0 CALLDATALOAD PUSH1 248 SHR JUMP
         :t1 PUSH1 1 &body JUMP
         :t2 PUSH1 2 &body JUMP
         :body PUSH1 40 :l1 PUSH1 1 SWAP1 SUB DUP1 &l1 JUMPI POP
         PUSH1 32 PUSH1 0 PUSH1 32 PUSH1 0 PUSH1 0 PUSH1 0x20 GAS CALL POP
         PUSH1 40 :l2 PUSH1 1 SWAP1 SUB DUP1 &l2 JUMPI POP
         PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN",
    )
    .unwrap();
    let a = CodeAnalysis::new(&code);
    let dests: Vec<u8> = (0..code.len())
        .filter(|&pc| a.is_jumpdest(pc))
        .map(|pc| pc as u8)
        .collect();
    (code, [dests[0], dests[1]])
}

#[test]
fn the_report_attributes_calls_time_and_exits_to_the_right_contract_and_tier() {
    let (code, [t1, t2]) = caller();
    let mut config = RuntimeConfig::default();
    for (name, value) in [
        ("tier", "auto"),
        ("jit.hot-calls", "2"),
        ("jit.hot-gas", "0"),
        ("jit.workers", "1"),
        ("profile.timeline", "1"),
    ] {
        config.set(name, value).unwrap();
    }
    let rt = Runtime::new(config);
    let call = |target: u8| {
        let input = [target];
        let case = Case {
            input: &input,
            ..Case::new(&code)
        };
        let got = run(&rt, &case);
        assert_eq!(got, run(&Interpreter, &case));
    };
    // Interpreted until compiled (with a speculation on target t1), then compiled runs.
    let start = Instant::now();
    let mut calls = 0;
    while rt
        .stats()
        .contracts
        .iter()
        .all(|c| c.state != ContractState::Compiled)
    {
        call(t1);
        calls += 1;
        assert!(rt.wait_for_compiles(PATIENCE));
        assert!(start.elapsed() < PATIENCE);
    }
    for _ in 0..3 {
        call(t1);
    }
    // t2 was never seen: the compiled code leaves at the jump (pc 6) for the interpreter.
    call(t2);
    calls += 4;

    let report = rt.profile_report();
    let caller_unit = report
        .units
        .iter()
        .find(|u| u.label.address == address(CONTRACT))
        .expect("the caller is reported");
    let callee_unit = report
        .units
        .iter()
        .find(|u| u.label.address == address(CALLEE))
        .expect("the callee is reported");
    assert_eq!(
        callee_unit.label.code_hash,
        ember_evm::keccak256(CALLEE_CODE)
    );
    assert!(
        report.unit(OTHER_UNIT).is_none(),
        "every frame had an entry"
    );
    // Calls: every caller frame once, in the tier it started in; every callee frame in the
    // interpreter.
    assert_eq!(caller_unit.calls(), calls);
    assert_eq!(caller_unit.jit.calls, 4);
    assert_eq!(caller_unit.interp.calls, calls - 4);
    assert_eq!(
        (callee_unit.interp.calls, callee_unit.jit.calls),
        (calls, 0)
    );
    // The side exit, at the jump.
    assert_eq!(caller_unit.side_exits, 1);
    assert_eq!(caller_unit.exit_sites.len(), 1);
    assert_eq!(caller_unit.exit_sites[0].pc, 6);
    assert!(caller_unit.versions >= 1 && caller_unit.compile_ns > 0);
    // Exclusive time splits the caller's frames exactly: the two units' exclusive times add
    // up to the caller's inclusive time (every caller frame is a top frame here).
    let exclusive = caller_unit.exclusive_ns() + callee_unit.exclusive_ns();
    assert_eq!(exclusive, caller_unit.inclusive_ns());
    assert!(callee_unit.exclusive_ns() > 0);
    assert!(caller_unit.jit.exclusive_ns > 0 && caller_unit.interp.exclusive_ns > 0);
    // The callee's frames started in the interpreter; nothing was charged to compiled code.
    assert_eq!(callee_unit.jit.exclusive_ns, 0);

    // The timeline: the caller ran interpreted first, was compiled by the worker, then ran
    // compiled; the callee's spans lie inside the caller's frames.
    let first = |tier: Tier| {
        report
            .spans
            .iter()
            .filter(|s| s.unit == caller_unit.id && s.tier == tier)
            .map(|s| s.start_ns)
            .min()
            .unwrap_or_else(|| panic!("a {tier:?} span of the caller"))
    };
    let (interp_start, jit_start) = (first(Tier::Interp), first(Tier::Jit));
    assert!(interp_start < jit_start);
    let job = report
        .compile_jobs
        .iter()
        .find(|j| j.unit == caller_unit.id && j.ok)
        .expect("the caller's compile job");
    assert!(job.end_ns <= jit_start);
    assert!(report
        .spans
        .iter()
        .any(|s| s.unit == callee_unit.id && s.tier == Tier::Interp));
    // The reports render.
    let trace = report.to_chrome_trace();
    assert!(trace["traceEvents"]
        .as_array()
        .is_some_and(|e| !e.is_empty()));
    assert!(report.to_svg().starts_with("<svg") || report.to_svg().starts_with("<?xml"));
    assert_eq!(report.to_json()["units"].as_array().map(Vec::len), Some(2));
}

#[test]
fn compiled_versions_are_announced_in_the_perf_map() {
    let (code, [t1, _]) = caller();
    let path = format!("/tmp/perf-{}.map", std::process::id());
    let _ = std::fs::remove_file(&path);
    let mut config = RuntimeConfig::default();
    config.set("tier", "jit").unwrap();
    config.set("jit.perf-map", "1").unwrap();
    let rt = Runtime::new(config);
    let input = [t1];
    let case = Case {
        input: &input,
        ..Case::new(&code)
    };
    assert_eq!(run(&rt, &case), run(&Interpreter, &case));
    let map = std::fs::read_to_string(&path).expect("the perf map was written");
    let name = ember_profile::perfmap::symbol_name(&ember_evm::keccak256(&code), 1);
    let line = map
        .lines()
        .find(|l| l.ends_with(&name))
        .unwrap_or_else(|| panic!("{name} in {map}"));
    let mut parts = line.split(' ');
    let start = usize::from_str_radix(parts.next().unwrap(), 16).unwrap();
    let len = usize::from_str_radix(parts.next().unwrap(), 16).unwrap();
    assert!(start != 0 && len > 0, "{line}");
    // The jit tier compiles the small callee too: its own symbol.
    let callee = ember_profile::perfmap::symbol_name(&ember_evm::keccak256(CALLEE_CODE), 1);
    assert!(map.lines().any(|l| l.ends_with(&callee)), "{map}");
    std::fs::remove_file(&path).unwrap();
}
