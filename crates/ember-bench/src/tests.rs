//! All three engines on small hand-written contracts, with the expected gas derived by
//! hand from the London schedule; this checks the two hosts as much as the engines.

use super::*;
use crate::measure::{Clock, SAMPLE_TARGET};
use crate::suite::{Account, Benchmark, BlockEnv, Input, World};
use ember_evm::{keccak256, Address, StatusCode, EMPTY_CODE_HASH, U256};
use foldhash::{HashMap, HashMapExt};

const GAS: i64 = 1_000_000;

fn bench(code: Vec<u8>, storage: &[(u64, u64)], input: Vec<u8>) -> Benchmark {
    let to = Address([0xcc; 20]);
    let sender = Address([0xaa; 20]);
    let mut accounts = HashMap::new();
    accounts.insert(
        sender,
        Account {
            balance: U256::from(1_000_000u64),
            nonce: 0,
            code: Vec::new(),
            code_hash: EMPTY_CODE_HASH,
            storage: HashMap::new(),
        },
    );
    accounts.insert(
        to,
        Account {
            balance: U256::ZERO,
            nonce: 1,
            code_hash: keccak256(&code),
            code,
            storage: storage
                .iter()
                .map(|&(k, v)| (U256::from(k), U256::from(v)))
                .collect(),
        },
    );
    Benchmark {
        name: "t".into(),
        world: World {
            accounts,
            block: BlockEnv {
                coinbase: Address([0xbb; 20]),
                number: 7,
                timestamp: 1000,
                gas_limit: 30_000_000,
                difficulty: U256::from(0x20000),
                base_fee: U256::from(10),
                chain_id: U256::from(1),
            },
            sender,
            to,
            gas_price: U256::from(12),
        },
        gas: GAS,
        value: U256::ZERO,
        inputs: vec![Input {
            label: "x".into(),
            data: input,
        }],
    }
}

fn case(b: &Benchmark) -> Case<'_> {
    Case {
        bench: b,
        input: &b.inputs[0],
    }
}

/// Runs in every engine, the contract compiled.
fn all(b: &Benchmark) -> Outcomes {
    let mut engines = Engines::new(case(b), Some(ember_jit::OptLevel::O0));
    if let Some(Err(e)) = &engines.jit {
        panic!("the contract was not compiled: {e}");
    }
    let outcomes = engines.run_once();
    assert!(outcomes.jit.is_some());
    outcomes
}

/// Runs in every engine, asserts they agree, returns the common outcome.
fn agreed(code: Vec<u8>, storage: &[(u64, u64)], input: Vec<u8>) -> Outcome {
    let b = bench(code, storage, input);
    let o = all(&b);
    assert_eq!(o.differences(), Vec::<String>::new());
    assert_eq!(o.unsupported(), None);
    o.interp
}

/// A plan that takes at most `samples` samples and stops after the first.
fn quick(samples: usize) -> Plan {
    Plan {
        clock: Clock::ThreadCpu,
        min_time: Duration::ZERO,
        max_samples: samples,
        sample: SAMPLE_TARGET,
    }
}

#[test]
fn sstore_and_sload_gas_and_refund_cold_then_warm() {
    // PUSH1 1 PUSH1 0 SSTORE       3+3 + 20000 (0->1 set) + 2100 (cold)
    // PUSH1 0 SLOAD POP            3 + 100 (warm) + 2
    // PUSH1 0 PUSH1 1 SSTORE       3+3 + 2900 (5->0 reset) + 2100 (cold); refund 4800
    // PUSH1 1 SLOAD                3 + 100 (warm, written above)
    // PUSH1 0 MSTORE               3+3 + 3 (one word of memory)
    // PUSH1 32 PUSH1 0 RETURN      3+3
    let code = vec![
        0x60, 1, 0x60, 0, 0x55, 0x60, 0, 0x54, 0x50, 0x60, 0, 0x60, 1, 0x55, 0x60, 1, 0x54, 0x60,
        0, 0x52, 0x60, 32, 0x60, 0, 0xf3,
    ];
    // Slot 1 holds 5 before the call; slot 0 is empty.
    let o = agreed(code, &[(1, 5)], vec![]);
    assert_eq!(o.status, StatusCode::Success);
    let want = 6 + 20000 + 2100 + 3 + 100 + 2 + 6 + 2900 + 2100 + 3 + 100 + 9 + 6;
    assert_eq!(o.gas_used, want);
    assert_eq!(o.gas_refund, 4800);
    assert_eq!(o.output, [0u8; 32]);
}

