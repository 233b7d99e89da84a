//! System calls: messages the protocol itself sends at the start of a block, such as the
//! [EIP-4788](https://eips.ethereum.org/EIPS/eip-4788) beacon-roots update.
//!
//! A system call is a plain top-level CALL with no transaction around it: no validation, no
//! gas purchase or refund, no nonce change, no value, nothing pre-warmed, and the gas it uses
//! counts against no block limit. ORIGIN and CALLER are the given caller; GASPRICE is the
//! block's base fee.

use super::frames::{execute, start_call};
use super::{Evm, ExecStatus, TxOutcome};
use crate::env::{BlockEnv, CfgEnv, TxEnv};
use crate::interpreter::{CallKind, CallRequest, Ctx};
use crate::journal::Journal;
use crate::primitives::{Address, Bytes, U256};
use crate::state::StateReader;
use crate::validation::TxError;

impl Evm {
    /// Runs a system call from `caller` to `to` with `data` and `gas`, returning the changes
    /// to commit. `gas_used` in the outcome is the gas the call consumed (it is charged to
    /// nobody); logs are kept only on success, as for transactions.
    #[allow(clippy::too_many_arguments)]
    pub fn system_call(
        &mut self,
        db: &dyn StateReader,
        block: &BlockEnv,
        cfg: &CfgEnv,
        caller: Address,
        to: Address,
        data: Bytes,
        gas: u64,
    ) -> Result<TxOutcome, TxError> {
        let tx = TxEnv {
            caller,
            gas_limit: gas,
            gas_price: block.base_fee,
            to: Some(to),
            data: data.clone(),
            ..TxEnv::default()
        };
        let (code_cache, pool) = (&mut self.code_cache, &mut self.pool);
        let mut cx = Ctx {
            journal: Journal::new(db, cfg.fork),
            block,
            cfg,
            tx: &tx,
            effective_gas_price: block.base_fee,
            fork: cfg.fork,
            request: None,
            error: None,
            tracer: None,
            code_cache,
            native: self.native.as_deref(),
        };
        let req = CallRequest {
            kind: CallKind::Call,
            target: to,
            code_address: to,
            caller,
            value: U256::ZERO,
            transfer: false,
            input: data,
            gas,
            is_static: false,
            ret_offset: 0,
            ret_len: 0,
            precompiles_disabled: false,
        };
        let started = start_call(&mut cx, pool, req, 0)?;
        let result = execute(&mut cx, pool, started)?;
        let status = ExecStatus::of_finished(result.status);
        let finalized = cx.journal.finalize();
        Ok(TxOutcome {
            status,
            gas_used: gas - result.gas_left,
            gas_refunded: 0,
            output: result.output,
            logs: if status.is_success() { finalized.logs } else { Vec::new() },
            created_address: None,
            diff: finalized.diff,
            coinbase_fee: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fork::Fork;
    use crate::primitives::{B256, KECCAK_EMPTY};
    use crate::state::{AccountChange, AccountInfo, StateError};

    /// One contract that stores CALLDATALOAD(0) at slot TIMESTAMP, and nothing else.
    struct OneContract {
        address: Address,
        code: Bytes,
    }

    impl StateReader for OneContract {
        fn account(&self, address: Address) -> Result<Option<AccountInfo>, StateError> {
            Ok((address == self.address).then(|| AccountInfo {
                balance: U256::ZERO,
                nonce: 1,
                code_hash: crate::primitives::keccak256(&self.code),
                code: Some(self.code.clone()),
            }))
        }
        fn code_by_hash(&self, _: B256) -> Result<Bytes, StateError> {
            Ok(self.code.clone())
        }
        fn storage(&self, _: Address, _: U256) -> Result<U256, StateError> {
            Ok(U256::ZERO)
        }
        fn block_hash(&self, _: u64) -> Result<B256, StateError> {
            Ok(B256::ZERO)
        }
        fn has_storage(&self, _: Address) -> Result<bool, StateError> {
            Ok(false)
        }
    }

    #[test]
    fn runs_without_fee_or_nonce_and_commits_storage() {
        // PUSH1 0 CALLDATALOAD TIMESTAMP SSTORE STOP
        let code = Bytes::from(vec![0x60, 0x00, 0x35, 0x42, 0x55, 0x00]);
        let address = Address::with_last_byte(0x42);
        let db = OneContract { address, code };
        let block = BlockEnv { timestamp: 7, base_fee: U256::from(1_000), ..BlockEnv::default() };
        let cfg = CfgEnv::new(Fork::Cancun);
        let system = Address::from([0xff; 20]);
        let root = B256::with_last_byte(9);
        let out = Evm::new()
            .system_call(&db, &block, &cfg, system, address, Bytes::from(root.to_vec()), 30_000_000)
            .unwrap();
        assert!(out.status.is_success());
        assert!(out.gas_used > 0 && out.gas_used < 30_000_000);
        // The caller is neither charged nor created.
        assert!(!out.diff.contains_key(&system));
        match out.diff.get(&address) {
            Some(AccountChange::Updated { info, storage, .. }) => {
                assert_eq!(info.nonce, 1);
                assert_ne!(info.code_hash, KECCAK_EMPTY);
                assert_eq!(storage.get(&U256::from(7)), Some(&U256::from(9)));
            }
            other => panic!("unexpected change {other:?}"),
        }
    }
}
