//! Opening a database: taking the directory's lock, creating a fresh database, recovering
//! from an unfinished commit or compaction, checking every committed batch against its CRC,
//! and rebuilding the version index.

use super::format::{self, kind, AccountRecord, CommitRecord, Header, MetaSlot, HEADER_LEN, META_SLOT_LEN};
use super::index::{Index, VersionRoot};
use super::{DbError, MetisDb, Options, Shared, Writer};
use crate::trie::EMPTY_ROOT_HASH;
use memmap2::{Mmap, MmapOptions};
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

pub(crate) const DATA_FILE: &str = "data.mdb";
pub(crate) const META_FILE: &str = "meta.mdb";
/// A compacted data file on its way to replacing `data.mdb` (see [`super::format`]).
pub(crate) const COMPACT_FILE: &str = "data.mdb.compact";
/// The file an open database holds locked.
pub(crate) const LOCK_FILE: &str = "LOCK";

/// Maps `file` with room to grow: the map covers at least `len` bytes and is replaced only
/// when the file outgrows it. Bytes past the file's end are never read.
pub(crate) fn map_file(file: &File, path: &Path, len: u64) -> Result<Arc<Mmap>, DbError> {
    let capacity = (len.max(1 << 20)).next_power_of_two();
    // SAFETY: the data file is only ever appended to by this process's writer, which holds the
    // directory's only writable handle; bytes below the committed length never change, and
    // readers read only below the committed length of the version they hold.
    let map =
        unsafe { MmapOptions::new().len(capacity as usize).map(file) }.map_err(|e| DbError::io(path, e))?;
    Ok(Arc::new(map))
}

impl MetisDb {
    /// Opens the database in `dir`, creating the directory and an empty database (version 0)
    /// when there is none.
    ///
    /// If the last process died in the middle of a commit, the unfinished batch is cut off and
    /// the database opens at the last committed version ([`MetisDb::recovered_bytes`]). A
    /// missing, truncated or damaged file is an error, never a silently older state.
    ///
    /// One open database per directory: a second open, from this process or another, fails
    /// with [`DbError::Locked`] until the first is dropped.
    pub fn open(dir: impl AsRef<Path>, options: Options) -> Result<MetisDb, DbError> {
        let dir = dir.as_ref();
        fs::create_dir_all(dir).map_err(|e| DbError::io(dir, e))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| DbError::io(&lock_path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(DbError::Locked { dir: dir.to_path_buf() }),
            Err(std::fs::TryLockError::Error(e)) => return Err(DbError::io(&lock_path, e)),
        }
        Self::open_locked(dir, options, lock)
    }

    /// Opens the database in `dir`, whose lock `lock` holds.
    pub(super) fn open_locked(dir: &Path, options: Options, lock: File) -> Result<MetisDb, DbError> {
        let data_path = dir.join(DATA_FILE);
        let meta_path = dir.join(META_FILE);
        if !data_path.exists() {
            if meta_path.exists() {
                return Err(DbError::corrupt(DATA_FILE, 0, "missing, but meta.mdb exists"));
            }
            create(dir, options.sync)?;
        }
        let rw = |p: &Path| OpenOptions::new().read(true).write(true).open(p).map_err(|e| DbError::io(p, e));
        let mut meta = match rw(&meta_path) {
            Ok(meta) => meta,
            Err(_) if !meta_path.exists() => {
                return Err(DbError::corrupt(META_FILE, 0, "missing, but data.mdb exists"));
            }
            Err(e) => return Err(e),
        };
        let current = read_meta(&mut meta, &meta_path)?;
        finish_compaction(dir, current.generation)?;
        let mut data = rw(&data_path)?;
        let file_len = data.metadata().map_err(|e| DbError::io(&data_path, e))?.len();
        if file_len < current.committed_len {
            return Err(DbError::corrupt(
                DATA_FILE,
                file_len,
                format!("truncated: {file_len} bytes, but {} were committed", current.committed_len),
            ));
        }
        let recovered = file_len - current.committed_len;
        if recovered > 0 {
            data.set_len(current.committed_len).map_err(|e| DbError::io(&data_path, e))?;
            data.sync_all().map_err(|e| DbError::io(&data_path, e))?;
        }
        let map = map_file(&data, &data_path, current.committed_len)?;
        let index = scan(&map[..current.committed_len as usize], &current, options)?;
        data.seek(SeekFrom::Start(current.committed_len)).map_err(|e| DbError::io(&data_path, e))?;
        let shared = Shared {
            dir: dir.to_path_buf(),
            options,
            index: RwLock::new(index),
            map: RwLock::new(map),
            pins: Mutex::new(BTreeMap::new()),
        };
        let writer = Writer {
            data,
            meta,
            committed_len: current.committed_len,
            seq: current.seq,
            generation: current.generation,
        };
        Ok(MetisDb { shared: Arc::new(shared), writer: Mutex::new(writer), recovered, lock })
    }
}

