//! Mainnet blocks through MPEF, the parallel executor: the block's transactions run with
//! Block-STM (or MPEF's sequential path) over the pre-state after the block's system call,
//! and the result must equal the plain sequential replay in receipts, logs and state root.

use super::bloom::Bloom;
use super::parse::Block;
use super::receipt::Receipt;
use super::{beacon_roots_call, Execution, TxResult};
use metisvm_mpef::{execute_block, BlockInput, Config, Stats};
use metisvm_state::{MemoryState, Overlay};
use metisvm_vm::{CfgEnv, Evm, StateWriter, TxEnv, B256};
use std::time::Instant;

/// One block run through MPEF.
#[derive(Debug, Clone)]
pub struct MpefRun {
    /// Results and receipts, as the sequential replay reports them.
    pub exec: Execution,
    /// The state root after the block, over the fixture's (partial) pre-state.
    pub post_root: B256,
    /// Seconds spent executing the transactions (the system call and the root excluded).
    pub seconds: f64,
    /// The run's counters.
    pub stats: Stats,
}

/// The pre-block state with the block's system call applied (see `beacon_roots_call`).
pub fn pre_block_state<'a>(block: &Block, pre: &'a MemoryState) -> Result<Overlay<'a, MemoryState>, String> {
    let mut overlay = Overlay::new(pre);
    let cfg = CfgEnv::new(block.fork);
    beacon_roots_call(&mut Evm::new(), block, &cfg, &mut overlay)
        .map_err(|e| format!("beacon-roots system call: {e}"))?;
    Ok(overlay)
}

/// The block's transactions, in order.
pub fn tx_envs(block: &Block) -> Vec<TxEnv> {
    block.transactions.iter().map(|t| t.env.clone()).collect()
}

/// Runs `block` over `pre` through MPEF with `config`.
pub fn run_mpef(block: &Block, pre: &MemoryState, config: &Config) -> Result<MpefRun, String> {
    let mut overlay = pre_block_state(block, pre)?;
    let txs = tx_envs(block);
    let cfg = CfgEnv::new(block.fork);
    let input = BlockInput { env: &block.env, cfg: &cfg, txs: &txs };
    let started = Instant::now();
    let output = execute_block(&overlay, &input, config).map_err(|e| e.to_string())?;
    let seconds = started.elapsed().as_secs_f64();
    let mut exec = Execution::default();
    for (i, (receipt, result)) in output.receipts(&txs).into_iter().zip(&output.txs).enumerate() {
        let tx = &block.transactions[i];
        exec.txs.push(TxResult {
            hash: tx.hash,
            tx_type: receipt.tx_type,
            status: result.status,
            gas_used: result.gas_used,
            cumulative_gas_used: receipt.cumulative_gas_used,
            logs: receipt.logs.len(),
        });
        exec.receipts.push(Receipt {
            tx_type: receipt.tx_type,
            success: receipt.success,
            cumulative_gas_used: receipt.cumulative_gas_used,
            bloom: Bloom::from_logs(&receipt.logs),
            logs: receipt.logs,
        });
    }
    if let Some(rejected) = &output.rejected {
        let hash = block.transactions[rejected.index].hash;
        exec.error = Some(format!("tx {} ({hash}): rejected: {}", rejected.index, rejected.error));
    }
    overlay.commit(&output.changes);
    let mut post = pre.clone();
    post.commit(&overlay.into_diff());
    Ok(MpefRun { exec, post_root: post.state_root(), seconds, stats: output.stats })
}

/// Differences between two executions of one block (receipts, logs, errors), empty when
/// they agree.
pub fn compare(reference: &Execution, other: &Execution) -> Vec<String> {
    let mut problems = Vec::new();
    if reference.error != other.error {
        problems.push(format!("error: sequential {:?}, MPEF {:?}", reference.error, other.error));
    }
    if reference.receipts.len() != other.receipts.len() {
        problems.push(format!(
            "receipts: sequential {}, MPEF {}",
            reference.receipts.len(),
            other.receipts.len()
        ));
    }
    for (i, (a, b)) in reference.receipts.iter().zip(&other.receipts).enumerate() {
        let same = a.tx_type == b.tx_type
            && a.success == b.success
            && a.cumulative_gas_used == b.cumulative_gas_used
            && a.bloom == b.bloom
            && a.logs == b.logs;
        if !same {
            problems.push(format!("tx {i}: receipt differs between sequential and MPEF execution"));
            break;
        }
    }
    problems
}
