//! STOP, JUMP, JUMPI, RETURN, REVERT and INVALID (also used for undefined opcodes). PC, GAS
//! and JUMPDEST are one-liners written inline in the dispatch loop.

use crate::interpreter::analysis::PackedBlock;
use crate::interpreter::stack::Stack;
use crate::interpreter::{Ctx, Frame, HaltReason, Status};
use crate::primitives::U256;

pub(crate) fn stop(f: &mut Frame, _: &mut Ctx<'_>) {
    f.status = Status::Stop;
}

/// The destination of a jump, if it is a JUMPDEST of the code whose block table is `blocks`.
#[inline(always)]
fn destination(blocks: &[PackedBlock], dest: U256) -> Option<usize> {
    let d = super::as_usize_saturated(dest);
    blocks.get(d).is_some_and(|b| b.is_jumpdest()).then_some(d)
}

/// JUMP: the new pc, or `None` for an invalid destination.
#[inline(always)]
pub(crate) fn jump(s: &mut Stack, blocks: &[PackedBlock]) -> Option<usize> {
    destination(blocks, s.pop())
}

/// JUMPI: the new pc (`next` when not taken), or `None` for an invalid destination.
#[inline(always)]
pub(crate) fn jumpi(s: &mut Stack, blocks: &[PackedBlock], next: usize) -> Option<usize> {
    let dest = s.pop();
    // The condition usually comes straight from a comparison: read it limb by limb.
    let cond = s.pop_limbs().into_limbs();
    if (cond[0] | cond[1] | cond[2] | cond[3]) == 0 {
        Some(next)
    } else {
        destination(blocks, dest)
    }
}

fn set_output(f: &mut Frame) -> bool {
    let offset = f.stack.pop();
    let len = f.stack.pop();
    let Some(at) = f.expand(offset, len) else { return false };
    f.output = (at, super::as_usize_saturated(len));
    true
}

pub(crate) fn ret(f: &mut Frame, _: &mut Ctx<'_>) {
    if set_output(f) {
        f.status = Status::Return;
    }
}

pub(crate) fn revert(f: &mut Frame, _: &mut Ctx<'_>) {
    if set_output(f) {
        f.status = Status::Revert;
    }
}

pub(crate) fn invalid(f: &mut Frame, _: &mut Ctx<'_>) {
    f.halt(HaltReason::InvalidOpcode);
}
