//! CREATE, CREATE2, CALL, CALLCODE, DELEGATECALL, STATICCALL and SELFDESTRUCT.
//!
//! These instructions price and validate a sub-call, then suspend the frame with a
//! [`FrameRequest`]; the executor runs the child on its frame stack and resumes the parent
//! with the result (see [`crate::evm`]). Gas follows
//! [EIP-150](https://eips.ethereum.org/EIPS/eip-150) (all but one 64th),
//! [EIP-2929](https://eips.ethereum.org/EIPS/eip-2929) (cold accounts),
//! [EIP-3860](https://eips.ethereum.org/EIPS/eip-3860) (initcode words),
//! [EIP-6780](https://eips.ethereum.org/EIPS/eip-6780) (SELFDESTRUCT only in the creating
//! transaction) and [EIP-7702](https://eips.ethereum.org/EIPS/eip-7702) (delegated code).

use super::{gas, state, words};
use crate::evm::{create2_address, create_address, delegation_target, MAX_INITCODE_SIZE};
use crate::fork::Fork;
use crate::interpreter::{
    CallKind, CallRequest, CreateRequest, Ctx, Frame, FrameRequest, HaltReason, Status,
};
use crate::primitives::{keccak256, word_to_address, Bytes, U256};

/// Maximum call depth.
pub(crate) const CALL_DEPTH_LIMIT: usize = 1024;
const CALL_VALUE_COST: u64 = 9000;
const NEW_ACCOUNT_COST: u64 = 25000;
const CALL_STIPEND: u64 = 2300;
const COLD_ACCOUNT_ACCESS: u64 = 2600;
const WARM_ACCESS: u64 = 100;

/// All but one 64th of `gas` (EIP-150), or all of it before Tangerine Whistle.
#[inline]
fn max_child_gas(fork: Fork, gas: u64) -> u64 {
    if fork.is_enabled_in(Fork::TangerineWhistle) {
        gas - gas / 64
    } else {
        gas
    }
}

pub(crate) fn create(f: &mut Frame, cx: &mut Ctx<'_>) {
    create_common(f, cx, false);
}

pub(crate) fn create2(f: &mut Frame, cx: &mut Ctx<'_>) {
    create_common(f, cx, true);
}

fn create_common(f: &mut Frame, cx: &mut Ctx<'_>, is_create2: bool) {
    if f.is_static {
        f.halt(HaltReason::StaticStateChange);
        return;
    }
    let value = f.stack.pop();
    let offset = f.stack.pop();
    let len = f.stack.pop();
    let salt = if is_create2 { Some(f.stack.pop()) } else { None };
    let n = super::as_usize_saturated(len);
    if cx.fork.is_enabled_in(Fork::Shanghai) {
        if n > MAX_INITCODE_SIZE {
            f.halt(HaltReason::OutOfGas);
            f.gas = 0;
            return;
        }
        gas!(f, 2 * words(n));
    }
    if is_create2 {
        gas!(f, 6u64.saturating_mul(words(n)));
    }
    let Some(at) = f.expand(offset, len) else { return };
    let init_code = if n == 0 { Bytes::new() } else { Bytes::copy_from_slice(f.memory.slice(at, n)) };
    f.return_data = Bytes::new();

    let child_gas = max_child_gas(cx.fork, f.gas);
    f.gas -= child_gas;
    let creator = f.address;
    let sender = state!(f, cx, cx.journal.load(creator));
    let (balance, nonce) = (sender.info.balance, sender.info.nonce);
    if balance < value || nonce == u64::MAX || f.depth + 1 > CALL_DEPTH_LIMIT {
        f.gas += child_gas;
        f.stack.push(U256::ZERO);
        return;
    }
    let address = match salt {
        Some(salt) => create2_address(creator, salt.to_be_bytes(), keccak256(&init_code)),
        None => create_address(creator, nonce),
    };
    state!(f, cx, cx.journal.warm_account(address));
    state!(f, cx, cx.journal.set_nonce(creator, nonce + 1));
    if state!(f, cx, cx.journal.is_create_collision(address)) {
        f.stack.push(U256::ZERO);
        return;
    }
    cx.request = Some(FrameRequest::Create(Box::new(CreateRequest {
        address,
        caller: creator,
        value,
        init_code,
        gas: child_gas,
    })));
    f.status = Status::Suspended;
}

pub(crate) fn call(f: &mut Frame, cx: &mut Ctx<'_>) {
    call_common(f, cx, CallKind::Call);
}

pub(crate) fn callcode(f: &mut Frame, cx: &mut Ctx<'_>) {
    call_common(f, cx, CallKind::CallCode);
}

pub(crate) fn delegatecall(f: &mut Frame, cx: &mut Ctx<'_>) {
    call_common(f, cx, CallKind::DelegateCall);
}

pub(crate) fn staticcall(f: &mut Frame, cx: &mut Ctx<'_>) {
    call_common(f, cx, CallKind::StaticCall);
}

