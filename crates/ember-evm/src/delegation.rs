//! EIP-7702 delegation designators.
//!
//! An account delegates to another by holding the 23-byte code `0xef0100 ‖ address`. The EIP
//! writes only that exact form, and EIP-3541 forbids deploying any other code that starts with
//! `0xef`, so code is a designator exactly when it is 23 bytes long and starts with the prefix:
//! a longer or shorter code with the same first bytes is ordinary (invalid) code.

use crate::host::Host;
use crate::types::Address;

/// The first three bytes of a delegation designator.
pub const DELEGATION_PREFIX: [u8; 3] = [0xef, 0x01, 0x00];

/// The length of a delegation designator: the prefix and a 20-byte address.
pub const DELEGATION_LEN: usize = DELEGATION_PREFIX.len() + 20;

/// The delegate named by `code`, if `code` is exactly a delegation designator.
pub fn parse_delegation(code: &[u8]) -> Option<Address> {
    let (prefix, address) = code.split_first_chunk::<3>()?;
    if *prefix != DELEGATION_PREFIX {
        return None;
    }
    let address: [u8; 20] = address.try_into().ok()?;
    Some(Address(address))
}

/// The designator `0xef0100 ‖ delegate`.
pub fn delegation_designator(delegate: &Address) -> [u8; DELEGATION_LEN] {
    let mut code = [0u8; DELEGATION_LEN];
    code[..3].copy_from_slice(&DELEGATION_PREFIX);
    code[3..].copy_from_slice(&delegate.0);
    code
}

/// The delegate of the account at `addr`, if its code is a delegation designator. Reads at most
/// one byte more than a designator, which is enough to tell a longer code apart.
pub fn delegate_of(host: &mut dyn Host, addr: &Address) -> Option<Address> {
    let mut buf = [0u8; DELEGATION_LEN + 1];
    let n = host.copy_code(addr, 0, &mut buf);
    parse_delegation(buf.get(..n)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_designator_round_trips() {
        let d = Address([0x42; 20]);
        let code = delegation_designator(&d);
        assert_eq!(code[..3], [0xef, 0x01, 0x00]);
        assert_eq!(code[3..], [0x42; 20]);
        assert_eq!(parse_delegation(&code), Some(d));
    }

    #[test]
    fn only_exactly_23_bytes_with_the_prefix_delegate() {
        let code = delegation_designator(&Address([7; 20]));
        assert_eq!(parse_delegation(&code[..22]), None, "one byte short");
        let mut longer = code.to_vec();
        longer.push(0);
        assert_eq!(parse_delegation(&longer), None, "one byte long");
        for i in 0..3 {
            let mut wrong = code;
            wrong[i] ^= 1;
            assert_eq!(parse_delegation(&wrong), None, "prefix byte {i} differs");
        }
        assert_eq!(parse_delegation(&[]), None);
        assert_eq!(parse_delegation(&DELEGATION_PREFIX), None);
    }
}
