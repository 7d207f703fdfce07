//! The runtime's settings: one [`RuntimeConfig`], changed by name with textual values so that
//! every front end (the Rust API, `evm-run`, `evm-statetest`, EVMC `set_option`) shares one
//! parser and one set of checks.
//!
//! | name | values | default | meaning |
//! |---|---|---|---|
//! | `tier` | `interp`, `jit`, `auto` | `auto` | `interp` never compiles; `jit` compiles every contract before its first run; `auto` compiles the contracts the profiler finds hot |
//! | `jit.hot-calls` | 1 ..= 2^32 | 8 | calls within the window that make a contract hot |
//! | `jit.hot-gas` | 0 ..= 2^64 - 1 | 1000000 | gas used within the window that makes a contract hot (both thresholds must be reached) |
//! | `jit.window-ms` | 1 ..= 86400000 | 1000 | the span of the sliding window, in milliseconds |
//! | `jit.buckets` | 1 ..= 64 | 10 | how many buckets the window is counted in (at most one per millisecond) |
//! | `jit.workers` | 1 ..= 64 | ceil(cpus / 2), at most 4 | compile threads |
//! | `jit.queue` | 1 ..= 65536 | 256 | most compile requests waiting; more are dropped |
//! | `jit.max-profiles` | 1 ..= 2^24 | 4096 | most contracts the runtime keeps an entry for |
//! | `jit.opt-level` | `0` ..= `3` (or `O0` ..= `O3`) | `0` | LLVM optimisation level of a contract's first compile (O0: see ember-jit for the measurement) |
//! | `jit.tier-up-level` | `off`, `0` ..= `3` | `1` | in `auto`, the level a compiled contract is compiled at again once its compiled time outweighs its compile (off, or not above `jit.opt-level`: never) |
//! | `jit.tier-up-bytes` | 0 ..= 1048576 | 4096 | in `auto`, a contract with at most this many bytes of code is compiled at `jit.tier-up-level` already on its first compile, where that compile is still quick (0: never) |
//! | `jit.tier-up-ratio` | 1 ..= 1000000 | 4 | a compiled contract tiers up once its version has run (exclusive time in compiled code) for this many times what its compile took, while the contract is hot within the window |
//! | `jit.shutdown-ms` | 0 ..= 600000 | 2000 | how long dropping the runtime waits for running compiles |
//! | `jit.code-cache-bytes` | 65536 ..= 2^30 | 134217728 (128 MiB) | the most bytes of compiled code (machine code, constants, metadata) published at once; more evicts the coldest |
//! | `jit.idle-evict-ms` | 0 ..= 2^32 | 600000 | evict compiled code not run for this long (0: never) |
//! | `jit.max-versions` | 1 ..= 16 | 3 | versions compiled per contract before the last, non-speculative one (1: never speculate) |
//! | `jit.perf-map` | `0`, `1` | `0` | announce compiled code to Linux `perf` in `/tmp/perf-PID.map` |
//! | `profile.timeline` | `0`, `1` | `0` | record the profiler's timeline of tier transitions, tier events and compile jobs (the per-contract counters are always on) |

use ember_jit::OptLevel;
use std::fmt;
use std::str::FromStr;

/// How the runtime picks a tier for a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tier {
    /// Always the interpreter; no profiling.
    Interp,
    /// Compile every contract (with `JitConfig::compile_everything`) synchronously before
    /// its first run.
    Jit,
    /// Interpret, profile, and compile the hot contracts in the background.
    Auto,
}

impl Tier {
    /// The tier named `interp`, `jit` or `auto`.
    pub fn from_name(name: &str) -> Option<Tier> {
        match name {
            "interp" => Some(Tier::Interp),
            "jit" => Some(Tier::Jit),
            "auto" => Some(Tier::Auto),
            _ => None,
        }
    }

    /// The tier's name.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Interp => "interp",
            Tier::Jit => "jit",
            Tier::Auto => "auto",
        }
    }
}

