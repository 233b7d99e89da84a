//! What both criterion bench targets share: one criterion group per workload, one function
//! per engine, timing only the run itself after the engines were checked to agree.

use std::time::{Duration, Instant};

use criterion::Criterion;
use metisvm_bench::{check_agreement, EngineKind, Workload};

/// Criterion settings of a group.
pub(crate) struct GroupTiming {
    /// Samples per function.
    pub(crate) samples: usize,
    /// Warm-up time per function.
    pub(crate) warm_up: Duration,
    /// Measurement time per function.
    pub(crate) measurement: Duration,
}

/// Benchmarks `workload` on every engine, timing only [`metisvm_bench::Runner::run`]
/// (each iteration's `prepare` runs outside the timer).
pub(crate) fn bench_workload(c: &mut Criterion, workload: &Workload, timing: &GroupTiming) {
    let agreed =
        check_agreement(workload, &EngineKind::ALL).unwrap_or_else(|err| panic!("{}: {err}", workload.id()));
    let mut group = c.benchmark_group(workload.id());
    group.sample_size(timing.samples).warm_up_time(timing.warm_up).measurement_time(timing.measurement);
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
