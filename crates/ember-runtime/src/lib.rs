//! ember-runtime: the tiers working together.
//!
//! Every contract starts in the interpreter. In the `auto` tier a profiler counts each
//! contract's calls and gas within a sliding time window (`window.rs`) and, once it is warm,
//! where its jumps go (`jumps.rs`); a contract whose window reaches both thresholds is handed
//! to a bounded pool of background compile threads (`pool.rs`); the finished version is
//! published into the contract's entry within the code cache's budget (`lifecycle.rs`), and
//! the next call finds it with one load and runs it. No call ever waits for a compiler, and no
//! lock is taken on the way to a contract's code (`store.rs`). The first compile is quick
//! (`jit.opt-level`, O0 by default); a compiled contract that has run for some multiple of its
//! compile time and is still hot is compiled again, optimised (`jit.tier-up-level`), and the
//! new version replaces the old one (`lifecycle.rs`).
//!
//! Compiled versions live as long as they are worth their memory and no longer: they are
//! evicted when the cache is full (coldest first) or idle, invalidated when speculative code
//! meets a jump target its profile never saw (the contract is then profiled again as a whole
//! and recompiled, at most `jit.max-versions` times, the last time without speculation), and
//! discarded all at once on request; each is freed only after the last frame running it has
//! returned. Every frame is accounted per contract and tier by the profiler (ember-profile):
//! calls, gas, exclusive and inclusive time, side exits, compile time, and optionally a
//! timeline ([`Runtime::profile_report`]).
//!
//! ```no_run
//! use ember_runtime::{Runtime, RuntimeConfig};
//! let mut config = RuntimeConfig::default(); // tier auto
//! config.set("jit.hot-calls", "4").unwrap();
//! let runtime = Runtime::new(config);
//! // `runtime` is an `ember_evm::Vm`: hand it to a host (ember-state, the EVMC shim).
//! println!("{}", runtime.stats().to_text(20));
//! println!("{}", runtime.profile_report().to_text(20));
//! ```
//!
//! Frames run in the interpreter, without profiling or accounting, when a tracer is attached
//! (traces come from the interpreter instruction by instruction); in `auto`, init code runs in
//! the interpreter without an entry (run once per deployment, it would only churn the store)
//! and is accounted to [`OTHER_UNIT`].

pub mod backend;
pub mod clock;
pub mod config;
mod jumps;
mod lifecycle;
mod pool;
mod recent;
mod report;
mod state;
pub mod stats;
mod store;
mod window;

pub use backend::{Backend, CompileFailure, JitBackend};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{ConfigError, RuntimeConfig, Tier, SETTINGS};
pub use ember_jit::{ExitKind, OptLevel, SideExit, SiteProfile, Speculation};
pub use ember_profile::report::{ExitSite, Report as ProfileReport, UnitReport};
pub use pool::ShutdownReport;
pub use state::ContractState;
pub use stats::{CacheStats, ContractStats, PoolStats, Stats};

use ember_evm::{
    execute_analyzed, execute_observed, ExecResult, Host, Message, Revision, Vm, B256,
};
use ember_jit::JitConfig;
use ember_profile::{timing, EventKind, Tier as ProfTier, UnitCounters, UnitId};
use jumps::JumpProfile;
use lifecycle::{Core, Unpublish};
use pool::{Pool, Submit};
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use store::{CodeId, Entry, EvictionWait, Key, Store, Version};
use window::Window;

/// The tiered VM: an [`ember_evm::Vm`] that interprets, profiles and runs compiled code.
pub struct Runtime<B: Backend = JitBackend> {
    core: Arc<Core<B>>,
    pool: Pool<B>,
    /// Seed of the 128-bit hash of code that comes without its keccak hash, random per
    /// runtime so that colliding codes cannot be prepared in advance.
    seed: u64,
    unprofiled: AtomicU64,
    collisions: AtomicU64,
    /// The profiler's counters of the frames that run without an entry: init code in `auto`,
    /// frames the store had no room for, hash collisions. (Boxed: the counters take five
    /// cache lines, and a `Runtime` is often held by value next to smaller things.)
    other: Box<UnitCounters>,
    /// The next entry's unit number ([`OTHER_UNIT`] is 0).
    next_unit: AtomicU64,
    /// This runtime's number in the process, which names it in threads' memories of the
    /// entries they found (`recent.rs`).
    instance: u64,
}

