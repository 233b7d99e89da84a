//! Criterion benchmarks of every workload of the shared benchmark folder: one group per
//! workload (`suite/name`), one function per engine, so the report shows them side by side.
//! Setup checks that the engines agree before anything is timed.
//!
//! ```text
//! cargo bench -p metisvm-bench --bench workloads -- snailtracer
//! ```

mod common;

use std::time::Duration;

use common::{bench_workload, GroupTiming};
use criterion::{criterion_group, criterion_main, Criterion};
use metisvm_bench::{benchmarks_dir, load_paths, LoadOptions};

fn workloads(c: &mut Criterion) {
    let root = benchmarks_dir();
    let all = load_paths(&[root], &LoadOptions::default())
        .unwrap_or_else(|err| panic!("{err} (set METISVM_BENCHMARKS)"));
    let timing =
        GroupTiming { samples: 10, warm_up: Duration::from_millis(500), measurement: Duration::from_secs(2) };
    for workload in &all {
        bench_workload(c, workload, &timing);
    }
}

criterion_group!(benches, workloads);
criterion_main!(benches);
