//! Compaction: rewriting the data file with only what the retained versions still read.
//!
//! Pruning drops old versions from the index, but their records stay in the append-only data
//! file. [`MetisDb::compact`] copies the live records into a new file and switches to it; the
//! file layout and the crash-safe switch are described in [`super::format`].
//!
//! A record is live when a retained version (the oldest retained one, `base`, and every
//! newer one) can read it:
//! - a trie node reachable from a retained state root, or from the storage root of a live
//!   account record;
//! - the flat record of a key that a retained version reads (the index's entries, see
//!   [`super::index::Versions::for_each_live`]);
//! - the code a live account record names.
//!
//! Records are copied in file order, so every node's children are copied before it (a
//! node's children always sit at lower offsets) and its new offsets are known. Everything up
//! to `base`'s commit record becomes one batch of version `base`; each later version keeps a
//! batch of its own, with a new commit record (new root offset, batch start and CRC).

use super::format::{self, kind, AccountRecord, CommitRecord, Header, MetaSlot, HEADER_LEN, META_SLOT_LEN};
use super::open::{sync_dir, COMPACT_FILE, DATA_FILE, META_FILE};
use super::trie;
use super::{DbError, MetisDb};
use hashbrown::{HashMap, HashSet};
use metisvm_vm::primitives::B256;
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::sync::Arc;

/// What a compaction did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compacted {
    /// The oldest version kept (the new file's base).
    pub oldest: u64,
    /// The newest version.
    pub latest: u64,
    /// Committed bytes of the data file before.
    pub bytes_before: u64,
    /// And after.
    pub bytes_after: u64,
    /// Records copied.
    pub records: u64,
}

impl MetisDb {
    /// Rewrites the data file with only the records the retained versions read, dropping
    /// those of pruned versions. Reads, roots and proofs of every retained version stay
    /// the same; versions older than the oldest retained one become unreadable for good.
    ///
    /// The database must have no live snapshots ([`DbError::SnapshotsAlive`]). A crash at
    /// any point leaves either the old file or the new one, both complete.
    pub fn compact(&mut self) -> Result<Compacted, DbError> {
        let snapshots = Arc::strong_count(&self.shared) - 1;
        if snapshots > 0 {
            return Err(DbError::SnapshotsAlive(snapshots));
        }
        let dir = self.shared.dir.clone();
        let options = self.shared.options;
        let writer = self.writer.get_mut()?;
        let map = self.shared.map.read()?.clone();
        let data = &map[..writer.committed_len as usize];
        let generation = writer.generation + 1;
        let (oldest, latest, latest_root, live) = {
            let index = self.shared.index.read()?;
            let oldest = index.oldest();
            (
                oldest,
                index.latest(),
                index.roots[&index.latest()].state_root,
                live_records(&index, data, oldest)?,
            )
        };

        let compact_path = dir.join(COMPACT_FILE);
        let file = File::create(&compact_path).map_err(|e| DbError::io(&compact_path, e))?;
        let io = |e| DbError::io(&compact_path, e);
        let mut copier = Copier::new(file, Header { base_version: oldest, generation }).map_err(io)?;
        let mut at = HEADER_LEN;
        let mut records = 0;
        while at < data.len() as u64 {
            let bad = |reason: &str| DbError::corrupt(DATA_FILE, at, reason);
            let (k, body) =
                format::record_at(data, at).ok_or_else(|| bad("record runs past the committed end"))?;
            let next = at + (format::FRAME_LEN + body.len()) as u64;
            if k == kind::COMMIT {
                let commit = CommitRecord::read(body).ok_or_else(|| bad("commit record does not parse"))?;
                if commit.version >= oldest {
                    let root_node =
                        copier.moved_or_empty(commit.root_node).ok_or_else(|| bad("root node not copied"))?;
                    copier.close_batch(commit.version, commit.state_root, root_node).map_err(io)?;
                }
            } else if live.contains(&at) {
                match k {
                    kind::NODE => {
                        trie::write_moved(body, &mut copier.record, |o| copier.moved.get(&o).copied())
                            .ok_or_else(|| {
                                bad("trie node does not parse or names a child that was not copied")
                            })?
                    }
                    kind::ACCOUNT => {
                        let mut record =
                            AccountRecord::read(body).ok_or_else(|| bad("account record does not parse"))?;
                        record.storage_node = copier
                            .moved_or_empty(record.storage_node)
                            .ok_or_else(|| bad("storage root node not copied"))?;
                        record.write(&mut copier.record);
                    }
                    _ => {
                        format::frame(&mut copier.record, k, body.len());
                        copier.record.extend_from_slice(body);
                    }
                }
                copier.copy_record(at, k == kind::NODE).map_err(io)?;
                records += 1;
            }
            at = next;
        }
        let bytes_after = copier.len;
        let file = copier.finish().map_err(io)?;
        if options.sync {
            file.sync_all().map_err(io)?;
            sync_dir(&dir);
        }
        drop(file);

        // The meta slot naming the new generation is the moment the compaction happens.
        let seq = writer.seq + 1;
        let slot = MetaSlot {
            seq,
            version: latest,
            committed_len: bytes_after,
            state_root: latest_root,
            generation,
        };
        let meta_path = dir.join(META_FILE);
        writer
            .meta
            .seek(SeekFrom::Start((seq % 2) * META_SLOT_LEN as u64))
            .and_then(|_| writer.meta.write_all(&slot.encode()))
            .and_then(|_| if options.sync { writer.meta.sync_data() } else { Ok(()) })
            .map_err(|e| DbError::io(&meta_path, e))?;
        let data_path = dir.join(DATA_FILE);
        std::fs::rename(&compact_path, &data_path).map_err(|e| DbError::io(&data_path, e))?;
        if options.sync {
            sync_dir(&dir);
        }
        let bytes_before = data.len() as u64;
        drop(map);

        // Reopen on the new file: the scan checks every batch just written and rebuilds the
        // index with the new offsets.
        let lock = self.lock.try_clone().map_err(|e| DbError::io(&dir.join(super::open::LOCK_FILE), e))?;
        *self = MetisDb::open_locked(&dir, options, lock)?;
        Ok(Compacted { oldest, latest, bytes_before, bytes_after, records })
    }
}

