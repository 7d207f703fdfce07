//! Command-line parsing for `evm-statetest`.

use std::path::PathBuf;

use ember_cli::args::{flag, value, Args, Opt, UsageError};
use ember_cli::profile_args::{ProfileOptions, PROFILE_HELP, PROFILE_OPTS};
use ember_cli::runtime_args::{first_runtime_option, runtime_config, RUNTIME_HELP, RUNTIME_OPTS};
use ember_evm::Revision;
use ember_runtime::RuntimeConfig;

/// The usage text printed by `--help` and after argument errors.
pub fn usage() -> String {
    format!(
        "\
usage: evm-statetest PATH... [options]

Runs Ethereum state tests (ethereum/tests GeneralStateTests and execution-spec-tests
state_tests). PATH is a fixture file or a directory searched recursively for *.json.

options:
  --fork NAME            run only the cases of this fork (e.g. Cancun, Prague, EIP150)
  --filter TEXT          run only tests whose name contains TEXT
  --vm PATH[,o=v]        run frames in this EVMC VM library instead (e.g. libember.so)
  --json                 print one JSON array of case results on stdout (human output on
                         stderr)
  --trace                write an EIP-3155 trace of each case to stderr (runs sequentially;
                         traced frames always run in the interpreter)
  -j, --jobs N           use N threads (default: one per core)
  --stats                print the runtime's statistics (the 20 contracts with the most gas)
  -h, --help             print this help
{PROFILE_HELP}
{RUNTIME_HELP}

exit status: 0 all passed, 1 a case failed, 2 bad arguments, 3 a fixture could not be read"
    )
}

/// Everything the command line asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    pub paths: Vec<PathBuf>,
    pub fork: Option<Revision>,
    pub filter: Option<String>,
    /// The tier and its settings (tier `interp` unless asked).
    pub runtime: RuntimeConfig,
    /// An EVMC VM library (with `,name=value` options) that runs frames instead of ember.
    pub vm: Option<String>,
    pub json: bool,
    pub trace: bool,
    pub jobs: Option<usize>,
    pub stats: bool,
    /// The profiler output asked for.
    pub profile: ProfileOptions,
}

/// What to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Run(Box<Options>),
    Help,
}

const OPTIONS: &[Opt] = &[
    value("--fork"),
    value("--filter"),
    value("--vm"),
    flag("--json"),
    flag("--trace"),
    value("-j"),
    value("--jobs"),
    flag("--stats"),
    flag("-h"),
    flag("--help"),
];

