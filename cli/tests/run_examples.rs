//! `metisvm run` on the shipped examples and on small inputs: statuses, decoded revert
//! reasons, created addresses, JSON and trace output, and snapshots of the text people read.

mod common;

use common::{example, metisvm, stderr, stdout, TempFile};
use serde_json::Value;

const DEV0: &str = "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf";
const DEV1: &str = "0x2b5ad5c4795c026514f8317c7a215e218dccd6cf";
const COUNTER: &str = "0xf2e246bb76df876cef8b38ae84130f4f55de395b";

/// Runs `metisvm run` with `args`, asserting exit code `code`; returns standard output.
fn run_ok(args: &[&str], code: i32) -> String {
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    let out = metisvm(&all);
    assert_eq!(out.status.code(), Some(code), "stdout: {}\nstderr: {}", stdout(&out), stderr(&out));
    stdout(&out)
}

fn run_json(args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let text = run_ok(&all, 0);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("--json output is JSON ({e}): {text}"))
}

#[test]
fn transfer_succeeds() {
    let transfer = example("transfer.json");
    let text = run_ok(&[&transfer], 0);
    insta::assert_snapshot!("transfer", text);

    let report = run_json(&[&transfer]);
    let tx = &report["transactions"][0];
    assert_eq!(report["fork"], "Osaka");
    assert_eq!(tx["status"], "success");
    assert_eq!(tx["gasUsed"], 21000);
    assert_eq!(tx["from"], DEV0);
    assert_eq!(tx["to"], DEV1);
    // 10^24 + 10^18 wei.
    assert_eq!(tx["stateDiff"][DEV1]["balance"]["after"], "0xd3c229af83a148640000");
    assert_eq!(tx["stateDiff"][DEV0]["nonce"]["after"], 1);
}

#[test]
fn transfer_json_snapshot() {
    insta::assert_snapshot!("transfer_json", run_ok(&[&example("transfer.json"), "--json"], 0));
}

#[test]
fn deploy_and_call_creates_and_counts() {
    let path = example("deploy_and_call.json");
    let text = run_ok(&[&path], 0);
    insta::assert_snapshot!("deploy_and_call", text);

    let report = run_json(&[&path]);
    let txs = report["transactions"].as_array().expect("a list of transactions");
    assert_eq!(txs.len(), 3);
    assert!(txs.iter().all(|tx| tx["status"] == "success"), "{report}");
    assert_eq!(txs[0]["to"], Value::Null);
    assert_eq!(txs[0]["createdAddresses"], serde_json::json!([COUNTER]));
    assert_eq!(txs[1]["to"], COUNTER);
    assert_eq!(txs[1]["nonce"], 1);
    let one = format!("0x{:064x}", 1);
    let two = format!("0x{:064x}", 2);
    assert_eq!(txs[1]["output"], one.as_str());
    assert_eq!(txs[2]["output"], two.as_str());
    assert_eq!(txs[2]["stateDiff"][COUNTER]["storage"]["0x0"]["after"], "0x2");
}

#[test]
fn revert_decodes_the_reason() {
    let path = example("revert.json");
    let text = run_ok(&[&path], 0);
    insta::assert_snapshot!("revert", text);
    assert!(text.contains("status: revert"));
    assert!(text.contains(r#"revert reason: Error("Vault: caller is not the owner")"#));

    let tx = &run_json(&[&path])["transactions"][0];
    assert_eq!(tx["status"], "revert");
    assert_eq!(tx["revertReason"], r#"Error("Vault: caller is not the owner")"#);
    assert!(tx["output"].as_str().is_some_and(|o| o.starts_with("0x08c379a0")));
}

#[test]
fn fork_option_overrides_the_file() {
    let report = run_json(&[&example("revert.json"), "--fork", "Cancun"]);
    assert_eq!(report["fork"], "Cancun");
    // Before Prague there is no EIP-7623 calldata floor: 21000 + 4 * 16 + execution.
    assert_eq!(report["transactions"][0]["gasUsed"], 21118);
}

#[test]
fn trace_goes_to_stderr() {
    let out = metisvm(&["run", &example("revert.json"), "--trace"]);
    assert_eq!(out.status.code(), Some(0));
    let trace = stderr(&out);
    let steps: Vec<Value> = trace
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("trace line is JSON ({e}): {l}")))
        .collect();
    assert_eq!(steps.first().map(|s| s["opName"].clone()), Some(Value::from("PUSH4")));
    assert!(steps.iter().any(|s| s["opName"] == "REVERT"));
    assert!(stdout(&out).contains("status: revert"));
}

#[test]
fn rejected_transaction_exits_1_and_later_ones_still_run() {
    let input = r#"[
        {"to": "0x2B5AD5c4795c026514f8317c7a215E218DcCD6cF", "gas": 20000},
        {"to": "0x2B5AD5c4795c026514f8317c7a215E218DcCD6cF", "nonce": 5, "gas": 21000},
        {"to": "0x2B5AD5c4795c026514f8317c7a215E218DcCD6cF", "value": 7, "gas": 21000}
    ]"#;
    let file = TempFile::new("tx.json", input);
    let text = run_ok(&[file.path()], 1);
    assert!(text.contains("status: rejected: invalid transaction: intrinsic gas too low"), "{text}");
    assert!(text.contains("status: rejected: invalid transaction: nonce too high: transaction 5, account 0"));
    assert!(text.contains("transaction 2: 0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf (dev 0) -> "));
    assert!(text.contains("nonce 0\n  status: success"), "{text}");
}

