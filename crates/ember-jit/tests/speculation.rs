//! Speculative compilation: code compiled against a profile of one set of inputs, run on
//! inputs that reach seen targets, unseen targets, megamorphic sites and sites that never ran.
//! Every run must agree with the interpreter (status, gas left, refund, output, every host
//! effect), and the side exits must be reported once, with the right kind and pc.

use ember_evm::{execute_observed, CodeAnalysis, Interpreter, Message, Revision, StatusCode, U256};
use ember_jit::difftest::{compare_compiled, profile};
use ember_jit::{
    compile_speculative, CompiledContract, ExitKind, JitConfig, JumpRecorder, SideExit,
    SiteProfile, Speculation,
};
use ember_testkit::{
    address, assemble, random_jump_program, random_program, Case, Outcome, RecordingHost, XorShift,
    CONTRACT,
};
use std::sync::Arc;

/// Modes (first calldata word): 0 calls `f` twice, 1 and 3+ once each from another call site,
/// 2 returns at once. Then a computed jump to the second word (`done`), whose targets `t1` ..
/// `t6` end the frame in different ways; `t3` is a JUMPI to the fourth word on the third.
/// `f` returns with a jump to the address its caller pushed, as solc's internal calls do: the
/// compiler proves where that jump goes, so it is never speculated on.
const PROGRAM: &str = "
    PUSH1 0 CALLDATALOAD
    DUP1 ISZERO &m0 JUMPI
    DUP1 PUSH1 1 EQ &m1 JUMPI
    DUP1 PUSH1 2 EQ &m3 JUMPI
    &m2 JUMP
    :m0 POP &r0 &f JUMP :r0 &r0b &f JUMP :r0b &done JUMP
    :m1 POP &r1 &f JUMP :r1 &done JUMP
    :m2 POP &r2 &f JUMP :r2 &done JUMP
    :m3 POP PUSH1 0 PUSH1 0 RETURN
    :f PUSH1 1 SLOAD PUSH1 1 ADD PUSH1 1 SSTORE JUMP
    :done PUSH1 32 CALLDATALOAD JUMP
    :t1 PUSH1 0 PUSH1 1 SSTORE PUSH1 0xaa PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN
    :t2 PUSH1 0xbb PUSH1 0 MSTORE PUSH1 32 PUSH1 0 REVERT
    :t3 PUSH1 64 CALLDATALOAD PUSH1 96 CALLDATALOAD JUMPI STOP
    :t4 STOP
    :t5 PUSH1 5 PUSH1 2 SSTORE STOP
    :t6 PUSH1 6 PUSH1 0 LOG0 STOP
";

/// The pc of label `name` in `src` (the JUMPDEST).
fn label(src: &str, name: &str) -> u64 {
    let at = src
        .find(&format!(":{name} "))
        .unwrap_or_else(|| panic!("no label {name}"));
    // Labels used before this point may be defined after it; PUSH2 0 has the same size.
    let prefix: Vec<&str> = src[..at]
        .split_whitespace()
        .map(|t| if t.starts_with('&') { "PUSH2 0" } else { t })
        .collect();
    assemble(&prefix.join(" ")).unwrap().len() as u64
}

/// The pc of the first instruction `op` after label `name`.
fn site(src: &str, name: &str, op: u8) -> u32 {
    let code = assemble(src).unwrap();
    let mut pc = label(src, name) as usize;
    while code[pc] != op {
        pc += 1 + ember_evm::opcodes::immediate_size(code[pc]);
    }
    pc as u32
}

fn input(words: &[u64]) -> Vec<u8> {
    words
        .iter()
        .flat_map(|&w| U256::from(w).to_be_bytes::<32>())
        .collect()
}

fn case<'a>(code: &'a [u8], input: &'a [u8]) -> Case<'a> {
    Case {
        input,
        rev: Revision::Cancun,
        ..Case::new(code)
    }
}

/// The profile of `code` over all `inputs`.
fn profile_of(code: &[u8], inputs: &[Vec<u8>]) -> Speculation {
    let mut spec = Speculation::new();
    for i in inputs {
        spec.merge(&profile(&case(code, i)));
    }
    spec
}

