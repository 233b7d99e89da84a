//! Signed transactions: the five wire formats, their hashes, sender recovery and the
//! fork-dependent validity rules.
//!
//! - type 0, legacy: `rlp([nonce, gasPrice, gasLimit, to, value, data, v, r, s])`, signed
//!   either without a chain id (`v` 27 or 28) or with one,
//!   [EIP-155](https://eips.ethereum.org/EIPS/eip-155) (`v = chainId * 2 + 35 + yParity`);
//! - type 1, [EIP-2930](https://eips.ethereum.org/EIPS/eip-2930) access lists;
//! - type 2, [EIP-1559](https://eips.ethereum.org/EIPS/eip-1559) dynamic fees;
//! - type 3, [EIP-4844](https://eips.ethereum.org/EIPS/eip-4844) blobs (the canonical form,
//!   without the network sidecar);
//! - type 4, [EIP-7702](https://eips.ethereum.org/EIPS/eip-7702) set-code authorizations.
//!
//! Typed transactions are [EIP-2718](https://eips.ethereum.org/EIPS/eip-2718) envelopes:
//! the type byte followed by an RLP list. Decoding lives in [`codec`], the validity rules and
//! sender recovery in [`validate`].
//!
//! A decoded transaction is structurally sound (canonical RLP, every field in range of its
//! type), but not yet valid: whether it is valid depends on the fork and the chain id, which
//! [`SignedTransaction::validate_for_fork`] and [`SignedTransaction::check_chain_id`] check.

pub mod codec;
pub mod validate;

pub use codec::TxDecodeError;
pub use validate::{TxValidationError, MAX_BLOBS_PER_TX_OSAKA, MAX_INITCODE_SIZE, TX_GAS_LIMIT_CAP};

use crate::env::{AccessListItem, Authorization, TxEnv};
use crate::fork::Fork;
use crate::primitives::{keccak256, Address, Bytes, B256, U256};
use core::fmt;

/// The [EIP-2718](https://eips.ethereum.org/EIPS/eip-2718) type of a transaction.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TxType {
    /// Type 0: the original format, with an optional EIP-155 chain id in `v`.
    Legacy = 0,
    /// Type 1: EIP-2930 access lists.
    AccessList = 1,
    /// Type 2: EIP-1559 dynamic fees.
    DynamicFee = 2,
    /// Type 3: EIP-4844 blob-carrying transactions.
    Blob = 3,
    /// Type 4: EIP-7702 set-code transactions.
    SetCode = 4,
}

impl TxType {
    /// The type with EIP-2718 number `byte`, if MetisVM knows it.
    pub const fn from_u8(byte: u8) -> Option<TxType> {
        match byte {
            0 => Some(TxType::Legacy),
            1 => Some(TxType::AccessList),
            2 => Some(TxType::DynamicFee),
            3 => Some(TxType::Blob),
            4 => Some(TxType::SetCode),
            _ => None,
        }
    }

    /// The fork that introduced the type.
    pub const fn introduced_in(self) -> Fork {
        match self {
            TxType::Legacy => Fork::Frontier,
            TxType::AccessList => Fork::Berlin,
            TxType::DynamicFee => Fork::London,
            TxType::Blob => Fork::Cancun,
            TxType::SetCode => Fork::Prague,
        }
    }
}

impl fmt::Display for TxType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let eip = match self {
            TxType::Legacy => "legacy",
            TxType::AccessList => "EIP-2930",
            TxType::DynamicFee => "EIP-1559",
            TxType::Blob => "EIP-4844",
            TxType::SetCode => "EIP-7702",
        };
        write!(f, "type {} ({eip})", *self as u8)
    }
}

/// A type 0 transaction's unsigned fields. Its chain id, if any, is part of the signature's
/// `v` (EIP-155).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LegacyTx {
    /// Sender nonce.
    pub nonce: u64,
    /// Price per unit of gas.
    pub gas_price: U256,
    /// Gas limit.
    pub gas_limit: u64,
    /// Recipient; `None` creates a contract.
    pub to: Option<Address>,
    /// Value transferred.
    pub value: U256,
    /// Calldata or initcode.
    pub data: Bytes,
}

