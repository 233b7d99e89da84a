//! The collaborative scheduler of Block-STM: which transaction incarnation to execute, and
//! which to validate, next, and when a transaction's outcome is final (committed).
//!
//! # How it works, and what it guarantees
//!
//! Every transaction has a status (ready, executing, executed, aborting, committed) and an
//! incarnation number, packed in one atomic word on the transaction's own cache line. Two
//! shared counters sweep upwards through the block:
//! `execution_idx`, the lowest transaction that may still need executing, and
//! `validation_idx`, the lowest that may still need validating. A worker asking for work
//! takes a validation task when `validation_idx` is behind `execution_idx` (validating low
//! transactions first keeps aborts cheap), and an execution task otherwise (or when the
//! validation it claimed does not exist). It claims an execution with `fetch_add` and a
//! validation with a compare-and-swap of the sweep's front, and the task exists only if that
//! transaction's status fits (ready for execution, executed for validation).
//!
//! Behind the sweep, a third counter, the commit front, moves through the block one
//! transaction at a time: a transaction is committed (its result and writes are final, and
//! the executor folds its writes into the block's changes while they are still in cache)
//! once every lower transaction is committed and a validation of its current incarnation
//! succeeded after the last write of every lower one. A logical clock makes that check
//! cheap: recording an incarnation's writes takes a stamp from it, a validation notes the
//! clock when it starts, and the front keeps the highest stamp of the transactions it has
//! committed. A validation that started earlier is repeated by the committing worker,
//! whose answer is then final (nothing below can change any more).
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
//!    affect it. (Commits do not rely on this: the clock check and the committing worker's
//!    own validation decide them. It is what guarantees that every executed incarnation gets
//!    a validation, so the front never waits forever.)
//! 2. **One incarnation runs at a time.** Only the ready → executing transition starts an
//!    execution, and it is a compare-and-swap of the state word, so it succeeds once per
//!    incarnation. A transaction that is aborting belongs to the worker that aborted it,
//!    which alone makes it ready again; a parked one is made ready by the worker that
//!    finishes the transaction it waits on. An aborted
//!    transaction's incarnation number grows when it becomes ready again, so a stale
//!    validation (of an older incarnation) can never abort a newer one, and no validation
//!    can abort a committed transaction (its status is no longer executed).
//! 3. **Dependencies cannot be missed.** A transaction that read an ESTIMATE of transaction
//!    `k` is parked on `k`'s dependents list, under that list's lock, only if `k` is not yet
//!    executed; `k`'s finishing execution sets its status first and then drains the list
//!    under the same lock. Either the dependent sees `k` executed (and simply re-runs) or `k`
//!    sees the dependent and makes it ready.
//! 4. **Commits are final and never stall.** One worker at a time moves the commit front
//!    (a compare-and-swap gate). Every worker whose validation succeeds tries to take the
//!    gate; the holder, after releasing it, looks again at the front, so a validation that
//!    finished while the gate was held is never left uncommitted. A transaction's record of
//!    successful validations only grows (`fetch_max` of incarnation and start clock), so a
//!    slow validation of an older incarnation cannot erase a newer one's. A committed
//!    transaction's reads all came from committed transactions, so nothing can invalidate it.
//! 5. **Done means done.** The block is finished when the commit front passes the last
//!    transaction, or commits one the block rejects. Transaction 0 depends on nothing and
//!    always passes validation after its first execution; by induction every transaction's
//!    final incarnation executes, validates and commits: there is no livelock.
//!
//! Transactions of a sender that appears earlier in the block start parked on that earlier
//! transaction (their nonce cannot be right before it executes), so chains of one sender do
//! not burn executions on certain aborts.
//!
//! The design is Block-STM's (Gelashvili et al., "Block-STM: Scaling Blockchain Execution by
//! Turning Ordering Curse to a Performance Blessing", 2022), with an in-order commit front
//! in the spirit of its later versions in Aptos.

use crate::mvmemory::{lock, Incarnation, TxIdx};
use crate::Padded;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Ready = 0,
    Executing = 1,
    Executed = 2,
    /// Aborted by validation, or parked on a dependency, until made ready again.
    Aborting = 3,
    /// Final: executed, validated, and every lower transaction committed.
    Committed = 4,
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
        (u64::from(self.incarnation) << 3) | self.status as u64
    }

    fn unpack(word: u64) -> TxState {
        let status = match word & 7 {
            0 => Status::Ready,
            1 => Status::Executing,
            2 => Status::Executed,
            3 => Status::Aborting,
            _ => Status::Committed,
        };
        TxState { incarnation: (word >> 3) as Incarnation, status }
    }

    /// Whether the incarnation's writes are recorded and stay (executed or committed).
    fn has_executed(self) -> bool {
        matches!(self.status, Status::Executed | Status::Committed)
    }
}

