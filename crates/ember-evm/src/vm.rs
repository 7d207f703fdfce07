//! The [`Vm`] trait: what runs a frame's code, whichever tier it is.

use crate::host::{ExecResult, Host, Message};
use crate::revision::Revision;
use crate::types::B256;

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
