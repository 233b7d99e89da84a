//! The alt_bn128 (BN254) precompiles: ECADD (0x06) and ECMUL (0x07) from
//! [EIP-196](https://eips.ethereum.org/EIPS/eip-196), the pairing check (0x08) from
//! [EIP-197](https://eips.ethereum.org/EIPS/eip-197), all from Byzantium and repriced by
//! [EIP-1108](https://eips.ethereum.org/EIPS/eip-1108) in Istanbul.
//!
//! Field elements are 32-byte big-endian words that must be below the field modulus; the
//! point at infinity is encoded as (0, 0). An F_p^2 element `a * i + b` is encoded `a ‖ b`
//! (imaginary part first). ADD and MUL zero-pad short input and ignore the excess; every
//! invalid point (coordinate too large, not on the curve, G2 point outside the subgroup)
//! fails the call.

use super::{charge, read_array, PrecompileError, PrecompileOutput, PrecompileResult};
use crate::fork::Fork;
use crate::primitives::Bytes;
use substrate_bn::{AffineG1, AffineG2, Fq, Fq2, Fr, Group, Gt, G1, G2};

/// The prices of one family member before and after EIP-1108.
struct Prices {
    /// Byzantium to Petersburg.
    byzantium: u64,
    /// From Istanbul on.
    istanbul: u64,
}

impl Prices {
    /// The price in force under `fork`.
    const fn at(&self, fork: Fork) -> u64 {
        if fork.is_enabled_in(Fork::Istanbul) {
            self.istanbul
        } else {
            self.byzantium
        }
    }
}

/// ECADD's flat price.
const ADD: Prices = Prices { byzantium: 500, istanbul: 150 };
/// ECMUL's flat price.
const MUL: Prices = Prices { byzantium: 40_000, istanbul: 6_000 };
/// The pairing check's base price.
const PAIRING_BASE: Prices = Prices { byzantium: 100_000, istanbul: 45_000 };
/// The pairing check's price per (G1, G2) pair.
const PAIRING_PER_PAIR: Prices = Prices { byzantium: 80_000, istanbul: 34_000 };

/// Length of one encoded G1 point.
const G1_LEN: usize = 64;
/// Length of one pairing input element: a G1 point then a G2 point.
const PAIR_LEN: usize = 192;

/// 0x06: the sum of two G1 points.
pub(super) fn add(input: &[u8], gas_limit: u64, fork: Fork) -> PrecompileResult {
    let gas_used = charge(ADD.at(fork), gas_limit)?;
    let data: [u8; 2 * G1_LEN] = read_array(input, 0);
    let a = decode_g1(&data[..G1_LEN])?;
    let b = decode_g1(&data[G1_LEN..])?;
    Ok(PrecompileOutput { gas_used, output: encode_g1(a + b) })
}

/// 0x07: a G1 point times a 256-bit scalar.
pub(super) fn mul(input: &[u8], gas_limit: u64, fork: Fork) -> PrecompileResult {
    let gas_used = charge(MUL.at(fork), gas_limit)?;
    let data: [u8; G1_LEN + 32] = read_array(input, 0);
    let point = decode_g1(&data[..G1_LEN])?;
    // Any 256-bit scalar is accepted; it is reduced modulo the group order r, which
    // multiplies every point of G1 (cofactor 1) to infinity.
    let scalar = Fr::from_slice(&data[G1_LEN..]).map_err(|_| PrecompileError::Failed)?;
    Ok(PrecompileOutput { gas_used, output: encode_g1(point * scalar) })
}

/// 0x08: whether the product of the pairings of the given (G1, G2) pairs is one, as a
/// 32-byte word. Empty input is the empty product: one.
pub(super) fn pairing(input: &[u8], gas_limit: u64, fork: Fork) -> PrecompileResult {
    let pairs = (input.len() / PAIR_LEN) as u64;
    let cost = PAIRING_PER_PAIR.at(fork).saturating_mul(pairs).saturating_add(PAIRING_BASE.at(fork));
    let gas_used = charge(cost, gas_limit)?;
    if !input.len().is_multiple_of(PAIR_LEN) {
        return Err(PrecompileError::Failed);
    }

    let mut decoded = Vec::with_capacity(input.len() / PAIR_LEN);
    for chunk in input.chunks_exact(PAIR_LEN) {
        let p = decode_g1(&chunk[..G1_LEN])?;
        let q = decode_g2(&chunk[G1_LEN..])?;
        // A pair with a point at infinity contributes a factor of one.
        if !p.is_zero() && !q.is_zero() {
            decoded.push((p, q));
        }
    }
    let holds = decoded.is_empty() || substrate_bn::pairing_batch(&decoded) == Gt::one();
    let mut word = [0u8; 32];
    word[31] = u8::from(holds);
    Ok(PrecompileOutput { gas_used, output: Bytes::copy_from_slice(&word) })
}

