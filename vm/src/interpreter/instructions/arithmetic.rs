//! ADD, MUL, SUB, DIV, SDIV, MOD, SMOD, ADDMOD, MULMOD, EXP, SIGNEXTEND.

use super::gas;
use crate::fork::Fork;
use crate::interpreter::stack::Stack;
use crate::interpreter::{Ctx, Frame};
use crate::primitives::U256;

#[inline(always)]
pub(crate) fn add(s: &mut Stack) {
    let a = s.pop();
    let b = s.top();
    *b = a.wrapping_add(*b);
}

#[inline(always)]
pub(crate) fn mul(s: &mut Stack) {
    let a = s.pop();
    let b = s.top();
    *b = a.wrapping_mul(*b);
}

#[inline(always)]
pub(crate) fn sub(s: &mut Stack) {
    let a = s.pop();
    let b = s.top();
    *b = a.wrapping_sub(*b);
}

#[inline(always)]
pub(crate) fn div(s: &mut Stack) {
    let a = s.pop();
    let b = s.pop();
    s.push(if b.is_zero() { U256::ZERO } else { a / b });
}

#[inline(always)]
pub(crate) fn rem(s: &mut Stack) {
    let a = s.pop();
    let b = s.pop();
    s.push(if b.is_zero() { U256::ZERO } else { a % b });
}

/// Whether a word is negative in two's complement.
#[inline(always)]
pub(crate) fn is_neg(v: U256) -> bool {
    v.bit(255)
}

#[inline(always)]
fn abs(v: U256) -> U256 {
    if is_neg(v) {
        v.wrapping_neg()
    } else {
        v
    }
}

/// SDIV on two words, `a` the top item (also the JIT's builtin).
#[inline(always)]
pub(crate) fn sdiv_words(a: U256, b: U256) -> U256 {
    if b.is_zero() {
        return U256::ZERO;
    }
    let q = abs(a) / abs(b);
    if is_neg(a) != is_neg(b) {
        q.wrapping_neg()
    } else {
        q
    }
}

/// SMOD on two words, `a` the top item (also the JIT's builtin).
#[inline(always)]
pub(crate) fn smod_words(a: U256, b: U256) -> U256 {
    if b.is_zero() {
        return U256::ZERO;
    }
    let r = abs(a) % abs(b);
    if is_neg(a) {
        r.wrapping_neg()
    } else {
        r
    }
}

#[inline(always)]
pub(crate) fn sdiv(s: &mut Stack) {
    let a = s.pop();
    let b = s.pop();
    s.push(sdiv_words(a, b));
}

#[inline(always)]
pub(crate) fn smod(s: &mut Stack) {
    let a = s.pop();
    let b = s.pop();
    s.push(smod_words(a, b));
}

#[inline(always)]
pub(crate) fn addmod(s: &mut Stack) {
    let a = s.pop();
    let b = s.pop();
    let n = s.top();
    *n = if n.is_zero() { U256::ZERO } else { a.add_mod(b, *n) };
}

#[inline(always)]
pub(crate) fn mulmod(s: &mut Stack) {
    let a = s.pop();
    let b = s.pop();
    let n = s.top();
    *n = if n.is_zero() { U256::ZERO } else { a.mul_mod(b, *n) };
}

pub(crate) fn exp(f: &mut Frame, cx: &mut Ctx<'_>) {
    let base = f.stack.pop();
    let exponent = f.stack.peek(0);
    // EIP-160 (Spurious Dragon) raised the per-byte price from 10 to 50.
    let per_byte = if cx.fork.is_enabled_in(Fork::SpuriousDragon) { 50 } else { 10 };
    let bytes = exponent.bit_len().div_ceil(8) as u64;
    gas!(f, per_byte * bytes);
    *f.stack.top() = base.wrapping_pow(exponent);
}

/// SIGNEXTEND: extends the sign bit of byte `k` (counted from the low end) over the higher
/// bytes, working on 64-bit limbs.
#[inline(always)]
pub(crate) fn signextend(s: &mut Stack) {
    let k = s.pop();
    let k = k.as_limbs();
    if (k[1] | k[2] | k[3]) != 0 || k[0] >= 31 {
        return;
    }
    let k = k[0] as usize;
    // Read as four 8-byte loads: the word was usually just written by DUP (see
    // `Stack::pop_limbs`).
    let x = s.pop_limbs().into_limbs();
    // The byte holding the sign bit, sign-extended into a whole limb of fill bits.
    let sign_byte = (x[k / 8] >> (8 * (k % 8))) as u8 as i8;
    let fill = (sign_byte >> 7) as i64 as u64;
    // Byte masks out of one table: bytes 0..=k of the word kept, the rest filled.
    let from = 31 - k;
    let mut out = [0u64; 4];
    for (i, (o, l)) in out.iter_mut().zip(x).enumerate() {
        let at = from + 8 * i;
        let keep = u64::from_le_bytes(KEEP_LOW_BYTES[at..at + 8].try_into().expect("8 bytes"));
        *o = (l & keep) | (fill & !keep);
    }
    s.push(U256::from_limbs(out));
}

/// 32 bytes of ones then 32 of zeros: the 32 bytes from `31 - k` on are a little-endian
/// mask of the word's bytes `0..=k`.
static KEEP_LOW_BYTES: [u8; 64] = {
    let mut t = [0u8; 64];
    let mut i = 0;
    while i < 32 {
        t[i] = 0xff;
        i += 1;
    }
    t
};

#[cfg(test)]
mod tests {
    use super::*;

    /// SIGNEXTEND by its definition on bytes: byte `k` (from the low end) and every byte
    /// below it kept, every byte above set to 0xff or 0x00 by the top bit of byte `k`.
    fn signextend_by_bytes(k: usize, x: U256) -> U256 {
        if k >= 31 {
            return x;
        }
        let mut bytes = x.to_le_bytes::<32>();
        let fill = if bytes[k] & 0x80 != 0 { 0xff } else { 0x00 };
        bytes[k + 1..].fill(fill);
        U256::from_le_bytes(bytes)
    }

    #[test]
    fn signextend_matches_its_byte_definition() {
        let words = [
            U256::ZERO,
            U256::MAX,
            U256::from(0x80u64),
            U256::from(0x7fu64),
            U256::from_be_bytes([0x5a; 32]),
            U256::from_be_bytes([0xa5; 32]),
            U256::from(0x8000_0000_0000_0000u64),
            U256::from(0x8000_0000_0000_0000u64) << 64,
        ];
        for x in words {
            for k in 0..=33usize {
                let mut s = Stack::default();
                s.push(x);
                s.push(U256::from(k));
                signextend(&mut s);
                assert_eq!(s.pop(), signextend_by_bytes(k, x), "k = {k}, x = {x:#x}");
                assert!(s.is_empty());
            }
        }
    }
}
