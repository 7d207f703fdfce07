//! `evm-run`: runs EVM code as the callee of a call against an in-memory state.
//!
//! Exit status: 0 when the code ran (whatever its EVM outcome: revert or out of gas are
//! results), 2 on bad input (with a one-line error on stderr).

use clap::Parser;
use ember_cli::profile_args::ProfileOptions;
use ember_cli::runtime_args::RuntimeArgs;
use ember_cli::trace::Eip3155Tracer;
use ember_evm::{
    keccak256, parse_hex, to_hex, Address, ExecResult, Message, Revision, Tracer, Vm, U256,
};
use ember_runtime::{ProfileReport, Runtime, RuntimeConfig, Stats, Tier};
use ember_state::{run_message, Account, BlockEnv, Log, WorldState};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

/// Runs EVM code as the callee of a call against an in-memory state (the code at address
/// "receiver", called by "sender", block 1 of chain 1), and prints the result.
#[derive(Parser, Debug)]
#[command(
    name = "evm-run",
    version,
    after_help = "Exit status: 0 when the code ran, whatever its EVM outcome (a revert or out \
                  of gas is a result); 2 on bad input, with a one-line error on stderr."
)]
#[command(group(clap::ArgGroup::new("code_source").required(true)))]
struct Cli {
    /// The code to run, in hex
    #[arg(long, value_name = "HEX", value_parser = hex, help_heading = "Input",
          group = "code_source")]
    code: Option<Bytes>,
    /// A file holding the code to run, in hex
    #[arg(
        long,
        value_name = "PATH",
        help_heading = "Input",
        group = "code_source"
    )]
    codefile: Option<PathBuf>,
    /// The call's input data, in hex [default: empty]
    #[arg(long, value_name = "HEX", value_parser = hex, help_heading = "Input",
          conflicts_with = "inputs")]
    input: Option<Bytes>,
    /// A file with one hex input per line (blank lines and #-comments skipped); the runs
    /// cycle through them
    #[arg(long, value_name = "FILE", help_heading = "Input")]
    inputs: Option<PathBuf>,
    /// Accounts to create before the call, as a state test's "pre" object (JSON)
    #[arg(long, value_name = "FILE", help_heading = "Input")]
    prestate: Option<PathBuf>,

    /// Gas given to the call
    #[arg(long, value_name = "N", default_value_t = DEFAULT_GAS, help_heading = "Execution",
          value_parser = clap::value_parser!(i64).range(0..))]
    gas: i64,
    /// The revision (frontier ... osaka) [default: the latest]
    #[arg(long, value_name = "NAME", value_parser = revision, help_heading = "Execution")]
    rev: Option<Revision>,
    /// Run the call N times, each on a fresh copy of the state, and report the median time
    #[arg(long, value_name = "N", default_value_t = 1, help_heading = "Execution",
          value_parser = clap::value_parser!(u64).range(1..))]
    repeat: u64,
    /// Throw away all compiled code before every Nth run
    #[arg(long, value_name = "N", help_heading = "Execution",
          value_parser = clap::value_parser!(u64).range(1..))]
    discard_every: Option<u64>,
    /// Run the code in this EVMC VM library (with ",name=value" options) instead of ember's
    /// own runtime
    #[arg(long, value_name = "PATH[,NAME=VALUE...]", help_heading = "Execution",
          conflicts_with_all = ["stats", "trace", "discard_every"])]
    vm: Option<String>,

    #[command(flatten)]
    runtime: RuntimeArgs,

    /// Print the result as one JSON object
    #[arg(long, help_heading = "Output")]
    json: bool,
    /// Write an EIP-3155 trace of the first run to stderr (traced frames run in the
    /// interpreter)
    #[arg(long, help_heading = "Output")]
    trace: bool,
    /// Print the runtime's statistics
    #[arg(long, help_heading = "Output")]
    stats: bool,

    #[command(flatten)]
    profile: ProfileOptions,
}

/// Bytes given in hex on the command line.
#[derive(Clone, Debug)]
struct Bytes(Vec<u8>);

fn hex(s: &str) -> Result<Bytes, String> {
    parse_hex(s).map(Bytes).map_err(|e| e.to_string())
}

fn revision(name: &str) -> Result<Revision, String> {
    Revision::from_name(name).ok_or_else(|| "unknown revision (frontier ... osaka)".to_owned())
}

