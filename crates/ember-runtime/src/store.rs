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
//! The store is bounded by `jit.max-profiles`. When it is full, the coldest entries that may
//! be evicted go first, an eighth of the bound at a time so that the scan is paid rarely:
//! coldest means fewest calls within the window, then least recently used. In `auto` only
//! entries still profiling (`cold`) are evicted; entries holding compiled code or a rejection,
//! or waiting for a compile, stay. In `jit`, where every entry is compiled on its first run and
//! compiling again is what that tier does anyway, compiled and rejected entries are evicted
//! too (their code is freed when the last running frame leaves it). When nothing can be
//! evicted the call runs in the interpreter without an entry.

use crate::window::Window;
use ember_evm::{CodeAnalysis, Revision, B256};
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, TryLockError};

/// The profiler counts the contract's calls in the window.
pub const COLD: u8 = 0;
/// A compile request waits in the pool's queue.
pub const QUEUED: u8 = 1;
/// A compile is running.
pub const COMPILING: u8 = 2;
/// Compiled code is published.
pub const COMPILED: u8 = 3;
/// The contract runs in the interpreter for good.
pub const REJECTED: u8 = 4;
/// Removed from the store (threads still holding the entry keep using it).
pub const EVICTED: u8 = 5;

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

/// What became of a compile.
#[derive(Debug)]
pub enum Outcome<C> {
    Compiled(Arc<C>),
    /// Interpreter only, with the reason.
    Rejected(String),
}

/// Counters of one entry, written on every call: kept on their own cache line, away from the
/// fields every call only reads.
#[derive(Debug, Default)]
#[repr(align(64))]
pub struct Counters {
    pub calls_interp: AtomicU64,
    pub calls_jit: AtomicU64,
    pub gas_interp: AtomicU64,
    pub gas_jit: AtomicU64,
    /// The clock at the last profiled call (what eviction calls "recently used").
    pub last_used_ms: AtomicU64,
    /// Wall time of the compile.
    pub compile_ns: AtomicU64,
}

/// Everything the runtime knows about one (code, revision).
#[derive(Debug)]
pub struct Entry<C> {
    pub key: Key,
    /// The code and its jumpdest analysis, built once; shared with compile jobs and compiled
    /// code.
    pub analysis: Arc<CodeAnalysis>,
    /// One of [`COLD`] … [`EVICTED`].
    pub state: AtomicU8,
    /// Written once, by the one compile of this entry: `OnceLock::set` stores the outcome and
    /// then publishes it with one release store; `get` is one acquire load. Never cleared
    /// while the entry lives, so a frame that read it may run the code for as long as it
    /// holds the entry.
    pub outcome: OnceLock<Outcome<C>>,
    pub window: Window,
    pub counters: Counters,
}

impl<C> Entry<C> {
    /// A fresh, cold entry.
    pub fn new(key: Key, code: &[u8], window: Window) -> Self {
        Entry {
            key,
            analysis: Arc::new(CodeAnalysis::new(code)),
            state: AtomicU8::new(COLD),
            outcome: OnceLock::new(),
            window,
            counters: Counters::default(),
        }
    }

    /// The entry's state.
    pub fn state(&self) -> u8 {
        self.state.load(Ordering::Acquire)
    }

    /// The published compiled code, if any (one acquire load).
    #[inline]
    pub fn compiled(&self) -> Option<&Arc<C>> {
        match self.outcome.get() {
            Some(Outcome::Compiled(c)) => Some(c),
            _ => None,
        }
    }
}

/// Which entries eviction may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvictionPolicy {
    /// Only entries still profiling.
    ColdOnly,
    /// Also compiled and rejected entries (the `jit` tier).
    AlsoCompiled,
}

impl EvictionPolicy {
    fn allows(self, state: u8) -> bool {
        match self {
            EvictionPolicy::ColdOnly => state == COLD,
            EvictionPolicy::AlsoCompiled => matches!(state, COLD | COMPILED | REJECTED),
        }
    }
}

