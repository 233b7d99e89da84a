//! POP, PUSH0 ([EIP-3855](https://eips.ethereum.org/EIPS/eip-3855)), PUSH1..PUSH32,
//! DUP1..DUP16, SWAP1..SWAP16. These run inline in the dispatch loop.

use crate::interpreter::stack::Stack;
use crate::primitives::U256;

#[inline(always)]
pub(crate) fn pop(s: &mut Stack) {
    s.pop();
}

#[inline(always)]
pub(crate) fn push0(s: &mut Stack) {
    s.push(U256::ZERO);
}

/// PUSH`n` with the immediate at `code[pc..pc + n]`; returns the pc after it. The code is
/// padded with 33 zero bytes, so a fixed 8- or 32-byte read from `pc` stays inside it, and a
/// PUSH cut short by the end of the code reads zeros.
#[inline(always)]
pub(crate) fn push(s: &mut Stack, code: &[u8], pc: usize, n: usize) -> usize {
    let value = if n <= 8 {
        let mut word = [0u8; 8];
        word.copy_from_slice(&code[pc..pc + 8]);
        U256::from(u64::from_be_bytes(word) >> (64 - 8 * n))
    } else {
        let mut word = [0u8; 32];
        word.copy_from_slice(&code[pc..pc + 32]);
        U256::from_be_bytes(word) >> (256 - 8 * n)
    };
    s.push(value);
    pc + n
}

#[inline(always)]
pub(crate) fn dup(s: &mut Stack, n: usize) {
    s.dup(n);
}

#[inline(always)]
pub(crate) fn swap(s: &mut Stack, n: usize) {
    s.swap(n);
}
