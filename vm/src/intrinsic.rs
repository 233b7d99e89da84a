//! Intrinsic gas: what a transaction pays before its first opcode runs, and the
//! [EIP-7623](https://eips.ethereum.org/EIPS/eip-7623) calldata floor it pays at least.
//!
//! The intrinsic cost is the sum of
//! - 21000 for every transaction, plus 32000 for a contract creation from Homestead
//!   ([EIP-2](https://eips.ethereum.org/EIPS/eip-2));
//! - calldata: 4 gas per zero byte and 68 per nonzero byte, 16 from Istanbul
//!   ([EIP-2028](https://eips.ethereum.org/EIPS/eip-2028));
//! - [EIP-2930](https://eips.ethereum.org/EIPS/eip-2930) access lists: 2400 per address and
//!   1900 per storage key;
//! - [EIP-3860](https://eips.ethereum.org/EIPS/eip-3860) initcode: 2 gas per 32-byte word of a
//!   creation's data from Shanghai;
//! - [EIP-7702](https://eips.ethereum.org/EIPS/eip-7702) authorizations: 25000 each from Prague.
//!
//! Every sum saturates at `u64::MAX`: a saturated cost can never fit a gas limit, so the
//! transaction is rejected instead of wrapping around to a small cost.

use crate::env::{AccessListItem, TxEnv};
use crate::fork::Fork;

/// Base cost of every transaction.
pub const TX_BASE_GAS: u64 = 21_000;
/// Extra cost of a contract-creating transaction from Homestead (EIP-2).
pub const TX_CREATE_GAS: u64 = 32_000;
/// Cost of a zero calldata byte.
pub const TX_DATA_ZERO_GAS: u64 = 4;
/// Cost of a nonzero calldata byte before Istanbul.
pub const TX_DATA_NONZERO_GAS_FRONTIER: u64 = 68;
/// Cost of a nonzero calldata byte from Istanbul (EIP-2028).
pub const TX_DATA_NONZERO_GAS_ISTANBUL: u64 = 16;
/// Cost of each address in an access list (EIP-2930).
pub const ACCESS_LIST_ADDRESS_GAS: u64 = 2_400;
/// Cost of each storage key in an access list (EIP-2930).
pub const ACCESS_LIST_STORAGE_KEY_GAS: u64 = 1_900;
/// Cost of each 32-byte word of initcode from Shanghai (EIP-3860).
pub const INITCODE_WORD_GAS: u64 = 2;
/// Cost of each EIP-7702 authorization (`PER_EMPTY_ACCOUNT_COST`).
pub const PER_EMPTY_ACCOUNT_COST: u64 = 25_000;
/// Gas per calldata token of the EIP-7623 floor (`TOTAL_COST_FLOOR_PER_TOKEN`).
pub const TOTAL_COST_FLOOR_PER_TOKEN: u64 = 10;

/// The intrinsic gas of `tx` under the rules of `fork`.
pub fn intrinsic_gas(fork: Fork, tx: &TxEnv) -> u64 {
    let authorizations = tx.authorization_list.as_ref().map_or(0, Vec::len);
    intrinsic_gas_of(fork, &tx.data, tx.to.is_none(), &tx.access_list, authorizations)
}

/// The intrinsic gas of a transaction given the parts it depends on: its calldata (or
/// initcode), whether it creates a contract, its access list and how many EIP-7702
/// authorizations it carries.
pub fn intrinsic_gas_of(
    fork: Fork,
    data: &[u8],
    is_create: bool,
    access_list: &[AccessListItem],
    authorization_count: usize,
) -> u64 {
    let mut gas = TX_BASE_GAS;
    if is_create && fork.is_enabled_in(Fork::Homestead) {
        gas = gas.saturating_add(TX_CREATE_GAS);
    }

    let zeros = data.iter().filter(|&&b| b == 0).count() as u64;
    let nonzeros = data.len() as u64 - zeros;
    let nonzero_cost = if fork.is_enabled_in(Fork::Istanbul) {
        TX_DATA_NONZERO_GAS_ISTANBUL
    } else {
        TX_DATA_NONZERO_GAS_FRONTIER
    };
    gas = gas
        .saturating_add(zeros.saturating_mul(TX_DATA_ZERO_GAS))
        .saturating_add(nonzeros.saturating_mul(nonzero_cost));

    if is_create && fork.is_enabled_in(Fork::Shanghai) {
        let words = (data.len() as u64).div_ceil(32);
        gas = gas.saturating_add(words.saturating_mul(INITCODE_WORD_GAS));
    }

    // Access lists only exist from Berlin on, so no fork check is needed: older forks
    // reject typed transactions before their gas is computed.
    let keys: u64 = access_list.iter().map(|item| item.storage_keys.len() as u64).sum();
    gas = gas
        .saturating_add((access_list.len() as u64).saturating_mul(ACCESS_LIST_ADDRESS_GAS))
        .saturating_add(keys.saturating_mul(ACCESS_LIST_STORAGE_KEY_GAS));

    if fork.is_enabled_in(Fork::Prague) {
        gas = gas.saturating_add((authorization_count as u64).saturating_mul(PER_EMPTY_ACCOUNT_COST));
    }
    gas
}

