//! [EIP-1153](https://eips.ethereum.org/EIPS/eip-1153): transient storage lives for one
//! transaction, is never written to state, and is undone with a reverted frame.

mod common;

use common::{call, TestState, CONTRACT, SENDER};
use metisvm_vm::{AccountChange, Fork, U256};

#[test]
fn tstore_is_visible_in_the_transaction_and_not_persisted() {
    // TSTORE(1, 42); SSTORE(0, TLOAD(1))
    let code = [0x60, 0x2a, 0x60, 0x01, 0x5d, 0x60, 0x01, 0x5c, 0x60, 0x00, 0x55, 0x00];
    let mut state = TestState::default();
    state.with_code(CONTRACT, &code);
    state.with_balance(SENDER, U256::ZERO);
    let outcome = call(&state, Fork::Cancun, 100_000, &[]);
    assert!(outcome.status.is_success());
    let Some(AccountChange::Updated { storage, .. }) = outcome.diff.get(&CONTRACT) else {
        panic!("contract storage must change");
    };
    // Only the persistent slot 0 is written; transient slot 1 never reaches state.
    assert_eq!(storage.len(), 1);
    assert_eq!(storage.get(&U256::ZERO), Some(&U256::from(42)));
}

#[test]
fn tstore_is_rejected_before_cancun() {
    let code = [0x60, 0x2a, 0x60, 0x01, 0x5d, 0x00];
    let mut state = TestState::default();
    state.with_code(CONTRACT, &code);
    state.with_balance(SENDER, U256::ZERO);
    let outcome = call(&state, Fork::Shanghai, 100_000, &[]);
    assert!(!outcome.status.is_success());
    assert_eq!(outcome.gas_used, 100_000, "an invalid opcode consumes all gas");
}
