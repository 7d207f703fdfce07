//! Printing results: the text table, its closing lines and the JSON object.

use crate::measure::{geometric_mean, median, Timing};
use crate::{CaseResult, Jit};
use ember_evm::B256;
use ember_jit::CompileStats;
use serde_json::{json, Value};

/// A time in nanoseconds with a unit that keeps 3–4 significant digits.
pub fn format_ns(ns: f64) -> String {
    if !ns.is_finite() {
        "n/a".into()
    } else if ns < 1e3 {
        format!("{ns:.0} ns")
    } else if ns < 1e6 {
        format!("{:.2} µs", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.3} s", ns / 1e9)
    }
}

/// Nanoseconds as milliseconds with about three significant digits, without the unit.
pub fn format_ms(ns: f64) -> String {
    let ms = ns / 1e6;
    if ms < 10.0 {
        format!("{ms:.2}")
    } else if ms < 100.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.0}")
    }
}

/// Width of the case-name column.
const NAME_WIDTH: usize = 36;

/// The table's column headings; `jit` is false for the two-engine run of `--no-jit`.
pub fn table_header(jit: bool) -> String {
    if jit {
        format!(
            "{:<NAME_WIDTH$} {:>12} {:>12} {:>11} {:>11} {:>11} {:>10} {:>8}  {:>24} {:>8}",
            "case",
            "gas used",
            "ember interp",
            "ember jit",
            "revm",
            "revm/interp",
            "interp/jit",
            "revm/jit",
            "compile ms (IR/opt/emit)",
            "code KiB"
        )
    } else {
        format!(
            "{:<NAME_WIDTH$} {:>12} {:>11} {:>11} {:>10}",
            "case", "gas used", "ember", "revm", "revm/ember"
        )
    }
}

/// The slower engine's time over the faster one's: `ratio(fast, slow)` above 1 means `fast`
/// takes less time. `ratio(interp, revm)` is revm/interp.
pub fn ratio(fast_ns: f64, slow_ns: f64) -> f64 {
    slow_ns / fast_ns
}

/// Total compile time in nanoseconds.
fn total_ns(c: &CompileStats) -> u64 {
    c.ir_ns + c.opt_ns + c.emit_ns
}

/// One line of the table: a timed row, or a MISMATCH / ERROR line.
pub fn table_line(r: &CaseResult) -> String {
    match r {
        CaseResult::Timed {
            name,
            outcome,
            interp,
            jit,
            revm,
            ..
        } => {
            let common = format!("{name:<NAME_WIDTH$} {:>12}", outcome.gas_used);
            let revm_over_interp = ratio(interp.median_ns, revm.median_ns);
            match jit {
                Jit::Off => format!(
                    "{common} {:>11} {:>11} {revm_over_interp:>10.3}",
                    format_ns(interp.median_ns),
                    format_ns(revm.median_ns),
                ),
                Jit::NotCompiled { reason } => format!(
                    "{common} {:>12} {:>11} {:>11} {revm_over_interp:>11.3} {:>10} {:>8}  {reason}",
                    format_ns(interp.median_ns),
                    "n/a",
                    format_ns(revm.median_ns),
                    "n/a",
                    "n/a",
                ),
                Jit::Timed { timing, compile } => format!(
                    "{common} {:>12} {:>11} {:>11} {revm_over_interp:>11.3} {:>10.3} {:>8.3}  {:>24} {:>8.1}",
                    format_ns(interp.median_ns),
                    format_ns(timing.median_ns),
                    format_ns(revm.median_ns),
                    ratio(timing.median_ns, interp.median_ns),
                    ratio(timing.median_ns, revm.median_ns),
                    format!(
                        "{} ({}/{}/{})",
                        format_ms(total_ns(compile) as f64),
                        format_ms(compile.ir_ns as f64),
                        format_ms(compile.opt_ns as f64),
                        format_ms(compile.emit_ns as f64),
                    ),
                    compile.code_bytes as f64 / 1024.0,
                ),
            }
        }
        CaseResult::Mismatch { name, differences } => {
            format!("MISMATCH {name}: {}", differences.join("; "))
        }
        CaseResult::Unsupported { name, reason } => format!("ERROR {name}: {reason}"),
    }
}

/// `f(interp, jit, revm)` over the timed cases that `f` gives a value for.
fn per_timed_case<T>(
    results: &[CaseResult],
    f: impl Fn(&Timing, &Jit, &Timing) -> Option<T>,
) -> Vec<T> {
    results
        .iter()
        .filter_map(|r| match r {
            CaseResult::Timed {
                interp, jit, revm, ..
            } => f(interp, jit, revm),
            _ => None,
        })
        .collect()
}

/// revm/interp of the timed cases.
fn revm_over_interp(results: &[CaseResult]) -> Vec<f64> {
    per_timed_case(results, |i, _, r| Some(ratio(i.median_ns, r.median_ns)))
}

/// interp/jit of the cases whose compiled code was timed.
fn interp_over_jit(results: &[CaseResult]) -> Vec<f64> {
    per_timed_case(results, |i, j, _| match j {
        Jit::Timed { timing, .. } => Some(ratio(timing.median_ns, i.median_ns)),
        _ => None,
    })
}

