//! Storage and logs: SLOAD, SSTORE (net gas metering per
//! [EIP-1283](https://eips.ethereum.org/EIPS/eip-1283) /
//! [EIP-2200](https://eips.ethereum.org/EIPS/eip-2200) /
//! [EIP-2929](https://eips.ethereum.org/EIPS/eip-2929) /
//! [EIP-3529](https://eips.ethereum.org/EIPS/eip-3529)), TLOAD/TSTORE
//! ([EIP-1153](https://eips.ethereum.org/EIPS/eip-1153)) and LOG0..LOG4.

use super::{gas, state};
use crate::fork::Fork;
use crate::interpreter::{Ctx, Frame, HaltReason};
use crate::journal::Log;
use crate::primitives::{Bytes, B256, U256};

/// Cold storage access cost (EIP-2929).
const COLD_SLOAD: u64 = 2100;
/// Warm storage read cost (EIP-2929).
const WARM_SLOAD: u64 = 100;

pub(crate) fn sload(f: &mut Frame, cx: &mut Ctx<'_>) {
    let key = f.stack.pop();
    let (value, cold) = state!(f, cx, cx.journal.sload(f.address, key));
    if cx.fork.is_enabled_in(Fork::Berlin) {
        gas!(f, if cold { COLD_SLOAD } else { WARM_SLOAD });
    }
    f.stack.push(value);
}

/// Prices of the SSTORE schedule of a fork with net gas metering.
struct NetMetering {
    noop: u64,
    set: u64,
    reset: u64,
    clear_refund: i64,
}

fn net_metering(fork: Fork) -> Option<NetMetering> {
    if fork.is_enabled_in(Fork::London) {
        Some(NetMetering { noop: 100, set: 20000, reset: 2900, clear_refund: 4800 })
    } else if fork.is_enabled_in(Fork::Berlin) {
        Some(NetMetering { noop: 100, set: 20000, reset: 2900, clear_refund: 15000 })
    } else if fork.is_enabled_in(Fork::Istanbul) {
        Some(NetMetering { noop: 800, set: 20000, reset: 5000, clear_refund: 15000 })
    } else if fork == Fork::Constantinople {
        Some(NetMetering { noop: 200, set: 20000, reset: 5000, clear_refund: 15000 })
    } else {
        None
    }
}

/// Gas and refund change of writing `new` over `current`, with `original` at the start of
/// the transaction.
fn sstore_price(fork: Fork, original: U256, current: U256, new: U256) -> (u64, i64) {
    let Some(p) = net_metering(fork) else {
        // Frontier..Petersburg: 20000 to set a zero slot, 5000 otherwise, 15000 back on clear.
        let cost = if current.is_zero() && !new.is_zero() { 20000 } else { 5000 };
        let refund = if !current.is_zero() && new.is_zero() { 15000 } else { 0 };
        return (cost, refund);
    };
    if new == current {
        return (p.noop, 0);
    }
    if current == original {
        let cost = if original.is_zero() { p.set } else { p.reset };
        let refund = if !original.is_zero() && new.is_zero() { p.clear_refund } else { 0 };
        return (cost, refund);
    }
    let mut refund = 0;
    if !original.is_zero() {
        if current.is_zero() {
            refund -= p.clear_refund;
        } else if new.is_zero() {
            refund += p.clear_refund;
        }
    }
    if new == original {
        refund += if original.is_zero() { p.set - p.noop } else { p.reset - p.noop } as i64;
    }
    (p.noop, refund)
}

/// The EIP-2200 sentry: SSTORE fails when no more than the call stipend is left.
const SSTORE_SENTRY: u64 = 2300;

pub(crate) fn sstore(f: &mut Frame, cx: &mut Ctx<'_>) {
    if f.is_static {
        f.halt(HaltReason::StaticStateChange);
        return;
    }
    let key = f.stack.pop();
    let value = f.stack.pop();
    if cx.fork.is_enabled_in(Fork::Istanbul) && f.gas <= SSTORE_SENTRY {
        f.halt(HaltReason::OutOfGas);
        return;
    }
    let (original, current, cold) = state!(f, cx, cx.journal.sstore(f.address, key, value));
    let (mut cost, refund) = sstore_price(cx.fork, original, current, value);
    if cold && cx.fork.is_enabled_in(Fork::Berlin) {
        cost += COLD_SLOAD;
    }
    gas!(f, cost);
    f.refund += refund;
}

pub(crate) fn tload(f: &mut Frame, cx: &mut Ctx<'_>) {
    let key = f.stack.top();
    *key = cx.journal.tload(f.address, *key);
}

pub(crate) fn tstore(f: &mut Frame, cx: &mut Ctx<'_>) {
    if f.is_static {
        f.halt(HaltReason::StaticStateChange);
        return;
    }
    let key = f.stack.pop();
    let value = f.stack.pop();
    cx.journal.tstore(f.address, key, value);
}

pub(crate) fn log<const N: usize>(f: &mut Frame, cx: &mut Ctx<'_>) {
    if f.is_static {
        f.halt(HaltReason::StaticStateChange);
        return;
    }
    let offset = f.stack.pop();
    let len = f.stack.pop();
    let n = super::as_usize_saturated(len);
    gas!(f, 8u64.saturating_mul(n as u64));
    let Some(at) = f.expand(offset, len) else { return };
    let mut topics = Vec::with_capacity(N);
    for _ in 0..N {
        topics.push(B256::from(f.stack.pop().to_be_bytes::<32>()));
    }
    let data = if n == 0 { Bytes::new() } else { Bytes::copy_from_slice(f.memory.slice(at, n)) };
    cx.journal.log(Log { address: f.address, topics, data });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(v: u64) -> U256 {
        U256::from(v)
    }

    #[test]
    fn legacy_schedule() {
        assert_eq!(sstore_price(Fork::Byzantium, u(0), u(0), u(1)), (20000, 0));
        assert_eq!(sstore_price(Fork::Petersburg, u(1), u(1), u(0)), (5000, 15000));
    }

    #[test]
    fn eip2200_cases() {
        // Clean slot reset then restored in the same transaction.
        assert_eq!(sstore_price(Fork::Istanbul, u(1), u(1), u(2)), (5000, 0));
        assert_eq!(sstore_price(Fork::Istanbul, u(1), u(2), u(1)), (800, 4200));
        assert_eq!(sstore_price(Fork::Istanbul, u(0), u(1), u(0)), (800, 19200));
        assert_eq!(sstore_price(Fork::Istanbul, u(1), u(0), u(1)), (800, -15000 + 4200));
    }

    #[test]
    fn eip3529_clear_refund() {
        assert_eq!(sstore_price(Fork::London, u(1), u(1), u(0)), (2900, 4800));
        assert_eq!(sstore_price(Fork::London, u(0), u(1), u(0)), (100, 19900));
    }
}
