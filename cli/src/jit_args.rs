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
}

impl JitArgs {
    /// The backend to give executors; `None` for `off`. One backend serves the whole
    /// command, so its cache is shared across files, blocks and threads.
    pub(crate) fn backend(&self) -> Option<Arc<dyn NativeBackend>> {
        match self.jit {
            JitMode::Off => None,
            mode => Some(Arc::new(Jit::new(JitConfig { mode, ..JitConfig::default() }))),
        }
    }
}
