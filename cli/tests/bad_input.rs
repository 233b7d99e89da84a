//! Bad input to `metisvm run` and `metisvm statetest`: a one-line error naming the file and the
//! field, exit code 2, never a panic.

mod common;

use common::{metisvm, stderr, stdout, TempFile};
use std::process::Output;

const EXIT_BAD_INPUT: i32 = 2;

/// Asserts that `out` is a bad-input failure whose one-line message contains every `needle`.
fn assert_bad_input(out: &Output, needles: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(EXIT_BAD_INPUT), "stderr: {err}");
    assert!(!err.contains("panicked"), "panic: {err}");
    assert!(stdout(out).is_empty(), "nothing on stdout, got: {}", stdout(out));
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "one line, got: {err}");
    assert!(lines[0].starts_with("error: "), "got: {err}");
    for needle in needles {
        assert!(lines[0].contains(needle), "{needle:?} missing from: {err}");
    }
}

/// Runs `metisvm run` on a file holding `contents` and asserts a bad-input failure whose
/// message names the file and contains every `needle`.
fn run_rejects(contents: &str, needles: &[&str]) {
    let file = TempFile::new("tx.json", contents);
    let out = metisvm(&["run", file.path()]);
    let mut all = vec![file.path()];
    all.extend_from_slice(needles);
    assert_bad_input(&out, &all);
}

