//! `metisvm db`: what a MetisDB directory holds: its versions and roots, and one account with
//! its storage and a verified Merkle proof; and `metisvm db compact`, which rewrites the data
//! file without the records of pruned versions.

use anyhow::{bail, Context, Result};
use metisvm_state::db::verify_account_proof;
use metisvm_state::{MetisDb, Options};
use metisvm_vm::{Address, U256};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `metisvm db`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The MetisDB directory.
    #[arg(long, default_value = "metisvm-db")]
    db: PathBuf,
    #[command(subcommand)]
    show: Option<Show>,
}

#[derive(clap::Subcommand)]
enum Show {
    /// The versions kept and their state roots (the default).
    Info,
    /// One account: balance, nonce, code, storage root, chosen slots, and its Merkle proof
    /// checked against the version's root.
    Account {
        /// The account's address.
        address: String,
        /// The version to read (default: the newest).
        #[arg(long)]
        version: Option<u64>,
        /// A storage slot to show (hex or decimal); may be repeated.
        #[arg(long = "slot")]
        slots: Vec<String>,
    },
    /// Rewrite the data file with only what the retained versions read (pruned versions'
    /// records are dropped), and report the sizes before and after.
    Compact,
}

/// Runs the command.
pub(crate) fn run(args: Args) -> Result<ExitCode> {
    let dir = &args.db;
    if !dir.join("data.mdb").exists() {
        bail!("option --db: no MetisDB at {} (a `metisvm run` creates one)", dir.display());
    }
    let mut db =
        MetisDb::open(dir, Options::default()).with_context(|| format!("option --db: {}", dir.display()))?;
    match args.show.unwrap_or(Show::Info) {
        Show::Info => {
            let info = db.info()?;
            println!("MetisDB {}", dir.display());
            println!("latest version {}, state root {}", info.latest, db.state_root()?);
            println!(
                "{} accounts, {} storage slots, {} codes; {:.1} KiB of data",
                info.accounts,
                info.slots,
                info.codes,
                info.data_bytes as f64 / 1024.0
            );
            if db.recovered_bytes() > 0 {
                println!("cut off {} bytes of an unfinished commit on open", db.recovered_bytes());
            }
            println!("versions kept: {}", info.versions.len());
            for (version, root) in info.versions.iter().rev().take(10) {
                println!("  {version:>8}  {root}");
            }
        }
        Show::Account { address, version, slots } => {
            let address: Address = address
                .parse()
                .with_context(|| format!("argument ADDRESS: {address:?} is not an address"))?;
            let slots = slots.iter().map(|s| parse_slot(s)).collect::<Result<Vec<_>>>()?;
            let snapshot = match version {
                Some(v) => db.snapshot_at(v)?,
                None => db.snapshot()?,
            };
            println!("account {address} at version {}", snapshot.version());
            match snapshot.account(&address)? {
                None => println!("does not exist"),
                Some(info) => {
                    let code = snapshot.code(&info.code_hash)?.map_or(0, |c| c.len());
                    println!("balance: {}", info.balance);
                    println!("nonce: {}", info.nonce);
                    println!("code: {code} bytes, hash {}", info.code_hash);
                    println!("storage root: {}", snapshot.storage_root(&address)?);
                }
            }
            let proof = snapshot.proof(&address, &slots)?;
            for slot in &proof.storage_proof {
                println!("slot {:#x}: {:#x}", slot.key, slot.value);
            }
            match verify_account_proof(snapshot.state_root(), &proof) {
                Ok(()) => println!(
                    "proof: verified against state root {} ({} account nodes)",
                    snapshot.state_root(),
                    proof.account_proof.len()
                ),
                Err(e) => bail!("proof of {address} does not verify: {e}"),
            }
        }
        Show::Compact => {
            let done = db.compact().with_context(|| format!("compacting {}", dir.display()))?;
            let kib = |bytes: u64| bytes as f64 / 1024.0;
            println!(
                "compacted {}: versions {}..={} kept, {} records, {:.1} KiB -> {:.1} KiB",
                dir.display(),
                done.oldest,
                done.latest,
                done.records,
                kib(done.bytes_before),
                kib(done.bytes_after)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_slot(text: &str) -> Result<U256> {
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => U256::from_str_radix(hex, 16),
        None => U256::from_str_radix(text, 10),
    };
    parsed.with_context(|| format!("option --slot: {text:?} is not a 256-bit number"))
}
