//! Interpreter behaviour per opcode family. Expected gas is worked out by hand from the
//! yellow paper and the EIPs named in each test.

mod common;

use common::*;
use ember_evm::Revision::*;
use ember_evm::*;

const G: i64 = 1_000_000;

#[test]
fn arithmetic_results_and_gas() {
    // PUSH1 5 PUSH1 3 SUB -> 3 - 5 wraps; gas 3 + 3 + 3.
    let r = run(Cancun, &format!("PUSH1 5 PUSH1 3 SUB {RET_TOP}"), G);
    assert_eq!(r.status, StatusCode::Success);
    assert_eq!(out_word(&r), U256::from(2).wrapping_neg());
    assert_eq!(used(&r, G), 9 + RET_TOP_GAS);

    // PUSH1 7 PUSH1 3 PUSH1 10 MULMOD: (10*3) % 7 = 2; gas 3*3 + 8.
    let r = run(
        Cancun,
        &format!("PUSH1 7 PUSH1 3 PUSH1 16 MULMOD {RET_TOP}"),
        G,
    );
    assert_eq!(out_word(&r), U256::from((0x10 * 3) % 7));
    assert_eq!(used(&r, G), 9 + 8 + RET_TOP_GAS);

    // SDIV -8 / 2 = -4: PUSH1 2, PUSH32 -8, SDIV.
    let minus8 = format!("PUSH32 0x{}f8", "ff".repeat(31));
    let r = run(Cancun, &format!("PUSH1 2 {minus8} SDIV {RET_TOP}"), G);
    assert_eq!(out_word(&r), U256::from(4).wrapping_neg());
}

#[test]
fn push_immediates_of_every_width() {
    // PUSHn of the bytes 0xa1, 0xa2, ...: every limb boundary, and immediates followed by
    // nonzero code (the ADD and the return sequence), which must not leak into the value.
    for n in 1..=32usize {
        let bytes: Vec<u8> = (0..n as u8).map(|i| 0xa1 + i).collect();
        let code = format!("PUSH1 0 PUSH{n} 0x{} ADD {RET_TOP}", to_hex(&bytes));
        let r = run(Cancun, &code, G);
        assert_eq!(r.status, StatusCode::Success, "PUSH{n}");
        assert_eq!(out_word(&r), U256::from_be_slice(&bytes), "PUSH{n}");
        assert_eq!(used(&r, G), 9 + RET_TOP_GAS, "PUSH{n}");
    }
}

#[test]
fn equality_and_zero_tests_see_every_limb() {
    // Words that differ only in one limb are unequal; each limb decides ISZERO.
    for limb in 0..4 {
        let mut bytes = [0u8; 32];
        bytes[31 - 8 * limb] = 1;
        let word = format!("PUSH32 0x{}", to_hex(&bytes));
        let r = run(Cancun, &format!("{word} PUSH1 0 EQ {RET_TOP}"), G);
        assert_eq!(out_word(&r), U256::ZERO, "EQ, limb {limb}");
        let r = run(Cancun, &format!("{word} {word} EQ {RET_TOP}"), G);
        assert_eq!(out_word(&r), U256::from(1), "EQ of a word with itself");
        let r = run(Cancun, &format!("{word} ISZERO {RET_TOP}"), G);
        assert_eq!(out_word(&r), U256::ZERO, "ISZERO, limb {limb}");
    }
    let r = run(Cancun, &format!("PUSH1 0 ISZERO {RET_TOP}"), G);
    assert_eq!(out_word(&r), U256::from(1));
}

#[test]
fn exp_charges_per_exponent_byte_by_revision() {
    // PUSH2 0x0100 PUSH1 2 EXP: exponent 256 has 2 bytes.
    let code = "PUSH2 0x0100 PUSH1 2 EXP STOP";
    let r = run(Frontier, code, G);
    assert_eq!(used(&r, G), 3 + 3 + 10 + 2 * 10);
    let r = run(SpuriousDragon, code, G);
    assert_eq!(used(&r, G), 3 + 3 + 10 + 2 * 50, "EIP-160");
}

#[test]
fn memory_expansion_is_quadratic() {
    // PUSH1 1 PUSH2 1000 MSTORE: bytes up to 1032 = 33 words: 3*33 + 33*33/512 = 99 + 2.
    let r = run(Cancun, "PUSH1 1 PUSH2 0x03e8 MSTORE STOP", G);
    assert_eq!(used(&r, G), 3 + 3 + 3 + 101);
    // MSIZE after it: PUSH1 1 PUSH2 1000 MSTORE MSIZE -> 33 * 32.
    let r = run(
        Cancun,
        &format!("PUSH1 1 PUSH2 0x03e8 MSTORE MSIZE {RET_TOP}"),
        G,
    );
    assert_eq!(out_word(&r), U256::from(33 * 32));
    // An offset beyond 2^32 is out of gas, and all gas is gone.
    let r = run(Cancun, "PUSH1 1 PUSH5 0xffffffffff MSTORE STOP", G);
    assert_eq!(r.status, StatusCode::OutOfGas);
    assert_eq!(r.gas_left, 0);
}