/// revm/jit of the cases whose compiled code was timed.
fn revm_over_jit(results: &[CaseResult]) -> Vec<f64> {
    per_timed_case(results, |_, j, r| match j {
        Jit::Timed { timing, .. } => Some(ratio(timing.median_ns, r.median_ns)),
        _ => None,
    })
}

/// The closing line with the geometric mean of revm/interp ("ember" is the interpreter).
pub fn geometric_mean_line(results: &[CaseResult]) -> String {
    let r = revm_over_interp(results);
    match geometric_mean(&r) {
        Some(g) => format!(
            "geometric mean of revm/ember over {} case(s): {g:.3} ({})",
            r.len(),
            if g >= 1.0 {
                format!("ember {g:.2}x as fast as revm")
            } else {
                format!("ember takes {:.2}x revm's time", 1.0 / g)
            }
        ),
        None => "geometric mean of revm/ember: n/a (no case was timed)".into(),
    }
}

/// A geometric-mean line for compiled code against `other`.
fn jit_mean_line(label: &str, other: &str, ratios: &[f64]) -> String {
    match geometric_mean(ratios) {
        Some(g) => format!(
            "geometric mean of {label} over {} case(s): {g:.3} ({})",
            ratios.len(),
            if g >= 1.0 {
                format!("compiled code {g:.2}x as fast as {other}")
            } else {
                format!("compiled code takes {:.2}x {other}'s time", 1.0 / g)
            }
        ),
        None => format!("geometric mean of {label}: n/a (no compiled code was timed)"),
    }
}

/// The median and the maximum of some quantity over contracts.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Spread {
    median: f64,
    max: f64,
}

impl Spread {
    /// The spread of `f` over `stats`; `None` if `stats` is empty.
    fn of(stats: &[CompileStats], f: impl Fn(&CompileStats) -> u64) -> Option<Spread> {
        let mut xs: Vec<f64> = stats.iter().map(|c| f(c) as f64).collect();
        let median = median(&mut xs)?;
        // `median` sorted `xs`, which is not empty.
        let max = *xs.last()?;
        Some(Spread { median, max })
    }

    fn to_json(self) -> Value {
        json!({"median": self.median, "max": self.max})
    }
}

/// Compile time (nanoseconds) and machine-code size (bytes) over the compiled contracts.
struct Spreads {
    total: Spread,
    ir: Spread,
    opt: Spread,
    emit: Spread,
    code_bytes: Spread,
}

/// What compiling the distinct contracts of a run cost: each contract counts once, with its
/// first compilation in table order.
struct CompileSummary {
    compiled: usize,
    not_compiled: usize,
    /// `None` when no contract was compiled.
    spreads: Option<Spreads>,
}

impl CompileSummary {
    fn of(results: &[CaseResult]) -> Self {
        let mut seen: Vec<B256> = Vec::new();
        let mut compiled = Vec::new();
        let mut not_compiled = 0;
        for r in results {
            let CaseResult::Timed { contract, jit, .. } = r else {
                continue;
            };
            if matches!(jit, Jit::Off) || seen.contains(contract) {
                continue;
            }
            seen.push(*contract);
            match jit {
                Jit::Timed { compile, .. } => compiled.push(*compile),
                _ => not_compiled += 1,
            }
        }
        let spreads = || {
            Some(Spreads {
                total: Spread::of(&compiled, total_ns)?,
                ir: Spread::of(&compiled, |c| c.ir_ns)?,
                opt: Spread::of(&compiled, |c| c.opt_ns)?,
                emit: Spread::of(&compiled, |c| c.emit_ns)?,
                code_bytes: Spread::of(&compiled, |c| c.code_bytes as u64)?,
            })
        };
        CompileSummary {
            compiled: compiled.len(),
            not_compiled,
            spreads: spreads(),
        }
    }
}

/// The lines after the table: the geometric mean of revm/interp, and with the compiled tier
/// (`jit`) the geometric means of interp/jit and revm/jit, compile time per contract (median
/// and max of total, IR, optimisation and emission over the distinct contracts) and the
/// machine-code size.
pub fn closing_lines(results: &[CaseResult], jit: bool) -> Vec<String> {
    let mut lines = vec![geometric_mean_line(results)];
    if !jit {
        return lines;
    }
    lines.push(jit_mean_line(
        "interp/jit",
        "the interpreter",
        &interp_over_jit(results),
    ));
    lines.push(jit_mean_line("revm/jit", "revm", &revm_over_jit(results)));
    let summary = CompileSummary::of(results);
    let not_compiled = match summary.not_compiled {
        0 => String::new(),
        n => format!(" ({n} not compiled)"),
    };
    match &summary.spreads {
        Some(s) => {
            let times = [
                ("total", s.total),
                ("IR", s.ir),
                ("opt", s.opt),
                ("emit", s.emit),
            ]
            .map(|(name, t)| {
                format!(
                    "{name} median {} max {}",
                    format_ms(t.median),
                    format_ms(t.max)
                )
            })
            .join("; ");
            lines.push(format!(
                "compile time per contract over {} distinct contract(s){not_compiled}, ms: {times}",
                summary.compiled
            ));
            lines.push(format!(
                "machine code per contract: median {:.1} KiB, max {:.1} KiB",
                s.code_bytes.median / 1024.0,
                s.code_bytes.max / 1024.0
            ));
        }
        None => lines.push(format!(
            "compile time per contract: n/a (no contract was compiled){not_compiled}"
        )),
    }
    lines
}

