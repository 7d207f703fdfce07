//! Empty accounts (nonce 0, balance 0, no code) before and after Spurious Dragon, written
//! from the specifications rather than from fixtures.
//!
//! Before EIP-161 (Frontier, Homestead, Tangerine Whistle) the yellow paper knows only
//! existing and non-existing accounts: an empty account is an account like any other, part of
//! the state and its root, and nothing deletes it. A CALL to a missing address, a SELFDESTRUCT
//! to a missing beneficiary, a transaction to a missing recipient and a credit to the coinbase
//! all create the account, empty or not, and CALL charges G_newaccount (25000) whenever the
//! destination does not exist.
//!
//! EIP-161 (Spurious Dragon on) adds: (b) the 25000 is charged only when value is transferred
//! to a dead (non-existent or empty) account; (c) no account goes from non-existent to
//! existent-but-empty; (d) an account touched by the transaction and empty at its end is
//! deleted. (a) A created account starts with nonce 1.

use ember_evm::{Address, Interpreter, Revision, StatusCode, ALL_REVISIONS, U256};
use ember_state::{
    create_address, reward_coinbase, transact, Account, BlockEnv, Transaction, TxError, TxOutcome,
    WorldState,
};
use std::sync::Arc;

const SENDER: Address = Address([0x5e; 20]);
const CONTRACT: Address = Address([0xcc; 20]);
const EMPTY: Address = Address([0xee; 20]);
const MISSING: Address = Address([0x99; 20]);
const OTHER: Address = Address([0x0f; 20]);
const COINBASE: Address = Address([0xcb; 20]);

/// Whether EIP-161 applies.
fn eip161(rev: Revision) -> bool {
    rev >= Revision::SpuriousDragon
}

fn block() -> BlockEnv {
    BlockEnv {
        number: 1,
        gas_limit: 30_000_000,
        coinbase: COINBASE,
        chain_id: U256::from(1),
        ..BlockEnv::default()
    }
}

/// A funded sender, a contract with `code` and 1000 wei, an empty account and a non-empty
/// one without code.
fn pre_state(code: &[u8]) -> WorldState {
    let mut w = WorldState::new();
    let funded = |wei: u64| Account {
        balance: U256::from(wei),
        ..Account::default()
    };
    w.insert(SENDER, funded(1 << 60));
    w.insert(OTHER, funded(1));
    w.insert(EMPTY, Account::default());
    w.insert(
        CONTRACT,
        Account {
            balance: U256::from(1000),
            code: Arc::from(code),
            ..Account::default()
        },
    );
    w
}

fn tx(to: Option<Address>, gas_price: u64) -> Transaction {
    Transaction {
        sender: SENDER,
        to,
        gas_limit: 200_000,
        gas_price: U256::from(gas_price),
        ..Transaction::default()
    }
}

/// Runs `tx` and ends the block with a zero reward, as a state test does.
fn run(state: &mut WorldState, tx: &Transaction, rev: Revision) -> Result<TxOutcome, TxError> {
    let out = transact(state, &block(), tx, rev, &Interpreter, None);
    reward_coinbase(state, rev, &COINBASE, U256::ZERO);
    out
}

/// `CALL(0xffff, to, value, 0, 0, 0, 0); POP; STOP`.
fn call_code(to: Address, value: u8) -> Vec<u8> {
    let mut c = vec![0x60, 0, 0x60, 0, 0x60, 0, 0x60, 0, 0x60, value, 0x73];
    c.extend_from_slice(&to.0);
    c.extend_from_slice(&[0x61, 0xff, 0xff, 0xf1, 0x50, 0x00]);
    c
}

#[test]
fn an_empty_account_is_part_of_the_state_root() {
    let with = pre_state(&[]);
    let mut without = with.clone();
    without.remove(&EMPTY);
    assert_ne!(with.state_root(), without.state_root());
}

#[test]
fn untouched_empty_pre_state_accounts_stay_in_every_revision() {
    for rev in ALL_REVISIONS {
        let mut w = pre_state(&[]);
        let out = run(&mut w, &tx(Some(OTHER), 1), rev).unwrap();
        assert_eq!(out.status, StatusCode::Success, "{rev}");
        assert_eq!(w.get(&EMPTY), Some(&Account::default()), "{rev}");
    }
}

#[test]
fn a_touched_empty_account_is_deleted_only_from_spurious_dragon() {
    for rev in ALL_REVISIONS {
        // A zero-value transaction to the empty account touches it.
        let mut w = pre_state(&[]);
        run(&mut w, &tx(Some(EMPTY), 1), rev).unwrap();
        assert_eq!(w.get(&EMPTY).is_some(), !eip161(rev), "transaction, {rev}");
        // So does a zero-value CALL.
        let mut w = pre_state(&call_code(EMPTY, 0));
        run(&mut w, &tx(Some(CONTRACT), 1), rev).unwrap();
        assert_eq!(w.get(&EMPTY).is_some(), !eip161(rev), "CALL, {rev}");
    }
}

