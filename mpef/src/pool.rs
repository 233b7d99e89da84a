//! [`WorkerPool`]: worker threads that outlive one block.
//!
//! Without a pool, every parallel block starts its workers and ends them. Besides the start
//! itself (tens of microseconds, a real share of a small block), a fresh thread starts with
//! a fresh allocator heap: the analyses, code copies and buffers it builds come from pages
//! the kernel must first zero, where a thread that ran the previous block reuses its own.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, TryLockError};

/// Threads kept for running blocks, owned by whoever executes blocks (a node's block
/// pipeline, a benchmark). Hand it to [`Config::with_pool`](crate::Config::with_pool).
pub struct WorkerPool {
    pool: rayon_core::ThreadPool,
    threads: usize,
    /// Blocks run on it, for tests and reports.
    runs: AtomicUsize,
    /// Held while a block runs. Workers wait for each other, so two blocks must never share
    /// the threads: each could hold one thread while waiting for the other's.
    busy: Mutex<()>,
    /// Values handed to [`WorkerPool::drop_later`] and not yet freed.
    pending_drops: Arc<AtomicUsize>,
}

impl std::fmt::Debug for WorkerPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerPool").field("threads", &self.threads).finish_non_exhaustive()
    }
}

/// The pool's threads could not be started.
#[derive(Debug, thiserror::Error)]
#[error("cannot start {threads} worker threads: {reason}")]
pub struct PoolError {
    /// Threads asked for.
    pub threads: usize,
    /// What the system said.
    pub reason: String,
}

impl WorkerPool {
    /// Starts `threads` worker threads (at least one), placed by the kernel.
    pub fn new(threads: usize) -> Result<WorkerPool, PoolError> {
        WorkerPool::start(threads, false)
    }

    /// Starts `threads` worker threads (at least one), each kept on its own CPU: thread `i`
    /// on the `i`-th CPU this process may run on, wrapping around. For a machine whose
    /// cores are given to block execution. Left to itself, the kernel sometimes wakes two
    /// workers on one core and leaves them there for milliseconds: on this project's 2-core
    /// machine, about half the rounds of a 10,000-transfer block then took 12-15 ms
    /// instead of 6 ms. Pinning is best effort: where the system refuses it (or off Linux)
    /// the threads run where the kernel puts them.
    pub fn pinned(threads: usize) -> Result<WorkerPool, PoolError> {
        WorkerPool::start(threads, true)
    }