/// The run in one sentence, the last line `ember-bench` prints: how many cases of `suite` were
/// timed, how many failed, and the interpreter's geometric-mean speed against revm.
pub fn summary_line(suite: &str, results: &[CaseResult], jit: bool) -> String {
    let failed = results
        .iter()
        .filter(|r| !matches!(r, CaseResult::Timed { .. }))
        .count();
    let engines = if jit {
        "ember's interpreter, its compiled code and revm"
    } else {
        "ember's interpreter and revm"
    };
    let agreement = match failed {
        0 => "all agreed".to_owned(),
        n => format!("{n} failed (a mismatch or a case the harness cannot run)"),
    };
    let speed = match geometric_mean(&revm_over_interp(results)) {
        Some(g) if g >= 1.0 => {
            format!("; the interpreter is {g:.2}x as fast as revm (geometric mean)")
        }
        Some(g) => format!(
            "; the interpreter takes {:.2}x revm's time (geometric mean)",
            1.0 / g
        ),
        None => String::new(),
    };
    format!(
        "ember-bench: {} case(s) of suite {suite} run in {engines}: {agreement}{speed}.",
        results.len()
    )
}

/// A timing as JSON.
fn timing_json(t: &Timing) -> Value {
    json!({"ns": t.median_ns, "samples": t.samples, "batch": t.batch})
}

/// Everything as one JSON object. `context` carries the run's settings (suite, directory,
/// what is timed), which are copied in as they are. Per case: `interp`, `revm` and (null with
/// `--no-jit`) `jit` timings, with the compile statistics or why the contract was not
/// compiled; at the end the geometric means and the compile summary (null with `--no-jit`).
pub fn to_json(context: Value, results: &[CaseResult], jit: bool) -> Value {
    let mut cases = Vec::new();
    let mut failures = Vec::new();
    for r in results {
        match r {
            CaseResult::Timed {
                name,
                contract,
                outcome,
                interp,
                jit,
                revm,
            } => {
                let jit = match jit {
                    Jit::Off => Value::Null,
                    Jit::NotCompiled { reason } => json!({"not_compiled": reason}),
                    Jit::Timed { timing, compile } => {
                        let mut v = timing_json(timing);
                        v["interp_over_jit"] = json!(ratio(timing.median_ns, interp.median_ns));
                        v["revm_over_jit"] = json!(ratio(timing.median_ns, revm.median_ns));
                        v["compile"] = json!({
                            "total_ns": total_ns(compile),
                            "ir_ns": compile.ir_ns,
                            "opt_ns": compile.opt_ns,
                            "emit_ns": compile.emit_ns,
                            "code_bytes": compile.code_bytes,
                        });
                        v
                    }
                };
                cases.push(json!({
                    "name": name,
                    "contract_hash": format!("0x{}", ember_evm::to_hex(&contract.0)),
                    "status": outcome.status.name(),
                    "gas_used": outcome.gas_used,
                    "interp": timing_json(interp),
                    "jit": jit,
                    "revm": timing_json(revm),
                    "revm_over_interp": ratio(interp.median_ns, revm.median_ns),
                }))
            }
            CaseResult::Mismatch { name, differences } => failures.push(json!({
                "name": name,
                "kind": "mismatch",
                "details": differences,
            })),
            CaseResult::Unsupported { name, reason } => failures.push(json!({
                "name": name,
                "kind": "unsupported",
                "details": [reason],
            })),
        }
    }
    let mut out = context;
    out["cases"] = Value::Array(cases);
    out["failures"] = Value::Array(failures);
    out["geometric_mean"] = json!(geometric_mean(&revm_over_interp(results)));
    out["geometric_mean_interp_over_jit"] = json!(geometric_mean(&interp_over_jit(results)));
    out["geometric_mean_revm_over_jit"] = json!(geometric_mean(&revm_over_jit(results)));
    out["compile"] = if jit {
        let summary = CompileSummary::of(results);
        let spread = |f: fn(&Spreads) -> Spread| {
            summary
                .spreads
                .as_ref()
                .map_or(Value::Null, |s| f(s).to_json())
        };
        json!({
            "contracts": summary.compiled,
            "not_compiled": summary.not_compiled,
            "total_ns": spread(|s| s.total),
            "ir_ns": spread(|s| s.ir),
            "opt_ns": spread(|s| s.opt),
            "emit_ns": spread(|s| s.emit),
            "code_bytes": spread(|s| s.code_bytes),
        })
    } else {
        Value::Null
    };
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Outcome;
    use ember_evm::StatusCode;

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
}