/// A field element from a 32-byte big-endian word, rejected when not below the modulus.
fn decode_fq(bytes: &[u8]) -> Result<Fq, PrecompileError> {
    Fq::from_slice(bytes).map_err(|_| PrecompileError::Failed)
}

/// A G1 point from `x ‖ y`; (0, 0) is the point at infinity.
fn decode_g1(bytes: &[u8]) -> Result<G1, PrecompileError> {
    let x = decode_fq(&bytes[..32])?;
    let y = decode_fq(&bytes[32..64])?;
    if x.is_zero() && y.is_zero() {
        return Ok(G1::zero());
    }
    AffineG1::new(x, y).map(G1::from).map_err(|_| PrecompileError::Failed)
}

/// A G2 point from `x_im ‖ x_re ‖ y_im ‖ y_re`; all zero is the point at infinity. The
/// point must lie in the order-r subgroup, which the constructor checks.
fn decode_g2(bytes: &[u8]) -> Result<G2, PrecompileError> {
    let x = Fq2::new(decode_fq(&bytes[32..64])?, decode_fq(&bytes[..32])?);
    let y = Fq2::new(decode_fq(&bytes[96..128])?, decode_fq(&bytes[64..96])?);
    if x.is_zero() && y.is_zero() {
        return Ok(G2::zero());
    }
    AffineG2::new(x, y).map(G2::from).map_err(|_| PrecompileError::Failed)
}