#[test]
fn undefined_opcodes_depend_on_revision() {
    // PUSH0 STOP.
    assert_eq!(
        run(Paris, "PUSH0 STOP", G).status,
        StatusCode::UndefinedInstruction
    );
    let r = run(Shanghai, "PUSH0 STOP", G);
    assert_eq!(r.status, StatusCode::Success);
    assert_eq!(used(&r, G), 2);
    // CLZ exists from Osaka (EIP-7939): CLZ(1) = 255, gas 5.
    assert_eq!(
        run(Prague, "PUSH1 1 CLZ STOP", G).status,
        StatusCode::UndefinedInstruction
    );
    let r = run(Osaka, &format!("PUSH1 1 CLZ {RET_TOP}"), G);
    assert_eq!(out_word(&r), U256::from(255));
    assert_eq!(used(&r, G), 3 + 5 + RET_TOP_GAS);
    // 0xfe is the designated invalid instruction, 0x0c is undefined.
    assert_eq!(
        run(Frontier, "INVALID", G).status,
        StatusCode::InvalidInstruction
    );
    assert_eq!(
        run(Osaka, "0x0c", G).status,
        StatusCode::UndefinedInstruction
    );
    // SHL from Constantinople.
    assert_eq!(
        run(Byzantium, "PUSH1 1 PUSH1 1 SHL STOP", G).status,
        StatusCode::UndefinedInstruction
    );
    assert_eq!(
        run(Constantinople, "PUSH1 1 PUSH1 1 SHL STOP", G).status,
        StatusCode::Success
    );
}

/// The opcodes undefined at every revision, which the interpreter's dispatch treats as
/// unreachable: the table check and the segment analysis must stop each of them wherever it
/// sits.
const NEVER_DEFINED: [std::ops::RangeInclusive<u8>; 7] = [
    0x0c..=0x0f,
    0x1f..=0x1f,
    0x21..=0x2f,
    0x4b..=0x4f,
    0xa5..=0xef,
    0xf6..=0xf9,
    0xfb..=0xfc,
];

#[test]
fn undefined_opcodes_halt_wherever_they_sit() {
    let deep = "PUSH1 1 ".repeat(300);
    for op in NEVER_DEFINED.into_iter().flatten() {
        let op = format!("{op:#04x}");
        let programs = [
            // The entry segment, empty stack.
            op.clone(),
            // Behind a deep stack, which meets the table's `min_stack` of 255.
            format!("{deep}{op}"),
            // At a JUMPDEST's segment, reached by a jump.
            format!("PUSH1 4 JUMP INVALID JUMPDEST {op}"),
            // In the segment after one that ends (GAS ends a segment).
            format!("GAS POP {op}"),
            // The same after a JUMPI that falls through.
            format!("PUSH0 PUSH1 0 JUMPI {op}"),
        ];
        for rev in [Frontier, Cancun, Osaka] {
            for src in &programs {
                let r = run(rev, src, G);
                assert_eq!(
                    r.status,
                    StatusCode::UndefinedInstruction,
                    "{src} at {rev:?}"
                );
                assert_eq!(r.gas_left, 0, "{src} at {rev:?}");
            }
        }
    }
}

#[test]
fn stack_limits() {
    assert_eq!(run(Cancun, "ADD", G).status, StatusCode::StackUnderflow);
    // 1024 pushes fit, the 1025th overflows: JUMPDEST PUSH0 PUSH1 0 JUMP loop.
    let r = run(Cancun, "JUMPDEST PUSH0 PUSH1 0 JUMP", G);
    assert_eq!(r.status, StatusCode::StackOverflow);
    assert_eq!(r.gas_left, 0);
    // DUP16 needs 16 items.
    assert_eq!(
        run(Cancun, &format!("{} DUP16 STOP", "PUSH0 ".repeat(15)), G).status,
        StatusCode::StackUnderflow
    );
    assert_eq!(
        run(Cancun, &format!("{} DUP16 STOP", "PUSH0 ".repeat(16)), G).status,
        StatusCode::Success
    );
}

