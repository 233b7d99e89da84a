//! Multi-version memory: for every state location a block's transactions wrote, the value
//! each transaction's latest incarnation wrote there, ordered by transaction index.
//!
//! A transaction at index `j` reads a location by taking the write of the highest index below
//! `j`, or the pre-block state when there is none. Locations are exact:
//!
//! - [`Location::Account`]: balance, nonce and code of one account (or its absence);
//! - [`Location::CodeHash`]: the code hash alone, written whenever an account's code changes,
//!   so a plain transfer can learn that its recipient has no code without reading its balance;
//! - [`Location::Storage`]: one slot of one account;
//! - [`Location::StorageReset`]: the account's whole storage was dropped (self-destruct, or a
//!   contract created anew), so slots written before it read as zero after it.
//!
//! Besides full values, an account can receive a [`Write::Credit`]: a balance increase that
//! does not depend on the balance before it (the coinbase's priority fees, the recipient of a
//! plain value transfer). Credits stack: a read adds every credit above the latest full value.
//! That is what keeps the coinbase from serialising the block.
//!
//! An aborted incarnation's writes become ESTIMATE markers until its next incarnation finishes;
//! a read that meets one reports the writer as a dependency (see [`crate::scheduler`]).

use crate::Padded;
use dashmap::DashMap;
use hashbrown::DefaultHashBuilder;
use metisvm_vm::{AccountInfo, Address, Bytes, StateError, StateReader, B256, KECCAK_EMPTY, U256};
use std::sync::Mutex;

/// A transaction's position in the block.
pub(crate) type TxIdx = usize;
/// How many times a transaction has been (re)started.
pub(crate) type Incarnation = u32;

/// An exact state location (never a hash of one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Location {
    Account(Address),
    CodeHash(Address),
    Storage(Address, U256),
    StorageReset(Address),
    /// The transaction's priority fee credited to the block's coinbase.
    CoinbaseFee,
}

impl Location {
    /// The account the location belongs to (`CoinbaseFee`'s is the coinbase, which the map
    /// never holds under that location).
    fn address(&self) -> Address {
        match *self {
            Location::Account(a)
            | Location::CodeHash(a)
            | Location::Storage(a, _)
            | Location::StorageReset(a) => a,
            Location::CoinbaseFee => Address::ZERO,
        }
    }
}

/// A value a transaction wrote.
#[derive(Debug, Clone)]
pub(crate) enum Write {
    /// The account's fields after the transaction; `None`: deleted.
    Account(Option<AccountInfo>),
    /// A balance increase of an account (created with this balance if missing).
    Credit(U256),
    CodeHash(B256),
    Storage(U256),
    StorageReset,
}

#[derive(Debug, Clone)]
enum Cell {
    Written(Write),
    Estimate,
}

/// The write of one transaction to one location. Validation compares values, not
/// incarnations, so an incarnation that rewrites what its predecessor wrote invalidates
/// nothing.
#[derive(Debug, Clone)]
struct Entry {
    cell: Cell,
}

/// Where a read's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin<T> {
    /// No transaction below the reader wrote the location: the pre-block state.
    Base,
    /// The value resolved from the block's writes (plus the pre-block state under credits).
    Value(T),
}

/// The parts of an account a transaction's behaviour can depend on.
pub(crate) type AccountKey = Option<(U256, u64, B256)>;

pub(crate) fn account_key(info: &Option<AccountInfo>) -> AccountKey {
    info.as_ref().map(|i| (i.balance, i.nonce, i.code_hash))
}

/// One read of a transaction incarnation, kept for validation.
#[derive(Debug, Clone)]
pub(crate) enum Read {
    Account(Address, Origin<AccountKey>),
    CodeHash(Address, Origin<B256>),
    Storage(Address, U256, Origin<U256>),
    /// EIP-7610's storage check: valid while no transaction below wrote the account or reset
    /// its storage.
    Untouched(Address),
}

/// A read met an ESTIMATE of this transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Blocked(pub(crate) TxIdx);

