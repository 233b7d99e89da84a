//! Uniswap V3 state for [`Workload::UniswapSwaps`](super::Workload::UniswapSwaps).
//!
//! Nothing is deployed by transactions: the generator writes the accounts and storage that
//! the contracts' constructors and one liquidity mint would have left, so the block holds
//! nothing but swaps. The block shares one `UniswapV3Factory`, one `SwapRouter` and one
//! `WETH9`; each pool ([`Pool`]) has two ERC-20 tokens of its own, the pool contract (code of
//! its own, since its tokens and address are immutables) and a `SingleSwap` contract its
//! swappers call. `SingleSwap` pulls the input token from the caller with `transferFrom`,
//! approves the router and calls `exactInputSingle` or `exactOutputSingle`; the router calls
//! the pool's `swap`, which calls back into the router to be paid.
//!
//! The router finds a pool by its CREATE2 address from the factory, the sorted token pair,
//! the fee and the pool init code hash baked into the router, and accepts callbacks only from
//! there, so each pool's account sits exactly at that address ([`pool_address`]).
//!
//! Each pool starts at price 1 (tick 0) with one position over ticks -600,000 to 600,000 and
//! [`POOL_LIQUIDITY`], holding [`POOL_RESERVE`] of each token. Swaps of a few thousand base
//! units never cross a tick, but every swap rewrites the pool's price slot, so swaps on one
//! pool always conflict.

use super::{address, contract_account, erc20_balance_slot, sender_tx, Contracts, Rng, SENDER};
use metisvm_state::MemoryState;
use metisvm_vm::{create2_address, keccak256, Address, Bytes, TxEnv, B256, U256};
use std::collections::BTreeMap;

/// The pools' fee, in hundredths of a basis point (0.3%).
pub const POOL_FEE: u32 = 3000;
/// The tick spacing the factory assigns to [`POOL_FEE`].
pub const TICK_SPACING: i32 = 60;
/// Swaps per pool when no transaction conflicts.
pub const SWAPS_PER_POOL: usize = 8;
/// Gas limit of a swap transaction. The costliest swaps, the first of a pool in each
/// direction (its fee growth and `SingleSwap`'s balance and allowance go from zero), spend
/// about 211,000 gas before refunds, and the calls nest five deep, each keeping back 1/64 of
/// what it passes on ([EIP-150](https://eips.ethereum.org/EIPS/eip-150)); 200,000 is too
/// little for them.
pub const SWAP_GAS_LIMIT: u64 = 300_000;
/// Liquidity of each pool's one position, and so of the pool at its starting price.
pub const POOL_LIQUIDITY: u128 = 111_111_000_000_010_412_955_141;
/// Each pool's balance of each of its two tokens (111,111 tokens of 18 decimals).
pub const POOL_RESERVE: u128 = 111_111_000_000_000_000_000_000;
/// Each swapper's balance of each token of its pool, and its allowance to the pool's
/// `SingleSwap` (one token of 18 decimals).
pub const SWAPPER_TOKENS: u128 = 1_000_000_000_000_000_000;
/// Input of a sell, in base units of the token sold.
pub const SELL_AMOUNT: u64 = 2000;
/// Output of a buy, in base units of the token bought.
pub const BUY_AMOUNT: u64 = 1000;
/// The most a buy may pay, in base units of the token paid.
pub const BUY_MAX_IN: u64 = 2000;

/// Storage slot of the ERC-20 allowances mapping (owner => spender => amount).
const ERC20_ALLOWANCES_SLOT: u64 = 1;
/// Storage slot of the ERC-20 total supply.
const ERC20_TOTAL_SUPPLY_SLOT: u64 = 2;
const TICK_LOWER: i32 = -600_000;
const TICK_UPPER: i32 = 600_000;
/// Timestamp of the pools' one observation and of the mint that created their position.
const MINT_TIMESTAMP: u64 = 1;

