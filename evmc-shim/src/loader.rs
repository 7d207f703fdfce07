//! Loading EVMC VMs from shared libraries and running them behind [`ember_evm::Vm`].
//!
//! [`EvmcVm`] finds a library's `evmc_create_<name>` entry point the way EVMC's loader
//! does, checks the ABI version, applies options, and exposes the caller's `&mut dyn Host`
//! to the foreign VM as an `evmc_host_interface` whose functions are trampolines into the
//! Rust host. Nested calls re-enter: the foreign VM calls `host->call`, the Rust host runs
//! the frame by calling [`Vm::execute`] on the same [`EvmcVm`] again.
//!
//! EVMC VMs are not required to be thread-safe (evmone's keeps per-depth execution state in
//! the instance), so [`EvmcVm`] gives every thread its own instance, created on the thread's
//! first call with the same options and kept until the [`EvmcVm`] is dropped. A thread's
//! nested calls use its instance, as they would in a C host.
//!
//! A panic in a Rust host callback is caught in the trampoline. So is a malformed argument
//! from the foreign VM (NULL pointers where data is required, a call kind ember's hosts do
//! not implement). Either way the host is not called again during that execution, the
//! trampoline returns a neutral value, and [`execute_evmc`] reports `InternalError` once the
//! VM returns. The [`Host::tracer`] is not used: EVMC has no tracing interface.

use crate::abi::*;
use crate::convert::{
    bare_result, message_from_evmc, message_to_evmc, result_from_evmc, result_to_evmc,
    slice_from_raw, slice_from_raw_mut, tx_context_to_evmc, u256_to_evmc,
};
use ember_evm::{Address, ExecResult, Host, Message, Revision, StatusCode, TxContext, Vm, B256};
use libloading::Library;
use std::cell::Cell;
use std::collections::hash_map::{Entry, HashMap};
use std::ffi::{CStr, CString};
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::thread::{self, ThreadId};

/// Why an EVMC VM could not be loaded.
#[derive(Debug)]
pub struct LoadError {
    /// The library path as given.
    pub path: PathBuf,
    /// What went wrong.
    pub kind: LoadErrorKind,
}

/// The reason inside a [`LoadError`].
#[derive(Debug)]
#[non_exhaustive]
pub enum LoadErrorKind {
    /// The configuration string or an option is unusable (empty path, NUL byte).
    InvalidConfig(&'static str),
    /// The dynamic loader could not open the library.
    Open(libloading::Error),
    /// None of these entry points exists in the library.
    SymbolNotFound(Vec<String>),
    /// The entry point returned NULL.
    CreateFailed,
    /// The instance reports this ABI version instead of 12.
    AbiVersion(i32),
    /// A mandatory field of `evmc_vm` is NULL.
    Incomplete(&'static str),
    /// The VM does not run EVM1 bytecode (its capabilities are given).
    NotEvm1(u32),
    /// Options were given but the VM has no `set_option`.
    NoOptions,
    /// `set_option` refused an option with this result code.
    OptionRejected {
        /// The option's name.
        name: String,
        /// The value given.
        value: String,
        /// The VM's `evmc_set_option_result`.
        result: i32,
    },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot load EVMC VM {}: ", self.path.display())?;
        match &self.kind {
            LoadErrorKind::InvalidConfig(what) => write!(f, "{what}"),
            LoadErrorKind::Open(e) => write!(f, "{e}"),
            LoadErrorKind::SymbolNotFound(names) => {
                write!(f, "no EVMC entry point (tried {})", names.join(", "))
            }
            LoadErrorKind::CreateFailed => write!(f, "the VM's create function returned NULL"),
            LoadErrorKind::AbiVersion(v) => {
                write!(
                    f,
                    "ABI version {v}, but EVMC ABI {EVMC_ABI_VERSION} is required"
                )
            }
            LoadErrorKind::Incomplete(field) => write!(f, "evmc_vm::{field} is NULL"),
            LoadErrorKind::NotEvm1(caps) => {
                write!(
                    f,
                    "the VM cannot run EVM1 bytecode (capabilities {caps:#x})"
                )
            }
            LoadErrorKind::NoOptions => write!(f, "the VM does not support any options"),
            LoadErrorKind::OptionRejected {
                name,
                value,
                result,
            } => {
                let why = match evmc_set_option_result(*result) {
                    evmc_set_option_result::EVMC_SET_OPTION_INVALID_NAME => "unknown option",
                    evmc_set_option_result::EVMC_SET_OPTION_INVALID_VALUE => "invalid value",
                    _ => "refused",
                };
                write!(f, "option {name}={value}: {why}")
            }
        }
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            LoadErrorKind::Open(e) => Some(e),
            _ => None,
        }
    }
}

