//! Targeted differential tests: each program runs in the interpreter and as compiled code, and
//! status, gas left, refund, output and every host effect must agree.

mod common;

use common::{check, every_gas_limit, jit, operands, word};
use ember_evm::{Revision, StatusCode, FLAG_STATIC, U256};
use ember_jit::{JitVm, OptLevel};
use ember_testkit::{assemble, Case};

/// Inlined binary operations and the pure arithmetic builtins.
const BINARY: &[&str] = &[
    "ADD",
    "SUB",
    "MUL",
    "AND",
    "OR",
    "XOR",
    "LT",
    "GT",
    "SLT",
    "SGT",
    "EQ",
    "SHL",
    "SHR",
    "SAR",
    "BYTE",
    "DIV",
    "SDIV",
    "MOD",
    "SMOD",
    "SIGNEXTEND",
];

#[test]
fn binary_ops_on_runtime_operands() {
    let jit = jit();
    let ops = operands();
    for name in BINARY {
        // a = calldata[0..32] is the top of the stack, b = calldata[32..64] below it.
        let code = assemble(&format!(
            "PUSH1 32 CALLDATALOAD PUSH1 0 CALLDATALOAD {name} PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN"
        ))
        .unwrap();
        for a in &ops {
            for b in &ops {
                let mut input = word(*a).to_vec();
                input.extend_from_slice(&word(*b));
                let case = Case {
                    input: &input,
                    ..Case::new(&code)
                };
                let out = check(&jit, &case);
                assert_eq!(out.result.status, StatusCode::Success, "{name}");
            }
        }
    }
}

#[test]
fn inlined_ops_on_constants_are_folded_exactly() {
    let jit = jit();
    let ops = operands();
    for name in BINARY {
        let mut src = String::new();
        for (i, (a, b)) in ops
            .iter()
            .flat_map(|a| ops.iter().map(move |b| (a, b)))
            .enumerate()
        {
            src += &format!(
                "PUSH32 {b:#x} PUSH32 {a:#x} {name} PUSH2 {} MSTORE ",
                i * 32
            );
        }
        src += &format!("PUSH2 {} PUSH1 0 RETURN", ops.len() * ops.len() * 32);
        let code = assemble(&src).unwrap();
        let out = check(&jit, &Case::new(&code));
        assert_eq!(out.result.status, StatusCode::Success, "{name}");
    }
    for name in ["ISZERO", "NOT"] {
        let mut src = String::new();
        for (i, a) in ops.iter().enumerate() {
            src += &format!("PUSH32 {a:#x} {name} PUSH2 {} MSTORE ", i * 32);
        }
        src += &format!("PUSH2 {} PUSH1 0 RETURN", ops.len() * 32);
        let code = assemble(&src).unwrap();
        check(&jit, &Case::new(&code));
    }
}

#[test]
fn addmod_mulmod_and_clz_on_runtime_and_constant_operands() {
    let jit = jit();
    let ops = operands();
    for name in ["ADDMOD", "MULMOD"] {
        // a, b, n from calldata; a on top.
        let code = assemble(&format!(
            "PUSH1 64 CALLDATALOAD PUSH1 32 CALLDATALOAD PUSH1 0 CALLDATALOAD {name} \
             PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN"
        ))
        .unwrap();
        for a in ops.iter().step_by(2) {
            for b in &ops {
                for n in ops.iter().step_by(3) {
                    let input: Vec<u8> = [word(*a), word(*b), word(*n)].concat();
                    let case = Case {
                        input: &input,
                        ..Case::new(&code)
                    };
                    check(&jit, &case);
                }
            }
        }
        let folded = assemble(&format!(
            "PUSH1 7 PUSH32 {:#x} PUSH32 {:#x} {name} PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN",
            U256::MAX,
            U256::MAX - U256::from(1)
        ))
        .unwrap();
        check(&jit, &Case::new(&folded));
    }
    let clz = assemble("PUSH1 0 CALLDATALOAD CLZ PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN").unwrap();
    for a in &ops {
        let out = check(
            &jit,
            &Case {
                input: &word(*a),
                ..Case::new(&clz)
            },
        );
        // EIP-7939: the number of leading zero bits, 256 for zero.
        assert_eq!(out.result.output, word(U256::from(a.leading_zeros())));
    }
}

