//! Conversions between the EVMC ABI types and ember's Rust types, used in both directions
//! (the exported VM and the loader).
//!
//! Values that come from the other side of the ABI are validated here: unknown enum values
//! are mapped or rejected as each function documents, and raw pointer/length pairs are
//! checked before a slice is made from them.

use crate::abi::*;
use ember_evm::{Address, CallKind, ExecResult, Message, StatusCode, TxContext, B256, U256};
use std::ptr;

impl From<Address> for evmc_address {
    fn from(a: Address) -> Self {
        evmc_address { bytes: a.0 }
    }
}

impl From<evmc_address> for Address {
    fn from(a: evmc_address) -> Self {
        Address(a.bytes)
    }
}

impl From<B256> for evmc_bytes32 {
    fn from(b: B256) -> Self {
        evmc_bytes32 { bytes: b.0 }
    }
}

impl From<evmc_bytes32> for B256 {
    fn from(b: evmc_bytes32) -> Self {
        B256(b.bytes)
    }
}

/// A 256-bit word as EVMC's big-endian bytes.
pub(crate) fn u256_to_evmc(v: &U256) -> evmc_uint256be {
    evmc_bytes32 {
        bytes: v.to_be_bytes(),
    }
}

/// EVMC's big-endian bytes as a 256-bit word.
pub(crate) fn u256_from_evmc(v: &evmc_uint256be) -> U256 {
    U256::from_be_bytes(v.bytes)
}