/// The init code hash baked into the router. Any fixed value works, since the pools are
/// placed at the address it derives rather than created by the factory.
pub const POOL_INIT_CODE_HASH: B256 =
    B256::new(hex("e34f199b19b2b4f47f68442619d555527d244f78a3297ea89325f843f87b8b54"));

// The placeholder values the contracts' immutables were compiled with.
const FACTORY_SELF: [u8; 20] = hex("0b748751e6f8b1a38c9386a19d9f8966b3593a9e");
const POOL_TOKEN0: [u8; 20] = hex("261d8c5e9742e6f7f1076fa1f560894524e19cad");
const POOL_TOKEN1: [u8; 20] = hex("ce3478a9e0167a6bc5716dc39dbbbfac38f27623");
const POOL_FACTORY: [u8; 20] = hex("cba6b9a951749b8735c603e7ffc5151849248772");
const POOL_SELF: [u8; 20] = hex("d495d5e5cab2567777fff988c4fcd71328b17c9d");
const ROUTER_WETH9: [u8; 20] = hex("6509f2a854ba7441039fce3b959d5badd2ffcfcd");
const ROUTER_FACTORY: [u8; 20] = hex("d787a42ee3ac477c46dd6c912e7af795d44453d5");
const ROUTER_INIT_CODE_HASH: [u8; 32] =
    hex("636fcf59d7fdf3a03833dba1c6d936c9d7c6730057c8c4c8e5059feaeab60e04");
const SINGLE_SWAP_ROUTER: [u8; 20] = hex("e7cfcccb38ce07ba9d8d13431afe8cf6172de031");

/// Lowercase hex text as bytes, at compile time.
const fn hex<const N: usize>(text: &str) -> [u8; N] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("not a lowercase hex digit"),
        }
    }
    let text = text.as_bytes();
    assert!(text.len() == 2 * N, "wrong number of hex digits");
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = (nibble(text[2 * i]) << 4) | nibble(text[2 * i + 1]);
        i += 1;
    }
    out
}

// Address families (first byte), apart from those of the other workloads.
const POOL_TOKEN: u8 = 0x31;
const SINGLE_SWAP: u8 = 0x50;
const SHARED: u8 = 0x51;

/// The block's `UniswapV3Factory`.
pub fn factory() -> Address {
    address(SHARED, 0)
}

/// The block's `SwapRouter`.
pub fn router() -> Address {
    address(SHARED, 1)
}

/// The block's `WETH9`.
pub fn weth9() -> Address {
    address(SHARED, 2)
}

/// The factory's owner.
fn factory_owner() -> Address {
    address(SHARED, 3)
}

/// The owner of every pool's position (where a position manager would be).
fn position_owner() -> Address {
    address(SHARED, 4)
}

/// The accounts of one pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool {
    /// The lower-addressed token.
    pub token0: Address,
    /// The higher-addressed token.
    pub token1: Address,
    /// The pool contract, at the address the router derives.
    pub address: Address,
    /// The `SingleSwap` contract its swappers call.
    pub single_swap: Address,
}

/// Pool number `index` of a generated block (pool 0 is the hot one).
pub fn pool(index: usize) -> Pool {
    // Same family, consecutive indices: token0 < token1, as the pool requires.
    let (token0, token1) = (address(POOL_TOKEN, 2 * index), address(POOL_TOKEN, 2 * index + 1));
    Pool {
        token0,
        token1,
        address: pool_address(factory(), token0, token1, POOL_INIT_CODE_HASH),
        single_swap: address(SINGLE_SWAP, index),
    }
}

/// Where `factory` deploys the [`POOL_FEE`] pool of `token0` < `token1`, as the periphery's
/// `PoolAddress.computeAddress` derives it: CREATE2 with salt
/// `keccak(abi.encode(token0, token1, fee))`.
pub fn pool_address(factory: Address, token0: Address, token1: Address, init_code_hash: B256) -> Address {
    let mut key = [0u8; 96];
    key[12..32].copy_from_slice(token0.as_slice());
    key[44..64].copy_from_slice(token1.as_slice());
    key[92..96].copy_from_slice(&POOL_FEE.to_be_bytes());
    create2_address(factory, keccak256(key).0, init_code_hash)
}

