//! Calls nest to the 1024 limit on the executor's explicit frame stack, not the native
//! stack: the test runs on a thread with a deliberately small native stack.

mod common;

use common::{call, TestState, CONTRACT, SENDER};
use metisvm_vm::{Fork, U256};

/// Increments slot 0, then calls itself with all available gas.
const RECURSE: [u8; 18] = [
    0x60, 0x00, 0x54, // SLOAD(0)
    0x60, 0x01, 0x01, // + 1
    0x60, 0x00, 0x55, // SSTORE(0, .)
    0x60, 0x00, 0x80, 0x80, 0x80, 0x80, // ret/args ranges and value: zero
    0x30, 0x5a, 0xf1, // CALL(GAS, ADDRESS, ...)
];

#[test]
fn recursion_reaches_depth_1024_on_a_small_native_stack() {
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let mut state = TestState::default();
            state.with_code(CONTRACT, &RECURSE);
            state.with_balance(SENDER, U256::ZERO);
            // Enough gas that 1/64 retention still leaves plenty at depth 1024.
            let outcome = call(&state, Fork::Prague, 1_000_000_000_000, &[]);
            assert!(outcome.status.is_success(), "{:?}", outcome.status);
            state.apply(&outcome.diff);
            state.slot(CONTRACT, 0)
        })
        .expect("spawn");
    // Frames at depths 0..=1024 each increment once; the call out of depth 1024 fails.
    assert_eq!(handle.join().expect("no native stack overflow"), U256::from(1025));
}
