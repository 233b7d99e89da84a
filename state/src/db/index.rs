//! The version index: for each account, slot and block hash, where its record of each retained
//! version sits in the data file.
//!
//! A snapshot read looks its key up here and takes the newest entry at or below its version,
//! then decodes that one record through the memory map; it never walks the trie. The index
//! holds offsets, not values, so it stays small (tens of bytes per key) while the values are
//! paged in from the file as they are read. It is rebuilt by scanning the data file on open.
//!
//! Entries older than the prune horizon are dropped when their key is written again, except
//! the newest one at or below the horizon, which every retained version may still need.

use hashbrown::HashMap;
use metisvm_vm::primitives::{Address, B256, U256};
use std::collections::BTreeMap;

/// The (version, offset) entries of one key, oldest first. Most keys have one.
#[derive(Debug, Clone)]
pub(crate) enum Versions {
    One(u64, u64),
    Many(Vec<(u64, u64)>),
}

impl Versions {
    /// The offset of the newest entry at or below `version`.
    #[inline]
    pub(crate) fn at(&self, version: u64) -> Option<u64> {
        match self {
            Versions::One(v, offset) => (*v <= version).then_some(*offset),
            Versions::Many(entries) => {
                let i = entries.partition_point(|&(v, _)| v <= version);
                i.checked_sub(1).map(|i| entries[i].1)
            }
        }
    }

    /// Calls `f` with the offset of each entry a version at or above `oldest` can read:
    /// every newer entry and the newest one at or below it.
    pub(crate) fn for_each_live(&self, oldest: u64, mut f: impl FnMut(u64)) {
        match self {
            Versions::One(_, offset) => f(*offset),
            Versions::Many(entries) => {
                let from = entries.partition_point(|&(v, _)| v <= oldest).saturating_sub(1);
                entries[from..].iter().for_each(|&(_, offset)| f(offset));
            }
        }
    }

    /// Adds the entry of `version` (newer than every entry held) and drops the entries no
    /// version at or above `horizon` can read.
    pub(crate) fn push(&mut self, version: u64, offset: u64, horizon: u64) {
        match self {
            Versions::One(v, o) if *v == version => *o = offset,
            Versions::One(v, _) if *v <= horizon && version <= horizon => {
                *self = Versions::One(version, offset)
            }
            Versions::One(v, o) => *self = Versions::Many(vec![(*v, *o), (version, offset)]),
            Versions::Many(entries) => {
                match entries.last_mut() {
                    Some(last) if last.0 == version => last.1 = offset,
                    _ => entries.push((version, offset)),
                }
                // Keep the newest entry at or below the horizon and everything after it.
                let keep_from = entries.partition_point(|&(v, _)| v <= horizon).saturating_sub(1);
                if keep_from > 0 {
                    entries.drain(..keep_from);
                }
                if let [(v, o)] = entries[..] {
                    *self = Versions::One(v, o);
                }
            }
        }
    }
}

/// What a committed version is: its state root and the offset of its root node (0: empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct VersionRoot {
    pub(crate) state_root: B256,
    pub(crate) root_node: u64,
}

/// Every key's entries, and the retained versions.
#[derive(Debug, Default)]
pub(crate) struct Index {
    pub(crate) accounts: HashMap<Address, Versions>,
    pub(crate) slots: HashMap<(Address, U256), Versions>,
    pub(crate) block_hashes: HashMap<u64, Versions>,
    pub(crate) codes: HashMap<B256, u64>,
    pub(crate) roots: BTreeMap<u64, VersionRoot>,
}

impl Index {
    /// The newest committed version.
    pub(crate) fn latest(&self) -> u64 {
        self.roots.last_key_value().map_or(0, |(v, _)| *v)
    }

    /// The oldest version still readable.
    pub(crate) fn oldest(&self) -> u64 {
        self.roots.first_key_value().map_or(0, |(v, _)| *v)
    }

    pub(crate) fn push_account(&mut self, address: Address, version: u64, offset: u64, horizon: u64) {
        push(&mut self.accounts, address, version, offset, horizon);
    }

    pub(crate) fn push_slot(&mut self, key: (Address, U256), version: u64, offset: u64, horizon: u64) {
        push(&mut self.slots, key, version, offset, horizon);
    }

    pub(crate) fn push_block_hash(&mut self, number: u64, version: u64, offset: u64, horizon: u64) {
        push(&mut self.block_hashes, number, version, offset, horizon);
    }

    /// Records `version` and forgets the versions below `horizon`.
    pub(crate) fn push_root(&mut self, version: u64, root: VersionRoot, horizon: u64) {
        self.roots.insert(version, root);
        while self.roots.len() > 1 && self.oldest() < horizon {
            self.roots.pop_first();
        }
    }
}

fn push<K: std::hash::Hash + Eq>(
    map: &mut HashMap<K, Versions>,
    key: K,
    version: u64,
    offset: u64,
    horizon: u64,
) {
    match map.entry(key) {
        hashbrown::hash_map::Entry::Occupied(mut e) => e.get_mut().push(version, offset, horizon),
        hashbrown::hash_map::Entry::Vacant(e) => {
            e.insert(Versions::One(version, offset));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_newest_entry_at_or_below() {
        let mut v = Versions::One(2, 20);
        v.push(5, 50, 0);
        v.push(7, 70, 0);
        assert_eq!(v.at(1), None);
        assert_eq!(v.at(2), Some(20));
        assert_eq!(v.at(6), Some(50));
        assert_eq!(v.at(100), Some(70));
    }

    #[test]
    fn pruning_keeps_what_retained_versions_read() {
        let mut v = Versions::One(2, 20);
        v.push(5, 50, 0);
        v.push(7, 70, 6);
        // Version 6 reads the entry of 5; the entry of 2 is gone.
        assert_eq!(v.at(6), Some(50));
        assert!(matches!(&v, Versions::Many(e) if e.len() == 2));
        v.push(9, 90, 9);
        assert!(matches!(v, Versions::One(9, 90)));
    }

    #[test]
    fn live_entries_are_the_newest_at_or_below_and_all_above() {
        let live = |v: &Versions, oldest| {
            let mut out = Vec::new();
            v.for_each_live(oldest, |o| out.push(o));
            out
        };
        let mut v = Versions::One(2, 20);
        assert_eq!(live(&v, 0), [20]);
        assert_eq!(live(&v, 5), [20]);
        v.push(5, 50, 0);
        v.push(7, 70, 0);
        assert_eq!(live(&v, 1), [20, 50, 70]);
        assert_eq!(live(&v, 2), [20, 50, 70]);
        assert_eq!(live(&v, 6), [50, 70]);
        assert_eq!(live(&v, 9), [70]);
    }
}
