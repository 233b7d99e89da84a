//! Bytecode to native code: one Cranelift function per contract.
//!
//! The function follows the protocol of [`metisvm_vm::interpreter::native`]. It has a label
//! per basic block of the code's analysis: the block's entry check (gas, smallest and largest
//! stack height) as in the interpreter's block mode, then its body. Its entry reads the pc
//! from the [`NativeState`] and switches to the frame's first block or, for a frame coming
//! back from a CALL or CREATE, to the block after it; dynamic jumps go through the pc table
//! (`targets`), which numbers the JUMPDESTs.
//!
//! Inside a straight run of instructions the stack is modelled at compile time: pushed
//! constants and computed words stay in SSA values (registers), DUP and SWAP only move
//! references, operations on constants are folded, and only the words still live are
//! stored when the run ends. EVM words are four 64-bit limbs; ADD, SUB, comparisons,
//! ISZERO, the bitwise operations, MUL and shifts are inlined with carry chains and selects;
//! division calls [`crate::division`]'s builtins (fast paths for operands below 2^128), and
//! modular arithmetic, SIGNEXTEND, BYTE and CLZ by a computed input call the VM's builtins
//! ([`metisvm_vm::interpreter::native::builtin`]). MLOAD, MSTORE and MSTORE8 read and write
//! memory in place after a bounds check, growing it through the VM when they must, and
//! KECCAK256 hashes memory in place through [`crate::keccak`]. A JUMP
//! or JUMPI whose destination is a constant goes straight to the destination's block label
//! (or halts, when it is not a JUMPDEST); other destinations go through the pc table.
//! Every other instruction (environment, storage, logs, calls...) is run in place
//! by the interpreter ([`interpret_one`]), and the code goes on after it unless the frame
//! stopped or suspended.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    types, AbiParam, Block, InstBuilder, JumpTableData, MemFlagsData, SigRef, Signature, Value,
};
use cranelift_codegen::isa::CallConv;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Switch, Variable};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{Linkage, Module};
use metisvm_vm::interpreter::analysis::{AnalyzedCode, BlockInfo};
use metisvm_vm::interpreter::native::{
    builtin, grow_memory, interpret_one, Exit, NativeEntry, NativeState, CONTINUE,
};
use metisvm_vm::opcodes::OPCODES;
use metisvm_vm::U256;
use std::time::{Duration, Instant};

/// Largest code compiled: the EIP-170 deployed-code limit. Larger code (only initcode can
/// be larger, and it is never compiled) stays interpreted.
pub const MAX_CODE_LEN: usize = 0x6000;

/// Most basic blocks compiled: the compile budget. Code generation and register allocation
/// grow faster than linearly with the blocks of one function, and a contract of nothing but
/// JUMPDESTs (24,576 one-byte blocks) would take seconds; such code stays interpreted.
pub const MAX_BLOCKS: usize = 2048;

/// Instructions that may suspend the frame (CALL and CREATE families): the frame comes back
/// at the pc after them, an entry of the compiled code.
const SUSPENDS: [bool; 256] = {
    let mut table = [false; 256];
    let ops = [0xf0, 0xf1, 0xf2, 0xf4, 0xf5, 0xfa];
    let mut i = 0;
    while i < ops.len() {
        table[ops[i]] = true;
        i += 1;
    }
    table
};

/// In the pc table: the destination is a JUMPDEST.
const JUMPDEST_FLAG: u32 = 1 << 31;

/// Which of the compiler's optimisations are on (all, by default). Turning them off one at
/// a time measures what each is worth (`metisvm bench --jit-without ...`); results are the
/// same with any combination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompileOptions {
    /// Operations on constants are computed at compile time, constant shift amounts, byte
    /// indices and sign positions inline their operation, and constants stay known across
    /// instructions run by the interpreter.
    pub fold_constants: bool,
    /// A jump to a constant destination goes straight to its block, not through the pc
    /// table.
    pub resolve_jumps: bool,
    /// Words stay in registers (or as constants) within a run of instructions, DUP and SWAP
    /// only move references; without it every instruction's results are stored.
    pub register_stack: bool,
    /// MLOAD, MSTORE, MSTORE8 and MSIZE are compiled, and KECCAK256 hashes memory in place
    /// ([`crate::keccak`]); without it the interpreter runs them.
    pub inline_memory: bool,
    /// MUL, and SHL, SHR and SAR by a computed amount, are inlined on limbs; without it they
    /// call the VM's builtins.
    pub inline_wide: bool,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions {
            fold_constants: true,
            resolve_jumps: true,
            register_stack: true,
            inline_memory: true,
            inline_wide: true,
        }
    }
}

impl CompileOptions {
    /// The names [`CompileOptions::without`] takes.
    pub const NAMES: [&'static str; 5] = ["fold", "jumps", "registers", "memory", "wide"];

    /// These options with the optimisation `name` (one of [`CompileOptions::NAMES`]) off.
    pub fn without(mut self, name: &str) -> Result<CompileOptions, String> {
        match name {
            "fold" => self.fold_constants = false,
            "jumps" => self.resolve_jumps = false,
            "registers" => self.register_stack = false,
            "memory" => self.inline_memory = false,
            "wide" => self.inline_wide = false,
            _ => {
                return Err(format!(
                    "unknown optimisation `{name}` (expected one of {})",
                    Self::NAMES.join(", ")
                ))
            }
        }
        Ok(self)
    }
}

/// Why code was not compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    /// The code is over [`MAX_CODE_LEN`].
    #[error("code of {0} bytes is over the compile limit of {MAX_CODE_LEN}")]
    TooLarge(usize),
    /// The code has more than [`MAX_BLOCKS`] basic blocks.
    #[error("code of {0} basic blocks is over the compile limit of {MAX_BLOCKS}")]
    TooManyBlocks(usize),
    /// Cranelift failed.
    #[error("code generation failed: {0}")]
    Codegen(String),
}

/// What a compilation produced, besides the code.
#[derive(Debug, Clone, Copy, Default)]
pub struct CompileStats {
    /// Bytecode length.
    pub code_len: usize,
    /// Native code size in bytes.
    pub native_len: usize,
    /// Wall time spent compiling.
    pub time: Duration,
}

/// Compiled code and the memory that holds it.
pub struct Compiled {
    /// The function's entry.
    pub entry: NativeEntry,
    /// Size and time figures.
    pub stats: CompileStats,
    /// Owns the code memory and the pc table the code reads.
    pub owner: CodeMemory,
}

/// The JIT module holding one function's code, and the pc table it reads.
pub struct CodeMemory {
    module: Option<JITModule>,
    _targets: Box<[u32]>,
}

// SAFETY: after finalisation the module is never used again except to free its memory on
// drop, which does not depend on the thread; the pc table is read-only.
unsafe impl Send for CodeMemory {}
// SAFETY: as above: no method reads or writes through a shared reference.
unsafe impl Sync for CodeMemory {}

impl Drop for CodeMemory {
    fn drop(&mut self) {
        if let Some(module) = self.module.take() {
            // SAFETY: the owner of this memory is dropped only when the last `NativeCode`
            // using it is, so no frame can still run the code.
            unsafe { module.free_memory() };
        }
    }
}

/// Compiles `code` (analysed for the fork it will run under) with every optimisation.
pub fn compile(code: &AnalyzedCode) -> Result<Compiled, CompileError> {
    compile_with(code, CompileOptions::default())
}

