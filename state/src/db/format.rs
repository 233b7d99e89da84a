//! MetisDB's on-disk format: the data file's records and the meta file's commit slots.
//!
//! # Files
//!
//! A database is a directory holding three files.
//!
//! - `data.mdb` is append-only. It starts with a 64-byte header (`METISDB` magic, format
//!   number u32, base version u64, generation u64; see [`Header`]) and then holds records,
//!   each framed as `kind: u8, body_len: u32, body`. Integers are little-endian. A record is
//!   never changed once written; a record's file offset is its identity (trie nodes point at
//!   their children by offset).
//! - `meta.mdb` holds two 128-byte slots. A commit writes the slot it did not write last, so a
//!   torn write of one slot leaves the other intact. A slot holds a sequence number, the
//!   committed version, the committed length of `data.mdb`, the state root, the generation
//!   of the data file it commits, and a CRC-32 of the slot. The valid slot with the higher
//!   sequence number is the current one. (Slots of the first layout, magic `MDBMETA`, have no
//!   generation and name generation 0.)
//! - `LOCK` is empty; an open database holds an exclusive lock on it, so a second process
//!   (or a second open in the same process) is refused instead of corrupting the files.
//!
//! # Compaction
//!
//! [`super::MetisDb::compact`] writes `data.mdb.compact`: a header with the next generation
//! and the oldest retained version as base, a base batch with every record that version still
//! reads (trie nodes reachable from a retained root, the newest flat record of each key at or
//! below the base, the codes live accounts name), then each later version's batch with its own
//! live records; nodes and account records point at their children's new offsets. The file is
//! synced, then a meta slot naming the new generation and length is written and synced, which
//! is the moment the compaction happens; then the file is renamed over `data.mdb`. Opening
//! finishes that rename if a crash came between the two, and deletes a `data.mdb.compact`
//! whose generation the meta file does not name.
//!
//! # Commits
//!
//! A commit appends one batch to `data.mdb`: the new trie nodes, the new flat account, slot,
//! code and block-hash records, and a closing [`Commit`] record that carries the version, the
//! state root, the offset of the root node and a CRC-32 of the whole batch before it. The data
//! file is synced, then the meta slot is written and synced: the meta slot is what makes the
//! commit happen. Bytes after the committed length are a commit that did not finish and are cut
//! off on open; a data file shorter than the committed length, a batch whose CRC does not match,
//! or a record that does not parse is reported as corruption.
//!
//! # Records
//!
//! | kind | body |
//! | --- | --- |
//! | 1 account | version u64, address [20], exists u8, nonce u64, balance [32] BE, code hash [32], storage root [32], storage root node u64, storage cleared at u64 |
//! | 2 slot | version u64, address [20], slot [32] BE, value [32] BE |
//! | 3 code | code hash [32], code bytes |
//! | 4 block hash | version u64, number u64, hash [32] |
//! | 5 trie node | see [`super::trie`] |
//! | 6 commit | version u64, state root [32], root node u64, batch start u64, batch CRC u32 |
//!
//! "Storage cleared at" is the last version at which the account's storage was wiped (it was
//! created anew or deleted); slot records older than it no longer count.

use super::DbError;
use metisvm_vm::primitives::{Address, B256, U256};

/// Magic bytes at the start of `data.mdb`.
pub(crate) const DATA_MAGIC: &[u8; 8] = b"METISDB\0";
/// Magic bytes at the start of each meta slot of the first layout (no generation).
pub(crate) const META_MAGIC_V1: &[u8; 8] = b"MDBMETA\0";
/// Magic bytes at the start of each meta slot that carries a generation.
pub(crate) const META_MAGIC: &[u8; 8] = b"MDBMET2\0";
/// The format number written in the header; files of another number are refused.
pub(crate) const FORMAT: u32 = 1;
/// Length of the data file's header; the first record starts here.
pub(crate) const HEADER_LEN: u64 = 64;
/// Length of one meta slot.
pub(crate) const META_SLOT_LEN: usize = 128;
/// Length of a record's frame (kind and body length).
pub(crate) const FRAME_LEN: usize = 5;

