//! MODEXP (0x05): `base ^ exp % modulus` over big-endian integers of any size.
//!
//! Introduced by [EIP-198](https://eips.ethereum.org/EIPS/eip-198) (Byzantium), repriced by
//! [EIP-2565](https://eips.ethereum.org/EIPS/eip-2565) (Berlin) and again by
//! [EIP-7883](https://eips.ethereum.org/EIPS/eip-7883) (Osaka), which also gains the
//! 1024-byte operand bound of [EIP-7823](https://eips.ethereum.org/EIPS/eip-7823).
//!
//! The three lengths in the header are 256-bit words an attacker controls, so the price is
//! computed before anything is allocated: lengths saturate at `u64::MAX` and every step of
//! the formula saturates in `u128`, so a huge declared length yields a price no gas limit
//! covers. Only once the price is paid are the operands read, and by then their sizes are
//! bounded by the gas given.

use super::{charge, read_array, read_padded, PrecompileError, PrecompileOutput, PrecompileResult};
use crate::fork::Fork;
use crate::primitives::Bytes;
use num_bigint::BigUint;

/// EIP-7823: the largest base, exponent or modulus length accepted from Osaka on.
const MAX_OPERAND_LEN: u64 = 1024;

/// 0x05: `base ^ exp % modulus`, left-padded to the modulus length.
pub(super) fn modexp(input: &[u8], gas_limit: u64, fork: Fork) -> PrecompileResult {
    let base_len = read_len(input, 0);
    let exp_len = read_len(input, 32);
    let mod_len = read_len(input, 64);
    if fork.is_enabled_in(Fork::Osaka)
        && (base_len > MAX_OPERAND_LEN || exp_len > MAX_OPERAND_LEN || mod_len > MAX_OPERAND_LEN)
    {
        return Err(PrecompileError::Failed);
    }

    let exp_offset = 96u64.saturating_add(base_len);
    let exp_head = exponent_head(input, exp_offset, exp_len);
    let cost = gas_cost(base_len, exp_len, mod_len, &exp_head, fork);
    let cost = u64::try_from(cost).map_err(|_| PrecompileError::OutOfGas)?;
    let gas_used = charge(cost, gas_limit)?;

    if mod_len == 0 {
        return Ok(PrecompileOutput { gas_used, output: Bytes::new() });
    }
    // The price is paid, so every length is small enough to allocate: each one raises the
    // price at least linearly (the base and modulus through the multiplication complexity,
    // the exponent through the iteration count, which a nonzero modulus length multiplies).
    let (Ok(base_len), Ok(exp_len), Ok(mod_len)) =
        (usize::try_from(base_len), usize::try_from(exp_len), usize::try_from(mod_len))
    else {
        return Err(PrecompileError::OutOfGas);
    };
    let exp_offset = 96usize.saturating_add(base_len);
    let base = read_operand(input, 96, base_len);
    let exp = read_operand(input, exp_offset, exp_len);
    let modulus = read_operand(input, exp_offset.saturating_add(exp_len), mod_len);

    let mut output = vec![0u8; mod_len];
    if modulus != BigUint::ZERO {
        let result = base.modpow(&exp, &modulus).to_bytes_be();
        // The result is below the modulus, so it fits in mod_len bytes.
        output[mod_len - result.len()..].copy_from_slice(&result);
    }
    Ok(PrecompileOutput { gas_used, output: Bytes::from(output) })
}

/// A 32-byte length word at `offset`, saturated to `u64`.
fn read_len(input: &[u8], offset: usize) -> u64 {
    let high: [u8; 24] = read_array(input, offset);
    if high.iter().any(|&b| b != 0) {
        return u64::MAX;
    }
    u64::from_be_bytes(read_array(input, offset + 24))
}

/// The exponent's first `min(32, exp_len)` bytes as a right-aligned 32-byte big-endian
/// number: the part of the exponent the price looks at.
fn exponent_head(input: &[u8], exp_offset: u64, exp_len: u64) -> [u8; 32] {
    let mut head = [0u8; 32];
    let n = exp_len.min(32) as usize;
    if let Ok(offset) = usize::try_from(exp_offset) {
        read_padded(input, offset, &mut head[32 - n..]);
    }
    head
}

/// `len` bytes of call data at `offset`, zero-padded, as an integer.
fn read_operand(input: &[u8], offset: usize, len: usize) -> BigUint {
    let mut bytes = vec![0u8; len];
    read_padded(input, offset, &mut bytes);
    BigUint::from_bytes_be(&bytes)
}

