//! Bytecode analysis: valid JUMPDEST positions and the code's basic blocks.
//!
//! A 0x5b byte is a jump destination only where it is an opcode, not inside a PUSH's
//! immediate data. The analysis is done once per code and fork and cached by the executor,
//! so hot contracts are never re-scanned.
//!
//! # Gas sections
//!
//! The code is cut into basic blocks, and each block records the sum of its instructions'
//! static gas and the stack heights at which none of them can underflow or overflow. The
//! dispatch loop checks a block once on entry and then runs its instructions without
//! per-instruction checks. This keeps the step-by-step semantics exactly, halt reason
//! included, because of where blocks end and what happens when a check fails:
//!
//! - A block ends after every instruction that reads the remaining gas (GAS, the CALL and
//!   CREATE families, SSTORE's EIP-2200 stipend check), after every jump and terminator, and
//!   after every table-dispatched instruction with dynamic gas. Inside a block, the gas
//!   already taken for the instructions not yet run is therefore never observable.
//! - If the entry check fails, step-by-step execution would fail somewhere inside the block
//!   too (its static charges alone exceed the gas, or its stack effects leave the bounds),
//!   so the loop re-runs the block from its start one instruction at a time, which finds the
//!   exact failing instruction and reason.
//! - The only dynamic charges inside a block are MLOAD/MSTORE/MSTORE8 memory expansion,
//!   whose failure changes nothing. When one fails, the loop gives back the prepaid gas of
//!   the instructions not yet run and re-runs that instruction step by step (see
//!   [`AnalyzedCode::prepaid_after`]).
//! - A block containing an opcode the fork lacks is marked as failing its check, so it always
//!   runs step by step.
//!
//! # Fused jumps
//!
//! Compilers emit most jumps as a PUSH1 or PUSH2 of the destination right before the JUMP or
//! JUMPI. Checked block by block, such a pair needs no stack traffic: the loop can read the
//! destination from the code and jump. [`AnalyzedCode::dispatch`] is a copy of the padded
//! code in which the PUSH opcode of each such pair is replaced by one of the `FUSED_*`
//! opcodes below. Those values are undefined in every fork, and a real undefined opcode
//! never reaches the block-checked loop (its block runs step by step), so the loop can give
//! them their own arms. The pair is one instruction only there: the step-by-step loop, the
//! tracer and compiled code read the original bytes.

use super::table::{self, UNDEFINED};
use crate::fork::Fork;
use crate::opcodes::code::{JUMPDEST, PUSH1, PUSH32, STOP};
use crate::opcodes::OPCODE_TABLE;
use crate::primitives::Bytes;

/// Static gas and stack bounds of the basic block starting at a given pc.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockInfo {
    /// Sum of the block's static gas.
    pub gas: u32,
    /// Smallest stack height at entry with which no instruction underflows.
    pub min_len: u16,
    /// Largest stack height at entry with which no instruction overflows.
    pub max_len: u16,
}

impl BlockInfo {
    /// A block whose check always fails, so it runs step by step.
    pub const STEP_BY_STEP: BlockInfo = BlockInfo { gas: u32::MAX, min_len: u16::MAX, max_len: 0 };

    /// Whether the block can run unchecked with `gas` gas and `len` stack items.
    #[inline(always)]
    pub fn admits(self, gas: u64, len: usize) -> bool {
        gas >= self.gas as u64 && len >= self.min_len as usize && len <= self.max_len as usize
    }
}

/// A [`BlockInfo`] packed into four bytes for the per-pc table, so that the table of a
/// large contract stays in cache when execution jumps around it: gas in bits 0..15, the
/// JUMPDEST mark in bit 15, the smallest entry height in bits 16..21 and the largest in bits
/// 21..32. A block that does not fit (more than 32767 gas or 31 entry items) is stored as
/// [`PackedBlock::WIDE`], which fails every check, and kept whole in a side table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PackedBlock(u32);

impl PackedBlock {
    /// Fails every check: look the block up in the side table.
    const WIDE: PackedBlock = PackedBlock(31 << 16);
    /// Marks a valid jump destination.
    const JUMPDEST: u32 = 1 << 15;
    const GAS_MASK: u32 = Self::JUMPDEST - 1;

