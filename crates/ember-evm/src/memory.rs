//! EVM memory: a byte array grown in 32-byte words, and the expansion gas rule.

use crate::host::StatusCode;
use crate::types::U256;
use std::cell::RefCell;

/// The largest offset or size memory instructions accept; beyond it expansion would cost more
/// gas than any block holds, so it is out of gas (as in evmone).
pub const MAX_BUFFER_SIZE: u64 = u32::MAX as u64;

/// Frame memory.
///
/// Compiled code reads and writes memory in place: `base` and `len` mirror the buffer's
/// pointer and length at fixed offsets ([`Memory::BASE_OFFSET`], [`Memory::LEN_OFFSET`]) and
/// are republished whenever the buffer changes size.
#[derive(Debug)]
pub struct Memory {
    /// `data.as_mut_ptr()`.
    base: *mut u8,
    /// `data.len()`.
    len: usize,
    data: Vec<u8>,
}

// SAFETY: `base` only ever points into `data`, which `Memory` owns; it is a cached copy of
// `data.as_mut_ptr()`, so sending or sharing a `Memory` is exactly as safe as for the `Vec`.
unsafe impl Send for Memory {}
// SAFETY: as for `Send`: `&Memory` gives no access through `base` that `&Vec<u8>` would not.
unsafe impl Sync for Memory {}

impl Default for Memory {
    fn default() -> Self {
        Memory::new()
    }
}

/// Gas for `words` words of memory: 3·w + w²/512.
#[inline]
pub fn memory_cost(words: u64) -> i64 {
    (3 * words + words * words / 512) as i64
}

/// Number of 32-byte words needed for `size` bytes.
#[inline]
pub fn num_words(size: u64) -> u64 {
    size.div_ceil(32)
}

/// A word as u64, or u64::MAX when it does not fit.
#[inline]
pub fn saturating_u64(v: &U256) -> u64 {
    let l = v.as_limbs();
    if l[1] | l[2] | l[3] != 0 {
        u64::MAX
    } else {
        l[0]
    }
}

impl Memory {
    /// Empty memory.
    pub fn new() -> Self {
        let mut data = Vec::new();
        Memory {
            base: data.as_mut_ptr(),
            len: 0,
            data,
        }
    }

    /// Byte offset of the buffer pointer (a `*mut u8`) in a `Memory`, for compiled code.
    pub const BASE_OFFSET: usize = std::mem::offset_of!(Memory, base);
    /// Byte offset of the length in bytes (a `usize`) in a `Memory`, for compiled code.
    pub const LEN_OFFSET: usize = std::mem::offset_of!(Memory, len);

    /// Refreshes the mirrors after the buffer changed size.
    #[inline]
    fn publish(&mut self) {
        self.base = self.data.as_mut_ptr();
        self.len = self.data.len();
    }