fn compile_with(code: &[u8], spec: &Speculation) -> CompiledContract {
    compile_speculative(
        Arc::new(CodeAnalysis::new(code)),
        Revision::Cancun,
        &JitConfig::compile_everything(),
        Some(spec),
    )
    .unwrap()
}

/// Runs `input` and checks that it agrees with the interpreter; returns the exits.
fn run(c: &CompiledContract, code: &[u8], input: &[u8]) -> (Outcome, Vec<SideExit>) {
    compare_compiled(c, &case(code, input)).unwrap_or_else(|e| panic!("{e}"))
}

fn recompile(pc: u32) -> Vec<SideExit> {
    vec![SideExit {
        pc,
        kind: ExitKind::Recompile,
    }]
}

struct Program {
    code: Vec<u8>,
    t: [u64; 7],
    f_ret: u32,
    done: u32,
    t3: u32,
}

fn program() -> Program {
    let t = [0, 1, 2, 3, 4, 5, 6].map(|i| {
        if i == 0 {
            0
        } else {
            label(PROGRAM, &format!("t{i}"))
        }
    });
    Program {
        code: assemble(PROGRAM).unwrap(),
        t,
        f_ret: site(PROGRAM, "f", ember_evm::opcodes::JUMP),
        done: site(PROGRAM, "done", ember_evm::opcodes::JUMP),
        t3: site(PROGRAM, "t3", ember_evm::opcodes::JUMPI),
    }
}

#[test]
fn the_profile_sees_what_the_program_does() {
    let p = program();
    let spec = profile_of(&p.code, &[input(&[0, p.t[3], 0, p.t[1]])]);
    let r0 = label(PROGRAM, "r0") as u32;
    let r0b = label(PROGRAM, "r0b") as u32;
    assert_eq!(
        spec.sites[&p.f_ret],
        SiteProfile::Targets(vec![r0, r0b]),
        "{spec:?}"
    );
    assert_eq!(
        spec.sites[&p.done],
        SiteProfile::Targets(vec![p.t[3] as u32])
    );
    assert_eq!(spec.sites[&p.t3], SiteProfile::Targets(vec![]));
}

#[test]
fn seen_targets_run_without_exits() {
    let p = program();
    let inputs = [
        input(&[0, p.t[1]]),
        input(&[1, p.t[2]]),
        input(&[0, p.t[3], 1, p.t[4]]),
    ];
    let spec = profile_of(&p.code, &inputs);
    let c = compile_with(&p.code, &spec);
    assert!(c.is_speculative());
    let s = c.speculation_stats();
    assert_eq!(
        (
            s.guarded_sites,
            s.unprofiled_sites,
            s.table_sites,
            s.proven_sites
        ),
        (2, 0, 0, 1),
        "{s:?}"
    );
    let mut refund = false;
    for i in &inputs {
        let (out, exits) = run(&c, &p.code, i);
        assert_eq!(exits, [], "input {i:?}");
        refund |= out.result.gas_refund != 0;
    }
    assert!(refund, "t1 clears a slot: a refund is compared too");
    assert_eq!(c.exit_counts(), (3, 0));
}

#[test]
fn unseen_targets_exit_once_at_each_speculated_site() {
    let p = program();
    let spec = profile_of(&p.code, &[input(&[0, p.t[3], 1, p.t[1]])]);
    let c = compile_with(&p.code, &spec);
    // `f` returns to a call site the profile never saw: a proven target, no exit.
    let (out, exits) = run(&c, &p.code, &input(&[1, p.t[3], 0, p.t[1]]));
    assert_eq!(exits, []);
    assert_eq!(out.result.status, StatusCode::Success);
    // The computed jump goes to another target.
    let (out, exits) = run(&c, &p.code, &input(&[0, p.t[2]]));
    assert_eq!(exits, recompile(p.done));
    assert_eq!(out.result.status, StatusCode::Revert);
    assert_eq!(out.result.output[31], 0xbb);
    // The JUMPI in t3 jumps elsewhere.
    let (_, exits) = run(&c, &p.code, &input(&[0, p.t[3], 1, p.t[5]]));
    assert_eq!(exits, recompile(p.t3));
    assert_eq!(c.recompile_exit_count(), 2);
    // A bad destination is not a profile miss: the frame fails, as in the interpreter.
    let (out, exits) = run(&c, &p.code, &input(&[0, p.t[3] + 1]));
    assert_eq!(
        exits,
        [SideExit {
            pc: p.done,
            kind: ExitKind::Fallback
        }]
    );
    assert_eq!(out.result.status, StatusCode::BadJumpDestination);
    assert_eq!(c.recompile_exit_count(), 2);
    assert_eq!(c.exit_counts(), (1, 3));
}