#[test]
fn mulmod_reuses_the_frames_barrett_constant_in_both_tiers() {
    // One frame: MULMODs by p three times (a new modulus, then Barrett's constant computed,
    // then used), by q once (the cache follows it), by p again twice, each result stored.
    // Operands and moduli come from calldata, so compiled code calls its builtin with the
    // frame's cache rather than folding.
    let jit = jit();
    let p = U256::from_str_radix(
        "30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47",
        16,
    )
    .unwrap();
    let q = U256::MAX - U256::from(188);
    let (a, b) = (
        U256::MAX - U256::from(5),
        (U256::from(1) << 200) + U256::from(77),
    );
    // calldata: a, b, p, q; the moduli used, in order, as calldata offsets.
    let order = [64, 64, 64, 96, 64, 64];
    let mut src = String::new();
    for (i, n) in order.iter().enumerate() {
        src += &format!(
            "PUSH1 {n} CALLDATALOAD PUSH1 32 CALLDATALOAD PUSH1 0 CALLDATALOAD MULMOD \
             PUSH1 {} MSTORE ",
            i * 32
        );
    }
    src += &format!("PUSH1 {} PUSH1 0 RETURN", order.len() * 32);
    let code = assemble(&src).unwrap();
    let input: Vec<u8> = [word(a), word(b), word(p), word(q)].concat();
    let out = check(
        &jit,
        &Case {
            input: &input,
            ..Case::new(&code)
        },
    );
    let want: Vec<u8> = order
        .iter()
        .flat_map(|&n| word(a.mul_mod(b, if n == 64 { p } else { q })))
        .collect();
    assert_eq!(out.result.output, want);
}

#[test]
fn shifts_and_byte_match_hand_computed_values() {
    // Values derived from the Yellow Paper / EIP-145 definitions, not from either tier.
    let jit = jit();
    let cases: &[(&str, U256, U256, U256)] = &[
        ("SHL", U256::from(256), U256::from(1), U256::ZERO),
        ("SHL", U256::from(255), U256::from(1), U256::from(1) << 255),
        ("SHR", U256::from(256), U256::MAX, U256::ZERO),
        ("SHR", U256::from(4), U256::from(0xff), U256::from(0x0f)),
        ("SAR", U256::from(300), U256::from(1) << 255, U256::MAX),
        ("SAR", U256::from(300), U256::from(5), U256::ZERO),
        ("SAR", U256::from(1), U256::MAX - U256::from(1), U256::MAX),
        ("BYTE", U256::from(31), U256::from(0xabcd), U256::from(0xcd)),
        ("BYTE", U256::from(30), U256::from(0xabcd), U256::from(0xab)),
        ("BYTE", U256::from(32), U256::MAX, U256::ZERO),
        ("BYTE", U256::from(1) << 64, U256::MAX, U256::ZERO),
    ];
    for (name, a, b, want) in cases {
        let code = assemble(&format!(
            "PUSH1 32 CALLDATALOAD PUSH1 0 CALLDATALOAD {name} PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN"
        ))
        .unwrap();
        let mut input = word(*a).to_vec();
        input.extend_from_slice(&word(*b));
        let out = check(
            &jit,
            &Case {
                input: &input,
                ..Case::new(&code)
            },
        );
        assert_eq!(out.result.output, word(*want), "{name} {a} {b}");
    }
}