/// The last runtime number handed out.
static INSTANCES: AtomicU64 = AtomicU64::new(0);

/// The profiler's unit of the frames that run without an entry.
pub const OTHER_UNIT: UnitId = UnitId(0);

impl Runtime<JitBackend> {
    /// A runtime compiling with ember's JIT and timing with the system clock. The `jit` tier
    /// compiles every contract the compiler can handle
    /// ([`JitConfig::compile_everything`]); `auto` uses the analyzer's default gates.
    pub fn new(config: RuntimeConfig) -> Self {
        let jit = match config.tier() {
            Tier::Jit => JitConfig::compile_everything(),
            Tier::Interp | Tier::Auto => JitConfig::default(),
        };
        Runtime::with_backend(config, JitBackend::new(jit), Arc::new(SystemClock::new()))
    }
}

impl<B: Backend> Runtime<B> {
    /// A runtime compiling with `backend` and timing with `clock`.
    pub fn with_backend(config: RuntimeConfig, backend: B, clock: Arc<dyn Clock>) -> Self {
        let wait = match config.tier() {
            Tier::Jit => EvictionWait::Wait,
            Tier::Interp | Tier::Auto => EvictionWait::Never,
        };
        let store = Store::new(config.max_profiles(), wait);
        let (workers, queue) = (config.workers(), config.queue());
        let core = Arc::new(Core::new(config, backend, clock, store));
        Runtime {
            pool: Pool::new(Arc::clone(&core), workers, queue),
            core,
            seed: RandomState::new().hash_one(0u8),
            unprofiled: AtomicU64::new(0),
            collisions: AtomicU64::new(0),
            other: Box::new(UnitCounters::new()),
            next_unit: AtomicU64::new(1),
            instance: INSTANCES.fetch_add(1, Ordering::Relaxed) + 1,
        }
    }

    /// The settings.
    pub fn config(&self) -> &RuntimeConfig {
        &self.core.config
    }

    /// The compiler.
    pub fn backend(&self) -> &B {
        &self.core.backend
    }

    fn key(&self, code: &[u8], code_hash: Option<&B256>, rev: Revision) -> Key {
        let id = match code_hash {
            Some(h) => CodeId::Keccak(*h),
            None => CodeId::Fast(xxhash_rust::xxh3::xxh3_128_with_seed(code, self.seed)),
        };
        Key { id, rev }
    }

