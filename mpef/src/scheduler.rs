//! The collaborative scheduler of Block-STM: which transaction incarnation to execute, and
//! which to validate, next.
//!
//! # How it works, and what it guarantees
//!
//! Every transaction has a status (ready, executing, executed, aborting) and an incarnation
//! number, packed in one atomic word on the transaction's own cache line. Two shared
//! counters sweep upwards through the block:
//! `execution_idx`, the lowest transaction that may still need executing, and
//! `validation_idx`, the lowest that may still need validating. A worker asking for work
//! takes a validation task when `validation_idx` is behind `execution_idx` (validating low
//! transactions first keeps aborts cheap), and an execution task otherwise (or when the
//! validation it claimed does not exist); it claims an index with `fetch_add`, and the task
//! exists only if that transaction's status fits (ready for execution, executed for
//! validation).
//!
//! The invariants:
//!
//! 1. **Nothing is lost behind a counter.** Whenever a transaction below a counter comes to
//!    need work again, the counter is lowered to it (`fetch_min`): a resumed dependency lowers
//!    `execution_idx`; an execution that wrote a location its previous incarnation did not,
//!    and an aborted validation, lower `validation_idx`. An execution that finishes where
//!    the sweep waits claims its own validation instead (the sweep then moves on past it,
//!    so every higher transaction is still validated after its writes). So every executed
//!    transaction is validated after every lower transaction's last write that could
//!    affect it.
//! 2. **One incarnation runs at a time.** Only the ready → executing transition starts an
//!    execution, and it is a compare-and-swap of the state word, so it succeeds once per
//!    incarnation. A transaction that is aborting (or parked) belongs to the one worker
//!    that put it there, which alone makes it ready again. An aborted
//!    transaction's incarnation number grows when it becomes ready again, so a stale
//!    validation (of an older incarnation) can never abort a newer one.
//! 3. **Dependencies cannot be missed.** A transaction that read an ESTIMATE of transaction
//!    `k` is parked on `k`'s dependents list, under that list's lock, only if `k` is not yet
//!    executed; `k`'s finishing execution sets its status first and then drains the list
//!    under the same lock. Either the dependent sees `k` executed (and simply re-runs) or `k`
//!    sees the dependent and makes it ready.
//! 4. **Done means done.** The block is finished when both counters are past the end, no
//!    worker holds a task (each worker's `active` flag, set before it claims an index and
//!    cleared when its task ends), and no counter was lowered while that was being checked
//!    (`decrease_count` read before and after). Transaction 0 depends on nothing and always
//!    passes validation after its first execution; by induction every transaction's
//!    final incarnation executes and validates, so the sweep ends: there is no livelock.
//!
//! Transactions of a sender that appears earlier in the block start parked on that earlier
//! transaction (their nonce cannot be right before it executes), so chains of one sender do
//! not burn executions on certain aborts.
//!
//! The design is Block-STM's (Gelashvili et al., "Block-STM: Scaling Blockchain Execution by
//! Turning Ordering Curse to a Performance Blessing", 2022).

use crate::mvmemory::{lock, Incarnation, TxIdx};
use crate::Padded;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Ready = 0,
    Executing = 1,
    Executed = 2,
    /// Aborted by validation, or parked on a dependency, until made ready again.
    Aborting = 3,
}

/// A transaction's incarnation and status in one word, so that each transition is one
/// atomic operation on the transaction's own cache line rather than a lock and an unlock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TxState {
    incarnation: Incarnation,
    status: Status,
}

impl TxState {
    fn pack(self) -> u64 {
        (u64::from(self.incarnation) << 2) | self.status as u64
    }

    fn unpack(word: u64) -> TxState {
        let status = match word & 3 {
            0 => Status::Ready,
            1 => Status::Executing,
            2 => Status::Executed,
            _ => Status::Aborting,
        };
        TxState { incarnation: (word >> 2) as Incarnation, status }
    }
}

/// What the scheduler keeps per transaction, on one cache line: its state, and the
/// transactions parked until it finishes executing.
#[derive(Debug, Default)]
struct TxSlot {
    state: AtomicU64,
    dependents: Mutex<Vec<TxIdx>>,
}

impl TxSlot {
    fn load(&self) -> TxState {
        TxState::unpack(self.state.load(SeqCst))
    }

    fn store(&self, state: TxState) {
        self.state.store(state.pack(), SeqCst);
    }

    /// Moves `from` to `to` if the transaction is in state `from`.
    fn transition(&self, from: TxState, to: TxState) -> bool {
        self.state.compare_exchange(from.pack(), to.pack(), SeqCst, SeqCst).is_ok()
    }
}