#[test]
fn jumps_only_to_jumpdests_outside_push_data() {
    // PUSH1 4 JUMP INVALID JUMPDEST STOP
    let r = run(Cancun, "PUSH1 4 JUMP INVALID JUMPDEST STOP", G);
    assert_eq!(r.status, StatusCode::Success);
    assert_eq!(used(&r, G), 3 + 8 + 1);
    // PUSH1 4 JUMP PUSH1 0x5b: target 4 is PUSH data.
    assert_eq!(
        run(Cancun, "PUSH1 4 JUMP PUSH1 91", G).status,
        StatusCode::BadJumpDestination
    );
    // JUMPI not taken falls through: PUSH1 0 PUSH1 0xff JUMPI STOP.
    let r = run(Cancun, "PUSH1 0 PUSH1 0xff JUMPI STOP", G);
    assert_eq!(r.status, StatusCode::Success);
    assert_eq!(used(&r, G), 3 + 3 + 10);
    // A huge destination is bad, not a panic.
    assert_eq!(
        run(Cancun, &format!("PUSH32 0x{} JUMP", "ff".repeat(32)), G).status,
        StatusCode::BadJumpDestination
    );
}

#[test]
fn out_of_gas_consumes_everything() {
    let r = run(Cancun, "PUSH1 1 PUSH1 1 ADD", 8);
    assert_eq!(r.status, StatusCode::OutOfGas);
    assert_eq!(r.gas_left, 0);
    let r = run(Cancun, "PUSH1 1 PUSH1 1 ADD", 9);
    assert_eq!(r.status, StatusCode::Success);
    assert_eq!(r.gas_left, 0);
}

#[test]
fn revert_keeps_gas_and_output_but_no_refund() {
    // PUSH1 0x2a PUSH1 0 MSTORE PUSH1 32 PUSH1 0 REVERT
    let r = run(Cancun, "PUSH1 42 PUSH1 0 MSTORE PUSH1 32 PUSH1 0 REVERT", G);
    assert_eq!(r.status, StatusCode::Revert);
    assert_eq!(out_word(&r), U256::from(42));
    assert_eq!(used(&r, G), 3 + 3 + 6 + 3 + 3);
    assert_eq!(r.gas_refund, 0);
}

#[test]
fn sload_and_sstore_gas_by_revision() {
    let a = addr(CONTRACT);
    // PUSH1 1 PUSH1 0 SSTORE: 0 -> 1 on a clean slot (ADDED).
    let code = "PUSH1 1 PUSH1 0 SSTORE";
    for (rev, gas) in [
        (Frontier, 20000),
        (Petersburg, 20000),
        (Istanbul, 20000),
        (Berlin, 20000 + 2100),
        (Cancun, 20000 + 2100),
    ] {
        let mut h = host();
        let r = run_with(&mut h, rev, code, G, 0);
        assert_eq!(used(&r, G), 6 + gas, "{rev}");
        assert_eq!(h.slot(a, word(0)), word(1));
    }
    // Berlin: SLOAD cold 2100, then warm 100. PUSH1 0 SLOAD PUSH1 0 SLOAD.
    let r = run(Berlin, "PUSH1 0 SLOAD PUSH1 0 SLOAD STOP STOP", G);
    assert_eq!(used(&r, G), 3 + 2100 + 3 + 100);
    assert_eq!(
        used(
            &run(Istanbul, "PUSH1 0 SLOAD PUSH1 0 SLOAD STOP STOP", G),
            G
        ),
        3 + 800 + 3 + 800
    );
    // Clearing a slot refunds: 5 -> 0 at London: 2900 + 2100 cold, refund 4800.
    let mut h = host().with_slot(a, 0, 5);
    let r = run_with(&mut h, London, "PUSH1 0 PUSH1 0 SSTORE", G, 0);
    assert_eq!(used(&r, G), 6 + 2900 + 2100);
    assert_eq!(r.gas_refund, 4800);
    // Same at Berlin refunds 15000.
    let mut h = host().with_slot(a, 0, 5);
    assert_eq!(
        run_with(&mut h, Berlin, "PUSH1 0 PUSH1 0 SSTORE", G, 0).gas_refund,
        15000
    );
    // 1 -> 2 -> 1 restores: Istanbul refund 5000 - 800 = 4200, and each write costs 5000/800.
    let mut h = host().with_slot(a, 0, 1);
    let r = run_with(
        &mut h,
        Istanbul,
        "PUSH1 2 PUSH1 0 SSTORE PUSH1 1 PUSH1 0 SSTORE",
        G,
        0,
    );
    assert_eq!(used(&r, G), 12 + 5000 + 800);
    assert_eq!(r.gas_refund, 4200);
}

