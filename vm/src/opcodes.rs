//! The one source of truth for opcode metadata: name, immediate size, stack inputs and
//! outputs, the fork that introduced the opcode, and its static gas per fork.
//!
//! The interpreter's dispatch tables (from [`OPCODE_TABLE`], the same data as a constant),
//! the tracer and the disassembler all read [`OPCODES`]
//! and [`static_gas`]. Static gas per fork is built by copying the previous fork's price
//! and patching it, each patch naming its EIP. Dynamic costs (memory, cold access, value
//! transfer, ...) are charged by the instructions themselves.

use crate::fork::Fork;

/// Metadata of one opcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpInfo {
    /// Mnemonic, as EIP-3155 traces print it.
    pub name: &'static str,
    /// Bytes of immediate data after the opcode (PUSH1..PUSH32).
    pub immediate: u8,
    /// Stack items consumed.
    pub inputs: u8,
    /// Stack items produced.
    pub outputs: u8,
    /// The fork that introduced the opcode.
    pub since: Fork,
    /// Frontier static gas (patched by later forks in [`static_gas`]).
    pub base_gas: u16,
}

impl OpInfo {
    /// Whether the opcode exists under `fork`.
    pub const fn is_enabled(&self, fork: Fork) -> bool {
        !self.name.is_empty() && fork.is_enabled_in(self.since)
    }

    /// How far the opcode may grow the stack (outputs minus inputs, when positive).
    pub const fn stack_growth(&self) -> u8 {
        self.outputs.saturating_sub(self.inputs)
    }
}

const UNDEFINED: OpInfo =
    OpInfo { name: "", immediate: 0, inputs: 0, outputs: 0, since: Fork::Frontier, base_gas: 0 };

const fn op(name: &'static str, inputs: u8, outputs: u8, base_gas: u16, since: Fork) -> OpInfo {
    OpInfo { name, immediate: 0, inputs, outputs, since, base_gas }
}

/// Opcode byte values used by the interpreter.
#[allow(missing_docs)]
pub mod code {
    pub const STOP: u8 = 0x00;
    pub const JUMP: u8 = 0x56;
    pub const JUMPI: u8 = 0x57;
    pub const JUMPDEST: u8 = 0x5b;
    pub const PUSH0: u8 = 0x5f;
    pub const PUSH1: u8 = 0x60;
    pub const PUSH2: u8 = 0x61;
    pub const PUSH32: u8 = 0x7f;
    pub const DUP1: u8 = 0x80;
    pub const SWAP1: u8 = 0x90;
    pub const LOG0: u8 = 0xa0;
    pub const CREATE: u8 = 0xf0;
    pub const CALL: u8 = 0xf1;
    pub const CALLCODE: u8 = 0xf2;
    pub const RETURN: u8 = 0xf3;
    pub const DELEGATECALL: u8 = 0xf4;
    pub const CREATE2: u8 = 0xf5;
    pub const STATICCALL: u8 = 0xfa;
    pub const REVERT: u8 = 0xfd;
    pub const INVALID: u8 = 0xfe;
    pub const SELFDESTRUCT: u8 = 0xff;
}