/// The generation of the data file at `path`, read from its header.
fn generation_of(path: &Path, name: &str) -> Result<u64, DbError> {
    let mut bytes = [0u8; HEADER_LEN as usize];
    let mut file = File::open(path).map_err(|e| DbError::io(path, e))?;
    let read = file.read(&mut bytes).map_err(|e| DbError::io(path, e))?;
    Ok(Header::decode(&bytes[..read], name)?.generation)
}

/// Makes `data.mdb` the data file of `generation` (the meta file's): finishes a compaction
/// that committed but crashed before its rename, and deletes the file of one that did not
/// commit.
fn finish_compaction(dir: &Path, generation: u64) -> Result<(), DbError> {
    let data_path = dir.join(DATA_FILE);
    let compact_path = dir.join(COMPACT_FILE);
    let data_generation = generation_of(&data_path, DATA_FILE)?;
    let compacted = compact_path.exists();
    if data_generation == generation {
        if compacted {
            fs::remove_file(&compact_path).map_err(|e| DbError::io(&compact_path, e))?;
        }
        return Ok(());
    }
    if compacted && generation_of(&compact_path, COMPACT_FILE)? == generation {
        fs::rename(&compact_path, &data_path).map_err(|e| DbError::io(&data_path, e))?;
        sync_dir(dir);
        return Ok(());
    }
    Err(DbError::corrupt(
        DATA_FILE,
        20,
        format!("data file of generation {data_generation}, but meta.mdb commits generation {generation}"),
    ))
}

/// Syncs a directory's entries (renames, new files); best effort where the platform cannot.
pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Writes an empty database: the data file's header, then a meta slot for version 0.
fn create(dir: &Path, sync: bool) -> Result<(), DbError> {
    let data_path = dir.join(DATA_FILE);
    let mut data = File::create(&data_path).map_err(|e| DbError::io(&data_path, e))?;
    data.write_all(&Header::default().encode()).map_err(|e| DbError::io(&data_path, e))?;
    if sync {
        data.sync_all().map_err(|e| DbError::io(&data_path, e))?;
    }
    let meta_path = dir.join(META_FILE);
    let slot = MetaSlot {
        seq: 0,
        version: 0,
        committed_len: HEADER_LEN,
        state_root: EMPTY_ROOT_HASH,
        generation: 0,
    };
    let mut bytes = slot.encode().to_vec();
    bytes.resize(2 * META_SLOT_LEN, 0);
    // Written under a temporary name and renamed, so a crash leaves no half-made meta file.
    let tmp = dir.join("meta.mdb.tmp");
    let mut meta = File::create(&tmp).map_err(|e| DbError::io(&tmp, e))?;
    meta.write_all(&bytes).map_err(|e| DbError::io(&tmp, e))?;
    if sync {
        meta.sync_all().map_err(|e| DbError::io(&tmp, e))?;
    }
    fs::rename(&tmp, &meta_path).map_err(|e| DbError::io(&meta_path, e))?;
    if sync {
        sync_dir(dir);
    }
    Ok(())
}

