//! Through `libember.so`: a contract that calls itself down to the deepest call depth, each
//! level re-entering the library through the EVMC ABI, never overflows the native stack on a
//! 2 MiB or 8 MiB thread, in every tier, and ends with the interpreter's exact result.

mod common;

use common::libember_path;
use ember::EvmcVm;
use ember_evm::{Interpreter, StatusCode, MAX_CALL_DEPTH};
use ember_state::statetest::parse_fixture;
use ember_testkit::{on_thread, run, self_caller, self_caller_input, Case, Effect};
use std::path::Path;

/// The largest contract of the main benchmark set, as ballast for the compiled frame.
fn snailtracer() -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/evm-benchmarks/benchmarks/main/snailtracer.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let tests = parse_fixture(&text).unwrap();
    (tests[0].pre.iter())
        .map(|(_, a)| a.code.to_vec())
        .max_by_key(Vec::len)
        .unwrap()
}

#[test]
fn a_1024_deep_self_call_through_the_library_fits_any_thread() {
    let code = self_caller(&snailtracer());
    let input = self_caller_input();
    let case = Case::deep(&code, &input);
    let want = on_thread(2 << 20, || run(&Interpreter, &case));
    let calls = (want.effects.iter())
        .filter(|e| matches!(e, Effect::Call { .. }))
        .count();
    assert_eq!(calls, MAX_CALL_DEPTH as usize);
    assert_eq!(want.result.status, StatusCode::Success);
    for tier in ["interp", "jit", "auto"] {
        // In `auto` the contract is hot after two calls, so the deeper levels of the second
        // run (and some of the first) run compiled code.
        let vm = EvmcVm::load(
            libember_path(),
            &[("tier", tier), ("jit.hot-calls", "2"), ("jit.hot-gas", "0")],
        )
        .unwrap();
        for stack in [2 << 20, 8 << 20] {
            for round in 0..2 {
                let got = on_thread(stack, || run(&vm, &case));
                assert_eq!(got, want, "{tier} on a {stack}-byte thread, round {round}");
            }
        }
    }
}