const fn build_table() -> [OpInfo; 256] {
    use Fork::*;
    let mut t = [UNDEFINED; 256];
    t[0x00] = op("STOP", 0, 0, 0, Frontier);
    t[0x01] = op("ADD", 2, 1, 3, Frontier);
    t[0x02] = op("MUL", 2, 1, 5, Frontier);
    t[0x03] = op("SUB", 2, 1, 3, Frontier);
    t[0x04] = op("DIV", 2, 1, 5, Frontier);
    t[0x05] = op("SDIV", 2, 1, 5, Frontier);
    t[0x06] = op("MOD", 2, 1, 5, Frontier);
    t[0x07] = op("SMOD", 2, 1, 5, Frontier);
    t[0x08] = op("ADDMOD", 3, 1, 8, Frontier);
    t[0x09] = op("MULMOD", 3, 1, 8, Frontier);
    t[0x0a] = op("EXP", 2, 1, 10, Frontier);
    t[0x0b] = op("SIGNEXTEND", 2, 1, 5, Frontier);
    t[0x10] = op("LT", 2, 1, 3, Frontier);
    t[0x11] = op("GT", 2, 1, 3, Frontier);
    t[0x12] = op("SLT", 2, 1, 3, Frontier);
    t[0x13] = op("SGT", 2, 1, 3, Frontier);
    t[0x14] = op("EQ", 2, 1, 3, Frontier);
    t[0x15] = op("ISZERO", 1, 1, 3, Frontier);
    t[0x16] = op("AND", 2, 1, 3, Frontier);
    t[0x17] = op("OR", 2, 1, 3, Frontier);
    t[0x18] = op("XOR", 2, 1, 3, Frontier);
    t[0x19] = op("NOT", 1, 1, 3, Frontier);
    t[0x1a] = op("BYTE", 2, 1, 3, Frontier);
    t[0x1b] = op("SHL", 2, 1, 3, Constantinople);
    t[0x1c] = op("SHR", 2, 1, 3, Constantinople);
    t[0x1d] = op("SAR", 2, 1, 3, Constantinople);
    t[0x1e] = op("CLZ", 1, 1, 5, Osaka);
    t[0x20] = op("KECCAK256", 2, 1, 30, Frontier);
    t[0x30] = op("ADDRESS", 0, 1, 2, Frontier);
    t[0x31] = op("BALANCE", 1, 1, 20, Frontier);
    t[0x32] = op("ORIGIN", 0, 1, 2, Frontier);
    t[0x33] = op("CALLER", 0, 1, 2, Frontier);
    t[0x34] = op("CALLVALUE", 0, 1, 2, Frontier);
    t[0x35] = op("CALLDATALOAD", 1, 1, 3, Frontier);
    t[0x36] = op("CALLDATASIZE", 0, 1, 2, Frontier);
    t[0x37] = op("CALLDATACOPY", 3, 0, 3, Frontier);
    t[0x38] = op("CODESIZE", 0, 1, 2, Frontier);
    t[0x39] = op("CODECOPY", 3, 0, 3, Frontier);
    t[0x3a] = op("GASPRICE", 0, 1, 2, Frontier);
    t[0x3b] = op("EXTCODESIZE", 1, 1, 20, Frontier);
    t[0x3c] = op("EXTCODECOPY", 4, 0, 20, Frontier);
    t[0x3d] = op("RETURNDATASIZE", 0, 1, 2, Byzantium);
    t[0x3e] = op("RETURNDATACOPY", 3, 0, 3, Byzantium);
    t[0x3f] = op("EXTCODEHASH", 1, 1, 400, Constantinople);
    t[0x40] = op("BLOCKHASH", 1, 1, 20, Frontier);
    t[0x41] = op("COINBASE", 0, 1, 2, Frontier);
    t[0x42] = op("TIMESTAMP", 0, 1, 2, Frontier);
    t[0x43] = op("NUMBER", 0, 1, 2, Frontier);
    t[0x44] = op("DIFFICULTY", 0, 1, 2, Frontier);
    t[0x45] = op("GASLIMIT", 0, 1, 2, Frontier);
    t[0x46] = op("CHAINID", 0, 1, 2, Istanbul);
    t[0x47] = op("SELFBALANCE", 0, 1, 5, Istanbul);
    t[0x48] = op("BASEFEE", 0, 1, 2, London);
    t[0x49] = op("BLOBHASH", 1, 1, 3, Cancun);
    t[0x4a] = op("BLOBBASEFEE", 0, 1, 2, Cancun);
    t[0x50] = op("POP", 1, 0, 2, Frontier);
    t[0x51] = op("MLOAD", 1, 1, 3, Frontier);
    t[0x52] = op("MSTORE", 2, 0, 3, Frontier);
    t[0x53] = op("MSTORE8", 2, 0, 3, Frontier);
    t[0x54] = op("SLOAD", 1, 1, 50, Frontier);
    t[0x55] = op("SSTORE", 2, 0, 0, Frontier);
    t[0x56] = op("JUMP", 1, 0, 8, Frontier);
    t[0x57] = op("JUMPI", 2, 0, 10, Frontier);
    t[0x58] = op("PC", 0, 1, 2, Frontier);
    t[0x59] = op("MSIZE", 0, 1, 2, Frontier);
    t[0x5a] = op("GAS", 0, 1, 2, Frontier);
    t[0x5b] = op("JUMPDEST", 0, 0, 1, Frontier);
    t[0x5c] = op("TLOAD", 1, 1, 100, Cancun);
    t[0x5d] = op("TSTORE", 2, 0, 100, Cancun);
    t[0x5e] = op("MCOPY", 3, 0, 3, Cancun);
    t[0x5f] = op("PUSH0", 0, 1, 2, Shanghai);
    const PUSH_NAMES: [&str; 32] = [
        "PUSH1", "PUSH2", "PUSH3", "PUSH4", "PUSH5", "PUSH6", "PUSH7", "PUSH8", "PUSH9", "PUSH10", "PUSH11",
        "PUSH12", "PUSH13", "PUSH14", "PUSH15", "PUSH16", "PUSH17", "PUSH18", "PUSH19", "PUSH20", "PUSH21",
        "PUSH22", "PUSH23", "PUSH24", "PUSH25", "PUSH26", "PUSH27", "PUSH28", "PUSH29", "PUSH30", "PUSH31",
        "PUSH32",
    ];
    const DUP_NAMES: [&str; 16] = [
        "DUP1", "DUP2", "DUP3", "DUP4", "DUP5", "DUP6", "DUP7", "DUP8", "DUP9", "DUP10", "DUP11", "DUP12",
        "DUP13", "DUP14", "DUP15", "DUP16",
    ];
    const SWAP_NAMES: [&str; 16] = [
        "SWAP1", "SWAP2", "SWAP3", "SWAP4", "SWAP5", "SWAP6", "SWAP7", "SWAP8", "SWAP9", "SWAP10", "SWAP11",
        "SWAP12", "SWAP13", "SWAP14", "SWAP15", "SWAP16",
    ];
    let mut i = 0;
    while i < 32 {
        t[0x60 + i] = OpInfo {
            name: PUSH_NAMES[i],
            immediate: i as u8 + 1,
            inputs: 0,
            outputs: 1,
            since: Frontier,
            base_gas: 3,
        };
        i += 1;
    }
    i = 0;
    while i < 16 {
        t[0x80 + i] = op(DUP_NAMES[i], i as u8 + 1, i as u8 + 2, 3, Frontier);
        t[0x90 + i] = op(SWAP_NAMES[i], i as u8 + 2, i as u8 + 2, 3, Frontier);
        i += 1;
    }
    t[0xa0] = op("LOG0", 2, 0, 375, Frontier);
    t[0xa1] = op("LOG1", 3, 0, 750, Frontier);
    t[0xa2] = op("LOG2", 4, 0, 1125, Frontier);
    t[0xa3] = op("LOG3", 5, 0, 1500, Frontier);
    t[0xa4] = op("LOG4", 6, 0, 1875, Frontier);
    t[0xf0] = op("CREATE", 3, 1, 32000, Frontier);
    t[0xf1] = op("CALL", 7, 1, 40, Frontier);
    t[0xf2] = op("CALLCODE", 7, 1, 40, Frontier);
    t[0xf3] = op("RETURN", 2, 0, 0, Frontier);
    t[0xf4] = op("DELEGATECALL", 6, 1, 40, Homestead);
    t[0xf5] = op("CREATE2", 4, 1, 32000, Constantinople);
    t[0xfa] = op("STATICCALL", 6, 1, 40, Byzantium);
    t[0xfd] = op("REVERT", 2, 0, 0, Byzantium);
    t[0xfe] = op("INVALID", 0, 0, 0, Frontier);
    t[0xff] = op("SELFDESTRUCT", 1, 0, 0, Frontier);
    t
}

