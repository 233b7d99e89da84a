//! Fuzz target: random bytecode and calldata on the interpreter and on compiled code, which
//! must agree on everything (see `metisvm_jit::differential`).
//!
//! Input layout: byte 0 picks the fork, bytes 1-2 a gas fraction, byte 3 the calldata
//! length; then the calldata, then the code. Each input runs at the gas it needs, one less,
//! and the fraction of it the input asks for, so out-of-gas points inside blocks, memory
//! growth and jumps are all reached.
//!
//! Run: `cargo +nightly fuzz run jit_vs_interpreter` (from the repository root).

#![no_main]

use libfuzzer_sys::fuzz_target;
use metisvm_jit::differential::{Case, Harness};
use metisvm_vm::Fork;
use std::cell::RefCell;

/// Gas given to find out what a case needs; caps the work per input.
const GAS_CAP: u64 = 1_000_000;

const FORKS: [Fork; 6] = [Fork::Frontier, Fork::Byzantium, Fork::Istanbul, Fork::London, Fork::Cancun, Fork::Osaka];

thread_local! {
    static HARNESS: RefCell<Harness> = RefCell::new(Harness::new());
}

fuzz_target!(|input: &[u8]| {
    let [fork, g0, g1, data_len, rest @ ..] = input else { return };
    let data_len = (*data_len as usize).min(rest.len());
    let (data, code) = rest.split_at(data_len);
    if code.is_empty() || code.len() > metisvm_jit::compiler::MAX_CODE_LEN {
        return;
    }
    let case = Case { code: code.to_vec(), data: data.to_vec(), fork: FORKS[*fork as usize % FORKS.len()] };
    let state = case.state();
    HARNESS.with(|harness| {
        let mut harness = harness.borrow_mut();
        let needed = harness.needed(&case, &state, GAS_CAP);
        let fraction = needed * u64::from(u16::from_le_bytes([*g0, *g1])) / u64::from(u16::MAX);
        for gas in [needed, needed.saturating_sub(1), fraction] {
            if let Err(difference) = harness.check(&case, &state, gas) {
                panic!("{difference}");
            }
        }
        // Code within the compile budget must compile: a code generator error is a bug.
        let stats = harness.jit().stats();
        assert_eq!(stats.codegen_errors, 0, "code generator failed on {}", case.code_hex());
    });
});
