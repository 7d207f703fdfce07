//! One account of the world state.

use ember_evm::{keccak256, B256, EMPTY_CODE_HASH, U256};
use std::collections::HashMap;
use std::sync::Arc;

/// An account: nonce, balance, code and storage. Storage slots holding zero may be present or
/// absent; both mean zero.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Account {
    /// Transactions sent, or contracts created by a contract.
    pub nonce: u64,
    /// Balance in wei.
    pub balance: U256,
    /// EVM bytecode (empty for an externally owned account).
    pub code: Arc<[u8]>,
    /// Storage slots by key.
    pub storage: HashMap<B256, B256>,
}

impl Account {
    /// keccak256 of the code (computed on each call; [`crate::WorldState`] caches it).
    pub fn code_hash(&self) -> B256 {
        if self.code.is_empty() {
            EMPTY_CODE_HASH
        } else {
            keccak256(&self.code)
        }
    }

    /// Empty in the sense of EIP-161: no nonce, no balance, no code.
    pub fn is_empty(&self) -> bool {
        self.nonce == 0 && self.balance.is_zero() && self.code.is_empty()
    }

    /// Whether any storage slot holds a non-zero value.
    pub fn has_storage(&self) -> bool {
        self.storage.values().any(|v| !v.is_zero())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emptiness_follows_eip161() {
        let mut a = Account::default();
        assert!(a.is_empty());
        a.storage.insert(B256::ZERO, B256([1; 32]));
        assert!(a.is_empty(), "storage does not make an account non-empty");
        assert!(a.has_storage());
        a.nonce = 1;
        assert!(!a.is_empty());
        let b = Account {
            code: Arc::from(&[0x00u8][..]),
            ..Account::default()
        };
        assert!(!b.is_empty());
        let c = Account {
            balance: U256::from(1),
            ..Account::default()
        };
        assert!(!c.is_empty());
    }

    #[test]
    fn code_hash_of_empty_code_is_keccak_of_nothing() {
        assert_eq!(Account::default().code_hash(), EMPTY_CODE_HASH);
        let a = Account {
            code: Arc::from(&b"\x60\x00"[..]),
            ..Account::default()
        };
        assert_eq!(a.code_hash(), keccak256(b"\x60\x00"));
    }
}
