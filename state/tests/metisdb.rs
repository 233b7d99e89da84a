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
