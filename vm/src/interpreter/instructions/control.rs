//! STOP, JUMP, JUMPI, JUMPDEST, PC, GAS, RETURN, REVERT, INVALID and undefined opcodes.

use crate::interpreter::{Ctx, Frame, HaltReason, Status};
use crate::primitives::U256;

pub(crate) fn stop(f: &mut Frame, _: &mut Ctx<'_>) {
    f.status = Status::Stop;
}

#[inline(always)]
fn jump_to(f: &mut Frame, dest: U256) {
    let d = super::as_usize_saturated(dest);
    if f.code.is_jumpdest(d) {
        f.pc = d;
    } else {
        f.halt(HaltReason::InvalidJump);
    }
}

pub(crate) fn jump(f: &mut Frame, _: &mut Ctx<'_>) {
    let dest = f.stack.pop();
    jump_to(f, dest);
}

pub(crate) fn jumpi(f: &mut Frame, _: &mut Ctx<'_>) {
    let dest = f.stack.pop();
    let cond = f.stack.pop();
    if !cond.is_zero() {
        jump_to(f, dest);
    }
}

pub(crate) fn jumpdest(_: &mut Frame, _: &mut Ctx<'_>) {}

pub(crate) fn pc(f: &mut Frame, _: &mut Ctx<'_>) {
    f.stack.push(U256::from(f.pc - 1));
}

pub(crate) fn gas(f: &mut Frame, _: &mut Ctx<'_>) {
    f.stack.push(U256::from(f.gas));
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