/// Metadata of every opcode byte; undefined bytes have an empty name.
pub static OPCODES: [OpInfo; 256] = OPCODE_TABLE;

/// [`OPCODES`] as a constant, for tables built at compile time.
pub const OPCODE_TABLE: [OpInfo; 256] = build_table();

/// The static gas of every opcode under `fork`. Undefined opcodes cost nothing here; the
/// dispatch loop rejects them before charging.
pub const fn static_gas(fork: Fork) -> [u32; 256] {
    let table = build_table();
    let mut gas = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        gas[i] = table[i].base_gas as u32;
        i += 1;
    }
    // EIP-150 (Tangerine Whistle): IO-heavy operations repriced.
    if fork.is_enabled_in(Fork::TangerineWhistle) {
        gas[0x31] = 400; // BALANCE
        gas[0x3b] = 700; // EXTCODESIZE
        gas[0x3c] = 700; // EXTCODECOPY
        gas[0x54] = 200; // SLOAD
        gas[0xf1] = 700; // CALL
        gas[0xf2] = 700; // CALLCODE
        gas[0xf4] = 700; // DELEGATECALL
        gas[0xff] = 5000; // SELFDESTRUCT
    }
    if fork.is_enabled_in(Fork::Byzantium) {
        gas[0xfa] = 700; // STATICCALL
    }
    // EIP-1884 (Istanbul): trie-size-dependent opcodes repriced.
    if fork.is_enabled_in(Fork::Istanbul) {
        gas[0x31] = 700; // BALANCE
        gas[0x3f] = 700; // EXTCODEHASH
        gas[0x54] = 800; // SLOAD
    }
    // EIP-2929 (Berlin): account and storage access cost the warm price statically; the
    // cold surcharge is dynamic.
    if fork.is_enabled_in(Fork::Berlin) {
        let warm = 100;
        gas[0x31] = warm; // BALANCE
        gas[0x3b] = warm; // EXTCODESIZE
        gas[0x3c] = warm; // EXTCODECOPY
        gas[0x3f] = warm; // EXTCODEHASH
        gas[0x54] = 0; // SLOAD: warm or cold, charged dynamically
        gas[0xf1] = warm; // CALL
        gas[0xf2] = warm; // CALLCODE
        gas[0xf4] = warm; // DELEGATECALL
        gas[0xfa] = warm; // STATICCALL
    }
    gas
}