/// The current meta slot: the valid one with the higher sequence number.
fn read_meta(meta: &mut File, path: &Path) -> Result<MetaSlot, DbError> {
    let mut bytes = Vec::new();
    meta.read_to_end(&mut bytes).map_err(|e| DbError::io(path, e))?;
    bytes.resize(2 * META_SLOT_LEN, 0);
    let a = MetaSlot::decode(&bytes[..META_SLOT_LEN]);
    let b = MetaSlot::decode(&bytes[META_SLOT_LEN..]);
    match (a, b) {
        (Some(a), Some(b)) => Ok(if a.seq >= b.seq { a } else { b }),
        (Some(s), None) | (None, Some(s)) => Ok(s),
        (None, None) => Err(DbError::corrupt(META_FILE, 0, "no valid meta slot")),
    }
}

/// Checks every committed batch and builds the index from the records.
///
/// A compacted file starts at its header's base version, and its first batch (of that
/// version) may hold records written by any version up to it.
fn scan(data: &[u8], meta: &MetaSlot, options: Options) -> Result<Index, DbError> {
    let header = Header::decode(data, DATA_FILE)?;
    let base = header.base_version;
    let horizon = meta.version.saturating_sub(options.retain);
    let mut index = Index::default();
    if base == 0 {
        index.push_root(0, VersionRoot { state_root: EMPTY_ROOT_HASH, root_node: 0 }, horizon);
    }
    let mut at = HEADER_LEN;
    let mut batch_start = HEADER_LEN;
    let mut version = base.max(1);
    let check_version = |found: u64, version: u64, at: u64| {
        let in_base_batch = base > 0 && version == base && found < base;
        if found == version || in_base_batch {
            Ok(())
        } else {
            Err(DbError::corrupt(
                DATA_FILE,
                at,
                format!("record of version {found} inside the batch of {version}"),
            ))
        }
    };
    let end = data.len() as u64;
    while at < end {
        let bad = |reason: &str| DbError::corrupt(DATA_FILE, at, reason);
        let (k, body) =
            format::record_at(data, at).ok_or_else(|| bad("record runs past the committed end"))?;
        match k {
            kind::ACCOUNT => {
                let record = AccountRecord::read(body).ok_or_else(|| bad("account record does not parse"))?;
                check_version(record.version, version, at)?;
                index.push_account(record.address, version, at, horizon);
            }
            kind::SLOT => {
                let (v, address, slot, _) =
                    format::read_slot(body).ok_or_else(|| bad("slot record does not parse"))?;
                check_version(v, version, at)?;
                index.push_slot((address, slot), version, at, horizon);
            }
            kind::CODE => {
                if body.len() < 32 {
                    return Err(bad("code record does not parse"));
                }
                index.codes.insert(metisvm_vm::primitives::B256::from_slice(&body[..32]), at);
            }
            kind::BLOCK_HASH => {
                let (v, number, _) =
                    format::read_block_hash(body).ok_or_else(|| bad("block hash record does not parse"))?;
                check_version(v, version, at)?;
                index.push_block_hash(number, version, at, horizon);
            }
            kind::NODE => {}
            kind::COMMIT => {
                let commit = CommitRecord::read(body).ok_or_else(|| bad("commit record does not parse"))?;
                check_version(commit.version, version, at)?;
                if commit.batch_start != batch_start {
                    return Err(bad("commit record names the wrong batch start"));
                }
                let crc = crc32fast::hash(&data[batch_start as usize..at as usize]);
                if crc != commit.crc {
                    return Err(DbError::corrupt(
                        DATA_FILE,
                        batch_start,
                        format!("batch of version {version} fails its CRC"),
                    ));
                }
                let root = VersionRoot { state_root: commit.state_root, root_node: commit.root_node };
                index.push_root(version, root, horizon);
                version += 1;
                batch_start = at + (format::FRAME_LEN + body.len()) as u64;
            }
            other => return Err(bad(&format!("unknown record kind {other}"))),
        }
        at += (format::FRAME_LEN + body.len()) as u64;
    }
    if batch_start != end {
        return Err(DbError::corrupt(DATA_FILE, batch_start, "committed data ends inside a batch"));
    }
    let latest = index.latest();
    if latest != meta.version {
        return Err(DbError::corrupt(
            META_FILE,
            0,
            format!("meta names version {}, the data file ends at version {latest}", meta.version),
        ));
    }
    let root = index.roots[&latest].state_root;
    if root != meta.state_root {
        return Err(DbError::corrupt(META_FILE, 0, "meta's state root differs from the last commit's"));
    }
    Ok(index)
}
