//! KECCAK256 for compiled code: the hash computed in place on the frame's memory, with the
//! instruction's dynamic gas (6 per word, plus memory expansion) charged here.
//!
//! The interpreter runs the same instruction through its own code; this one saves compiled
//! code the round trip through [`metisvm_vm::interpreter::native::interpret_one`] and hashes
//! with the XKCP assembly permutation (`keccak-asm`), which a criterion benchmark
//! (`bench/benches/keccak.rs`) measured 12-16% faster than the `sha3` crate the interpreter
//! uses. Both compute the same function, which the differential tests check.
//!
//! When the gas left cannot pay, nothing changes and the compiled code hands the
//! instruction to the step-by-step interpreter, which then halts exactly as it would
//! have: out of gas on the word cost or on the memory expansion.

use keccak_asm::Keccak256;
use metisvm_vm::interpreter::memory::memory_cost;
use metisvm_vm::interpreter::native::{grow_memory, NativeState};
use metisvm_vm::{KECCAK_EMPTY, U256};

/// Gas per 32-byte word hashed (the yellow paper's G_keccak256word).
const WORD_GAS: u64 = 6;

/// KECCAK256 on the stack's top two items (offset, then length) at `top`, the hash written
/// over the length. Returns 1 when done, 0 when the gas left cannot pay (nothing changed).
///
/// # Safety
/// `state` must be the state of the live frame compiled code is running, with its gas
/// current, and `top` must point at that frame's top stack slot, with the slot below it
/// initialised.
pub unsafe extern "C" fn keccak256(state: *mut NativeState, top: *mut U256) -> u32 {
    // SAFETY: the caller's contract: the state, its memory and the two stack slots are
    // live and not aliased while compiled code waits for this call.
    unsafe {
        let (offset, len) = (top.read(), top.sub(1).read());
        match hash(&mut *state, offset, len) {
            Some(word) => {
                top.sub(1).write(word);
                1
            }
            None => 0,
        }
    }
}

/// The hash of `len` bytes of memory at `offset`, after charging for it; `None` when the
/// gas cannot pay (or the range is beyond any gas), with nothing charged.
fn hash(state: &mut NativeState, offset: U256, len: U256) -> Option<U256> {
    if len.is_zero() {
        // No words and no memory touched, whatever the offset.
        return Some(U256::from_be_bytes(KECCAK_EMPTY.0));
    }
    let (o, l) = (offset.as_limbs(), len.as_limbs());
    if (o[1] | o[2] | o[3] | l[1] | l[2] | l[3]) != 0 || (o[0] | l[0]) > u32::MAX as u64 {
        return None;
    }
    let (start, len) = (o[0], l[0]);
    let end = start + len;
    let word_gas = WORD_GAS * len.div_ceil(32);
    let growth_gas = if end > state.memory_len {
        memory_cost(end.div_ceil(32)) - memory_cost(state.memory_len / 32)
    } else {
        0
    };
    if state.gas < word_gas + growth_gas {
        return None;
    }
    state.gas -= word_gas;
    // SAFETY: `state` is a live frame's state (the caller's contract).
    if end > state.memory_len && unsafe { grow_memory(state, end) } == 0 {
        // Memory refuses to grow past 4 GiB whatever the gas (which a gas limit near 2^63
        // could pay): undo, and the interpreter halts as it does there.
        state.gas += word_gas;
        return None;
    }
    // SAFETY: memory holds `memory_len` >= `end` bytes at `memory_data`.
    let bytes = unsafe { std::slice::from_raw_parts(state.memory_data.add(start as usize), len as usize) };
    let digest: [u8; 32] = Keccak256::digest(bytes).into();
    Some(U256::from_be_bytes(digest))
}
