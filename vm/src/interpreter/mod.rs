//! The interpreter: one call frame's machine state and the table-driven dispatch loop.
//!
//! Static gas and stack bounds are checked in [`run`] only, once per basic block (see
//! [`analysis`]) or, when a block fails its check or a tracer is attached, once per
//! instruction from the per-fork table built out of [`crate::opcodes`]; instruction bodies
//! charge only their dynamic gas. A CALL or
//! CREATE does not recurse: the instruction leaves a [`FrameRequest`] in the context and
//! stops the loop, and the executor ([`crate::evm`]) pushes a new frame on its explicit
//! frame stack, so depth 1024 costs heap, not native stack.

pub mod analysis;
pub(crate) mod instructions;
pub mod memory;
pub mod native;
pub mod stack;
mod table;

use crate::env::{BlockEnv, CfgEnv, TxEnv};
use crate::fork::Fork;
use crate::journal::Journal;
use crate::primitives::{Address, Bytes, U256};
use crate::state::StateError;
use crate::tracing::{Step, Tracer};
use analysis::{AnalyzedCode, PackedBlock};
use instructions::control::Jump;
use memory::Memory;
use stack::{Stack, STACK_LIMIT};
use std::sync::Arc;

/// Why a frame halted exceptionally. Every exceptional halt consumes all of the frame's gas.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HaltReason {
    /// Not enough gas.
    OutOfGas,
    /// An instruction needed more stack items than there were.
    StackUnderflow,
    /// The stack would exceed 1024 items.
    StackOverflow,
    /// An undefined opcode, or INVALID (0xfe).
    InvalidOpcode,
    /// JUMP or JUMPI to a position that is not a JUMPDEST.
    InvalidJump,
    /// A state-changing instruction inside a static call.
    StaticStateChange,
    /// RETURNDATACOPY past the end of the return data.
    ReturnDataOutOfBounds,
    /// Deployed code starts with 0xEF (EIP-3541).
    InvalidCodePrefix,
    /// Deployed code is larger than 24576 bytes (EIP-170).
    CodeSizeLimit,
    /// A CREATE target already has code, a nonce or storage.
    CreateCollision,
    /// A precompile rejected its input.
    PrecompileFailure,
}

impl HaltReason {
    /// The short name used in traces and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            HaltReason::OutOfGas => "out of gas",
            HaltReason::StackUnderflow => "stack underflow",
            HaltReason::StackOverflow => "stack limit reached 1024",
            HaltReason::InvalidOpcode => "invalid opcode",
            HaltReason::InvalidJump => "invalid jump destination",
            HaltReason::StaticStateChange => "write protection",
            HaltReason::ReturnDataOutOfBounds => "return data out of bounds",
            HaltReason::InvalidCodePrefix => "invalid code: must not begin with 0xef",
            HaltReason::CodeSizeLimit => "max code size exceeded",
            HaltReason::CreateCollision => "contract address collision",
            HaltReason::PrecompileFailure => "precompile failed",
        }
    }
}

/// A frame's execution status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Still executing.
    Running,
    /// STOP, or the end of code.
    Stop,
    /// RETURN.
    Return,
    /// SELFDESTRUCT (ends the frame successfully).
    SelfDestruct,
    /// REVERT: state undone, remaining gas returned.
    Revert,
    /// Exceptional halt.
    Halt(HaltReason),
    /// Paused on a CALL or CREATE; the request is in the context.
    Suspended,
    /// The store failed; the transaction cannot complete.
    Fatal,
}

impl Status {
    /// Whether the frame ended successfully.
    pub fn is_success(self) -> bool {
        matches!(self, Status::Stop | Status::Return | Status::SelfDestruct)
    }
}

/// The kind of a message call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// CALL (and the transaction's top-level call).
    Call,
    /// CALLCODE: the callee's code on the caller's storage, with value.
    CallCode,
    /// DELEGATECALL: the callee's code in the caller's context.
    DelegateCall,
    /// STATICCALL: no state changes allowed.
    StaticCall,
}

