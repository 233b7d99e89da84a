//! Side-by-side benchmarks of MetisVM against [revm](https://github.com/bluealloy/revm), the
//! reference Rust interpreter.
//!
//! Each engine gets the same world (one contract, one funded caller), the same Cancun block and
//! the same transaction, and is run through its public transaction API, so that a measurement
//! covers validation, gas purchase, execution and the state diff on both sides. Before anything
//! is timed, [`check_agreement`] runs both once and demands the same status, output bytes and gas
//! used: a benchmark of two engines that disagree measures nothing.
//!
//! Inputs are read at run time from the shared benchmark directory (see [`benchmarks_dir`]),
//! never copied into this repository. revm is a dependency of this crate only; the engine
//! crates never see it.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, ensure, Context as _};
use metisvm_state::MemoryState;
use metisvm_vm::{AccountInfo, Address, BlockEnv, Bytes, CfgEnv, Evm, Fork, TxEnv, B256, KECCAK_EMPTY, U256};
use revm::bytecode::Bytecode;
use revm::context::{BlockEnv as RevmBlockEnv, CfgEnv as RevmCfgEnv, TxEnv as RevmTxEnv};
use revm::context_interface::block::BlobExcessGasAndPrice;
use revm::database::InMemoryDB;
use revm::handler::{MainnetContext, MainnetEvm};
use revm::primitives::eip4844::BLOB_BASE_FEE_UPDATE_FRACTION_CANCUN;
use revm::primitives::hardfork::SpecId;
use revm::primitives::TxKind;
use revm::state::AccountInfo as RevmAccountInfo;
use revm::{Context, ExecuteEvm, MainBuilder, MainContext};

/// Environment variable naming the benchmark input directory.
pub const BENCHMARKS_ENV: &str = "METISVM_BENCHMARKS";

/// The account that holds the contract under test.
pub const CONTRACT: Address = Address::new([0xc0; 20]);

/// The externally owned account that sends the transaction.
pub const CALLER: Address = Address::new([0xca; 20]);

/// Gas price of the transaction (legacy, base fee zero), so that both engines buy and refund gas.
pub const GAS_PRICE: u64 = 1;

/// The caller's balance: far more than `gas_limit * GAS_PRICE` of any workload here.
const CALLER_BALANCE: u64 = u64::MAX;

/// The directory holding the benchmark inputs: `$METISVM_BENCHMARKS` when set, otherwise
/// `../shared/benchmarks` beside the workspace.
pub fn benchmarks_dir() -> PathBuf {
    match std::env::var_os(BENCHMARKS_ENV) {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/benchmarks"),
    }
}

/// Reads a file of hex text (optionally `0x`-prefixed, surrounding whitespace ignored).
pub fn read_hex_file(path: &Path) -> anyhow::Result<Bytes> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let digits = text.trim();
    let digits = digits.strip_prefix("0x").unwrap_or(digits);
    let bytes = hex::decode(digits).with_context(|| format!("{}: not hex", path.display()))?;
    Ok(Bytes::from(bytes))
}

/// One call of one contract: what both engines are asked to run.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Short name, used in benchmark ids and reports.
    pub name: &'static str,
    /// Runtime bytecode installed at [`CONTRACT`].
    pub code: Bytes,
    /// Calldata of the transaction.
    pub calldata: Bytes,
    /// Gas limit of the transaction (and of the block).
    pub gas_limit: u64,
}

impl Workload {
    /// revm's snailtracer input (`revm/snailtracer.hex`): a ray tracer heavy on 256-bit
    /// arithmetic, memory and internal jumps, called with `0x30627b7c` and a billion gas.
    pub fn snailtracer() -> anyhow::Result<Workload> {
        let code = read_hex_file(&benchmarks_dir().join("revm/snailtracer.hex"))?;
        Ok(Workload {
            name: "snailtracer",
            code,
            calldata: Bytes::from_static(&[0x30, 0x62, 0x7b, 0x7c]),
            gas_limit: 1_000_000_000,
        })
    }
}

/// What a run produced, in engine-neutral terms, for the differential check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Whether the transaction succeeded (no revert, no exceptional halt).
    pub success: bool,
    /// Return data (or revert data; empty on a halt).
    pub output: Bytes,
    /// Gas charged to the sender, refunds included.
    pub gas_used: u64,
}

/// MetisVM, set up once for a workload and run as many times as asked.
///
/// The state is never committed, so every run starts from the same world; the [`Evm`] is kept,
/// so code analysis is cached across runs as it would be in a node.
pub struct MetisRunner {
    evm: Evm,
    state: MemoryState,
    block: BlockEnv,
    cfg: CfgEnv,
    tx: TxEnv,
}

