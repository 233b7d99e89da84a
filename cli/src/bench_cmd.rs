//! `metisvm bench [PATH...]`: times MetisVM's interpreter against revm on the shared benchmark
//! workloads (state tests with labelled inputs, revmc transaction lists, raw bytecode).
//!
//! Every workload is first run once on each engine and the results compared; a mismatch is
//! reported as an error, never timed, and makes the exit code 1. Agreed workloads are timed
//! interleaved and reported as a table (or `--json`), with `--report DIR` writing `report.md`
//! and `ratios.svg`. Bad input exits with code 2.

use anyhow::{bail, Context, Result};
use metisvm_bench::machine::Machine;
use metisvm_bench::report::{json_report, text_table, write_report_dir};
use metisvm_bench::workload::DEFAULT_FORK;
use metisvm_bench::{
    bench_workload, benchmarks_dir, load_paths, CheckError, EngineKind, LoadOptions, TimingOptions,
    WorkloadReport,
};
use metisvm_conformance::hexjson::parse_bytes_str;
use metisvm_vm::{Bytes, Fork};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Arguments of `metisvm bench`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Workload files or folders (state tests, revmc files, .hex bytecode); paths that do not
    /// exist are also looked up under the benchmark folder. Default: the whole benchmark folder.
    paths: Vec<PathBuf>,
    /// The benchmark folder (default: $METISVM_BENCHMARKS, else ../shared/benchmarks).
    #[arg(long, value_name = "DIR")]
    pub(crate) benchmarks: Option<PathBuf>,
    /// Engines to run, comma-separated: interp, jit, jit-nocache, revm (default: all).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    engines: Vec<String>,
    /// Timed runs of each engine per workload.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub(crate) rounds: usize,
    /// Add rounds until they have taken at least this many seconds per engine (all engines
    /// together, set-up included; 0: exactly `--rounds`). The default gives microsecond
    /// workloads thousands of samples, where ten would measure mostly timer noise.
    #[arg(long, default_value_t = 0.05, value_name = "SECONDS")]
    min_time: f64,
    /// Optimisations the `jit` engine compiles without, comma-separated: fold, jumps,
    /// registers, memory (to measure what each is worth).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    jit_without: Vec<String>,
    /// Untimed warm-up runs of each engine per workload.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub(crate) warmup: usize,
    /// Calldata (hex) for .hex bytecode files (default: the README's calldata for snailtracer.hex
    /// and analysis.hex, else empty).
    #[arg(long, value_name = "HEX")]
    calldata: Option<String>,
    /// Gas limit for .hex bytecode files.
    #[arg(long, default_value_t = metisvm_bench::workload::DEFAULT_GAS_LIMIT, value_name = "GAS")]
    gas: u64,
    /// Fork for revmc files and bytecode (default: Prague); state tests use their `post` forks.
    #[arg(long)]
    fork: Option<String>,
    /// Only workloads whose `suite/name` contains this text.
    #[arg(long)]
    filter: Option<String>,
    /// Print one JSON object (a `results` array) instead of the table.
    #[arg(long)]
    pub(crate) json: bool,
    /// Write `report.md` and `ratios.svg` into this folder.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// `bench state` only: accounts in the state (every tenth with ten slots).
    #[arg(long, default_value_t = 1_000_000, value_name = "N")]
    accounts: u64,
    /// `bench state` only: account updates per timed commit (with about as many slot updates).
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    batch: u64,
    /// `bench block` only: worker counts to time MPEF with, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "2", value_name = "LIST")]
    pub(crate) threads: Vec<usize>,
    /// `bench block` only: transactions per synthetic block.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    pub(crate) txs: usize,
    /// `bench block` only: share (0 to 1) of conflicting transactions in synthetic blocks.
    #[arg(long, default_value_t = 0.0, value_name = "RATE")]
    pub(crate) conflict: f64,
    /// `bench block` only: synthetic workloads, comma-separated (default: all; `none` for
    /// mainnet blocks only).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub(crate) workloads: Vec<String>,
    /// `bench block` only: start each parallel block's workers afresh rather than keeping
    /// them in a pool between blocks (to measure what the pool is worth).
    #[arg(long)]
    pub(crate) no_pool: bool,
    /// `bench block` only: leave the pool's threads where the kernel puts them rather than
    /// keeping each on its own CPU (to measure what pinning is worth).
    #[arg(long)]
    pub(crate) no_pin: bool,
    /// `bench block` only: time MPEF's adaptive mode, which runs a block sequentially when a
    /// look at its transactions shows it cannot gain from the workers (one transaction,
    /// little gas, or mostly one sender's chain), rather than always in parallel.
    #[arg(long)]
    pub(crate) adaptive: bool,
    /// `bench block` only: how MPEF runs parallel blocks, `block-stm` or `runs` (optimistic
    /// runs; see docs/mpef.md).
    #[arg(long, value_name = "NAME", default_value_t = metisvm_mpef::Strategy::BlockStm)]
    pub(crate) strategy: metisvm_mpef::Strategy,
    /// `bench block` only: also time the mainnet blocks under this folder (default: the
    /// fixtures' `mainnet-blocks`).
    #[arg(long, value_name = "DIR", num_args = 0..=1)]
    #[allow(clippy::option_option)]
    pub(crate) mainnet: Option<Option<PathBuf>>,
}