#[test]
fn megamorphic_sites_use_the_full_dispatch() {
    let p = program();
    let inputs: Vec<Vec<u8>> = (1..=5).map(|i| input(&[0, p.t[i]])).collect();
    let spec = profile_of(&p.code, &inputs);
    assert_eq!(spec.sites[&p.done], SiteProfile::Megamorphic);
    let c = compile_with(&p.code, &spec);
    // t6 was never seen there, and needs no exit.
    let (out, exits) = run(&c, &p.code, &input(&[0, p.t[6]]));
    assert_eq!(exits, []);
    assert_eq!(out.result.status, StatusCode::Success);
    assert_eq!(out.effects.len(), 3, "two SSTOREs in f and a log");
    // A bad destination still leaves through the dispatch's fallback exit.
    let (_, exits) = run(&c, &p.code, &input(&[0, 1]));
    assert_eq!(exits[0].kind, ExitKind::Fallback);
}

#[test]
fn a_jumpi_never_taken_in_the_profile_exits_when_taken() {
    let p = program();
    let spec = profile_of(&p.code, &[input(&[0, p.t[3], 0, p.t[1]])]);
    assert_eq!(spec.sites[&p.t3], SiteProfile::Targets(vec![]));
    let c = compile_with(&p.code, &spec);
    // Not taken: it falls through natively, whatever the target.
    let (_, exits) = run(&c, &p.code, &input(&[0, p.t[3], 0, p.t[5]]));
    assert_eq!(exits, []);
    let (out, exits) = run(&c, &p.code, &input(&[0, p.t[3], 9, p.t[1]]));
    assert_eq!(exits, recompile(p.t3));
    assert_eq!(out.result.output[31], 0xaa);
}

#[test]
fn sites_that_never_ran_exit_at_their_jump() {
    let p = program();
    // Mode 2 returns before any dynamic jump runs.
    let spec = profile_of(&p.code, &[input(&[2])]);
    for pc in [p.f_ret, p.done, p.t3] {
        assert!(!spec.sites.contains_key(&pc), "{spec:?}");
    }
    let c = compile_with(&p.code, &spec);
    // `f`'s return is proven, but the computed jump at `done` exits, so the `t`s after it are
    // reached by nothing compiled: one unprofiled site, one exit, and those blocks are left
    // out.
    let s = c.speculation_stats();
    assert_eq!((s.unprofiled_sites, s.recompile_exits), (1, 1), "{s:?}");
    let all = compile_speculative(
        Arc::new(CodeAnalysis::new(&p.code)),
        Revision::Cancun,
        &JitConfig::compile_everything(),
        None,
    )
    .unwrap();
    // t1 to t6, and the STOP after t3's JUMPI.
    assert_eq!(
        all.speculation_stats().compiled_blocks - s.compiled_blocks,
        7,
        "{s:?}"
    );
    let (_, exits) = run(&c, &p.code, &input(&[2]));
    assert_eq!(exits, []);
    let (_, exits) = run(&c, &p.code, &input(&[0, p.t[1]]));
    assert_eq!(exits, recompile(p.done));

    // Every target but t3 ran: `done` is megamorphic, so t3 is compiled (reached through the
    // dispatch), and its JUMPI exits as a whole, even when it would not jump.
    let inputs: Vec<Vec<u8>> = [1, 2, 4, 5, 6].map(|t| input(&[0, p.t[t]])).into();
    let spec = profile_of(&p.code, &inputs);
    assert_eq!(spec.sites[&p.done], SiteProfile::Megamorphic);
    assert!(!spec.sites.contains_key(&p.t3));
    let c = compile_with(&p.code, &spec);
    let (_, exits) = run(&c, &p.code, &input(&[0, p.t[3], 0, 0]));
    assert_eq!(exits, recompile(p.t3));
}

