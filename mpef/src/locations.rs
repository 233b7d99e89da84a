//! [`LocationTable`]: the multi-version memory's index from an exact state location to the
//! versions written there, shared by every worker of a block.
//!
//! A fixed array of pointers, open-addressed: a location's first writer allocates its node
//! and publishes it with one compare-and-swap on the bucket; lookups are plain loads. There
//! is no shared item count or lock word that every insert writes (a sharded map's shard
//! headers are such lines, and two cores filing writes into random shards pass them back
//! and forth on nearly every insert). Nodes are never removed during the block, so a
//! reference to one stays valid until the table is dropped.
//!
//! The array is sized from the block (see [`LocationTable::new`]). A location that finds no
//! free bucket within [`MAX_PROBES`] goes to a locked overflow map instead, so a block that
//! writes far more locations than expected stays correct, only slower.

use crate::mvmemory::{Location, Versions};
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::sync::RwLock;

/// Buckets probed before a location goes to the overflow map.
const MAX_PROBES: usize = 32;

/// One written location and its versions.
pub(crate) struct Node {
    location: Location,
    pub(crate) versions: RwLock<Versions>,
}

/// An overflow node, owned by the table like the buckets' nodes (allocated once, freed in
/// `drop`), so the map may move the pointer when it grows without moving the node.
struct OverflowNode(*mut Node);

// SAFETY: a pointer to a node the table owns; nodes are `Send` and `Sync` (their mutable
// part is behind a lock), and the pointer is only dereferenced while the table lives.
unsafe impl Send for OverflowNode {}
// SAFETY: as above.
unsafe impl Sync for OverflowNode {}

/// The index: see the module docs.
pub(crate) struct LocationTable {
    buckets: Box<[AtomicPtr<Node>]>,
    mask: usize,
    /// Nodes of locations that found no bucket.
    overflow: RwLock<hashbrown::HashMap<Location, OverflowNode>>,
    /// Whether `overflow` holds anything: lookups skip its lock while it is empty.
    overflowed: AtomicBool,
    /// The table owns the nodes its pointers reach.
    _nodes: std::marker::PhantomData<Box<Node>>,
}

/// Gas a block's transactions may spend per location they write, at the least we size
/// for: writing a location costs thousands of gas (a cold account, a changed slot).
pub(crate) const GAS_PER_LOCATION: u64 = 4000;

impl LocationTable {
    /// A table for a block of `txs` transactions that may spend `gas` in all: a bucket
    /// for every location the gas could write at [`GAS_PER_LOCATION`], and at least 8 per
    /// transaction.
    pub(crate) fn new(txs: usize, gas: u64) -> LocationTable {
        let by_gas = usize::try_from(gas / GAS_PER_LOCATION).unwrap_or(usize::MAX);
        let size = txs.saturating_mul(8).max(by_gas).clamp(1024, 1 << 22).next_power_of_two();
        LocationTable {
            buckets: (0..size).map(|_| AtomicPtr::new(std::ptr::null_mut())).collect(),
            mask: size - 1,
            overflow: RwLock::new(hashbrown::HashMap::new()),
            overflowed: AtomicBool::new(false),
            _nodes: std::marker::PhantomData,
        }
    }

    /// The node of `location`, if a transaction has written it.
    pub(crate) fn find(&self, location: &Location, hash: u64) -> Option<&Node> {
        let mut at = hash as usize & self.mask;
        for _ in 0..MAX_PROBES {
            let node = self.buckets[at].load(Ordering::Acquire);
            if node.is_null() {
                return None;
            }
            // SAFETY: a published node lives as long as the table.
            let node = unsafe { &*node };
            if node.location == *location {
                return Some(node);
            }
            at = (at + 1) & self.mask;
        }
        self.find_overflow(location)
    }

    /// The node of `location`, created if missing.
    pub(crate) fn node(&self, location: &Location, hash: u64) -> &Node {
        let mut fresh: Option<Box<Node>> = None;
        let mut at = hash as usize & self.mask;
        for _ in 0..MAX_PROBES {
            let mut current = self.buckets[at].load(Ordering::Acquire);
            if current.is_null() {
                let node = fresh.take().unwrap_or_else(|| {
                    Box::new(Node { location: *location, versions: RwLock::new(Versions::default()) })
                });
                let raw = Box::into_raw(node);
                match self.buckets[at].compare_exchange(
                    std::ptr::null_mut(),
                    raw,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    // SAFETY: just published; lives as long as the table.
                    Ok(_) => return unsafe { &*raw },
                    Err(other) => {
                        // SAFETY: `raw` was not published; take it back for the next try.
                        fresh = Some(unsafe { Box::from_raw(raw) });
                        current = other;
                    }
                }
            }
            // SAFETY: a published node lives as long as the table.
            let node = unsafe { &*current };
            if node.location == *location {
                return node;
            }
            at = (at + 1) & self.mask;
        }
        self.overflow_node(location)
    }

