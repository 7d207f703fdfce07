//! Command-line options of the `ember-bench` binary.

use crate::measure::Clock;
use crate::JitLevel;
use ember_jit::OptLevel;
use std::path::PathBuf;
use std::time::Duration;

/// The usage text printed by `--help` and after a usage error.
pub const USAGE: &str = "\
usage: ember-bench [--micro | --dir PATH] [--filter TEXT] [--min-time MS] [--iterations N]
                   [--clock cpu|wall] [--no-jit | --opt-level first|N] [--json]

Runs every input of every ipsilon/evm-benchmarks state test in ember's interpreter, in
ember's compiled code (the contract compiled once per case, before timing) and in revm's
interpreter (London), checks that all agree, and prints their median times, the contracts'
compile times and machine-code sizes.

  --dir PATH      directory holding the suite's *.json state tests
                  (default: ../shared/evm-benchmarks/benchmarks/main next to the repository)
  --micro         use the micro suite (benchmarks/micro) instead of main
  --filter TEXT   only cases whose name (benchmark/label) contains TEXT
  --min-time MS   time budget per engine per case in milliseconds (default 500)
  --iterations N  at most N timed samples per engine per case (default 10000)
  --clock CLOCK   `cpu` (default): the benchmark thread's CPU time, which leaves out time
                  spent descheduled on a busy machine; `wall`: elapsed real time
  --no-jit        leave ember's compiled tier out: ember's interpreter against revm only
  --opt-level L   compile every contract at LLVM level L: 0, 1, 2 or 3; or `first` (the
                  default): at the level of the runtime's first compile in `auto`, which is
                  `jit.tier-up-level` (1) for code of at most `jit.tier-up-bytes` (4096),
                  else `jit.opt-level` (0)
  --json          print the results as one JSON object instead of a table
  -h, --help      print this help

A contract the compiler rejects or fails on is still run in the other two engines; its row
says why it was not compiled.

Exit status: 0 when the engines agree on every case, 1 on a mismatch or a case the harness
cannot run, 2 on a usage error or a missing or malformed benchmark directory.";

/// Which suite to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Suite {
    /// `benchmarks/main` or `benchmarks/micro` of the shared checkout.
    Default {
        /// The micro suite rather than the main one.
        micro: bool,
    },
    /// A directory named on the command line.
    Dir(PathBuf),
}

/// Parsed options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Which benchmarks.
    pub suite: Suite,
    /// Only benchmarks whose name contains this.
    pub filter: Option<String>,
    /// Time to spend sampling each benchmark at least.
    pub min_time: Duration,
    /// The most samples per benchmark.
    pub max_samples: usize,
    /// How time is measured.
    pub clock: Clock,
    /// The level ember's compiled tier is compiled at, if it is compiled, checked and timed
    /// too.
    pub jit: Option<JitLevel>,
    /// JSON output instead of a table.
    pub json: bool,
}

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Run the benchmarks.
    Run(Options),
    /// Print the usage.
    Help,
}