#[test]
fn jumps_with_constant_targets_are_never_speculated() {
    // Only constant jumps: an empty profile changes nothing.
    let code = assemble("PUSH1 1 &a JUMPI :b STOP :a PUSH1 0 &b JUMPI &b JUMP").unwrap();
    let c = compile_with(&code, &Speculation::new());
    assert!(!c.is_speculative());
    let s = c.speculation_stats();
    assert_eq!(
        (
            s.guarded_sites,
            s.unprofiled_sites,
            s.table_sites,
            s.recompile_exits
        ),
        (0, 0, 0, 0)
    );
    let (_, exits) = run(&c, &code, &[]);
    assert_eq!(exits, []);
}

/// Generated programs with many computed jumps: compiled against the profile of a set of
/// inputs, those inputs never leave through a recompile exit; other inputs may, but only at
/// a site where the interpreter really went somewhere the profile had not seen.
#[test]
fn generated_jump_programs_exit_only_where_the_profile_missed() {
    let mut rng = XorShift::new(0x5bec);
    let (mut recompiles, mut runs) = (0, 0);
    for i in 0..40 {
        let blocks = 4 + rng.below(12) as usize;
        let code = random_jump_program(&mut rng, blocks);
        let inputs: Vec<Vec<u8>> = (0..8)
            .map(|_| (0..64).map(|_| rng.next_u64() as u8).collect())
            .collect();
        let (seen, unseen) = inputs.split_at(4);
        let spec = profile_of(&code, seen);
        let c = compile_with(&code, &spec);
        for input in seen {
            let (out, exits) = run(&c, &code, input);
            for e in &exits {
                assert!(
                    e.kind == ExitKind::Fallback
                        && out.result.status == StatusCode::BadJumpDestination,
                    "program {i}: {e:?} on a profiled input ({:?})",
                    out.result.status
                );
            }
        }
        for input in unseen {
            let (_, exits) = run(&c, &code, input);
            runs += 1;
            let Some(e) = exits.iter().find(|e| e.kind == ExitKind::Recompile) else {
                continue;
            };
            recompiles += 1;
            let went = profile(&case(&code, input));
            let missed = match (spec.sites.get(&e.pc), went.sites.get(&e.pc)) {
                (None, Some(_)) => true,
                (Some(SiteProfile::Targets(had)), Some(SiteProfile::Targets(now))) => {
                    now.iter().any(|t| !had.contains(t))
                }
                (Some(SiteProfile::Targets(_)), Some(SiteProfile::Megamorphic)) => true,
                _ => false,
            };
            assert!(
                missed,
                "program {i}: recompile exit at {} where the profile had {:?} and the run \
                 went to {:?}",
                e.pc,
                spec.sites.get(&e.pc),
                went.sites.get(&e.pc)
            );
        }
    }
    println!("{recompiles} of {runs} unprofiled runs left through a recompile exit");
    assert!(
        recompiles > runs / 4,
        "the generator should reach unseen targets often"
    );
}

/// `difftest::profile` steps the interpreter; it must see what `execute_observed` reports.
#[test]
fn the_stepped_profile_is_what_the_interpreter_observes() {
    let mut rng = XorShift::new(0x0b5e);
    for i in 0..60 {
        let blocks = 1 + rng.below(12) as usize;
        let code = if i % 2 == 0 {
            random_jump_program(&mut rng, blocks)
        } else {
            random_program(&mut rng, 40)
        };
        let input: Vec<u8> = (0..64).map(|_| rng.next_u64() as u8).collect();
        let case = Case {
            gas: 200_000,
            ..case(&code, &input)
        };
        // The jumps of these programs do not depend on storage or call value, which
        // `profile`'s world sets and this one does not.
        let recorder = JumpRecorder::new();
        let mut host = RecordingHost::new(&Interpreter, case.rev);
        host.set_account(address(CONTRACT), code.clone(), U256::ZERO);
        let msg = Message::call(address(0xa0), address(CONTRACT), &input, case.gas);
        let analysis = CodeAnalysis::new(&code);
        execute_observed(&mut host, case.rev, &msg, &analysis, &recorder);
        assert_eq!(
            profile(&case),
            recorder.into_speculation(),
            "program {i}: {}",
            ember_evm::to_hex(&code)
        );
    }
}
