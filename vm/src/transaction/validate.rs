//! Whether a decoded transaction may be included under a fork's rules, and who sent it.
//!
//! The checks here depend only on the transaction and the fork (plus the chain id in
//! [`SignedTransaction::check_chain_id`]); the ones that need state or the block (nonce
//! match, balance, base fee, blob gas price, block blob limit) belong to execution.
//!
//! Rules, by the EIP that introduced them:
//! - [EIP-2](https://eips.ethereum.org/EIPS/eip-2): `s <= n/2` from Homestead;
//! - [EIP-155](https://eips.ethereum.org/EIPS/eip-155): chain ids in `v` from Spurious Dragon;
//! - [EIP-2681](https://eips.ethereum.org/EIPS/eip-2681): nonce below `2^64 - 1`;
//! - [EIP-2718](https://eips.ethereum.org/EIPS/eip-2718) types: 1 from Berlin, 2 from London,
//!   3 from Cancun, 4 from Prague;
//! - [EIP-1559](https://eips.ethereum.org/EIPS/eip-1559): priority fee at most the max fee,
//!   and `gasLimit * maxFee` must fit 256 bits;
//! - [EIP-3860](https://eips.ethereum.org/EIPS/eip-3860): initcode at most 49152 bytes from
//!   Shanghai;
//! - [EIP-4844](https://eips.ethereum.org/EIPS/eip-4844): at least one blob, each hash of
//!   version `0x01`; [EIP-7594](https://eips.ethereum.org/EIPS/eip-7594): at most 6 blobs per
//!   transaction from Osaka;
//! - [EIP-7623](https://eips.ethereum.org/EIPS/eip-7623): gas limit at least the calldata
//!   floor from Prague;
//! - [EIP-7702](https://eips.ethereum.org/EIPS/eip-7702): a non-empty authorization list
//!   whose `yParity` values fit 8 bits;
//! - [EIP-7825](https://eips.ethereum.org/EIPS/eip-7825): gas limit at most `2^24` from Osaka.

use super::{LegacyV, SignedTransaction, Transaction, TxType};
use crate::crypto::{recover_signer, SECP256K1N, SECP256K1N_HALF};
use crate::fork::Fork;
use crate::intrinsic::calldata_floor_gas_of;
use crate::primitives::{Address, U256};

pub use crate::evm::{MAX_BLOBS_PER_TX_OSAKA, MAX_INITCODE_SIZE, TX_GAS_LIMIT_CAP};

/// The version byte of a KZG commitment's versioned hash (EIP-4844).
const VERSIONED_HASH_VERSION_KZG: u8 = 0x01;

