//! Parallel execution equals sequential execution: synthetic workloads at several conflict
//! rates (and the Uniswap workload's swaps doing what a swap does), random blocks with random
//! conflict patterns, fully conflicting blocks, blocks on a worker pool, the sequential
//! fallback, and store errors, each under several thread counts.

mod common;

use common::{assert_parallel_equals_sequential, contracts_dir, post_state, STRATEGIES};
use metisvm_mpef::synthetic::uniswap::{self, Swap};
use metisvm_mpef::synthetic::{self, erc20_balance_slot, generate, Contracts, Params, Rng, Workload};
use metisvm_mpef::{execute_block, BlockInput, Config, MpefError, Strategy, WorkerPool};
use metisvm_state::MemoryState;
use metisvm_vm::{
    create_address, keccak256, AccessListItem, AccountChange, AccountInfo, Address, BlockEnv, Bytes, CfgEnv,
    ExecStatus, Fork, StateError, StateReader, TxEnv, B256, U256,
};

const THREADS: [usize; 4] = [1, 2, 4, 8];

fn contracts() -> Contracts {
    Contracts::load(&contracts_dir()).expect("compiled contracts (set METISVM_BENCHMARKS)")
}

/// The block `params` describes, and its execution under `config`.
fn generate_and_run(
    params: &Params,
    config: &Config,
) -> (synthetic::SyntheticBlock, metisvm_mpef::BlockOutput) {
    let block = generate(params, Some(&contracts())).unwrap();
    let input = BlockInput { env: &block.env, cfg: &block.cfg, txs: &block.txs };
    let out = execute_block(&block.pre, &input, config).unwrap();
    (block, out)
}

#[test]
fn synthetic_workloads_match_sequential_at_every_conflict_rate() {
    let contracts = contracts();
    for workload in Workload::ALL {
        for conflict_rate in [0.0, 0.3, 1.0] {
            let params = Params { workload, txs: 120, conflict_rate, seed: 7 };
            let block = generate(&params, Some(&contracts)).unwrap();
            let label = format!("{} at conflict rate {conflict_rate}", workload.name());
            let out = assert_parallel_equals_sequential(
                &block.pre, &block.env, &block.cfg, &block.txs, &THREADS, &label,
            );
            assert!(out.rejected.is_none(), "{label}: {:?}", out.rejected);
            assert!(
                out.txs.iter().all(|t| t.status == ExecStatus::Success),
                "{label}: every transfer succeeds"
            );
        }
    }
}

#[test]
fn mixed_blocks_hold_transfers_token_transfers_and_swaps_that_all_succeed() {
    let params = Params { workload: Workload::Mixed, txs: 90, conflict_rate: 0.2, seed: 3 };
    let (block, out) = generate_and_run(&params, &Config::sequential());
    assert!(out.rejected.is_none(), "{:?}", out.rejected);
    let (mut raw, mut tokens, mut swaps) = (0, 0, 0);
    for (i, (tx, result)) in block.txs.iter().zip(&out.txs).enumerate() {
        assert_eq!(result.status, ExecStatus::Success, "tx {i}: {:?}", result.output);
        assert_eq!(tx.caller, synthetic::address(0x10, i), "tx {i} comes from sender {i}");
        if tx.data.is_empty() {
            raw += 1;
            assert_eq!(result.gas_used, 21_000);
        } else if Swap::of_call(&tx.data).is_some() {
            swaps += 1;
            assert!(result.gas_used > 100_000, "tx {i}: a real swap");
        } else {
            tokens += 1;
            assert_eq!(result.logs.len(), 1, "tx {i}: one Transfer event");
        }
    }
    // A third of each, give or take the draw.
    for (kind, count) in [("raw", raw), ("token", tokens), ("swap", swaps)] {
        assert!((15..=45).contains(&count), "{count} {kind} transactions of 90");
    }
}

