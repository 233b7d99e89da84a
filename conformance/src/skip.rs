//! The conformance skip list: fixtures that are malformed or out of scope, one per line with
//! its reason, kept in `conformance/skip-list.txt` and printed in every run's summary.
//!
//! Line format: `file <path-substring> | <reason>` or `fork <fork-name> | <reason>`.
//! Blank lines and lines starting with `#` are ignored.

/// The skip list compiled into the binary.
pub const SKIP_LIST: &str = include_str!("../skip-list.txt");

/// One skip entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkipEntry {
    /// `file` or `fork`.
    pub kind: String,
    /// The path substring or fork name.
    pub pattern: String,
    /// Why it is skipped.
    pub reason: String,
}

/// Parsed skip entries.
#[derive(Debug, Clone, Default)]
pub struct SkipList {
    /// The entries, in file order.
    pub entries: Vec<SkipEntry>,
}

impl SkipList {
    /// Parses skip-list text; malformed lines are reported with their line number.
    pub fn parse(text: &str) -> Result<SkipList, String> {
        let mut entries = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (head, reason) =
                line.split_once('|').ok_or(format!("skip list line {}: missing '| reason'", n + 1))?;
            let (kind, pattern) = head
                .trim()
                .split_once(' ')
                .ok_or(format!("skip list line {}: expected 'file PATTERN' or 'fork NAME'", n + 1))?;
            if kind != "file" && kind != "fork" {
                return Err(format!("skip list line {}: unknown kind {kind:?}", n + 1));
            }
            entries.push(SkipEntry {
                kind: kind.into(),
                pattern: pattern.trim().into(),
                reason: reason.trim().into(),
            });
        }
        Ok(SkipList { entries })
    }

    /// The built-in list.
    pub fn builtin() -> SkipList {
        SkipList::parse(SKIP_LIST).unwrap_or_default()
    }

    /// The reason a file is skipped, if it is.
    pub fn reason_for(&self, path: &str) -> Option<&str> {
        self.entries.iter().find(|e| e.kind == "file" && path.contains(&e.pattern)).map(|e| e.reason.as_str())
    }

    /// The reason a fork name is skipped, if it is.
    pub fn reason_for_fork(&self, fork: &str) -> Option<&str> {
        self.entries.iter().find(|e| e.kind == "fork" && e.pattern == fork).map(|e| e.reason.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_list_parses() {
        assert!(SkipList::parse(SKIP_LIST).is_ok());
    }

    #[test]
    fn parses_and_matches() {
        let list =
            SkipList::parse("# c\nfile stFoo/bar.json | malformed\nfork Atlantis | not a fork\n").unwrap();
        assert_eq!(list.reason_for("x/stFoo/bar.json"), Some("malformed"));
        assert_eq!(list.reason_for_fork("Atlantis"), Some("not a fork"));
        assert!(SkipList::parse("nonsense").is_err());
    }
}
