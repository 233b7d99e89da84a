//! A hasher for maps keyed by address: the journal's accounts and every
//! [`StateDiff`](crate::StateDiff).
//!
//! Addresses are 20 bytes. A general-purpose hasher reads them as overlapping 8-byte words,
//! and when the key was just written to the stack as a 16-byte and a 4-byte store (which is
//! how the compiler copies an `Address`), an 8-byte load across the two cannot be forwarded
//! from the store buffer and stalls. This hasher reads bytes 0..8, 8..16 and 16..20, each
//! inside one of those stores, and mixes each of them with its own secret random seed, so
//! no choice of address bytes can cancel a term: crafting colliding addresses needs the
//! seeds. (Collisions would only cost time; the map still compares whole keys.)
//!
//! Each thread draws its seeds once, and each new map on that thread then takes the next
//! step of a sequence from them, so no two maps share a hash function. Maps that shared one
//! would be slow to copy into each other: walking one map in its bucket order and inserting
//! into a smaller one that grows piles the keys into a few runs of buckets.

use core::hash::{BuildHasher, Hasher};
use std::cell::Cell;

/// Builds [`AddressHasher`]s sharing one random seed.
#[derive(Clone, Copy, Debug)]
pub struct AddressHashBuilder {
    seeds: [u64; 3],
}

/// Three random seeds from std's `RandomState`: hashing constants with its fresh keys.
fn fresh_seeds() -> [u64; 3] {
    let random = std::collections::hash_map::RandomState::new();
    [random.hash_one(1u8), random.hash_one(2u8), random.hash_one(3u8) | 1]
}

thread_local! {
    /// Each thread draws its seeds once: every transaction's diff is a new map, and three
    /// SipHash runs per map would cost more than hashing its few keys. The first seed
    /// advances for every map (see the module docs).
    static THREAD_SEEDS: Cell<[u64; 3]> = Cell::new(fresh_seeds());
}

/// The step of the first seed from one map to the next: odd, so the sequence only repeats
/// after 2^64 maps.
const SEED_STEP: u64 = 0x9e37_79b9_7f4a_7c15;

impl Default for AddressHashBuilder {
    #[inline]
    fn default() -> Self {
        let seeds = THREAD_SEEDS
            .try_with(|cell| {
                let mut seeds = cell.get();
                seeds[0] = seeds[0].wrapping_add(SEED_STEP);
                cell.set(seeds);
                seeds
            })
            .unwrap_or_else(|_| fresh_seeds());
        AddressHashBuilder { seeds }
    }
}

impl BuildHasher for AddressHashBuilder {
    type Hasher = AddressHasher;

    #[inline]
    fn build_hasher(&self) -> AddressHasher {
        AddressHasher { seeds: self.seeds, state: 0 }
    }
}

/// Folded 64x64->128 multiply: the mixing step.
#[inline(always)]
fn fold_mul(a: u64, b: u64) -> u64 {
    let full = (a as u128).wrapping_mul(b as u128);
    (full as u64) ^ ((full >> 64) as u64)
}

/// See the module docs.
#[derive(Clone, Copy, Debug)]
pub struct AddressHasher {
    seeds: [u64; 3],
    state: u64,
}

impl Hasher for AddressHasher {
    #[inline(always)]
    fn write(&mut self, bytes: &[u8]) {
        if bytes.len() == 20 {
            let a = u64::from_le_bytes(bytes[0..8].try_into().unwrap_or_default());
            let b = u64::from_le_bytes(bytes[8..16].try_into().unwrap_or_default());
            let c = u32::from_le_bytes(bytes[16..20].try_into().unwrap_or_default()) as u64;
            let [s0, s1, s2] = self.seeds;
            self.state = fold_mul(fold_mul(a ^ s0, b ^ s1) ^ c ^ self.state, s2);
        } else {
            for chunk in bytes.chunks(8) {
                let mut word = [0u8; 8];
                word[..chunk.len()].copy_from_slice(chunk);
                self.state = fold_mul(self.state ^ u64::from_le_bytes(word) ^ self.seeds[0], self.seeds[2]);
            }
        }
    }

    #[inline(always)]
    fn write_usize(&mut self, _: usize) {
        // Length prefixes of fixed-size keys carry no information.
    }

    #[inline(always)]
    fn finish(&self) -> u64 {
        self.state
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::primitives::Address;
    use std::collections::HashSet;

    #[test]
    fn each_map_on_a_thread_hashes_differently() {
        let address = Address::repeat_byte(7);
        let hashes: HashSet<u64> = (0..64).map(|_| AddressHashBuilder::default().hash_one(address)).collect();
        assert_eq!(hashes.len(), 64, "64 builders, 64 hash functions");
    }

    #[test]
    fn distinct_addresses_spread() {
        let build = AddressHashBuilder::default();
        let hashes: HashSet<u64> = (0..10_000u32)
            .map(|i| {
                let mut bytes = [0u8; 20];
                bytes[16..].copy_from_slice(&i.to_be_bytes());
                build.hash_one(Address::from(bytes))
            })
            .collect();
        assert_eq!(hashes.len(), 10_000);
        // The top 7 bits (hashbrown's control byte) must vary too.
        let tops: HashSet<u64> = hashes.iter().map(|h| h >> 57).collect();
        assert!(tops.len() > 100);
    }

    #[test]
    fn fixed_middle_bytes_do_not_collapse_the_hash() {
        // With any input word fixed (here bytes 8..16), varying another must still spread.
        let build = AddressHashBuilder::default();
        let hashes: HashSet<u64> = (0..10_000u64)
            .map(|i| {
                let mut bytes = [0u8; 20];
                bytes[..8].copy_from_slice(&i.to_le_bytes());
                bytes[8..16].copy_from_slice(&0x1319_8a2e_0370_7344u64.to_le_bytes());
                build.hash_one(Address::from(bytes))
            })
            .collect();
        assert_eq!(hashes.len(), 10_000);
    }
}