/// The offsets of every live record of `data` (see the module documentation).
fn live_records(index: &super::index::Index, data: &[u8], oldest: u64) -> Result<HashSet<u64>, DbError> {
    let mut accounts = Vec::new();
    for versions in index.accounts.values() {
        versions.for_each_live(oldest, |offset| accounts.push(offset));
    }
    let mut live: HashSet<u64> = accounts.iter().copied().collect();
    for versions in index.slots.values().chain(index.block_hashes.values()) {
        versions.for_each_live(oldest, |offset| {
            live.insert(offset);
        });
    }
    let mut roots: Vec<u64> = index.roots.values().map(|r| r.root_node).collect();
    let mut codes = HashSet::new();
    for offset in accounts {
        let Some((kind::ACCOUNT, body)) = format::record_at(data, offset) else {
            return Err(DbError::corrupt(DATA_FILE, offset, "index points at a record of another kind"));
        };
        let record = AccountRecord::read(body)
            .ok_or_else(|| DbError::corrupt(DATA_FILE, offset, "account record does not parse"))?;
        roots.push(record.storage_node);
        if record.exists {
            codes.insert(record.code_hash);
        }
    }
    for hash in codes {
        if let Some(&offset) = index.codes.get(&hash) {
            live.insert(offset);
        }
    }
    // Every node reachable from a retained root; a node seen once has its subtree added.
    let mut stack: Vec<u64> = roots.into_iter().filter(|&o| o != 0).collect();
    while let Some(offset) = stack.pop() {
        if !live.insert(offset) {
            continue;
        }
        let bad = || DbError::corrupt(DATA_FILE, offset, "trie node record does not parse");
        let (k, body) = format::record_at(data, offset).ok_or_else(bad)?;
        if k != kind::NODE {
            return Err(bad());
        }
        stack.extend(trie::child_offsets(body).ok_or_else(bad)?);
    }
    Ok(live)
}

/// Writes the new file: records, batches and their commit records.
struct Copier {
    out: BufWriter<File>,
    /// Bytes written so far (the next record's offset).
    len: u64,
    batch_start: u64,
    batch_crc: crc32fast::Hasher,
    /// The record being built.
    record: Vec<u8>,
    /// Old offset to new offset of every trie node copied (the only records other records
    /// name by offset).
    moved: HashMap<u64, u64>,
}

impl Copier {
    fn new(file: File, header: Header) -> std::io::Result<Copier> {
        let mut out = BufWriter::with_capacity(1 << 20, file);
        out.write_all(&header.encode())?;
        Ok(Copier {
            out,
            len: HEADER_LEN,
            batch_start: HEADER_LEN,
            batch_crc: crc32fast::Hasher::new(),
            record: Vec::new(),
            moved: HashMap::new(),
        })
    }

    /// The new offset of the node at `offset`; 0 (no node) stays 0.
    fn moved_or_empty(&self, offset: u64) -> Option<u64> {
        if offset == 0 {
            Some(0)
        } else {
            self.moved.get(&offset).copied()
        }
    }

    /// Appends the record built in `self.record` to the current batch; it was at `old` in
    /// the old file, and is remembered there when it is a trie node.
    fn copy_record(&mut self, old: u64, node: bool) -> std::io::Result<()> {
        if node {
            self.moved.insert(old, self.len);
        }
        self.batch_crc.update(&self.record);
        self.write_record()
    }

    fn write_record(&mut self) -> std::io::Result<()> {
        self.out.write_all(&self.record)?;
        self.len += self.record.len() as u64;
        self.record.clear();
        Ok(())
    }

    /// Closes the current batch as `version`.
    fn close_batch(&mut self, version: u64, state_root: B256, root_node: u64) -> std::io::Result<()> {
        let crc = std::mem::take(&mut self.batch_crc).finalize();
        CommitRecord { version, state_root, root_node, batch_start: self.batch_start, crc }
            .write(&mut self.record);
        self.write_record()?;
        self.batch_start = self.len;
        Ok(())
    }

    fn finish(self) -> std::io::Result<File> {
        self.out.into_inner().map_err(|e| e.into_error())
    }
}
