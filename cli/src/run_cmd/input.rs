//! Reading a `metisvm run` input file: an optional `env`, `pre` and `fork` in state-test
//! field names, and one or more transactions.
//!
//! The file holds either `{ "env"?, "pre"?, "fork"?, "transaction": {..} | "transactions": [..] }`,
//! a bare transaction object, or a bare list of transactions. Every error is a [`FieldError`]
//! naming the field (`transactions[1].gasLimit`), and unknown fields are rejected so that a
//! misspelt name does not silently fall back to a default.

use super::devstate::{self, ENV_FIELDS, ENV_FIELDS_IGNORED};
use metisvm_conformance::hexjson::{
    parse_address, parse_b256, parse_bytes, parse_u256, parse_u64, FieldError,
};
use metisvm_conformance::statetest::parse::{parse_access_list, parse_env, parse_pre};
use metisvm_state::MemoryState;
use metisvm_vm::{Address, BlockEnv, Fork, TxEnv, U256};
use serde_json::{Map, Value};

/// Keys that mark an object as the wrapper form rather than a bare transaction.
const WRAPPER_FIELDS: [&str; 5] = ["env", "pre", "fork", "transaction", "transactions"];

/// The fields a transaction object may have.
const TX_FIELDS: [&str; 15] = [
    "from",
    "sender",
    "secretKey",
    "to",
    "value",
    "data",
    "input",
    "gas",
    "gasLimit",
    "gasPrice",
    "maxFeePerGas",
    "maxPriorityFeePerGas",
    "nonce",
    "accessList",
    "chainId",
];

/// Gas limit of a transaction that names none (below the EIP-7825 cap of 2^24).
pub(crate) const DEFAULT_GAS: u64 = 10_000_000;

/// One GWei, the default priority fee of a transaction that names no price.
const GWEI: u64 = 1_000_000_000;

/// The chain id `run` executes on.
pub(crate) const CHAIN_ID: u64 = 1;

/// A parsed input file.
pub(crate) struct RunInput {
    /// The file's `fork`, if it names one.
    pub(crate) fork: Option<Fork>,
    /// The block environment: the defaults with the file's `env` laid over them.
    pub(crate) block: BlockEnv,
    /// The file's `pre`; `None` means the default dev-account state.
    pub(crate) pre: Option<MemoryState>,
    /// The transactions, in order.
    pub(crate) txs: Vec<TxSpec>,
}

/// A transaction whose nonce may still depend on the state it runs on.
pub(crate) struct TxSpec {
    /// Everything but the nonce, which is filled in when `nonce` is `None`.
    pub(crate) tx: TxEnv,
    /// The nonce the file gives; `None` takes the sender's nonce at the time it runs.
    pub(crate) nonce: Option<u64>,
}

fn bad(field: &str, reason: impl Into<String>) -> FieldError {
    FieldError::new(field, reason)
}

/// The name of `key` inside the object at `path` (`""` for the top level).
fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn as_object<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, FieldError> {
    v.as_object().ok_or_else(|| bad(if path.is_empty() { "(top level)" } else { path }, "expected an object"))
}

fn reject_unknown(obj: &Map<String, Value>, path: &str, known: &[&str]) -> Result<(), FieldError> {
    match obj.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(bad(&join(path, k), format!("unknown field (expected one of: {})", known.join(", ")))),
        None => Ok(()),
    }
}

/// JSON numbers beyond 64 bits arrive as floats, which `parse_u256` would only call "not a
/// string"; say what is wrong instead.
fn check_json_number(v: &Value, field: &str) -> Result<(), FieldError> {
    if v.is_number() && v.as_u64().is_none() {
        return Err(bad(
            field,
            format!("JSON number {v} is not a 64-bit unsigned integer; write it as a hex or decimal string"),
        ));
    }
    Ok(())
}

fn u256_field(v: &Value, field: &str) -> Result<U256, FieldError> {
    check_json_number(v, field)?;
    parse_u256(v, field)
}

fn u64_field(v: &Value, field: &str) -> Result<u64, FieldError> {
    check_json_number(v, field)?;
    parse_u64(v, field)
}

/// Parses a whole input file's JSON.
pub(crate) fn parse_input(json: &Value) -> Result<RunInput, FieldError> {
    match json {
        Value::Array(items) => {
            let block = parse_block(None)?;
            let txs = parse_tx_list(items, "", &block)?;
            Ok(RunInput { fork: None, block, pre: None, txs })
        }
        Value::Object(obj) if WRAPPER_FIELDS.iter().any(|k| obj.contains_key(*k)) => parse_wrapper(obj),
        Value::Object(_) => {
            let block = parse_block(None)?;
            let tx = parse_tx(json, "", &block)?;
            Ok(RunInput { fork: None, block, pre: None, txs: vec![tx] })
        }
        _ => Err(bad("(top level)", "expected an object or a list of transactions")),
    }
}