/// Parses the arguments after the program name. Value options accept `--opt VALUE` and
/// `--opt=VALUE`; `--` ends the options.
pub fn parse_args<I: IntoIterator<Item = String>>(argv: I) -> Result<Command, String> {
    let usage = |e: UsageError| e.0;
    let args = Args::parse(argv, &[OPTIONS, RUNTIME_OPTS, PROFILE_OPTS].concat()).map_err(usage)?;
    if args.flag("-h") || args.flag("--help") {
        return Ok(Command::Help);
    }
    let fork = match args.value("--fork").map_err(usage)? {
        None => None,
        Some(name) => Some(
            Revision::from_name(name).ok_or_else(|| format!("unknown fork {name:?} for --fork"))?,
        ),
    };
    let mut runtime = runtime_config(&args).map_err(usage)?;
    let profile = ProfileOptions::from_args(&args).map_err(usage)?;
    profile.configure(&mut runtime);
    let jobs = match (
        args.value("-j").map_err(usage)?,
        args.value("--jobs").map_err(usage)?,
    ) {
        (Some(_), Some(_)) => return Err("-j and --jobs given together".to_owned()),
        (j, jobs) => j.or(jobs),
    };
    let jobs = jobs
        .map(|n| match n.parse::<usize>() {
            Ok(j) if j > 0 => Ok(j),
            _ => Err(format!("-j needs a positive thread count, got {n:?}")),
        })
        .transpose()?;
    if args.positional.is_empty() {
        return Err("no PATH given".to_owned());
    }
    let vm = args.value("--vm").map_err(usage)?.map(str::to_owned);
    if let (Some(_), Some(opt)) = (&vm, first_runtime_option(&args)) {
        return Err(format!("{opt} and --vm exclude each other"));
    }
    if vm.is_some() && profile.any() {
        return Err(
            "the profiler reports ember's own runtime; it does not apply to --vm".to_owned(),
        );
    }
    if vm.is_some() && args.flag("--trace") {
        return Err(
            "--trace needs ember's own engine: EVMC VMs cannot report instructions".to_owned(),
        );
    }
    Ok(Command::Run(Box::new(Options {
        paths: args.positional.iter().map(PathBuf::from).collect(),
        fork,
        filter: args.value("--filter").map_err(usage)?.map(str::to_owned),
        runtime,
        vm,
        json: args.flag("--json"),
        trace: args.flag("--trace"),
        jobs,
        stats: args.flag("--stats"),
        profile,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ember_runtime::Tier;

    fn parse(args: &[&str]) -> Result<Command, String> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    fn run(args: &[&str]) -> Options {
        match parse(args) {
            Ok(Command::Run(o)) => *o,
            other => panic!("expected options for {args:?}, got {other:?}"),
        }
    }

    #[test]
    fn defaults_and_every_option() {
        let o = run(&["a.json"]);
        assert_eq!(o.paths, vec![PathBuf::from("a.json")]);
        assert_eq!(
            (o.fork, o.runtime.tier(), o.jobs, o.json, o.trace, o.stats),
            (None, Tier::Interp, None, false, false, false)
        );

        let o = run(&[
            "--fork", "Cancun", "--filter", "add", "--tier", "interp", "--json", "--trace", "-j",
            "3", "--stats", "d1", "d2",
        ]);
        assert_eq!(o.fork, Some(Revision::Cancun));
        assert_eq!(o.filter.as_deref(), Some("add"));
        assert_eq!(o.jobs, Some(3));
        assert!(o.json && o.trace && o.stats);
        assert_eq!(o.paths.len(), 2);
    }

    #[test]
    fn inline_values_and_double_dash() {
        let o = run(&["--fork=EIP150", "--jobs=4", "--", "--json"]);
        assert_eq!(o.fork, Some(Revision::TangerineWhistle));
        assert_eq!(o.jobs, Some(4));
        assert!(!o.json);
        assert_eq!(o.paths, vec![PathBuf::from("--json")]);
        assert_eq!(run(&["--tier=jit", "x"]).runtime.tier(), Tier::Jit);
        let o = run(&[
            "--tier",
            "auto",
            "--jit-hot-calls",
            "1",
            "--jit-hot-gas=0",
            "x",
        ]);
        assert_eq!(o.runtime.tier(), Tier::Auto);
        assert_eq!((o.runtime.hot_calls(), o.runtime.hot_gas()), (1, 0));
    }

    #[test]
    fn bad_arguments_are_errors() {
        for bad in [
            &["x", "--bogus"][..],
            &["--fork", "Amsterdam", "x"],
            &["--fork"],
            &["-j", "0", "x"],
            &["-j", "many", "x"],
            &["-j", "2", "--jobs", "2", "x"],
            &["--fork", "Cancun", "--fork", "Prague", "x"],
            &["--tier", "fast", "x"],
            &["--json=1", "x"],
            &[],
            &["--json"],
            &["--vm", "libember.so", "--tier", "interp", "x"],
            &["--vm", "libember.so", "--jit-workers", "2", "x"],
            &["--jit-workers", "0", "x"],
            &["--jit-opt-level", "fast", "x"],
            &["--vm", "libember.so", "--trace", "x"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert_eq!(parse(&["--help"]), Ok(Command::Help));
        assert_eq!(
            run(&["--vm", "lib.so,trace", "x"]).vm.as_deref(),
            Some("lib.so,trace")
        );
    }
}
