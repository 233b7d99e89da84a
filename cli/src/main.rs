//! `metisvm`: run transactions, Ethereum state tests and mainnet block replays from the
//! command line.

mod bench_block_cmd;
mod bench_cmd;
mod db_cmd;
mod jit_args;
mod replay_cmd;
mod run_cmd;
mod statetest_cmd;

use clap::{Parser, Subcommand};

/// mimalloc rather than glibc's allocator: MPEF workers free memory other workers
/// allocated, which stalled them on glibc (measurements in docs/mpef.md). The libraries set
/// no allocator; an embedding node picks its own.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::process::ExitCode;

/// MetisVM: an EVM for every Ethereum fork from Frontier to Osaka.
#[derive(Parser)]
#[command(name = "metisvm", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a transaction, or a list of them, against a built-in dev state or the file's `pre`.
    Run(run_cmd::Args),
    /// Run Ethereum state tests (files or folders, walked recursively).
    Statetest(statetest_cmd::Args),
    /// Replay mainnet blocks (block folders, or folders of them) and check gas, bloom and receipts.
    Replay(replay_cmd::Args),
    /// Time MetisVM against revm on benchmark workloads (files or folders; default: all of
    /// the shared benchmark folder), after checking that both engines agree on each.
    Bench(Box<bench_cmd::Args>),
    /// Show a MetisDB directory: its versions and roots, or one account with a verified proof.
    Db(db_cmd::Args),
}

/// Exit code for bad input (unreadable files, malformed JSON, bad fields).
pub(crate) const EXIT_BAD_INPUT: u8 = 2;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_BAD_INPUT } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Run(args) => run_cmd::run(args),
        Command::Statetest(args) => statetest_cmd::run(args),
        Command::Replay(args) => replay_cmd::run(args),
        Command::Bench(args) => bench_cmd::run(*args),
        Command::Db(args) => db_cmd::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}
