//! Optimistic runs: a cheaper parallel strategy for blocks whose transactions rarely touch
//! each other's state.
//!
//! The block is cut into runs of consecutive transactions. A worker claims a run and
//! executes its transactions one after another, as the sequential path does, over the
//! pre-block state plus the run's own earlier writes, and records every value each
//! transaction read. A commit front then takes the runs in block order and, for each
//! transaction, checks its reads against the block's committed state (the pre-block state
//! plus every earlier transaction's changes, exactly what sequential execution would show
//! it). A transaction that read only values still current did exactly what it would have
//! done in order: its changes are committed as they are. One that read a stale value is
//! executed again, there and then, against the committed state, which gives the sequential
//! result by construction.
//!
//! Execution is a deterministic function of the values read, so equal reads give equal
//! results; that is the whole correctness argument, and it needs no multi-version memory,
//! no per-location versions and no dependency tracking. The price is that a conflict is
//! resolved serially on the commit front, so this strategy suits blocks with few conflicts
//! and few cores; Block-STM (`executor.rs`) re-executes conflicting transactions in
//! parallel and scales further.
//!
//! Three shortcuts keep the commit front cheap:
//!
//! - A read that came from the pre-block state is current when no committed transaction
//!   changed that account: one lookup in the committed changes, no store access.
//! - A read of the run's own earlier writes is current when every earlier transaction of
//!   the run was committed as executed (none was executed again): the committed state then
//!   holds exactly those writes.
//! - A run whose every transaction holds (checked against the state before the run, which
//!   is exact for reads of the pre-block state: no earlier transaction of the run wrote
//!   them) is committed at once, its merged changes moved into the block's
//!   ([`Overlay::commit_drained`]). Otherwise the front goes transaction by transaction.
//!
//! Runs read the pre-block state, so a location written earlier in the block reads stale
//! (the second swap on a pool). The front therefore publishes the committed values of hot
//! locations, those it found stale and those a transaction it executed again wrote, in
//! [`Hot`], where runs look first; those values are guesses that the front checks like any
//! other read.
//!
//! The coinbase's priority fees are deferred as in Block-STM (`Evm::defer_coinbase_fee`),
//! summed on the commit front, and credited before any transaction that reads the coinbase
//! is checked or executed again, and at the end of the block. Reads of the coinbase are
//! therefore always compared by value.

use crate::executor::{panic_message, run_on_workers, worker_evm, Backoff};
use crate::mvmemory::lock;
use crate::view::WorkerCodes;
use crate::{BlockInput, Config, MpefError, Padded, Rejected, Stats, TxResult};
use dashmap::DashMap;
use metisvm_state::Overlay;
use metisvm_vm::{
    AccountChange, AccountInfo, Address, Bytes, Evm, SharedCodeCache, StateDiff, StateError, StateReader,
    StateWriter, TxError, TxOutcome, B256, KECCAK_EMPTY, U256,
};
use std::cell::RefCell;
use std::ops::Range;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::{Arc, Mutex};

/// An account's balance, nonce and code hash, or `None` when it does not exist.
type Fields = Option<(U256, u64, B256)>;

fn fields_of(info: &Option<AccountInfo>) -> Fields {
    info.as_ref().map(|i| (i.balance, i.nonce, i.code_hash))
}

/// One value a transaction read, and whether it came from its run's own earlier writes
/// (`local`) or from the pre-block state.
#[derive(Debug, Clone, Copy)]
enum Read {
    Account { address: Address, seen: Fields, local: bool },
    Storage { address: Address, slot: U256, value: U256, local: bool },
    HasStorage { address: Address, value: bool },
}

impl Read {
    fn address(&self) -> Address {
        match *self {
            Read::Account { address, .. }
            | Read::Storage { address, .. }
            | Read::HasStorage { address, .. } => address,
        }
    }
}

/// One transaction as its run executed it.
struct Speculated {
    /// `Err(TxError::State(_))` means it must be executed again on the commit front.
    result: Result<TxOutcome, TxError>,
    /// Its reads, in the run's `reads`.
    reads: Range<usize>,
}

/// What a worker hands the commit front for one run.
struct RunOutput {
    txs: Vec<Speculated>,
    reads: Vec<Read>,
    /// The run's changes merged, committed at once when every transaction holds.
    merged: StateDiff,
    /// The worker that executed the run, which gets back what the front leaves of it.
    worker: usize,
}

