//! Receipts as the receipts trie holds them, from Byzantium on:
//! `rlp([status, cumulativeGasUsed, logsBloom, logs])`, prefixed with the transaction type
//! for typed transactions ([EIP-2718](https://eips.ethereum.org/EIPS/eip-2718)). Earlier
//! receipts carry an intermediate state root instead of the status
//! ([EIP-658](https://eips.ethereum.org/EIPS/eip-658)), which replay cannot reproduce.

use super::bloom::Bloom;
use metisvm_state::ordered_trie_root;
use metisvm_vm::{rlp, Log, B256};

/// What a transaction's receipt records.
#[derive(Debug, Clone)]
pub struct Receipt {
    /// EIP-2718 type (0 for legacy).
    pub tx_type: u8,
    /// Whether execution succeeded.
    pub success: bool,
    /// Gas used in the block up to and including this transaction.
    pub cumulative_gas_used: u64,
    /// The bloom of `logs`.
    pub bloom: Bloom,
    /// The logs, empty unless successful.
    pub logs: Vec<Log>,
}

impl Receipt {
    /// The consensus encoding (Byzantium and later): type prefix, then the RLP list.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if self.tx_type != 0 {
            out.push(self.tx_type);
        }
        rlp::encode_list(&mut out, |p| {
            rlp::encode_u64(p, u64::from(self.success));
            rlp::encode_u64(p, self.cumulative_gas_used);
            rlp::encode_bytes(p, &self.bloom.0);
            rlp::encode_list(p, |l| {
                for log in &self.logs {
                    rlp::encode_list(l, |e| {
                        rlp::encode_address(e, &log.address);
                        rlp::encode_list(e, |t| {
                            for topic in &log.topics {
                                rlp::encode_b256(t, topic);
                            }
                        });
                        rlp::encode_bytes(e, &log.data);
                    });
                }
            });
        });
        out
    }
}

/// The receipts root: a trie keyed by `rlp(index)`.
pub fn receipts_root(receipts: &[Receipt]) -> B256 {
    ordered_trie_root(receipts.iter().enumerate().map(|(i, r)| {
        let mut key = Vec::with_capacity(9);
        rlp::encode_u64(&mut key, i as u64);
        (key, r.encode())
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use metisvm_vm::{Address, Bytes};

    #[test]
    fn encoding_layout() {
        let receipt = Receipt {
            tx_type: 2,
            success: false,
            cumulative_gas_used: 21_000,
            bloom: Bloom::ZERO,
            logs: vec![],
        };
        let enc = receipt.encode();
        // 0x02, list header (payload 1 + 3 + 259 + 1 = 264 bytes: 0xf9 0x01 0x08), status 0x80,
        // gas 0x82 0x52 0x08, bloom 0xb9 0x01 0x00 + 256 zeros, logs 0xc0.
        assert_eq!(&enc[..8], &[0x02, 0xf9, 0x01, 0x08, 0x80, 0x82, 0x52, 0x08]);
        assert_eq!(&enc[8..11], &[0xb9, 0x01, 0x00]);
        assert_eq!(enc.len(), 1 + 3 + 264);
        assert_eq!(enc[enc.len() - 1], 0xc0);

        let log = Log { address: Address::with_last_byte(1), topics: vec![], data: Bytes::from(vec![7]) };
        let legacy = Receipt { tx_type: 0, success: true, logs: vec![log], ..receipt };
        let enc = legacy.encode();
        assert_eq!(&enc[..4], &[0xf9, 0x01, 0x20, 0x01]);
        // The log: [address, [], 0x07] = 0xd7 0x94 <20 bytes> 0xc0 0x07, inside the list 0xd8.
        assert_eq!(&enc[enc.len() - 25..enc.len() - 22], &[0xd8, 0xd7, 0x94]);
        assert_eq!(&enc[enc.len() - 2..], &[0xc0, 0x07]);
    }

    #[test]
    fn empty_root() {
        assert_eq!(receipts_root(&[]), metisvm_state::EMPTY_ROOT_HASH);
    }
}
