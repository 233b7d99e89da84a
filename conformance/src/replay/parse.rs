//! Parsing of a mainnet block folder: `block.json` (a JSON-RPC block with full
//! transactions), `pre_state.json` (every account the block touches) and the optional
//! `block_hashes.json`. Every error names the field it failed on.

use super::bloom::Bloom;
use crate::hexjson::{
    get, parse_address, parse_b256, parse_bytes, parse_bytes_str, parse_u256, parse_u64, FieldError,
};
use metisvm_state::MemoryState;
use metisvm_vm::env::{AccessListItem, Authorization, BlockEnv, TxEnv};
use metisvm_vm::{AccountInfo, Bytes, Fork, B256, KECCAK_EMPTY};
use serde_json::Value;

/// A block's header fields that execution needs or that replay checks, and its transactions.
#[derive(Debug, Clone)]
pub struct Block {
    /// The fork in force at this block on mainnet.
    pub fork: Fork,
    /// The environment the transactions run in.
    pub env: BlockEnv,
    /// Header `gasUsed`.
    pub gas_used: u64,
    /// Header `logsBloom`.
    pub logs_bloom: Bloom,
    /// Header `receiptsRoot`.
    pub receipts_root: B256,
    /// The transactions, in block order.
    pub transactions: Vec<Transaction>,
}

/// One transaction of a block, ready to execute.
#[derive(Debug, Clone)]
pub struct Transaction {
    /// The transaction hash, as the fixture gives it (for reports).
    pub hash: B256,
    /// The decoded transaction, its sender taken from the fixture's `from`.
    pub env: TxEnv,
}

fn opt<'a>(obj: &'a Value, name: &str) -> Option<&'a Value> {
    obj.get(name).filter(|v| !v.is_null())
}

fn field<'a>(obj: &'a Value, name: &str, path: &str) -> Result<&'a Value, FieldError> {
    get(obj, name).map_err(|_| FieldError::new(&format!("{path}{name}"), "missing"))
}