fn parse_wrapper(obj: &Map<String, Value>) -> Result<RunInput, FieldError> {
    reject_unknown(obj, "", &WRAPPER_FIELDS)?;
    let fork = match obj.get("fork") {
        None => None,
        Some(v) => {
            let name = v.as_str().ok_or_else(|| bad("fork", "expected a string"))?;
            Some(name.parse::<Fork>().map_err(|e| bad("fork", e.to_string()))?)
        }
    };
    let block = parse_block(obj.get("env"))?;
    let pre = obj.get("pre").map(parse_pre).transpose()?;
    let txs = match (obj.get("transaction"), obj.get("transactions")) {
        (Some(_), Some(_)) => {
            return Err(bad("transactions", "give either \"transaction\" or \"transactions\", not both"))
        }
        (Some(tx), None) => vec![parse_tx(tx, "transaction", &block)?],
        (None, Some(list)) => {
            let items = list.as_array().ok_or_else(|| bad("transactions", "expected an array"))?;
            parse_tx_list(items, "transactions", &block)?
        }
        (None, None) => return Err(bad("transaction", "missing (give \"transaction\" or \"transactions\")")),
    };
    Ok(RunInput { fork, block, pre, txs })
}

/// The default environment with the file's `env` fields laid over it.
fn parse_block(env: Option<&Value>) -> Result<BlockEnv, FieldError> {
    let mut merged = devstate::default_env();
    if let Some(env) = env {
        let obj = as_object(env, "env")?;
        let known: Vec<&str> = ENV_FIELDS.iter().chain(ENV_FIELDS_IGNORED.iter()).copied().collect();
        reject_unknown(obj, "env", &known)?;
        for (key, value) in obj {
            if ENV_FIELDS.contains(&key.as_str()) {
                check_json_number(value, &join("env", key))?;
                merged.insert(key.clone(), value.clone());
            }
        }
    }
    parse_env(&Value::Object(merged))
}

fn parse_tx_list(items: &[Value], path: &str, block: &BlockEnv) -> Result<Vec<TxSpec>, FieldError> {
    if items.is_empty() {
        return Err(bad(if path.is_empty() { "(top level)" } else { path }, "no transactions"));
    }
    items.iter().enumerate().map(|(i, tx)| parse_tx(tx, &format!("{path}[{i}]"), block)).collect()
}

/// One of two alternative names of a field; giving both is an error.
fn either<'a>(
    obj: &'a Map<String, Value>,
    path: &str,
    a: &str,
    b: &str,
) -> Result<Option<(&'a Value, String)>, FieldError> {
    match (obj.get(a), obj.get(b)) {
        (Some(_), Some(_)) => Err(bad(&join(path, b), format!("give \"{a}\" or \"{b}\", not both"))),
        (Some(v), None) => Ok(Some((v, join(path, a)))),
        (None, Some(v)) => Ok(Some((v, join(path, b)))),
        (None, None) => Ok(None),
    }
}

fn parse_sender(obj: &Map<String, Value>, path: &str) -> Result<Address, FieldError> {
    if let Some((v, field)) = either(obj, path, "from", "sender")? {
        if obj.contains_key("secretKey") {
            return Err(bad(
                &join(path, "secretKey"),
                format!("give \"{field}\" or \"secretKey\", not both"),
            ));
        }
        return parse_address(v, &field);
    }
    if let Some(v) = obj.get("secretKey") {
        let field = join(path, "secretKey");
        let key = parse_b256(v, &field)?;
        return metisvm_vm::crypto::address_from_secret_key(&key)
            .ok_or_else(|| bad(&field, "not a valid secp256k1 secret key"));
    }
    Ok(devstate::dev_address(0))
}

