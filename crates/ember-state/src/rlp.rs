//! Recursive Length Prefix encoding (the subset the state root, logs hash and CREATE addresses
//! need: byte strings, unsigned integers and lists).

use ember_evm::U256;

/// Appends the RLP header for a string (`base` 0x80) or list (`base` 0xc0) of `len` bytes.
fn push_header(out: &mut Vec<u8>, base: u8, len: usize) {
    if len < 56 {
        out.push(base + len as u8);
    } else {
        let be = (len as u64).to_be_bytes();
        let skip = be.iter().take_while(|b| **b == 0).count();
        out.push(base + 55 + (8 - skip) as u8);
        out.extend_from_slice(&be[skip..]);
    }
}

/// Appends the encoding of a byte string.
pub fn encode_bytes_to(out: &mut Vec<u8>, bytes: &[u8]) {
    if bytes.len() == 1 && bytes[0] < 0x80 {
        out.push(bytes[0]);
    } else {
        push_header(out, 0x80, bytes.len());
        out.extend_from_slice(bytes);
    }
}

/// The encoding of a byte string.
pub fn encode_bytes(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 9);
    encode_bytes_to(&mut out, bytes);
    out
}

/// Appends the encoding of an unsigned integer (big-endian, no leading zeros; 0 is "").
pub fn encode_u64_to(out: &mut Vec<u8>, n: u64) {
    let be = n.to_be_bytes();
    let skip = be.iter().take_while(|b| **b == 0).count();
    encode_bytes_to(out, &be[skip..]);
}

/// Appends the encoding of a 256-bit unsigned integer (big-endian, no leading zeros).
pub fn encode_u256_to(out: &mut Vec<u8>, n: &U256) {
    let be: [u8; 32] = n.to_be_bytes();
    let skip = be.iter().take_while(|b| **b == 0).count();
    encode_bytes_to(out, &be[skip..]);
}

/// Wraps already-encoded items (`payload`) into a list.
pub fn encode_list(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 9);
    push_header(&mut out, 0xc0, payload.len());
    out.extend_from_slice(payload);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ember_evm::parse_hex;

    // Vectors from the Ethereum wiki's RLP page and ethereum/tests RLPTests/rlptest.json.
    #[test]
    fn strings() {
        assert_eq!(encode_bytes(b""), vec![0x80]);
        assert_eq!(encode_bytes(b"dog"), vec![0x83, b'd', b'o', b'g']);
        assert_eq!(encode_bytes(&[0x00]), vec![0x00]);
        assert_eq!(encode_bytes(&[0x0f]), vec![0x0f]);
        assert_eq!(encode_bytes(&[0x80]), vec![0x81, 0x80]);
        let lorem = b"Lorem ipsum dolor sit amet, consectetur adipisicing elit";
        let mut want = vec![0xb8, 0x38];
        want.extend_from_slice(lorem);
        assert_eq!(encode_bytes(lorem), want);
    }

    #[test]
    fn integers() {
        let enc = |n: u64| {
            let mut v = Vec::new();
            encode_u64_to(&mut v, n);
            v
        };
        assert_eq!(enc(0), vec![0x80]);
        assert_eq!(enc(15), vec![0x0f]);
        assert_eq!(enc(1024), vec![0x82, 0x04, 0x00]);
        assert_eq!(
            enc(0xffff_ffff_ffff_ffff),
            parse_hex("0x88ffffffffffffffff").unwrap()
        );
        let mut v = Vec::new();
        encode_u256_to(&mut v, &U256::from(0x100000u64));
        assert_eq!(v, vec![0x83, 0x10, 0x00, 0x00]);
        let mut v = Vec::new();
        encode_u256_to(&mut v, &U256::ZERO);
        assert_eq!(v, vec![0x80]);
        let mut v = Vec::new();
        encode_u256_to(&mut v, &U256::MAX);
        assert_eq!(v.len(), 33);
        assert_eq!(v[0], 0xa0);
    }

    #[test]
    fn lists() {
        assert_eq!(encode_list(&[]), vec![0xc0]);
        let mut payload = encode_bytes(b"cat");
        payload.extend(encode_bytes(b"dog"));
        assert_eq!(
            encode_list(&payload),
            vec![0xc8, 0x83, b'c', b'a', b't', 0x83, b'd', b'o', b'g']
        );
        // A list whose payload is 56 bytes takes a long-form header.
        let long = encode_list(&[0x01; 56]);
        assert_eq!(&long[..2], &[0xf8, 56]);
        assert_eq!(long.len(), 58);
    }
}
