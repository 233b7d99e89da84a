//! Precompiled contracts: the fixed addresses whose code is native.
//!
//! The interface is fixed here; bodies live one file per family.

use crate::fork::Fork;
use crate::primitives::{Address, Bytes};

/// A precompile's successful result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrecompileOutput {
    /// Gas consumed.
    pub gas_used: u64,
    /// Return data.
    pub output: Bytes,
}

/// Why a precompile failed. Either way the call consumes all the gas given to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrecompileError {
    /// The gas given does not cover the precompile's price.
    OutOfGas,
    /// The input is invalid for this precompile.
    Failed,
}

/// Whether `address` is a precompile under `fork`.
pub fn is_precompile(address: &Address, fork: Fork) -> bool {
    let _ = (address, fork);
    false
}

/// The precompile addresses active under `fork`, warm from the start of every transaction
/// (EIP-2929).
pub fn addresses(fork: Fork) -> Vec<Address> {
    let _ = fork;
    Vec::new()
}

/// Runs the precompile at `address` on `input` with `gas_limit` gas under `fork`.
pub fn run(
    address: &Address,
    input: &[u8],
    gas_limit: u64,
    fork: Fork,
) -> Result<PrecompileOutput, PrecompileError> {
    let _ = (address, input, gas_limit, fork);
    Err(PrecompileError::Failed)
}
