//! Reading workloads from files: which files a path names, and the three shapes they come in.
//!
//! - **State tests** (evmone's `evm-benchmarks`): `transaction` is a template whose `data`,
//!   `gasLimit` and `value` lists are indexed by the `post` entries. Each case of `post` becomes
//!   one workload, run under the fork it is listed for (London in that suite) and named
//!   `test/label` after `_info.labels` (the data index when a label is missing).
//! - **revmc files**: `env`, `pre`, and `transaction` as a *list* of concrete transactions run
//!   in order; every one must succeed.
//! - **Bytecode** (`.hex`): runtime code called once; the calldata comes from the caller, else
//!   from [`known_calldata`], else it is empty.
//!
//! Every error names the file and, where it is a field, the field.

use std::path::{Path, PathBuf};

use metisvm_conformance::hexjson::{get, parse_address, parse_bytes, parse_u256, parse_u64, FieldError};
use metisvm_conformance::statetest::parse::{parse_access_list, parse_env, parse_pre, parse_test};
use metisvm_vm::{Bytes, CfgEnv, Fork, TxEnv};
use serde_json::Value;

use crate::workload::{normalise_block, Workload, DEFAULT_FORK, DEFAULT_GAS_LIMIT};

/// A file that cannot be turned into workloads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct LoadError {
    /// The file (or folder).
    pub path: PathBuf,
    /// What is wrong, naming the field where there is one.
    pub message: String,
}

impl LoadError {
    fn new(path: &Path, message: impl Into<String>) -> LoadError {
        LoadError { path: path.to_path_buf(), message: message.into() }
    }
}

/// How to read files that do not say everything themselves.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Calldata for bytecode files (overrides [`known_calldata`]).
    pub calldata: Option<Bytes>,
    /// Gas limit for bytecode files ([`DEFAULT_GAS_LIMIT`] when `None`).
    pub gas_limit: Option<u64>,
    /// Fork of revmc files and bytecode ([`DEFAULT_FORK`] when `None`); state tests run under
    /// the forks their `post` lists.
    pub fork: Option<Fork>,
}

/// The calldata the shared benchmark README gives for a bytecode file, by file name.
pub fn known_calldata(file_name: &str) -> Option<Bytes> {
    match file_name {
        "snailtracer.hex" => Some(Bytes::from_static(&[0x30, 0x62, 0x7b, 0x7c])),
        "analysis.hex" => Some(Bytes::from_static(&[0x80, 0x35, 0xf0, 0xce])),
        _ => None,
    }
}

/// The workload files a path names: the file itself, or every `.json` and `.hex` file below a
/// folder, sorted. Walking a folder skips `contracts/` folders, whose bytecode is input for
/// block generators rather than a workload of its own.
pub fn workload_files(path: &Path) -> Result<Vec<PathBuf>, LoadError> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    if !path.is_dir() {
        return Err(LoadError::new(path, "no such file or folder"));
    }
    let mut out = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries =
            std::fs::read_dir(&dir).map_err(|e| LoadError::new(&dir, format!("cannot read: {e}")))?;
        for entry in entries {
            let entry = entry.map_err(|e| LoadError::new(&dir, format!("cannot read: {e}")))?;
            let file = entry.path();
            if file.is_dir() {
                if file.file_name().is_some_and(|n| n != "contracts") {
                    stack.push(file);
                }
            } else if file.extension().is_some_and(|e| e == "json" || e == "hex") {
                out.push(file);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The workloads of one file, in the order the file lists them.
pub fn load_file(path: &Path, options: &LoadOptions) -> Result<Vec<Workload>, LoadError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| LoadError::new(path, format!("cannot read: {e}")))?;
    if path.extension().is_some_and(|e| e == "hex") {
        return load_hex(path, &text, options).map(|w| vec![w]);
    }
    let json: Value =
        serde_json::from_str(&text).map_err(|e| LoadError::new(path, format!("malformed JSON: {e}")))?;
    let tests = json.as_object().ok_or_else(|| LoadError::new(path, "expected an object of named tests"))?;
    if tests.is_empty() {
        return Err(LoadError::new(path, "no tests in the file"));
    }
    let suite = suite_of(path);
    let mut out = Vec::new();
    for (name, test) in tests {
        let named = |e: FieldError| LoadError::new(path, format!("test {name:?}: {e}"));
        let loaded = match test.get("transaction") {
            Some(Value::Array(txs)) => vec![revmc_workload(name, test, txs, options).map_err(named)?],
            Some(_) => state_test_workloads(name, test).map_err(named)?,
            None => return Err(named(FieldError::new("transaction", "missing"))),
        };
        out.extend(loaded.into_iter().map(|mut w| {
            w.suite.clone_from(&suite);
            w.source = Some(path.to_path_buf());
            w
        }));
    }
    Ok(out)
}