#[test]
fn sstore_needs_more_than_the_stipend_from_istanbul() {
    // With 2306 gas, after two pushes 2300 remain: EIP-2200 sentry fails.
    let r = run(Istanbul, "PUSH1 1 PUSH1 0 SSTORE", 2306);
    assert_eq!(r.status, StatusCode::OutOfGas);
    // Before Istanbul the same write is just out of gas for the 20000 it costs.
    assert_eq!(
        run(Petersburg, "PUSH1 1 PUSH1 0 SSTORE", 2306).status,
        StatusCode::OutOfGas
    );
    // Istanbul, assigning the same value costs 800 and passes the sentry with 2301 left.
    let r = run(Istanbul, "PUSH1 0 PUSH1 0 SSTORE", 2307);
    assert_eq!(r.status, StatusCode::Success);
    assert_eq!(r.gas_left, 2301 - 800);
}

#[test]
fn state_changes_are_static_mode_violations() {
    for code in [
        "PUSH1 1 PUSH1 0 SSTORE",
        "PUSH1 0 PUSH1 0 TSTORE",
        "PUSH1 0 PUSH1 0 LOG0",
        "PUSH1 0 PUSH1 0 PUSH1 0 PUSH1 0 CREATE",
        "PUSH1 0 SELFDESTRUCT",
    ] {
        let r = run_with(&mut host(), Cancun, code, G, FLAG_STATIC);
        assert_eq!(r.status, StatusCode::StaticModeViolation, "{code}");
        assert_eq!(r.gas_left, 0);
    }
    // CALL with value in static mode too, but without value it is allowed.
    let call = |v: u8| {
        format!("PUSH1 0 PUSH1 0 PUSH1 0 PUSH1 0 PUSH1 {v} PUSH1 0xcc PUSH2 0xffff CALL STOP")
    };
    let r = run_with(&mut host(), Cancun, &call(1), G, FLAG_STATIC);
    assert_eq!(r.status, StatusCode::StaticModeViolation);
    let r = run_with(&mut host(), Cancun, &call(0), G, FLAG_STATIC);
    assert_eq!(r.status, StatusCode::Success);
}

#[test]
fn call_gas_cold_value_new_account_and_63_64() {
    // CALL(gas=0xffff, to=0xcc, value=1, in 0/0, out 0/0) at Berlin, contract has balance.
    // PUSH1 0 x4, PUSH1 1, PUSH1 0xcc, PUSH2 0xffff, CALL, STOP.
    let code = "PUSH1 0 PUSH1 0 PUSH1 0 PUSH1 0 PUSH1 1 PUSH1 0xcc PUSH2 0xffff CALL STOP";
    let mut h = host().with_balance(addr(CONTRACT), 10);
    let r = run_with(&mut h, Berlin, code, G, 0);
    assert_eq!(r.status, StatusCode::Success);
    let pushes = 7 * 3;
    // Static 100, cold +2500, value 9000, new account 25000; the callee gets 0xffff + 2300
    // and returns all of it, so the caller even gains the 2300 stipend back.
    assert_eq!(used(&r, G), pushes + 100 + 2500 + 9000 + 25000 - 2300);
    let c = &h.calls()[0];
    assert_eq!(c.gas, 0xffff + 2300, "requested gas plus stipend");
    assert_eq!(c.value, U256::from(1));
    assert_eq!(c.depth, 1, "depth");

    // All but one 64th: DELEGATECALL(gas=GAS, to=0xcc, 0, 0, 0, 0) asks for more than it
    // may pass on. Before the call: 4 pushes + PUSH1 0xcc + GAS = 4*3 + 3 + 2.
    let gas = 100_000;
    let mut h2 = host();
    let r = run_with(
        &mut h2,
        Cancun,
        "PUSH1 0 PUSH1 0 PUSH1 0 PUSH1 0 PUSH1 0xcc GAS DELEGATECALL STOP",
        gas,
        0,
    );
    let before_call = gas - (4 * 3 + 3 + 2) - 100 - 2500;
    let expected = before_call - before_call / 64;
    assert_eq!(h2.calls()[0].gas, expected);
    assert_eq!(h2.calls()[0].kind, CallKind::DelegateCall);
    assert_eq!(
        h2.calls()[0].recipient,
        addr(CONTRACT),
        "delegatecall keeps the recipient"
    );
    assert_eq!(r.status, StatusCode::Success);
}

#[test]
fn call_before_tangerine_whistle_requires_full_gas() {
    // Frontier: CALL(gas=2^32) with little gas left is out of gas (no 63/64 cap).
    let code = "PUSH1 0 PUSH1 0 PUSH1 0 PUSH1 0 PUSH1 0 PUSH1 0xcc PUSH5 0x0100000000 CALL STOP";
    let r = run(Frontier, code, 100_000);
    assert_eq!(r.status, StatusCode::OutOfGas);
    // Frontier CALL to a non-existent account always pays 25000 (no value needed).
    let mut h = host();
    let r = run_with(
        &mut h,
        Frontier,
        "PUSH1 0 PUSH1 0 PUSH1 0 PUSH1 0 PUSH1 0 PUSH1 0xcc PUSH2 0xffff CALL STOP",
        G,
        0,
    );
    assert_eq!(used(&r, G), 7 * 3 + 40 + 25000);
}

