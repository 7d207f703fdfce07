//! What compiled code calls, and the encoding of what it returns.
//!
//! Compiled code returns a `u64`: a pc at which the interpreter continues (a side exit; with
//! bit 62 set, a recompile side exit of speculative code), or a halt with bit 63 set and the
//! [`StatusCode`] in the low 32 bits. A Rust panic inside a
//! builtin (a bug in a host, say) is caught before it could unwind through native frames,
//! parked in a thread-local slot, and reported as [`PANICKED`]; the caller resumes unwinding
//! once it is back in Rust, so a panic behaves as it would in the interpreter.

use ember_evm::instructions::{self as ins, MulModCache};
use ember_evm::memory::Memory;
use ember_evm::opcodes as op;
use ember_evm::stack::{read_word, write_word};
use ember_evm::{step, CodeAnalysis, Frame, Host, StatusCode, Step, U256};
use std::any::Any;
use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};

/// Bit 63 marks a return value that is not a pc.
pub(crate) const HALT: u64 = 1 << 63;
/// Bit 62 without bit 63 marks a recompile side exit at the pc in the low bits.
pub(crate) const RECOMPILE: u64 = 1 << 62;
/// The return value after a builtin caught a panic (bit 62 is never set by a halt).
pub(crate) const PANICKED: u64 = HALT | RECOMPILE;

/// How compiled code left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The frame ended with this status; gas, refund and output are in the frame.
    Halt(StatusCode),
    /// The interpreter continues at this pc with the frame as it is.
    SideExit(usize),
    /// As `SideExit`, at a jump whose target the speculation did not foresee.
    Recompile(usize),
    /// A builtin caught a panic, which is parked in [`take_panic`].
    Panicked,
}

/// The return value for a halt with `status`.
pub(crate) fn halt_code(status: StatusCode) -> u64 {
    HALT | (status as i32 as u32 as u64)
}

/// Decodes a value returned by compiled code.
pub(crate) fn decode(r: u64) -> Outcome {
    if r == PANICKED {
        Outcome::Panicked
    } else if r & HALT != 0 {
        // Every halt code was made by `halt_code` from a real status.
        Outcome::Halt(StatusCode::from_evmc(r as u32 as i32).unwrap_or(StatusCode::InternalError))
    } else if r & RECOMPILE != 0 {
        Outcome::Recompile((r & !RECOMPILE) as usize)
    } else {
        Outcome::SideExit(r as usize)
    }
}

thread_local! {
    static PANIC: RefCell<Option<Box<dyn Any + Send>>> = const { RefCell::new(None) };
}

/// The panic payload a builtin on this thread caught, if any.
pub(crate) fn take_panic() -> Option<Box<dyn Any + Send>> {
    PANIC.with(|p| p.borrow_mut().take())
}

