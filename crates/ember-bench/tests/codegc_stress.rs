//! The short version of the code-GC stress check: the `codegc-stress` binary on a few hundred
//! contracts with the smallest budget, so that nearly every compile evicts another version.

use serde_json::Value;
use std::process::{Command, Output};

fn stress(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_codegc-stress"))
        .args(args)
        .output()
        .expect("the codegc-stress binary runs")
}

/// Runs the binary, which must succeed, and returns its JSON summary.
fn summary(args: &[&str]) -> Value {
    let out = stress(args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    // No progress unless asked for (stderr is not a terminal here): stderr is the closing
    // sentence alone.
    let stderr = String::from_utf8_lossy(&out.stderr);
    let v: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let sentence = format!(
        "codegc-stress: {} contracts on {} thread(s) in ",
        number(&v, "contracts"),
        number(&v, "threads")
    );
    assert!(stderr.starts_with(&sentence), "{stderr}");
    assert!(
        stderr.trim_end().ends_with(&format!(
            "{} mismatches, peak RSS {:.1} MiB.",
            number(&v, "mismatches"),
            number(&v, "peakRssBytes") as f64 / (1 << 20) as f64
        )),
        "{stderr}"
    );
    v
}

fn number(v: &Value, field: &str) -> u64 {
    v[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field} is not a whole number in {v}"))
}

#[test]
fn a_few_hundred_contracts_in_a_64_kib_cache_compile_evict_and_agree() {
    let budget = 65536;
    let v = summary(&[
        "--contracts",
        "300",
        "--budget",
        "65536",
        "--sample-ms",
        "20",
    ]);
    for field in [
        "contracts",
        "threads",
        "budgetBytes",
        "compiles",
        "evictions",
        "idleEvictions",
        "discards",
        "mismatches",
        "peakRssBytes",
        "calls",
        "ranCompiled",
        "waitTimeouts",
    ] {
        number(&v, field);
    }
    for field in ["seconds", "compileSecondsTotal"] {
        assert!(v[field].as_f64().is_some(), "{field} in {v}");
    }
    assert_eq!(number(&v, "contracts"), 300);
    assert_eq!(number(&v, "threads"), 2);
    assert_eq!(number(&v, "budgetBytes"), budget);
    assert_eq!(number(&v, "mismatches"), 0);
    let compiles = number(&v, "compiles");
    let evictions = number(&v, "evictions");
    assert!(compiles > 0, "{v}");
    assert!(evictions > 0, "{v}");
    // Every version holds at least one 4 KiB page of the code heap, so at most 16 fit in
    // 64 KiB: all other compiles left by eviction (or by a recompile exit).
    assert!(
        evictions + number(&v, "invalidations") + 16 >= compiles,
        "{v}"
    );
    // Every contract waits for its compiled code, so nearly all of them run it.
    assert!(number(&v, "ranCompiled") >= 270, "{v}");
    assert!(number(&v, "calls") >= 300 * 5, "{v}");

    let samples = v["rssSamples"].as_array().expect("rssSamples is a list");
    assert!(
        samples.len() >= 2,
        "a first and a last sample at least: {v}"
    );
    let mut done = 0;
    for s in samples {
        let published = number(s, "publishedBytes");
        assert!(published <= budget, "published above the budget: {s}");
        number(s, "residentBytes");
        assert!(number(s, "rssBytes") > 0, "{s}");
        assert!(s["seconds"].as_f64().is_some(), "{s}");
        let now = number(s, "contractsDone");
        assert!(now >= done, "contractsDone went back: {s}");
        done = now;
    }
    assert_eq!(done, 300, "the last sample is taken at the end");
    let warm = &v["rssAfterWarmupBytes"];
    let (min, max) = (number(warm, "min"), number(warm, "max"));
    assert!(min > 0 && min <= max, "{warm}");
    // A process running LLVM holds tens of MiB.
    assert!(number(&v, "vmHwmBytes") > 1 << 20, "{v}");
}

#[test]
fn discards_between_contracts_on_several_threads_keep_results_identical() {
    let v = summary(&[
        "--contracts",
        "120",
        "--budget",
        "131072",
        "--threads",
        "4",
        "--discard-every",
        "10",
    ]);
    assert_eq!(number(&v, "mismatches"), 0);
    assert_eq!(number(&v, "threads"), 4);
    assert_eq!(number(&v, "discards"), 12, "{v}");
    assert!(number(&v, "compiles") > 0, "{v}");
}

#[test]
fn bad_options_get_one_line_and_exit_2() {
    for args in [
        &["--contracts", "10"][..],
        &["--contracts", "10", "--budget", "4096"],
        &["--contracts", "ten", "--budget", "65536"],
        &["--contracts", "10", "--budget", "65536", "--threads"],
        &["--contracts", "10", "--budget", "65536", "--calls", "1"],
        &[
            "--contracts",
            "10",
            "--budget",
            "65536",
            "--set",
            "tier=interp",
        ],
        &["--bogus"],
    ] {
        let out = stress(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("codegc-stress: "), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
