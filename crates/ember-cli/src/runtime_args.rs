//! The runtime's options, shared by `evm-run` and `evm-statetest`: `--tier` and one
//! `--jit-NAME VALUE` flag per runtime setting `jit.NAME`, all checked by
//! [`RuntimeConfig::set`].

use crate::args::{value, Args, Opt, UsageError};
use ember_runtime::{RuntimeConfig, Tier};

/// The options, with their runtime setting.
const FLAGS: &[(&str, &str)] = &[
    ("--jit-hot-calls", "jit.hot-calls"),
    ("--jit-hot-gas", "jit.hot-gas"),
    ("--jit-window-ms", "jit.window-ms"),
    ("--jit-buckets", "jit.buckets"),
    ("--jit-workers", "jit.workers"),
    ("--jit-queue", "jit.queue"),
    ("--jit-max-profiles", "jit.max-profiles"),
    ("--jit-opt-level", "jit.opt-level"),
    ("--jit-shutdown-ms", "jit.shutdown-ms"),
    ("--jit-max-versions", "jit.max-versions"),
    ("--jit-perf-map", "jit.perf-map"),
    ("--code-cache-bytes", "jit.code-cache-bytes"),
    ("--idle-evict-ms", "jit.idle-evict-ms"),
];

/// `--tier` and the `--jit-*` options, for [`Args::parse`].
pub const RUNTIME_OPTS: &[Opt] = &[
    value("--tier"),
    value("--jit-hot-calls"),
    value("--jit-hot-gas"),
    value("--jit-window-ms"),
    value("--jit-buckets"),
    value("--jit-workers"),
    value("--jit-queue"),
    value("--jit-max-profiles"),
    value("--jit-opt-level"),
    value("--jit-shutdown-ms"),
    value("--jit-max-versions"),
    value("--jit-perf-map"),
    value("--code-cache-bytes"),
    value("--idle-evict-ms"),
];

/// Help text for the runtime options (each line indented by two spaces).
pub const RUNTIME_HELP: &str = "\
  --tier TIER            interp (default), jit (compile every contract before its first run)
                         or auto (compile the contracts found hot, in the background)
  --jit-hot-calls N      auto: calls within the window that make a contract hot (default 8)
  --jit-hot-gas N        auto: gas within the window that makes a contract hot (default 1000000)
  --jit-window-ms N      auto: the profiling window in milliseconds (default 1000)
  --jit-buckets N        auto: buckets the window is counted in (default 10)
  --jit-workers N        auto: compile threads (default: half the cores, 1 to 4)
  --jit-queue N          auto: most compile requests waiting (default 256)
  --jit-max-profiles N   most contracts the runtime keeps (default 4096)
  --jit-opt-level N      LLVM optimisation level 0..3 (default 0)
  --jit-shutdown-ms N    how long exit waits for running compiles (default 2000)
  --jit-max-versions N   auto: versions per contract; the last one does not speculate
                         (default 3; 1 never speculates)
  --jit-perf-map 0|1     announce compiled code to Linux perf in /tmp/perf-PID.map (default 0)
  --code-cache-bytes N   most bytes of compiled code kept; more evicts the coldest
                         (default 134217728)
  --idle-evict-ms N      evict compiled code not run for this long (default 600000; 0 never)";

/// The runtime configuration the options ask for; the tier defaults to `interp`.
pub fn runtime_config(args: &Args) -> Result<RuntimeConfig, UsageError> {
    let mut config = RuntimeConfig::with_tier(Tier::Interp);
    if let Some(tier) = args.value("--tier")? {
        config.set("tier", tier).map_err(|_| {
            UsageError(format!("--tier: unknown tier {tier:?} (interp, jit, auto)"))
        })?;
    }
    for (flag, name) in FLAGS {
        if let Some(v) = args.value(flag)? {
            config.set(name, v).map_err(|e| match e {
                ember_runtime::ConfigError::InvalidValue { reason, .. } => {
                    UsageError(format!("{flag}: invalid value {v:?}: {reason}"))
                }
                other => UsageError(format!("{flag}: {other}")),
            })?;
        }
    }
    Ok(config)
}

/// The runtime option given on the command line, if any (for "excludes --vm" errors).
pub fn first_runtime_option(args: &Args) -> Option<&'static str> {
    RUNTIME_OPTS
        .iter()
        .map(|o| o.name)
        .find(|name| !args.values(name).is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(a: &[&str]) -> Result<RuntimeConfig, UsageError> {
        let args = Args::parse(a.iter().map(|s| s.to_string()), RUNTIME_OPTS)?;
        runtime_config(&args)
    }

    #[test]
    fn every_flag_reaches_its_setting() {
        assert_eq!(parse(&[]).unwrap().tier(), Tier::Interp);
        let c = parse(&[
            "--tier",
            "auto",
            "--jit-hot-calls",
            "1",
            "--jit-hot-gas",
            "0",
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
            "--jit-shutdown-ms",
            "5",
            "--jit-max-versions",
            "2",
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
            (c.max_versions(), c.code_cache_bytes(), c.idle_evict_ms()),
            (2, 100_000, 0)
        );
        assert_eq!(FLAGS.len() + 1, RUNTIME_OPTS.len());
        for (flag, _) in FLAGS {
            assert!(RUNTIME_HELP.contains(flag), "{flag} is documented");
        }
    }

    #[test]
    fn bad_values_name_the_flag() {
        let e = parse(&["--jit-workers", "0"]).unwrap_err();
        assert_eq!(
            e.0,
            "--jit-workers: invalid value \"0\": must be from 1 to 64"
        );
        let e = parse(&["--tier", "turbo"]).unwrap_err();
        assert!(e.0.starts_with("--tier: unknown tier"), "{}", e.0);
        assert!(parse(&["--jit-queue", "x"]).is_err());
    }

    #[test]
    fn finds_the_first_runtime_option() {
        let args = Args::parse(["--jit-queue".to_string(), "3".into()], RUNTIME_OPTS).unwrap();
        assert_eq!(first_runtime_option(&args), Some("--jit-queue"));
        let args = Args::parse(Vec::<String>::new(), RUNTIME_OPTS).unwrap();
        assert_eq!(first_runtime_option(&args), None);
    }
}
