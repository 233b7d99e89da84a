//! An in-memory world state: the store of the conformance runners and of tests.
//!
//! Accounts, their storage, code by hash and block hashes live in hash maps. The store
//! implements [`StateReader`] and [`StateWriter`], so the interpreter reads from it and its
//! diffs are committed to it, and it computes its state root from scratch on demand.

use crate::trie;
use hashbrown::HashMap;
use metisvm_vm::primitives::{keccak256, Address, Bytes, B256, KECCAK_EMPTY, U256};
use metisvm_vm::{AccountChange, AccountInfo, StateDiff, StateError, StateReader, StateWriter};

/// One account of a [`MemoryState`]: its fields and its non-zero storage slots.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryAccount {
    /// Balance, nonce and code.
    pub info: AccountInfo,
    /// Storage slots with non-zero values.
    pub storage: HashMap<U256, U256>,
}

impl MemoryAccount {
    /// The root of this account's storage trie.
    pub fn storage_root(&self) -> B256 {
        trie::storage_root(self.storage.iter().map(|(slot, value)| (*slot, *value)))
    }
}

/// An in-memory world state.
#[derive(Debug, Clone, Default)]
pub struct MemoryState {
    accounts: HashMap<Address, MemoryAccount>,
    code: HashMap<B256, Bytes>,
    block_hashes: HashMap<u64, B256>,
}

impl MemoryState {
    /// An empty state.
    pub fn new() -> MemoryState {
        MemoryState::default()
    }

    /// Inserts (or replaces) the account at `address` with `storage` as its whole storage.
    ///
    /// When `info.code` is given, its hash is computed here and replaces `info.code_hash`, so a
    /// fixture cannot make the two disagree; zero storage values are dropped.
    pub fn insert_account(
        &mut self,
        address: Address,
        mut info: AccountInfo,
        storage: impl IntoIterator<Item = (U256, U256)>,
    ) {
        if let Some(code) = &info.code {
            info.code_hash = if code.is_empty() { KECCAK_EMPTY } else { keccak256(code) };
        }
        self.store_code(&info);
        let storage = storage.into_iter().filter(|(_, v)| !v.is_zero()).collect();
        self.accounts.insert(address, MemoryAccount { info, storage });
    }

    /// Records the hash of block `number`, as the `BLOCKHASH` opcode reads it.
    pub fn set_block_hash(&mut self, number: u64, hash: B256) {
        self.block_hashes.insert(number, hash);
    }

    /// The account at `address`, with its storage.
    pub fn get(&self, address: &Address) -> Option<&MemoryAccount> {
        self.accounts.get(address)
    }

    /// Every account, in no particular order.
    pub fn accounts(&self) -> impl Iterator<Item = (&Address, &MemoryAccount)> + '_ {
        self.accounts.iter()
    }

    /// The number of accounts.
    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    /// Whether the state holds no account.
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    /// The state root: a secure trie of every account's RLP, with storage roots computed from
    /// the stored slots.
    pub fn state_root(&self) -> B256 {
        trie::state_root(
            self.accounts.iter().map(|(address, account)| (*address, &account.info, account.storage_root())),
        )
    }

    /// The whole state as a diff that creates it: every account with its code and storage.
    /// Committing it to an empty MetisDB gives a database holding this state.
    pub fn to_diff(&self) -> StateDiff {
        self.accounts
            .iter()
            .map(|(address, account)| {
                let mut info = account.info.clone();
                if info.code.is_none() {
                    info.code = self.code.get(&info.code_hash).cloned();
                }
                let change =
                    AccountChange::Updated { info, storage_cleared: true, storage: account.storage.clone() };
                (*address, change)
            })
            .collect()
    }

    /// Every recorded block hash, as (number, hash), in no particular order.
    pub fn block_hashes(&self) -> Vec<(u64, B256)> {
        self.block_hashes.iter().map(|(n, h)| (*n, *h)).collect()
    }

    fn store_code(&mut self, info: &AccountInfo) {
        if let Some(code) = &info.code {
            if info.code_hash != KECCAK_EMPTY {
                self.code.entry(info.code_hash).or_insert_with(|| code.clone());
            }
        }
    }
}

impl StateReader for MemoryState {
    fn account(&self, address: Address) -> Result<Option<AccountInfo>, StateError> {
        Ok(self.accounts.get(&address).map(|account| account.info.clone()))
    }

    fn code_by_hash(&self, code_hash: B256) -> Result<Bytes, StateError> {
        if code_hash == KECCAK_EMPTY {
            return Ok(Bytes::new());
        }
        self.code.get(&code_hash).cloned().ok_or_else(|| StateError(format!("no code with hash {code_hash}")))
    }

    fn storage(&self, address: Address, slot: U256) -> Result<U256, StateError> {
        let value = self.accounts.get(&address).and_then(|account| account.storage.get(&slot));
        Ok(value.copied().unwrap_or(U256::ZERO))
    }

    fn block_hash(&self, number: u64) -> Result<B256, StateError> {
        Ok(self.block_hashes.get(&number).copied().unwrap_or(B256::ZERO))
    }

    fn has_storage(&self, address: Address) -> Result<bool, StateError> {
        Ok(self.accounts.get(&address).is_some_and(|account| !account.storage.is_empty()))
    }

    fn account_fields(&self, address: Address) -> Result<Option<AccountInfo>, StateError> {
        Ok(self.accounts.get(&address).map(|account| account.info.fields()))
    }
}