/// What the commit front leaves of a committed run, handed back to the worker that
/// executed it. That worker allocated these maps and vectors: it frees them, or reuses them
/// for its next run, in its own cache and its allocator's own pages. Freed on the front's
/// core instead, every such block crossed between the cores twice (measured: 2 workers
/// spent 28% more time than 1 on raw transfers, the extra mostly in allocating, freeing
/// and filling these maps).
struct Leftover {
    /// The transactions' own diffs, to free: whole when the run was committed at once,
    /// emptied where the front committed them one by one.
    diffs: Vec<StateDiff>,
    /// The run's merged map, to reuse: emptied when the run was committed at once, cleared
    /// by its worker otherwise.
    merged: Option<StateDiff>,
    /// The run's vectors, emptied, to reuse.
    reads: Vec<Read>,
    txs: Vec<Speculated>,
}

/// The latest committed values of hot locations: those where a stale read made the commit
/// front execute a transaction again, and those such a transaction wrote (a busy pool's
/// slots, a sender's account). Runs read them instead of the pre-block state, so later
/// transactions on the same location start from a recent value. They are only a better
/// guess: every read is checked on the commit front whatever it returned, so a stale or
/// missing value costs a re-execution, never a wrong result.
struct Hot {
    /// One bit per hash of a hot location, set before the location is first published.
    /// Runs look in the maps only where the bit is set: a load of a line the front rarely
    /// writes, where a map lookup would write its shard's lock word on every read.
    filter: Box<[AtomicU64]>,
    accounts: DashMap<Address, Fields, hashbrown::DefaultHashBuilder>,
    slots: DashMap<(Address, U256), U256, hashbrown::DefaultHashBuilder>,
}

/// Words in [`Hot::filter`]: 65,536 bits, 8 KiB.
const FILTER_WORDS: usize = 1024;

/// A location's bit in [`Hot::filter`]: its account's fields (`slot` `None`) or a slot. A
/// cheap mix, not a keyed hash: addresses crafted to collide only make runs look in the
/// maps more often.
fn filter_bit(address: &Address, slot: Option<&U256>) -> usize {
    const MIX: u64 = 0x9e37_79b9_7f4a_7c15;
    let bytes = address.as_slice();
    let word = |range: std::ops::Range<usize>| {
        let mut buf = [0u8; 8];
        buf[..range.len()].copy_from_slice(&bytes[range]);
        u64::from_le_bytes(buf)
    };
    let mut x = word(0..8) ^ word(8..16).rotate_left(21) ^ word(16..20).rotate_left(42);
    if let Some(slot) = slot {
        for limb in slot.as_limbs() {
            x = (x ^ limb).wrapping_mul(MIX);
        }
        x ^= 1;
    }
    (x.wrapping_mul(MIX) >> 48) as usize
}

impl Hot {
    fn new() -> Hot {
        Hot {
            filter: (0..FILTER_WORDS).map(|_| AtomicU64::new(0)).collect(),
            accounts: DashMap::default(),
            slots: DashMap::default(),
        }
    }

    fn marked(&self, bit: usize) -> bool {
        self.filter[bit / 64].load(Relaxed) & (1 << (bit % 64)) != 0
    }

    fn mark(&self, bit: usize) {
        let word = &self.filter[bit / 64];
        if word.load(Relaxed) & (1 << (bit % 64)) == 0 {
            word.fetch_or(1 << (bit % 64), Relaxed);
        }
    }

    fn account(&self, address: &Address) -> Option<Fields> {
        if !self.marked(filter_bit(address, None)) {
            return None;
        }
        self.accounts.get(address).map(|f| *f)
    }

    fn slot(&self, address: Address, slot: U256) -> Option<U256> {
        if !self.marked(filter_bit(&address, Some(&slot))) {
            return None;
        }
        self.slots.get(&(address, slot)).map(|v| *v)
    }
}

/// The state a run's transaction reads: the run's merged earlier writes, then hot
/// accounts' committed values, then the pre-block state; it records every read.
struct RunReader<'a, R> {
    base: &'a R,
    local: &'a StateDiff,
    hot: &'a Hot,
    reads: &'a RefCell<Vec<Read>>,
    codes: &'a WorkerCodes,
}

impl<R: StateReader> RunReader<'_, R> {
    /// A slot the run has not written: a hot slot's committed value, else the pre-block one.
    fn shared_slot(&self, address: Address, slot: U256) -> Result<U256, StateError> {
        match self.hot.slot(address, slot) {
            Some(value) => Ok(value),
            None => self.base.storage(address, slot),
        }
    }
}

