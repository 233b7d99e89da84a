//! Gas sections: the interpreter checks static gas and stack bounds once per basic block
//! (see `interpreter::analysis`). A traced run checks every instruction on its own, so
//! these tests run each program both ways, at every gas limit around the point where it
//! runs out, and require the same status (halt reason included), gas used, output, logs
//! and state changes.

mod common;

use common::{call_with, TestState, CONTRACT};
use metisvm_vm::{Fork, HaltReason, Step, Tracer, TxOutcome, U256};

/// A tracer that ignores what it is told: it only switches the interpreter to checking
/// every instruction.
struct StepByStep;

impl Tracer for StepByStep {
    fn step(&mut self, _: &Step<'_>) {}
    fn end(&mut self, _: &[u8], _: u64, _: Option<&str>) {}
}

const INTRINSIC: u64 = 21_000;

fn run(code: &[u8], fork: Fork, gas: u64, step_by_step: bool) -> TxOutcome {
    let mut state = TestState::default();
    state.with_code(CONTRACT, code);
    let mut tracer = StepByStep;
    call_with(&state, fork, gas, &[], step_by_step.then_some(&mut tracer as &mut dyn Tracer))
}

/// Runs `code` with every execution gas from 0 to `max_gas` both ways; panics on the first
/// difference. Returns the outcomes at each gas, from the block-checked runs.
fn assert_same_at_every_gas(code: &[u8], fork: Fork, max_gas: u64) -> Vec<TxOutcome> {
    (0..=max_gas)
        .map(|gas| {
            let fast = run(code, fork, INTRINSIC + gas, false);
            let exact = run(code, fork, INTRINSIC + gas, true);
            let context = format!("code {} under {fork:?} with {gas} execution gas", hex(code));
            assert_eq!(fast.status, exact.status, "status: {context}");
            assert_eq!(fast.gas_used, exact.gas_used, "gas used: {context}");
            assert_eq!(fast.output, exact.output, "output: {context}");
            assert_eq!(fast.logs, exact.logs, "logs: {context}");
            assert_eq!(fast.diff, exact.diff, "state changes: {context}");
            fast
        })
        .collect()
}

fn hex(code: &[u8]) -> String {
    code.iter().map(|b| format!("{b:02x}")).collect()
}

fn halted(outcome: &TxOutcome) -> Option<HaltReason> {
    match outcome.status {
        metisvm_vm::ExecStatus::Halt(reason) => Some(reason),
        _ => None,
    }
}

#[test]
fn out_of_gas_inside_a_block_reports_the_failing_instruction() {
    // PUSH1 1, PUSH1 2, ADD, PUSH1 0, SSTORE, STOP: one block up to SSTORE.
    let code = [0x60, 1, 0x60, 2, 0x01, 0x60, 0, 0x55, 0x00];
    let outcomes = assert_same_at_every_gas(&code, Fork::Cancun, 22_200);
    assert_eq!(halted(&outcomes[5]), Some(HaltReason::OutOfGas));
    assert_eq!(halted(&outcomes[22_200]), None);
}

#[test]
fn underflow_after_out_of_gas_point_keeps_step_order() {
    // PUSH1 1, ADD (underflow: one item), STOP. With 2 gas the PUSH runs out of gas first;
    // with more, ADD underflows.
    let code = [0x60, 1, 0x01, 0x00];
    let outcomes = assert_same_at_every_gas(&code, Fork::Cancun, 10);
    assert_eq!(halted(&outcomes[2]), Some(HaltReason::OutOfGas));
    assert_eq!(halted(&outcomes[10]), Some(HaltReason::StackUnderflow));
}

#[test]
fn memory_expansion_inside_a_block_is_charged_at_its_instruction() {
    // PUSH1 1, PUSH2 0x4000, MSTORE (expands memory: dynamic gas), PUSH1 2, PUSH1 3, ADD,
    // PUSH1 0, SSTORE. The block passes its entry check, so MSTORE's expansion is charged
    // with the later instructions' static gas already taken; at every gas limit the result
    // must still be the step-by-step one.
    let code = [0x60, 1, 0x61, 0x40, 0x00, 0x52, 0x60, 2, 0x60, 3, 0x01, 0x60, 0, 0x55, 0x00];
    let outcomes = assert_same_at_every_gas(&code, Fork::Cancun, 24_200);
    assert_eq!(halted(&outcomes[2_000]), Some(HaltReason::OutOfGas));
    assert_eq!(halted(&outcomes[24_200]), None);
}

#[test]
fn gas_opcode_sees_only_the_gas_spent_so_far() {
    // GAS, PUSH1 0, SSTORE, then more instructions in the next block.
    let code = [0x5a, 0x60, 0, 0x55, 0x60, 1, 0x60, 2, 0x01, 0x50, 0x00];
    let outcomes = assert_same_at_every_gas(&code, Fork::Cancun, 25_000);
    let mut after = TestState::default();
    after.apply(&outcomes[25_000].diff);
    // GAS itself costs 2.
    assert_eq!(after.slot(CONTRACT, 0), U256::from(25_000 - 2));
}

#[test]
fn undefined_opcode_after_valid_ones_runs_them_first() {
    // PUSH1 1, PUSH1 0, SSTORE, PUSH0 (undefined before Shanghai).
    let code = [0x60, 1, 0x60, 0, 0x55, 0x5f, 0x00];
    let outcomes = assert_same_at_every_gas(&code, Fork::Paris, 22_200);
    assert_eq!(halted(&outcomes[22_200]), Some(HaltReason::InvalidOpcode));
    let outcomes = assert_same_at_every_gas(&code, Fork::Shanghai, 22_200);
    assert_eq!(halted(&outcomes[22_200]), None);
}

#[test]
fn stack_overflow_inside_a_block() {
    // JUMPDEST, then PUSH0 x 8, then PUSH1 0, JUMP: the stack grows by 8 per loop until the
    // block's entry check sees that 8 more would pass 1024.
    let mut code = vec![0x5b];
    code.extend([0x5f; 8]);
    code.extend([0x60, 0, 0x56]);
    let last = run(&code, Fork::Cancun, INTRINSIC + 1_000_000, false);
    let exact = run(&code, Fork::Cancun, INTRINSIC + 1_000_000, true);
    assert_eq!(halted(&last), Some(HaltReason::StackOverflow));
    assert_eq!(last.gas_used, exact.gas_used);
    assert_eq!(last.status, exact.status);
}

#[test]
fn block_needing_more_items_than_a_stack_holds_underflows() {
    // POP, then ADDMOD x 32767: one block needing 65536 items at entry.
    let mut code = vec![0x50];
    code.extend([0x08; 32767]);
    for gas in [1, 300_000] {
        let fast = run(&code, Fork::Cancun, INTRINSIC + gas, false);
        let exact = run(&code, Fork::Cancun, INTRINSIC + gas, true);
        assert_eq!(fast.status, exact.status);
        assert_eq!(fast.gas_used, exact.gas_used);
    }
    assert_eq!(
        halted(&run(&code, Fork::Cancun, INTRINSIC + 300_000, false)),
        Some(HaltReason::StackUnderflow)
    );
}

/// A small deterministic generator (xorshift), so the random programs are the same on
/// every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// Random straight-line and looping programs over arithmetic, stack, memory, jumps, GAS
/// and storage, each run at every gas limit up to what it needs.
#[test]
fn random_programs_match_step_by_step_execution() {
    let ops: &[u8] = &[
        0x01, 0x02, 0x03, 0x04, 0x0b, 0x10, 0x14, 0x15, 0x16, 0x19, 0x1b, 0x50, 0x51, 0x52, 0x53, 0x55, 0x54,
        0x56, 0x57, 0x58, 0x59, 0x5a, 0x5b, 0x5f, 0x80, 0x81, 0x83, 0x90, 0x91, 0x0a, 0x20, 0x00, 0xfe, 0x0c,
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..80 {
        let mut code = Vec::new();
        let len = 4 + rng.next() % 24;
        for _ in 0..len {
            match rng.next() % 2 {
                // Small pushes keep memory offsets and jump targets in range, and enough of
                // them let most blocks pass their entry check.
                0 => code.extend([0x60, (rng.next() % 40) as u8]),
                _ => code.push(rng.pick(ops)),
            }
        }
        // Find the gas the program uses when it has plenty, then sweep up to it.
        let plenty = run(&code, Fork::Cancun, INTRINSIC + 200_000, false);
        let needed = (plenty.gas_used - INTRINSIC).min(1_500);
        assert_same_at_every_gas(&code, Fork::Cancun, needed + 5);
    }
}

#[test]
fn fused_push_and_jump_pairs_behave_as_their_two_instructions() {
    // 0: PUSH1 6, 2: JUMP (fused) -> 3: INVALID padding, 6: JUMPDEST, 7: PUSH1 1,
    // 9: PUSH2 0x0010, 12: JUMPI (fused, taken), 13: STOP, 16: JUMPDEST, 17: PUSH1 0,
    // 19: PUSH1 0x17, 21: JUMPI (fused, not taken), 22: PUSH1 42, 24: PUSH1 0, 26: SSTORE,
    // 27: STOP.
    let code = [
        0x60, 6, 0x56, 0xfe, 0xfe, 0xfe, 0x5b, 0x60, 1, 0x61, 0x00, 0x10, 0x57, 0x00, 0xfe, 0xfe, 0x5b, 0x60,
        0, 0x60, 0x17, 0x57, 0x60, 42, 0x60, 0, 0x55, 0x00,
    ];
    let outcomes = assert_same_at_every_gas(&code, Fork::Cancun, 22_200);
    let done = &outcomes[22_200];
    assert_eq!(halted(done), None);
    let stored = done.diff.values().find_map(|change| match change {
        metisvm_vm::AccountChange::Updated { storage, .. } => storage.get(&U256::ZERO).copied(),
        _ => None,
    });
    assert_eq!(stored, Some(U256::from(42)), "the not-taken JUMPI falls through to the SSTORE");
}

#[test]
fn fused_jumps_to_bad_destinations_halt_like_jump() {
    // PUSH1 3, JUMP: 3 is past the end (the implicit STOP is no JUMPDEST).
    let past_end = [0x60, 3, 0x56];
    assert_eq!(
        halted(&assert_same_at_every_gas(&past_end, Fork::Cancun, 20)[20]),
        Some(HaltReason::InvalidJump)
    );
    // PUSH1 1, PUSH1 6, JUMPI: 6 holds a 0x5b byte, but inside the data of the PUSH2 at 5.
    let into_data = [0x60, 1, 0x60, 6, 0x57, 0x61, 0x5b, 0x5b, 0x00];
    assert_eq!(
        halted(&assert_same_at_every_gas(&into_data, Fork::Cancun, 30)[30]),
        Some(HaltReason::InvalidJump)
    );
    // A fused JUMP with an empty stack under it still needs no items: PUSH1 4, JUMP,
    // INVALID, JUMPDEST, POP (underflow in the landing block).
    let underflow = [0x60, 4, 0x56, 0xfe, 0x5b, 0x50, 0x00];
    assert_eq!(
        halted(&assert_same_at_every_gas(&underflow, Fork::Cancun, 30)[30]),
        Some(HaltReason::StackUnderflow)
    );
}
