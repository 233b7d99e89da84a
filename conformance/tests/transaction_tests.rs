//! Every case of `ethereum-tests/TransactionTests` must pass.

use metisvm_conformance::{fixtures::fixture_root, transaction_tests};

#[test]
fn all_transaction_tests_pass() {
    let summary = transaction_tests::run(&fixture_root()).expect("TransactionTests folder readable");
    println!("TransactionTests: {summary}");
    assert!(summary.failed.is_empty(), "TransactionTests: {summary}");
    assert!(summary.passed > 0, "no TransactionTests case ran");
}
