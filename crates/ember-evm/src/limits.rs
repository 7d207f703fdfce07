//! Protocol limits every part of ember must agree on.

/// The deepest nesting of calls (EVMC depth runs 0..=1024).
pub const MAX_CALL_DEPTH: i32 = 1024;

/// The largest code a create may deploy from Spurious Dragon (EIP-170).
pub const MAX_CODE_SIZE: usize = 0x6000;

/// The largest init code a create or a creating transaction may carry from Shanghai
/// (EIP-3860): twice the code size limit.
pub const MAX_INITCODE_SIZE: usize = 2 * MAX_CODE_SIZE;