/// Default gas for the call, as geth's `evm run` uses.
const DEFAULT_GAS: i64 = 10_000_000_000;

/// The address of the code under test: "receiver" in ASCII, left-padded (geth's convention).
fn receiver() -> Address {
    ascii_address(b"receiver")
}

/// The caller: "sender" in ASCII, left-padded.
fn sender() -> Address {
    ascii_address(b"sender")
}

fn ascii_address(name: &[u8]) -> Address {
    let mut a = [0u8; 20];
    a[20 - name.len()..].copy_from_slice(name);
    Address(a)
}

/// Everything `evm-run` was asked to do, validated.
struct Config {
    code: Vec<u8>,
    /// The calldata of each run, in turn (at least one).
    inputs: Vec<Vec<u8>>,
    /// Discard every compiled version before every this many runs.
    discard_every: Option<usize>,
    gas: i64,
    rev: Revision,
    prestate: Vec<(Address, Account)>,
    repeat: usize,
    json: bool,
    trace: bool,
    /// Print the runtime's statistics.
    stats: bool,
    /// The tier and its settings.
    runtime: RuntimeConfig,
    /// The profiler output asked for.
    profile: ProfileOptions,
    /// Runs the code in this EVMC VM library instead of ember's own engine.
    vm: Option<String>,
}

fn main() -> ExitCode {
    let cli: Cli = ember_cli::parse_command_line("evm-run");
    match Config::new(cli).and_then(|cfg| load_vm(&cfg).map(|vm| (cfg, vm))) {
        Ok((cfg, vm)) => match run(&cfg, &vm) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => usage_error(&e),
        },
        Err(e) => usage_error(&e),
    }
}

fn usage_error(e: &str) -> ExitCode {
    eprintln!("evm-run: {e}");
    ExitCode::from(ember_cli::EXIT_USAGE)
}

impl Config {
    /// Reads the files the command line names; an error is one line naming the option.
    fn new(cli: Cli) -> Result<Config, String> {
        let code = match (cli.code, &cli.codefile) {
            (Some(Bytes(code)), _) => code,
            (None, Some(path)) => {
                let text = read("--codefile", path)?;
                parse_hex(&text).map_err(|e| format!("--codefile {}: {e}", path.display()))?
            }
            (None, None) => unreachable!("clap requires --code or --codefile"),
        };
        let inputs = match (cli.input, &cli.inputs) {
            (Some(Bytes(input)), _) => vec![input],
            (None, Some(path)) => read_inputs(path)?,
            (None, None) => vec![Vec::new()],
        };
        let mut runtime = cli.runtime.config();
        cli.profile.configure(&mut runtime);
        let prestate = match &cli.prestate {
            None => Vec::new(),
            Some(path) => ember_state::statetest::parse_alloc(&read("--prestate", path)?)
                .map_err(|e| format!("--prestate {}: {e}", path.display()))?,
        };
        Ok(Config {
            code,
            inputs,
            discard_every: cli.discard_every.map(count),
            gas: cli.gas,
            rev: cli.rev.unwrap_or(Revision::LATEST),
            prestate,
            repeat: count(cli.repeat),
            json: cli.json,
            trace: cli.trace,
            stats: cli.stats,
            runtime,
            profile: cli.profile,
            vm: cli.vm,
        })
    }
}

