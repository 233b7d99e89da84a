//! The word and hash types every MetisVM crate shares, and the keccak-256 helper.
//!
//! `U256` is ruint's 256-bit unsigned integer (re-exported by alloy-primitives), so node
//! teams can pass their own values in without conversion.

pub use alloy_primitives::{Address, Bytes, B256, U256};
use sha3::{Digest, Keccak256};

/// keccak-256 of the empty byte string: the code hash of an account without code.
pub const KECCAK_EMPTY: B256 = B256::new([
    0xc5, 0xd2, 0x46, 0x01, 0x86, 0xf7, 0x23, 0x3c, 0x92, 0x7e, 0x7d, 0xb2, 0xdc, 0xc7, 0x03, 0xc0, 0xe5,
    0x00, 0xb6, 0x53, 0xca, 0x82, 0x27, 0x3b, 0x7b, 0xfa, 0xd8, 0x04, 0x5d, 0x85, 0xa4, 0x70,
]);

/// keccak-256 of `data`.
#[inline]
pub fn keccak256(data: impl AsRef<[u8]>) -> B256 {
    B256::from_slice(&Keccak256::digest(data.as_ref()))
}

/// The 20-byte address held in the low bytes of a stack word.
#[inline]
pub fn word_to_address(word: U256) -> Address {
    let bytes: [u8; 32] = word.to_be_bytes();
    Address::from_slice(&bytes[12..])
}

/// An address widened to a stack word.
#[inline]
pub fn address_to_word(address: Address) -> U256 {
    let mut bytes = [0u8; 32];
    bytes[12..].copy_from_slice(address.as_slice());
    U256::from_be_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_hash_matches_constant() {
        assert_eq!(keccak256([]), KECCAK_EMPTY);
    }

    #[test]
    fn address_word_round_trip() {
        let a = Address::repeat_byte(0xab);
        assert_eq!(word_to_address(address_to_word(a)), a);
    }
}