impl<R: StateReader> StateReader for RunReader<'_, R> {
    fn account(&self, address: Address) -> Result<Option<AccountInfo>, StateError> {
        let (mut info, local) = match self.local.get(&address) {
            Some(AccountChange::Deleted) => (None, true),
            Some(AccountChange::Updated { info, .. }) => (Some(info.fields()), true),
            None => match self.hot.account(&address) {
                Some(fields) => (
                    fields.map(|(balance, nonce, code_hash)| AccountInfo {
                        balance,
                        nonce,
                        code_hash,
                        code: None,
                    }),
                    false,
                ),
                None => (self.base.account_fields(address)?, false),
            },
        };
        self.reads.borrow_mut().push(Read::Account { address, seen: fields_of(&info), local });
        if let Some(info) = &mut info {
            // The interpreter asks `code_by_hash` for the rest, answered from this worker's
            // copy, so no two cores share a code buffer's reference count.
            if info.code_hash == KECCAK_EMPTY {
                info.code = Some(Bytes::new());
            }
        }
        Ok(info)
    }

    fn code_by_hash(&self, code_hash: B256) -> Result<Bytes, StateError> {
        self.codes.get_or_copy(code_hash, || {
            let created = self.local.values().find_map(|change| match change {
                AccountChange::Updated {
                    info: AccountInfo { code_hash: h, code: Some(code), .. }, ..
                } if *h == code_hash => Some(code.clone()),
                _ => None,
            });
            match created {
                Some(code) => Ok(code),
                None => self.base.code_by_hash(code_hash),
            }
        })
    }

    fn storage(&self, address: Address, slot: U256) -> Result<U256, StateError> {
        let (value, local) = match self.local.get(&address) {
            Some(AccountChange::Deleted) => (U256::ZERO, true),
            Some(AccountChange::Updated { storage, storage_cleared, .. }) => match storage.get(&slot) {
                Some(value) => (*value, true),
                None if *storage_cleared => (U256::ZERO, true),
                None => (self.shared_slot(address, slot)?, false),
            },
            None => (self.shared_slot(address, slot)?, false),
        };
        self.reads.borrow_mut().push(Read::Storage { address, slot, value, local });
        Ok(value)
    }

    fn block_hash(&self, number: u64) -> Result<B256, StateError> {
        self.base.block_hash(number)
    }

    fn has_storage(&self, address: Address) -> Result<bool, StateError> {
        let value = match self.local.get(&address) {
            Some(AccountChange::Deleted) => false,
            Some(AccountChange::Updated { storage, storage_cleared, .. }) => {
                storage.values().any(|v| !v.is_zero())
                    || (!storage_cleared && self.base.has_storage(address)?)
            }
            None => self.base.has_storage(address)?,
        };
        self.reads.borrow_mut().push(Read::HasStorage { address, value });
        Ok(value)
    }
}

/// The commit front's state: everything committed so far.
struct Front<'a, R> {
    state: Overlay<'a, R>,
    /// Results of the committed transactions, in order.
    results: Vec<TxResult>,
    /// The transaction the block rejects, once committed (nothing after it is).
    rejected: Option<Rejected>,
    /// Priority fees of committed transactions not yet credited to the coinbase.
    pending_fee: Option<U256>,
    /// The next run to commit.
    next_run: usize,
    /// A transaction the block rejects was committed: nothing after it is.
    ended: bool,
    /// The locations published in [`Hot`] (these sets answer the front without touching
    /// the shared maps): accounts' fields, slots, and the accounts with a hot slot.
    hot_fields: hashbrown::HashSet<Address>,
    hot_slots: hashbrown::HashSet<(Address, U256)>,
    hot_slot_accounts: hashbrown::HashSet<Address>,
}

impl<'a, R: StateReader> Front<'a, R> {
    /// Nothing committed yet, over `base`, for a block of `len` transactions.
    fn new(base: &'a R, len: usize) -> Self {
        Front {
            // Most transactions change two accounts (the sender, and a recipient or a contract).
            state: Overlay::with_capacity(base, 2 * len),
            results: Vec::with_capacity(len),
            rejected: None,
            pending_fee: None,
            next_run: 0,
            ended: false,
            hot_fields: hashbrown::HashSet::new(),
            hot_slots: hashbrown::HashSet::new(),
            hot_slot_accounts: hashbrown::HashSet::new(),
        }
    }

    /// Records a committed transaction's result, and its priority fee as pending.
    fn record(&mut self, outcome: TxOutcome) {
        if let Some(fee) = outcome.coinbase_fee {
            self.pending_fee = Some(self.pending_fee.unwrap_or(U256::ZERO).saturating_add(fee));
        }
        self.results.push(TxResult::of(outcome));
    }

