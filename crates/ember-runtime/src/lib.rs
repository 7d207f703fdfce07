//! ember-runtime: the tiers working together.
//!
//! Every contract starts in the interpreter. In the `auto` tier a profiler counts each
//! contract's calls and gas within a sliding time window (`window.rs`); a contract whose window
//! reaches both thresholds is handed to a bounded pool of background compile threads
//! (`pool.rs`); the finished code is published into the contract's entry with one release
//! store, and the next call finds it with one acquire load and runs it. No call ever waits
//! for a compiler, and no lock is taken on the way to a contract's code (`store.rs`).
//!
//! ```no_run
//! use ember_runtime::{Runtime, RuntimeConfig};
//! let mut config = RuntimeConfig::default(); // tier auto
//! config.set("jit.hot-calls", "4").unwrap();
//! let runtime = Runtime::new(config);
//! // `runtime` is an `ember_evm::Vm`: hand it to a host (ember-state, the EVMC shim).
//! println!("{}", runtime.stats().to_text(20));
//! ```
//!
//! Frames run in the interpreter, without profiling, when a tracer is attached (traces come
//! from the interpreter instruction by instruction) and, in `auto`, for init code (run once
//! per deployment, it would only churn the store).

pub mod backend;
pub mod clock;
pub mod config;
mod pool;
pub mod stats;
mod store;
mod window;

pub use backend::{Backend, JitBackend};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{ConfigError, RuntimeConfig, Tier, SETTINGS};
pub use ember_jit::OptLevel;
pub use pool::ShutdownReport;
pub use stats::{ContractState, ContractStats, PoolStats, Stats};

use ember_evm::{execute_analyzed, ExecResult, Host, Message, Revision, Vm, B256};
use ember_jit::JitConfig;
use pool::{Pool, Submit};
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use store::{CodeId, Entry, EvictionPolicy, Key, Outcome, Store};
use window::Window;

/// The tiered VM: an [`ember_evm::Vm`] that interprets, profiles and runs compiled code.
pub struct Runtime<B: Backend = JitBackend> {
    config: RuntimeConfig,
    backend: Arc<B>,
    clock: Arc<dyn Clock>,
    store: Store<B::Code>,
    pool: Pool<B>,
    /// Seed of the 128-bit hash of code that comes without its keccak hash, random per
    /// runtime so that colliding codes cannot be prepared in advance.
    seed: u64,
    unprofiled: AtomicU64,
    collisions: AtomicU64,
}

impl Runtime<JitBackend> {
    /// A runtime compiling with ember's JIT and timing with the system clock. The `jit` tier
    /// compiles every contract the compiler can handle
    /// ([`JitConfig::compile_everything`]); `auto` uses the analyzer's default gates.
    pub fn new(config: RuntimeConfig) -> Self {
        let mut jit = match config.tier() {
            Tier::Jit => JitConfig::compile_everything(),
            Tier::Interp | Tier::Auto => JitConfig::default(),
        };
        jit.opt_level = config.opt_level();
        Runtime::with_backend(config, JitBackend::new(jit), Arc::new(SystemClock::new()))
    }
}

impl<B: Backend> Runtime<B> {
    /// A runtime compiling with `backend` and timing with `clock`.
    pub fn with_backend(config: RuntimeConfig, backend: B, clock: Arc<dyn Clock>) -> Self {
        let backend = Arc::new(backend);
        let policy = match config.tier() {
            Tier::Jit => EvictionPolicy::AlsoCompiled,
            Tier::Interp | Tier::Auto => EvictionPolicy::ColdOnly,
        };
        Runtime {
            store: Store::new(config.max_profiles(), policy),
            pool: Pool::new(Arc::clone(&backend), config.workers(), config.queue()),
            config,
            backend,
            clock,
            seed: RandomState::new().hash_one(0u8),
            unprofiled: AtomicU64::new(0),
            collisions: AtomicU64::new(0),
        }
    }

    /// The settings.
    pub fn config(&self) -> &RuntimeConfig {
        &self.config
    }