impl StateWriter for MemoryState {
    /// Applies `diff`. An updated account's `code_hash` is trusted to match its code.
    fn commit(&mut self, diff: &StateDiff) {
        for (address, change) in diff {
            match change {
                AccountChange::Deleted => {
                    self.accounts.remove(address);
                }
                AccountChange::Updated { info, storage_cleared, storage } => {
                    self.store_code(info);
                    let account = self.accounts.entry(*address).or_default();
                    account.info = info.clone();
                    if *storage_cleared {
                        account.storage.clear();
                    }
                    for (slot, value) in storage {
                        if value.is_zero() {
                            account.storage.remove(slot);
                        } else {
                            account.storage.insert(*slot, *value);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trie::{account_rlp, secure_trie_root, EMPTY_ROOT_HASH};

    fn addr(n: u8) -> Address {
        Address::with_last_byte(n)
    }

    #[test]
    fn empty_state() {
        assert_eq!(MemoryState::new().state_root(), EMPTY_ROOT_HASH);
    }

    #[test]
    fn reads_after_insert() {
        let mut state = MemoryState::new();
        let code = Bytes::from(vec![0x60, 0x00]);
        let info = AccountInfo {
            balance: U256::from(7),
            nonce: 1,
            code_hash: KECCAK_EMPTY,
            code: Some(code.clone()),
        };
        state.insert_account(addr(1), info, [(U256::from(1), U256::from(2)), (U256::from(3), U256::ZERO)]);
        let read = state.account(addr(1)).unwrap().unwrap();
        assert_eq!(read.code_hash, keccak256(&code));
        assert_eq!(state.code_by_hash(read.code_hash).unwrap(), code);
        assert_eq!(state.code_by_hash(KECCAK_EMPTY).unwrap(), Bytes::new());
        assert!(state.code_by_hash(B256::with_last_byte(9)).is_err());
        assert_eq!(state.storage(addr(1), U256::from(1)).unwrap(), U256::from(2));
        assert_eq!(state.get(&addr(1)).unwrap().storage.len(), 1);
        assert_eq!(state.storage(addr(2), U256::from(1)).unwrap(), U256::ZERO);
        assert!(state.has_storage(addr(1)).unwrap());
        assert!(!state.has_storage(addr(2)).unwrap());
        assert_eq!(state.account(addr(2)).unwrap(), None);
        state.set_block_hash(5, B256::with_last_byte(5));
        assert_eq!(state.block_hash(5).unwrap(), B256::with_last_byte(5));
        assert_eq!(state.block_hash(6).unwrap(), B256::ZERO);
    }

    #[test]
    fn commit_applies_diff() {
        let mut state = MemoryState::new();
        state.insert_account(
            addr(1),
            AccountInfo::default(),
            [(U256::from(1), U256::from(1)), (U256::from(2), U256::from(2))],
        );
        state.insert_account(addr(2), AccountInfo::default(), []);

        let code = Bytes::from(vec![0x00]);
        let info = AccountInfo {
            balance: U256::from(1),
            nonce: 2,
            code_hash: keccak256(&code),
            code: Some(code.clone()),
        };
        let mut diff = StateDiff::default();
        let storage = [(U256::from(2), U256::ZERO), (U256::from(3), U256::from(3))].into_iter().collect();
        diff.insert(addr(1), AccountChange::Updated { info: info.clone(), storage_cleared: false, storage });
        diff.insert(addr(2), AccountChange::Deleted);
        let storage = [(U256::from(9), U256::from(9))].into_iter().collect();
        diff.insert(addr(3), AccountChange::Updated { info: info.clone(), storage_cleared: true, storage });
        state.commit(&diff);

        assert_eq!(state.account(addr(1)).unwrap(), Some(info.clone()));
        assert_eq!(state.storage(addr(1), U256::from(1)).unwrap(), U256::from(1));
        assert_eq!(state.storage(addr(1), U256::from(2)).unwrap(), U256::ZERO);
        assert_eq!(state.storage(addr(1), U256::from(3)).unwrap(), U256::from(3));
        assert_eq!(state.get(&addr(1)).unwrap().storage.len(), 2);
        assert_eq!(state.account(addr(2)).unwrap(), None);
        assert_eq!(state.code_by_hash(info.code_hash).unwrap(), code);
        assert_eq!(state.len(), 2);

        let mut clear = StateDiff::default();
        clear
            .insert(addr(1), AccountChange::Updated { info, storage_cleared: true, storage: HashMap::new() });
        state.commit(&clear);
        assert!(state.get(&addr(1)).unwrap().storage.is_empty());
    }

    #[test]
    fn state_root_of_accounts() {
        let mut state = MemoryState::new();
        let info = AccountInfo { balance: U256::from(10), ..AccountInfo::default() };
        state.insert_account(addr(1), info, []);
        let rlp = account_rlp(0, U256::from(10), EMPTY_ROOT_HASH, KECCAK_EMPTY);
        assert_eq!(state.state_root(), secure_trie_root([(addr(1), rlp)]));

        // Storage changes the account's storage root and so the state root.
        let before = state.state_root();
        state.insert_account(
            addr(1),
            AccountInfo { balance: U256::from(10), ..AccountInfo::default() },
            [(U256::from(1), U256::from(1))],
        );
        let storage = state.get(&addr(1)).unwrap().storage_root();
        assert_ne!(storage, EMPTY_ROOT_HASH);
        let rlp = account_rlp(0, U256::from(10), storage, KECCAK_EMPTY);
        assert_eq!(state.state_root(), secure_trie_root([(addr(1), rlp)]));
        assert_ne!(state.state_root(), before);
    }
}
