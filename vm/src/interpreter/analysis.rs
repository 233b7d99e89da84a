//! Bytecode analysis: the set of valid JUMPDEST positions.
//!
//! A 0x5b byte is a jump destination only where it is an opcode, not inside a PUSH's
//! immediate data. The analysis is done once per code and cached by the executor by code
//! hash, so hot contracts are never re-scanned.

use crate::opcodes::code::{JUMPDEST, PUSH1, PUSH32};
use crate::primitives::Bytes;

/// Code with its jump-destination bitmap, padded so that reading past the end (a PUSH
/// truncated by the end of code, or the implicit STOP) needs no bounds branch.
#[derive(Debug, Clone)]
pub struct AnalyzedCode {
    original: Bytes,
    padded: Box<[u8]>,
    jumpdests: Box<[u64]>,
}

/// Bytes of zero padding after the code: a PUSH32 at the last byte plus the STOP after it.
const PADDING: usize = 33;

impl AnalyzedCode {
    /// Analyses `code`.
    pub fn new(code: Bytes) -> Self {
        let mut padded = Vec::with_capacity(code.len() + PADDING);
        padded.extend_from_slice(&code);
        padded.resize(code.len() + PADDING, 0);
        let mut jumpdests = vec![0u64; code.len().div_ceil(64)];
        let mut pc = 0;
        while pc < code.len() {
            let op = code[pc];
            if op == JUMPDEST {
                jumpdests[pc / 64] |= 1 << (pc % 64);
            } else if (PUSH1..=PUSH32).contains(&op) {
                pc += (op - PUSH1) as usize + 1;
            }
            pc += 1;
        }
        AnalyzedCode {
            original: code,
            padded: padded.into_boxed_slice(),
            jumpdests: jumpdests.into_boxed_slice(),
        }
    }

    /// The code as deployed.
    #[inline]
    pub fn original(&self) -> &Bytes {
        &self.original
    }

    /// The code followed by zero padding.
    #[inline]
    pub fn padded(&self) -> &[u8] {
        &self.padded
    }

    /// Code length without padding.
    #[inline]
    pub fn len(&self) -> usize {
        self.original.len()
    }

    /// Whether the code is empty.
    pub fn is_empty(&self) -> bool {
        self.original.is_empty()
    }

    /// Whether `dest` is a valid jump destination.
    #[inline]
    pub fn is_jumpdest(&self, dest: usize) -> bool {
        dest < self.original.len() && (self.jumpdests[dest / 64] >> (dest % 64)) & 1 == 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_data_is_not_a_destination() {
        // PUSH1 0x5b JUMPDEST PUSH2 0x5b5b
        let code = AnalyzedCode::new(Bytes::from(vec![0x60, 0x5b, 0x5b, 0x61, 0x5b, 0x5b]));
        assert!(!code.is_jumpdest(1));
        assert!(code.is_jumpdest(2));
        assert!(!code.is_jumpdest(4));
        assert!(!code.is_jumpdest(5));
        assert!(!code.is_jumpdest(600));
        assert_eq!(code.padded().len(), 6 + PADDING);
    }
}
