//! An EVMC host (`evmc_host_interface` + context) seen as an [`ember_evm::Host`], so the
//! exported VM can run ember's engine against any EVMC client.
//!
//! Enum values from the host are validated, never transmuted:
//! - an unknown `evmc_storage_status` is read as `Assigned` (the cheapest case: a warm
//!   access, no refund). The host classifies the write, so there is nothing better to
//!   compute, and the status cannot make the VM misbehave beyond a wrong gas figure;
//! - an `evmc_access_status` other than `COLD` is read as warm, as evmone compares it with
//!   `EVMC_ACCESS_COLD`;
//! - an unknown status in a `call` result becomes `Failure` (see `convert`).
//!
//! Counts the host returns are clamped to the buffer they describe (`copy_code`).

use crate::abi::*;
use crate::convert::{message_to_evmc, result_from_evmc, tx_context_from_evmc, u256_from_evmc};
use ember_evm::{
    AccessStatus, Address, ExecResult, Host, Message, StorageStatus, TxContext, B256, U256,
};
use std::marker::PhantomData;

/// The 16 host functions, all present (EVMC 12 makes every one mandatory).
#[derive(Clone, Copy)]
pub(crate) struct HostFns {
    account_exists: evmc_account_exists_fn,
    get_storage: evmc_get_storage_fn,
    set_storage: evmc_set_storage_fn,
    get_balance: evmc_get_balance_fn,
    get_code_size: evmc_get_code_size_fn,
    get_code_hash: evmc_get_code_hash_fn,
    copy_code: evmc_copy_code_fn,
    selfdestruct: evmc_selfdestruct_fn,
    call: evmc_call_fn,
    get_tx_context: evmc_get_tx_context_fn,
    get_block_hash: evmc_get_block_hash_fn,
    emit_log: evmc_emit_log_fn,
    access_account: evmc_access_account_fn,
    access_storage: evmc_access_storage_fn,
    get_transient_storage: evmc_get_transient_storage_fn,
    set_transient_storage: evmc_set_transient_storage_fn,
}

impl HostFns {
    /// The functions of `iface`, or `None` if any of them is NULL.
    pub(crate) fn new(iface: &evmc_host_interface) -> Option<HostFns> {
        Some(HostFns {
            account_exists: iface.account_exists?,
            get_storage: iface.get_storage?,
            set_storage: iface.set_storage?,
            get_balance: iface.get_balance?,
            get_code_size: iface.get_code_size?,
            get_code_hash: iface.get_code_hash?,
            copy_code: iface.copy_code?,
            selfdestruct: iface.selfdestruct?,
            call: iface.call?,
            get_tx_context: iface.get_tx_context?,
            get_block_hash: iface.get_block_hash?,
            emit_log: iface.emit_log?,
            access_account: iface.access_account?,
            access_storage: iface.access_storage?,
            get_transient_storage: iface.get_transient_storage?,
            set_transient_storage: iface.set_transient_storage?,
        })
    }
}

/// A storage status from the host; unknown values read as `Assigned` (module docs).
fn storage_status(s: evmc_storage_status) -> StorageStatus {
    StorageStatus::from_evmc(s.0).unwrap_or(StorageStatus::Assigned)
}

/// An access status from the host: anything but `COLD` is warm (module docs).
fn access_status(s: evmc_access_status) -> AccessStatus {
    if s == evmc_access_status::EVMC_ACCESS_COLD {
        AccessStatus::Cold
    } else {
        AccessStatus::Warm
    }
}

/// One frame's view of an EVMC host.
///
/// The transaction context is fetched once per frame and cached, as evmone does.
pub(crate) struct HostAdapter<'h> {
    fns: HostFns,
    ctx: *mut evmc_host_context,
    tx_context: Option<TxContext>,
    /// The context is only valid while the `execute` call that received it runs.
    _frame: PhantomData<&'h mut evmc_host_context>,
}

impl HostAdapter<'_> {
    /// Wraps the host functions and context received by `execute`.
    ///
    /// # Safety
    /// `fns` and `ctx` must be what the host passed to this `execute` call: the functions
    /// must follow EVMC 12's contracts when called with `ctx`, for as long as the adapter
    /// lives (which must not outlive the `execute` call).
    pub(crate) unsafe fn new(fns: HostFns, ctx: *mut evmc_host_context) -> Self {
        HostAdapter {
            fns,
            ctx,
            tx_context: None,
            _frame: PhantomData,
        }
    }
}

