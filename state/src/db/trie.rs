//! MetisDB's persistent Merkle Patricia Trie: incremental updates, hashing of only the changed
//! paths, and node records that point at their children by file offset.
//!
//! # The commit algorithm
//!
//! A trie version is named by the offset of its root node. An update takes a batch of
//! changes sorted by key and walks down from the root, splitting the batch by the nibble each
//! branch dispatches on. A subtree that no change reaches is kept as it is: its parent keeps
//! the child's offset and reference, so it is neither read nor rehashed. Along the changed
//! paths, nodes are rebuilt in memory ([`Child::Fresh`]) and the trie is kept canonical: a
//! branch left with one child and no value is folded into its child's path, an extension whose
//! child became a leaf or an extension is merged with it, so the shape (and so the root) is
//! the one the reference builder of [`crate::trie`] produces from the same pairs.
//!
//! Fresh nodes are then hashed bottom-up ([`hash`]), which is pure and so may run for many
//! tries at once (the storage tries of different accounts are hashed in parallel), and finally
//! written child-first into the commit's batch ([`write`]), so that each record can name its
//! children's offsets.
//!
//! # Node records
//!
//! The body of a node record (kind 5, see [`super::format`]) is a tag and the node's fields,
//! with each child as `offset u64, reference length u8, reference` where the reference is the
//! child's keccak-256 (length 32) or its whole RLP when shorter than 32 bytes (an inlined
//! node, which is still stored as a record of its own). Paths are stored one nibble per byte.
//!
//! - leaf: `0, path length u16, path, value length u32, value`
//! - extension: `1, path length u16, path, child`
//! - branch: `2, child mask u16, value length u32, value, one child per set bit`
//!
//! A node's RLP is rebuilt from these fields when a proof needs it.

use super::format::{self, kind, Reader};
use super::DbError;
use metisvm_vm::primitives::{keccak256, B256};
use metisvm_vm::rlp::{bytes_encoded_len, encode_bytes, encode_list_header};

/// How a parent refers to a child: its RLP when shorter than 32 bytes, else its keccak-256.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct NodeRef {
    len: u8,
    bytes: [u8; 32],
}

impl std::fmt::Debug for NodeRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NodeRef({})", hex_str(self.as_slice()))
    }
}

fn hex_str(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl NodeRef {
    /// The reference to a node whose RLP is `rlp`.
    pub(crate) fn of(rlp: &[u8]) -> NodeRef {
        if rlp.len() < 32 {
            let mut bytes = [0u8; 32];
            bytes[..rlp.len()].copy_from_slice(rlp);
            NodeRef { len: rlp.len() as u8, bytes }
        } else {
            NodeRef { len: 32, bytes: keccak256(rlp).0 }
        }
    }

    /// The reference to a root known by its hash. A root's reference is only ever used for
    /// its hash, so this holds even when the root's RLP is short enough to be inlined.
    pub(crate) fn of_hash(hash: B256) -> NodeRef {
        NodeRef { len: 32, bytes: hash.0 }
    }

    fn from_slice(bytes: &[u8]) -> Option<NodeRef> {
        if bytes.is_empty() || bytes.len() > 32 {
            return None;
        }
        let mut out = [0u8; 32];
        out[..bytes.len()].copy_from_slice(bytes);
        Some(NodeRef { len: bytes.len() as u8, bytes: out })
    }

    fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }

    /// Whether the node is referenced by hash (and so appears in proofs on its own).
    pub(crate) fn is_hash(&self) -> bool {
        self.len == 32
    }

    /// The bytes this reference takes in its parent's RLP.
    fn encoded_len(&self) -> usize {
        if self.is_hash() {
            33
        } else {
            self.len as usize
        }
    }

    fn write_rlp(&self, out: &mut Vec<u8>) {
        if self.is_hash() {
            out.push(0xa0);
        }
        out.extend_from_slice(self.as_slice());
    }

    /// The hash of the node as a root: a root is hashed even when its RLP is short.
    pub(crate) fn root_hash(&self) -> B256 {
        if self.is_hash() {
            B256::new(self.bytes)
        } else {
            keccak256(self.as_slice())
        }
    }
}