/// The EIP-7623 calldata tokens of `data`: one per zero byte, four per nonzero byte.
pub fn calldata_tokens(data: &[u8]) -> u64 {
    let zeros = data.iter().filter(|&&b| b == 0).count() as u64;
    let nonzeros = data.len() as u64 - zeros;
    zeros.saturating_add(nonzeros.saturating_mul(4))
}

/// The EIP-7623 minimum gas `tx` is charged from Prague on: `21000 + 10 * tokens`.
///
/// Returns `None` before Prague, where no floor applies. A transaction whose gas limit is
/// below the floor is invalid, and one that uses less than the floor pays the floor.
pub fn calldata_floor_gas(fork: Fork, tx: &TxEnv) -> Option<u64> {
    calldata_floor_gas_of(fork, &tx.data)
}

/// [`calldata_floor_gas`] given only the calldata, which is all the floor depends on.
pub fn calldata_floor_gas_of(fork: Fork, data: &[u8]) -> Option<u64> {
    if !fork.is_enabled_in(Fork::Prague) {
        return None;
    }
    Some(TX_BASE_GAS.saturating_add(calldata_tokens(data).saturating_mul(TOTAL_COST_FLOOR_PER_TOKEN)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::Authorization;
    use crate::primitives::{Address, Bytes, B256, U256};

    fn call(data: &[u8]) -> TxEnv {
        TxEnv { to: Some(Address::ZERO), data: Bytes::copy_from_slice(data), ..TxEnv::default() }
    }

    fn create(data: &[u8]) -> TxEnv {
        TxEnv { to: None, data: Bytes::copy_from_slice(data), ..TxEnv::default() }
    }

    #[test]
    fn plain_transfer_costs_base() {
        for fork in Fork::ALL {
            assert_eq!(intrinsic_gas(fork, &call(&[])), 21_000);
        }
    }

    #[test]
    fn calldata_repriced_in_istanbul() {
        let tx = call(&[0, 1, 0, 2]);
        assert_eq!(intrinsic_gas(Fork::Petersburg, &tx), 21_000 + 2 * 4 + 2 * 68);
        assert_eq!(intrinsic_gas(Fork::Istanbul, &tx), 21_000 + 2 * 4 + 2 * 16);
    }

    #[test]
    fn creation_cost_by_fork() {
        let code = [0x60u8; 33]; // two words of initcode
        assert_eq!(intrinsic_gas(Fork::Frontier, &create(&code)), 21_000 + 33 * 68);
        assert_eq!(intrinsic_gas(Fork::Homestead, &create(&code)), 53_000 + 33 * 68);
        assert_eq!(intrinsic_gas(Fork::Paris, &create(&code)), 53_000 + 33 * 16);
        assert_eq!(intrinsic_gas(Fork::Shanghai, &create(&code)), 53_000 + 33 * 16 + 2 * 2);
        // Calls never pay the initcode word cost.
        assert_eq!(intrinsic_gas(Fork::Shanghai, &call(&code)), 21_000 + 33 * 16);
    }

    #[test]
    fn access_list_and_authorizations() {
        let mut tx = call(&[]);
        tx.access_list = vec![
            AccessListItem { address: Address::ZERO, storage_keys: vec![B256::ZERO; 3] },
            AccessListItem { address: Address::repeat_byte(1), storage_keys: vec![] },
        ];
        assert_eq!(intrinsic_gas(Fork::Berlin, &tx), 21_000 + 2 * 2_400 + 3 * 1_900);
        let auth = Authorization {
            chain_id: U256::ZERO,
            address: Address::ZERO,
            nonce: 0,
            y_parity: U256::ZERO,
            r: U256::ZERO,
            s: U256::ZERO,
        };
        tx.access_list.clear();
        tx.authorization_list = Some(vec![auth.clone(), auth]);
        assert_eq!(intrinsic_gas(Fork::Cancun, &tx), 21_000);
        assert_eq!(intrinsic_gas(Fork::Prague, &tx), 21_000 + 2 * 25_000);
    }

    #[test]
    fn floor_only_from_prague() {
        let tx = call(&[0, 0, 7]);
        assert_eq!(calldata_tokens(&tx.data), 6);
        assert_eq!(calldata_floor_gas(Fork::Cancun, &tx), None);
        assert_eq!(calldata_floor_gas(Fork::Prague, &tx), Some(21_000 + 60));
        assert_eq!(calldata_floor_gas(Fork::Osaka, &call(&[])), Some(21_000));
    }

    #[test]
    fn maximal_initcode_words() {
        // 49152 bytes, the EIP-3860 limit, are 1536 words.
        let tx = create(&vec![0u8; 49_152]);
        assert_eq!(intrinsic_gas(Fork::Berlin, &tx), 53_000 + 49_152 * 4);
        assert_eq!(intrinsic_gas(Fork::Shanghai, &tx), 53_000 + 49_152 * 4 + 1_536 * 2);
    }
}
