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
mod tests {
    //! A deliberately buggy C-style host: out-of-range enums, over-long counts, a call result
    //! with an unknown status. The adapter must turn all of it into defined values.
    //! (`Ctx` is the host context; `call` does not use it.)

    use super::*;
    use crate::convert::bare_result;
    use ember_evm::{CallKind, StatusCode};
    use std::cell::Cell;
    use std::ptr;
    use std::sync::atomic::{AtomicU32, Ordering};

    struct Ctx {
        tx_calls: Cell<u32>,
        blob: evmc_bytes32,
    }

    fn ctx<'a>(c: *mut evmc_host_context) -> &'a Ctx {
        // SAFETY: every test passes a pointer to a live `Ctx`.
        unsafe { &*c.cast::<Ctx>() }
    }

    unsafe extern "C" fn exists(_: *mut evmc_host_context, a: *const evmc_address) -> bool {
        // SAFETY: the adapter passes a valid address.
        unsafe { (*a).bytes[0] == 1 }
    }
    unsafe extern "C" fn get32(
        _: *mut evmc_host_context,
        _: *const evmc_address,
        k: *const evmc_bytes32,
    ) -> evmc_bytes32 {
        // SAFETY: the adapter passes a valid key.
        unsafe { *k }
    }
    unsafe extern "C" fn set_storage(
        _: *mut evmc_host_context,
        _: *const evmc_address,
        _: *const evmc_bytes32,
        v: *const evmc_bytes32,
    ) -> evmc_storage_status {
        // The status is the value's last byte: lets a test pick any number, valid or not.
        // SAFETY: the adapter passes a valid value.
        evmc_storage_status(i32::from(unsafe { (*v).bytes[31] }))
    }
    unsafe extern "C" fn balance(
        _: *mut evmc_host_context,
        _: *const evmc_address,
    ) -> evmc_bytes32 {
        let mut b = evmc_bytes32::default();
        b.bytes[31] = 42;
        b
    }
    unsafe extern "C" fn code_size(_: *mut evmc_host_context, _: *const evmc_address) -> usize {
        3
    }
    unsafe extern "C" fn code_hash(
        _: *mut evmc_host_context,
        _: *const evmc_address,
    ) -> evmc_bytes32 {
        evmc_bytes32 { bytes: [0xcc; 32] }
    }
    unsafe extern "C" fn copy_code(
        _: *mut evmc_host_context,
        _: *const evmc_address,
        _: usize,
        buf: *mut u8,
        size: usize,
    ) -> usize {
        if size > 0 {
            // SAFETY: the adapter passes a buffer of `size` bytes.
            unsafe { *buf = 0xab };
        }
        size + 100 // a lie: more than the buffer holds
    }
    unsafe extern "C" fn selfdestruct(
        _: *mut evmc_host_context,
        _: *const evmc_address,
        _: *const evmc_address,
    ) -> bool {
        true
    }
    /// Releases of results handed out by `call` (only one test calls it).
    static RELEASED: AtomicU32 = AtomicU32::new(0);
    static CALL_OUTPUT: [u8; 2] = [0x5a, 0xa5];

    unsafe extern "C" fn release(_: *const evmc_result) {
        RELEASED.fetch_add(1, Ordering::SeqCst);
    }
    unsafe extern "C" fn call(_: *mut evmc_host_context, m: *const evmc_message) -> evmc_result {
        let mut r = bare_result(evmc_status_code(99));
        // SAFETY: the adapter passes a valid message.
        r.gas_left = unsafe { (*m).gas };
        r.output_data = CALL_OUTPUT.as_ptr();
        r.output_size = CALL_OUTPUT.len();
        r.release = Some(release);
        r
    }
    unsafe extern "C" fn tx_context(c: *mut evmc_host_context) -> evmc_tx_context {
        let c = ctx(c);
        c.tx_calls.set(c.tx_calls.get() + 1);
        let tx = TxContext {
            block_number: 77,
            ..TxContext::default()
        };
        crate::convert::tx_context_to_evmc(&tx, std::slice::from_ref(&c.blob))
    }
    unsafe extern "C" fn block_hash(_: *mut evmc_host_context, n: i64) -> evmc_bytes32 {
        let mut b = evmc_bytes32::default();
        b.bytes[24..].copy_from_slice(&n.to_be_bytes());
        b
    }
    unsafe extern "C" fn emit_log(
        _: *mut evmc_host_context,
        _: *const evmc_address,
        _: *const u8,
        _: usize,
        _: *const evmc_bytes32,
        _: usize,
    ) {
    }
    unsafe extern "C" fn access_account(
        _: *mut evmc_host_context,
        a: *const evmc_address,
    ) -> evmc_access_status {
        // The status is the address's first byte.
        // SAFETY: the adapter passes a valid address.
        evmc_access_status(i32::from(unsafe { (*a).bytes[0] }))
    }
    unsafe extern "C" fn access_storage(
        _: *mut evmc_host_context,
        _: *const evmc_address,
        k: *const evmc_bytes32,
    ) -> evmc_access_status {
        // SAFETY: the adapter passes a valid key.
        evmc_access_status(i32::from(unsafe { (*k).bytes[31] }))
    }
    unsafe extern "C" fn set_transient(
        _: *mut evmc_host_context,
        _: *const evmc_address,
        _: *const evmc_bytes32,
        _: *const evmc_bytes32,
    ) {
    }