/// The number of significant bits of a big-endian number.
fn bit_length(bytes: &[u8; 32]) -> u64 {
    match bytes.iter().position(|&b| b != 0) {
        Some(i) => (32 - i as u64) * 8 - u64::from(bytes[i].leading_zeros()),
        None => 0,
    }
}

/// The iteration count ("adjusted exponent length"): about the number of squarings,
/// `per_byte` iterations for each exponent byte past the first 32. At least 1.
fn iteration_count(exp_len: u64, exp_head: &[u8; 32], per_byte: u128) -> u128 {
    let head_bits = u128::from(bit_length(exp_head).saturating_sub(1));
    let count = if exp_len <= 32 {
        head_bits
    } else {
        per_byte.saturating_mul(u128::from(exp_len - 32)).saturating_add(head_bits)
    };
    count.max(1)
}

/// The price of a call with these lengths and exponent head under `fork`, saturating at
/// `u128::MAX`.
fn gas_cost(base_len: u64, exp_len: u64, mod_len: u64, exp_head: &[u8; 32], fork: Fork) -> u128 {
    let max_len = u128::from(base_len.max(mod_len));
    let words = max_len.div_ceil(8);
    if fork.is_enabled_in(Fork::Osaka) {
        // EIP-7883: a floor of 16, doubled quadratic cost past 32 bytes, twice the
        // iterations per long-exponent byte, no divisor, minimum 500.
        let complexity = if max_len <= 32 { 16 } else { words.saturating_mul(words) * 2 };
        complexity.saturating_mul(iteration_count(exp_len, exp_head, 16)).max(500)
    } else if fork.is_enabled_in(Fork::Berlin) {
        // EIP-2565: words squared, divided by 3, minimum 200.
        let complexity = words.saturating_mul(words);
        (complexity.saturating_mul(iteration_count(exp_len, exp_head, 8)) / 3).max(200)
    } else {
        // EIP-198: the piecewise complexity of Karatsuba-style multiplication, over 20.
        let complexity = eip198_complexity(max_len);
        complexity.saturating_mul(iteration_count(exp_len, exp_head, 8)) / 20
    }
}

