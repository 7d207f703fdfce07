//! Checks against the real fixtures in `../shared` (skipped with a message when absent):
//! every file parses, the transaction type derived from the JSON fields agrees with the
//! type byte of the fixture's own signed `txbytes`, and a few files pass end to end.

use std::path::{Path, PathBuf};

use super::*;
use ember_evm::{parse_hex, Interpreter};

/// `../shared` beside the repository, or `None` (with a message) when it is absent.
fn shared() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: {} is absent", dir.display());
        None
    }
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            json_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

fn load(path: &Path) -> (Vec<StateTest>, serde_json::Value) {
    let text = std::fs::read_to_string(path).expect("read fixture");
    let tests = parse_fixture(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (tests, serde_json::from_str(&text).expect("valid JSON"))
}

/// The EIP-2718 type of a signed transaction: its first byte, or 0 for a legacy RLP list.
fn envelope_type(txbytes: &str) -> u8 {
    let bytes = parse_hex(txbytes).expect("txbytes is hex");
    match bytes.first() {
        Some(&b) if b < 0xc0 => b,
        _ => 0,
    }
}

#[test]
fn every_shared_fixture_parses_with_the_signed_transaction_type() {
    let Some(shared) = shared() else { return };
    let mut files = Vec::new();
    json_files(&shared.join("ethereum-tests/GeneralStateTests"), &mut files);
    json_files(&shared.join("eest-fixtures/state_tests"), &mut files);
    assert!(
        files.len() > 2700,
        "expected the full corpus, found {} files",
        files.len()
    );

    let (mut cases, mut typed) = (0usize, [0usize; 5]);
    for path in &files {
        let (tests, raw) = load(path);
        for test in &tests {
            for fork in &test.forks {
                assert!(
                    matches!(fork.target, ForkTarget::Run { .. }),
                    "{}: fork {} should be runnable",
                    path.display(),
                    fork.fork
                );
                let raw_cases = raw[&test.name]["post"][&fork.fork].as_array().unwrap();
                for (case, raw_case) in fork.cases.iter().zip(raw_cases) {
                    let signed = envelope_type(raw_case["txbytes"].as_str().unwrap());
                    let derived = test.tx.tx_type(case.indexes.data);
                    assert_eq!(
                        derived, signed,
                        "{} {} {:?}",
                        test.name, fork.fork, case.indexes
                    );
                    typed[usize::from(derived)] += 1;
                    cases += 1;
                }
            }
        }
    }
    eprintln!("{} files, {cases} cases, by type {typed:?}", files.len());
    assert_eq!(cases, 22672, "every case of the corpus");
    assert!(
        typed.iter().all(|&n| n > 0),
        "all five transaction types occur: {typed:?}"
    );
}

#[test]
fn a_few_shared_fixtures_pass() {
    let Some(shared) = shared() else { return };
    let files = [
        "ethereum-tests/GeneralStateTests/stExample/add11.json",
        "ethereum-tests/GeneralStateTests/stEIP2930/transactionCosts.json",
        "ethereum-tests/GeneralStateTests/stTransactionTest/ValueOverflowParis.json",
        "eest-fixtures/state_tests/osaka/eip7825_transaction_gas_limit_cap/tx_gas_limit/tx_gas_limit_cap_authorized_tx.json",
    ];
    let mut ran = 0;
    for file in files {
        let (tests, _) = load(&shared.join(file));
        for test in &tests {
            for fork in &test.forks {
                let ForkTarget::Run { revision, block } = &fork.target else {
                    panic!("{file}: {} should be runnable", fork.fork)
                };
                for case in &fork.cases {
                    let r = run_case(test, *revision, block, case, &Interpreter, None);
                    assert!(
                        r.passed(),
                        "{file} {} {:?}: {:?}",
                        fork.fork,
                        case.indexes,
                        r.mismatches
                    );
                    assert_eq!(r.state_root, case.hash);
                    assert_eq!(r.rejection.is_some(), case.expect_exception.is_some());
                    ran += 1;
                }
            }
        }
    }
    assert_eq!(ran, 17, "every case of the four files");
}
