//! Recursive Length Prefix encoding, the byte format of Ethereum accounts, trie nodes,
//! transactions and receipts. See the yellow paper, appendix B.
//!
//! Encoding appends to a caller's `Vec<u8>` so that nested structures are built without
//! intermediate allocations. Decoding is zero-copy and strict: it rejects non-canonical
//! lengths, single bytes below 0x80 wrapped in a string header, and trailing bytes.

use crate::primitives::{Address, B256, U256};

/// Why a byte string is not valid RLP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RlpError {
    /// The input ended before the item it announced.
    #[error("input too short")]
    InputTooShort,
    /// A length was encoded with leading zeros, or a long form where the short form fits.
    #[error("non-canonical length")]
    NonCanonicalSize,
    /// A single byte below 0x80 was wrapped in a one-byte string header.
    #[error("non-canonical single byte")]
    NonCanonicalSingleByte,
    /// An integer had leading zero bytes.
    #[error("integer with leading zero")]
    LeadingZero,
    /// An integer did not fit the target width.
    #[error("integer overflow")]
    Overflow,
    /// A list was found where a string was expected.
    #[error("expected a string, found a list")]
    UnexpectedList,
    /// A string was found where a list was expected.
    #[error("expected a list, found a string")]
    UnexpectedString,
    /// A fixed-size field had the wrong length.
    #[error("unexpected length")]
    UnexpectedLength,
    /// Bytes were left over after the outermost item.
    #[error("trailing bytes")]
    TrailingBytes,
}

fn put_length(out: &mut Vec<u8>, len: usize, short_base: u8) {
    if len < 56 {
        out.push(short_base + len as u8);
    } else {
        let be = (len as u64).to_be_bytes();
        let skip = be.iter().position(|&b| b != 0).unwrap_or(7);
        out.push(short_base + 55 + (8 - skip) as u8);
        out.extend_from_slice(&be[skip..]);
    }
}

/// Appends the header of a list whose items take `payload_len` bytes.
pub fn encode_list_header(out: &mut Vec<u8>, payload_len: usize) {
    put_length(out, payload_len, 0xc0);
}

/// Appends `bytes` as an RLP string.
pub fn encode_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    if bytes.len() == 1 && bytes[0] < 0x80 {
        out.push(bytes[0]);
    } else {
        put_length(out, bytes.len(), 0x80);
        out.extend_from_slice(bytes);
    }
}

/// Appends an unsigned integer as a minimal big-endian RLP string.
pub fn encode_u64(out: &mut Vec<u8>, value: u64) {
    let be = value.to_be_bytes();
    let skip = be.iter().position(|&b| b != 0).unwrap_or(8);
    encode_bytes(out, &be[skip..]);
}

/// Appends a 256-bit unsigned integer as a minimal big-endian RLP string.
pub fn encode_u256(out: &mut Vec<u8>, value: &U256) {
    let be: [u8; 32] = value.to_be_bytes();
    let skip = be.iter().position(|&b| b != 0).unwrap_or(32);
    encode_bytes(out, &be[skip..]);
}

/// Appends an address as a 20-byte string.
pub fn encode_address(out: &mut Vec<u8>, address: &Address) {
    encode_bytes(out, address.as_slice());
}

/// Appends a 32-byte hash as a string.
pub fn encode_b256(out: &mut Vec<u8>, hash: &B256) {
    encode_bytes(out, hash.as_slice());
}

/// Appends a list whose payload `write_items` produces.
pub fn encode_list(out: &mut Vec<u8>, write_items: impl FnOnce(&mut Vec<u8>)) {
    let mut payload = Vec::new();
    write_items(&mut payload);
    encode_list_header(out, payload.len());
    out.extend_from_slice(&payload);
}

/// The encoded length of a string of `len` bytes whose first byte is `first`.
pub fn bytes_encoded_len(len: usize, first: u8) -> usize {
    if len == 1 && first < 0x80 {
        1
    } else {
        header_len(len) + len
    }
}

/// The length of a string or list header for a payload of `len` bytes.
pub fn header_len(len: usize) -> usize {
    if len < 56 {
        1
    } else {
        1 + (8 - (len as u64).leading_zeros() as usize / 8)
    }
}

/// One decoded RLP item, borrowing from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item<'a> {
    /// A byte string.
    Bytes(&'a [u8]),
    /// A list; the slice is the concatenated encoding of its items.
    List(&'a [u8]),
}

impl<'a> Item<'a> {
    /// The string payload, or an error if this is a list.
    pub fn bytes(self) -> Result<&'a [u8], RlpError> {
        match self {
            Item::Bytes(b) => Ok(b),
            Item::List(_) => Err(RlpError::UnexpectedList),
        }
    }

    /// The list payload, or an error if this is a string.
    pub fn list(self) -> Result<&'a [u8], RlpError> {
        match self {
            Item::List(b) => Ok(b),
            Item::Bytes(_) => Err(RlpError::UnexpectedString),
        }
    }

    /// The items of a list.
    pub fn items(self) -> Result<ListIter<'a>, RlpError> {
        Ok(ListIter { rest: self.list()? })
    }

    /// The string as a canonical unsigned integer of at most 8 bytes.
    pub fn as_u64(self) -> Result<u64, RlpError> {
        let b = self.bytes()?;
        if b.len() > 8 {
            return Err(RlpError::Overflow);
        }
        if b.first() == Some(&0) {
            return Err(RlpError::LeadingZero);
        }
        Ok(b.iter().fold(0u64, |acc, &x| (acc << 8) | x as u64))
    }

    /// The string as a canonical unsigned integer of at most 32 bytes.
    pub fn as_u256(self) -> Result<U256, RlpError> {
        let b = self.bytes()?;
        if b.len() > 32 {
            return Err(RlpError::Overflow);
        }
        if b.first() == Some(&0) {
            return Err(RlpError::LeadingZero);
        }
        Ok(U256::from_be_slice(b))
    }

    /// The string as a 20-byte address.
    pub fn as_address(self) -> Result<Address, RlpError> {
        let b = self.bytes()?;
        if b.len() != 20 {
            return Err(RlpError::UnexpectedLength);
        }
        Ok(Address::from_slice(b))
    }

    /// The string as a 32-byte hash.
    pub fn as_b256(self) -> Result<B256, RlpError> {
        let b = self.bytes()?;
        if b.len() != 32 {
            return Err(RlpError::UnexpectedLength);
        }
        Ok(B256::from_slice(b))
    }
}

