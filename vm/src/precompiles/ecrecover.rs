//! ECRECOVER (0x01): the address that signed a hash, from the
//! [Yellow Paper](https://ethereum.github.io/yellowpaper/paper.pdf), appendix E.
//!
//! Input is `hash ‖ v ‖ r ‖ s`, four 32-byte words, zero-padded when short. Any invalid
//! signature (v not exactly 27 or 28, r or s out of range, no recoverable key) is a
//! success with empty output, never a failure.

use super::{charge, read_array, PrecompileOutput, PrecompileResult};
use crate::crypto::recover_signer;
use crate::primitives::{Bytes, B256, U256};

/// ECRECOVER's flat price.
const ECRECOVER_GAS: u64 = 3000;

/// 0x01: the signer's address, left-padded to 32 bytes, or empty output.
pub(super) fn ecrecover(input: &[u8], gas_limit: u64) -> PrecompileResult {
    let gas_used = charge(ECRECOVER_GAS, gas_limit)?;
    let data: [u8; 128] = read_array(input, 0);
    let output = recover(&data).map_or_else(Bytes::new, |word| Bytes::copy_from_slice(&word));
    Ok(PrecompileOutput { gas_used, output })
}

/// The padded signer address for a full 128-byte input, if the signature is valid.
fn recover(data: &[u8; 128]) -> Option<[u8; 32]> {
    // v is a full word: 27 or 28 with 31 leading zero bytes, nothing else.
    let v = &data[32..64];
    if v[..31].iter().any(|&b| b != 0) || !matches!(v[31], 27 | 28) {
        return None;
    }
    let hash = B256::from_slice(&data[..32]);
    let r = U256::from_be_slice(&data[64..96]);
    let s = U256::from_be_slice(&data[96..128]);
    let signer = recover_signer(&hash, r, s, v[31] == 28)?;
    let mut word = [0u8; 32];
    word[12..].copy_from_slice(signer.as_slice());
    Some(word)
}

#[cfg(test)]
mod tests {
    use super::super::PrecompileError;
    use super::*;

    /// A signature by 0x7156526fbd7a3c72969b54f64e42c10fbb768c8a.
    const INPUT: &str = concat!(
        "456e9aea5e197a1f1af7a3e85a3212fa4049a3ba34c2289b4c860fc0b0c64ef3",
        "000000000000000000000000000000000000000000000000000000000000001c",
        "9242685bf161793cc25603c231bc2f568eb630ea16aa137d2664ac8038825608",
        "4f8ae3bd7535248d0bd448298cc2e2071e56992d0774dc340c368ae950852ada",
    );

    #[test]
    fn recovers_known_signer() {
        let input = hex::decode(INPUT).unwrap();
        let out = ecrecover(&input, 3000).unwrap();
        assert_eq!(out.gas_used, 3000);
        assert_eq!(
            hex::encode(&out.output),
            "0000000000000000000000007156526fbd7a3c72969b54f64e42c10fbb768c8a"
        );
        // Trailing bytes past the four words are ignored.
        let mut longer = input.clone();
        longer.extend_from_slice(&[0xff; 10]);
        assert_eq!(ecrecover(&longer, 3000).unwrap().output, out.output);
    }

    #[test]
    fn invalid_signatures_return_empty() {
        let input = hex::decode(INPUT).unwrap();
        // v = 27 recovers some other key (or none), never the signer above.
        let mut other_v = input.clone();
        other_v[63] = 27;
        let out = ecrecover(&other_v, 3000).unwrap();
        assert!(!hex::encode(&out.output).ends_with("7156526fbd7a3c72969b54f64e42c10fbb768c8a"));
        // v with a nonzero high byte.
        let mut bad_v = input.clone();
        bad_v[32] = 1;
        assert!(ecrecover(&bad_v, 3000).unwrap().output.is_empty());
        // v = 29.
        let mut v29 = input.clone();
        v29[63] = 29;
        assert!(ecrecover(&v29, 3000).unwrap().output.is_empty());
        // r = 0.
        let mut zero_r = input.clone();
        zero_r[64..96].fill(0);
        assert!(ecrecover(&zero_r, 3000).unwrap().output.is_empty());
        // Empty input pads to v = 0.
        let out = ecrecover(&[], 5000).unwrap();
        assert_eq!(out.gas_used, 3000);
        assert!(out.output.is_empty());
    }

    #[test]
    fn out_of_gas() {
        assert_eq!(ecrecover(&[], 2999), Err(PrecompileError::OutOfGas));
    }
}
