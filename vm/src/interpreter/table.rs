//! Per-fork dispatch tables: for each opcode byte, the instruction body, its static gas and
//! its stack bounds, all derived from [`crate::opcodes::OPCODES`] and
//! [`crate::opcodes::static_gas`]. Built at compile time, one per fork.

use super::instructions::{
    arithmetic as ar, control as ct, environment as en, host as ho, memory as me, system as sy, Instr,
};
use super::max_len_before;
use crate::fork::Fork;
use crate::opcodes::{static_gas, OPCODE_TABLE};

/// Everything the dispatch loop needs per opcode under one fork.
pub(crate) struct InstrTable {
    pub(crate) exec: [Instr; 256],
    pub(crate) meta: [OpMeta; 256],
}

/// Static gas and stack bounds of one opcode, packed into 8 bytes so the dispatch loop
/// reads them with one load.
#[derive(Clone, Copy)]
pub(crate) struct OpMeta {
    pub(crate) gas: u32,
    pub(crate) inputs: u16,
    pub(crate) max_len: u16,
}

/// Marks an opcode the fork does not define: no stack is this deep, so the dispatch loop's
/// underflow check catches it and reports an invalid opcode.
pub(crate) const UNDEFINED: u16 = u16::MAX;

/// Bodies of the opcodes dispatched through the table. Arithmetic, comparisons, stack
/// operations, jumps, MLOAD/MSTORE/MSTORE8, PC, GAS and JUMPDEST run inline in the dispatch
/// loop instead and keep the `invalid` placeholder here.
const fn bodies() -> [Instr; 256] {
    let mut t: [Instr; 256] = [ct::invalid as Instr; 256];
    t[0x00] = ct::stop;
    t[0x0a] = ar::exp;
    t[0x20] = me::keccak;
    t[0x30] = en::address;
    t[0x31] = en::balance;
    t[0x32] = en::origin;
    t[0x33] = en::caller;
    t[0x34] = en::callvalue;
    t[0x35] = en::calldataload;
    t[0x36] = en::calldatasize;
    t[0x37] = en::calldatacopy;
    t[0x38] = en::codesize;
    t[0x39] = en::codecopy;
    t[0x3a] = en::gasprice;
    t[0x3b] = en::extcodesize;
    t[0x3c] = en::extcodecopy;
    t[0x3d] = en::returndatasize;
    t[0x3e] = en::returndatacopy;
    t[0x3f] = en::extcodehash;
    t[0x40] = en::blockhash;
    t[0x41] = en::coinbase;
    t[0x42] = en::timestamp;
    t[0x43] = en::number;
    t[0x44] = en::prevrandao;
    t[0x45] = en::gaslimit;
    t[0x46] = en::chainid;
    t[0x47] = en::selfbalance;
    t[0x48] = en::basefee;
    t[0x49] = en::blobhash;
    t[0x4a] = en::blobbasefee;
    t[0x54] = ho::sload;
    t[0x55] = ho::sstore;
    t[0x59] = me::msize;
    t[0x5c] = ho::tload;
    t[0x5d] = ho::tstore;
    t[0x5e] = me::mcopy;
    t[0xa0] = ho::log::<0>;
    t[0xa1] = ho::log::<1>;
    t[0xa2] = ho::log::<2>;
    t[0xa3] = ho::log::<3>;
    t[0xa4] = ho::log::<4>;
    t[0xf0] = sy::create;
    t[0xf1] = sy::call;
    t[0xf2] = sy::callcode;
    t[0xf3] = ct::ret;
    t[0xf4] = sy::delegatecall;
    t[0xf5] = sy::create2;
    t[0xfa] = sy::staticcall;
    t[0xfd] = ct::revert;
    t[0xfe] = ct::invalid;
    t[0xff] = sy::selfdestruct;
    t
}

const fn build(fork: Fork) -> InstrTable {
    let all = bodies();
    let gas_all = static_gas(fork);
    let mut table = InstrTable {
        exec: [ct::invalid as Instr; 256],
        meta: [OpMeta { gas: 0, inputs: UNDEFINED, max_len: max_len_before(0) }; 256],
    };
    let mut i = 0;
    while i < 256 {
        let info = &OPCODE_TABLE[i];
        if info.is_enabled(fork) {
            table.exec[i] = all[i];
            table.meta[i] = OpMeta {
                gas: gas_all[i],
                inputs: info.inputs as u16,
                max_len: max_len_before(info.stack_growth()),
            };
        }
        i += 1;
    }
    table
}

static TABLES: [InstrTable; 15] = [
    build(Fork::Frontier),
    build(Fork::Homestead),
    build(Fork::TangerineWhistle),
    build(Fork::SpuriousDragon),
    build(Fork::Byzantium),
    build(Fork::Constantinople),
    build(Fork::Petersburg),
    build(Fork::Istanbul),
    build(Fork::Berlin),
    build(Fork::London),
    build(Fork::Paris),
    build(Fork::Shanghai),
    build(Fork::Cancun),
    build(Fork::Prague),
    build(Fork::Osaka),
];

/// The dispatch table of `fork`.
#[inline(always)]
pub(crate) fn for_fork(fork: Fork) -> &'static InstrTable {
    &TABLES[fork as usize]
}
