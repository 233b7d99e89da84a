//! The transaction executor: validation, gas purchase, warm-up, the top-level message,
//! refunds and fee payment.
//!
//! [`Evm`] holds only caches (analysed code by hash); every call to [`Evm::transact`] takes
//! the state, block and transaction explicitly, so one `Evm` can serve many blocks and
//! threads can each own one. There is no global state.

mod delegation;
mod frames;
mod system_call;

pub use delegation::{delegation_target, recover_authority, DELEGATION_PREFIX};

use crate::env::{blob_gas_price, BlockEnv, CfgEnv, TxEnv, GAS_PER_BLOB};
use crate::fork::Fork;
use crate::interpreter::analysis::AnalyzedCode;
use crate::interpreter::native::NativeBackend;
use crate::interpreter::{CallKind, CallRequest, CreateRequest, Ctx, HaltReason, Status};
use crate::intrinsic::{calldata_floor_gas, intrinsic_gas};
use crate::journal::{Journal, JournalBuffers, Log};
use crate::primitives::{keccak256, Address, Bytes, B256, KECCAK_EMPTY, U256};
use crate::rlp;
use crate::state::{StateDiff, StateReader};
use crate::tracing::Tracer;
use crate::validation::{InvalidTransaction, TxError};
use frames::{execute, start_call, start_create, FramePool};
use hashbrown::HashMap;
use std::sync::Arc;

/// EIP-170 maximum deployed code size.
pub const MAX_CODE_SIZE: usize = 0x6000;
/// EIP-3860 maximum initcode size (Shanghai): twice the code size limit.
pub const MAX_INITCODE_SIZE: usize = 2 * MAX_CODE_SIZE;
/// EIP-7825 transaction gas limit cap (Osaka).
pub const TX_GAS_LIMIT_CAP: u64 = 1 << 24;
/// EIP-7594 maximum blobs per transaction (Osaka).
pub const MAX_BLOBS_PER_TX_OSAKA: usize = 6;

/// Analysed code by code hash: jump-destination analysis runs once per distinct code.
#[derive(Default)]
pub struct CodeCache {
    map: HashMap<(B256, Fork), Arc<AnalyzedCode>>,
    shared: Option<Arc<SharedCodeCache>>,
}

/// Analyses several executors share, one per thread (the parallel executor's workers), so
/// that a code is analysed once rather than once per thread.
///
/// Each executor still keeps its own copy of what it takes from here: frames clone the
/// analysis handle on every call, and a handle shared between threads would have its
/// reference count bounce between their cores. Copying a finished analysis costs a few
/// memory copies; analysing costs a pass over every byte.
#[derive(Default)]
pub struct SharedCodeCache {
    map: std::sync::RwLock<HashMap<(B256, Fork), Arc<AnalyzedCode>>>,
}

impl SharedCodeCache {
    /// An empty cache.
    pub fn new() -> SharedCodeCache {
        SharedCodeCache::default()
    }

    /// Number of analyses held.
    pub fn len(&self) -> usize {
        self.map.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A private copy of the analysis of `code` under `fork`, analysed here if no thread
    /// has done so yet.
    fn copy_or_analyze(&self, hash: B256, code: &Bytes, fork: Fork) -> AnalyzedCode {
        let key = (hash, fork);
        if let Some(found) = self.map.read().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return AnalyzedCode::clone(found);
        }
        let analyzed = AnalyzedCode::new(code.clone(), fork);
        self.map
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key)
            .or_insert_with(|| Arc::new(analyzed.clone()));
        analyzed
    }
}

impl CodeCache {
    /// The analysis of `code` (whose hash is `hash`) under `fork`, computed on first use.
    pub fn get_or_analyze(&mut self, hash: B256, code: &Bytes, fork: Fork) -> Arc<AnalyzedCode> {
        if let Some(c) = self.map.get(&(hash, fork)) {
            return c.clone();
        }
        // Code without a hash of its own (init code) is never cached.
        let cacheable = hash != KECCAK_EMPTY || code.is_empty();
        let analyzed = match &self.shared {
            Some(shared) if cacheable => Arc::new(shared.copy_or_analyze(hash, code, fork)),
            _ => Arc::new(AnalyzedCode::new(code.clone(), fork)),
        };
        if cacheable {
            self.map.insert((hash, fork), analyzed.clone());
        }
        analyzed
    }

