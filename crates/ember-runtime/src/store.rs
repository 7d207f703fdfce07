//! The profile store: one [`Entry`] per (code identity, revision), found without locks.
//!
//! The map is `papaya::HashMap`, a concurrent hash table whose reads take no lock and write
//! nothing shared: a lookup marks the thread active in its own slot of the memory reclaimer
//! (seize), probes the table and copies out an `Arc` of the entry. Inserts and removals are
//! lock-free too, and a removed entry is freed only once no thread can still be reading it.
//! That fits a table that is read on every call by every executing thread and written only
//! when a contract is seen for the first time or evicted. (A `RwLock<HashMap>` or a sharded
//! one would make every call write the lock's shared counter.)
//!
//! The store is bounded by `jit.max-profiles`. When it is full, the coldest entries go first,
//! an eighth of the bound at a time so that the scan is paid rarely: coldest means fewest
//! calls within the window (every call counts there, interpreted or compiled), then least
//! recently used. Entries a compile job holds (queued or compiling) stay; compiled ones may go
//! (their code is unpublished and freed when the last running frame leaves it), and so may
//! rejected ones (the analyzer's verdict is cheap to reach again), so that a store filled by
//! contracts that were hot once cannot keep new ones from ever being profiled. When nothing
//! can be evicted the call runs in the interpreter without an entry.

use crate::jumps::JumpProfile;
use crate::state::{ContractState, StateCell};
use crate::window::{Activity, Totals, Window};
use arc_swap::ArcSwapOption;
use ember_evm::{Address, CodeAnalysis, Revision, B256};
use ember_jit::OptLevel;
use ember_profile::{UnitCounters, UnitId};
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, TryLockError};

/// How a contract's code is identified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeId {
    /// keccak256 of the code, as given by the caller.
    Keccak(B256),
    /// A seeded 128-bit xxh3 of the code, for callers that give no hash. Not collision-proof:
    /// the entry's code is compared byte for byte before it is used.
    Fast(u128),
}

/// The key of an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    pub id: CodeId,
    pub rev: Revision,
}

impl Key {
    /// 64 well-mixed bits of the key: the identities are hashes already.
    fn fingerprint(&self) -> u64 {
        let (bits, kind) = match self.id {
            CodeId::Keccak(h) => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&h.0[..8]);
                (u64::from_le_bytes(b), 0)
            }
            CodeId::Fast(x) => (x as u64, 1u64 << 63),
        };
        bits ^ kind ^ (self.rev as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.fingerprint());
    }
}

/// Hashes a [`Key`] to its fingerprint (no second hashing of what is already a hash).
#[derive(Clone, Copy, Debug, Default)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not used by `Key`; a plain FNV-1a keeps the hasher total.
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }
}

/// Builds [`KeyHasher`]s.
#[derive(Clone, Copy, Debug, Default)]
pub struct BuildKeyHasher;

impl BuildHasher for BuildKeyHasher {
    type Hasher = KeyHasher;

    fn build_hasher(&self) -> KeyHasher {
        KeyHasher::default()
    }
}

/// When the entry was last used, written at most once per millisecond: on its own cache line,
/// away from the fields every call only reads.
#[derive(Debug, Default)]
#[repr(align(64))]
pub struct LastUsed {
    /// The clock at the last call (what eviction calls "recently used").
    pub ms: AtomicU64,
}

/// How a version was compiled: its level and cost, and where the contract's compiled time
/// stood when it was published (what a tier-up weighs, see `lifecycle.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The optimisation level it was compiled at.
    pub level: OptLevel,
    /// How long its compile took, in nanoseconds.
    pub compile_ns: u64,
    /// The contract's exclusive time in compiled code (the profiler's running total) when it
    /// was made: the time it has run since is the total now minus this.
    pub jit_ns_before: u64,
}

