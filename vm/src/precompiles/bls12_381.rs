//! The BLS12-381 precompiles (0x0b to 0x11) from
//! [EIP-2537](https://eips.ethereum.org/EIPS/eip-2537) (Prague): G1ADD, G1MSM, G2ADD,
//! G2MSM, PAIRING_CHECK, MAP_FP_TO_G1 and MAP_FP2_TO_G2, computed by `blst`.
//!
//! Encoding, shared by all seven:
//! - a base field element is 64 bytes, big-endian: 16 zero bytes, then 48 bytes holding a
//!   value below the modulus p; anything else fails the call;
//! - an F_p^2 element `c0 + c1 * u` is `c0 ‖ c1`;
//! - a point is `x ‖ y` (128 bytes in G1, 256 in G2), the point at infinity all zeros;
//! - a scalar is 32 bytes, big-endian, any value (it need not be below the group order).
//!
//! Every point must be on its curve. The additions accept points outside the prime-order
//! subgroup; the MSMs and the pairing check subgroup membership, since their fast
//! algorithms are only correct inside it. Input lengths are checked before the price is
//! charged, field elements and points after.

pub(super) mod g1;
pub(super) mod g2;
pub(super) mod pairing;

use super::PrecompileError;
use blst::{blst_bendian_from_fp, blst_fp, blst_fp2, blst_fp_from_bendian};

/// Length of an encoded base field element.
const FP_LEN: usize = 64;
/// Length of an encoded F_p^2 element.
const FP2_LEN: usize = 2 * FP_LEN;
/// Length of an encoded scalar.
const SCALAR_LEN: usize = 32;
/// Length of the zero padding in front of a field element.
const FP_PAD: usize = 16;

/// The base field modulus p, big-endian.
const MODULUS: [u8; 48] = [
    0x1a, 0x01, 0x11, 0xea, 0x39, 0x7f, 0xe6, 0x9a, 0x4b, 0x1b, 0xa7, 0xb6, 0x43, 0x4b, 0xac, 0xd7, 0x64,
    0x77, 0x4b, 0x84, 0xf3, 0x85, 0x12, 0xbf, 0x67, 0x30, 0xd2, 0xa0, 0xf6, 0xb0, 0xf6, 0x24, 0x1e, 0xab,
    0xff, 0xfe, 0xb1, 0x53, 0xff, 0xff, 0xb9, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xaa, 0xab,
];

/// MSM price discounts per mille for k = 1..=128 points in G1; larger k use the last.
const G1_MSM_DISCOUNT: [u16; 128] = [
    1000, 949, 848, 797, 764, 750, 738, 728, 719, 712, 705, 698, 692, 687, 682, 677, 673, 669, 665, 661, 658,
    654, 651, 648, 645, 642, 640, 637, 635, 632, 630, 627, 625, 623, 621, 619, 617, 615, 613, 611, 609, 608,
    606, 604, 603, 601, 599, 598, 596, 595, 593, 592, 591, 589, 588, 586, 585, 584, 582, 581, 580, 579, 577,
    576, 575, 574, 573, 572, 570, 569, 568, 567, 566, 565, 564, 563, 562, 561, 560, 559, 558, 557, 556, 555,
    554, 553, 552, 551, 550, 549, 548, 547, 547, 546, 545, 544, 543, 542, 541, 540, 540, 539, 538, 537, 536,
    536, 535, 534, 533, 532, 532, 531, 530, 529, 528, 528, 527, 526, 525, 525, 524, 523, 522, 522, 521, 520,
    520, 519,
];

/// MSM price discounts per mille for k = 1..=128 points in G2; larger k use the last.
const G2_MSM_DISCOUNT: [u16; 128] = [
    1000, 1000, 923, 884, 855, 832, 812, 796, 782, 770, 759, 749, 740, 732, 724, 717, 711, 704, 699, 693,
    688, 683, 679, 674, 670, 666, 663, 659, 655, 652, 649, 646, 643, 640, 637, 634, 632, 629, 627, 624, 622,
    620, 618, 615, 613, 611, 609, 607, 606, 604, 602, 600, 598, 597, 595, 593, 592, 590, 589, 587, 586, 584,
    583, 582, 580, 579, 578, 576, 575, 574, 573, 571, 570, 569, 568, 567, 566, 565, 563, 562, 561, 560, 559,
    558, 557, 556, 555, 554, 553, 552, 552, 551, 550, 549, 548, 547, 546, 545, 545, 544, 543, 542, 541, 541,
    540, 539, 538, 537, 537, 536, 535, 535, 534, 533, 532, 532, 531, 530, 530, 529, 528, 528, 527, 526, 526,
    525, 524, 524,
];

/// The price of an MSM over `k` points: `k * per_point * discount(k) / 1000`.
fn msm_cost(k: usize, per_point: u64, discounts: &[u16; 128]) -> u64 {
    let discount = discounts.get(k.saturating_sub(1)).copied().unwrap_or(discounts[127]);
    let cost = (k as u128) * u128::from(per_point) * u128::from(discount) / 1000;
    u64::try_from(cost).unwrap_or(u64::MAX)
}

