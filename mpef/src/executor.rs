//! The parallel run of one block: worker threads take tasks from the [`Scheduler`], execute
//! transaction incarnations against [`TxView`]s and validate them against the multi-version
//! memory, until every transaction's final incarnation is executed and valid.

use crate::mvmemory::{lock, owner, Location, MvMemory, TxIdx, Write};
use crate::scheduler::{Scheduler, Task, Version, Worker};
use crate::view::{Interrupt, TxView, WorkerCodes};
use crate::{BlockInput, Config, MpefError, Padded, Stats, TxResult};
use metisvm_vm::{
    AccountChange, Address, Evm, SharedCodeCache, StateDiff, StateError, StateReader, TxError, TxOutcome,
};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Final writes, in block order.
type Writes = Vec<(Location, Write)>;

/// A transaction's result: executed, or rejected as invalid.
pub(crate) type TxRun = Result<TxResult, TxError>;

/// How a parallel run ended.
pub(crate) enum RunEnd {
    /// Every transaction finished: results in block order, the block's changes in disjoint
    /// parts (one per worker), and the memory to free (boxed: it is large, and moved to
    /// whichever thread frees it).
    Finished(Vec<TxRun>, Vec<StateDiff>, Box<MvMemory>),
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
    /// Where the block's included transactions end (the first rejected one, or all), known
    /// once every transaction is final.
    end: OnceLock<TxIdx>,
    /// Per worker: the final writes of its range of transactions, sorted by the worker that
    /// owns their account (see [`gather_changes`]).
    sorted_writes: Vec<Padded<Mutex<Vec<Writes>>>>,
    /// Workers that have sorted their range (or given up on a failed run).
    sorted: AtomicUsize,
    /// Code analyses, made once for all workers.
    code_analyses: Arc<SharedCodeCache>,
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
        scheduler: Scheduler::new(len, predecessors, threads),
        results: (0..len).map(|_| Padded(Mutex::new(None))).collect(),
        lazy_recipients: block.txs.iter().map(|tx| lazy_recipient(block, tx)).collect(),
        failure: Mutex::new(None),
        end: OnceLock::new(),
        sorted_writes: (0..threads).map(|_| Padded(Mutex::new(Vec::new()))).collect(),
        sorted: AtomicUsize::new(0),
        code_analyses: Arc::new(SharedCodeCache::new()),
    };
    let mut parts = Vec::with_capacity(threads);
    for (counts, part) in run_workers(&shared, threads)? {
        stats.executions += counts.executions;
        stats.validations += counts.validations;
        stats.aborts += counts.aborts;
        stats.dependency_waits += counts.dependency_waits;
        parts.push(part);
    }
    match shared.failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
        Some(Failure::Error(e)) => return Err(e),
        Some(Failure::Fallback(why)) => return Ok(RunEnd::Fallback(why)),
        None => {}
    }
    let mut results = Vec::with_capacity(len);
    for (idx, slot) in shared.results.into_iter().enumerate() {
        match slot.0.into_inner().unwrap_or_else(|e| e.into_inner()) {
            Some(result) => results.push(result),
            None => return Err(MpefError::Internal(format!("transaction {idx} has no result at the end"))),
        }
    }
    let mut changes = Vec::with_capacity(threads);
    for part in parts {
        match part {
            Some(Ok(diff)) => changes.push(diff),
            Some(Err(error)) => {
                return Err(MpefError::State { tx: shared.end.get().copied().unwrap_or(len), error })
            }
            None => {
                return Err(MpefError::Internal("a worker finished without its part of the changes".into()))
            }
        }
    }
    Ok(RunEnd::Finished(results, changes, Box::new(shared.memory)))
}

/// What one worker hands back: its counters and its part of the block's changes.
type WorkerEnd = (Counts, Option<Result<StateDiff, StateError>>);