/// The four `SingleSwap` entry points, cycled through by the block's transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Swap {
    /// `sellToken0(amountIn)`: exact input of token0.
    SellToken0,
    /// `sellToken1(amountIn)`: exact input of token1.
    SellToken1,
    /// `buyToken0(amountOut, amountInMax)`: exact output of token0.
    BuyToken0,
    /// `buyToken1(amountOut, amountInMax)`: exact output of token1.
    BuyToken1,
}

impl Swap {
    /// Every kind, in the order transactions cycle through them.
    pub const ALL: [Swap; 4] = [Swap::SellToken0, Swap::SellToken1, Swap::BuyToken0, Swap::BuyToken1];

    /// The Solidity signature.
    pub fn signature(self) -> &'static str {
        match self {
            Swap::SellToken0 => "sellToken0(uint256)",
            Swap::SellToken1 => "sellToken1(uint256)",
            Swap::BuyToken0 => "buyToken0(uint256,uint256)",
            Swap::BuyToken1 => "buyToken1(uint256,uint256)",
        }
    }

    /// The ABI function selector.
    pub fn selector(self) -> [u8; 4] {
        match self {
            Swap::SellToken0 => [0xc9, 0x2b, 0x08, 0x91],
            Swap::SellToken1 => [0x6b, 0x05, 0x52, 0x60],
            Swap::BuyToken0 => [0x8d, 0xc3, 0x3f, 0x82],
            Swap::BuyToken1 => [0xb2, 0xdb, 0x18, 0xa2],
        }
    }

    /// The kind of swap `data` calls, if any.
    pub fn of_call(data: &[u8]) -> Option<Swap> {
        Swap::ALL.into_iter().find(|s| data.get(..4) == Some(&s.selector()[..]))
    }

    /// Call data: [`SELL_AMOUNT`] for sells, [`BUY_AMOUNT`] and [`BUY_MAX_IN`] for buys.
    pub fn call_data(self) -> Bytes {
        let args: &[u64] = match self {
            Swap::SellToken0 | Swap::SellToken1 => &[SELL_AMOUNT],
            Swap::BuyToken0 | Swap::BuyToken1 => &[BUY_AMOUNT, BUY_MAX_IN],
        };
        let mut data = self.selector().to_vec();
        for arg in args {
            data.extend_from_slice(&U256::from(*arg).to_be_bytes::<32>());
        }
        Bytes::from(data)
    }
}

/// Deploys the pools and returns one swap per entry of `senders` (indices of the generated
/// senders), in order: the `j`th swaps on pool `j % pools`, or on pool 0 when it conflicts
/// (with probability `conflict_rate`).
pub(super) fn swaps(
    pre: &mut MemoryState,
    contracts: &Contracts,
    senders: &[usize],
    conflict_rate: f64,
    rng: &mut Rng,
) -> Result<Vec<TxEnv>, String> {
    let n = senders.len();
    let pools: Vec<Pool> = (0..n.div_ceil(SWAPS_PER_POOL).max(1)).map(pool).collect();
    let chosen: Vec<usize> =
        (0..n).map(|j| if rng.chance(conflict_rate) { 0 } else { j % pools.len() }).collect();
    let mut swappers = vec![Vec::new(); pools.len()];
    for (&sender, &p) in senders.iter().zip(&chosen) {
        swappers[p].push(address(SENDER, sender));
    }
    let templates = Templates::new(contracts)?;
    deploy_shared(pre, &templates, &pools);
    for (pool, swappers) in pools.iter().zip(&swappers) {
        deploy_pool(pre, &templates, &contracts.erc20, pool, swappers);
    }
    let txs = senders.iter().zip(&chosen).enumerate().map(|(j, (&sender, &p))| {
        let data = Swap::ALL[j % Swap::ALL.len()].call_data();
        sender_tx(sender, pools[p].single_swap, U256::ZERO, data, SWAP_GAS_LIMIT, rng)
    });
    Ok(txs.collect())
}

