//! [`RawTrie`]: MetisDB's persistent trie over raw keys, with its node records kept in a
//! buffer instead of the data file. It runs the Ethereum trie test vectors (whose keys are
//! arbitrary byte strings, not hashes) through the same update, hashing and record code as
//! the state and storage tries.

use super::format;
use super::trie::{self, nibbles, Change, Child, Tries};
use super::DbError;
use crate::trie::EMPTY_ROOT_HASH;
use metisvm_vm::primitives::B256;

/// A trie over raw keys whose every commit appends node records, as MetisDB's data file does.
#[derive(Debug, Clone)]
pub struct RawTrie {
    data: Vec<u8>,
    root: Option<Child>,
}

impl Default for RawTrie {
    fn default() -> Self {
        RawTrie::new()
    }
}

impl RawTrie {
    /// An empty trie.
    pub fn new() -> RawTrie {
        RawTrie { data: format::Header::default().encode().to_vec(), root: None }
    }

    /// Applies `updates` as one commit: for a key given more than once the last value wins,
    /// and an empty value removes the key.
    pub fn commit<K: AsRef<[u8]>, V: AsRef<[u8]>>(&mut self, updates: &[(K, V)]) -> Result<B256, DbError> {
        let mut changes: Vec<Change> = updates
            .iter()
            .map(|(k, v)| (nibbles(k.as_ref()), Some(v.as_ref().to_vec()).filter(|v| !v.is_empty())))
            .collect();
        // Stable, so the later of equal keys stays later; keep that one.
        changes.sort_by(|a, b| a.0.cmp(&b.0));
        changes.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                std::mem::swap(later, kept);
            }
            same
        });
        let updated = Tries::new(&self.data).update(self.root.take(), &changes)?.map(trie::hash);
        let mut out = Vec::new();
        let base = self.data.len() as u64;
        self.root = updated.map(|child| trie::write(child, &mut out, base));
        self.data.extend_from_slice(&out);
        Ok(self.root())
    }

    /// The root hash.
    pub fn root(&self) -> B256 {
        self.root.as_ref().and_then(Child::root_hash).unwrap_or(EMPTY_ROOT_HASH)
    }

    /// Bytes of node records written so far (every version's nodes are kept).
    pub fn stored_bytes(&self) -> usize {
        self.data.len()
    }
}
