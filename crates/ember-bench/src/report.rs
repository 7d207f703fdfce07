//! Printing results: the text table and the JSON object.

use crate::measure::geometric_mean;
use crate::CaseResult;
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

/// Width of the case-name column.
const NAME_WIDTH: usize = 36;

/// The table's column headings.
pub fn table_header() -> String {
    format!(
        "{:<NAME_WIDTH$} {:>12} {:>11} {:>11} {:>10}",
        "case", "gas used", "ember", "revm", "revm/ember"
    )
}

/// revm's time over ember's: above 1 means ember is faster.
pub fn ratio(ember_ns: f64, revm_ns: f64) -> f64 {
    revm_ns / ember_ns
}

/// One line of the table: a timed row, or a MISMATCH / ERROR line.
pub fn table_line(r: &CaseResult) -> String {
    match r {
        CaseResult::Timed {
            name,
            outcome,
            ember,
            revm,
        } => format!(
            "{name:<NAME_WIDTH$} {:>12} {:>11} {:>11} {:>10.3}",
            outcome.gas_used,
            format_ns(ember.median_ns),
            format_ns(revm.median_ns),
            ratio(ember.median_ns, revm.median_ns)
        ),
        CaseResult::Mismatch { name, differences } => {
            format!("MISMATCH {name}: {}", differences.join("; "))
        }
        CaseResult::Unsupported { name, reason } => format!("ERROR {name}: {reason}"),
    }
}

/// The ratios of the timed cases.
fn ratios(results: &[CaseResult]) -> Vec<f64> {
    results
        .iter()
        .filter_map(|r| match r {
            CaseResult::Timed { ember, revm, .. } => Some(ratio(ember.median_ns, revm.median_ns)),
            _ => None,
        })
        .collect()
}

/// The closing line with the geometric mean of the ratios.
pub fn geometric_mean_line(results: &[CaseResult]) -> String {
    let r = ratios(results);
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

/// Everything as one JSON object. `context` carries the run's settings (suite, directory,
/// what is timed), which are copied in as they are.
pub fn to_json(context: Value, results: &[CaseResult]) -> Value {
    let mut cases = Vec::new();
    let mut failures = Vec::new();
    for r in results {
        match r {
            CaseResult::Timed {
                name,
                outcome,
                ember,
                revm,
            } => cases.push(json!({
                "name": name,
                "status": outcome.status.name(),
                "gas_used": outcome.gas_used,
                "ember_ns": ember.median_ns,
                "revm_ns": revm.median_ns,
                "ratio": ratio(ember.median_ns, revm.median_ns),
                "ember_samples": ember.samples,
                "revm_samples": revm.samples,
                "ember_batch": ember.batch,
                "revm_batch": revm.batch,
            })),
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
    out["geometric_mean"] = json!(geometric_mean(&ratios(results)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::Timing;
    use crate::outcome::Outcome;
    use ember_evm::StatusCode;

    fn timed(name: &str, ember_ns: f64, revm_ns: f64) -> CaseResult {
        let t = |ns| Timing {
            median_ns: ns,
            samples: 10,
            batch: 1,
        };
        CaseResult::Timed {
            name: name.into(),
            outcome: Outcome {
                status: StatusCode::Success,
                gas_used: 21,
                gas_refund: 0,
                output: vec![],
                logs: vec![],
                unsupported: None,
            },
            ember: t(ember_ns),
            revm: t(revm_ns),
        }
    }

    #[test]
    fn times_get_readable_units() {
        assert_eq!(format_ns(950.0), "950 ns");
        assert_eq!(format_ns(1_500.0), "1.50 µs");
        assert_eq!(format_ns(12_345_678.0), "12.35 ms");
        assert_eq!(format_ns(2.5e9), "2.500 s");
        assert_eq!(format_ns(f64::NAN), "n/a");
    }

    #[test]
    fn rows_and_the_mean_line() {
        let results = vec![
            timed("a/x", 100.0, 200.0),
            timed("b/y", 100.0, 800.0),
            CaseResult::Mismatch {
                name: "c/z".into(),
                differences: vec!["gas used: ember=1 revm=2".into()],
            },
        ];
        let row = table_line(&results[0]);
        assert!(row.starts_with("a/x "));
        assert!(row.ends_with("2.000"), "{row}");
        assert_eq!(
            table_line(&results[2]),
            "MISMATCH c/z: gas used: ember=1 revm=2"
        );
        // sqrt(2 * 8) = 4; the mismatch is left out.
        assert_eq!(
            geometric_mean_line(&results),
            "geometric mean of revm/ember over 2 case(s): 4.000 (ember 4.00x as fast as revm)"
        );
        assert_eq!(
            geometric_mean_line(&[timed("a", 400.0, 100.0)]),
            "geometric mean of revm/ember over 1 case(s): 0.250 (ember takes 4.00x revm's time)"
        );
        assert!(geometric_mean_line(&[]).contains("n/a"));
    }

    #[test]
    fn json_has_cases_failures_and_mean() {
        let results = vec![
            timed("a/x", 100.0, 300.0),
            CaseResult::Unsupported {
                name: "d/w".into(),
                reason: "nested call".into(),
            },
        ];
        let v = to_json(json!({"suite": "main"}), &results);
        assert_eq!(v["suite"], "main");
        assert_eq!(v["cases"][0]["name"], "a/x");
        assert_eq!(v["cases"][0]["ratio"], 3.0);
        assert_eq!(v["cases"][0]["gas_used"], 21);
        assert_eq!(v["failures"][0]["kind"], "unsupported");
        assert!((v["geometric_mean"].as_f64().unwrap() - 3.0).abs() < 1e-12);
        assert_eq!(to_json(json!({}), &[])["geometric_mean"], Value::Null);
    }
}
