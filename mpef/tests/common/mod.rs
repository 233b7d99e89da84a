//! Helpers shared by the parallel-executor tests: run a block both ways and compare.

#![allow(dead_code, unreachable_pub)]

use metisvm_mpef::{execute_block, BlockInput, BlockOutput, Config, Strategy};
use metisvm_state::MemoryState;
use metisvm_vm::{BlockEnv, CfgEnv, StateWriter, TxEnv};
use std::path::PathBuf;

/// The compiled contracts folder: `$METISVM_BENCHMARKS/contracts`, by default
/// `../shared/benchmarks/contracts` beside the workspace.
pub fn contracts_dir() -> PathBuf {
    let root = match std::env::var_os("METISVM_BENCHMARKS") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/benchmarks"),
    };
    root.join("contracts")
}

/// `pre` with `output`'s changes applied.
pub fn post_state(pre: &MemoryState, output: &BlockOutput) -> MemoryState {
    let mut post = pre.clone();
    post.commit(&output.changes);
    post
}

/// Accounts whose post-state differs between `a` and `b`, for failure messages.
pub fn differing_accounts(a: &MemoryState, b: &MemoryState) -> Vec<String> {
    let mut out = Vec::new();
    for (address, account) in a.accounts() {
        if b.get(address) != Some(account) {
            out.push(format!("{address}: {:?} vs {:?}", account, b.get(address)));
        }
    }
    for (address, account) in b.accounts() {
        if a.get(address).is_none() {
            out.push(format!("{address}: missing vs {account:?}"));
        }
    }
    out
}

/// Both parallel strategies.
pub const STRATEGIES: [Strategy; 2] = [Strategy::BlockStm, Strategy::Runs];

/// Runs the block sequentially and with each of `threads` under each strategy, asserting
/// identical results, rejection, receipts and post-state. Returns the sequential output.
pub fn assert_parallel_equals_sequential(
    pre: &MemoryState,
    env: &BlockEnv,
    cfg: &CfgEnv,
    txs: &[TxEnv],
    threads: &[usize],
    label: &str,
) -> BlockOutput {
    let block = BlockInput { env, cfg, txs };
    let sequential = execute_block(pre, &block, &Config::sequential()).expect("sequential run");
    let expected = post_state(pre, &sequential);
    for (&n, strategy) in threads.iter().flat_map(|n| STRATEGIES.iter().map(move |s| (n, *s))) {
        let label = format!("{label} ({strategy})");
        let parallel = execute_block(pre, &block, &Config::parallel(n).with_strategy(strategy))
            .unwrap_or_else(|e| panic!("{label}, {n} threads: {e}"));
        assert_eq!(parallel.rejected, sequential.rejected, "{label}, {n} threads: rejection");
        assert_eq!(parallel.txs.len(), sequential.txs.len(), "{label}, {n} threads: included transactions");
        for (i, (p, s)) in parallel.txs.iter().zip(&sequential.txs).enumerate() {
            assert_eq!(p, s, "{label}, {n} threads: transaction {i}");
        }
        if std::env::var_os("MPEF_TEST_STATS").is_some() {
            eprintln!("{label}, {n} threads: {:?}", parallel.stats);
        }
        let post = post_state(pre, &parallel);
        assert_eq!(
            post.state_root(),
            expected.state_root(),
            "{label}, {n} threads: post-state differs: {:#?}",
            differing_accounts(&post, &expected)
        );
        assert_eq!(parallel.receipts(txs), sequential.receipts(txs), "{label}, {n} threads: receipts");
    }
    sequential
}
