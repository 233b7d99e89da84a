//! The explicit frame stack.
//!
//! Calls and creations never recurse on the native stack. [`execute`] keeps a `Vec` of
//! suspended frames: when the running frame suspends on a CALL or CREATE, the child is set
//! up (value moved, precompile run, or a new frame pushed); when a frame finishes, its
//! result is folded into the parent, which resumes where it stopped. The invariant: every
//! frame on the stack took a journal checkpoint when it started, and on finishing either
//! keeps its changes (success) or reverts to that checkpoint (revert or halt).

use super::MAX_CODE_SIZE;
use crate::fork::Fork;
use crate::interpreter::analysis::AnalyzedCode;
use crate::interpreter::memory::Memory;
use crate::interpreter::native::NativeCode;
use crate::interpreter::stack::Stack;
use crate::interpreter::{
    run, CallRequest, CreateRequest, Ctx, Frame, FrameKind, FrameRequest, HaltReason, Status,
};
use crate::precompiles::{self, PrecompileError};
use crate::primitives::{address_to_word, Address, Bytes, U256};
use crate::state::StateError;
use std::sync::Arc;

/// How a message (a call or a creation) ended.
#[derive(Debug, Clone)]
pub(crate) struct FrameResult {
    pub(crate) status: Status,
    pub(crate) gas_left: u64,
    pub(crate) refund: i64,
    pub(crate) output: Bytes,
}

impl FrameResult {
    /// A message with no code to run: it succeeds at once, using no gas.
    fn stopped(gas: u64) -> Self {
        FrameResult { status: Status::Stop, gas_left: gas, refund: 0, output: Bytes::new() }
    }

    fn failed(status: Status, gas_left: u64, output: Bytes) -> Self {
        FrameResult { status, gas_left, refund: 0, output }
    }
}

/// What starting a message produced: a frame to run, or an immediate result.
pub(crate) enum Started {
    Frame(Box<Frame>),
    Done(FrameResult),
}

/// Finished frames kept for reuse, with their stack and memory buffers, so that a call
/// allocates neither a frame nor a 32 KiB stack once the pool is warm.
#[derive(Default)]
pub(crate) struct FramePool {
    // Boxed on purpose: the frame stack moves `Box<Frame>`s, and keeping the boxes is what
    // saves the allocation.
    #[allow(clippy::vec_box)]
    frames: Vec<Box<Frame>>,
}

impl FramePool {
    fn give(&mut self, mut frame: Box<Frame>) {
        frame.stack.clear();
        frame.memory.clear();
        frame.return_data = Bytes::new();
        self.frames.push(frame);
    }
}

#[allow(clippy::too_many_arguments)]
fn new_frame(
    pool: &mut FramePool,
    code: Arc<AnalyzedCode>,
    input: Bytes,
    address: Address,
    code_address: Address,
    caller: Address,
    value: U256,
    gas: u64,
    is_static: bool,
    depth: usize,
    kind: FrameKind,
    checkpoint: crate::journal::Checkpoint,
    native: Option<Arc<NativeCode>>,
) -> Box<Frame> {
    if let Some(mut frame) = pool.frames.pop() {
        let f = &mut *frame;
        f.pc = 0;
        f.gas = gas;
        f.refund = 0;
        f.code = code;
        f.input = input;
        f.address = address;
        f.code_address = code_address;
        f.caller = caller;
        f.value = value;
        f.is_static = is_static;
        f.depth = depth;
        f.output = (0, 0);
        f.status = Status::Running;
        f.kind = kind;
        f.checkpoint = checkpoint;
        f.native = native;
        return frame;
    }
    Box::new(Frame {
        pc: 0,
        gas,
        refund: 0,
        stack: Stack::default(),
        memory: Memory::default(),
        code,
        input,
        address,
        code_address,
        caller,
        value,
        is_static,
        depth,
        return_data: Bytes::new(),
        output: (0, 0),
        status: Status::Running,
        kind,
        checkpoint,
        native,
    })
}