/// The entry points EVMC's loader tries for a library path, in order: `evmc_create_<name>`
/// where `<name>` is the file name without a leading `lib`, cut at the first `.`, with `-`
/// turned into `_` (`libfoo-jit.so.1` → `evmc_create_foo_jit`); then `evmc_create`.
pub fn create_symbol_names(path: &Path) -> Vec<String> {
    let mut names = Vec::with_capacity(2);
    if let Some(file) = path.file_name().and_then(|f| f.to_str()) {
        let base = file.strip_prefix("lib").unwrap_or(file);
        let base = base.split('.').next().unwrap_or(base);
        if !base.is_empty() {
            names.push(format!("evmc_create_{}", base.replace('-', "_")));
        }
    }
    names.push("evmc_create".to_owned());
    names
}

/// A VM instance pointer owned by an [`EvmcVm`].
struct Instance(NonNull<evmc_vm>);

/// The next [`EvmcVm::id`]. Ids are never reused, so a remembered id never names a VM
/// loaded after its own was dropped.
static NEXT_VM_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// The id of the VM this thread last ran, with this thread's instance of it. The instance
    /// lives as long as that VM (it is destroyed only when the VM is dropped, and the id dies
    /// with it), so a matching id means a live instance.
    static LAST_INSTANCE: Cell<Option<(u64, NonNull<evmc_vm>)>> = const { Cell::new(None) };
}

// SAFETY: an instance is only executed by the thread it is registered for (the map in
// EvmcVm is keyed by ThreadId); it is moved between threads only to be destroyed, by
// EvmcVm's Drop, when no execution can be in progress.
unsafe impl Send for Instance {}

/// An EVMC VM loaded from a shared library, usable as an ember [`Vm`].
pub struct EvmcVm {
    path: PathBuf,
    name: String,
    version: String,
    create: evmc_create_fn,
    options: Vec<(CString, CString)>,
    /// Distinguishes this loaded VM from every other one in the process, for the per-thread
    /// shortcut to its instance ([`LAST_INSTANCE`]).
    id: u64,
    /// One instance per thread that has executed (or loaded) the VM.
    instances: Mutex<HashMap<ThreadId, Instance>>,
    /// Declared last: dropped after `Drop::drop` destroyed the instances.
    _library: Library,
}

