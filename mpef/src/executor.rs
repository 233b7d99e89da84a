//! The parallel run of one block: worker threads take tasks from the [`Scheduler`], execute
//! transaction incarnations against [`TxView`]s and validate them against the multi-version
//! memory, and move the commit front, which folds each final transaction's writes into the
//! block's changes, until the front passes the last transaction.

use crate::mvmemory::{lock, AccountFields, Location, MvMemory, TxIdx, Write};
use crate::scheduler::{Scheduler, Task, Version};
use crate::view::{Interrupt, TxView, WorkerCodes};
use crate::{BlockInput, Config, MpefError, Padded, Stats, TxResult};
use metisvm_vm::{AccountChange, Address, Evm, SharedCodeCache, StateDiff, StateReader, TxError, TxOutcome};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};

/// A transaction's result: executed, or rejected as invalid.
pub(crate) type TxRun = Result<TxResult, TxError>;

/// How a parallel run ended.
pub(crate) enum RunEnd {
    /// Every transaction finished: results in block order (up to and including the first
    /// rejected one), the block's changes, and the memory to free (boxed: it is large, and
    /// moved to whichever thread frees it).
    Finished(Vec<TxRun>, StateDiff, Box<MvMemory>),
    /// A transaction needs the sequential path.
    Fallback(&'static str),
}

struct Shared<'a, R> {
    base: &'a R,
    block: &'a BlockInput<'a>,
    config: &'a Config,
    memory: MvMemory,
    scheduler: Scheduler,
    results: Vec<Padded<Mutex<Option<TxRun>>>>,
    /// Per transaction: the recipient whose balance a plain transfer only credits.
    lazy_recipients: Vec<Option<Address>>,
    failure: Mutex<Option<Failure>>,
    /// What the commit front has gathered (only its holder locks it).
    commits: Mutex<Commits>,
    /// Code analyses, made once for all workers.
    code_analyses: Arc<SharedCodeCache>,
}

/// The committed part of the block.
struct Commits {
    /// The committed transactions' writes, folded in block order.
    changes: StateDiff,
    /// The first transaction the block rejects, once committed.
    rejected: Option<TxIdx>,
}

/// A worker's own counters (summed at the end, so workers never share a counter's line).
#[derive(Default)]
struct Counts {
    executions: usize,
    validations: usize,
    aborts: usize,
    dependency_waits: usize,
}

enum Failure {
    Error(MpefError),
    Fallback(&'static str),
}

/// Runs the block's transactions with Block-STM on `config.threads` workers; `predecessors`
/// is [`same_sender_predecessors`] of the block.
pub(crate) fn run<R: StateReader + Sync>(
    base: &R,
    block: &BlockInput<'_>,
    predecessors: &[Option<TxIdx>],
    config: &Config,
    stats: &mut Stats,
) -> Result<RunEnd, MpefError> {
    let len = block.txs.len();
    let threads = stats.threads.max(1);
    let shared = Shared {
        base,
        block,
        config,
        memory: MvMemory::new(len, block.gas_limit(), block.env.coinbase),
        scheduler: Scheduler::new(len, predecessors),
        results: (0..len).map(|_| Padded(Mutex::new(None))).collect(),
        lazy_recipients: block.txs.iter().map(|tx| lazy_recipient(block, tx)).collect(),
        failure: Mutex::new(None),
        // Most transactions change two accounts (the sender, and a recipient or a
        // contract), and many share the contract.
        commits: Mutex::new(Commits {
            changes: StateDiff::with_capacity_and_hasher(len * 3 / 2, Default::default()),
            rejected: None,
        }),
        code_analyses: Arc::new(SharedCodeCache::new()),
    };
    for counts in run_workers(&shared, threads)? {
        stats.executions += counts.executions;
        stats.validations += counts.validations;
        stats.aborts += counts.aborts;
        stats.dependency_waits += counts.dependency_waits;
    }
    match shared.failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
        Some(Failure::Error(e)) => return Err(e),
        Some(Failure::Fallback(why)) => return Ok(RunEnd::Fallback(why)),
        None => {}
    }
    let Commits { changes, rejected } = shared.commits.into_inner().unwrap_or_else(|e| e.into_inner());
    let end = match rejected {
        Some(idx) => idx + 1,
        None if shared.scheduler.committed() == len => len,
        None => return Err(MpefError::Internal("the workers stopped before the last commit".into())),
    };
    let mut results = Vec::with_capacity(end);
    for (idx, slot) in shared.results.into_iter().take(end).enumerate() {
        match slot.0.into_inner().unwrap_or_else(|e| e.into_inner()) {
            Some(result) => results.push(result),
            None => return Err(MpefError::Internal(format!("transaction {idx} has no result at the end"))),
        }
    }
    Ok(RunEnd::Finished(results, changes, Box::new(shared.memory)))
}

