//! Execution tracing in the [EIP-3155](https://eips.ethereum.org/EIPS/eip-3155) format:
//! one JSON object per executed instruction, and a summary line per transaction, so a run
//! can be diffed line by line against another EVM's trace.

use crate::interpreter::HaltReason;
use crate::opcodes::OPCODES;
use crate::primitives::U256;
use std::io::Write;

/// The machine state just before one instruction ran, and what it cost.
#[derive(Debug)]
pub struct Step<'a> {
    /// Program counter.
    pub pc: usize,
    /// Opcode byte.
    pub op: u8,
    /// Gas left before the instruction.
    pub gas: u64,
    /// Gas the instruction took (including gas handed to a sub-call).
    pub gas_cost: u64,
    /// Memory size in bytes before the instruction.
    pub memory_size: usize,
    /// Stack before the instruction, bottom first.
    pub stack: &'a [U256],
    /// Call depth, 1 for the transaction's frame.
    pub depth: usize,
    /// Refund counter of the frame before the instruction.
    pub refund: i64,
    /// The halt the instruction caused, if any.
    pub error: Option<HaltReason>,
}

/// Receives every executed instruction.
pub trait Tracer {
    /// Called after each instruction with the state from before it.
    fn step(&mut self, step: &Step<'_>);
    /// Called once at the end of a transaction.
    fn end(&mut self, output: &[u8], gas_used: u64, error: Option<&str>);
}

/// Writes EIP-3155 JSON lines to any writer.
pub struct JsonTracer<W: Write> {
    out: W,
}

impl<W: Write> JsonTracer<W> {
    /// A tracer writing to `out`.
    pub fn new(out: W) -> Self {
        JsonTracer { out }
    }

    /// The writer back.
    pub fn into_inner(self) -> W {
        self.out
    }
}

fn hex_u256(v: &U256) -> String {
    format!("0x{v:x}")
}

impl<W: Write> Tracer for JsonTracer<W> {
    fn step(&mut self, s: &Step<'_>) {
        let stack: Vec<String> = s.stack.iter().map(hex_u256).collect();
        let name = OPCODES[s.op as usize].name;
        let name = if name.is_empty() { "INVALID" } else { name };
        let mut line = format!(
            "{{\"pc\":{},\"op\":{},\"gas\":\"0x{:x}\",\"gasCost\":\"0x{:x}\",\"memSize\":{},\"stack\":[{}],\"depth\":{},\"refund\":{},\"opName\":\"{}\"",
            s.pc,
            s.op,
            s.gas,
            s.gas_cost,
            s.memory_size,
            stack.iter().map(|x| format!("\"{x}\"")).collect::<Vec<_>>().join(","),
            s.depth,
            s.refund,
            name
        );
        if let Some(e) = s.error {
            line.push_str(&format!(",\"error\":\"{}\"", e.as_str()));
        }
        line.push('}');
        // A failed trace write must not change execution; the tracer stays silent.
        let _ = writeln!(self.out, "{line}");
    }

    fn end(&mut self, output: &[u8], gas_used: u64, error: Option<&str>) {
        let hex: String = output.iter().map(|b| format!("{b:02x}")).collect();
        let mut line = format!("{{\"output\":\"0x{hex}\",\"gasUsed\":\"0x{gas_used:x}\"");
        if let Some(e) = error {
            line.push_str(&format!(",\"error\":\"{e}\""));
        }
        line.push('}');
        let _ = writeln!(self.out, "{line}");
    }
}
