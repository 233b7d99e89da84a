//! The first layer of MetisDB: Merkle Patricia Trie roots and an in-memory world state.
//!
//! - [`trie`] computes the roots Ethereum commits to: the state root, account storage roots,
//!   and the transaction, receipt and withdrawal roots, from a set of (key, value) pairs
//!   (yellow paper, appendix D).
//! - [`memory`] holds [`MemoryState`], an in-memory store implementing the interpreter's
//!   [`StateReader`](metisvm_vm::StateReader) and [`StateWriter`](metisvm_vm::StateWriter),
//!   used by the conformance runners and tests.
//!
//! A persistent, incremental trie will be added on top; the root functions here stay the
//! reference it is checked against.

pub mod memory;
pub mod trie;

pub use memory::{MemoryAccount, MemoryState};
pub use trie::{account_rlp, ordered_trie_root, secure_trie_root, state_root, storage_root, EMPTY_ROOT_HASH};