/// A trie node in memory. Paths hold one nibble per byte.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Leaf { path: Vec<u8>, value: Vec<u8> },
    Extension { path: Vec<u8>, child: Child },
    Branch { children: Box<[Option<Child>; 16]>, value: Vec<u8> },
}

/// A node as its parent holds it.
#[derive(Debug, Clone)]
pub(crate) enum Child {
    /// Written earlier: its record's offset and its reference.
    Stored { offset: u64, reference: NodeRef },
    /// Built by this update, not yet hashed.
    Fresh(Box<Node>),
    /// Built by this update and hashed, not yet written.
    Hashed(Box<Node>, NodeRef),
}

impl Child {
    /// The reference of a stored or hashed child.
    pub(crate) fn reference(&self) -> Option<NodeRef> {
        match self {
            Child::Stored { reference, .. } | Child::Hashed(_, reference) => Some(*reference),
            Child::Fresh(_) => None,
        }
    }

    /// The root hash of the trie below this child (hashed or stored).
    pub(crate) fn root_hash(&self) -> Option<B256> {
        self.reference().map(|r| r.root_hash())
    }
}

/// The value found at a key (if any) and the proof nodes on the way, root first.
pub(crate) type Proved = (Option<Vec<u8>>, Vec<Vec<u8>>);

/// One change of a batch: a key as nibbles, and its new value (`None` or empty: removed).
pub(crate) type Change = (Vec<u8>, Option<Vec<u8>>);

/// The key `bytes` as nibbles, high nibble first.
pub(crate) fn nibbles(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(b >> 4);
        out.push(b & 0x0f);
    }
    out
}

/// Reads and changes tries stored in `data` (the data file, or any buffer of records).
pub(crate) struct Tries<'a> {
    data: &'a [u8],
}

