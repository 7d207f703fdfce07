//! Runs random and mutated bytecode (or programs generated from a fuzzed seed) in the
//! interpreter and as compiled code, and fails on any difference in status, gas left,
//! refund, output, logs, storage writes or calls. See `ember_jit::difftest::fuzz_one` for
//! how an input is read.
#![no_main]

use ember_jit::difftest::fuzz_one;
use ember_jit::JitVm;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fuzz_target!(|data: &[u8]| {
    static JIT: OnceLock<JitVm> = OnceLock::new();
    let jit = JIT.get_or_init(JitVm::default);
    if let Err(e) = fuzz_one(jit, data) {
        panic!("{e}");
    }
});
