//! Every file of `ethereum-tests/RLPTests` must pass.

use metisvm_conformance::{fixtures::fixture_root, rlp_tests};

#[test]
fn all_rlp_tests_pass() {
    let summary = rlp_tests::run(&fixture_root()).expect("RLPTests folder readable");
    println!("RLPTests: {summary}");
    assert!(summary.failed.is_empty(), "RLPTests: {summary}");
    assert!(summary.passed > 0, "no RLPTests case ran");
}

#[test]
fn strict_validation_walks_nested_items() {
    use metisvm_conformance::rlp_tests::validate_strict;
    use metisvm_vm::rlp::{encode_list_header, header_len, RlpError};

    assert_eq!(validate_strict(&[0xc7, 0xc0, 0xc1, 0xc0, 0xc3, 0xc0, 0xc1, 0xc0]), Ok(()));
    // The outer list is well formed; its item wraps a single byte in a string header.
    assert_eq!(validate_strict(&[0xc2, 0x81, 0x05]), Err(RlpError::NonCanonicalSingleByte));
    // An item longer than what is left of its list.
    assert_eq!(validate_strict(&[0xc2, 0x83, 0x61]), Err(RlpError::InputTooShort));
    assert_eq!(validate_strict(&[]), Err(RlpError::InputTooShort));

    // 100 000 nested lists around a two-byte payload, headers written outermost first: no
    // recursion, so no stack overflow.
    let mut lens = Vec::new();
    let mut len = 2;
    for _ in 0..100_000 {
        lens.push(len);
        len += header_len(len);
    }
    let mut deep = Vec::with_capacity(len);
    for &payload in lens.iter().rev() {
        encode_list_header(&mut deep, payload);
    }
    deep.extend_from_slice(&[0x05, 0x06]);
    assert_eq!(validate_strict(&deep), Ok(()));
    let end = deep.len();
    deep[end - 2..].copy_from_slice(&[0x81, 0x05]);
    assert_eq!(validate_strict(&deep), Err(RlpError::NonCanonicalSingleByte));
}

#[test]
fn value_cases() {
    use serde_json::json;
    let run = rlp_tests::run_case;
    assert_eq!(run(&json!({"in": ["zw", [4], 1], "out": "0xc6827a77c10401"})), Ok(()));
    assert_eq!(run(&json!({"in": [[], [[]], [[], [[]]]], "out": "0xc7c0c1c0c3c0c1c0"})), Ok(()));
    assert_eq!(run(&json!({"in": "#256", "out": "0x820100"})), Ok(()));
    assert_eq!(run(&json!({"in": 0, "out": "0x80"})), Ok(()));
    assert_eq!(run(&json!({"in": "INVALID", "out": "0xf80180"})), Ok(()));
    assert!(run(&json!({"in": "INVALID", "out": "0x80"})).is_err());
    assert!(run(&json!({"in": "VALID", "out": "0x8100"})).is_err());
    assert!(run(&json!({"in": "dog", "out": "0x83646f68"})).is_err());
    assert!(run(&json!({"in": "#12x", "out": "0x80"})).is_err());
}
