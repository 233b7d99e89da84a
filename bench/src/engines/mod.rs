//! The engines a workload runs on, behind one small [`Runner`] interface.
//!
//! A runner is set up once per workload (pre-state loaded, code installed) and then asked for
//! two things: [`Runner::execute`], a full run whose every effect is recorded for the
//! differential check, and the timed pair [`Runner::prepare`] / [`Runner::run`]. Everything a
//! timed run must not pay for (cloning the pre-state, dropping the previous run's results,
//! cloning transactions) happens in `prepare`, outside the timer, on both engines alike.

pub mod interp;
pub mod revm;

use std::fmt;
use std::str::FromStr;

use crate::compare::RunResult;
use crate::workload::Workload;

/// An engine that can run workloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EngineKind {
    /// MetisVM's interpreter.
    Interp,
    /// MetisVM with every contract compiled before it first runs (`--jit always`).
    Jit,
    /// The same with an empty code cache for every run, so each timed run pays for
    /// compiling every contract it calls: what the JIT costs on code seen once.
    JitNoCache,
    /// revm's interpreter, the reference.
    Revm,
}

impl EngineKind {
    /// Every engine, in report order.
    pub const ALL: [EngineKind; 4] =
        [EngineKind::Interp, EngineKind::Jit, EngineKind::JitNoCache, EngineKind::Revm];

    /// The engine's name on the command line and in reports.
    pub const fn name(self) -> &'static str {
        match self {
            EngineKind::Interp => "interp",
            EngineKind::Jit => "jit",
            EngineKind::JitNoCache => "jit-nocache",
            EngineKind::Revm => "revm",
        }
    }
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An engine name that no engine carries.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown engine {0:?} (known: interp, jit, jit-nocache, revm)")]
pub struct UnknownEngine(pub String);

impl FromStr for EngineKind {
    type Err = UnknownEngine;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EngineKind::ALL.into_iter().find(|e| e.name() == s).ok_or_else(|| UnknownEngine(s.to_string()))
    }
}

/// An engine could not run a workload: it rejected a transaction, or its input could not be
/// expressed in the engine's types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{engine}: {message}")]
pub struct EngineError {
    /// The engine.
    pub engine: EngineKind,
    /// What went wrong.
    pub message: String,
}

impl EngineError {
    pub(crate) fn new(engine: EngineKind, message: impl Into<String>) -> EngineError {
        EngineError { engine, message: message.into() }
    }
}

/// One engine set up for one workload.
pub trait Runner {
    /// Which engine this is.
    fn kind(&self) -> EngineKind;

    /// Runs every transaction from a fresh copy of the pre-state, committing after each, and
    /// records everything it produced. Leaves the runner ready for timed runs.
    fn execute(&mut self) -> Result<RunResult, EngineError>;

    /// Untimed preparation of the next [`Runner::run`].
    fn prepare(&mut self);

    /// The timed part: every transaction from the pre-state, committing between them (not
    /// after the last). Returns the total gas used.
    fn run(&mut self) -> Result<u64, EngineError>;
}

/// Sets up `engine` for `workload`.
pub fn runner(
    engine: EngineKind,
    workload: &Workload,
    jit_options: metisvm_jit::CompileOptions,
) -> Result<Box<dyn Runner>, EngineError> {
    Ok(match engine {
        EngineKind::Interp => Box::new(interp::InterpRunner::new(workload)),
        EngineKind::Jit => Box::new(interp::InterpRunner::compiled(workload, jit_options)),
        EngineKind::JitNoCache => Box::new(interp::InterpRunner::compiled_every_run(workload, jit_options)),
        EngineKind::Revm => Box::new(revm::RevmRunner::new(workload)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_names_round_trip() {
        for engine in EngineKind::ALL {
            assert_eq!(engine.name().parse::<EngineKind>(), Ok(engine));
        }
        assert!("evmone".parse::<EngineKind>().unwrap_err().to_string().contains("unknown engine"));
    }
}