/// A count from the command line as a `usize` (saturating on 32-bit targets).
fn count(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// The text of the file `path` given with `option`.
fn read(option: &str, path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{option} {}: {e}", path.display()))
}

/// The inputs of `--inputs FILE`: one hex string per line; blank lines and lines starting
/// with `#` are skipped.
fn read_inputs(path: &Path) -> Result<Vec<Vec<u8>>, String> {
    let text = read("--inputs", path)?;
    let inputs = text
        .lines()
        .enumerate()
        .map(|(n, l)| (n + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .map(|(n, l)| parse_hex(l).map_err(|e| format!("--inputs {}:{n}: {e}", path.display())))
        .collect::<Result<Vec<_>, _>>()?;
    if inputs.is_empty() {
        return Err(format!(
            "--inputs {}: no inputs in the file",
            path.display()
        ));
    }
    Ok(inputs)
}

/// The state every run starts from: the prestate, then the code at the receiver.
fn initial_state(cfg: &Config) -> WorldState {
    let mut state = WorldState::new();
    for (addr, acc) in &cfg.prestate {
        state.insert(*addr, acc.clone());
    }
    let mut callee = state.get(&receiver()).cloned().unwrap_or_default();
    callee.code = Arc::from(cfg.code.as_slice());
    state.insert(receiver(), callee);
    state
}

fn block_env() -> BlockEnv {
    BlockEnv {
        number: 1,
        timestamp: 1,
        gas_limit: 30_000_000,
        chain_id: U256::from(1),
        ..BlockEnv::default()
    }
}

/// The engine that runs the code: ember's runtime in the tier asked for, or an EVMC library
/// given by `--vm`.
enum Engine {
    Ember(Runtime),
    Evmc(ember_evmc::EvmcVm),
}

impl Engine {
    fn vm(&self) -> &dyn Vm {
        match self {
            Engine::Ember(rt) => rt,
            Engine::Evmc(vm) => vm,
        }
    }
}

fn load_vm(cfg: &Config) -> Result<Engine, String> {
    match &cfg.vm {
        None => Ok(Engine::Ember(Runtime::new(cfg.runtime.clone()))),
        Some(spec) => ember_evmc::EvmcVm::from_config(spec)
            .map(Engine::Evmc)
            .map_err(|e| format!("--vm: {e}")),
    }
}

/// In the `jit` tier, compiles the code and every prestate account's code before the timed
/// runs, so that the runs time execution only. A contract the compiler rejects runs in the
/// interpreter; the statistics say why.
fn compile_ahead(rt: &Runtime, state: &WorldState, rev: Revision) {
    if rt.config().tier() != Tier::Jit {
        return;
    }
    for (_, acc) in state.iter() {
        if !acc.code.is_empty() {
            let _ = rt.compile_now(&acc.code, Some(&keccak256(&acc.code)), rev);
        }
    }
}

fn run(cfg: &Config, engine: &Engine) -> Result<(), String> {
    let base = initial_state(cfg);
    if let Engine::Ember(rt) = engine {
        compile_ahead(rt, &base, cfg.rev);
    }
    let vm = engine.vm();
    let block = block_env();

    let mut times = Vec::with_capacity(cfg.repeat);
    let mut last: Option<(ExecResult, Vec<Log>)> = None;
    for i in 0..cfg.repeat {
        if let (Engine::Ember(rt), Some(n)) = (engine, cfg.discard_every) {
            if i > 0 && i % n == 0 {
                rt.discard_compiled();
                compile_ahead(rt, &base, cfg.rev);
            }
        }
        let msg = Message::call(
            sender(),
            receiver(),
            &cfg.inputs[i % cfg.inputs.len()],
            cfg.gas,
        );
        let mut state = base.clone();
        let trace_this = cfg.trace && i == 0;
        let mut tracer = Eip3155Tracer::new(std::io::stderr().lock());
        let t: Option<&mut dyn Tracer> = if trace_this { Some(&mut tracer) } else { None };
        let start = Instant::now();
        let outcome = run_message(&mut state, &block, cfg.rev, vm, &msg, t);
        times.push(start.elapsed().as_nanos());
        if trace_this {
            let r = &outcome.0;
            tracer.summary(&r.output, gas_used(cfg.gas, r), r.status);
        }
        last = Some(outcome);
    }
    let (result, logs) = last.expect("repeat is at least 1");
    let (stats, profile) = match engine {
        Engine::Ember(rt) => (
            Some(rt.stats()),
            cfg.profile.any().then(|| rt.profile_report()),
        ),
        Engine::Evmc(_) => (None, None),
    };
    if let Some(p) = &profile {
        cfg.profile.write_files(p)?;
    }
    let engine = match engine {
        Engine::Ember(rt) => format!("tier {}", rt.config().tier().name()),
        Engine::Evmc(_) => {
            let spec = cfg.vm.as_deref().unwrap_or_default();
            spec.split(',').next().unwrap_or(spec).to_owned()
        }
    };
    report(
        cfg,
        &engine,
        &result,
        &logs,
        &mut times,
        stats.as_ref(),
        profile.as_ref().filter(|_| cfg.profile.table),
    );
    Ok(())
}

fn gas_used(gas: i64, r: &ExecResult) -> u64 {
    (gas - r.gas_left).max(0) as u64
}

fn median(times: &mut [u128]) -> u128 {
    times.sort_unstable();
    times[times.len() / 2]
}

/// Writes the result; with `stats` (ember's own engine) the compile time in the compiling
/// tiers, which is not part of the timed runs in `jit` (see [`compile_ahead`]), with
/// `--stats` the runtime's statistics, and with `--profile` the profiler's table; last, the
/// run in one sentence ([`summary_line`]): on stdout after the text, on stderr after JSON
/// (unless stderr carries a trace).
fn report(
    cfg: &Config,
    engine: &str,
    r: &ExecResult,
    logs: &[Log],
    times: &mut [u128],
    stats: Option<&Stats>,
    profile: Option<&ProfileReport>,
) {
    let compile_ns = stats.filter(|s| s.tier != Tier::Interp).map(|s| {
        s.contracts
            .iter()
            .map(|c| c.profile.compile_ns)
            .sum::<u64>()
    });
    let used = gas_used(cfg.gas, r);
    let median_ns = (cfg.repeat > 1).then(|| median(times));
    let summary = summary_line(r, used, engine, cfg.repeat, median_ns);
    let mut out = std::io::stdout().lock();
    if cfg.json {
        let mut obj = serde_json::json!({
            "status": r.status.name(),
            "output": format!("0x{}", to_hex(&r.output)),
            "gasUsed": used,
            "gasLeft": r.gas_left,
            "refund": r.gas_refund,
            "logs": logs.iter().map(|l| serde_json::json!({
                "address": l.address.to_string(),
                "topics": l.topics.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
                "data": format!("0x{}", to_hex(&l.data)),
            })).collect::<Vec<_>>(),
        });
        if let Some(ns) = median_ns {
            obj["runs"] = cfg.repeat.into();
            obj["medianNs"] = (ns as u64).into();
        }
        if let Some(ns) = compile_ns {
            obj["compileNs"] = ns.into();
        }
        if let Some(s) = stats.filter(|_| cfg.stats) {
            obj["stats"] = s.to_json();
        }
        if let Some(p) = profile {
            obj["profile"] = p.to_json();
        }
        let _ = writeln!(out, "{obj}");
        if !cfg.trace {
            eprintln!("{summary}");
        }
    } else {
        let _ = writeln!(out, "status: {}", r.status.name());
        let _ = writeln!(out, "output: 0x{}", to_hex(&r.output));
        let _ = writeln!(out, "gas used: {used}");
        if let Some(ns) = median_ns {
            let _ = writeln!(out, "runs: {}, median: {ns} ns", cfg.repeat);
        }
        if let Some(ns) = compile_ns {
            let _ = writeln!(out, "compile: {ns} ns");
        }
        if let Some(s) = stats.filter(|_| cfg.stats) {
            let _ = writeln!(out, "{}", s.to_text(usize::MAX));
        }
        if let Some(p) = profile {
            let _ = writeln!(out, "{}", p.to_text(usize::MAX));
        }
        let _ = writeln!(out, "{summary}");
    }
}

/// The run in one sentence: the last run's outcome, gas and output in `engine`, and with
/// several runs the median time.
fn summary_line(
    r: &ExecResult,
    used: u64,
    engine: &str,
    runs: usize,
    median_ns: Option<u128>,
) -> String {
    let timing = match median_ns {
        Some(ns) => format!(", the last of {runs} runs (median {ns} ns)"),
        None => String::new(),
    };
    format!(
        "evm-run: the call ended in {} after {used} gas with {} byte(s) of output in {engine}{timing}.",
        r.status.name(),
        r.output.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_summary_line_says_what_happened() {
        let r = ExecResult {
            status: ember_evm::StatusCode::Revert,
            gas_left: 10,
            gas_refund: 0,
            output: vec![1, 2, 3],
            create_address: None,
        };
        assert_eq!(
            summary_line(&r, 24, "tier interp", 1, None),
            "evm-run: the call ended in revert after 24 gas with 3 byte(s) of output in tier \
             interp."
        );
        assert_eq!(
            summary_line(&r, 24, "tier jit", 5, Some(1200)),
            "evm-run: the call ended in revert after 24 gas with 3 byte(s) of output in tier \
             jit, the last of 5 runs (median 1200 ns)."
        );
    }
}