    /// Number of cached analyses.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// The address of a contract created by `sender` with `nonce` (CREATE).
pub fn create_address(sender: Address, nonce: u64) -> Address {
    let mut payload = Vec::with_capacity(32);
    rlp::encode_address(&mut payload, &sender);
    rlp::encode_u64(&mut payload, nonce);
    let mut out = Vec::with_capacity(payload.len() + 2);
    rlp::encode_list_header(&mut out, payload.len());
    out.extend_from_slice(&payload);
    Address::from_slice(&keccak256(&out)[12..])
}

/// The address of a contract created with CREATE2 ([EIP-1014](https://eips.ethereum.org/EIPS/eip-1014)).
pub fn create2_address(sender: Address, salt: [u8; 32], init_code_hash: B256) -> Address {
    let mut buf = [0u8; 85];
    buf[0] = 0xff;
    buf[1..21].copy_from_slice(sender.as_slice());
    buf[21..53].copy_from_slice(&salt);
    buf[53..].copy_from_slice(init_code_hash.as_slice());
    Address::from_slice(&keccak256(buf)[12..])
}

/// How the transaction's execution ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecStatus {
    /// The top-level call or creation succeeded.
    Success,
    /// It reverted (REVERT): state undone, unused gas returned.
    Revert,
    /// It halted exceptionally: state undone, all gas used.
    Halt(HaltReason),
}

impl ExecStatus {
    /// The status of a finished top-level frame. `execute` only returns frames that ended
    /// (stopped, returned, self-destructed, reverted or halted).
    pub(crate) fn of_finished(status: Status) -> ExecStatus {
        match status {
            Status::Stop | Status::Return | Status::SelfDestruct => ExecStatus::Success,
            Status::Revert => ExecStatus::Revert,
            Status::Halt(reason) => ExecStatus::Halt(reason),
            Status::Running | Status::Suspended | Status::Fatal => {
                debug_assert!(false, "execute returned an unfinished frame: {status:?}");
                ExecStatus::Halt(HaltReason::InvalidOpcode)
            }
        }
    }

    /// Whether execution succeeded (receipt status 1).
    pub fn is_success(self) -> bool {
        self == ExecStatus::Success
    }
}

/// Everything a valid transaction produced.
#[derive(Debug, Clone)]
pub struct TxOutcome {
    /// How execution ended.
    pub status: ExecStatus,
    /// Gas charged to the sender (after refunds and the EIP-7623 floor).
    pub gas_used: u64,
    /// Gas refunded from the refund counter.
    pub gas_refunded: u64,
    /// Return data, or revert data.
    pub output: Bytes,
    /// Logs (empty unless successful).
    pub logs: Vec<Log>,
    /// The created contract, for a successful creation.
    pub created_address: Option<Address>,
    /// State changes to commit.
    pub diff: StateDiff,
    /// With [`Evm::defer_coinbase_fee`] on: the fee owed to the block's coinbase, which is
    /// then not in `diff` (the transaction never read the coinbase); the caller credits it,
    /// creating the account if it is missing. `None` when the fee was applied here.
    pub coinbase_fee: Option<U256>,
}

/// The executor. Holds caches only; see the module docs.
#[derive(Default)]
pub struct Evm {
    code_cache: CodeCache,
    pool: FramePool,
    journal_buffers: Option<JournalBuffers>,
    native: Option<Arc<dyn NativeBackend>>,
    defer_coinbase_fee: bool,
}

struct Prepared {
    effective_gas_price: U256,
    intrinsic: u64,
    floor: u64,
    blob_fee: U256,
}

impl Evm {
    /// A new executor with empty caches.
    pub fn new() -> Self {
        Evm::default()
    }

    /// Runs deployed code compiled by `backend` where it supplies some (see
    /// [`crate::interpreter::native`]).
    pub fn set_native_backend(&mut self, backend: Arc<dyn NativeBackend>) {
        self.native = Some(backend);
    }

    /// Leaves the priority fee out of the coinbase's balance and reports it in
    /// [`TxOutcome::coinbase_fee`] instead, so a transaction that does not otherwise use the
    /// coinbase never reads it. The parallel executor sums these credits lazily. The fee is
    /// still paid here when the transaction has read the coinbase anyway (it is then in the
    /// diff, and EIP-161 clearing must see the credited balance), and a zero fee after
    /// EIP-161 is handled here too: it touches the coinbase, which may delete it.
    pub fn defer_coinbase_fee(&mut self, defer: bool) {
        self.defer_coinbase_fee = defer;
    }

