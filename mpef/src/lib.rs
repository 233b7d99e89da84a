//! MPEF, MetisVM's parallel execution framework: a block's transactions run speculatively on
//! several threads with Block-STM, and the outcome is exactly that of running them in order.
//!
//! - [`execute_block`] runs a block's transactions over a pre-block state (any
//!   [`StateReader`] that threads can share: a MetisDB [`Snapshot`](metisvm_state::Snapshot),
//!   an [`Overlay`] on one, a [`MemoryState`](metisvm_state::MemoryState)) and returns
//!   per-transaction results, receipts and the block's state changes. [`Mode`] picks the
//!   parallel path, the plain sequential one it must equal, or the adaptive choice between
//!   them per block ([`cannot_gain`]).
//! - [`build_block`] is the node-facing entry: a MetisDB, a block environment and
//!   transactions in, receipts, changes and the new state root (a new MetisDB version) out.
//! - [`synthetic`] generates benchmark blocks with a tunable share of conflicting
//!   transactions.
//!
//! Inside: [`mvmemory`] (values by exact location and transaction), [`scheduler`] (which
//! incarnation to execute or validate next, with the invariants written out), `view` (the
//! state one incarnation reads, recording what it read) and `executor` (the workers). A
//! second parallel strategy, optimistic runs (`runs`, [`Strategy::Runs`]), executes runs of
//! consecutive transactions over the pre-block state and checks them on an in-order commit
//! front; it carries far less bookkeeping per transaction and wins on few cores.
//!
//! Two EVM-specific measures keep common blocks parallel: the coinbase's priority fees and
//! the recipient of a plain value transfer are credited lazily (no transaction reads the
//! balance it adds to), and a sender's later transactions start parked on its earlier ones.
//! A block whose transactions need something the parallel run cannot answer exactly (the
//! EIP-7610 storage check of an account written earlier in the block, as when a contract is
//! destroyed and re-created) runs sequentially instead; [`Stats::fallback`] says so.

mod builder;
mod executor;
mod locations;
pub mod mvmemory;
mod pool;
mod runs;
pub mod scheduler;
pub mod synthetic;
mod view;

pub use builder::{build_block, BuildError, BuiltBlock};
pub use pool::{PoolError, WorkerPool};

use metisvm_state::Overlay;
use metisvm_vm::interpreter::native::NativeBackend;
use metisvm_vm::{
    Address, BlockEnv, Bytes, CfgEnv, Evm, ExecStatus, Log, StateDiff, StateError, StateReader, TxEnv,
    TxError, TxOutcome,
};
use std::sync::Arc;

/// How to run a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One transaction after another on one thread: the reference.
    Sequential,
    /// Block-STM on this many worker threads (at least one).
    Parallel(usize),
    /// Block-STM on this many worker threads, unless a look at the block before running it
    /// shows that it cannot gain (see [`cannot_gain`]): then sequentially, and
    /// [`Stats::sequential`] says why.
    Adaptive(usize),
}

/// Blocks whose transactions together may use less gas than this run sequentially in
/// [`Mode::Adaptive`]: waking the workers and the per-transaction records cost more than
/// the block's execution. (Measured on the mainnet blocks; see `docs/mpef.md`.)
pub const MIN_PARALLEL_GAS: u64 = 2_000_000;

/// In [`Mode::Adaptive`], a block runs in parallel only when its transactions number at least
/// this many times its longest chain of one sender's transactions. A sender's transactions
/// run one after another whatever the threads (each needs the nonce the previous one
/// leaves), so the block takes at least that chain's time; below this ratio the parallel
/// run's fixed costs outweigh what the rest can overlap.
pub const MIN_CHAIN_RATIO: usize = 2;