/// One compiled version of a contract, as published in its entry.
///
/// Frames hold the version (through the entry's `ArcSwapOption`, see [`Entry::code`]) for
/// as long as they run it, so it is dropped, and its machine code freed, only after it has
/// been unpublished *and* the last frame inside it has returned.
pub struct Version<C> {
    pub code: C,
    /// 1 for the first compile of the contract, then counting up.
    pub number: u32,
    /// Compiled against a jump profile, with recompile exits.
    pub speculative: bool,
    /// How it was compiled, and what a tier-up weighs.
    pub origin: Origin,
    /// Set once a tier-up of this version has been asked for.
    pub tier_up_asked: AtomicBool,
    /// What it costs the code cache: the backend's resident bytes plus this struct.
    pub bytes: usize,
    /// The cache's count of resident bytes, decremented when the version is dropped.
    resident: Arc<AtomicUsize>,
}

impl<C> Version<C> {
    /// A version of `bytes` bytes, counted in `resident` until it is dropped.
    pub fn new(
        code: C,
        number: u32,
        speculative: bool,
        origin: Origin,
        bytes: usize,
        resident: Arc<AtomicUsize>,
    ) -> Self {
        resident.fetch_add(bytes, Ordering::Relaxed);
        Version {
            code,
            number,
            speculative,
            origin,
            tier_up_asked: AtomicBool::new(false),
            bytes,
            resident,
        }
    }
}

impl<C> Drop for Version<C> {
    fn drop(&mut self) {
        self.resident.fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

impl<C> std::fmt::Debug for Version<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Version")
            .field("number", &self.number)
            .field("speculative", &self.speculative)
            .field("origin", &self.origin)
            .field("bytes", &self.bytes)
            .finish()
    }
}

/// Everything the runtime knows about one (code, revision).
pub struct Entry<C> {
    pub key: Key,
    /// The code and its jumpdest analysis, built once; shared with compile jobs and compiled
    /// code.
    pub analysis: Arc<CodeAnalysis>,
    /// Where the contract stands.
    pub state: StateCell,
    /// The published version, if any. Readers take a guard with one `load` (arc-swap keeps a
    /// per-thread "debt" slot instead of touching the shared reference count, so concurrent
    /// callers of one contract do not contend); the code GC replaces it with `None`, and
    /// arc-swap turns the debts of the readers still inside into real references, so the
    /// version lives until the last of them returns. See `lifecycle.rs`.
    pub code: ArcSwapOption<Version<C>>,
    /// Why the contract stays in the interpreter for good, once known.
    pub rejection: OnceLock<String>,
    /// The jump targets seen while profiling, kept across versions (see `jumps.rs`).
    pub jumps: OnceLock<JumpProfile>,
    /// Versions invalidated by a recompile exit.
    pub invalidations: AtomicU32,
    /// Side exits from compiled code, by site.
    pub exits: ExitSites,
    /// Held by the `jit` tier's synchronous compile, so that concurrent first calls wait for
    /// one compile.
    pub compile_lock: Mutex<()>,
    pub window: Window,
    pub last_used: LastUsed,
    /// Calls, gas and time per tier, side exits and compile time (the profiler's counters).
    pub unit: UnitCounters,
    /// The entry's number in profiler reports and timelines.
    pub id: UnitId,
    /// The address the code first ran at (the code's own address, `code_address`).
    pub address: OnceLock<Address>,
}

impl<C> Entry<C> {
    /// A fresh, cold entry numbered `id`.
    pub fn new(key: Key, code: &[u8], window: Window, id: UnitId) -> Self {
        Entry {
            key,
            analysis: Arc::new(CodeAnalysis::new(code)),
            state: StateCell::new(ContractState::Cold),
            code: ArcSwapOption::empty(),
            rejection: OnceLock::new(),
            jumps: OnceLock::new(),
            invalidations: AtomicU32::new(0),
            exits: ExitSites::default(),
            compile_lock: Mutex::new(()),
            window,
            last_used: LastUsed::default(),
            unit: UnitCounters::new(),
            id,
            address: OnceLock::new(),
        }
    }

    /// The entry's state.
    pub fn state(&self) -> ContractState {
        self.state.load()
    }

