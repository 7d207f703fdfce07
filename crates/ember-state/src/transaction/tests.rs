use super::*;
use crate::account::Account;
use ember_evm::{Interpreter, ALL_REVISIONS};

fn a(n: u8) -> Address {
    let mut x = [0u8; 20];
    x[0] = 0xee;
    x[19] = n;
    Address(x)
}

const SENDER: u8 = 1;
const COINBASE: u8 = 0xcb;
const ETHER: u64 = 1_000_000_000_000_000_000;

fn block() -> BlockEnv {
    BlockEnv {
        number: 1,
        gas_limit: 30_000_000,
        coinbase: a(COINBASE),
        base_fee: U256::from(7),
        chain_id: U256::from(1),
        ..BlockEnv::default()
    }
}

fn world() -> WorldState {
    let mut w = WorldState::new();
    w.insert(
        a(SENDER),
        Account {
            balance: U256::from(ETHER),
            ..Account::default()
        },
    );
    w
}

fn legacy(to: Option<Address>, data: &[u8]) -> Transaction {
    Transaction {
        sender: a(SENDER),
        to,
        gas_limit: 100_000,
        gas_price: U256::from(10),
        data: data.to_vec(),
        ..Transaction::default()
    }
}

#[test]
fn intrinsic_gas_per_revision() {
    use Revision::*;
    let call = legacy(Some(a(2)), &[]);
    for rev in ALL_REVISIONS {
        assert_eq!(intrinsic_gas(&call, rev), 21_000, "{rev}");
    }
    // One zero byte (4) and one non-zero byte: 68 before Istanbul (EIP-2028), 16 after.
    let data = legacy(Some(a(2)), &[0, 1]);
    assert_eq!(intrinsic_gas(&data, Petersburg), 21_000 + 4 + 68);
    assert_eq!(intrinsic_gas(&data, Istanbul), 21_000 + 4 + 16);
    // A create pays 32000 from Homestead, and 2 per init code word from Shanghai.
    let create = legacy(None, &[1; 33]);
    assert_eq!(intrinsic_gas(&create, Frontier), 21_000 + 33 * 68);
    assert_eq!(intrinsic_gas(&create, Homestead), 53_000 + 33 * 68);
    assert_eq!(intrinsic_gas(&create, Paris), 53_000 + 33 * 16);
    assert_eq!(intrinsic_gas(&create, Shanghai), 53_000 + 33 * 16 + 2 * 2);
    // Access list entries and authorizations.
    let mut tx = legacy(Some(a(2)), &[]);
    tx.access_list = vec![
        AccessListItem {
            address: a(3),
            storage_keys: vec![B256::ZERO, B256([1; 32])],
        },
        AccessListItem {
            address: a(4),
            storage_keys: vec![],
        },
    ];
    tx.authorization_list = vec![Authorization::default(), Authorization::default()];
    assert_eq!(
        intrinsic_gas(&tx, Prague),
        21_000 + 2 * 2_400 + 2 * 1_900 + 2 * 25_000
    );
}

#[test]
fn calldata_floor_from_prague() {
    let tx = legacy(Some(a(2)), &[0, 0, 5, 5]);
    assert_eq!(floor_data_gas(&tx, Revision::Cancun), 0);
    // Tokens: 2 zero bytes + 4 per non-zero byte = 10; floor = 21000 + 10 · 10.
    assert_eq!(floor_data_gas(&tx, Revision::Prague), 21_100);
    assert_eq!(intrinsic_gas(&tx, Revision::Prague), 21_000 + 40);
    // A limit between intrinsic gas and the floor is invalid.
    let tx = Transaction {
        gas_limit: 21_050,
        ..tx
    };
    let mut w = world();
    let err = transact(&mut w, &block(), &tx, Revision::Prague, &Interpreter, None);
    assert_eq!(
        err,
        Err(TxError::IntrinsicGasBelowFloor {
            gas_limit: 21_050,
            floor: 21_100
        })
    );
}

/// Asserts that `tx` is rejected with `want` in `rev` and that the state is untouched.
fn assert_rejected(
    mut state: WorldState,
    block: &BlockEnv,
    tx: &Transaction,
    rev: Revision,
    want: TxError,
) {
    let root = state.state_root();
    let got = transact(&mut state, block, tx, rev, &Interpreter, None);
    assert_eq!(got, Err(want), "{rev}");
    assert_eq!(state.state_root(), root);
}

