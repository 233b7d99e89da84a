//! Criterion benches of MetisDB on a 100,000-account state: a commit of 1,000 account updates
//! (with about as many slot updates) and its root, and snapshot reads of an account and a slot.
//! `metisvm bench state` measures the same on a million accounts, with baselines.

use criterion::{criterion_group, criterion_main, Criterion};
use metisvm_bench::state_db::{creation, update_batch};
use metisvm_state::{MetisDb, Options};
use metisvm_vm::primitives::{keccak256, Address, U256};
use std::hint::black_box;

const ACCOUNTS: u64 = 100_000;

fn address(n: u64) -> Address {
    Address::from_slice(&keccak256(n.to_be_bytes()).0[..20])
}

fn state_db(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("metisdb-criterion-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let db = MetisDb::open(&dir, Options { retain: 16, sync: false }).expect("open");
    db.commit(&creation(0, ACCOUNTS), &[]).expect("build");
    let mut seed = 0;
    c.bench_function("metisdb/commit_1000_accounts_with_root", |b| {
        b.iter_batched(
            || {
                seed += 1;
                update_batch(seed, ACCOUNTS, 1000)
            },
            |diff| db.commit(&diff, &[]).expect("commit"),
            criterion::BatchSize::SmallInput,
        )
    });
    let snapshot = db.snapshot().expect("snapshot");
    let (hot, slot_account) = (address(7), address(10));
    c.bench_function("metisdb/snapshot_account_read", |b| {
        b.iter(|| snapshot.account(black_box(&hot)).unwrap())
    });
    c.bench_function("metisdb/snapshot_slot_read", |b| {
        b.iter(|| snapshot.storage(black_box(&slot_account), black_box(U256::from(3))).unwrap())
    });
    drop(snapshot);
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, state_db);
criterion_main!(benches);
