//! P256VERIFY (0x100): ECDSA verification over secp256r1 (NIST P-256), from
//! [EIP-7951](https://eips.ethereum.org/EIPS/eip-7951) (Osaka).
//!
//! Input is exactly 160 bytes: `hash ‖ r ‖ s ‖ qx ‖ qy`. A valid signature returns the
//! 32-byte word 1; anything else (wrong length, r or s outside (0, n), a public key
//! coordinate not below p, a key off the curve, a signature that does not verify) returns
//! empty output. Both are successes and both cost the full price.

use super::{charge, PrecompileOutput, PrecompileResult};
use crate::primitives::Bytes;
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::{EncodedPoint, FieldBytes};

/// The flat price.
const P256VERIFY_GAS: u64 = 6900;

/// The exact input length.
const INPUT_LEN: usize = 160;

/// 0x100: verifies a P-256 signature over a 32-byte hash.
pub(super) fn p256_verify(input: &[u8], gas_limit: u64) -> PrecompileResult {
    let gas_used = charge(P256VERIFY_GAS, gas_limit)?;
    let output = if verify(input) {
        let mut word = [0u8; 32];
        word[31] = 1;
        Bytes::copy_from_slice(&word)
    } else {
        Bytes::new()
    };
    Ok(PrecompileOutput { gas_used, output })
}

/// Whether `input` is a well-formed, valid signature.
fn verify(input: &[u8]) -> bool {
    let Ok(input) = <&[u8; INPUT_LEN]>::try_from(input) else {
        return false;
    };
    let field = |offset: usize| {
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(&input[offset..offset + 32]);
        FieldBytes::from(bytes)
    };
    // Rejects r or s that are zero or not below the group order n.
    let Ok(signature) = Signature::from_scalars(field(32), field(64)) else {
        return false;
    };
    // Rejects coordinates not below p and points off the curve; (0, 0) is off the curve,
    // so the point at infinity cannot be passed.
    let point = EncodedPoint::from_affine_coordinates(&field(96), &field(128), false);
    let Ok(key) = VerifyingKey::from_encoded_point(&point) else {
        return false;
    };
    // The hash is used as is (it is exactly the field size), reduced modulo n, and the
    // check compares r with the x-coordinate of the result reduced modulo n.
    key.verify_prehash(&input[..32], &signature).is_ok()
}

#[cfg(test)]
mod tests {
    use super::super::PrecompileError;
    use super::*;

    /// A valid signature from the EEST p256verify vectors.
    const VALID: &str = concat!(
        "bb5a52f42f9c9261ed4361f59422a1e30036e7c32b270c8807a419feca605023",
        "2ba3a8be6b94d5ec80a6d9d1190a436effe50d85a1eee859b8cc6af9bd5c2e18",
        "4cd60b855d442f5b3c7b11eb6c4e0ae7525fe710fab9aa7c77a67f79e6fadd76",
        "2927b10512bae3eddcfe467828128bad2903269919f7086069c8c4df6c732838",
        "c7787964eaac00e5921fb1498a60f4606766b3d9685001558d1a974e7341513e",
    );

    /// A valid signature whose point R has an x-coordinate above n: r is x mod n.
    const X_ABOVE_N: &str = concat!(
        "bb5a52f42f9c9261ed4361f59422a1e30036e7c32b270c8807a419feca605023",
        "000000000000000000000000000000004319055358e8617b0c46353d039cdaab",
        "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc63254e",
        "0ad99500288d466940031d72a9f5445a4d43784640855bf0a69874d2de5fe103",
        "c5011e6ef2c42dcd50d5d3d29f99ae6eba2c80c9244f4c5422f0979ff0c3ba5e",
    );

    fn is_one(output: &Bytes) -> bool {
        output.len() == 32 && output[31] == 1 && output[..31].iter().all(|&b| b == 0)
    }

    #[test]
    fn valid_signatures() {
        for vector in [VALID, X_ABOVE_N] {
            let out = p256_verify(&hex::decode(vector).unwrap(), 6900).unwrap();
            assert_eq!(out.gas_used, 6900);
            assert!(is_one(&out.output));
        }
    }

    #[test]
    fn invalid_inputs_return_empty() {
        let input = hex::decode(VALID).unwrap();
        let mut cases = Vec::new();
        // Wrong hash.
        let mut wrong_hash = input.clone();
        wrong_hash[0] ^= 1;
        cases.push(wrong_hash);
        // Short and long input.
        cases.push(input[..159].to_vec());
        cases.push([input.clone(), vec![0]].concat());
        // s = 0.
        let mut zero_s = input.clone();
        zero_s[64..96].fill(0);
        cases.push(zero_s);
        // r = n.
        let mut r_is_n = input.clone();
        r_is_n[32..64].copy_from_slice(
            &hex::decode("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551").unwrap(),
        );
        cases.push(r_is_n);
        // Public key off the curve, and the point at infinity encoded as (0, 0).
        let mut off_curve = input.clone();
        off_curve[159] ^= 1;
        cases.push(off_curve);
        let mut infinity = input.clone();
        infinity[96..].fill(0);
        cases.push(infinity);
        for case in cases {
            let out = p256_verify(&case, 10_000).unwrap();
            assert_eq!(out.gas_used, 6900);
            assert!(out.output.is_empty());
        }
        assert_eq!(p256_verify(&input, 6899), Err(PrecompileError::OutOfGas));
    }
}
