//! `ember-bench`: ember's interpreter and compiled code against revm's interpreter on
//! ipsilon/evm-benchmarks.
//! Run with `cargo run --release -p ember-bench -- --help` for the options.

use ember_bench::cli::{parse_args, Command, Options, Suite, USAGE};
use ember_bench::measure::{Clock, Plan, SAMPLE_TARGET};
use ember_bench::progress::Progress;
use ember_bench::{
    report, run_case, suite, CaseResult, JitLevel, TIMED_EMBER, TIMED_JIT, TIMED_REVM,
};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit status for usage errors and a missing or malformed benchmark directory.
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let args: Result<Vec<String>, _> = std::env::args_os()
        .skip(1)
        .map(|a| a.into_string())
        .collect();
    let Ok(args) = args else {
        eprintln!("ember-bench: arguments must be valid UTF-8\n\n{USAGE}");
        return ExitCode::from(EXIT_USAGE);
    };
    match parse_args(args) {
        Ok(Command::Help) => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Command::Run(opts)) => run(&opts),
        Err(e) => {
            eprintln!("ember-bench: {e}\n\n{USAGE}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// The suite directory and its short name.
fn suite_dir(suite: &Suite) -> (PathBuf, String) {
    match suite {
        Suite::Dir(d) => (d.clone(), d.display().to_string()),
        Suite::Default { micro } => {
            let name = if *micro { "micro" } else { "main" };
            let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../../shared/evm-benchmarks/benchmarks")
                .join(name);
            (dir, name.to_string())
        }
    }
}

fn run(opts: &Options) -> ExitCode {
    let (dir, suite_name) = suite_dir(&opts.suite);
    if !dir.is_dir() {
        eprintln!(
            "ember-bench: benchmark directory {} not found; it comes from the shared checkout \
             (ipsilon/evm-benchmarks), or pass --dir PATH",
            dir.display()
        );
        return ExitCode::from(EXIT_USAGE);
    }
    // For display only; `dir` exists, so this fails only on exotic permissions.
    let dir = dir.canonicalize().unwrap_or(dir);
    let benches = match suite::load_dir(&dir) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("ember-bench: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let cases = suite::cases(&benches, opts.filter.as_deref());
    if cases.is_empty() {
        eprintln!(
            "ember-bench: no case in {} matches --filter {:?}",
            dir.display(),
            opts.filter.as_deref().unwrap_or("")
        );
        return ExitCode::from(EXIT_USAGE);
    }

    if !opts.clock.is_available() {
        eprintln!(
            "ember-bench: the {} clock cannot be read on this system; use --clock wall",
            opts.clock.name()
        );
        return ExitCode::from(EXIT_USAGE);
    }
    let plan = Plan {
        clock: opts.clock,
        min_time: opts.min_time,
        max_samples: opts.max_samples,
        sample: SAMPLE_TARGET,
    };
    let warmup = opts.min_time / 5;
    let jit = opts.jit.is_some();
    if !opts.json {
        if let Some(level) = opts.jit {
            println!(
                "ember-bench: ember interpreter vs ember compiled code ({}) vs revm 43 \
                 interpreter, London, suite {suite_name} ({})",
                level.describe(),
                dir.display()
            );
        } else {
            println!(
                "ember-bench: ember interpreter vs revm 43 interpreter, London, suite {suite_name} ({})",
                dir.display()
            );
        }
        println!("  timed, ember: {TIMED_EMBER}");
        if jit {
            println!("  timed, jit:   {TIMED_JIT}");
        }
        println!("  timed, revm:  {TIMED_REVM}");
        println!(
            "  the engines are first checked to agree on status, gas used, refund, output and \
             logs; then, after {} ms of warm-up, samples of the engines are taken in turn until \
             each has {} ms of samples or {} samples; a sample batches runs to about {} µs; the \
             time shown is the median per-run time on the {} clock",
            warmup.as_millis(),
            opts.min_time.as_millis(),
            opts.max_samples,
            plan.sample.as_micros(),
            match opts.clock {
                Clock::ThreadCpu => "thread CPU-time",
                Clock::Wall => "wall",
            }
        );
        if jit {
            println!(
                "  a/b columns are a's time over b's (above 1: b is faster); compile time and \
                 machine-code size are those of the case's own compilation of its contract"
            );
        }
        println!();
        println!("{}", report::table_header(jit));
    }

    let mut results = Vec::with_capacity(cases.len());
    let total = cases.len();
    let mut progress = Progress::stderr();
    for (i, case) in cases.into_iter().enumerate() {
        progress.show(format_args!(
            "[{}/{total}] {}: checking and timing",
            i + 1,
            case.name()
        ));
        let r = run_case(case, &plan, warmup, opts.jit);
        progress.clear();
        let line = report::table_line(&r);
        match (&r, opts.json) {
            (CaseResult::Timed { .. }, true) => {}
            (CaseResult::Timed { .. }, false) => println!("{line}"),
            // Failures go to stderr in JSON mode so stdout stays one JSON object.
            (_, true) => eprintln!("{line}"),
            (_, false) => println!("{line}"),
        }
        results.push(r);
    }

    if opts.json {
        let context = json!({
            "suite": suite_name,
            "dir": dir.display().to_string(),
            "revision": "London",
            "timed": if jit {
                json!({"interp": TIMED_EMBER, "jit": TIMED_JIT, "revm": TIMED_REVM})
            } else {
                json!({"interp": TIMED_EMBER, "revm": TIMED_REVM})
            },
            "jit_opt_level": opts.jit.map_or(Value::Null, |level| match level {
                JitLevel::First => json!("first"),
                JitLevel::Fixed(level) => json!(format!("{level:?}")),
            }),
            "min_time_ms": opts.min_time.as_millis() as u64,
            "max_samples": opts.max_samples,
            "clock": opts.clock.name(),
        });
        println!("{}", report::to_json(context, &results, jit));
    } else {
        println!();
        for line in report::closing_lines(&results, jit) {
            println!("{line}");
        }
    }
    // In JSON mode stdout holds the one object; the sentence goes to stderr.
    let summary = report::summary_line(&suite_name, &results, jit);
    if opts.json {
        eprintln!("{summary}");
    } else {
        println!("{summary}");
    }

    let failed = results
        .iter()
        .any(|r| !matches!(r, CaseResult::Timed { .. }));
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
