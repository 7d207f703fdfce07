//! `evm-tierup`: calls each benchmark contract the way a client does, many times in one
//! runtime in tier `auto` after a few calls in `interp`, and shows when it got hot, when its
//! compiled code took over and how much faster that is.

use clap::Parser;
use ember_evm::{keccak256, ExecResult, Message, Revision, Vm, B256};
use ember_runtime::{ContractState, Runtime, RuntimeConfig, Tier};
use ember_state::statetest::{parse_fixture, ForkTarget, StateTest, TxNumber};
use ember_state::{run_message, BlockEnv, WorldState};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Calls each benchmark contract (the suite's state tests: the transaction's callee with its
/// heaviest input) as a client would: a few times in a runtime in tier interp, then again and
/// again in one runtime in tier auto (default settings), until its compiled code has run
/// enough calls to time or the budget is spent. Prints one row per benchmark and writes the
/// profiler's timeline of the auto run as an SVG picture.
#[derive(Parser, Debug)]
#[command(
    name = "evm-tierup",
    version,
    after_help = "Exit status: 0 when every benchmark ran with the same status and gas in both \
                  tiers; 1 on a difference; 2 on bad arguments or an unreadable suite."
)]
struct Cli {
    /// Directory of the benchmarks' state-test *.json files
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// Only the benchmarks whose name contains TEXT
    #[arg(long, value_name = "TEXT")]
    filter: Option<String>,
    /// Calls in tier interp that time the interpreter
    #[arg(long, value_name = "N", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..))]
    interp_calls: u32,
    /// Compiled calls that time the contract once hot
    #[arg(long, value_name = "N", default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(1..))]
    hot_calls: u32,
    /// Most time spent calling one benchmark in tier auto, in milliseconds
    #[arg(long, value_name = "MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    budget_ms: u64,
    /// Write the profiler's timeline of the auto run as an SVG picture
    #[arg(long, value_name = "FILE", default_value = "tierup-timeline.svg")]
    svg: PathBuf,
}

/// One benchmark: its callee's code and the call to make.
struct Bench {
    name: String,
    revision: Revision,
    block: BlockEnv,
    state: WorldState,
    msg_parts: (ember_evm::Address, ember_evm::Address, Vec<u8>, i64),
    code_hash: B256,
}

impl Bench {
    fn message(&self) -> Message<'_> {
        let (from, to, data, gas) = &self.msg_parts;
        Message::call(*from, *to, data, *gas)
    }

    /// Runs the call once on a fresh copy of the state; the time leaves the copy out.
    fn call(&self, vm: &dyn Vm) -> (ExecResult, Duration) {
        let mut state = self.state.clone();
        let msg = self.message();
        let start = Instant::now();
        let (r, _) = run_message(&mut state, &self.block, self.revision, vm, &msg, None);
        (r, start.elapsed())
    }
}

/// What one benchmark showed.
struct Row {
    name: String,
    interp: Duration,
    hot: Option<Duration>,
    /// The first call that ran compiled code, and the milliseconds since the first call.
    compiled_at: Option<(u64, u128)>,
    compile_ms: f64,
    /// The runtime's final word on the contract (compiled, rejected: REASON, ...).
    state: String,
    status: String,
    gas: i64,
    /// Status or gas differed between the tiers.
    mismatch: Option<String>,
}

