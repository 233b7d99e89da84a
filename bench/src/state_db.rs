//! `metisvm bench state`: MetisDB on a large state. Builds a state of N accounts (every tenth
//! with ten storage slots), then measures, in one run:
//!
//! - commits of random batches of account and slot updates with their new state root, as
//!   updates per second and against two baselines on the same state and batches: recomputing
//!   the root from scratch with the reference builder, and applying the batch to an in-memory
//!   map (the [`MemoryState`] of the conformance runners, which computes no root);
//! - snapshot reads of a hot account (read over and over) and of cold ones (each read once,
//!   right after the database is reopened, so every read is the first touch of its page
//!   through the new map);
//! - the data file's size per million accounts and the process's resident memory;
//! - reopening (the index is rebuilt by a scan of the data file, which checks every batch),
//!   and a compaction, which drops the records of the versions pruned by then.

use metisvm_state::{MemoryState, MetisDb, Options};
use metisvm_vm::primitives::{keccak256, Address, B256, U256};
use metisvm_vm::{AccountChange, AccountInfo, StateDiff, StateWriter};
use std::path::Path;
use std::time::Instant;

/// What to build and measure.
#[derive(Debug, Clone, Copy)]
pub struct StateBenchOptions {
    /// Accounts in the state.
    pub accounts: u64,
    /// Account updates per commit (as many slot updates come with them).
    pub batch: u64,
    /// Timed commits.
    pub rounds: u64,
}

/// The figures of one run.
#[derive(Debug, Clone)]
pub struct StateBenchReport {
    /// Accounts and slots in the state.
    pub accounts: u64,
    /// Storage slots in the state.
    pub slots: u64,
    /// Seconds to build the state (committed in chunks).
    pub build_seconds: f64,
    /// Account plus slot updates per commit.
    pub updates_per_commit: u64,
    /// Median seconds per commit, root included.
    pub commit_seconds: f64,
    /// Median seconds to apply the same batch to the in-memory map.
    pub memory_apply_seconds: f64,
    /// Seconds to compute the root of the whole state from scratch.
    pub full_root_seconds: f64,
    /// Median nanoseconds of a hot account read from a snapshot.
    pub hot_read_ns: f64,
    /// Median nanoseconds of a cold account read (first touch after reopening).
    pub cold_read_ns: f64,
    /// Median nanoseconds of a hot storage read.
    pub hot_slot_read_ns: f64,
    /// Bytes of data file.
    pub file_bytes: u64,
    /// Seconds to reopen the database (scan, checks and index).
    pub open_seconds: f64,
    /// Seconds to compact it, and the data file's bytes after.
    pub compact_seconds: f64,
    /// Bytes of data file after the compaction.
    pub compacted_bytes: u64,
    /// Resident memory now and at its peak, in bytes (Linux; 0 elsewhere).
    pub rss_bytes: (u64, u64),
}

impl StateBenchReport {
    /// Account and slot updates committed per second, root included.
    pub fn updates_per_second(&self) -> f64 {
        self.updates_per_commit as f64 / self.commit_seconds
    }
}

/// A small seeded generator (SplitMix64).
struct Seq(u64);