    /// The entry for `key` (whose code is `code`), created if new; `None` when the store is
    /// full of entries that may not be evicted, or when the code only shares its 128-bit
    /// hash with an entry's. A found entry lives as long as `guard`; a new one is kept in
    /// `made`.
    fn entry<'g>(
        &self,
        key: &Key,
        code: &[u8],
        guard: &'g papaya::LocalGuard<'_>,
        made: &'g mut Option<Arc<Entry<B::Code>>>,
    ) -> Option<&'g Arc<Entry<B::Code>>> {
        let core = &*self.core;
        let entry = match core.store.get(key, guard) {
            Some(e) => e,
            None => {
                let now = core.clock.now_ms();
                let config = &core.config;
                let window = || Window::new(config.buckets(), config.bucket_ms());
                let id = || UnitId(self.next_unit.fetch_add(1, Ordering::Relaxed));
                let Some(e) = core
                    .store
                    .get_or_insert(*key, now, || Entry::new(*key, code, window(), id()))
                else {
                    self.unprofiled.fetch_add(1, Ordering::Relaxed);
                    return None;
                };
                e.last_used.ms.store(now, Ordering::Relaxed);
                made.insert(e)
            }
        };
        // A 128-bit hash that is not cryptographic identifies nothing by itself: the code
        // must be the entry's, byte for byte, before its analysis or compiled code is used.
        if matches!(key.id, CodeId::Fast(_)) && entry.analysis.code() != code {
            self.collisions.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        Some(entry)
    }

    /// Compiles `code` for `rev` now, on this thread, as the `jit` tier does before a
    /// contract's first run (a no-op if its code is published already). Returns why it will
    /// run in the interpreter, if it will. Only the `jit` tier compiles on request.
    pub fn compile_now(
        &self,
        code: &[u8],
        code_hash: Option<&B256>,
        rev: Revision,
    ) -> Result<(), String> {
        if self.config().tier() != Tier::Jit {
            return Err(format!(
                "the {} tier does not compile on request",
                self.config().tier().name()
            ));
        }
        let key = self.key(code, code_hash, rev);
        let guard = self.core.store.guard();
        let mut made = None;
        let entry = self
            .entry(&key, code, &guard, &mut made)
            .ok_or("the profile store is full")?;
        self.core.compile_now(entry);
        if entry.code.load().is_some() {
            return Ok(());
        }
        Err(match entry.rejection.get() {
            Some(reason) => reason.clone(),
            None => "the code heap is full; try again later".into(),
        })
    }

    /// Asks for a compile when the entry's window crosses both thresholds. While the entry's
    /// interpreted totals (this call included) are below the thresholds the window cannot be
    /// above them, and its sum is not computed.
    fn profile(&self, entry: &Arc<Entry<B::Code>>, now: u64) {
        let config = &self.core.config;
        let (hot_calls, hot_gas) = (config.hot_calls(), config.hot_gas());
        let totals = entry.unit.tier(ProfTier::Interp);
        if totals.calls() < hot_calls || totals.gas() < hot_gas {
            return;
        }
        let activity = entry.activity(now);
        if activity.calls >= hot_calls && activity.gas >= hot_gas {
            match self.pool.submit(entry, activity.gas) {
                Submit::Queued => self.core.event(entry, EventKind::Queued),
                // The contract stays cold and must become hot again to ask again, so that a
                // full queue is not asked on every call.
                Submit::Dropped => entry.window.clear(),
                Submit::NotCold => {}
            }
        }
    }

    /// Asks for a tier-up of `version`, the published version of `entry`, once it has run
    /// for `jit.tier-up-ratio` times its compile time and the contract is still hot within
    /// the window (see `lifecycle.rs`). Called at most once per millisecond per contract.
    fn maybe_tier_up(
        &self,
        entry: &Arc<Entry<B::Code>>,
        version: &Arc<Version<B::Code>>,
        now: u64,
    ) {
        let config = &self.core.config;
        let origin = &version.origin;
        match config.tier_up_level() {
            Some(level) if origin.level < level => {}
            _ => return,
        }
        let ran_ns = entry.compiled_ns().saturating_sub(origin.jit_ns_before);
        if version.tier_up_asked.load(Ordering::Relaxed)
            || ran_ns < origin.compile_ns.saturating_mul(config.tier_up_ratio())
        {
            return;
        }
        let activity = entry.activity(now);
        if activity.calls < config.hot_calls()
            || activity.gas < config.hot_gas()
            || version.tier_up_asked.swap(true, Ordering::Relaxed)
        {
            return;
        }
        match self.pool.submit_tier_up(entry, version, activity.gas) {
            Submit::Queued => self.core.event(entry, EventKind::Queued),
            // A full queue: a later millisecond asks again.
            Submit::Dropped | Submit::NotCold => {
                version.tier_up_asked.store(false, Ordering::Relaxed);
            }
        }
    }

    /// Whether an interpreted call of a `cold` entry in `auto` records its jump targets:
    /// when the contract may speculate and is half-way to hot by its totals (counting this
    /// call, and its gas as nothing yet), so that code that is never warm does not pay for a
    /// profile nobody will read.
    fn records_jumps(&self, entry: &Entry<B::Code>) -> bool {
        let config = &self.core.config;
        let totals = entry.unit.tier(ProfTier::Interp);
        let calls = totals.calls() + 1;
        self.core.may_speculate(entry)
            && calls.saturating_mul(2) >= config.hot_calls()
            && totals.gas().saturating_mul(2) >= config.hot_gas()
    }

    /// Waits until no compile is queued or running, for at most `timeout`; returns whether
    /// that happened. (For tests, benchmarks and tools that want the compiled tier.)
    pub fn wait_for_compiles(&self, timeout: Duration) -> bool {
        self.pool.wait_idle(timeout)
    }

    /// Throws away every compiled version at once, with the same safety as eviction: frames
    /// running one finish in it, and it is freed when the last returns. Compiles running now
    /// are discarded when they finish. Every contract goes back to profiling (in `jit`, to
    /// compiling on its next call). Returns how many versions were unpublished.
    pub fn discard_compiled(&self) -> usize {
        self.core.discard_all()
    }

    /// Stops this runtime for good while calls may still be running in it: its compile
    /// threads stop (as [`Runtime::shutdown`]), it compiles nothing more (not even in the
    /// `jit` tier), every compiled version is discarded, freed when the last frame in it
    /// returns, and every entry is evicted with its profile, freed when no frame and no
    /// thread's memory of it (`recent.rs`) holds it. Calls keep working, in the interpreter.
    pub fn retire(&self) {
        self.shutdown();
        self.core.retire();
    }

    /// Evicts the compiled versions not run for `jit.idle-evict-ms` now (calls do this on
    /// their own every quarter of that time); returns how many.
    pub fn evict_idle(&self) -> usize {
        self.core.evict_idle(self.core.clock.now_ms())
    }

    /// Stops the compile pool: queued requests are cancelled, running compiles are waited
    /// for up to `jit.shutdown-ms` and then left to finish on their own. Afterwards the
    /// runtime still executes (compiled code stays published) but compiles nothing more.
    /// Dropping the runtime does this; calling it again does nothing more.
    pub fn shutdown(&self) -> ShutdownReport {
        self.pool
            .shutdown(Duration::from_millis(self.config().shutdown_ms()))
    }
}

