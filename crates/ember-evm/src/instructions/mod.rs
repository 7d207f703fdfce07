//! Instruction bodies shared by the interpreter and compiled code: every instruction that
//! touches memory, the host or dynamic gas, grouped by family (`memory`, `environment`,
//! `storage`, `system`), and the 256-bit arithmetic of the private `arith` module, re-exported
//! here. Each host/memory instruction takes the frame with its operands still on the stack
//! (bounds already checked) and leaves its results there.

use crate::frame::Frame;
use crate::host::{AccessStatus, CallKind, Host, Message, StatusCode, StorageStatus};
use crate::host::{FLAG_DELEGATED, FLAG_STATIC};
use crate::memory::{copy_padded, num_words, saturating_u64, Memory};
use crate::opcodes::*;
use crate::revision::Revision;
use crate::types::{keccak256, Address, B256, U256};
use crate::{delegate_of, MAX_CALL_DEPTH, MAX_INITCODE_SIZE};

/// Extra gas for touching a cold account (EIP-2929), on top of the warm cost in the table.
pub const COLD_ACCOUNT_SURCHARGE: i64 = 2600 - 100;
/// Extra gas for a cold SLOAD (EIP-2929).
pub const COLD_SLOAD_SURCHARGE: i64 = 2100 - 100;
/// The cold storage cost SSTORE adds (EIP-2929).
pub const COLD_SLOAD_COST: i64 = 2100;
/// Full cost of accessing a cold account.
pub const COLD_ACCOUNT_ACCESS_COST: i64 = 2600;
/// Cost of a warm access.
pub const WARM_ACCESS_COST: i64 = 100;
/// Gas for a value-bearing call (CALL, CALLCODE).
pub const CALL_VALUE_COST: i64 = 9000;
/// Gas for a call that brings a new account into existence.
pub const ACCOUNT_CREATION_COST: i64 = 25000;
/// Gas given free to the callee of a value-bearing call.
pub const CALL_STIPEND: i64 = 2300;
/// Pre-London refund for SELFDESTRUCT.
pub const SELFDESTRUCT_REFUND: i64 = 24000;

mod environment;
mod memory;
mod storage;
mod system;
#[cfg(test)]
mod tests;

pub use crate::arith::{
    addmod, byte, clz, div, exp, mulmod, rem, sar, sdiv, shl, shr, signextend, slt, smod,
    MulModCache,
};
pub use environment::*;
pub use memory::*;
pub use storage::*;
pub use system::*;

/// Charges `cost` from the frame, failing with out of gas when it runs out.
#[inline(always)]
pub fn charge(f: &mut Frame<'_>, cost: i64) -> Result<(), StatusCode> {
    f.gas_left -= cost;
    if f.gas_left < 0 {
        Err(StatusCode::OutOfGas)
    } else {
        Ok(())
    }
}

/// EXP's dynamic gas: [`exp_byte_gas`] per byte of the exponent.
#[inline]
pub fn exp_cost(rev: Revision, exponent: &U256) -> i64 {
    exponent.bit_len().div_ceil(8) as i64 * exp_byte_gas(rev)
}

/// EXP's gas per byte of the exponent: 10 before Spurious Dragon (EIP-160) and 50 after.
#[inline]
pub fn exp_byte_gas(rev: Revision) -> i64 {
    if rev >= Revision::SpuriousDragon {
        50
    } else {
        10
    }
}
