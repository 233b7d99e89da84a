//! The G1 precompiles of [EIP-2537](https://eips.ethereum.org/EIPS/eip-2537): G1ADD (0x0b),
//! G1MSM (0x0c) and MAP_FP_TO_G1 (0x10).

use super::{decode_fp, encode_fp, msm_cost, scalar_le, FP_LEN, G1_MSM_DISCOUNT, SCALAR_LEN};
use crate::precompiles::{charge, PrecompileError, PrecompileOutput, PrecompileResult};
use crate::primitives::Bytes;
use blst::{
    blst_map_to_g1, blst_p1, blst_p1_add_or_double_affine, blst_p1_affine, blst_p1_affine_in_g1,
    blst_p1_affine_on_curve, blst_p1_from_affine, blst_p1_is_inf, blst_p1_mult, blst_p1_to_affine,
    blst_p1s_mult_pippenger, blst_p1s_mult_pippenger_scratch_sizeof, limb_t,
};

/// Length of an encoded G1 point.
pub(super) const G1_LEN: usize = 2 * FP_LEN;
/// Length of one G1MSM input element: a point then a scalar.
const MSM_PAIR_LEN: usize = G1_LEN + SCALAR_LEN;

/// G1ADD's flat price.
const ADD_GAS: u64 = 375;
/// G1MSM's price per point before the discount.
const MUL_GAS: u64 = 12_000;
/// MAP_FP_TO_G1's flat price.
const MAP_GAS: u64 = 5_500;

/// 0x0b: the sum of two G1 points, with no subgroup check.
pub(crate) fn add(input: &[u8], gas_limit: u64) -> PrecompileResult {
    if input.len() != 2 * G1_LEN {
        return Err(PrecompileError::Failed);
    }
    let gas_used = charge(ADD_GAS, gas_limit)?;
    let a = decode_g1(&input[..G1_LEN], false)?;
    let b = decode_g1(&input[G1_LEN..], false)?;
    let mut a_jacobian = blst_p1::default();
    let mut sum = blst_p1::default();
    // SAFETY: every pointer comes from a live reference to an initialised blst value of
    // the type the function expects; the outputs are distinct from the inputs.
    unsafe {
        blst_p1_from_affine(&mut a_jacobian, &a);
        blst_p1_add_or_double_affine(&mut sum, &a_jacobian, &b);
    }
    Ok(PrecompileOutput { gas_used, output: encode_g1(&sum) })
}

/// 0x0c: `sum(scalar_i * point_i)` over one or more (point, scalar) pairs, each point
/// checked for subgroup membership.
pub(crate) fn msm(input: &[u8], gas_limit: u64) -> PrecompileResult {
    if input.is_empty() || !input.len().is_multiple_of(MSM_PAIR_LEN) {
        return Err(PrecompileError::Failed);
    }
    let k = input.len() / MSM_PAIR_LEN;
    let gas_used = charge(msm_cost(k, MUL_GAS, &G1_MSM_DISCOUNT), gas_limit)?;

    let mut points = Vec::with_capacity(k);
    let mut scalars = Vec::with_capacity(k);
    for chunk in input.chunks_exact(MSM_PAIR_LEN) {
        let point = decode_g1(&chunk[..G1_LEN], true)?;
        let scalar = scalar_le(&chunk[G1_LEN..]);
        // Terms that are infinity contribute nothing; dropping them keeps blst's
        // multi-point routines on their well-trodden inputs.
        if !is_zero_affine(&point) && scalar != [0u8; SCALAR_LEN] {
            points.push(point);
            scalars.push(scalar);
        }
    }
    let result = multi_scalar_mul(&points, &scalars);
    Ok(PrecompileOutput { gas_used, output: encode_g1(&result) })
}

