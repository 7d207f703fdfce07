//! Accounts and the block context.

use super::*;

/// Charges the EIP-2929 cold surcharge if `addr` was cold (from Berlin).
#[inline]
pub(super) fn access_account(
    f: &mut Frame<'_>,
    host: &mut dyn Host,
    addr: &Address,
) -> Result<(), StatusCode> {
    if f.rev >= Revision::Berlin && host.access_account(addr) == AccessStatus::Cold {
        charge(f, COLD_ACCOUNT_SURCHARGE)?;
    }
    Ok(())
}

/// BALANCE.
pub fn balance(f: &mut Frame<'_>, host: &mut dyn Host) -> Result<(), StatusCode> {
    let addr = Address::from_word(*f.stack.peek(0));
    access_account(f, host, &addr)?;
    *f.stack.top_mut() = host.get_balance(&addr);
    Ok(())
}

/// EXTCODESIZE.
pub fn extcodesize(f: &mut Frame<'_>, host: &mut dyn Host) -> Result<(), StatusCode> {
    let addr = Address::from_word(*f.stack.peek(0));
    access_account(f, host, &addr)?;
    *f.stack.top_mut() = U256::from(host.get_code_size(&addr));
    Ok(())
}

/// EXTCODEHASH.
pub fn extcodehash(f: &mut Frame<'_>, host: &mut dyn Host) -> Result<(), StatusCode> {
    let addr = Address::from_word(*f.stack.peek(0));
    access_account(f, host, &addr)?;
    *f.stack.top_mut() = host.get_code_hash(&addr).to_word();
    Ok(())
}

/// EXTCODECOPY.
pub fn extcodecopy(f: &mut Frame<'_>, host: &mut dyn Host) -> Result<(), StatusCode> {
    let addr = Address::from_word(f.stack.pop());
    let mem_off = f.stack.pop();
    let code_off = f.stack.pop();
    let size = f.stack.pop();
    let (o, s) = expand(f, &mem_off, &size)?;
    charge_copy(f, s)?;
    access_account(f, host, &addr)?;
    if s > 0 {
        let start = usize::try_from(saturating_u64(&code_off)).unwrap_or(usize::MAX);
        let dst = &mut f.memory.as_mut_slice()[o..o + s];
        let n = host.copy_code(&addr, start, dst).min(s);
        dst[n..].fill(0);
    }
    Ok(())
}

/// BLOCKHASH: only the 256 most recent complete blocks are visible.
pub fn blockhash(f: &mut Frame<'_>, host: &mut dyn Host) {
    let n = *f.stack.peek(0);
    let current = f.tx_context(host).block_number;
    let lower = current.saturating_sub(256).max(0);
    let h = match i64::try_from(saturating_u64(&n)) {
        Ok(n) if n >= lower && n < current && n < i64::MAX => host.get_block_hash(n),
        _ => B256::ZERO,
    };
    *f.stack.top_mut() = h.to_word();
}

/// BLOBHASH (EIP-4844).
pub fn blobhash(f: &mut Frame<'_>, host: &mut dyn Host) {
    let i = saturating_u64(f.stack.peek(0));
    let hashes = &f.tx_context(host).blob_hashes;
    let h = usize::try_from(i)
        .ok()
        .and_then(|i| hashes.get(i))
        .copied()
        .unwrap_or(B256::ZERO);
    *f.stack.top_mut() = h.to_word();
}
