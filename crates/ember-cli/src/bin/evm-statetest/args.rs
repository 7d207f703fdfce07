//! Command-line options of `evm-statetest`.

use std::path::PathBuf;

use clap::Parser;
use ember_cli::profile_args::ProfileOptions;
use ember_cli::runtime_args::RuntimeArgs;
use ember_evm::Revision;
use ember_runtime::RuntimeConfig;

/// Runs Ethereum state tests (ethereum/tests GeneralStateTests and execution-spec-tests
/// state_tests) and reports every case that differs from the fixture.
#[derive(Parser, Debug)]
#[command(
    name = "evm-statetest",
    version,
    after_help = "Exit status: 0 all passed, 1 a case failed, 2 bad arguments, \
                  3 a fixture could not be read."
)]
struct Cli {
    /// Fixture files, or directories searched recursively for *.json
    #[arg(value_name = "PATH", required = true, help_heading = "Input")]
    paths: Vec<PathBuf>,
    /// Run only the cases of this fork (e.g. Cancun, Prague, EIP150)
    #[arg(long, value_name = "NAME", value_parser = fork, help_heading = "Input")]
    fork: Option<Revision>,
    /// Run only the tests whose name contains TEXT
    #[arg(long, value_name = "TEXT", help_heading = "Input")]
    filter: Option<String>,

    /// Use N threads [default: one per core]
    #[arg(short = 'j', long, value_name = "N", help_heading = "Execution",
          value_parser = clap::value_parser!(u32).range(1..))]
    jobs: Option<u32>,
    /// Run frames in this EVMC VM library (with ",name=value" options) instead of ember's
    /// own runtime (e.g. libember.so)
    #[arg(
        long,
        value_name = "PATH[,NAME=VALUE...]",
        help_heading = "Execution",
        conflicts_with = "trace"
    )]
    vm: Option<String>,

    #[command(flatten)]
    runtime: RuntimeArgs,

    /// Print one JSON array of case results on stdout (the human report goes to stderr)
    #[arg(long, help_heading = "Output")]
    json: bool,
    /// Write an EIP-3155 trace of each case to stderr (runs the cases one at a time; traced
    /// frames run in the interpreter)
    #[arg(long, help_heading = "Output")]
    trace: bool,
    /// Print the runtime's statistics (the 20 contracts with the most gas)
    #[arg(long, help_heading = "Output")]
    stats: bool,

    #[command(flatten)]
    profile: ProfileOptions,
}

fn fork(name: &str) -> Result<Revision, String> {
    Revision::from_name(name).ok_or_else(|| "unknown fork".to_owned())
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

impl From<Cli> for Options {
    fn from(cli: Cli) -> Options {
        let mut runtime = cli.runtime.config();
        cli.profile.configure(&mut runtime);
        Options {
            paths: cli.paths,
            fork: cli.fork,
            filter: cli.filter,
            runtime,
            vm: cli.vm,
            json: cli.json,
            trace: cli.trace,
            jobs: cli.jobs.map(|n| n as usize),
            stats: cli.stats,
            profile: cli.profile,
        }
    }
}

/// The options of the process's command line; `--help`, `--version` and usage errors exit
/// (see [`ember_cli::parse_command_line`]).
pub fn from_command_line() -> Options {
    ember_cli::parse_command_line::<Cli>("evm-statetest").into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ember_runtime::Tier;

    fn parse(args: &[&str]) -> Result<Options, String> {
        Cli::try_parse_from(std::iter::once("evm-statetest").chain(args.iter().copied()))
            .map(Options::from)
            .map_err(|e| ember_cli::one_line(&e))
    }

    fn run(args: &[&str]) -> Options {
        parse(args).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    #[test]
    fn the_command_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
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
        let o = run(&["--profile-svg", "t.svg", "x"]);
        assert!(
            o.runtime.timeline(),
            "the timeline is switched on for the picture"
        );
    }

    #[test]
    fn bad_arguments_are_one_line_errors_naming_the_option() {
        for (bad, option) in [
            (&["x", "--bogus"][..], "--bogus"),
            (&["--fork", "Amsterdam", "x"], "--fork"),
            (&["--fork"], "--fork"),
            (&["-j", "0", "x"], "--jobs"),
            (&["-j", "many", "x"], "--jobs"),
            (&["-j", "2", "--jobs", "2", "x"], "--jobs"),
            (&["--fork", "Cancun", "--fork", "Prague", "x"], "--fork"),
            (&["--tier", "fast", "x"], "--tier"),
            (&["--json=1", "x"], "--json"),
            (&[], "PATH"),
            (&["--json"], "PATH"),
            (&["--vm", "libember.so", "--tier", "interp", "x"], "--tier"),
            (
                &["--vm", "libember.so", "--jit-workers", "2", "x"],
                "--jit-workers",
            ),
            (&["--vm", "libember.so", "--profile", "x"], "--profile"),
            (&["--jit-workers", "0", "x"], "--jit-workers"),
            (&["--jit-opt-level", "fast", "x"], "--jit-opt-level"),
            (&["--vm", "libember.so", "--trace", "x"], "--trace"),
        ] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains(option) && !e.contains('\n'), "{bad:?}: {e}");
        }
        assert_eq!(
            run(&["--vm", "lib.so,trace", "x"]).vm.as_deref(),
            Some("lib.so,trace")
        );
    }
}
