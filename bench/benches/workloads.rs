//! Criterion benchmarks of every workload of the shared benchmark folder: one group per
//! workload (`suite/name`), one function per engine, so the report shows them side by side.
//! Setup checks that the engines agree before anything is timed.
//!
//! ```text
//! cargo bench -p metisvm-bench --bench workloads -- snailtracer
//! ```

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use metisvm_bench::{benchmarks_dir, check_agreement, load_paths, EngineKind, LoadOptions, Workload};

/// Benchmarks `workload` on every engine, timing only [`metisvm_bench::Runner::run`].
pub fn bench_workload(c: &mut Criterion, workload: &Workload) {
    let agreed =
        check_agreement(workload, &EngineKind::ALL).unwrap_or_else(|err| panic!("{}: {err}", workload.id()));
    let mut group = c.benchmark_group(workload.id());
    group.sample_size(10).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
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

fn workloads(c: &mut Criterion) {
    let root = benchmarks_dir();
    let all = load_paths(&[root], &LoadOptions::default())
        .unwrap_or_else(|err| panic!("{err} (set METISVM_BENCHMARKS)"));
    for workload in &all {
        bench_workload(c, workload);
    }
}

criterion_group!(benches, workloads);
criterion_main!(benches);