/// Iterates over the items of a list payload.
#[derive(Debug, Clone)]
pub struct ListIter<'a> {
    rest: &'a [u8],
}

impl<'a> ListIter<'a> {
    /// The next item, or an error naming the missing field if the list ended.
    pub fn next_item(&mut self) -> Result<Item<'a>, RlpError> {
        self.next().unwrap_or(Err(RlpError::InputTooShort))
    }

    /// Whether every item has been read.
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }
}

impl<'a> Iterator for ListIter<'a> {
    type Item = Result<Item<'a>, RlpError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match decode_prefix(self.rest) {
            Ok((item, rest)) => {
                self.rest = rest;
                Some(Ok(item))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

fn read_long_len(input: &[u8], len_of_len: usize) -> Result<usize, RlpError> {
    if input.len() < len_of_len {
        return Err(RlpError::InputTooShort);
    }
    if input[0] == 0 {
        return Err(RlpError::NonCanonicalSize);
    }
    if len_of_len > 8 {
        return Err(RlpError::Overflow);
    }
    let len = input[..len_of_len].iter().fold(0u64, |acc, &x| (acc << 8) | x as u64);
    if len < 56 {
        return Err(RlpError::NonCanonicalSize);
    }
    usize::try_from(len).map_err(|_| RlpError::Overflow)
}

/// Decodes the first item of `input`, returning it and the bytes after it.
pub fn decode_prefix(input: &[u8]) -> Result<(Item<'_>, &[u8]), RlpError> {
    let (&first, tail) = input.split_first().ok_or(RlpError::InputTooShort)?;
    let (is_list, offset, len) = match first {
        0x00..=0x7f => return Ok((Item::Bytes(&input[..1]), tail)),
        0x80..=0xb7 => (false, 1, (first - 0x80) as usize),
        0xb8..=0xbf => {
            let n = (first - 0xb7) as usize;
            (false, 1 + n, read_long_len(tail, n)?)
        }
        0xc0..=0xf7 => (true, 1, (first - 0xc0) as usize),
        0xf8..=0xff => {
            let n = (first - 0xf7) as usize;
            (true, 1 + n, read_long_len(tail, n)?)
        }
    };
    let end = offset.checked_add(len).ok_or(RlpError::Overflow)?;
    if input.len() < end {
        return Err(RlpError::InputTooShort);
    }
    let payload = &input[offset..end];
    if !is_list && len == 1 && payload[0] < 0x80 {
        return Err(RlpError::NonCanonicalSingleByte);
    }
    let item = if is_list { Item::List(payload) } else { Item::Bytes(payload) };
    Ok((item, &input[end..]))
}

/// Decodes `input` as exactly one item.
pub fn decode_exact(input: &[u8]) -> Result<Item<'_>, RlpError> {
    let (item, rest) = decode_prefix(input)?;
    if !rest.is_empty() {
        return Err(RlpError::TrailingBytes);
    }
    Ok(item)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_integers() {
        let mut out = Vec::new();
        encode_bytes(&mut out, b"dog");
        assert_eq!(out, [0x83, b'd', b'o', b'g']);
        out.clear();
        encode_u64(&mut out, 0);
        assert_eq!(out, [0x80]);
        out.clear();
        encode_u64(&mut out, 1024);
        assert_eq!(out, [0x82, 0x04, 0x00]);
        assert_eq!(decode_exact(&out).unwrap().as_u64().unwrap(), 1024);
    }

    #[test]
    fn long_string_and_list() {
        let data = [0xaau8; 60];
        let mut out = Vec::new();
        encode_list(&mut out, |p| encode_bytes(p, &data));
        let item = decode_exact(&out).unwrap();
        let mut items = item.items().unwrap();
        assert_eq!(items.next_item().unwrap().bytes().unwrap(), &data[..]);
        assert!(items.is_empty());
        assert_eq!(header_len(60), 2);
    }

    #[test]
    fn rejects_non_canonical() {
        assert_eq!(decode_exact(&[0x81, 0x05]), Err(RlpError::NonCanonicalSingleByte));
        assert_eq!(decode_exact(&[0xb8, 0x02, 1, 2]), Err(RlpError::NonCanonicalSize));
        assert_eq!(decode_exact(&[0x83, 1]), Err(RlpError::InputTooShort));
        assert_eq!(decode_exact(&[0x01, 0x02]), Err(RlpError::TrailingBytes));
    }
}