/// A sub-call asked for by CALL, CALLCODE, DELEGATECALL or STATICCALL.
#[derive(Debug, Clone)]
pub struct CallRequest {
    /// Which call opcode.
    pub kind: CallKind,
    /// The account whose storage and balance the callee uses.
    pub target: Address,
    /// The account whose code runs.
    pub code_address: Address,
    /// CALLER inside the callee.
    pub caller: Address,
    /// CALLVALUE inside the callee.
    pub value: U256,
    /// Whether `value` moves from `caller` to `target`.
    pub transfer: bool,
    /// Calldata.
    pub input: Bytes,
    /// Gas given to the callee (stipend included).
    pub gas: u64,
    /// Static context.
    pub is_static: bool,
    /// Where the caller wants the output.
    pub ret_offset: usize,
    /// How many output bytes the caller wants.
    pub ret_len: usize,
    /// EIP-7702: a delegated account's code never runs a precompile.
    pub precompiles_disabled: bool,
}

/// A contract creation asked for by CREATE or CREATE2.
#[derive(Debug, Clone)]
pub struct CreateRequest {
    /// The new contract's address.
    pub address: Address,
    /// The creating account.
    pub caller: Address,
    /// Endowment.
    pub value: U256,
    /// Initcode.
    pub init_code: Bytes,
    /// Gas given to the initcode.
    pub gas: u64,
}

/// What a suspended frame asks the executor to do.
#[derive(Debug, Clone)]
pub enum FrameRequest {
    /// Run a message call.
    Call(Box<CallRequest>),
    /// Run a contract creation.
    Create(Box<CreateRequest>),
}

/// How a finished frame hands its result back to its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// A call: output goes to the parent's memory at this range.
    Call {
        /// Output offset in the parent's memory.
        ret_offset: usize,
        /// Output length wanted.
        ret_len: usize,
    },
    /// A creation of the contract at `address`.
    Create {
        /// The new contract.
        address: Address,
    },
}

/// One call frame's machine state.
#[derive(Debug)]
pub struct Frame {
    /// Program counter.
    pub pc: usize,
    /// Gas remaining.
    pub gas: u64,
    /// Refund counter accumulated by this frame (merged into the parent on success).
    pub refund: i64,
    /// Operand stack.
    pub stack: Stack,
    /// Memory.
    pub memory: Memory,
    /// The code being run.
    pub code: Arc<AnalyzedCode>,
    /// Calldata.
    pub input: Bytes,
    /// ADDRESS: the account whose storage this frame uses.
    pub address: Address,
    /// The account the code came from.
    pub code_address: Address,
    /// CALLER.
    pub caller: Address,
    /// CALLVALUE.
    pub value: U256,
    /// Whether state changes are forbidden.
    pub is_static: bool,
    /// Call depth (0 for the transaction's frame).
    pub depth: usize,
    /// Output of the last sub-call (RETURNDATASIZE/RETURNDATACOPY).
    pub return_data: Bytes,
    /// Range of memory holding this frame's output after RETURN or REVERT.
    pub output: (usize, usize),
    /// Execution status.
    pub status: Status,
    /// How the result goes back to the parent.
    pub kind: FrameKind,
    /// Journal position to revert to on failure.
    pub checkpoint: crate::journal::Checkpoint,
    /// Compiled code for this frame's code, when the executor's backend has some.
    pub native: Option<Arc<native::NativeCode>>,
}

/// Transaction-wide context the instructions act on.
pub struct Ctx<'a> {
    /// Journaled state.
    pub journal: Journal<'a>,
    /// Block header fields.
    pub block: &'a BlockEnv,
    /// Chain configuration.
    pub cfg: &'a CfgEnv,
    /// The transaction.
    pub tx: &'a TxEnv,
    /// The price per gas actually paid (GASPRICE).
    pub effective_gas_price: U256,
    /// The fork in force.
    pub fork: Fork,
    /// A pending CALL/CREATE, set by the instruction that suspends its frame.
    pub request: Option<FrameRequest>,
    /// A store error that aborted execution.
    pub error: Option<StateError>,
    /// The EIP-3155 tracer, when tracing.
    pub tracer: Option<&'a mut dyn Tracer>,
    /// The executor's cache of analysed code, by code hash.
    pub code_cache: &'a mut crate::evm::CodeCache,
    /// Where compiled code comes from, if anywhere (see [`native`]).
    pub native: Option<&'a dyn native::NativeBackend>,
}

