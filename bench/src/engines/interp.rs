//! MetisVM's interpreter as a [`Runner`]: a [`MemoryState`] and one [`Evm`] kept for the whole
//! workload, so its code-analysis cache is warm after the first run, as in a node.

use metisvm_jit::{CompileOptions, Jit, JitConfig, JitMode};
use metisvm_state::MemoryState;
use metisvm_vm::{BlockEnv, CfgEnv, Evm, ExecStatus, StateWriter, TxEnv, TxOutcome};
use std::sync::Arc;

use super::{EngineError, EngineKind, Runner};
use crate::compare::{AccountSnapshot, LogEntry, RunResult, Status, TxResult};
use crate::workload::Workload;

/// MetisVM set up for one workload.
pub struct InterpRunner {
    kind: EngineKind,
    evm: Evm,
    pre: MemoryState,
    block: BlockEnv,
    cfg: CfgEnv,
    txs: Vec<TxEnv>,
    /// The state a multi-transaction run commits into: a fresh clone of `pre`, made untimed.
    scratch: Option<MemoryState>,
    /// The last timed run's outcomes, dropped untimed by the next `prepare`.
    outcomes: Vec<TxOutcome>,
    /// For `jit-nocache`: the JIT settings each run gets a new, empty JIT with.
    fresh_jit: Option<JitConfig>,
}

impl InterpRunner {
    /// Loads the workload's pre-state and block hashes.
    pub fn new(workload: &Workload) -> InterpRunner {
        let mut pre = workload.pre.clone();
        for (number, hash) in workload.block_hashes() {
            pre.set_block_hash(number, hash);
        }
        InterpRunner {
            kind: EngineKind::Interp,
            evm: Evm::new(),
            pre,
            block: workload.block.clone(),
            cfg: workload.cfg.clone(),
            txs: workload.txs.clone(),
            scratch: None,
            outcomes: Vec::with_capacity(workload.txs.len()),
            fresh_jit: None,
        }
    }

    /// The same with every contract compiled before it first runs (the `jit` engine): the
    /// untimed [`Runner::execute`] compiles, so timed runs use native code only.
    pub fn compiled(workload: &Workload, options: CompileOptions) -> InterpRunner {
        let mut runner = InterpRunner::new(workload);
        let jit = Jit::new(JitConfig { mode: JitMode::Always, options, ..JitConfig::default() });
        runner.evm.set_native_backend(Arc::new(jit));
        runner.kind = EngineKind::Jit;
        runner
    }

    /// The `jit-nocache` engine: like [`InterpRunner::compiled`], but every run (timed or
    /// not) starts with an empty JIT, so it compiles every contract it calls.
    pub fn compiled_every_run(workload: &Workload, options: CompileOptions) -> InterpRunner {
        let mut runner = InterpRunner::compiled(workload, options);
        runner.kind = EngineKind::JitNoCache;
        runner.fresh_jit = Some(JitConfig { mode: JitMode::Always, options, ..JitConfig::default() });
        runner
    }

    fn rejected(&self, i: usize, err: impl std::fmt::Display) -> EngineError {
        EngineError::new(self.kind, format!("tx {i} rejected: {err}"))
    }
}

impl Runner for InterpRunner {
    fn kind(&self) -> EngineKind {
        self.kind
    }

    fn execute(&mut self) -> Result<RunResult, EngineError> {
        let mut state = self.pre.clone();
        let mut result = RunResult::default();
        for (i, tx) in self.txs.iter().enumerate() {
            let outcome =
                self.evm.transact(&state, &self.block, &self.cfg, tx).map_err(|e| self.rejected(i, e))?;
            state.commit(&outcome.diff);
            result.txs.push(tx_result(outcome));
        }
        for (address, account) in state.accounts() {
            let snapshot = AccountSnapshot {
                balance: account.info.balance,
                nonce: account.info.nonce,
                code_hash: account.info.code_hash,
                storage: account.storage.iter().map(|(slot, value)| (*slot, *value)).collect(),
            };
            result.insert_account(*address, snapshot);
        }
        Ok(result)
    }

    fn prepare(&mut self) {
        self.outcomes.clear();
        if let Some(config) = self.fresh_jit {
            self.evm.set_native_backend(Arc::new(Jit::new(config)));
        }
        if self.txs.len() > 1 {
            self.scratch = Some(self.pre.clone());
        }
    }

    fn run(&mut self) -> Result<u64, EngineError> {
        if let [tx] = self.txs.as_slice() {
            // One transaction: nothing to commit, so it reads the pre-state directly.
            let outcome =
                self.evm.transact(&self.pre, &self.block, &self.cfg, tx).map_err(|e| self.rejected(0, e))?;
            let gas = outcome.gas_used;
            self.outcomes.push(outcome);
            return Ok(gas);
        }
        let mut state = self.scratch.take().unwrap_or_else(|| self.pre.clone());
        let mut gas = 0;
        let last = self.txs.len().saturating_sub(1);
        for (i, tx) in self.txs.iter().enumerate() {
            let outcome =
                self.evm.transact(&state, &self.block, &self.cfg, tx).map_err(|e| self.rejected(i, e))?;
            if i < last {
                state.commit(&outcome.diff);
            }
            gas += outcome.gas_used;
            self.outcomes.push(outcome);
        }
        // Kept so that it is dropped by the next `prepare`, outside the timer.
        self.scratch = Some(state);
        Ok(gas)
    }
}

fn tx_result(outcome: TxOutcome) -> TxResult {
    let status = match outcome.status {
        ExecStatus::Success => Status::Success,
        ExecStatus::Revert => Status::Revert,
        ExecStatus::Halt(reason) => Status::Halt(format!("{reason:?}")),
    };
    let logs = outcome
        .logs
        .into_iter()
        .map(|log| LogEntry { address: log.address, topics: log.topics, data: log.data })
        .collect();
    TxResult::new(status, outcome.gas_used, outcome.output, logs)
}