/// Why `block` cannot gain from running on `threads` workers, judged from its transactions
/// alone; `None` when it may. A single transaction, one worker, too little gas (below
/// [`MIN_PARALLEL_GAS`] in all), or one sender's chain of transactions making up more than
/// 1 / [`MIN_CHAIN_RATIO`] of the block.
pub fn cannot_gain(block: &BlockInput<'_>, threads: usize) -> Option<&'static str> {
    cannot_gain_with(block, threads, &executor::same_sender_predecessors(block))
}

/// [`cannot_gain`] with the block's same-sender predecessors already found (the parallel run
/// needs them too).
fn cannot_gain_with(
    block: &BlockInput<'_>,
    threads: usize,
    predecessors: &[Option<usize>],
) -> Option<&'static str> {
    if threads < 2 {
        return Some("one worker");
    }
    if block.txs.len() < 2 {
        return Some("one transaction");
    }
    if block.gas_limit() < MIN_PARALLEL_GAS {
        return Some("too little gas");
    }
    // Each transaction's place in its sender's chain, from the one before it.
    let mut place = vec![0usize; predecessors.len()];
    let mut longest = 0;
    for (i, before) in predecessors.iter().enumerate() {
        place[i] = before.map_or(1, |b| place[b] + 1);
        longest = longest.max(place[i]);
    }
    if block.txs.len() < MIN_CHAIN_RATIO * longest {
        return Some("one sender's chain");
    }
    None
}

/// How the workers of a parallel block share its transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Block-STM: transactions are scheduled one at a time over multi-version memory;
    /// conflicting ones are re-executed in parallel (`executor.rs`, `scheduler.rs`).
    #[default]
    BlockStm,
    /// Optimistic runs: each worker executes runs of consecutive transactions over the
    /// pre-block state, and an in-order commit front checks every read and re-executes the
    /// transactions that read a stale value (`runs.rs`). Far less bookkeeping per
    /// transaction, so it wins on few cores and blocks with few conflicts; conflicts are
    /// resolved serially, so Block-STM scales further and handles hot contracts better.
    Runs,
}

impl std::fmt::Display for Strategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Strategy::BlockStm => "block-stm",
            Strategy::Runs => "runs",
        })
    }
}

impl std::str::FromStr for Strategy {
    type Err = String;

    /// `block-stm` or `runs`, as [`Strategy`]'s `Display` writes them.
    fn from_str(name: &str) -> Result<Strategy, String> {
        match name {
            "block-stm" => Ok(Strategy::BlockStm),
            "runs" => Ok(Strategy::Runs),
            other => Err(format!("unknown strategy `{other}` (expected `block-stm` or `runs`)")),
        }
    }
}

/// Execution settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Sequential or parallel.
    pub mode: Mode,
    /// How a parallel block is run.
    pub strategy: Strategy,
    /// Compiled code to run where it has some (the JIT); shared by every worker.
    pub native: Option<Arc<dyn NativeBackend>>,
    /// Threads to run parallel blocks on; without one (or with too few threads), each
    /// block starts and ends its own workers.
    pub pool: Option<Arc<WorkerPool>>,
}

impl Config {
    /// Sequential execution, interpreter only.
    pub fn sequential() -> Config {
        Config { mode: Mode::Sequential, strategy: Strategy::BlockStm, native: None, pool: None }
    }

    /// Parallel execution on `threads` workers, interpreter only.
    pub fn parallel(threads: usize) -> Config {
        Config {
            mode: Mode::Parallel(threads.max(1)),
            strategy: Strategy::BlockStm,
            native: None,
            pool: None,
        }
    }

    /// Parallel execution on `threads` workers for blocks that can gain from it, sequential
    /// for the others ([`Mode::Adaptive`]), interpreter only.
    pub fn adaptive(threads: usize) -> Config {
        Config {
            mode: Mode::Adaptive(threads.max(1)),
            strategy: Strategy::BlockStm,
            native: None,
            pool: None,
        }
    }

    /// These settings, running parallel blocks with `strategy`.
    pub fn with_strategy(mut self, strategy: Strategy) -> Config {
        self.strategy = strategy;
        self
    }

    /// These settings, running parallel blocks on `pool`'s threads.
    pub fn with_pool(mut self, pool: Arc<WorkerPool>) -> Config {
        self.pool = Some(pool);
        self
    }

    /// These settings, running compiled code from `native` where it has some.
    pub fn with_native(mut self, native: Arc<dyn NativeBackend>) -> Config {
        self.native = Some(native);
        self
    }
}

/// A block to execute: its environment, the rules, and its transactions in order.
#[derive(Debug, Clone, Copy)]
pub struct BlockInput<'a> {
    /// Number, coinbase, timestamp, base fee ...
    pub env: &'a BlockEnv,
    /// Fork and chain id.
    pub cfg: &'a CfgEnv,
    /// The transactions, senders recovered.
    pub txs: &'a [TxEnv],
}

