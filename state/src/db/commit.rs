//! Committing a version: turning a [`StateDiff`] into flat records and trie updates, writing
//! the batch, and publishing it to readers.
//!
//! The steps, under the writer lock:
//!
//! 1. Read each changed account's current record from the newest version.
//! 2. Update the storage trie of every account with storage changes, in parallel (each trie
//!    is independent and hashing is pure), from the account's stored storage root, or from
//!    nothing when its storage was cleared.
//! 3. Write those tries' new nodes, then update, hash and write the state trie with the new
//!    account leaves, then the flat records, then the commit record with the batch's CRC.
//! 4. Append the batch to the data file and sync it; then write and sync the meta slot, which
//!    is the moment the version exists (see [`super::format`]).
//! 5. Publish: the index gains the new entries under its write lock, so a reader sees either
//!    none or all of the version, and entries past the prune horizon are dropped.

use super::format::{self, AccountRecord, CommitRecord, MetaSlot, META_SLOT_LEN};
use super::index::VersionRoot;
use super::open::{map_file, DATA_FILE, META_FILE};
use super::trie::{self, nibbles, Change, Child, NodeRef, Tries};
use super::{DbError, MetisDb};
use crate::trie::{account_rlp, EMPTY_ROOT_HASH};
use hashbrown::HashSet;
use metisvm_vm::primitives::{keccak256, Address, B256, KECCAK_EMPTY, U256};
use metisvm_vm::rlp::encode_u256;
use metisvm_vm::{AccountChange, StateDiff};
use rayon::prelude::*;
use std::io::{Seek, SeekFrom, Write};

/// What a commit produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Committed {
    /// The new version.
    pub version: u64,
    /// Its state root.
    pub state_root: B256,
    /// Bytes the commit appended to the data file.
    pub bytes: u64,
}

/// One changed account on its way into the batch.
struct Pending {
    address: Address,
    record: AccountRecord,
    /// The storage trie to start from (`None`: empty) and the changes to apply.
    storage_base: Option<Child>,
    storage_changes: Vec<Change>,
    slots: Vec<(U256, U256)>,
}

