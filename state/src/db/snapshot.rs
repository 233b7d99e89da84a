//! Snapshots: consistent read-only views of one version, and the VM's state interface on them.

use super::format::{self, kind, AccountRecord};
use super::index::VersionRoot;
use super::proof::{AccountProof, StorageProof};
use super::trie::{nibbles, NodeRef, Tries};
use super::{DbError, Shared};
use crate::trie::EMPTY_ROOT_HASH;
use memmap2::Mmap;
use metisvm_vm::primitives::{keccak256, Address, Bytes, B256, KECCAK_EMPTY, U256};
use metisvm_vm::rlp::decode_exact;
use metisvm_vm::{AccountInfo, StateError, StateReader};
use std::sync::Arc;

/// A read-only view of one version of a [`super::MetisDb`]. While it lives, its version is
/// not pruned; commits of later versions do not change what it reads.
#[derive(Debug)]
pub struct Snapshot {
    shared: Arc<Shared>,
    map: Arc<Mmap>,
    version: u64,
    root: VersionRoot,
    pinned: bool,
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        if !self.pinned {
            return;
        }
        if let Ok(mut pins) = self.shared.pins.lock() {
            if let Some(count) = pins.get_mut(&self.version) {
                *count -= 1;
                if *count == 0 {
                    pins.remove(&self.version);
                }
            }
        }
    }
}

impl Snapshot {
    pub(super) fn new(shared: Arc<Shared>, version: u64) -> Result<Snapshot, DbError> {
        let root = {
            let index = shared.index.read()?;
            let Some(root) = index.roots.get(&version).copied() else {
                return Err(DbError::NoSuchVersion {
                    version,
                    oldest: index.oldest(),
                    latest: index.latest(),
                });
            };
            // Pinned under the index lock, which a commit holds while it prunes.
            *shared.pins.lock()?.entry(version).or_insert(0) += 1;
            root
        };
        // The map is replaced before a version is published, so this one covers `version`.
        let map = shared.map.read()?.clone();
        Ok(Snapshot { shared, map, version, root, pinned: true })
    }

    /// The version this snapshot reads.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The state root of this version.
    pub fn state_root(&self) -> B256 {
        self.root.state_root
    }

    fn record(&self, offset: u64, expected: u8) -> Result<&[u8], DbError> {
        match format::record_at(&self.map, offset) {
            Some((k, body)) if k == expected => Ok(body),
            _ => Err(DbError::corrupt("data.mdb", offset, "index points at a record of another kind")),
        }
    }

    /// The flat record of `address` at this version (deleted accounts included).
    pub(super) fn account_record(&self, address: &Address) -> Result<Option<AccountRecord>, DbError> {
        let offset = {
            let index = self.shared.index.read()?;
            index.accounts.get(address).and_then(|v| v.at(self.version))
        };
        let Some(offset) = offset else { return Ok(None) };
        let record = AccountRecord::read(self.record(offset, kind::ACCOUNT)?)
            .ok_or_else(|| DbError::corrupt("data.mdb", offset, "account record does not parse"))?;
        Ok(Some(record))
    }

    /// The account at `address`, or `None` if it does not exist at this version. The code is
    /// left out (`code: None`); read it with [`Snapshot::code`].
    pub fn account(&self, address: &Address) -> Result<Option<AccountInfo>, DbError> {
        Ok(self.account_record(address)?.filter(|r| r.exists).map(|r| AccountInfo {
            balance: r.balance,
            nonce: r.nonce,
            code_hash: r.code_hash,
            code: None,
        }))
    }

    /// The storage root of `address` (the empty root for a missing account).
    pub fn storage_root(&self, address: &Address) -> Result<B256, DbError> {
        Ok(self.account_record(address)?.filter(|r| r.exists).map_or(EMPTY_ROOT_HASH, |r| r.storage_root))
    }

    /// The value of `slot` of `address`; zero when unset.
    pub fn storage(&self, address: &Address, slot: U256) -> Result<U256, DbError> {
        let Some(account) = self.account_record(address)?.filter(|r| r.exists) else { return Ok(U256::ZERO) };
        let offset = {
            let index = self.shared.index.read()?;
            index.slots.get(&(*address, slot)).and_then(|v| v.at(self.version))
        };
        let Some(offset) = offset else { return Ok(U256::ZERO) };
        let (version, _, _, value) = format::read_slot(self.record(offset, kind::SLOT)?)
            .ok_or_else(|| DbError::corrupt("data.mdb", offset, "slot record does not parse"))?;
        // A slot written before the account's storage was last wiped no longer counts.
        Ok(if version < account.storage_cleared_at { U256::ZERO } else { value })
    }

    /// The code whose keccak-256 is `hash`, if stored.
    pub fn code(&self, hash: &B256) -> Result<Option<Bytes>, DbError> {
        if *hash == KECCAK_EMPTY {
            return Ok(Some(Bytes::new()));
        }
        let offset = self.shared.index.read()?.codes.get(hash).copied();
        let Some(offset) = offset else { return Ok(None) };
        let body = self.record(offset, kind::CODE)?;
        Ok(Some(Bytes::copy_from_slice(&body[32..])))
    }

