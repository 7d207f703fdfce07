//! The EVMC 12.1 ABI (`include/evmc/evmc.h`), declared by hand as `#[repr(C)]` types.
//!
//! Names follow the C header so the two can be read side by side. Enums whose values come
//! from the other side of the ABI (a host or a foreign VM) are integer newtypes with
//! associated constants rather than Rust `enum`s: an out-of-range value from a buggy peer
//! must be representable, not undefined behaviour. Every function pointer is an `Option`
//! because C may hand us NULL.
//!
//! The layouts are checked field by field against the offsets measured on the real header
//! (x86-64 LP64) in this module's tests, and the same offsets are asserted at compile time
//! in the C header `include/ember_evmc.h`.

#![allow(non_camel_case_types)]
// Each item carries the C header's name; evmc.h documents its members, and repeating that
// here would be a second copy to keep in step.
#![allow(missing_docs)]

use std::ffi::c_char;

/// `EVMC_ABI_VERSION`: the ABI version this crate implements and accepts.
pub const EVMC_ABI_VERSION: i32 = 12;

/// `evmc_address`: a 20-byte account address.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct evmc_address {
    pub bytes: [u8; 20],
}

/// `evmc_bytes32`: 32 bytes (storage keys and values, hashes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct evmc_bytes32 {
    pub bytes: [u8; 32],
}

/// `evmc_uint256be`: a 256-bit big-endian integer.
pub type evmc_uint256be = evmc_bytes32;

/// `struct evmc_host_context`: opaque to the VM, which only passes it back to the host.
#[repr(C)]
pub struct evmc_host_context {
    _opaque: [u8; 0],
}

/// `enum evmc_call_kind`.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct evmc_call_kind(pub i32);

impl evmc_call_kind {
    pub const EVMC_CALL: Self = Self(0);
    pub const EVMC_DELEGATECALL: Self = Self(1);
    pub const EVMC_CALLCODE: Self = Self(2);
    pub const EVMC_CREATE: Self = Self(3);
    pub const EVMC_CREATE2: Self = Self(4);
    pub const EVMC_EOFCREATE: Self = Self(5);
}

/// `enum evmc_flags` bit: static call.
pub const EVMC_STATIC: u32 = 1;
/// `enum evmc_flags` bit: the code is an EIP-7702 delegation target (EVMC 12.1).
pub const EVMC_DELEGATED: u32 = 2;

/// `enum evmc_status_code`.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct evmc_status_code(pub i32);

impl evmc_status_code {
    pub const EVMC_SUCCESS: Self = Self(0);
    pub const EVMC_FAILURE: Self = Self(1);
    pub const EVMC_REVERT: Self = Self(2);
    pub const EVMC_OUT_OF_GAS: Self = Self(3);
    pub const EVMC_INVALID_INSTRUCTION: Self = Self(4);
    pub const EVMC_UNDEFINED_INSTRUCTION: Self = Self(5);
    pub const EVMC_STACK_OVERFLOW: Self = Self(6);
    pub const EVMC_STACK_UNDERFLOW: Self = Self(7);
    pub const EVMC_BAD_JUMP_DESTINATION: Self = Self(8);
    pub const EVMC_INVALID_MEMORY_ACCESS: Self = Self(9);
    pub const EVMC_CALL_DEPTH_EXCEEDED: Self = Self(10);
    pub const EVMC_STATIC_MODE_VIOLATION: Self = Self(11);
    pub const EVMC_PRECOMPILE_FAILURE: Self = Self(12);
    pub const EVMC_CONTRACT_VALIDATION_FAILURE: Self = Self(13);
    pub const EVMC_ARGUMENT_OUT_OF_RANGE: Self = Self(14);
    pub const EVMC_WASM_UNREACHABLE_INSTRUCTION: Self = Self(15);
    pub const EVMC_WASM_TRAP: Self = Self(16);
    pub const EVMC_INSUFFICIENT_BALANCE: Self = Self(17);
    pub const EVMC_INTERNAL_ERROR: Self = Self(-1);
    pub const EVMC_REJECTED: Self = Self(-2);
    pub const EVMC_OUT_OF_MEMORY: Self = Self(-3);
}

