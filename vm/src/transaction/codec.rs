//! The byte formats of signed transactions: strict decoding and canonical encoding.
//!
//! The first byte tells the formats apart: a legacy transaction is an RLP list (first byte
//! `0xc0` or above), a typed one is an [EIP-2718](https://eips.ethereum.org/EIPS/eip-2718)
//! type byte (`0x00..=0x7f`) followed by an RLP list. Decoding is strict so that one
//! transaction has one encoding and therefore one hash: canonical RLP lengths and integers,
//! exactly the fields of the type, no trailing bytes, `to` empty or 20 bytes, and fixed-size
//! fields (addresses, storage keys, blob hashes) of their exact size.

use super::{
    AccessListTx, BlobTx, DynamicFeeTx, LegacyTx, SetCodeTx, Signature, SignedTransaction, Transaction,
    TxType,
};
use crate::env::{AccessListItem, Authorization};
use crate::primitives::{Address, Bytes, B256, U256};
use crate::rlp::{self, Item, ListIter, RlpError};

/// Why bytes are not a well-formed signed transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxDecodeError {
    /// The input was empty.
    #[error("empty transaction")]
    Empty,
    /// The first byte is an EIP-2718 type that MetisVM does not know.
    #[error("unsupported transaction type {0:#04x}")]
    UnsupportedType(u8),
    /// The input starts with an RLP string header (`0x80..=0xbf`): neither a legacy list
    /// nor a type byte.
    #[error("input is an RLP string, neither a legacy transaction nor a typed envelope")]
    NotATransaction,
    /// The outer list of the transaction is not valid RLP (bad header, truncated, trailing
    /// bytes).
    #[error("{tx_type} transaction: malformed RLP envelope: {source}")]
    Envelope {
        /// The type being decoded.
        tx_type: TxType,
        /// What is wrong with it.
        source: RlpError,
    },
    /// The payload after a type byte is an RLP string, not a list.
    #[error("{0} transaction: payload is not an RLP list")]
    PayloadNotList(TxType),
    /// The list ended before every field of the type was read.
    #[error("{tx_type} transaction: too few fields, expected {expected}")]
    TooFewFields {
        /// The type being decoded.
        tx_type: TxType,
        /// How many fields the type has.
        expected: usize,
    },
    /// The list holds more items than the type has fields.
    #[error("{tx_type} transaction: too many fields, expected {expected}")]
    TooManyFields {
        /// The type being decoded.
        tx_type: TxType,
        /// How many fields the type has.
        expected: usize,
    },
    /// A field is not of its expected shape: a list for a string, a non-canonical or
    /// oversized integer, an address or hash of the wrong length.
    #[error("{tx_type} transaction: field {field:?}: {source}")]
    Field {
        /// The type being decoded.
        tx_type: TxType,
        /// The field's name as in its EIP.
        field: &'static str,
        /// What is wrong with it.
        source: RlpError,
    },
    /// `to` is neither empty nor 20 bytes.
    #[error("{tx_type} transaction: `to` must be empty or 20 bytes, got {len} bytes")]
    InvalidTo {
        /// The type being decoded.
        tx_type: TxType,
        /// The length found.
        len: usize,
    },
    /// A type 3 or 4 transaction has an empty `to`: these types cannot create contracts.
    #[error("{0} transaction cannot create a contract: `to` is empty")]
    CreateNotAllowed(TxType),
}

/// Reads the fields of one transaction list in order, naming each in errors.
struct Fields<'a> {
    items: ListIter<'a>,
    tx_type: TxType,
    expected: usize,
}

impl<'a> Fields<'a> {
    fn new(payload: Item<'a>, tx_type: TxType, expected: usize) -> Result<Self, TxDecodeError> {
        let items = payload.items().map_err(|_| TxDecodeError::PayloadNotList(tx_type))?;
        Ok(Fields { items, tx_type, expected })
    }

    fn field_err(&self, field: &'static str) -> impl Fn(RlpError) -> TxDecodeError {
        let tx_type = self.tx_type;
        move |source| TxDecodeError::Field { tx_type, field, source }
    }

