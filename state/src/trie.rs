//! Merkle Patricia Trie root computation (yellow paper, appendix D).
//!
//! # How the root is built
//!
//! The root of a trie depends only on its set of (key, value) pairs, so no node store is
//! needed to compute it: the pairs are sorted by key and the node over each key range is
//! hashed bottom-up, recursively. Keys are compared as byte strings; as every key has an even
//! number of nibbles, byte order and nibble order are the same, and nibbles are read from the
//! bytes in place instead of being expanded.
//!
//! The invariant of [`Builder::node`]: the range `lo..hi` of the sorted, deduplicated pairs
//! holds exactly the keys below one node, and all of them share their first `depth` nibbles.
//! In a sorted range, the prefix shared by all keys is the prefix shared by the first and the
//! last, which decides the node:
//!
//! - one pair: a leaf holding the rest of its key (hex-prefix encoded) and the value;
//! - a non-empty shared prefix: an extension over that prefix, whose child is the node of the
//!   same range one prefix deeper (always a branch);
//! - otherwise a branch: a key ending exactly at `depth` sorts first and becomes the branch's
//!   value; the remaining keys split into at most 16 contiguous runs by their next nibble.
//!
//! A child whose encoding is shorter than 32 bytes is inlined in its parent, a longer one is
//! referenced by its keccak-256; the root is always hashed. Encoding reuses one buffer: each
//! node is written at the buffer's end, turned into a reference, and truncated away, so the
//! buffer never holds more than one path from the root. Recursion depth is bounded by twice
//! the length of the longest key in nibbles (at most 129 levels for 32-byte keys).
//!
//! A later layer adds a persistent, incremental trie; this module stays the reference it is
//! checked against.

use metisvm_vm::primitives::{keccak256, Address, B256, U256};
use metisvm_vm::rlp::{
    bytes_encoded_len, encode_b256, encode_bytes, encode_list_header, encode_u256, encode_u64, header_len,
};
use metisvm_vm::AccountInfo;

/// The root of an empty trie: keccak-256 of `rlp("")`, i.e. of the byte `0x80`.
pub const EMPTY_ROOT_HASH: B256 = B256::new([
    0x56, 0xe8, 0x1f, 0x17, 0x1b, 0xcc, 0x55, 0xa6, 0xff, 0x83, 0x45, 0xe6, 0x92, 0xc0, 0xf8, 0x6e, 0x5b,
    0x48, 0xe0, 0x1b, 0x99, 0x6c, 0xad, 0xc0, 0x01, 0x62, 0x2f, 0xb5, 0xe3, 0x63, 0xb4, 0x21,
]);

/// The keys just before and just after `key` in trie iteration order, which is the
/// byte-lexicographic order of the keys. `sorted_keys` must be sorted and free of duplicates.
pub fn neighbours<'a>(sorted_keys: &'a [Vec<u8>], key: &[u8]) -> (Option<&'a [u8]>, Option<&'a [u8]>) {
    let below = sorted_keys.partition_point(|k| k.as_slice() < key);
    let above = sorted_keys.partition_point(|k| k.as_slice() <= key);
    let prev = below.checked_sub(1).map(|i| sorted_keys[i].as_slice());
    let next = sorted_keys.get(above).map(Vec::as_slice);
    (prev, next)
}

/// The root of a trie over raw keys, as used by the trie test vectors and by the transaction,
/// receipt and withdrawal roots (whose keys are `rlp(index)`).
///
/// When a key appears more than once the last value wins, and an empty value removes the key,
/// so a sequence of trie updates can be passed as it is.
pub fn ordered_trie_root<K, V>(entries: impl IntoIterator<Item = (K, V)>) -> B256
where
    K: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    root_of(entries.into_iter().collect())
}

/// The root of a "secure" trie, whose keys are the keccak-256 of the given keys (the state
/// and storage tries). Duplicates and empty values are handled as in [`ordered_trie_root`].
pub fn secure_trie_root<K, V>(entries: impl IntoIterator<Item = (K, V)>) -> B256
where
    K: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    root_of(entries.into_iter().map(|(k, v)| (keccak256(k.as_ref()), v)).collect())
}

/// The storage root of an account: a secure trie keyed by `keccak256(slot)` (the slot as 32
/// big-endian bytes) whose values are the RLP of the minimal big-endian value. Zero values are
/// absent from the trie and skipped.
pub fn storage_root(storage: impl IntoIterator<Item = (U256, U256)>) -> B256 {
    let entries = storage
        .into_iter()
        .filter(|(_, value)| !value.is_zero())
        .map(|(slot, value)| (keccak256(slot.to_be_bytes::<32>()), RlpWord::new(&value)))
        .collect();
    root_of(entries)
}