#[test]
fn malformed_json() {
    run_rejects(r#"{"to": "0x00","#, &["malformed JSON", "line 1"]);
    run_rejects("", &["malformed JSON"]);
    run_rejects(r#"{"value": 1} trailing"#, &["malformed JSON", "trailing characters"]);
}

#[test]
fn bad_hex() {
    run_rejects(r#"{"gasLimit": "0xzz"}"#, &[r#"field "gasLimit": not a hex number: "0xzz""#]);
    run_rejects(r#"{"data": "0x12g4"}"#, &[r#"field "data": bad hex"#]);
    run_rejects(r#"{"transaction": {"data": "0x123"}}"#, &[r#"field "transaction.data": odd-length hex"#]);
    run_rejects(r#"{"to": "0x1234"}"#, &[r#"field "to": address must be 20 bytes"#]);
    run_rejects(
        r#"{"transactions": [{}, {"from": "0xnothex0000000000000000000000000000000000"}]}"#,
        &[r#"field "transactions[1].from": bad hex"#],
    );
}

#[test]
fn numbers_over_256_bits() {
    let hex = format!(r#"{{"value": "0x1{}"}}"#, "0".repeat(64));
    run_rejects(&hex, &[r#"field "value": number over 256 bits"#]);
    let decimal = format!(r#"[{{"gasPrice": "1{}"}}]"#, "0".repeat(80));
    run_rejects(&decimal, &[r#"field "[0].gasPrice": number over 256 bits"#]);
    run_rejects(r#"{"gas": "0x10000000000000000"}"#, &[r#"field "gas": number over 64 bits"#]);
    run_rejects(r#"{"value": 1e30}"#, &[r#"field "value": JSON number"#]);
    let env = format!(r#"{{"env": {{"currentBaseFee": "0x1{}"}}, "transaction": {{}}}}"#, "0".repeat(64));
    run_rejects(&env, &[r#"field "env.currentBaseFee": number over 256 bits"#]);
}

#[test]
fn missing_fields() {
    run_rejects(r#"{"env": {"currentNumber": "0x05"}}"#, &[r#"field "transaction": missing"#]);
    let pre = r#"{"pre": {"0x0000000000000000000000000000000000000001": {"nonce": "0x00", "code": "0x"}},
                  "transaction": {}}"#;
    run_rejects(pre, &[r#"field "pre.0x0000000000000000000000000000000000000001.balance": missing"#]);
    run_rejects(r#"{"maxFeePerGas": "0x10"}"#, &[r#"field "maxPriorityFeePerGas": missing"#]);
}

#[test]
fn unknown_fields() {
    run_rejects(r#"{"gasLimt": "0x5208"}"#, &[r#"field "gasLimt": unknown field"#]);
    run_rejects(
        r#"{"env": {"currentBasefee": "0x07"}, "transaction": {}}"#,
        &[r#"field "env.currentBasefee""#],
    );
}

#[test]
fn unknown_fork_in_the_file() {
    run_rejects(
        r#"{"fork": "Atlantis", "transaction": {}}"#,
        &[r#"field "fork": unknown fork name "Atlantis""#],
    );
}

#[test]
fn unknown_fork_option() {
    let file = TempFile::new("tx.json", "{}");
    let out = metisvm(&["run", file.path(), "--fork", "Atlantis"]);
    assert_bad_input(&out, &["option --fork", r#"unknown fork name "Atlantis""#]);
}

#[test]
fn unreadable_paths() {
    let missing = std::env::temp_dir().join(format!("metisvm-cli-{}-no-such-file.json", std::process::id()));
    let missing = missing.to_str().expect("UTF-8 temporary path");
    assert_bad_input(&metisvm(&["run", missing]), &[missing, "cannot read"]);
    let folder = std::env::temp_dir();
    let folder = folder.to_str().expect("UTF-8 temporary path");
    assert_bad_input(&metisvm(&["run", folder]), &[folder, "cannot read"]);
}

#[test]
fn missing_argument_is_bad_input() {
    let out = metisvm(&["run"]);
    assert_eq!(out.status.code(), Some(EXIT_BAD_INPUT));
    assert!(!stderr(&out).contains("panicked"));
}

#[test]
fn statetest_unreadable_path_and_unknown_fork() {
    let missing = std::env::temp_dir().join(format!("metisvm-cli-{}-no-such-dir", std::process::id()));
    let missing = missing.to_str().expect("UTF-8 temporary path");
    assert_bad_input(&metisvm(&["statetest", missing]), &[missing, "no such file or folder"]);
    let file = TempFile::new("st.json", "{}");
    let out = metisvm(&["statetest", file.path(), "--fork", "Atlantis"]);
    assert_bad_input(&out, &["option --fork", r#"unknown fork name "Atlantis""#]);
}

/// A malformed fixture is one failed case of the run (exit 1), reported with the file's name.
#[test]
fn statetest_malformed_fixture_is_a_failure() {
    let file = TempFile::new("st.json", r#"{"test": {"env": "#);
    let out = metisvm(&["statetest", file.path()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "stdout: {text}\nstderr: {}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"));
    assert!(text.contains(file.path()) && text.contains("malformed JSON"), "got: {text}");
    assert!(text.contains("0 passed, 1 failed, 0 skipped"), "got: {text}");
}

/// A fixture with a bad field is a failed case naming the file and the field.
#[test]
fn statetest_bad_field_is_a_failure() {
    let fixture = r#"{"bad_balance": {
        "env": {"currentCoinbase": "0x2adc25665018aa1fe0e6bc666dac8fc2697ff9ba", "currentNumber": "0x01",
                "currentTimestamp": "0x03e8", "currentGasLimit": "0x05f5e100"},
        "pre": {"0xa94f5374fce5edbc8e2a8697c15331677e6ebf0b":
                {"balance": "0xzz", "nonce": "0x00", "code": "0x", "storage": {}}},
        "transaction": {"sender": "0xa94f5374fce5edbc8e2a8697c15331677e6ebf0b", "nonce": "0x00",
                        "data": ["0x"], "gasLimit": ["0x5208"], "value": ["0x00"], "gasPrice": "0x0a",
                        "to": "0x1000000000000000000000000000000000000000"},
        "post": {}}}"#;
    let file = TempFile::new("st.json", fixture);
    let out = metisvm(&["statetest", file.path()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "stdout: {text}\nstderr: {}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"));
    let needle = r#"field "pre.0xa94f5374fce5edbc8e2a8697c15331677e6ebf0b.balance": not a hex number"#;
    assert!(text.contains(file.path()) && text.contains(needle), "got: {text}");
}