impl Frame {
    /// Takes `cost` gas; on shortage halts with out-of-gas and returns false.
    #[inline(always)]
    pub fn charge(&mut self, cost: u64) -> bool {
        if self.gas < cost {
            self.gas = 0;
            self.status = Status::Halt(HaltReason::OutOfGas);
            false
        } else {
            self.gas -= cost;
            true
        }
    }

    /// Halts with `reason`.
    #[inline]
    pub fn halt(&mut self, reason: HaltReason) {
        self.status = Status::Halt(reason);
    }

    /// Expands memory to cover `len` bytes at `offset`, charging for it. Returns the offset
    /// as `usize`, or `None` after halting out of gas. A zero `len` touches nothing.
    #[inline(always)]
    pub fn expand(&mut self, offset: U256, len: U256) -> Option<usize> {
        let at = self.memory.expand(&mut self.gas, offset, len);
        if at.is_none() {
            self.out_of_gas();
        }
        at
    }

    /// Expands memory to `end` bytes (rounded up to words), charging the cost difference.
    /// `None` stands for a size beyond any gas.
    pub fn expand_to(&mut self, end: Option<u64>) -> bool {
        let ok = end.is_some_and(|end| self.memory.grow_charged(&mut self.gas, end));
        if !ok {
            self.out_of_gas();
        }
        ok
    }

    #[cold]
    fn out_of_gas(&mut self) {
        self.gas = 0;
        self.status = Status::Halt(HaltReason::OutOfGas);
    }

    /// The output bytes of a finished frame.
    pub fn output_bytes(&self) -> Bytes {
        let (offset, len) = self.output;
        if len == 0 {
            Bytes::new()
        } else {
            Bytes::copy_from_slice(self.memory.slice(offset, len))
        }
    }
}

/// Runs `frame` until it stops, halts or suspends on a CALL/CREATE.
pub fn run(frame: &mut Frame, cx: &mut Ctx<'_>) {
    if cx.tracer.is_some() {
        run_loop::<false, true, false>(frame, cx);
    } else if let Some(compiled) = frame.native.clone() {
        run_native(frame, cx, &compiled);
    } else if !run_loop::<true, false, false>(frame, cx) {
        run_loop::<false, false, false>(frame, cx);
    }
}

/// Runs `f` on its compiled code, interpreting the instructions the code hands back (see
/// [`native`]).
#[inline(never)]
fn run_native(f: &mut Frame, cx: &mut Ctx<'_>, compiled: &native::NativeCode) {
    use native::{Exit, NativeState};
    let mut state = NativeState::new(f, cx);
    let exit = compiled.call(&mut state);
    // SAFETY: compiled code leaves at most STACK_LIMIT items, all initialised (the
    // contract of `NativeCode::new`).
    unsafe { f.stack.set_len(state.len as usize) };
    f.gas = state.gas;
    f.pc = state.pc as usize;
    match Exit::from_code(exit) {
        Some(Exit::Steps) => {
            run_loop::<false, false, false>(f, cx);
        }
        Some(Exit::Returned) => {}
        Some(Exit::Stop) => f.status = Status::Stop,
        Some(Exit::InvalidJump) => {
            f.gas = 0;
            f.status = Status::Halt(HaltReason::InvalidJump);
        }
        None => {
            cx.error = Some(StateError(format!("compiled code returned unknown exit {exit} at pc {}", f.pc)));
            f.status = Status::Fatal;
        }
    }
}

