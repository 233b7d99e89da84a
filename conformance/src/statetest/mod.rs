//! The state-test runner: every (fork, data, gas, value) case of every file, compared on
//! post-state root and logs hash, with `expectException` cases required to be rejected.
//!
//! Files run in parallel (rayon) and each case runs on its own copy of the pre-state.

pub mod parse;

use crate::skip::SkipList;
use metisvm_state::MemoryState;
use metisvm_vm::rlp;
use metisvm_vm::{keccak256, Evm, Fork, JsonTracer, Log, StateWriter, TxError, B256};
use parse::{parse_test, Case, StateTest};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// keccak-256 of the RLP list of logs, as state tests record it.
pub fn logs_hash(logs: &[Log]) -> B256 {
    let mut payload = Vec::new();
    for log in logs {
        rlp::encode_list(&mut payload, |p| {
            rlp::encode_address(p, &log.address);
            rlp::encode_list(p, |t| {
                for topic in &log.topics {
                    rlp::encode_b256(t, topic);
                }
            });
            rlp::encode_bytes(p, &log.data);
        });
    }
    let mut out = Vec::with_capacity(payload.len() + 9);
    rlp::encode_list_header(&mut out, payload.len());
    out.extend_from_slice(&payload);
    keccak256(&out)
}

/// What happened to one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Matched the expected root and logs (or was rejected as expected).
    Passed,
    /// Did not match; the message says how.
    Failed(String),
    /// Not run; the reason comes from the skip list.
    Skipped(String),
}

/// The result of one case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// The test's name.
    pub test: String,
    /// Fork name (as in the fixture).
    pub fork: String,
    /// (data, gas, value) indexes.
    pub indexes: (usize, usize, usize),
    /// The outcome.
    pub outcome: Outcome,
}

/// The results of one file.
#[derive(Debug, Clone)]
pub struct FileReport {
    /// The file.
    pub path: PathBuf,
    /// One entry per case.
    pub cases: Vec<CaseResult>,
}

/// Which cases to run and how.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Only this fork.
    pub fork: Option<Fork>,
    /// Only tests whose file path or name contains this text.
    pub filter: Option<String>,
    /// Write EIP-3155 traces of every case to standard error.
    pub trace: bool,
    /// Compiled code for the executor (see `metisvm_vm::interpreter::native`).
    pub native: Option<std::sync::Arc<dyn metisvm_vm::interpreter::native::NativeBackend>>,
    /// Run each case as a one-transaction block through MPEF in this mode (the parallel
    /// executor's path), instead of calling the interpreter directly.
    pub mpef: Option<metisvm_mpef::Mode>,
    /// How MPEF runs parallel blocks.
    pub mpef_strategy: metisvm_mpef::Strategy,
}

fn file_failure(path: &Path, message: String) -> FileReport {
    FileReport {
        path: path.to_path_buf(),
        cases: vec![CaseResult {
            test: String::new(),
            fork: String::new(),
            indexes: (0, 0, 0),
            outcome: Outcome::Failed(message),
        }],
    }
}

/// Runs every case of one file.
pub fn run_file(path: &Path, options: &RunOptions, skips: &SkipList) -> FileReport {
    let display = path.display().to_string();
    if let Some(reason) = skips.reason_for(&display) {
        return FileReport {
            path: path.to_path_buf(),
            cases: vec![CaseResult {
                test: display,
                fork: String::new(),
                indexes: (0, 0, 0),
                outcome: Outcome::Skipped(reason.to_string()),
            }],
        };
    }
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return file_failure(path, format!("{display}: cannot read: {e}")),
    };
    let json: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => return file_failure(path, format!("{display}: malformed JSON: {e}")),
    };
    let Some(tests) = json.as_object() else {
        return file_failure(path, format!("{display}: expected an object of tests"));
    };
    let mut evm = Evm::new();
    if let Some(backend) = &options.native {
        evm.set_native_backend(backend.clone());
    }
    let mut cases = Vec::new();
    for (name, test) in tests {
        if let Some(filter) = &options.filter {
            if !display.contains(filter.as_str()) && !name.contains(filter.as_str()) {
                continue;
            }
        }
        let parsed = match parse_test(name, test, options.fork) {
            Ok(t) => t,
            Err(e) => {
                cases.push(CaseResult {
                    test: name.clone(),
                    fork: String::new(),
                    indexes: (0, 0, 0),
                    outcome: Outcome::Failed(format!("{display}: {e}")),
                });
                continue;
            }
        };
        for fork in &parsed.unknown_forks {
            let outcome = match skips.reason_for_fork(fork) {
                Some(reason) => Outcome::Skipped(reason.to_string()),
                None => Outcome::Failed(format!("unknown fork name {fork:?}")),
            };
            cases.push(CaseResult { test: name.clone(), fork: fork.clone(), indexes: (0, 0, 0), outcome });
        }
        for case in &parsed.cases {
            let outcome = match options.mpef {
                Some(mode) if !options.trace => {
                    run_case_mpef(&parsed, case, mode, options.mpef_strategy, options.native.as_ref())
                }
                _ => run_case(&mut evm, &parsed, case, options.trace),
            };
            cases.push(CaseResult {
                test: name.clone(),
                fork: case.fork.name().to_string(),
                indexes: case.indexes,
                outcome,
            });
        }
    }
    FileReport { path: path.to_path_buf(), cases }
}

