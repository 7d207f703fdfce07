//! The runtime with ember's real JIT: compiled code is published while threads execute, and
//! every result and every effect is the interpreter's.

use ember_evm::{
    keccak256, Address, ExecResult, Interpreter, Message, Revision, StatusCode, Vm, B256, U256,
};
use ember_runtime::{ContractState, Runtime, RuntimeConfig};
use ember_state::{run_message, Account, BlockEnv, Log, WorldState};
use ember_testkit::{random_program, run, Case, Outcome, XorShift};
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(120);

fn config(settings: &[(&str, &str)]) -> RuntimeConfig {
    let mut c = RuntimeConfig::default();
    for (name, value) in settings {
        c.set(name, value).unwrap();
    }
    c
}

/// Programs of every kind the generator makes (calls, logs, storage, jumps, failures), long
/// enough for the analyzer's 64-byte minimum, plus a few short ones that it rejects.
fn programs() -> Vec<(Vec<u8>, Vec<u8>, Revision)> {
    let mut rng = XorShift::new(0xe3be);
    let mut out = Vec::new();
    while out.len() < 24 {
        let items = 20 + rng.below(40) as usize;
        let code = random_program(&mut rng, items);
        let input: Vec<u8> = (0..rng.below(40)).map(|_| rng.next_u64() as u8).collect();
        let rev = [Revision::Berlin, Revision::Cancun, Revision::Osaka][rng.below(3) as usize];
        out.push((code, input, rev));
    }
    // Too short to compile in `auto`.
    out.push((vec![0x60, 1, 0x60, 2, 0x01, 0x00], vec![], Revision::Cancun));
    out
}

fn case<'a>(p: &'a (Vec<u8>, Vec<u8>, Revision), gas: i64) -> Case<'a> {
    Case {
        code: &p.0,
        input: &p.1,
        gas,
        rev: p.2,
        flags: 0,
    }
}

#[test]
fn eight_threads_in_auto_while_compiles_are_published_see_the_interpreters_results() {
    let programs = programs();
    let gases = [5_000i64, 200_000];
    // What the interpreter does, for each program and gas limit.
    let expected: Vec<Vec<Outcome>> = programs
        .iter()
        .map(|p| {
            gases
                .iter()
                .map(|&g| run(&Interpreter, &case(p, g)))
                .collect()
        })
        .collect();
    let rt = Runtime::new(config(&[
        ("tier", "auto"),
        ("jit.hot-calls", "3"),
        ("jit.hot-gas", "0"),
        ("jit.workers", "2"),
        // Tier-ups as soon as a version has run for its compile time, while threads run it.
        ("jit.tier-up-ratio", "1"),
    ]));
    let rounds = 12;
    std::thread::scope(|s| {
        for t in 0..8usize {
            let (rt, programs, expected) = (&rt, &programs, &expected);
            s.spawn(move || {
                for round in 0..rounds {
                    for k in 0..programs.len() {
                        // Each thread walks the programs in its own order.
                        let i = (k * (2 * t + 1) + round) % programs.len();
                        for (g, &gas) in gases.iter().enumerate() {
                            let got = run(rt, &case(&programs[i], gas));
                            assert_eq!(
                                got, expected[i][g],
                                "program {i} at gas {gas}, thread {t}, round {round}"
                            );
                        }
                    }
                }
            });
        }
    });
    assert!(rt.wait_for_compiles(PATIENCE));
    // Once more, now that everything is published.
    for (i, p) in programs.iter().enumerate() {
        for (g, &gas) in gases.iter().enumerate() {
            assert_eq!(run(&rt, &case(p, gas)), expected[i][g], "program {i}");
        }
    }
    let stats = rt.stats();
    let compiled: Vec<_> = stats
        .contracts
        .iter()
        .filter(|c| c.state == ContractState::Compiled)
        .collect();
    assert!(compiled.len() >= 20, "{}", stats.to_text(40));
    // Each switched tiers: at least the three hot calls in the interpreter, then compiled.
    assert!(compiled.iter().all(|c| c.profile.interp.calls >= 3
        && c.profile.jit.calls > 0
        && c.profile.compile_ns > 0));
    let short = keccak256(&programs.last().unwrap().0);
    let short = stats
        .contracts
        .iter()
        .find(|c| c.code_hash() == short)
        .unwrap();
    assert!(
        short.state == ContractState::Rejected
            && short
                .rejection
                .as_ref()
                .is_some_and(|r| r.contains("64-byte minimum")),
        "{:?}",
        short.state
    );
    assert_eq!(short.profile.jit.calls, 0);
    // Every compile published a version; tier-ups replaced one each.
    assert_eq!(
        (stats.pool.completed - stats.cache.tiered_up) as usize,
        compiled.len()
    );
}