/// Runs the one instruction at `f.pc` for compiled code, its block's static gas already
/// paid (see [`native::interpret_one`]), and says how compiled code goes on.
fn interpret_prepaid(f: &mut Frame, cx: &mut Ctx<'_>) -> u32 {
    let op = f.code.padded()[f.pc];
    if !matches!(op, 0x01..=0x09 | 0x0b | 0x10..=0x1e | 0x50..=0x53 | 0x56..=0x58 | 0x5a | 0x5b | 0x5f..=0x9f)
    {
        // What the dispatch loop's table arm does for an instruction of an entered block.
        f.pc += 1;
        (table::for_fork(cx.fork).exec[op as usize])(f, cx);
        return match f.status {
            Status::Running => native::CONTINUE,
            Status::Halt(_) => {
                f.gas = 0;
                native::Exit::Returned as u32
            }
            _ => native::Exit::Returned as u32,
        };
    }
    // The instructions the loop runs inline: compiled code hands over memory access when
    // it is compiled without it (`CompileOptions::inline_memory`), and a failed access
    // comes back as `Steps` with the block's prepaid gas given back.
    if !run_loop::<true, false, true>(f, cx) {
        native::Exit::Steps as u32
    } else if f.status != Status::Running {
        native::Exit::Returned as u32
    } else {
        native::CONTINUE
    }
}

/// What one step of the dispatch loop ended with.
enum StepEnd {
    /// Go on with the next instruction.
    Next,
    /// An inline instruction halted exceptionally.
    Halt(HaltReason),
    /// A table instruction changed the frame's status (stop, return, revert, suspend, halt).
    StatusChanged,
    /// A block cannot run unchecked: go on step by step from this pc.
    Steps(usize),
}

/// Checks the block starting at `start` for the stack height `len` and, if it admits them,
/// takes its static gas. See [`analysis`].
#[inline(always)]
fn enter_block(code: &AnalyzedCode, blocks: &[PackedBlock], start: usize, gas: &mut u64, len: usize) -> bool {
    enter_packed(code, blocks[start], start, gas, len)
}

/// [`enter_block`] with the block's table entry already loaded.
#[inline(always)]
fn enter_packed(code: &AnalyzedCode, block: PackedBlock, start: usize, gas: &mut u64, len: usize) -> bool {
    if !block.admits(*gas, len) {
        return enter_wide_block(code, start, gas, len);
    }
    *gas -= block.gas();
    true
}

/// [`enter_packed`] for a block that failed the packed check: it may be one too large to
/// pack, whose bounds are in the code's side table.
#[cold]
#[inline(never)]
fn enter_wide_block(code: &AnalyzedCode, start: usize, gas: &mut u64, len: usize) -> bool {
    let block = code.wide_block(start);
    if !block.admits(*gas, len) {
        return false;
    }
    *gas -= block.gas as u64;
    true
}

/// The pc after a jump to the JUMPDEST at `dest`, whose block is `block`. With `BLOCKS` the
/// jump enters the block itself and skips the JUMPDEST (its gas is part of the block), which
/// saves a dispatch per jump; `None` when the block fails its check. Without, the JUMPDEST
/// runs as an instruction of its own.
#[inline(always)]
fn land<const BLOCKS: bool>(
    code: &AnalyzedCode,
    block: PackedBlock,
    dest: usize,
    gas: &mut u64,
    len: usize,
) -> Option<usize> {
    if !BLOCKS {
        return Some(dest);
    }
    enter_packed(code, block, dest, gas, len).then_some(dest + 1)
}

/// Opcodes after which a new block starts (see [`analysis::ends_block`]).
static ENDS_BLOCK: [bool; 256] = {
    let mut t = [false; 256];
    let mut op = 0;
    while op < 256 {
        t[op] = analysis::ends_block(op as u8);
        op += 1;
    }
    t
};