impl fmt::Debug for EvmcVm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EvmcVm")
            .field("path", &self.path)
            .field("name", &self.name)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl EvmcVm {
    /// Loads the VM library at `path` and creates an instance with the given options
    /// (applied in order through `set_option`).
    ///
    /// A path without a `/` is searched for by the dynamic loader, as with `dlopen`, unless a
    /// file of that name exists in the current directory.
    pub fn load(path: impl AsRef<Path>, options: &[(&str, &str)]) -> Result<EvmcVm, LoadError> {
        let path = path.as_ref();
        let error = |kind| LoadError {
            path: path.to_owned(),
            kind,
        };
        if path.as_os_str().is_empty() {
            return Err(error(LoadErrorKind::InvalidConfig("empty library path")));
        }
        let options = options
            .iter()
            .map(|(n, v)| Ok((CString::new(*n)?, CString::new(*v)?)))
            .collect::<Result<Vec<_>, std::ffi::NulError>>()
            .map_err(|_| {
                error(LoadErrorKind::InvalidConfig(
                    "an option contains a NUL byte",
                ))
            })?;

        let open_path = if path.components().count() == 1 && path.is_file() {
            Path::new(".").join(path)
        } else {
            path.to_owned()
        };
        // SAFETY: loading a library runs its initialisers. The caller chose this library as
        // an EVMC VM; nothing more can be checked before it is loaded.
        let library =
            unsafe { Library::new(&open_path) }.map_err(|e| error(LoadErrorKind::Open(e)))?;

        let names = create_symbol_names(path);
        let create = names
            .iter()
            .find_map(|name| {
                let symbol = [name.as_bytes(), b"\0"].concat();
                // SAFETY: EVMC entry points have the type `evmc_create_fn`. The copied fn
                // pointer is used only while `library` stays loaded (it is stored with it).
                unsafe { library.get::<evmc_create_fn>(&symbol) }
                    .ok()
                    .map(|s| *s)
            })
            .ok_or_else(|| error(LoadErrorKind::SymbolNotFound(names.clone())))?;

        let mut vm = EvmcVm {
            path: path.to_owned(),
            name: String::new(),
            version: String::new(),
            create,
            options,
            id: NEXT_VM_ID.fetch_add(1, Ordering::Relaxed),
            instances: Mutex::new(HashMap::new()),
            _library: library,
        };
        let first = vm.new_instance().map_err(error)?;
        // SAFETY: `first` is a live instance whose name and version were checked non-NULL;
        // EVMC requires them to be NUL-terminated.
        let (name, version) = unsafe {
            let base = first.0.as_ref();
            (CStr::from_ptr(base.name), CStr::from_ptr(base.version))
        };
        vm.name = name.to_string_lossy().into_owned();
        vm.version = version.to_string_lossy().into_owned();
        vm.instances
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(thread::current().id(), first);
        Ok(vm)
    }

    /// Loads a VM from EVMC's configuration string `path[,name[=value]]...`: the library path
    /// followed by options (an option without `=` has an empty value).
    pub fn from_config(config: &str) -> Result<EvmcVm, LoadError> {
        let mut parts = config.split(',');
        let path = parts.next().unwrap_or_default();
        let options: Vec<(&str, &str)> = parts
            .map(|opt| opt.split_once('=').unwrap_or((opt, "")))
            .collect();
        EvmcVm::load(path, &options)
    }

    /// The library path as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The VM's name (`evmc_vm::name`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The VM's version (`evmc_vm::version`).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Creates an instance, checks it and applies the options.
    fn new_instance(&self) -> Result<Instance, LoadErrorKind> {
        // SAFETY: `create` is the library's EVMC entry point, and the library is loaded.
        let vm = NonNull::new(unsafe { (self.create)() }).ok_or(LoadErrorKind::CreateFailed)?;
        // SAFETY: a non-NULL result of an EVMC create function points to an `evmc_vm`, whose
        // first field is the ABI version in every EVMC version. Fields are copied out, so no
        // reference is held while the VM's own functions run.
        let abi_version = unsafe { vm.as_ref().abi_version };
        if abi_version != EVMC_ABI_VERSION {
            // The rest of the struct cannot be trusted, so not even `destroy` is called (the
            // instance leaks, as with EVMC's own loader).
            return Err(LoadErrorKind::AbiVersion(abi_version));
        }
        // SAFETY: an ABI-12 `evmc_vm` (checked above).
        let Some(destroy) = (unsafe { vm.as_ref().destroy }) else {
            return Err(LoadErrorKind::Incomplete("destroy"));
        };
        match self.configure(vm) {
            Ok(()) => Ok(Instance(vm)),
            Err(e) => {
                // SAFETY: a live ABI-12 instance, destroyed once, never used again.
                unsafe { destroy(vm.as_ptr()) };
                Err(e)
            }
        }
    }

    /// Checks the mandatory fields and capabilities of a new ABI-12 instance and applies
    /// the options.
    fn configure(&self, vm: NonNull<evmc_vm>) -> Result<(), LoadErrorKind> {
        // SAFETY: a live ABI-12 instance (new_instance); the fields are copied out.
        let base = unsafe { vm.as_ref() };
        let (name, version, execute) = (base.name, base.version, base.execute);
        let (get_capabilities, set_option) = (base.get_capabilities, base.set_option);
        if name.is_null() {
            return Err(LoadErrorKind::Incomplete("name"));
        }
        if version.is_null() {
            return Err(LoadErrorKind::Incomplete("version"));
        }
        if execute.is_none() {
            return Err(LoadErrorKind::Incomplete("execute"));
        }
        let get_capabilities =
            get_capabilities.ok_or(LoadErrorKind::Incomplete("get_capabilities"))?;
        if !self.options.is_empty() {
            let set_option = set_option.ok_or(LoadErrorKind::NoOptions)?;
            for (name, value) in &self.options {
                // SAFETY: a live ABI-12 instance; both strings are NUL-terminated.
                let r = unsafe { set_option(vm.as_ptr(), name.as_ptr(), value.as_ptr()) };
                if r != evmc_set_option_result::EVMC_SET_OPTION_SUCCESS {
                    return Err(LoadErrorKind::OptionRejected {
                        name: name.to_string_lossy().into_owned(),
                        value: value.to_string_lossy().into_owned(),
                        result: r.0,
                    });
                }
            }
        }
        // Asked after the options, which may change the capabilities (EVMC).
        // SAFETY: a live ABI-12 instance.
        let caps = unsafe { get_capabilities(vm.as_ptr()) };
        if caps & EVMC_CAPABILITY_EVM1 == 0 {
            return Err(LoadErrorKind::NotEvm1(caps));
        }
        Ok(())
    }

    /// This thread's instance, created on first use. The thread's last one is found without
    /// taking the lock.
    fn instance(&self) -> Result<NonNull<evmc_vm>, LoadErrorKind> {
        if let Some((id, vm)) = LAST_INSTANCE.get() {
            if id == self.id {
                return Ok(vm);
            }
        }
        let mut instances = self
            .instances
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let vm = match instances.entry(thread::current().id()) {
            Entry::Occupied(e) => e.get().0,
            Entry::Vacant(e) => e.insert(self.new_instance()?).0,
        };
        LAST_INSTANCE.set(Some((self.id, vm)));
        Ok(vm)
    }
}

