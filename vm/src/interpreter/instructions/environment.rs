//! Environment and block information: ADDRESS, BALANCE, ORIGIN, CALLER, CALLVALUE,
//! CALLDATA*, CODE*, GASPRICE, EXTCODE*, RETURNDATA*, BLOCKHASH, COINBASE, TIMESTAMP,
//! NUMBER, PREVRANDAO, GASLIMIT, CHAINID, SELFBALANCE, BASEFEE, BLOBHASH, BLOBBASEFEE.
//!
//! Account reads pay the [EIP-2929](https://eips.ethereum.org/EIPS/eip-2929) cold
//! surcharge from Berlin on; the warm price is the opcode's static gas.

use super::{gas, state, words};
use crate::env::blob_gas_price;
use crate::fork::Fork;
use crate::interpreter::{Ctx, Frame, HaltReason};
use crate::primitives::{address_to_word, word_to_address, Address, B256, U256};

/// Cold account access surcharge over the warm price (2600 - 100).
pub(crate) const COLD_ACCOUNT_SURCHARGE: u64 = 2500;

/// Warms `address`, charging the cold surcharge under Berlin rules. Returns false when the
/// frame stopped (out of gas or store failure).
#[inline]
pub(crate) fn access_account(f: &mut Frame, cx: &mut Ctx<'_>, address: Address) -> bool {
    let cold = match cx.journal.warm_account(address) {
        Ok(c) => c,
        Err(e) => {
            super::fatal(f, cx, e);
            return false;
        }
    };
    if cold && cx.fork.is_enabled_in(Fork::Berlin) {
        return f.charge(COLD_ACCOUNT_SURCHARGE);
    }
    true
}

pub(crate) fn address(f: &mut Frame, _: &mut Ctx<'_>) {
    f.stack.push(address_to_word(f.address));
}

pub(crate) fn balance(f: &mut Frame, cx: &mut Ctx<'_>) {
    let a = word_to_address(f.stack.pop());
    if !access_account(f, cx, a) {
        return;
    }
    let b = state!(f, cx, cx.journal.balance(a));
    f.stack.push(b);
}

pub(crate) fn selfbalance(f: &mut Frame, cx: &mut Ctx<'_>) {
    let b = state!(f, cx, cx.journal.balance(f.address));
    f.stack.push(b);
}

pub(crate) fn origin(f: &mut Frame, cx: &mut Ctx<'_>) {
    f.stack.push(address_to_word(cx.tx.caller));
}

pub(crate) fn caller(f: &mut Frame, _: &mut Ctx<'_>) {
    f.stack.push(address_to_word(f.caller));
}

pub(crate) fn callvalue(f: &mut Frame, _: &mut Ctx<'_>) {
    f.stack.push(f.value);
}

pub(crate) fn calldataload(f: &mut Frame, _: &mut Ctx<'_>) {
    let offset = f.stack.pop();
    let mut word = [0u8; 32];
    if let Ok(o) = usize::try_from(offset) {
        if o < f.input.len() {
            let n = (f.input.len() - o).min(32);
            word[..n].copy_from_slice(&f.input[o..o + n]);
        }
    }
    f.stack.push(U256::from_be_bytes(word));
}

pub(crate) fn calldatasize(f: &mut Frame, _: &mut Ctx<'_>) {
    f.stack.push(U256::from(f.input.len()));
}

/// The shared body of the *COPY instructions: charges 3 gas per word and memory, then
/// copies `src[offset..]` zero-padded into memory.
fn copy_to_memory(f: &mut Frame, dst: U256, offset: U256, len: U256, src: &[u8]) {
    if len.is_zero() {
        return;
    }
    let n = super::as_usize_saturated(len);
    gas!(f, 3u64.saturating_mul(words(n)));
    let Some(at) = f.expand(dst, len) else { return };
    let start = super::as_usize_saturated(offset).min(src.len());
    f.memory.set_padded(at, n, &src[start..]);
}

pub(crate) fn calldatacopy(f: &mut Frame, _: &mut Ctx<'_>) {
    let dst = f.stack.pop();
    let offset = f.stack.pop();
    let len = f.stack.pop();
    let input = f.input.clone();
    copy_to_memory(f, dst, offset, len, &input);
}

pub(crate) fn codesize(f: &mut Frame, _: &mut Ctx<'_>) {
    f.stack.push(U256::from(f.code.len()));
}

pub(crate) fn codecopy(f: &mut Frame, _: &mut Ctx<'_>) {
    let dst = f.stack.pop();
    let offset = f.stack.pop();
    let len = f.stack.pop();
    let code = f.code.clone();
    copy_to_memory(f, dst, offset, len, code.original());
}