#[test]
fn calls_at_max_depth_and_without_balance_fail_lightly() {
    // Value 1 with zero balance: pushes 0, keeps the stipend, no host call.
    let mut h = host();
    let r = run_with(
        &mut h,
        Cancun,
        &format!("PUSH1 0 PUSH1 0 PUSH1 0 PUSH1 0 PUSH1 1 PUSH1 0xcc PUSH2 0xffff CALL {RET_TOP}"),
        G,
        0,
    );
    assert_eq!(out_word(&r), U256::ZERO);
    assert!(h.calls().is_empty());
    // Charged 100 + 2500 + 9000 + 25000 - 2300 returned stipend.
    assert_eq!(
        used(&r, G),
        7 * 3 + 100 + 2500 + 9000 + 25000 - 2300 + RET_TOP_GAS
    );
}

#[test]
fn eip7702_delegation_is_followed_by_calls_from_prague() {
    let designator = delegation_designator(&addr(0xdd));
    let code = "PUSH1 0 PUSH1 0 PUSH1 0 PUSH1 0 PUSH1 0 PUSH1 0xcc PUSH2 0xffff CALL STOP";
    let mut h = host().with_code(addr(0xcc), &designator);
    let r = run_with(&mut h, Prague, code, G, 0);
    assert_eq!(r.status, StatusCode::Success);
    let c = &h.calls()[0];
    assert_eq!(c.code_address, addr(0xdd), "code address is the delegate");
    assert_eq!(
        c.recipient,
        addr(0xcc),
        "recipient stays the delegating account"
    );
    assert_eq!(c.flags & FLAG_DELEGATED, FLAG_DELEGATED);
    // Cold target 2600 plus cold delegate 2600.
    assert_eq!(used(&r, G), 7 * 3 + 100 + 2500 + 2600);

    let mut h = host().with_code(addr(0xcc), &designator);
    let r = run_with(&mut h, Cancun, code, G, 0);
    assert_eq!(h.calls()[0].code_address, addr(0xcc));
    assert_eq!(h.calls()[0].flags & FLAG_DELEGATED, 0);
    // Before Prague the designator is just code starting with 0xef: the call fails and its
    // 0xffff gas is gone.
    assert_eq!(used(&r, G), 7 * 3 + 100 + 2500 + 0xffff);
}

#[test]
fn eip7702_code_longer_than_a_designator_is_not_followed() {
    // 24 bytes that start with a designator are ordinary code: the call runs it (and fails on
    // the 0xef), without a second account access for a delegate.
    let mut code = delegation_designator(&addr(0xdd)).to_vec();
    code.push(0);
    let call = "PUSH1 0 PUSH1 0 PUSH1 0 PUSH1 0 PUSH1 0 PUSH1 0xcc PUSH2 0xffff CALL STOP";
    let mut h = host().with_code(addr(0xcc), &code);
    let r = run_with(&mut h, Prague, call, G, 0);
    assert_eq!(h.calls()[0].code_address, addr(0xcc));
    assert_eq!(h.calls()[0].flags & FLAG_DELEGATED, 0);
    assert_eq!(used(&r, G), 7 * 3 + 100 + 2500 + 0xffff);
}

#[test]
fn create_and_create2_charge_initcode_words() {
    // CREATE2(value 0, offset 0, size 64, salt 0): PUSH1 0 PUSH1 64 PUSH1 0 PUSH1 0 CREATE2.
    let code = format!("PUSH1 0 PUSH1 64 PUSH1 0 PUSH1 0 CREATE2 {RET_TOP}");
    let mut h = host();
    let gas = 200_000;
    let r = run_with(&mut h, Shanghai, &code, gas, 0);
    assert_eq!(r.status, StatusCode::Success);
    let created = h.calls()[0].result.create_address.expect("created");
    assert_eq!(out_word(&r), created.to_word());
    // 4 pushes, 32000, memory 2 words = 6, hashing 6*2 + EIP-3860 2*2; the callee (init code of zeros: STOP) returns
    // all gas. RET_TOP then writes memory already expanded: 15 - 3.
    assert_eq!(used(&r, gas), 12 + 32000 + 6 + 12 + 4 + RET_TOP_GAS - 3);
    let sent = h.calls()[0].gas;
    let avail = gas - (12 + 32000 + 6 + 12 + 4);
    assert_eq!(sent, avail - avail / 64);
    // Before Shanghai there is no initcode word cost.
    let mut h = host();
    let r = run_with(&mut h, Paris, &code, gas, 0);
    assert_eq!(used(&r, gas), 12 + 32000 + 6 + 12 + RET_TOP_GAS - 3);
    // EIP-3860: initcode over 49152 bytes is out of gas. PUSH1 0 PUSH3 0xc001 PUSH1 0 CREATE.
    let r = run(Shanghai, "PUSH3 0x00c001 PUSH1 0 PUSH1 0 CREATE STOP", G);
    assert_eq!(r.status, StatusCode::OutOfGas);
}

