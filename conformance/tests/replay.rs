//! Every one of the 42 mainnet blocks in `mainnet-blocks/` must replay to its header's
//! `gasUsed`, `logsBloom` and (from Byzantium on) `receiptsRoot`.

use metisvm_conformance::fixtures::fixture_root;
use metisvm_conformance::replay::{block_dirs, run_blocks, Outcome};
use metisvm_conformance::skip::SkipList;

#[test]
fn all_mainnet_blocks_replay() {
    let root = fixture_root().join("mainnet-blocks");
    let dirs = block_dirs(&root).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(dirs.len(), 42, "expected 42 block folders under {}", root.display());
    let reports = run_blocks(&dirs, &SkipList::builtin(), None, |_| {}).unwrap_or_else(|e| panic!("{e}"));
    let failures: Vec<String> = reports
        .iter()
        .filter_map(|r| match &r.outcome {
            Outcome::Passed => None,
            other => Some(format!("block {} ({}): {other:?}", r.number, r.fork)),
        })
        .collect();
    let passed = reports.iter().filter(|r| r.outcome == Outcome::Passed).count();
    let txs: usize = reports.iter().map(|r| r.tx_count).sum();
    let exec: f64 = reports.iter().map(|r| r.exec_seconds).sum();
    println!("mainnet blocks: {passed} passed, {txs} txs, {exec:.2}s executing");
    assert!(failures.is_empty(), "{} blocks failed:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(passed, 42);
    // Every block's own transactions ran to the end.
    for r in &reports {
        assert_eq!(r.txs.len(), r.tx_count, "block {}", r.number);
        assert_eq!(r.gas_used, r.header_gas_used, "block {}", r.number);
    }
}

#[test]
fn a_single_block_folder_is_one_block() {
    let dir = fixture_root().join("mainnet-blocks").join("46147");
    assert_eq!(block_dirs(&dir).unwrap_or_else(|e| panic!("{e}")), vec![dir]);
}