    /// Size in bytes (always a multiple of 32).
    #[inline]
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether no memory has been touched.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// All of memory.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        &self.data
    }

    /// All of memory, mutable.
    #[inline]
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.data
    }

    /// The offset of the 32-byte word at `offset` when memory already covers it, so that
    /// MLOAD or MSTORE there needs no expansion and charges nothing beyond its static gas; `None`
    /// when it would expand memory or the offset is out of range (then [`Memory::expand`]
    /// decides).
    #[inline(always)]
    pub fn word_in_place(&self, offset: &U256) -> Option<usize> {
        let l = offset.as_limbs();
        let fits = (l[1] | l[2] | l[3]) == 0
            && l[0]
                .checked_add(32)
                .is_some_and(|end| end <= self.data.len() as u64);
        fits.then_some(l[0] as usize)
    }

    /// Makes `[offset, offset + size)` addressable, charging expansion gas from `gas_left`.
    /// Returns the region as `(offset, size)` in usize; a zero size touches nothing and
    /// yields `(0, 0)` whatever the offset.
    #[inline]
    pub fn expand(
        &mut self,
        gas_left: &mut i64,
        offset: &U256,
        size: &U256,
    ) -> Result<(usize, usize), StatusCode> {
        if size.is_zero() {
            return Ok((0, 0));
        }
        let off = saturating_u64(offset);
        let sz = saturating_u64(size);
        if off > MAX_BUFFER_SIZE || sz > MAX_BUFFER_SIZE {
            return Err(StatusCode::OutOfGas);
        }
        let end = off + sz;
        if end > self.data.len() as u64 {
            self.grow(gas_left, end)?;
        }
        Ok((off as usize, sz as usize))
    }

    /// Expansion to cover `end` bytes: charges the cost difference and zero-fills.
    #[cold]
    #[inline(never)]
    fn grow(&mut self, gas_left: &mut i64, end: u64) -> Result<(), StatusCode> {
        *gas_left = self.expand_to(*gas_left, end).ok_or(StatusCode::OutOfGas)?;
        Ok(())
    }

    /// Grows memory to cover `end` bytes (at most twice [`MAX_BUFFER_SIZE`]), charging the
    /// expansion from `gas_left`, which is the gas after every other cost of the
    /// instruction. Returns the gas left, or `None` when it does not cover the expansion;
    /// then memory is unchanged. [`Memory::expand`]'s growth and the slow path of compiled
    /// memory access.
    pub fn expand_to(&mut self, gas_left: i64, end: u64) -> Option<i64> {
        debug_assert!(end <= 2 * MAX_BUFFER_SIZE);
        let mut gas = gas_left;
        if end > self.data.len() as u64 {
            let new_words = num_words(end);
            let cur_words = self.data.len() as u64 / 32;
            gas -= memory_cost(new_words) - memory_cost(cur_words);
            if gas < 0 {
                return None;
            }
            let new_len = new_words as usize * 32;
            if self.data.capacity() == 0 {
                self.data = take_buffer(new_len);
            }
            self.data.resize(new_len, 0);
            self.publish();
        }
        Some(gas)
    }

    /// Reads the 32-byte word at `offset` (the region must have been expanded).
    #[inline]
    pub fn load_word(&self, offset: usize) -> U256 {
        let bytes: [u8; 32] = self.data[offset..offset + 32].try_into().expect("32 bytes");
        U256::from_be_bytes(bytes)
    }

    /// Writes a 32-byte word at `offset` (the region must have been expanded).
    #[inline]
    pub fn store_word(&mut self, offset: usize, v: &U256) {
        self.data[offset..offset + 32].copy_from_slice(&v.to_be_bytes::<32>());
    }

    /// Replaces the contents (used to hand a compiled frame's memory to the interpreter).
    pub fn set_from(&mut self, bytes: Vec<u8>) {
        debug_assert!(bytes.len().is_multiple_of(32));
        self.data = bytes;
        self.publish();
    }
}

/// Buffers a thread keeps for the memory of its next frames.
const POOL_LIMIT: usize = 64;
/// Buffers with more capacity than this are freed, not kept.
const POOLED_CAPACITY: usize = 1 << 16;
/// The capacity a frame's memory gets when it first grows: enough for most frames, so that
/// growing word by word does not reallocate.
const FIRST_CAPACITY: usize = 4096;

