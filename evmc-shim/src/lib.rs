//! ember as an EVMC ABI 12 VM, and a loader for other EVMC VMs.
//!
//! Built as `libember.so` (entry point [`evmc_create_ember`]) for EVMC hosts, and as an rlib
//! whose [`EvmcVm`] loads any EVMC VM shared library and runs it behind ember's
//! [`ember_evm::Vm`] trait, so that ember's own host and tools can drive it.
//!
//! - [`abi`]: the EVMC 12.1 declarations (`#[repr(C)]`, layout-tested).
//! - [`vm`]: the exported VM.
//! - `host_adapter`: an EVMC host seen as an [`ember_evm::Host`].
//! - [`loader`]: [`EvmcVm`], and an [`ember_evm::Host`] seen as an EVMC host.
//! - [`options`]: the settings `set_option` changes, and the runtime built from them.
//!
//! No panic crosses the C ABI: every `extern "C"` function runs its body under
//! `catch_unwind`.

pub mod abi;
mod convert;
mod host_adapter;
pub mod loader;
pub mod options;
pub mod vm;

pub use loader::{execute_evmc, EvmcVm, LoadError, LoadErrorKind};
pub use options::{OptionError, Options};
pub use vm::evmc_create_ember;

use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `f`, returning `on_panic` if it panics, so that no unwind crosses an `extern "C"`
/// boundary.
///
/// The closure is treated as unwind-safe: after a panic, callers only return `on_panic` and
/// do not look at any state the closure may have left half-updated (the loader additionally
/// stops calling into a host that panicked).
pub(crate) fn ffi_guard<R>(on_panic: R, f: impl FnOnce() -> R) -> R {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(on_panic)
}

#[cfg(test)]
mod tests {
    use super::ffi_guard;

    #[test]
    fn ffi_guard_contains_panics() {
        assert_eq!(ffi_guard(1, || 2), 2);
        assert_eq!(ffi_guard(1, || panic!("boom")), 1);
    }
}