#[test]
fn pushes_dups_swaps_pops_pc_and_jumpdest() {
    let jit = jit();
    let mut src = String::new();
    for n in 1..=32usize {
        let v: String = (0..n)
            .map(|i| format!("{:02x}", (n * 7 + i) as u8 | 1))
            .collect();
        src += &format!("PUSH{n} 0x{v} ");
    }
    src += "PUSH0 ";
    for n in 1..=16 {
        src += &format!("DUP{n} SWAP{n} ");
    }
    src += "POP PC JUMPDEST POP SWAP16 DUP16 ";
    // Store the whole stack (34 items) to memory and return it.
    for i in 0..34 {
        src += &format!("PUSH2 {} MSTORE ", i * 32);
    }
    src += "PUSH2 1088 PUSH1 0 RETURN";
    let code = assemble(&src).unwrap();
    let out = check(&jit, &Case::new(&code));
    assert_eq!(out.result.status, StatusCode::Success);
    assert_eq!(out.result.output.len(), 1088);
    // A PUSH cut short by the end of the code reads zeros, then execution stops.
    check(&jit, &Case::new(&[0x7f, 0xaa, 0xbb]));
    check(&jit, &Case::new(&[0x60, 1, 0x60, 2, 0x01, 0x61, 0xaa]));
    check(&jit, &Case::new(&[]));
}

#[test]
fn gas_is_exact_around_builtins_and_calls() {
    let jit = jit();
    let code = assemble(
        "GAS PUSH1 0 MSTORE \
         PUSH1 7 PUSH1 9 SSTORE GAS PUSH1 32 MSTORE \
         PUSH1 3 PUSH1 4 ADD POP GAS PUSH1 64 MSTORE \
         PUSH1 0 PUSH1 0 PUSH1 32 PUSH1 0 PUSH1 1 PUSH1 0x20 PUSH2 30000 CALL POP GAS PUSH1 96 MSTORE \
         PUSH2 0x4000 MLOAD POP GAS PUSH1 128 MSTORE \
         PUSH1 160 PUSH1 0 RETURN",
    )
    .unwrap();
    for rev in [
        Revision::Frontier,
        Revision::Istanbul,
        Revision::Berlin,
        Revision::Osaka,
    ] {
        let out = check(
            &jit,
            &Case {
                rev,
                ..Case::new(&code)
            },
        );
        assert_eq!(out.result.status, StatusCode::Success, "{rev:?}");
    }
}

#[test]
fn out_of_gas_at_every_gas_limit() {
    let jit = jit();
    // A counting loop with memory growth and arithmetic.
    let looped = assemble(
        "PUSH1 5 :top DUP1 DUP1 PUSH1 5 SHL MSTORE PUSH1 1 SWAP1 SUB DUP1 &top JUMPI \
         MSIZE PUSH1 0 RETURN",
    )
    .unwrap();
    every_gas_limit(&jit, &looped, Revision::Cancun);
    // SSTORE with its EIP-2200 sentry (fails at or below 2300 gas left) and cold access.
    let sstore =
        assemble("PUSH1 1 PUSH1 0 SSTORE GAS PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN").unwrap();
    every_gas_limit(&jit, &sstore, Revision::Cancun);
    every_gas_limit(&jit, &sstore, Revision::Istanbul);
    // A call whose gas depends on what is left (all but 1/64).
    let call = assemble(
        "PUSH1 0 PUSH1 0 PUSH1 32 PUSH1 0 PUSH1 0 PUSH1 0x20 GAS CALL PUSH1 0 MSTORE \
         PUSH1 32 PUSH1 0 RETURN",
    )
    .unwrap();
    every_gas_limit(&jit, &call, Revision::Berlin);
}