/// Starts a message call: checkpoint, touch, value transfer, then a precompile, nothing
/// (no code) or a new frame.
pub(crate) fn start_call(
    cx: &mut Ctx<'_>,
    pool: &mut FramePool,
    req: CallRequest,
    depth: usize,
) -> Result<Started, StateError> {
    let checkpoint = cx.journal.checkpoint();
    cx.journal.touch(req.target)?;
    if req.transfer && !req.value.is_zero() && !cx.journal.transfer(req.caller, req.target, req.value)? {
        // Callers check the balance first; a failed transfer is a plain failed call.
        cx.journal.revert_to(checkpoint);
        return Ok(Started::Done(FrameResult::failed(Status::Revert, req.gas, Bytes::new())));
    }
    if !req.precompiles_disabled && precompiles::is_precompile(&req.code_address, cx.fork) {
        let result = match precompiles::run(&req.code_address, &req.input, req.gas, cx.fork) {
            Ok(out) => FrameResult {
                status: Status::Return,
                gas_left: req.gas - out.gas_used,
                refund: 0,
                output: out.output,
            },
            Err(e) => {
                cx.journal.revert_to(checkpoint);
                let reason = match e {
                    PrecompileError::OutOfGas => HaltReason::OutOfGas,
                    PrecompileError::Failed => HaltReason::PrecompileFailure,
                };
                FrameResult::failed(Status::Halt(reason), 0, Bytes::new())
            }
        };
        return Ok(Started::Done(result));
    }
    // Resolved only now, after the precompile check: `code_address` already follows an
    // EIP-7702 delegation.
    let account = cx.journal.load(req.code_address)?;
    let (hash, code) = (account.info.code_hash, account.code().clone());
    let code = cx.code_cache.get_or_analyze(hash, &code, cx.fork);
    if code.is_empty() {
        return Ok(Started::Done(FrameResult::stopped(req.gas)));
    }
    let native = cx.native.and_then(|backend| backend.lookup(&hash, &code));
    Ok(Started::Frame(new_frame(
        pool,
        code,
        req.input,
        req.target,
        req.code_address,
        req.caller,
        req.value,
        req.gas,
        req.is_static,
        depth,
        FrameKind::Call { ret_offset: req.ret_offset, ret_len: req.ret_len },
        checkpoint,
        native,
    )))
}

/// Starts a contract creation: checkpoint, mark created, nonce 1 (EIP-161), endowment,
/// then a frame running the initcode.
pub(crate) fn start_create(
    cx: &mut Ctx<'_>,
    pool: &mut FramePool,
    req: CreateRequest,
    depth: usize,
) -> Result<Started, StateError> {
    let checkpoint = cx.journal.checkpoint();
    cx.journal.mark_created(req.address)?;
    if cx.fork.is_enabled_in(Fork::SpuriousDragon) {
        cx.journal.set_nonce(req.address, 1)?;
    }
    if !req.value.is_zero() && !cx.journal.transfer(req.caller, req.address, req.value)? {
        cx.journal.revert_to(checkpoint);
        return Ok(Started::Done(FrameResult::failed(Status::Revert, req.gas, Bytes::new())));
    }
    let code = Arc::new(AnalyzedCode::new(req.init_code, cx.fork));
    if code.is_empty() {
        return Ok(Started::Done(FrameResult::stopped(req.gas)));
    }
    Ok(Started::Frame(new_frame(
        pool,
        code,
        Bytes::new(),
        req.address,
        req.address,
        req.caller,
        req.value,
        req.gas,
        false,
        depth,
        FrameKind::Create { address: req.address },
        checkpoint,
        // Initcode runs once by nature: it is never compiled.
        None,
    )))
}

/// Deposits the code a successful initcode returned, applying EIP-3541, the code deposit
/// charge and EIP-170. Returns the final status and gas.
fn deposit_code(
    cx: &mut Ctx<'_>,
    address: Address,
    code: Bytes,
    gas: u64,
) -> Result<(Status, u64), StateError> {
    let fork = cx.fork;
    if fork.is_enabled_in(Fork::London) && code.first() == Some(&0xef) {
        return Ok((Status::Halt(HaltReason::InvalidCodePrefix), 0));
    }
    let cost = 200 * code.len() as u64;
    if gas < cost {
        if fork.is_enabled_in(Fork::Homestead) {
            return Ok((Status::Halt(HaltReason::OutOfGas), 0));
        }
        // Frontier: a creation that cannot pay for its code succeeds with no code.
        return Ok((Status::Return, gas));
    }
    if fork.is_enabled_in(Fork::SpuriousDragon) && code.len() > MAX_CODE_SIZE {
        return Ok((Status::Halt(HaltReason::CodeSizeLimit), 0));
    }
    cx.journal.set_code(address, code)?;
    Ok((Status::Return, gas - cost))
}