    fn next(&mut self, field: &'static str) -> Result<Item<'a>, TxDecodeError> {
        match self.items.next() {
            None => Err(TxDecodeError::TooFewFields { tx_type: self.tx_type, expected: self.expected }),
            Some(item) => item.map_err(self.field_err(field)),
        }
    }

    fn u64(&mut self, field: &'static str) -> Result<u64, TxDecodeError> {
        self.next(field)?.as_u64().map_err(self.field_err(field))
    }

    fn u256(&mut self, field: &'static str) -> Result<U256, TxDecodeError> {
        self.next(field)?.as_u256().map_err(self.field_err(field))
    }

    fn bytes(&mut self, field: &'static str) -> Result<Bytes, TxDecodeError> {
        let b = self.next(field)?.bytes().map_err(self.field_err(field))?;
        Ok(Bytes::copy_from_slice(b))
    }

    /// `to`: empty for a creation, else exactly 20 bytes.
    fn to(&mut self) -> Result<Option<Address>, TxDecodeError> {
        let b = self.next("to")?.bytes().map_err(self.field_err("to"))?;
        match b.len() {
            0 => Ok(None),
            20 => Ok(Some(Address::from_slice(b))),
            len => Err(TxDecodeError::InvalidTo { tx_type: self.tx_type, len }),
        }
    }

    /// `to` of a type that cannot create contracts.
    fn required_to(&mut self) -> Result<Address, TxDecodeError> {
        self.to()?.ok_or(TxDecodeError::CreateNotAllowed(self.tx_type))
    }

    fn access_list(&mut self) -> Result<Vec<AccessListItem>, TxDecodeError> {
        let err = self.field_err("accessList");
        let mut list = Vec::new();
        for entry in self.next("accessList")?.items().map_err(&err)? {
            let mut parts = entry.map_err(&err)?.items().map_err(&err)?;
            let address = parts.next_item().and_then(Item::as_address).map_err(&err)?;
            let mut storage_keys = Vec::new();
            for key in parts.next_item().and_then(Item::items).map_err(&err)? {
                storage_keys.push(key.and_then(Item::as_b256).map_err(&err)?);
            }
            if !parts.is_empty() {
                return Err(err(RlpError::UnexpectedLength));
            }
            list.push(AccessListItem { address, storage_keys });
        }
        Ok(list)
    }

    fn blob_hashes(&mut self) -> Result<Vec<B256>, TxDecodeError> {
        let err = self.field_err("blobVersionedHashes");
        let mut hashes = Vec::new();
        for hash in self.next("blobVersionedHashes")?.items().map_err(&err)? {
            hashes.push(hash.and_then(Item::as_b256).map_err(&err)?);
        }
        Ok(hashes)
    }

    /// EIP-7702 tuples `[chain_id, address, nonce, y_parity, r, s]`.
    fn authorization_list(&mut self) -> Result<Vec<Authorization>, TxDecodeError> {
        let err = self.field_err("authorizationList");
        let mut list = Vec::new();
        for entry in self.next("authorizationList")?.items().map_err(&err)? {
            let mut parts = entry.map_err(&err)?.items().map_err(&err)?;
            let auth = Authorization {
                chain_id: parts.next_item().and_then(Item::as_u256).map_err(&err)?,
                address: parts.next_item().and_then(Item::as_address).map_err(&err)?,
                nonce: parts.next_item().and_then(Item::as_u64).map_err(&err)?,
                y_parity: parts.next_item().and_then(Item::as_u256).map_err(&err)?,
                r: parts.next_item().and_then(Item::as_u256).map_err(&err)?,
                s: parts.next_item().and_then(Item::as_u256).map_err(&err)?,
            };
            if !parts.is_empty() {
                return Err(err(RlpError::UnexpectedLength));
            }
            list.push(auth);
        }
        Ok(list)
    }

    /// The trailing `v`/`yParity`, `r`, `s`, then the end of the list.
    fn signature(mut self, v_name: &'static str) -> Result<Signature, TxDecodeError> {
        let signature = Signature { v: self.u256(v_name)?, r: self.u256("r")?, s: self.u256("s")? };
        if !self.items.is_empty() {
            return Err(TxDecodeError::TooManyFields { tx_type: self.tx_type, expected: self.expected });
        }
        Ok(signature)
    }
}

impl SignedTransaction {
    /// Decodes a transaction from its network (EIP-2718) encoding: an RLP list for legacy
    /// transactions, a type byte followed by an RLP list for typed ones.
    pub fn decode(raw: &[u8]) -> Result<SignedTransaction, TxDecodeError> {
        let (&first, rest) = raw.split_first().ok_or(TxDecodeError::Empty)?;
        let (tx_type, body) = match first {
            0xc0..=0xff => (TxType::Legacy, raw),
            0x80..=0xbf => return Err(TxDecodeError::NotATransaction),
            byte => match TxType::from_u8(byte) {
                Some(TxType::Legacy) | None => return Err(TxDecodeError::UnsupportedType(byte)),
                Some(t) => (t, rest),
            },
        };
        let item = rlp::decode_exact(body).map_err(|source| TxDecodeError::Envelope { tx_type, source })?;
        match tx_type {
            TxType::Legacy => decode_legacy(item),
            TxType::AccessList => decode_access_list(item),
            TxType::DynamicFee => decode_dynamic_fee(item),
            TxType::Blob => decode_blob(item),
            TxType::SetCode => decode_set_code(item),
        }
    }

