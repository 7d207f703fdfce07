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
            "{:<NAME_WIDTH$} {:>12} {:>12} {:>11} {:>11} {:>11} {:>10} {:>8}  {:>31} {:>8}",
            "case",
            "gas used",
            "ember interp",
            "ember jit",
            "revm",
            "revm/interp",
            "interp/jit",
            "revm/jit",
            "level, compile ms (IR/opt/emit)",
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
                Jit::Timed {
                    level,
                    timing,
                    compile,
                } => format!(
                    "{common} {:>12} {:>11} {:>11} {revm_over_interp:>11.3} {:>10.3} {:>8.3}  {:>31} {:>8.1}",
                    format_ns(interp.median_ns),
                    format_ns(timing.median_ns),
                    format_ns(revm.median_ns),
                    ratio(timing.median_ns, interp.median_ns),
                    ratio(timing.median_ns, revm.median_ns),
                    format!(
                        "{level:?} {} ({}/{}/{})",
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
                    Jit::Timed {
                        level,
                        timing,
                        compile,
                    } => {
                        let mut v = timing_json(timing);
                        v["level"] = json!(format!("{level:?}"));
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
mod tests;
