//! MetisVM's EVM interpreter: every fork from Frontier to Osaka.
//!
//! The crate holds the opcode metadata table, the gas schedule, the interpreter, the
//! precompiles, transaction validation and execution, and the [`state`] interface that
//! every store (in-memory, MetisDB, the parallel executor's multi-version view) implements.

pub mod crypto;
pub mod env;
pub mod evm;
pub mod fork;
pub mod hashing;
pub mod interpreter;
pub mod intrinsic;
pub mod journal;
pub mod opcodes;
pub mod precompiles;
pub mod primitives;
pub mod rlp;
pub mod state;
pub mod tracing;
pub mod transaction;
pub mod validation;

pub use env::{AccessListItem, Authorization, BlobSchedule, BlockEnv, CfgEnv, TxEnv};
pub use evm::{create2_address, create_address, Evm, ExecStatus, SharedCodeCache, TxOutcome};
pub use fork::Fork;
pub use interpreter::HaltReason;
pub use journal::Log;
pub use primitives::{keccak256, Address, Bytes, B256, KECCAK_EMPTY, U256};
pub use state::{AccountChange, AccountInfo, StateDiff, StateError, StateReader, StateWriter};
pub use tracing::{JsonTracer, Step, Tracer};
pub use transaction::{SignedTransaction, TxDecodeError, TxType, TxValidationError};
pub use validation::{InvalidTransaction, TxError};
