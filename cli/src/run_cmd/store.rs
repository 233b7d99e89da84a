//! Where `metisvm run` keeps its state: in memory for one run, or in a MetisDB directory that
//! the next run opens again.

use super::devstate;
use super::output::DiffBase;
use anyhow::{Context, Result};
use metisvm_state::{MemoryState, MetisDb, Options, Snapshot};
use metisvm_vm::{StateDiff, StateWriter};
use std::path::Path;

/// A state transactions run against and commit to.
pub(crate) trait Store {
    /// What the interpreter reads.
    type Reader: DiffBase;
    /// The current state.
    fn reader(&self) -> &Self::Reader;
    /// Commits one transaction's changes.
    fn commit(&mut self, diff: &StateDiff) -> Result<()>;
}

impl Store for MemoryState {
    type Reader = MemoryState;

    fn reader(&self) -> &MemoryState {
        self
    }

    fn commit(&mut self, diff: &StateDiff) -> Result<()> {
        StateWriter::commit(self, diff);
        Ok(())
    }
}

/// A MetisDB directory and a snapshot of its newest version; each commit is a new version.
pub(crate) struct DbStore {
    db: MetisDb,
    snapshot: Snapshot,
}

impl DbStore {
    /// Opens (or creates) the database in `dir`; a new one starts with the dev accounts.
    pub(crate) fn open(dir: &Path) -> Result<DbStore> {
        let db = MetisDb::open(dir, Options::default())
            .with_context(|| format!("option --db: cannot open MetisDB at {}", dir.display()))?;
        if db.latest() == 0 {
            let genesis = devstate::dev_state().to_diff();
            db.commit(&genesis, &[])
                .with_context(|| format!("{}: cannot write the dev state", dir.display()))?;
        }
        let snapshot = db.snapshot()?;
        Ok(DbStore { db, snapshot })
    }

    /// One line naming the database, its version and its root.
    pub(crate) fn summary(&self) -> Result<String> {
        Ok(format!(
            "state: MetisDB {} at version {}, state root {}",
            self.db.dir().display(),
            self.snapshot.version(),
            self.snapshot.state_root()
        ))
    }
}

impl Store for DbStore {
    type Reader = Snapshot;

    fn reader(&self) -> &Snapshot {
        &self.snapshot
    }

    fn commit(&mut self, diff: &StateDiff) -> Result<()> {
        let dir = self.db.dir().display().to_string();
        self.db.commit(diff, &[]).with_context(|| format!("{dir}: commit failed"))?;
        self.snapshot = self.db.snapshot()?;
        Ok(())
    }
}