/// A successful validation: of which incarnation, and the clock when it started, packed
/// (incarnation above bit 40), so that a later incarnation, or a later start, is a larger
/// word. `NOT_VALIDATED` when the transaction has none: a validation starts after its
/// incarnation's own record ticked the clock, so its start is never 0.
const NOT_VALIDATED: u64 = 0;
const CLOCK_BITS: u32 = 40;

/// What the scheduler keeps per transaction, on one cache line: its state, the clock stamp
/// of its latest recorded writes, its most recent successful validation (the highest
/// incarnation, then the latest start), and the transactions
/// parked until it finishes executing.
#[derive(Debug)]
struct TxSlot {
    state: AtomicU64,
    recorded: AtomicU64,
    validated: AtomicU64,
    dependents: Mutex<Vec<TxIdx>>,
}

impl Default for TxSlot {
    fn default() -> Self {
        TxSlot {
            state: AtomicU64::new(0),
            recorded: AtomicU64::new(0),
            validated: AtomicU64::new(NOT_VALIDATED),
            dependents: Mutex::default(),
        }
    }
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

    /// The clock at the start of the most recent successful validation of `incarnation`, if
    /// any (none when a newer incarnation has been validated).
    fn validated_at(&self, incarnation: Incarnation) -> Option<u64> {
        let word = self.validated.load(SeqCst);
        (word != NOT_VALIDATED && word >> CLOCK_BITS == u64::from(incarnation))
            .then_some(word & ((1 << CLOCK_BITS) - 1))
    }