impl<'a> Tries<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Tries { data }
    }

    /// The node whose record starts at `offset`.
    pub(crate) fn load(&self, offset: u64) -> Result<Node, DbError> {
        let bad = || DbError::corrupt("data.mdb", offset, "trie node record does not parse");
        let (k, body) = format::record_at(self.data, offset).ok_or_else(bad)?;
        if k != kind::NODE {
            return Err(bad());
        }
        decode_node(body).ok_or_else(bad)
    }

    /// The stored child at `offset` whose reference is `reference`.
    pub(crate) fn stored(offset: u64, reference: NodeRef) -> Child {
        Child::Stored { offset, reference }
    }

    /// Applies `changes` (sorted by key, keys unique) to the trie under `root`.
    pub(crate) fn update(&self, root: Option<Child>, changes: &[Change]) -> Result<Option<Child>, DbError> {
        debug_assert!(changes.windows(2).all(|w| w[0].0 < w[1].0), "changes must be sorted and unique");
        self.apply(root, 0, changes)
    }

    fn node_of(&self, child: Child) -> Result<Node, DbError> {
        match child {
            Child::Stored { offset, .. } => self.load(offset),
            Child::Fresh(node) | Child::Hashed(node, _) => Ok(*node),
        }
    }

    fn apply(
        &self,
        child: Option<Child>,
        depth: usize,
        changes: &[Change],
    ) -> Result<Option<Child>, DbError> {
        if changes.is_empty() {
            return Ok(child);
        }
        let Some(child) = child else {
            let entries: Vec<(&[u8], &[u8])> = changes
                .iter()
                .filter_map(|(k, v)| v.as_deref().filter(|v| !v.is_empty()).map(|v| (k.as_slice(), v)))
                .collect();
            return Ok(build(&entries, depth));
        };
        match self.node_of(child)? {
            Node::Leaf { path, value } => {
                let mut key = changes[0].0[..depth].to_vec();
                key.extend_from_slice(&path);
                let mut entries: Vec<(&[u8], &[u8])> = Vec::with_capacity(changes.len() + 1);
                let at = changes.partition_point(|(k, _)| k.as_slice() < key.as_slice());
                let replaced = changes.get(at).is_some_and(|(k, _)| *k == key);
                for (i, (k, v)) in changes.iter().enumerate() {
                    if i == at && !replaced {
                        entries.push((&key, &value));
                    }
                    if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                        entries.push((k, v));
                    }
                }
                if at == changes.len() {
                    entries.push((&key, &value));
                }
                Ok(build(&entries, depth))
            }
            Node::Extension { path, child } => {
                let end = depth + path.len();
                let all_below = changes.iter().all(|(k, _)| k.len() >= end && k[depth..end] == path[..]);
                if all_below {
                    let below = self.apply(Some(child), end, changes)?;
                    return self.prefixed(path, below);
                }
                let mut children: Box<[Option<Child>; 16]> = Box::default();
                children[path[0] as usize] = Some(if path.len() == 1 {
                    child
                } else {
                    Child::Fresh(Box::new(Node::Extension { path: path[1..].to_vec(), child }))
                });
                self.apply_branch(children, Vec::new(), depth, changes)
            }
            Node::Branch { children, value } => self.apply_branch(children, value, depth, changes),
        }
    }

    fn apply_branch(
        &self,
        mut children: Box<[Option<Child>; 16]>,
        mut value: Vec<u8>,
        depth: usize,
        changes: &[Change],
    ) -> Result<Option<Child>, DbError> {
        let mut i = 0;
        if changes[0].0.len() == depth {
            value = changes[0].1.clone().unwrap_or_default();
            i = 1;
        }
        while i < changes.len() {
            let n = changes[i].0[depth];
            let end = i + changes[i..].partition_point(|(k, _)| k[depth] <= n);
            let slot = &mut children[n as usize];
            *slot = self.apply(slot.take(), depth + 1, &changes[i..end])?;
            i = end;
        }
        let mut present = children.iter().enumerate().filter(|(_, c)| c.is_some()).map(|(n, _)| n);
        match (present.next(), present.next()) {
            (None, _) if value.is_empty() => Ok(None),
            (None, _) => Ok(Some(fresh(Node::Leaf { path: Vec::new(), value }))),
            (Some(n), None) if value.is_empty() => {
                let only = children[n].take().expect("present");
                self.prefixed(vec![n as u8], Some(only))
            }
            _ => Ok(Some(fresh(Node::Branch { children, value }))),
        }
    }

    /// The node for `below` reached through `path`: merged into `below`'s own path when it is
    /// a leaf or an extension, an extension over it when it is a branch.
    fn prefixed(&self, mut path: Vec<u8>, below: Option<Child>) -> Result<Option<Child>, DbError> {
        let Some(below) = below else { return Ok(None) };
        let node = match &below {
            Child::Stored { offset, .. } => self.load(*offset)?,
            Child::Fresh(node) | Child::Hashed(node, _) => (**node).clone(),
        };
        Ok(Some(match node {
            Node::Leaf { path: rest, value } => {
                path.extend_from_slice(&rest);
                fresh(Node::Leaf { path, value })
            }
            Node::Extension { path: rest, child } => {
                path.extend_from_slice(&rest);
                fresh(Node::Extension { path, child })
            }
            Node::Branch { .. } => fresh(Node::Extension { path, child: below }),
        }))
    }

    /// The value at `key` (nibbles) in the trie under `root`, and the RLP of every node on the
    /// path to it that is referenced by hash (the root always), root first: a Merkle proof.
    pub(crate) fn prove(&self, root: Option<&Child>, key: &[u8]) -> Result<Proved, DbError> {
        let mut proof = Vec::new();
        let Some(root) = root else { return Ok((None, proof)) };
        let mut current = root.clone();
        let mut is_root = true;
        let mut depth = 0;
        loop {
            let reference = current.reference();
            let node = self.node_of(current)?;
            if is_root || reference.is_some_and(|r| r.is_hash()) {
                proof.push(node_rlp(&node));
            }
            is_root = false;
            match node {
                Node::Leaf { path, value } => {
                    return Ok((
                        (key.len() == depth + path.len() && key[depth..] == path[..]).then_some(value),
                        proof,
                    ));
                }
                Node::Extension { path, child } => {
                    if key.len() < depth + path.len() || key[depth..depth + path.len()] != path[..] {
                        return Ok((None, proof));
                    }
                    depth += path.len();
                    current = child;
                }
                Node::Branch { mut children, value } => {
                    if key.len() == depth {
                        return Ok(((!value.is_empty()).then_some(value), proof));
                    }
                    match children[key[depth] as usize].take() {
                        Some(child) => current = child,
                        None => return Ok((None, proof)),
                    }
                    depth += 1;
                }
            }
        }
    }
}