#[test]
fn returndata_bounds_are_checked() {
    // RETURNDATACOPY(0, 0, 1) with no return data.
    let r = run(Cancun, "PUSH1 1 PUSH1 0 PUSH1 0 RETURNDATACOPY STOP", G);
    assert_eq!(r.status, StatusCode::InvalidMemoryAccess);
    assert_eq!(
        run(Cancun, "PUSH1 0 PUSH1 0 PUSH1 0 RETURNDATACOPY STOP", G).status,
        StatusCode::Success
    );
}

#[test]
fn logs_transient_storage_and_mcopy() {
    // MSTORE 0x2a at 0; LOG2(offset 31, size 1, topics 7, 8).
    let mut h = host();
    let r = run_with(
        &mut h,
        Cancun,
        "PUSH1 42 PUSH1 0 MSTORE PUSH1 8 PUSH1 7 PUSH1 1 PUSH1 31 LOG2 STOP",
        G,
        0,
    );
    // PUSH1 2a, PUSH1 0, MSTORE (3 + 3 mem), PUSH1 8, PUSH1 7, PUSH1 1, PUSH1 1f, LOG2
    assert_eq!(r.status, StatusCode::Success);
    assert_eq!(h.logs().len(), 1);
    assert_eq!(h.logs()[0].1, [0x2a]);
    assert_eq!(h.logs()[0].2, [word(7), word(8)]);
    assert_eq!(used(&r, G), 3 + 3 + 6 + 4 * 3 + 375 * 3 + 8);

    // TSTORE(1, 5) TLOAD(1): 100 each.
    let r = run(
        Cancun,
        &format!("PUSH1 5 PUSH1 1 TSTORE PUSH1 1 TLOAD {RET_TOP}"),
        G,
    );
    assert_eq!(out_word(&r), U256::from(5));
    assert_eq!(used(&r, G), 3 + 3 + 100 + 3 + 100 + RET_TOP_GAS);

    // MSTORE 0x2a at 0, MCOPY(dst 32, src 0, size 32), MLOAD 32.
    let r = run(
        Cancun,
        &format!(
            "PUSH1 42 PUSH1 0 MSTORE PUSH1 32 PUSH1 0 PUSH1 32 MCOPY PUSH1 32 MLOAD {RET_TOP}"
        ),
        G,
    );
    assert_eq!(out_word(&r), U256::from(42));
    // MSTORE (3+3 mem) MCOPY 3 + copy 3 + 1 more word memory 3; MLOAD 3; RET_TOP without mem.
    assert_eq!(used(&r, G), 6 + 6 + 9 + 3 + 3 + 3 + 3 + 3 + RET_TOP_GAS - 3);
}

#[test]
fn selfdestruct_gas_and_refund_by_revision() {
    // SELFDESTRUCT(0xcc) where 0xcc does not exist and the contract has balance.
    let mut h = host().with_balance(addr(CONTRACT), 1);
    let r = run_with(&mut h, Frontier, "PUSH1 0xcc SELFDESTRUCT", G, 0);
    assert_eq!(used(&r, G), 3);
    assert_eq!(r.gas_refund, 24000);
    let mut h = host().with_balance(addr(CONTRACT), 1);
    let r = run_with(&mut h, TangerineWhistle, "PUSH1 0xcc SELFDESTRUCT", G, 0);
    assert_eq!(used(&r, G), 3 + 5000 + 25000);
    let mut h = host();
    let r = run_with(&mut h, SpuriousDragon, "PUSH1 0xcc SELFDESTRUCT", G, 0);
    assert_eq!(
        used(&r, G),
        3 + 5000,
        "no balance, no new-account cost (EIP-161)"
    );
    let mut h = host().with_balance(addr(CONTRACT), 1);
    let r = run_with(&mut h, London, "PUSH1 0xcc SELFDESTRUCT", G, 0);
    assert_eq!(used(&r, G), 3 + 5000 + 2600 + 25000);
    assert_eq!(r.gas_refund, 0, "EIP-3529 removed the refund");
    assert_eq!(
        h.effects,
        [Effect::SelfDestruct {
            addr: addr(CONTRACT),
            beneficiary: addr(0xcc)
        }]
    );
}

