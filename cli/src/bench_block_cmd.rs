//! `metisvm bench block`: MPEF's parallel execution against its sequential path on synthetic
//! blocks and mainnet blocks (see [`metisvm_bench::block`]), as a table or `--json`.

use crate::bench_cmd::Args;
use anyhow::{bail, Result};
use metisvm_bench::block::{mean_speedup, run_mainnet, run_synthetic, BlockBenchOptions, BlockBenchRow};
use metisvm_mpef::synthetic::Workload;
use std::path::PathBuf;
use std::process::ExitCode;

fn workloads(names: &[String]) -> Result<Vec<Workload>> {
    if names.is_empty() {
        return Ok(Workload::ALL.to_vec());
    }
    let mut out = Vec::new();
    for name in names {
        if name == "none" {
            continue;
        }
        match Workload::from_name(name) {
            Some(w) => out.push(w),
            None => {
                let known: Vec<&str> = Workload::ALL.iter().map(|w| w.name()).collect();
                bail!("--workloads: unknown workload {name:?} (known: {})", known.join(", "));
            }
        }
    }
    Ok(out)
}

fn row_json(r: &BlockBenchRow) -> serde_json::Value {
    serde_json::json!({
        "name": r.name,
        "transactions": r.txs,
        "gas_used": r.gas,
        "sequential_seconds": r.sequential_seconds,
        "parallel": r.parallel.iter().map(|(threads, seconds, stats)| serde_json::json!({
            "threads": threads,
            "seconds": seconds,
            "speedup": r.sequential_seconds / seconds,
            "executions": stats.executions,
            "aborts": stats.aborts,
            "dependency_waits": stats.dependency_waits,
            "fallback": stats.fallback,
            "sequential_by_choice": stats.sequential,
        })).collect::<Vec<_>>(),
    })
}

fn print_rows(title: &str, rows: &[BlockBenchRow], threads: &[usize]) {
    println!("{title}");
    let heads: Vec<String> = threads.iter().map(|t| format!("{t} thr")).collect();
    println!("  {:<18} {:>7} {:>9} {:>10}  {}", "block", "txs", "Mgas", "seq ms", heads.join("  "));
    for r in rows {
        let cells: Vec<String> = r
            .parallel
            .iter()
            .map(|(_, s, stats)| {
                let how = match stats.sequential {
                    Some(_) => "seq".to_string(),
                    None => format!("{} ab", stats.aborts),
                };
                format!("{:.2} ms {:.2}x ({how})", s * 1e3, r.sequential_seconds / s)
            })
            .collect();
        println!(
            "  {:<18} {:>7} {:>9.1} {:>10.2}  {}",
            r.name,
            r.txs,
            r.gas as f64 / 1e6,
            r.sequential_seconds * 1e3,
            cells.join("  ")
        );
    }
}

pub(crate) fn run(args: &Args, benchmarks: PathBuf) -> Result<ExitCode> {
    if args.threads.contains(&0) {
        bail!("--threads: at least one thread");
    }
    if !(0.0..=1.0).contains(&args.conflict) {
        bail!("--conflict: a share between 0 and 1, not {}", args.conflict);
    }
    let mainnet = args.mainnet.as_ref().map(|dir| match dir {
        Some(dir) => dir.clone(),
        None => metisvm_conformance::fixtures::fixture_root().join("mainnet-blocks"),
    });
    let options = BlockBenchOptions {
        workloads: workloads(&args.workloads)?,
        txs: args.txs.max(1),
        conflict_rate: args.conflict,
        threads: args.threads.clone(),
        rounds: args.rounds,
        warmup: args.warmup,
        contracts: benchmarks.join("contracts"),
        mainnet: mainnet.clone(),
        pool: !args.no_pool,
        pin: !args.no_pin,
        adaptive: args.adaptive,
        strategy: args.strategy,
    };
    let quiet = args.json;
    let progress = |msg: &str| {
        if !quiet {
            eprint!("\r{msg:<40}");
        }
    };
    let synthetic = run_synthetic(&options, progress)?;
    let blocks = match &mainnet {
        Some(dir) => run_mainnet(dir, &options, progress)?,
        None => Vec::new(),
    };
    if !quiet {
        eprint!("\r{:<40}\r", "");
    }
    let means: Vec<(usize, f64)> = options.threads.iter().map(|t| (*t, mean_speedup(&blocks, *t))).collect();
    if args.json {
        let value = serde_json::json!({
            "strategy": options.strategy.to_string(),
            "adaptive": options.adaptive,
            "conflict_rate": options.conflict_rate,
            "synthetic": synthetic.iter().map(row_json).collect::<Vec<_>>(),
            "mainnet": blocks.iter().map(row_json).collect::<Vec<_>>(),
            "mainnet_mean_speedup": means.iter().map(|(t, m)| serde_json::json!({"threads": t, "speedup": m})).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(ExitCode::SUCCESS);
    }
    let title = format!(
        "MPEF ({}) vs sequential, synthetic blocks of {} txs, conflict rate {} (median of {} rounds; ab = aborts, or with runs re-executions on the commit front; seq = run sequentially by --adaptive)",
        options.strategy, options.txs, options.conflict_rate, options.rounds
    );
    print_rows(&title, &synthetic, &options.threads);
    if !blocks.is_empty() {
        print_rows("mainnet blocks", &blocks, &options.threads);
        for (t, m) in means {
            println!("mainnet mean speedup on {t} threads: {m:.2}x over {} blocks", blocks.len());
        }
    }
    Ok(ExitCode::SUCCESS)
}