fn parse_tx(v: &Value, path: &str, block: &BlockEnv) -> Result<TxSpec, FieldError> {
    let obj = as_object(v, path)?;
    reject_unknown(obj, path, &TX_FIELDS)?;
    let num = |name: &str| obj.get(name).map(|v| u256_field(v, &join(path, name))).transpose();
    let mut tx = TxEnv {
        caller: parse_sender(obj, path)?,
        value: num("value")?.unwrap_or(U256::ZERO),
        chain_id: Some(match obj.get("chainId") {
            Some(v) => u64_field(v, &join(path, "chainId"))?,
            None => CHAIN_ID,
        }),
        ..TxEnv::default()
    };
    tx.to = match obj.get("to") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(v) => Some(parse_address(v, &join(path, "to"))?),
    };
    if let Some((v, field)) = either(obj, path, "data", "input")? {
        tx.data = parse_bytes(v, &field)?;
    }
    tx.gas_limit = match either(obj, path, "gas", "gasLimit")? {
        Some((v, field)) => u64_field(v, &field)?,
        None => DEFAULT_GAS.min(block.gas_limit),
    };
    if let Some(list) = obj.get("accessList").filter(|l| !l.is_null()) {
        tx.access_list = parse_access_list(list, &join(path, "accessList"))?;
        tx.tx_type = 1;
    }
    match (obj.get("gasPrice"), num("maxFeePerGas")?, num("maxPriorityFeePerGas")?) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(bad(
                &join(path, "gasPrice"),
                "give \"gasPrice\" or \"maxFeePerGas\"/\"maxPriorityFeePerGas\", not both",
            ))
        }
        (_, Some(max_fee), Some(tip)) => {
            tx.tx_type = 2;
            tx.gas_price = max_fee;
            tx.max_priority_fee_per_gas = Some(tip);
        }
        (_, Some(_), None) => {
            return Err(bad(&join(path, "maxPriorityFeePerGas"), "missing (required with maxFeePerGas)"))
        }
        (_, None, Some(_)) => {
            return Err(bad(&join(path, "maxFeePerGas"), "missing (required with maxPriorityFeePerGas)"))
        }
        (Some(price), None, None) => tx.gas_price = u256_field(price, &join(path, "gasPrice"))?,
        (None, None, None) => tx.gas_price = block.base_fee.saturating_add(U256::from(GWEI)),
    }
    let nonce = obj.get("nonce").map(|v| u64_field(v, &join(path, "nonce"))).transpose()?;
    Ok(TxSpec { tx, nonce })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(v: Value) -> String {
        match parse_input(&v) {
            Ok(_) => String::from("ok"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn the_three_shapes() {
        let bare = parse_input(&json!({"to": "0x0000000000000000000000000000000000000001"})).unwrap();
        assert_eq!(bare.txs.len(), 1);
        assert!(bare.pre.is_none());
        let list = parse_input(&json!([{}, {"to": ""}])).unwrap();
        assert_eq!(list.txs.len(), 2);
        assert_eq!(list.txs[1].tx.to, None);
        let wrapped =
            parse_input(&json!({"fork": "Cancun", "env": {"currentBaseFee": "0x10"}, "transactions": [{}]}))
                .unwrap();
        assert_eq!(wrapped.fork, Some(Fork::Cancun));
        assert_eq!(wrapped.block.base_fee, U256::from(16));
        assert_eq!(wrapped.txs[0].tx.gas_price, U256::from(16 + GWEI));
    }

    #[test]
    fn defaults() {
        let input = parse_input(&json!({})).unwrap_or_else(|e| panic!("{e}"));
        let tx = &input.txs[0].tx;
        assert_eq!(tx.caller, devstate::dev_address(0));
        assert_eq!(tx.gas_limit, DEFAULT_GAS);
        assert_eq!(tx.tx_type, 0);
        assert_eq!(input.txs[0].nonce, None);
        assert_eq!(input.block.coinbase, parse_address(&json!(devstate::DEFAULT_COINBASE), "c").unwrap());
    }

    #[test]
    fn fee_fields_pick_the_type() {
        let input =
            parse_input(&json!({"maxFeePerGas": "0x10", "maxPriorityFeePerGas": 1, "accessList": []}));
        let tx = &input.unwrap().txs[0].tx;
        assert_eq!((tx.tx_type, tx.max_priority_fee_per_gas), (2, Some(U256::from(1))));
        let tx = &parse_input(&json!({"accessList": [], "gasPrice": 7})).unwrap().txs[0].tx;
        assert_eq!((tx.tx_type, tx.gas_price), (1, U256::from(7)));
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(err(json!({"gasLimit": "0xzz"})), "field \"gasLimit\": not a hex number: \"0xzz\"");
        assert!(err(json!({"transactions": [{}, {"value": "0x1".to_string() + &"0".repeat(64)}]}))
            .starts_with("field \"transactions[1].value\": number over 256 bits"));
        assert!(
            err(json!({"transaction": {"data": "0x0g"}})).starts_with("field \"transaction.data\": bad hex")
        );
        assert!(err(json!({"fork": "Atlantis", "transaction": {}})).contains("field \"fork\": unknown fork"));
        assert!(err(json!({"env": {}})).starts_with("field \"transaction\": missing"));
        assert!(err(json!({"gasLimt": 1})).starts_with("field \"gasLimt\": unknown field"));
        assert!(
            err(json!({"env": {"currentBasefee": 1}, "transaction": {}})).contains("\"env.currentBasefee\"")
        );
        assert!(err(json!({"value": 1e30})).contains("not a 64-bit unsigned integer"));
        assert!(err(json!({"maxFeePerGas": 1})).contains("\"maxPriorityFeePerGas\": missing"));
        assert!(err(json!({"gas": 1, "gasLimit": 1})).contains("not both"));
        assert!(err(json!([])).contains("no transactions"));
        assert!(err(json!(3)).starts_with("field \"(top level)\""));
        let pre = json!({"pre": {"0x0000000000000000000000000000000000000001": {"nonce": 0, "code": "0x"}},
            "transaction": {}});
        assert!(err(pre).contains("pre.0x0000000000000000000000000000000000000001.balance\": missing"));
    }
}
