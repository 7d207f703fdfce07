//! End to end: state-test fixtures from `../shared` run through `transact` must reproduce the
//! fixtures' post-state roots and logs hashes.

mod common;

use common::{json_files, shared_dir};
use ember_state::statetest::{parse_fixture, run_case, ForkTarget};

/// Runs every case in the fixture files under `dirs` (relative to `../shared`); panics with
/// the failures if any case does not match its fixture.
fn run_dirs(dirs: &'static [&'static str]) {
    let Some(shared) = shared_dir() else { return };
    with_big_stack(move || {
        let (mut passed, mut failures) = (0usize, Vec::new());
        for dir in dirs {
            let files = json_files(&shared.join(dir));
            assert!(!files.is_empty(), "no fixtures under {dir}");
            for path in files {
                let json = std::fs::read_to_string(&path).expect("read fixture");
                let tests =
                    parse_fixture(&json).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                for test in &tests {
                    for fork in &test.forks {
                        let ForkTarget::Run { revision, block } = &fork.target else {
                            continue;
                        };
                        for (i, case) in fork.cases.iter().enumerate() {
                            let r = run_case(
                                test,
                                *revision,
                                block,
                                case,
                                &ember_evm::Interpreter,
                                None,
                            );
                            if r.passed() {
                                passed += 1;
                            } else {
                                failures.push(format!(
                                    "{} {} {} #{i}: {}",
                                    path.display(),
                                    test.name,
                                    fork.fork,
                                    r.mismatches.join("; ")
                                ));
                            }
                        }
                    }
                }
            }
        }
        println!("{passed} passed, {} failed", failures.len());
        assert!(
            failures.is_empty(),
            "{} cases failed:\n{}",
            failures.len(),
            failures.join("\n")
        );
        assert!(passed > 0, "no case ran");
    });
}

/// Runs `f` on a thread with a stack deep enough for 1024 nested calls in a debug build.
fn with_big_stack<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(f)
        .expect("spawn test thread")
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

#[test]
fn storage_refunds_and_reverts() {
    run_dirs(&[
        "ethereum-tests/GeneralStateTests/stSStoreTest",
        "ethereum-tests/GeneralStateTests/stRefundTest",
        "ethereum-tests/GeneralStateTests/stRevertTest",
        "ethereum-tests/GeneralStateTests/stZeroCallsRevert",
        "ethereum-tests/GeneralStateTests/stSelfBalance",
    ]);
}

#[test]
fn creates_collisions_and_code_limits() {
    run_dirs(&[
        "ethereum-tests/GeneralStateTests/stCreate2",
        "ethereum-tests/GeneralStateTests/stCodeSizeLimit",
        "ethereum-tests/GeneralStateTests/stInitCodeTest",
        "ethereum-tests/GeneralStateTests/stHomesteadSpecific",
    ]);
}

#[test]
fn transactions_and_account_lifecycle() {
    run_dirs(&[
        "ethereum-tests/GeneralStateTests/stTransactionTest",
        "ethereum-tests/GeneralStateTests/stEIP2930",
        "ethereum-tests/GeneralStateTests/stEIP3607",
        "ethereum-tests/GeneralStateTests/stEIP150Specific",
        "ethereum-tests/GeneralStateTests/stEIP158Specific",
        "ethereum-tests/GeneralStateTests/stSpecialTest",
    ]);
}

#[test]
fn precompiles() {
    run_dirs(&["ethereum-tests/GeneralStateTests/stPreCompiledContracts"]);
}

#[test]
fn fork_specific_suites() {
    // Older forks (Pyspecs), EIP-6780/1153/4844 (Cancun), Shanghai, and the Prague/Osaka
    // execution-spec-tests fixtures (EIP-7702, EIP-7623, EIP-7825, blob limits, P256VERIFY).
    run_dirs(&[
        "ethereum-tests/GeneralStateTests/Pyspecs",
        "ethereum-tests/GeneralStateTests/Cancun",
        "ethereum-tests/GeneralStateTests/Shanghai",
        "eest-fixtures/state_tests",
    ]);
}