    /// The calls and gas of every frame of this code so far, in both tiers: the profiler's
    /// counters, which the window takes its differences of.
    pub fn totals(&self) -> Totals {
        let s = self.unit.snapshot();
        Totals {
            calls: s.interp.calls + s.jit.calls,
            gas: s.interp.gas.saturating_add(s.jit.gas),
        }
    }

    /// Sees a frame start at `now_ms`, before the profiler counts it (see `window.rs`).
    #[inline]
    pub fn observe(&self, now_ms: u64) {
        self.window.observe(now_ms, || self.totals());
    }

    /// The exclusive time of this code's compiled frames so far (the profiler's counter).
    pub fn compiled_ns(&self) -> u64 {
        self.unit.tier(ember_profile::Tier::Jit).exclusive_ns()
    }

    /// The calls and gas within the window at `now_ms`.
    pub fn activity(&self, now_ms: u64) -> Activity {
        self.window.activity(now_ms, self.totals())
    }

    /// keccak256 of the code (computed when the key is the fast hash).
    pub fn code_hash(&self) -> B256 {
        match self.key.id {
            CodeId::Keccak(h) => h,
            CodeId::Fast(_) => ember_evm::keccak256(self.analysis.code()),
        }
    }
}

/// The most distinct side-exit sites kept per contract; exits elsewhere are only counted.
pub const EXIT_SITES: usize = 16;

/// Side exits by pc, in a fixed array filled lock-free (a site claims a free slot with one
/// compare-and-swap and is never removed).
#[derive(Debug, Default)]
pub struct ExitSites {
    /// `pc + 1` of each claimed slot, zero if free.
    pcs: [AtomicU32; EXIT_SITES],
    counts: [AtomicU64; EXIT_SITES],
    /// Exits at sites that found no free slot.
    other: AtomicU64,
}