#[test]
fn erc20_transfers_move_balances_in_the_mapping_the_generator_fills() {
    let params = Params { workload: Workload::Erc20Transfers, txs: 10, conflict_rate: 0.0, seed: 1 };
    let (block, out) = generate_and_run(&params, &Config::parallel(2));
    // Each transfer emits a Transfer event and writes the recipient's balance slot.
    for (tx, result) in block.txs.iter().zip(&out.txs) {
        assert_eq!(result.logs.len(), 1, "one Transfer event");
        let to = Address::from_slice(&tx.data[16..36]);
        let amount = U256::from_be_slice(&tx.data[36..68]);
        let Some(AccountChange::Updated { storage, .. }) = out.changes.get(&tx.to.unwrap()) else {
            panic!("token changed")
        };
        assert!(storage.get(&erc20_balance_slot(to)).is_some_and(|v| *v >= amount));
        assert_eq!(
            storage.get(&erc20_balance_slot(tx.caller)),
            Some(&(U256::from(1_000_000_000u64) - amount))
        );
    }
}

#[test]
fn uniswap_swaps_succeed_and_move_tokens_between_swappers_and_pools() {
    let params = Params { workload: Workload::UniswapSwaps, txs: 64, conflict_rate: 0.25, seed: 5 };
    let (block, out) = generate_and_run(&params, &Config::sequential());
    assert!(out.rejected.is_none(), "{:?}", out.rejected);
    let post = post_state(&block.pre, &out);
    let balance = |state: &MemoryState, token: Address, holder: Address| -> i128 {
        state.storage(token, erc20_balance_slot(holder)).unwrap().to::<i128>()
    };
    let delta = |token, holder| balance(&post, token, holder) - balance(&block.pre, token, holder);
    let pools: Vec<uniswap::Pool> =
        (0..params.txs.div_ceil(uniswap::SWAPS_PER_POOL)).map(uniswap::pool).collect();
    // Per pool: swaps, and what its swappers' balances of token0 and token1 moved in all.
    let mut moved = vec![(0usize, 0i128, 0i128); pools.len()];
    // At price 1 and this much liquidity: a sell of 2000 pays the 0.3% fee (6) and gets 1993
    // for the 1994 left (the pool rounds against the swapper); a buy of 1000 pays 1001 for
    // it (rounded up) plus a fee of 4.
    let (sell, sell_out) = (i128::from(uniswap::SELL_AMOUNT), 1993);
    let (buy, buy_in) = (i128::from(uniswap::BUY_AMOUNT), 1005);
    let swap_topic = keccak256("Swap(address,address,int256,int256,uint160,uint128,int24)");
    for (i, (tx, result)) in block.txs.iter().zip(&out.txs).enumerate() {
        assert_eq!(result.status, ExecStatus::Success, "swap {i}: {:?}", result.output);
        assert!(result.gas_used > 100_000, "swap {i}: a real swap, not an early return");
        let p = pools.iter().position(|p| Some(p.single_swap) == tx.to).expect("a pool's SingleSwap");
        let (d0, d1) = (delta(pools[p].token0, tx.caller), delta(pools[p].token1, tx.caller));
        let expected = match Swap::of_call(&tx.data).unwrap() {
            Swap::SellToken0 => (-sell, sell_out),
            Swap::SellToken1 => (sell_out, -sell),
            Swap::BuyToken0 => (buy, -buy_in),
            Swap::BuyToken1 => (-buy_in, buy),
        };
        assert_eq!((d0, d1), expected, "swap {i}: the swapper's token0 and token1");
        let swap_events: Vec<&Address> = result
            .logs
            .iter()
            .filter(|l| l.topics.first() == Some(&swap_topic))
            .map(|l| &l.address)
            .collect();
        assert_eq!(swap_events, [&pools[p].address], "swap {i}: one Swap event, from its pool");
        moved[p].0 += 1;
        moved[p].1 += d0;
        moved[p].2 += d1;
    }
    // Conflicting swaps went to the hot pool 0; the others were spread over all pools.
    assert!(moved[0].0 > uniswap::SWAPS_PER_POOL, "pool 0 is hot: {:?}", moved[0]);
    assert!(moved[1..].iter().all(|m| m.0 <= uniswap::SWAPS_PER_POOL));
    for (pool, (swaps, d0, d1)) in pools.iter().zip(moved) {
        // Tokens are conserved: what the swappers gained the pool lost, and the other way
        // round; the SingleSwap contract keeps nothing.
        assert_eq!(delta(pool.token0, pool.address), -d0, "{pool:?}");
        assert_eq!(delta(pool.token1, pool.address), -d1, "{pool:?}");
        for token in [pool.token0, pool.token1] {
            assert_eq!(balance(&post, token, pool.single_swap), 0);
        }
        // The price moved where anyone swapped; no swap crossed the position's ticks.
        let sqrt_price =
            post.storage(pool.address, U256::ZERO).unwrap() & ((U256::from(1) << 160) - U256::from(1));
        assert_eq!(sqrt_price != U256::from(1) << 96, swaps > 0, "{pool:?}: {swaps} swaps");
        assert_eq!(post.storage(pool.address, U256::from(4)).unwrap(), U256::from(uniswap::POOL_LIQUIDITY));
    }
}

