//! Parsing of the hex strings and numbers that Ethereum JSON fixtures use.
//!
//! Every parser names the field it failed on, so a user sees `field "gasLimit": not a hex
//! number` rather than a panic.

use metisvm_vm::{Address, Bytes, B256, U256};
use serde_json::Value;

/// A JSON value that is not what its field requires.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field \"{field}\": {reason}")]
pub struct FieldError {
    /// The field's name (or path).
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

impl FieldError {
    /// A new error for `field`.
    pub fn new(field: &str, reason: impl Into<String>) -> FieldError {
        FieldError { field: field.to_string(), reason: reason.into() }
    }
}

fn as_str<'a>(v: &'a Value, field: &str) -> Result<&'a str, FieldError> {
    v.as_str().ok_or_else(|| FieldError::new(field, "expected a string"))
}

/// A field of an object, or an error naming it when absent.
pub fn get<'a>(obj: &'a Value, field: &str) -> Result<&'a Value, FieldError> {
    obj.get(field).ok_or_else(|| FieldError::new(field, "missing"))
}

fn strip_0x(s: &str) -> &str {
    s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")).unwrap_or(s)
}

/// Bytes from a `0x`-prefixed hex string (odd lengths are rejected).
pub fn parse_bytes_str(s: &str, field: &str) -> Result<Vec<u8>, FieldError> {
    let h = strip_0x(s);
    if !h.len().is_multiple_of(2) {
        return Err(FieldError::new(field, format!("odd-length hex {s:?}")));
    }
    hex::decode(h).map_err(|_| FieldError::new(field, format!("bad hex {s:?}")))
}

/// Bytes from a JSON hex string.
pub fn parse_bytes(v: &Value, field: &str) -> Result<Bytes, FieldError> {
    Ok(Bytes::from(parse_bytes_str(as_str(v, field)?, field)?))
}

/// A 256-bit number from a hex (`0x..`) or decimal string, or a JSON integer.
pub fn parse_u256(v: &Value, field: &str) -> Result<U256, FieldError> {
    if let Some(n) = v.as_u64() {
        return Ok(U256::from(n));
    }
    let s = as_str(v, field)?;
    parse_u256_str(s, field)
}

/// A 256-bit number from a hex (`0x..`) or decimal string.
pub fn parse_u256_str(s: &str, field: &str) -> Result<U256, FieldError> {
    // ethereum/tests write some oversized values as `0x:bigint 0x...`.
    let s = s.trim().strip_prefix("0x:bigint ").unwrap_or(s.trim());
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        if h.is_empty() {
            return Ok(U256::ZERO);
        }
        let digits = h.trim_start_matches('0');
        if digits.len() > 64 {
            return Err(FieldError::new(field, format!("number over 256 bits: {s}")));
        }
        U256::from_str_radix(h, 16).map_err(|_| FieldError::new(field, format!("not a hex number: {s:?}")))
    } else {
        if s.is_empty() {
            return Err(FieldError::new(field, "empty number"));
        }
        U256::from_str_radix(s, 10).map_err(|e| {
            let reason = if s.bytes().all(|b| b.is_ascii_digit()) {
                format!("number over 256 bits: {s}")
            } else {
                format!("not a number: {s:?} ({e})")
            };
            FieldError::new(field, reason)
        })
    }
}

/// A number that must fit 64 bits.
pub fn parse_u64(v: &Value, field: &str) -> Result<u64, FieldError> {
    let n = parse_u256(v, field)?;
    u64::try_from(n).map_err(|_| FieldError::new(field, format!("number over 64 bits: {n}")))
}

/// A 20-byte address.
pub fn parse_address(v: &Value, field: &str) -> Result<Address, FieldError> {
    let s = as_str(v, field)?;
    parse_address_str(s, field)
}

/// A 20-byte address from a string.
pub fn parse_address_str(s: &str, field: &str) -> Result<Address, FieldError> {
    let b = parse_bytes_str(s, field)?;
    if b.len() != 20 {
        return Err(FieldError::new(field, format!("address must be 20 bytes, got {}", b.len())));
    }
    Ok(Address::from_slice(&b))
}

/// A 32-byte hash (shorter hex is left-padded with zeros, as fixtures sometimes write them).
pub fn parse_b256(v: &Value, field: &str) -> Result<B256, FieldError> {
    let b = parse_bytes_str(as_str(v, field)?, field)?;
    if b.len() > 32 {
        return Err(FieldError::new(field, format!("hash must be 32 bytes, got {}", b.len())));
    }
    let mut out = [0u8; 32];
    out[32 - b.len()..].copy_from_slice(&b);
    Ok(B256::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers() {
        assert_eq!(parse_u256(&json!("0x10"), "f").unwrap(), U256::from(16));
        assert_eq!(parse_u256(&json!("10"), "f").unwrap(), U256::from(10));
        assert_eq!(parse_u256(&json!(7), "f").unwrap(), U256::from(7));
        assert_eq!(parse_u256(&json!("0x"), "f").unwrap(), U256::ZERO);
        let over = format!("0x1{}", "0".repeat(64));
        assert!(parse_u256(&json!(over), "f").unwrap_err().reason.contains("256 bits"));
        assert!(parse_u256(&json!("0xzz"), "gasLimit").unwrap_err().to_string().contains("gasLimit"));
        assert!(parse_u64(&json!("0x10000000000000000"), "f").is_err());
    }

    #[test]
    fn bytes_and_addresses() {
        assert_eq!(parse_bytes(&json!("0x0102"), "d").unwrap().as_ref(), &[1, 2]);
        assert!(parse_bytes(&json!("0x123"), "d").is_err());
        assert!(parse_address(&json!("0x01"), "to").is_err());
        assert_eq!(parse_b256(&json!("0x01"), "h").unwrap(), B256::with_last_byte(1));
    }
}
