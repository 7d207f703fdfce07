//! The in-memory world state and its Merkle Patricia root.

use crate::account::Account;
use crate::rlp::{encode_bytes, encode_bytes_to, encode_list, encode_u256_to, encode_u64_to};
use crate::trie::trie_root;
use ember_evm::{keccak256, Address, B256, EMPTY_CODE_HASH};
use std::collections::HashMap;
use std::sync::Arc;

/// All accounts, by address. Cloning is cheap for code (shared `Arc`s) and copies storage.
#[derive(Clone, Debug, Default)]
pub struct WorldState {
    pub(crate) accounts: HashMap<Address, Account>,
    /// keccak256 of code, keyed by the address of the code's allocation. Each entry keeps its
    /// `Arc` alive, so no other allocation can reuse the key while the entry exists.
    code_hashes: HashMap<usize, (Arc<[u8]>, B256)>,
}

impl WorldState {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces the account at `addr`.
    pub fn insert(&mut self, addr: Address, acc: Account) {
        self.remember_code_hash(&acc.code);
        self.accounts.insert(addr, acc);
    }

    /// The account at `addr`, if it exists.
    pub fn get(&self, addr: &Address) -> Option<&Account> {
        self.accounts.get(addr)
    }

    /// Removes the account at `addr`, returning it.
    pub fn remove(&mut self, addr: &Address) -> Option<Account> {
        self.accounts.remove(addr)
    }

    /// Every account, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&Address, &Account)> {
        self.accounts.iter()
    }

    /// The number of accounts.
    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    /// Whether there are no accounts.
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    /// keccak256 of `code`, from the cache when this allocation was seen before.
    pub(crate) fn code_hash_of(&self, code: &Arc<[u8]>) -> B256 {
        if code.is_empty() {
            return EMPTY_CODE_HASH;
        }
        match self
            .code_hashes
            .get(&(Arc::as_ptr(code) as *const u8 as usize))
        {
            Some((_, h)) => *h,
            None => keccak256(code),
        }
    }

    /// Hashes `code` into the cache (if not there yet) and returns the hash.
    pub(crate) fn remember_code_hash(&mut self, code: &Arc<[u8]>) -> B256 {
        if code.is_empty() {
            return EMPTY_CODE_HASH;
        }
        let key = Arc::as_ptr(code) as *const u8 as usize;
        self.code_hashes
            .entry(key)
            .or_insert_with(|| (Arc::clone(code), keccak256(code)))
            .1
    }

    /// Drops cached hashes of code that no account (of this or any cloned state) holds.
    pub(crate) fn prune_code_hashes(&mut self) {
        self.code_hashes
            .retain(|_, (code, _)| Arc::strong_count(code) > 1);
    }

    /// The state root: the secure trie of `keccak(address) → rlp([nonce, balance,
    /// storage_root, code_hash])`, where storage roots are secure tries of
    /// `keccak(slot) → rlp(value without leading zeros)` over non-zero slots.
    pub fn state_root(&self) -> B256 {
        let leaves = self
            .accounts
            .iter()
            .map(|(addr, acc)| {
                let mut payload = Vec::with_capacity(80);
                encode_u64_to(&mut payload, acc.nonce);
                encode_u256_to(&mut payload, &acc.balance);
                encode_bytes_to(&mut payload, &storage_root(acc).0);
                encode_bytes_to(&mut payload, &self.code_hash_of(&acc.code).0);
                (keccak256(&addr.0), encode_list(&payload))
            })
            .collect();
        trie_root(leaves)
    }
}

/// The root of an account's storage trie.
pub fn storage_root(acc: &Account) -> B256 {
    let leaves = acc
        .storage
        .iter()
        .filter(|(_, v)| !v.is_zero())
        .map(|(k, v)| {
            let skip = v.0.iter().take_while(|b| **b == 0).count();
            (keccak256(&k.0), encode_bytes(&v.0[skip..]))
        })
        .collect();
    trie_root(leaves)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trie::EMPTY_TRIE_ROOT;
    use ember_evm::U256;

    #[test]
    fn empty_state_and_storage_have_the_empty_root() {
        assert_eq!(WorldState::new().state_root(), EMPTY_TRIE_ROOT);
        let mut acc = Account::default();
        acc.storage.insert(B256([7; 32]), B256::ZERO);
        assert_eq!(
            storage_root(&acc),
            EMPTY_TRIE_ROOT,
            "zero slots are omitted"
        );
    }

    #[test]
    fn code_hash_cache_agrees_with_keccak_and_prunes() {
        let mut s = WorldState::new();
        let code: Arc<[u8]> = Arc::from(&[0x60u8, 0x01, 0x00][..]);
        s.insert(
            Address([1; 20]),
            Account {
                code: code.clone(),
                ..Account::default()
            },
        );
        assert_eq!(s.code_hash_of(&code), keccak256(&code));
        // An equal but separately allocated code is hashed directly.
        let other: Arc<[u8]> = Arc::from(&[0x60u8, 0x01, 0x00][..]);
        assert_eq!(s.code_hash_of(&other), keccak256(&other));
        drop(code);
        s.remove(&Address([1; 20]));
        s.prune_code_hashes();
        assert!(s.code_hashes.is_empty());
    }

    #[test]
    fn root_changes_with_every_account_field() {
        let a = Address([0xaa; 20]);
        let mut s = WorldState::new();
        s.insert(
            a,
            Account {
                balance: U256::from(1),
                ..Account::default()
            },
        );
        let r1 = s.state_root();
        s.insert(
            a,
            Account {
                balance: U256::from(2),
                ..Account::default()
            },
        );
        let r2 = s.state_root();
        let mut acc = Account {
            balance: U256::from(2),
            ..Account::default()
        };
        acc.storage.insert(B256::ZERO, B256([1; 32]));
        s.insert(a, acc);
        let r3 = s.state_root();
        assert!(r1 != r2 && r2 != r3 && r1 != r3);
    }
}