/// The signature of [`jit_step`], as compiled code calls it.
pub(crate) type StepFn =
    unsafe extern "C" fn(*mut Frame<'static>, *mut &mut dyn Host, *const CodeAnalysis, u64) -> u64;

/// Runs the one instruction at `pc` through the interpreter ([`ember_evm::step`]) and returns
/// the next pc, or a halt code.
///
/// # Safety
/// `frame`, `host` and `analysis` must be the valid, exclusively used pointers the compiled
/// function received, and `pc` an instruction boundary of the analysed code.
pub(crate) unsafe extern "C" fn jit_step(
    frame: *mut Frame<'static>,
    host: *mut &mut dyn Host,
    analysis: *const CodeAnalysis,
    pc: u64,
) -> u64 {
    let run = AssertUnwindSafe(|| {
        // SAFETY: the caller passes the pointers compiled code was entered with; they are
        // valid and nothing else uses them while the builtin runs.
        let (frame, host, analysis) = unsafe { (&mut *frame, &mut **host, &*analysis) };
        step(frame, analysis, host, pc as usize)
    });
    match panic::catch_unwind(run) {
        Ok(Step::Next(next)) => next as u64,
        Ok(Step::Halt(status)) => halt_code(status),
        Err(payload) => {
            PANIC.with(|p| *p.borrow_mut() = Some(payload));
            PANICKED
        }
    }
}

/// The address of [`jit_step`], baked into generated code.
pub(crate) fn step_address() -> usize {
    jit_step as StepFn as usize
}

/// Runs `body` on the frame behind `frame`/`host`, catching panics: 0 when it succeeded, a
/// halt code when it failed, [`PANICKED`] when it panicked.
///
/// # Safety
/// `frame` and `host` must be the valid, exclusively used pointers compiled code received.
unsafe fn guarded(
    frame: *mut Frame<'static>,
    host: *mut &mut dyn Host,
    body: impl FnOnce(&mut Frame<'static>, &mut dyn Host) -> Result<(), StatusCode>,
) -> u64 {
    let run = AssertUnwindSafe(|| {
        // SAFETY: guaranteed by the caller (see above).
        let (frame, host) = unsafe { (&mut *frame, &mut **host) };
        body(frame, host)
    });
    match panic::catch_unwind(run) {
        Ok(Ok(())) => 0,
        Ok(Err(status)) => halt_code(status),
        Err(payload) => {
            PANIC.with(|p| *p.borrow_mut() = Some(payload));
            PANICKED
        }
    }
}

/// A builtin that runs one instruction body of the interpreter on the frame, whose stack
/// holds the operands (static gas and stack bounds were settled by the block): 0 when it
/// succeeded, otherwise a halt code.
pub(crate) type FrameFn = unsafe extern "C" fn(*mut Frame<'static>, *mut &mut dyn Host) -> u64;

macro_rules! frame_builtin {
    ($($(#[$doc:meta])* $name:ident => |$f:ident, $h:ident| $body:expr;)*) => {$(
        $(#[$doc])*
        ///
        /// # Safety
        /// `frame` and `host` must be the valid, exclusively used pointers compiled code
        /// received, with the instruction's operands on the frame's stack.
        unsafe extern "C" fn $name(frame: *mut Frame<'static>, host: *mut &mut dyn Host) -> u64 {
            // SAFETY: forwarded from this function's contract.
            unsafe { guarded(frame, host, |$f, $h| $body) }
        }
    )*};
}

frame_builtin! {
    /// KECCAK256.
    jit_keccak => |f, _h| ins::keccak(f);
    /// SLOAD.
    jit_sload => |f, h| ins::sload(f, h);
    /// SSTORE.
    jit_sstore => |f, h| ins::sstore(f, h);
    /// Fetches the transaction context into the frame, where compiled code then reads its
    /// fields in place (no operands).
    jit_tx_context => |f, h| {
        f.tx_context(h);
        Ok(())
    };
}

/// The builtin that fetches the transaction context into the frame (see `Codegen::tx_field`).
pub(crate) const FETCH_TX_CONTEXT: FrameFn = jit_tx_context;

/// The frame builtin for `opc`, if it has one.
pub(crate) fn frame_builtin(opc: u8) -> Option<FrameFn> {
    let f: FrameFn = match opc {
        op::KECCAK256 => jit_keccak,
        op::SLOAD => jit_sload,
        op::SSTORE => jit_sstore,
        _ => return None,
    };
    Some(f)
}

/// The slow path of inline memory access ([`Memory::expand_to`]): grows the memory to cover
/// `end` bytes, charging the expansion from `gas`. Returns the gas left, or -1 when it does
/// not cover the expansion (memory unchanged). It cannot panic: `end` is at most 2^32 + 32
/// (an allocation failure aborts, as in the interpreter).
pub(crate) type ExpandFn = unsafe extern "C" fn(*mut Memory, i64, u64) -> i64;

/// See [`ExpandFn`].
///
/// # Safety
/// `memory` must point to the frame's memory, exclusively used for the call.
pub(crate) unsafe extern "C" fn jit_expand(memory: *mut Memory, gas: i64, end: u64) -> i64 {
    // SAFETY: guaranteed by the caller.
    let memory = unsafe { &mut *memory };
    memory.expand_to(gas, end).unwrap_or(-1)
}

/// The slow path of inline CALLDATALOAD, for offsets whose word is not wholly inside the
/// call data: reads the offset from `args` and writes the zero-padded word to `out`
/// ([`ins::calldataload`]).
pub(crate) type CallDataFn = unsafe extern "C" fn(*const u8, u64, *const U256, *mut U256);

/// See [`CallDataFn`].
///
/// # Safety
/// `input` and `len` must describe the frame's call data; `args` must point to a word (which
/// may be unaligned) and `out` to writable memory for one word, 8-byte aligned.
pub(crate) unsafe extern "C" fn jit_calldataload(
    input: *const u8,
    len: u64,
    args: *const U256,
    out: *mut U256,
) {
    // SAFETY: guaranteed by the caller: the call data slice the frame runs with.
    let data = unsafe { std::slice::from_raw_parts(input, len as usize) };
    // SAFETY: guaranteed by the caller.
    let off = unsafe { std::ptr::read_unaligned(args) };
    // SAFETY: guaranteed by the caller.
    unsafe { write_word(out, ins::calldataload(data, &off)) };
}

/// A pure arithmetic builtin: reads its operands from `args` (top of the stack first) and
/// writes the result to `out`. These cannot panic (the interpreter's helpers handle zero
/// divisors and out-of-range arguments); if one ever did, the panic would abort the process
/// at the `extern "C"` boundary rather than unwind through native frames.
pub(crate) type PureFn = unsafe extern "C" fn(*const U256, *mut U256);

macro_rules! pure_builtin {
    ($($name:ident($n:literal) => |$a:ident| $body:expr;)*) => {$(
        /// # Safety
        /// `args` must point to the instruction's operands, 8-byte aligned (compiled code
        /// passes its `[3 x i256]` argument slot), and `out` to writable memory for one word,
        /// 8-byte aligned.
        unsafe extern "C" fn $name(args: *const U256, out: *mut U256) {
            // SAFETY: guaranteed by the caller: `args` holds `$n` aligned words.
            let $a: [U256; $n] = unsafe { read_words(args) };
            // SAFETY: guaranteed by the caller: `out` is writable for one aligned word.
            unsafe { write_word(out, $body) };
        }
    )*};
}

pure_builtin! {
    jit_div(2) => |a| ins::div(a[0], a[1]);
    jit_sdiv(2) => |a| ins::sdiv(a[0], a[1]);
    jit_mod(2) => |a| ins::rem(a[0], a[1]);
    jit_smod(2) => |a| ins::smod(a[0], a[1]);
    jit_addmod(3) => |a| ins::addmod(a[0], a[1], a[2]);
    jit_signextend(2) => |a| ins::signextend(a[0], a[1]);
    jit_clz(1) => |a| ins::clz(a[0]);
    jit_exp(2) => |a| ins::exp(a[0], a[1]);
}

/// MULMOD's builtin: a pure builtin that also takes the frame's [`MulModCache`]
/// (`Frame::mulmod_cache`), where Barrett's constant of a repeated modulus is kept.
pub(crate) type MulModFn = unsafe extern "C" fn(*const U256, *mut U256, *const MulModCache);

/// See [`MulModFn`].
///
/// # Safety
/// As for a [`PureFn`]; `cache` must point to the running frame's cache.
unsafe extern "C" fn jit_mulmod(args: *const U256, out: *mut U256, cache: *const MulModCache) {
    // SAFETY: guaranteed by the caller: `args` holds three aligned words.
    let a: [U256; 3] = unsafe { read_words(args) };
    // SAFETY: guaranteed by the caller: the frame outlives this call, and only this thread
    // runs it.
    let cache = unsafe { &*cache };
    // SAFETY: guaranteed by the caller: `out` is writable for one aligned word.
    unsafe { write_word(out, ins::mulmod(a[0], a[1], a[2], cache)) };
}

/// How compiled code calls a pure builtin.
#[derive(Clone, Copy)]
pub(crate) enum Pure {
    /// The operands and the result.
    Plain(PureFn),
    /// The operands, the result and the frame's MULMOD cache.
    MulMod(MulModFn),
}

/// Reads `N` words limb by limb, as compiled code wrote them (64-bit stores; see
/// `Codegen::call_pure`), with the interpreter's stack read (`read_word`).
///
/// # Safety
/// `words` must be valid for reads of `N` words and 8-byte aligned.
#[inline(always)]
unsafe fn read_words<const N: usize>(words: *const U256) -> [U256; N] {
    // SAFETY: word `i < N` lies inside the N valid, aligned words (the caller's guarantee).
    std::array::from_fn(|i| unsafe { read_word(words.add(i)) })
}

/// The pure builtin for `opc` with its operand count, if it has one.
pub(crate) fn pure_builtin(opc: u8) -> Option<(Pure, usize)> {
    use Pure::{MulMod, Plain};
    Some(match opc {
        op::DIV => (Plain(jit_div), 2),
        op::SDIV => (Plain(jit_sdiv), 2),
        op::MOD => (Plain(jit_mod), 2),
        op::SMOD => (Plain(jit_smod), 2),
        op::ADDMOD => (Plain(jit_addmod), 3),
        op::MULMOD => (MulMod(jit_mulmod), 3),
        op::SIGNEXTEND => (Plain(jit_signextend), 2),
        op::CLZ => (Plain(jit_clz), 1),
        _ => return None,
    })
}

/// EXP's value: a pure builtin, though EXP is not one (`pure_builtin` leaves it out), since
/// compiled code charges its dynamic gas itself (`Codegen::exp`).
pub(crate) const EXP_VALUE: Pure = Pure::Plain(jit_exp);

/// The result of a pure builtin's operation on constants, folded at compile time with the
/// same helpers.
pub(crate) fn fold_pure(opc: u8, a: &[U256]) -> U256 {
    let mut out = U256::ZERO;
    if let Some((f, n)) = pure_builtin(opc) {
        debug_assert_eq!(a.len(), n);
        // SAFETY: `a` holds the builtin's `n` operands, `out` is a local word and the cache a
        // local one.
        unsafe {
            match f {
                Pure::Plain(f) => f(a.as_ptr(), &mut out),
                Pure::MulMod(f) => f(a.as_ptr(), &mut out, &MulModCache::default()),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for s in [
            StatusCode::Success,
            StatusCode::Revert,
            StatusCode::OutOfGas,
            StatusCode::InternalError,
            StatusCode::OutOfMemory,
        ] {
            assert_eq!(decode(halt_code(s)), Outcome::Halt(s));
        }
        assert_eq!(decode(0), Outcome::SideExit(0));
        assert_eq!(decode(24575), Outcome::SideExit(24575));
        assert_eq!(decode(PANICKED), Outcome::Panicked);
        assert_eq!(decode(RECOMPILE), Outcome::Recompile(0));
        assert_eq!(decode(RECOMPILE | 24575), Outcome::Recompile(24575));
    }
}
