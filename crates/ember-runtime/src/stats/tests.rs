use super::*;
use ember_evm::{Address, Revision};
use ember_profile::report::UnitLabel;
use ember_profile::{TierTotals, UnitId};

fn sample() -> Stats {
    Stats {
        tier: Tier::Auto,
        contracts: vec![ContractStats {
            profile: UnitReport {
                id: UnitId(1),
                label: UnitLabel {
                    code_hash: B256([0xab; 32]),
                    address: Address([0xcd; 20]),
                    revision: Revision::Cancun,
                },
                interp: TierTotals {
                    calls: 3,
                    gas: 30,
                    ..TierTotals::default()
                },
                jit: TierTotals {
                    calls: 4,
                    gas: 40,
                    ..TierTotals::default()
                },
                side_exits: 6,
                // The most frequent first, as the profiler sorts them.
                exit_sites: vec![ExitSite { pc: 40, count: 3 }, ExitSite { pc: 17, count: 1 }],
                compile_ns: 1_500_000,
                versions: 2,
            },
            code_size: 100,
            state: ContractState::Rejected,
            rejection: Some("too small".into()),
            invalidations: 1,
            speculative: Some(false),
            level: Some(OptLevel::O1),
            code_bytes: Some(8192),
            side_exits_elsewhere: 2,
        }],
        pool: PoolStats {
            workers: 2,
            queued: 5,
            pending: 1,
            dropped: 2,
            completed: 3,
            failed: 1,
            cancelled: 0,
        },
        cache: CacheStats {
            budget_bytes: 1 << 20,
            published_bytes: 8192,
            resident_bytes: 12288,
            evicted: 4,
            idle_evicted: 1,
            invalidated: 1,
            discarded: 0,
            discards: 0,
            too_large: 0,
            heap_full: 0,
            tiered_up: 3,
            tier_ups_lost: 1,
        },
        evicted: 6,
        unprofiled: 7,
        collisions: 0,
    }
}

#[test]
fn json_has_the_documented_fields() {
    let v = sample().to_json();
    assert_eq!(v["tier"], "auto");
    let c = &v["contracts"][0];
    assert_eq!(c["codeHash"], format!("0x{}", "ab".repeat(32)));
    assert_eq!(c["revision"], "cancun");
    assert_eq!(c["state"], "rejected: too small");
    assert_eq!(
        (c["calls"].as_u64(), c["callsJit"].as_u64()),
        (Some(7), Some(4))
    );
    assert_eq!(
        (c["gasInterp"].as_u64(), c["gasJit"].as_u64()),
        (Some(30), Some(40))
    );
    assert_eq!(c["compileNs"], 1_500_000);
    assert_eq!(
        (c["versions"].as_u64(), c["invalidations"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(c["speculative"], false);
    assert_eq!(c["level"], "O1");
    assert_eq!(c["codeBytes"], 8192);
    assert_eq!(c["sideExits"][0]["pc"], 17, "by pc");
    assert_eq!(c["sideExits"][0]["count"], 1);
    assert_eq!(c["sideExits"][1]["count"], 3);
    assert_eq!(c["sideExitsElsewhere"], 2);
    let k = &v["codeCache"];
    assert_eq!(k["budgetBytes"], 1 << 20);
    assert_eq!(k["residentBytes"], 12288);
    assert_eq!(k["idleEvicted"], 1);
    assert_eq!(
        (k["tieredUp"].as_u64(), k["tierUpsLost"].as_u64()),
        (Some(3), Some(1))
    );
    let p = &v["pool"];
    for (k, n) in [
        ("queued", 5),
        ("dropped", 2),
        ("completed", 3),
        ("failed", 1),
    ] {
        assert_eq!(p[k].as_u64(), Some(n), "{k}");
    }
    assert_eq!(v["evicted"], 6);
    assert_eq!(v["unprofiled"], 7);
}

#[test]
fn text_table_lists_contracts_and_totals() {
    let t = sample().to_text(10);
    assert!(t.starts_with("runtime: tier auto, 1 contract(s)\n"), "{t}");
    assert!(t.contains("0xababababababab.. cancun    "), "{t}");
    assert!(
        t.contains("1.500    2        6  rejected: too small O1"),
        "{t}"
    );
    assert!(
        t.contains(
            "code cache: 8192 of 1048576 bytes published, 12288 resident; 4 evicted, 1 idle"
        ),
        "{t}"
    );
    assert!(
        t.contains("pool: 2 worker(s), 5 queued, 1 pending, 2 dropped, 3 completed, 1 failed"),
        "{t}"
    );
    assert!(t.contains("; 3 tiered up, 1 tier-up(s) lost\n"), "{t}");
    let short = sample().to_text(0);
    assert!(short.contains("(1 more)"), "{short}");
}

#[test]
fn states_describe_themselves() {
    let mut c = sample().contracts.remove(0);
    assert_eq!(c.describe_state(), "rejected: too small");
    for (state, name) in [
        (ContractState::Cold, "cold"),
        (ContractState::Queued, "queued"),
        (ContractState::Compiling, "compiling"),
        (ContractState::Compiled, "compiled"),
    ] {
        c.state = state;
        c.rejection = None;
        assert_eq!(c.describe_state(), name);
    }
}
