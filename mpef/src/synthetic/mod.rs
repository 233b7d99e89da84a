//! Synthetic blocks for benchmarks and equivalence tests, with a tunable share of conflicting
//! transactions, in the way the parallel-EVM literature measures "gigagas" blocks.
//!
//! Workloads:
//!
//! - [`Workload::RawTransfers`]: every transaction sends ether from its own sender. A
//!   conflicting one pays the sender of the next transaction, which must then see the credit.
//! - [`Workload::Erc20Transfers`]: `transfer(to, amount)` calls on a few ERC-20 tokens (the
//!   compiled `ERC20Token` of `../shared/benchmarks/contracts`). A conflicting one pays one hot
//!   holder of its token, so all conflicting transfers of a token update one balance slot.
//! - [`Workload::DependentChain`]: ERC-20 transfers where each transaction pays the next
//!   one's sender: every transaction reads the slot the one before wrote. No parallelism to
//!   find; it measures what speculation costs.
//! - [`Workload::Mixed`]: raw transfers, ERC-20 transfers and Uniswap V3 swaps, a third of
//!   each, interleaved at random; each kind conflicts as its own workload does.
//! - [`Workload::UniswapSwaps`]: Uniswap V3 swaps through the periphery's `SwapRouter`, on
//!   pools laid out in storage as if deployed and given liquidity (see [`uniswap`]). Pools
//!   hold [`uniswap::SWAPS_PER_POOL`] swaps each, spread round-robin through the block so that
//!   the swaps of one pool lie far apart. Swaps on one pool always conflict, since each moves
//!   its price; a conflicting transaction swaps on the hot pool 0 instead of its own, so at
//!   conflict rate 1 the block is one serial chain on one pool.
//!
//! Every transaction comes from its own sender, and every generated state pays fees (base fee
//! plus a tip), so the coinbase is credited by every transaction, as on a real chain.

use metisvm_state::MemoryState;
use metisvm_vm::{keccak256, AccountInfo, Address, BlockEnv, Bytes, CfgEnv, Fork, TxEnv, KECCAK_EMPTY, U256};
use std::path::{Path, PathBuf};

pub mod uniswap;

/// A small deterministic generator (SplitMix64), so a seed always gives the same block.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
}

/// Which kind of block to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// Plain ether transfers.
    RawTransfers,
    /// ERC-20 `transfer` calls.
    Erc20Transfers,
    /// ERC-20 transfers, each depending on the one before.
    DependentChain,
    /// Raw transfers, ERC-20 transfers and Uniswap V3 swaps mixed.
    Mixed,
    /// Uniswap V3 swaps, in clusters of a few swaps per pool.
    UniswapSwaps,
}

impl Workload {
    /// Every workload, in report order.
    pub const ALL: [Workload; 5] = [
        Workload::RawTransfers,
        Workload::Erc20Transfers,
        Workload::DependentChain,
        Workload::Mixed,
        Workload::UniswapSwaps,
    ];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Workload::RawTransfers => "raw-transfers",
            Workload::Erc20Transfers => "erc20-transfers",
            Workload::DependentChain => "dependent-chain",
            Workload::Mixed => "mixed",
            Workload::UniswapSwaps => "uniswap-swaps",
        }
    }

    /// The workload named `name`.
    pub fn from_name(name: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|w| w.name() == name)
    }

    /// Whether its blocks need compiled contracts.
    pub fn needs_contracts(self) -> bool {
        self != Workload::RawTransfers
    }
}

/// Compiled contracts read from the shared benchmarks folder: runtime code, with the
/// immutables of the Uniswap contracts still the placeholder values they were compiled with
/// (the generator patches them per deployment, see [`uniswap`]).
#[derive(Debug, Clone)]
pub struct Contracts {
    /// `ERC20Token` (OpenZeppelin-style; balances in the mapping at slot 0, allowances at
    /// slot 1, total supply at slot 2).
    pub erc20: Bytes,
    /// `UniswapV3Pool`.
    pub uniswap_pool: Bytes,
    /// `UniswapV3Factory`.
    pub uniswap_factory: Bytes,
    /// The periphery's `SwapRouter`.
    pub swap_router: Bytes,
    /// `SingleSwap`: one pool's two tokens and fee in storage, swaps through the router.
    pub single_swap: Bytes,
    /// `WETH9`.
    pub weth9: Bytes,
}

/// A contract file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{}: {reason}", path.display())]
pub struct ContractError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub reason: String,
}

