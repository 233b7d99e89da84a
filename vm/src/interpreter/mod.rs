//! The interpreter: one call frame's machine state and the table-driven dispatch loop.
//!
//! Static gas and stack bounds are checked once, in [`run`], from the per-fork table built
//! out of [`crate::opcodes`]; instruction bodies charge only their dynamic gas. A CALL or
//! CREATE does not recurse: the instruction leaves a [`FrameRequest`] in the context and
//! stops the loop, and the executor ([`crate::evm`]) pushes a new frame on its explicit
//! frame stack, so depth 1024 costs heap, not native stack.

pub mod analysis;
mod instructions;
pub mod memory;
pub mod stack;
mod table;

use crate::env::{BlockEnv, CfgEnv, TxEnv};
use crate::fork::Fork;
use crate::journal::Journal;
use crate::primitives::{Address, Bytes, U256};
use crate::state::StateError;
use crate::tracing::{Step, Tracer};
use analysis::AnalyzedCode;
use memory::{memory_cost, Memory};
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
    /// The code to run (already resolved through an EIP-7702 delegation).
    pub code: Option<Arc<AnalyzedCode>>,
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
    #[inline]
    pub fn expand(&mut self, offset: U256, len: U256) -> Option<usize> {
        if len.is_zero() {
            return Some(0);
        }
        let (Ok(offset), Ok(len)) = (u64::try_from(offset), u64::try_from(len)) else {
            self.charge(u64::MAX);
            return None;
        };
        self.expand_to(offset.checked_add(len)).then_some(offset as usize)
    }

    /// Expands memory to `end` bytes (rounded up to words), charging the cost difference.
    #[inline]
    pub fn expand_to(&mut self, end: Option<u64>) -> bool {
        let Some(end) = end.filter(|e| *e <= u32::MAX as u64) else {
            return self.charge(u64::MAX);
        };
        let current = self.memory.len() as u64;
        if end <= current {
            return true;
        }
        let new_words = end.div_ceil(32);
        let cost = memory_cost(new_words) - memory_cost(current / 32);
        if !self.charge(cost) {
            return false;
        }
        self.memory.grow((new_words * 32) as usize);
        true
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
        run_loop::<true>(frame, cx);
    } else {
        run_loop::<false>(frame, cx);
    }
}

#[inline(always)]
fn run_loop<const TRACE: bool>(f: &mut Frame, cx: &mut Ctx<'_>) {
    let table = table::for_fork(cx.fork);
    let code = f.code.clone();
    let bytes = code.padded();
    while f.status == Status::Running {
        let op = bytes[f.pc] as usize;
        let len = f.stack.len();
        let gas_before = f.gas;
        let step_start =
            if TRACE { Some((f.pc, f.stack.as_slice().to_vec(), f.memory.len(), f.refund)) } else { None };
        let meta = table.meta[op];
        if len < meta.inputs as usize {
            f.halt(HaltReason::StackUnderflow);
        } else if len > meta.max_len as usize {
            f.halt(HaltReason::StackOverflow);
        } else if f.charge(meta.gas as u64) {
            f.pc += 1;
            (table.exec[op])(f, cx);
        }
        if let Some((pc, stack, mem, refund)) = step_start {
            let error = match f.status {
                Status::Halt(reason) => Some(reason),
                _ => None,
            };
            if let Some(tracer) = cx.tracer.as_deref_mut() {
                tracer.step(&Step {
                    pc,
                    op: op as u8,
                    gas: gas_before,
                    gas_cost: gas_before.saturating_sub(f.gas),
                    memory_size: mem,
                    stack: &stack,
                    depth: f.depth + 1,
                    refund,
                    error,
                });
            }
        }
    }
    if let Status::Halt(_) = f.status {
        f.gas = 0;
    }
}

/// Largest stack height before an instruction that grows the stack by `growth`.
const fn max_len_before(growth: u8) -> u16 {
    (STACK_LIMIT - growth as usize) as u16
}
