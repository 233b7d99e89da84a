//! The block builder a node embeds: execute a block on the latest MetisDB version and commit
//! its changes as the next version, getting receipts and the new state root back.

use crate::{execute_block, BlockInput, BlockOutput, Config, MpefError, Receipt, Rejected};
use metisvm_state::{Committed, DbError, MetisDb};

/// A block executed and committed.
#[derive(Debug, Clone)]
pub struct BuiltBlock {
    /// Per-transaction results, the block's changes and the run's counters.
    pub output: BlockOutput,
    /// Receipts, in block order.
    pub receipts: Vec<Receipt>,
    /// The new MetisDB version and its state root.
    pub committed: Committed,
}

/// Why a block could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The database failed (opening the pre-state snapshot, or committing).
    #[error("MetisDB: {0}")]
    Db(#[from] DbError),
    /// Execution failed.
    #[error(transparent)]
    Execution(#[from] MpefError),
    /// A transaction is invalid, so the block is; nothing was committed.
    #[error("transaction {}: {}", .0.index, .0.error)]
    InvalidTransaction(Rejected),
}

/// Executes `block` on the latest version of `db` (in parallel or not, per `config`) and
/// commits its changes as one new version. Pre-block system calls (EIP-4788, EIP-2935) and
/// post-block withdrawals are the caller's: commit them as versions of their own, or fold
/// them into the pre-state first.
pub fn build_block(db: &MetisDb, block: &BlockInput<'_>, config: &Config) -> Result<BuiltBlock, BuildError> {
    let snapshot = db.snapshot()?;
    let output = execute_block(&snapshot, block, config)?;
    if let Some(rejected) = output.rejected.clone() {
        return Err(BuildError::InvalidTransaction(rejected));
    }
    let committed = db.commit(&output.changes, &[])?;
    let receipts = output.receipts(block.txs);
    Ok(BuiltBlock { output, receipts, committed })
}