/// Why a read could not be resolved.
#[derive(Debug)]
pub(crate) enum ReadError {
    Blocked(Blocked),
    State(StateError),
}

impl From<Blocked> for ReadError {
    fn from(b: Blocked) -> Self {
        ReadError::Blocked(b)
    }
}

impl From<StateError> for ReadError {
    fn from(e: StateError) -> Self {
        ReadError::State(e)
    }
}

/// The writes to one location, sorted by transaction index. Most locations have one or two
/// writers, so a sorted vector (one small allocation) beats a tree.
#[derive(Debug, Default)]
struct Versions(Vec<(TxIdx, Entry)>);

impl Versions {
    /// Entries of transactions below `idx`, in increasing order.
    fn below(&self, idx: TxIdx) -> &[(TxIdx, Entry)] {
        &self.0[..self.0.partition_point(|(k, _)| *k < idx)]
    }

    fn insert(&mut self, idx: TxIdx, entry: Entry) {
        match self.0.binary_search_by_key(&idx, |(k, _)| *k) {
            Ok(at) => self.0[at].1 = entry,
            Err(at) => self.0.insert(at, (idx, entry)),
        }
    }

    fn get_mut(&mut self, idx: TxIdx) -> Option<&mut Entry> {
        let at = self.0.binary_search_by_key(&idx, |(k, _)| *k).ok()?;
        Some(&mut self.0[at].1)
    }

    fn remove(&mut self, idx: TxIdx) {
        if let Ok(at) = self.0.binary_search_by_key(&idx, |(k, _)| *k) {
            self.0.remove(at);
        }
    }
}

/// A transaction's priority fee to the coinbase. Every transaction pays one, so they live
/// in an array by transaction index rather than under one hot map entry.
#[derive(Debug, Clone, Copy)]
enum Fee {
    None,
    Credit(U256),
    Estimate,
}

/// An account's writes below some transaction, before the pre-block state is consulted.
#[derive(Debug, Default)]
struct AccountWrites {
    /// The latest full value, if any.
    full: Option<Option<AccountInfo>>,
    /// The sum of the credits above it, if any.
    credit: Option<U256>,
}

/// The full value and credits of an account from its writes (in increasing transaction
/// order), with the index of the full write.
fn fold_account(entries: &[(TxIdx, Entry)]) -> Result<(AccountWrites, Option<TxIdx>), Blocked> {
    let mut writes = AccountWrites::default();
    for (k, entry) in entries.iter().rev() {
        match &entry.cell {
            Cell::Estimate => return Err(Blocked(*k)),
            Cell::Written(Write::Credit(c)) => writes.add_credit(*c),
            Cell::Written(Write::Account(info)) => {
                writes.full = Some(info.clone());
                return Ok((writes, Some(*k)));
            }
            Cell::Written(_) => unreachable!("only account writes are filed under Location::Account"),
        }
    }
    Ok((writes, None))
}

impl AccountWrites {
    fn add_credit(&mut self, c: U256) {
        self.credit = Some(self.credit.unwrap_or_default().saturating_add(c));
    }

    fn is_empty(&self) -> bool {
        self.full.is_none() && self.credit.is_none()
    }

    /// The account: the full value (or `base`'s) plus the credits.
    fn apply<R: StateReader>(self, base: &R, address: Address) -> Result<Option<AccountInfo>, StateError> {
        let mut info = match self.full {
            Some(info) => info,
            None => base.account(address)?,
        };
        if let Some(c) = self.credit {
            let account = info.get_or_insert_with(AccountInfo::default);
            account.balance = account.balance.saturating_add(c);
        }
        Ok(info)
    }
}

/// The block's writes by location, plus what each transaction last read and wrote.
pub(crate) struct MvMemory {
    data: DashMap<Location, Versions, DefaultHashBuilder>,
    coinbase: Address,
    fees: Vec<Padded<Mutex<Fee>>>,
    /// Code written in the block, by hash (content-addressed, so never stale).
    codes: DashMap<B256, Bytes, DefaultHashBuilder>,
    last_writes: Vec<Padded<Mutex<Vec<Location>>>>,
    last_reads: Vec<Padded<Mutex<Vec<Read>>>>,
}

