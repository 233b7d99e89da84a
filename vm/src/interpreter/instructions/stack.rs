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

/// PUSH`n` with the immediate at `at[..n]`; returns the pointer after it.
///
/// # Safety
/// `at` must point into the padded code at or before the end of the unpadded code: the 33
/// zero bytes of padding after it keep a fixed 8- or 32-byte read in bounds, and a PUSH cut
/// short by the end of the code reads zeros.
#[inline(always)]
pub(crate) unsafe fn push(s: &mut Stack, at: *const u8, n: usize) -> *const u8 {
    let value = if n <= 8 {
        // SAFETY: 8 bytes from `at` are inside the padding (see above).
        let word = unsafe { at.cast::<[u8; 8]>().read_unaligned() };
        U256::from(u64::from_be_bytes(word) >> (64 - 8 * n))
    } else {
        // SAFETY: as above, for 32 bytes.
        let word = unsafe { at.cast::<[u8; 32]>().read_unaligned() };
        U256::from_be_bytes(word) >> (256 - 8 * n)
    };
    s.push(value);
    // SAFETY: at most 32 bytes on, still inside the padding.
    unsafe { at.add(n) }
}

#[inline(always)]
pub(crate) fn dup(s: &mut Stack, n: usize) {
    s.dup(n);
}

#[inline(always)]
pub(crate) fn swap(s: &mut Stack, n: usize) {
    s.swap(n);
}