    fn pack(info: BlockInfo) -> PackedBlock {
        if info.gas <= Self::GAS_MASK && info.min_len < 31 {
            PackedBlock(info.gas | (info.min_len as u32) << 16 | (info.max_len as u32) << 21)
        } else {
            Self::WIDE
        }
    }

    fn is_wide(self) -> bool {
        self.0 & !Self::JUMPDEST == Self::WIDE.0
    }

    /// Whether the block starts at a JUMPDEST, so the pc is a valid jump destination.
    #[inline(always)]
    pub(crate) fn is_jumpdest(self) -> bool {
        self.0 & Self::JUMPDEST != 0
    }

    /// The block's static gas.
    #[inline(always)]
    pub(crate) fn gas(self) -> u64 {
        (self.0 & Self::GAS_MASK) as u64
    }

    fn min_len(self) -> usize {
        ((self.0 >> 16) & 31) as usize
    }

    fn max_len(self) -> usize {
        (self.0 >> 21) as usize
    }

    /// Whether the block can run unchecked with `gas` gas and `len` stack items.
    #[inline(always)]
    pub(crate) fn admits(self, gas: u64, len: usize) -> bool {
        gas >= self.gas() && len >= self.min_len() && len <= self.max_len()
    }
}

/// Whether a block ends after `op` (see the module docs).
pub const fn ends_block(op: u8) -> bool {
    matches!(
        op,
        // Terminators and jumps.
        0x00 | 0x56 | 0x57 | 0xf3 | 0xfd | 0xfe | 0xff
        // Readers of the remaining gas: GAS, SSTORE, CREATE, CALL, CALLCODE, DELEGATECALL,
        // CREATE2, STATICCALL.
        | 0x5a | 0x55 | 0xf0 | 0xf1 | 0xf2 | 0xf4 | 0xf5 | 0xfa
        // Table-dispatched instructions with dynamic gas: EXP, KECCAK256, BALANCE,
        // CALLDATACOPY, CODECOPY, EXTCODESIZE, EXTCODECOPY, RETURNDATACOPY, EXTCODEHASH,
        // SLOAD, MCOPY, LOG0..LOG4.
        | 0x0a | 0x20 | 0x31 | 0x37 | 0x39 | 0x3b | 0x3c | 0x3e | 0x3f | 0x54 | 0x5e
        | 0xa0..=0xa4
    )
}

/// Code with its basic blocks and jump destinations, padded so that reading past the
/// end (a PUSH truncated by the end of code, or the implicit STOP) needs no bounds branch.
#[derive(Debug, Clone)]
pub struct AnalyzedCode {
    original: Bytes,
    padded: Box<[u8]>,
    /// `padded` with fused jumps, for the block-checked loop (see the module docs).
    dispatch: Box<[u8]>,
    /// Indexed by pc, one past the end included; meaningful only where a block starts.
    blocks: Box<[PackedBlock]>,
    /// The blocks that do not fit a [`PackedBlock`], by first pc.
    wide: Box<[(u32, BlockInfo)]>,
    /// Where each block starts, ascending.
    starts: Box<[u32]>,
    fork: Fork,
}

/// Bytes of zero padding after the code: a PUSH32 at the last byte plus the STOP after it.
const PADDING: usize = 33;

/// In [`AnalyzedCode::dispatch`]: PUSH1 followed by JUMP.
pub(crate) const FUSED_PUSH1_JUMP: u8 = 0x0c;
/// PUSH2 followed by JUMP.
pub(crate) const FUSED_PUSH2_JUMP: u8 = 0x0d;
/// PUSH1 followed by JUMPI.
pub(crate) const FUSED_PUSH1_JUMPI: u8 = 0x0e;
/// PUSH2 followed by JUMPI.
pub(crate) const FUSED_PUSH2_JUMPI: u8 = 0x0f;

/// The padded code with every PUSH1/PUSH2 that feeds a JUMP or JUMPI replaced by its fused
/// opcode (see the module docs).
fn fuse_jumps(padded: &[u8], len: usize) -> Box<[u8]> {
    use crate::opcodes::code::{JUMP, JUMPI, PUSH2};
    let mut dispatch = padded.to_vec();
    let mut pc = 0;
    while pc < len {
        let op = padded[pc];
        let next = pc + 1 + immediate_len(op);
        // The padding is zeros (STOP), so a pair cut by the end of the code never matches.
        if (op == PUSH1 || op == PUSH2) && next < len {
            dispatch[pc] = match (op, padded[next]) {
                (PUSH1, JUMP) => FUSED_PUSH1_JUMP,
                (PUSH2, JUMP) => FUSED_PUSH2_JUMP,
                (PUSH1, JUMPI) => FUSED_PUSH1_JUMPI,
                (PUSH2, JUMPI) => FUSED_PUSH2_JUMPI,
                _ => op,
            };
        }
        pc = next;
    }
    dispatch.into_boxed_slice()
}

