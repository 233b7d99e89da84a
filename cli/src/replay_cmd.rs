//! `metisvm replay DIR...`: replays real mainnet blocks (folders holding `block.json`,
//! `pre_state.json` and optionally `block_hashes.json`) and checks each against its header's
//! `gasUsed`, `logsBloom` and, from Byzantium on, `receiptsRoot`. One line per block, an
//! optional JSON report, and the closing line `N passed, N failed, N skipped`.

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use metisvm_conformance::replay::{block_dirs, run_blocks_with, BlockReport, Outcome, ReplayOptions};
use metisvm_conformance::skip::SkipList;
use metisvm_vm::ExecStatus;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// Arguments of `metisvm replay`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Block folders, or folders of numbered block folders (such as `mainnet-blocks/`).
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// Print a machine-readable JSON report instead of the text summary.
    #[arg(long)]
    json: bool,
    /// Include every transaction's status and gas in the JSON report.
    #[arg(long, requires = "json")]
    txs: bool,
    /// Also run each block against a MetisDB under this folder (one database per block,
    /// named by its number): the pre-state is its first version, the block is committed as a
    /// new one, and its state root must equal the in-memory execution's.
    #[arg(long)]
    db: Option<std::path::PathBuf>,
    /// Also run every block through MPEF, the parallel executor, on this many worker
    /// threads, and require the same receipts, logs and state root as the sequential replay.
    /// Blocks then run one at a time; the report gives MPEF's time against the sequential one.
    #[arg(long, value_name = "N", conflicts_with = "sequential")]
    threads: Option<usize>,
    /// As `--threads`, through MPEF's sequential path.
    #[arg(long)]
    sequential: bool,
    /// With `--threads`: MPEF's adaptive mode, which runs a block sequentially when a look
    /// at its transactions shows it cannot gain from the workers (one transaction, little
    /// gas, or mostly one sender's chain). Without it every block runs in parallel.
    #[arg(long, requires = "threads")]
    adaptive: bool,
    /// With `--threads`: how MPEF runs a parallel block, `block-stm` or `runs` (optimistic
    /// runs; see docs/mpef.md).
    #[arg(long, value_name = "NAME", default_value_t = metisvm_mpef::Strategy::BlockStm, requires = "threads")]
    strategy: metisvm_mpef::Strategy,
    #[command(flatten)]
    jit: crate::jit_args::JitArgs,
}

fn status_name(status: ExecStatus) -> String {
    match status {
        ExecStatus::Success => "success".to_string(),
        ExecStatus::Revert => "revert".to_string(),
        ExecStatus::Halt(h) => h.as_str().to_string(),
    }
}

fn block_json(r: &BlockReport, with_txs: bool) -> serde_json::Value {
    let (status, message) = match &r.outcome {
        Outcome::Passed => ("passed", None),
        Outcome::Failed(m) => ("failed", Some(m.clone())),
        Outcome::Skipped(m) => ("skipped", Some(m.clone())),
    };
    let mut value = serde_json::json!({
        "path": r.path.display().to_string(),
        "number": r.number,
        "fork": r.fork.name(),
        "transactions": r.tx_count,
        "gas_used": r.gas_used,
        "header_gas_used": r.header_gas_used,
        "receipts_root_checked": r.receipts_root_checked,
        "status": status,
        "message": message,
        "load_seconds": r.load_seconds,
        "exec_seconds": r.exec_seconds,
    });
    if let Some(m) = &r.mpef {
        let stats = &m.stats;
        value["mpef"] = serde_json::json!({
            "threads": stats.threads,
            "exec_seconds": m.seconds,
            "sequential_exec_seconds": m.sequential_seconds,
            "speedup": m.speedup(),
            "executions": stats.executions,
            "validations": stats.validations,
            "aborts": stats.aborts,
            "dependency_waits": stats.dependency_waits,
            "fallback": stats.fallback,
            "sequential_by_choice": stats.sequential,
        });
    }
    if let Some((version, root)) = r.db_commit {
        value["metisdb"] = serde_json::json!({ "version": version, "state_root": root.to_string() });
    }
    if with_txs {
        value["txs"] = r
            .txs
            .iter()
            .map(|t| {
                serde_json::json!({
                    "hash": t.hash.to_string(),
                    "type": t.tx_type,
                    "status": status_name(t.status),
                    "gas_used": t.gas_used,
                    "cumulative_gas_used": t.cumulative_gas_used,
                    "logs": t.logs,
                })
            })
            .collect();
    }
    value
}

