//! The exported EVMC VM: `evmc_create_ember()` and the functions of its `evmc_vm`.
//!
//! One instance may serve many host threads at once: the instance is immutable after
//! creation except for its [`Options`], which are set through `&self`.
//!
//! `execute` answers malformed calls without running anything:
//! - a revision ember does not implement (negative, or `EVMC_EXPERIMENTAL` and above), or
//!   a call kind it does not implement (`EVMC_EOFCREATE`): `EVMC_REJECTED` — "this VM can't
//!   run it", so the host may try another VM;
//! - a NULL VM, host interface or message, a NULL host function, a NULL `code` or
//!   `input_data` with a non-zero size, or negative gas: `EVMC_INTERNAL_ERROR`.
//!
//! A panic inside ember is caught and reported as `EVMC_INTERNAL_ERROR`. The result's
//! `release` frees its output; `gas_left` is zero unless the status is SUCCESS or REVERT, and
//! `gas_refund` zero unless SUCCESS, as EVMC requires.

use crate::abi::*;
use crate::convert::{
    bare_result, message_from_evmc, result_to_evmc, slice_from_raw, MessageError,
};
use crate::ffi_guard;
use crate::host_adapter::{HostAdapter, HostFns};
use crate::options::Options;
use ember_evm::{ExecResult, Host, Message, Revision, StatusCode};
use std::ffi::{c_char, CStr};

/// The VM's name, as `evmc_vm::name` reports it.
pub const NAME: &CStr = c"ember";

/// The crate version, as `evmc_vm::version` reports it.
pub const VERSION: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(v) => v,
        Err(_) => panic!("the crate version contains a NUL byte"),
    };

/// An ember VM instance. `base` comes first so that a `*mut evmc_vm` handed out by
/// [`evmc_create_ember`] is also a `*mut EmberVm`.
#[repr(C)]
struct EmberVm {
    base: evmc_vm,
    options: Options,
}

impl EmberVm {
    /// Runs one frame: the one place the engine is called. The runtime picks the tier
    /// (`auto` unless `set_option` said otherwise).
    fn run(
        &self,
        host: &mut dyn Host,
        rev: Revision,
        msg: &Message<'_>,
        code: &[u8],
    ) -> ExecResult {
        self.options.run(host, rev, msg, code)
    }
}

/// Creates an ember VM instance: the EVMC entry point of `libember.so`.
///
/// The instance must be freed with its `destroy` function. Returns NULL only if creation
/// panicked (it allocates, nothing else).
#[no_mangle]
pub extern "C" fn evmc_create_ember() -> *mut evmc_vm {
    ffi_guard(std::ptr::null_mut(), || {
        let vm = Box::new(EmberVm {
            base: evmc_vm {
                abi_version: EVMC_ABI_VERSION,
                name: NAME.as_ptr(),
                version: VERSION.as_ptr(),
                destroy: Some(destroy),
                execute: Some(execute),
                get_capabilities: Some(get_capabilities),
                set_option: Some(set_option),
            },
            options: Options::default(),
        });
        Box::into_raw(vm).cast::<evmc_vm>()
    })
}

/// The instance behind an `evmc_vm` pointer.
///
/// # Safety
/// `vm` is NULL or was returned by [`evmc_create_ember`] and not yet destroyed.
unsafe fn ember<'a>(vm: *mut evmc_vm) -> Option<&'a EmberVm> {
    // SAFETY: a non-NULL `vm` points to the `base` field, at offset 0 of a live `EmberVm`
    // (`#[repr(C)]`), so the cast pointer is valid for reads of the whole struct.
    unsafe { vm.cast::<EmberVm>().as_ref() }
}

/// `evmc_vm::destroy`.
///
/// # Safety
/// `vm` is NULL or came from [`evmc_create_ember`], and no other call uses it now or later.
unsafe extern "C" fn destroy(vm: *mut evmc_vm) {
    ffi_guard((), || {
        if !vm.is_null() {
            // SAFETY: `vm` is the pointer Box::into_raw returned in evmc_create_ember (the
            // `base` field is at offset 0), and this is its only destruction.
            drop(unsafe { Box::from_raw(vm.cast::<EmberVm>()) });
        }
    })
}

/// `evmc_vm::get_capabilities`: ember runs EVM1 bytecode. (It returns a constant, so there
/// is no panic to contain.)
unsafe extern "C" fn get_capabilities(_vm: *mut evmc_vm) -> evmc_capabilities_flagset {
    EVMC_CAPABILITY_EVM1
}

