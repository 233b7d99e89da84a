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

use crate::locations::{LocationTable, GAS_PER_LOCATION};
use crate::Padded;
use dashmap::DashMap;
use hashbrown::DefaultHashBuilder;
use metisvm_vm::{
    AccountChange, AccountInfo, Address, Bytes, StateDiff, StateError, StateReader, B256, KECCAK_EMPTY, U256,
};
use std::sync::atomic::Ordering;
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

/// An account's balance, nonce and code hash as a transaction left them (its code goes by
/// hash, see [`MvMemory::add_code`]). Held inline in writes: a shared pointer would cost an
/// allocation per write and, at commit, a reference count change on a line the executing
/// core may still hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AccountFields {
    balance: U256,
    nonce: u64,
    code_hash: B256,
}

impl AccountFields {
    pub(crate) fn of(info: &AccountInfo) -> AccountFields {
        AccountFields { balance: info.balance, nonce: info.nonce, code_hash: info.code_hash }
    }

    /// The account without its code.
    fn info(self) -> AccountInfo {
        AccountInfo { balance: self.balance, nonce: self.nonce, code_hash: self.code_hash, code: None }
    }
}

/// A value a transaction wrote.
#[derive(Debug, Clone)]
pub(crate) enum Write {
    /// The account's fields after the transaction; `None`: deleted.
    Account(Option<AccountFields>),
    /// A balance increase of an account (created with this balance if missing).
    Credit(U256),
    CodeHash(B256),
    Storage(U256),
    StorageReset,
}

#[derive(Debug, Clone)]
pub(crate) enum Cell {
    Written(Write),
    Estimate,
}

/// The write of one transaction to one location. Validation compares values, not
/// incarnations, so an incarnation that rewrites what its predecessor wrote invalidates
/// nothing.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
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

/// The writes to one location, sorted by transaction index. Most locations have one writer,
/// held inline; more spill to a sorted vector. Either way, freeing the map at the end of
/// the block frees no allocation per location.
#[derive(Debug)]
pub(crate) enum Versions {
    One([(TxIdx, Entry); 1]),
    Many(Vec<(TxIdx, Entry)>),
}

impl Default for Versions {
    fn default() -> Self {
        Versions::Many(Vec::new())
    }
}

impl Versions {
    fn all(&self) -> &[(TxIdx, Entry)] {
        match self {
            Versions::One(one) => one,
            Versions::Many(many) => many,
        }
    }

    /// Entries of transactions below `idx`, in increasing order.
    fn below(&self, idx: TxIdx) -> &[(TxIdx, Entry)] {
        let all = self.all();
        &all[..all.partition_point(|(k, _)| *k < idx)]
    }

    fn insert(&mut self, idx: TxIdx, entry: Entry) {
        match self {
            Versions::Many(many) if many.is_empty() => *self = Versions::One([(idx, entry)]),
            Versions::One([(k, old)]) if *k == idx => *old = entry,
            Versions::One(_) => {
                let Versions::One([first]) = std::mem::take(self) else { unreachable!() };
                let mut many = Vec::with_capacity(4);
                many.push(first);
                *self = Versions::Many(many);
                self.insert(idx, entry);
            }
            Versions::Many(many) => match many.binary_search_by_key(&idx, |(k, _)| *k) {
                Ok(at) => many[at].1 = entry,
                Err(at) => many.insert(at, (idx, entry)),
            },
        }
    }

    fn get_mut(&mut self, idx: TxIdx) -> Option<&mut Entry> {
        let all = match self {
            Versions::One(one) => one.as_mut_slice(),
            Versions::Many(many) => many.as_mut_slice(),
        };
        let at = all.binary_search_by_key(&idx, |(k, _)| *k).ok()?;
        Some(&mut all[at].1)
    }

    fn remove(&mut self, idx: TxIdx) {
        match self {
            Versions::One([(k, _)]) if *k == idx => *self = Versions::default(),
            Versions::One(_) => {}
            Versions::Many(many) => {
                if let Ok(at) = many.binary_search_by_key(&idx, |(k, _)| *k) {
                    many.remove(at);
                }
            }
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
                writes.full = Some(info.map(AccountFields::info));
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
            None => base.account_fields(address)?,
        };
        if let Some(c) = self.credit {
            let account = info.get_or_insert_with(AccountInfo::default);
            account.balance = account.balance.saturating_add(c);
        }
        Ok(info)
    }
}

