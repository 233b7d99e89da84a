//! Replay of real mainnet blocks: every transaction of a block runs, in order, on one
//! in-memory state built from the block's pre-state, and the results are compared with the
//! header: total `gasUsed`, `logsBloom`, and from Byzantium on the `receiptsRoot`.
//!
//! The header's state root cannot be checked (the pre-state is partial), nor can receipts
//! roots before Byzantium, whose receipts embed intermediate state roots. Senders come from
//! the fixture's `from` field; signatures are not recovered. Withdrawals and block rewards
//! happen after the transactions and leave receipts unchanged, so they are not applied.
//!
//! A block folder (`<number>/`) holds `block.json`, `pre_state.json` and optionally
//! `block_hashes.json`; see the fixtures README, section "mainnet-blocks".

pub mod bloom;
pub mod parallel;
pub mod parse;
pub mod receipt;

/// A shared source of compiled code (see `metisvm_vm::interpreter::native`).
pub type Backend = std::sync::Arc<dyn metisvm_vm::interpreter::native::NativeBackend>;

use crate::skip::SkipList;
pub use crate::statetest::Outcome;
use bloom::Bloom;
use metisvm_state::{MemoryState, MetisDb, Options, Overlay};
use metisvm_vm::{Address, Bytes, CfgEnv, Evm, ExecStatus, Fork, StateReader, StateWriter, B256};
use parse::Block;
use rayon::prelude::*;
use receipt::{receipts_root, Receipt};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The [EIP-4788](https://eips.ethereum.org/EIPS/eip-4788) beacon-roots contract.
pub const BEACON_ROOTS_ADDRESS: Address = Address::new([
    0x00, 0x0f, 0x3d, 0xf6, 0xd7, 0x32, 0x80, 0x7e, 0xf1, 0x31, 0x9f, 0xb7, 0xb8, 0xbb, 0x85, 0x22, 0xd0,
    0xbe, 0xac, 0x02,
]);

/// The caller of system calls, `0xff..fe`.
pub const SYSTEM_ADDRESS: Address = Address::new([
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xfe,
]);

/// The gas a system call gets.
pub const SYSTEM_CALL_GAS: u64 = 30_000_000;

/// The first block whose receipts carry a status byte instead of a state root.
pub const BYZANTIUM_BLOCK: u64 = 4_370_000;

/// A block folder that cannot be read or parsed.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// A file or folder could not be read.
    #[error("{}: cannot read: {error}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        error: std::io::Error,
    },
    /// A file is not JSON.
    #[error("{}: malformed JSON: {error}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The parser's error.
        error: serde_json::Error,
    },
    /// A field has the wrong form.
    #[error("{}: {error}", path.display())]
    Field {
        /// The file.
        path: PathBuf,
        /// The field and what is wrong with it.
        error: crate::hexjson::FieldError,
    },
    /// A folder holds no block.
    #[error("{}: no block folders (folders holding block.json) found", path.display())]
    NoBlocks {
        /// The folder.
        path: PathBuf,
    },
}

/// What one transaction did.
#[derive(Debug, Clone)]
pub struct TxResult {
    /// The transaction hash from the fixture.
    pub hash: B256,
    /// EIP-2718 type.
    pub tx_type: u8,
    /// How execution ended.
    pub status: ExecStatus,
    /// Gas charged.
    pub gas_used: u64,
    /// Gas used in the block up to and including this transaction.
    pub cumulative_gas_used: u64,
    /// Number of logs.
    pub logs: usize,
}

/// The result of replaying one block.
#[derive(Debug, Clone)]
pub struct BlockReport {
    /// The block folder.
    pub path: PathBuf,
    /// Block number.
    pub number: u64,
    /// The fork whose rules applied.
    pub fork: Fork,
    /// Transactions in the block.
    pub tx_count: usize,
    /// Gas used by our execution (up to the first rejected transaction, if any).
    pub gas_used: u64,
    /// The header's `gasUsed`.
    pub header_gas_used: u64,
    /// Whether the receipts root was compared (Byzantium and later).
    pub receipts_root_checked: bool,
    /// Passed, or failed with every mismatch listed.
    pub outcome: Outcome,
    /// Per-transaction results, in block order.
    pub txs: Vec<TxResult>,
    /// Seconds spent reading and parsing the folder.
    pub load_seconds: f64,
    /// Seconds spent executing the block.
    pub exec_seconds: f64,
    /// With a MetisDB (`--db`): the version the block was committed as and its state root,
    /// which must equal the root of the same execution in memory.
    pub db_commit: Option<(u64, B256)>,
    /// Through MPEF (`--threads`, `--sequential`): its counters and timings.
    pub mpef: Option<MpefReport>,
}

