//! The KZG point evaluation precompile (0x0a) from
//! [EIP-4844](https://eips.ethereum.org/EIPS/eip-4844) (Cancun).
//!
//! Input is exactly 192 bytes: `versioned_hash ‖ z ‖ y ‖ commitment ‖ proof`. The call
//! succeeds when the commitment hashes to the versioned hash and the proof shows that the
//! committed polynomial takes the value `y` at `z`; it then returns the blob's number of
//! field elements and the BLS scalar field modulus, two 32-byte words. The proof is checked
//! by c-kzg against the mainnet trusted setup it embeds.

use super::{charge, PrecompileError, PrecompileOutput, PrecompileResult};
use crate::primitives::Bytes;
use c_kzg::{Bytes32, Bytes48};
use sha2::{Digest, Sha256};

/// The flat price.
const POINT_EVALUATION_GAS: u64 = 50_000;

/// The exact input length.
const INPUT_LEN: usize = 192;

/// The first byte of a versioned hash of a KZG commitment.
const VERSIONED_HASH_VERSION_KZG: u8 = 0x01;

/// The success output: `FIELD_ELEMENTS_PER_BLOB` (4096) and `BLS_MODULUS`, big-endian.
const RETURN_VALUE: [u8; 64] = {
    let mut out = [0u8; 64];
    out[30] = 0x10;
    let modulus: [u8; 32] = [
        0x73, 0xed, 0xa7, 0x53, 0x29, 0x9d, 0x7d, 0x48, 0x33, 0x39, 0xd8, 0x08, 0x09, 0xa1, 0xd8, 0x05, 0x53,
        0xbd, 0xa4, 0x02, 0xff, 0xfe, 0x5b, 0xfe, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01,
    ];
    let mut i = 0;
    while i < 32 {
        out[32 + i] = modulus[i];
        i += 1;
    }
    out
};

/// 0x0a: verifies a KZG proof of a blob evaluation.
pub(super) fn point_evaluation(input: &[u8], gas_limit: u64) -> PrecompileResult {
    let input: &[u8; INPUT_LEN] = input.try_into().map_err(|_| PrecompileError::Failed)?;
    let gas_used = charge(POINT_EVALUATION_GAS, gas_limit)?;

    let versioned_hash = &input[..32];
    let commitment = &input[96..144];
    if versioned_hash != kzg_to_versioned_hash(commitment) {
        return Err(PrecompileError::Failed);
    }
    let z = Bytes32::from_bytes(&input[32..64]).map_err(|_| PrecompileError::Failed)?;
    let y = Bytes32::from_bytes(&input[64..96]).map_err(|_| PrecompileError::Failed)?;
    let commitment = Bytes48::from_bytes(commitment).map_err(|_| PrecompileError::Failed)?;
    let proof = Bytes48::from_bytes(&input[144..192]).map_err(|_| PrecompileError::Failed)?;

    // Precompute level 0: a lookup-free setup; proof verification does not use the tables.
    let settings = c_kzg::ethereum_kzg_settings(0);
    // Malformed points or field elements are errors, a wrong proof is `false`: both fail.
    match settings.verify_kzg_proof(&commitment, &z, &y, &proof) {
        Ok(true) => Ok(PrecompileOutput { gas_used, output: Bytes::copy_from_slice(&RETURN_VALUE) }),
        Ok(false) | Err(_) => Err(PrecompileError::Failed),
    }
}

/// `VERSIONED_HASH_VERSION_KZG ‖ sha256(commitment)[1..]`.
fn kzg_to_versioned_hash(commitment: &[u8]) -> [u8; 32] {
    let mut hash: [u8; 32] = Sha256::digest(commitment).into();
    hash[0] = VERSIONED_HASH_VERSION_KZG;
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The point-at-infinity commitment and proof with z = 0, y = 0: a valid opening of
    /// the zero polynomial (from the EEST `point_evaluation_precompile` vectors).
    const INFINITY_INPUT: &str = concat!(
        "010657f37554c781402a22917dee2f75def7ab966d7b770905398eba3c444014",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "c00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "c00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    );

    /// An opening of a nonzero polynomial, from the c-kzg `verify_kzg_proof` vectors.
    const OPENING_INPUT: &str = concat!(
        "01cf45213dd7b4716864d378f3c6d861467987e4d94b7f79a1f814a697e38637",
        "564c0a11a0f704f4fc3e8acfe0f8245f0ad1347b378fbf96e206da11a5d36306",
        "0000000000000000000000000000000000000000000000000000000000000002",
        "a572cbea904d67468808c8eb50a9450c9721db309128012543902d0ac358a62ae28f75bb8f1c7c42c39a8c5529bf0f4e",
        "c00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    );

    #[test]
    fn valid_proofs() {
        for vector in [INFINITY_INPUT, OPENING_INPUT] {
            let input = hex::decode(vector).unwrap();
            let out = point_evaluation(&input, 50_000).unwrap();
            assert_eq!(out.gas_used, 50_000);
            assert_eq!(
                hex::encode(&out.output),
                concat!(
                    "0000000000000000000000000000000000000000000000000000000000001000",
                    "73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001",
                )
            );
        }
    }

    #[test]
    fn invalid_inputs() {
        let input = hex::decode(OPENING_INPUT).unwrap();
        assert_eq!(point_evaluation(&input, 49_999), Err(PrecompileError::OutOfGas));
        assert_eq!(point_evaluation(&input[..191], 50_000), Err(PrecompileError::Failed));
        // A wrong claimed value.
        let mut wrong_y = input.clone();
        wrong_y[95] = 3;
        assert_eq!(point_evaluation(&wrong_y, 50_000), Err(PrecompileError::Failed));
        // A versioned hash with the wrong version byte.
        let mut wrong_version = input.clone();
        wrong_version[0] = 0x02;
        assert_eq!(point_evaluation(&wrong_version, 50_000), Err(PrecompileError::Failed));
        // z not below the BLS modulus.
        let mut big_z = hex::decode(INFINITY_INPUT).unwrap();
        big_z[32..64].fill(0xff);
        assert_eq!(point_evaluation(&big_z, 50_000), Err(PrecompileError::Failed));
    }
}
