//! BLAKE2F (0x09): the BLAKE2b compression function F with a caller-chosen round count,
//! from [EIP-152](https://eips.ethereum.org/EIPS/eip-152) (Istanbul).
//!
//! Input is exactly 213 bytes: `rounds` (4 bytes, big-endian), the state `h` (8 words),
//! the message block `m` (16 words), the offset counter `t` (2 words), all words
//! little-endian, and the final-block flag `f` (1 byte, 0 or 1). The price is one gas per
//! round; the output is the new state, 64 bytes.
//!
//! F itself follows [RFC 7693](https://www.rfc-editor.org/rfc/rfc7693) section 3.2, except
//! that the number of rounds is an input rather than 12, the message schedule cycling
//! through the 10 permutations of `SIGMA`.

use super::{charge, PrecompileError, PrecompileOutput, PrecompileResult};
use crate::primitives::Bytes;

/// The exact input length.
const INPUT_LEN: usize = 213;

/// The BLAKE2b initialisation vector (the SHA-512 IV).
const IV: [u64; 8] = [
    0x6a09_e667_f3bc_c908,
    0xbb67_ae85_84ca_a73b,
    0x3c6e_f372_fe94_f82b,
    0xa54f_f53a_5f1d_36f1,
    0x510e_527f_ade6_82d1,
    0x9b05_688c_2b3e_6c1f,
    0x1f83_d9ab_fb41_bd6b,
    0x5be0_cd19_137e_2179,
];