/// Parses the arguments after the program name.
pub fn parse_args<I: IntoIterator<Item = String>>(args: I) -> Result<Command, String> {
    let mut dir = None;
    let mut micro = false;
    let mut filter = None;
    let mut min_time = Duration::from_millis(500);
    let mut max_samples = 10_000;
    let mut clock = Clock::ThreadCpu;
    let mut jit = true;
    let mut opt_level = None;
    let mut json = false;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--dir" => dir = Some(PathBuf::from(value("--dir")?)),
            "--micro" => micro = true,
            "--filter" => filter = Some(value("--filter")?),
            "--min-time" => {
                let v = value("--min-time")?;
                let ms: u64 = v.parse().map_err(|_| {
                    format!("--min-time: {v:?} is not a whole number of milliseconds")
                })?;
                min_time = Duration::from_millis(ms);
            }
            "--iterations" => {
                let v = value("--iterations")?;
                max_samples =
                    v.parse().ok().filter(|&n| n > 0).ok_or_else(|| {
                        format!("--iterations: {v:?} is not a positive whole number")
                    })?;
            }
            "--clock" => {
                clock = match value("--clock")?.as_str() {
                    "cpu" => Clock::ThreadCpu,
                    "wall" => Clock::Wall,
                    other => return Err(format!("--clock: {other:?} is neither cpu nor wall")),
                }
            }
            "--no-jit" => jit = false,
            "--opt-level" => {
                let v = value("--opt-level")?;
                opt_level =
                    Some(match v.as_str() {
                        "first" => JitLevel::First,
                        _ => JitLevel::Fixed(OptLevel::from_name(&v).ok_or_else(|| {
                            format!("--opt-level: {v:?} is not first, 0, 1, 2 or 3")
                        })?),
                    });
            }
            "--json" => json = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let suite = match (dir, micro) {
        (Some(_), true) => {
            return Err(
                "--dir and --micro cannot be combined: --dir names the suite directory itself"
                    .into(),
            )
        }
        (Some(d), false) => Suite::Dir(d),
        (None, micro) => Suite::Default { micro },
    };
    if !jit && opt_level.is_some() {
        return Err("--opt-level and --no-jit cannot be combined: nothing is compiled".into());
    }
    Ok(Command::Run(Options {
        suite,
        filter,
        min_time,
        max_samples,
        clock,
        jit: jit.then(|| opt_level.unwrap_or(JitLevel::First)),
        json,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, String> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn defaults() {
        assert_eq!(
            parse(&[]),
            Ok(Command::Run(Options {
                suite: Suite::Default { micro: false },
                filter: None,
                min_time: Duration::from_millis(500),
                max_samples: 10_000,
                clock: Clock::ThreadCpu,
                jit: Some(JitLevel::First),
                json: false,
            }))
        );
    }

    #[test]
    fn every_option() {
        assert_eq!(
            parse(&[
                "--dir",
                "/x",
                "--filter",
                "sha1",
                "--min-time",
                "20",
                "--iterations",
                "3",
                "--clock",
                "wall",
                "--no-jit",
                "--json"
            ]),
            Ok(Command::Run(Options {
                suite: Suite::Dir(PathBuf::from("/x")),
                filter: Some("sha1".into()),
                min_time: Duration::from_millis(20),
                max_samples: 3,
                clock: Clock::Wall,
                jit: None,
                json: true,
            }))
        );
        assert!(matches!(
            parse(&["--opt-level", "O1"]),
            Ok(Command::Run(Options {
                jit: Some(JitLevel::Fixed(OptLevel::O1)),
                ..
            }))
        ));
        assert!(matches!(
            parse(&["--opt-level", "first"]),
            Ok(Command::Run(Options {
                jit: Some(JitLevel::First),
                ..
            }))
        ));
        assert!(matches!(
            parse(&["--micro"]),
            Ok(Command::Run(Options {
                suite: Suite::Default { micro: true },
                ..
            }))
        ));
        assert_eq!(parse(&["--filter", "x", "-h"]), Ok(Command::Help));
    }

    #[test]
    fn usage_errors() {
        for (args, want) in [
            (&["--dir"][..], "--dir needs a value"),
            (&["--iterations", "0"], "not a positive"),
            (&["--iterations", "-1"], "not a positive"),
            (&["--min-time", "1.5"], "whole number of milliseconds"),
            (&["--bogus"], "unknown argument"),
            (&["--clock", "tsc"], "neither cpu nor wall"),
            (&["--micro", "--dir", "/x"], "cannot be combined"),
            (&["--opt-level", "4"], "is not first, 0, 1, 2 or 3"),
            (&["--opt-level"], "--opt-level needs a value"),
            (&["--no-jit", "--opt-level", "1"], "cannot be combined"),
        ] {
            let err = parse(args).unwrap_err();
            assert!(err.contains(want), "{args:?}: {err}");
        }
    }
}