impl ExitSites {
    /// Counts one exit at `pc`.
    pub fn record(&self, pc: u32) {
        let tag = pc.saturating_add(1);
        for (slot, count) in self.pcs.iter().zip(&self.counts) {
            let current = slot.load(Ordering::Relaxed);
            let mine = current == tag
                || (current == 0
                    && match slot.compare_exchange(0, tag, Ordering::Relaxed, Ordering::Relaxed) {
                        Ok(_) => true,
                        Err(now) => now == tag,
                    });
            if mine {
                count.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        self.other.fetch_add(1, Ordering::Relaxed);
    }

    /// The sites with their counts, by pc, and the count of exits at sites not kept.
    pub fn snapshot(&self) -> (Vec<(u32, u64)>, u64) {
        let mut sites: Vec<(u32, u64)> = self
            .pcs
            .iter()
            .zip(&self.counts)
            .filter_map(|(slot, count)| {
                let tag = slot.load(Ordering::Relaxed);
                (tag != 0).then(|| (tag - 1, count.load(Ordering::Relaxed)))
            })
            .collect();
        sites.sort_unstable();
        (sites, self.other.load(Ordering::Relaxed))
    }
}

/// Whether the eviction of a full store may wait for another thread's eviction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvictionWait {
    /// Never (`auto`: a call never waits; it runs unprofiled instead).
    Never,
    /// Yes (`jit`: calls wait for compiles anyway, and every frame of that tier should run
    /// compiled).
    Wait,
}

/// Entries eviction may take: any but those a compile job holds.
fn evictable(state: ContractState) -> bool {
    use ContractState::*;
    matches!(state, Cold | Compiled | Rejected)
}

/// The bounded, lock-free map of entries.
pub struct Store<C> {
    map: papaya::HashMap<Key, Arc<Entry<C>>, BuildKeyHasher>,
    /// Entries in the map, counted by reservation so the bound is never exceeded.
    len: AtomicUsize,
    max: usize,
    wait: EvictionWait,
    /// Held by the one thread evicting.
    evicting: Mutex<()>,
    evicted: AtomicU64,
    /// Bytes of the versions published in the entries (the code cache's budgeted figure).
    pub published_bytes: AtomicUsize,
    /// Bytes of all versions not yet dropped: published, or unpublished with frames still
    /// inside.
    pub resident_bytes: Arc<AtomicUsize>,
}

impl<C> Store<C> {
    /// An empty store of at most `max` entries (at least one).
    pub fn new(max: usize, wait: EvictionWait) -> Self {
        Store {
            map: papaya::HashMap::builder().hasher(BuildKeyHasher).build(),
            len: AtomicUsize::new(0),
            max: max.max(1),
            wait,
            evicting: Mutex::new(()),
            evicted: AtomicU64::new(0),
            published_bytes: AtomicUsize::new(0),
            resident_bytes: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Publishes `version` in `entry` (replacing nothing: the entry has none), counting its
    /// bytes first so that an unpublish racing with this never sees them uncounted.
    pub fn publish(&self, entry: &Entry<C>, version: Arc<Version<C>>) {
        self.published_bytes
            .fetch_add(version.bytes, Ordering::SeqCst);
        entry.code.store(Some(version));
    }

    /// Puts `new` in `entry` in place of `old`, if `old` is still the published version, and
    /// counts the difference; returns whether it did. Of a replacement and racing
    /// unpublishes of `old`, exactly one takes it.
    pub fn replace(&self, entry: &Entry<C>, old: &Arc<Version<C>>, new: Arc<Version<C>>) -> bool {
        let bytes = new.bytes;
        let before = entry.code.compare_and_swap(old, Some(new));
        if !matches!(&*before, Some(b) if Arc::ptr_eq(b, old)) {
            return false;
        }
        self.published_bytes.fetch_add(bytes, Ordering::SeqCst);
        self.published_bytes.fetch_sub(old.bytes, Ordering::SeqCst);
        true
    }

    /// Takes `expected` out of `entry` if it is still the published version (any published
    /// version if `expected` is `None`) and uncounts it. Exactly one of several racing
    /// callers gets the version; the others get `None`. The version is freed when the
    /// returned `Arc` and the last frame running it are gone.
    pub fn unpublish(
        &self,
        entry: &Entry<C>,
        expected: Option<&Arc<Version<C>>>,
    ) -> Option<Arc<Version<C>>> {
        let taken = match expected {
            Some(v) => {
                let before = entry.code.compare_and_swap(v, None);
                match &*before {
                    Some(b) if Arc::ptr_eq(b, v) => Some(Arc::clone(b)),
                    _ => None,
                }
            }
            None => entry.code.swap(None),
        }?;
        self.published_bytes
            .fetch_sub(taken.bytes, Ordering::SeqCst);
        Some(taken)
    }

    /// A guard of the map's memory reclaimer: entries read under it stay allocated until it
    /// is dropped, even if they are removed meanwhile. Guards nest (one per frame of a call
    /// chain) and cost a store to this thread's own slot.
    #[inline]
    pub fn guard(&self) -> papaya::LocalGuard<'_> {
        self.map.guard()
    }

    /// The entry of `key`, if there is one, valid as long as `guard`. Lock-free.
    #[inline]
    pub fn get<'g>(
        &self,
        key: &Key,
        guard: &'g papaya::LocalGuard<'_>,
    ) -> Option<&'g Arc<Entry<C>>> {
        self.map.get(key, guard)
    }

    /// The entry of `key`, made by `make` if there is none; `None` if the store is full and
    /// nothing can be evicted. `now_ms` ranks entries for eviction.
    pub fn get_or_insert(
        &self,
        key: Key,
        now_ms: u64,
        make: impl FnOnce() -> Entry<C>,
    ) -> Option<Arc<Entry<C>>> {
        if let Some(e) = self.map.pin().get(&key) {
            return Some(Arc::clone(e));
        }
        if !self.reserve(now_ms) {
            return None;
        }
        let entry = Arc::new(make());
        let map = self.map.pin();
        match map.try_insert(key, Arc::clone(&entry)) {
            Ok(_) => Some(entry),
            Err(e) => {
                // Another thread inserted it first: use theirs, give the slot back.
                self.len.fetch_sub(1, Ordering::Relaxed);
                Some(Arc::clone(e.current))
            }
        }
    }