/// Compiles `code` with the optimisations `options` turns on.
pub fn compile_with(code: &AnalyzedCode, options: CompileOptions) -> Result<Compiled, CompileError> {
    let started = Instant::now();
    if code.len() > MAX_CODE_LEN {
        return Err(CompileError::TooLarge(code.len()));
    }
    if code.block_starts().len() > MAX_BLOCKS {
        return Err(CompileError::TooManyBlocks(code.block_starts().len()));
    }
    let codegen = |e: &dyn std::fmt::Display| CompileError::Codegen(e.to_string());
    let mut flags = settings::builder();
    flags.set("opt_level", "speed").map_err(|e| codegen(&e))?;
    flags.set("is_pic", "false").map_err(|e| codegen(&e))?;
    flags.set("enable_pinned_reg", "true").map_err(|e| codegen(&e))?;
    // The IR verifier costs a fifth of compile time; debug builds (the tests) keep it.
    flags
        .set("enable_verifier", if cfg!(debug_assertions) { "true" } else { "false" })
        .map_err(|e| codegen(&e))?;
    let isa_builder = cranelift_native::builder().map_err(|e| codegen(&e))?;
    let isa = isa_builder.finish(settings::Flags::new(flags)).map_err(|e| codegen(&e))?;
    let mut module = JITModule::new(JITBuilder::with_isa(isa, cranelift_module::default_libcall_names()));
    let ptr = module.target_config().pointer_type();
    let call_conv = module.target_config().default_call_conv;

    let mut ctx = module.make_context();
    ctx.func.signature.params.push(AbiParam::new(ptr));
    ctx.func.signature.returns.push(AbiParam::new(types::I32));
    let mut fctx = FunctionBuilderContext::new();
    let targets = {
        let builder = FunctionBuilder::new(&mut ctx.func, &mut fctx);
        Lowering::new(builder, code, ptr, call_conv, options).lower(module.target_config())
    };
    let id = module.declare_function("evm", Linkage::Local, &ctx.func.signature).map_err(|e| codegen(&e))?;
    let dump = std::env::var_os("METISVM_JIT_DUMP").is_some();
    ctx.set_disasm(dump);
    module.define_function(id, &mut ctx).map_err(|e| codegen(&e))?;
    if dump {
        if let Some(text) = ctx.compiled_code().and_then(|c| c.vcode.as_ref()) {
            eprintln!("; {} bytes of EVM code\n{text}", code.len());
        }
    }
    let native_len = ctx.compiled_code().map_or(0, |c| c.code_buffer().len());
    module.clear_context(&mut ctx);
    module.finalize_definitions().map_err(|e| codegen(&e))?;
    let raw = module.get_finalized_function(id);
    // SAFETY: the function was declared with the `NativeEntry` signature (one pointer in,
    // an i32 out, the platform's C calling convention).
    let entry: NativeEntry = unsafe { std::mem::transmute::<*const u8, NativeEntry>(raw) };
    Ok(Compiled {
        entry,
        stats: CompileStats { code_len: code.len(), native_len, time: started.elapsed() },
        owner: CodeMemory { module: Some(module), _targets: targets },
    })
}

/// A stack word known at compile time.
#[derive(Clone, Copy)]
enum Word {
    Const(U256),
    Limbs([Value; 4]),
}

/// A slot of the compile-time stack model: its word and whether memory lacks it.
#[derive(Clone, Copy)]
struct Cached {
    pos: i32,
    word: Word,
    dirty: bool,
}

/// The compile-time stack of a straight run of instructions. Positions count from the
/// height at the run's start: -1 is the top item then, 0 the first free slot.
struct Run {
    /// Address of position 0.
    base: Value,
    /// Height at the run's start (an SSA value).
    len: Value,
    /// Height now, relative to the start.
    delta: i32,
    cached: Vec<Cached>,
}

struct Lowering<'a> {
    b: FunctionBuilder<'a>,
    code: &'a AnalyzedCode,
    bytes: &'a [u8],
    ptr: types::Type,
    /// What the pinned register held on entry (the caller's r15), restored on return.
    caller_pinned: Value,
    exit_code: Variable,
    exit_pc: Variable,
    exit_block: Block,
    /// Label per pc where a block starts; `None` elsewhere.
    labels: Vec<Option<Block>>,
    builtin_sig: SigRef,
    /// `grow_memory(state, end) -> ok`.
    grow_sig: SigRef,
    /// `interpret_one(state) -> exit`.
    host_sig: SigRef,
    /// `keccak256(state, top) -> done`.
    keccak_sig: SigRef,
    /// The pc table handed to the code: JUMPDEST index (1-based) | JUMPDEST_FLAG.
    targets: Box<[u32]>,
    /// Where the interpreter may call the code: 0 and the pc after each CALL or CREATE.
    entries: Vec<usize>,
    dispatch_block: Block,
    dispatch_pc: Variable,
    /// Static gas the current block prepaid for the instruction being lowered and those
    /// after it (what the interpreter's `prepaid_after` gives back).
    prepaid: u64,
    options: CompileOptions,
    /// The state pointer as read in the current Cranelift block, before any call.
    state_here: Option<Value>,
}

const MEM: MemFlagsData = MemFlagsData::trusted();

impl<'a> Lowering<'a> {
    fn new(
        mut b: FunctionBuilder<'a>,
        code: &'a AnalyzedCode,
        ptr: types::Type,
        call_conv: CallConv,
        options: CompileOptions,
    ) -> Self {
        let mut sig = Signature::new(call_conv);
        sig.params.push(AbiParam::new(ptr));
        let builtin_sig = b.import_signature(sig);
        let mut sig = Signature::new(call_conv);
        sig.params.push(AbiParam::new(ptr));
        sig.params.push(AbiParam::new(types::I64));
        sig.returns.push(AbiParam::new(types::I32));
        let grow_sig = b.import_signature(sig);
        let mut sig = Signature::new(call_conv);
        sig.params.push(AbiParam::new(ptr));
        sig.returns.push(AbiParam::new(types::I32));
        let host_sig = b.import_signature(sig);
        let mut sig = Signature::new(call_conv);
        sig.params.push(AbiParam::new(ptr));
        sig.params.push(AbiParam::new(ptr));
        sig.returns.push(AbiParam::new(types::I32));
        let keccak_sig = b.import_signature(sig);
        let exit_code = b.declare_var(types::I32);
        let exit_pc = b.declare_var(types::I64);
        let dispatch_pc = b.declare_var(types::I64);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        // The state pointer lives in the pinned register for the whole function, so it is
        // never spilled or reloaded; the register is callee-saved for our caller, so its
        // value is put back on return.
        let state = b.block_params(entry)[0];
        let caller_pinned = b.ins().get_pinned_reg(ptr);
        b.ins().set_pinned_reg(state);
        let exit_block = b.create_block();
        let dispatch_block = b.create_block();
        let n = code.len() + 1;
        Lowering {
            b,
            code,
            bytes: code.padded(),
            ptr,
            caller_pinned,
            exit_code,
            exit_pc,
            exit_block,
            labels: vec![None; n],
            builtin_sig,
            grow_sig,
            host_sig,
            keccak_sig,
            targets: vec![0u32; n].into_boxed_slice(),
            entries: vec![0],
            dispatch_block,
            dispatch_pc,
            prepaid: 0,
            options,
            state_here: None,
        }
    }

