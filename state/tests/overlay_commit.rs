//! `Overlay::commit_owned` (diffs moved in) leaves exactly the changes `commit` (diffs
//! copied) leaves, for every way two changes to one account combine: update after update,
//! a deletion, re-creation after a deletion, storage wiped by a creation, and a sequence
//! merged into one diff first, as the parallel executor's runs are; and `commit_drained`,
//! which leaves the emptied map to reuse. Also where the overlay finds code by hash.

use metisvm_state::{MemoryState, Overlay};
use metisvm_vm::{AccountChange, AccountInfo, Address, Bytes, StateDiff, StateWriter, U256};

fn updated(balance: u64, cleared: bool, slots: &[(u64, u64)]) -> AccountChange {
    AccountChange::Updated {
        info: AccountInfo {
            balance: U256::from(balance),
            code: Some(Bytes::new()),
            ..AccountInfo::default()
        },
        storage_cleared: cleared,
        storage: slots.iter().map(|(s, v)| (U256::from(*s), U256::from(*v))).collect(),
    }
}

/// Diffs touching accounts 1..=5 in every order of update, deletion and creation.
fn diffs() -> Vec<StateDiff> {
    let a = |n: u8| Address::repeat_byte(n);
    vec![
        StateDiff::from_iter([
            (a(1), updated(1, false, &[(1, 1), (2, 2)])),
            (a(2), updated(2, false, &[(1, 5)])),
            (a(3), AccountChange::Deleted),
        ]),
        StateDiff::from_iter([
            (a(1), updated(3, false, &[(2, 0), (3, 3)])),
            (a(2), AccountChange::Deleted),
            (a(3), updated(4, false, &[(7, 7)])),
            (a(4), updated(5, true, &[(1, 9)])),
        ]),
        StateDiff::from_iter([
            (a(1), updated(6, true, &[(4, 4)])),
            (a(2), updated(7, false, &[(2, 2)])),
            (a(4), updated(8, false, &[(2, 8)])),
            (a(5), updated(9, false, &[])),
        ]),
    ]
}

#[test]
fn committing_by_value_equals_committing_by_reference() {
    let base = MemoryState::new();
    let mut copied = Overlay::new(&base);
    let mut moved = Overlay::with_capacity(&base, 8);
    for diff in diffs() {
        copied.commit(&diff);
        moved.commit_owned(diff);
        assert_eq!(moved.diff(), copied.diff());
    }
    assert_eq!(copied.diff().len(), 5);
}

#[test]
fn a_sequence_merged_first_commits_to_the_same_changes() {
    let base = MemoryState::new();
    let mut one_by_one = Overlay::new(&base);
    one_by_one.commit_owned(diffs()[0].clone());
    let mut merged = Overlay::new(&base);
    for diff in diffs().into_iter().skip(1) {
        merged.commit_owned(diff.clone());
        one_by_one.commit_owned(diff);
    }
    let mut at_once = Overlay::new(&base);
    at_once.commit_owned(diffs()[0].clone());
    at_once.commit_owned(merged.into_diff());
    assert_eq!(at_once.diff(), one_by_one.diff());
}

#[test]
fn a_drained_commit_empties_the_diff_and_its_map_can_be_reused() {
    let base = MemoryState::new();
    let mut copied = Overlay::new(&base);
    let mut drained = Overlay::new(&base);
    let mut run = Overlay::new(&base);
    for mut diff in diffs() {
        copied.commit(&diff);
        let capacity = diff.capacity();
        drained.commit_drained(&mut diff);
        assert!(diff.is_empty(), "a drained diff is left empty");
        assert_eq!(diff.capacity(), capacity, "and keeps its allocation");
        assert_eq!(drained.diff(), copied.diff());
        // The emptied map carries a later overlay's changes as a fresh one would.
        run = Overlay::with_diff(&base, diff);
        run.commit(&diffs()[2]);
    }
    let mut fresh = Overlay::new(&base);
    fresh.commit(&diffs()[2]);
    assert_eq!(run.diff(), fresh.diff());
}

#[test]
fn code_is_found_in_the_base_or_in_the_committed_changes_and_missing_code_is_an_error() {
    use metisvm_vm::{keccak256, StateReader};
    let (old_code, new_code) = (Bytes::from_static(&[0x60, 0x01]), Bytes::from_static(&[0x60, 0x02]));
    let mut base = MemoryState::new();
    let info = AccountInfo { code: Some(old_code.clone()), ..AccountInfo::default() };
    base.insert_account(Address::repeat_byte(1), info, []);
    let mut overlay = Overlay::new(&base);
    let deployed = AccountInfo {
        code_hash: keccak256(&new_code),
        code: Some(new_code.clone()),
        ..AccountInfo::default()
    };
    let change =
        AccountChange::Updated { info: deployed, storage_cleared: true, storage: Default::default() };
    overlay.commit(&StateDiff::from_iter([(Address::repeat_byte(2), change)]));
    assert_eq!(overlay.code_by_hash(keccak256(&old_code)).unwrap(), old_code);
    assert_eq!(overlay.code_by_hash(keccak256(&new_code)).unwrap(), new_code);
    let missing = overlay.code_by_hash(keccak256([0x00])).unwrap_err();
    assert!(missing.to_string().contains("no code"), "the base's error is kept: {missing}");
}