fn main() -> ExitCode {
    let cli: Cli = ember_cli::parse_command_line("evm-tierup");
    let benches = match load(&cli.dir, cli.filter.as_deref()) {
        Ok(b) if b.is_empty() => return usage_error("no benchmark matches".into()),
        Ok(b) => b,
        Err(e) => return usage_error(e),
    };
    let interp = Runtime::new(RuntimeConfig::with_tier(Tier::Interp));
    let mut config = RuntimeConfig::with_tier(Tier::Auto);
    if let Err(e) = config.set("profile.timeline", "1") {
        return usage_error(e.to_string());
    }
    let auto = Runtime::new(config);
    let progress = std::io::stderr().is_terminal();
    let mut rows = Vec::with_capacity(benches.len());
    for (i, b) in benches.iter().enumerate() {
        let row = measure(b, &interp, &auto, &cli, |call| {
            if progress {
                eprint!(
                    "\r\x1b[2K[{}/{}] {}: call {call} in tier auto",
                    i + 1,
                    benches.len(),
                    b.name
                );
            }
        });
        if progress {
            eprint!("\r\x1b[2K");
        }
        rows.push(row);
    }
    let report = auto.profile_report();
    let svg = std::fs::write(&cli.svg, report.to_svg())
        .map_err(|e| format!("--svg {}: {e}", cli.svg.display()));
    print_table(&rows);
    let mismatches = rows.iter().filter(|r| r.mismatch.is_some()).count();
    for r in rows.iter().filter(|r| r.mismatch.is_some()) {
        println!(
            "MISMATCH {}: {}",
            r.name,
            r.mismatch.as_deref().unwrap_or("")
        );
    }
    let compiled = rows.iter().filter(|r| r.hot.is_some()).count();
    let speedups: Vec<f64> = rows.iter().filter_map(speedup).collect();
    let geomean =
        (speedups.iter().map(|s| s.ln()).sum::<f64>() / speedups.len().max(1) as f64).exp();
    let picture = match &svg {
        Ok(()) => format!("the timeline is in {}", cli.svg.display()),
        Err(e) => format!("the timeline was not written ({e})"),
    };
    println!(
        "evm-tierup: {} benchmarks, {compiled} ran compiled code in tier auto \
         (geometric-mean speed-up {geomean:.2}x once hot), {mismatches} differed from the \
         interpreter; {picture}.",
        rows.len()
    );
    if mismatches > 0 {
        ExitCode::FAILURE
    } else if svg.is_err() {
        ExitCode::from(ember_cli::EXIT_USAGE)
    } else {
        ExitCode::SUCCESS
    }
}

fn usage_error(e: String) -> ExitCode {
    eprintln!("evm-tierup: {e}");
    ExitCode::from(ember_cli::EXIT_USAGE)
}

/// The benchmarks in `dir`, sorted by name; each with the input that uses the most gas in
/// the interpreter (the suites' other inputs are mostly trivial ones, such as empty input).
fn load(dir: &Path, filter: Option<&str>) -> Result<Vec<Bench>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let interp = Runtime::new(RuntimeConfig::with_tier(Tier::Interp));
    let mut benches = Vec::new();
    for file in files {
        let text =
            std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let tests = parse_fixture(&text).map_err(|e| format!("{}: {e}", file.display()))?;
        for test in tests {
            if filter.is_some_and(|f| !test.name.contains(f)) {
                continue;
            }
            let heaviest = (0..test.tx.data.len())
                .filter_map(|i| bench(&test, i).ok())
                .map(|b| {
                    let (r, _) = b.call(&interp);
                    (r.gas_left, b)
                })
                .min_by_key(|(gas_left, _)| *gas_left)
                .map(|(_, b)| b);
            match heaviest {
                Some(b) => benches.push(b),
                None => bench(&test, 0)
                    .map(|_| ())
                    .map_err(|e| format!("{}: {e}", file.display()))?,
            }
        }
    }
    Ok(benches)
}

/// The call of `test` with input `data_index`, at the test's first runnable fork.
fn bench(test: &StateTest, data_index: usize) -> Result<Bench, String> {
    let (revision, block) = test
        .forks
        .iter()
        .find_map(|f| match &f.target {
            ForkTarget::Run { revision, block } => Some((*revision, block.clone())),
            ForkTarget::Skip(_) => None,
        })
        .ok_or_else(|| format!("{}: no fork ember can run", test.name))?;
    let to = test
        .tx
        .to
        .ok_or_else(|| format!("{}: a create, not a call", test.name))?;
    let mut state = WorldState::new();
    for (addr, acc) in &test.pre {
        state.insert(*addr, acc.clone());
    }
    let code = state
        .get(&to)
        .map(|a| a.code.clone())
        .filter(|c| !c.is_empty())
        .ok_or_else(|| format!("{}: the callee has no code", test.name))?;
    let gas = test
        .tx
        .gas_limit
        .first()
        .and_then(|g| match g {
            TxNumber::Value(v) => i64::try_from(*v).ok(),
            TxNumber::TooWide(_) => None,
        })
        .ok_or_else(|| format!("{}: no usable gas limit", test.name))?;
    Ok(Bench {
        name: test.name.clone(),
        revision,
        block,
        state,
        msg_parts: (test.tx.sender, to, test.tx.data[data_index].clone(), gas),
        code_hash: keccak256(&code),
    })
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort_unstable();
    times[times.len() / 2]
}

