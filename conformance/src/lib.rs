//! Conformance runners: the Ethereum state tests, the trie, RLP and transaction vectors,
//! and replay of real mainnet blocks.
//!
//! Fixtures are read from a root folder given by the `METISVM_FIXTURES` environment variable
//! or a CLI flag, defaulting to `../shared/fixtures` (see [`fixtures`]).

pub mod fixtures;
pub mod hexjson;
pub mod replay;
pub mod rlp_tests;
pub mod skip;
pub mod statetest;
pub mod transaction_tests;
pub mod trie_tests;