/// Small contracts whose reads and writes make conflicts (no PUSH0, so every fork runs them).
struct Codes {
    counter: Bytes,
    coinbase_reader: Bytes,
    forwarder: Bytes,
    destructor: Bytes,
    balance_reader: Bytes,
    initcode: Bytes,
}

fn codes(sink: Address, watched: Address) -> Codes {
    let counter = vec![0x60, 0, 0x54, 0x60, 1, 0x01, 0x60, 0, 0x55, 0x00];
    let mut forwarder = vec![0x60, 0, 0x60, 0, 0x60, 0, 0x60, 0, 0x34, 0x73];
    forwarder.extend_from_slice(sink.as_slice());
    forwarder.extend_from_slice(&[0x5a, 0xf1, 0x50, 0x00]);
    let mut destructor = vec![0x73];
    destructor.extend_from_slice(sink.as_slice());
    destructor.push(0xff);
    let mut balance_reader = vec![0x73];
    balance_reader.extend_from_slice(watched.as_slice());
    balance_reader.extend_from_slice(&[0x31, 0x60, 1, 0x55, 0x00]);
    // Constructor: slot 1 := 1, then return the counter as runtime code.
    let len = counter.len() as u8;
    let mut initcode =
        vec![0x60, 1, 0x60, 1, 0x55, 0x60, len, 0x60, 17, 0x60, 0, 0x39, 0x60, len, 0x60, 0, 0xf3];
    initcode.extend_from_slice(&counter);
    Codes {
        counter: counter.into(),
        coinbase_reader: vec![0x41, 0x31, 0x60, 0, 0x55, 0x00].into(),
        forwarder: forwarder.into(),
        destructor: destructor.into(),
        balance_reader: balance_reader.into(),
        initcode: initcode.into(),
    }
}

fn account(balance: u64, code: Option<&Bytes>) -> AccountInfo {
    AccountInfo {
        balance: U256::from(balance),
        nonce: u64::from(code.is_some()),
        code: Some(code.cloned().unwrap_or_default()),
        ..AccountInfo::default()
    }
}

/// A random block over a handful of senders and contracts, so transactions collide often
/// and in every way: shared senders, shared recipients, the coinbase as sender or read by
/// code, value forwarded by contracts, self-destructs, creations, zero tips, access lists,
/// and now and then an invalid transaction.
fn random_block(rng: &mut Rng, fork: Fork) -> (MemoryState, BlockEnv, CfgEnv, Vec<TxEnv>) {
    random_block_sized(rng, fork, None, 0.02)
}