/// Runtime code whose immutables are placeholders, with where each placeholder sits.
struct Template {
    code: Vec<u8>,
    /// (offset, index of the placeholder) for every occurrence.
    sites: Vec<(usize, usize)>,
}

impl Template {
    /// Finds every placeholder in `code`; each must occur at least once.
    fn new(name: &str, code: &Bytes, placeholders: &[&[u8]]) -> Result<Template, String> {
        let mut sites = Vec::new();
        for (which, placeholder) in placeholders.iter().enumerate() {
            let before = sites.len();
            let hits = code.windows(placeholder.len()).enumerate().filter(|(_, w)| w == placeholder);
            sites.extend(hits.map(|(offset, _)| (offset, which)));
            if sites.len() == before {
                return Err(format!("{name}: immutable placeholder {which} not found in the code"));
            }
        }
        Ok(Template { code: code.to_vec(), sites })
    }

    /// The code with placeholder `i` replaced by `values[i]` (of the same length).
    fn fill(&self, values: &[&[u8]]) -> Bytes {
        let mut code = self.code.clone();
        for &(offset, which) in &self.sites {
            let value = values[which];
            code[offset..offset + value.len()].copy_from_slice(value);
        }
        Bytes::from(code)
    }
}

struct Templates {
    factory: Template,
    pool: Template,
    router: Template,
    single_swap: Template,
    weth9: Bytes,
}

impl Templates {
    fn new(c: &Contracts) -> Result<Templates, String> {
        Ok(Templates {
            factory: Template::new("UniswapV3Factory", &c.uniswap_factory, &[&FACTORY_SELF])?,
            pool: Template::new(
                "UniswapV3Pool",
                &c.uniswap_pool,
                &[&POOL_TOKEN0, &POOL_TOKEN1, &POOL_FACTORY, &POOL_SELF],
            )?,
            router: Template::new(
                "SwapRouter",
                &c.swap_router,
                &[&ROUTER_WETH9, &ROUTER_FACTORY, &ROUTER_INIT_CODE_HASH],
            )?,
            single_swap: Template::new("SingleSwap", &c.single_swap, &[&SINGLE_SWAP_ROUTER])?,
            weth9: c.weth9.clone(),
        })
    }
}

/// An address as a storage word or mapping key.
fn word(address: Address) -> U256 {
    U256::from_be_slice(address.as_slice())
}

/// A signed integer as a storage word or mapping key: sign-extended to 256 bits.
fn int_word(value: i32) -> U256 {
    if value < 0 {
        U256::ZERO.wrapping_sub(U256::from(value.unsigned_abs()))
    } else {
        U256::from(value)
    }
}

/// Where `mapping[key]` lives, for a mapping at `slot`.
fn mapping_slot(slot: U256, key: U256) -> U256 {
    let mut preimage = [0u8; 64];
    preimage[..32].copy_from_slice(&key.to_be_bytes::<32>());
    preimage[32..].copy_from_slice(&slot.to_be_bytes::<32>());
    U256::from_be_bytes(keccak256(preimage).0)
}

/// Where `mapping[keys[0]][keys[1]]...` lives, for a mapping at `slot`.
fn nested_slot(slot: u64, keys: &[U256]) -> U256 {
    keys.iter().fold(U256::from(slot), |slot, key| mapping_slot(slot, *key))
}

/// The storage slot of `owner`'s allowance to `spender` in an OpenZeppelin-style ERC-20.
pub fn erc20_allowance_slot(owner: Address, spender: Address) -> U256 {
    nested_slot(ERC20_ALLOWANCES_SLOT, &[word(owner), word(spender)])
}