thread_local! {
    /// Empty buffers with capacity, from frames that have ended. A frame takes one when its
    /// memory first grows: most frames use memory, and every nested call is a frame.
    static POOL: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// An empty buffer for a frame whose memory grows to `len` bytes: a pooled one, or a new one
/// of at least [`FIRST_CAPACITY`].
fn take_buffer(len: usize) -> Vec<u8> {
    POOL.try_with(|p| p.borrow_mut().pop())
        .ok()
        .flatten()
        .unwrap_or_else(|| Vec::with_capacity(len.max(FIRST_CAPACITY)))
}

impl Drop for Memory {
    fn drop(&mut self) {
        let capacity = self.data.capacity();
        if capacity == 0 || capacity > POOLED_CAPACITY {
            return;
        }
        let mut buf = std::mem::take(&mut self.data);
        buf.clear();
        // `try_with` because the pool may already be gone during thread teardown; then, or
        // when the pool is full, the buffer is simply freed.
        let _ = POOL.try_with(|p| {
            let mut p = p.borrow_mut();
            if p.len() < POOL_LIMIT {
                p.push(buf);
            }
        });
    }
}

/// Copies `src[src_offset..]` into `dst`, zero-filling whatever lies past the end of `src`
/// (CALLDATACOPY, CODECOPY semantics).
#[inline]
pub fn copy_padded(dst: &mut [u8], src: &[u8], src_offset: &U256) {
    let start = saturating_u64(src_offset).min(src.len() as u64) as usize;
    let n = dst.len().min(src.len() - start);
    dst[..n].copy_from_slice(&src[start..start + n]);
    dst[n..].fill(0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reused_buffer_comes_back_zeroed() {
        let mut first = Memory::new();
        assert_eq!(first.expand_to(1_000_000, 256), Some(1_000_000 - 24));
        first.as_mut_slice().fill(0xab);
        let buffer = first.as_slice().as_ptr();
        drop(first);
        let mut next = Memory::new();
        assert_eq!(next.expand_to(1_000_000, 96), Some(1_000_000 - 9));
        assert_eq!(next.as_slice().as_ptr(), buffer, "the pooled buffer");
        assert!(next.as_slice().iter().all(|&b| b == 0));
        assert_eq!((next.base, next.len), (next.data.as_mut_ptr(), 96));
    }

    #[test]
    fn expansion_charges_quadratic_cost_on_a_delta_basis() {
        let mut m = Memory::new();
        let mut gas = 1_000_000;
        m.expand(&mut gas, &U256::from(0), &U256::from(32)).unwrap();
        assert_eq!(gas, 1_000_000 - 3);
        assert_eq!(m.len(), 32);
        // To 1024 words: 3*1024 + 1024^2/512 = 3072 + 2048 = 5120; minus the 3 already paid.
        m.expand(&mut gas, &U256::from(1024 * 32 - 1), &U256::from(1))
            .unwrap();
        assert_eq!(gas, 1_000_000 - 5120);
        // Inside: free.
        m.expand(&mut gas, &U256::from(5), &U256::from(100))
            .unwrap();
        assert_eq!(gas, 1_000_000 - 5120);
    }

    #[test]
    fn zero_size_ignores_huge_offset_and_huge_is_out_of_gas() {
        let mut m = Memory::new();
        let mut gas = 100;
        assert_eq!(m.expand(&mut gas, &U256::MAX, &U256::ZERO), Ok((0, 0)));
        assert_eq!(
            m.expand(&mut gas, &U256::MAX, &U256::from(1)),
            Err(StatusCode::OutOfGas)
        );
        assert_eq!(
            m.expand(&mut gas, &U256::from(0), &U256::from(1u64 << 40)),
            Err(StatusCode::OutOfGas)
        );
        assert_eq!(
            m.expand(&mut gas, &U256::from(0), &U256::from(10_000)),
            Err(StatusCode::OutOfGas)
        );
    }

    #[test]
    fn expand_to_charges_like_expand_and_publishes_the_buffer() {
        let mut m = Memory::new();
        let mut gas = 10_000;
        m.expand(&mut gas, &U256::from(100), &U256::from(32))
            .unwrap();
        let mut raw = Memory::new();
        assert_eq!(raw.expand_to(10_000, 132), Some(gas));
        assert_eq!(raw.len(), m.len());
        assert_eq!((raw.base, raw.len), (raw.data.as_mut_ptr(), raw.data.len()));
        // Inside: free; short of gas: unchanged.
        assert_eq!(raw.expand_to(7, 64), Some(7));
        assert_eq!(raw.expand_to(2, 161), None);
        assert_eq!(raw.len(), 160);
        raw.set_from(vec![1; 64]);
        assert_eq!((raw.base, raw.len), (raw.data.as_mut_ptr(), 64));
    }

    #[test]
    fn words_in_place_end_inside_memory() {
        let mut m = Memory::new();
        assert_eq!(m.word_in_place(&U256::ZERO), None, "empty memory");
        assert_eq!(m.expand_to(1_000_000, 64), Some(1_000_000 - 6));
        assert_eq!(m.word_in_place(&U256::ZERO), Some(0));
        assert_eq!(m.word_in_place(&U256::from(32)), Some(32), "the last word");
        assert_eq!(
            m.word_in_place(&U256::from(33)),
            None,
            "one byte past the end"
        );
        assert_eq!(
            m.word_in_place(&U256::from(u64::MAX - 31)),
            None,
            "offset + 32 wraps"
        );
        assert_eq!(m.word_in_place(&(U256::from(1) << 64)), None, "a high limb");
        assert_eq!(m.word_in_place(&U256::MAX), None);
    }

    #[test]
    fn copy_padded_zero_fills() {
        let mut dst = [0xaa; 6];
        copy_padded(&mut dst, &[1, 2, 3], &U256::from(1));
        assert_eq!(dst, [2, 3, 0, 0, 0, 0]);
        copy_padded(&mut dst, &[1, 2, 3], &U256::MAX);
        assert_eq!(dst, [0; 6]);
    }
}
