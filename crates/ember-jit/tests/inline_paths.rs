//! Differential tests of the instructions compiled code runs in place rather than through the
//! interpreter's bodies: memory access and its growth, call data, message fields, EXP and its
//! gas, and the arithmetic specialised for constant operands.

mod common;

use common::{check, every_gas_limit, jit, operands, output, word};
use ember_evm::{Interpreter, Revision, StatusCode, Vm, FLAG_STATIC, U256};
use ember_jit::{JitVm, OptLevel};
use ember_testkit::{address, assemble, run, Case, CONTRACT};

/// Offsets around word boundaries, the 2^32 limit of memory offsets and far beyond it.
fn offsets() -> Vec<U256> {
    let mut v: Vec<U256> = [
        0u64, 1, 31, 32, 33, 63, 64, 95, 96, 1000, 4064, 4065, 0x1_0000,
    ]
    .iter()
    .map(|&x| U256::from(x))
    .collect();
    for big in [
        u32::MAX as u64 - 32,
        u32::MAX as u64 - 31,
        u32::MAX as u64,
        1 << 32,
        (1 << 32) + 1,
        u64::MAX,
    ] {
        v.push(U256::from(big));
    }
    v.push(U256::from(1) << 64);
    v.push(U256::from(1) << 255);
    v.push(U256::MAX);
    v
}

#[test]
fn memory_access_grows_exactly_at_every_boundary() {
    let jit = jit();
    // calldata[0..32]: where memory is first grown to (by one MSTORE8), calldata[32..64]: the
    // access under test. The whole memory is returned.
    let programs = [
        "PUSH1 32 CALLDATALOAD MLOAD PUSH1 0 MSTORE",
        "PUSH32 0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20 \
         PUSH1 32 CALLDATALOAD MSTORE",
        "PUSH2 0xabcd PUSH1 32 CALLDATALOAD MSTORE8",
    ];
    let firsts = [0u64, 31, 32, 100, 4096];
    for body in programs {
        let code = assemble(&format!(
            "PUSH1 0x77 PUSH1 0 CALLDATALOAD MSTORE8 {body} MSIZE PUSH1 0 RETURN"
        ))
        .unwrap();
        for &first in &firsts {
            let mut seconds = offsets();
            for d in [-33i64, -32, -31, -1, 0, 1, 31, 32, 33] {
                seconds.push(U256::from((first as i64 + d).max(0) as u64));
            }
            for second in seconds {
                let input = [word(U256::from(first)), word(second)].concat();
                let out = check(
                    &jit,
                    &Case {
                        input: &input,
                        ..Case::new(&code)
                    },
                );
                // Offsets of 2^32 and more can never be paid for.
                if second > U256::from(u32::MAX) {
                    assert_eq!(out.result.status, StatusCode::OutOfGas, "{body} {second}");
                }
            }
        }
    }
}

#[test]
fn unaligned_stores_read_back_byte_for_byte() {
    let jit = jit();
    // Two overlapping words and a byte, then every load between them.
    let mut src = String::from(
        "PUSH32 0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20 PUSH1 3 MSTORE \
         PUSH32 0xa1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0 PUSH1 20 MSTORE \
         PUSH1 0xee PUSH1 40 MSTORE8 ",
    );
    for off in 0..64 {
        src += &format!("PUSH1 {off} MLOAD PUSH2 {} MSTORE ", 0x100 + off * 32);
    }
    src += "MSIZE PUSH1 0 RETURN";
    let code = assemble(&src).unwrap();
    let out = check(&jit, &Case::new(&code));
    let mem = out.result.output;
    // Hand-checked: byte 3 is the first stored byte, bytes 20.. the second word, 40 the byte.
    assert_eq!(
        &mem[..24],
        &[
            0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 0xa1, 0xa2, 0xa3,
            0xa4
        ]
    );
    assert_eq!(mem[40], 0xee);
    assert_eq!(mem[51], 0xc0);
    // MLOAD at 3 (stored at 0x100 + 3 * 32) reads the 17 first bytes of the first word and
    // the 15 first of the second.
    let at3 = &mem[0x160..0x180];
    assert_eq!(&at3[..17], &(1..=17).collect::<Vec<u8>>()[..]);
    assert_eq!(at3[17], 0xa1);
}