    fn lower(mut self, target: cranelift_codegen::isa::TargetFrontendConfig) -> Box<[u32]> {
        // Entry: load the state, then dispatch on its pc.
        let state = self.state();
        let pc = self.b.ins().load(types::I64, MEM, state, NativeState::OFFSETS[3]);
        self.b.def_var(self.dispatch_pc, pc);
        let entry_dispatch = self.b.create_block();
        self.b.ins().jump(entry_dispatch, &[]);

        let starts: Vec<usize> = self.code.block_starts().iter().map(|&s| s as usize).collect();
        for &s in &starts {
            if s < self.labels.len() {
                self.labels[s] = Some(self.b.create_block());
            }
        }
        for (i, &start) in starts.iter().enumerate() {
            if start >= self.labels.len() {
                continue;
            }
            let end = starts.get(i + 1).copied().unwrap_or(usize::MAX);
            self.lower_block(start, end);
        }

        // The pc table: for each JUMPDEST that starts a block, its 1-based index among them
        // with the JUMPDEST flag; 0 elsewhere.
        let mut jumpdests = Vec::new();
        for (pc, label) in self.labels.iter().enumerate() {
            if let (Some(label), true) = (label, self.code.is_jumpdest(pc)) {
                jumpdests.push(*label);
                self.targets[pc] = jumpdests.len() as u32 | JUMPDEST_FLAG;
            }
        }
        let table_addr = self.targets.as_ptr() as i64;

        // From the interpreter: the frame's start, or the pc after a CALL or CREATE it
        // suspended on (a block start, since those instructions end blocks; the code's end
        // when one was the last instruction). Any other pc (none is expected: a CALL in a
        // block that runs step by step cannot suspend) runs step by step, which is exact
        // from any block start.
        self.switch_to(entry_dispatch);
        let pc = self.b.use_var(self.dispatch_pc);
        let other = self.b.create_block();
        let at_end = self.b.create_block();
        let mut switch = Switch::new();
        let mut entries = std::mem::take(&mut self.entries);
        entries.sort_unstable();
        entries.dedup();
        for at in entries {
            if at == self.code.len() {
                switch.set_entry(at as u128, at_end);
            } else if let Some(label) = self.labels[at] {
                switch.set_entry(at as u128, label);
            }
        }
        switch.emit(&mut self.b, pc, other);
        self.switch_to(at_end);
        self.exit_now(Exit::Stop, Some(self.code.len()));
        self.switch_to(other);
        let steps = self.b.ins().iconst(types::I32, Exit::Steps as i64);
        self.b.def_var(self.exit_code, steps);
        self.b.def_var(self.exit_pc, pc);
        self.b.ins().jump(self.exit_block, &[]);
        // A jump table index of 0 (never: the JUMPDEST flag was checked) is a bug, reported
        // as an unknown exit.
        let bad = self.b.create_block();
        self.switch_to(bad);
        let code = self.b.ins().iconst(types::I32, 99);
        let pc = self.b.use_var(self.dispatch_pc);
        self.b.def_var(self.exit_code, code);
        self.b.def_var(self.exit_pc, pc);
        self.b.ins().jump(self.exit_block, &[]);

        // Dynamic jumps: JUMPDESTs only.
        self.switch_to(self.dispatch_block);
        let pc = self.b.use_var(self.dispatch_pc);
        let index = self.table_index(table_addr, pc);
        let flag = self.b.ins().band_imm_u(index, JUMPDEST_FLAG as i64);
        let valid = self.b.create_block();
        let invalid = self.b.create_block();
        self.b.ins().brif(flag, valid, &[], invalid, &[]);
        self.switch_to(invalid);
        self.exit_now(Exit::InvalidJump, None);
        self.switch_to(valid);
        let index = self.b.ins().band_imm_u(index, !JUMPDEST_FLAG as i64);
        self.branch_table(index, bad, &jumpdests);

        // The shared exit: write the state back and return the exit code.
        self.switch_to(self.exit_block);
        let pc = self.b.use_var(self.exit_pc);
        let code = self.b.use_var(self.exit_code);
        let state = self.state();
        self.b.ins().store(MEM, pc, state, NativeState::OFFSETS[3]);
        self.b.ins().set_pinned_reg(self.caller_pinned);
        self.b.ins().return_(&[code]);

        self.b.seal_all_blocks();
        self.b.finalize(target);
        self.targets
    }

    /// The pc table's entry for `pc` (an i64 known to be at most the code length).
    fn table_index(&mut self, table_addr: i64, pc: Value) -> Value {
        let base = self.b.ins().iconst(self.ptr, table_addr);
        let offset = self.b.ins().ishl_imm_u(pc, 2);
        let addr = self.b.ins().iadd(base, offset);
        let entry = self.b.ins().load(types::I32, MemFlagsData::trusted().with_readonly(), addr, 0);
        self.b.ins().uextend(types::I64, entry)
    }

    /// Jumps to `labels[index - 1]`, or `bad` for 0.
    fn branch_table(&mut self, index: Value, bad: Block, labels: &[Block]) {
        let index = self.b.ins().ireduce(types::I32, index);
        // Distinct block calls: the SSA builder appends arguments to each one.
        let bad_call = self.b.func.dfg.block_call(bad, &[]);
        let bad_entry = self.b.func.dfg.block_call(bad, &[]);
        let calls: Vec<_> = std::iter::once(bad_entry)
            .chain(labels.iter().map(|&l| self.b.func.dfg.block_call(l, &[])))
            .collect();
        let table = self.b.create_jump_table(JumpTableData::new(bad_call, &calls));
        self.b.ins().br_table(index, table);
    }

    /// Returns `exit` with the current height and gas; `pc` defaults to 0.
    fn exit_now(&mut self, exit: Exit, pc: Option<usize>) {
        let code = self.b.ins().iconst(types::I32, exit as i64);
        let pc = self.b.ins().iconst(types::I64, pc.unwrap_or(0) as i64);
        self.b.def_var(self.exit_code, code);
        self.b.def_var(self.exit_pc, pc);
        self.b.ins().jump(self.exit_block, &[]);
    }

