//! What `evm-statetest` prints: failures, skips, unreadable files, a per-fork summary and
//! the final `N passed, M failed[, K skipped]` line; or the `--json` array.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use ember_evm::Revision;
use ember_state::statetest::{CaseResult, Indexes};
use serde_json::{json, Value};

/// One case that ran.
pub struct CaseRecord {
    pub test: String,
    pub fork: String,
    pub revision: Revision,
    pub index: Indexes,
    pub result: CaseResult,
}

/// The cases of one fork of one test that could not run, and why.
pub struct SkipRecord {
    pub test: String,
    pub fork: String,
    pub reason: String,
    pub cases: usize,
}

/// The cases run and skipped in one file.
pub struct FileRun {
    pub cases: Vec<CaseRecord>,
    pub skips: Vec<SkipRecord>,
}

/// One fixture file: what ran, or why it could not be read or parsed.
pub struct FileReport {
    pub path: PathBuf,
    pub outcome: Result<FileRun, String>,
}

/// Exit status when every case passed.
pub const EXIT_PASS: u8 = 0;
/// Exit status when a case failed.
pub const EXIT_FAIL: u8 = 1;
/// Exit status when a fixture file could not be read or parsed.
pub const EXIT_BAD_FILE: u8 = 3;

#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
    skipped: usize,
}

/// Writes the human-readable report and returns the exit status. Each failure names the
/// test, file, fork and indexes and lists what differed; the last line is exactly
/// `N passed, M failed` plus `, K skipped` when K > 0. A file that could not be read or
/// parsed counts as one failure.
pub fn print_human(out: &mut dyn Write, files: &[FileReport], stats: Option<&str>) -> u8 {
    // Output errors (a closed pipe) cannot be reported anywhere better; the exit status
    // still tells the outcome.
    let _ = write_human(out, files, stats);
    let bad_files = files.iter().any(|f| f.outcome.is_err());
    let failed = files
        .iter()
        .filter_map(|f| f.outcome.as_ref().ok())
        .any(|run| run.cases.iter().any(|c| !c.result.passed()));
    if bad_files {
        EXIT_BAD_FILE
    } else if failed {
        EXIT_FAIL
    } else {
        EXIT_PASS
    }
}

fn write_human(
    out: &mut dyn Write,
    files: &[FileReport],
    stats: Option<&str>,
) -> std::io::Result<()> {
    let mut by_fork: BTreeMap<(Option<Revision>, String), Tally> = BTreeMap::new();
    let mut bad_files = 0usize;
    for file in files {
        let path = file.path.display();
        let run = match &file.outcome {
            Ok(run) => run,
            Err(e) => {
                bad_files += 1;
                writeln!(out, "ERROR {path}: {e}")?;
                continue;
            }
        };
        for c in &run.cases {
            let tally = by_fork
                .entry((Some(c.revision), c.revision.fixture_name().to_owned()))
                .or_default();
            if c.result.passed() {
                tally.passed += 1;
                continue;
            }
            tally.failed += 1;
            let Indexes { data, gas, value } = c.index;
            writeln!(
                out,
                "FAIL {} [{} data={data} gas={gas} value={value}] in {path}",
                c.test, c.fork
            )?;
            for m in &c.result.mismatches {
                writeln!(out, "  {m}")?;
            }
        }
        for s in &run.skips {
            by_fork.entry((None, s.fork.clone())).or_default().skipped += s.cases;
            writeln!(
                out,
                "SKIP {} [{}] in {path}: {} ({} case{})",
                s.test,
                s.fork,
                s.reason,
                s.cases,
                if s.cases == 1 { "" } else { "s" }
            )?;
        }
    }

    let mut total = Tally::default();
    if !by_fork.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "{:<20} {:>8} {:>8} {:>8}",
            "fork", "passed", "failed", "skipped"
        )?;
        // Known revisions in fork order, then the forks that could not run by name.
        let mut rows: Vec<_> = by_fork.iter().collect();
        rows.sort_by_key(|((rev, name), _)| (rev.is_none(), *rev, name.clone()));
        for ((_, name), t) in rows {
            writeln!(
                out,
                "{name:<20} {:>8} {:>8} {:>8}",
                t.passed, t.failed, t.skipped
            )?;
            total.passed += t.passed;
            total.failed += t.failed;
            total.skipped += t.skipped;
        }
    }
    if bad_files > 0 {
        writeln!(
            out,
            "{bad_files} fixture file(s) could not be read or parsed"
        )?;
    } else if by_fork.is_empty() {
        writeln!(out, "warning: no test case matched")?;
    }
    if let Some(s) = stats {
        writeln!(out, "{s}")?;
    }
    let failed = total.failed + bad_files;
    if total.skipped > 0 {
        writeln!(
            out,
            "{} passed, {failed} failed, {} skipped",
            total.passed, total.skipped
        )?;
    } else {
        writeln!(out, "{} passed, {failed} failed", total.passed)?;
    }
    out.flush()
}

/// The `--json` output: one array with an object per case that ran, in file order.
pub fn json_results(files: &[FileReport]) -> String {
    let cases: Vec<Value> = files
        .iter()
        .filter_map(|f| f.outcome.as_ref().ok())
        .flat_map(|run| &run.cases)
        .map(|c| {
            let r = &c.result;
            json!({
                "name": c.test,
                "fork": c.fork,
                "index": { "data": c.index.data, "gas": c.index.gas, "value": c.index.value },
                "pass": r.passed(),
                "stateRoot": r.state_root.to_string(),
                "logsHash": r.logs_hash.to_string(),
                "gasUsed": format!("{:#x}", r.gas_used),
                "error": if r.passed() { Value::Null } else { Value::String(r.mismatches.join("; ")) },
            })
        })
        .collect();
    Value::Array(cases).to_string()
}
