//! Instruction bodies, one file per opcode family. Each body may pop its declared inputs
//! and push its declared outputs without checks (the dispatch loop checked them) and
//! charges only its dynamic gas.

pub(crate) mod arithmetic;
pub(crate) mod bitwise;
pub(super) mod control;
pub(super) mod environment;
pub(super) mod host;
pub(super) mod memory;
pub(super) mod stack;
pub(super) mod system;

use super::{Ctx, Frame, Status};
use crate::primitives::U256;
use crate::state::StateError;

/// Signature shared by every instruction body.
pub(crate) type Instr = fn(&mut Frame, &mut Ctx<'_>);

/// Converts a stack word to `usize`, saturating (for offsets that are bounds-checked or
/// charged afterwards).
#[inline(always)]
pub(super) fn as_usize_saturated(v: U256) -> usize {
    u64::try_from(v).map(|x| x as usize).unwrap_or(usize::MAX)
}

/// Records a store failure: the transaction aborts.
#[cold]
pub(super) fn fatal(f: &mut Frame, cx: &mut Ctx<'_>, err: StateError) {
    cx.error = Some(err);
    f.status = Status::Fatal;
}

/// Unwraps a store result inside an instruction, aborting the frame on error.
macro_rules! state {
    ($f:expr, $cx:expr, $e:expr) => {
        match $e {
            Ok(v) => v,
            Err(err) => {
                $crate::interpreter::instructions::fatal($f, $cx, err);
                return;
            }
        }
    };
}
pub(super) use state;

/// Charges dynamic gas inside an instruction, returning on shortage.
macro_rules! gas {
    ($f:expr, $cost:expr) => {
        if !$f.charge($cost) {
            return;
        }
    };
}
pub(super) use gas;

/// Words needed for `len` bytes, for per-word charges.
#[inline(always)]
pub(super) fn words(len: usize) -> u64 {
    (len as u64).div_ceil(32)
}
