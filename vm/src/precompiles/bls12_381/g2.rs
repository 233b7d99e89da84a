//! The G2 precompiles of [EIP-2537](https://eips.ethereum.org/EIPS/eip-2537): G2ADD (0x0d),
//! G2MSM (0x0e) and MAP_FP2_TO_G2 (0x11). They mirror the G1 ones over F_p^2.

use super::{decode_fp2, encode_fp2, msm_cost, scalar_le, FP2_LEN, G2_MSM_DISCOUNT, SCALAR_LEN};
use crate::precompiles::{charge, PrecompileError, PrecompileOutput, PrecompileResult};
use crate::primitives::Bytes;
use blst::{
    blst_map_to_g2, blst_p2, blst_p2_add_or_double_affine, blst_p2_affine, blst_p2_affine_in_g2,
    blst_p2_affine_on_curve, blst_p2_from_affine, blst_p2_is_inf, blst_p2_mult, blst_p2_to_affine,
    blst_p2s_mult_pippenger, blst_p2s_mult_pippenger_scratch_sizeof, limb_t,
};

/// Length of an encoded G2 point.
pub(super) const G2_LEN: usize = 2 * FP2_LEN;
/// Length of one G2MSM input element: a point then a scalar.
const MSM_PAIR_LEN: usize = G2_LEN + SCALAR_LEN;

/// G2ADD's flat price.
const ADD_GAS: u64 = 600;
/// G2MSM's price per point before the discount.
const MUL_GAS: u64 = 22_500;
/// MAP_FP2_TO_G2's flat price.
const MAP_GAS: u64 = 23_800;

/// 0x0d: the sum of two G2 points, with no subgroup check.
pub(crate) fn add(input: &[u8], gas_limit: u64) -> PrecompileResult {
    if input.len() != 2 * G2_LEN {
        return Err(PrecompileError::Failed);
    }
    let gas_used = charge(ADD_GAS, gas_limit)?;
    let a = decode_g2(&input[..G2_LEN], false)?;
    let b = decode_g2(&input[G2_LEN..], false)?;
    let mut a_jacobian = blst_p2::default();
    let mut sum = blst_p2::default();
    // SAFETY: every pointer comes from a live reference to an initialised blst value of
    // the type the function expects; the outputs are distinct from the inputs.
    unsafe {
        blst_p2_from_affine(&mut a_jacobian, &a);
        blst_p2_add_or_double_affine(&mut sum, &a_jacobian, &b);
    }
    Ok(PrecompileOutput { gas_used, output: encode_g2(&sum) })
}

/// 0x0e: `sum(scalar_i * point_i)` over one or more (point, scalar) pairs, each point
/// checked for subgroup membership.
pub(crate) fn msm(input: &[u8], gas_limit: u64) -> PrecompileResult {
    if input.is_empty() || !input.len().is_multiple_of(MSM_PAIR_LEN) {
        return Err(PrecompileError::Failed);
    }
    let k = input.len() / MSM_PAIR_LEN;
    let gas_used = charge(msm_cost(k, MUL_GAS, &G2_MSM_DISCOUNT), gas_limit)?;

    let mut points = Vec::with_capacity(k);
    let mut scalars = Vec::with_capacity(k);
    for chunk in input.chunks_exact(MSM_PAIR_LEN) {
        let point = decode_g2(&chunk[..G2_LEN], true)?;
        let scalar = scalar_le(&chunk[G2_LEN..]);
        // Terms that are infinity contribute nothing.
        if !is_zero_affine(&point) && scalar != [0u8; SCALAR_LEN] {
            points.push(point);
            scalars.push(scalar);
        }
    }
    let result = multi_scalar_mul(&points, &scalars);
    Ok(PrecompileOutput { gas_used, output: encode_g2(&result) })
}

/// 0x11: the F_p^2 element mapped to G2 by the simplified SWU map of
/// [RFC 9380](https://www.rfc-editor.org/rfc/rfc9380) followed by cofactor clearing.
pub(crate) fn map_fp2_to_g2(input: &[u8], gas_limit: u64) -> PrecompileResult {
    if input.len() != FP2_LEN {
        return Err(PrecompileError::Failed);
    }
    let gas_used = charge(MAP_GAS, gas_limit)?;
    let u = decode_fp2(input)?;
    let mut point = blst_p2::default();
    // SAFETY: `point` and `u` are valid blst values; a null second element asks for the
    // single-element map, which blst documents.
    unsafe { blst_map_to_g2(&mut point, &u, core::ptr::null()) };
    Ok(PrecompileOutput { gas_used, output: encode_g2(&point) })
}

