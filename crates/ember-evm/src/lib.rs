//! ember-evm: the EVM itself. 256-bit words, opcodes and their per-revision gas schedule,
//! code analysis, the `Host` trait and the interpreter.
//!
//! This crate knows nothing of compilation; the JIT reads the same tables and reuses the
//! instruction bodies in [`instructions`], so the tiers share one source of truth.

pub mod analysis;
mod arith;
pub mod delegation;
pub mod frame;
pub mod host;
pub mod instructions;
pub mod interpreter;
pub mod limits;
pub mod memory;
pub mod native_stack;
pub mod opcodes;
pub mod revision;
pub mod stack;
pub mod types;
mod vm;

pub use analysis::{BasicBlock, CodeAnalysis};
pub use delegation::{delegate_of, delegation_designator, parse_delegation, DELEGATION_LEN};
pub use frame::Frame;
pub use host::{
    AccessStatus, CallKind, ExecResult, Host, Message, StatusCode, StorageStatus, TraceStep,
    Tracer, TxContext, FLAG_DELEGATED, FLAG_STATIC,
};
pub use interpreter::{
    execute, execute_analyzed, execute_from, execute_observed, step, Interpreter, JumpObserver,
    Step,
};
pub use limits::{MAX_CALL_DEPTH, MAX_CODE_SIZE, MAX_INITCODE_SIZE};
pub use revision::{Revision, ALL_REVISIONS};
pub use types::{keccak256, parse_hex, to_hex, Address, HexError, B256, EMPTY_CODE_HASH, U256};
pub use vm::Vm;