/// A transaction incarnation.
pub(crate) type Version = (TxIdx, Incarnation);

/// Work for a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Task {
    Execute(Version),
    Validate(Version),
}

/// A worker's number, `0..workers`: which of the scheduler's task counters it keeps.
pub(crate) type Worker = usize;

pub(crate) struct Scheduler {
    len: usize,
    execution_idx: Padded<AtomicUsize>,
    validation_idx: Padded<AtomicUsize>,
    decrease_count: Padded<AtomicUsize>,
    /// Per worker, whether it holds a task. Only that worker writes its own counter, so
    /// claiming and ending a task touch no line another core writes; the done check reads
    /// them all.
    active: Vec<Padded<AtomicBool>>,
    done: Padded<AtomicBool>,
    txs: Vec<Padded<TxSlot>>,
}

impl Scheduler {
    /// A scheduler for `len` transactions run by `workers` workers; `waits_on[i]`, when set,
    /// is a lower transaction that `i` starts parked on.
    pub(crate) fn new(len: usize, waits_on: &[Option<TxIdx>], workers: usize) -> Scheduler {
        let txs: Vec<Padded<TxSlot>> = (0..len).map(|_| Padded(TxSlot::default())).collect();
        for (i, wait) in waits_on.iter().enumerate().take(len) {
            if let Some(k) = wait.filter(|k| *k < i) {
                lock(&txs[k].dependents).push(i);
                txs[i].store(TxState { incarnation: 0, status: Status::Aborting });
            }
        }
        Scheduler {
            len,
            execution_idx: Padded(AtomicUsize::new(0)),
            validation_idx: Padded(AtomicUsize::new(0)),
            decrease_count: Padded(AtomicUsize::new(0)),
            active: (0..workers.max(1)).map(|_| Padded(AtomicBool::new(false))).collect(),
            done: Padded(AtomicBool::new(len == 0)),
            txs,
        }
    }

    /// Whether the block is finished (or halted).
    pub(crate) fn done(&self) -> bool {
        self.done.load(SeqCst)
    }

    /// Stops every worker at its next request (an error, or the sequential fallback).
    pub(crate) fn halt(&self) {
        self.done.store(true, SeqCst);
    }

    /// The next task for `worker`, if one is available now: a validation when validation
    /// lags behind execution and the transaction claimed is executed, else an execution.
    pub(crate) fn next_task(&self, worker: Worker) -> Option<Task> {
        if self.done() {
            return None;
        }
        if self.validation_idx.load(SeqCst) < self.execution_idx.load(SeqCst) {
            if let Some(version) = self.next_validation(worker) {
                return Some(Task::Validate(version));
            }
        }
        self.next_execution(worker).map(Task::Execute)
    }

    fn set_active(&self, worker: Worker, active: bool) {
        self.active[worker].store(active, SeqCst);
    }

    fn check_done(&self) {
        let observed = self.decrease_count.load(SeqCst);
        let execution = self.execution_idx.load(SeqCst);
        let validation = self.validation_idx.load(SeqCst);
        if execution.min(validation) >= self.len
            && self.active.iter().all(|a| !a.load(SeqCst))
            && observed == self.decrease_count.load(SeqCst)
        {
            self.done.store(true, SeqCst);
        }
    }

    /// Starts incarnation of `idx` if it is ready. Does not touch the active flags.
    fn try_incarnate(&self, idx: TxIdx) -> Option<Version> {
        let slot = self.txs.get(idx)?;
        let state = slot.load();
        let executing = TxState { status: Status::Executing, ..state };
        (state.status == Status::Ready && slot.transition(state, executing))
            .then_some((idx, state.incarnation))
    }

    fn next_execution(&self, worker: Worker) -> Option<Version> {
        if self.execution_idx.load(SeqCst) >= self.len {
            self.check_done();
            return None;
        }
        self.set_active(worker, true);
        let idx = self.execution_idx.fetch_add(1, SeqCst);
        let version = self.try_incarnate(idx);
        if version.is_none() {
            self.set_active(worker, false);
        }
        version
    }

