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
//! The array is sized from the block's transaction count. A location that finds no free
//! bucket within [`MAX_PROBES`] goes to a locked overflow map instead, so a block that
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

/// The index: see the module docs.
pub(crate) struct LocationTable {
    buckets: Box<[AtomicPtr<Node>]>,
    mask: usize,
    /// Nodes of locations that found no bucket (boxed, so they never move).
    overflow: RwLock<hashbrown::HashMap<Location, Box<Node>>>,
    /// Whether `overflow` holds anything: lookups skip its lock while it is empty.
    overflowed: AtomicBool,
}

// SAFETY: the table owns its nodes (published once, freed only in `drop`); everything
// mutable inside a node is behind its `RwLock`.
unsafe impl Send for LocationTable {}
// SAFETY: as above; buckets are atomics and the overflow map is behind a lock.
unsafe impl Sync for LocationTable {}

impl LocationTable {
    /// A table for a block of `txs` transactions (a few written locations each).
    pub(crate) fn new(txs: usize) -> LocationTable {
        let size = (txs.saturating_mul(8)).max(1024).next_power_of_two();
        LocationTable {
            buckets: (0..size).map(|_| AtomicPtr::new(std::ptr::null_mut())).collect(),
            mask: size - 1,
            overflow: RwLock::new(hashbrown::HashMap::new()),
            overflowed: AtomicBool::new(false),
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
        // SAFETY: boxed nodes never move and are freed only with the table.
        overflow.get(location).map(|node| unsafe { &*(node.as_ref() as *const Node) })
    }

    fn overflow_node(&self, location: &Location) -> &Node {
        if let Some(node) = self.find_overflow(location) {
            return node;
        }
        let mut overflow = self.overflow.write().unwrap_or_else(|e| e.into_inner());
        self.overflowed.store(true, Ordering::Release);
        let node = overflow.entry(*location).or_insert_with(|| {
            Box::new(Node { location: *location, versions: RwLock::new(Versions::default()) })
        });
        // SAFETY: boxed nodes never move and are freed only with the table.
        unsafe { &*(node.as_ref() as *const Node) }
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metisvm_vm::{Address, U256};

    #[test]
    fn every_location_keeps_one_node_even_past_the_buckets() {
        let table = LocationTable::new(1);
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
    fn racing_writers_of_one_location_share_its_node() {
        let table = LocationTable::new(16);
        let location = Location::Account(Address::repeat_byte(1));
        let nodes: Vec<usize> = std::thread::scope(|scope| {
            let handles: Vec<_> =
                (0..4).map(|_| scope.spawn(|| table.node(&location, 3) as *const Node as usize)).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(nodes.windows(2).all(|w| w[0] == w[1]), "{nodes:?}");
    }
}
