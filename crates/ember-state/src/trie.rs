//! Merkle Patricia trie root of a set of fixed-length keys (the secure tries of the state and of
//! account storage, whose keys are 32-byte hashes).

use crate::rlp::{encode_bytes, encode_bytes_to, encode_list};
use ember_evm::{keccak256, B256};

/// Root of the empty trie: keccak256(rlp("")).
pub const EMPTY_TRIE_ROOT: B256 = B256([
    0x56, 0xe8, 0x1f, 0x17, 0x1b, 0xcc, 0x55, 0xa6, 0xff, 0x83, 0x45, 0xe6, 0x92, 0xc0, 0xf8, 0x6e,
    0x5b, 0x48, 0xe0, 0x1b, 0x99, 0x6c, 0xad, 0xc0, 0x01, 0x62, 0x2f, 0xb5, 0xe3, 0x63, 0xb4, 0x21,
]);

/// The root hash of a trie holding `items` (key, value). Keys must be distinct; values are
/// stored as given (callers RLP-encode them first, as the state trie requires).
pub fn trie_root(mut items: Vec<(B256, Vec<u8>)>) -> B256 {
    if items.is_empty() {
        return EMPTY_TRIE_ROOT;
    }
    items.sort_unstable_by_key(|item| item.0);
    keccak256(&encode_node(&items, 0))
}

/// The `i`th nibble (4 bits) of a key, high nibble first.
#[inline]
fn nibble(key: &B256, i: usize) -> u8 {
    let b = key.0[i / 2];
    if i.is_multiple_of(2) {
        b >> 4
    } else {
        b & 0x0f
    }
}

/// Hex-prefix encoding of the nibbles `from..64` of `key` (the path of a leaf or extension).
fn hex_prefix(key: &B256, from: usize, to: usize, leaf: bool) -> Vec<u8> {
    let len = to - from;
    let flag = if leaf { 2u8 } else { 0 };
    let mut out = Vec::with_capacity(len / 2 + 1);
    let mut i = from;
    if len % 2 == 1 {
        out.push(((flag + 1) << 4) | nibble(key, i));
        i += 1;
    } else {
        out.push(flag << 4);
    }
    while i < to {
        out.push((nibble(key, i) << 4) | nibble(key, i + 1));
        i += 2;
    }
    out
}

/// Appends how a parent refers to a child node: inline if its encoding is shorter than 32
/// bytes, by hash otherwise.
fn push_ref(out: &mut Vec<u8>, node: Vec<u8>) {
    if node.len() < 32 {
        out.extend_from_slice(&node);
    } else {
        encode_bytes_to(out, &keccak256(&node).0);
    }
}

/// RLP of the node holding the sorted `items`, all of which agree on their first `depth`
/// nibbles.
fn encode_node(items: &[(B256, Vec<u8>)], depth: usize) -> Vec<u8> {
    const KEY_NIBBLES: usize = 64;
    if let [(key, value)] = items {
        let mut payload = encode_bytes(&hex_prefix(key, depth, KEY_NIBBLES, true));
        encode_bytes_to(&mut payload, value);
        return encode_list(&payload);
    }
    // Sorted keys: the prefix shared by all is the one shared by the first and the last.
    let (first, last) = (&items[0].0, &items[items.len() - 1].0);
    let mut common = depth;
    while common < KEY_NIBBLES && nibble(first, common) == nibble(last, common) {
        common += 1;
    }
    if common > depth {
        let mut payload = encode_bytes(&hex_prefix(first, depth, common, false));
        push_ref(&mut payload, encode_branch(items, common));
        return encode_list(&payload);
    }
    encode_branch(items, depth)
}

/// RLP of a branch node splitting the sorted `items` on nibble `depth`.
fn encode_branch(items: &[(B256, Vec<u8>)], depth: usize) -> Vec<u8> {
    let mut payload = Vec::with_capacity(17 * 33);
    let mut rest = items;
    for n in 0..16u8 {
        let split = rest
            .iter()
            .take_while(|(k, _)| nibble(k, depth) == n)
            .count();
        let (group, tail) = rest.split_at(split);
        rest = tail;
        if group.is_empty() {
            payload.push(0x80);
        } else {
            push_ref(&mut payload, encode_node(group, depth + 1));
        }
    }
    // Keys have equal length, so a branch never holds a value.
    payload.push(0x80);
    encode_list(&payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ember_evm::parse_hex;

    fn h(s: &str) -> B256 {
        B256::from_hex_padded(s).unwrap()
    }

    #[test]
    fn empty_root_is_keccak_of_empty_string_rlp() {
        assert_eq!(
            EMPTY_TRIE_ROOT,
            h("0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421")
        );
        assert_eq!(keccak256(&[0x80]), EMPTY_TRIE_ROOT);
        assert_eq!(trie_root(Vec::new()), EMPTY_TRIE_ROOT);
    }

    #[test]
    fn single_leaf_is_hash_of_leaf_node() {
        // A lone leaf: [hex_prefix(all 64 nibbles, leaf) = 0x20 ‖ key, value].
        let key = keccak256(b"k");
        let value = vec![0x01];
        let mut payload = encode_bytes(&[&[0x20u8][..], &key.0[..]].concat());
        payload.extend(encode_bytes(&value));
        let want = keccak256(&encode_list(&payload));
        assert_eq!(trie_root(vec![(key, value)]), want);
    }

    #[test]
    fn hex_prefix_matches_yellow_paper_examples() {
        // Appendix C of the Yellow Paper: [1,2,3,4,5] → 0x112345, [0,1,2,3,4,5] → 0x00012345,
        // [0,f,1,c,b,8] leaf → 0x200f1cb8, [f,1,c,b,8] leaf → 0x3f1cb8.
        let key = key_from_nibbles(&[0, 1, 2, 3, 4, 5]);
        assert_eq!(
            hex_prefix(&key, 1, 6, false),
            parse_hex("0x112345").unwrap()
        );
        assert_eq!(
            hex_prefix(&key, 0, 6, false),
            parse_hex("0x00012345").unwrap()
        );
        let key = key_from_nibbles(&[0, 0xf, 1, 0xc, 0xb, 8]);
        assert_eq!(
            hex_prefix(&key, 0, 6, true),
            parse_hex("0x200f1cb8").unwrap()
        );
        assert_eq!(hex_prefix(&key, 1, 6, true), parse_hex("0x3f1cb8").unwrap());
    }

    /// A key starting with these nibbles, zero after.
    fn key_from_nibbles(nibbles: &[u8]) -> B256 {
        let mut k = [0u8; 32];
        for (i, n) in nibbles.iter().enumerate() {
            k[i / 2] |= if i % 2 == 0 { n << 4 } else { *n };
        }
        B256(k)
    }

    #[test]
    fn order_of_insertion_does_not_matter() {
        let items: Vec<(B256, Vec<u8>)> = (0u8..40)
            .map(|i| (keccak256(&[i]), encode_bytes(&[i, i])))
            .collect();
        let mut reversed = items.clone();
        reversed.reverse();
        assert_eq!(trie_root(items), trie_root(reversed));
    }
}