#[test]
fn busy_compiled_code_tiers_up_while_threads_run_it_and_agrees_throughout() {
    let rt = Runtime::new(config(&[
        ("tier", "auto"),
        ("jit.hot-calls", "2"),
        ("jit.hot-gas", "0"),
        ("jit.tier-up-ratio", "1"),
        // The 80-byte contract would otherwise compile at the tier-up level at once.
        ("jit.tier-up-bytes", "0"),
    ]));
    // Counts down from 20000 (six instructions a round), then returns a word; padded past
    // the analyzer's 64-byte minimum with JUMPDESTs nothing reaches.
    let mut code = vec![
        0x62, 0x00, 0x4e, 0x20, // PUSH3 20000
        0x5b, // JUMPDEST (pc 4)
        0x60, 1, 0x90, 0x03, // PUSH1 1 SWAP1 SUB
        0x80, 0x60, 4, 0x57, // DUP1 PUSH1 4 JUMPI
        0x5a, 0x60, 0, 0x52, // GAS PUSH1 0 MSTORE
        0x60, 32, 0x60, 0, 0xf3, // PUSH1 32 PUSH1 0 RETURN
    ];
    code.resize(80, 0x5b);
    let p = (code, vec![], Revision::Cancun);
    let want = run(&Interpreter, &case(&p, 1_000_000));
    assert_eq!(want.result.status, StatusCode::Success);
    let tiered_up = || rt.stats().cache.tiered_up > 0;
    let start = std::time::Instant::now();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                while !tiered_up() {
                    assert!(start.elapsed() < PATIENCE, "{}", rt.stats().to_text(5));
                    for _ in 0..20 {
                        assert_eq!(run(&rt, &case(&p, 1_000_000)), want);
                    }
                }
            });
        }
    });
    assert_eq!(run(&rt, &case(&p, 1_000_000)), want);
    let stats = rt.stats();
    let c = &stats.contracts[0];
    assert_eq!(
        (c.state, c.level, c.profile.versions, c.invalidations),
        (
            ContractState::Compiled,
            Some(ember_runtime::OptLevel::O1),
            2,
            0
        ),
        "{}",
        stats.to_text(5)
    );
}

#[test]
fn the_jit_tier_runs_everything_compiled_with_the_interpreters_results() {
    let programs = programs();
    let rt = Runtime::new(config(&[("tier", "jit")]));
    for (i, p) in programs.iter().enumerate() {
        for gas in [3_000, 200_000] {
            assert_eq!(
                run(&rt, &case(p, gas)),
                run(&Interpreter, &case(p, gas)),
                "program {i}"
            );
        }
    }
    let stats = rt.stats();
    // Every top-level program, short ones included, ran compiled from its first call.
    for p in &programs {
        let h = keccak256(&p.0);
        let c = stats.contracts.iter().find(|c| c.code_hash() == h).unwrap();
        assert_eq!(
            (c.state, c.profile.interp.calls),
            (ContractState::Compiled, 0)
        );
    }
    assert_eq!(stats.pool.queued, 0, "nothing went through the pool");
}

