//! Logs emitted by LOG0..LOG4 and the logs hash state tests compare.

use crate::rlp::{encode_bytes_to, encode_list};
use ember_evm::{keccak256, Address, B256};

/// One log entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Log {
    /// The account that emitted the log.
    pub address: Address,
    /// Zero to four topics.
    pub topics: Vec<B256>,
    /// The log's data.
    pub data: Vec<u8>,
}

/// keccak256 of the RLP list of `[address, [topics…], data]` entries.
pub fn logs_hash(logs: &[Log]) -> B256 {
    let mut payload = Vec::new();
    for log in logs {
        let mut entry = Vec::with_capacity(32 + log.topics.len() * 33 + log.data.len() + 9);
        encode_bytes_to(&mut entry, &log.address.0);
        let mut topics = Vec::with_capacity(log.topics.len() * 33);
        for t in &log.topics {
            encode_bytes_to(&mut topics, &t.0);
        }
        entry.extend(encode_list(&topics));
        encode_bytes_to(&mut entry, &log.data);
        payload.extend(encode_list(&entry));
    }
    keccak256(&encode_list(&payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_logs_hash_to_keccak_of_empty_list() {
        // The `logs` value of every ethereum/tests case that emits nothing.
        assert_eq!(
            logs_hash(&[]),
            B256::from_hex_padded(
                "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347"
            )
            .unwrap()
        );
    }

    #[test]
    fn one_log_encodes_address_topics_and_data() {
        let log = Log {
            address: Address([0x11; 20]),
            topics: vec![B256([0x22; 32])],
            data: vec![0x33],
        };
        // Built by hand: list[ list[ 0x94‖addr, list[0xa0‖topic], 0x33 ] ].
        let mut entry = vec![0x94];
        entry.extend([0x11; 20]);
        entry.extend([0xe1, 0xa0]);
        entry.extend([0x22; 32]);
        entry.push(0x33);
        let mut inner = vec![0xf8, entry.len() as u8];
        inner.extend(&entry);
        let mut outer = vec![0xf8, inner.len() as u8];
        outer.extend(&inner);
        assert_eq!(logs_hash(&[log]), keccak256(&outer));
    }
}