/// A random block of `len` transactions (5 to 34 when `None`), each with a wrong nonce (which
/// ends the block) at the rate `bad_nonce`.
fn random_block_sized(
    rng: &mut Rng,
    fork: Fork,
    len: Option<usize>,
    bad_nonce: f64,
) -> (MemoryState, BlockEnv, CfgEnv, Vec<TxEnv>) {
    let senders: Vec<Address> = (0..5).map(|i| synthetic::address(0x11, i)).collect();
    let others: Vec<Address> = (0..3).map(|i| synthetic::address(0x22, i)).collect();
    let contracts: Vec<Address> = (0..5).map(|i| synthetic::address(0x33, i)).collect();
    let coinbase = if rng.chance(0.2) { senders[0] } else { synthetic::COINBASE };
    let c = codes(others[0], senders[1]);
    let mut pre = MemoryState::new();
    for s in &senders {
        pre.insert_account(*s, account(1_000_000_000_000, None), []);
    }
    pre.insert_account(others[1], account(5, None), []);
    let deployed = [&c.counter, &c.coinbase_reader, &c.forwarder, &c.destructor, &c.balance_reader];
    for (address, code) in contracts.iter().zip(deployed) {
        pre.insert_account(*address, account(0, Some(code)), [(U256::ZERO, U256::from(3))]);
    }
    let mut targets: Vec<Address> = senders.iter().chain(&others).chain(&contracts).copied().collect();
    targets.push(coinbase);
    targets.push(Address::with_last_byte(4)); // the identity precompile
    targets.push(synthetic::address(0x44, 0)); // never exists
    let typed = fork.is_enabled_in(Fork::London);
    let mut nonces = vec![0u64; senders.len()];
    let mut txs = Vec::new();
    let len = len.unwrap_or_else(|| 5 + rng.below(30));
    for _ in 0..len {
        let s = rng.below(senders.len());
        let mut nonce = nonces[s];
        if rng.chance(bad_nonce) {
            nonce += 1; // invalid: the block stops here
        }
        nonces[s] += 1;
        let create = rng.chance(0.1);
        let to = (!create).then(|| targets[rng.below(targets.len())]);
        let value = if rng.chance(0.3) { U256::ZERO } else { U256::from(rng.below(5_000)) };
        let tip = if rng.chance(0.15) { 0 } else { 1 + rng.below(3) as u64 };
        let mut tx = TxEnv {
            tx_type: if typed { 2 } else { 0 },
            caller: senders[s],
            gas_limit: 120_000,
            gas_price: U256::from(10u64),
            max_priority_fee_per_gas: typed.then(|| U256::from(tip)),
            to,
            value,
            data: if create { c.initcode.clone() } else { Bytes::new() },
            nonce,
            chain_id: Some(1),
            ..TxEnv::default()
        };
        if !typed && tip == 0 {
            tx.gas_price = U256::ZERO;
        }
        if typed && rng.chance(0.1) {
            let address = if rng.chance(0.5) { coinbase } else { contracts[0] };
            tx.access_list = vec![AccessListItem { address, storage_keys: vec![B256::ZERO] }];
        }
        txs.push(tx);
    }
    let env = BlockEnv {
        coinbase,
        base_fee: U256::from(if typed { 7u64 } else { 0 }),
        excess_blob_gas: fork.is_enabled_in(Fork::Cancun).then_some(0),
        ..BlockEnv::default()
    };
    let mut cfg = CfgEnv::new(fork);
    cfg.chain_id = 1;
    (pre, env, cfg, txs)
}

#[test]
fn random_blocks_match_sequential_under_several_thread_counts() {
    let mut rng = Rng::new(0x5eed);
    for round in 0..150 {
        let fork = [Fork::Cancun, Fork::Prague, Fork::London, Fork::Byzantium, Fork::Homestead][round % 5];
        let (pre, env, cfg, txs) = random_block(&mut rng, fork);
        let label = format!("random block {round} ({fork:?}, {} txs)", txs.len());
        assert_parallel_equals_sequential(&pre, &env, &cfg, &txs, &THREADS, &label);
    }
}