#[test]
fn stack_bounds_fail_at_block_entry_exactly() {
    let jit = jit();
    let programs = [
        // Underflow in the first block, after side effects.
        "PUSH1 1 PUSH1 0 SSTORE ADD",
        // Underflow in a later block.
        "PUSH1 1 &b JUMP :b ADD STOP",
        // Overflow: a loop that pushes forever.
        ":top PUSH1 1 &top JUMP",
        // Overflow in the middle of a block that grows by several items.
        ":top PUSH1 1 PUSH1 1 PUSH1 1 PUSH1 1 PUSH1 1 POP POP POP POP &top JUMP",
        // DUP16 and SWAP16 at exactly enough and one too few.
        "PUSH0 PUSH0 PUSH0 PUSH0 PUSH0 PUSH0 PUSH0 PUSH0 PUSH0 PUSH0 PUSH0 PUSH0 PUSH0 PUSH0 \
         PUSH0 PUSH1 7 DUP16 SWAP16 STOP",
        "PUSH0 PUSH0 PUSH0 PUSH0 PUSH0 PUSH0 PUSH0 PUSH0 PUSH0 PUSH0 PUSH0 PUSH0 PUSH0 PUSH0 \
         PUSH0 SWAP16 STOP",
    ];
    // One block that pushes more items than the stack holds (it must never run natively),
    // and one that fills the stack exactly.
    for (n, want) in [
        (1025, StatusCode::StackOverflow),
        (1024, StatusCode::Success),
        (3000, StatusCode::StackOverflow),
    ] {
        let mut code = vec![0x5f; n];
        code.push(0x00);
        let out = check(&jit, &Case::new(&code));
        assert_eq!(out.result.status, want, "{n} pushes");
    }
    for (i, src) in programs.iter().enumerate() {
        let code = assemble(src).unwrap();
        let out = check(&jit, &Case::new(&code));
        if i < 4 || i == 5 {
            assert_ne!(out.result.status, StatusCode::Success, "program {i}");
        } else {
            assert_eq!(out.result.status, StatusCode::Success, "program {i}");
        }
    }
}

#[test]
fn proven_heights_at_the_stack_limit() {
    // The entry-stack pass proves every height here, so the compiler drops the entry checks
    // that the proven height satisfies and must keep the ones it does not.
    let jit = jit();
    let pushes = |n: usize| "PUSH0 ".repeat(n);
    let cases = [
        // 1000 items, then a block that fills the stack exactly: no check needed, success.
        (
            format!("{} &b JUMP :b {} STOP", pushes(1000), pushes(24)),
            StatusCode::Success,
        ),
        // 1023 after the second block (its jump target is the 1024th item), then a third
        // block that pushes two: its overflow check stays and fails there.
        (
            format!(
                "{} &b JUMP :b {} &c JUMP :c PUSH0 PUSH0 STOP",
                pushes(1000),
                pushes(23)
            ),
            StatusCode::StackOverflow,
        ),
        // A block that pops more than the proven height holds.
        (
            "PUSH0 &b JUMP :b POP POP STOP".to_string(),
            StatusCode::StackUnderflow,
        ),
    ];
    for (src, want) in cases {
        let code = assemble(&src).unwrap();
        let out = check(&jit, &Case::new(&code));
        assert_eq!(
            out.result.status,
            want,
            "{}",
            &src[src.len().saturating_sub(60)..]
        );
    }
    // :b is reached with one item (the JUMPI taken) or two (its fall-through pushes one
    // more): its height is unknown, so its underflow check stays, and fails on the first way
    // in only.
    let code = assemble("PUSH0 PUSH1 0 CALLDATALOAD &b JUMPI PUSH0 :b POP POP STOP").unwrap();
    for (word, want) in [(1u8, StatusCode::StackUnderflow), (0, StatusCode::Success)] {
        let mut input = [0u8; 32];
        input[31] = word;
        let case = Case {
            input: &input,
            ..Case::new(&code)
        };
        assert_eq!(check(&jit, &case).result.status, want, "condition {word}");
    }
}

#[test]
fn the_dispatch_finds_each_of_many_jumpdests_and_nothing_between_them() {
    // A dynamic jump to calldata[0..32] among 37 blocks (an odd count, so the search tree's
    // halves differ), each storing its own number; between them PUSH data that looks like a
    // JUMPDEST, and the blocks at uneven distances.
    let mut src = String::from("PUSH1 0 CALLDATALOAD JUMP");
    for i in 0..37 {
        src.push_str(&format!(" JUMPDEST PUSH1 {i} PUSH1 0 SSTORE"));
        if i % 3 == 0 {
            src.push_str(" PUSH1 0x5b POP");
        }
        src.push_str(" STOP");
    }
    let code = assemble(&src).unwrap();
    assert_eq!(code.iter().filter(|&&b| b == 0x5b).count(), 37 + 13);
    let mut targets: Vec<U256> = (0..=code.len() as u64 + 1).map(U256::from).collect();
    targets.extend([
        U256::from(u32::MAX),
        (U256::from(1) << 32) + U256::from(4),
        U256::MAX,
    ]);
    for level in [OptLevel::O0, OptLevel::O1] {
        let jit = JitVm::at_level(level);
        for &t in &targets {
            let input = word(t);
            let out = check(
                &jit,
                &Case {
                    input: &input,
                    ..Case::new(&code)
                },
            );
            let lands = t < U256::from(code.len()) && code[t.to::<usize>()] == 0x5b;
            let is_jumpdest = lands && code[t.to::<usize>() - 1] != 0x60;
            assert_eq!(
                out.result.status == StatusCode::Success,
                is_jumpdest,
                "{level:?} target {t}"
            );
        }
    }
}

