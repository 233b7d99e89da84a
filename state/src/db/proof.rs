//! Merkle proofs of accounts and storage slots, in the shape of `eth_getProof`
//! ([EIP-1186](https://eips.ethereum.org/EIPS/eip-1186)), and their verification against a
//! state root alone.
//!
//! A proof lists the RLP of every node on the path from the root to the key that its parent
//! references by hash, root first; nodes shorter than 32 bytes are inside their parent's RLP.
//! Verification walks the same path: each listed node must hash to the reference its parent
//! holds, and the walk must end at the claimed value, or prove the key absent.

use super::trie::nibbles;
use crate::trie::{account_rlp, EMPTY_ROOT_HASH};
use metisvm_vm::primitives::{keccak256, Address, Bytes, B256, KECCAK_EMPTY, U256};
use metisvm_vm::rlp::{decode_exact, decode_prefix, encode_u256, Item};

/// A proof of one storage slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageProof {
    /// The slot.
    pub key: U256,
    /// Its value (zero when unset).
    pub value: U256,
    /// The storage trie's nodes on the path to the slot, root first.
    pub proof: Vec<Bytes>,
}

/// A proof of an account and some of its slots at one state root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountProof {
    /// The account.
    pub address: Address,
    /// Its balance (zero when it does not exist).
    pub balance: U256,
    /// Its nonce.
    pub nonce: u64,
    /// Its code hash ([`KECCAK_EMPTY`] when it does not exist).
    pub code_hash: B256,
    /// Its storage root (the empty root when it does not exist).
    pub storage_hash: B256,
    /// The state trie's nodes on the path to the account, root first.
    pub account_proof: Vec<Bytes>,
    /// One proof per slot asked for.
    pub storage_proof: Vec<StorageProof>,
}

/// Why a proof does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// A node is missing, does not hash to its reference, or does not parse.
    #[error("proof node {index}: {reason}")]
    BadNode {
        /// Position in the proof.
        index: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// The proof holds, but for another value than the one claimed.
    #[error("the proof shows a different value for {what}")]
    WrongValue {
        /// The account, or the slot.
        what: String,
    },
    /// The proof lists nodes that are not on the path.
    #[error("the proof has {0} nodes past the end of the path")]
    ExtraNodes(usize),
}

/// Checks `proof` against `state_root`: the account's fields and every slot's value.
pub fn verify_account_proof(state_root: B256, proof: &AccountProof) -> Result<(), ProofError> {
    let key = nibbles(&keccak256(proof.address).0);
    let found = verify(state_root, &key, &proof.account_proof)?;
    let empty = proof.nonce == 0
        && proof.balance.is_zero()
        && proof.code_hash == KECCAK_EMPTY
        && proof.storage_hash == EMPTY_ROOT_HASH;
    let expected = account_rlp(proof.nonce, proof.balance, proof.storage_hash, proof.code_hash);
    let holds = match &found {
        Some(value) => *value == expected,
        None => empty,
    };
    if !holds {
        return Err(ProofError::WrongValue { what: format!("account {}", proof.address) });
    }
    for slot in &proof.storage_proof {
        let key = nibbles(&keccak256(slot.key.to_be_bytes::<32>()).0);
        let found = verify(proof.storage_hash, &key, &slot.proof)?;
        let expected = (!slot.value.is_zero()).then(|| {
            let mut out = Vec::new();
            encode_u256(&mut out, &slot.value);
            out
        });
        if found != expected {
            return Err(ProofError::WrongValue { what: format!("slot {:#x}", slot.key) });
        }
    }
    Ok(())
}

/// How the walk reaches the next node.
enum Next<'a> {
    Hash(B256),
    Inline(&'a [u8]),
}