    /// Lowers the block `[start, end)`: its entry check, then its instructions.
    fn lower_block(&mut self, start: usize, end: usize) {
        let label = self.labels[start].expect("block label");
        self.switch_to(label);
        let info = self.code.block(start);
        if info == BlockInfo::STEP_BY_STEP {
            self.exit_now(Exit::Steps, Some(start));
            return;
        }
        let len = self.load_field(1);
        let gas = self.load_field(2);
        let enough_gas = self.b.ins().icmp_imm_u(IntCC::UnsignedGreaterThanOrEqual, gas, info.gas as i64);
        let above_min = self.b.ins().icmp_imm_u(IntCC::UnsignedGreaterThanOrEqual, len, info.min_len as i64);
        let below_max = self.b.ins().icmp_imm_u(IntCC::UnsignedLessThanOrEqual, len, info.max_len as i64);
        let ok = self.b.ins().band(enough_gas, above_min);
        let ok = self.b.ins().band(ok, below_max);
        let body = self.b.create_block();
        let fail = self.b.create_block();
        self.b.ins().brif(ok, body, &[], fail, &[]);
        self.b.set_cold_block(fail);
        self.switch_to(fail);
        self.exit_now(Exit::Steps, Some(start));
        self.switch_to(body);
        let gas = self.b.ins().iadd_imm_s(gas, -(info.gas as i64));
        self.store_field(2, gas);
        self.prepaid = info.gas as u64;

        let mut pc = start;
        let mut run = self.start_run();
        loop {
            if pc >= self.code.len() {
                self.flush(&mut run);
                self.exit_now(Exit::Stop, Some(pc));
                return;
            }
            if pc >= end {
                // Falls through into the next block.
                self.flush(&mut run);
                let next = self.labels[pc].expect("next block label");
                self.b.ins().jump(next, &[]);
                return;
            }
            let op = self.bytes[pc];
            let lowered = self.lower_op(&mut run, op, pc);
            self.prepaid = self.prepaid.saturating_sub(self.code.static_gas(op));
            match lowered {
                Lowered::Next(next) => {
                    if !self.options.register_stack {
                        self.flush(&mut run);
                    }
                    pc = next;
                }
                Lowered::Ended => return,
                Lowered::Interpret => {
                    // Constants below the instruction's inputs are still known after it.
                    let info = &OPCODES[op as usize];
                    let keep = self.options.fold_constants && info.is_enabled(self.code.fork());
                    let kept: Vec<Cached> = if keep && !SUSPENDS[op as usize] {
                        let shift = run.delta - info.inputs as i32 + info.outputs as i32;
                        let below = run.delta - info.inputs as i32;
                        run.cached
                            .iter()
                            .filter(|c| c.pos < below && matches!(c.word, Word::Const(_)))
                            .map(|c| Cached { pos: c.pos - shift, word: c.word, dirty: false })
                            .collect()
                    } else {
                        Vec::new()
                    };
                    self.flush(&mut run);
                    self.interpret(pc);
                    let next = pc + 1;
                    if SUSPENDS[op as usize] {
                        // The frame may suspend here and come back at the next pc, which
                        // starts a block (CALL and CREATE end blocks).
                        debug_assert!(next >= end);
                        self.entries.push(next);
                    }
                    run = self.start_run();
                    run.cached = kept;
                    pc = next;
                }
            }
        }
    }

    /// Calls [`interpret_one`] for the instruction at `pc` (the stack flushed), returning
    /// its exit unless it says to go on; continues in a new block after it.
    fn interpret(&mut self, pc: usize) {
        let at = self.b.ins().iconst(types::I64, pc as i64);
        let state = self.state();
        self.b.ins().store(MEM, at, state, NativeState::OFFSETS[3]);
        let callee = self.b.ins().iconst(self.ptr, interpret_one as *const () as usize as i64);
        let state = self.state();
        let call = self.b.ins().call_indirect(self.host_sig, callee, &[state]);
        self.state_here = None;
        let exit = self.b.inst_results(call)[0];
        let go_on = self.b.ins().icmp_imm_u(IntCC::Equal, exit, CONTINUE as i64);
        let next = self.b.create_block();
        let leave = self.b.create_block();
        self.b.ins().brif(go_on, next, &[], leave, &[]);
        self.b.set_cold_block(leave);
        self.switch_to(leave);
        let state = self.state();
        let at = self.b.ins().load(types::I64, MEM, state, NativeState::OFFSETS[3]);
        self.b.def_var(self.exit_pc, at);
        self.b.def_var(self.exit_code, exit);
        self.b.ins().jump(self.exit_block, &[]);
        self.switch_to(next);
    }

    /// Loads field `i` of the state (1: stack height, 2: gas): compiled code keeps both in
    /// the state rather than in registers, which keeps them out of the register allocator's
    /// way across calls and the many joins of the function.
    fn load_field(&mut self, i: usize) -> Value {
        let state = self.state();
        self.b.ins().load(types::I64, MEM, state, NativeState::OFFSETS[i])
    }

    /// Stores field `i` of the state (see [`Self::load_field`]).
    fn store_field(&mut self, i: usize, value: Value) {
        let state = self.state();
        self.b.ins().store(MEM, value, state, NativeState::OFFSETS[i]);
    }

    /// The state pointer (from the pinned register).
    fn state(&mut self) -> Value {
        if let Some(state) = self.state_here {
            return state;
        }
        let state = self.b.ins().get_pinned_reg(self.ptr);
        self.state_here = Some(state);
        state
    }

    fn switch_to(&mut self, block: Block) {
        self.b.switch_to_block(block);
        self.state_here = None;
    }

    /// The stack buffer's first slot.
    fn stack_buffer(&mut self) -> Value {
        let state = self.state();
        self.b.ins().load(self.ptr, MEM, state, NativeState::OFFSETS[0])
    }

    fn start_run(&mut self) -> Run {
        let len = self.load_field(1);
        let offset = self.b.ins().ishl_imm_u(len, 5);
        let stack = self.stack_buffer();
        let base = self.b.ins().iadd(stack, offset);
        Run { base, len, delta: 0, cached: Vec::new() }
    }

    /// Stores every word memory lacks and sets the height variable: the state every label
    /// and exit expects.
    fn flush(&mut self, run: &mut Run) {
        let cached = std::mem::take(&mut run.cached);
        for c in cached {
            if c.dirty && c.pos < run.delta {
                self.store_word(run, c.pos, c.word);
            }
        }
        let len = self.b.ins().iadd_imm_s(run.len, run.delta as i64);
        self.store_field(1, len);
        // Later code in this run (none in practice) sees the new height as its start.
        run.len = len;
        let offset = self.b.ins().ishl_imm_u(len, 5);
        let stack = self.stack_buffer();
        run.base = self.b.ins().iadd(stack, offset);
        run.delta = 0;
    }

    fn store_word(&mut self, run: &Run, pos: i32, word: Word) {
        let limbs = self.limbs(word);
        for (i, limb) in limbs.into_iter().enumerate() {
            self.b.ins().store(MEM, limb, run.base, pos * 32 + 8 * i as i32);
        }
    }

    fn limbs(&mut self, word: Word) -> [Value; 4] {
        match word {
            Word::Limbs(l) => l,
            Word::Const(c) => {
                let l = c.into_limbs();
                [0, 1, 2, 3].map(|i| self.b.ins().iconst(types::I64, l[i] as i64))
            }
        }
    }

    /// The word at `pos`, loading it when it is not in the model.
    fn read(&mut self, run: &mut Run, pos: i32) -> Word {
        if let Some(c) = run.cached.iter().find(|c| c.pos == pos) {
            return c.word;
        }
        let limbs = [0, 1, 2, 3].map(|i| self.b.ins().load(types::I64, MEM, run.base, pos * 32 + 8 * i));
        let word = Word::Limbs(limbs);
        run.cached.push(Cached { pos, word, dirty: false });
        word
    }

    fn write(run: &mut Run, pos: i32, word: Word) {
        run.cached.retain(|c| c.pos != pos);
        run.cached.push(Cached { pos, word, dirty: true });
    }

    fn pop(&mut self, run: &mut Run) -> Word {
        let word = self.read(run, run.delta - 1);
        run.delta -= 1;
        let top = run.delta;
        run.cached.retain(|c| c.pos != top);
        word
    }

    fn push(run: &mut Run, word: Word) {
        let pos = run.delta;
        Self::write(run, pos, word);
        run.delta += 1;
    }

