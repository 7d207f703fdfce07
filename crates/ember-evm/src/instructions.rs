//! Instruction bodies shared by the interpreter and compiled code: 256-bit arithmetic and every
//! instruction that touches memory, the host or dynamic gas. Each host/memory instruction takes
//! the frame with its operands still on the stack (bounds already checked) and leaves its
//! results there.

use crate::host::{AccessStatus, CallKind, Host, Message, StatusCode, StorageStatus};
use crate::host::{FLAG_DELEGATED, FLAG_STATIC};
use crate::interpreter::Frame;
use crate::memory::{copy_padded, num_words, saturating_u64, Memory};
use crate::opcodes::*;
use crate::revision::Revision;
use crate::types::{keccak256, Address, B256, U256};
use crate::MAX_CALL_DEPTH;

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
/// EIP-3860 initcode size limit (twice the EIP-170 code limit).
pub const MAX_INITCODE_SIZE: usize = 2 * 0x6000;
/// Pre-London refund for SELFDESTRUCT.
pub const SELFDESTRUCT_REFUND: i64 = 24000;

const SIGN_BIT: U256 = U256::from_limbs([0, 0, 0, 1 << 63]);

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

// ---------------------------------------------------------------------------------------------
// Arithmetic
// ---------------------------------------------------------------------------------------------

#[inline(always)]
fn is_negative(x: &U256) -> bool {
    x.bit(255)
}

#[inline(always)]
fn abs(x: U256) -> U256 {
    if is_negative(&x) {
        x.wrapping_neg()
    } else {
        x
    }
}

/// Whether `x` is a power of two, and which.
#[inline(always)]
fn power_of_two(x: &U256) -> Option<usize> {
    (x.count_ones() == 1).then(|| x.trailing_zeros())
}

/// Unsigned division; zero divisor gives zero. Division by a power of two, which older
/// compilers emit for right shifts, is a shift.
#[inline]
pub fn div(a: U256, b: U256) -> U256 {
    match power_of_two(&b) {
        Some(k) => a >> k,
        None => a.checked_div(b).unwrap_or(U256::ZERO),
    }
}

/// Unsigned remainder; zero divisor gives zero. A power-of-two modulus is a mask.
#[inline]
pub fn rem(a: U256, b: U256) -> U256 {
    match power_of_two(&b) {
        Some(_) => a & (b - U256::from(1)),
        None => a.checked_rem(b).unwrap_or(U256::ZERO),
    }
}

/// Two's-complement division, truncating toward zero; MIN / -1 = MIN, x / 0 = 0.
#[inline]
pub fn sdiv(a: U256, b: U256) -> U256 {
    if b.is_zero() {
        return U256::ZERO;
    }
    let q = abs(a) / abs(b);
    if is_negative(&a) != is_negative(&b) {
        q.wrapping_neg()
    } else {
        q
    }
}

/// Two's-complement remainder with the sign of the dividend; x % 0 = 0.
#[inline]
pub fn smod(a: U256, b: U256) -> U256 {
    if b.is_zero() {
        return U256::ZERO;
    }
    let r = abs(a) % abs(b);
    if is_negative(&a) {
        r.wrapping_neg()
    } else {
        r
    }
}

/// (a + b) mod n in full precision; n = 0 gives zero.
#[inline]
pub fn addmod(a: U256, b: U256, n: U256) -> U256 {
    if n.is_zero() {
        U256::ZERO
    } else {
        a.add_mod(b, n)
    }
}

/// (a · b) mod n in full precision; n = 0 gives zero.
#[inline]
pub fn mulmod(a: U256, b: U256, n: U256) -> U256 {
    if n.is_zero() {
        U256::ZERO
    } else {
        a.mul_mod(b, n)
    }
}

/// Extends the sign of the low `b + 1` bytes of `x`.
#[inline]
pub fn signextend(b: U256, x: U256) -> U256 {
    if b >= U256::from(31) {
        return x;
    }
    let bit = b.as_limbs()[0] as usize * 8 + 7;
    let mask = (U256::from(1) << (bit + 1)).wrapping_sub(U256::from(1));
    if x.bit(bit) {
        x | !mask
    } else {
        x & mask
    }
}

