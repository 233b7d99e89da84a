//! The built-in world that `metisvm run` uses when the input file has no `pre`: five funded
//! development accounts, and a default block environment.
//!
//! Dev account `i` (0 to 4) has the secp256k1 secret key `i + 1` written as a 32-byte
//! big-endian number (`0x00..01` to `0x00..05`) and a balance of 10^24 wei (one million
//! ether). These keys are public knowledge: never use them on a real network.

use metisvm_state::MemoryState;
use metisvm_vm::{AccountInfo, Address, B256, U256};
use serde_json::{json, Map, Value};

/// How many development accounts the default state holds.
pub(crate) const DEV_ACCOUNT_COUNT: usize = 5;

/// The balance of each development account: 10^24 wei.
pub(crate) fn dev_balance() -> U256 {
    U256::from(10u64).pow(U256::from(24u64))
}

/// The secret key of dev account `index`: the number `index + 1`, big-endian.
pub(crate) fn dev_secret_key(index: usize) -> B256 {
    let mut key = [0u8; 32];
    key[24..].copy_from_slice(&(index as u64 + 1).to_be_bytes());
    B256::from(key)
}

/// The address of dev account `index`.
pub(crate) fn dev_address(index: usize) -> Address {
    // A key in 1..=5 is far below the group order, so it is always a valid secret key.
    metisvm_vm::crypto::address_from_secret_key(&dev_secret_key(index)).unwrap_or_default()
}

/// The addresses of every development account, in order.
pub(crate) fn dev_addresses() -> Vec<Address> {
    (0..DEV_ACCOUNT_COUNT).map(dev_address).collect()
}

/// The default state: every development account funded, nothing else.
pub(crate) fn dev_state() -> MemoryState {
    let mut state = MemoryState::new();
    for address in dev_addresses() {
        let info = AccountInfo { balance: dev_balance(), ..AccountInfo::default() };
        state.insert_account(address, info, []);
    }
    state
}

/// The default fee recipient of the block.
pub(crate) const DEFAULT_COINBASE: &str = "0x0000000000000000000000000000000000c0ffee";

/// The default block environment, in state-test field names. The file's `env` fields are laid
/// over it, so a file only names what it changes.
pub(crate) fn default_env() -> Map<String, Value> {
    let env = json!({
        "currentCoinbase": DEFAULT_COINBASE,
        "currentNumber": "0x01",
        "currentTimestamp": "0x03e8",
        "currentGasLimit": "0x01c9c380",
        "currentBaseFee": "0x3b9aca00",
        "currentDifficulty": "0x020000",
        "currentRandom": "0x0000000000000000000000000000000000000000000000000000000000020000",
        "currentExcessBlobGas": "0x00",
    });
    match env {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// The env fields `run` understands (see [`default_env`]).
pub(crate) const ENV_FIELDS: [&str; 8] = [
    "currentCoinbase",
    "currentNumber",
    "currentTimestamp",
    "currentGasLimit",
    "currentBaseFee",
    "currentDifficulty",
    "currentRandom",
    "currentExcessBlobGas",
];

/// Header fields that state tests carry but a single block's execution does not read; accepted
/// and ignored so that an `env` can be pasted unchanged.
pub(crate) const ENV_FIELDS_IGNORED: [&str; 12] = [
    "previousHash",
    "parentBaseFee",
    "parentGasUsed",
    "parentGasLimit",
    "parentTimestamp",
    "parentDifficulty",
    "parentUncleHash",
    "parentBlobGasUsed",
    "parentExcessBlobGas",
    "parentBeaconBlockRoot",
    "currentBlobGasUsed",
    "currentWithdrawalsRoot",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_accounts_are_the_documented_ones() {
        let expected = [
            "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf",
            "0x2b5ad5c4795c026514f8317c7a215e218dccd6cf",
            "0x6813eb9362372eef6200f3b1dbc3f819671cba69",
            "0x1eff47bc3a10a45d4b230b5d10e37751fe6aa718",
            "0xe1ab8145f7e55dc933d51a18c793f901a3a0b276",
        ];
        let got: Vec<String> = dev_addresses().iter().map(|a| format!("{a:?}")).collect();
        assert_eq!(got, expected);
        let state = dev_state();
        assert_eq!(state.len(), DEV_ACCOUNT_COUNT);
        assert_eq!(state.get(&dev_address(0)).map(|a| a.info.balance), Some(dev_balance()));
    }

    #[test]
    fn default_env_parses() {
        let env = metisvm_conformance::statetest::parse::parse_env(&Value::Object(default_env()));
        let env = env.expect("the default env is valid");
        assert_eq!(env.gas_limit, 30_000_000);
        assert_eq!(env.base_fee, U256::from(1_000_000_000u64));
        assert_eq!(default_env().len(), ENV_FIELDS.len());
    }
}