#[test]
fn validation_rejects_invalid_transactions() {
    use Revision::*;
    let b = block();
    let ok = legacy(Some(a(2)), &[]);
    let dynamic = Transaction {
        tx_type: 2,
        max_fee_per_gas: U256::from(10),
        max_priority_fee_per_gas: U256::from(1),
        ..ok.clone()
    };
    assert_rejected(
        world(),
        &b,
        &dynamic,
        Berlin,
        TxError::TypeNotSupported { tx_type: 2 },
    );
    let typed = Transaction {
        tx_type: 1,
        ..ok.clone()
    };
    assert_rejected(
        world(),
        &b,
        &typed,
        Istanbul,
        TxError::TypeNotSupported { tx_type: 1 },
    );
    let unknown = Transaction {
        tx_type: 5,
        ..ok.clone()
    };
    assert_rejected(
        world(),
        &b,
        &unknown,
        Osaka,
        TxError::TypeNotSupported { tx_type: 5 },
    );
    let tip = Transaction {
        max_priority_fee_per_gas: U256::from(11),
        ..dynamic.clone()
    };
    assert_rejected(
        world(),
        &b,
        &tip,
        London,
        TxError::PriorityGreaterThanMaxFee,
    );
    let cheap = Transaction {
        gas_price: U256::from(6),
        ..ok.clone()
    };
    assert_rejected(
        world(),
        &b,
        &cheap,
        London,
        TxError::InsufficientMaxFeePerGas,
    );
    let big = Transaction {
        gas_limit: 30_000_001,
        ..ok.clone()
    };
    assert_rejected(
        world(),
        &b,
        &big,
        Cancun,
        TxError::GasAllowanceExceeded {
            gas_limit: 30_000_001,
            available: 30_000_000,
        },
    );
    let capped = Transaction {
        gas_limit: (1 << 24) + 1,
        ..ok.clone()
    };
    assert_rejected(
        world(),
        &b,
        &capped,
        Osaka,
        TxError::GasLimitExceedsMaximum {
            gas_limit: (1 << 24) + 1,
            max: 1 << 24,
        },
    );
    let early = Transaction {
        nonce: 1,
        ..ok.clone()
    };
    assert_rejected(
        world(),
        &b,
        &early,
        Cancun,
        TxError::NonceTooHigh {
            expected: 0,
            got: 1,
        },
    );
    let mut used = world();
    used.insert(
        a(SENDER),
        Account {
            nonce: 3,
            balance: U256::from(ETHER),
            ..Account::default()
        },
    );
    assert_rejected(
        used,
        &b,
        &ok,
        Cancun,
        TxError::NonceTooLow {
            expected: 3,
            got: 0,
        },
    );
    let mut maxed = world();
    maxed.insert(
        a(SENDER),
        Account {
            nonce: u64::MAX,
            balance: U256::from(ETHER),
            ..Account::default()
        },
    );
    let at_max = Transaction {
        nonce: u64::MAX,
        ..ok.clone()
    };
    assert_rejected(maxed, &b, &at_max, Cancun, TxError::NonceIsMax);
    let mut contract = world();
    contract.insert(
        a(SENDER),
        Account {
            balance: U256::from(ETHER),
            code: Arc::from(&[0u8][..]),
            ..Account::default()
        },
    );
    assert_rejected(contract, &b, &ok, Cancun, TxError::SenderNotEoa);
    let huge_init = legacy(None, &vec![0; MAX_INITCODE_SIZE + 1]);
    let huge_init = Transaction {
        gas_limit: 10_000_000,
        ..huge_init
    };
    assert_rejected(
        world(),
        &b,
        &huge_init,
        Shanghai,
        TxError::InitcodeSizeExceeded {
            size: MAX_INITCODE_SIZE + 1,
            max: MAX_INITCODE_SIZE,
        },
    );
    let rich = Transaction {
        value: U256::from(ETHER),
        ..ok.clone()
    };
    assert_rejected(world(), &b, &rich, Cancun, TxError::InsufficientFunds);
    // gas_limit · gas_price overflows 256 bits: reported as missing funds, no panic.
    let overflow = Transaction {
        gas_price: U256::MAX,
        ..ok.clone()
    };
    assert_rejected(world(), &b, &overflow, Cancun, TxError::InsufficientFunds);
    let short = Transaction {
        gas_limit: 20_999,
        ..ok.clone()
    };
    assert_rejected(
        world(),
        &b,
        &short,
        Cancun,
        TxError::IntrinsicGasTooLow {
            gas_limit: 20_999,
            intrinsic: 21_000,
        },
    );
}