    /// Takes analyses from `shared` (and adds its own there) before analysing code itself.
    pub fn share_code_analyses(&mut self, shared: Arc<SharedCodeCache>) {
        self.code_cache.shared = Some(shared);
    }

    /// Number of analysed codes cached.
    pub fn cached_code_count(&self) -> usize {
        self.code_cache.len()
    }

    /// Validates and executes `tx` on `db`, returning the changes to commit.
    pub fn transact(
        &mut self,
        db: &dyn StateReader,
        block: &BlockEnv,
        cfg: &CfgEnv,
        tx: &TxEnv,
    ) -> Result<TxOutcome, TxError> {
        self.transact_inner(db, block, cfg, tx, None)
    }

    /// As [`Evm::transact`], reporting every instruction to `tracer`.
    pub fn transact_traced(
        &mut self,
        db: &dyn StateReader,
        block: &BlockEnv,
        cfg: &CfgEnv,
        tx: &TxEnv,
        tracer: &mut dyn Tracer,
    ) -> Result<TxOutcome, TxError> {
        self.transact_inner(db, block, cfg, tx, Some(tracer))
    }

    fn transact_inner<'a>(
        &'a mut self,
        db: &'a dyn StateReader,
        block: &'a BlockEnv,
        cfg: &'a CfgEnv,
        tx: &'a TxEnv,
        tracer: Option<&'a mut dyn Tracer>,
    ) -> Result<TxOutcome, TxError> {
        let fork = cfg.fork;
        let prepared = validate_static(block, cfg, tx)?;
        let buffers = self.journal_buffers.take().unwrap_or_default();
        let mut journal = Journal::with_buffers(db, fork, buffers);
        validate_sender(&mut journal, fork, tx)?;

        // Buy gas and bump the nonce.
        let sender = tx.caller;
        let gas_cost = U256::from(tx.gas_limit) * prepared.effective_gas_price + prepared.blob_fee;
        let balance = journal.balance(sender)?;
        journal.set_balance(sender, balance - gas_cost)?;
        journal.set_nonce(sender, tx.nonce + 1)?;

        // Warm the sender, the recipient, precompiles, the access list and the coinbase.
        if fork.is_enabled_in(Fork::Berlin) {
            journal.prewarm_account(sender)?;
            if let Some(to) = tx.to {
                journal.prewarm_account(to)?;
            }
            // Precompiles are warm too; the journal knows them by address instead of loading
            // each one as an account (see `Journal::warm_account`).
            for item in &tx.access_list {
                journal.prewarm_account_unloaded(item.address);
                for key in &item.storage_keys {
                    journal.prewarm_slot(item.address, U256::from_be_bytes(key.0))?;
                }
            }
            if fork.is_enabled_in(Fork::Shanghai) {
                journal.prewarm_account_unloaded(block.coinbase);
            }
        }

        let (code_cache, pool) = (&mut self.code_cache, &mut self.pool);
        let mut cx = Ctx {
            journal,
            block,
            cfg,
            tx,
            effective_gas_price: prepared.effective_gas_price,
            fork,
            request: None,
            error: None,
            tracer,
            code_cache,
            native: self.native.as_deref(),
        };
        let gas = tx.gas_limit - prepared.intrinsic;
        let mut refund_counter: i64 = 0;
        let mut created_address = None;
        let result = match tx.to {
            None => {
                let address = create_address(sender, tx.nonce);
                cx.journal.prewarm_account(address)?;
                if cx.journal.is_create_collision(address)? {
                    frames::FrameResult {
                        status: Status::Halt(HaltReason::CreateCollision),
                        gas_left: 0,
                        refund: 0,
                        output: Bytes::new(),
                    }
                } else {
                    created_address = Some(address);
                    let req = CreateRequest {
                        address,
                        caller: sender,
                        value: tx.value,
                        init_code: tx.data.clone(),
                        gas,
                    };
                    let started = start_create(&mut cx, pool, req, 0)?;
                    execute(&mut cx, pool, started)?
                }
            }
            Some(to) => {
                if let Some(auths) = &tx.authorization_list {
                    refund_counter += delegation::apply_authorizations(&mut cx, auths)?;
                }
                let account = cx.journal.load(to)?;
                let mut code_address = to;
                let mut precompiles_disabled = false;
                if fork.is_enabled_in(Fork::Prague) {
                    if let Some(delegate) = delegation_target(account.code()) {
                        cx.journal.prewarm_account(delegate)?;
                        code_address = delegate;
                        precompiles_disabled = true;
                    }
                }
                let req = CallRequest {
                    kind: CallKind::Call,
                    target: to,
                    code_address,
                    caller: sender,
                    value: tx.value,
                    transfer: true,
                    input: tx.data.clone(),
                    gas,
                    is_static: false,
                    ret_offset: 0,
                    ret_len: 0,
                    precompiles_disabled,
                };
                let started = start_call(&mut cx, pool, req, 0)?;
                execute(&mut cx, pool, started)?
            }
        };

        let status = ExecStatus::of_finished(result.status);
        if status.is_success() {
            refund_counter += result.refund;
        } else {
            created_address = None;
        }

        // Refund: capped at a half (a fifth from London, EIP-3529) of the gas used.
        let used_before_refund = tx.gas_limit - result.gas_left;
        let quotient = if fork.is_enabled_in(Fork::London) { 5 } else { 2 };
        let refund = (refund_counter.max(0) as u64).min(used_before_refund / quotient);
        let gas_used = (used_before_refund - refund).max(prepared.floor);

        let sender_balance = cx.journal.balance(sender)?;
        let returned = U256::from(tx.gas_limit - gas_used) * prepared.effective_gas_price;
        cx.journal.set_balance(sender, sender_balance + returned)?;

        let base_fee = if fork.is_enabled_in(Fork::London) { block.base_fee } else { U256::ZERO };
        let tip = U256::from(gas_used) * (prepared.effective_gas_price - base_fee);
        let coinbase = block.coinbase;
        let mut coinbase_fee = None;
        if !tip.is_zero() || !fork.is_enabled_in(Fork::SpuriousDragon) {
            if self.defer_coinbase_fee && !cx.journal.is_loaded(&coinbase) {
                coinbase_fee = Some(tip);
            } else {
                let b = cx.journal.balance(coinbase)?;
                cx.journal.set_balance(coinbase, b.saturating_add(tip))?;
            }
        } else {
            let account = cx.journal.load(coinbase)?;
            if account.exists && account.is_empty() {
                cx.journal.touch(coinbase)?;
            }
        }

        if let Some(t) = cx.tracer.as_deref_mut() {
            let error = match status {
                ExecStatus::Success => None,
                ExecStatus::Revert => Some("execution reverted"),
                ExecStatus::Halt(h) => Some(h.as_str()),
            };
            t.end(&result.output, gas_used, error);
        }

        let (finalized, buffers) = cx.journal.finalize_reusing();
        self.journal_buffers = Some(buffers);
        Ok(TxOutcome {
            status,
            gas_used,
            gas_refunded: refund,
            output: result.output,
            logs: if status.is_success() { finalized.logs } else { Vec::new() },
            created_address,
            diff: finalized.diff,
            coinbase_fee,
        })
    }
}

