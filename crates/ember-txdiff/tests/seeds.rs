//! The deterministic short run of the transaction-level differential fuzzer: fixed seeds and
//! the checked-in corpus, each case run in ember's interpreter, its compiled tier and revm.

use ember_runtime::{Runtime, RuntimeConfig, Tier};
use ember_txdiff::{check, gen, Rng, Status};
use std::path::Path;

/// Checks every case, printing each disagreement; returns how many cases ran and disagreed.
/// `ends` counts success, revert and halt.
fn run_all(cases: impl Iterator<Item = (String, gen::Case)>) -> (usize, [usize; 3], Vec<String>) {
    let compiled = Runtime::new(RuntimeConfig::with_tier(Tier::Jit));
    let mut total = 0;
    let mut ends = [0; 3];
    let mut failures = Vec::new();
    for (name, case) in cases {
        let report = check(case, &compiled);
        total += 1;
        match report.status {
            Some(Status::Success) => ends[0] += 1,
            Some(Status::Revert) => ends[1] += 1,
            Some(Status::Halt) => ends[2] += 1,
            None => {}
        }
        if !report.agreed() {
            failures.push(format!(
                "{name} ({}, type {}): compiled {:?} revm {:?}",
                report.case.rev, report.case.tx.tx_type, report.compiled, report.revm
            ));
        }
    }
    (total, ends, failures)
}

#[test]
fn fixed_seeds_agree_in_every_engine() {
    // A longer seed-driven campaign: EMBER_TXDIFF_FIRST=N EMBER_TXDIFF_SEEDS=M.
    let env = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default)
    };
    let (first, n) = (env("EMBER_TXDIFF_FIRST", 0), env("EMBER_TXDIFF_SEEDS", 400));
    let start = std::time::Instant::now();
    let (total, ends, failures) = run_all(
        (first..first + n).map(|s| (format!("seed {s}"), gen::case(&mut Rng::from_seed(s), None))),
    );
    for f in &failures {
        println!("{f}");
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{total} cases in {secs:.1} s ({:.0}/s): {} success, {} revert, {} halt, {} rejected; {} disagreements",
        total as f64 / secs,
        ends[0],
        ends[1],
        ends[2],
        total - ends.iter().sum::<usize>(),
        failures.len()
    );
    assert!(failures.is_empty(), "{} disagreements", failures.len());
    // The generator must reach every ending, and mostly valid transactions.
    assert!(ends.iter().all(|&e| e > 0), "{ends:?}");
    assert!(
        ends.iter().sum::<usize>() * 2 > total,
        "{ends:?} of {total}"
    );
}

#[test]
fn the_checked_in_corpus_agrees_in_every_engine() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/fuzz-corpus/txdiff");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("the corpus directory exists")
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let cases = files.iter().map(|p| {
        let bytes = std::fs::read(p).unwrap();
        (
            p.display().to_string(),
            gen::case(&mut Rng::from_bytes(&bytes), None),
        )
    });
    let (total, _, failures) = run_all(cases);
    assert!(failures.is_empty(), "{total} inputs: {failures:#?}");
}