/// The bounded, lock-free map of entries.
pub struct Store<C> {
    map: papaya::HashMap<Key, Arc<Entry<C>>, BuildKeyHasher>,
    /// Entries in the map, counted by reservation so the bound is never exceeded.
    len: AtomicUsize,
    max: usize,
    policy: EvictionPolicy,
    /// Held by the one thread evicting; others do not wait for it.
    evicting: Mutex<()>,
    evicted: AtomicU64,
}

impl<C> Store<C> {
    /// An empty store of at most `max` entries (at least one).
    pub fn new(max: usize, policy: EvictionPolicy) -> Self {
        Store {
            map: papaya::HashMap::builder().hasher(BuildKeyHasher).build(),
            len: AtomicUsize::new(0),
            max: max.max(1),
            policy,
            evicting: Mutex::new(()),
            evicted: AtomicU64::new(0),
        }
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

    /// Evicts the coldest eighth of the bound among the entries the policy allows. Returns
    /// whether there is room now. If another thread is evicting, `auto` (which never makes a
    /// call wait) returns false at once; `jit` (whose calls wait for compiles anyway) waits
    /// for it, so that every frame of that tier runs compiled.
    fn evict(&self, now_ms: u64) -> bool {
        // The lock guards no data; a panic elsewhere while holding it changes nothing.
        let _guard = match self.policy {
            EvictionPolicy::ColdOnly => match self.evicting.try_lock() {
                Ok(g) => g,
                Err(TryLockError::Poisoned(p)) => p.into_inner(),
                Err(TryLockError::WouldBlock) => return false,
            },
            EvictionPolicy::AlsoCompiled => {
                let g = self.evicting.lock().unwrap_or_else(|e| e.into_inner());
                if self.len.load(Ordering::Relaxed) < self.max {
                    // The thread that held the lock made room.
                    return true;
                }
                g
            }
        };
        let map = self.map.pin();
        let mut candidates: Vec<(u64, u64, u8, &Arc<Entry<C>>)> = map
            .values()
            .filter_map(|e| {
                let state = e.state();
                self.policy.allows(state).then(|| {
                    let calls = e.window.activity(now_ms).calls;
                    let last = e.counters.last_used_ms.load(Ordering::Relaxed);
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
        let mut evicted = 0;
        for &(_, _, state, entry) in &candidates[..n] {
            // Losing this race means the entry moved on (queued for a compile, say): keep it.
            if entry
                .state
                .compare_exchange(state, EVICTED, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
                && matches!(
                    map.remove_if(&entry.key, |_, v| Arc::ptr_eq(v, entry)),
                    Ok(Some(_))
                )
            {
                evicted += 1;
            }
        }
        self.len.fetch_sub(evicted, Ordering::Relaxed);
        self.evicted.fetch_add(evicted as u64, Ordering::Relaxed);
        evicted > 0
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
mod tests {
    use super::*;

    fn key(n: u8) -> Key {
        let mut h = [0u8; 32];
        h[0] = n;
        h[31] = n;
        Key {
            id: CodeId::Keccak(B256(h)),
            rev: Revision::Cancun,
        }
    }

    fn entry(k: Key) -> Entry<()> {
        Entry::new(k, &[0x00], Window::new(4, 10))
    }

    fn has(s: &Store<()>, k: &Key) -> bool {
        s.get(k, &s.guard()).is_some()
    }

    #[test]
    fn keys_differ_by_identity_kind_and_revision() {
        let k = key(1);
        let other_rev = Key {
            rev: Revision::Prague,
            ..k
        };
        let fast = Key {
            id: CodeId::Fast(1),
            ..k
        };
        assert_ne!(k, other_rev);
        assert_ne!(k.fingerprint(), other_rev.fingerprint());
        assert_ne!(k.fingerprint(), fast.fingerprint());
        let s: Store<()> = Store::new(8, EvictionPolicy::ColdOnly);
        s.get_or_insert(k, 0, || entry(k)).unwrap();
        assert!(!has(&s, &other_rev));
        assert!(has(&s, &k));
    }

    #[test]
    fn the_same_key_gets_one_entry() {
        let s: Store<()> = Store::new(8, EvictionPolicy::ColdOnly);
        let a = s.get_or_insert(key(1), 0, || entry(key(1))).unwrap();
        let b = s
            .get_or_insert(key(1), 0, || panic!("must not be made"))
            .unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(s.count(), 1);
    }

    #[test]
    fn a_full_store_evicts_the_coldest_and_keeps_compiled_and_rejected() {
        // 16 entries: an eviction takes the coldest two.
        let s: Store<()> = Store::new(16, EvictionPolicy::ColdOnly);
        let mut entries = Vec::new();
        for n in 0..16 {
            let e = s.get_or_insert(key(n), 0, || entry(key(n))).unwrap();
            // Entry n had n + 1 calls in the window (entries 0 and 1 are the coldest).
            for _ in 0..=n {
                e.window.record(5, 1);
            }
            entries.push(e);
        }
        // The two coldest are not evictable.
        entries[0].state.store(COMPILED, Ordering::Relaxed);
        entries[1].state.store(REJECTED, Ordering::Relaxed);
        entries[5].state.store(QUEUED, Ordering::Relaxed);
        assert!(s.get_or_insert(key(100), 5, || entry(key(100))).is_some());
        assert_eq!(s.evicted(), 2);
        assert_eq!(s.count(), 15);
        for n in [0, 1, 5, 4, 100] {
            assert!(has(&s, &key(n)), "{n} was kept");
        }
        for n in [2, 3] {
            assert!(!has(&s, &key(n)), "{n} was evicted");
            assert_eq!(entries[n as usize].state(), EVICTED);
        }
    }

    #[test]
    fn ties_in_the_window_go_to_the_least_recently_used() {
        let s: Store<()> = Store::new(8, EvictionPolicy::ColdOnly);
        for n in 0..8u8 {
            let e = s.get_or_insert(key(n), 0, || entry(key(n))).unwrap();
            e.counters
                .last_used_ms
                .store(100 - u64::from(n), Ordering::Relaxed);
        }
        s.get_or_insert(key(9), 200, || entry(key(9))).unwrap();
        // Nothing is in anyone's window at 200 ms; entry 7 was used longest ago.
        assert!(!has(&s, &key(7)));
        assert_eq!(s.count(), 8);
    }

    #[test]
    fn a_store_of_unevictable_entries_refuses_new_ones() {
        let s: Store<()> = Store::new(2, EvictionPolicy::ColdOnly);
        for n in 0..2 {
            let e = s.get_or_insert(key(n), 0, || entry(key(n))).unwrap();
            e.state.store(COMPILED, Ordering::Relaxed);
        }
        assert!(s.get_or_insert(key(5), 0, || entry(key(5))).is_none());
        assert_eq!((s.count(), s.evicted()), (2, 0));
        // The jit tier's policy may take compiled entries.
        let s: Store<()> = Store::new(2, EvictionPolicy::AlsoCompiled);
        for n in 0..2 {
            let e = s.get_or_insert(key(n), 0, || entry(key(n))).unwrap();
            e.state.store(COMPILED, Ordering::Relaxed);
        }
        assert!(s.get_or_insert(key(5), 0, || entry(key(5))).is_some());
        assert_eq!((s.count(), s.evicted()), (2, 1));
    }

    #[test]
    fn concurrent_inserts_never_exceed_the_bound() {
        let s: Store<()> = Store::new(32, EvictionPolicy::ColdOnly);
        let inserted = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for t in 0..4u8 {
                let (s, inserted) = (&s, &inserted);
                scope.spawn(move || {
                    for i in 0..60u8 {
                        let k = key(t * 60 + i);
                        // The keys are distinct, so an entry returned is a new one. `None`
                        // happens when another thread is evicting just then.
                        if let Some(e) = s.get_or_insert(k, 0, || entry(k)) {
                            assert_eq!(e.key, k);
                            inserted.fetch_add(1, Ordering::Relaxed);
                        }
                        assert!(s.count() <= 32);
                    }
                });
            }
        });
        assert_eq!(s.entries().len(), s.count());
        assert!(s.count() <= 32);
        assert_eq!(
            s.evicted() as usize + s.count(),
            inserted.load(Ordering::Relaxed)
        );
    }
}