impl Seq {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

fn address(n: u64) -> Address {
    Address::from_slice(&keccak256(n.to_be_bytes()).0[..20])
}

fn info(balance: u64, nonce: u64) -> AccountInfo {
    AccountInfo { balance: U256::from(balance), nonce, ..AccountInfo::default() }
}

/// Accounts `from..to` as a diff creating them: every tenth with slots 0..10.
pub fn creation(from: u64, to: u64) -> StateDiff {
    (from..to)
        .map(|n| {
            let storage = if n % 10 == 0 {
                (0..10u64).map(|s| (U256::from(s), U256::from(n + s + 1))).collect()
            } else {
                Default::default()
            };
            (address(n), AccountChange::Updated { info: info(n + 1, 1), storage_cleared: false, storage })
        })
        .collect()
}

/// A batch of `batch` updates of existing accounts; every other one is a storage account that
/// also gets two slots written, so the batch holds about as many slot updates as accounts.
fn random_batch(seq: &mut Seq, accounts: u64, batch: u64, round: u64) -> StateDiff {
    let mut diff = StateDiff::default();
    while (diff.len() as u64) < batch {
        let n = seq.next() % accounts;
        let storage_account = n - n % 10;
        let storage: hashbrown::HashMap<U256, U256> = if diff.len() % 2 == 0 {
            (0..2u64).map(|k| (U256::from((seq.next() + k) % 20), U256::from(seq.next() | 1))).collect()
        } else {
            Default::default()
        };
        let target = if storage.is_empty() { n } else { storage_account };
        diff.insert(
            address(target),
            AccountChange::Updated {
                info: info(seq.next() % (1 << 50), round + 2),
                storage_cleared: false,
                storage,
            },
        );
    }
    diff
}

/// A batch of `batch` account updates (with about as many slot updates) over a state built by
/// [`creation`] with `accounts` accounts, drawn from `seed`.
pub fn update_batch(seed: u64, accounts: u64, batch: u64) -> StateDiff {
    random_batch(&mut Seq(seed), accounts, batch, seed)
}

fn updates_in(diff: &StateDiff) -> u64 {
    diff.values()
        .map(|c| match c {
            AccountChange::Updated { storage, .. } => 1 + storage.len() as u64,
            AccountChange::Deleted => 1,
        })
        .sum()
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}

/// Resident and peak resident memory of this process.
fn rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Builds the state in `dir` (which must not hold a database) and measures it.
pub fn run(
    dir: &Path,
    options: StateBenchOptions,
    progress: impl Fn(&str),
) -> anyhow::Result<StateBenchReport> {
    let n = options.accounts.max(100);
    let opts = Options { retain: 16, sync: false };
    let db = MetisDb::open(dir, opts)?;
    let mut memory = MemoryState::new();
    let started = Instant::now();
    let chunk = 100_000;
    for from in (0..n).step_by(chunk as usize) {
        let diff = creation(from, (from + chunk).min(n));
        db.commit(&diff, &[])?;
        memory.commit(&diff);
        progress(&format!("built {} of {n} accounts", (from + chunk).min(n)));
    }
    let build_seconds = started.elapsed().as_secs_f64();
    let slots = n.div_ceil(10) * 10;

    let mut seq = Seq(1);
    let (mut commits, mut applies) = (Vec::new(), Vec::new());
    let mut updates = 0;
    for round in 0..options.rounds.max(1) {
        let diff = random_batch(&mut seq, n, options.batch, round);
        updates = updates_in(&diff);
        let t = Instant::now();
        let committed = db.commit(&diff, &[])?;
        commits.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        memory.commit(&diff);
        applies.push(t.elapsed().as_secs_f64());
        if round == 0 {
            // The incremental root must be the reference root.
            anyhow::ensure!(
                committed.state_root == memory.state_root(),
                "MetisDB root differs from the reference"
            );
        }
        progress(&format!("commit {} of {}", round + 1, options.rounds));
    }
    let t = Instant::now();
    let reference: B256 = memory.state_root();
    let full_root_seconds = t.elapsed().as_secs_f64();
    anyhow::ensure!(reference == db.state_root()?, "MetisDB root differs from the reference");

    let snapshot = db.snapshot()?;
    let hot = address(7);
    let hot_slot_account = address(10);
    let mut hot_reads = Vec::new();
    let mut hot_slot_reads = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        for _ in 0..1000 {
            std::hint::black_box(snapshot.account(std::hint::black_box(&hot))?);
        }
        hot_reads.push(t.elapsed().as_nanos() as f64 / 1000.0);
        let t = Instant::now();
        for _ in 0..1000 {
            std::hint::black_box(snapshot.storage(&hot_slot_account, std::hint::black_box(U256::from(3)))?);
        }
        hot_slot_reads.push(t.elapsed().as_nanos() as f64 / 1000.0);
    }
    drop(snapshot);
    let file_bytes = db.info()?.data_bytes;
    drop(db);
    drop(memory);

    progress("reopening");
    let t = Instant::now();
    let mut db = MetisDb::open(dir, opts)?;
    let open_seconds = t.elapsed().as_secs_f64();
    progress("compacting");
    let t = Instant::now();
    let compacted = db.compact()?;
    let compact_seconds = t.elapsed().as_secs_f64();
    anyhow::ensure!(
        reference == db.state_root()?,
        "MetisDB root differs from the reference after compaction"
    );
    let snapshot = db.snapshot()?;
    let mut cold_reads = Vec::new();
    for _ in 0..2000 {
        let target = address(seq.next() % n);
        let t = Instant::now();
        std::hint::black_box(snapshot.account(&target)?);
        cold_reads.push(t.elapsed().as_nanos() as f64);
    }
    let rss_bytes = rss();
    Ok(StateBenchReport {
        accounts: n,
        slots,
        build_seconds,
        updates_per_commit: updates,
        commit_seconds: median(commits),
        memory_apply_seconds: median(applies),
        full_root_seconds,
        hot_read_ns: median(hot_reads),
        cold_read_ns: median(cold_reads),
        hot_slot_read_ns: median(hot_slot_reads),
        file_bytes,
        open_seconds,
        compact_seconds,
        compacted_bytes: compacted.bytes_after,
        rss_bytes,
    })
}