/// A block's run through MPEF.
#[derive(Debug, Clone)]
pub struct MpefReport {
    /// The run's counters.
    pub stats: metisvm_mpef::Stats,
    /// Seconds executing the transactions in the requested mode.
    pub seconds: f64,
    /// Seconds executing them through MPEF's sequential path, run just before on the same
    /// warm process: the baseline of the speedup.
    pub sequential_seconds: f64,
}

impl MpefReport {
    /// Sequential time over the requested mode's time; `None` for an empty block.
    pub fn speedup(&self) -> Option<f64> {
        (self.seconds > 0.0 && self.stats.executions > 0).then(|| self.sequential_seconds / self.seconds)
    }
}

/// How `run_blocks_with` runs each block, besides the plain sequential replay.
#[derive(Debug, Clone, Default)]
pub struct ReplayOptions {
    /// Compiled code to run (the JIT).
    pub native: Option<Backend>,
    /// Also commit each block to a MetisDB under this folder.
    pub db: Option<PathBuf>,
    /// Also run each block through MPEF in this mode and require the same receipts, logs and
    /// state root. Blocks then run one at a time, so parallel timings are the block's own.
    pub mpef: Option<metisvm_mpef::Mode>,
    /// How MPEF runs parallel blocks.
    pub mpef_strategy: metisvm_mpef::Strategy,
    /// Threads kept for MPEF's parallel runs across blocks, as a node keeps them (without
    /// one, each block starts and ends its own workers).
    pub mpef_pool: Option<std::sync::Arc<metisvm_mpef::WorkerPool>>,
}

impl ReplayOptions {
    /// Options with these compiled code and MetisDB folder, and no MPEF run.
    fn without_mpef(native: Option<&Backend>, db: Option<&Path>) -> ReplayOptions {
        ReplayOptions {
            native: native.cloned(),
            db: db.map(Path::to_path_buf),
            mpef: None,
            mpef_strategy: Default::default(),
            mpef_pool: None,
        }
    }
}

/// The block folders under `path`: `path` itself when it holds `block.json`, else its
/// sub-folders that do, in increasing block number (folder names that are not numbers last,
/// by name).
pub fn block_dirs(path: &Path) -> Result<Vec<PathBuf>, InputError> {
    if path.join("block.json").is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let io = |error| InputError::Io { path: path.to_path_buf(), error };
    let mut dirs = Vec::new();
    for entry in std::fs::read_dir(path).map_err(io)? {
        let dir = entry.map_err(io)?.path();
        if dir.join("block.json").is_file() {
            dirs.push(dir);
        }
    }
    if dirs.is_empty() {
        return Err(InputError::NoBlocks { path: path.to_path_buf() });
    }
    let key = |p: &PathBuf| {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        (name.parse::<u64>().unwrap_or(u64::MAX), name)
    };
    dirs.sort_by_cached_key(key);
    Ok(dirs)
}

fn read_json(path: &Path) -> Result<Value, InputError> {
    let text =
        std::fs::read_to_string(path).map_err(|error| InputError::Io { path: path.to_path_buf(), error })?;
    serde_json::from_str(&text).map_err(|error| InputError::Json { path: path.to_path_buf(), error })
}

/// Reads a block folder: the block and its pre-state (with block hashes recorded).
pub fn load_block(dir: &Path) -> Result<(Block, MemoryState), InputError> {
    let field_error = |path: PathBuf| move |error| InputError::Field { path, error };
    let block_path = dir.join("block.json");
    let block = parse::parse_block(&read_json(&block_path)?).map_err(field_error(block_path))?;
    let pre_path = dir.join("pre_state.json");
    let mut state = parse::parse_pre_state(&read_json(&pre_path)?).map_err(field_error(pre_path))?;
    let hashes_path = dir.join("block_hashes.json");
    if hashes_path.is_file() {
        parse::parse_block_hashes(&read_json(&hashes_path)?, &mut state).map_err(field_error(hashes_path))?;
    }
    Ok((block, state))
}

/// What executing a block produced.
#[derive(Debug, Clone, Default)]
pub struct Execution {
    /// Per-transaction results.
    pub txs: Vec<TxResult>,
    /// Receipts, in block order.
    pub receipts: Vec<Receipt>,
    /// Why execution stopped early (a rejected transaction, a store error).
    pub error: Option<String>,
}

impl Execution {
    /// Total gas used.
    pub fn gas_used(&self) -> u64 {
        self.txs.last().map_or(0, |t| t.cumulative_gas_used)
    }

