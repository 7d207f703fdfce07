//! `evm-statetest`: runs Ethereum state-test fixtures (ethereum/tests GeneralStateTests and
//! execution-spec-tests state_tests) against ember and reports every case that differs.

mod args;
mod progress;
mod report;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use ember_cli::trace::Eip3155Tracer;
use ember_evm::{Revision, Vm};
use ember_runtime::Runtime;
use ember_state::statetest::{parse_fixture, run_case, ForkTarget, PostCase, StateTest};
use ember_state::BlockEnv;
use rayon::prelude::*;

use args::Options;
use progress::{Counters, Progress};
use report::{CaseRecord, FileReport, FileRun, SkipRecord};

/// Stack size of the worker threads: nested calls recurse up to 1024 frames deep.
const WORKER_STACK_SIZE: usize = 256 << 20;

fn main() -> ExitCode {
    let opts = args::from_command_line();
    let engine = match Engine::new(&opts) {
        Ok(e) => e,
        Err(e) => return usage_error(&e),
    };
    // Tracing writes one trace after another, so the cases must run one at a time.
    let threads = if opts.trace { Some(1) } else { opts.jobs };
    let mut pool = rayon::ThreadPoolBuilder::new().stack_size(WORKER_STACK_SIZE);
    if let Some(n) = threads {
        pool = pool.num_threads(n);
    }
    let pool = match pool.build() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("evm-statetest: cannot start worker threads: {e}");
            return ExitCode::from(2);
        }
    };

    let (files, path_errors) = collect_files(&opts.paths);
    let progress = Progress::start(files.len(), !opts.trace);
    let counters = Arc::clone(&progress.counters);
    let mut reports: Vec<FileReport> = pool.install(|| {
        files
            .par_iter()
            .map(|path| run_file(path, &opts, engine.vm(), &counters))
            .collect()
    });
    drop(progress);
    reports.extend(path_errors.into_iter().map(|(path, e)| FileReport {
        path,
        outcome: Err(e),
    }));

    let stats = opts.stats.then(|| engine.stats());
    let stats = stats.as_deref();
    let profile = match &engine {
        Engine::Ember(rt) if opts.profile.any() => Some(rt.profile_report()),
        _ => None,
    };
    if let Some(p) = &profile {
        if let Err(e) = opts.profile.write_files(p) {
            eprintln!("evm-statetest: {e}");
            return ExitCode::from(2);
        }
    }
    let table = profile
        .as_ref()
        .filter(|_| opts.profile.table)
        .map(|p| p.to_text(20));
    let code = if opts.json {
        // As for the report, a closed stdout leaves only the exit status to tell.
        let _ = writeln!(
            std::io::stdout().lock(),
            "{}",
            report::json_results(&reports)
        );
        let mut err = std::io::stderr().lock();
        if let Some(t) = &table {
            let _ = writeln!(err, "{t}");
        }
        report::print_human(&mut err, &reports, stats)
    } else {
        let mut out = std::io::stdout().lock();
        if let Some(t) = &table {
            let _ = writeln!(out, "{t}");
        }
        report::print_human(&mut out, &reports, stats)
    };
    ExitCode::from(code)
}

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("evm-statetest: {msg}");
    ExitCode::from(ember_cli::EXIT_USAGE)
}

/// What executes frames: ember's runtime in the tier asked for, or an EVMC library given by
/// `--vm`.
enum Engine {
    Ember(Runtime),
    Evmc(ember_evmc::EvmcVm),
}

impl Engine {
    /// The one place the options become a [`Vm`].
    fn new(opts: &Options) -> Result<Engine, String> {
        match &opts.vm {
            Some(spec) => ember_evmc::EvmcVm::from_config(spec)
                .map(Engine::Evmc)
                .map_err(|e| format!("--vm: {e}")),
            None => Ok(Engine::Ember(Runtime::new(opts.runtime.clone()))),
        }
    }

    fn vm(&self) -> &dyn Vm {
        match self {
            Engine::Ember(rt) => rt,
            Engine::Evmc(vm) => vm,
        }
    }

    /// What `--stats` prints.
    fn stats(&self) -> String {
        match self {
            Engine::Ember(rt) => rt.stats().to_text(20),
            Engine::Evmc(_) => "no runtime statistics: an EVMC VM ran the frames".to_owned(),
        }
    }
}