    /// Whether the commit front could commit this transaction now (perhaps after
    /// validating it again).
    fn committable(&self) -> bool {
        let state = self.load();
        state.status == Status::Executed && self.validated_at(state.incarnation).is_some()
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

/// The commit front's state.
#[derive(Debug, Default)]
struct CommitFront {
    /// Held by the one worker moving the front.
    gate: AtomicBool,
    /// The lowest uncommitted transaction; written only under the gate.
    idx: AtomicUsize,
    /// The highest recording stamp among committed transactions; only under the gate.
    stamp: AtomicU64,
}

/// Where one worker's turn at the commit front stopped.
enum CommitStop {
    /// At a transaction not ready to commit.
    Waiting(TxIdx),
    /// The block is finished.
    Done,
    /// The transaction at the front failed its final validation and was aborted.
    Aborted(TxIdx),
}

pub(crate) struct Scheduler {
    len: usize,
    execution_idx: Padded<AtomicUsize>,
    validation_idx: Padded<AtomicUsize>,
    /// Ticks once per recorded incarnation (see the module docs).
    clock: Padded<AtomicU64>,
    /// The commit front, on its own cache line (its holder writes it on every commit).
    commit: Padded<CommitFront>,
    done: Padded<AtomicBool>,
    txs: Vec<Padded<TxSlot>>,
}

impl Scheduler {
    /// A scheduler for `len` transactions; `waits_on[i]`, when set, is a lower transaction
    /// that `i` starts parked on.
    pub(crate) fn new(len: usize, waits_on: &[Option<TxIdx>]) -> Scheduler {
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
            clock: Padded(AtomicU64::new(0)),
            commit: Padded(CommitFront::default()),
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

    /// The lowest transaction not committed (the block's length once all are).
    pub(crate) fn committed(&self) -> TxIdx {
        self.commit.idx.load(SeqCst)
    }

    /// The next task, if one is available now: a validation when validation lags behind
    /// execution and the transaction claimed is executed, else an execution.
    pub(crate) fn next_task(&self) -> Option<Task> {
        if self.done() {
            return None;
        }
        if self.validation_idx.load(SeqCst) < self.execution_idx.load(SeqCst) {
            if let Some(version) = self.next_validation() {
                return Some(Task::Validate(version));
            }
        }
        self.next_execution().map(Task::Execute)
    }

    /// Starts incarnation of `idx` if it is ready.
    fn try_incarnate(&self, idx: TxIdx) -> Option<Version> {
        let slot = self.txs.get(idx)?;
        let state = slot.load();
        let executing = TxState { status: Status::Executing, ..state };
        (state.status == Status::Ready && slot.transition(state, executing))
            .then_some((idx, state.incarnation))
    }

    fn next_execution(&self) -> Option<Version> {
        if self.execution_idx.load(SeqCst) >= self.len {
            return None;
        }
        let idx = self.execution_idx.fetch_add(1, SeqCst);
        self.try_incarnate(idx)
    }

    /// Claims the validation at the front of the sweep, if that transaction is executed
    /// (committed ones are passed: they are final). A transaction still executing is not
    /// claimed: the sweep waits at it (its finishing worker validates it, see
    /// [`Scheduler::finish_execution`]) instead of passing it and being lowered back to it,
    /// which would validate everything above it again.
    fn next_validation(&self) -> Option<Version> {
        loop {
            let front = self.validation_idx.load(SeqCst);
            if front >= self.len {
                return None;
            }
            let status = self.txs[front].load().status;
            if status != Status::Executed && status != Status::Committed {
                return None;
            }
            // Claim exactly the front checked: the counter may have been lowered meanwhile.
            if self.validation_idx.compare_exchange(front, front + 1, SeqCst, SeqCst).is_err() {
                return None;
            }
            let state = self.txs[front].load();
            match state.status {
                Status::Executed => return Some((front, state.incarnation)),
                Status::Committed => continue,
                _ => return None,
            }
        }
    }

    fn lower_execution_idx(&self, to: TxIdx) {
        self.execution_idx.fetch_min(to, SeqCst);
    }

    fn lower_validation_idx(&self, to: TxIdx) {
        self.validation_idx.fetch_min(to, SeqCst);
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
    /// ends the caller's task.
    pub(crate) fn add_dependency(&self, idx: TxIdx, blocking: TxIdx) -> bool {
        let mut dependents = lock(&self.txs[blocking].dependents);
        if self.txs[blocking].load().has_executed() {
            return false;
        }
        let slot = &self.txs[idx];
        slot.store(TxState { status: Status::Aborting, ..slot.load() });
        dependents.push(idx);
        true
    }

    /// Records that incarnation `incarnation` of `idx` finished executing (its writes are
    /// in the memory); `wrote_new` as returned by the memory's `record`. May hand back the
    /// validation of the same version.
    pub(crate) fn finish_execution(
        &self,
        idx: TxIdx,
        incarnation: Incarnation,
        wrote_new: bool,
    ) -> Option<Task> {
        let slot = &self.txs[idx];
        // The stamp is taken after the writes are in the memory: a validation that starts
        // at or after it sees them.
        slot.recorded.store(self.clock.fetch_add(1, SeqCst) + 1, SeqCst);
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
        None
    }

    /// The clock to note when a validation starts.
    pub(crate) fn validation_clock(&self) -> u64 {
        self.clock.load(SeqCst)
    }

    /// Notes that the validation of `version` that started at clock `started` succeeded.
    pub(crate) fn validated(&self, (idx, incarnation): Version, started: u64) {
        debug_assert!(started > 0, "a validation starts after its incarnation's record");
        let word = (u64::from(incarnation) << CLOCK_BITS) | (started & ((1 << CLOCK_BITS) - 1));
        // Only ever up: a slow validation of an older incarnation must not erase a newer
        // one's, which the commit front may be waiting for.
        self.txs[idx].validated.fetch_max(word, SeqCst);
    }

    /// Claims the abort of `version` after a failed validation; false when another
    /// validation already aborted it, a newer incarnation exists, or it is committed.
    pub(crate) fn try_validation_abort(&self, (idx, incarnation): Version) -> bool {
        self.txs[idx].transition(
            TxState { incarnation, status: Status::Executed },
            TxState { incarnation, status: Status::Aborting },
        )
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
        None
    }

    /// Moves the commit front as far as it can go, unless another worker is moving it.
    /// For each transaction it reaches: `revalidate(version)` when its last successful
    /// validation started before a lower transaction's last write (its answer is final), then
    /// `commit(idx)` once it is committed, which returns true when the block ends there (a
    /// rejected transaction). Returns a transaction that failed its final validation and
    /// was aborted here: the caller marks its writes as estimates and finishes the abort
    /// ([`Scheduler::finish_validation`]).
    pub(crate) fn try_commit(
        &self,
        mut revalidate: impl FnMut(Version) -> bool,
        mut commit: impl FnMut(TxIdx) -> bool,
    ) -> Option<TxIdx> {
        loop {
            if self.commit.gate.compare_exchange(false, true, SeqCst, SeqCst).is_err() {
                // The holder looks at the front again after releasing the gate.
                return None;
            }
            let stop = self.advance_commits(&mut revalidate, &mut commit);
            self.commit.gate.store(false, SeqCst);
            match stop {
                CommitStop::Done => return None,
                CommitStop::Aborted(idx) => return Some(idx),
                // A validation that finished while the gate was held found it taken.
                CommitStop::Waiting(front) if self.txs[front].committable() => continue,
                CommitStop::Waiting(_) => return None,
            }
        }
    }

    /// Commits from the front while the transaction there is final; only under the gate.
    fn advance_commits(
        &self,
        revalidate: &mut impl FnMut(Version) -> bool,
        commit: &mut impl FnMut(TxIdx) -> bool,
    ) -> CommitStop {
        let mut front = self.commit.idx.load(Relaxed);
        let mut stamp = self.commit.stamp.load(Relaxed);
        let stop = loop {
            if self.done() {
                // Finished or halted: a rejected transaction ends the block below the
                // others, and after a failure nothing more is final.
                break CommitStop::Done;
            }
            if front >= self.len {
                self.done.store(true, SeqCst);
                break CommitStop::Done;
            }
            let slot = &self.txs[front];
            let state = slot.load();
            if state.status != Status::Executed {
                break CommitStop::Waiting(front);
            }
            let Some(started) = slot.validated_at(state.incarnation) else {
                break CommitStop::Waiting(front);
            };
            let version = (front, state.incarnation);
            if started < stamp && !revalidate(version) {
                if self.try_validation_abort(version) {
                    break CommitStop::Aborted(front);
                }
                break CommitStop::Waiting(front);
            }
            if !slot.transition(state, TxState { status: Status::Committed, ..state }) {
                // A stale validation aborted it meanwhile.
                break CommitStop::Waiting(front);
            }
            stamp = stamp.max(slot.recorded.load(SeqCst));
            front += 1;
            self.commit.idx.store(front, SeqCst);
            if commit(front - 1) {
                self.done.store(true, SeqCst);
                break CommitStop::Done;
            }
        };
        self.commit.stamp.store(stamp, Relaxed);
        stop
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A successful validation of `version` that starts now, then a turn at the commit
    /// front that revalidates nothing and ends nowhere.
    fn validate_and_commit(s: &Scheduler, version: Version) -> Option<TxIdx> {
        s.validated(version, s.validation_clock());
        s.try_commit(|_| panic!("no revalidation expected"), |_| false)
    }

    /// Drives the scheduler single-threaded, with every validation succeeding.
    fn run_all(s: &Scheduler) -> Vec<Task> {
        let mut seen = Vec::new();
        let mut task = None;
        while !s.done() {
            let Some(t) = task.take().or_else(|| s.next_task()) else { continue };
            seen.push(t);
            task = match t {
                Task::Execute((i, inc)) => s.finish_execution(i, inc, true),
                Task::Validate(version) => {
                    assert_eq!(validate_and_commit(s, version), None);
                    None
                }
            };
        }
        seen
    }

    #[test]
    fn every_transaction_executes_validates_and_commits_once_without_conflicts() {
        let s = Scheduler::new(4, &[None; 4]);
        let seen = run_all(&s);
        for i in 0..4 {
            assert_eq!(seen.iter().filter(|t| **t == Task::Execute((i, 0))).count(), 1, "{seen:?}");
            assert!(seen.contains(&Task::Validate((i, 0))), "{seen:?}");
        }
        assert_eq!(s.committed(), 4);
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
        // The sweep waits at transaction 0, so its executor validates it at once.
        assert_eq!(s.finish_execution(0, 0, true), Some(Task::Validate((0, 0))));
        assert_eq!(validate_and_commit(&s, (0, 0)), None);
        assert_eq!(s.next_task(), Some(Task::Execute((1, 0))));
        assert_eq!(s.finish_execution(1, 0, true), Some(Task::Validate((1, 0))));
        assert!(s.try_validation_abort((1, 0)));
        assert!(!s.try_validation_abort((1, 0)), "one abort per incarnation");
        assert_eq!(s.finish_validation(1, true), Some(Task::Execute((1, 1))));
        assert_eq!(s.finish_execution(1, 1, false), Some(Task::Validate((1, 1))));
        assert!(!s.done());
        assert_eq!(validate_and_commit(&s, (1, 1)), None);
        assert!(s.done(), "the last commit ends the block");
    }

    #[test]
    fn the_sweep_waits_at_an_executing_transaction_instead_of_passing_it() {
        let s = Scheduler::new(3, &[None; 3]);
        assert_eq!(s.next_task(), Some(Task::Execute((0, 0))));
        assert_eq!(s.next_task(), Some(Task::Execute((1, 0))));
        // Transaction 1 finishes first: the sweep is at 0, still executing, so 1 waits for
        // its validation and worker 1 executes on.
        assert_eq!(s.finish_execution(1, 0, true), None);
        assert_eq!(s.next_task(), Some(Task::Execute((2, 0))));
        assert_eq!(s.validation_idx.load(SeqCst), 0, "the sweep did not pass transaction 0");
        // Transaction 0's executor validates it; the sweep then reaches 1 without lowering.
        assert_eq!(s.finish_execution(0, 0, true), Some(Task::Validate((0, 0))));
        assert_eq!(validate_and_commit(&s, (0, 0)), None);
        assert_eq!(s.next_task(), Some(Task::Validate((1, 0))));
    }

    #[test]
    fn the_commit_front_waits_for_the_lowest_validation() {
        let s = Scheduler::new(2, &[None; 2]);
        assert_eq!(s.next_task(), Some(Task::Execute((0, 0))));
        assert_eq!(s.next_task(), Some(Task::Execute((1, 0))));
        assert_eq!(s.finish_execution(0, 0, true), Some(Task::Validate((0, 0))));
        assert_eq!(s.finish_execution(1, 0, true), Some(Task::Validate((1, 0))));
        // Transaction 1 validated first (after 0's writes): it waits for 0's commit.
        assert_eq!(validate_and_commit(&s, (1, 0)), None);
        assert_eq!(s.committed(), 0);
        // 0's commit carries the front through 1, whose validation is recent enough.
        assert_eq!(validate_and_commit(&s, (0, 0)), None);
        assert_eq!(s.committed(), 2);
        assert!(s.done());
        assert!(!s.try_validation_abort((1, 0)), "a committed transaction cannot be aborted");
    }

    #[test]
    fn a_validation_older_than_a_lower_write_is_repeated_at_the_commit() {
        let s = Scheduler::new(2, &[None; 2]);
        assert_eq!(s.next_task(), Some(Task::Execute((0, 0))));
        assert_eq!(s.next_task(), Some(Task::Execute((1, 0))));
        // Transaction 1 validates before transaction 0 has recorded its writes.
        assert_eq!(s.finish_execution(1, 0, true), None);
        s.validated((1, 0), s.validation_clock());
        assert_eq!(s.finish_execution(0, 0, true), Some(Task::Validate((0, 0))));
        s.validated((0, 0), s.validation_clock());
        let mut asked = Vec::new();
        let mut committed = Vec::new();
        let aborted = s.try_commit(
            |version| {
                asked.push(version);
                false
            },
            |idx| {
                committed.push(idx);
                false
            },
        );
        assert_eq!(asked, [(1, 0)], "only the stale validation is repeated");
        assert_eq!(committed, [0]);
        assert_eq!(aborted, Some(1), "the failed final validation aborts transaction 1");
        assert_eq!(s.finish_validation(1, true), Some(Task::Execute((1, 1))));
    }

    #[test]
    fn a_late_validation_of_an_older_incarnation_does_not_erase_a_newer_one() {
        let s = Scheduler::new(1, &[None]);
        assert_eq!(s.next_task(), Some(Task::Execute((0, 0))));
        assert_eq!(s.finish_execution(0, 0, true), Some(Task::Validate((0, 0))));
        let slow_start = s.validation_clock();
        // Another validation aborts incarnation 0; incarnation 1 runs and validates.
        assert!(s.try_validation_abort((0, 0)));
        assert_eq!(s.finish_validation(0, true), Some(Task::Execute((0, 1))));
        assert_eq!(s.finish_execution(0, 1, false), Some(Task::Validate((0, 1))));
        s.validated((0, 1), s.validation_clock());
        // The slow validation of incarnation 0 succeeds last.
        s.validated((0, 0), slow_start);
        assert_eq!(s.try_commit(|_| panic!("no revalidation expected"), |_| false), None);
        assert!(s.done(), "incarnation 1's validation still counts");
    }

    #[test]
    fn a_rejected_transaction_ends_the_block_at_its_commit() {
        let s = Scheduler::new(3, &[None; 3]);
        assert_eq!(s.next_task(), Some(Task::Execute((0, 0))));
        assert_eq!(s.finish_execution(0, 0, true), Some(Task::Validate((0, 0))));
        s.validated((0, 0), s.validation_clock());
        assert_eq!(s.try_commit(|_| true, |_| true), None);
        assert!(s.done());
        assert_eq!(s.committed(), 1);
        // A validation still in flight when the block ended commits nothing more.
        assert_eq!(s.finish_execution(1, 0, true), Some(Task::Validate((1, 0))));
        s.validated((1, 0), s.validation_clock());
        assert_eq!(s.try_commit(|_| true, |idx| panic!("committed {idx} after the end")), None);
        assert_eq!(s.committed(), 1);
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
