//! [revm](https://github.com/bluealloy/revm) as a [`Runner`]: its mainnet EVM over an
//! in-memory database ([`InMemoryDB`]), without an inspector, given the same pre-state, block,
//! fork and transactions as MetisVM.
//!
//! Code is installed analysed ([`Bytecode::new_raw`]), so revm's jump-table analysis, like
//! MetisVM's code cache, is paid once per workload and not per run.

use metisvm_vm::{BlockEnv, CfgEnv, Fork, TxEnv, U256};
use revm::bytecode::Bytecode;
use revm::context::result::{ExecutionResult, HaltReason};
use revm::context::{BlockEnv as RevmBlockEnv, CfgEnv as RevmCfgEnv, TxEnv as RevmTxEnv};
use revm::context_interface::block::BlobExcessGasAndPrice;
use revm::context_interface::transaction::{AccessList, AccessListItem};
use revm::database::{AccountState, InMemoryDB};
use revm::handler::{MainnetContext, MainnetEvm};
use revm::primitives::hardfork::SpecId;
use revm::primitives::TxKind;
use revm::state::{AccountInfo as RevmAccountInfo, EvmState};
use revm::{Context, ExecuteCommitEvm, ExecuteEvm, MainBuilder, MainContext};

use super::{EngineError, EngineKind, Runner};
use crate::compare::{AccountSnapshot, LogEntry, RunResult, Status, TxResult};
use crate::workload::Workload;

/// revm's mainnet EVM over an in-memory database.
type RevmEvm = MainnetEvm<MainnetContext<InMemoryDB>>;

/// revm set up for one workload.
pub struct RevmRunner {
    evm: RevmEvm,
    /// The pre-state; each run that commits starts from a clone of it.
    pre_db: InMemoryDB,
    txs: Vec<RevmTxEnv>,
    /// Transactions of the next timed run, cloned untimed by `prepare`.
    pending: Vec<RevmTxEnv>,
    /// The last timed run's results and final state, dropped untimed by the next `prepare`.
    results: Vec<ExecutionResult<HaltReason>>,
    last_state: Option<EvmState>,
}

fn error(message: impl Into<String>) -> EngineError {
    EngineError::new(EngineKind::Revm, message)
}

impl RevmRunner {
    /// Converts the workload into revm's types and builds the EVM.
    pub fn new(workload: &Workload) -> Result<RevmRunner, EngineError> {
        let pre_db = database(workload)?;
        let spec = spec_of(workload.fork())?;
        let block = block_env(&workload.block, &workload.cfg)?;
        let txs =
            workload.txs.iter().enumerate().map(|(i, tx)| tx_env(i, tx)).collect::<Result<Vec<_>, _>>()?;
        let mut cfg = RevmCfgEnv::new_with_spec(spec);
        cfg.chain_id = workload.cfg.chain_id;
        cfg.blob_base_fee_update_fraction = Some(workload.cfg.blob_schedule.update_fraction);
        let evm = Context::mainnet().with_cfg(cfg).with_block(block).with_db(pre_db.clone()).build_mainnet();
        Ok(RevmRunner {
            evm,
            pre_db,
            pending: Vec::with_capacity(txs.len()),
            results: Vec::with_capacity(txs.len()),
            txs,
            last_state: None,
        })
    }

    fn reset_db(&mut self) {
        self.evm.ctx.journaled_state.database = self.pre_db.clone();
    }
}

impl Runner for RevmRunner {
    fn kind(&self) -> EngineKind {
        EngineKind::Revm
    }

    fn execute(&mut self) -> Result<RunResult, EngineError> {
        self.reset_db();
        let mut result = RunResult::default();
        for (i, tx) in self.txs.iter().enumerate() {
            let out = self.evm.transact(tx.clone()).map_err(|e| error(format!("tx {i} rejected: {e:?}")))?;
            self.evm.commit(out.state);
            result.txs.push(tx_result(out.result));
        }
        for (address, account) in &self.evm.ctx.journaled_state.database.cache.accounts {
            if account.account_state == AccountState::NotExisting {
                continue;
            }
            let snapshot = AccountSnapshot {
                balance: account.info.balance,
                nonce: account.info.nonce,
                code_hash: account.info.code_hash,
                storage: account.storage.iter().map(|(slot, value)| (*slot, *value)).collect(),
            };
            result.insert_account(*address, snapshot);
        }
        // Timed runs of one transaction never commit, so they must start from the pre-state.
        self.reset_db();
        Ok(result)
    }

    fn prepare(&mut self) {
        self.results.clear();
        self.last_state = None;
        self.pending.clone_from(&self.txs);
        if self.txs.len() > 1 {
            self.reset_db();
        }
    }

    fn run(&mut self) -> Result<u64, EngineError> {
        if self.pending.is_empty() {
            self.pending.clone_from(&self.txs);
        }
        let last = self.pending.len().saturating_sub(1);
        let mut gas = 0;
        for (i, tx) in self.pending.drain(..).enumerate() {
            let out = self.evm.transact(tx).map_err(|e| error(format!("tx {i} rejected: {e:?}")))?;
            gas += out.result.tx_gas_used();
            if i < last {
                self.evm.commit(out.state);
            } else {
                self.last_state = Some(out.state);
            }
            self.results.push(out.result);
        }
        Ok(gas)
    }
}