    fn lower_op(&mut self, run: &mut Run, op: u8, pc: usize) -> Lowered {
        let next = pc + 1;
        match op {
            0x00 => {
                self.flush(run);
                self.exit_now(Exit::Stop, Some(pc));
                return Lowered::Ended;
            }
            0x01 | 0x03 | 0x10..=0x14 | 0x16..=0x18 => {
                let a = self.pop(run);
                let b = self.pop(run);
                let result = self.binary(op, a, b);
                Self::push(run, result);
            }
            0x15 | 0x19 => {
                let a = self.pop(run);
                let result = self.unary(op, a);
                Self::push(run, result);
            }
            0x50 => {
                self.pop(run);
            }
            0x56 => {
                let dest = self.pop(run);
                self.flush(run);
                self.jump(dest, pc);
                return Lowered::Ended;
            }
            0x57 => {
                let dest = self.pop(run);
                let cond = self.pop(run);
                self.flush(run);
                let fallthrough = self.labels[next].expect("block after JUMPI");
                match cond {
                    Word::Const(c) if c.is_zero() => {
                        self.b.ins().jump(fallthrough, &[]);
                    }
                    Word::Const(_) => self.jump(dest, pc),
                    Word::Limbs(l) => {
                        let any = self.b.ins().bor(l[0], l[1]);
                        let any2 = self.b.ins().bor(l[2], l[3]);
                        let any = self.b.ins().bor(any, any2);
                        let taken = self.b.create_block();
                        self.b.ins().brif(any, taken, &[], fallthrough, &[]);
                        self.switch_to(taken);
                        self.jump(dest, pc);
                    }
                }
                return Lowered::Ended;
            }
            0x58 => Self::push(run, Word::Const(U256::from(pc))),
            0x51..=0x53 | 0x59 if !self.options.inline_memory => return Lowered::Interpret,
            0x51..=0x53 => return self.memory_access(run, op, pc),
            0x20 if self.options.inline_memory => return self.keccak(run, pc),
            0x59 => {
                let state = self.state();
                let len = self.b.ins().load(types::I64, MEM, state, NativeState::OFFSETS[6]);
                let zero = self.b.ins().iconst(types::I64, 0);
                Self::push(run, Word::Limbs([len, zero, zero, zero]));
            }
            0x5a => {
                // GAS ends its block, so the gas left after the block's charge is exactly
                // what the instruction reports.
                let gas = self.load_field(2);
                let zero = self.b.ins().iconst(types::I64, 0);
                Self::push(run, Word::Limbs([gas, zero, zero, zero]));
            }
            0x5b => {}
            0x5f => Self::push(run, Word::Const(U256::ZERO)),
            0x60..=0x7f => {
                let n = (op - 0x5f) as usize;
                let mut word = [0u8; 32];
                word[32 - n..].copy_from_slice(&self.bytes[next..next + n]);
                Self::push(run, Word::Const(U256::from_be_bytes(word)));
                return Lowered::Next(next + n);
            }
            0x80..=0x8f => {
                let n = (op - 0x7f) as i32;
                let word = self.read(run, run.delta - n);
                Self::push(run, word);
            }
            0x90..=0x9f => {
                let n = (op - 0x8f) as i32;
                let (top, other) = (run.delta - 1, run.delta - 1 - n);
                let a = self.read(run, top);
                let b = self.read(run, other);
                Self::write(run, top, b);
                Self::write(run, other, a);
            }
            0x0b | 0x1a..=0x1d if self.by_constant(run, op) => {}
            0x02 | 0x1b..=0x1d if self.options.inline_wide && !self.all_constant(run, 2) => {
                let a = self.pop(run);
                let b = self.pop(run);
                let result = if op == 0x02 {
                    self.mul_words(a, b)
                } else {
                    let (a, b) = (self.limbs(a), self.limbs(b));
                    self.shift_by(op, a, b)
                };
                Self::push(run, Word::Limbs(result));
            }
            0x04..=0x07 => {
                let f = crate::division::builtin(op).expect("a division opcode");
                self.call_builtin(run, f, 2);
            }
            _ => match builtin(op) {
                Some((f, inputs)) => self.call_builtin(run, f, inputs),
                None => return Lowered::Interpret,
            },
        }
        Lowered::Next(next)
    }

    /// MLOAD, MSTORE or MSTORE8. Memory is read and written in place after a bounds check
    /// against its size; an access past the end grows it through [`grow_memory`], and one
    /// that cannot be paid (or whose offset is beyond any gas) gives back what the block
    /// prepaid from this instruction on and leaves the rest of the frame to the step-by-step
    /// interpreter, as the interpreter's block mode does.
    fn memory_access(&mut self, run: &mut Run, op: u8, pc: usize) -> Lowered {
        let width: i64 = if op == 0x53 { 1 } else { 32 };
        let offset = self.read(run, run.delta - 1);
        let fail = self.b.create_block();
        let at = match offset {
            Word::Const(c) => match u32::try_from(c) {
                Ok(at) => self.b.ins().iconst(types::I64, at as i64),
                Err(_) => {
                    self.b.ins().jump(fail, &[]);
                    self.give_back_and_step(run, fail, pc);
                    return Lowered::Ended;
                }
            },
            Word::Limbs(l) => {
                let high = self.b.ins().bor(l[1], l[2]);
                let high = self.b.ins().bor(high, l[3]);
                let high_zero = self.b.ins().icmp_imm_u(IntCC::Equal, high, 0);
                let small = self.b.ins().icmp_imm_u(IntCC::UnsignedLessThanOrEqual, l[0], u32::MAX as i64);
                let ok = self.b.ins().band(high_zero, small);
                let in_range = self.b.create_block();
                self.b.ins().brif(ok, in_range, &[], fail, &[]);
                self.switch_to(in_range);
                l[0]
            }
        };
        let end = self.b.ins().iadd_imm_s(at, width);
        let state = self.state();
        let size = self.b.ins().load(types::I64, MEM, state, NativeState::OFFSETS[6]);
        let fits = self.b.ins().icmp(IntCC::UnsignedLessThanOrEqual, end, size);
        let access = self.b.create_block();
        let grow = self.b.create_block();
        self.b.ins().brif(fits, access, &[], grow, &[]);

        // Growth stays next to the access rather than in the cold section: code that grows
        // memory on every access (evmone's memory_grow by32) ran 1.8x slower with it far away.
        self.switch_to(grow);
        let callee = self.b.ins().iconst(self.ptr, grow_memory as *const () as usize as i64);
        let state = self.state();
        let call = self.b.ins().call_indirect(self.grow_sig, callee, &[state, end]);
        self.state_here = None;
        let grown_ok = self.b.inst_results(call)[0];
        let grown = self.b.create_block();
        self.b.ins().brif(grown_ok, grown, &[], fail, &[]);
        self.switch_to(grown);
        self.b.ins().jump(access, &[]);

        self.give_back_and_step(run, fail, pc);

        self.switch_to(access);
        let state = self.state();
        let data = self.b.ins().load(self.ptr, MEM, state, NativeState::OFFSETS[5]);
        let addr = self.b.ins().iadd(data, at);
        // Memory is big-endian and unaligned; the limbs are little-endian words, lowest first.
        let bytes = MemFlagsData::new().with_notrap();
        match op {
            0x51 => {
                let limbs = [0, 1, 2, 3].map(|i| {
                    let raw = self.b.ins().load(types::I64, bytes, addr, 24 - 8 * i);
                    self.b.ins().bswap(raw)
                });
                self.pop(run);
                Self::push(run, Word::Limbs(limbs));
            }
            0x52 => {
                self.pop(run);
                let value = self.pop(run);
                let swapped = match value {
                    Word::Const(c) => {
                        c.into_limbs().map(|l| self.b.ins().iconst(types::I64, l.swap_bytes() as i64))
                    }
                    Word::Limbs(l) => l.map(|l| self.b.ins().bswap(l)),
                };
                for (i, limb) in swapped.into_iter().enumerate() {
                    self.b.ins().store(bytes, limb, addr, 24 - 8 * i as i32);
                }
            }
            _ => {
                self.pop(run);
                let value = self.pop(run);
                let low = match value {
                    Word::Const(c) => self.b.ins().iconst(types::I64, c.as_limbs()[0] as u8 as i64),
                    Word::Limbs(l) => l[0],
                };
                self.b.ins().istore8(bytes, low, addr, 0);
            }
        }
        Lowered::Next(pc + 1)
    }