/// The dispatch loop. The hottest opcodes (arithmetic, comparisons, stack, jumps, MLOAD and
/// MSTORE) run inline with `pc` and `gas` held in locals, so they stay in registers; every
/// other opcode goes through the fork's table with the frame synced before and after.
///
/// With `BLOCKS`, static gas and stack bounds are checked once per basic block (see
/// [`analysis`]); when a block fails its check the loop returns false and the caller runs
/// the rest of the frame step by step. Without it, every instruction is checked against
/// the table: an opcode the fork lacks has `inputs == UNDEFINED`, so the stack check
/// rejects it before any inline arm could run it.
///
/// With `ONE` (for compiled code, see [`native`]) it runs the single instruction at `f.pc`,
/// whose block compiled code already entered, and returns; it enters no block itself, so a
/// jump stops at its JUMPDEST for the compiled code to enter.
#[inline(always)]
fn run_loop<const BLOCKS: bool, const TRACE: bool, const ONE: bool>(f: &mut Frame, cx: &mut Ctx<'_>) -> bool {
    use crate::opcodes::code::JUMPDEST;
    use instructions::{arithmetic as ar, bitwise as bw, control as ct, memory as me, stack as st};
    let table = table::for_fork(cx.fork);
    let code = f.code.clone();
    debug_assert!(!BLOCKS || code.fork() == cx.fork);
    // Block by block, fused PUSH-and-jump pairs run as one instruction; every other mode
    // needs each instruction on its own (see [`analysis`]'s fused jumps).
    let bytes = if BLOCKS && !TRACE && !ONE { code.dispatch() } else { code.padded() };
    let blocks = code.blocks();
    let base = bytes.as_ptr();
    debug_assert!(f.pc < bytes.len());
    // The loop keeps a pointer to the next opcode rather than an index, so that fetching
    // needs no base register; `pc!()` turns it back into an index where one is needed.
    // SAFETY: `f.pc` is inside the padded code (see the fetch below).
    let mut ip = unsafe { base.add(f.pc) };
    macro_rules! pc {
        () => {
            // SAFETY: `ip` always points into `bytes`, at or after `base`.
            unsafe { ip.offset_from(base) as usize }
        };
    }
    let mut gas = f.gas;
    // The stack lives in a local while the loop runs so that its pointer and length stay in
    // registers; it goes back into the frame around every table-dispatched instruction and
    // when the loop ends.
    let mut stack = core::mem::replace(&mut f.stack, Stack::placeholder());
    if BLOCKS && !ONE && bytes[f.pc] != JUMPDEST && !enter_block(&code, blocks, f.pc, &mut gas, stack.len()) {
        f.stack = stack;
        return false;
    }
    loop {
        debug_assert!(pc!() < bytes.len());
        // SAFETY: `pc` never passes the padding: jumps land inside the code, the pc after a
        // PUSH at the last byte is `len + 32`, and the padding ends at `len + 33`, with a
        // STOP at every position from `len` on.
        let op = unsafe { *ip };
        let trace_start = if TRACE {
            Some((pc!(), stack.as_slice().to_vec(), f.memory.len(), f.refund, gas))
        } else {
            None
        };
        let end = 'step: {
            if !BLOCKS {
                let meta = table.meta[op as usize];
                let len = stack.len();
                if len < meta.inputs as usize {
                    let reason = if meta.inputs == table::UNDEFINED {
                        HaltReason::InvalidOpcode
                    } else {
                        HaltReason::StackUnderflow
                    };
                    break 'step StepEnd::Halt(reason);
                }
                if len > meta.max_len as usize {
                    break 'step StepEnd::Halt(HaltReason::StackOverflow);
                }
                if gas < meta.gas as u64 {
                    break 'step StepEnd::Halt(HaltReason::OutOfGas);
                }
                gas -= meta.gas as u64;
            }
            // SAFETY: at most the padding's end (see the fetch above).
            ip = unsafe { ip.add(1) };
            let s = &mut stack;
            match op {
                0x01 => ar::add(s),
                0x02 => ar::mul(s),
                0x03 => ar::sub(s),
                0x04 => ar::div(s),
                0x05 => ar::sdiv(s),
                0x06 => ar::rem(s),
                0x07 => ar::smod(s),
                0x08 => ar::addmod(s),
                0x09 => ar::mulmod(s),
                0x0b => ar::signextend(s),
                0x10 => bw::lt(s),
                0x11 => bw::gt(s),
                0x12 => bw::slt(s),
                0x13 => bw::sgt(s),
                0x14 => bw::eq(s),
                0x15 => bw::iszero(s),
                0x16 => bw::and(s),
                0x17 => bw::or(s),
                0x18 => bw::xor(s),
                0x19 => bw::not(s),
                0x1a => bw::byte(s),
                0x1b => bw::shl(s),
                0x1c => bw::shr(s),
                0x1d => bw::sar(s),
                0x1e => bw::clz(s),
                0x50 => st::pop(s),
                0x51..=0x53 => {
                    let ok = match op {
                        0x51 => me::mload(s, &mut f.memory, &mut gas),
                        0x52 => me::mstore(s, &mut f.memory, &mut gas),
                        _ => me::mstore8(s, &mut f.memory, &mut gas),
                    };
                    if !ok {
                        if BLOCKS {
                            // Give back what the block prepaid for this instruction and the
                            // rest, and let the step-by-step loop decide (see [`analysis`]).
                            let at = pc!() - 1;
                            gas += code.prepaid_after(at);
                            break 'step StepEnd::Steps(at);
                        }
                        break 'step StepEnd::Halt(HaltReason::OutOfGas);
                    }
                }
                0x56 => match ct::jump(s, blocks) {
                    // SAFETY: `dest` is a JUMPDEST's position, inside the code.
                    Jump::To(dest, _) if ONE => ip = unsafe { base.add(dest) },
                    Jump::To(dest, block) => match land::<BLOCKS>(&code, block, dest, &mut gas, s.len()) {
                        // SAFETY: `next` is a JUMPDEST's position plus one, inside the code.
                        Some(next) => ip = unsafe { base.add(next) },
                        None => break 'step StepEnd::Steps(dest),
                    },
                    _ => break 'step StepEnd::Halt(HaltReason::InvalidJump),
                },
                0x57 => match ct::jumpi(s, blocks) {
                    // SAFETY: as for JUMP.
                    Jump::To(dest, _) if ONE => ip = unsafe { base.add(dest) },
                    Jump::To(dest, block) => match land::<BLOCKS>(&code, block, dest, &mut gas, s.len()) {
                        // SAFETY: as for JUMP.
                        Some(next) => ip = unsafe { base.add(next) },
                        None => break 'step StepEnd::Steps(dest),
                    },
                    Jump::NotTaken => {
                        // SAFETY: `ip` is inside the padded code.
                        if BLOCKS
                            && !ONE
                            && unsafe { *ip } != JUMPDEST
                            && !enter_block(&code, blocks, pc!(), &mut gas, s.len())
                        {
                            break 'step StepEnd::Steps(pc!());
                        }
                    }
                    Jump::Invalid => break 'step StepEnd::Halt(HaltReason::InvalidJump),
                },
                // Only in `dispatch` code, so only with BLOCKS (see [`analysis`]): a PUSH1 or
                // PUSH2 and the JUMP or JUMPI after it. The block check covered both.
                analysis::FUSED_PUSH1_JUMP..=analysis::FUSED_PUSH2_JUMPI => {
                    let wide = op == analysis::FUSED_PUSH2_JUMP || op == analysis::FUSED_PUSH2_JUMPI;
                    // SAFETY: the pair lies inside the code, its jump opcode included.
                    let dest = unsafe {
                        if wide {
                            u16::from_be_bytes([*ip, *ip.add(1)]) as usize
                        } else {
                            *ip as usize
                        }
                    };
                    // SAFETY: past the immediate and the jump opcode, both inside the code.
                    ip = unsafe { ip.add(usize::from(wide) + 2) };
                    let conditional = op >= analysis::FUSED_PUSH1_JUMPI;
                    let taken = !conditional || {
                        let cond = s.pop_limbs().into_limbs();
                        (cond[0] | cond[1] | cond[2] | cond[3]) != 0
                    };
                    if taken {
                        match blocks.get(dest) {
                            Some(&block) if block.is_jumpdest() => {
                                match land::<BLOCKS>(&code, block, dest, &mut gas, s.len()) {
                                    // SAFETY: a JUMPDEST's position plus one, inside the code.
                                    Some(next) => ip = unsafe { base.add(next) },
                                    None => break 'step StepEnd::Steps(dest),
                                }
                            }
                            _ => break 'step StepEnd::Halt(HaltReason::InvalidJump),
                        }
                    } else if unsafe { *ip } != JUMPDEST
                        && !enter_block(&code, blocks, pc!(), &mut gas, s.len())
                    {
                        // SAFETY (of the read above): `ip` is inside the padded code.
                        break 'step StepEnd::Steps(pc!());
                    }
                }
                0x58 => s.push(U256::from(pc!() - 1)),
                0x5a => {
                    s.push(U256::from(gas));
                    // SAFETY: `ip` is inside the padded code.
                    if BLOCKS
                        && !ONE
                        && unsafe { *ip } != JUMPDEST
                        && !enter_block(&code, blocks, pc!(), &mut gas, s.len())
                    {
                        break 'step StepEnd::Steps(pc!());
                    }
                }
                0x5b => {
                    if BLOCKS && !ONE && !enter_block(&code, blocks, pc!() - 1, &mut gas, s.len()) {
                        break 'step StepEnd::Steps(pc!() - 1);
                    }
                }
                0x5f => st::push0(s),
                // SAFETY: `ip` is just after a PUSH opcode, so at most at the code's end,
                // and 33 bytes of padding follow it.
                0x60..=0x7f => ip = unsafe { st::push(s, ip, (op - 0x5f) as usize) },
                0x80..=0x8f => st::dup(s, (op - 0x7f) as usize),
                0x90..=0x9f => st::swap(s, (op - 0x8f) as usize),
                _ => {
                    f.pc = pc!();
                    f.gas = gas;
                    core::mem::swap(&mut f.stack, s);
                    (table.exec[op as usize])(f, cx);
                    core::mem::swap(&mut f.stack, s);
                    debug_assert!(f.pc < bytes.len());
                    // SAFETY: table instructions leave the pc where it was.
                    ip = unsafe { base.add(f.pc) };
                    gas = f.gas;
                    if f.status != Status::Running {
                        break 'step StepEnd::StatusChanged;
                    }
                    if BLOCKS
                        && !ONE
                        && ENDS_BLOCK[op as usize]
                        && bytes[f.pc] != JUMPDEST
                        && !enter_block(&code, blocks, f.pc, &mut gas, s.len())
                    {
                        break 'step StepEnd::Steps(f.pc);
                    }
                }
            }
            StepEnd::Next
        };
        if let Some((trace_pc, stack, memory_size, refund, gas_before)) = trace_start {
            let (error, gas_after) = match (&end, f.status) {
                (StepEnd::Halt(reason), _) => (Some(*reason), 0),
                (_, Status::Halt(reason)) => (Some(reason), 0),
                _ => (None, gas),
            };
            if let Some(tracer) = cx.tracer.as_deref_mut() {
                tracer.step(&Step {
                    pc: trace_pc,
                    op,
                    gas: gas_before,
                    gas_cost: gas_before.saturating_sub(gas_after),
                    memory_size,
                    stack: &stack,
                    depth: f.depth + 1,
                    refund,
                    error,
                });
            }
        }
        match end {
            StepEnd::Next if ONE => {
                f.pc = pc!();
                f.gas = gas;
                f.stack = stack;
                return true;
            }
            StepEnd::Next => continue,
            StepEnd::Halt(reason) => {
                f.pc = pc!();
                f.gas = 0;
                f.status = Status::Halt(reason);
            }
            StepEnd::StatusChanged => {
                if let Status::Halt(_) = f.status {
                    f.gas = 0;
                }
            }
            StepEnd::Steps(resume) => {
                f.pc = resume;
                f.gas = gas;
                f.stack = stack;
                return false;
            }
        }
        f.stack = stack;
        return true;
    }
}

/// Largest stack height before an instruction that grows the stack by `growth`.
const fn max_len_before(growth: u8) -> u16 {
    (STACK_LIMIT - growth as usize) as u16
}
