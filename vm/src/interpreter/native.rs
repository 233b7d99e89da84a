//! The boundary between the interpreter and compiled code (the `metisvm-jit` crate).
//!
//! Compiled code runs a frame's basic blocks (see [`super::analysis`]) with the same entry
//! checks as the interpreter's block mode, on the frame's own stack buffer, and hands every
//! instruction it does not compile back to the interpreter:
//!
//! 1. The interpreter calls the code's entry with a [`NativeState`]: the stack buffer and
//!    height, the gas, the memory, the frame, and the pc of a block not entered yet: the
//!    frame's start, or the block after a CALL or CREATE the frame suspended on (those
//!    instructions end blocks).
//! 2. For an instruction it does not compile, the code calls [`interpret_one`], which runs
//!    that one instruction on the frame with its block's gas already paid; the code goes on
//!    when it returns [`CONTINUE`], and otherwise returns that exit itself.
//! 3. The code runs until the frame stops, halts, suspends, or reaches a block whose entry
//!    check fails ([`Exit::Steps`]): then the rest of the frame runs step by step, exactly as
//!    in the interpreter's own block mode, so results are identical by construction.
//!
//! Which code gets compiled, and when, is up to a [`NativeBackend`] handed to the executor
//! ([`crate::Evm::set_native_backend`]); without one nothing changes.

use super::analysis::AnalyzedCode;
use super::memory::Memory;
use super::{Ctx, Frame};
use crate::primitives::{B256, U256};
use std::any::Any;
use std::sync::Arc;

/// The machine state compiled code reads and updates. `#[repr(C)]`: compiled code
/// addresses the fields by their offsets ([`NativeState::OFFSETS`]).
#[repr(C)]
#[derive(Debug)]
pub struct NativeState {
    /// The frame's stack buffer: [`super::stack::STACK_LIMIT`] slots, bottom first.
    pub stack: *mut U256,
    /// Stack height.
    pub len: u64,
    /// Gas remaining.
    pub gas: u64,
    /// In: where to start (a block start). Out: where the code stopped.
    pub pc: u64,
    /// The frame's memory; compiled code only hands it to [`grow_memory`].
    pub memory: *mut Memory,
    /// The first byte of the frame's memory (valid for `memory_len` bytes).
    pub memory_data: *mut u8,
    /// The frame's memory size in bytes.
    pub memory_len: u64,
    /// The frame (a `*mut Frame`); compiled code only hands it to [`interpret_one`].
    pub frame: *mut (),
    /// The executor's context (a `*mut Ctx`); compiled code only hands it to
    /// [`interpret_one`].
    pub ctx: *mut (),
}

impl NativeState {
    /// Byte offsets of `stack`, `len`, `gas`, `pc`, `memory`, `memory_data`, `memory_len`,
    /// `frame` and `ctx`.
    pub const OFFSETS: [i32; 9] = [0, 8, 16, 24, 32, 40, 48, 56, 64];

