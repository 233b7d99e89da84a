//! Criterion benchmark: one snailtracer transaction on MetisVM and on revm, in one group so the
//! report shows them side by side. Setup asserts that both engines agree before timing.

use criterion::{criterion_group, criterion_main, Criterion};
use metisvm_bench::{check_agreement, MetisRunner, RevmRunner, Workload};

fn snailtracer(c: &mut Criterion) {
    let workload = Workload::snailtracer().expect("snailtracer input (set METISVM_BENCHMARKS)");
    check_agreement(&workload).unwrap_or_else(|err| panic!("{err:#}"));

    let mut group = c.benchmark_group(workload.name);
    group.sample_size(10);
    let mut metis = MetisRunner::new(&workload);
    group.bench_function("metisvm", |b| b.iter(|| metis.run().expect("metisvm run")));
    let mut revm = RevmRunner::new(&workload).expect("revm setup");
    group.bench_function("revm", |b| b.iter(|| revm.run().expect("revm run")));
    group.finish();
}

criterion_group!(benches, snailtracer);
criterion_main!(benches);
