//! The life of compiled versions: compiled, published within the code-cache budget, then
//! evicted (to make room, or idle), invalidated (a recompile exit) or discarded (all at once).
//!
//! **Budget.** The code cache counts the bytes of every published version (its machine code
//! and constants as the heap holds them, plus its metadata). A version about to be published
//! that would take the total over `jit.code-cache-bytes` first evicts the least valuable
//! published versions: the fewest calls in the window (compiled calls count there too), then
//! the least recently run. A version larger than the whole budget is not published and its
//! contract stays in the interpreter.
//!
//! **Reclamation.** Unpublishing takes a version out of its entry with one compare-and-swap
//! (so of racing evictions, invalidations and discards exactly one takes it) and never frees
//! anything itself. Each frame running compiled code holds the version through an arc-swap
//! guard for its whole run, nested calls included, so the version's reference count reaches
//! zero only after the last frame that could run it or return into it has finished; the drop
//! of the last reference frees the machine code (the heap makes its pages inaccessible before
//! they can be reused, so a stale pointer faults instead of running other code). Reference
//! counting rather than epochs: a frame may run for seconds, and an epoch held that long would
//! hold back the freeing of every other version, while a count holds back only its own.
//! arc-swap keeps the common case cheap: a load writes a per-thread debt slot instead of the
//! shared count, and an unpublish converts outstanding debts into counts.
//!
//! **Speculation.** While a contract is profiled in the interpreter its jump targets are
//! recorded (`jumps.rs`). A compile speculates on them unless the contract is at its last
//! allowed version (`jit.max-versions`): then it compiles without speculation and can never ask
//! to be recompiled. A recompile exit invalidates the version it left: unpublished, the
//! contract back to `cold` with its window cleared, so that it is profiled for a real window
//! (every site, merged with what was seen before) and compiled again once hot.
//!
//! **Tier-up.** The first compile uses the quick level (`jit.opt-level`), except in `auto` for
//! code of at most `jit.tier-up-bytes`: that compiles at the tier-up level at once, in less time
//! than the quick level takes on large contracts, and never tiers up. In `auto`, once a
//! version has run for `jit.tier-up-ratio` times its own compile time (its exclusive compiled
//! time since it was published, from the profiler) and the contract is still hot within the
//! window, the contract is compiled again at `jit.tier-up-level` on the pool, while the old
//! version keeps running. The time a version has run so far is the prediction of how long it
//! will go on running (code busy for a long time tends to stay busy), and the ratio weighs that
//! against an optimising compile that takes several times the quick one for code some tens of
//! percent faster; the window keeps code that was busy long ago from tiering up when it is
//! called again. The new version replaces the old one with one compare-and-swap, only if the
//! old one is still published: a tier-up is not an invalidation, the contract never leaves
//! `compiled` for it and it uses up no speculation version (the new version speculates exactly
//! when the old one did, on the same profile). The old version is freed like an unpublished
//! one, after its last frame (and after the tier-up compile, which holds it while it runs).

use crate::backend::{Backend, CompileFailure};
use crate::clock::Clock;
use crate::config::RuntimeConfig;
use crate::state::ContractState;
use crate::store::{Entry, Origin, Store, Version};
use ember_jit::{panic_message, OptLevel, Speculation};
use ember_profile::perfmap::{symbol_name, PerfMap};
use ember_profile::{timing, EventKind, Timeline, TimelineConfig};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

/// Why a version was unpublished.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unpublish {
    /// Made room for another version within the budget.
    Evicted,
    /// Not run for `jit.idle-evict-ms`.
    Idle,
    /// A recompile exit was taken.
    Invalidated,
    /// Everything was discarded.
    Discarded,
}

