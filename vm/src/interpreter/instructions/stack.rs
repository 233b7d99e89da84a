//! POP, PUSH0 ([EIP-3855](https://eips.ethereum.org/EIPS/eip-3855)), PUSH1..PUSH32,
//! DUP1..DUP16, SWAP1..SWAP16.

use crate::interpreter::{Ctx, Frame};
use crate::primitives::U256;

pub(crate) fn pop(f: &mut Frame, _: &mut Ctx<'_>) {
    f.stack.pop();
}

pub(crate) fn push0(f: &mut Frame, _: &mut Ctx<'_>) {
    f.stack.push(U256::ZERO);
}

/// PUSH`N`: the immediate is read from the padded code, so a PUSH cut short by the end of
/// the code reads zeros.
pub(crate) fn push<const N: usize>(f: &mut Frame, _: &mut Ctx<'_>) {
    let start = f.pc;
    let bytes = &f.code.padded()[start..start + N];
    let value = if N <= 8 {
        let mut buf = [0u8; 8];
        buf[8 - N..].copy_from_slice(bytes);
        U256::from(u64::from_be_bytes(buf))
    } else {
        U256::from_be_slice(bytes)
    };
    f.stack.push(value);
    f.pc = start + N;
}

pub(crate) fn dup<const N: usize>(f: &mut Frame, _: &mut Ctx<'_>) {
    f.stack.dup(N);
}

pub(crate) fn swap<const N: usize>(f: &mut Frame, _: &mut Ctx<'_>) {
    f.stack.swap(N);
}