    fn start(threads: usize, pin: bool) -> Result<WorkerPool, PoolError> {
        let threads = threads.max(1);
        let pool = rayon_core::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("mpef-worker-{i}"))
            .start_handler(move |i| {
                if pin {
                    pin_to_cpu(i);
                }
            })
            .build()
            .map_err(|e| PoolError { threads, reason: e.to_string() })?;
        Ok(WorkerPool {
            pool,
            threads,
            runs: AtomicUsize::new(0),
            busy: Mutex::new(()),
            pending_drops: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// Number of threads.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Number of blocks run on the pool so far.
    pub fn runs(&self) -> usize {
        self.runs.load(Ordering::Relaxed)
    }

    /// Drops `value` on one of the pool's threads once it is idle, so that the caller does
    /// not wait for the frees (the block's multi-version memory holds many allocations).
    /// Cheaper than starting a thread for it: a queued job and a wake-up.
    pub(crate) fn drop_later<T: Send + 'static>(&self, value: T) {
        self.pending_drops.fetch_add(1, Ordering::SeqCst);
        let pending = self.pending_drops.clone();
        self.pool.spawn(move || {
            drop(value);
            pending.fetch_sub(1, Ordering::SeqCst);
        });
    }

    /// Waits until everything handed to the pool to free in the background is freed. A
    /// benchmark calls this between timed runs, so that no run is slowed by the clean-up
    /// of the one before it (on a machine with as many workers as cores, that clean-up
    /// competes with whatever runs next).
    pub fn wait_for_background_work(&self) {
        while self.pending_drops.load(Ordering::SeqCst) > 0 {
            std::thread::yield_now();
        }
    }

    /// Runs `work(i)` for every `i` in `0..workers` at once, one per thread, and returns
    /// the results in order; `None` when the pool has fewer threads than that or is busy
    /// with another block (the caller then starts threads of its own).
    pub(crate) fn run_each<R: Send>(
        &self,
        workers: usize,
        work: impl Fn(usize) -> R + Sync,
    ) -> Option<Vec<R>> {
        if workers > self.threads {
            return None;
        }
        let _busy = match self.busy.try_lock() {
            Ok(guard) => guard,
            // A block that panicked on the pool left it usable: its workers all returned.
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return None,
        };
        self.runs.fetch_add(1, Ordering::Relaxed);
        let results = self.pool.broadcast(|ctx| (ctx.index() < workers).then(|| work(ctx.index())));
        Some(results.into_iter().take(workers).flatten().collect())
    }
}

/// Keeps the calling thread on the `index`-th CPU (wrapping around) of those it may run on.
#[cfg(target_os = "linux")]
fn pin_to_cpu(index: usize) {
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: both sets are plain bit arrays on this stack frame, of the size passed, and
    // the calls concern this thread only (pid 0).
    unsafe {
        let mut allowed: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, size, &mut allowed) != 0 {
            return;
        }
        let cpus: Vec<usize> =
            (0..libc::CPU_SETSIZE as usize).filter(|&c| libc::CPU_ISSET(c, &allowed)).collect();
        let Some(&cpu) = cpus.get(index % cpus.len().max(1)) else { return };
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, size, &set);
    }
}

#[cfg(not(target_os = "linux"))]
fn pin_to_cpu(_index: usize) {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    /// Sets its flag when dropped, after a pause long enough to lose a race.
    struct SlowDrop(Arc<AtomicBool>);

    impl Drop for SlowDrop {
        fn drop(&mut self) {
            std::thread::sleep(std::time::Duration::from_millis(50));
            self.0.store(true, Ordering::SeqCst);
        }
    }

    /// The CPUs the calling thread may run on.
    #[cfg(target_os = "linux")]
    fn allowed_cpus() -> Vec<usize> {
        // SAFETY: as in `pin_to_cpu`.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            assert_eq!(libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set), 0);
            (0..libc::CPU_SETSIZE as usize).filter(|&c| libc::CPU_ISSET(c, &set)).collect()
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_pinned_pool_keeps_each_thread_on_its_own_cpu() {
        let available = allowed_cpus();
        let pool = WorkerPool::pinned(2).unwrap();
        let masks = pool.run_each(2, |_| allowed_cpus()).expect("the pool is free");
        assert!(masks.iter().all(|m| m.len() == 1), "one CPU each: {masks:?}");
        assert!(masks.iter().all(|m| available.contains(&m[0])), "{masks:?} within {available:?}");
        if available.len() >= 2 {
            assert_ne!(masks[0], masks[1], "two CPUs for two threads");
        }
        let free = WorkerPool::new(2).unwrap();
        let masks = free.run_each(2, |_| allowed_cpus()).expect("the pool is free");
        assert!(masks.iter().all(|m| *m == available), "an unpinned pool is left alone: {masks:?}");
    }

    #[test]
    fn waiting_for_background_work_waits_for_every_drop() {
        let pool = WorkerPool::new(2).unwrap();
        let flags: Vec<Arc<AtomicBool>> = (0..3).map(|_| Arc::new(AtomicBool::new(false))).collect();
        for flag in &flags {
            pool.drop_later(SlowDrop(flag.clone()));
        }
        pool.wait_for_background_work();
        assert!(flags.iter().all(|f| f.load(Ordering::SeqCst)), "a drop was still pending");
        assert_eq!(pool.pending_drops.load(Ordering::SeqCst), 0);
    }
}