impl AnalyzedCode {
    /// Analyses `code` for execution under `fork`.
    pub fn new(code: Bytes, fork: Fork) -> Self {
        let mut padded = Vec::with_capacity(code.len() + PADDING);
        padded.extend_from_slice(&code);
        padded.resize(code.len() + PADDING, 0);
        let found = find_blocks(&code, fork);
        let mut blocks = vec![PackedBlock::WIDE; code.len() + 1];
        let mut wide = Vec::new();
        for &(pc, info) in &found {
            let mut packed = PackedBlock::pack(info);
            if packed.is_wide() {
                wide.push((pc, info));
            }
            // Every JUMPDEST opcode starts a block (see `find_blocks`).
            if code.get(pc as usize) == Some(&JUMPDEST) {
                packed.0 |= PackedBlock::JUMPDEST;
            }
            blocks[pc as usize] = packed;
        }
        let starts = found.iter().map(|&(pc, _)| pc).collect();
        let dispatch = fuse_jumps(&padded, code.len());
        AnalyzedCode {
            original: code,
            padded: padded.into_boxed_slice(),
            dispatch,
            blocks: blocks.into_boxed_slice(),
            wide: wide.into_boxed_slice(),
            starts,
            fork,
        }
    }

    /// The fork the blocks were computed for.
    pub fn fork(&self) -> Fork {
        self.fork
    }

    /// The block starting at `pc`: 0, a JUMPDEST, or the instruction after a block's last.
    #[inline(always)]
    pub fn block(&self, pc: usize) -> BlockInfo {
        let packed = self.blocks[pc];
        if packed.is_wide() {
            return self.wide_block(pc);
        }
        BlockInfo {
            gas: packed.gas() as u32,
            min_len: packed.min_len() as u16,
            max_len: packed.max_len() as u16,
        }
    }

    /// The block at `pc` from the side table of blocks too large to pack.
    #[cold]
    pub(crate) fn wide_block(&self, pc: usize) -> BlockInfo {
        match self.wide.binary_search_by_key(&(pc as u32), |&(start, _)| start) {
            Ok(i) => self.wide[i].1,
            Err(_) => BlockInfo::STEP_BY_STEP,
        }
    }

    /// Where each block starts, ascending: 0, every JUMPDEST, and every instruction after a
    /// block's last.
    pub fn block_starts(&self) -> &[u32] {
        &self.starts
    }

    /// Every pc's packed block (meaningful only where a block starts).
    #[inline(always)]
    pub(crate) fn blocks(&self) -> &[PackedBlock] {
        &self.blocks
    }

    /// The static gas of `op` under the code's fork (what a block prepays for it).
    #[inline]
    pub fn static_gas(&self, op: u8) -> u64 {
        table::for_fork(self.fork).meta[op as usize].gas as u64
    }

    /// Static gas prepaid on entry to the block holding the instruction at `pc` for its
    /// instructions from `pc` on, `pc` included.
    #[cold]
    pub fn prepaid_after(&self, pc: usize) -> u64 {
        let meta = &table::for_fork(self.fork).meta;
        let start = match self.starts.binary_search(&(pc as u32)) {
            Ok(_) => pc,
            Err(i) => self.starts[i - 1] as usize,
        };
        let mut spent = 0u64;
        let mut at = start;
        while at < pc {
            let op = self.padded[at];
            spent += meta[op as usize].gas as u64;
            at += 1 + immediate_len(op);
        }
        self.block(start).gas as u64 - spent
    }

    /// The code as deployed.
    #[inline]
    pub fn original(&self) -> &Bytes {
        &self.original
    }

    /// The code followed by zero padding.
    #[inline]
    pub fn padded(&self) -> &[u8] {
        &self.padded
    }