/// `metisvm bench state`: MetisDB on a large state (see [`metisvm_bench::state_db`]).
fn run_state(args: &Args) -> Result<ExitCode> {
    use metisvm_bench::state_db::{run, StateBenchOptions};
    let dir = std::env::temp_dir().join(format!("metisvm-bench-state-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let options =
        StateBenchOptions { accounts: args.accounts, batch: args.batch, rounds: args.rounds as u64 };
    let quiet = args.json;
    let result = run(&dir, options, |msg| {
        if !quiet {
            eprint!("\r{msg:<60}");
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
    let r = result?;
    if !quiet {
        eprintln!();
    }
    let per_million = r.file_bytes as f64 / (r.accounts as f64 / 1e6);
    let ratio_full = r.full_root_seconds / r.commit_seconds;
    let ratio_memory = r.memory_apply_seconds / r.commit_seconds;
    if args.json {
        let value = serde_json::json!({
            "accounts": r.accounts,
            "slots": r.slots,
            "build_seconds": r.build_seconds,
            "updates_per_commit": r.updates_per_commit,
            "commit_seconds": r.commit_seconds,
            "updates_per_second": r.updates_per_second(),
            "full_root_seconds": r.full_root_seconds,
            "memory_apply_seconds": r.memory_apply_seconds,
            "hot_account_read_ns": r.hot_read_ns,
            "hot_slot_read_ns": r.hot_slot_read_ns,
            "cold_account_read_ns": r.cold_read_ns,
            "file_bytes": r.file_bytes,
            "file_bytes_per_million_accounts": per_million,
            "open_seconds": r.open_seconds,
            "compact_seconds": r.compact_seconds,
            "compacted_file_bytes": r.compacted_bytes,
            "rss_bytes": r.rss_bytes.0,
            "peak_rss_bytes": r.rss_bytes.1,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mib = |b: f64| b / (1024.0 * 1024.0);
    println!("MetisDB: {} accounts, {} slots, built in {:.1}s", r.accounts, r.slots, r.build_seconds);
    println!(
        "commit with root: {} updates in {:.1} ms (median of {}) = {:.0} updates/s",
        r.updates_per_commit,
        r.commit_seconds * 1e3,
        args.rounds,
        r.updates_per_second()
    );
    println!("  vs root from scratch: {:.1} ms ({ratio_full:.1}x the commit)", r.full_root_seconds * 1e3);
    println!(
        "  vs in-memory map, no root: {:.1} ms ({ratio_memory:.2}x the commit)",
        r.memory_apply_seconds * 1e3
    );
    println!(
        "snapshot reads (median): hot account {:.0} ns, hot slot {:.0} ns, cold account {:.0} ns",
        r.hot_read_ns, r.hot_slot_read_ns, r.cold_read_ns
    );
    println!(
        "data file {:.1} MiB ({:.1} MiB per million accounts); resident {:.0} MiB, peak {:.0} MiB (in-memory reference included)",
        mib(r.file_bytes as f64),
        mib(per_million),
        mib(r.rss_bytes.0 as f64),
        mib(r.rss_bytes.1 as f64)
    );
    println!(
        "reopened in {:.2}s (every batch checked, index rebuilt); compacted in {:.2}s to {:.1} MiB ({:.1} MiB per million accounts)",
        r.open_seconds,
        r.compact_seconds,
        mib(r.compacted_bytes as f64),
        mib(r.compacted_bytes as f64 / (r.accounts as f64 / 1e6))
    );
    Ok(ExitCode::SUCCESS)
}

/// The engines asked for, in order, without repeats.
fn engines(names: &[String]) -> Result<Vec<EngineKind>> {
    if names.is_empty() {
        return Ok(EngineKind::ALL.to_vec());
    }
    let mut out = Vec::new();
    for name in names {
        let engine = name.trim().parse::<EngineKind>().context("option --engines")?;
        if !out.contains(&engine) {
            out.push(engine);
        }
    }
    Ok(out)
}

fn timing(args: &Args) -> Result<TimingOptions> {
    if args.rounds == 0 {
        bail!("option --rounds: must be at least 1");
    }
    let seconds = args.min_time;
    let min_time = Duration::try_from_secs_f64(seconds)
        .map_err(|_| anyhow::anyhow!("option --min-time: {seconds} is not a duration"))?;
    let min_time = (!min_time.is_zero()).then_some(min_time);
    let mut jit_options = metisvm_jit::CompileOptions::default();
    for name in &args.jit_without {
        jit_options =
            jit_options.without(name.trim()).map_err(anyhow::Error::msg).context("option --jit-without")?;
    }
    Ok(TimingOptions { warmup: args.warmup, rounds: args.rounds, min_time, jit_options })
}

fn load_options(args: &Args) -> Result<LoadOptions> {
    let calldata = args
        .calldata
        .as_deref()
        .map(|s| parse_bytes_str(s, "--calldata").map(Bytes::from))
        .transpose()
        .map_err(|e| anyhow::anyhow!("option {e}"))?;
    let fork = args
        .fork
        .as_deref()
        .map(|f| f.parse::<Fork>().with_context(|| format!("option --fork: unknown fork name {f:?}")))
        .transpose()?;
    Ok(LoadOptions { calldata, gas_limit: Some(args.gas), fork })
}

/// The paths to read: as given, else under the benchmark folder, else the folder itself.
fn paths(args: &Args) -> Result<Vec<PathBuf>> {
    let root = args.benchmarks.clone().unwrap_or_else(benchmarks_dir);
    if args.paths.is_empty() {
        if !root.is_dir() {
            bail!(
                "{}: benchmark folder not found (use --benchmarks DIR or METISVM_BENCHMARKS)",
                root.display()
            );
        }
        return Ok(vec![root]);
    }
    args.paths
        .iter()
        .map(|path| {
            if path.exists() {
                Ok(path.clone())
            } else if path.is_relative() && root.join(path).exists() {
                Ok(root.join(path))
            } else {
                bail!("{}: no such file or folder", path.display())
            }
        })
        .collect()
}

fn settings(args: &Args, engines: &[EngineKind], options: &LoadOptions) -> String {
    let names: Vec<&str> = engines.iter().map(|e| e.name()).collect();
    let min_time =
        if args.min_time > 0.0 { format!(", at least {} s each", args.min_time) } else { String::new() };
    format!(
        "engines {}; {} rounds{min_time} after {} warm-up run(s), interleaved; revmc and bytecode under {}, \
         state tests under their post forks",
        names.join(", "),
        args.rounds,
        args.warmup,
        options.fork.unwrap_or(DEFAULT_FORK),
    )
}

/// Prints why a workload was not timed, on standard error.
fn print_failure(report: &WorkloadReport, err: &CheckError) {
    match err {
        CheckError::Mismatch(lines) => {
            eprintln!("error: {}: engines disagree (not timed):", report.id());
            for line in lines {
                eprintln!("  {line}");
            }
        }
        CheckError::Failed(message) => eprintln!("error: {}: {message} (not timed)", report.id()),
    }
}

pub(crate) fn run(args: Args) -> Result<ExitCode> {
    // `bench state` names the state benchmark; a folder called `state` is `./state`.
    if args.paths.len() == 1 && args.paths[0].as_os_str() == "state" {
        return run_state(&args);
    }
    // Likewise `bench block`: MPEF, parallel against sequential.
    if args.paths.len() == 1 && args.paths[0].as_os_str() == "block" {
        return crate::bench_block_cmd::run(&args, benchmarks_dir_of(&args));
    }
    let engines = engines(&args.engines)?;
    let timing = timing(&args)?;
    let options = load_options(&args)?;
    let mut workloads = load_paths(&paths(&args)?, &options)?;
    if let Some(filter) = &args.filter {
        workloads.retain(|w| w.id().contains(filter.as_str()));
    }
    if workloads.is_empty() {
        bail!("no workloads to run");
    }
    let progress = std::io::stderr().is_terminal() && !args.json;
    let started = Instant::now();
    let mut reports = Vec::with_capacity(workloads.len());
    for (i, workload) in workloads.iter().enumerate() {
        if progress {
            eprint!("\r\x1b[2K[{}/{}] {}", i + 1, workloads.len(), workload.id());
        }
        let report = bench_workload(workload, &engines, &timing);
        if let Err(err) = &report.verdict {
            if progress {
                eprint!("\r\x1b[2K");
            }
            print_failure(&report, err);
        }
        reports.push(report);
    }
    if progress {
        eprint!("\r\x1b[2K");
    }
    let elapsed = started.elapsed();
    let machine = Machine::detect();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&json_report(&reports, &machine))?);
    } else {
        print!("{}", text_table(&reports, &engines));
    }
    if let Some(dir) = &args.report {
        write_report_dir(dir, &reports, &engines, &machine, &settings(&args, &engines, &options))
            .with_context(|| format!("{}: cannot write the report", dir.display()))?;
        eprintln!("report written to {}", dir.display());
    }
    let failed = reports.iter().filter(|r| r.verdict.is_err()).count();
    eprintln!(
        "{} workloads in {:.1} s: {} timed, {failed} not timed (mismatch or failure)",
        reports.len(),
        elapsed.as_secs_f64(),
        reports.len() - failed
    );
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The benchmark folder `--benchmarks` names, else the default.
fn benchmarks_dir_of(args: &Args) -> PathBuf {
    args.benchmarks.clone().unwrap_or_else(benchmarks_dir)
}
