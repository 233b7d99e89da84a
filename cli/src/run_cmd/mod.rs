//! `metisvm run FILE`: runs a transaction, or a list of them, with no set-up.
//!
//! The file may carry `env` and `pre` in state-test field names; without `pre` the
//! transactions run against [`devstate::dev_state`], five funded development accounts.
//! Without `pre`, the state lives in a MetisDB directory (`--db`, default `./metisvm-db`),
//! created with the dev accounts on first use, so a contract deployed by one run can be called
//! by the next; each transaction is committed there as a new version. `--no-db` runs on a
//! fresh in-memory dev state instead.
//!
//! Transactions run in order, each committed before the next, and a transaction without a
//! `nonce` takes its sender's nonce at that point. For each one the command prints the status,
//! gas used, return data (with `Error(string)` and `Panic(uint256)` payloads decoded), logs,
//! created contracts and the state diff. The file format and the dev accounts are documented
//! in `examples/README.md`.
//!
//! Exit codes: 0 when every transaction was valid and ran (whether it succeeded, reverted or
//! halted), 1 when one was rejected, 2 for bad input.

mod devstate;
mod input;
mod output;
mod store;

use anyhow::{Context, Result};
use metisvm_vm::{CfgEnv, Evm, Fork, JsonTracer, StateReader};
use output::{describe_diff, Executed, Labels, TxReport};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `metisvm run`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The input file: a transaction, a list of them, or `{env?, pre?, fork?, transaction(s)}`.
    file: PathBuf,
    /// The fork whose rules apply (default: the file's `fork`, else Osaka, the newest).
    /// Overrides the file's `fork`.
    #[arg(long)]
    fork: Option<String>,
    /// Print a machine-readable JSON report.
    #[arg(long)]
    json: bool,
    /// Write EIP-3155 traces (one JSON object per instruction) to standard error.
    #[arg(long)]
    trace: bool,
    /// The MetisDB directory that keeps the dev state between runs (created with the dev
    /// accounts on first use). Not used when the file has its own `pre`.
    #[arg(long, default_value = "metisvm-db")]
    db: PathBuf,
    /// Run on a fresh in-memory dev state and keep nothing.
    #[arg(long, conflicts_with = "db")]
    no_db: bool,
    #[command(flatten)]
    jit: crate::jit_args::JitArgs,
}

/// Runs `txs` in order against `store`, committing each valid one before the next.
fn run_txs<S: store::Store>(
    evm: &mut Evm,
    store: &mut S,
    txs: Vec<input::TxSpec>,
    (block, cfg): (&metisvm_vm::BlockEnv, &CfgEnv),
    trace: bool,
) -> Result<Vec<TxReport>> {
    let mut reports = Vec::with_capacity(txs.len());
    for (index, spec) in txs.into_iter().enumerate() {
        let mut tx = spec.tx;
        tx.nonce = match spec.nonce {
            Some(nonce) => nonce,
            None => store.reader().account(tx.caller)?.map_or(0, |a| a.nonce),
        };
        let outcome = if trace {
            let mut tracer = JsonTracer::new(std::io::stderr().lock());
            evm.transact_traced(store.reader(), block, cfg, &tx, &mut tracer)
        } else {
            evm.transact(store.reader(), block, cfg, &tx)
        };
        let result = match outcome {
            Err(e) => Err(e.to_string()),
            Ok(out) => {
                let (diff, created) = describe_diff(store.reader(), &out.diff)?;
                store.commit(&out.diff)?;
                Ok(Executed {
                    status: out.status,
                    gas_used: out.gas_used,
                    output: out.output,
                    logs: out.logs,
                    created,
                    diff,
                })
            }
        };
        reports.push(TxReport { index, from: tx.caller, to: tx.to, nonce: tx.nonce, result });
    }
    Ok(reports)
}

/// Runs the command.
pub(crate) fn run(args: Args) -> Result<ExitCode> {
    let cli_fork = args
        .fork
        .as_deref()
        .map(|f| f.parse::<Fork>().with_context(|| format!("option --fork: unknown fork name {f:?}")))
        .transpose()?;
    let file = args.file.display().to_string();
    let text = std::fs::read_to_string(&args.file).with_context(|| format!("{file}: cannot read"))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{file}: malformed JSON"))?;
    let input = input::parse_input(&json).with_context(|| file.clone())?;

    let fork = cli_fork.or(input.fork).unwrap_or(Fork::Osaka);
    let cfg = CfgEnv::new(fork);
    let mut evm = Evm::new();
    if let Some(backend) = crate::jit_args::backend(&args.jit.jit()) {
        evm.set_native_backend(backend);
    }
    let txs = input.txs;
    let env = (&input.block, &cfg);
    let reports = match input.pre {
        // A file with `pre` is a world of its own: it runs in memory and persists nothing.
        Some(mut pre) => run_txs(&mut evm, &mut pre, txs, env, args.trace)?,
        None if args.no_db => run_txs(&mut evm, &mut devstate::dev_state(), txs, env, args.trace)?,
        None => {
            let mut store = store::DbStore::open(&args.db)?;
            let reports = run_txs(&mut evm, &mut store, txs, env, args.trace)?;
            eprintln!("{}", store.summary()?);
            reports
        }
    };

    if args.json {
        let report = output::render_json(fork.name(), &reports);
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let mut labels: Vec<_> =
            devstate::dev_addresses().into_iter().enumerate().map(|(i, a)| (a, format!("dev {i}"))).collect();
        labels.push((input.block.coinbase, "coinbase".to_string()));
        print!("{}", output::render_text(fork.name(), &reports, &Labels(labels)));
    }
    let rejected = reports.iter().any(|r| r.result.is_err());
    Ok(if rejected { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
