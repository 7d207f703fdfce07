//! Storage, transient storage and logs.

use super::*;

/// SLOAD.
pub fn sload(f: &mut Frame<'_>, host: &mut dyn Host) -> Result<(), StatusCode> {
    let key = B256::from_word(*f.stack.peek(0));
    if f.rev >= Revision::Berlin
        && host.access_storage(&f.msg.recipient, &key) == AccessStatus::Cold
    {
        charge(f, COLD_SLOAD_SURCHARGE)?;
    }
    *f.stack.top_mut() = host.get_storage(&f.msg.recipient, &key).to_word();
    Ok(())
}

/// SSTORE's (gas, refund) for a storage status at a revision: the legacy schedule before
/// Constantinople and at Petersburg, net metering (EIP-1283, EIP-2200, EIP-2929, EIP-3529)
/// otherwise. Cold access is charged separately.
pub fn sstore_cost(rev: Revision, status: StorageStatus) -> (i64, i64) {
    use StorageStatus::*;
    const SET: i64 = 20000;
    if rev < Revision::Constantinople || rev == Revision::Petersburg {
        const RESET: i64 = 5000;
        const CLEAR: i64 = 15000;
        return match status {
            Added | DeletedAdded | DeletedRestored => (SET, 0),
            Deleted | ModifiedDeleted | AddedDeleted => (RESET, CLEAR),
            Assigned | Modified | ModifiedRestored => (RESET, 0),
        };
    }
    let warm = if rev >= Revision::Berlin {
        WARM_ACCESS_COST
    } else if rev >= Revision::Istanbul {
        800
    } else {
        200
    };
    let reset = if rev >= Revision::Berlin {
        5000 - COLD_SLOAD_COST
    } else {
        5000
    };
    let clear = if rev >= Revision::London { 4800 } else { 15000 };
    match status {
        Assigned => (warm, 0),
        Added => (SET, 0),
        Deleted => (reset, clear),
        Modified => (reset, 0),
        DeletedAdded => (warm, -clear),
        ModifiedDeleted => (warm, clear),
        DeletedRestored => (warm, reset - warm - clear),
        AddedDeleted => (warm, SET - warm),
        ModifiedRestored => (warm, reset - warm),
    }
}

/// SSTORE.
pub fn sstore(f: &mut Frame<'_>, host: &mut dyn Host) -> Result<(), StatusCode> {
    if f.msg.is_static() {
        return Err(StatusCode::StaticModeViolation);
    }
    // EIP-2200: SSTORE needs more than the call stipend left.
    if f.rev >= Revision::Istanbul && f.gas_left <= CALL_STIPEND {
        return Err(StatusCode::OutOfGas);
    }
    let key = B256::from_word(f.stack.pop());
    let value = B256::from_word(f.stack.pop());
    let mut cold = 0;
    if f.rev >= Revision::Berlin
        && host.access_storage(&f.msg.recipient, &key) == AccessStatus::Cold
    {
        cold = COLD_SLOAD_COST;
    }
    let status = host.set_storage(&f.msg.recipient, &key, &value);
    let (gas, refund) = sstore_cost(f.rev, status);
    charge(f, gas + cold)?;
    f.gas_refund += refund;
    Ok(())
}

/// TLOAD (EIP-1153).
pub fn tload(f: &mut Frame<'_>, host: &mut dyn Host) {
    let key = B256::from_word(*f.stack.peek(0));
    *f.stack.top_mut() = host.get_transient_storage(&f.msg.recipient, &key).to_word();
}

/// TSTORE (EIP-1153).
pub fn tstore(f: &mut Frame<'_>, host: &mut dyn Host) -> Result<(), StatusCode> {
    if f.msg.is_static() {
        return Err(StatusCode::StaticModeViolation);
    }
    let key = B256::from_word(f.stack.pop());
    let value = B256::from_word(f.stack.pop());
    host.set_transient_storage(&f.msg.recipient, &key, &value);
    Ok(())
}

/// LOG0..LOG4.
pub fn log(f: &mut Frame<'_>, host: &mut dyn Host, topics: usize) -> Result<(), StatusCode> {
    if f.msg.is_static() {
        return Err(StatusCode::StaticModeViolation);
    }
    let off = f.stack.pop();
    let size = f.stack.pop();
    let mut t = [B256::ZERO; 4];
    for slot in t.iter_mut().take(topics) {
        *slot = B256::from_word(f.stack.pop());
    }
    let (o, s) = expand(f, &off, &size)?;
    charge(f, 8 * s as i64)?;
    host.emit_log(
        &f.msg.recipient,
        &f.memory.as_slice()[o..o + s],
        &t[..topics],
    );
    Ok(())
}
