//! The EVM operand stack: 1024 words in one 64-byte-aligned heap allocation, reused across
//! frames.

use crate::opcodes::STACK_LIMIT;
use crate::types::U256;
use std::alloc::{alloc_zeroed, handle_alloc_error, Layout};
use std::cell::RefCell;
use std::mem::ManuallyDrop;

/// How many released stacks a thread keeps for reuse (32 KiB each).
const POOL_LIMIT: usize = 64;

/// The stack's slots, aligned to a cache line: no word straddles two lines, whatever the
/// allocator would have returned, so the speed of every stack access does not depend on
/// where one allocation happened to land.
#[repr(C, align(64))]
struct Slots([U256; STACK_LIMIT]);

impl Slots {
    /// A zeroed set of slots on the heap, made without a 32 KiB temporary on the call stack.
    fn new_boxed() -> Box<Slots> {
        let layout = Layout::new::<Slots>();
        // SAFETY: `Slots` has a non-zero size. All-zero bytes are a valid `Slots` (U256 is
        // four u64 limbs), and the allocation has `Slots`' layout, as `Box::from_raw` needs.
        unsafe {
            let p = alloc_zeroed(layout).cast::<Slots>();
            if p.is_null() {
                handle_alloc_error(layout);
            }
            Box::from_raw(p)
        }
    }
}

thread_local! {
    static POOL: RefCell<Vec<Box<Slots>>> = const { RefCell::new(Vec::new()) };
}

/// A 1024-slot stack. Index 0 is the bottom.
///
/// The unchecked accessors rely on one invariant, established by the caller before each
/// instruction from the opcode table (`OpInfo::min_stack`/`max_stack`) or, in compiled code,
/// from a basic block's stack bounds: every pop/peek reaches only initialised slots and every
/// push stays within `STACK_LIMIT`. Debug builds assert it.
pub struct Stack {
    /// `ManuallyDrop` so `Drop` can hand the allocation to the pool; it has the layout of the
    /// box, a thin pointer.
    data: ManuallyDrop<Box<Slots>>,
    len: usize,
}

impl Default for Stack {
    fn default() -> Self {
        Self::new()
    }
}

impl Stack {
    /// An empty stack, taken from this thread's pool when one is available.
    pub fn new() -> Self {
        let data = POOL
            .with(|p| p.borrow_mut().pop())
            .unwrap_or_else(Slots::new_boxed);
        Stack {
            data: ManuallyDrop::new(data),
            len: 0,
        }
    }

    /// Byte offset, inside a `Stack`, of the (thin) pointer to slot 0; compiled code reads
    /// the stack through it.
    pub const DATA_OFFSET: usize = std::mem::offset_of!(Stack, data);
    /// Byte offset, inside a `Stack`, of the item count (a `usize`).
    pub const LEN_OFFSET: usize = std::mem::offset_of!(Stack, len);

    /// Number of items.
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the stack is empty.
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The items, bottom first.
    #[inline]
    pub fn as_slice(&self) -> &[U256] {
        &self.data.0[..self.len]
    }

    /// Pointer to slot 0, for loops that keep the stack top in a register; every slot is
    /// initialised (allocations are zeroed), and the allocation never moves.
    #[inline(always)]
    pub fn as_mut_ptr(&mut self) -> *mut U256 {
        self.data.0.as_mut_ptr()
    }

    /// Sets the item count after items were written through `as_mut_ptr`.
    ///
    /// # Panics
    /// If `len > STACK_LIMIT`.
    #[inline(always)]
    pub fn set_len(&mut self, len: usize) {
        assert!(len <= STACK_LIMIT, "stack length {len} past the limit");
        self.len = len;
    }

    /// Pushes a word; the caller guarantees `len() < STACK_LIMIT`.
    #[inline(always)]
    pub fn push(&mut self, v: U256) {
        debug_assert!(self.len < STACK_LIMIT);
        // SAFETY: `data` has STACK_LIMIT slots and the caller checked len < STACK_LIMIT
        // (instruction table `max_stack`), so `len` is in bounds.
        unsafe { *self.data.0.get_unchecked_mut(self.len) = v };
        self.len += 1;
    }

    /// Pushes a word if there is room; used where no bound was checked beforehand.
    pub fn try_push(&mut self, v: U256) -> bool {
        if self.len < STACK_LIMIT {
            self.push(v);
            true
        } else {
            false
        }
    }

    /// Pops the top word; the caller guarantees the stack is not empty.
    #[inline(always)]
    pub fn pop(&mut self) -> U256 {
        debug_assert!(self.len > 0);
        self.len -= 1;
        // SAFETY: the caller checked len >= 1 before the decrement, so the new `len` indexes
        // an initialised slot below STACK_LIMIT.
        unsafe { *self.data.0.get_unchecked(self.len) }
    }

    /// The word `n` places below the top (0 = top); the caller guarantees `n < len()`.
    #[inline(always)]
    pub fn peek(&self, n: usize) -> &U256 {
        debug_assert!(n < self.len);
        // SAFETY: n < len <= STACK_LIMIT, so len - 1 - n is an initialised slot.
        unsafe { self.data.0.get_unchecked(self.len - 1 - n) }
    }

    /// The top word, mutable; the caller guarantees the stack is not empty.
    #[inline(always)]
    pub fn top_mut(&mut self) -> &mut U256 {
        debug_assert!(self.len > 0);
        // SAFETY: len >= 1, so len - 1 is an initialised slot.
        unsafe { self.data.0.get_unchecked_mut(self.len - 1) }
    }

    /// DUPn: pushes a copy of the n-th item (1-based); the caller guarantees `n <= len()` and
    /// `len() < STACK_LIMIT`.
    #[inline(always)]
    pub fn dup(&mut self, n: usize) {
        let v = *self.peek(n - 1);
        self.push(v);
    }