fn call_common(f: &mut Frame, cx: &mut Ctx<'_>, kind: CallKind) {
    let requested_gas = f.stack.pop();
    let to = word_to_address(f.stack.pop());
    let value = match kind {
        CallKind::Call | CallKind::CallCode => f.stack.pop(),
        CallKind::DelegateCall | CallKind::StaticCall => U256::ZERO,
    };
    let in_offset = f.stack.pop();
    let in_len = f.stack.pop();
    let out_offset = f.stack.pop();
    let out_len = f.stack.pop();
    let has_value = !value.is_zero();
    if kind == CallKind::Call && has_value && f.is_static {
        f.halt(HaltReason::StaticStateChange);
        return;
    }

    // Memory for both ranges is paid before the call's own price.
    let in_end = if in_len.is_zero() { Some(0) } else { end_of(in_offset, in_len) };
    let out_end = if out_len.is_zero() { Some(0) } else { end_of(out_offset, out_len) };
    let end = match (in_end, out_end) {
        (Some(a), Some(b)) => Some(a.max(b)),
        _ => None,
    };
    if !f.expand_to(end) {
        return;
    }

    let fork = cx.fork;
    let cold = state!(f, cx, cx.journal.warm_account(to));
    let mut extra = 0u64;
    if cold && fork.is_enabled_in(Fork::Berlin) {
        extra += COLD_ACCOUNT_ACCESS - WARM_ACCESS;
    }
    // EIP-7702: code of a delegated account comes from its delegate, paying for access.
    let callee = cx.journal.account(&to);
    let mut code_address = to;
    let mut precompiles_disabled = false;
    if fork.is_enabled_in(Fork::Prague) {
        if let Some(delegate) = delegation_target(callee.code()) {
            let delegate_cold = state!(f, cx, cx.journal.warm_account(delegate));
            extra += if delegate_cold { COLD_ACCOUNT_ACCESS } else { WARM_ACCESS };
            code_address = delegate;
            precompiles_disabled = true;
        }
    }
    let callee = cx.journal.account(&to);
    if has_value && kind != CallKind::DelegateCall && kind != CallKind::StaticCall {
        extra += CALL_VALUE_COST;
    }
    if kind == CallKind::Call {
        let needs_new_account = if fork.is_enabled_in(Fork::SpuriousDragon) {
            has_value && callee.is_dead()
        } else {
            !callee.exists
        };
        if needs_new_account {
            extra += NEW_ACCOUNT_COST;
        }
    }
    gas!(f, extra);
    let requested = u64::try_from(requested_gas).unwrap_or(u64::MAX);
    let child_gas = if fork.is_enabled_in(Fork::TangerineWhistle) {
        requested.min(max_child_gas(fork, f.gas))
    } else {
        requested
    };
    gas!(f, child_gas);
    let stipend = if has_value { CALL_STIPEND } else { 0 };

    f.return_data = Bytes::new();
    let in_at = super::as_usize_saturated(in_offset);
    let in_n = super::as_usize_saturated(in_len);
    let input = if in_n == 0 { Bytes::new() } else { Bytes::copy_from_slice(f.memory.slice(in_at, in_n)) };

    let transfer = matches!(kind, CallKind::Call | CallKind::CallCode);
    if transfer && has_value {
        let balance = state!(f, cx, cx.journal.balance(f.address));
        if balance < value {
            f.gas += child_gas + stipend;
            f.stack.push(U256::ZERO);
            return;
        }
    }
    if f.depth + 1 > CALL_DEPTH_LIMIT {
        f.gas += child_gas + stipend;
        f.stack.push(U256::ZERO);
        return;
    }
    let (target, caller, callee_value) = match kind {
        CallKind::Call | CallKind::StaticCall => (to, f.address, value),
        CallKind::CallCode => (f.address, f.address, value),
        CallKind::DelegateCall => (f.address, f.caller, f.value),
    };
    cx.request = Some(FrameRequest::Call(Box::new(CallRequest {
        kind,
        target,
        code_address,
        caller,
        value: callee_value,
        transfer: kind == CallKind::Call,
        input,
        gas: child_gas + stipend,
        is_static: f.is_static || kind == CallKind::StaticCall,
        ret_offset: super::as_usize_saturated(out_offset),
        ret_len: super::as_usize_saturated(out_len),
        precompiles_disabled,
    })));
    f.status = Status::Suspended;
}

fn end_of(offset: U256, len: U256) -> Option<u64> {
    let o = u64::try_from(offset).ok()?;
    let l = u64::try_from(len).ok()?;
    o.checked_add(l)
}

pub(crate) fn selfdestruct(f: &mut Frame, cx: &mut Ctx<'_>) {
    if f.is_static {
        f.halt(HaltReason::StaticStateChange);
        return;
    }
    let beneficiary = word_to_address(f.stack.pop());
    let fork = cx.fork;
    let cold = state!(f, cx, cx.journal.warm_account(beneficiary));
    let mut cost = 0;
    if cold && fork.is_enabled_in(Fork::Berlin) {
        cost += COLD_ACCOUNT_ACCESS;
    }
    let balance = state!(f, cx, cx.journal.balance(f.address));
    let target = cx.journal.account(&beneficiary);
    if fork.is_enabled_in(Fork::TangerineWhistle) {
        let needs_new_account = if fork.is_enabled_in(Fork::SpuriousDragon) {
            target.is_dead() && !balance.is_zero()
        } else {
            !target.exists
        };
        if needs_new_account {
            cost += NEW_ACCOUNT_COST;
        }
    }
    gas!(f, cost);
    let me = f.address;
    // Before London every first self-destruct of an account refunded 24000 (removed by EIP-3529).
    if !fork.is_enabled_in(Fork::London) && !cx.journal.is_selfdestructed(&me) {
        f.refund += 24000;
    }
    let destroys = !fork.is_enabled_in(Fork::Cancun) || cx.journal.is_created(&me);
    if beneficiary != me {
        let to_balance = state!(f, cx, cx.journal.balance(beneficiary));
        state!(f, cx, cx.journal.set_balance(beneficiary, to_balance.saturating_add(balance)));
        state!(f, cx, cx.journal.set_balance(me, U256::ZERO));
    } else if destroys {
        // Sending the balance to itself burns it when the account is destroyed.
        state!(f, cx, cx.journal.set_balance(me, U256::ZERO));
    } else {
        state!(f, cx, cx.journal.touch(me));
    }
    if destroys {
        state!(f, cx, cx.journal.mark_selfdestructed(me));
    }
    f.status = Status::SelfDestruct;
}