    /// The block's logs bloom: the union of the receipts' blooms.
    pub fn logs_bloom(&self) -> Bloom {
        let mut bloom = Bloom::ZERO;
        for r in &self.receipts {
            bloom.union(&r.bloom);
        }
        bloom
    }
}

/// Executes `block` on `state`: the EIP-4788 system call (Cancun on, when the beacon-roots
/// contract exists), then every transaction in order, committing each one's changes.
pub fn execute_block<S: StateReader + StateWriter>(evm: &mut Evm, block: &Block, state: &mut S) -> Execution {
    let cfg = CfgEnv::new(block.fork);
    let mut out = Execution::default();
    if let Err(e) = beacon_roots_call(evm, block, &cfg, state) {
        out.error = Some(format!("beacon-roots system call: {e}"));
        return out;
    }
    let mut cumulative = 0u64;
    for (i, tx) in block.transactions.iter().enumerate() {
        let outcome = match evm.transact(&*state, &block.env, &cfg, &tx.env) {
            Ok(outcome) => outcome,
            Err(e) => {
                out.error = Some(format!("tx {i} ({}): rejected: {e}", tx.hash));
                return out;
            }
        };
        state.commit(&outcome.diff);
        let Some(total) = cumulative.checked_add(outcome.gas_used) else {
            out.error = Some(format!("tx {i} ({}): cumulative gas overflows 64 bits", tx.hash));
            return out;
        };
        cumulative = total;
        let success = outcome.status.is_success();
        out.txs.push(TxResult {
            hash: tx.hash,
            tx_type: tx.env.tx_type,
            status: outcome.status,
            gas_used: outcome.gas_used,
            cumulative_gas_used: cumulative,
            logs: outcome.logs.len(),
        });
        out.receipts.push(Receipt {
            tx_type: tx.env.tx_type,
            success,
            cumulative_gas_used: cumulative,
            bloom: Bloom::from_logs(&outcome.logs),
            logs: outcome.logs,
        });
    }
    out
}

/// The [EIP-4788](https://eips.ethereum.org/EIPS/eip-4788) system call that stores the parent
/// beacon block root, from Cancun on. It is skipped when the contract is not in the pre-state:
/// then no transaction of the block reads it, and its changes cannot affect any receipt.
pub(crate) fn beacon_roots_call<S: StateReader + StateWriter>(
    evm: &mut Evm,
    block: &Block,
    cfg: &CfgEnv,
    state: &mut S,
) -> Result<(), String> {
    let Some(root) = block.env.parent_beacon_block_root else { return Ok(()) };
    let deployed = state.account(BEACON_ROOTS_ADDRESS).map_err(|e| e.to_string())?.is_some();
    if !block.fork.is_enabled_in(Fork::Cancun) || !deployed {
        return Ok(());
    }
    let data = Bytes::copy_from_slice(root.as_slice());
    let outcome = evm
        .system_call(&*state, &block.env, cfg, SYSTEM_ADDRESS, BEACON_ROOTS_ADDRESS, data, SYSTEM_CALL_GAS)
        .map_err(|e| e.to_string())?;
    state.commit(&outcome.diff);
    Ok(())
}

/// Compares an execution with the block header; the mismatches, empty when it matches.
pub fn check(block: &Block, exec: &Execution) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(e) = &exec.error {
        problems.push(e.clone());
    }
    let gas = exec.gas_used();
    if gas != block.gas_used {
        let diff = i128::from(gas) - i128::from(block.gas_used);
        problems.push(format!("gas mismatch: ours {gas}, header {} ({diff:+})", block.gas_used));
    }
    let bloom = exec.logs_bloom();
    if bloom != block.logs_bloom {
        problems.push(format!(
            "bloom mismatch: ours has {} bits set, header {} ({} of ours missing from the header, {} of the header's missing from ours)",
            bloom.count_ones(),
            block.logs_bloom.count_ones(),
            missing_bits(&block.logs_bloom, &bloom),
            missing_bits(&bloom, &block.logs_bloom),
        ));
    }
    if block.env.number >= BYZANTIUM_BLOCK && exec.error.is_none() {
        let root = receipts_root(&exec.receipts);
        if root != block.receipts_root {
            problems.push(format!("receipts root mismatch: ours {root}, header {}", block.receipts_root));
        }
    }
    problems
}

/// The number of bits set in `b` but not in `a`.
fn missing_bits(a: &Bloom, b: &Bloom) -> u32 {
    a.0.iter().zip(b.0.iter()).map(|(x, y)| (!x & y).count_ones()).sum()
}

