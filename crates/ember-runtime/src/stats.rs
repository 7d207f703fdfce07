//! A snapshot of what the runtime did: per contract and for the compile pool, as Rust values,
//! as JSON, and as a text table.

use crate::config::Tier;
use crate::state::ContractState;
use ember_evm::B256;
use ember_jit::OptLevel;
use ember_profile::report::{ExitSite, UnitReport};
use serde_json::{json, Value};
use std::fmt::Write;

/// One contract (one code at one revision): the profiler's line for it, and what only the
/// runtime knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContractStats {
    /// The profiler's report of the contract: its code hash, address and revision, calls,
    /// gas and time per tier, side exits by site (the runtime's exact counts), compile time
    /// and versions compiled.
    pub profile: UnitReport,
    /// Bytes of code.
    pub code_size: usize,
    /// Where the contract stands.
    pub state: ContractState,
    /// Why the contract stays in the interpreter, when it is [`ContractState::Rejected`].
    pub rejection: Option<String>,
    /// Versions invalidated by a recompile exit.
    pub invalidations: u32,
    /// Whether the published version speculates (`None`: nothing published).
    pub speculative: Option<bool>,
    /// The optimisation level of the published version (`None`: nothing published).
    pub level: Option<OptLevel>,
    /// What the published version costs the code cache.
    pub code_bytes: Option<u64>,
    /// Side exits at sites beyond the ones kept in [`UnitReport::exit_sites`].
    pub side_exits_elsewhere: u64,
}

impl ContractStats {
    /// keccak256 of the code.
    pub fn code_hash(&self) -> B256 {
        self.profile.label.code_hash
    }

    /// All frames.
    pub fn calls(&self) -> u64 {
        self.profile.calls()
    }

    /// `cold`, `queued`, `compiling`, `compiled` or `rejected: REASON`.
    pub fn describe_state(&self) -> String {
        match (&self.state, &self.rejection) {
            (ContractState::Rejected, Some(reason)) => format!("rejected: {reason}"),
            (state, _) => state.name().into(),
        }
    }

    /// [`describe_state`](Self::describe_state), with the published version's level after
    /// it (`compiled O1`).
    pub fn describe_state_and_level(&self) -> String {
        match self.level {
            Some(level) => format!("{} {level:?}", self.describe_state()),
            None => self.describe_state(),
        }
    }

    /// The side-exit sites, by pc.
    pub fn exit_sites_by_pc(&self) -> Vec<ExitSite> {
        let mut sites = self.profile.exit_sites.clone();
        sites.sort_by_key(|s| s.pc);
        sites
    }

    /// All side exits, at the sites kept and elsewhere.
    pub fn side_exits(&self) -> u64 {
        self.profile
            .exit_sites
            .iter()
            .map(|s| s.count)
            .sum::<u64>()
            .saturating_add(self.side_exits_elsewhere)
    }
}

/// The compile pool's totals (the `jit` tier's synchronous compiles count as completed or
/// failed too).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Compile threads (started on the first request).
    pub workers: usize,
    /// Requests accepted into the queue, in total.
    pub queued: u64,
    /// Requests waiting now.
    pub pending: u64,
    /// Requests refused because the queue was full.
    pub dropped: u64,
    /// Compiles that produced code.
    pub completed: u64,
    /// Compiles that failed or were rejected by the analyzer.
    pub failed: u64,
    /// Queued requests cancelled by shutdown.
    pub cancelled: u64,
}

/// The code cache: its budget, what it holds, and what left it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// `jit.code-cache-bytes`.
    pub budget_bytes: u64,
    /// Bytes of the published versions.
    pub published_bytes: u64,
    /// Bytes of all versions not freed yet (published, or unpublished with frames inside).
    pub resident_bytes: u64,
    /// Versions evicted to make room.
    pub evicted: u64,
    /// Versions evicted for being idle.
    pub idle_evicted: u64,
    /// Versions invalidated by a recompile exit.
    pub invalidated: u64,
    /// Versions unpublished by a discard of everything.
    pub discarded: u64,
    /// Discards of everything.
    pub discards: u64,
    /// Compiles whose code alone exceeds the budget.
    pub too_large: u64,
    /// Compiles that found the code heap full.
    pub heap_full: u64,
    /// Versions that replaced a published version at a higher optimisation level.
    pub tiered_up: u64,
    /// Tier-up compiles not published (the old version was gone, or the compile failed).
    pub tier_ups_lost: u64,
}

/// Everything the runtime reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stats {
    /// The runtime's tier.
    pub tier: Tier,
    /// The contracts in the store, the most gas first.
    pub contracts: Vec<ContractStats>,
    /// The compile pool.
    pub pool: PoolStats,
    /// The code cache.
    pub cache: CacheStats,
    /// Entries evicted from the store.
    pub evicted: u64,
    /// Frames run in the interpreter without an entry: the store was full of entries that
    /// may not be evicted.
    pub unprofiled: u64,
    /// Frames whose code matched an entry's 128-bit hash but not its bytes (run in the
    /// interpreter).
    pub collisions: u64,
}

