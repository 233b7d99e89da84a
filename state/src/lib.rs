//! MetisDB: MetisVM's state store.
//!
//! - [`db`] holds [`MetisDb`], the persistent store: memory-mapped files of flat account and
//!   storage records and trie nodes, a version per commit with snapshots of any retained
//!   version, incremental state roots, Merkle proofs, and commits that survive a crash.
//! - [`trie`] computes the roots Ethereum commits to: the state root, account storage roots,
//!   and the transaction, receipt and withdrawal roots, from a set of (key, value) pairs
//!   (yellow paper, appendix D). It is the reference the persistent trie is checked against.
//! - [`memory`] holds [`MemoryState`], an in-memory store implementing the interpreter's
//!   [`StateReader`](metisvm_vm::StateReader) and [`StateWriter`](metisvm_vm::StateWriter),
//!   used by the conformance runners and tests.
//! - [`overlay`] holds [`Overlay`]: a block's changes so far over a read-only snapshot, so a
//!   block runs transaction by transaction against MetisDB and commits as one version.

pub mod db;
pub mod memory;
pub mod overlay;
pub mod trie;

pub use db::{Committed, DbError, MetisDb, Options, Snapshot};
pub use memory::{MemoryAccount, MemoryState};
pub use overlay::Overlay;
pub use trie::{account_rlp, ordered_trie_root, secure_trie_root, state_root, storage_root, EMPTY_ROOT_HASH};
