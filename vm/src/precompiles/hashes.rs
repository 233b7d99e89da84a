//! The Frontier hashing and copying precompiles: SHA256 (0x02), RIPEMD160 (0x03) and
//! IDENTITY (0x04), each priced `base + per_word * words` as in the
//! [Yellow Paper](https://ethereum.github.io/yellowpaper/paper.pdf), appendix E.

use super::{charge, linear_cost, PrecompileOutput, PrecompileResult};
use crate::primitives::Bytes;
use ripemd::Ripemd160;
use sha2::{Digest, Sha256};

/// SHA256 base price.
const SHA256_BASE: u64 = 60;
/// SHA256 price per 32-byte word of input.
const SHA256_WORD: u64 = 12;
/// RIPEMD160 base price.
const RIPEMD160_BASE: u64 = 600;
/// RIPEMD160 price per 32-byte word of input.
const RIPEMD160_WORD: u64 = 120;
/// IDENTITY base price.
const IDENTITY_BASE: u64 = 15;
/// IDENTITY price per 32-byte word of input.
const IDENTITY_WORD: u64 = 3;

/// 0x02: the SHA-256 digest of the input.
pub(super) fn sha256(input: &[u8], gas_limit: u64) -> PrecompileResult {
    let gas_used = charge(linear_cost(input.len(), SHA256_BASE, SHA256_WORD), gas_limit)?;
    let digest = Sha256::digest(input);
    Ok(PrecompileOutput { gas_used, output: Bytes::copy_from_slice(&digest) })
}

/// 0x03: the RIPEMD-160 digest of the input, left-padded with zeros to 32 bytes.
pub(super) fn ripemd160(input: &[u8], gas_limit: u64) -> PrecompileResult {
    let gas_used = charge(linear_cost(input.len(), RIPEMD160_BASE, RIPEMD160_WORD), gas_limit)?;
    let mut output = [0u8; 32];
    output[12..].copy_from_slice(&Ripemd160::digest(input));
    Ok(PrecompileOutput { gas_used, output: Bytes::copy_from_slice(&output) })
}

/// 0x04: the input, unchanged.
pub(super) fn identity(input: &[u8], gas_limit: u64) -> PrecompileResult {
    let gas_used = charge(linear_cost(input.len(), IDENTITY_BASE, IDENTITY_WORD), gas_limit)?;
    Ok(PrecompileOutput { gas_used, output: Bytes::copy_from_slice(input) })
}

#[cfg(test)]
mod tests {
    use super::super::PrecompileError;
    use super::*;

    #[test]
    fn sha256_vectors() {
        let out = sha256(b"", 60).unwrap();
        assert_eq!(out.gas_used, 60);
        assert_eq!(
            hex::encode(&out.output),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let out = sha256(b"abc", 100).unwrap();
        assert_eq!(out.gas_used, 72);
        assert_eq!(
            hex::encode(&out.output),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(sha256(&[0u8; 33], 83), Err(PrecompileError::OutOfGas));
        assert_eq!(sha256(&[0u8; 33], 84).unwrap().gas_used, 84);
    }

    #[test]
    fn ripemd160_vectors() {
        let out = ripemd160(b"", 600).unwrap();
        assert_eq!(out.gas_used, 600);
        assert_eq!(
            hex::encode(&out.output),
            "0000000000000000000000009c1185a5c5e9fc54612808977ee8f548b2258d31"
        );
        let out = ripemd160(b"abc", 720).unwrap();
        assert_eq!(out.gas_used, 720);
        assert_eq!(
            hex::encode(&out.output),
            "0000000000000000000000008eb208f7e05d987a9b044a8e98c6b087f15a0bfc"
        );
        assert_eq!(ripemd160(b"abc", 719), Err(PrecompileError::OutOfGas));
    }

    #[test]
    fn identity_copies() {
        let input = [7u8; 65];
        let out = identity(&input, 1_000).unwrap();
        assert_eq!(out.gas_used, 15 + 3 * 3);
        assert_eq!(out.output.as_ref(), &input[..]);
        assert_eq!(identity(&[], 15).unwrap().output.len(), 0);
        assert_eq!(identity(&[1], 17), Err(PrecompileError::OutOfGas));
    }
}