/// Record kinds.
pub(crate) mod kind {
    pub(crate) const ACCOUNT: u8 = 1;
    pub(crate) const SLOT: u8 = 2;
    pub(crate) const CODE: u8 = 3;
    pub(crate) const BLOCK_HASH: u8 = 4;
    pub(crate) const NODE: u8 = 5;
    pub(crate) const COMMIT: u8 = 6;
}

/// What the data file's header says besides its format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Header {
    /// The first version the file holds (0: the file starts from the empty state). A
    /// compacted file starts with a base batch of this version that holds every record its
    /// versions still read, whatever version wrote them.
    pub(crate) base_version: u64,
    /// How many times the database was compacted; the meta slot names the generation of the
    /// data file it commits.
    pub(crate) generation: u64,
}

impl Header {
    /// The header's bytes.
    pub(crate) fn encode(&self) -> [u8; HEADER_LEN as usize] {
        let mut h = [0u8; HEADER_LEN as usize];
        h[..8].copy_from_slice(DATA_MAGIC);
        h[8..12].copy_from_slice(&FORMAT.to_le_bytes());
        h[12..20].copy_from_slice(&self.base_version.to_le_bytes());
        h[20..28].copy_from_slice(&self.generation.to_le_bytes());
        h
    }

    /// Checks and reads the header of `bytes` (a data file named `file` in errors).
    pub(crate) fn decode(bytes: &[u8], file: &str) -> Result<Header, DbError> {
        if bytes.len() < HEADER_LEN as usize || &bytes[..8] != DATA_MAGIC {
            return Err(DbError::corrupt(file, 0, "not a MetisDB data file (bad magic)"));
        }
        let format = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
        if format != FORMAT {
            return Err(DbError::corrupt(file, 8, format!("format {format}, this build reads {FORMAT}")));
        }
        let field = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
        Ok(Header { base_version: field(12), generation: field(20) })
    }
}

/// A flat account record: the account as of `version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AccountRecord {
    pub(crate) version: u64,
    pub(crate) address: Address,
    /// False for a deleted account.
    pub(crate) exists: bool,
    pub(crate) nonce: u64,
    pub(crate) balance: U256,
    pub(crate) code_hash: B256,
    pub(crate) storage_root: B256,
    /// Offset of the storage trie's root node; 0 for an empty storage trie.
    pub(crate) storage_node: u64,
    /// Slot records older than this version do not count.
    pub(crate) storage_cleared_at: u64,
}

/// Body length of an account record.
pub(crate) const ACCOUNT_LEN: usize = 8 + 20 + 1 + 8 + 32 + 32 + 32 + 8 + 8;
/// Body length of a slot record.
pub(crate) const SLOT_LEN: usize = 8 + 20 + 32 + 32;
/// Body length of a block-hash record.
pub(crate) const BLOCK_HASH_LEN: usize = 8 + 8 + 32;
/// Body length of a commit record.
pub(crate) const COMMIT_LEN: usize = 8 + 32 + 8 + 8 + 4;

/// A commit record: closes a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CommitRecord {
    pub(crate) version: u64,
    pub(crate) state_root: B256,
    pub(crate) root_node: u64,
    pub(crate) batch_start: u64,
    pub(crate) crc: u32,
}

/// Appends the frame of a record of `kind` with a body of `len` bytes.
pub(crate) fn frame(out: &mut Vec<u8>, kind: u8, len: usize) {
    out.push(kind);
    out.extend_from_slice(&(len as u32).to_le_bytes());
}

impl AccountRecord {
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        frame(out, kind::ACCOUNT, ACCOUNT_LEN);
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend_from_slice(self.address.as_slice());
        out.push(self.exists as u8);
        out.extend_from_slice(&self.nonce.to_le_bytes());
        out.extend_from_slice(&self.balance.to_be_bytes::<32>());
        out.extend_from_slice(self.code_hash.as_slice());
        out.extend_from_slice(self.storage_root.as_slice());
        out.extend_from_slice(&self.storage_node.to_le_bytes());
        out.extend_from_slice(&self.storage_cleared_at.to_le_bytes());
    }

    pub(crate) fn read(body: &[u8]) -> Option<AccountRecord> {
        let mut r = Reader(body);
        let record = AccountRecord {
            version: r.u64()?,
            address: Address::from_slice(r.take(20)?),
            exists: r.u8()? != 0,
            nonce: r.u64()?,
            balance: U256::from_be_slice(r.take(32)?),
            code_hash: B256::from_slice(r.take(32)?),
            storage_root: B256::from_slice(r.take(32)?),
            storage_node: r.u64()?,
            storage_cleared_at: r.u64()?,
        };
        r.0.is_empty().then_some(record)
    }
}