/// Why [`RuntimeConfig::set`] refused a setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// No setting has this name (EVMC's `INVALID_NAME`).
    UnknownName(String),
    /// The value is not valid for the setting (EVMC's `INVALID_VALUE`).
    InvalidValue {
        /// The setting's name.
        name: String,
        /// The value given.
        value: String,
        /// Why the value was refused.
        reason: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::UnknownName(name) => write!(f, "unknown setting {name:?}"),
            ConfigError::InvalidValue {
                name,
                value,
                reason,
            } => write!(f, "invalid value {value:?} for {name}: {reason}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Every setting's name, with a one-line description (for help texts).
pub const SETTINGS: &[(&str, &str)] = &[
    (
        "tier",
        "interp never compiles, jit compiles every contract before its first run, auto \
         compiles the contracts found hot in the background",
    ),
    (
        "jit.hot-calls",
        "calls within the window that make a contract hot",
    ),
    (
        "jit.hot-gas",
        "gas within the window that makes a contract hot",
    ),
    ("jit.window-ms", "the profiling window, in milliseconds"),
    ("jit.buckets", "buckets the window is counted in"),
    ("jit.workers", "compile threads"),
    ("jit.queue", "most compile requests waiting"),
    ("jit.max-profiles", "most contracts kept"),
    (
        "jit.opt-level",
        "LLVM optimisation level of the first compile, 0..3",
    ),
    (
        "jit.tier-up-level",
        "auto: the level hot compiled code is compiled at again, off or 0..3",
    ),
    (
        "jit.tier-up-bytes",
        "auto: code of at most this many bytes is compiled at the tier-up level at once (0: never)",
    ),
    (
        "jit.tier-up-ratio",
        "auto: a version's compiled time, in its compile times, that triggers the tier-up",
    ),
    (
        "jit.shutdown-ms",
        "how long shutdown waits for running compiles",
    ),
    (
        "jit.code-cache-bytes",
        "most bytes of compiled code kept; more evicts the coldest",
    ),
    (
        "jit.idle-evict-ms",
        "evict compiled code idle this long, in milliseconds (0: never)",
    ),
    (
        "jit.max-versions",
        "versions per contract; the last does not speculate (1: never speculate)",
    ),
    ("jit.perf-map", "1: write /tmp/perf-PID.map for Linux perf"),
    ("profile.timeline", "1: record the profiler's timeline"),
];

/// The runtime's settings. Every value held is valid: the only way to change one is
/// [`set`](Self::set), which checks it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuntimeConfig {
    tier: Tier,
    hot_calls: u64,
    hot_gas: u64,
    window_ms: u64,
    buckets: usize,
    workers: usize,
    queue: usize,
    max_profiles: usize,
    opt_level: OptLevel,
    tier_up_level: Option<OptLevel>,
    tier_up_bytes: usize,
    tier_up_ratio: u64,
    shutdown_ms: u64,
    code_cache_bytes: usize,
    idle_evict_ms: u64,
    max_versions: u32,
    perf_map: bool,
    timeline: bool,
}

/// The default number of compile threads: half the cores, rounded up, between 1 and 4 (the
/// default of revmc's runtime). Compiling on every core would starve the threads that execute.
pub fn default_workers() -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    cpus.div_ceil(2).clamp(1, 4)
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            tier: Tier::Auto,
            hot_calls: 8,
            hot_gas: 1_000_000,
            window_ms: 1000,
            buckets: 10,
            workers: default_workers(),
            queue: 256,
            max_profiles: 4096,
            opt_level: ember_jit::JitConfig::default().opt_level,
            tier_up_level: Some(OptLevel::O1),
            tier_up_bytes: 4096,
            tier_up_ratio: 4,
            shutdown_ms: 2000,
            code_cache_bytes: 128 << 20,
            idle_evict_ms: 600_000,
            max_versions: 3,
            perf_map: false,
            timeline: false,
        }
    }
}

impl RuntimeConfig {
    /// The default settings with `tier` set.
    pub fn with_tier(tier: Tier) -> Self {
        RuntimeConfig {
            tier,
            ..RuntimeConfig::default()
        }
    }