#[test]
fn halts_are_reported_with_their_reason() {
    let input = r#"{"pre": {"0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf":
                        {"balance": "0xffffffffffffff", "nonce": 0, "code": "0x"}},
                    "transaction": {"data": "0xfe", "gasPrice": "0x3b9aca01", "gas": 60000}}"#;
    let file = TempFile::new("tx.json", input);
    let text = run_ok(&[file.path()], 0);
    assert!(text.contains("status: halt: invalid opcode"), "{text}");
    assert!(text.contains("gas used: 60000"), "{text}");
}

#[test]
fn logs_and_eip1559_fees() {
    // LOG1(0, 32, topic 0xaa) after MSTORE(0, 0x2a), run as initcode: the log comes from the
    // new contract's address.
    let input = r#"{"data": "0x602a60005260aa60206000a1", "maxFeePerGas": "0x77359400",
                    "maxPriorityFeePerGas": "0x02", "accessList": []}"#;
    let file = TempFile::new("tx.json", input);
    let report = run_json(&[file.path()]);
    let tx = &report["transactions"][0];
    assert_eq!(tx["status"], "success");
    let created = tx["createdAddresses"][0].as_str().expect("a created address");
    let log = &tx["logs"][0];
    assert_eq!(log["address"], created);
    assert_eq!(log["topics"][0], format!("0x{:064x}", 0xaa));
    assert_eq!(log["data"], format!("0x{:064x}", 0x2a));
    // The coinbase earns the priority fee of 2 wei per gas.
    let gas = tx["gasUsed"].as_u64().expect("gas used");
    let coinbase = &tx["stateDiff"]["0x0000000000000000000000000000000000c0ffee"];
    assert_eq!(coinbase["balance"]["after"], format!("{:#x}", 2 * gas));
}

#[test]
fn state_persists_between_runs_in_metisdb() {
    let db = common::temp_path("persist");
    let db_arg = db.to_str().unwrap();
    let deploy = TempFile::new(
        "deploy.json",
        // Creates a contract whose code returns storage slot 0 after adding 1 to it.
        r#"{"transaction": {"from": "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf",
            "data": "0x6012600d60003960126000f3fe6000546001018060005560005260206000f3"}}"#,
    );
    // The runtime code above ends with `RETURN(0, 32)`: it returns the new counter value.
    let first: Value = serde_json::from_str(&run_ok(&[deploy.path(), "--db", db_arg, "--json"], 0)).unwrap();
    let created =
        first["transactions"][0]["createdAddresses"][0].as_str().expect("a created contract").to_string();
    let call = TempFile::new(
        "call.json",
        &format!(
            r#"{{"transaction": {{"from": "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf", "to": "{created}"}}}}"#
        ),
    );
    // A second and third process find the contract, its storage and the sender's nonce.
    for expected in [1u8, 2] {
        let report: Value =
            serde_json::from_str(&run_ok(&[call.path(), "--db", db_arg, "--json"], 0)).unwrap();
        let tx = &report["transactions"][0];
        assert_eq!(tx["status"], "success", "{report}");
        assert_eq!(tx["output"], format!("0x{:064x}", expected));
        assert_eq!(tx["nonce"], expected as u64);
    }
    let info = metisvm(&["db", "--db", db_arg]);
    assert_eq!(info.status.code(), Some(0), "{}", stderr(&info));
    let text = stdout(&info);
    assert!(text.contains("latest version 4"), "{text}");
    let account = metisvm(&["db", "--db", db_arg, "account", &created, "--slot", "0"]);
    let text = stdout(&account);
    assert!(text.contains("slot 0x0: 0x2") && text.contains("proof: verified"), "{text}");
    // Compaction keeps every retained version (all four here), and the next run reads on.
    let compact = metisvm(&["db", "--db", db_arg, "compact"]);
    assert_eq!(compact.status.code(), Some(0), "{}", stderr(&compact));
    assert!(stdout(&compact).contains("versions 0..=4 kept"), "{}", stdout(&compact));
    let report: Value = serde_json::from_str(&run_ok(&[call.path(), "--db", db_arg, "--json"], 0)).unwrap();
    assert_eq!(report["transactions"][0]["output"], format!("0x{:064x}", 3));
    // `--no-db` starts from the dev state and leaves the database alone.
    let fresh: Value = serde_json::from_str(&run_ok(&[call.path(), "--no-db", "--json"], 0)).unwrap();
    assert_eq!(fresh["transactions"][0]["output"], "0x");
    std::fs::remove_dir_all(&db).unwrap();
}