impl BlockInput<'_> {
    /// The sum of the transactions' gas limits: the most gas the block can spend.
    pub fn gas_limit(&self) -> u64 {
        self.txs.iter().fold(0u64, |sum, tx| sum.saturating_add(tx.gas_limit))
    }
}

/// What one executed transaction produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxResult {
    /// How execution ended.
    pub status: ExecStatus,
    /// Gas charged to the sender.
    pub gas_used: u64,
    /// Gas refunded.
    pub gas_refunded: u64,
    /// Return or revert data.
    pub output: Bytes,
    /// Logs (empty unless successful).
    pub logs: Vec<Log>,
    /// The created contract, for a successful creation.
    pub created_address: Option<Address>,
}

impl TxResult {
    fn of(outcome: TxOutcome) -> TxResult {
        TxResult {
            status: outcome.status,
            gas_used: outcome.gas_used,
            gas_refunded: outcome.gas_refunded,
            output: outcome.output,
            logs: outcome.logs,
            created_address: outcome.created_address,
        }
    }
}

/// A transaction's receipt fields ([EIP-658](https://eips.ethereum.org/EIPS/eip-658) status
/// form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// [EIP-2718](https://eips.ethereum.org/EIPS/eip-2718) type.
    pub tx_type: u8,
    /// Whether execution succeeded.
    pub success: bool,
    /// Gas used in the block up to and including this transaction.
    pub cumulative_gas_used: u64,
    /// Logs.
    pub logs: Vec<Log>,
}

/// The first transaction the block could not include.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// Its position in the block.
    pub index: usize,
    /// Why it is invalid.
    pub error: TxError,
}

/// Counters of one run, for reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Worker threads (1 for sequential execution).
    pub threads: usize,
    /// Transaction executions started, re-executions included.
    pub executions: usize,
    /// Validations run.
    pub validations: usize,
    /// Incarnations aborted by a failed validation.
    pub aborts: usize,
    /// Executions stopped to wait for a lower transaction.
    pub dependency_waits: usize,
    /// Why the block ran sequentially after a parallel attempt, if it did.
    pub fallback: Option<&'static str>,
    /// Why [`Mode::Adaptive`] ran the block sequentially without trying it in parallel, if
    /// it did (see [`cannot_gain`]).
    pub sequential: Option<&'static str>,
}

/// The result of executing a block.
#[derive(Debug, Clone)]
pub struct BlockOutput {
    /// Results of the included transactions, in order: all of them, or those before
    /// [`BlockOutput::rejected`].
    pub txs: Vec<TxResult>,
    /// The first invalid transaction; the block is invalid, and `changes` stop before it.
    pub rejected: Option<Rejected>,
    /// The state changes of the included transactions, one entry per account.
    pub changes: StateDiff,
    /// Counters.
    pub stats: Stats,
}

impl BlockOutput {
    /// Receipts of the included transactions; `txs` gives their types.
    pub fn receipts(&self, txs: &[TxEnv]) -> Vec<Receipt> {
        let mut cumulative = 0u64;
        self.txs
            .iter()
            .zip(txs)
            .map(|(r, tx)| {
                cumulative = cumulative.saturating_add(r.gas_used);
                Receipt {
                    tx_type: tx.tx_type,
                    success: r.status.is_success(),
                    cumulative_gas_used: cumulative,
                    logs: r.logs.clone(),
                }
            })
            .collect()
    }

    /// Gas used by the included transactions.
    pub fn gas_used(&self) -> u64 {
        self.txs.iter().map(|t| t.gas_used).fold(0, u64::saturating_add)
    }
}

/// Why a block could not be executed (bad transactions are not errors: see
/// [`BlockOutput::rejected`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MpefError {
    /// The pre-block store failed to answer a read.
    #[error("transaction {tx}: {error}")]
    State {
        /// The transaction that was reading.
        tx: usize,
        /// The store's error.
        error: StateError,
    },
    /// A worker thread panicked (a bug); the block's result is unknown.
    #[error("a parallel worker panicked: {0}")]
    WorkerPanicked(String),
    /// The executor broke one of its own invariants (a bug).
    #[error("parallel executor invariant broken: {0}")]
    Internal(String),
}

