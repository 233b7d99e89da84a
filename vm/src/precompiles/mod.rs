//! Precompiled contracts: the fixed addresses whose code is native.
//!
//! Every precompile lives at an address whose first 18 bytes are zero, so an address is
//! identified by its low two bytes (its "id"). [`activation`] is the single table of which
//! id appears in which fork; [`is_precompile`], [`addresses`] and [`run`] all read it.
//! Bodies live one file per family; each charges its own price through [`charge`] and
//! returns [`PrecompileError::Failed`] for input the specification rejects.

mod blake2f;
mod bls12_381;
mod bn254;
mod ecrecover;
mod hashes;
mod kzg;
mod modexp;
mod p256;

use crate::fork::Fork;
use crate::primitives::{Address, Bytes};

/// A precompile's successful result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrecompileOutput {
    /// Gas consumed.
    pub gas_used: u64,
    /// Return data.
    pub output: Bytes,
}

/// Why a precompile failed. Either way the call consumes all the gas given to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrecompileError {
    /// The gas given does not cover the precompile's price.
    OutOfGas,
    /// The input is invalid for this precompile.
    Failed,
}

/// The result every precompile body returns.
type PrecompileResult = Result<PrecompileOutput, PrecompileError>;

/// Every precompile id, lowest first: the order [`addresses`] lists them in.
const IDS: [u16; 18] = [
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11,
    0x100,
];

/// The fork that introduced the precompile with this id, or `None` for no precompile.
#[inline]
const fn activation(id: u16) -> Option<Fork> {
    match id {
        0x01..=0x04 => Some(Fork::Frontier),
        // EIP-198 modexp, EIP-196 bn254 add/mul, EIP-197 bn254 pairing.
        0x05..=0x08 => Some(Fork::Byzantium),
        // EIP-152 blake2f.
        0x09 => Some(Fork::Istanbul),
        // EIP-4844 KZG point evaluation.
        0x0a => Some(Fork::Cancun),
        // EIP-2537 BLS12-381.
        0x0b..=0x11 => Some(Fork::Prague),
        // EIP-7951 P256VERIFY.
        0x100 => Some(Fork::Osaka),
        _ => None,
    }
}

/// The low two bytes of `address` when its first 18 bytes are zero.
#[inline]
fn precompile_id(address: &Address) -> Option<u16> {
    let bytes = &address.0 .0;
    if bytes[..18] != [0u8; 18] {
        return None;
    }
    Some(u16::from_be_bytes([bytes[18], bytes[19]]))
}

/// The address of the precompile with this id.
fn id_to_address(id: u16) -> Address {
    let mut bytes = [0u8; 20];
    bytes[18..].copy_from_slice(&id.to_be_bytes());
    Address::from(bytes)
}

/// Whether `address` is a precompile under `fork`.
#[inline]
pub fn is_precompile(address: &Address, fork: Fork) -> bool {
    match precompile_id(address).and_then(activation) {
        Some(since) => fork.is_enabled_in(since),
        None => false,
    }
}

/// The precompile addresses active under `fork`. EIP-2929 makes them warm in every
/// transaction; the journal tests membership with [`is_precompile`] rather than this list.
pub fn addresses(fork: Fork) -> Vec<Address> {
    IDS.iter()
        .filter(|&&id| activation(id).is_some_and(|since| fork.is_enabled_in(since)))
        .map(|&id| id_to_address(id))
        .collect()
}