#[test]
fn block_context_and_blockhash_window() {
    let mut h = host();
    h.tx.block_number = 300;
    h.tx.chain_id = U256::from(5);
    h.tx.blob_hashes = vec![word(0x77)];
    // BLOCKHASH(299) is visible, 44 (= 300 - 256) is visible, 43 and 300 are not.
    for (n, visible) in [(299u64, true), (44, true), (43, false), (300, false)] {
        let r = run_with(
            &mut h,
            Cancun,
            &format!("PUSH2 {n} BLOCKHASH {RET_TOP}"),
            G,
            0,
        );
        let want = if visible {
            keccak256(&(n as i64).to_be_bytes()).to_word()
        } else {
            U256::ZERO
        };
        assert_eq!(out_word(&r), want, "block {n}");
    }
    assert_eq!(
        out_word(&run_with(
            &mut h,
            Cancun,
            &format!("CHAINID {RET_TOP}"),
            G,
            0
        )),
        U256::from(5)
    );
    assert_eq!(
        out_word(&run_with(
            &mut h,
            Cancun,
            &format!("PUSH1 0 BLOBHASH {RET_TOP}"),
            G,
            0
        )),
        word(0x77).to_word()
    );
    assert_eq!(
        out_word(&run_with(
            &mut h,
            Cancun,
            &format!("PUSH1 1 BLOBHASH {RET_TOP}"),
            G,
            0
        )),
        U256::ZERO
    );
}

#[test]
fn balance_and_extcode_warm_cold() {
    let mut h = host()
        .with_balance(addr(0xcc), 77)
        .with_code(addr(0xcc), &[0x60, 0x01]);
    // BALANCE(0xcc) twice: 2600 then 100.
    let r = run_with(
        &mut h,
        Berlin,
        "PUSH1 0xcc BALANCE PUSH1 0xcc BALANCE POP STOP",
        G,
        0,
    );
    assert_eq!(used(&r, G), 3 + 2600 + 3 + 100 + 2);
    // Istanbul: 700 each, no warmth.
    let r = run_with(
        &mut h,
        Istanbul,
        "PUSH1 0xcc BALANCE PUSH1 0xcc BALANCE POP STOP",
        G,
        0,
    );
    assert_eq!(used(&r, G), 3 + 700 + 3 + 700 + 2);
    // EXTCODESIZE and EXTCODECOPY of 2 bytes, zero padded to 4.
    let r = run_with(
        &mut h,
        Cancun,
        &format!("PUSH1 0xcc EXTCODESIZE {RET_TOP}"),
        G,
        0,
    );
    assert_eq!(out_word(&r), U256::from(2));
    let r = run_with(
        &mut h,
        Cancun,
        "PUSH1 4 PUSH1 0 PUSH1 0 PUSH1 0xcc EXTCODECOPY PUSH1 32 PUSH1 0 RETURN",
        G,
        0,
    );
    assert_eq!(&r.output[..4], &[0x60, 0x01, 0, 0]);
}

#[test]
fn calldata_and_code_copy_pad_with_zeros() {
    // CODECOPY(0, 0, 40) of 8-byte code, return 40 bytes.
    let r = run(
        Cancun,
        "PUSH1 40 PUSH1 0 PUSH1 0 CODECOPY PUSH1 40 PUSH1 0 RETURN",
        G,
    );
    assert_eq!(r.output.len(), 40);
    assert_eq!(&r.output[..3], &[0x60, 0x28, 0x60]);
    assert!(r.output[12..].iter().all(|&b| b == 0));
    // CALLDATALOAD past the end is zero.
    let r = run(Cancun, &format!("PUSH1 0xff CALLDATALOAD {RET_TOP}"), G);
    assert_eq!(out_word(&r), U256::ZERO);
}

#[test]
fn gas_opcode_sees_gas_after_its_own_cost() {
    let r = run(Cancun, &format!("GAS {RET_TOP}"), 1000);
    assert_eq!(out_word(&r), U256::from(1000 - 2));
}