fn fresh(node: Node) -> Child {
    Child::Fresh(Box::new(node))
}

/// The canonical trie over `entries` (sorted, unique keys, non-empty values), all sharing
/// their first `depth` nibbles.
fn build(entries: &[(&[u8], &[u8])], depth: usize) -> Option<Child> {
    match entries {
        [] => None,
        [(key, value)] => Some(fresh(Node::Leaf { path: key[depth..].to_vec(), value: value.to_vec() })),
        _ => {
            let (first, last) = (entries[0].0, entries[entries.len() - 1].0);
            let shared = first[depth..].iter().zip(&last[depth..]).take_while(|(a, b)| a == b).count();
            if shared > 0 {
                let child = build(entries, depth + shared).expect("two or more entries");
                return Some(fresh(Node::Extension { path: first[depth..depth + shared].to_vec(), child }));
            }
            let mut children: Box<[Option<Child>; 16]> = Box::default();
            let mut value = Vec::new();
            let mut i = 0;
            if first.len() == depth {
                value = entries[0].1.to_vec();
                i = 1;
            }
            while i < entries.len() {
                let n = entries[i].0[depth];
                let end = i + entries[i..].partition_point(|(k, _)| k[depth] <= n);
                children[n as usize] = build(&entries[i..end], depth + 1);
                i = end;
            }
            Some(fresh(Node::Branch { children, value }))
        }
    }
}

/// Hashes every fresh node under `child`, children first.
pub(crate) fn hash(child: Child) -> Child {
    let Child::Fresh(mut node) = child else { return child };
    match &mut *node {
        Node::Leaf { .. } => {}
        Node::Extension { child, .. } => {
            let taken =
                std::mem::replace(child, Child::Stored { offset: 0, reference: NodeRef::of(&[0x80]) });
            *child = hash(taken);
        }
        Node::Branch { children, .. } => {
            for slot in children.iter_mut() {
                if let Some(c) = slot.take() {
                    *slot = Some(hash(c));
                }
            }
        }
    }
    let reference = NodeRef::of(&node_rlp(&node));
    Child::Hashed(node, reference)
}

/// Writes every hashed node under `child` into `out` (whose first byte will sit at file offset
/// `base`), children first, and returns the child as stored.
pub(crate) fn write(child: Child, out: &mut Vec<u8>, base: u64) -> Child {
    let (mut node, reference) = match child {
        Child::Stored { .. } => return child,
        Child::Hashed(node, reference) => (node, reference),
        Child::Fresh(_) => unreachable!("nodes are hashed before they are written"),
    };
    match &mut *node {
        Node::Leaf { .. } => {}
        Node::Extension { child, .. } => {
            let taken = std::mem::replace(child, Child::Stored { offset: 0, reference });
            *child = write(taken, out, base);
        }
        Node::Branch { children, .. } => {
            for slot in children.iter_mut() {
                if let Some(c) = slot.take() {
                    *slot = Some(write(c, out, base));
                }
            }
        }
    }
    let offset = base + out.len() as u64;
    write_record(&node, out);
    Child::Stored { offset, reference }
}

/// Appends `node` (its children stored) as a node record.
fn write_record(node: &Node, out: &mut Vec<u8>) {
    let start = out.len();
    format::frame(out, kind::NODE, 0);
    encode_node(node, out);
    let body_len = (out.len() - start - format::FRAME_LEN) as u32;
    out[start + 1..start + 5].copy_from_slice(&body_len.to_le_bytes());
}

/// The offsets of the children of the node record `body`, or `None` if it does not parse.
pub(crate) fn child_offsets(body: &[u8]) -> Option<Vec<u64>> {
    let offsets = match decode_node(body)? {
        Node::Leaf { .. } => Vec::new(),
        Node::Extension { child, .. } => vec![stored_offset(&child)],
        Node::Branch { children, .. } => children.iter().flatten().map(stored_offset).collect(),
    };
    Some(offsets)
}