impl Stats {
    /// The JSON form: `{tier, contracts: [{codeHash, revision, codeSize, state, calls,
    /// callsInterp, callsJit, gasInterp, gasJit, compileNs, versions, invalidations,
    /// speculative, level, codeBytes, sideExits: [{pc, count}], sideExitsElsewhere}], pool:
    /// {workers, queued, pending, dropped, completed, failed, cancelled}, codeCache:
    /// {budgetBytes, publishedBytes, residentBytes, evicted, idleEvicted, invalidated,
    /// discarded, discards, tooLarge, heapFull, tieredUp, tierUpsLost}, evicted, unprofiled,
    /// collisions}`. `level` is `"O0"` ..= `"O3"` or null.
    pub fn to_json(&self) -> Value {
        let contracts: Vec<Value> = self
            .contracts
            .iter()
            .map(|c| {
                let p = &c.profile;
                let sites: Vec<Value> = c
                    .exit_sites_by_pc()
                    .iter()
                    .map(|s| json!({"pc": s.pc, "count": s.count}))
                    .collect();
                json!({
                    "codeHash": p.label.code_hash.to_string(),
                    "revision": p.label.revision.name(),
                    "codeSize": c.code_size,
                    "state": c.describe_state(),
                    "calls": c.calls(),
                    "callsInterp": p.interp.calls,
                    "callsJit": p.jit.calls,
                    "gasInterp": p.interp.gas,
                    "gasJit": p.jit.gas,
                    "compileNs": p.compile_ns,
                    "versions": p.versions,
                    "invalidations": c.invalidations,
                    "speculative": c.speculative,
                    "level": c.level.map(|l| format!("{l:?}")),
                    "codeBytes": c.code_bytes,
                    "sideExits": sites,
                    "sideExitsElsewhere": c.side_exits_elsewhere,
                })
            })
            .collect();
        let p = &self.pool;
        json!({
            "tier": self.tier.name(),
            "contracts": contracts,
            "pool": {
                "workers": p.workers,
                "queued": p.queued,
                "pending": p.pending,
                "dropped": p.dropped,
                "completed": p.completed,
                "failed": p.failed,
                "cancelled": p.cancelled,
            },
            "codeCache": {
                "budgetBytes": self.cache.budget_bytes,
                "publishedBytes": self.cache.published_bytes,
                "residentBytes": self.cache.resident_bytes,
                "evicted": self.cache.evicted,
                "idleEvicted": self.cache.idle_evicted,
                "invalidated": self.cache.invalidated,
                "discarded": self.cache.discarded,
                "discards": self.cache.discards,
                "tooLarge": self.cache.too_large,
                "heapFull": self.cache.heap_full,
                "tieredUp": self.cache.tiered_up,
                "tierUpsLost": self.cache.tier_ups_lost,
            },
            "evicted": self.evicted,
            "unprofiled": self.unprofiled,
            "collisions": self.collisions,
        })
    }

    /// A text table of at most `limit` contracts (the ones with the most gas), then the
    /// totals.
    pub fn to_text(&self, limit: usize) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "runtime: tier {}, {} contract(s)",
            self.tier.name(),
            self.contracts.len()
        );
        if !self.contracts.is_empty() {
            let _ = writeln!(
                s,
                "{:<18} {:<9} {:>6} {:>10} {:>10} {:>14} {:>14} {:>11} {:>4} {:>8}  state",
                "code hash",
                "revision",
                "size",
                "calls",
                "calls jit",
                "gas interp",
                "gas jit",
                "compile ms",
                "ver",
                "exits"
            );
        }
        for c in self.contracts.iter().take(limit) {
            let p = &c.profile;
            let hash = p.label.code_hash.to_string();
            let _ = writeln!(
                s,
                "{:<18} {:<9} {:>6} {:>10} {:>10} {:>14} {:>14} {:>11.3} {:>4} {:>8}  {}",
                format!("{}..", &hash[..16]),
                p.label.revision.name(),
                c.code_size,
                c.calls(),
                p.jit.calls,
                p.interp.gas,
                p.jit.gas,
                p.compile_ns as f64 / 1e6,
                p.versions,
                c.side_exits(),
                c.describe_state_and_level()
            );
        }
        if self.contracts.len() > limit {
            let _ = writeln!(s, "({} more)", self.contracts.len() - limit);
        }
        let p = &self.pool;
        let _ = writeln!(
            s,
            "pool: {} worker(s), {} queued, {} pending, {} dropped, {} completed, {} failed, {} cancelled",
            p.workers, p.queued, p.pending, p.dropped, p.completed, p.failed, p.cancelled
        );
        let k = &self.cache;
        let _ = writeln!(
            s,
            "code cache: {} of {} bytes published, {} resident; {} evicted, {} idle, {} invalidated, {} discarded, {} too large, {} heap full; {} tiered up, {} tier-up(s) lost",
            k.published_bytes,
            k.budget_bytes,
            k.resident_bytes,
            k.evicted,
            k.idle_evicted,
            k.invalidated,
            k.discarded,
            k.too_large,
            k.heap_full,
            k.tiered_up,
            k.tier_ups_lost
        );
        let _ = write!(
            s,
            "store: {} evicted, {} unprofiled call(s), {} hash collision(s)",
            self.evicted, self.unprofiled, self.collisions
        );
        s
    }
}

#[cfg(test)]
mod tests;