/// Makes a slice from a C pointer and length.
///
/// Returns `None` for a malformed pair: NULL (or misaligned) with a non-zero length, or a
/// length whose byte size exceeds `isize::MAX`. A zero length gives an empty slice whatever
/// the pointer is.
///
/// # Safety
/// If `ptr` is non-NULL and `len > 0`, it must point to `len` initialised values of `T` that
/// stay valid and unmodified for `'a`.
pub(crate) unsafe fn slice_from_raw<'a, T>(ptr: *const T, len: usize) -> Option<&'a [T]> {
    if len == 0 {
        return Some(&[]);
    }
    if ptr.is_null() || !ptr.is_aligned() || len.checked_mul(size_of::<T>())? > isize::MAX as usize
    {
        return None;
    }
    // SAFETY: non-NULL, aligned, size within isize::MAX (checked above); validity for 'a is
    // the caller's promise.
    Some(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Makes a mutable byte slice from a C pointer and length; see [`slice_from_raw`].
///
/// # Safety
/// If `ptr` is non-NULL and `len > 0`, it must point to `len` writable bytes that nothing
/// else accesses for `'a`.
pub(crate) unsafe fn slice_from_raw_mut<'a>(ptr: *mut u8, len: usize) -> Option<&'a mut [u8]> {
    if len == 0 {
        return Some(&mut []);
    }
    if ptr.is_null() || len > isize::MAX as usize {
        return None;
    }
    // SAFETY: non-NULL, size within isize::MAX, u8 needs no alignment; exclusivity and
    // validity for 'a are the caller's promise.
    Some(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
}

/// The pointer to hand to C for a byte slice: NULL when it is empty.
fn data_ptr(bytes: &[u8]) -> *const u8 {
    if bytes.is_empty() {
        ptr::null()
    } else {
        bytes.as_ptr()
    }
}

/// A status number from the other side of the ABI. Numbers ember does not know (the
/// WASM-only 15 and 16, or garbage) become `Failure`: the frame failed, for a reason this
/// engine cannot name.
pub(crate) fn status_from_evmc(code: evmc_status_code) -> StatusCode {
    StatusCode::from_evmc(code.0).unwrap_or(StatusCode::Failure)
}

/// A call kind ember implements; `None` for `EVMC_EOFCREATE` (ember has no EOF) and for
/// unknown values.
pub(crate) fn call_kind_from_evmc(kind: evmc_call_kind) -> Option<CallKind> {
    match kind {
        evmc_call_kind::EVMC_CALL => Some(CallKind::Call),
        evmc_call_kind::EVMC_DELEGATECALL => Some(CallKind::DelegateCall),
        evmc_call_kind::EVMC_CALLCODE => Some(CallKind::CallCode),
        evmc_call_kind::EVMC_CREATE => Some(CallKind::Create),
        evmc_call_kind::EVMC_CREATE2 => Some(CallKind::Create2),
        _ => None,
    }
}

/// Why an `evmc_message` could not be converted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MessageError {
    /// A call kind ember does not implement (`EVMC_EOFCREATE`) or an unknown one.
    UnsupportedKind,
    /// `input_data` is NULL with a non-zero `input_size`, or the size is impossible.
    MalformedInput,
}

/// Converts an EVMC message. `flags` pass through unchanged; `code`/`code_size` (EOFCREATE's
/// init code, host side only) are not read.
///
/// # Safety
/// `msg.input_data` must satisfy [`slice_from_raw`]'s contract for `msg.input_size` bytes and
/// the lifetime `'a`.
pub(crate) unsafe fn message_from_evmc(msg: &evmc_message) -> Result<Message<'_>, MessageError> {
    let kind = call_kind_from_evmc(msg.kind).ok_or(MessageError::UnsupportedKind)?;
    // SAFETY: forwarded from this function's contract.
    let input = unsafe { slice_from_raw(msg.input_data, msg.input_size) }
        .ok_or(MessageError::MalformedInput)?;
    Ok(Message {
        kind,
        flags: msg.flags,
        depth: msg.depth,
        gas: msg.gas,
        recipient: msg.recipient.into(),
        sender: msg.sender.into(),
        input,
        value: u256_from_evmc(&msg.value),
        create2_salt: msg.create2_salt.into(),
        code_address: msg.code_address.into(),
    })
}

/// Converts a message for the other side. The result borrows `msg.input`; `code` is NULL
/// (ember never sends `EVMC_EOFCREATE`).
pub(crate) fn message_to_evmc(msg: &Message<'_>) -> evmc_message {
    evmc_message {
        kind: evmc_call_kind(msg.kind as i32),
        flags: msg.flags,
        depth: msg.depth,
        gas: msg.gas,
        recipient: msg.recipient.into(),
        sender: msg.sender.into(),
        input_data: data_ptr(msg.input),
        input_size: msg.input.len(),
        value: u256_to_evmc(&msg.value),
        create2_salt: msg.create2_salt.into(),
        code_address: msg.code_address.into(),
        code: ptr::null(),
        code_size: 0,
    }
}

/// A result with only a status (no gas, no output, no `release`).
pub(crate) fn bare_result(status: evmc_status_code) -> evmc_result {
    evmc_result {
        status_code: status,
        gas_left: 0,
        gas_refund: 0,
        output_data: ptr::null(),
        output_size: 0,
        release: None,
        create_address: evmc_address::default(),
        padding: [0; 4],
    }
}

/// Converts a result for the other side, handing over ownership of the output: it is
/// allocated as a `Box<[u8]>` and freed by [`release_result`], which the receiver must call
/// exactly once. Gas and refund pass through unchanged.
pub(crate) fn result_to_evmc(r: ExecResult) -> evmc_result {
    let (output_data, output_size) = if r.output.is_empty() {
        (ptr::null(), 0)
    } else {
        let output = Box::into_raw(r.output.into_boxed_slice());
        (output as *const u8, output.len())
    };
    evmc_result {
        status_code: evmc_status_code(r.status as i32),
        gas_left: r.gas_left,
        gas_refund: r.gas_refund,
        output_data,
        output_size,
        release: Some(release_result),
        create_address: r.create_address.unwrap_or_default().into(),
        padding: [0; 4],
    }
}

/// The `release` of every result made by [`result_to_evmc`]: frees the boxed output.
///
/// # Safety
/// `result` is NULL or points to a result made by [`result_to_evmc`] (or a copy of one) whose
/// output has not been released yet.
unsafe extern "C" fn release_result(result: *const evmc_result) {
    crate::ffi_guard((), || {
        // SAFETY: the caller passes NULL or a valid result (this function's contract).
        let Some(r) = (unsafe { result.as_ref() }) else {
            return;
        };
        if !r.output_data.is_null() {
            let output = ptr::slice_from_raw_parts_mut(r.output_data as *mut u8, r.output_size);
            // SAFETY: output_data/output_size are exactly what Box::into_raw produced in
            // result_to_evmc, and this is the one release of that box.
            drop(unsafe { Box::from_raw(output) });
        }
    })
}

/// Copies a result from the other side and releases it (calls its `release` if set).
/// An unknown status becomes `Failure` ([`status_from_evmc`]); a malformed output (NULL with
/// a non-zero size) is read as empty. `create_address` is kept only for results of creates.
///
/// # Safety
/// `r` must be a result just returned through EVMC and not yet released: its output pointer
/// valid for `output_size` bytes until released, its `release` callable once.
pub(crate) unsafe fn result_from_evmc(r: evmc_result, is_create: bool) -> ExecResult {
    // SAFETY: the output is valid until released (this function's contract).
    let output = unsafe { slice_from_raw(r.output_data, r.output_size) }
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    if let Some(release) = r.release {
        // SAFETY: released exactly once, after the output was copied.
        unsafe { release(&r) };
    }
    ExecResult {
        status: status_from_evmc(r.status_code),
        gas_left: r.gas_left,
        gas_refund: r.gas_refund,
        output,
        create_address: is_create.then(|| r.create_address.into()),
    }
}

/// Converts a transaction context for the other side. The result points into `blob_hashes`,
/// which the caller keeps alive (and unmoved in memory) while the context is in use.
pub(crate) fn tx_context_to_evmc(tx: &TxContext, blob_hashes: &[evmc_bytes32]) -> evmc_tx_context {
    evmc_tx_context {
        tx_gas_price: u256_to_evmc(&tx.gas_price),
        tx_origin: tx.origin.into(),
        block_coinbase: tx.coinbase.into(),
        block_number: tx.block_number,
        block_timestamp: tx.timestamp,
        block_gas_limit: tx.gas_limit,
        block_prev_randao: tx.prev_randao.into(),
        chain_id: u256_to_evmc(&tx.chain_id),
        block_base_fee: u256_to_evmc(&tx.base_fee),
        blob_base_fee: u256_to_evmc(&tx.blob_base_fee),
        blob_hashes: if blob_hashes.is_empty() {
            ptr::null()
        } else {
            blob_hashes.as_ptr()
        },
        blob_hashes_count: blob_hashes.len(),
        initcodes: ptr::null(),
        initcodes_count: 0,
    }
}

/// Converts a transaction context from the other side, copying the blob hashes. A malformed
/// blob hash array (NULL with a non-zero count) is read as empty.
///
/// # Safety
/// `tx.blob_hashes` must satisfy [`slice_from_raw`]'s contract for `tx.blob_hashes_count`
/// elements during this call.
pub(crate) unsafe fn tx_context_from_evmc(tx: &evmc_tx_context) -> TxContext {
    // SAFETY: forwarded from this function's contract.
    let blob_hashes = unsafe { slice_from_raw(tx.blob_hashes, tx.blob_hashes_count) }
        .map(|h| h.iter().map(|&b| B256::from(b)).collect())
        .unwrap_or_default();
    TxContext {
        gas_price: u256_from_evmc(&tx.tx_gas_price),
        origin: tx.tx_origin.into(),
        coinbase: tx.block_coinbase.into(),
        block_number: tx.block_number,
        timestamp: tx.block_timestamp,
        gas_limit: tx.block_gas_limit,
        prev_randao: tx.block_prev_randao.into(),
        chain_id: u256_from_evmc(&tx.chain_id),
        base_fee: u256_from_evmc(&tx.block_base_fee),
        blob_base_fee: u256_from_evmc(&tx.blob_base_fee),
        blob_hashes,
    }
}

#[cfg(test)]
mod tests;