// SAFETY (for every call below): the function pointers and context came from the host for
// this `execute` call (HostAdapter::new's contract), and every pointer argument points to a
// local or a borrowed value that outlives the call. The host reads through them only during
// the call, except `copy_code`, which writes at most `buf.len()` bytes into `buf`.
impl Host for HostAdapter<'_> {
    fn account_exists(&mut self, addr: &Address) -> bool {
        let a = evmc_address::from(*addr);
        // SAFETY: see the comment on this impl.
        unsafe { (self.fns.account_exists)(self.ctx, &a) }
    }

    fn get_storage(&mut self, addr: &Address, key: &B256) -> B256 {
        let (a, k) = (evmc_address::from(*addr), evmc_bytes32::from(*key));
        // SAFETY: see the comment on this impl.
        unsafe { (self.fns.get_storage)(self.ctx, &a, &k) }.into()
    }

    fn set_storage(&mut self, addr: &Address, key: &B256, value: &B256) -> StorageStatus {
        let (a, k, v) = (
            evmc_address::from(*addr),
            evmc_bytes32::from(*key),
            evmc_bytes32::from(*value),
        );
        // SAFETY: see the comment on this impl.
        storage_status(unsafe { (self.fns.set_storage)(self.ctx, &a, &k, &v) })
    }

    fn get_balance(&mut self, addr: &Address) -> U256 {
        let a = evmc_address::from(*addr);
        // SAFETY: see the comment on this impl.
        u256_from_evmc(&unsafe { (self.fns.get_balance)(self.ctx, &a) })
    }

    fn get_code_size(&mut self, addr: &Address) -> usize {
        let a = evmc_address::from(*addr);
        // SAFETY: see the comment on this impl.
        unsafe { (self.fns.get_code_size)(self.ctx, &a) }
    }

    fn get_code_hash(&mut self, addr: &Address) -> B256 {
        let a = evmc_address::from(*addr);
        // SAFETY: see the comment on this impl.
        unsafe { (self.fns.get_code_hash)(self.ctx, &a) }.into()
    }

    fn copy_code(&mut self, addr: &Address, offset: usize, buf: &mut [u8]) -> usize {
        let a = evmc_address::from(*addr);
        // SAFETY: see the comment on this impl; `buf` is writable for `buf.len()` bytes.
        let n = unsafe { (self.fns.copy_code)(self.ctx, &a, offset, buf.as_mut_ptr(), buf.len()) };
        n.min(buf.len())
    }

    fn selfdestruct(&mut self, addr: &Address, beneficiary: &Address) -> bool {
        let (a, b) = (evmc_address::from(*addr), evmc_address::from(*beneficiary));
        // SAFETY: see the comment on this impl.
        unsafe { (self.fns.selfdestruct)(self.ctx, &a, &b) }
    }

    fn call(&mut self, msg: &Message<'_>) -> ExecResult {
        let m = message_to_evmc(msg);
        // SAFETY: see the comment on this impl; `m.input_data` borrows `msg.input`.
        let r = unsafe { (self.fns.call)(self.ctx, &m) };
        // SAFETY: `r` was just returned by the host and is released exactly once there.
        unsafe { result_from_evmc(r, msg.kind.is_create()) }
    }

    fn get_tx_context(&mut self) -> TxContext {
        if let Some(tx) = &self.tx_context {
            return tx.clone();
        }
        // SAFETY: see the comment on this impl. The host keeps the blob hashes it returns
        // alive during the execution; they are copied before this call returns.
        let tx = unsafe { tx_context_from_evmc(&(self.fns.get_tx_context)(self.ctx)) };
        self.tx_context.insert(tx).clone()
    }

    fn get_block_hash(&mut self, number: i64) -> B256 {
        // SAFETY: see the comment on this impl.
        unsafe { (self.fns.get_block_hash)(self.ctx, number) }.into()
    }

    fn emit_log(&mut self, addr: &Address, data: &[u8], topics: &[B256]) {
        let a = evmc_address::from(*addr);
        let topics: Vec<evmc_bytes32> = topics.iter().map(|&t| t.into()).collect();
        let data_ptr = if data.is_empty() {
            std::ptr::null()
        } else {
            data.as_ptr()
        };
        let topics_ptr = if topics.is_empty() {
            std::ptr::null()
        } else {
            topics.as_ptr()
        };
        // SAFETY: see the comment on this impl.
        unsafe { (self.fns.emit_log)(self.ctx, &a, data_ptr, data.len(), topics_ptr, topics.len()) }
    }

    fn access_account(&mut self, addr: &Address) -> AccessStatus {
        let a = evmc_address::from(*addr);
        // SAFETY: see the comment on this impl.
        access_status(unsafe { (self.fns.access_account)(self.ctx, &a) })
    }

    fn access_storage(&mut self, addr: &Address, key: &B256) -> AccessStatus {
        let (a, k) = (evmc_address::from(*addr), evmc_bytes32::from(*key));
        // SAFETY: see the comment on this impl.
        access_status(unsafe { (self.fns.access_storage)(self.ctx, &a, &k) })
    }

    fn get_transient_storage(&mut self, addr: &Address, key: &B256) -> B256 {
        let (a, k) = (evmc_address::from(*addr), evmc_bytes32::from(*key));
        // SAFETY: see the comment on this impl.
        unsafe { (self.fns.get_transient_storage)(self.ctx, &a, &k) }.into()
    }

    fn set_transient_storage(&mut self, addr: &Address, key: &B256, value: &B256) {
        let (a, k, v) = (
            evmc_address::from(*addr),
            evmc_bytes32::from(*key),
            evmc_bytes32::from(*value),
        );
        // SAFETY: see the comment on this impl.
        unsafe { (self.fns.set_transient_storage)(self.ctx, &a, &k, &v) }
    }
}

#[cfg(test)]
mod tests;
