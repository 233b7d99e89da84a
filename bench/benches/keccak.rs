//! Keccak-256 from the `sha3` crate (portable Rust) against `keccak-asm` (the XKCP assembly
//! that alloy's `asm-keccak` feature, and so revm, hash with), at the input sizes the EVM
//! hashes most: a word, a mapping key (two words), one rate block (136 bytes), and longer
//! `KECCAK256` inputs.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;

fn keccak(c: &mut Criterion) {
    let mut group = c.benchmark_group("keccak256");
    for len in [32usize, 64, 136, 1024, 10_000] {
        let input: Vec<u8> = (0..len).map(|i| (i * 31 + 7) as u8).collect();
        assert_eq!(
            <sha3::Keccak256 as sha3::Digest>::digest(&input)[..],
            <keccak_asm::Keccak256 as keccak_asm::Digest>::digest(&input)[..],
            "both crates compute the same hash"
        );
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_with_input(BenchmarkId::new("sha3", len), &input, |b, input| {
            b.iter(|| <sha3::Keccak256 as sha3::Digest>::digest(black_box(input)))
        });
        group.bench_with_input(BenchmarkId::new("keccak-asm", len), &input, |b, input| {
            b.iter(|| <keccak_asm::Keccak256 as keccak_asm::Digest>::digest(black_box(input)))
        });
    }
    group.finish();
}

criterion_group!(benches, keccak);
criterion_main!(benches);
