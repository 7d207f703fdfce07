//! The state of one transaction in progress: the world state being changed in place, the
//! transaction-scoped sets (warm accounts and slots, transient storage, touched, destructed
//! and created accounts, logs), and the journal that undoes a failed frame's changes.

use crate::account::Account;
use crate::logs::Log;
use crate::world::WorldState;
use ember_evm::{Address, Revision, B256, U256};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// One undoable change; reverting restores the recorded previous value.
#[derive(Debug)]
enum Entry {
    /// The account did not exist before.
    Created(Address),
    Balance(Address, U256),
    Nonce(Address, u64),
    Code(Address, Arc<[u8]>),
    Storage(Address, B256, B256),
    Transient(Address, B256, B256),
    Touched(Address),
    WarmAccount(Address),
    WarmSlot(Address, B256),
    Destructed(Address),
    CreatedInTx(Address),
}

/// A point to roll back to.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Checkpoint {
    journal: usize,
    logs: usize,
}

/// The world state plus everything a transaction tracks while it runs.
pub(crate) struct TxState<'s> {
    pub(crate) world: &'s mut WorldState,
    journal: Vec<Entry>,
    warm_accounts: HashSet<Address>,
    warm_slots: HashSet<(Address, B256)>,
    transient: HashMap<(Address, B256), B256>,
    touched: HashSet<Address>,
    destructed: HashSet<Address>,
    created: HashSet<Address>,
    /// Slot values at the start of the transaction, recorded on the first write.
    original: HashMap<(Address, B256), B256>,
    pub(crate) logs: Vec<Log>,
}

impl<'s> TxState<'s> {
    pub(crate) fn new(world: &'s mut WorldState) -> Self {
        TxState {
            world,
            journal: Vec::new(),
            warm_accounts: HashSet::new(),
            warm_slots: HashSet::new(),
            transient: HashMap::new(),
            touched: HashSet::new(),
            destructed: HashSet::new(),
            created: HashSet::new(),
            original: HashMap::new(),
            logs: Vec::new(),
        }
    }

    pub(crate) fn account(&self, addr: &Address) -> Option<&Account> {
        self.world.accounts.get(addr)
    }

    /// The account at `addr`, created empty (journaled) if it does not exist.
    pub(crate) fn account_mut(&mut self, addr: &Address) -> &mut Account {
        if !self.world.accounts.contains_key(addr) {
            self.journal.push(Entry::Created(*addr));
        }
        self.world.accounts.entry(*addr).or_default()
    }

    pub(crate) fn balance(&self, addr: &Address) -> U256 {
        self.account(addr).map(|a| a.balance).unwrap_or_default()
    }

    pub(crate) fn set_balance(&mut self, addr: &Address, balance: U256) {
        let acc = self.account_mut(addr);
        let old = std::mem::replace(&mut acc.balance, balance);
        self.journal.push(Entry::Balance(*addr, old));
    }

    /// Adds to a balance, saturating (total supply never comes near 2^256).
    pub(crate) fn add_balance(&mut self, addr: &Address, amount: U256) {
        let new = self.balance(addr).saturating_add(amount);
        self.set_balance(addr, new);
    }

    /// Moves `value` from `from` to `to`; false (and nothing changes) if `from` lacks it.
    pub(crate) fn transfer(&mut self, from: &Address, to: &Address, value: U256) -> bool {
        let Some(rest) = self.balance(from).checked_sub(value) else {
            return false;
        };
        if value.is_zero() {
            return true;
        }
        self.set_balance(from, rest);
        self.add_balance(to, value);
        true
    }

    pub(crate) fn nonce(&self, addr: &Address) -> u64 {
        self.account(addr).map(|a| a.nonce).unwrap_or(0)
    }

    pub(crate) fn set_nonce(&mut self, addr: &Address, nonce: u64) {
        let acc = self.account_mut(addr);
        let old = std::mem::replace(&mut acc.nonce, nonce);
        self.journal.push(Entry::Nonce(*addr, old));
    }

    pub(crate) fn set_code(&mut self, addr: &Address, code: Arc<[u8]>) {
        self.world.remember_code_hash(&code);
        let acc = self.account_mut(addr);
        let old = std::mem::replace(&mut acc.code, code);
        self.journal.push(Entry::Code(*addr, old));
    }

    /// The code of `addr`, if the account exists.
    pub(crate) fn code(&self, addr: &Address) -> Option<&Arc<[u8]>> {
        self.account(addr).map(|a| &a.code)
    }

    pub(crate) fn storage(&self, addr: &Address, key: &B256) -> B256 {
        self.account(addr)
            .and_then(|a| a.storage.get(key))
            .copied()
            .unwrap_or_default()
    }