/// Totals of the code cache.
#[derive(Debug, Default)]
pub struct CacheCounters {
    pub compiled: AtomicU64,
    pub rejected: AtomicU64,
    /// Compiles that failed for a reason that may pass (a full code heap).
    pub transient: AtomicU64,
    pub evicted: AtomicU64,
    pub idle_evicted: AtomicU64,
    pub invalidated: AtomicU64,
    pub discarded: AtomicU64,
    /// `discard_all` calls.
    pub discards: AtomicU64,
    /// Versions not published because they alone exceed the budget.
    pub too_large: AtomicU64,
    /// Versions that replaced a published version of the same contract (tier-ups).
    pub tiered_up: AtomicU64,
    /// Tier-up compiles whose result was not published: the version they were to replace
    /// was gone by then, or the compile failed (the old version stays).
    pub tier_ups_lost: AtomicU64,
}

/// What the runtime and its compile workers share.
pub struct Core<B: Backend> {
    pub config: RuntimeConfig,
    pub backend: B,
    pub clock: Arc<dyn Clock>,
    pub store: Store<B::Code>,
    pub counters: CacheCounters,
    /// Bumped by `discard_all`; a compile that started under an older generation does not
    /// stay published.
    generation: AtomicU64,
    /// Set by `retire`: nothing is compiled any more.
    retired: AtomicBool,
    /// Serialises publishing (and the evictions that make room for it), so that two
    /// publishers do not both evict for the same free bytes.
    publishing: Mutex<()>,
    /// The clock at the last idle sweep.
    last_sweep_ms: AtomicU64,
    /// The profiler's timeline, when `profile.timeline` is on.
    pub timeline: Option<Timeline>,
    /// Where compiled code is announced to `perf`, when `jit.perf-map` is on (and the file
    /// could be opened: a perf map is a diagnostic, its absence changes nothing else).
    perf_map: Option<PerfMap>,
}

impl<B: Backend> Core<B> {
    /// The shared state of a runtime.
    pub fn new(
        config: RuntimeConfig,
        backend: B,
        clock: Arc<dyn Clock>,
        store: Store<B::Code>,
    ) -> Self {
        let now = clock.now_ms();
        Core {
            backend,
            clock,
            store,
            counters: CacheCounters::default(),
            generation: AtomicU64::new(0),
            retired: AtomicBool::new(false),
            publishing: Mutex::new(()),
            last_sweep_ms: AtomicU64::new(now),
            timeline: config
                .timeline()
                .then(|| Timeline::new(TimelineConfig::default())),
            perf_map: config
                .perf_map()
                .then(PerfMap::open_for_this_process)
                .and_then(Result::ok),
            config,
        }
    }

    /// Whether the next version of `entry` may speculate: every version but the last one
    /// `jit.max-versions` allows.
    pub fn may_speculate(&self, entry: &Entry<B::Code>) -> bool {
        entry.invalidations.load(Ordering::Relaxed) + 1 < self.config.max_versions()
    }

    /// Records `kind` for `entry` in the timeline, if there is one.
    pub fn event(&self, entry: &Entry<B::Code>, kind: EventKind) {
        if let Some(t) = &self.timeline {
            t.event(entry.id, kind);
        }
    }

    /// Compiles `entry` now on this thread, as the `jit` tier does before a contract's first
    /// run, unless it has published code or a rejection; concurrent callers for one entry
    /// wait for the one compile. Returns whether it compiled or waited.
    pub fn compile_now(&self, entry: &Arc<Entry<B::Code>>) -> bool {
        let done = |e: &Entry<B::Code>| e.code.load().is_some() || e.rejection.get().is_some();
        if done(entry) {
            return false;
        }
        // The lock guards no data; a panic while holding it leaves nothing half done.
        let _g = entry.compile_lock.lock().unwrap_or_else(|e| e.into_inner());
        if !done(entry) && entry.state() == ContractState::Cold {
            self.compile(entry, 0);
        }
        true
    }