    fn find_overflow(&self, location: &Location) -> Option<&Node> {
        if !self.overflowed.load(Ordering::Acquire) {
            return None;
        }
        let overflow = self.overflow.read().unwrap_or_else(|e| e.into_inner());
        // SAFETY: overflow nodes never move and are freed only with the table.
        overflow.get(location).map(|node| unsafe { &*node.0 })
    }

    fn overflow_node(&self, location: &Location) -> &Node {
        if let Some(node) = self.find_overflow(location) {
            return node;
        }
        let mut overflow = self.overflow.write().unwrap_or_else(|e| e.into_inner());
        self.overflowed.store(true, Ordering::Release);
        let node = overflow.entry(*location).or_insert_with(|| {
            OverflowNode(Box::into_raw(Box::new(Node {
                location: *location,
                versions: RwLock::new(Versions::default()),
            })))
        });
        // SAFETY: overflow nodes never move and are freed only with the table.
        unsafe { &*node.0 }
    }
}

impl Drop for LocationTable {
    fn drop(&mut self) {
        for bucket in self.buckets.iter() {
            let node = bucket.load(Ordering::Relaxed);
            if !node.is_null() {
                // SAFETY: published once by `node`, freed once here.
                drop(unsafe { Box::from_raw(node) });
            }
        }
        let overflow = self.overflow.get_mut().unwrap_or_else(|e| e.into_inner());
        for (_, node) in overflow.drain() {
            // SAFETY: allocated once by `overflow_node`, freed once here.
            drop(unsafe { Box::from_raw(node.0) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metisvm_vm::{Address, U256};

    #[test]
    fn every_location_keeps_one_node_even_past_the_buckets() {
        let table = LocationTable::new(1, 0);
        let slots = 5000usize;
        let location = |i: usize| Location::Storage(Address::ZERO, U256::from(i));
        // A bad hash (every location in one bucket) fills the probe window and then the
        // overflow map.
        for i in 0..slots {
            let node = table.node(&location(i), 7) as *const Node;
            assert_eq!(table.node(&location(i), 7) as *const Node, node);
        }
        for i in 0..slots {
            let node = table.find(&location(i), 7).expect("filed");
            assert_eq!(node.location, location(i));
        }
        assert!(table.find(&location(slots), 7).is_none());
        assert!(table.overflowed.load(Ordering::Relaxed));
    }

    #[test]
    fn racing_writers_share_nodes_inside_and_past_the_probe_window() {
        // Every location in one bucket: the first 32 fill the window, the rest overflow,
        // while four threads file and look up the same locations at once.
        let table = LocationTable::new(1, 0);
        let locations: Vec<Location> =
            (0..200u64).map(|i| Location::Storage(Address::repeat_byte(2), U256::from(i))).collect();
        let start = std::sync::Barrier::new(4);
        let seen: Vec<Vec<usize>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|t| {
                    let (table, locations, start) = (&table, &locations, &start);
                    scope.spawn(move || {
                        start.wait();
                        // Each thread walks the locations from a different place.
                        (0..locations.len())
                            .map(|i| {
                                let location = &locations[(i + t * 50) % locations.len()];
                                let node = table.node(location, 9) as *const Node as usize;
                                let found = table.find(location, 9).map(|n| n as *const Node as usize);
                                assert_eq!(found, Some(node));
                                node
                            })
                            .collect()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (t, nodes) in seen.iter().enumerate() {
            for (i, node) in nodes.iter().enumerate() {
                let location = &locations[(i + t * 50) % locations.len()];
                assert_eq!(table.find(location, 9).map(|n| n as *const Node as usize), Some(*node));
            }
        }
        let distinct: std::collections::HashSet<usize> = seen.iter().flatten().copied().collect();
        assert_eq!(distinct.len(), locations.len(), "one node per location");
    }
}