    /// The padded code with fused jumps: what the block-checked loop dispatches on.
    pub(crate) fn dispatch(&self) -> &[u8] {
        &self.dispatch
    }

    /// Code length without padding.
    #[inline]
    pub fn len(&self) -> usize {
        self.original.len()
    }

    /// Whether the code is empty.
    pub fn is_empty(&self) -> bool {
        self.original.is_empty()
    }

    /// Whether `dest` is a valid jump destination.
    #[inline]
    pub fn is_jumpdest(&self, dest: usize) -> bool {
        self.blocks.get(dest).is_some_and(|b| b.is_jumpdest())
    }
}

/// Bytes of immediate data after `op`.
const fn immediate_len(op: u8) -> usize {
    if op >= PUSH1 && op <= PUSH32 {
        (op - PUSH1) as usize + 1
    } else {
        0
    }
}

/// Running totals of the block being scanned.
struct BlockScan {
    start: usize,
    gas: u64,
    /// Stack height relative to entry after the instructions so far.
    height: i32,
    /// Items the block needs at entry.
    needed: i32,
    /// Highest relative height reached.
    peak: i32,
    defined: bool,
}

impl BlockScan {
    fn at(start: usize) -> Self {
        BlockScan { start, gas: 0, height: 0, needed: 0, peak: 0, defined: true }
    }

    fn add(&mut self, op: u8, gas: u32, defined: bool) {
        if !defined {
            self.defined = false;
            return;
        }
        let info = &OPCODE_TABLE[op as usize];
        self.gas += gas as u64;
        self.needed = self.needed.max(info.inputs as i32 - self.height);
        self.height += info.outputs as i32 - info.inputs as i32;
        self.peak = self.peak.max(self.height);
    }

    fn finish(&self) -> BlockInfo {
        let limit = super::stack::STACK_LIMIT as i32;
        // A block that needs more items than the stack can hold, or grows past its limit,
        // can never run whole; so it always runs step by step (and its bounds need not fit
        // the fields).
        if !self.defined || self.gas > u32::MAX as u64 || self.peak > limit || self.needed > limit {
            return BlockInfo::STEP_BY_STEP;
        }
        BlockInfo { gas: self.gas as u32, min_len: self.needed as u16, max_len: (limit - self.peak) as u16 }
    }
}

