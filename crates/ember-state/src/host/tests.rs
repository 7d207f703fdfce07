use super::*;
use crate::account::Account;
use crate::world::WorldState;
use ember_evm::{parse_hex, Interpreter, EMPTY_CODE_HASH, U256};

fn a(n: u8) -> Address {
    let mut x = [0u8; 20];
    x[19] = n;
    x[0] = 0xaa;
    Address(x)
}

fn w(n: u8) -> B256 {
    let mut x = [0u8; 32];
    x[31] = n;
    B256(x)
}

fn hex_addr(s: &str) -> Address {
    Address::from_hex(s).unwrap()
}

/// Runs `f` with a host over `world` in revision `rev`, then ends the transaction.
fn with_host<R>(
    world: &mut WorldState,
    rev: Revision,
    f: impl FnOnce(&mut StateHost<'_, '_>) -> R,
) -> R {
    let block = BlockEnv {
        number: 1,
        gas_limit: 30_000_000,
        ..BlockEnv::default()
    };
    let mut host = StateHost::new(
        TxState::new(world),
        rev,
        &Interpreter,
        &block,
        TxContext::default(),
        None,
    );
    let r = f(&mut host);
    host.tx.finish(rev);
    r
}

fn call_msg(sender: Address, to: Address, gas: i64) -> Message<'static> {
    Message {
        kind: CallKind::Call,
        flags: 0,
        depth: 1,
        gas,
        recipient: to,
        sender,
        input: &[],
        value: U256::ZERO,
        create2_salt: B256::ZERO,
        code_address: to,
    }
}

fn create_msg(sender: Address, init_code: &[u8], gas: i64) -> Message<'_> {
    Message {
        kind: CallKind::Create,
        recipient: Address::ZERO,
        code_address: Address::ZERO,
        input: init_code,
        ..call_msg(sender, Address::ZERO, gas)
    }
}

#[test]
fn create_address_vectors() {
    // Widely published vectors for sender 0x6ac7…dbf0 and nonces 0..3.
    let sender = hex_addr("0x6ac7ea33f8831ea9dcc53393aaa88b25a785dbf0");
    let want = [
        "0xcd234a471b72ba2f1ccf0a70fcaba648a5eecd8d",
        "0x343c43a37d37dff08ae8c4a11544c718abb4fcf8",
        "0xf778b86fa74e846c4f0a1fbd1335fe81c00a0c91",
        "0xfffd933a0bc612844eaf0c6fe3e5b8e9b6c1d19c",
    ];
    for (nonce, want) in want.iter().enumerate() {
        assert_eq!(create_address(&sender, nonce as u64), hex_addr(want));
    }
}

#[test]
fn create2_address_vectors_from_eip1014() {
    let zero = Address::ZERO;
    assert_eq!(
        create2_address(&zero, &B256::ZERO, &[0x00]),
        hex_addr("0x4D1A2e2bB4F88F0250f26Ffff098B0b30B26BF38")
    );
    assert_eq!(
        create2_address(
            &hex_addr("0xdeadbeef00000000000000000000000000000000"),
            &B256::ZERO,
            &[0x00]
        ),
        hex_addr("0xB928f69Bb1D91Cd65274e3c79d8986362984fDA3")
    );
    assert_eq!(
        create2_address(
            &hex_addr("0x00000000000000000000000000000000deadbeef"),
            &B256::from_hex_padded("0xcafebabe").unwrap(),
            &parse_hex("0xdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeef").unwrap()
        ),
        hex_addr("0x1d8bfDC5D46DC4f61D6b6115972536eBE6A8854C")
    );
    assert_eq!(
        create2_address(&zero, &B256::ZERO, &[]),
        hex_addr("0xE33C0C7F7df4809055C3ebA6c09CFe4BaF1BD9e0")
    );
}

