//! Comparisons and bitwise operations: LT..SAR, and CLZ
//! ([EIP-7939](https://eips.ethereum.org/EIPS/eip-7939)).

use super::arithmetic::is_neg;
use crate::interpreter::stack::Stack;
use crate::primitives::U256;

#[inline(always)]
fn bool_word(b: bool) -> U256 {
    U256::from(b as u8)
}

#[inline(always)]
pub(crate) fn lt(s: &mut Stack) {
    let a = s.pop();
    let b = s.top();
    *b = bool_word(a < *b);
}

#[inline(always)]
pub(crate) fn gt(s: &mut Stack) {
    let a = s.pop();
    let b = s.top();
    *b = bool_word(a > *b);
}

fn signed_lt(a: U256, b: U256) -> bool {
    match (is_neg(a), is_neg(b)) {
        (true, false) => true,
        (false, true) => false,
        _ => a < b,
    }
}

#[inline(always)]
pub(crate) fn slt(s: &mut Stack) {
    let a = s.pop();
    let b = s.top();
    *b = bool_word(signed_lt(a, *b));
}

#[inline(always)]
pub(crate) fn sgt(s: &mut Stack) {
    let a = s.pop();
    let b = s.top();
    *b = bool_word(signed_lt(*b, a));
}

#[inline(always)]
pub(crate) fn eq(s: &mut Stack) {
    // Compared as scalars: a vector compare would spill the limbs and reload them wide.
    let a = s.pop_limbs().into_limbs();
    let b = s.pop_limbs().into_limbs();
    let diff = (a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]);
    s.push(bool_word(diff == 0));
}

#[inline(always)]
pub(crate) fn iszero(s: &mut Stack) {
    let a = s.pop_limbs().into_limbs();
    s.push(bool_word((a[0] | a[1] | a[2] | a[3]) == 0));
}

#[inline(always)]
pub(crate) fn and(s: &mut Stack) {
    let a = s.pop();
    let b = s.top();
    *b &= a;
}

#[inline(always)]
pub(crate) fn or(s: &mut Stack) {
    let a = s.pop();
    let b = s.top();
    *b |= a;
}

#[inline(always)]
pub(crate) fn xor(s: &mut Stack) {
    let a = s.pop();
    let b = s.top();
    *b ^= a;
}

#[inline(always)]
pub(crate) fn not(s: &mut Stack) {
    let a = s.top();
    *a = !*a;
}

#[inline(always)]
pub(crate) fn byte(s: &mut Stack) {
    let i = s.pop();
    let x = s.top();
    *x = if i < U256::from(32) { U256::from(x.byte(31 - i.to::<usize>())) } else { U256::ZERO };
}

#[inline(always)]
pub(crate) fn shl(s: &mut Stack) {
    let shift = s.pop();
    let x = s.top();
    *x = if shift < U256::from(256) { *x << shift.to::<usize>() } else { U256::ZERO };
}

#[inline(always)]
pub(crate) fn shr(s: &mut Stack) {
    let shift = s.pop();
    let x = s.top();
    *x = if shift < U256::from(256) { *x >> shift.to::<usize>() } else { U256::ZERO };
}

/// SAR on two words (also the JIT's builtin).
#[inline(always)]
pub(crate) fn sar_words(shift: U256, x: U256) -> U256 {
    let negative = is_neg(x);
    if shift < U256::from(256) {
        let s = shift.to::<usize>();
        if negative {
            !((!x) >> s)
        } else {
            x >> s
        }
    } else if negative {
        U256::MAX
    } else {
        U256::ZERO
    }
}

#[inline(always)]
pub(crate) fn sar(s: &mut Stack) {
    let shift = s.pop();
    let x = s.top();
    *x = sar_words(shift, *x);
}

#[inline(always)]
pub(crate) fn clz(s: &mut Stack) {
    let x = s.top();
    *x = U256::from(x.leading_zeros());
}