/// Executes `block`'s transactions over `base`, in parallel or sequentially per `config`.
/// Both paths give the same results and changes.
pub fn execute_block<R: StateReader + Sync>(
    base: &R,
    block: &BlockInput<'_>,
    config: &Config,
) -> Result<BlockOutput, MpefError> {
    let threads = match config.mode {
        Mode::Sequential => return execute_sequential(base, block, config),
        Mode::Parallel(threads) | Mode::Adaptive(threads) => threads,
    };
    let predecessors = executor::same_sender_predecessors(block);
    if matches!(config.mode, Mode::Adaptive(_)) {
        if let Some(why) = cannot_gain_with(block, threads, &predecessors) {
            let mut output = execute_sequential(base, block, config)?;
            output.stats.sequential = Some(why);
            return Ok(output);
        }
    }
    let mut stats = Stats { threads: threads.max(1), ..Stats::default() };
    if config.strategy == Strategy::Runs {
        let (txs, rejected, changes) = runs::run(base, block, config, &mut stats)?;
        return Ok(BlockOutput { txs, rejected, changes, stats });
    }
    match executor::run(base, block, &predecessors, config, &mut stats)? {
        executor::RunEnd::Finished(results, changes, memory) => {
            let (txs, rejected) = split_rejected(results);
            match &config.pool {
                Some(pool) => pool.drop_later(memory),
                None => drop_in_background(memory),
            }
            Ok(BlockOutput { txs, rejected, changes, stats })
        }
        executor::RunEnd::Fallback(why) => {
            let mut output = execute_sequential(base, block, config)?;
            stats.executions += output.stats.executions;
            stats.fallback = Some(why);
            output.stats = stats;
            Ok(output)
        }
    }
}

/// Results in block order, up to and including the first rejected transaction, as the
/// included transactions' results and the rejection.
fn split_rejected(results: Vec<executor::TxRun>) -> (Vec<TxResult>, Option<Rejected>) {
    let mut txs = Vec::with_capacity(results.len());
    for (index, result) in results.into_iter().enumerate() {
        match result {
            Ok(r) => txs.push(r),
            Err(error) => return (txs, Some(Rejected { index, error })),
        }
    }
    (txs, None)
}

/// A value alone on its cache line. Per-transaction records sit in vectors indexed by
/// transaction, and workers run neighbouring transactions at once: unpadded, their locks
/// would share cache lines that bounce between cores on every access.
#[repr(align(64))]
#[derive(Debug, Default)]
pub(crate) struct Padded<T>(pub(crate) T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Frees the multi-version memory on another thread: it holds an allocation per location
/// written, and freeing them is no part of the block's result.
fn drop_in_background(memory: Box<mvmemory::MvMemory>) {
    let spawned = std::thread::Builder::new().name("mpef-free".to_string()).spawn(move || drop(memory));
    // Without a thread, the caller frees it.
    drop(spawned);
}

/// Executes `block`'s transactions one after another over `base`.
pub fn execute_sequential<R: StateReader>(
    base: &R,
    block: &BlockInput<'_>,
    config: &Config,
) -> Result<BlockOutput, MpefError> {
    let mut evm = Evm::new();
    if let Some(native) = &config.native {
        evm.set_native_backend(native.clone());
    }
    // Most transactions change two accounts (the sender, and a recipient or a contract).
    let mut overlay = Overlay::with_capacity(base, 2 * block.txs.len());
    let mut txs = Vec::with_capacity(block.txs.len());
    let mut rejected = None;
    for (index, tx) in block.txs.iter().enumerate() {
        match evm.transact(&overlay, block.env, block.cfg, tx) {
            Ok(mut outcome) => {
                overlay.commit_owned(std::mem::take(&mut outcome.diff));
                txs.push(TxResult::of(outcome));
            }
            Err(TxError::State(error)) => return Err(MpefError::State { tx: index, error }),
            Err(error) => {
                rejected = Some(Rejected { index, error });
                break;
            }
        }
    }
    let stats =
        Stats { threads: 1, executions: txs.len() + usize::from(rejected.is_some()), ..Stats::default() };
    Ok(BlockOutput { txs, rejected, changes: overlay.into_diff(), stats })
}
