//! Basic value types: 256-bit words, addresses, 32-byte hashes, hex and keccak.

use std::fmt;

/// The EVM's 256-bit word.
pub use ruint::aliases::U256;

/// A 20-byte account address (transparent: compiled code reads its bytes in place).
#[repr(transparent)]
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Address(pub [u8; 20]);

/// A 32-byte value: storage keys and values, hashes, big-endian words (transparent: compiled
/// code reads its bytes in place).
#[repr(transparent)]
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct B256(pub [u8; 32]);

impl Address {
    /// The all-zero address.
    pub const ZERO: Address = Address([0; 20]);

    /// The low 20 bytes of a word, as the EVM truncates stack values to addresses.
    #[inline]
    pub fn from_word(w: U256) -> Self {
        let b: [u8; 32] = w.to_be_bytes();
        let mut a = [0u8; 20];
        a.copy_from_slice(&b[12..]);
        Address(a)
    }

    /// The address as a word (zero-extended).
    #[inline]
    pub fn to_word(&self) -> U256 {
        let mut b = [0u8; 32];
        b[12..].copy_from_slice(&self.0);
        U256::from_be_bytes(b)
    }

    /// Parses `0x`-prefixed or bare hex of exactly 20 bytes.
    pub fn from_hex(s: &str) -> Result<Self, HexError> {
        let v = parse_hex(s)?;
        let a: [u8; 20] = v.try_into().map_err(|v: Vec<u8>| HexError::Length {
            expected: 20,
            got: v.len(),
        })?;
        Ok(Address(a))
    }
}

impl B256 {
    /// The all-zero value.
    pub const ZERO: B256 = B256([0; 32]);

    /// The word in big-endian byte order.
    #[inline]
    pub fn from_word(w: U256) -> Self {
        B256(w.to_be_bytes())
    }

    /// The bytes as a big-endian word.
    #[inline]
    pub fn to_word(&self) -> U256 {
        U256::from_be_bytes(self.0)
    }

    /// Whether every byte is zero.
    #[inline]
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 32]
    }

    /// Parses hex of at most 32 bytes, left-padded with zeros (as fixtures write short values).
    pub fn from_hex_padded(s: &str) -> Result<Self, HexError> {
        let v = parse_hex(s)?;
        if v.len() > 32 {
            return Err(HexError::Length {
                expected: 32,
                got: v.len(),
            });
        }
        let mut b = [0u8; 32];
        b[32 - v.len()..].copy_from_slice(&v);
        Ok(B256(b))
    }
}

impl From<[u8; 32]> for B256 {
    fn from(b: [u8; 32]) -> Self {
        B256(b)
    }
}

impl From<[u8; 20]> for Address {
    fn from(b: [u8; 20]) -> Self {
        Address(b)
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", to_hex(&self.0))
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", to_hex(&self.0))
    }
}

impl fmt::Debug for B256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", to_hex(&self.0))
    }
}

impl fmt::Display for B256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", to_hex(&self.0))
    }
}

/// Why a hex string could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HexError {
    /// The number of hex digits is odd.
    OddLength,
    /// A character that is not a hex digit, at this byte offset of the input.
    InvalidChar {
        /// Its byte offset.
        index: usize,
        /// The character.
        ch: char,
    },
    /// The decoded value has the wrong number of bytes.
    Length {
        /// Bytes wanted.
        expected: usize,
        /// Bytes decoded.
        got: usize,
    },
}

impl fmt::Display for HexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HexError::OddLength => write!(f, "odd number of hex digits"),
            HexError::InvalidChar { index, ch } => {
                write!(f, "invalid hex character {ch:?} at position {index}")
            }
            HexError::Length { expected, got } => {
                write!(f, "expected {expected} bytes of hex, got {got}")
            }
        }
    }
}

impl std::error::Error for HexError {}

/// Decodes hex with an optional `0x`/`0X` prefix; surrounding whitespace is ignored.
pub fn parse_hex(s: &str) -> Result<Vec<u8>, HexError> {
    let t = s.trim();
    let (prefix, digits) = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(d) => (t.len() - d.len(), d),
        None => (0, t),
    };
    let lead = s.len() - s.trim_start().len() + prefix;
    let bytes = digits.as_bytes();
    if bytes.len() % 2 != 0 {
        return Err(HexError::OddLength);
    }
    let nibble = |i: usize| -> Result<u8, HexError> {
        let c = bytes[i];
        match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            b'A'..=b'F' => Ok(c - b'A' + 10),
            _ => Err(HexError::InvalidChar {
                index: lead + i,
                ch: digits[i..].chars().next().unwrap_or('?'),
            }),
        }
    };
    let mut out = Vec::with_capacity(bytes.len() / 2);
    for i in (0..bytes.len()).step_by(2) {
        out.push((nibble(i)? << 4) | nibble(i + 1)?);
    }
    Ok(out)
}

/// Encodes bytes as lowercase hex without a prefix.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Keccak-256 of `data`.
pub fn keccak256(data: &[u8]) -> B256 {
    use tiny_keccak::{Hasher, Keccak};
    let mut k = Keccak::v256();
    k.update(data);
    let mut out = [0u8; 32];
    k.finalize(&mut out);
    B256(out)
}

/// keccak256 of the empty string: the code hash of an account without code.
pub const EMPTY_CODE_HASH: B256 = B256([
    0xc5, 0xd2, 0x46, 0x01, 0x86, 0xf7, 0x23, 0x3c, 0x92, 0x7e, 0x7d, 0xb2, 0xdc, 0xc7, 0x03, 0xc0,
    0xe5, 0x00, 0xb6, 0x53, 0xca, 0x82, 0x27, 0x3b, 0x7b, 0xfa, 0xd8, 0x04, 0x5d, 0x85, 0xa4, 0x70,
]);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_errors() {
        assert_eq!(parse_hex("0x00ff10").unwrap(), vec![0, 255, 16]);
        assert_eq!(parse_hex("ABcd").unwrap(), vec![0xab, 0xcd]);
        assert_eq!(parse_hex("0x").unwrap(), Vec::<u8>::new());
        assert_eq!(parse_hex("0x123"), Err(HexError::OddLength));
        assert_eq!(
            parse_hex("0x12zz"),
            Err(HexError::InvalidChar { index: 4, ch: 'z' })
        );
        assert_eq!(to_hex(&[0xde, 0xad, 0x01]), "dead01");
    }

    #[test]
    fn empty_code_hash_is_keccak_of_nothing() {
        assert_eq!(keccak256(&[]), EMPTY_CODE_HASH);
    }

    #[test]
    fn address_word_conversion_truncates_high_bytes() {
        let w = U256::MAX;
        assert_eq!(Address::from_word(w), Address([0xff; 20]));
        let a = Address::from_hex("0x00000000000000000000000000000000000000aa").unwrap();
        assert_eq!(a.to_word(), U256::from(0xaa));
        assert!(Address::from_hex("0x1234").is_err());
    }
}
