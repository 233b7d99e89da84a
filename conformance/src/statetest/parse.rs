//! Parsing of state-test JSON (the ethereum/tests and execution-spec-tests format) into
//! ready-to-run cases: a pre-state, a block environment, and one transaction per
//! (fork, data, gas, value) combination with its expected post-state root and logs hash.

use crate::hexjson::{get, parse_address, parse_b256, parse_bytes, parse_u256, parse_u64, FieldError};
use metisvm_state::MemoryState;
use metisvm_vm::env::{AccessListItem, Authorization, BlobSchedule, BlockEnv, CfgEnv, TxEnv};
use metisvm_vm::{AccountInfo, Address, Fork, B256, U256};
use serde_json::Value;

/// One named test of a state-test file: the shared pre-state and environment, and its cases.
pub struct StateTest {
    /// The test's name (the JSON key).
    pub name: String,
    /// The pre-state.
    pub pre: MemoryState,
    /// The block environment, shared by every case.
    pub block: BlockEnv,
    /// Chain id from `config`, else 1.
    pub chain_id: u64,
    /// Blob schedules from `config.blobSchedule`, by fork.
    pub blob_schedules: Vec<(Fork, BlobSchedule)>,
    /// The cases to run.
    pub cases: Vec<Case>,
    /// Post entries whose fork name is not one we run, with the name.
    pub unknown_forks: Vec<String>,
}

/// One (fork, data, gas, value) case.
pub struct Case {
    /// The fork.
    pub fork: Fork,
    /// Index into `data`, `gasLimit`, `value`.
    pub indexes: (usize, usize, usize),
    /// The transaction, or why the fixture's fields cannot form one (a value over 256 bits,
    /// say): such a transaction can never be valid, and its case must expect an exception.
    pub tx: Result<TxEnv, FieldError>,
    /// Expected post-state root.
    pub expected_root: B256,
    /// Expected keccak of the RLP list of logs.
    pub expected_logs: B256,
    /// The expected rejection, when the transaction must be invalid.
    pub expect_exception: Option<String>,
}

fn field<'a>(obj: &'a Value, name: &str, path: &str) -> Result<&'a Value, FieldError> {
    get(obj, name).map_err(|_| FieldError::new(&format!("{path}.{name}"), "missing"))
}

/// Parses a state test's `pre` object (address to `balance`, `nonce`, `code`, `storage`) into a
/// state; errors name the field, e.g. `pre.0x...balance`.
pub fn parse_pre(pre: &Value) -> Result<MemoryState, FieldError> {
    let mut state = MemoryState::new();
    let accounts = pre.as_object().ok_or_else(|| FieldError::new("pre", "expected an object"))?;
    for (addr, acct) in accounts {
        let path = format!("pre.{addr}");
        let address = parse_address(&Value::String(addr.clone()), &path)?;
        let balance = parse_u256(field(acct, "balance", &path)?, &format!("{path}.balance"))?;
        let nonce = parse_u64(field(acct, "nonce", &path)?, &format!("{path}.nonce"))?;
        let code = parse_bytes(field(acct, "code", &path)?, &format!("{path}.code"))?;
        let mut storage = Vec::new();
        if let Some(slots) = acct.get("storage").and_then(Value::as_object) {
            for (k, v) in slots {
                let key = crate::hexjson::parse_u256_str(k, &format!("{path}.storage"))?;
                storage.push((key, parse_u256(v, &format!("{path}.storage.{k}"))?));
            }
        }
        let info = AccountInfo { balance, nonce, code_hash: metisvm_vm::KECCAK_EMPTY, code: Some(code) };
        state.insert_account(address, info, storage);
    }
    Ok(state)
}

/// Parses a state test's `env` object (`currentCoinbase`, `currentNumber`, `currentTimestamp`,
/// `currentGasLimit` required; `currentBaseFee`, `currentDifficulty`, `currentRandom`,
/// `currentExcessBlobGas` optional) into a block environment.
pub fn parse_env(env: &Value) -> Result<BlockEnv, FieldError> {
    let opt_u256 = |name: &str| -> Result<Option<U256>, FieldError> {
        env.get(name).map(|v| parse_u256(v, &format!("env.{name}"))).transpose()
    };
    Ok(BlockEnv {
        number: parse_u64(field(env, "currentNumber", "env")?, "env.currentNumber")?,
        coinbase: parse_address(field(env, "currentCoinbase", "env")?, "env.currentCoinbase")?,
        timestamp: parse_u64(field(env, "currentTimestamp", "env")?, "env.currentTimestamp")?,
        gas_limit: parse_u64(field(env, "currentGasLimit", "env")?, "env.currentGasLimit")?,
        base_fee: opt_u256("currentBaseFee")?.unwrap_or(U256::ZERO),
        difficulty: opt_u256("currentDifficulty")?.unwrap_or(U256::ZERO),
        prevrandao: env
            .get("currentRandom")
            .map(|v| parse_b256(v, "env.currentRandom"))
            .transpose()?
            .unwrap_or_default(),
        excess_blob_gas: env
            .get("currentExcessBlobGas")
            .map(|v| parse_u64(v, "env.currentExcessBlobGas"))
            .transpose()?,
        parent_beacon_block_root: None,
    })
}