impl MvMemory {
    pub(crate) fn new(txs: usize, coinbase: Address) -> MvMemory {
        MvMemory {
            // Presized (a transaction writes two or three locations) and finely sharded, so
            // workers rarely meet on a shard lock.
            data: DashMap::with_capacity_and_hasher_and_shard_amount(
                txs * 2,
                DefaultHashBuilder::default(),
                128,
            ),
            coinbase,
            fees: (0..txs).map(|_| Padded(Mutex::new(Fee::None))).collect(),
            codes: DashMap::with_hasher(DefaultHashBuilder::default()),
            last_writes: (0..txs).map(|_| Padded(Mutex::new(Vec::new()))).collect(),
            last_reads: (0..txs).map(|_| Padded(Mutex::new(Vec::new()))).collect(),
        }
    }

    /// Stores the read and write sets of the latest incarnation of transaction `idx`,
    /// dropping writes of its earlier incarnation that this one did not repeat. Returns
    /// whether it wrote a location the earlier incarnation had not (later transactions that
    /// validated against the old writes must then be validated again).
    pub(crate) fn record(&self, idx: TxIdx, reads: Vec<Read>, writes: Vec<(Location, Write)>) -> bool {
        for (_, write) in &writes {
            if let Write::Account(Some(AccountInfo { code_hash, code: Some(code), .. })) = write {
                if *code_hash != KECCAK_EMPTY && !self.codes.contains_key(code_hash) {
                    self.codes.insert(*code_hash, code.clone());
                }
            }
        }
        let mut last_writes = lock(&self.last_writes[idx]);
        let mut wrote_new = false;
        let mut locations = Vec::with_capacity(writes.len());
        for (location, write) in writes {
            wrote_new |= !last_writes.contains(&location);
            locations.push(location);
            match (location, write) {
                (Location::CoinbaseFee, Write::Credit(fee)) => *lock(&self.fees[idx]) = Fee::Credit(fee),
                (_, write) => {
                    self.data.entry(location).or_default().insert(idx, Entry { cell: Cell::Written(write) })
                }
            }
        }
        for stale in last_writes.iter().filter(|l| !locations.contains(l)) {
            if *stale == Location::CoinbaseFee {
                *lock(&self.fees[idx]) = Fee::None;
            } else if let Some(mut versions) = self.data.get_mut(stale) {
                versions.remove(idx);
            }
        }
        *last_writes = locations;
        *lock(&self.last_reads[idx]) = reads;
        wrote_new
    }

    /// Turns the last writes of `idx` into ESTIMATE markers (its incarnation was aborted).
    pub(crate) fn mark_estimates(&self, idx: TxIdx) {
        for location in lock(&self.last_writes[idx]).iter() {
            if *location == Location::CoinbaseFee {
                *lock(&self.fees[idx]) = Fee::Estimate;
            } else if let Some(mut versions) = self.data.get_mut(location) {
                if let Some(entry) = versions.get_mut(idx) {
                    entry.cell = Cell::Estimate;
                }
            }
        }
    }

    /// The code with `hash` if a transaction of the block deployed it.
    pub(crate) fn code(&self, hash: &B256) -> Option<Bytes> {
        self.codes.get(hash).map(|c| c.clone())
    }

    /// The latest write to `location` below `idx`, as (index, value), or `Blocked`.
    fn latest(&self, location: &Location, idx: TxIdx) -> Result<Option<(TxIdx, Write)>, Blocked> {
        let Some(versions) = self.data.get(location) else { return Ok(None) };
        match versions.below(idx).last() {
            None => Ok(None),
            Some((k, Entry { cell: Cell::Estimate })) => Err(Blocked(*k)),
            Some((k, Entry { cell: Cell::Written(w) })) => Ok(Some((*k, w.clone()))),
        }
    }

