//! Where the fixture data lives.

use std::path::PathBuf;

/// The environment variable that points at a fixture root.
pub const FIXTURES_ENV: &str = "METISVM_FIXTURES";

/// The fixture root: `$METISVM_FIXTURES` when set, else `../shared/fixtures` relative to the
/// workspace root (this crate's parent folder).
pub fn fixture_root() -> PathBuf {
    if let Some(root) = std::env::var_os(FIXTURES_ENV) {
        return PathBuf::from(root);
    }
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    workspace.join("..").join("shared").join("fixtures")
}

/// Every `.json` file below `dir`, sorted, walking sub-folders.
pub fn json_files(dir: &std::path::Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    if dir.is_file() {
        out.push(dir.to_path_buf());
        return Ok(out);
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}