/// `enum evmc_revision`.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct evmc_revision(pub i32);

impl evmc_revision {
    pub const EVMC_FRONTIER: Self = Self(0);
    pub const EVMC_HOMESTEAD: Self = Self(1);
    pub const EVMC_TANGERINE_WHISTLE: Self = Self(2);
    pub const EVMC_SPURIOUS_DRAGON: Self = Self(3);
    pub const EVMC_BYZANTIUM: Self = Self(4);
    pub const EVMC_CONSTANTINOPLE: Self = Self(5);
    pub const EVMC_PETERSBURG: Self = Self(6);
    pub const EVMC_ISTANBUL: Self = Self(7);
    pub const EVMC_BERLIN: Self = Self(8);
    pub const EVMC_LONDON: Self = Self(9);
    pub const EVMC_PARIS: Self = Self(10);
    pub const EVMC_SHANGHAI: Self = Self(11);
    pub const EVMC_CANCUN: Self = Self(12);
    pub const EVMC_PRAGUE: Self = Self(13);
    pub const EVMC_OSAKA: Self = Self(14);
    pub const EVMC_EXPERIMENTAL: Self = Self(15);
}

/// `enum evmc_storage_status`: how `set_storage` changed a slot (original → current → new).
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct evmc_storage_status(pub i32);

impl evmc_storage_status {
    pub const EVMC_STORAGE_ASSIGNED: Self = Self(0);
    pub const EVMC_STORAGE_ADDED: Self = Self(1);
    pub const EVMC_STORAGE_DELETED: Self = Self(2);
    pub const EVMC_STORAGE_MODIFIED: Self = Self(3);
    pub const EVMC_STORAGE_DELETED_ADDED: Self = Self(4);
    pub const EVMC_STORAGE_MODIFIED_DELETED: Self = Self(5);
    pub const EVMC_STORAGE_DELETED_RESTORED: Self = Self(6);
    pub const EVMC_STORAGE_ADDED_DELETED: Self = Self(7);
    pub const EVMC_STORAGE_MODIFIED_RESTORED: Self = Self(8);
}

/// `enum evmc_access_status` (EIP-2929).
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct evmc_access_status(pub i32);

impl evmc_access_status {
    pub const EVMC_ACCESS_COLD: Self = Self(0);
    pub const EVMC_ACCESS_WARM: Self = Self(1);
}

/// `evmc_capabilities_flagset`.
pub type evmc_capabilities_flagset = u32;
/// `EVMC_CAPABILITY_EVM1`: the VM executes EVM1 bytecode.
pub const EVMC_CAPABILITY_EVM1: u32 = 1;
/// `EVMC_CAPABILITY_EWASM`: the VM executes ewasm code.
pub const EVMC_CAPABILITY_EWASM: u32 = 2;
/// `EVMC_CAPABILITY_PRECOMPILES`: the VM runs precompiles itself (experimental).
pub const EVMC_CAPABILITY_PRECOMPILES: u32 = 4;

/// `enum evmc_set_option_result`.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct evmc_set_option_result(pub i32);

impl evmc_set_option_result {
    pub const EVMC_SET_OPTION_SUCCESS: Self = Self(0);
    pub const EVMC_SET_OPTION_INVALID_NAME: Self = Self(1);
    pub const EVMC_SET_OPTION_INVALID_VALUE: Self = Self(2);
}

/// `struct evmc_message`: the parameters of one call frame (184 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct evmc_message {
    pub kind: evmc_call_kind,
    pub flags: u32,
    pub depth: i32,
    pub gas: i64,
    pub recipient: evmc_address,
    pub sender: evmc_address,
    pub input_data: *const u8,
    pub input_size: usize,
    pub value: evmc_uint256be,
    pub create2_salt: evmc_bytes32,
    pub code_address: evmc_address,
    /// Init code for `EVMC_EOFCREATE` (host side only; a VM runs `execute`'s `code`).
    pub code: *const u8,
    pub code_size: usize,
}