/// Runs the `threads` workers at once: on the configured pool when it has enough threads,
/// else on threads started for this block. A worker catches its own panics (see
/// [`worker`]); one that escapes anyway is returned as an error.
fn run_workers<R: StateReader + Sync>(
    shared: &Shared<'_, R>,
    threads: usize,
) -> Result<Vec<Counts>, MpefError> {
    run_on_workers(shared.config, threads, || shared.scheduler.halt(), || worker(shared))
}

/// Runs `work` on `threads` threads at once and returns what each returned: on
/// `config`'s pool when it has enough free threads, else on threads started here. A panic
/// that escapes `work` calls `halt` (so the others stop waiting) and becomes
/// [`MpefError::WorkerPanicked`]. Both strategies run their workers through this.
pub(crate) fn run_on_workers<C: Send>(
    config: &Config,
    threads: usize,
    halt: impl Fn() + Sync,
    work: impl Fn() -> C + Sync,
) -> Result<Vec<C>, MpefError> {
    if let Some(pool) = &config.pool {
        let ran = std::panic::catch_unwind(AssertUnwindSafe(|| pool.run_each(threads, |_| work())));
        match ran {
            Ok(Some(ends)) => return Ok(ends),
            Ok(None) => {}
            Err(payload) => return Err(MpefError::WorkerPanicked(panic_message(payload.as_ref()))),
        }
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads).map(|_| scope.spawn(&work)).collect();
        let mut ends = Vec::with_capacity(threads);
        let mut panicked = None;
        for handle in handles {
            match handle.join() {
                Ok(end) => ends.push(end),
                Err(payload) => {
                    halt();
                    panicked = Some(panic_message(payload.as_ref()));
                }
            }
        }
        match panicked {
            Some(message) => Err(MpefError::WorkerPanicked(message)),
            None => Ok(ends),
        }
    })
}

/// A worker's interpreter: coinbase fees deferred, code analyses shared with the block's
/// other workers, and the configured compiled code.
pub(crate) fn worker_evm(config: &Config, code_analyses: &Arc<SharedCodeCache>) -> Evm {
    let mut evm = Evm::new();
    evm.defer_coinbase_fee(true);
    evm.share_code_analyses(code_analyses.clone());
    if let Some(native) = &config.native {
        evm.set_native_backend(native.clone());
    }
    evm
}

pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a worker thread panicked".to_string()
    }
}

/// For each transaction, the previous transaction of the same sender, if any.
pub(crate) fn same_sender_predecessors(block: &BlockInput<'_>) -> Vec<Option<TxIdx>> {
    let mut last: hashbrown::HashMap<Address, TxIdx> = hashbrown::HashMap::new();
    block.txs.iter().enumerate().map(|(i, tx)| last.insert(tx.caller, i)).collect()
}

/// The recipient of a top-level value transfer whose balance the transaction only credits,
/// when nothing else in it can read that balance: a value-carrying call that is not to the
/// sender, the coinbase or a precompile, and sets no EIP-7702 code. Whether the recipient
/// has code is decided during execution (see `TxView::account`).
fn lazy_recipient(block: &BlockInput<'_>, tx: &metisvm_vm::TxEnv) -> Option<Address> {
    let to = tx.to?;
    let simple = !tx.value.is_zero()
        && tx.authorization_list.is_none()
        && to != tx.caller
        && to != block.env.coinbase
        && !metisvm_vm::precompiles::is_precompile(&to, block.cfg.fork);
    simple.then_some(to)
}