    /// SWAPn: exchanges the top with the item n places below it; the caller guarantees
    /// `n < len()`.
    #[inline(always)]
    pub fn swap(&mut self, n: usize) {
        debug_assert!(n < self.len);
        let top = self.len - 1;
        // SAFETY: top and top - n are both initialised slots (n < len); swap on a slice
        // checks nothing further, so bounds were established by the caller.
        unsafe {
            let p = self.data.0.as_mut_ptr();
            std::ptr::swap(p.add(top), p.add(top - n));
        }
    }

    /// Replaces the contents with `items` (bottom first); false if there are more than
    /// `STACK_LIMIT`. Used to hand a compiled frame's stack to the interpreter.
    pub fn set_from(&mut self, items: &[U256]) -> bool {
        if items.len() > STACK_LIMIT {
            return false;
        }
        self.data.0[..items.len()].copy_from_slice(items);
        self.len = items.len();
        true
    }
}

/// Reads a word limb by limb: four 64-bit loads (the interpreter's reads of stack items, and
/// compiled code's builtins' reads of their operands).
///
/// Stack words are mostly written by 64-bit stores, the limbs of arithmetic results. A wider load that spans two such stores cannot take
/// its data from the store buffer and waits until they reach the cache (a store-forwarding
/// stall), which is what LLVM's own copy of a word, two 128-bit loads, ran into after every
/// arithmetic result. Volatile loads are never merged into wider ones.
///
/// # Safety
/// `p` must be valid for reads of a `U256` and 8-byte aligned.
#[inline(always)]
pub unsafe fn read_word(p: *const U256) -> U256 {
    let limbs = p.cast::<u64>();
    // SAFETY: a U256 is four u64 limbs, so each limb of the valid, aligned word is valid and
    // aligned (the caller's guarantee).
    unsafe {
        U256::from_limbs([
            limbs.read_volatile(),
            limbs.add(1).read_volatile(),
            limbs.add(2).read_volatile(),
            limbs.add(3).read_volatile(),
        ])
    }
}

/// Writes a word limb by limb: four 64-bit stores (compiled code's builtins' results).
///
/// The counterpart of [`read_word`]: a word returned in memory by an out-of-line helper was
/// stored there as 64-bit limbs, and LLVM's copy of it, two 128-bit loads, waited for those
/// stores to reach the cache. Going through scalar registers keeps every load the width of
/// the store it reads; volatile stores are never merged into wider ones.
///
/// # Safety
/// `p` must be valid for writes of a `U256` and 8-byte aligned.
#[inline(always)]
pub unsafe fn write_word(p: *mut U256, v: U256) {
    let limbs = p.cast::<u64>();
    let v = v.as_limbs();
    // SAFETY: a U256 is four u64 limbs, so each limb of the valid, aligned word is valid and
    // aligned (the caller's guarantee).
    unsafe {
        limbs.write_volatile(v[0]);
        limbs.add(1).write_volatile(v[1]);
        limbs.add(2).write_volatile(v[2]);
        limbs.add(3).write_volatile(v[3]);
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // SAFETY: `data` is taken exactly once, here, and `self` is not used afterwards.
        let data = unsafe { ManuallyDrop::take(&mut self.data) };
        // `try_with` because the pool may already be gone during thread teardown; then, or
        // when the pool is full, the box is simply freed.
        let _ = POOL.try_with(|p| {
            let mut p = p.borrow_mut();
            if p.len() < POOL_LIMIT {
                p.push(data);
            }
        });
    }
}

impl std::fmt::Debug for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_word_reads_every_limb_in_order() {
        let words = [
            U256::from_limbs([1, 2, 3, 4]),
            U256::MAX,
            U256::from_limbs([u64::MAX, 0, 0x8000_0000_0000_0000, 7]),
        ];
        for w in &words {
            // SAFETY: a reference to a live, aligned U256.
            assert_eq!(unsafe { read_word(w) }, *w);
        }
    }

    #[test]
    fn push_pop_peek_dup_swap() {
        let mut s = Stack::new();
        for i in 1..=5u64 {
            s.push(U256::from(i));
        }
        assert_eq!(s.len(), 5);
        assert_eq!(*s.peek(0), U256::from(5));
        assert_eq!(*s.peek(4), U256::from(1));
        s.dup(5);
        assert_eq!(*s.peek(0), U256::from(1));
        s.swap(5);
        assert_eq!(*s.peek(0), U256::from(1));
        assert_eq!(*s.peek(5), U256::from(1));
        assert_eq!(s.pop(), U256::from(1));
        *s.top_mut() = U256::from(9);
        assert_eq!(
            s.as_slice(),
            &[1u64, 2, 3, 4, 9].map(U256::from)[..],
            "bottom first"
        );
    }

    #[test]
    fn try_push_stops_at_limit_and_set_from_checks_size() {
        let mut s = Stack::new();
        for _ in 0..STACK_LIMIT {
            assert!(s.try_push(U256::ZERO));
        }
        assert!(!s.try_push(U256::ZERO));
        assert!(!s.set_from(&vec![U256::ZERO; STACK_LIMIT + 1]));
        assert!(s.set_from(&[U256::from(7)]));
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn slots_are_aligned_to_a_cache_line() {
        for _ in 0..4 {
            let mut s = Stack::new();
            assert_eq!(s.as_mut_ptr() as usize % 64, 0);
            s.push(U256::from(1));
            assert_eq!(s.as_slice(), &[U256::from(1)]);
        }
    }

    #[test]
    fn stacks_are_reused_from_the_pool_clean() {
        {
            let mut s = Stack::new();
            s.push(U256::from(42));
        }
        let s = Stack::new();
        assert!(s.is_empty());
    }
}