/// `evmc_release_result_fn`.
pub type evmc_release_result_fn = unsafe extern "C" fn(result: *const evmc_result);

/// `struct evmc_result` (72 bytes). Whoever receives one calls `release` exactly once.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct evmc_result {
    pub status_code: evmc_status_code,
    pub gas_left: i64,
    pub gas_refund: i64,
    pub output_data: *const u8,
    pub output_size: usize,
    pub release: Option<evmc_release_result_fn>,
    pub create_address: evmc_address,
    /// With `create_address`, the 24 bytes of "optional data" the result's creator may use.
    pub padding: [u8; 4],
}

/// `struct evmc_tx_initcode` (48 bytes; EOF's TXCREATE, unused by legacy EVM).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct evmc_tx_initcode {
    pub hash: evmc_bytes32,
    pub code: *const u8,
    pub code_size: usize,
}

/// `struct evmc_tx_context`: the transaction and block context (256 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct evmc_tx_context {
    pub tx_gas_price: evmc_uint256be,
    pub tx_origin: evmc_address,
    pub block_coinbase: evmc_address,
    pub block_number: i64,
    pub block_timestamp: i64,
    pub block_gas_limit: i64,
    pub block_prev_randao: evmc_uint256be,
    pub chain_id: evmc_uint256be,
    pub block_base_fee: evmc_uint256be,
    pub blob_base_fee: evmc_uint256be,
    pub blob_hashes: *const evmc_bytes32,
    pub blob_hashes_count: usize,
    pub initcodes: *const evmc_tx_initcode,
    pub initcodes_count: usize,
}

/// `evmc_account_exists_fn`.
pub type evmc_account_exists_fn =
    unsafe extern "C" fn(ctx: *mut evmc_host_context, address: *const evmc_address) -> bool;
/// `evmc_get_storage_fn`.
pub type evmc_get_storage_fn = unsafe extern "C" fn(
    ctx: *mut evmc_host_context,
    address: *const evmc_address,
    key: *const evmc_bytes32,
) -> evmc_bytes32;
/// `evmc_set_storage_fn`.
pub type evmc_set_storage_fn = unsafe extern "C" fn(
    ctx: *mut evmc_host_context,
    address: *const evmc_address,
    key: *const evmc_bytes32,
    value: *const evmc_bytes32,
) -> evmc_storage_status;
/// `evmc_get_balance_fn`.
pub type evmc_get_balance_fn = unsafe extern "C" fn(
    ctx: *mut evmc_host_context,
    address: *const evmc_address,
) -> evmc_uint256be;
/// `evmc_get_code_size_fn`.
pub type evmc_get_code_size_fn =
    unsafe extern "C" fn(ctx: *mut evmc_host_context, address: *const evmc_address) -> usize;
/// `evmc_get_code_hash_fn`.
pub type evmc_get_code_hash_fn =
    unsafe extern "C" fn(ctx: *mut evmc_host_context, address: *const evmc_address) -> evmc_bytes32;
/// `evmc_copy_code_fn`.
pub type evmc_copy_code_fn = unsafe extern "C" fn(
    ctx: *mut evmc_host_context,
    address: *const evmc_address,
    code_offset: usize,
    buffer_data: *mut u8,
    buffer_size: usize,
) -> usize;
/// `evmc_selfdestruct_fn`.
pub type evmc_selfdestruct_fn = unsafe extern "C" fn(
    ctx: *mut evmc_host_context,
    address: *const evmc_address,
    beneficiary: *const evmc_address,
) -> bool;
/// `evmc_call_fn`.
pub type evmc_call_fn =
    unsafe extern "C" fn(ctx: *mut evmc_host_context, msg: *const evmc_message) -> evmc_result;
/// `evmc_get_tx_context_fn`.
pub type evmc_get_tx_context_fn =
    unsafe extern "C" fn(ctx: *mut evmc_host_context) -> evmc_tx_context;
/// `evmc_get_block_hash_fn`.
pub type evmc_get_block_hash_fn =
    unsafe extern "C" fn(ctx: *mut evmc_host_context, number: i64) -> evmc_bytes32;
