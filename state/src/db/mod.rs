//! MetisDB: a persistent, memory-mapped Merkle Patricia state store with versioned snapshots.
//!
//! - Every commit is a version: the changes of a block (or of one `metisvm run`) with the
//!   state root they lead to. Version 0 is the empty state.
//! - [`MetisDb::snapshot`] and [`MetisDb::snapshot_at`] give a [`Snapshot`]: a consistent,
//!   read-only view of one retained version, which implements the VM's
//!   [`StateReader`](metisvm_vm::StateReader). Snapshots may be read from any thread while a
//!   commit writes the next version; a live snapshot keeps its version from being pruned.
//! - Reads go through flat records (one per account or slot per version) found by the
//!   in-memory [`index`], never through the trie; the trie is walked only to commit and to
//!   build proofs ([`Snapshot::proof`]).
//! - A commit rehashes only the changed paths of the state trie and of each changed storage
//!   trie ([`trie`]), hashing different accounts' storage tries in parallel.
//! - Commits are atomic and survive a crash at any point; see [`format`] for the files and
//!   how a commit is made durable, and [`MetisDb::open`] for recovery.
//! - [`MetisDb::compact`] rewrites the data file with only what the retained versions read
//!   (`compact.rs`), as atomically as a commit.

mod commit;
mod compact;
pub(crate) mod format;
pub(crate) mod index;
mod open;
pub mod proof;
mod raw;
mod snapshot;
pub(crate) mod trie;

pub use commit::Committed;
pub use compact::Compacted;
pub use proof::{verify_account_proof, AccountProof, ProofError, StorageProof};
pub use raw::RawTrie;
pub use snapshot::Snapshot;

use index::Index;
use memmap2::Mmap;
use metisvm_vm::primitives::B256;
use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

/// What can go wrong opening, reading or committing to a MetisDB.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
    /// A file does not hold what MetisDB wrote: damaged, truncated, or not a MetisDB file.
    #[error("{file} is corrupt at byte {offset}: {reason}")]
    Corrupt {
        /// The file, relative to the database directory.
        file: String,
        /// Where the damage was found.
        offset: u64,
        /// What was wrong.
        reason: String,
    },
    /// The version asked for was pruned or never committed.
    #[error("version {version} is not retained (retained: {oldest}..={latest})")]
    NoSuchVersion {
        /// The version asked for.
        version: u64,
        /// The oldest retained version.
        oldest: u64,
        /// The newest committed version.
        latest: u64,
    },
    /// Another open database (in this process or another) holds the directory.
    #[error("{dir} is in use: another open MetisDB holds its LOCK file")]
    Locked {
        /// The database directory.
        dir: PathBuf,
    },
    /// Compaction needs the database to itself, but snapshots of it are still alive.
    #[error("cannot compact while {0} snapshot(s) of the database are alive")]
    SnapshotsAlive(usize),
    /// A lock was poisoned by a thread that panicked while holding it.
    #[error("MetisDB lock poisoned: a thread panicked while holding it")]
    Poisoned,
}

impl DbError {
    pub(crate) fn corrupt(file: &str, offset: u64, reason: impl Into<String>) -> DbError {
        DbError::Corrupt { file: file.to_string(), offset, reason: reason.into() }
    }

    pub(crate) fn io(path: &Path, source: std::io::Error) -> DbError {
        DbError::Io { path: path.to_path_buf(), source }
    }
}

impl<T> From<std::sync::PoisonError<T>> for DbError {
    fn from(_: std::sync::PoisonError<T>) -> Self {
        DbError::Poisoned
    }
}

/// How a database is opened.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// How many versions below the newest stay readable (older ones are pruned unless a live
    /// snapshot holds them).
    pub retain: u64,
    /// Whether a commit waits for its data to reach the disk (`fsync`). Without it a commit
    /// still survives the process being killed, but not a power loss.
    pub sync: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { retain: 128, sync: true }
    }
}

/// The state the writer and every snapshot share.
#[derive(Debug)]
struct Shared {
    dir: PathBuf,
    options: Options,
    index: RwLock<Index>,
    /// A map of the data file covering at least every committed byte.
    map: RwLock<Arc<Mmap>>,
    /// Live snapshots per version: pruning never passes the oldest.
    pins: Mutex<BTreeMap<u64, usize>>,
}

impl Shared {
    /// The oldest version pruning must keep.
    fn horizon(&self, latest: u64) -> Result<u64, DbError> {
        let by_depth = latest.saturating_sub(self.options.retain);
        let pinned = self.pins.lock()?.first_key_value().map(|(v, _)| *v);
        Ok(pinned.map_or(by_depth, |p| p.min(by_depth)))
    }
}

/// The writer's files and position.
#[derive(Debug)]
struct Writer {
    data: File,
    meta: File,
    committed_len: u64,
    seq: u64,
    /// The data file's generation (see [`format::Header`]).
    generation: u64,
}

/// A MetisDB database, open for reading and writing. It holds its directory's lock until it
/// is dropped: one open database per directory.
#[derive(Debug)]
pub struct MetisDb {
    shared: Arc<Shared>,
    writer: Mutex<Writer>,
    recovered: u64,
    /// The locked `LOCK` file.
    lock: File,
}

/// A summary of a database: what `metisvm db` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbInfo {
    /// The newest version.
    pub latest: u64,
    /// The retained versions with their state roots, oldest first.
    pub versions: Vec<(u64, B256)>,
    /// Accounts with a record (live or deleted), slots with a record, distinct codes.
    pub accounts: usize,
    /// Storage slots with a record.
    pub slots: usize,
    /// Distinct codes stored.
    pub codes: usize,
    /// Size of the committed data.
    pub data_bytes: u64,
}

impl MetisDb {
    /// The newest committed version.
    pub fn latest(&self) -> u64 {
        self.shared.index.read().map(|i| i.latest()).unwrap_or(0)
    }

    /// The state root of the newest version.
    pub fn state_root(&self) -> Result<B256, DbError> {
        Ok(self.snapshot()?.state_root())
    }

    /// A snapshot of the newest version.
    pub fn snapshot(&self) -> Result<Snapshot, DbError> {
        let latest = self.shared.index.read()?.latest();
        self.snapshot_at(latest)
    }

    /// A snapshot of `version`, which must be retained.
    pub fn snapshot_at(&self, version: u64) -> Result<Snapshot, DbError> {
        Snapshot::new(self.shared.clone(), version)
    }

    /// Bytes cut off the end of the data file on open: a commit the last process did not
    /// finish (0 after a clean shutdown).
    pub fn recovered_bytes(&self) -> u64 {
        self.recovered
    }

    /// The directory the database lives in.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// Versions, roots and sizes.
    pub fn info(&self) -> Result<DbInfo, DbError> {
        let committed = self.writer.lock()?.committed_len;
        let index = self.shared.index.read()?;
        Ok(DbInfo {
            latest: index.latest(),
            versions: index.roots.iter().map(|(v, r)| (*v, r.state_root)).collect(),
            accounts: index.accounts.len(),
            slots: index.slots.len(),
            codes: index.codes.len(),
            data_bytes: committed,
        })
    }
}