/// Signed less-than.
#[inline]
pub fn slt(a: U256, b: U256) -> bool {
    (a ^ SIGN_BIT) < (b ^ SIGN_BIT)
}

/// The `i`-th byte of `x`, counting from the most significant; zero when `i >= 32`.
#[inline]
pub fn byte(i: U256, x: U256) -> U256 {
    if i >= U256::from(32) {
        U256::ZERO
    } else {
        U256::from(x.byte(31 - i.as_limbs()[0] as usize))
    }
}

/// Shift left; shifts of 256 or more give zero.
#[inline]
pub fn shl(shift: U256, x: U256) -> U256 {
    if shift >= U256::from(256) {
        U256::ZERO
    } else {
        x << shift.as_limbs()[0] as usize
    }
}

/// Logical shift right; shifts of 256 or more give zero.
#[inline]
pub fn shr(shift: U256, x: U256) -> U256 {
    if shift >= U256::from(256) {
        U256::ZERO
    } else {
        x >> shift.as_limbs()[0] as usize
    }
}

/// Arithmetic shift right.
#[inline]
pub fn sar(shift: U256, x: U256) -> U256 {
    let neg = is_negative(&x);
    if shift >= U256::from(256) {
        return if neg { U256::MAX } else { U256::ZERO };
    }
    let s = shift.as_limbs()[0] as usize;
    if neg {
        !((!x) >> s)
    } else {
        x >> s
    }
}

/// Number of leading zero bits (256 for zero).
#[inline]
pub fn clz(x: U256) -> U256 {
    U256::from(x.leading_zeros())
}

/// EXP's dynamic gas: per byte of the exponent, 10 before Spurious Dragon (EIP-160) and 50 after.
#[inline]
pub fn exp_cost(rev: Revision, exponent: &U256) -> i64 {
    let bytes = exponent.bit_len().div_ceil(8) as i64;
    let per_byte = if rev >= Revision::SpuriousDragon {
        50
    } else {
        10
    };
    bytes * per_byte
}

// ---------------------------------------------------------------------------------------------
// Memory, hashing, copies
// ---------------------------------------------------------------------------------------------

/// Expands memory over `[offset, offset + size)` charging the frame.
#[inline(always)]
fn expand(f: &mut Frame<'_>, offset: &U256, size: &U256) -> Result<(usize, usize), StatusCode> {
    f.memory.expand(&mut f.gas_left, offset, size)
}

/// Charges 3 gas per word copied.
#[inline(always)]
fn charge_copy(f: &mut Frame<'_>, size: usize) -> Result<(), StatusCode> {
    charge(f, 3 * num_words(size as u64) as i64)
}

/// The size of a word, for MLOAD/MSTORE memory expansion.
const WORD: U256 = U256::from_limbs([32, 0, 0, 0]);

/// MLOAD: the word at `offset`, after charging memory expansion to `gas_left`.
#[inline(always)]
pub fn mload(memory: &mut Memory, gas_left: &mut i64, offset: &U256) -> Result<U256, StatusCode> {
    let (o, _) = memory.expand(gas_left, offset, &WORD)?;
    Ok(memory.load_word(o))
}

/// MSTORE: writes `value` at `offset`, after charging memory expansion.
#[inline(always)]
pub fn mstore(
    memory: &mut Memory,
    gas_left: &mut i64,
    offset: &U256,
    value: &U256,
) -> Result<(), StatusCode> {
    let (o, _) = memory.expand(gas_left, offset, &WORD)?;
    memory.store_word(o, value);
    Ok(())
}

/// MSTORE8: writes the low byte of `value` at `offset`, after charging memory expansion.
#[inline(always)]
pub fn mstore8(
    memory: &mut Memory,
    gas_left: &mut i64,
    offset: &U256,
    value: &U256,
) -> Result<(), StatusCode> {
    let (o, _) = memory.expand(gas_left, offset, &U256::from(1))?;
    memory.as_mut_slice()[o] = value.byte(0);
    Ok(())
}