/// Runs one case on a copy of the pre-state.
pub fn run_case(evm: &mut Evm, test: &StateTest, case: &Case, trace: bool) -> Outcome {
    let mut state: MemoryState = test.pre.clone();
    let cfg = test.cfg(case.fork);
    let tx = match (&case.tx, &case.expect_exception) {
        (Ok(tx), _) => tx,
        (Err(_), Some(_)) => return check_roots(&state, &[], case),
        (Err(e), None) => return Outcome::Failed(e.to_string()),
    };
    let result = if trace {
        let mut tracer = JsonTracer::new(std::io::stderr().lock());
        evm.transact_traced(&state, &test.block, &cfg, tx, &mut tracer)
    } else {
        evm.transact(&state, &test.block, &cfg, tx)
    };
    let logs = match (result, &case.expect_exception) {
        (Err(TxError::Invalid(_)), Some(_)) => Vec::new(),
        (Err(TxError::Invalid(e)), None) => return Outcome::Failed(format!("unexpected rejection: {e}")),
        (Err(TxError::State(e)), _) => return Outcome::Failed(format!("state error: {e}")),
        (Ok(_), Some(expected)) => {
            return Outcome::Failed(format!("expected rejection {expected}, but the transaction was valid"))
        }
        (Ok(out), None) => {
            state.commit(&out.diff);
            out.logs
        }
    };
    check_roots(&state, &logs, case)
}

/// Runs one case as a block of one transaction through MPEF.
pub fn run_case_mpef(
    test: &StateTest,
    case: &Case,
    mode: metisvm_mpef::Mode,
    strategy: metisvm_mpef::Strategy,
    native: Option<&std::sync::Arc<dyn metisvm_vm::interpreter::native::NativeBackend>>,
) -> Outcome {
    let mut state: MemoryState = test.pre.clone();
    let cfg = test.cfg(case.fork);
    let tx = match (&case.tx, &case.expect_exception) {
        (Ok(tx), _) => tx.clone(),
        (Err(_), Some(_)) => return check_roots(&state, &[], case),
        (Err(e), None) => return Outcome::Failed(e.to_string()),
    };
    let mut config = metisvm_mpef::Config { mode, strategy, native: None, pool: None };
    if let Some(backend) = native {
        config = config.with_native(backend.clone());
    }
    let txs = [tx];
    let input = metisvm_mpef::BlockInput { env: &test.block, cfg: &cfg, txs: &txs };
    let output = match metisvm_mpef::execute_block(&state, &input, &config) {
        Ok(output) => output,
        Err(e) => return Outcome::Failed(format!("MPEF: {e}")),
    };
    let logs = match (&output.rejected, &case.expect_exception) {
        (Some(_), Some(_)) => Vec::new(),
        (Some(r), None) => return Outcome::Failed(format!("unexpected rejection: {}", r.error)),
        (None, Some(expected)) => {
            return Outcome::Failed(format!("expected rejection {expected}, but the transaction was valid"))
        }
        (None, None) => {
            state.commit(&output.changes);
            output.txs.into_iter().next().map(|t| t.logs).unwrap_or_default()
        }
    };
    check_roots(&state, &logs, case)
}

/// Compares the post-state root and logs hash with the case's expectations.
fn check_roots(state: &MemoryState, logs: &[Log], case: &Case) -> Outcome {
    let root = state.state_root();
    if root != case.expected_root {
        return Outcome::Failed(format!("state root {root}, expected {}", case.expected_root));
    }
    let logs_root = logs_hash(logs);
    if logs_root != case.expected_logs {
        return Outcome::Failed(format!("logs hash {logs_root}, expected {}", case.expected_logs));
    }
    Outcome::Passed
}