/// One worker: tasks until the block is done (or failed). A panic in a task is caught and
/// becomes the run's failure, so the other workers stop instead of waiting for its
/// transaction forever.
fn worker<R: StateReader + Sync>(shared: &Shared<'_, R>) -> Counts {
    let mut counts = Counts::default();
    let ran = std::panic::catch_unwind(AssertUnwindSafe(|| run_tasks(shared, &mut counts)));
    if let Err(payload) = ran {
        fail(shared, Failure::Error(MpefError::WorkerPanicked(panic_message(payload.as_ref()))));
    }
    counts
}

fn run_tasks<R: StateReader + Sync>(shared: &Shared<'_, R>, counts: &mut Counts) {
    let mut evm = worker_evm(shared.config, &shared.code_analyses);
    let codes = WorkerCodes::default();
    let mut task: Option<Task> = None;
    let mut idle = Backoff::default();
    loop {
        task = match task.take().or_else(|| shared.scheduler.next_task()) {
            Some(Task::Execute(version)) => execute(shared, &mut evm, &codes, counts, version),
            Some(Task::Validate(version)) => validate(shared, counts, version),
            None if shared.scheduler.done() => return,
            None => {
                idle.wait();
                continue;
            }
        };
        idle = Backoff::default();
    }
}

/// Waiting for other workers: spin briefly, then give the core away.
#[derive(Default)]
pub(crate) struct Backoff(u32);

