//! Opcode micro-benchmarks: small hand-assembled loops, each hammering one family of opcodes, so
//! that a developer can profile one thing at a time.
//!
//! Every program is the same loop around a different body:
//!
//! ```text
//!     PUSH3 n                 ; the counter, kept on top of the stack
//! loop:
//!     JUMPDEST
//!     <body>                  ; leaves the stack as it found it
//!     PUSH1 1 SWAP1 SUB       ; counter - 1
//!     DUP1 PUSH2 loop JUMPI   ; again while non-zero
//!     STOP
//! ```

use metisvm_vm::{Address, Bytes};

use crate::workload::{Workload, DEFAULT_FORK};

/// The contract the `call` micro-benchmark calls: it stops at once.
pub const CALLEE: Address = Address::new([0xee; 20]);

/// Gas limit of every micro-benchmark: ample for the loops built here.
const GAS_LIMIT: u64 = 100_000_000;

/// EVM opcodes used by the programs here.
mod op {
    pub(super) const STOP: u8 = 0x00;
    pub(super) const ADD: u8 = 0x01;
    pub(super) const MUL: u8 = 0x02;
    pub(super) const SUB: u8 = 0x03;
    pub(super) const KECCAK256: u8 = 0x20;
    pub(super) const POP: u8 = 0x50;
    pub(super) const MLOAD: u8 = 0x51;
    pub(super) const MSTORE: u8 = 0x52;
    pub(super) const SLOAD: u8 = 0x54;
    pub(super) const SSTORE: u8 = 0x55;
    pub(super) const JUMPI: u8 = 0x57;
    pub(super) const GAS: u8 = 0x5a;
    pub(super) const JUMPDEST: u8 = 0x5b;
    pub(super) const PUSH1: u8 = 0x60;
    pub(super) const DUP1: u8 = 0x80;
    pub(super) const SWAP1: u8 = 0x90;
    pub(super) const SWAP2: u8 = 0x91;
    pub(super) const CALL: u8 = 0xf1;
}

/// A growing program.
#[derive(Default)]
struct Asm(Vec<u8>);

impl Asm {
    fn op(&mut self, opcode: u8) -> &mut Asm {
        self.0.push(opcode);
        self
    }

    /// `PUSHn` of `bytes` (1 to 32 of them).
    fn push(&mut self, bytes: &[u8]) -> &mut Asm {
        debug_assert!((1..=32).contains(&bytes.len()));
        self.0.push(op::PUSH1 + bytes.len() as u8 - 1);
        self.0.extend_from_slice(bytes);
        self
    }

    fn push1(&mut self, byte: u8) -> &mut Asm {
        self.push(&[byte])
    }

    fn repeat(&mut self, times: usize, body: impl Fn(&mut Asm)) -> &mut Asm {
        for _ in 0..times {
            body(self);
        }
        self
    }
}

/// The loop program around `body`, run `iterations` times (at most 2^24 - 1).
pub fn looped(iterations: u32, body: impl Fn(&mut Vec<u8>)) -> Bytes {
    let n = iterations.min(0xff_ffff).to_be_bytes();
    let mut asm = Asm::default();
    asm.push(&n[1..]);
    let start = asm.0.len() as u16;
    asm.op(op::JUMPDEST);
    body(&mut asm.0);
    asm.push1(1).op(op::SWAP1).op(op::SUB);
    asm.op(op::DUP1).push(&start.to_be_bytes()).op(op::JUMPI).op(op::STOP);
    Bytes::from(asm.0)
}

/// Builds the body with the assembler.
fn body(build: impl Fn(&mut Asm)) -> impl Fn(&mut Vec<u8>) {
    move |code: &mut Vec<u8>| {
        let mut asm = Asm(std::mem::take(code));
        build(&mut asm);
        *code = asm.0;
    }
}

/// Every micro-benchmark, each looping `iterations` times, under [`DEFAULT_FORK`].
pub fn opcode_workloads(iterations: u32) -> Vec<Workload> {
    let big = [0xab; 32];
    let programs: Vec<(&str, Bytes)> = vec![
        (
            "add",
            looped(
                iterations,
                body(|a| {
                    a.repeat(8, |a| {
                        a.push1(3).push1(5).op(op::ADD).op(op::POP);
                    });
                }),
            ),
        ),
        (
            "mul",
            looped(
                iterations,
                body(|a| {
                    a.repeat(4, |a| {
                        a.push(&big).push(&big).op(op::MUL).op(op::POP);
                    });
                }),
            ),
        ),
        (
            "swap",
            looped(
                iterations,
                body(|a| {
                    a.repeat(4, |a| {
                        a.op(op::DUP1).op(op::DUP1).op(op::DUP1);
                        a.op(op::SWAP1).op(op::SWAP2).op(op::SWAP1);
                        a.op(op::POP).op(op::POP).op(op::POP);
                    });
                }),
            ),
        ),
        (
            "mstore_mload",
            looped(
                iterations,
                body(|a| {
                    a.repeat(4, |a| {
                        a.op(op::DUP1).push1(0).op(op::MSTORE).push1(0).op(op::MLOAD).op(op::POP);
                    });
                }),
            ),
        ),
        (
            "keccak256",
            looped(
                iterations,
                body(|a| {
                    a.push1(64).push1(0).op(op::KECCAK256).op(op::POP);
                }),
            ),
        ),
        (
            "sload_sstore",
            looped(
                iterations,
                body(|a| {
                    a.op(op::DUP1).push1(0).op(op::SSTORE).push1(0).op(op::SLOAD).op(op::POP);
                }),
            ),
        ),
        (
            "call",
            looped(
                iterations,
                body(|a| {
                    a.repeat(5, |a| {
                        a.push1(0);
                    });
                    a.push(CALLEE.as_slice()).op(op::GAS).op(op::CALL).op(op::POP);
                }),
            ),
        ),
    ];
    programs
        .into_iter()
        .map(|(name, code)| {
            let workload = Workload::bytecode(name, "opcodes", code, Bytes::new(), GAS_LIMIT, DEFAULT_FORK);
            if name == "call" {
                workload.with_contract(CALLEE, Bytes::from_static(&[op::STOP]))
            } else {
                workload
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engines::EngineKind;

    #[test]
    fn loop_layout() {
        let code = looped(2, |_| {});
        // PUSH3 000002 JUMPDEST PUSH1 1 SWAP1 SUB DUP1 PUSH2 0004 JUMPI STOP
        assert_eq!(code.as_ref(), &[0x62, 0, 0, 2, 0x5b, 0x60, 1, 0x90, 0x03, 0x80, 0x61, 0, 4, 0x57, 0x00]);
    }

    #[test]
    fn micro_benchmarks_agree_and_succeed() {
        for workload in opcode_workloads(50) {
            let agreed = crate::check_agreement(&workload, &EngineKind::ALL)
                .unwrap_or_else(|e| panic!("{}: {e}", workload.id()));
            assert!(agreed.result.gas_used() > 50 * 20, "{}: the loop ran", workload.id());
        }
    }
}