#[test]
fn context_opcodes_read_the_same_environment() {
    // ORIGIN CALLER ADDRESS GASPRICE COINBASE TIMESTAMP NUMBER DIFFICULTY GASLIMIT CHAINID
    // BASEFEE SELFBALANCE CALLDATASIZE, each stored with PUSH2 32*i MSTORE, then RETURN all.
    let ops = [
        0x32, 0x33, 0x30, 0x3a, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x48, 0x47, 0x36,
    ];
    let mut code = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let [hi, lo] = (32 * i as u16).to_be_bytes();
        code.extend([*op, 0x61, hi, lo, 0x52]);
    }
    let [hi, lo] = (32 * ops.len() as u16).to_be_bytes();
    code.extend([0x61, hi, lo, 0x60, 0, 0xf3]);
    let o = agreed(code, &[], vec![1, 2, 3]);
    assert_eq!(o.status, StatusCode::Success);
    let word = |i: usize| U256::from_be_slice(&o.output[32 * i..32 * i + 32]);
    assert_eq!(word(0), Address([0xaa; 20]).to_word());
    assert_eq!(word(1), Address([0xaa; 20]).to_word());
    assert_eq!(word(2), Address([0xcc; 20]).to_word());
    assert_eq!(word(3), U256::from(12));
    assert_eq!(word(4), Address([0xbb; 20]).to_word());
    assert_eq!(word(5), U256::from(1000));
    assert_eq!(word(6), U256::from(7));
    assert_eq!(word(7), U256::from(0x20000));
    assert_eq!(word(8), U256::from(30_000_000));
    assert_eq!(word(9), U256::from(1));
    assert_eq!(word(10), U256::from(10));
    assert_eq!(word(11), U256::ZERO);
    assert_eq!(word(12), U256::from(3));
}

#[test]
fn account_access_cold_and_warm() {
    // PUSH20 <0x11..> BALANCE POP: 3 + 100 + 2500 (cold) + 2
    // PUSH20 <0x11..> EXTCODEHASH: 3 + 100 (now warm) -> 0 for an absent account
    // PUSH1 0 MSTORE; PUSH1 32 PUSH1 0 RETURN
    let mut code = vec![0x73];
    code.extend([0x11; 20]);
    code.extend([0x31, 0x50, 0x73]);
    code.extend([0x11; 20]);
    code.extend([0x3f, 0x60, 0, 0x52, 0x60, 32, 0x60, 0, 0xf3]);
    let o = agreed(code, &[], vec![]);
    assert_eq!(o.gas_used, 3 + 2600 + 2 + 3 + 100 + 9 + 6);
    assert_eq!(o.output, [0u8; 32]);
}

#[test]
fn logs_are_collected_and_compared() {
    // PUSH1 0xaa PUSH1 0 MSTORE8; PUSH1 7 (topic) PUSH1 1 PUSH1 0 LOG1; STOP
    // 3+3+3+3 (mstore8, one word) + 3+3+3 + 375 + 375 + 8 = 779
    let code = vec![
        0x60, 0xaa, 0x60, 0, 0x53, 0x60, 7, 0x60, 1, 0x60, 0, 0xa1, 0x00,
    ];
    let o = agreed(code, &[], vec![]);
    assert_eq!(o.gas_used, 779);
    assert_eq!(o.logs.len(), 1);
    assert_eq!(o.logs[0].address, [0xcc; 20]);
    let mut topic = [0u8; 32];
    topic[31] = 7;
    assert_eq!(o.logs[0].topics, [topic]);
    assert_eq!(o.logs[0].data, [0xaa]);
}