pub(crate) fn gasprice(f: &mut Frame, cx: &mut Ctx<'_>) {
    f.stack.push(cx.effective_gas_price);
}

pub(crate) fn extcodesize(f: &mut Frame, cx: &mut Ctx<'_>) {
    let a = word_to_address(f.stack.pop());
    if !access_account(f, cx, a) {
        return;
    }
    let len = cx.journal.account(&a).code().len();
    f.stack.push(U256::from(len));
}

pub(crate) fn extcodecopy(f: &mut Frame, cx: &mut Ctx<'_>) {
    let a = word_to_address(f.stack.pop());
    let dst = f.stack.pop();
    let offset = f.stack.pop();
    let len = f.stack.pop();
    if !access_account(f, cx, a) {
        return;
    }
    let code = cx.journal.account(&a).code().clone();
    copy_to_memory(f, dst, offset, len, &code);
}

pub(crate) fn extcodehash(f: &mut Frame, cx: &mut Ctx<'_>) {
    let a = word_to_address(f.stack.pop());
    if !access_account(f, cx, a) {
        return;
    }
    let account = cx.journal.account(&a);
    // EIP-1052: a missing account hashes to zero; EIP-161 empties count as missing.
    let hash = if account.is_dead() { B256::ZERO } else { account.info.code_hash };
    f.stack.push(U256::from_be_bytes(hash.0));
}

pub(crate) fn returndatasize(f: &mut Frame, _: &mut Ctx<'_>) {
    f.stack.push(U256::from(f.return_data.len()));
}

pub(crate) fn returndatacopy(f: &mut Frame, _: &mut Ctx<'_>) {
    let dst = f.stack.pop();
    let offset = f.stack.pop();
    let len = f.stack.pop();
    let end = offset.checked_add(len);
    if end.is_none_or(|e| e > U256::from(f.return_data.len())) {
        f.halt(HaltReason::ReturnDataOutOfBounds);
        return;
    }
    let data = f.return_data.clone();
    copy_to_memory(f, dst, offset, len, &data);
}

pub(crate) fn blockhash(f: &mut Frame, cx: &mut Ctx<'_>) {
    let n = f.stack.pop();
    let current = cx.block.number;
    let hash = match u64::try_from(n) {
        Ok(n) if n < current && current - n <= 256 => state!(f, cx, cx.journal.db().block_hash(n)),
        _ => B256::ZERO,
    };
    f.stack.push(U256::from_be_bytes(hash.0));
}

pub(crate) fn coinbase(f: &mut Frame, cx: &mut Ctx<'_>) {
    f.stack.push(address_to_word(cx.block.coinbase));
}

pub(crate) fn timestamp(f: &mut Frame, cx: &mut Ctx<'_>) {
    f.stack.push(U256::from(cx.block.timestamp));
}

pub(crate) fn number(f: &mut Frame, cx: &mut Ctx<'_>) {
    f.stack.push(U256::from(cx.block.number));
}

/// DIFFICULTY before Paris, PREVRANDAO ([EIP-4399](https://eips.ethereum.org/EIPS/eip-4399)) after.
pub(crate) fn prevrandao(f: &mut Frame, cx: &mut Ctx<'_>) {
    let v = if cx.fork.is_enabled_in(Fork::Paris) {
        U256::from_be_bytes(cx.block.prevrandao.0)
    } else {
        cx.block.difficulty
    };
    f.stack.push(v);
}

pub(crate) fn gaslimit(f: &mut Frame, cx: &mut Ctx<'_>) {
    f.stack.push(U256::from(cx.block.gas_limit));
}

pub(crate) fn chainid(f: &mut Frame, cx: &mut Ctx<'_>) {
    f.stack.push(U256::from(cx.cfg.chain_id));
}

pub(crate) fn basefee(f: &mut Frame, cx: &mut Ctx<'_>) {
    f.stack.push(cx.block.base_fee);
}

/// BLOBHASH ([EIP-4844](https://eips.ethereum.org/EIPS/eip-4844)).
pub(crate) fn blobhash(f: &mut Frame, cx: &mut Ctx<'_>) {
    let i = f.stack.top();
    *i = match usize::try_from(*i) {
        Ok(i) if i < cx.tx.blob_hashes.len() => U256::from_be_bytes(cx.tx.blob_hashes[i].0),
        _ => U256::ZERO,
    };
}

/// BLOBBASEFEE ([EIP-7516](https://eips.ethereum.org/EIPS/eip-7516)).
pub(crate) fn blobbasefee(f: &mut Frame, cx: &mut Ctx<'_>) {
    let excess = cx.block.excess_blob_gas.unwrap_or(0);
    f.stack.push(blob_gas_price(excess, cx.cfg.blob_schedule.update_fraction));
}