    /// Compiles `entry` and publishes the result, or records why not. The entry is
    /// `queued` (a pool job of compile worker `worker`) or held under its compile lock (the
    /// `jit` tier, whose compiles count as worker 0's in the timeline).
    pub fn compile(&self, entry: &Arc<Entry<B::Code>>, worker: u32) {
        let generation = self.generation.load(Ordering::SeqCst);
        // `retire` sets the flag before it bumps the generation: a compile that misses the
        // flag started under the old generation, and what it publishes is unpublished.
        if self.retired.load(Ordering::SeqCst) {
            let _ = entry
                .state
                .transition(ContractState::Queued, ContractState::Cold);
            return;
        }
        entry.state.store(ContractState::Compiling);
        // Speculate unless this is the last version allowed, and only on a profile.
        let spec = self
            .may_speculate(entry)
            .then(|| entry.jumps.get().map(|p| p.speculation()))
            .flatten();
        let level = self.config.first_level(entry.analysis.code().len());
        let (result, ns) = self.run_compiler(entry, level, spec.as_ref(), worker);
        match result {
            Ok(code) => self.publish(entry, code, (level, ns), generation),
            Err(CompileFailure::Rejected(reason)) => self.reject(entry, reason),
            Err(CompileFailure::Transient(_)) => {
                self.counters.transient.fetch_add(1, Ordering::Relaxed);
                self.back_to_profiling(entry, ContractState::Compiling);
            }
        }
    }

    /// Compiles `entry` again at the tier-up level and puts the result in place of `old`, if
    /// `old` is still published then (see the module). A pool job of compile worker `worker`.
    pub fn tier_up(&self, entry: &Arc<Entry<B::Code>>, old: &Weak<Version<B::Code>>, worker: u32) {
        let lost = || {
            self.counters.tier_ups_lost.fetch_add(1, Ordering::Relaxed);
        };
        let is_published = |old: &Arc<Version<B::Code>>| matches!(&*entry.code.load(), Some(v) if Arc::ptr_eq(v, old));
        let (Some(old), Some(level)) = (old.upgrade(), self.config.tier_up_level()) else {
            return lost();
        };
        if !is_published(&old) {
            return lost();
        }
        let generation = self.generation.load(Ordering::SeqCst);
        // The same speculation as the version it replaces, on the same profile (the jump
        // profile only grows while the contract is cold).
        let spec = old
            .speculative
            .then(|| entry.jumps.get().map(|p| p.speculation()))
            .flatten();
        let (result, ns) = self.run_compiler(entry, level, spec.as_ref(), worker);
        let code = match result {
            Ok(code) => code,
            Err(CompileFailure::Transient(_)) => {
                self.counters.transient.fetch_add(1, Ordering::Relaxed);
                // The heap was full: a later window may ask again.
                old.tier_up_asked.store(false, Ordering::Relaxed);
                return lost();
            }
            Err(CompileFailure::Rejected(_)) => return lost(),
        };
        let bytes = self.backend.resident_bytes(&code) + std::mem::size_of::<Version<B::Code>>();
        let budget = self.config.code_cache_bytes();
        if bytes > budget {
            self.counters.too_large.fetch_add(1, Ordering::Relaxed);
            return lost();
        }
        let replaced = {
            // The lock guards no data; a panic while holding it leaves nothing half done.
            let _g = self.publishing.lock().unwrap_or_else(|e| e.into_inner());
            self.make_room(bytes.saturating_sub(old.bytes), budget, Some(entry));
            let version = self.new_version(entry, code, (level, ns), bytes);
            self.store.replace(entry, &old, version)
        };
        if !replaced {
            return lost();
        }
        self.counters.compiled.fetch_add(1, Ordering::Relaxed);
        self.counters.tiered_up.fetch_add(1, Ordering::Relaxed);
        self.event(entry, EventKind::TieredUp);
        if self.generation.load(Ordering::SeqCst) != generation {
            self.unpublish(entry, None, Unpublish::Discarded);
        }
    }

