//! 256-bit arithmetic: division and remainder (Knuth's algorithm D with Möller–Granlund
//! reciprocals), full-precision ADDMOD/MULMOD (with a Barrett cache for repeated moduli),
//! signed operations, shifts and byte access. Pure functions of their operands, shared by the
//! interpreter and compiled code through [`crate::instructions`].

use crate::types::U256;
use std::cell::Cell;

/// The sign bit of a two's-complement word.
pub(crate) const SIGN_BIT: U256 = U256::from_limbs([0, 0, 0, 1 << 63]);

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

/// Whether `x` is zero, from its limbs read one 64-bit load each ([`crate::stack::read_word`]).
/// `U256::is_zero` is a vectorised comparison, whose 128-bit loads stall on store forwarding
/// when the caller has just written `x` as 64-bit limbs, as the callers of these out-of-line
/// functions (the interpreter and compiled code's builtins) have.
#[inline(always)]
fn is_zero(x: &U256) -> bool {
    // SAFETY: a reference is valid for reads and aligned.
    let l = unsafe { crate::stack::read_word(x) }.into_limbs();
    (l[0] | l[1] | l[2] | l[3]) == 0
}

/// Whether `x` is a power of two, and which.
///
/// Worked out limb by limb in scalar registers. `count_ones` over the whole word was
/// vectorised, and its 128-bit loads of an operand the caller had just written as 64-bit limbs
/// waited on store forwarding: a third of DIV's time.
#[inline(always)]
fn power_of_two(x: &U256) -> Option<usize> {
    let l = x.as_limbs();
    let mut found = None;
    for (i, &limb) in l.iter().enumerate() {
        if limb != 0 {
            if found.is_some() || !limb.is_power_of_two() {
                return None;
            }
            found = Some(64 * i + limb.trailing_zeros() as usize);
        }
    }
    found
}

/// Unsigned division; zero divisor gives zero. Division by a power of two, which older
/// compilers emit for right shifts, is a shift.
#[inline]
pub fn div(a: U256, b: U256) -> U256 {
    match power_of_two(&b) {
        Some(k) => a >> k,
        None if is_zero(&b) => U256::ZERO,
        None => U256::from_limbs(divrem(&limbs(&a), &limbs(&b)).0),
    }
}

/// Unsigned remainder; zero divisor gives zero. A power-of-two modulus is a mask.
#[inline]
pub fn rem(a: U256, b: U256) -> U256 {
    match power_of_two(&b) {
        Some(_) => a & (b - U256::from(1)),
        None if is_zero(&b) => U256::ZERO,
        None => U256::from_limbs(divrem(&limbs(&a), &limbs(&b)).1),
    }
}

/// Two's-complement division, truncating toward zero; MIN / -1 = MIN, x / 0 = 0.
#[inline]
pub fn sdiv(a: U256, b: U256) -> U256 {
    if is_zero(&b) {
        return U256::ZERO;
    }
    let (a, b) = (U256::from_limbs(limbs(&a)), U256::from_limbs(limbs(&b)));
    // A power of two is its own magnitude (2^255 too, in wrapping arithmetic): a shift.
    let q = match power_of_two(&b) {
        Some(k) => abs(a) >> k,
        None => U256::from_limbs(divrem(abs(a).as_limbs(), abs(b).as_limbs()).0),
    };
    if is_negative(&a) != is_negative(&b) {
        q.wrapping_neg()
    } else {
        q
    }
}

/// Two's-complement remainder with the sign of the dividend; x % 0 = 0.
#[inline]
pub fn smod(a: U256, b: U256) -> U256 {
    if is_zero(&b) {
        return U256::ZERO;
    }
    let (a, b) = (U256::from_limbs(limbs(&a)), U256::from_limbs(limbs(&b)));
    let r = match power_of_two(&b) {
        Some(_) => abs(a) & (b - U256::from(1)),
        None => U256::from_limbs(divrem(abs(a).as_limbs(), abs(b).as_limbs()).1),
    };
    if is_negative(&a) {
        r.wrapping_neg()
    } else {
        r
    }
}