#[test]
fn out_of_gas_exactly_at_the_expansion() {
    let jit = jit();
    let code = assemble(
        "PUSH1 7 PUSH2 0x0400 MSTORE PUSH1 1 PUSH2 0x0800 MSTORE8 PUSH2 0x0c00 MLOAD \
         PUSH2 0x0400 MLOAD ADD PUSH1 0 MSTORE MSIZE PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN",
    )
    .unwrap();
    every_gas_limit(&jit, &code, Revision::Cancun);
    // Growth inside a loop: each turn stores one word further.
    let looped = assemble(
        "PUSH1 40 :top PUSH1 1 SWAP1 SUB DUP1 DUP1 PUSH1 6 SHL MSTORE DUP1 &top JUMPI \
         MSIZE PUSH1 0 RETURN",
    )
    .unwrap();
    every_gas_limit(&jit, &looped, Revision::Cancun);
}

#[test]
fn calldataload_at_the_ends_of_the_call_data() {
    let jit = jit();
    let code = assemble("PUSH1 0 CALLDATALOAD CALLDATALOAD PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN")
        .unwrap();
    for len in [32usize, 33, 63, 64, 65, 100] {
        // The first word is the offset; the rest counts up.
        let mut input: Vec<u8> = (0..len as u32).map(|i| (i * 7 + 1) as u8).collect();
        let mut offs: Vec<U256> = (0..=len as u64 + 1).map(U256::from).collect();
        offs.extend(offsets());
        for off in offs {
            input[..32].copy_from_slice(&word(off));
            let out = check(
                &jit,
                &Case {
                    input: &input,
                    ..Case::new(&code)
                },
            );
            // Hand-computed: bytes past the end read as zero.
            let mut want = [0u8; 32];
            if off < U256::from(len) {
                let o = off.as_limbs()[0] as usize;
                let n = (len - o).min(32);
                want[..n].copy_from_slice(&input[o..o + n]);
            }
            assert_eq!(out.result.output, want, "len {len} offset {off}");
        }
    }
    // Constant offsets, and call data shorter than a word.
    let consts = assemble(
        "PUSH1 0 CALLDATALOAD PUSH1 1 CALLDATALOAD PUSH4 0xffffffff CALLDATALOAD \
         PUSH32 0x100000000 CALLDATALOAD ADD ADD ADD PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN",
    )
    .unwrap();
    for input in [&[][..], &[1u8, 2, 3][..], &[9u8; 40][..]] {
        check(
            &jit,
            &Case {
                input,
                ..Case::new(&consts)
            },
        );
    }
}

#[test]
fn message_fields_code_and_memory_sizes() {
    let jit = jit();
    let code = assemble(
        "CALLVALUE PUSH1 0 MSTORE CALLER PUSH1 32 MSTORE ADDRESS PUSH1 64 MSTORE \
         CALLDATASIZE PUSH1 96 MSTORE CODESIZE PUSH1 128 MSTORE MSIZE PUSH1 160 MSTORE \
         PUSH1 192 PUSH1 0 RETURN",
    )
    .unwrap();
    let input = [5u8; 45];
    let out = check(
        &jit,
        &Case {
            input: &input,
            ..Case::new(&code)
        },
    );
    let addr_word = |a: ember_evm::Address| {
        let mut w = [0u8; 32];
        w[12..].copy_from_slice(&a.0);
        w
    };
    let want = [
        word(U256::from(5)), // the test kit's message carries 5 wei
        addr_word(address(0xa0)),
        addr_word(address(CONTRACT)),
        word(U256::from(45)),
        word(U256::from(code.len())),
        word(U256::from(160)),
    ]
    .concat();
    assert_eq!(out.result.output, want);
}