impl MetisDb {
    /// Commits `diff` as the next version, with `block_hashes` (block number, hash) recorded
    /// for `BLOCKHASH`. Returns once the version is durable (with [`super::Options::sync`])
    /// and visible to new snapshots.
    pub fn commit(&self, diff: &StateDiff, block_hashes: &[(u64, B256)]) -> Result<Committed, DbError> {
        let mut writer = self.writer.lock()?;
        let map = self.shared.map.read()?.clone();
        let (base_version, base_root) = {
            let index = self.shared.index.read()?;
            let latest = index.latest();
            (latest, index.roots[&latest])
        };
        let version = base_version + 1;
        let base = self.snapshot_unpinned(map.clone(), base_version, base_root);
        let data = &map[..];

        // 1. Each changed account's new record, sorted by address for a deterministic file.
        let mut addresses: Vec<&Address> = diff.keys().collect();
        addresses.sort();
        let mut pending = Vec::with_capacity(addresses.len());
        let mut codes: Vec<(B256, &[u8])> = Vec::new();
        let mut seen_codes = HashSet::new();
        for address in addresses {
            let previous = base.account_record(address)?;
            let existed = previous.is_some_and(|p| p.exists);
            let cleared_before = previous.map_or(0, |p| p.storage_cleared_at);
            match &diff[address] {
                AccountChange::Deleted => {
                    if !existed {
                        continue;
                    }
                    let record = AccountRecord {
                        version,
                        address: *address,
                        exists: false,
                        nonce: 0,
                        balance: U256::ZERO,
                        code_hash: KECCAK_EMPTY,
                        storage_root: EMPTY_ROOT_HASH,
                        storage_node: 0,
                        storage_cleared_at: version,
                    };
                    pending.push(Pending {
                        address: *address,
                        record,
                        storage_base: None,
                        storage_changes: Vec::new(),
                        slots: Vec::new(),
                    });
                }
                AccountChange::Updated { info, storage_cleared, storage } => {
                    let keep_storage = existed && !storage_cleared;
                    let (storage_root, storage_node) = match previous {
                        Some(p) if keep_storage => (p.storage_root, p.storage_node),
                        _ => (EMPTY_ROOT_HASH, 0),
                    };
                    if let Some(code) = &info.code {
                        let fresh_code = !code.is_empty()
                            && !base.has_code(&info.code_hash)?
                            && seen_codes.insert(info.code_hash);
                        if fresh_code {
                            codes.push((info.code_hash, &code[..]));
                        }
                    }
                    let mut slots: Vec<(U256, U256)> = storage.iter().map(|(s, v)| (*s, *v)).collect();
                    slots.sort();
                    let mut storage_changes: Vec<Change> = slots
                        .iter()
                        .map(|(slot, value)| {
                            let key = nibbles(&keccak256(slot.to_be_bytes::<32>()).0);
                            let rlp = (!value.is_zero()).then(|| {
                                let mut out = Vec::with_capacity(33);
                                encode_u256(&mut out, value);
                                out
                            });
                            (key, rlp)
                        })
                        .collect();
                    storage_changes.sort_by(|a, b| a.0.cmp(&b.0));
                    let record = AccountRecord {
                        version,
                        address: *address,
                        exists: true,
                        nonce: info.nonce,
                        balance: info.balance,
                        code_hash: info.code_hash,
                        storage_root,
                        storage_node,
                        storage_cleared_at: if keep_storage { cleared_before } else { version },
                    };
                    let storage_base = (storage_node != 0)
                        .then(|| Tries::stored(storage_node, NodeRef::of_hash(storage_root)));
                    pending.push(Pending { address: *address, record, storage_base, storage_changes, slots });
                }
            }
        }

        // 2. Storage tries, in parallel.
        let tries = Tries::new(data);
        let storage: Vec<Result<Option<Child>, DbError>> = pending
            .par_iter_mut()
            .map(|p| {
                let base = p.storage_base.take();
                if p.storage_changes.is_empty() {
                    return Ok(base);
                }
                Ok(tries.update(base, &p.storage_changes)?.map(trie::hash))
            })
            .collect();

        // 3. The batch: storage nodes, the state trie, flat records, commit record.
        let batch_start = writer.committed_len;
        let mut out = Vec::with_capacity(pending.len() * 1024);
        let mut state_changes: Vec<Change> = Vec::with_capacity(pending.len());
        for (p, root) in pending.iter_mut().zip(storage) {
            let root = root?.map(|child| trie::write(child, &mut out, batch_start));
            if p.record.exists {
                match root {
                    Some(Child::Stored { offset, .. }) => {
                        p.record.storage_node = offset;
                        p.record.storage_root = root.as_ref().and_then(Child::root_hash).expect("stored");
                    }
                    _ => {
                        p.record.storage_node = 0;
                        p.record.storage_root = EMPTY_ROOT_HASH;
                    }
                }
            }
            let key = nibbles(&keccak256(p.address).0);
            let value = p.record.exists.then(|| {
                account_rlp(p.record.nonce, p.record.balance, p.record.storage_root, p.record.code_hash)
            });
            state_changes.push((key, value));
        }
        state_changes.sort_by(|a, b| a.0.cmp(&b.0));
        let state_base = (base_root.root_node != 0)
            .then(|| Tries::stored(base_root.root_node, NodeRef::of_hash(base_root.state_root)));
        let state = tries.update(state_base, &state_changes)?.map(trie::hash);
        let state = state.map(|child| trie::write(child, &mut out, batch_start));
        let (state_root, root_node) = match &state {
            Some(child @ Child::Stored { offset, .. }) => (child.root_hash().expect("stored"), *offset),
            _ => (EMPTY_ROOT_HASH, 0),
        };

        let mut account_offsets = Vec::with_capacity(pending.len());
        let mut slot_offsets = Vec::new();
        for p in &pending {
            account_offsets.push((p.address, batch_start + out.len() as u64));
            p.record.write(&mut out);
            for (slot, value) in &p.slots {
                slot_offsets.push(((p.address, *slot), batch_start + out.len() as u64));
                format::write_slot(&mut out, version, &p.address, slot, value);
            }
        }
        let mut code_offsets = Vec::with_capacity(codes.len());
        for (hash, code) in &codes {
            code_offsets.push((*hash, batch_start + out.len() as u64));
            format::write_code(&mut out, hash, code);
        }
        let mut hash_offsets = Vec::with_capacity(block_hashes.len());
        for (number, hash) in block_hashes {
            hash_offsets.push((*number, batch_start + out.len() as u64));
            format::write_block_hash(&mut out, version, *number, hash);
        }
        let crc = crc32fast::hash(&out);
        CommitRecord { version, state_root, root_node, batch_start, crc }.write(&mut out);
        drop(base);

        // 4. Durable: data, then the meta slot.
        let dir = &self.shared.dir;
        let data_path = dir.join(DATA_FILE);
        let new_len = batch_start + out.len() as u64;
        writer.data.seek(SeekFrom::Start(batch_start)).map_err(|e| DbError::io(&data_path, e))?;
        writer.data.write_all(&out).map_err(|e| DbError::io(&data_path, e))?;
        if self.shared.options.sync {
            writer.data.sync_data().map_err(|e| DbError::io(&data_path, e))?;
        }
        let seq = writer.seq + 1;
        let slot =
            MetaSlot { seq, version, committed_len: new_len, state_root, generation: writer.generation };
        let meta_path = dir.join(META_FILE);
        writer
            .meta
            .seek(SeekFrom::Start((seq % 2) * META_SLOT_LEN as u64))
            .and_then(|_| writer.meta.write_all(&slot.encode()))
            .map_err(|e| DbError::io(&meta_path, e))?;
        if self.shared.options.sync {
            writer.meta.sync_data().map_err(|e| DbError::io(&meta_path, e))?;
        }
        writer.seq = seq;
        writer.committed_len = new_len;

        // 5. Publish.
        if new_len > map.len() as u64 {
            *self.shared.map.write()? = map_file(&writer.data, &data_path, new_len)?;
        }
        let mut index = self.shared.index.write()?;
        // Under the index lock, which a new snapshot holds while it pins its version.
        let horizon = self.shared.horizon(version)?;
        for (address, offset) in account_offsets {
            index.push_account(address, version, offset, horizon);
        }
        for (key, offset) in slot_offsets {
            index.push_slot(key, version, offset, horizon);
        }
        for (hash, offset) in code_offsets {
            index.codes.insert(hash, offset);
        }
        for (number, offset) in hash_offsets {
            index.push_block_hash(number, version, offset, horizon);
        }
        index.push_root(version, VersionRoot { state_root, root_node }, horizon);
        Ok(Committed { version, state_root, bytes: out.len() as u64 })
    }
}
