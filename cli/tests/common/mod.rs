//! Helpers shared by the CLI integration tests: running the binary and writing input files.

#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs `metisvm` with `args`. A `run` without `--db` or `--no-db` gets a fresh MetisDB
/// directory of its own (removed afterwards), so tests neither share state nor leave any.
pub fn metisvm(args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_metisvm"));
    command.args(args);
    let fresh_db = args.first() == Some(&"run") && !args.iter().any(|a| *a == "--db" || *a == "--no-db");
    let db = temp_path("db");
    if fresh_db {
        command.arg("--db").arg(&db);
    }
    let out = command.output().expect("the metisvm binary runs");
    let _ = std::fs::remove_dir_all(&db);
    out
}

/// A path under the system's temporary folder unique to this process and call.
pub fn temp_path(name: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("metisvm-cli-{}-{n}-{name}", std::process::id()))
}

/// Standard output as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// An example file's path.
pub fn example(name: &str) -> String {
    format!("{}/../examples/{name}", env!("CARGO_MANIFEST_DIR"))
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A file under the system's temporary folder, removed when dropped.
pub struct TempFile(PathBuf);

impl TempFile {
    /// Writes `contents` to a fresh file whose name ends in `name` and is unique to this
    /// process and call.
    pub fn new(name: &str, contents: &str) -> TempFile {
        let path = temp_path(name);
        std::fs::write(&path, contents).expect("the temporary folder is writable");
        TempFile(path)
    }

    /// The path as text.
    pub fn path(&self) -> &str {
        self.0.to_str().expect("temporary paths are UTF-8")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
