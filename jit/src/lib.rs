//! MetisVM's JIT: hot contracts compiled to native code with Cranelift.
//!
//! - [`compiler`] turns one contract's bytecode into one native function that follows the
//!   interpreter's protocol for compiled code ([`metisvm_vm::interpreter::native`]).
//! - [`division`] and [`keccak`] hold the division and KECCAK256 builtins compiled code
//!   calls.
//! - [`backend`] decides what to compile and when ([`JitMode`]), and keeps compiled code
//!   in a bounded cache shared by every executor and thread.
//! - [`differential`] runs a contract on the interpreter and on compiled code and compares
//!   them (for tests and the fuzz target).

pub mod backend;
pub mod compiler;
pub mod differential;
pub mod division;
pub mod keccak;

pub use backend::{Jit, JitConfig, JitMode, JitStats};
pub use compiler::{compile, compile_with, CompileError, CompileOptions, CompileStats};