    /// The network (EIP-2718) encoding: [`decode`](Self::decode) reads it back unchanged.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// Appends the network encoding to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let tx_type = self.tx.tx_type();
        if tx_type != TxType::Legacy {
            out.push(tx_type as u8);
        }
        let sig = &self.signature;
        rlp::encode_list(out, |p| {
            encode_fields(&self.tx, p);
            rlp::encode_u256(p, &sig.v);
            rlp::encode_u256(p, &sig.r);
            rlp::encode_u256(p, &sig.s);
        });
    }
}

fn decode_legacy(item: Item<'_>) -> Result<SignedTransaction, TxDecodeError> {
    let mut f = Fields::new(item, TxType::Legacy, 9)?;
    let tx = LegacyTx {
        nonce: f.u64("nonce")?,
        gas_price: f.u256("gasPrice")?,
        gas_limit: f.u64("gasLimit")?,
        to: f.to()?,
        value: f.u256("value")?,
        data: f.bytes("data")?,
    };
    Ok(SignedTransaction { tx: Transaction::Legacy(tx), signature: f.signature("v")? })
}

fn decode_access_list(item: Item<'_>) -> Result<SignedTransaction, TxDecodeError> {
    let mut f = Fields::new(item, TxType::AccessList, 11)?;
    let tx = AccessListTx {
        chain_id: f.u64("chainId")?,
        nonce: f.u64("nonce")?,
        gas_price: f.u256("gasPrice")?,
        gas_limit: f.u64("gasLimit")?,
        to: f.to()?,
        value: f.u256("value")?,
        data: f.bytes("data")?,
        access_list: f.access_list()?,
    };
    Ok(SignedTransaction { tx: Transaction::AccessList(tx), signature: f.signature("yParity")? })
}

fn decode_dynamic_fee(item: Item<'_>) -> Result<SignedTransaction, TxDecodeError> {
    let mut f = Fields::new(item, TxType::DynamicFee, 12)?;
    let tx = DynamicFeeTx {
        chain_id: f.u64("chainId")?,
        nonce: f.u64("nonce")?,
        max_priority_fee_per_gas: f.u256("maxPriorityFeePerGas")?,
        max_fee_per_gas: f.u256("maxFeePerGas")?,
        gas_limit: f.u64("gasLimit")?,
        to: f.to()?,
        value: f.u256("value")?,
        data: f.bytes("data")?,
        access_list: f.access_list()?,
    };
    Ok(SignedTransaction { tx: Transaction::DynamicFee(tx), signature: f.signature("yParity")? })
}

fn decode_blob(item: Item<'_>) -> Result<SignedTransaction, TxDecodeError> {
    let mut f = Fields::new(item, TxType::Blob, 14)?;
    let tx = BlobTx {
        chain_id: f.u64("chainId")?,
        nonce: f.u64("nonce")?,
        max_priority_fee_per_gas: f.u256("maxPriorityFeePerGas")?,
        max_fee_per_gas: f.u256("maxFeePerGas")?,
        gas_limit: f.u64("gasLimit")?,
        to: f.required_to()?,
        value: f.u256("value")?,
        data: f.bytes("data")?,
        access_list: f.access_list()?,
        max_fee_per_blob_gas: f.u256("maxFeePerBlobGas")?,
        blob_versioned_hashes: f.blob_hashes()?,
    };
    Ok(SignedTransaction { tx: Transaction::Blob(tx), signature: f.signature("yParity")? })
}

fn decode_set_code(item: Item<'_>) -> Result<SignedTransaction, TxDecodeError> {
    let mut f = Fields::new(item, TxType::SetCode, 13)?;
    let tx = SetCodeTx {
        chain_id: f.u64("chainId")?,
        nonce: f.u64("nonce")?,
        max_priority_fee_per_gas: f.u256("maxPriorityFeePerGas")?,
        max_fee_per_gas: f.u256("maxFeePerGas")?,
        gas_limit: f.u64("gasLimit")?,
        to: f.required_to()?,
        value: f.u256("value")?,
        data: f.bytes("data")?,
        access_list: f.access_list()?,
        authorization_list: f.authorization_list()?,
    };
    Ok(SignedTransaction { tx: Transaction::SetCode(tx), signature: f.signature("yParity")? })
}

fn encode_to(out: &mut Vec<u8>, to: Option<&Address>) {
    match to {
        Some(a) => rlp::encode_address(out, a),
        None => rlp::encode_bytes(out, &[]),
    }
}

fn encode_access_list(out: &mut Vec<u8>, list: &[AccessListItem]) {
    rlp::encode_list(out, |p| {
        for item in list {
            rlp::encode_list(p, |q| {
                rlp::encode_address(q, &item.address);
                rlp::encode_list(q, |r| item.storage_keys.iter().for_each(|k| rlp::encode_b256(r, k)));
            });
        }
    });
}