#[test]
fn nested_calls_recurse_to_depth_1024_without_native_overflow() {
    // Contract 0xcc calls itself with all gas until the depth limit, then returns.
    // 0: PUSH1 0 x4, PUSH1 0 (value), ADDRESS, GAS, CALL, STOP.
    let code = asm("PUSH1 0 PUSH1 0 PUSH1 0 PUSH1 0 PUSH1 0 ADDRESS GAS CALL STOP");
    let handle = std::thread::Builder::new()
        // 8 MiB, the usual main-thread stack, suffices for optimised builds (about 2.5 KiB
        // per level with the recording host); unoptimised frames are several times larger.
        .stack_size(if cfg!(debug_assertions) {
            64 << 20
        } else {
            8 << 20
        })
        .spawn(move || {
            let mut h = RecordingHost::new(&Interpreter, Cancun).with_code(addr(0xcc), &code);
            let msg = Message::call(addr(1), addr(0xcc), &[], i64::MAX / 4);
            let r = execute(&mut h, Cancun, &msg, &code);
            (
                r.status,
                h.calls().len(),
                h.calls().iter().map(|c| c.depth).max(),
            )
        })
        .unwrap();
    let (status, calls, max_depth) = handle.join().expect("no native stack overflow");
    assert_eq!(status, StatusCode::Success);
    assert_eq!(calls, 1024);
    assert_eq!(max_depth, Some(1024));
}

struct CountingTracer(std::rc::Rc<std::cell::RefCell<Vec<(usize, u8, i64)>>>);
impl Tracer for CountingTracer {
    fn step(&mut self, s: &TraceStep<'_>) {
        self.0.borrow_mut().push((s.pc, s.op, s.gas));
    }
    fn frame_end(&mut self, _: i32, _: i64, _: &ExecResult) {}
}

#[test]
fn tracer_sees_every_instruction_with_gas_before_it() {
    let steps = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let mut h = host();
    h.set_tracer(Box::new(CountingTracer(steps.clone())));
    let r = run_with(&mut h, Cancun, "PUSH1 1 PUSH1 2 ADD", 100, 0);
    assert_eq!(r.gas_left, 91);
    assert_eq!(
        *steps.borrow(),
        vec![(0, 0x60, 100), (2, 0x60, 97), (4, 0x01, 94), (5, 0x00, 91)]
    );
}

#[test]
fn resuming_a_frame_at_a_block_matches_running_it_whole() {
    // PUSH1 3 PUSH1 9 JUMP, four INVALIDs, 9: JUMPDEST PUSH1 4 ADD RET_TOP
    let code = asm(&format!(
        "PUSH1 3 PUSH1 9 JUMP INVALID INVALID INVALID INVALID JUMPDEST PUSH1 4 ADD {RET_TOP}"
    ));
    let msg = Message::call(addr(CALLER), addr(CONTRACT), &[], 1000);
    let whole = execute(&mut host(), Cancun, &msg, &code);
    let analysis = CodeAnalysis::new(&code);
    let mut frame = Frame::new(&msg, Cancun, analysis.code());
    // State at pc 9 after PUSH1 3, PUSH1 9, JUMP.
    assert!(frame.stack.set_from(&[U256::from(3)]));
    frame.gas_left = 1000 - 3 - 3 - 8;
    let resumed = execute_from(frame, &analysis, &mut host(), 9);
    assert_eq!(resumed, whole);
    assert_eq!(out_word(&whole), U256::from(7));
}

#[test]
fn execute_observed_reports_every_executed_jump_and_nothing_else() {
    use std::cell::RefCell;
    #[derive(Default)]
    struct Seen(RefCell<Vec<(usize, Option<usize>)>>);
    impl JumpObserver for Seen {
        fn taken(&self, pc: usize, target: usize) {
            self.0.borrow_mut().push((pc, Some(target)));
        }
        fn not_taken(&self, pc: usize) {
            self.0.borrow_mut().push((pc, None));
        }
    }
    // 0: PUSH1 0 (JUMPI condition)  2: PUSH1 9  4: JUMPI (not taken)  5: PUSH1 10  7: JUMP
    // 8: INVALID  9: JUMPDEST  10: JUMPDEST  11: PUSH1 1  13: PUSH1 17  15: JUMPI (taken)
    // 16: INVALID  17: JUMPDEST  18: PUSH1 99  20: JUMP (bad destination: not reported).
    let code = asm(
        "PUSH1 0 PUSH1 9 JUMPI PUSH1 10 JUMP INVALID JUMPDEST JUMPDEST PUSH1 1 PUSH1 17 JUMPI INVALID JUMPDEST PUSH1 99 JUMP",
    );
    let analysis = CodeAnalysis::new(&code);
    let mut host = RecordingHost::new(&Interpreter, Cancun);
    let msg = Message::call(addr(CALLER), addr(CONTRACT), &[], G);
    let seen = Seen::default();
    let r = execute_observed(&mut host, Cancun, &msg, &analysis, &seen);
    assert_eq!(r.status, StatusCode::BadJumpDestination);
    assert_eq!(
        seen.0.into_inner(),
        [(4, None), (7, Some(10)), (15, Some(17))]
    );
    // The same frame unobserved gives the same result.
    let plain = execute_analyzed(&mut host, Cancun, &msg, &analysis);
    assert_eq!(plain, r);
}