/// What the latest incarnation of a transaction read and wrote.
#[derive(Debug, Default)]
struct TxRecord {
    reads: Vec<Read>,
    /// Each location once, in the order the incarnation produced them (a storage reset
    /// before the slots written after it).
    writes: Vec<(Location, Write)>,
}

/// The block's writes by location, plus what each transaction last read and wrote.
pub(crate) struct MvMemory {
    data: LocationTable,
    /// Which locations may be in `data`: most reads are of locations no transaction wrote,
    /// and this answers them with one load, without probing the table.
    written: WrittenFilter,
    coinbase: Address,
    fees: Vec<Padded<Mutex<Fee>>>,
    /// Code written in the block, by hash (content-addressed, so never stale).
    codes: DashMap<B256, Bytes, DefaultHashBuilder>,
    records: Vec<Padded<Mutex<TxRecord>>>,
}

/// A one-hash Bloom filter of the locations written in the block. A bit is set before the
/// write enters the table and never cleared, so a clear bit means "not written yet": the
/// same answer a read racing the write would get from the table. Validation catches it the
/// same way: a location nobody had written is new to its writer's incarnation, so that
/// execution reports `wrote_new` and every higher transaction validates after it.
struct WrittenFilter {
    words: Box<[std::sync::atomic::AtomicU64]>,
    /// Number of bits minus one (a power of two minus one).
    mask: u64,
}

impl WrittenFilter {
    /// A filter for a block of `txs` transactions that may spend `gas`: 64 bits per
    /// transaction, and at least 16 per location the gas could write (as the location
    /// table's sizing), so that few reads of unwritten locations probe the table.
    fn new(txs: usize, gas: u64) -> WrittenFilter {
        let by_gas = usize::try_from(gas / GAS_PER_LOCATION).unwrap_or(usize::MAX).saturating_mul(16);
        let bits = txs.saturating_mul(64).max(by_gas).clamp(4096, 1 << 26).next_power_of_two();
        let words = (0..bits / 64).map(|_| std::sync::atomic::AtomicU64::new(0)).collect();
        WrittenFilter { words, mask: bits as u64 - 1 }
    }

    fn bit(&self, hash: u64) -> (usize, u64) {
        // The high bits: the location table uses the low ones.
        let at = hash.rotate_left(32) & self.mask;
        ((at / 64) as usize, 1 << (at % 64))
    }

    fn insert(&self, hash: u64) {
        let (word, bit) = self.bit(hash);
        if self.words[word].load(Ordering::Relaxed) & bit == 0 {
            self.words[word].fetch_or(bit, Ordering::SeqCst);
        }
    }

    fn may_contain(&self, hash: u64) -> bool {
        let (word, bit) = self.bit(hash);
        self.words[word].load(Ordering::SeqCst) & bit != 0
    }
}

/// A hash of a location's every byte, for [`WrittenFilter`] and [`LocationTable`].
fn location_hash(location: &Location) -> u64 {
    let word = |a: &Address, at: usize| {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&a[at..at + 8]);
        u64::from_le_bytes(bytes)
    };
    let address = |a: &Address, tag: u64| word(a, 0) ^ word(a, 12).rotate_left(29) ^ tag;
    let mut x = match location {
        Location::Account(a) => address(a, 1),
        Location::CodeHash(a) => address(a, 2),
        Location::StorageReset(a) => address(a, 3),
        Location::CoinbaseFee => 4,
        Location::Storage(a, slot) => {
            let limbs = slot.as_limbs();
            address(a, 5)
                ^ limbs[0].wrapping_mul(0x9e37_79b9_7f4a_7c15)
                ^ limbs[1].rotate_left(17).wrapping_mul(0xc2b2_ae3d_27d4_eb4f)
                ^ limbs[2].rotate_left(31)
                ^ limbs[3].rotate_left(47)
        }
    };
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Beyond this many writes, a transaction's old and new write sets are compared through a
/// hash set rather than by scanning.
const SCAN_LIMIT: usize = 16;

/// Answers "is this location among `writes`?" in constant time for large write sets.
struct LocationSet<'a> {
    writes: &'a [(Location, Write)],
    set: Option<hashbrown::HashSet<Location>>,
}

impl<'a> LocationSet<'a> {
    fn new(writes: &'a [(Location, Write)]) -> Self {
        let set = (writes.len() > SCAN_LIMIT).then(|| writes.iter().map(|(l, _)| *l).collect());
        LocationSet { writes, set }
    }

