//! The collaborative scheduler of Block-STM: which transaction incarnation to execute, and
//! which to validate, next.
//!
//! # How it works, and what it guarantees
//!
//! Every transaction has a status (ready, executing, executed, aborting) and an incarnation
//! number, both under one mutex. Two shared counters sweep upwards through the block:
//! `execution_idx`, the lowest transaction that may still need executing, and
//! `validation_idx`, the lowest that may still need validating. A worker asking for work
//! takes a validation task when `validation_idx` is behind `execution_idx` (validating low
//! transactions first keeps aborts cheap), and an execution task otherwise; it claims an
//! index with `fetch_add`, and the task exists only if that transaction's status fits
//! (ready for execution, executed for validation).
//!
//! The invariants:
//!
//! 1. **Nothing is lost behind a counter.** Whenever a transaction below a counter comes to
//!    need work again, the counter is lowered to it (`fetch_min`): a resumed dependency lowers
//!    `execution_idx`; an execution that wrote a location its previous incarnation did not,
//!    and an aborted validation, lower `validation_idx`. So every executed transaction is
//!    validated after every lower transaction's last write that could affect it.
//! 2. **One incarnation runs at a time.** Only the ready → executing transition starts an
//!    execution, and it happens under the status lock, once per incarnation. An aborted
//!    transaction's incarnation number grows when it becomes ready again, so a stale
//!    validation (of an older incarnation) can never abort a newer one.
//! 3. **Dependencies cannot be missed.** A transaction that read an ESTIMATE of transaction
//!    `k` is parked on `k`'s dependents list, under that list's lock, only if `k` is not yet
//!    executed; `k`'s finishing execution sets its status first and then drains the list
//!    under the same lock. Either the dependent sees `k` executed (and simply re-runs) or `k`
//!    sees the dependent and makes it ready.
//! 4. **Done means done.** The block is finished when both counters are past the end, no
//!    worker holds a task (`active_tasks`), and no counter was lowered while that was being
//!    checked (`decrease_count` read before and after). Transaction 0 depends on nothing and
//!    always passes validation after its first execution; by induction every transaction's
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
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Ready,
    Executing,
    Executed,
    /// Aborted by validation, or parked on a dependency, until made ready again.
    Aborting,
}

#[derive(Debug)]
struct TxState {
    incarnation: Incarnation,
    status: Status,
}

/// A transaction incarnation.
pub(crate) type Version = (TxIdx, Incarnation);

/// Work for a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Task {
    Execute(Version),
    Validate(Version),
}

pub(crate) struct Scheduler {
    len: usize,
    execution_idx: Padded<AtomicUsize>,
    validation_idx: Padded<AtomicUsize>,
    decrease_count: Padded<AtomicUsize>,
    active_tasks: Padded<AtomicUsize>,
    done: Padded<AtomicBool>,
    states: Vec<Padded<Mutex<TxState>>>,
    dependents: Vec<Padded<Mutex<Vec<TxIdx>>>>,
}

