//! One account of the world state, and EIP-7702 delegation designators.

use ember_evm::{keccak256, Address, B256, EMPTY_CODE_HASH, U256};
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

/// The prefix of an EIP-7702 delegation designator (`0xef0100 ‖ address`).
pub const DELEGATION_PREFIX: [u8; 3] = [0xef, 0x01, 0x00];

/// The delegate named by `code` if it is exactly an EIP-7702 delegation designator.
pub fn delegate_of(code: &[u8]) -> Option<Address> {
    if code.len() != 23 || code[..3] != DELEGATION_PREFIX {
        return None;
    }
    let mut a = [0u8; 20];
    a.copy_from_slice(&code[3..]);
    Some(Address(a))
}

/// The designator `0xef0100 ‖ delegate`.
pub fn delegation_code(delegate: &Address) -> Arc<[u8]> {
    let mut code = Vec::with_capacity(23);
    code.extend_from_slice(&DELEGATION_PREFIX);
    code.extend_from_slice(&delegate.0);
    code.into()
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

    #[test]
    fn delegation_designator_round_trip() {
        let d = Address([0x42; 20]);
        let code = delegation_code(&d);
        assert_eq!(code.len(), 23);
        assert_eq!(delegate_of(&code), Some(d));
        assert_eq!(delegate_of(&code[..22]), None);
        let mut longer = code.to_vec();
        longer.push(0);
        assert_eq!(delegate_of(&longer), None);
        let mut wrong = code.to_vec();
        wrong[2] = 1;
        assert_eq!(delegate_of(&wrong), None);
    }
}