/// Loads, executes and checks one block folder. Bad input is an error; a block that runs
/// but does not match its header is a report with a failed outcome.
pub fn run_block(
    dir: &Path,
    skips: &SkipList,
    native: Option<&Backend>,
    db: Option<&Path>,
) -> Result<BlockReport, InputError> {
    let options = ReplayOptions::without_mpef(native, db);
    run_block_with(dir, skips, &options)
}

/// [`run_block`] with every option.
pub fn run_block_with(
    dir: &Path,
    skips: &SkipList,
    options: &ReplayOptions,
) -> Result<BlockReport, InputError> {
    let (native, db) = (options.native.as_ref(), options.db.as_deref());
    let started = Instant::now();
    let (block, mut state) = load_block(dir)?;
    let load_seconds = started.elapsed().as_secs_f64();
    let mut report = BlockReport {
        path: dir.to_path_buf(),
        number: block.env.number,
        fork: block.fork,
        tx_count: block.transactions.len(),
        gas_used: 0,
        header_gas_used: block.gas_used,
        receipts_root_checked: block.env.number >= BYZANTIUM_BLOCK,
        outcome: Outcome::Passed,
        txs: Vec::new(),
        load_seconds,
        exec_seconds: 0.0,
        db_commit: None,
        mpef: None,
    };
    if let Some(reason) = skips.reason_for(&dir.display().to_string()) {
        report.outcome = Outcome::Skipped(reason.to_string());
        return Ok(report);
    }
    let started = Instant::now();
    let mut evm = Evm::new();
    if let Some(backend) = native {
        evm.set_native_backend(backend.clone());
    }
    let pre = (db.is_some() || options.mpef.is_some()).then(|| state.clone());
    let exec = execute_block(&mut evm, &block, &mut state);
    report.exec_seconds = started.elapsed().as_secs_f64();
    let mut problems = check(&block, &exec);
    if let (Some(mode), Some(pre)) = (options.mpef, &pre) {
        let mut config = metisvm_mpef::Config {
            mode,
            strategy: options.mpef_strategy,
            native: None,
            pool: options.mpef_pool.clone(),
        };
        if let Some(backend) = native {
            config = config.with_native(backend.clone());
        }
        let baseline = metisvm_mpef::Config { mode: metisvm_mpef::Mode::Sequential, ..config.clone() };
        let runs = parallel::run_mpef(&block, pre, &baseline)
            .and_then(|b| Ok((b, parallel::run_mpef(&block, pre, &config)?)));
        match runs {
            Ok((baseline, run)) => {
                problems.extend(parallel::compare(&exec, &run.exec));
                let root = state.state_root();
                if run.post_root != root {
                    problems.push(format!(
                        "MPEF post-state root {} differs from the sequential {root}",
                        run.post_root
                    ));
                }
                report.mpef = Some(MpefReport {
                    stats: run.stats,
                    seconds: run.seconds,
                    sequential_seconds: baseline.seconds,
                });
            }
            Err(e) => problems.push(format!("MPEF: {e}")),
        }
    }
    if let (Some(db), Some(pre)) = (db, &pre) {
        let dir = db.join(block.env.number.to_string());
        match replay_in_db(&mut evm, &block, pre, &dir) {
            Ok((db_exec, committed)) => {
                if db_exec.gas_used() != exec.gas_used() || db_exec.error != exec.error {
                    problems.push(format!(
                        "MetisDB: execution differs from the in-memory one ({})",
                        dir.display()
                    ));
                }
                let memory_root = state.state_root();
                if committed.state_root != memory_root {
                    problems.push(format!(
                        "MetisDB: post-state root {} differs from the in-memory root {memory_root}",
                        committed.state_root
                    ));
                }
                report.db_commit = Some((committed.version, committed.state_root));
            }
            Err(e) => problems.push(format!("MetisDB {}: {e}", dir.display())),
        }
    }
    report.gas_used = exec.gas_used();
    report.txs = exec.txs;
    if !problems.is_empty() {
        report.outcome = Outcome::Failed(problems.join("; "));
    }
    Ok(report)
}

