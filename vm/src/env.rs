//! The environment a transaction runs in: block header fields, chain configuration and the
//! transaction itself, already decoded and with its sender known.

use crate::fork::Fork;
use crate::primitives::{Address, Bytes, B256, U256};

/// Block header fields visible to the EVM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockEnv {
    /// Block number (NUMBER).
    pub number: u64,
    /// Fee recipient (COINBASE).
    pub coinbase: Address,
    /// Unix timestamp (TIMESTAMP).
    pub timestamp: u64,
    /// Block gas limit (GASLIMIT).
    pub gas_limit: u64,
    /// EIP-1559 base fee (BASEFEE); zero before London.
    pub base_fee: U256,
    /// Proof-of-work difficulty (DIFFICULTY before Paris).
    pub difficulty: U256,
    /// EIP-4399 randomness (PREVRANDAO from Paris on).
    pub prevrandao: B256,
    /// EIP-4844 excess blob gas; `None` before Cancun.
    pub excess_blob_gas: Option<u64>,
    /// EIP-4788 parent beacon block root, for the beacon-roots system call.
    pub parent_beacon_block_root: Option<B256>,
}

impl Default for BlockEnv {
    fn default() -> Self {
        BlockEnv {
            number: 1,
            coinbase: Address::ZERO,
            timestamp: 1,
            gas_limit: 30_000_000,
            base_fee: U256::ZERO,
            difficulty: U256::ZERO,
            prevrandao: B256::ZERO,
            excess_blob_gas: Some(0),
            parent_beacon_block_root: None,
        }
    }
}

/// EIP-4844/EIP-7691 blob parameters of a fork.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobSchedule {
    /// Target blobs per block.
    pub target: u64,
    /// Maximum blobs per block.
    pub max: u64,
    /// Denominator of the blob base fee exponent.
    pub update_fraction: u64,
}

impl BlobSchedule {
    /// The mainnet schedule of `fork`.
    pub const fn for_fork(fork: Fork) -> BlobSchedule {
        if fork.is_enabled_in(Fork::Prague) {
            BlobSchedule { target: 6, max: 9, update_fraction: 5_007_716 }
        } else {
            BlobSchedule { target: 3, max: 6, update_fraction: 3_338_477 }
        }
    }
}

/// Chain-level configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CfgEnv {
    /// Chain id (CHAINID, EIP-155 signatures).
    pub chain_id: u64,
    /// The fork whose rules apply.
    pub fork: Fork,
    /// Blob parameters.
    pub blob_schedule: BlobSchedule,
}

impl CfgEnv {
    /// Mainnet chain id with the mainnet blob schedule of `fork`.
    pub fn new(fork: Fork) -> CfgEnv {
        CfgEnv { chain_id: 1, fork, blob_schedule: BlobSchedule::for_fork(fork) }
    }
}

/// One entry of an EIP-2930 access list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccessListItem {
    /// The account to warm.
    pub address: Address,
    /// The storage keys of that account to warm.
    pub storage_keys: Vec<B256>,
}

/// One signed EIP-7702 authorization tuple.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// Chain the authorization is valid on; zero means any.
    pub chain_id: U256,
    /// The account whose code the authority delegates to.
    pub address: Address,
    /// The authority's nonce at the time of signing.
    pub nonce: u64,
    /// Signature y parity (0 or 1 when valid; kept wide to reject bad values).
    pub y_parity: U256,
    /// Signature r.
    pub r: U256,
    /// Signature s.
    pub s: U256,
}

/// A transaction ready to execute: decoded, with its sender known.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TxEnv {
    /// EIP-2718 type: 0 legacy, 1 access list, 2 dynamic fee, 3 blob, 4 set code.
    pub tx_type: u8,
    /// The sender.
    pub caller: Address,
    /// Gas limit.
    pub gas_limit: u64,
    /// `gasPrice` for types 0 and 1, `maxFeePerGas` otherwise.
    pub gas_price: U256,
    /// `maxPriorityFeePerGas` for types 2 and up.
    pub max_priority_fee_per_gas: Option<U256>,
    /// Recipient; `None` creates a contract.
    pub to: Option<Address>,
    /// Value transferred.
    pub value: U256,
    /// Calldata or initcode.
    pub data: Bytes,
    /// Sender nonce.
    pub nonce: u64,
    /// EIP-155 chain id, when the transaction carries one.
    pub chain_id: Option<u64>,
    /// EIP-2930 access list.
    pub access_list: Vec<AccessListItem>,
    /// EIP-4844 blob versioned hashes.
    pub blob_hashes: Vec<B256>,
    /// EIP-4844 `maxFeePerBlobGas`.
    pub max_fee_per_blob_gas: Option<U256>,
    /// EIP-7702 authorization list; `Some` marks a set-code transaction.
    pub authorization_list: Option<Vec<Authorization>>,
}

/// Gas per blob ([EIP-4844](https://eips.ethereum.org/EIPS/eip-4844)).
pub const GAS_PER_BLOB: u64 = 1 << 17;

/// The blob base fee for `excess_blob_gas`: `fake_exponential(1, excess, fraction)`.
pub fn blob_gas_price(excess_blob_gas: u64, update_fraction: u64) -> U256 {
    fake_exponential(U256::from(1), U256::from(excess_blob_gas), U256::from(update_fraction))
}

/// Integer approximation of `factor * e^(numerator / denominator)` from EIP-4844.
pub fn fake_exponential(factor: U256, numerator: U256, denominator: U256) -> U256 {
    if denominator.is_zero() {
        return U256::ZERO;
    }
    let mut i = U256::from(1);
    let mut output = U256::ZERO;
    let mut accum = factor.saturating_mul(denominator);
    while !accum.is_zero() {
        output = output.saturating_add(accum);
        if output == U256::MAX {
            // Saturated: further terms cannot change the result, and with absurd inputs
            // (a fixture's excess blob gas of 2^64 - 1) they would take practically forever.
            break;
        }
        accum = accum.saturating_mul(numerator) / denominator.saturating_mul(i);
        i += U256::from(1);
    }
    output / denominator
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_gas_price_matches_known_points() {
        // EIP-4844: the price is 1 wei at zero excess and grows by e^(excess / fraction).
        assert_eq!(blob_gas_price(0, 3_338_477), U256::from(1));
        assert_eq!(blob_gas_price(3_338_477, 3_338_477), U256::from(2)); // floor(e)
        assert_eq!(blob_gas_price(10 * 3_338_477, 3_338_477), U256::from(22_026));
        // floor(e^10)
    }

    #[test]
    fn absurd_excess_saturates_instead_of_looping() {
        // Without the saturation stop this would iterate about 2^64 times.
        assert_eq!(blob_gas_price(u64::MAX, 1), U256::MAX);
    }
}