/// Parses `block.json`.
pub fn parse_block(block: &Value) -> Result<Block, FieldError> {
    let u64_of = |name: &str| parse_u64(field(block, name, "")?, name);
    let number = u64_of("number")?;
    let timestamp = u64_of("timestamp")?;
    let fork = Fork::mainnet_at(number, timestamp);
    let env = BlockEnv {
        number,
        coinbase: parse_address(field(block, "miner", "")?, "miner")?,
        timestamp,
        gas_limit: u64_of("gasLimit")?,
        base_fee: opt(block, "baseFeePerGas")
            .map(|v| parse_u256(v, "baseFeePerGas"))
            .transpose()?
            .unwrap_or_default(),
        difficulty: parse_u256(field(block, "difficulty", "")?, "difficulty")?,
        prevrandao: opt(block, "mixHash").map(|v| parse_b256(v, "mixHash")).transpose()?.unwrap_or_default(),
        excess_blob_gas: opt(block, "excessBlobGas").map(|v| parse_u64(v, "excessBlobGas")).transpose()?,
        parent_beacon_block_root: opt(block, "parentBeaconBlockRoot")
            .map(|v| parse_b256(v, "parentBeaconBlockRoot"))
            .transpose()?,
    };
    let bloom_bytes = parse_bytes(field(block, "logsBloom", "")?, "logsBloom")?;
    let logs_bloom = Bloom::from_slice(&bloom_bytes).ok_or_else(|| {
        FieldError::new("logsBloom", format!("must be 256 bytes, got {}", bloom_bytes.len()))
    })?;
    let txs = field(block, "transactions", "")?
        .as_array()
        .ok_or_else(|| FieldError::new("transactions", "expected an array"))?;
    let transactions = txs
        .iter()
        .enumerate()
        .map(|(i, tx)| parse_transaction(tx, &format!("transactions[{i}].")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Block {
        fork,
        env,
        gas_used: u64_of("gasUsed")?,
        logs_bloom,
        receipts_root: parse_b256(field(block, "receiptsRoot", "")?, "receiptsRoot")?,
        transactions,
    })
}

/// Parses one JSON-RPC transaction; `path` (`transactions[i].`) prefixes field names in errors.
fn parse_transaction(tx: &Value, path: &str) -> Result<Transaction, FieldError> {
    let name = |f: &str| format!("{path}{f}");
    let req = |f: &str| field(tx, f, path);
    let tx_type = match opt(tx, "type") {
        Some(v) => u8::try_from(parse_u64(v, &name("type"))?)
            .map_err(|_| FieldError::new(&name("type"), "not a transaction type"))?,
        None => 0,
    };
    let mut env = TxEnv {
        tx_type,
        caller: parse_address(req("from")?, &name("from"))?,
        gas_limit: parse_u64(req("gas")?, &name("gas"))?,
        to: opt(tx, "to").map(|v| parse_address(v, &name("to"))).transpose()?,
        value: parse_u256(req("value")?, &name("value"))?,
        data: parse_bytes(req("input")?, &name("input"))?,
        nonce: parse_u64(req("nonce")?, &name("nonce"))?,
        chain_id: opt(tx, "chainId").map(|v| parse_u64(v, &name("chainId"))).transpose()?,
        ..TxEnv::default()
    };
    if tx_type >= 2 {
        env.gas_price = parse_u256(req("maxFeePerGas")?, &name("maxFeePerGas"))?;
        let tip = parse_u256(req("maxPriorityFeePerGas")?, &name("maxPriorityFeePerGas"))?;
        env.max_priority_fee_per_gas = Some(tip);
    } else {
        env.gas_price = parse_u256(req("gasPrice")?, &name("gasPrice"))?;
    }
    if tx_type >= 1 {
        if let Some(list) = opt(tx, "accessList") {
            env.access_list = parse_access_list(list, &name("accessList"))?;
        }
    }
    if tx_type == 3 {
        let hashes = req("blobVersionedHashes")?
            .as_array()
            .ok_or_else(|| FieldError::new(&name("blobVersionedHashes"), "expected an array"))?;
        env.blob_hashes =
            hashes.iter().map(|h| parse_b256(h, &name("blobVersionedHashes"))).collect::<Result<_, _>>()?;
        env.max_fee_per_blob_gas = Some(parse_u256(req("maxFeePerBlobGas")?, &name("maxFeePerBlobGas"))?);
    }
    if tx_type == 4 {
        env.authorization_list =
            Some(parse_authorizations(req("authorizationList")?, &name("authorizationList"))?);
    }
    Ok(Transaction { hash: parse_b256(req("hash")?, &name("hash"))?, env })
}

fn parse_access_list(v: &Value, path: &str) -> Result<Vec<AccessListItem>, FieldError> {
    let items = v.as_array().ok_or_else(|| FieldError::new(path, "expected an array"))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let at = format!("{path}[{i}].");
            let address = parse_address(field(item, "address", &at)?, &format!("{at}address"))?;
            let keys_path = format!("{at}storageKeys");
            let storage_keys = field(item, "storageKeys", &at)?
                .as_array()
                .ok_or_else(|| FieldError::new(&keys_path, "expected an array"))?
                .iter()
                .map(|k| parse_b256(k, &keys_path))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(AccessListItem { address, storage_keys })
        })
        .collect()
}

fn parse_authorizations(v: &Value, path: &str) -> Result<Vec<Authorization>, FieldError> {
    let items = v.as_array().ok_or_else(|| FieldError::new(path, "expected an array"))?;
    items
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let at = format!("{path}[{i}].");
            let n = |f: &str| format!("{at}{f}");
            let y = opt(a, "yParity")
                .or_else(|| opt(a, "v"))
                .ok_or_else(|| FieldError::new(&n("yParity"), "missing"))?;
            Ok(Authorization {
                chain_id: parse_u256(field(a, "chainId", &at)?, &n("chainId"))?,
                address: parse_address(field(a, "address", &at)?, &n("address"))?,
                nonce: parse_u64(field(a, "nonce", &at)?, &n("nonce"))?,
                y_parity: parse_u256(y, &n("yParity"))?,
                r: parse_u256(field(a, "r", &at)?, &n("r"))?,
                s: parse_u256(field(a, "s", &at)?, &n("s"))?,
            })
        })
        .collect()
}