/// The template transaction's fields shared by all cases.
struct Template<'a> {
    tx: &'a Value,
    sender: Address,
}

fn pick<'a>(tx: &'a Value, name: &str, i: usize) -> Result<&'a Value, FieldError> {
    let arr = field(tx, name, "transaction")?
        .as_array()
        .ok_or_else(|| FieldError::new(&format!("transaction.{name}"), "expected an array"))?;
    arr.get(i).ok_or_else(|| FieldError::new(&format!("transaction.{name}[{i}]"), "index out of range"))
}

/// Parses an EIP-2930 access list (`[{address, storageKeys}]`); `path` names it in errors.
pub fn parse_access_list(v: &Value, path: &str) -> Result<Vec<AccessListItem>, FieldError> {
    let items = v.as_array().ok_or_else(|| FieldError::new(path, "expected an array"))?;
    items
        .iter()
        .map(|item| {
            let address = parse_address(field(item, "address", path)?, &format!("{path}.address"))?;
            let keys = field(item, "storageKeys", path)?
                .as_array()
                .ok_or_else(|| FieldError::new(&format!("{path}.storageKeys"), "expected an array"))?
                .iter()
                .map(|k| parse_b256(k, &format!("{path}.storageKeys")))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(AccessListItem { address, storage_keys: keys })
        })
        .collect()
}

fn parse_authorizations(v: &Value) -> Result<Vec<Authorization>, FieldError> {
    let path = "transaction.authorizationList";
    let items = v.as_array().ok_or_else(|| FieldError::new(path, "expected an array"))?;
    items
        .iter()
        .map(|a| {
            let y = a
                .get("yParity")
                .or_else(|| a.get("v"))
                .ok_or_else(|| FieldError::new(path, "missing yParity"))?;
            Ok(Authorization {
                chain_id: parse_u256(field(a, "chainId", path)?, &format!("{path}.chainId"))?,
                address: parse_address(field(a, "address", path)?, &format!("{path}.address"))?,
                nonce: parse_u64(field(a, "nonce", path)?, &format!("{path}.nonce"))?,
                y_parity: parse_u256(y, &format!("{path}.yParity"))?,
                r: parse_u256(field(a, "r", path)?, &format!("{path}.r"))?,
                s: parse_u256(field(a, "s", path)?, &format!("{path}.s"))?,
            })
        })
        .collect()
}

impl Template<'_> {
    fn build(&self, d: usize, g: usize, v: usize) -> Result<TxEnv, FieldError> {
        let tx = self.tx;
        let mut env = TxEnv {
            caller: self.sender,
            nonce: parse_u64(field(tx, "nonce", "transaction")?, "transaction.nonce")?,
            data: parse_bytes(pick(tx, "data", d)?, "transaction.data")?,
            gas_limit: parse_u64(pick(tx, "gasLimit", g)?, "transaction.gasLimit")?,
            value: parse_u256(pick(tx, "value", v)?, "transaction.value")?,
            ..TxEnv::default()
        };
        env.to = match tx.get("to").and_then(Value::as_str) {
            None | Some("") => None,
            Some(_) => Some(parse_address(&tx["to"], "transaction.to")?),
        };
        let access_list = tx.get("accessLists").and_then(|l| l.get(d)).filter(|l| !l.is_null());
        if let Some(list) = access_list {
            env.access_list = parse_access_list(list, "transaction.accessLists")?;
            env.tx_type = 1;
        } else if let Some(list) = tx.get("accessList").filter(|l| !l.is_null()) {
            env.access_list = parse_access_list(list, "transaction.accessList")?;
            env.tx_type = 1;
        }
        if let Some(max_fee) = tx.get("maxFeePerGas") {
            env.tx_type = 2;
            env.gas_price = parse_u256(max_fee, "transaction.maxFeePerGas")?;
            env.max_priority_fee_per_gas = Some(parse_u256(
                field(tx, "maxPriorityFeePerGas", "transaction")?,
                "transaction.maxPriorityFeePerGas",
            )?);
        } else {
            env.gas_price = parse_u256(field(tx, "gasPrice", "transaction")?, "transaction.gasPrice")?;
        }
        if let Some(hashes) = tx.get("blobVersionedHashes") {
            env.tx_type = 3;
            env.blob_hashes = hashes
                .as_array()
                .ok_or_else(|| FieldError::new("transaction.blobVersionedHashes", "expected an array"))?
                .iter()
                .map(|h| parse_b256(h, "transaction.blobVersionedHashes"))
                .collect::<Result<_, _>>()?;
            env.max_fee_per_blob_gas = tx
                .get("maxFeePerBlobGas")
                .map(|v| parse_u256(v, "transaction.maxFeePerBlobGas"))
                .transpose()?;
        }
        if let Some(auths) = tx.get("authorizationList") {
            env.tx_type = 4;
            env.authorization_list = Some(parse_authorizations(auths)?);
        }
        Ok(env)
    }
}

