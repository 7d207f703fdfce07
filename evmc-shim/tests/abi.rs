//! The exported VM, called through its `evmc_vm` function pointers exactly as a C host
//! would: metadata, `set_option`, malformed calls, and one instance shared by 8 threads.

mod common;

use common::programs::{program, programs, run, with_big_stack, SharedEmber};
use ember::abi::*;
use ember::evmc_create_ember;
use ember_evm::{Interpreter, Revision, ALL_REVISIONS};
use std::ffi::{c_char, CStr};
use std::ptr;

/// An instance created through the C entry point, destroyed on drop.
struct Instance(*mut evmc_vm);

impl Instance {
    fn new() -> Self {
        let vm = evmc_create_ember();
        assert!(!vm.is_null());
        Instance(vm)
    }

    fn vm(&self) -> &evmc_vm {
        // SAFETY: a live instance from evmc_create_ember.
        unsafe { &*self.0 }
    }

    fn set_option(&self, name: *const c_char, value: *const c_char) -> evmc_set_option_result {
        // SAFETY: a live instance; the strings are NULL or NUL-terminated.
        unsafe { (self.vm().set_option.unwrap())(self.0, name, value) }
    }

    /// Calls `execute` with a host whose functions are all present but must not be reached.
    fn execute(
        &self,
        host: Option<&evmc_host_interface>,
        rev: i32,
        msg: Option<&evmc_message>,
        code: *const u8,
        code_size: usize,
    ) -> evmc_result {
        let host = host.map_or(ptr::null(), ptr::from_ref);
        let msg = msg.map_or(ptr::null(), ptr::from_ref);
        // SAFETY: a live instance; the pointers are NULL or valid for the call. A non-NULL
        // `code` comes with its true size or, deliberately, NULL with a non-zero size.
        unsafe {
            (self.vm().execute.unwrap())(
                self.0,
                host,
                ptr::null_mut(),
                evmc_revision(rev),
                msg,
                code,
                code_size,
            )
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // SAFETY: a live instance, destroyed once.
        unsafe { (self.vm().destroy.unwrap())(self.0) }
    }
}

/// Releases a result if it has a release function.
fn release(r: &evmc_result) {
    if let Some(f) = r.release {
        // SAFETY: a result just returned by execute, released once.
        unsafe { f(r) }
    }
}

/// Declares host functions that abort: the calls below end before any host access, so
/// reaching one is a bug (and a panic may not unwind out of an `extern "C"` function).
macro_rules! unreachable_fns {
    ($($name:ident($($arg:ty),*) -> $ret:ty;)*) => {
        $(unsafe extern "C" fn $name($(_: $arg),*) -> $ret {
            eprintln!("host function {} reached", stringify!($name));
            std::process::abort()
        })*
    };
}

type Ctx = *mut evmc_host_context;
type Addr = *const evmc_address;
type Word = *const evmc_bytes32;

unreachable_fns! {
    account_exists(Ctx, Addr) -> bool;
    get_storage(Ctx, Addr, Word) -> evmc_bytes32;
    set_storage(Ctx, Addr, Word, Word) -> evmc_storage_status;
    get_balance(Ctx, Addr) -> evmc_bytes32;
    get_code_size(Ctx, Addr) -> usize;
    get_code_hash(Ctx, Addr) -> evmc_bytes32;
    copy_code(Ctx, Addr, usize, *mut u8, usize) -> usize;
    selfdestruct(Ctx, Addr, Addr) -> bool;
    call(Ctx, *const evmc_message) -> evmc_result;
    get_tx_context(Ctx) -> evmc_tx_context;
    get_block_hash(Ctx, i64) -> evmc_bytes32;
    emit_log(Ctx, Addr, *const u8, usize, Word, usize) -> ();
    access_account(Ctx, Addr) -> evmc_access_status;
    access_storage(Ctx, Addr, Word) -> evmc_access_status;
    get_transient_storage(Ctx, Addr, Word) -> evmc_bytes32;
    set_transient_storage(Ctx, Addr, Word, Word) -> ();
}

/// A complete host interface whose functions must not be reached.
fn unreachable_host() -> evmc_host_interface {
    evmc_host_interface {
        account_exists: Some(account_exists),
        get_storage: Some(get_storage),
        set_storage: Some(set_storage),
        get_balance: Some(get_balance),
        get_code_size: Some(get_code_size),
        get_code_hash: Some(get_code_hash),
        copy_code: Some(copy_code),
        selfdestruct: Some(selfdestruct),
        call: Some(call),
        get_tx_context: Some(get_tx_context),
        get_block_hash: Some(get_block_hash),
        emit_log: Some(emit_log),
        access_account: Some(access_account),
        access_storage: Some(access_storage),
        get_transient_storage: Some(get_transient_storage),
        set_transient_storage: Some(set_transient_storage),
    }
}

fn message(gas: i64) -> evmc_message {
    evmc_message {
        kind: evmc_call_kind::EVMC_CALL,
        flags: 0,
        depth: 0,
        gas,
        recipient: evmc_address { bytes: [0xaa; 20] },
        sender: evmc_address { bytes: [0x11; 20] },
        input_data: ptr::null(),
        input_size: 0,
        value: evmc_bytes32::default(),
        create2_salt: evmc_bytes32::default(),
        code_address: evmc_address { bytes: [0xaa; 20] },
        code: ptr::null(),
        code_size: 0,
    }
}

/// PUSH1 7, PUSH1 0, MSTORE, PUSH1 32, PUSH1 0, RETURN: 3+3+6+3+3 = 18 gas, no host access.
const RETURN_7: [u8; 10] = [0x60, 0x07, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3];

#[test]
fn metadata() {
    let vm = Instance::new();
    let v = vm.vm();
    assert_eq!(v.abi_version, 12);
    // SAFETY: name and version are NUL-terminated statics.
    let (name, version) = unsafe { (CStr::from_ptr(v.name), CStr::from_ptr(v.version)) };
    assert_eq!(name.to_str(), Ok("ember"));
    assert_eq!(version.to_str(), Ok(env!("CARGO_PKG_VERSION")));
    // SAFETY: a live instance.
    let capabilities = unsafe { (v.get_capabilities.unwrap())(vm.0) };
    assert_eq!(capabilities, EVMC_CAPABILITY_EVM1);
}

#[test]
fn set_option_validates_names_and_values() {
    let vm = Instance::new();
    let ok = evmc_set_option_result::EVMC_SET_OPTION_SUCCESS;
    let bad_name = evmc_set_option_result::EVMC_SET_OPTION_INVALID_NAME;
    let bad_value = evmc_set_option_result::EVMC_SET_OPTION_INVALID_VALUE;
    assert_eq!(vm.set_option(c"tier".as_ptr(), c"interp".as_ptr()), ok);
    assert_eq!(vm.set_option(c"tier".as_ptr(), c"jit".as_ptr()), ok);
    assert_eq!(vm.set_option(c"tier".as_ptr(), c"auto".as_ptr()), ok);
    assert_eq!(vm.set_option(c"tier".as_ptr(), c"fast".as_ptr()), bad_value);
    assert_eq!(vm.set_option(c"tier".as_ptr(), c"".as_ptr()), bad_value);
    assert_eq!(vm.set_option(c"jit.hot-calls".as_ptr(), c"3".as_ptr()), ok);
    assert_eq!(
        vm.set_option(c"jit.workers".as_ptr(), c"0".as_ptr()),
        bad_value
    );
    assert_eq!(
        vm.set_option(c"jit.queue".as_ptr(), c"many".as_ptr()),
        bad_value
    );
    assert_eq!(
        vm.set_option(c"jit.hotness".as_ptr(), c"1".as_ptr()),
        bad_name
    );
    assert_eq!(
        vm.set_option(c"colour".as_ptr(), c"interp".as_ptr()),
        bad_name
    );
    assert_eq!(vm.set_option(ptr::null(), c"interp".as_ptr()), bad_name);
    assert_eq!(vm.set_option(c"tier".as_ptr(), ptr::null()), bad_value);
    assert_eq!(
        vm.set_option(c"ti\xffer".as_ptr(), c"interp".as_ptr()),
        bad_name
    );
    assert_eq!(
        vm.set_option(c"tier".as_ptr(), c"int\xc3erp".as_ptr()),
        bad_value
    );
    // SAFETY: a NULL vm is refused before anything is read.
    let r = unsafe {
        (vm.vm().set_option.unwrap())(ptr::null_mut(), c"tier".as_ptr(), c"interp".as_ptr())
    };
    assert_eq!(r, bad_name);
}

#[test]
fn unknown_revisions_and_call_kinds_are_rejected() {
    let vm = Instance::new();
    let host = unreachable_host();
    let msg = message(1000);
    for rev in [15, 16, 99, -1, i32::MIN, i32::MAX] {
        let r = vm.execute(
            Some(&host),
            rev,
            Some(&msg),
            RETURN_7.as_ptr(),
            RETURN_7.len(),
        );
        assert_eq!(
            r.status_code,
            evmc_status_code::EVMC_REJECTED,
            "revision {rev}"
        );
        assert_eq!((r.gas_left, r.output_size), (0, 0));
        release(&r);
    }
    for kind in [
        evmc_call_kind::EVMC_EOFCREATE,
        evmc_call_kind(6),
        evmc_call_kind(-1),
    ] {
        let msg = evmc_message {
            kind,
            ..message(1000)
        };
        let r = vm.execute(
            Some(&host),
            12,
            Some(&msg),
            RETURN_7.as_ptr(),
            RETURN_7.len(),
        );
        assert_eq!(
            r.status_code,
            evmc_status_code::EVMC_REJECTED,
            "kind {kind:?}"
        );
        release(&r);
    }
}

#[test]
fn every_implemented_revision_runs() {
    let vm = Instance::new();
    let host = unreachable_host();
    let msg = message(1000);
    for rev in ALL_REVISIONS {
        let r = vm.execute(
            Some(&host),
            rev as i32,
            Some(&msg),
            RETURN_7.as_ptr(),
            RETURN_7.len(),
        );
        assert_eq!(r.status_code, evmc_status_code::EVMC_SUCCESS, "{rev}");
        assert_eq!(r.gas_left, 1000 - 18);
        // SAFETY: a successful result with 32 bytes of output, not yet released.
        let out = unsafe { std::slice::from_raw_parts(r.output_data, r.output_size) };
        assert_eq!(out.len(), 32);
        assert_eq!(out[31], 7);
        assert!(out[..31].iter().all(|&b| b == 0));
        release(&r);
    }
}

#[test]
fn null_code_and_input_are_empty() {
    let vm = Instance::new();
    let host = unreachable_host();
    let msg = message(5000);
    let r = vm.execute(Some(&host), 12, Some(&msg), ptr::null(), 0);
    assert_eq!(r.status_code, evmc_status_code::EVMC_SUCCESS);
    assert_eq!(r.gas_left, 5000);
    assert_eq!(r.output_size, 0);
    assert!(r.output_data.is_null());
    release(&r);
}

#[test]
fn malformed_calls_are_internal_errors() {
    let vm = Instance::new();
    let host = unreachable_host();
    let msg = message(1000);
    let code = (RETURN_7.as_ptr(), RETURN_7.len());
    let internal = evmc_status_code::EVMC_INTERNAL_ERROR;

    assert_eq!(
        vm.execute(None, 12, Some(&msg), code.0, code.1).status_code,
        internal
    );
    assert_eq!(
        vm.execute(Some(&host), 12, None, code.0, code.1)
            .status_code,
        internal
    );
    assert_eq!(
        vm.execute(Some(&host), 12, Some(&msg), ptr::null(), 4)
            .status_code,
        internal
    );
    let no_input = evmc_message {
        input_size: 3,
        ..message(1000)
    };
    assert_eq!(
        vm.execute(Some(&host), 12, Some(&no_input), code.0, code.1)
            .status_code,
        internal
    );
    let negative_gas = message(-1);
    assert_eq!(
        vm.execute(Some(&host), 12, Some(&negative_gas), code.0, code.1)
            .status_code,
        internal
    );
    let huge = vm.execute(Some(&host), 12, Some(&msg), code.0, usize::MAX);
    assert_eq!(huge.status_code, internal);

    let mut incomplete = unreachable_host();
    incomplete.get_transient_storage = None;
    let r = vm.execute(Some(&incomplete), 12, Some(&msg), code.0, code.1);
    assert_eq!(r.status_code, internal);
    assert_eq!((r.gas_left, r.output_size), (0, 0));
    assert!(r.release.is_none());

    // SAFETY: a NULL vm is refused before anything is read.
    let r = unsafe {
        (vm.vm().execute.unwrap())(
            ptr::null_mut(),
            &host,
            ptr::null_mut(),
            evmc_revision(12),
            &msg,
            code.0,
            code.1,
        )
    };
    assert_eq!(r.status_code, internal);
}

#[test]
fn eight_threads_share_one_instance() {
    // Every program at three revisions, run by 8 threads at once on ONE instance (each with
    // its own host; nested frames re-enter the same instance), must match the built-in
    // interpreter run on this thread.
    let shared = SharedEmber::new();
    let revs = [Revision::Istanbul, Revision::Cancun, Revision::Osaka];
    let expected: Vec<_> = with_big_stack(|| {
        programs()
            .into_iter()
            .flat_map(|(name, p)| {
                revs.map(|rev| (name, rev, run(&Interpreter, rev, &p, 3_000_000)))
            })
            .collect()
    });
    std::thread::scope(|s| {
        for t in 0..8 {
            let (shared, expected) = (&shared, &expected);
            std::thread::Builder::new()
                .stack_size(1 << 30)
                .spawn_scoped(s, move || {
                    // Threads start at different programs so that different code runs at once.
                    for i in 0..expected.len() {
                        let (name, rev, want) = &expected[(i + 3 * t) % expected.len()];
                        let got = run(shared, *rev, &program(name), 3_000_000);
                        assert_eq!(&got, want, "thread {t}: {name} at {rev}");
                    }
                })
                .expect("spawn");
        }
    });
}