/// The fixture files under `paths`: files as given, directories searched recursively for
/// `*.json` (sorted, symlinked directories not followed). Paths that cannot be read are
/// returned with the reason.
fn collect_files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<(PathBuf, String)>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        match std::fs::metadata(path) {
            Err(e) => errors.push((path.clone(), format!("cannot read: {e}"))),
            Ok(m) if m.is_dir() => {
                let before = files.len();
                walk(path, &mut files, &mut errors);
                if files.len() == before {
                    errors.push((path.clone(), "no .json fixture files found".to_owned()));
                }
            }
            Ok(_) => files.push(path.clone()),
        }
    }
    (files, errors)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<(PathBuf, String)>) {
    let entries = std::fs::read_dir(dir).and_then(|rd| rd.collect::<Result<Vec<_>, _>>());
    let mut entries = match entries {
        Ok(e) => e,
        Err(e) => {
            errors.push((dir.to_path_buf(), format!("cannot read directory: {e}")));
            return;
        }
    };
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk(&path, files, errors),
            Ok(_) if path.extension().is_some_and(|x| x == "json") && path.is_file() => {
                files.push(path)
            }
            Ok(_) => {}
            Err(e) => errors.push((path, format!("cannot read: {e}"))),
        }
    }
}

/// One case to run: a test, one of its forks and one of that fork's cases.
struct Job<'a> {
    test: &'a StateTest,
    fork: &'a str,
    revision: Revision,
    block: &'a BlockEnv,
    case: &'a PostCase,
}

/// Reads, parses and runs one fixture file.
fn run_file(path: &Path, opts: &Options, vm: &dyn Vm, counters: &Counters) -> FileReport {
    let outcome = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read: {e}"))
        .and_then(|json| parse_fixture(&json).map_err(|e| format!("cannot parse: {e}")))
        .map(|tests| run_tests(&tests, opts, vm, counters));
    counters.files.fetch_add(1, Ordering::Relaxed);
    if outcome.is_err() {
        counters.failed.fetch_add(1, Ordering::Relaxed);
    }
    FileReport {
        path: path.to_path_buf(),
        outcome,
    }
}

fn run_tests(tests: &[StateTest], opts: &Options, vm: &dyn Vm, counters: &Counters) -> FileRun {
    let mut jobs = Vec::new();
    let mut skips = Vec::new();
    for test in tests {
        if opts
            .filter
            .as_ref()
            .is_some_and(|f| !test.name.contains(f.as_str()))
        {
            continue;
        }
        for fork in &test.forks {
            match &fork.target {
                // A fork ember cannot run is never the one --fork asked for.
                ForkTarget::Skip(reason) if opts.fork.is_none() => skips.push(SkipRecord {
                    test: test.name.clone(),
                    fork: fork.fork.clone(),
                    reason: reason.clone(),
                    cases: fork.cases.len(),
                }),
                ForkTarget::Skip(_) => {}
                ForkTarget::Run { revision, block } => {
                    if opts.fork.is_some_and(|f| f != *revision) {
                        continue;
                    }
                    jobs.extend(fork.cases.iter().map(|case| Job {
                        test,
                        fork: &fork.fork,
                        revision: *revision,
                        block,
                        case,
                    }));
                }
            }
        }
    }
    let run = |job: &Job<'_>| {
        let case = job.case;
        let result = if opts.trace {
            let mut tracer = Eip3155Tracer::new(std::io::stderr().lock());
            let result = run_case(
                job.test,
                job.revision,
                job.block,
                case,
                vm,
                Some(&mut tracer),
            );
            if let Some(status) = result.status {
                tracer.summary(&result.output, result.gas_used, status);
            }
            tracer.state_root(&result.state_root);
            result
        } else {
            run_case(job.test, job.revision, job.block, case, vm, None)
        };
        counters.cases.fetch_add(1, Ordering::Relaxed);
        if !result.passed() {
            counters.failed.fetch_add(1, Ordering::Relaxed);
        }
        CaseRecord {
            test: job.test.name.clone(),
            fork: job.fork.to_owned(),
            revision: job.revision,
            index: case.indexes,
            result,
        }
    };
    let cases = if opts.trace {
        jobs.iter().map(run).collect()
    } else {
        jobs.par_iter().map(run).collect()
    };
    FileRun { cases, skips }
}
