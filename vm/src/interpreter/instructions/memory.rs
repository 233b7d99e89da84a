//! MLOAD, MSTORE, MSTORE8, MSIZE, MCOPY ([EIP-5656](https://eips.ethereum.org/EIPS/eip-5656))
//! and KECCAK256.

use super::{gas, words};
use crate::interpreter::memory::Memory;
use crate::interpreter::stack::Stack;
use crate::interpreter::{Ctx, Frame};
use crate::primitives::{keccak256, U256};

/// MLOAD; false when out of gas, with the stack unchanged.
#[inline(always)]
pub(crate) fn mload(s: &mut Stack, memory: &mut Memory, gas: &mut u64) -> bool {
    let offset = s.top();
    let Some(at) = memory.expand_fixed(gas, *offset, 32) else { return false };
    *offset = memory.load_word(at);
    true
}

/// MSTORE; false when out of gas, with the stack unchanged.
#[inline(always)]
pub(crate) fn mstore(s: &mut Stack, memory: &mut Memory, gas: &mut u64) -> bool {
    let offset = s.pop();
    let value = s.pop();
    let Some(at) = memory.expand_fixed(gas, offset, 32) else {
        // Leave the stack as it was, so the instruction can be re-run step by step.
        s.push(value);
        s.push(offset);
        return false;
    };
    memory.store_word(at, value);
    true
}

/// MSTORE8; false when out of gas, with the stack unchanged.
#[inline(always)]
pub(crate) fn mstore8(s: &mut Stack, memory: &mut Memory, gas: &mut u64) -> bool {
    let offset = s.pop();
    let value = s.pop();
    let Some(at) = memory.expand_fixed(gas, offset, 1) else {
        // Leave the stack as it was, so the instruction can be re-run step by step.
        s.push(value);
        s.push(offset);
        return false;
    };
    memory.slice_mut(at, 1)[0] = value.byte(0);
    true
}

pub(crate) fn msize(f: &mut Frame, _: &mut Ctx<'_>) {
    f.stack.push(U256::from(f.memory.len()));
}

pub(crate) fn mcopy(f: &mut Frame, _: &mut Ctx<'_>) {
    let dst = f.stack.pop();
    let src = f.stack.pop();
    let len = f.stack.pop();
    if len.is_zero() {
        return;
    }
    let n = super::as_usize_saturated(len);
    gas!(f, 3u64.saturating_mul(words(n)));
    let Some(end_dst) = f.expand(dst, len) else { return };
    let Some(end_src) = f.expand(src, len) else { return };
    f.memory.copy_within(end_src, end_dst, n);
}

pub(crate) fn keccak(f: &mut Frame, _: &mut Ctx<'_>) {
    let offset = f.stack.pop();
    let len = f.stack.pop();
    let n = super::as_usize_saturated(len);
    gas!(f, 6u64.saturating_mul(words(n)));
    let Some(at) = f.expand(offset, len) else { return };
    let hash = keccak256(f.memory.slice(at, n));
    f.stack.push(U256::from_be_bytes(hash.0));
}
