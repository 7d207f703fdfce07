use super::*;

fn addr(n: u8) -> Address {
    Address([n; 20])
}

#[test]
fn u256_is_big_endian() {
    let v = U256::from(0x0102u64);
    let e = u256_to_evmc(&v);
    assert_eq!(e.bytes[30..], [1, 2]);
    assert!(e.bytes[..30].iter().all(|&b| b == 0));
    assert_eq!(u256_from_evmc(&e), v);
}

#[test]
fn slices_from_malformed_pointers_are_refused() {
    // SAFETY: every call either has length 0 or a pointer to enough live bytes, except
    // the ones that must be refused before any access.
    unsafe {
        assert_eq!(slice_from_raw::<u8>(ptr::null(), 0), Some(&[][..]));
        assert_eq!(slice_from_raw::<u8>(ptr::null(), 3), None);
        let data = [1u8, 2, 3];
        assert_eq!(slice_from_raw(data.as_ptr(), 3), Some(&data[..]));
        assert_eq!(slice_from_raw(data.as_ptr(), usize::MAX), None);
        assert_eq!(
            slice_from_raw::<evmc_bytes32>(8 as *const _, usize::MAX / 16),
            None
        );
        assert!(slice_from_raw_mut(ptr::null_mut(), 1).is_none());
        assert_eq!(
            slice_from_raw_mut(ptr::null_mut(), 0).map(|s| s.len()),
            Some(0)
        );
    }
}

#[test]
fn message_round_trip() {
    let input = [9u8, 8, 7];
    let msg = Message {
        kind: CallKind::Create2,
        flags: ember_evm::FLAG_STATIC | ember_evm::FLAG_DELEGATED,
        depth: 7,
        gas: 123_456,
        recipient: addr(1),
        sender: addr(2),
        input: &input,
        value: U256::from(1_000_000u64),
        create2_salt: B256([5; 32]),
        code_address: addr(3),
    };
    let e = message_to_evmc(&msg);
    assert_eq!(e.kind, evmc_call_kind::EVMC_CREATE2);
    assert_eq!(e.flags, EVMC_STATIC | EVMC_DELEGATED);
    assert!(e.code.is_null());
    // SAFETY: `e.input_data` points into `input`, alive for the whole test.
    let back = unsafe { message_from_evmc(&e) }.unwrap();
    assert_eq!(back.kind, msg.kind);
    assert_eq!(back.flags, msg.flags);
    assert_eq!(back.depth, 7);
    assert_eq!(back.gas, 123_456);
    assert_eq!(back.recipient, addr(1));
    assert_eq!(back.sender, addr(2));
    assert_eq!(back.input, &input);
    assert_eq!(back.value, msg.value);
    assert_eq!(back.create2_salt, msg.create2_salt);
    assert_eq!(back.code_address, addr(3));
}

#[test]
fn message_with_bad_kind_or_input_is_refused() {
    let msg = Message::call(addr(2), addr(1), &[], 1);
    let mut e = message_to_evmc(&msg);
    assert!(e.input_data.is_null());
    e.kind = evmc_call_kind::EVMC_EOFCREATE;
    // SAFETY: input is NULL with size 0 here and NULL with size 4 below; neither is read.
    unsafe {
        assert_eq!(
            message_from_evmc(&e).err(),
            Some(MessageError::UnsupportedKind)
        );
        e.kind = evmc_call_kind(-7);
        assert_eq!(
            message_from_evmc(&e).err(),
            Some(MessageError::UnsupportedKind)
        );
        e.kind = evmc_call_kind::EVMC_CALL;
        e.input_size = 4;
        assert_eq!(
            message_from_evmc(&e).err(),
            Some(MessageError::MalformedInput)
        );
    }
}

#[test]
fn result_round_trip_releases_output() {
    let r = ExecResult {
        status: StatusCode::Revert,
        gas_left: 77,
        gas_refund: 0,
        output: vec![1, 2, 3],
        create_address: Some(addr(4)),
    };
    let e = result_to_evmc(r.clone());
    assert_eq!(e.status_code, evmc_status_code::EVMC_REVERT);
    assert_eq!(e.output_size, 3);
    assert!(e.release.is_some());
    // SAFETY: `e` was just made and is released once, inside result_from_evmc.
    let back = unsafe { result_from_evmc(e, true) };
    assert_eq!(back, r);

    let empty = result_to_evmc(ExecResult::failure(StatusCode::OutOfGas));
    assert!(empty.output_data.is_null());
    // SAFETY: as above.
    let back = unsafe { result_from_evmc(empty, false) };
    assert_eq!(back, ExecResult::failure(StatusCode::OutOfGas));
}

#[test]
fn foreign_result_with_unknown_status_or_bad_output_is_sanitised() {
    let mut e = bare_result(evmc_status_code(16)); // EVMC_WASM_TRAP
    e.output_size = 10; // with a NULL pointer
                        // SAFETY: no release function, and the malformed output is refused, not read.
    let r = unsafe { result_from_evmc(e, false) };
    assert_eq!(r.status, StatusCode::Failure);
    assert!(r.output.is_empty());
    assert_eq!(r.create_address, None);
}

#[test]
fn tx_context_round_trip() {
    let tx = TxContext {
        gas_price: U256::from(7u64),
        origin: addr(1),
        coinbase: addr(2),
        block_number: 3,
        timestamp: 4,
        gas_limit: 5,
        prev_randao: B256([6; 32]),
        chain_id: U256::from(1u64),
        base_fee: U256::from(8u64),
        blob_base_fee: U256::from(9u64),
        blob_hashes: vec![B256([10; 32]), B256([11; 32])],
    };
    let blobs: Vec<evmc_bytes32> = tx.blob_hashes.iter().map(|&h| h.into()).collect();
    let e = tx_context_to_evmc(&tx, &blobs);
    assert_eq!(e.blob_hashes_count, 2);
    assert!(e.initcodes.is_null());
    // SAFETY: `e.blob_hashes` points into `blobs`, alive here.
    let back = unsafe { tx_context_from_evmc(&e) };
    assert_eq!(back, tx);
}