#[test]
fn failures_map_to_the_same_status_and_consume_all_gas() {
    for (code, status) in [
        (vec![0x60, 3, 0x56], StatusCode::BadJumpDestination),
        (vec![0x01], StatusCode::StackUnderflow),
        (vec![0xfe], StatusCode::InvalidInstruction),
        // PUSH0 is not defined before Shanghai.
        (vec![0x5f], StatusCode::UndefinedInstruction),
    ] {
        let o = agreed(code, &[], vec![]);
        assert_eq!(o.status, status);
        assert_eq!(o.gas_used, GAS);
    }
    // REVERT keeps the unused gas and returns data: PUSH1 1 PUSH1 31 REVERT
    // -> 3+3 + 3 (one word) and the byte at 31 of zeroed memory.
    let o = agreed(vec![0x60, 1, 0x60, 31, 0xfd], &[], vec![]);
    assert_eq!(o.status, StatusCode::Revert);
    assert_eq!(o.gas_used, 9);
    assert_eq!(o.output, [0]);
}

#[test]
fn nested_calls_are_reported_as_unsupported_by_every_engine() {
    // CALL(gas=0, to=0x11.., value=0, in 0/0, out 0/0)
    let mut code = vec![0x60, 0, 0x60, 0, 0x60, 0, 0x60, 0, 0x60, 0, 0x73];
    code.extend([0x11; 20]);
    code.extend([0x60, 0, 0xf1, 0x00]);
    let b = bench(code, &[], vec![]);
    let o = all(&b);
    assert!(o.interp.unsupported.is_some());
    assert!(o.jit.unwrap().unsupported.is_some());
    assert!(o.revm.unsupported.is_some());
    let result = run_case(
        case(&b),
        &quick(1),
        Duration::ZERO,
        Some(JitLevel::Fixed(ember_jit::OptLevel::O0)),
    );
    assert!(matches!(result, CaseResult::Unsupported { .. }));
}

#[test]
fn repeated_runs_start_from_the_same_state() {
    // SSTORE(0, 1); BALANCE(0x11..); LOG0 of nothing; SLOAD(0) returned. A host whose
    // reset forgot the write, the warm account, the warm slot or the log would make the
    // second run cheaper or different.
    let mut code = vec![0x60, 1, 0x60, 0, 0x55, 0x73];
    code.extend([0x11; 20]);
    code.extend([
        0x31, 0x50, 0x60, 0, 0x60, 0, 0xa0, 0x60, 0, 0x54, 0x60, 0, 0x52, 0x60, 32, 0x60, 0, 0xf3,
    ]);
    let b = bench(code, &[], vec![]);
    let mut engines = Engines::new(case(&b), Some(ember_jit::OptLevel::O0));
    let first = engines.interp.run();
    let first = engines.interp.outcome(first);
    // 6 + 22100 (cold set) + 3 + 2600 + 2 + 6 + 375 + 3 + 100 + 9 + 6
    assert_eq!(first.gas_used, 25210);
    assert_eq!(first.logs.len(), 1);
    for _ in 0..2 {
        let o = engines.run_once();
        assert_eq!(o.interp, first);
        assert_eq!(o.jit, Some(first.clone()));
        assert_eq!(o.revm, first);
    }
}

