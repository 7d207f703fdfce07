//! Memory, hashing and copies.

use super::*;

/// Expands memory over `[offset, offset + size)` charging the frame.
#[inline(always)]
pub(super) fn expand(
    f: &mut Frame<'_>,
    offset: &U256,
    size: &U256,
) -> Result<(usize, usize), StatusCode> {
    f.memory.expand(&mut f.gas_left, offset, size)
}

/// Charges 3 gas per word copied.
#[inline(always)]
pub(super) fn charge_copy(f: &mut Frame<'_>, size: usize) -> Result<(), StatusCode> {
    charge(f, 3 * num_words(size as u64) as i64)
}

/// The size of a word, for MLOAD/MSTORE memory expansion.
const WORD: U256 = U256::from_limbs([32, 0, 0, 0]);

/// MLOAD: the word at `offset`, after charging memory expansion to `gas_left`.
#[inline(always)]
pub fn mload(memory: &mut Memory, gas_left: &mut i64, offset: &U256) -> Result<U256, StatusCode> {
    let (o, _) = memory.expand(gas_left, offset, &WORD)?;
    Ok(memory.load_word(o))
}

/// MSTORE: writes `value` at `offset`, after charging memory expansion.
#[inline(always)]
pub fn mstore(
    memory: &mut Memory,
    gas_left: &mut i64,
    offset: &U256,
    value: &U256,
) -> Result<(), StatusCode> {
    let (o, _) = memory.expand(gas_left, offset, &WORD)?;
    memory.store_word(o, value);
    Ok(())
}

/// MSTORE8: writes the low byte of `value` at `offset`, after charging memory expansion.
#[inline(always)]
pub fn mstore8(
    memory: &mut Memory,
    gas_left: &mut i64,
    offset: &U256,
    value: &U256,
) -> Result<(), StatusCode> {
    let (o, _) = memory.expand(gas_left, offset, &U256::from(1))?;
    memory.as_mut_slice()[o] = value.byte(0);
    Ok(())
}

/// CALLDATALOAD: the 32 bytes of `input` at `offset`, zero-padded past its end.
#[inline(always)]
pub fn calldataload(input: &[u8], offset: &U256) -> U256 {
    let mut buf = [0u8; 32];
    copy_padded(&mut buf, input, offset);
    U256::from_be_bytes(buf)
}

/// KECCAK256.
pub fn keccak(f: &mut Frame<'_>) -> Result<(), StatusCode> {
    let off = f.stack.pop();
    let size = *f.stack.peek(0);
    let (o, s) = expand(f, &off, &size)?;
    charge(f, 6 * num_words(s as u64) as i64)?;
    let h = keccak256(&f.memory.as_slice()[o..o + s]);
    *f.stack.top_mut() = h.to_word();
    Ok(())
}

/// Which buffer a copy instruction reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopySource {
    /// The frame's input (CALLDATACOPY).
    CallData,
    /// The running code (CODECOPY).
    Code,
}

/// CALLDATACOPY and CODECOPY.
pub fn copy_to_memory(f: &mut Frame<'_>, src: CopySource) -> Result<(), StatusCode> {
    let mem_off = f.stack.pop();
    let src_off = f.stack.pop();
    let size = f.stack.pop();
    let (o, s) = expand(f, &mem_off, &size)?;
    charge_copy(f, s)?;
    if s > 0 {
        let data = match src {
            CopySource::CallData => f.msg.input,
            CopySource::Code => f.code,
        };
        copy_padded(&mut f.memory.as_mut_slice()[o..o + s], data, &src_off);
    }
    Ok(())
}

/// RETURNDATACOPY: reading past the end of the return data is an error (EIP-211).
pub fn returndatacopy(f: &mut Frame<'_>) -> Result<(), StatusCode> {
    let mem_off = f.stack.pop();
    let src_off = f.stack.pop();
    let size = f.stack.pop();
    let (o, s) = expand(f, &mem_off, &size)?;
    let start = saturating_u64(&src_off);
    let len = f.return_data.len() as u64;
    if start > len || len - start < saturating_u64(&size) {
        return Err(StatusCode::InvalidMemoryAccess);
    }
    charge_copy(f, s)?;
    if s > 0 {
        let start = start as usize;
        f.memory.as_mut_slice()[o..o + s].copy_from_slice(&f.return_data[start..start + s]);
    }
    Ok(())
}

/// MCOPY (EIP-5656).
pub fn mcopy(f: &mut Frame<'_>) -> Result<(), StatusCode> {
    let dst = f.stack.pop();
    let src = f.stack.pop();
    let size = f.stack.pop();
    let far = if src > dst { src } else { dst };
    let (_, s) = expand(f, &far, &size)?;
    charge_copy(f, s)?;
    if s > 0 {
        let (d, sr) = (dst.as_limbs()[0] as usize, src.as_limbs()[0] as usize);
        f.memory.as_mut_slice().copy_within(sr..sr + s, d);
    }
    Ok(())
}