fn sender_of(tx: &Value) -> Result<Address, FieldError> {
    if let Some(s) = tx.get("sender") {
        return parse_address(s, "transaction.sender");
    }
    let key = parse_b256(field(tx, "secretKey", "transaction")?, "transaction.secretKey")?;
    metisvm_vm::crypto::address_from_secret_key(&key)
        .ok_or_else(|| FieldError::new("transaction.secretKey", "not a valid secp256k1 key"))
}

fn parse_blob_schedules(config: Option<&Value>) -> Result<Vec<(Fork, BlobSchedule)>, FieldError> {
    let mut out = Vec::new();
    let Some(schedule) = config.and_then(|c| c.get("blobSchedule")).and_then(Value::as_object) else {
        return Ok(out);
    };
    for (name, s) in schedule {
        let Ok(fork) = name.parse::<Fork>() else { continue };
        let path = format!("config.blobSchedule.{name}");
        out.push((
            fork,
            BlobSchedule {
                target: parse_u64(field(s, "target", &path)?, &path)?,
                max: parse_u64(field(s, "max", &path)?, &path)?,
                update_fraction: parse_u64(field(s, "baseFeeUpdateFraction", &path)?, &path)?,
            },
        ));
    }
    Ok(out)
}

/// Parses one named test. `fork_filter` keeps only cases of that fork.
pub fn parse_test(name: &str, test: &Value, fork_filter: Option<Fork>) -> Result<StateTest, FieldError> {
    let pre = parse_pre(field(test, "pre", name)?)?;
    let block = parse_env(field(test, "env", name)?)?;
    let tx = field(test, "transaction", name)?;
    let template = Template { tx, sender: sender_of(tx)? };
    let config = test.get("config");
    let chain_id = match config.and_then(|c| c.get("chainid")) {
        Some(v) => parse_u64(v, "config.chainid")?,
        None => 1,
    };
    let blob_schedules = parse_blob_schedules(config)?;
    let post = field(test, "post", name)?
        .as_object()
        .ok_or_else(|| FieldError::new("post", "expected an object"))?;
    let mut cases = Vec::new();
    let mut unknown_forks = Vec::new();
    for (fork_name, entries) in post {
        let Ok(fork) = fork_name.parse::<Fork>() else {
            unknown_forks.push(fork_name.clone());
            continue;
        };
        if fork_filter.is_some_and(|f| f != fork) {
            continue;
        }
        let entries = entries
            .as_array()
            .ok_or_else(|| FieldError::new(&format!("post.{fork_name}"), "expected an array"))?;
        for entry in entries {
            let path = format!("post.{fork_name}");
            let idx = field(entry, "indexes", &path)?;
            let ix = |k: &str| -> Result<usize, FieldError> {
                Ok(parse_u64(field(idx, k, &path)?, &format!("{path}.indexes.{k}"))? as usize)
            };
            let (d, g, v) = (ix("data")?, ix("gas")?, ix("value")?);
            cases.push(Case {
                fork,
                indexes: (d, g, v),
                tx: template.build(d, g, v),
                expected_root: parse_b256(field(entry, "hash", &path)?, &format!("{path}.hash"))?,
                expected_logs: parse_b256(field(entry, "logs", &path)?, &format!("{path}.logs"))?,
                expect_exception: entry.get("expectException").and_then(Value::as_str).map(str::to_string),
            });
        }
    }
    Ok(StateTest { name: name.to_string(), pre, block, chain_id, blob_schedules, cases, unknown_forks })
}

impl StateTest {
    /// The chain configuration of a case.
    pub fn cfg(&self, fork: Fork) -> CfgEnv {
        let schedule = self
            .blob_schedules
            .iter()
            .filter(|(f, _)| *f <= fork)
            .max_by_key(|(f, _)| *f)
            .map(|(_, s)| *s)
            .unwrap_or_else(|| BlobSchedule::for_fork(fork));
        CfgEnv { chain_id: self.chain_id, fork, blob_schedule: schedule }
    }
}