    /// The slot's value at the start of the transaction.
    pub(crate) fn original_storage(&self, addr: &Address, key: &B256) -> B256 {
        match self.original.get(&(*addr, *key)) {
            Some(v) => *v,
            None => self.storage(addr, key),
        }
    }

    pub(crate) fn set_storage(&mut self, addr: &Address, key: &B256, value: B256) {
        let current = self.storage(addr, key);
        self.original.entry((*addr, *key)).or_insert(current);
        if current == value {
            return;
        }
        write_slot(self.account_mut(addr), key, value);
        self.journal.push(Entry::Storage(*addr, *key, current));
    }

    pub(crate) fn transient(&self, addr: &Address, key: &B256) -> B256 {
        self.transient
            .get(&(*addr, *key))
            .copied()
            .unwrap_or_default()
    }

    pub(crate) fn set_transient(&mut self, addr: &Address, key: &B256, value: B256) {
        let old = if value.is_zero() {
            self.transient.remove(&(*addr, *key))
        } else {
            self.transient.insert((*addr, *key), value)
        };
        let old = old.unwrap_or_default();
        if old != value {
            self.journal.push(Entry::Transient(*addr, *key, old));
        }
    }

    /// Marks the account touched (EIP-161): if it is empty at the end of the transaction it
    /// is deleted (from Spurious Dragon).
    pub(crate) fn touch(&mut self, addr: &Address) {
        if self.touched.insert(*addr) {
            self.journal.push(Entry::Touched(*addr));
        }
    }

    pub(crate) fn is_touched(&self, addr: &Address) -> bool {
        self.touched.contains(addr)
    }

    /// Marks the account warm; returns whether it already was.
    pub(crate) fn warm_account(&mut self, addr: &Address) -> bool {
        let fresh = self.warm_accounts.insert(*addr);
        if fresh {
            self.journal.push(Entry::WarmAccount(*addr));
        }
        !fresh
    }

    /// Marks the slot warm; returns whether it already was.
    pub(crate) fn warm_slot(&mut self, addr: &Address, key: &B256) -> bool {
        let fresh = self.warm_slots.insert((*addr, *key));
        if fresh {
            self.journal.push(Entry::WarmSlot(*addr, *key));
        }
        !fresh
    }

    /// Registers a selfdestruct; returns whether it was the first for this account.
    pub(crate) fn mark_destructed(&mut self, addr: &Address) -> bool {
        let fresh = self.destructed.insert(*addr);
        if fresh {
            self.journal.push(Entry::Destructed(*addr));
        }
        fresh
    }

    /// Records that the account was created by this transaction (EIP-6780).
    pub(crate) fn mark_created(&mut self, addr: &Address) {
        if self.created.insert(*addr) {
            self.journal.push(Entry::CreatedInTx(*addr));
        }
    }

    pub(crate) fn is_created_in_tx(&self, addr: &Address) -> bool {
        self.created.contains(addr)
    }

    pub(crate) fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            journal: self.journal.len(),
            logs: self.logs.len(),
        }
    }

    /// Undoes every change made since `cp`, newest first.
    pub(crate) fn rollback(&mut self, cp: Checkpoint) {
        self.logs.truncate(cp.logs);
        while self.journal.len() > cp.journal {
            let Some(entry) = self.journal.pop() else {
                break;
            };
            match entry {
                Entry::Created(a) => {
                    self.world.accounts.remove(&a);
                }
                Entry::Balance(a, v) => self.world.accounts.entry(a).or_default().balance = v,
                Entry::Nonce(a, v) => self.world.accounts.entry(a).or_default().nonce = v,
                Entry::Code(a, v) => self.world.accounts.entry(a).or_default().code = v,
                Entry::Storage(a, k, v) => {
                    write_slot(self.world.accounts.entry(a).or_default(), &k, v)
                }
                Entry::Transient(a, k, v) => {
                    if v.is_zero() {
                        self.transient.remove(&(a, k));
                    } else {
                        self.transient.insert((a, k), v);
                    }
                }
                Entry::Touched(a) => {
                    self.touched.remove(&a);
                }
                Entry::WarmAccount(a) => {
                    self.warm_accounts.remove(&a);
                }
                Entry::WarmSlot(a, k) => {
                    self.warm_slots.remove(&(a, k));
                }
                Entry::Destructed(a) => {
                    self.destructed.remove(&a);
                }
                Entry::CreatedInTx(a) => {
                    self.created.remove(&a);
                }
            }
        }
    }

    /// Ends the transaction: deletes selfdestructed accounts and, from Spurious Dragon,
    /// touched accounts that are empty. Returns the logs.
    pub(crate) fn finish(self, rev: Revision) -> Vec<Log> {
        for a in &self.destructed {
            self.world.accounts.remove(a);
        }
        if rev >= Revision::SpuriousDragon {
            for a in &self.touched {
                if self.world.accounts.get(a).is_some_and(Account::is_empty) {
                    self.world.accounts.remove(a);
                }
            }
        }
        self.world.prune_code_hashes();
        self.logs
    }
}

