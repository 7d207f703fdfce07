//! Helpers shared by the differential test files: a JIT tier, a checked comparison with the
//! interpreter and interesting operands.
#![allow(dead_code)] // each test file uses its own subset

use ember_evm::{Interpreter, Revision, StatusCode, U256};
use ember_jit::JitVm;
use ember_testkit::{compare, run, Case, Outcome};

pub fn jit() -> JitVm {
    JitVm::default()
}

/// Compares the tiers on `case`, and checks the code really was compiled.
pub fn check(jit: &JitVm, case: &Case<'_>) -> Outcome {
    let out = compare(jit, case).unwrap_or_else(|e| panic!("{e}"));
    if let Err(e) = jit.lookup(case.code, case.rev, None) {
        panic!("not compiled: {e}");
    }
    out
}

pub fn word(v: U256) -> [u8; 32] {
    v.to_be_bytes::<32>()
}

/// Interesting operands for 256-bit arithmetic, shifts and signs.
pub fn operands() -> Vec<U256> {
    let mut v: Vec<U256> = [0u64, 1, 2, 7, 31, 32, 33, 255, 256, 257, 300]
        .iter()
        .map(|&x| U256::from(x))
        .collect();
    v.push(U256::MAX);
    v.push(U256::from(1) << 255);
    v.push((U256::from(1) << 255) - U256::from(1));
    v.push(U256::from(1) << 64);
    v.push((U256::from(1) << 64) + U256::from(3));
    v.push(U256::from_limbs([
        0x0123_4567_89ab_cdef,
        0xfedc_ba98_7654_3210,
        0x0f0f_0f0f_f0f0_f0f0,
        0x8000_0000_0000_0001,
    ]));
    v
}

/// Runs `code` at every gas limit from 0 to a little above what it needs.
pub fn every_gas_limit(jit: &JitVm, code: &[u8], rev: Revision) {
    let full = run(
        &Interpreter,
        &Case {
            rev,
            ..Case::new(code)
        },
    );
    assert_eq!(full.result.status, StatusCode::Success);
    let used = 1_000_000 - full.result.gas_left;
    let mut statuses = std::collections::HashSet::new();
    for gas in 0..=used + 5 {
        let out = check(
            jit,
            &Case {
                gas,
                rev,
                ..Case::new(code)
            },
        );
        statuses.insert(out.result.status);
    }
    assert!(statuses.contains(&StatusCode::OutOfGas));
    assert!(statuses.contains(&StatusCode::Success));
}

/// Checks `code` on `input` against the interpreter and returns its output.
pub fn output(jit: &JitVm, code: &[u8], input: &[u8]) -> Vec<u8> {
    check(
        jit,
        &Case {
            input,
            ..Case::new(code)
        },
    )
    .result
    .output
}