/// (a + b) mod n in full precision; n = 0 gives zero.
#[inline]
pub fn addmod(a: U256, b: U256, n: U256) -> U256 {
    // Limb by limb in registers: ruint's `add_mod` copied its operands, just written as 64-bit
    // limbs, with 128-bit loads that stalled on store forwarding.
    let (al, bl, nl) = (limbs(&a), limbs(&b), limbs(&n));
    if (nl[0] | nl[1] | nl[2] | nl[3]) == 0 {
        return U256::ZERO;
    }
    if !below(&al, &nl) || !below(&bl, &nl) {
        return a.add_mod(b, n);
    }
    // Both operands are reduced, so the 257-bit sum is below 2n: one subtraction at most.
    let (sum, carry) = add_limbs(&al, &bl);
    let mut diff = sum;
    let borrow = sub_limbs(&mut diff, &nl);
    U256::from_limbs(if carry || !borrow { diff } else { sum })
}

/// `x < y`, limb by limb from the top.
#[inline(always)]
fn below(x: &[u64; 4], y: &[u64; 4]) -> bool {
    for i in (0..4).rev() {
        if x[i] != y[i] {
            return x[i] < y[i];
        }
    }
    false
}

/// `x + y` and its carry out of 256 bits.
#[inline(always)]
fn add_limbs(x: &[u64; 4], y: &[u64; 4]) -> ([u64; 4], bool) {
    let mut out = [0u64; 4];
    let mut carry = false;
    for i in 0..4 {
        let (s, c1) = x[i].overflowing_add(y[i]);
        let (s, c2) = s.overflowing_add(u64::from(carry));
        out[i] = s;
        carry = c1 | c2;
    }
    (out, carry)
}

/// The limbs of `x`, read one 64-bit load each ([`crate::stack::read_word`]).
#[inline(always)]
fn limbs(x: &U256) -> [u64; 4] {
    // SAFETY: a reference is valid for reads and aligned.
    unsafe { crate::stack::read_word(x) }.into_limbs()
}

