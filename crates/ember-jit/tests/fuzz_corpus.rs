//! Replays the checked-in corpus of the differential fuzz target (`testdata/fuzz-corpus/differential`)
//! through the same harness, so a short deterministic run of the fuzzer is part of the
//! normal test suite.

use ember_jit::difftest::fuzz_one;
use ember_jit::JitVm;
use std::path::Path;

#[test]
fn fuzz_corpus_replays_without_differences() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/fuzz-corpus/differential");
    // The corpus is checked in, so a missing one is a failure, not a skip.
    let entries =
        std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("fuzz corpus at {}: {e}", dir.display()));
    let jit = JitVm::default();
    let mut n = 0;
    for e in entries {
        let path = e.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        if let Err(diff) = fuzz_one(&jit, &data) {
            panic!("{}: {diff}", path.display());
        }
        n += 1;
    }
    assert!(n > 0, "the corpus at {} is empty", dir.display());
    let s = jit.stats();
    assert_eq!(
        s.interpreter_only, 0,
        "every corpus program compiles: {s:?}"
    );
    println!("replayed {n} inputs: {s:?}");
}