    /// The state for running compiled code on `frame` (its stack, gas, pc and memory).
    pub(crate) fn new(frame: &mut Frame, cx: &mut Ctx<'_>) -> NativeState {
        // Every pointer in the state derives from this one, so none is invalidated by
        // taking another.
        let frame: *mut Frame = frame;
        let mut state = NativeState {
            stack: std::ptr::null_mut(),
            len: 0,
            gas: 0,
            pc: 0,
            memory: std::ptr::null_mut(),
            memory_data: std::ptr::null_mut(),
            memory_len: 0,
            frame: frame.cast(),
            ctx: (cx as *mut Ctx<'_>).cast(),
        };
        // SAFETY: `frame` comes from a live mutable reference, unused while this runs.
        state.load_from(unsafe { &mut *frame });
        state
    }

    /// Copies the frame's stack, height, gas, pc and memory into the state. The pointers are
    /// taken afresh each time (compiled code reads them again after every call out), so none
    /// outlives a use of the frame by the interpreter.
    fn load_from(&mut self, frame: &mut Frame) {
        self.stack = frame.stack.buffer();
        self.memory = &mut frame.memory;
        self.len = frame.stack.len() as u64;
        self.gas = frame.gas;
        self.pc = frame.pc as u64;
        self.memory_data = frame.memory.as_mut_ptr();
        self.memory_len = frame.memory.len() as u64;
    }
}

/// What [`interpret_one`] returns when compiled code should go on with the next
/// instruction (every other value is an [`Exit`] code for the code to return).
pub const CONTINUE: u32 = u32::MAX;

/// Runs the instruction at `state.pc` on the state's frame, its block's static gas already
/// paid, and writes the frame's height, gas, pc and memory bounds back into the state.
/// Returns [`CONTINUE`], [`Exit::Steps`] when the instruction cannot run with the block
/// prepaid (memory growth it cannot pay: the prepaid gas is given back and the frame goes
/// on step by step from that pc), or [`Exit::Returned`] when the frame stopped, halted or
/// suspended.
///
/// # Safety
/// `state` must be the state [`NativeState::new`] built for the frame compiled code is
/// running, with its stack slots below `len` initialised.
pub unsafe extern "C" fn interpret_one(state: *mut NativeState) -> u32 {
    // SAFETY: the caller's contract: the state, its frame and context are live, and the
    // interpreter's own references to them wait for the compiled code to return.
    let state = unsafe { &mut *state };
    let frame = unsafe { &mut *state.frame.cast::<Frame>() };
    let cx = unsafe { &mut *state.ctx.cast::<Ctx<'_>>() };
    // SAFETY: compiled code keeps the slots below `len` initialised.
    unsafe { frame.stack.set_len(state.len as usize) };
    frame.gas = state.gas;
    frame.pc = state.pc as usize;
    let exit = super::interpret_prepaid(frame, cx);
    state.load_from(frame);
    exit
}

/// Grows the memory of `state` to cover `end` bytes (rounded up to words), charging the
/// expansion to `state.gas` and refreshing `memory_data` and `memory_len`. Returns 1 on
/// success, 0 when the gas cannot pay (nothing changes then). Compiled code calls it, with
/// its gas written to the state, for a memory access past the current size.
///
/// # Safety
/// `state` must be a state built by the interpreter for a live frame (its `memory` valid).
pub unsafe extern "C" fn grow_memory(state: *mut NativeState, end: u64) -> u32 {
    // SAFETY: the caller's contract: `state` and its memory are live and not aliased while
    // compiled code waits for this call.
    let state = unsafe { &mut *state };
    let memory = unsafe { &mut *state.memory };
    if !memory.grow_charged(&mut state.gas, end) {
        return 0;
    }
    state.memory_data = memory.as_mut_ptr();
    state.memory_len = memory.len() as u64;
    1
}

/// Why compiled code returned, as the `u32` its entry returns.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The block at `pc` failed its entry check: run the rest of the frame step by step.
    Steps = 1,
    /// STOP, or the end of the code.
    Stop = 2,
    /// A jump to a position that is not a JUMPDEST.
    InvalidJump = 3,
    /// [`interpret_one`] ran an instruction that stopped, halted or suspended the frame
    /// (its status says which); the frame's state is already written back.
    Returned = 4,
}

impl Exit {
    /// The exit for a returned code; `None` for a code no exit has.
    pub fn from_code(code: u32) -> Option<Exit> {
        Some(match code {
            1 => Exit::Steps,
            2 => Exit::Stop,
            3 => Exit::InvalidJump,
            4 => Exit::Returned,
            _ => return None,
        })
    }
}

/// The signature of compiled code's entry.
pub type NativeEntry = unsafe extern "C" fn(*mut NativeState) -> u32;

/// Compiled code for one contract under one fork, kept alive by its owner (the backend's
/// code memory).
pub struct NativeCode {
    entry: NativeEntry,
    _owner: Box<dyn Any + Send + Sync>,
}

impl std::fmt::Debug for NativeCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeCode").finish_non_exhaustive()
    }
}

