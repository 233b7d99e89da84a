//! Differential test: the sorted-range root builder against a naive trie built node by node
//! by insertion, on random key sets chosen to share many prefixes.

use metisvm_state::{ordered_trie_root, secure_trie_root, EMPTY_ROOT_HASH};
use metisvm_vm::rlp::{encode_b256, encode_bytes, encode_list};
use metisvm_vm::{keccak256, B256};
use std::collections::BTreeMap;

/// A trie node whose paths are unpacked nibbles.
enum Node {
    Empty,
    Leaf(Vec<u8>, Vec<u8>),
    Extension(Vec<u8>, Box<Node>),
    Branch(Vec<Node>, Option<Vec<u8>>),
}

fn common(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

fn empty_branch() -> Node {
    Node::Branch((0..16).map(|_| Node::Empty).collect(), None)
}

fn insert(node: Node, path: &[u8], value: Vec<u8>) -> Node {
    match node {
        Node::Empty => Node::Leaf(path.to_vec(), value),
        Node::Leaf(leaf_path, leaf_value) => {
            if leaf_path == path {
                return Node::Leaf(leaf_path, value);
            }
            let c = common(&leaf_path, path);
            let branch = insert(empty_branch(), &leaf_path[c..], leaf_value);
            let branch = insert(branch, &path[c..], value);
            wrap(&path[..c], branch)
        }
        Node::Extension(ext_path, child) => {
            let c = common(&ext_path, path);
            if c == ext_path.len() {
                return Node::Extension(ext_path, Box::new(insert(*child, &path[c..], value)));
            }
            let Node::Branch(mut children, v) = empty_branch() else { unreachable!() };
            children[ext_path[c] as usize] = wrap(&ext_path[c + 1..], *child);
            let branch = insert(Node::Branch(children, v), &path[c..], value);
            wrap(&ext_path[..c], branch)
        }
        Node::Branch(mut children, branch_value) => {
            if path.is_empty() {
                return Node::Branch(children, Some(value));
            }
            let slot = std::mem::replace(&mut children[path[0] as usize], Node::Empty);
            children[path[0] as usize] = insert(slot, &path[1..], value);
            Node::Branch(children, branch_value)
        }
    }
}

fn wrap(prefix: &[u8], node: Node) -> Node {
    if prefix.is_empty() {
        node
    } else {
        Node::Extension(prefix.to_vec(), Box::new(node))
    }
}

fn hex_prefix(path: &[u8], leaf: bool) -> Vec<u8> {
    let flag = if leaf { 2 } else { 0 };
    let mut nibbles = if path.len() % 2 == 1 { vec![flag + 1] } else { vec![flag, 0] };
    nibbles.extend_from_slice(path);
    nibbles.chunks(2).map(|p| (p[0] << 4) | p[1]).collect()
}

fn encode(node: &Node) -> Vec<u8> {
    let mut out = Vec::new();
    match node {
        Node::Empty => out.push(0x80),
        Node::Leaf(path, value) => encode_list(&mut out, |p| {
            encode_bytes(p, &hex_prefix(path, true));
            encode_bytes(p, value);
        }),
        Node::Extension(path, child) => encode_list(&mut out, |p| {
            encode_bytes(p, &hex_prefix(path, false));
            reference(p, child);
        }),
        Node::Branch(children, value) => encode_list(&mut out, |p| {
            children.iter().for_each(|c| reference(p, c));
            encode_bytes(p, value.as_deref().unwrap_or(&[]));
        }),
    }
    out
}

fn reference(out: &mut Vec<u8>, node: &Node) {
    let encoded = encode(node);
    if encoded.len() < 32 {
        out.extend_from_slice(&encoded);
    } else {
        encode_b256(out, &keccak256(&encoded));
    }
}

fn naive_root(map: &BTreeMap<Vec<u8>, Vec<u8>>) -> B256 {
    let mut root = Node::Empty;
    for (key, value) in map {
        let nibbles: Vec<u8> = key.iter().flat_map(|b| [b >> 4, b & 0x0f]).collect();
        root = insert(root, &nibbles, value.clone());
    }
    keccak256(encode(&root))
}

/// xorshift64*: deterministic, good enough to pick keys.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> usize {
        (self.next() % n) as usize
    }
}

#[test]
fn matches_naive_trie_on_random_sets() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // Few distinct bytes and short keys, so keys share prefixes and end inside branches.
    let alphabet = [0x00u8, 0x01, 0x10, 0x11, 0x12, 0x21, 0xff];
    for round in 0..2000 {
        let count = rng.below(if round % 10 == 0 { 200 } else { 12 }) + 1;
        let mut updates = Vec::new();
        for _ in 0..count {
            let key: Vec<u8> =
                (0..rng.below(6)).map(|_| alphabet[rng.below(alphabet.len() as u64)]).collect();
            // Some values are short enough for their leaves to be inlined, some are not;
            // an empty value deletes.
            let len = [0, 1, 1, 3, 20, 40][rng.below(6)];
            let value: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            updates.push((key, value));
        }
        let mut map = BTreeMap::new();
        for (key, value) in &updates {
            if value.is_empty() {
                map.remove(key);
            } else {
                map.insert(key.clone(), value.clone());
            }
        }
        let expected = if map.is_empty() { EMPTY_ROOT_HASH } else { naive_root(&map) };
        assert_eq!(
            ordered_trie_root(updates.iter().map(|(k, v)| (k, v))),
            expected,
            "round {round}: {updates:?}"
        );

        let hashed: BTreeMap<Vec<u8>, Vec<u8>> =
            map.iter().map(|(k, v)| (keccak256(k).to_vec(), v.clone())).collect();
        let expected = if hashed.is_empty() { EMPTY_ROOT_HASH } else { naive_root(&hashed) };
        assert_eq!(secure_trie_root(&map), expected, "round {round}");
    }
}