    /// The compiler.
    pub fn backend(&self) -> &B {
        &self.backend
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
        let entry = match self.store.get(key, guard) {
            Some(e) => e,
            None => {
                let now = self.clock.now_ms();
                let window = || Window::new(self.config.buckets(), self.config.bucket_ms());
                let Some(e) = self
                    .store
                    .get_or_insert(*key, now, || Entry::new(*key, code, window()))
                else {
                    self.unprofiled.fetch_add(1, Ordering::Relaxed);
                    return None;
                };
                e.counters.last_used_ms.store(now, Ordering::Relaxed);
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
    /// contract's first run (a no-op if that happened already). Returns why it will run in
    /// the interpreter, if it will. Only the `jit` tier compiles on request.
    pub fn compile_now(
        &self,
        code: &[u8],
        code_hash: Option<&B256>,
        rev: Revision,
    ) -> Result<(), String> {
        if self.config.tier() != Tier::Jit {
            return Err(format!(
                "the {} tier does not compile on request",
                self.config.tier().name()
            ));
        }
        let key = self.key(code, code_hash, rev);
        let guard = self.store.guard();
        let mut made = None;
        let entry = self
            .entry(&key, code, &guard, &mut made)
            .ok_or("the profile store is full")?;
        match self.pool.compile_now(entry) {
            Outcome::Compiled(_) => Ok(()),
            Outcome::Rejected(reason) => Err(reason.clone()),
        }
    }

    /// Counts an interpreted call that used `gas` in the entry's window, and asks for a
    /// compile when the window crosses both thresholds. `calls` and `gas_total` are the
    /// entry's interpreted totals including this call: while they are below the thresholds
    /// the window cannot be above them, and its sum is not computed.
    fn profile(&self, entry: &Arc<Entry<B::Code>>, gas: u64, calls: u64, gas_total: u64) {
        let now = self.clock.now_ms();
        entry.counters.last_used_ms.store(now, Ordering::Relaxed);
        entry.window.record(now, gas);
        let (hot_calls, hot_gas) = (self.config.hot_calls(), self.config.hot_gas());
        if calls < hot_calls || gas_total < hot_gas {
            return;
        }
        let activity = entry.window.activity(now);
        if activity.calls >= hot_calls && activity.gas >= hot_gas {
            if let Submit::Dropped = self.pool.submit(entry, activity.gas) {
                // The contract stays cold and must become hot again to ask again, so that a
                // full queue is not asked on every call.
                entry.window.clear();
            }
        }
    }

    /// Waits until no compile is queued or running, for at most `timeout`; returns whether
    /// that happened. (For tests, benchmarks and tools that want the compiled tier.)
    pub fn wait_for_compiles(&self, timeout: Duration) -> bool {
        self.pool.wait_idle(timeout)
    }

    /// Stops the compile pool: queued requests are cancelled, running compiles are waited
    /// for up to `jit.shutdown-ms` and then left to finish on their own. Afterwards the
    /// runtime still executes (compiled code stays published) but compiles nothing more.
    /// Dropping the runtime does this; calling it again does nothing more.
    pub fn shutdown(&self) -> ShutdownReport {
        self.pool
            .shutdown(Duration::from_millis(self.config.shutdown_ms()))
    }

    /// A snapshot of the statistics.
    pub fn stats(&self) -> Stats {
        let mut contracts: Vec<ContractStats> = self
            .store
            .entries()
            .iter()
            .filter_map(|e| contract_stats(e))
            .collect();
        contracts.sort_by(|a, b| {
            (b.gas_interp.saturating_add(b.gas_jit))
                .cmp(&a.gas_interp.saturating_add(a.gas_jit))
                .then(b.calls().cmp(&a.calls()))
                .then(a.code_hash.cmp(&b.code_hash))
        });
        let c = self.pool.counters();
        Stats {
            tier: self.config.tier(),
            contracts,
            pool: PoolStats {
                workers: self.pool.workers(),
                queued: c.queued.load(Ordering::Relaxed),
                pending: self.pool.pending() as u64,
                dropped: c.dropped.load(Ordering::Relaxed),
                completed: c.completed.load(Ordering::Relaxed),
                failed: c.failed.load(Ordering::Relaxed),
                cancelled: c.cancelled.load(Ordering::Relaxed),
            },
            evicted: self.store.evicted(),
            unprofiled: self.unprofiled.load(Ordering::Relaxed),
            collisions: self.collisions.load(Ordering::Relaxed),
        }
    }
}

fn contract_stats<C>(e: &Entry<C>) -> Option<ContractStats> {
    let state = match e.state() {
        store::COLD => ContractState::Cold,
        store::QUEUED => ContractState::Queued,
        store::COMPILING => ContractState::Compiling,
        store::COMPILED => ContractState::Compiled,
        store::REJECTED => match e.outcome.get() {
            Some(Outcome::Rejected(reason)) => ContractState::Rejected(reason.clone()),
            _ => ContractState::Rejected(String::new()),
        },
        _ => return None,
    };
    let code_hash = match e.key.id {
        CodeId::Keccak(h) => h,
        CodeId::Fast(_) => ember_evm::keccak256(e.analysis.code()),
    };
    let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
    Some(ContractStats {
        code_hash,
        revision: e.key.rev,
        code_size: e.analysis.code().len(),
        state,
        calls_interp: n(&e.counters.calls_interp),
        calls_jit: n(&e.counters.calls_jit),
        gas_interp: n(&e.counters.gas_interp),
        gas_jit: n(&e.counters.gas_jit),
        compile_ns: n(&e.counters.compile_ns),
    })
}

/// Adds `n` to a gas total and returns the new total. Totals saturate at `u64::MAX` (test
/// fixtures give frames up to 2^63 gas) at the cost of one comparison on the common path; a
/// concurrent add racing with the saturating store may be lost, which only a total already
/// near 2^64 can see.
#[inline]
fn add_saturating(total: &AtomicU64, n: u64) -> u64 {
    let before = total.fetch_add(n, Ordering::Relaxed);
    match before.checked_add(n) {
        Some(after) => after,
        None => {
            total.store(u64::MAX, Ordering::Relaxed);
            u64::MAX
        }
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
        let tier = self.config.tier();
        if tier == Tier::Interp
            || (tier == Tier::Auto && msg.kind.is_create())
            || host.tracer().is_some()
        {
            return ember_evm::execute(host, rev, msg, code);
        }
        let key = self.key(code, code_hash, rev);
        let guard = self.store.guard();
        let mut made = None;
        let Some(entry) = self.entry(&key, code, &guard, &mut made) else {
            return ember_evm::execute(host, rev, msg, code);
        };
        if tier == Tier::Jit {
            if entry.outcome.get().is_none() {
                self.pool.compile_now(entry);
            }
            let now = self.clock.now_ms();
            entry.counters.last_used_ms.store(now, Ordering::Relaxed);
        }
        let c = &entry.counters;
        if let Some(code) = entry.compiled() {
            let r = self.backend.execute(code, host, msg);
            c.calls_jit.fetch_add(1, Ordering::Relaxed);
            add_saturating(&c.gas_jit, gas_used(msg, &r));
            return r;
        }
        let r = execute_analyzed(host, rev, msg, &entry.analysis);
        let gas = gas_used(msg, &r);
        let calls = c.calls_interp.fetch_add(1, Ordering::Relaxed) + 1;
        let gas_total = add_saturating(&c.gas_interp, gas);
        if tier == Tier::Auto && entry.state() == store::COLD {
            self.profile(entry, gas, calls, gas_total);
        }
        r
    }
}

impl<B: Backend> Drop for Runtime<B> {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ember_evm::{Interpreter, StatusCode};
    use ember_jit::difftest::{address, RecordingHost};

    fn message(gas: i64) -> Message<'static> {
        Message::call(address(0xa0), address(0x10), &[], gas)
    }

    #[test]
    fn code_that_only_shares_the_fast_hash_of_an_entry_never_uses_it() {
        let mut config = RuntimeConfig::default();
        config.set("jit.hot-calls", "1000").unwrap();
        let rt = Runtime::new(config);
        let rev = Revision::Cancun;
        // PUSH1 7 PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN, and the same returning 8.
        let real = [0x60, 7, 0x60, 0, 0x52, 0x60, 32, 0x60, 0, 0xf3];
        let mut other = real;
        other[1] = 8;
        // Forge a collision: an entry holding `other` under the key of `real`.
        let key = rt.key(&real, None, rev);
        rt.store
            .get_or_insert(key, 0, || Entry::new(key, &other, Window::new(1, 1)))
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
    fn gas_totals_saturate() {
        let t = AtomicU64::new(u64::MAX - 10);
        assert_eq!(add_saturating(&t, 4), u64::MAX - 6);
        assert_eq!(add_saturating(&t, 1 << 62), u64::MAX);
        assert_eq!(t.load(Ordering::Relaxed), u64::MAX);
        assert_eq!(add_saturating(&t, 0), u64::MAX);
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
        assert_eq!(stats.contracts[0].calls_interp, 3);
        assert_eq!(stats.contracts[0].gas_interp, u64::MAX);
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
        let mut config = RuntimeConfig::default();
        config.set("tier", "jit").unwrap();
        let rt = Runtime::new(config);
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