    /// Changes the setting `name` (see the [module documentation](self) for the names and
    /// their ranges) to `value`, parsed from text. On error nothing changes.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        let invalid = |reason: String| ConfigError::InvalidValue {
            name: name.to_owned(),
            value: value.to_owned(),
            reason,
        };
        match name {
            "tier" => {
                self.tier = Tier::from_name(value)
                    .ok_or_else(|| invalid("expected interp, jit or auto".into()))?
            }
            "jit.hot-calls" => self.hot_calls = number(value, 1, 1 << 32).map_err(invalid)?,
            "jit.hot-gas" => self.hot_gas = number(value, 0, u64::MAX).map_err(invalid)?,
            "jit.window-ms" => self.window_ms = number(value, 1, 86_400_000).map_err(invalid)?,
            "jit.buckets" => self.buckets = number(value, 1, 64).map_err(invalid)?,
            "jit.workers" => self.workers = number(value, 1, 64).map_err(invalid)?,
            "jit.queue" => self.queue = number(value, 1, 65_536).map_err(invalid)?,
            "jit.max-profiles" => self.max_profiles = number(value, 1, 1 << 24).map_err(invalid)?,
            "jit.opt-level" => {
                self.opt_level = OptLevel::from_name(value)
                    .ok_or_else(|| invalid("expected 0, 1, 2 or 3".into()))?
            }
            "jit.tier-up-level" => {
                self.tier_up_level = match value {
                    "off" => None,
                    _ => Some(
                        OptLevel::from_name(value)
                            .ok_or_else(|| invalid("expected off, 0, 1, 2 or 3".into()))?,
                    ),
                }
            }
            "jit.tier-up-bytes" => {
                self.tier_up_bytes = number(value, 0, 1 << 20).map_err(invalid)?
            }
            "jit.tier-up-ratio" => {
                self.tier_up_ratio = number(value, 1, 1_000_000).map_err(invalid)?
            }
            "jit.shutdown-ms" => self.shutdown_ms = number(value, 0, 600_000).map_err(invalid)?,
            "jit.code-cache-bytes" => {
                self.code_cache_bytes = number(value, 1 << 16, 1 << 30).map_err(invalid)?
            }
            "jit.idle-evict-ms" => {
                self.idle_evict_ms = number(value, 0, 1 << 32).map_err(invalid)?
            }
            "jit.max-versions" => self.max_versions = number(value, 1, 16).map_err(invalid)?,
            "jit.perf-map" => self.perf_map = switch(value).map_err(invalid)?,
            "profile.timeline" => self.timeline = switch(value).map_err(invalid)?,
            _ => return Err(ConfigError::UnknownName(name.to_owned())),
        }
        Ok(())
    }

    /// The value of the setting `name` as text that [`set`](Self::set) accepts, or `None`
    /// for an unknown name (for help texts showing the defaults).
    pub fn get(&self, name: &str) -> Option<String> {
        let flag = |b: bool| if b { "1" } else { "0" }.to_owned();
        Some(match name {
            "tier" => self.tier.name().to_owned(),
            "jit.hot-calls" => self.hot_calls.to_string(),
            "jit.hot-gas" => self.hot_gas.to_string(),
            "jit.window-ms" => self.window_ms.to_string(),
            "jit.buckets" => self.buckets.to_string(),
            "jit.workers" => self.workers.to_string(),
            "jit.queue" => self.queue.to_string(),
            "jit.max-profiles" => self.max_profiles.to_string(),
            "jit.opt-level" => level_name(self.opt_level).to_owned(),
            "jit.tier-up-level" => self.tier_up_level.map_or("off", level_name).to_owned(),
            "jit.tier-up-bytes" => self.tier_up_bytes.to_string(),
            "jit.tier-up-ratio" => self.tier_up_ratio.to_string(),
            "jit.shutdown-ms" => self.shutdown_ms.to_string(),
            "jit.code-cache-bytes" => self.code_cache_bytes.to_string(),
            "jit.idle-evict-ms" => self.idle_evict_ms.to_string(),
            "jit.max-versions" => self.max_versions.to_string(),
            "jit.perf-map" => flag(self.perf_map),
            "profile.timeline" => flag(self.timeline),
            _ => return None,
        })
    }

    /// The tier.
    pub fn tier(&self) -> Tier {
        self.tier
    }

    /// Calls within the window that make a contract hot.
    pub fn hot_calls(&self) -> u64 {
        self.hot_calls
    }

    /// Gas within the window that makes a contract hot.
    pub fn hot_gas(&self) -> u64 {
        self.hot_gas
    }

    /// The window's span in milliseconds.
    pub fn window_ms(&self) -> u64 {
        self.window_ms
    }

    /// The number of buckets the window is counted in: the setting, but at most one bucket
    /// per millisecond of window.
    pub fn buckets(&self) -> usize {
        self.buckets
            .min(usize::try_from(self.window_ms).unwrap_or(usize::MAX))
    }

    /// The span of one bucket in milliseconds: the window divided by the buckets, rounded up.
    pub fn bucket_ms(&self) -> u64 {
        self.window_ms.div_ceil(self.buckets() as u64)
    }

    /// Compile threads.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Most compile requests waiting.
    pub fn queue(&self) -> usize {
        self.queue
    }

    /// Most contracts kept.
    pub fn max_profiles(&self) -> usize {
        self.max_profiles
    }

    /// LLVM optimisation level of a contract's first compile.
    pub fn opt_level(&self) -> OptLevel {
        self.opt_level
    }

    /// The level hot compiled code is compiled at again: only in `auto`, and only a level
    /// above [`opt_level`](Self::opt_level).
    pub fn tier_up_level(&self) -> Option<OptLevel> {
        self.tier_up_level
            .filter(|&l| self.tier == Tier::Auto && l > self.opt_level)
    }

    /// The largest code, in bytes, that `auto` compiles at the tier-up level on its first
    /// compile.
    pub fn tier_up_bytes(&self) -> usize {
        self.tier_up_bytes
    }

    /// The level of the first compile of `code_len` bytes of code: the tier-up level in
    /// `auto` for code of at most [`tier_up_bytes`](Self::tier_up_bytes), else
    /// [`opt_level`](Self::opt_level). Small code compiles at the optimising level in less
    /// time than the quick level takes on large contracts (the repository README's Speed
    /// section has the measurements), and a hot contract would be compiled at it anyway.
    pub fn first_level(&self, code_len: usize) -> OptLevel {
        match self.tier_up_level() {
            Some(level) if code_len <= self.tier_up_bytes => level,
            _ => self.opt_level,
        }
    }

    /// How many times its compile time a version must run (exclusive compiled time since it
    /// was published) before the contract tiers up.
    pub fn tier_up_ratio(&self) -> u64 {
        self.tier_up_ratio
    }

    /// How long shutdown waits for running compiles, in milliseconds.
    pub fn shutdown_ms(&self) -> u64 {
        self.shutdown_ms
    }

    /// The code cache's budget in bytes.
    pub fn code_cache_bytes(&self) -> usize {
        self.code_cache_bytes
    }

    /// Compiled code idle this long is evicted, in milliseconds; 0 never.
    pub fn idle_evict_ms(&self) -> u64 {
        self.idle_evict_ms
    }

    /// Versions a contract may have; the last one is compiled without speculation.
    pub fn max_versions(&self) -> u32 {
        self.max_versions
    }

    /// Whether compiled code is announced in a perf map.
    pub fn perf_map(&self) -> bool {
        self.perf_map
    }

    /// Whether the profiler records a timeline.
    pub fn timeline(&self) -> bool {
        self.timeline
    }
}