pub(crate) fn run(args: Args) -> Result<ExitCode> {
    let mut dirs = Vec::new();
    for dir in &args.dirs {
        if !dir.is_dir() {
            bail!("{}: no such folder", dir.display());
        }
        dirs.extend(block_dirs(dir)?);
    }
    let skips = SkipList::builtin();
    let bar = if std::io::stderr().is_terminal() && !args.json {
        let bar = ProgressBar::new(dirs.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} blocks {elapsed} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let started = Instant::now();
    let jit = args.jit.jit();
    if args.threads == Some(0) {
        bail!("--threads: at least one thread");
    }
    let mpef = match (args.threads, args.sequential) {
        (Some(n), _) if args.adaptive => Some(metisvm_mpef::Mode::Adaptive(n)),
        (Some(n), _) => Some(metisvm_mpef::Mode::Parallel(n)),
        (None, true) => Some(metisvm_mpef::Mode::Sequential),
        (None, false) => None,
    };
    // Parallel blocks run one after another on the same threads, each kept on its own CPU,
    // as on a node that gives its cores to block execution.
    let mpef_pool = match mpef {
        Some(metisvm_mpef::Mode::Parallel(n) | metisvm_mpef::Mode::Adaptive(n)) if n > 1 => {
            Some(std::sync::Arc::new(
                metisvm_mpef::WorkerPool::pinned(n)
                    .context("option --threads: cannot start the worker threads")?,
            ))
        }
        _ => None,
    };
    let options = ReplayOptions {
        native: crate::jit_args::backend(&jit),
        db: args.db.clone(),
        mpef,
        mpef_strategy: args.strategy,
        mpef_pool,
    };
    let reports = run_blocks_with(&dirs, &skips, &options, |r| {
        bar.set_message(r.number.to_string());
        bar.inc(1);
    })?;
    bar.finish_and_clear();
    let elapsed = started.elapsed().as_secs_f64();

    let count = |f: fn(&Outcome) -> bool| reports.iter().filter(|r| f(&r.outcome)).count();
    let passed = count(|o| matches!(o, Outcome::Passed));
    let failed = count(|o| matches!(o, Outcome::Failed(_)));
    let skipped = count(|o| matches!(o, Outcome::Skipped(_)));
    let txs: usize = reports.iter().map(|r| r.tx_count).sum();
    let gas: u64 = reports.iter().map(|r| r.gas_used).sum();
    let exec: f64 = reports.iter().map(|r| r.exec_seconds).sum();

    if args.json {
        let report = serde_json::json!({
            "passed": passed,
            "failed": failed,
            "skipped": skipped,
            "transactions": txs,
            "gas_used": gas,
            "seconds": elapsed,
            "exec_seconds": exec,
            "jit": crate::jit_args::stats_json(&jit),
            "mpef": mpef_summary(&reports),
            "blocks": reports.iter().map(|r| block_json(r, args.txs)).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for r in &reports {
            let (tag, message) = match &r.outcome {
                Outcome::Passed => ("PASS", String::new()),
                Outcome::Failed(m) => ("FAIL", format!(": {m}")),
                Outcome::Skipped(m) => ("SKIP", format!(": {m}")),
            };
            let db = r.db_commit.map(|(v, root)| format!(" MetisDB v{v} root {root}")).unwrap_or_default();
            let mpef = match &r.mpef {
                Some(m) => format!(
                    " | MPEF {} thread(s) {:.4}s vs sequential {:.4}s ({}), {} executions, {} aborts{}",
                    m.stats.threads,
                    m.seconds,
                    m.sequential_seconds,
                    m.speedup().map_or("-".to_string(), |x| format!("{x:.2}x")),
                    m.stats.executions,
                    m.stats.aborts,
                    m.stats.fallback.map(|f| format!(", sequential fallback: {f}")).unwrap_or_default()
                        + &m.stats
                            .sequential
                            .map(|why| format!(", run sequentially: {why}"))
                            .unwrap_or_default()
                ),
                None => String::new(),
            };
            println!(
                "{tag} {} {} {} txs {} gas {:.4}s{mpef}{db}{message}",
                r.number, r.fork, r.tx_count, r.gas_used, r.exec_seconds
            );
        }
        let mgas_per_s = if exec > 0.0 { gas as f64 / 1e6 / exec } else { 0.0 };
        println!(
            "{} blocks, {txs} txs, {:.1} Mgas in {elapsed:.2}s ({exec:.2}s executing, {mgas_per_s:.0} Mgas/s per core)",
            reports.len(),
            gas as f64 / 1e6
        );
        if let Some(jit) = &jit {
            println!("{}", jit.stats());
        }
        if let Some(summary) = mpef_summary(&reports) {
            println!(
                "MPEF: {} blocks, mean speedup {:.2}x over MPEF's sequential path (total time {:.2}x), {} sequential fallbacks, {} run sequentially by the adaptive mode",
                summary["blocks"], summary["mean_speedup"].as_f64().unwrap_or(0.0),
                summary["total_speedup"].as_f64().unwrap_or(0.0), summary["fallbacks"], summary["sequential_by_choice"]
            );
        }
        println!("{passed} passed, {failed} failed, {skipped} skipped");
    }
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Mean and total MPEF speedups over the blocks that ran through it.
fn mpef_summary(reports: &[BlockReport]) -> Option<serde_json::Value> {
    let ran: Vec<&BlockReport> = reports.iter().filter(|r| r.mpef.is_some()).collect();
    if ran.is_empty() {
        return None;
    }
    let runs: Vec<&metisvm_conformance::replay::MpefReport> =
        ran.iter().filter_map(|r| r.mpef.as_ref()).collect();
    let speedups: Vec<f64> = runs.iter().filter_map(|m| m.speedup()).collect();
    let mean = speedups.iter().sum::<f64>() / speedups.len().max(1) as f64;
    let sequential: f64 = runs.iter().map(|m| m.sequential_seconds).sum();
    let parallel: f64 = runs.iter().map(|m| m.seconds).sum();
    let fallbacks = runs.iter().filter(|m| m.stats.fallback.is_some()).count();
    let by_choice = runs.iter().filter(|m| m.stats.sequential.is_some()).count();
    Some(serde_json::json!({
        "blocks": ran.len(),
        "mean_speedup": mean,
        "total_speedup": if parallel > 0.0 { sequential / parallel } else { 0.0 },
        "fallbacks": fallbacks,
        "sequential_by_choice": by_choice,
    }))
}
