//! Why a transaction is rejected before execution. Each rule has its own variant so that
//! callers (the state-test runner, a block builder, a mempool) can tell them apart.

use crate::primitives::U256;
use crate::state::StateError;

/// A transaction that cannot be included: the state does not change at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidTransaction {
    /// The transaction type is not active in this fork.
    #[error("transaction type {0} is not supported by this fork")]
    TypeNotSupported(u8),
    /// The transaction's chain id is not this chain's.
    #[error("chain id mismatch")]
    ChainIdMismatch,
    /// The sender's nonce is higher than the transaction's.
    #[error("nonce too low: transaction {tx}, account {state}")]
    NonceTooLow {
        /// The transaction's nonce.
        tx: u64,
        /// The sender's nonce.
        state: u64,
    },
    /// The sender's nonce is lower than the transaction's.
    #[error("nonce too high: transaction {tx}, account {state}")]
    NonceTooHigh {
        /// The transaction's nonce.
        tx: u64,
        /// The sender's nonce.
        state: u64,
    },
    /// The nonce is 2^64-1 (EIP-2681).
    #[error("nonce has reached its maximum")]
    NonceOverflow,
    /// The sender cannot pay for gas, blobs and value.
    #[error("insufficient funds: balance {balance}, needed {needed}")]
    InsufficientFunds {
        /// The sender's balance.
        balance: U256,
        /// What the transaction may cost at most.
        needed: U256,
    },
    /// The gas limit is below the intrinsic gas.
    #[error("intrinsic gas too low: limit {limit}, intrinsic {intrinsic}")]
    IntrinsicGasTooLow {
        /// The transaction's gas limit.
        limit: u64,
        /// The intrinsic gas.
        intrinsic: u64,
    },
    /// The gas limit is below the EIP-7623 calldata floor.
    #[error("gas limit {limit} below the calldata floor {floor}")]
    FloorGasTooLow {
        /// The transaction's gas limit.
        limit: u64,
        /// The floor.
        floor: u64,
    },
    /// The gas limit is above the block's.
    #[error("gas limit exceeds the block gas limit")]
    GasLimitAboveBlock,
    /// The gas limit is above the EIP-7825 cap of 2^24.
    #[error("gas limit exceeds the transaction gas cap")]
    GasLimitAboveCap,
    /// `maxPriorityFeePerGas` exceeds `maxFeePerGas`.
    #[error("priority fee greater than max fee")]
    PriorityFeeAboveMaxFee,
    /// The fee cap is below the block's base fee.
    #[error("fee cap below the base fee")]
    FeeCapBelowBaseFee,
    /// The sender has code (EIP-3607), other than an EIP-7702 delegation.
    #[error("sender is not an externally owned account")]
    SenderNotEoa,
    /// Creation initcode over 49152 bytes (EIP-3860).
    #[error("initcode too large")]
    InitcodeTooLarge,
    /// A blob transaction without blobs.
    #[error("blob transaction without blobs")]
    NoBlobs,
    /// More blobs than allowed per transaction or block.
    #[error("too many blobs")]
    TooManyBlobs,
    /// A blob versioned hash not starting with the KZG version byte.
    #[error("invalid blob versioned hash")]
    InvalidBlobVersion,
    /// `maxFeePerBlobGas` below the blob base fee.
    #[error("blob fee cap below the blob base fee")]
    BlobFeeCapTooLow,
    /// Blob and set-code transactions cannot create contracts.
    #[error("this transaction type cannot create a contract")]
    CreateNotAllowed,
    /// A set-code transaction with an empty authorization list.
    #[error("empty authorization list")]
    EmptyAuthorizationList,
}

/// Why a transaction could not be executed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    /// The transaction is invalid; nothing changed.
    #[error("invalid transaction: {0}")]
    Invalid(#[from] InvalidTransaction),
    /// The store failed.
    #[error(transparent)]
    State(#[from] StateError),
}
