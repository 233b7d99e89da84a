//! `StateReader::account_fields`: the account without its code, from the in-memory store,
//! an overlay of it, and a reference to either, each agreeing with `account` on every field
//! but the code.

use metisvm_state::{MemoryState, Overlay};
use metisvm_vm::{AccountChange, AccountInfo, Address, Bytes, StateDiff, StateReader, StateWriter, U256};

fn contract() -> AccountInfo {
    AccountInfo {
        balance: U256::from(7),
        nonce: 1,
        code: Some(Bytes::from(vec![0x60, 0x00, 0x00])),
        ..Default::default()
    }
}

/// `account_fields` is `account` with the code dropped.
fn check_fields(reader: &impl StateReader, address: Address) {
    let full = reader.account(address).unwrap();
    let fields = reader.account_fields(address).unwrap();
    let expected = full.map(|info| AccountInfo { code: None, ..info });
    assert_eq!(fields, expected, "account {address}");
}

#[test]
fn account_fields_match_account_without_code() {
    let code_account = Address::repeat_byte(1);
    let eoa = Address::repeat_byte(2);
    let missing = Address::repeat_byte(3);
    let mut state = MemoryState::new();
    state.insert_account(code_account, contract(), []);
    state.insert_account(eoa, AccountInfo { balance: U256::from(5), ..Default::default() }, []);

    let fields = state.account_fields(code_account).unwrap().expect("the contract exists");
    assert_eq!(fields.code, None);
    assert_ne!(fields.code_hash, metisvm_vm::KECCAK_EMPTY);
    assert_eq!(fields.balance, U256::from(7));
    for address in [code_account, eoa, missing] {
        check_fields(&state, address);
        check_fields(&&state, address);
    }

    // Through an overlay: one account updated in its diff, one deleted, one from the base.
    let mut overlay = Overlay::new(&state);
    let mut diff = StateDiff::default();
    let updated = AccountInfo { balance: U256::from(9), nonce: 2, ..contract() };
    diff.insert(
        code_account,
        AccountChange::Updated { info: updated, storage_cleared: false, storage: Default::default() },
    );
    diff.insert(eoa, AccountChange::Deleted);
    overlay.commit(&diff);
    let fields = overlay.account_fields(code_account).unwrap().expect("updated, not deleted");
    assert_eq!((fields.balance, fields.nonce, fields.code), (U256::from(9), 2, None));
    assert_eq!(overlay.account_fields(eoa).unwrap(), None);
    for address in [code_account, eoa, missing] {
        check_fields(&overlay, address);
    }
}