#[test]
fn blob_and_set_code_transactions_are_validated() {
    use Revision::*;
    let b = block();
    let mut hash = [0u8; 32];
    hash[0] = 1;
    let blob = Transaction {
        tx_type: 3,
        max_fee_per_gas: U256::from(10),
        blob_hashes: vec![B256(hash)],
        max_fee_per_blob_gas: U256::from(1),
        ..legacy(Some(a(2)), &[])
    };
    assert_rejected(
        world(),
        &b,
        &blob,
        Shanghai,
        TxError::TypeNotSupported { tx_type: 3 },
    );
    assert_rejected(
        world(),
        &b,
        &Transaction {
            to: None,
            ..blob.clone()
        },
        Cancun,
        TxError::CreateBlobTx,
    );
    let none = Transaction {
        blob_hashes: vec![],
        ..blob.clone()
    };
    assert_rejected(world(), &b, &none, Cancun, TxError::EmptyBlobHashes);
    let seven = Transaction {
        blob_hashes: vec![B256(hash); 7],
        ..blob.clone()
    };
    assert_rejected(
        world(),
        &b,
        &seven,
        Osaka,
        TxError::BlobCountExceeded { count: 7, max: 6 },
    );
    assert_rejected(
        world(),
        &b,
        &seven,
        Cancun,
        TxError::BlobGasLimitExceeded {
            blob_gas: 7 << 17,
            available: 6 << 17,
        },
    );
    let bad_version = Transaction {
        blob_hashes: vec![B256(hash), B256::ZERO],
        ..blob.clone()
    };
    assert_rejected(
        world(),
        &b,
        &bad_version,
        Cancun,
        TxError::InvalidBlobHashVersion { index: 1 },
    );
    // Excess blob gas of 10M makes the blob base fee e^(10M/3338477) ≈ 19.
    let busy = BlockEnv {
        excess_blob_gas: 10_000_000,
        ..b.clone()
    };
    assert_rejected(
        world(),
        &busy,
        &blob,
        Cancun,
        TxError::InsufficientMaxFeePerBlobGas,
    );

    let set_code = Transaction {
        tx_type: 4,
        max_fee_per_gas: U256::from(10),
        authorization_list: vec![Authorization::default()],
        ..legacy(Some(a(2)), &[])
    };
    assert_rejected(
        world(),
        &b,
        &set_code,
        Cancun,
        TxError::TypeNotSupported { tx_type: 4 },
    );
    let create = Transaction {
        to: None,
        ..set_code.clone()
    };
    assert_rejected(world(), &b, &create, Prague, TxError::CreateSetCodeTx);
    let empty = Transaction {
        authorization_list: vec![],
        ..set_code
    };
    assert_rejected(world(), &b, &empty, Prague, TxError::EmptyAuthorizationList);
}

#[test]
fn value_transfer_pays_base_fee_and_tip() {
    let tx = Transaction {
        tx_type: 2,
        max_fee_per_gas: U256::from(10),
        max_priority_fee_per_gas: U256::from(2),
        value: U256::from(1000),
        ..legacy(Some(a(2)), &[])
    };
    let mut w = world();
    let out = transact(&mut w, &block(), &tx, Revision::Cancun, &Interpreter, None).unwrap();
    assert_eq!((out.status, out.gas_used), (StatusCode::Success, 21_000));
    // Effective price 7 + 2: the sender pays 21000 · 9 + 1000; the coinbase gets the
    // 21000 · 2 tip; the base fee is burned.
    let sender = w.get(&a(SENDER)).unwrap();
    assert_eq!(sender.balance, U256::from(ETHER - 21_000 * 9 - 1000));
    assert_eq!(sender.nonce, 1);
    assert_eq!(w.get(&a(2)).unwrap().balance, U256::from(1000));
    assert_eq!(w.get(&a(COINBASE)).unwrap().balance, U256::from(21_000 * 2));
}

