//! ember-evm: the EVM itself. 256-bit words, opcodes and their per-revision gas schedule,
//! code analysis, the `Host` trait and the interpreter.
//!
//! This crate knows nothing of compilation; the JIT reads the same tables and reuses the
//! instruction bodies in [`instructions`], so the tiers share one source of truth.

pub mod analysis;
pub mod host;
pub mod instructions;
pub mod interpreter;
pub mod memory;
pub mod opcodes;
pub mod revision;
pub mod stack;
pub mod types;

pub use analysis::{BasicBlock, CodeAnalysis};
pub use host::{
    AccessStatus, CallKind, ExecResult, Host, Message, StatusCode, StorageStatus, TraceStep,
    Tracer, TxContext, FLAG_DELEGATED, FLAG_STATIC,
};
pub use interpreter::{
    execute, execute_analyzed, execute_from, execute_observed, step, Frame, Interpreter,
    JumpObserver, Step,
};
pub use revision::{Revision, ALL_REVISIONS};
pub use types::{keccak256, parse_hex, to_hex, Address, HexError, B256, EMPTY_CODE_HASH, U256};

/// The deepest nesting of calls (EVMC depth runs 0..=1024).
pub const MAX_CALL_DEPTH: i32 = 1024;

/// Something that executes a frame's code: the interpreter, a JIT tier, or an EVMC VM.
///
/// Hosts that run nested calls (ember-state) take a `&dyn Vm`, so the tier is chosen by
/// whoever composes them, and each frame may run in a different tier.
pub trait Vm: Send + Sync {
    /// Runs `code` as the frame described by `msg`. `code_hash` is keccak256(code) when the
    /// caller knows it (it lets a tiered VM find compiled code without hashing).
    fn execute(
        &self,
        host: &mut dyn Host,
        rev: Revision,
        msg: &Message<'_>,
        code: &[u8],
        code_hash: Option<&B256>,
    ) -> ExecResult;
}
