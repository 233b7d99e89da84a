//! Criterion micro-benchmarks of single opcode families (ADD, MUL, SWAP, MSTORE/MLOAD,
//! KECCAK256, SLOAD/SSTORE, CALL), each a small hand-assembled loop run on every engine.
//!
//! ```text
//! cargo bench -p metisvm-bench --bench opcodes -- keccak
//! ```

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use metisvm_bench::micro::opcode_workloads;
use metisvm_bench::{check_agreement, EngineKind};

/// Loop iterations of every micro-benchmark.
const ITERATIONS: u32 = 10_000;

fn opcodes(c: &mut Criterion) {
    for workload in opcode_workloads(ITERATIONS) {
        let agreed = check_agreement(&workload, &EngineKind::ALL)
            .unwrap_or_else(|err| panic!("{}: {err}", workload.id()));
        let mut group = c.benchmark_group(workload.id());
        group
            .sample_size(20)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(1));
        for mut runner in agreed.runners {
            group.bench_function(runner.kind().name(), |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        runner.prepare();
                        let start = Instant::now();
                        let gas = runner.run();
                        total += start.elapsed();
                        gas.unwrap_or_else(|err| panic!("{err}"));
                    }
                    total
                });
            });
        }
        group.finish();
    }
}

criterion_group!(benches, opcodes);
criterion_main!(benches);
