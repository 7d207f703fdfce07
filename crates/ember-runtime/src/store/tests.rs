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
    Entry::new(k, &[0x00], Window::new(4, 10), UnitId(1))
}

/// A version's origin where it does not matter.
const O0: Origin = Origin {
    level: OptLevel::O0,
    compile_ns: 0,
    jit_ns_before: 0,
};

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
    let s: Store<()> = Store::new(8, EvictionWait::Never);
    s.get_or_insert(k, 0, || entry(k)).unwrap();
    assert!(!has(&s, &other_rev));
    assert!(has(&s, &k));
}

#[test]
fn the_same_key_gets_one_entry() {
    let s: Store<()> = Store::new(8, EvictionWait::Never);
    let a = s.get_or_insert(key(1), 0, || entry(key(1))).unwrap();
    let b = s
        .get_or_insert(key(1), 0, || panic!("must not be made"))
        .unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    assert_eq!(s.count(), 1);
}

#[test]
fn a_full_store_evicts_the_coldest_and_keeps_entries_held_by_compile_jobs() {
    // 16 entries: an eviction takes the coldest two.
    let s: Store<()> = Store::new(16, EvictionWait::Never);
    let mut entries = Vec::new();
    for n in 0..16 {
        let e = s.get_or_insert(key(n), 0, || entry(key(n))).unwrap();
        // Entry n had n + 1 calls in the window (entries 0 and 1 are the coldest).
        for _ in 0..=n {
            e.observe(5);
            ember_profile::timing::frame(&e.unit, e.id, ember_profile::Tier::Interp, None, || {
                ((), 0)
            });
        }
        entries.push(e);
    }
    // The two coldest are held by compile jobs; the next two are compiled and rejected.
    entries[0].state.store(ContractState::Queued);
    entries[1].state.store(ContractState::Compiling);
    entries[2].state.store(ContractState::Compiled);
    entries[3].state.store(ContractState::Rejected);
    assert!(s.get_or_insert(key(100), 5, || entry(key(100))).is_some());
    assert_eq!(s.evicted(), 2);
    assert_eq!(s.count(), 15);
    for n in [0, 1, 4, 100] {
        assert!(has(&s, &key(n)), "{n} was kept");
    }
    for n in [2, 3] {
        assert!(!has(&s, &key(n)), "{n} was evicted");
        assert_eq!(entries[n as usize].state(), ContractState::Evicted);
    }
}

#[test]
fn ties_in_the_window_go_to_the_least_recently_used() {
    let s: Store<()> = Store::new(8, EvictionWait::Never);
    for n in 0..8u8 {
        let e = s.get_or_insert(key(n), 0, || entry(key(n))).unwrap();
        e.last_used.ms.store(100 - u64::from(n), Ordering::Relaxed);
    }
    s.get_or_insert(key(9), 200, || entry(key(9))).unwrap();
    // Nothing is in anyone's window at 200 ms; entry 7 was used longest ago.
    assert!(!has(&s, &key(7)));
    assert_eq!(s.count(), 8);
}

#[test]
fn a_store_of_entries_held_by_compile_jobs_refuses_new_ones() {
    for wait in [EvictionWait::Never, EvictionWait::Wait] {
        let s: Store<()> = Store::new(2, wait);
        for (n, state) in [(0, ContractState::Queued), (1, ContractState::Compiling)] {
            let e = s.get_or_insert(key(n), 0, || entry(key(n))).unwrap();
            e.state.store(state);
        }
        assert!(s.get_or_insert(key(5), 0, || entry(key(5))).is_none());
        assert_eq!((s.count(), s.evicted()), (2, 0));
    }
}