impl MetisRunner {
    /// Installs the workload's contract and a funded caller in a fresh [`MemoryState`].
    pub fn new(workload: &Workload) -> MetisRunner {
        let mut state = MemoryState::new();
        let contract = AccountInfo {
            balance: U256::ZERO,
            nonce: 1,
            code_hash: KECCAK_EMPTY,
            code: Some(workload.code.clone()),
        };
        state.insert_account(CONTRACT, contract, []);
        let caller = AccountInfo { balance: U256::from(CALLER_BALANCE), ..AccountInfo::default() };
        state.insert_account(CALLER, caller, []);
        let block = BlockEnv {
            gas_limit: workload.gas_limit,
            prevrandao: B256::ZERO,
            excess_blob_gas: Some(0),
            ..BlockEnv::default()
        };
        let tx = TxEnv {
            tx_type: 0,
            caller: CALLER,
            gas_limit: workload.gas_limit,
            gas_price: U256::from(GAS_PRICE),
            to: Some(CONTRACT),
            data: workload.calldata.clone(),
            nonce: 0,
            chain_id: Some(1),
            ..TxEnv::default()
        };
        MetisRunner { evm: Evm::new(), state, block, cfg: CfgEnv::new(Fork::Cancun), tx }
    }

    /// Executes the transaction once.
    pub fn run(&mut self) -> anyhow::Result<Outcome> {
        let outcome = self
            .evm
            .transact(&self.state, &self.block, &self.cfg, &self.tx)
            .map_err(|err| anyhow!("metisvm rejected the transaction: {err}"))?;
        Ok(Outcome {
            success: outcome.status.is_success(),
            output: outcome.output,
            gas_used: outcome.gas_used,
        })
    }
}

/// revm's mainnet EVM over an in-memory database.
type RevmEvm = MainnetEvm<MainnetContext<InMemoryDB>>;

/// revm, set up once for a workload the same way as [`MetisRunner`].
pub struct RevmRunner {
    evm: RevmEvm,
    tx: RevmTxEnv,
}

impl RevmRunner {
    /// Installs the same contract and caller in an [`InMemoryDB`] under the same block and fork.
    pub fn new(workload: &Workload) -> anyhow::Result<RevmRunner> {
        let mut db = InMemoryDB::default();
        let code = Bytecode::new_raw(workload.code.clone());
        db.insert_account_info(CONTRACT, RevmAccountInfo::from_bytecode(code));
        db.insert_account_info(CALLER, RevmAccountInfo::from_balance(U256::from(CALLER_BALANCE)));
        let block = RevmBlockEnv {
            number: U256::from(1),
            timestamp: U256::from(1),
            gas_limit: workload.gas_limit,
            basefee: 0,
            prevrandao: Some(B256::ZERO),
            blob_excess_gas_and_price: Some(BlobExcessGasAndPrice::new(
                0,
                BLOB_BASE_FEE_UPDATE_FRACTION_CANCUN,
            )),
            ..RevmBlockEnv::default()
        };
        let tx = RevmTxEnv::builder()
            .tx_type(Some(0))
            .caller(CALLER)
            .gas_limit(workload.gas_limit)
            .gas_price(u128::from(GAS_PRICE))
            .kind(TxKind::Call(CONTRACT))
            .data(workload.calldata.clone())
            .nonce(0)
            .chain_id(Some(1))
            .build()
            .map_err(|err| anyhow!("building the revm transaction: {err:?}"))?;
        let evm = Context::mainnet()
            .with_cfg(RevmCfgEnv::new_with_spec(SpecId::CANCUN))
            .with_block(block)
            .with_db(db)
            .build_mainnet();
        Ok(RevmRunner { evm, tx })
    }

    /// Executes the transaction once; the resulting state is dropped, not committed.
    pub fn run(&mut self) -> anyhow::Result<Outcome> {
        let result = self
            .evm
            .transact(self.tx.clone())
            .map_err(|err| anyhow!("revm rejected the transaction: {err:?}"))?
            .result;
        Ok(Outcome {
            success: result.is_success(),
            gas_used: result.tx_gas_used(),
            output: result.into_output().unwrap_or_default(),
        })
    }
}

/// Runs `workload` once on each engine and checks that both succeed with the same output bytes
/// and the same gas used. Returns the agreed outcome.
pub fn check_agreement(workload: &Workload) -> anyhow::Result<Outcome> {
    let ours = MetisRunner::new(workload).run()?;
    let theirs = RevmRunner::new(workload)?.run()?;
    ensure!(theirs.success, "{}: revm did not succeed: {theirs:?}", workload.name);
    ensure!(ours.success, "{}: metisvm did not succeed: {ours:?}", workload.name);
    if ours != theirs {
        bail!(
            "{}: engines disagree\n  metisvm: gas {} output 0x{}\n  revm:    gas {} output 0x{}",
            workload.name,
            ours.gas_used,
            hex::encode(&ours.output),
            theirs.gas_used,
            hex::encode(&theirs.output),
        );
    }
    Ok(ours)
}