/// The factory, the router and WETH9, with the factory's registry of `pools`.
fn deploy_shared(pre: &mut MemoryState, t: &Templates, pools: &[Pool]) {
    // UniswapV3Factory: owner at slot 3, feeAmountTickSpacing at 4, getPool at 5 (both
    // token orders).
    let mut storage = vec![(U256::from(3), word(factory_owner()))];
    for (fee, spacing) in [(500u32, 10i32), (POOL_FEE, TICK_SPACING), (10_000, 200)] {
        storage.push((mapping_slot(U256::from(4), U256::from(fee)), int_word(spacing)));
    }
    for p in pools {
        for (a, b) in [(p.token0, p.token1), (p.token1, p.token0)] {
            storage.push((nested_slot(5, &[word(a), word(b), U256::from(POOL_FEE)]), word(p.address)));
        }
    }
    let code = t.factory.fill(&[factory().as_slice()]);
    pre.insert_account(factory(), contract_account(&code), storage);

    // SwapRouter: `amountInCached` (slot 0) as its constructor leaves it; exact-output swaps
    // set it and put this value back.
    let code = t.router.fill(&[weth9().as_slice(), factory().as_slice(), POOL_INIT_CODE_HASH.as_slice()]);
    pre.insert_account(router(), contract_account(&code), [(U256::ZERO, U256::MAX)]);

    // WETH9: no immutables, and nothing in storage the swaps read.
    pre.insert_account(weth9(), contract_account(&t.weth9), []);
}

/// One pool: its two tokens (funding the pool and `swappers`), the pool and its `SingleSwap`.
fn deploy_pool(pre: &mut MemoryState, t: &Templates, erc20: &Bytes, pool: &Pool, swappers: &[Address]) {
    let supply = U256::from(POOL_RESERVE) + U256::from(SWAPPER_TOKENS) * U256::from(swappers.len());
    for token in [pool.token0, pool.token1] {
        let mut storage = vec![
            (erc20_balance_slot(pool.address), U256::from(POOL_RESERVE)),
            (U256::from(ERC20_TOTAL_SUPPLY_SLOT), supply),
        ];
        for &s in swappers {
            storage.push((erc20_balance_slot(s), U256::from(SWAPPER_TOKENS)));
            storage.push((erc20_allowance_slot(s, pool.single_swap), U256::from(SWAPPER_TOKENS)));
        }
        pre.insert_account(token, contract_account(erc20), storage);
    }
    let code = t.pool.fill(&[
        pool.token0.as_slice(),
        pool.token1.as_slice(),
        factory().as_slice(),
        pool.address.as_slice(),
    ]);
    pre.insert_account(pool.address, contract_account(&code), pool_storage());

    // SingleSwap: token0 at slot 0; token1 and the fee (uint24 at byte 20) packed in slot 1.
    let code = t.single_swap.fill(&[router().as_slice()]);
    let storage =
        [(U256::ZERO, word(pool.token0)), (U256::from(1), word(pool.token1) | (U256::from(POOL_FEE) << 160))];
    pre.insert_account(pool.single_swap, contract_account(&code), storage);
}

