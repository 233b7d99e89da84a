//! ADD, MUL, SUB, DIV, SDIV, MOD, SMOD, ADDMOD, MULMOD, EXP, SIGNEXTEND.

use super::gas;
use crate::fork::Fork;
use crate::interpreter::{Ctx, Frame};
use crate::primitives::U256;

pub(crate) fn add(f: &mut Frame, _: &mut Ctx<'_>) {
    let a = f.stack.pop();
    let b = f.stack.top();
    *b = a.wrapping_add(*b);
}

pub(crate) fn mul(f: &mut Frame, _: &mut Ctx<'_>) {
    let a = f.stack.pop();
    let b = f.stack.top();
    *b = a.wrapping_mul(*b);
}

pub(crate) fn sub(f: &mut Frame, _: &mut Ctx<'_>) {
    let a = f.stack.pop();
    let b = f.stack.top();
    *b = a.wrapping_sub(*b);
}

pub(crate) fn div(f: &mut Frame, _: &mut Ctx<'_>) {
    let a = f.stack.pop();
    let b = f.stack.top();
    *b = if b.is_zero() { U256::ZERO } else { a / *b };
}

pub(crate) fn rem(f: &mut Frame, _: &mut Ctx<'_>) {
    let a = f.stack.pop();
    let b = f.stack.top();
    *b = if b.is_zero() { U256::ZERO } else { a % *b };
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

pub(crate) fn sdiv(f: &mut Frame, _: &mut Ctx<'_>) {
    let a = f.stack.pop();
    let b = f.stack.top();
    *b = if b.is_zero() {
        U256::ZERO
    } else {
        let q = abs(a) / abs(*b);
        if is_neg(a) != is_neg(*b) {
            q.wrapping_neg()
        } else {
            q
        }
    };
}

pub(crate) fn smod(f: &mut Frame, _: &mut Ctx<'_>) {
    let a = f.stack.pop();
    let b = f.stack.top();
    *b = if b.is_zero() {
        U256::ZERO
    } else {
        let r = abs(a) % abs(*b);
        if is_neg(a) {
            r.wrapping_neg()
        } else {
            r
        }
    };
}

pub(crate) fn addmod(f: &mut Frame, _: &mut Ctx<'_>) {
    let a = f.stack.pop();
    let b = f.stack.pop();
    let n = f.stack.top();
    *n = if n.is_zero() { U256::ZERO } else { a.add_mod(b, *n) };
}

pub(crate) fn mulmod(f: &mut Frame, _: &mut Ctx<'_>) {
    let a = f.stack.pop();
    let b = f.stack.pop();
    let n = f.stack.top();
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

pub(crate) fn signextend(f: &mut Frame, _: &mut Ctx<'_>) {
    let k = f.stack.pop();
    let x = f.stack.top();
    if k < U256::from(31) {
        let bit = k.to::<usize>() * 8 + 7;
        let mask = (U256::from(1) << bit).wrapping_sub(U256::from(1));
        *x = if x.bit(bit) { *x | !mask } else { *x & mask };
    }
}