/// CALLDATALOAD: the 32 bytes of `input` at `offset`, zero-padded past its end.
#[inline(always)]
pub fn calldataload(input: &[u8], offset: &U256) -> U256 {
    let mut buf = [0u8; 32];
    copy_padded(&mut buf, input, offset);
    U256::from_be_bytes(buf)
}

/// KECCAK256.
pub fn keccak(f: &mut Frame<'_>) -> Result<(), StatusCode> {
    let off = f.stack.pop();
    let size = *f.stack.peek(0);
    let (o, s) = expand(f, &off, &size)?;
    charge(f, 6 * num_words(s as u64) as i64)?;
    let h = keccak256(&f.memory.as_slice()[o..o + s]);
    *f.stack.top_mut() = h.to_word();
    Ok(())
}

/// Which buffer a copy instruction reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopySource {
    CallData,
    Code,
}

/// CALLDATACOPY and CODECOPY.
pub fn copy_to_memory(f: &mut Frame<'_>, src: CopySource) -> Result<(), StatusCode> {
    let mem_off = f.stack.pop();
    let src_off = f.stack.pop();
    let size = f.stack.pop();
    let (o, s) = expand(f, &mem_off, &size)?;
    charge_copy(f, s)?;
    if s > 0 {
        let data = match src {
            CopySource::CallData => f.msg.input,
            CopySource::Code => f.code,
        };
        copy_padded(&mut f.memory.as_mut_slice()[o..o + s], data, &src_off);
    }
    Ok(())
}

/// RETURNDATACOPY: reading past the end of the return data is an error (EIP-211).
pub fn returndatacopy(f: &mut Frame<'_>) -> Result<(), StatusCode> {
    let mem_off = f.stack.pop();
    let src_off = f.stack.pop();
    let size = f.stack.pop();
    let (o, s) = expand(f, &mem_off, &size)?;
    let start = saturating_u64(&src_off);
    let len = f.return_data.len() as u64;
    if start > len || len - start < saturating_u64(&size) {
        return Err(StatusCode::InvalidMemoryAccess);
    }
    charge_copy(f, s)?;
    if s > 0 {
        let start = start as usize;
        f.memory.as_mut_slice()[o..o + s].copy_from_slice(&f.return_data[start..start + s]);
    }
    Ok(())
}