/// `evmc_emit_log_fn`.
pub type evmc_emit_log_fn = unsafe extern "C" fn(
    ctx: *mut evmc_host_context,
    address: *const evmc_address,
    data: *const u8,
    data_size: usize,
    topics: *const evmc_bytes32,
    topics_count: usize,
);
/// `evmc_access_account_fn`.
pub type evmc_access_account_fn = unsafe extern "C" fn(
    ctx: *mut evmc_host_context,
    address: *const evmc_address,
) -> evmc_access_status;
/// `evmc_access_storage_fn`.
pub type evmc_access_storage_fn = unsafe extern "C" fn(
    ctx: *mut evmc_host_context,
    address: *const evmc_address,
    key: *const evmc_bytes32,
) -> evmc_access_status;
/// `evmc_get_transient_storage_fn`.
pub type evmc_get_transient_storage_fn = unsafe extern "C" fn(
    ctx: *mut evmc_host_context,
    address: *const evmc_address,
    key: *const evmc_bytes32,
) -> evmc_bytes32;
/// `evmc_set_transient_storage_fn`.
pub type evmc_set_transient_storage_fn = unsafe extern "C" fn(
    ctx: *mut evmc_host_context,
    address: *const evmc_address,
    key: *const evmc_bytes32,
    value: *const evmc_bytes32,
);

/// `struct evmc_host_interface`: the host's 16 callbacks, in header order (128 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct evmc_host_interface {
    pub account_exists: Option<evmc_account_exists_fn>,
    pub get_storage: Option<evmc_get_storage_fn>,
    pub set_storage: Option<evmc_set_storage_fn>,
    pub get_balance: Option<evmc_get_balance_fn>,
    pub get_code_size: Option<evmc_get_code_size_fn>,
    pub get_code_hash: Option<evmc_get_code_hash_fn>,
    pub copy_code: Option<evmc_copy_code_fn>,
    pub selfdestruct: Option<evmc_selfdestruct_fn>,
    pub call: Option<evmc_call_fn>,
    pub get_tx_context: Option<evmc_get_tx_context_fn>,
    pub get_block_hash: Option<evmc_get_block_hash_fn>,
    pub emit_log: Option<evmc_emit_log_fn>,
    pub access_account: Option<evmc_access_account_fn>,
    pub access_storage: Option<evmc_access_storage_fn>,
    pub get_transient_storage: Option<evmc_get_transient_storage_fn>,
    pub set_transient_storage: Option<evmc_set_transient_storage_fn>,
}

/// `evmc_destroy_fn`.
pub type evmc_destroy_fn = unsafe extern "C" fn(vm: *mut evmc_vm);
/// `evmc_execute_fn`.
pub type evmc_execute_fn = unsafe extern "C" fn(
    vm: *mut evmc_vm,
    host: *const evmc_host_interface,
    context: *mut evmc_host_context,
    rev: evmc_revision,
    msg: *const evmc_message,
    code: *const u8,
    code_size: usize,
) -> evmc_result;
/// `evmc_get_capabilities_fn`.
pub type evmc_get_capabilities_fn =
    unsafe extern "C" fn(vm: *mut evmc_vm) -> evmc_capabilities_flagset;
/// `evmc_set_option_fn`.
pub type evmc_set_option_fn = unsafe extern "C" fn(
    vm: *mut evmc_vm,
    name: *const c_char,
    value: *const c_char,
) -> evmc_set_option_result;

/// `struct evmc_vm`: a VM instance (56 bytes). VMs embed it as their first field.
#[repr(C)]
#[derive(Debug)]
pub struct evmc_vm {
    pub abi_version: i32,
    pub name: *const c_char,
    pub version: *const c_char,
    pub destroy: Option<evmc_destroy_fn>,
    pub execute: Option<evmc_execute_fn>,
    pub get_capabilities: Option<evmc_get_capabilities_fn>,
    pub set_option: Option<evmc_set_option_fn>,
}

/// `evmc_create_fn`: the `evmc_create_<name>` entry point of a VM library.
pub type evmc_create_fn = unsafe extern "C" fn() -> *mut evmc_vm;

#[cfg(test)]
mod tests;
