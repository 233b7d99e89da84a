//! Helpers shared by the CLI integration tests: running the binary and writing input files.

#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs `metisvm` with `args`.
pub fn metisvm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_metisvm")).args(args).output().expect("the metisvm binary runs")
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
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("metisvm-cli-{}-{n}-{name}", std::process::id()));
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