impl NativeCode {
    /// Wraps a compiled entry point and what keeps its code memory alive.
    ///
    /// # Safety
    /// `entry` must stay callable while `owner` lives, and for the code it was compiled from
    /// (and the fork it was analysed for) it must keep this contract: called with a state
    /// whose `stack` has [`super::stack::STACK_LIMIT`] slots of which the first `len` are
    /// initialised, and whose `pc` is a block start, it reads and writes
    /// only those slots (never above the limit), leaves `len` at most the limit with every
    /// slot below it initialised, reads and writes memory only inside the `memory_len` bytes
    /// at `memory_data` and grows it only through [`grow_memory`] (reading both fields
    /// again after the call), hands the instructions it does not compile to
    /// [`interpret_one`] with the stack, height, gas and pc written to the state (and reads
    /// them back after), takes gas only as the interpreter would, and returns an
    /// [`Exit`] code with `pc` set as that exit describes.
    pub unsafe fn new(entry: NativeEntry, owner: Box<dyn Any + Send + Sync>) -> NativeCode {
        NativeCode { entry, _owner: owner }
    }

    /// Calls the entry.
    #[inline]
    pub(crate) fn call(&self, state: &mut NativeState) -> u32 {
        // SAFETY: the state comes from a live frame (see `run_native`), which is what the
        // contract of `NativeCode::new` asks for.
        unsafe { (self.entry)(state) }
    }
}

/// Chooses and supplies compiled code: one per executor, shared across threads.
pub trait NativeBackend: Send + Sync + std::fmt::Debug {
    /// The compiled code for `code` (whose code hash is `hash`), if there is some now. Called
    /// once for every frame that runs deployed code; a backend may count calls and compile in
    /// the background, or compile before answering.
    fn lookup(&self, hash: &B256, code: &Arc<AnalyzedCode>) -> Option<Arc<NativeCode>>;
}

/// A word operation compiled code calls instead of inlining it. `top` points at the stack's
/// top item; the operation reads its inputs from there down and writes its one output over
/// the deepest input (compiled code then lowers the height by `inputs - 1`).
pub type Builtin = unsafe extern "C" fn(top: *mut U256);

/// The builtin for `op` and its number of inputs, for the opcodes compiled code calls out
/// for (multiplication, division, modular arithmetic, SIGNEXTEND, BYTE, shifts, CLZ). Their
/// results match the interpreter's instructions (tested against them below).
pub fn builtin(op: u8) -> Option<(Builtin, u8)> {
    use builtins::*;
    Some(match op {
        0x02 => (mul, 2),
        0x04 => (div, 2),
        0x05 => (sdiv, 2),
        0x06 => (rem, 2),
        0x07 => (smod, 2),
        0x08 => (addmod, 3),
        0x09 => (mulmod, 3),
        0x0b => (signextend, 2),
        0x1a => (byte, 2),
        0x1b => (shl, 2),
        0x1c => (shr, 2),
        0x1d => (sar, 2),
        0x1e => (clz, 1),
        _ => return None,
    })
}

mod builtins {
    use crate::interpreter::instructions::arithmetic::{sdiv_words, smod_words};
    use crate::interpreter::instructions::bitwise::sar_words;
    use crate::primitives::U256;

    macro_rules! word_op {
        ($name:ident, |$a:ident| $body:expr) => {
            pub(super) unsafe extern "C" fn $name(top: *mut U256) {
                // SAFETY: compiled code passes the top of a stack holding the input.
                unsafe {
                    let $a = top.read();
                    top.write($body);
                }
            }
        };
        ($name:ident, |$a:ident, $b:ident| $body:expr) => {
            pub(super) unsafe extern "C" fn $name(top: *mut U256) {
                // SAFETY: compiled code passes the top of a stack holding both inputs.
                unsafe {
                    let ($a, $b) = (top.read(), top.sub(1).read());
                    top.sub(1).write($body);
                }
            }
        };
        ($name:ident, |$a:ident, $b:ident, $c:ident| $body:expr) => {
            pub(super) unsafe extern "C" fn $name(top: *mut U256) {
                // SAFETY: compiled code passes the top of a stack holding all three inputs.
                unsafe {
                    let ($a, $b, $c) = (top.read(), top.sub(1).read(), top.sub(2).read());
                    top.sub(2).write($body);
                }
            }
        };
    }