/// EIP-198's `mult_complexity(x)`, saturating.
fn eip198_complexity(x: u128) -> u128 {
    let square = x.saturating_mul(x);
    if x <= 64 {
        square
    } else if x <= 1024 {
        square / 4 + 96 * x - 3072
    } else {
        (square / 16).saturating_add(480 * x) - 199_680
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a modexp input from operand byte strings.
    fn input(base: &[u8], exp: &[u8], modulus: &[u8]) -> Vec<u8> {
        let mut data = Vec::new();
        for len in [base.len(), exp.len(), modulus.len()] {
            let mut word = [0u8; 32];
            word[24..].copy_from_slice(&(len as u64).to_be_bytes());
            data.extend_from_slice(&word);
        }
        data.extend_from_slice(base);
        data.extend_from_slice(exp);
        data.extend_from_slice(modulus);
        data
    }

    /// EIP-198's first example: Fermat's little theorem on the secp256k1 field prime.
    fn fermat() -> Vec<u8> {
        let p = hex::decode("fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f").unwrap();
        let p_minus_1 =
            hex::decode("fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2e").unwrap();
        input(&[3], &p_minus_1, &p)
    }

    #[test]
    fn fermat_result_and_prices() {
        let data = fermat();
        let out = modexp(&data, 100_000, Fork::Byzantium).unwrap();
        let mut one = [0u8; 32];
        one[31] = 1;
        assert_eq!(out.output.as_ref(), &one);
        // EIP-198: 32 * 32 * 255 / 20.
        assert_eq!(out.gas_used, 13_056);
        // EIP-2565: 4 * 4 * 255 / 3.
        assert_eq!(modexp(&data, 100_000, Fork::Berlin).unwrap().gas_used, 1_360);
        // EIP-7883: 16 * 255.
        assert_eq!(modexp(&data, 100_000, Fork::Osaka).unwrap().gas_used, 4_080);
        assert_eq!(modexp(&data, 4_079, Fork::Osaka), Err(PrecompileError::OutOfGas));
    }

    #[test]
    fn minimum_prices_and_zero_modulus() {
        let data = input(&[2], &[5], &[0]);
        let out = modexp(&data, 1_000, Fork::Berlin).unwrap();
        assert_eq!(out.gas_used, 200);
        assert_eq!(out.output.as_ref(), &[0]);
        assert_eq!(modexp(&data, 1_000, Fork::Osaka).unwrap().gas_used, 500);
        // EIP-198 prices one byte at 1 * 2 / 20 = 0.
        assert_eq!(modexp(&data, 0, Fork::Byzantium).unwrap().gas_used, 0);
        let out = modexp(&input(&[2], &[5], &[0, 7]), 1_000, Fork::Osaka).unwrap();
        assert_eq!(out.output.as_ref(), &[0, 4]);
        // Empty modulus: empty output.
        let out = modexp(&input(&[2], &[5], &[]), 1_000, Fork::Osaka).unwrap();
        assert!(out.output.is_empty());
    }

    #[test]
    fn huge_lengths_do_not_allocate() {
        // Declared lengths of 2^255 and u64::MAX + 1 with almost no data behind them.
        let mut data = vec![0u8; 96];
        data[0] = 0x80;
        data[32 + 23] = 1;
        data[95] = 1;
        assert_eq!(modexp(&data, u64::MAX, Fork::Berlin), Err(PrecompileError::OutOfGas));
        assert_eq!(modexp(&data, u64::MAX, Fork::Byzantium), Err(PrecompileError::OutOfGas));
        assert_eq!(modexp(&data, u64::MAX, Fork::Osaka), Err(PrecompileError::Failed));
        // A huge exponent with empty base and modulus is free under EIP-198.
        let mut free = vec![0u8; 96];
        free[32] = 0xff;
        let out = modexp(&free, 0, Fork::Byzantium).unwrap();
        assert_eq!((out.gas_used, out.output.len()), (0, 0));
        assert_eq!(modexp(&free, 199, Fork::Berlin), Err(PrecompileError::OutOfGas));
    }

    #[test]
    fn eip7823_bounds() {
        let at_bound = input(&[0; 1024], &[1], &[0; 1024]);
        assert!(modexp(&at_bound, 10_000_000, Fork::Osaka).is_ok());
        let over = input(&[0; 1025], &[1], &[1]);
        assert_eq!(modexp(&over, 10_000_000, Fork::Osaka), Err(PrecompileError::Failed));
        assert!(modexp(&over, 10_000_000, Fork::Prague).is_ok());
    }

    #[test]
    fn fixture_vectors() {
        // From the EEST modexp_thresholds vectors, with the gas they measured per fork.
        let data = hex::decode(concat!(
            "0000000000000000000000000000000000000000000000000000000000000020",
            "0000000000000000000000000000000000000000000000000000000000000020",
            "0000000000000000000000000000000000000000000000000000000000000020",
            "e8e77626586f73b955364c7b4bbf0bb7f7685ebd40e852b164633a4acbd3244c",
            "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
            "f01681d2220bfea4bb888a5543db8c0916274ddb1ea93b144c042c01d8164c95",
        ))
        .unwrap();
        let expected = "2d3feee20d394af68dd6744b86a8aca6a4a0b7f01bbcd3c3eec768245ca6acee";
        let out = modexp(&data, 1_000_000, Fork::Osaka).unwrap();
        assert_eq!((out.gas_used, hex::encode(&out.output).as_str()), (4_080, expected));
        assert_eq!(modexp(&data, 1_000_000, Fork::Prague).unwrap().gas_used, 1_360);

        let data = hex::decode(concat!(
            "0000000000000000000000000000000000000000000000000000000000000040",
            "0000000000000000000000000000000000000000000000000000000000000001",
            "0000000000000000000000000000000000000000000000000000000000000040",
            "71ec16921dffa0fb375c10cad75c7f4a750fd9562208d5d4d47ac008bafca749",
            "f7d9291e15b3515643deecc89abe8f4da3a388bff32cfac6cf53128409376bb9",
            "98",
            "af5c2279288e00890b4e04d043ff8d8ddf14ce4b96ecc8ba20a352fb39fbaa4f",
            "b870e26b2e4492efcdc6854b8ccf92a307b7cb6afef227a3d238280d7214368f",
        ))
        .unwrap();
        let expected = concat!(
            "2529b7fe039758e47401e0bb63feab7155d7345437e24fad6f6fb4a7fe6670de",
            "d943ba45fed2473921f1e7b6f04212413195b4aa38ac56cd7f9ed037bec0d586",
        );
        let out = modexp(&data, 1_000_000, Fork::Osaka).unwrap();
        assert_eq!((out.gas_used, hex::encode(&out.output).as_str()), (896, expected));
        assert_eq!(modexp(&data, 1_000_000, Fork::Prague).unwrap().gas_used, 200);
    }
}
