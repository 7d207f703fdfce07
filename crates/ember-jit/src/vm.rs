//! The `jit` tier: a [`Vm`] that compiles every contract before running it.

use crate::{compile, CompileError, CompiledContract, JitConfig, OptLevel};
use ember_evm::{
    execute_analyzed, keccak256, CodeAnalysis, ExecResult, Host, Message, Revision, Vm, B256,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// How many (code, revision) entries the cache holds by default before it is emptied. Each
/// compiled contract holds at least two pages of the code heap, so this keeps the heap (and
/// the kernel's count of mappings) bounded in long runs over many contracts.
pub const DEFAULT_CACHE_LIMIT: usize = 4096;

/// What the cache knows about one (code, revision).
#[derive(Clone)]
enum Entry {
    Compiled(Arc<CompiledContract>),
    /// Runs in the interpreter, for the kept reason.
    Interpreter(Arc<CodeAnalysis>, Arc<CompileError>),
}

/// Counters of a [`JitVm`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JitStats {
    /// Contracts compiled.
    pub compiled: u64,
    /// Contracts the analyzer or the compiler kept in the interpreter.
    pub interpreter_only: u64,
    /// Frames run natively.
    pub native_runs: u64,
    /// Frames run in the interpreter.
    pub interpreted_runs: u64,
    /// Total nanoseconds spent compiling.
    pub compile_ns: u64,
}

/// The `jit` tier for the tools: every executed contract is compiled (blocking) the first time
/// it runs, keyed by code hash and revision; contracts that the analyzer rejects or that fail
/// to compile run in the interpreter. Thread-safe.
///
/// The cache is bounded: when it holds its limit of entries ([`DEFAULT_CACHE_LIMIT`] unless
/// [`JitVm::with_cache_limit`] says otherwise) it is emptied before the next entry goes in,
/// so memory and code heap use stay bounded however many contracts run; a contract seen again
/// is compiled again. Frames running a dropped entry keep it alive until they end.
pub struct JitVm {
    config: JitConfig,
    cache_limit: usize,
    cache: RwLock<HashMap<(B256, Revision), Entry>>,
    compiled: AtomicU64,
    interpreter_only: AtomicU64,
    native_runs: AtomicU64,
    interpreted_runs: AtomicU64,
    compile_ns: AtomicU64,
}

impl Default for JitVm {
    fn default() -> Self {
        JitVm::new(JitConfig::compile_everything())
    }
}

impl JitVm {
    /// The tier of [`JitVm::default`] compiling at `opt_level`.
    pub fn at_level(opt_level: OptLevel) -> Self {
        JitVm::new(JitConfig {
            opt_level,
            ..JitConfig::compile_everything()
        })
    }

    /// A tier compiling with `config`, caching up to [`DEFAULT_CACHE_LIMIT`] contracts.
    pub fn new(config: JitConfig) -> Self {
        JitVm::with_cache_limit(config, DEFAULT_CACHE_LIMIT)
    }

    /// A tier compiling with `config` whose cache holds at most `limit` contracts (at least
    /// one).
    pub fn with_cache_limit(config: JitConfig, limit: usize) -> Self {
        JitVm {
            config,
            cache_limit: limit.max(1),
            cache: RwLock::new(HashMap::new()),
            compiled: AtomicU64::new(0),
            interpreter_only: AtomicU64::new(0),
            native_runs: AtomicU64::new(0),
            interpreted_runs: AtomicU64::new(0),
            compile_ns: AtomicU64::new(0),
        }
    }

    /// How this tier compiles.
    pub fn config(&self) -> &JitConfig {
        &self.config
    }

