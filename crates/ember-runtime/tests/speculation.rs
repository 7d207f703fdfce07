//! Speculation with ember's real JIT: a contract whose dynamic jumps meet new targets is
//! invalidated, re-profiled as a whole and recompiled a bounded number of times, and every
//! result in every phase is the interpreter's.

use ember_evm::{CodeAnalysis, Interpreter};
use ember_runtime::{ContractState, ContractStats, Runtime, RuntimeConfig};
use ember_testkit::{assemble, run, Case};
use std::time::{Duration, Instant};

const PATIENCE: Duration = Duration::from_secs(120);
/// Dynamic jump sites in the test contract.
const SITES: usize = 8;
/// Targets each site can be sent to.
const TARGETS: usize = 3;

/// `SITES` sites in a row; site `i` jumps to the pc in calldata bytes `2i..2i+2`, one of
/// `TARGETS` blocks that each add a different amount to an accumulator and jump on (a
/// constant jump) to the next site. The accumulator is returned. Returns the code and, per
/// site, the pcs of its targets.
fn contract() -> (Vec<u8>, Vec<Vec<u16>>) {
    let mut src = String::from("PUSH1 0 ");
    for i in 0..SITES {
        src += &format!("PUSH1 {} CALLDATALOAD PUSH1 240 SHR JUMP ", 2 * i);
        for t in 0..TARGETS {
            src += &format!(
                ":t{i}_{t} PUSH1 {} ADD &s{} JUMP ",
                (t + 1) * (i + 1),
                i + 1
            );
        }
        src += &format!(":s{} ", i + 1);
    }
    src += "PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN";
    let code = assemble(&src).unwrap();
    // The JUMPDESTs in order: per site its targets, then the next site.
    let analysis = CodeAnalysis::new(&code);
    let dests: Vec<u16> = (0..code.len())
        .filter(|&pc| analysis.is_jumpdest(pc))
        .map(|pc| pc as u16)
        .collect();
    assert_eq!(dests.len(), SITES * (TARGETS + 1));
    let targets = dests
        .chunks(TARGETS + 1)
        .map(|c| c[..TARGETS].to_vec())
        .collect();
    (code, targets)
}

/// Calldata sending every site to its target number `t`.
fn input(targets: &[Vec<u16>], t: usize) -> Vec<u8> {
    targets.iter().flat_map(|s| s[t].to_be_bytes()).collect()
}

fn runtime(max_versions: &str) -> Runtime {
    let mut c = RuntimeConfig::default();
    for (name, value) in [
        ("tier", "auto"),
        ("jit.hot-calls", "4"),
        ("jit.hot-gas", "0"),
        ("jit.workers", "1"),
        ("jit.max-versions", max_versions),
    ] {
        c.set(name, value).unwrap();
    }
    Runtime::new(c)
}

fn stats(rt: &Runtime) -> ContractStats {
    let s = rt.stats();
    assert_eq!(s.contracts.len(), 1);
    s.contracts[0].clone()
}

/// Calls with `input`, checking each result against the interpreter's, until the contract
/// runs compiled code and a call with it takes no side exit.
fn drive_until_stable(rt: &Runtime, code: &[u8], input: &[u8]) {
    let case = Case {
        input,
        ..Case::new(code)
    };
    let want = run(&Interpreter, &case);
    let start = Instant::now();
    loop {
        assert_eq!(run(rt, &case), want);
        assert!(rt.wait_for_compiles(PATIENCE));
        let s = stats(rt);
        if s.state == ContractState::Compiled {
            let (jit, exits) = (s.profile.jit.calls, s.side_exits());
            assert_eq!(run(rt, &case), want);
            let s = stats(rt);
            if s.profile.jit.calls == jit + 1 && s.side_exits() == exits {
                return;
            }
        }
        assert!(start.elapsed() < PATIENCE, "never stable: {s:?}");
    }
}

#[test]
fn unseen_targets_at_every_site_cost_one_recompile_not_one_per_site() {
    let (code, targets) = contract();
    let rt = runtime("3");
    drive_until_stable(&rt, &code, &input(&targets, 0));
    let s = stats(&rt);
    assert_eq!((s.profile.versions, s.speculative), (1, Some(true)));
    // Now every one of the eight sites meets a target it has not seen.
    drive_until_stable(&rt, &code, &input(&targets, 1));
    let s = stats(&rt);
    assert_eq!(s.invalidations, 1, "{s:?}");
    assert_eq!(
        s.profile.versions, 2,
        "one recompile for eight surprised sites"
    );
    assert_eq!(s.speculative, Some(true));
    // The exit was at the first site, the first jump that met a new target.
    assert_eq!(s.profile.exit_sites.len(), 1);
    // Both profiles are merged: the old inputs run without exits too.
    let exits = s.side_exits();
    for t in [0, 1, 0, 1] {
        let inp = input(&targets, t);
        let case = Case {
            input: &inp,
            ..Case::new(&code)
        };
        assert_eq!(run(&rt, &case), run(&Interpreter, &case));
    }
    let s = stats(&rt);
    assert_eq!((s.side_exits(), s.profile.versions), (exits, 2));
}

#[test]
fn targets_that_keep_changing_end_on_the_final_version_without_speculation() {
    let (code, targets) = contract();
    let rt = runtime("3");
    for t in 0..TARGETS {
        drive_until_stable(&rt, &code, &input(&targets, t));
    }
    let s = stats(&rt);
    assert_eq!((s.profile.versions, s.invalidations), (3, 2), "{s:?}");
    assert_eq!(
        s.speculative,
        Some(false),
        "the last version does not speculate"
    );
    // Mixed targets from now on: no exit, no recompile, no profiling.
    let (calls_interp, exits) = (s.profile.interp.calls, s.side_exits());
    for round in 0..30 {
        let inp: Vec<u8> = targets
            .iter()
            .enumerate()
            .flat_map(|(i, s)| s[(i + round) % TARGETS].to_be_bytes())
            .collect();
        let case = Case {
            input: &inp,
            ..Case::new(&code)
        };
        assert_eq!(run(&rt, &case), run(&Interpreter, &case));
    }
    assert!(rt.wait_for_compiles(PATIENCE));
    let s = stats(&rt);
    assert_eq!((s.profile.versions, s.invalidations), (3, 2));
    assert_eq!(
        (s.profile.interp.calls, s.side_exits()),
        (calls_interp, exits)
    );
    assert_eq!(s.state, ContractState::Compiled);
}

#[test]
fn with_one_version_allowed_nothing_speculates() {
    let (code, targets) = contract();
    let rt = runtime("1");
    drive_until_stable(&rt, &code, &input(&targets, 0));
    drive_until_stable(&rt, &code, &input(&targets, 2));
    let s = stats(&rt);
    assert_eq!(
        (s.profile.versions, s.invalidations, s.speculative),
        (1, 0, Some(false))
    );
}
