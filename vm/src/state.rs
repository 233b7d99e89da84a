//! The state interface: what the interpreter reads from a world state, and the set of
//! changes a transaction hands back to be committed.
//!
//! Every store implements [`StateReader`]: the in-memory store of the conformance runner,
//! MetisDB, and the multi-version view the parallel executor gives each transaction. The
//! interpreter never writes to a store directly; it returns a [`StateDiff`] that the caller
//! commits (or, in the parallel executor, validates first).

use crate::hashing::AddressHashBuilder;
use crate::primitives::{Address, Bytes, B256, KECCAK_EMPTY, U256};
use hashbrown::HashMap;

/// The account fields a store holds besides storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountInfo {
    /// Balance in wei.
    pub balance: U256,
    /// Transaction count (EOA) or creation count (contract).
    pub nonce: u64,
    /// keccak-256 of the code; [`KECCAK_EMPTY`] for an account without code.
    pub code_hash: B256,
    /// The code itself, when the store has it at hand; otherwise it is read with
    /// [`StateReader::code_by_hash`].
    pub code: Option<Bytes>,
}

impl AccountInfo {
    /// A copy of balance, nonce and code hash, with `code` left `None`.
    pub fn fields(&self) -> AccountInfo {
        AccountInfo { balance: self.balance, nonce: self.nonce, code_hash: self.code_hash, code: None }
    }
}

impl Default for AccountInfo {
    fn default() -> Self {
        AccountInfo { balance: U256::ZERO, nonce: 0, code_hash: KECCAK_EMPTY, code: Some(Bytes::new()) }
    }
}

impl AccountInfo {
    /// Whether the account is empty in the sense of EIP-161: no code, zero nonce, zero balance.
    pub fn is_empty(&self) -> bool {
        self.nonce == 0 && self.balance.is_zero() && self.code_hash == KECCAK_EMPTY
    }
}

/// A store could not answer a read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("state read failed: {0}")]
pub struct StateError(pub String);

/// Read access to a world state. Implementations are shared across threads by the parallel
/// executor, so reads take `&self`.
pub trait StateReader {
    /// The account at `address`, or `None` if it does not exist.
    fn account(&self, address: Address) -> Result<Option<AccountInfo>, StateError>;
    /// The code whose keccak-256 is `code_hash`.
    fn code_by_hash(&self, code_hash: B256) -> Result<Bytes, StateError>;
    /// The value of storage `slot` of `address`; zero when unset.
    fn storage(&self, address: Address, slot: U256) -> Result<U256, StateError>;
    /// The hash of block `number`; zero when the store does not know it.
    fn block_hash(&self, number: u64) -> Result<B256, StateError>;
    /// Whether `address` has any non-zero storage slot (the EIP-7610 collision rule).
    fn has_storage(&self, address: Address) -> Result<bool, StateError>;
    /// The account at `address` with `code` left `None`, for readers that need only its
    /// balance, nonce and code hash. Stores holding the code in the account override this to
    /// skip the copy: copying shared code bumps one reference count, a cache line that every
    /// core reading the contract would otherwise pass around.
    fn account_fields(&self, address: Address) -> Result<Option<AccountInfo>, StateError> {
        let mut info = self.account(address)?;
        if let Some(info) = &mut info {
            info.code = None;
        }
        Ok(info)
    }
}

impl<T: StateReader + ?Sized> StateReader for &T {
    fn account(&self, address: Address) -> Result<Option<AccountInfo>, StateError> {
        (**self).account(address)
    }
    fn code_by_hash(&self, code_hash: B256) -> Result<Bytes, StateError> {
        (**self).code_by_hash(code_hash)
    }
    fn storage(&self, address: Address, slot: U256) -> Result<U256, StateError> {
        (**self).storage(address, slot)
    }
    fn block_hash(&self, number: u64) -> Result<B256, StateError> {
        (**self).block_hash(number)
    }
    fn has_storage(&self, address: Address) -> Result<bool, StateError> {
        (**self).has_storage(address)
    }
    fn account_fields(&self, address: Address) -> Result<Option<AccountInfo>, StateError> {
        (**self).account_fields(address)
    }
}

/// What a transaction did to one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountChange {
    /// The account was removed: self-destructed, or an empty account cleared by EIP-161.
    Deleted,
    /// The account exists after the transaction with these fields.
    Updated {
        /// Balance, nonce and code after the transaction (code always present).
        info: AccountInfo,
        /// Whether all earlier storage must be dropped first (the account was created anew).
        storage_cleared: bool,
        /// Storage slots written, with their new values (zero means delete).
        storage: HashMap<U256, U256>,
    },
}

/// The changes of one transaction (or of a block of them), to be committed to a store.
/// Keyed with [`AddressHashBuilder`]: build one with `StateDiff::default()`.
pub type StateDiff = HashMap<Address, AccountChange, AddressHashBuilder>;

/// Write access to a world state: applying the diff a transaction produced.
pub trait StateWriter {
    /// Applies `diff` to the store.
    fn commit(&mut self, diff: &StateDiff);
}