    /// Whether any transaction below `idx` wrote `location` (estimates included).
    pub(crate) fn written_below(&self, location: &Location, idx: TxIdx) -> bool {
        let fee_below =
            || self.fees[..idx.min(self.fees.len())].iter().any(|f| !matches!(*lock(f), Fee::None));
        self.data.get(location).is_some_and(|v| !v.below(idx).is_empty())
            || (*location == Location::Account(self.coinbase) && fee_below())
    }

    /// The writes to the account at `address` that transaction `idx` sees.
    fn account_writes(&self, address: Address, idx: TxIdx) -> Result<AccountWrites, Blocked> {
        let (mut writes, full_at) = match self.data.get(&Location::Account(address)) {
            Some(versions) => fold_account(versions.below(idx))?,
            None => (AccountWrites::default(), None),
        };
        if address == self.coinbase {
            let from = full_at.map_or(0, |k| k + 1);
            for (k, fee) in self.fees.iter().enumerate().take(idx).skip(from) {
                match *lock(fee) {
                    Fee::None => {}
                    Fee::Credit(c) => writes.add_credit(c),
                    Fee::Estimate => return Err(Blocked(k)),
                }
            }
        }
        Ok(writes)
    }

    /// The account at `address` as transaction `idx` sees it.
    pub(crate) fn read_account<R: StateReader>(
        &self,
        base: &R,
        address: Address,
        idx: TxIdx,
    ) -> Result<(Option<AccountInfo>, Origin<AccountKey>), ReadError> {
        let writes = self.account_writes(address, idx)?;
        if writes.is_empty() {
            return Ok((base.account(address)?, Origin::Base));
        }
        let info = writes.apply(base, address)?;
        let key = account_key(&info);
        Ok((info, Origin::Value(key)))
    }

    /// The code hash of `address` as transaction `idx` sees it.
    pub(crate) fn read_code_hash<R: StateReader>(
        &self,
        base: &R,
        address: Address,
        idx: TxIdx,
    ) -> Result<(B256, Origin<B256>), ReadError> {
        match self.latest(&Location::CodeHash(address), idx)? {
            Some((_, Write::CodeHash(hash))) => Ok((hash, Origin::Value(hash))),
            Some(_) => unreachable!("only code hashes are filed under Location::CodeHash"),
            None => {
                let hash = base.account(address)?.map_or(KECCAK_EMPTY, |a| a.code_hash);
                Ok((hash, Origin::Base))
            }
        }
    }

    /// Slot `slot` of `address` as transaction `idx` sees it; `Origin::Base` means the caller
    /// reads the pre-block store.
    pub(crate) fn read_storage(
        &self,
        address: Address,
        slot: U256,
        idx: TxIdx,
    ) -> Result<Origin<U256>, Blocked> {
        let reset = self.latest(&Location::StorageReset(address), idx)?.map(|(k, _)| k);
        let written = self.latest(&Location::Storage(address, slot), idx);
        let written = match (written, reset) {
            (Err(Blocked(k)), Some(c)) if k < c => None,
            (w, _) => w?,
        };
        Ok(match (written, reset) {
            (Some((k, Write::Storage(v))), Some(c)) if k >= c => Origin::Value(v),
            (_, Some(_)) => Origin::Value(U256::ZERO),
            (Some((_, Write::Storage(v))), None) => Origin::Value(v),
            (Some(_), None) => unreachable!("only slot values are filed under Location::Storage"),
            (None, None) => Origin::Base,
        })
    }

