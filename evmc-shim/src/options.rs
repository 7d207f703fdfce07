//! The settings of an ember VM instance, changed through EVMC's `set_option`, and the runtime
//! built from them.
//!
//! The options are the runtime's settings, with the same names and values
//! (`ember_runtime::RuntimeConfig::set` parses and checks them):
//!
//! | name | values | default |
//! |---|---|---|
//! | `tier` | `interp`, `jit`, `auto` | `auto` |
//! | `jit.hot-calls` | 1 ..= 2^32 | 8 |
//! | `jit.hot-gas` | 0 ..= 2^64 - 1 | 1000000 |
//! | `jit.window-ms` | 1 ..= 86400000 | 1000 |
//! | `jit.buckets` | 1 ..= 64 | 10 |
//! | `jit.workers` | 1 ..= 64 | ceil(cpus / 2), at most 4 |
//! | `jit.queue` | 1 ..= 65536 | 256 |
//! | `jit.max-profiles` | 1 ..= 2^24 | 4096 |
//! | `jit.opt-level` | `0` ..= `3` | `0` |
//! | `jit.tier-up-level` | `off`, `0` ..= `3` | `1` |
//! | `jit.tier-up-bytes` | 0 ..= 1048576 | 4096 |
//! | `jit.tier-up-ratio` | 1 ..= 1000000 | 4 |
//! | `jit.shutdown-ms` | 0 ..= 600000 | 2000 |
//! | `jit.code-cache-bytes` | 65536 ..= 2^30 | 134217728 |
//! | `jit.idle-evict-ms` | 0 ..= 2^32 | 600000 |
//! | `jit.max-versions` | 1 ..= 16 | 3 |
//! | `jit.perf-map` | `0`, `1` | `0` |
//! | `profile.timeline` | `0`, `1` | `0` |
//! | `profile` | a file path | none |
//!
//! `profile=PATH` writes the profiler's report of the running runtime to PATH when the VM is
//! destroyed: JSON if PATH ends in `.json`, the timeline as an SVG picture if it ends in `.svg`
//! (which switches the timeline on), the text table otherwise. A report that cannot be written
//! is lost silently (destroy has no way to fail).
//!
//! One more option is an action rather than a setting: `jit.discard=all` throws away every
//! compiled version of the running runtime at once (for a configuration change or memory
//! pressure), with the code GC's safety: calls running compiled code finish in it.
//!
//! An unknown name is `EVMC_SET_OPTION_INVALID_NAME`, a bad value
//! `EVMC_SET_OPTION_INVALID_VALUE`. The runtime is created on the first `execute`, from the
//! settings of that moment. EVMC allows `set_option` on a VM that other threads are using:
//! a setting changed after the first `execute` replaces the runtime, so the next call starts
//! a fresh one (profiles and compiled code start over; calls already running finish on the
//! old one). The old runtime is retired at once (`Runtime::retire`): its compile threads stop,
//! and its compiled code and profiles are freed as soon as no call uses them. What is left of
//! it, a few structures without contracts, is freed with the instance: so a call reaches the
//! runtime with one load and no shared write, whatever the settings do meanwhile.

use ember_evm::{ExecResult, Host, Message, Revision, Vm};
use ember_runtime::{Runtime, RuntimeConfig};
use std::path::PathBuf;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Mutex, MutexGuard};

pub use ember_runtime::ConfigError as OptionError;

/// The settings of one VM instance and its runtime.
#[derive(Default)]
pub struct Options {
    /// The settings and the runtimes made from them; held while a runtime is built or the
    /// settings change, so that no runtime is ever published with settings older than the
    /// latest `set`.
    settings: Mutex<Settings>,
    /// The runtime calls use, null until the first call creates it: the last of
    /// `Settings::made`. Read with one load on every call.
    current: AtomicPtr<Runtime>,
    /// Where to write the profiler's report when the instance is dropped.
    profile: Mutex<Option<PathBuf>>,
}

/// What the `settings` lock guards.
#[derive(Default)]
struct Settings {
    config: RuntimeConfig,
    /// Every runtime made, in order, kept until the instance is dropped (see the module
    /// documentation). Boxed so that each stays at its address while the vector grows:
    /// `current` points into one.
    #[allow(clippy::vec_box)]
    made: Vec<Box<Runtime>>,
}