    pub(super) fn has_code(&self, hash: &B256) -> Result<bool, DbError> {
        Ok(*hash == KECCAK_EMPTY || self.shared.index.read()?.codes.contains_key(hash))
    }

    /// The hash of block `number` recorded at or before this version; zero when unknown.
    pub fn block_hash(&self, number: u64) -> Result<B256, DbError> {
        let offset = {
            let index = self.shared.index.read()?;
            index.block_hashes.get(&number).and_then(|v| v.at(self.version))
        };
        let Some(offset) = offset else { return Ok(B256::ZERO) };
        let (_, _, hash) = format::read_block_hash(self.record(offset, kind::BLOCK_HASH)?)
            .ok_or_else(|| DbError::corrupt("data.mdb", offset, "block hash record does not parse"))?;
        Ok(hash)
    }

    /// A Merkle proof of the account at `address` and of each of `slots` (the shape of
    /// `eth_getProof`); check it with [`super::verify_account_proof`].
    pub fn proof(&self, address: &Address, slots: &[U256]) -> Result<AccountProof, DbError> {
        let tries = Tries::new(&self.map);
        let state_root = (self.root.root_node != 0)
            .then(|| Tries::stored(self.root.root_node, NodeRef::of_hash(self.root.state_root)));
        let (leaf, account_proof) = tries.prove(state_root.as_ref(), &nibbles(&keccak256(address).0))?;
        let account = self.account_record(address)?.filter(|r| r.exists);
        // The flat record and the trie must agree; a difference means a damaged file.
        let from_trie = match &leaf {
            Some(rlp) => Some(decode_account_leaf(rlp).ok_or_else(|| {
                DbError::corrupt("data.mdb", self.root.root_node, "account leaf does not parse")
            })?),
            None => None,
        };
        let from_record = account.map(|r| (r.nonce, r.balance, r.storage_root, r.code_hash));
        if from_trie != from_record {
            return Err(DbError::corrupt("data.mdb", self.root.root_node, "trie and flat record disagree"));
        }
        let (nonce, balance, storage_hash, code_hash) =
            from_record.unwrap_or((0, U256::ZERO, EMPTY_ROOT_HASH, KECCAK_EMPTY));
        let storage_root = account
            .filter(|r| r.storage_node != 0)
            .map(|r| Tries::stored(r.storage_node, NodeRef::of_hash(r.storage_root)));
        let mut storage_proof = Vec::with_capacity(slots.len());
        for slot in slots {
            let key = nibbles(&keccak256(slot.to_be_bytes::<32>()).0);
            let (_, proof) = tries.prove(storage_root.as_ref(), &key)?;
            let value = self.storage(address, *slot)?;
            storage_proof.push(StorageProof {
                key: *slot,
                value,
                proof: proof.into_iter().map(Bytes::from).collect(),
            });
        }
        Ok(AccountProof {
            address: *address,
            balance,
            nonce,
            code_hash,
            storage_hash,
            account_proof: account_proof.into_iter().map(Bytes::from).collect(),
            storage_proof,
        })
    }
}

/// (nonce, balance, storage root, code hash) from an account leaf's RLP.
fn decode_account_leaf(rlp: &[u8]) -> Option<(u64, U256, B256, B256)> {
    let mut items = decode_exact(rlp).ok()?.items().ok()?;
    let fields = (
        items.next_item().ok()?.as_u64().ok()?,
        items.next_item().ok()?.as_u256().ok()?,
        items.next_item().ok()?.as_b256().ok()?,
        items.next_item().ok()?.as_b256().ok()?,
    );
    items.is_empty().then_some(fields)
}

fn state_error(e: DbError) -> StateError {
    StateError(e.to_string())
}

impl StateReader for Snapshot {
    fn account(&self, address: Address) -> Result<Option<AccountInfo>, StateError> {
        Snapshot::account(self, &address).map_err(state_error)
    }

    fn code_by_hash(&self, code_hash: B256) -> Result<Bytes, StateError> {
        self.code(&code_hash)
            .map_err(state_error)?
            .ok_or_else(|| StateError(format!("MetisDB has no code with hash {code_hash}")))
    }

    fn storage(&self, address: Address, slot: U256) -> Result<U256, StateError> {
        Snapshot::storage(self, &address, slot).map_err(state_error)
    }

    fn block_hash(&self, number: u64) -> Result<B256, StateError> {
        Snapshot::block_hash(self, number).map_err(state_error)
    }

    fn has_storage(&self, address: Address) -> Result<bool, StateError> {
        Ok(self.storage_root(&address).map_err(state_error)? != EMPTY_ROOT_HASH)
    }
}

impl super::MetisDb {
    /// A view of `version` for the writer's own reads during a commit: not pinned, because the
    /// writer lock keeps pruning from running meanwhile.
    pub(super) fn snapshot_unpinned(&self, map: Arc<Mmap>, version: u64, root: VersionRoot) -> Snapshot {
        Snapshot { shared: self.shared.clone(), map, version, root, pinned: false }
    }
}