/// Checks that need no state: type, gas limits, fees, blobs.
fn validate_static(block: &BlockEnv, cfg: &CfgEnv, tx: &TxEnv) -> Result<Prepared, InvalidTransaction> {
    let fork = cfg.fork;
    let since = match tx.tx_type {
        0 => Fork::Frontier,
        1 => Fork::Berlin,
        2 => Fork::London,
        3 => Fork::Cancun,
        4 => Fork::Prague,
        t => return Err(InvalidTransaction::TypeNotSupported(t)),
    };
    if !fork.is_enabled_in(since) {
        return Err(InvalidTransaction::TypeNotSupported(tx.tx_type));
    }
    if let Some(id) = tx.chain_id {
        if id != cfg.chain_id {
            return Err(InvalidTransaction::ChainIdMismatch);
        }
    }
    let intrinsic = intrinsic_gas(fork, tx);
    if tx.gas_limit < intrinsic {
        return Err(InvalidTransaction::IntrinsicGasTooLow { limit: tx.gas_limit, intrinsic });
    }
    let floor = calldata_floor_gas(fork, tx).unwrap_or(0);
    if tx.gas_limit < floor {
        return Err(InvalidTransaction::FloorGasTooLow { limit: tx.gas_limit, floor });
    }
    if fork.is_enabled_in(Fork::Osaka) && tx.gas_limit > TX_GAS_LIMIT_CAP {
        return Err(InvalidTransaction::GasLimitAboveCap);
    }
    // EIP-2681; applied in every fork, since no account can ever reach this nonce.
    if tx.nonce == u64::MAX {
        return Err(InvalidTransaction::NonceOverflow);
    }
    if tx.to.is_none() && fork.is_enabled_in(Fork::Shanghai) && tx.data.len() > MAX_INITCODE_SIZE {
        return Err(InvalidTransaction::InitcodeTooLarge);
    }
    if tx.gas_limit > block.gas_limit {
        return Err(InvalidTransaction::GasLimitAboveBlock);
    }
    let base_fee = if fork.is_enabled_in(Fork::London) { block.base_fee } else { U256::ZERO };
    let effective_gas_price = match tx.max_priority_fee_per_gas {
        Some(tip) if tx.tx_type >= 2 => {
            if tip > tx.gas_price {
                return Err(InvalidTransaction::PriorityFeeAboveMaxFee);
            }
            if tx.gas_price < base_fee {
                return Err(InvalidTransaction::FeeCapBelowBaseFee);
            }
            base_fee + tip.min(tx.gas_price - base_fee)
        }
        _ => {
            if tx.gas_price < base_fee {
                return Err(InvalidTransaction::FeeCapBelowBaseFee);
            }
            tx.gas_price
        }
    };
    let mut blob_fee = U256::ZERO;
    if tx.tx_type == 3 {
        if tx.to.is_none() {
            return Err(InvalidTransaction::CreateNotAllowed);
        }
        let count = tx.blob_hashes.len();
        if count == 0 {
            return Err(InvalidTransaction::NoBlobs);
        }
        let per_tx_limit = if fork.is_enabled_in(Fork::Osaka) {
            MAX_BLOBS_PER_TX_OSAKA as u64
        } else {
            cfg.blob_schedule.max
        };
        if count as u64 > per_tx_limit.min(cfg.blob_schedule.max) {
            return Err(InvalidTransaction::TooManyBlobs);
        }
        if tx.blob_hashes.iter().any(|h| h[0] != 0x01) {
            return Err(InvalidTransaction::InvalidBlobVersion);
        }
        let price = blob_gas_price(block.excess_blob_gas.unwrap_or(0), cfg.blob_schedule.update_fraction);
        let max_blob_fee = tx.max_fee_per_blob_gas.unwrap_or_default();
        if max_blob_fee < price {
            return Err(InvalidTransaction::BlobFeeCapTooLow);
        }
        blob_fee = U256::from(GAS_PER_BLOB * count as u64) * price;
    }
    if tx.tx_type == 4 {
        if tx.to.is_none() {
            return Err(InvalidTransaction::CreateNotAllowed);
        }
        if tx.authorization_list.as_ref().is_none_or(|l| l.is_empty()) {
            return Err(InvalidTransaction::EmptyAuthorizationList);
        }
    }
    Ok(Prepared { effective_gas_price, intrinsic, floor, blob_fee })
}

