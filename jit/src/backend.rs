//! Tiering: which code gets compiled, when, and where compiled code is kept.
//!
//! [`Jit`] is the [`NativeBackend`] an executor is given. Every frame that runs deployed
//! code asks it for compiled code by code hash and fork:
//!
//! - [`JitMode::Off`]: never (the executor is better off without a backend at all).
//! - [`JitMode::Always`]: compiled before the first execution, on the calling thread.
//! - [`JitMode::Auto`]: calls are counted per code; the call that reaches
//!   [`JitConfig::threshold`] queues the code for a background thread, and the interpreter
//!   keeps running it until the compiled code is ready.
//!
//! The cache is shared by every executor holding the same `Jit` (clones share it) and is
//! safe to use from many threads. It is bounded by the native code size it holds: past
//! [`JitConfig::cache_bytes`], the least recently used code is evicted (frames still
//! running it keep it alive). Code that fails to compile (over the size limit, or a code
//! generator error) is remembered and stays interpreted.

use crate::compiler::{compile_with, CompileOptions, Compiled};
use dashmap::DashMap;
use metisvm_vm::interpreter::analysis::AnalyzedCode;
use metisvm_vm::interpreter::native::{NativeBackend, NativeCode};
use metisvm_vm::{Fork, B256};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// When code is compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JitMode {
    /// Never: everything is interpreted.
    Off,
    /// Hot code, in the background, after [`JitConfig::threshold`] calls.
    #[default]
    Auto,
    /// All deployed code, before its first execution.
    Always,
}

impl FromStr for JitMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "off" => Ok(JitMode::Off),
            "auto" => Ok(JitMode::Auto),
            "always" => Ok(JitMode::Always),
            _ => Err(format!("unknown JIT mode `{s}` (expected off, auto or always)")),
        }
    }
}

impl std::fmt::Display for JitMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            JitMode::Off => "off",
            JitMode::Auto => "auto",
            JitMode::Always => "always",
        })
    }
}

/// Tiering settings.
#[derive(Debug, Clone, Copy)]
pub struct JitConfig {
    /// When to compile.
    pub mode: JitMode,
    /// In `Auto` mode, the number of calls of one code that queues it for compilation.
    pub threshold: u32,
    /// Memory the cache may hold before it evicts: native code bytes plus a fixed amount
    /// per compiled contract.
    pub cache_bytes: usize,
    /// The compiler's optimisations.
    pub options: CompileOptions,
}

impl Default for JitConfig {
    fn default() -> Self {
        // Mainnet contracts compile to about 270 KiB of native code each (measured over
        // the 42-block replay: 2,486 contracts): 256 MiB keeps about a thousand hot ones.
        // The threshold weighs compile time (about 20 ms per KiB of mainnet bytecode) against
        // what compiled code saves per call (a few microseconds on storage-bound contracts);
        // over the 42-block mainnet replay, 16 calls made the replay 38% slower than the
        // interpreter and 1024 calls kept it within noise (docs/jit.md has the table).
        JitConfig {
            mode: JitMode::Auto,
            threshold: 1024,
            cache_bytes: 256 << 20,
            options: CompileOptions::default(),
        }
    }
}

/// Counters of what the JIT did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JitStats {
    /// Codes compiled.
    pub compiled: u64,
    /// Codes that could not be compiled.
    pub failed: u64,
    /// Of those, the ones the code generator failed on (the rest were over the compile
    /// budget); any is a bug worth reporting.
    pub codegen_errors: u64,
    /// Compiled codes evicted from the cache.
    pub evicted: u64,
    /// Bytecode bytes compiled.
    pub code_bytes: u64,
    /// Native code bytes produced.
    pub native_bytes: u64,
    /// Time spent compiling.
    pub compile_time: Duration,
}