/// Parses `pre_state.json` into a new store. An account's code is the first `original_len`
/// bytes of `code.bytecode` (the rest is another engine's padding); `code: null` means none.
pub fn parse_pre_state(pre: &Value) -> Result<MemoryState, FieldError> {
    let mut state = MemoryState::new();
    let accounts =
        pre.as_object().ok_or_else(|| FieldError::new("(top level)", "expected an object of accounts"))?;
    for (addr, account) in accounts {
        let at = format!("{addr}.");
        let address = parse_address(&Value::String(addr.clone()), addr)?;
        let basic = field(account, "basic", &at)?;
        let basic_at = format!("{at}basic.");
        let balance = parse_u256(field(basic, "balance", &basic_at)?, &format!("{basic_at}balance"))?;
        let nonce = parse_u64(field(basic, "nonce", &basic_at)?, &format!("{basic_at}nonce"))?;
        let code = match opt(account, "code") {
            None => Bytes::new(),
            Some(code) => parse_code(code, &format!("{at}code."))?,
        };
        let mut storage = Vec::new();
        if let Some(slots) = opt(account, "storage") {
            let storage_at = format!("{at}storage");
            let slots =
                slots.as_object().ok_or_else(|| FieldError::new(&storage_at, "expected an object"))?;
            for (key, value) in slots {
                let slot = crate::hexjson::parse_u256_str(key, &storage_at)?;
                storage.push((slot, parse_u256(value, &format!("{storage_at}.{key}"))?));
            }
        }
        // `insert_account` hashes the code itself.
        let info = AccountInfo { balance, nonce, code_hash: KECCAK_EMPTY, code: Some(code) };
        state.insert_account(address, info, storage);
    }
    Ok(state)
}

fn parse_code(code: &Value, at: &str) -> Result<Bytes, FieldError> {
    let bytecode_path = format!("{at}bytecode");
    let text = field(code, "bytecode", at)?
        .as_str()
        .ok_or_else(|| FieldError::new(&bytecode_path, "expected a string"))?;
    let mut bytes = parse_bytes_str(text, &bytecode_path)?;
    let len_path = format!("{at}original_len");
    let len = usize::try_from(parse_u64(field(code, "original_len", at)?, &len_path)?)
        .map_err(|_| FieldError::new(&len_path, "too large"))?;
    if len > bytes.len() {
        return Err(FieldError::new(
            &len_path,
            format!("{len} is longer than the bytecode ({} bytes)", bytes.len()),
        ));
    }
    bytes.truncate(len);
    Ok(Bytes::from(bytes))
}

/// Records the hashes of `block_hashes.json` (`{"number": "0xhash"}`) in `state`.
pub fn parse_block_hashes(hashes: &Value, state: &mut MemoryState) -> Result<(), FieldError> {
    let entries = hashes.as_object().ok_or_else(|| FieldError::new("(top level)", "expected an object"))?;
    for (number, hash) in entries {
        let n = crate::hexjson::parse_u256_str(number, number)?;
        let n = u64::try_from(n).map_err(|_| FieldError::new(number, "block number over 64 bits"))?;
        state.set_block_hash(n, parse_b256(hash, number)?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn code_is_cut_to_original_len() {
        let pre = json!({
            "0x0000000000000000000000000000000000000001": {
                "basic": {"balance": "0x10", "nonce": 2},
                "code": {"bytecode": "0x6001600100000000", "original_len": 4, "jump_table": null},
                "code_hash": null,
                "storage": {"0x01": "0x02", "0x03": "0x0"}
            },
            "0x0000000000000000000000000000000000000002": {
                "basic": {"balance": "0x0", "nonce": 0}, "code": null, "storage": {}
            }
        });
        let state = parse_pre_state(&pre).unwrap();
        let one = state.get(&metisvm_vm::Address::with_last_byte(1)).unwrap();
        assert_eq!(one.info.code.as_ref().map(|c| c.to_vec()), Some(vec![0x60, 0x01, 0x60, 0x01]));
        assert_eq!(one.info.nonce, 2);
        assert_eq!(one.storage.len(), 1);
        let two = state.get(&metisvm_vm::Address::with_last_byte(2)).unwrap();
        assert_eq!(two.info.code_hash, KECCAK_EMPTY);
    }

    #[test]
    fn errors_name_the_field() {
        let bad = json!({"0x0000000000000000000000000000000000000001": {
            "basic": {"balance": "0x10", "nonce": 0},
            "code": {"bytecode": "0x60", "original_len": 4}
        }});
        let err = parse_pre_state(&bad).unwrap_err();
        assert!(err.field.ends_with("code.original_len"), "{err}");

        let tx = json!({"from": "0x0000000000000000000000000000000000000001", "gas": "0xzz"});
        let block = json!({
            "number": "0x1", "timestamp": "0x1", "miner": "0x0000000000000000000000000000000000000000",
            "gasLimit": "0x1", "gasUsed": "0x0", "difficulty": "0x1", "logsBloom": format!("0x{}", "00".repeat(256)),
            "receiptsRoot": "0x00", "transactions": [tx]
        });
        let err = parse_block(&block).unwrap_err();
        assert_eq!(err.field, "transactions[0].gas", "{err}");
    }
}