    fn contains(&self, location: &Location) -> bool {
        match &self.set {
            Some(set) => set.contains(location),
            None => self.writes.iter().any(|(l, _)| l == location),
        }
    }
}

impl MvMemory {
    /// Memory for a block of `txs` transactions that may spend `gas` in all.
    pub(crate) fn new(txs: usize, gas: u64, coinbase: Address) -> MvMemory {
        MvMemory {
            data: LocationTable::new(txs, gas),
            written: WrittenFilter::new(txs, gas),
            coinbase,
            fees: (0..txs).map(|_| Padded(Mutex::new(Fee::None))).collect(),
            codes: DashMap::with_hasher(DefaultHashBuilder::default()),
            records: (0..txs).map(|_| Padded(Mutex::new(TxRecord::default()))).collect(),
        }
    }

    /// Stores the read and write sets of the latest incarnation of transaction `idx`,
    /// dropping writes of its earlier incarnation that this one did not repeat. Returns
    /// whether it wrote a location the earlier incarnation had not (later transactions that
    /// validated against the old writes must then be validated again).
    pub(crate) fn record(&self, idx: TxIdx, reads: Vec<Read>, writes: Vec<(Location, Write)>) -> bool {
        let mut record = lock(&self.records[idx]);
        let old = LocationSet::new(&record.writes);
        let mut wrote_new = false;
        for (location, write) in &writes {
            wrote_new |= !old.contains(location);
            match (location, write) {
                (Location::CoinbaseFee, Write::Credit(fee)) => *lock(&self.fees[idx]) = Fee::Credit(*fee),
                (location, write) => {
                    let hash = location_hash(location);
                    self.written.insert(hash);
                    let node = self.data.node(location, hash);
                    write_lock(&node.versions).insert(idx, Entry { cell: Cell::Written(write.clone()) })
                }
            }
        }
        if !record.writes.is_empty() {
            let new = LocationSet::new(&writes);
            for (stale, _) in record.writes.iter().filter(|(l, _)| !new.contains(l)) {
                if *stale == Location::CoinbaseFee {
                    *lock(&self.fees[idx]) = Fee::None;
                } else if let Some(node) = self.data.find(stale, location_hash(stale)) {
                    write_lock(&node.versions).remove(idx);
                }
            }
        }
        record.writes = writes;
        record.reads = reads;
        wrote_new
    }

    /// Turns the last writes of `idx` into ESTIMATE markers (its incarnation was aborted).
    pub(crate) fn mark_estimates(&self, idx: TxIdx) {
        for (location, _) in lock(&self.records[idx]).writes.iter() {
            if *location == Location::CoinbaseFee {
                *lock(&self.fees[idx]) = Fee::Estimate;
            } else if let Some(node) = self.data.find(location, location_hash(location)) {
                if let Some(entry) = write_lock(&node.versions).get_mut(idx) {
                    entry.cell = Cell::Estimate;
                }
            }
        }
    }

