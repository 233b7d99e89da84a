//! Runner for `ethereum-tests/TransactionTests`: decoding, validation, sender recovery and
//! intrinsic gas of signed transactions.
//!
//! Each test holds raw `txbytes` and a `result` per fork. A result with `hash` and `sender`
//! is a valid transaction: it must decode, re-encode to the same bytes, pass
//! [`SignedTransaction::validate_for_fork`] and [`SignedTransaction::check_chain_id`] (the
//! vectors are signed for chain 1), recover `sender`, hash to `hash` and cost
//! `intrinsicGas`. A result with `exception` must be rejected by one of those steps; when the
//! transaction still decodes and the result names a nonzero `intrinsicGas`, that is checked
//! too. Each (test, fork) pair is one case.

use crate::fixtures::json_files;
use crate::hexjson::{get, parse_address, parse_b256, parse_bytes, parse_u64};
use crate::trie_tests::VectorSummary;
use metisvm_vm::{Fork, SignedTransaction};
use serde_json::Value;
use std::path::Path;

/// The folder of the transaction vectors, relative to the fixture root.
pub const TRANSACTION_TESTS_DIR: &str = "ethereum-tests/TransactionTests";

/// The chain id the vectors are signed for.
const CHAIN_ID: u64 = 1;

/// Runs every file below `<fixture_root>/ethereum-tests/TransactionTests`. Only a folder that
/// cannot be listed is an error; a file that cannot be read or parsed counts as a failure,
/// and a fork name [`Fork`] does not know is listed as skipped.
pub fn run(fixture_root: &Path) -> std::io::Result<VectorSummary> {
    let dir = fixture_root.join(TRANSACTION_TESTS_DIR);
    let mut summary = VectorSummary::default();
    for path in json_files(&dir)? {
        let file = path.strip_prefix(&dir).unwrap_or(&path).to_string_lossy().into_owned();
        let tests = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read: {e}"))
            .and_then(|text| serde_json::from_str::<Value>(&text).map_err(|e| format!("bad JSON: {e}")));
        let tests = match tests {
            Ok(Value::Object(tests)) => tests,
            Ok(_) => {
                summary.failed.push(format!("{file}: not a JSON object of tests"));
                continue;
            }
            Err(reason) => {
                summary.failed.push(format!("{file}: {reason}"));
                continue;
            }
        };
        for (name, test) in &tests {
            run_test(&file, name, test, &mut summary);
        }
    }
    Ok(summary)
}

/// Runs every fork's result of one test.
fn run_test(file: &str, name: &str, test: &Value, summary: &mut VectorSummary) {
    let raw = match get(test, "txbytes").and_then(|v| parse_bytes(v, "txbytes")) {
        Ok(raw) => raw,
        Err(e) => return summary.failed.push(format!("{file}: {name}: {e}")),
    };
    let Some(results) = test.get("result").and_then(Value::as_object) else {
        return summary.failed.push(format!("{file}: {name}: field \"result\": missing or not an object"));
    };
    let decoded = SignedTransaction::decode(&raw);
    for (fork_name, expected) in results {
        let Ok(fork) = fork_name.parse::<Fork>() else {
            summary.skipped.push(format!("{file}: {name}: unknown fork name {fork_name:?}"));
            continue;
        };
        let case = format!("{name} [{fork_name}]");
        let result = match expected.get("exception") {
            Some(exception) => {
                let exception = exception.as_str().unwrap_or("?");
                check_invalid(&raw, &decoded, fork, expected, exception)
            }
            None => check_valid(&raw, &decoded, fork, expected),
        };
        summary.record(file, &case, result);
    }
}

/// A transaction the fixture marks valid under `fork`.
fn check_valid(
    raw: &[u8],
    decoded: &Result<SignedTransaction, metisvm_vm::TxDecodeError>,
    fork: Fork,
    expected: &Value,
) -> Result<(), String> {
    let field = |name: &str| get(expected, name).map_err(|e| e.to_string());
    let want_hash = parse_b256(field("hash")?, "hash").map_err(|e| e.to_string())?;
    let want_sender = parse_address(field("sender")?, "sender").map_err(|e| e.to_string())?;
    let want_gas = parse_u64(field("intrinsicGas")?, "intrinsicGas").map_err(|e| e.to_string())?;

    let tx = decoded.as_ref().map_err(|e| format!("valid transaction rejected by decode: {e}"))?;
    if tx.encode() != raw {
        return Err(format!("re-encoding differs: 0x{}", hex::encode(tx.encode())));
    }
    tx.validate_for_fork(fork).map_err(|e| format!("valid transaction rejected by validation: {e}"))?;
    tx.check_chain_id(CHAIN_ID).map_err(|e| format!("valid transaction rejected by chain id: {e}"))?;
    let sender = tx.recover_sender().map_err(|e| format!("valid transaction rejected by recovery: {e}"))?;
    if sender != want_sender {
        return Err(format!("sender {sender}, expected {want_sender}"));
    }
    let hash = tx.hash();
    if hash != want_hash {
        return Err(format!("hash {hash}, expected {want_hash}"));
    }
    let gas = tx.intrinsic_gas(fork);
    if gas != want_gas {
        return Err(format!("intrinsic gas {gas}, expected {want_gas}"));
    }
    Ok(())
}

/// A transaction the fixture marks invalid under `fork`, with reason `exception`.
fn check_invalid(
    raw: &[u8],
    decoded: &Result<SignedTransaction, metisvm_vm::TxDecodeError>,
    fork: Fork,
    expected: &Value,
    exception: &str,
) -> Result<(), String> {
    let Ok(tx) = decoded else { return Ok(()) };
    if tx.encode() != raw {
        return Err(format!("decoded transaction re-encodes differently (expected {exception})"));
    }
    // The fixtures give the intrinsic gas of invalid transactions where they could compute
    // it, and 0 where they could not.
    let want_gas = match expected.get("intrinsicGas") {
        Some(v) => parse_u64(v, "intrinsicGas").map_err(|e| e.to_string())?,
        None => 0,
    };
    let gas = tx.intrinsic_gas(fork);
    if want_gas != 0 && gas != want_gas {
        return Err(format!("intrinsic gas {gas}, expected {want_gas} (transaction invalid: {exception})"));
    }
    if tx.validate_for_fork(fork).is_err() || tx.check_chain_id(CHAIN_ID).is_err() {
        return Ok(());
    }
    match tx.recover_sender() {
        Err(_) => Ok(()),
        Ok(sender) => Err(format!("accepted (sender {sender}), expected {exception}")),
    }
}