    /// Runs the backend on `entry` at `level`, catching a panic as a rejection; adds the time
    /// to the profiler and the timeline. Returns the result and the nanoseconds it took.
    fn run_compiler(
        &self,
        entry: &Entry<B::Code>,
        level: OptLevel,
        spec: Option<&Speculation>,
        worker: u32,
    ) -> (Result<B::Code, CompileFailure>, u64) {
        let start = Instant::now();
        let start_ns = timing::now_ns();
        let result = panic::catch_unwind(AssertUnwindSafe(|| {
            self.backend
                .compile(&entry.analysis, entry.key.rev, level, spec)
        }))
        .unwrap_or_else(|payload| {
            Err(CompileFailure::Rejected(format!(
                "compiler panicked: {}",
                panic_message(&*payload)
            )))
        });
        let ns = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        entry.unit.add_compile_ns(ns);
        if let Some(t) = &self.timeline {
            t.compile_job(worker, entry.id, start_ns, timing::now_ns(), result.is_ok());
        }
        (result, ns)
    }

    /// A version of `entry` holding `code` of `bytes` bytes, compiled at `level` in
    /// `compile_ns`, numbered by the profiler's count of versions and announced in the perf
    /// map. Called under the publishing lock.
    fn new_version(
        &self,
        entry: &Entry<B::Code>,
        code: B::Code,
        (level, compile_ns): (OptLevel, u64),
        bytes: usize,
    ) -> Arc<Version<B::Code>> {
        let speculative = self.backend.is_speculative(&code);
        let origin = Origin {
            level,
            compile_ns,
            jit_ns_before: entry.compiled_ns(),
        };
        let number = u32::try_from(entry.unit.add_version()).unwrap_or(u32::MAX);
        let version = Version::new(
            code,
            number,
            speculative,
            origin,
            bytes,
            Arc::clone(&self.store.resident_bytes),
        );
        if let Some(map) = &self.perf_map {
            let name = symbol_name(&entry.code_hash(), number);
            for (start, len) in self.backend.code_ranges(&version.code) {
                // A failed write loses a symbol, nothing else.
                let _ = map.add(start, len, &name);
            }
        }
        Arc::new(version)
    }

    fn reject(&self, entry: &Entry<B::Code>, reason: String) {
        self.counters.rejected.fetch_add(1, Ordering::Relaxed);
        self.event(entry, EventKind::Rejected);
        let _ = entry.rejection.set(reason);
        entry.state.store(ContractState::Rejected);
    }

    /// Moves `entry` from `from` back to `cold` with an empty window: it must become hot again
    /// before it asks for another compile.
    fn back_to_profiling(&self, entry: &Entry<B::Code>, from: ContractState) {
        entry.window.clear();
        let _ = entry.state.transition(from, ContractState::Cold);
    }

    fn publish(
        &self,
        entry: &Arc<Entry<B::Code>>,
        code: B::Code,
        made: (OptLevel, u64),
        generation: u64,
    ) {
        let bytes = self.backend.resident_bytes(&code) + std::mem::size_of::<Version<B::Code>>();
        let budget = self.config.code_cache_bytes();
        if bytes > budget {
            self.counters.too_large.fetch_add(1, Ordering::Relaxed);
            self.reject(
                entry,
                format!(
                    "its compiled code ({bytes} bytes) exceeds the code cache ({budget} bytes)"
                ),
            );
            return;
        }
        {
            // The lock guards no data; a panic while holding it leaves nothing half done.
            let _g = self.publishing.lock().unwrap_or_else(|e| e.into_inner());
            self.make_room(bytes, budget, None);
            let version = self.new_version(entry, code, made, bytes);
            // The state first: an invalidation of the new version moves the entry from
            // `compiled` back to `cold`, so it must not find it still `compiling`.
            entry.state.store(ContractState::Compiled);
            self.store.publish(entry, version);
            self.counters.compiled.fetch_add(1, Ordering::Relaxed);
        }
        self.event(entry, EventKind::Compiled);
        // `discard_all` bumps the generation before it scans: either its scan saw this
        // version, or this sees the new generation (both sides are sequentially consistent).
        if self.generation.load(Ordering::SeqCst) != generation {
            self.unpublish(entry, None, Unpublish::Discarded);
        }
    }