#[test]
fn storage_status_round_trip_through_set_storage() {
    use StorageStatus::*;
    let mut world = WorldState::new();
    let mut acc = Account {
        nonce: 1,
        ..Account::default()
    };
    acc.storage.insert(w(1), w(1));
    world.insert(a(1), acc);
    with_host(&mut world, Revision::Cancun, |h| {
        // Slot 1 starts at X = 1; slot 2 at 0. (original, current, new) → status, from
        // the EVMC storage-status table.
        let steps = [
            (1, 1, Assigned),         // X → X → X
            (1, 2, Modified),         // X → X → Z
            (1, 1, ModifiedRestored), // X → Y → X
            (1, 0, Deleted),          // X → X → 0
            (1, 3, DeletedAdded),     // X → 0 → Z
            (1, 0, ModifiedDeleted),  // X → Y → 0
            (1, 1, DeletedRestored),  // X → 0 → X
            (2, 5, Added),            // 0 → 0 → Z
            (2, 6, Assigned),         // 0 → Y → Z
            (2, 0, AddedDeleted),     // 0 → Y → 0
        ];
        for (slot, value, want) in steps {
            assert_eq!(
                h.set_storage(&a(1), &w(slot), &w(value)),
                want,
                "slot {slot} := {value}"
            );
            assert_eq!(h.get_storage(&a(1), &w(slot)), w(value));
        }
    });
    assert_eq!(world.get(&a(1)).unwrap().storage.get(&w(1)), Some(&w(1)));
    assert_eq!(world.get(&a(1)).unwrap().storage.get(&w(2)), None);
}

#[test]
fn existence_and_code_hash_follow_eip161_and_eip1052() {
    let mut world = WorldState::new();
    world.insert(a(1), Account::default());
    world.insert(
        a(2),
        Account {
            balance: U256::from(1),
            ..Account::default()
        },
    );
    let code: Arc<[u8]> = Arc::from(&[0x00u8][..]);
    world.insert(
        a(3),
        Account {
            code: code.clone(),
            ..Account::default()
        },
    );
    with_host(&mut world.clone(), Revision::TangerineWhistle, |h| {
        assert!(
            h.account_exists(&a(1)),
            "an empty account exists before EIP-161"
        );
        assert!(!h.account_exists(&a(9)));
    });
    with_host(&mut world, Revision::Cancun, |h| {
        assert!(
            !h.account_exists(&a(1)),
            "an empty account is dead from EIP-161"
        );
        assert!(h.account_exists(&a(2)));
        assert_eq!(h.get_code_hash(&a(9)), B256::ZERO);
        assert_eq!(h.get_code_hash(&a(1)), B256::ZERO);
        assert_eq!(h.get_code_hash(&a(2)), EMPTY_CODE_HASH);
        assert_eq!(h.get_code_hash(&a(3)), keccak256(&code));
        assert_eq!(h.get_code_size(&a(3)), 1);
        let mut buf = [0xffu8; 4];
        assert_eq!(h.copy_code(&a(3), 0, &mut buf), 1);
        assert_eq!(buf, [0x00, 0xff, 0xff, 0xff]);
        assert_eq!(h.copy_code(&a(3), 5, &mut buf), 0);
    });
}

#[test]
fn warm_and_cold_access() {
    let mut world = WorldState::new();
    let precompile = hex_addr("0x0000000000000000000000000000000000000001");
    with_host(&mut world, Revision::Berlin, |h| {
        assert_eq!(h.access_account(&a(1)), AccessStatus::Cold);
        assert_eq!(h.access_account(&a(1)), AccessStatus::Warm);
        assert_eq!(h.access_account(&precompile), AccessStatus::Warm);
        assert_eq!(h.access_storage(&a(1), &w(1)), AccessStatus::Cold);
        assert_eq!(h.access_storage(&a(1), &w(1)), AccessStatus::Warm);
        assert_eq!(h.access_storage(&a(2), &w(1)), AccessStatus::Cold);
    });
    with_host(&mut world, Revision::Istanbul, |h| {
        h.access_account(&a(1));
        assert_eq!(
            h.access_account(&a(1)),
            AccessStatus::Cold,
            "no warmth before Berlin"
        );
    });
}

#[test]
fn selfdestruct_before_and_after_eip6780() {
    let rich = Account {
        nonce: 1,
        balance: U256::from(10),
        code: Arc::from(&[0u8][..]),
        ..Account::default()
    };
    let mut world = WorldState::new();
    world.insert(a(1), rich.clone());
    with_host(&mut world, Revision::Shanghai, |h| {
        assert!(h.selfdestruct(&a(1), &a(2)), "first registration");
        assert!(!h.selfdestruct(&a(1), &a(2)));
    });
    assert!(
        world.get(&a(1)).is_none(),
        "destroyed at the end of the transaction"
    );
    assert_eq!(world.get(&a(2)).unwrap().balance, U256::from(10));

    let mut world = WorldState::new();
    world.insert(a(1), rich.clone());
    with_host(&mut world, Revision::Cancun, |h| {
        assert!(
            !h.selfdestruct(&a(1), &a(1)),
            "not created in this transaction"
        );
    });
    assert_eq!(
        world.get(&a(1)),
        Some(&rich),
        "kept, balance included, when it names itself"
    );

    let mut world = WorldState::new();
    world.insert(a(1), rich);
    with_host(&mut world, Revision::Shanghai, |h| {
        h.selfdestruct(&a(1), &a(1));
    });
    assert!(
        world.get(&a(1)).is_none(),
        "destroyed and its balance burned"
    );
}