#[test]
fn zero_fee_leaves_no_empty_coinbase_from_spurious_dragon() {
    let tx = Transaction {
        gas_price: U256::ZERO,
        ..legacy(Some(a(2)), &[])
    };
    let b = BlockEnv {
        base_fee: U256::ZERO,
        ..block()
    };
    for (rev, kept) in [
        (Revision::TangerineWhistle, true),
        (Revision::SpuriousDragon, false),
    ] {
        let mut w = world();
        transact(&mut w, &b, &tx, rev, &Interpreter, None).unwrap();
        assert_eq!(w.get(&a(COINBASE)).is_some(), kept, "coinbase in {rev}");
        assert_eq!(w.get(&a(2)).is_some(), kept, "recipient in {rev}");
    }
}

#[test]
fn refund_is_capped_by_revision() {
    // PUSH1 0 PUSH1 1 SSTORE STOP clears slot 1 (which holds 1).
    let code: Arc<[u8]> = Arc::from(&[0x60, 0x00, 0x60, 0x01, 0x55, 0x00][..]);
    let mut slot = [0u8; 32];
    slot[31] = 1;
    let contract = Account {
        nonce: 1,
        code,
        storage: [(B256(slot), B256(slot))].into_iter().collect(),
        ..Account::default()
    };
    let tx = legacy(Some(a(2)), &[]);
    let b = BlockEnv {
        base_fee: U256::ZERO,
        ..block()
    };
    // Gas before refund: 21000 + 3 + 3 + SSTORE (cold 2100 + reset 2900) = 26006.
    // London: refund 4800 (under 26006 / 5) → 21206. Berlin: refund 15000, capped at
    // 26006 / 2 = 13003 → 13003.
    for (rev, used) in [(Revision::London, 21_206), (Revision::Berlin, 13_003)] {
        let mut w = world();
        w.insert(a(2), contract.clone());
        let out = transact(&mut w, &b, &tx, rev, &Interpreter, None).unwrap();
        assert_eq!(out.gas_used, used, "{rev}");
        assert!(w.get(&a(2)).unwrap().storage.is_empty());
    }
}

#[test]
fn create_transaction_deploys_at_the_nonce_address() {
    // Init code returning the one-byte runtime 0x00 (STOP).
    let init = [0x60, 0x01, 0x60, 0x00, 0xf3];
    let tx = Transaction {
        gas_limit: 200_000,
        ..legacy(None, &init)
    };
    let mut w = world();
    let out = transact(&mut w, &block(), &tx, Revision::Cancun, &Interpreter, None).unwrap();
    let addr = create_address(&a(SENDER), 0);
    assert_eq!(out.create_address, Some(addr));
    // 53000 + 4 non-zero bytes · 16 + 1 zero byte · 4 + 1 word · 2 + 9 execution + 200
    // deposit.
    assert_eq!(out.gas_used, 53_000 + 64 + 4 + 2 + 9 + 200);
    assert_eq!(&*w.get(&addr).unwrap().code, &[0x00]);
    assert_eq!(w.get(&a(SENDER)).unwrap().nonce, 1);
}

#[test]
fn authorizations_delegate_and_refund_existing_authorities() {
    let authority = a(0x42);
    let delegate = a(0x43);
    let auth = |nonce| Authorization {
        chain_id: U256::from(1),
        address: delegate,
        nonce,
        y_parity: U256::ZERO,
        r: U256::from(1),
        s: U256::from(1),
        signer: Some(authority),
    };
    let tx = Transaction {
        tx_type: 4,
        max_fee_per_gas: U256::from(10),
        authorization_list: vec![auth(0)],
        ..legacy(Some(a(2)), &[])
    };
    let b = BlockEnv {
        base_fee: U256::ZERO,
        ..block()
    };
    // New authority: 21000 + 25000, no refund.
    let mut w = world();
    let out = transact(&mut w, &b, &tx, Revision::Prague, &Interpreter, None).unwrap();
    assert_eq!(out.gas_used, 46_000);
    let acc = w.get(&authority).unwrap();
    assert_eq!(acc.nonce, 1);
    assert_eq!(parse_delegation(&acc.code), Some(delegate));
    // Existing authority: 12500 back, under the cap 46000 / 5 = 9200 → refund 9200.
    let mut w = world();
    w.insert(
        authority,
        Account {
            balance: U256::from(1),
            ..Account::default()
        },
    );
    let out = transact(&mut w, &b, &tx, Revision::Prague, &Interpreter, None).unwrap();
    assert_eq!(out.gas_used, 46_000 - 9_200);
    // A wrong nonce, chain id or a high s skips the authorization but not the transaction.
    let high_s = Authorization {
        s: SECP256K1_N - U256::from(1),
        ..auth(0)
    };
    let other_chain = Authorization {
        chain_id: U256::from(5),
        ..auth(0)
    };
    for bad in [auth(1), high_s, other_chain] {
        let mut w = world();
        let tx = Transaction {
            authorization_list: vec![bad],
            ..tx.clone()
        };
        let out = transact(&mut w, &b, &tx, Revision::Prague, &Interpreter, None).unwrap();
        assert_eq!(out.status, StatusCode::Success);
        assert!(w.get(&authority).is_none_or(|acc| acc.code.is_empty()));
    }
    // Address zero clears a delegation.
    let mut w = world();
    w.insert(
        authority,
        Account {
            code: Arc::from(delegation_designator(&delegate)),
            ..Account::default()
        },
    );
    let clear = Authorization {
        address: Address::ZERO,
        ..auth(0)
    };
    let tx = Transaction {
        authorization_list: vec![clear],
        ..tx
    };
    transact(&mut w, &b, &tx, Revision::Prague, &Interpreter, None).unwrap();
    let acc = w.get(&authority).unwrap();
    assert!(acc.code.is_empty());
    assert_eq!(acc.nonce, 1);
}

