//! Side-by-side benchmarks of MetisVM against [revm](https://github.com/bluealloy/revm), the
//! reference Rust interpreter, on the public workloads of the shared benchmark folder.
//!
//! A [`Workload`] (pre-state, block, fork, transactions) is read from a state test, a revmc
//! file or raw bytecode ([`load`]) and handed to every engine ([`engines`]), each set up the
//! same way: the same pre-state in an in-memory store, the same block and transactions, run
//! through its public transaction API, so that a measurement covers validation, gas purchase,
//! execution and the state diff on both sides.
//!
//! Before anything is timed, [`check_agreement`] runs every engine once and compares status,
//! gas used, return data, logs and the final world ([`compare`]): a benchmark of two engines
//! that disagree measures nothing, so a mismatch is reported and never timed. Agreed engines
//! are then timed interleaved ([`timing`]) and reported as a table, JSON, Markdown and an SVG
//! chart ([`report`]).
//!
//! Inputs are read at run time from the shared benchmark folder (see [`benchmarks_dir`]),
//! never copied into this repository. revm is a dependency of this crate only; the engine
//! crates never see it.

pub mod block;
pub mod compare;
pub mod engines;
pub mod load;
pub mod machine;
pub mod micro;
pub mod report;
pub mod state_db;
pub mod svg;
pub mod timing;
pub mod workload;

use std::fmt;
use std::path::{Path, PathBuf};

pub use compare::RunResult;
pub use engines::{EngineError, EngineKind, Runner};
pub use load::{LoadError, LoadOptions};
pub use timing::{Stats, TimingOptions};
pub use workload::Workload;

/// Environment variable naming the benchmark input folder.
pub const BENCHMARKS_ENV: &str = "METISVM_BENCHMARKS";

/// The folder holding the benchmark inputs: `$METISVM_BENCHMARKS` when set, otherwise
/// `../shared/benchmarks` beside the workspace.
pub fn benchmarks_dir() -> PathBuf {
    match std::env::var_os(BENCHMARKS_ENV) {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/benchmarks"),
    }
}

/// Every workload of every file `paths` name (see [`load::workload_files`]), in path order.
pub fn load_paths(paths: &[PathBuf], options: &LoadOptions) -> Result<Vec<Workload>, LoadError> {
    let mut out = Vec::new();
    for path in paths {
        for file in load::workload_files(path)? {
            out.extend(load::load_file(&file, options)?);
        }
    }
    Ok(out)
}

/// Why a workload was not timed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckError {
    /// The engines disagree; one line per difference.
    Mismatch(Vec<String>),
    /// An engine could not run it, or a transaction that must succeed did not.
    Failed(String),
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckError::Mismatch(lines) => write!(f, "engines disagree: {}", lines.join("; ")),
            CheckError::Failed(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for CheckError {}

/// Engines set up for a workload that agree on it, ready to be timed.
pub struct Agreed {
    /// One runner per engine, in the order asked for.
    pub runners: Vec<Box<dyn Runner>>,
    /// What they agreed on.
    pub result: RunResult,
}

/// Sets up every engine of `engines` for `workload`, runs each once and compares them with the
/// first (revm when it is among them). Fails when any disagrees, cannot run the workload, or a
/// transaction that must succeed ([`Workload::require_success`]) does not.
pub fn check_agreement(workload: &Workload, engines: &[EngineKind]) -> Result<Agreed, CheckError> {
    check_agreement_with(workload, engines, metisvm_jit::CompileOptions::default())
}

/// [`check_agreement`] with the `jit` engine compiling with `jit_options`.
pub fn check_agreement_with(
    workload: &Workload,
    engines: &[EngineKind],
    jit_options: metisvm_jit::CompileOptions,
) -> Result<Agreed, CheckError> {
    let failed = |e: EngineError| CheckError::Failed(e.to_string());
    let mut order = engines.to_vec();
    order.sort_by_key(|e| *e != EngineKind::Revm);
    let mut results = Vec::with_capacity(order.len());
    for &engine in &order {
        let mut runner = engines::runner(engine, workload, jit_options).map_err(failed)?;
        let result = runner.execute().map_err(failed)?;
        results.push((runner, result));
    }
    let Some(((reference, expected), others)) = results.split_first() else {
        return Err(CheckError::Failed("no engine to run".to_string()));
    };
    let mut lines = Vec::new();
    for (runner, result) in others {
        lines.extend(compare::differences(reference.kind().name(), expected, runner.kind().name(), result));
    }
    if !lines.is_empty() {
        return Err(CheckError::Mismatch(lines));
    }
    if workload.require_success {
        if let Some((i, tx)) = expected.txs.iter().enumerate().find(|(_, tx)| !tx.status.is_success()) {
            let engines = order.iter().map(|e| e.name()).collect::<Vec<_>>().join(" and ");
            return Err(CheckError::Failed(format!("tx {i} did not succeed on {engines}: {}", tx.status)));
        }
    }
    let result = expected.clone();
    // Back to the order asked for.
    let mut runners: Vec<Box<dyn Runner>> = results.into_iter().map(|(runner, _)| runner).collect();
    runners.sort_by_key(|r| engines.iter().position(|e| *e == r.kind()));
    Ok(Agreed { runners, result })
}

/// The outcome of benchmarking one workload.
#[derive(Debug, Clone)]
pub struct WorkloadReport {
    /// [`Workload::name`].
    pub workload: String,
    /// [`Workload::suite`].
    pub suite: String,
    /// Number of transactions.
    pub txs: usize,
    /// Gas used by all transactions (zero when they never ran).
    pub gas_used: u64,
    /// Whether every transaction succeeded (false when they never ran).
    pub succeeded: bool,
    /// Per-engine statistics, or why there are none.
    pub verdict: Result<Vec<Stats>, CheckError>,
}

impl WorkloadReport {
    /// `suite/workload`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.suite, self.workload)
    }

    /// The statistics of `engine`, when it was timed.
    pub fn stats(&self, engine: EngineKind) -> Option<&Stats> {
        self.verdict.as_ref().ok()?.iter().find(|s| s.engine == engine)
    }

    /// revm's median over MetisVM's: above 1 means MetisVM is faster.
    pub fn ratio(&self) -> Option<f64> {
        self.ratio_of(EngineKind::Interp)
    }

    /// revm's median over `engine`'s, when both were timed (>1: `engine` faster).
    pub fn ratio_of(&self, engine: EngineKind) -> Option<f64> {
        let ours = self.stats(engine)?.median.as_secs_f64();
        let theirs = self.stats(EngineKind::Revm)?.median.as_secs_f64();
        (ours > 0.0).then(|| theirs / ours)
    }
}

/// Checks agreement on `workload`, then times the engines (see [`timing::measure`]).
pub fn bench_workload(
    workload: &Workload,
    engines: &[EngineKind],
    options: &TimingOptions,
) -> WorkloadReport {
    let mut report = WorkloadReport {
        workload: workload.name.clone(),
        suite: workload.suite.clone(),
        txs: workload.txs.len(),
        gas_used: 0,
        succeeded: false,
        verdict: Ok(Vec::new()),
    };
    report.verdict = check_agreement_with(workload, engines, options.jit_options).and_then(|mut agreed| {
        report.gas_used = agreed.result.gas_used();
        report.succeeded = agreed.result.txs.iter().all(|tx| tx.status.is_success());
        timing::measure(&mut agreed.runners, report.gas_used, options)
            .map_err(|e| CheckError::Failed(e.to_string()))
    });
    report
}