/// (a · b) mod n in full precision; n = 0 gives zero. `cache` keeps Barrett's constant of a
/// repeated modulus between calls ([`MulModCache`]).
pub fn mulmod(a: U256, b: U256, n: U256, cache: &MulModCache) -> U256 {
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
    // The top limb alone settles the common case. The whole-word comparison is vectorised,
    // and its 128-bit loads of `n`, which the caller has just written as 64-bit limbs, stall
    // on store forwarding: a tenth of MULMOD's time when it ran first.
    } else if n[3] == u64::MAX && *n == [u64::MAX; 4] {
        rem_all_ones(&product)
    } else {
        rem_large_modulus(&product, n, cache)
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
    // Limb by limb: `sum == U256::MAX` compared with 128-bit loads of the limbs just stored,
    // which waited on store forwarding (a fifth of MULMOD's time in swap_math).
    let l = sum.as_limbs();
    if (l[0] & l[1] & l[2] & l[3]) == u64::MAX {
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

/// Barrett's constant for the modulus of a frame's latest MULMOD with a modulus of at least
/// 2^192, once that modulus has come twice in a row. Contracts doing field arithmetic use one
/// modulus over and over, and with the constant a remainder needs no division. Two cells, so
/// that a call reads the 32-byte modulus alone and not the whole entry.
///
/// Each frame owns one ([`Frame::mulmod_cache`](crate::Frame::mulmod_cache)), which the
/// interpreter and compiled code pass to [`mulmod`]. It used to be a thread-local, whose every
/// access in `libember.so` is a call to `__tls_get_addr`: weierstrudel ran 6% slower through
/// the library than in the executable for that alone.
#[derive(Default)]
pub struct MulModCache {
    modulus: Cell<[u64; 4]>,
    mu: Cell<Option<[u64; 5]>>,
}

/// `x mod n` for a modulus `n` >= 2^192: Barrett's reduction when `n` repeats the previous
/// modulus, long division otherwise. Kept out of line: inlined after the product, the two
/// multiplications' registers spilled and MULMOD got much slower.
#[inline(never)]
fn rem_large_modulus(x: &[u64; 8], n: &[u64; 4], cache: &MulModCache) -> U256 {
    let m = cache.modulus.get();
    // Limb by limb in scalar registers: the caller has just written `n` as 64-bit limbs, and
    // `!=` on the arrays compared them with 128-bit loads, which wait for those stores to
    // reach the cache.
    if ((m[0] ^ n[0]) | (m[1] ^ n[1]) | (m[2] ^ n[2]) | (m[3] ^ n[3])) != 0 {
        cache.modulus.set(*n);
        cache.mu.set(None);
        return rem_wide(x, n);
    }
    let mu = cache.mu.get().unwrap_or_else(|| {
        let mu = barrett_constant(n);
        cache.mu.set(Some(mu));
        mu
    });
    rem_barrett(x, n, &mu)
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
    // q = ⌊⌊x / 2^192⌋ · mu / 2^320⌋ is at most ⌊x / n⌋ and at least ⌊x / n⌋ − 3. Only the
    // limbs from 5 up are kept, so the 6 partial products below limb 3 are left out (HAC note
    // 14.44): each is below 2^128 at its limb, so together they are below 3 · 2^256 +
    // 2 · 2^192 + 2^128 < 2^320 and take at most 1 off the estimate, which stays at most
    // ⌊x / n⌋ and is at least ⌊x / n⌋ − 4; the subtractions below make up the difference.
    let mut wide = [0u64; 10];
    for i in 0..5 {
        let mut carry = 0u64;
        for j in 3usize.saturating_sub(i)..5 {
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
    // That is ⌊(2^128 − 1 − d · 2^64) / d⌋, whose high limb !d is below d: one hardware
    // division. (`u128` division calls `__udivti3`; the paper's table and Newton steps took
    // longer than the one `div` on this machine.)
    div_wide(!d, u64::MAX, d).0
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

/// Quotient and remainder of `a / b` for a nonzero `b`, limb by limb in scalar registers.
/// ruint's division read its operands with 128-bit loads, which wait on store forwarding
/// when the caller has just written them as 64-bit limbs (a fifth of its time in DIV).
#[inline(never)]
fn divrem(a: &[u64; 4], b: &[u64; 4]) -> ([u64; 4], [u64; 4]) {
    debug_assert!(b.iter().any(|&l| l != 0));
    if (b[1] | b[2] | b[3]) == 0 {
        let d = b[0];
        if (a[1] | a[2] | a[3]) == 0 {
            return ([a[0] / d, 0, 0, 0], [a[0] % d, 0, 0, 0]);
        }
        let (q, r) = divrem_by_limb(a, d);
        return (q, [r, 0, 0, 0]);
    }
    if below(a, b) {
        return ([0; 4], *a);
    }
    let x = [a[0], a[1], a[2], a[3], 0, 0, 0, 0];
    let (q, r) = if b[3] != 0 {
        divrem_knuth::<4>(&x, b)
    } else if b[2] != 0 {
        divrem_knuth::<3>(&x, &[b[0], b[1], b[2]])
    } else {
        divrem_knuth::<2>(&x, &[b[0], b[1]])
    };
    ([q[0], q[1], q[2], q[3]], r.into_limbs())
}

/// Quotient and remainder of `x / d` for a nonzero one-limb `d`, each step one hardware
/// division ([`div_wide`]): for a divisor used once that beats computing its reciprocal. Steps
/// whose limb and carried remainder are both zero are skipped. Straight-line code keeps the
/// quotient in registers: built by indexed stores in a loop, it was copied out by 128-bit loads
/// that waited on those stores.
#[inline(always)]
fn divrem_by_limb(x: &[u64; 4], d: u64) -> ([u64; 4], u64) {
    let step = |r: u64, limb: u64| {
        if (r | limb) == 0 {
            (0, 0)
        } else {
            div_wide(r, limb, d)
        }
    };
    let (q3, r) = step(0, x[3]);
    let (q2, r) = step(r, x[2]);
    let (q1, r) = step(r, x[1]);
    let (q0, r) = step(r, x[0]);
    ([q0, q1, q2, q3], r)
}

/// Quotient and remainder of `(hi · 2^64 + lo) / d` for `hi < d`, so that the quotient fits in
/// one limb.
#[inline(always)]
fn div_wide(hi: u64, lo: u64, d: u64) -> (u64, u64) {
    debug_assert!(hi < d);
    #[cfg(target_arch = "x86_64")]
    {
        let (q, r);
        // SAFETY: `div` divides rdx:rax by its operand and faults only when the quotient does
        // not fit in 64 bits, that is when rdx >= the divisor (a zero divisor included);
        // `hi < d` rules both out. It touches no memory and no stack.
        unsafe {
            std::arch::asm!(
                "div {d}",
                d = in(reg) d,
                inout("rax") lo => q,
                inout("rdx") hi => r,
                options(pure, nomem, nostack),
            );
        }
        (q, r)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let n = (u128::from(hi) << 64) | u128::from(lo);
        ((n / u128::from(d)) as u64, (n % u128::from(d)) as u64)
    }
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

/// `base` to the power `exponent`, modulo 2^256 (EXP's value; its gas is `exp_cost`).
#[inline]
pub fn exp(base: U256, exponent: U256) -> U256 {
    base.wrapping_pow(exponent)
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

/// The shift amount when it is below 256, else `None` (the result is then all zeros or,
/// for SAR of a negative value, all ones).
#[inline(always)]
fn small_shift(shift: &U256) -> Option<u32> {
    let s = shift.as_limbs();
    ((s[1] | s[2] | s[3]) == 0 && s[0] < 256).then_some(s[0] as u32)
}

/// `x >> s` for `s` < 256, with `fill` (0 or all ones) shifted in from the top: the whole
/// limbs move by a branch on `s / 64` (a given site shifts by the same amount each time, so
/// the branch predicts), then each limb is one funnel shift. LLVM's branch-free lowering of
/// a variable 256-bit shift took about 45 instructions of selects.
#[inline(always)]
fn shr_limbs(x: &[u64; 4], s: u32, fill: u64) -> [u64; 4] {
    let v = match s / 64 {
        0 => *x,
        1 => [x[1], x[2], x[3], fill],
        2 => [x[2], x[3], fill, fill],
        _ => [x[3], fill, fill, fill],
    };
    let b = s % 64;
    if b == 0 {
        return v;
    }
    [
        (v[0] >> b) | (v[1] << (64 - b)),
        (v[1] >> b) | (v[2] << (64 - b)),
        (v[2] >> b) | (v[3] << (64 - b)),
        (v[3] >> b) | (fill << (64 - b)),
    ]
}

/// Shift left; shifts of 256 or more give zero. Limb by limb as [`shr_limbs`] does it.
#[inline]
pub fn shl(shift: U256, x: U256) -> U256 {
    let Some(s) = small_shift(&shift) else {
        return U256::ZERO;
    };
    let x = x.as_limbs();
    let v = match s / 64 {
        0 => *x,
        1 => [0, x[0], x[1], x[2]],
        2 => [0, 0, x[0], x[1]],
        _ => [0, 0, 0, x[0]],
    };
    let b = s % 64;
    if b == 0 {
        return U256::from_limbs(v);
    }
    U256::from_limbs([
        v[0] << b,
        (v[1] << b) | (v[0] >> (64 - b)),
        (v[2] << b) | (v[1] >> (64 - b)),
        (v[3] << b) | (v[2] >> (64 - b)),
    ])
}

/// Logical shift right; shifts of 256 or more give zero.
#[inline]
pub fn shr(shift: U256, x: U256) -> U256 {
    match small_shift(&shift) {
        Some(s) => U256::from_limbs(shr_limbs(x.as_limbs(), s, 0)),
        None => U256::ZERO,
    }
}

/// Arithmetic shift right.
#[inline]
pub fn sar(shift: U256, x: U256) -> U256 {
    let fill = if is_negative(&x) { u64::MAX } else { 0 };
    match small_shift(&shift) {
        Some(s) => U256::from_limbs(shr_limbs(x.as_limbs(), s, fill)),
        None => U256::from_limbs([fill; 4]),
    }
}

/// Number of leading zero bits (256 for zero).
#[inline]
pub fn clz(x: U256) -> U256 {
    U256::from(x.leading_zeros())
}

#[cfg(test)]
mod tests;
