//! The runtime's options, shared by `evm-run` and `evm-statetest`: `--tier` and one
//! `--jit-NAME VALUE` flag per runtime setting `jit.NAME` (the names EVMC's `set_option`
//! takes), declared once as the clap group `runtime`. The setting names, their descriptions,
//! defaults and checks all come from [`ember_runtime::RuntimeConfig`]; this file only maps
//! each flag to its setting. They tune ember's own runtime, so they exclude the tool's `--vm`
//! option (whose id must be `vm`).

use clap::{Arg, ArgGroup, ArgMatches, Args, Command, FromArgMatches};
use ember_runtime::{RuntimeConfig, Tier, SETTINGS};

/// Each option's long name, its runtime setting and its value's name in the help.
const FLAGS: &[(&str, &str, &str)] = &[
    ("tier", "tier", "TIER"),
    ("jit-hot-calls", "jit.hot-calls", "N"),
    ("jit-hot-gas", "jit.hot-gas", "N"),
    ("jit-window-ms", "jit.window-ms", "MS"),
    ("jit-buckets", "jit.buckets", "N"),
    ("jit-workers", "jit.workers", "N"),
    ("jit-queue", "jit.queue", "N"),
    ("jit-max-profiles", "jit.max-profiles", "N"),
    ("jit-opt-level", "jit.opt-level", "0-3"),
    ("jit-tier-up-level", "jit.tier-up-level", "off|0-3"),
    ("jit-tier-up-bytes", "jit.tier-up-bytes", "BYTES"),
    ("jit-tier-up-ratio", "jit.tier-up-ratio", "N"),
    ("jit-shutdown-ms", "jit.shutdown-ms", "MS"),
    ("jit-max-versions", "jit.max-versions", "N"),
    ("jit-perf-map", "jit.perf-map", "0|1"),
    ("code-cache-bytes", "jit.code-cache-bytes", "BYTES"),
    ("idle-evict-ms", "jit.idle-evict-ms", "MS"),
];

/// The settings the command-line tools start from: the runtime's defaults, in tier `interp`.
fn base() -> RuntimeConfig {
    RuntimeConfig::with_tier(Tier::Interp)
}

/// The runtime options given on the command line, each checked by [`RuntimeConfig::set`]
/// while parsing (a bad value is a usage error naming the option).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuntimeArgs {
    /// (setting, value) in the order of [`FLAGS`].
    given: Vec<(&'static str, String)>,
}

impl RuntimeArgs {
    /// The runtime configuration asked for: tier `interp` and the runtime's defaults, with
    /// the options given applied.
    pub fn config(&self) -> RuntimeConfig {
        let mut config = base();
        for (setting, value) in &self.given {
            // Every value was checked by the same `set` while parsing.
            if let Err(e) = config.set(setting, value) {
                unreachable!("checked while parsing: {e}");
            }
        }
        config
    }
}

/// A clap value parser that accepts what [`RuntimeConfig::set`] accepts for `setting`.
fn checker(setting: &'static str) -> impl Fn(&str) -> Result<String, String> + Clone {
    move |value: &str| {
        base().set(setting, value).map_err(|e| match e {
            ember_runtime::ConfigError::InvalidValue { reason, .. } => reason,
            other => other.to_string(),
        })?;
        Ok(value.to_owned())
    }
}

/// The help line of `setting`: its description and the tools' default.
fn help(setting: &str) -> String {
    let description = SETTINGS
        .iter()
        .find(|(name, _)| *name == setting)
        .map_or("", |(_, d)| d);
    let default = base().get(setting).unwrap_or_default();
    format!("{description} [setting {setting}; default {default}]")
}

impl FromArgMatches for RuntimeArgs {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut args = RuntimeArgs::default();
        args.update_from_arg_matches(matches)?;
        Ok(args)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        for (long, setting, _) in FLAGS {
            if let Some(v) = matches.get_one::<String>(long) {
                self.given.retain(|(s, _)| s != setting);
                self.given.push((setting, v.clone()));
            }
        }
        Ok(())
    }
}