#[test]
fn an_agreeing_case_is_timed_in_every_engine() {
    // PUSH1 1 PUSH1 2 ADD STOP: 3 + 3 + 3.
    let b = bench(vec![0x60, 1, 0x60, 2, 0x01, 0x00], &[], vec![]);
    match run_case(case(&b), &quick(2), Duration::ZERO, Some(JitLevel::First)) {
        CaseResult::Timed {
            contract,
            outcome,
            interp,
            jit:
                Jit::Timed {
                    level,
                    timing,
                    compile,
                },
            revm,
            ..
        } => {
            // Six bytes of code: the runtime's first compile is already at the tier-up level.
            assert_eq!(level, ember_jit::OptLevel::O1);
            assert_eq!(contract, keccak256(&[0x60, 1, 0x60, 2, 0x01, 0x00]));
            assert_eq!(outcome.gas_used, 9);
            // A zero time budget stops after the first sample.
            assert_eq!((interp.samples, timing.samples, revm.samples), (1, 1, 1));
            assert!(interp.median_ns > 0.0 && timing.median_ns > 0.0 && revm.median_ns > 0.0);
            assert!(compile.emit_ns > 0 && compile.code_bytes > 0, "{compile:?}");
        }
        other => panic!("expected a case timed in all three engines, got {other:?}"),
    }
}

#[test]
fn the_first_level_follows_the_size_of_the_code_and_a_fixed_one_does_not() {
    use ember_jit::OptLevel::{O0, O1, O2};
    let first = |len| JitLevel::First.for_code(len);
    assert_eq!(
        (first(1), first(4096), first(4097), first(24576)),
        (O1, O1, O0, O0)
    );
    assert_eq!(
        (
            JitLevel::Fixed(O2).for_code(1),
            JitLevel::Fixed(O2).for_code(1 << 20)
        ),
        (O2, O2)
    );
    assert!(JitLevel::First
        .describe()
        .contains("O1 for code of at most 4096 bytes, else O0"));
}

#[test]
fn without_the_jit_only_two_engines_run() {
    let b = bench(vec![0x60, 1, 0x60, 2, 0x01, 0x00], &[], vec![]);
    let mut engines = Engines::new(case(&b), None);
    assert!(engines.jit.is_none());
    assert_eq!(engines.run_once().jit, None);
    match run_case(case(&b), &quick(1), Duration::ZERO, None) {
        CaseResult::Timed {
            jit: Jit::Off,
            outcome,
            ..
        } => assert_eq!(outcome.gas_used, 9),
        other => panic!("expected a two-engine timed case, got {other:?}"),
    }
}

#[test]
fn a_contract_the_compiler_rejects_is_still_timed_in_the_other_engines() {
    // PUSH1 1 PUSH1 2 ADD STOP, padded with STOPs past JitConfig::compile_everything()'s
    // 48 KiB size limit.
    let mut code = vec![0x60, 1, 0x60, 2, 0x01, 0x00];
    code.resize(0xc000 + 1, 0x00);
    let b = bench(code, &[], vec![]);
    match run_case(
        case(&b),
        &quick(1),
        Duration::ZERO,
        Some(JitLevel::Fixed(ember_jit::OptLevel::O0)),
    ) {
        CaseResult::Timed {
            jit: Jit::NotCompiled { reason },
            outcome,
            interp,
            revm,
            ..
        } => {
            assert!(reason.contains("over the 49152-byte limit"), "{reason}");
            assert_eq!(outcome.gas_used, 9);
            assert_eq!((interp.samples, revm.samples), (1, 1));
        }
        other => panic!("expected a case without compiled code, got {other:?}"),
    }
}

#[test]
fn disagreements_are_named_by_engine() {
    let o = agreed(vec![0x60, 1, 0x60, 2, 0x01, 0x00], &[], vec![]);
    let mut slow = o.clone();
    slow.gas_used += 1;
    let outcomes = Outcomes {
        interp: o.clone(),
        jit: Some(slow.clone()),
        revm: o.clone(),
    };
    assert_eq!(outcomes.differences(), ["gas used: interp=9 jit=10"]);
    let outcomes = Outcomes {
        interp: o.clone(),
        jit: None,
        revm: slow,
    };
    assert_eq!(outcomes.differences(), ["gas used: interp=9 revm=10"]);
    let mut nested = o.clone();
    nested.unsupported = Some("nested call".into());
    let outcomes = Outcomes {
        interp: o.clone(),
        jit: Some(nested),
        revm: o,
    };
    assert_eq!(
        outcomes.unsupported().map(String::as_str),
        Some("nested call")
    );
}