impl Backoff {
    pub(crate) fn wait(&mut self) {
        self.0 += 1;
        if self.0 < 64 {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}

fn fail(shared: &Shared<'_, impl StateReader>, failure: Failure) -> Option<Task> {
    let mut slot = lock(&shared.failure);
    if slot.is_none() {
        *slot = Some(failure);
    }
    shared.scheduler.halt();
    None
}

fn execute<R: StateReader + Sync>(
    shared: &Shared<'_, R>,
    evm: &mut Evm,
    codes: &WorkerCodes,
    counts: &mut Counts,
    (idx, incarnation): Version,
) -> Option<Task> {
    let block = shared.block;
    let tx = &block.txs[idx];
    loop {
        counts.executions += 1;
        let view = TxView::new(&shared.memory, shared.base, idx, shared.lazy_recipients[idx], codes);
        let result = evm.transact(&view, block.env, block.cfg, tx);
        match view.interrupt() {
            Some(Interrupt::Blocked(blocking)) => {
                if shared.scheduler.add_dependency(idx, blocking) {
                    counts.dependency_waits += 1;
                    return None;
                }
                continue;
            }
            Some(Interrupt::Fallback(why)) => return fail(shared, Failure::Fallback(why)),
            None => {}
        }
        let (result, writes) = match result {
            Ok(outcome) => {
                let writes = writes_of(&outcome, &view, &shared.memory);
                (Ok(TxResult::of(outcome)), writes)
            }
            Err(TxError::State(e)) if !view.is_interruption(&e) => {
                return fail(shared, Failure::Error(MpefError::State { tx: idx, error: e }));
            }
            Err(e) => (Err(e), Vec::new()),
        };
        *lock(&shared.results[idx]) = Some(result);
        let wrote_new = shared.memory.record(idx, view.into_reads(), writes);
        return shared.scheduler.finish_execution(idx, incarnation, wrote_new);
    }
}

fn validate<R: StateReader + Sync>(
    shared: &Shared<'_, R>,
    counts: &mut Counts,
    version: Version,
) -> Option<Task> {
    counts.validations += 1;
    let (idx, _) = version;
    let started = shared.scheduler.validation_clock();
    let valid = match shared.memory.validate(shared.base, idx) {
        Ok(valid) => valid,
        Err(error) => return fail(shared, Failure::Error(MpefError::State { tx: idx, error })),
    };
    if valid {
        shared.scheduler.validated(version, started);
        return commit(shared, counts);
    }
    let aborted = shared.scheduler.try_validation_abort(version);
    if aborted {
        abort(shared, counts, idx);
    }
    shared.scheduler.finish_validation(idx, aborted)
}

fn abort<R: StateReader + Sync>(shared: &Shared<'_, R>, counts: &mut Counts, idx: TxIdx) {
    counts.aborts += 1;
    shared.memory.mark_estimates(idx);
}

/// A turn at the commit front (see [`Scheduler::try_commit`]): each transaction committed
/// has its writes folded into the block's changes now, while they are likely still in
/// this core's cache (its validation just read the same records).
fn commit<R: StateReader + Sync>(shared: &Shared<'_, R>, counts: &mut Counts) -> Option<Task> {
    let error = std::cell::Cell::new(None);
    let revalidations = &mut counts.validations;
    let aborted = shared.scheduler.try_commit(
        |(idx, _)| {
            *revalidations += 1;
            shared.memory.validate(shared.base, idx).unwrap_or_else(|e| {
                error.set(Some(MpefError::State { tx: idx, error: e }));
                false
            })
        },
        |idx| {
            // Only the gate's holder locks it, so this never waits.
            let mut commits = lock(&shared.commits);
            if matches!(*lock(&shared.results[idx]), Some(Err(_))) {
                commits.rejected = Some(idx);
                return true;
            }
            for (location, write) in shared.memory.take_writes(idx) {
                if let Err(e) = shared.memory.fold_write(shared.base, &mut commits.changes, location, write) {
                    error.set(Some(MpefError::State { tx: idx, error: e }));
                    return true;
                }
            }
            false
        },
    );
    if let Some(error) = error.into_inner() {
        return fail(shared, Failure::Error(error));
    }
    let idx = aborted?;
    abort(shared, counts, idx);
    shared.scheduler.finish_validation(idx, true)
}

/// The multi-version writes of a finished incarnation: its diff, minus accounts whose
/// fields it left as it found them, with the lazy recipient's and the coinbase's balance
/// changes as credits.
fn writes_of<R: StateReader>(
    outcome: &TxOutcome,
    view: &TxView<'_, R>,
    memory: &MvMemory,
) -> Vec<(Location, Write)> {
    let lazy = view.lazy_recipient_used();
    let mut writes = Vec::with_capacity(outcome.diff.len() * 2 + 1);
    for (address, change) in &outcome.diff {
        let address = *address;
        match change {
            // Deleting an account that did not exist before the transaction changes nothing.
            AccountChange::Deleted if view.observed(&address) == Some(None) => {}
            AccountChange::Deleted => {
                writes.push((Location::Account(address), Write::Account(None)));
                writes.push((Location::CodeHash(address), Write::CodeHash(metisvm_vm::KECCAK_EMPTY)));
                writes.push((Location::StorageReset(address), Write::StorageReset));
            }
            AccountChange::Updated { info, storage_cleared, storage } => {
                if lazy == Some(address) {
                    // The lazy recipient, read as an empty account: what it gained is a credit.
                    writes.push((Location::Account(address), Write::Credit(info.balance)));
                    continue;
                }
                let seen = view.observed(&address).flatten();
                let unchanged = !*storage_cleared && seen == Some((info.balance, info.nonce, info.code_hash));
                if !unchanged {
                    if seen.is_none_or(|(_, _, code_hash)| code_hash != info.code_hash) {
                        // New code: filed by hash for later readers. Code the account had
                        // when read is already where they look.
                        if let Some(code) = &info.code {
                            memory.add_code(info.code_hash, code.clone());
                        }
                        writes.push((Location::CodeHash(address), Write::CodeHash(info.code_hash)));
                    }
                    writes.push((Location::Account(address), Write::Account(Some(AccountFields::of(info)))));
                }
                if *storage_cleared {
                    writes.push((Location::StorageReset(address), Write::StorageReset));
                }
                for (slot, value) in storage {
                    writes.push((Location::Storage(address, *slot), Write::Storage(*value)));
                }
            }
        }
    }
    if let Some(fee) = outcome.coinbase_fee {
        // The interpreter defers the fee only when the transaction never read the coinbase,
        // so the diff has no entry for it.
        writes.push((Location::CoinbaseFee, Write::Credit(fee)));
    }
    writes
}