#[test]
fn long_random_blocks_match_sequential_in_long_runs() {
    // 150 to 249 transactions over five senders: optimistic runs of up to 31 transactions on
    // one worker and 15 on two, so whole runs commit at once, reads of a run's own writes are
    // trusted, and the front executes transactions again in the middle of runs.
    let mut rng = Rng::new(0x10ff);
    for round in 0..12 {
        let fork = [Fork::Cancun, Fork::Prague, Fork::London, Fork::Byzantium][round % 4];
        let len = 150 + rng.below(100);
        let (pre, env, cfg, txs) = random_block_sized(&mut rng, fork, Some(len), 0.002);
        let label = format!("long random block {round} ({fork:?}, {} txs)", txs.len());
        assert_parallel_equals_sequential(&pre, &env, &cfg, &txs, &[1, 2, 4], &label);
    }
}

#[test]
fn a_block_where_every_transaction_conflicts_finishes() {
    // Every transaction increments one counter, from a different sender.
    let counter = Bytes::from(vec![0x60, 0, 0x54, 0x60, 1, 0x01, 0x60, 0, 0x55, 0x00]);
    let target = synthetic::address(0x33, 0);
    let mut pre = MemoryState::new();
    pre.insert_account(target, account(0, Some(&counter)), []);
    let txs: Vec<TxEnv> = (0..200)
        .map(|i| {
            let caller = synthetic::address(0x11, i);
            pre.insert_account(caller, account(1_000_000_000_000, None), []);
            TxEnv {
                caller,
                gas_limit: 60_000,
                gas_price: U256::from(1u64),
                to: Some(target),
                ..TxEnv::default()
            }
        })
        .collect();
    let (env, cfg) = (BlockEnv::default(), CfgEnv::new(Fork::Cancun));
    let out = assert_parallel_equals_sequential(&pre, &env, &cfg, &txs, &[2, 8, 16], "all conflicting");
    let Some(AccountChange::Updated { storage, .. }) = out.changes.get(&target) else {
        panic!("counter changed")
    };
    assert_eq!(storage.get(&U256::ZERO), Some(&U256::from(200u64)));
}

#[test]
fn a_contract_created_where_the_block_already_wrote_falls_back_to_sequential() {
    // Transaction 0 funds the address transaction 1 then deploys to (EIP-7610's check must
    // see the account as the block left it).
    let (funder, deployer) = (synthetic::address(0x11, 0), synthetic::address(0x11, 1));
    let target = create_address(deployer, 0);
    let mut pre = MemoryState::new();
    pre.insert_account(funder, account(1_000_000_000_000, None), []);
    pre.insert_account(deployer, account(1_000_000_000_000, None), []);
    let c = codes(funder, funder);
    let txs = vec![
        TxEnv {
            caller: funder,
            gas_limit: 21_000,
            gas_price: U256::from(1u64),
            to: Some(target),
            value: U256::from(9u64),
            ..TxEnv::default()
        },
        TxEnv {
            caller: deployer,
            gas_limit: 200_000,
            gas_price: U256::from(1u64),
            data: c.initcode,
            ..TxEnv::default()
        },
    ];
    let (env, cfg) = (BlockEnv::default(), CfgEnv::new(Fork::Cancun));
    assert_parallel_equals_sequential(&pre, &env, &cfg, &txs, &THREADS, "fund then deploy");
    let input = BlockInput { env: &env, cfg: &cfg, txs: &txs };
    let out = execute_block(&pre, &input, &Config::parallel(2)).unwrap();
    assert!(out.stats.fallback.is_some(), "the run reports its fallback: {:?}", out.stats);
    assert_eq!(out.txs[1].created_address, Some(target));
    // Optimistic runs need no fallback: the commit front answers the storage check from
    // the committed state, exactly as the sequential path does.
    let out = execute_block(&pre, &input, &Config::parallel(2).with_strategy(Strategy::Runs)).unwrap();
    assert_eq!(out.stats.fallback, None);
    assert_eq!(out.txs[1].created_address, Some(target));
}

/// A store that fails every read of one account: with an error, or (a bug in a store)
/// with a panic.
struct FailingStore {
    inner: MemoryState,
    broken: Address,
    panics: bool,
}