impl Contracts {
    /// Reads the contracts from `dir` (`../shared/benchmarks/contracts`).
    pub fn load(dir: &Path) -> Result<Contracts, ContractError> {
        Ok(Contracts {
            erc20: read_hex(&dir.join("ERC20Token.hex"))?,
            uniswap_pool: read_hex(&dir.join("UniswapV3Pool.hex"))?,
            uniswap_factory: read_hex(&dir.join("UniswapV3Factory.hex"))?,
            swap_router: read_hex(&dir.join("SwapRouter.hex"))?,
            single_swap: read_hex(&dir.join("SingleSwap.hex"))?,
            weth9: read_hex(&dir.join("WETH9.hex"))?,
        })
    }
}

fn read_hex(path: &Path) -> Result<Bytes, ContractError> {
    let error = |reason: String| ContractError { path: path.to_path_buf(), reason };
    let text = std::fs::read_to_string(path).map_err(|e| error(format!("cannot read: {e}")))?;
    let text = text.trim();
    let text = text.strip_prefix("0x").unwrap_or(text);
    if text.is_empty() || text.len() % 2 != 0 {
        return Err(error("not an even number of hex digits".to_string()));
    }
    let mut bytes = Vec::with_capacity(text.len() / 2);
    for (i, pair) in text.as_bytes().chunks(2).enumerate() {
        let digits = std::str::from_utf8(pair).map_err(|_| error(format!("byte {i}: not hex")))?;
        let byte =
            u8::from_str_radix(digits, 16).map_err(|_| error(format!("byte {i}: {digits:?} is not hex")))?;
        bytes.push(byte);
    }
    Ok(Bytes::from(bytes))
}

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// The kind of block.
    pub workload: Workload,
    /// Number of transactions.
    pub txs: usize,
    /// Share of transactions (0 to 1) that conflict with others, as each workload defines.
    pub conflict_rate: f64,
    /// Seed of the generator.
    pub seed: u64,
}

/// A generated block with its pre-state.
#[derive(Debug, Clone)]
pub struct SyntheticBlock {
    /// The pre-block state: funded senders, deployed tokens with balances.
    pub pre: MemoryState,
    /// Block environment (Cancun, a base fee, a coinbase).
    pub env: BlockEnv,
    /// Rules.
    pub cfg: CfgEnv,
    /// The transactions.
    pub txs: Vec<TxEnv>,
}

/// Number of ERC-20 tokens in generated states.
pub const TOKENS: usize = 4;
/// Storage slot of the ERC-20 balances mapping.
pub const ERC20_BALANCES_SLOT: u64 = 0;
const BASE_FEE: u64 = 7;
const MAX_FEE: u64 = 10;

/// An address from a tag and an index (distinct tags give distinct address families).
pub fn address(tag: u8, index: usize) -> Address {
    let mut bytes = [0u8; 20];
    bytes[0] = tag;
    bytes[12..20].copy_from_slice(&(index as u64).to_be_bytes());
    Address::new(bytes)
}

/// The storage slot of `holder`'s balance in an OpenZeppelin-style ERC-20.
pub fn erc20_balance_slot(holder: Address) -> U256 {
    let mut preimage = [0u8; 64];
    preimage[12..32].copy_from_slice(holder.as_slice());
    preimage[32..].copy_from_slice(&U256::from(ERC20_BALANCES_SLOT).to_be_bytes::<32>());
    U256::from_be_bytes(keccak256(preimage).0)
}

/// ABI call data of `transfer(to, amount)`.
pub fn erc20_transfer_data(to: Address, amount: u64) -> Bytes {
    let mut data = Vec::with_capacity(68);
    data.extend_from_slice(&[0xa9, 0x05, 0x9c, 0xbb]);
    data.extend_from_slice(&[0u8; 12]);
    data.extend_from_slice(to.as_slice());
    data.extend_from_slice(&U256::from(amount).to_be_bytes::<32>());
    Bytes::from(data)
}

const SENDER: u8 = 0x10;
const RECIPIENT: u8 = 0x20;
const TOKEN: u8 = 0x30;
const HOT_HOLDER: u8 = 0x40;
/// The coinbase of generated blocks.
pub const COINBASE: Address = Address::new([0xc0; 20]);