    /// Evicts published versions, least valuable first, until `bytes` more fit in `budget`;
    /// never the version of `keep`.
    fn make_room(&self, bytes: usize, budget: usize, keep: Option<&Entry<B::Code>>) {
        let fits = || self.store.published_bytes.load(Ordering::SeqCst) + bytes <= budget;
        if fits() {
            return;
        }
        let now = self.clock.now_ms();
        let mut candidates: Vec<_> = self
            .store
            .entries()
            .into_iter()
            .filter(|e| e.code.load().is_some() && !keep.is_some_and(|k| std::ptr::eq(k, &**e)))
            .map(|e| {
                let calls = e.activity(now).calls;
                let last = e.last_used.ms.load(Ordering::Relaxed);
                ((calls, last), e)
            })
            .collect();
        candidates.sort_unstable_by_key(|c| c.0);
        for (_, e) in candidates {
            if fits() {
                break;
            }
            self.unpublish(&e, None, Unpublish::Evicted);
        }
    }

    /// Takes `expected` (or whatever is published, if `None`) out of `entry` and sends the
    /// contract back to profiling. Returns whether this call took it.
    pub fn unpublish(
        &self,
        entry: &Entry<B::Code>,
        expected: Option<&Arc<Version<B::Code>>>,
        why: Unpublish,
    ) -> bool {
        let Some(version) = self.store.unpublish(entry, expected) else {
            return false;
        };
        let c = &self.counters;
        let (count, kind) = match why {
            Unpublish::Evicted => (&c.evicted, EventKind::Evicted),
            Unpublish::Idle => (&c.idle_evicted, EventKind::Evicted),
            Unpublish::Invalidated => {
                entry.invalidations.fetch_add(1, Ordering::Relaxed);
                (&c.invalidated, EventKind::Invalidated)
            }
            Unpublish::Discarded => (&c.discarded, EventKind::Discarded),
        };
        count.fetch_add(1, Ordering::Relaxed);
        self.event(entry, kind);
        self.back_to_profiling(entry, ContractState::Compiled);
        // The last reference, unless frames are still inside: then the last of them frees it.
        drop(version);
        true
    }

    /// Unpublishes every version; compiles running now are discarded when they finish.
    /// Returns how many versions were unpublished.
    pub fn discard_all(&self) -> usize {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.counters.discards.fetch_add(1, Ordering::Relaxed);
        self.store
            .entries()
            .iter()
            .filter(|e| self.unpublish(e, None, Unpublish::Discarded))
            .count()
    }

    /// Compiles nothing from now on, unpublishes every version (see `discard_all`) and
    /// evicts every entry.
    pub fn retire(&self) {
        self.retired.store(true, Ordering::SeqCst);
        self.discard_all();
        self.store.evict_all();
    }

    /// Evicts the versions not run for `jit.idle-evict-ms`; returns how many.
    pub fn evict_idle(&self, now_ms: u64) -> usize {
        let idle = self.config.idle_evict_ms();
        if idle == 0 {
            return 0;
        }
        self.last_sweep_ms.store(now_ms, Ordering::Relaxed);
        self.store
            .entries()
            .iter()
            .filter(|e| {
                e.code.load().is_some()
                    && now_ms.saturating_sub(e.last_used.ms.load(Ordering::Relaxed)) >= idle
                    && self.unpublish(e, None, Unpublish::Idle)
            })
            .count()
    }

    /// Runs an idle sweep if a quarter of the idle time has passed since the last one; the one
    /// thread that claims the sweep does it (a scan of the store, a few microseconds per
    /// thousand entries), the others go on at once. Returns whether this thread swept.
    #[inline]
    pub fn maybe_sweep(&self, now_ms: u64) -> bool {
        let idle = self.config.idle_evict_ms();
        if idle == 0 {
            return false;
        }
        let last = self.last_sweep_ms.load(Ordering::Relaxed);
        if now_ms.saturating_sub(last) >= (idle / 4).max(1)
            && self
                .last_sweep_ms
                .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.evict_idle(now_ms);
            return true;
        }
        false
    }
}
