//! Transaction-level differential fuzzing: each input chooses a pre-state, a block, a
//! revision and a transaction (see `ember_txdiff::gen`), which run in ember's interpreter, in
//! its compiled tier and in revm; any difference in validity, status, gas used, output, logs
//! or post-state fails.
#![no_main]

use ember_runtime::{Runtime, RuntimeConfig, Tier};
use ember_txdiff::{check, gen, Rng};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fuzz_target!(|data: &[u8]| {
    static JIT: OnceLock<Runtime> = OnceLock::new();
    let jit = JIT.get_or_init(|| Runtime::new(RuntimeConfig::with_tier(Tier::Jit)));
    let report = check(gen::case(&mut Rng::from_bytes(data), None), jit);
    if !report.agreed() {
        panic!(
            "{} type {}: compiled {:?} revm {:?}\n{:#?}",
            report.case.rev, report.case.tx.tx_type, report.compiled, report.revm, report.case
        );
    }
});
