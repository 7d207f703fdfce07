//! State tests through `libember.so`: every case must give exactly the result of the
//! built-in interpreter (state root, logs hash, gas used, status, output, rejection and the
//! comparison with the fixture), with ember-state as the host and `EvmcVm` as the VM, so
//! that nested frames go host → C ABI → ember → C ABI → host. The library runs in its default
//! tier (`auto`), in `auto` told to compile after one call (so that compiled code published
//! by the background workers runs, found by the code's bytes since EVMC gives no hash), and
//! in `jit`.
//!
//! By default a deterministic sample runs (every 25th fixture file, in path order), which
//! is quick in debug builds. `EMBER_EVMC_STATETESTS=all` runs every file; use it with
//! `--release`. The fixtures are read in place from `../shared` next to the repository;
//! without them the test prints that it skipped.

mod common;

use ember::EvmcVm;
use ember_evm::Interpreter;
use ember_state::statetest::{parse_fixture, run_case, ForkTarget};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The fixture directories, relative to `../shared`.
const FIXTURE_DIRS: [&str; 2] = [
    "ethereum-tests/GeneralStateTests",
    "eest-fixtures/state_tests",
];

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            json_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

/// Runs every case of one file with both VMs; returns (cases, cases passing the fixture)
/// and records each difference between the VMs.
fn compare_file(
    path: &Path,
    loaded: &[(&str, EvmcVm)],
    diffs: &Mutex<Vec<String>>,
) -> (usize, usize) {
    let json = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let tests = parse_fixture(&json).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (mut cases, mut passed) = (0, 0);
    for test in &tests {
        for fork in &test.forks {
            let ForkTarget::Run { revision, block } = &fork.target else {
                continue;
            };
            for case in &fork.cases {
                let builtin = run_case(test, *revision, block, case, &Interpreter, None);
                cases += 1;
                passed += usize::from(builtin.passed());
                for (options, vm) in loaded {
                    let through_evmc = run_case(test, *revision, block, case, vm, None);
                    if builtin != through_evmc {
                        diffs.lock().unwrap().push(format!(
                            "{} {} {} {:?} [{options}]:\n  builtin {builtin:?}\n  evmc    \
                             {through_evmc:?}",
                            path.display(),
                            test.name,
                            fork.fork,
                            case.indexes
                        ));
                    }
                }
            }
        }
    }
    (cases, passed)
}

#[test]
fn state_tests_through_libember_match_the_builtin_interpreter() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared");
    if !shared.is_dir() {
        println!(
            "SKIPPED: {} is absent; state tests through libember.so not run",
            shared.display()
        );
        return;
    }
    let mut files = Vec::new();
    for dir in FIXTURE_DIRS {
        json_files(&shared.join(dir), &mut files);
    }
    assert!(!files.is_empty(), "no fixtures under {}", shared.display());
    files.sort();
    let all = std::env::var("EMBER_EVMC_STATETESTS").is_ok_and(|v| v == "all");
    if !all {
        files = files.into_iter().step_by(25).collect();
    }

    let loaded: Vec<(&str, EvmcVm)> = [
        ("default", &[][..]),
        (
            "eager auto",
            &[("jit.hot-calls", "1"), ("jit.hot-gas", "0")][..],
        ),
        ("jit", &[("tier", "jit")][..]),
    ]
    .into_iter()
    .map(|(name, options)| {
        let vm = EvmcVm::load(common::libember_path(), options).expect("load libember.so");
        (name, vm)
    })
    .collect();
    let diffs = Mutex::new(Vec::new());
    let next = AtomicUsize::new(0);
    let (cases, passed) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4);
    std::thread::scope(|s| {
        for _ in 0..threads {
            std::thread::Builder::new()
                // Deep call chains in the fixtures nest many frames through the trampolines.
                .stack_size(1 << 30)
                .spawn_scoped(s, || {
                    while let Some(path) = files.get(next.fetch_add(1, Ordering::Relaxed)) {
                        let (c, p) = compare_file(path, &loaded, &diffs);
                        cases.fetch_add(c, Ordering::Relaxed);
                        passed.fetch_add(p, Ordering::Relaxed);
                    }
                })
                .expect("spawn");
        }
    });

    let diffs = diffs.into_inner().unwrap();
    let cases = cases.into_inner();
    println!(
        "{} files, {cases} cases, {} passing their fixture; {} differ between the built-in \
         interpreter and libember.so",
        files.len(),
        passed.into_inner(),
        diffs.len()
    );
    assert!(cases > 0, "no runnable cases");
    assert!(
        diffs.is_empty(),
        "{} cases differ:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}