    /// Whether the reads of the last incarnation of `idx` would see the same values now. A
    /// read of the pre-block state stays valid while no lower transaction wrote the location,
    /// which needs no read of the store.
    pub(crate) fn validate<R: StateReader>(&self, base: &R, idx: TxIdx) -> Result<bool, StateError> {
        let reads = lock(&self.last_reads[idx]);
        for read in reads.iter() {
            let same = match read {
                Read::Account(address, origin) => match self.account_writes(*address, idx) {
                    Err(Blocked(_)) => false,
                    Ok(writes) if writes.is_empty() => *origin == Origin::Base,
                    Ok(_) if *origin == Origin::Base => false,
                    Ok(writes) => Origin::Value(account_key(&writes.apply(base, *address)?)) == *origin,
                },
                Read::CodeHash(address, origin) => match self.latest(&Location::CodeHash(*address), idx) {
                    Err(Blocked(_)) => false,
                    Ok(None) => *origin == Origin::Base,
                    Ok(Some((_, Write::CodeHash(hash)))) => *origin == Origin::Value(hash),
                    Ok(Some(_)) => false,
                },
                Read::Storage(address, slot, origin) => {
                    self.read_storage(*address, *slot, idx).is_ok_and(|now| now == *origin)
                }
                Read::Untouched(address) => {
                    !self.written_below(&Location::Account(*address), idx)
                        && !self.written_below(&Location::StorageReset(*address), idx)
                }
            };
            if !same {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The block's changes from the writes of transactions below `end`, one entry per
    /// account, ready to commit to a store. One pass over the map gathers each account's
    /// writes; the store is read only for accounts the block credited without a full write.
    pub(crate) fn changes<R: StateReader>(
        &self,
        base: &R,
        end: TxIdx,
    ) -> Result<metisvm_vm::StateDiff, StateError> {
        use metisvm_vm::AccountChange;
        #[derive(Default)]
        struct Gathered {
            account: AccountWrites,
            reset: Option<TxIdx>,
            slots: Vec<(U256, TxIdx, U256)>,
        }
        let mut by_address: hashbrown::HashMap<Address, Gathered> =
            hashbrown::HashMap::with_capacity(self.data.len());
        for item in self.data.iter() {
            let location = *item.key();
            let below = item.value().below(end);
            let Some((last, entry)) = below.last() else { continue };
            if matches!(entry.cell, Cell::Estimate) {
                return Err(estimate_at_end(Blocked(*last)));
            }
            let gathered = by_address.entry(location.address()).or_default();
            match (location, &entry.cell) {
                (Location::Storage(_, slot), Cell::Written(Write::Storage(v))) => {
                    gathered.slots.push((slot, *last, *v))
                }
                (Location::StorageReset(_), _) => gathered.reset = Some(*last),
                (Location::Account(address), _) if address != self.coinbase => {
                    gathered.account = fold_account(below).map_err(estimate_at_end)?.0;
                }
                _ => {}
            }
        }
        let coinbase = self.account_writes(self.coinbase, end).map_err(estimate_at_end)?;
        if !coinbase.is_empty() {
            by_address.entry(self.coinbase).or_default().account = coinbase;
        }
        let mut diff = metisvm_vm::StateDiff::with_capacity(by_address.len());
        for (address, gathered) in by_address {
            let change = match gathered.account.apply(base, address)? {
                None => AccountChange::Deleted,
                Some(mut info) => {
                    if info.code.is_none() {
                        info.code = Some(match self.code(&info.code_hash) {
                            Some(code) => code,
                            None if info.code_hash == KECCAK_EMPTY => Bytes::new(),
                            None => base.code_by_hash(info.code_hash)?,
                        });
                    }
                    let reset = gathered.reset;
                    let storage = gathered
                        .slots
                        .into_iter()
                        .filter(|(_, k, _)| reset.is_none_or(|c| *k >= c))
                        .map(|(slot, _, v)| (slot, v))
                        .collect();
                    AccountChange::Updated { info, storage_cleared: reset.is_some(), storage }
                }
            };
            diff.insert(address, change);
        }
        Ok(diff)
    }
}

fn estimate_at_end(Blocked(k): Blocked) -> StateError {
    StateError(format!("transaction {k} left an unfinished write at the end of the block"))
}

/// Locks a mutex, ignoring poisoning: a panicking worker is reported by the executor, and
/// these vectors are only replaced whole.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