impl StateReader for FailingStore {
    fn account(&self, address: Address) -> Result<Option<AccountInfo>, StateError> {
        if address == self.broken {
            assert!(!self.panics, "the store panicked on {address}");
            return Err(StateError("disk on fire".to_string()));
        }
        self.inner.account(address)
    }
    fn code_by_hash(&self, code_hash: B256) -> Result<Bytes, StateError> {
        self.inner.code_by_hash(code_hash)
    }
    fn storage(&self, address: Address, slot: U256) -> Result<U256, StateError> {
        self.inner.storage(address, slot)
    }
    fn block_hash(&self, number: u64) -> Result<B256, StateError> {
        self.inner.block_hash(number)
    }
    fn has_storage(&self, address: Address) -> Result<bool, StateError> {
        self.inner.has_storage(address)
    }
}

#[test]
fn a_store_error_is_returned_not_panicked() {
    let params = Params { workload: Workload::RawTransfers, txs: 50, conflict_rate: 0.0, seed: 3 };
    let block = generate(&params, None).unwrap();
    let broken = block.txs[37].to.unwrap();
    let store = FailingStore { inner: block.pre.clone(), broken, panics: false };
    let input = BlockInput { env: &block.env, cfg: &block.cfg, txs: &block.txs };
    for (threads, strategy) in THREADS.into_iter().flat_map(|n| STRATEGIES.map(|s| (n, s))) {
        match execute_block(&store, &input, &Config::parallel(threads).with_strategy(strategy)) {
            Err(MpefError::State { tx, error }) => {
                assert_eq!(tx, 37);
                assert_eq!(error.0, "disk on fire");
            }
            other => panic!("{strategy}, {threads} threads: expected the store's error, got {other:?}"),
        }
    }
    assert!(matches!(
        execute_block(&store, &input, &Config::sequential()),
        Err(MpefError::State { tx: 37, .. })
    ));
}

#[test]
fn a_panicking_worker_stops_the_run_with_an_error() {
    let params = Params { workload: Workload::RawTransfers, txs: 200, conflict_rate: 0.0, seed: 4 };
    let block = generate(&params, None).unwrap();
    let broken = block.txs[111].to.unwrap();
    let store = FailingStore { inner: block.pre.clone(), broken, panics: true };
    let input = BlockInput { env: &block.env, cfg: &block.cfg, txs: &block.txs };
    let pool = std::sync::Arc::new(WorkerPool::new(4).unwrap());
    for threads in THREADS {
        // The other workers must not wait for the panicked worker's transaction forever,
        // on threads of its own or on a pool (which stays usable afterwards).
        for strategy in STRATEGIES {
            let plain = Config::parallel(threads).with_strategy(strategy);
            for config in [plain.clone(), plain.with_pool(pool.clone())] {
                match execute_block(&store, &input, &config) {
                    Err(MpefError::WorkerPanicked(message)) => {
                        assert!(
                            message.contains("the store panicked"),
                            "{strategy}, {threads} threads: {message}"
                        )
                    }
                    other => panic!("{strategy}, {threads} threads: expected a worker panic, got {other:?}"),
                }
            }
        }
    }
    assert_eq!(pool.runs(), 6, "1, 2 and 4 workers ran on the pool, under each strategy");
    let healthy = execute_block(&block.pre, &input, &Config::parallel(4).with_pool(pool.clone())).unwrap();
    assert_eq!(healthy.txs, execute_block(&block.pre, &input, &Config::sequential()).unwrap().txs);
}