impl Drop for EvmcVm {
    fn drop(&mut self) {
        let instances = self
            .instances
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        for (_, Instance(vm)) in instances.drain() {
            // SAFETY: every registered instance is live, passed the ABI check and has a
            // `destroy` (new_instance); `&mut self` means no execution is in progress; the
            // library is still loaded (`_library` drops after this).
            unsafe {
                if let Some(destroy) = vm.as_ref().destroy {
                    destroy(vm.as_ptr());
                }
            }
        }
    }
}

impl Vm for EvmcVm {
    /// Runs the frame in this thread's instance of the foreign VM. `code_hash` is not passed
    /// on (EVMC has no such parameter). If a new thread's instance cannot be created (the
    /// library changed its mind since loading), the result is `InternalError`.
    fn execute(
        &self,
        host: &mut dyn Host,
        rev: Revision,
        msg: &Message<'_>,
        code: &[u8],
        _code_hash: Option<&B256>,
    ) -> ExecResult {
        match self.instance() {
            // SAFETY: this thread's own live ABI-12 instance of a loaded library.
            Ok(vm) => unsafe { execute_evmc(vm, host, evmc_revision(rev as i32), msg, code) },
            Err(_) => ExecResult::failure(StatusCode::InternalError),
        }
    }
}

/// Runs an EVMC VM instance on `code` with a Rust host, through the C ABI: the host is
/// exposed as an `evmc_host_interface` of trampolines, and the result is copied and
/// released. The result is `InternalError` if a host callback panicked or the VM passed a
/// malformed argument to one (see the module docs), or if the instance has no `execute`.
///
/// # Safety
/// `vm` must point to a live instance that reported EVMC ABI version 12, whose functions
/// follow EVMC's contracts, and which may be used by this thread now (no other thread inside
/// it, unless the VM is thread-safe).
pub unsafe fn execute_evmc(
    vm: NonNull<evmc_vm>,
    host: &mut dyn Host,
    rev: evmc_revision,
    msg: &Message<'_>,
    code: &[u8],
) -> ExecResult {
    // SAFETY: a live instance (this function's contract).
    let Some(execute) = (unsafe { vm.as_ref() }).execute else {
        return ExecResult::failure(StatusCode::InternalError);
    };
    let mut ctx = HostContext {
        host,
        fault: false,
        tx_context: None,
    };
    let m = message_to_evmc(msg);
    let code_ptr = if code.is_empty() {
        ptr::null()
    } else {
        code.as_ptr()
    };
    // SAFETY: the instance is usable here (contract). Every pointer passed outlives the
    // call: the static interface, `ctx` (only reached through the context pointer until the
    // call returns), `m` and the input it borrows, and `code`.
    let raw = unsafe {
        execute(
            vm.as_ptr(),
            &HOST_INTERFACE,
            ptr::from_mut(&mut ctx).cast(),
            rev,
            &m,
            code_ptr,
            code.len(),
        )
    };
    // SAFETY: `raw` was just returned by the VM; it is released exactly once in there.
    let result = unsafe { result_from_evmc(raw, false) };
    if ctx.fault {
        ExecResult::failure(StatusCode::InternalError)
    } else {
        result
    }
}