/// `sum(scalars[i] * points[i])`; the scalars are 32-byte little-endian.
fn multi_scalar_mul(points: &[blst_p2_affine], scalars: &[[u8; SCALAR_LEN]]) -> blst_p2 {
    // The default, all-zero Jacobian point (Z = 0) is infinity: the empty sum.
    let mut result = blst_p2::default();
    match points {
        [] => {}
        [point] => {
            let mut jacobian = blst_p2::default();
            // SAFETY: valid blst values; the scalar is 32 bytes, 256 bits as passed.
            unsafe {
                blst_p2_from_affine(&mut jacobian, point);
                blst_p2_mult(&mut result, &jacobian, scalars[0].as_ptr(), 256);
            }
        }
        _ => {
            let point_ptrs: Vec<*const blst_p2_affine> =
                points.iter().map(|p| p as *const blst_p2_affine).collect();
            let scalar_ptrs: Vec<*const u8> = scalars.iter().map(|s| s.as_ptr()).collect();
            // SAFETY: a pure size computation.
            let scratch_bytes = unsafe { blst_p2s_mult_pippenger_scratch_sizeof(points.len()) };
            let mut scratch = vec![0 as limb_t; scratch_bytes.div_ceil(size_of::<limb_t>())];
            // SAFETY: both pointer arrays hold `points.len()` non-null pointers to live
            // points and 32-byte scalars (256 bits as passed), and the scratch buffer is
            // at least the size blst asked for.
            unsafe {
                blst_p2s_mult_pippenger(
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

/// A G2 point from its 256-byte encoding, checked to be on the curve and, when
/// `subgroup_check` is set, in the prime-order subgroup.
pub(super) fn decode_g2(bytes: &[u8], subgroup_check: bool) -> Result<blst_p2_affine, PrecompileError> {
    let point = blst_p2_affine { x: decode_fp2(&bytes[..FP2_LEN])?, y: decode_fp2(&bytes[FP2_LEN..G2_LEN])? };
    if is_zero_affine(&point) {
        return Ok(point);
    }
    // SAFETY: `point` is an initialised affine point.
    let on_curve = unsafe { blst_p2_affine_on_curve(&point) };
    // SAFETY: as above; the subgroup check is only meaningful for points on the curve.
    if !on_curve || (subgroup_check && !unsafe { blst_p2_affine_in_g2(&point) }) {
        return Err(PrecompileError::Failed);
    }
    Ok(point)
}

/// Whether an affine point is the all-zero encoding of infinity.
pub(super) fn is_zero_affine(point: &blst_p2_affine) -> bool {
    [&point.x, &point.y].iter().flat_map(|c| c.fp.iter()).all(|fp| fp.l.iter().all(|&l| l == 0))
}

/// The 256-byte encoding of a Jacobian point: its affine `x ‖ y`, zeros for infinity.
fn encode_g2(point: &blst_p2) -> Bytes {
    let mut out = [0u8; G2_LEN];
    // SAFETY: `point` is an initialised Jacobian point.
    if !unsafe { blst_p2_is_inf(point) } {
        let mut affine = blst_p2_affine::default();
        // SAFETY: valid input and output locations of the expected types.
        unsafe { blst_p2_to_affine(&mut affine, point) };
        encode_fp2(&affine.x, &mut out[..FP2_LEN]);
        encode_fp2(&affine.y, &mut out[FP2_LEN..]);
    }
    Bytes::copy_from_slice(&out)
}

#[cfg(test)]
mod tests {
    use super::super::generators::G2;
    use super::*;
    use crate::primitives::keccak256;

    fn scalar(n: u8) -> [u8; 32] {
        let mut s = [0u8; 32];
        s[31] = n;
        s
    }

    #[test]
    fn add_then_msm_agree() {
        let g = hex::decode(G2).unwrap();
        let doubled = add(&[g.clone(), g.clone()].concat(), 600).unwrap();
        assert_eq!(doubled.gas_used, 600);
        let by_two = msm(&[g.clone(), scalar(2).to_vec()].concat(), 22_500).unwrap();
        assert_eq!((by_two.gas_used, &by_two.output), (22_500, &doubled.output));
        let input = [g.clone(), scalar(2).to_vec(), g.clone(), scalar(3).to_vec()].concat();
        let five = msm(&input, 45_000).unwrap();
        assert_eq!(five.gas_used, 45_000);
        let single = msm(&[g.clone(), scalar(5).to_vec()].concat(), 22_500).unwrap();
        assert_eq!(five.output, single.output);
        assert_ne!(five.output, doubled.output);
        // G + infinity = G.
        let out = add(&[g.clone(), vec![0u8; G2_LEN]].concat(), 600).unwrap();
        assert_eq!(hex::encode(&out.output), G2);
    }

    #[test]
    fn map_fixture_vector() {
        // The RFC 9380 vector for msg "abcdef0123456789", via the EEST bls12_map_fp2_to_g2
        // vectors, which give the keccak of the output.
        let input = hex::decode(concat!(
            "0000000000000000000000000000000018c16fe362b7dbdfa102e42bdfd3e2f4",
            "e6191d479437a59db4eb716986bf08ee1f42634db66bde97d6c16bbfd342b3b8",
            "000000000000000000000000000000000e37812ce1b146d998d5f92bdd5ada2a",
            "31bfd63dfe18311aa91637b5f279dd045763166aa1615e46a50d8d8f475f184e",
        ))
        .unwrap();
        let out = map_fp2_to_g2(&input, 23_800).unwrap();
        assert_eq!(out.gas_used, 23_800);
        assert_eq!(
            hex::encode(keccak256(&out.output)),
            "0a4db2b810a051198cfcab06505c064a292a2d83815d2e4dcd395c336f743361"
        );
        assert!(decode_g2(&out.output, true).is_ok());
    }

    #[test]
    fn invalid_inputs() {
        let g = hex::decode(G2).unwrap();
        assert_eq!(add(&g, 600), Err(PrecompileError::Failed));
        assert_eq!(add(&[g.clone(), g.clone()].concat(), 599), Err(PrecompileError::OutOfGas));
        let mut off = g.clone();
        off[255] ^= 1;
        assert_eq!(add(&[g.clone(), off].concat(), 600), Err(PrecompileError::Failed));
        assert_eq!(msm(&g, 100_000), Err(PrecompileError::Failed));
        assert_eq!(map_fp2_to_g2(&[0u8; 128], 23_799), Err(PrecompileError::OutOfGas));
        assert_eq!(map_fp2_to_g2(&[0u8; 127], 23_800), Err(PrecompileError::Failed));
    }
}