fn encode_authorization_list(out: &mut Vec<u8>, list: &[Authorization]) {
    rlp::encode_list(out, |p| {
        for auth in list {
            rlp::encode_list(p, |q| {
                rlp::encode_u256(q, &auth.chain_id);
                rlp::encode_address(q, &auth.address);
                rlp::encode_u64(q, auth.nonce);
                rlp::encode_u256(q, &auth.y_parity);
                rlp::encode_u256(q, &auth.r);
                rlp::encode_u256(q, &auth.s);
            });
        }
    });
}

/// Appends the unsigned fields of `tx`, in wire order, as items of an open list.
fn encode_fields(tx: &Transaction, out: &mut Vec<u8>) {
    match tx {
        Transaction::Legacy(t) => {
            rlp::encode_u64(out, t.nonce);
            rlp::encode_u256(out, &t.gas_price);
            rlp::encode_u64(out, t.gas_limit);
            encode_to(out, t.to.as_ref());
            rlp::encode_u256(out, &t.value);
            rlp::encode_bytes(out, &t.data);
        }
        Transaction::AccessList(t) => {
            rlp::encode_u64(out, t.chain_id);
            rlp::encode_u64(out, t.nonce);
            rlp::encode_u256(out, &t.gas_price);
            rlp::encode_u64(out, t.gas_limit);
            encode_to(out, t.to.as_ref());
            rlp::encode_u256(out, &t.value);
            rlp::encode_bytes(out, &t.data);
            encode_access_list(out, &t.access_list);
        }
        Transaction::DynamicFee(t) => {
            encode_fee_market_head(
                out,
                t.chain_id,
                t.nonce,
                &t.max_priority_fee_per_gas,
                &t.max_fee_per_gas,
                t.gas_limit,
            );
            encode_to(out, t.to.as_ref());
            rlp::encode_u256(out, &t.value);
            rlp::encode_bytes(out, &t.data);
            encode_access_list(out, &t.access_list);
        }
        Transaction::Blob(t) => {
            encode_fee_market_head(
                out,
                t.chain_id,
                t.nonce,
                &t.max_priority_fee_per_gas,
                &t.max_fee_per_gas,
                t.gas_limit,
            );
            rlp::encode_address(out, &t.to);
            rlp::encode_u256(out, &t.value);
            rlp::encode_bytes(out, &t.data);
            encode_access_list(out, &t.access_list);
            rlp::encode_u256(out, &t.max_fee_per_blob_gas);
            rlp::encode_list(out, |p| t.blob_versioned_hashes.iter().for_each(|h| rlp::encode_b256(p, h)));
        }
        Transaction::SetCode(t) => {
            encode_fee_market_head(
                out,
                t.chain_id,
                t.nonce,
                &t.max_priority_fee_per_gas,
                &t.max_fee_per_gas,
                t.gas_limit,
            );
            rlp::encode_address(out, &t.to);
            rlp::encode_u256(out, &t.value);
            rlp::encode_bytes(out, &t.data);
            encode_access_list(out, &t.access_list);
            encode_authorization_list(out, &t.authorization_list);
        }
    }
}

/// The first five fields shared by types 2, 3 and 4.
fn encode_fee_market_head(
    out: &mut Vec<u8>,
    chain_id: u64,
    nonce: u64,
    max_priority_fee_per_gas: &U256,
    max_fee_per_gas: &U256,
    gas_limit: u64,
) {
    rlp::encode_u64(out, chain_id);
    rlp::encode_u64(out, nonce);
    rlp::encode_u256(out, max_priority_fee_per_gas);
    rlp::encode_u256(out, max_fee_per_gas);
    rlp::encode_u64(out, gas_limit);
}

/// Appends the bytes a sender signs: `type || rlp(fields)` for typed transactions; for
/// legacy ones `rlp(fields)`, with `chainId, 0, 0` appended when `legacy_chain_id` is set
/// ([EIP-155](https://eips.ethereum.org/EIPS/eip-155)).
pub(super) fn encode_signing_payload(tx: &Transaction, legacy_chain_id: Option<u64>, out: &mut Vec<u8>) {
    let tx_type = tx.tx_type();
    if tx_type != TxType::Legacy {
        out.push(tx_type as u8);
    }
    rlp::encode_list(out, |p| {
        encode_fields(tx, p);
        if let (TxType::Legacy, Some(chain_id)) = (tx_type, legacy_chain_id) {
            rlp::encode_u64(p, chain_id);
            rlp::encode_u64(p, 0);
            rlp::encode_u64(p, 0);
        }
    });
}