impl std::fmt::Display for JitStats {
    /// One line: contracts compiled, bytecode and native sizes, and compile time per
    /// contract and per KiB of bytecode.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kib = |bytes: u64| bytes as f64 / 1024.0;
        let ms = self.compile_time.as_secs_f64() * 1e3;
        let per = |n: f64| if n > 0.0 { ms / n } else { 0.0 };
        write!(
            f,
            "JIT: {} contracts compiled ({:.1} KiB bytecode, {:.1} KiB native), {} not compiled ({} code \
             generator errors), {} evicted; \
             compile time {:.0} ms ({:.2} ms per contract, {:.2} ms per KiB)",
            self.compiled,
            kib(self.code_bytes),
            kib(self.native_bytes),
            self.failed,
            self.codegen_errors,
            self.evicted,
            ms,
            per(self.compiled as f64),
            per(kib(self.code_bytes)),
        )
    }
}

enum Entry {
    /// Calls counted so far (`Auto`).
    Counting(u32),
    /// Waiting for or being compiled by the background thread.
    Queued,
    Ready {
        code: Arc<NativeCode>,
        size: usize,
        last_used: u64,
    },
    Failed,
}

type Key = (B256, Fork);

/// Memory one compiled contract holds beyond its code bytes (see [`Shared::install`]).
const MODULE_OVERHEAD: usize = 16 << 10;

/// A compile job for the background thread.
type Job = (Key, Arc<AnalyzedCode>);

struct Shared {
    config: JitConfig,
    cache: DashMap<Key, Entry>,
    /// Native bytes held by ready entries.
    held: AtomicUsize,
    /// Lookup clock, for least-recently-used eviction.
    clock: AtomicU64,
    /// Jobs queued and not yet finished.
    pending: AtomicUsize,
    stats: Mutex<JitStats>,
}

/// The JIT backend: see the module docs. Clones share one cache and one compile thread.
#[derive(Clone)]
pub struct Jit {
    shared: Arc<Shared>,
    queue: Arc<Mutex<Option<Sender<Job>>>>,
}

impl std::fmt::Debug for Jit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jit").field("config", &self.shared.config).finish_non_exhaustive()
    }
}

impl Jit {
    /// A JIT with `config` and an empty cache.
    pub fn new(config: JitConfig) -> Jit {
        Jit {
            shared: Arc::new(Shared {
                config,
                cache: DashMap::new(),
                held: AtomicUsize::new(0),
                clock: AtomicU64::new(0),
                pending: AtomicUsize::new(0),
                stats: Mutex::new(JitStats::default()),
            }),
            queue: Arc::new(Mutex::new(None)),
        }
    }

    /// The settings.
    pub fn config(&self) -> JitConfig {
        self.shared.config
    }