/// A type 1 (EIP-2930) transaction's unsigned fields.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccessListTx {
    /// Chain id the signature commits to.
    pub chain_id: u64,
    /// Sender nonce.
    pub nonce: u64,
    /// Price per unit of gas.
    pub gas_price: U256,
    /// Gas limit.
    pub gas_limit: u64,
    /// Recipient; `None` creates a contract.
    pub to: Option<Address>,
    /// Value transferred.
    pub value: U256,
    /// Calldata or initcode.
    pub data: Bytes,
    /// Accounts and slots to warm before execution.
    pub access_list: Vec<AccessListItem>,
}

/// A type 2 (EIP-1559) transaction's unsigned fields.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DynamicFeeTx {
    /// Chain id the signature commits to.
    pub chain_id: u64,
    /// Sender nonce.
    pub nonce: u64,
    /// Most the sender pays the block producer per unit of gas.
    pub max_priority_fee_per_gas: U256,
    /// Most the sender pays per unit of gas, base fee included.
    pub max_fee_per_gas: U256,
    /// Gas limit.
    pub gas_limit: u64,
    /// Recipient; `None` creates a contract.
    pub to: Option<Address>,
    /// Value transferred.
    pub value: U256,
    /// Calldata or initcode.
    pub data: Bytes,
    /// Accounts and slots to warm before execution.
    pub access_list: Vec<AccessListItem>,
}

/// A type 3 (EIP-4844) transaction's unsigned fields. Blob transactions cannot create
/// contracts, so `to` is required.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BlobTx {
    /// Chain id the signature commits to.
    pub chain_id: u64,
    /// Sender nonce.
    pub nonce: u64,
    /// Most the sender pays the block producer per unit of gas.
    pub max_priority_fee_per_gas: U256,
    /// Most the sender pays per unit of gas, base fee included.
    pub max_fee_per_gas: U256,
    /// Gas limit.
    pub gas_limit: u64,
    /// Recipient.
    pub to: Address,
    /// Value transferred.
    pub value: U256,
    /// Calldata.
    pub data: Bytes,
    /// Accounts and slots to warm before execution.
    pub access_list: Vec<AccessListItem>,
    /// Most the sender pays per unit of blob gas.
    pub max_fee_per_blob_gas: U256,
    /// Versioned hashes of the blobs' KZG commitments.
    pub blob_versioned_hashes: Vec<B256>,
}

/// A type 4 (EIP-7702) transaction's unsigned fields. Set-code transactions cannot create
/// contracts, so `to` is required.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SetCodeTx {
    /// Chain id the signature commits to.
    pub chain_id: u64,
    /// Sender nonce.
    pub nonce: u64,
    /// Most the sender pays the block producer per unit of gas.
    pub max_priority_fee_per_gas: U256,
    /// Most the sender pays per unit of gas, base fee included.
    pub max_fee_per_gas: U256,
    /// Gas limit.
    pub gas_limit: u64,
    /// Recipient.
    pub to: Address,
    /// Value transferred.
    pub value: U256,
    /// Calldata.
    pub data: Bytes,
    /// Accounts and slots to warm before execution.
    pub access_list: Vec<AccessListItem>,
    /// Signed delegations, applied before execution.
    pub authorization_list: Vec<Authorization>,
}

/// The unsigned part of a transaction, one variant per type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transaction {
    /// Type 0.
    Legacy(LegacyTx),
    /// Type 1.
    AccessList(AccessListTx),
    /// Type 2.
    DynamicFee(DynamicFeeTx),
    /// Type 3.
    Blob(BlobTx),
    /// Type 4.
    SetCode(SetCodeTx),
}

/// Reads a field that every transaction type has under the same name: expands to a match
/// binding the inner struct of each variant.
macro_rules! common_field {
    ($tx:expr, $field:ident) => {
        match $tx {
            Transaction::Legacy(t) => &t.$field,
            Transaction::AccessList(t) => &t.$field,
            Transaction::DynamicFee(t) => &t.$field,
            Transaction::Blob(t) => &t.$field,
            Transaction::SetCode(t) => &t.$field,
        }
    };
}

