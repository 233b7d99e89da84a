//! Every file of `ethereum-tests/TrieTests` must pass.

use metisvm_conformance::{fixtures::fixture_root, trie_tests};

#[test]
fn all_trie_tests_pass() {
    let summary = trie_tests::run(&fixture_root()).expect("TrieTests folder readable");
    println!("TrieTests: {summary}");
    assert!(summary.failed.is_empty(), "TrieTests: {summary}");
    assert!(summary.passed > 0, "no TrieTests case ran");
}

#[test]
fn list_and_object_forms() {
    use serde_json::json;
    // Updates in order: a later value replaces an earlier one, null deletes.
    let case = json!({
        "in": [["abc", "123"], ["abcd", "abcd"], ["abc", "abc"], ["x", "y"], ["x", null]],
        "root": "0x7a320748f780ad9ad5b0837302075ce0eeba6c26e3d8562c67ccc0f1b273298a"
    });
    assert_eq!(trie_tests::run_case(&case, false), Ok(()));
    let case = json!({
        "in": {"0x0045": "0x0123456789", "0x4500": "0x9876543210"},
        "root": "0x285505fcabe84badc8aa310e2aae17eddc7d120aabec8a476902c8184b3a3503"
    });
    assert_eq!(trie_tests::run_case(&case, false), Ok(()));
    let wrong = json!({"in": {"a": "b"}, "root": "0x01"});
    assert!(trie_tests::run_case(&wrong, false).unwrap_err().to_string().contains("root"));
    assert!(trie_tests::run_case(&json!({"in": 5, "root": "0x01"}), false).is_err());
}