    /// KECCAK256 through [`crate::keccak::keccak256`], which charges the dynamic gas and
    /// hashes memory in place; when the gas cannot pay, the instruction goes to the
    /// step-by-step interpreter as a memory access's does.
    fn keccak(&mut self, run: &mut Run, pc: usize) -> Lowered {
        // Both inputs to memory, where the builtin reads them and writes the hash.
        self.spill_top(run, 2);
        let top = self.b.ins().iadd_imm_s(run.base, ((run.delta - 1) * 32) as i64);
        let callee = self.b.ins().iconst(self.ptr, crate::keccak::keccak256 as *const () as usize as i64);
        let state = self.state();
        let call = self.b.ins().call_indirect(self.keccak_sig, callee, &[state, top]);
        self.state_here = None;
        let done = self.b.inst_results(call)[0];
        let next = self.b.create_block();
        let fail = self.b.create_block();
        self.b.ins().brif(done, next, &[], fail, &[]);
        self.give_back_and_step(run, fail, pc);
        self.switch_to(next);
        // The hash replaced the length in memory.
        run.delta -= 1;
        Lowered::Next(pc + 1)
    }

    /// Emits the block `fail` of a memory access at `pc` that cannot go on natively: the
    /// stack as before the instruction, the prepaid gas from it on given back, and
    /// [`Exit::Steps`] at it. The run's model is left as it was.
    fn give_back_and_step(&mut self, run: &Run, fail: Block, pc: usize) {
        self.b.set_cold_block(fail);
        self.switch_to(fail);
        for c in &run.cached {
            if c.dirty && c.pos < run.delta {
                self.store_word(run, c.pos, c.word);
            }
        }
        let len = self.b.ins().iadd_imm_s(run.len, run.delta as i64);
        self.store_field(1, len);
        let gas = self.load_field(2);
        debug_assert_eq!(self.prepaid, self.code.prepaid_after(pc));
        let gas = self.b.ins().iadd_imm_u(gas, self.prepaid as i64);
        self.store_field(2, gas);
        self.exit_now(Exit::Steps, Some(pc));
    }

    /// SIGNEXTEND, BYTE, SHL, SHR or SAR whose first input (the byte index or shift) is a
    /// constant and whose second is not: inlined as limb moves, shifts and masks. False
    /// (nothing emitted) for other inputs.
    fn by_constant(&mut self, run: &mut Run, op: u8) -> bool {
        if !self.options.fold_constants {
            return false;
        }
        let top = run.delta - 1;
        let (Word::Const(amount), Word::Limbs(x)) = (self.read(run, top), self.read(run, top - 1)) else {
            return false;
        };
        let amount = usize::try_from(amount).unwrap_or(usize::MAX);
        let zero = self.b.ins().iconst(types::I64, 0);
        let result = match op {
            0x0b if amount >= 31 => x,
            0x0b => {
                // The sign bit is bit `b` of limb `l`: that limb is sign-extended from it, and
                // the limbs above are filled with the sign.
                let (l, b) = ((amount * 8 + 7) / 64, (amount * 8 + 7) % 64);
                let up = self.b.ins().ishl_imm_u(x[l], 63 - b as i64);
                let extended = self.b.ins().sshr_imm_u(up, 63 - b as i64);
                let sign = self.b.ins().sshr_imm_u(extended, 63);
                std::array::from_fn(|i| match i.cmp(&l) {
                    std::cmp::Ordering::Less => x[i],
                    std::cmp::Ordering::Equal => extended,
                    std::cmp::Ordering::Greater => sign,
                })
            }
            0x1a if amount >= 32 => [zero; 4],
            0x1a => {
                // Byte `amount` counts from the most significant end.
                let from_low = 31 - amount;
                let limb = self.b.ins().ushr_imm_u(x[from_low / 8], 8 * (from_low % 8) as i64);
                let byte = self.b.ins().band_imm_u(limb, 0xff);
                [byte, zero, zero, zero]
            }
            0x1d => {
                // Limbs move down by whole limbs with the sign coming in at the top, then
                // bits, the top limb shifting arithmetically.
                let sign = self.b.ins().sshr_imm_u(x[3], 63);
                let (q, r) = (amount.min(255) / 64, (amount.min(255) % 64) as i64);
                let moved: [Value; 4] = std::array::from_fn(|i| if i + q > 3 { sign } else { x[i + q] });
                std::array::from_fn(|i| {
                    if amount >= 256 {
                        return sign;
                    }
                    if i == 3 {
                        return self.b.ins().sshr_imm_u(moved[3], r);
                    }
                    let low = self.b.ins().ushr_imm_u(moved[i], r);
                    if r == 0 {
                        return low;
                    }
                    let carried = self.b.ins().ishl_imm_u(moved[i + 1], 64 - r);
                    self.b.ins().bor(low, carried)
                })
            }
            _ if amount >= 256 => [zero; 4],
            0x1b => {
                let (q, r) = (amount / 64, (amount % 64) as i64);
                std::array::from_fn(|i| {
                    if i < q {
                        return zero;
                    }
                    let high = self.b.ins().ishl_imm_u(x[i - q], r);
                    if r == 0 || i == q {
                        return high;
                    }
                    let carried = self.b.ins().ushr_imm_u(x[i - q - 1], 64 - r);
                    self.b.ins().bor(high, carried)
                })
            }
            _ => {
                let (q, r) = (amount / 64, (amount % 64) as i64);
                std::array::from_fn(|i| {
                    if i + q > 3 {
                        return zero;
                    }
                    let low = self.b.ins().ushr_imm_u(x[i + q], r);
                    if r == 0 || i + q == 3 {
                        return low;
                    }
                    let carried = self.b.ins().ishl_imm_u(x[i + q + 1], 64 - r);
                    self.b.ins().bor(low, carried)
                })
            }
        };
        self.pop(run);
        self.pop(run);
        Self::push(run, Word::Limbs(result));
        true
    }

    /// A builtin on the top `inputs` words, folded when they are all constants.
    fn call_builtin(&mut self, run: &mut Run, f: metisvm_vm::interpreter::native::Builtin, inputs: u8) {
        let inputs = inputs as i32;
        let args: Vec<Word> = (1..=inputs).map(|i| self.read(run, run.delta - i)).collect();
        if self.options.fold_constants && args.iter().all(|w| matches!(w, Word::Const(_))) {
            let mut buf: Vec<U256> =
                args.iter().rev().map(|w| if let Word::Const(c) = w { *c } else { U256::ZERO }).collect();
            // SAFETY: `buf` holds the inputs, the top last, as a builtin expects.
            unsafe { f(buf.as_mut_ptr().add(buf.len() - 1)) };
            for _ in 0..inputs {
                self.pop(run);
            }
            Self::push(run, Word::Const(buf[0]));
            return;
        }
        // The inputs go to memory, the builtin works there, and the result stays there.
        self.spill_top(run, inputs);
        let top = self.b.ins().iadd_imm_s(run.base, ((run.delta - 1) * 32) as i64);
        let callee = self.b.ins().iconst(self.ptr, f as usize as i64);
        self.b.ins().call_indirect(self.builtin_sig, callee, &[top]);
        self.state_here = None;
        run.delta -= inputs - 1;
    }

