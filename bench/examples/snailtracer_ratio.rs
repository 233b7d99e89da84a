//! Quick ratio of MetisVM to revm on snailtracer, without criterion's statistics (the
//! `metisvm bench` command does this for every workload).
//!
//! Runs each engine N times (first argument, default 20), interleaved so that both see the same
//! machine conditions, and prints the median of each and their ratio on one line:
//!
//! ```text
//! cargo run --release -p metisvm-bench --example snailtracer_ratio -- 50
//! ```

use anyhow::Context as _;
use metisvm_bench::load::{load_file, LoadOptions};
use metisvm_bench::report::format_duration;
use metisvm_bench::{bench_workload, benchmarks_dir, EngineKind, TimingOptions};

fn main() -> anyhow::Result<()> {
    let rounds: usize = match std::env::args().nth(1) {
        Some(arg) => arg.parse().with_context(|| format!("run count {arg:?}: not a number"))?,
        None => 20,
    };
    anyhow::ensure!(rounds > 0, "run count must be at least 1");
    let workloads = load_file(&benchmarks_dir().join("revm/snailtracer.hex"), &LoadOptions::default())?;
    let options = TimingOptions { rounds, ..TimingOptions::default() };
    let report = bench_workload(&workloads[0], &EngineKind::ALL, &options);
    let stats = report.verdict.as_ref().map_err(|err| anyhow::anyhow!("{}: {err}", report.id()))?;
    let median = |engine| stats.iter().find(|s| s.engine == engine).map(|s| format_duration(s.median));
    println!(
        "{}: metisvm {}, revm {}, revm/metisvm {:.2}x (>1: metisvm faster)",
        report.id(),
        median(EngineKind::Interp).unwrap_or_default(),
        median(EngineKind::Revm).unwrap_or_default(),
        report.ratio().unwrap_or(f64::NAN),
    );
    Ok(())
}
