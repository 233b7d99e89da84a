//! DIV, MOD, SDIV and SMOD for compiled code, with fast paths for small operands.
//!
//! Real contracts mostly divide numbers far below 2^256 (fixed-point values, prices,
//! indices), where a full 256-bit long division does needless work: operands that fit 64
//! bits take one machine division, and operands that fit 128 bits take Rust's `u128`
//! division. Everything else goes to ruint. The results are the EVM's (yellow paper,
//! appendix H.1): division by zero gives zero, remainders take the dividend's sign, and
//! -2^255 / -1 wraps to -2^255.
//!
//! The functions follow the VM's builtin protocol ([`metisvm_vm::interpreter::native::Builtin`]):
//! `top` points at the stack's top item (the dividend), the divisor is below it, and the
//! result replaces the divisor.

use metisvm_vm::interpreter::native::Builtin;
use metisvm_vm::U256;

/// The builtin for DIV (0x04), MOD (0x06), SDIV (0x05) or SMOD (0x07).
pub fn builtin(op: u8) -> Option<Builtin> {
    Some(match op {
        0x04 => div,
        0x05 => sdiv,
        0x06 => rem,
        0x07 => smod,
        _ => return None,
    })
}

/// The quotient and remainder of `a / b` for a non-zero `b`.
#[inline(always)]
fn div_rem(a: U256, b: U256) -> (U256, U256) {
    let (x, y) = (a.as_limbs(), b.as_limbs());
    if (x[2] | x[3] | y[2] | y[3]) == 0 {
        if (x[1] | y[1]) == 0 {
            return (U256::from(x[0] / y[0]), U256::from(x[0] % y[0]));
        }
        let (n, d) = (x[0] as u128 | (x[1] as u128) << 64, y[0] as u128 | (y[1] as u128) << 64);
        return (U256::from(n / d), U256::from(n % d));
    }
    if a < b {
        return (U256::ZERO, a);
    }
    a.div_rem(b)
}

/// A word's magnitude and whether it is negative (two's complement).
#[inline(always)]
fn magnitude(v: U256) -> (U256, bool) {
    if v.bit(255) {
        (v.wrapping_neg(), true)
    } else {
        (v, false)
    }
}

/// `v`, negated when `negative`.
#[inline(always)]
fn signed(v: U256, negative: bool) -> U256 {
    if negative {
        v.wrapping_neg()
    } else {
        v
    }
}

fn div_words(a: U256, b: U256) -> U256 {
    if b.is_zero() {
        return U256::ZERO;
    }
    div_rem(a, b).0
}

fn rem_words(a: U256, b: U256) -> U256 {
    if b.is_zero() {
        return U256::ZERO;
    }
    div_rem(a, b).1
}

fn sdiv_words(a: U256, b: U256) -> U256 {
    if b.is_zero() {
        return U256::ZERO;
    }
    let ((m, a_neg), (n, b_neg)) = (magnitude(a), magnitude(b));
    signed(div_rem(m, n).0, a_neg != b_neg)
}

fn smod_words(a: U256, b: U256) -> U256 {
    if b.is_zero() {
        return U256::ZERO;
    }
    let ((m, a_neg), (n, _)) = (magnitude(a), magnitude(b));
    signed(div_rem(m, n).1, a_neg)
}

macro_rules! binary_builtin {
    ($name:ident, $words:ident) => {
        unsafe extern "C" fn $name(top: *mut U256) {
            // SAFETY: compiled code passes the top of a stack holding both inputs.
            unsafe {
                let (a, b) = (top.read(), top.sub(1).read());
                top.sub(1).write($words(a, b));
            }
        }
    };
}

binary_builtin!(div, div_words);
binary_builtin!(rem, rem_words);
binary_builtin!(sdiv, sdiv_words);
binary_builtin!(smod, smod_words);

#[cfg(test)]
mod tests {
    use super::*;

    /// Words around each fast path's edges: 64 and 128 bits, signs, and zero.
    fn words() -> Vec<U256> {
        let one = U256::from(1);
        let mut w = vec![
            U256::ZERO,
            one,
            U256::from(3),
            U256::from(u64::MAX),
            U256::from(u64::MAX) + one,
            U256::from(u128::MAX),
            U256::from(u128::MAX) + one,
            U256::from(0xde0b_6b3a_7640_0000u64),
            U256::from(0x1234_5678_9abc_def0_1122_3344_5566_7788u128),
            one << 255,
            U256::MAX,
            U256::MAX - one,
            (one << 255) - one,
            U256::from_be_bytes([0xa5; 32]),
        ];
        let negated: Vec<U256> = w.iter().map(|x| x.wrapping_neg()).collect();
        w.extend(negated);
        w
    }

    /// The reference: ruint's division, with the EVM's rules written out.
    fn reference(op: u8, a: U256, b: U256) -> U256 {
        if b.is_zero() {
            return U256::ZERO;
        }
        let neg = |v: U256| v.bit(255);
        let abs = |v: U256| if neg(v) { v.wrapping_neg() } else { v };
        match op {
            0x04 => a / b,
            0x06 => a % b,
            0x05 => {
                let q = abs(a) / abs(b);
                if neg(a) != neg(b) {
                    q.wrapping_neg()
                } else {
                    q
                }
            }
            _ => {
                let r = abs(a) % abs(b);
                if neg(a) {
                    r.wrapping_neg()
                } else {
                    r
                }
            }
        }
    }

    #[test]
    fn fast_paths_agree_with_full_division() {
        let words = words();
        let mut checked = 0;
        for op in [0x04, 0x05, 0x06, 0x07] {
            let f = builtin(op).expect("a division builtin");
            for &a in &words {
                for &b in &words {
                    let mut stack = [b, a];
                    // SAFETY: `stack` holds the divisor below the dividend, the top last.
                    unsafe { f(stack.as_mut_ptr().add(1)) };
                    assert_eq!(stack[0], reference(op, a, b), "op {op:#x}, a {a:#x}, b {b:#x}");
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 4 * 28 * 28);
    }

    #[test]
    fn the_most_negative_word_divided_by_minus_one_wraps() {
        let min = U256::from(1) << 255;
        assert_eq!(sdiv_words(min, U256::MAX), min);
        assert_eq!(smod_words(min, U256::MAX), U256::ZERO);
    }
}