    /// Claims the validation at the front of the sweep, if that transaction is executed.
    /// A transaction still executing is not claimed: the sweep waits at it (its finishing
    /// worker validates it, see [`Scheduler::finish_execution`]) instead of passing it and
    /// being lowered back to it, which would validate everything above it again.
    fn next_validation(&self, worker: Worker) -> Option<Version> {
        let front = self.validation_idx.load(SeqCst);
        if front >= self.len {
            self.check_done();
            return None;
        }
        if self.txs[front].load().status != Status::Executed {
            return None;
        }
        self.set_active(worker, true);
        // Claim exactly the front checked: the counter may have been lowered meanwhile.
        if self.validation_idx.compare_exchange(front, front + 1, SeqCst, SeqCst).is_ok() {
            let state = self.txs[front].load();
            if state.status == Status::Executed {
                return Some((front, state.incarnation));
            }
        }
        self.set_active(worker, false);
        None
    }

    fn lower_execution_idx(&self, to: TxIdx) {
        self.execution_idx.fetch_min(to, SeqCst);
        self.decrease_count.fetch_add(1, SeqCst);
    }

    fn lower_validation_idx(&self, to: TxIdx) {
        self.validation_idx.fetch_min(to, SeqCst);
        self.decrease_count.fetch_add(1, SeqCst);
    }

    /// Makes aborted (or parked) `idx` ready with its next incarnation. Only the worker
    /// that owns the transition out of `Aborting` calls this, so a store suffices.
    fn set_ready(&self, idx: TxIdx) {
        let slot = &self.txs[idx];
        let state = slot.load();
        slot.store(TxState { incarnation: state.incarnation + 1, status: Status::Ready });
    }

    /// Parks executing transaction `idx` until `blocking` finishes executing. Returns false
    /// when `blocking` already has (the caller re-executes at once); true when parked, which
    /// ends `worker`'s task.
    pub(crate) fn add_dependency(&self, worker: Worker, idx: TxIdx, blocking: TxIdx) -> bool {
        let mut dependents = lock(&self.txs[blocking].dependents);
        if self.txs[blocking].load().status == Status::Executed {
            return false;
        }
        let slot = &self.txs[idx];
        slot.store(TxState { status: Status::Aborting, ..slot.load() });
        dependents.push(idx);
        drop(dependents);
        self.set_active(worker, false);
        true
    }

    /// Records that incarnation `incarnation` of `idx` finished executing on `worker`;
    /// `wrote_new` as returned by the memory's `record`. May hand back the validation of
    /// the same version.
    pub(crate) fn finish_execution(
        &self,
        worker: Worker,
        idx: TxIdx,
        incarnation: Incarnation,
        wrote_new: bool,
    ) -> Option<Task> {
        let slot = &self.txs[idx];
        slot.store(TxState { incarnation, status: Status::Executed });
        let resumed = std::mem::take(&mut *lock(&slot.dependents));
        if let Some(lowest) = resumed.iter().copied().min() {
            for dependent in resumed {
                self.set_ready(dependent);
            }
            self.lower_execution_idx(lowest);
        }
        let front = self.validation_idx.load(SeqCst);
        if front > idx {
            if wrote_new {
                self.lower_validation_idx(idx);
            } else {
                return Some(Task::Validate((idx, incarnation)));
            }
        } else if front == idx && self.validation_idx.compare_exchange(idx, idx + 1, SeqCst, SeqCst).is_ok() {
            // The sweep waits at this transaction: validate it here, while its reads are
            // in this core's cache. No higher transaction has been validated since the
            // sweep came down to it, so new writes need no wider revalidation.
            return Some(Task::Validate((idx, incarnation)));
        }
        self.set_active(worker, false);
        None
    }

    /// Claims the abort of `version` after a failed validation; false when another
    /// validation already aborted it or a newer incarnation exists.
    pub(crate) fn try_validation_abort(&self, (idx, incarnation): Version) -> bool {
        self.txs[idx].transition(
            TxState { incarnation, status: Status::Executed },
            TxState { incarnation, status: Status::Aborting },
        )
    }

