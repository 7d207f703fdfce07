//! What a corpus of the `txdiff` fuzz target covers: every input decoded into its case (as
//! the target does, without running it), tallied by revision, transaction type and kind.
//!
//! ```text
//! cargo run --release -p ember-txdiff --example coverage -- DIR [DIR ...]
//! ```

use ember_txdiff::{gen, Rng};
use std::collections::BTreeMap;

fn main() {
    let dirs: Vec<String> = std::env::args().skip(1).collect();
    if dirs.is_empty() {
        eprintln!("usage: coverage DIR [DIR ...]");
        std::process::exit(2);
    }
    let mut by_rev: BTreeMap<String, [u64; 5]> = BTreeMap::new();
    let (mut inputs, mut creates) = (0u64, 0u64);
    for dir in &dirs {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("coverage: {dir}: {e}");
                std::process::exit(2);
            }
        };
        for entry in entries.flatten() {
            let Ok(data) = std::fs::read(entry.path()) else {
                continue;
            };
            let case = gen::case(&mut Rng::from_bytes(&data), None);
            let row = by_rev.entry(format!("{:?}", case.rev)).or_default();
            let ty = case.tx.tx_type as usize;
            if ty < row.len() {
                row[ty] += 1;
            }
            creates += u64::from(case.tx.to.is_none());
            inputs += 1;
        }
    }
    println!("| revision | legacy | 2930 | 1559 | 4844 | 7702 |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (rev, row) in &by_rev {
        println!(
            "| {rev} | {} | {} | {} | {} | {} |",
            row[0], row[1], row[2], row[3], row[4]
        );
    }
    println!(
        "coverage: {inputs} inputs in {} revisions, {creates} of them creates.",
        by_rev.len()
    );
}
