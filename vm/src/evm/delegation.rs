//! [EIP-7702](https://eips.ethereum.org/EIPS/eip-7702) set-code authorizations and
//! delegation designators (`0xef0100 || address`).

use crate::env::Authorization;
use crate::interpreter::Ctx;
use crate::primitives::{keccak256, Address, Bytes, U256};
use crate::rlp;
use crate::state::StateError;

/// The prefix of a delegation designator.
pub const DELEGATION_PREFIX: [u8; 3] = [0xef, 0x01, 0x00];
/// Refund for an authorization whose authority already exists (25000 - 12500).
const EXISTING_AUTHORITY_REFUND: i64 = 25000 - 12500;
/// The domain byte of authorization signatures.
const AUTHORIZATION_MAGIC: u8 = 0x05;

/// The delegate of `code` when it is a delegation designator.
pub fn delegation_target(code: &[u8]) -> Option<Address> {
    if code.len() == 23 && code[..3] == DELEGATION_PREFIX {
        Some(Address::from_slice(&code[3..]))
    } else {
        None
    }
}

/// The authority that signed `auth`, or `None` for an invalid signature.
pub fn recover_authority(auth: &Authorization) -> Option<Address> {
    let odd_y = match auth.y_parity {
        p if p == U256::ZERO => false,
        p if p == U256::from(1) => true,
        _ => return None,
    };
    if auth.s > crate::crypto::SECP256K1N_HALF {
        return None;
    }
    let mut payload = Vec::with_capacity(64);
    rlp::encode_u256(&mut payload, &auth.chain_id);
    rlp::encode_address(&mut payload, &auth.address);
    rlp::encode_u64(&mut payload, auth.nonce);
    let mut msg = vec![AUTHORIZATION_MAGIC];
    rlp::encode_list_header(&mut msg, payload.len());
    msg.extend_from_slice(&payload);
    crate::crypto::recover_signer(&keccak256(&msg), auth.r, auth.s, odd_y)
}

/// Applies a set-code transaction's authorizations in order; returns the refund earned.
pub(crate) fn apply_authorizations(cx: &mut Ctx<'_>, auths: &[Authorization]) -> Result<i64, StateError> {
    let chain_id = U256::from(cx.cfg.chain_id);
    let mut refund = 0;
    for auth in auths {
        if !auth.chain_id.is_zero() && auth.chain_id != chain_id {
            continue;
        }
        if auth.nonce == u64::MAX {
            continue;
        }
        let Some(authority) = recover_authority(auth) else { continue };
        cx.journal.warm_account(authority)?;
        let account = cx.journal.load(authority)?;
        let code = account.code();
        if !code.is_empty() && delegation_target(code).is_none() {
            continue;
        }
        if account.info.nonce != auth.nonce {
            continue;
        }
        if account.exists {
            refund += EXISTING_AUTHORITY_REFUND;
        }
        let code = if auth.address == Address::ZERO {
            Bytes::new()
        } else {
            let mut c = DELEGATION_PREFIX.to_vec();
            c.extend_from_slice(auth.address.as_slice());
            Bytes::from(c)
        };
        cx.journal.set_code(authority, code)?;
        cx.journal.set_nonce(authority, auth.nonce + 1)?;
    }
    Ok(refund)
}