/// Ends a frame: keeps or reverts its changes and builds its result.
fn finish(cx: &mut Ctx<'_>, pool: &mut FramePool, frame: Box<Frame>) -> Result<FrameResult, StateError> {
    let output = match frame.status {
        Status::Return | Status::Revert => frame.output_bytes(),
        _ => Bytes::new(),
    };
    let mut status = frame.status;
    let mut gas_left = frame.gas;
    if let (FrameKind::Create { address }, true) = (frame.kind, status.is_success()) {
        let code = if status == Status::Return { output.clone() } else { Bytes::new() };
        (status, gas_left) = deposit_code(cx, address, code, gas_left)?;
    }
    if !status.is_success() {
        cx.journal.revert_to(frame.checkpoint);
    }
    if matches!(status, Status::Halt(_)) {
        gas_left = 0;
    }
    let refund = if status.is_success() { frame.refund } else { 0 };
    // A halt returns no data. A successful creation's output is its deployed code, which
    // the top level reports; a creating frame sees empty return data (see `resume`).
    let output = if matches!(status, Status::Halt(_)) { Bytes::new() } else { output };
    pool.give(frame);
    Ok(FrameResult { status, gas_left, refund, output })
}

/// Folds a child's result into its suspended parent. The one word it pushes is the output
/// the parent's CALL*/CREATE* declared; the instruction popped its inputs (three or more)
/// and pushed nothing, so the stack has room.
fn resume(parent: &mut Frame, kind: FrameKind, result: FrameResult) {
    parent.gas += result.gas_left;
    let ok = result.status.is_success();
    if ok {
        parent.refund += result.refund;
    }
    match kind {
        FrameKind::Call { ret_offset, ret_len } => {
            let n = ret_len.min(result.output.len());
            if n > 0 {
                parent.memory.slice_mut(ret_offset, n).copy_from_slice(&result.output[..n]);
            }
            parent.return_data = result.output;
            parent.stack.push(U256::from(ok as u8));
        }
        FrameKind::Create { address } => {
            if ok {
                parent.return_data = Bytes::new();
                parent.stack.push(address_to_word(address));
            } else {
                parent.return_data = result.output;
                parent.stack.push(U256::ZERO);
            }
        }
    }
    parent.status = Status::Running;
}

/// Runs a message to completion on an explicit frame stack.
pub(crate) fn execute(
    cx: &mut Ctx<'_>,
    pool: &mut FramePool,
    root: Started,
) -> Result<FrameResult, StateError> {
    let mut stack: Vec<Box<Frame>> = Vec::new();
    let mut frame = match root {
        Started::Done(result) => return Ok(result),
        Started::Frame(f) => f,
    };
    loop {
        run(&mut frame, cx);
        match frame.status {
            Status::Fatal => {
                return Err(cx.error.take().unwrap_or_else(|| StateError("aborted".into())));
            }
            Status::Suspended => {
                let depth = frame.depth + 1;
                let (kind, started) = match cx.request.take() {
                    Some(FrameRequest::Call(req)) => {
                        let kind = FrameKind::Call { ret_offset: req.ret_offset, ret_len: req.ret_len };
                        (kind, start_call(cx, pool, *req, depth)?)
                    }
                    Some(FrameRequest::Create(req)) => {
                        let kind = FrameKind::Create { address: req.address };
                        (kind, start_create(cx, pool, *req, depth)?)
                    }
                    None => return Err(StateError("frame suspended without a request".into())),
                };
                match started {
                    Started::Frame(child) => {
                        stack.push(frame);
                        frame = child;
                    }
                    Started::Done(result) => resume(&mut frame, kind, result),
                }
            }
            _ => {
                let kind = frame.kind;
                let result = finish(cx, pool, frame)?;
                match stack.pop() {
                    None => return Ok(result),
                    Some(mut parent) => {
                        resume(&mut parent, kind, result);
                        frame = parent;
                    }
                }
            }
        }
    }
}
