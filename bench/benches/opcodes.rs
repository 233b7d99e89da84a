//! Criterion micro-benchmarks of single opcode families (ADD, MUL, SWAP, MSTORE/MLOAD,
//! KECCAK256, SLOAD/SSTORE, CALL), each a small hand-assembled loop run on every engine.
//!
//! ```text
//! cargo bench -p metisvm-bench --bench opcodes -- keccak
//! ```

mod common;

use std::time::Duration;

use common::{bench_workload, GroupTiming};
use criterion::{criterion_group, criterion_main, Criterion};
use metisvm_bench::micro::opcode_workloads;

/// Loop iterations of every micro-benchmark.
const ITERATIONS: u32 = 10_000;

fn opcodes(c: &mut Criterion) {
    let timing =
        GroupTiming { samples: 20, warm_up: Duration::from_millis(300), measurement: Duration::from_secs(1) };
    for workload in opcode_workloads(ITERATIONS) {
        bench_workload(c, &workload, &timing);
    }
}

criterion_group!(benches, opcodes);
criterion_main!(benches);