/// The opcode at `pc` of `code` and its immediate, rendered for a disassembly listing.
pub fn disassemble(code: &[u8]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut pc = 0;
    while pc < code.len() {
        let info = &OPCODES[code[pc] as usize];
        let n = info.immediate as usize;
        let text = if info.name.is_empty() {
            format!("0x{:02x}", code[pc])
        } else if n > 0 {
            let end = (pc + 1 + n).min(code.len());
            let imm: String = code[pc + 1..end].iter().map(|b| format!("{b:02x}")).collect();
            format!("{} 0x{}", info.name, imm)
        } else {
            info.name.to_string()
        };
        out.push((pc, text));
        pc += 1 + n;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_shapes() {
        assert_eq!(OPCODES[0x60].immediate, 1);
        assert_eq!(OPCODES[0x7f].name, "PUSH32");
        assert_eq!(OPCODES[0x8f].inputs, 16);
        assert_eq!(OPCODES[0x9f].inputs, 17);
        assert!(!OPCODES[0x5f].is_enabled(Fork::Paris));
        assert!(OPCODES[0x5f].is_enabled(Fork::Shanghai));
        assert!(!OPCODES[0x0c].is_enabled(Fork::Osaka));
    }

    #[test]
    fn gas_patches() {
        assert_eq!(static_gas(Fork::Frontier)[0x54], 50);
        assert_eq!(static_gas(Fork::TangerineWhistle)[0x54], 200);
        assert_eq!(static_gas(Fork::Istanbul)[0x54], 800);
        assert_eq!(static_gas(Fork::Berlin)[0xf1], 100);
    }

    #[test]
    fn disassembles_truncated_push() {
        let listing = disassemble(&[0x60, 0x01, 0x61, 0xff]);
        assert_eq!(listing[0], (0, "PUSH1 0x01".to_string()));
        assert_eq!(listing[1], (2, "PUSH2 0xff".to_string()));
    }
}