/// Appends a slot record.
pub(crate) fn write_slot(out: &mut Vec<u8>, version: u64, address: &Address, slot: &U256, value: &U256) {
    frame(out, kind::SLOT, SLOT_LEN);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(address.as_slice());
    out.extend_from_slice(&slot.to_be_bytes::<32>());
    out.extend_from_slice(&value.to_be_bytes::<32>());
}

/// A slot record's (version, address, slot, value).
pub(crate) fn read_slot(body: &[u8]) -> Option<(u64, Address, U256, U256)> {
    let mut r = Reader(body);
    let fields = (
        r.u64()?,
        Address::from_slice(r.take(20)?),
        U256::from_be_slice(r.take(32)?),
        U256::from_be_slice(r.take(32)?),
    );
    r.0.is_empty().then_some(fields)
}

/// Appends a code record.
pub(crate) fn write_code(out: &mut Vec<u8>, hash: &B256, code: &[u8]) {
    frame(out, kind::CODE, 32 + code.len());
    out.extend_from_slice(hash.as_slice());
    out.extend_from_slice(code);
}

/// Appends a block-hash record.
pub(crate) fn write_block_hash(out: &mut Vec<u8>, version: u64, number: u64, hash: &B256) {
    frame(out, kind::BLOCK_HASH, BLOCK_HASH_LEN);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&number.to_le_bytes());
    out.extend_from_slice(hash.as_slice());
}

/// A block-hash record's (version, number, hash).
pub(crate) fn read_block_hash(body: &[u8]) -> Option<(u64, u64, B256)> {
    let mut r = Reader(body);
    let fields = (r.u64()?, r.u64()?, B256::from_slice(r.take(32)?));
    r.0.is_empty().then_some(fields)
}

impl CommitRecord {
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        frame(out, kind::COMMIT, COMMIT_LEN);
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend_from_slice(self.state_root.as_slice());
        out.extend_from_slice(&self.root_node.to_le_bytes());
        out.extend_from_slice(&self.batch_start.to_le_bytes());
        out.extend_from_slice(&self.crc.to_le_bytes());
    }

    pub(crate) fn read(body: &[u8]) -> Option<CommitRecord> {
        let mut r = Reader(body);
        let record = CommitRecord {
            version: r.u64()?,
            state_root: B256::from_slice(r.take(32)?),
            root_node: r.u64()?,
            batch_start: r.u64()?,
            crc: r.u32()?,
        };
        r.0.is_empty().then_some(record)
    }
}

/// One slot of the meta file: what was committed last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MetaSlot {
    pub(crate) seq: u64,
    pub(crate) version: u64,
    pub(crate) committed_len: u64,
    pub(crate) state_root: B256,
    /// The generation of the data file this slot commits (see [`Header::generation`]).
    pub(crate) generation: u64,
}

impl MetaSlot {
    pub(crate) fn encode(&self) -> [u8; META_SLOT_LEN] {
        let mut out = Vec::with_capacity(META_SLOT_LEN);
        out.extend_from_slice(META_MAGIC);
        out.extend_from_slice(&self.seq.to_le_bytes());
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend_from_slice(&self.committed_len.to_le_bytes());
        out.extend_from_slice(self.state_root.as_slice());
        out.extend_from_slice(&self.generation.to_le_bytes());
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out.resize(META_SLOT_LEN, 0);
        out.try_into().expect("slot length")
    }

    /// The slot in `bytes`, or `None` when it is blank, torn or corrupt.
    pub(crate) fn decode(bytes: &[u8]) -> Option<MetaSlot> {
        let v1 = bytes.get(..8)? == META_MAGIC_V1;
        if !v1 && bytes.get(..8)? != META_MAGIC {
            return None;
        }
        let body_len = if v1 { 8 + 8 + 8 + 8 + 32 } else { 8 + 8 + 8 + 8 + 32 + 8 };
        let crc = u32::from_le_bytes(bytes.get(body_len..body_len + 4)?.try_into().ok()?);
        if crc32fast::hash(&bytes[..body_len]) != crc {
            return None;
        }
        let mut r = Reader(&bytes[8..body_len]);
        Some(MetaSlot {
            seq: r.u64()?,
            version: r.u64()?,
            committed_len: r.u64()?,
            state_root: B256::from_slice(r.take(32)?),
            generation: if v1 { 0 } else { r.u64()? },
        })
    }
}

