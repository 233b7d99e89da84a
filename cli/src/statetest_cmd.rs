//! `metisvm statetest PATH...`: runs state tests in parallel over the cores, with a progress
//! bar on a terminal, a per-folder summary, an optional JSON report, and the closing line
//! `N passed, N failed, N skipped`.

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use metisvm_conformance::fixtures::json_files;
use metisvm_conformance::skip::SkipList;
use metisvm_conformance::statetest::{run_file, FileReport, Outcome, RunOptions};
use metisvm_vm::Fork;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// Arguments of `metisvm statetest`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// State-test files or folders.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Only run cases of this fork (e.g. Cancun, Prague, Osaka).
    #[arg(long)]
    fork: Option<String>,
    /// Only run tests whose path or name contains this text.
    #[arg(long)]
    filter: Option<String>,
    /// Print a machine-readable JSON report instead of the text summary.
    #[arg(long)]
    json: bool,
    /// Write EIP-3155 traces (one JSON object per instruction) to standard error.
    #[arg(long)]
    trace: bool,
    #[command(flatten)]
    jit: crate::jit_args::JitArgs,
    /// Run every case as a one-transaction block through MPEF, the parallel executor, with
    /// this many worker threads (cases must pass exactly as in the sequential run).
    #[arg(long, value_name = "N", conflicts_with = "trace")]
    threads: Option<usize>,
    /// With `--threads`: how MPEF runs the block, `block-stm` or `runs` (optimistic runs;
    /// see docs/mpef.md).
    #[arg(long, value_name = "NAME", default_value_t = metisvm_mpef::Strategy::BlockStm, requires = "threads")]
    strategy: metisvm_mpef::Strategy,
    /// Print every failing case (by default, the first 50).
    #[arg(long)]
    all_failures: bool,
}

#[derive(Default, Clone, Copy)]
struct Counts {
    passed: usize,
    failed: usize,
    skipped: usize,
}

impl Counts {
    fn add(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Passed => self.passed += 1,
            Outcome::Failed(_) => self.failed += 1,
            Outcome::Skipped(_) => self.skipped += 1,
        }
    }
}

/// The folder a file's summary is grouped under: its parent directory.
fn suite_of(path: &std::path::Path) -> String {
    path.parent().map(|p| p.display().to_string()).unwrap_or_default()
}

pub(crate) fn run(args: Args) -> Result<ExitCode> {
    let fork = args
        .fork
        .as_deref()
        .map(|f| f.parse::<Fork>().with_context(|| format!("option --fork: unknown fork name {f:?}")))
        .transpose()?;
    let mut files = Vec::new();
    for path in &args.paths {
        if !path.exists() {
            bail!("{}: no such file or folder", path.display());
        }
        files.extend(json_files(path).with_context(|| format!("{}: cannot read", path.display()))?);
    }
    let skips = SkipList::builtin();
    let jit = args.jit.jit();
    let options = RunOptions {
        fork,
        filter: args.filter.clone(),
        trace: args.trace,
        native: crate::jit_args::backend(&jit),
        mpef: args.threads.map(|n| metisvm_mpef::Mode::Parallel(n.max(1))),
        mpef_strategy: args.strategy,
    };
    let started = Instant::now();
    let bar = if std::io::stderr().is_terminal() && !args.json && !args.trace {
        let bar = ProgressBar::new(files.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} files {elapsed} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let run_one = |path: &PathBuf| {
        let report = run_file(path, &options, &skips);
        bar.inc(1);
        report
    };
    let reports: Vec<FileReport> = if args.trace {
        files.iter().map(run_one).collect()
    } else {
        files.par_iter().map(run_one).collect()
    };
    bar.finish_and_clear();
    let elapsed = started.elapsed();

    let mut total = Counts::default();
    let mut suites: BTreeMap<String, Counts> = BTreeMap::new();
    let mut failures = Vec::new();
    for report in &reports {
        let suite = suites.entry(suite_of(&report.path)).or_default();
        for case in &report.cases {
            total.add(&case.outcome);
            suite.add(&case.outcome);
            if let Outcome::Failed(msg) = &case.outcome {
                failures.push((report.path.display().to_string(), case, msg.clone()));
            }
        }
    }

    if args.json {
        let cases: Vec<serde_json::Value> = reports
            .iter()
            .flat_map(|r| {
                r.cases.iter().map(move |c| {
                    let (status, message) = match &c.outcome {
                        Outcome::Passed => ("passed", None),
                        Outcome::Failed(m) => ("failed", Some(m.clone())),
                        Outcome::Skipped(m) => ("skipped", Some(m.clone())),
                    };
                    serde_json::json!({
                        "file": r.path.display().to_string(),
                        "test": c.test,
                        "fork": c.fork,
                        "indexes": {"data": c.indexes.0, "gas": c.indexes.1, "value": c.indexes.2},
                        "status": status,
                        "message": message,
                    })
                })
            })
            .collect();
        let report = serde_json::json!({
            "passed": total.passed,
            "failed": total.failed,
            "skipped": total.skipped,
            "seconds": elapsed.as_secs_f64(),
            "jit": crate::jit_args::stats_json(&jit),
            "skip_list": skips.entries.iter().map(|e| format!("{} {} | {}", e.kind, e.pattern, e.reason)).collect::<Vec<_>>(),
            "cases": cases,
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let limit = if args.all_failures { usize::MAX } else { 50 };
        for (file, case, msg) in failures.iter().take(limit) {
            println!(
                "FAIL {file} {} [{} d{} g{} v{}]: {msg}",
                case.test, case.fork, case.indexes.0, case.indexes.1, case.indexes.2
            );
        }
        if failures.len() > limit {
            println!("... and {} more failures (use --all-failures)", failures.len() - limit);
        }
        println!("Per folder:");
        for (suite, c) in &suites {
            println!("  {suite}: {} passed, {} failed, {} skipped", c.passed, c.failed, c.skipped);
        }
        if !skips.entries.is_empty() {
            println!("Skip list ({} entries):", skips.entries.len());
            for e in &skips.entries {
                println!("  {} {} | {}", e.kind, e.pattern, e.reason);
            }
        }
        if let Some(jit) = &jit {
            println!("{}", jit.stats());
        }
        println!("{} files in {:.2}s", files.len(), elapsed.as_secs_f64());
        println!("{} passed, {} failed, {} skipped", total.passed, total.failed, total.skipped);
    }
    Ok(if total.failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
