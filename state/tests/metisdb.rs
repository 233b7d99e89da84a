//! MetisDB against the in-memory reference state: roots after every commit, reads from old
//! snapshots while newer versions are written, proofs, reopening, pruning and damage.

mod common;

use common::{address, applied, diff_of_version, temp_dir, Shape};
use metisvm_state::db::{verify_account_proof, DbError, MetisDb, Options};
use metisvm_state::{MemoryState, Snapshot};
use metisvm_vm::primitives::{B256, U256};
use metisvm_vm::{StateDiff, StateReader};

const SHAPE: Shape = Shape { accounts: 60, slots: 40, per_diff: 12, slots_per_account: 8 };

fn no_sync(retain: u64) -> Options {
    Options { retain, sync: false }
}

/// Every account and slot of the pool reads the same from `snap` as from `reference`.
fn assert_same_reads(snap: &Snapshot, reference: &MemoryState) {
    for n in 0..SHAPE.accounts {
        let addr = address(n);
        let expected = reference.account(addr).unwrap();
        let found = StateReader::account(snap, addr).unwrap();
        assert_eq!(
            found.as_ref().map(|a| (a.balance, a.nonce, a.code_hash)),
            expected.as_ref().map(|a| (a.balance, a.nonce, a.code_hash)),
            "account {n} at version {}",
            snap.version()
        );
        if let Some(info) = &expected {
            assert_eq!(
                snap.code_by_hash(info.code_hash).unwrap(),
                reference.code_by_hash(info.code_hash).unwrap()
            );
        }
        assert_eq!(snap.has_storage(addr).unwrap(), reference.has_storage(addr).unwrap(), "has_storage {n}");
        for s in 0..SHAPE.slots {
            let slot = U256::from(s);
            assert_eq!(
                StateReader::storage(snap, addr, slot).unwrap(),
                reference.storage(addr, slot).unwrap(),
                "account {n} slot {s} at version {}",
                snap.version()
            );
        }
    }
}