/// A cursor over a record body; every read fails cleanly on short input.
pub(crate) struct Reader<'a>(pub(crate) &'a [u8]);

impl<'a> Reader<'a> {
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    pub(crate) fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_le_bytes(b.try_into().expect("2 bytes")))
    }

    pub(crate) fn u32(&mut self) -> Option<u32> {
        self.take(4).map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
    }

    pub(crate) fn u64(&mut self) -> Option<u64> {
        self.take(8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }
}

/// The record at `offset` of `data`: its kind and body; `None` if the frame runs past the end.
pub(crate) fn record_at(data: &[u8], offset: u64) -> Option<(u8, &[u8])> {
    let start = usize::try_from(offset).ok()?;
    let frame = data.get(start..start.checked_add(FRAME_LEN)?)?;
    let len = u32::from_le_bytes(frame[1..5].try_into().expect("4 bytes")) as usize;
    let body = data.get(start + FRAME_LEN..(start + FRAME_LEN).checked_add(len)?)?;
    Some((frame[0], body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_record_round_trips() {
        let record = AccountRecord {
            version: 7,
            address: Address::with_last_byte(9),
            exists: true,
            nonce: u64::MAX,
            balance: U256::MAX,
            code_hash: B256::with_last_byte(1),
            storage_root: B256::with_last_byte(2),
            storage_node: 1234,
            storage_cleared_at: 3,
        };
        let mut out = Vec::new();
        record.write(&mut out);
        assert_eq!(out.len(), FRAME_LEN + ACCOUNT_LEN);
        let (kind, body) = record_at(&out, 0).unwrap();
        assert_eq!(kind, kind::ACCOUNT);
        assert_eq!(AccountRecord::read(body), Some(record));
        assert_eq!(AccountRecord::read(&body[1..]), None);
        assert_eq!(record_at(&out[..out.len() - 1], 0), None);
    }

    #[test]
    fn meta_slot_detects_damage() {
        let slot = MetaSlot {
            seq: 3,
            version: 2,
            committed_len: 999,
            state_root: B256::with_last_byte(4),
            generation: 5,
        };
        let mut bytes = slot.encode();
        assert_eq!(MetaSlot::decode(&bytes), Some(slot));
        bytes[20] ^= 1;
        assert_eq!(MetaSlot::decode(&bytes), None);
        assert_eq!(MetaSlot::decode(&[0u8; META_SLOT_LEN]), None);
    }

    #[test]
    fn meta_slots_of_the_first_layout_name_generation_zero() {
        let mut bytes = vec![0u8; META_SLOT_LEN];
        bytes[..8].copy_from_slice(META_MAGIC_V1);
        bytes[8..16].copy_from_slice(&4u64.to_le_bytes());
        bytes[16..24].copy_from_slice(&3u64.to_le_bytes());
        bytes[24..32].copy_from_slice(&640u64.to_le_bytes());
        bytes[32..64].copy_from_slice(B256::with_last_byte(7).as_slice());
        let crc = crc32fast::hash(&bytes[..64]);
        bytes[64..68].copy_from_slice(&crc.to_le_bytes());
        let slot = MetaSlot::decode(&bytes).expect("a valid first-layout slot");
        assert_eq!((slot.seq, slot.version, slot.committed_len, slot.generation), (4, 3, 640, 0));
        assert_eq!(slot.state_root, B256::with_last_byte(7));
    }

    #[test]
    fn header_round_trips_and_refuses_other_files() {
        let header = Header { base_version: 12, generation: 3 };
        assert_eq!(Header::decode(&header.encode(), "data.mdb").unwrap(), header);
        assert!(
            Header::decode(b"not a database at all, but long enough to hold a header.........", "x").is_err()
        );
        assert!(Header::decode(&header.encode()[..20], "x").is_err());
    }
}