/// The `evmc_host_context` the trampolines receive: the Rust host of one execution.
struct HostContext<'h> {
    host: &'h mut dyn Host,
    /// A callback panicked or got malformed arguments: stop calling the host and report
    /// `InternalError`.
    fault: bool,
    /// The transaction context handed to the VM, with the blob hashes it points into, kept
    /// for the rest of the execution (EVMC: the host keeps them alive).
    tx_context: Option<(evmc_tx_context, Vec<evmc_bytes32>)>,
}

/// Runs one host callback for the foreign VM. `f` returns `None` for a malformed argument.
/// On a malformed argument, a panic, or after an earlier fault, returns `fallback`.
///
/// # Safety
/// `ctx` is NULL or the context [`execute_evmc`] passed to the VM, during that execution.
unsafe fn with_host<R>(
    ctx: *mut evmc_host_context,
    fallback: R,
    f: impl FnOnce(&mut HostContext<'_>) -> Option<R>,
) -> R {
    // SAFETY: the context is a `HostContext` that execute_evmc does not touch until the VM
    // returns, and the VM calls back on the thread that called it (EVMC), so this is the
    // only reference to it. A nested execution gets a context of its own.
    let Some(hc) = (unsafe { ctx.cast::<HostContext<'_>>().as_mut() }) else {
        return fallback;
    };
    if hc.fault {
        return fallback;
    }
    match catch_unwind(AssertUnwindSafe(|| f(&mut *hc))) {
        Ok(Some(r)) => r,
        Ok(None) | Err(_) => {
            hc.fault = true;
            fallback
        }
    }
}

/// Reads a pointer argument by value, converted; `None` if NULL.
///
/// # Safety
/// `p` is NULL or points to a valid `T` (EVMC: arguments are valid during the
/// callback).
unsafe fn arg<T: Copy + Into<U>, U>(p: *const T) -> Option<U> {
    // SAFETY: this function's contract.
    unsafe { p.as_ref() }.map(|v| (*v).into())
}

/// The interface every foreign VM run by [`execute_evmc`] receives.
static HOST_INTERFACE: evmc_host_interface = evmc_host_interface {
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
};

// SAFETY (for every trampoline below): the VM calls them with the context it received from
// execute_evmc (with_host's contract) and with pointer arguments that are NULL or valid for
// the duration of the callback (EVMC's contract), which `arg` and the slice helpers rely on.

unsafe extern "C" fn account_exists(
    ctx: *mut evmc_host_context,
    addr: *const evmc_address,
) -> bool {
    // SAFETY: see the comment above the trampolines.
    unsafe { with_host(ctx, false, |hc| Some(hc.host.account_exists(&arg(addr)?))) }
}

unsafe extern "C" fn get_storage(
    ctx: *mut evmc_host_context,
    addr: *const evmc_address,
    key: *const evmc_bytes32,
) -> evmc_bytes32 {
    // SAFETY: see the comment above the trampolines.
    unsafe {
        with_host(ctx, evmc_bytes32::default(), |hc| {
            Some(hc.host.get_storage(&arg(addr)?, &arg(key)?).into())
        })
    }
}

unsafe extern "C" fn set_storage(
    ctx: *mut evmc_host_context,
    addr: *const evmc_address,
    key: *const evmc_bytes32,
    value: *const evmc_bytes32,
) -> evmc_storage_status {
    // SAFETY: see the comment above the trampolines.
    unsafe {
        with_host(ctx, evmc_storage_status(0), |hc| {
            let status = hc.host.set_storage(&arg(addr)?, &arg(key)?, &arg(value)?);
            Some(evmc_storage_status(status as i32))
        })
    }
}

unsafe extern "C" fn get_balance(
    ctx: *mut evmc_host_context,
    addr: *const evmc_address,
) -> evmc_uint256be {
    // SAFETY: see the comment above the trampolines.
    unsafe {
        with_host(ctx, evmc_bytes32::default(), |hc| {
            Some(u256_to_evmc(&hc.host.get_balance(&arg(addr)?)))
        })
    }
}

unsafe extern "C" fn get_code_size(
    ctx: *mut evmc_host_context,
    addr: *const evmc_address,
) -> usize {
    // SAFETY: see the comment above the trampolines.
    unsafe { with_host(ctx, 0, |hc| Some(hc.host.get_code_size(&arg(addr)?))) }
}

unsafe extern "C" fn get_code_hash(
    ctx: *mut evmc_host_context,
    addr: *const evmc_address,
) -> evmc_bytes32 {
    // SAFETY: see the comment above the trampolines.
    unsafe {
        with_host(ctx, evmc_bytes32::default(), |hc| {
            Some(hc.host.get_code_hash(&arg(addr)?).into())
        })
    }
}

unsafe extern "C" fn copy_code(
    ctx: *mut evmc_host_context,
    addr: *const evmc_address,
    code_offset: usize,
    buffer_data: *mut u8,
    buffer_size: usize,
) -> usize {
    // SAFETY: see the comment above the trampolines; the buffer is the VM's, writable for
    // `buffer_size` bytes and not otherwise accessed during the callback.
    unsafe {
        with_host(ctx, 0, |hc| {
            let addr: Address = arg(addr)?;
            let buf = slice_from_raw_mut(buffer_data, buffer_size)?;
            Some(hc.host.copy_code(&addr, code_offset, buf).min(buffer_size))
        })
    }
}

unsafe extern "C" fn selfdestruct(
    ctx: *mut evmc_host_context,
    addr: *const evmc_address,
    beneficiary: *const evmc_address,
) -> bool {
    // SAFETY: see the comment above the trampolines.
    unsafe {
        with_host(ctx, false, |hc| {
            Some(hc.host.selfdestruct(&arg(addr)?, &arg(beneficiary)?))
        })
    }
}

unsafe extern "C" fn call(ctx: *mut evmc_host_context, msg: *const evmc_message) -> evmc_result {
    // SAFETY: see the comment above the trampolines; the message's input is valid for
    // `input_size` bytes during the callback.
    unsafe {
        with_host(ctx, bare_result(evmc_status_code::EVMC_FAILURE), |hc| {
            let msg = message_from_evmc(msg.as_ref()?).ok()?;
            Some(result_to_evmc(hc.host.call(&msg)))
        })
    }
}

unsafe extern "C" fn get_tx_context(ctx: *mut evmc_host_context) -> evmc_tx_context {
    // SAFETY: see the comment above the trampolines.
    unsafe {
        with_host(ctx, tx_context_to_evmc(&TxContext::default(), &[]), |hc| {
            let (context, _) = hc.tx_context.get_or_insert_with(|| {
                let tx = hc.host.get_tx_context();
                let blob_hashes: Vec<evmc_bytes32> =
                    tx.blob_hashes.iter().map(|&h| h.into()).collect();
                // The context points into the vector's heap buffer, which stays put when
                // the vector is moved into the tuple.
                (tx_context_to_evmc(&tx, &blob_hashes), blob_hashes)
            });
            Some(*context)
        })
    }
}

unsafe extern "C" fn get_block_hash(ctx: *mut evmc_host_context, number: i64) -> evmc_bytes32 {
    // SAFETY: see the comment above the trampolines.
    unsafe {
        with_host(ctx, evmc_bytes32::default(), |hc| {
            Some(hc.host.get_block_hash(number).into())
        })
    }
}

unsafe extern "C" fn emit_log(
    ctx: *mut evmc_host_context,
    addr: *const evmc_address,
    data: *const u8,
    data_size: usize,
    topics: *const evmc_bytes32,
    topics_count: usize,
) {
    // SAFETY: see the comment above the trampolines.
    unsafe {
        with_host(ctx, (), |hc| {
            let addr: Address = arg(addr)?;
            let data = slice_from_raw(data, data_size)?;
            let topics: Vec<B256> = slice_from_raw(topics, topics_count)?
                .iter()
                .map(|&t| t.into())
                .collect();
            hc.host.emit_log(&addr, data, &topics);
            Some(())
        })
    }
}

unsafe extern "C" fn access_account(
    ctx: *mut evmc_host_context,
    addr: *const evmc_address,
) -> evmc_access_status {
    // SAFETY: see the comment above the trampolines.
    unsafe {
        with_host(ctx, evmc_access_status::EVMC_ACCESS_COLD, |hc| {
            Some(evmc_access_status(
                hc.host.access_account(&arg(addr)?) as i32
            ))
        })
    }
}

unsafe extern "C" fn access_storage(
    ctx: *mut evmc_host_context,
    addr: *const evmc_address,
    key: *const evmc_bytes32,
) -> evmc_access_status {
    // SAFETY: see the comment above the trampolines.
    unsafe {
        with_host(ctx, evmc_access_status::EVMC_ACCESS_COLD, |hc| {
            Some(evmc_access_status(
                hc.host.access_storage(&arg(addr)?, &arg(key)?) as i32,
            ))
        })
    }
}

unsafe extern "C" fn get_transient_storage(
    ctx: *mut evmc_host_context,
    addr: *const evmc_address,
    key: *const evmc_bytes32,
) -> evmc_bytes32 {
    // SAFETY: see the comment above the trampolines.
    unsafe {
        with_host(ctx, evmc_bytes32::default(), |hc| {
            Some(
                hc.host
                    .get_transient_storage(&arg(addr)?, &arg(key)?)
                    .into(),
            )
        })
    }
}

unsafe extern "C" fn set_transient_storage(
    ctx: *mut evmc_host_context,
    addr: *const evmc_address,
    key: *const evmc_bytes32,
    value: *const evmc_bytes32,
) {
    // SAFETY: see the comment above the trampolines.
    unsafe {
        with_host(ctx, (), |hc| {
            hc.host
                .set_transient_storage(&arg(addr)?, &arg(key)?, &arg(value)?);
            Some(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_point_names_follow_evmc() {
        let names = |p: &str| create_symbol_names(Path::new(p));
        assert_eq!(names("libember.so"), ["evmc_create_ember", "evmc_create"]);
        assert_eq!(
            names("/opt/vm/libfoo-jit.so"),
            ["evmc_create_foo_jit", "evmc_create"]
        );
        assert_eq!(
            names("libevmone.so.0.15.0"),
            ["evmc_create_evmone", "evmc_create"]
        );
        assert_eq!(names("./my-vm.dylib"), ["evmc_create_my_vm", "evmc_create"]);
        assert_eq!(names("evmone"), ["evmc_create_evmone", "evmc_create"]);
        assert_eq!(names("lib.so"), ["evmc_create"]);
        assert_eq!(names("/"), ["evmc_create"]);
    }

    #[test]
    fn load_errors_are_reported_not_panicked() {
        let e = EvmcVm::load("", &[]).unwrap_err();
        assert!(matches!(e.kind, LoadErrorKind::InvalidConfig(_)), "{e}");

        let e = EvmcVm::load("/nonexistent/libnothing.so", &[]).unwrap_err();
        assert!(matches!(e.kind, LoadErrorKind::Open(_)), "{e}");
        assert!(e.to_string().contains("/nonexistent/libnothing.so"), "{e}");

        let e = EvmcVm::load("/nonexistent/libnothing.so", &[("a\0b", "")]).unwrap_err();
        assert!(matches!(e.kind, LoadErrorKind::InvalidConfig(_)), "{e}");

        // Not a shared library at all.
        let e =
            EvmcVm::load(concat!(env!("CARGO_MANIFEST_DIR"), "/src/loader.rs"), &[]).unwrap_err();
        assert!(matches!(e.kind, LoadErrorKind::Open(_)), "{e}");
        assert!(!e.to_string().contains("No such file"), "{e}");
    }

    #[test]
    fn config_strings_split_into_path_and_options() {
        let e = EvmcVm::from_config(",tier=interp").unwrap_err();
        assert!(matches!(e.kind, LoadErrorKind::InvalidConfig(_)), "{e}");
        let e = EvmcVm::from_config("/nonexistent/libx.so,tier=interp,flag").unwrap_err();
        assert_eq!(e.path, Path::new("/nonexistent/libx.so"));
    }

    #[test]
    fn null_context_and_arguments_are_survived() {
        // SAFETY: a NULL context is refused before anything is read.
        unsafe {
            assert!(!account_exists(ptr::null_mut(), ptr::null()));
            assert_eq!(get_code_size(ptr::null_mut(), ptr::null()), 0);
        }
    }
}