    word_op!(mul, |a, b| a.wrapping_mul(b));
    word_op!(div, |a, b| if b.is_zero() { U256::ZERO } else { a / b });
    word_op!(rem, |a, b| if b.is_zero() { U256::ZERO } else { a % b });
    word_op!(sdiv, |a, b| sdiv_words(a, b));
    word_op!(smod, |a, b| smod_words(a, b));
    word_op!(addmod, |a, b, n| if n.is_zero() { U256::ZERO } else { a.add_mod(b, n) });
    word_op!(mulmod, |a, b, n| if n.is_zero() { U256::ZERO } else { a.mul_mod(b, n) });
    word_op!(signextend, |k, x| if k < U256::from(31) {
        let sign_bit = k.to::<usize>() * 8 + 7;
        let low = (U256::from(1) << (sign_bit + 1)) - U256::from(1);
        if x.bit(sign_bit) {
            x | !low
        } else {
            x & low
        }
    } else {
        x
    });
    word_op!(byte, |i, x| if i < U256::from(32) {
        U256::from(x.byte(31 - i.to::<usize>()))
    } else {
        U256::ZERO
    });
    word_op!(shl, |shift, x| if shift < U256::from(256) { x << shift.to::<usize>() } else { U256::ZERO });
    word_op!(shr, |shift, x| if shift < U256::from(256) { x >> shift.to::<usize>() } else { U256::ZERO });
    word_op!(sar, |shift, x| sar_words(shift, x));
    word_op!(clz, |x| U256::from(x.leading_zeros()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interpreter::instructions::{arithmetic as ar, bitwise as bw};
    use crate::interpreter::stack::Stack;

    fn words() -> Vec<U256> {
        let mut w = vec![
            U256::ZERO,
            U256::from(1),
            U256::from(2),
            U256::from(7),
            U256::from(30),
            U256::from(31),
            U256::from(32),
            U256::from(255),
            U256::from(256),
            U256::from(0x80),
            U256::MAX,
            U256::MAX - U256::from(1),
            U256::from(1) << 255,
            (U256::from(1) << 255) - U256::from(1),
            U256::from_be_bytes([0xa5; 32]),
            U256::from_be_bytes([0x5a; 32]),
        ];
        w.push(U256::from(0x1234_5678_9abc_def0u64) << 100);
        w
    }

    /// Every builtin gives what the interpreter's instruction leaves on a stack.
    #[test]
    fn builtins_match_the_interpreter() {
        type StackOp = fn(&mut Stack);
        let ops: [(u8, StackOp); 13] = [
            (0x02, ar::mul),
            (0x04, ar::div),
            (0x05, ar::sdiv),
            (0x06, ar::rem),
            (0x07, ar::smod),
            (0x08, ar::addmod),
            (0x09, ar::mulmod),
            (0x0b, ar::signextend),
            (0x1a, bw::byte),
            (0x1b, bw::shl),
            (0x1c, bw::shr),
            (0x1d, bw::sar),
            (0x1e, bw::clz),
        ];
        let words = words();
        let mut checked = 0;
        for (op, stack_op) in ops {
            let (f, inputs) = builtin(op).expect("builtin");
            for &a in &words {
                for &b in &words {
                    for &c in words.iter().take(if inputs == 3 { words.len() } else { 1 }) {
                        let args = [a, b, c];
                        let mut s = Stack::default();
                        for &x in args[..inputs as usize].iter().rev() {
                            s.push(x);
                        }
                        stack_op(&mut s);
                        let expected = s.pop();
                        let mut buf: Vec<U256> = args[..inputs as usize].iter().rev().copied().collect();
                        // SAFETY: `buf` holds `inputs` words, the top last.
                        unsafe { f(buf.as_mut_ptr().add(inputs as usize - 1)) };
                        assert_eq!(buf[0], expected, "op {op:#x} on {:?}", &args[..inputs as usize]);
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 13 * 200);
    }
}