/// A base field element from its 64-byte encoding.
fn decode_fp(bytes: &[u8]) -> Result<blst_fp, PrecompileError> {
    let (pad, value) = bytes.split_at(FP_PAD);
    if pad.iter().any(|&b| b != 0) || value >= &MODULUS[..] {
        return Err(PrecompileError::Failed);
    }
    let mut fp = blst_fp::default();
    // SAFETY: `value` is 48 readable bytes (64 minus the padding), the length the function
    // reads, and `fp` is a valid output location.
    unsafe { blst_fp_from_bendian(&mut fp, value.as_ptr()) };
    Ok(fp)
}

/// An F_p^2 element from its 128-byte encoding `c0 ‖ c1`.
fn decode_fp2(bytes: &[u8]) -> Result<blst_fp2, PrecompileError> {
    Ok(blst_fp2 { fp: [decode_fp(&bytes[..FP_LEN])?, decode_fp(&bytes[FP_LEN..FP2_LEN])?] })
}

/// Writes the 64-byte encoding of `fp` into `out`.
fn encode_fp(fp: &blst_fp, out: &mut [u8]) {
    let out = &mut out[..FP_LEN];
    out[..FP_PAD].fill(0);
    // SAFETY: `out[FP_PAD..]` is 48 writable bytes, the length the function writes, and
    // `fp` is an initialised field element.
    unsafe { blst_bendian_from_fp(out[FP_PAD..].as_mut_ptr(), fp) };
}

/// Writes the 128-byte encoding of `fp2` into `out`.
fn encode_fp2(fp2: &blst_fp2, out: &mut [u8]) {
    encode_fp(&fp2.fp[0], &mut out[..FP_LEN]);
    encode_fp(&fp2.fp[1], &mut out[FP_LEN..FP2_LEN]);
}

/// A 32-byte big-endian scalar in the little-endian byte order `blst` multiplies by.
fn scalar_le(bytes: &[u8]) -> [u8; SCALAR_LEN] {
    let mut out = [0u8; SCALAR_LEN];
    out.copy_from_slice(&bytes[..SCALAR_LEN]);
    out.reverse();
    out
}

/// The subgroup generators, encoded, for the tests of every BLS precompile.
#[cfg(test)]
mod generators {
    /// The G1 generator.
    pub(super) const G1: &str = concat!(
        "0000000000000000000000000000000017f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb",
        "0000000000000000000000000000000008b3f481e3aaa0f1a09e30ed741d8ae4fcf5e095d5d00af600db18cb2c04b3edd03cc744a2888ae40caa232946c5e7e1",
    );

    /// The G2 generator.
    pub(super) const G2: &str = concat!(
        "00000000000000000000000000000000024aa2b2f08f0a91260805272dc51051c6e47ad4fa403b02b4510b647ae3d1770bac0326a805bbefd48056c8c121bdb8",
        "0000000000000000000000000000000013e02b6052719f607dacd3a088274f65596bd0d09920b61ab5da61bbdc7f5049334cf11213945d57e5ac7d055d042b7e",
        "000000000000000000000000000000000ce5d527727d6e118cc9cdc6da2e351aadfd9baa8cbdd3a76d429a695160d12c923ac9cc3baca289e193548608b82801",
        "000000000000000000000000000000000606c4a02ea734cc32acd2b02bc28b99cb3e287e85a763af267492ab572e99ab3f370d275cec1da1aaa9075ff05f79be",
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_element_encoding() {
        let mut bytes = [0u8; FP_LEN];
        bytes[63] = 7;
        let fp = decode_fp(&bytes).unwrap();
        let mut out = [0xffu8; FP_LEN];
        encode_fp(&fp, &mut out);
        assert_eq!(out, bytes);
        // p itself, and a nonzero padding byte, are rejected.
        bytes[FP_PAD..].copy_from_slice(&MODULUS);
        assert_eq!(decode_fp(&bytes), Err(PrecompileError::Failed));
        bytes[63] -= 1;
        assert!(decode_fp(&bytes).is_ok());
        bytes[0] = 1;
        assert_eq!(decode_fp(&bytes), Err(PrecompileError::Failed));
    }

    #[test]
    fn msm_prices() {
        assert_eq!(msm_cost(1, 12_000, &G1_MSM_DISCOUNT), 12_000);
        assert_eq!(msm_cost(2, 12_000, &G1_MSM_DISCOUNT), 22_776);
        assert_eq!(msm_cost(128, 12_000, &G1_MSM_DISCOUNT), 797_184);
        assert_eq!(msm_cost(200, 12_000, &G1_MSM_DISCOUNT), 200 * 12 * 519);
        assert_eq!(msm_cost(2, 22_500, &G2_MSM_DISCOUNT), 45_000);
        assert_eq!(msm_cost(129, 22_500, &G2_MSM_DISCOUNT), 129 * 22_500 * 524 / 1000);
    }

    #[test]
    fn scalars_reversed() {
        let mut be = [0u8; 32];
        be[31] = 1;
        be[0] = 2;
        let le = scalar_le(&be);
        assert_eq!((le[0], le[31]), (1, 2));
    }
}
