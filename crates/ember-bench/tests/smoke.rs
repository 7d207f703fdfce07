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

/// Runs one small case with one sample per engine, plus `extra` arguments; returns stdout
/// after checking that the run succeeded without a mismatch.
fn one_small_case(extra: &[&str]) -> String {
    let mut args = vec![
        "--filter",
        "swap_math/spent",
        "--iterations",
        "1",
        "--min-time",
        "0",
    ];
    args.extend(extra);
    let out = bench(&args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stdout.contains("MISMATCH"), "{stdout}");
    stdout
}

/// The case's row of the table.
fn row(stdout: &str) -> &str {
    stdout
        .lines()
        .find(|l| l.starts_with("swap_math/spent "))
        .unwrap_or_else(|| panic!("no row for the case in:\n{stdout}"))
}

/// The line starting with `prefix`, which must not say n/a.
fn line<'a>(stdout: &'a str, prefix: &str) -> &'a str {
    let line = stdout
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in:\n{stdout}"));
    assert!(!line.contains("n/a"), "{line}");
    line
}

#[test]
fn one_small_case_runs_in_three_engines_and_prints_the_closing_lines() {
    if main_suite().is_none() {
        return;
    }
    let stdout = one_small_case(&[]);
    // Columns: name, gas used, three times with units, three ratios, the level, compile time
    // and its IR/opt/emit parts, code size. swap_math's 1921 bytes of code compile at the
    // runtime's first level for small code.
    let row = row(&stdout);
    assert_eq!(row.split_whitespace().count(), 15, "{row}");
    assert_eq!(row.split_whitespace().nth(11), Some("O1"), "{row}");
    line(&stdout, "geometric mean of revm/ember over 1 case(s): ");
    line(&stdout, "geometric mean of interp/jit over 1 case(s): ");
    line(&stdout, "geometric mean of revm/jit over 1 case(s): ");
    let compile = line(
        &stdout,
        "compile time per contract over 1 distinct contract(s), ms: total median ",
    );
    for part in ["; IR median ", "; opt median ", "; emit median "] {
        assert!(compile.contains(part), "{compile}");
    }
    line(&stdout, "machine code per contract: median ");
    // The last line says what happened in one sentence.
    let last = stdout.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(
            "ember-bench: 1 case(s) of suite main run in ember's interpreter, its compiled \
             code and revm: all agreed; the interpreter "
        ),
        "{last}"
    );
    // One sample of a small case is noise: either phrasing of the speed may come out.
    assert!(
        last.ends_with("as fast as revm (geometric mean).")
            || last.ends_with("revm's time (geometric mean)."),
        "{last}"
    );
}

#[test]
fn without_the_jit_the_two_engine_table_is_printed() {
    if main_suite().is_none() {
        return;
    }
    let stdout = one_small_case(&["--no-jit"]);
    // Columns: name, gas used, ember time + unit, revm time + unit, ratio.
    let row = row(&stdout);
    assert_eq!(row.split_whitespace().count(), 7, "{row}");
    line(&stdout, "geometric mean of revm/ember over 1 case(s): ");
    for gone in ["interp/jit", "revm/jit", "compile time", "machine code"] {
        assert!(!stdout.contains(gone), "{gone} in:\n{stdout}");
    }
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
    // stdout is the JSON alone; the closing sentence went to stderr.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("ember-bench: 3 case(s) of suite "),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert_eq!(v["revision"], "London");
    let positive = |x: &serde_json::Value| x.as_f64().is_some_and(|g| g > 0.0);
    assert!(positive(&v["geometric_mean"]));
    assert!(positive(&v["geometric_mean_interp_over_jit"]));
    assert!(positive(&v["geometric_mean_revm_over_jit"]));
    for case in v["cases"].as_array().expect("a cases array") {
        assert!(positive(&case["jit"]["ns"]), "{case}");
        assert!(positive(&case["jit"]["compile"]["emit_ns"]), "{case}");
    }
    // The three inputs share one contract.
    assert_eq!(v["compile"]["contracts"], 1);
    assert_eq!(v["compile"]["not_compiled"], 0);
    assert!(positive(&v["compile"]["total_ns"]["max"]));
    assert!(positive(&v["compile"]["code_bytes"]["median"]));
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
