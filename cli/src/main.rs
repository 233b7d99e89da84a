//! `metisvm`: run transactions, Ethereum state tests and mainnet block replays from the
//! command line.

mod statetest_cmd;

use clap::{Parser, Subcommand};
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
    /// Run Ethereum state tests (files or folders, walked recursively).
    Statetest(statetest_cmd::Args),
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
        Command::Statetest(args) => statetest_cmd::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}
