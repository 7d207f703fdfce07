//! Replays the checked-in corpus of the differential fuzz target (`testdata/fuzz-corpus/differential`)
//! through the same harness, so a short deterministic run of the fuzzer is part of the
//! normal test suite.

use ember_jit::difftest::fuzz_one;
use ember_jit::{JitVm, OptLevel};
use std::path::Path;

#[test]
fn fuzz_corpus_replays_without_differences() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/fuzz-corpus/differential");
    // The corpus is checked in, so a missing one is a failure, not a skip.
    let entries =
        std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("fuzz corpus at {}: {e}", dir.display()));
    let inputs: Vec<_> = entries
        .map(|e| {
            let path = e.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            (path, data)
        })
        .collect();
    assert!(
        !inputs.is_empty(),
        "the corpus at {} is empty",
        dir.display()
    );
    // Every input at both levels, not only at the one the fuzz target picks for it.
    for opt_level in [OptLevel::O0, OptLevel::O1] {
        let jit = JitVm::at_level(opt_level);
        for (path, data) in &inputs {
            if let Err(diff) = fuzz_one(&jit, data) {
                panic!("{} at {opt_level:?}: {diff}", path.display());
            }
        }
        let s = jit.stats();
        assert_eq!(
            s.interpreter_only, 0,
            "every corpus program compiles at {opt_level:?}: {s:?}"
        );
        println!("replayed {} inputs at {opt_level:?}: {s:?}", inputs.len());
    }
}
