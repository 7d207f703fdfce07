use super::*;
use crate::outcome::Outcome;
use ember_evm::StatusCode;
use ember_jit::OptLevel;

fn t(ns: f64) -> Timing {
    Timing {
        median_ns: ns,
        samples: 10,
        batch: 1,
    }
}

fn timed(name: &str, contract: u8, interp_ns: f64, jit: Jit, revm_ns: f64) -> CaseResult {
    CaseResult::Timed {
        name: name.into(),
        contract: B256([contract; 32]),
        outcome: Outcome {
            status: StatusCode::Success,
            gas_used: 21,
            gas_refund: 0,
            output: vec![],
            logs: vec![],
            unsupported: None,
        },
        interp: t(interp_ns),
        jit,
        revm: t(revm_ns),
    }
}

/// Compiled code taking `ns` per run, compiled in the given milliseconds.
fn compiled(ns: f64, [ir, opt, emit]: [u64; 3], code_bytes: usize) -> Jit {
    Jit::Timed {
        level: OptLevel::O0,
        timing: t(ns),
        compile: CompileStats {
            ir_ns: ir * 1_000_000,
            opt_ns: opt * 1_000_000,
            emit_ns: emit * 1_000_000,
            code_bytes,
        },
    }
}

fn not_compiled() -> Jit {
    Jit::NotCompiled {
        reason: "not compiled: code of 50000 bytes is over the 49152-byte limit".into(),
    }
}

/// Four timed cases of three contracts (the first contract twice, the third not
/// compiled) and a mismatch. Per timed case revm/interp, interp/jit, revm/jit are:
/// a/x 2, 4, 8; a/y 4, 2, 8; b/x 1, 8, 8; c/x 2, -, -.
fn results() -> Vec<CaseResult> {
    vec![
        timed("a/x", 1, 100.0, compiled(25.0, [1, 0, 3], 1024), 200.0),
        // A second compilation of contract 1: the summary counts the first only.
        timed("a/y", 1, 100.0, compiled(50.0, [9, 9, 9], 999_999), 400.0),
        timed("b/x", 2, 200.0, compiled(25.0, [3, 2, 5], 3072), 200.0),
        timed("c/x", 3, 100.0, not_compiled(), 200.0),
        CaseResult::Mismatch {
            name: "d/x".into(),
            differences: vec!["gas used: interp=1 jit=2".into()],
        },
    ]
}

#[test]
fn the_summary_says_what_happened_in_one_sentence() {
    // revm/interp over the four timed cases: (2*4*1*2)^(1/4) = 2.
    assert_eq!(
        summary_line("main", &results(), true),
        "ember-bench: 5 case(s) of suite main run in ember's interpreter, its compiled code \
         and revm: 1 failed (a mismatch or a case the harness cannot run); the interpreter is \
         2.00x as fast as revm (geometric mean)."
    );
    assert_eq!(
        summary_line("micro", &results()[..1], false),
        "ember-bench: 1 case(s) of suite micro run in ember's interpreter and revm: all \
         agreed; the interpreter is 2.00x as fast as revm (geometric mean)."
    );
    assert_eq!(
        summary_line("main", &results()[4..], false),
        "ember-bench: 1 case(s) of suite main run in ember's interpreter and revm: 1 failed \
         (a mismatch or a case the harness cannot run)."
    );
}

#[test]
fn times_get_readable_units() {
    assert_eq!(format_ns(950.0), "950 ns");
    assert_eq!(format_ns(1_500.0), "1.50 µs");
    assert_eq!(format_ns(12_345_678.0), "12.35 ms");
    assert_eq!(format_ns(2.5e9), "2.500 s");
    assert_eq!(format_ns(f64::NAN), "n/a");
    assert_eq!(format_ms(250_000.0), "0.25");
    assert_eq!(format_ms(12_340_000.0), "12.3");
    assert_eq!(format_ms(1_234_400_000.0), "1234");
}