    /// Takes one slot of the bound, evicting if the store is full.
    fn reserve(&self, now_ms: u64) -> bool {
        let take = || {
            self.len
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                    (n < self.max).then_some(n + 1)
                })
                .is_ok()
        };
        // Slots freed by one eviction may be taken by other threads before this one: try
        // twice, then give up rather than spin.
        for _ in 0..2 {
            if take() {
                return true;
            }
            if !self.evict(now_ms) {
                return false;
            }
        }
        take()
    }

    /// Evicts the coldest eighth of the bound among the entries no compile job holds
    /// (compiled ones included: their code is unpublished and freed when the last frame in it
    /// returns). Returns whether there is room now. If another thread is evicting, `auto`
    /// returns false at once and `jit` waits for it (see [`EvictionWait`]).
    fn evict(&self, now_ms: u64) -> bool {
        // The lock guards no data; a panic elsewhere while holding it changes nothing.
        let _guard = match self.wait {
            EvictionWait::Never => match self.evicting.try_lock() {
                Ok(g) => g,
                Err(TryLockError::Poisoned(p)) => p.into_inner(),
                Err(TryLockError::WouldBlock) => return false,
            },
            EvictionWait::Wait => {
                let g = self.evicting.lock().unwrap_or_else(|e| e.into_inner());
                if self.len.load(Ordering::Relaxed) < self.max {
                    // The thread that held the lock made room.
                    return true;
                }
                g
            }
        };
        let map = self.map.pin();
        let mut candidates: Vec<(u64, u64, ContractState, &Arc<Entry<C>>)> = map
            .values()
            .filter_map(|e| {
                let state = e.state();
                evictable(state).then(|| {
                    let calls = e.activity(now_ms).calls;
                    let last = e.last_used.ms.load(Ordering::Relaxed);
                    (calls, last, state, e)
                })
            })
            .collect();
        if candidates.is_empty() {
            return false;
        }
        let n = (self.max / 8).clamp(1, candidates.len());
        if n < candidates.len() {
            candidates.select_nth_unstable_by_key(n - 1, |c| (c.0, c.1));
        }
        let evicted = candidates[..n]
            .iter()
            .filter(|&&(_, _, state, entry)| self.take_out(&map, entry, state))
            .count();
        self.count_evicted(evicted);
        evicted > 0
    }

    /// Evicts every entry no compile job holds, as a retired runtime does with its profiles.
    pub fn evict_all(&self) {
        let _guard = self.evicting.lock().unwrap_or_else(|e| e.into_inner());
        let all = self.entries();
        let map = self.map.pin();
        let evicted = all
            .iter()
            .filter(|entry| {
                let state = entry.state();
                evictable(state) && self.take_out(&map, entry, state)
            })
            .count();
        self.count_evicted(evicted);
    }

    /// Takes `entry`, last seen in `state`, out of `map` and unpublishes its code; false if it
    /// moved on meanwhile (queued for a compile, say), and then it stays. The caller counts.
    fn take_out(
        &self,
        map: &papaya::HashMapRef<'_, Key, Arc<Entry<C>>, BuildKeyHasher, papaya::LocalGuard<'_>>,
        entry: &Arc<Entry<C>>,
        state: ContractState,
    ) -> bool {
        let taken = entry
            .state
            .transition(state, ContractState::Evicted)
            .is_ok()
            && matches!(
                map.remove_if(&entry.key, |_, v| Arc::ptr_eq(v, entry)),
                Ok(Some(_))
            );
        if taken {
            self.unpublish(entry, None);
        }
        taken
    }

    fn count_evicted(&self, n: usize) {
        self.len.fetch_sub(n, Ordering::Relaxed);
        self.evicted.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Every entry in the store now.
    pub fn entries(&self) -> Vec<Arc<Entry<C>>> {
        self.map.pin().values().cloned().collect()
    }

    /// How many entries the store holds (slots taken).
    #[cfg(test)]
    pub fn count(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    /// How many entries have been evicted.
    pub fn evicted(&self) -> u64 {
        self.evicted.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests;
