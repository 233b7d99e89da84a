//! STOP, JUMP, JUMPI, RETURN, REVERT and INVALID (also used for undefined opcodes). PC, GAS
//! and JUMPDEST are one-liners written inline in the dispatch loop.

use crate::interpreter::analysis::PackedBlock;
use crate::interpreter::stack::Stack;
use crate::interpreter::{Ctx, Frame, HaltReason, Status};
use crate::primitives::U256;

pub(crate) fn stop(f: &mut Frame, _: &mut Ctx<'_>) {
    f.status = Status::Stop;
}

/// Where a JUMP or JUMPI goes.
pub(crate) enum Jump {
    /// JUMPI with a zero condition: on to the next instruction.
    NotTaken,
    /// To this JUMPDEST, whose block (it starts one) is given.
    To(usize, PackedBlock),
    /// The destination is not a JUMPDEST.
    Invalid,
}

/// The jump to `dest` in the code whose block table is `blocks`.
#[inline(always)]
fn destination(blocks: &[PackedBlock], dest: U256) -> Jump {
    let d = super::as_usize_saturated(dest);
    match blocks.get(d) {
        Some(&block) if block.is_jumpdest() => Jump::To(d, block),
        _ => Jump::Invalid,
    }
}

/// JUMP.
#[inline(always)]
pub(crate) fn jump(s: &mut Stack, blocks: &[PackedBlock]) -> Jump {
    destination(blocks, s.pop())
}

/// JUMPI.
#[inline(always)]
pub(crate) fn jumpi(s: &mut Stack, blocks: &[PackedBlock]) -> Jump {
    let dest = s.pop();
    // The condition usually comes straight from a comparison: read it limb by limb.
    let cond = s.pop_limbs().into_limbs();
    if (cond[0] | cond[1] | cond[2] | cond[3]) == 0 {
        Jump::NotTaken
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
