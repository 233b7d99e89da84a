//! [`Overlay`]: the changes of the transactions of one block so far, over a read-only base
//! state (a MetisDB snapshot), so the block's transactions each see the ones before, and the
//! whole block is committed as one version at the end.

use metisvm_vm::primitives::{Address, Bytes, B256, U256};
use metisvm_vm::{AccountChange, AccountInfo, StateDiff, StateError, StateReader, StateWriter};

/// A base state plus the merged diffs committed to the overlay.
#[derive(Debug)]
pub struct Overlay<'a, R> {
    base: &'a R,
    diff: StateDiff,
}

impl<'a, R: StateReader> Overlay<'a, R> {
    /// An overlay with no changes over `base`.
    pub fn new(base: &'a R) -> Self {
        Overlay { base, diff: StateDiff::default() }
    }

    /// An overlay with no changes over `base`, with room for changes to `accounts`
    /// accounts before its map grows.
    pub fn with_capacity(base: &'a R, accounts: usize) -> Self {
        Overlay { base, diff: StateDiff::with_capacity_and_hasher(accounts, Default::default()) }
    }

    /// An overlay over `base` whose changes start as `diff`: a map handed back for reuse
    /// keeps its allocation.
    pub fn with_diff(base: &'a R, diff: StateDiff) -> Self {
        Overlay { base, diff }
    }

    /// [`StateWriter::commit`] taking the diff by value: its entries and storage maps are
    /// moved in rather than copied, one map lookup per account.
    pub fn commit_owned(&mut self, mut diff: StateDiff) {
        self.commit_drained(&mut diff);
    }

    /// [`Overlay::commit_owned`] that leaves `diff` empty with its allocation, for the
    /// caller to reuse or free where it was allocated.
    pub fn commit_drained(&mut self, diff: &mut StateDiff) {
        for (address, change) in diff.drain() {
            match self.diff.entry(address) {
                hashbrown::hash_map::Entry::Vacant(entry) => {
                    entry.insert(change);
                }
                hashbrown::hash_map::Entry::Occupied(mut entry) => {
                    let earlier = std::mem::replace(entry.get_mut(), AccountChange::Deleted);
                    *entry.get_mut() = merge_owned(earlier, change);
                }
            }
        }
    }

    /// The merged changes: one entry per account changed by any committed diff.
    pub fn diff(&self) -> &StateDiff {
        &self.diff
    }

    /// The merged changes, taken.
    pub fn into_diff(self) -> StateDiff {
        self.diff
    }
}

/// An account's change after `earlier`, then `later`, as one change.
fn merge_owned(earlier: AccountChange, later: AccountChange) -> AccountChange {
    match (earlier, later) {
        (_, AccountChange::Deleted) => AccountChange::Deleted,
        // Storage set before keeps counting unless the later change wipes it.
        (
            AccountChange::Updated { storage: mut kept, storage_cleared, .. },
            AccountChange::Updated { info, storage_cleared: false, storage },
        ) => {
            kept.extend(storage);
            AccountChange::Updated { info, storage_cleared, storage: kept }
        }
        // After a deletion the account starts with no storage.
        (AccountChange::Deleted, AccountChange::Updated { info, storage, .. }) => {
            AccountChange::Updated { info, storage_cleared: true, storage }
        }
        (_, updated) => updated,
    }
}

impl<R: StateReader> StateReader for Overlay<'_, R> {
    fn account(&self, address: Address) -> Result<Option<AccountInfo>, StateError> {
        match self.diff.get(&address) {
            Some(AccountChange::Deleted) => Ok(None),
            Some(AccountChange::Updated { info, .. }) => Ok(Some(info.clone())),
            None => self.base.account(address),
        }
    }

    /// The base's code first: code is named by its hash, so the base's copy is the one a
    /// committed change holds, and looking there first keeps the scan of the changes below
    /// (linear in them) for code deployed by the committed transactions. Scanning first, a
    /// code lookup over a block's worth of changes cost thousands of comparisons.
    fn code_by_hash(&self, code_hash: B256) -> Result<Bytes, StateError> {
        let missing = match self.base.code_by_hash(code_hash) {
            Ok(code) => return Ok(code),
            Err(error) => error,
        };
        for change in self.diff.values() {
            if let AccountChange::Updated {
                info: AccountInfo { code_hash: h, code: Some(code), .. }, ..
            } = change
            {
                if *h == code_hash {
                    return Ok(code.clone());
                }
            }
        }
        Err(missing)
    }

    fn storage(&self, address: Address, slot: U256) -> Result<U256, StateError> {
        match self.diff.get(&address) {
            Some(AccountChange::Deleted) => Ok(U256::ZERO),
            Some(AccountChange::Updated { storage, storage_cleared, .. }) => match storage.get(&slot) {
                Some(value) => Ok(*value),
                None if *storage_cleared => Ok(U256::ZERO),
                None => self.base.storage(address, slot),
            },
            None => self.base.storage(address, slot),
        }
    }

    fn block_hash(&self, number: u64) -> Result<B256, StateError> {
        self.base.block_hash(number)
    }

    /// Whether the account has a non-zero slot. The overlay cannot list the base's slots, so
    /// an account whose every base slot an earlier transaction of the block zeroed still
    /// reads as having storage. No transaction can tell: the only reader is the EIP-7610
    /// creation check, which asks only about accounts with no code and a zero nonce, and
    /// zeroing a slot takes code running at the address. Code goes away only when the account
    /// is deleted (a deletion wipes its storage here), or when an EIP-7702 delegation is
    /// cleared, which only an authority with a non-zero nonce can do.
    fn has_storage(&self, address: Address) -> Result<bool, StateError> {
        match self.diff.get(&address) {
            Some(AccountChange::Deleted) => Ok(false),
            Some(AccountChange::Updated { storage, storage_cleared, .. }) => {
                Ok(storage.values().any(|v| !v.is_zero())
                    || (!storage_cleared && self.base.has_storage(address)?))
            }
            None => self.base.has_storage(address),
        }
    }

    fn account_fields(&self, address: Address) -> Result<Option<AccountInfo>, StateError> {
        match self.diff.get(&address) {
            Some(AccountChange::Deleted) => Ok(None),
            Some(AccountChange::Updated { info, .. }) => Ok(Some(info.fields())),
            None => self.base.account_fields(address),
        }
    }
}

impl<R: StateReader> StateWriter for Overlay<'_, R> {
    /// Merges `diff` in place: one map lookup per account, copying only what changed.
    fn commit(&mut self, diff: &StateDiff) {
        for (address, change) in diff {
            let earlier = match self.diff.entry(*address) {
                hashbrown::hash_map::Entry::Vacant(entry) => {
                    entry.insert(change.clone());
                    continue;
                }
                hashbrown::hash_map::Entry::Occupied(entry) => entry.into_mut(),
            };
            match (&mut *earlier, change) {
                (_, AccountChange::Deleted) => *earlier = AccountChange::Deleted,
                // Storage set before keeps counting unless this change wipes it.
                (
                    AccountChange::Updated { info: kept_info, storage: kept, .. },
                    AccountChange::Updated { info, storage_cleared: false, storage },
                ) => {
                    kept.extend(storage.iter().map(|(s, v)| (*s, *v)));
                    *kept_info = info.clone();
                }
                // After a deletion the account starts with no storage.
                (AccountChange::Deleted, AccountChange::Updated { info, storage, .. }) => {
                    *earlier = AccountChange::Updated {
                        info: info.clone(),
                        storage_cleared: true,
                        storage: storage.clone(),
                    }
                }
                (_, updated) => *earlier = updated.clone(),
            }
        }
    }
}