#[test]
fn transaction_and_block_fields_are_read_in_place() {
    // Every field the frame's transaction context holds, stored in order; read twice in a
    // loop, so that the second turn finds the context the first fetched. The values are the
    // test kit's context.
    let fields = "ORIGIN GASPRICE COINBASE TIMESTAMP NUMBER PREVRANDAO GASLIMIT CHAINID BASEFEE \
                  BLOBBASEFEE";
    let mut stores = String::new();
    for i in (0..10).rev() {
        stores += &format!("PUSH2 {} MSTORE ", 32 * i);
    }
    let code = assemble(&format!(
        "PUSH1 2 :top {fields} {stores} PUSH1 1 SWAP1 SUB DUP1 &top JUMPI \
         PUSH2 320 PUSH1 0 RETURN"
    ))
    .unwrap();
    let addr_word = |n: u8| word(address(n).to_word());
    let want = [
        addr_word(0xa9),
        word(U256::from(7)),
        addr_word(0xc0),
        word(U256::from(5678)),
        word(U256::from(1234)),
        [0x42; 32],
        word(U256::from(30_000_000)),
        word(U256::from(1)),
        word(U256::from(3)),
        word(U256::from(2)),
    ]
    .concat();
    for level in [OptLevel::O0, OptLevel::O1] {
        let jit = JitVm::at_level(level);
        let out = check(&jit, &Case::new(&code));
        assert_eq!(out.result.output, want, "{level:?}");
    }
}

#[test]
fn a_host_panicking_while_the_context_is_fetched_unwinds_as_in_the_interpreter() {
    // The fetch is a builtin: it catches the panic, compiled code leaves, and the panic
    // resumes in Rust with the host's own message.
    let code = assemble("PUSH1 1 PUSH1 2 ADD TIMESTAMP ADD PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN")
        .unwrap();
    let case = Case::new(&code);
    let msg = ember_testkit::message(&case);
    let jit = JitVm::at_level(OptLevel::O0);
    for vm in [&jit as &dyn Vm, &Interpreter] {
        let mut host = ember_testkit::world(vm, &case);
        host.panic_in("get_tx_context");
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            vm.execute(&mut host, case.rev, &msg, &code, None)
        }));
        let payload = caught.expect_err("the host's panic reaches the caller");
        let text = payload
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        assert!(text.contains("get_tx_context"), "{text}");
    }
    assert!(jit.lookup(&code, case.rev, None).is_ok(), "ran compiled");
}

#[test]
fn return_data_size_before_and_after_calls() {
    // 0 before any call, 32 after the callee returned, 0 after it reverted with nothing, 0
    // after a call to an account without code, 0 after a CREATE that succeeded.
    let code = assemble(
        "RETURNDATASIZE PUSH2 256 MSTORE \
         PUSH1 0 PUSH1 0 PUSH1 32 PUSH1 0 PUSH1 0 PUSH1 0x20 GAS CALL POP \
         RETURNDATASIZE PUSH2 288 MSTORE \
         PUSH1 0xff PUSH1 0 MSTORE8 \
         PUSH1 0 PUSH1 0 PUSH1 32 PUSH1 0 PUSH1 0 PUSH1 0x20 GAS CALL POP \
         RETURNDATASIZE PUSH2 320 MSTORE \
         PUSH1 0 PUSH1 0 PUSH1 0 PUSH1 0 PUSH1 0 PUSH1 0x77 GAS CALL POP \
         RETURNDATASIZE PUSH2 352 MSTORE \
         PUSH10 0x602a60005260206000f3 PUSH1 0 MSTORE PUSH1 10 PUSH1 22 PUSH1 0 CREATE POP \
         RETURNDATASIZE PUSH2 384 MSTORE \
         PUSH1 160 PUSH2 256 RETURN",
    )
    .unwrap();
    let want = [0u64, 32, 0, 0, 0].map(|n| word(U256::from(n))).concat();
    for level in [OptLevel::O0, OptLevel::O1] {
        let jit = JitVm::at_level(level);
        let out = check(&jit, &Case::new(&code));
        assert_eq!(out.result.status, StatusCode::Success);
        assert_eq!(out.result.output, want, "{level:?}");
    }
}