/// The RLP of an account as the state trie stores it: `[nonce, balance, storageRoot, codeHash]`.
pub fn account_rlp(nonce: u64, balance: U256, storage_root: B256, code_hash: B256) -> Vec<u8> {
    let mut out = Vec::with_capacity(112);
    let payload = rlp_u64_len(nonce) + rlp_u256_len(&balance) + 2 * 33;
    encode_list_header(&mut out, payload);
    encode_u64(&mut out, nonce);
    encode_u256(&mut out, &balance);
    encode_b256(&mut out, &storage_root);
    encode_b256(&mut out, &code_hash);
    out
}

/// The state root over `(address, account, storage root)` triples: a secure trie keyed by
/// `keccak256(address)` whose values are [`account_rlp`]. Storage roots are passed in because
/// the caller usually has them cached or computes them in parallel (see [`storage_root`]).
pub fn state_root<'a>(accounts: impl IntoIterator<Item = (Address, &'a AccountInfo, B256)>) -> B256 {
    let entries = accounts
        .into_iter()
        .map(|(address, info, root)| {
            (keccak256(address), account_rlp(info.nonce, info.balance, root, info.code_hash))
        })
        .collect();
    root_of(entries)
}

fn rlp_u64_len(value: u64) -> usize {
    let bytes = 8 - value.leading_zeros() as usize / 8;
    let first = if bytes == 0 { 0 } else { (value >> ((bytes - 1) * 8)) as u8 };
    bytes_encoded_len(bytes, first)
}

fn rlp_u256_len(value: &U256) -> usize {
    let be: [u8; 32] = value.to_be_bytes();
    let skip = be.iter().position(|&b| b != 0).unwrap_or(32);
    bytes_encoded_len(32 - skip, be.get(skip).copied().unwrap_or(0))
}

/// The RLP of a storage value, held inline to spare an allocation per slot.
#[derive(Clone, Copy)]
struct RlpWord {
    len: u8,
    bytes: [u8; 33],
}

impl RlpWord {
    fn new(value: &U256) -> RlpWord {
        let mut out = Vec::with_capacity(33);
        encode_u256(&mut out, value);
        let mut bytes = [0u8; 33];
        bytes[..out.len()].copy_from_slice(&out);
        RlpWord { len: out.len() as u8, bytes }
    }
}

impl AsRef<[u8]> for RlpWord {
    fn as_ref(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
}

/// Sorts, deduplicates (last value wins), drops empty values and builds the root.
fn root_of<K: AsRef<[u8]>, V: AsRef<[u8]>>(mut entries: Vec<(K, V)>) -> B256 {
    // Stable, so that among equal keys the later update stays later.
    entries.sort_by(|a, b| a.0.as_ref().cmp(b.0.as_ref()));
    // `dedup_by` passes (later, kept); move the later value into the kept slot.
    entries.dedup_by(|later, kept| {
        let same = later.0.as_ref() == kept.0.as_ref();
        if same {
            std::mem::swap(later, kept);
        }
        same
    });
    entries.retain(|(_, v)| !v.as_ref().is_empty());
    if entries.is_empty() {
        return EMPTY_ROOT_HASH;
    }
    let mut buf = Vec::with_capacity(4096);
    Builder { entries: &entries }.node(0, entries.len(), 0, &mut buf).root_hash()
}

/// How a parent refers to a child node: its encoding when shorter than 32 bytes, else its hash.
#[derive(Clone, Copy)]
enum NodeRef {
    Inline { len: u8, bytes: [u8; 31] },
    Hash(B256),
}

impl NodeRef {
    /// Turns the node encoded at `buf[start..]` into a reference and removes it from `buf`.
    fn take(buf: &mut Vec<u8>, start: usize) -> NodeRef {
        let node = &buf[start..];
        let r = if node.len() < 32 {
            let mut bytes = [0u8; 31];
            bytes[..node.len()].copy_from_slice(node);
            NodeRef::Inline { len: node.len() as u8, bytes }
        } else {
            NodeRef::Hash(keccak256(node))
        };
        buf.truncate(start);
        r
    }

