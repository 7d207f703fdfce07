//! A contract that calls itself down to the deepest call depth never overflows the native
//! stack, whatever the thread's stack size and the tier, and ends with the interpreter's exact
//! result.

use ember_evm::{Interpreter, StatusCode, MAX_CALL_DEPTH};
use ember_runtime::{ContractState, Runtime, RuntimeConfig, Tier};
use ember_testkit::{assemble, run, Case, Effect};
use std::path::Path;
use std::time::Duration;

/// The largest contract of the main benchmark set, as ballast.
fn snailtracer() -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/evm-benchmarks/benchmarks/main/snailtracer.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let test = json.as_object().unwrap().values().next().unwrap();
    let code = test["pre"]
        .as_object()
        .unwrap()
        .values()
        .map(|a| a["code"].as_str().unwrap())
        .max_by_key(|c| c.len())
        .unwrap();
    ember_evm::parse_hex(code).unwrap()
}

/// Calls itself with calldata n - 1 until n is 0 (or the call depth runs out), returning the
/// innermost result word and whether its call succeeded. The JUMPI's target is computed from
/// CALLDATASIZE, so compiled code dispatches it at run time and compiles every JUMPDEST of
/// the ballast appended after the code: the compiled frame is as large as the ballast's.
fn self_caller() -> Vec<u8> {
    let mut code = assemble(
        "PUSH1 0 CALLDATALOAD DUP1 ISZERO CALLDATASIZE &done ADD PUSH1 32 SWAP1 SUB JUMPI \
         PUSH1 1 SWAP1 SUB PUSH1 0 MSTORE \
         PUSH1 32 PUSH1 0 PUSH1 32 PUSH1 0 PUSH1 0 ADDRESS GAS CALL \
         PUSH1 32 MSTORE PUSH1 64 PUSH1 0 RETURN \
         :done PUSH1 0xdd PUSH1 0 MSTORE PUSH1 64 PUSH1 0 RETURN",
    )
    .unwrap();
    code.extend(snailtracer());
    code
}

/// Runs `f` on a thread with `stack` bytes of stack.
fn on_thread<T: Send>(stack: usize, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(stack)
            .spawn_scoped(s, f)
            .unwrap()
            .join()
            .unwrap()
    })
}

fn runtime(tier: Tier) -> Runtime {
    let mut c = RuntimeConfig::with_tier(tier);
    if tier == Tier::Auto {
        c.set("jit.hot-calls", "2").unwrap();
        c.set("jit.hot-gas", "0").unwrap();
    }
    Runtime::new(c)
}

#[test]
fn a_1024_deep_self_call_fits_any_thread_in_every_tier() {
    let code = self_caller();
    let mut input = [0u8; 32];
    input[30..].copy_from_slice(&2000u16.to_be_bytes());
    let case = Case {
        input: &input,
        gas: 1_000_000_000_000,
        ..Case::new(&code)
    };
    let want = on_thread(2 << 20, || run(&Interpreter, &case));
    // Every depth from 0 to 1023 called once more; the call at depth 1024 was refused.
    let calls = want
        .effects
        .iter()
        .filter(|e| matches!(e, Effect::Call { .. }))
        .count();
    assert_eq!(calls, MAX_CALL_DEPTH as usize);
    assert_eq!(want.result.status, StatusCode::Success);

    for stack in [2 << 20, 8 << 20] {
        for tier in [Tier::Interp, Tier::Jit, Tier::Auto] {
            let rt = runtime(tier);
            let first = on_thread(stack, || run(&rt, &case));
            assert_eq!(first, want, "{tier:?} on a {stack}-byte thread");
            if tier == Tier::Auto {
                // Hot after the first calls: run again once compiled code is published.
                assert!(rt.wait_for_compiles(Duration::from_secs(120)));
                let again = on_thread(stack, || run(&rt, &case));
                assert_eq!(again, want, "auto, compiled, on a {stack}-byte thread");
            }
            if tier != Tier::Interp {
                let stats = rt.stats();
                let c = stats
                    .contracts
                    .iter()
                    .find(|c| c.state == ContractState::Compiled)
                    .unwrap_or_else(|| panic!("{tier:?}: not compiled\n{}", stats.to_text(5)));
                assert!(c.profile.jit.calls > 0, "{tier:?}: {}", stats.to_text(5));
            }
        }
    }
}