/// A world with a caller contract that loops, calls a callee per iteration, stores and logs.
fn world() -> (WorldState, Address) {
    let caller = Address([0xca; 20]);
    let callee = Address([0xce; 20]);
    // callee: returns calldata word + 1, and stores it at slot 0.
    let callee_code = vec![
        0x60, 0, 0x35, 0x60, 1, 0x01, // PUSH1 0 CALLDATALOAD PUSH1 1 ADD
        0x80, 0x60, 0, 0x55, // DUP1 PUSH1 0 SSTORE
        0x60, 0, 0x52, 0x60, 32, 0x60, 0, 0xf3, // PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN
    ];
    // caller: i = CALLDATALOAD(0); while i != 0 { mem[0] = i; CALL(callee, in 0..32, out
    // 32..64); acc += mem[32]; i -= 1 }; SSTORE(1, acc); LOG1(acc); RETURN acc.
    let mut c = vec![
        0x60, 0, // acc = 0                                  [acc]
        0x60, 0, 0x35, // i = CALLDATALOAD(0)               [acc i]
        0x5b, // :5 loop                                    [acc i]
        0x80, 0x15, 0x61, 0, 0, 0x57, // DUP1 ISZERO PUSH2 end JUMPI (patched below)
        0x80, 0x60, 0, 0x52, // DUP1 PUSH1 0 MSTORE          [acc i]
        0x60, 32, 0x60, 32, 0x60, 32, 0x60, 0, 0x60, 0,    // outSize outOff inSize inOff value
        0x73, // PUSH20 callee
    ];
    c.extend(callee.0);
    c.extend([
        0x5a, 0xf1, 0x50, // GAS CALL POP
        0x60, 32, 0x51, // PUSH1 32 MLOAD                    [acc i r]
        0x82, 0x01, // DUP3 ADD                              [acc i acc+r]
        0x91, 0x50, // SWAP2 POP                             [acc+r i]
        0x60, 1, 0x90, 0x03, // PUSH1 1 SWAP1 SUB            [acc i-1]
        0x60, 5, 0x56, // PUSH1 5 JUMP
    ]);
    let end = c.len();
    c[9..11].copy_from_slice(&(end as u16).to_be_bytes());
    c.extend([
        0x5b, 0x50, // :end JUMPDEST POP                     [acc]
        0x80, 0x60, 1, 0x55, // DUP1 PUSH1 1 SSTORE
        0x80, 0x60, 0, 0x52, // DUP1 PUSH1 0 MSTORE
        0x60, 0xaa, 0x60, 32, 0x60, 0, 0xa1, // LOG1(topic 0xaa) of mem[0..32]
        0x60, 32, 0x60, 0, 0xf3, // RETURN mem[0..32]
    ]);
    let mut state = WorldState::new();
    for (addr, code) in [(caller, c), (callee, callee_code)] {
        state.insert(
            addr,
            Account {
                code: code.as_slice().into(),
                nonce: 1,
                ..Account::default()
            },
        );
    }
    (state, caller)
}

fn call_world(vm: &dyn Vm, n: u8) -> (ExecResult, Vec<Log>, B256) {
    let (mut state, caller) = world();
    let mut input = [0u8; 32];
    input[31] = n;
    let msg = Message::call(Address([0x5e; 20]), caller, &input, 5_000_000);
    let block = BlockEnv {
        number: 1,
        gas_limit: 30_000_000,
        chain_id: U256::from(1),
        ..BlockEnv::default()
    };
    let (r, logs) = run_message(&mut state, &block, Revision::Cancun, vm, &msg, None);
    (r, logs, state.state_root())
}

#[test]
fn nested_calls_through_ember_state_switch_tiers_and_agree() {
    let rt = Runtime::new(config(&[
        ("tier", "auto"),
        ("jit.hot-calls", "2"),
        ("jit.hot-gas", "0"),
    ]));
    let want: Vec<_> = (0..6).map(|n| call_world(&Interpreter, n)).collect();
    // The sum of (n, n-1, ..., 1) each plus one.
    let (r, logs, _) = &want[5];
    assert_eq!(r.status, StatusCode::Success);
    assert_eq!(r.output[31], 5 + 4 + 3 + 2 + 1 + 5);
    assert_eq!(logs.len(), 1);
    std::thread::scope(|s| {
        for t in 0..8u8 {
            let (rt, want) = (&rt, &want);
            s.spawn(move || {
                for round in 0..10u8 {
                    let n = (t + round) % 6;
                    assert_eq!(call_world(rt, n), want[n as usize], "n {n}");
                }
            });
        }
    });
    assert!(rt.wait_for_compiles(PATIENCE));
    for n in 0..6 {
        assert_eq!(call_world(&rt, n), want[n as usize]);
    }
    let stats = rt.stats();
    let caller_hash = {
        let (state, caller) = world();
        keccak256(&state.get(&caller).unwrap().code)
    };
    let caller = stats
        .contracts
        .iter()
        .find(|c| c.code_hash() == caller_hash)
        .unwrap();
    assert_eq!(
        caller.state,
        ContractState::Compiled,
        "{}",
        stats.to_text(5)
    );
    assert!(caller.profile.jit.calls > 0);
}