    /// The bytes this reference takes inside its parent's encoding.
    fn encoded_len(&self) -> usize {
        match self {
            NodeRef::Inline { len, .. } => *len as usize,
            NodeRef::Hash(_) => 33,
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            NodeRef::Inline { len, bytes } => out.extend_from_slice(&bytes[..*len as usize]),
            NodeRef::Hash(hash) => encode_b256(out, hash),
        }
    }

    /// The root is hashed even when its encoding is short.
    fn root_hash(&self) -> B256 {
        match self {
            NodeRef::Inline { len, bytes } => keccak256(&bytes[..*len as usize]),
            NodeRef::Hash(hash) => *hash,
        }
    }
}

/// The nibble at position `i` of `key` (two per byte, high first).
#[inline]
fn nibble(key: &[u8], i: usize) -> u8 {
    let byte = key[i / 2];
    if i.is_multiple_of(2) {
        byte >> 4
    } else {
        byte & 0x0f
    }
}

/// How many nibbles `a` and `b` share from position `from` on.
fn shared_nibbles(a: &[u8], b: &[u8], from: usize) -> usize {
    let end = 2 * a.len().min(b.len());
    let mut i = from;
    if i % 2 == 1 && i < end && nibble(a, i) == nibble(b, i) {
        i += 1;
    }
    if i.is_multiple_of(2) {
        // Whole bytes at a time, then the nibble where they differ.
        let same = a[i / 2..end / 2].iter().zip(&b[i / 2..end / 2]).take_while(|(x, y)| x == y).count();
        i += 2 * same;
        if i < end && nibble(a, i) == nibble(b, i) {
            i += 1;
        }
    }
    i.min(end) - from
}

fn string_header(out: &mut Vec<u8>, len: usize) {
    if len < 56 {
        out.push(0x80 + len as u8);
    } else {
        let be = (len as u64).to_be_bytes();
        let skip = be.iter().position(|&b| b != 0).unwrap_or(7);
        out.push(0xb7 + (8 - skip) as u8);
        out.extend_from_slice(&be[skip..]);
    }
}

/// The RLP length of the hex-prefix encoding of nibbles `from..to`.
fn hex_prefix_len(from: usize, to: usize) -> usize {
    let bytes = (to - from) / 2 + 1;
    // A one-byte path (0 or 1 nibble) starts with 0x00..=0x3f and is its own encoding.
    if bytes == 1 {
        1
    } else {
        header_len(bytes) + bytes
    }
}

/// Appends the RLP string of the hex-prefix encoding of nibbles `from..to` of `key`: a flag
/// nibble (2 for a leaf, +1 for an odd length), the first nibble when the length is odd, then
/// the rest of the nibbles packed in pairs.
fn write_hex_prefix(out: &mut Vec<u8>, key: &[u8], from: usize, to: usize, leaf: bool) {
    let bytes = (to - from) / 2 + 1;
    if bytes > 1 {
        string_header(out, bytes);
    }
    let flag = if leaf { 0x20 } else { 0x00 };
    let mut i = from;
    if (to - from) % 2 == 1 {
        out.push(flag | 0x10 | nibble(key, i));
        i += 1;
    } else {
        out.push(flag);
    }
    if i.is_multiple_of(2) {
        out.extend_from_slice(&key[i / 2..to / 2]);
    } else {
        while i < to {
            out.push((nibble(key, i) << 4) | nibble(key, i + 1));
            i += 2;
        }
    }
}

/// Builds nodes over a sorted slice of pairs with unique keys and non-empty values.
struct Builder<'a, K, V> {
    entries: &'a [(K, V)],
}

