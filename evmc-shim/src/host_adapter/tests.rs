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
unsafe extern "C" fn balance(_: *mut evmc_host_context, _: *const evmc_address) -> evmc_bytes32 {
    let mut b = evmc_bytes32::default();
    b.bytes[31] = 42;
    b
}
unsafe extern "C" fn code_size(_: *mut evmc_host_context, _: *const evmc_address) -> usize {
    3
}
unsafe extern "C" fn code_hash(_: *mut evmc_host_context, _: *const evmc_address) -> evmc_bytes32 {
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