/// Appends the node record `body` with each child's offset replaced by `moved(offset)`;
/// `None` if it does not parse or a child has no new offset.
pub(crate) fn write_moved(body: &[u8], out: &mut Vec<u8>, moved: impl Fn(u64) -> Option<u64>) -> Option<()> {
    let mut node = decode_node(body)?;
    let relocate = |child: &mut Child| -> Option<()> {
        let Child::Stored { offset, .. } = child else { return None };
        *offset = moved(*offset)?;
        Some(())
    };
    match &mut node {
        Node::Leaf { .. } => {}
        Node::Extension { child, .. } => relocate(child)?,
        Node::Branch { children, .. } => {
            for child in children.iter_mut().flatten() {
                relocate(child)?;
            }
        }
    }
    write_record(&node, out);
    Some(())
}

fn stored_offset(child: &Child) -> u64 {
    match child {
        Child::Stored { offset, .. } => *offset,
        Child::Fresh(_) | Child::Hashed(..) => unreachable!("decoded children are stored"),
    }
}

fn write_path(out: &mut Vec<u8>, path: &[u8]) {
    out.extend_from_slice(&(path.len() as u16).to_le_bytes());
    out.extend_from_slice(path);
}

fn write_child(out: &mut Vec<u8>, child: &Child) {
    let Child::Stored { offset, reference } = child else { unreachable!("children are written first") };
    out.extend_from_slice(&offset.to_le_bytes());
    out.push(reference.len);
    out.extend_from_slice(reference.as_slice());
}

fn encode_node(node: &Node, out: &mut Vec<u8>) {
    match node {
        Node::Leaf { path, value } => {
            out.push(0);
            write_path(out, path);
            out.extend_from_slice(&(value.len() as u32).to_le_bytes());
            out.extend_from_slice(value);
        }
        Node::Extension { path, child } => {
            out.push(1);
            write_path(out, path);
            write_child(out, child);
        }
        Node::Branch { children, value } => {
            out.push(2);
            let mask = children.iter().enumerate().fold(0u16, |m, (n, c)| m | ((c.is_some() as u16) << n));
            out.extend_from_slice(&mask.to_le_bytes());
            out.extend_from_slice(&(value.len() as u32).to_le_bytes());
            out.extend_from_slice(value);
            for child in children.iter().flatten() {
                write_child(out, child);
            }
        }
    }
}

fn read_path(r: &mut Reader<'_>) -> Option<Vec<u8>> {
    let len = r.u16()? as usize;
    let path = r.take(len)?;
    path.iter().all(|&n| n < 16).then(|| path.to_vec())
}

fn read_child(r: &mut Reader<'_>) -> Option<Child> {
    let offset = r.u64()?;
    let len = r.u8()? as usize;
    let reference = NodeRef::from_slice(r.take(len)?)?;
    Some(Child::Stored { offset, reference })
}

fn decode_node(body: &[u8]) -> Option<Node> {
    let mut r = Reader(body);
    let node = match r.u8()? {
        0 => {
            let path = read_path(&mut r)?;
            let len = r.u32()? as usize;
            Node::Leaf { path, value: r.take(len)?.to_vec() }
        }
        1 => {
            let path = read_path(&mut r)?;
            if path.is_empty() {
                return None;
            }
            Node::Extension { path, child: read_child(&mut r)? }
        }
        2 => {
            let mask = r.u16()?;
            let len = r.u32()? as usize;
            let value = r.take(len)?.to_vec();
            let mut children: Box<[Option<Child>; 16]> = Box::default();
            for (n, slot) in children.iter_mut().enumerate() {
                if mask & (1 << n) != 0 {
                    *slot = Some(read_child(&mut r)?);
                }
            }
            Node::Branch { children, value }
        }
        _ => return None,
    };
    r.0.is_empty().then_some(node)
}

/// The hex-prefix encoding of `path` (yellow paper, appendix C).
fn hex_prefix(path: &[u8], leaf: bool) -> Vec<u8> {
    let flag = if leaf { 2 } else { 0 };
    let mut out = Vec::with_capacity(path.len() / 2 + 1);
    let rest = if path.len() % 2 == 1 {
        out.push(((flag + 1) << 4) | path[0]);
        &path[1..]
    } else {
        out.push(flag << 4);
        path
    };
    out.extend(rest.chunks_exact(2).map(|pair| (pair[0] << 4) | pair[1]));
    out
}

fn rlp_bytes_len(bytes: &[u8]) -> usize {
    if bytes.is_empty() {
        1
    } else {
        bytes_encoded_len(bytes.len(), bytes[0])
    }
}

