//! Runs the `ember-bench` binary on small cases of the shared benchmark suite. No timing is
//! asserted, only that it runs, the engines agree, and the output has the promised shape.

use std::path::PathBuf;
use std::process::{Command, Output};

/// The main suite of the shared checkout, or `None` (with a message) when it is absent.
fn main_suite() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/evm-benchmarks/benchmarks/main");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipping: {} is absent (the shared benchmark checkout is not there)",
            dir.display()
        );
        None
    }
}

fn bench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ember-bench"))
        .args(args)
        .output()
        .expect("the ember-bench binary runs")
}

#[test]
fn one_small_case_runs_and_prints_the_geometric_mean() {
    if main_suite().is_none() {
        return;
    }
    let out = bench(&[
        "--filter",
        "swap_math/spent",
        "--iterations",
        "1",
        "--min-time",
        "0",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stdout.contains("MISMATCH"), "{stdout}");
    let row = stdout
        .lines()
        .find(|l| l.starts_with("swap_math/spent "))
        .unwrap_or_else(|| panic!("no row for the case in:\n{stdout}"));
    // Columns: name, gas used, ember time + unit, revm time + unit, ratio.
    assert_eq!(row.split_whitespace().count(), 7, "{row}");
    let mean = stdout
        .lines()
        .find(|l| l.starts_with("geometric mean of revm/ember over 1 case(s): "))
        .unwrap_or_else(|| panic!("no geometric mean line in:\n{stdout}"));
    assert!(!mean.contains("n/a"), "{mean}");
}

#[test]
fn json_output_is_one_object_with_every_selected_case() {
    let Some(dir) = main_suite() else { return };
    let out = bench(&[
        "--dir",
        dir.to_str().expect("a UTF-8 path"),
        "--filter",
        "swap_math/",
        "--iterations",
        "1",
        "--min-time",
        "0",
        "--json",
    ]);
    assert!(out.status.success(), "exit {:?}", out.status);
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("stdout is one JSON value");
    let names: Vec<_> = v["cases"]
        .as_array()
        .expect("a cases array")
        .iter()
        .map(|c| c["name"].as_str().expect("a case name"))
        .collect();
    // The labels come from the file's _info.labels.
    assert_eq!(
        names,
        [
            "swap_math/spent",
            "swap_math/received",
            "swap_math/insufficient_liquidity"
        ]
    );
    assert_eq!(v["failures"], serde_json::json!([]));
    assert_eq!(v["revision"], "London");
    assert!(v["geometric_mean"].as_f64().is_some_and(|g| g > 0.0));
}

#[test]
fn missing_directory_and_bad_arguments_exit_2() {
    let out = bench(&["--dir", "/nonexistent/ember-bench-suite"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found"));
    let out = bench(&["--iterations", "many"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage:"));
}

#[test]
fn a_filter_matching_nothing_exits_2() {
    if main_suite().is_none() {
        return;
    }
    let out = bench(&["--filter", "no-such-benchmark"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no case"));
}

#[test]
fn a_malformed_benchmark_file_exits_2_naming_the_file() {
    let dir = std::env::temp_dir().join(format!("ember-bench-smoke-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let file = dir.join("broken.json");
    std::fs::write(&file, "{\"t\": {\"transaction\": ").expect("write the file");
    let out = bench(&["--dir", dir.to_str().expect("a UTF-8 path")]);
    std::fs::remove_dir_all(&dir).expect("remove the temporary directory");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("broken.json") && stderr.contains("invalid JSON"),
        "{stderr}"
    );
}