/// 0x10: the field element mapped to G1 by the simplified SWU map of
/// [RFC 9380](https://www.rfc-editor.org/rfc/rfc9380) followed by cofactor clearing.
pub(crate) fn map_fp_to_g1(input: &[u8], gas_limit: u64) -> PrecompileResult {
    if input.len() != FP_LEN {
        return Err(PrecompileError::Failed);
    }
    let gas_used = charge(MAP_GAS, gas_limit)?;
    let u = decode_fp(input)?;
    let mut point = blst_p1::default();
    // SAFETY: `point` and `u` are valid blst values; a null second element asks for the
    // single-element map, which blst documents.
    unsafe { blst_map_to_g1(&mut point, &u, core::ptr::null()) };
    Ok(PrecompileOutput { gas_used, output: encode_g1(&point) })
}

/// `sum(scalars[i] * points[i])`; the scalars are 32-byte little-endian.
fn multi_scalar_mul(points: &[blst_p1_affine], scalars: &[[u8; SCALAR_LEN]]) -> blst_p1 {
    // The default, all-zero Jacobian point (Z = 0) is infinity: the empty sum.
    let mut result = blst_p1::default();
    match points {
        [] => {}
        [point] => {
            let mut jacobian = blst_p1::default();
            // SAFETY: valid blst values; the scalar is 32 bytes, 256 bits as passed.
            unsafe {
                blst_p1_from_affine(&mut jacobian, point);
                blst_p1_mult(&mut result, &jacobian, scalars[0].as_ptr(), 256);
            }
        }
        _ => {
            let point_ptrs: Vec<*const blst_p1_affine> =
                points.iter().map(|p| p as *const blst_p1_affine).collect();
            let scalar_ptrs: Vec<*const u8> = scalars.iter().map(|s| s.as_ptr()).collect();
            // SAFETY: a pure size computation.
            let scratch_bytes = unsafe { blst_p1s_mult_pippenger_scratch_sizeof(points.len()) };
            let mut scratch = vec![0 as limb_t; scratch_bytes.div_ceil(size_of::<limb_t>())];
            // SAFETY: both pointer arrays hold `points.len()` non-null pointers to live
            // points and 32-byte scalars (256 bits as passed), and the scratch buffer is
            // at least the size blst asked for.
            unsafe {
                blst_p1s_mult_pippenger(
                    &mut result,
                    point_ptrs.as_ptr(),
                    points.len(),
                    scalar_ptrs.as_ptr(),
                    256,
                    scratch.as_mut_ptr(),
                );
            }
        }
    }
    result
}

/// A G1 point from its 128-byte encoding, checked to be on the curve and, when
/// `subgroup_check` is set, in the prime-order subgroup.
pub(super) fn decode_g1(bytes: &[u8], subgroup_check: bool) -> Result<blst_p1_affine, PrecompileError> {
    let point = blst_p1_affine { x: decode_fp(&bytes[..FP_LEN])?, y: decode_fp(&bytes[FP_LEN..G1_LEN])? };
    if is_zero_affine(&point) {
        return Ok(point);
    }
    // SAFETY: `point` is an initialised affine point.
    let on_curve = unsafe { blst_p1_affine_on_curve(&point) };
    // SAFETY: as above; the subgroup check is only meaningful for points on the curve.
    if !on_curve || (subgroup_check && !unsafe { blst_p1_affine_in_g1(&point) }) {
        return Err(PrecompileError::Failed);
    }
    Ok(point)
}

/// Whether an affine point is the all-zero encoding of infinity.
pub(super) fn is_zero_affine(point: &blst_p1_affine) -> bool {
    point.x.l.iter().chain(&point.y.l).all(|&limb| limb == 0)
}

/// The 128-byte encoding of a Jacobian point: its affine `x ‖ y`, zeros for infinity.
fn encode_g1(point: &blst_p1) -> Bytes {
    let mut out = [0u8; G1_LEN];
    // SAFETY: `point` is an initialised Jacobian point.
    if !unsafe { blst_p1_is_inf(point) } {
        let mut affine = blst_p1_affine::default();
        // SAFETY: valid input and output locations of the expected types.
        unsafe { blst_p1_to_affine(&mut affine, point) };
        encode_fp(&affine.x, &mut out[..FP_LEN]);
        encode_fp(&affine.y, &mut out[FP_LEN..]);
    }
    Bytes::copy_from_slice(&out)
}