    /// The versions of `location`, if a transaction may have written it.
    fn get(&self, location: &Location) -> Option<std::sync::RwLockReadGuard<'_, Versions>> {
        let hash = location_hash(location);
        if !self.written.may_contain(hash) {
            return None;
        }
        let node = self.data.find(location, hash)?;
        Some(node.versions.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Files code a transaction deployed, by hash (versions carry only the hash).
    pub(crate) fn add_code(&self, hash: B256, code: Bytes) {
        if hash != KECCAK_EMPTY && !self.codes.contains_key(&hash) {
            self.codes.insert(hash, code);
        }
    }

    /// The code with `hash` if a transaction of the block deployed it.
    pub(crate) fn code(&self, hash: &B256) -> Option<Bytes> {
        self.codes.get(hash).map(|c| c.clone())
    }

    /// The latest write to `location` below `idx`, as (index, value), or `Blocked`.
    fn latest(&self, location: &Location, idx: TxIdx) -> Result<Option<(TxIdx, Write)>, Blocked> {
        let Some(versions) = self.get(location) else { return Ok(None) };
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
        self.get(location).is_some_and(|v| !v.below(idx).is_empty())
            || (*location == Location::Account(self.coinbase) && fee_below())
    }

    /// The writes to the account at `address` that transaction `idx` sees.
    fn account_writes(&self, address: Address, idx: TxIdx) -> Result<AccountWrites, Blocked> {
        let (mut writes, full_at) = match self.get(&Location::Account(address)) {
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
            return Ok((base.account_fields(address)?, Origin::Base));
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
                let hash = base.account_fields(address)?.map_or(KECCAK_EMPTY, |a| a.code_hash);
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
        let record = lock(&self.records[idx]);
        for read in record.reads.iter() {
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

    /// Moves the final writes of transaction `idx` out, when it is committed (a committed
    /// transaction is never recorded again nor has its writes marked as estimates).
    pub(crate) fn take_writes(&self, idx: TxIdx) -> Vec<(Location, Write)> {
        std::mem::take(&mut lock(&self.records[idx]).writes)
    }

    /// The account whose changes a write to `location` belongs to.
    pub(crate) fn account_of(&self, location: &Location) -> Address {
        match location {
            Location::CoinbaseFee => self.coinbase,
            location => location.address(),
        }
    }

    /// Folds one final write into the block's changes `diff` (writes arrive in block
    /// order). The store is read once for an account whose first write in the block is not
    /// a full value (a credit, a slot, a storage reset), and for code: every updated account
    /// in the diff carries its code, looked up again only when its code hash changes.
    pub(crate) fn fold_write<R: StateReader>(
        &self,
        base: &R,
        diff: &mut StateDiff,
        location: Location,
        write: Write,
    ) -> Result<(), StateError> {
        let address = self.account_of(&location);
        let change = match diff.entry(address) {
            hashbrown::hash_map::Entry::Occupied(entry) => entry.into_mut(),
            hashbrown::hash_map::Entry::Vacant(entry) => {
                let fresh = || AccountChange::Updated {
                    info: AccountInfo::default(),
                    storage_cleared: false,
                    storage: Default::default(),
                };
                let before = match &write {
                    // A full value replaces the account: no need for what it was.
                    Write::Account(_) => fresh(),
                    _ => match base.account_fields(address)? {
                        Some(info) => AccountChange::Updated {
                            info,
                            storage_cleared: false,
                            storage: Default::default(),
                        },
                        // A credit brings a missing account into existence.
                        None if matches!(write, Write::Credit(_)) => fresh(),
                        None => AccountChange::Deleted,
                    },
                };
                entry.insert(before)
            }
        };
        match write {
            Write::Account(None) => *change = AccountChange::Deleted,
            Write::Account(Some(new)) => {
                let mut new = new.info();
                match change {
                    AccountChange::Updated { info, .. } => {
                        if info.code_hash == new.code_hash {
                            new.code = info.code.take();
                        }
                        *info = new;
                    }
                    AccountChange::Deleted => {
                        *change = AccountChange::Updated {
                            info: new,
                            storage_cleared: true,
                            storage: Default::default(),
                        }
                    }
                }
            }
            Write::Credit(credit) => match change {
                AccountChange::Updated { info, .. } => info.balance = info.balance.saturating_add(credit),
                AccountChange::Deleted => {
                    // Credited into existence after the block deleted it.
                    let info = AccountInfo { balance: credit, ..AccountInfo::default() };
                    *change =
                        AccountChange::Updated { info, storage_cleared: true, storage: Default::default() }
                }
            },
            Write::Storage(value) => {
                if let (AccountChange::Updated { storage, .. }, Location::Storage(_, slot)) =
                    (&mut *change, location)
                {
                    storage.insert(slot, value);
                }
            }
            Write::StorageReset => {
                if let AccountChange::Updated { storage_cleared, storage, .. } = &mut *change {
                    storage.clear();
                    *storage_cleared = true;
                }
            }
            Write::CodeHash(_) => {}
        }
        if let AccountChange::Updated { info, .. } = change {
            if info.code.is_none() {
                info.code = Some(if info.code_hash == KECCAK_EMPTY {
                    Bytes::new()
                } else if let Some(code) = self.code(&info.code_hash) {
                    code
                } else {
                    base.code_by_hash(info.code_hash)?
                });
            }
        }
        Ok(())
    }
}

/// Locks a mutex, ignoring poisoning: a panicking worker is reported by the executor, and
/// these vectors are only replaced whole.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Write-locks a location's versions, ignoring poisoning (as [`lock`]).
fn write_lock<T>(m: &std::sync::RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(|e| e.into_inner())
}