    /// Credits the pending fees to the coinbase, creating it if missing.
    fn flush_fees(&mut self, coinbase: Address) -> Result<(), StateError> {
        let Some(fee) = self.pending_fee.take() else { return Ok(()) };
        let mut info = match self.state.account(coinbase)? {
            Some(mut info) => {
                info.balance = info.balance.saturating_add(fee);
                info
            }
            None => AccountInfo { balance: fee, ..AccountInfo::default() },
        };
        if info.code.is_none() {
            info.code = Some(match info.code_hash {
                KECCAK_EMPTY => Bytes::new(),
                hash => self.state.code_by_hash(hash)?,
            });
        }
        let mut credit = StateDiff::default();
        credit.insert(
            coinbase,
            AccountChange::Updated { info, storage_cleared: false, storage: Default::default() },
        );
        self.state.commit(&credit);
        Ok(())
    }

    /// Commits `diff` (moved in, leaving the map empty), then publishes the new values of
    /// the hot locations it changed.
    fn commit(&mut self, diff: &mut StateDiff, hot: &Hot) -> Result<(), StateError> {
        if self.hot_fields.is_empty() && self.hot_slot_accounts.is_empty() {
            self.state.commit_drained(diff);
            return Ok(());
        }
        let mut changed: Vec<(Address, bool, Vec<U256>)> = Vec::new();
        for (address, change) in diff.iter() {
            let fields = self.hot_fields.contains(address);
            let slots: Vec<U256> = match change {
                AccountChange::Updated { storage, .. } if self.hot_slot_accounts.contains(address) => storage
                    .keys()
                    .filter(|slot| self.hot_slots.contains(&(*address, **slot)))
                    .copied()
                    .collect(),
                _ => Vec::new(),
            };
            if fields || !slots.is_empty() {
                changed.push((*address, fields, slots));
            }
        }
        self.state.commit_drained(diff);
        for (address, fields, slots) in changed {
            if fields {
                hot.accounts.insert(address, fields_of(&self.state.account_fields(address)?));
            }
            for slot in slots {
                hot.slots.insert((address, slot), self.state.storage(address, slot)?);
            }
        }
        Ok(())
    }

    /// Makes a location hot and publishes its committed value.
    fn make_hot(&mut self, address: Address, slot: Option<U256>, hot: &Hot) -> Result<(), StateError> {
        hot.mark(filter_bit(&address, slot.as_ref()));
        match slot {
            None => {
                self.hot_fields.insert(address);
                hot.accounts.insert(address, fields_of(&self.state.account_fields(address)?));
            }
            Some(slot) => {
                self.hot_slots.insert((address, slot));
                self.hot_slot_accounts.insert(address);
                hot.slots.insert((address, slot), self.state.storage(address, slot)?);
            }
        }
        Ok(())
    }

    /// Makes the location of a stale read hot.
    fn make_read_hot(&mut self, read: &Read, hot: &Hot) -> Result<(), StateError> {
        match *read {
            Read::Account { address, .. } => self.make_hot(address, None, hot),
            Read::Storage { address, slot, .. } => self.make_hot(address, Some(slot), hot),
            Read::HasStorage { .. } => Ok(()),
        }
    }

    /// Makes hot what a transaction executed again on the front is about to commit: every
    /// slot it writes, and the fields of every account whose fields it changes (not a
    /// contract whose storage alone it wrote, which every run would then look up).
    fn make_writes_hot(&mut self, diff: &StateDiff, hot: &Hot) -> Result<(), StateError> {
        for (address, change) in diff {
            let before = fields_of(&self.state.account_fields(*address)?);
            let after = match change {
                AccountChange::Deleted => None,
                AccountChange::Updated { info, .. } => Some((info.balance, info.nonce, info.code_hash)),
            };
            if before != after {
                self.make_hot(*address, None, hot)?;
            }
            if let AccountChange::Updated { storage, .. } = change {
                for slot in storage.keys() {
                    self.make_hot(*address, Some(*slot), hot)?;
                }
            }
        }
        Ok(())
    }

    /// The first read that no longer holds in the committed state, if any; `trust_local`:
    /// every earlier transaction of the run was committed as executed.
    fn first_stale<'r>(
        &mut self,
        reads: &'r [Read],
        trust_local: bool,
        coinbase: Address,
    ) -> Result<Option<&'r Read>, StateError> {
        for read in reads {
            let address = read.address();
            let by_value = if address == coinbase {
                self.flush_fees(coinbase)?;
                true
            } else {
                match *read {
                    Read::Account { local, .. } | Read::Storage { local, .. } => {
                        if local {
                            !trust_local
                        } else {
                            self.state.diff().contains_key(&address)
                        }
                    }
                    Read::HasStorage { .. } => true,
                }
            };
            if !by_value {
                continue;
            }
            let holds = match *read {
                Read::Account { seen, .. } => fields_of(&self.state.account_fields(address)?) == seen,
                Read::Storage { slot, value, .. } => self.state.storage(address, slot)? == value,
                Read::HasStorage { value, .. } => self.state.has_storage(address)? == value,
            };
            if !holds {
                return Ok(Some(read));
            }
        }
        Ok(None)
    }
}

