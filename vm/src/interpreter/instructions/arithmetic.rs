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

#[inline(always)]
pub(crate) fn sdiv(s: &mut Stack) {
    let a = s.pop();
    let b = s.pop();
    s.push(if b.is_zero() {
        U256::ZERO
    } else {
        let q = abs(a) / abs(b);
        if is_neg(a) != is_neg(b) {
            q.wrapping_neg()
        } else {
            q
        }
    });
}

#[inline(always)]
pub(crate) fn smod(s: &mut Stack) {
    let a = s.pop();
    let b = s.pop();
    s.push(if b.is_zero() {
        U256::ZERO
    } else {
        let r = abs(a) % abs(b);
        if is_neg(a) {
            r.wrapping_neg()
        } else {
            r
        }
    });
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
    let x = s.pop_limbs();
    let sign_bit = k[0] as usize * 8 + 7;
    let (limb, offset) = (sign_bit / 64, sign_bit % 64);
    let limbs = x.into_limbs();
    let negative = (limbs[limb] >> offset) & 1 == 1;
    let low_mask = if offset == 63 { u64::MAX } else { (1u64 << (offset + 1)) - 1 };
    let fill = if negative { u64::MAX } else { 0 };
    // Per limb: keep it below the sign limb, keep the low bits of the sign limb, fill above.
    // Written without indexed stores so the word stays in registers.
    let mut out = [0u64; 4];
    for (i, (o, l)) in out.iter_mut().zip(limbs).enumerate() {
        let keep = match i.cmp(&limb) {
            core::cmp::Ordering::Less => u64::MAX,
            core::cmp::Ordering::Equal => low_mask,
            core::cmp::Ordering::Greater => 0,
        };
        *o = (l & keep) | (fill & !keep);
    }
    s.push(U256::from_limbs(out));
}
