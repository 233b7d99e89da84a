//! Seeded random state diffs shared by the MetisDB tests.

#![allow(dead_code, unreachable_pub)]

use metisvm_state::MemoryState;
use metisvm_vm::primitives::{keccak256, Address, Bytes, U256};
use metisvm_vm::{AccountChange, AccountInfo, StateDiff, StateReader, StateWriter};

/// SplitMix64: a small, seedable generator; tests need reproducible, not strong, randomness.
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// Shape of the random diffs.
#[derive(Clone, Copy)]
pub struct Shape {
    /// Accounts drawn from `0..accounts`.
    pub accounts: u64,
    /// Slots drawn from `0..slots` per account.
    pub slots: u64,
    /// At most this many accounts changed per diff.
    pub per_diff: u64,
    /// At most this many slots written per changed account.
    pub slots_per_account: u64,
}

pub fn address(n: u64) -> Address {
    Address::from_slice(&keccak256(n.to_be_bytes()).0[..20])
}

/// A random diff over `state`'s current accounts: updates with new storage, deletes, storage
/// wipes, zeroed slots and new code.
pub fn random_diff(rng: &mut SplitMix, state: &MemoryState, shape: Shape) -> StateDiff {
    let mut diff = StateDiff::default();
    let changed = 1 + rng.below(shape.per_diff);
    for _ in 0..changed {
        let addr = address(rng.below(shape.accounts));
        let current = state.account(addr).unwrap();
        if current.is_some() && rng.chance(8) {
            diff.insert(addr, AccountChange::Deleted);
            continue;
        }
        let code = if rng.chance(10) {
            let code = Bytes::from(rng.next().to_be_bytes().to_vec());
            Some(code)
        } else {
            match &current {
                Some(info) => Some(state.code_by_hash(info.code_hash).unwrap()),
                None => Some(Bytes::new()),
            }
        };
        let code = code.unwrap();
        let info = AccountInfo {
            balance: U256::from(rng.below(1 << 40)),
            nonce: rng.below(100),
            code_hash: if code.is_empty() { metisvm_vm::KECCAK_EMPTY } else { keccak256(&code) },
            code: Some(code),
        };
        let storage_cleared = rng.chance(8);
        let mut storage = hashbrown::HashMap::new();
        for _ in 0..rng.below(shape.slots_per_account + 1) {
            let slot = U256::from(rng.below(shape.slots));
            let value =
                if rng.chance(25) { U256::ZERO } else { U256::from(rng.next()) << (rng.below(200) as usize) };
            storage.insert(slot, value);
        }
        diff.insert(addr, AccountChange::Updated { info, storage_cleared, storage });
    }
    diff
}

/// The diff of version `version` in a sequence seeded by `seed`, applied to `state` (which
/// must be the state of the version before).
pub fn diff_of_version(seed: u64, version: u64, state: &MemoryState, shape: Shape) -> StateDiff {
    let mut rng = SplitMix(seed ^ version.wrapping_mul(0x2545_f491_4f6c_dd1d));
    random_diff(&mut rng, state, shape)
}

/// Applies `diff` to a copy of `state`.
pub fn applied(state: &MemoryState, diff: &StateDiff) -> MemoryState {
    let mut next = state.clone();
    next.commit(diff);
    next
}

/// A fresh directory under the system's temporary folder.
pub fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "metisdb-{name}-{}-{}",
        std::process::id(),
        SplitMix(name.len() as u64).next()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}