#[test]
fn failed_frame_is_undone_except_the_ripemd_touch() {
    // Both precompiles exist as empty accounts; a call with no gas fails in each.
    let ripemd = RIPEMD_ADDRESS;
    let identity = hex_addr("0x0000000000000000000000000000000000000004");
    let mut world = WorldState::new();
    world.insert(ripemd, Account::default());
    world.insert(identity, Account::default());
    world.insert(
        a(1),
        Account {
            nonce: 1,
            ..Account::default()
        },
    );
    with_host(&mut world, Revision::Cancun, |h| {
        assert_eq!(
            h.call(&call_msg(a(1), ripemd, 0)).status,
            StatusCode::OutOfGas
        );
        assert_eq!(
            h.call(&call_msg(a(1), identity, 0)).status,
            StatusCode::OutOfGas
        );
    });
    assert!(
        world.get(&ripemd).is_none(),
        "the touch of 0x03 survives the revert"
    );
    assert!(
        world.get(&identity).is_some(),
        "the touch of 0x04 is reverted"
    );

    // A call with value does not touch (the recipient cannot end up empty), so a failed
    // one leaves the empty 0x03 alone.
    let mut world = WorldState::new();
    world.insert(ripemd, Account::default());
    world.insert(
        a(1),
        Account {
            nonce: 1,
            balance: U256::from(5),
            ..Account::default()
        },
    );
    let paying = Message {
        value: U256::from(1),
        ..call_msg(a(1), ripemd, 0)
    };
    let r = with_host(&mut world, Revision::Cancun, |h| h.call(&paying));
    assert_eq!(r.status, StatusCode::OutOfGas);
    assert_eq!(world.get(&ripemd), Some(&Account::default()));
    assert_eq!(
        world.get(&a(1)).unwrap().balance,
        U256::from(5),
        "value transfer undone"
    );
}

#[test]
fn call_to_missing_account_creates_it_only_before_spurious_dragon() {
    for (rev, kept) in [
        (Revision::TangerineWhistle, true),
        (Revision::SpuriousDragon, false),
    ] {
        let mut world = WorldState::new();
        world.insert(
            a(1),
            Account {
                nonce: 1,
                ..Account::default()
            },
        );
        let r = with_host(&mut world, rev, |h| h.call(&call_msg(a(1), a(2), 100)));
        assert_eq!(
            (r.status, r.gas_left),
            (StatusCode::Success, 100),
            "empty code succeeds"
        );
        assert_eq!(world.get(&a(2)).is_some(), kept, "{rev}");
    }
}

/// Init code returning one byte `b`: PUSH1 b PUSH1 0 MSTORE8 PUSH1 1 PUSH1 0 RETURN.
fn init_returning(b: u8) -> Vec<u8> {
    vec![0x60, b, 0x60, 0x00, 0x53, 0x60, 0x01, 0x60, 0x00, 0xf3]
}

#[test]
fn create_deposits_code_and_bumps_nonces() {
    let mut world = WorldState::new();
    world.insert(
        a(1),
        Account {
            nonce: 7,
            code: Arc::from(&[0u8][..]),
            ..Account::default()
        },
    );
    let init = init_returning(0xfe);
    let r = with_host(&mut world, Revision::Cancun, |h| {
        h.call(&create_msg(a(1), &init, 100_000))
    });
    let addr = create_address(&a(1), 7);
    assert_eq!(r.status, StatusCode::Success);
    assert_eq!(r.create_address, Some(addr));
    assert!(r.output.is_empty());
    // Execution: 3+3+(3+3 memory)+3+3 = 18, then 200 for the one deployed byte.
    assert_eq!(r.gas_left, 100_000 - 18 - 200);
    assert_eq!(world.get(&a(1)).unwrap().nonce, 8);
    let created = world.get(&addr).unwrap();
    assert_eq!((created.nonce, &*created.code), (1, &[0xfe][..]));
}