impl Args for RuntimeArgs {
    fn group_id() -> Option<clap::Id> {
        Some(clap::Id::from("runtime"))
    }

    fn augment_args(cmd: Command) -> Command {
        let cmd = cmd.group(
            ArgGroup::new("runtime")
                .multiple(true)
                .args(FLAGS.iter().map(|(long, _, _)| *long)),
        );
        FLAGS.iter().fold(cmd, |cmd, (long, setting, value_name)| {
            cmd.arg(
                Arg::new(*long)
                    .long(*long)
                    .value_name(*value_name)
                    .help(help(setting))
                    .help_heading("Runtime tuning")
                    .value_parser(checker(setting))
                    .conflicts_with("vm"),
            )
        })
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        runtime: RuntimeArgs,
        #[arg(long)]
        vm: Option<String>,
    }

    fn parse(a: &[&str]) -> Result<RuntimeConfig, String> {
        Cli::try_parse_from(std::iter::once("t").chain(a.iter().copied()))
            .map(|c| c.runtime.config())
            .map_err(|e| crate::one_line(&e))
    }

    #[test]
    fn every_flag_reaches_its_setting() {
        assert_eq!(parse(&[]).unwrap(), base());
        let c = parse(&[
            "--tier",
            "auto",
            "--jit-hot-calls",
            "1",
            "--jit-hot-gas=0",
            "--jit-window-ms",
            "50",
            "--jit-buckets",
            "5",
            "--jit-workers",
            "3",
            "--jit-queue",
            "9",
            "--jit-max-profiles",
            "77",
            "--jit-opt-level",
            "2",
            "--jit-tier-up-level",
            "3",
            "--jit-tier-up-bytes",
            "64",
            "--jit-tier-up-ratio",
            "7",
            "--jit-shutdown-ms",
            "5",
            "--jit-max-versions",
            "2",
            "--jit-perf-map",
            "1",
            "--code-cache-bytes",
            "100000",
            "--idle-evict-ms",
            "0",
        ])
        .unwrap();
        assert_eq!(c.tier(), Tier::Auto);
        assert_eq!((c.hot_calls(), c.hot_gas(), c.window_ms()), (1, 0, 50));
        assert_eq!((c.buckets(), c.workers(), c.queue()), (5, 3, 9));
        assert_eq!((c.max_profiles(), c.shutdown_ms()), (77, 5));
        assert_eq!(c.opt_level(), ember_runtime::OptLevel::O2);
        assert_eq!(
            (c.tier_up_level(), c.tier_up_ratio()),
            (Some(ember_runtime::OptLevel::O3), 7)
        );
        assert_eq!(c.tier_up_bytes(), 64);
        assert!(c.perf_map());
        assert_eq!(
            (c.max_versions(), c.code_cache_bytes(), c.idle_evict_ms()),
            (2, 100_000, 0)
        );
        // Every runtime setting but the profiler's timeline (switched on by the profiling
        // options) has its flag, described by the runtime.
        for (name, _) in SETTINGS {
            let flagged = FLAGS.iter().any(|(_, s, _)| s == name);
            assert_eq!(flagged, *name != "profile.timeline", "{name}");
        }
        for (_, setting, _) in FLAGS {
            assert!(!help(setting).starts_with(' '), "{setting} is described");
        }
    }

    #[test]
    fn bad_values_name_the_flag() {
        let e = parse(&["--jit-workers", "0"]).unwrap_err();
        assert_eq!(
            e,
            "invalid value '0' for '--jit-workers <N>': must be from 1 to 64; try --help"
        );
        let e = parse(&["--tier", "turbo"]).unwrap_err();
        assert!(e.contains("'--tier <TIER>'"), "{e}");
        assert!(parse(&["--jit-queue", "x"]).is_err());
        assert!(parse(&["--jit-queue", "1", "--jit-queue", "2"]).is_err());
        let e = parse(&["--vm", "x.so", "--jit-queue", "1"]).unwrap_err();
        assert!(e.contains("'--jit-queue <N>'") && e.contains("--vm"), "{e}");
    }
}