#[test]
fn roots_and_snapshots_match_the_reference() {
    let dir = temp_dir("reference");
    let db = MetisDb::open(&dir, no_sync(1000)).unwrap();
    let mut states = vec![MemoryState::new()];
    let mut held: Vec<Snapshot> = Vec::new();
    for version in 1..=80u64 {
        let diff = diff_of_version(7, version, states.last().unwrap(), SHAPE);
        let committed = db.commit(&diff, &[(version, B256::with_last_byte(version as u8))]).unwrap();
        let next = applied(states.last().unwrap(), &diff);
        assert_eq!(committed.version, version);
        assert_eq!(committed.state_root, next.state_root(), "root of version {version}");
        states.push(next);
        if version % 10 == 0 {
            held.push(db.snapshot().unwrap());
        }
        // Held snapshots keep reading their own version while newer ones are written.
        if version % 20 == 0 {
            for snap in &held {
                assert_same_reads(snap, &states[snap.version() as usize]);
            }
        }
    }
    // Any retained version, taken after the fact.
    for version in [0u64, 1, 33, 79, 80] {
        let snap = db.snapshot_at(version).unwrap();
        assert_eq!(snap.state_root(), states[version as usize].state_root());
        assert_same_reads(&snap, &states[version as usize]);
        assert_eq!(
            snap.block_hash(version).unwrap(),
            if version == 0 { B256::ZERO } else { B256::with_last_byte(version as u8) }
        );
    }
    let root = db.state_root().unwrap();
    drop(held);
    drop(db);
    let reopened = MetisDb::open(&dir, no_sync(1000)).unwrap();
    assert_eq!(reopened.latest(), 80);
    assert_eq!(reopened.state_root().unwrap(), root);
    assert_eq!(reopened.recovered_bytes(), 0);
    assert_same_reads(&reopened.snapshot_at(80).unwrap(), &states[80]);
    assert_same_reads(&reopened.snapshot_at(40).unwrap(), &states[40]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn proofs_verify_against_the_root() {
    let dir = temp_dir("proofs");
    let db = MetisDb::open(&dir, no_sync(16)).unwrap();
    let mut state = MemoryState::new();
    for version in 1..=30 {
        let diff = diff_of_version(11, version, &state, SHAPE);
        db.commit(&diff, &[]).unwrap();
        state = applied(&state, &diff);
    }
    let snap = db.snapshot().unwrap();
    let slots: Vec<U256> = (0..SHAPE.slots).map(U256::from).collect();
    let mut present = 0;
    for n in 0..SHAPE.accounts {
        let proof = snap.proof(&address(n), &slots).unwrap();
        verify_account_proof(snap.state_root(), &proof).unwrap();
        let expected = state.account(address(n)).unwrap();
        assert_eq!(proof.nonce, expected.as_ref().map_or(0, |a| a.nonce));
        for sp in &proof.storage_proof {
            assert_eq!(sp.value, state.storage(address(n), sp.key).unwrap());
        }
        present += expected.is_some() as usize;
        // A tampered value must not verify.
        let mut forged = proof.clone();
        forged.balance += U256::from(1);
        assert!(verify_account_proof(snap.state_root(), &forged).is_err());
        if let Some(sp) = forged.storage_proof.first_mut() {
            let mut forged = proof.clone();
            forged.storage_proof[0].value = sp.value + U256::from(1);
            assert!(verify_account_proof(snap.state_root(), &forged).is_err());
        }
    }
    assert!(present > 10, "the pool should hold live accounts");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn pruning_keeps_pinned_snapshots() {
    let dir = temp_dir("prune");
    let db = MetisDb::open(&dir, no_sync(4)).unwrap();
    let mut states = vec![MemoryState::new()];
    let mut pinned = None;
    for version in 1..=20u64 {
        let diff = diff_of_version(3, version, states.last().unwrap(), SHAPE);
        db.commit(&diff, &[]).unwrap();
        states.push(applied(states.last().unwrap(), &diff));
        if version == 5 {
            pinned = Some(db.snapshot().unwrap());
        }
    }
    // Version 5 is pinned; versions below it are gone.
    assert!(matches!(db.snapshot_at(2), Err(DbError::NoSuchVersion { .. })));
    let pinned = pinned.unwrap();
    assert_same_reads(&pinned, &states[5]);
    drop(pinned);
    let diff = diff_of_version(3, 21, states.last().unwrap(), SHAPE);
    db.commit(&diff, &[]).unwrap();
    assert!(matches!(db.snapshot_at(5), Err(DbError::NoSuchVersion { .. })));
    assert_eq!(db.info().unwrap().versions.first().map(|v| v.0), Some(21 - 4));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn damage_is_reported_not_served() {
    let dir = temp_dir("damage");
    {
        let db = MetisDb::open(&dir, no_sync(8)).unwrap();
        let mut state = MemoryState::new();
        for version in 1..=5 {
            let diff: StateDiff = diff_of_version(5, version, &state, SHAPE);
            db.commit(&diff, &[]).unwrap();
            state = applied(&state, &diff);
        }
    }
    let data = dir.join("data.mdb");
    let bytes = std::fs::read(&data).unwrap();
    // A flipped byte in the middle of a committed batch fails its CRC.
    let mut flipped = bytes.clone();
    flipped[bytes.len() / 2] ^= 0x40;
    std::fs::write(&data, &flipped).unwrap();
    let err = MetisDb::open(&dir, no_sync(8)).unwrap_err();
    assert!(matches!(err, DbError::Corrupt { .. }), "{err}");
    // A file cut short of what was committed is truncation, not an older state.
    std::fs::write(&data, &bytes[..bytes.len() - 10]).unwrap();
    let err = MetisDb::open(&dir, no_sync(8)).unwrap_err();
    assert!(err.to_string().contains("truncated"), "{err}");
    // A missing meta file.
    std::fs::write(&data, &bytes).unwrap();
    std::fs::remove_file(dir.join("meta.mdb")).unwrap();
    let err = MetisDb::open(&dir, no_sync(8)).unwrap_err();
    assert!(err.to_string().contains("meta.mdb"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unfinished_commits_are_cut_off() {
    let dir = temp_dir("torn");
    let mut state = MemoryState::new();
    {
        let db = MetisDb::open(&dir, no_sync(8)).unwrap();
        for version in 1..=3 {
            let diff = diff_of_version(9, version, &state, SHAPE);
            db.commit(&diff, &[]).unwrap();
            state = applied(&state, &diff);
        }
    }
    let data = dir.join("data.mdb");
    let meta = dir.join("meta.mdb");
    let (data_v3, meta_v3) = (std::fs::read(&data).unwrap(), std::fs::read(&meta).unwrap());
    {
        let db = MetisDb::open(&dir, no_sync(8)).unwrap();
        db.commit(&diff_of_version(9, 4, &state, SHAPE), &[]).unwrap();
    }
    let (data_v4, meta_v4) = (std::fs::read(&data).unwrap(), std::fs::read(&meta).unwrap());
    // A crash leaves version 4's batch written up to any point, its meta slot not yet written.
    let cuts = [
        data_v3.len() + 1,
        data_v3.len() + 7,
        (data_v3.len() + data_v4.len()) / 2,
        data_v4.len() - 1,
        data_v4.len(),
    ];
    for cut in cuts {
        std::fs::write(&data, &data_v4[..cut]).unwrap();
        std::fs::write(&meta, &meta_v3).unwrap();
        let db = MetisDb::open(&dir, no_sync(8)).unwrap();
        assert_eq!(db.latest(), 3, "cut at {cut}");
        assert_eq!(db.recovered_bytes(), (cut - data_v3.len()) as u64);
        assert_eq!(db.state_root().unwrap(), state.state_root());
        assert_same_reads(&db.snapshot().unwrap(), &state);
    }
    // A torn write of version 4's meta slot (slot 4 % 2 = 0) falls back to version 3's slot.
    std::fs::write(&data, &data_v4).unwrap();
    std::fs::write(&meta, &meta_v4).unwrap();
    let mut torn_meta = meta_v4.clone();
    torn_meta[20] ^= 0xff;
    std::fs::write(&meta, &torn_meta).unwrap();
    let db = MetisDb::open(&dir, no_sync(8)).unwrap();
    assert_eq!(db.latest(), 3);
    assert_eq!(db.recovered_bytes(), (data_v4.len() - data_v3.len()) as u64);
    assert_eq!(db.state_root().unwrap(), state.state_root());
    drop(db);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Commits versions `from..=to` of seed `seed`, extending `states` (the reference by version).
fn commit_versions(db: &MetisDb, seed: u64, from: u64, to: u64, states: &mut Vec<MemoryState>) {
    for version in from..=to {
        let diff = diff_of_version(seed, version, states.last().unwrap(), SHAPE);
        let committed = db.commit(&diff, &[(version, B256::with_last_byte(version as u8))]).unwrap();
        states.push(applied(states.last().unwrap(), &diff));
        assert_eq!(committed.state_root, states[version as usize].state_root(), "root of version {version}");
    }
}

/// Every retained version of `db` (`oldest` and newer) reads, hashes and proves as the
/// reference, and the one below the oldest is gone.
fn assert_retained_versions(db: &MetisDb, states: &[MemoryState], oldest: u64) {
    if oldest > 0 {
        assert!(matches!(db.snapshot_at(oldest - 1), Err(DbError::NoSuchVersion { .. })));
    }
    for version in oldest..states.len() as u64 {
        let snap = db.snapshot_at(version).unwrap();
        assert_eq!(snap.state_root(), states[version as usize].state_root(), "root of version {version}");
        assert_same_reads(&snap, &states[version as usize]);
        let hash = if version == 0 { B256::ZERO } else { B256::with_last_byte(version as u8) };
        assert_eq!(snap.block_hash(version).unwrap(), hash);
        let proof = snap.proof(&address(version % SHAPE.accounts), &[U256::from(1)]).unwrap();
        verify_account_proof(snap.state_root(), &proof).unwrap();
    }
}

#[test]
fn compaction_keeps_retained_versions_and_drops_the_rest() {
    let dir = temp_dir("compact");
    let mut db = MetisDb::open(&dir, no_sync(6)).unwrap();
    let mut states = vec![MemoryState::new()];
    commit_versions(&db, 21, 1, 40, &mut states);
    let before = db.info().unwrap().data_bytes;
    let compacted = db.compact().unwrap();
    assert_eq!((compacted.oldest, compacted.latest), (34, 40));
    assert_eq!(compacted.bytes_before, before);
    assert_eq!(db.info().unwrap().data_bytes, compacted.bytes_after);
    assert!(compacted.bytes_after < compacted.bytes_before, "{compacted:?}");
    assert_retained_versions(&db, &states, 34);
    // Nothing more to drop: a second compaction writes the same amount again.
    let again = db.compact().unwrap();
    assert_eq!((again.bytes_before, again.bytes_after), (compacted.bytes_after, compacted.bytes_after));
    assert_retained_versions(&db, &states, 34);

    // Commits go on from the compacted file, and a second compaction starts from the first.
    commit_versions(&db, 21, 41, 55, &mut states);
    assert_retained_versions(&db, &states, 49);
    let second = db.compact().unwrap();
    assert_eq!((second.oldest, second.latest), (49, 55));
    assert_retained_versions(&db, &states, 49);
    drop(db);
    let db = MetisDb::open(&dir, no_sync(6)).unwrap();
    assert_eq!(db.recovered_bytes(), 0);
    assert_retained_versions(&db, &states, 49);
    drop(db);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn compaction_keeps_everything_when_every_version_is_retained() {
    let dir = temp_dir("compact-all");
    let mut db = MetisDb::open(&dir, no_sync(1000)).unwrap();
    let mut states = vec![MemoryState::new()];
    commit_versions(&db, 5, 1, 12, &mut states);
    let compacted = db.compact().unwrap();
    assert_eq!((compacted.oldest, compacted.latest), (0, 12));
    // Every version's trie and records are still read by some version.
    assert_eq!(compacted.bytes_after, compacted.bytes_before);
    assert_retained_versions(&db, &states, 0);
    drop(db);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn compaction_waits_for_snapshots_and_a_directory_has_one_opener() {
    let dir = temp_dir("compact-busy");
    let mut db = MetisDb::open(&dir, no_sync(4)).unwrap();
    let mut states = vec![MemoryState::new()];
    commit_versions(&db, 8, 1, 10, &mut states);
    let snap = db.snapshot().unwrap();
    assert!(matches!(db.compact(), Err(DbError::SnapshotsAlive(1))));
    drop(snap);
    db.compact().unwrap();
    // While `db` is open, the directory is locked against a second open.
    let err = MetisDb::open(&dir, no_sync(4)).unwrap_err();
    assert!(matches!(err, DbError::Locked { .. }), "{err}");
    assert!(err.to_string().contains("LOCK"), "{err}");
    drop(db);
    let db = MetisDb::open(&dir, no_sync(4)).unwrap();
    assert_retained_versions(&db, &states, 6);
    drop(db);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A crash during compaction: before its meta slot, the old file stays; after it, opening
/// finishes the switch; a meta slot naming a generation no file has is corruption.
#[test]
fn a_crash_during_compaction_leaves_the_old_or_the_new_file() {
    let dir = temp_dir("compact-crash");
    let data = dir.join("data.mdb");
    let meta = dir.join("meta.mdb");
    let compact = dir.join("data.mdb.compact");
    let mut states = vec![MemoryState::new()];
    let mut db = MetisDb::open(&dir, no_sync(5)).unwrap();
    commit_versions(&db, 13, 1, 20, &mut states);
    let (old_data, old_meta) = (std::fs::read(&data).unwrap(), std::fs::read(&meta).unwrap());
    db.compact().unwrap();
    drop(db);
    let (new_data, new_meta) = (std::fs::read(&data).unwrap(), std::fs::read(&meta).unwrap());
    assert!(new_data.len() < old_data.len());

    // Killed before the meta slot: the old file and meta, and a whole or partial new file.
    for cut in [new_data.len(), new_data.len() / 2, 10] {
        std::fs::write(&data, &old_data).unwrap();
        std::fs::write(&meta, &old_meta).unwrap();
        std::fs::write(&compact, &new_data[..cut]).unwrap();
        let db = MetisDb::open(&dir, no_sync(5)).unwrap();
        assert!(!compact.exists(), "the unfinished compaction's file is removed");
        assert_eq!(db.info().unwrap().data_bytes, old_data.len() as u64);
        assert_retained_versions(&db, &states, 15);
    }

    // Killed after the meta slot, before the rename.
    std::fs::write(&data, &old_data).unwrap();
    std::fs::write(&meta, &new_meta).unwrap();
    std::fs::write(&compact, &new_data).unwrap();
    let db = MetisDb::open(&dir, no_sync(5)).unwrap();
    assert!(!compact.exists());
    assert_eq!(std::fs::read(&data).unwrap(), new_data);
    assert_retained_versions(&db, &states, 15);
    drop(db);

    // The meta names the new generation, but its file is gone.
    std::fs::write(&data, &old_data).unwrap();
    let err = MetisDb::open(&dir, no_sync(5)).unwrap_err();
    assert!(matches!(err, DbError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("generation"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
