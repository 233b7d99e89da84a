//! Runner for `ethereum-tests/RLPTests`: encoding, decoding and rejection of RLP.
//!
//! A case gives `in` and its encoding `out`. When `in` is a value (strings taken as their
//! bytes, integers and `#`-prefixed decimal big integers as minimal big-endian bytes, nested
//! lists), it is encoded and compared with `out`, and `out` is decoded back and compared with
//! `in`. When `in` is `"INVALID"`, [`validate_strict`] must reject `out`; when it is `"VALID"`
//! (the random vectors), it must accept it.

use crate::fixtures::json_files;
use crate::hexjson::{get, parse_bytes_str};
use crate::trie_tests::VectorSummary;
use metisvm_vm::rlp::{decode_exact, decode_prefix, encode_bytes, encode_list, Item, RlpError};
use serde_json::Value;
use std::path::Path;

/// The folder of the RLP vectors, relative to the fixture root.
pub const RLP_TESTS_DIR: &str = "ethereum-tests/RLPTests";

/// A decoded RLP value, owning its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rlp {
    /// A byte string.
    Bytes(Vec<u8>),
    /// A list of values.
    List(Vec<Rlp>),
}

impl Rlp {
    /// The RLP encoding of this value.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            Rlp::Bytes(bytes) => encode_bytes(out, bytes),
            Rlp::List(items) => {
                encode_list(out, |payload| items.iter().for_each(|item| item.encode_into(payload)))
            }
        }
    }
}

/// Checks that `input` is exactly one RLP item whose nested items all have canonical headers
/// and lengths that stay inside their parent list. Nesting is walked with an explicit stack of
/// unread list payloads, so deeply nested input cannot overflow the call stack.
pub fn validate_strict(input: &[u8]) -> Result<(), RlpError> {
    let mut stack: Vec<&[u8]> = match decode_exact(input)? {
        Item::Bytes(_) => return Ok(()),
        Item::List(payload) => vec![payload],
    };
    while let Some(rest) = stack.last_mut() {
        if rest.is_empty() {
            stack.pop();
            continue;
        }
        let (item, tail) = decode_prefix(rest)?;
        *rest = tail;
        if let Item::List(payload) = item {
            stack.push(payload);
        }
    }
    Ok(())
}

/// Decodes `input` into a tree after [`validate_strict`] accepted it. Recursion follows the
/// nesting, so this is only used on encodings of the vectors' own (JSON-bounded) inputs.
fn decode_strict(input: &[u8]) -> Result<Rlp, RlpError> {
    validate_strict(input)?;
    fn tree(item: Item<'_>) -> Result<Rlp, RlpError> {
        match item {
            Item::Bytes(bytes) => Ok(Rlp::Bytes(bytes.to_vec())),
            Item::List(_) => item.items()?.map(|item| tree(item?)).collect::<Result<_, _>>().map(Rlp::List),
        }
    }
    tree(decode_exact(input)?)
}

/// Runs every file below `<fixture_root>/ethereum-tests/RLPTests`. Only a folder that cannot
/// be listed is an error; a file that cannot be read or parsed counts as a failure.
pub fn run(fixture_root: &Path) -> std::io::Result<VectorSummary> {
    let dir = fixture_root.join(RLP_TESTS_DIR);
    let mut summary = VectorSummary::default();
    for path in json_files(&dir)? {
        let file = path.strip_prefix(&dir).unwrap_or(&path).to_string_lossy().into_owned();
        let cases = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read: {e}"))
            .and_then(|text| serde_json::from_str::<Value>(&text).map_err(|e| format!("bad JSON: {e}")));
        let cases = match cases {
            Ok(Value::Object(cases)) => cases,
            Ok(_) => {
                summary.failed.push(format!("{file}: not a JSON object of cases"));
                continue;
            }
            Err(reason) => {
                summary.failed.push(format!("{file}: {reason}"));
                continue;
            }
        };
        for (name, case) in &cases {
            summary.record(&file, name, run_case(case));
        }
    }
    Ok(summary)
}

/// Runs one case.
pub fn run_case(case: &Value) -> Result<(), String> {
    let out = get(case, "out").map_err(|e| e.to_string())?;
    let out = out.as_str().ok_or("field \"out\": expected a string")?;
    let encoded = parse_bytes_str(out, "out").map_err(|e| e.to_string())?;
    let input = get(case, "in").map_err(|e| e.to_string())?;
    match input.as_str() {
        Some("INVALID") => match validate_strict(&encoded) {
            Ok(()) => Err("invalid RLP accepted".to_string()),
            Err(_) => Ok(()),
        },
        Some("VALID") => validate_strict(&encoded).map_err(|e| format!("valid RLP rejected: {e}")),
        _ => {
            let expected = from_json(input)?;
            let ours = expected.encode();
            if ours != encoded {
                return Err(format!(
                    "encoded as 0x{}, expected 0x{}",
                    hex::encode(ours),
                    hex::encode(&encoded)
                ));
            }
            let decoded = decode_strict(&encoded).map_err(|e| format!("decoding failed: {e}"))?;
            if decoded != expected {
                return Err(format!("decoded as {decoded:?}, expected {expected:?}"));
            }
            Ok(())
        }
    }
}

/// The value a test's `in` describes.
fn from_json(value: &Value) -> Result<Rlp, String> {
    match value {
        Value::String(s) => match s.strip_prefix('#') {
            Some(digits) => {
                decimal_be_bytes(digits).map(Rlp::Bytes).ok_or_else(|| format!("bad big integer {s:?}"))
            }
            None => Ok(Rlp::Bytes(s.as_bytes().to_vec())),
        },
        Value::Number(n) => {
            let n = n.as_u64().ok_or_else(|| format!("integer {n} is not a u64"))?;
            let be = n.to_be_bytes();
            let skip = be.iter().position(|&b| b != 0).unwrap_or(8);
            Ok(Rlp::Bytes(be[skip..].to_vec()))
        }
        Value::Array(items) => items.iter().map(from_json).collect::<Result<_, _>>().map(Rlp::List),
        _ => Err(format!("unsupported input {value}")),
    }
}

/// The minimal big-endian bytes of a decimal number of any size (zero has none).
fn decimal_be_bytes(digits: &str) -> Option<Vec<u8>> {
    if digits.is_empty() {
        return None;
    }
    let mut out: Vec<u8> = Vec::new();
    for c in digits.bytes() {
        if !c.is_ascii_digit() {
            return None;
        }
        let mut carry = u32::from(c - b'0');
        for byte in out.iter_mut().rev() {
            let v = u32::from(*byte) * 10 + carry;
            *byte = v as u8;
            carry = v >> 8;
        }
        if carry > 0 {
            out.insert(0, carry as u8);
        }
    }
    Some(out)
}