/// Gas the frame used, within `0..=msg.gas`.
fn gas_used(msg: &Message<'_>, r: &ExecResult) -> u64 {
    (msg.gas.saturating_sub(r.gas_left)).clamp(0, msg.gas.max(0)) as u64
}

impl<B: Backend> Vm for Runtime<B> {
    fn execute(
        &self,
        host: &mut dyn Host,
        rev: Revision,
        msg: &Message<'_>,
        code: &[u8],
        code_hash: Option<&B256>,
    ) -> ExecResult {
        // Traced frames run in the interpreter, instruction by instruction, unaccounted.
        if host.tracer().is_some() {
            return ember_evm::execute(host, rev, msg, code);
        }
        let core = &*self.core;
        let tier = core.config.tier();
        let timeline = core.timeline.as_ref();
        let elsewhere = |host: &mut dyn Host| {
            timing::frame(&self.other, OTHER_UNIT, ProfTier::Interp, timeline, || {
                let r = ember_evm::execute(host, rev, msg, code);
                let gas = gas_used(msg, &r);
                (r, gas)
            })
        };
        // Init code runs once per deployment: in `auto` it would only churn the store.
        if tier == Tier::Auto && msg.kind.is_create() {
            return elsewhere(host);
        }
        // Code given without its hash is first looked for among the entries this thread
        // found last (see `recent.rs`); the store's lookup needs a guard of its reclaimer.
        let remembered = match code_hash {
            None => recent::find::<B::Code>(self.instance, code, rev),
            Some(_) => None,
        };
        let (guard, in_use);
        let mut made = None;
        let entry = match remembered {
            Some(found) => {
                in_use = found;
                &*in_use
            }
            None => {
                guard = core.store.guard();
                let key = self.key(code, code_hash, rev);
                let Some(entry) = self.entry(&key, code, &guard, &mut made) else {
                    return elsewhere(host);
                };
                if code_hash.is_none() {
                    recent::remember(self.instance, code, rev, entry);
                }
                entry
            }
        };
        if entry.address.get().is_none() {
            let _ = entry.address.set(msg.code_address);
        }
        // One reading of the profiler's clock dates the call and starts its frame, unless a
        // sweep or a compile ran in between (their time is nobody's frame's).
        let mut start_ns = timing::now_ns();
        let now = core.clock.ms_at(start_ns);
        let mut slow = core.maybe_sweep(now);
        if tier == Tier::Jit {
            slow |= core.compile_now(entry);
        }
        if slow {
            start_ns = timing::now_ns();
        }
        // Written once per millisecond at most, not on every call of a busy contract.
        let first_this_ms = entry.last_used.ms.load(Ordering::Relaxed) != now;
        if first_this_ms {
            entry.last_used.ms.store(now, Ordering::Relaxed);
        }
        entry.observe(now);
        // The guard holds the version for the whole frame (see `lifecycle.rs`). Code is only
        // ever published while the entry is `compiled` (publishing sets the state first,
        // unpublishing resets it after), so other entries skip the load.
        let published = (entry.state() == ContractState::Compiled).then(|| entry.code.load());
        if let Some(version) = published.as_ref().and_then(|g| g.as_ref()) {
            let mut recompile = false;
            let r = timing::frame_from(
                start_ns,
                &entry.unit,
                entry.id,
                ProfTier::Jit,
                timeline,
                || {
                    let mut on_exit = |exit: SideExit| {
                        timing::side_exit(exit.pc);
                        entry.exits.record(exit.pc);
                        if exit.kind == ExitKind::Recompile {
                            recompile = true;
                            core.unpublish(entry, Some(version), Unpublish::Invalidated);
                        }
                    };
                    let r = core.backend.execute(&version.code, host, msg, &mut on_exit);
                    let gas = gas_used(msg, &r);
                    (r, gas)
                },
            );
            // A frame that invalidated its version belongs to no profiling window: the new
            // window starts with the next call.
            if recompile {
                entry.window.clear();
            } else if first_this_ms {
                self.maybe_tier_up(entry, version, now);
            }
            return r;
        }
        drop(published);
        let cold_auto = tier == Tier::Auto && entry.state() == ContractState::Cold;
        let record_jumps = cold_auto && self.records_jumps(entry);
        let r = timing::frame_from(
            start_ns,
            &entry.unit,
            entry.id,
            ProfTier::Interp,
            timeline,
            || {
                let r = if record_jumps {
                    let jumps = entry
                        .jumps
                        .get_or_init(|| JumpProfile::new(&entry.analysis));
                    execute_observed(host, rev, msg, &entry.analysis, jumps)
                } else {
                    execute_analyzed(host, rev, msg, &entry.analysis)
                };
                let gas = gas_used(msg, &r);
                (r, gas)
            },
        );
        if cold_auto {
            self.profile(entry, now);
        }
        r
    }
}