impl Options {
    fn settings(&self) -> MutexGuard<'_, Settings> {
        // The settings are valid whatever a panicking thread did (every change is one
        // checked assignment or one push), so a poisoned lock is still usable.
        self.settings.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies one `name=value` option.
    pub fn set(&self, name: &str, value: &str) -> Result<(), OptionError> {
        if name == "profile" {
            if value.is_empty() {
                return Err(OptionError::InvalidValue {
                    name: name.to_owned(),
                    value: value.to_owned(),
                    reason: "expected a file path".into(),
                });
            }
            if value.ends_with(".svg") {
                self.set("profile.timeline", "1")?;
            }
            *self.profile.lock().unwrap_or_else(|e| e.into_inner()) = Some(PathBuf::from(value));
            return Ok(());
        }
        if name == "jit.discard" {
            if value != "all" {
                return Err(OptionError::InvalidValue {
                    name: name.to_owned(),
                    value: value.to_owned(),
                    reason: "expected all".into(),
                });
            }
            if let Some(rt) = self.current() {
                rt.discard_compiled();
            }
            return Ok(());
        }
        let old = {
            self.settings().config.set(name, value)?;
            // The next call builds a runtime with the new settings.
            self.current.swap(std::ptr::null_mut(), Ordering::AcqRel)
        };
        // The old one stops compiling and lets its code go; outside the lock, since it may
        // wait for a running compile (`jit.shutdown-ms`) and calls must not wait for it.
        // SAFETY: a non-null `current` points into a box of `Settings::made`, which lives as
        // long as `self`.
        if let Some(old) = unsafe { old.as_ref() } {
            old.retire();
        }
        Ok(())
    }

    /// The runtime calls use now, if the first call has created it.
    fn current(&self) -> Option<&Runtime> {
        // SAFETY: a non-null `current` points into a box of `Settings::made`, which is never
        // removed from it before `self` is dropped; the acquire load pairs with the release store
        // in `start`, so the runtime it points to is fully built.
        unsafe { self.current.load(Ordering::Acquire).as_ref() }
    }

    /// Whether `name` is an option (whatever its value), so that a bad name is reported as
    /// such even when the value is bad too.
    pub fn knows(name: &str) -> bool {
        matches!(name, "profile" | "jit.discard")
            || ember_runtime::SETTINGS
                .iter()
                .any(|(known, _)| *known == name)
    }

    /// The current settings.
    pub fn runtime_config(&self) -> RuntimeConfig {
        self.settings().config.clone()
    }

    /// Runs one frame through the runtime (created on first use). EVMC gives no code hash,
    /// so the runtime identifies code by its bytes.
    pub fn run(
        &self,
        host: &mut dyn Host,
        rev: Revision,
        msg: &Message<'_>,
        code: &[u8],
    ) -> ExecResult {
        match self.current() {
            Some(rt) => rt.execute(host, rev, msg, code, None),
            None => self.start().execute(host, rev, msg, code, None),
        }
    }

    /// The runtime, created from the current settings if there is none.
    #[cold]
    fn start(&self) -> &Runtime {
        let mut settings = self.settings();
        // Another thread may have created it while this one waited for the lock.
        if let Some(rt) = self.current() {
            return rt;
        }
        let rt = Box::new(Runtime::new(settings.config.clone()));
        settings.made.push(rt);
        let rt: *const Runtime = settings.made.last().map(|b| &**b).expect("just pushed");
        self.current.store(rt.cast_mut(), Ordering::Release);
        // SAFETY: as in `current`: the box is in `Settings::made` until `self` is dropped.
        unsafe { &*rt }
    }

    /// The runtime's statistics, if a call has created it.
    pub fn stats(&self) -> Option<ember_runtime::Stats> {
        self.current().map(|rt| rt.stats())
    }

    /// Writes the profiler's report to the `profile` path, if one was set and a runtime ran.
    fn write_profile(&self) -> std::io::Result<()> {
        let path = self
            .profile
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let (Some(path), Some(rt)) = (path, self.current()) else {
            return Ok(());
        };
        let report = rt.profile_report();
        let text = match path.extension().and_then(|e| e.to_str()) {
            Some("json") => report.to_json().to_string(),
            Some("svg") => report.to_svg(),
            _ => report.to_text(usize::MAX),
        };
        std::fs::write(path, text)
    }
}

impl Drop for Options {
    fn drop(&mut self) {
        // Destroy cannot report a failure; the report is a diagnostic.
        let _ = self.write_profile();
    }
}

#[cfg(test)]
mod tests;