struct Shared<'a, R> {
    base: &'a R,
    block: &'a BlockInput<'a>,
    config: &'a Config,
    run_len: usize,
    runs: usize,
    next_run: Padded<AtomicUsize>,
    outputs: Vec<Padded<Mutex<Option<RunOutput>>>>,
    front: Mutex<Front<'a, R>>,
    hot: Hot,
    /// Runs committed (mirrors `Front::next_run`, readable without the lock).
    committed_runs: Padded<AtomicUsize>,
    done: Padded<AtomicBool>,
    failure: Mutex<Option<MpefError>>,
    code_analyses: Arc<SharedCodeCache>,
    /// Hands out worker numbers, which index `leftovers`.
    next_worker: AtomicUsize,
    /// Per worker, what the front left of its committed runs ([`Leftover`]).
    leftovers: Vec<Padded<Mutex<Vec<Leftover>>>>,
}

/// A worker's own counters.
#[derive(Default)]
struct Counts {
    executions: usize,
    validations: usize,
    reexecutions: usize,
}

/// How many transactions a run holds for a block of `len` on `threads` workers: about
/// eight runs per worker, between 1 and 32 transactions each.
fn run_length(len: usize, threads: usize) -> usize {
    (len / (threads * 8)).clamp(1, 32)
}

/// Runs the block with optimistic runs on `stats.threads` workers: the included
/// transactions' results, the first rejected transaction if any, and the block's changes.
pub(crate) fn run<R: StateReader + Sync>(
    base: &R,
    block: &BlockInput<'_>,
    config: &Config,
    stats: &mut Stats,
) -> Result<(Vec<TxResult>, Option<Rejected>, StateDiff), MpefError> {
    let len = block.txs.len();
    let threads = stats.threads.max(1);
    let run_len = run_length(len, threads);
    let runs = len.div_ceil(run_len);
    let shared = Shared {
        base,
        block,
        config,
        run_len,
        runs,
        next_run: Padded(AtomicUsize::new(0)),
        outputs: (0..runs).map(|_| Padded(Mutex::new(None))).collect(),
        front: Mutex::new(Front::new(base, len)),
        hot: Hot::new(),
        committed_runs: Padded(AtomicUsize::new(0)),
        done: Padded(AtomicBool::new(len == 0)),
        failure: Mutex::new(None),
        code_analyses: Arc::new(SharedCodeCache::new()),
        next_worker: AtomicUsize::new(0),
        leftovers: (0..threads).map(|_| Padded(Mutex::new(Vec::new()))).collect(),
    };
    let ends = run_on_workers(config, threads, || shared.done.store(true, SeqCst), || worker(&shared))?;
    for counts in ends {
        stats.executions += counts.executions + counts.reexecutions;
        stats.validations += counts.validations;
        stats.aborts += counts.reexecutions;
    }
    if let Some(error) = shared.failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(error);
    }
    let mut front = shared.front.into_inner().unwrap_or_else(|e| e.into_inner());
    if !front.ended && front.next_run < runs {
        return Err(MpefError::Internal("the workers stopped before the last run was committed".into()));
    }
    front
        .flush_fees(block.env.coinbase)
        .map_err(|error| MpefError::State { tx: len.saturating_sub(1), error })?;
    Ok((front.results, front.rejected, front.state.into_diff()))
}

fn fail<R>(shared: &Shared<'_, R>, error: MpefError) {
    let mut slot = lock(&shared.failure);
    if slot.is_none() {
        *slot = Some(error);
    }
    shared.done.store(true, SeqCst);
}

fn worker<R: StateReader + Sync>(shared: &Shared<'_, R>) -> Counts {
    let mut counts = Counts::default();
    let ran = std::panic::catch_unwind(AssertUnwindSafe(|| work(shared, &mut counts)));
    if let Err(payload) = ran {
        fail(shared, MpefError::WorkerPanicked(panic_message(payload.as_ref())));
    }
    counts
}

fn work<R: StateReader + Sync>(shared: &Shared<'_, R>, counts: &mut Counts) {
    let me = shared.next_worker.fetch_add(1, SeqCst) % shared.leftovers.len();
    let mut evm = worker_evm(shared.config, &shared.code_analyses);
    let codes = WorkerCodes::default();
    let mut idle = Backoff::default();
    while !shared.done.load(SeqCst) {
        let claimed = if shared.next_run.load(SeqCst) < shared.runs {
            Some(shared.next_run.fetch_add(1, SeqCst)).filter(|r| *r < shared.runs)
        } else {
            None
        };
        if let Some(run) = claimed {
            let output = speculate(shared, &mut evm, &codes, run, me, counts);
            *lock(&shared.outputs[run]) = Some(output);
            try_commit(shared, &mut evm, counts);
            idle = Backoff::default();
        } else if !try_commit(shared, &mut evm, counts) {
            idle.wait();
        }
    }
    // Free what is left of this worker's runs here rather than on the caller's thread.
    let leftovers = std::mem::take(&mut *lock(&shared.leftovers[me]));
    drop(leftovers);
}

