//! Quick ratio of MetisVM to revm on snailtracer, without criterion's statistics.
//!
//! Runs each engine N times (first argument, default 20), interleaved so that both see the same
//! machine conditions, and prints the median of each and their ratio on one line:
//!
//! ```text
//! cargo run --release -p metisvm-bench --example snailtracer_ratio -- 50
//! ```

use std::time::{Duration, Instant};

use anyhow::Context as _;
use metisvm_bench::{check_agreement, MetisRunner, Outcome, RevmRunner, Workload};

fn main() -> anyhow::Result<()> {
    let runs: usize = match std::env::args().nth(1) {
        Some(arg) => arg.parse().with_context(|| format!("run count {arg:?}: not a number"))?,
        None => 20,
    };
    anyhow::ensure!(runs > 0, "run count must be at least 1");

    let workload = Workload::snailtracer()?;
    let agreed = check_agreement(&workload)?;
    eprintln!(
        "{}: engines agree: success, gas used {}, output {} bytes",
        workload.name,
        agreed.gas_used,
        agreed.output.len()
    );
    let mut metis = MetisRunner::new(&workload);
    let mut revm = RevmRunner::new(&workload)?;
    // One untimed run each: warms caches and the code-analysis cache of both engines.
    metis.run()?;
    revm.run()?;

    let mut metis_times = Vec::with_capacity(runs);
    let mut revm_times = Vec::with_capacity(runs);
    for _ in 0..runs {
        metis_times.push(time(|| metis.run())?);
        revm_times.push(time(|| revm.run())?);
    }
    let metis_ms = median_ms(&mut metis_times);
    let revm_ms = median_ms(&mut revm_times);
    println!(
        "{}: metisvm {metis_ms:.1} ms, revm {revm_ms:.1} ms, ratio {:.2}x (lower is better for metisvm)",
        workload.name,
        metis_ms / revm_ms,
    );
    Ok(())
}

/// Wall time of one run.
fn time(run: impl FnOnce() -> anyhow::Result<Outcome>) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let outcome = std::hint::black_box(run()?);
    let elapsed = start.elapsed();
    drop(outcome);
    Ok(elapsed)
}

/// Median of `times` in milliseconds (the mean of the middle two for an even count).
fn median_ms(times: &mut [Duration]) -> f64 {
    times.sort_unstable();
    let mid = times.len() / 2;
    let median = if times.len().is_multiple_of(2) { (times[mid - 1] + times[mid]) / 2 } else { times[mid] };
    median.as_secs_f64() * 1e3
}