/// SDIV's and SMOD's results by the yellow paper: magnitudes divided, the quotient negative
/// when the signs differ, the remainder with the dividend's sign; a zero divisor gives zeros.
fn signed_div_rem(a: U256, b: U256) -> (U256, U256) {
    if b.is_zero() {
        return (U256::ZERO, U256::ZERO);
    }
    let negative = |x: U256| x.bit(255);
    let magnitude = |x: U256| if negative(x) { x.wrapping_neg() } else { x };
    let (q, r) = (magnitude(a) / magnitude(b), magnitude(a) % magnitude(b));
    let q = if negative(a) != negative(b) {
        q.wrapping_neg()
    } else {
        q
    };
    let r = if negative(a) { r.wrapping_neg() } else { r };
    (q, r)
}

#[test]
fn arithmetic_specialised_for_constant_operands() {
    let jit = jit();
    let mut ops = operands();
    // Negative dividends whose low bits are not all zero, for the signed operations' rounding.
    ops.extend([2u64, 3, 7, 257, (1 << 40) + 5].map(|x| U256::from(x).wrapping_neg()));
    // The constant operand sits in the code, the other one comes from call data.
    let mut consts: Vec<U256> = (0..256).step_by(17).map(|k| U256::from(1) << k).collect();
    consts.extend([
        U256::from(1) << 255,
        U256::from(1),
        U256::ZERO,
        U256::from(3),
    ]);
    for c in &consts {
        for (name, const_on_top) in [
            ("DIV", false),
            ("MOD", false),
            ("SDIV", false),
            ("SMOD", false),
            ("MUL", true),
            ("MUL", false),
        ] {
            let src = if const_on_top {
                format!("PUSH1 0 CALLDATALOAD PUSH32 {c:#x} {name}")
            } else {
                format!("PUSH32 {c:#x} PUSH1 0 CALLDATALOAD {name}")
            };
            let code = assemble(&format!("{src} PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN")).unwrap();
            for a in &ops {
                let out = output(&jit, &code, &word(*a));
                let want = match (name, const_on_top) {
                    ("DIV", _) if c.is_zero() => U256::ZERO,
                    ("DIV", _) => a / c,
                    ("MOD", _) if c.is_zero() => U256::ZERO,
                    ("MOD", _) => a % c,
                    ("SDIV", _) => signed_div_rem(*a, *c).0,
                    ("SMOD", _) => signed_div_rem(*a, *c).1,
                    _ => a.wrapping_mul(*c),
                };
                assert_eq!(out, word(want), "{a} {name} {c}");
            }
        }
    }
    // SIGNEXTEND at every constant byte index, and past the last.
    for b in (0..34u64).chain([256, u64::MAX]) {
        let code = assemble(&format!(
            "PUSH1 0 CALLDATALOAD PUSH32 {b:#x} SIGNEXTEND PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN"
        ))
        .unwrap();
        for a in &ops {
            let out = output(&jit, &code, &word(*a));
            let want = if b < 31 {
                let bits = 8 * (b as usize + 1);
                let low = *a & ((U256::from(1) << bits) - U256::from(1));
                if a.bit(bits - 1) {
                    low | (U256::MAX << bits)
                } else {
                    low
                }
            } else {
                *a
            };
            assert_eq!(out, word(want), "SIGNEXTEND {b} {a}");
        }
    }
}

#[test]
fn division_of_variable_operands_at_the_64_bit_boundaries() {
    // Both operands come from call data. From O1 on, compiled code divides in 64 bits when
    // both fit (signed: in i64, the dividend above i64::MIN, where `idiv` would overflow) and
    // calls the builtin otherwise; at O0 it always calls the builtin.
    for level in [OptLevel::O0, OptLevel::O1] {
        let jit = JitVm::at_level(level);
        divide_variable_operands(&jit);
    }
}