#[test]
fn static_and_dynamic_jumps_including_invalid_targets() {
    let jit = jit();
    let statics = [
        "&t JUMP :t STOP",
        "PUSH1 1 &t JUMPI INVALID :t STOP",
        "PUSH1 0 &t JUMPI PUSH1 9 STOP :t INVALID",
        // Into PUSH data that looks like a JUMPDEST.
        "PUSH1 4 JUMP PUSH1 0x5b STOP",
        "PUSH1 1 PUSH1 6 JUMPI PUSH1 0x5b STOP",
        // Past the end of the code, and a huge constant.
        "PUSH2 0x1000 JUMP",
        "PUSH32 0x0100000000000000000000000000000000000000000000000000000000000003 JUMP :t STOP",
        "PUSH1 1 PUSH32 0x010000000000000000000000000000000000000000000000000000000000000a \
         JUMPI :t STOP",
    ];
    for src in statics {
        check(&jit, &Case::new(&assemble(src).unwrap()));
    }
    // Dynamic targets from calldata: (target, condition) pairs.
    let jumpi = assemble(
        "PUSH1 32 CALLDATALOAD PUSH1 0 CALLDATALOAD JUMPI PUSH1 1 PUSH1 0 SSTORE STOP \
         :a PUSH1 2 PUSH1 0 SSTORE STOP :b PUSH1 3 PUSH1 0 SSTORE PUSH1 0x5b",
    )
    .unwrap();
    let jump = assemble("PUSH1 0 CALLDATALOAD JUMP :a STOP :b PUSH1 1 STOP").unwrap();
    let a = jumpi.iter().position(|&b| b == 0x5b).unwrap() as u64;
    let targets = [
        U256::from(a),
        U256::from(a + 1),
        U256::from(jumpi.len() - 1),
        U256::from(jumpi.len()),
        (U256::from(1) << 64) + U256::from(a),
        (U256::from(1) << 32) + U256::from(a),
        (U256::from(1) << 255) + U256::from(a),
        U256::from(u32::MAX),
        U256::MAX,
    ];
    for t in targets {
        for cond in [U256::ZERO, U256::from(1), U256::from(1) << 200] {
            let mut input = word(t).to_vec();
            input.extend_from_slice(&word(cond));
            check(
                &jit,
                &Case {
                    input: &input,
                    ..Case::new(&jumpi)
                },
            );
        }
        check(
            &jit,
            &Case {
                input: &word(t),
                ..Case::new(&jump)
            },
        );
    }
}

