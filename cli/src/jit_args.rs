//! The `--jit` option every executing command takes.

use metisvm_jit::{Jit, JitConfig, JitMode};
use metisvm_vm::interpreter::native::NativeBackend;
use std::sync::Arc;

/// JIT settings of a command.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct JitArgs {
    /// When contracts are compiled to native code: `off` (interpreter only), `auto` (code
    /// called often enough, in the background) or `always` (all deployed code, before it
    /// first runs). Off by default until the JIT beats the interpreter on every workload.
    #[arg(long, value_name = "MODE", default_value_t = JitMode::Off)]
    pub(crate) jit: JitMode,

    /// In `auto` mode, the number of calls of one contract that has it compiled.
    #[arg(long, value_name = "CALLS", default_value_t = JitConfig::default().threshold)]
    pub(crate) jit_threshold: u32,

    /// Memory the JIT's code cache may hold, in MiB, before it evicts the least recently
    /// used code.
    #[arg(long, value_name = "MIB", default_value_t = JitConfig::default().cache_bytes >> 20)]
    pub(crate) jit_cache: usize,
}

impl JitArgs {
    /// The JIT for the whole command (so its cache is shared across files, blocks and
    /// threads); `None` for `off`.
    pub(crate) fn jit(&self) -> Option<Jit> {
        match self.jit {
            JitMode::Off => None,
            mode => Some(Jit::new(JitConfig {
                mode,
                threshold: self.jit_threshold.max(1),
                cache_bytes: self.jit_cache.saturating_mul(1 << 20),
                ..JitConfig::default()
            })),
        }
    }
}

/// `jit` as the backend executors take.
pub(crate) fn backend(jit: &Option<Jit>) -> Option<Arc<dyn NativeBackend>> {
    jit.as_ref().map(|jit| Arc::new(jit.clone()) as Arc<dyn NativeBackend>)
}

/// The JIT's figures as JSON, for `--json` reports.
pub(crate) fn stats_json(jit: &Option<Jit>) -> serde_json::Value {
    let Some(jit) = jit else { return serde_json::Value::Null };
    let stats = jit.stats();
    serde_json::json!({
        "mode": jit.config().mode.to_string(),
        "compiled": stats.compiled,
        "not_compiled": stats.failed,
        "codegen_errors": stats.codegen_errors,
        "evicted": stats.evicted,
        "code_bytes": stats.code_bytes,
        "native_bytes": stats.native_bytes,
        "compile_seconds": stats.compile_time.as_secs_f64(),
    })
}
