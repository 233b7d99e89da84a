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

use dashmap::DashMap;
use hashbrown::DefaultHashBuilder;
use metisvm_vm::{AccountInfo, Address, Bytes, StateError, StateReader, B256, KECCAK_EMPTY, U256};
use std::collections::BTreeMap;
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
}

impl Location {
    fn address(&self) -> Address {
        match *self {
            Location::Account(a) | Location::CodeHash(a) | Location::Storage(a, _) | Location::StorageReset(a) => a,
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

/// The block's writes by location, plus what each transaction last read and wrote.
pub(crate) struct MvMemory {
    data: DashMap<Location, BTreeMap<TxIdx, Entry>, DefaultHashBuilder>,
    /// Code written in the block, by hash (content-addressed, so never stale).
    codes: DashMap<B256, Bytes, DefaultHashBuilder>,
    last_writes: Vec<Mutex<Vec<Location>>>,
    last_reads: Vec<Mutex<Vec<Read>>>,
}

impl MvMemory {
    pub(crate) fn new(txs: usize) -> MvMemory {
        MvMemory {
            data: DashMap::with_hasher(DefaultHashBuilder::default()),
            codes: DashMap::with_hasher(DefaultHashBuilder::default()),
            last_writes: (0..txs).map(|_| Mutex::new(Vec::new())).collect(),
            last_reads: (0..txs).map(|_| Mutex::new(Vec::new())).collect(),
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
            let entry = Entry { cell: Cell::Written(write) };
            self.data.entry(location).or_default().insert(idx, entry);
            wrote_new |= !last_writes.contains(&location);
            locations.push(location);
        }
        for stale in last_writes.iter().filter(|l| !locations.contains(l)) {
            if let Some(mut versions) = self.data.get_mut(stale) {
                versions.remove(&idx);
            }
        }
        *last_writes = locations;
        *lock(&self.last_reads[idx]) = reads;
        wrote_new
    }

    /// Turns the last writes of `idx` into ESTIMATE markers (its incarnation was aborted).
    pub(crate) fn mark_estimates(&self, idx: TxIdx) {
        for location in lock(&self.last_writes[idx]).iter() {
            if let Some(mut versions) = self.data.get_mut(location) {
                if let Some(entry) = versions.get_mut(&idx) {
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
        match versions.range(..idx).next_back() {
            None => Ok(None),
            Some((k, Entry { cell: Cell::Estimate })) => Err(Blocked(*k)),
            Some((k, Entry { cell: Cell::Written(w) })) => Ok(Some((*k, w.clone()))),
        }
    }

    /// Whether any transaction below `idx` wrote `location` (estimates included).
    pub(crate) fn written_below(&self, location: &Location, idx: TxIdx) -> bool {
        self.data.get(location).is_some_and(|v| v.range(..idx).next().is_some())
    }

    /// The account at `address` as transaction `idx` sees it.
    pub(crate) fn read_account<R: StateReader>(
        &self,
        base: &R,
        address: Address,
        idx: TxIdx,
    ) -> Result<(Option<AccountInfo>, Origin<AccountKey>), ReadError> {
        let mut credit: Option<U256> = None;
        let mut full: Option<Option<AccountInfo>> = None;
        if let Some(versions) = self.data.get(&Location::Account(address)) {
            for (k, entry) in versions.range(..idx).rev() {
                match &entry.cell {
                    Cell::Estimate => return Err(Blocked(*k).into()),
                    Cell::Written(Write::Credit(c)) => {
                        credit = Some(credit.unwrap_or_default().saturating_add(*c));
                    }
                    Cell::Written(Write::Account(info)) => {
                        full = Some(info.clone());
                        break;
                    }
                    Cell::Written(_) => unreachable!("only account writes are filed under Location::Account"),
                }
            }
        }
        if full.is_none() && credit.is_none() {
            let info = base.account(address)?;
            return Ok((info, Origin::Base));
        }
        let mut info = match full {
            Some(info) => info,
            None => base.account(address)?,
        };
        if let Some(c) = credit {
            let account = info.get_or_insert_with(|| AccountInfo { balance: U256::ZERO, ..AccountInfo::default() });
            account.balance = account.balance.saturating_add(c);
        }
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
    pub(crate) fn read_storage(&self, address: Address, slot: U256, idx: TxIdx) -> Result<Origin<U256>, Blocked> {
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

    /// Whether the reads of the last incarnation of `idx` would see the same values now.
    pub(crate) fn validate<R: StateReader>(&self, base: &R, idx: TxIdx) -> Result<bool, StateError> {
        let reads = lock(&self.last_reads[idx]);
        for read in reads.iter() {
            let same = match read {
                Read::Account(address, origin) => match self.read_account(base, *address, idx) {
                    Ok((_, now)) => now == *origin,
                    Err(ReadError::Blocked(_)) => false,
                    Err(ReadError::State(e)) => return Err(e),
                },
                Read::CodeHash(address, origin) => match self.read_code_hash(base, *address, idx) {
                    Ok((_, now)) => now == *origin,
                    Err(ReadError::Blocked(_)) => false,
                    Err(ReadError::State(e)) => return Err(e),
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
    /// account, ready to commit to a store.
    pub(crate) fn changes<R: StateReader>(&self, base: &R, end: TxIdx) -> Result<metisvm_vm::StateDiff, StateError> {
        use metisvm_vm::AccountChange;
        let mut slots: hashbrown::HashMap<Address, Vec<(U256, TxIdx, U256)>> = hashbrown::HashMap::new();
        let mut touched: hashbrown::HashSet<Address> = hashbrown::HashSet::new();
        for item in self.data.iter() {
            let location = *item.key();
            let Some((k, entry)) = item.value().range(..end).next_back() else { continue };
            touched.insert(location.address());
            if let (Location::Storage(address, slot), Cell::Written(Write::Storage(v))) = (location, &entry.cell) {
                slots.entry(address).or_default().push((slot, *k, *v));
            }
        }
        let mut diff = metisvm_vm::StateDiff::with_capacity(touched.len());
        for address in touched {
            let reset = self.latest(&Location::StorageReset(address), end).map_err(estimate_at_end)?.map(|(k, _)| k);
            let (info, _) = self.read_account(base, address, end).map_err(|e| match e {
                ReadError::Blocked(b) => estimate_at_end(b),
                ReadError::State(e) => e,
            })?;
            let change = match info {
                None => AccountChange::Deleted,
                Some(mut info) => {
                    if info.code.is_none() {
                        info.code = Some(match self.code(&info.code_hash) {
                            Some(code) => code,
                            None if info.code_hash == KECCAK_EMPTY => Bytes::new(),
                            None => base.code_by_hash(info.code_hash)?,
                        });
                    }
                    let storage = slots
                        .remove(&address)
                        .unwrap_or_default()
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