/// Checks against the sender's account: nonce, code (EIP-3607) and balance.
fn validate_sender(journal: &mut Journal<'_>, fork: Fork, tx: &TxEnv) -> Result<(), TxError> {
    let account = journal.load(tx.caller)?;
    let nonce = account.info.nonce;
    if nonce > tx.nonce {
        return Err(InvalidTransaction::NonceTooLow { tx: tx.nonce, state: nonce }.into());
    }
    if nonce < tx.nonce {
        return Err(InvalidTransaction::NonceTooHigh { tx: tx.nonce, state: nonce }.into());
    }
    let code = account.code();
    let is_delegation = fork.is_enabled_in(Fork::Prague) && delegation_target(code).is_some();
    if !code.is_empty() && !is_delegation {
        return Err(InvalidTransaction::SenderNotEoa.into());
    }
    let max_blob_fee = match tx.max_fee_per_blob_gas {
        Some(fee) if tx.tx_type == 3 => {
            U256::from(GAS_PER_BLOB * tx.blob_hashes.len() as u64).checked_mul(fee)
        }
        _ => Some(U256::ZERO),
    };
    let needed = U256::from(tx.gas_limit)
        .checked_mul(tx.gas_price)
        .and_then(|g| g.checked_add(tx.value))
        .and_then(|g| max_blob_fee.and_then(|b| g.checked_add(b)));
    let balance = account.info.balance;
    match needed {
        Some(needed) if needed <= balance => Ok(()),
        needed => {
            Err(InvalidTransaction::InsufficientFunds { balance, needed: needed.unwrap_or(U256::MAX) }.into())
        }
    }
}