#[test]
fn blocks_on_a_worker_pool_match_sequential_and_a_busy_pool_is_not_shared() {
    let contracts = contracts();
    let pool = std::sync::Arc::new(WorkerPool::new(2).unwrap());
    let blocks: Vec<_> = [Workload::Mixed, Workload::UniswapSwaps, Workload::DependentChain]
        .into_iter()
        .map(|workload| {
            generate(&Params { workload, txs: 80, conflict_rate: 0.2, seed: 11 }, Some(&contracts)).unwrap()
        })
        .collect();
    let run = |block: &synthetic::SyntheticBlock, config: &Config| {
        let input = BlockInput { env: &block.env, cfg: &block.cfg, txs: &block.txs };
        execute_block(&block.pre, &input, config).unwrap()
    };
    // One pool for several blocks in a row, as a node keeps its workers.
    for (round, strategy) in
        [Strategy::BlockStm, Strategy::Runs, Strategy::BlockStm, Strategy::Runs].into_iter().enumerate()
    {
        for (i, block) in blocks.iter().enumerate() {
            let expected = run(block, &Config::sequential());
            let pooled = run(block, &Config::parallel(2).with_strategy(strategy).with_pool(pool.clone()));
            assert_eq!(pooled.txs, expected.txs, "block {i}, round {round} ({strategy}): results");
            assert_eq!(
                post_state(&block.pre, &pooled).state_root(),
                post_state(&block.pre, &expected).state_root(),
                "block {i}, round {round} ({strategy}): post-state root"
            );
        }
    }
    assert_eq!(pool.runs(), 4 * blocks.len());
    // Blocks submitted from several threads at once: one gets the pool, the others start
    // their own workers; none waits on another's (which could deadlock), and all are right.
    let before = pool.runs();
    std::thread::scope(|scope| {
        for block in &blocks {
            let pool = pool.clone();
            scope.spawn(move || {
                let expected = run(block, &Config::sequential());
                let pooled = run(block, &Config::parallel(2).with_pool(pool));
                assert_eq!(pooled.txs, expected.txs);
            });
        }
    });
    assert!((before + 1..=before + blocks.len()).contains(&pool.runs()));
    // More workers than the pool has threads: the block starts its own.
    let wide = run(&blocks[0], &Config::parallel(4).with_pool(pool.clone()));
    assert_eq!(wide.txs, run(&blocks[0], &Config::sequential()).txs);
    assert!(pool.runs() <= before + blocks.len());
}

#[test]
fn adaptive_mode_runs_blocks_that_cannot_gain_sequentially_with_the_same_results() {
    let params = Params { workload: Workload::RawTransfers, txs: 200, conflict_rate: 0.0, seed: 2 };
    let block = generate(&params, None).unwrap();
    // The same transfers, all from the first sender, one nonce after another.
    let mut chain = block.txs.clone();
    for (i, tx) in chain.iter_mut().enumerate() {
        tx.caller = block.txs[0].caller;
        tx.nonce = block.txs[0].nonce + i as u64;
    }
    let cases: [(&[metisvm_vm::TxEnv], Option<&str>); 4] = [
        (&block.txs, None),
        (&block.txs[..1], Some("one transaction")),
        (&block.txs[..20], Some("too little gas")),
        (&chain, Some("one sender's chain")),
    ];
    let pool = std::sync::Arc::new(WorkerPool::new(2).unwrap());
    for (txs, expected_choice) in cases {
        let input = BlockInput { env: &block.env, cfg: &block.cfg, txs };
        let sequential = execute_block(&block.pre, &input, &Config::sequential()).unwrap();
        for config in [Config::adaptive(2), Config::adaptive(2).with_pool(pool.clone())] {
            let out = execute_block(&block.pre, &input, &config).unwrap();
            assert_eq!(out.stats.sequential, expected_choice, "{} transactions", txs.len());
            assert_eq!(out.stats.threads, if expected_choice.is_some() { 1 } else { 2 });
            assert_eq!(out.txs, sequential.txs);
            assert_eq!(out.rejected, sequential.rejected);
            assert_eq!(
                post_state(&block.pre, &out).state_root(),
                post_state(&block.pre, &sequential).state_root()
            );
        }
        assert!(
            sequential.rejected.is_none() && sequential.txs.iter().all(|t| t.status == ExecStatus::Success)
        );
    }
    // One worker never gains.
    let input = BlockInput { env: &block.env, cfg: &block.cfg, txs: &block.txs };
    let out = execute_block(&block.pre, &input, &Config::adaptive(1)).unwrap();
    assert_eq!(out.stats.sequential, Some("one worker"));
}