#[test]
fn calls_to_a_delegated_account_run_the_delegate_code() {
    // The delegate stores 1 at slot 0: PUSH1 1 PUSH1 0 SSTORE STOP. Storage changes land
    // in the delegating account.
    let delegate = a(0x43);
    let mut w = world();
    w.insert(
        delegate,
        Account {
            code: Arc::from(&[0x60, 0x01, 0x60, 0x00, 0x55, 0x00][..]),
            ..Account::default()
        },
    );
    w.insert(
        a(2),
        Account {
            nonce: 1,
            code: Arc::from(delegation_designator(&delegate)),
            ..Account::default()
        },
    );
    let tx = Transaction {
        gas_price: U256::from(10),
        ..legacy(Some(a(2)), &[])
    };
    let out = transact(&mut w, &block(), &tx, Revision::Prague, &Interpreter, None).unwrap();
    assert_eq!(out.status, StatusCode::Success);
    assert_eq!(w.get(&a(2)).unwrap().storage.len(), 1);
    assert!(w.get(&delegate).unwrap().storage.is_empty());
}

#[test]
fn authority_is_recovered_when_no_signer_is_given() {
    use k256::ecdsa::SigningKey;
    let key = SigningKey::from_slice(&[0x11; 32]).unwrap();
    let point = key.verifying_key().to_encoded_point(false);
    let want = Address(
        keccak256(&point.as_bytes()[1..]).0[12..]
            .try_into()
            .unwrap(),
    );
    let mut auth = Authorization {
        chain_id: U256::from(1),
        address: a(9),
        nonce: 3,
        ..Authorization::default()
    };
    let (sig, recid) = key
        .sign_prehash_recoverable(&auth.signing_hash().0)
        .unwrap();
    // k256 signs with a low s, as EIP-7702 requires.
    assert!(sig.normalize_s().is_none());
    auth.r = U256::from_be_slice(&sig.r().to_bytes());
    auth.s = U256::from_be_slice(&sig.s().to_bytes());
    auth.y_parity = U256::from(recid.is_y_odd() as u8);
    assert_eq!(auth.authority(), Some(want));
    auth.y_parity = U256::from(2);
    assert_eq!(auth.authority(), None);
}

#[test]
fn run_message_keeps_success_and_undoes_failure() {
    // Slot 0 := 1, then STOP (success) or REVERT (failure).
    let store_then = |last: &[u8]| -> Arc<[u8]> {
        let mut c = vec![0x60, 0x01, 0x60, 0x00, 0x55];
        c.extend_from_slice(last);
        c.into()
    };
    for (tail, kept) in [(&[0x00][..], true), (&[0x60, 0x00, 0x80, 0xfd][..], false)] {
        let mut w = world();
        w.insert(
            a(2),
            Account {
                code: store_then(tail),
                ..Account::default()
            },
        );
        let msg = Message::call(a(SENDER), a(2), &[], 100_000);
        let (r, logs) = run_message(&mut w, &block(), Revision::Cancun, &Interpreter, &msg, None);
        assert!(logs.is_empty());
        assert_eq!(r.status == StatusCode::Success, kept);
        assert_eq!(w.get(&a(2)).unwrap().storage.len() == 1, kept);
    }
}