/// `0` ..= `3`, as `jit.opt-level` takes it.
fn level_name(level: OptLevel) -> &'static str {
    match level {
        OptLevel::O0 => "0",
        OptLevel::O1 => "1",
        OptLevel::O2 => "2",
        OptLevel::O3 => "3",
    }
}

/// Parses `0` or `1`.
fn switch(value: &str) -> Result<bool, String> {
    match value.trim() {
        "0" => Ok(false),
        "1" => Ok(true),
        _ => Err("expected 0 or 1".into()),
    }
}

/// Parses a decimal integer in `min..=max`.
fn number<T>(value: &str, min: u64, max: u64) -> Result<T, String>
where
    T: TryFrom<u64>,
{
    let n = u64::from_str(value.trim())
        .map_err(|_| format!("expected a whole number from {min} to {max}"))?;
    if !(min..=max).contains(&n) {
        return Err(format!("must be from {min} to {max}"));
    }
    T::try_from(n).map_err(|_| format!("{n} does not fit this platform"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_parses_and_is_kept() {
        let mut c = RuntimeConfig::default();
        for (name, value) in [
            ("tier", "jit"),
            ("jit.hot-calls", "3"),
            ("jit.hot-gas", "0"),
            ("jit.window-ms", "250"),
            ("jit.buckets", "5"),
            ("jit.workers", "2"),
            ("jit.queue", "7"),
            ("jit.max-profiles", "100"),
            ("jit.opt-level", "O2"),
            ("jit.tier-up-level", "3"),
            ("jit.tier-up-bytes", "100"),
            ("jit.tier-up-ratio", "9"),
            ("jit.shutdown-ms", "10"),
            ("jit.code-cache-bytes", "1048576"),
            ("jit.idle-evict-ms", "0"),
            ("jit.max-versions", "1"),
            ("jit.perf-map", "1"),
            ("profile.timeline", "1"),
        ] {
            c.set(name, value).unwrap();
        }
        assert!(c.perf_map() && c.timeline());
        assert_eq!(c.tier(), Tier::Jit);
        assert_eq!((c.hot_calls(), c.hot_gas(), c.window_ms()), (3, 0, 250));
        assert_eq!((c.buckets(), c.bucket_ms()), (5, 50));
        assert_eq!((c.workers(), c.queue(), c.max_profiles()), (2, 7, 100));
        assert_eq!((c.opt_level(), c.shutdown_ms()), (OptLevel::O2, 10));
        // The tier-up level is kept, but only `auto` tiers up.
        assert_eq!((c.tier_up_level(), c.tier_up_ratio()), (None, 9));
        assert_eq!((c.tier_up_bytes(), c.first_level(1)), (100, OptLevel::O2));
        c.set("tier", "auto").unwrap();
        assert_eq!(c.tier_up_level(), Some(OptLevel::O3));
        c.set("tier", "jit").unwrap();
        assert_eq!(
            (c.code_cache_bytes(), c.idle_evict_ms(), c.max_versions()),
            (1 << 20, 0, 1)
        );
        // Every documented name is accepted, and reads back what was set.
        let mut copy = RuntimeConfig::default();
        for (name, _) in SETTINGS {
            copy.set(name, &c.get(name).unwrap()).unwrap();
        }
        assert_eq!(copy, c);
        assert_eq!(c.get("jit.hotness"), None);
        for (name, _) in SETTINGS {
            let err = c.set(name, "not a value").unwrap_err();
            assert!(matches!(err, ConfigError::InvalidValue { .. }), "{name}");
        }
    }

    #[test]
    fn bad_values_are_refused_and_change_nothing() {
        let mut c = RuntimeConfig::default();
        let before = c.clone();
        for (name, value) in [
            ("tier", "fast"),
            ("tier", "JIT"),
            ("jit.workers", "0"),
            ("jit.workers", "65"),
            ("jit.workers", "-1"),
            ("jit.hot-calls", "0"),
            ("jit.hot-gas", "18446744073709551616"),
            ("jit.window-ms", "0"),
            ("jit.queue", ""),
            ("jit.buckets", "65"),
            ("jit.max-profiles", "1e3"),
            ("jit.opt-level", "4"),
            ("jit.tier-up-level", "on"),
            ("jit.tier-up-bytes", "1048577"),
            ("jit.tier-up-bytes", "-1"),
            ("jit.tier-up-ratio", "0"),
            ("jit.tier-up-ratio", "1000001"),
            ("jit.shutdown-ms", "600001"),
            ("jit.code-cache-bytes", "65535"),
            ("jit.code-cache-bytes", "1073741825"),
            ("jit.idle-evict-ms", "4294967297"),
            ("jit.max-versions", "0"),
            ("jit.max-versions", "17"),
            ("jit.perf-map", "yes"),
            ("profile.timeline", "2"),
        ] {
            let err = c.set(name, value).unwrap_err();
            assert!(
                matches!(&err, ConfigError::InvalidValue { name: n, .. } if n == name),
                "{name}={value}: {err:?}"
            );
            assert!(err.to_string().contains(name), "{err}");
        }
        assert_eq!(c, before);
        assert_eq!(
            c.set("jit.hotness", "1"),
            Err(ConfigError::UnknownName("jit.hotness".into()))
        );
    }

    #[test]
    fn a_tier_up_level_not_above_the_first_level_is_no_tier_up() {
        let mut c = RuntimeConfig::default();
        assert_eq!(c.tier(), Tier::Auto);
        assert_eq!(c.tier_up_level(), Some(OptLevel::O1));
        c.set("jit.opt-level", "1").unwrap();
        assert_eq!(c.tier_up_level(), None);
        c.set("jit.tier-up-level", "2").unwrap();
        assert_eq!(c.tier_up_level(), Some(OptLevel::O2));
        c.set("jit.tier-up-level", "off").unwrap();
        assert_eq!(
            (c.tier_up_level(), c.get("jit.tier-up-level")),
            (None, Some("off".into()))
        );
    }

    #[test]
    fn small_code_starts_at_the_tier_up_level_in_auto_only() {
        let mut c = RuntimeConfig::default();
        assert_eq!(c.tier_up_bytes(), 4096);
        assert_eq!(
            (c.first_level(0), c.first_level(4096), c.first_level(4097)),
            (OptLevel::O1, OptLevel::O1, OptLevel::O0)
        );
        c.set("jit.tier-up-level", "3").unwrap();
        c.set("jit.tier-up-bytes", "10").unwrap();
        assert_eq!(
            (c.first_level(10), c.first_level(11)),
            (OptLevel::O3, OptLevel::O0)
        );
        c.set("jit.tier-up-bytes", "0").unwrap();
        assert_eq!(
            (c.first_level(0), c.first_level(1)),
            (OptLevel::O3, OptLevel::O0)
        );
        // No tier-up, no early one: `jit` compiles everything at `jit.opt-level`, and so does
        // `auto` with the tier-up off.
        c.set("jit.tier-up-bytes", "4096").unwrap();
        c.set("tier", "jit").unwrap();
        assert_eq!(c.first_level(1), OptLevel::O0);
        c.set("tier", "auto").unwrap();
        c.set("jit.tier-up-level", "off").unwrap();
        assert_eq!(c.first_level(1), OptLevel::O0);
    }

    #[test]
    fn buckets_are_at_least_a_millisecond_wide() {
        let mut c = RuntimeConfig::default();
        c.set("jit.window-ms", "4").unwrap();
        c.set("jit.buckets", "10").unwrap();
        assert_eq!((c.buckets(), c.bucket_ms()), (4, 1));
        c.set("jit.window-ms", "1001").unwrap();
        // 1001 / 10 rounded up: the window covers at least what was asked.
        assert_eq!((c.buckets(), c.bucket_ms()), (10, 101));
    }

    #[test]
    fn default_workers_follow_the_core_count() {
        let w = default_workers();
        assert!((1..=4).contains(&w));
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(w, cpus.div_ceil(2).min(4));
        assert_eq!(RuntimeConfig::default().tier(), Tier::Auto);
    }
}