/// MCOPY (EIP-5656).
pub fn mcopy(f: &mut Frame<'_>) -> Result<(), StatusCode> {
    let dst = f.stack.pop();
    let src = f.stack.pop();
    let size = f.stack.pop();
    let far = if src > dst { src } else { dst };
    let (_, s) = expand(f, &far, &size)?;
    charge_copy(f, s)?;
    if s > 0 {
        let (d, sr) = (dst.as_limbs()[0] as usize, src.as_limbs()[0] as usize);
        f.memory.as_mut_slice().copy_within(sr..sr + s, d);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Accounts and context
// ---------------------------------------------------------------------------------------------

/// Charges the EIP-2929 cold surcharge if `addr` was cold (from Berlin).
#[inline]
fn access_account(
    f: &mut Frame<'_>,
    host: &mut dyn Host,
    addr: &Address,
) -> Result<(), StatusCode> {
    if f.rev >= Revision::Berlin && host.access_account(addr) == AccessStatus::Cold {
        charge(f, COLD_ACCOUNT_SURCHARGE)?;
    }
    Ok(())
}

/// BALANCE.
pub fn balance(f: &mut Frame<'_>, host: &mut dyn Host) -> Result<(), StatusCode> {
    let addr = Address::from_word(*f.stack.peek(0));
    access_account(f, host, &addr)?;
    *f.stack.top_mut() = host.get_balance(&addr);
    Ok(())
}

/// EXTCODESIZE.
pub fn extcodesize(f: &mut Frame<'_>, host: &mut dyn Host) -> Result<(), StatusCode> {
    let addr = Address::from_word(*f.stack.peek(0));
    access_account(f, host, &addr)?;
    *f.stack.top_mut() = U256::from(host.get_code_size(&addr));
    Ok(())
}

/// EXTCODEHASH.
pub fn extcodehash(f: &mut Frame<'_>, host: &mut dyn Host) -> Result<(), StatusCode> {
    let addr = Address::from_word(*f.stack.peek(0));
    access_account(f, host, &addr)?;
    *f.stack.top_mut() = host.get_code_hash(&addr).to_word();
    Ok(())
}

/// EXTCODECOPY.
pub fn extcodecopy(f: &mut Frame<'_>, host: &mut dyn Host) -> Result<(), StatusCode> {
    let addr = Address::from_word(f.stack.pop());
    let mem_off = f.stack.pop();
    let code_off = f.stack.pop();
    let size = f.stack.pop();
    let (o, s) = expand(f, &mem_off, &size)?;
    charge_copy(f, s)?;
    access_account(f, host, &addr)?;
    if s > 0 {
        let start = usize::try_from(saturating_u64(&code_off)).unwrap_or(usize::MAX);
        let dst = &mut f.memory.as_mut_slice()[o..o + s];
        let n = host.copy_code(&addr, start, dst).min(s);
        dst[n..].fill(0);
    }
    Ok(())
}

/// BLOCKHASH: only the 256 most recent complete blocks are visible.
pub fn blockhash(f: &mut Frame<'_>, host: &mut dyn Host) {
    let n = *f.stack.peek(0);
    let current = f.tx_context(host).block_number;
    let lower = current.saturating_sub(256).max(0);
    let h = match i64::try_from(saturating_u64(&n)) {
        Ok(n) if n >= lower && n < current && n < i64::MAX => host.get_block_hash(n),
        _ => B256::ZERO,
    };
    *f.stack.top_mut() = h.to_word();
}

/// BLOBHASH (EIP-4844).
pub fn blobhash(f: &mut Frame<'_>, host: &mut dyn Host) {
    let i = saturating_u64(f.stack.peek(0));
    let hashes = &f.tx_context(host).blob_hashes;
    let h = usize::try_from(i)
        .ok()
        .and_then(|i| hashes.get(i))
        .copied()
        .unwrap_or(B256::ZERO);
    *f.stack.top_mut() = h.to_word();
}

// ---------------------------------------------------------------------------------------------
// Storage and logs
// ---------------------------------------------------------------------------------------------

/// SLOAD.
pub fn sload(f: &mut Frame<'_>, host: &mut dyn Host) -> Result<(), StatusCode> {
    let key = B256::from_word(*f.stack.peek(0));
    if f.rev >= Revision::Berlin
        && host.access_storage(&f.msg.recipient, &key) == AccessStatus::Cold
    {
        charge(f, COLD_SLOAD_SURCHARGE)?;
    }
    *f.stack.top_mut() = host.get_storage(&f.msg.recipient, &key).to_word();
    Ok(())
}

/// SSTORE's (gas, refund) for a storage status at a revision: the legacy schedule before
/// Constantinople and at Petersburg, net metering (EIP-1283, EIP-2200, EIP-2929, EIP-3529)
/// otherwise. Cold access is charged separately.
pub fn sstore_cost(rev: Revision, status: StorageStatus) -> (i64, i64) {
    use StorageStatus::*;
    const SET: i64 = 20000;
    if rev < Revision::Constantinople || rev == Revision::Petersburg {
        const RESET: i64 = 5000;
        const CLEAR: i64 = 15000;
        return match status {
            Added | DeletedAdded | DeletedRestored => (SET, 0),
            Deleted | ModifiedDeleted | AddedDeleted => (RESET, CLEAR),
            Assigned | Modified | ModifiedRestored => (RESET, 0),
        };
    }
    let warm = if rev >= Revision::Berlin {
        WARM_ACCESS_COST
    } else if rev >= Revision::Istanbul {
        800
    } else {
        200
    };
    let reset = if rev >= Revision::Berlin {
        5000 - COLD_SLOAD_COST
    } else {
        5000
    };
    let clear = if rev >= Revision::London { 4800 } else { 15000 };
    match status {
        Assigned => (warm, 0),
        Added => (SET, 0),
        Deleted => (reset, clear),
        Modified => (reset, 0),
        DeletedAdded => (warm, -clear),
        ModifiedDeleted => (warm, clear),
        DeletedRestored => (warm, reset - warm - clear),
        AddedDeleted => (warm, SET - warm),
        ModifiedRestored => (warm, reset - warm),
    }
}

/// SSTORE.
pub fn sstore(f: &mut Frame<'_>, host: &mut dyn Host) -> Result<(), StatusCode> {
    if f.msg.is_static() {
        return Err(StatusCode::StaticModeViolation);
    }
    // EIP-2200: SSTORE needs more than the call stipend left.
    if f.rev >= Revision::Istanbul && f.gas_left <= CALL_STIPEND {
        return Err(StatusCode::OutOfGas);
    }
    let key = B256::from_word(f.stack.pop());
    let value = B256::from_word(f.stack.pop());
    let mut cold = 0;
    if f.rev >= Revision::Berlin
        && host.access_storage(&f.msg.recipient, &key) == AccessStatus::Cold
    {
        cold = COLD_SLOAD_COST;
    }
    let status = host.set_storage(&f.msg.recipient, &key, &value);
    let (gas, refund) = sstore_cost(f.rev, status);
    charge(f, gas + cold)?;
    f.gas_refund += refund;
    Ok(())
}

/// TLOAD (EIP-1153).
pub fn tload(f: &mut Frame<'_>, host: &mut dyn Host) {
    let key = B256::from_word(*f.stack.peek(0));
    *f.stack.top_mut() = host.get_transient_storage(&f.msg.recipient, &key).to_word();
}

/// TSTORE (EIP-1153).
pub fn tstore(f: &mut Frame<'_>, host: &mut dyn Host) -> Result<(), StatusCode> {
    if f.msg.is_static() {
        return Err(StatusCode::StaticModeViolation);
    }
    let key = B256::from_word(f.stack.pop());
    let value = B256::from_word(f.stack.pop());
    host.set_transient_storage(&f.msg.recipient, &key, &value);
    Ok(())
}

/// LOG0..LOG4.
pub fn log(f: &mut Frame<'_>, host: &mut dyn Host, topics: usize) -> Result<(), StatusCode> {
    if f.msg.is_static() {
        return Err(StatusCode::StaticModeViolation);
    }
    let off = f.stack.pop();
    let size = f.stack.pop();
    let mut t = [B256::ZERO; 4];
    for slot in t.iter_mut().take(topics) {
        *slot = B256::from_word(f.stack.pop());
    }
    let (o, s) = expand(f, &off, &size)?;
    charge(f, 8 * s as i64)?;
    host.emit_log(
        &f.msg.recipient,
        &f.memory.as_slice()[o..o + s],
        &t[..topics],
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Calls, creates, halting
// ---------------------------------------------------------------------------------------------

/// The EIP-7702 delegate of `addr`, if its code is a delegation designator `0xef0100 ‖ address`.
pub fn delegate_of(host: &mut dyn Host, addr: &Address) -> Option<Address> {
    let mut buf = [0u8; 23];
    let n = host.copy_code(addr, 0, &mut buf);
    if n == buf.len() && buf[..3] == [0xef, 0x01, 0x00] {
        let mut a = [0u8; 20];
        a.copy_from_slice(&buf[3..]);
        Some(Address(a))
    } else {
        None
    }
}

/// CALL, CALLCODE, DELEGATECALL and STATICCALL.
#[inline(never)]
pub fn call(f: &mut Frame<'_>, host: &mut dyn Host, op: u8) -> Result<(), StatusCode> {
    let gas_req = f.stack.pop();
    let dst = Address::from_word(f.stack.pop());
    let value = if op == CALL || op == CALLCODE {
        f.stack.pop()
    } else {
        U256::ZERO
    };
    let in_off = f.stack.pop();
    let in_size = f.stack.pop();
    let out_off = f.stack.pop();
    let out_size = f.stack.pop();
    let has_value = !value.is_zero();

    access_account(f, host, &dst)?;

    let mut flags = if op == STATICCALL {
        FLAG_STATIC
    } else {
        f.msg.flags & FLAG_STATIC
    };
    let mut code_address = dst;
    if f.rev >= Revision::Prague {
        if let Some(delegate) = delegate_of(host, &dst) {
            code_address = delegate;
            flags |= FLAG_DELEGATED;
            let cost = match host.access_account(&delegate) {
                AccessStatus::Cold => COLD_ACCOUNT_ACCESS_COST,
                AccessStatus::Warm => WARM_ACCESS_COST,
            };
            charge(f, cost)?;
        }
    }

    let (in_o, in_s) = expand(f, &in_off, &in_size)?;
    let (out_o, out_s) = expand(f, &out_off, &out_size)?;

    let mut cost = if has_value { CALL_VALUE_COST } else { 0 };
    if op == CALL {
        if has_value && f.msg.is_static() {
            return Err(StatusCode::StaticModeViolation);
        }
        if (has_value || f.rev < Revision::SpuriousDragon) && !host.account_exists(&dst) {
            cost += ACCOUNT_CREATION_COST;
        }
    }
    charge(f, cost)?;

    let mut call_gas = i64::try_from(saturating_u64(&gas_req)).unwrap_or(i64::MAX);
    if f.rev >= Revision::TangerineWhistle {
        call_gas = call_gas.min(f.gas_left - f.gas_left / 64);
    } else if call_gas > f.gas_left {
        return Err(StatusCode::OutOfGas);
    }
    if has_value {
        call_gas += CALL_STIPEND;
        f.gas_left += CALL_STIPEND;
    }

    f.return_data.clear();
    if f.msg.depth >= MAX_CALL_DEPTH || (has_value && host.get_balance(&f.msg.recipient) < value) {
        // Light failure: the callee's gas comes back untouched.
        f.stack.push(U256::ZERO);
        return Ok(());
    }

    let (kind, recipient, sender, msg_value) = match op {
        CALL | STATICCALL => (CallKind::Call, dst, f.msg.recipient, value),
        CALLCODE => (CallKind::CallCode, f.msg.recipient, f.msg.recipient, value),
        _ => (
            CallKind::DelegateCall,
            f.msg.recipient,
            f.msg.sender,
            f.msg.value,
        ),
    };
    let result = {
        let msg = Message {
            kind,
            flags,
            depth: f.msg.depth + 1,
            gas: call_gas,
            recipient,
            sender,
            input: &f.memory.as_slice()[in_o..in_o + in_s],
            value: msg_value,
            create2_salt: B256::ZERO,
            code_address,
        };
        host.call(&msg)
    };
    let n = out_s.min(result.output.len());
    f.memory.as_mut_slice()[out_o..out_o + n].copy_from_slice(&result.output[..n]);
    f.return_data = result.output;
    f.stack
        .push(U256::from((result.status == StatusCode::Success) as u8));
    f.gas_left -= call_gas - result.gas_left;
    f.gas_refund += result.gas_refund;
    Ok(())
}

/// CREATE and CREATE2.
#[inline(never)]
pub fn create(f: &mut Frame<'_>, host: &mut dyn Host, op: u8) -> Result<(), StatusCode> {
    if f.msg.is_static() {
        return Err(StatusCode::StaticModeViolation);
    }
    let value = f.stack.pop();
    let off = f.stack.pop();
    let size = f.stack.pop();
    let salt = if op == CREATE2 {
        B256::from_word(f.stack.pop())
    } else {
        B256::ZERO
    };
    let (o, s) = expand(f, &off, &size)?;
    if f.rev >= Revision::Shanghai && s > MAX_INITCODE_SIZE {
        return Err(StatusCode::OutOfGas);
    }
    let per_word =
        if op == CREATE2 { 6 } else { 0 } + if f.rev >= Revision::Shanghai { 2 } else { 0 };
    charge(f, per_word * num_words(s as u64) as i64)?;

    f.return_data.clear();
    if f.msg.depth >= MAX_CALL_DEPTH
        || (!value.is_zero() && host.get_balance(&f.msg.recipient) < value)
    {
        f.stack.push(U256::ZERO);
        return Ok(());
    }
    let mut gas = f.gas_left;
    if f.rev >= Revision::TangerineWhistle {
        gas -= gas / 64;
    }
    f.gas_left -= gas;
    let result = {
        let msg = Message {
            kind: if op == CREATE2 {
                CallKind::Create2
            } else {
                CallKind::Create
            },
            flags: 0,
            depth: f.msg.depth + 1,
            gas,
            recipient: Address::ZERO,
            sender: f.msg.recipient,
            input: &f.memory.as_slice()[o..o + s],
            value,
            create2_salt: salt,
            code_address: Address::ZERO,
        };
        host.call(&msg)
    };
    f.gas_left += result.gas_left;
    f.gas_refund += result.gas_refund;
    let addr = match (result.status, result.create_address) {
        (StatusCode::Success, Some(a)) => a.to_word(),
        _ => U256::ZERO,
    };
    f.return_data = result.output;
    f.stack.push(addr);
    Ok(())
}

/// RETURN and REVERT: copies the output region into `f.output`.
pub fn set_output(f: &mut Frame<'_>) -> Result<(), StatusCode> {
    let off = f.stack.pop();
    let size = f.stack.pop();
    let (o, s) = expand(f, &off, &size)?;
    f.output = f.memory.as_slice()[o..o + s].to_vec();
    Ok(())
}

/// SELFDESTRUCT (halts the frame on success).
#[inline(never)]
pub fn selfdestruct(f: &mut Frame<'_>, host: &mut dyn Host) -> Result<(), StatusCode> {
    if f.msg.is_static() {
        return Err(StatusCode::StaticModeViolation);
    }
    let beneficiary = Address::from_word(f.stack.pop());
    if f.rev >= Revision::Berlin && host.access_account(&beneficiary) == AccessStatus::Cold {
        charge(f, COLD_ACCOUNT_ACCESS_COST)?;
    }
    if f.rev >= Revision::TangerineWhistle {
        let needs_account = if f.rev >= Revision::SpuriousDragon {
            !host.get_balance(&f.msg.recipient).is_zero() && !host.account_exists(&beneficiary)
        } else {
            !host.account_exists(&beneficiary)
        };
        if needs_account {
            charge(f, ACCOUNT_CREATION_COST)?;
        }
    }
    let first = host.selfdestruct(&f.msg.recipient, &beneficiary);
    if first && f.rev < Revision::London {
        f.gas_refund += SELFDESTRUCT_REFUND;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(x: u64) -> U256 {
        U256::from(x)
    }
    fn neg(x: u64) -> U256 {
        U256::from(x).wrapping_neg()
    }

    #[test]
    fn signed_division_and_remainder() {
        assert_eq!(sdiv(neg(10), u(3)), neg(3));
        assert_eq!(sdiv(u(10), neg(3)), neg(3));
        assert_eq!(sdiv(neg(10), neg(3)), u(3));
        assert_eq!(sdiv(SIGN_BIT, U256::MAX), SIGN_BIT, "MIN / -1 wraps to MIN");
        assert_eq!(sdiv(u(5), U256::ZERO), U256::ZERO);
        assert_eq!(smod(neg(10), u(3)), neg(1));
        assert_eq!(smod(u(10), neg(3)), u(1));
        assert_eq!(smod(u(10), U256::ZERO), U256::ZERO);
        assert_eq!(div(u(7), U256::ZERO), U256::ZERO);
        assert_eq!(rem(u(7), u(4)), u(3));
        // Powers of two take the shift/mask path; compare with the general algorithm.
        let x = U256::MAX - u(12345);
        for k in [0usize, 1, 63, 64, 65, 128, 200, 255] {
            let p = U256::from(1) << k;
            assert_eq!(div(x, p), x / p, "2^{k}");
            assert_eq!(rem(x, p), x % p, "2^{k}");
        }
        assert_eq!(div(x, u(3)), x / u(3));
        assert_eq!(rem(x, u(6)), x % u(6));
    }

    #[test]
    fn modular_arithmetic_uses_full_precision() {
        assert_eq!(addmod(U256::MAX, u(2), u(2)), u(1), "(2^256-1+2) mod 2 = 1");
        assert_eq!(mulmod(U256::MAX, U256::MAX, u(12)), u(9));
        assert_eq!(addmod(u(1), u(2), U256::ZERO), U256::ZERO);
        assert_eq!(mulmod(u(1), u(2), U256::ZERO), U256::ZERO);
    }

    #[test]
    fn sign_extension_bytes_and_shifts() {
        assert_eq!(signextend(u(0), u(0xff)), U256::MAX);
        assert_eq!(signextend(u(0), u(0x7f)), u(0x7f));
        assert_eq!(signextend(u(1), u(0x1_80ff)), neg(0x7f01));
        assert_eq!(signextend(u(31), u(5)), u(5));
        assert_eq!(signextend(U256::MAX, u(0xff)), u(0xff));
        assert_eq!(byte(u(31), u(0xab)), u(0xab));
        assert_eq!(byte(u(0), SIGN_BIT), u(0x80));
        assert_eq!(byte(u(32), U256::MAX), U256::ZERO);
        assert_eq!(shl(u(4), u(1)), u(16));
        assert_eq!(shl(u(256), u(1)), U256::ZERO);
        assert_eq!(shr(u(255), SIGN_BIT), u(1));
        assert_eq!(sar(u(4), neg(32)), neg(2));
        assert_eq!(sar(u(300), neg(1)), U256::MAX);
        assert_eq!(sar(u(300), u(1)), U256::ZERO);
        assert!(slt(neg(1), u(0)));
        assert!(!slt(u(0), neg(1)));
        assert_eq!(clz(U256::ZERO), u(256));
        assert_eq!(clz(u(1)), u(255));
        assert_eq!(clz(SIGN_BIT), u(0));
    }

    #[test]
    fn exp_gas_per_exponent_byte() {
        assert_eq!(exp_cost(Revision::Frontier, &u(0)), 0);
        assert_eq!(exp_cost(Revision::Frontier, &u(255)), 10);
        assert_eq!(exp_cost(Revision::Frontier, &u(256)), 20);
        assert_eq!(exp_cost(Revision::SpuriousDragon, &u(256)), 100);
        assert_eq!(exp_cost(Revision::Cancun, &U256::MAX), 32 * 50);
    }

    #[test]
    fn sstore_schedules() {
        use StorageStatus::*;
        // Legacy (Frontier..Byzantium, Petersburg).
        assert_eq!(sstore_cost(Revision::Byzantium, Added), (20000, 0));
        assert_eq!(sstore_cost(Revision::Petersburg, Deleted), (5000, 15000));
        assert_eq!(sstore_cost(Revision::Petersburg, Assigned), (5000, 0));
        // EIP-1283.
        assert_eq!(sstore_cost(Revision::Constantinople, Assigned), (200, 0));
        assert_eq!(
            sstore_cost(Revision::Constantinople, ModifiedRestored),
            (200, 4800)
        );
        // EIP-2200.
        assert_eq!(
            sstore_cost(Revision::Istanbul, DeletedRestored),
            (800, -10800)
        );
        assert_eq!(sstore_cost(Revision::Istanbul, AddedDeleted), (800, 19200));
        // EIP-2929 (Berlin) and EIP-3529 (London).
        assert_eq!(sstore_cost(Revision::Berlin, Modified), (2900, 0));
        assert_eq!(sstore_cost(Revision::Berlin, Deleted), (2900, 15000));
        assert_eq!(sstore_cost(Revision::London, Deleted), (2900, 4800));
        assert_eq!(sstore_cost(Revision::London, DeletedAdded), (100, -4800));
        assert_eq!(sstore_cost(Revision::London, ModifiedRestored), (100, 2800));
        assert_eq!(sstore_cost(Revision::London, AddedDeleted), (100, 19900));
    }
}