impl Scheduler {
    /// A scheduler for `len` transactions; `waits_on[i]`, when set, is a lower transaction
    /// that `i` starts parked on.
    pub(crate) fn new(len: usize, waits_on: &[Option<TxIdx>]) -> Scheduler {
        let mut states = Vec::with_capacity(len);
        let dependents: Vec<Padded<Mutex<Vec<TxIdx>>>> =
            (0..len).map(|_| Padded(Mutex::new(Vec::new()))).collect();
        for (i, wait) in waits_on.iter().enumerate().take(len) {
            let status = match wait {
                Some(k) if *k < i => {
                    lock(&dependents[*k]).push(i);
                    Status::Aborting
                }
                _ => Status::Ready,
            };
            states.push(Padded(Mutex::new(TxState { incarnation: 0, status })));
        }
        while states.len() < len {
            states.push(Padded(Mutex::new(TxState { incarnation: 0, status: Status::Ready })));
        }
        Scheduler {
            len,
            execution_idx: Padded(AtomicUsize::new(0)),
            validation_idx: Padded(AtomicUsize::new(0)),
            decrease_count: Padded(AtomicUsize::new(0)),
            active_tasks: Padded(AtomicUsize::new(0)),
            done: Padded(AtomicBool::new(len == 0)),
            states,
            dependents,
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

    /// The next task, if one is available now.
    pub(crate) fn next_task(&self) -> Option<Task> {
        if self.done() {
            return None;
        }
        if self.validation_idx.load(SeqCst) < self.execution_idx.load(SeqCst) {
            self.next_validation().map(Task::Validate)
        } else {
            self.next_execution().map(Task::Execute)
        }
    }

    fn check_done(&self) {
        let observed = self.decrease_count.load(SeqCst);
        let execution = self.execution_idx.load(SeqCst);
        let validation = self.validation_idx.load(SeqCst);
        if execution.min(validation) >= self.len
            && self.active_tasks.load(SeqCst) == 0
            && observed == self.decrease_count.load(SeqCst)
        {
            self.done.store(true, SeqCst);
        }
    }

    /// Starts incarnation of `idx` if it is ready. Does not touch `active_tasks`.
    fn try_incarnate(&self, idx: TxIdx) -> Option<Version> {
        if idx >= self.len {
            return None;
        }
        let mut state = lock(&self.states[idx]);
        if state.status == Status::Ready {
            state.status = Status::Executing;
            return Some((idx, state.incarnation));
        }
        None
    }

    fn next_execution(&self) -> Option<Version> {
        if self.execution_idx.load(SeqCst) >= self.len {
            self.check_done();
            return None;
        }
        self.active_tasks.fetch_add(1, SeqCst);
        let idx = self.execution_idx.fetch_add(1, SeqCst);
        let version = self.try_incarnate(idx);
        if version.is_none() {
            self.active_tasks.fetch_sub(1, SeqCst);
        }
        version
    }

    fn next_validation(&self) -> Option<Version> {
        if self.validation_idx.load(SeqCst) >= self.len {
            self.check_done();
            return None;
        }
        self.active_tasks.fetch_add(1, SeqCst);
        let idx = self.validation_idx.fetch_add(1, SeqCst);
        if idx < self.len {
            let state = lock(&self.states[idx]);
            if state.status == Status::Executed {
                return Some((idx, state.incarnation));
            }
        }
        self.active_tasks.fetch_sub(1, SeqCst);
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

    fn set_ready(&self, idx: TxIdx) {
        let mut state = lock(&self.states[idx]);
        state.incarnation += 1;
        state.status = Status::Ready;
    }

    /// Parks executing transaction `idx` until `blocking` finishes executing. Returns false
    /// when `blocking` already has (the caller re-executes at once); true when parked, which
    /// ends the caller's task.
    pub(crate) fn add_dependency(&self, idx: TxIdx, blocking: TxIdx) -> bool {
        let mut dependents = lock(&self.dependents[blocking]);
        if lock(&self.states[blocking]).status == Status::Executed {
            return false;
        }
        lock(&self.states[idx]).status = Status::Aborting;
        dependents.push(idx);
        drop(dependents);
        self.active_tasks.fetch_sub(1, SeqCst);
        true
    }

    /// Records that incarnation `incarnation` of `idx` finished executing; `wrote_new` as
    /// returned by the memory's `record`. May hand back the validation of the same version.
    pub(crate) fn finish_execution(
        &self,
        idx: TxIdx,
        incarnation: Incarnation,
        wrote_new: bool,
    ) -> Option<Task> {
        lock(&self.states[idx]).status = Status::Executed;
        let resumed = std::mem::take(&mut *lock(&self.dependents[idx]));
        if let Some(lowest) = resumed.iter().copied().min() {
            for dependent in resumed {
                self.set_ready(dependent);
            }
            self.lower_execution_idx(lowest);
        }
        if self.validation_idx.load(SeqCst) > idx {
            if wrote_new {
                self.lower_validation_idx(idx);
            } else {
                return Some(Task::Validate((idx, incarnation)));
            }
        }
        self.active_tasks.fetch_sub(1, SeqCst);
        None
    }

    /// Claims the abort of `version` after a failed validation; false when another
    /// validation already aborted it or a newer incarnation exists.
    pub(crate) fn try_validation_abort(&self, (idx, incarnation): Version) -> bool {
        let mut state = lock(&self.states[idx]);
        if state.status == Status::Executed && state.incarnation == incarnation {
            state.status = Status::Aborting;
            return true;
        }
        false
    }

    /// Ends a validation task; after an abort, hands back the re-execution when it can.
    pub(crate) fn finish_validation(&self, idx: TxIdx, aborted: bool) -> Option<Task> {
        if aborted {
            self.set_ready(idx);
            self.lower_validation_idx(idx + 1);
            if self.execution_idx.load(SeqCst) > idx {
                if let Some(version) = self.try_incarnate(idx) {
                    return Some(Task::Execute(version));
                }
            }
        }
        self.active_tasks.fetch_sub(1, SeqCst);
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
            let Some(t) = task.take().or_else(|| s.next_task()) else { continue };
            seen.push(t);
            task = match t {
                Task::Execute((i, inc)) => s.finish_execution(i, inc, true),
                Task::Validate((i, _)) => s.finish_validation(i, false),
            };
        }
        seen
    }

    #[test]
    fn every_transaction_executes_and_validates_once_without_conflicts() {
        let s = Scheduler::new(4, &[None; 4]);
        let seen = run_all(&s);
        for i in 0..4 {
            assert_eq!(seen.iter().filter(|t| **t == Task::Execute((i, 0))).count(), 1, "{seen:?}");
            assert!(seen.contains(&Task::Validate((i, 0))), "{seen:?}");
        }
    }

    #[test]
    fn parked_transactions_start_after_their_predecessor() {
        let s = Scheduler::new(3, &[None, Some(0), Some(1)]);
        let seen = run_all(&s);
        let position = |t: Task| seen.iter().position(|x| *x == t).unwrap();
        assert!(position(Task::Execute((0, 0))) < position(Task::Execute((1, 1))));
        assert!(position(Task::Execute((1, 1))) < position(Task::Execute((2, 1))));
    }

    #[test]
    fn an_abort_re_executes_with_a_new_incarnation() {
        let s = Scheduler::new(2, &[None, None]);
        assert_eq!(s.next_task(), Some(Task::Execute((0, 0))));
        assert_eq!(s.finish_execution(0, 0, true), None);
        assert_eq!(s.next_task(), Some(Task::Validate((0, 0))));
        assert_eq!(s.finish_validation(0, false), None);
        assert_eq!(s.next_task(), Some(Task::Execute((1, 0))));
        assert_eq!(s.finish_execution(1, 0, true), None);
        assert_eq!(s.next_task(), Some(Task::Validate((1, 0))));
        assert!(s.try_validation_abort((1, 0)));
        assert!(!s.try_validation_abort((1, 0)), "one abort per incarnation");
        assert_eq!(s.finish_validation(1, true), Some(Task::Execute((1, 1))));
        assert_eq!(s.finish_execution(1, 1, false), Some(Task::Validate((1, 1))));
        assert_eq!(s.finish_validation(1, false), None);
        while !s.done() {
            assert_eq!(s.next_task(), None);
        }
    }

    #[test]
    fn a_dependency_on_an_executed_transaction_is_refused() {
        // The next task that exists (a validation sweep may find nothing to validate first).
        fn next(s: &Scheduler) -> Task {
            (0..10).find_map(|_| s.next_task()).expect("a task")
        }
        let s = Scheduler::new(2, &[None, None]);
        assert_eq!(next(&s), Task::Execute((0, 0)));
        assert_eq!(next(&s), Task::Execute((1, 0)));
        assert!(s.add_dependency(1, 0), "tx 0 is still executing");
        s.finish_execution(0, 0, true);
        let resumed = (0..10).filter_map(|_| s.next_task()).find(|t| matches!(t, Task::Execute(_)));
        assert_eq!(resumed, Some(Task::Execute((1, 1))), "resumed with a new incarnation");
        let s = Scheduler::new(2, &[None, None]);
        next(&s);
        next(&s);
        s.finish_execution(0, 0, true);
        assert!(!s.add_dependency(1, 0), "tx 0 has executed: re-run at once");
    }
}
