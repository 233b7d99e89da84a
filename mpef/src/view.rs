//! [`TxView`]: the state one transaction incarnation executes against. It implements the
//! interpreter's [`StateReader`], answering from the multi-version memory (the writes of
//! lower transactions) over the pre-block state, and records every read for validation.
//!
//! A read that meets an ESTIMATE fails with a marker error and remembers the blocking
//! transaction; the executor then parks the incarnation on it.

use crate::mvmemory::{account_key, AccountKey, MvMemory, Origin, Read, ReadError, TxIdx};
use metisvm_vm::{AccountInfo, Address, Bytes, StateError, StateReader, B256, KECCAK_EMPTY, U256};
use std::cell::{Cell, RefCell};

/// Why an incarnation stopped before finishing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Interrupt {
    /// It read an ESTIMATE of this transaction.
    Blocked(TxIdx),
    /// It needs something the parallel run cannot answer exactly; the block runs sequentially.
    Fallback(&'static str),
}

/// Reads of one incarnation of transaction `idx`.
pub(crate) struct TxView<'a, R> {
    memory: &'a MvMemory,
    base: &'a R,
    idx: TxIdx,
    /// A plain transfer's recipient, read lazily (see [`TxView::account`]).
    lazy_recipient: Option<Address>,
    reads: RefCell<Vec<Read>>,
    /// Accounts as this incarnation saw them, to tell which of its writes change anything.
    observed: RefCell<Vec<(Address, AccountKey)>>,
    recipient_was_lazy: Cell<bool>,
    interrupt: RefCell<Option<Interrupt>>,
    codes: &'a WorkerCodes,
}

/// Contract code by hash, copied once per worker: handing every transaction a clone of one
/// shared buffer would make all workers bump the same reference count, a cache line that
/// then bounces between cores on every call.
#[derive(Default)]
pub(crate) struct WorkerCodes(RefCell<hashbrown::HashMap<B256, Bytes>>);

impl WorkerCodes {
    /// This worker's copy of the code `code_hash`, made from what `fetch` returns the first
    /// time.
    pub(crate) fn get_or_copy(
        &self,
        code_hash: B256,
        fetch: impl FnOnce() -> Result<Bytes, StateError>,
    ) -> Result<Bytes, StateError> {
        if let Some(code) = self.0.borrow().get(&code_hash) {
            return Ok(code.clone());
        }
        let own = Bytes::copy_from_slice(&fetch()?);
        self.0.borrow_mut().insert(code_hash, own.clone());
        Ok(own)
    }
}

/// The message of the error that stops the interpreter when a view is interrupted.
const INTERRUPTED: &str = "parallel execution interrupted";

impl<'a, R: StateReader> TxView<'a, R> {
    pub(crate) fn new(
        memory: &'a MvMemory,
        base: &'a R,
        idx: TxIdx,
        lazy_recipient: Option<Address>,
        codes: &'a WorkerCodes,
    ) -> Self {
        TxView {
            memory,
            base,
            idx,
            lazy_recipient,
            reads: RefCell::new(Vec::with_capacity(8)),
            observed: RefCell::new(Vec::with_capacity(4)),
            recipient_was_lazy: Cell::new(false),
            interrupt: RefCell::new(None),
            codes,
        }
    }

    /// Why the incarnation was interrupted, if it was.
    pub(crate) fn interrupt(&self) -> Option<Interrupt> {
        self.interrupt.borrow().clone()
    }

    /// Whether a store error is this view's interruption rather than a real failure.
    pub(crate) fn is_interruption(&self, error: &StateError) -> bool {
        self.interrupt.borrow().is_some() && error.0 == INTERRUPTED
    }

    /// The lazy recipient, when it had no code, so its balance was never read.
    pub(crate) fn lazy_recipient_used(&self) -> Option<Address> {
        self.lazy_recipient.filter(|_| self.recipient_was_lazy.get())
    }

    /// The account at `address` as this incarnation saw it (`None` inside: missing).
    pub(crate) fn observed(&self, address: &Address) -> Option<AccountKey> {
        self.observed.borrow().iter().find(|(a, _)| a == address).map(|(_, key)| *key)
    }

    pub(crate) fn into_reads(self) -> Vec<Read> {
        self.reads.into_inner()
    }

    fn stop(&self, why: Interrupt) -> StateError {
        *self.interrupt.borrow_mut() = Some(why);
        StateError(INTERRUPTED.to_string())
    }

    fn fail(&self, error: ReadError) -> StateError {
        match error {
            ReadError::Blocked(b) => self.stop(Interrupt::Blocked(b.0)),
            ReadError::State(e) => e,
        }
    }
}

impl<R: StateReader> StateReader for TxView<'_, R> {
    /// A lazy recipient with no code reads as an empty account: a plain transfer's outcome
    /// does not depend on the recipient's balance or nonce, and the executor turns its write
    /// into a credit. Only the code hash is recorded as read.
    fn account(&self, address: Address) -> Result<Option<AccountInfo>, StateError> {
        if self.lazy_recipient == Some(address) {
            let (hash, origin) =
                self.memory.read_code_hash(self.base, address, self.idx).map_err(|e| self.fail(e))?;
            self.reads.borrow_mut().push(Read::CodeHash(address, origin));
            if hash == KECCAK_EMPTY {
                self.recipient_was_lazy.set(true);
                return Ok(Some(AccountInfo::default()));
            }
        }
        let (mut info, origin) =
            self.memory.read_account(self.base, address, self.idx).map_err(|e| self.fail(e))?;
        self.reads.borrow_mut().push(Read::Account(address, origin));
        self.observed.borrow_mut().push((address, account_key(&info)));
        if let Some(account) = &mut info {
            if account.code_hash != KECCAK_EMPTY {
                // The interpreter asks `code_by_hash`, answered from this worker's copy.
                account.code = None;
            }
        }
        Ok(info)
    }

    fn code_by_hash(&self, code_hash: B256) -> Result<Bytes, StateError> {
        self.codes.get_or_copy(code_hash, || match self.memory.code(&code_hash) {
            Some(code) => Ok(code),
            None => self.base.code_by_hash(code_hash),
        })
    }

    fn storage(&self, address: Address, slot: U256) -> Result<U256, StateError> {
        let origin = self
            .memory
            .read_storage(address, slot, self.idx)
            .map_err(|b| self.stop(Interrupt::Blocked(b.0)))?;
        let value = match origin {
            Origin::Value(v) => v,
            Origin::Base => self.base.storage(address, slot)?,
        };
        self.reads.borrow_mut().push(Read::Storage(address, slot, origin));
        Ok(value)
    }

    fn block_hash(&self, number: u64) -> Result<B256, StateError> {
        self.base.block_hash(number)
    }

    /// Exact only for accounts no lower transaction wrote; otherwise the block falls back to
    /// sequential execution (a contract destroyed and re-created at one address in a block).
    fn has_storage(&self, address: Address) -> Result<bool, StateError> {
        use crate::mvmemory::Location;
        let touched = self.memory.written_below(&Location::Account(address), self.idx)
            || self.memory.written_below(&Location::StorageReset(address), self.idx);
        if touched {
            return Err(self.stop(Interrupt::Fallback(
                "storage check (EIP-7610) of an account written earlier in the block",
            )));
        }
        self.reads.borrow_mut().push(Read::Untouched(address));
        self.base.has_storage(address)
    }
}