/// Frees what the front left of worker `me`'s committed runs, keeping one emptied merged
/// map and one pair of vectors to run the next run in.
fn reuse_leftovers<R>(shared: &Shared<'_, R>, me: usize) -> (Option<StateDiff>, Vec<Read>, Vec<Speculated>) {
    let (mut merged, mut reads, mut txs) = (None, Vec::new(), Vec::new());
    loop {
        let Some(leftover) = lock(&shared.leftovers[me]).pop() else { break };
        let Leftover { diffs, merged: m, reads: r, txs: t } = leftover;
        drop(diffs);
        if merged.is_none() {
            // Emptied when the run was committed at once; not when it went transaction by
            // transaction.
            merged = m.map(|mut map| {
                map.clear();
                map
            });
        }
        if r.capacity() > reads.capacity() {
            reads = r;
        }
        if t.capacity() > txs.capacity() {
            txs = t;
        }
    }
    (merged, reads, txs)
}

/// Executes run `run`'s transactions in order over the pre-block state and the run's
/// own earlier writes.
fn speculate<R: StateReader + Sync>(
    shared: &Shared<'_, R>,
    evm: &mut Evm,
    codes: &WorkerCodes,
    run: usize,
    me: usize,
    counts: &mut Counts,
) -> RunOutput {
    let block = shared.block;
    let start = run * shared.run_len;
    let end = (start + shared.run_len).min(block.txs.len());
    let (merged, mut reads, mut txs) = reuse_leftovers(shared, me);
    // Room for two accounts per transaction (a sender and a recipient or contract), so the
    // run's map never grows: measured 3-4% faster on transfer blocks than growing it. A map
    // one run grew far beyond that (an airdrop) is not reused: clearing and scanning it
    // costs in proportion to its size.
    let room = 2 * (end - start) + 2;
    let mut local = match merged {
        Some(map) if (room..=4 * room).contains(&map.capacity()) => Overlay::with_diff(shared.base, map),
        _ => Overlay::with_capacity(shared.base, room),
    };
    reads.reserve((end - start) * 4);
    txs.reserve(end - start);
    let reads = RefCell::new(reads);
    for tx in &block.txs[start..end] {
        counts.executions += 1;
        let from = reads.borrow().len();
        let result = {
            let reader =
                RunReader { base: shared.base, local: local.diff(), hot: &shared.hot, reads: &reads, codes };
            evm.transact(&reader, block.env, block.cfg, tx)
        };
        if let Ok(outcome) = &result {
            local.commit(&outcome.diff);
        }
        txs.push(Speculated { result, reads: from..reads.borrow().len() });
    }
    RunOutput { txs, reads: reads.into_inner(), merged: local.into_diff(), worker: me }
}

/// Commits the runs that are ready, in order, unless another worker is doing so; true
/// when this call committed something. After releasing the front it looks again, so a run
/// finished while it held the front is not left waiting.
fn try_commit<R: StateReader + Sync>(shared: &Shared<'_, R>, evm: &mut Evm, counts: &mut Counts) -> bool {
    let mut progressed = false;
    loop {
        let Ok(mut front) = shared.front.try_lock() else { return progressed };
        let advanced = advance(shared, &mut front, evm, counts);
        drop(front);
        match advanced {
            Ok(advanced) => progressed |= advanced,
            Err(error) => {
                fail(shared, error);
                return true;
            }
        }
        // Whether or not this turn committed anything, a run stored while the front was
        // held found it taken: look again.
        let next = shared.committed_runs.load(SeqCst);
        if shared.done.load(SeqCst) || next >= shared.runs || lock(&shared.outputs[next]).is_none() {
            return progressed;
        }
    }
}

/// Commits ready runs in order; whether it committed any.
fn advance<R: StateReader + Sync>(
    shared: &Shared<'_, R>,
    front: &mut Front<'_, R>,
    evm: &mut Evm,
    counts: &mut Counts,
) -> Result<bool, MpefError> {
    let mut advanced = false;
    while !front.ended && front.next_run < shared.runs {
        let Some(output) = lock(&shared.outputs[front.next_run]).take() else { break };
        commit_run(shared, front, evm, output, counts)?;
        front.next_run += 1;
        shared.committed_runs.store(front.next_run, SeqCst);
        advanced = true;
    }
    if front.ended || front.next_run >= shared.runs {
        shared.done.store(true, SeqCst);
    }
    Ok(advanced)
}

