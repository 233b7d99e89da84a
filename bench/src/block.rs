//! `metisvm bench block`: MPEF's parallel execution against its own sequential path, in one
//! run, on synthetic blocks (see [`metisvm_mpef::synthetic`]) and on the mainnet blocks of
//! the fixtures.
//!
//! Every block is first run sequentially and on each thread count, and the results and
//! post-state roots compared; a difference is an error, never a timing. Then the modes are
//! timed interleaved, round by round, after warm-up runs, and the median of each is reported.

use metisvm_conformance::replay::{block_dirs, load_block, parallel};
use metisvm_mpef::synthetic::{generate, Contracts, Params, Workload};
use metisvm_mpef::{execute_block, BlockInput, BlockOutput, Config, PoolError, Stats, WorkerPool};
use metisvm_state::MemoryState;
use metisvm_vm::{BlockEnv, CfgEnv, StateReader, StateWriter, TxEnv, B256};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// What to run.
#[derive(Debug, Clone)]
pub struct BlockBenchOptions {
    /// Synthetic workloads to generate.
    pub workloads: Vec<Workload>,
    /// Transactions per synthetic block.
    pub txs: usize,
    /// Share of conflicting transactions in synthetic blocks.
    pub conflict_rate: f64,
    /// Worker counts to time.
    pub threads: Vec<usize>,
    /// Timed rounds per mode.
    pub rounds: usize,
    /// Untimed rounds per mode first.
    pub warmup: usize,
    /// Compiled contracts folder (`../shared/benchmarks/contracts`).
    pub contracts: PathBuf,
    /// Mainnet block folders to time too.
    pub mainnet: Option<PathBuf>,
    /// Run parallel blocks on a [`WorkerPool`] kept across rounds (as a node would), rather
    /// than on threads started per block.
    pub pool: bool,
    /// Keep each pool thread on its own CPU ([`WorkerPool::pinned`]).
    pub pin: bool,
    /// Time [`metisvm_mpef::Mode::Adaptive`] rather than always running in parallel.
    pub adaptive: bool,
    /// How parallel blocks are run.
    pub strategy: metisvm_mpef::Strategy,
}

/// The timings of one block.
#[derive(Debug, Clone)]
pub struct BlockBenchRow {
    /// Workload name, or the block number.
    pub name: String,
    /// Transactions.
    pub txs: usize,
    /// Gas used.
    pub gas: u64,
    /// Median seconds of the sequential path.
    pub sequential_seconds: f64,
    /// Per worker count: median seconds and the counters of the last run.
    pub parallel: Vec<(usize, f64, Stats)>,
}