/// `x ‖ y` of a G1 point, 64 zero bytes for infinity.
fn encode_g1(point: G1) -> Bytes {
    let mut out = [0u8; 2 * 32];
    if let Some(affine) = AffineG1::from_jacobian(point) {
        // Both slices are exactly 32 bytes, the only length these calls reject.
        let _ = affine.x().to_big_endian(&mut out[..32]);
        let _ = affine.y().to_big_endian(&mut out[32..]);
    }
    Bytes::copy_from_slice(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const G1_GEN: &str = concat!(
        "0000000000000000000000000000000000000000000000000000000000000001",
        "0000000000000000000000000000000000000000000000000000000000000002",
    );
    const G1_DOUBLE: &str = concat!(
        "030644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd3",
        "15ed738c0e0a7c92e7845f96b2ae9c0a68a6a449e3538fc7ff3ebf7a5a18a2c4",
    );
    const G1_TRIPLE: &str = concat!(
        "0769bf9ac56bea3ff40232bcb1b6bd159315d84715b8e679f2d355961915abf0",
        "2ab799bee0489429554fdb7c8d086475319e63b40b9c5b57cdf1ff3dd9fe2261",
    );
    /// -G1: (1, p - 2).
    const G1_NEG: &str = concat!(
        "0000000000000000000000000000000000000000000000000000000000000001",
        "30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd45",
    );
    const G2_GEN: &str = concat!(
        "198e9393920d483a7260bfb731fb5d25f1aa493335a9e71297e485b7aef312c2",
        "1800deef121f1e76426a00665e5c4479674322d4f75edadd46debd5cd992f6ed",
        "090689d0585ff075ec9e99ad690c3395bc4b313370b38ef355acdadcd122975b",
        "12c85ea5db8c6deb4aab71808dcb408fe3d1e7690c43d37b4ce6cc0166fa7daa",
    );

    fn bytes(parts: &[&str]) -> Vec<u8> {
        hex::decode(parts.concat()).unwrap()
    }

    #[test]
    fn add_vectors_and_prices() {
        let out = add(&bytes(&[G1_GEN, G1_GEN]), 150, Fork::Istanbul).unwrap();
        assert_eq!(out.gas_used, 150);
        assert_eq!(hex::encode(&out.output), G1_DOUBLE);
        let out = add(&bytes(&[G1_DOUBLE, G1_GEN]), 500, Fork::Byzantium).unwrap();
        assert_eq!(out.gas_used, 500);
        assert_eq!(hex::encode(&out.output), G1_TRIPLE);
        assert_eq!(add(&[], 499, Fork::Byzantium), Err(PrecompileError::OutOfGas));
        // Empty input is infinity plus infinity; a lone G1 point is padded with infinity.
        assert_eq!(add(&[], 150, Fork::Osaka).unwrap().output.as_ref(), &[0u8; 64]);
        let out = add(&bytes(&[G1_GEN]), 150, Fork::Osaka).unwrap();
        assert_eq!(hex::encode(&out.output), G1_GEN);
        let out = add(&bytes(&[G1_GEN, G1_NEG]), 150, Fork::Osaka).unwrap();
        assert_eq!(out.output.as_ref(), &[0u8; 64]);
    }

    #[test]
    fn invalid_points_fail() {
        // (1, 3) is not on y^2 = x^3 + 3.
        let mut off_curve = bytes(&[G1_GEN]);
        off_curve[63] = 3;
        assert_eq!(add(&off_curve, 150, Fork::Osaka), Err(PrecompileError::Failed));
        // x = p is not a field element.
        let p = "30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47";
        let two = "0000000000000000000000000000000000000000000000000000000000000002";
        let too_big = bytes(&[p, two]);
        assert_eq!(mul(&too_big, 6000, Fork::Osaka), Err(PrecompileError::Failed));
    }

    #[test]
    fn mul_vectors_and_prices() {
        let mut three = [0u8; 32];
        three[31] = 3;
        let input = [bytes(&[G1_GEN]), three.to_vec()].concat();
        let out = mul(&input, 6000, Fork::Istanbul).unwrap();
        assert_eq!((out.gas_used, hex::encode(&out.output)), (6000, G1_TRIPLE.to_string()));
        assert_eq!(mul(&input, 39_999, Fork::Byzantium), Err(PrecompileError::OutOfGas));
        // A missing scalar is zero.
        let out = mul(&bytes(&[G1_GEN]), 6000, Fork::Istanbul).unwrap();
        assert_eq!(out.output.as_ref(), &[0u8; 64]);
        // The group order r times G is infinity.
        let r = "30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001";
        let out = mul(&bytes(&[G1_GEN, r]), 6000, Fork::Istanbul).unwrap();
        assert_eq!(out.output.as_ref(), &[0u8; 64]);
    }

    #[test]
    fn pairing_checks() {
        let one = {
            let mut word = [0u8; 32];
            word[31] = 1;
            word
        };
        // e(G1, G2) * e(-G1, G2) = 1.
        let input = bytes(&[G1_GEN, G2_GEN, G1_NEG, G2_GEN]);
        let out = pairing(&input, 113_000, Fork::Istanbul).unwrap();
        assert_eq!((out.gas_used, out.output.as_ref()), (113_000, &one[..]));
        assert_eq!(pairing(&input, 259_999, Fork::Byzantium), Err(PrecompileError::OutOfGas));
        // e(G1, G2) * e(G1, G2) != 1.
        let input = bytes(&[G1_GEN, G2_GEN, G1_GEN, G2_GEN]);
        let out = pairing(&input, 113_000, Fork::Istanbul).unwrap();
        assert_eq!(out.output.as_ref(), &[0u8; 32]);
        // Empty input: the empty product is one.
        let out = pairing(&[], 45_000, Fork::Istanbul).unwrap();
        assert_eq!(out.output.as_ref(), &one[..]);
        // A length that is not a multiple of 192 fails once the price is paid.
        assert_eq!(pairing(&[0u8; 191], 45_000, Fork::Istanbul), Err(PrecompileError::Failed));
        // A G2 point off the curve fails.
        let mut bad = bytes(&[G1_GEN, G2_GEN]);
        bad[191] ^= 1;
        assert_eq!(pairing(&bad, 79_000, Fork::Istanbul), Err(PrecompileError::Failed));
    }
}