/// Stores `value` in the slot; zero removes it.
fn write_slot(acc: &mut Account, key: &B256, value: B256) {
    if value.is_zero() {
        acc.storage.remove(key);
    } else {
        acc.storage.insert(*key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(n: u8) -> Address {
        Address([n; 20])
    }
    fn w(n: u8) -> B256 {
        B256([n; 32])
    }

    fn world() -> WorldState {
        let mut s = WorldState::new();
        let mut acc = Account {
            nonce: 1,
            balance: U256::from(100),
            ..Account::default()
        };
        acc.storage.insert(w(1), w(9));
        s.insert(a(1), acc);
        s
    }

    #[test]
    fn rollback_restores_everything_since_the_checkpoint() {
        let mut world = world();
        let before_root = world.state_root();
        let before = world.get(&a(1)).cloned();
        let mut tx = TxState::new(&mut world);
        tx.warm_account(&a(7));
        let cp = tx.checkpoint();
        assert!(tx.transfer(&a(1), &a(2), U256::from(40)));
        tx.set_nonce(&a(1), 5);
        tx.set_code(&a(2), Arc::from(&[0x00u8][..]));
        tx.set_storage(&a(1), &w(1), B256::ZERO);
        tx.set_storage(&a(1), &w(2), w(3));
        tx.set_transient(&a(1), &w(1), w(4));
        tx.touch(&a(3));
        assert!(!tx.warm_account(&a(4)));
        assert!(!tx.warm_slot(&a(1), &w(1)));
        assert!(tx.mark_destructed(&a(1)));
        tx.mark_created(&a(2));
        tx.logs.push(Log::default());
        tx.rollback(cp);
        assert!(tx.account(&a(2)).is_none(), "created account removed");
        assert_eq!(tx.account(&a(1)).cloned(), before);
        assert_eq!(tx.transient(&a(1), &w(1)), B256::ZERO);
        assert!(!tx.is_touched(&a(3)));
        assert!(
            !tx.warm_account(&a(4)),
            "warmth reverted, so this is a cold access again"
        );
        assert!(
            tx.warm_account(&a(7)),
            "warmth from before the checkpoint stays"
        );
        assert!(!tx.is_created_in_tx(&a(2)));
        assert!(tx.mark_destructed(&a(1)), "destruct registration reverted");
        assert!(tx.logs.is_empty());
        // The original value survives the revert of the write that recorded it.
        assert_eq!(tx.original_storage(&a(1), &w(1)), w(9));
        tx.rollback(Checkpoint {
            journal: 0,
            logs: 0,
        });
        tx.finish(Revision::Cancun);
        assert_eq!(world.state_root(), before_root);
    }

    #[test]
    fn original_storage_is_the_value_at_transaction_start() {
        let mut world = world();
        let mut tx = TxState::new(&mut world);
        assert_eq!(tx.original_storage(&a(1), &w(1)), w(9));
        tx.set_storage(&a(1), &w(1), w(5));
        tx.set_storage(&a(1), &w(1), w(6));
        assert_eq!(tx.original_storage(&a(1), &w(1)), w(9));
        assert_eq!(tx.storage(&a(1), &w(1)), w(6));
        assert_eq!(tx.original_storage(&a(1), &w(2)), B256::ZERO);
    }

    #[test]
    fn finish_deletes_destructed_and_touched_empty_accounts() {
        let mut world = world();
        world.insert(a(2), Account::default());
        world.insert(a(3), Account::default());
        world.insert(
            a(4),
            Account {
                nonce: 1,
                ..Account::default()
            },
        );
        let mut tx = TxState::new(&mut world);
        tx.touch(&a(2));
        tx.touch(&a(4));
        tx.mark_destructed(&a(1));
        tx.finish(Revision::SpuriousDragon);
        assert!(world.get(&a(1)).is_none(), "destructed");
        assert!(world.get(&a(2)).is_none(), "touched and empty");
        assert!(world.get(&a(3)).is_some(), "empty but untouched");
        assert!(world.get(&a(4)).is_some(), "touched but not empty");

        let mut world = WorldState::new();
        world.insert(a(2), Account::default());
        let mut tx = TxState::new(&mut world);
        tx.touch(&a(2));
        tx.finish(Revision::TangerineWhistle);
        assert!(
            world.get(&a(2)).is_some(),
            "no EIP-161 before Spurious Dragon"
        );
    }

    #[test]
    fn transfer_without_funds_changes_nothing() {
        let mut world = world();
        let mut tx = TxState::new(&mut world);
        assert!(!tx.transfer(&a(1), &a(2), U256::from(101)));
        assert!(tx.account(&a(2)).is_none());
        assert_eq!(tx.balance(&a(1)), U256::from(100));
    }
}
