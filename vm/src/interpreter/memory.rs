//! Byte-addressed call-frame memory, grown in 32-byte words, with its quadratic cost.

use crate::primitives::U256;

/// Memory of one call frame.
#[derive(Debug, Default)]
pub struct Memory {
    data: Vec<u8>,
}

/// Gas for `words` words of memory: 3 per word plus words² / 512.
#[inline]
pub fn memory_cost(words: u64) -> u64 {
    words.saturating_mul(3).saturating_add(words.saturating_mul(words) / 512)
}

impl Memory {
    /// Size in bytes (always a multiple of 32).
    #[inline]
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether no memory is in use.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Clears memory, keeping its allocation.
    pub fn clear(&mut self) {
        self.data.clear();
    }

    /// The first byte of memory, for compiled code (see [`super::native`]); valid for
    /// [`Memory::len`] bytes until memory next grows.
    pub(crate) fn as_mut_ptr(&mut self) -> *mut u8 {
        self.data.as_mut_ptr()
    }

    /// The bytes of memory.
    pub fn as_slice(&self) -> &[u8] {
        &self.data
    }

    /// Makes `len` bytes at `offset` addressable, charging the expansion to `gas`. Returns
    /// the offset, or `None` when `gas` cannot pay (or the range is beyond any gas). A zero
    /// `len` touches nothing.
    #[inline(always)]
    pub fn expand(&mut self, gas: &mut u64, offset: U256, len: U256) -> Option<usize> {
        if len.is_zero() {
            return Some(0);
        }
        let (o, l) = (offset.as_limbs(), len.as_limbs());
        // Both fit 32 bits, so their sum cannot overflow; anything larger costs more gas
        // than exists.
        if (o[1] | o[2] | o[3] | l[1] | l[2] | l[3]) != 0 || (o[0] | l[0]) > u32::MAX as u64 {
            return None;
        }
        let end = o[0] + l[0];
        if end <= self.data.len() as u64 || self.grow_charged(gas, end) {
            Some(o[0] as usize)
        } else {
            None
        }
    }

    /// [`Memory::expand`] for a fixed small length (MLOAD, MSTORE, MSTORE8), which lets the
    /// compiler fold the length checks away.
    #[inline(always)]
    pub fn expand_fixed(&mut self, gas: &mut u64, offset: U256, len: u64) -> Option<usize> {
        let o = offset.as_limbs();
        if (o[1] | o[2] | o[3]) != 0 || o[0] > u32::MAX as u64 {
            return None;
        }
        let end = o[0] + len;
        if end <= self.data.len() as u64 || self.grow_charged(gas, end) {
            Some(o[0] as usize)
        } else {
            None
        }
    }

    /// Grows memory to cover `end` bytes (rounded up to words), charging the cost difference
    /// to `gas`; false when it cannot pay.
    #[inline(never)]
    pub fn grow_charged(&mut self, gas: &mut u64, end: u64) -> bool {
        let current = self.data.len() as u64;
        if end <= current {
            return true;
        }
        if end > u32::MAX as u64 {
            return false;
        }
        let new_words = end.div_ceil(32);
        let cost = memory_cost(new_words) - memory_cost(current / 32);
        if *gas < cost {
            return false;
        }
        *gas -= cost;
        self.grow((new_words * 32) as usize);
        true
    }

    /// Grows memory to `new_len` bytes (a multiple of 32) with zeros.
    #[inline]
    pub fn grow(&mut self, new_len: usize) {
        if new_len > self.data.len() {
            self.data.resize(new_len, 0);
        }
    }

    /// `len` bytes at `offset` (the range must be inside memory).
    #[inline]
    pub fn slice(&self, offset: usize, len: usize) -> &[u8] {
        &self.data[offset..offset + len]
    }

    /// Mutable `len` bytes at `offset` (the range must be inside memory).
    #[inline]
    pub fn slice_mut(&mut self, offset: usize, len: usize) -> &mut [u8] {
        &mut self.data[offset..offset + len]
    }

    /// The word at `offset`.
    #[inline(always)]
    pub fn load_word(&self, offset: usize) -> U256 {
        U256::from_be_slice(&self.data[offset..offset + 32])
    }

    /// Stores a word at `offset`.
    #[inline(always)]
    pub fn store_word(&mut self, offset: usize, value: U256) {
        self.data[offset..offset + 32].copy_from_slice(&value.to_be_bytes::<32>());
    }

    /// Copies `src` into memory at `offset`, zero-filling up to `len` bytes when `src` is
    /// shorter (the semantics of CALLDATACOPY, CODECOPY and EXTCODECOPY).
    pub fn set_padded(&mut self, offset: usize, len: usize, src: &[u8]) {
        let n = src.len().min(len);
        self.data[offset..offset + n].copy_from_slice(&src[..n]);
        self.data[offset + n..offset + len].fill(0);
    }

    /// MCOPY within memory (both ranges inside memory).
    pub fn copy_within(&mut self, src: usize, dst: usize, len: usize) {
        self.data.copy_within(src..src + len, dst);
    }
}