#[test]
fn a_call_to_a_missing_account_creates_it_only_before_spurious_dragon() {
    for rev in ALL_REVISIONS {
        let mut w = pre_state(&call_code(MISSING, 0));
        let missing = run(&mut w, &tx(Some(CONTRACT), 1), rev).unwrap();
        assert_eq!(w.get(&MISSING).is_some(), !eip161(rev), "{rev}");
        if !eip161(rev) {
            assert_eq!(w.get(&MISSING), Some(&Account::default()), "{rev}");
        }
        // The same call to an existing non-empty account: the difference is G_newaccount
        // before EIP-161, nothing after it for a zero-value call (EIP-161 b).
        let mut w = pre_state(&call_code(OTHER, 0));
        let existing = run(&mut w, &tx(Some(CONTRACT), 1), rev).unwrap();
        let extra = missing.gas_used - existing.gas_used;
        assert_eq!(extra, if eip161(rev) { 0 } else { 25_000 }, "{rev}");
    }
}

#[test]
fn value_to_an_existing_empty_account_pays_for_a_new_account_only_from_spurious_dragon() {
    for rev in ALL_REVISIONS {
        let mut w = pre_state(&call_code(EMPTY, 1));
        let empty = run(&mut w, &tx(Some(CONTRACT), 1), rev).unwrap();
        assert_eq!(w.get(&EMPTY).unwrap().balance, U256::from(1), "{rev}");
        let mut w = pre_state(&call_code(OTHER, 1));
        let other = run(&mut w, &tx(Some(CONTRACT), 1), rev).unwrap();
        // Before EIP-161 the empty account exists; from it, it is dead (EIP-161 b).
        let extra = empty.gas_used - other.gas_used;
        assert_eq!(extra, if eip161(rev) { 25_000 } else { 0 }, "{rev}");
    }
}

#[test]
fn a_transaction_to_a_missing_recipient_creates_it_only_before_spurious_dragon() {
    for rev in ALL_REVISIONS {
        let mut w = pre_state(&[]);
        run(&mut w, &tx(Some(MISSING), 1), rev).unwrap();
        assert_eq!(w.get(&MISSING).is_some(), !eip161(rev), "{rev}");
    }
}

#[test]
fn an_empty_created_contract_stays_before_spurious_dragon() {
    for rev in ALL_REVISIONS {
        // Empty init code and no value: the new account has nothing but its EIP-161 nonce.
        let mut w = pre_state(&[]);
        let out = run(&mut w, &tx(None, 1), rev).unwrap();
        let addr = create_address(&SENDER, 0);
        assert_eq!(out.create_address, Some(addr), "{rev}");
        let acc = w.get(&addr).expect("created");
        assert_eq!(acc.nonce, u64::from(eip161(rev)), "{rev}");
        assert!(acc.is_empty() != eip161(rev), "{rev}");
    }
}

#[test]
fn a_selfdestruct_to_a_missing_beneficiary_creates_it_only_before_spurious_dragon() {
    let mut code = vec![0x73];
    code.extend_from_slice(&MISSING.0);
    code.push(0xff);
    for rev in ALL_REVISIONS {
        // The contract gives its balance away: the beneficiary is not empty in any revision.
        let mut w = pre_state(&code);
        run(&mut w, &tx(Some(CONTRACT), 1), rev).unwrap();
        assert_eq!(w.get(&MISSING).unwrap().balance, U256::from(1000), "{rev}");
        // Without a balance the beneficiary stays empty: kept only before EIP-161.
        let mut w = pre_state(&code);
        w.insert(
            CONTRACT,
            Account {
                code: Arc::from(&code[..]),
                ..Account::default()
            },
        );
        run(&mut w, &tx(Some(CONTRACT), 1), rev).unwrap();
        assert_eq!(w.get(&MISSING).is_some(), !eip161(rev), "{rev}");
    }
}

#[test]
fn a_coinbase_paid_nothing_exists_empty_only_before_spurious_dragon() {
    for rev in ALL_REVISIONS {
        // Gas price 0 (base fee 0): the coinbase is credited nothing.
        let mut w = pre_state(&[]);
        run(&mut w, &tx(Some(OTHER), 0), rev).unwrap();
        assert_eq!(w.get(&COINBASE).is_some(), !eip161(rev), "{rev}");
        // A paying transaction leaves a non-empty coinbase in every revision.
        let mut w = pre_state(&[]);
        run(&mut w, &tx(Some(OTHER), 1), rev).unwrap();
        assert!(w.get(&COINBASE).is_some_and(|c| !c.is_empty()), "{rev}");
    }
}

#[test]
fn a_rejected_transaction_still_ends_the_block_with_a_coinbase_credit() {
    // Nonce too high: rejected in every revision.
    let bad = Transaction {
        nonce: 5,
        ..tx(Some(OTHER), 1)
    };
    for rev in ALL_REVISIONS {
        // A missing coinbase is created empty before EIP-161 and stays missing after.
        let mut w = pre_state(&[]);
        let pre_root = w.state_root();
        assert!(run(&mut w, &bad, rev).is_err(), "{rev}");
        assert_eq!(w.get(&COINBASE).is_some(), !eip161(rev), "{rev}");
        assert_eq!(w.state_root() == pre_root, eip161(rev), "{rev}");
        // An empty coinbase in the pre-state is kept before EIP-161 and, touched by the
        // credit, deleted after it.
        let mut w = pre_state(&[]);
        w.insert(COINBASE, Account::default());
        assert!(run(&mut w, &bad, rev).is_err(), "{rev}");
        assert_eq!(w.get(&COINBASE).is_some(), !eip161(rev), "{rev}");
        // The empty account that is not the coinbase is left alone.
        assert!(w.get(&EMPTY).is_some(), "{rev}");
    }
}