/// The suite of a file: its folder's name.
fn suite_of(path: &Path) -> String {
    path.parent().and_then(Path::file_name).map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

fn load_hex(path: &Path, text: &str, options: &LoadOptions) -> Result<Workload, LoadError> {
    let digits = text.trim();
    let digits = digits.strip_prefix("0x").unwrap_or(digits);
    if digits.is_empty() {
        return Err(LoadError::new(path, "empty bytecode"));
    }
    let code = hex::decode(digits).map_err(|e| LoadError::new(path, format!("not hex bytecode: {e}")))?;
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let calldata = options.calldata.clone().or_else(|| known_calldata(&file_name)).unwrap_or_default();
    let stem = path.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut workload = Workload::bytecode(
        stem,
        suite_of(path),
        Bytes::from(code),
        calldata,
        options.gas_limit.unwrap_or(DEFAULT_GAS_LIMIT),
        options.fork.unwrap_or(DEFAULT_FORK),
    );
    workload.source = Some(path.to_path_buf());
    Ok(workload)
}

/// One workload per `post` case of a state test.
fn state_test_workloads(name: &str, test: &Value) -> Result<Vec<Workload>, FieldError> {
    let parsed = parse_test(name, test, None)?;
    if let Some(fork) = parsed.unknown_forks.first() {
        return Err(FieldError::new(&format!("post.{fork}"), "unknown fork name"));
    }
    if parsed.cases.is_empty() {
        return Err(FieldError::new("post", "no cases"));
    }
    let labels = test.get("_info").and_then(|i| i.get("labels"));
    let forks: std::collections::BTreeSet<Fork> = parsed.cases.iter().map(|c| c.fork).collect();
    let mut out = Vec::with_capacity(parsed.cases.len());
    for case in &parsed.cases {
        let tx = case.tx.clone()?;
        let (d, g, v) = case.indexes;
        let label = labels
            .and_then(|l| l.get(d.to_string()))
            .and_then(Value::as_str)
            .map_or_else(|| d.to_string(), str::to_string);
        let mut case_name = format!("{name}/{label}");
        if g != 0 || v != 0 {
            case_name.push_str(&format!("/g{g}v{v}"));
        }
        if forks.len() > 1 {
            case_name.push_str(&format!("@{}", case.fork));
        }
        out.push(Workload {
            name: case_name,
            suite: String::new(),
            source: None,
            pre: parsed.pre.clone(),
            block: normalise_block(parsed.block.clone(), case.fork),
            cfg: parsed.cfg(case.fork),
            txs: vec![tx],
            require_success: false,
        });
    }
    Ok(out)
}

/// A revmc file's test: its transactions in order under one fork.
fn revmc_workload(
    name: &str,
    test: &Value,
    txs: &[Value],
    options: &LoadOptions,
) -> Result<Workload, FieldError> {
    let pre = parse_pre(get(test, "pre")?)?;
    let block = parse_env(get(test, "env")?)?;
    if txs.is_empty() {
        return Err(FieldError::new("transaction", "empty list"));
    }
    let txs = txs.iter().enumerate().map(|(i, tx)| concrete_tx(tx, i)).collect::<Result<Vec<_>, _>>()?;
    let fork = options.fork.unwrap_or(DEFAULT_FORK);
    Ok(Workload {
        name: name.to_string(),
        suite: String::new(),
        source: None,
        pre,
        block: normalise_block(block, fork),
        cfg: CfgEnv::new(fork),
        txs,
        require_success: true,
    })
}

/// One concrete transaction of a revmc list; errors name it `transaction[i].field`.
fn concrete_tx(tx: &Value, i: usize) -> Result<TxEnv, FieldError> {
    let path = |field: &str| format!("transaction[{i}].{field}");
    let field = |name: &str| get(tx, name).map_err(|_| FieldError::new(&path(name), "missing"));
    let mut env = TxEnv {
        caller: parse_address(field("sender")?, &path("sender"))?,
        data: parse_bytes(field("data")?, &path("data"))?,
        gas_limit: parse_u64(field("gasLimit")?, &path("gasLimit"))?,
        value: parse_u256(field("value")?, &path("value"))?,
        nonce: parse_u64(field("nonce")?, &path("nonce"))?,
        ..TxEnv::default()
    };
    env.to = match tx.get("to") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(to) => Some(parse_address(to, &path("to"))?),
    };
    if let Some(max_fee) = tx.get("maxFeePerGas") {
        env.tx_type = 2;
        env.gas_price = parse_u256(max_fee, &path("maxFeePerGas"))?;
        let tip = field("maxPriorityFeePerGas")?;
        env.max_priority_fee_per_gas = Some(parse_u256(tip, &path("maxPriorityFeePerGas"))?);
    } else {
        env.gas_price = parse_u256(field("gasPrice")?, &path("gasPrice"))?;
    }
    if let Some(list) = tx.get("accessList").filter(|l| !l.is_null()) {
        env.access_list = parse_access_list(list, &path("accessList"))?;
        env.tx_type = env.tx_type.max(1);
    }
    if let Some(chain_id) = tx.get("chainId") {
        env.chain_id = Some(parse_u64(chain_id, &path("chainId"))?);
    }
    Ok(env)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATE_TEST: &str = r#"{"t": {
        "_info": {"labels": {"0": "zero", "1": "one"}},
        "env": {"currentCoinbase": "0x2adc25665018aa1fe0e6bc666dac8fc2697ff9ba", "currentNumber": "0x01",
                "currentTimestamp": "0x03e8", "currentGasLimit": "0x05f5e100", "currentBaseFee": "0x0a",
                "currentDifficulty": "0x020000"},
        "pre": {"0xa94f5374fce5edbc8e2a8697c15331677e6ebf0b": {"balance": "0x3b9aca00", "code": "0x", "nonce": "0x00", "storage": {}},
                "0xcccccccccccccccccccccccccccccccccccccccc": {"balance": "0x00", "code": "0x600035600055", "nonce": "0x01", "storage": {"0x01": "0x02"}}},
        "transaction": {"data": ["0x01", "0x02"], "gasLimit": ["0x0f4240"], "gasPrice": "0x0a", "nonce": "0x00",
                        "sender": "0xa94f5374fce5edbc8e2a8697c15331677e6ebf0b",
                        "to": "0xcccccccccccccccccccccccccccccccccccccccc", "value": ["0x00"]},
        "post": {"London": [
            {"hash": "0x00", "logs": "0x00", "indexes": {"data": 0, "gas": 0, "value": 0}},
            {"hash": "0x00", "logs": "0x00", "indexes": {"data": 1, "gas": 0, "value": 0}},
            {"hash": "0x00", "logs": "0x00", "indexes": {"data": 2, "gas": 0, "value": 0}}]}
    }}"#;

    const REVMC: &str = r#"{"counter": {
        "env": {"currentBaseFee": "0x0", "currentCoinbase": "0x0000000000000000000000000000000000000000",
                "currentGasLimit": "0x7fffffffffffffff", "currentNumber": "0x1", "currentTimestamp": "0x1"},
        "pre": {"0x1111111111111111111111111111111111111111": {"balance": "0xffff", "code": "0x", "nonce": "0x0", "storage": {}},
                "0xcccccccccccccccccccccccccccccccccccccccc": {"balance": "0x0", "code": "0x00", "nonce": "0x1", "storage": {}}},
        "transaction": [
            {"data": "0x", "gasLimit": "0x10000", "gasPrice": "0x0", "nonce": "0x0",
             "sender": "0x1111111111111111111111111111111111111111", "to": "0xcccccccccccccccccccccccccccccccccccccccc", "value": "0x0"},
            {"data": "0x01", "gasLimit": "0x10000", "gasPrice": "0x0", "nonce": "0x1",
             "sender": "0x1111111111111111111111111111111111111111", "to": "0xcccccccccccccccccccccccccccccccccccccccc", "value": "0x0"}]
    }}"#;

    /// Writes `contents` to a fresh file `dir/name` under the temporary folder.
    fn temp_file(dir: &str, name: &str, contents: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("metisvm-bench-{}", std::process::id())).join(dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    #[test]
    fn state_test_cases_are_named_by_label() {
        let text = STATE_TEST.replace(
            r#",
            {"hash": "0x00", "logs": "0x00", "indexes": {"data": 2, "gas": 0, "value": 0}}"#,
            "",
        );
        let path = temp_file("st", "t.json", &text);
        let loaded = load_file(&path, &LoadOptions::default()).unwrap();
        let names: Vec<_> = loaded.iter().map(Workload::id).collect();
        assert_eq!(names, ["st/t/zero", "st/t/one"]);
        assert!(loaded.iter().all(|w| w.fork() == Fork::London && w.txs.len() == 1 && !w.require_success));
        assert_eq!(loaded[1].txs[0].data.as_ref(), &[0x02]);
        assert_eq!(loaded[0].pre.len(), 2);
    }

    #[test]
    fn state_test_bad_index_names_the_field() {
        let path = temp_file("st-bad", "t.json", STATE_TEST);
        let err = load_file(&path, &LoadOptions::default()).unwrap_err();
        assert!(err.to_string().contains("t.json") && err.message.contains("transaction.data[2]"), "{err}");
    }

    #[test]
    fn revmc_file_keeps_its_transaction_list() {
        let path = temp_file("revmc", "counter.json", REVMC);
        let loaded = load_file(&path, &LoadOptions::default()).unwrap();
        assert_eq!(loaded.len(), 1);
        let w = &loaded[0];
        assert_eq!(w.id(), "revmc/counter");
        assert_eq!((w.txs.len(), w.txs[1].nonce), (2, 1));
        assert_eq!(w.fork(), DEFAULT_FORK);
        assert!(w.require_success);
        assert_eq!(w.block.gas_limit, 0x7fff_ffff_ffff_ffff);

        let forked =
            load_file(&path, &LoadOptions { fork: Some(Fork::Cancun), ..LoadOptions::default() }).unwrap();
        assert_eq!(forked[0].fork(), Fork::Cancun);
    }

    #[test]
    fn revmc_bad_field_is_named() {
        let path = temp_file(
            "revmc-bad",
            "counter.json",
            &REVMC.replacen(r#""gasLimit": "0x10000""#, r#""gasLimit": "zz""#, 1),
        );
        let err = load_file(&path, &LoadOptions::default()).unwrap_err();
        assert!(err.message.contains("transaction[0].gasLimit"), "{err}");
    }

    #[test]
    fn hex_files_take_known_or_given_calldata() {
        let path = temp_file("hex", "snailtracer.hex", "0x6000\n");
        let w = &load_file(&path, &LoadOptions::default()).unwrap()[0];
        assert_eq!(w.id(), "hex/snailtracer");
        assert_eq!(w.txs[0].data, known_calldata("snailtracer.hex").unwrap());
        assert_eq!(w.txs[0].gas_limit, DEFAULT_GAS_LIMIT);

        let options =
            LoadOptions { calldata: Some(Bytes::from_static(&[1])), gas_limit: Some(5), fork: None };
        let w = &load_file(&path, &options).unwrap()[0];
        assert_eq!((w.txs[0].data.as_ref(), w.txs[0].gas_limit), (&[1u8][..], 5));

        let bad = temp_file("hex", "bad.hex", "0xzz");
        assert!(load_file(&bad, &LoadOptions::default()).unwrap_err().message.contains("not hex"));
    }

    #[test]
    fn walking_a_folder_skips_contracts() {
        let a = temp_file("walk", "a.json", "{}");
        let root = a.parent().unwrap().to_path_buf();
        std::fs::create_dir_all(root.join("contracts")).unwrap();
        std::fs::write(root.join("contracts/ERC20.hex"), "00").unwrap();
        std::fs::write(root.join("b.hex"), "00").unwrap();
        std::fs::write(root.join("README.md"), "").unwrap();
        let files = workload_files(&root).unwrap();
        assert_eq!(files, [root.join("a.json"), root.join("b.hex")]);
        assert!(workload_files(&root.join("missing")).is_err());
        assert!(load_file(&a, &LoadOptions::default()).unwrap_err().message.contains("no tests"));
    }
}