impl Transaction {
    /// The EIP-2718 type.
    pub const fn tx_type(&self) -> TxType {
        match self {
            Transaction::Legacy(_) => TxType::Legacy,
            Transaction::AccessList(_) => TxType::AccessList,
            Transaction::DynamicFee(_) => TxType::DynamicFee,
            Transaction::Blob(_) => TxType::Blob,
            Transaction::SetCode(_) => TxType::SetCode,
        }
    }

    /// The chain id field of a typed transaction; `None` for legacy ones, whose chain id is
    /// carried in `v` (see [`SignedTransaction::chain_id`]).
    pub const fn typed_chain_id(&self) -> Option<u64> {
        match self {
            Transaction::Legacy(_) => None,
            Transaction::AccessList(t) => Some(t.chain_id),
            Transaction::DynamicFee(t) => Some(t.chain_id),
            Transaction::Blob(t) => Some(t.chain_id),
            Transaction::SetCode(t) => Some(t.chain_id),
        }
    }

    /// Sender nonce.
    pub fn nonce(&self) -> u64 {
        *common_field!(self, nonce)
    }

    /// Gas limit.
    pub fn gas_limit(&self) -> u64 {
        *common_field!(self, gas_limit)
    }

    /// Value transferred.
    pub fn value(&self) -> U256 {
        *common_field!(self, value)
    }

    /// Calldata or initcode.
    pub fn data(&self) -> &Bytes {
        common_field!(self, data)
    }

    /// Recipient; `None` for a contract creation.
    pub const fn to(&self) -> Option<Address> {
        match self {
            Transaction::Legacy(t) => t.to,
            Transaction::AccessList(t) => t.to,
            Transaction::DynamicFee(t) => t.to,
            Transaction::Blob(t) => Some(t.to),
            Transaction::SetCode(t) => Some(t.to),
        }
    }

    /// Whether the transaction creates a contract.
    pub const fn is_create(&self) -> bool {
        self.to().is_none()
    }

    /// `gasPrice` for types 0 and 1, `maxFeePerGas` for the others.
    pub const fn max_fee_per_gas(&self) -> U256 {
        match self {
            Transaction::Legacy(t) => t.gas_price,
            Transaction::AccessList(t) => t.gas_price,
            Transaction::DynamicFee(t) => t.max_fee_per_gas,
            Transaction::Blob(t) => t.max_fee_per_gas,
            Transaction::SetCode(t) => t.max_fee_per_gas,
        }
    }

    /// `maxPriorityFeePerGas`, for types 2 and up.
    pub const fn max_priority_fee_per_gas(&self) -> Option<U256> {
        match self {
            Transaction::Legacy(_) | Transaction::AccessList(_) => None,
            Transaction::DynamicFee(t) => Some(t.max_priority_fee_per_gas),
            Transaction::Blob(t) => Some(t.max_priority_fee_per_gas),
            Transaction::SetCode(t) => Some(t.max_priority_fee_per_gas),
        }
    }

    /// The access list; empty for legacy transactions.
    pub fn access_list(&self) -> &[AccessListItem] {
        match self {
            Transaction::Legacy(_) => &[],
            Transaction::AccessList(t) => &t.access_list,
            Transaction::DynamicFee(t) => &t.access_list,
            Transaction::Blob(t) => &t.access_list,
            Transaction::SetCode(t) => &t.access_list,
        }
    }

    /// The blob versioned hashes; empty unless this is a blob transaction.
    pub fn blob_versioned_hashes(&self) -> &[B256] {
        match self {
            Transaction::Blob(t) => &t.blob_versioned_hashes,
            _ => &[],
        }
    }

    /// The authorization list; `None` unless this is a set-code transaction.
    pub fn authorization_list(&self) -> Option<&[Authorization]> {
        match self {
            Transaction::SetCode(t) => Some(&t.authorization_list),
            _ => None,
        }
    }
}

/// The signature values as they appear on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Signature {
    /// Legacy transactions: the raw `v` (27 or 28, or `chainId * 2 + 35 + yParity` under
    /// EIP-155). Typed transactions: `yParity`, which must be 0 or 1. Kept 256 bits wide so
    /// that out-of-range values decode and are rejected by validation with a clear reason.
    pub v: U256,
    /// Signature r.
    pub r: U256,
    /// Signature s.
    pub s: U256,
}