impl<B: Backend> Drop for Runtime<B> {
    fn drop(&mut self) {
        // Threads may remember entries of this runtime for a while (see `recent.rs`): they
        // keep no compiled code.
        self.retire();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ember_evm::{Interpreter, StatusCode};
    use ember_testkit::{address, RecordingHost};

    fn message(gas: i64) -> Message<'static> {
        Message::call(address(0xa0), address(0x10), &[], gas)
    }

    /// A runtime with one setting changed.
    fn runtime_with(name: &str, value: &str) -> Runtime {
        let mut config = RuntimeConfig::default();
        config.set(name, value).unwrap();
        Runtime::new(config)
    }

    /// PUSH1 `word` PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN.
    fn returning(word: u8) -> [u8; 10] {
        [0x60, word, 0x60, 0, 0x52, 0x60, 32, 0x60, 0, 0xf3]
    }

    #[test]
    fn code_that_only_shares_the_fast_hash_of_an_entry_never_uses_it() {
        let rt = runtime_with("jit.hot-calls", "1000");
        let rev = Revision::Cancun;
        let (real, other) = (returning(7), returning(8));
        // Forge a collision: an entry holding `other` under the key of `real`.
        let key = rt.key(&real, None, rev);
        rt.core
            .store
            .get_or_insert(key, 0, || {
                Entry::new(key, &other, Window::new(1, 1), UnitId(1))
            })
            .unwrap();
        let mut host = RecordingHost::new(&Interpreter, rev);
        let r = rt.execute(&mut host, rev, &message(1000), &real, None);
        assert_eq!(r.status, StatusCode::Success);
        assert_eq!(r.output[31], 7, "ran its own code, not the entry's");
        let stats = rt.stats();
        assert_eq!(stats.collisions, 1);
        assert_eq!(stats.contracts[0].calls(), 0);
        // With its keccak hash the same code has its own entry.
        let h = ember_evm::keccak256(&real);
        rt.execute(&mut host, rev, &message(1000), &real, Some(&h));
        assert_eq!(rt.stats().collisions, 1);
        assert_eq!(rt.stats().contracts.len(), 2);
    }

    #[test]
    fn code_remembered_by_its_place_is_its_own_even_when_the_buffer_changed() {
        let rt = runtime_with("jit.hot-calls", "1000");
        let rev = Revision::Cancun;
        let mut host = RecordingHost::new(&Interpreter, rev);
        // One buffer the calls reuse.
        let mut code = returning(7).to_vec();
        let mut run = |code: &[u8]| rt.execute(&mut host, rev, &message(1000), code, None);
        assert_eq!(run(&code).output[31], 7);
        assert_eq!(run(&code).output[31], 7, "the remembered entry");
        // Other code at the same address and length: the remembered entry must not be used.
        code[1] = 8;
        assert_eq!(run(&code).output[31], 8, "ran the new code");
        assert_eq!(run(&code).output[31], 8);
        let stats = rt.stats();
        assert_eq!(stats.collisions, 0, "a stale memory is no collision");
        let mut calls: Vec<u64> = stats.contracts.iter().map(|c| c.calls()).collect();
        calls.sort_unstable();
        assert_eq!(calls, [2, 2], "one entry per code, each with its own calls");
    }