    /// What the JIT did so far.
    pub fn stats(&self) -> JitStats {
        *self.shared.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until every queued compilation has finished (for tests and benchmarks).
    pub fn wait_idle(&self) {
        while self.shared.pending.load(Ordering::Acquire) > 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn enqueue(&self, key: Key, code: &Arc<AnalyzedCode>) {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let sender = queue.get_or_insert_with(|| spawn_worker(Arc::downgrade(&self.shared)));
        self.shared.pending.fetch_add(1, Ordering::AcqRel);
        if sender.send((key, code.clone())).is_err() {
            // The worker is gone (it panicked): compile here instead.
            *queue = None;
            drop(queue);
            self.shared.install(key, compile_with(code, self.shared.config.options));
            self.shared.pending.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

fn spawn_worker(shared: Weak<Shared>) -> Sender<Job> {
    let (sender, receiver) = channel::<Job>();
    std::thread::Builder::new()
        .name("metisvm-jit".into())
        .spawn(move || {
            for (key, code) in receiver {
                let Some(shared) = shared.upgrade() else { return };
                shared.install(key, compile_with(&code, shared.config.options));
                shared.pending.fetch_sub(1, Ordering::AcqRel);
            }
        })
        .expect("spawning the JIT compile thread");
    sender
}

impl Shared {
    /// Records a compilation's outcome and returns the code, evicting past the budget.
    fn install(&self, key: Key, compiled: Result<Compiled, crate::CompileError>) -> Option<Arc<NativeCode>> {
        let mut stats = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        let compiled = match compiled {
            Ok(compiled) => compiled,
            Err(error) => {
                stats.failed += 1;
                if matches!(error, crate::CompileError::Codegen(_)) {
                    stats.codegen_errors += 1;
                }
                drop(stats);
                self.cache.insert(key, Entry::Failed);
                return None;
            }
        };
        stats.compiled += 1;
        stats.code_bytes += compiled.stats.code_len as u64;
        stats.native_bytes += compiled.stats.native_len as u64;
        stats.compile_time += compiled.stats.time;
        drop(stats);
        // What the cache holds for this code: its bytes plus the code generator's module
        // around them (pages, symbol tables); the fixed part is measured: resident memory
        // grew by about 16 KiB per compiled contract over a fuzzing run of tiny contracts.
        let size = compiled.stats.native_len + MODULE_OVERHEAD;
        // SAFETY: `compile` produces code that keeps the protocol of
        // `metisvm_vm::interpreter::native` for the code it was given (see `compiler`),
        // and the owner keeps its memory alive.
        let code = Arc::new(unsafe { NativeCode::new(compiled.entry, Box::new(compiled.owner)) });
        let last_used = self.clock.fetch_add(1, Ordering::Relaxed);
        self.cache.insert(key, Entry::Ready { code: code.clone(), size, last_used });
        let held = self.held.fetch_add(size, Ordering::AcqRel) + size;
        if held > self.config.cache_bytes {
            self.evict(key);
        }
        Some(code)
    }

    /// Evicts least recently used code (never `keep`) until the cache fits its budget.
    fn evict(&self, keep: Key) {
        let mut ready: Vec<(u64, Key)> = self
            .cache
            .iter()
            .filter_map(|e| match e.value() {
                Entry::Ready { last_used, .. } if *e.key() != keep => Some((*last_used, *e.key())),
                _ => None,
            })
            .collect();
        ready.sort_unstable();
        for (_, key) in ready {
            if self.held.load(Ordering::Acquire) <= self.config.cache_bytes {
                break;
            }
            if let Some((_, Entry::Ready { size, .. })) = self.cache.remove(&key) {
                self.held.fetch_sub(size, Ordering::AcqRel);
                self.stats.lock().unwrap_or_else(|e| e.into_inner()).evicted += 1;
            }
        }
    }
}

impl NativeBackend for Jit {
    fn lookup(&self, hash: &B256, code: &Arc<AnalyzedCode>) -> Option<Arc<NativeCode>> {
        let shared = &self.shared;
        let key = (*hash, code.fork());
        match shared.config.mode {
            JitMode::Off => None,
            JitMode::Always => {
                if let Some(mut entry) = shared.cache.get_mut(&key) {
                    if let Entry::Ready { code, last_used, .. } = entry.value_mut() {
                        *last_used = shared.clock.fetch_add(1, Ordering::Relaxed);
                        return Some(code.clone());
                    }
                    if matches!(entry.value(), Entry::Failed) {
                        return None;
                    }
                }
                shared.install(key, compile_with(code, shared.config.options))
            }
            JitMode::Auto => {
                let mut entry = shared.cache.entry(key).or_insert(Entry::Counting(0));
                match entry.value_mut() {
                    Entry::Ready { code, last_used, .. } => {
                        *last_used = shared.clock.fetch_add(1, Ordering::Relaxed);
                        Some(code.clone())
                    }
                    Entry::Counting(calls) => {
                        *calls += 1;
                        if *calls >= shared.config.threshold {
                            *entry.value_mut() = Entry::Queued;
                            drop(entry);
                            self.enqueue(key, code);
                        }
                        None
                    }
                    Entry::Queued | Entry::Failed => None,
                }
            }
        }
    }
}