#[cfg(test)]
mod tests {
    use super::super::generators::G1;
    use super::*;
    use crate::primitives::keccak256;

    fn generator() -> Vec<u8> {
        hex::decode(G1).unwrap()
    }

    fn scalar(n: u8) -> [u8; 32] {
        let mut s = [0u8; 32];
        s[31] = n;
        s
    }

    #[test]
    fn add_then_msm_agree() {
        let g = generator();
        let doubled = add(&[g.clone(), g.clone()].concat(), 375).unwrap();
        assert_eq!(doubled.gas_used, 375);
        let by_two = msm(&[g.clone(), scalar(2).to_vec()].concat(), 12_000).unwrap();
        assert_eq!(by_two.gas_used, 12_000);
        assert_eq!(doubled.output, by_two.output);
        // 2G + 3G with the multi-point path equals 5G with the single-point path.
        let input = [g.clone(), scalar(2).to_vec(), g.clone(), scalar(3).to_vec()].concat();
        let five = msm(&input, 22_776).unwrap();
        assert_eq!(five.gas_used, 22_776);
        let single = msm(&[g.clone(), scalar(5).to_vec()].concat(), 12_000).unwrap();
        assert_eq!(five.output, single.output);
        assert_ne!(five.output, by_two.output);
    }

    #[test]
    fn map_fixture_vector() {
        // From the EEST bls12_map_fp_to_g1 vectors, which give the keccak of the output.
        let input = hex::decode(concat!(
            "00000000000000000000000000000000156c8a6a2c184569d69a76be144b5cdc",
            "5141d2d2ca4fe341f011e25e3969c55ad9e9b9ce2eb833c81a908e5fa4ac5f03",
        ))
        .unwrap();
        let out = map_fp_to_g1(&input, 5_500).unwrap();
        assert_eq!(out.gas_used, 5_500);
        assert_eq!(
            hex::encode(keccak256(&out.output)),
            "ee231c8aff47972fa4082bad19cd839aaf255d0cca01d27fccb3258b52e67e80"
        );
        // The mapped point is in G1: it is a valid MSM input.
        assert!(decode_g1(&out.output, true).is_ok());
    }

    #[test]
    fn infinity_handling() {
        let g = generator();
        let zero = vec![0u8; G1_LEN];
        let out = add(&[g.clone(), zero.clone()].concat(), 375).unwrap();
        assert_eq!(hex::encode(&out.output), G1);
        let out = add(&[zero.clone(), zero.clone()].concat(), 375).unwrap();
        assert_eq!(out.output.as_ref(), &zero[..]);
        // A zero scalar and an infinity point both give infinity.
        let input = [g.clone(), scalar(0).to_vec(), zero, scalar(9).to_vec()].concat();
        assert_eq!(msm(&input, 100_000).unwrap().output.as_ref(), &[0u8; G1_LEN][..]);
    }

    #[test]
    fn invalid_inputs() {
        let g = generator();
        assert_eq!(add(&g, 375), Err(PrecompileError::Failed));
        assert_eq!(add(&[g.clone(), g.clone()].concat(), 374), Err(PrecompileError::OutOfGas));
        assert_eq!(msm(&[], 100_000), Err(PrecompileError::Failed));
        assert_eq!(msm(&g, 100_000), Err(PrecompileError::Failed));
        // (G.x, G.y + 1) is off the curve.
        let mut off = g.clone();
        off[127] ^= 1;
        assert_eq!(add(&[g.clone(), off].concat(), 375), Err(PrecompileError::Failed));
        assert_eq!(map_fp_to_g1(&[0u8; 63], 5_500), Err(PrecompileError::Failed));
        assert_eq!(map_fp_to_g1(&[0u8; 64], 5_499), Err(PrecompileError::OutOfGas));
    }
}