fn tx_result(result: ExecutionResult<HaltReason>) -> TxResult {
    let gas_used = result.tx_gas_used();
    let logs = result
        .logs()
        .iter()
        .map(|log| LogEntry {
            address: log.address,
            topics: log.data.topics().to_vec(),
            data: log.data.data.clone(),
        })
        .collect();
    let status = match &result {
        ExecutionResult::Success { .. } => Status::Success,
        ExecutionResult::Revert { .. } => Status::Revert,
        ExecutionResult::Halt { reason, .. } => Status::Halt(format!("{reason:?}")),
    };
    TxResult::new(status, gas_used, result.into_output().unwrap_or_default(), logs)
}

/// revm's spec for a fork.
pub fn spec_of(fork: Fork) -> Result<SpecId, EngineError> {
    Ok(match fork {
        Fork::Frontier => SpecId::FRONTIER,
        Fork::Homestead => SpecId::HOMESTEAD,
        Fork::TangerineWhistle => SpecId::TANGERINE,
        Fork::SpuriousDragon => SpecId::SPURIOUS_DRAGON,
        Fork::Byzantium => SpecId::BYZANTIUM,
        Fork::Constantinople => return Err(error("revm has no Constantinople spec (only Petersburg)")),
        Fork::Petersburg => SpecId::PETERSBURG,
        Fork::Istanbul => SpecId::ISTANBUL,
        Fork::Berlin => SpecId::BERLIN,
        Fork::London => SpecId::LONDON,
        Fork::Paris => SpecId::MERGE,
        Fork::Shanghai => SpecId::SHANGHAI,
        Fork::Cancun => SpecId::CANCUN,
        Fork::Prague => SpecId::PRAGUE,
        Fork::Osaka => SpecId::OSAKA,
    })
}

/// The workload's pre-state (and block hashes) as an [`InMemoryDB`].
fn database(workload: &Workload) -> Result<InMemoryDB, EngineError> {
    use metisvm_vm::StateReader as _;
    let mut db = InMemoryDB::default();
    for (address, account) in workload.pre.accounts() {
        let info = &account.info;
        let code = match &info.code {
            Some(code) => code.clone(),
            None => {
                workload.pre.code_by_hash(info.code_hash).map_err(|e| error(format!("{address}: {e}")))?
            }
        };
        let mut revm_info = RevmAccountInfo::from_balance(info.balance).with_nonce(info.nonce);
        if !code.is_empty() {
            revm_info = revm_info.with_code_and_hash(Bytecode::new_raw(code), info.code_hash);
        }
        db.insert_account_info(*address, revm_info);
        for (slot, value) in &account.storage {
            db.insert_account_storage(*address, *slot, *value).map_err(|e| error(format!("{e:?}")))?;
        }
    }
    for (number, hash) in workload.block_hashes() {
        db.cache.block_hashes.insert(U256::from(number), hash);
    }
    Ok(db)
}

fn block_env(block: &BlockEnv, cfg: &CfgEnv) -> Result<RevmBlockEnv, EngineError> {
    let fork = cfg.fork;
    let basefee = u64::try_from(block.base_fee).map_err(|_| error("base fee over 64 bits"))?;
    let blob = block
        .excess_blob_gas
        .filter(|_| fork.is_enabled_in(Fork::Cancun))
        .map(|excess| BlobExcessGasAndPrice::new(excess, cfg.blob_schedule.update_fraction));
    Ok(RevmBlockEnv {
        number: U256::from(block.number),
        beneficiary: block.coinbase,
        timestamp: U256::from(block.timestamp),
        gas_limit: block.gas_limit,
        basefee,
        difficulty: block.difficulty,
        prevrandao: fork.is_enabled_in(Fork::Paris).then_some(block.prevrandao),
        blob_excess_gas_and_price: blob,
        ..RevmBlockEnv::default()
    })
}

fn tx_env(i: usize, tx: &TxEnv) -> Result<RevmTxEnv, EngineError> {
    if tx.tx_type > 2 {
        return Err(error(format!(
            "tx {i}: type {} transactions are not supported by the bench",
            tx.tx_type
        )));
    }
    let wide =
        |name: &str, v: U256| u128::try_from(v).map_err(|_| error(format!("tx {i}: {name} over 128 bits")));
    let access_list = AccessList(
        tx.access_list
            .iter()
            .map(|item| AccessListItem { address: item.address, storage_keys: item.storage_keys.clone() })
            .collect(),
    );
    let priority = tx.max_priority_fee_per_gas.map(|fee| wide("maxPriorityFeePerGas", fee)).transpose()?;
    RevmTxEnv::builder()
        .tx_type(Some(tx.tx_type))
        .caller(tx.caller)
        .gas_limit(tx.gas_limit)
        .gas_price(wide("gasPrice", tx.gas_price)?)
        .gas_priority_fee(priority)
        .kind(tx.to.map_or(TxKind::Create, TxKind::Call))
        .value(tx.value)
        .data(tx.data.clone())
        .nonce(tx.nonce)
        .chain_id(tx.chain_id)
        .access_list(access_list)
        .build()
        .map_err(|e| error(format!("tx {i}: {e:?}")))
}
