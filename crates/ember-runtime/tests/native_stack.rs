//! A contract that calls itself down to the deepest call depth never overflows the native
//! stack, whatever the thread's stack size and the tier, and ends with the interpreter's exact
//! result.

use ember_evm::{Interpreter, StatusCode, MAX_CALL_DEPTH};
use ember_runtime::{ContractState, Runtime, RuntimeConfig, Tier};
use ember_state::statetest::parse_fixture;
use ember_testkit::{on_thread, run, self_caller, self_caller_input, Case, Effect};
use std::path::Path;
use std::time::Duration;

/// The largest contract of the main benchmark set, as ballast.
fn snailtracer() -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/evm-benchmarks/benchmarks/main/snailtracer.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let tests = parse_fixture(&text).unwrap();
    let pre = &tests[0].pre;
    pre.iter()
        .map(|(_, a)| a.code.to_vec())
        .max_by_key(Vec::len)
        .unwrap()
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
    let code = self_caller(&snailtracer());
    let input = self_caller_input();
    let case = Case::deep(&code, &input);
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
