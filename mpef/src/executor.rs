//! The parallel run of one block: worker threads take tasks from the [`Scheduler`], execute
//! transaction incarnations against [`TxView`]s and validate them against the multi-version
//! memory, until every transaction's final incarnation is executed and valid.

use crate::mvmemory::{lock, Location, MvMemory, TxIdx, Write};
use crate::scheduler::{Scheduler, Task, Version};
use crate::view::{Interrupt, TxView, WorkerCodes};
use crate::{BlockInput, Config, MpefError, Padded, Stats, TxResult};
use metisvm_vm::{AccountChange, Address, Evm, StateReader, TxError, TxOutcome};
use std::sync::Mutex;

/// A transaction's result: executed, or rejected as invalid.
pub(crate) type TxRun = Result<TxResult, TxError>;

/// How a parallel run ended.
pub(crate) enum RunEnd {
    /// Every transaction finished: results in block order, and the memory to read the
    /// block's changes from.
    Finished(Vec<TxRun>, MvMemory),
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

/// Runs the block's transactions with Block-STM on `config.threads` workers.
pub(crate) fn run<R: StateReader + Sync>(
    base: &R,
    block: &BlockInput<'_>,
    config: &Config,
    stats: &mut Stats,
) -> Result<RunEnd, MpefError> {
    let len = block.txs.len();
    let shared = Shared {
        base,
        block,
        config,
        memory: MvMemory::new(len, block.env.coinbase),
        scheduler: Scheduler::new(len, &same_sender_predecessors(block)),
        results: (0..len).map(|_| Padded(Mutex::new(None))).collect(),
        lazy_recipients: block.txs.iter().map(|tx| lazy_recipient(block, tx)).collect(),
        failure: Mutex::new(None),
    };
    let threads = stats.threads.max(1);
    let panicked = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads).map(|_| scope.spawn(|| worker(&shared))).collect();
        let mut panicked = None;
        for handle in handles {
            match handle.join() {
                Ok(counts) => {
                    stats.executions += counts.executions;
                    stats.validations += counts.validations;
                    stats.aborts += counts.aborts;
                    stats.dependency_waits += counts.dependency_waits;
                }
                Err(payload) => {
                    shared.scheduler.halt();
                    panicked = Some(panic_message(payload.as_ref()));
                }
            }
        }
        panicked
    });
    if let Some(message) = panicked {
        return Err(MpefError::WorkerPanicked(message));
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
    Ok(RunEnd::Finished(results, shared.memory))
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
fn same_sender_predecessors(block: &BlockInput<'_>) -> Vec<Option<TxIdx>> {
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

fn worker<R: StateReader + Sync>(shared: &Shared<'_, R>) -> Counts {
    let mut evm = Evm::new();
    evm.defer_coinbase_fee(true);
    if let Some(native) = &shared.config.native {
        evm.set_native_backend(native.clone());
    }
    let codes = WorkerCodes::default();
    let mut task: Option<Task> = None;
    let mut idle_rounds = 0u32;
    let mut counts = Counts::default();
    loop {
        task = match task.take().or_else(|| shared.scheduler.next_task()) {
            Some(Task::Execute(version)) => execute(shared, &mut evm, &codes, &mut counts, version),
            Some(Task::Validate(version)) => validate(shared, &mut counts, version),
            None if shared.scheduler.done() => return counts,
            None => {
                idle_rounds += 1;
                if idle_rounds < 64 {
                    std::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
                continue;
            }
        };
        idle_rounds = 0;
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
                let writes = writes_of(&outcome, &view);
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
    let valid = match shared.memory.validate(shared.base, idx) {
        Ok(valid) => valid,
        Err(error) => return fail(shared, Failure::Error(MpefError::State { tx: idx, error })),
    };
    let aborted = !valid && shared.scheduler.try_validation_abort(version);
    if aborted {
        counts.aborts += 1;
        shared.memory.mark_estimates(idx);
    }
    shared.scheduler.finish_validation(idx, aborted)
}

/// The multi-version writes of a finished incarnation: its diff, minus accounts whose
/// fields it left as it found them, with the lazy recipient's and the coinbase's balance
/// changes as credits.
fn writes_of<R: StateReader>(outcome: &TxOutcome, view: &TxView<'_, R>) -> Vec<(Location, Write)> {
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
                    writes.push((Location::Account(address), Write::Account(Some(info.clone()))));
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