/// Runs the precompile at `address` on `input` with `gas_limit` gas under `fork`.
///
/// An `address` that is not a precompile under `fork` fails: the caller is expected to
/// check [`is_precompile`] first.
pub fn run(address: &Address, input: &[u8], gas_limit: u64, fork: Fork) -> PrecompileResult {
    let Some(id) = precompile_id(address) else {
        return Err(PrecompileError::Failed);
    };
    if !activation(id).is_some_and(|since| fork.is_enabled_in(since)) {
        return Err(PrecompileError::Failed);
    }
    match id {
        0x01 => ecrecover::ecrecover(input, gas_limit),
        0x02 => hashes::sha256(input, gas_limit),
        0x03 => hashes::ripemd160(input, gas_limit),
        0x04 => hashes::identity(input, gas_limit),
        0x05 => modexp::modexp(input, gas_limit, fork),
        0x06 => bn254::add(input, gas_limit, fork),
        0x07 => bn254::mul(input, gas_limit, fork),
        0x08 => bn254::pairing(input, gas_limit, fork),
        0x09 => blake2f::blake2f(input, gas_limit),
        0x0a => kzg::point_evaluation(input, gas_limit),
        0x0b => bls12_381::g1::add(input, gas_limit),
        0x0c => bls12_381::g1::msm(input, gas_limit),
        0x0d => bls12_381::g2::add(input, gas_limit),
        0x0e => bls12_381::g2::msm(input, gas_limit),
        0x0f => bls12_381::pairing::pairing_check(input, gas_limit),
        0x10 => bls12_381::g1::map_fp_to_g1(input, gas_limit),
        0x11 => bls12_381::g2::map_fp2_to_g2(input, gas_limit),
        0x100 => p256::p256_verify(input, gas_limit),
        _ => Err(PrecompileError::Failed),
    }
}

/// Checks that `gas_limit` covers `cost`, returning `cost` as the gas used.
#[inline]
fn charge(cost: u64, gas_limit: u64) -> Result<u64, PrecompileError> {
    if cost > gas_limit {
        Err(PrecompileError::OutOfGas)
    } else {
        Ok(cost)
    }
}

/// `base + per_word * ceil(len / 32)`: the price of the hashing and copying precompiles.
#[inline]
fn linear_cost(len: usize, base: u64, per_word: u64) -> u64 {
    let words = (len as u64).div_ceil(32);
    base.saturating_add(per_word.saturating_mul(words))
}

/// Fills `out` with `input[offset..]`, zero-padding whatever lies past the end of `input`:
/// the EVM's rule for reading call data.
fn read_padded(input: &[u8], offset: usize, out: &mut [u8]) {
    let available = input.get(offset..).unwrap_or_default();
    let n = available.len().min(out.len());
    out[..n].copy_from_slice(&available[..n]);
    out[n..].fill(0);
}

/// A fixed-size read of `input` at `offset`, zero-padded.
#[inline]
fn read_array<const N: usize>(input: &[u8], offset: usize) -> [u8; N] {
    let mut out = [0u8; N];
    read_padded(input, offset, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activation_per_fork() {
        assert_eq!(addresses(Fork::Frontier).len(), 4);
        assert_eq!(addresses(Fork::Homestead).len(), 4);
        assert_eq!(addresses(Fork::Byzantium).len(), 8);
        assert_eq!(addresses(Fork::Istanbul).len(), 9);
        assert_eq!(addresses(Fork::Cancun).len(), 10);
        assert_eq!(addresses(Fork::Prague).len(), 17);
        assert_eq!(addresses(Fork::Osaka).len(), 18);
        for fork in Fork::ALL {
            for address in addresses(fork) {
                assert!(is_precompile(&address, fork));
            }
        }
        assert_eq!(addresses(Fork::Osaka)[17], id_to_address(0x100));
    }

    #[test]
    fn non_precompiles_rejected() {
        assert!(!is_precompile(&Address::ZERO, Fork::Osaka));
        assert!(!is_precompile(&id_to_address(0x12), Fork::Osaka));
        assert!(!is_precompile(&id_to_address(0x101), Fork::Osaka));
        assert!(!is_precompile(&id_to_address(0x05), Fork::SpuriousDragon));
        assert!(!is_precompile(&id_to_address(0x100), Fork::Prague));
        let mut high = [0u8; 20];
        high[0] = 1;
        high[19] = 1;
        assert!(!is_precompile(&Address::from(high), Fork::Osaka));
        assert_eq!(run(&id_to_address(0x0b), &[0u8; 256], 1_000, Fork::Cancun), Err(PrecompileError::Failed));
    }

    #[test]
    fn padded_reads() {
        let input = [1u8, 2, 3];
        assert_eq!(read_array::<4>(&input, 1), [2, 3, 0, 0]);
        assert_eq!(read_array::<2>(&input, 7), [0, 0]);
        assert_eq!(linear_cost(0, 15, 3), 15);
        assert_eq!(linear_cost(33, 15, 3), 21);
    }
}