/// The message word permutation of each round, repeating every 10 rounds.
const SIGMA: [[usize; 16]; 10] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
    [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
    [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
    [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
    [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
    [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
    [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
    [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
    [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
];

/// 0x09: F(h, m, t, f) with `rounds` rounds.
pub(super) fn blake2f(input: &[u8], gas_limit: u64) -> PrecompileResult {
    let input: &[u8; INPUT_LEN] = input.try_into().map_err(|_| PrecompileError::Failed)?;
    let rounds = u32::from_be_bytes([input[0], input[1], input[2], input[3]]);
    let gas_used = charge(u64::from(rounds), gas_limit)?;
    let last_block = match input[212] {
        0 => false,
        1 => true,
        _ => return Err(PrecompileError::Failed),
    };

    let mut h = [0u64; 8];
    for (i, word) in h.iter_mut().enumerate() {
        *word = le_word(input, 4 + 8 * i);
    }
    let mut m = [0u64; 16];
    for (i, word) in m.iter_mut().enumerate() {
        *word = le_word(input, 68 + 8 * i);
    }
    let t = [le_word(input, 196), le_word(input, 204)];

    compress(rounds, &mut h, &m, t, last_block);

    let mut output = [0u8; 64];
    for (chunk, word) in output.chunks_exact_mut(8).zip(h) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    Ok(PrecompileOutput { gas_used, output: Bytes::copy_from_slice(&output) })
}

/// The little-endian 64-bit word at `offset`.
#[inline]
fn le_word(input: &[u8; INPUT_LEN], offset: usize) -> u64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&input[offset..offset + 8]);
    u64::from_le_bytes(bytes)
}

/// The mixing function G: mixes two message words into four words of the working vector.
#[inline(always)]
fn mix(v: &mut [u64; 16], a: usize, b: usize, c: usize, d: usize, x: u64, y: u64) {
    v[a] = v[a].wrapping_add(v[b]).wrapping_add(x);
    v[d] = (v[d] ^ v[a]).rotate_right(32);
    v[c] = v[c].wrapping_add(v[d]);
    v[b] = (v[b] ^ v[c]).rotate_right(24);
    v[a] = v[a].wrapping_add(v[b]).wrapping_add(y);
    v[d] = (v[d] ^ v[a]).rotate_right(16);
    v[c] = v[c].wrapping_add(v[d]);
    v[b] = (v[b] ^ v[c]).rotate_right(63);
}

/// One round with the permutation of round `R` (mod 10).
#[inline(always)]
fn round<const R: usize>(v: &mut [u64; 16], m: &[u64; 16]) {
    round_with(v, m, &SIGMA[R]);
}

/// One round: mix the columns, then the diagonals.
#[inline(always)]
fn round_with(v: &mut [u64; 16], m: &[u64; 16], s: &[usize; 16]) {
    mix(v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
    mix(v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
    mix(v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
    mix(v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
    mix(v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
    mix(v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
    mix(v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
    mix(v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
}

/// The compression function F, updating the state `h` in place.
fn compress(rounds: u32, h: &mut [u64; 8], m: &[u64; 16], t: [u64; 2], last_block: bool) {
    let mut v = [0u64; 16];
    v[..8].copy_from_slice(h);
    v[8..].copy_from_slice(&IV);
    v[12] ^= t[0];
    v[13] ^= t[1];
    if last_block {
        v[14] = !v[14];
    }
    // Ten rounds at a time with the permutation known at compile time (so message indexing
    // needs no table loads or bounds checks), then the remainder. Rounds are a caller's
    // input (up to 2^32 - 1, paid for with gas), so this loop is a real hot path.
    let full_cycles = rounds / 10;
    for _ in 0..full_cycles {
        round::<0>(&mut v, m);
        round::<1>(&mut v, m);
        round::<2>(&mut v, m);
        round::<3>(&mut v, m);
        round::<4>(&mut v, m);
        round::<5>(&mut v, m);
        round::<6>(&mut v, m);
        round::<7>(&mut v, m);
        round::<8>(&mut v, m);
        round::<9>(&mut v, m);
    }
    for s in SIGMA.iter().take((rounds % 10) as usize) {
        round_with(&mut v, m, s);
    }
    for i in 0..8 {
        h[i] ^= v[i] ^ v[i + 8];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// EIP-152's test vectors 4 to 7 share this body: h for BLAKE2b-512, m = "abc", t = 3.
    const BODY: &str = concat!(
        "48c9bdf267e6096a3ba7ca8485ae67bb2bf894fe72f36e3cf1361d5f3af54fa5",
        "d182e6ad7f520e511f6c3e2b8c68059b6bbd41fbabd9831f79217e1319cde05b",
        "6162630000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "03000000000000000000000000000000",
    );

    fn input(rounds: &str, last: &str) -> Vec<u8> {
        hex::decode(format!("{rounds}{BODY}{last}")).unwrap()
    }

    #[test]
    fn eip152_vectors() {
        // Vector 5: 12 rounds, the BLAKE2b-512 digest of "abc".
        let out = blake2f(&input("0000000c", "01"), 12).unwrap();
        assert_eq!(out.gas_used, 12);
        assert_eq!(
            hex::encode(&out.output),
            concat!(
                "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1",
                "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923",
            )
        );
        // Vector 6: not the final block.
        let out = blake2f(&input("0000000c", "00"), 12).unwrap();
        assert_eq!(
            hex::encode(&out.output),
            concat!(
                "75ab69d3190a562c51aef8d88f1c2775876944407270c42c9844252c26d28752",
                "98743e7f6d5ea2f2d3e8d226039cd31b4e426ac4f2d3d666a610c2116fde4735",
            )
        );
        // Vector 7: one round.
        let out = blake2f(&input("00000001", "01"), 1).unwrap();
        assert_eq!(
            hex::encode(&out.output),
            concat!(
                "b63a380cb2897d521994a85234ee2c181b5f844d2c624c002677e9703449d2fb",
                "a551b3a8333bcdf5f2f7e08993d53923de3d64fcc68c034e717b9293fed7a421",
            )
        );
        // Vector 4: zero rounds, free.
        let out = blake2f(&input("00000000", "01"), 0).unwrap();
        assert_eq!(out.gas_used, 0);
        assert_eq!(
            hex::encode(&out.output),
            concat!(
                "08c9bcf367e6096a3ba7ca8485ae67bb2bf894fe72f36e3cf1361d5f3af54fa5",
                "d282e6ad7f520e511f6c3e2b8c68059b9442be0454267ce079217e1319cde05b",
            )
        );
    }

    #[test]
    fn invalid_inputs() {
        // Vectors 0 to 3: empty, one byte short, one byte long, bad final flag.
        assert_eq!(blake2f(&[], 100), Err(PrecompileError::Failed));
        let good = input("0000000c", "01");
        assert_eq!(blake2f(&good[..212], 100), Err(PrecompileError::Failed));
        let mut long = good.clone();
        long.push(0);
        assert_eq!(blake2f(&long, 100), Err(PrecompileError::Failed));
        assert_eq!(blake2f(&input("0000000c", "02"), 100), Err(PrecompileError::Failed));
        assert_eq!(blake2f(&good, 11), Err(PrecompileError::OutOfGas));
    }
}