/// Runs `block` against a MetisDB in `dir`: its first version is the pre-state (written on
/// first use, checked on later ones); the block runs through an [`Overlay`] over that
/// version's snapshot and is committed as a new version.
fn replay_in_db(
    evm: &mut Evm,
    block: &Block,
    pre: &MemoryState,
    dir: &Path,
) -> Result<(Execution, metisvm_state::Committed), String> {
    let db = MetisDb::open(dir, Options::default()).map_err(|e| e.to_string())?;
    if db.latest() == 0 {
        db.commit(&pre.to_diff(), &pre.block_hashes()).map_err(|e| e.to_string())?;
    }
    let base = db.snapshot_at(1).map_err(|e| e.to_string())?;
    if base.state_root() != pre.state_root() {
        return Err(format!("version 1 is not this block's pre-state (root {})", base.state_root()));
    }
    let mut overlay = Overlay::new(&base);
    let exec = execute_block(evm, block, &mut overlay);
    let committed = db.commit(&overlay.into_diff(), &[]).map_err(|e| e.to_string())?;
    Ok((exec, committed))
}

/// Replays `dirs` in parallel, calling `on_done` as each block finishes. Returns the reports
/// in the order of `dirs`, or the first folder's input error.
pub fn run_blocks(
    dirs: &[PathBuf],
    skips: &SkipList,
    native: Option<&Backend>,
    on_done: impl Fn(&BlockReport) + Sync,
) -> Result<Vec<BlockReport>, InputError> {
    run_blocks_in(dirs, skips, native, None, on_done)
}

/// [`run_blocks`], with each block also run against a MetisDB under `db` (one database per
/// block, in a folder named by its number) and its post-state root compared.
pub fn run_blocks_in(
    dirs: &[PathBuf],
    skips: &SkipList,
    native: Option<&Backend>,
    db: Option<&Path>,
    on_done: impl Fn(&BlockReport) + Sync,
) -> Result<Vec<BlockReport>, InputError> {
    let options = ReplayOptions::without_mpef(native, db);
    run_blocks_with(dirs, skips, &options, on_done)
}

/// Replays `dirs` per `options`: in parallel across blocks, or one block at a time when
/// each goes through MPEF (whose workers then have the machine).
pub fn run_blocks_with(
    dirs: &[PathBuf],
    skips: &SkipList,
    options: &ReplayOptions,
    on_done: impl Fn(&BlockReport) + Sync,
) -> Result<Vec<BlockReport>, InputError> {
    let one = |dir: &PathBuf| {
        let report = run_block_with(dir, skips, options);
        if let Ok(r) = &report {
            on_done(r);
        }
        report
    };
    let results: Vec<Result<BlockReport, InputError>> = if options.mpef.is_some() {
        dirs.iter().map(one).collect()
    } else {
        dirs.par_iter().map(one).collect()
    };
    results.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use metisvm_vm::env::BlockEnv;
    use metisvm_vm::{keccak256, AccountInfo, KECCAK_EMPTY, U256};

    /// The deployed beacon-roots contract, as EIP-4788 specifies it.
    const BEACON_ROOTS_CODE: &str = "3373fffffffffffffffffffffffffffffffffffffffe14604d57602036146024575f5ffd5b5f35801560495762001fff810690815414603c575f5ffd5b62001fff01545f5260205ff35b5f5ffd5b62001fff42064281555f359062001fff015500";

    #[test]
    fn beacon_roots_system_call_stores_timestamp_and_root() {
        let code = hex::decode(BEACON_ROOTS_CODE).unwrap();
        assert_eq!(
            keccak256(&code).to_string(),
            "0xf57acd40259872606d76197ef052f3d35588dadf919ee1f0e3cb9b62d3f4b02c"
        );
        let mut state = MemoryState::new();
        let info =
            AccountInfo { balance: U256::ZERO, nonce: 1, code_hash: KECCAK_EMPTY, code: Some(code.into()) };
        state.insert_account(BEACON_ROOTS_ADDRESS, info, []);
        let timestamp = 1_716_485_843u64;
        let root = B256::repeat_byte(0xab);
        let block = Block {
            fork: Fork::Cancun,
            env: BlockEnv { timestamp, parent_beacon_block_root: Some(root), ..BlockEnv::default() },
            gas_used: 0,
            logs_bloom: Bloom::ZERO,
            receipts_root: metisvm_state::EMPTY_ROOT_HASH,
            transactions: Vec::new(),
        };
        let exec = execute_block(&mut Evm::new(), &block, &mut state);
        assert_eq!(exec.error, None);
        assert!(check(&block, &exec).is_empty());
        let slot = timestamp % 8191;
        let account = state.get(&BEACON_ROOTS_ADDRESS).unwrap();
        assert_eq!(account.storage.get(&U256::from(slot)), Some(&U256::from(timestamp)));
        assert_eq!(account.storage.get(&U256::from(slot + 8191)), Some(&U256::from_be_bytes(root.0)));
        // The system address is neither charged nor created.
        assert!(state.get(&SYSTEM_ADDRESS).is_none());
    }
}