/// A pool's storage after initialization at price 1 and one mint of [`POOL_LIQUIDITY`] over
/// [`TICK_LOWER`]..[`TICK_UPPER`] by [`position_owner`].
///
/// Layout: 0 `slot0`, 1-2 `feeGrowthGlobal{0,1}X128`, 3 `protocolFees`, 4 `liquidity`,
/// 5 `ticks` (int24 => 4-word `Tick.Info`), 6 `tickBitmap` (int16 => uint256), 7 `positions`
/// (bytes32 => 4-word `Position.Info`), 8.. `observations`.
fn pool_storage() -> BTreeMap<U256, U256> {
    let one = U256::from(1);
    let liquidity = U256::from(POOL_LIQUIDITY);
    let mut storage = BTreeMap::new();
    // slot0: sqrtPriceX96 = 2^96 (price 1), tick 0, observation index 0, cardinality 1 (bit
    // 200), cardinalityNext 1 (bit 216), no protocol fee, unlocked (bit 240).
    storage.insert(U256::ZERO, (one << 96) | (one << 200) | (one << 216) | (one << 240));
    storage.insert(U256::from(4), liquidity);
    // observations[0]: initialized (bit 248), timestamp in the low 32 bits, cumulatives 0.
    storage.insert(U256::from(8), (one << 248) | U256::from(MINT_TIMESTAMP));

    // positions[keccak(owner, tickLower, tickUpper)]: liquidity, nothing owed.
    let mut key = Vec::with_capacity(26);
    key.extend_from_slice(position_owner().as_slice());
    key.extend_from_slice(&TICK_LOWER.to_be_bytes()[1..]);
    key.extend_from_slice(&TICK_UPPER.to_be_bytes()[1..]);
    storage.insert(mapping_slot(U256::from(7), U256::from_be_bytes(keccak256(key).0)), liquidity);

    for tick in [TICK_LOWER, TICK_UPPER] {
        // Word 0: liquidityGross (low 128 bits) | liquidityNet (int128, high 128 bits),
        // +L where the position starts and -L where it ends.
        let net = if tick == TICK_LOWER { liquidity } else { (one << 128) - liquidity };
        let info = mapping_slot(U256::from(5), int_word(tick));
        storage.insert(info, (net << 128) | liquidity);
        // Word 3: initialized (bit 248). The mint happened above the lower tick, so that
        // tick's outside values start as the pool's: secondsOutside (bit 216) = the mint's
        // timestamp.
        let seconds_outside = if tick == TICK_LOWER { U256::from(MINT_TIMESTAMP) << 216 } else { U256::ZERO };
        storage.insert(info + U256::from(3), (one << 248) | seconds_outside);

        let (bitmap_word, bit) = tick_bitmap_position(tick);
        *storage.entry(mapping_slot(U256::from(6), int_word(bitmap_word))).or_default() |= one << bit;
    }
    storage
}

/// Where an initialized `tick` is flagged in the tick bitmap: (word, bit), from the tick
/// compressed by the spacing (arithmetic shift, so negative ticks get negative words).
fn tick_bitmap_position(tick: i32) -> (i32, usize) {
    let compressed = tick / TICK_SPACING;
    (compressed >> 8, (compressed & 0xff) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_are_the_signatures_hashes() {
        for swap in Swap::ALL {
            assert_eq!(swap.selector(), keccak256(swap.signature())[..4], "{swap:?}");
            assert_eq!(Swap::of_call(&swap.call_data()), Some(swap));
        }
        assert_eq!(Swap::SellToken0.call_data().len(), 36);
        assert_eq!(Swap::BuyToken1.call_data().len(), 68);
    }

    #[test]
    fn signed_keys_are_sign_extended() {
        assert_eq!(int_word(-1), U256::MAX);
        assert_eq!(int_word(-40), U256::MAX - U256::from(39));
        assert_eq!(int_word(39), U256::from(39));
    }

    #[test]
    fn position_ticks_land_in_the_expected_bitmap_words() {
        assert_eq!(tick_bitmap_position(TICK_LOWER), (-40, 240));
        assert_eq!(tick_bitmap_position(TICK_UPPER), (39, 16));
    }

    #[test]
    fn pool_tokens_are_ordered_and_pools_distinct() {
        let (a, b) = (pool(0), pool(1));
        assert!(a.token0 < a.token1 && b.token0 < b.token1);
        assert_ne!(a.address, b.address);
        assert_eq!(a.address, pool_address(factory(), a.token0, a.token1, POOL_INIT_CODE_HASH));
    }

    #[test]
    fn placeholders_are_patched_everywhere() {
        let code = Bytes::from([&[0x73][..], &POOL_SELF, &[0x73], &POOL_SELF, &[0x00]].concat());
        let template = Template::new("test", &code, &[&POOL_SELF]).unwrap();
        let filled = template.fill(&[&[0xaa; 20]]);
        assert_eq!(filled.len(), code.len());
        assert_eq!(&filled[1..21], &[0xaa; 20]);
        assert_eq!(&filled[22..42], &[0xaa; 20]);
        assert!(Template::new("test", &Bytes::from(vec![0u8; 40]), &[&POOL_SELF]).is_err());
    }
}