    /// Stores the top `n` words where the model holds them changed and drops them from the
    /// model, for a call that reads them in memory (and may write its result there).
    fn spill_top(&mut self, run: &mut Run, n: i32) {
        let lowest = run.delta - n;
        let mut keep = Vec::with_capacity(run.cached.len());
        for c in std::mem::take(&mut run.cached) {
            if c.pos >= lowest && c.pos < run.delta {
                if c.dirty {
                    self.store_word(run, c.pos, c.word);
                }
            } else {
                keep.push(c);
            }
        }
        run.cached = keep;
    }

    /// A jump to `dest` (the block is flushed).
    fn jump(&mut self, dest: Word, pc: usize) {
        let dest = match dest {
            Word::Const(_) if !self.options.resolve_jumps => Word::Limbs(self.limbs(dest)),
            dest => dest,
        };
        match dest {
            Word::Const(d) => {
                let target =
                    usize::try_from(d).ok().filter(|&d| d < self.code.len() && self.code.is_jumpdest(d));
                match target {
                    Some(d) => {
                        let label = self.labels[d].expect("JUMPDEST label");
                        self.b.ins().jump(label, &[]);
                    }
                    None => self.exit_now(Exit::InvalidJump, Some(pc)),
                }
            }
            Word::Limbs(l) => {
                // In range when the high limbs are zero and the low one is below the length.
                let high = self.b.ins().bor(l[1], l[2]);
                let high = self.b.ins().bor(high, l[3]);
                let high_zero = self.b.ins().icmp_imm_u(IntCC::Equal, high, 0);
                let in_code = self.b.ins().icmp_imm_u(IntCC::UnsignedLessThan, l[0], self.code.len() as i64);
                let ok = self.b.ins().band(high_zero, in_code);
                let lookup = self.b.create_block();
                let invalid = self.b.create_block();
                self.b.ins().brif(ok, lookup, &[], invalid, &[]);
                self.b.set_cold_block(invalid);
                self.switch_to(invalid);
                self.exit_now(Exit::InvalidJump, Some(pc));
                self.switch_to(lookup);
                self.b.def_var(self.dispatch_pc, l[0]);
                self.b.ins().jump(self.dispatch_block, &[]);
            }
        }
    }

    fn unary(&mut self, op: u8, a: Word) -> Word {
        if let (Word::Const(a), true) = (a, self.options.fold_constants) {
            return Word::Const(match op {
                0x15 => U256::from(a.is_zero() as u8),
                _ => !a,
            });
        }
        let a = self.limbs(a);
        match op {
            0x15 => {
                let x = self.b.ins().bor(a[0], a[1]);
                let y = self.b.ins().bor(a[2], a[3]);
                let any = self.b.ins().bor(x, y);
                let is_zero = self.b.ins().icmp_imm_u(IntCC::Equal, any, 0);
                self.bool_word(is_zero)
            }
            _ => Word::Limbs(a.map(|l| self.b.ins().bnot(l))),
        }
    }

    fn bool_word(&mut self, flag: Value) -> Word {
        let low = self.b.ins().uextend(types::I64, flag);
        let zero = self.b.ins().iconst(types::I64, 0);
        Word::Limbs([low, zero, zero, zero])
    }

    /// `a op b` with `a` the top item.
    fn binary(&mut self, op: u8, a: Word, b: Word) -> Word {
        if let (Word::Const(x), Word::Const(y), true) = (a, b, self.options.fold_constants) {
            return Word::Const(fold_binary(op, x, y));
        }
        let a = self.limbs(a);
        let b = self.limbs(b);
        match op {
            0x01 => {
                // Two 128-bit halves; the low half's carry goes into the high one.
                let (a_lo, a_hi) = self.halves(a);
                let (b_lo, b_hi) = self.halves(b);
                let lo = self.b.ins().iadd(a_lo, b_lo);
                let carry = self.b.ins().icmp(IntCC::UnsignedLessThan, lo, a_lo);
                let carry = self.b.ins().uextend(types::I128, carry);
                let hi = self.b.ins().iadd(a_hi, b_hi);
                let hi = self.b.ins().iadd(hi, carry);
                Word::Limbs(self.limbs_of(lo, hi))
            }
            0x03 => Word::Limbs(self.sub_limbs(a, b).0),
            0x10 => {
                let borrow = self.sub_limbs(a, b).1;
                self.bool_word(borrow)
            }
            0x11 => {
                let borrow = self.sub_limbs(b, a).1;
                self.bool_word(borrow)
            }
            0x12 | 0x13 => {
                // Signed order is unsigned order with the sign bits flipped.
                let flip = |l: &mut Self, w: [Value; 4]| {
                    let top = l.b.ins().bxor_imm_s(w[3], i64::MIN);
                    [w[0], w[1], w[2], top]
                };
                let (fa, fb) = (flip(self, a), flip(self, b));
                let borrow = if op == 0x12 { self.sub_limbs(fa, fb).1 } else { self.sub_limbs(fb, fa).1 };
                self.bool_word(borrow)
            }
            0x14 => {
                let d = [0, 1, 2, 3].map(|i| self.b.ins().bxor(a[i], b[i]));
                let x = self.b.ins().bor(d[0], d[1]);
                let y = self.b.ins().bor(d[2], d[3]);
                let any = self.b.ins().bor(x, y);
                let equal = self.b.ins().icmp_imm_u(IntCC::Equal, any, 0);
                self.bool_word(equal)
            }
            0x16 => Word::Limbs([0, 1, 2, 3].map(|i| self.b.ins().band(a[i], b[i]))),
            0x17 => Word::Limbs([0, 1, 2, 3].map(|i| self.b.ins().bor(a[i], b[i]))),
            _ => Word::Limbs([0, 1, 2, 3].map(|i| self.b.ins().bxor(a[i], b[i]))),
        }
    }

    /// `a - b` and whether it borrowed (`a < b`), on 128-bit halves.
    fn sub_limbs(&mut self, a: [Value; 4], b: [Value; 4]) -> ([Value; 4], Value) {
        let (a_lo, a_hi) = self.halves(a);
        let (b_lo, b_hi) = self.halves(b);
        let lo = self.b.ins().isub(a_lo, b_lo);
        let borrow_lo = self.b.ins().icmp(IntCC::UnsignedLessThan, a_lo, b_lo);
        let wide_borrow = self.b.ins().uextend(types::I128, borrow_lo);
        let hi = self.b.ins().isub(a_hi, b_hi);
        let hi = self.b.ins().isub(hi, wide_borrow);
        let hi_less = self.b.ins().icmp(IntCC::UnsignedLessThan, a_hi, b_hi);
        let hi_equal = self.b.ins().icmp(IntCC::Equal, a_hi, b_hi);
        let tie_borrow = self.b.ins().band(hi_equal, borrow_lo);
        let borrow = self.b.ins().bor(hi_less, tie_borrow);
        (self.limbs_of(lo, hi), borrow)
    }

    /// Whether the top `n` words are all constants (and folding is on): the builtin path
    /// then folds them.
    fn all_constant(&mut self, run: &mut Run, n: i32) -> bool {
        self.options.fold_constants
            && (1..=n).all(|i| matches!(self.read(run, run.delta - i), Word::Const(_)))
    }

