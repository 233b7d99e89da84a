//! secp256k1 public-key recovery, shared by ECRECOVER, transaction senders and EIP-7702
//! authorities.

use crate::primitives::{keccak256, Address, B256, U256};
use k256::ecdsa::{RecoveryId, Signature, VerifyingKey};

/// The order n of the secp256k1 group.
pub const SECP256K1N: U256 = U256::from_limbs([
    0xbfd2_5e8c_d036_4141,
    0xbaae_dce6_af48_a03b,
    0xffff_ffff_ffff_fffe,
    0xffff_ffff_ffff_ffff,
]);

/// n / 2: EIP-2 rejects transaction signatures with a larger `s`.
pub const SECP256K1N_HALF: U256 = U256::from_limbs([
    0xdfe9_2f46_681b_20a0,
    0x5d57_6e73_57a4_501d,
    0xffff_ffff_ffff_ffff,
    0x7fff_ffff_ffff_ffff,
]);

/// Recovers the address that signed `hash` with `(r, s)` and recovery bit `odd_y`.
/// Returns `None` for any invalid signature (r or s zero or not below n, no point).
pub fn recover_signer(hash: &B256, r: U256, s: U256, odd_y: bool) -> Option<Address> {
    if r.is_zero() || s.is_zero() || r >= SECP256K1N || s >= SECP256K1N {
        return None;
    }
    let mut sig_bytes = [0u8; 64];
    sig_bytes[..32].copy_from_slice(&r.to_be_bytes::<32>());
    sig_bytes[32..].copy_from_slice(&s.to_be_bytes::<32>());
    let mut signature = Signature::from_slice(&sig_bytes).ok()?;
    let mut recid = odd_y as u8;
    // k256 only accepts low-s signatures; flipping s flips the parity of the recovered point.
    if let Some(normalized) = signature.normalize_s() {
        signature = normalized;
        recid ^= 1;
    }
    let recid = RecoveryId::from_byte(recid)?;
    let key = VerifyingKey::recover_from_prehash(hash.as_slice(), &signature, recid).ok()?;
    let point = key.to_encoded_point(false);
    let digest = keccak256(&point.as_bytes()[1..]);
    Some(Address::from_slice(&digest[12..]))
}

/// The address of the secp256k1 secret key `key`, or `None` if it is not a valid key.
pub fn address_from_secret_key(key: &B256) -> Option<Address> {
    let signing = k256::ecdsa::SigningKey::from_slice(key.as_slice()).ok()?;
    let point = signing.verifying_key().to_encoded_point(false);
    let digest = keccak256(&point.as_bytes()[1..]);
    Some(Address::from_slice(&digest[12..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_order_is_half() {
        assert_eq!(SECP256K1N >> 1, SECP256K1N_HALF);
    }

    #[test]
    fn well_known_test_key() {
        let key: B256 = "0x45a915e4d060149eb4365960e6a7a45f334393093061116b197e3240065ff2d8".parse().unwrap();
        let expected: Address = "0xa94f5374fce5edbc8e2a8697c15331677e6ebf0b".parse().unwrap();
        assert_eq!(address_from_secret_key(&key), Some(expected));
    }

    #[test]
    fn rejects_zero_signature() {
        assert!(recover_signer(&B256::ZERO, U256::ZERO, U256::from(1), false).is_none());
    }
}