fn divide_variable_operands(jit: &JitVm) {
    let min64 = U256::from(1u64 << 63).wrapping_neg();
    let mut ops: Vec<U256> = [
        0u64,
        1,
        2,
        3,
        7,
        20,
        1 << 32,
        (1 << 63) - 1,
        1 << 63,
        u64::MAX - 1,
        u64::MAX,
    ]
    .map(U256::from)
    .to_vec();
    ops.extend([U256::from(1) << 64, (U256::from(1) << 64) + U256::from(3)]);
    ops.extend([1u64, 2, 3, 20, (1 << 63) - 1].map(|x| U256::from(x).wrapping_neg()));
    ops.extend([
        min64,
        min64 - U256::from(1),
        U256::from(1) << 255,
        U256::MAX,
    ]);
    for name in ["DIV", "MOD", "SDIV", "SMOD"] {
        let code = assemble(&format!(
            "PUSH1 32 CALLDATALOAD PUSH1 0 CALLDATALOAD {name} PUSH1 0 MSTORE PUSH1 32 PUSH1 0 \
             RETURN"
        ))
        .unwrap();
        for x in &ops {
            for y in &ops {
                let out = output(jit, &code, &[word(*x), word(*y)].concat());
                let want = match name {
                    _ if y.is_zero() => U256::ZERO,
                    "DIV" => x / y,
                    "MOD" => x % y,
                    "SDIV" => signed_div_rem(*x, *y).0,
                    _ => signed_div_rem(*x, *y).1,
                };
                assert_eq!(out, word(want), "{x:#x} {name} {y:#x}");
            }
        }
    }
}

