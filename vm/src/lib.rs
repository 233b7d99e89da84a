//! MetisVM's EVM interpreter: every fork from Frontier to Osaka.
//!
//! The crate holds the opcode metadata table, the gas schedule, the interpreter, the
//! precompiles, transaction validation and execution, and the [`state`] interface that
//! every store (in-memory, MetisDB, the parallel executor's multi-version view) implements.

pub mod crypto;
pub mod env;
pub mod fork;
pub mod precompiles;
pub mod primitives;
pub mod rlp;
pub mod state;

pub use env::{AccessListItem, Authorization, BlobSchedule, BlockEnv, CfgEnv, TxEnv};
pub use fork::Fork;
pub use primitives::{keccak256, Address, Bytes, B256, KECCAK_EMPTY, U256};
pub use state::{AccountChange, AccountInfo, StateDiff, StateError, StateReader, StateWriter};
