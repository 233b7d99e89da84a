//! The EVM operand stack: at most 1024 words.
//!
//! Bounds are checked once per instruction by the dispatch loop against the opcode table
//! ([`crate::opcodes::OPCODES`]): an instruction body may pop its declared inputs and push
//! its declared outputs without further checks.

use crate::primitives::U256;

/// Maximum number of items on the stack.
pub const STACK_LIMIT: usize = 1024;

/// The operand stack of one call frame.
#[derive(Debug)]
pub struct Stack {
    data: Vec<U256>,
}

impl Default for Stack {
    fn default() -> Self {
        Stack { data: Vec::with_capacity(STACK_LIMIT) }
    }
}

impl Stack {
    /// Number of items.
    #[inline]
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the stack is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The items, bottom first.
    pub fn as_slice(&self) -> &[U256] {
        &self.data
    }

    /// Clears the stack, keeping its allocation.
    pub fn clear(&mut self) {
        self.data.clear();
    }

    /// Removes the top item. The dispatch loop guarantees one is there.
    #[inline(always)]
    pub fn pop(&mut self) -> U256 {
        debug_assert!(!self.data.is_empty());
        self.data.pop().unwrap_or_default()
    }

    /// Pushes a word. The dispatch loop guarantees room for it.
    #[inline(always)]
    pub fn push(&mut self, value: U256) {
        debug_assert!(self.data.len() < STACK_LIMIT);
        self.data.push(value);
    }

    /// The top item, to be replaced in place by unary and binary operations.
    #[inline(always)]
    pub fn top(&mut self) -> &mut U256 {
        let n = self.data.len();
        &mut self.data[n - 1]
    }

    /// The `n`th item from the top (0 = top).
    #[inline(always)]
    pub fn peek(&self, n: usize) -> U256 {
        self.data[self.data.len() - 1 - n]
    }

    /// DUPn: copies the `n`th item (1-based) to the top.
    #[inline(always)]
    pub fn dup(&mut self, n: usize) {
        let v = self.data[self.data.len() - n];
        self.data.push(v);
    }

    /// SWAPn: exchanges the top with the item `n` below it.
    #[inline(always)]
    pub fn swap(&mut self, n: usize) {
        let len = self.data.len();
        self.data.swap(len - 1, len - 1 - n);
    }
}