fn child_reference(child: &Child) -> NodeRef {
    child.reference().expect("children are hashed before their parent")
}

/// The RLP of `node`, whose children are stored or hashed.
pub(crate) fn node_rlp(node: &Node) -> Vec<u8> {
    let mut out = Vec::new();
    match node {
        Node::Leaf { path, value } => {
            let hp = hex_prefix(path, true);
            encode_list_header(&mut out, rlp_bytes_len(&hp) + rlp_bytes_len(value));
            encode_bytes(&mut out, &hp);
            encode_bytes(&mut out, value);
        }
        Node::Extension { path, child } => {
            let hp = hex_prefix(path, false);
            let reference = child_reference(child);
            encode_list_header(&mut out, rlp_bytes_len(&hp) + reference.encoded_len());
            encode_bytes(&mut out, &hp);
            reference.write_rlp(&mut out);
        }
        Node::Branch { children, value } => {
            let refs: Vec<Option<NodeRef>> =
                children.iter().map(|c| c.as_ref().map(child_reference)).collect();
            let payload =
                refs.iter().map(|r| r.map_or(1, |r| r.encoded_len())).sum::<usize>() + rlp_bytes_len(value);
            encode_list_header(&mut out, payload);
            for reference in &refs {
                match reference {
                    Some(r) => r.write_rlp(&mut out),
                    None => out.push(0x80),
                }
            }
            encode_bytes(&mut out, value);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trie::{ordered_trie_root, EMPTY_ROOT_HASH};

    /// Applies `batches` one after another, each hashed and written, and returns the root.
    fn commit_batches(batches: &[Vec<(&[u8], &[u8])>]) -> B256 {
        let mut trie = super::super::RawTrie::new();
        for batch in batches {
            trie.commit(batch).unwrap();
        }
        trie.root()
    }

    #[test]
    fn matches_reference_in_one_batch_and_in_many() {
        let pairs: Vec<(&[u8], &[u8])> = vec![
            (b"do", b"verb"),
            (b"horse", b"stallion"),
            (b"doge", b"coin"),
            (b"dog", b"puppy"),
            (b"d", b"x"),
        ];
        let expected = ordered_trie_root(pairs.clone());
        assert_eq!(commit_batches(std::slice::from_ref(&pairs)), expected);
        let one_by_one: Vec<_> = pairs.iter().map(|p| vec![*p]).collect();
        assert_eq!(commit_batches(&one_by_one), expected);
    }

    #[test]
    fn deletes_fold_branches_back() {
        let pairs: Vec<(&[u8], &[u8])> = vec![(b"do", b"verb"), (b"dog", b"puppy"), (b"doge", b"coin")];
        let deletes: Vec<(&[u8], &[u8])> = vec![(b"dog", b""), (b"doge", b"")];
        assert_eq!(commit_batches(&[pairs.clone(), deletes]), ordered_trie_root([(b"do", b"verb")]));
        let all: Vec<(&[u8], &[u8])> = pairs.iter().map(|(k, _)| (*k, &b""[..])).collect();
        assert_eq!(commit_batches(&[pairs, all]), EMPTY_ROOT_HASH);
    }

    #[test]
    fn proofs_end_at_the_value() {
        let mut data = format::Header::default().encode().to_vec();
        let changes: Vec<Change> = (0u8..40)
            .map(|i| (nibbles(&keccak256([i]).0), Some(vec![i + 1; (i % 5 + 1) as usize])))
            .collect();
        let mut sorted = changes.clone();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        let root = Tries::new(&data).update(None, &sorted).unwrap().map(hash).unwrap();
        let mut out = Vec::new();
        let root = write(root, &mut out, data.len() as u64);
        data.extend_from_slice(&out);
        let tries = Tries::new(&data);
        for (key, value) in &changes {
            let (found, proof) = tries.prove(Some(&root), key).unwrap();
            assert_eq!(found.as_ref(), value.as_ref());
            assert_eq!(keccak256(&proof[0]), root.root_hash().unwrap());
        }
        let (absent, _) = tries.prove(Some(&root), &nibbles(&[0u8; 32])).unwrap();
        assert_eq!(absent, None);
    }
}