/// Whether the whole run can be committed at once: every transaction executed, none read
/// the coinbase or asked `has_storage`, and every read of the pre-block state is current.
/// Reads of the run's own writes then hold too, and checking every read against the state
/// before the run is exact: a read of the pre-block state means no earlier transaction of
/// the run had written that location.
fn run_holds<R: StateReader>(
    front: &Front<'_, R>,
    output: &RunOutput,
    coinbase: Address,
) -> Result<bool, StateError> {
    if output.txs.iter().any(|t| t.result.is_err()) {
        return Ok(false);
    }
    for read in &output.reads {
        let holds = match *read {
            Read::HasStorage { .. } => false,
            _ if read.address() == coinbase => false,
            Read::Account { local: true, .. } | Read::Storage { local: true, .. } => true,
            Read::Account { address, seen, .. } => {
                !front.state.diff().contains_key(&address)
                    || fields_of(&front.state.account_fields(address)?) == seen
            }
            Read::Storage { address, slot, value, .. } => {
                !front.state.diff().contains_key(&address) || front.state.storage(address, slot)? == value
            }
        };
        if !holds {
            return Ok(false);
        }
    }
    Ok(true)
}

fn commit_run<R: StateReader + Sync>(
    shared: &Shared<'_, R>,
    front: &mut Front<'_, R>,
    evm: &mut Evm,
    mut output: RunOutput,
    counts: &mut Counts,
) -> Result<(), MpefError> {
    let mut leftover = Leftover {
        diffs: Vec::with_capacity(output.txs.len()),
        merged: None,
        reads: Vec::new(),
        txs: Vec::new(),
    };
    let committed = commit_txs(shared, front, evm, &mut output, &mut leftover, counts);
    let RunOutput { mut txs, mut reads, merged, worker } = output;
    txs.clear();
    reads.clear();
    leftover.merged = Some(merged);
    leftover.reads = reads;
    leftover.txs = txs;
    lock(&shared.leftovers[worker]).push(leftover);
    committed
}