/// Cuts `code` into basic blocks: each block's first pc and [`BlockInfo`], ascending.
/// Running off the end of the code is an implicit STOP, so a block may start one past the
/// last byte.
fn find_blocks(code: &[u8], fork: Fork) -> Vec<(u32, BlockInfo)> {
    let meta = &table::for_fork(fork).meta;
    let mut blocks = Vec::new();
    let mut scan = BlockScan::at(0);
    let mut pc = 0;
    loop {
        let op = if pc < code.len() { code[pc] } else { STOP };
        if op == JUMPDEST && pc != scan.start {
            blocks.push((scan.start as u32, scan.finish()));
            scan = BlockScan::at(pc);
        }
        let m = meta[op as usize];
        scan.add(op, m.gas, m.inputs != UNDEFINED);
        if pc >= code.len() {
            blocks.push((scan.start as u32, scan.finish()));
            return blocks;
        }
        let next = pc + 1 + immediate_len(op);
        if ends_block(op) || m.inputs == UNDEFINED {
            blocks.push((scan.start as u32, scan.finish()));
            scan = BlockScan::at(next);
        }
        pc = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analyze(code: &[u8]) -> AnalyzedCode {
        AnalyzedCode::new(Bytes::copy_from_slice(code), Fork::Cancun)
    }

    #[test]
    fn push_data_is_not_a_destination() {
        // PUSH1 0x5b JUMPDEST PUSH2 0x5b5b
        let code = analyze(&[0x60, 0x5b, 0x5b, 0x61, 0x5b, 0x5b]);
        assert!(!code.is_jumpdest(1));
        assert!(code.is_jumpdest(2));
        assert!(!code.is_jumpdest(4));
        assert!(!code.is_jumpdest(5));
        assert!(!code.is_jumpdest(600));
        assert_eq!(code.padded().len(), 6 + PADDING);
    }

    #[test]
    fn push_and_jump_pairs_are_fused_only_in_the_dispatch_copy() {
        // 0: PUSH2 0x0056 (its data holds a JUMP byte), 3: JUMP -> fused;
        // 4: PUSH1 9, 6: JUMPI -> fused; 7: PUSH3 .. (not fused), 11: JUMP;
        // 12: PUSH1 then the end of code: no JUMP after it.
        let code = analyze(&[0x61, 0x00, 0x56, 0x56, 0x60, 9, 0x57, 0x62, 0, 0, 1, 0x56, 0x60, 0x56]);
        let dispatch = code.dispatch();
        assert_eq!(dispatch[0], FUSED_PUSH2_JUMP);
        assert_eq!(dispatch[4], FUSED_PUSH1_JUMPI);
        assert_eq!(dispatch[7], 0x62);
        assert_eq!(dispatch[12], 0x60);
        // Everything else, padding included, is the code as it was.
        let changed: Vec<usize> = (0..dispatch.len()).filter(|&i| dispatch[i] != code.padded()[i]).collect();
        assert_eq!(changed, vec![0, 4]);
        assert_eq!(code.padded()[0], 0x61);
    }

    #[test]
    fn blocks_split_at_jumpdests_and_after_enders() {
        // 0: PUSH1 1, 2: PUSH1 2, 4: ADD, 5: JUMPDEST, 6: POP, 7: GAS, 8: SWAP1, 9: STOP
        let code = analyze(&[0x60, 1, 0x60, 2, 0x01, 0x5b, 0x50, 0x5a, 0x90, 0x00]);
        assert_eq!(code.block(0), BlockInfo { gas: 9, min_len: 0, max_len: 1022 });
        // JUMPDEST POP GAS: needs one item, peaks at the entry height.
        assert_eq!(code.block(5), BlockInfo { gas: 1 + 2 + 2, min_len: 1, max_len: 1024 });
        // SWAP1 STOP.
        assert_eq!(code.block(8), BlockInfo { gas: 3, min_len: 2, max_len: 1024 });
        // The implicit STOP one past the end.
        assert_eq!(code.block(10), BlockInfo { gas: 0, min_len: 0, max_len: 1024 });
    }

    #[test]
    fn needed_height_counts_items_pushed_inside_the_block() {
        // PUSH1 0, ADD, ADD, STOP: the first ADD takes one pushed item and one from entry,
        // the second ADD one more from entry.
        let code = analyze(&[0x60, 0, 0x01, 0x01, 0x00]);
        assert_eq!(code.block(0).min_len, 2);
    }

    #[test]
    fn undefined_opcodes_force_step_by_step() {
        // PUSH0 is undefined before Shanghai.
        let old = AnalyzedCode::new(Bytes::from_static(&[0x5f, 0x00]), Fork::Paris);
        assert_eq!(old.block(0), BlockInfo::STEP_BY_STEP);
        let new = AnalyzedCode::new(Bytes::from_static(&[0x5f, 0x00]), Fork::Shanghai);
        assert_eq!(new.block(0), BlockInfo { gas: 2, min_len: 0, max_len: 1023 });
    }

    #[test]
    fn prepaid_gas_counts_the_instructions_not_yet_run() {
        // PUSH1 0 (3), MLOAD (3), POP (2), STOP.
        let code = analyze(&[0x60, 0, 0x51, 0x50, 0x00]);
        assert_eq!(code.block(0).gas, 8);
        assert_eq!(code.prepaid_after(2), 5);
        assert_eq!(code.prepaid_after(0), 8);
    }

    #[test]
    fn blocks_needing_more_than_a_full_stack_run_step_by_step() {
        // POP, then ADDMOD x 32767: the block needs 65536 items at entry, which must not
        // wrap around to 0 in a 16-bit field.
        let mut code = vec![0x50];
        code.extend([0x08; 32767]);
        assert_eq!(analyze(&code).block(0), BlockInfo::STEP_BY_STEP);
        // Exactly a full stack is still a real bound.
        let code = [vec![0x50; 1024], vec![0x00]].concat();
        assert_eq!(analyze(&code).block(0), BlockInfo { gas: 2 * 1024, min_len: 1024, max_len: 1024 });
    }

    #[test]
    fn truncated_push_ends_in_the_implicit_stop() {
        // PUSH2 with one byte of data.
        let code = analyze(&[0x61, 0xaa]);
        assert_eq!(code.block(0), BlockInfo { gas: 3, min_len: 0, max_len: 1023 });
    }
}
