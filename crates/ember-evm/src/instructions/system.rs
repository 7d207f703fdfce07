//! Calls, creates and halting.

use super::*;

/// CALL, CALLCODE, DELEGATECALL and STATICCALL.
#[inline(never)]
pub fn call(f: &mut Frame<'_>, host: &mut dyn Host, op: u8) -> Result<(), StatusCode> {
    let gas_req = f.stack.pop();
    let dst = Address::from_word(f.stack.pop());
    let value = if op == CALL || op == CALLCODE {
        f.stack.pop()
    } else {
        U256::ZERO
    };
    let in_off = f.stack.pop();
    let in_size = f.stack.pop();
    let out_off = f.stack.pop();
    let out_size = f.stack.pop();
    let has_value = !value.is_zero();

    access_account(f, host, &dst)?;

    let mut flags = if op == STATICCALL {
        FLAG_STATIC
    } else {
        f.msg.flags & FLAG_STATIC
    };
    let mut code_address = dst;
    if f.rev >= Revision::Prague {
        if let Some(delegate) = delegate_of(host, &dst) {
            code_address = delegate;
            flags |= FLAG_DELEGATED;
            let cost = match host.access_account(&delegate) {
                AccessStatus::Cold => COLD_ACCOUNT_ACCESS_COST,
                AccessStatus::Warm => WARM_ACCESS_COST,
            };
            charge(f, cost)?;
        }
    }

    let (in_o, in_s) = expand(f, &in_off, &in_size)?;
    let (out_o, out_s) = expand(f, &out_off, &out_size)?;

    let mut cost = if has_value { CALL_VALUE_COST } else { 0 };
    if op == CALL {
        if has_value && f.msg.is_static() {
            return Err(StatusCode::StaticModeViolation);
        }
        if (has_value || f.rev < Revision::SpuriousDragon) && !host.account_exists(&dst) {
            cost += ACCOUNT_CREATION_COST;
        }
    }
    charge(f, cost)?;

    let mut call_gas = i64::try_from(saturating_u64(&gas_req)).unwrap_or(i64::MAX);
    if f.rev >= Revision::TangerineWhistle {
        call_gas = call_gas.min(f.gas_left - f.gas_left / 64);
    } else if call_gas > f.gas_left {
        return Err(StatusCode::OutOfGas);
    }
    if has_value {
        call_gas += CALL_STIPEND;
        f.gas_left += CALL_STIPEND;
    }

    f.return_data.clear();
    if f.msg.depth >= MAX_CALL_DEPTH || (has_value && host.get_balance(&f.msg.recipient) < value) {
        // Light failure: the callee's gas comes back untouched.
        f.stack.push(U256::ZERO);
        return Ok(());
    }

    let (kind, recipient, sender, msg_value) = match op {
        CALL | STATICCALL => (CallKind::Call, dst, f.msg.recipient, value),
        CALLCODE => (CallKind::CallCode, f.msg.recipient, f.msg.recipient, value),
        _ => (
            CallKind::DelegateCall,
            f.msg.recipient,
            f.msg.sender,
            f.msg.value,
        ),
    };
    let result = {
        let msg = Message {
            kind,
            flags,
            depth: f.msg.depth + 1,
            gas: call_gas,
            recipient,
            sender,
            input: &f.memory.as_slice()[in_o..in_o + in_s],
            value: msg_value,
            create2_salt: B256::ZERO,
            code_address,
        };
        host.call(&msg)
    };
    let n = out_s.min(result.output.len());
    f.memory.as_mut_slice()[out_o..out_o + n].copy_from_slice(&result.output[..n]);
    f.return_data.set(result.output);
    f.stack
        .push(U256::from((result.status == StatusCode::Success) as u8));
    f.gas_left -= call_gas - result.gas_left;
    f.gas_refund += result.gas_refund;
    Ok(())
}

/// CREATE and CREATE2.
#[inline(never)]
pub fn create(f: &mut Frame<'_>, host: &mut dyn Host, op: u8) -> Result<(), StatusCode> {
    if f.msg.is_static() {
        return Err(StatusCode::StaticModeViolation);
    }
    let value = f.stack.pop();
    let off = f.stack.pop();
    let size = f.stack.pop();
    let salt = if op == CREATE2 {
        B256::from_word(f.stack.pop())
    } else {
        B256::ZERO
    };
    let (o, s) = expand(f, &off, &size)?;
    if f.rev >= Revision::Shanghai && s > MAX_INITCODE_SIZE {
        return Err(StatusCode::OutOfGas);
    }
    let per_word =
        if op == CREATE2 { 6 } else { 0 } + if f.rev >= Revision::Shanghai { 2 } else { 0 };
    charge(f, per_word * num_words(s as u64) as i64)?;

    f.return_data.clear();
    if f.msg.depth >= MAX_CALL_DEPTH
        || (!value.is_zero() && host.get_balance(&f.msg.recipient) < value)
    {
        f.stack.push(U256::ZERO);
        return Ok(());
    }
    let mut gas = f.gas_left;
    if f.rev >= Revision::TangerineWhistle {
        gas -= gas / 64;
    }
    f.gas_left -= gas;
    let result = {
        let msg = Message {
            kind: if op == CREATE2 {
                CallKind::Create2
            } else {
                CallKind::Create
            },
            flags: 0,
            depth: f.msg.depth + 1,
            gas,
            recipient: Address::ZERO,
            sender: f.msg.recipient,
            input: &f.memory.as_slice()[o..o + s],
            value,
            create2_salt: salt,
            code_address: Address::ZERO,
        };
        host.call(&msg)
    };
    f.gas_left += result.gas_left;
    f.gas_refund += result.gas_refund;
    let addr = match (result.status, result.create_address) {
        (StatusCode::Success, Some(a)) => a.to_word(),
        _ => U256::ZERO,
    };
    f.return_data.set(result.output);
    f.stack.push(addr);
    Ok(())
}

/// RETURN and REVERT: copies the output region into `f.output`.
pub fn set_output(f: &mut Frame<'_>) -> Result<(), StatusCode> {
    let off = f.stack.pop();
    let size = f.stack.pop();
    let (o, s) = expand(f, &off, &size)?;
    f.output = f.memory.as_slice()[o..o + s].to_vec();
    Ok(())
}

/// SELFDESTRUCT (halts the frame on success).
#[inline(never)]
pub fn selfdestruct(f: &mut Frame<'_>, host: &mut dyn Host) -> Result<(), StatusCode> {
    if f.msg.is_static() {
        return Err(StatusCode::StaticModeViolation);
    }
    let beneficiary = Address::from_word(f.stack.pop());
    if f.rev >= Revision::Berlin && host.access_account(&beneficiary) == AccessStatus::Cold {
        charge(f, COLD_ACCOUNT_ACCESS_COST)?;
    }
    if f.rev >= Revision::TangerineWhistle {
        let needs_account = if f.rev >= Revision::SpuriousDragon {
            !host.get_balance(&f.msg.recipient).is_zero() && !host.account_exists(&beneficiary)
        } else {
            !host.account_exists(&beneficiary)
        };
        if needs_account {
            charge(f, ACCOUNT_CREATION_COST)?;
        }
    }
    let first = host.selfdestruct(&f.msg.recipient, &beneficiary);
    if first && f.rev < Revision::London {
        f.gas_refund += SELFDESTRUCT_REFUND;
    }
    Ok(())
}