/// Commits one run's transactions, whole when [`run_holds`], else one by one; the diffs it
/// is done with go to `leftover`.
fn commit_txs<R: StateReader + Sync>(
    shared: &Shared<'_, R>,
    front: &mut Front<'_, R>,
    evm: &mut Evm,
    output: &mut RunOutput,
    leftover: &mut Leftover,
    counts: &mut Counts,
) -> Result<(), MpefError> {
    let block = shared.block;
    let coinbase = block.env.coinbase;
    let first = front.next_run * shared.run_len;
    if run_holds(front, output, coinbase).map_err(|error| MpefError::State { tx: first, error })? {
        counts.validations += output.txs.len();
        // `run_holds` found every result `Ok`.
        for mut outcome in output.txs.drain(..).filter_map(|t| t.result.ok()) {
            leftover.diffs.push(std::mem::take(&mut outcome.diff));
            front.record(outcome);
        }
        return front
            .commit(&mut output.merged, &shared.hot)
            .map_err(|error| MpefError::State { tx: first, error });
    }
    let mut trust_local = true;
    for (offset, speculated) in output.txs.drain(..).enumerate() {
        let idx = first + offset;
        let state_error = |error| MpefError::State { tx: idx, error };
        counts.validations += 1;
        let holds = match speculated.result {
            Err(TxError::State(_)) => false,
            _ => match front.first_stale(&output.reads[speculated.reads], trust_local, coinbase) {
                Ok(None) => true,
                Ok(Some(stale)) => {
                    front.make_read_hot(stale, &shared.hot).map_err(state_error)?;
                    false
                }
                Err(error) => return Err(state_error(error)),
            },
        };
        let result = if holds {
            speculated.result
        } else {
            if let Ok(mut stale) = speculated.result {
                leftover.diffs.push(std::mem::take(&mut stale.diff));
            }
            trust_local = false;
            counts.reexecutions += 1;
            front.flush_fees(coinbase).map_err(state_error)?;
            let result = match evm.transact(&front.state, block.env, block.cfg, &block.txs[idx]) {
                Err(TxError::State(error)) => return Err(state_error(error)),
                result => result,
            };
            // What a conflicting transaction writes, its successors on the same pool or
            // sender are likely to read: publish it, not only the stale location.
            if let Ok(outcome) = &result {
                front.make_writes_hot(&outcome.diff, &shared.hot).map_err(state_error)?;
            }
            result
        };
        match result {
            Ok(mut outcome) => {
                front.commit(&mut outcome.diff, &shared.hot).map_err(state_error)?;
                if holds {
                    // Executed by the run's worker: its empty map goes back there.
                    leftover.diffs.push(std::mem::take(&mut outcome.diff));
                }
                front.record(outcome);
            }
            Err(error) => {
                front.rejected = Some(Rejected { index: idx, error });
                front.ended = true;
                return Ok(());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use metisvm_state::MemoryState;

    fn updated(balance: u64, slots: &[(u64, u64)]) -> AccountChange {
        AccountChange::Updated {
            info: AccountInfo { balance: U256::from(balance), ..AccountInfo::default() },
            storage_cleared: false,
            storage: slots.iter().map(|(s, v)| (U256::from(*s), U256::from(*v))).collect(),
        }
    }

    #[test]
    fn commits_publish_only_hot_locations_and_runs_read_them() {
        let (pool, other) = (Address::repeat_byte(1), Address::repeat_byte(2));
        let base = MemoryState::new();
        let hot = Hot::new();
        let mut front = Front::new(&base, 4);
        front.commit(&mut StateDiff::from_iter([(pool, updated(5, &[(1, 10)]))]), &hot).unwrap();
        assert!(hot.accounts.is_empty() && hot.slots.is_empty(), "nothing is hot yet");
        // Stale reads of the pool's slot and fields make them hot, with their committed values.
        let stale_slot =
            Read::Storage { address: pool, slot: U256::from(1), value: U256::ZERO, local: false };
        front.make_read_hot(&stale_slot, &hot).unwrap();
        front.make_read_hot(&Read::Account { address: pool, seen: None, local: false }, &hot).unwrap();
        assert_eq!(hot.slot(pool, U256::from(1)), Some(U256::from(10)));
        // Later commits republish the hot locations they change, and nothing else.
        let mut diff =
            StateDiff::from_iter([(pool, updated(6, &[(1, 11), (2, 7)])), (other, updated(9, &[]))]);
        front.commit(&mut diff, &hot).unwrap();
        assert_eq!(hot.account(&pool), Some(Some((U256::from(6), 0, KECCAK_EMPTY))));
        assert_eq!(hot.slot(pool, U256::from(1)), Some(U256::from(11)));
        assert_eq!(hot.slot(pool, U256::from(2)), None, "slot 2 is not hot");
        assert_eq!(hot.account(&other), None);
        // A transaction executed again makes its writes hot: every slot, and the fields of
        // accounts whose fields change (not `other`'s, which it leaves as committed).
        let mut rerun = StateDiff::from_iter([(pool, updated(6, &[(2, 8)])), (other, updated(9, &[]))]);
        front.make_writes_hot(&rerun, &hot).unwrap();
        front.commit(&mut rerun, &hot).unwrap();
        assert_eq!(hot.slot(pool, U256::from(2)), Some(U256::from(8)));
        assert_eq!(hot.account(&other), None);
        // A run reads the published values, recorded as reads of shared state.
        let (local, reads, codes) = (StateDiff::default(), RefCell::new(Vec::new()), WorkerCodes::default());
        let reader = RunReader { base: &base, local: &local, hot: &hot, reads: &reads, codes: &codes };
        assert_eq!(reader.storage(pool, U256::from(2)).unwrap(), U256::from(8));
        assert_eq!(reader.account(pool).unwrap().map(|a| a.balance), Some(U256::from(6)));
        assert_eq!(reader.account(other).unwrap(), None, "not hot: the pre-block state");
        assert!(reads
            .borrow()
            .iter()
            .all(|r| !matches!(r, Read::Account { local: true, .. } | Read::Storage { local: true, .. })));
        // Every read is still checked on the front: the pool's published values are current,
        // and `other`, read from the pre-block state, is what the front catches.
        let reads = reads.borrow();
        let stale = front.first_stale(&reads, true, Address::ZERO).unwrap();
        assert!(matches!(stale, Some(Read::Account { address, .. }) if *address == other), "{stale:?}");
    }

    #[test]
    fn filter_bits_separate_fields_from_slots_and_stay_in_range() {
        let address = Address::repeat_byte(7);
        let fields = filter_bit(&address, None);
        let slots: Vec<usize> = (0..64u64).map(|s| filter_bit(&address, Some(&U256::from(s)))).collect();
        assert!(slots.iter().chain([&fields]).all(|b| *b < FILTER_WORDS * 64));
        assert!(!slots.contains(&fields));
        let distinct: hashbrown::HashSet<_> = slots.iter().collect();
        assert!(distinct.len() > 60, "consecutive slots spread over the filter: {}", distinct.len());
    }
}
