//! Runner for `ethereum-tests/TrieTests`: trie roots over raw and hashed ("secure") keys.
//!
//! A case's `in` is either a list of `[key, value]` updates applied in order, where a `null`
//! (or empty) value deletes the key, or an object of key/value pairs in any order. Keys and
//! values are `0x`-prefixed hex, or plain strings taken as their bytes (all hex when the case
//! sets `hexEncoded`). Files whose name contains `secure` hash their keys. The computed root
//! is compared with `root`, for the reference builder and for MetisDB's persistent trie.

use crate::fixtures::json_files;
use crate::hexjson::{get, parse_b256, parse_bytes_str, FieldError};
use metisvm_state::db::RawTrie;
use metisvm_state::ordered_trie_root;
use metisvm_vm::keccak256;
use serde_json::Value;
use std::fmt;
use std::path::Path;

/// The folder of the trie vectors, relative to the fixture root.
pub const TRIE_TESTS_DIR: &str = "ethereum-tests/TrieTests";

/// The outcome of a vector runner: how many cases passed, and why the others failed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VectorSummary {
    /// Cases that passed.
    pub passed: usize,
    /// One message per failed case: `file: case: reason`.
    pub failed: Vec<String>,
    /// One line per file or case not run: `file: reason`.
    pub skipped: Vec<String>,
}

impl VectorSummary {
    /// Records the result of case `name` of `file`.
    pub fn record(&mut self, file: &str, name: &str, result: Result<(), String>) {
        match result {
            Ok(()) => self.passed += 1,
            Err(reason) => self.failed.push(format!("{file}: {name}: {reason}")),
        }
    }
}

impl fmt::Display for VectorSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "passed {}, failed {}, skipped {}", self.passed, self.failed.len(), self.skipped.len())?;
        for line in &self.skipped {
            writeln!(f, "  skipped {line}")?;
        }
        for line in &self.failed {
            writeln!(f, "  FAILED {line}")?;
        }
        Ok(())
    }
}

/// Runs every file of `<fixture_root>/ethereum-tests/TrieTests`. Only a folder that cannot be
/// listed is an error; a file that cannot be read or parsed counts as a failure.
pub fn run(fixture_root: &Path) -> std::io::Result<VectorSummary> {
    let mut summary = VectorSummary::default();
    for path in json_files(&fixture_root.join(TRIE_TESTS_DIR))? {
        let file = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let secure = file.to_ascii_lowercase().contains("secure");
        let cases = match read_json(&path) {
            Ok(cases) => cases,
            Err(reason) => {
                summary.failed.push(format!("{file}: {reason}"));
                continue;
            }
        };
        let Some(cases) = cases.as_object() else {
            summary.failed.push(format!("{file}: not a JSON object of cases"));
            continue;
        };
        for (name, case) in cases {
            let result =
                if case.get("tests").is_some() { run_next_prev_case(case) } else { run_case(case, secure) };
            summary.record(&file, name, result.map_err(|e| e.to_string()));
        }
    }
    Ok(summary)
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("bad JSON: {e}"))
}

/// Computes the root of one case and compares it with the expected one.
pub fn run_case(case: &Value, secure: bool) -> Result<(), FieldError> {
    let hex = case.get("hexEncoded").and_then(Value::as_bool).unwrap_or(false);
    let updates = updates(get(case, "in")?, hex)?;
    let expected = parse_b256(get(case, "root")?, "root")?;
    let updates: Vec<KeyValue> = if secure {
        updates.into_iter().map(|(k, v)| (keccak256(&k).to_vec(), v)).collect()
    } else {
        updates
    };
    let root = ordered_trie_root(updates.clone());
    if root != expected {
        return Err(FieldError::new("root", format!("expected {expected}, computed {root}")));
    }
    // MetisDB's persistent trie, given all updates as one commit and then one commit each.
    let db_error = |e: metisvm_state::DbError| FieldError::new("in", format!("MetisDB trie: {e}"));
    let at_once = RawTrie::new().commit(&updates).map_err(db_error)?;
    let mut trie = RawTrie::new();
    for update in &updates {
        trie.commit(std::slice::from_ref(update)).map_err(db_error)?;
    }
    for (how, root) in [("in one commit", at_once), ("one commit per update", trie.root())] {
        if root != expected {
            return Err(FieldError::new(
                "root",
                format!("MetisDB trie {how}: expected {expected}, computed {root}"),
            ));
        }
    }
    Ok(())
}

/// Checks a `trietestnextprev` case: for each query key, the keys just before and after it
/// in trie iteration order (byte-lexicographic order of the keys).
pub fn run_next_prev_case(case: &Value) -> Result<(), FieldError> {
    let keys = get(case, "in")?
        .as_array()
        .ok_or_else(|| FieldError::new("in", "expected an array of keys"))?
        .iter()
        .map(|k| {
            k.as_str().map(|s| s.as_bytes().to_vec()).ok_or_else(|| FieldError::new("in", "expected strings"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut sorted = keys;
    sorted.sort();
    sorted.dedup();
    let tests =
        get(case, "tests")?.as_array().ok_or_else(|| FieldError::new("tests", "expected an array"))?;
    for (i, test) in tests.iter().enumerate() {
        let field = format!("tests[{i}]");
        let parts: Vec<&str> =
            test.as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        let [query, prev, next] = parts[..] else {
            return Err(FieldError::new(&field, "expected [key, previous, next]"));
        };
        let (p, n) = metisvm_state::trie::neighbours(&sorted, query.as_bytes());
        let p = p.map(|k| String::from_utf8_lossy(k).into_owned()).unwrap_or_default();
        let n = n.map(|k| String::from_utf8_lossy(k).into_owned()).unwrap_or_default();
        if p != prev || n != next {
            return Err(FieldError::new(
                &field,
                format!("expected ({prev:?}, {next:?}), got ({p:?}, {n:?})"),
            ));
        }
    }
    Ok(())
}

/// A raw key and value of a trie update.
type KeyValue = (Vec<u8>, Vec<u8>);

/// The updates of a case in order, a deletion being an empty value.
fn updates(input: &Value, hex: bool) -> Result<Vec<KeyValue>, FieldError> {
    match input {
        Value::Array(pairs) => pairs
            .iter()
            .enumerate()
            .map(|(i, pair)| {
                let field = format!("in[{i}]");
                match pair.as_array().map(Vec::as_slice) {
                    Some([key, value]) => Ok((bytes(key, hex, &field)?, bytes(value, hex, &field)?)),
                    _ => Err(FieldError::new(&field, "expected a [key, value] pair")),
                }
            })
            .collect(),
        Value::Object(pairs) => pairs
            .iter()
            .map(|(key, value)| {
                let field = format!("in.{key}");
                Ok((string_bytes(key, hex, &field)?, bytes(value, hex, &field)?))
            })
            .collect(),
        _ => Err(FieldError::new("in", "expected a list of pairs or an object")),
    }
}

fn bytes(value: &Value, hex: bool, field: &str) -> Result<Vec<u8>, FieldError> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::String(s) => string_bytes(s, hex, field),
        _ => Err(FieldError::new(field, "expected a string or null")),
    }
}

fn string_bytes(s: &str, hex: bool, field: &str) -> Result<Vec<u8>, FieldError> {
    if hex || s.starts_with("0x") {
        parse_bytes_str(s, field)
    } else {
        Ok(s.as_bytes().to_vec())
    }
}