#[test]
fn evicting_a_compiled_entry_unpublishes_its_code_and_frees_it_after_the_last_reader() {
    let s: Store<()> = Store::new(1, EvictionWait::Never);
    let e = s.get_or_insert(key(0), 0, || entry(key(0))).unwrap();
    let v = Arc::new(Version::new(
        (),
        1,
        false,
        O0,
        1000,
        Arc::clone(&s.resident_bytes),
    ));
    s.publish(&e, v);
    e.state.store(ContractState::Compiled);
    assert_eq!(s.published_bytes.load(Ordering::SeqCst), 1000);
    // A frame inside the version.
    let running = e.code.load_full().unwrap();
    assert!(s.get_or_insert(key(1), 0, || entry(key(1))).is_some());
    assert_eq!(e.state(), ContractState::Evicted);
    assert!(e.code.load().is_none(), "unpublished");
    assert_eq!(s.published_bytes.load(Ordering::SeqCst), 0);
    assert_eq!(
        s.resident_bytes.load(Ordering::SeqCst),
        1000,
        "still running"
    );
    drop(running);
    assert_eq!(s.resident_bytes.load(Ordering::SeqCst), 0, "freed");
}

#[test]
fn of_racing_unpublishes_of_one_version_exactly_one_wins() {
    let s: Store<()> = Store::new(4, EvictionWait::Never);
    let e = s.get_or_insert(key(0), 0, || entry(key(0))).unwrap();
    for round in 0..100 {
        let v = Arc::new(Version::new(
            (),
            round,
            true,
            O0,
            64,
            Arc::clone(&s.resident_bytes),
        ));
        s.publish(&e, Arc::clone(&v));
        let wins = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    if s.unpublish(&e, Some(&v)).is_some() {
                        wins.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        });
        assert_eq!(wins.into_inner(), 1);
        assert_eq!(s.published_bytes.load(Ordering::SeqCst), 0);
        // An unpublish that names a version no longer published takes nothing.
        let w = Arc::new(Version::new(
            (),
            0,
            true,
            O0,
            8,
            Arc::clone(&s.resident_bytes),
        ));
        s.publish(&e, Arc::clone(&w));
        assert!(s.unpublish(&e, Some(&v)).is_none());
        assert!(s.unpublish(&e, None).is_some());
    }
    assert_eq!(s.resident_bytes.load(Ordering::SeqCst), 0);
}

#[test]
fn concurrent_inserts_never_exceed_the_bound() {
    let s: Store<()> = Store::new(32, EvictionWait::Never);
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

#[test]
fn a_replacement_racing_unpublishes_of_the_old_version_takes_it_or_nothing() {
    let s: Store<()> = Store::new(4, EvictionWait::Never);
    let e = s.get_or_insert(key(0), 0, || entry(key(0))).unwrap();
    let version = |bytes| {
        Arc::new(Version::new(
            (),
            1,
            false,
            O0,
            bytes,
            Arc::clone(&s.resident_bytes),
        ))
    };
    for _ in 0..100 {
        let old = version(100);
        s.publish(&e, Arc::clone(&old));
        let new = version(300);
        let (replaced, unpublished) = std::thread::scope(|scope| {
            let r = scope.spawn(|| s.replace(&e, &old, Arc::clone(&new)));
            let u = scope.spawn(|| s.unpublish(&e, Some(&old)).is_some());
            (r.join().unwrap(), u.join().unwrap())
        });
        assert!(replaced != unpublished, "exactly one takes the old version");
        let published = e.code.load_full();
        if replaced {
            assert!(Arc::ptr_eq(published.as_ref().unwrap(), &new));
            assert_eq!(s.published_bytes.load(Ordering::SeqCst), 300);
            assert!(s.unpublish(&e, None).is_some());
        } else {
            assert!(published.is_none());
        }
        assert_eq!(s.published_bytes.load(Ordering::SeqCst), 0);
        // A replacement of a version no longer published changes nothing.
        assert!(!s.replace(&e, &old, Arc::clone(&new)));
        assert!(e.code.load().is_none());
    }
    assert_eq!(s.resident_bytes.load(Ordering::SeqCst), 0);
}
