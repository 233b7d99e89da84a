//! The EVM operand stack: at most 1024 words.
//!
//! Bounds are checked by the dispatch loop against the opcode table
//! ([`crate::opcodes::OPCODES`]), per instruction or per basic block (whose bounds cover
//! every instruction in it): an instruction body may pop its declared inputs and push its
//! declared outputs without further checks. The unchecked operations are therefore
//! crate-private; the only push outside an instruction body is the executor's result of a
//! finished CALL or CREATE, into the parent that popped at least three inputs for it.

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
    /// A stack with no buffer, only to stand in a frame while the dispatch loop holds the
    /// real one in a local. Nothing may be pushed onto it.
    pub(crate) const fn placeholder() -> Stack {
        Stack { data: Vec::new() }
    }

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

    /// The buffer's first slot, for compiled code (see [`super::native`]).
    pub(crate) fn buffer(&mut self) -> *mut U256 {
        debug_assert!(self.data.capacity() >= STACK_LIMIT);
        self.data.as_mut_ptr()
    }

    /// Sets the height after compiled code changed the stack in place.
    ///
    /// # Safety
    /// `len` is at most [`STACK_LIMIT`] and the first `len` slots are initialised.
    pub(crate) unsafe fn set_len(&mut self, len: usize) {
        debug_assert!(len <= STACK_LIMIT);
        // SAFETY: the caller's promise; the buffer has STACK_LIMIT slots.
        unsafe { self.data.set_len(len) }
    }

    /// Clears the stack, keeping its allocation.
    pub fn clear(&mut self) {
        self.data.clear();
    }

    /// Removes the top item. The dispatch loop guarantees one is there.
    #[inline(always)]
    pub(crate) fn pop(&mut self) -> U256 {
        debug_assert!(!self.data.is_empty());
        let len = self.data.len();
        // SAFETY: the dispatch loop checked `len >= inputs` for the running opcode, and
        // bodies pop no more than their declared inputs, so `len >= 1` here. The slot at
        // `len - 1` is initialised; shrinking the length first forgets it (U256 is Copy).
        unsafe {
            self.data.set_len(len - 1);
            *self.data.as_ptr().add(len - 1)
        }
    }

    /// [`Stack::pop`] reading the word as four 8-byte loads (see [`read_limbs`]), for
    /// instructions that test or mask a word right after arithmetic wrote it.
    #[inline(always)]
    pub(crate) fn pop_limbs(&mut self) -> U256 {
        debug_assert!(!self.data.is_empty());
        let len = self.data.len();
        // SAFETY: as in `pop`: the dispatch loop guarantees `len >= 1`.
        unsafe {
            self.data.set_len(len - 1);
            U256::from_limbs(read_limbs(self.data.as_ptr().add(len - 1)))
        }
    }

    /// Pushes a word. The dispatch loop guarantees room for it.
    #[inline(always)]
    pub(crate) fn push(&mut self, value: U256) {
        debug_assert!(self.data.len() < STACK_LIMIT && self.data.capacity() >= STACK_LIMIT);
        let len = self.data.len();
        // SAFETY: the buffer was allocated with capacity STACK_LIMIT and never shrinks; the
        // dispatch loop checked that the opcode's growth keeps `len < STACK_LIMIT`, so slot
        // `len` is inside the allocation. It is written before the length covers it.
        unsafe {
            self.data.as_mut_ptr().add(len).write(value);
            self.data.set_len(len + 1);
        }
    }

    /// The top item, to be replaced in place by unary and binary operations.
    #[inline(always)]
    pub(crate) fn top(&mut self) -> &mut U256 {
        debug_assert!(!self.data.is_empty());
        let n = self.data.len();
        // SAFETY: the dispatch loop guarantees at least one item (see `pop`).
        unsafe { self.data.get_unchecked_mut(n - 1) }
    }

    /// The `n`th item from the top (0 = top).
    #[inline(always)]
    pub fn peek(&self, n: usize) -> U256 {
        self.data[self.data.len() - 1 - n]
    }

    /// DUPn: copies the `n`th item (1-based) to the top.
    #[inline(always)]
    pub(crate) fn dup(&mut self, n: usize) {
        debug_assert!(n >= 1 && self.data.len() >= n);
        let len = self.data.len();
        // SAFETY: DUPn declares n inputs and one more output, so the loop checked
        // `len >= n` and `len < STACK_LIMIT`: the source is initialised and the destination
        // is inside the allocation.
        unsafe {
            let p = self.data.as_mut_ptr();
            let word = read_limbs(p.add(len - n));
            write_limbs(p.add(len), word);
            self.data.set_len(len + 1);
        }
    }

    /// SWAPn: exchanges the top with the item `n` below it.
    #[inline(always)]
    pub(crate) fn swap(&mut self, n: usize) {
        let len = self.data.len();
        debug_assert!(len > n);
        // SAFETY: SWAPn declares n + 1 inputs, so the loop checked `len >= n + 1`; both
        // indices are in bounds and distinct.
        unsafe {
            let p = self.data.as_mut_ptr();
            let (a, b) = (p.add(len - 1), p.add(len - 1 - n));
            let (x, y) = (read_limbs(a), read_limbs(b));
            write_limbs(a, y);
            write_limbs(b, x);
        }
    }
}

/// Reads a stack word as four 8-byte loads.
///
/// Arithmetic leaves its results as four 8-byte stores; copying such a word with 16-byte
/// vector loads (what the compiler emits for a plain 32-byte copy) straddles two stores,
/// cannot be forwarded from the store buffer and stalls the pipeline for a dozen cycles.
/// Volatile reads keep the loads 8 bytes wide.
///
/// # Safety
/// `p` must point to an initialised word of the stack buffer.
#[inline(always)]
unsafe fn read_limbs(p: *const U256) -> [u64; 4] {
    let p = p.cast::<u64>();
    // SAFETY: the caller guarantees `p` points to 32 initialised bytes, aligned for u64
    // (U256 is four u64 limbs).
    unsafe {
        [p.read_volatile(), p.add(1).read_volatile(), p.add(2).read_volatile(), p.add(3).read_volatile()]
    }
}

/// Writes a stack word as four 8-byte stores.
///
/// # Safety
/// `p` must point to a word slot inside the stack buffer's allocation.
#[inline(always)]
unsafe fn write_limbs(p: *mut U256, limbs: [u64; 4]) {
    let p = p.cast::<u64>();
    // SAFETY: the caller guarantees `p` points to 32 writable bytes, aligned for u64.
    unsafe {
        for (i, limb) in limbs.into_iter().enumerate() {
            p.add(i).write(limb);
        }
    }
}