#[test]
fn nested_calls_and_creates_run_compiled_too() {
    let jit = jit();
    // CALL the callee with value and calldata, STATICCALL it (its SSTORE must fail),
    // DELEGATECALL it (reverting input), CREATE a contract, then use RETURNDATA.
    let code = assemble(
        "PUSH1 41 PUSH1 0 MSTORE \
         PUSH1 32 PUSH1 64 PUSH1 32 PUSH1 0 PUSH1 3 PUSH1 0x20 GAS CALL \
         PUSH1 32 PUSH1 96 PUSH1 32 PUSH1 0 PUSH1 0x20 PUSH2 20000 STATICCALL \
         PUSH32 0xff00000000000000000000000000000000000000000000000000000000000000 PUSH1 0 MSTORE \
         PUSH1 0 PUSH1 0 PUSH1 32 PUSH1 0 PUSH1 0x20 PUSH2 50000 DELEGATECALL \
         RETURNDATASIZE PUSH1 128 MSTORE \
         PUSH10 0x602a60005260206000f3 PUSH1 0 MSTORE PUSH1 10 PUSH1 22 PUSH1 0 CREATE \
         PUSH1 160 MSTORE \
         PUSH1 192 PUSH1 0 RETURN",
    )
    .unwrap();
    for rev in [Revision::Petersburg, Revision::Berlin, Revision::Cancun] {
        let out = check(
            &jit,
            &Case {
                rev,
                ..Case::new(&code)
            },
        );
        assert_eq!(
            out.result.status,
            StatusCode::Success,
            "{rev:?}: {:#?}",
            out.effects
        );
        assert!(out.effects.len() >= 4, "{rev:?}: {:?}", out.effects);
    }
    // The callee and the init code ran compiled as well.
    let s = jit.stats();
    assert!(s.native_runs > 3 && s.compiled >= 3, "{s:?}");
}

#[test]
fn host_and_environment_instructions() {
    let jit = jit();
    let code = assemble(
        "ADDRESS BALANCE PUSH1 0x20 EXTCODESIZE PUSH1 0x20 EXTCODEHASH ORIGIN CALLER CALLVALUE \
         CALLDATASIZE CODESIZE GASPRICE COINBASE TIMESTAMP NUMBER PREVRANDAO GASLIMIT CHAINID \
         SELFBALANCE BASEFEE BLOBBASEFEE PUSH0 BLOBHASH PUSH2 1233 BLOCKHASH MSIZE \
         PUSH1 0 CALLDATALOAD \
         PUSH1 0 MSTORE PUSH1 1 PUSH1 2 PUSH1 3 PUSH1 4 PUSH1 64 PUSH1 0 LOG4 \
         PUSH1 9 PUSH1 8 TSTORE PUSH1 8 TLOAD \
         PUSH1 40 PUSH1 0 KECCAK256 \
         PUSH1 10 PUSH1 0 PUSH1 100 CALLDATACOPY PUSH1 10 PUSH1 3 PUSH1 140 CODECOPY \
         PUSH1 20 PUSH1 0 PUSH1 150 PUSH1 0x20 EXTCODECOPY PUSH1 32 PUSH1 0 PUSH1 200 MCOPY \
         PUSH1 1 PUSH1 0x22 SLOAD PUSH1 5 EXP PUSH1 7 PUSH1 3 ADDMOD PUSH1 0 SIGNEXTEND CLZ \
         PUSH1 0xaa SELFDESTRUCT",
    )
    .unwrap();
    let input = [0x5au8; 40];
    let out = check(
        &jit,
        &Case {
            input: &input,
            ..Case::new(&code)
        },
    );
    assert_eq!(out.result.status, StatusCode::Success);
    assert!(out.effects.len() >= 3);
    // The same program in static mode stops at the first state change.
    let out = check(
        &jit,
        &Case {
            input: &input,
            flags: FLAG_STATIC,
            ..Case::new(&code)
        },
    );
    assert_eq!(out.result.status, StatusCode::StaticModeViolation);
}

#[test]
fn refunds_and_reverts_agree() {
    let jit = jit();
    // Clearing a set slot earns a refund; REVERT returns data and keeps gas.
    let clear = assemble("PUSH1 0 PUSH1 1 SSTORE PUSH1 0 PUSH32 0x2222222222222222222222222222222222222222222222222222222222222222 SSTORE STOP").unwrap();
    for rev in [Revision::Istanbul, Revision::London, Revision::Osaka] {
        let out = check(
            &jit,
            &Case {
                rev,
                ..Case::new(&clear)
            },
        );
        assert!(out.result.gas_refund > 0, "{rev:?}");
    }
    let revert = assemble("PUSH1 7 PUSH1 0 MSTORE PUSH1 32 PUSH1 0 REVERT").unwrap();
    let out = check(&jit, &Case::new(&revert));
    assert_eq!(out.result.status, StatusCode::Revert);
    assert!(out.result.gas_left > 0);
}
