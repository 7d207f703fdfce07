//! `evm-run`: runs EVM code as the callee of a call against an in-memory state.
//!
//! Exit status: 0 when the code ran (whatever its EVM outcome: revert or out of gas are
//! results), 2 on bad input (with a one-line error on stderr).

use ember_cli::args::{flag, value, Args, Opt, UsageError};
use ember_cli::profile_args::{ProfileOptions, PROFILE_OPTS};
use ember_cli::runtime_args::{first_runtime_option, runtime_config, RUNTIME_OPTS};
use ember_cli::trace::Eip3155Tracer;
use ember_evm::{
    keccak256, parse_hex, to_hex, Address, ExecResult, Message, Revision, Tracer, Vm, U256,
};
use ember_runtime::{ProfileReport, Runtime, RuntimeConfig, Stats, Tier};
use ember_state::{run_message, Account, BlockEnv, Log, WorldState};
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

const USAGE: &str = "usage: evm-run [--code HEX | --codefile PATH] [--input HEX | --inputs FILE] \
[--gas N] [--rev NAME] [--prestate FILE] [--tier interp|jit|auto] [--jit-SETTING N...] \
[--code-cache-bytes N] [--idle-evict-ms N] [--discard-every N] [--vm PATH[,opt=val...]] \
[--repeat N] [--json] [--trace] [--stats] [--profile] [--profile-json FILE] \
[--profile-trace FILE] [--profile-svg FILE] \
(tier interp by default; --jit-hot-calls, --jit-hot-gas, --jit-window-ms, --jit-buckets, \
--jit-workers, --jit-queue, --jit-max-profiles, --jit-opt-level, --jit-shutdown-ms, \
--jit-max-versions; --inputs: one hex input per line, the runs cycle through them; \
--discard-every N: throw away all compiled code before every Nth run)";

const OPTS: &[Opt] = &[
    value("--code"),
    value("--codefile"),
    value("--input"),
    value("--inputs"),
    value("--discard-every"),
    value("--gas"),
    value("--rev"),
    value("--prestate"),
    value("--repeat"),
    value("--vm"),
    flag("--json"),
    flag("--trace"),
    flag("--stats"),
    flag("--help"),
];

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
    let argv: Vec<String> = std::env::args().skip(1).collect();
    match parse_config(argv).and_then(|cfg| cfg.map(|c| load_vm(&c).map(|vm| (c, vm))).transpose())
    {
        Ok(None) => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Some((cfg, vm))) => match run(&cfg, &vm) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("evm-run: {e}");
                ExitCode::from(2)
            }
        },
        Err(e) => {
            eprintln!("evm-run: {e}");
            ExitCode::from(2)
        }
    }
}

