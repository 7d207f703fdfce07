//! Runs random and mutated bytecode (or programs generated from a fuzzed seed) in the
//! interpreter and as compiled code (at O1 for one input in eight, see `fuzz_level`), and fails on any difference in status, gas left,
//! refund, output, logs, storage writes or calls. See `ember_jit::difftest::fuzz_one` for
//! how an input is read.
#![no_main]

use ember_jit::difftest::{fuzz_level, fuzz_one};
use ember_jit::{JitVm, OptLevel};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fuzz_target!(|data: &[u8]| {
    static JIT: OnceLock<[JitVm; 2]> = OnceLock::new();
    let [o0, o1] = JIT.get_or_init(|| [OptLevel::O0, OptLevel::O1].map(JitVm::at_level));
    let jit = match fuzz_level(data) {
        OptLevel::O0 => o0,
        _ => o1,
    };
    if let Err(e) = fuzz_one(jit, data) {
        panic!("{e}");
    }
});