    /// Ends `worker`'s validation task; after an abort, hands back the re-execution when it
    /// can.
    pub(crate) fn finish_validation(&self, worker: Worker, idx: TxIdx, aborted: bool) -> Option<Task> {
        if aborted {
            self.set_ready(idx);
            self.lower_validation_idx(idx + 1);
            if self.execution_idx.load(SeqCst) > idx {
                if let Some(version) = self.try_incarnate(idx) {
                    return Some(Task::Execute(version));
                }
            }
        }
        self.set_active(worker, false);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drives the scheduler single-threaded, with every validation succeeding.
    fn run_all(s: &Scheduler) -> Vec<Task> {
        let mut seen = Vec::new();
        let mut task = None;
        while !s.done() {
            let Some(t) = task.take().or_else(|| s.next_task(0)) else { continue };
            seen.push(t);
            task = match t {
                Task::Execute((i, inc)) => s.finish_execution(0, i, inc, true),
                Task::Validate((i, _)) => s.finish_validation(0, i, false),
            };
        }
        seen
    }

    #[test]
    fn every_transaction_executes_and_validates_once_without_conflicts() {
        let s = Scheduler::new(4, &[None; 4], 1);
        let seen = run_all(&s);
        for i in 0..4 {
            assert_eq!(seen.iter().filter(|t| **t == Task::Execute((i, 0))).count(), 1, "{seen:?}");
            assert!(seen.contains(&Task::Validate((i, 0))), "{seen:?}");
        }
    }

    #[test]
    fn parked_transactions_start_after_their_predecessor() {
        let s = Scheduler::new(3, &[None, Some(0), Some(1)], 1);
        let seen = run_all(&s);
        let position = |t: Task| seen.iter().position(|x| *x == t).unwrap();
        assert!(position(Task::Execute((0, 0))) < position(Task::Execute((1, 1))));
        assert!(position(Task::Execute((1, 1))) < position(Task::Execute((2, 1))));
    }

    #[test]
    fn an_abort_re_executes_with_a_new_incarnation() {
        let s = Scheduler::new(2, &[None, None], 1);
        assert_eq!(s.next_task(0), Some(Task::Execute((0, 0))));
        // The sweep waits at transaction 0, so its executor validates it at once.
        assert_eq!(s.finish_execution(0, 0, 0, true), Some(Task::Validate((0, 0))));
        assert_eq!(s.finish_validation(0, 0, false), None);
        assert_eq!(s.next_task(0), Some(Task::Execute((1, 0))));
        assert_eq!(s.finish_execution(0, 1, 0, true), Some(Task::Validate((1, 0))));
        assert!(s.try_validation_abort((1, 0)));
        assert!(!s.try_validation_abort((1, 0)), "one abort per incarnation");
        assert_eq!(s.finish_validation(0, 1, true), Some(Task::Execute((1, 1))));
        assert_eq!(s.finish_execution(0, 1, 1, false), Some(Task::Validate((1, 1))));
        assert_eq!(s.finish_validation(0, 1, false), None);
        while !s.done() {
            assert_eq!(s.next_task(0), None);
        }
    }

    #[test]
    fn the_sweep_waits_at_an_executing_transaction_instead_of_passing_it() {
        let s = Scheduler::new(3, &[None; 3], 2);
        assert_eq!(s.next_task(0), Some(Task::Execute((0, 0))));
        assert_eq!(s.next_task(1), Some(Task::Execute((1, 0))));
        // Transaction 1 finishes first: the sweep is at 0, still executing, so 1 waits for
        // its validation and worker 1 executes on.
        assert_eq!(s.finish_execution(1, 1, 0, true), None);
        assert_eq!(s.next_task(1), Some(Task::Execute((2, 0))));
        assert_eq!(s.validation_idx.load(SeqCst), 0, "the sweep did not pass transaction 0");
        // Transaction 0's executor validates it; the sweep then reaches 1 without lowering.
        assert_eq!(s.finish_execution(0, 0, 0, true), Some(Task::Validate((0, 0))));
        assert_eq!(s.finish_validation(0, 0, false), None);
        assert_eq!(s.next_task(0), Some(Task::Validate((1, 0))));
        assert_eq!(s.decrease_count.load(SeqCst), 0, "no revalidation was needed");
    }

    #[test]
    fn a_dependency_on_an_executed_transaction_is_refused() {
        // The next task that exists (a validation sweep may find nothing to validate first).
        fn next(s: &Scheduler) -> Task {
            (0..10).find_map(|_| s.next_task(0)).expect("a task")
        }
        let s = Scheduler::new(2, &[None, None], 1);
        assert_eq!(next(&s), Task::Execute((0, 0)));
        assert_eq!(next(&s), Task::Execute((1, 0)));
        assert!(s.add_dependency(0, 1, 0), "tx 0 is still executing");
        s.finish_execution(0, 0, 0, true);
        let resumed = (0..10).filter_map(|_| s.next_task(0)).find(|t| matches!(t, Task::Execute(_)));
        assert_eq!(resumed, Some(Task::Execute((1, 1))), "resumed with a new incarnation");
        let s = Scheduler::new(2, &[None, None], 1);
        next(&s);
        next(&s);
        s.finish_execution(0, 0, 0, true);
        assert!(!s.add_dependency(0, 1, 0), "tx 0 has executed: re-run at once");
    }
}