    /// How many (code, revision) entries the cache holds now.
    pub fn cached(&self) -> usize {
        self.cache.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// The counters so far.
    pub fn stats(&self) -> JitStats {
        JitStats {
            compiled: self.compiled.load(Ordering::Relaxed),
            interpreter_only: self.interpreter_only.load(Ordering::Relaxed),
            native_runs: self.native_runs.load(Ordering::Relaxed),
            interpreted_runs: self.interpreted_runs.load(Ordering::Relaxed),
            compile_ns: self.compile_ns.load(Ordering::Relaxed),
        }
    }

    /// The compiled contract for `code` at `rev`, or why it runs in the interpreter;
    /// compiles on first use.
    pub fn lookup(
        &self,
        code: &[u8],
        rev: Revision,
        code_hash: Option<&B256>,
    ) -> Result<Arc<CompiledContract>, Arc<CompileError>> {
        match self.entry(code, rev, code_hash) {
            Entry::Compiled(c) => Ok(c),
            Entry::Interpreter(_, e) => Err(e),
        }
    }

    fn entry(&self, code: &[u8], rev: Revision, code_hash: Option<&B256>) -> Entry {
        let key = (code_hash.copied().unwrap_or_else(|| keccak256(code)), rev);
        // A poisoned lock only means another thread panicked while holding it; the map is
        // always in a consistent state, so keep using it.
        if let Some(e) = self
            .cache
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return e.clone();
        }
        let entry = match compile(code, rev, &self.config) {
            Ok(c) => {
                let s = c.stats();
                self.compile_ns
                    .fetch_add(s.ir_ns + s.opt_ns + s.emit_ns, Ordering::Relaxed);
                self.compiled.fetch_add(1, Ordering::Relaxed);
                Entry::Compiled(Arc::new(c))
            }
            Err(e) => {
                self.interpreter_only.fetch_add(1, Ordering::Relaxed);
                Entry::Interpreter(Arc::new(CodeAnalysis::new(code)), Arc::new(e))
            }
        };
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= self.cache_limit && !cache.contains_key(&key) {
            // Running frames hold their own `Arc`s, so dropping entries frees only code that
            // no frame is executing.
            cache.clear();
        }
        cache.entry(key).or_insert(entry).clone()
    }
}

impl Vm for JitVm {
    fn execute(
        &self,
        host: &mut dyn Host,
        rev: Revision,
        msg: &Message<'_>,
        code: &[u8],
        code_hash: Option<&B256>,
    ) -> ExecResult {
        if host.tracer().is_some() {
            // Traces come from the interpreter, instruction by instruction.
            self.interpreted_runs.fetch_add(1, Ordering::Relaxed);
            return ember_evm::execute(host, rev, msg, code);
        }
        match self.entry(code, rev, code_hash) {
            Entry::Compiled(c) => {
                self.native_runs.fetch_add(1, Ordering::Relaxed);
                c.execute(host, msg)
            }
            Entry::Interpreter(a, _) => {
                self.interpreted_runs.fetch_add(1, Ordering::Relaxed);
                execute_analyzed(host, rev, msg, &a)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ember_testkit::{assemble, compare, Case};

    #[test]
    fn the_cache_never_holds_more_than_its_limit() {
        let jit = JitVm::with_cache_limit(JitConfig::compile_everything(), 2);
        let programs: Vec<Vec<u8>> = (1..=5)
            .map(|i| assemble(&format!("PUSH1 {i} PUSH1 0 SSTORE STOP")).unwrap())
            .collect();
        let mut most = 0;
        for (i, code) in programs.iter().chain(&programs).enumerate() {
            compare(&jit, &Case::new(code)).unwrap();
            most = most.max(jit.cached());
            assert!(jit.cached() >= 1, "run {i}");
        }
        assert_eq!(most, 2);
        // Every run compiled again: the entries were dropped when the cache filled up.
        assert_eq!(jit.stats().compiled, 10);
        assert_eq!(jit.stats().native_runs, 10);
        // A contract already cached is found without clearing.
        compare(&jit, &Case::new(&programs[4])).unwrap();
        assert_eq!(jit.stats().compiled, 10);
    }
}
