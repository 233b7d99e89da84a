//! Differential checking of compiled code against the interpreter, shared by the
//! differential tests (`jit/tests/differential.rs`) and the fuzz target
//! (`fuzz/fuzz_targets/jit_vs_interpreter.rs`).
//!
//! A [`Case`] is one contract run by one transaction. [`Harness::check`] runs it on a plain
//! interpreter and on one using a [`Jit`] in `always` mode, and reports the first thing that
//! differs: status (halt reason included), gas used, output, logs or state changes. Since
//! programs can end by storing their stack into storage and returning memory, stack and
//! memory contents are compared through those.

use crate::{CompileOptions, Jit, JitConfig, JitMode};
use metisvm_state::MemoryState;
use metisvm_vm::{
    AccountInfo, Address, BlockEnv, Bytes, CfgEnv, Evm, Fork, TxEnv, TxOutcome, KECCAK_EMPTY, U256,
};
use std::sync::Arc;

/// The transaction's sender.
pub const SENDER: Address = Address::repeat_byte(0x5e);
/// The account holding the code under test.
pub const CONTRACT: Address = Address::repeat_byte(0xc0);

/// One contract run by one transaction.
#[derive(Debug, Clone)]
pub struct Case {
    /// The contract's deployed code.
    pub code: Vec<u8>,
    /// Calldata.
    pub data: Vec<u8>,
    /// The fork.
    pub fork: Fork,
}

impl Case {
    /// The lowest gas limit the transaction is valid with: intrinsic gas, and the EIP-7623
    /// floor where it applies.
    pub fn base_gas(&self) -> u64 {
        let intrinsic = metisvm_vm::intrinsic::intrinsic_gas_of(self.fork, &self.data, false, &[], 0);
        let floor = metisvm_vm::intrinsic::calldata_floor_gas_of(self.fork, &self.data).unwrap_or(0);
        intrinsic.max(floor)
    }

    /// The pre-state: a funded sender, and the contract with one storage slot set.
    pub fn state(&self) -> MemoryState {
        let mut state = MemoryState::new();
        let info = |balance, nonce, code: &[u8]| AccountInfo {
            balance,
            nonce,
            code_hash: KECCAK_EMPTY,
            code: Some(Bytes::copy_from_slice(code)),
        };
        state.insert_account(SENDER, info(U256::from(10u64).pow(U256::from(20)), 0, &[]), []);
        state.insert_account(CONTRACT, info(U256::ZERO, 1, &self.code), [(U256::from(7), U256::from(9))]);
        state
    }

    /// The code as hex, for messages.
    pub fn code_hex(&self) -> String {
        self.code.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// A plain interpreter and a JIT-backed one, reused across cases.
pub struct Harness {
    interp: Evm,
    jit_evm: Evm,
    jit: Jit,
}

impl Default for Harness {
    fn default() -> Self {
        Harness::new()
    }
}

impl Harness {
    /// Two fresh executors; the JIT compiles every deployed code before it runs.
    pub fn new() -> Harness {
        Harness::with_options(CompileOptions::default())
    }

    /// [`Harness::new`] with only the optimisations `options` turns on.
    pub fn with_options(options: CompileOptions) -> Harness {
        let jit = Jit::new(JitConfig { mode: JitMode::Always, options, ..JitConfig::default() });
        let mut jit_evm = Evm::new();
        jit_evm.set_native_backend(Arc::new(jit.clone()));
        Harness { interp: Evm::new(), jit_evm, jit }
    }

    /// The JIT, for its statistics.
    pub fn jit(&self) -> &Jit {
        &self.jit
    }

    /// Runs `case` on the interpreter with `execution_gas` above its base gas.
    pub fn interpret(&mut self, case: &Case, state: &MemoryState, execution_gas: u64) -> TxOutcome {
        run(&mut self.interp, case, state, execution_gas)
    }

    /// Runs `case` on both executors with `execution_gas` above its base gas; `Err` names the
    /// first difference.
    pub fn check(&mut self, case: &Case, state: &MemoryState, execution_gas: u64) -> Result<(), String> {
        let a = run(&mut self.interp, case, state, execution_gas);
        let b = run(&mut self.jit_evm, case, state, execution_gas);
        let context =
            || format!("code {} under {:?} with {execution_gas} execution gas", case.code_hex(), case.fork);
        let differs = |what: &str, x: &dyn std::fmt::Debug, y: &dyn std::fmt::Debug| {
            Err(format!("{what} differs for {}: interpreter {x:?}, JIT {y:?}", context()))
        };
        if a.status != b.status {
            return differs("status", &a.status, &b.status);
        }
        if a.gas_used != b.gas_used {
            return differs("gas used", &a.gas_used, &b.gas_used);
        }
        if a.output != b.output {
            return differs("output", &a.output, &b.output);
        }
        if a.logs != b.logs {
            return differs("logs", &a.logs, &b.logs);
        }
        if a.diff != b.diff {
            return differs("state changes", &a.diff, &b.diff);
        }
        Ok(())
    }

    /// Execution gas `case` uses when given plenty (`limit`).
    pub fn needed(&mut self, case: &Case, state: &MemoryState, limit: u64) -> u64 {
        self.interpret(case, state, limit).gas_used.saturating_sub(case.base_gas())
    }
}

fn run(evm: &mut Evm, case: &Case, state: &MemoryState, execution_gas: u64) -> TxOutcome {
    let block = BlockEnv { gas_limit: u64::MAX, ..BlockEnv::default() };
    let cfg = CfgEnv::new(case.fork);
    let tx = TxEnv {
        caller: SENDER,
        to: Some(CONTRACT),
        gas_limit: case.base_gas() + execution_gas,
        data: Bytes::copy_from_slice(&case.data),
        tx_type: 0,
        ..TxEnv::default()
    };
    evm.transact(state, &block, &cfg, &tx).expect("the case's transaction is valid by construction")
}
