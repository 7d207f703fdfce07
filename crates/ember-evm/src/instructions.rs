//! Instruction bodies shared by the interpreter and compiled code: 256-bit arithmetic and every
//! instruction that touches memory, the host or dynamic gas. Each host/memory instruction takes
//! the frame with its operands still on the stack (bounds already checked) and leaves its
//! results there.

use crate::host::{AccessStatus, CallKind, Host, Message, StatusCode, StorageStatus};
use crate::host::{FLAG_DELEGATED, FLAG_STATIC};
use crate::interpreter::Frame;
use crate::memory::{copy_padded, num_words, saturating_u64, Memory};
use crate::opcodes::*;
use crate::revision::Revision;
use crate::types::{keccak256, Address, B256, U256};
use crate::MAX_CALL_DEPTH;
use std::cell::Cell;

/// Extra gas for touching a cold account (EIP-2929), on top of the warm cost in the table.
pub const COLD_ACCOUNT_SURCHARGE: i64 = 2600 - 100;
/// Extra gas for a cold SLOAD (EIP-2929).
pub const COLD_SLOAD_SURCHARGE: i64 = 2100 - 100;
/// The cold storage cost SSTORE adds (EIP-2929).
pub const COLD_SLOAD_COST: i64 = 2100;
/// Full cost of accessing a cold account.
pub const COLD_ACCOUNT_ACCESS_COST: i64 = 2600;
/// Cost of a warm access.
pub const WARM_ACCESS_COST: i64 = 100;
/// Gas for a value-bearing call (CALL, CALLCODE).
pub const CALL_VALUE_COST: i64 = 9000;
/// Gas for a call that brings a new account into existence.
pub const ACCOUNT_CREATION_COST: i64 = 25000;
/// Gas given free to the callee of a value-bearing call.
pub const CALL_STIPEND: i64 = 2300;
/// EIP-3860 initcode size limit (twice the EIP-170 code limit).
pub const MAX_INITCODE_SIZE: usize = 2 * 0x6000;
/// Pre-London refund for SELFDESTRUCT.
pub const SELFDESTRUCT_REFUND: i64 = 24000;

const SIGN_BIT: U256 = U256::from_limbs([0, 0, 0, 1 << 63]);

