//! Comparisons and bitwise operations: LT..SAR, and CLZ
//! ([EIP-7939](https://eips.ethereum.org/EIPS/eip-7939)).

use super::arithmetic::is_neg;
use crate::interpreter::{Ctx, Frame};
use crate::primitives::U256;

#[inline(always)]
fn bool_word(b: bool) -> U256 {
    U256::from(b as u8)
}

pub(crate) fn lt(f: &mut Frame, _: &mut Ctx<'_>) {
    let a = f.stack.pop();
    let b = f.stack.top();
    *b = bool_word(a < *b);
}

pub(crate) fn gt(f: &mut Frame, _: &mut Ctx<'_>) {
    let a = f.stack.pop();
    let b = f.stack.top();
    *b = bool_word(a > *b);
}

fn signed_lt(a: U256, b: U256) -> bool {
    match (is_neg(a), is_neg(b)) {
        (true, false) => true,
        (false, true) => false,
        _ => a < b,
    }
}

pub(crate) fn slt(f: &mut Frame, _: &mut Ctx<'_>) {
    let a = f.stack.pop();
    let b = f.stack.top();
    *b = bool_word(signed_lt(a, *b));
}

pub(crate) fn sgt(f: &mut Frame, _: &mut Ctx<'_>) {
    let a = f.stack.pop();
    let b = f.stack.top();
    *b = bool_word(signed_lt(*b, a));
}

pub(crate) fn eq(f: &mut Frame, _: &mut Ctx<'_>) {
    let a = f.stack.pop();
    let b = f.stack.top();
    *b = bool_word(a == *b);
}

pub(crate) fn iszero(f: &mut Frame, _: &mut Ctx<'_>) {
    let a = f.stack.top();
    *a = bool_word(a.is_zero());
}

pub(crate) fn and(f: &mut Frame, _: &mut Ctx<'_>) {
    let a = f.stack.pop();
    let b = f.stack.top();
    *b &= a;
}

pub(crate) fn or(f: &mut Frame, _: &mut Ctx<'_>) {
    let a = f.stack.pop();
    let b = f.stack.top();
    *b |= a;
}

pub(crate) fn xor(f: &mut Frame, _: &mut Ctx<'_>) {
    let a = f.stack.pop();
    let b = f.stack.top();
    *b ^= a;
}

pub(crate) fn not(f: &mut Frame, _: &mut Ctx<'_>) {
    let a = f.stack.top();
    *a = !*a;
}

pub(crate) fn byte(f: &mut Frame, _: &mut Ctx<'_>) {
    let i = f.stack.pop();
    let x = f.stack.top();
    *x = if i < U256::from(32) { U256::from(x.byte(31 - i.to::<usize>())) } else { U256::ZERO };
}

pub(crate) fn shl(f: &mut Frame, _: &mut Ctx<'_>) {
    let shift = f.stack.pop();
    let x = f.stack.top();
    *x = if shift < U256::from(256) { *x << shift.to::<usize>() } else { U256::ZERO };
}

pub(crate) fn shr(f: &mut Frame, _: &mut Ctx<'_>) {
    let shift = f.stack.pop();
    let x = f.stack.top();
    *x = if shift < U256::from(256) { *x >> shift.to::<usize>() } else { U256::ZERO };
}

pub(crate) fn sar(f: &mut Frame, _: &mut Ctx<'_>) {
    let shift = f.stack.pop();
    let x = f.stack.top();
    let negative = is_neg(*x);
    *x = if shift < U256::from(256) {
        let s = shift.to::<usize>();
        if negative {
            !((!*x) >> s)
        } else {
            *x >> s
        }
    } else if negative {
        U256::MAX
    } else {
        U256::ZERO
    };
}

pub(crate) fn clz(f: &mut Frame, _: &mut Ctx<'_>) {
    let x = f.stack.top();
    *x = U256::from(x.leading_zeros());
}
