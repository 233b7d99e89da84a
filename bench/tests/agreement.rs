//! The differential check end to end on small hand-written contracts: both engines' results
//! mapped into one form, agreement on logs, storage and multi-transaction workloads, and a
//! deliberately different world reported as a mismatch rather than timed.

use metisvm_bench::compare::differences;
use metisvm_bench::engines::{runner, EngineKind};
use metisvm_bench::timing::{measure, TimingOptions};
use metisvm_bench::workload::{Workload, CONTRACT};
use metisvm_bench::{bench_workload, check_agreement, CheckError};
use metisvm_jit::CompileOptions;
use metisvm_vm::{Bytes, Fork, U256};

/// SSTORE(0, 42); MSTORE(0, 0xff); LOG1(0, 32, topic 7); RETURN(0, 32).
const LOG_AND_STORE: &[u8] = &[
    0x60, 0x2a, 0x60, 0x00, 0x55, 0x60, 0xff, 0x60, 0x00, 0x52, 0x60, 0x07, 0x60, 0x20, 0x60, 0x00, 0xa1,
    0x60, 0x20, 0x60, 0x00, 0xf3,
];
/// SSTORE(0, SLOAD(0) + 1); STOP.
const COUNTER: &[u8] = &[0x60, 0x00, 0x54, 0x60, 0x01, 0x01, 0x60, 0x00, 0x55, 0x00];
/// REVERT(0, 0).
const REVERT: &[u8] = &[0x60, 0x00, 0x60, 0x00, 0xfd];

fn workload(code: &'static [u8]) -> Workload {
    Workload::bytecode("t", "test", Bytes::from_static(code), Bytes::new(), 1_000_000, Fork::Cancun)
}

#[test]
fn logs_storage_and_output_agree() {
    let agreed = check_agreement(&workload(LOG_AND_STORE), &EngineKind::ALL).unwrap();
    let tx = &agreed.result.txs[0];
    assert!(tx.status.is_success());
    assert_eq!(tx.logs.len(), 1);
    assert_eq!(tx.output.len(), 32);
    assert_eq!(agreed.result.post[&CONTRACT].storage[&U256::ZERO], U256::from(42));
    assert_eq!(agreed.runners.iter().map(|r| r.kind()).collect::<Vec<_>>(), EngineKind::ALL);
}

#[test]
fn transactions_of_a_list_see_each_other() {
    let mut w = workload(COUNTER);
    let mut second = w.txs[0].clone();
    second.nonce = 1;
    w.txs.push(second);
    let mut agreed = check_agreement(&w, &EngineKind::ALL).unwrap();
    assert_eq!(agreed.result.post[&CONTRACT].storage[&U256::ZERO], U256::from(2));
    // The second increment is warm and cheaper: the timed runs commit between transactions.
    assert!(agreed.result.txs[0].gas_used > agreed.result.txs[1].gas_used);
    let options = TimingOptions { warmup: 1, rounds: 3, ..TimingOptions::default() };
    let stats = measure(&mut agreed.runners, agreed.result.gas_used(), &options).unwrap();
    assert!(stats.iter().all(|s| s.runs == 3));
}

#[test]
fn a_different_world_is_a_mismatch() {
    let w = workload(COUNTER);
    let mut other = w.clone();
    let code = Some(Bytes::from_static(COUNTER));
    let info = metisvm_vm::AccountInfo { nonce: 1, code, ..metisvm_vm::AccountInfo::default() };
    other.pre.insert_account(CONTRACT, info, [(U256::ZERO, U256::from(5))]);
    let ours = runner(EngineKind::Interp, &w, CompileOptions::default()).unwrap().execute().unwrap();
    let theirs = runner(EngineKind::Revm, &other, CompileOptions::default()).unwrap().execute().unwrap();
    let lines = differences("interp", &ours, "revm", &theirs).join("\n");
    assert!(lines.contains("storage slot 0x0: interp 0x1 vs revm 0x6"), "{lines}");
    assert!(lines.contains("gas used"), "a non-zero slot costs less to update: {lines}");
}

#[test]
fn a_failing_transaction_is_not_timed() {
    let report = bench_workload(&workload(REVERT), &EngineKind::ALL, &TimingOptions::default());
    match &report.verdict {
        Err(CheckError::Failed(message)) => assert!(message.contains("tx 0 did not succeed"), "{message}"),
        other => panic!("expected a failure, got {other:?}"),
    }
    assert_eq!(report.ratio(), None);
}

#[test]
fn one_engine_alone_is_timed_without_a_ratio() {
    let options = TimingOptions { warmup: 0, rounds: 2, ..TimingOptions::default() };
    let report = bench_workload(&workload(COUNTER), &[EngineKind::Interp], &options);
    assert_eq!(report.verdict.as_ref().unwrap().len(), 1);
    assert!(report.gas_used > 21_000);
    assert_eq!(report.ratio(), None);
}