    #[test]
    fn a_retired_runtime_keeps_running_calls_in_the_interpreter_and_compiles_nothing() {
        let rt = runtime_with("tier", "jit");
        let rev = Revision::Cancun;
        let mut host = RecordingHost::new(&Interpreter, rev);
        let (code, other) = (returning(7), returning(8));
        assert_eq!(
            rt.execute(&mut host, rev, &message(1000), &code, None)
                .output[31],
            7
        );
        let before = rt.stats();
        assert_eq!(
            before.contracts[0].profile.jit.calls, 1,
            "compiled in the jit tier"
        );
        assert!(before.cache.published_bytes > 0);
        rt.retire();
        for code in [&code, &other] {
            let r = rt.execute(&mut host, rev, &message(1000), code, None);
            assert_eq!(r.status, StatusCode::Success);
            assert_eq!(r.output[31], code[1]);
        }
        let after = rt.stats();
        assert_eq!(
            (after.cache.published_bytes, after.cache.resident_bytes),
            (0, 0)
        );
        assert_eq!(after.evicted, 1, "the entry of the moment it retired");
        // The calls after it made entries of their own, run in the interpreter.
        let jit_calls: u64 = after.contracts.iter().map(|c| c.profile.jit.calls).sum();
        let interp_calls: u64 = after.contracts.iter().map(|c| c.profile.interp.calls).sum();
        assert_eq!(
            (after.contracts.len(), jit_calls, interp_calls),
            (2, 0, 2),
            "the interpreter ran both"
        );
    }

    #[test]
    fn frames_with_all_the_gas_in_the_world_saturate_the_totals() {
        let rt = Runtime::new(RuntimeConfig::default());
        let mut host = RecordingHost::new(&Interpreter, Revision::Cancun);
        // INVALID consumes all of i64::MAX gas; three of them exceed u64::MAX in total.
        for _ in 0..3 {
            let r = rt.execute(
                &mut host,
                Revision::Cancun,
                &message(i64::MAX),
                &[0xfe],
                None,
            );
            assert_eq!(r.status, StatusCode::InvalidInstruction);
        }
        let stats = rt.stats();
        assert_eq!(stats.contracts[0].profile.interp.calls, 3);
        assert_eq!(stats.contracts[0].profile.interp.gas, u64::MAX);
    }

    #[test]
    fn gas_used_stays_within_the_frames_gas() {
        let r = |gas_left| ExecResult {
            gas_left,
            ..ExecResult::failure(StatusCode::Success)
        };
        assert_eq!(gas_used(&message(100), &r(30)), 70);
        assert_eq!(gas_used(&message(100), &r(0)), 100);
        assert_eq!(gas_used(&message(100), &r(200)), 0);
        assert_eq!(gas_used(&message(100), &r(-5)), 100);
    }

    #[test]
    fn tracing_runs_the_interpreter_and_profiles_nothing() {
        struct Count(usize);
        impl ember_evm::Tracer for Count {
            fn step(&mut self, _: &ember_evm::TraceStep<'_>) {
                self.0 += 1;
            }
            fn frame_end(&mut self, _: i32, _: i64, _: &ExecResult) {}
        }
        let rt = runtime_with("tier", "jit");
        let code = [0x60, 1, 0x60, 2, 0x01, 0x00];
        let mut state = ember_state::WorldState::new();
        state.insert(
            address(0x10),
            ember_state::Account {
                code: code.as_slice().into(),
                ..Default::default()
            },
        );
        let mut tracer = Count(0);
        let block = ember_state::BlockEnv::default();
        let (r, _) = ember_state::run_message(
            &mut state,
            &block,
            Revision::Cancun,
            &rt,
            &message(1000),
            Some(&mut tracer),
        );
        assert_eq!(r.status, StatusCode::Success);
        assert_eq!(tracer.0, 4, "every instruction was traced");
        assert!(rt.stats().contracts.is_empty());
    }
}