#[test]
fn code_starting_with_ef_is_rejected_from_london() {
    let init = init_returning(0xef);
    for (rev, ok) in [(Revision::Berlin, true), (Revision::London, false)] {
        let mut world = WorldState::new();
        world.insert(
            a(1),
            Account {
                nonce: 1,
                ..Account::default()
            },
        );
        let r = with_host(&mut world, rev, |h| {
            h.call(&create_msg(a(1), &init, 100_000))
        });
        assert_eq!(r.status == StatusCode::Success, ok, "{rev}");
        assert_eq!(world.get(&create_address(&a(1), 1)).is_some(), ok);
        assert_eq!(
            world.get(&a(1)).unwrap().nonce,
            2,
            "the nonce bump is not undone"
        );
    }
}

#[test]
fn code_size_limit_from_spurious_dragon() {
    // PUSH2 0x6001 PUSH1 0 RETURN: returns 24577 zero bytes, one over EIP-170's limit.
    let init = [0x61, 0x60, 0x01, 0x60, 0x00, 0xf3];
    for (rev, ok) in [
        (Revision::TangerineWhistle, true),
        (Revision::SpuriousDragon, false),
    ] {
        let mut world = WorldState::new();
        world.insert(
            a(1),
            Account {
                nonce: 1,
                ..Account::default()
            },
        );
        let r = with_host(&mut world, rev, |h| {
            h.call(&create_msg(a(1), &init, 10_000_000))
        });
        assert_eq!(r.status == StatusCode::Success, ok, "{rev}");
    }
}

#[test]
fn frontier_keeps_a_codeless_contract_when_the_deposit_runs_out_of_gas() {
    // PUSH1 1 PUSH1 0 RETURN costs 9 gas; 100 gas leaves 91, short of the 200 deposit.
    let init = [0x60, 0x01, 0x60, 0x00, 0xf3];
    for (rev, ok) in [(Revision::Frontier, true), (Revision::Homestead, false)] {
        let mut world = WorldState::new();
        world.insert(
            a(1),
            Account {
                nonce: 1,
                ..Account::default()
            },
        );
        let r = with_host(&mut world, rev, |h| h.call(&create_msg(a(1), &init, 100)));
        let addr = create_address(&a(1), 1);
        if ok {
            assert_eq!((r.status, r.gas_left), (StatusCode::Success, 91));
            assert_eq!(world.get(&addr), Some(&Account::default()));
        } else {
            assert_eq!((r.status, r.gas_left), (StatusCode::OutOfGas, 0));
            assert!(world.get(&addr).is_none());
        }
    }
}

#[test]
fn create_collision_consumes_all_gas() {
    let target = create_address(&a(1), 1);
    for taken in [
        Account {
            nonce: 1,
            ..Account::default()
        },
        Account {
            code: Arc::from(&[0u8][..]),
            ..Account::default()
        },
        Account {
            storage: [(w(1), w(1))].into_iter().collect(),
            ..Account::default()
        },
    ] {
        let mut world = WorldState::new();
        world.insert(
            a(1),
            Account {
                nonce: 1,
                ..Account::default()
            },
        );
        world.insert(target, taken.clone());
        let r = with_host(&mut world, Revision::Cancun, |h| {
            h.call(&create_msg(a(1), &init_returning(0), 1000))
        });
        assert_eq!((r.status, r.gas_left), (StatusCode::Failure, 0));
        assert_eq!(world.get(&target), Some(&taken));
        assert_eq!(world.get(&a(1)).unwrap().nonce, 2);
    }
    // A balance alone is no collision: the new contract keeps it.
    let mut world = WorldState::new();
    world.insert(
        a(1),
        Account {
            nonce: 1,
            ..Account::default()
        },
    );
    world.insert(
        target,
        Account {
            balance: U256::from(5),
            ..Account::default()
        },
    );
    let r = with_host(&mut world, Revision::Cancun, |h| {
        h.call(&create_msg(a(1), &init_returning(0), 1000))
    });
    assert_eq!(r.status, StatusCode::Success);
    assert_eq!(world.get(&target).unwrap().balance, U256::from(5));
}

#[test]
fn create_with_maximum_nonce_fails_without_consuming_gas() {
    let mut world = WorldState::new();
    world.insert(
        a(1),
        Account {
            nonce: u64::MAX,
            ..Account::default()
        },
    );
    let r = with_host(&mut world, Revision::Cancun, |h| {
        h.call(&create_msg(a(1), &init_returning(0), 1000))
    });
    assert_eq!((r.status, r.gas_left), (StatusCode::Failure, 1000));
    assert_eq!(world.get(&a(1)).unwrap().nonce, u64::MAX);
}
