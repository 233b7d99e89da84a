//! The tiering backend: when code is compiled in each mode, what the cache keeps, and that
//! many threads share it safely.

use metisvm_jit::{Jit, JitConfig, JitMode};
use metisvm_vm::interpreter::analysis::AnalyzedCode;
use metisvm_vm::interpreter::native::NativeBackend;
use metisvm_vm::{keccak256, Bytes, Fork};
use std::sync::Arc;

/// A small distinct program per `n`: PUSH2 n, PUSH1 1, ADD, POP, STOP.
fn program(n: u16) -> (metisvm_vm::B256, Arc<AnalyzedCode>) {
    let [hi, lo] = n.to_be_bytes();
    let bytes = Bytes::from(vec![0x61, hi, lo, 0x60, 0x01, 0x01, 0x50, 0x00]);
    (keccak256(&bytes), Arc::new(AnalyzedCode::new(bytes, Fork::Cancun)))
}

fn jit(mode: JitMode, threshold: u32, cache_bytes: usize) -> Jit {
    Jit::new(JitConfig { mode, threshold, cache_bytes, ..JitConfig::default() })
}

#[test]
fn off_never_compiles() {
    let jit = jit(JitMode::Off, 1, 64 << 20);
    let (hash, code) = program(1);
    for _ in 0..3 {
        assert!(jit.lookup(&hash, &code).is_none());
    }
    assert_eq!(jit.stats().compiled, 0);
}

#[test]
fn always_compiles_before_the_first_run_and_once() {
    let jit = jit(JitMode::Always, 16, 64 << 20);
    let (hash, code) = program(2);
    let first = jit.lookup(&hash, &code).expect("compiled on the first lookup");
    let second = jit.lookup(&hash, &code).expect("cached");
    assert!(Arc::ptr_eq(&first, &second));
    let stats = jit.stats();
    assert_eq!((stats.compiled, stats.failed), (1, 0));
    assert_eq!(stats.code_bytes, 8);
    assert!(stats.native_bytes > 0);
    // The same code under another fork is analysed differently, so compiled again.
    let other = Arc::new(AnalyzedCode::new(code.original().clone(), Fork::Osaka));
    jit.lookup(&hash, &other).expect("compiled for Osaka");
    assert_eq!(jit.stats().compiled, 2);
}

#[test]
fn auto_compiles_in_the_background_at_the_threshold() {
    let jit = jit(JitMode::Auto, 4, 64 << 20);
    let (hash, code) = program(3);
    for _ in 0..3 {
        assert!(jit.lookup(&hash, &code).is_none(), "below the threshold: interpreted");
    }
    jit.wait_idle();
    assert_eq!(jit.stats().compiled, 0, "nothing queued below the threshold");
    // The fourth call queues it; that call and any before the compile ends interpret.
    assert!(jit.lookup(&hash, &code).is_none());
    jit.wait_idle();
    assert_eq!(jit.stats().compiled, 1);
    assert!(jit.lookup(&hash, &code).is_some(), "later calls run compiled code");
}

#[test]
fn code_that_cannot_be_compiled_is_remembered() {
    let jit = jit(JitMode::Always, 16, 64 << 20);
    // Over the size limit (only reachable for code no deployment could produce).
    let bytes = Bytes::from(vec![0x5b; metisvm_jit::compiler::MAX_CODE_LEN + 1]);
    let hash = keccak256(&bytes);
    let code = Arc::new(AnalyzedCode::new(bytes, Fork::Cancun));
    assert!(jit.lookup(&hash, &code).is_none());
    assert!(jit.lookup(&hash, &code).is_none());
    let stats = jit.stats();
    assert_eq!((stats.compiled, stats.failed), (0, 1), "tried once, then interpreted");
}

#[test]
fn the_cache_evicts_least_recently_used_code_past_its_budget() {
    // Room for about two small contracts (each holds its code plus a fixed overhead).
    let jit = jit(JitMode::Always, 16, 40 << 10);
    let programs: Vec<_> = (10..16).map(program).collect();
    let mut held = Vec::new();
    for (hash, code) in &programs {
        held.push(jit.lookup(hash, code).expect("compiled"));
    }
    let stats = jit.stats();
    assert_eq!(stats.compiled, 6);
    assert!(stats.evicted >= 3, "evicted {} of 6", stats.evicted);
    // The newest is still cached; the oldest was evicted and compiles again.
    let (hash, code) = &programs[5];
    assert!(Arc::ptr_eq(&jit.lookup(hash, code).expect("cached"), &held[5]));
    let (hash, code) = &programs[0];
    jit.lookup(hash, code).expect("compiled again");
    assert_eq!(jit.stats().compiled, 7);
    // Evicted code that a frame still holds stays callable: `held` keeps it alive.
    assert_eq!(held.len(), 6);
}

#[test]
fn threads_share_one_cache_and_compile_each_code_once() {
    let jit = jit(JitMode::Auto, 8, 64 << 20);
    let programs: Arc<Vec<_>> = Arc::new((20..24).map(program).collect());
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (jit, programs) = (jit.clone(), programs.clone());
            std::thread::spawn(move || {
                for _ in 0..50 {
                    for (hash, code) in programs.iter() {
                        jit.lookup(hash, code);
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("worker");
    }
    jit.wait_idle();
    assert_eq!(jit.stats().compiled, 4);
    for (hash, code) in programs.iter() {
        assert!(jit.lookup(hash, code).is_some());
    }
}