/// Walks `proof` from `root` along `key` (nibbles): the value found, or `None` if the proof
/// shows the key absent.
pub fn verify(root: B256, key: &[u8], proof: &[Bytes]) -> Result<Option<Vec<u8>>, ProofError> {
    if root == EMPTY_ROOT_HASH && proof.is_empty() {
        return Ok(None);
    }
    let mut next = Next::Hash(root);
    let mut used = 0;
    let mut depth = 0;
    loop {
        let node: &[u8] = match next {
            Next::Hash(hash) => {
                let bad = |reason| ProofError::BadNode { index: used, reason };
                let node = proof.get(used).ok_or_else(|| bad("missing"))?;
                if keccak256(node) != hash {
                    return Err(bad("does not hash to its parent's reference"));
                }
                used += 1;
                node
            }
            Next::Inline(bytes) => bytes,
        };
        let index = used.saturating_sub(1);
        let bad = |reason| ProofError::BadNode { index, reason };
        let items = node_items(node).ok_or_else(|| bad("not a trie node"))?;
        let step = match items.len() {
            2 => {
                let Item::Bytes(hp) = items[0].0 else { return Err(bad("path is a list")) };
                let (path, leaf) = decode_hex_prefix(hp).ok_or_else(|| bad("bad path encoding"))?;
                let matches = key.len() >= depth + path.len() && key[depth..depth + path.len()] == path[..];
                if leaf {
                    let at_end = matches && key.len() == depth + path.len();
                    let value = items[1].0.bytes().map_err(|_| bad("leaf value is a list"))?;
                    Step::Done(at_end.then(|| value.to_vec()))
                } else if !matches {
                    Step::Done(None)
                } else {
                    depth += path.len();
                    Step::Go(child(items[1]).ok_or_else(|| bad("bad child reference"))?)
                }
            }
            17 => {
                if key.len() == depth {
                    let value = items[16].0.bytes().map_err(|_| bad("branch value is a list"))?;
                    Step::Done((!value.is_empty()).then(|| value.to_vec()))
                } else {
                    let slot = items[key[depth] as usize];
                    depth += 1;
                    match slot.0 {
                        Item::Bytes([]) => Step::Done(None),
                        _ => Step::Go(child(slot).ok_or_else(|| bad("bad child reference"))?),
                    }
                }
            }
            _ => return Err(bad("not a trie node")),
        };
        match step {
            Step::Done(value) => {
                return if used == proof.len() {
                    Ok(value)
                } else {
                    Err(ProofError::ExtraNodes(proof.len() - used))
                };
            }
            Step::Go(n) => next = n,
        }
    }
}

enum Step<'a> {
    Done(Option<Vec<u8>>),
    Go(Next<'a>),
}

/// A child reference: a 32-byte hash, or an inlined node (a list, kept with its header).
fn child<'a>((item, raw): (Item<'a>, &'a [u8])) -> Option<Next<'a>> {
    match item {
        Item::Bytes(b) if b.len() == 32 => Some(Next::Hash(B256::from_slice(b))),
        Item::List(_) if raw.len() < 32 => Some(Next::Inline(raw)),
        _ => None,
    }
}

/// The items of a node's RLP list, each with its raw encoding.
fn node_items(node: &[u8]) -> Option<Vec<(Item<'_>, &[u8])>> {
    let mut rest = decode_exact(node).ok()?.list().ok()?;
    let mut items = Vec::with_capacity(17);
    while !rest.is_empty() {
        let (item, tail) = decode_prefix(rest).ok()?;
        items.push((item, &rest[..rest.len() - tail.len()]));
        rest = tail;
    }
    Some(items)
}

/// Nibbles and leaf flag of a hex-prefix encoded path.
fn decode_hex_prefix(hp: &[u8]) -> Option<(Vec<u8>, bool)> {
    let (&first, rest) = hp.split_first()?;
    let flag = first >> 4;
    if flag > 3 {
        return None;
    }
    let mut path = Vec::with_capacity(rest.len() * 2 + 1);
    if flag & 1 == 1 {
        path.push(first & 0x0f);
    } else if first & 0x0f != 0 {
        return None;
    }
    path.extend(nibbles(rest));
    Some((path, flag & 2 == 2))
}