fn parse_config(argv: Vec<String>) -> Result<Option<Config>, UsageError> {
    let args = Args::parse(argv, &[OPTS, RUNTIME_OPTS, PROFILE_OPTS].concat())?;
    if args.flag("--help") {
        return Ok(None);
    }
    if let Some(p) = args.positional.first() {
        return Err(UsageError(format!("unexpected argument {p:?}; {USAGE}")));
    }
    let hex = |what: &str, s: &str| parse_hex(s).map_err(|e| UsageError(format!("{what}: {e}")));
    let code = match (args.value("--code")?, args.value("--codefile")?) {
        (Some(_), Some(_)) => {
            return Err(UsageError(
                "give either --code or --codefile, not both".into(),
            ))
        }
        (Some(c), None) => hex("--code", c)?,
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| UsageError(format!("--codefile {path}: {e}")))?;
            hex(&format!("--codefile {path}"), &text)?
        }
        (None, None) => return Err(UsageError(format!("no code given; {USAGE}"))),
    };
    let inputs = match (args.value("--input")?, args.value("--inputs")?) {
        (Some(_), Some(_)) => {
            return Err(UsageError(
                "give either --input or --inputs, not both".into(),
            ))
        }
        (Some(s), None) => vec![hex("--input", s)?],
        (None, Some(path)) => read_inputs(path)?,
        (None, None) => vec![Vec::new()],
    };
    let gas = args.parsed::<i64>("--gas")?.unwrap_or(DEFAULT_GAS);
    if gas < 0 {
        return Err(UsageError("--gas must not be negative".into()));
    }
    let rev = match args.value("--rev")? {
        None => Revision::LATEST,
        Some(name) => Revision::from_name(name).ok_or_else(|| {
            UsageError(format!(
                "--rev: unknown revision {name:?} (frontier … osaka)"
            ))
        })?,
    };
    let mut runtime = runtime_config(&args)?;
    let profile = ProfileOptions::from_args(&args)?;
    profile.configure(&mut runtime);
    let prestate = match args.value("--prestate")? {
        None => Vec::new(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| UsageError(format!("--prestate {path}: {e}")))?;
            ember_state::statetest::parse_alloc(&text)
                .map_err(|e| UsageError(format!("--prestate {path}: {e}")))?
        }
    };
    let repeat = args.parsed::<usize>("--repeat")?.unwrap_or(1);
    if repeat == 0 {
        return Err(UsageError("--repeat must be at least 1".into()));
    }
    let discard_every = args.parsed::<usize>("--discard-every")?;
    if discard_every == Some(0) {
        return Err(UsageError("--discard-every must be at least 1".into()));
    }
    let vm = args.value("--vm")?.map(str::to_string);
    if vm.is_some() && discard_every.is_some() {
        return Err(UsageError(
            "--discard-every acts on ember's own runtime; it does not apply to --vm".into(),
        ));
    }
    if vm.is_some() && args.flag("--trace") {
        return Err(UsageError(
            "--trace needs ember's own engine: EVMC VMs cannot report instructions".into(),
        ));
    }
    if let (Some(_), Some(opt)) = (&vm, first_runtime_option(&args)) {
        return Err(UsageError(format!("{opt} and --vm exclude each other")));
    }
    if vm.is_some() && profile.any() {
        return Err(UsageError(
            "the profiler reports ember's own runtime; it does not apply to --vm".into(),
        ));
    }
    if vm.is_some() && args.flag("--stats") {
        return Err(UsageError(
            "--stats reports ember's own runtime; it does not apply to --vm".into(),
        ));
    }
    Ok(Some(Config {
        code,
        inputs,
        discard_every,
        gas,
        rev,
        prestate,
        repeat,
        json: args.flag("--json"),
        trace: args.flag("--trace"),
        stats: args.flag("--stats"),
        runtime,
        profile,
        vm,
    }))
}

/// The inputs of `--inputs FILE`: one hex string per line; blank lines and lines starting
/// with `#` are skipped.
fn read_inputs(path: &str) -> Result<Vec<Vec<u8>>, UsageError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| UsageError(format!("--inputs {path}: {e}")))?;
    let inputs = text
        .lines()
        .enumerate()
        .map(|(n, l)| (n + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .map(|(n, l)| parse_hex(l).map_err(|e| UsageError(format!("--inputs {path}:{n}: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    if inputs.is_empty() {
        return Err(UsageError(format!(
            "--inputs {path}: no inputs in the file"
        )));
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

fn load_vm(cfg: &Config) -> Result<Engine, UsageError> {
    match &cfg.vm {
        None => Ok(Engine::Ember(Runtime::new(cfg.runtime.clone()))),
        Some(spec) => ember_evmc::EvmcVm::from_config(spec)
            .map(Engine::Evmc)
            .map_err(|e| UsageError(format!("--vm: {e}"))),
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

fn run(cfg: &Config, engine: &Engine) -> Result<(), UsageError> {
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
        cfg.profile.write_files(p).map_err(UsageError)?;
    }
    report(
        cfg,
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
/// `--stats` the runtime's statistics, and with `--profile` the profiler's table.
fn report(
    cfg: &Config,
    r: &ExecResult,
    logs: &[Log],
    times: &mut [u128],
    stats: Option<&Stats>,
    profile: Option<&ProfileReport>,
) {
    let compile_ns = stats
        .filter(|s| s.tier != Tier::Interp)
        .map(|s| s.contracts.iter().map(|c| c.compile_ns).sum::<u64>());
    let used = gas_used(cfg.gas, r);
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
        if cfg.repeat > 1 {
            obj["runs"] = cfg.repeat.into();
            obj["medianNs"] = (median(times) as u64).into();
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
    } else {
        let _ = writeln!(out, "status: {}", r.status.name());
        let _ = writeln!(out, "output: 0x{}", to_hex(&r.output));
        let _ = writeln!(out, "gas used: {used}");
        if cfg.repeat > 1 {
            let _ = writeln!(out, "runs: {}, median: {} ns", cfg.repeat, median(times));
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
    }
}