/// Runs the `threads` workers at once: on the configured pool when it has enough threads,
/// else on threads started for this block. A worker catches its own panics (see
/// [`worker`]); one that escapes anyway is returned as an error.
fn run_workers<R: StateReader + Sync>(
    shared: &Shared<'_, R>,
    threads: usize,
) -> Result<Vec<WorkerEnd>, MpefError> {
    if let Some(pool) = &shared.config.pool {
        let ran = std::panic::catch_unwind(AssertUnwindSafe(|| {
            pool.run_each(threads, |part| worker(shared, part, threads))
        }));
        match ran {
            Ok(Some(ends)) => return Ok(ends),
            Ok(None) => {}
            Err(payload) => return Err(MpefError::WorkerPanicked(panic_message(payload.as_ref()))),
        }
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> =
            (0..threads).map(|part| scope.spawn(move || worker(shared, part, threads))).collect();
        let mut ends = Vec::with_capacity(threads);
        let mut panicked = None;
        for handle in handles {
            match handle.join() {
                Ok(end) => ends.push(end),
                Err(payload) => {
                    shared.scheduler.halt();
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

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
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

/// One worker: tasks until the block is done, then its part of the block's changes (`None`
/// when the run failed or falls back). A panic in a task is caught and becomes the run's
/// failure, so the other workers stop instead of waiting for its transaction forever.
fn worker<R: StateReader + Sync>(shared: &Shared<'_, R>, part: usize, parts: usize) -> WorkerEnd {
    let mut counts = Counts::default();
    let ran = std::panic::catch_unwind(AssertUnwindSafe(|| run_tasks(shared, part, &mut counts)));
    if let Err(payload) = ran {
        fail(shared, Failure::Error(MpefError::WorkerPanicked(panic_message(payload.as_ref()))));
    }
    (counts, gather_changes(shared, part, parts))
}

fn run_tasks<R: StateReader + Sync>(shared: &Shared<'_, R>, worker: Worker, counts: &mut Counts) {
    let mut evm = Evm::new();
    evm.defer_coinbase_fee(true);
    evm.share_code_analyses(shared.code_analyses.clone());
    if let Some(native) = &shared.config.native {
        evm.set_native_backend(native.clone());
    }
    let codes = WorkerCodes::default();
    let mut task: Option<Task> = None;
    let mut idle = Backoff::default();
    loop {
        task = match task.take().or_else(|| shared.scheduler.next_task(worker)) {
            Some(Task::Execute(version)) => execute(shared, worker, &mut evm, &codes, counts, version),
            Some(Task::Validate(version)) => validate(shared, worker, counts, version),
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
struct Backoff(u32);

impl Backoff {
    fn wait(&mut self) {
        self.0 += 1;
        if self.0 < 64 {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}

/// Builds worker `part`'s share of the block's changes, in two steps every worker takes at
/// once:
///
/// 1. it moves the final writes of its own range of transactions out of the memory and
///    sorts them by the worker that owns their account ([`owner`]), keeping block order;
/// 2. once every worker has sorted, it folds the writes to the accounts it owns, range by
///    range (so still in block order), into a diff.
///
/// No step reads what another worker is still writing, and the parts are disjoint by
/// account.
fn gather_changes<R: StateReader + Sync>(
    shared: &Shared<'_, R>,
    part: usize,
    parts: usize,
) -> Option<Result<StateDiff, StateError>> {
    // Tasks are over: either every transaction is final, or the run failed (and the
    // failure was recorded before the scheduler halted).
    let finished = lock(&shared.failure).is_none();
    if finished {
        let end = *shared.end.get_or_init(|| {
            let results = &shared.results;
            results.iter().position(|slot| matches!(*lock(slot), Some(Err(_)))).unwrap_or(results.len())
        });
        let range = end * part / parts..end * (part + 1) / parts;
        let mut sorted: Vec<Writes> =
            (0..parts).map(|_| Vec::with_capacity(3 * range.len() / parts + 4)).collect();
        for idx in range {
            for (location, write) in shared.memory.take_writes(idx) {
                sorted[owner(&shared.memory.account_of(&location), parts)].push((location, write));
            }
        }
        *lock(&shared.sorted_writes[part]) = sorted;
    }
    shared.sorted.fetch_add(1, Ordering::AcqRel);
    if !finished {
        return None;
    }
    let mut idle = Backoff::default();
    while shared.sorted.load(Ordering::Acquire) < parts {
        idle.wait();
    }
    let mine: Vec<Writes> = shared
        .sorted_writes
        .iter()
        .map(|sorted| lock(sorted).get_mut(part).map(std::mem::take).unwrap_or_default())
        .collect();
    // Most accounts take more than one write (a transfer's sender takes its own and the
    // fee's; a contract takes several slots).
    let accounts_hint = mine.iter().map(Vec::len).sum::<usize>() / 2;
    Some(shared.memory.fold_changes(shared.base, mine.into_iter().flatten(), accounts_hint))
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
    worker: Worker,
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
                if shared.scheduler.add_dependency(worker, idx, blocking) {
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
        return shared.scheduler.finish_execution(worker, idx, incarnation, wrote_new);
    }
}

fn validate<R: StateReader + Sync>(
    shared: &Shared<'_, R>,
    worker: Worker,
    counts: &mut Counts,
    version: Version,
) -> Option<Task> {
    counts.validations += 1;
    let (idx, _) = version;
    let valid = match shared.memory.validate(shared.base, idx) {
        Ok(valid) => valid,
        Err(error) => return fail(shared, Failure::Error(MpefError::State { tx: idx, error })),
    };
    let aborted = !valid && shared.scheduler.try_validation_abort(version);
    if aborted {
        counts.aborts += 1;
        shared.memory.mark_estimates(idx);
    }
    shared.scheduler.finish_validation(worker, idx, aborted)
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
                        writes.push((Location::CodeHash(address), Write::CodeHash(info.code_hash)));
                    }
                    let mut info = info.clone();
                    if let Some(code) = info.code.take() {
                        memory.add_code(info.code_hash, code);
                    }
                    writes.push((Location::Account(address), Write::Account(Some(Arc::new(info)))));
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