/// Why a well-formed transaction is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxValidationError {
    /// The transaction's type is not active in the fork.
    #[error("{tx_type} transactions are not supported before {since} (fork is {fork})")]
    TypeNotSupported {
        /// The transaction's type.
        tx_type: TxType,
        /// The fork whose rules apply.
        fork: Fork,
        /// The fork that introduced the type.
        since: Fork,
    },
    /// A legacy `v` carries a chain id before EIP-155 (Spurious Dragon).
    #[error("EIP-155 chain id in v before Spurious Dragon (fork is {0})")]
    ReplayProtectionNotActive(Fork),
    /// A legacy `v` that is neither 27, 28 nor `chainId * 2 + 35 + yParity` with a 64-bit
    /// chain id.
    #[error("invalid legacy signature v {0}")]
    InvalidV(U256),
    /// A typed transaction's `yParity` is neither 0 nor 1.
    #[error("invalid signature yParity {0}")]
    InvalidYParity(U256),
    /// Signature `r` is zero or not below the curve order.
    #[error("signature r out of range")]
    InvalidR,
    /// Signature `s` is zero or not below the curve order.
    #[error("signature s out of range")]
    InvalidS,
    /// Signature `s` is above n/2 from Homestead (EIP-2).
    #[error("signature s above n/2 (EIP-2)")]
    HighS,
    /// No public key recovers from the signature.
    #[error("sender recovery failed")]
    RecoveryFailed,
    /// The transaction is signed for another chain.
    #[error("chain id {found:?} does not match the chain's {expected}")]
    WrongChainId {
        /// The chain's id.
        expected: u64,
        /// The id the transaction carries; `None` when it carries none (a malformed `v`).
        found: Option<u64>,
    },
    /// The nonce is `2^64 - 1`, which could never be incremented (EIP-2681).
    #[error("nonce at its maximum 2^64-1 (EIP-2681)")]
    NonceMax,
    /// The gas limit is above the EIP-7825 cap.
    #[error("gas limit {gas_limit} above the cap {cap} (EIP-7825)")]
    GasLimitAboveCap {
        /// The transaction's gas limit.
        gas_limit: u64,
        /// The cap.
        cap: u64,
    },
    /// The priority fee is above the max fee (EIP-1559).
    #[error("max priority fee per gas {priority} above max fee per gas {max_fee}")]
    PriorityFeeAboveMaxFee {
        /// `maxPriorityFeePerGas`.
        priority: U256,
        /// `maxFeePerGas`.
        max_fee: U256,
    },
    /// `gasLimit * gasPrice` (or `* maxFeePerGas`) does not fit 256 bits.
    #[error("gas limit times gas price overflows 256 bits")]
    GasCostOverflow,
    /// A creation's initcode is above [`MAX_INITCODE_SIZE`] (EIP-3860).
    #[error("initcode of {size} bytes above the limit {max} (EIP-3860)")]
    InitcodeTooLarge {
        /// The initcode's length.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The gas limit does not cover the intrinsic gas.
    #[error("gas limit {gas_limit} below intrinsic gas {intrinsic}")]
    IntrinsicGasTooLow {
        /// The intrinsic gas.
        intrinsic: u64,
        /// The transaction's gas limit.
        gas_limit: u64,
    },
    /// The gas limit does not cover the EIP-7623 calldata floor.
    #[error("gas limit {gas_limit} below calldata floor {floor} (EIP-7623)")]
    FloorGasTooLow {
        /// The floor.
        floor: u64,
        /// The transaction's gas limit.
        gas_limit: u64,
    },
    /// A blob transaction without blobs (EIP-4844).
    #[error("blob transaction without blob hashes")]
    NoBlobs,
    /// A blob versioned hash whose version byte is not `0x01` (EIP-4844).
    #[error("blob versioned hash {index} has version {version:#04x}, expected 0x01")]
    InvalidBlobHashVersion {
        /// The hash's index.
        index: usize,
        /// Its first byte.
        version: u8,
    },
    /// More blobs than one transaction may carry (EIP-7594).
    #[error("{count} blobs above the per-transaction limit {max} (EIP-7594)")]
    TooManyBlobs {
        /// The transaction's blob count.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A set-code transaction without authorizations (EIP-7702).
    #[error("set-code transaction with an empty authorization list")]
    EmptyAuthorizationList,
    /// An authorization's `yParity` does not fit 8 bits (EIP-7702).
    #[error("authorization {index}: yParity {y_parity} does not fit 8 bits")]
    AuthorizationYParityTooLarge {
        /// The authorization's index.
        index: usize,
        /// Its `yParity`.
        y_parity: U256,
    },
}

impl SignedTransaction {
    /// The recovery bit of the signature, or why `v`/`yParity` is malformed.
    fn odd_y_parity(&self) -> Result<bool, TxValidationError> {
        let v = self.signature.v;
        match &self.tx {
            Transaction::Legacy(_) => match LegacyV::classify(v) {
                LegacyV::Unprotected { odd_y } | LegacyV::Protected { odd_y, .. } => Ok(odd_y),
                LegacyV::Invalid => Err(TxValidationError::InvalidV(v)),
            },
            _ if v == U256::ZERO => Ok(false),
            _ if v == U256::from(1) => Ok(true),
            _ => Err(TxValidationError::InvalidYParity(v)),
        }
    }

    /// Recovers the sender from the signature.
    ///
    /// Only the signature's own well-formedness is checked here; the fork rules on it (EIP-2
    /// low `s`, EIP-155 availability) are in [`validate_for_fork`](Self::validate_for_fork).
    pub fn recover_sender(&self) -> Result<Address, TxValidationError> {
        let odd_y = self.odd_y_parity()?;
        let sig = &self.signature;
        recover_signer(&self.signing_hash(), sig.r, sig.s, odd_y).ok_or(TxValidationError::RecoveryFailed)
    }

    /// Checks that the transaction is signed for chain `chain_id`. Unprotected legacy
    /// transactions are valid on every chain.
    pub fn check_chain_id(&self, chain_id: u64) -> Result<(), TxValidationError> {
        let found = match &self.tx {
            Transaction::Legacy(_) => match LegacyV::classify(self.signature.v) {
                LegacyV::Unprotected { .. } => return Ok(()),
                LegacyV::Protected { chain_id, .. } => Some(chain_id),
                LegacyV::Invalid => None,
            },
            tx => tx.typed_chain_id(),
        };
        if found == Some(chain_id) {
            Ok(())
        } else {
            Err(TxValidationError::WrongChainId { expected: chain_id, found })
        }
    }

    /// Checks every rule of `fork` that depends only on the transaction itself. It does not
    /// check the chain id ([`check_chain_id`](Self::check_chain_id)), nor recover the sender.
    pub fn validate_for_fork(&self, fork: Fork) -> Result<(), TxValidationError> {
        let tx_type = self.tx_type();
        let since = tx_type.introduced_in();
        if !fork.is_enabled_in(since) {
            return Err(TxValidationError::TypeNotSupported { tx_type, fork, since });
        }
        self.validate_signature(fork)?;
        self.validate_gas(fork)?;
        match &self.tx {
            Transaction::Blob(t) => validate_blobs(fork, &t.blob_versioned_hashes),
            Transaction::SetCode(t) => {
                if t.authorization_list.is_empty() {
                    return Err(TxValidationError::EmptyAuthorizationList);
                }
                let max_parity = U256::from(u8::MAX);
                match t.authorization_list.iter().position(|a| a.y_parity > max_parity) {
                    Some(index) => Err(TxValidationError::AuthorizationYParityTooLarge {
                        index,
                        y_parity: t.authorization_list[index].y_parity,
                    }),
                    None => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }

    fn validate_signature(&self, fork: Fork) -> Result<(), TxValidationError> {
        self.odd_y_parity()?;
        if let Transaction::Legacy(_) = self.tx {
            let protected = matches!(LegacyV::classify(self.signature.v), LegacyV::Protected { .. });
            if protected && !fork.is_enabled_in(Fork::SpuriousDragon) {
                return Err(TxValidationError::ReplayProtectionNotActive(fork));
            }
        }
        let sig = &self.signature;
        if sig.r.is_zero() || sig.r >= SECP256K1N {
            return Err(TxValidationError::InvalidR);
        }
        if sig.s.is_zero() || sig.s >= SECP256K1N {
            return Err(TxValidationError::InvalidS);
        }
        if fork.is_enabled_in(Fork::Homestead) && sig.s > SECP256K1N_HALF {
            return Err(TxValidationError::HighS);
        }
        Ok(())
    }

    fn validate_gas(&self, fork: Fork) -> Result<(), TxValidationError> {
        let tx = &self.tx;
        if tx.nonce() == u64::MAX {
            return Err(TxValidationError::NonceMax);
        }
        let gas_limit = tx.gas_limit();
        if fork.is_enabled_in(Fork::Osaka) && gas_limit > TX_GAS_LIMIT_CAP {
            return Err(TxValidationError::GasLimitAboveCap { gas_limit, cap: TX_GAS_LIMIT_CAP });
        }
        let max_fee = tx.max_fee_per_gas();
        if let Some(priority) = tx.max_priority_fee_per_gas() {
            if priority > max_fee {
                return Err(TxValidationError::PriorityFeeAboveMaxFee { priority, max_fee });
            }
        }
        if max_fee.checked_mul(U256::from(gas_limit)).is_none() {
            return Err(TxValidationError::GasCostOverflow);
        }
        let data = tx.data();
        if tx.is_create() && fork.is_enabled_in(Fork::Shanghai) && data.len() > MAX_INITCODE_SIZE {
            return Err(TxValidationError::InitcodeTooLarge { size: data.len(), max: MAX_INITCODE_SIZE });
        }
        let intrinsic = self.intrinsic_gas(fork);
        if gas_limit < intrinsic {
            return Err(TxValidationError::IntrinsicGasTooLow { intrinsic, gas_limit });
        }
        if let Some(floor) = calldata_floor_gas_of(fork, data) {
            if gas_limit < floor {
                return Err(TxValidationError::FloorGasTooLow { floor, gas_limit });
            }
        }
        Ok(())
    }
}

fn validate_blobs(fork: Fork, hashes: &[crate::primitives::B256]) -> Result<(), TxValidationError> {
    if hashes.is_empty() {
        return Err(TxValidationError::NoBlobs);
    }
    if fork.is_enabled_in(Fork::Osaka) && hashes.len() > MAX_BLOBS_PER_TX_OSAKA {
        return Err(TxValidationError::TooManyBlobs { count: hashes.len(), max: MAX_BLOBS_PER_TX_OSAKA });
    }
    match hashes.iter().position(|h| h[0] != VERSIONED_HASH_VERSION_KZG) {
        Some(index) => Err(TxValidationError::InvalidBlobHashVersion { index, version: hashes[index][0] }),
        None => Ok(()),
    }
}