    /// `a * b` modulo 2^256, schoolbook by rows: each step adds a 64x64->128 product, the
    /// limb it lands on and the carry, which cannot overflow 128 bits. Products that land
    /// at or above limb 4 are never formed, and of those landing on limb 3 only the low half
    /// counts. Limbs known to be zero (of constants such as 10^18) are left out, `None`
    /// standing for a known zero.
    fn mul_words(&mut self, a: Word, b: Word) -> [Value; 4] {
        let known = |l: &mut Self, w: Word| -> [Option<Value>; 4] {
            match w {
                Word::Limbs(l) => l.map(Some),
                Word::Const(c) => {
                    c.into_limbs().map(|x| (x != 0).then(|| l.b.ins().iconst(types::I64, x as i64)))
                }
            }
        };
        let (a, b) = (known(self, a), known(self, b));
        let mut r: [Option<Value>; 4] = [None; 4];
        for (i, &b_limb) in b.iter().enumerate() {
            let mut carry: Option<Value> = None;
            for (j, &a_limb) in a.iter().enumerate().take(4 - i) {
                let k = i + j;
                let product = match (a_limb, b_limb) {
                    (Some(x), Some(y)) => Some((x, y)),
                    _ => None,
                };
                if k == 3 {
                    let low = product.map(|(x, y)| self.b.ins().imul(x, y));
                    r[3] = [r[3], low, carry].into_iter().flatten().reduce(|s, v| self.b.ins().iadd(s, v));
                    continue;
                }
                let wide = |l: &mut Self, v: Value| l.b.ins().uextend(types::I128, v);
                let mut terms = Vec::with_capacity(3);
                if let Some((x, y)) = product {
                    let (x, y) = (wide(self, x), wide(self, y));
                    terms.push(self.b.ins().imul(x, y));
                }
                terms.extend([r[k], carry].into_iter().flatten().map(|v| wide(self, v)));
                let count = terms.len();
                match terms.into_iter().reduce(|s, v| self.b.ins().iadd(s, v)) {
                    Some(t) => {
                        let (low, high) = self.b.ins().isplit(t);
                        r[k] = Some(low);
                        // One term alone (a limb or a carry, below 2^64) carries nothing.
                        carry = (product.is_some() || count > 1).then_some(high);
                    }
                    None => carry = None,
                }
            }
        }
        r.map(|limb| limb.unwrap_or_else(|| self.b.ins().iconst(types::I64, 0)))
    }

    /// SHL (0x1b), SHR (0x1c) or SAR (0x1d) of `x` by a computed `shift`, branch-free: whole
    /// limbs move by the amount's bits 7 and 6 (two selects each), then bits move by its
    /// low six; an amount of 256 or more gives the fill (zero, or the sign for SAR).
    fn shift_by(&mut self, op: u8, shift: [Value; 4], x: [Value; 4]) -> [Value; 4] {
        let zero = self.b.ins().iconst(types::I64, 0);
        let fill = if op == 0x1d { self.b.ins().sshr_imm_u(x[3], 63) } else { zero };
        let high = self.b.ins().bor(shift[1], shift[2]);
        let high = self.b.ins().bor(high, shift[3]);
        let high_set = self.b.ins().icmp_imm_u(IntCC::NotEqual, high, 0);
        let low_big = self.b.ins().icmp_imm_u(IntCC::UnsignedGreaterThan, shift[0], 255);
        let too_far = self.b.ins().bor(high_set, low_big);
        let bits = self.b.ins().band_imm_u(shift[0], 63);
        // 63 - bits, as Cranelift masks shift amounts to six bits.
        let rest = self.b.ins().bnot(bits);
        let mut w = x;
        for (step, bit) in [(2usize, 128i64), (1, 64)] {
            let flag = self.b.ins().band_imm_u(shift[0], bit);
            let moved: [Value; 4] = std::array::from_fn(|i| {
                let from = if op == 0x1b { i.checked_sub(step) } else { Some(i + step).filter(|&f| f < 4) };
                from.map_or(fill, |f| w[f])
            });
            w = std::array::from_fn(|i| self.b.ins().select(flag, moved[i], w[i]));
        }
        let out: [Value; 4] = std::array::from_fn(|i| {
            // The limb the bits come in from (below for SHL, above otherwise).
            let neighbour = if op == 0x1b { i.checked_sub(1).map(|n| w[n]) } else { w.get(i + 1).copied() };
            let main = match op {
                0x1b => self.b.ins().ishl(w[i], bits),
                0x1d if i == 3 => return self.b.ins().sshr(w[3], bits),
                _ => self.b.ins().ushr(w[i], bits),
            };
            let neighbour = neighbour.unwrap_or(fill);
            if op == 0x1b && i == 0 {
                return main;
            }
            // `n` shifted the other way by 64 - bits, as a shift by one then by 63 - bits,
            // which is zero when `bits` is zero.
            let carried = if op == 0x1b {
                let once = self.b.ins().ushr_imm_u(neighbour, 1);
                self.b.ins().ushr(once, rest)
            } else {
                let once = self.b.ins().ishl_imm_u(neighbour, 1);
                self.b.ins().ishl(once, rest)
            };
            self.b.ins().bor(main, carried)
        });
        out.map(|limb| self.b.ins().select(too_far, fill, limb))
    }

    /// A word's low and high 128-bit halves.
    fn halves(&mut self, w: [Value; 4]) -> (Value, Value) {
        let lo = self.b.ins().iconcat(w[0], w[1]);
        let hi = self.b.ins().iconcat(w[2], w[3]);
        (lo, hi)
    }

    /// The limbs of a word given as 128-bit halves.
    fn limbs_of(&mut self, lo: Value, hi: Value) -> [Value; 4] {
        let (l0, l1) = self.b.ins().isplit(lo);
        let (l2, l3) = self.b.ins().isplit(hi);
        [l0, l1, l2, l3]
    }
}

/// What lowering one instruction led to.
enum Lowered {
    /// Go on at this pc.
    Next(usize),
    /// The block ended (a jump or an exit was emitted).
    Ended,
    /// The interpreter runs this instruction.
    Interpret,
}

/// A binary operation on two constants, `a` the top item.
fn fold_binary(op: u8, a: U256, b: U256) -> U256 {
    let flag = |x: bool| U256::from(x as u8);
    let signed = |x: U256| x ^ (U256::from(1) << 255);
    match op {
        0x01 => a.wrapping_add(b),
        0x03 => a.wrapping_sub(b),
        0x10 => flag(a < b),
        0x11 => flag(a > b),
        0x12 => flag(signed(a) < signed(b)),
        0x13 => flag(signed(a) > signed(b)),
        0x14 => flag(a == b),
        0x16 => a & b,
        0x17 => a | b,
        _ => a ^ b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metisvm_vm::{Bytes, Fork};

    #[test]
    fn compiles_a_small_program() {
        let code =
            AnalyzedCode::new(Bytes::from_static(&[0x60, 0x01, 0x60, 0x02, 0x01, 0x50, 0x00]), Fork::Cancun);
        let compiled = compile(&code).expect("compiles");
        assert!(compiled.stats.native_len > 0);
        let code = AnalyzedCode::new(
            Bytes::from_static(hex_literal("602035600035900180158119600055600155600255595ff3")),
            Fork::Osaka,
        );
        compile(&code).expect("compiles");
    }

    fn hex_literal(s: &'static str) -> &'static [u8] {
        Box::leak(
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
                .collect::<Vec<_>>()
                .into_boxed_slice(),
        )
    }
}