#[test]
fn two_engine_rows_keep_the_old_columns() {
    let header = table_header(false);
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        ["case", "gas", "used", "ember", "revm", "revm/ember"]
    );
    let row = table_line(&timed("a/x", 1, 100.0, Jit::Off, 200.0));
    assert_eq!(
        row.split_whitespace().collect::<Vec<_>>(),
        ["a/x", "21", "100", "ns", "200", "ns", "2.000"]
    );
    // The columns line up with the header's.
    assert_eq!(row.len(), header.len());
}

#[test]
fn three_engine_rows_have_ratios_compile_time_and_code_size() {
    let header = table_header(true);
    let row = table_line(&timed(
        "a/x",
        1,
        100.0,
        compiled(25.0, [1, 0, 10], 51_200),
        200.0,
    ));
    assert_eq!(
        row.split_whitespace().collect::<Vec<_>>(),
        [
            "a/x",
            "21",
            "100",
            "ns",
            "25",
            "ns",
            "200",
            "ns",
            "2.000",
            "4.000",
            "8.000",
            "O0",
            "11.0",
            "(1.00/0.00/10.0)",
            "50.0"
        ]
    );
    assert_eq!(
        row.chars().count(),
        header.chars().count(),
        "{header}\n{row}"
    );
    // A contract that was not compiled: no JIT time or ratios, and the reason.
    let row = table_line(&timed("c/x", 3, 100.0, not_compiled(), 200.0));
    assert_eq!(
        row.split_whitespace().take(11).collect::<Vec<_>>(),
        ["c/x", "21", "100", "ns", "n/a", "200", "ns", "2.000", "n/a", "n/a", "not"]
    );
    assert!(row.ends_with("  not compiled: code of 50000 bytes is over the 49152-byte limit"));
}

#[test]
fn failure_lines() {
    let r = results();
    assert_eq!(table_line(&r[4]), "MISMATCH d/x: gas used: interp=1 jit=2");
    assert_eq!(
        table_line(&CaseResult::Unsupported {
            name: "e/x".into(),
            reason: "nested call".into()
        }),
        "ERROR e/x: nested call"
    );
}

#[test]
fn closing_lines_with_the_jit() {
    // revm/interp: (2*4*1*2)^(1/4) = 2; interp/jit: (4*2*8)^(1/3) = 4; revm/jit:
    // (8*8*8)^(1/3) = 8. Contracts 1 (1+0+3 ms, 1 KiB) and 2 (3+2+5 ms, 3 KiB): medians
    // are the means of two; contract 3 was not compiled.
    assert_eq!(
        closing_lines(&results(), true),
        [
            "geometric mean of revm/ember over 4 case(s): 2.000 (ember 2.00x as fast as revm)",
            "geometric mean of interp/jit over 3 case(s): 4.000 (compiled code 4.00x as fast \
             as the interpreter)",
            "geometric mean of revm/jit over 3 case(s): 8.000 (compiled code 8.00x as fast as \
             revm)",
            "compile time per contract over 2 distinct contract(s) (1 not compiled), ms: total \
             median 7.00 max 10.0; IR median 2.00 max 3.00; opt median 1.00 max 2.00; emit \
             median 4.00 max 5.00",
            "machine code per contract: median 2.0 KiB, max 3.0 KiB",
        ]
    );
}

#[test]
fn closing_lines_when_slower_or_nothing_was_compiled() {
    let slow = [timed("a", 1, 100.0, compiled(400.0, [1, 1, 1], 10), 20.0)];
    let lines = closing_lines(&slow, true);
    assert_eq!(
        lines[..3],
        [
            "geometric mean of revm/ember over 1 case(s): 0.200 (ember takes 5.00x revm's time)",
            "geometric mean of interp/jit over 1 case(s): 0.250 (compiled code takes 4.00x the \
             interpreter's time)",
            "geometric mean of revm/jit over 1 case(s): 0.050 (compiled code takes 20.00x \
             revm's time)",
        ]
    );
    let none = [timed("c/x", 3, 100.0, not_compiled(), 200.0)];
    assert_eq!(
        closing_lines(&none, true)[1..],
        [
            "geometric mean of interp/jit: n/a (no compiled code was timed)",
            "geometric mean of revm/jit: n/a (no compiled code was timed)",
            "compile time per contract: n/a (no contract was compiled) (1 not compiled)",
        ]
    );
    assert_eq!(
        closing_lines(&[], false),
        ["geometric mean of revm/ember: n/a (no case was timed)"]
    );
}