/// Generates the block `params` describes. `contracts` is needed by every workload but
/// [`Workload::RawTransfers`].
pub fn generate(params: &Params, contracts: Option<&Contracts>) -> Result<SyntheticBlock, String> {
    if params.workload.needs_contracts() && contracts.is_none() {
        return Err(format!("workload {} needs the compiled contracts", params.workload.name()));
    }
    let mut rng = Rng::new(params.seed);
    let mut pre = MemoryState::new();
    let ether = U256::from(10u64).pow(U256::from(18));
    for i in 0..params.txs {
        let info = AccountInfo { balance: ether * U256::from(100u64), ..AccountInfo::default() };
        pre.insert_account(address(SENDER, i), info, []);
    }
    // Each transaction's kind; the swaps are generated together, since their pools are
    // deployed for exactly the senders that use them.
    let kinds: Vec<Workload> = (0..params.txs)
        .map(|_| match params.workload {
            Workload::Mixed => {
                [Workload::RawTransfers, Workload::Erc20Transfers, Workload::UniswapSwaps][rng.below(3)]
            }
            w => w,
        })
        .collect();
    let swappers: Vec<usize> = (0..params.txs).filter(|&i| kinds[i] == Workload::UniswapSwaps).collect();
    let mut swaps = match (swappers.is_empty(), contracts) {
        (false, Some(c)) => uniswap::swaps(&mut pre, c, &swappers, params.conflict_rate, &mut rng)?,
        _ => Vec::new(),
    }
    .into_iter();
    let mut txs = transfers(&mut pre, contracts, params, &kinds, &mut rng);
    for (i, kind) in kinds.iter().enumerate() {
        if *kind == Workload::UniswapSwaps {
            txs[i] = swaps.next().expect("one swap per swapper");
        }
    }
    let env = BlockEnv {
        number: 20_000_000,
        coinbase: COINBASE,
        timestamp: 1_710_338_135,
        gas_limit: u64::MAX / 2,
        base_fee: U256::from(BASE_FEE),
        excess_blob_gas: Some(0),
        ..BlockEnv::default()
    };
    let mut cfg = CfgEnv::new(Fork::Cancun);
    cfg.chain_id = 1;
    Ok(SyntheticBlock { pre, env, cfg, txs })
}

/// The transfer workloads: deploys the tokens and returns a transaction per entry of
/// `kinds`, a placeholder where the kind is a swap (generated by [`uniswap::swaps`]).
fn transfers(
    pre: &mut MemoryState,
    contracts: Option<&Contracts>,
    params: &Params,
    kinds: &[Workload],
    rng: &mut Rng,
) -> Vec<TxEnv> {
    let n = params.txs;
    let tokens_used = kinds.iter().any(|k| matches!(k, Workload::Erc20Transfers | Workload::DependentChain));
    if let (Some(c), true) = (contracts, tokens_used) {
        for t in 0..TOKENS {
            // Every sender holds every token; so do the hot holders.
            let holders =
                (0..n).map(|i| address(SENDER, i)).chain((0..TOKENS).map(|h| address(HOT_HOLDER, h)));
            let storage: Vec<(U256, U256)> =
                holders.map(|h| (erc20_balance_slot(h), U256::from(1_000_000_000u64))).collect();
            pre.insert_account(address(TOKEN, t), contract_account(&c.erc20), storage);
        }
    }
    let mut txs = Vec::with_capacity(n);
    for (i, &kind) in kinds.iter().enumerate() {
        if kind == Workload::UniswapSwaps {
            txs.push(TxEnv::default());
            continue;
        }
        let conflicting = rng.chance(params.conflict_rate);
        let next_sender = address(SENDER, (i + 1) % n.max(1));
        let (to, value, data, gas_limit) = match kind {
            Workload::RawTransfers => {
                let to = if conflicting { next_sender } else { address(RECIPIENT, i) };
                (to, U256::from(1_000 + rng.below(1_000)), Bytes::new(), 21_000)
            }
            _ => {
                let token = rng.below(TOKENS);
                let to = match kind {
                    Workload::DependentChain => next_sender,
                    _ if conflicting => address(HOT_HOLDER, token),
                    _ => address(RECIPIENT, i),
                };
                let amount = 1 + rng.below(1_000) as u64;
                (address(TOKEN, token), U256::ZERO, erc20_transfer_data(to, amount), 100_000)
            }
        };
        txs.push(sender_tx(i, to, value, data, gas_limit, rng));
    }
    txs
}

/// A deployed contract's account: `code`, nonce 1 (EIP-161), no balance.
fn contract_account(code: &Bytes) -> AccountInfo {
    AccountInfo { nonce: 1, code: Some(code.clone()), code_hash: KECCAK_EMPTY, ..AccountInfo::default() }
}

/// The first transaction of sender `i`: an EIP-1559 call paying the base fee and a small
/// random tip.
fn sender_tx(i: usize, to: Address, value: U256, data: Bytes, gas_limit: u64, rng: &mut Rng) -> TxEnv {
    TxEnv {
        tx_type: 2,
        caller: address(SENDER, i),
        gas_limit,
        gas_price: U256::from(MAX_FEE),
        max_priority_fee_per_gas: Some(U256::from(1 + rng.below(2))),
        to: Some(to),
        value,
        data,
        nonce: 0,
        chain_id: Some(1),
        ..TxEnv::default()
    }
}
