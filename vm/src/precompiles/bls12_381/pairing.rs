//! PAIRING_CHECK (0x0f) of [EIP-2537](https://eips.ethereum.org/EIPS/eip-2537): whether
//! `prod e(P_i, Q_i)` is the identity of the target group.
//!
//! The product is taken as one Miller loop per pair, multiplied together, followed by a
//! single final exponentiation: the final exponentiation is a homomorphism, so this equals
//! the product of the full pairings at a fraction of the cost.

use super::g1::{self, G1_LEN};
use super::g2::{self, G2_LEN};
use crate::precompiles::{charge, PrecompileError, PrecompileOutput, PrecompileResult};
use crate::primitives::Bytes;
use blst::{blst_final_exp, blst_fp12, blst_fp12_is_one, blst_fp12_mul, blst_miller_loop};

/// Length of one input element: a G1 point then a G2 point.
const PAIR_LEN: usize = G1_LEN + G2_LEN;
/// The base price.
const BASE_GAS: u64 = 37_700;
/// The price per pair.
const PER_PAIR_GAS: u64 = 32_600;

/// 0x0f: 1 as a 32-byte word when the product of the pairings of the given pairs is one,
/// 0 otherwise. Every point is checked for subgroup membership.
pub(crate) fn pairing_check(input: &[u8], gas_limit: u64) -> PrecompileResult {
    if input.is_empty() || !input.len().is_multiple_of(PAIR_LEN) {
        return Err(PrecompileError::Failed);
    }
    let k = (input.len() / PAIR_LEN) as u64;
    let gas_used = charge(PER_PAIR_GAS.saturating_mul(k).saturating_add(BASE_GAS), gas_limit)?;

    let mut pairs = Vec::with_capacity(input.len() / PAIR_LEN);
    for chunk in input.chunks_exact(PAIR_LEN) {
        let p = g1::decode_g1(&chunk[..G1_LEN], true)?;
        let q = g2::decode_g2(&chunk[G1_LEN..], true)?;
        // A pair with a point at infinity contributes a factor of one.
        if !g1::is_zero_affine(&p) && !g2::is_zero_affine(&q) {
            pairs.push((p, q));
        }
    }

    let mut product: Option<blst_fp12> = None;
    for (p, q) in &pairs {
        let mut miller = blst_fp12::default();
        // SAFETY: valid output location and initialised affine points of the expected
        // types, both on their curves and in their subgroups.
        unsafe { blst_miller_loop(&mut miller, q, p) };
        product = Some(match product {
            None => miller,
            Some(acc) => {
                let mut next = blst_fp12::default();
                // SAFETY: initialised field elements; the output is a separate value.
                unsafe { blst_fp12_mul(&mut next, &acc, &miller) };
                next
            }
        });
    }
    let holds = match product {
        None => true,
        Some(product) => {
            let mut result = blst_fp12::default();
            // SAFETY: initialised input, separate output, then a read-only check.
            unsafe {
                blst_final_exp(&mut result, &product);
                blst_fp12_is_one(&result)
            }
        }
    };

    let mut word = [0u8; 32];
    word[31] = u8::from(holds);
    Ok(PrecompileOutput { gas_used, output: Bytes::copy_from_slice(&word) })
}

#[cfg(test)]
mod tests {
    use super::super::generators::{G1, G2};
    use super::*;

    /// -G1: the generator with y replaced by p - y.
    const NEG_G1: &str = concat!(
        "0000000000000000000000000000000017f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb",
        "00000000000000000000000000000000114d1d6855d545a8aa7d76c8cf2e21f267816aef1db507c96655b9d5caac42364e6f38ba0ecb751bad54dcd6b939c2ca",
    );

    fn output_word(out: &PrecompileOutput) -> u8 {
        assert_eq!(out.output.len(), 32);
        assert!(out.output[..31].iter().all(|&b| b == 0));
        out.output[31]
    }

    #[test]
    fn bilinearity() {
        // e(G1, G2) * e(-G1, G2) = 1.
        let input = hex::decode([G1, G2, NEG_G1, G2].concat()).unwrap();
        let out = pairing_check(&input, 102_900).unwrap();
        assert_eq!((out.gas_used, output_word(&out)), (102_900, 1));
        // e(G1, G2) alone is not 1.
        let input = hex::decode([G1, G2].concat()).unwrap();
        assert_eq!(output_word(&pairing_check(&input, 70_300).unwrap()), 0);
        // Pairs with infinity are skipped: a lone (G1, 0) pair gives 1.
        let input = [hex::decode(G1).unwrap(), vec![0u8; G2_LEN]].concat();
        assert_eq!(output_word(&pairing_check(&input, 70_300).unwrap()), 1);
    }

    #[test]
    fn invalid_inputs() {
        assert_eq!(pairing_check(&[], 100_000), Err(PrecompileError::Failed));
        let input = hex::decode([G1, G2].concat()).unwrap();
        assert_eq!(pairing_check(&input[..383], 100_000), Err(PrecompileError::Failed));
        assert_eq!(pairing_check(&input, 70_299), Err(PrecompileError::OutOfGas));
        let mut off_curve = input.clone();
        off_curve[127] ^= 1;
        assert_eq!(pairing_check(&off_curve, 70_300), Err(PrecompileError::Failed));
    }
}