/// Times `b` in the interpreter, then calls it in the `auto` runtime until its compiled code
/// has run `hot_calls` calls, the runtime rejected it, or the budget is spent.
fn measure(b: &Bench, interp: &Runtime, auto: &Runtime, cli: &Cli, progress: impl Fn(u64)) -> Row {
    let mut interp_times = Vec::new();
    let mut reference = None;
    for _ in 0..cli.interp_calls {
        let (r, t) = b.call(interp);
        interp_times.push(t);
        reference = Some(r);
    }
    let reference = reference.expect("at least one interpreter call");
    let budget = Duration::from_millis(cli.budget_ms);
    let start = Instant::now();
    let mut hot_times = Vec::new();
    let mut compiled_at = None;
    let mut mismatch = None;
    let mut calls_jit = 0;
    let mut call = 0u64;
    let contract = loop {
        call += 1;
        if call.is_multiple_of(64) || call < 64 {
            progress(call);
        }
        let (r, t) = b.call(auto);
        if mismatch.is_none() && (r.status != reference.status || r.gas_left != reference.gas_left)
        {
            mismatch = Some(format!(
                "call {call}: {} with {} gas left, the interpreter {} with {}",
                r.status.name(),
                r.gas_left,
                reference.status.name(),
                reference.gas_left
            ));
        }
        let stats = auto.stats();
        let contract = stats
            .contracts
            .into_iter()
            .find(|c| c.code_hash() == b.code_hash);
        let jit = contract.as_ref().map_or(0, |c| c.profile.jit.calls);
        if jit > calls_jit {
            calls_jit = jit;
            hot_times.push(t);
            compiled_at.get_or_insert((call, start.elapsed().as_millis()));
        }
        let rejected = contract
            .as_ref()
            .is_some_and(|c| c.state == ContractState::Rejected);
        if hot_times.len() >= cli.hot_calls as usize || rejected || start.elapsed() > budget {
            break contract;
        }
    };
    Row {
        name: b.name.clone(),
        interp: median(interp_times),
        hot: (!hot_times.is_empty()).then(|| median(hot_times)),
        compiled_at,
        compile_ms: contract
            .as_ref()
            .map_or(0.0, |c| c.profile.compile_ns as f64 / 1e6),
        state: contract.map_or_else(|| "not profiled".into(), |c| c.describe_state()),
        status: reference.status.name().to_owned(),
        gas: b.msg_parts.3 - reference.gas_left,
        mismatch,
    }
}

fn speedup(r: &Row) -> Option<f64> {
    r.hot
        .map(|h| r.interp.as_secs_f64() / h.as_secs_f64().max(1e-9))
}

fn time(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.1} µs")
    }
}

fn print_table(rows: &[Row]) {
    println!(
        "{:<18} {:>10} {:>10} {:>8} {:>17} {:>10}  {:<10} {:>10}  tier auto",
        "benchmark", "interp", "once hot", "speed-up", "compiled at", "compile", "status", "gas"
    );
    for r in rows {
        let compiled_at = r
            .compiled_at
            .map_or("-".to_owned(), |(call, ms)| format!("call {call}, {ms} ms"));
        println!(
            "{:<18} {:>10} {:>10} {:>8} {:>17} {:>10}  {:<10} {:>10}  {}",
            r.name,
            time(r.interp),
            r.hot.map_or("-".to_owned(), time),
            speedup(r).map_or("-".to_owned(), |s| format!("{s:.2}x")),
            compiled_at,
            if r.compile_ms > 0.0 {
                format!("{:.0} ms", r.compile_ms)
            } else {
                "-".to_owned()
            },
            r.status,
            r.gas,
            r.state,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_is_well_formed() {
        Cli::command().debug_assert();
    }
}