impl<K: AsRef<[u8]>, V: AsRef<[u8]>> Builder<'_, K, V> {
    fn key(&self, i: usize) -> &[u8] {
        self.entries[i].0.as_ref()
    }

    /// The node over `entries[lo..hi]` (non-empty), whose keys share `depth` nibbles.
    fn node(&self, lo: usize, hi: usize, depth: usize, buf: &mut Vec<u8>) -> NodeRef {
        let start = buf.len();
        let first = self.key(lo);
        if hi - lo == 1 {
            let value = self.entries[lo].1.as_ref();
            let end = 2 * first.len();
            let payload = hex_prefix_len(depth, end) + bytes_encoded_len(value.len(), value[0]);
            encode_list_header(buf, payload);
            write_hex_prefix(buf, first, depth, end, true);
            encode_bytes(buf, value);
            return NodeRef::take(buf, start);
        }
        let shared = shared_nibbles(first, self.key(hi - 1), depth);
        if shared > 0 {
            let child = self.node(lo, hi, depth + shared, buf);
            let payload = hex_prefix_len(depth, depth + shared) + child.encoded_len();
            encode_list_header(buf, payload);
            write_hex_prefix(buf, first, depth, depth + shared, false);
            child.write(buf);
            return NodeRef::take(buf, start);
        }
        self.branch(lo, hi, depth, buf)
    }

    fn branch(&self, lo: usize, hi: usize, depth: usize, buf: &mut Vec<u8>) -> NodeRef {
        let start = buf.len();
        let mut children: [Option<NodeRef>; 16] = [None; 16];
        let mut value: &[u8] = &[];
        let mut i = lo;
        // Keys are unique and sorted, so only the first can end at this branch.
        if 2 * self.key(i).len() == depth {
            value = self.entries[i].1.as_ref();
            i += 1;
        }
        while i < hi {
            let n = nibble(self.key(i), depth);
            let end = i + self.entries[i..hi].partition_point(|(k, _)| nibble(k.as_ref(), depth) <= n);
            children[n as usize] = Some(self.node(i, end, depth + 1, buf));
            i = end;
        }
        let value_len = if value.is_empty() { 1 } else { bytes_encoded_len(value.len(), value[0]) };
        let payload =
            children.iter().map(|c| c.as_ref().map_or(1, NodeRef::encoded_len)).sum::<usize>() + value_len;
        encode_list_header(buf, payload);
        for child in &children {
            match child {
                Some(child) => child.write(buf),
                None => buf.push(0x80),
            }
        }
        encode_bytes(buf, value);
        NodeRef::take(buf, start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metisvm_vm::KECCAK_EMPTY;

    fn h(s: &str) -> B256 {
        let bytes = hex::decode(s.trim_start_matches("0x")).unwrap();
        B256::from_slice(&bytes)
    }

    #[test]
    fn empty_root() {
        assert_eq!(EMPTY_ROOT_HASH, keccak256([0x80]));
        assert_eq!(ordered_trie_root(Vec::<(Vec<u8>, Vec<u8>)>::new()), EMPTY_ROOT_HASH);
        assert_eq!(secure_trie_root([(b"k", b"")]), EMPTY_ROOT_HASH);
        assert_eq!(storage_root([(U256::from(1), U256::ZERO)]), EMPTY_ROOT_HASH);
    }

    #[test]
    fn single_entry() {
        // A lone leaf: rlp([hp(key, leaf), value]), hashed although it is short.
        let mut leaf = Vec::new();
        encode_list_header(&mut leaf, 4 + 4);
        encode_bytes(&mut leaf, &[0x20, 0x61, 0x62]);
        encode_bytes(&mut leaf, b"xyz");
        assert_eq!(ordered_trie_root([(b"ab", b"xyz")]), keccak256(&leaf));

        let value = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        let root = h("d23786fb4a010da3ce639d66d5e904a11dbc02746d1ce25029e53290cabf28ab");
        assert_eq!(ordered_trie_root([("A", value)]), root);
        let secure = h("e9e2935138352776cad724d31c9fa5266a5c593bb97726dd2a908fe6d53284df");
        assert_eq!(secure_trie_root([("A", value)]), secure);
    }

    #[test]
    fn known_vectors() {
        let dogs = [("doe", "reindeer"), ("dog", "puppy"), ("dogglesworth", "cat")];
        assert_eq!(
            ordered_trie_root(dogs),
            h("8aad789dff2f538bca5d8ea56e8abe10f4c7ba3a5dea95fea4cd6e7c3a1168d3")
        );
        assert_eq!(
            secure_trie_root(dogs),
            h("d4cd937e4a4368d7931a9cf51686b7e10abb3dce38a39000fd7902a092b64585")
        );
        let puppy = [("do", "verb"), ("horse", "stallion"), ("doge", "coin"), ("dog", "puppy")];
        assert_eq!(
            ordered_trie_root(puppy),
            h("5991bb8c6514148a29db676a14ac506cd2cd5775ace63c30a4fe457715e9ac84")
        );
        let foo = [("foo", "bar"), ("food", "bass")];
        assert_eq!(
            ordered_trie_root(foo),
            h("17beaa1648bafa633cda809c90c04af50fc8aed3cb40d16efbddee6fdf63c4c3")
        );
        let small = [("be", "e"), ("dog", "puppy"), ("bed", "d")];
        assert_eq!(
            ordered_trie_root(small),
            h("3f67c7a47520f79faa29255d2d3c084a7a6df0453116ed7232ff10277a8be68b")
        );
        let testy = [("test", "test"), ("te", "testy")];
        assert_eq!(
            ordered_trie_root(testy),
            h("8452568af70d8d140f58d941338542f645fcca50094b20f3c3d8c3df49337928")
        );
    }

    #[test]
    fn updates_in_order() {
        // trietest.json "branch-value-update": the last value for a key wins.
        let updates = [("abc", "123"), ("abcd", "abcd"), ("abc", "abc")];
        assert_eq!(
            ordered_trie_root(updates),
            h("7a320748f780ad9ad5b0837302075ce0eeba6c26e3d8562c67ccc0f1b273298a")
        );
        // An empty value deletes.
        let deleted = [("do", "verb"), ("ether", "wookiedoo"), ("ether", ""), ("dog", "puppy")];
        assert_eq!(ordered_trie_root(deleted), ordered_trie_root([("do", "verb"), ("dog", "puppy")]));
    }

    #[test]
    fn account_encoding() {
        // An empty account, as it appears in hex_encoded_securetrie_test.json.
        let expected = hex::decode(
            "f8448080a056e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421\
             a0c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470",
        )
        .unwrap();
        assert_eq!(account_rlp(0, U256::ZERO, EMPTY_ROOT_HASH, KECCAK_EMPTY), expected);
        let expected = hex::decode(
            "f848018405f446a7a056e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421\
             a0c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470",
        )
        .unwrap();
        assert_eq!(account_rlp(1, U256::from(0x05f446a7u64), EMPTY_ROOT_HASH, KECCAK_EMPTY), expected);
        for nonce in [0u64, 1, 0x7f, 0x80, 0xff, 0x100, u64::MAX] {
            for balance in [U256::ZERO, U256::from(0x7f), U256::from(0x80), U256::MAX] {
                let rlp = account_rlp(nonce, balance, EMPTY_ROOT_HASH, KECCAK_EMPTY);
                let item = metisvm_vm::rlp::decode_exact(&rlp).unwrap();
                let mut items = item.items().unwrap();
                assert_eq!(items.next_item().unwrap().as_u64().unwrap(), nonce);
                assert_eq!(items.next_item().unwrap().as_u256().unwrap(), balance);
            }
        }
    }

    #[test]
    fn storage_root_matches_secure_trie() {
        let slots =
            [(U256::from(0), U256::from(1)), (U256::from(1), U256::ZERO), (U256::MAX, U256::from(0x1234))];
        let expected = secure_trie_root([
            (U256::from(0).to_be_bytes::<32>().to_vec(), vec![0x01]),
            (U256::MAX.to_be_bytes::<32>().to_vec(), vec![0x82, 0x12, 0x34]),
        ]);
        assert_eq!(storage_root(slots), expected);
    }

    #[test]
    fn hex_prefix() {
        let key = [0x12, 0x34, 0x56];
        let mut out = Vec::new();
        write_hex_prefix(&mut out, &key, 0, 6, true);
        assert_eq!(out, [0x84, 0x20, 0x12, 0x34, 0x56]);
        out.clear();
        write_hex_prefix(&mut out, &key, 1, 6, false);
        assert_eq!(out, [0x83, 0x12, 0x34, 0x56]);
        out.clear();
        write_hex_prefix(&mut out, &key, 1, 4, true);
        assert_eq!(out, [0x82, 0x32, 0x34]);
        out.clear();
        write_hex_prefix(&mut out, &key, 2, 2, true);
        assert_eq!(out, [0x20]);
        for (from, to) in [(0, 6), (1, 6), (1, 4), (2, 2), (3, 4)] {
            out.clear();
            write_hex_prefix(&mut out, &key, from, to, false);
            assert_eq!(out.len(), hex_prefix_len(from, to));
        }
    }

    #[test]
    fn shared_prefix() {
        assert_eq!(shared_nibbles(&[0x12, 0x34], &[0x12, 0x35], 0), 3);
        assert_eq!(shared_nibbles(&[0x12, 0x34], &[0x12, 0x35], 1), 2);
        assert_eq!(shared_nibbles(&[0x12, 0x34], &[0x12], 0), 2);
        assert_eq!(shared_nibbles(&[0x12, 0x34], &[0x13, 0x34], 0), 1);
        assert_eq!(shared_nibbles(&[0x12, 0x34], &[0x22, 0x34], 0), 0);
        assert_eq!(shared_nibbles(&[0x12, 0x34], &[0x12, 0x34], 3), 1);
    }
}