/// `evmc_vm::set_option`. The name is checked before the value (as evmc-vmtester expects):
/// a NULL, non-UTF-8 or unknown name is `INVALID_NAME` whatever the value; a NULL or
/// non-UTF-8 value for a known name is `INVALID_VALUE`. See [`Options::set`] for the options.
///
/// # Safety
/// `vm` is NULL or a live instance from [`evmc_create_ember`]; `name` and `value` are NULL
/// or NUL-terminated strings.
unsafe extern "C" fn set_option(
    vm: *mut evmc_vm,
    name: *const c_char,
    value: *const c_char,
) -> evmc_set_option_result {
    const INVALID_NAME: evmc_set_option_result =
        evmc_set_option_result::EVMC_SET_OPTION_INVALID_NAME;
    const INVALID_VALUE: evmc_set_option_result =
        evmc_set_option_result::EVMC_SET_OPTION_INVALID_VALUE;
    ffi_guard(INVALID_VALUE, || {
        // SAFETY: `vm` is NULL or a live instance (this function's contract).
        let Some(vm) = (unsafe { ember(vm) }) else {
            return INVALID_NAME;
        };
        if name.is_null() {
            return INVALID_NAME;
        }
        // SAFETY: non-NULL and NUL-terminated (this function's contract).
        let Ok(name) = unsafe { CStr::from_ptr(name) }.to_str() else {
            return INVALID_NAME;
        };
        if !Options::knows(name) {
            return INVALID_NAME;
        }
        if value.is_null() {
            return INVALID_VALUE;
        }
        // SAFETY: as for `name`.
        let Ok(value) = unsafe { CStr::from_ptr(value) }.to_str() else {
            return INVALID_VALUE;
        };
        match vm.options.set(name, value) {
            Ok(()) => evmc_set_option_result::EVMC_SET_OPTION_SUCCESS,
            Err(crate::OptionError::UnknownName(_)) => INVALID_NAME,
            Err(crate::OptionError::InvalidValue { .. }) => INVALID_VALUE,
        }
    })
}

/// `evmc_vm::execute`. See the module documentation for how malformed calls are answered.
///
/// # Safety
/// The EVMC contract: `vm` is a live instance from [`evmc_create_ember`]; `host` and `msg`
/// point to valid values for the duration of the call; `code` (if non-NULL) points to
/// `code_size` bytes and `msg.input_data` (if non-NULL) to `msg.input_size` bytes, unchanged
/// during the call; the host functions follow their EVMC contracts when called with
/// `context`.
unsafe extern "C" fn execute(
    vm: *mut evmc_vm,
    host: *const evmc_host_interface,
    context: *mut evmc_host_context,
    rev: evmc_revision,
    msg: *const evmc_message,
    code: *const u8,
    code_size: usize,
) -> evmc_result {
    let internal_error = || bare_result(evmc_status_code::EVMC_INTERNAL_ERROR);
    ffi_guard(internal_error(), || {
        // SAFETY: all pointers are NULL or valid for this call (this function's contract).
        let (vm, host, msg) = unsafe { (ember(vm), host.as_ref(), msg.as_ref()) };
        let (Some(vm), Some(host), Some(msg)) = (vm, host, msg) else {
            return internal_error();
        };
        let Some(rev) = Revision::from_evmc(rev.0) else {
            return bare_result(evmc_status_code::EVMC_REJECTED);
        };
        // SAFETY: `msg.input_data` is valid for `msg.input_size` bytes (contract).
        let msg = match unsafe { message_from_evmc(msg) } {
            Ok(m) => m,
            Err(MessageError::UnsupportedKind) => {
                return bare_result(evmc_status_code::EVMC_REJECTED)
            }
            Err(MessageError::MalformedInput) => return internal_error(),
        };
        // SAFETY: `code` is valid for `code_size` bytes (contract).
        let code = unsafe { slice_from_raw(code, code_size) };
        let (Some(code), Some(fns), true) = (code, HostFns::new(host), msg.gas >= 0) else {
            return internal_error();
        };
        // SAFETY: `fns` and `context` are what the host passed to this call, and the
        // adapter is dropped before it returns.
        let mut adapter = unsafe { HostAdapter::new(fns, context) };
        result_to_evmc(evmc_conformant(vm.run(&mut adapter, rev, &msg, code)))
    })
}

/// Zeroes what EVMC says must be zero: `gas_left` unless SUCCESS or REVERT, `gas_refund`
/// unless SUCCESS.
fn evmc_conformant(mut r: ExecResult) -> ExecResult {
    if !matches!(r.status, StatusCode::Success | StatusCode::Revert) {
        r.gas_left = 0;
    }
    if r.status != StatusCode::Success {
        r.gas_refund = 0;
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_success_results_carry_no_gas() {
        let r = |status| ExecResult {
            status,
            gas_left: 10,
            gas_refund: 5,
            output: vec![],
            create_address: None,
        };
        let ok = evmc_conformant(r(StatusCode::Success));
        assert_eq!((ok.gas_left, ok.gas_refund), (10, 5));
        let revert = evmc_conformant(r(StatusCode::Revert));
        assert_eq!((revert.gas_left, revert.gas_refund), (10, 0));
        let oog = evmc_conformant(r(StatusCode::OutOfGas));
        assert_eq!((oog.gas_left, oog.gas_refund), (0, 0));
    }

    #[test]
    fn version_is_the_crate_version() {
        assert_eq!(VERSION.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
        assert_eq!(NAME.to_str().unwrap(), "ember");
    }
}