impl BlockBenchRow {
    /// Sequential time over the parallel time with `threads` workers.
    pub fn speedup(&self, threads: usize) -> Option<f64> {
        self.parallel.iter().find(|(t, _, _)| *t == threads).map(|(_, s, _)| self.sequential_seconds / s)
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs.get(xs.len() / 2).copied().unwrap_or(0.0)
}

fn post_root(pre: &MemoryState, changes: &BlockOutput, extra: Option<&metisvm_vm::StateDiff>) -> B256 {
    let mut post = pre.clone();
    if let Some(diff) = extra {
        post.commit(diff);
    }
    post.commit(&changes.changes);
    post.state_root()
}

/// Checks that every thread count gives the sequential results, then times them.
fn time_block<R: StateReader + Sync>(
    name: String,
    pre: &MemoryState,
    base: &R,
    system_diff: Option<&metisvm_vm::StateDiff>,
    block: &BlockInput<'_>,
    options: &BlockBenchOptions,
) -> anyhow::Result<BlockBenchRow> {
    let sequential = execute_block(base, block, &Config::sequential())?;
    let expected = post_root(pre, &sequential, system_diff);
    // One pool per thread count, kept across rounds as a node keeps its workers.
    let configs: Vec<Config> = options
        .threads
        .iter()
        .map(|&threads| {
            let config = if options.adaptive { Config::adaptive(threads) } else { Config::parallel(threads) };
            let config = config.with_strategy(options.strategy);
            match options.pool {
                true if options.pin => Ok(config.with_pool(Arc::new(WorkerPool::pinned(threads)?))),
                true => Ok(config.with_pool(Arc::new(WorkerPool::new(threads)?))),
                false => Ok(config),
            }
        })
        .collect::<Result<_, PoolError>>()?;
    for (&threads, config) in options.threads.iter().zip(&configs) {
        let out = execute_block(base, block, config)?;
        anyhow::ensure!(
            out.txs == sequential.txs && out.rejected == sequential.rejected,
            "{name}: results on {threads} threads differ from sequential execution"
        );
        anyhow::ensure!(
            post_root(pre, &out, system_diff) == expected,
            "{name}: post-state root on {threads} threads differs from sequential execution"
        );
    }
    let mut seq_times = Vec::new();
    let mut par_times: Vec<Vec<f64>> = vec![Vec::new(); options.threads.len()];
    let mut last_stats = vec![Stats::default(); options.threads.len()];
    // No timed run may be slowed by an earlier parallel run's memory being freed in the
    // background (see `WorkerPool::wait_for_background_work`).
    let settle = || {
        for pool in configs.iter().filter_map(|c| c.pool.as_ref()) {
            pool.wait_for_background_work();
        }
    };
    for round in 0..options.warmup + options.rounds.max(1) {
        let timed = round >= options.warmup;
        settle();
        // Each output is dropped after its time is taken, so that neither path's time
        // includes freeing what it returned.
        let t = Instant::now();
        let out = std::hint::black_box(execute_block(base, block, &Config::sequential())?);
        if timed {
            seq_times.push(t.elapsed().as_secs_f64());
        }
        drop(out);
        for (i, config) in configs.iter().enumerate() {
            settle();
            let t = Instant::now();
            let out = std::hint::black_box(execute_block(base, block, config)?);
            if timed {
                par_times[i].push(t.elapsed().as_secs_f64());
                last_stats[i] = out.stats;
            }
        }
    }
    Ok(BlockBenchRow {
        name,
        txs: block.txs.len(),
        gas: sequential.gas_used(),
        sequential_seconds: median(seq_times),
        parallel: options
            .threads
            .iter()
            .zip(par_times)
            .zip(last_stats)
            .map(|((t, xs), s)| (*t, median(xs), s))
            .collect(),
    })
}

/// Times the synthetic workloads.
pub fn run_synthetic(
    options: &BlockBenchOptions,
    progress: impl Fn(&str),
) -> anyhow::Result<Vec<BlockBenchRow>> {
    let contracts = if options.workloads.iter().any(|w| w.needs_contracts()) {
        Some(Contracts::load(&options.contracts)?)
    } else {
        None
    };
    let mut rows = Vec::new();
    for &workload in &options.workloads {
        progress(workload.name());
        let params = Params { workload, txs: options.txs, conflict_rate: options.conflict_rate, seed: 1 };
        let block = generate(&params, contracts.as_ref()).map_err(anyhow::Error::msg)?;
        let input = BlockInput { env: &block.env, cfg: &block.cfg, txs: &block.txs };
        rows.push(time_block(workload.name().to_string(), &block.pre, &block.pre, None, &input, options)?);
    }
    Ok(rows)
}

/// Times every block under `dir` (folders of `block.json` and `pre_state.json`).
pub fn run_mainnet(
    dir: &Path,
    options: &BlockBenchOptions,
    progress: impl Fn(&str),
) -> anyhow::Result<Vec<BlockBenchRow>> {
    let mut rows = Vec::new();
    for block_dir in block_dirs(dir)? {
        let (block, pre) = load_block(&block_dir)?;
        if block.transactions.is_empty() {
            continue;
        }
        progress(&block.env.number.to_string());
        let overlay = parallel::pre_block_state(&block, &pre).map_err(anyhow::Error::msg)?;
        let txs: Vec<TxEnv> = parallel::tx_envs(&block);
        let cfg = CfgEnv::new(block.fork);
        let env: &BlockEnv = &block.env;
        let input = BlockInput { env, cfg: &cfg, txs: &txs };
        let system = overlay.diff().clone();
        rows.push(time_block(block.env.number.to_string(), &pre, &overlay, Some(&system), &input, options)?);
    }
    Ok(rows)
}

/// The arithmetic mean of the rows' speedups on `threads` workers.
pub fn mean_speedup(rows: &[BlockBenchRow], threads: usize) -> f64 {
    let xs: Vec<f64> = rows.iter().filter_map(|r| r.speedup(threads)).collect();
    xs.iter().sum::<f64>() / xs.len().max(1) as f64
}