#[test]
fn without_the_jit_only_the_revm_line_closes() {
    let results = [
        timed("a/x", 1, 100.0, Jit::Off, 200.0),
        timed("b/y", 2, 100.0, Jit::Off, 800.0),
    ];
    // sqrt(2 * 8) = 4.
    assert_eq!(
        closing_lines(&results, false),
        ["geometric mean of revm/ember over 2 case(s): 4.000 (ember 4.00x as fast as revm)"]
    );
}

#[test]
fn json_has_cases_failures_means_and_the_compile_summary() {
    let v = to_json(json!({"suite": "main"}), &results(), true);
    assert_eq!(v["suite"], "main");
    let a = &v["cases"][0];
    assert_eq!(a["name"], "a/x");
    assert_eq!(a["contract_hash"], format!("0x{}", "01".repeat(32)));
    assert_eq!(a["gas_used"], 21);
    assert_eq!(a["interp"]["ns"], 100.0);
    assert_eq!(a["revm"]["samples"], 10);
    assert_eq!(a["revm_over_interp"], 2.0);
    assert_eq!(a["jit"]["ns"], 25.0);
    assert_eq!(a["jit"]["interp_over_jit"], 4.0);
    assert_eq!(a["jit"]["revm_over_jit"], 8.0);
    assert_eq!(a["jit"]["compile"]["total_ns"], 4_000_000);
    assert_eq!(a["jit"]["compile"]["code_bytes"], 1024);
    assert_eq!(a["jit"]["level"], "O0");
    assert!(v["cases"][3]["jit"]["not_compiled"]
        .as_str()
        .is_some_and(|r| r.contains("49152")));
    assert_eq!(v["failures"][0]["kind"], "mismatch");
    let close = |key: &str, want: f64| {
        let got = v[key].as_f64().unwrap();
        assert!((got - want).abs() < 1e-9, "{key}: {got}");
    };
    close("geometric_mean", 2.0);
    close("geometric_mean_interp_over_jit", 4.0);
    close("geometric_mean_revm_over_jit", 8.0);
    let c = &v["compile"];
    assert_eq!(
        (c["contracts"].as_u64(), c["not_compiled"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(c["total_ns"], json!({"median": 7e6, "max": 10e6}));
    assert_eq!(c["ir_ns"], json!({"median": 2e6, "max": 3e6}));
    assert_eq!(c["opt_ns"], json!({"median": 1e6, "max": 2e6}));
    assert_eq!(c["emit_ns"], json!({"median": 4e6, "max": 5e6}));
    assert_eq!(c["code_bytes"], json!({"median": 2048.0, "max": 3072.0}));
}

#[test]
fn json_without_the_jit_or_any_case() {
    let v = to_json(json!({}), &[timed("a/x", 1, 100.0, Jit::Off, 300.0)], false);
    assert_eq!(v["cases"][0]["jit"], Value::Null);
    assert_eq!(v["cases"][0]["revm_over_interp"], 3.0);
    assert!((v["geometric_mean"].as_f64().unwrap() - 3.0).abs() < 1e-12);
    assert_eq!(v["geometric_mean_interp_over_jit"], Value::Null);
    assert_eq!(v["compile"], Value::Null);
    let v = to_json(json!({}), &[], true);
    assert_eq!(v["geometric_mean"], Value::Null);
    assert_eq!(v["compile"]["contracts"], 0);
    assert_eq!(v["compile"]["total_ns"], Value::Null);
}
