//! A minimal in-memory state for the VM's scenario tests (the real store lives in the
//! `state` crate, which depends on this one).

#![allow(dead_code, unreachable_pub, missing_docs)]

use metisvm_vm::{
    keccak256, AccountChange, AccountInfo, Address, BlockEnv, Bytes, CfgEnv, Evm, Fork, StateDiff,
    StateError, StateReader, TxEnv, TxOutcome, B256, KECCAK_EMPTY, U256,
};
use std::collections::HashMap;

#[derive(Default, Clone)]
pub struct TestState {
    pub accounts: HashMap<Address, (AccountInfo, HashMap<U256, U256>)>,
}

impl TestState {
    pub fn with_code(&mut self, address: Address, code: &[u8]) {
        let code = Bytes::copy_from_slice(code);
        let info =
            AccountInfo { balance: U256::ZERO, nonce: 1, code_hash: keccak256(&code), code: Some(code) };
        self.accounts.insert(address, (info, HashMap::new()));
    }

    pub fn with_balance(&mut self, address: Address, balance: U256) {
        let info = AccountInfo { balance, nonce: 0, code_hash: KECCAK_EMPTY, code: Some(Bytes::new()) };
        self.accounts.insert(address, (info, HashMap::new()));
    }

    pub fn apply(&mut self, diff: &StateDiff) {
        for (address, change) in diff {
            match change {
                AccountChange::Deleted => {
                    self.accounts.remove(address);
                }
                AccountChange::Updated { info, storage_cleared, storage } => {
                    let entry = self.accounts.entry(*address).or_default();
                    entry.0 = info.clone();
                    if *storage_cleared {
                        entry.1.clear();
                    }
                    for (k, v) in storage {
                        entry.1.insert(*k, *v);
                    }
                }
            }
        }
    }

    pub fn slot(&self, address: Address, slot: u64) -> U256 {
        self.accounts.get(&address).and_then(|a| a.1.get(&U256::from(slot)).copied()).unwrap_or_default()
    }
}

impl StateReader for TestState {
    fn account(&self, address: Address) -> Result<Option<AccountInfo>, StateError> {
        Ok(self.accounts.get(&address).map(|a| a.0.clone()))
    }
    fn code_by_hash(&self, _: B256) -> Result<Bytes, StateError> {
        Err(StateError("test state keeps code inline".into()))
    }
    fn storage(&self, address: Address, slot: U256) -> Result<U256, StateError> {
        Ok(self.accounts.get(&address).and_then(|a| a.1.get(&slot).copied()).unwrap_or_default())
    }
    fn block_hash(&self, _: u64) -> Result<B256, StateError> {
        Ok(B256::ZERO)
    }
    fn has_storage(&self, address: Address) -> Result<bool, StateError> {
        Ok(self.accounts.get(&address).is_some_and(|a| a.1.values().any(|v| !v.is_zero())))
    }
}

pub const SENDER: Address = Address::repeat_byte(0x5e);
pub const CONTRACT: Address = Address::repeat_byte(0xc0);

/// Calls `CONTRACT` from `SENDER` with `gas` and no fee under `fork`.
pub fn call(state: &TestState, fork: Fork, gas: u64, data: &[u8]) -> TxOutcome {
    call_with(state, fork, gas, data, None)
}

/// [`call`], reporting every instruction to `tracer` when one is given (which makes the
/// interpreter check every instruction on its own instead of whole blocks).
pub fn call_with(
    state: &TestState,
    fork: Fork,
    gas: u64,
    data: &[u8],
    tracer: Option<&mut dyn metisvm_vm::Tracer>,
) -> TxOutcome {
    let block = BlockEnv { gas_limit: u64::MAX, ..BlockEnv::default() };
    let tx = TxEnv {
        caller: SENDER,
        gas_limit: gas,
        to: Some(CONTRACT),
        data: Bytes::copy_from_slice(data),
        tx_type: 0,
        ..TxEnv::default()
    };
    let cfg = CfgEnv::new(fork);
    match tracer {
        Some(tracer) => Evm::new().transact_traced(state, &block, &cfg, &tx, tracer),
        None => Evm::new().transact(state, &block, &cfg, &tx),
    }
    .expect("valid transaction")
}