/// What a legacy `v` says about replay protection and the recovery bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LegacyV {
    /// 27 or 28: signed without a chain id.
    Unprotected {
        /// Whether the R point's y is odd.
        odd_y: bool,
    },
    /// `chainId * 2 + 35 + yParity` (EIP-155).
    Protected {
        /// The chain id signed over.
        chain_id: u64,
        /// Whether the R point's y is odd.
        odd_y: bool,
    },
    /// Anything else, including chain ids that do not fit 64 bits.
    Invalid,
}

impl LegacyV {
    pub(crate) fn classify(v: U256) -> LegacyV {
        let Ok(v) = u128::try_from(v) else { return LegacyV::Invalid };
        match v {
            27 | 28 => LegacyV::Unprotected { odd_y: v == 28 },
            35.. => match u64::try_from((v - 35) / 2) {
                Ok(chain_id) => LegacyV::Protected { chain_id, odd_y: (v - 35) % 2 == 1 },
                Err(_) => LegacyV::Invalid,
            },
            _ => LegacyV::Invalid,
        }
    }
}

/// A decoded transaction with its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTransaction {
    /// The signed fields.
    pub tx: Transaction,
    /// The signature over [`SignedTransaction::signing_hash`].
    pub signature: Signature,
}

impl SignedTransaction {
    /// The EIP-2718 type.
    pub const fn tx_type(&self) -> TxType {
        self.tx.tx_type()
    }

    /// The chain id the signature commits to: the field of a typed transaction, the one
    /// encoded in an EIP-155 `v`, or `None` for an unprotected (or malformed) legacy `v`.
    pub fn chain_id(&self) -> Option<u64> {
        match &self.tx {
            Transaction::Legacy(_) => match LegacyV::classify(self.signature.v) {
                LegacyV::Protected { chain_id, .. } => Some(chain_id),
                LegacyV::Unprotected { .. } | LegacyV::Invalid => None,
            },
            tx => tx.typed_chain_id(),
        }
    }

    /// The transaction hash: keccak-256 of the [`encode`](Self::encode)d envelope.
    pub fn hash(&self) -> B256 {
        keccak256(self.encode())
    }

    /// The hash the sender signed.
    ///
    /// Legacy: `keccak(rlp([nonce, gasPrice, gasLimit, to, value, data]))` without a chain id,
    /// with `chainId, 0, 0` appended under EIP-155. Typed: `keccak(type || rlp(fields))`,
    /// the fields without the signature. A legacy `v` that is neither form hashes as
    /// unprotected; such a transaction is rejected by recovery and validation anyway.
    pub fn signing_hash(&self) -> B256 {
        let mut out = Vec::new();
        codec::encode_signing_payload(&self.tx, self.chain_id(), &mut out);
        keccak256(out)
    }

    /// The intrinsic gas of the transaction under `fork` (see [`crate::intrinsic`]).
    pub fn intrinsic_gas(&self, fork: Fork) -> u64 {
        let authorizations = self.tx.authorization_list().map_or(0, <[_]>::len);
        crate::intrinsic::intrinsic_gas_of(
            fork,
            self.tx.data(),
            self.tx.is_create(),
            self.tx.access_list(),
            authorizations,
        )
    }

    /// The execution environment of the transaction, sent by `sender` (usually the result
    /// of [`recover_sender`](Self::recover_sender)).
    pub fn to_tx_env(&self, sender: Address) -> TxEnv {
        let tx = &self.tx;
        TxEnv {
            tx_type: tx.tx_type() as u8,
            caller: sender,
            gas_limit: tx.gas_limit(),
            gas_price: tx.max_fee_per_gas(),
            max_priority_fee_per_gas: tx.max_priority_fee_per_gas(),
            to: tx.to(),
            value: tx.value(),
            data: tx.data().clone(),
            nonce: tx.nonce(),
            chain_id: self.chain_id(),
            access_list: tx.access_list().to_vec(),
            blob_hashes: tx.blob_versioned_hashes().to_vec(),
            max_fee_per_blob_gas: match tx {
                Transaction::Blob(t) => Some(t.max_fee_per_blob_gas),
                _ => None,
            },
            authorization_list: tx.authorization_list().map(<[_]>::to_vec),
        }
    }
}

#[cfg(test)]
mod tests;
