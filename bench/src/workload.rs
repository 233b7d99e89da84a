//! Workloads: a pre-state, a block, a fork and a list of transactions, described once in
//! MetisVM's own types and handed to every engine, which converts them as it needs.
//!
//! Three input shapes become workloads (see [`crate::load`]): evmone-style state tests (one
//! workload per labelled input), revmc-style files (one workload per file, its transactions run
//! in order) and raw runtime bytecode (one call of the code). The opcode micro-benchmarks of
//! [`crate::micro`] are built here too, from hand-assembled bytecode.

use std::path::PathBuf;

use metisvm_state::MemoryState;
use metisvm_vm::{
    keccak256, AccountInfo, Address, BlockEnv, Bytes, CfgEnv, Fork, TxEnv, B256, KECCAK_EMPTY, U256,
};

/// The account that holds the contract of a bytecode workload.
pub const CONTRACT: Address = Address::new([0xc0; 20]);

/// The externally owned account that sends the transaction of a bytecode workload.
pub const CALLER: Address = Address::new([0xca; 20]);

/// Gas price of a bytecode workload's transaction (legacy, base fee zero), so that both engines
/// buy and refund gas.
pub const GAS_PRICE: u64 = 1;

/// Default gas limit of a bytecode workload.
pub const DEFAULT_GAS_LIMIT: u64 = 1_000_000_000;

/// The fork of revmc-style and bytecode workloads unless one is asked for: the newest fork
/// without the [EIP-7825](https://eips.ethereum.org/EIPS/eip-7825) gas cap, which the revmc
/// files' 2^63 gas limits would break.
pub const DEFAULT_FORK: Fork = Fork::Prague;

/// The caller's balance in a bytecode workload: far more than any gas it can buy.
const CALLER_BALANCE: u64 = u64::MAX;

/// How many recent block hashes every engine is given (what BLOCKHASH can reach).
const BLOCK_HASH_WINDOW: u64 = 256;

/// One benchmark: what every engine is asked to run, from the same pre-state.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Short name: `test/label` for a state-test input, the test's name for a revmc file, the
    /// file stem for bytecode.
    pub name: String,
    /// The group it belongs to: the name of the folder it was read from (`main`, `micro`,
    /// `revmc`, `revm`), or `opcodes` for the built-in micro-benchmarks.
    pub suite: String,
    /// The file it was read from, when it was read from one.
    pub source: Option<PathBuf>,
    /// The world before the first transaction.
    pub pre: MemoryState,
    /// The block every transaction runs in.
    pub block: BlockEnv,
    /// Chain configuration, the fork included.
    pub cfg: CfgEnv,
    /// The transactions, run in order; each sees the state the previous one left.
    pub txs: Vec<TxEnv>,
    /// Whether every transaction must succeed (revmc files and bytecode: a benchmark of a
    /// failing call measures nothing). State tests record their own expectations instead.
    pub require_success: bool,
}

impl Workload {
    /// `suite/name`: unique across the shared benchmark folders.
    pub fn id(&self) -> String {
        format!("{}/{}", self.suite, self.name)
    }

    /// The fork the workload runs under.
    pub fn fork(&self) -> Fork {
        self.cfg.fork
    }

    /// The block hashes both engines are given: the 256 blocks before the current one, each
    /// hashed from its number, so that BLOCKHASH reads the same value everywhere.
    pub fn block_hashes(&self) -> impl Iterator<Item = (u64, B256)> {
        let number = self.block.number;
        (number.saturating_sub(BLOCK_HASH_WINDOW)..number).map(|n| (n, keccak256(n.to_be_bytes())))
    }

    /// One call of `code` installed at [`CONTRACT`], sent by a funded [`CALLER`] with
    /// `calldata` and `gas_limit` (also the block's gas limit) under `fork`.
    pub fn bytecode(
        name: impl Into<String>,
        suite: impl Into<String>,
        code: Bytes,
        calldata: Bytes,
        gas_limit: u64,
        fork: Fork,
    ) -> Workload {
        let mut pre = MemoryState::new();
        let contract =
            AccountInfo { balance: U256::ZERO, nonce: 1, code_hash: KECCAK_EMPTY, code: Some(code) };
        pre.insert_account(CONTRACT, contract, []);
        let caller = AccountInfo { balance: U256::from(CALLER_BALANCE), ..AccountInfo::default() };
        pre.insert_account(CALLER, caller, []);
        let block = BlockEnv { gas_limit, ..BlockEnv::default() };
        let tx = TxEnv {
            tx_type: 0,
            caller: CALLER,
            gas_limit,
            gas_price: U256::from(GAS_PRICE),
            to: Some(CONTRACT),
            data: calldata,
            nonce: 0,
            chain_id: Some(1),
            ..TxEnv::default()
        };
        Workload {
            name: name.into(),
            suite: suite.into(),
            source: None,
            pre,
            block: normalise_block(block, fork),
            cfg: CfgEnv::new(fork),
            txs: vec![tx],
            require_success: true,
        }
    }

    /// Adds `code` at `address` (nonce 1, no balance) to the pre-state: a callee for
    /// micro-benchmarks of calls.
    pub fn with_contract(mut self, address: Address, code: Bytes) -> Workload {
        let info = AccountInfo { balance: U256::ZERO, nonce: 1, code_hash: KECCAK_EMPTY, code: Some(code) };
        self.pre.insert_account(address, info, []);
        self
    }
}

/// Fills the block fields a fork requires and a file may leave out: from Cancun on, an excess
/// blob gas (zero when absent), so that both engines price blobs the same way.
pub(crate) fn normalise_block(mut block: BlockEnv, fork: Fork) -> BlockEnv {
    if fork.is_enabled_in(Fork::Cancun) && block.excess_blob_gas.is_none() {
        block.excess_blob_gas = Some(0);
    }
    block
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytecode_workload_shape() {
        let code = Bytes::from_static(&[0x00]);
        let w = Workload::bytecode("stop", "t", code, Bytes::new(), 100_000, Fork::Cancun);
        assert_eq!(w.id(), "t/stop");
        assert_eq!(w.txs.len(), 1);
        assert_eq!(w.txs[0].to, Some(CONTRACT));
        assert_eq!(w.block.gas_limit, 100_000);
        assert_eq!(w.block.excess_blob_gas, Some(0));
        assert!(w.pre.get(&CONTRACT).is_some() && w.pre.get(&CALLER).is_some());
        assert_eq!(w.block_hashes().count(), 1, "block 1 sees block 0 only");
    }
}