#[test]
fn addmod_and_mulmod_modulo_a_constant_power_of_two_against_ruint() {
    // The modulus sits in the code, the operands come from call data; every power of two from
    // 2^0 to 2^255, and moduli next to them that take the builtin.
    let mut ops = operands();
    ops.extend([U256::from(u64::MAX), U256::MAX - U256::from(1)]);
    let mut moduli: Vec<U256> = (0..256).step_by(9).map(|k| U256::from(1) << k).collect();
    moduli.extend([
        U256::from(1) << 64,
        U256::from(1) << 255,
        U256::ZERO,
        U256::from(3),
    ]);
    moduli.push((U256::from(1) << 64) + U256::from(1));
    for level in [OptLevel::O0, OptLevel::O1] {
        let jit = JitVm::at_level(level);
        for name in ["ADDMOD", "MULMOD"] {
            for n in &moduli {
                let code = assemble(&format!(
                    "PUSH32 {n:#x} PUSH1 32 CALLDATALOAD PUSH1 0 CALLDATALOAD {name} PUSH1 0 \
                     MSTORE PUSH1 32 PUSH1 0 RETURN"
                ))
                .unwrap();
                for a in &ops {
                    for b in &ops {
                        let out = output(&jit, &code, &[word(*a), word(*b)].concat());
                        let want = match name {
                            "ADDMOD" => a.add_mod(*b, *n),
                            _ => a.mul_mod(*b, *n),
                        };
                        assert_eq!(
                            out,
                            word(want),
                            "{a:#x} {name} {b:#x} mod {n:#x} at {level:?}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn mulmod_modulo_all_ones_against_ruint() {
    // MULMOD by the constant 2^256 − 1 is inlined at every level; the product's halves are
    // added with the carry wrapped around.
    let max = U256::MAX;
    let mut ops = operands();
    ops.extend([
        max,
        max - U256::from(1),
        U256::from(1) << 255,
        (U256::from(1) << 128) + U256::from(1),
        U256::from(u64::MAX),
    ]);
    let code = assemble(&format!(
        "PUSH32 {max:#x} PUSH1 32 CALLDATALOAD PUSH1 0 CALLDATALOAD MULMOD PUSH1 0 MSTORE \
         PUSH1 32 PUSH1 0 RETURN"
    ))
    .unwrap();
    for level in [OptLevel::O0, OptLevel::O1] {
        let jit = JitVm::at_level(level);
        for a in &ops {
            for b in &ops {
                let out = output(&jit, &code, &[word(*a), word(*b)].concat());
                assert_eq!(
                    out,
                    word(a.mul_mod(*b, max)),
                    "{a:#x} * {b:#x} at {level:?}"
                );
            }
        }
    }
}

/// Bases and exponents for EXP: the special cases of compiled code (0, 1, powers of two,
/// the exponents 0 to 2), the byte boundaries of its gas, and the edges of 256 bits.
fn exp_operands() -> Vec<U256> {
    let mut v: Vec<U256> = [
        0u64, 1, 2, 3, 4, 7, 8, 31, 32, 33, 255, 256, 257, 65535, 65536,
    ]
    .iter()
    .map(|&x| U256::from(x))
    .collect();
    v.extend([64, 128, 255].map(|k| U256::from(1) << k));
    v.extend([
        U256::MAX,
        (U256::from(1) << 64) + U256::from(3),
        U256::from(1).wrapping_neg() << 8,
    ]);
    v
}

#[test]
fn exp_of_constant_and_variable_operands_against_ruint() {
    // Each operand in the code (a constant to compiled code) or in the call data; both in the
    // code (folded at compile time) for a few. At Frontier an exponent byte costs 10 gas, from
    // Spurious Dragon on 50: `check` compares the gas left with the interpreter's.
    let ops = exp_operands();
    let operand = |v: &U256, in_code: bool, at: u8| {
        if in_code {
            format!("PUSH32 {v:#x}")
        } else {
            format!("PUSH1 {at} CALLDATALOAD")
        }
    };
    for level in [OptLevel::O0, OptLevel::O1] {
        let jit = JitVm::at_level(level);
        for rev in [Revision::Frontier, Revision::Cancun] {
            for (base_in_code, e_in_code) in
                [(true, false), (false, true), (false, false), (true, true)]
            {
                let few = if base_in_code && e_in_code {
                    6
                } else {
                    ops.len()
                };
                for base in &ops[..few] {
                    for e in &ops[..few] {
                        let code = assemble(&format!(
                            "{} {} EXP PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN",
                            operand(e, e_in_code, 32),
                            operand(base, base_in_code, 0)
                        ))
                        .unwrap();
                        let input = [word(*base), word(*e)].concat();
                        let out = check(
                            &jit,
                            &Case {
                                input: &input,
                                rev,
                                ..Case::new(&code)
                            },
                        );
                        assert_eq!(
                            out.result.output,
                            word(base.wrapping_pow(*e)),
                            "{base} ** {e} at {level:?}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn exp_out_of_gas_exactly_at_its_charge() {
    // The exponent comes from call data (its byte count only known at run time) or is a
    // 32-byte constant. Followed by reads only, an EXP the block's gas cannot pay halts out of
    // gas in place. Followed by an SSTORE it hands over at the EXP: the interpreter may still
    // pay for it from the static gas of the instructions after the SSTORE, reach the SSTORE,
    // and in a static frame fail there for the write, not for gas.
    let exponents = [
        "PUSH1 0 CALLDATALOAD",
        "PUSH32 0xff00000000000000000000000000000000000000000000000000000000000001",
    ];
    let e = word(U256::MAX >> 8);
    for level in [OptLevel::O0, OptLevel::O1] {
        let jit = JitVm::at_level(level);
        for exponent in exponents {
            for (tail, flags) in [
                ("PUSH1 1 SLOAD ADD", 0),
                ("PUSH1 1 SLOAD ADD", FLAG_STATIC),
                ("DUP1 PUSH1 1 SSTORE", 0),
                ("DUP1 PUSH1 1 SSTORE", FLAG_STATIC),
            ] {
                let code = assemble(&format!(
                    "{exponent} PUSH1 3 EXP {tail} PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN"
                ))
                .unwrap();
                let case = |gas| Case {
                    input: &e,
                    gas,
                    flags,
                    ..Case::new(&code)
                };
                let used = 1_000_000 - run(&Interpreter, &case(1_000_000)).result.gas_left;
                let mut statuses = std::collections::HashSet::new();
                // Every limit up to well past EXP's charge (32 bytes: 1600 gas), and around the
                // end.
                for gas in (0..=3000).chain(used - 50..=used + 2) {
                    statuses.insert(check(&jit, &case(gas)).result.status);
                }
                let what = format!("{exponent} {tail} flags {flags}");
                assert!(statuses.contains(&StatusCode::OutOfGas), "{what}");
                let other = if tail.contains("SSTORE") && flags == FLAG_STATIC {
                    StatusCode::StaticModeViolation
                } else {
                    StatusCode::Success
                };
                assert!(statuses.contains(&other), "{what}");
            }
        }
    }
}