    fn interface() -> evmc_host_interface {
        evmc_host_interface {
            account_exists: Some(exists),
            get_storage: Some(get32),
            set_storage: Some(set_storage),
            get_balance: Some(balance),
            get_code_size: Some(code_size),
            get_code_hash: Some(code_hash),
            copy_code: Some(copy_code),
            selfdestruct: Some(selfdestruct),
            call: Some(call),
            get_tx_context: Some(tx_context),
            get_block_hash: Some(block_hash),
            emit_log: Some(emit_log),
            access_account: Some(access_account),
            access_storage: Some(access_storage),
            get_transient_storage: Some(get32),
            set_transient_storage: Some(set_transient),
        }
    }

    fn word(n: u8) -> B256 {
        let mut b = [0u8; 32];
        b[31] = n;
        B256(b)
    }

    #[test]
    fn missing_host_function_is_detected() {
        assert!(HostFns::new(&interface()).is_some());
        let mut iface = interface();
        iface.set_transient_storage = None;
        assert!(HostFns::new(&iface).is_none());
        let mut iface = interface();
        iface.account_exists = None;
        assert!(HostFns::new(&iface).is_none());
    }

    #[test]
    fn host_values_are_validated() {
        let c = Ctx {
            tx_calls: Cell::new(0),
            blob: evmc_bytes32 { bytes: [3; 32] },
        };
        let fns = HostFns::new(&interface()).unwrap();
        // SAFETY: the test host's functions only use `ctx` as a `Ctx`, which outlives `h`.
        let mut h = unsafe { HostAdapter::new(fns, ptr::from_ref(&c).cast_mut().cast()) };
        let a = Address([1; 20]);

        assert!(h.account_exists(&a));
        assert!(!h.account_exists(&Address([2; 20])));
        assert_eq!(h.get_storage(&a, &word(9)), word(9));
        assert_eq!(h.get_transient_storage(&a, &word(8)), word(8));
        assert_eq!(h.get_balance(&a), U256::from(42u64));
        assert_eq!(h.get_code_size(&a), 3);
        assert_eq!(h.get_code_hash(&a), B256([0xcc; 32]));
        assert!(h.selfdestruct(&a, &a));
        let mut hash = [0u8; 32];
        hash[30..].copy_from_slice(&[0x01, 0x02]);
        assert_eq!(h.get_block_hash(0x0102), B256(hash));

        // Every valid storage status maps to itself; anything else reads as Assigned.
        for n in 0..=8u8 {
            assert_eq!(h.set_storage(&a, &word(1), &word(n)) as i32, i32::from(n));
        }
        for n in [9u8, 200, 255] {
            assert_eq!(
                h.set_storage(&a, &word(1), &word(n)),
                StorageStatus::Assigned
            );
        }

        // Access status: 0 is cold, anything else warm.
        assert_eq!(h.access_account(&Address([0; 20])), AccessStatus::Cold);
        assert_eq!(h.access_account(&Address([1; 20])), AccessStatus::Warm);
        assert_eq!(h.access_account(&Address([77; 20])), AccessStatus::Warm);
        assert_eq!(h.access_storage(&a, &word(0)), AccessStatus::Cold);
        assert_eq!(h.access_storage(&a, &word(5)), AccessStatus::Warm);

        // copy_code's over-long count is clamped to the buffer.
        let mut buf = [0u8; 4];
        assert_eq!(h.copy_code(&a, 0, &mut buf), 4);
        assert_eq!(buf[0], 0xab);
        assert_eq!(h.copy_code(&a, 0, &mut []), 0);

        // The tx context is fetched once per frame, blob hashes copied.
        assert_eq!(h.get_tx_context().block_number, 77);
        assert_eq!(h.get_tx_context().blob_hashes, vec![B256([3; 32])]);
        assert_eq!(c.tx_calls.get(), 1);

        h.emit_log(&a, &[1, 2], &[word(1), word(2)]);
        h.set_transient_storage(&a, &word(1), &word(2));
    }

    #[test]
    fn call_results_are_copied_released_and_sanitised() {
        let c = Ctx {
            tx_calls: Cell::new(0),
            blob: evmc_bytes32::default(),
        };
        let fns = HostFns::new(&interface()).unwrap();
        // SAFETY: as in host_values_are_validated.
        let mut h = unsafe { HostAdapter::new(fns, ptr::from_ref(&c).cast_mut().cast()) };
        let msg = Message {
            kind: CallKind::Create,
            flags: 0,
            depth: 1,
            gas: 5000,
            recipient: Address([1; 20]),
            sender: Address([2; 20]),
            input: &[],
            value: U256::ZERO,
            create2_salt: B256::ZERO,
            code_address: Address([1; 20]),
        };
        let r = h.call(&msg);
        assert_eq!(r.status, StatusCode::Failure, "status 99 is unknown");
        assert_eq!(r.gas_left, 5000);
        assert_eq!(r.output, CALL_OUTPUT);
        assert_eq!(r.create_address, Some(Address::ZERO));
        assert_eq!(RELEASED.load(Ordering::SeqCst), 1);
        let r = h.call(&Message {
            kind: CallKind::Call,
            ..msg
        });
        assert_eq!(r.create_address, None);
        assert_eq!(RELEASED.load(Ordering::SeqCst), 2);
    }
}