/// Charges `cost` from the frame, failing with out of gas when it runs out.
#[inline(always)]
pub fn charge(f: &mut Frame<'_>, cost: i64) -> Result<(), StatusCode> {
    f.gas_left -= cost;
    if f.gas_left < 0 {
        Err(StatusCode::OutOfGas)
    } else {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Arithmetic
// ---------------------------------------------------------------------------------------------

#[inline(always)]
fn is_negative(x: &U256) -> bool {
    x.bit(255)
}

#[inline(always)]
fn abs(x: U256) -> U256 {
    if is_negative(&x) {
        x.wrapping_neg()
    } else {
        x
    }
}

/// Whether `x` is a power of two, and which.
#[inline(always)]
fn power_of_two(x: &U256) -> Option<usize> {
    (x.count_ones() == 1).then(|| x.trailing_zeros())
}

/// Unsigned division; zero divisor gives zero. Division by a power of two, which older
/// compilers emit for right shifts, is a shift.
#[inline]
pub fn div(a: U256, b: U256) -> U256 {
    match power_of_two(&b) {
        Some(k) => a >> k,
        None => a.checked_div(b).unwrap_or(U256::ZERO),
    }
}

/// Unsigned remainder; zero divisor gives zero. A power-of-two modulus is a mask.
#[inline]
pub fn rem(a: U256, b: U256) -> U256 {
    match power_of_two(&b) {
        Some(_) => a & (b - U256::from(1)),
        None => a.checked_rem(b).unwrap_or(U256::ZERO),
    }
}

/// Two's-complement division, truncating toward zero; MIN / -1 = MIN, x / 0 = 0.
#[inline]
pub fn sdiv(a: U256, b: U256) -> U256 {
    if b.is_zero() {
        return U256::ZERO;
    }
    let q = abs(a) / abs(b);
    if is_negative(&a) != is_negative(&b) {
        q.wrapping_neg()
    } else {
        q
    }
}

/// Two's-complement remainder with the sign of the dividend; x % 0 = 0.
#[inline]
pub fn smod(a: U256, b: U256) -> U256 {
    if b.is_zero() {
        return U256::ZERO;
    }
    let r = abs(a) % abs(b);
    if is_negative(&a) {
        r.wrapping_neg()
    } else {
        r
    }
}

/// (a + b) mod n in full precision; n = 0 gives zero.
#[inline]
pub fn addmod(a: U256, b: U256, n: U256) -> U256 {
    if n.is_zero() {
        U256::ZERO
    } else {
        a.add_mod(b, n)
    }
}

/// (a · b) mod n in full precision; n = 0 gives zero.
pub fn mulmod(a: U256, b: U256, n: U256) -> U256 {
    let (a, b, n) = (a.as_limbs(), b.as_limbs(), n.as_limbs());
    if (a[1] | a[2] | a[3] | b[1] | b[2] | b[3]) == 0 {
        // Both factors fit in 64 bits, so the product fits in 128.
        let product = u128::from(a[0]) * u128::from(b[0]);
        if (n[2] | n[3]) != 0 {
            return U256::from(product);
        }
        let modulus = u128::from(n[0]) | (u128::from(n[1]) << 64);
        return product.checked_rem(modulus).map_or(U256::ZERO, U256::from);
    }
    let product = mul_wide(a, b);
    if n[3] == 0 {
        rem_wide(&product, n)
    } else if *n == [u64::MAX; 4] {
        rem_all_ones(&product)
    } else {
        rem_large_modulus(&product, n)
    }
}

/// `x mod (2^256 − 1)`, the modulus of Solidity's full-width `mulDiv`: since 2^256 ≡ 1, the
/// sum of the two halves of `x` with its carry wrapped around.
fn rem_all_ones(x: &[u64; 8]) -> U256 {
    let low = U256::from_limbs([x[0], x[1], x[2], x[3]]);
    let high = U256::from_limbs([x[4], x[5], x[6], x[7]]);
    let (sum, carry) = low.overflowing_add(high);
    // low + high <= 2^257 − 2: after a carry the wrapped sum is at most 2^256 − 2, so adding
    // the carry back cannot overflow.
    let sum = sum.wrapping_add(U256::from(carry));
    if sum == U256::MAX {
        U256::ZERO
    } else {
        sum
    }
}

/// The full 512-bit product of two 256-bit numbers, least significant limb first.
#[inline(always)]
fn mul_wide(a: &[u64; 4], b: &[u64; 4]) -> [u64; 8] {
    let mut p = [0u64; 8];
    for (i, &ai) in a.iter().enumerate() {
        let mut carry = 0u64;
        for (j, &bj) in b.iter().enumerate() {
            // At most (2^64 − 1)^2 + 2 (2^64 − 1) = 2^128 − 1: no overflow.
            let t = u128::from(ai) * u128::from(bj) + u128::from(p[i + j]) + u128::from(carry);
            p[i + j] = t as u64;
            carry = (t >> 64) as u64;
        }
        p[i + 4] = carry;
    }
    p
}

/// `x mod n` for a 512-bit `x`; zero when `n` is zero.
fn rem_wide(x: &[u64; 8], n: &[u64; 4]) -> U256 {
    if n[3] != 0 {
        divrem_knuth::<4>(x, n).1
    } else if n[2] != 0 {
        divrem_knuth::<3>(x, &[n[0], n[1], n[2]]).1
    } else if n[1] != 0 {
        divrem_knuth::<2>(x, &[n[0], n[1]]).1
    } else if n[0] != 0 {
        rem_by_limb(x, n[0])
    } else {
        U256::ZERO
    }
}

/// Barrett's constant for the modulus of this thread's latest MULMOD with a modulus of at
/// least 2^192, once that modulus has come twice in a row. Contracts doing field arithmetic
/// use one modulus over and over, and with the constant a remainder needs no division.
#[derive(Clone, Copy)]
struct BarrettCache {
    modulus: [u64; 4],
    mu: Option<[u64; 5]>,
}

thread_local! {
    static BARRETT_CACHE: Cell<BarrettCache> =
        const { Cell::new(BarrettCache { modulus: [0; 4], mu: None }) };
}

/// `x mod n` for a modulus `n` >= 2^192: Barrett's reduction when `n` repeats the previous
/// modulus, long division otherwise. Kept out of line: inlined after the product, the two
/// multiplications' registers spilled and MULMOD took 1.7 times as long.
#[inline(never)]
fn rem_large_modulus(x: &[u64; 8], n: &[u64; 4]) -> U256 {
    let cached = BARRETT_CACHE.try_with(|cache| {
        let entry = cache.get();
        if entry.modulus != *n {
            cache.set(BarrettCache {
                modulus: *n,
                mu: None,
            });
            return None;
        }
        Some(entry.mu.unwrap_or_else(|| {
            let mu = barrett_constant(n);
            cache.set(BarrettCache {
                modulus: *n,
                mu: Some(mu),
            });
            mu
        }))
    });
    match cached {
        Ok(Some(mu)) => rem_barrett(x, n, &mu),
        // A new modulus, or the thread is shutting down.
        Ok(None) | Err(_) => rem_wide(x, n),
    }
}

/// Barrett's constant ⌊(2^512 − 1) / n⌋ for a modulus `n` >= 2^192; it fits in five limbs.
#[cold]
#[inline(never)]
fn barrett_constant(n: &[u64; 4]) -> [u64; 5] {
    let q = divrem_knuth::<4>(&[u64::MAX; 8], n).0;
    [q[0], q[1], q[2], q[3], q[4]]
}

/// `x mod n` for a modulus `n` >= 2^192 by Barrett's reduction (Handbook of Applied
/// Cryptography, algorithm 14.42) with `mu` = ⌊(2^512 − 1) / n⌋: the quotient estimate is
/// two multiplications instead of a chain of dependent quotient-limb divisions.
#[inline(always)]
fn rem_barrett(x: &[u64; 8], n: &[u64; 4], mu: &[u64; 5]) -> U256 {
    // q = ⌊⌊x / 2^192⌋ · mu / 2^320⌋ is at most ⌊x / n⌋ and at least ⌊x / n⌋ − 3.
    let mut wide = [0u64; 10];
    for i in 0..5 {
        let mut carry = 0u64;
        for j in 0..5 {
            let t = u128::from(x[3 + i]) * u128::from(mu[j])
                + u128::from(wide[i + j])
                + u128::from(carry);
            wide[i + j] = t as u64;
            carry = (t >> 64) as u64;
        }
        wide[i + 5] = carry;
    }
    let q = [wide[5], wide[6], wide[7], wide[8], wide[9]];
    // x − q·n is below 4n < 2^320, so the low five limbs of x and of q·n determine it.
    let n5 = [n[0], n[1], n[2], n[3], 0];
    let mut qn = [0u64; 5];
    for i in 0..5 {
        let mut carry = 0u64;
        for j in 0..5 - i {
            let t =
                u128::from(q[i]) * u128::from(n5[j]) + u128::from(qn[i + j]) + u128::from(carry);
            qn[i + j] = t as u64;
            carry = (t >> 64) as u64;
        }
    }
    let mut r = [x[0], x[1], x[2], x[3], x[4]];
    sub_limbs(&mut r, &qn);
    loop {
        let mut reduced = r;
        if sub_limbs(&mut reduced, &n5) {
            return U256::from_limbs([r[0], r[1], r[2], r[3]]);
        }
        r = reduced;
    }
}

/// `x -= y` over `L` limbs; returns the borrow out.
#[inline(always)]
fn sub_limbs<const L: usize>(x: &mut [u64; L], y: &[u64; L]) -> bool {
    let mut borrow = false;
    for (xi, &yi) in x.iter_mut().zip(y) {
        let (d, b1) = xi.overflowing_sub(yi);
        let (d, b2) = d.overflowing_sub(u64::from(borrow));
        *xi = d;
        borrow = b1 | b2;
    }
    borrow
}

/// `x << s` for `s` < 64, into one more limb (`M` = `L` + 1) than `x` has.
#[inline(always)]
fn shl_limbs<const L: usize, const M: usize>(x: &[u64; L], s: u32) -> [u64; M] {
    debug_assert!(M == L + 1 && s < 64);
    let mut out = [0u64; M];
    let mut prev = 0u64;
    for (o, &xi) in out.iter_mut().zip(x) {
        // `(v >> 1) >> (63 − s)` is `v >> (64 − s)`, and 0 rather than an overflow when s = 0.
        *o = (xi << s) | ((prev >> 1) >> (63 - s));
        prev = xi;
    }
    out[L] = (prev >> 1) >> (63 - s);
    out
}

/// The reciprocal ⌊(2^128 − 1) / d⌋ − 2^64 of a normalised `d` (top bit set), as in Möller and
/// Granlund, "Improved division by invariant integers" (2011).
#[inline(always)]
fn reciprocal_2by1(d: u64) -> u64 {
    debug_assert!(d >> 63 == 1);
    // That is ⌊(2^128 − 1 − d · 2^64) / d⌋, whose high limb !d is below d: one 128-by-64
    // division with a 64-bit quotient.
    let numerator = (u128::from(!d) << 64) | u128::from(u64::MAX);
    (numerator / u128::from(d)) as u64
}

/// The reciprocal ⌊(2^192 − 1) / d⌋ − 2^64 of a normalised two-limb `d = (d1, d0)`
/// (Möller and Granlund, algorithm 6).
#[inline(always)]
fn reciprocal_3by2(d1: u64, d0: u64) -> u64 {
    let mut v = reciprocal_2by1(d1);
    let mut p = d1.wrapping_mul(v).wrapping_add(d0);
    if p < d0 {
        v = v.wrapping_sub(1);
        if p >= d1 {
            v = v.wrapping_sub(1);
            p = p.wrapping_sub(d1);
        }
        p = p.wrapping_sub(d1);
    }
    let t = u128::from(v) * u128::from(d0);
    let (t1, t0) = ((t >> 64) as u64, t as u64);
    let (p, carry) = p.overflowing_add(t1);
    if carry {
        v = v.wrapping_sub(1);
        if (p, t0) >= (d1, d0) {
            v = v.wrapping_sub(1);
        }
    }
    v
}

/// `(u1 · 2^64 + u0) mod d` for a normalised `d` with reciprocal `v` and `u1 < d`
/// (Möller and Granlund, algorithm 4, remainder only).
#[inline(always)]
fn rem_2by1(u1: u64, u0: u64, d: u64, v: u64) -> u64 {
    let q = u128::from(v) * u128::from(u1) + ((u128::from(u1) << 64) | u128::from(u0));
    let (q1, q0) = (((q >> 64) as u64).wrapping_add(1), q as u64);
    let mut r = u0.wrapping_sub(q1.wrapping_mul(d));
    // An unpredictable correction: a mask, not a branch.
    r = r.wrapping_add(d & 0u64.wrapping_sub(u64::from(r > q0)));
    if r >= d {
        r -= d;
    }
    r
}

/// Quotient limb and two-limb remainder of `(u2, u1, u0) / d`, `u21` holding `(u2, u1)`, for
/// a normalised two-limb `d` with reciprocal `v` and `u21 < d` (Möller and Granlund,
/// algorithm 5).
#[inline(always)]
fn div_3by2(u21: u128, u0: u64, d: u128, v: u64) -> (u64, u128) {
    let (u2, u1) = ((u21 >> 64) as u64, u21 as u64);
    let (d1, d0) = ((d >> 64) as u64, d as u64);
    let q = u128::from(v) * u128::from(u2) + u21;
    let (q1, q0) = ((q >> 64) as u64, q as u64);
    let r1 = u1.wrapping_sub(q1.wrapping_mul(d1));
    let mut r = ((u128::from(r1) << 64) | u128::from(u0))
        .wrapping_sub(u128::from(d0) * u128::from(q1))
        .wrapping_sub(d);
    // Whether the estimate q1 + 1 is one too large is unpredictable: a mask, not a branch.
    let mask = 0u64.wrapping_sub(u64::from((r >> 64) as u64 >= q0));
    let mut q1 = q1.wrapping_add(1).wrapping_add(mask);
    r = r.wrapping_add(d & ((u128::from(mask) << 64) | u128::from(mask)));
    if r >= d {
        q1 = q1.wrapping_add(1);
        r -= d;
    }
    (q1, r)
}

/// `x mod d` for a nonzero one-limb `d`: one 2-by-1 reciprocal division per limb.
fn rem_by_limb(x: &[u64; 8], d: u64) -> U256 {
    let s = d.leading_zeros();
    let d = d << s;
    let v = reciprocal_2by1(d);
    let u: [u64; 9] = shl_limbs(x, s);
    let mut top = 8;
    while top > 0 && u[top] == 0 {
        top -= 1;
    }
    // d >= 2^63, so one subtraction brings any limb below d; each step keeps r < d.
    let mut r = if u[top] < d { u[top] } else { u[top] - d };
    for i in (0..top).rev() {
        r = rem_2by1(r, u[i], d, v);
    }
    U256::from(r >> s)
}

/// Quotient and remainder of `x / d` for a divisor of `N` >= 2 limbs whose top limb is
/// nonzero: Knuth's algorithm D (TAOCP 4.3.1), each quotient limb by a 3-by-2 reciprocal
/// division (Möller and Granlund).
#[inline(always)]
fn divrem_knuth<const N: usize>(x: &[u64; 8], d: &[u64; N]) -> ([u64; 8], U256) {
    debug_assert!(N >= 2 && d[N - 1] != 0);
    let mut quotient = [0u64; 8];
    // Normalise: the divisor's top bit set, the numerator shifted alike into nine limbs.
    let s = d[N - 1].leading_zeros();
    let mut dn = [0u64; N];
    let mut prev = 0u64;
    for (o, &di) in dn.iter_mut().zip(d) {
        *o = (di << s) | ((prev >> 1) >> (63 - s));
        prev = di;
    }
    let mut u: [u64; 9] = shl_limbs(x, s);
    let remainder = |u: &[u64; 9]| {
        let mut r = [0u64; 4];
        for i in 0..N {
            let next = if i + 1 < N { u[i + 1] } else { 0 };
            r[i] = (u[i] >> s) | ((next << 1) << (63 - s));
        }
        U256::from_limbs(r)
    };
    // u[..len] holds the significant limbs; u[len] is zero, or u[8] < 2^s.
    let mut len = 8;
    if u[8] == 0 {
        while len > 0 && u[len - 1] == 0 {
            len -= 1;
        }
    }
    if len < N {
        return (quotient, remainder(&u));
    }
    let d_top = (u128::from(dn[N - 1]) << 64) | u128::from(dn[N - 2]);
    // Quotient limb j divides u[j..=j + N], whose top N limbs are below the divisor. The
    // first is skipped when its top two limbs show it is zero, as for reduced factors.
    let mut j = len - N;
    if u[len] == 0 && ((u128::from(u[len - 1]) << 64) | u128::from(u[len - 2])) < d_top {
        if j == 0 {
            return (quotient, remainder(&u));
        }
        j -= 1;
    }
    let v = reciprocal_3by2(dn[N - 1], dn[N - 2]);
    // The window's top two limbs stay in a register from one step to the next.
    let mut top = (u128::from(u[j + N]) << 64) | u128::from(u[j + N - 1]);
    loop {
        if top == d_top {
            // The 3-by-2 quotient would be 2^64, so this limb is 2^64 − 1 exactly and
            // subtracting (2^64 − 1) · d clears the top limb.
            let borrow = submul_limbs(&mut u[j..j + N], &dn, u64::MAX);
            debug_assert_eq!(borrow, (top >> 64) as u64);
            quotient[j] = u64::MAX;
            top = (u128::from(u[j + N - 1]) << 64) | u128::from(u[j + N - 2]);
        } else {
            let (mut q, r) = div_3by2(top, u[j + N - 2], d_top, v);
            // Subtract q times the low N − 2 divisor limbs; the top two are in r already.
            let borrow = submul_limbs(&mut u[j..j + N - 2], &dn[..N - 2], q);
            let (mut r, negative) = r.overflowing_sub(u128::from(borrow));
            if negative {
                // q was one too large: add d back; the carry out cancels the borrow.
                q -= 1;
                let mut carry = false;
                for (ui, &di) in u[j..j + N - 2].iter_mut().zip(&dn) {
                    let (w, c1) = ui.overflowing_add(di);
                    let (w, c2) = w.overflowing_add(u64::from(carry));
                    *ui = w;
                    carry = c1 | c2;
                }
                r = r.wrapping_add(d_top).wrapping_add(u128::from(carry));
            }
            u[j + N - 2] = r as u64;
            u[j + N - 1] = (r >> 64) as u64;
            quotient[j] = q;
            top = r;
        }
        if j == 0 {
            return (quotient, remainder(&u));
        }
        j -= 1;
    }
}

/// `x -= q · y` over `y.len()` limbs of `x`; returns the limb borrowed out of the top.
#[inline(always)]
fn submul_limbs(x: &mut [u64], y: &[u64], q: u64) -> u64 {
    let mut borrow = 0u64;
    for (xi, &yi) in x.iter_mut().zip(y) {
        // q · y + borrow <= (2^64 − 1)^2 + 2^64 − 1 < 2^128.
        let p = u128::from(q) * u128::from(yi) + u128::from(borrow);
        let (w, b) = xi.overflowing_sub(p as u64);
        *xi = w;
        borrow = (p >> 64) as u64 + u64::from(b);
    }
    borrow
}

/// Extends the sign of the low `b + 1` bytes of `x`.
#[inline]
pub fn signextend(b: U256, x: U256) -> U256 {
    if b >= U256::from(31) {
        return x;
    }
    let bit = b.as_limbs()[0] as usize * 8 + 7;
    let mask = (U256::from(1) << (bit + 1)).wrapping_sub(U256::from(1));
    if x.bit(bit) {
        x | !mask
    } else {
        x & mask
    }
}

/// Signed less-than.
#[inline]
pub fn slt(a: U256, b: U256) -> bool {
    (a ^ SIGN_BIT) < (b ^ SIGN_BIT)
}

/// The `i`-th byte of `x`, counting from the most significant; zero when `i >= 32`.
#[inline]
pub fn byte(i: U256, x: U256) -> U256 {
    if i >= U256::from(32) {
        U256::ZERO
    } else {
        U256::from(x.byte(31 - i.as_limbs()[0] as usize))
    }
}

/// Shift left; shifts of 256 or more give zero.
#[inline]
pub fn shl(shift: U256, x: U256) -> U256 {
    if shift >= U256::from(256) {
        U256::ZERO
    } else {
        x << shift.as_limbs()[0] as usize
    }
}

/// Logical shift right; shifts of 256 or more give zero.
#[inline]
pub fn shr(shift: U256, x: U256) -> U256 {
    if shift >= U256::from(256) {
        U256::ZERO
    } else {
        x >> shift.as_limbs()[0] as usize
    }
}

/// Arithmetic shift right.
#[inline]
pub fn sar(shift: U256, x: U256) -> U256 {
    let neg = is_negative(&x);
    if shift >= U256::from(256) {
        return if neg { U256::MAX } else { U256::ZERO };
    }
    let s = shift.as_limbs()[0] as usize;
    if neg {
        !((!x) >> s)
    } else {
        x >> s
    }
}

/// Number of leading zero bits (256 for zero).
#[inline]
pub fn clz(x: U256) -> U256 {
    U256::from(x.leading_zeros())
}

/// EXP's dynamic gas: per byte of the exponent, 10 before Spurious Dragon (EIP-160) and 50 after.
#[inline]
pub fn exp_cost(rev: Revision, exponent: &U256) -> i64 {
    let bytes = exponent.bit_len().div_ceil(8) as i64;
    let per_byte = if rev >= Revision::SpuriousDragon {
        50
    } else {
        10
    };
    bytes * per_byte
}

// ---------------------------------------------------------------------------------------------
// Memory, hashing, copies
// ---------------------------------------------------------------------------------------------

/// Expands memory over `[offset, offset + size)` charging the frame.
#[inline(always)]
fn expand(f: &mut Frame<'_>, offset: &U256, size: &U256) -> Result<(usize, usize), StatusCode> {
    f.memory.expand(&mut f.gas_left, offset, size)
}

/// Charges 3 gas per word copied.
#[inline(always)]
fn charge_copy(f: &mut Frame<'_>, size: usize) -> Result<(), StatusCode> {
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
    CallData,
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

// ---------------------------------------------------------------------------------------------
// Accounts and context
// ---------------------------------------------------------------------------------------------

/// Charges the EIP-2929 cold surcharge if `addr` was cold (from Berlin).
#[inline]
fn access_account(
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

// ---------------------------------------------------------------------------------------------
// Storage and logs
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Calls, creates, halting
// ---------------------------------------------------------------------------------------------

/// The EIP-7702 delegate of `addr`, if its code is a delegation designator `0xef0100 ‖ address`.
pub fn delegate_of(host: &mut dyn Host, addr: &Address) -> Option<Address> {
    let mut buf = [0u8; 23];
    let n = host.copy_code(addr, 0, &mut buf);
    if n == buf.len() && buf[..3] == [0xef, 0x01, 0x00] {
        let mut a = [0u8; 20];
        a.copy_from_slice(&buf[3..]);
        Some(Address(a))
    } else {
        None
    }
}

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
    f.return_data = result.output;
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
    f.return_data = result.output;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn u(x: u64) -> U256 {
        U256::from(x)
    }
    fn neg(x: u64) -> U256 {
        U256::from(x).wrapping_neg()
    }

    #[test]
    fn signed_division_and_remainder() {
        assert_eq!(sdiv(neg(10), u(3)), neg(3));
        assert_eq!(sdiv(u(10), neg(3)), neg(3));
        assert_eq!(sdiv(neg(10), neg(3)), u(3));
        assert_eq!(sdiv(SIGN_BIT, U256::MAX), SIGN_BIT, "MIN / -1 wraps to MIN");
        assert_eq!(sdiv(u(5), U256::ZERO), U256::ZERO);
        assert_eq!(smod(neg(10), u(3)), neg(1));
        assert_eq!(smod(u(10), neg(3)), u(1));
        assert_eq!(smod(u(10), U256::ZERO), U256::ZERO);
        assert_eq!(div(u(7), U256::ZERO), U256::ZERO);
        assert_eq!(rem(u(7), u(4)), u(3));
        // Powers of two take the shift/mask path; compare with the general algorithm.
        let x = U256::MAX - u(12345);
        for k in [0usize, 1, 63, 64, 65, 128, 200, 255] {
            let p = U256::from(1) << k;
            assert_eq!(div(x, p), x / p, "2^{k}");
            assert_eq!(rem(x, p), x % p, "2^{k}");
        }
        assert_eq!(div(x, u(3)), x / u(3));
        assert_eq!(rem(x, u(6)), x % u(6));
    }

    #[test]
    fn modular_arithmetic_uses_full_precision() {
        assert_eq!(addmod(U256::MAX, u(2), u(2)), u(1), "(2^256-1+2) mod 2 = 1");
        assert_eq!(mulmod(U256::MAX, U256::MAX, u(12)), u(9));
        assert_eq!(addmod(u(1), u(2), U256::ZERO), U256::ZERO);
        assert_eq!(mulmod(u(1), u(2), U256::ZERO), U256::ZERO);
    }

    /// splitmix64 (Steele, Lea and Flood): a fixed-seed generator for the randomized tests.
    struct SplitMix64(u64);

    impl SplitMix64 {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        /// A number of exactly `bits` bits (1..=256): random below the top bit, which is set.
        fn with_bits(&mut self, bits: usize) -> U256 {
            let x = U256::from_limbs([self.next(), self.next(), self.next(), self.next()]);
            (x >> (256 - bits)) | (U256::from(1) << (bits - 1))
        }
    }

    fn pow2(k: usize) -> U256 {
        U256::from(1) << k
    }

    /// Checks MULMOD against ruint, and both remainders of a product by a modulus of at least
    /// 2^192 (long division, Barrett) whatever the cache holds.
    fn check_against_ruint(a: U256, b: U256, n: U256) {
        let product = a.mul_mod(b, n);
        // The first call may meet a new modulus (long division), the second computes
        // Barrett's constant, the third uses the cached one.
        for call in 0..3 {
            assert_eq!(
                mulmod(a, b, n),
                product,
                "mulmod({a:#x}, {b:#x}, {n:#x}), call {call}"
            );
        }
        let limbs = n.as_limbs();
        if limbs[3] != 0 {
            let wide = mul_wide(a.as_limbs(), b.as_limbs());
            let mu = barrett_constant(limbs);
            assert_eq!(
                rem_barrett(&wide, limbs, &mu),
                product,
                "Barrett {a:#x} {b:#x} {n:#x}"
            );
            assert_eq!(
                divrem_knuth::<4>(&wide, limbs).1,
                product,
                "Knuth {a:#x} {b:#x} {n:#x}"
            );
        }
    }

    /// The moduli and operands where the algorithms change paths or carries ripple.
    fn edge_values() -> Vec<U256> {
        let bn254_p = U256::from_str_radix(
            "30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47",
            16,
        )
        .unwrap();
        let secp256k1_p = U256::MAX - U256::from(0x1_0000_03d0_u64);
        let mut values = vec![u(0), u(1), u(2), u(3), u(12), bn254_p, secp256k1_p];
        for k in [63, 64, 127, 128, 191, 192, 255] {
            values.extend([pow2(k) - u(1), pow2(k), pow2(k) + u(1)]);
        }
        values.extend([pow2(256 - 1) + pow2(128), U256::MAX - u(1), U256::MAX]);
        values.extend([1, 7, 65, 100, 129, 200, 254].map(pow2));
        values
    }

    #[test]
    fn mulmod_edge_cases_match_ruint() {
        let values = edge_values();
        for &n in &values {
            // Operands tied to the modulus: n − 1, n, n + 1, 2n − 1 (all wrapping).
            let near_n = [
                n.wrapping_sub(u(1)),
                n,
                n.wrapping_add(u(1)),
                n.wrapping_add(n).wrapping_sub(u(1)),
            ];
            for &a in values.iter().chain(&near_n) {
                for &b in values.iter().chain(&near_n) {
                    check_against_ruint(a, b, n);
                }
            }
        }
        let m = U256::MAX;
        assert_eq!(mulmod(m, m, m), U256::ZERO);
        assert_eq!(
            mulmod(m - u(1), m - u(1), m),
            u(1),
            "(-1)·(-1) mod 2^256 − 1"
        );
        assert_eq!(mulmod(pow2(255), u(2), m), u(1), "2^256 mod 2^256 − 1");
    }

    #[test]
    fn mulmod_random_triples_match_ruint() {
        // Bit lengths of a, b and n drawn independently from 1..=256, so every length of
        // divisor, numerator and quotient is met, with the Barrett and long-division paths.
        let mut rng = SplitMix64(0x5eed_0000_e3be_5d00);
        for _ in 0..200_000 {
            let a_bits = (rng.next() % 256) as usize + 1;
            let b_bits = (rng.next() % 256) as usize + 1;
            let n_bits = (rng.next() % 256) as usize + 1;
            let a = rng.with_bits(a_bits);
            let b = rng.with_bits(b_bits);
            let n = rng.with_bits(n_bits);
            check_against_ruint(a, b, n);
            // The all-ones modulus (Solidity's mulDiv) takes its own path.
            assert_eq!(mulmod(a, b, U256::MAX), a.mul_mod(b, U256::MAX));
        }
    }

    #[test]
    fn barrett_cache_follows_the_modulus() {
        let p = U256::from_str_radix(
            "30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47",
            16,
        )
        .unwrap();
        let q = U256::MAX - u(188); // Another modulus above 2^192.
        let (a, b) = (U256::MAX - u(5), pow2(200) + u(77));
        let cached = || BARRETT_CACHE.with(Cell::get);
        assert_eq!(mulmod(a, b, p), a.mul_mod(b, p));
        assert_eq!(cached().modulus, *p.as_limbs());
        assert!(cached().mu.is_none(), "a first use computes no constant");
        assert_eq!(mulmod(a, b, p), a.mul_mod(b, p));
        assert_eq!(cached().mu, Some(barrett_constant(p.as_limbs())));
        // Alternating moduli never use a stale constant.
        for _ in 0..3 {
            assert_eq!(mulmod(a, b, q), a.mul_mod(b, q));
            assert_eq!(cached().modulus, *q.as_limbs());
            assert_eq!(mulmod(b, a, p), a.mul_mod(b, p));
            assert_eq!(cached().modulus, *p.as_limbs());
        }
        // The all-ones modulus has its own path and leaves the cache alone.
        assert_eq!(mulmod(a, b, U256::MAX), a.mul_mod(b, U256::MAX));
        assert_eq!(cached().modulus, *p.as_limbs());
    }

    #[test]
    fn barrett_constant_is_the_wide_quotient() {
        let mut rng = SplitMix64(7);
        let mut moduli = vec![pow2(192) + u(1), pow2(255), U256::MAX, pow2(200) - u(1)];
        moduli.extend((0..200).map(|i| rng.with_bits(193 + i % 64)));
        for n in moduli {
            let mu = barrett_constant(n.as_limbs());
            let expected = ruint::aliases::U512::MAX / ruint::aliases::U512::from(n);
            let expected = expected.as_limbs();
            assert_eq!(mu[..], expected[..5], "mu for {n:#x}");
            assert!(expected[5..].iter().all(|&l| l == 0));
        }
    }

    #[test]
    fn reciprocals_match_their_definition() {
        let mut rng = SplitMix64(11);
        let mut divisors = vec![
            (1 << 63, 0),
            (1 << 63, u64::MAX),
            (u64::MAX, 0),
            (u64::MAX, u64::MAX),
        ];
        divisors.extend((0..1000).map(|_| (rng.next() | 1 << 63, rng.next())));
        for (d1, d0) in divisors {
            // ⌊(2^128 − 1) / d1⌋ − 2^64, computed directly in 128 bits.
            assert_eq!(
                reciprocal_2by1(d1),
                (u128::MAX / u128::from(d1)) as u64,
                "{d1:#x}"
            );
            // ⌊(2^192 − 1) / d⌋ − 2^64 with d = d1 · 2^64 + d0.
            let d = U256::from_limbs([d0, d1, 0, 0]);
            let expected = (U256::MAX >> 64) / d - pow2(64);
            assert_eq!(
                U256::from(reciprocal_3by2(d1, d0)),
                expected,
                "{d1:#x} {d0:#x}"
            );
        }
    }

    /// Checks `divrem_knuth` on `x` against ruint's 512-bit division.
    fn check_divrem<const N: usize>(x: [u64; 8], d: [u64; N]) {
        let (q, r) = divrem_knuth::<N>(&x, &d);
        let mut d4 = [0u64; 4];
        d4[..N].copy_from_slice(&d);
        let (x512, d512) = (ruint::aliases::U512::from_limbs(x), U256::from_limbs(d4));
        let d512 = ruint::aliases::U512::from(d512);
        assert_eq!(
            ruint::aliases::U512::from_limbs(q),
            x512 / d512,
            "quotient {x:x?} / {d:x?}"
        );
        assert_eq!(
            ruint::aliases::U512::from(r),
            x512 % d512,
            "remainder {x:x?} / {d:x?}"
        );
    }

    #[test]
    fn long_division_rare_branches() {
        // The divisors' top limb has its top bit set: no normalising shift.
        let top = 0x8000_0000_0000_0abc_u64;
        // Quotient limb 2^64 − 1: with x5 x4 below d1 d0 the first quotient limb is zero and
        // the next one starts from the top limbs x7 x6 = d3 d2.
        let d = [5, 9, 0x1234, top];
        check_divrem::<4>([1, 2, 3, 4, 3, 0, 0x1234, top], d);
        check_divrem::<4>([u64::MAX; 8], [u64::MAX; 4]);
        // Add-back: the 3-by-2 step sees x4 x3 x2 = 0 d3 d2, estimates 1 with nothing left
        // over, and the low limbs x1 x0 = 0 0 then fall short of q · (d1, d0).
        check_divrem::<4>([0, 0, 0x1234, top, 0, 0, 0, 0], d);
        check_divrem::<3>([0, 0x1234, top, 0, 0, 0, 0, 0], [u64::MAX, 0x1234, top]);
        // The same after normalisation by one bit.
        check_divrem::<4>([0, 0, 0x91a, top >> 1, 0, 0, 0, 0], [2, 4, 0x91a, top >> 1]);
        let mut rng = SplitMix64(13);
        for _ in 0..2000 {
            let x: [u64; 8] = std::array::from_fn(|_| rng.next() >> (rng.next() % 64));
            let d_bits = (rng.next() % 192) as usize + 65;
            let d = rng.with_bits(d_bits);
            let l = d.as_limbs();
            match d.bit_len().div_ceil(64) {
                2 => check_divrem::<2>(x, [l[0], l[1]]),
                3 => check_divrem::<3>(x, [l[0], l[1], l[2]]),
                _ => check_divrem::<4>(x, *l),
            }
        }
    }

    #[test]
    fn sign_extension_bytes_and_shifts() {
        assert_eq!(signextend(u(0), u(0xff)), U256::MAX);
        assert_eq!(signextend(u(0), u(0x7f)), u(0x7f));
        assert_eq!(signextend(u(1), u(0x1_80ff)), neg(0x7f01));
        assert_eq!(signextend(u(31), u(5)), u(5));
        assert_eq!(signextend(U256::MAX, u(0xff)), u(0xff));
        assert_eq!(byte(u(31), u(0xab)), u(0xab));
        assert_eq!(byte(u(0), SIGN_BIT), u(0x80));
        assert_eq!(byte(u(32), U256::MAX), U256::ZERO);
        assert_eq!(shl(u(4), u(1)), u(16));
        assert_eq!(shl(u(256), u(1)), U256::ZERO);
        assert_eq!(shr(u(255), SIGN_BIT), u(1));
        assert_eq!(sar(u(4), neg(32)), neg(2));
        assert_eq!(sar(u(300), neg(1)), U256::MAX);
        assert_eq!(sar(u(300), u(1)), U256::ZERO);
        assert!(slt(neg(1), u(0)));
        assert!(!slt(u(0), neg(1)));
        assert_eq!(clz(U256::ZERO), u(256));
        assert_eq!(clz(u(1)), u(255));
        assert_eq!(clz(SIGN_BIT), u(0));
    }

    #[test]
    fn exp_gas_per_exponent_byte() {
        assert_eq!(exp_cost(Revision::Frontier, &u(0)), 0);
        assert_eq!(exp_cost(Revision::Frontier, &u(255)), 10);
        assert_eq!(exp_cost(Revision::Frontier, &u(256)), 20);
        assert_eq!(exp_cost(Revision::SpuriousDragon, &u(256)), 100);
        assert_eq!(exp_cost(Revision::Cancun, &U256::MAX), 32 * 50);
    }

    #[test]
    fn sstore_schedules() {
        use StorageStatus::*;
        // Legacy (Frontier..Byzantium, Petersburg).
        assert_eq!(sstore_cost(Revision::Byzantium, Added), (20000, 0));
        assert_eq!(sstore_cost(Revision::Petersburg, Deleted), (5000, 15000));
        assert_eq!(sstore_cost(Revision::Petersburg, Assigned), (5000, 0));
        // EIP-1283.
        assert_eq!(sstore_cost(Revision::Constantinople, Assigned), (200, 0));
        assert_eq!(
            sstore_cost(Revision::Constantinople, ModifiedRestored),
            (200, 4800)
        );
        // EIP-2200.
        assert_eq!(
            sstore_cost(Revision::Istanbul, DeletedRestored),
            (800, -10800)
        );
        assert_eq!(sstore_cost(Revision::Istanbul, AddedDeleted), (800, 19200));
        // EIP-2929 (Berlin) and EIP-3529 (London).
        assert_eq!(sstore_cost(Revision::Berlin, Modified), (2900, 0));
        assert_eq!(sstore_cost(Revision::Berlin, Deleted), (2900, 15000));
        assert_eq!(sstore_cost(Revision::London, Deleted), (2900, 4800));
        assert_eq!(sstore_cost(Revision::London, DeletedAdded), (100, -4800));
        assert_eq!(sstore_cost(Revision::London, ModifiedRestored), (100, 2800));
        assert_eq!(sstore_cost(Revision::London, AddedDeleted), (100, 19900));
    }
}
